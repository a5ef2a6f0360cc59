/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_write.c: the selected-state commands that change the mailbox or
 * end the selection (RFC 9051 6.4: CLOSE, UNSELECT, EXPUNGE, STORE with
 * CONDSTORE's UNCHANGEDSINCE (RFC 7162 3.1.3), COPY, MOVE (RFC 6851), UID
 * EXPUNGE, and CHECK of RFC 3501).  STORE, EXPUNGE and CLOSE go to
 * storaged in slices of SEL_SLICE UIDs, so that no request or reply
 * outgrows an IPC frame; COPY and MOVE stay one request each.
 */
#include "imap_cmd.h"
#include "imap_sel.h"
#include "imap_cmd_notify.h"
#include "compat.h"
#include "conn.h"
#include "imap_fetch.h"
#include "imap_view.h"
#include "imapd.h"
#include "mailflags.h"
#include "wire.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* UIDs one STORE or EXPUNGE request carries at most: a quarter frame. */
#define SEL_SLICE		65536
/*
 * UIDs one COPY or MOVE takes at most: it is one request (COPY must be
 * all or nothing, RFC 9051 6.4.7) whose reply lists two UIDs for each.
 */
#define SEL_COPY_MAX		100000
/* Keywords one STORE may name. */
#define SEL_MAX_KEYWORDS	32

/* --- CLOSE, UNSELECT, CHECK --- */

enum imap_cmd_result
imap_cmd_unselect(struct imap_session *s, struct imap_parser *ps)
{
	if (imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	sel_close_view(s, true);
	imap_session_reply(s, "OK", NULL, "UNSELECT completed");
	return IMAP_CMD_DONE;
}

static int	sel_close_send(struct imap_session *);

static void
sel_close_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	struct imap_session *s = arg;
	struct sel_ctx *x = s->cmd_ctx;

	(void)c;
	(void)rep;
	s->req_id = 0;
	if (st == IPC_S_OK) {
		x->at += x->sent;
		if (x->at < x->vec.len / 4 && sel_close_send(s) == 0)
			return;
	}
	sel_close_view(s, true);
	/* The mailbox is closed whatever the expunge did (RFC 9051 6.4.1). */
	if (st != IPC_S_OK)
		imap_session_log(s, "close: expunge failed: %s",
		    text != NULL ? text : ipc_status_name(st));
	imap_session_reply(s, "OK", NULL, "CLOSE completed");
	sel_ctx_done(s);
	imap_session_resume(s, IMAP_CMD_DONE);
}

/* The uid vector of every message in the view. */
static void
sel_all_uids(const struct imap_view *v, struct buf *vec)
{
	uint32_t i;

	for (i = 0; i < v->n; i++)
		imap_view_vec_put(vec, v->uids[i]);
}

/* The next slice of the command's UIDs: from at, SEL_SLICE at most. */
static struct wire_bytes
sel_slice(struct sel_ctx *x)
{
	size_t off = (size_t)x->at * 4, n = x->vec.len - off;
	struct wire_bytes b;

	if (n > (size_t)SEL_SLICE * 4)
		n = (size_t)SEL_SLICE * 4;
	b.p = x->vec.data + off;
	b.len = (uint32_t)n;
	x->sent = (uint32_t)(n / 4);
	return b;
}

