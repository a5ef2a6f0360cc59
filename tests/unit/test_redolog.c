/* SPDX-License-Identifier: ISC */
/*
 * test_redolog.c: the redo log's files (store/redolog.h): records read
 * back in order with their transaction ids, those a checkpoint covers
 * skipped, whether it was written in place or in a new file; a tail cut
 * by a crash, or a damaged record, ending recovery there (and what came
 * after it dropped); a torn header slot falling back to the other; a
 * file no longer needed kept as the spare and made the next file, its old
 * records never read again; records in a file rotated to before its
 * header is written read after the older file's.  And LMDB's meta page saved at
 * a checkpoint and written back (store/dbmeta.h): the environment then
 * opens at the checkpoint's snapshot, whatever was committed after it
 * without a sync, as long as a reader kept its pages.
 */
/* unit-deps: store/redolog.c store/dbmeta.c store/db.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/key.c store/record.c store/mailbox.c store/name.c store/changelog.c store/strvec.c store/blob.c */
#include "harness.h"

#include "store/dbmeta.h"
#include "store/redolog.h"

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int dirfd_;

/* A fresh directory for one test. */
static void
fresh_dir(const char *name)
{
	char path[512];

	if (dirfd_ > 0)
		close(dirfd_);
	snprintf(path, sizeof(path), "%s/%s", harness_tmpdir(), name);
	CHECK(mkdir(path, 0700) == 0);
	dirfd_ = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dirfd_ >= 0);
}

/* Payload of record k: k bytes (and more for some), a pattern of k. */
static size_t
payload(uint64_t k, uint8_t *buf, size_t cap)
{
	size_t len = (size_t)(k * 37 % 1000) + (k % 5 == 0 ? 70000 : 0), i;

	if (len > cap)
		len = cap;
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(k * 7 + i * 13);
	return len;
}

/* Appends record txnid, in two pieces; returns the position after it. */
static uint64_t
append(struct redolog *log, uint64_t txnid)
{
	static uint8_t buf[80000];
	struct store_error err;
	struct iovec iov[2];
	uint64_t pos = 0;
	size_t len = payload(txnid, buf, sizeof(buf));

	iov[0].iov_base = buf;
	iov[0].iov_len = len / 3;
	iov[1].iov_base = buf + len / 3;
	iov[1].iov_len = len - len / 3;
	CHECK(redolog_append(log, txnid, iov, 2, &pos, &err) == 0);
	return pos;
}

/*
 * Reads every record; checks that they are first..last in order with
 * their payloads; returns how many.
 */
static int
read_all(struct redolog *log, uint64_t first)
{
	static uint8_t want[80000];
	struct store_error err;
	const void *data;
	uint64_t txnid;
	size_t len;
	int n = 0, rc;

	while ((rc = redolog_next(log, &txnid, &data, &len, &err)) == 1) {
		CHECK_INT(txnid, first + (uint64_t)n);
		CHECK_INT(len, payload(txnid, want, sizeof(want)));
		CHECK(memcmp(data, want, len) == 0);
		n++;
	}
	CHECK_INT(rc, 0);
	return n;
}

static struct redolog *
reopen(struct redolog **log)
{
	struct store_error err;
	struct redolog *l = NULL;

	if (log != NULL)
		redolog_free(log);
	CHECK(redolog_open(dirfd_, &l, &err) == 0);
	return l;
}

static int
count_files(void)
{
	struct dirent *de;
	DIR *d = fdopendir(dup(dirfd_));
	int n = 0;

	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, "redo.", 5) == 0;
	closedir(d);
	return n;
}

static const char meta_a[] = "meta page of transaction ten";
static const char meta_b[] = "meta page of transaction twelve";
static const char meta_c[] = "meta page of transaction thirteen";

static void
check_base(struct redolog *log, uint64_t want, const char *meta_want,
    size_t len_want)
{
	const void *meta;
	uint64_t txnid;
	size_t len;

	CHECK(redolog_base(log, &txnid, &meta, &len));
	CHECK_INT(txnid, want);
	CHECK_INT(len, len_want);
	CHECK(len == len_want && memcmp(meta, meta_want, len) == 0);
}

/*
 * A new log in directory name, empty, then its first checkpoint at base
 * (meta_a): where most tests start.
 */
static struct redolog *
started(const char *name, uint64_t base)
{
	struct store_error err;
	struct redolog *log;

	fresh_dir(name);
	log = reopen(NULL);
	CHECK_INT(read_all(log, 1), 0);
	CHECK(redolog_checkpoint(log, base, meta_a, sizeof(meta_a), false,
	    &err) == 0);
	return log;
}

