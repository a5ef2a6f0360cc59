/* SPDX-License-Identifier: ISC */
/*
 * token.h: session tokens, which let a worker bind its session again after
 * storaged restarted (SESSION_RESUME) without the password.
 *
 * A token is 61 bytes:
 *
 *	u8  version (1)		u64 account id		u32 auth_gen
 *	u64 session id		u64 expiry (seconds since the epoch)
 *	32 bytes of HMAC-SHA-512-256 (crypto_auth) over the 29 bytes above
 *	followed by the name of the worker kind the session belongs to
 *
 * keyed with the random key of the meta database, so only this store can
 * make one and only for that session of that kind of worker.  The account
 * id is never reused and auth_gen changes with the password, so a token
 * dies with its account or the password it was earned with.
 */
#ifndef BULWARK_TOKEN_H
#define BULWARK_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"

#define TOKEN_LEN	61
#define TOKEN_TTL	(24 * 60 * 60)

struct token_claims {
	uint64_t	 account_id;
	uint32_t	 auth_gen;
	uint64_t	 session;
	uint64_t	 expiry;
};

/* Writes the token of claims c for a worker of kind worker into out. */
void	token_mint(const uint8_t key[SCHEMA_TOKEN_KEY_LEN],
	    const struct token_claims *c, const char *worker,
	    uint8_t out[TOKEN_LEN]);
/*
 * Checks token [p, p + len) for the session session of a worker of kind
 * worker at time now (seconds since the epoch) and returns 0 with its
 * claims in *c, or -1 with *why_r set to a short reason for the log.
 */
int	token_check(const uint8_t key[SCHEMA_TOKEN_KEY_LEN], const void *p,
	    size_t len, uint64_t session, const char *worker, uint64_t now,
	    struct token_claims *c, const char **why_r);

#endif
