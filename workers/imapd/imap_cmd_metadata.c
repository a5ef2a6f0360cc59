/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_metadata.c: the METADATA and METADATA-SERVER extension, RFC
 * 5464: GETMETADATA (4.2, with the MAXSIZE and DEPTH options of 4.2.1,
 * 4.2.2), SETMETADATA (4.3) and the METADATA response (4.4.1), on the
 * server's annotations (mailbox "") and on each mailbox's.  Entry names
 * are checked here (lib/mailmeta.h; a bad one is BAD, 3.2) and again by
 * storaged, which keeps the entries (METADATA_GET, METADATA_SET).
 *
 * Values are octets: SETMETADATA takes them as strings or as literal8
 * (4.3's value, RFC 3516 binary content), and the METADATA response sends
 * a value that holds a NUL, which no string can carry, as a literal8.
 *
 * Entries without a value are left out of the METADATA response, and no
 * METADATA response is sent when none has one.  No unsolicited METADATA
 * response is sent (4.4.2 makes them depend on ENABLE METADATA, which is
 * not offered): only this session's commands change the annotations it
 * would see, and it asked for those changes.
 */
#include "imap_cmd.h"
#include "imap_cmd_auth.h"
#include "imap_mbox.h"
#include "imap_resp.h"
#include "imapd.h"
#include "ipc.h"
#include "mailmeta.h"
#include "wire.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Most entries one GETMETADATA names or one SETMETADATA sets. */
#define IMAP_META_ENTRIES_MAX	(MAILMETA_ENTRIES_MAX * 2)

/* The state of a waiting GETMETADATA or SETMETADATA, in s->cmd_ctx. */
struct imap_meta_ctx {
	struct imap_mbox_req	 req;
	bool			 set;		/* SETMETADATA */
	char			*name;		/* client name, "" the server */
	uint32_t		 depth;		/* UINT32_MAX: infinity */
	uint32_t		 maxsize;	/* 0: none */
	struct buf		 names;		/* STRLIST body */
	uint32_t		 nnames;
	struct buf		 values;	/* SETMETADATA */
	struct buf		 lens;		/* U64LIST body */
	struct buf		 nils;		/* U64LIST body */
};

static void
imap_meta_ctx_free(void *arg)
{
	struct imap_meta_ctx *x = arg;

	free(x->name);
	buf_clear(&x->names);
	buf_clear(&x->values);
	buf_clear(&x->lens);
	buf_clear(&x->nils);
	free(x);
}

static struct imap_meta_ctx *
imap_meta_ctx_new(struct imap_session *s, bool set)
{
	struct imap_meta_ctx *x;

	x = xcalloc(1, sizeof(*x));
	x->set = set;
	s->cmd_ctx = x;
	s->cmd_ctx_free = imap_meta_ctx_free;
	return x;
}

static void
imap_meta_done(struct imap_session *s)
{
	if (s->cmd_ctx_free != NULL)
		s->cmd_ctx_free(s->cmd_ctx);
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	imap_session_resume(s, IMAP_CMD_DONE);
}

/* Parses one entry into x->names, canonical.  Returns 0 or -1 (BAD). */
static int
imap_meta_parse_entry(struct imap_parser *ps, struct imap_meta_ctx *x)
{
	char canon[MAILMETA_NAME_MAX + 1];
	struct imap_str e;
	const char *why;

	if (imap_parse_astring(ps, &e) == -1)
		return -1;
	if ((why = mailmeta_name_canon(e.p, e.len, canon)) != NULL) {
		ps->error = why;
		return -1;
	}
	if (x->nnames >= IMAP_META_ENTRIES_MAX) {
		ps->error = "Too many entries";
		return -1;
	}
	wire_strlist_add(&x->names, canon);
	x->nnames++;
	return 0;
}

/* Parses mailbox: "" is the server (x->name ""). */
static int
imap_meta_parse_mailbox(struct imap_session *s, struct imap_parser *ps,
    struct imap_meta_ctx *x, const char **bad_r)
{
	struct imap_str arg;

	*bad_r = NULL;
	if (imap_parse_astring(ps, &arg) == -1)
		return -1;
	if (arg.len == 0) {
		x->name = xstrdup("");
		return 0;
	}
	x->name = imap_mbox_name_decode(s, arg.p, arg.len, false, bad_r);
	return 0;
}

/* Sends x's request for mailbox_id (0: the server). */
static void
imap_meta_request(struct imap_session *s, struct imap_meta_ctx *x,
    uint32_t mailbox_id, ipc_reply_cb *cb)
{
	struct ipc_METADATA_GET_req g;
	struct ipc_METADATA_SET_req m;
	struct wire_strlist names = { x->nnames, x->names.data,
	    x->names.len };
	struct ipc_chan *store;
	uint32_t id;

	if ((store = imapd_store()) == NULL) {
		cb(NULL, IPC_S_UNAVAIL, NULL, NULL, s);
		return;
	}
	if (x->set) {
		memset(&m, 0, sizeof(m));
		m.mailbox_id = mailbox_id;
		m.names = names;
		m.values.p = x->values.data;
		m.values.len = (uint32_t)x->values.len;
		m.value_lens.count = m.nil.count = x->nnames;
		m.value_lens.p = x->lens.data;
		m.nil.p = x->nils.data;
		id = ipc_request(store, IPC_T_METADATA_SET, conn_id(s->conn),
		    &m, cb, s);
	} else {
		memset(&g, 0, sizeof(g));
		g.mailbox_id = mailbox_id;
		g.entries = names;
		g.depth = x->depth;
		g.maxsize = x->maxsize;
		id = ipc_request(store, IPC_T_METADATA_GET, conn_id(s->conn),
		    &g, cb, s);
	}
	if (id != 0)
		s->req_id = id;
}

/* A failed store request: the METADATA codes of RFC 5464 4.3 first. */
static void
imap_meta_fail(struct imap_session *s, enum ipc_status st, const char *text)
{
	char code[48];

	imap_session_debug(s, "metadata request failed status=%s why=\"%s\"",
	    ipc_status_name(st), text != NULL ? text : "");
	if (st == IPC_S_TOOBIG) {
		snprintf(code, sizeof(code), "METADATA MAXSIZE %u",
		    MAILMETA_VALUE_MAX);
		imap_session_reply(s, "NO", code, "Annotation too large");
	} else if (st == IPC_S_LIMIT)
		imap_session_reply(s, "NO", "METADATA TOOMANY",
		    "Too many annotations");
	else
		imap_auth_fail(s, st);
}

/* Writes the mailbox of a METADATA response: "" for the server. */
static void
imap_meta_write_mailbox(struct imap_session *s, const char *name)
{
	if (name[0] == '\0')
		imap_resp_astring(s->out, "", 0, 0);
	else
		imap_mbox_name_write(s, s->out, name);
}

/* value = nstring / literal8: literal8 only when a NUL needs it. */
static void
imap_meta_write_value(struct imap_session *s, const uint8_t *p, size_t len)
{
	if (len > 0 && memchr(p, '\0', len) != NULL) {
		buf_printf(s->out, "~{%zu}\r\n", len);
		buf_append(s->out, p, len);
	} else
		imap_resp_string(s->out, p, len, 0);
}

/* metadata-resp = "METADATA" SP mailbox SP entry-values (4.4.1) */
static void
imap_meta_write(struct imap_session *s, const struct imap_meta_ctx *x,
    const struct ipc_METADATA_GET_rep *r)
{
	struct wire_iter it;
	const char *name;
	uint64_t off = 0, len;
	uint32_t i;

	if (r->names.count == 0)
		return;
	imap_resp_untagged(s->out);
	imap_resp_token(s->out, "METADATA ");
	imap_meta_write_mailbox(s, x->name);
	imap_resp_token(s->out, " (");
	wire_strlist_iter(&r->names, &it);
	for (i = 0; i < r->names.count; i++) {
		name = wire_strlist_next(&it);
		len = wire_u64list_get(&r->value_lens, i);
		if (i > 0)
			imap_resp_sp(s->out);
		imap_resp_astring(s->out, name, strlen(name), 0);
		imap_resp_sp(s->out);
		imap_meta_write_value(s, r->values.p + off, (size_t)len);
		off += len;
	}
	imap_resp_token(s->out, ")");
	imap_resp_crlf(s->out);
}

/* Whether the reply's lists agree (storaged is trusted, but checked). */
static bool
imap_meta_reply_ok(const struct ipc_METADATA_GET_rep *r)
{
	struct wire_iter it;
	uint64_t total = 0, len;
	uint32_t i;

	if (r->value_lens.count != r->names.count)
		return false;
	wire_strlist_iter(&r->names, &it);
	for (i = 0; i < r->names.count; i++) {
		len = wire_u64list_get(&r->value_lens, i);
		if (wire_strlist_next(&it) == NULL || len > r->values.len ||
		    (total += len) > r->values.len)
			return false;
	}
	return total == r->values.len;
}

static void
imap_getmeta_reply_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg)
{
	struct imap_session *s = arg;
	struct imap_meta_ctx *x = s->cmd_ctx;
	const struct ipc_METADATA_GET_rep *r = rep;
	char code[64];

	(void)c;
	s->req_id = 0;
	if (st == IPC_S_OK && !imap_meta_reply_ok(r))
		st = IPC_S_INTERNAL;
	if (st != IPC_S_OK)
		imap_meta_fail(s, st, text);
	else {
		imap_meta_write(s, x, r);
		/* RFC 5464 4.2.1: the longest value left out. */
		if (r->longest > 0) {
			snprintf(code, sizeof(code), "METADATA LONGENTRIES %llu",
			    (unsigned long long)r->longest);
			imap_session_reply(s, "OK", code,
			    "GETMETADATA completed");
		} else
			imap_session_reply(s, "OK", NULL,
			    "GETMETADATA completed");
	}
	imap_meta_done(s);
}

