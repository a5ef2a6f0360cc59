/* SPDX-License-Identifier: ISC */
/*
 * redolog.h: the redo log of the mail store's deliveries, the files
 * redo.<seq> beside the LMDB environment; dblog.h says how the store
 * uses it.
 *
 * Why: LMDB makes a transaction durable by writing its pages where its
 * allocator put them and syncing them, scattered over the file, and then
 * its meta page: 3-4 ms a commit on a virtual disk.  With the log, a
 * commit goes to LMDB without a sync (MDB_NOSYNC), and what makes it
 * durable is one record appended to the log and synced before it:
 * contiguous bytes, a fraction of the cost.  Now and then a checkpoint
 * syncs LMDB itself, after which the records before it are no longer
 * needed.
 *
 * The files: each starts with two header slots (REDOLOG_SLOT_SIZE bytes
 * each) that name a checkpoint (the transaction id and the LMDB meta page
 * of that snapshot, which recovery writes back); then whole records, each
 * framed and checked (a CRC-32 over the file's number, its frame and
 * payload), carrying the id of the LMDB transaction that applied it.  A
 * checkpoint, made once LMDB's data file is synced, writes the slot of
 * the newest file that the previous one did not, so that a write the
 * crash tore leaves the other; or it goes into a new file, begun by
 * redolog_rotate (then, or earlier: records may go into it before its
 * header is written), and then the older files go: one of them is kept
 * as the spare (redo-spare) that the next new file is made of, since
 * appending inside a file's size syncs faster than growing it.
 *
 * Recovery (redolog_open): the newest file with a valid slot holds the
 * base, its newer valid slot; its records after the base, and those of
 * any later file, are read in order by redolog_next.  A file's records
 * end at the first frame that is incomplete or fails its check: in the
 * last file, the tail a crash cut, which is where appending resumes; in
 * an earlier one, the bytes past its end (a file is begun only once the
 * one before it is durable).  Files older than the base's are removed.
 * Deciding what the records mean, and that their transaction ids follow
 * the base without a gap, is the caller's.
 *
 * Threads: appends and rotations come from whoever holds the store's
 * commit lock (db.h), one at a time; a checkpoint's header may be written
 * beside them by another thread; redolog_sync may run beside them on
 * another thread.
 */
#ifndef BULWARK_REDOLOG_H
#define BULWARK_REDOLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "db.h"

/* One header slot; two of them start each file. */
#define REDOLOG_SLOT_SIZE	8192u
#define REDOLOG_HDR_SIZE	(2 * REDOLOG_SLOT_SIZE)
/* Largest meta page a slot holds. */
#define REDOLOG_META_MAX	(REDOLOG_SLOT_SIZE - 32u)
/* Largest record payload. */
#define REDOLOG_RECORD_MAX	(256ull << 20)

struct redolog;

/*
 * Opens the log in the directory dirfd (not closed by the log; it must
 * stay open while the log is), removing files older than the base, and
 * positions recovery at the base's first record.  An empty directory is a
 * log with no base.  Returns 0, or -1 with err set (a file that cannot be
 * read, a name that does not parse).
 */
int	redolog_open(int dirfd, struct redolog **log_r,
	    struct store_error *err);
/* Closes the log and NULLs *log_r. */
void	redolog_free(struct redolog **log_r);

/*
 * The checkpoint recovery starts from: true with its transaction id and
 * meta page (borrowed until the next call that changes the log), false if
 * no file has a valid header.
 */
bool	redolog_base(const struct redolog *log, uint64_t *txnid_r,
	    const void **meta_r, size_t *len_r);

/*
 * Recovery: the next whole record after the base (records of transactions
 * up to the base's are skipped), in order across files.
 * Returns 1 with its transaction id and payload (borrowed until the next
 * call), 0 after the last one (the log is then positioned for appending),
 * or -1 with err on a read error.  Must be called until it returns 0
 * before the first redolog_append.
 */
int	redolog_next(struct redolog *log, uint64_t *txnid_r,
	    const void **data_r, size_t *len_r, struct store_error *err);

/*
 * Recovery: reads every record after the base to the end (cutting a torn
 * tail, as redolog_next does), sets *last_r to the last one's transaction
 * id (0: none), and goes back to the first.  Returns 0, or -1 with err.
 */
int	redolog_scan(struct redolog *log, uint64_t *last_r,
	    struct store_error *err);

/*
 * Whether recovery has a record left: 1 (the next redolog_next returns
 * it), 0 (none: recovery is over, as after redolog_next's 0), -1 with err.
 */
int	redolog_peek(struct redolog *log, struct store_error *err);

/*
 * Appends one record, the concatenation of iov, for transaction txnid, to
 * the newest file, without syncing it.  *pos_r is where the log ends after
 * it, for redolog_sync.  Returns 0, or -1 with err (then nothing that
 * follows may be appended: the file's end is unknown).
 */
int	redolog_append(struct redolog *log, uint64_t txnid,
	    const struct iovec *iov, int iovcnt, uint64_t *pos_r,
	    struct store_error *err);

/*
 * Makes everything appended before pos durable (in every file it spans).
 * Returns 0, or -1 with err.
 */
int	redolog_sync(struct redolog *log, uint64_t pos,
	    struct store_error *err);

/*
 * Starts a new file (the spare's, if there is one), with no checkpoint in
 * its header yet, that the following appends go to; its name is durable
 * when this returns.  Recovery reads its records after those of the file
 * before it.  Returns 0, or -1 with err.
 */
int	redolog_rotate(struct redolog *log, struct store_error *err);

/*
 * Records a checkpoint: LMDB's data file is synced up to transaction
 * txnid, whose meta page is meta.  Writes it into the newest file's other
 * slot (after redolog_rotate, if new_file or there is no file yet), and
 * syncs it; then removes the files before it, or keeps one as the spare.
 * Appends may run meanwhile on another thread, but no rotation.  Returns
 * 0, or -1 with err (recovery still works from the log as it is).
 */
int	redolog_checkpoint(struct redolog *log, uint64_t txnid,
	    const void *meta, size_t len, bool new_file,
	    struct store_error *err);

/* Bytes of records in the newest file (to decide when to start one). */
uint64_t redolog_tail_bytes(struct redolog *log);

/* Files of the log now (for tests and bulwarkctl): how many, bytes. */
void	redolog_stats(struct redolog *log, unsigned *files_r,
	    uint64_t *bytes_r);

#endif
