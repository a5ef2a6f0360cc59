/* SPDX-License-Identifier: ISC */
/*
 * blob.c: content-addressed, reference-counted message blobs (see blob.h).
 * The count lives apart from the bytes so that sharing a blob rewrites
 * eight bytes, not the message.
 */
#include "blob.h"
#include "wire.h"

#include <sodium.h>

void
blob_hash(const void *p, size_t len, uint8_t hash[MSG_HASH_LEN])
{
	crypto_generichash(hash, MSG_HASH_LEN, p, len, NULL, 0);
}

/* Reads the count of hash: IPC_S_OK, IPC_S_NOTFOUND or an error. */
static enum ipc_status
blob_refs(struct store_db *db, MDB_txn *txn, const uint8_t *hash,
    uint64_t *refs, struct store_error *err)
{
	MDB_val k = { MSG_HASH_LEN, (void *)hash }, d;
	int rc;

	if ((rc = mdb_get(txn, db->blob_refs, &k, &d)) == MDB_NOTFOUND)
		return IPC_S_NOTFOUND;
	if (rc != 0)
		return db_mdb_error(err, rc, "blob count");
	if (d.mv_size != 8)
		return db_error(err, IPC_S_INTERNAL, "corrupt blob count");
	*refs = wire_be64_get(d.mv_data);
	return IPC_S_OK;
}

static enum ipc_status
blob_set_refs(struct store_db *db, MDB_txn *txn, const uint8_t *hash,
    uint64_t refs, struct store_error *err)
{
	uint8_t b[8];
	MDB_val k = { MSG_HASH_LEN, (void *)hash }, d = { sizeof(b), b };
	int rc;

	wire_be64_put(b, refs);
	if ((rc = mdb_put(txn, db->blob_refs, &k, &d, 0)) != 0)
		return db_mdb_error(err, rc, "blob count write");
	return IPC_S_OK;
}

enum ipc_status
blob_ref(struct store_db *db, MDB_txn *txn, const uint8_t hash[MSG_HASH_LEN],
    const void *p, size_t len, bool *stored_r, struct store_error *err)
{
	MDB_val k = { MSG_HASH_LEN, (void *)hash }, d = { len, (void *)p };
	enum ipc_status st;
	uint64_t refs = 0;
	int rc;

	if (stored_r != NULL)
		*stored_r = false;
	st = blob_refs(db, txn, hash, &refs, err);
	if (st == IPC_S_NOTFOUND) {
		if ((rc = mdb_put(txn, db->blobs, &k, &d, 0)) != 0)
			return db_mdb_error(err, rc, "blob write");
		if (stored_r != NULL)
			*stored_r = true;
		refs = 0;
	} else if (st != IPC_S_OK)
		return st;
	return blob_set_refs(db, txn, hash, refs + 1, err);
}

enum ipc_status
blob_unref(struct store_db *db, MDB_txn *txn,
    const uint8_t hash[MSG_HASH_LEN], bool *removed_r,
    struct store_error *err)
{
	MDB_val k = { MSG_HASH_LEN, (void *)hash };
	enum ipc_status st;
	uint64_t refs;
	int rc;

	if (removed_r != NULL)
		*removed_r = false;
	if ((st = blob_refs(db, txn, hash, &refs, err)) == IPC_S_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no such blob");
	if (st != IPC_S_OK)
		return st;
	if (refs > 1)
		return blob_set_refs(db, txn, hash, refs - 1, err);
	if ((rc = mdb_del(txn, db->blob_refs, &k, NULL)) != 0 ||
	    ((rc = mdb_del(txn, db->blobs, &k, NULL)) != 0 &&
	    rc != MDB_NOTFOUND))
		return db_mdb_error(err, rc, "blob delete");
	if (removed_r != NULL)
		*removed_r = true;
	return IPC_S_OK;
}

enum ipc_status
blob_get(struct store_db *db, MDB_txn *txn, const uint8_t hash[MSG_HASH_LEN],
    const void **p, size_t *len_r, uint64_t *refs_r, struct store_error *err)
{
	MDB_val k = { MSG_HASH_LEN, (void *)hash }, d;
	enum ipc_status st;
	uint64_t refs;
	int rc;

	if ((rc = mdb_get(txn, db->blobs, &k, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no such blob");
	if (rc != 0)
		return db_mdb_error(err, rc, "blob read");
	*p = d.mv_data;
	*len_r = d.mv_size;
	if (refs_r != NULL) {
		if ((st = blob_refs(db, txn, hash, &refs, err)) != IPC_S_OK)
			return st == IPC_S_NOTFOUND ? db_error(err,
			    IPC_S_INTERNAL, "blob without a count") : st;
		*refs_r = refs;
	}
	return IPC_S_OK;
}
