/* SPDX-License-Identifier: ISC */
/*
 * lmtp_session.c: one LMTP connection on a lib/conn.h connection: the
 * greeting (RFC 5321 4.3.1), the input loop that frames command lines
 * (RFC 5321 4.1.1, 4.5.3.1.4), DATA content (RFC 5321 4.5.2) and BDAT
 * chunks (RFC 3030 2), pipelining (RFC 2920), STARTTLS (RFC 3207), the
 * idle timeout (RFC 5321 4.5.3.2.7), back-pressure, the session's
 * registration with storaged, and closing.
 *
 * The socket, TLS, timeouts and closing are lib/conn.h's; a session is
 * freed only from its conn's end callback, never from inside the input loop
 * or a command handler.
 */
#include "lmtp_session.h"
#include "lmtp_cmd.h"
#include "lmtpd.h"
#include "compat.h"
#include "conn.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"
#include "xmalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Input read ahead at once (keeps memory per connection small). */
#define LMTP_IN_HIGH		(64 * 1024)
/* Output queued beyond which no further command is read. */
#define LMTP_OUT_HIGH		(64 * 1024)

static void	lmtp_session_input(struct lmtp_session *);

char *
lmtp_log_value(char *dst, size_t size, const char *src)
{
	return conn_log_value(dst, size, src, src != NULL ? strlen(src) : 0);
}

/* --- Output and closing --- */

void
lmtp_reply(struct lmtp_session *s, const char *line)
{
	buf_append(s->out, line, strlen(line));
	buf_append(s->out, "\r\n", 2);
	if (LOG_IS_TRACE(LOG_TRACE_LMTP))
		log_trace(LOG_TRACE_LMTP, "%016llx reply %s",
		    (unsigned long long)conn_id(s->conn), line);
}

void
lmtp_replyf(struct lmtp_session *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	lmtp_reply(s, line);
}

void
lmtp_session_close(struct lmtp_session *s, const char *reason)
{
	conn_close(s->conn, reason);
}

void
lmtp_txn_reset(struct lmtp_session *s)
{
	struct lmtp_txn *t = &s->txn;
	struct ipc_chan *store = worker_store();
	size_t i;

	for (i = 0; i < t->nrcpts; i++) {
		if (store != NULL && t->rcpts[i].req_id != 0)
			ipc_cancel(store, t->rcpts[i].req_id);
		free(t->rcpts[i].addr);
	}
	free(t->rcpts);
	t->rcpts = NULL;
	t->nrcpts = 0;
	t->ndelivering = 0;
	free(t->pending_rcpt);
	t->pending_rcpt = NULL;
	memset(&t->mail, 0, sizeof(t->mail));
	/* No need to wipe mail on its way to a mailbox. */
	free(t->msg.base);
	memset(&t->msg, 0, sizeof(t->msg));
	if (t->spool != -1)
		close(t->spool);
	t->spool = -1;
	t->spool_prefix = 0;
	t->spool_len = 0;
	t->spool_failed = false;
	t->chunk_left = 0;
	t->chunk_last = false;
	t->chunk_ok = false;
	t->failed = false;
	if (s->state == LMTP_ST_MAIL || s->state == LMTP_ST_BDAT)
		s->state = LMTP_ST_READY;
}

void
lmtp_session_free(struct lmtp_session **sp)
{
	struct lmtp_session *s = *sp;
	struct ipc_chan *store = worker_store();

	*sp = NULL;
	if (s == NULL)
		return;
	lmtp_txn_reset(s);
	if (store != NULL) {
		ipc_cancel(store, s->req_id);
		ipc_send(store, IPC_T_SESSION_CLOSE, conn_id(s->conn), NULL,
		    -1);
	}
	lmtpd_session_remove(s);
	conn_free(&s->conn);
	free(s);
}

void
lmtp_session_starttls(struct lmtp_session *s)
{
	conn_starttls(s->conn);
}

/* --- Connection callbacks --- */

static void
lmtp_session_input_cb(void *arg)
{
	lmtp_session_input(arg);
}

/* RFC 5321 4.5.3.2.7 */
static void
lmtp_session_idle_cb(void *arg)
{
	lmtp_replyf(arg, "421 4.4.2 %s Idle for too long, closing connection",
	    lmtpd_conf()->hostname);
}

/* The session starts again from before LHLO (RFC 3207 4.2). */
static void
lmtp_session_tls_cb(void *arg)
{
	struct lmtp_session *s = arg;

	lmtp_txn_reset(s);
	s->state = LMTP_ST_GREETED;
	s->lhlo[0] = '\0';
}

static void
lmtp_session_end_cb(void *arg)
{
	struct lmtp_session *s = arg;

	/* A delivery under way goes on in storaged; the reply is lost. */
	lmtp_session_free(&s);
}

static const struct conn_cb lmtp_session_cb = {
	.input = lmtp_session_input_cb,
	.idle = lmtp_session_idle_cb,
	.tls_started = lmtp_session_tls_cb,
	.end = lmtp_session_end_cb
};

/* --- The input loop --- */

void
lmtp_session_wait(struct lmtp_session *s)
{
	conn_pause(s->conn);
}

void
lmtp_session_resume(struct lmtp_session *s)
{
	conn_resume(s->conn);
	if (s->shutdown && !conn_is_closing(s->conn) &&
	    s->state != LMTP_ST_MAIL &&
	    s->state != LMTP_ST_BDAT) {
		lmtp_replyf(s, "421 4.3.2 %s Server shutting down",
		    lmtpd_conf()->hostname);
		lmtp_session_close(s, "shutdown");
	}
	if (!s->processing)
		lmtp_session_input(s);
}

