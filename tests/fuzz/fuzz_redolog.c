/* SPDX-License-Identifier: ISC */
/*
 * fuzz_redolog.c: libFuzzer target for the redo log's reader
 * (store/redolog.c), which decodes files read back from disk after a
 * crash.  The input becomes a file redo.0000000000000001 in a scratch
 * directory: as it is (first byte even), or after a valid header with
 * the input as its records, each frame's CRC made right where the input
 * has a frame's magic (first byte odd), so that the fuzzer reaches the
 * records' checks too.  Whatever the bytes, recovery must not read out of
 * bounds or crash; every record it returns must lie inside the file; and
 * after recovery a record appended must be read back by the next open,
 * after every record recovered before it.  Each record's payload is also
 * split into its operations (dblog_entry_next), which must stay inside it.
 */
/* fuzz-deps: store/redolog.c store/db.c store/dbmeta.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/key.c store/record.c store/mailbox.c store/name.c store/changelog.c store/strvec.c store/blob.c */
#include "dblog.h"
#include "redolog.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME	"redo.0000000000000001"

static int dirfd_ = -1;
static char dir_[] = "/tmp/fuzz_redolog.XXXXXX";

static void
cleanup(void)
{
	(void)unlinkat(dirfd_, NAME, 0);
	(void)rmdir(dir_);
}

static void
le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* A valid header for file 1 at transaction 7, as redolog.c writes it. */
static void
header(uint8_t *h)
{
	static const char meta[] = "meta";

	memset(h, 0, REDOLOG_HDR_SIZE);
	memcpy(h, "BWREDO01", 8);
	h[8] = 1;
	h[16] = 7;
	le32(h + 24, sizeof(meta));
	memcpy(h + 32, meta, sizeof(meta));
	le32(h + 28, (uint32_t)crc32(crc32(0, h, 28), h + 32, sizeof(meta)));
}

/*
 * Makes the CRC of each frame that starts with a magic right: "REC2"'s
 * over the file's number (1) first, the first format's "REC1" without.
 */
static void
fix_frames(uint8_t *p, size_t len)
{
	static const uint8_t seq[8] = { 1 };
	size_t off = 0, frame;
	uint32_t n;
	uLong crc;

	while (off + 16 <= len && p[off] == 'R' && p[off + 1] == 'E' &&
	    p[off + 2] == 'C' && (p[off + 3] == '1' || p[off + 3] == '2')) {
		n = (uint32_t)p[off + 4] | (uint32_t)p[off + 5] << 8;
		/* Lengths of the input's own size at most. */
		p[off + 6] = p[off + 7] = 0;
		frame = 16 + n + ((8 - (n & 7)) & 7) + 8;
		if (off + frame > len)
			break;
		crc = p[off + 3] == '2' ? crc32(0, seq, sizeof(seq)) : 0;
		le32(p + off + frame - 8, (uint32_t)crc32(crc, p + off,
		    (uInt)(frame - 8)));
		le32(p + off + frame - 4, 0x454e4f44u);
		off += frame;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_error err;
	struct redolog *log = NULL;
	struct stat sb;
	struct iovec iov;
	const void *rec, *meta;
	uint64_t txnid, pos, last = 0;
	size_t len, mlen;
	uint8_t *file;
	size_t flen;
	int fd, rc, n = 0, m = 0;

	if (size < 1)
		return 0;
	if (dirfd_ == -1) {
		if (mkdtemp(dir_) == NULL ||
		    (dirfd_ = open(dir_, O_RDONLY | O_DIRECTORY)) == -1)
			abort();
		atexit(cleanup);
	}
	(void)unlinkat(dirfd_, NAME, 0);
	if (data[0] & 1) {
		flen = REDOLOG_HDR_SIZE + size - 1;
		file = malloc(flen);
		header(file);
		memcpy(file + REDOLOG_HDR_SIZE, data + 1, size - 1);
		fix_frames(file + REDOLOG_HDR_SIZE, size - 1);
	} else {
		flen = size - 1;
		file = malloc(flen + 1);
		memcpy(file, data + 1, flen);
	}
	fd = openat(dirfd_, NAME, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, file, flen) != (ssize_t)flen)
		abort();
	close(fd);
	free(file);
	if (redolog_open(dirfd_, &log, &err) == -1)
		return 0;
	(void)redolog_base(log, &txnid, &meta, &mlen);
	while ((rc = redolog_next(log, &txnid, &rec, &len, &err)) == 1) {
		const uint8_t *p = rec, *e;
		size_t left = len, elen;

		if (len > flen)
			abort();
		while (dblog_entry_next(&p, &left, &e, &elen) == 1)
			if (e < (const uint8_t *)rec ||
			    e + elen > (const uint8_t *)rec + len)
				abort();
		n++;
	}
	if (rc == -1) {
		redolog_free(&log);
		return 0;
	}
	/* Appending resumes where recovery stopped. */
	iov.iov_base = (void *)"appended";
	iov.iov_len = 8;
	if (fstatat(dirfd_, NAME, &sb, 0) == 0 &&
	    redolog_append(log, 99, &iov, 1, &pos, &err) == 0) {
		redolog_free(&log);
		if (redolog_open(dirfd_, &log, &err) == -1)
			abort();
		while ((rc = redolog_next(log, &txnid, &rec, &len, &err)) ==
		    1) {
			m++;
			last = txnid;
		}
		if (rc != 0 || m != n + 1 || last != 99 || len != 8 ||
		    memcmp(rec, "appended", 8) != 0)
			abort();
	}
	redolog_free(&log);
	return 0;
}
