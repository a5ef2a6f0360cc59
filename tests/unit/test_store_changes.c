/* SPDX-License-Identifier: ISC */
/*
 * test_store_changes.c: the changes of a type of object since a modseq
 * (store/changes.c), read from a change log written here entry by entry
 * on a real LMDB environment: each id in one list, created-and-destroyed
 * ids in none, other types ignored, the limit on ids with the state it
 * stops at, and a state the account never had; the pruning of the oldest
 * history (store/changelog.c): what goes and stays of the log and of the
 * vanished UIDs, the floor kept in the mail state record, and states
 * below it refused.  Expected values by hand.
 */
/* unit-deps: store/changes.c store/changelog.c store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/blob.c store/strvec.c store/key.c store/record.c store/mailbox.c store/name.c */
#include "harness.h"
#include "ipc.h"

#include "store/changelog.h"
#include "store/changes.h"
#include "store/db.h"
#include "store/key.h"
#include "store/record.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP_SIZE	(16u << 20)
#define ACCT		7

struct step {
	enum change_type	 type;
	enum change_kind	 kind;
	uint64_t		 id;
};

/* Appends the steps to ACCT's log in one transaction, modseq 1, 2, ... */
static void
write_log(struct store_db *db, const struct step *v, size_t n)
{
	struct store_error err;
	struct mstate_rec ms;
	MDB_txn *txn;
	size_t i;

	if (db_begin(db, true, &txn, &err) != IPC_S_OK) {
		harness_fail(__FILE__, __LINE__, "begin: %s", err.text);
		return;
	}
	if (mstate_get(db, txn, ACCT, &ms, &err) != IPC_S_OK)
		memset(&ms, 0, sizeof(ms));
	for (i = 0; i < n; i++)
		if (changelog_append(db, txn, ACCT, &ms, v[i].type, v[i].kind,
		    v[i].id, NULL, &err) != IPC_S_OK)
			harness_fail(__FILE__, __LINE__, "append: %s",
			    err.text);
	if (mstate_put(db, txn, ACCT, &ms, &err) != IPC_S_OK ||
	    db_commit(&txn, &err) != IPC_S_OK)
		harness_fail(__FILE__, __LINE__, "commit: %s", err.text);
}

/* "c1,c2|u|d" for the three lists. */
static const char *
lists(const struct changes *c)
{
	static char s[512];
	size_t i, n = 0;

#define LIST(a, k) do {							\
	for (i = 0; i < (k); i++)					\
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%llu",	\
		    i > 0 ? "," : "", (unsigned long long)(a)[i]);	\
} while (0)
	s[0] = '\0';
	LIST(c->created, c->ncreated);
	n += (size_t)snprintf(s + n, sizeof(s) - n, "|");
	LIST(c->updated, c->nupdated);
	n += (size_t)snprintf(s + n, sizeof(s) - n, "|");
	LIST(c->destroyed, c->ndestroyed);
#undef LIST
	return s;
}

static enum ipc_status
collect(struct store_db *db, enum change_type type, uint64_t since,
    size_t max, struct changes *c)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = db_begin(db, false, &txn, &err)) != IPC_S_OK)
		return st;
	st = changes_collect(db, txn, ACCT, type, since, max, c, &err);
	db_abort(&txn);
	return st;
}

