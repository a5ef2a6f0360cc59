/* SPDX-License-Identifier: ISC */
/*
 * auth.c: password hashes, client addresses and the authentication rate
 * limiter (see auth.h).
 */
#include "auth.h"
#include "compat.h"
#include "name.h"
#include "xmalloc.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

/* Slots looked at for one key: a small, fixed cost per lookup. */
#define AUTH_PROBE	8
#define AUTH_ID_LEN	16

/* --- Password hashes --- */

int
auth_hash_password(const char *pw, uint64_t ops, uint64_t mem,
    char out[crypto_pwhash_STRBYTES])
{
	if (ops == 0)
		ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	if (mem == 0)
		mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	if (ops < crypto_pwhash_OPSLIMIT_MIN)
		ops = crypto_pwhash_OPSLIMIT_MIN;
	if (mem < crypto_pwhash_MEMLIMIT_MIN)
		mem = crypto_pwhash_MEMLIMIT_MIN;
	return crypto_pwhash_str_alg(out, pw, strlen(pw), ops, (size_t)mem,
	    crypto_pwhash_ALG_ARGON2ID13);
}

bool
auth_verify_password(const char *hash, const char *pw)
{
	return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}

/* --- Client addresses --- */

/* Copies the host part of "host:port", "[host]:port" or "host" to out. */
static void
auth_remote_host(const char *remote, char *out, size_t outlen)
{
	const char *end, *colon = strchr(remote, ':');

	if (remote[0] == '[' && (end = strchr(remote, ']')) != NULL) {
		remote++;
		if ((size_t)(end - remote) >= outlen) {
			out[0] = '\0';
			return;
		}
		memcpy(out, remote, end - remote);
		out[end - remote] = '\0';
		return;
	}
	/* One colon separates a port; more are a bare IPv6 address. */
	if (colon != NULL && strchr(colon + 1, ':') == NULL &&
	    (size_t)(colon - remote) < outlen) {
		memcpy(out, remote, colon - remote);
		out[colon - remote] = '\0';
		return;
	}
	if (strlcpy(out, remote, outlen) >= outlen)
		out[0] = '\0';
}

static void
auth_remote_v4(struct auth_remote *r, const struct in_addr *in)
{
	inet_ntop(AF_INET, in, r->text, sizeof(r->text));
	r->key[0] = 4;
	memcpy(r->key + 1, in, 4);
	r->keylen = 5;
}

void
auth_remote_parse(const char *remote, struct auth_remote *r)
{
	char host[AUTH_REMOTE_TEXT];
	struct in6_addr in6;
	struct in_addr in;

	memset(r, 0, sizeof(*r));
	auth_remote_host(remote, host, sizeof(host));
	if (inet_pton(AF_INET, host, &in) == 1) {
		auth_remote_v4(r, &in);
	} else if (inet_pton(AF_INET6, host, &in6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&in6)) {
			memcpy(&in, &in6.s6_addr[12], 4);
			auth_remote_v4(r, &in);
			return;
		}
		inet_ntop(AF_INET6, &in6, r->text, sizeof(r->text));
		r->key[0] = 6;
		memcpy(r->key + 1, in6.s6_addr, 8);	/* the /64 */
		r->keylen = 9;
	} else {
		name_log_safe(remote[0] != '\0' ? remote : "unknown", r->text,
		    sizeof(r->text));
		r->key[0] = 0;
		r->keylen = 1 + strlcpy((char *)r->key + 1, r->text,
		    sizeof(r->key) - 1);
		if (r->keylen > sizeof(r->key))
			r->keylen = sizeof(r->key);
	}
}

/* --- Rate limiter --- */

struct auth_entry {
	uint8_t		 id[AUTH_ID_LEN];	/* keyed hash of kind + key */
	bool		 used;
	uint32_t	 fails;
	uint64_t	 window_start;
	uint64_t	 blocked_until;
};

struct auth_limiter {
	uint32_t		 limit, window, block;
	struct auth_entry	*e;
	size_t			 mask;
	size_t			 used;
	uint8_t			 hkey[crypto_generichash_KEYBYTES];
};

struct auth_limiter *
auth_limiter_new(uint32_t fail_limit, uint32_t fail_window,
    uint32_t block_time, size_t slots)
{
	struct auth_limiter *l = xcalloc(1, sizeof(*l));
	size_t n = AUTH_PROBE;

	while (n < slots)
		n *= 2;
	l->limit = fail_limit;
	l->window = fail_window;
	l->block = block_time;
	l->e = xcalloc(n, sizeof(*l->e));
	l->mask = n - 1;
	randombytes_buf(l->hkey, sizeof(l->hkey));
	return l;
}

