/* SPDX-License-Identifier: ISC */
/*
 * redolog.h: the redo log of the mail store's writes, the files
 * redo.<seq> beside the LMDB environment (work in progress: nothing calls
 * it yet; bench/lmtp/README has the plan it belongs to).
 *
 * Why: LMDB makes a transaction durable by writing its pages where its
 * allocator put them and syncing them, scattered over the file, and then
 * its meta page: 3-4 ms a commit on a virtual disk.  With the log, a
 * commit goes to LMDB without a sync (MDB_NOSYNC), and what makes it
 * durable is one record appended to the log and synced: contiguous bytes,
 * a fraction of the cost, and syncable on another thread while the writer
 * goes on.  Now and then a checkpoint syncs LMDB itself, after which the
 * records before it are no longer needed.
 *
 * The files: each starts with a header region (REDOLOG_HDR_SIZE bytes)
 * that names the checkpoint it starts from (the transaction id and the
 * LMDB meta page of that snapshot, which recovery writes back), or is
 * still zero while that checkpoint's sync runs; then whole records, each
 * framed and checked (a CRC-32 over its frame and payload), carrying the
 * id of the LMDB transaction that applied it.  A checkpoint starts a new
 * file (redolog_rotate, at a point where no commit is running) and, once
 * LMDB's sync is done, writes that file's header (redolog_checkpoint);
 * only then are the older files removed.  A crash anywhere in between
 * leaves an older file with a valid header, and its records and the newer
 * file's are replayed.
 *
 * Recovery (redolog_open): the newest file whose header is valid is the
 * base; its records and those of every later file are read in order by
 * redolog_next, up to the first frame that is incomplete or fails its
 * check (the tail a crash cut), which is where appending resumes.  Files
 * older than the base are removed.  Deciding what the records mean, and
 * that their transaction ids follow the base without a gap, is the
 * caller's.
 *
 * Threads: the writer appends and rotates; one syncer thread syncs and
 * checkpoints.  Each of those may run beside the other's.
 */
#ifndef BULWARK_REDOLOG_H
#define BULWARK_REDOLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "db.h"

/* Bytes at the start of each file for its header (fits an 8 KiB meta). */
#define REDOLOG_HDR_SIZE	16384u
/* Largest meta page a header holds. */
#define REDOLOG_META_MAX	(REDOLOG_HDR_SIZE - 64u)
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
 * Recovery: the next whole record after the base, in order across files.
 * Returns 1 with its transaction id and payload (borrowed until the next
 * call), 0 after the last one (the log is then positioned for appending),
 * or -1 with err on a read error.  Must be called until it returns 0
 * before the first redolog_append.
 */
int	redolog_next(struct redolog *log, uint64_t *txnid_r,
	    const void **data_r, size_t *len_r, struct store_error *err);

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
 * Starts a new file, its header zero, that the following appends go to;
 * the caller makes sure no commit runs meanwhile, and that the LMDB
 * transaction current at this moment is the one it then checkpoints.
 * Returns 0, or -1 with err.
 */
int	redolog_rotate(struct redolog *log, struct store_error *err);

/*
 * Completes the checkpoint begun by the last redolog_rotate: once LMDB's
 * data file is synced up to transaction txnid, writes the newest file's
 * header (txnid and meta, the meta page of that transaction) and syncs
 * it, then removes the older files.  Returns 0, or -1 with err (the older
 * files then stay, and recovery still works from them).
 */
int	redolog_checkpoint(struct redolog *log, uint64_t txnid,
	    const void *meta, size_t len, struct store_error *err);

/* Files of the log now (for tests and bulwarkctl): how many, bytes. */
void	redolog_stats(struct redolog *log, unsigned *files_r,
	    uint64_t *bytes_r);

#endif