TEST(test_changes)
{
	static const struct step log[] = {
		{ CHANGE_EMAIL, CHANGE_CREATED, 1 },	/* 1 */
		{ CHANGE_MAILBOX, CHANGE_UPDATED, 1 },	/* 2 */
		{ CHANGE_EMAIL, CHANGE_CREATED, 2 },	/* 3 */
		{ CHANGE_EMAIL, CHANGE_UPDATED, 1 },	/* 4 */
		{ CHANGE_EMAIL, CHANGE_CREATED, 3 },	/* 5 */
		{ CHANGE_EMAIL, CHANGE_DESTROYED, 3 },	/* 6 */
		{ CHANGE_THREAD, CHANGE_CREATED, 9 },	/* 7 */
		{ CHANGE_EMAIL, CHANGE_UPDATED, 2 },	/* 8 */
		{ CHANGE_EMAIL, CHANGE_DESTROYED, 1 },	/* 9 */
		{ CHANGE_EMAIL, CHANGE_UPDATED, 4 },	/* 10 */
	};
	struct store_db db;
	struct store_error err;
	struct changes c;
	char dir[256];

	snprintf(dir, sizeof(dir), "%s/changes", harness_tmpdir());
	if (db_open(&db, dir, MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	/* No log yet: nothing, at state 0; state 1 was never given. */
	CHECK_INT(collect(&db, CHANGE_EMAIL, 0, 0, &c), IPC_S_OK);
	CHECK_STR(lists(&c), "||");
	CHECK_INT(c.new_state, 0);
	CHECK(!c.has_more);
	changes_clear(&c);
	CHECK_INT(collect(&db, CHANGE_EMAIL, 1, 0, &c), IPC_S_INVALID);

	write_log(&db, log, sizeof(log) / sizeof(log[0]));
	/*
	 * From the start: 3 and 1 came and went, 2 came (its update is
	 * part of that), 4 was made before the log began and changed.
	 */
	CHECK_INT(collect(&db, CHANGE_EMAIL, 0, 0, &c), IPC_S_OK);
	CHECK_STR(lists(&c), "2|4|");
	CHECK_INT(c.new_state, 10);
	CHECK(!c.has_more);
	changes_clear(&c);
	/* Since 3: 1 updated then destroyed, 2 updated, 4 updated. */
	CHECK_INT(collect(&db, CHANGE_EMAIL, 3, 0, &c), IPC_S_OK);
	CHECK_STR(lists(&c), "|2,4|1");
	changes_clear(&c);
	/* Since 4: in the order first seen. */
	CHECK_INT(collect(&db, CHANGE_EMAIL, 4, 0, &c), IPC_S_OK);
	CHECK_STR(lists(&c), "|2,4|1");
	changes_clear(&c);
	/* Other types: their own entries only. */
	CHECK_INT(collect(&db, CHANGE_MAILBOX, 0, 0, &c), IPC_S_OK);
	CHECK_STR(lists(&c), "|1|");
	CHECK_INT(c.new_state, 10);
	changes_clear(&c);
	CHECK_INT(collect(&db, CHANGE_THREAD, 7, 0, &c), IPC_S_OK);
	CHECK_STR(lists(&c), "||");
	changes_clear(&c);
	/* Up to date: nothing, same state. */
	CHECK_INT(collect(&db, CHANGE_EMAIL, 10, 0, &c), IPC_S_OK);
	CHECK_STR(lists(&c), "||");
	CHECK_INT(c.new_state, 10);
	changes_clear(&c);
	/*
	 * At most 2 ids: 1 and 2, whose changes up to modseq 4 are complete
	 * (3 comes at 5); the next call goes on from there.
	 */
	CHECK_INT(collect(&db, CHANGE_EMAIL, 0, 2, &c), IPC_S_OK);
	CHECK_STR(lists(&c), "1,2||");
	CHECK_INT(c.new_state, 4);
	CHECK(c.has_more);
	changes_clear(&c);
	/* 3 (came and went, so in no list) and 2 fill it; 1 is next. */
	CHECK_INT(collect(&db, CHANGE_EMAIL, 4, 2, &c), IPC_S_OK);
	CHECK_STR(lists(&c), "|2|");
	CHECK_INT(c.new_state, 8);
	CHECK(c.has_more);
	changes_clear(&c);
	CHECK_INT(collect(&db, CHANGE_EMAIL, 8, 2, &c), IPC_S_OK);
	CHECK_STR(lists(&c), "|4|1");
	CHECK_INT(c.new_state, 10);
	CHECK(!c.has_more);
	changes_clear(&c);
	/* A state beyond the log is refused. */
	CHECK_INT(collect(&db, CHANGE_EMAIL, 11, 0, &c), IPC_S_INVALID);
	db_close(&db);
}

TEST(test_many)
{
	struct step *log;
	struct store_db db;
	struct store_error err;
	struct changes c;
	char dir[256];
	size_t i, n = 3000;

	snprintf(dir, sizeof(dir), "%s/many", harness_tmpdir());
	if (db_open(&db, dir, MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	log = calloc(n, sizeof(*log));
	for (i = 0; i < n; i++) {
		log[i].type = CHANGE_EMAIL;
		log[i].kind = i < n / 2 ? CHANGE_CREATED : CHANGE_UPDATED;
		log[i].id = i < n / 2 ? i + 1 : i - n / 2 + 1;
	}
	write_log(&db, log, n);
	/* Every id created in the range: created only, in id order. */
	CHECK_INT(collect(&db, CHANGE_EMAIL, 0, 0, &c), IPC_S_OK);
	CHECK_INT(c.ncreated, n / 2);
	CHECK_INT(c.nupdated, 0);
	for (i = 0; i < c.ncreated; i++)
		if (c.created[i] != i + 1)
			break;
	CHECK_INT(i, n / 2);
	changes_clear(&c);
	/* After the creations: every id updated. */
	CHECK_INT(collect(&db, CHANGE_EMAIL, n / 2, 0, &c), IPC_S_OK);
	CHECK_INT(c.nupdated, n / 2);
	CHECK_INT(c.new_state, n);
	changes_clear(&c);
	free(log);
	db_close(&db);
}

/* Puts key (ACCT, mbox[, modseq]) into dbi with a u32 value. */
static void
put_key(struct store_db *db, MDB_dbi dbi, uint32_t mbox, uint64_t modseq,
    uint32_t v)
{
	struct store_error err;
	struct key_mail k;
	uint8_t b[4];
	MDB_val kv, d = { 4, b };
	MDB_txn *txn;

	key_mail_init(&k, ACCT);
	key_mail_u32(&k, mbox);
	if (modseq != 0)
		key_mail_u64(&k, modseq);
	kv = KEY_MAIL_VAL(&k);
	wire_be32_put(b, v);
	if (db_begin(db, true, &txn, &err) != IPC_S_OK ||
	    mdb_put(txn, dbi, &kv, &d, 0) != 0 ||
	    db_commit(&txn, &err) != IPC_S_OK)
		harness_fail(__FILE__, __LINE__, "put");
}

/* The vanished UIDs of mbox, "uid@modseq,..." in key order. */
static const char *
vanished_of(struct store_db *db, uint32_t mbox)
{
	static char s[512];
	struct store_error err;
	struct key_mail pre;
	MDB_cursor *cur;
	MDB_val k, d;
	MDB_txn *txn;
	size_t n = 0;
	int rc;

	s[0] = '\0';
	key_mail_init(&pre, ACCT);
	key_mail_u32(&pre, mbox);
	k = KEY_MAIL_VAL(&pre);
	if (db_begin(db, false, &txn, &err) != IPC_S_OK ||
	    mdb_cursor_open(txn, db->vanished, &cur) != 0)
		return "error";
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (!key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len))
			break;
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%u@%llu",
		    n > 0 ? "," : "", wire_be32_get(d.mv_data),
		    (unsigned long long)wire_be64_get((uint8_t *)k.mv_data +
		    pre.len));
	}
	mdb_cursor_close(cur);
	db_abort(&txn);
	return s;
}

static enum ipc_status
prune(struct store_db *db, uint64_t keep, size_t max, size_t *n)
{
	struct store_error err;
	enum ipc_status st;
	size_t accounts = 0;
	MDB_txn *txn;

	if ((st = db_begin(db, true, &txn, &err)) != IPC_S_OK)
		return st;
	if ((st = changelog_prune_all(db, txn, keep, max, n, &accounts,
	    &err)) != IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	return db_commit(&txn, &err);
}

/* The first modseq the log still holds for ACCT, 0 for none. */
static int
first_cb(uint64_t modseq, const struct change_rec *c, void *arg)
{
	(void)c;
	*(uint64_t *)arg = modseq;
	return 1;
}

static uint64_t
first_modseq(struct store_db *db)
{
	struct store_error err;
	uint64_t first = 0;
	MDB_txn *txn;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return UINT64_MAX;
	if (changelog_scan(db, txn, ACCT, 0, first_cb, &first, &err) !=
	    IPC_S_OK)
		first = UINT64_MAX;
	db_abort(&txn);
	return first;
}

static uint64_t
floor_of(struct store_db *db, uint8_t *version)
{
	struct store_error err;
	struct mstate_rec ms;
	struct key_mail k;
	MDB_val kv, d;
	MDB_txn *txn;

	ms.floor = UINT64_MAX;
	key_mail_init(&k, ACCT);
	kv = KEY_MAIL_VAL(&k);
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return UINT64_MAX;
	if (mstate_get(db, txn, ACCT, &ms, &err) != IPC_S_OK ||
	    mdb_get(txn, db->mail_state, &kv, &d) != 0)
		ms.floor = UINT64_MAX;
	else if (d.mv_size >= 2)	/* U8: its tag, then the value */
		*version = ((const uint8_t *)d.mv_data)[1];
	db_abort(&txn);
	return ms.floor;
}

TEST(test_prune)
{
	struct step log[20];
	struct store_db db;
	struct store_error err;
	struct changes c;
	char dir[256];
	uint8_t version = 0;
	size_t i, n = 0;

	snprintf(dir, sizeof(dir), "%s/prune", harness_tmpdir());
	if (db_open(&db, dir, MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	/* Email i created at modseq i. */
	for (i = 0; i < 20; i++) {
		log[i].type = CHANGE_EMAIL;
		log[i].kind = CHANGE_CREATED;
		log[i].id = i + 1;
	}
	write_log(&db, log, 20);
	/* Mailboxes 1 and 2; UIDs expunged at modseqs 3, 9, 10, 11, 15. */
	put_key(&db, db.mailboxes, 1, 0, 0);
	put_key(&db, db.mailboxes, 2, 0, 0);
	put_key(&db, db.vanished, 1, 3, 30);
	put_key(&db, db.vanished, 1, 10, 100);
	put_key(&db, db.vanished, 1, 15, 150);
	put_key(&db, db.vanished, 2, 9, 90);
	put_key(&db, db.vanished, 2, 11, 110);
	/* Nothing pruned yet: version 1 of the record, floor 0. */
	CHECK_INT(floor_of(&db, &version), 0);
	CHECK_INT(version, RECORD_V1);
	/* 20 above the floor is not over 18 + 18 / 8 = 20: kept. */
	CHECK_INT(prune(&db, 18, 1000, &n), IPC_S_OK);
	CHECK_INT(n, 0);
	CHECK_INT(first_modseq(&db), 1);
	/* keep 0 keeps everything. */
	CHECK_INT(prune(&db, 0, 1000, &n), IPC_S_OK);
	CHECK_INT(n, 0);
	/* Keep 8: the floor goes to 12; 1-12 and the UIDs until 12 go. */
	CHECK_INT(prune(&db, 8, 1000, &n), IPC_S_OK);
	CHECK_INT(n, 12);
	CHECK_INT(first_modseq(&db), 13);
	CHECK_INT(floor_of(&db, &version), 12);
	CHECK_INT(version, RECORD_V2);
	CHECK_STR(vanished_of(&db, 1), "150@15");
	CHECK_STR(vanished_of(&db, 2), "");
	/* States below the floor cannot be calculated; from it on, can. */
	CHECK_INT(collect(&db, CHANGE_EMAIL, 11, 0, &c), IPC_S_INVALID);
	CHECK_INT(collect(&db, CHANGE_EMAIL, 0, 0, &c), IPC_S_INVALID);
	CHECK_INT(collect(&db, CHANGE_EMAIL, 12, 0, &c), IPC_S_OK);
	CHECK_STR(lists(&c), "13,14,15,16,17,18,19,20||");
	CHECK_INT(c.new_state, 20);
	changes_clear(&c);
	/* Again at once: 8 above the floor, nothing to do. */
	CHECK_INT(prune(&db, 8, 1000, &n), IPC_S_OK);
	CHECK_INT(n, 0);
	CHECK_INT(floor_of(&db, &version), 12);
	/* At most 3 entries: 13-15 go, and the floor stops at 15. */
	CHECK_INT(prune(&db, 2, 3, &n), IPC_S_OK);
	CHECK_INT(n, 3);
	CHECK_INT(floor_of(&db, &version), 15);
	CHECK_INT(first_modseq(&db), 16);
	CHECK_STR(vanished_of(&db, 1), "");
	CHECK_INT(collect(&db, CHANGE_EMAIL, 15, 0, &c), IPC_S_OK);
	CHECK_STR(lists(&c), "16,17,18,19,20||");
	changes_clear(&c);
	CHECK_INT(collect(&db, CHANGE_EMAIL, 14, 0, &c), IPC_S_INVALID);
	db_close(&db);
	/* The floor outlives a reopening (the record was written). */
	if (db_open(&db, dir, MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	CHECK_INT(floor_of(&db, &version), 15);
	db_close(&db);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_changes),
	TEST_ENTRY(test_many),
	TEST_ENTRY(test_prune),
};

HARNESS_MAIN(tests)
