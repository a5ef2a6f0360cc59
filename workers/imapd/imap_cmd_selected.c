/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_selected.c: selecting a mailbox (RFC 9051 6.3.2 SELECT, 6.3.3
 * EXAMINE, with CONDSTORE and QRESYNC parameters of RFC 7162) and the
 * commands of the selected state (RFC 9051 6.4: CLOSE, UNSELECT, EXPUNGE,
 * STORE, COPY, MOVE (RFC 6851), UID, and CHECK of RFC 3501), plus IDLE
 * (RFC 2177, RFC 9051 6.3.13), which waits for changes of the view.
 *
 * Each command asks storaged and answers from its reply; before the
 * tagged response of a command that may report expunges, the view catches
 * up (imap_view_sync).  FETCH lives in imap_fetch.c.
 */
#include "imap_cmd.h"
#include "imap_cmd_notify.h"
#include "compat.h"
#include "conn.h"
#include "imap_fetch.h"
#include "imap_mbox.h"
#include "imap_resp.h"
#include "imap_seqset.h"
#include "imap_session.h"
#include "imap_view.h"
#include "imapd.h"
#include "ipc.h"
#include "mailflags.h"
#include "objid.h"
#include "wire.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* UIDs asked per MBOX_SELECT / MSG_UIDS reply (4 bytes each). */
#define SEL_UID_LIMIT		200000
/* UIDs one STORE or EXPUNGE request carries at most: a quarter frame. */
#define SEL_SLICE		65536
/*
 * UIDs one COPY or MOVE takes at most: it is one request (COPY must be
 * all or nothing, RFC 9051 6.4.7) whose reply lists two UIDs for each.
 */
#define SEL_COPY_MAX		100000
/* Keywords one STORE may name. */
#define SEL_MAX_KEYWORDS	32

/* The state of one waiting selected-state command. */
struct sel_ctx {
	struct imap_session	*s;
	struct imap_mbox_req	 mreq;
	char			*cname;		/* a mailbox argument */
	bool			 readonly;	/* EXAMINE */
	bool			 uid;		/* UID command */
	bool			 move;
	bool			 silent;	/* STORE .SILENT */
	bool			 condstore;	/* SELECT (CONDSTORE) */
	bool			 qresync;	/* SELECT (QRESYNC ...) */
	uint32_t		 q_uidvalidity;
	uint64_t		 q_modseq;
	struct imap_seqset	 q_known;	/* known-uids, may be empty */
	uint32_t		 mailbox_id;
	uint32_t		 unseen;	/* SELECT: first unseen UID */
	struct buf		 vec;		/* uid vector of the request */
	/*
	 * STORE, EXPUNGE and CLOSE send vec in slices (sel_slice) from at
	 * on; a STORE reply may cover less (its done).  STORE's request,
	 * sent again for each, and MODIFIED gathered so far.
	 */
	uint32_t		 at;
	uint32_t		 sent;		/* UIDs of the slice */
	struct ipc_MSG_STORE_req store_req;
	struct buf		 store_kw;
	struct imap_seqset	 store_mod;
	/* The tagged response, written once the view caught up. */
	const char		*cond;
	char			*code;
	char			*text;
};

static void
sel_ctx_free(void *arg)
{
	struct sel_ctx *x = arg;

	if (x == NULL)
		return;
	free(x->cname);
	free(x->code);
	free(x->text);
	imap_seqset_clear(&x->q_known);
	imap_seqset_clear(&x->store_mod);
	buf_clear(&x->vec);
	buf_clear(&x->store_kw);
	free(x);
}

static struct sel_ctx *
sel_ctx_new(struct imap_session *s)
{
	struct sel_ctx *x = xcalloc(1, sizeof(*x));

	x->s = s;
	imap_seqset_init(&x->q_known);
	imap_seqset_init(&x->store_mod);
	s->cmd_ctx = x;
	s->cmd_ctx_free = sel_ctx_free;
	return x;
}

static void
sel_ctx_done(struct imap_session *s)
{
	struct sel_ctx *x = s->cmd_ctx;

	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	sel_ctx_free(x);
}

