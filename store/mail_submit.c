/* SPDX-License-Identifier: ISC */
/*
 * mail_submit.c: JMAP submission requests (see mail_api.h and submit.h):
 * IDENTITY_LIST and SUBMIT_LIST in one read transaction on the loop;
 * IDENTITY_PUT, IDENTITY_DEL, SUBMIT, SUBMIT_CANCEL and SUBMIT_DEL for the
 * session's account, and lmtpd's RELAY_TAKE and RELAY_DONE, through the
 * writer of txn.h, each answered once durable; a take's message is then
 * written (and DKIM-signed) into lmtpd's memfd on the read pool
 * (mail_read.c), so that a large one holds neither the writer nor the
 * loop.
 *
 * lmtpd hears RELAY_WAKE when something is due: after a SUBMIT whose time
 * has come, and, through one-shot timers on the loop (mail_wake_at of
 * mail_write.c), when a later send_at, a retry time or a take's lease
 * comes.  Timers are not kept
 * across a restart of storaged: mail_submit_start() sets the one of the
 * first queue entry, and a relay takes until nothing is due whenever it
 * starts or is woken.
 */
#include "mail_api.h"
#include "log.h"
#include "notify.h"
#include "pushtypes.h"
#include "session.h"
#include "storaged.h"
#include "submit.h"
#include "vacation.h"
#include "wire.h"
#include "worker.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* --- Reply lists --- */

struct mail_submit_strs {
	struct buf	 b;
	uint32_t	 n;
};

static void
mail_submit_str(struct mail_submit_strs *l, const char *s)
{
	wire_strlist_add(&l->b, s);
	l->n++;
}

static struct wire_strlist
mail_submit_strlist(const struct mail_submit_strs *l)
{
	struct wire_strlist w;

	w.count = l->n;
	w.p = l->b.data != NULL ? l->b.data : (const uint8_t *)"";
	w.len = l->b.len;
	return w;
}

static struct wire_u64list
mail_submit_u64list(const struct buf *b)
{
	struct wire_u64list w;

	w.count = (uint32_t)(b->len / 8);
	w.p = b->data != NULL ? b->data : (const uint8_t *)"";
	return w;
}

/* --- Waking lmtpd --- */

void
mail_submit_start(struct storaged *sd)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;
	uint64_t due = 0;

	if ((st = db_begin(&sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = submit_next_due(&sd->db, txn, &due, &err);
		db_abort(&txn);
	}
	if (st == IPC_S_OK)
		mail_wake_at(sd, notify_relay_wake, due);
	else if (st != IPC_S_NOTFOUND)
		log_warnx("relay queue unreadable: %s", err.text);
}

/* --- Writes through the writer --- */

/* --- Writes: mail_write.c --- */

/* --- Identities --- */

void
mail_identity_list(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct mail_submit_strs l[6];
	struct ipc_IDENTITY_LIST_rep rep;
	struct submit_identities r;
	struct buf ids = BUF_INIT, del = BUF_INIT;
	struct wchan *w = arg;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;
	size_t i;

	(void)msg;
	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	memset(&r, 0, sizeof(r));
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = submit_identity_list(&w->sd->db, txn, s->account_id, &r,
		    &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		submit_identities_clear(&r);
		return;
	}
	memset(l, 0, sizeof(l));
	for (i = 0; i < r.n; i++) {
		wire_u64list_add(&ids, r.v[i].id);
		wire_u64list_add(&del, r.v[i].may_delete);
		mail_submit_str(&l[0], r.v[i].name);
		mail_submit_str(&l[1], r.v[i].email);
		mail_submit_str(&l[2], r.v[i].reply_to);
		mail_submit_str(&l[3], r.v[i].bcc);
		mail_submit_str(&l[4], r.v[i].text_sig);
		mail_submit_str(&l[5], r.v[i].html_sig);
	}
	rep.state = r.state;
	rep.ids = mail_submit_u64list(&ids);
	rep.names = mail_submit_strlist(&l[0]);
	rep.emails = mail_submit_strlist(&l[1]);
	rep.reply_tos = mail_submit_strlist(&l[2]);
	rep.bccs = mail_submit_strlist(&l[3]);
	rep.text_sigs = mail_submit_strlist(&l[4]);
	rep.html_sigs = mail_submit_strlist(&l[5]);
	rep.may_delete = mail_submit_u64list(&del);
	ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	for (i = 0; i < 6; i++)
		buf_clear(&l[i].b);
	buf_clear(&ids);
	buf_clear(&del);
	submit_identities_clear(&r);
}

static void
mail_submit_ident_free(void *arg)
{
	struct submit_ident_op *op = arg;

	submit_ident_op_free(&op);
}

static void
mail_identity_put_reply(struct storaged *sd, struct wchan *w,
    struct mail_write_job *j)
{
	struct submit_ident_op *op = j->arg;
	struct ipc_IDENTITY_PUT_rep rep;

	notify_types(sd, op->account_id, PUSHTYPE_IDENTITY, op->state);
	if (w == NULL)
		return;
	rep.id = op->id;
	rep.state = op->state;
	ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, &rep);
}

