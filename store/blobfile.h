/* SPDX-License-Identifier: ISC */
/*
 * blobfile.h: the files of big message blobs, beside the LMDB environment
 * in its directory: blobs/<64 hex of the hash>, immutable, one flat
 * directory, and blobs/tmp/ for files being written.  blob.h decides which
 * blob is a file and keeps the index (db.h, blob_files); this module only
 * moves files, always relative to descriptors of the two directories, so
 * it works the same chrooted in the data directory or not.
 *
 * Durability (DESIGN.md: nothing acknowledged is lost, nothing
 * unreferenced stays): a file's bytes are synced in blobs/tmp/ before it
 * is renamed into blobs/ inside a write transaction; db_commit syncs the
 * directory blobs/ once before the LMDB commit of a transaction that
 * renamed files (blobfile_pre_commit), so a committed reference always
 * finds its file.  A file whose last reference goes is unlinked only after
 * the commit that dropped it is durable (blobfile_post_commit) and every
 * read transaction older than that commit has ended (a reader may open
 * the file for as long as its snapshot holds it; once open, the unlink
 * does not touch it), and so is one renamed in by an operation that was
 * then aborted.  A crash in
 * between leaves files that nothing references, which blobfile_sweep
 * removes at the next start.
 *
 * Threads: every function may run on any thread; the descriptors are
 * fixed after blobfile_open and the lists are behind a mutex.
 */
#ifndef BULWARK_BLOBFILE_H
#define BULWARK_BLOBFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "record.h"

#define BLOBFILE_DIR		"blobs"
#define BLOBFILE_TMPDIR		"tmp"
/* A file name: 64 hex digits and a NUL (tmp names are as long). */
#define BLOBFILE_NAME_LEN	(2 * MSG_HASH_LEN + 1)

/*
 * A file written for a blob before its transaction (the prepare step of
 * txn.h): its name in blobs/tmp/, "" when there is none.  Zero it first.
 * blob_ref_tmp (blob.h) moves it into blobs/ (linked is then true);
 * blobfile_tmp_discard removes it otherwise.
 */
struct blob_tmp {
	char		 name[BLOBFILE_NAME_LEN];
	bool		 linked;
};

/*
 * Opens (making them if missing) blobs/ and blobs/tmp/ under dir, the
 * data directory, for db (db->files).  Returns 0, or -1 with err set.
 */
int	blobfile_open(struct store_db *db, const char *dir,
	    struct store_error *err);
/* Closes db->files (may be NULL) and NULLs it. */
void	blobfile_close(struct store_db *db);
/*
 * Writes [p, p + len) to a new file of blobs/tmp/ and syncs it
 * (fdatasync); its name goes to t->name.  Slow: meant for the prepare
 * step, off the writer thread.  Returns IPC_S_OK, or IPC_S_INTERNAL with
 * err (nothing is left behind then).
 */
enum ipc_status blobfile_tmp_write(struct blobfile *bf, const void *p,
	    size_t len, struct blob_tmp *t, struct store_error *err);
/*
 * blobfile_tmp_write in two steps, so that the disk writes the file while
 * the caller hashes its bytes: _start writes it, starts its writeback and
 * gives its descriptor in *fd_r; _finish syncs and closes it, or with
 * keep false closes and discards it.  Each returns IPC_S_OK, or
 * IPC_S_INTERNAL with err (nothing is left behind then).
 */
enum ipc_status blobfile_tmp_start(struct blobfile *bf, const void *p,
	    size_t len, struct blob_tmp *t, int *fd_r, struct store_error *err);
enum ipc_status blobfile_tmp_finish(struct blobfile *bf, struct blob_tmp *t,
	    int fd, bool keep, struct store_error *err);
/* Unlinks t's file unless it was linked, and empties t.  bf may be NULL. */
void	blobfile_tmp_discard(struct blobfile *bf, struct blob_tmp *t);
/*
 * Renames t's file to blobs/<hex of hash>, inside write transaction
 * txnid (mdb_txn_id; an existing file of that name has the same bytes and
 * is replaced), and marks the directory for the sync of
 * blobfile_pre_commit.  After the commit of txnid the name is checked
 * like a dropped one (blobfile_gone): if the operation that renamed it
 * was aborted, nothing indexes it and it is unlinked.  Returns IPC_S_OK
 * or IPC_S_INTERNAL.
 */
enum ipc_status blobfile_link(struct blobfile *bf, uint64_t txnid,
	    const uint8_t hash[MSG_HASH_LEN], struct blob_tmp *t,
	    struct store_error *err);
/*
 * Records that write transaction txnid dropped the file of hash: it is
 * unlinked after that transaction commits if the committed index does not
 * hold it (no later operation took it again).
 */
void	blobfile_gone(struct blobfile *bf, uint64_t txnid,
	    const uint8_t hash[MSG_HASH_LEN]);
/*
 * Called by db_commit around the commit of write transaction txnid:
 * blobfile_pre_commit syncs blobs/ if that transaction renamed a file
 * into it (-1 with err if that fails: the commit must not happen), and
 * notes in *mark_r how far the files to check were listed;
 * blobfile_post_commit, after a successful commit, unlinks those listed
 * up to mark that the committed store does not reference (dropped, or
 * renamed in by an operation that was aborted), once no read transaction
 * that began before the drop is open (the last of those unlinks them as
 * it ends).
 */
int	blobfile_pre_commit(struct blobfile *bf, uint64_t txnid,
	    uint64_t *mark_r, struct store_error *err);
void	blobfile_post_commit(struct store_db *db, uint64_t mark);
/* Whether txn is a read transaction blobfile_reader_begin began. */
bool	blobfile_is_reader(struct blobfile *bf, MDB_txn *txn);
/*
 * db_begin's read transactions: begins one (mdb_txn_begin's result) and
 * counts it open until blobfile_reader_end, so that a file it may still
 * find in its snapshot stays until it ends.  blobfile_reader_end ignores
 * a transaction it does not count (a write transaction).
 */
int	blobfile_reader_begin(struct blobfile *bf, MDB_env *env,
	    MDB_txn **txn_r);
void	blobfile_reader_end(struct store_db *db, MDB_txn *txn);
/*
 * Opens blobs/<hex of hash> read-only (O_CLOEXEC) into *fd_r.  Returns
 * IPC_S_OK, IPC_S_NOTFOUND (no such file) or IPC_S_INTERNAL with err.
 */
enum ipc_status blobfile_open_fd(struct blobfile *bf,
	    const uint8_t hash[MSG_HASH_LEN], int *fd_r,
	    struct store_error *err);
/* What blobfile_sweep did. */
struct blobfile_sweep_stats {
	uint64_t	 tmp;		/* files of blobs/tmp/ removed */
	uint64_t	 orphans;	/* files of blobs/ nothing references */
	uint64_t	 kept;		/* referenced files */
	uint64_t	 missing;	/* references without a file (logged) */
};
/*
 * At start, before any write: removes every file of blobs/tmp/ and every
 * blobs/<hex> that blob_files does not hold (left by crashes), and counts
 * the index entries whose file is missing.  Returns IPC_S_OK or an error.
 */
enum ipc_status blobfile_sweep(struct store_db *db,
	    struct blobfile_sweep_stats *st, struct store_error *err);

#endif
