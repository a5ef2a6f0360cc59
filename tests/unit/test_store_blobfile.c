/* SPDX-License-Identifier: ISC */
/*
 * test_store_blobfile.c: big blobs as files beside a real LMDB environment
 * in a temporary directory (blob.h, blobfile.h): which blob becomes a file,
 * deduplication and reference counts across both kinds, unlinks only after
 * the commit and after the readers that could still find them, prepared
 * files, reads through blob_view and blob_fd_get, the sweep at start, and
 * a child killed between writing a file and its commit.
 */
/* unit-deps: store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/blob.c store/key.c store/record.c store/mailbox.c store/name.c store/changelog.c store/strvec.c */
#include "harness.h"

#include "store/blob.h"
#include "store/blobfile.h"
#include "store/db.h"
#include "store/schema.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#define MAP_SIZE	(64u << 20)
#define BIG		(BLOB_FILE_MIN + 4096)
#define SMALL		(BLOB_FILE_MIN > 1 ? BLOB_FILE_MIN - 1 : 0)

static const char *
fresh_dir(void)
{
	static char path[256];
	static int n;

	snprintf(path, sizeof(path), "%s/bf%d", harness_tmpdir(), n++);
	return path;
}

static int
open_db(struct store_db *db, const char *dir)
{
	struct store_error err;

	if (db_open(db, dir, MAP_SIZE, &err) == -1) {
		fprintf(stderr, "db_open: %s\n", err.text);
		return -1;
	}
	return 0;
}

/* Whether dir/blobs/<hex of hash> exists. */
static bool
file_of(const char *dir, const uint8_t *hash)
{
	char hex[2 * MSG_HASH_LEN + 1], path[512];
	struct stat sb;

	sodium_bin2hex(hex, sizeof(hex), hash, MSG_HASH_LEN);
	snprintf(path, sizeof(path), "%s/blobs/%s", dir, hex);
	return stat(path, &sb) == 0;
}

/* Files in dir/blobs/<sub> (sub "" for blobs/ itself, its tmp/ left out). */
static int
files_in(const char *dir, const char *sub)
{
	char path[512];
	FILE *p;
	int n = 0, c;

	snprintf(path, sizeof(path), "find '%s/blobs/%s' -maxdepth 1 -type f "
	    "| wc -l", dir, sub);
	if ((p = popen(path, "r")) == NULL)
		return -1;
	if (fscanf(p, "%d", &c) == 1)
		n = c;
	pclose(p);
	return n;
}

static void
make_bytes(uint8_t *p, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

/* Refs of hash in a fresh read txn, 0 if none. */
static uint64_t
refs_of(struct store_db *db, const uint8_t *hash)
{
	struct store_error err;
	struct blob_view v;
	uint64_t refs = 0;
	MDB_txn *txn;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return 0;
	if (blob_view_get(db, txn, hash, &v, &refs, &err) != IPC_S_OK)
		refs = 0;
	blob_view_release(&v);
	db_abort(&txn);
	return refs;
}

/* Whether the blob of hash reads back as [p, p + len). */
static bool
reads_as(struct store_db *db, const uint8_t *hash, const void *p, size_t len,
    bool file)
{
	struct store_error err;
	struct blob_view v;
	MDB_txn *txn;
	bool ok;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return false;
	ok = blob_view_get(db, txn, hash, &v, NULL, &err) == IPC_S_OK &&
	    v.len == len && memcmp(v.p, p, len) == 0 &&
	    (v.map != NULL) == file;
	blob_view_release(&v);
	db_abort(&txn);
	return ok;
}

static enum ipc_status
ref_one(struct store_db *db, const uint8_t *hash, const void *p, size_t len,
    struct blob_tmp *tmp, bool *stored)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = db_begin(db, true, &txn, &err)) != IPC_S_OK)
		return st;
	if ((st = blob_ref_tmp(db, txn, hash, p, len, tmp, stored, &err)) !=
	    IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	return db_commit(&txn, &err);
}

