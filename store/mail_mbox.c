/* SPDX-License-Identifier: ISC */
/*
 * mail_mbox.c: the mailbox requests of protocol workers, MBOX_LIST,
 * MBOX_CREATE, MBOX_DELETE, MBOX_RENAME and MBOX_SUBSCRIBE (see
 * mail_api.h), as thin handlers around mbox_op.h, and SUBSCRIPTION_SET
 * and SUBSCRIPTION_LIST around subscription.h.  MBOX_LIST reads in a
 * read transaction on the loop; the writes go through the group-commit
 * writer (txn.h) and reply once durable, then tell the sessions that
 * selected a mailbox whose messages changed (notify.h): a deleted one, and
 * the inbox when a rename emptied it.  Renames and subscriptions leave
 * messages as they are, and no session can have a new mailbox selected,
 * so those notify no selecting session.  Every successful write here also
 * tells the sessions that watch the account's names or subscriptions
 * (IMAP NOTIFY, notify_list_changed()), except the one that asked.
 */
#include "mail_api.h"
#include "acctwatch.h"
#include "compat.h"
#include "log.h"
#include "mailbox.h"
#include "mbox_op.h"
#include "notify.h"
#include "storaged.h"
#include "strvec.h"
#include "subscription.h"
#include "txn.h"
#include "worker.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* One mailbox write on its way through the writer. */
struct mail_mbox_job {
	struct storaged		*sd;
	uint64_t		 chan_serial;
	struct ipc_reqref	 ref;
	const char		*what;		/* for the log */
	uint64_t		 account_id;
	uint64_t		 now;
	uint32_t		 mailbox_id;
	char			 name[MAILBOX_NAME_MAX + 1];
	char			 role[MAILBOX_ROLE_MAX + 1];
	bool			 subscribed;
	/* Results. */
	uint32_t		 out_id;
	uint32_t		 out_uidvalidity;
	uint32_t		 notify_id;	/* 0: nobody to tell */
	uint64_t		 notify_modseq;
	/* For watching sessions: ACCTWATCH_EV_*, 0: nothing to tell. */
	uint32_t		 list_event;
	char			 oldname[MAILBOX_NAME_MAX + 1];
	struct mbox_made	 made;		/* parents CREATE, RENAME made */
};

/* --- MBOX_LIST --- */

/* A U64LIST being built. */
struct mail_mbox_u64s {
	struct buf	 b;
	uint32_t	 n;
};

static void
mail_mbox_u64_add(struct mail_mbox_u64s *v, uint64_t x)
{
	wire_u64list_add(&v->b, x);
	v->n++;
}

static struct wire_u64list
mail_mbox_u64_wire(const struct mail_mbox_u64s *v)
{
	struct wire_u64list l = { v->n, v->b.data };

	return l;
}

/* The U64LIST fields of MBOX_LIST's reply, in the order of the rows. */
enum {
	MBL_IDS, MBL_PARENTS, MBL_SUBSCRIBED, MBL_TOTAL, MBL_UNREAD,
	MBL_UIDVALIDITY, MBL_UIDNEXT, MBL_HMS, MBL_SIZE, MBL_THREADS,
	MBL_SORT, MBL_DELETED, MBL_DELETED_SIZE, MBL_N
};

