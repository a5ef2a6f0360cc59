/* SPDX-License-Identifier: ISC */
/*
 * imap_session.c: one IMAP connection on a libevent bufferevent: the
 * greeting (RFC 9051 7.1), the input loop that frames commands and
 * literals (RFC 9051 4.3, RFC 7888), STARTTLS (RFC 9051 6.2.1) and implicit
 * TLS (RFC 8314), the autologout timer (RFC 9051 5.4), back-pressure, the
 * session's registration with storaged, and closing.
 *
 * Ownership: a cleartext connection's bufferevent does not own the socket,
 * so that STARTTLS can hand the socket to a TLS bufferevent; a TLS
 * bufferevent owns its socket and SSL object.  A session is freed only from
 * its own bufferevent's callbacks or from its close event, never from
 * inside the input loop or a command handler.
 */
#include "imap_session.h"
#include "imap_cmd.h"
#include "imap_resp.h"
#include "imapd.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"
#include "tls.h"
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

/* Input read ahead while a command waits (keeps EOF visible meanwhile). */
#define IMAP_IN_HIGH		(64 * 1024)
/* Output queued beyond which no further command is read. */
#define IMAP_OUT_HIGH		(256 * 1024)
/*
 * The largest refused non-synchronizing literal that is read and dropped;
 * a larger one ends the connection with BYE (RFC 7888 4).
 */
#define IMAP_SKIP_MAX		(1024 * 1024)
/* A command in memory: one line plus this much in literals. */
#define IMAP_COMMAND_EXTRA	(64 * 1024)

static void	imap_session_input(struct imap_session *);
static void	imap_session_setup_bev(struct imap_session *);

/* --- Logging --- */

static void
imap_session_vlog(const struct imap_session *s, bool debug, const char *fmt,
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
imap_session_log(const struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imap_session_vlog(s, false, fmt, ap);
	va_end(ap);
}

void
imap_session_debug(const struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	if (log_get_verbose() < 1)
		return;
	va_start(ap, fmt);
	imap_session_vlog(s, true, fmt, ap);
	va_end(ap);
}

char *
imap_log_value(char *dst, size_t size, const char *src, size_t len)
{
	size_t i;

	if (size == 0)
		return dst;
	if (src == NULL || len == 0) {
		strlcpy(dst, "-", size);
		return dst;
	}
	for (i = 0; i < len && i < size - 1; i++)
		dst[i] = src[i] > ' ' && src[i] < 0x7f && src[i] != '=' ?
		    src[i] : '?';
	dst[i] = '\0';
	return dst;
}

/* "192.0.2.7:143", "[2001:db8::7]:143", or "unix". */
static void
imap_addr_format(const struct sockaddr *sa, socklen_t salen, char *buf,
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

/* Hands the responses written so far to the bufferevent. */
static void
imap_session_flush(struct imap_session *s)
{
	if (s->out.len == 0 || s->bev == NULL)
		return;
	if (bufferevent_write(s->bev, s->out.data, s->out.len) == -1)
		imap_session_debug(s, "bufferevent_write failed");
	buf_reset(&s->out);
}

static size_t
imap_session_out_pending(const struct imap_session *s)
{
	return s->out.len + (s->bev == NULL ? 0 :
	    evbuffer_get_length(bufferevent_get_output(s->bev)));
}

void
imap_session_reply(struct imap_session *s, const char *cond,
    const char *code, const char *text)
{
	imap_resp_status(&s->out, s->tag, cond, code, text);
}

void
imap_session_close(struct imap_session *s, const char *reason)
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

/* The end of a close: everything is sent. */
static void
imap_session_finish(struct imap_session *s)
{
	/* A graceful end says so to a TLS peer (close_notify). */
	if (s->ssl != NULL && SSL_is_init_finished(s->ssl)) {
		(void)SSL_shutdown(s->ssl);
		ERR_clear_error();
	}
	imap_session_free(&s);
}

static void
imap_session_close_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;

	(void)fd;
	(void)what;
	imap_session_flush(s);
	if (imap_session_out_pending(s) == 0)
		imap_session_finish(s);
	/* else the write callback finishes when the output is drained */
}

/* Frees the bufferevent; a cleartext one leaves the socket open. */
static void
imap_session_bev_free(struct imap_session *s)
{
	if (s->bev == NULL)
		return;
	/*
	 * Take its events out of the loop now: libevent may finish freeing
	 * it later, and it must not read from a socket closed (or reused)
	 * meanwhile.
	 */
	bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	bufferevent_free(s->bev);
	s->bev = NULL;
	s->ssl = NULL;	/* owned by the TLS bufferevent, if any */
}

void
imap_session_free(struct imap_session **sp)
{
	struct imap_session *s = *sp;
	struct ipc_chan *store = imapd_store();
	bool owns_fd;

	*sp = NULL;
	if (s == NULL)
		return;
	if (store != NULL) {
		ipc_cancel(store, s->req_id);
		ipc_cancel(store, s->resume_id);
		ipc_send(store, IPC_T_SESSION_CLOSE, s->id, NULL, -1);
	}
	imap_session_log(s, "disconnect reason=%s%s%s",
	    s->close_reason != NULL ? s->close_reason : "unknown",
	    s->close_detail[0] != '\0' ? " error=" : "", s->close_detail);
	imapd_session_remove(s);
	owns_fd = s->ssl == NULL;
	imap_session_bev_free(s);
	if (owns_fd)
		close(s->fd);
	event_free(s->ev_close);
	buf_clear(&s->in);
	buf_clear(&s->out);
	free(s->tag);
	free(s->username);
	xfree_secret(s->token, s->token_len);
	free(s);
}

/* --- TLS --- */

/* A TLS bufferevent on s->fd, which it owns from now on. */
static int
imap_session_tls_bev(struct imap_session *s)
{
	SSL *ssl;

	if (imapd_tls_ctx() == NULL || (ssl = SSL_new(imapd_tls_ctx())) == NULL)
		return -1;
	s->bev = bufferevent_openssl_socket_new(imapd_base(), s->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL) {
		SSL_free(ssl);
		return -1;
	}
	/* Clients often close without close_notify: that is an end of file. */
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	s->ssl = ssl;
	s->tls = true;
	return 0;
}

/*
 * STARTTLS, once the OK is out: whatever the client sent after the command
 * is dropped (RFC 9051 6.2.1), then the handshake starts on the socket.
 */
static void
imap_session_tls_start(struct imap_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	s->starttls = false;
	if (evbuffer_get_length(in) > 0 || s->in.len > 0)
		imap_session_debug(s, "starttls dropped=%zu",
		    evbuffer_get_length(in) + s->in.len);
	evbuffer_drain(in, evbuffer_get_length(in));
	buf_reset(&s->in);
	imap_reader_reset(&s->rd);
	imap_session_bev_free(s);
	if (imap_session_tls_bev(s) == -1) {
		s->close_reason = "tls-error";
		strlcpy(s->close_detail, "cannot start TLS",
		    sizeof(s->close_detail));
		imap_session_free(&s);
		return;
	}
	imap_session_setup_bev(s);
	imap_session_resume(s, IMAP_CMD_DONE);
}

void
imap_session_starttls(struct imap_session *s)
{
	s->starttls = true;
}

/* --- Bufferevent callbacks --- */

static void
imap_session_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	imap_session_input(arg);
}