static enum ipc_status
unref_one(struct store_db *db, const uint8_t *hash, bool commit)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = db_begin(db, true, &txn, &err)) != IPC_S_OK)
		return st;
	if ((st = blob_unref(db, txn, hash, NULL, &err)) != IPC_S_OK ||
	    !commit) {
		db_abort(&txn);
		return st;
	}
	return db_commit(&txn, &err);
}

TEST(test_big_and_small)
{
	const char *dir = fresh_dir();
	struct store_db db;
	uint8_t *big = malloc(BIG), small[SMALL + 1];
	uint8_t hb[MSG_HASH_LEN], hs[MSG_HASH_LEN];
	bool stored;

	CHECK(open_db(&db, dir) == 0);
	make_bytes(big, BIG, 1);
	make_bytes(small, SMALL, 2);
	blob_hash(big, BIG, hb);
	blob_hash(small, SMALL, hs);
	CHECK_INT(ref_one(&db, hb, big, BIG, NULL, &stored), IPC_S_OK);
	CHECK(stored);
	CHECK_INT(ref_one(&db, hs, small, SMALL, NULL, &stored), IPC_S_OK);
	CHECK(stored);
	CHECK(file_of(dir, hb));
	CHECK(!file_of(dir, hs));
	CHECK_INT(files_in(dir, ""), 1);
	CHECK_INT(files_in(dir, "tmp"), 0);
	CHECK(reads_as(&db, hb, big, BIG, true));
	CHECK(reads_as(&db, hs, small, SMALL, false));
	CHECK_INT(refs_of(&db, hb), 1);
	/* Deduplicated: a second reference, no second file. */
	CHECK_INT(ref_one(&db, hb, big, BIG, NULL, &stored), IPC_S_OK);
	CHECK(!stored);
	CHECK_INT(refs_of(&db, hb), 2);
	CHECK_INT(files_in(dir, ""), 1);
	/* The file stays with one reference, goes with the last. */
	CHECK_INT(unref_one(&db, hb, true), IPC_S_OK);
	CHECK(file_of(dir, hb));
	CHECK_INT(refs_of(&db, hb), 1);
	/* An aborted unref removes nothing. */
	CHECK_INT(unref_one(&db, hb, false), IPC_S_OK);
	CHECK(file_of(dir, hb));
	CHECK(reads_as(&db, hb, big, BIG, true));
	CHECK_INT(unref_one(&db, hb, true), IPC_S_OK);
	CHECK(!file_of(dir, hb));
	CHECK_INT(refs_of(&db, hb), 0);
	CHECK_INT(unref_one(&db, hs, true), IPC_S_OK);
	CHECK_INT(refs_of(&db, hs), 0);
	CHECK_INT(files_in(dir, ""), 0);
	db_close(&db);
	free(big);
}

/* The file stays until the commit, and a blob dropped and taken again in
 * one transaction keeps its file. */
TEST(test_unlink_after_commit)
{
	const char *dir = fresh_dir();
	struct store_error err;
	struct store_db db;
	uint8_t *big = malloc(BIG), h[MSG_HASH_LEN];
	MDB_txn *txn;
	bool stored;

	CHECK(open_db(&db, dir) == 0);
	make_bytes(big, BIG, 3);
	blob_hash(big, BIG, h);
	CHECK_INT(ref_one(&db, h, big, BIG, NULL, NULL), IPC_S_OK);
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(blob_unref(&db, txn, h, NULL, &err), IPC_S_OK);
	CHECK(file_of(dir, h));	/* still referenced by what is durable */
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	CHECK(!file_of(dir, h));
	/* Dropped and taken back before the commit. */
	CHECK_INT(ref_one(&db, h, big, BIG, NULL, NULL), IPC_S_OK);
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(blob_unref(&db, txn, h, NULL, &err), IPC_S_OK);
	CHECK_INT(blob_ref(&db, txn, h, big, BIG, &stored, &err), IPC_S_OK);
	CHECK(stored);
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	CHECK(file_of(dir, h));
	CHECK(reads_as(&db, h, big, BIG, true));
	CHECK_INT(refs_of(&db, h), 1);
	db_close(&db);
	free(big);
}

