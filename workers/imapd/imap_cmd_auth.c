/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_auth.c: the mailbox commands of the authenticated state, RFC
 * 9051 6.3: ENABLE (6.3.1, RFC 5161), CREATE (6.3.4, with USE of RFC 6154
 * 3), DELETE (6.3.5), RENAME (6.3.6), SUBSCRIBE and UNSUBSCRIBE (6.3.7,
 * 6.3.8), NAMESPACE (6.3.10, RFC 2342), STATUS (6.3.11, with SIZE of RFC
 * 8438, HIGHESTMODSEQ of RFC 7162, MAILBOXID of RFC 8474 and DELETED and
 * DELETED-STORAGE of RFC 9208 4.1.4), and ID (RFC 2971),
 * valid in any state.  LIST and LSUB are in imap_list.c.
 *
 * Each mailbox command first asks storaged for the account's mailboxes
 * (imap_mbox_lookup), resolves the client's name, then sends its MBOX_*
 * request; failures carry the response codes of RFC 5530.
 */
#include "imap_cmd.h"
#include "imap_append.h"
#include "imap_cmd_auth.h"
#include "imap_mbox.h"
#include "imap_resp.h"
#include "imap_view.h"
#include "imapd.h"
#include "ipc.h"
#include "xmalloc.h"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* --- Shared --- */

/* RFC 5530 codes of failed store requests, with a fallback text. */
static const struct {
	enum ipc_status	 st;
	const char	*code;
	const char	*text;
} imap_auth_codes[] = {
	{ IPC_S_NOTFOUND,	"NONEXISTENT",	"No such mailbox" },
	{ IPC_S_EXISTS,		"ALREADYEXISTS", "Mailbox already exists" },
	{ IPC_S_HASCHILDREN,	"HASCHILDREN",	"Mailbox has children" },
	{ IPC_S_DENIED,		"NOPERM",	"Permission denied" },
	{ IPC_S_INVALID,	"CANNOT",	"Invalid mailbox name" },
	{ IPC_S_LIMIT,		"LIMIT",	"Too many mailboxes" },
	{ IPC_S_QUOTA,		"OVERQUOTA",	"Quota exceeded" },
	{ IPC_S_UNAVAIL,	"UNAVAILABLE",
	    "Store unavailable, try again" },
	{ IPC_S_CONFLICT,	"UNAVAILABLE",
	    "Mailboxes changed meanwhile, try again" },
	{ IPC_S_MAX,		"SERVERBUG",	"Internal error" },
};

void
imap_auth_fail(struct imap_session *s, enum ipc_status st)
{
	size_t i;

	for (i = 0; imap_auth_codes[i].st != IPC_S_MAX; i++)
		if (imap_auth_codes[i].st == st)
			break;
	imap_session_reply(s, "NO", imap_auth_codes[i].code,
	    imap_auth_codes[i].text);
}

/* The state of a waiting mailbox command, in s->cmd_ctx. */
struct imap_auth_ctx {
	struct imap_mbox_req	 req;
	char			*name;		/* client name */
	char			*name2;		/* RENAME: the new one */
	const char		*role;		/* CREATE USE: static */
	bool			 subscribe;	/* SUBSCRIBE, not UNSUBSCRIBE */
	unsigned		 items;		/* STATUS: IMAP_STATUS_* */
	/* STATUS RECENT: the mailbox while its count is asked (cname owned). */
	struct imap_mbox	 mb;
};

static void
imap_auth_ctx_free(void *arg)
{
	struct imap_auth_ctx *x = arg;

	free(x->name);
	free(x->name2);
	free(x->mb.cname);
	free(x);
}

/* A new state for s's command, owning name (may be NULL). */
static struct imap_auth_ctx *
imap_auth_ctx_new(struct imap_session *s, char *name)
{
	struct imap_auth_ctx *x;

	x = xcalloc(1, sizeof(*x));
	x->name = name;
	s->cmd_ctx = x;
	s->cmd_ctx_free = imap_auth_ctx_free;
	return x;
}