enum imap_cmd_result
imap_cmd_close(struct imap_session *s, struct imap_parser *ps)
{
	struct sel_ctx *x;

	if (imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	if (s->view->readonly || s->view->n == 0 || imapd_store() == NULL) {
		sel_close_view(s, true);
		imap_session_reply(s, "OK", NULL, "CLOSE completed");
		return IMAP_CMD_DONE;
	}
	/* Expunges silently: no EXPUNGE responses (RFC 9051 6.4.1). */
	x = sel_ctx_new(s);
	sel_all_uids(s->view, &x->vec);
	(void)sel_close_send(s);
	return IMAP_CMD_WAIT;
}

/*
 * MSG_EXPUNGE of the command's next slice, answered to cb (CLOSE's or
 * EXPUNGE's); -1 when the store is gone.
 */
static int
sel_expunge_slice(struct imap_session *s, ipc_reply_cb *cb)
{
	struct sel_ctx *x = s->cmd_ctx;
	struct ipc_MSG_EXPUNGE_req req;
	struct ipc_chan *store;

	if ((store = imapd_store()) == NULL)
		return -1;
	req.mailbox_id = s->view->mailbox_id;
	req.uids = sel_slice(x);
	s->req_id = ipc_request(store, IPC_T_MSG_EXPUNGE, conn_id(s->conn),
	    &req, cb, s);
	return 0;
}

static int
sel_close_send(struct imap_session *s)
{
	return sel_expunge_slice(s, sel_close_cb);
}

enum imap_cmd_result
imap_cmd_check(struct imap_session *s, struct imap_parser *ps)
{
	if (imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	sel_reply_synced(s, "OK", NULL, "CHECK completed");
	return IMAP_CMD_WAIT;
}

/*
 * NOOP in the selected state catches up (RFC 9051 6.1.2): a poll asks the
 * store, not only after a notification, which storaged sends once the
 * change is committed (store/txn.h), up to 100 ms after a delivery's 250.
 */
bool
imap_selected_noop(struct imap_session *s)
{
	if (s->view == NULL)
		return false;
	s->view->changed = true;
	sel_reply_synced(s, "OK", NULL, "NOOP completed");
	return true;
}

/* --- EXPUNGE and UID EXPUNGE --- */

/* Writes EXPUNGE (or VANISHED) responses for UIDs gone from the view. */
static void
sel_write_expunged(struct imap_session *s, const uint8_t *vec, size_t len)
{
	struct ipc_MBOX_SYNC_rep r;

	memset(&r, 0, sizeof(r));
	r.vanished.p = vec;
	r.vanished.len = (uint32_t)len;
	r.highestmodseq = 0;
	r.uidnext = 0;
	imap_view_apply_sync(s, &r);
}

static int	sel_expunge_send(struct imap_session *);

static void
sel_expunge_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_EXPUNGE_rep *r = rep;
	struct imap_session *s = arg;
	struct sel_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		sel_fail(s, st, text);
		return;
	}
	sel_write_expunged(s, r->expunged.p, r->expunged.len);
	x->at += x->sent;
	if (x->at < x->vec.len / 4) {
		if (sel_expunge_send(s) == -1)
			sel_fail(s, IPC_S_UNAVAIL, "Store unavailable, try "
			    "again");
		return;
	}
	sel_reply_synced(s, "OK", NULL, x->uid ? "UID EXPUNGE completed" :
	    "EXPUNGE completed");
}

static int
sel_expunge_send(struct imap_session *s)
{
	return sel_expunge_slice(s, sel_expunge_cb);
}

static enum imap_cmd_result
sel_expunge(struct imap_session *s, struct imap_parser *ps, bool uid)
{
	struct imap_seqset set;
	struct sel_ctx *x;
	const char *why;
	uint32_t *uids, n, i;

	imap_seqset_init(&set);
	if ((uid && (imap_parse_sp(ps) == -1 ||
	    imap_seqset_parse(ps, &set) == -1)) || imap_parse_eol(ps) == -1) {
		imap_seqset_clear(&set);
		return imap_cmd_bad(s, ps);
	}
	if (s->view->readonly) {
		imap_seqset_clear(&set);
		imap_session_reply(s, "NO", "READ-ONLY", "Mailbox is "
		    "read-only");
		return IMAP_CMD_DONE;
	}
	if (imapd_store() == NULL) {
		imap_seqset_clear(&set);
		imap_session_reply(s, "NO", "UNAVAILABLE",
		    "Store unavailable, try again");
		return IMAP_CMD_DONE;
	}
	x = sel_ctx_new(s);
	x->uid = uid;
	if (uid) {
		if (imap_view_resolve_set(s->view, &set, true, &why) == -1) {
			sel_ctx_done(s);
			imap_session_reply(s, "BAD", NULL, why);
			return IMAP_CMD_DONE;
		}
		n = imap_fetch_targets(s->view, &set, true, &uids);
		for (i = 0; i < n; i++)
			imap_view_vec_put(&x->vec, uids[i]);
		free(uids);
	} else
		sel_all_uids(s->view, &x->vec);
	imap_seqset_clear(&set);
	if (x->vec.len == 0) {
		sel_reply_synced(s, "OK", NULL, uid ? "UID EXPUNGE completed" :
		    "EXPUNGE completed");
		return IMAP_CMD_WAIT;
	}
	(void)sel_expunge_send(s);	/* the store was just there */
	return IMAP_CMD_WAIT;
}

enum imap_cmd_result
imap_cmd_expunge(struct imap_session *s, struct imap_parser *ps)
{
	return sel_expunge(s, ps, false);
}

/* --- Sequence sets of a command --- */

/*
 * Parses SP sequence-set and resolves it against the view into x->vec (a
 * uid vector).  Returns 0, or -1 after answering BAD.
 */