/* Writes the tagged response kept in the command's state; ends it. */
static void
sel_finish(struct imap_session *s)
{
	struct sel_ctx *x = s->cmd_ctx;

	imap_session_reply(s, x->cond, x->code, x->text);
	sel_ctx_done(s);
	imap_session_resume(s, IMAP_CMD_DONE);
}

/* Catches the view up, then answers cond [code] text. */
static void
sel_reply_synced(struct imap_session *s, const char *cond, const char *code,
    const char *text)
{
	struct sel_ctx *x = s->cmd_ctx;

	if (x == NULL)
		x = sel_ctx_new(s);
	x->cond = cond;
	free(x->code);
	free(x->text);
	x->code = code != NULL ? xstrdup(code) : NULL;
	x->text = xstrdup(text);
	(void)imap_view_sync(s, false, sel_finish);
}

/* The NO response code for a store status. */
static const char *
sel_status_code(enum ipc_status st)
{
	switch (st) {
	case IPC_S_NOTFOUND:
		return "NONEXISTENT";
	case IPC_S_EXISTS:
		return "ALREADYEXISTS";
	case IPC_S_DENIED:
		return "NOPERM";
	case IPC_S_UNAVAIL:
		return "UNAVAILABLE";
	case IPC_S_QUOTA:
		return "OVERQUOTA";
	case IPC_S_TOOBIG:
		return "TOOBIG";
	case IPC_S_LIMIT:
		return "LIMIT";
	case IPC_S_INTERNAL:
		return "SERVERBUG";
	default:
		return "CANNOT";
	}
}

/* Answers NO for a failed store request and ends the command. */
static void
sel_fail(struct imap_session *s, enum ipc_status st, const char *text)
{
	imap_session_reply(s, "NO", sel_status_code(st),
	    text != NULL && text[0] != '\0' ? text : ipc_status_name(st));
	sel_ctx_done(s);
	imap_session_resume(s, IMAP_CMD_DONE);
}

static void
sel_close_view(struct imap_session *s, bool tell_store)
{
	struct ipc_chan *store = imapd_store();

	if (s->view == NULL)
		return;
	if (store != NULL) {
		ipc_cancel(store, s->view->sync_id);
		if (tell_store)
			ipc_send(store, IPC_T_MBOX_CLOSE, conn_id(s->conn),
			    NULL, -1);
	}
	imap_view_free(&s->view);
	s->state = IMAP_STATE_AUTH;
}

/* --- SELECT and EXAMINE --- */

static void	sel_select_uids(struct imap_session *);

/* Adds to set the UIDs first to last that are in filter (NULL: all). */
static void
qresync_add_range(struct imap_seqset *set, uint32_t first, uint32_t last,
    const struct imap_seqset *filter)
{
	uint32_t a, b, uid;
	size_t i;

	if (filter == NULL) {
		imap_seqset_add(set, first, last);
		return;
	}
	if (!filter->normalized) {
		for (uid = first; uid >= first && uid <= last; uid++)
			if (imap_seqset_contains(filter, uid, 0))
				imap_seqset_add(set, uid, uid);
		return;
	}
	for (i = 0; i < filter->n; i++) {
		a = filter->r[i].first > first ? filter->r[i].first : first;
		b = filter->r[i].last < last ? filter->r[i].last : last;
		if (a <= b)
			imap_seqset_add(set, a, b);
	}
}

/*
 * Writes "* VANISHED (EARLIER) set" for the UIDs of r's vanished vector,
 * or of its absent ranges (the expunge history after the modseq asked
 * about was pruned), that are in filter (NULL: all), as RFC 7162 3.2.5.1
 * and 3.2.6 answer.
 */
