/* SPDX-License-Identifier: ISC */
/*
 * mail_msg.c: the message requests of protocol workers (see mail_api.h):
 * each handler checks the session, turns the request into a call of
 * mail_msg.h and its result into the reply.  Reads run in a read
 * transaction on the loop; writes go through the writer of txn.h and reply
 * once durable, then notify the sessions that selected a mailbox they
 * changed (notify.h).
 */
#include "mail_api.h"
#include "log.h"
#include "mail_msg.h"
#include "msgsearch.h"
#include "casemap.h"
#include "notify.h"
#include "session.h"
#include "storaged.h"
#include "worker.h"
#include "xmalloc.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Checks a request's uid vector; replies IPC_S_INVALID if it is not one. */
static bool
mail_msg_uids_ok(struct ipc_chan *c, const struct ipc_frame *f,
    const struct wire_bytes *b, uint32_t *n_r)
{
	if (mail_uids_check(b->p, b->len, n_r) == 0)
		return true;
	ipc_reply(c, f, IPC_S_INVALID, "not a uid vector", NULL);
	return false;
}

static struct wire_bytes
mail_msg_bytes(const struct mail_vec *v)
{
	return mail_buf_bytes(&v->b);
}

/* --- Reads --- */

void
mail_mbox_select(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MBOX_SELECT_req *m = msg;
	struct ipc_MBOX_SELECT_rep rep;
	struct wchan *w = arg;
	struct buf kb = BUF_INIT;
	struct mail_select r;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	s->selected = 0;
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	st = mail_msg_select_op(&w->sd->db, txn, s->account_id, m->mailbox_id,
	    m->limit, &r, &err);
	db_abort(&txn);
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		s->selected = m->mailbox_id;
		rep.uidvalidity = r.mb.uidvalidity;
		rep.uidnext = r.mb.uidnext;
		rep.highestmodseq = r.mb.highestmodseq;
		rep.exists = r.mb.total;
		rep.uids = mail_msg_bytes(&r.uids);
		rep.unseen = r.unseen;
		strvec_to_wire(&r.keywords, &kb, &rep.keywords);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	mail_select_clear(&r);
	buf_clear(&kb);
}

void
mail_mbox_close(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct wchan *w = arg;
	struct session *s;

	(void)c;
	(void)msg;
	/* One-way: no reply, not even to a session that is not bound. */
	if ((s = session_find(&w->sessions, f->session)) != NULL)
		s->selected = 0;
}

void
mail_msg_uids(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	const struct ipc_MSG_UIDS_req *m = msg;
	struct ipc_MSG_UIDS_rep rep;
	struct wchan *w = arg;
	struct mail_vec uids;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;
	bool more;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	memset(&uids, 0, sizeof(uids));
	st = mail_msg_uids_op(&w->sd->db, txn, s->account_id, m->mailbox_id,
	    m->after_uid, m->limit, &uids, &more, &err);
	db_abort(&txn);
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		rep.uids = mail_msg_bytes(&uids);
		rep.more = more;
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	mail_vec_clear(&uids);
}

void
mail_mbox_sync(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	const struct ipc_MBOX_SYNC_req *m = msg;
	struct ipc_MBOX_SYNC_rep rep;
	struct wchan *w = arg;
	struct buf kb = BUF_INIT;
	struct mail_sync r;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	st = mail_msg_sync_op(&w->sd->db, txn, s->account_id, m->mailbox_id,
	    m->since, m->after, 0, &r, &err);
	db_abort(&txn);
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		rep.highestmodseq = r.highestmodseq;
		rep.uidnext = r.uidnext;
		rep.added = mail_msg_bytes(&r.added);
		rep.vanished = mail_msg_bytes(&r.vanished);
		rep.absent = mail_msg_bytes(&r.absent);
		rep.next = r.next;
		rep.changed = mail_msg_bytes(&r.changed);
		rep.modseqs = mail_vec_u64s(&r.modseqs);
		rep.flags = mail_vec_u64s(&r.flags);
		strvec_to_wire(&r.keywords, &kb, &rep.keywords);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	mail_sync_clear(&r);
	buf_clear(&kb);
}

