/* SPDX-License-Identifier: ISC */
/*
 * blob.h: raw messages, content-addressed by their BLAKE2b-256 hash
 * (libsodium crypto_generichash), stored once however many messages share
 * them, reference-counted and removed with their last reference.  The
 * count lives in LMDB, so the transaction that adds or drops a message
 * covers its blob too; the bytes of a small blob too (db.h, blobs), those
 * of a blob of BLOB_FILE_MIN bytes or more in a file of the data directory
 * (blobfile.h, indexed by blob_files) so that big messages do not grow
 * the map, its copies on write and its page cache.  Callers see no
 * difference: they read through blob_view_get, whichever kind it is.
 */
#ifndef BULWARK_BLOB_H
#define BULWARK_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "blobfile.h"
#include "buf.h"
#include "db.h"
#include "record.h"

/* Blobs this big or bigger are files (-DBLOB_FILE_MIN=1 for tests). */
#ifndef BLOB_FILE_MIN
#define BLOB_FILE_MIN	(256u * 1024)
#endif
/* A file's header is kept in its index entry up to this size. */
#define BLOB_HEAD_MAX	(16u * 1024)

/* Computes the hash of [p, p + len) into hash (safe on any thread). */
void	blob_hash(const void *p, size_t len, uint8_t hash[MSG_HASH_LEN]);
/* Whether a blob of len bytes is kept as a file. */
bool	blob_is_file_size(size_t len);
/*
 * Whether the blob of hash is a file in txn's snapshot (a big blob stored
 * before version 9 is not).
 */
bool	blob_is_file(struct store_db *db, MDB_txn *txn,
	    const uint8_t hash[MSG_HASH_LEN]);
/*
 * Takes one more reference to the blob of hash inside write txn, storing
 * [p, p + len) first if no blob has that hash.  *stored_r (may be NULL)
 * tells whether the bytes were written.  A big new blob is written to a
 * file and synced on the calling thread: the writer's; blob_ref_tmp saves
 * that.  Returns IPC_S_OK or an error.
 */
enum ipc_status blob_ref(struct store_db *db, MDB_txn *txn,
	    const uint8_t hash[MSG_HASH_LEN], const void *p, size_t len,
	    bool *stored_r, struct store_error *err);
/*
 * blob_ref with tmp (may be NULL, or have no name), a file of those bytes
 * that blobfile_tmp_write made before the transaction: a new big blob
 * takes it (tmp->linked); the caller discards tmp in every case
 * (blobfile_tmp_discard), after the transaction.
 */
enum ipc_status blob_ref_tmp(struct store_db *db, MDB_txn *txn,
	    const uint8_t hash[MSG_HASH_LEN], const void *p, size_t len,
	    struct blob_tmp *tmp, bool *stored_r, struct store_error *err);
/*
 * For a prepare step of txn.h (any thread without a transaction open):
 * writes [p, p + len), of hash, to tmp (blobfile_tmp_write) if it is big
 * and the store does not hold it yet, so that apply only renames it; a
 * blob the store holds costs no file.  db may be NULL (nothing is done).
 * Returns IPC_S_OK or an error of blobfile_tmp_write.
 */
enum ipc_status blob_tmp_prepare(struct store_db *db,
	    const uint8_t hash[MSG_HASH_LEN], const void *p, size_t len,
	    struct blob_tmp *tmp, struct store_error *err);
/*
 * blob_hash, then blob_tmp_prepare, in one: the file of a big blob is
 * written first and synced after the hash, so that the disk and the CPU
 * work at once.
 */
enum ipc_status blob_hash_prepare(struct store_db *db, const void *p,
	    size_t len, uint8_t hash[MSG_HASH_LEN], struct blob_tmp *tmp,
	    struct store_error *err);
/* Discards tmp (blobfile_tmp_discard); db may be NULL. */
void	blob_tmp_discard(struct store_db *db, struct blob_tmp *tmp);
/*
 * Drops one reference inside write txn; the blob goes with the last one
 * (*removed_r, may be NULL); its file, if it has one, once txn is
 * committed.  Returns IPC_S_OK, IPC_S_NOTFOUND or an error.
 */
enum ipc_status blob_unref(struct store_db *db, MDB_txn *txn,
	    const uint8_t hash[MSG_HASH_LEN], bool *removed_r,
	    struct store_error *err);
/*
 * The bytes of a blob, [p, p + len): in the LMDB map for a small blob, a
 * private read-only mapping of its file for a big one.  Zero it first.
 */
struct blob_view {
	const void	*p;
	size_t		 len;
	void		*map;		/* NULL: p is in the map of LMDB */
	size_t		 map_len;
	/* blob_view_peek of a file: its header, if the index keeps it */
	const void	*head;
	size_t		 head_len;
};
/*
 * Points v at the bytes of blob hash, valid until blob_view_release(v)
 * AND while txn lives, whichever ends first; its reference count goes to
 * *refs_r (may be NULL).  Safe on any thread with its own txn.  Returns
 * IPC_S_OK, IPC_S_NOTFOUND (also for a file removed by a commit after
 * txn began) or an error; v is then empty.
 */
enum ipc_status blob_view_get(struct store_db *db, MDB_txn *txn,
	    const uint8_t hash[MSG_HASH_LEN], struct blob_view *v,
	    uint64_t *refs_r, struct store_error *err);
/*
 * blob_view_get without the mapping of a file: v as blob_view_get gives
 * it for a blob kept in LMDB; for a file, v->p NULL, v->len its size and
 * v->head its header when its index keeps it (blob_files; v->head_len
 * bytes, up to and with the blank line, in the LMDB map), the caller
 * reading what else it needs with blob_read.
 */
enum ipc_status blob_view_peek(struct store_db *db, MDB_txn *txn,
	    const uint8_t hash[MSG_HASH_LEN], struct blob_view *v,
	    struct store_error *err);
/*
 * The bytes of v that hold the blob's top-level header: all of them, or
 * for a file that blob_view_peek did not map, the header its index keeps;
 * NULL when v has neither.  *len_r gets their length.
 */
const void	*blob_view_head(const struct blob_view *v, size_t *len_r);
/* Unmaps what v maps, if anything, and empties v. */
void	blob_view_release(struct blob_view *v);
/*
 * Appends bytes [offset, offset + length) of blob hash (fewer at its end)
 * to out, and its whole size to *len_r: read from a file with pread, not
 * mapped, so that a small read of a big blob costs no mapping (an unmap
 * interrupts every core that runs another thread of storaged), or from
 * its header in the index when that holds them all.  Safe on
 * any thread with its own txn.  Returns IPC_S_OK, IPC_S_NOTFOUND or an
 * error.
 */
enum ipc_status blob_read(struct store_db *db, MDB_txn *txn,
	    const uint8_t hash[MSG_HASH_LEN], uint64_t offset, size_t length,
	    struct buf *out, size_t *len_r, struct store_error *err);
/*
 * Opens the file of blob hash read-only (O_CLOEXEC) into *fd_r, its size
 * into *len_r, after checking that the file is of the size its index
 * says; *fd_r is -1 for a blob kept in LMDB (read it with
 * blob_view_get).  The descriptor is the caller's.  Returns IPC_S_OK,
 * IPC_S_NOTFOUND or an error.
 */
enum ipc_status blob_fd_get(struct store_db *db, MDB_txn *txn,
	    const uint8_t hash[MSG_HASH_LEN], int *fd_r, size_t *len_r,
	    struct store_error *err);

#endif