static int
sel_parse_targets(struct imap_session *s, struct imap_parser *ps, bool uid,
    struct buf *vec)
{
	struct imap_seqset set;
	const char *why;
	uint32_t *uids, n, i;

	imap_seqset_init(&set);
	if (imap_parse_sp(ps) == -1 || imap_seqset_parse(ps, &set) == -1) {
		imap_seqset_clear(&set);
		(void)imap_cmd_bad(s, ps);
		return -1;
	}
	if (imap_view_resolve_set(s->view, &set, uid, &why) == -1) {
		imap_session_reply(s, "BAD", NULL, why);
		return -1;
	}
	n = imap_fetch_targets(s->view, &set, uid, &uids);
	for (i = 0; i < n; i++)
		imap_view_vec_put(vec, uids[i]);
	free(uids);
	imap_seqset_clear(&set);
	return 0;
}

/* --- STORE --- */
static void	sel_store_cb(struct ipc_chan *, enum ipc_status,
		    const char *, const void *, void *);

/*
 * Sends the STORE request for the UIDs of the command's vector from
 * store_at on; -1 (the command failed) when the store is gone.
 */
static int
sel_store_send(struct imap_session *s)
{
	struct sel_ctx *x = s->cmd_ctx;
	struct ipc_chan *store;

	if ((store = imapd_store()) == NULL) {
		sel_fail(s, IPC_S_UNAVAIL, "Store unavailable, try again");
		return -1;
	}
	x->store_req.uids = sel_slice(x);
	x->store_req.keywords = (const char *)x->store_kw.data;
	s->req_id = ipc_request(store, IPC_T_MSG_STORE, conn_id(s->conn),
	    &x->store_req, sel_store_cb, s);
	return 0;
}

static void
sel_store_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_STORE_rep *r = rep;
	struct imap_session *s = arg;
	struct sel_ctx *x = s->cmd_ctx;
	bool condstore = (s->enabled & (IMAP_ENABLED_CONDSTORE |
	    IMAP_ENABLED_QRESYNC)) != 0;
	struct wire_iter kit;
	struct imap_seqset *mod;
	struct buf code = BUF_INIT;
	const char *kw;
	uint32_t i, uid, msn;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		sel_fail(s, st, text);
		return;
	}
	imap_view_own_hms(s->view, r->highestmodseq);
	wire_strlist_iter(&r->keywords, &kit);
	for (i = 0; i < r->changed.len / 4; i++) {
		uid = imap_view_vec_get(r->changed.p, i);
		kw = wire_strlist_next(&kit);
		if (kw != NULL && imap_view_add_keywords(s->view, kw))
			imap_view_write_flag_lists(s, s->view);
		if ((msn = imap_view_msn(s->view, uid)) == 0 ||
		    i >= r->flags.count)
			continue;
		if (i < r->modseqs.count)
			imap_view_own_change(s->view, uid,
			    wire_u64list_get(&r->modseqs, i));
		/* .SILENT still reports the new MODSEQ (RFC 7162 3.1.3). */
		if (x->silent && !condstore)
			continue;
		buf_printf(s->out, "* %u FETCH (", msn);
		if (!x->silent) {
			buf_append(s->out, "FLAGS ", 6);
			imap_view_write_flags(s->out,
			    wire_u64list_get(&r->flags, i),
			    imap_view_is_recent(s, uid), kw);
		}
		/* With CONDSTORE on, every FETCH has UID (RFC 7162 3.2.4). */
		if (x->uid || condstore)
			buf_printf(s->out, "%sUID %u", x->silent ? "" : " ",
			    uid);
		if (condstore && i < r->modseqs.count)
			buf_printf(s->out, " MODSEQ (%llu)",
			    (unsigned long long)wire_u64list_get(&r->modseqs,
			    i));
		buf_append(s->out, ")\r\n", 3);
	}
	for (i = 0; i < r->modified.len / 4; i++) {
		uid = imap_view_vec_get(r->modified.p, i);
		if (x->uid)
			imap_seqset_add(&x->store_mod, uid, uid);
		else if ((msn = imap_view_msn(s->view, uid)) != 0)
			imap_seqset_add(&x->store_mod, msn, msn);
	}
	/* A reply covers what fits one frame: the rest next. */
	x->at += r->done;
	if (r->done > 0 && x->at < x->vec.len / 4) {
		buf_clear(&code);
		(void)sel_store_send(s);	/* a failure ends the command */
		return;
	}
	mod = &x->store_mod;
	if (mod->n > 0 && imap_seqset_resolve(mod, 1, &kw) == 0 &&
	    imap_seqset_count(mod) > 0) {
		buf_append(&code, "MODIFIED ", 9);
		imap_seqset_write(mod, &code);
		buf_append(&code, "", 1);
	}
	/* STORE is one of the commands that must not see EXPUNGE. */
	if (x->uid)
		sel_reply_synced(s, "OK", code.len > 0 ?
		    (const char *)code.data : NULL, "UID STORE completed");
	else {
		imap_view_write_held_modseq(s);
		imap_session_reply(s, "OK", code.len > 0 ?
		    (const char *)code.data : NULL, "STORE completed");
		sel_ctx_done(s);
		imap_session_resume(s, IMAP_CMD_DONE);
	}
	buf_clear(&code);
}