static void	mail_msg_text_keys_clear(struct mail_text_keys *);

/* SEARCH's text keys of a MSG_FETCH, checked; false: refused (replied). */
static bool
mail_msg_text_keys(struct ipc_chan *c, const struct ipc_frame *f,
    const struct ipc_MSG_FETCH_req *m, struct mail_text_keys *k)
{
	struct wire_iter fi, vi;
	struct buf key = BUF_INIT;
	const char *v;
	char *kv;
	uint32_t i;

	memset(k, 0, sizeof(*k));
	if (m->text_kinds.count == 0)
		return true;
	if (m->text_kinds.count > MSGSEARCH_MAX_KEYS ||
	    m->text_fields.count != m->text_kinds.count ||
	    m->text_values.count != m->text_kinds.count) {
		ipc_reply(c, f, IPC_S_INVALID, "bad text keys", NULL);
		return false;
	}
	k->n = m->text_kinds.count;
	k->kinds = xreallocarray(NULL, k->n, sizeof(*k->kinds));
	k->fields = xreallocarray(NULL, k->n, sizeof(*k->fields));
	k->values = xcalloc(k->n, sizeof(*k->values));
	k->vlens = xreallocarray(NULL, k->n, sizeof(*k->vlens));
	wire_strlist_iter(&m->text_fields, &fi);
	wire_strlist_iter(&m->text_values, &vi);
	for (i = 0; i < k->n; i++) {
		k->kinds[i] = wire_u64list_get(&m->text_kinds, i);
		k->fields[i] = wire_strlist_next(&fi);
		/* Matched in i;unicode-casemap: the string's key, once. */
		v = wire_strlist_next(&vi);
		buf_reset(&key);
		(void)casemap_key(v, strlen(v), &key);
		kv = xmalloc(key.len + 1);
		if (key.len > 0)
			memcpy(kv, key.data, key.len);
		kv[key.len] = '\0';
		k->values[i] = kv;
		k->vlens[i] = key.len;
		if (k->kinds[i] < MSGSEARCH_FROM ||
		    k->kinds[i] > MSGSEARCH_TEXT) {
			k->n = i + 1;
			buf_clear(&key);
			mail_msg_text_keys_clear(k);
			ipc_reply(c, f, IPC_S_INVALID, "bad text key", NULL);
			return false;
		}
	}
	buf_clear(&key);
	return true;
}

static void
mail_msg_text_keys_clear(struct mail_text_keys *k)
{
	uint32_t i;

	/* The values are the keys made in mail_msg_text_keys(), owned. */
	for (i = 0; k->values != NULL && i < k->n; i++)
		free((void *)(uintptr_t)k->values[i]);
	free(k->kinds);
	free(k->fields);
	free(k->values);
	free(k->vlens);
	memset(k, 0, sizeof(*k));
}

void
mail_msg_fetch(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	const struct ipc_MSG_FETCH_req *m = msg;
	struct ipc_MSG_FETCH_rep rep;
	struct wchan *w = arg;
	struct buf kb = BUF_INIT;
	struct mail_text_keys keys;
	struct mail_fetch r;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	uint32_t n;

	if ((s = worker_session_bound(c, f, w)) == NULL ||
	    !mail_msg_uids_ok(c, f, &m->uids, &n) ||
	    !mail_msg_text_keys(c, f, m, &keys))
		return;
	st = mail_msg_fetch_par(&w->sd->db, w->sd->rp, s->account_id,
	    m->mailbox_id, m->uids.p, n, (m->with_record ? MAIL_FETCH_RECORD :
	    0) | (m->imap_items ? MAIL_FETCH_IMAP : 0) |
	    (m->hits_only ? MAIL_FETCH_HITS : 0), &keys, m->body_max,
	    &r, &err);
	mail_msg_text_keys_clear(&keys);
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		rep.done = r.done;
		rep.found = mail_msg_bytes(&r.found);
		rep.email_ids = mail_vec_u64s(&r.email_ids);
		rep.thread_ids = mail_vec_u64s(&r.thread_ids);
		rep.modseqs = mail_vec_u64s(&r.modseqs);
		rep.flags = mail_vec_u64s(&r.flags);
		strvec_to_wire(&r.keywords, &kb, &rep.keywords);
		rep.received = mail_vec_u64s(&r.received);
		rep.saved = mail_vec_u64s(&r.saved);
		rep.sizes = mail_vec_u64s(&r.sizes);
		rep.records.p = r.records.data;
		rep.records.len = (uint32_t)r.records.len;
		rep.record_lens = mail_vec_u64s(&r.record_lens);
		rep.imap.p = r.imap.data;
		rep.imap.len = (uint32_t)r.imap.len;
		rep.imap_lens = mail_vec_u64s(&r.imap_lens);
		rep.text_hits.p = r.text_hits.data;
		rep.text_hits.len = (uint32_t)r.text_hits.len;
		rep.bodies.p = r.bodies.data;
		rep.bodies.len = (uint32_t)r.bodies.len;
		rep.body_lens = mail_vec_u64s(&r.body_lens);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	mail_fetch_clear(&r);
	buf_clear(&kb);
}