/*
 * An operation of a batch (a nested transaction, txn.c) that renamed a new
 * file in and then failed leaves nothing once the batch commits; one
 * whole transaction aborted leaves its file to the next commit.
 */
TEST(test_aborted_link)
{
	const char *dir = fresh_dir();
	struct store_error err;
	struct store_db db;
	uint8_t *big = malloc(BIG), h[MSG_HASH_LEN], h2[MSG_HASH_LEN];
	MDB_txn *txn, *child;

	CHECK(open_db(&db, dir) == 0);
	make_bytes(big, BIG, 8);
	blob_hash(big, BIG, h);
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(mdb_txn_begin(db.env, txn, 0, &child), 0);
	CHECK_INT(blob_ref(&db, child, h, big, BIG, NULL, &err), IPC_S_OK);
	CHECK(file_of(dir, h));
	mdb_txn_abort(child);
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	CHECK(!file_of(dir, h));
	CHECK_INT(refs_of(&db, h), 0);
	/* A committed child keeps it. */
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(mdb_txn_begin(db.env, txn, 0, &child), 0);
	CHECK_INT(blob_ref(&db, child, h, big, BIG, NULL, &err), IPC_S_OK);
	CHECK_INT(mdb_txn_commit(child), 0);
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	CHECK(file_of(dir, h));
	CHECK(reads_as(&db, h, big, BIG, true));
	/* A whole transaction aborted: gone with the next commit. */
	make_bytes(big, BIG, 9);
	blob_hash(big, BIG, h2);
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(blob_ref(&db, txn, h2, big, BIG, NULL, &err), IPC_S_OK);
	db_abort(&txn);
	CHECK(file_of(dir, h2));
	CHECK_INT(unref_one(&db, h, true), IPC_S_OK);
	CHECK(!file_of(dir, h2));
	CHECK(!file_of(dir, h));
	CHECK_INT(files_in(dir, ""), 0);
	db_close(&db);
	free(big);
}