/* Ends the waiting command: frees its state and reads the next one. */
static void
imap_auth_done(struct imap_session *s)
{
	if (s->cmd_ctx_free != NULL)
		s->cmd_ctx_free(s->cmd_ctx);
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	imap_session_resume(s, IMAP_CMD_DONE);
}

/*
 * Sends request msg of type to storaged for s; cb gets the reply (at once,
 * with IPC_S_UNAVAIL, when the store is away).
 */
static void
imap_auth_request(struct imap_session *s, uint16_t type, const void *msg,
    ipc_reply_cb *cb)
{
	struct ipc_chan *store;
	uint32_t id;

	if ((store = imapd_store()) == NULL) {
		cb(NULL, IPC_S_UNAVAIL, NULL, NULL, s);
		return;
	}
	id = ipc_request(store, type, conn_id(s->conn), msg, cb, s);
	if (id != 0)
		s->req_id = id;
}

/* The reply of a request whose success is answered with text ok. */
static void
imap_auth_simple_reply(struct imap_session *s, enum ipc_status st,
    const char *text, const char *ok)
{
	s->req_id = 0;
	if (st == IPC_S_OK)
		imap_session_reply(s, "OK", NULL, ok);
	else {
		imap_session_debug(s, "mailbox request failed status=%s "
		    "why=\"%s\"", ipc_status_name(st),
		    text != NULL ? text : "");
		imap_auth_fail(s, st);
	}
	imap_auth_done(s);
}

/* Parses SP mailbox into a client name (see imap_cmd_auth.h). */
char *
imap_auth_parse_mailbox(struct imap_session *s, struct imap_parser *ps,
    bool trailing_ok, const char **bad_r)
{
	struct imap_str arg;
	char *name;

	*bad_r = NULL;
	if (imap_parse_sp(ps) == -1 || imap_parse_astring(ps, &arg) == -1) {
		*bad_r = ps->error;
		return NULL;
	}
	if ((name = imap_mbox_name_decode(s, arg.p, arg.len, trailing_ok,
	    bad_r)) == NULL)
		return NULL;
	return name;
}

/*
 * Answers a mailbox argument that imap_auth_parse_mailbox refused: BAD
 * for syntax, NO [CANNOT] for a name that is not valid.
 */
static enum imap_cmd_result
imap_auth_bad_name(struct imap_session *s, struct imap_parser *ps,
    const char *why)
{
	if (ps->error != NULL)
		return imap_cmd_bad(s, ps);
	imap_session_reply(s, "NO", "CANNOT", why);
	return IMAP_CMD_DONE;
}

/* --- ENABLE, RFC 5161, RFC 9051 6.3.1 --- */

static const struct {
	const char	*name;
	unsigned	 bits;
} imap_enable_exts[] = {
	{ "IMAP4rev2",	IMAP_ENABLED_REV2 },
	{ "UTF8=ACCEPT", IMAP_ENABLED_UTF8 },
	{ "CONDSTORE",	IMAP_ENABLED_CONDSTORE },
	/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE. */
	{ "QRESYNC",	IMAP_ENABLED_QRESYNC | IMAP_ENABLED_CONDSTORE },
};

/* enable = "ENABLE" 1*(SP capability) */
enum imap_cmd_result
imap_cmd_enable(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_str cap;
	struct buf line = BUF_INIT;
	unsigned now = s->enabled, listed = 0;
	size_t i;

	do {
		if (imap_parse_sp(ps) == -1 || imap_parse_atom(ps, &cap) == -1)
			return imap_cmd_bad(s, ps);
		for (i = 0; i < NELEM(imap_enable_exts); i++)
			if (strlen(imap_enable_exts[i].name) == cap.len &&
			    strncasecmp(imap_enable_exts[i].name, cap.p,
			    cap.len) == 0)
				break;
		/* Unknown extensions are ignored (6.3.1). */
		if (i == NELEM(imap_enable_exts) || (listed & (1u << i)))
			continue;
		/* Only what this command turned on is listed. */
		if ((imap_enable_exts[i].bits & ~now) != 0) {
			buf_append(&line, " ", 1);
			imap_resp_token(&line, imap_enable_exts[i].name);
			listed |= 1u << i;
		}
		now |= imap_enable_exts[i].bits;
	} while (!imap_parse_at_eol(ps));
	if (imap_parse_eol(ps) == -1) {
		buf_clear(&line);
		return imap_cmd_bad(s, ps);
	}
	s->enabled = now;
	imap_resp_untagged(s->out);
	imap_resp_token(s->out, "ENABLED");
	buf_append(s->out, line.data, line.len);
	imap_resp_crlf(s->out);
	buf_clear(&line);
	imap_session_reply(s, "OK", NULL, "ENABLE completed");
	return IMAP_CMD_DONE;
}