void
mail_identity_put(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_IDENTITY_PUT_req *m = msg;
	struct submit_ident_op *op;
	struct wchan *w = arg;
	struct store_error err;
	struct session *s;
	enum ipc_status st;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if ((op = submit_ident_op_new(s->account_id, m->id, m->name, m->email,
	    m->reply_to, m->bcc, m->text_sig, m->html_sig, &st,
	    &err)) == NULL) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	mail_write_queue(c, f, w, "identity put", submit_identity_put_op,
	    mail_identity_put_reply, mail_submit_ident_free, op, -1);
}

static void
mail_identity_del_reply(struct storaged *sd, struct wchan *w,
    struct mail_write_job *j)
{
	struct submit_ident_op *op = j->arg;
	struct ipc_IDENTITY_DEL_rep rep;

	notify_types(sd, op->account_id, PUSHTYPE_IDENTITY, op->state);
	if (w == NULL)
		return;
	rep.state = op->state;
	ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, &rep);
}

void
mail_identity_del(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_IDENTITY_DEL_req *m = msg;
	struct submit_ident_op *op;
	struct wchan *w = arg;
	struct session *s;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	op = xcalloc(1, sizeof(*op));
	op->account_id = s->account_id;
	op->id = m->id;
	mail_write_queue(c, f, w, "identity delete", submit_identity_del_op,
	    mail_identity_del_reply, mail_submit_ident_free, op, -1);
}

/* --- Submissions --- */

/* --- VacationResponse --- */

void
mail_vacation_get(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct ipc_VACATION_GET_rep rep;
	struct wchan *w = arg;
	struct store_error err;
	struct vacation v;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;

	(void)msg;
	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	memset(&v, 0, sizeof(v));
	memset(&rep, 0, sizeof(rep));
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = vacation_get(&w->sd->db, txn, s->account_id, &v,
		    &rep.state, &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		vacation_clear(&v);
		return;
	}
	rep.enabled = v.enabled;
	rep.from = v.from;
	rep.to = v.to;
	rep.has = (v.subject != NULL ? VACATION_HAS_SUBJECT : 0) |
	    (v.text != NULL ? VACATION_HAS_TEXT : 0) |
	    (v.html != NULL ? VACATION_HAS_HTML : 0);
	rep.subject = v.subject != NULL ? v.subject : "";
	rep.text = v.text != NULL ? v.text : "";
	rep.html = v.html != NULL ? v.html : "";
	ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	vacation_clear(&v);
}

static void
mail_vacation_free(void *arg)
{
	struct vacation_op *op = arg;

	vacation_op_free(&op);
}

static void
mail_vacation_set_reply(struct storaged *sd, struct wchan *w,
    struct mail_write_job *j)
{
	struct vacation_op *op = j->arg;
	struct ipc_VACATION_SET_rep rep;

	notify_types(sd, op->account_id, PUSHTYPE_VACATION, op->state);
	if (w == NULL)
		return;
	rep.state = op->state;
	ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, &rep);
}