void
mail_msg_body(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	const struct ipc_MSG_BODY_req *m = msg;
	struct ipc_MSG_BODY_rep rep;
	struct wchan *w = arg;
	struct buf data = BUF_INIT;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	st = mail_msg_body_op(&w->sd->db, txn, s->account_id, m->mailbox_id,
	    m->uid, m->offset, m->length, &rep.size, &data, &err);
	db_abort(&txn);
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		rep.data.p = data.data;
		rep.data.len = (uint32_t)data.len;
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	buf_clear(&data);
}

/* One MSG_BODY_FILE or MSG_FILE on the read pool (mail_read.c). */
struct mail_body_read {
	uint64_t		 account_id;
	uint32_t		 mailbox_id, uid;
	int			 fd;
	uint64_t		 size;		/* out */
	int			 file_fd;	/* out: its blob file, or -1 */
	bool			 file_only;	/* MSG_FILE (fd is -1) */
};

static enum ipc_status
mail_body_file_work(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_body_read *r = arg;

	return mail_msg_body_file_op(db, txn, r->account_id, r->mailbox_id,
	    r->uid, r->fd, &r->size, &r->file_fd, err);
}

static void
mail_body_file_reply(struct ipc_chan *c, const struct ipc_reqref *ref,
    void *arg)
{
	struct mail_body_read *r = arg;
	struct ipc_MSG_BODY_FILE_rep rep;
	struct ipc_MSG_FILE_rep frep;

	rep.size = frep.size = r->size;
	ipc_reply_ref_fd(c, ref, IPC_S_OK, NULL, r->file_only ?
	    (const void *)&frep : (const void *)&rep, r->file_fd);
	r->file_fd = -1;
}

static void
mail_body_read_free(void *arg)
{
	struct mail_body_read *r = arg;

	if (r->fd != -1)
		close(r->fd);
	if (r->file_fd != -1)
		close(r->file_fd);
	free(r);
}

/*
 * Queues the read of one message for the session of c (MSG_BODY_FILE with
 * the memfd the request carried, MSG_FILE with none).
 */
static void
mail_body_read_queue(struct ipc_chan *c, const struct ipc_frame *f,
    struct wchan *w, uint32_t mailbox_id, uint32_t uid, bool file_only)
{
	struct mail_body_read *r;
	struct session *s;

	/* The descriptor is closed after the handler when not taken. */
	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	r = xcalloc(1, sizeof(*r));
	r->account_id = s->account_id;
	r->mailbox_id = mailbox_id;
	r->uid = uid;
	r->fd = file_only ? -1 : ipc_chan_take_fd(c);
	r->file_fd = -1;
	r->file_only = file_only;
	mail_read_queue(c, f, w, "message file", mail_body_file_work,
	    mail_body_file_reply, mail_body_read_free, r);
}

void
mail_msg_body_file(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MSG_BODY_FILE_req *m = msg;

	mail_body_read_queue(c, f, arg, m->mailbox_id, m->uid, false);
}