/* Files written before the transaction (the prepare steps of txn.h). */
TEST(test_prepared_tmp)
{
	const char *dir = fresh_dir();
	struct store_error err;
	struct blob_tmp t;
	struct store_db db;
	uint8_t *big = malloc(BIG), h[MSG_HASH_LEN], h2[MSG_HASH_LEN];
	uint8_t hx[MSG_HASH_LEN];
	size_t len;
	bool stored;
	int fd;

	CHECK(open_db(&db, dir) == 0);
	make_bytes(big, BIG, 4);
	blob_hash(big, BIG, h);
	memset(&t, 0, sizeof(t));
	CHECK_INT(blobfile_tmp_write(db.files, big, BIG, &t, &err), IPC_S_OK);
	CHECK_INT(files_in(dir, "tmp"), 1);
	CHECK_INT(ref_one(&db, h, big, BIG, &t, &stored), IPC_S_OK);
	CHECK(stored && t.linked);
	blobfile_tmp_discard(db.files, &t);
	CHECK_INT(files_in(dir, "tmp"), 0);
	CHECK(reads_as(&db, h, big, BIG, true));
	/* The blob exists: the prepared file is not taken, and discarded. */
	CHECK_INT(blobfile_tmp_write(db.files, big, BIG, &t, &err), IPC_S_OK);
	CHECK_INT(ref_one(&db, h, big, BIG, &t, &stored), IPC_S_OK);
	CHECK(!stored && !t.linked);
	CHECK_INT(files_in(dir, "tmp"), 1);
	blobfile_tmp_discard(db.files, &t);
	CHECK_INT(files_in(dir, "tmp"), 0);
	CHECK_INT(files_in(dir, ""), 1);
	CHECK_INT(refs_of(&db, h), 2);
	/* blob_tmp_prepare writes no file for a blob the store holds... */
	CHECK_INT(blob_tmp_prepare(&db, h, big, BIG, &t, &err), IPC_S_OK);
	CHECK(t.name[0] == '\0');
	CHECK_INT(files_in(dir, "tmp"), 0);
	/* ... nor for a small one or without a store, but for a new one. */
	CHECK_INT(blob_tmp_prepare(NULL, h, big, BIG, &t, &err), IPC_S_OK);
	CHECK(t.name[0] == '\0');
	big[0] ^= 1;
	blob_hash(big, BIG, h2);
	CHECK_INT(blob_tmp_prepare(&db, h2, big, SMALL, &t, &err), IPC_S_OK);
	CHECK_INT(t.name[0] == '\0', SMALL < BLOB_FILE_MIN);
	blob_tmp_discard(&db, &t);
	CHECK_INT(blob_tmp_prepare(&db, h2, big, BIG, &t, &err), IPC_S_OK);
	CHECK(t.name[0] != '\0');
	CHECK_INT(files_in(dir, "tmp"), 1);
	blob_tmp_discard(&db, &t);
	CHECK_INT(files_in(dir, "tmp"), 0);
	/*
	 * blob_hash_prepare: the hash, and the file written before it is
	 * known, kept for a new blob and dropped for one the store holds.
	 */
	memset(hx, 0, sizeof(hx));
	CHECK_INT(blob_hash_prepare(&db, big, BIG, hx, &t, &err), IPC_S_OK);
	CHECK(memcmp(hx, h2, MSG_HASH_LEN) == 0);
	CHECK(t.name[0] != '\0');
	CHECK_INT(files_in(dir, "tmp"), 1);
	blob_tmp_discard(&db, &t);
	big[0] ^= 1;
	memset(hx, 0, sizeof(hx));
	CHECK_INT(blob_hash_prepare(&db, big, BIG, hx, &t, &err), IPC_S_OK);
	CHECK(memcmp(hx, h, MSG_HASH_LEN) == 0);
	CHECK(t.name[0] == '\0');
	CHECK_INT(files_in(dir, "tmp"), 0);
	/* Small, or without a store: the hash alone. */
	memset(hx, 0, sizeof(hx));
	CHECK_INT(blob_hash_prepare(NULL, big, BIG, hx, &t, &err), IPC_S_OK);
	CHECK(memcmp(hx, h, MSG_HASH_LEN) == 0 && t.name[0] == '\0');
	CHECK_INT(blob_hash_prepare(&db, big, SMALL, hx, &t, &err), IPC_S_OK);
	CHECK(t.name[0] == '\0');
	CHECK_INT(files_in(dir, "tmp"), 0);
	/* A descriptor of the file, for stage 2. */
	{
		MDB_txn *txn;
		uint8_t *back = malloc(BIG);

		CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
		CHECK_INT(blob_fd_get(&db, txn, h, &fd, &len, &err), IPC_S_OK);
		db_abort(&txn);
		CHECK(fd != -1);
		CHECK_INT(len, BIG);
		CHECK_INT(pread(fd, back, BIG, 0), BIG);
		CHECK(memcmp(back, big, BIG) == 0);
		CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
		free(back);
	}
	db_close(&db);
	free(big);
}

/*
 * A reader on a thread of its own (LMDB: one read transaction a thread):
 * opens its snapshot, says so, waits to be told, then opens the blob's
 * file through that snapshot and checks its first bytes.
 */
struct reader {
	struct store_db	*db;
	const uint8_t	*hash, *bytes;
	int		 ready[2], go[2];
	bool		 began, read_ok;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct store_error err;
	uint8_t head[64];
	MDB_txn *txn;
	size_t len;
	char c = 0;
	int fd = -1;

