/* SPDX-License-Identifier: ISC */
/*
 * blob.h: raw messages, content-addressed by their BLAKE2b-256 hash
 * (libsodium crypto_generichash), stored once however many messages share
 * them, reference-counted and removed with their last reference.  The
 * bytes and the count live in LMDB, so the transaction that adds or drops
 * a message covers its blob too.
 */
#ifndef BULWARK_BLOB_H
#define BULWARK_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "record.h"

/* Computes the hash of [p, p + len) into hash (safe on any thread). */
void	blob_hash(const void *p, size_t len, uint8_t hash[MSG_HASH_LEN]);
/*
 * Takes one more reference to the blob of hash inside write txn, storing
 * [p, p + len) first if no blob has that hash.  *stored_r (may be NULL)
 * tells whether the bytes were written.  Returns IPC_S_OK or an error.
 */
enum ipc_status blob_ref(struct store_db *db, MDB_txn *txn,
	    const uint8_t hash[MSG_HASH_LEN], const void *p, size_t len,
	    bool *stored_r, struct store_error *err);
/*
 * Drops one reference inside write txn; the blob goes with the last one
 * (*removed_r, may be NULL).  Returns IPC_S_OK, IPC_S_NOTFOUND or an
 * error.
 */
enum ipc_status blob_unref(struct store_db *db, MDB_txn *txn,
	    const uint8_t hash[MSG_HASH_LEN], bool *removed_r,
	    struct store_error *err);
/*
 * Points *p and *len_r at the bytes of blob hash, valid while txn lives;
 * its reference count goes to *refs_r (may be NULL).  Returns IPC_S_OK,
 * IPC_S_NOTFOUND or an error.
 */
enum ipc_status blob_get(struct store_db *db, MDB_txn *txn,
	    const uint8_t hash[MSG_HASH_LEN], const void **p, size_t *len_r,
	    uint64_t *refs_r, struct store_error *err);

#endif