void
mail_vacation_set(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_VACATION_SET_req *m = msg;
	struct vacation_op *op;
	struct wchan *w = arg;
	struct store_error err;
	struct session *s;
	enum ipc_status st;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if ((op = vacation_op_new(s->account_id, m->enabled, m->from, m->to,
	    (m->has & VACATION_HAS_SUBJECT) ? m->subject : NULL,
	    (m->has & VACATION_HAS_TEXT) ? m->text : NULL,
	    (m->has & VACATION_HAS_HTML) ? m->html : NULL, &st,
	    &err)) == NULL) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	mail_write_queue(c, f, w, "vacation set", vacation_set_op,
	    mail_vacation_set_reply, mail_vacation_free, op, -1);
}

static void
mail_submit_new_free(void *arg)
{
	struct submit_new *s = arg;

	submit_new_free(&s);
}

static void
mail_submit_reply(struct storaged *sd, struct wchan *w,
    struct mail_write_job *j)
{
	struct submit_new *sn = j->arg;
	struct ipc_SUBMIT_rep rep;

	notify_types(sd, sn->account_id, PUSHTYPE_SUBMISSION, sn->state);
	if (w != NULL) {
		rep.id = sn->id;
		rep.thread_id = sn->thread_id;
		rep.send_at = sn->due;
		rep.state = sn->state;
		ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, &rep);
	}
	log_info("submission queued account=%llu id=%llu rcpts=%zu due=%llu",
	    (unsigned long long)sn->account_id, (unsigned long long)sn->id,
	    sn->rcpts.n, (unsigned long long)sn->due);
	mail_wake_at(sd, notify_relay_wake, sn->due);
}

void
mail_submit(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	const struct ipc_SUBMIT_req *m = msg;
	struct submit_new *sn;
	struct wchan *w = arg;
	struct store_error err;
	struct session *s;
	enum ipc_status st;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if ((sn = submit_new_make(s->account_id, m->identity_id, m->email_id,
	    m->mail_from, m->mail_from_params, &m->rcpts, m->send_at,
	    storaged_now(), &st, &err)) == NULL) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	mail_write_queue(c, f, w, "submit", submit_create_op,
	    mail_submit_reply, mail_submit_new_free, sn, -1);
}

void
mail_submit_list(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_SUBMIT_LIST_req *m = msg;
	struct ipc_SUBMIT_LIST_rep rep;
	struct mail_submit_strs froms, rcpts, replies;
	struct buf u[8];
	struct submit_list r;
	struct wchan *w = arg;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	const struct submit_rec *x;
	uint64_t *ids;
	MDB_txn *txn;
	size_t i;
	uint32_t k;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	ids = xcalloc(m->ids.count + 1, sizeof(*ids));
	for (k = 0; k < m->ids.count; k++)
		ids[k] = wire_u64list_get(&m->ids, k);
	memset(&r, 0, sizeof(r));
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = submit_list(&w->sd->db, txn, s->account_id, ids,
		    m->ids.count, &r, &err);
		db_abort(&txn);
	}
	free(ids);
	if (st != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		submit_list_clear(&r);
		return;
	}
	memset(u, 0, sizeof(u));
	memset(&froms, 0, sizeof(froms));
	memset(&rcpts, 0, sizeof(rcpts));
	memset(&replies, 0, sizeof(replies));
	for (i = 0; i < r.n; i++) {
		x = &r.v[i];
		wire_u64list_add(&u[0], r.ids[i]);
		wire_u64list_add(&u[1], x->identity_id);
		wire_u64list_add(&u[2], x->email_id);
		wire_u64list_add(&u[3], x->thread_id);
		wire_u64list_add(&u[4], x->send_at);
		wire_u64list_add(&u[5], x->undo);
		wire_u64list_add(&u[6], x->nrcpt);
		mail_submit_str(&froms, x->mail_from);
		for (k = 0; k < x->nrcpt; k++) {
			mail_submit_str(&rcpts, x->rcpts[k]);
			mail_submit_str(&replies, x->replies[k]);
			wire_u64list_add(&u[7], x->delivered[k]);
		}
	}
	rep.state = r.state;
	rep.found = mail_submit_u64list(&u[0]);
	rep.identity_ids = mail_submit_u64list(&u[1]);
	rep.email_ids = mail_submit_u64list(&u[2]);
	rep.thread_ids = mail_submit_u64list(&u[3]);
	rep.send_ats = mail_submit_u64list(&u[4]);
	rep.undo = mail_submit_u64list(&u[5]);
	rep.mail_froms = mail_submit_strlist(&froms);
	rep.rcpt_counts = mail_submit_u64list(&u[6]);
	rep.rcpts = mail_submit_strlist(&rcpts);
	rep.replies = mail_submit_strlist(&replies);
	rep.delivered = mail_submit_u64list(&u[7]);
	ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	for (i = 0; i < 8; i++)
		buf_clear(&u[i]);
	buf_clear(&froms.b);
	buf_clear(&rcpts.b);
	buf_clear(&replies.b);
	submit_list_clear(&r);
}

