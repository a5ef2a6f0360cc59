/* SPDX-License-Identifier: ISC */
/*
 * redolog.c: the redo log's files (see redolog.h).  Positions are counted
 * in record bytes across files: a file's records hold [start, end) of
 * them, at file offsets REDOLOG_HDR_SIZE + (pos - start).
 *
 * A record's frame, all integers little-endian:
 *	u32 REDOLOG_REC_MAGIC, u32 payload length, u64 transaction id,
 *	the payload, zero bytes up to a multiple of 8,
 *	u32 CRC-32 of the file's number (u64) and everything before it,
 *	u32 REDOLOG_REC_END.
 * The file's number in the check is what lets a file be used again (the
 * spare, below): the frames of its earlier life fail it.  Frames of the
 * first format (REDOLOG_REC_MAGIC1, its CRC without the number) are read
 * as well, so that a store stopped by a crash under an older storaged
 * loses nothing; a file holding one is never used again.
 *
 * The spare: a file the last checkpoint no longer needed is renamed
 * REDOLOG_SPARE instead of removed, and the next new file is made of it.
 * Appending inside a file's size costs a sync of the data alone, where
 * growing it costs one of the inode too: about half, measured.
 * A header slot (two per file, REDOLOG_SLOT_SIZE bytes each, written in
 * turn so that a torn write leaves the other): "BWREDO01", u64 seq, u64
 * txnid, u32 meta length, u32 CRC-32 of those and the meta, the meta.
 */
#include "redolog.h"
#include "xmalloc.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#define REDOLOG_REC_MAGIC	0x32434552u	/* "REC2" */
#define REDOLOG_REC_MAGIC1	0x31434552u	/* "REC1", the first format */
#define REDOLOG_REC_END		0x454e4f44u	/* "DONE" */
#define REDOLOG_HDR_MAGIC	"BWREDO01"
#define REDOLOG_FRAME_HEAD	16u
#define REDOLOG_FRAME_TAIL	8u
#define REDOLOG_NAME_PREFIX	"redo."
/* "redo." and 16 hex digits. */
#define REDOLOG_NAME_LEN	(sizeof(REDOLOG_NAME_PREFIX) - 1 + 16)
#define REDOLOG_SPARE		"redo-spare"
/* Smallest file kept as the spare. */
#define REDOLOG_SPARE_MIN	(1u << 20)
/* Most pieces one append takes. */
#define REDOLOG_IOV_MAX		62

struct redolog_file {
	uint64_t		 seq;
	int			 fd;
	uint64_t		 start, end, synced;
	/* The slot the next checkpoint writes. */
	unsigned		 next_slot;
	/* Holds a frame of the first format: never the spare. */
	bool			 legacy;
	struct redolog_file	*next;
};

struct redolog {
	int			 dirfd;
	pthread_mutex_t		 mtx;
	/* Oldest first; tail is where appends go. */
	struct redolog_file	*head, *tail;
	bool			 has_base;
	uint64_t		 base_txnid;
	uint8_t			*base_meta;
	size_t			 base_len;
	/* Recovery's position; recovering until redolog_next returns 0. */
	bool			 recovering;
	/* redolog_peek's record, which redolog_next returns again. */
	bool			 held;
	uint64_t		 held_txnid;
	size_t			 held_off, held_len;
	struct redolog_file	*cur;
	uint64_t		 cur_off;
	uint8_t			*rbuf;
	size_t			 rcap;
	/* An append failed half-way: the tail's end is unknown. */
	bool			 broken;
	/* REDOLOG_SPARE is there. */
	bool			 has_spare;
	/* redolog_sync's files in use; a checkpoint waits to close them. */
	unsigned		 syncing;
	pthread_cond_t		 idle;
};

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* CRC-32 of len bytes, continuing crc; zlib's crc32 takes uInt lengths. */
static uint32_t
redolog_crc(uint32_t crc, const void *p, size_t len)
{
	const Bytef *b = p;

	while (len > 0) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;

		crc = (uint32_t)crc32(crc, b, n);
		b += n;
		len -= n;
	}
	return crc;
}

