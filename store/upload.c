/* SPDX-License-Identifier: ISC */
/*
 * upload.c: JMAP uploads (RFC 8620 6.1) kept as reference-counted blobs,
 * their per-account usage and expiry, and reading an upload or an email's
 * raw message into a worker's memfd (RFC 8620 6.2); see upload.h.
 */
#include "upload.h"
#include "blob.h"
#include "compat.h"
#include "key.h"
#include "message.h"
#include "wire.h"
#include "xmalloc.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An expiry key: expires(u64 BE) A(u64 BE) hash32. */
#define UPLOAD_XKEY_LEN	(8 + 8 + MSG_HASH_LEN)

static void
upload_key(struct key_mail *k, uint64_t acct, const uint8_t *hash)
{
	key_mail_init(k, acct);
	key_mail_bytes(k, hash, MSG_HASH_LEN);
}

static MDB_val
upload_xkey(uint8_t b[UPLOAD_XKEY_LEN], uint64_t expires, uint64_t acct,
    const uint8_t *hash)
{
	wire_be64_put(b, expires);
	wire_be64_put(b + 8, acct);
	memcpy(b + 16, hash, MSG_HASH_LEN);
	return (MDB_val){ UPLOAD_XKEY_LEN, b };
}

static int
upload_rec_dec(const void *p, size_t len, struct upload_rec *r)
{
	struct wire_reader rd;
	const char *type = "";
	size_t tlen = 0;
	uint8_t v = 0;

	memset(r, 0, sizeof(*r));
	wire_reader_init(&rd, p, len);
	if (wire_get_U8(&rd, &v) == 0 && v != 1)
		return -1;
	wire_get_U64(&rd, &r->size);
	wire_get_U64(&rd, &r->expires);
	wire_get_STRN(&rd, &type, &tlen);
	if (wire_reader_finish(&rd) == -1 || tlen > UPLOAD_TYPE_MAX)
		return -1;
	memcpy(r->type, type, tlen);
	r->type[tlen] = '\0';
	return 0;
}