/* --- CREATE, RFC 9051 6.3.4, RFC 6154 3 --- */

/* RFC 8474 4.1: the new mailbox's MAILBOXID comes with the OK. */
static void
imap_create_reply_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg)
{
	const struct ipc_MBOX_CREATE_rep *r = rep;
	struct imap_session *s = arg;
	char id[24], code[40];

	(void)c;
	if (st != IPC_S_OK) {
		imap_auth_simple_reply(s, st, text, NULL);
		return;
	}
	s->req_id = 0;
	imap_mbox_objectid(r->mailbox_id, id, sizeof(id));
	snprintf(code, sizeof(code), "MAILBOXID (%s)", id);
	imap_session_reply(s, "OK", code, "CREATE completed");
	imap_auth_done(s);
}

static void
imap_create_lookup_cb(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg)
{
	struct imap_auth_ctx *x = arg;
	struct ipc_MBOX_CREATE_req req;
	char *stored;
	size_t i;

	if (st != IPC_S_OK) {
		imap_auth_fail(s, st);
		imap_auth_done(s);
		return;
	}
	if (mb != NULL || strcmp(x->name, "INBOX") == 0) {
		imap_session_reply(s, "NO", "ALREADYEXISTS",
		    "Mailbox already exists");
		imap_auth_done(s);
		return;
	}
	for (i = 0; x->role != NULL && i < l->n; i++)
		if (strcmp(l->v[i].role, x->role) == 0) {
			imap_session_reply(s, "NO", "USEATTR", "Another "
			    "mailbox has that special use already");
			imap_auth_done(s);
			return;
		}
	if ((stored = imap_mbox_stored_name(l, x->name)) == NULL) {
		imap_session_reply(s, "NO", "CANNOT", "There is no INBOX");
		imap_auth_done(s);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.name = stored;
	req.role = x->role != NULL ? x->role : "";
	imap_auth_request(s, IPC_T_MBOX_CREATE, &req, imap_create_reply_cb);
	free(stored);
}

/*
 * create-param = "USE" SP "(" [use-attr *(SP use-attr)] ")" (RFC 6154 6);
 * sets *role_r to the role of the one attribute.  Returns 0, or -1 after
 * answering.
 */
static int
imap_create_params(struct imap_session *s, struct imap_parser *ps,
    const char **role_r)
{
	struct imap_str name, attr;
	const char *role;
	size_t n = 0;

	if (imap_parse_sp(ps) == -1 || !imap_parse_peek(ps, '(')) {
		imap_cmd_bad(s, ps);
		return -1;
	}
	ps->p++;
	if (imap_parse_atom(ps, &name) == -1 || name.len != 3 ||
	    strncasecmp(name.p, "USE", 3) != 0 || imap_parse_sp(ps) == -1 ||
	    !imap_parse_peek(ps, '(')) {
		imap_session_reply(s, "BAD", NULL, ps->error != NULL ?
		    ps->error : "Unknown CREATE parameter");
		return -1;
	}
	ps->p++;
	while (!imap_parse_peek(ps, ')')) {
		if ((n > 0 && imap_parse_sp(ps) == -1) ||
		    !imap_parse_peek(ps, '\\')) {
			imap_session_reply(s, "BAD", NULL,
			    "Expected a special-use attribute");
			return -1;
		}
		ps->p++;
		if (imap_parse_atom(ps, &attr) == -1) {
			imap_cmd_bad(s, ps);
			return -1;
		}
		if ((role = imap_mbox_attr_role(attr.p - 1,
		    attr.len + 1)) == NULL) {
			imap_session_reply(s, "NO", "USEATTR",
			    "Unsupported special-use attribute");
			return -1;
		}
		if (n++ > 0 && role != *role_r) {
			imap_session_reply(s, "NO", "USEATTR",
			    "A mailbox has only one special use");
			return -1;
		}
		*role_r = role;
	}
	ps->p++;
	if (!imap_parse_peek(ps, ')')) {
		imap_session_reply(s, "BAD", NULL, "Expected \")\"");
		return -1;
	}
	ps->p++;
	return 0;
}

/* create = "CREATE" SP mailbox [create-params] */
enum imap_cmd_result
imap_cmd_create(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_auth_ctx *x;
	const char *why, *role = NULL;
	char *name;

	name = imap_auth_parse_mailbox(s, ps, true, &why);
	if (name == NULL && ps->error != NULL)
		return imap_cmd_bad(s, ps);
	if (!imap_parse_at_eol(ps) && imap_create_params(s, ps, &role) == -1) {
		free(name);
		return IMAP_CMD_DONE;
	}
	if (imap_parse_eol(ps) == -1) {
		free(name);
		return imap_cmd_bad(s, ps);
	}
	if (name == NULL)
		return imap_auth_bad_name(s, ps, why);
	x = imap_auth_ctx_new(s, name);
	x->role = role;
	imap_mbox_lookup(s, &x->req, x->name, imap_create_lookup_cb, x);
	return IMAP_CMD_WAIT;
}

/* --- DELETE, RFC 9051 6.3.5 --- */

static void
imap_delete_reply_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg)
{
	(void)c;
	(void)rep;
	imap_auth_simple_reply(arg, st, text, "DELETE completed");
}

