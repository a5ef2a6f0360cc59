/* SPDX-License-Identifier: ISC */
/*
 * dblog.c: the store's durability through the redo log and checkpoints
 * (see dblog.h).  A record is the batch's operations one after the other,
 * each as u32 length (little-endian) and its log function's bytes.
 */
#include "dblog.h"
#include "buf.h"
#include "dbmeta.h"
#include "log.h"
#include "redolog.h"
#include "xmalloc.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * A checkpoint made by the checkpoint thread: begun by the writer (its
 * snapshot pinned, its meta page read, the log rotated), finished by the
 * thread (LMDB's file synced, the header written, the pins swapped).
 */
struct dblog_bg {
	pthread_t		 thread;
	bool			 started;
	pthread_cond_t		 cond;
	bool			 busy;		/* one is being made */
	bool			 quit;
	uint64_t		 txnid;
	MDB_txn			*pin;
	size_t			 len;
	uint8_t			 meta[DBMETA_PAGE_MAX];
};

struct dblog {
	int			 dirfd;
	struct store_db		*db;
	struct redolog		*log;
	pthread_mutex_t		 lock;
	/*
	 * Guards pin, base, stale and st against the checkpoint thread,
	 * and bg.
	 */
	pthread_mutex_t		 mtx;
	/* A read transaction on the last checkpoint's snapshot. */
	MDB_txn			*pin;
	uint64_t		 base;		/* its transaction id */
	/*
	 * A synced commit came after the base: the store is durable as it
	 * is, but the next record needs a checkpoint first.
	 */
	bool			 stale;
	/* Records up to this id are in the store as opened. */
	uint64_t		 skip;
	/* Bytes of records in the newest file that make a checkpoint due. */
	uint64_t		 due;
	struct dblog_stats	 st;
	uint8_t			 meta[DBMETA_PAGE_MAX];
	struct dblog_bg		 bg;
};

static dblog_replay_fn *dblog_replay;

void
dblog_set_replay(dblog_replay_fn *fn)
{
	dblog_replay = fn;
}

/*
 * The newest transaction id of the meta pages of path, pages of psize
 * bytes; 0 if the file is missing or holds no meta page.
 */
static uint64_t
dblog_file_txnid(const char *path, size_t psize)
{
	uint8_t *page = xmalloc(psize);
	uint64_t best = 0, t;
	unsigned k;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		for (k = 0; k < 2; k++)
			if (pread(fd, page, psize, (off_t)(k * psize)) ==
			    (ssize_t)psize && (t = dbmeta_txnid(page, psize)) >
			    best)
				best = t;
		close(fd);
	}
	free(page);
	return best;
}

int
dblog_open(struct store_db *db, const char *dir, struct store_error *err)
{
	struct dblog *d = xcalloc(1, sizeof(*d));
	const void *meta;
	char path[PATH_MAX];
	struct stat sb;
	uint64_t newest, last;
	size_t len;
	int rc;

	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->mtx, NULL);
	pthread_cond_init(&d->bg.cond, NULL);
	d->db = db;
	d->due = DBLOG_CHECKPOINT;
	d->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd == -1) {
		db_error(err, IPC_S_INTERNAL, "opening %s: %s", dir,
		    strerror(errno));
		goto fail;
	}
	if (redolog_open(d->dirfd, &d->log, err) == -1)
		goto fail;
	/* With nothing to replay, recovery is over (and writes may start). */
	if ((rc = redolog_peek(d->log, err)) == -1)
		goto fail;
	if (!redolog_base(d->log, &d->base, &meta, &len)) {
		/* A new store, or one from before the log. */
		if (rc == 1) {
			db_error(err, IPC_S_INTERNAL, "the redo log has "
			    "records but no checkpoint");
			goto fail;
		}
	} else {
		snprintf(path, sizeof(path), "%s/data.mdb", dir);
		if (stat(path, &sb) == -1) {
			db_error(err, IPC_S_INTERNAL, "%s is missing, but its "
			    "redo log is there", path);
			goto fail;
		}
		newest = dblog_file_txnid(path, len);
		if (redolog_scan(d->log, &last, err) == -1)
			goto fail;
		d->st.unclean = newest != d->base;
		if (newest > d->base && newest > last) {
			/*
			 * The newest commit has no record: a synced one (its
			 * pages on disk before its meta page, as LMDB does),
			 * after which nothing committed without a checkpoint:
			 * the store is whole as it is.
			 */
			d->skip = newest;
			log_info("store opens at its last synced commit "
			    "txn=%llu (checkpoint %llu)",
			    (unsigned long long)newest,
			    (unsigned long long)d->base);
		} else {
			/*
			 * Whatever LMDB wrote after the checkpoint may have
			 * reached the disk in part: the store restarts from
			 * the checkpoint and replays the records after it.
			 */
			if (d->st.unclean) {
				log_info("store restarts from its checkpoint "
				    "txn=%llu (the file was at %llu)",
				    (unsigned long long)d->base,
				    (unsigned long long)newest);
				if (dbmeta_restore(path, meta, len, err) == -1)
					goto fail;
			}
		}
	}
	db->log = d;
	return 0;
