/* SPDX-License-Identifier: ISC */
/*
 * db.c: opening the LMDB environment, transactions and error reporting for
 * the store modules (layout in db.h).
 */
#include "db.h"
#include "blobfile.h"
#include "dblog.h"
#include "compat.h"
#include "log.h"
#include "schema.h"
#include "wire.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum ipc_status
db_error(struct store_error *err, enum ipc_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return st;
}

enum ipc_status
db_mdb_error(struct store_error *err, int rc, const char *what)
{
	if (rc == MDB_MAP_FULL) {
		log_warnx("store full during %s: raise storage map-size", what);
		return db_error(err, IPC_S_TOOBIG,
		    "the store is full (storage map-size)");
	}
	log_warnx("store error during %s: %s", what, mdb_strerror(rc));
	return db_error(err, IPC_S_INTERNAL, "store error during %s: %s",
	    what, mdb_strerror(rc));
}

int
db_env_open(struct store_db *db, const char *dir, uint64_t map_size,
    struct store_error *err)
{
	int rc, dead;

	memset(db, 0, sizeof(*db));
	pthread_mutex_init(&db->held.mtx, NULL);
	pthread_cond_init(&db->held.cond, NULL);
	db->held.init = true;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		db_error(err, IPC_S_INTERNAL, "mkdir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	/*
	 * Before LMDB reads its meta pages: after a crash, the checkpoint's
	 * go back.
	 */
	if (dblog_open(db, dir, err) == -1)
		return -1;
	/*
	 * No syncs (dblog.h makes commits durable); read transactions tied
	 * to themselves, not to threads, so that the checkpoint's reader may
	 * stay open on any thread.
	 */
	if ((rc = mdb_env_create(&db->env)) != 0 ||
	    (rc = mdb_env_set_mapsize(db->env, (size_t)map_size)) != 0 ||
	    (rc = mdb_env_set_maxdbs(db->env, DB_MAXDBS)) != 0 ||
	    (rc = mdb_env_open(db->env, dir, MDB_NOSYNC | MDB_NOTLS,
	    0600)) != 0) {
		db_error(err, IPC_S_INTERNAL, "opening the store in %s: %s",
		    dir, mdb_strerror(rc));
		db_close(db);
		return -1;
	}
	/* db_commit finds the blob files through the environment. */
	mdb_env_set_userctx(db->env, db);
	/* Reader slots left by a storaged that was killed. */
	if (mdb_reader_check(db->env, &dead) == 0 && dead > 0)
		log_info("store cleared stale readers count=%d", dead);
	return 0;
}

int
db_open(struct store_db *db, const char *dir, uint64_t map_size,
    struct store_error *err)
{
	uint32_t v;