/* MSG_FILE: as MSG_BODY_FILE, with no memfd to copy into. */
void
mail_msg_file(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MSG_FILE_req *m = msg;

	mail_body_read_queue(c, f, arg, m->mailbox_id, m->uid, true);
}

/* --- Writes --- */

/* One write on its way through the writer. */
struct mail_msg_job {
	struct storaged		*sd;
	uint64_t		 chan_serial;
	struct ipc_reqref	 ref;
	uint64_t		 account_id;
	uint8_t			*uids;		/* owned copy */
	union {
		struct mail_store	 store;
		struct mail_expunge	 expunge;
		struct mail_copy	 copy;
	} u;
};

static struct mail_msg_job *
mail_msg_job_new(struct wchan *w, const struct ipc_frame *f,
    const struct session *s, const struct wire_bytes *uids)
{
	struct mail_msg_job *j = xcalloc(1, sizeof(*j));

	j->sd = w->sd;
	j->chan_serial = w->serial;
	ipc_reqref_set(&j->ref, f);
	j->account_id = s->account_id;
	j->uids = xmalloc(uids->len > 0 ? uids->len : 1);
	memcpy(j->uids, uids->p, uids->len);
	return j;
}

/* Queues job j; replies and frees it if it cannot be. */
static void
mail_msg_submit(struct ipc_chan *c, const struct ipc_frame *f,
    struct mail_msg_job *j, mail_apply_fn *apply, mail_done_fn *done,
    void (*clear)(struct mail_msg_job *))
{
	if (j->sd->stopping)
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is stopping", NULL);
	else if (mail_txnq_submit(j->sd->txnq, NULL, apply, done, &j->u,
	    0) == -1)
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is busy", NULL);
	else
		return;
	clear(j);
	free(j->uids);
	free(j);
}

/* The job of a write's union member u. */
static struct mail_msg_job *
mail_msg_job_of(void *u)
{
	return (struct mail_msg_job *)((char *)u -
	    offsetof(struct mail_msg_job, u));
}

/* The channel to reply on, or NULL (logged) if it closed. */
static struct ipc_chan *
mail_msg_chan(struct mail_msg_job *j, const char *what)
{
	struct wchan *w = worker_find(j->sd, j->chan_serial);

	if (w != NULL)
		return w->chan;
	log_warnx("%s reply lost: worker channel closed", what);
	return NULL;
}

static void
mail_msg_notify(struct mail_msg_job *j, const struct msgops_mboxes *ms)
{
	struct notify_origin o = { j->chan_serial, j->ref.session };
	size_t i;

	for (i = 0; i < ms->n; i++)
		if (ms->hms[i] != 0)
			notify_mailbox(j->sd, j->account_id, ms->ids[i],
			    ms->hms[i], &o);
}

static void
mail_msg_job_free(struct mail_msg_job *j)
{
	free(j->uids);
	free(j);
}

static void
mail_store_clear_job(struct mail_msg_job *j)
{
	mail_store_clear(&j->u.store);
}

static void
mail_store_done(void *arg, enum ipc_status st, const struct store_error *err)
{
	struct mail_msg_job *j = mail_msg_job_of(arg);
	struct mail_store *r = &j->u.store;
	struct ipc_MSG_STORE_rep rep;
	struct buf kb = BUF_INIT;
	struct ipc_chan *c = mail_msg_chan(j, "store");

	if (st == IPC_S_OK)
		mail_msg_notify(j, &r->touched);
	if (c != NULL && st != IPC_S_OK)
		ipc_reply_ref(c, &j->ref, st, err->text, NULL);
	else if (c != NULL) {
		rep.changed = mail_msg_bytes(&r->changed);
		rep.modseqs = mail_vec_u64s(&r->modseqs);
		rep.flags = mail_vec_u64s(&r->flags_out);
		strvec_to_wire(&r->keywords, &kb, &rep.keywords);
		rep.modified = mail_msg_bytes(&r->modified);
		rep.highestmodseq = r->highestmodseq;
		rep.done = r->done;
		ipc_reply_ref(c, &j->ref, IPC_S_OK, NULL, &rep);
	}
	buf_clear(&kb);
	mail_store_clear(r);
	mail_msg_job_free(j);
}