void
imap_qresync_vanished(struct imap_session *s,
    const struct ipc_MBOX_SYNC_rep *r, const struct imap_seqset *filter)
{
	struct imap_seqset set;
	const char *why;
	size_t i;
	uint32_t uid;

	imap_seqset_init(&set);
	for (i = 0; i < r->vanished.len / 4; i++) {
		uid = imap_view_vec_get(r->vanished.p, i);
		if (filter == NULL || imap_seqset_contains(filter, uid, 0))
			imap_seqset_add(&set, uid, uid);
	}
	for (i = 0; i + 1 < r->absent.len / 4; i += 2)
		qresync_add_range(&set, imap_view_vec_get(r->absent.p, i),
		    imap_view_vec_get(r->absent.p, i + 1), filter);
	if (imap_seqset_resolve(&set, 1, &why) == 0 &&
	    imap_seqset_count(&set) > 0) {
		buf_append(s->out, "* VANISHED (EARLIER) ", 21);
		imap_seqset_write(&set, s->out);
		buf_append(s->out, "\r\n", 2);
	}
	imap_seqset_clear(&set);
}

static int	sel_qresync_send(struct imap_session *, uint32_t);

static void
sel_qresync_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MBOX_SYNC_rep *r = rep;
	struct imap_session *s = arg;
	struct sel_ctx *x = s->cmd_ctx;
	struct imap_view *v = s->view;
	struct wire_iter kit;
	const char *kw, *why;
	uint32_t i, uid, msn;

	(void)c;
	s->req_id = 0;
	if (st == IPC_S_OK) {
		/* The known UIDs as the client gave them, or all of them. */
		if (x->q_known.n > 0 && imap_seqset_resolve(&x->q_known,
		    v->uidnext, &why) == -1)
			imap_seqset_clear(&x->q_known);
		imap_qresync_vanished(s, r, x->q_known.n > 0 ? &x->q_known :
		    NULL);
		wire_strlist_iter(&r->keywords, &kit);
		for (i = 0; i < r->changed.len / 4; i++) {
			uid = imap_view_vec_get(r->changed.p, i);
			kw = wire_strlist_next(&kit);
			if ((msn = imap_view_msn(v, uid)) == 0 ||
			    i >= r->flags.count || i >= r->modseqs.count)
				continue;
			buf_printf(s->out, "* %u FETCH (UID %u FLAGS ", msn,
			    uid);
			imap_view_write_flags(s->out,
			    wire_u64list_get(&r->flags, i),
			    imap_view_is_recent(s, uid), kw);
			buf_printf(s->out, " MODSEQ (%llu))\r\n",
			    (unsigned long long)wire_u64list_get(&r->modseqs,
			    i));
		}
		/* A page: the next one before the tagged response. */
		if (r->next != 0) {
			if (sel_qresync_send(s, r->next) == -1) {
				sel_close_view(s, false);
				sel_fail(s, IPC_S_UNAVAIL,
				    "Store unavailable, try again");
			}
			return;
		}
	} else
		imap_session_log(s, "qresync: %s", text != NULL ? text :
		    ipc_status_name(st));
	imap_session_reply(s, "OK", v->readonly ? "READ-ONLY" : "READ-WRITE",
	    v->readonly ? "EXAMINE completed" : "SELECT completed");
	sel_ctx_done(s);
	imap_session_resume(s, IMAP_CMD_DONE);
}

/*
 * Asks for the page of the UIDs above after of what the client missed;
 * -1 when the store is gone.
 */
static int
sel_qresync_send(struct imap_session *s, uint32_t after)
{
	struct sel_ctx *x = s->cmd_ctx;
	struct ipc_MBOX_SYNC_req req;
	struct ipc_chan *store;

	if ((store = imapd_store()) == NULL)
		return -1;
	req.mailbox_id = s->view->mailbox_id;
	req.since = x->q_modseq;
	req.after = after;
	s->req_id = ipc_request(store, IPC_T_MBOX_SYNC, conn_id(s->conn), &req,
	    sel_qresync_cb, s);
	return 0;
}

/* SELECT (QRESYNC ...): what the client missed (RFC 7162 3.2.5.1). */
static void
sel_qresync(struct imap_session *s)
{
	if (sel_qresync_send(s, 0) == -1) {
		sel_close_view(s, false);
		sel_fail(s, IPC_S_UNAVAIL, "Store unavailable, try again");
	}
}

