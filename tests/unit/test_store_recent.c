/* SPDX-License-Identifier: ISC */
/*
 * test_store_recent.c: the \Recent boundaries of store/recent.c: a
 * mailbox first seen by a reader starts at its UIDNEXT, one first seen by
 * the writer at the UID it gives; a claim hands each UID to one claimer;
 * a look does not move the boundary; another UIDVALIDITY starts again;
 * the table keeps every mailbox as it grows; claims from two threads
 * never overlap.
 */
/* unit-deps: store/recent.c */
#include "harness.h"

#include "store/recent.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

TEST(test_recent_first_seen_by_reader)
{
	recent_reset();
	/* Nothing stored since the start is recent. */
	CHECK_INT(recent_first(1, 5, 100, 42), 42);
	/* The entry stays where it was made, whatever UIDNEXT is now. */
	CHECK_INT(recent_first(1, 5, 100, 50), 42);
	/* Another account's mailbox of the same id is another mailbox. */
	CHECK_INT(recent_first(2, 5, 100, 7), 7);
}

TEST(test_recent_first_seen_by_writer)
{
	recent_reset();
	recent_note_uid(1, 3, 100, 10);
	recent_note_uid(1, 3, 100, 11);		/* already there: kept */
	CHECK_INT(recent_first(1, 3, 100, 12), 10);
}

TEST(test_recent_claim_once)
{
	recent_reset();
	recent_note_uid(1, 1, 100, 1);
	/* A claim up to 3 of a mailbox whose UIDNEXT is 4: gets 1 and 2. */
	CHECK_INT(recent_claim(1, 1, 100, 4, 3), 1);
	/* Another session claiming up to 4 gets 3 only. */
	CHECK_INT(recent_claim(1, 1, 100, 4, 4), 3);
	/* Nothing left, and a stale view's claim does not move it back. */
	CHECK_INT(recent_claim(1, 1, 100, 4, 2), 4);
	CHECK_INT(recent_first(1, 1, 100, 4), 4);
	/* A claim never goes past the mailbox's UIDNEXT. */
	CHECK_INT(recent_claim(1, 1, 100, 6, 1000), 4);
	CHECK_INT(recent_first(1, 1, 100, 6), 6);
}

TEST(test_recent_look_keeps)
{
	recent_reset();
	recent_note_uid(1, 2, 100, 5);
	CHECK_INT(recent_first(1, 2, 100, 9), 5);
	CHECK_INT(recent_first(1, 2, 100, 9), 5);
	CHECK_INT(recent_claim(1, 2, 100, 9, 9), 5);
}

TEST(test_recent_new_uidvalidity)
{
	recent_reset();
	recent_note_uid(1, 4, 100, 1);
	CHECK_INT(recent_claim(1, 4, 100, 8, 8), 1);
	/* The same id with another UIDVALIDITY: a new mailbox. */
	CHECK_INT(recent_first(1, 4, 200, 3), 3);
	recent_note_uid(1, 4, 300, 1);
	CHECK_INT(recent_first(1, 4, 300, 2), 1);
}

TEST(test_recent_grows)
{
	uint32_t id;

	recent_reset();
	for (id = 1; id <= 5000; id++)
		recent_note_uid(id % 7 + 1, id, 100, id);
	for (id = 1; id <= 5000; id++)
		CHECK_INT(recent_first(id % 7 + 1, id, 100, id + 100), id);
}

#define RACE_CLAIMS	20000

struct racer {
	uint32_t	*got;		/* claims per UID, shared */
	pthread_mutex_t	*lock;
};

static void *
race_claim(void *arg)
{
	struct racer *r = arg;
	uint32_t upto, first, uid;

	for (upto = 2; upto <= RACE_CLAIMS; upto++) {
		first = recent_claim(9, 9, 100, RACE_CLAIMS + 1, upto);
		pthread_mutex_lock(r->lock);
		for (uid = first; uid < upto; uid++)
			r->got[uid]++;
		pthread_mutex_unlock(r->lock);
	}
	return NULL;
}

TEST(test_recent_claims_race)
{
	static uint32_t got[RACE_CLAIMS + 1];
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct racer r = { got, &lock };
	pthread_t t[2];
	uint32_t uid;

	recent_reset();
	memset(got, 0, sizeof(got));
	recent_note_uid(9, 9, 100, 1);
	CHECK(pthread_create(&t[0], NULL, race_claim, &r) == 0);
	CHECK(pthread_create(&t[1], NULL, race_claim, &r) == 0);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	/* Every UID below the last claim went to exactly one claimer. */
	for (uid = 1; uid < RACE_CLAIMS; uid++)
		CHECK_INT(got[uid], 1);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_recent_first_seen_by_reader),
	TEST_ENTRY(test_recent_first_seen_by_writer),
	TEST_ENTRY(test_recent_claim_once),
	TEST_ENTRY(test_recent_look_keeps),
	TEST_ENTRY(test_recent_new_uidvalidity),
	TEST_ENTRY(test_recent_grows),
	TEST_ENTRY(test_recent_claims_race),
};

HARNESS_MAIN(tests)