	r->began = db_begin(r->db, false, &txn, &err) == IPC_S_OK;
	(void)write(r->ready[1], &c, 1);
	(void)read(r->go[0], &c, 1);
	if (!r->began)
		return NULL;
	r->read_ok = blob_fd_get(r->db, txn, r->hash, &fd, &len, &err) ==
	    IPC_S_OK && fd != -1 && len == BIG &&
	    pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
	    memcmp(head, r->bytes, sizeof(head)) == 0;
	if (fd != -1)
		close(fd);
	db_abort(&txn);
	return NULL;
}

/*
 * A read transaction older than the commit that dropped a file's last
 * reference can still open the file; it is unlinked when that reader ends.
 */
TEST(test_reader_keeps_file)
{
	const char *dir = fresh_dir();
	struct store_db db;
	struct reader r;
	uint8_t *big = malloc(BIG), h[MSG_HASH_LEN];
	pthread_t th;
	char c = 0;

	CHECK(open_db(&db, dir) == 0);
	make_bytes(big, BIG, 8);
	blob_hash(big, BIG, h);
	CHECK_INT(ref_one(&db, h, big, BIG, NULL, NULL), IPC_S_OK);
	memset(&r, 0, sizeof(r));
	r.db = &db;
	r.hash = h;
	r.bytes = big;
	CHECK(pipe(r.ready) == 0 && pipe(r.go) == 0);
	CHECK(pthread_create(&th, NULL, reader_main, &r) == 0);
	CHECK(read(r.ready[0], &c, 1) == 1);
	CHECK(r.began);
	CHECK_INT(unref_one(&db, h, true), IPC_S_OK);
	CHECK_INT(refs_of(&db, h), 0);		/* gone from the store */
	CHECK(file_of(dir, h));			/* not from the reader */
	CHECK(write(r.go[1], &c, 1) == 1);
	CHECK(pthread_join(th, NULL) == 0);
	CHECK(r.read_ok);
	CHECK(!file_of(dir, h));		/* its end let it go */
	close(r.ready[0]);
	close(r.ready[1]);
	close(r.go[0]);
	close(r.go[1]);
	db_close(&db);
	free(big);
}

/* Removes dir/blobs/<hex of hash> behind the store's back. */
static void
remove_file_of(const char *dir, const uint8_t *hash)
{
	char hex[2 * MSG_HASH_LEN + 1], path[512];

	sodium_bin2hex(hex, sizeof(hex), hash, MSG_HASH_LEN);
	snprintf(path, sizeof(path), "%s/blobs/%s", dir, hex);
	(void)unlink(path);
}

/* blob_read of [off, off + n) of hash in a fresh read transaction. */
static enum ipc_status
read_range(struct store_db *db, const uint8_t *hash, uint64_t off, size_t n,
    struct buf *out)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;
	size_t len;

	buf_reset(out);
	if ((st = db_begin(db, false, &txn, &err)) != IPC_S_OK)
		return st;
	st = blob_read(db, txn, hash, off, n, out, &len, &err);
	db_abort(&txn);
	return st;
}

/*
 * The index keeps a file's header (to its blank line, up to
 * BLOB_HEAD_MAX): a read within it never opens the file.
 */