static void
sel_select_done(struct imap_session *s)
{
	struct sel_ctx *x = s->cmd_ctx;
	struct imap_view *v = s->view;
	bool rev2 = (s->enabled & IMAP_ENABLED_REV2) != 0;
	char id[OBJID_MAX];
	uint32_t msn;

	imap_notify_view_new(s);
	buf_printf(s->out, "* %u EXISTS\r\n", v->n);
	if (!rev2)
		buf_printf(s->out, "* %u RECENT\r\n",
		    imap_view_recent_count(v));
	imap_view_write_flag_lists(s, v);
	/*
	 * RFC 3501 6.3.1: the sequence number of the first message without
	 * \Seen, if there is one.  RFC 9051 deprecated it (Appendix E, 11)
	 * and its resp-text-code has no UNSEEN: IMAP4rev2 gets none.
	 * storaged found the UID while it read the flags for SELECT; one
	 * expunged since is not in the view, and nothing is said.
	 */
	if (!rev2 && x->unseen != 0 && (msn = imap_view_msn(v,
	    x->unseen)) != 0)
		buf_printf(s->out, "* OK [UNSEEN %u] First unseen\r\n", msn);
	buf_printf(s->out, "* OK [UIDVALIDITY %u] UIDs valid\r\n",
	    v->uidvalidity);
	buf_printf(s->out, "* OK [UIDNEXT %u] Predicted next UID\r\n",
	    v->uidnext);
	buf_printf(s->out, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
	    (unsigned long long)v->highestmodseq);
	objid_format(id, OBJID_MAILBOX, v->mailbox_id);
	buf_printf(s->out, "* OK [MAILBOXID (%s)] Ok\r\n", id);
	if (rev2) {
		buf_append(s->out, "* LIST () \"/\" ", 14);
		imap_mbox_name_write(s, s->out, x->cname);
		buf_append(s->out, "\r\n", 2);
	}
	if (x->qresync && x->q_uidvalidity == v->uidvalidity &&
	    x->q_modseq < v->highestmodseq) {
		sel_qresync(s);
		return;
	}
	imap_session_reply(s, "OK", v->readonly ? "READ-ONLY" : "READ-WRITE",
	    v->readonly ? "EXAMINE completed" : "SELECT completed");
	sel_ctx_done(s);
	imap_session_resume(s, IMAP_CMD_DONE);
}

static void
sel_uids_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_UIDS_rep *r = rep;
	struct imap_session *s = arg;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		sel_close_view(s, true);
		sel_fail(s, st, text);
		return;
	}
	imap_view_append(s->view, r->uids.p, r->uids.len);
	if (r->more && r->uids.len > 0)
		sel_select_uids(s);
	else
		(void)imap_view_learn_recent(s, false, sel_select_done);
}

/* Reads the UIDs MBOX_SELECT's reply did not hold. */
static void
sel_select_uids(struct imap_session *s)
{
	struct ipc_MSG_UIDS_req req;
	struct ipc_chan *store;

	if ((store = imapd_store()) == NULL) {
		sel_close_view(s, false);
		sel_fail(s, IPC_S_UNAVAIL, "Store unavailable, try again");
		return;
	}
	req.mailbox_id = s->view->mailbox_id;
	req.after_uid = imap_view_last_uid(s->view);
	req.limit = SEL_UID_LIMIT;
	s->req_id = ipc_request(store, IPC_T_MSG_UIDS, conn_id(s->conn), &req,
	    sel_uids_cb, s);
}

static void
sel_select_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MBOX_SELECT_rep *r = rep;
	struct imap_session *s = arg;
	struct sel_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		sel_fail(s, st, text);
		return;
	}
	s->view = imap_view_new(x->mailbox_id, x->readonly, r);
	s->state = IMAP_STATE_SELECTED;
	x->unseen = r->unseen;
	if (s->view->n < r->exists)
		sel_select_uids(s);
	else
		(void)imap_view_learn_recent(s, false, sel_select_done);
}

