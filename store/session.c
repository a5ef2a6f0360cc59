/* SPDX-License-Identifier: ISC */
/*
 * session.c: a hash table of sessions with linear probing and deletion by
 * backward shift, so that lookups never meet tombstones (see session.h).
 */
#include "session.h"
#include "compat.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define SESSION_MIN_SLOTS	16

static uint64_t session_serial_next = 1;

void
session_table_init(struct session_table *t)
{
	memset(t, 0, sizeof(*t));
	t->slot = xcalloc(SESSION_MIN_SLOTS, sizeof(*t->slot));
	t->mask = SESSION_MIN_SLOTS - 1;
	randombytes_buf(t->hkey, sizeof(t->hkey));
}

void
session_table_clear(struct session_table *t)
{
	size_t i;

	for (i = 0; t->slot != NULL && i <= t->mask; i++)
		free(t->slot[i]);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static size_t
session_home(const struct session_table *t, uint64_t id)
{
	uint8_t in[8], out[crypto_shorthash_BYTES];
	uint64_t h;

	memcpy(in, &id, sizeof(in));
	crypto_shorthash(out, in, sizeof(in), t->hkey);
	memcpy(&h, out, sizeof(h));
	return (size_t)h & t->mask;
}

/* Returns the slot index of id, or of the empty slot where it would go. */
static size_t
session_index(const struct session_table *t, uint64_t id)
{
	size_t i = session_home(t, id);

	while (t->slot[i] != NULL && t->slot[i]->id != id)
		i = (i + 1) & t->mask;
	return i;
}

static void
session_grow(struct session_table *t)
{
	struct session **old = t->slot;
	size_t oldn = t->mask + 1, i;

	t->slot = xcalloc(oldn * 2, sizeof(*t->slot));
	t->mask = oldn * 2 - 1;
	for (i = 0; i < oldn; i++)
		if (old[i] != NULL)
			t->slot[session_index(t, old[i]->id)] = old[i];
	free(old);
}

struct session *
session_find(struct session_table *t, uint64_t id)
{
	return t->slot[session_index(t, id)];
}

struct session *
session_open(struct session_table *t, uint64_t id, const char *proto,
    const char *remote, const char *local, bool tls)
{
	struct session *s;
	size_t i;

	if ((s = session_find(t, id)) == NULL) {
		if (t->n >= SESSION_MAX)
			return NULL;
		/* Keep the load under 1/2: probes stay short. */
		if ((t->n + 1) * 2 > t->mask + 1)
			session_grow(t);
		i = session_index(t, id);
		s = t->slot[i] = xmalloc(sizeof(*s));
		t->n++;
	}
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->serial = session_serial_next++;
	strlcpy(s->proto, proto, sizeof(s->proto));
	auth_remote_parse(remote, &s->remote);
	strlcpy(s->local, local, sizeof(s->local));
	s->tls = tls;
	return s;
}

void
session_close(struct session_table *t, uint64_t id)
{
	size_t i = session_index(t, id), j, home;

	if (t->slot[i] == NULL)
		return;
	free(t->slot[i]);
	t->slot[i] = NULL;
	t->n--;
	/* Backward shift: move up entries whose probe passed slot i. */
	for (j = (i + 1) & t->mask; t->slot[j] != NULL;
	    j = (j + 1) & t->mask) {
		home = session_home(t, t->slot[j]->id);
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slot[i] = t->slot[j];
			t->slot[j] = NULL;
			i = j;
		}
	}
}

void
session_bind(struct session *s, uint64_t account_id, const char *username)
{
	s->account_id = account_id;
	strlcpy(s->username, username, sizeof(s->username));
}

size_t
session_unbind_account(struct session_table *t, uint64_t account_id)
{
	struct session *s;
	size_t i, n = 0;

	for (i = 0; i <= t->mask; i++) {
		if ((s = t->slot[i]) != NULL && s->account_id == account_id) {
			s->account_id = 0;
			s->username[0] = '\0';
			n++;
		}
	}
	return n;
}

size_t
session_count_remote(const struct session_table *t, const char *proto,
    const struct auth_remote *remote)
{
	const struct session *s;
	size_t i, n = 0;

	for (i = 0; t->slot != NULL && i <= t->mask; i++)
		if ((s = t->slot[i]) != NULL &&
		    s->remote.keylen == remote->keylen &&
		    memcmp(s->remote.key, remote->key, remote->keylen) == 0 &&
		    strcmp(s->proto, proto) == 0)
			n++;
	return n;
}

size_t
session_count_account(const struct session_table *t, const char *proto,
    uint64_t account_id)
{
	const struct session *s;
	size_t i, n = 0;

	for (i = 0; t->slot != NULL && i <= t->mask; i++)
		if ((s = t->slot[i]) != NULL && s->account_id == account_id &&
		    strcmp(s->proto, proto) == 0)
			n++;
	return n;
}
