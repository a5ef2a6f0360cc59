/* SPDX-License-Identifier: ISC */
/*
 * test_store_upload.c: JMAP uploads and blob reads (store/upload.h) on a
 * real LMDB environment in a temporary directory, called without IPC: an
 * upload read back byte for byte, the same bytes again (one blob
 * reference, a later expiry, counted once), the checks of the request and
 * of the memfd, another account's uploads and emails not found, the
 * account's limits (nothing stored beyond them; expired uploads not
 * counted), the expiry sweep (bounded; a blob a message shares stays),
 * an email's raw message, the purge with the account, uploads through the
 * group-commit writer, and the schema step from version 4.
 */
/* unit-deps: store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/name.c store/key.c store/record.c store/strvec.c store/domain.c store/account.c store/alias.c store/quota.c store/auth.c store/mailbox.c store/changelog.c store/message.c store/blob.c store/txn.c store/loopwake.c store/recent.c store/upload.c */
#include "harness.h"
#include "compat.h"

#include "store/account.h"
#include "store/auth.h"
#include "store/blob.h"
#include "store/db.h"
#include "store/domain.h"
#include "store/mailbox.h"
#include "store/message.h"
#include "store/schema.h"
#include "store/txn.h"
#include "store/upload.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#define MAP_SIZE	(64u << 20)
#define NOW		1700000000ull
#define INBOX		1

static const char *
fresh_dir(void)
{
	static char path[256];
	static int n;

	snprintf(path, sizeof(path), "%s/upload%d", harness_tmpdir(), n++);
	return path;
}

static int
open_fresh(struct store_db *db)
{
	struct store_error err;

	if (db_open(db, fresh_dir(), MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return -1;
	}
	return 0;
}

/* An account with a cheap hash in domain example.org. */
static uint64_t
add_account(struct store_db *db, const char *name)
{
	char hash[crypto_pwhash_STRBYTES];
	char dom[NAME_DOMAIN_MAX + 1];
	struct store_error err;
	struct name_addr a;
	uint64_t id = 0;

	(void)domain_add(db, "example.org", NOW, dom, &err);
	if (auth_hash_password("secret", crypto_pwhash_OPSLIMIT_MIN,
	    crypto_pwhash_MEMLIMIT_MIN, hash) != 0 ||
	    account_check_new(db, name, &a, &err) != IPC_S_OK ||
	    account_add(db, &a, hash, 0, 0, NOW, &id, &err) != IPC_S_OK)
		harness_fail(__FILE__, __LINE__, "add_account %s: %s", name,
		    err.text);
	return id;
}

static int
memfd_of(const void *p, size_t len)
{
	int fd = memfd_create("upload", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd == -1 || (len > 0 && write(fd, p, len) != (ssize_t)len))
		harness_fail(__FILE__, __LINE__, "memfd");
	return fd;
}

/* A job for text as an upload of acct at now. */
static struct upload_job *
job_of(uint64_t acct, const char *text, const char *type, uint64_t now)
{
	struct store_error err;
	enum ipc_status st;
	struct upload_job *j;

	j = upload_job_new(acct, memfd_of(text, strlen(text)), strlen(text),
	    type, now, &st, &err);
	if (j == NULL)
		harness_fail(__FILE__, __LINE__, "upload_job_new: %s",
		    err.text);
	return j;
}

/* Uploads text for acct at now, as BLOB_UPLOAD does, with limits. */
static enum ipc_status
upload_lim(struct store_db *db, uint64_t acct, const char *text,
    const char *type, uint64_t now, uint64_t max, uint32_t count,
    struct upload_job **jp)
{
	struct upload_job *j = job_of(acct, text, type, now);
	struct store_error err;
	enum ipc_status st;

	if (j == NULL)
		return IPC_S_INTERNAL;
	j->account_max = max;
	j->account_count = count;
	if ((st = upload_prepare(j, &err)) == IPC_S_OK)
		st = mail_txn_run(db, upload_apply, j, &err);
	if (jp != NULL)
		*jp = j;
	else
		upload_job_free(&j);
	return st;
}

static enum ipc_status
upload(struct store_db *db, uint64_t acct, const char *text, uint64_t now,
    struct upload_job **jp)
{
	return upload_lim(db, acct, text, "text/plain", now,
	    UPLOAD_ACCOUNT_MAX, UPLOAD_ACCOUNT_COUNT, jp);
}

/*
 * Reads a blob as BLOB_FILE does into a fresh memfd; its bytes go to out
 * (NUL-terminated, cut to outlen), its type to type.
 */
static enum ipc_status
read_blob(struct store_db *db, uint64_t acct, uint32_t kind,
    const uint8_t *hash, uint64_t email, uint64_t now, char *out,
    size_t outlen, uint64_t *size_r, char type[UPLOAD_TYPE_MAX + 1])
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;
	ssize_t n;
	int fd = memfd_of(NULL, 0), ffd = -1;

	out[0] = '\0';
	*size_r = 0;
	if ((st = db_begin(db, false, &txn, &err)) != IPC_S_OK) {
		close(fd);
		return st;
	}
	st = upload_file_op(db, txn, acct, kind, hash,
	    hash != NULL ? MSG_HASH_LEN : 0, email, now, fd, true, &ffd,
	    size_r, type, &err);
	db_abort(&txn);
	if (st == IPC_S_OK) {
		n = pread(ffd != -1 ? ffd : fd, out, outlen - 1, 0);
		out[n > 0 ? n : 0] = '\0';
	}
	if (ffd != -1)
		close(ffd);
	close(fd);
	return st;
}