static void
imap_session_write_cb(struct bufferevent *bev, void *arg)
{
	struct imap_session *s = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (s->closing)
		imap_session_finish(s);
	else if (s->starttls)
		imap_session_tls_start(s);
	else if (!s->busy)
		imap_session_input(s);	/* reading may have paused for us */
}

static void
imap_session_error_detail(struct imap_session *s, short what)
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
	/* The detail is one log value: no spaces. */
	for (i = 0; s->close_detail[i] != '\0'; i++)
		if (s->close_detail[i] == ' ')
			s->close_detail[i] = '_';
}

static void
imap_session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct imap_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		imap_session_debug(s, "tls handshake version=%s cipher=%s",
		    tls_version(s->ssl), SSL_get_cipher_name(s->ssl));
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (s->closing)
			return;		/* the close under way frees it */
		/*
		 * Without a command running, the answers already written
		 * may still reach a half-closed client; a command that
		 * waits is cancelled.
		 */
		if (!s->busy && !s->starttls) {
			imap_session_close(s, "eof");
			return;
		}
		s->close_reason = "eof";
	} else if (what & BEV_EVENT_TIMEOUT) {
		if (s->ssl != NULL && !SSL_is_init_finished(s->ssl))
			s->close_reason = "tls-timeout";
		else if ((what & BEV_EVENT_READING) && !s->closing) {
			/* RFC 9051 5.4 */
			imap_resp_status(&s->out, NULL, "BYE", NULL,
			    "Autologout; idle for too long");
			imap_session_close(s, "idle-timeout");
			return;
		} else
			s->close_reason = "write-timeout";
	} else if (!s->closing)
		imap_session_error_detail(s, what);
	imap_session_free(&s);
}

