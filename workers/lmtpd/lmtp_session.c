/* SPDX-License-Identifier: ISC */
/*
 * lmtp_session.c: one LMTP connection on a libevent bufferevent: the
 * greeting (RFC 5321 4.3.1), the input loop that frames command lines
 * (RFC 5321 4.1.1, 4.5.3.1.4), DATA content (RFC 5321 4.5.2) and BDAT
 * chunks (RFC 3030 2), pipelining (RFC 2920), STARTTLS (RFC 3207), the
 * idle timeout (RFC 5321 4.5.3.2.7), back-pressure, the session's
 * registration with storaged, and closing.
 *
 * Ownership: a cleartext connection's bufferevent does not own the socket,
 * so that STARTTLS can hand the socket to a TLS bufferevent; a TLS
 * bufferevent owns its socket and SSL object.  A session is freed only from
 * its own bufferevent's callbacks or from its close event, never from
 * inside the input loop or a command handler.
 */
#include "lmtp_session.h"
#include "lmtp_cmd.h"
#include "lmtpd.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"
#include "tls.h"
#include "worker.h"
#include "xmalloc.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <sodium.h>

/* Input read ahead at once (keeps memory per connection small). */
#define LMTP_IN_HIGH		(64 * 1024)
/* Output queued beyond which no further command is read. */
#define LMTP_OUT_HIGH		(64 * 1024)

static void	lmtp_session_input(struct lmtp_session *);
static void	lmtp_session_setup_bev(struct lmtp_session *);

/* --- Logging --- */

static void
lmtp_session_vlog(const struct lmtp_session *s, bool debug, const char *fmt,
    va_list ap)
{
	char msg[900];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (debug)
		log_debug("%016llx %s", (unsigned long long)s->id, msg);
	else
		log_info("%016llx %s", (unsigned long long)s->id, msg);
}

void
lmtp_session_log(const struct lmtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lmtp_session_vlog(s, false, fmt, ap);
	va_end(ap);
}

void
lmtp_session_debug(const struct lmtp_session *s, const char *fmt, ...)
{
	va_list ap;

	if (log_get_verbose() < 1)
		return;
	va_start(ap, fmt);
	lmtp_session_vlog(s, true, fmt, ap);
	va_end(ap);
}

char *
lmtp_log_value(char *dst, size_t size, const char *src)
{
	size_t i;

	if (size == 0)
		return dst;
	if (src == NULL || src[0] == '\0') {
		strlcpy(dst, "-", size);
		return dst;
	}
	for (i = 0; src[i] != '\0' && i < size - 1; i++)
		dst[i] = src[i] > ' ' && src[i] < 0x7f && src[i] != '=' ?
		    src[i] : '?';
	dst[i] = '\0';
	return dst;
}

/* "192.0.2.7:24", "[2001:db8::7]:24", or "unix". */
static void
lmtp_addr_format(const struct sockaddr *sa, socklen_t salen, char *buf,
    size_t size)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET && salen >= sizeof(*sin) &&
	    inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)) != NULL)
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
	else if (sa->sa_family == AF_INET6 && salen >= sizeof(*sin6) &&
	    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)) != NULL)
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
	else if (sa->sa_family == AF_UNIX)
		strlcpy(buf, "unix", size);
	else
		strlcpy(buf, "unknown", size);
}

/* --- Output and closing --- */