/*
 * flag-list = "(" [flag *(SP flag)] ")", or flags without parentheses
 * (RFC 3501 store-att-flags); into system bits and a keyword string.
 */
int
imap_parse_flag_list(struct imap_parser *ps, uint64_t *flags, struct buf *kw)
{
	static const struct {
		const char	*name;
		uint64_t	 bit;
	} sys[] = {
		{ "\\Seen", MAIL_F_SEEN }, { "\\Answered", MAIL_F_ANSWERED },
		{ "\\Flagged", MAIL_F_FLAGGED }, { "\\Deleted", MAIL_F_DELETED },
		{ "\\Draft", MAIL_F_DRAFT },
	};
	bool paren = imap_parse_peek(ps, '(');
	struct imap_str a;
	size_t i, nkw = 0;

	if (paren) {
		ps->p++;
		if (imap_parse_peek(ps, ')')) {
			ps->p++;
			return 0;
		}
	}
	for (;;) {
		if (imap_parse_peek(ps, '\\')) {
			ps->p++;
			if (imap_parse_atom(ps, &a) == -1)
				return -1;
			for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
				if (strlen(sys[i].name) == a.len + 1 &&
				    strncasecmp(sys[i].name + 1, a.p,
				    a.len) == 0)
					break;
			if (i == sizeof(sys) / sizeof(sys[0])) {
				ps->error = "Unknown system flag";
				return -1;
			}
			*flags |= sys[i].bit;
		} else {
			if (imap_parse_atom(ps, &a) == -1)
				return -1;
			for (i = 0; i < a.len; i++)
				if (a.p[i] == ']' || (unsigned char)a.p[i] >
				    126) {
					ps->error = "Invalid keyword";
					return -1;
				}
			if (a.len > 255 || ++nkw > SEL_MAX_KEYWORDS) {
				ps->error = "Keyword too long or too many";
				return -1;
			}
			if (kw->len > 0)
				buf_append(kw, " ", 1);
			buf_append(kw, a.p, a.len);
		}
		if (paren && imap_parse_peek(ps, ')')) {
			ps->p++;
			return 0;
		}
		if (!imap_parse_peek(ps, ' '))
			break;
		ps->p++;
	}
	if (paren) {
		ps->error = "Expected ')' after the flags";
		return -1;
	}
	return 0;
}

