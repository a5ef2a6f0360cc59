/* SPDX-License-Identifier: ISC */
/*
 * lmtp_deliver.c: the end of a mail transaction (RFC 2033 4.2): the
 * message, already normalised to CRLF line ends, is parsed once
 * (lib/mime.h); for each accepted recipient the stored bytes are
 * "Return-Path: <sender>" (RFC 5321 4.4) and "Delivered-To: <recipient>"
 * (RFC 9228) in front of the message, in a sealed memfd sent with the
 * parsed record (lib/msgrec.h) to storaged in a DELIVER request.  The
 * message is spooled into the first recipient's memfd as it arrives, so
 * that lmtpd holds a whole message only while it parses it; the other
 * recipients get copies made by the kernel (copy_file_range).
 * storaged replies once the message is durable; then each recipient gets
 * its own reply, in RCPT order.  A recipient whose delivery fails gets a
 * 4xx or 5xx reply of its own, never silence.
 */
#include "lmtp_cmd.h"
#include "lmtpd.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"
#include "mime.h"
#include "msgrec.h"
#include "worker.h"
#include "xmalloc.h"

#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Bytes of message decoded before they are written to the spool. */
#define LMTP_SPOOL_CHUNK	(64 * 1024)
/* Largest message parsed from a copy (lmtp_spool_read) rather than mapped. */
#define LMTP_PARSE_COPY_MAX	(1024 * 1024)

/* What a failed DELIVER tells the client for that recipient. */
static const struct {
	enum ipc_status	 st;
	const char	*code;
	const char	*text;
} lmtp_deliver_failures[] = {
	{ IPC_S_QUOTA,		"552 5.2.2",	"mailbox full" },
	{ IPC_S_TOOBIG,		"552 5.3.4",	"message too big for mailbox" },
	{ IPC_S_NOTFOUND,	"550 5.1.1",	"no such user" },
	{ IPC_S_UNAVAIL,	"451 4.3.0",
	    "store unavailable, try again later" },
	{ IPC_S_MAX,		"451 4.3.0",	"local error, try again later" },
};

static void
lmtp_rcpt_fail(struct lmtp_rcpt *r, enum ipc_status st)
{
	char addr[LMTP_PATH_MAX + 1];
	size_t i;

	for (i = 0; lmtp_deliver_failures[i].st != IPC_S_MAX; i++)
		if (lmtp_deliver_failures[i].st == st)
			break;
	snprintf(r->reply, sizeof(r->reply), "%s <%s>: %s",
	    lmtp_deliver_failures[i].code, r->addr,
	    lmtp_deliver_failures[i].text);
	r->done = true;
	lmtp_session_log(r->s, "delivery failed to=%s status=%s",
	    lmtp_log_value(addr, sizeof(addr), r->addr), ipc_status_name(st));
}

/* Every recipient has its answer: send them, end the transaction. */
static void
lmtp_deliver_finish(struct lmtp_session *s)
{
	struct lmtp_txn *t = &s->txn;
	size_t i;

	for (i = 0; i < t->nrcpts; i++)
		lmtp_reply(s, t->rcpts[i].reply);
	lmtp_txn_reset(s);
	lmtp_session_resume(s);
}

static void
lmtp_deliver_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_DELIVER_rep *d = rep;
	struct lmtp_rcpt *r = arg;
	struct lmtp_session *s = r->s;
	char addr[LMTP_PATH_MAX + 1];

	(void)c;
	(void)text;
	r->req_id = 0;
	if (st != IPC_S_OK)
		lmtp_rcpt_fail(r, st);
	else {
		snprintf(r->reply, sizeof(r->reply), "250 2.6.0 <%s> %s "
		    "as %016llx.%u", r->addr, d->duplicate ?
		    "Already delivered" : "Delivered",
		    (unsigned long long)conn_id(s->conn), s->txn.seq);
		r->done = true;
		lmtp_session_log(s, "delivered to=%s account=%llu "
		    "mailbox=%u uid=%u email=%llu duplicate=%d",
		    lmtp_log_value(addr, sizeof(addr), r->addr),
		    (unsigned long long)r->account_id, r->mailbox_id, d->uid,
		    (unsigned long long)d->email_id, d->duplicate ? 1 : 0);
	}
	if (--s->txn.ndelivering == 0)
		lmtp_deliver_finish(s);
}