static void
imap_delete_lookup_cb(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg)
{
	struct ipc_MBOX_DELETE_req req;

	(void)l;
	(void)arg;
	if (st != IPC_S_OK || mb == NULL) {
		imap_auth_fail(s, st != IPC_S_OK ? st : IPC_S_NOTFOUND);
		imap_auth_done(s);
		return;
	}
	if (strcmp(mb->cname, "INBOX") == 0) {
		imap_session_reply(s, "NO", "CANNOT",
		    "INBOX cannot be deleted");
		imap_auth_done(s);
		return;
	}
	/* 6.3.5: refused rather than left as \Noselect. */
	if (mb->has_children) {
		imap_session_reply(s, "NO", "HASCHILDREN",
		    "Mailbox has children, delete them first");
		imap_auth_done(s);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.mailbox_id = mb->id;
	imap_auth_request(s, IPC_T_MBOX_DELETE, &req, imap_delete_reply_cb);
}

/* delete = "DELETE" SP mailbox */
enum imap_cmd_result
imap_cmd_delete(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_auth_ctx *x;
	const char *why;
	char *name;

	name = imap_auth_parse_mailbox(s, ps, false, &why);
	if (name == NULL || imap_parse_eol(ps) == -1) {
		free(name);
		return imap_auth_bad_name(s, ps, why);
	}
	x = imap_auth_ctx_new(s, name);
	imap_mbox_lookup(s, &x->req, x->name, imap_delete_lookup_cb, x);
	return IMAP_CMD_WAIT;
}

/* --- RENAME, RFC 9051 6.3.6 --- */

static void
imap_rename_reply_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg)
{
	(void)c;
	(void)rep;
	imap_auth_simple_reply(arg, st, text, "RENAME completed");
}

/* Is client name b a descendant of a, or a itself? */
static bool
imap_rename_inside(const char *a, const char *b)
{
	size_t len = strlen(a);

	return strncmp(a, b, len) == 0 &&
	    (b[len] == '\0' || b[len] == IMAP_MBOX_DELIM);
}