static void
sel_select_found(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg)
{
	struct sel_ctx *x = arg;
	struct ipc_MBOX_SELECT_req req;
	struct ipc_chan *store;

	(void)l;
	if (st != IPC_S_OK) {
		sel_fail(s, st, NULL);
		return;
	}
	if (mb == NULL) {
		imap_session_reply(s, "NO", "NONEXISTENT", "No such mailbox");
		sel_ctx_done(s);
		imap_session_resume(s, IMAP_CMD_DONE);
		return;
	}
	if ((store = imapd_store()) == NULL) {
		sel_fail(s, IPC_S_UNAVAIL, "Store unavailable, try again");
		return;
	}
	x->mailbox_id = mb->id;
	req.mailbox_id = mb->id;
	req.limit = SEL_UID_LIMIT;
	s->req_id = ipc_request(store, IPC_T_MBOX_SELECT, conn_id(s->conn),
	    &req, sel_select_cb, s);
}

/* mod-sequence-value = 1*DIGIT, up to 2^63 - 1 (RFC 7162 7) */
static int
sel_parse_modseq(struct imap_parser *ps, uint64_t *v)
{
	uint64_t n = 0;
	const uint8_t *start = ps->p;

	while (ps->p < ps->end && isdigit(*ps->p)) {
		if (n > (UINT64_MAX >> 1) / 10)
			break;
		n = n * 10 + (uint64_t)(*ps->p++ - '0');
	}
	if (ps->p == start || (ps->p < ps->end && isdigit(*ps->p))) {
		ps->error = "Invalid mod-sequence";
		return -1;
	}
	*v = n;
	return 0;
}

/*
 * select-params = SP "(" select-param *(SP select-param) ")"; CONDSTORE
 * and QRESYNC (uidvalidity mod-sequence [SP known-uids] [SP seq-match]).
 */
static int
sel_parse_params(struct imap_session *s, struct imap_parser *ps,
    struct sel_ctx *x)
{
	struct imap_str a;
	struct imap_seqset skip;
	uint32_t n;

	if (imap_parse_sp(ps) == -1 || !imap_parse_peek(ps, '(')) {
		ps->error = "Expected select parameters";
		return -1;
	}
	ps->p++;
	for (;;) {
		if (imap_parse_atom(ps, &a) == -1)
			return -1;
		if (a.len == 9 && strncasecmp(a.p, "CONDSTORE", 9) == 0)
			x->condstore = true;
		else if (a.len == 7 && strncasecmp(a.p, "QRESYNC", 7) == 0) {
			if ((s->enabled & IMAP_ENABLED_QRESYNC) == 0) {
				ps->error = "QRESYNC is not enabled";
				return -1;
			}
			if (imap_parse_sp(ps) == -1 || !imap_parse_peek(ps,
			    '(')) {
				ps->error = "Expected QRESYNC parameters";
				return -1;
			}
			ps->p++;
			if (imap_parse_number(ps, &n) == -1 || n == 0 ||
			    imap_parse_sp(ps) == -1 ||
			    sel_parse_modseq(ps, &x->q_modseq) == -1)
				return -1;
			x->q_uidvalidity = n;
			if (imap_parse_peek(ps, ' ')) {
				ps->p++;
				if (!imap_parse_peek(ps, '(') &&
				    imap_seqset_parse(ps, &x->q_known) == -1)
					return -1;
				if (imap_parse_peek(ps, ' '))
					ps->p++;
				/* seq-match: accepted, not needed here. */
				if (imap_parse_peek(ps, '(')) {
					imap_seqset_init(&skip);
					ps->p++;
					if (imap_seqset_parse(ps, &skip) == -1 ||
					    imap_parse_sp(ps) == -1) {
						imap_seqset_clear(&skip);
						return -1;
					}
					imap_seqset_clear(&skip);
					imap_seqset_init(&skip);
					if (imap_seqset_parse(ps, &skip) == -1 ||
					    !imap_parse_peek(ps, ')')) {
						imap_seqset_clear(&skip);
						ps->error = "Invalid seq-match";
						return -1;
					}
					imap_seqset_clear(&skip);
					ps->p++;
				}
			}
			if (!imap_parse_peek(ps, ')')) {
				ps->error = "Expected ')'";
				return -1;
			}
			ps->p++;
			x->qresync = true;
		} else {
			ps->error = "Unknown select parameter";
			return -1;
		}
		if (imap_parse_peek(ps, ')')) {
			ps->p++;
			return 0;
		}
		if (imap_parse_sp(ps) == -1)
			return -1;
	}
}

