/* SPDX-License-Identifier: ISC */
/*
 * blob.c: content-addressed, reference-counted message blobs (see blob.h).
 * The count lives apart from the bytes so that sharing a blob rewrites
 * eight bytes, not the message.  A blob's kind (bytes in blobs, or a file
 * indexed in blob_files) is fixed when it is first stored: its size
 * decides, and a blob stored before version 9 stays in LMDB.  The index
 * keeps a file's header too (up to BLOB_HEAD_MAX bytes), so that what
 * reads only headers (SEARCH HEADER, FETCH of header fields) never opens
 * the file.
 */
#include "blob.h"
#include "log.h"
#include "msgsearch.h"
#include "wire.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

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

bool
blob_is_file_size(size_t len)
{
	return len >= BLOB_FILE_MIN && len > 0;
}

/*
 * Reads the index entry of the file of hash: its size, and its header
 * (NULL and 0 when not kept), valid while txn lives.  IPC_S_OK,
 * IPC_S_NOTFOUND or an error.
 */
static enum ipc_status
blob_file_entry(struct store_db *db, MDB_txn *txn, const uint8_t *hash,
    uint64_t *size, const void **head, size_t *head_len,
    struct store_error *err)
{
	MDB_val k = { MSG_HASH_LEN, (void *)hash }, d;
	int rc;

	if ((rc = mdb_get(txn, db->blob_files, &k, &d)) == MDB_NOTFOUND)
		return IPC_S_NOTFOUND;
	if (rc != 0)
		return db_mdb_error(err, rc, "blob file index");
	if (d.mv_size < 8 || d.mv_size - 8 > BLOB_HEAD_MAX)
		return db_error(err, IPC_S_INTERNAL, "corrupt blob file index");
	*size = wire_be64_get(d.mv_data);
	if (head != NULL) {
		*head = d.mv_size > 8 ? (const uint8_t *)d.mv_data + 8 : NULL;
		*head_len = d.mv_size - 8;
	}
	return IPC_S_OK;
}

bool
blob_is_file(struct store_db *db, MDB_txn *txn,
    const uint8_t hash[MSG_HASH_LEN])
{
	MDB_val k = { MSG_HASH_LEN, (void *)hash }, d;

	return db->files != NULL && mdb_get(txn, db->blob_files, &k, &d) == 0;
}

static enum ipc_status
blob_file_size(struct store_db *db, MDB_txn *txn, const uint8_t *hash,
    uint64_t *size, struct store_error *err)
{
	return blob_file_entry(db, txn, hash, size, NULL, NULL, err);
}

/*
 * Stores a new big blob as a file: tmp's if the caller wrote one, else
 * one written here, then indexed in blob_files.
 */
static enum ipc_status
blob_store_file(struct store_db *db, MDB_txn *txn, const uint8_t *hash,
    const void *p, size_t len, struct blob_tmp *tmp, struct store_error *err)
{
	MDB_val k = { MSG_HASH_LEN, (void *)hash }, d;
	struct blob_tmp own;
	enum ipc_status st;
	uint8_t *b;
	size_t head;
	int rc;

	memset(&own, 0, sizeof(own));
	if (tmp == NULL || tmp->name[0] == '\0' || tmp->linked) {
		if ((st = blobfile_tmp_write(db->files, p, len, &own, err)) !=
		    IPC_S_OK)
			return st;
		tmp = &own;
	}
	st = blobfile_link(db->files, mdb_txn_id(txn), hash, tmp, err);
	blobfile_tmp_discard(db->files, &own);
	if (st != IPC_S_OK)
		return st;
	/* The size, and the header if it ends within BLOB_HEAD_MAX. */
	head = msgsearch_header_end(p, len < BLOB_HEAD_MAX ? len :
	    BLOB_HEAD_MAX);
	d.mv_size = 8 + head;
	if ((rc = mdb_put(txn, db->blob_files, &k, &d, MDB_RESERVE)) != 0)
		return db_mdb_error(err, rc, "blob file index write");
	b = d.mv_data;
	wire_be64_put(b, len);
	memcpy(b + 8, p, head);
	return IPC_S_OK;
}

enum ipc_status
blob_ref(struct store_db *db, MDB_txn *txn, const uint8_t hash[MSG_HASH_LEN],
    const void *p, size_t len, bool *stored_r, struct store_error *err)
{
	return blob_ref_tmp(db, txn, hash, p, len, NULL, stored_r, err);
}

enum ipc_status
blob_ref_tmp(struct store_db *db, MDB_txn *txn,
    const uint8_t hash[MSG_HASH_LEN], const void *p, size_t len,
    struct blob_tmp *tmp, bool *stored_r, struct store_error *err)
{
	MDB_val k = { MSG_HASH_LEN, (void *)hash }, d = { len, (void *)p };
	enum ipc_status st;
	uint64_t refs = 0;
	int rc;

