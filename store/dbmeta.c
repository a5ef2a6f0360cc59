/* SPDX-License-Identifier: ISC */
/*
 * dbmeta.c: LMDB 0.9's meta pages (see dbmeta.h).  Offsets, in the
 * native byte order of the machine that wrote the file:
 *	0	page number (size_t)	10	page flags (u16, P_META 0x08)
 *	16	MDB_meta: magic (u32 0xBEEFC0DE), version (u32 1), address,
 *		map size, two MDB_db of 48 bytes, last page, and at 144 the
 *		transaction id (all 8 bytes on a 64-bit machine).
 */
#include "dbmeta.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define DBMETA_FLAGS_OFF	10
#define DBMETA_P_META		0x08
#define DBMETA_MAGIC_OFF	16
#define DBMETA_MAGIC		0xBEEFC0DEu
#define DBMETA_VERSION		1u
#define DBMETA_TXNID_OFF	(16 + 8 + 8 + 8 + 2 * 48 + 8)

_Static_assert(sizeof(size_t) == 8, "dbmeta knows LMDB's 64-bit layout");

/* Whether page (len bytes) is a meta page of the known format. */
static bool
dbmeta_valid(const uint8_t *page, size_t len)
{
	uint32_t magic, version;
	uint16_t flags;

	if (len < DBMETA_TXNID_OFF + 8)
		return false;
	memcpy(&flags, page + DBMETA_FLAGS_OFF, sizeof(flags));
	memcpy(&magic, page + DBMETA_MAGIC_OFF, sizeof(magic));
	memcpy(&version, page + DBMETA_MAGIC_OFF + 4, sizeof(version));
	return (flags & DBMETA_P_META) != 0 && magic == DBMETA_MAGIC &&
	    version == DBMETA_VERSION;
}

uint64_t
dbmeta_txnid(const void *meta, size_t len)
{
	uint64_t id;

	if (!dbmeta_valid(meta, len))
		return 0;
	memcpy(&id, (const uint8_t *)meta + DBMETA_TXNID_OFF, sizeof(id));
	return id;
}

static int
dbmeta_pread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n;

	do
		n = pread(fd, buf, len, off);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

int
dbmeta_save(MDB_env *env, uint64_t txnid, void *buf, size_t cap,
    size_t *len_r, struct store_error *err)
{
	MDB_stat st;
	unsigned slot;
	int fd, rc;

	if ((rc = mdb_env_stat(env, &st)) != 0 ||
	    (rc = mdb_env_get_fd(env, &fd)) != 0)
		return db_mdb_error(err, rc, "meta page"), -1;
	if (st.ms_psize > cap || st.ms_psize > DBMETA_PAGE_MAX)
		return db_error(err, IPC_S_INTERNAL, "meta page: page size "
		    "%u too big", st.ms_psize), -1;
	for (slot = 0; slot < 2; slot++) {
		if (dbmeta_pread(fd, buf, st.ms_psize,
		    (off_t)slot * st.ms_psize) == -1)
			return db_error(err, IPC_S_INTERNAL, "meta page: read: "
			    "%s", strerror(errno)), -1;
		if (dbmeta_txnid(buf, st.ms_psize) == txnid && txnid != 0) {
			*len_r = st.ms_psize;
			return 0;
		}
	}
	return db_error(err, IPC_S_INTERNAL, "meta page of transaction %llu "
	    "not found (an LMDB of another format?)",
	    (unsigned long long)txnid), -1;
}

int
dbmeta_restore(const char *path, const void *meta, size_t len,
    struct store_error *err)
{
	uint8_t page[DBMETA_PAGE_MAX];
	const char *why;
	size_t slot;
	ssize_t n;
	int fd;

	if (len > sizeof(page) || dbmeta_txnid(meta, len) == 0)
		return db_error(err, IPC_S_INTERNAL, "restoring the meta page: "
		    "not a meta page"), -1;
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1)
		return db_error(err, IPC_S_INTERNAL, "restoring the meta page: "
		    "%s: %s", path, strerror(errno)), -1;
	memcpy(page, meta, len);
	for (slot = 0; slot < 2; slot++) {
		/* Each slot names its own page number. */
		memcpy(page, &slot, sizeof(slot));
		do
			n = pwrite(fd, page, len, (off_t)(slot * len));
		while (n == -1 && errno == EINTR);
		if (n != (ssize_t)len) {
			why = n >= 0 ? "short write" : strerror(errno);
			goto fail;
		}
	}
	if (fdatasync(fd) == -1) {
		why = strerror(errno);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	db_error(err, IPC_S_INTERNAL, "restoring the meta page: %s: %s", path,
	    why);
	close(fd);
	return -1;
}