static enum imap_cmd_result
sel_store(struct imap_session *s, struct imap_parser *ps, bool uid)
{
	struct ipc_MSG_STORE_req req;
	struct buf kw = BUF_INIT;
	struct sel_ctx *x;
	struct imap_str a;
	char item[32];
	uint64_t flags = 0, unchanged = 0;
	size_t n;

	x = sel_ctx_new(s);
	x->uid = uid;
	if (sel_parse_targets(s, ps, uid, &x->vec) == -1) {
		sel_ctx_done(s);
		return IMAP_CMD_DONE;
	}
	memset(&req, 0, sizeof(req));
	if (imap_parse_sp(ps) == -1)
		goto bad;
	/* store-modifiers: (UNCHANGEDSINCE n) */
	if (imap_parse_peek(ps, '(')) {
		ps->p++;
		if (imap_parse_atom(ps, &a) == -1 || a.len != 14 ||
		    strncasecmp(a.p, "UNCHANGEDSINCE", 14) != 0) {
			ps->error = "Unknown STORE modifier";
			goto bad;
		}
		if (imap_parse_sp(ps) == -1 ||
		    sel_parse_modseq(ps, &unchanged) == -1 ||
		    !imap_parse_peek(ps, ')'))
			goto bad;
		ps->p++;
		if (imap_parse_sp(ps) == -1)
			goto bad;
		imap_view_condstore_enable(s);
	}
	/* ["+" / "-"] "FLAGS" [".SILENT"] */
	req.mode = 0;
	if (imap_parse_peek(ps, '+') || imap_parse_peek(ps, '-'))
		req.mode = *ps->p++ == '+' ? 1 : 2;
	for (n = 0; ps->p < ps->end && (isalpha(*ps->p) || *ps->p == '.') &&
	    n + 1 < sizeof(item); n++)
		item[n] = (char)toupper(*ps->p++);
	item[n] = '\0';
	if (strcmp(item, "FLAGS.SILENT") == 0)
		x->silent = true;
	else if (strcmp(item, "FLAGS") != 0) {
		ps->error = "Expected FLAGS, +FLAGS or -FLAGS";
		goto bad;
	}
	if (imap_parse_sp(ps) == -1 || imap_parse_flag_list(ps, &flags, &kw) == -1 ||
	    imap_parse_eol(ps) == -1)
		goto bad;
	if (s->view->readonly) {
		buf_clear(&kw);
		sel_ctx_done(s);
		imap_session_reply(s, "NO", "READ-ONLY", "Mailbox is "
		    "read-only");
		return IMAP_CMD_DONE;
	}
	if (x->vec.len == 0) {
		buf_clear(&kw);
		sel_reply_synced(s, "OK", NULL, "STORE completed");
		return IMAP_CMD_WAIT;
	}
	buf_append(&kw, "", 1);
	req.mailbox_id = s->view->mailbox_id;
	req.flags = flags;
	req.unchangedsince = unchanged;
	x->store_req = req;
	x->store_kw = kw;	/* the command's own now */
	x->at = 0;
	(void)sel_store_send(s);	/* a failure ends the command */
	return IMAP_CMD_WAIT;
bad:
	buf_clear(&kw);
	sel_ctx_done(s);
	return imap_cmd_bad(s, ps);
}

/* --- COPY and MOVE --- */

static void
sel_copy_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_COPY_rep *r = rep;
	struct imap_session *s = arg;
	struct sel_ctx *x = s->cmd_ctx;
	struct imap_seqset src, dst;
	struct buf code = BUF_INIT;
	const char *why;
	uint32_t i, n;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		sel_fail(s, st, text);
		return;
	}
	n = r->src_uids.len / 4;
	/* Into the selected mailbox itself: no MessageNew FETCH for them. */
	if (s->view != NULL && s->view->mailbox_id == x->mailbox_id)
		imap_notify_own_new(s, r->dst_uids.p, r->dst_uids.len / 4);
	if (n > 0 && r->dst_uids.len / 4 == n) {
		imap_seqset_init(&src);
		imap_seqset_init(&dst);
		for (i = 0; i < n; i++) {
			imap_seqset_add(&src, imap_view_vec_get(r->src_uids.p,
			    i), imap_view_vec_get(r->src_uids.p, i));
			imap_seqset_add(&dst, imap_view_vec_get(r->dst_uids.p,
			    i), imap_view_vec_get(r->dst_uids.p, i));
		}
		/* UIDs in order: both sets resolve the same way. */
		if (imap_seqset_resolve(&src, 1, &why) == 0 &&
		    imap_seqset_resolve(&dst, 1, &why) == 0) {
			buf_printf(&code, "COPYUID %u ", r->uidvalidity);
			imap_seqset_write(&src, &code);
			buf_append(&code, " ", 1);
			imap_seqset_write(&dst, &code);
			buf_append(&code, "", 1);
		}
		imap_seqset_clear(&src);
		imap_seqset_clear(&dst);
	}
	if (!x->move) {
		sel_reply_synced(s, "OK", code.len > 0 ?
		    (const char *)code.data : NULL, x->uid ?
		    "UID COPY completed" : "COPY completed");
		buf_clear(&code);
		return;
	}
	/* MOVE: COPYUID untagged, then the expunges (RFC 6851 4.3). */
	if (code.len > 0)
		buf_printf(s->out, "* OK [%s] Moved\r\n",
		    (const char *)code.data);
	buf_clear(&code);
	sel_write_expunged(s, r->src_uids.p, r->src_uids.len);
	sel_reply_synced(s, "OK", NULL, x->uid ? "UID MOVE completed" :
	    "MOVE completed");
}

