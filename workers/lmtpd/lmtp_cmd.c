/* SPDX-License-Identifier: ISC */
/*
 * lmtp_cmd.c: the commands of RFC 2033 4 (LHLO, and MAIL, RCPT, DATA,
 * RSET, NOOP, QUIT, VRFY, HELP of RFC 5321 4.1.1), BDAT of RFC 3030 2 and
 * STARTTLS of RFC 3207 4, in a table, with the replies of RFC 5321 4.2 and
 * the enhanced status codes of RFC 3463.  Recipients are resolved by
 * storaged (RCPT_RESOLVE) as they come, so that each RCPT gets its own
 * answer before the data is sent.
 */
#include "lmtp_cmd.h"
#include "lmtpd.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R_NEED_LHLO	"503 5.5.1 Send LHLO first"
#define R_NEED_MAIL	"503 5.5.1 Need MAIL command"
#define R_NO_RCPT	"554 5.5.1 No valid recipients"
#define R_OK		"250 2.0.0 OK"

typedef void lmtp_cmd_fn(struct lmtp_session *s, const char *args,
    size_t len);

static void
lmtp_cmd_lhlo(struct lmtp_session *s, const char *args, size_t len)
{
	const struct lmtpd_conf *conf = lmtpd_conf();

	/* RFC 5321 4.1.1.1: a domain or an address literal. */
	if (len == 0 || memchr(args, ' ', len) != NULL) {
		lmtp_reply(s, "501 5.5.4 Syntax: LHLO hostname");
		return;
	}
	lmtp_txn_reset(s);
	strlcpy(s->lhlo, args, sizeof(s->lhlo));
	s->state = LMTP_ST_READY;
	lmtp_replyf(s, "250-%s", conf->hostname);
	lmtp_reply(s, "250-PIPELINING");
	lmtp_reply(s, "250-ENHANCEDSTATUSCODES");
	lmtp_reply(s, "250-8BITMIME");
	lmtp_replyf(s, "250-SIZE %llu",
	    (unsigned long long)conf->max_message_size);
	lmtp_reply(s, "250-CHUNKING");
	if (s->tls_offered && !conn_is_tls(s->conn))
		lmtp_reply(s, "250-STARTTLS");
	lmtp_reply(s, "250 SMTPUTF8");
}

static void
lmtp_cmd_mail(struct lmtp_session *s, const char *args, size_t len)
{
	struct lmtp_mail m;
	const char *err;
	char from[LMTP_PATH_MAX + 1];

	if (s->state == LMTP_ST_GREETED) {
		lmtp_reply(s, R_NEED_LHLO);
		return;
	}
	if (s->state != LMTP_ST_READY) {
		lmtp_reply(s, "503 5.5.1 Sender already given");
		return;
	}
	if ((err = lmtp_parse_mail(args, len,
	    lmtpd_conf()->max_message_size, &m)) != NULL) {
		lmtp_reply(s, err);
		return;
	}
	s->txn.mail = m;
	s->txn.seq++;
	s->state = LMTP_ST_MAIL;
	lmtp_session_debug(s, "mail from=%s size=%llu",
	    lmtp_log_value(from, sizeof(from), m.from),
	    (unsigned long long)m.size);
	lmtp_replyf(s, "250 2.1.0 <%s> Sender OK", m.from);
}

/* What a failed RCPT_RESOLVE tells the client. */
static const struct {
	enum ipc_status	 st;
	const char	*code;
	const char	*text;
} lmtp_rcpt_failures[] = {
	{ IPC_S_NOTFOUND,	"550 5.1.1",	"no such user" },
	{ IPC_S_INVALID,	"501 5.1.3",	"bad recipient address" },
	{ IPC_S_QUOTA,		"552 5.2.2",	"mailbox full" },
	{ IPC_S_DENIED,		"550 5.7.1",	"delivery not authorized" },
	{ IPC_S_UNAVAIL,	"451 4.3.0",
	    "store unavailable, try again later" },
	{ IPC_S_MAX,		"451 4.3.0",	"local error, try again later" },
};

