/* SPDX-License-Identifier: ISC */
/*
 * recent.c: the boundaries of \Recent per mailbox (see recent.h).  An open
 * addressing hash (linear probing, never shrinks: entries are not removed)
 * behind one mutex, because the writer thread makes entries while the loop
 * reads and claims them.  Both hold the lock for a lookup only.
 */
#include "recent.h"
#include "xmalloc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct recent_ent {
	uint64_t	 account_id;
	uint32_t	 mailbox_id;	/* 0: free slot */
	uint32_t	 uidvalidity;
	uint32_t	 first;		/* the boundary */
};

static struct {
	pthread_mutex_t	 lock;
	struct recent_ent *slot;
	size_t		 mask;		/* slots - 1 */
	size_t		 n;
} recent = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 };

static size_t
recent_hash(uint64_t account_id, uint32_t mailbox_id)
{
	uint64_t h = account_id * 0x9e3779b97f4a7c15ull ^ mailbox_id;

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return (size_t)(h ^ (h >> 29));
}

/* The slot of the mailbox, or the free one where it would go. */
static struct recent_ent *
recent_slot(uint64_t account_id, uint32_t mailbox_id)
{
	size_t i = recent_hash(account_id, mailbox_id) & recent.mask;
	struct recent_ent *e;

	for (;;) {
		e = &recent.slot[i];
		if (e->mailbox_id == 0 || (e->mailbox_id == mailbox_id &&
		    e->account_id == account_id))
			return e;
		i = (i + 1) & recent.mask;
	}
}

/* Doubles the table (or makes its first one) when it is 3/4 full. */
static void
recent_grow(void)
{
	struct recent_ent *old = recent.slot, *e;
	size_t i, oldn = recent.slot != NULL ? recent.mask + 1 : 0;
	size_t slots = oldn > 0 ? oldn * 2 : 64;

	if (oldn > 0 && (recent.n + 1) * 4 <= oldn * 3)
		return;
	recent.slot = xcalloc(slots, sizeof(*recent.slot));
	recent.mask = slots - 1;
	for (i = 0; i < oldn; i++) {
		if (old[i].mailbox_id == 0)
			continue;
		e = recent_slot(old[i].account_id, old[i].mailbox_id);
		*e = old[i];
	}
	free(old);
}

/*
 * The entry of the mailbox, made with the boundary at first if it has
 * none or one of another UIDVALIDITY.  Called with the lock held.
 */
static struct recent_ent *
recent_get(uint64_t account_id, uint32_t mailbox_id, uint32_t uidvalidity,
    uint32_t first)
{
	struct recent_ent *e;

	recent_grow();
	e = recent_slot(account_id, mailbox_id);
	if (e->mailbox_id == 0) {
		e->account_id = account_id;
		e->mailbox_id = mailbox_id;
		recent.n++;
	} else if (e->uidvalidity == uidvalidity)
		return e;
	e->uidvalidity = uidvalidity;
	e->first = first;
	return e;
}

void
recent_note_uid(uint64_t account_id, uint32_t mailbox_id,
    uint32_t uidvalidity, uint32_t uid)
{
	if (mailbox_id == 0)
		return;
	pthread_mutex_lock(&recent.lock);
	(void)recent_get(account_id, mailbox_id, uidvalidity, uid);
	pthread_mutex_unlock(&recent.lock);
}

uint32_t
recent_first(uint64_t account_id, uint32_t mailbox_id, uint32_t uidvalidity,
    uint32_t uidnext)
{
	uint32_t first;

	if (mailbox_id == 0)
		return uidnext;
	pthread_mutex_lock(&recent.lock);
	first = recent_get(account_id, mailbox_id, uidvalidity, uidnext)->first;
	pthread_mutex_unlock(&recent.lock);
	return first;
}

uint32_t
recent_claim(uint64_t account_id, uint32_t mailbox_id, uint32_t uidvalidity,
    uint32_t uidnext, uint32_t upto)
{
	struct recent_ent *e;
	uint32_t first;

	if (mailbox_id == 0)
		return uidnext;
	if (upto > uidnext)
		upto = uidnext;
	pthread_mutex_lock(&recent.lock);
	e = recent_get(account_id, mailbox_id, uidvalidity, uidnext);
	first = e->first;
	if (upto > e->first)
		e->first = upto;
	pthread_mutex_unlock(&recent.lock);
	return first;
}

void
recent_reset(void)
{
	pthread_mutex_lock(&recent.lock);
	free(recent.slot);
	recent.slot = NULL;
	recent.mask = 0;
	recent.n = 0;
	pthread_mutex_unlock(&recent.lock);
}