static void
sel_copy_found(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg)
{
	struct sel_ctx *x = arg;
	struct ipc_MSG_COPY_req req;
	struct ipc_chan *store;

	(void)l;
	if (st != IPC_S_OK) {
		sel_fail(s, st, NULL);
		return;
	}
	if (mb == NULL) {
		imap_session_reply(s, "NO", "TRYCREATE", "No such mailbox");
		sel_ctx_done(s);
		imap_session_resume(s, IMAP_CMD_DONE);
		return;
	}
	if (x->vec.len == 0) {
		sel_reply_synced(s, "OK", NULL, x->move ? "MOVE completed" :
		    "COPY completed");
		return;
	}
	if ((store = imapd_store()) == NULL) {
		sel_fail(s, IPC_S_UNAVAIL, "Store unavailable, try again");
		return;
	}
	req.mailbox_id = s->view->mailbox_id;
	req.uids.p = x->vec.data;
	req.uids.len = (uint32_t)x->vec.len;
	req.to_mailbox = mb->id;
	req.move = x->move;
	x->mailbox_id = mb->id;
	s->req_id = ipc_request(store, IPC_T_MSG_COPY, conn_id(s->conn), &req,
	    sel_copy_cb, s);
}

static enum imap_cmd_result
sel_copy(struct imap_session *s, struct imap_parser *ps, bool uid,
    bool move)
{
	struct imap_str name;
	struct sel_ctx *x;
	const char *why;

	x = sel_ctx_new(s);
	x->uid = uid;
	x->move = move;
	if (sel_parse_targets(s, ps, uid, &x->vec) == -1) {
		sel_ctx_done(s);
		return IMAP_CMD_DONE;
	}
	if (imap_parse_sp(ps) == -1 || imap_parse_astring(ps, &name) == -1 ||
	    imap_parse_eol(ps) == -1) {
		sel_ctx_done(s);
		return imap_cmd_bad(s, ps);
	}
	if (move && s->view->readonly) {
		sel_ctx_done(s);
		imap_session_reply(s, "NO", "READ-ONLY", "Mailbox is "
		    "read-only");
		return IMAP_CMD_DONE;
	}
	if (x->vec.len / 4 > SEL_COPY_MAX) {
		sel_ctx_done(s);
		imap_session_reply(s, "NO", "LIMIT", move ? "Too many "
		    "messages for one MOVE (100000 at most)" : "Too many "
		    "messages for one COPY (100000 at most)");
		return IMAP_CMD_DONE;
	}
	if ((x->cname = imap_mbox_name_decode(s, name.p, name.len, false,
	    &why)) == NULL) {
		sel_ctx_done(s);
		imap_session_reply(s, "NO", "CANNOT", why);
		return IMAP_CMD_DONE;
	}
	(void)imap_mbox_lookup(s, &x->mreq, x->cname, sel_copy_found, x);
	return IMAP_CMD_WAIT;
}

enum imap_cmd_result
imap_cmd_store(struct imap_session *s, struct imap_parser *ps)
{
	return sel_store(s, ps, false);
}

enum imap_cmd_result
imap_cmd_copy(struct imap_session *s, struct imap_parser *ps)
{
	return sel_copy(s, ps, false, false);
}

enum imap_cmd_result
imap_cmd_move(struct imap_session *s, struct imap_parser *ps)
{
	return sel_copy(s, ps, false, true);
}

enum imap_cmd_result
imap_cmd_fetch(struct imap_session *s, struct imap_parser *ps)
{
	return imap_fetch(s, ps, false);
}

/* uid = "UID" SP (copy / move / fetch / search / store / uid-expunge) */
enum imap_cmd_result
imap_cmd_uid(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_str a;

	if (imap_parse_sp(ps) == -1 || imap_parse_atom(ps, &a) == -1)
		return imap_cmd_bad(s, ps);
#define IS(w)	(a.len == strlen(w) && strncasecmp(a.p, w, a.len) == 0)
	if (IS("FETCH"))
		return imap_fetch(s, ps, true);
	if (IS("STORE"))
		return sel_store(s, ps, true);
	if (IS("COPY"))
		return sel_copy(s, ps, true, false);
	if (IS("MOVE"))
		return sel_copy(s, ps, true, true);
	if (IS("EXPUNGE"))
		return sel_expunge(s, ps, true);
	if (IS("SEARCH"))
		return imap_cmd_uid_search(s, ps);
	if (IS("SORT"))
		return imap_cmd_uid_sort(s, ps);
	if (IS("THREAD"))
		return imap_cmd_uid_thread(s, ps);
#undef IS
	imap_session_reply(s, "BAD", NULL, "Unknown UID command");
	return IMAP_CMD_DONE;
}