void
mail_msg_store(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	const struct ipc_MSG_STORE_req *m = msg;
	struct wchan *w = arg;
	struct mail_msg_job *j;
	struct mail_store *r;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	uint32_t n;

	if ((s = worker_session_bound(c, f, w)) == NULL ||
	    !mail_msg_uids_ok(c, f, &m->uids, &n))
		return;
	if (m->mode > MAIL_STORE_REMOVE ||
	    (m->flags & ~(uint64_t)MAIL_F_ALL) != 0) {
		ipc_reply(c, f, IPC_S_INVALID, "bad mode or flags", NULL);
		return;
	}
	j = mail_msg_job_new(w, f, s, &m->uids);
	r = &j->u.store;
	if ((st = mail_keywords_parse(m->keywords, r->kw, &r->nkw, &err)) !=
	    IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		mail_msg_job_free(j);
		return;
	}
	r->account_id = s->account_id;
	r->mailbox_id = m->mailbox_id;
	r->uids = j->uids;
	r->nuids = n;
	r->mode = (enum mail_store_mode)m->mode;
	r->flags = (uint32_t)m->flags;
	r->unchangedsince = m->unchangedsince;
	mail_msg_submit(c, f, j, mail_msg_store_op, mail_store_done,
	    mail_store_clear_job);
}

static void
mail_expunge_clear_job(struct mail_msg_job *j)
{
	mail_expunge_clear(&j->u.expunge);
}

static void
mail_expunge_done(void *arg, enum ipc_status st,
    const struct store_error *err)
{
	struct mail_msg_job *j = mail_msg_job_of(arg);
	struct mail_expunge *r = &j->u.expunge;
	struct ipc_MSG_EXPUNGE_rep rep;
	struct ipc_chan *c = mail_msg_chan(j, "expunge");

	if (st == IPC_S_OK)
		mail_msg_notify(j, &r->touched);
	if (c != NULL && st != IPC_S_OK)
		ipc_reply_ref(c, &j->ref, st, err->text, NULL);
	else if (c != NULL) {
		rep.expunged = mail_msg_bytes(&r->expunged);
		rep.highestmodseq = r->highestmodseq;
		ipc_reply_ref(c, &j->ref, IPC_S_OK, NULL, &rep);
	}
	mail_expunge_clear(r);
	mail_msg_job_free(j);
}

void
mail_msg_expunge(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MSG_EXPUNGE_req *m = msg;
	struct wchan *w = arg;
	struct mail_msg_job *j;
	struct session *s;
	uint32_t n;

	if ((s = worker_session_bound(c, f, w)) == NULL ||
	    !mail_msg_uids_ok(c, f, &m->uids, &n))
		return;
	j = mail_msg_job_new(w, f, s, &m->uids);
	j->u.expunge.account_id = s->account_id;
	j->u.expunge.mailbox_id = m->mailbox_id;
	j->u.expunge.uids = j->uids;
	j->u.expunge.nuids = n;
	mail_msg_submit(c, f, j, mail_msg_expunge_op, mail_expunge_done,
	    mail_expunge_clear_job);
}

static void
mail_copy_clear_job(struct mail_msg_job *j)
{
	mail_copy_clear(&j->u.copy);
}

static void
mail_copy_done(void *arg, enum ipc_status st, const struct store_error *err)
{
	struct mail_msg_job *j = mail_msg_job_of(arg);
	struct mail_copy *r = &j->u.copy;
	struct ipc_MSG_COPY_rep rep;
	struct ipc_chan *c = mail_msg_chan(j, "copy");

	if (st == IPC_S_OK)
		mail_msg_notify(j, &r->touched);
	if (c != NULL && st != IPC_S_OK)
		ipc_reply_ref(c, &j->ref, st, err->text, NULL);
	else if (c != NULL) {
		rep.uidvalidity = r->uidvalidity;
		rep.src_uids = mail_msg_bytes(&r->src_uids);
		rep.dst_uids = mail_msg_bytes(&r->dst_uids);
		rep.highestmodseq = r->highestmodseq;
		ipc_reply_ref(c, &j->ref, IPC_S_OK, NULL, &rep);
	}
	mail_copy_clear(r);
	mail_msg_job_free(j);
}