static void
mail_mbox_list_reply(struct ipc_chan *c, const struct ipc_frame *f,
    const struct mbox_list *l)
{
	struct ipc_MBOX_LIST_rep rep;
	struct mail_mbox_u64s u[MBL_N];
	struct strvec names = STRVEC_INIT, roles = STRVEC_INIT;
	struct buf nb = BUF_INIT, rb = BUF_INIT;
	const struct mbox_info *mi;
	size_t i, text = 0;

	for (i = 0; i < l->n; i++)
		text += strlen(l->v[i].rec.name) + strlen(l->v[i].rec.role);
	if (mbox_op_list_bytes(l->n, text) > IPC_MAX_PAYLOAD) {
		ipc_reply(c, f, IPC_S_TOOBIG, "mailbox list too large", NULL);
		return;
	}
	memset(u, 0, sizeof(u));
	for (i = 0; i < l->n; i++) {
		mi = &l->v[i];
		strvec_add(&names, mi->rec.name);
		strvec_add(&roles, mi->rec.role);
		mail_mbox_u64_add(&u[MBL_IDS], mi->id);
		mail_mbox_u64_add(&u[MBL_PARENTS], mi->rec.parent);
		mail_mbox_u64_add(&u[MBL_SUBSCRIBED], mi->rec.subscribed);
		mail_mbox_u64_add(&u[MBL_TOTAL], mi->rec.total);
		mail_mbox_u64_add(&u[MBL_UNREAD], mi->rec.unread);
		mail_mbox_u64_add(&u[MBL_UIDVALIDITY], mi->rec.uidvalidity);
		mail_mbox_u64_add(&u[MBL_UIDNEXT], mi->rec.uidnext);
		mail_mbox_u64_add(&u[MBL_HMS], mi->rec.highestmodseq);
		mail_mbox_u64_add(&u[MBL_SIZE], mi->size);
		mail_mbox_u64_add(&u[MBL_THREADS], mi->rec.threads);
		mail_mbox_u64_add(&u[MBL_SORT], mi->rec.sort_order);
		mail_mbox_u64_add(&u[MBL_DELETED], mi->rec.deleted);
		mail_mbox_u64_add(&u[MBL_DELETED_SIZE], mi->rec.deleted_size);
	}
	rep.state = l->state;
	strvec_to_wire(&names, &nb, &rep.names);
	strvec_to_wire(&roles, &rb, &rep.roles);
	rep.ids = mail_mbox_u64_wire(&u[MBL_IDS]);
	rep.parents = mail_mbox_u64_wire(&u[MBL_PARENTS]);
	rep.subscribed = mail_mbox_u64_wire(&u[MBL_SUBSCRIBED]);
	rep.total = mail_mbox_u64_wire(&u[MBL_TOTAL]);
	rep.unread = mail_mbox_u64_wire(&u[MBL_UNREAD]);
	rep.uidvalidity = mail_mbox_u64_wire(&u[MBL_UIDVALIDITY]);
	rep.uidnext = mail_mbox_u64_wire(&u[MBL_UIDNEXT]);
	rep.highestmodseq = mail_mbox_u64_wire(&u[MBL_HMS]);
	rep.size = mail_mbox_u64_wire(&u[MBL_SIZE]);
	rep.threads = mail_mbox_u64_wire(&u[MBL_THREADS]);
	rep.sort_order = mail_mbox_u64_wire(&u[MBL_SORT]);
	rep.deleted = mail_mbox_u64_wire(&u[MBL_DELETED]);
	rep.deleted_size = mail_mbox_u64_wire(&u[MBL_DELETED_SIZE]);
	ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	strvec_clear(&names);
	strvec_clear(&roles);
	buf_clear(&nb);
	buf_clear(&rb);
	for (i = 0; i < MBL_N; i++)
		buf_clear(&u[i].b);
}

void
mail_mbox_list(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	struct wchan *w = arg;
	struct mbox_list l;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;

	(void)msg;
	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	memset(&l, 0, sizeof(l));
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = mbox_op_list(&w->sd->db, txn, s->account_id, false, &l,
		    &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else
		mail_mbox_list_reply(c, f, &l);
	mbox_list_clear(&l);
}

/* --- Writes --- */

/*
 * Makes the job of request f (what names it in the log) for the
 * session's account, with the mailbox name of the request unless it is
 * NULL, or returns NULL after replying (session not bound, storaged
 * stopping, a bad name).
 */
static struct mail_mbox_job *
mail_mbox_job_new(struct ipc_chan *c, const struct ipc_frame *f,
    struct wchan *w, const char *what, const char *name)
{
	struct mail_mbox_job *j;
	struct session *s;
	const char *why;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return NULL;
	if (name != NULL && (why = mbox_op_name_check(name)) != NULL) {
		ipc_reply(c, f, IPC_S_INVALID, why, NULL);
		return NULL;
	}
	if (w->sd->stopping) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is stopping", NULL);
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	j->sd = w->sd;
	j->what = what;
	j->chan_serial = w->serial;
	ipc_reqref_set(&j->ref, f);
	j->account_id = s->account_id;
	j->now = storaged_now();
	if (name != NULL)
		strlcpy(j->name, name, sizeof(j->name));
	return j;
}

/* Queues j for the writer, or replies IPC_S_UNAVAIL and frees it. */
static void
mail_mbox_submit(struct ipc_chan *c, const struct ipc_frame *f,
    struct mail_mbox_job *j, mail_apply_fn *apply, mail_done_fn *done)
{
	if (mail_txnq_submit(j->sd->txnq, NULL, apply, done, j,
	    sizeof(*j)) == -1) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is busy", NULL);
		free(j);
	}
}

