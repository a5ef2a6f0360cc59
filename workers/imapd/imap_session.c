/* SPDX-License-Identifier: ISC */
/*
 * imap_session.c: one IMAP connection on a lib/conn.h connection: the
 * greeting (RFC 9051 7.1), the input loop that frames commands and
 * literals (RFC 9051 4.3, RFC 7888), STARTTLS (RFC 9051 6.2.1) and implicit
 * TLS (RFC 8314), the autologout timer (RFC 9051 5.4), back-pressure, the
 * session's registration with storaged, and closing.
 *
 * The socket, TLS, timeouts and closing are lib/conn.h's; a session is
 * freed only from its conn's end callback, never from inside the input loop
 * or a command handler.
 */
#include "imap_session.h"
#include "imap_view.h"
#include "imap_append.h"
#include "imap_cmd.h"
#include "imap_cmd_notify.h"
#include "imap_resp.h"
#include "imapd.h"
#include "compat.h"
#include "conn.h"
#include "ipc.h"
#include "log.h"
#include "tls.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* --- Output and closing --- */

void
imap_session_reply(struct imap_session *s, const char *cond,
    const char *code, const char *text)
{
	imap_resp_status(s->out, s->tag, cond, code, text);
}

void
imap_session_close(struct imap_session *s, const char *reason)
{
	conn_close(s->conn, reason);
}

void
imap_session_free(struct imap_session **sp)
{
	struct imap_session *s = *sp;
	struct ipc_chan *store = imapd_store();

	*sp = NULL;
	if (s == NULL)
		return;
	if (store != NULL) {
		ipc_cancel(store, s->req_id);
		ipc_cancel(store, s->resume_id);
		ipc_cancel(store, s->admit_id);
		if (s->view != NULL)
			ipc_cancel(store, s->view->sync_id);
		ipc_send(store, IPC_T_SESSION_CLOSE, conn_id(s->conn), NULL,
		    -1);
	}
	imap_notify_free(s);
	imapd_session_remove(s);
	if (s->cmd_ctx_free != NULL)
		s->cmd_ctx_free(s->cmd_ctx);
	imap_view_free(&s->view);
	imap_append_discard(s);
	conn_free(&s->conn);
	free(s->tag);
	free(s->username);
	xfree_secret(s->token, s->token_len);
	free(s);
}

void
imap_session_starttls(struct imap_session *s)
{
	conn_starttls(s->conn);
}

/* --- Connection callbacks --- */

static void
imap_session_input_cb(void *arg)
{
	imap_session_input(arg);
}

/* RFC 9051 5.4 */
static void
imap_session_idle_cb(void *arg)
{
	struct imap_session *s = arg;

	imap_resp_status(s->out, NULL, "BYE", NULL,
	    "Autologout; idle for too long");
}

/* RFC 9051 6.2.1: the handshake is under way; STARTTLS is done. */
static void
imap_session_tls_cb(void *arg)
{
	struct imap_session *s = arg;

	imap_reader_reset(&s->rd);
	imap_session_resume(s, IMAP_CMD_DONE);
}

static void
imap_session_end_cb(void *arg)
{
	struct imap_session *s = arg;

	imap_session_free(&s);
}

static void
imap_session_drained_cb(void *arg)
{
	struct imap_session *s = arg;
	void (*fn)(struct imap_session *) = s->drain_fn;

	if (fn != NULL) {
		s->drain_fn = NULL;
		fn(s);
	}
}

static const struct conn_cb imap_session_cb = {
	.drained = imap_session_drained_cb,
	.input = imap_session_input_cb,
	.idle = imap_session_idle_cb,
	.tls_started = imap_session_tls_cb,
	.end = imap_session_end_cb
};

/* --- The input loop --- */

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
		conn_resume(s->conn);
		imap_reader_set_line_mode(&s->rd, false);
		if (s->shutdown && !conn_is_closing(s->conn)) {
			imap_resp_status(s->out, NULL, "BYE", NULL,
			    "Server shutting down");
			imap_session_close(s, "shutdown");
		}
		/* Between commands: what NOTIFY holds may go out now. */
		if (s->notify != NULL)
			imap_notify_kick(s);
		break;
	case IMAP_CMD_WAIT:
		conn_pause(s->conn);
		break;
	case IMAP_CMD_CONT:
		conn_resume(s->conn);
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
	if (!conn_is_paused(s->conn))
		imap_session_input(s);
	else
		conn_flush(s->conn);
}

