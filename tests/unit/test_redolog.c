/* SPDX-License-Identifier: ISC */
/*
 * test_redolog.c: the redo log's files (store/redolog.h): records read
 * back in order with their transaction ids, across files and a checkpoint
 * that did not complete; a tail cut by a crash, or a damaged record,
 * ending recovery there (and what came after it dropped); a damaged
 * header falling back to the file before.
 */
/* unit-deps: store/redolog.c store/db.c store/blobfile.c store/schema.c store/key.c store/record.c store/mailbox.c store/name.c store/changelog.c store/strvec.c store/blob.c */
#include "harness.h"

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
	/* Nowhere to append before a file is started. */
	CHECK(redolog_append(log, 1, NULL, 0, &pos, &err) == -1);
	CHECK(redolog_rotate(log, &err) == 0);
	CHECK(redolog_checkpoint(log, 10, meta_a, sizeof(meta_a), &err) == 0);
	CHECK(redolog_base(log, &txnid, &meta, &len));
	CHECK_INT(txnid, 10);
	for (txnid = 11; txnid <= 20; txnid++)
		pos = append(log, txnid);
	CHECK(redolog_sync(log, pos, &err) == 0);
	log = reopen(&log);
	CHECK(redolog_base(log, &txnid, &meta, &len));
	CHECK_INT(txnid, 10);
	CHECK_INT(len, sizeof(meta_a));
	CHECK(memcmp(meta, meta_a, len) == 0);
	CHECK_INT(read_all(log, 11), 10);
	/* Appending goes on after the last record. */
	append(log, 21);
	log = reopen(&log);
	CHECK_INT(read_all(log, 11), 11);
	redolog_free(&log);
	CHECK_INT(count_files(), 1);
}

TEST(across_files)
{
	struct store_error err;
	struct redolog *log;
	const void *meta;
	uint64_t txnid, pos;
	unsigned files;
	size_t len;

	fresh_dir("across");
	log = reopen(NULL);
	CHECK_INT(read_all(log, 1), 0);
	CHECK(redolog_rotate(log, &err) == 0);
	CHECK(redolog_checkpoint(log, 10, meta_a, sizeof(meta_a), &err) == 0);
	append(log, 11);
	append(log, 12);
	/* A checkpoint at 12 begins; its sync has not finished. */
	CHECK(redolog_rotate(log, &err) == 0);
	append(log, 13);
	pos = append(log, 14);
	CHECK(redolog_sync(log, pos, &err) == 0);
	redolog_stats(log, &files, &pos);
	CHECK_INT(files, 2);
	/* A crash now: the base is still 10, and all four follow it. */
	log = reopen(&log);
	CHECK(redolog_base(log, &txnid, &meta, &len));
	CHECK_INT(txnid, 10);
	CHECK_INT(read_all(log, 11), 4);
	CHECK_INT(count_files(), 2);
	/* Recovery's own checkpoint, then more. */
	CHECK(redolog_rotate(log, &err) == 0);
	CHECK(redolog_checkpoint(log, 14, meta_b, sizeof(meta_b), &err) == 0);
	CHECK_INT(count_files(), 1);
	append(log, 15);
	log = reopen(&log);
	CHECK(redolog_base(log, &txnid, &meta, &len));
	CHECK_INT(txnid, 14);
	CHECK(memcmp(meta, meta_b, len) == 0);
	CHECK_INT(read_all(log, 15), 1);
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

TEST(cut_tail)
{
	struct store_error err;
	struct redolog *log;
	char name[64];
	struct stat sb;
	int fd;

	fresh_dir("cut");
	log = reopen(NULL);
	CHECK_INT(read_all(log, 1), 0);
	CHECK(redolog_rotate(log, &err) == 0);
	CHECK(redolog_checkpoint(log, 1, meta_a, sizeof(meta_a), &err) == 0);
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
	struct store_error err;
	struct redolog *log;
	uint8_t byte;
	char name[64];
	int fd;

	fresh_dir("damaged");
	log = reopen(NULL);
	CHECK_INT(read_all(log, 1), 0);
	CHECK(redolog_rotate(log, &err) == 0);
	CHECK(redolog_checkpoint(log, 1, meta_a, sizeof(meta_a), &err) == 0);
	append(log, 2);
	append(log, 3);
	newest(name, sizeof(name));
	/* And a later file, whose records must not be replayed without 3. */
	CHECK(redolog_rotate(log, &err) == 0);
	append(log, 4);
	redolog_free(&log);
	CHECK_INT(count_files(), 2);
	/* One bit flipped in record 3's payload (after record 2's frame). */
	fd = openat(dirfd_, name, O_RDWR);
	CHECK(fd >= 0);
	CHECK(pread(fd, &byte, 1, REDOLOG_HDR_SIZE + 16 + 80 + 8 + 16 + 5) ==
	    1);
	byte ^= 0x10;
	CHECK(pwrite(fd, &byte, 1, REDOLOG_HDR_SIZE + 16 + 80 + 8 + 16 + 5) ==
	    1);
	close(fd);
	log = reopen(NULL);
	CHECK_INT(read_all(log, 2), 1);
	CHECK_INT(count_files(), 1);
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
	char name[64];
	size_t len;
	uint8_t byte;
	int fd;

	fresh_dir("header");
	log = reopen(NULL);
	CHECK_INT(read_all(log, 1), 0);
	CHECK(redolog_rotate(log, &err) == 0);
	CHECK(redolog_checkpoint(log, 10, meta_a, sizeof(meta_a), &err) == 0);
	append(log, 11);
	CHECK(redolog_rotate(log, &err) == 0);
	append(log, 12);
	/* The header of the second file is written, then damaged. */
	CHECK(redolog_checkpoint(log, 11, meta_b, sizeof(meta_b), &err) == 0);
	CHECK_INT(count_files(), 1);
	redolog_free(&log);
	newest(name, sizeof(name));
	fd = openat(dirfd_, name, O_RDWR);
	CHECK(fd >= 0);
	CHECK(pread(fd, &byte, 1, 40) == 1);
	byte ^= 1;
	CHECK(pwrite(fd, &byte, 1, 40) == 1);
	close(fd);
	/* No valid header left: no base, and the records are still read. */
	log = reopen(NULL);
	CHECK(!redolog_base(log, &txnid, &meta, &len));
	CHECK_INT(read_all(log, 12), 1);
	redolog_free(&log);
}

int
main(int argc, char **argv)
{
	static const struct harness_test tests[] = {
		TEST_ENTRY(empty_then_checkpoint),
		TEST_ENTRY(across_files),
		TEST_ENTRY(cut_tail),
		TEST_ENTRY(damaged_record_ends_recovery),
		TEST_ENTRY(damaged_header_falls_back),
	};

	return harness_main(argc, argv, tests,
	    sizeof(tests) / sizeof(tests[0]));
}