static uint64_t
blob_refs_of(struct store_db *db, const uint8_t *hash)
{
	struct store_error err;
	struct blob_view bv;
	uint64_t refs = 0;
	MDB_txn *txn;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return 0;
	if (blob_view_get(db, txn, hash, &bv, &refs, &err) != IPC_S_OK)
		refs = 0;
	blob_view_release(&bv);
	db_abort(&txn);
	return refs;
}

static void
usage_of(struct store_db *db, uint64_t acct, uint64_t *bytes, uint32_t *n)
{
	struct store_error err;
	MDB_txn *txn;

	*bytes = UINT64_MAX;
	*n = UINT32_MAX;
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return;
	if (upload_usage(db, txn, acct, bytes, n, &err) != IPC_S_OK)
		harness_fail(__FILE__, __LINE__, "usage: %s", err.text);
	db_abort(&txn);
}

static size_t
db_entries(struct store_db *db, MDB_dbi dbi)
{
	struct store_error err;
	MDB_txn *txn;
	MDB_stat ms;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return SIZE_MAX;
	if (mdb_stat(txn, dbi, &ms) != 0)
		ms.ms_entries = SIZE_MAX;
	db_abort(&txn);
	return ms.ms_entries;
}

/* Blobs of both kinds: bytes in LMDB and files (blob.h). */
static size_t
blob_entries(struct store_db *db)
{
	return db_entries(db, db->blobs) + db_entries(db, db->blob_files);
}

struct sweep_arg {
	uint64_t	 now;
	size_t		 max, swept;
};

static enum ipc_status
sweep_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct sweep_arg *s = arg;

	return upload_sweep(db, txn, s->now, s->max, &s->swept, err);
}

static size_t
sweep(struct store_db *db, uint64_t now, size_t max)
{
	struct sweep_arg s = { now, max, 0 };
	struct store_error err;

	if (mail_txn_run(db, sweep_apply, &s, &err) != IPC_S_OK)
		harness_fail(__FILE__, __LINE__, "sweep: %s", err.text);
	return s.swept;
}

/* Delivers text to acct's INBOX (its own bytes as the record). */
struct mail {
	struct message_new	 in;
	struct message_result	 out;
};

static enum ipc_status
mail_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail *m = arg;

	return message_append(db, txn, &m->in, &m->out, err);
}

static uint64_t
deliver(struct store_db *db, uint64_t acct, const char *text)
{
	struct store_error err;
	struct mail m;

	memset(&m, 0, sizeof(m));
	m.in.account_id = acct;
	m.in.mailbox_id = INBOX;
	m.in.received = NOW;
	m.in.now = NOW;
	m.in.data = text;
	m.in.size = strlen(text);
	blob_hash(text, m.in.size, m.in.hash);
	m.in.record = "rec";
	m.in.record_len = 3;
	m.in.message_id = "";
	m.in.base_subject = "s";
	if (mail_txn_run(db, mail_apply, &m, &err) != IPC_S_OK) {
		harness_fail(__FILE__, __LINE__, "deliver: %s", err.text);
		return 0;
	}
	return m.out.email_id;
}

static void
hash_of(const char *text, uint8_t hash[MSG_HASH_LEN])
{
	blob_hash(text, strlen(text), hash);
}