static void
imap_setmeta_reply_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg)
{
	struct imap_session *s = arg;

	(void)c;
	(void)rep;
	s->req_id = 0;
	if (st != IPC_S_OK)
		imap_meta_fail(s, st, text);
	else
		imap_session_reply(s, "OK", NULL, "SETMETADATA completed");
	imap_meta_done(s);
}

static ipc_reply_cb *
imap_meta_reply_fn(const struct imap_meta_ctx *x)
{
	return x->set ? imap_setmeta_reply_cb : imap_getmeta_reply_cb;
}

static void
imap_meta_lookup_cb(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg)
{
	struct imap_meta_ctx *x = arg;

	(void)l;
	if (st != IPC_S_OK || mb == NULL) {
		imap_auth_fail(s, st != IPC_S_OK ? st : IPC_S_NOTFOUND);
		imap_meta_done(s);
		return;
	}
	imap_meta_request(s, x, mb->id, imap_meta_reply_fn(x));
}

/* Resolves x->name (or takes the server) and sends the request. */
static enum imap_cmd_result
imap_meta_start(struct imap_session *s, struct imap_meta_ctx *x)
{
	if (x->name[0] == '\0')
		imap_meta_request(s, x, 0, imap_meta_reply_fn(x));
	else
		imap_mbox_lookup(s, &x->req, x->name, imap_meta_lookup_cb, x);
	return IMAP_CMD_WAIT;
}