void
auth_limiter_free(struct auth_limiter **lp)
{
	struct auth_limiter *l = *lp;

	*lp = NULL;
	if (l == NULL)
		return;
	free(l->e);
	sodium_memzero(l->hkey, sizeof(l->hkey));
	free(l);
}

size_t
auth_limiter_used(const struct auth_limiter *l)
{
	return l->used;
}

static void
auth_limiter_id(const struct auth_limiter *l, enum auth_kind kind,
    const void *key, size_t len, uint8_t id[AUTH_ID_LEN])
{
	crypto_generichash_state st;
	uint8_t k = (uint8_t)kind;

	crypto_generichash_init(&st, l->hkey, sizeof(l->hkey), AUTH_ID_LEN);
	crypto_generichash_update(&st, &k, 1);
	crypto_generichash_update(&st, key, len);
	crypto_generichash_final(&st, id, AUTH_ID_LEN);
}

static size_t
auth_limiter_home(const struct auth_limiter *l, const uint8_t *id)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	return (size_t)h & l->mask;
}

static struct auth_entry *
auth_limiter_find(struct auth_limiter *l, const uint8_t *id)
{
	size_t home = auth_limiter_home(l, id), i;
	struct auth_entry *e;

	for (i = 0; i < AUTH_PROBE; i++) {
		e = &l->e[(home + i) & l->mask];
		if (e->used && memcmp(e->id, id, AUTH_ID_LEN) == 0)
			return e;
	}
	return NULL;
}

/* How much an entry is worth keeping at now: higher keeps longer. */
static uint64_t
auth_entry_worth(const struct auth_limiter *l, const struct auth_entry *e,
    uint64_t now)
{
	if (!e->used)
		return 0;
	if (e->blocked_until > now)
		return (1ull << 62) + e->blocked_until;
	if (now - e->window_start >= l->window)
		return 1;	/* its failures no longer count */
	return (1ull << 61) + e->window_start;
}

/* Finds or makes room for id in its probe window. */
static struct auth_entry *
auth_limiter_slot(struct auth_limiter *l, const uint8_t *id, uint64_t now)
{
	size_t home = auth_limiter_home(l, id), i;
	struct auth_entry *e, *victim = NULL;
	uint64_t w, best = UINT64_MAX;

	if ((e = auth_limiter_find(l, id)) != NULL)
		return e;
	for (i = 0; i < AUTH_PROBE; i++) {
		e = &l->e[(home + i) & l->mask];
		if ((w = auth_entry_worth(l, e, now)) < best) {
			best = w;
			victim = e;
		}
	}
	if (!victim->used)
		l->used++;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->id, id, AUTH_ID_LEN);
	victim->used = true;
	victim->window_start = now;
	return victim;
}

bool
auth_limiter_blocked(struct auth_limiter *l, enum auth_kind kind,
    const void *key, size_t len, uint64_t now)
{
	uint8_t id[AUTH_ID_LEN];
	struct auth_entry *e;

	if (l->limit == 0)
		return false;
	auth_limiter_id(l, kind, key, len, id);
	return (e = auth_limiter_find(l, id)) != NULL &&
	    e->blocked_until > now;
}

bool
auth_limiter_fail(struct auth_limiter *l, enum auth_kind kind,
    const void *key, size_t len, uint64_t now)
{
	uint8_t id[AUTH_ID_LEN];
	struct auth_entry *e;

	if (l->limit == 0)
		return false;
	auth_limiter_id(l, kind, key, len, id);
	e = auth_limiter_slot(l, id, now);
	if (e->blocked_until > now)
		return false;
	if (now - e->window_start >= l->window) {
		e->window_start = now;
		e->fails = 0;
	}
	if (++e->fails < l->limit)
		return false;
	e->fails = 0;
	e->window_start = now;
	e->blocked_until = now + l->block;
	return true;
}

void
auth_limiter_forget(struct auth_limiter *l, enum auth_kind kind,
    const void *key, size_t len)
{
	uint8_t id[AUTH_ID_LEN];
	struct auth_entry *e;

	auth_limiter_id(l, kind, key, len, id);
	if ((e = auth_limiter_find(l, id)) != NULL) {
		memset(e, 0, sizeof(*e));
		l->used--;
	}
}