/* Where a frame's CRC starts in file seq (REDOLOG_REC_MAGIC frames). */
static uint32_t
redolog_crc_seed(uint64_t seq)
{
	uint8_t b[8];

	put_le64(b, seq);
	return redolog_crc(0, b, sizeof(b));
}

static size_t
pad8(size_t n)
{
	return (8 - (n & 7)) & 7;
}

static void
redolog_name(char *buf, size_t size, uint64_t seq)
{
	snprintf(buf, size, REDOLOG_NAME_PREFIX "%016" PRIx64, seq);
}

/* Parses "redo.<16 hex>"; returns 0 with the number or -1. */
static int
redolog_parse_name(const char *name, uint64_t *seq_r)
{
	uint64_t v = 0;
	const char *p;

	if (strlen(name) != REDOLOG_NAME_LEN ||
	    strncmp(name, REDOLOG_NAME_PREFIX,
	    sizeof(REDOLOG_NAME_PREFIX) - 1) != 0)
		return -1;
	for (p = name + sizeof(REDOLOG_NAME_PREFIX) - 1; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9')
			v = v << 4 | (uint64_t)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			v = v << 4 | (uint64_t)(*p - 'a' + 10);
		else
			return -1;
	}
	*seq_r = v;
	return 0;
}

static int
redolog_pread_all(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pread(fd, p, len, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/*
 * Writes all of v (n pieces, which it moves along) at off.  Returns 0, or
 * -1 with errno (EIO if the write made no progress).
 */
static int
redolog_pwritev_all(int fd, struct iovec *v, int n, off_t off)
{
	ssize_t w;

	while (n > 0) {
		w = pwritev(fd, v, n, off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		off += w;
		while (n > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (uint8_t *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static void
redolog_file_free(struct redolog_file *f)
{
	if (f->fd != -1)
		close(f->fd);
	free(f);
}

/*
 * Reads slot k of f's header: 1 and the checkpoint in it (meta into a new
 * buffer), 0 if it is not valid (zero, cut or damaged), -1 on a read
 * error.
 */
static int
redolog_read_slot(struct redolog_file *f, unsigned k, uint64_t *txnid_r,
    uint8_t **meta_r, size_t *len_r)
{
	uint8_t *h = xmalloc(REDOLOG_SLOT_SIZE);
	struct stat sb;
	uint32_t mlen, crc;
	int ret = 0;

	if (fstat(f->fd, &sb) == -1) {
		free(h);
		return -1;
	}
	if ((uint64_t)sb.st_size < (k + 1) * REDOLOG_SLOT_SIZE)
		goto out;
	if (redolog_pread_all(f->fd, h, REDOLOG_SLOT_SIZE,
	    (off_t)(k * REDOLOG_SLOT_SIZE)) == -1) {
		ret = -1;
		goto out;
	}
	mlen = get_le32(h + 24);
	if (memcmp(h, REDOLOG_HDR_MAGIC, 8) != 0 || get_le64(h + 8) != f->seq ||
	    mlen == 0 || mlen > REDOLOG_META_MAX)
		goto out;
	crc = redolog_crc(redolog_crc(0, h, 28), h + 32, mlen);
	if (crc != get_le32(h + 28))
		goto out;
	*txnid_r = get_le64(h + 16);
	*meta_r = xmalloc(mlen);
	memcpy(*meta_r, h + 32, mlen);
	*len_r = mlen;
	ret = 1;
out:
	free(h);
	return ret;
}

/*
 * f's checkpoint: 1 with the newer of its valid slots (and f->next_slot
 * set to the other), 0 if neither is valid, -1 on a read error.
 */
static int
redolog_read_header(struct redolog_file *f, uint64_t *txnid_r,
    uint8_t **meta_r, size_t *len_r)
{
	uint64_t t[2] = { 0, 0 };
	uint8_t *m[2] = { NULL, NULL };
	size_t l[2] = { 0, 0 };
	int ok[2], k;

	for (k = 0; k < 2; k++)
		if ((ok[k] = redolog_read_slot(f, (unsigned)k, &t[k], &m[k],
		    &l[k])) == -1) {
			free(m[0]);
			return -1;
		}
	if (!ok[0] && !ok[1]) {
		f->next_slot = 0;
		return 0;
	}
	k = !ok[0] || (ok[1] && t[1] > t[0]);
	f->next_slot = (unsigned)!k;
	*txnid_r = t[k];
	*meta_r = m[k];
	*len_r = l[k];
	free(m[!k]);
	return 1;
}

static int
redolog_seq_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The sequence numbers of the files in dirfd, sorted; -1 on error. */
static int
redolog_list(int dirfd, uint64_t **seqs_r, size_t *n_r,
    struct store_error *err)
{
	struct dirent *de;
	uint64_t *seqs = NULL, seq;
	size_t n = 0, cap = 0;
	DIR *d;
	int fd;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (d = fdopendir(fd)) == NULL) {
		db_error(err, IPC_S_INTERNAL, "redo log: listing: %s",
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (redolog_parse_name(de->d_name, &seq) == -1)
			continue;
		if (n == cap) {
			cap = cap > 0 ? cap * 2 : 8;
			seqs = xreallocarray(seqs, cap, sizeof(*seqs));
		}
		seqs[n++] = seq;
	}
	closedir(d);
	if (n > 0)
		qsort(seqs, n, sizeof(*seqs), redolog_seq_cmp);
	*seqs_r = seqs;
	*n_r = n;
	return 0;
}

int
redolog_open(int dirfd, struct redolog **log_r, struct store_error *err)
{
	struct redolog *log = xcalloc(1, sizeof(*log));
	struct redolog_file *f, **tailp = &log->head;
	char name[REDOLOG_NAME_LEN + 1];
	uint64_t *seqs = NULL, txnid;
	size_t n, i, base = 0, mlen;
	struct stat sb;
	uint8_t *meta;
	int rc;

	*log_r = NULL;
	log->dirfd = dirfd;
	pthread_mutex_init(&log->mtx, NULL);
	pthread_cond_init(&log->idle, NULL);
	if (redolog_list(dirfd, &seqs, &n, err) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		redolog_name(name, sizeof(name), seqs[i]);
		f = xcalloc(1, sizeof(*f));
		f->seq = seqs[i];
		if ((f->fd = openat(dirfd, name, O_RDWR | O_CLOEXEC)) == -1) {
			db_error(err, IPC_S_INTERNAL, "redo log: opening %s: "
			    "%s", name, strerror(errno));
			free(f);
			goto fail;
		}
		*tailp = f;
		tailp = &f->next;
		log->tail = f;
		if ((rc = redolog_read_header(f, &txnid, &meta, &mlen)) == -1) {
			db_error(err, IPC_S_INTERNAL, "redo log: reading %s: "
			    "%s", name, strerror(errno));
			goto fail;
		}
		if (rc == 1) {
			free(log->base_meta);
			log->has_base = true;
			log->base_txnid = txnid;
			log->base_meta = meta;
			log->base_len = mlen;
			base = i;
		}
	}
	/* Older than the base: no longer needed by anything. */
	for (i = 0; i < base; i++) {
		f = log->head;
		log->head = f->next;
		redolog_name(name, sizeof(name), f->seq);
		(void)unlinkat(dirfd, name, 0);
		redolog_file_free(f);
	}
	free(seqs);
	log->has_spare = fstatat(dirfd, REDOLOG_SPARE, &sb, 0) == 0;
	log->recovering = true;
	log->cur = log->head;
	log->cur_off = REDOLOG_HDR_SIZE;
	*log_r = log;
	return 0;
fail:
	free(seqs);
	redolog_free(&log);
	return -1;
}

void
redolog_free(struct redolog **log_r)
{
	struct redolog *log = *log_r;
	struct redolog_file *f;

	*log_r = NULL;
	if (log == NULL)
		return;
	while ((f = log->head) != NULL) {
		log->head = f->next;
		redolog_file_free(f);
	}
	free(log->base_meta);
	free(log->rbuf);
	pthread_mutex_destroy(&log->mtx);
	pthread_cond_destroy(&log->idle);
	free(log);
}

bool
redolog_base(const struct redolog *log, uint64_t *txnid_r,
    const void **meta_r, size_t *len_r)
{
	if (!log->has_base)
		return false;
	*txnid_r = log->base_txnid;
	*meta_r = log->base_meta;
	*len_r = log->base_len;
	return true;
}

/*
 * Recovery is over at cur_off in cur: what follows there (a cut record)
 * and every later file go, and appends continue there.
 */
static int
redolog_recovery_end(struct redolog *log, struct store_error *err)
{
	struct redolog_file *f = log->cur, *g;
	char name[REDOLOG_NAME_LEN + 1];
	uint64_t pos = 0;

	log->recovering = false;
	if (f == NULL)
		return 0;
	for (g = log->head; g != f; g = g->next)
		pos = g->end;
	f->start = pos;
	f->end = f->synced = pos + (log->cur_off - REDOLOG_HDR_SIZE);
	if (ftruncate(f->fd, (off_t)log->cur_off) == -1 ||
	    fdatasync(f->fd) == -1) {
		db_error(err, IPC_S_INTERNAL, "redo log: cutting: %s",
		    strerror(errno));
		return -1;
	}
	while ((g = f->next) != NULL) {
		f->next = g->next;
		redolog_name(name, sizeof(name), g->seq);
		(void)unlinkat(log->dirfd, name, 0);
		redolog_file_free(g);
	}
	log->tail = f;
	return 0;
}

int
redolog_next(struct redolog *log, uint64_t *txnid_r, const void **data_r,
    size_t *len_r, struct store_error *err)
{
	uint8_t head[REDOLOG_FRAME_HEAD];
	struct redolog_file *f;
	uint64_t len, frame, pos;
	struct stat sb;
	uint8_t *tail;
	uint32_t magic;

	if (log->held) {
		log->held = false;
		*txnid_r = log->held_txnid;
		*data_r = log->rbuf + log->held_off;
		*len_r = log->held_len;
		return 1;
	}
	if (!log->recovering)
		return 0;
	while ((f = log->cur) != NULL) {
		if (fstat(f->fd, &sb) == -1)
			goto io;
		if ((uint64_t)sb.st_size >= log->cur_off + REDOLOG_FRAME_HEAD) {
			if (redolog_pread_all(f->fd, head, sizeof(head),
			    (off_t)log->cur_off) == -1)
				goto io;
			magic = get_le32(head);
			if (magic != REDOLOG_REC_MAGIC &&
			    magic != REDOLOG_REC_MAGIC1)
				goto file_end;	/* zero or damaged */
			len = get_le32(head + 4);
			frame = REDOLOG_FRAME_HEAD + len + pad8(len) +
			    REDOLOG_FRAME_TAIL;
			if (len > REDOLOG_RECORD_MAX ||
			    (uint64_t)sb.st_size < log->cur_off + frame)
				goto file_end;	/* cut */
			if (log->rcap < frame) {
				free(log->rbuf);
				log->rbuf = xmalloc(frame);
				log->rcap = frame;
			}
			if (redolog_pread_all(f->fd, log->rbuf, frame,
			    (off_t)log->cur_off) == -1)
				goto io;
			tail = log->rbuf + frame - REDOLOG_FRAME_TAIL;
			if (get_le32(tail + 4) != REDOLOG_REC_END ||
			    get_le32(tail) != redolog_crc(magic ==
			    REDOLOG_REC_MAGIC ? redolog_crc_seed(f->seq) : 0,
			    log->rbuf, frame - REDOLOG_FRAME_TAIL))
				goto file_end;	/* damaged, or of its past */
			if (magic == REDOLOG_REC_MAGIC1)
				f->legacy = true;
			log->cur_off += frame;
			/* Already in the base's snapshot. */
			if (log->has_base &&
			    get_le64(log->rbuf + 8) <= log->base_txnid)
				continue;
			*txnid_r = get_le64(log->rbuf + 8);
			*data_r = log->rbuf + REDOLOG_FRAME_HEAD;
			*len_r = (size_t)len;
			return 1;
		}
file_end:
		/*
		 * A later file was begun only once every record of this one
		 * was durable: what does not read as a record here (the
		 * bytes of a spare's earlier life, or of the file's size) is
		 * past its end, and the next file's records follow.
		 */
		if (f->next == NULL)
			break;
		pos = f->start + (log->cur_off - REDOLOG_HDR_SIZE);
		f->end = f->synced = pos;
		f->next->start = pos;
		log->cur = f->next;
		log->cur_off = REDOLOG_HDR_SIZE;
	}
	return redolog_recovery_end(log, err) == -1 ? -1 : 0;
io:
	db_error(err, IPC_S_INTERNAL, "redo log: reading: %s",
	    strerror(errno));
	return -1;
}

int
redolog_append(struct redolog *log, uint64_t txnid, const struct iovec *iov,
    int iovcnt, uint64_t *pos_r, struct store_error *err)
{
	struct iovec v[REDOLOG_IOV_MAX + 2];
	uint8_t head[REDOLOG_FRAME_HEAD], tail[8 + REDOLOG_FRAME_TAIL];
	struct redolog_file *f;
	uint64_t len = 0;
	uint32_t crc;
	size_t padn;
	int i;

	if (log->recovering || log->broken || log->tail == NULL ||
	    iovcnt < 0 || iovcnt > REDOLOG_IOV_MAX)
		return db_error(err, IPC_S_INTERNAL, "redo log: not open "
		    "for appending"), -1;
	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > REDOLOG_RECORD_MAX)
		return db_error(err, IPC_S_TOOBIG, "redo log: record of %"
		    PRIu64 " bytes", len), -1;
	/* Only this thread moves the tail and its end. */
	f = log->tail;
	put_le32(head, REDOLOG_REC_MAGIC);
	put_le32(head + 4, (uint32_t)len);
	put_le64(head + 8, txnid);
	crc = redolog_crc(redolog_crc_seed(f->seq), head, sizeof(head));
	for (i = 0; i < iovcnt; i++)
		crc = redolog_crc(crc, iov[i].iov_base, iov[i].iov_len);
	padn = pad8((size_t)len);
	memset(tail, 0, padn);
	crc = redolog_crc(crc, tail, padn);
	put_le32(tail + padn, crc);
	put_le32(tail + padn + 4, REDOLOG_REC_END);
	v[0].iov_base = head;
	v[0].iov_len = sizeof(head);
	for (i = 0; i < iovcnt; i++)
		v[i + 1] = iov[i];
	v[iovcnt + 1].iov_base = tail;
	v[iovcnt + 1].iov_len = padn + REDOLOG_FRAME_TAIL;
	if (redolog_pwritev_all(f->fd, v, iovcnt + 2,
	    (off_t)(REDOLOG_HDR_SIZE + (f->end - f->start))) == -1) {
		log->broken = true;
		return db_error(err, IPC_S_INTERNAL, "redo log: writing: %s",
		    strerror(errno)), -1;
	}
	pthread_mutex_lock(&log->mtx);
	f->end += sizeof(head) + len + padn + REDOLOG_FRAME_TAIL;
	*pos_r = f->end;
	pthread_mutex_unlock(&log->mtx);
	return 0;
}

int
redolog_sync(struct redolog *log, uint64_t pos, struct store_error *err)
{
	struct redolog_file *f, *todo[8];
	uint64_t upto[8];
	size_t n, i;
	int rc = 0;

	pthread_mutex_lock(&log->mtx);
	for (;;) {
		n = 0;
		for (f = log->head; f != NULL && n < 8; f = f->next)
			if (f->start < pos && f->synced < f->end &&
			    f->synced < pos) {
				todo[n] = f;
				upto[n++] = f->end < pos ? f->end : pos;
			}
		if (n == 0)
			break;
		/* A checkpoint closes no file while it is synced here. */
		log->syncing++;
		pthread_mutex_unlock(&log->mtx);
		for (i = 0; i < n && rc == 0; i++)
			if (fdatasync(todo[i]->fd) == -1) {
				db_error(err, IPC_S_INTERNAL, "redo log: "
				    "sync: %s", strerror(errno));
				rc = -1;
			}
		pthread_mutex_lock(&log->mtx);
		for (i = 0; i < n && rc == 0; i++)
			if (todo[i]->synced < upto[i])
				todo[i]->synced = upto[i];
		if (--log->syncing == 0)
			pthread_cond_broadcast(&log->idle);
		if (rc == -1)
			break;
	}
	pthread_mutex_unlock(&log->mtx);
	return rc;
}

/* Starts the file after the tail, its header zero (under no lock). */
static struct redolog_file *
redolog_new_file(struct redolog *log, struct store_error *err)
{
	char name[REDOLOG_NAME_LEN + 1];
	struct redolog_file *f;
	uint64_t seq;

	seq = log->tail != NULL ? log->tail->seq + 1 : 1;
	redolog_name(name, sizeof(name), seq);
	f = xcalloc(1, sizeof(*f));
	f->seq = seq;
	/* The spare's old frames fail the check under its new number. */
	if (log->has_spare) {
		log->has_spare = false;
		if (renameat(log->dirfd, REDOLOG_SPARE, log->dirfd, name) ==
		    0 && (f->fd = openat(log->dirfd, name, O_RDWR |
		    O_CLOEXEC)) != -1)
			goto made;
	}
	f->fd = openat(log->dirfd, name, O_RDWR | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600);
	if (f->fd == -1 || ftruncate(f->fd, REDOLOG_HDR_SIZE) == -1) {
		db_error(err, IPC_S_INTERNAL, "redo log: making %s: %s",
		    name, strerror(errno));
		if (f->fd != -1)
			(void)unlinkat(log->dirfd, name, 0);
		redolog_file_free(f);
		return NULL;
	}
made:
	f->start = f->end = f->synced = log->tail != NULL ? log->tail->end : 0;
	return f;
}

int
redolog_rotate(struct redolog *log, struct store_error *err)
{
	char name[REDOLOG_NAME_LEN + 1];
	struct redolog_file *f;

	if (log->recovering || log->broken)
		return db_error(err, IPC_S_INTERNAL, "redo log: not open "
		    "for appending"), -1;
	if ((f = redolog_new_file(log, err)) == NULL)
		return -1;
	/* Its name durable before any record in it is. */
	if (fsync(log->dirfd) == -1) {
		db_error(err, IPC_S_INTERNAL, "redo log: new file: %s",
		    strerror(errno));
		redolog_name(name, sizeof(name), f->seq);
		(void)unlinkat(log->dirfd, name, 0);
		redolog_file_free(f);
		return -1;
	}
	pthread_mutex_lock(&log->mtx);
	if (log->tail != NULL)
		log->tail->next = f;
	else
		log->head = f;
	log->tail = f;
	pthread_mutex_unlock(&log->mtx);
	return 0;
}

/*
 * A file no checkpoint needs any more: kept as the spare if there is
 * none and it is big enough to be worth it, else removed.  The rename
 * need not be durable: a crash that undoes it leaves a file older than
 * the base, which redolog_open removes.
 */
static void
redolog_retire(struct redolog *log, struct redolog_file *f)
{
	char name[REDOLOG_NAME_LEN + 1];
	struct stat sb;

	redolog_name(name, sizeof(name), f->seq);
	if (!log->has_spare && !f->legacy && fstat(f->fd, &sb) == 0 &&
	    sb.st_size >= (off_t)REDOLOG_SPARE_MIN &&
	    renameat(log->dirfd, name, log->dirfd, REDOLOG_SPARE) == 0)
		log->has_spare = true;
	else
		(void)unlinkat(log->dirfd, name, 0);
	redolog_file_free(f);
}

int
redolog_checkpoint(struct redolog *log, uint64_t txnid, const void *meta,
    size_t len, bool new_file, struct store_error *err)
{
	struct redolog_file *f, *old;
	uint8_t *h, *copy;
	struct iovec hv;
	unsigned k;

	if (log->recovering || log->broken)
		return db_error(err, IPC_S_INTERNAL, "redo log: not open "
		    "for appending"), -1;
	if (len == 0 || len > REDOLOG_META_MAX)
		return db_error(err, IPC_S_INTERNAL, "redo log: meta page of "
		    "%zu bytes", len), -1;
	if ((new_file || log->tail == NULL) && redolog_rotate(log, err) == -1)
		return -1;
	f = log->tail;
	k = f->next_slot;
	h = xcalloc(1, REDOLOG_SLOT_SIZE);
	memcpy(h, REDOLOG_HDR_MAGIC, 8);
	put_le64(h + 8, f->seq);
	put_le64(h + 16, txnid);
	put_le32(h + 24, (uint32_t)len);
	memcpy(h + 32, meta, len);
	put_le32(h + 28, redolog_crc(redolog_crc(0, h, 28), h + 32, len));
	hv.iov_base = h;
	hv.iov_len = REDOLOG_SLOT_SIZE;
	if (redolog_pwritev_all(f->fd, &hv, 1,
	    (off_t)(k * REDOLOG_SLOT_SIZE)) == -1 || fdatasync(f->fd) == -1) {
		db_error(err, IPC_S_INTERNAL, "redo log: checkpoint: %s",
		    strerror(errno));
		free(h);
		return -1;
	}
	free(h);
	f->next_slot = !k;
	copy = xmalloc(len);
	memcpy(copy, meta, len);
	pthread_mutex_lock(&log->mtx);
	free(log->base_meta);
	log->has_base = true;
	log->base_txnid = txnid;
	log->base_meta = copy;
	log->base_len = len;
	/* Everything before the base's file is in the base. */
	while (log->head != f && log->syncing > 0)
		pthread_cond_wait(&log->idle, &log->mtx);
	while ((old = log->head) != f) {
		log->head = old->next;
		pthread_mutex_unlock(&log->mtx);
		redolog_retire(log, old);
		pthread_mutex_lock(&log->mtx);
	}
	pthread_mutex_unlock(&log->mtx);
	return 0;
}

int
redolog_scan(struct redolog *log, uint64_t *last_r, struct store_error *err)
{
	const void *data;
	uint64_t txnid;
	size_t len;
	int rc;

	*last_r = 0;
	if (log->held) {
		log->held = false;
		*last_r = log->held_txnid;
	}
	while ((rc = redolog_next(log, &txnid, &data, &len, err)) == 1)
		*last_r = txnid;
	if (rc == -1)
		return -1;
	/* Again from the first record after the base. */
	log->recovering = true;
	log->cur = log->head;
	log->cur_off = REDOLOG_HDR_SIZE;
	return 0;
}

int
redolog_peek(struct redolog *log, struct store_error *err)
{
	const void *data;
	int rc;

	if (log->held)
		return 1;
	if ((rc = redolog_next(log, &log->held_txnid, &data, &log->held_len,
	    err)) == 1) {
		log->held = true;
		log->held_off = (size_t)((const uint8_t *)data - log->rbuf);
	}
	return rc;
}

uint64_t
redolog_tail_bytes(struct redolog *log)
{
	uint64_t n;

	pthread_mutex_lock(&log->mtx);
	n = log->tail != NULL ? log->tail->end - log->tail->start : 0;
	pthread_mutex_unlock(&log->mtx);
	return n;
}

void
redolog_stats(struct redolog *log, unsigned *files_r, uint64_t *bytes_r)
{
	struct redolog_file *f;

	*files_r = 0;
	*bytes_r = 0;
	pthread_mutex_lock(&log->mtx);
	for (f = log->head; f != NULL; f = f->next) {
		(*files_r)++;
		*bytes_r += REDOLOG_HDR_SIZE + (f->end - f->start);
	}
	pthread_mutex_unlock(&log->mtx);
}