/*
 * getmetadata-options = "(" getmetadata-option *(SP getmetadata-option) ")"
 * maxsize-opt = "MAXSIZE" SP number
 * scope-opt = "DEPTH" SP ("0" / "1" / "infinity")
 */
static int
imap_meta_parse_options(struct imap_parser *ps, struct imap_meta_ctx *x)
{
	struct imap_str opt, v;
	size_t n = 0;

	ps->p++;	/* "(" */
	do {
		if ((n++ > 0 && imap_parse_sp(ps) == -1) ||
		    imap_parse_atom(ps, &opt) == -1 || imap_parse_sp(ps) == -1)
			return -1;
		if (opt.len == 7 && strncasecmp(opt.p, "MAXSIZE", 7) == 0) {
			if (imap_parse_number(ps, &x->maxsize) == -1)
				return -1;
		} else if (opt.len == 5 && strncasecmp(opt.p, "DEPTH", 5) == 0) {
			if (imap_parse_atom(ps, &v) == -1)
				return -1;
			if (v.len == 1 && v.p[0] == '0')
				x->depth = 0;
			else if (v.len == 1 && v.p[0] == '1')
				x->depth = 1;
			else if (v.len == 8 &&
			    strncasecmp(v.p, "infinity", 8) == 0)
				x->depth = UINT32_MAX;
			else {
				ps->error = "DEPTH must be 0, 1 or infinity";
				return -1;
			}
		} else {
			ps->error = "Unknown GETMETADATA option";
			return -1;
		}
	} while (!imap_parse_peek(ps, ')'));
	ps->p++;
	return 0;
}