void
mail_msg_copy(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	const struct ipc_MSG_COPY_req *m = msg;
	struct wchan *w = arg;
	struct mail_msg_job *j;
	struct session *s;
	uint32_t n;

	if ((s = worker_session_bound(c, f, w)) == NULL ||
	    !mail_msg_uids_ok(c, f, &m->uids, &n))
		return;
	j = mail_msg_job_new(w, f, s, &m->uids);
	j->u.copy.account_id = s->account_id;
	j->u.copy.mailbox_id = m->mailbox_id;
	j->u.copy.uids = j->uids;
	j->u.copy.nuids = n;
	j->u.copy.to_mailbox = m->to_mailbox;
	j->u.copy.move = m->move;
	mail_msg_submit(c, f, j, mail_msg_copy_op, mail_copy_done,
	    mail_copy_clear_job);
}

/* --- MSG_APPEND --- */

struct mail_append_job {
	struct storaged		*sd;
	uint64_t		 chan_serial;
	struct ipc_reqref	 ref;
	struct mail_append	*a;
};

static enum ipc_status
mail_append_job_prepare(void *arg, struct store_error *err)
{
	struct mail_append_job *j = arg;

	return mail_append_prepare(j->a, err);
}

static enum ipc_status
mail_append_job_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_append_job *j = arg;

	return mail_append_apply(db, txn, j->a, err);
}

static void
mail_append_done(void *arg, enum ipc_status st, const struct store_error *err)
{
	struct mail_append_job *j = arg;
	struct mail_append *a = j->a;
	struct ipc_MSG_APPEND_rep rep;
	struct wchan *w = worker_find(j->sd, j->chan_serial);
	struct notify_origin o = { j->chan_serial, j->ref.session };

	if (st == IPC_S_OK)
		notify_mailbox(j->sd, a->account_id, a->mailbox_id,
		    a->highestmodseq, &o);
	else
		log_debug("append failed account=%llu mailbox=%u status=%s "
		    "why=\"%s\"", (unsigned long long)a->account_id,
		    a->mailbox_id, ipc_status_name(st), err->text);
	if (w == NULL)
		log_warnx("append reply lost: worker channel closed");
	else if (st != IPC_S_OK)
		ipc_reply_ref(w->chan, &j->ref, st, err->text, NULL);
	else {
		rep.uidvalidity = a->uidvalidity;
		rep.uids = mail_msg_bytes(&a->uids);
		rep.email_ids = mail_vec_u64s(&a->email_ids);
		rep.highestmodseq = a->highestmodseq;
		ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, &rep);
	}
	mail_append_free(&j->a);
	free(j);
}

void
mail_msg_append(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MSG_APPEND_req *m = msg;
	struct wchan *w = arg;
	struct mail_append_job *j;
	struct mail_append *a;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	int fd;

	if ((fd = ipc_chan_take_fd(c)) == -1) {
		ipc_reply(c, f, IPC_S_INVALID, "no message descriptor", NULL);
		return;
	}
	if ((s = worker_session_bound(c, f, w)) == NULL) {
		close(fd);
		return;
	}
	if (w->sd->stopping) {
		close(fd);
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is stopping", NULL);
		return;
	}
	if ((a = mail_append_new(s->account_id, m->mailbox_id, fd,
	    storaged_now(), &m->sizes, &m->flags, &m->keywords, &m->received,
	    m->records.p, m->records.len, &m->record_lens, &st, &err)) ==
	    NULL) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->sd = w->sd;
	j->chan_serial = w->serial;
	ipc_reqref_set(&j->ref, f);
	j->a = a;
	a->db = &w->sd->db;
	if (mail_txnq_submit(w->sd->txnq, mail_append_job_prepare,
	    mail_append_job_apply, mail_append_done, j,
	    a->total + m->records.len) == -1) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is busy", NULL);
		mail_append_free(&j->a);
		free(j);
	}
}
