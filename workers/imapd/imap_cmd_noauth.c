/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_noauth.c: the commands of the not authenticated state, RFC 9051
 * 6.2: STARTTLS (6.2.1, RFC 2595), AUTHENTICATE (6.2.2) with the PLAIN
 * mechanism (RFC 4616) and an initial response (SASL-IR, RFC 4959), and
 * LOGIN (6.2.3).  Credentials are not checked here: they go to storaged in
 * an AUTH request, and the session waits for its reply.
 */
#include "imap_cmd.h"
#include "imap_resp.h"
#include "imapd.h"
#include "ipc.h"
#include "log.h"
#include "xmalloc.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What a failed AUTH request tells the client (RFC 5530 codes). */
static const struct {
	enum ipc_status	 st;
	const char	*code;
	const char	*text;
} imap_auth_failures[] = {
	{ IPC_S_AUTHFAIL, "AUTHENTICATIONFAILED", "Authentication failed" },
	{ IPC_S_BLOCKED, "UNAVAILABLE",
	    "Too many failed logins, try again later" },
	{ IPC_S_UNAVAIL, "UNAVAILABLE", "Store unavailable, try again" },
	{ IPC_S_LIMIT, "LIMIT", "Too many connections for this user" },
	{ IPC_S_MAX, "UNAVAILABLE", "Authentication unavailable, try again" },
};

static char *
imap_auth_strdup(const struct imap_str *s)
{
	char *p = xmalloc(s->len + 1);

	memcpy(p, s->p, s->len);
	p[s->len] = '\0';
	return p;
}

static void
imap_auth_failed(struct imap_session *s, enum ipc_status st)
{
	char user[128];
	size_t i;

	for (i = 0; imap_auth_failures[i].st != IPC_S_MAX; i++)
		if (imap_auth_failures[i].st == st)
			break;
	/* storaged logs the failure for operators and fail2ban. */
	imap_session_debug(s, "login failed remote=%s user=%s reason=%s",
	    conn_remote(s->conn), conn_log_value(user, sizeof(user),
	    s->username, s->username != NULL ? strlen(s->username) : 0),
	    ipc_status_name(st));
	free(s->username);
	s->username = NULL;
	imap_session_reply(s, "NO", imap_auth_failures[i].code,
	    imap_auth_failures[i].text);
}

static void
imap_auth_reply_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_AUTH_rep *r = rep;
	struct imap_session *s = arg;
	char caps[1024];

	(void)c;
	(void)text;
	s->req_id = 0;
	if (st != IPC_S_OK)
		imap_auth_failed(s, st);
	else {
		imap_session_authenticated(s, r->account_id, r->username,
		    r->token.p, r->token.len);
		imap_capability_format(s, caps, sizeof(caps));
		imap_session_reply(s, "OK", caps, "Logged in");
	}
	imap_session_resume(s, IMAP_CMD_DONE);
}

/*
 * Asks storaged to check the credentials given with mech ("PLAIN" for
 * AUTHENTICATE PLAIN, "LOGIN" for the LOGIN command); the reply ends the
 * command.  The strings are copied for the request and the copy of the
 * password wiped.
 */
static enum imap_cmd_result
imap_auth_begin(struct imap_session *s, const char *mech,
    const struct imap_str *authzid, const struct imap_str *user,
    const struct imap_str *pass)
{
	struct ipc_AUTH_req req;
	struct ipc_chan *store;

	if ((store = imapd_store()) == NULL) {
		imap_session_reply(s, "NO", "UNAVAILABLE",
		    "Store unavailable, try again");
		return IMAP_CMD_DONE;
	}
	free(s->username);
	s->username = imap_auth_strdup(user);	/* for the log on failure */
	memset(&req, 0, sizeof(req));
	req.mech = mech;
	req.authzid = imap_auth_strdup(authzid);
	req.username = s->username;
	req.password = imap_auth_strdup(pass);
	s->req_id = ipc_request(store, IPC_T_AUTH, conn_id(s->conn), &req,
	    imap_auth_reply_cb, s);
	free((char *)req.authzid);
	xfree_secret((char *)req.password, pass->len + 1);
	return IMAP_CMD_WAIT;
}

/*
 * message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 2), sent in
 * base64 (b64, len bytes).  The decoded message is wiped afterwards.
 */