static void
imap_session_setup_bev(struct imap_session *s)
{
	struct timeval tv = { imapd_conf()->idle_timeout, 0 };

	bufferevent_setcb(s->bev, imap_session_read_cb, imap_session_write_cb,
	    imap_session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, IMAP_IN_HIGH);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* --- The input loop --- */

/* Moves what the bufferevent read into s->in; false if there was nothing. */
static bool
imap_session_pull(struct imap_session *s)
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

/* Applies how a command (or its continuation) went on. */
static void
imap_session_after(struct imap_session *s, enum imap_cmd_result r)
{
	switch (r) {
	case IMAP_CMD_DONE:
		free(s->tag);
		s->tag = NULL;
		s->cmd = NULL;
		s->line_fn = NULL;
		s->busy = false;
		imap_reader_set_line_mode(&s->rd, false);
		if (s->shutdown && !s->closing) {
			imap_resp_status(&s->out, NULL, "BYE", NULL,
			    "Server shutting down");
			imap_session_close(s, "shutdown");
		}
		break;
	case IMAP_CMD_WAIT:
		s->busy = true;
		break;
	case IMAP_CMD_CONT:
		s->busy = false;
		imap_reader_set_line_mode(&s->rd, true);
		break;
	}
}

void
imap_session_resume(struct imap_session *s, enum imap_cmd_result r)
{
	if (s->dispatching) {
		/* Called back before the handler returned. */
		s->resumed_early = true;
		s->early_result = r;
		return;
	}
	imap_session_after(s, r);
	if (!s->busy)
		imap_session_input(s);
	else
		imap_session_flush(s);
}

void
imap_session_expect_line(struct imap_session *s, imap_line_fn *fn)
{
	s->line_fn = fn;
}

/* A complete command (or continuation line) of len bytes at s->in. */
static void
imap_session_command(struct imap_session *s, size_t len)
{
	enum imap_cmd_result r;
	imap_line_fn *fn;
	uint8_t *p = s->in.data;
	size_t n = len;

	s->dispatching = true;
	s->resumed_early = false;
	if ((fn = s->line_fn) != NULL) {
		s->line_fn = NULL;
		if (n > 0 && p[n - 1] == '\n')
			n--;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		r = fn(s, p, n);
	} else
		r = imap_cmd_run(s, p, len);
	s->dispatching = false;
	if (r == IMAP_CMD_WAIT && s->resumed_early)
		r = s->early_result;
	/* A command may carry a password: leave no copy behind. */
	sodium_memzero(p, len);
	buf_consume(&s->in, len);
	imap_session_after(s, r);
}

/* A line or command broke a limit; the reader skips the rest of it. */
static void
imap_session_toolong(struct imap_session *s, const struct imap_read *rd)
{
	struct imap_parser ps;
	struct imap_str tag;
	char *t = NULL;

	if (s->line_fn != NULL) {
		imap_session_reply(s, "BAD", NULL, rd->why);
		imap_session_after(s, IMAP_CMD_DONE);
		return;
	}
	imap_parser_init(&ps, s->in.data, rd->len);
	if (imap_parse_tag(&ps, &tag) == 0 && imap_parse_peek(&ps, ' ')) {
		t = xmalloc(tag.len + 1);
		memcpy(t, tag.p, tag.len);
		t[tag.len] = '\0';
	}
	imap_resp_status(&s->out, t, "BAD", NULL, rd->why);
	free(t);
}

/* The client announced a literal: accept it or refuse the command. */
static void
imap_session_literal(struct imap_session *s, const struct imap_read *rd)
{
	if (!s->rd.discard && imap_cmd_literal_check(s, s->in.data, rd->len,
	    rd->literal, s->rd.max_command) == 0) {
		if (rd->sync)
			imap_resp_continue(&s->out, "Ready for literal data");
		imap_reader_literal(&s->rd, true);
		return;
	}
	/* Refused, or part of a command already answered. */
	if (!rd->sync && rd->literal > IMAP_SKIP_MAX) {
		imap_resp_status(&s->out, NULL, "BYE", "TOOBIG",
		    "Literal too large");
		imap_session_close(s, "literal-too-large");
		return;
	}
	imap_reader_literal(&s->rd, false);
}

static void
imap_session_input(struct imap_session *s)
{
	struct imap_read rd;
	bool more = true;

	if (s->processing || s->bev == NULL)
		return;
	s->processing = true;
	while (more && !s->busy && !s->closing && !s->starttls &&
	    imap_session_out_pending(s) < IMAP_OUT_HIGH) {
		switch (imap_reader_scan(&s->rd, s->in.data, s->in.len, &rd)) {
		case IMAP_READ_MORE:
			more = imap_session_pull(s);
			break;
		case IMAP_READ_SKIP:
			sodium_memzero(s->in.data, rd.len);
			buf_consume(&s->in, rd.len);
			break;
		case IMAP_READ_TOOLONG:
			imap_session_toolong(s, &rd);
			break;
		case IMAP_READ_LITERAL:
			imap_session_literal(s, &rd);
			break;
		case IMAP_READ_COMMAND:
			imap_session_command(s, rd.len);
			break;
		}
		imap_session_flush(s);
	}
	s->processing = false;
	imap_session_flush(s);
}

/* --- Life cycle --- */

static void
imap_session_send_open(struct imap_session *s, struct ipc_chan *store)
{
	struct ipc_SESSION_OPEN_req m;

	m.proto = "imap";
	m.remote = s->remote;
	m.local = s->local;
	m.tls = s->tls;
	ipc_send(store, IPC_T_SESSION_OPEN, s->id, &m, -1);
}

static void
imap_session_greet(struct imap_session *s)
{
	char caps[512], text[320];

	imap_capability_format(s, caps, sizeof(caps));
	snprintf(text, sizeof(text), "%s Bulwark IMAP ready",
	    imapd_conf()->hostname);
	imap_resp_status(&s->out, NULL, "OK", caps, text);
	imap_session_flush(s);
}

struct imap_session *
imap_session_new(int fd, const struct sockaddr *sa, socklen_t salen,
    bool tls)
{
	const struct imapd_conf *conf = imapd_conf();
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct imap_session *s;

	s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	do {
		randombytes_buf(&s->id, sizeof(s->id));
	} while (s->id == 0);
	imap_addr_format(sa, salen, s->remote, sizeof(s->remote));
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		imap_addr_format((struct sockaddr *)&ss, sslen, s->local,
		    sizeof(s->local));
	else
		strlcpy(s->local, "unknown", sizeof(s->local));
	s->state = IMAP_STATE_NOAUTH;
	imap_reader_init(&s->rd, conf->max_line,
	    (size_t)conf->max_line + IMAP_COMMAND_EXTRA);
	if ((s->ev_close = event_new(imapd_base(), -1, 0,
	    imap_session_close_cb, s)) == NULL)
		fatalx("event_new");
	if (tls ? imap_session_tls_bev(s) == -1 :
	    (s->bev = bufferevent_socket_new(imapd_base(), fd,
	    BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		log_warnx("cannot serve connection from %s", s->remote);
		event_free(s->ev_close);
		close(fd);
		free(s);
		return NULL;
	}
	imap_session_setup_bev(s);
	imapd_session_add(s);
	imap_session_log(s, "connect remote=%s local=%s tls=%d", s->remote,
	    s->local, s->tls ? 1 : 0);
	if (imapd_store() != NULL)
		imap_session_send_open(s, imapd_store());
	imap_session_greet(s);
	return s;
}

void
imap_session_authenticated(struct imap_session *s, uint64_t account_id,
    const char *username, const uint8_t *token, size_t token_len)
{
	char user[128];

	s->state = IMAP_STATE_AUTH;
	s->account_id = account_id;
	free(s->username);
	s->username = xstrdup(username);
	xfree_secret(s->token, s->token_len);
	s->token = xmalloc(token_len > 0 ? token_len : 1);
	if (token_len > 0)
		memcpy(s->token, token, token_len);
	s->token_len = token_len;
	imap_session_log(s, "login user=%s remote=%s tls=%s",
	    imap_log_value(user, sizeof(user), username, strlen(username)),
	    s->remote, s->tls ? tls_version(s->ssl) : "0");
}

bool
imap_session_login_allowed(const struct imap_session *s)
{
	return s->tls || imapd_conf()->cleartext_auth;
}

void
imap_session_shutdown(struct imap_session *s)
{
	s->shutdown = true;
	/* A client in the middle of a command gets its answer first. */
	if (s->tag != NULL || s->busy || s->closing)
		return;
	imap_resp_status(&s->out, NULL, "BYE", NULL, "Server shutting down");
	imap_session_close(s, "shutdown");
}

static void
imap_session_resume_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg)
{
	struct imap_session *s = arg;

	(void)c;
	(void)rep;
	s->resume_id = 0;
	if (st == IPC_S_OK) {
		imap_session_debug(s, "session resumed");
		return;
	}
	if (st == IPC_S_UNAVAIL)
		return;		/* the next channel will try again */
	imap_session_log(s, "resume failed status=%s", ipc_status_name(st));
	(void)text;
	imap_resp_status(&s->out, NULL, "BYE", "UNAVAILABLE",
	    "Session lost, please log in again");
	imap_session_close(s, "session-lost");
}

void
imap_session_store_renewed(struct imap_session *s, struct ipc_chan *store)
{
	struct ipc_SESSION_RESUME_req m;

	imap_session_send_open(s, store);
	if ((s->state & (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)) == 0)
		return;
	m.token.p = s->token;
	m.token.len = (uint32_t)s->token_len;
	m.proto = "imap";
	m.remote = s->remote;
	m.local = s->local;
	m.tls = s->tls;
	s->resume_id = ipc_request(store, IPC_T_SESSION_RESUME, s->id, &m,
	    imap_session_resume_cb, s);
}