	if (db_env_open(db, dir, map_size, err) == -1)
		return -1;
	if (schema_stored_version(db, &v, err) == -1)
		goto fail;
	/*
	 * Records a storaged of version SCHEMA_REPLAY_MIN or later left are
	 * replayed on the layout they were written for, then the store is
	 * migrated; older ones are migrated first, as they always were.
	 */
	if (v >= SCHEMA_REPLAY_MIN && v <= SCHEMA_VERSION) {
		if (schema_open_dbis_at(db, v, err) == -1 ||
		    blobfile_open(db, dir, err) == -1 ||
		    dblog_recover(db, err) == -1 ||
		    schema_upgrade(db, err) == -1 ||
		    schema_open_dbis(db, err) == -1)
			goto fail;
	} else if (schema_upgrade(db, err) == -1 ||
	    schema_open_dbis(db, err) == -1 ||
	    blobfile_open(db, dir, err) == -1 || dblog_recover(db, err) == -1)
		goto fail;
	return 0;
fail:
	db_close(db);
	return -1;
}

void
db_close(struct store_db *db)
{
	/* Its last checkpoint, and its reader, before the environment. */
	dblog_close(db);
	blobfile_close(db);
	if (db->env != NULL)
		mdb_env_close(db->env);
	if (db->held.init) {
		pthread_cond_destroy(&db->held.cond);
		pthread_mutex_destroy(&db->held.mtx);
	}
	memset(db, 0, sizeof(*db));
}

static _Thread_local bool db_exempt;

bool
db_held_exempt(bool exempt)
{
	bool was = db_exempt;

	db_exempt = exempt;
	return was;
}

void
db_held_set(struct store_db *db, void (*poke)(void *), void *arg)
{
	pthread_mutex_lock(&db->held.mtx);
	/* The writer's poke is not called once it is gone. */
	while (db->held.poking > 0)
		pthread_cond_wait(&db->held.cond, &db->held.mtx);
	db->held.poke = poke;
	db->held.arg = arg;
	db->held.open = false;
	__atomic_store_n(&db->held.acked, false, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&db->held.cond);
	pthread_mutex_unlock(&db->held.mtx);
}

/*
 * Before a transaction begins outside the writer's threads: a reader
 * waits for the commit of the acknowledged operations the writer holds,
 * and a writer only asks for it (the commit lock makes it wait; it is
 * counted until it has the lock, and the writer yields the lock).
 * Returns whether it counted a writer.
 */
static bool
db_held_wait(struct db_held *h, bool write)
{
	void (*poke)(void *) = NULL;
	void *arg = NULL;

	if (!h->init)
		return false;
	/*
	 * The usual read: nothing acknowledged is held.  An operation is
	 * acknowledged only after acked is stored, so a read that begins
	 * after its acknowledgement sees it here (db.h).
	 */
	if (!write && !__atomic_load_n(&h->acked, __ATOMIC_ACQUIRE))
		return false;
	pthread_mutex_lock(&h->mtx);
	if (h->poke == NULL) {
		pthread_mutex_unlock(&h->mtx);
		return false;
	}
	if (write ? h->open : h->acked) {
		poke = h->poke;
		arg = h->arg;
		h->poking++;
	}
	if (write)
		h->writers++;
	pthread_mutex_unlock(&h->mtx);
	if (poke == NULL)
		return write;
	poke(arg);
	pthread_mutex_lock(&h->mtx);
	if (--h->poking == 0)
		pthread_cond_broadcast(&h->cond);
	while (!write && h->acked)
		pthread_cond_wait(&h->cond, &h->mtx);
	pthread_mutex_unlock(&h->mtx);
	return write;
}

enum ipc_status
db_begin(struct store_db *db, bool write, MDB_txn **txn_r,
    struct store_error *err)
{
	bool counted;
	int rc;

	*txn_r = NULL;
	counted = !db_exempt && db_held_wait(&db->held, write);
	if (write) {
		dblog_lock(db);
		if (counted) {
			pthread_mutex_lock(&db->held.mtx);
			db->held.writers--;
			pthread_mutex_unlock(&db->held.mtx);
		}
		rc = mdb_txn_begin(db->env, NULL, 0, txn_r);
		if (rc == 0)
			db->write_txn = *txn_r;
		else
			dblog_unlock(db);
	} else if (db->files != NULL)
		rc = blobfile_reader_begin(db->files, db->env, txn_r);
	else
		rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, txn_r);
	if (rc != 0) {
		*txn_r = NULL;
		return db_mdb_error(err, rc, "begin");
	}
	return IPC_S_OK;
}

/* How a write transaction becomes durable (dblog.h). */
enum db_durable {
	DB_SYNCED,		/* by LMDB's own sync, in its commit */
	DB_RECORDED,		/* by its records, synced before (db_record) */
	DB_REPLAYED		/* by dblog_recover's checkpoint */
};

static enum ipc_status db_commit_mode(MDB_txn **txn, enum db_durable mode,
    struct store_error *err);

enum ipc_status
db_commit(MDB_txn **txn, struct store_error *err)
{
	return db_commit_mode(txn, DB_SYNCED, err);
}

void
db_commit_recorded(MDB_txn **txn)
{
	struct store_error err;

	if (db_commit_mode(txn, DB_RECORDED, &err) != IPC_S_OK)
		fatalx("%s", err.text);
}

enum ipc_status
db_commit_replayed(MDB_txn **txn, struct store_error *err)
{
	return db_commit_mode(txn, DB_REPLAYED, err);
}