void
lmtp_reply(struct lmtp_session *s, const char *line)
{
	buf_append(&s->out, line, strlen(line));
	buf_append(&s->out, "\r\n", 2);
	if (LOG_IS_TRACE(LOG_TRACE_LMTP))
		log_trace(LOG_TRACE_LMTP, "%016llx reply %s",
		    (unsigned long long)s->id, line);
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

/* Hands the replies written so far to the bufferevent. */
static void
lmtp_session_flush(struct lmtp_session *s)
{
	if (s->out.len == 0 || s->bev == NULL)
		return;
	if (bufferevent_write(s->bev, s->out.data, s->out.len) == -1)
		lmtp_session_debug(s, "bufferevent_write failed");
	buf_reset(&s->out);
}

static size_t
lmtp_session_out_pending(const struct lmtp_session *s)
{
	return s->out.len + (s->bev == NULL ? 0 :
	    evbuffer_get_length(bufferevent_get_output(s->bev)));
}

void
lmtp_session_close(struct lmtp_session *s, const char *reason)
{
	if (s->closing)
		return;
	s->closing = true;
	s->close_reason = reason;
	if (s->bev != NULL)
		bufferevent_disable(s->bev, EV_READ);
	/* Freed from the event loop once the output is out. */
	event_active(s->ev_close, EV_TIMEOUT, 0);
}

static void
lmtp_session_finish(struct lmtp_session *s)
{
	/* A graceful end says so to a TLS peer (close_notify). */
	if (s->ssl != NULL && SSL_is_init_finished(s->ssl)) {
		(void)SSL_shutdown(s->ssl);
		ERR_clear_error();
	}
	lmtp_session_free(&s);
}

static void
lmtp_session_close_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lmtp_session *s = arg;

	(void)fd;
	(void)what;
	lmtp_session_flush(s);
	if (lmtp_session_out_pending(s) == 0)
		lmtp_session_finish(s);
	/* else the write callback finishes when the output is drained */
}

/* Frees the bufferevent; a cleartext one leaves the socket open. */
static void
lmtp_session_bev_free(struct lmtp_session *s)
{
	if (s->bev == NULL)
		return;
	bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	bufferevent_free(s->bev);
	s->bev = NULL;
	s->ssl = NULL;	/* owned by the TLS bufferevent, if any */
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
	bool owns_fd;

	*sp = NULL;
	if (s == NULL)
		return;
	lmtp_txn_reset(s);
	if (store != NULL) {
		ipc_cancel(store, s->req_id);
		ipc_send(store, IPC_T_SESSION_CLOSE, s->id, NULL, -1);
	}
	lmtp_session_log(s, "disconnect reason=%s%s%s",
	    s->close_reason != NULL ? s->close_reason : "unknown",
	    s->close_detail[0] != '\0' ? " error=" : "", s->close_detail);
	lmtpd_session_remove(s);
	owns_fd = s->ssl == NULL;
	lmtp_session_bev_free(s);
	if (owns_fd)
		close(s->fd);
	event_free(s->ev_close);
	buf_clear(&s->in);
	buf_clear(&s->out);
	free(s);
}

/* --- TLS, RFC 3207 --- */

/* A TLS bufferevent on s->fd, which it owns from now on. */
static int
lmtp_session_tls_bev(struct lmtp_session *s)
{
	SSL *ssl;

	if (worker_tls_ctx() == NULL ||
	    (ssl = SSL_new(worker_tls_ctx())) == NULL)
		return -1;
	s->bev = bufferevent_openssl_socket_new(worker_base(), s->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL) {
		SSL_free(ssl);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	s->ssl = ssl;
	s->tls = true;
	return 0;
}

/*
 * Once the 220 is out: whatever the client pipelined after STARTTLS is
 * dropped, and the session starts again from before LHLO (RFC 3207 4.2).
 */
static void
lmtp_session_tls_start(struct lmtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	s->starttls = false;
	if (evbuffer_get_length(in) > 0 || s->in.len > 0)
		lmtp_session_debug(s, "starttls dropped=%zu",
		    evbuffer_get_length(in) + s->in.len);
	evbuffer_drain(in, evbuffer_get_length(in));
	buf_reset(&s->in);
	lmtp_txn_reset(s);
	s->state = LMTP_ST_GREETED;
	s->lhlo[0] = '\0';
	lmtp_session_bev_free(s);
	if (lmtp_session_tls_bev(s) == -1) {
		s->close_reason = "tls-error";
		strlcpy(s->close_detail, "cannot start TLS",
		    sizeof(s->close_detail));
		lmtp_session_free(&s);
		return;
	}
	lmtp_session_setup_bev(s);
}

void
lmtp_session_starttls(struct lmtp_session *s)
{
	s->starttls = true;
}

/* --- Bufferevent callbacks --- */

static void
lmtp_session_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	lmtp_session_input(arg);
}