fail:
	redolog_free(&d->log);
	if (d->dirfd != -1)
		close(d->dirfd);
	pthread_mutex_destroy(&d->lock);
	pthread_mutex_destroy(&d->mtx);
	pthread_cond_destroy(&d->bg.cond);
	free(d);
	return -1;
}

void
dblog_lock(struct store_db *db)
{
	if (db->log != NULL)
		pthread_mutex_lock(&db->log->lock);
}

void
dblog_unlock(struct store_db *db)
{
	if (db->log != NULL)
		pthread_mutex_unlock(&db->log->lock);
}

/*
 * With the commit lock: the store's last transaction as a checkpoint's
 * snapshot: its id, its meta page (into meta, cap bytes, *len_r long) and
 * a read transaction pinned on it.  Returns 0, or -1 with err.
 */
static int
dblog_snapshot(struct store_db *db, uint64_t *txnid_r, void *meta,
    size_t cap, size_t *len_r, MDB_txn **pin_r, struct store_error *err)
{
	MDB_envinfo info;
	MDB_txn *pin;
	int rc;

	if ((rc = mdb_env_info(db->env, &info)) != 0)
		return db_mdb_error(err, rc, "checkpoint"), -1;
	if (dbmeta_save(db->env, info.me_last_txnid, meta, cap, len_r,
	    err) == -1)
		return -1;
	/* Begun now, with nothing committing: the snapshot saved. */
	if ((rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &pin)) != 0)
		return db_mdb_error(err, rc, "checkpoint reader"), -1;
	if (mdb_txn_id(pin) != info.me_last_txnid) {
		mdb_txn_abort(pin);
		return db_error(err, IPC_S_INTERNAL, "checkpoint: the store "
		    "moved"), -1;
	}
	*txnid_r = info.me_last_txnid;
	*pin_r = pin;
	return 0;
}

int
dblog_checkpoint(struct store_db *db, bool new_file, struct store_error *err)
{
	struct dblog *d = db->log;
	MDB_envinfo info;
	MDB_txn *pin;
	uint64_t txnid;
	size_t len;
	int rc;

	if (d == NULL)
		return 0;
	/* One at a time: the thread's first. */
	pthread_mutex_lock(&d->mtx);
	while (d->bg.busy)
		pthread_cond_wait(&d->bg.cond, &d->mtx);
	pthread_mutex_unlock(&d->mtx);
	if ((rc = mdb_env_info(db->env, &info)) != 0)
		return db_mdb_error(err, rc, "checkpoint"), -1;
	if (info.me_last_txnid == d->base && d->pin != NULL && !new_file &&
	    !d->stale)
		return 0;	/* nothing committed since */
	if ((rc = mdb_env_sync(db->env, 1)) != 0)
		return db_error(err, IPC_S_INTERNAL, "checkpoint: sync: %s",
		    mdb_strerror(rc)), -1;
	if (dblog_snapshot(db, &txnid, d->meta, sizeof(d->meta), &len, &pin,
	    err) == -1)
		return -1;
	if (redolog_checkpoint(d->log, txnid, d->meta, len, new_file,
	    err) == -1) {
		mdb_txn_abort(pin);
		return -1;
	}
	/* The old snapshot's pages may be reused from now on. */
	pthread_mutex_lock(&d->mtx);
	if (d->pin != NULL)
		mdb_txn_abort(d->pin);
	d->pin = pin;
	d->base = txnid;
	d->stale = false;
	d->st.checkpoints++;
	pthread_mutex_unlock(&d->mtx);
	return 0;
}

