/* SPDX-License-Identifier: ISC */
/*
 * test_crash.c: what survives a crash of the machine (tests/unit/
 * crashsim.h simulates one: the files keep what was synced and a random
 * part of what was not).  A child commits numbered transactions and
 * reports each one it may acknowledge; it is killed after a random number
 * of them, the files are crashed, and the parent reopens the store: every
 * acknowledged transaction must be there, the store must be exactly the
 * snapshot after some transaction (the last acknowledged one or one after
 * it), and whole (every key it should hold, with its value, and no other).
 *
 *  - lmdb_synced: LMDB as it is opened today, each commit synced; this
 *    checks the simulator as much as LMDB.
 *  - lmdb_unsynced_loses: the control: LMDB with MDB_NOSYNC and nothing
 *    else loses acknowledged transactions (or its whole store) in these
 *    crashes, so the checks above can fail.
 *  - redo_log: LMDB without syncs (MDB_NOSYNC), each transaction's record
 *    appended to the redo log (store/redolog.h) and synced before it is
 *    acknowledged, a checkpoint every CHECKPOINT_EVERY transactions (LMDB
 *    synced, its meta page saved, the snapshot pinned by a reader), and
 *    recovery as designed: the saved meta page written back, the records
 *    after it replayed, each in a transaction of the id it had.
 *  - store_durability: the same through storaged's own code (db.h,
 *    dblog.h): every seventh transaction a write LMDB syncs itself, the
 *    others made durable by their records, and recovery by dblog_open and
 *    dblog_recover, which must tell a synced commit (the store is whole
 *    as it is) from records to replay.
 *  - store_checkpoints: the same with records of 16 KiB and a checkpoint
 *    due every 1.5 MiB of them, so that the checkpoint thread runs while
 *    records are appended to the file it rotated to, and later files are
 *    made of the spare (redo-spare), whose old records must never be read
 *    as new ones.
 */
/* unit-deps: tests/unit/crashsim.c store/redolog.c store/dbmeta.c store/db.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/key.c store/record.c store/mailbox.c store/name.c store/changelog.c store/strvec.c store/blob.c */
#include "harness.h"
#include "crashsim.h"
#include "buf.h"

#include "store/db.h"
#include "store/dblog.h"
#include "store/dbmeta.h"
#include "store/redolog.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#define ROUNDS			12
#define CHECKPOINT_EVERY	20
/* Transaction i deletes the key of i - FORGET when i is even. */
#define FORGET			50

static void
key_of(char *buf, size_t size, uint32_t i)
{
	snprintf(buf, size, "k%06u", i);
}

static void
value_of(char *buf, size_t size, uint32_t i)
{
	snprintf(buf, size, "value of %u %0*u", i, (int)(i % 300), i);
}

/* Transaction i's changes: its key, the counter, and an older key gone. */
static int
apply(MDB_txn *txn, MDB_dbi dbi, uint32_t i)
{
	char key[32], val[400];
	MDB_val k, v;
	int rc;

	key_of(key, sizeof(key), i);
	value_of(val, sizeof(val), i);
	k.mv_size = strlen(key);
	k.mv_data = key;
	v.mv_size = strlen(val);
	v.mv_data = val;
	if ((rc = mdb_put(txn, dbi, &k, &v, 0)) != 0)
		return rc;
	k.mv_size = 7;
	k.mv_data = "counter";
	v.mv_size = sizeof(i);
	v.mv_data = &i;
	if ((rc = mdb_put(txn, dbi, &k, &v, 0)) != 0)
		return rc;
	if (i > FORGET && i % 2 == 0) {
		key_of(key, sizeof(key), i - FORGET);
		k.mv_size = strlen(key);
		k.mv_data = key;
		rc = mdb_del(txn, dbi, &k, NULL);
	}
	return rc;
}

/* Whether key i is in the snapshot after transaction c. */
static int
present(uint32_t i, uint32_t c)
{
	return i <= c && !(i + FORGET <= c && (i + FORGET) % 2 == 0);
}

static MDB_env *
env_open(const char *dir, unsigned flags)
{
	MDB_env *env = NULL;

	if (mdb_env_create(&env) != 0 ||
	    mdb_env_set_mapsize(env, 64u << 20) != 0 ||
	    mdb_env_open(env, dir, flags, 0600) != 0)
		return NULL;
	return env;
}