static enum imap_cmd_result
sel_select(struct imap_session *s, struct imap_parser *ps, bool readonly)
{
	struct imap_str name;
	struct sel_ctx *x;
	const char *why;

	x = sel_ctx_new(s);
	x->readonly = readonly;
	if (imap_parse_sp(ps) == -1 || imap_parse_astring(ps, &name) == -1 ||
	    (imap_parse_peek(ps, ' ') && sel_parse_params(s, ps, x) == -1) ||
	    imap_parse_eol(ps) == -1) {
		sel_ctx_done(s);
		return imap_cmd_bad(s, ps);
	}
	if ((x->cname = imap_mbox_name_decode(s, name.p, name.len, false,
	    &why)) == NULL) {
		sel_ctx_done(s);
		if (s->view != NULL) {
			sel_close_view(s, true);
			buf_printf(s->out, "* OK [CLOSED] Previous mailbox "
			    "closed\r\n");
		}
		imap_session_reply(s, "NO", "CANNOT", why);
		return IMAP_CMD_DONE;
	}
	if (x->condstore)
		s->enabled |= IMAP_ENABLED_CONDSTORE;
	/* The selected mailbox is closed first (RFC 9051 6.3.2). */
	if (s->view != NULL) {
		sel_close_view(s, false);
		buf_printf(s->out, "* OK [CLOSED] Previous mailbox closed\r\n");
	}
	if (imap_mbox_lookup(s, &x->mreq, x->cname, sel_select_found, x) ==
	    0 && s->cmd_ctx == NULL)
		return IMAP_CMD_WAIT;
	return IMAP_CMD_WAIT;
}

enum imap_cmd_result
imap_cmd_select(struct imap_session *s, struct imap_parser *ps)
{
	return sel_select(s, ps, false);
}

enum imap_cmd_result
imap_cmd_examine(struct imap_session *s, struct imap_parser *ps)
{
	return sel_select(s, ps, true);
}

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

/* NOOP in the selected state catches up (RFC 9051 6.1.2). */
bool
imap_selected_noop(struct imap_session *s)
{
	if (s->view == NULL)
		return false;
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

/* --- IDLE --- */

static void
sel_idle_synced(struct imap_session *s)
{
	conn_flush(s->conn);
}

static enum imap_cmd_result
sel_idle_line(struct imap_session *s, uint8_t *line, size_t len)
{
	s->idling = false;
	if (len != 4 || strncasecmp((const char *)line, "DONE", 4) != 0) {
		imap_session_reply(s, "BAD", NULL, "Expected DONE");
		return IMAP_CMD_DONE;
	}
	if (s->view == NULL) {
		imap_session_reply(s, "OK", NULL, "IDLE terminated");
		return IMAP_CMD_DONE;
	}
	sel_reply_synced(s, "OK", NULL, "IDLE terminated");
	return IMAP_CMD_WAIT;
}

enum imap_cmd_result
imap_cmd_idle(struct imap_session *s, struct imap_parser *ps)
{
	if (imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	imap_resp_continue(s->out, "idling");
	s->idling = true;
	imap_session_expect_line(s, sel_idle_line);
	/* What changed before IDLE comes at once. */
	(void)imap_view_sync(s, false, sel_idle_synced);
	return IMAP_CMD_CONT;
}

/* storaged: the selected mailbox changed (MBOX_CHANGED). */
void
imap_selected_changed(struct imap_session *s, uint32_t mailbox_id,
    uint64_t modseq)
{
	if (s->view == NULL || s->view->mailbox_id != mailbox_id)
		return;
	imap_view_notified(s->view, modseq);
	/* NOTIFY (RFC 5465) decides when and what the client hears. */
	if (imap_notify_selected_changed(s))
		return;
	if (s->idling)
		(void)imap_view_sync(s, false, sel_idle_synced);
}