static void
lmtp_session_write_cb(struct bufferevent *bev, void *arg)
{
	struct lmtp_session *s = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (s->closing)
		lmtp_session_finish(s);
	else if (s->starttls)
		lmtp_session_tls_start(s);
	else if (!s->busy)
		lmtp_session_input(s);	/* reading may have paused for us */
}

static void
lmtp_session_error_detail(struct lmtp_session *s, short what)
{
	unsigned long e;
	size_t i;

	if (s->ssl != NULL &&
	    (e = bufferevent_get_openssl_error(s->bev)) != 0) {
		s->close_reason = "tls-error";
		tls_error_string(e, s->close_detail, sizeof(s->close_detail));
		while (bufferevent_get_openssl_error(s->bev) != 0)
			;
	} else {
		s->close_reason = "io-error";
		strlcpy(s->close_detail, errno != 0 ? strerror(errno) :
		    (what & BEV_EVENT_READING) ? "read" : "write",
		    sizeof(s->close_detail));
	}
	for (i = 0; s->close_detail[i] != '\0'; i++)
		if (s->close_detail[i] == ' ')
			s->close_detail[i] = '_';
}

static void
lmtp_session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct lmtp_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		lmtp_session_debug(s, "tls handshake version=%s cipher=%s",
		    tls_version(s->ssl), SSL_get_cipher_name(s->ssl));
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (s->closing)
			return;		/* the close under way frees it */
		if (!s->busy && !s->starttls) {
			lmtp_session_close(s, "eof");
			return;
		}
		/* A delivery under way goes on in storaged; the reply is lost. */
		s->close_reason = "eof";
	} else if (what & BEV_EVENT_TIMEOUT) {
		if (s->ssl != NULL && !SSL_is_init_finished(s->ssl))
			s->close_reason = "tls-timeout";
		else if ((what & BEV_EVENT_READING) && !s->closing) {
			lmtp_replyf(s, "421 4.4.2 %s Idle for too long, "
			    "closing connection", lmtpd_conf()->hostname);
			lmtp_session_close(s, "idle-timeout");
			return;
		} else
			s->close_reason = "write-timeout";
	} else if (!s->closing)
		lmtp_session_error_detail(s, what);
	lmtp_session_free(&s);
}