static void
ack(int fd, uint32_t i)
{
	if (write(fd, &i, sizeof(i)) != sizeof(i))
		_exit(3);
}

/* Transactions 1, 2, ... in an environment opened with flags. */
static void
child_plain(const char *dir, int fd, unsigned flags)
{
	MDB_env *env = env_open(dir, flags);
	MDB_txn *txn;
	MDB_dbi dbi;
	uint32_t i;

	if (env == NULL)
		_exit(2);
	for (i = 1;; i++) {
		if (mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
		    mdb_dbi_open(txn, NULL, 0, &dbi) != 0 ||
		    apply(txn, dbi, i) != 0 || mdb_txn_commit(txn) != 0)
			_exit(2);
		ack(fd, i);
	}
}

/* The child of lmdb_synced: each commit synced. */
static void
child_synced(const char *dir, int fd)
{
	child_plain(dir, fd, 0);
}

/* The child of lmdb_unsynced_loses: never synced. */
static void
child_unsynced(const char *dir, int fd)
{
	child_plain(dir, fd, MDB_NOSYNC);
}

struct logged {
	MDB_env		*env;
	MDB_dbi		 dbi;
	struct redolog	*log;
	MDB_txn		*pin;
	unsigned	 checkpoints;
};

/* A checkpoint, with no commit running. */
static int
checkpoint(struct logged *s)
{
	static uint8_t meta[DBMETA_PAGE_MAX];
	struct store_error err;
	MDB_envinfo info;
	MDB_txn *pin;
	size_t len;

	if (mdb_env_sync(s->env, 1) != 0 ||
	    mdb_env_info(s->env, &info) != 0 ||
	    dbmeta_save(s->env, info.me_last_txnid, meta, sizeof(meta), &len,
	    &err) == -1 ||
	    mdb_txn_begin(s->env, NULL, MDB_RDONLY, &pin) != 0)
		return -1;
	/* In place mostly, in a new file every third time. */
	if (redolog_checkpoint(s->log, info.me_last_txnid, meta, len,
	    ++s->checkpoints % 3 == 0, &err) == -1) {
		mdb_txn_abort(pin);
		return -1;
	}
	/* The new snapshot is the base now; the old one may go. */
	if (s->pin != NULL)
		mdb_txn_abort(s->pin);
	s->pin = pin;
	return 0;
}

/* The child of redo_log. */
static void
child_logged(const char *dir, int fd)
{
	struct logged s = { 0 };
	uint32_t zero = 0;
	MDB_val k = { 7, "counter" }, v = { sizeof(zero), &zero };
	struct store_error err;
	struct iovec iov;
	const void *rec;
	uint64_t txnid, pos;
	MDB_txn *txn;
	uint32_t i;
	size_t len;
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY);

	if (dirfd == -1 || redolog_open(dirfd, &s.log, &err) == -1 ||
	    redolog_next(s.log, &txnid, &rec, &len, &err) != 0 ||
	    (s.env = env_open(dir, MDB_NOSYNC | MDB_NOTLS)) == NULL ||
	    mdb_txn_begin(s.env, NULL, 0, &txn) != 0 ||
	    mdb_dbi_open(txn, NULL, 0, &s.dbi) != 0 ||
	    mdb_put(txn, s.dbi, &k, &v, 0) != 0 || mdb_txn_commit(txn) != 0)
		_exit(2);
	/* The first checkpoint: before it, nothing is acknowledged. */
	if (checkpoint(&s) == -1)
		_exit(2);
	for (i = 1;; i++) {
		if (mdb_txn_begin(s.env, NULL, 0, &txn) != 0 ||
		    apply(txn, s.dbi, i) != 0)
			_exit(2);
		txnid = mdb_txn_id(txn);
		iov.iov_base = &i;
		iov.iov_len = sizeof(i);
		if (mdb_txn_commit(txn) != 0 ||
		    redolog_append(s.log, txnid, &iov, 1, &pos, &err) == -1 ||
		    redolog_sync(s.log, pos, &err) == -1)
			_exit(2);
		ack(fd, i);
		if (i % CHECKPOINT_EVERY == 0 && checkpoint(&s) == -1)
			_exit(2);
	}
}

/*
 * Runs child in a process killed after about `after` acknowledgements;
 * returns the last transaction acknowledged.
 */