TEST(test_upload_read_back)
{
	static const char text[] = "Hello,\r\nan attachment\0with a NUL.";
	char out[128], type[UPLOAD_TYPE_MAX + 1];
	uint8_t h[MSG_HASH_LEN], e[MSG_HASH_LEN];
	struct upload_job *j = NULL;
	struct store_error err;
	struct store_db db;
	enum ipc_status st;
	uint64_t acct, size, bytes;
	uint32_t n;
	size_t len = sizeof(text) - 1;
	int fd;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	/* Binary bytes: the job is made from the descriptor, not a string. */
	j = upload_job_new(acct, memfd_of(text, len), len, "image/png", NOW,
	    &st, &err);
	CHECK(j != NULL);
	if (j == NULL)
		goto out;
	CHECK_INT(upload_prepare(j, &err), IPC_S_OK);
	CHECK_INT(j->fd, -1);
	blob_hash(text, len, h);
	CHECK(memcmp(j->hash, h, MSG_HASH_LEN) == 0);
	CHECK_INT(mail_txn_run(&db, upload_apply, j, &err), IPC_S_OK);
	CHECK_INT(j->expires, NOW + UPLOAD_KEEP);
	CHECK(!j->renewed);
	upload_job_free(&j);
	CHECK_INT(blob_refs_of(&db, h), 1);
	usage_of(&db, acct, &bytes, &n);
	CHECK_INT(bytes, len);
	CHECK_INT(n, 1);

	CHECK_INT(read_blob(&db, acct, UPLOAD_KIND_UPLOAD, h, 0, NOW + 10,
	    out, sizeof(out), &size, type), IPC_S_OK);
	CHECK_INT(size, len);
	CHECK(memcmp(out, text, len) == 0);
	CHECK_STR(type, "image/png");
	/* Readable until its expiry, not at it. */
	CHECK_INT(read_blob(&db, acct, UPLOAD_KIND_UPLOAD, h, 0,
	    NOW + UPLOAD_KEEP - 1, out, sizeof(out), &size, type), IPC_S_OK);
	CHECK_INT(read_blob(&db, acct, UPLOAD_KIND_UPLOAD, h, 0,
	    NOW + UPLOAD_KEEP, out, sizeof(out), &size, type),
	    IPC_S_NOTFOUND);
	/* Unknown hashes and kinds. */
	hash_of("something else", e);
	CHECK_INT(read_blob(&db, acct, UPLOAD_KIND_UPLOAD, e, 0, NOW, out,
	    sizeof(out), &size, type), IPC_S_NOTFOUND);
	CHECK_INT(read_blob(&db, acct, 7, h, 0, NOW, out, sizeof(out), &size,
	    type), IPC_S_NOTFOUND);
	CHECK_INT(read_blob(&db, acct, UPLOAD_KIND_UPLOAD, NULL, 0, NOW, out,
	    sizeof(out), &size, type), IPC_S_NOTFOUND);

	/* An empty upload is a blob too. */
	CHECK_INT(upload(&db, acct, "", NOW, NULL), IPC_S_OK);
	hash_of("", e);
	CHECK_INT(read_blob(&db, acct, UPLOAD_KIND_UPLOAD, e, 0, NOW, out,
	    sizeof(out), &size, type), IPC_S_OK);
	CHECK_INT(size, 0);
	CHECK_STR(type, "text/plain");
	usage_of(&db, acct, &bytes, &n);
	CHECK_INT(bytes, len);
	CHECK_INT(n, 2);

	/* Written only into an empty, writable, unsealed memfd. */
	{
		MDB_txn *txn;
		char path[64];
		int p[2], ro, ffd;

		CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
		fd = memfd_of("x", 1);
		CHECK_INT(upload_file_op(&db, txn, acct, 0, h, MSG_HASH_LEN,
		    0, NOW, fd, false, &ffd, &size, type, &err),
		    IPC_S_INVALID);
		close(fd);
		fd = memfd_of(NULL, 0);
		CHECK_INT(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
		CHECK_INT(upload_file_op(&db, txn, acct, 0, h, MSG_HASH_LEN,
		    0, NOW, fd, false, &ffd, &size, type, &err),
		    IPC_S_INVALID);
		close(fd);
		fd = memfd_of(NULL, 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ro = open(path, O_RDONLY | O_CLOEXEC);
		CHECK(ro != -1);
		CHECK_INT(upload_file_op(&db, txn, acct, 0, h, MSG_HASH_LEN,
		    0, NOW, ro, false, &ffd, &size, type, &err),
		    IPC_S_INVALID);
		CHECK_INT(lseek(fd, 0, SEEK_END), 0);
		close(ro);
		close(fd);
		CHECK_INT(pipe(p), 0);
		CHECK_INT(upload_file_op(&db, txn, acct, 0, h, MSG_HASH_LEN,
		    0, NOW, p[1], false, &ffd, &size, type, &err),
		    IPC_S_INVALID);
		close(p[0]);
		close(p[1]);
		CHECK_INT(upload_file_op(&db, txn, acct, 0, h, MSG_HASH_LEN,
		    0, NOW, -1, false, &ffd, &size, type, &err),
		    IPC_S_INVALID);
		db_abort(&txn);
	}
out:
	upload_job_free(&j);
	db_close(&db);
}

TEST(test_upload_request_checks)
{
	char type[UPLOAD_TYPE_MAX + 2];
	struct store_error err;
	struct upload_job *j;
	enum ipc_status st;
	int p[2];

	/* Too large: refused before anything is read. */
	j = upload_job_new(1, memfd_of("x", 1), UPLOAD_MAX_SIZE + 1, "", NOW,
	    &st, &err);
	CHECK(j == NULL);
	CHECK_INT(st, IPC_S_TOOBIG);
	j = upload_job_new(1, -1, UPLOAD_MAX_SIZE, "", NOW, &st, &err);
	CHECK(j != NULL);
	CHECK_INT(st, IPC_S_OK);
	/* ... and a descriptor that is missing. */
	if (j != NULL)
		CHECK_INT(upload_prepare(j, &err), IPC_S_INVALID);
	upload_job_free(&j);
	memset(type, 'a', sizeof(type) - 1);
	type[sizeof(type) - 1] = '\0';
	j = upload_job_new(1, memfd_of("x", 1), 1, type, NOW, &st, &err);
	CHECK(j == NULL);
	CHECK_INT(st, IPC_S_INVALID);
	type[UPLOAD_TYPE_MAX] = '\0';
	j = upload_job_new(1, memfd_of("x", 1), 1, type, NOW, &st, &err);
	CHECK(j != NULL);
	upload_job_free(&j);

	/* The size must be the file's. */
	j = upload_job_new(1, memfd_of("abc", 3), 4, "", NOW, &st, &err);
	if (j != NULL)
		CHECK_INT(upload_prepare(j, &err), IPC_S_INVALID);
	upload_job_free(&j);
	j = upload_job_new(1, memfd_of("abc", 3), 2, "", NOW, &st, &err);
	if (j != NULL)
		CHECK_INT(upload_prepare(j, &err), IPC_S_INVALID);
	upload_job_free(&j);
	/* Not a file. */
	CHECK_INT(pipe(p), 0);
	CHECK_INT(write(p[1], "abc", 3), 3);
	j = upload_job_new(1, p[0], 3, "", NOW, &st, &err);
	if (j != NULL) {
		CHECK_INT(upload_prepare(j, &err), IPC_S_INVALID);
		CHECK_INT(j->fd, -1);
	}
	upload_job_free(&j);
	close(p[1]);
}

TEST(test_upload_twice)
{
	static const char text[] = "the same bytes";
	char out[64], type[UPLOAD_TYPE_MAX + 1];
	uint8_t h[MSG_HASH_LEN];
	struct upload_job *j = NULL;
	struct store_db db;
	uint64_t acct, size, bytes;
	uint32_t n;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	hash_of(text, h);
	CHECK_INT(upload(&db, acct, text, NOW, NULL), IPC_S_OK);
	CHECK_INT(upload_lim(&db, acct, text, "application/x-later",
	    NOW + 100, UPLOAD_ACCOUNT_MAX, UPLOAD_ACCOUNT_COUNT, &j),
	    IPC_S_OK);
	if (j != NULL) {
		CHECK(j->renewed);
		CHECK_INT(j->expires, NOW + 100 + UPLOAD_KEEP);
		CHECK(memcmp(j->hash, h, MSG_HASH_LEN) == 0);
	}
	upload_job_free(&j);
	CHECK_INT(blob_refs_of(&db, h), 1);
	usage_of(&db, acct, &bytes, &n);
	CHECK_INT(bytes, strlen(text));
	CHECK_INT(n, 1);
	/* One expiry entry: the first one's went with the renewal. */
	CHECK_INT(db_entries(&db, db.upload_expiry), 1);
	/* Past the first expiry: nothing to sweep, still readable. */
	CHECK_INT(sweep(&db, NOW + UPLOAD_KEEP + 50, 100), 0);
	CHECK_INT(read_blob(&db, acct, UPLOAD_KIND_UPLOAD, h, 0,
	    NOW + UPLOAD_KEEP + 50, out, sizeof(out), &size, type), IPC_S_OK);
	CHECK_STR(out, text);
	CHECK_STR(type, "application/x-later");
	/* A clock gone back does not shorten it. */
	CHECK_INT(upload(&db, acct, text, NOW, &j), IPC_S_OK);
	if (j != NULL)
		CHECK_INT(j->expires, NOW + 100 + UPLOAD_KEEP);
	upload_job_free(&j);
	CHECK_INT(sweep(&db, NOW + 100 + UPLOAD_KEEP, 100), 1);
	CHECK_INT(blob_refs_of(&db, h), 0);
	usage_of(&db, acct, &bytes, &n);
	CHECK_INT(bytes, 0);
	CHECK_INT(n, 0);
	db_close(&db);
}

TEST(test_upload_other_account)
{
	static const char text[] = "alice's draft attachment";
	char out[64], type[UPLOAD_TYPE_MAX + 1];
	uint8_t h[MSG_HASH_LEN];
	struct store_db db;
	uint64_t alice, bob, size, bytes;
	uint32_t n;

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	bob = add_account(&db, "bob@example.org");
	hash_of(text, h);
	CHECK_INT(upload(&db, alice, text, NOW, NULL), IPC_S_OK);
	CHECK_INT(read_blob(&db, bob, UPLOAD_KIND_UPLOAD, h, 0, NOW, out,
	    sizeof(out), &size, type), IPC_S_NOTFOUND);
	CHECK_INT(size, 0);
	CHECK_STR(out, "");
	usage_of(&db, bob, &bytes, &n);
	CHECK_INT(n, 0);
	/* Bob's upload of the same bytes is his own, sharing the blob. */
	CHECK_INT(upload(&db, bob, text, NOW + 5, NULL), IPC_S_OK);
	CHECK_INT(blob_refs_of(&db, h), 2);
	usage_of(&db, bob, &bytes, &n);
	CHECK_INT(bytes, strlen(text));
	CHECK_INT(n, 1);
	CHECK_INT(sweep(&db, NOW + UPLOAD_KEEP, 100), 1);
	CHECK_INT(read_blob(&db, alice, UPLOAD_KIND_UPLOAD, h, 0,
	    NOW + UPLOAD_KEEP, out, sizeof(out), &size, type),
	    IPC_S_NOTFOUND);
	CHECK_INT(read_blob(&db, bob, UPLOAD_KIND_UPLOAD, h, 0,
	    NOW + UPLOAD_KEEP, out, sizeof(out), &size, type), IPC_S_OK);
	CHECK_STR(out, text);
	CHECK_INT(blob_refs_of(&db, h), 1);
	db_close(&db);
}

TEST(test_upload_limit)
{
	/* 60 + 30 + 10 bytes fill a limit of 100. */
	char a[61], b[31], c[11], d[51], e[41], x[3][16];
	uint8_t h[MSG_HASH_LEN];
	struct store_db db;
	uint64_t acct, bytes;
	uint32_t n;
	int i;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	memset(a, 'a', 60), a[60] = '\0';
	memset(b, 'b', 30), b[30] = '\0';
	memset(c, 'c', 10), c[10] = '\0';
	memset(d, 'd', 50), d[50] = '\0';
	memset(e, 'e', 40), e[40] = '\0';
	CHECK_INT(upload_lim(&db, acct, a, "", NOW, 100, 100, NULL),
	    IPC_S_OK);
	CHECK_INT(upload_lim(&db, acct, d, "", NOW, 100, 100, NULL),
	    IPC_S_QUOTA);
	/* Nothing of the refused one is stored. */
	hash_of(d, h);
	CHECK_INT(blob_refs_of(&db, h), 0);
	CHECK_INT(blob_entries(&db), 1);
	CHECK_INT(db_entries(&db, db.upload_expiry), 1);
	usage_of(&db, acct, &bytes, &n);
	CHECK_INT(bytes, 60);
	CHECK_INT(n, 1);
	CHECK_INT(upload_lim(&db, acct, b, "", NOW + 1, 100, 100, NULL),
	    IPC_S_OK);
	CHECK_INT(upload_lim(&db, acct, c, "", NOW + 2, 100, 100, NULL),
	    IPC_S_OK);
	usage_of(&db, acct, &bytes, &n);
	CHECK_INT(bytes, 100);
	CHECK_INT(n, 3);
	/* Full: one byte more is refused, the same bytes again are not. */
	CHECK_INT(upload_lim(&db, acct, "z", "", NOW + 3, 100, 100, NULL),
	    IPC_S_QUOTA);
	CHECK_INT(upload_lim(&db, acct, a, "", NOW + 3, 100, 100, NULL),
	    IPC_S_OK);
	/*
	 * Once b and c expire (a was renewed), they no longer count, swept
	 * or not: e fits, d does not.
	 */
	CHECK_INT(upload_lim(&db, acct, d, "", NOW + 2 + UPLOAD_KEEP, 100,
	    100, NULL), IPC_S_QUOTA);
	CHECK_INT(upload_lim(&db, acct, e, "", NOW + 2 + UPLOAD_KEEP, 100,
	    100, NULL), IPC_S_OK);
	usage_of(&db, acct, &bytes, &n);
	CHECK_INT(bytes, 100);
	CHECK_INT(n, 2);
	hash_of(b, h);
	CHECK_INT(blob_refs_of(&db, h), 0);
	CHECK_INT(db_entries(&db, db.upload_expiry), 2);

	/* The count of uploads has its limit too. */
	acct = add_account(&db, "bob@example.org");
	for (i = 0; i < 3; i++) {
		snprintf(x[i], sizeof(x[i]), "up %d", i);
		CHECK_INT(upload_lim(&db, acct, x[i], "", NOW, 1000, 2, NULL),
		    i < 2 ? IPC_S_OK : IPC_S_QUOTA);
	}
	usage_of(&db, acct, &bytes, &n);
	CHECK_INT(bytes, 8);
	CHECK_INT(n, 2);
	db_close(&db);
}

TEST(test_upload_sweep)
{
	static const char shared[] = "From: a@example.net\r\n\r\nshared\r\n";
	static const char *only[] = { "only one", "only two", "only three" };
	char out[64], type[UPLOAD_TYPE_MAX + 1];
	uint8_t hs[MSG_HASH_LEN], h[MSG_HASH_LEN];
	struct store_db db;
	uint64_t acct, email, size, bytes;
	uint32_t n;
	size_t i;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	hash_of(shared, hs);
	/* Uploaded, then imported: the message shares the upload's blob. */
	CHECK_INT(upload(&db, acct, shared, NOW, NULL), IPC_S_OK);
	email = deliver(&db, acct, shared);
	CHECK_INT(blob_refs_of(&db, hs), 2);
	CHECK_INT(blob_entries(&db), 1);
	for (i = 0; i < 3; i++)
		CHECK_INT(upload(&db, acct, only[i], NOW + 1000, NULL),
		    IPC_S_OK);
	/* Not yet expired. */
	CHECK_INT(sweep(&db, NOW + UPLOAD_KEEP - 1, 100), 0);
	CHECK_INT(sweep(&db, NOW + UPLOAD_KEEP, 100), 1);
	CHECK_INT(read_blob(&db, acct, UPLOAD_KIND_UPLOAD, hs, 0,
	    NOW + UPLOAD_KEEP, out, sizeof(out), &size, type),
	    IPC_S_NOTFOUND);
	/* The message still has its bytes. */
	CHECK_INT(blob_refs_of(&db, hs), 1);
	CHECK_INT(read_blob(&db, acct, UPLOAD_KIND_EMAIL, NULL, email,
	    NOW + UPLOAD_KEEP, out, sizeof(out), &size, type), IPC_S_OK);
	CHECK_STR(out, shared);
	usage_of(&db, acct, &bytes, &n);
	CHECK_INT(bytes, 8 + 8 + 10);
	CHECK_INT(n, 3);
	/* At most max per run. */
	CHECK_INT(sweep(&db, NOW + 1000 + UPLOAD_KEEP, 2), 2);
	CHECK_INT(sweep(&db, NOW + 1000 + UPLOAD_KEEP, 2), 1);
	CHECK_INT(sweep(&db, NOW + 1000 + UPLOAD_KEEP, 2), 0);
	for (i = 0; i < 3; i++) {
		struct store_error err;
		struct blob_view bv;
		MDB_txn *txn;

		hash_of(only[i], h);
		CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
		CHECK_INT(blob_view_get(&db, txn, h, &bv, NULL, &err),
		    IPC_S_NOTFOUND);
		db_abort(&txn);
	}
	/* Nothing left: no record, no usage, no expiry entry. */
	CHECK_INT(db_entries(&db, db.uploads), 0);
	CHECK_INT(db_entries(&db, db.upload_expiry), 0);
	CHECK_INT(blob_entries(&db), 1);
	db_close(&db);
}

TEST(test_blob_file_email)
{
	static const char text[] = "From: Bob <bob@example.net>\r\n"
	    "Subject: Raw\r\n\r\nThe raw message.\r\n";
	char out[128], type[UPLOAD_TYPE_MAX + 1];
	struct store_db db;
	uint64_t alice, bob, email, size;

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	bob = add_account(&db, "bob@example.org");
	email = deliver(&db, alice, text);
	CHECK(email != 0);
	memset(type, 'x', 4);
	type[4] = '\0';
	CHECK_INT(read_blob(&db, alice, UPLOAD_KIND_EMAIL, NULL, email, NOW,
	    out, sizeof(out), &size, type), IPC_S_OK);
	CHECK_INT(size, strlen(text));
	CHECK_STR(out, text);
	CHECK_STR(type, "");
	CHECK_INT(read_blob(&db, bob, UPLOAD_KIND_EMAIL, NULL, email, NOW,
	    out, sizeof(out), &size, type), IPC_S_NOTFOUND);
	CHECK_INT(read_blob(&db, alice, UPLOAD_KIND_EMAIL, NULL, email + 1,
	    NOW, out, sizeof(out), &size, type), IPC_S_NOTFOUND);
	/* An email is not an upload, whatever its hash. */
	{
		uint8_t h[MSG_HASH_LEN];

		hash_of(text, h);
		CHECK_INT(read_blob(&db, alice, UPLOAD_KIND_UPLOAD, h, 0, NOW,
		    out, sizeof(out), &size, type), IPC_S_NOTFOUND);
	}
	db_close(&db);
}

/*
 * A blob kept as a file is read through a descriptor of that file when
 * the caller takes one (file_ok), copied into the memfd otherwise.
 */
TEST(test_upload_big_as_file)
{
	struct store_db db;
	struct store_error err;
	char type[UPLOAD_TYPE_MAX + 1];
	uint8_t h[MSG_HASH_LEN];
	uint64_t acct, size;
	size_t len = BLOB_FILE_MIN + 100;
	char *big = malloc(len + 1), *back = malloc(len + 1);
	struct upload_job *j;
	MDB_txn *txn;
	int fd, ffd;

	memset(big, 'b', len);
	big[len] = '\0';
	if (open_fresh(&db) == -1) {
		free(big);
		free(back);
		return;
	}
	acct = add_account(&db, "alice@example.org");
	CHECK_INT(upload(&db, acct, big, NOW, &j), IPC_S_OK);
	memcpy(h, j->hash, sizeof(h));
	upload_job_free(&j);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	fd = memfd_of(NULL, 0);
	CHECK_INT(upload_file_op(&db, txn, acct, 0, h, MSG_HASH_LEN, 0, NOW,
	    fd, true, &ffd, &size, type, &err), IPC_S_OK);
	CHECK_INT(size, len);
	CHECK(ffd != -1);
	CHECK(lseek(fd, 0, SEEK_END) == 0);		/* not written */
	CHECK(fcntl(ffd, F_GET_SEALS) == -1);		/* not a memfd */
	CHECK(fcntl(ffd, F_GETFL) != -1 &&
	    (fcntl(ffd, F_GETFL) & O_ACCMODE) == O_RDONLY);
	CHECK(pread(ffd, back, len + 1, 0) == (ssize_t)len &&
	    memcmp(back, big, len) == 0);
	close(ffd);
	close(fd);
	fd = memfd_of(NULL, 0);
	CHECK_INT(upload_file_op(&db, txn, acct, 0, h, MSG_HASH_LEN, 0, NOW,
	    fd, false, &ffd, &size, type, &err), IPC_S_OK);
	CHECK_INT(ffd, -1);
	CHECK(pread(fd, back, len + 1, 0) == (ssize_t)len &&
	    memcmp(back, big, len) == 0);
	close(fd);
	db_abort(&txn);
	db_close(&db);
	free(big);
	free(back);
}

TEST(test_upload_purge)
{
	static const char mine[] = "alice only", both[] = "both of them";
	char out[64], type[UPLOAD_TYPE_MAX + 1];
	uint8_t hm[MSG_HASH_LEN], hb[MSG_HASH_LEN];
	struct store_error err;
	struct store_db db;
	uint64_t alice, bob, size, bytes;
	uint32_t n;
	size_t naliases;

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	bob = add_account(&db, "bob@example.org");
	hash_of(mine, hm);
	hash_of(both, hb);
	CHECK_INT(upload(&db, alice, mine, NOW, NULL), IPC_S_OK);
	CHECK_INT(upload(&db, alice, both, NOW, NULL), IPC_S_OK);
	CHECK_INT(upload(&db, bob, both, NOW, NULL), IPC_S_OK);
	CHECK_INT(blob_refs_of(&db, hb), 2);
	CHECK_INT(account_del(&db, "alice@example.org", NULL, &naliases,
	    &err), IPC_S_OK);
	CHECK_INT(blob_refs_of(&db, hm), 0);
	CHECK_INT(blob_refs_of(&db, hb), 1);
	usage_of(&db, alice, &bytes, &n);
	CHECK_INT(bytes, 0);
	CHECK_INT(n, 0);
	/* Bob's record and usage are left. */
	CHECK_INT(db_entries(&db, db.uploads), 2);
	CHECK_INT(read_blob(&db, bob, UPLOAD_KIND_UPLOAD, hb, 0, NOW, out,
	    sizeof(out), &size, type), IPC_S_OK);
	CHECK_STR(out, both);
	/* Alice's expiry entries wait for the sweep, which skips them. */
	CHECK_INT(db_entries(&db, db.upload_expiry), 3);
	CHECK_INT(sweep(&db, NOW + UPLOAD_KEEP, 100), 1);
	CHECK_INT(db_entries(&db, db.upload_expiry), 0);
	CHECK_INT(db_entries(&db, db.uploads), 0);
	CHECK_INT(blob_entries(&db), 0);
	db_close(&db);
}

/* --- Through the group-commit writer, as BLOB_UPLOAD runs --- */

struct gc_upload {
	struct upload_job	*j;
	enum ipc_status		 st;
	int			 done;
};

static enum ipc_status
gc_prepare(void *arg, struct store_error *err)
{
	struct gc_upload *u = arg;

	return upload_prepare(u->j, err);
}

static enum ipc_status
gc_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct gc_upload *u = arg;

	return upload_apply(db, txn, u->j, err);
}

static void
gc_done(void *arg, enum ipc_status st, const struct store_error *err)
{
	struct gc_upload *u = arg;

	(void)err;
	u->st = st;
	u->done++;
}

TEST(test_upload_writer)
{
	static const char *texts[] = { "first upload", "second, too big",
	    "third one" };
	struct gc_upload u[3];
	struct event_base *base;
	struct mail_txnq *q;
	struct store_db db;
	uint64_t acct, batches, nops, bytes;
	uint32_t n;
	size_t i;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	base = event_base_new();
	q = mail_txnq_new(base, &db, 16);
	mail_txnq_hold(q, true);
	for (i = 0; i < 3; i++) {
		u[i].j = job_of(acct, texts[i], "text/plain", NOW);
		u[i].st = IPC_S_INTERNAL;
		u[i].done = 0;
		if (u[i].j == NULL)
			continue;
		/* The second passes the limit once the first is in. */
		u[i].j->account_max = i == 1 ? 20 : 1000;
		CHECK_INT(mail_txnq_submit(q, gc_prepare, gc_apply, gc_done,
		    &u[i], u[i].j->size), 0);
	}
	while (mail_txnq_ready(q) < 3)
		usleep(1000);
	mail_txnq_hold(q, false);
	while (mail_txnq_pending(q) > 0)
		event_base_loop(base, EVLOOP_ONCE);
	mail_txnq_stats(q, &batches, &nops);
	CHECK_INT(batches, 1);
	CHECK_INT(nops, 3);
	for (i = 0; i < 3; i++) {
		CHECK_INT(u[i].done, 1);
		CHECK_INT(u[i].st, i == 1 ? IPC_S_QUOTA : IPC_S_OK);
		upload_job_free(&u[i].j);
	}
	mail_txnq_free(&q);
	event_base_free(base);
	usage_of(&db, acct, &bytes, &n);
	CHECK_INT(bytes, strlen(texts[0]) + strlen(texts[2]));
	CHECK_INT(n, 2);
	CHECK_INT(blob_entries(&db), 2);
	db_close(&db);
}

TEST(test_migration_v4_uploads)
{
	const char *dir = fresh_dir();
	char out[64], type[UPLOAD_TYPE_MAX + 1];
	uint8_t h[MSG_HASH_LEN];
	struct store_error err;
	struct store_db db;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint64_t acct, size;
	uint32_t v = 0;

	if (db_env_open(&db, dir, MAP_SIZE, &err) == -1 ||
	    schema_upgrade_to(&db, 4, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "v4: %s", err.text);
		return;
	}
	CHECK_INT(schema_version(&db, &v, &err), 0);
	CHECK_INT(v, 4);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(mdb_dbi_open(txn, "uploads", 0, &dbi), MDB_NOTFOUND);
	CHECK_INT(mdb_dbi_open(txn, "upload_expiry", 0, &dbi), MDB_NOTFOUND);
	db_abort(&txn);
	db_close(&db);

	if (db_open(&db, dir, MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	CHECK_INT(schema_version(&db, &v, &err), 0);
	/* Brought to the current version, past the uploads step. */
	CHECK_INT(v, SCHEMA_VERSION);
	CHECK(SCHEMA_VERSION >= 5);
	acct = add_account(&db, "alice@example.org");
	hash_of("after the step", h);
	CHECK_INT(upload(&db, acct, "after the step", NOW, NULL), IPC_S_OK);
	db_close(&db);

	/* Opened again: the step does not run twice, the upload is kept. */
	if (db_open(&db, dir, MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	CHECK_INT(read_blob(&db, acct, UPLOAD_KIND_UPLOAD, h, 0, NOW, out,
	    sizeof(out), &size, type), IPC_S_OK);
	CHECK_STR(out, "after the step");
	db_close(&db);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_upload_read_back),
	TEST_ENTRY(test_upload_request_checks),
	TEST_ENTRY(test_upload_twice),
	TEST_ENTRY(test_upload_other_account),
	TEST_ENTRY(test_upload_limit),
	TEST_ENTRY(test_upload_sweep),
	TEST_ENTRY(test_blob_file_email),
	TEST_ENTRY(test_upload_big_as_file),
	TEST_ENTRY(test_upload_purge),
	TEST_ENTRY(test_upload_writer),
	TEST_ENTRY(test_migration_v4_uploads),
};

HARNESS_MAIN(tests)