	if (stored_r != NULL)
		*stored_r = false;
	st = blob_refs(db, txn, hash, &refs, err);
	if (st == IPC_S_NOTFOUND) {
		if (db->files != NULL && blob_is_file_size(len))
			st = blob_store_file(db, txn, hash, p, len, tmp, err);
		else if ((rc = mdb_put(txn, db->blobs, &k, &d, 0)) != 0)
			st = db_mdb_error(err, rc, "blob write");
		else
			st = IPC_S_OK;
		if (st != IPC_S_OK)
			return st;
		if (stored_r != NULL)
			*stored_r = true;
		refs = 0;
	} else if (st != IPC_S_OK)
		return st;
	return blob_set_refs(db, txn, hash, refs + 1, err);
}

/*
 * Whether the store holds hash now: apply most likely shares it then
 * (else it writes the file itself).
 */
static bool
blob_held(struct store_db *db, const uint8_t hash[MSG_HASH_LEN])
{
	struct store_error err;
	enum ipc_status st;
	uint64_t refs;
	MDB_txn *txn;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return false;
	st = blob_refs(db, txn, hash, &refs, &err);
	db_abort(&txn);
	return st == IPC_S_OK;
}

enum ipc_status
blob_tmp_prepare(struct store_db *db, const uint8_t hash[MSG_HASH_LEN],
    const void *p, size_t len, struct blob_tmp *tmp, struct store_error *err)
{
	if (db == NULL || db->files == NULL || !blob_is_file_size(len) ||
	    blob_held(db, hash))
		return IPC_S_OK;
	return blobfile_tmp_write(db->files, p, len, tmp, err);
}

enum ipc_status
blob_hash_prepare(struct store_db *db, const void *p, size_t len,
    uint8_t hash[MSG_HASH_LEN], struct blob_tmp *tmp, struct store_error *err)
{
	enum ipc_status st;
	int fd;

	if (db == NULL || db->files == NULL || !blob_is_file_size(len)) {
		blob_hash(p, len, hash);
		return IPC_S_OK;
	}
	/*
	 * The file first, the hash while the disk writes it; a blob the
	 * store holds already (rare at this size) costs a file written
	 * for nothing.
	 */
	if ((st = blobfile_tmp_start(db->files, p, len, tmp, &fd, err)) !=
	    IPC_S_OK)
		return st;
	blob_hash(p, len, hash);
	return blobfile_tmp_finish(db->files, tmp, fd, !blob_held(db, hash),
	    err);
}

void
blob_tmp_discard(struct store_db *db, struct blob_tmp *tmp)
{
	blobfile_tmp_discard(db != NULL ? db->files : NULL, tmp);
}

/* Removes the bytes of a blob whose last reference went. */
static enum ipc_status
blob_remove(struct store_db *db, MDB_txn *txn, const uint8_t *hash,
    struct store_error *err)
{
	MDB_val k = { MSG_HASH_LEN, (void *)hash };
	int rc;

	if ((rc = mdb_del(txn, db->blobs, &k, NULL)) == 0)
		return IPC_S_OK;
	if (rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "blob delete");
	if (db->files == NULL)
		return IPC_S_OK;
	if ((rc = mdb_del(txn, db->blob_files, &k, NULL)) == MDB_NOTFOUND)
		return IPC_S_OK;
	if (rc != 0)
		return db_mdb_error(err, rc, "blob file index delete");
	/* The file goes after the commit: until then it is referenced. */
	blobfile_gone(db->files, mdb_txn_id(txn), hash);
	return IPC_S_OK;
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
	if ((rc = mdb_del(txn, db->blob_refs, &k, NULL)) != 0)
		return db_mdb_error(err, rc, "blob delete");
	if ((st = blob_remove(db, txn, hash, err)) != IPC_S_OK)
		return st;
	if (removed_r != NULL)
		*removed_r = true;
	return IPC_S_OK;
}

/*
 * Opens the file of blob hash, which its index says is size bytes, into
 * *fd_r, checking that it is: a file that is not (damaged, restored
 * wrongly) is an error, never read.
 */
static enum ipc_status
blob_file_open(struct store_db *db, const uint8_t *hash, uint64_t size,
    int *fd_r, struct store_error *err)
{
	struct stat sb;
	enum ipc_status st;

	if ((st = blobfile_open_fd(db->files, hash, fd_r, err)) != IPC_S_OK) {
		if (st == IPC_S_NOTFOUND)
			return db_error(err, IPC_S_NOTFOUND, "no such blob");
		return st;
	}
	if (fstat(*fd_r, &sb) == -1 || (uint64_t)sb.st_size != size) {
		log_warnx("blob file of %llu bytes has %lld",
		    (unsigned long long)size, (long long)sb.st_size);
		close(*fd_r);
		*fd_r = -1;
		return db_error(err, IPC_S_INTERNAL, "blob file has a wrong "
		    "size");
	}
	return IPC_S_OK;
}

/* Maps the file of blob hash, of size bytes, into v. */
static enum ipc_status
blob_view_map(struct store_db *db, const uint8_t *hash, uint64_t size,
    struct blob_view *v, struct store_error *err)
{
	enum ipc_status st;
	void *m;
	int fd;

	if ((st = blob_file_open(db, hash, size, &fd, err)) != IPC_S_OK)
		return st;
	m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return db_error(err, IPC_S_INTERNAL, "blob file map: %s",
		    strerror(errno));
	v->p = v->map = m;
	v->len = v->map_len = (size_t)size;
	return IPC_S_OK;
}