int
db_record(MDB_txn *txn, const struct iovec *iov, int iovcnt,
    struct store_error *err)
{
	struct store_db *db = mdb_env_get_userctx(mdb_txn_env(txn));
	uint64_t id = mdb_txn_id(txn), mark;
	struct timespec t0, t1, t2;
	bool traced = LOG_IS_TRACE(LOG_TRACE_TXN);

	if (db == NULL || db->write_txn != txn)
		return db_error(err, IPC_S_INTERNAL, "a record of no "
		    "writer's transaction"), -1;
	if (traced)
		clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Files renamed into blobs/ must be there before what names them. */
	if (db->files != NULL &&
	    blobfile_pre_commit(db->files, id, &mark, err) == -1)
		return -1;
	if (traced)
		clock_gettime(CLOCK_MONOTONIC, &t1);
	if (dblog_append(db, id, iov, iovcnt, err) == -1) {
		log_warnx("redo log: %s", err->text);
		return -1;
	}
	if (traced) {
		clock_gettime(CLOCK_MONOTONIC, &t2);
		log_trace(LOG_TRACE_TXN, "txn record usec=%lld files=%lld "
		    "log=%lld", db_usec(&t0, &t2), db_usec(&t0, &t1),
		    db_usec(&t1, &t2));
	}
	return 0;
}

/* Ends write transaction t's hold on the commit lock. */
static void
db_write_end(struct store_db *db, MDB_txn *t)
{
	if (db != NULL && db->write_txn == t) {
		db->write_txn = NULL;
		dblog_unlock(db);
	}
}

long long
db_usec(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000000 +
	    (b->tv_nsec - a->tv_nsec) / 1000;
}

static enum ipc_status
db_commit_mode(MDB_txn **txn, enum db_durable mode, struct store_error *err)
{
	struct timespec t0, t1, t2, t4;
	MDB_txn *t = *txn;
	struct store_db *db = mdb_env_get_userctx(mdb_txn_env(t));
	uint64_t id = mdb_txn_id(t), mark = 0;
	bool files, reader, write;
	MDB_envinfo info;
	int rc;

	*txn = NULL;
	write = db != NULL && db->write_txn == t;
	files = db != NULL && db->files != NULL;
	reader = files && blobfile_is_reader(db->files, t);
	if (LOG_IS_TRACE(LOG_TRACE_TXN))
		clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Files renamed into blobs/ must be there before what names them. */
	if (files && !reader &&
	    blobfile_pre_commit(db->files, id, &mark, err) == -1) {
		mdb_txn_abort(t);
		db_write_end(db, t);
		return IPC_S_INTERNAL;
	}
	if (LOG_IS_TRACE(LOG_TRACE_TXN))
		clock_gettime(CLOCK_MONOTONIC, &t2);
	if (write && mode == DB_SYNCED) {
		dblog_synced_begin(db);
		rc = mdb_txn_commit(t);
		dblog_synced_end(db, rc == 0 && mdb_env_info(db->env, &info) ==
		    0 && info.me_last_txnid == id);
	} else
		rc = mdb_txn_commit(t);
	if (LOG_IS_TRACE(LOG_TRACE_TXN))
		clock_gettime(CLOCK_MONOTONIC, &t4);
	/* A read transaction ends here (t is only compared). */
	if (reader)
		blobfile_reader_end(db, t);
	if (rc != 0) {
		/* Its records say it happened: recovery will make it so. */
		if (write && mode == DB_RECORDED)
			fatalx("commit of txn %llu failed after its records: "
			    "%s", (unsigned long long)id, mdb_strerror(rc));
		db_write_end(db, t);
		return db_mdb_error(err, rc, "commit");
	}
	/*
	 * Durable now, or never acknowledged: a sync that fails leaves
	 * nothing to trust, and recovery starts over from the disk.
	 */
	if (write && mode == DB_RECORDED && dblog_due(db) &&
	    dblog_checkpoint_start(db, err) == -1)
		fatalx("store checkpoint failed: %s", err->text);
	if (write)
		db_write_end(db, t);
	/* And files are unlinked only once the commit is durable. */
	if (files && !reader)
		blobfile_post_commit(db, mark);
	if (LOG_IS_TRACE(LOG_TRACE_TXN)) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_trace(LOG_TRACE_TXN, "txn commit usec=%lld files=%lld "
		    "lmdb=%lld synced=%d", db_usec(&t0, &t1),
		    db_usec(&t0, &t2), db_usec(&t2, &t4), mode == DB_SYNCED);
	}
	return IPC_S_OK;
}