/* Tells watching sessions of the name or subscription j changed. */
static void
mail_mbox_list_changed(const struct mail_mbox_job *j)
{
	struct notify_origin o;
	size_t i;

	o.chan_serial = j->chan_serial;
	o.session = j->ref.session;
	/* The parents made on the way first, outermost first (RFC 5465 5.4). */
	for (i = 0; i < j->made.names.n; i++)
		notify_list_changed(j->sd, j->account_id, &o,
		    ACCTWATCH_EV_CREATE, j->made.ids[i], j->made.names.v[i],
		    NULL, false, NULL);
	notify_list_changed(j->sd, j->account_id, &o, j->list_event,
	    j->list_event == ACCTWATCH_EV_CREATE ? j->out_id : j->mailbox_id,
	    j->name, j->list_event == ACCTWATCH_EV_RENAME ? j->oldname : NULL,
	    j->subscribed, NULL);
}

/*
 * The write of j is durable (st IPC_S_OK, reply rep) or failed: replies
 * on its channel if still open, tells the sessions of a changed mailbox,
 * and frees j.
 */
static void
mail_mbox_finish(struct mail_mbox_job *j, enum ipc_status st,
    const struct store_error *err, const void *rep)
{
	struct wchan *w = worker_find(j->sd, j->chan_serial);

	if (st == IPC_S_OK)
		log_debug("%s ok account=%llu mailbox=%u", j->what,
		    (unsigned long long)j->account_id, j->mailbox_id);
	else
		log_debug("%s failed account=%llu mailbox=%u status=%s "
		    "why=\"%s\"", j->what, (unsigned long long)j->account_id,
		    j->mailbox_id, ipc_status_name(st), err->text);
	if (w != NULL)
		ipc_reply_ref(w->chan, &j->ref, st, st == IPC_S_OK ? NULL :
		    err->text, rep);
	if (st == IPC_S_OK && j->notify_id != 0) {
		struct notify_origin o = { j->chan_serial, j->ref.session };

		notify_mailbox(j->sd, j->account_id, j->notify_id,
		    j->notify_modseq, &o);
	}
	if (st == IPC_S_OK && j->list_event != 0)
		mail_mbox_list_changed(j);
	mbox_made_clear(&j->made);
	free(j);
}

/* MBOX_CREATE */

static enum ipc_status
mail_mbox_create_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_mbox_job *j = arg;

	j->list_event = ACCTWATCH_EV_CREATE;
	mbox_made_clear(&j->made);	/* a batch that failed runs again */
	return mbox_op_create(db, txn, j->account_id, j->name, j->role,
	    j->now, &j->out_id, &j->out_uidvalidity, &j->made, err);
}

static void
mail_mbox_create_done(void *arg, enum ipc_status st,
    const struct store_error *err)
{
	struct mail_mbox_job *j = arg;
	struct ipc_MBOX_CREATE_rep rep;

	rep.mailbox_id = j->out_id;
	rep.uidvalidity = j->out_uidvalidity;
	j->mailbox_id = j->out_id;
	mail_mbox_finish(j, st, err, &rep);
}

void
mail_mbox_create(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MBOX_CREATE_req *m = msg;
	struct mail_mbox_job *j;

	if ((j = mail_mbox_job_new(c, f, arg, "mailbox create",
	    m->name)) == NULL)
		return;
	if (!mbox_op_role_known(m->role)) {
		ipc_reply(c, f, IPC_S_INVALID, "unknown role", NULL);
		free(j);
		return;
	}
	strlcpy(j->role, m->role, sizeof(j->role));
	mail_mbox_submit(c, f, j, mail_mbox_create_apply,
	    mail_mbox_create_done);
}

/* Reads the stored name of j's mailbox into name (MAILBOX_NAME_MAX + 1). */
static enum ipc_status
mail_mbox_name_of(struct store_db *db, MDB_txn *txn,
    const struct mail_mbox_job *j, char *name, struct store_error *err)
{
	struct mailbox_rec mb;
	enum ipc_status st;

	if ((st = mailbox_get(db, txn, j->account_id, j->mailbox_id, &mb,
	    err)) == IPC_S_OK)
		strlcpy(name, mb.name, MAILBOX_NAME_MAX + 1);
	return st;
}

/* MBOX_DELETE */

static enum ipc_status
mail_mbox_delete_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_mbox_job *j = arg;
	enum ipc_status st;

	/* Its name, for the sessions that watch names. */
	if ((st = mail_mbox_name_of(db, txn, j, j->name, err)) != IPC_S_OK)
		return st;
	j->notify_id = j->mailbox_id;
	j->list_event = ACCTWATCH_EV_DELETE;
	return mbox_op_delete(db, txn, j->account_id, j->mailbox_id,
	    &j->notify_modseq, err);
}