static enum imap_cmd_result
imap_auth_plain(struct imap_session *s, const char *b64, size_t len)
{
	struct imap_str authzid, user, pass;
	enum imap_cmd_result r;
	uint8_t *bin, *nul1, *nul2 = NULL;
	size_t max = len / 4 * 3 + 3, binlen = 0;

	bin = xmalloc(max);
	if (len > 0 && sodium_base642bin(bin, max, b64, len, NULL, &binlen,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		xfree_secret(bin, max);
		imap_session_reply(s, "BAD", NULL, "Invalid base64");
		return IMAP_CMD_DONE;
	}
	if ((nul1 = memchr(bin, '\0', binlen)) != NULL)
		nul2 = memchr(nul1 + 1, '\0', binlen - (nul1 + 1 - bin));
	if (nul2 == NULL || nul2 == nul1 + 1 || nul2 + 1 == bin + binlen ||
	    memchr(nul2 + 1, '\0', binlen - (nul2 + 1 - bin)) != NULL) {
		xfree_secret(bin, max);
		imap_session_reply(s, "NO", "AUTHENTICATIONFAILED",
		    "Malformed PLAIN response");
		return IMAP_CMD_DONE;
	}
	authzid.p = (const char *)bin;
	authzid.len = nul1 - bin;
	user.p = (const char *)nul1 + 1;
	user.len = nul2 - (nul1 + 1);
	pass.p = (const char *)nul2 + 1;
	pass.len = binlen - (nul2 + 1 - bin);
	r = imap_auth_begin(s, "PLAIN", &authzid, &user, &pass);
	xfree_secret(bin, max);
	return r;
}

/* The client's response to "+ ": base64, or "*" to cancel (6.2.2). */
static enum imap_cmd_result
imap_auth_plain_line(struct imap_session *s, uint8_t *line, size_t len)
{
	struct imap_parser ps;
	struct imap_str b64;

	if (len == 1 && line[0] == '*') {
		imap_session_reply(s, "BAD", NULL, "Authentication cancelled");
		return IMAP_CMD_DONE;
	}
	imap_parser_init(&ps, line, len);
	if (imap_parse_base64(&ps, &b64) == -1 || ps.p != ps.end) {
		imap_session_reply(s, "BAD", NULL, "Invalid base64");
		return IMAP_CMD_DONE;
	}
	return imap_auth_plain(s, b64.p, b64.len);
}

static enum imap_cmd_result
imap_auth_privacy_required(struct imap_session *s)
{
	imap_session_reply(s, "NO", "PRIVACYREQUIRED",
	    "Authentication is not allowed without TLS");
	return IMAP_CMD_DONE;
}

/* starttls = "STARTTLS" */
enum imap_cmd_result
imap_cmd_starttls(struct imap_session *s, struct imap_parser *ps)
{
	if (imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	if (conn_is_tls(s->conn)) {
		imap_session_reply(s, "BAD", NULL, "TLS is already active");
		return IMAP_CMD_DONE;
	}
	if (imapd_tls_ctx() == NULL) {
		imap_session_reply(s, "NO", NULL, "TLS is not available");
		return IMAP_CMD_DONE;
	}
	imap_session_reply(s, "OK", NULL, "Begin TLS negotiation now");
	imap_session_starttls(s);
	return IMAP_CMD_WAIT;
}

/*
 * authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]
 *                *(CRLF base64)
 */
enum imap_cmd_result
imap_cmd_authenticate(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_str mech, ir;
	bool has_ir = false;

	if (imap_parse_sp(ps) == -1 || imap_parse_atom(ps, &mech) == -1)
		return imap_cmd_bad(s, ps);
	if (imap_parse_peek(ps, ' ')) {
		if (imap_parse_sp(ps) == -1 || imap_parse_base64(ps, &ir) == -1)
			return imap_cmd_bad(s, ps);
		has_ir = true;
	}
	if (imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	if (!imap_session_login_allowed(s))
		return imap_auth_privacy_required(s);
	if (mech.len != 5 || strncasecmp(mech.p, "PLAIN", 5) != 0) {
		imap_session_reply(s, "NO", NULL,
		    "Unsupported authentication mechanism");
		return IMAP_CMD_DONE;
	}
	if (has_ir)
		return imap_auth_plain(s, ir.p, ir.len);
	/* PLAIN starts with the client: an empty challenge. */
	imap_resp_continue(s->out, "");
	imap_session_expect_line(s, imap_auth_plain_line);
	return IMAP_CMD_CONT;
}

/* login = "LOGIN" SP userid SP password */
enum imap_cmd_result
imap_cmd_login(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_str user, pass, none = { "", 0, false };

	if (imap_parse_sp(ps) == -1 || imap_parse_astring(ps, &user) == -1 ||
	    imap_parse_sp(ps) == -1 || imap_parse_astring(ps, &pass) == -1 ||
	    imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	if (!imap_session_login_allowed(s))
		return imap_auth_privacy_required(s);
	return imap_auth_begin(s, "LOGIN", &none, &user, &pass);
}