TEST(test_header_in_index)
{
	static const char hdr[] = "Subject: kept\r\nX-A: b\r\n\r\n";
	const char *dir = fresh_dir();
	struct store_db db;
	struct buf out = BUF_INIT;
	uint8_t *big = malloc(BIG), h[MSG_HASH_LEN], g[MSG_HASH_LEN];
	size_t hl = sizeof(hdr) - 1;

	if (BIG < BLOB_HEAD_MAX + 16) {
		free(big);
		return;		/* forced files: too small for the case */
	}
	CHECK(open_db(&db, dir) == 0);
	make_bytes(big, BIG, 10);
	memcpy(big, hdr, hl);
	blob_hash(big, BIG, h);
	CHECK_INT(ref_one(&db, h, big, BIG, NULL, NULL), IPC_S_OK);
	/* Read through the file, then with the file gone. */
	CHECK_INT(read_range(&db, h, 0, hl + 100, &out), IPC_S_OK);
	CHECK(out.len == hl + 100 && memcmp(out.data, big, hl + 100) == 0);
	remove_file_of(dir, h);
	CHECK_INT(read_range(&db, h, 0, hl, &out), IPC_S_OK);
	CHECK(out.len == hl && memcmp(out.data, hdr, hl) == 0);
	CHECK_INT(read_range(&db, h, 9, 4, &out), IPC_S_OK);
	CHECK(out.len == 4 && memcmp(out.data, "kept", 4) == 0);
	CHECK(read_range(&db, h, 0, hl + 1, &out) != IPC_S_OK);
	/* A header longer than BLOB_HEAD_MAX is not kept. */
	memset(big, 'x', BLOB_HEAD_MAX + 8);
	memcpy(big, "X-Long: ", 8);
	memcpy(big + BLOB_HEAD_MAX + 8, "\r\n\r\n", 4);
	blob_hash(big, BIG, g);
	CHECK_INT(ref_one(&db, g, big, BIG, NULL, NULL), IPC_S_OK);
	CHECK_INT(read_range(&db, g, 0, 8, &out), IPC_S_OK);
	remove_file_of(dir, g);
	CHECK(read_range(&db, g, 0, 8, &out) != IPC_S_OK);
	buf_clear(&out);
	db_close(&db);
	free(big);
}

/* A read transaction begun and ended on a thread of its own. */
static void *
brief_reader(void *arg)
{
	struct store_db *db = arg;
	struct store_error err;
	MDB_txn *txn;

	if (db_begin(db, false, &txn, &err) == IPC_S_OK)
		db_abort(&txn);
	return NULL;
}

/*
 * A write transaction that changed nothing commits without a new id
 * (LMDB keeps the last), so the next one has its id: a file that one
 * renames in stays while it is under way, whatever readers end
 * meanwhile (they reap what committed transactions dropped).
 */
TEST(test_link_after_empty_commit)
{
	const char *dir = fresh_dir();
	struct store_error err;
	struct store_db db;
	uint8_t *big = malloc(BIG), h[MSG_HASH_LEN];
	pthread_t th;
	MDB_txn *txn;

	CHECK(open_db(&db, dir) == 0);
	make_bytes(big, BIG, 9);
	blob_hash(big, BIG, h);
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);		/* empty */
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(blob_ref_tmp(&db, txn, h, big, BIG, NULL, NULL, &err),
	    IPC_S_OK);
	CHECK(file_of(dir, h));
	CHECK(pthread_create(&th, NULL, brief_reader, &db) == 0);
	CHECK(pthread_join(th, NULL) == 0);
	CHECK(file_of(dir, h));			/* not taken for dropped */
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	CHECK(file_of(dir, h));
	CHECK(reads_as(&db, h, big, BIG, true));
	db_close(&db);
	free(big);
}

static void
write_file(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/blobs/%s", dir, name);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("junk", f);
		fclose(f);
	}
}