/*
 * Whether options follow rather than a list of entries: "(" and a letter
 * (an option name), where entries start with "/" or a string.
 */
static bool
imap_meta_at_options(const struct imap_parser *ps)
{
	uint8_t c;

	if (!imap_parse_peek(ps, '(') || ps->end - ps->p < 2)
		return false;
	c = ps->p[1] | 0x20;
	return c >= 'a' && c <= 'z';
}

/*
 * getmetadata = "GETMETADATA" [SP getmetadata-options] SP mailbox
 *     SP entries
 * entries = entry / "(" entry *(SP entry) ")"
 *
 * The ABNF puts the options before the mailbox, the examples of 4.2.1
 * and 4.2.2 after it; clients follow either, so both are taken (once).
 */
enum imap_cmd_result
imap_cmd_getmetadata(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_meta_ctx *x;
	const char *why;
	size_t n = 0;
	bool options;

	x = imap_meta_ctx_new(s, false);
	if (imap_parse_sp(ps) == -1)
		goto bad;
	/* A mailbox (astring) cannot start with "(": options come first. */
	options = imap_parse_peek(ps, '(');
	if (options && (imap_meta_parse_options(ps, x) == -1 ||
	    imap_parse_sp(ps) == -1))
		goto bad;
	if (imap_meta_parse_mailbox(s, ps, x, &why) == -1 ||
	    imap_parse_sp(ps) == -1)
		goto bad;
	/* The options after the mailbox, as RFC 5464's examples have them. */
	if (!options && imap_meta_at_options(ps)) {
		if (imap_meta_parse_options(ps, x) == -1 ||
		    imap_parse_sp(ps) == -1)
			goto bad;
	}
	if (imap_parse_peek(ps, '(')) {
		ps->p++;
		do {
			if ((n++ > 0 && imap_parse_sp(ps) == -1) ||
			    imap_meta_parse_entry(ps, x) == -1)
				goto bad;
		} while (!imap_parse_peek(ps, ')'));
		ps->p++;
	} else if (imap_meta_parse_entry(ps, x) == -1)
		goto bad;
	if (imap_parse_eol(ps) == -1)
		goto bad;
	if (x->name == NULL) {
		imap_session_reply(s, "NO", "CANNOT", why);
		imap_meta_ctx_free(x);
		s->cmd_ctx = NULL;
		s->cmd_ctx_free = NULL;
		return IMAP_CMD_DONE;
	}
	return imap_meta_start(s, x);
bad:
	imap_meta_ctx_free(x);
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	return imap_cmd_bad(s, ps);
}

/*
 * literal8 = "~{" number64 ["+"] "}" CRLF *OCTET (RFC 4466, RFC 7888):
 * the reader has framed it, so its octets are in the command; unlike a
 * literal it may hold NUL.
 */
