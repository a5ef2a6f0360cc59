/* SPDX-License-Identifier: ISC */
/*
 * token.c: minting and checking session tokens (layout in token.h).
 */
#include "token.h"
#include "wire.h"

#include <string.h>

#include <sodium.h>

#define TOKEN_V1	1
#define TOKEN_BODY	29

static void
token_mac(const uint8_t key[SCHEMA_TOKEN_KEY_LEN], const uint8_t *body,
    const char *worker, uint8_t mac[crypto_auth_hmacsha512256_BYTES])
{
	crypto_auth_hmacsha512256_state st;

	crypto_auth_hmacsha512256_init(&st, key, SCHEMA_TOKEN_KEY_LEN);
	crypto_auth_hmacsha512256_update(&st, body, TOKEN_BODY);
	crypto_auth_hmacsha512256_update(&st, (const uint8_t *)worker,
	    strlen(worker));
	crypto_auth_hmacsha512256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

void
token_mint(const uint8_t key[SCHEMA_TOKEN_KEY_LEN],
    const struct token_claims *c, const char *worker, uint8_t out[TOKEN_LEN])
{
	out[0] = TOKEN_V1;
	wire_be64_put(out + 1, c->account_id);
	wire_be32_put(out + 9, c->auth_gen);
	wire_be64_put(out + 13, c->session);
	wire_be64_put(out + 21, c->expiry);
	token_mac(key, out, worker, out + TOKEN_BODY);
}

int
token_check(const uint8_t key[SCHEMA_TOKEN_KEY_LEN], const void *p,
    size_t len, uint64_t session, const char *worker, uint64_t now,
    struct token_claims *c, const char **why_r)
{
	uint8_t mac[crypto_auth_hmacsha512256_BYTES];
	const uint8_t *t = p;

	if (len != TOKEN_LEN || t[0] != TOKEN_V1) {
		*why_r = "malformed token";
		return -1;
	}
	token_mac(key, t, worker, mac);
	if (sodium_memcmp(mac, t + TOKEN_BODY, sizeof(mac)) != 0) {
		*why_r = "bad token signature";
		return -1;
	}
	c->account_id = wire_be64_get(t + 1);
	c->auth_gen = wire_be32_get(t + 9);
	c->session = wire_be64_get(t + 13);
	c->expiry = wire_be64_get(t + 21);
	if (c->session != session) {
		*why_r = "token of another session";
		return -1;
	}
	if (c->expiry <= now) {
		*why_r = "token expired";
		return -1;
	}
	return 0;
}