static void
lmtp_rcpt_failed(struct lmtp_session *s, enum ipc_status st,
    const char *addr)
{
	char log_addr[LMTP_PATH_MAX + 1];
	size_t i;

	for (i = 0; lmtp_rcpt_failures[i].st != IPC_S_MAX; i++)
		if (lmtp_rcpt_failures[i].st == st)
			break;
	lmtp_replyf(s, "%s <%s>: %s", lmtp_rcpt_failures[i].code, addr,
	    lmtp_rcpt_failures[i].text);
	lmtp_session_log(s, "rcpt refused to=%s status=%s",
	    lmtp_log_value(log_addr, sizeof(log_addr), addr),
	    ipc_status_name(st));
}

static void
lmtp_rcpt_add(struct lmtp_session *s, const char *addr, uint64_t account_id,
    uint32_t mailbox_id)
{
	struct lmtp_txn *t = &s->txn;
	struct lmtp_rcpt *r;

	t->rcpts = xreallocarray(t->rcpts, t->nrcpts + 1, sizeof(*t->rcpts));
	r = &t->rcpts[t->nrcpts++];
	memset(r, 0, sizeof(*r));
	r->s = s;
	r->addr = xstrdup(addr);
	r->account_id = account_id;
	r->mailbox_id = mailbox_id;
}

static void
lmtp_rcpt_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_RCPT_RESOLVE_rep *r = rep;
	struct lmtp_session *s = arg;
	char *addr = s->txn.pending_rcpt;
	char log_addr[LMTP_PATH_MAX + 1], log_mbox[128];

	(void)c;
	(void)text;
	s->req_id = 0;
	s->txn.pending_rcpt = NULL;
	if (st == IPC_S_OK && r->over_quota)
		st = IPC_S_QUOTA;
	if (st != IPC_S_OK)
		lmtp_rcpt_failed(s, st, addr);
	else {
		lmtp_rcpt_add(s, addr, r->account_id, r->mailbox_id);
		lmtp_session_debug(s, "rcpt to=%s account=%llu mailbox=%s",
		    lmtp_log_value(log_addr, sizeof(log_addr), addr),
		    (unsigned long long)r->account_id,
		    lmtp_log_value(log_mbox, sizeof(log_mbox), r->mailbox));
		lmtp_replyf(s, "250 2.1.5 <%s> Recipient OK", addr);
	}
	free(addr);
	lmtp_session_resume(s);
}

