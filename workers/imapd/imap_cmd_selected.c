/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_selected.c: selecting a mailbox (RFC 9051 6.3.2 SELECT, 6.3.3
 * EXAMINE, with CONDSTORE and QRESYNC parameters of RFC 7162), the state
 * the selected-state commands share (imap_sel.h), and IDLE (RFC 2177, RFC
 * 9051 6.3.13), which waits for changes of the view.  The commands that
 * change the mailbox are in imap_cmd_write.c, FETCH in imap_fetch.c.
 *
 * Each command asks storaged and answers from its reply; before the
 * tagged response of a command that may report expunges, the view catches
 * up (imap_view_sync).
 */
#include "imap_cmd.h"
#include "imap_cmd_notify.h"
#include "compat.h"
#include "conn.h"
#include "imap_fetch.h"
#include "imap_mbox.h"
#include "imap_resp.h"
#include "imap_sel.h"
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

struct sel_ctx *
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

void
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
void
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
void
sel_fail(struct imap_session *s, enum ipc_status st, const char *text)
{
	imap_session_reply(s, "NO", sel_status_code(st),
	    text != NULL && text[0] != '\0' ? text : ipc_status_name(st));
	sel_ctx_done(s);
	imap_session_resume(s, IMAP_CMD_DONE);
}

void
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
	} else {
		/*
		 * Without what it missed the client's cache would stay
		 * wrong: the SELECT fails, and no mailbox is selected.
		 */
		imap_session_log(s, "qresync: %s", text != NULL ? text :
		    ipc_status_name(st));
		sel_close_view(s, true);
		sel_fail(s, st, "The changes since that state could not be "
		    "read, try again");
		return;
	}
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
int
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