enum ipc_status
blob_view_get(struct store_db *db, MDB_txn *txn,
    const uint8_t hash[MSG_HASH_LEN], struct blob_view *v, uint64_t *refs_r,
    struct store_error *err)
{
	MDB_val k = { MSG_HASH_LEN, (void *)hash }, d;
	enum ipc_status st;
	uint64_t refs, size;
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = mdb_get(txn, db->blobs, &k, &d)) == 0) {
		v->p = d.mv_data;
		v->len = d.mv_size;
	} else if (rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "blob read");
	else if (db->files == NULL ||
	    (st = blob_file_size(db, txn, hash, &size, err)) ==
	    IPC_S_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no such blob");
	else if (st != IPC_S_OK ||
	    (st = blob_view_map(db, hash, size, v, err)) != IPC_S_OK)
		return st;
	if (refs_r != NULL) {
		if ((st = blob_refs(db, txn, hash, &refs, err)) != IPC_S_OK) {
			blob_view_release(v);
			return st == IPC_S_NOTFOUND ? db_error(err,
			    IPC_S_INTERNAL, "blob without a count") : st;
		}
		*refs_r = refs;
	}
	return IPC_S_OK;
}

enum ipc_status
blob_view_peek(struct store_db *db, MDB_txn *txn,
    const uint8_t hash[MSG_HASH_LEN], struct blob_view *v,
    struct store_error *err)
{
	MDB_val k = { MSG_HASH_LEN, (void *)hash }, d;
	enum ipc_status st;
	uint64_t size;
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = mdb_get(txn, db->blobs, &k, &d)) == 0) {
		v->p = d.mv_data;
		v->len = d.mv_size;
		return IPC_S_OK;
	}
	if (rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "blob read");
	if (db->files == NULL || (st = blob_file_entry(db, txn, hash, &size,
	    &v->head, &v->head_len, err)) == IPC_S_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no such blob");
	if (st == IPC_S_OK)
		v->len = (size_t)size;
	return st;
}

const void *
blob_view_head(const struct blob_view *v, size_t *len_r)
{
	*len_r = v->p != NULL ? v->len : v->head_len;
	return v->p != NULL ? v->p : v->head;
}

void
blob_view_release(struct blob_view *v)
{
	if (v->map != NULL)
		munmap(v->map, v->map_len);
	memset(v, 0, sizeof(*v));
}

enum ipc_status
blob_fd_get(struct store_db *db, MDB_txn *txn,
    const uint8_t hash[MSG_HASH_LEN], int *fd_r, size_t *len_r,
    struct store_error *err)
{
	MDB_val k = { MSG_HASH_LEN, (void *)hash }, d;
	enum ipc_status st;
	uint64_t size;
	int rc;

	*fd_r = -1;
	*len_r = 0;
	if ((rc = mdb_get(txn, db->blobs, &k, &d)) == 0) {
		*len_r = d.mv_size;
		return IPC_S_OK;
	}
	if (rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "blob read");
	if (db->files == NULL ||
	    (st = blob_file_size(db, txn, hash, &size, err)) ==
	    IPC_S_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no such blob");
	if (st != IPC_S_OK ||
	    (st = blob_file_open(db, hash, size, fd_r, err)) != IPC_S_OK)
		return st;
	*len_r = (size_t)size;
	return IPC_S_OK;
}

enum ipc_status
blob_read(struct store_db *db, MDB_txn *txn, const uint8_t hash[MSG_HASH_LEN],
    uint64_t offset, size_t length, struct buf *out, size_t *len_r,
    struct store_error *err)
{
	struct blob_view v;
	enum ipc_status st;
	size_t n, got = 0;
	ssize_t r;
	int fd = -1;

	*len_r = 0;
	if ((st = blob_view_peek(db, txn, hash, &v, err)) != IPC_S_OK)
		return st;
	*len_r = v.len;
	n = offset < v.len ? (v.len - offset < length ?
	    (size_t)(v.len - offset) : length) : 0;
	/* In LMDB, or in the file's header the index keeps. */
	if (v.p != NULL || (v.head != NULL && offset + n <= v.head_len)) {
		buf_append(out, (const uint8_t *)(v.p != NULL ? v.p :
		    v.head) + offset, n);
		return IPC_S_OK;
	}
	if ((st = blob_fd_get(db, txn, hash, &fd, len_r, err)) != IPC_S_OK)
		return st;
	if (fd == -1 || *len_r != v.len) {
		if (fd != -1)
			close(fd);
		return db_error(err, IPC_S_NOTFOUND, "no such blob");
	}
	buf_reserve(out, n);
	while (got < n) {
		r = pread(fd, buf_tail(out) + got, n - got,
		    (off_t)(offset + got));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			st = db_error(err, IPC_S_INTERNAL, "blob file read: %s",
			    r == 0 ? "short file" : strerror(errno));
			close(fd);
			return st;
		}
		got += (size_t)r;
	}
	buf_commit(out, n);
	close(fd);
	return IPC_S_OK;
}