static uint32_t
run_killed(void (*child)(const char *, int), const char *dir,
    uint32_t after)
{
	uint32_t i, last = 0;
	int p[2], status;
	pid_t pid;

	CHECK(pipe(p) == 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		crashsim_watch(dir);
		child(dir, p[1]);
		_exit(1);
	}
	close(p[1]);
	while (last < after && read(p[0], &i, sizeof(i)) == sizeof(i))
		last = i;
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	/* Acknowledged before it died: those count too. */
	while (read(p[0], &i, sizeof(i)) == sizeof(i))
		last = i;
	close(p[0]);
	if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		harness_fail(__FILE__, __LINE__, "child ended with status %#x",
		    status);
	CHECK_INT(last >= after, 1);
	return last;
}

/*
 * Checks that the store in env is the snapshot after transaction c, for
 * some c from last on; returns c.
 */
static uint32_t
check_store(MDB_env *env, uint32_t last)
{
	char key[32], val[400];
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	uint32_t c = 0, i, n = 0, want = 0;

	CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
	CHECK(mdb_dbi_open(txn, NULL, 0, &dbi) == 0);
	k.mv_size = 7;
	k.mv_data = "counter";
	if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size == sizeof(c))
		memcpy(&c, v.mv_data, sizeof(c));
	CHECK(c >= last);
	/* Every key of snapshot c, with its value. */
	for (i = 1; i <= c; i++) {
		if (!present(i, c))
			continue;
		want++;
		key_of(key, sizeof(key), i);
		value_of(val, sizeof(val), i);
		k.mv_size = strlen(key);
		k.mv_data = key;
		if (mdb_get(txn, dbi, &k, &v) != 0 ||
		    v.mv_size != strlen(val) ||
		    memcmp(v.mv_data, val, v.mv_size) != 0) {
			CHECK(!"a key of the snapshot is missing or wrong");
			break;
		}
	}
	/* And nothing else (the counter aside). */
	CHECK(mdb_cursor_open(txn, dbi, &cur) == 0);
	while (mdb_cursor_get(cur, &k, &v, n == 0 ? MDB_FIRST : MDB_NEXT) ==
	    0)
		n++;
	CHECK_INT(n, want + 1);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return c;
}

/*
 * Whether the store in dir holds every transaction up to last, checked in
 * a child, since a store a crash damaged may crash its reader.
 */
