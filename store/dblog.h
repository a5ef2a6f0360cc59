/* SPDX-License-Identifier: ISC */
/*
 * dblog.h: how the store's commits become durable: LMDB without syncs,
 * and the redo log (redolog.h) with checkpoints (dbmeta.h).
 *
 * LMDB is opened with MDB_NOSYNC: a commit writes its pages and its meta
 * page to the file without waiting for the disk.  What makes it durable is
 * one of two things, chosen per write transaction by its committer:
 *
 *  - records: the writer of txn.h, for a batch whose every operation can
 *    say what it did (a delivery), appends the batch's record to the redo
 *    log and syncs it (db_record), and the batch's operations are durable.
 *    A record is contiguous bytes, so its sync costs a fraction of
 *    LMDB's, whose pages lie scattered over the file.  The transaction
 *    stays open for the next batches' records, each with the
 *    transaction's id, and LMDB commits them together later
 *    (db_commit_recorded): a page that several batches change is written
 *    once.  Readers never see a record that is not durable, and wait for
 *    the commit of one that was acknowledged (db.h, struct db_held).
 *  - LMDB's own sync: any other write transaction commits as LMDB does
 *    without MDB_NOSYNC (its pages synced, then its meta page written
 *    synchronously), durable before any reader sees it.
 *
 * A checkpoint syncs LMDB's file, saves the meta page of its last
 * transaction in a header slot of the log (synced), and keeps a read
 * transaction open on that snapshot (the pin), so that LMDB does not
 * reuse its pages: it is the state recovery starts from when records
 * follow it.  One is made before the first record after a synced commit
 * (which drops the pin, so that a store written only that way reuses its
 * pages as before), and once the log's newest file holds DBLOG_CHECKPOINT
 * bytes of records: that one by a thread of its own (a sync of LMDB's
 * file takes a quarter of a second, which no delivery should wait for),
 * with the records after it in a new file, and the older files removed
 * once its header is durable.
 *
 * Recovery (dblog_open, before the environment opens; dblog_recover,
 * after db_open and before any other write) looks at the newest meta page
 * in data.mdb.  If it is newer than the checkpoint and than every record,
 * it is a synced commit after which nothing was written without a
 * checkpoint: the store is whole as it is.  Otherwise the saved meta page
 * is written back into data.mdb, so that the environment opens at the
 * checkpoint whatever LMDB wrote since, and the records after it are
 * replayed, those of one transaction (one after the other in the log) in
 * one transaction that must get the id the original had (the replay is deterministic: every input, clocks
 * included, is in the record), each operation by the replay function
 * storaged registers.  Then a checkpoint.
 *
 * The commit lock: every write transaction holds it from db_begin to its
 * commit or abort and the checkpoint after it (LMDB's own writer lock
 * ends at the commit), so that nothing commits between a transaction's
 * records, or during a checkpoint; a checkpoint's new log file begins only
 * after a commit, so that a transaction's records are in one file.
 */
#ifndef BULWARK_DBLOG_H
#define BULWARK_DBLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "db.h"

/* Bytes of records in the newest file after which the writer checkpoints. */
#define DBLOG_CHECKPOINT	(64ull << 20)

/*
 * Replays one operation of a record (payload [p, p + len), as its log
 * function wrote it) inside write transaction txn.  Returns IPC_S_OK, or
 * an error: the operation had succeeded, so recovery stops there.
 */
typedef enum ipc_status dblog_replay_fn(struct store_db *db, MDB_txn *txn,
    const void *p, size_t len, struct store_error *err);
struct buf;

/*
 * Frames one operation of a record in b: dblog_entry_begin before its log
 * function writes it, with the offset it returns, dblog_entry_end after.
 */
size_t	dblog_entry_begin(struct buf *b);
void	dblog_entry_end(struct buf *b, size_t at);
/*
 * A record's next operation: 1 with [*entry_r, + *elen_r) and [*p, + *len)
 * moved past it, 0 at the end, -1 if the record is cut.
 */
int	dblog_entry_next(const uint8_t **p, size_t *len,
	    const uint8_t **entry_r, size_t *elen_r);
/* Sets the replay function for every store of the process. */
void	dblog_set_replay(dblog_replay_fn *fn);

/*
 * Opens the redo log of the store in dir, before its environment, and
 * writes the last checkpoint's meta page back into dir/data.mdb.
 * Returns 0, or -1 with err.
 */
int	dblog_open(struct store_db *db, const char *dir,
	    struct store_error *err);
/*
 * After the environment and its databases are open: replays the records
 * after the last checkpoint, then checkpoints.  Returns 0, or -1 with err.
 */
int	dblog_recover(struct store_db *db, struct store_error *err);
/* A last checkpoint if the store is open and clean, then closes the log. */
void	dblog_close(struct store_db *db);

/* The commit lock (db_begin and db_commit take and release it). */
void	dblog_lock(struct store_db *db);
void	dblog_unlock(struct store_db *db);

/*
 * With the commit lock, in write transaction txnid before its commit:
 * appends its record [iov] to the log and syncs it.  Returns 0, or -1
 * with err (what the record says must then not be committed).
 */
int	dblog_append(struct store_db *db, uint64_t txnid,
	    const struct iovec *iov, int iovcnt, struct store_error *err);
/*
 * With the commit lock, after a commit (or anything that changed the
 * file): makes the store durable up to now.  new_file starts a new log
 * file.  Returns 0, or -1 with err.
 */
int	dblog_checkpoint(struct store_db *db, bool new_file,
	    struct store_error *err);
/*
 * With the commit lock, after the commit of a record's transaction, when
 * dblog_due: begins a checkpoint of the store as it is now that the
 * checkpoint thread finishes, so that the writer does not wait for
 * LMDB's file to be synced.  Its snapshot is pinned and the log rotated
 * here; the thread syncs the file, writes the header into the new file
 * and only then lets go of the older snapshot, whose checkpoint recovery
 * starts from until then.  Does nothing while one is being made.
 * Returns 0, or -1 with err.
 */
int	dblog_checkpoint_start(struct store_db *db, struct store_error *err);
/*
 * With the commit lock, around the commit of a write transaction made
 * durable without a record: LMDB syncs that commit itself (its pages,
 * then its meta page), so that no reader sees it before it is durable.
 * committed says whether it committed anything.
 */
void	dblog_synced_begin(struct store_db *db);
void	dblog_synced_end(struct store_db *db, bool committed);
/* Whether the log's newest file is due for a checkpoint. */
bool	dblog_due(struct store_db *db);
/* For tests: the bytes that make it due, instead of DBLOG_CHECKPOINT. */
void	dblog_set_due(struct store_db *db, uint64_t bytes);

/* Counters for tests and bulwarkctl. */
struct dblog_stats {
	uint64_t	 records;	/* appended since the open */
	uint64_t	 checkpoints;
	uint64_t	 replayed;	/* records replayed by dblog_recover */
	bool		 unclean;	/* LMDB was past the checkpoint */
};
void	dblog_stats(struct store_db *db, struct dblog_stats *st);

#endif
