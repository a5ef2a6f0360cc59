/* SPDX-License-Identifier: ISC */
/*
 * changes.c: the changes of one type of object since a modseq (see
 * changes.h).  The log is read in modseq order once; each id seen gets a
 * slot in a small open-addressing table that remembers whether it was
 * created and whether it was destroyed in the range, and the order it
 * was first seen in, which is the order of the lists.
 */
#include "changes.h"
#include "changelog.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

struct changes_obj {
	uint64_t	 id;		/* 0: free slot (ids start at 1) */
	uint32_t	 order;		/* first seen */
	bool		 created;
	bool		 destroyed;
};

struct changes_scan {
	enum change_type	 type;
	size_t			 max;
	struct changes_obj	*tab;
	size_t			 cap, n;	/* slots, ids seen */
	uint64_t		 done;		/* modseq all counted up to */
	bool			 full;
};

static size_t
changes_hash(uint64_t id, size_t cap)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)id & (cap - 1);
}

/* The slot of id, or the free one where it goes. */
static struct changes_obj *
changes_slot(struct changes_obj *tab, size_t cap, uint64_t id)
{
	size_t i = changes_hash(id, cap);

	while (tab[i].id != 0 && tab[i].id != id)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static void
changes_grow(struct changes_scan *s)
{
	struct changes_obj *old = s->tab, *o;
	size_t oldcap = s->cap, i;

	s->cap = oldcap == 0 ? 64 : oldcap * 2;
	s->tab = xcalloc(s->cap, sizeof(*s->tab));
	for (i = 0; i < oldcap; i++)
		if (old[i].id != 0) {
			o = changes_slot(s->tab, s->cap, old[i].id);
			*o = old[i];
		}
	free(old);
}

static int
changes_see(uint64_t modseq, const struct change_rec *c, void *arg)
{
	struct changes_scan *s = arg;
	struct changes_obj *o;

	if (c->type == s->type && c->id != 0) {
		if (2 * (s->n + 1) > s->cap)
			changes_grow(s);
		o = changes_slot(s->tab, s->cap, c->id);
		if (o->id == 0) {
			/* A new id past the limit: stop before its change. */
			if (s->n == s->max) {
				s->full = true;
				return 1;
			}
			o->id = c->id;
			o->order = (uint32_t)s->n++;
		}
		if (c->kind == CHANGE_CREATED)
			o->created = true;
		else if (c->kind == CHANGE_DESTROYED)
			o->destroyed = true;
	}
	s->done = modseq;
	return 0;
}

static int
changes_by_order(const void *a, const void *b)
{
	const struct changes_obj *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

enum ipc_status
changes_collect(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    enum change_type type, uint64_t since, size_t max, struct changes *out,
    struct store_error *err)
{
	struct changes_scan s;
	struct mstate_rec ms;
	enum ipc_status st;
	size_t i, k = 0;

	memset(out, 0, sizeof(*out));
	st = mstate_get(db, txn, account_id, &ms, err);
	if (st == IPC_S_NOTFOUND) {
		memset(&ms, 0, sizeof(ms));
		st = IPC_S_OK;
	}
	if (st != IPC_S_OK)
		return st;
	if (since > ms.modseq)
		return db_error(err, IPC_S_INVALID, "state %llu is not one "
		    "of this account's", (unsigned long long)since);
	/* Entries after since may have been pruned (changelog_prune). */
	if (since < ms.floor)
		return db_error(err, IPC_S_INVALID, "state %llu is older than "
		    "the changes kept (from %llu)", (unsigned long long)since,
		    (unsigned long long)ms.floor);
	memset(&s, 0, sizeof(s));
	s.type = type;
	s.max = max == 0 || max > CHANGES_MAX ? CHANGES_MAX : max;
	s.done = since;
	if ((st = changelog_scan(db, txn, account_id, since, changes_see, &s,
	    err)) != IPC_S_OK) {
		free(s.tab);
		return st;
	}
	out->has_more = s.full;
	out->new_state = s.full ? s.done : ms.modseq;
	/* The table in the order the ids were first seen. */
	for (i = 0; i < s.cap; i++)
		if (s.tab[i].id != 0)
			s.tab[k++] = s.tab[i];
	if (k > 0)
		qsort(s.tab, k, sizeof(*s.tab), changes_by_order);
	out->created = xcalloc(k + 1, sizeof(uint64_t));
	out->updated = xcalloc(k + 1, sizeof(uint64_t));
	out->destroyed = xcalloc(k + 1, sizeof(uint64_t));
	for (i = 0; i < k; i++) {
		/* RFC 8620 5.2: created and destroyed since: neither. */
		if (s.tab[i].created && s.tab[i].destroyed)
			continue;
		if (s.tab[i].created)
			out->created[out->ncreated++] = s.tab[i].id;
		else if (s.tab[i].destroyed)
			out->destroyed[out->ndestroyed++] = s.tab[i].id;
		else
			out->updated[out->nupdated++] = s.tab[i].id;
	}
	free(s.tab);
	return IPC_S_OK;
}

void
changes_clear(struct changes *c)
{
	free(c->created);
	free(c->updated);
	free(c->destroyed);
	memset(c, 0, sizeof(*c));
}