static void
lmtp_session_setup_bev(struct lmtp_session *s)
{
	struct timeval tv = { lmtpd_conf()->idle_timeout, 0 };

	bufferevent_setcb(s->bev, lmtp_session_read_cb, lmtp_session_write_cb,
	    lmtp_session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, LMTP_IN_HIGH);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* --- The input loop --- */

/* Moves what the bufferevent read into s->in; false if there was nothing. */
static bool
lmtp_session_pull(struct lmtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t n = evbuffer_get_length(in);

	if (n == 0)
		return false;
	buf_reserve(&s->in, n);
	if (evbuffer_remove(in, buf_tail(&s->in), n) != (int)n)
		fatalx("evbuffer_remove");
	buf_commit(&s->in, n);
	return true;
}

void
lmtp_session_wait(struct lmtp_session *s)
{
	s->busy = true;
}

void
lmtp_session_resume(struct lmtp_session *s)
{
	s->busy = false;
	if (s->shutdown && !s->closing && s->state != LMTP_ST_MAIL &&
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

	r = lmtp_line_scan(s->in.data, s->in.len, lmtpd_conf()->max_line,
	    &line, &used);
	if (r == 0)
		return false;
	if (r == -1) {
		/* RFC 5321 4.5.3.1.4; the rest of the line is dropped. */
		lmtp_reply(s, "500 5.5.2 Line too long");
		buf_consume(&s->in, s->in.len);
		s->input = LMTP_IN_SKIP;
		return true;
	}
	s->in.data[line] = '\0';
	lmtp_cmd_run(s, (char *)s->in.data, line);
	buf_consume(&s->in, used);
	return true;
}

static bool
lmtp_session_skip(struct lmtp_session *s)
{
	const uint8_t *lf;

	if (s->in.len == 0)
		return false;
	if ((lf = memchr(s->in.data, '\n', s->in.len)) == NULL) {
		buf_consume(&s->in, s->in.len);
		return false;
	}
	buf_consume(&s->in, (size_t)(lf - s->in.data) + 1);
	s->input = LMTP_IN_LINE;
	return true;
}

static bool
lmtp_session_data(struct lmtp_session *s)
{
	size_t used;

	used = lmtp_data_feed(&s->txn.data, &s->txn.msg, s->in.data,
	    s->in.len);
	buf_consume(&s->in, used);
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
	size_t n = s->in.len;

	if (n > t->chunk_left)
		n = (size_t)t->chunk_left;
	if (t->chunk_ok) {
		lmtp_crlf_feed(&t->chunks, &t->msg, s->in.data, n);
		lmtp_spool_flush(s, false);
	}
	buf_consume(&s->in, n);
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
	if (s->processing || s->bev == NULL)
		return;
	s->processing = true;
	while (!s->busy && !s->closing && !s->starttls &&
	    lmtp_session_out_pending(s) < LMTP_OUT_HIGH) {
		if (!lmtp_session_step(s) && !lmtp_session_pull(s))
			break;
	}
	s->processing = false;
	/* RFC 2920 3.1: replies go out once the input runs dry. */
	lmtp_session_flush(s);
}

/* --- Life cycle --- */

static void
lmtp_session_send_open(struct lmtp_session *s, struct ipc_chan *store)
{
	struct ipc_SESSION_OPEN_req m;

	m.proto = "lmtp";
	m.remote = s->remote;
	m.local = s->local;
	m.tls = s->tls;
	ipc_send(store, IPC_T_SESSION_OPEN, s->id, &m, -1);
}

struct lmtp_session *
lmtp_session_new(int fd, const struct sockaddr *sa, socklen_t salen,
    bool tls_offered)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct lmtp_session *s;

	s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	do {
		randombytes_buf(&s->id, sizeof(s->id));
	} while (s->id == 0);
	lmtp_addr_format(sa, salen, s->remote, sizeof(s->remote));
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		lmtp_addr_format((struct sockaddr *)&ss, sslen, s->local,
		    sizeof(s->local));
	else
		strlcpy(s->local, "unknown", sizeof(s->local));
	s->tls_offered = tls_offered && worker_tls_ctx() != NULL;
	s->state = LMTP_ST_GREETED;
	s->input = LMTP_IN_LINE;
	s->txn.spool = -1;
	if ((s->ev_close = event_new(worker_base(), -1, 0,
	    lmtp_session_close_cb, s)) == NULL)
		fatalx("event_new");
	if ((s->bev = bufferevent_socket_new(worker_base(), fd,
	    BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		log_warnx("cannot serve connection from %s", s->remote);
		event_free(s->ev_close);
		close(fd);
		free(s);
		return NULL;
	}
	lmtp_session_setup_bev(s);
	lmtpd_session_add(s);
	lmtp_session_log(s, "connect remote=%s local=%s", s->remote,
	    s->local);
	if (worker_store() != NULL)
		lmtp_session_send_open(s, worker_store());
	lmtp_replyf(s, "220 %s LMTP Bulwark ready", lmtpd_conf()->hostname);
	lmtp_session_flush(s);
	return s;
}

void
lmtp_session_shutdown(struct lmtp_session *s)
{
	s->shutdown = true;
	/* A transaction under way is finished first. */
	if (s->busy || s->closing || s->state == LMTP_ST_MAIL ||
	    s->state == LMTP_ST_BDAT || s->input != LMTP_IN_LINE)
		return;
	lmtp_replyf(s, "421 4.3.2 %s Server shutting down",
	    lmtpd_conf()->hostname);
	lmtp_session_flush(s);
	lmtp_session_close(s, "shutdown");
}

void
lmtp_session_store_renewed(struct lmtp_session *s, struct ipc_chan *store)
{
	lmtp_session_send_open(s, store);
}