void
db_abort(MDB_txn **txn)
{
	struct store_db *db;

	if (*txn == NULL)
		return;
	db = mdb_env_get_userctx(mdb_txn_env(*txn));
	mdb_txn_abort(*txn);
	/* After the abort: the snapshot is let go first. */
	if (db != NULL && db->files != NULL)
		blobfile_reader_end(db, *txn);
	db_write_end(db, *txn);
	*txn = NULL;
}

enum ipc_status
db_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *v,
    struct store_error *err)
{
	MDB_val k = { strlen(key), (void *)key }, d;
	int rc;

	if ((rc = mdb_get(txn, dbi, &k, &d)) == MDB_NOTFOUND)
		return IPC_S_NOTFOUND;
	if (rc != 0)
		return db_mdb_error(err, rc, key);
	if (d.mv_size != 8)
		return db_error(err, IPC_S_INTERNAL, "corrupt meta value %s",
		    key);
	*v = wire_be64_get(d.mv_data);
	return IPC_S_OK;
}

enum ipc_status
db_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t v,
    struct store_error *err)
{
	uint8_t b[8];
	MDB_val k = { strlen(key), (void *)key }, d = { sizeof(b), b };
	int rc;

	wire_be64_put(b, v);
	if ((rc = mdb_put(txn, dbi, &k, &d, 0)) != 0)
		return db_mdb_error(err, rc, key);
	return IPC_S_OK;
}

enum ipc_status
db_scan(MDB_txn *txn, MDB_dbi dbi, const void *pre, size_t plen,
    db_scan_fn *fn, void *arg, struct store_error *err)
{
	MDB_cursor *cur;
	MDB_val k = { plen, (void *)pre }, d;
	MDB_cursor_op op = plen > 0 ? MDB_SET_RANGE : MDB_FIRST;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return db_mdb_error(err, rc, "cursor");
	for (; (rc = mdb_cursor_get(cur, &k, &d, op)) == 0; op = MDB_NEXT) {
		if (plen > 0 && (k.mv_size < plen ||
		    memcmp(k.mv_data, pre, plen) != 0))
			break;
		if (fn(&k, &d, arg) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "scan");
	return IPC_S_OK;
}

enum ipc_status
db_scan_dups(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
    db_scan_fn *fn, void *arg, struct store_error *err)
{
	MDB_cursor *cur;
	MDB_val k = { klen, (void *)key }, d;
	MDB_cursor_op op = MDB_SET_KEY;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return db_mdb_error(err, rc, "cursor");
	for (; (rc = mdb_cursor_get(cur, &k, &d, op)) == 0;
	    op = MDB_NEXT_DUP)
		if (fn(&k, &d, arg) != 0)
			break;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "scan");
	return IPC_S_OK;
}

int
db_seq_get(MDB_txn *txn, MDB_dbi dbi, struct db_seq *seq, const MDB_val *key,
    MDB_val *data)
{
	MDB_val k, d;
	int rc;

	if (seq == NULL) {
		k = *key;
		return mdb_get(txn, dbi, &k, data);
	}
	if (seq->c == NULL && (rc = mdb_cursor_open(txn, dbi, &seq->c)) != 0)
		return rc;
	if (seq->at && mdb_cursor_get(seq->c, &k, &d, MDB_NEXT) == 0 &&
	    k.mv_size == key->mv_size &&
	    memcmp(k.mv_data, key->mv_data, k.mv_size) == 0) {
		*data = d;
		return 0;
	}
	k = *key;
	rc = mdb_cursor_get(seq->c, &k, &d, MDB_SET_KEY);
	seq->at = rc == 0;
	if (rc == 0)
		*data = d;
	return rc;
}

void
db_seq_close(struct db_seq *seq)
{
	if (seq->c != NULL)
		mdb_cursor_close(seq->c);
	seq->c = NULL;
	seq->at = false;
}