/* The checkpoint thread: finishes what dblog_checkpoint_start began. */
static void *
dblog_bg_thread(void *arg)
{
	struct dblog *d = arg;
	struct store_error err;
	MDB_txn *old;
	int fd, rc;

	pthread_mutex_lock(&d->mtx);
	for (;;) {
		while (!d->bg.busy && !d->bg.quit)
			pthread_cond_wait(&d->bg.cond, &d->mtx);
		if (!d->bg.busy)
			break;
		pthread_mutex_unlock(&d->mtx);
		/*
		 * Every page of the snapshot was written before it was
		 * pinned; what LMDB writes meanwhile goes elsewhere.
		 */
		if ((rc = mdb_env_get_fd(d->db->env, &fd)) != 0 ||
		    fdatasync(fd) == -1)
			fatalx("store checkpoint: sync: %s", rc != 0 ?
			    mdb_strerror(rc) : strerror(errno));
		if (redolog_checkpoint(d->log, d->bg.txnid, d->bg.meta,
		    d->bg.len, false, &err) == -1)
			fatalx("store checkpoint failed: %s", err.text);
		pthread_mutex_lock(&d->mtx);
		/* The old snapshot's pages may be reused from now on. */
		old = d->pin;
		d->pin = d->bg.pin;
		d->bg.pin = NULL;
		d->base = d->bg.txnid;
		d->st.checkpoints++;
		if (old != NULL)
			mdb_txn_abort(old);
		d->bg.busy = false;
		pthread_cond_broadcast(&d->bg.cond);
	}
	pthread_mutex_unlock(&d->mtx);
	return NULL;
}

int
dblog_checkpoint_start(struct store_db *db, struct store_error *err)
{
	struct dblog *d = db->log;
	MDB_txn *pin;
	uint64_t txnid;
	bool busy;
	int rc;

	if (d == NULL)
		return 0;
	pthread_mutex_lock(&d->mtx);
	busy = d->bg.busy;
	pthread_mutex_unlock(&d->mtx);
	if (busy)
		return 0;	/* due again after it */
	if (!d->bg.started) {
		if ((rc = pthread_create(&d->bg.thread, NULL, dblog_bg_thread,
		    d)) != 0)
			return db_error(err, IPC_S_INTERNAL, "checkpoint "
			    "thread: %s", strerror(rc)), -1;
		d->bg.started = true;
	}
	/* Its meta page, read before anything else commits. */
	if (dblog_snapshot(db, &txnid, d->bg.meta, sizeof(d->bg.meta),
	    &d->bg.len, &pin, err) == -1)
		return -1;
	/* The records after the snapshot go to a file of their own. */
	if (redolog_rotate(d->log, err) == -1) {
		mdb_txn_abort(pin);
		return -1;
	}
	pthread_mutex_lock(&d->mtx);
	d->bg.txnid = txnid;
	d->bg.pin = pin;
	d->bg.busy = true;
	pthread_cond_broadcast(&d->bg.cond);
	pthread_mutex_unlock(&d->mtx);
	return 0;
}

