/* SPDX-License-Identifier: ISC */
/*
 * mail_email.c: the JMAP Mail requests of jmapd (see mail_api.h):
 * MBOX_THREADS, EMAIL_LIST, EMAIL_GET, EMAIL_BODY and THREAD_GET, each in
 * one read transaction on the loop, and EMAIL_SET through the writer of
 * txn.h, which replies once durable and then tells the sessions watching
 * a changed mailbox, as MSG_STORE does.  The work is email_op.h's.
 */
#include "mail_api.h"
#include "email_op.h"
#include "log.h"
#include "notify.h"
#include "session.h"
#include "storaged.h"
#include "wire.h"
#include "worker.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* --- Reads --- */

void
mail_mbox_threads(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct ipc_MBOX_THREADS_rep rep;
	struct email_mbox_threads r;
	struct wchan *w = arg;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;

	(void)msg;
	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	memset(&r, 0, sizeof(r));
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = email_op_mbox_threads(&w->sd->db, txn, s->account_id, &r,
		    &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		rep.state = r.state;
		rep.ids = mail_vec_u64s(&r.ids);
		rep.unread_threads = mail_vec_u64s(&r.unread_threads);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	email_mbox_threads_clear(&r);
}

void
mail_email_list(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_EMAIL_LIST_req *m = msg;
	struct ipc_EMAIL_LIST_rep rep;
	struct email_list r;
	struct wchan *w = arg;
	struct buf kb = BUF_INIT;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	memset(&r, 0, sizeof(r));
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = email_op_list(&w->sd->db, txn, s->account_id,
		    m->mailbox_id, m->cursor, m->limit, 0, &r, &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		rep.state = r.state;
		rep.next = r.next;
		rep.email_ids = mail_vec_u64s(&r.rows.ids);
		rep.thread_ids = mail_vec_u64s(&r.rows.thread_ids);
		rep.received = mail_vec_u64s(&r.rows.received);
		rep.sizes = mail_vec_u64s(&r.rows.sizes);
		rep.flags = mail_vec_u64s(&r.rows.flags);
		strvec_to_wire(&r.rows.keywords, &kb, &rep.keywords);
		rep.mbox_counts = mail_vec_u64s(&r.rows.mbox_counts);
		rep.mailbox_ids = mail_vec_u64s(&r.rows.mailbox_ids);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	email_list_clear(&r);
	buf_clear(&kb);
}

void
mail_email_get(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_EMAIL_GET_req *m = msg;
	struct ipc_EMAIL_GET_rep rep;
	struct email_get r;
	struct wchan *w = arg;
	struct buf kb = BUF_INIT;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	memset(&r, 0, sizeof(r));
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = email_op_get(&w->sd->db, txn, s->account_id, &m->ids,
		    m->with_record, 0, &r, &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		rep.state = r.state;
		rep.done = r.done;
		rep.found = mail_vec_u64s(&r.rows.ids);
		rep.thread_ids = mail_vec_u64s(&r.rows.thread_ids);
		rep.received = mail_vec_u64s(&r.rows.received);
		rep.sizes = mail_vec_u64s(&r.rows.sizes);
		rep.flags = mail_vec_u64s(&r.rows.flags);
		strvec_to_wire(&r.rows.keywords, &kb, &rep.keywords);
		rep.mbox_counts = mail_vec_u64s(&r.rows.mbox_counts);
		rep.mailbox_ids = mail_vec_u64s(&r.rows.mailbox_ids);
		rep.hashes = mail_buf_bytes(&r.rows.hashes);
		rep.records = mail_buf_bytes(&r.rows.records);
		rep.record_lens = mail_vec_u64s(&r.rows.record_lens);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	email_get_clear(&r);
	buf_clear(&kb);
}

void
mail_email_body(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_EMAIL_BODY_req *m = msg;
	struct ipc_EMAIL_BODY_rep rep;
	struct wchan *w = arg;
	struct buf data = BUF_INIT;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	/* Bytes of a message the store holds: freeing them needs no wipe. */
	data.nowipe = true;
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = email_op_body(&w->sd->db, txn, s->account_id, m->email_id,
		    m->offset, m->length, &rep.size, &data, &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		rep.data = mail_buf_bytes(&data);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	buf_clear(&data);
}

void
mail_thread_get(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_THREAD_GET_req *m = msg;
	struct ipc_THREAD_GET_rep rep;
	struct email_threads r;
	struct wchan *w = arg;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	memset(&r, 0, sizeof(r));
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = email_op_threads(&w->sd->db, txn, s->account_id, &m->ids,
		    0, &r, &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		rep.state = r.state;
		rep.found = mail_vec_u64s(&r.found);
		rep.counts = mail_vec_u64s(&r.counts);
		rep.email_ids = mail_vec_u64s(&r.email_ids);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	email_threads_clear(&r);
}

/* --- EMAIL_SET --- */

struct mail_email_job {
	struct storaged		*sd;
	uint64_t		 chan_serial;
	struct ipc_reqref	 ref;
	struct email_set	*es;
};

static enum ipc_status
mail_email_set_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_email_job *j = arg;

	return email_set_op(db, txn, j->es, err);
}

static void
mail_email_set_done(void *arg, enum ipc_status st,
    const struct store_error *err)
{
	struct mail_email_job *j = arg;
	struct email_set *es = j->es;
	struct ipc_EMAIL_SET_rep rep;
	struct notify_origin o = { j->chan_serial, j->ref.session };
	struct buf ub = BUF_INIT, xb = BUF_INIT;
	struct wchan *w = worker_find(j->sd, j->chan_serial);
	size_t i;

	/* IMAP sessions hear of JMAP's changes as of their own. */
	if (st == IPC_S_OK)
		for (i = 0; i < es->touched.n; i++)
			if (es->touched.hms[i] != 0)
				notify_mailbox(j->sd, es->account_id,
				    es->touched.ids[i], es->touched.hms[i],
				    &o);
	if (w == NULL)
		log_warnx("email set reply lost: worker channel closed");
	else if (st != IPC_S_OK)
		ipc_reply_ref(w->chan, &j->ref, st, err->text, NULL);
	else {
		rep.old_state = es->old_state;
		rep.new_state = es->new_state;
		rep.update_status = mail_vec_u64s(&es->up_status);
		strvec_to_wire(&es->up_texts, &ub, &rep.update_texts);
		rep.destroy_status = mail_vec_u64s(&es->destroy_status);
		strvec_to_wire(&es->destroy_texts, &xb, &rep.destroy_texts);
		ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, &rep);
	}
	buf_clear(&ub);
	buf_clear(&xb);
	email_set_free(&j->es);
	free(j);
}

void
mail_email_set(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_EMAIL_SET_req *m = msg;
	struct mail_email_job *j;
	struct email_set *es;
	struct wchan *w = arg;
	struct store_error err;
	struct session *s;
	enum ipc_status st;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if (w->sd->stopping) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is stopping", NULL);
		return;
	}
	if ((es = email_set_from_wire(s->account_id, m->if_state,
	    &m->update_ids, &m->flags_add, &m->flags_del, &m->kw_add,
	    &m->kw_del, &m->kw_replace, &m->mb_replace, &m->mb_add_counts,
	    &m->mb_add, &m->mb_del_counts, &m->mb_del, &m->destroy_ids, &st,
	    &err)) == NULL) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->sd = w->sd;
	j->chan_serial = w->serial;
	ipc_reqref_set(&j->ref, f);
	j->es = es;
	if (mail_txnq_submit(w->sd->txnq, NULL, mail_email_set_apply,
	    mail_email_set_done, j, 0) == -1) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is busy", NULL);
		email_set_free(&j->es);
		free(j);
	}
}