/* A command line: the rest of the loop sees what its handler changed. */
static bool
lmtp_session_line(struct lmtp_session *s)
{
	size_t line, used;
	int r;

	r = lmtp_line_scan(s->in->data, s->in->len, lmtpd_conf()->max_line,
	    &line, &used);
	if (r == 0)
		return false;
	if (r == -1) {
		/* RFC 5321 4.5.3.1.4; the rest of the line is dropped. */
		lmtp_reply(s, "500 5.5.2 Line too long");
		/* No LF in the first max_line bytes; the next may follow. */
		buf_consume(s->in, s->in->len < lmtpd_conf()->max_line ?
		    s->in->len : lmtpd_conf()->max_line);
		s->input = LMTP_IN_SKIP;
		return true;
	}
	s->in->data[line] = '\0';
	lmtp_cmd_run(s, (char *)s->in->data, line);
	buf_consume(s->in, used);
	return true;
}

static bool
lmtp_session_skip(struct lmtp_session *s)
{
	const uint8_t *lf;

	if (s->in->len == 0)
		return false;
	if ((lf = memchr(s->in->data, '\n', s->in->len)) == NULL) {
		buf_consume(s->in, s->in->len);
		return false;
	}
	buf_consume(s->in, (size_t)(lf - s->in->data) + 1);
	s->input = LMTP_IN_LINE;
	return true;
}

static bool
lmtp_session_data(struct lmtp_session *s)
{
	size_t used;

	used = lmtp_data_feed(&s->txn.data, &s->txn.msg, s->in->data,
	    s->in->len);
	buf_consume(s->in, used);
	lmtp_spool_flush(s, false);
	if (s->txn.data.done) {
		s->input = LMTP_IN_LINE;
		lmtp_cmd_data_end(s);
		return true;
	}
	return used > 0;
}

static bool
lmtp_session_chunk(struct lmtp_session *s)
{
	struct lmtp_txn *t = &s->txn;
	size_t n = s->in->len;

	if (n > t->chunk_left)
		n = (size_t)t->chunk_left;
	if (t->chunk_ok) {
		lmtp_crlf_feed(&t->chunks, &t->msg, s->in->data, n);
		lmtp_spool_flush(s, false);
	}
	buf_consume(s->in, n);
	t->chunk_left -= n;
	if (t->chunk_left == 0) {
		s->input = LMTP_IN_LINE;
		lmtp_cmd_chunk_end(s);
		return true;
	}
	return n > 0;
}

static bool
lmtp_session_step(struct lmtp_session *s)
{
	switch (s->input) {
	case LMTP_IN_LINE:
		return lmtp_session_line(s);
	case LMTP_IN_SKIP:
		return lmtp_session_skip(s);
	case LMTP_IN_DATA:
		return lmtp_session_data(s);
	case LMTP_IN_CHUNK:
		return lmtp_session_chunk(s);
	}
	return false;
}

static void
lmtp_session_input(struct lmtp_session *s)
{
	if (s->processing)
		return;
	s->processing = true;
	while (conn_may_read(s->conn, LMTP_OUT_HIGH)) {
		if (!lmtp_session_step(s) && !conn_pull(s->conn))
			break;
	}
	s->processing = false;
	/* RFC 2920 3.1: replies go out once the input runs dry. */
	conn_flush(s->conn);
}

/* --- Life cycle --- */

struct lmtp_session *
lmtp_session_new(int fd, const struct sockaddr *sa, socklen_t salen,
    bool tls_offered)
{
	struct lmtp_session *s;

	s = xcalloc(1, sizeof(*s));
	if ((s->conn = conn_new(fd, sa, salen, false,
	    lmtpd_conf()->idle_timeout, LMTP_IN_HIGH, &lmtp_session_cb,
	    s)) == NULL) {
		free(s);
		return NULL;
	}
	s->in = conn_in(s->conn);
	s->out = conn_out(s->conn);
	s->tls_offered = tls_offered && worker_tls_ctx() != NULL;
	s->state = LMTP_ST_GREETED;
	s->input = LMTP_IN_LINE;
	s->txn.spool = -1;
	lmtpd_session_add(s);
	lmtp_session_log(s, "connect remote=%s local=%s",
	    conn_remote(s->conn), conn_local(s->conn));
	if (worker_store() != NULL)
		conn_send_open(s->conn, worker_store(), "lmtp");
	lmtp_replyf(s, "220 %s LMTP Bulwark ready", lmtpd_conf()->hostname);
	conn_flush(s->conn);
	return s;
}

void
lmtp_session_shutdown(struct lmtp_session *s)
{
	s->shutdown = true;
	/* A transaction under way is finished first. */
	if (conn_is_paused(s->conn) || conn_is_closing(s->conn) ||
	    s->state == LMTP_ST_MAIL ||
	    s->state == LMTP_ST_BDAT || s->input != LMTP_IN_LINE)
		return;
	lmtp_replyf(s, "421 4.3.2 %s Server shutting down",
	    lmtpd_conf()->hostname);
	conn_flush(s->conn);
	lmtp_session_close(s, "shutdown");
}

void
lmtp_session_store_renewed(struct lmtp_session *s, struct ipc_chan *store)
{
	conn_send_open(s->conn, store, "lmtp");
}