TEST(empty_then_checkpoint)
{
	struct store_error err;
	struct redolog *log;
	const void *meta;
	uint64_t txnid, pos;
	size_t len;

	fresh_dir("empty");
	log = reopen(NULL);
	CHECK(!redolog_base(log, &txnid, &meta, &len));
	CHECK_INT(read_all(log, 1), 0);
	/* Nowhere to append before the first checkpoint. */
	CHECK(redolog_append(log, 1, NULL, 0, &pos, &err) == -1);
	CHECK(redolog_checkpoint(log, 10, meta_a, sizeof(meta_a), false,
	    &err) == 0);
	check_base(log, 10, meta_a, sizeof(meta_a));
	for (txnid = 11; txnid <= 20; txnid++)
		pos = append(log, txnid);
	CHECK(redolog_sync(log, pos, &err) == 0);
	CHECK_INT(redolog_tail_bytes(log), pos);
	log = reopen(&log);
	check_base(log, 10, meta_a, sizeof(meta_a));
	CHECK_INT(read_all(log, 11), 10);
	/* Appending goes on after the last record. */
	append(log, 21);
	log = reopen(&log);
	CHECK_INT(read_all(log, 11), 11);
	redolog_free(&log);
	CHECK_INT(count_files(), 1);
}

TEST(checkpoint_in_place)
{
	struct store_error err;
	struct redolog *log;

	log = started("inplace", 10);
	append(log, 11);
	append(log, 12);
	/* In the file's other slot: the records before it are skipped. */
	CHECK(redolog_checkpoint(log, 12, meta_b, sizeof(meta_b), false,
	    &err) == 0);
	log = reopen(&log);
	check_base(log, 12, meta_b, sizeof(meta_b));
	CHECK_INT(read_all(log, 13), 0);
	append(log, 13);
	/* And back in the first slot. */
	CHECK(redolog_checkpoint(log, 13, meta_c, sizeof(meta_c), false,
	    &err) == 0);
	append(log, 14);
	log = reopen(&log);
	check_base(log, 13, meta_c, sizeof(meta_c));
	CHECK_INT(read_all(log, 14), 1);
	redolog_free(&log);
	CHECK_INT(count_files(), 1);
}

TEST(checkpoint_new_file)
{
	struct store_error err;
	struct redolog *log;
	unsigned files;
	uint64_t bytes;

	log = started("newfile", 10);
	append(log, 11);
	append(log, 12);
	CHECK(redolog_checkpoint(log, 12, meta_b, sizeof(meta_b), true,
	    &err) == 0);
	redolog_stats(log, &files, &bytes);
	CHECK_INT(files, 1);
	CHECK_INT(bytes, REDOLOG_HDR_SIZE);
	CHECK_INT(redolog_tail_bytes(log), 0);
	CHECK_INT(count_files(), 1);
	append(log, 13);
	log = reopen(&log);
	check_base(log, 12, meta_b, sizeof(meta_b));
	CHECK_INT(read_all(log, 13), 1);
	redolog_free(&log);
}

TEST(spare_reused)
{
	struct store_error err;
	struct redolog *log;
	struct stat sb;
	uint64_t txnid;

	log = started("spare", 10);
	for (txnid = 11; txnid <= 110; txnid++)
		append(log, txnid);
	/* The first file, over 1 MiB, is kept as the spare. */
	CHECK(redolog_checkpoint(log, 110, meta_b, sizeof(meta_b), true,
	    &err) == 0);
	CHECK(fstatat(dirfd_, "redo-spare", &sb, 0) == 0);
	CHECK(sb.st_size > (1 << 20));
	CHECK_INT(count_files(), 1);
	append(log, 111);
	/* The next file is made of it, its old records still in it. */
	CHECK(redolog_checkpoint(log, 111, meta_c, sizeof(meta_c), true,
	    &err) == 0);
	CHECK(fstatat(dirfd_, "redo-spare", &sb, 0) == -1);
	CHECK_INT(count_files(), 1);
	append(log, 112);
	append(log, 113);
	log = reopen(&log);
	check_base(log, 111, meta_c, sizeof(meta_c));
	/* Only the two records of its new life. */
	CHECK_INT(read_all(log, 112), 2);
	append(log, 114);
	log = reopen(&log);
	CHECK_INT(read_all(log, 112), 3);
	redolog_free(&log);
}