static int
imap_meta_parse_literal8(struct imap_parser *ps, struct imap_str *v)
{
	const uint8_t *digits;
	uint64_t n = 0;

	ps->p += 2;	/* "~{" */
	digits = ps->p;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		if (n > (UINT64_MAX - 9) / 10)
			break;
		n = n * 10 + (uint64_t)(*ps->p++ - '0');
	}
	if (ps->p == digits || (ps->p < ps->end && *ps->p >= '0' &&
	    *ps->p <= '9')) {
		ps->error = "Invalid literal size";
		return -1;
	}
	if (imap_parse_peek(ps, '+'))
		ps->p++;
	if (!imap_parse_peek(ps, '}')) {
		ps->error = "Invalid literal size";
		return -1;
	}
	ps->p++;
	if (imap_parse_peek(ps, '\r'))
		ps->p++;
	if (!imap_parse_peek(ps, '\n')) {
		ps->error = "Expected end of line after literal size";
		return -1;
	}
	ps->p++;
	if ((uint64_t)(ps->end - ps->p) < n) {
		ps->error = "Truncated literal";
		return -1;
	}
	v->p = (const char *)ps->p;
	v->len = (size_t)n;
	v->literal = true;
	ps->p += n;
	return 0;
}

/* entry-value = entry SP value, value = nstring / literal8 */
static int
imap_meta_parse_value(struct imap_parser *ps, struct imap_meta_ctx *x,
    bool *toobig)
{
	struct imap_str v;

	if (imap_meta_parse_entry(ps, x) == -1 || imap_parse_sp(ps) == -1)
		return -1;
	if (imap_parse_peek(ps, '~') && ps->end - ps->p > 1 &&
	    ps->p[1] == '{') {
		if (imap_meta_parse_literal8(ps, &v) == -1)
			return -1;
	} else if (imap_parse_nstring(ps, &v) == -1)
		return -1;
	if (v.p != NULL && v.len > MAILMETA_VALUE_MAX)
		*toobig = true;
	else if (v.p != NULL)
		buf_append(&x->values, v.p, v.len);
	wire_u64list_add(&x->lens, v.p != NULL && !*toobig ? v.len : 0);
	wire_u64list_add(&x->nils, v.p == NULL);
	return 0;
}

/* setmetadata = "SETMETADATA" SP mailbox SP entry-values */
enum imap_cmd_result
imap_cmd_setmetadata(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_meta_ctx *x;
	const char *why;
	char code[48];
	size_t n = 0;
	bool toobig = false;

	x = imap_meta_ctx_new(s, true);
	if (imap_parse_sp(ps) == -1 ||
	    imap_meta_parse_mailbox(s, ps, x, &why) == -1 ||
	    imap_parse_sp(ps) == -1)
		goto bad;
	if (!imap_parse_peek(ps, '(')) {
		ps->error = "Expected \"(\" before entries and values";
		goto bad;
	}
	ps->p++;
	do {
		if ((n++ > 0 && imap_parse_sp(ps) == -1) ||
		    imap_meta_parse_value(ps, x, &toobig) == -1)
			goto bad;
	} while (!imap_parse_peek(ps, ')'));
	ps->p++;
	if (imap_parse_eol(ps) == -1)
		goto bad;
	if (x->name == NULL || toobig) {
		/* RFC 5464 4.3: the largest value the server takes. */
		snprintf(code, sizeof(code), "METADATA MAXSIZE %u",
		    MAILMETA_VALUE_MAX);
		if (x->name == NULL)
			imap_session_reply(s, "NO", "CANNOT", why);
		else
			imap_session_reply(s, "NO", code,
			    "Annotation too large");
		imap_meta_ctx_free(x);
		s->cmd_ctx = NULL;
		s->cmd_ctx_free = NULL;
		return IMAP_CMD_DONE;
	}
	return imap_meta_start(s, x);
bad:
	imap_meta_ctx_free(x);
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	return imap_cmd_bad(s, ps);
}