void
imap_session_wake(struct imap_session *s)
{
	/* A shutdown that came meanwhile waited for this, as for a command. */
	if (s->shutdown && s->tag == NULL && !conn_is_closing(s->conn)) {
		imap_resp_status(s->out, NULL, "BYE", NULL,
		    "Server shutting down");
		imap_session_close(s, "shutdown");
	}
	conn_resume(s->conn);
	imap_session_input(s);
	conn_flush(s->conn);
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
	uint8_t *p = s->in->data;
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
	buf_consume(s->in, len);
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
	imap_parser_init(&ps, s->in->data, rd->len);
	if (imap_parse_tag(&ps, &tag) == 0 && imap_parse_peek(&ps, ' ')) {
		t = xmalloc(tag.len + 1);
		memcpy(t, tag.p, tag.len);
		t[tag.len] = '\0';
	}
	imap_resp_status(s->out, t, "BAD", NULL, rd->why);
	free(t);
}

/* The client announced a literal: accept it or refuse the command. */
static void
imap_session_literal(struct imap_session *s, const struct imap_read *rd)
{
	int r = -1;

	if (!s->rd.discard && (r = imap_cmd_literal_check(s, s->in->data,
	    rd->len, rd->literal, s->rd.max_command)) >= 0) {
		if (rd->sync)
			imap_resp_continue(s->out, "Ready for literal data");
		if (r == 1)
			imap_reader_literal_divert(&s->rd);
		else
			imap_reader_literal(&s->rd, true);
		return;
	}
	imap_append_discard(s);
	/* Refused, or part of a command already answered. */
	if (!rd->sync && rd->literal > IMAP_SKIP_MAX) {
		imap_resp_status(s->out, NULL, "BYE", "TOOBIG",
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

	if (s->processing)
		return;
	s->processing = true;
	while (more && conn_may_read(s->conn, IMAP_OUT_HIGH)) {
		switch (imap_reader_scan(&s->rd, s->in->data, s->in->len,
		    &rd)) {
		case IMAP_READ_MORE:
			more = conn_pull(s->conn);
			break;
		case IMAP_READ_SKIP:
			imap_append_discard(s);
			sodium_memzero(s->in->data, rd.len);
			buf_consume(s->in, rd.len);
			break;
		case IMAP_READ_TOOLONG:
			imap_append_discard(s);
			imap_session_toolong(s, &rd);
			break;
		case IMAP_READ_DIVERT:
			imap_append_sink(s, s->in->data + rd.off, rd.len);
			/* The literal leaves the buffer; the command stays. */
			memmove(s->in->data + rd.off, s->in->data + rd.off +
			    rd.len, s->in->len - rd.off - rd.len);
			s->in->len -= rd.len;
			break;
		case IMAP_READ_LITERAL:
			imap_session_literal(s, &rd);
			break;
		case IMAP_READ_COMMAND:
			imap_session_command(s, rd.len);
			break;
		}
		conn_flush(s->conn);
	}
	s->processing = false;
	conn_flush(s->conn);
}

/* --- Life cycle --- */

static void
imap_session_greet(struct imap_session *s)
{
	char caps[1024], text[1400];

	s->greeted = true;
	imap_capability_format(s, caps, sizeof(caps));
	snprintf(text, sizeof(text), "%s Bulwark IMAP ready",
	    imapd_conf()->hostname);
	imap_resp_status(s->out, NULL, "OK", caps, text);
	conn_flush(s->conn);
}

/*
 * storaged answered SESSION_ADMIT.  A new connection over the limit of its
 * address is refused; one whose check failed otherwise is served (storaged
 * away: the limit is storaged's to keep).
 */
static void
imap_session_admit_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg)
{
	struct imap_session *s = arg;

	(void)c;
	(void)text;
	(void)rep;
	s->admit_id = 0;
	if (s->greeted) {
		if (st != IPC_S_OK && st != IPC_S_UNAVAIL)
			imap_session_log(s, "session reopen failed status=%s",
			    ipc_status_name(st));
		return;
	}
	if (st == IPC_S_LIMIT) {
		imap_session_log(s, "refused remote=%s reason=connection-limit",
		    conn_remote(s->conn));
		imap_resp_status(s->out, NULL, "BYE", "LIMIT",
		    "Too many connections from your address");
		imap_session_close(s, "connection-limit");
		conn_flush(s->conn);
		return;
	}
	imap_session_greet(s);
	conn_resume(s->conn);
	if (s->shutdown) {
		imap_resp_status(s->out, NULL, "BYE", NULL,
		    "Server shutting down");
		imap_session_close(s, "shutdown");
		conn_flush(s->conn);
		return;
	}
	imap_session_input(s);
}

/*
 * Opens the session with storaged with this process's connection limits;
 * check_remote: the limit per address applies (a new connection).
 */
static void
imap_session_admit(struct imap_session *s, struct ipc_chan *store,
    bool check_remote)
{
	const struct imapd_conf *conf = imapd_conf();
	struct ipc_SESSION_ADMIT_req m;

	ipc_cancel(store, s->admit_id);
	m.proto = "imap";
	m.remote = conn_remote(s->conn);
	m.local = conn_local(s->conn);
	m.tls = conn_is_tls(s->conn);
	m.max_remote = check_remote ? conf->max_per_remote : 0;
	m.max_user = conf->max_per_user;
	s->admit_id = ipc_request(store, IPC_T_SESSION_ADMIT,
	    conn_id(s->conn), &m, imap_session_admit_cb, s);
}

struct imap_session *
imap_session_new(int fd, const struct sockaddr *sa, socklen_t salen,
    bool tls)
{
	const struct imapd_conf *conf = imapd_conf();
	struct imap_session *s;

	s = xcalloc(1, sizeof(*s));
	if ((s->conn = conn_new(fd, sa, salen, tls, conf->idle_timeout,
	    IMAP_IN_HIGH, &imap_session_cb, s)) == NULL) {
		free(s);
		return NULL;
	}
	s->in = conn_in(s->conn);
	s->out = conn_out(s->conn);
	s->state = IMAP_STATE_NOAUTH;
	imap_reader_init(&s->rd, conf->max_line,
	    (size_t)conf->max_line + IMAP_COMMAND_EXTRA);
	imapd_session_add(s);
	imap_session_log(s, "connect remote=%s local=%s tls=%d",
	    conn_remote(s->conn), conn_local(s->conn),
	    conn_is_tls(s->conn) ? 1 : 0);
	if (imapd_store() == NULL) {
		/* Registered when storaged is back (store_renewed). */
		imap_session_greet(s);
		return s;
	}
	/* The greeting waits for storaged's word on the limits. */
	conn_pause(s->conn);
	imap_session_admit(s, imapd_store(), true);
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
	    conn_log_value(user, sizeof(user), username, strlen(username)),
	    conn_remote(s->conn),
	    conn_is_tls(s->conn) ? tls_version(conn_ssl(s->conn)) : "0");
}

