/* SPDX-License-Identifier: ISC */
/*
 * key.c: address and numeric keys (layout in key.h).
 */
#include "key.h"
#include "wire.h"

#include <stdio.h>
#include <string.h>

size_t
key_addr(uint8_t key[KEY_ADDR_MAX], const struct name_addr *a)
{
	size_t dlen = strlen(a->domain), llen = strlen(a->local);

	memcpy(key, a->domain, dlen);
	key[dlen] = '\0';
	memcpy(key + dlen + 1, a->local, llen);
	return dlen + 1 + llen;
}

size_t
key_domain_prefix(uint8_t key[KEY_ADDR_MAX], const char *domain)
{
	size_t dlen = strnlen(domain, NAME_DOMAIN_MAX);

	memcpy(key, domain, dlen);
	key[dlen] = '\0';
	return dlen + 1;
}

int
key_addr_name(const void *key, size_t len, char *out, size_t outlen)
{
	const char *k = key, *nul;
	size_t dlen, llen;
	int n;

	if (len == 0 || len > KEY_ADDR_MAX ||
	    (nul = memchr(k, '\0', len)) == NULL)
		return -1;
	dlen = (size_t)(nul - k);
	llen = len - dlen - 1;
	if (dlen == 0 || llen == 0 || memchr(nul + 1, '\0', llen) != NULL)
		return -1;
	n = snprintf(out, outlen, "%.*s@%.*s", (int)llen, nul + 1,
	    (int)dlen, k);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
key_has_prefix(const void *p, size_t len, const void *pre, size_t plen)
{
	return len >= plen && memcmp(p, pre, plen) == 0;
}

void
key_u64(uint8_t key[8], uint64_t v)
{
	wire_be64_put(key, v);
}

void
key_mail_init(struct key_mail *k, uint64_t account_id)
{
	k->len = 0;
	key_mail_u64(k, account_id);
}

void
key_mail_bytes(struct key_mail *k, const void *p, size_t n)
{
	if (n > sizeof(k->b) - k->len)
		return;
	memcpy(k->b + k->len, p, n);
	k->len += n;
}

void
key_mail_u32(struct key_mail *k, uint32_t v)
{
	uint8_t b[4];

	wire_be32_put(b, v);
	key_mail_bytes(k, b, sizeof(b));
}

void
key_mail_u64(struct key_mail *k, uint64_t v)
{
	uint8_t b[8];

	wire_be64_put(b, v);
	key_mail_bytes(k, b, sizeof(b));
}