TEST(rotate_before_header)
{
	struct store_error err;
	struct redolog *log;
	uint64_t pos;

	log = started("rotate", 10);
	append(log, 11);
	append(log, 12);
	/* As the checkpoint thread's start: a new file, no header yet. */
	CHECK(redolog_rotate(log, &err) == 0);
	CHECK_INT(redolog_tail_bytes(log), 0);
	append(log, 13);
	pos = append(log, 14);
	CHECK(redolog_sync(log, pos, &err) == 0);
	CHECK_INT(count_files(), 2);
	/* A crash before its header: the older base, records of both. */
	log = reopen(&log);
	check_base(log, 10, meta_a, sizeof(meta_a));
	CHECK_INT(read_all(log, 11), 4);
	/* The header, once written, drops the older file. */
	CHECK(redolog_checkpoint(log, 14, meta_b, sizeof(meta_b), false,
	    &err) == 0);
	CHECK_INT(count_files(), 1);
	log = reopen(&log);
	check_base(log, 14, meta_b, sizeof(meta_b));
	CHECK_INT(read_all(log, 15), 0);
	redolog_free(&log);
}

/* The path of the newest redo file. */
static void
newest(char *buf, size_t size)
{
	struct dirent *de;
	DIR *d = fdopendir(dup(dirfd_));
	char best[300] = "";

	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "redo.", 5) == 0 &&
		    strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	closedir(d);
	snprintf(buf, size, "%s", best);
}

/* Flips one bit of the newest file at off. */
static void
flip(off_t off)
{
	char name[64];
	uint8_t byte;
	int fd;

	newest(name, sizeof(name));
	fd = openat(dirfd_, name, O_RDWR);
	CHECK(fd >= 0);
	CHECK(pread(fd, &byte, 1, off) == 1);
	byte ^= 0x10;
	CHECK(pwrite(fd, &byte, 1, off) == 1);
	close(fd);
}

TEST(cut_tail)
{
	struct redolog *log;
	char name[64];
	struct stat sb;
	int fd;

	log = started("cut", 1);
	append(log, 2);
	append(log, 3);
	append(log, 4);
	redolog_free(&log);
	/* A crash in the middle of the last record's bytes. */
	newest(name, sizeof(name));
	fd = openat(dirfd_, name, O_RDWR);
	CHECK(fd >= 0 && fstat(fd, &sb) == 0);
	CHECK(ftruncate(fd, sb.st_size - 100) == 0);
	close(fd);
	log = reopen(NULL);
	CHECK_INT(read_all(log, 2), 2);
	/* The cut bytes are gone: what follows is read back whole. */
	append(log, 4);
	append(log, 5);
	log = reopen(&log);
	CHECK_INT(read_all(log, 2), 4);
	redolog_free(&log);
}

TEST(damaged_record_ends_recovery)
{
	struct redolog *log;

	log = started("damaged", 1);
	append(log, 2);
	append(log, 3);
	/* Whole, but after the damage: never replayed without 3. */
	append(log, 4);
	redolog_free(&log);
	/* One bit of record 3's payload (after record 2's 104 bytes). */
	flip(REDOLOG_HDR_SIZE + 104 + 16 + 5);
	log = reopen(NULL);
	CHECK_INT(read_all(log, 2), 1);
	append(log, 3);
	log = reopen(&log);
	CHECK_INT(read_all(log, 2), 2);
	redolog_free(&log);
}

TEST(damaged_header_falls_back)
{
	struct store_error err;
	struct redolog *log;
	const void *meta;
	uint64_t txnid;
	size_t len;

	log = started("header", 10);
	append(log, 11);
	CHECK(redolog_checkpoint(log, 11, meta_b, sizeof(meta_b), false,
	    &err) == 0);
	append(log, 12);
	redolog_free(&log);
	/* The second checkpoint's slot torn: the first one's holds. */
	flip(REDOLOG_SLOT_SIZE + 40);
	log = reopen(NULL);
	check_base(log, 10, meta_a, sizeof(meta_a));
	CHECK_INT(read_all(log, 11), 2);
	/* A checkpoint writes the torn slot again, not the good one. */
	CHECK(redolog_checkpoint(log, 12, meta_c, sizeof(meta_c), false,
	    &err) == 0);
	log = reopen(&log);
	check_base(log, 12, meta_c, sizeof(meta_c));
	CHECK_INT(read_all(log, 13), 0);
	redolog_free(&log);
	/* Both slots damaged: no base, and every record is read. */
	flip(40);
	flip(REDOLOG_SLOT_SIZE + 40);
	log = reopen(NULL);
	CHECK(!redolog_base(log, &txnid, &meta, &len));
	CHECK_INT(read_all(log, 11), 2);
	redolog_free(&log);
}

static MDB_env *
env_open(const char *dir, unsigned flags)
{
	MDB_env *env = NULL;

	CHECK(mdb_env_create(&env) == 0);
	CHECK(mdb_env_set_mapsize(env, 64u << 20) == 0);
	CHECK(mdb_env_open(env, dir, flags, 0600) == 0);
	return env;
}