/* Reads the upload of (acct, hash), expired or not. */
static enum ipc_status
upload_find(struct store_db *db, MDB_txn *txn, uint64_t acct,
    const uint8_t *hash, struct upload_rec *r, struct store_error *err)
{
	struct key_mail k;
	MDB_val kv, d;
	int rc;

	upload_key(&k, acct, hash);
	kv = KEY_MAIL_VAL(&k);
	if ((rc = mdb_get(txn, db->uploads, &kv, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no such upload");
	if (rc != 0)
		return db_mdb_error(err, rc, "upload read");
	if (upload_rec_dec(d.mv_data, d.mv_size, r) == -1)
		return db_error(err, IPC_S_INTERNAL, "corrupt upload record");
	return IPC_S_OK;
}

/* Writes the record and the expiry entry of (acct, hash). */
static enum ipc_status
upload_put(struct store_db *db, MDB_txn *txn, uint64_t acct,
    const uint8_t *hash, const struct upload_rec *r, struct store_error *err)
{
	uint8_t xb[UPLOAD_XKEY_LEN];
	struct buf b = BUF_INIT;
	struct key_mail k;
	MDB_val kv, d, xk, empty = { 0, NULL };
	int rc;

	wire_put_U8(&b, RECORD_V1);
	wire_put_U64(&b, r->size);
	wire_put_U64(&b, r->expires);
	wire_put_STR(&b, r->type);
	upload_key(&k, acct, hash);
	kv = KEY_MAIL_VAL(&k);
	d.mv_size = b.len;
	d.mv_data = b.data;
	xk = upload_xkey(xb, r->expires, acct, hash);
	if ((rc = mdb_put(txn, db->uploads, &kv, &d, 0)) == 0)
		rc = mdb_put(txn, db->upload_expiry, &xk, &empty, 0);
	buf_clear(&b);
	if (rc != 0)
		return db_mdb_error(err, rc, "upload write");
	return IPC_S_OK;
}

/* Deletes the expiry entry of an upload that expired at expires. */
static enum ipc_status
upload_del_xkey(struct store_db *db, MDB_txn *txn, uint64_t acct,
    const uint8_t *hash, uint64_t expires, struct store_error *err)
{
	uint8_t xb[UPLOAD_XKEY_LEN];
	MDB_val xk = upload_xkey(xb, expires, acct, hash);
	int rc;

	if ((rc = mdb_del(txn, db->upload_expiry, &xk, NULL)) != 0 &&
	    rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "upload expiry delete");
	return IPC_S_OK;
}

enum ipc_status
upload_usage(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t *bytes_r, uint32_t *count_r, struct store_error *err)
{
	struct wire_reader rd;
	struct key_mail k;
	MDB_val kv, d;
	uint8_t v = 0;
	int rc;

	*bytes_r = 0;
	*count_r = 0;
	key_mail_init(&k, account_id);
	kv = KEY_MAIL_VAL(&k);
	if ((rc = mdb_get(txn, db->uploads, &kv, &d)) == MDB_NOTFOUND)
		return IPC_S_OK;
	if (rc != 0)
		return db_mdb_error(err, rc, "upload usage");
	wire_reader_init(&rd, d.mv_data, d.mv_size);
	if (wire_get_U8(&rd, &v) == 0 && v != 1)
		rd.err = "unknown record version";
	wire_get_U64(&rd, bytes_r);
	wire_get_U32(&rd, count_r);
	if (wire_reader_finish(&rd) == -1)
		return db_error(err, IPC_S_INTERNAL, "corrupt upload usage");
	return IPC_S_OK;
}

/* Adds (sign 1) or takes away (sign -1) one upload of size bytes. */
static enum ipc_status
upload_count(struct store_db *db, MDB_txn *txn, uint64_t acct, uint64_t size,
    int sign, struct store_error *err)
{
	struct buf b = BUF_INIT;
	struct key_mail k;
	enum ipc_status st;
	MDB_val kv, d;
	uint64_t bytes;
	uint32_t n;
	int rc;

	if ((st = upload_usage(db, txn, acct, &bytes, &n, err)) != IPC_S_OK)
		return st;
	if (sign > 0) {
		bytes += size;
		n++;
	} else {
		/* Never below zero, whatever a corrupt record said. */
		bytes = bytes > size ? bytes - size : 0;
		n = n > 0 ? n - 1 : 0;
	}
	key_mail_init(&k, acct);
	kv = KEY_MAIL_VAL(&k);
	if (n == 0) {
		if ((rc = mdb_del(txn, db->uploads, &kv, NULL)) != 0 &&
		    rc != MDB_NOTFOUND)
			return db_mdb_error(err, rc, "upload usage delete");
		return IPC_S_OK;
	}
	wire_put_U8(&b, RECORD_V1);
	wire_put_U64(&b, bytes);
	wire_put_U32(&b, n);
	d.mv_size = b.len;
	d.mv_data = b.data;
	rc = mdb_put(txn, db->uploads, &kv, &d, 0);
	buf_clear(&b);
	if (rc != 0)
		return db_mdb_error(err, rc, "upload usage write");
	return IPC_S_OK;
}

/* Deletes upload (acct, hash) of record r and drops its blob reference. */
static enum ipc_status
upload_drop(struct store_db *db, MDB_txn *txn, uint64_t acct,
    const uint8_t *hash, const struct upload_rec *r, struct store_error *err)
{
	struct key_mail k;
	enum ipc_status st;
	MDB_val kv;
	int rc;

	upload_key(&k, acct, hash);
	kv = KEY_MAIL_VAL(&k);
	if ((rc = mdb_del(txn, db->uploads, &kv, NULL)) != 0)
		return db_mdb_error(err, rc, "upload delete");
	if ((st = upload_del_xkey(db, txn, acct, hash, r->expires, err)) !=
	    IPC_S_OK)
		return st;
	st = blob_unref(db, txn, hash, NULL, err);
	if (st != IPC_S_OK && st != IPC_S_NOTFOUND)
		return st;
	return upload_count(db, txn, acct, r->size, -1, err);
}

/* --- BLOB_UPLOAD --- */

struct upload_job *
upload_job_new(uint64_t account_id, int fd, uint64_t size, const char *type,
    uint64_t now, enum ipc_status *st_r, struct store_error *err)
{
	struct upload_job *j;

	if (size > UPLOAD_MAX_SIZE)
		*st_r = db_error(err, IPC_S_TOOBIG, "upload of %llu bytes "
		    "above %llu", (unsigned long long)size,
		    (unsigned long long)UPLOAD_MAX_SIZE);
	else if (strlen(type) > UPLOAD_TYPE_MAX)
		*st_r = db_error(err, IPC_S_INVALID, "media type longer "
		    "than %d bytes", UPLOAD_TYPE_MAX);
	else
		*st_r = IPC_S_OK;
	if (*st_r != IPC_S_OK) {
		if (fd != -1)
			close(fd);
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	j->account_id = account_id;
	j->fd = fd;
	j->size = size;
	strlcpy(j->type, type, sizeof(j->type));
	j->now = now;
	j->account_max = UPLOAD_ACCOUNT_MAX;
	j->account_count = UPLOAD_ACCOUNT_COUNT;
	return j;
}

void
upload_job_free(struct upload_job **jp)
{
	struct upload_job *j = *jp;

	*jp = NULL;
	if (j == NULL)
		return;
	if (j->fd != -1)
		close(j->fd);
	blob_tmp_discard(j->db, &j->tmp);
	free(j->data);
	free(j);
}

/* Reads exactly j->size bytes of the job's file (deliver_read's way). */
static enum ipc_status
upload_read(struct upload_job *j, struct store_error *err)
{
	struct stat sb;
	size_t off = 0, size = (size_t)j->size;
	ssize_t n;

	if (j->fd == -1 || fstat(j->fd, &sb) == -1 || !S_ISREG(sb.st_mode))
		return db_error(err, IPC_S_INVALID, "upload descriptor is "
		    "not a file");
	if ((uint64_t)sb.st_size != j->size)
		return db_error(err, IPC_S_INVALID, "upload is %lld bytes, "
		    "not %zu", (long long)sb.st_size, size);
	/* One byte at least: an empty upload is a blob too. */
	j->data = xmalloc(size > 0 ? size : 1);
	while (off < size) {
		n = pread(j->fd, j->data + off, size - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return db_error(err, IPC_S_INVALID, "upload file "
			    "shorter than its size");
		off += (size_t)n;
	}
	return IPC_S_OK;
}

enum ipc_status
upload_prepare(void *arg, struct store_error *err)
{
	struct upload_job *j = arg;
	enum ipc_status st;

	st = upload_read(j, err);
	if (j->fd != -1)
		close(j->fd);
	j->fd = -1;
	if (st != IPC_S_OK)
		return st;
	/* The sync of a big blob's file costs here, not in the writer. */
	return blob_hash_prepare(j->db, j->data, (size_t)j->size, j->hash,
	    &j->tmp, err);
}

struct upload_expired {
	uint64_t	 now;
	uint8_t		(*hash)[MSG_HASH_LEN];
	struct upload_rec *recs;
	size_t		 n, cap;
};

static int
upload_expired_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct upload_expired *x = arg;
	struct upload_rec r;

	if (k->mv_size != 8 + MSG_HASH_LEN ||
	    upload_rec_dec(v->mv_data, v->mv_size, &r) == -1 ||
	    r.expires > x->now)
		return 0;
	if (x->n == x->cap) {
		x->cap = x->cap == 0 ? 16 : x->cap * 2;
		x->hash = xreallocarray(x->hash, x->cap, sizeof(*x->hash));
		x->recs = xreallocarray(x->recs, x->cap, sizeof(*x->recs));
	}
	memcpy(x->hash[x->n], (const uint8_t *)k->mv_data + 8, MSG_HASH_LEN);
	x->recs[x->n++] = r;
	return 0;
}

/*
 * Drops the expired uploads of acct that the sweep has not reached yet,
 * so that only unexpired ones count against the limit.  Runs only when a
 * new upload would pass it: the account has at most UPLOAD_ACCOUNT_COUNT.
 */
static enum ipc_status
upload_drop_expired(struct store_db *db, MDB_txn *txn, uint64_t acct,
    uint64_t now, struct store_error *err)
{
	struct upload_expired x = { now, NULL, NULL, 0, 0 };
	struct key_mail pre;
	enum ipc_status st;
	size_t i;

	key_mail_init(&pre, acct);
	st = db_scan(txn, db->uploads, pre.b, pre.len, upload_expired_cb, &x,
	    err);
	for (i = 0; st == IPC_S_OK && i < x.n; i++)
		st = upload_drop(db, txn, acct, x.hash[i], &x.recs[i], err);
	free(x.hash);
	free(x.recs);
	return st;
}

/* Whether one more upload of the job passes the account's limits. */
static enum ipc_status
upload_fits(struct store_db *db, MDB_txn *txn, const struct upload_job *j,
    bool *fits_r, struct store_error *err)
{
	enum ipc_status st;
	uint64_t bytes;
	uint32_t n;

	if ((st = upload_usage(db, txn, j->account_id, &bytes, &n, err)) !=
	    IPC_S_OK)
		return st;
	*fits_r = bytes <= j->account_max &&
	    j->size <= j->account_max - bytes && n < j->account_count;
	return IPC_S_OK;
}

enum ipc_status
upload_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct upload_job *j = arg;
	struct upload_rec r;
	enum ipc_status st;
	bool fits;

	j->expires = j->now + UPLOAD_KEEP;
	j->renewed = false;
	st = upload_find(db, txn, j->account_id, j->hash, &r, err);
	if (st == IPC_S_OK) {
		/* The same bytes again: a later expiry, the latest type. */
		if ((st = upload_del_xkey(db, txn, j->account_id, j->hash,
		    r.expires, err)) != IPC_S_OK)
			return st;
		if (j->expires < r.expires)
			j->expires = r.expires;	/* a clock gone back */
		r.expires = j->expires;
		strlcpy(r.type, j->type, sizeof(r.type));
		j->renewed = true;
		return upload_put(db, txn, j->account_id, j->hash, &r, err);
	}
	if (st != IPC_S_NOTFOUND)
		return st;
	if ((st = upload_fits(db, txn, j, &fits, err)) != IPC_S_OK)
		return st;
	if (!fits && ((st = upload_drop_expired(db, txn, j->account_id,
	    j->now, err)) != IPC_S_OK ||
	    (st = upload_fits(db, txn, j, &fits, err)) != IPC_S_OK))
		return st;
	if (!fits)
		return db_error(err, IPC_S_QUOTA, "pending uploads above "
		    "%llu bytes or %u uploads",
		    (unsigned long long)j->account_max, j->account_count);
	memset(&r, 0, sizeof(r));
	r.size = j->size;
	r.expires = j->expires;
	strlcpy(r.type, j->type, sizeof(r.type));
	if ((st = blob_ref_tmp(db, txn, j->hash, j->data, (size_t)j->size,
	    &j->tmp, NULL, err)) != IPC_S_OK ||
	    (st = upload_put(db, txn, j->account_id, j->hash, &r, err)) !=
	    IPC_S_OK)
		return st;
	return upload_count(db, txn, j->account_id, j->size, 1, err);
}

/* --- BLOB_FILE --- */

enum ipc_status
upload_get(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const uint8_t hash[MSG_HASH_LEN], uint64_t now, struct upload_rec *r,
    struct store_error *err)
{
	enum ipc_status st;

	if ((st = upload_find(db, txn, account_id, hash, r, err)) != IPC_S_OK)
		return st;
	if (r->expires <= now)
		return db_error(err, IPC_S_NOTFOUND, "no such upload");
	return IPC_S_OK;
}

/*
 * Checks that fd is an empty memfd that storaged may write: only a memfd
 * has seals, and a write seal would fail the write halfway.
 */
static enum ipc_status
upload_memfd_check(int fd, struct store_error *err)
{
	struct stat sb;
	int seals, fl;

	if ((seals = fcntl(fd, F_GET_SEALS)) == -1 ||
	    (fl = fcntl(fd, F_GETFL)) == -1 || fstat(fd, &sb) == -1 ||
	    !S_ISREG(sb.st_mode) || sb.st_size != 0)
		return db_error(err, IPC_S_INVALID, "not an empty memfd");
	if ((fl & O_ACCMODE) == O_RDONLY ||
	    (seals & (F_SEAL_WRITE | F_SEAL_GROW)) != 0)
		return db_error(err, IPC_S_INVALID, "memfd not writable");
	return IPC_S_OK;
}

/* Finds the bytes of the blob that account_id may read. */
static enum ipc_status
upload_blob_find(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t kind, const uint8_t *hash, size_t hash_len, uint64_t email_id,
    uint64_t now, struct blob_view *v, uint8_t hash_r[MSG_HASH_LEN],
    char type[UPLOAD_TYPE_MAX + 1], struct store_error *err)
{
	struct message_rec *m;
	struct upload_rec r;
	enum ipc_status st;

	type[0] = '\0';
	if (kind == UPLOAD_KIND_UPLOAD) {
		if (hash_len != MSG_HASH_LEN)
			return db_error(err, IPC_S_NOTFOUND, "no such upload");
		memcpy(hash_r, hash, MSG_HASH_LEN);
		if ((st = upload_get(db, txn, account_id, hash, now, &r,
		    err)) != IPC_S_OK ||
		    (st = blob_view_peek(db, txn, hash, v, err)) !=
		    IPC_S_OK)
			return st;
		if (v->len != r.size) {
			st = db_error(err, IPC_S_INTERNAL, "upload of %llu "
			    "bytes has a blob of %zu",
			    (unsigned long long)r.size, v->len);
			blob_view_release(v);
			return st;
		}
		strlcpy(type, r.type, UPLOAD_TYPE_MAX + 1);
		return IPC_S_OK;
	}
	if (kind != UPLOAD_KIND_EMAIL)
		return db_error(err, IPC_S_NOTFOUND, "no blob of kind %u",
		    kind);
	/* A message record holds every keyword: too big for the stack. */
	m = xmalloc(sizeof(*m));
	if ((st = message_get(db, txn, account_id, email_id, m, err)) ==
	    IPC_S_OK) {
		st = blob_view_peek(db, txn, m->hash, v, err);
		memcpy(hash_r, m->hash, MSG_HASH_LEN);
	}
	free(m);
	return st;
}

enum ipc_status
upload_file_op(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t kind, const uint8_t *hash, size_t hash_len, uint64_t email_id,
    uint64_t now, int fd, bool file_ok, int *file_fd_r, uint64_t *size_r,
    char type[UPLOAD_TYPE_MAX + 1], struct store_error *err)
{
	uint8_t h[MSG_HASH_LEN];
	struct blob_view bv = { 0 };
	const uint8_t *p;
	enum ipc_status st;
	size_t len, off = 0;
	ssize_t n;

	*size_r = 0;
	*file_fd_r = -1;
	type[0] = '\0';
	if ((st = upload_memfd_check(fd, err)) != IPC_S_OK ||
	    (st = upload_blob_find(db, txn, account_id, kind, hash, hash_len,
	    email_id, now, &bv, h, type, err)) != IPC_S_OK)
		return st;
	if (bv.p == NULL && file_ok) {
		/* A file: its descriptor, read as it is. */
		if ((st = blob_fd_get(db, txn, h, file_fd_r, &len, err)) !=
		    IPC_S_OK)
			return st;
		if (*file_fd_r == -1 || len != bv.len) {
			if (*file_fd_r != -1)
				close(*file_fd_r);
			*file_fd_r = -1;
			return db_error(err, IPC_S_INTERNAL, "blob file is "
			    "not of its size %zu", bv.len);
		}
		*size_r = len;
		return IPC_S_OK;
	}
	if (bv.p == NULL && (st = blob_view_get(db, txn, h, &bv, NULL,
	    err)) != IPC_S_OK)
		return st;
	p = bv.p;
	len = bv.len;
	if (len > UPLOAD_FILE_MAX)
		st = db_error(err, IPC_S_TOOBIG, "blob of %zu bytes", len);
	while (st == IPC_S_OK && off < len) {
		n = pwrite(fd, p + off, len - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			st = db_error(err, IPC_S_INVALID, "cannot write the "
			    "blob to the memfd: %s", n == 0 ? "no space" :
			    strerror(errno));
		else
			off += (size_t)n;
	}
	blob_view_release(&bv);
	if (st == IPC_S_OK)
		*size_r = len;
	return st;
}

/* --- Expiry --- */

enum ipc_status
upload_sweep(struct store_db *db, MDB_txn *txn, uint64_t now, size_t max,
    size_t *swept_r, struct store_error *err)
{
	uint8_t hash[MSG_HASH_LEN];
	struct upload_rec r;
	enum ipc_status st = IPC_S_OK;
	MDB_cursor *cur;
	MDB_val k, d;
	uint64_t expires, acct;
	size_t seen;
	int rc = 0;

	*swept_r = 0;
	if ((rc = mdb_cursor_open(txn, db->upload_expiry, &cur)) != 0)
		return db_mdb_error(err, rc, "upload expiry cursor");
	/*
	 * Each round deletes the first entry, so the next is first again;
	 * entries without their upload count against max too.
	 */
	for (seen = 0; seen < max &&
	    (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST)) == 0; seen++) {
		if (k.mv_size != UPLOAD_XKEY_LEN) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			continue;
		}
		expires = wire_be64_get(k.mv_data);
		if (expires > now)
			break;
		acct = wire_be64_get((const uint8_t *)k.mv_data + 8);
		memcpy(hash, (const uint8_t *)k.mv_data + 16, MSG_HASH_LEN);
		st = upload_find(db, txn, acct, hash, &r, err);
		if (st == IPC_S_OK && r.expires == expires) {
			/* upload_drop deletes this entry too. */
			if ((st = upload_drop(db, txn, acct, hash, &r, err)) !=
			    IPC_S_OK)
				break;
			(*swept_r)++;
			continue;
		}
		if (st != IPC_S_OK && st != IPC_S_NOTFOUND)
			break;
		/* An entry without its upload: the account went. */
		st = IPC_S_OK;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (st != IPC_S_OK)
		return st;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "upload sweep");
	return IPC_S_OK;
}