static void
imap_rename_lookup_cb(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg)
{
	struct imap_auth_ctx *x = arg;
	struct ipc_MBOX_RENAME_req req;
	const char *code = NULL, *why = NULL;
	char *stored = NULL;

	if (st != IPC_S_OK || mb == NULL) {
		imap_auth_fail(s, st != IPC_S_OK ? st : IPC_S_NOTFOUND);
		imap_auth_done(s);
		return;
	}
	if (strcmp(x->name2, "INBOX") == 0 || imap_mbox_find(l, x->name2))
		code = "ALREADYEXISTS", why = "Mailbox already exists";
	else if (strcmp(x->name, "INBOX") != 0 &&
	    imap_rename_inside(x->name, x->name2))
		code = "CANNOT", why = "Cannot move a mailbox into itself";
	else if ((stored = imap_mbox_stored_name(l, x->name2)) == NULL)
		code = "CANNOT", why = "There is no INBOX";
	if (code != NULL) {
		imap_session_reply(s, "NO", code, why);
		imap_auth_done(s);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.mailbox_id = mb->id;
	req.name = stored;
	imap_auth_request(s, IPC_T_MBOX_RENAME, &req, imap_rename_reply_cb);
	free(stored);
}

/* rename = "RENAME" SP mailbox SP mailbox */
enum imap_cmd_result
imap_cmd_rename(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_auth_ctx *x;
	const char *why, *why2;
	char *from, *to;

	from = imap_auth_parse_mailbox(s, ps, false, &why);
	if (from == NULL && ps->error != NULL)
		return imap_cmd_bad(s, ps);
	to = imap_auth_parse_mailbox(s, ps, true, &why2);
	if (imap_parse_eol(ps) == -1 || from == NULL || to == NULL) {
		free(from);
		free(to);
		return imap_auth_bad_name(s, ps, from == NULL ? why : why2);
	}
	x = imap_auth_ctx_new(s, from);
	x->name2 = to;
	imap_mbox_lookup(s, &x->req, x->name, imap_rename_lookup_cb, x);
	return IMAP_CMD_WAIT;
}

/* --- SUBSCRIBE, UNSUBSCRIBE, RFC 9051 6.3.7, 6.3.8 --- */

static void
imap_subscribe_reply_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg)
{
	struct imap_session *s = arg;
	struct imap_auth_ctx *x = s->cmd_ctx;

	(void)c;
	(void)rep;
	imap_auth_simple_reply(s, st, text, x->subscribe ?
	    "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
}

/*
 * A subscription is a name, whether or not a mailbox has it (6.3.7: the
 * server SHOULD NOT drop one whose mailbox is gone, and LIST (SUBSCRIBED)
 * may show names that do not exist), so neither command asks that the
 * mailbox exist; the lookup only turns the client name into the stored
 * one ("INBOX/x" is below the inbox's stored name).
 */
static void
imap_subscribe_lookup_cb(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg)
{
	struct imap_auth_ctx *x = arg;
	struct ipc_SUBSCRIPTION_SET_req req;
	char *stored;

	(void)mb;
	if (st != IPC_S_OK) {
		imap_auth_fail(s, st);
		imap_auth_done(s);
		return;
	}
	if ((stored = imap_mbox_stored_name(l, x->name)) == NULL) {
		imap_session_reply(s, "NO", "CANNOT", "There is no INBOX");
		imap_auth_done(s);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.name = stored;
	req.subscribed = x->subscribe;
	imap_auth_request(s, IPC_T_SUBSCRIPTION_SET, &req,
	    imap_subscribe_reply_cb);
	free(stored);
}

static enum imap_cmd_result
imap_subscribe(struct imap_session *s, struct imap_parser *ps, bool on)
{
	struct imap_auth_ctx *x;
	const char *why;
	char *name;

	name = imap_auth_parse_mailbox(s, ps, false, &why);
	if (name == NULL || imap_parse_eol(ps) == -1) {
		free(name);
		return imap_auth_bad_name(s, ps, why);
	}
	x = imap_auth_ctx_new(s, name);
	x->subscribe = on;
	imap_mbox_lookup(s, &x->req, x->name, imap_subscribe_lookup_cb, x);
	return IMAP_CMD_WAIT;
}

/* subscribe = "SUBSCRIBE" SP mailbox */
enum imap_cmd_result
imap_cmd_subscribe(struct imap_session *s, struct imap_parser *ps)
{
	return imap_subscribe(s, ps, true);
}

/* unsubscribe = "UNSUBSCRIBE" SP mailbox */
enum imap_cmd_result
imap_cmd_unsubscribe(struct imap_session *s, struct imap_parser *ps)
{
	return imap_subscribe(s, ps, false);
}

/* --- NAMESPACE, RFC 2342 5, RFC 9051 6.3.10 --- */

/* namespace = "NAMESPACE": one personal namespace, no others. */
enum imap_cmd_result
imap_cmd_namespace(struct imap_session *s, struct imap_parser *ps)
{
	if (imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	imap_resp_untagged(s->out);
	imap_resp_token(s->out, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_resp_crlf(s->out);
	imap_session_reply(s, "OK", NULL, "NAMESPACE completed");
	return IMAP_CMD_DONE;
}

/* --- STATUS, RFC 9051 6.3.11 --- */

/* status-att of RFC 9051 9 and its extensions, in response order. */
static const struct {
	const char	*name;
	unsigned	 bit;
	bool		 rev1;		/* RFC 3501 only (RECENT) */
} imap_status_atts[] = {
	{ "MESSAGES",	   IMAP_STATUS_MESSAGES,	false },
	{ "RECENT",	   IMAP_STATUS_RECENT,		true },
	{ "UIDNEXT",	   IMAP_STATUS_UIDNEXT,		false },
	{ "UIDVALIDITY",   IMAP_STATUS_UIDVALIDITY,	false },
	{ "UNSEEN",	   IMAP_STATUS_UNSEEN,		false },
	{ "SIZE",	   IMAP_STATUS_SIZE,		false },
	{ "HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ,	false }, /* 7162 */
	{ "MAILBOXID",	   IMAP_STATUS_MAILBOXID,	false }, /* 8474 */
	{ "APPENDLIMIT",   IMAP_STATUS_APPENDLIMIT,	false }, /* 7889 */
	{ "DELETED",	   IMAP_STATUS_DELETED,		false },
	{ "DELETED-STORAGE", IMAP_STATUS_DELETED_STORAGE, false }, /* 9208 */
};

int
imap_status_parse_atts(struct imap_session *s, struct imap_parser *ps,
    unsigned *items_r, char *why, size_t whysize)
{
	struct imap_str att;
	size_t i, n = 0;

	*items_r = 0;
	if (!imap_parse_peek(ps, '(')) {
		snprintf(why, whysize, "Expected \"(\" before STATUS items");
		return -1;
	}
	ps->p++;
	do {
		if (n == 0 && imap_parse_peek(ps, ')')) {
			snprintf(why, whysize, "Expected a STATUS item");
			return -1;
		}
		if ((n++ > 0 && imap_parse_sp(ps) == -1) ||
		    imap_parse_atom(ps, &att) == -1) {
			snprintf(why, whysize, "%s", ps->error);
			return -1;
		}
		for (i = 0; i < NELEM(imap_status_atts); i++)
			if (strlen(imap_status_atts[i].name) == att.len &&
			    strncasecmp(imap_status_atts[i].name, att.p,
			    att.len) == 0)
				break;
		if (i < NELEM(imap_status_atts) && (!imap_status_atts[i].rev1 ||
		    !(s->enabled & IMAP_ENABLED_REV2))) {
			*items_r |= imap_status_atts[i].bit;
			continue;
		}
		snprintf(why, whysize, "Unknown STATUS item %.*s",
		    (int)(att.len > 32 ? 32 : att.len), att.p);
		return -1;
	} while (!imap_parse_peek(ps, ')'));
	ps->p++;
	/* RFC 7162 3.1: STATUS HIGHESTMODSEQ turns CONDSTORE on. */
	if (*items_r & IMAP_STATUS_HIGHESTMODSEQ)
		imap_view_condstore_enable(s);
	return 0;
}

void
imap_status_write(struct imap_session *s, const struct imap_mbox *mb,
    unsigned items)
{
	imap_status_write_recent(s, mb, items, 0);
}

void
imap_status_write_recent(struct imap_session *s, const struct imap_mbox *mb,
    unsigned items, uint32_t recent)
{
	char num[48];
	size_t i, n = 0;
	uint64_t v;

	imap_resp_untagged(s->out);
	imap_resp_token(s->out, "STATUS ");
	imap_mbox_name_write(s, s->out, mb->cname);
	imap_resp_token(s->out, " (");
	for (i = 0; i < NELEM(imap_status_atts); i++) {
		if (!(items & imap_status_atts[i].bit))
			continue;
		if (n++ > 0)
			imap_resp_sp(s->out);
		imap_resp_token(s->out, imap_status_atts[i].name);
		imap_resp_sp(s->out);
		switch (imap_status_atts[i].bit) {
		case IMAP_STATUS_MESSAGES:	v = mb->total; break;
		case IMAP_STATUS_UIDNEXT:	v = mb->uidnext; break;
		case IMAP_STATUS_UIDVALIDITY:	v = mb->uidvalidity; break;
		case IMAP_STATUS_UNSEEN:	v = mb->unread; break;
		case IMAP_STATUS_SIZE:		v = mb->size; break;
		case IMAP_STATUS_HIGHESTMODSEQ:	v = mb->highestmodseq; break;
		case IMAP_STATUS_DELETED:	v = mb->deleted; break;
		/* RFC 9208 4.1.4, 5.1: in STORAGE's units of 1024 octets. */
		case IMAP_STATUS_DELETED_STORAGE:
			v = mb->deleted_size / 1024 +
			    (mb->deleted_size % 1024 != 0);
			break;
		/* The same for every mailbox (the capability says it too). */
		case IMAP_STATUS_APPENDLIMIT:	v = IMAP_APPEND_LIMIT; break;
		case IMAP_STATUS_MAILBOXID:
			imap_mbox_objectid(mb->id, num, sizeof(num));
			imap_resp_token(s->out, "(");
			imap_resp_token(s->out, num);
			imap_resp_token(s->out, ")");
			continue;
		case IMAP_STATUS_RECENT:	v = recent; break;
		default:			v = 0; break;
		}
		snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
		imap_resp_token(s->out, num);
	}
	imap_resp_token(s->out, ")");
	imap_resp_crlf(s->out);
}

/* STATUS RECENT counted by storaged, without claiming (RFC 3501 6.3.10). */
static void
imap_status_recent_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg)
{
	const struct ipc_MBOX_RECENT_rep *r = rep;
	struct imap_session *s = arg;
	struct imap_auth_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		imap_session_debug(s, "status recent: %s: %s",
		    ipc_status_name(st), text != NULL ? text : "");
		imap_auth_fail(s, st);
	} else {
		imap_status_write_recent(s, &x->mb, x->items, r->count);
		imap_session_reply(s, "OK", NULL, "STATUS completed");
	}
	imap_auth_done(s);
}

static void
imap_status_lookup_cb(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg)
{
	struct imap_auth_ctx *x = arg;
	struct ipc_MBOX_RECENT_req req;

	(void)l;
	if (st == IPC_S_OK && mb != NULL && (x->items & IMAP_STATUS_RECENT)) {
		/* mb is borrowed for this call: keep what STATUS writes. */
		x->mb = *mb;
		x->mb.name = x->mb.role = NULL;
		x->mb.cname = xstrdup(mb->cname);
		req.mailbox_id = mb->id;
		req.uidvalidity = (uint32_t)mb->uidvalidity;
		req.uidnext = (uint32_t)mb->uidnext;
		req.mode = 2;		/* count */
		imap_auth_request(s, IPC_T_MBOX_RECENT, &req,
		    imap_status_recent_cb);
		return;
	}
	if (st != IPC_S_OK || mb == NULL)
		imap_auth_fail(s, st != IPC_S_OK ? st : IPC_S_NOTFOUND);
	else {
		imap_status_write(s, mb, x->items);
		imap_session_reply(s, "OK", NULL, "STATUS completed");
	}
	imap_auth_done(s);
}

/* status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")" */
enum imap_cmd_result
imap_cmd_status(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_auth_ctx *x;
	const char *why;
	char *name, bad[96];
	unsigned items;

	name = imap_auth_parse_mailbox(s, ps, false, &why);
	if (name == NULL && ps->error != NULL)
		return imap_cmd_bad(s, ps);
	if (imap_parse_sp(ps) == -1) {
		free(name);
		return imap_cmd_bad(s, ps);
	}
	if (imap_status_parse_atts(s, ps, &items, bad, sizeof(bad)) == -1) {
		free(name);
		imap_session_reply(s, "BAD", NULL, bad);
		return IMAP_CMD_DONE;
	}
	if (imap_parse_eol(ps) == -1) {
		free(name);
		return imap_cmd_bad(s, ps);
	}
	if (name == NULL)
		return imap_auth_bad_name(s, ps, why);
	x = imap_auth_ctx_new(s, name);
	x->items = items;
	imap_mbox_lookup(s, &x->req, x->name, imap_status_lookup_cb, x);
	return IMAP_CMD_WAIT;
}

/* --- ID, RFC 2971 --- */

/* RFC 2971 3.3: limits a client must keep to. */
#define IMAP_ID_PAIRS_MAX	30
#define IMAP_ID_FIELD_MAX	30
#define IMAP_ID_VALUE_MAX	1024

/* Logs the client's field and value at debug level. */
static void
imap_id_log(struct imap_session *s, const struct imap_str *f,
    const struct imap_str *v)
{
	char field[64], value[128];

	imap_session_debug(s, "id %s=%s",
	    conn_log_value(field, sizeof(field), f->p, f->len),
	    v->p == NULL ? "NIL" :
	    conn_log_value(value, sizeof(value), v->p, v->len));
}

/*
 * id = "ID" SP id-params-list
 * id-params-list = "(" #(string SP nstring) ")" / nil
 */
enum imap_cmd_result
imap_cmd_id(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_str f, v, nil;
	const char *bad = NULL;
	size_t n = 0;

	if (imap_parse_sp(ps) == -1)
		return imap_cmd_bad(s, ps);
	if (imap_parse_peek(ps, '(')) {
		ps->p++;
		while (bad == NULL && !imap_parse_peek(ps, ')')) {
			if ((n > 0 && imap_parse_sp(ps) == -1) ||
			    imap_parse_string(ps, &f) == -1 ||
			    imap_parse_sp(ps) == -1 ||
			    imap_parse_nstring(ps, &v) == -1)
				return imap_cmd_bad(s, ps);
			if (++n > IMAP_ID_PAIRS_MAX)
				bad = "Too many ID fields";
			else if (f.len > IMAP_ID_FIELD_MAX)
				bad = "ID field name too long";
			else if (v.p != NULL && v.len > IMAP_ID_VALUE_MAX)
				bad = "ID field value too long";
			else
				imap_id_log(s, &f, &v);
		}
		if (bad != NULL) {
			imap_session_reply(s, "BAD", NULL, bad);
			return IMAP_CMD_DONE;
		}
		ps->p++;
	} else if (imap_parse_atom(ps, &nil) == -1 || nil.len != 3 ||
	    strncasecmp(nil.p, "NIL", 3) != 0) {
		imap_session_reply(s, "BAD", NULL,
		    "Expected a list of ID fields or NIL");
		return IMAP_CMD_DONE;
	}
	if (imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	imap_resp_untagged(s->out);
	imap_resp_token(s->out, "ID (\"name\" \"Bulwark\" \"version\" ");
	imap_resp_string(s->out, PACKAGE_VERSION, strlen(PACKAGE_VERSION), 0);
	imap_resp_token(s->out, ")");
	imap_resp_crlf(s->out);
	imap_session_reply(s, "OK", NULL, "ID completed");
	return IMAP_CMD_DONE;
}