void
imap_session_unauthenticate(struct imap_session *s)
{
	struct ipc_chan *store = imapd_store();
	char user[128];

	imap_session_log(s, "unauthenticate user=%s",
	    conn_log_value(user, sizeof(user), s->username,
	    s->username != NULL ? strlen(s->username) : 0));
	if (store != NULL) {
		ipc_cancel(store, s->resume_id);
		if (s->view != NULL)
			ipc_cancel(store, s->view->sync_id);
		/* A fresh session: unbound, nothing selected or watched. */
		ipc_send(store, IPC_T_SESSION_CLOSE, conn_id(s->conn), NULL,
		    -1);
		imap_session_admit(s, store, false);
	}
	imap_view_free(&s->view);
	s->view_done = NULL;
	imap_notify_free(s);
	s->state = IMAP_STATE_NOAUTH;
	s->account_id = 0;
	s->enabled = 0;
	free(s->username);
	s->username = NULL;
	xfree_secret(s->token, s->token_len);
	s->token = NULL;
	s->token_len = 0;
}

bool
imap_session_login_allowed(const struct imap_session *s)
{
	return conn_is_tls(s->conn) || imapd_conf()->cleartext_auth;
}

void
imap_session_shutdown(struct imap_session *s)
{
	s->shutdown = true;
	/* A client in the middle of a command gets its answer first. */
	if (s->tag != NULL || conn_is_paused(s->conn) ||
	    conn_is_closing(s->conn))
		return;
	imap_resp_status(s->out, NULL, "BYE", NULL, "Server shutting down");
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
		/* The new storaged knows nothing of what NOTIFY watches. */
		imap_notify_store_renewed(s);
		return;
	}
	if (st == IPC_S_UNAVAIL)
		return;		/* the next channel will try again */
	imap_session_log(s, "resume failed status=%s", ipc_status_name(st));
	(void)text;
	imap_resp_status(s->out, NULL, "BYE", "UNAVAILABLE",
	    "Session lost, please log in again");
	imap_session_close(s, "session-lost");
}

void
imap_session_store_renewed(struct imap_session *s, struct ipc_chan *store)
{
	struct ipc_SESSION_RESUME_req m;

	/*
	 * Not counted against the address again: the connection was
	 * accepted.  A session waiting for its greeting gets it then.
	 */
	imap_session_admit(s, store, false);
	if ((s->state & (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)) == 0)
		return;
	m.token.p = s->token;
	m.token.len = (uint32_t)s->token_len;
	m.proto = "imap";
	m.remote = conn_remote(s->conn);
	m.local = conn_local(s->conn);
	m.tls = conn_is_tls(s->conn);
	s->resume_id = ipc_request(store, IPC_T_SESSION_RESUME,
	    conn_id(s->conn), &m,
	    imap_session_resume_cb, s);
}