static void
lmtp_cmd_rcpt(struct lmtp_session *s, const char *args, size_t len)
{
	struct ipc_RCPT_RESOLVE_req m;
	struct ipc_chan *store = worker_store();
	char to[LMTP_PATH_MAX + 1];
	const char *err;

	if (s->state != LMTP_ST_MAIL) {
		lmtp_reply(s, s->state == LMTP_ST_GREETED ? R_NEED_LHLO :
		    s->state == LMTP_ST_BDAT ? "503 5.5.1 RCPT during BDAT" :
		    R_NEED_MAIL);
		return;
	}
	if (s->txn.nrcpts >= lmtpd_conf()->max_recipients) {
		lmtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	if ((err = lmtp_parse_rcpt(args, len, s->txn.mail.smtputf8, to,
	    sizeof(to))) != NULL) {
		lmtp_reply(s, err);
		return;
	}
	if (store == NULL) {
		lmtp_rcpt_failed(s, IPC_S_UNAVAIL, to);
		return;
	}
	s->txn.pending_rcpt = xstrdup(to);
	m.address = to;
	/* The reply may come at once, on a channel already closed. */
	lmtp_session_wait(s);
	s->req_id = ipc_request(store, IPC_T_RCPT_RESOLVE, conn_id(s->conn),
	    &m, lmtp_rcpt_cb, s);
}

static void
lmtp_cmd_data(struct lmtp_session *s, const char *args, size_t len)
{
	(void)args;
	if (s->state != LMTP_ST_MAIL) {
		lmtp_reply(s, s->state == LMTP_ST_GREETED ? R_NEED_LHLO :
		    s->state == LMTP_ST_BDAT ? "503 5.5.1 DATA during BDAT" :
		    R_NEED_MAIL);
		return;
	}
	if (len != 0) {
		lmtp_reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->txn.nrcpts == 0) {
		lmtp_reply(s, R_NO_RCPT);
		return;
	}
	lmtp_data_init(&s->txn.data, lmtpd_conf()->max_message_size);
	lmtp_spool_begin(s);
	s->input = LMTP_IN_DATA;
	lmtp_reply(s, "354 Start mail input; end with <CRLF>.<CRLF>");
}

void
lmtp_cmd_data_end(struct lmtp_session *s)
{
	if (s->txn.data.norm.overflow) {
		lmtp_deliver_refuse(s, "552 5.3.4",
		    "message exceeds fixed maximum message size");
		return;
	}
	lmtp_deliver(s);
}

static void
lmtp_cmd_bdat(struct lmtp_session *s, const char *args, size_t len)
{
	struct lmtp_txn *t = &s->txn;
	const char *err;
	uint64_t size;
	bool last;

	if ((err = lmtp_parse_bdat(args, len, &size, &last)) != NULL) {
		lmtp_reply(s, err);
		return;
	}
	/* RFC 3030 2: the chunk is read whatever the answer will be. */
	t->chunk_left = size;
	t->chunk_last = last;
	t->chunk_ok = false;
	s->input = LMTP_IN_CHUNK;
	if (s->state != LMTP_ST_MAIL && s->state != LMTP_ST_BDAT)
		return;
	if (t->nrcpts == 0)
		return;
	if (s->state == LMTP_ST_MAIL) {
		s->state = LMTP_ST_BDAT;
		lmtp_crlf_init(&t->chunks, lmtpd_conf()->max_message_size);
		lmtp_spool_begin(s);
	}
	if (t->chunks.total + size > lmtpd_conf()->max_message_size)
		t->failed = true;
	t->chunk_ok = !t->failed;
}

void
lmtp_cmd_chunk_end(struct lmtp_session *s)
{
	struct lmtp_txn *t = &s->txn;

	if (s->state != LMTP_ST_BDAT) {
		lmtp_reply(s, s->state == LMTP_ST_GREETED ? R_NEED_LHLO :
		    s->state == LMTP_ST_MAIL ? R_NO_RCPT : R_NEED_MAIL);
		return;
	}
	if (t->chunks.overflow)
		t->failed = true;
	if (t->failed) {
		if (t->chunk_last)
			lmtp_deliver_refuse(s, "552 5.3.4",
			    "message exceeds fixed maximum message size");
		else
			lmtp_reply(s, "552 5.3.4 Message exceeds fixed "
			    "maximum message size");
		return;
	}
	if (!t->chunk_last) {
		lmtp_replyf(s, "250 2.0.0 %llu octets received",
		    (unsigned long long)t->chunks.total);
		return;
	}
	lmtp_crlf_finish(&t->chunks, &t->msg);
	if (t->chunks.overflow) {
		lmtp_deliver_refuse(s, "552 5.3.4",
		    "message exceeds fixed maximum message size");
		return;
	}
	lmtp_deliver(s);
}

static void
lmtp_cmd_rset(struct lmtp_session *s, const char *args, size_t len)
{
	(void)args;
	if (len != 0) {
		lmtp_reply(s, "501 5.5.4 Syntax: RSET");
		return;
	}
	lmtp_txn_reset(s);
	lmtp_reply(s, R_OK);
}

static void
lmtp_cmd_noop(struct lmtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	lmtp_reply(s, R_OK);
}

static void
lmtp_cmd_quit(struct lmtp_session *s, const char *args, size_t len)
{
	(void)args;
	if (len != 0) {
		lmtp_reply(s, "501 5.5.4 Syntax: QUIT");
		return;
	}
	lmtp_replyf(s, "221 2.0.0 %s closing connection",
	    lmtpd_conf()->hostname);
	lmtp_session_close(s, "quit");
}

static void
lmtp_cmd_vrfy(struct lmtp_session *s, const char *args, size_t len)
{
	(void)args;
	if (len == 0) {
		lmtp_reply(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	/* RFC 5321 3.5.3: no directory harvesting here. */
	lmtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message "
	    "and attempt delivery");
}

static void
lmtp_cmd_help(struct lmtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	lmtp_reply(s, "214 2.0.0 Commands: LHLO MAIL RCPT DATA BDAT RSET "
	    "NOOP QUIT VRFY STARTTLS");
}

static void
lmtp_cmd_starttls(struct lmtp_session *s, const char *args, size_t len)
{
	(void)args;
	if (conn_is_tls(s->conn)) {
		lmtp_reply(s, "503 5.5.1 TLS already active");
		return;
	}
	if (!s->tls_offered) {
		lmtp_reply(s, "454 4.7.0 TLS not available");
		return;
	}
	if (len != 0) {
		lmtp_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	lmtp_reply(s, "220 2.0.0 Ready to start TLS");
	lmtp_session_starttls(s);
}

static void
lmtp_cmd_helo(struct lmtp_session *s, const char *args, size_t len)
{
	(void)args;
	(void)len;
	/* RFC 2033 4.1: an LMTP server does not take HELO or EHLO. */
	lmtp_reply(s, "500 5.5.1 This is LMTP: use LHLO");
}

/* RFC 2033 4 and RFC 5321 4.1.1, in the order of the RFCs. */
static const struct {
	enum lmtp_verb	 verb;
	lmtp_cmd_fn	*fn;
} lmtp_cmds[] = {
	{ LMTP_V_LHLO,		lmtp_cmd_lhlo },	/* RFC 2033 4.1 */
	{ LMTP_V_MAIL,		lmtp_cmd_mail },	/* RFC 5321 4.1.1.2 */
	{ LMTP_V_RCPT,		lmtp_cmd_rcpt },	/* 4.1.1.3 */
	{ LMTP_V_DATA,		lmtp_cmd_data },	/* 4.1.1.4 */
	{ LMTP_V_RSET,		lmtp_cmd_rset },	/* 4.1.1.5 */
	{ LMTP_V_VRFY,		lmtp_cmd_vrfy },	/* 4.1.1.6 */
	{ LMTP_V_HELP,		lmtp_cmd_help },	/* 4.1.1.8 */
	{ LMTP_V_NOOP,		lmtp_cmd_noop },	/* 4.1.1.9 */
	{ LMTP_V_QUIT,		lmtp_cmd_quit },	/* 4.1.1.10 */
	{ LMTP_V_BDAT,		lmtp_cmd_bdat },	/* RFC 3030 2 */
	{ LMTP_V_STARTTLS,	lmtp_cmd_starttls },	/* RFC 3207 4 */
	{ LMTP_V_HELO,		lmtp_cmd_helo },
	{ LMTP_V_EHLO,		lmtp_cmd_helo },
};

void
lmtp_cmd_run(struct lmtp_session *s, const char *line, size_t len)
{
	enum lmtp_verb v;
	size_t args, i;

	v = lmtp_parse_verb(line, len, &args);
	if (LOG_IS_TRACE(LOG_TRACE_LMTP))
		log_trace(LOG_TRACE_LMTP, "%016llx command %.*s",
		    (unsigned long long)conn_id(s->conn),
		    (int)(len > 64 ? 64 : len), line);
	for (i = 0; i < sizeof(lmtp_cmds) / sizeof(lmtp_cmds[0]); i++) {
		if (lmtp_cmds[i].verb == v) {
			lmtp_cmds[i].fn(s, line + args, len - args);
			break;
		}
	}
	if (i == sizeof(lmtp_cmds) / sizeof(lmtp_cmds[0]))
		lmtp_reply(s, "500 5.5.1 Unknown command");
	/* Asked to stop: once no transaction is open, say so and go. */
	if (s->shutdown && !conn_is_paused(s->conn) &&
	    !conn_is_closing(s->conn) &&
	    s->input == LMTP_IN_LINE && (s->state == LMTP_ST_GREETED ||
	    s->state == LMTP_ST_READY)) {
		lmtp_replyf(s, "421 4.3.2 %s Server shutting down",
		    lmtpd_conf()->hostname);
		lmtp_session_close(s, "shutdown");
	}
}