static void
mail_mbox_nothing_done(void *arg, enum ipc_status st,
    const struct store_error *err)
{
	mail_mbox_finish(arg, st, err, NULL);
}

void
mail_mbox_delete(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MBOX_DELETE_req *m = msg;
	struct mail_mbox_job *j;

	if ((j = mail_mbox_job_new(c, f, arg, "mailbox delete",
	    NULL)) == NULL)
		return;
	j->mailbox_id = m->mailbox_id;
	mail_mbox_submit(c, f, j, mail_mbox_delete_apply,
	    mail_mbox_nothing_done);
}

/* MBOX_RENAME */

static enum ipc_status
mail_mbox_rename_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_mbox_job *j = arg;
	enum ipc_status st;

	if ((st = mail_mbox_name_of(db, txn, j, j->oldname, err)) !=
	    IPC_S_OK)
		return st;
	j->list_event = ACCTWATCH_EV_RENAME;
	mbox_made_clear(&j->made);	/* a batch that failed runs again */
	st = mbox_op_rename(db, txn, j->account_id, j->mailbox_id, j->name,
	    j->now, &j->out_id, &j->notify_modseq, &j->made, err);
	/* The inbox was emptied into a new mailbox. */
	if (st == IPC_S_OK && j->notify_modseq != 0)
		j->notify_id = j->mailbox_id;
	return st;
}

static void
mail_mbox_rename_done(void *arg, enum ipc_status st,
    const struct store_error *err)
{
	struct mail_mbox_job *j = arg;
	struct ipc_MBOX_RENAME_rep rep;

	rep.mailbox_id = j->out_id;
	/* The mailbox now called name (a new one when the inbox moved). */
	j->mailbox_id = j->out_id;
	mail_mbox_finish(j, st, err, &rep);
}

void
mail_mbox_rename(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MBOX_RENAME_req *m = msg;
	struct mail_mbox_job *j;

	if ((j = mail_mbox_job_new(c, f, arg, "mailbox rename",
	    m->name)) == NULL)
		return;
	j->mailbox_id = m->mailbox_id;
	mail_mbox_submit(c, f, j, mail_mbox_rename_apply,
	    mail_mbox_rename_done);
}

/* MBOX_SUBSCRIBE */

static enum ipc_status
mail_mbox_subscribe_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_mbox_job *j = arg;
	enum ipc_status st;

	if ((st = mail_mbox_name_of(db, txn, j, j->name, err)) != IPC_S_OK)
		return st;
	j->list_event = ACCTWATCH_EV_SUBSCRIBE;
	return mbox_op_subscribe(db, txn, j->account_id, j->mailbox_id,
	    j->subscribed, err);
}

void
mail_mbox_subscribe(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MBOX_SUBSCRIBE_req *m = msg;
	struct mail_mbox_job *j;

	if ((j = mail_mbox_job_new(c, f, arg, "mailbox subscribe",
	    NULL)) == NULL)
		return;
	j->mailbox_id = m->mailbox_id;
	j->subscribed = m->subscribed;
	mail_mbox_submit(c, f, j, mail_mbox_subscribe_apply,
	    mail_mbox_nothing_done);
}

/* SUBSCRIPTION_SET, SUBSCRIPTION_LIST (store/subscription.h) */

static enum ipc_status
mail_subscription_set_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_mbox_job *j = arg;

	j->list_event = ACCTWATCH_EV_SUBSCRIBE;
	return subscription_set(db, txn, j->account_id, j->name,
	    j->subscribed, err);
}

void
mail_subscription_set(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_SUBSCRIPTION_SET_req *m = msg;
	struct mail_mbox_job *j;

	if ((j = mail_mbox_job_new(c, f, arg, "subscription set",
	    m->name)) == NULL)
		return;
	j->subscribed = m->subscribed;
	mail_mbox_submit(c, f, j, mail_subscription_set_apply,
	    mail_mbox_nothing_done);
}

void
mail_subscription_list(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct ipc_SUBSCRIPTION_LIST_rep rep;
	struct wchan *w = arg;
	struct strvec names = STRVEC_INIT;
	struct buf nb = BUF_INIT;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;

	(void)msg;
	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = subscription_orphans(&w->sd->db, txn, s->account_id,
		    &names, &err);
		db_abort(&txn);
	}
	/* Only names deleted mailboxes left can pass the limit of SET. */
	if (st == IPC_S_OK && names.bytes + 64 > IPC_MAX_PAYLOAD)
		st = db_error(&err, IPC_S_TOOBIG, "too many subscriptions");
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		strvec_to_wire(&names, &nb, &rep.names);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	strvec_clear(&names);
	buf_clear(&nb);
}