static void
put(MDB_txn *txn, MDB_dbi dbi, const char *key, const char *val)
{
	MDB_val k = { strlen(key), (void *)key }, v = { strlen(val),
	    (void *)val };

	CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
}

/* Key i's value, long enough that the keys fill many pages. */
static void
value_of(char *buf, size_t size, const char *prefix, int i)
{
	snprintf(buf, size, "%s%05d-%0100d", prefix, i, i);
}

TEST(meta_restored)
{
	static uint8_t meta[DBMETA_PAGE_MAX];
	struct store_error err;
	char dir[512], path[600], key[32], val[160];
	MDB_txn *txn, *pin;
	MDB_envinfo info;
	MDB_env *env;
	MDB_dbi dbi;
	MDB_val k, v;
	uint64_t c;
	size_t len;
	int i, round, n;

	snprintf(dir, sizeof(dir), "%s/lmdb", harness_tmpdir());
	CHECK(mkdir(dir, 0700) == 0);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	env = env_open(dir, MDB_NOSYNC | MDB_NOTLS);
	CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
	CHECK(mdb_dbi_open(txn, NULL, 0, &dbi) == 0);
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k%05d", i);
		value_of(val, sizeof(val), "v", i);
		put(txn, dbi, key, val);
	}
	CHECK(mdb_txn_commit(txn) == 0);
	/* The checkpoint: synced, meta saved, its snapshot pinned. */
	CHECK(mdb_env_sync(env, 1) == 0);
	CHECK(mdb_env_info(env, &info) == 0);
	c = info.me_last_txnid;
	CHECK(dbmeta_save(env, c, meta, sizeof(meta), &len, &err) == 0);
	CHECK_INT(dbmeta_txnid(meta, len), c);
	CHECK(dbmeta_save(env, c + 5, meta + 8192, sizeof(meta) - 8192, &len,
	    &err) == -1);
	/*
	 * Without this reader LMDB reuses the snapshot's pages for what
	 * follows, and the restored meta page finds none of its keys (tried:
	 * 0 of 2,000).
	 */
	CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &pin) == 0);
	/* Committed after it without a sync, reusing whatever LMDB may. */
	for (round = 0; round < 60; round++) {
		CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
		for (i = round * 30; i < round * 30 + 30; i++) {
			snprintf(key, sizeof(key), "k%05d", i);
			k.mv_size = strlen(key);
			k.mv_data = key;
			CHECK(mdb_del(txn, dbi, &k, NULL) == 0);
			snprintf(key, sizeof(key), "x%05d", i);
			value_of(val, sizeof(val), "w", i);
			put(txn, dbi, key, val);
		}
		CHECK(mdb_txn_commit(txn) == 0);
	}
	mdb_txn_abort(pin);
	mdb_env_close(env);
	/* As after a crash: back to the checkpoint. */
	CHECK(dbmeta_restore(path, meta, len, &err) == 0);
	env = env_open(dir, 0);
	CHECK(mdb_env_info(env, &info) == 0);
	CHECK_INT(info.me_last_txnid, c);
	CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
	CHECK(mdb_dbi_open(txn, NULL, 0, &dbi) == 0);
	for (i = 0, n = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k%05d", i);
		k.mv_size = strlen(key);
		k.mv_data = key;
		value_of(val, sizeof(val), "v", i);
		if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size == strlen(val)
		    && memcmp(v.mv_data, val, v.mv_size) == 0)
			n++;
	}
	CHECK_INT(n, 2000);
	snprintf(key, sizeof(key), "x%05d", 0);
	k.mv_size = strlen(key);
	k.mv_data = key;
	CHECK(mdb_get(txn, dbi, &k, &v) == MDB_NOTFOUND);
	mdb_txn_abort(txn);
	/* And it goes on from there. */
	CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
	put(txn, dbi, "after", "restore");
	CHECK(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);
	env = env_open(dir, 0);
	CHECK(mdb_env_info(env, &info) == 0);
	CHECK_INT(info.me_last_txnid, c + 1);
	mdb_env_close(env);
}

int
main(int argc, char **argv)
{
	static const struct harness_test tests[] = {
		TEST_ENTRY(empty_then_checkpoint),
		TEST_ENTRY(checkpoint_in_place),
		TEST_ENTRY(checkpoint_new_file),
		TEST_ENTRY(cut_tail),
		TEST_ENTRY(spare_reused),
		TEST_ENTRY(rotate_before_header),
		TEST_ENTRY(damaged_record_ends_recovery),
		TEST_ENTRY(damaged_header_falls_back),
		TEST_ENTRY(meta_restored),
	};

	return harness_main(argc, argv, tests,
	    sizeof(tests) / sizeof(tests[0]));
}