/* Waits for the thread's checkpoint, and ends the thread. */
static void
dblog_bg_stop(struct dblog *d)
{
	if (!d->bg.started)
		return;
	pthread_mutex_lock(&d->mtx);
	d->bg.quit = true;
	pthread_cond_broadcast(&d->bg.cond);
	pthread_mutex_unlock(&d->mtx);
	pthread_join(d->bg.thread, NULL);
	d->bg.started = false;
}

void
dblog_synced_begin(struct store_db *db)
{
	if (db->log != NULL)
		(void)mdb_env_set_flags(db->env, MDB_NOSYNC, 0);
}

void
dblog_synced_end(struct store_db *db, bool committed)
{
	struct dblog *d = db->log;

	if (d == NULL)
		return;
	(void)mdb_env_set_flags(db->env, MDB_NOSYNC, 1);
	if (!committed)
		return;
	/*
	 * Durable by LMDB's own sync: recovery needs no older snapshot,
	 * and the pin would only keep LMDB from reusing pages (a
	 * checkpoint the thread is making pins its own, kept until the
	 * next one).
	 */
	pthread_mutex_lock(&d->mtx);
	d->stale = true;
	if (d->pin != NULL) {
		mdb_txn_abort(d->pin);
		d->pin = NULL;
	}
	pthread_mutex_unlock(&d->mtx);
}

bool
dblog_due(struct store_db *db)
{
	return db->log != NULL &&
	    redolog_tail_bytes(db->log->log) >= db->log->due;
}

void
dblog_set_due(struct store_db *db, uint64_t bytes)
{
	if (db->log != NULL)
		db->log->due = bytes;
}

int
dblog_append(struct store_db *db, uint64_t txnid, const struct iovec *iov,
    int iovcnt, struct store_error *err)
{
	struct dblog *d = db->log;
	uint64_t pos;
	bool need;

	if (d == NULL)
		return db_error(err, IPC_S_INTERNAL, "no redo log"), -1;
	/* The record's replay starts from the store as it is now. */
	pthread_mutex_lock(&d->mtx);
	need = d->stale || d->pin == NULL;
	pthread_mutex_unlock(&d->mtx);
	if (need && dblog_checkpoint(db, false, err) == -1)
		return -1;
	if (redolog_append(d->log, txnid, iov, iovcnt, &pos, err) == -1)
		return -1;
	/*
	 * A failed sync leaves the record's fate unknown (the kernel may
	 * have dropped the pages it could not write), and the next
	 * transaction would take its id: recovery at the next start
	 * decides, as for a delivery in flight when storaged dies.
	 */
	if (redolog_sync(d->log, pos, err) == -1)
		fatalx("redo log: %s", err->text);
	d->st.records++;
	return 0;
}

size_t
dblog_entry_begin(struct buf *b)
{
	size_t at = b->len;

	buf_append(b, "\0\0\0\0", 4);
	return at;
}

void
dblog_entry_end(struct buf *b, size_t at)
{
	size_t n = b->len - at - 4;

	b->data[at] = (uint8_t)n;
	b->data[at + 1] = (uint8_t)(n >> 8);
	b->data[at + 2] = (uint8_t)(n >> 16);
	b->data[at + 3] = (uint8_t)(n >> 24);
}

int
dblog_entry_next(const uint8_t **p, size_t *len, const uint8_t **entry_r,
    size_t *elen_r)
{
	uint32_t n;

	if (*len == 0)
		return 0;
	if (*len < 4)
		return -1;
	n = (uint32_t)(*p)[0] | (uint32_t)(*p)[1] << 8 |
	    (uint32_t)(*p)[2] << 16 | (uint32_t)(*p)[3] << 24;
	if (n > *len - 4)
		return -1;
	*entry_r = *p + 4;
	*elen_r = n;
	*p += 4 + (size_t)n;
	*len -= 4 + (size_t)n;
	return 1;
}