TEST(test_sweep)
{
	const char *dir = fresh_dir();
	struct blobfile_sweep_stats s;
	struct store_error err;
	struct store_db db;
	uint8_t *big = malloc(BIG), h[MSG_HASH_LEN], o[MSG_HASH_LEN];
	char hex[2 * MSG_HASH_LEN + 1];

	CHECK(open_db(&db, dir) == 0);
	make_bytes(big, BIG, 5);
	blob_hash(big, BIG, h);
	CHECK_INT(ref_one(&db, h, big, BIG, NULL, NULL), IPC_S_OK);
	/* An orphan, two tmp files and a stranger. */
	make_bytes(o, sizeof(o), 6);
	sodium_bin2hex(hex, sizeof(hex), o, sizeof(o));
	write_file(dir, hex);
	write_file(dir, "tmp/a");
	write_file(dir, "tmp/b");
	write_file(dir, "stranger");
	CHECK(file_of(dir, o));
	CHECK_INT(blobfile_sweep(&db, &s, &err), IPC_S_OK);
	CHECK_INT(s.tmp, 2);
	CHECK_INT(s.orphans, 2);
	CHECK_INT(s.kept, 1);
	CHECK_INT(s.missing, 0);
	CHECK(!file_of(dir, o));
	CHECK(file_of(dir, h));
	CHECK_INT(files_in(dir, "tmp"), 0);
	CHECK(reads_as(&db, h, big, BIG, true));
	db_close(&db);
	free(big);
}

/*
 * A child writes a prepared file and renames it in a transaction, and dies
 * before (commit 0) or after (1) the commit, as kill -9 would.
 */
static void
crash_child(const char *dir, const uint8_t *big, const uint8_t *h,
    bool commit)
{
	struct store_error err;
	struct blob_tmp t, t2;
	struct store_db db;
	MDB_txn *txn;

	if (open_db(&db, dir) == -1)
		_exit(2);
	memset(&t, 0, sizeof(t));
	memset(&t2, 0, sizeof(t2));
	if (blobfile_tmp_write(db.files, big, BIG, &t, &err) != IPC_S_OK ||
	    blobfile_tmp_write(db.files, big, BIG, &t2, &err) != IPC_S_OK ||
	    db_begin(&db, true, &txn, &err) != IPC_S_OK ||
	    blob_ref_tmp(&db, txn, h, big, BIG, &t, NULL, &err) != IPC_S_OK)
		_exit(3);
	if (commit && db_commit(&txn, &err) != IPC_S_OK)
		_exit(4);
	_exit(0);
}

static void
crash_run(bool commit)
{
	const char *dir = fresh_dir();
	struct blobfile_sweep_stats s;
	struct store_error err;
	struct store_db db;
	uint8_t *big = malloc(BIG), h[MSG_HASH_LEN];
	pid_t pid;
	int status = -1;

	make_bytes(big, BIG, 7);
	blob_hash(big, BIG, h);
	/* The environment made first, then left to the child alone. */
	CHECK(open_db(&db, dir) == 0);
	db_close(&db);
	if ((pid = fork()) == 0)
		crash_child(dir, big, h, commit);
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(file_of(dir, h));		/* renamed, whether committed or not */
	CHECK_INT(files_in(dir, "tmp"), 1);
	CHECK(open_db(&db, dir) == 0);
	CHECK_INT(blobfile_sweep(&db, &s, &err), IPC_S_OK);
	CHECK_INT(s.tmp, 1);
	CHECK_INT(s.orphans, commit ? 0 : 1);
	CHECK_INT(s.kept, commit ? 1 : 0);
	CHECK_INT(file_of(dir, h), commit);
	CHECK_INT(refs_of(&db, h), commit ? 1 : 0);
	if (commit)
		CHECK(reads_as(&db, h, big, BIG, true));
	db_close(&db);
	free(big);
}

TEST(test_crash_before_commit)
{
	crash_run(false);
}

TEST(test_crash_after_commit)
{
	crash_run(true);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_big_and_small),
	TEST_ENTRY(test_unlink_after_commit),
	TEST_ENTRY(test_aborted_link),
	TEST_ENTRY(test_prepared_tmp),
	TEST_ENTRY(test_reader_keeps_file),
	TEST_ENTRY(test_link_after_empty_commit),
	TEST_ENTRY(test_header_in_index),
	TEST_ENTRY(test_sweep),
	TEST_ENTRY(test_crash_before_commit),
	TEST_ENTRY(test_crash_after_commit),
};

HARNESS_MAIN(tests)