static int
lmtp_write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, b, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The lines stored in front of the message for r; their length or -1. */
static int
lmtp_prefix(const struct lmtp_txn *t, const struct lmtp_rcpt *r, char *buf,
    size_t size)
{
	int n;

	n = snprintf(buf, size, "Return-Path: <%s>\r\nDelivered-To: %s\r\n",
	    t->mail.from, r->addr);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

/* A memfd holding prefix, ready for more; -1 with errno on failure. */
static int
lmtp_memfd(const char *prefix, size_t plen)
{
	int fd;

	if ((fd = memfd_create("lmtp", MFD_CLOEXEC | MFD_ALLOW_SEALING)) ==
	    -1)
		return -1;
	if (lmtp_write_all(fd, prefix, plen) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* What storaged reads cannot change under it. */
static int
lmtp_seal(int fd)
{
	return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL);
}

void
lmtp_spool_begin(struct lmtp_session *s)
{
	struct lmtp_txn *t = &s->txn;
	char prefix[2 * LMTP_PATH_MAX + 64];
	int plen;

	t->spool_len = 0;
	t->spool_failed = false;
	if ((plen = lmtp_prefix(t, &t->rcpts[0], prefix, sizeof(prefix))) ==
	    -1 || (t->spool = lmtp_memfd(prefix, (size_t)plen)) == -1) {
		lmtp_session_log(s, "spool failed error=%s", strerror(errno));
		t->spool_failed = true;
		return;
	}
	t->spool_prefix = (size_t)plen;
	t->spool_len = (uint64_t)plen;
}

void
lmtp_spool_flush(struct lmtp_session *s, bool force)
{
	struct lmtp_txn *t = &s->txn;

	if (t->msg.len == 0 || (!force && t->msg.len < LMTP_SPOOL_CHUNK))
		return;
	if (!t->spool_failed) {
		if (t->spool == -1 || lmtp_write_all(t->spool, t->msg.data,
		    t->msg.len) == -1) {
			lmtp_session_log(s, "spool failed error=%s",
			    strerror(errno));
			t->spool_failed = true;
		} else
			t->spool_len += t->msg.len;
	}
	buf_reset(&t->msg);
}

/* Copies len bytes of src from offset off to the end of dst. */
static int
lmtp_copy(int src, off_t off, int dst, uint64_t len)
{
	uint8_t *buf;
	ssize_t n;

	while (len > 0) {
		n = copy_file_range(src, &off, dst, NULL, (size_t)(len >
		    (1u << 30) ? (1u << 30) : len), 0);
		if (n > 0) {
			len -= (uint64_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 || (errno != ENOSYS && errno != EXDEV &&
		    errno != EINVAL && errno != EOPNOTSUPP))
			return -1;
		break;		/* not for these files: copy by hand */
	}
	if (len == 0)
		return 0;
	buf = xmalloc(LMTP_SPOOL_CHUNK);
	while (len > 0) {
		n = pread(src, buf, len < LMTP_SPOOL_CHUNK ? (size_t)len :
		    LMTP_SPOOL_CHUNK, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || lmtp_write_all(dst, buf, (size_t)n) == -1) {
			free(buf);
			return -1;
		}
		off += n;
		len -= (uint64_t)n;
	}
	free(buf);
	return 0;
}

/* Room left in a DELIVER frame for the record after the other fields. */
#define LMTP_RECORD_MAX	(IPC_MAX_PAYLOAD - 4 * LMTP_PATH_MAX - 1024)

/*
 * Sends one recipient's DELIVER of fd (taken, sealed here), which holds
 * plen bytes of prefix and the message.
 */
static void
lmtp_deliver_send(struct lmtp_session *s, struct lmtp_rcpt *r, int fd,
    size_t plen, const struct mime_msg *mm, struct ipc_chan *store,
    uint64_t now)
{
	struct lmtp_txn *t = &s->txn;
	struct ipc_DELIVER_req m;
	struct buf rec = BUF_INIT;

	if (lmtp_seal(fd) == -1) {
		lmtp_session_log(s, "seal failed error=%s", strerror(errno));
		close(fd);
		lmtp_rcpt_fail(r, IPC_S_INTERNAL);
		t->ndelivering--;
		return;
	}
	msgrec_encode(mm, (uint64_t)plen, &rec);
	/*
	 * A crafted message can make a record larger than one IPC frame may
	 * be; refuse that message rather than fail the whole worker.
	 */
	if (rec.len > LMTP_RECORD_MAX) {
		lmtp_session_log(s, "record too large bytes=%zu", rec.len);
		buf_clear(&rec);
		close(fd);
		lmtp_rcpt_fail(r, IPC_S_TOOBIG);
		t->ndelivering--;
		return;
	}
	m.account_id = r->account_id;
	m.mailbox_id = r->mailbox_id;
	m.envelope_from = t->mail.from;
	m.recipient = r->addr;
	m.received = now;
	m.size = (uint64_t)plen + (t->spool_len - t->spool_prefix);
	m.record.p = rec.data;
	m.record.len = (uint32_t)rec.len;
	r->req_id = ipc_request_fd(store, IPC_T_DELIVER, conn_id(s->conn), &m,
	    fd, lmtp_deliver_cb, r);
	free(rec.base);
}

/* A copy of the spooled message with r's own prefix, then its DELIVER. */
static void
lmtp_deliver_copy(struct lmtp_session *s, struct lmtp_rcpt *r,
    const struct mime_msg *mm, struct ipc_chan *store, uint64_t now)
{
	struct lmtp_txn *t = &s->txn;
	char prefix[2 * LMTP_PATH_MAX + 64];
	int plen, fd = -1;

	if ((plen = lmtp_prefix(t, r, prefix, sizeof(prefix))) == -1 ||
	    (fd = lmtp_memfd(prefix, (size_t)plen)) == -1 ||
	    lmtp_copy(t->spool, (off_t)t->spool_prefix, fd,
	    t->spool_len - t->spool_prefix) == -1) {
		lmtp_session_log(s, "copy failed error=%s", strerror(errno));
		if (fd != -1)
			close(fd);
		lmtp_rcpt_fail(r, IPC_S_INTERNAL);
		t->ndelivering--;
		return;
	}
	lmtp_deliver_send(s, r, fd, (size_t)plen, mm, store, now);
}

/*
 * The spooled message (without its prefix) as mime_parse() reads it,
 * copied into a buffer this process keeps for every parse (one at a time:
 * the parse ends before lmtp_deliver returns), or NULL if it is larger
 * than LMTP_PARSE_COPY_MAX or cannot be read.  Up to that size a copy
 * costs less than a mapping, whose unmapping flushes the TLB of every CPU
 * the process ran on; the buffer stays resident at its largest.
 */
static const uint8_t *
lmtp_spool_read(struct lmtp_txn *t)
{
	static uint8_t *copy;
	static size_t copy_size;
	size_t len = (size_t)(t->spool_len - t->spool_prefix), got = 0;
	ssize_t n;

	if (len > LMTP_PARSE_COPY_MAX)
		return NULL;
	if (len > copy_size) {
		copy_size = (len + LMTP_SPOOL_CHUNK - 1) / LMTP_SPOOL_CHUNK *
		    LMTP_SPOOL_CHUNK;
		free(copy);
		copy = xmalloc(copy_size);
	}
	while (got < len) {
		n = pread(t->spool, copy + got, len - got,
		    (off_t)(t->spool_prefix + got));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		got += (size_t)n;
	}
	return copy;
}

/* The spool, mapped: the message with its prefix, for larger messages. */
static void *
lmtp_spool_map(struct lmtp_txn *t)
{
	void *map;

	/*
	 * Private and read-only: a shared mapping of a memfd would keep it
	 * from being sealed, and this process writes nothing through it.
	 */
	map = mmap(NULL, (size_t)t->spool_len, PROT_READ, MAP_PRIVATE,
	    t->spool, 0);
	return map == MAP_FAILED ? NULL : map;
}

static void
lmtp_deliver_fail_all(struct lmtp_session *s, enum ipc_status st)
{
	struct lmtp_txn *t = &s->txn;
	size_t i;

	for (i = 0; i < t->nrcpts; i++)
		lmtp_rcpt_fail(&t->rcpts[i], st);
	lmtp_deliver_finish(s);
}

void
lmtp_deliver(struct lmtp_session *s)
{
	struct lmtp_txn *t = &s->txn;
	struct ipc_chan *store = worker_store();
	struct mime_msg *mm = NULL;
	uint64_t now = (uint64_t)time(NULL);
	const uint8_t *body;
	uint8_t *map = NULL, *held;
	size_t i;
	int fd;

	lmtp_session_wait(s);
	/*
	 * A message smaller than a spool chunk is still whole in t->msg:
	 * parsed there, it spares a copy.  The parse borrows the bytes: they
	 * stay allocated (held) until the end.
	 */
	if (t->spool_len == t->spool_prefix && !t->spool_failed &&
	    store != NULL)
		mm = mime_parse(t->msg.data, t->msg.len);
	lmtp_spool_flush(s, true);
	held = t->msg.base;
	memset(&t->msg, 0, sizeof(t->msg));
	if (store == NULL) {
		free(held);
		lmtp_deliver_fail_all(s, IPC_S_UNAVAIL);
		return;
	}
	if (mm == NULL && !t->spool_failed) {
		if ((body = lmtp_spool_read(t)) == NULL &&
		    (map = lmtp_spool_map(t)) != NULL)
			body = map + t->spool_prefix;
		if (body != NULL)
			mm = mime_parse(body, (size_t)(t->spool_len -
			    t->spool_prefix));
	}
	if (t->spool_failed || mm == NULL) {
		mime_msg_free(&mm);
		if (map != NULL)
			munmap(map, (size_t)t->spool_len);
		free(held);
		lmtp_deliver_fail_all(s, IPC_S_INTERNAL);
		return;
	}
	/*
	 * One more than the requests while they are sent, so that replies
	 * that come at once (a closed channel) cannot end the transaction
	 * under this loop.  The spool itself goes to the first recipient,
	 * after the others have their copies.
	 */
	t->ndelivering = t->nrcpts + 1;
	for (i = 1; i < t->nrcpts; i++)
		lmtp_deliver_copy(s, &t->rcpts[i], mm, store, now);
	fd = t->spool;
	t->spool = -1;
	lmtp_deliver_send(s, &t->rcpts[0], fd, t->spool_prefix, mm, store,
	    now);
	mime_msg_free(&mm);
	if (map != NULL)
		munmap(map, (size_t)t->spool_len);
	free(held);
	if (--t->ndelivering == 0)
		lmtp_deliver_finish(s);
}

void
lmtp_deliver_refuse(struct lmtp_session *s, const char *code,
    const char *text)
{
	struct lmtp_txn *t = &s->txn;
	char addr[LMTP_PATH_MAX + 1];
	size_t i;

	for (i = 0; i < t->nrcpts; i++) {
		lmtp_replyf(s, "%s <%s>: %s", code, t->rcpts[i].addr, text);
		lmtp_session_log(s, "delivery refused to=%s reason=\"%s\"",
		    lmtp_log_value(addr, sizeof(addr), t->rcpts[i].addr),
		    text);
	}
	lmtp_txn_reset(s);
}