static void
mail_submit_id_reply(struct storaged *sd, struct wchan *w,
    struct mail_write_job *j)
{
	struct submit_id_op *op = j->arg;
	/* SUBMIT_CANCEL's and SUBMIT_DEL's replies are the same. */
	struct ipc_SUBMIT_CANCEL_rep rep;

	notify_types(sd, op->account_id, PUSHTYPE_SUBMISSION, op->state);
	if (w == NULL)
		return;
	rep.state = op->state;
	ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, &rep);
}

/* SUBMIT_CANCEL and SUBMIT_DEL, whose requests are the same too. */
static void
mail_submit_id(struct ipc_chan *c, const struct ipc_frame *f, struct wchan *w,
    uint64_t id, const char *what, mail_apply_fn *op_fn)
{
	struct submit_id_op *op;
	struct session *s;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	op = xcalloc(1, sizeof(*op));
	op->account_id = s->account_id;
	op->id = id;
	mail_write_queue(c, f, w, what, op_fn, mail_submit_id_reply, free,
	    op, -1);
}

void
mail_submit_cancel(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_SUBMIT_CANCEL_req *m = msg;

	mail_submit_id(c, f, arg, m->id, "submission cancel",
	    submit_cancel_op);
}

void
mail_submit_del(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_SUBMIT_DEL_req *m = msg;

	mail_submit_id(c, f, arg, m->id, "submission delete", submit_del_op);
}

/* --- The relay --- */

/* Only lmtpd relays, as only it delivers (deliver.c). */
static bool
mail_relay_allowed(struct ipc_chan *c, const struct ipc_frame *f,
    const struct wchan *w)
{
	if (strcmp(w->name, "lmtpd") == 0)
		return true;
	log_warnx("relay request refused name=%s pid=%u", w->name, w->pid);
	ipc_reply(c, f, IPC_S_DENIED, "only lmtpd relays", NULL);
	return false;
}

static void
mail_relay_take_free(void *arg)
{
	struct submit_take *t = arg;

	if (t == NULL)
		return;
	submit_take_clear(t);
	free(t);
}

/* A taken submission whose message goes to the relay's memfd. */
struct mail_relay_write {
	struct storaged		*sd;
	struct submit_take	*t;
};

/* The taken message into the relay's memfd, on the read pool. */
static enum ipc_status
mail_relay_take_work(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_relay_write *x = arg;

	return submit_take_write(db, txn, x->t, err);
}