/* Replays the operations of one record in write transaction txn. */
static enum ipc_status
dblog_replay_record(struct store_db *db, MDB_txn *txn, const uint8_t *p,
    size_t len, struct store_error *err)
{
	const uint8_t *e;
	enum ipc_status st;
	MDB_txn *child;
	size_t n;
	int rc;

	while ((rc = dblog_entry_next(&p, &len, &e, &n)) == 1) {
		/* As the writer applied it: in a nested transaction. */
		if ((rc = mdb_txn_begin(db->env, txn, 0, &child)) != 0)
			return db_mdb_error(err, rc, "replay");
		if ((st = dblog_replay(db, child, e, n, err)) != IPC_S_OK) {
			mdb_txn_abort(child);
			return st;
		}
		if ((rc = mdb_txn_commit(child)) != 0)
			return db_mdb_error(err, rc, "replay");
	}
	if (rc == -1)
		return db_error(err, IPC_S_INTERNAL, "redo record cut");
	return IPC_S_OK;
}

int
dblog_recover(struct store_db *db, struct store_error *err)
{
	struct dblog *d = db->log;
	struct store_error e2;
	enum ipc_status st;
	const void *rec;
	uint64_t txnid;
	MDB_txn *txn = NULL;
	size_t len;
	int rc;

	if (d == NULL)
		return 0;
	while ((rc = redolog_next(d->log, &txnid, &rec, &len, err)) == 1) {
		if (txnid <= d->skip)
			continue;
		if (dblog_replay == NULL) {
			db_error(err, IPC_S_INTERNAL, "the redo log has "
			    "records and nothing here replays them");
			return -1;
		}
		/* The records of one transaction follow each other. */
		if (txn != NULL && mdb_txn_id(txn) != txnid &&
		    db_commit_replayed(&txn, err) != IPC_S_OK)
			return -1;
		if (txn != NULL)
			goto replay;
		if ((st = db_begin(db, true, &txn, err)) != IPC_S_OK)
			return -1;
		if (mdb_txn_id(txn) != txnid) {
			db_error(err, IPC_S_INTERNAL, "the redo log does not "
			    "follow the store: record of txn %llu, store at "
			    "%llu", (unsigned long long)txnid,
			    (unsigned long long)mdb_txn_id(txn) - 1);
			db_abort(&txn);
			return -1;
		}
replay:
		if ((st = dblog_replay_record(db, txn, rec, len, err)) !=
		    IPC_S_OK) {
			e2 = *err;
			db_error(err, IPC_S_INTERNAL, "replaying txn %llu: "
			    "%.200s", (unsigned long long)txnid, e2.text);
			db_abort(&txn);
			return -1;
		}
		d->st.replayed++;
	}
	if (rc == -1) {
		db_abort(&txn);
		return -1;
	}
	if (txn != NULL && db_commit_replayed(&txn, err) != IPC_S_OK)
		return -1;
	if (d->st.replayed > 0)
		log_info("store replayed records=%llu from its redo log",
		    (unsigned long long)d->st.replayed);
	dblog_lock(db);
	rc = dblog_checkpoint(db, true, err);
	dblog_unlock(db);
	return rc;
}

void
dblog_close(struct store_db *db)
{
	struct dblog *d = db->log;
	struct store_error err;

	if (d == NULL)
		return;
	dblog_bg_stop(d);
	db->log = NULL;
	if (db->env != NULL && (d->pin != NULL || d->stale)) {
		db->log = d;
		dblog_lock(db);
		if (dblog_checkpoint(db, false, &err) == -1)
			log_warnx("last checkpoint: %s", err.text);
		dblog_unlock(db);
		db->log = NULL;
	}
	if (d->pin != NULL)
		mdb_txn_abort(d->pin);
	redolog_free(&d->log);
	close(d->dirfd);
	pthread_mutex_destroy(&d->lock);
	pthread_mutex_destroy(&d->mtx);
	pthread_cond_destroy(&d->bg.cond);
	free(d);
}

void
dblog_stats(struct store_db *db, struct dblog_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (db->log != NULL) {
		pthread_mutex_lock(&db->log->mtx);
		*st = db->log->st;
		pthread_mutex_unlock(&db->log->mtx);
	}
}