static int
store_holds(const char *dir, uint32_t last)
{
	MDB_env *env;
	int status;
	pid_t pid;

	if ((pid = fork()) == 0) {
		/* Quiet: a failure here is the expected outcome. */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(1);
		if ((env = env_open(dir, 0)) == NULL)
			_exit(1);
		check_store(env, last);
		_exit(harness_failed_count() > 0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
fresh(char *dir, size_t size, const char *name, int round)
{
	snprintf(dir, size, "%s/%s-%d", harness_tmpdir(), name, round);
	CHECK(mkdir(dir, 0700) == 0);
}

TEST(lmdb_synced)
{
	char dir[512];
	uint32_t last, c;
	MDB_env *env;
	long kept = 0;
	int round;

	for (round = 0; round < ROUNDS; round++) {
		fresh(dir, sizeof(dir), "synced", round);
		last = run_killed(child_synced, dir, 10 + (uint32_t)round * 17);
		kept += crashsim_crash(dir, (uint32_t)round + 1);
		CHECK((env = env_open(dir, 0)) != NULL);
		if (env == NULL)
			continue;
		c = check_store(env, last);
		CHECK(c <= last + 1);
		mdb_env_close(env);
	}
	/* Each commit syncs: a crash rarely finds unsynced writes. */
	(void)kept;
}

TEST(lmdb_unsynced_loses)
{
	char dir[512];
	uint32_t last;
	long kept = 0;
	int round, lost = 0;

	for (round = 0; round < ROUNDS; round++) {
		fresh(dir, sizeof(dir), "unsynced", round);
		last = run_killed(child_unsynced, dir,
		    10 + (uint32_t)round * 17);
		kept += crashsim_crash(dir, (uint32_t)round + 51);
		lost += !store_holds(dir, last);
	}
	CHECK(kept > 0);
	CHECK(lost > 0);
}

/* Recovery of the redo_log store in dir; returns the env or NULL. */
static MDB_env *
recover(const char *dir, int *replayed_r)
{
	struct store_error err;
	struct redolog *log = NULL;
	char path[600];
	const void *meta, *rec;
	uint64_t base, txnid;
	MDB_envinfo info;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint32_t i;
	size_t len;
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY), rc;

	*replayed_r = 0;
	CHECK(dirfd != -1 && redolog_open(dirfd, &log, &err) == 0);
	if (log == NULL)
		return NULL;
	/* The child acknowledged nothing before its first checkpoint. */
	CHECK(redolog_base(log, &base, &meta, &len));
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	CHECK(dbmeta_restore(path, meta, len, &err) == 0);
	CHECK((env = env_open(dir, MDB_NOSYNC | MDB_NOTLS)) != NULL);
	CHECK(mdb_env_info(env, &info) == 0);
	CHECK_INT(info.me_last_txnid, base);
	while ((rc = redolog_next(log, &txnid, &rec, &len, &err)) == 1) {
		CHECK_INT(len, sizeof(i));
		memcpy(&i, rec, sizeof(i));
		CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
		/* Deterministic: each record in the transaction it had. */
		CHECK_INT(mdb_txn_id(txn), txnid);
		CHECK(mdb_dbi_open(txn, NULL, 0, &dbi) == 0);
		CHECK(apply(txn, dbi, i) == 0);
		CHECK(mdb_txn_commit(txn) == 0);
		(*replayed_r)++;
	}
	CHECK_INT(rc, 0);
	CHECK(mdb_env_sync(env, 1) == 0);
	redolog_free(&log);
	close(dirfd);
	return env;
}

TEST(redo_log)
{
	char dir[512];
	uint32_t last, c;
	MDB_env *env;
	long kept = 0;
	int round, replayed, total = 0;

	for (round = 0; round < ROUNDS; round++) {
		fresh(dir, sizeof(dir), "logged", round);
		last = run_killed(child_logged, dir, 10 + (uint32_t)round * 17);
		kept += crashsim_crash(dir, (uint32_t)round + 101);
		if ((env = recover(dir, &replayed)) == NULL)
			continue;
		total += replayed;
		c = check_store(env, last);
		CHECK(c <= last + 1);
		mdb_env_close(env);
	}
	CHECK(kept > 0);
	/* Recovery had records to replay, not only checkpoints. */
	CHECK(total > 0);
}

/*
 * How child_store writes: each record i, then filler bytes of i's
 * pattern; every synced_every-th write one LMDB syncs itself, with the
 * recorded ones its transaction holds; a transaction holds up to `held`
 * recorded writes, each acknowledged before LMDB commits them (as txn.c's
 * writer does); a checkpoint due after due bytes of records (0:
 * DBLOG_CHECKPOINT).
 * Set before the child is forked, and read by the replay after.
 */
static struct {
	size_t		 filler;
	uint32_t	 synced_every;
	uint32_t	 held;
	uint64_t	 due;
} cs;

/* The most filler store_checkpoints writes. */
#define FILLER_MAX		(16u << 10)

/* dblog.h's replay of child_store's records: transaction i again. */
static enum ipc_status
replay_i(struct store_db *db, MDB_txn *txn, const void *p, size_t len,
    struct store_error *err)
{
	const uint8_t *b = p;
	MDB_dbi dbi;
	uint32_t i;
	size_t k;

	(void)db;
	if (len != sizeof(i) + cs.filler ||
	    mdb_dbi_open(txn, NULL, 0, &dbi) != 0)
		return db_error(err, IPC_S_INTERNAL, "bad record");
	memcpy(&i, p, sizeof(i));
	for (k = 0; k < cs.filler; k++)
		if (b[sizeof(i) + k] != (uint8_t)(i + k))
			return db_error(err, IPC_S_INTERNAL, "bad filler");
	return apply(txn, dbi, i) == 0 ? IPC_S_OK : IPC_S_INTERNAL;
}

/* The child of store_durability and store_checkpoints. */
static void
child_store(const char *dir, int fd)
{
	static uint8_t fill[FILLER_MAX];
	struct store_error err;
	struct store_db db;
	struct buf rec = BUF_INIT;
	struct iovec iov;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	uint32_t i, n = 0, zero = 0;
	size_t at, k;

	if (db_env_open(&db, dir, 64u << 20, &err) == -1 ||
	    db_begin(&db, true, &txn, &err) != IPC_S_OK ||
	    mdb_dbi_open(txn, NULL, 0, &dbi) != 0 ||
	    mdb_put(txn, dbi, &(MDB_val){ 7, "counter" },
	    &(MDB_val){ sizeof(zero), &zero }, 0) != 0 ||
	    db_commit(&txn, &err) != IPC_S_OK ||
	    dblog_recover(&db, &err) == -1)
		_exit(2);
	if (cs.due != 0)
		dblog_set_due(&db, cs.due);
	for (i = 1;; i++) {
		if ((txn == NULL && db_begin(&db, true, &txn, &err) !=
		    IPC_S_OK) || apply(txn, dbi, i) != 0)
			_exit(2);
		/* A record of one operation, as replay_i reads it. */
		buf_reset(&rec);
		at = dblog_entry_begin(&rec);
		buf_append(&rec, &i, sizeof(i));
		for (k = 0; k < cs.filler; k++)
			fill[k] = (uint8_t)(i + k);
		buf_append(&rec, fill, cs.filler);
		dblog_entry_end(&rec, at);
		iov.iov_base = rec.data;
		iov.iov_len = rec.len;
		if (i % cs.synced_every == 0) {
			if (db_commit(&txn, &err) != IPC_S_OK)
				_exit(2);
			n = 0;
		} else if (db_record(txn, &iov, 1, &err) == -1)
			_exit(2);
		else if (++n == cs.held) {
			db_commit_recorded(&txn);
			n = 0;
		}
		ack(fd, i);
	}
}

/*
 * ROUNDS crashes of child_store (in directories name-<round>), the first
 * after `after` acknowledgements and each next one step later, each
 * followed by recovery and check_store.  Returns how many records were
 * replayed in all; *spares counts the crashes that found a redo-spare.
 */
static int
store_rounds(const char *name, uint32_t after, uint32_t step,
    uint32_t seed, int *spares)
{
	struct dblog_stats st;
	struct store_error err;
	struct store_db db;
	struct stat sb;
	char dir[512], spare[600];
	uint32_t last, c;
	long kept = 0;
	int round, replayed = 0;

	dblog_set_replay(replay_i);
	*spares = 0;
	for (round = 0; round < ROUNDS; round++) {
		fresh(dir, sizeof(dir), name, round);
		last = run_killed(child_store, dir,
		    after + (uint32_t)round * step);
		snprintf(spare, sizeof(spare), "%s/redo-spare", dir);
		*spares += stat(spare, &sb) == 0;
		kept += crashsim_crash(dir, (uint32_t)round + seed);
		CHECK(db_env_open(&db, dir, 64u << 20, &err) == 0);
		if (db.env == NULL)
			continue;
		CHECK(dblog_recover(&db, &err) == 0);
		dblog_stats(&db, &st);
		replayed += (int)st.replayed;
		c = check_store(db.env, last);
		CHECK(c <= last + 1);
		db_close(&db);
	}
	CHECK(kept > 0);
	return replayed;
}

TEST(store_durability)
{
	int spares;

	cs.filler = 0;
	cs.synced_every = 7;
	cs.held = 1;
	cs.due = 0;
	CHECK(store_rounds("store", 10, 17, 201, &spares) > 0);
}

/* Records acknowledged in a transaction LMDB has not committed yet. */
TEST(store_held)
{
	int spares;

	cs.filler = 0;
	cs.synced_every = 31;
	cs.held = 6;
	cs.due = 0;
	CHECK(store_rounds("held", 10, 19, 251, &spares) > 0);
}

TEST(store_checkpoints)
{
	int spares;

	cs.filler = FILLER_MAX;
	cs.synced_every = 389;
	cs.held = 4;
	cs.due = 3u << 19;
	CHECK(store_rounds("ckpt", 150, 41, 301, &spares) > 0);
	/* Files were retired to the spare, and later files made of it. */
	CHECK(spares > 0);
}

int
main(int argc, char **argv)
{
	static const struct harness_test tests[] = {
		TEST_ENTRY(lmdb_synced),
		TEST_ENTRY(lmdb_unsynced_loses),
		TEST_ENTRY(redo_log),
		TEST_ENTRY(store_durability),
		TEST_ENTRY(store_held),
		TEST_ENTRY(store_checkpoints),
	};

	return harness_main(argc, argv, tests,
	    sizeof(tests) / sizeof(tests[0]));
}