static void
mail_relay_take_written(struct ipc_chan *c, const struct ipc_reqref *ref,
    void *arg)
{
	struct mail_relay_write *x = arg;
	struct submit_take *t = x->t;
	struct storaged *sd = x->sd;
	struct ipc_RELAY_TAKE_rep rep;
	struct buf rb = BUF_INIT;

	log_info("submission taken account=%llu id=%llu rcpts=%zu size=%llu "
	    "dkim=%s", (unsigned long long)t->account_id,
	    (unsigned long long)t->id, t->rcpts.n,
	    (unsigned long long)t->size,
	    t->dkim_domain != NULL ? t->dkim_domain : "none");
	rep.account_id = t->account_id;
	rep.id = t->id;
	rep.size = t->size;
	rep.mail_from = t->rec.mail_from;
	rep.mail_from_params = t->rec.mail_from_params;
	strvec_to_wire(&t->rcpts, &rb, &rep.rcpts);
	rep.auth.p = sd->relay_auth.data;
	rep.auth.len = sd->relay_auth.len;
	ipc_reply_ref(c, ref, IPC_S_OK, NULL, &rep);
	buf_clear(&rb);
}

static void
mail_relay_take_done(void *arg)
{
	struct mail_relay_write *x = arg;

	close(x->t->fd);
	mail_relay_take_free(x->t);
	free(x);
}

static void
mail_relay_take_reply(struct storaged *sd, struct wchan *w,
    struct mail_write_job *j)
{
	struct submit_take *t = j->arg;
	struct mail_relay_write *x;

	if (t->dropped > 0)
		log_info("relay queue entries dropped count=%zu", t->dropped);
	if (!t->found) {
		if (w != NULL)
			ipc_reply_ref(w->chan, &j->ref, IPC_S_NOTFOUND,
			    "nothing is due", NULL);
		return;
	}
	/* Taken again after the lease if this relay dies meanwhile. */
	mail_wake_at(sd, notify_relay_wake, t->lease);
	/* undoStatus became final: an EmailSubmission change. */
	notify_types(sd, t->account_id, PUSHTYPE_SUBMISSION, 0);
	if (w == NULL)
		return;
	/* The bytes are written off the writer; the job gives t up. */
	x = xcalloc(1, sizeof(*x));
	x->sd = sd;
	x->t = t;
	j->arg = NULL;
	j->fd = -1;
	mail_read_queue_ref(sd, w->serial, &j->ref, "relay take",
	    mail_relay_take_work, mail_relay_take_written,
	    mail_relay_take_done, x);
}

void
mail_relay_take(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct submit_take *t;
	struct wchan *w = arg;
	int fd;

	(void)msg;
	if (!mail_relay_allowed(c, f, w))
		return;
	if ((fd = ipc_chan_take_fd(c)) == -1) {
		ipc_reply(c, f, IPC_S_INVALID, "no message descriptor", NULL);
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->now = storaged_now();
	t->fd = fd;
	t->dkim = &w->sd->dkim;
	mail_write_queue(c, f, w, "relay take", submit_take_op,
	    mail_relay_take_reply, mail_relay_take_free, t, fd);
}

static void
mail_relay_done_free(void *arg)
{
	struct submit_done *d = arg;

	submit_done_free(&d);
}

static void
mail_relay_done_reply(struct storaged *sd, struct wchan *w,
    struct mail_write_job *j)
{
	struct submit_done *d = j->arg;

	log_info("submission relayed account=%llu id=%llu rcpts=%u "
	    "retry=%llu", (unsigned long long)d->account_id,
	    (unsigned long long)d->id, d->n,
	    (unsigned long long)d->requeued);
	notify_types(sd, d->account_id, PUSHTYPE_SUBMISSION, 0);
	if (d->requeued != 0)
		mail_wake_at(sd, notify_relay_wake, d->requeued);
	if (w != NULL)
		ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, NULL);
}

void
mail_relay_done(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_RELAY_DONE_req *m = msg;
	struct submit_done *d;
	struct wchan *w = arg;
	struct store_error err;
	enum ipc_status st;

	if (!mail_relay_allowed(c, f, w))
		return;
	if ((d = submit_done_make(m->account_id, m->id, &m->replies,
	    &m->delivered, m->retry_at, storaged_now(), &st, &err)) == NULL) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	mail_write_queue(c, f, w, "relay done", submit_done_op,
	    mail_relay_done_reply, mail_relay_done_free, d, -1);
}
