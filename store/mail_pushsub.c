/* SPDX-License-Identifier: ISC */
/*
 * mail_pushsub.c: JMAP PushSubscription requests (RFC 8620 7.2; see
 * pushsub.h and lib/ipc_types.def): PUSHSUB_LIST in a read transaction
 * on the loop; PUSHSUB_CREATE, _UPDATE and _DEL through the writer of
 * txn.h, each answered once durable; lmtpd's PUSH_TAKE and PUSH_DONE on
 * the loop, against the queue in memory.
 *
 * The queue hears of changes from mail_pushsub_changed(), which notify.c
 * and the other writers call after a commit, as they tell the sessions
 * that watch the account.  lmtpd hears PUSH_WAKE when a push is queued
 * and, through one-shot timers, when a retry becomes due.
 */
#include "mail_api.h"
#include "compat.h"
#include "log.h"
#include "pushsub.h"
#include "pushtypes.h"
#include "session.h"
#include "storaged.h"
#include "submit_int.h"
#include "wire.h"
#include "worker.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>


/* The queue, made on first use. */
static struct pushq *
mail_pushq(struct storaged *sd)
{
	if (sd->pushq == NULL)
		sd->pushq = pushq_new();
	return sd->pushq;
}

/* --- Waking lmtpd --- */

static size_t
mail_push_wake(struct storaged *sd)
{
	struct wchan *w;
	size_t n = 0;

	TAILQ_FOREACH(w, &sd->workers, entry)
		if (strcmp(w->name, "lmtpd") == 0) {
			ipc_send(w->chan, IPC_T_PUSH_WAKE, 0, NULL, -1);
			n++;
		}
	return n;
}

void
mail_pushsub_changed(struct storaged *sd, uint64_t account_id,
    uint64_t delivery)
{
	if (account_id == 0)
		return;
	if (pushq_changed(mail_pushq(sd), &sd->db, account_id, delivery,
	    storaged_now()) > 0)
		(void)mail_push_wake(sd);
}

/* --- Writes --- */

static void
mail_pushsub_free(void *arg)
{
	struct pushsub_op *op = arg;

	pushsub_op_free(&op);
}

/* After a durable write: the queue learns, then the worker. */
static void
mail_pushsub_reply(struct storaged *sd, struct wchan *w,
    struct mail_write_job *j)
{
	struct pushsub_op *op = j->arg;
	struct pushq *q = mail_pushq(sd);
	struct store_error e2;
	MDB_txn *txn;
	uint64_t modseq = 0;
	union {
		struct ipc_PUSHSUB_CREATE_rep c;
		struct ipc_PUSHSUB_UPDATE_rep u;
	} rep;

	if (op->kind == PUSHSUB_OP_CREATE || op->verified_now) {
		/* Changes before now are no news to this subscription. */
		if (db_begin(&sd->db, false, &txn, &e2) == IPC_S_OK) {
			if (submit_state(&sd->db, txn, op->account_id,
			    &modseq, &e2) == IPC_S_OK)
				pushq_seen(q, op->account_id, modseq);
			db_abort(&txn);
		}
	}
	if (op->kind == PUSHSUB_OP_CREATE) {
		/* 7.2.2: the verification goes out at once. */
		pushq_verify(q, op->account_id, op->in.id);
		(void)mail_push_wake(sd);
		log_info("push subscription created account=%llu id=%llu",
		    (unsigned long long)op->account_id,
		    (unsigned long long)op->in.id);
	}
	if (w == NULL)
		return;
	if (op->kind == PUSHSUB_OP_CREATE) {
		rep.c.id = op->in.id;
		rep.c.expires = op->in.expires;
		ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, &rep.c);
	} else if (op->kind == PUSHSUB_OP_UPDATE) {
		rep.u.expires = op->in.expires;
		ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, &rep.u);
	} else
		ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, NULL);
}

/* Queues op for the writer; op is freed whatever happens. */
static void
mail_pushsub_queue(struct ipc_chan *c, const struct ipc_frame *f,
    struct wchan *w, struct pushsub_op *op)
{
	op->now = storaged_now();
	mail_write_queue(c, f, w, "push subscription write", pushsub_op_apply,
	    mail_pushsub_reply, mail_pushsub_free, op, -1);
}

/* --- Requests of jmapd --- */

void
mail_pushsub_list(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct ipc_PUSHSUB_LIST_rep rep;
	struct pushsub_list l = { NULL, 0 };
	struct buf ids = BUF_INIT, exp = BUF_INIT, types = BUF_INIT;
	struct buf ver = BUF_INIT, devs = BUF_INIT, codes = BUF_INIT;
	struct wchan *w = arg;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;
	size_t i;

	(void)msg;
	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = pushsub_list(&w->sd->db, txn, s->account_id, &l, &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		pushsub_list_clear(&l);
		return;
	}
	for (i = 0; i < l.n; i++) {
		wire_u64list_add(&ids, l.v[i].id);
		wire_u64list_add(&exp, l.v[i].expires);
		wire_u64list_add(&types, l.v[i].types);
		wire_u64list_add(&ver, l.v[i].verified);
		wire_strlist_add(&devs, l.v[i].device_id);
		wire_strlist_add(&codes, l.v[i].code);
	}
	rep.ids.count = rep.expires.count = rep.types.count =
	    rep.verified.count = rep.device_ids.count = rep.codes.count =
	    (uint32_t)l.n;
	rep.ids.p = ids.data != NULL ? ids.data : (const uint8_t *)"";
	rep.expires.p = exp.data != NULL ? exp.data : (const uint8_t *)"";
	rep.types.p = types.data != NULL ? types.data : (const uint8_t *)"";
	rep.verified.p = ver.data != NULL ? ver.data : (const uint8_t *)"";
	rep.device_ids.p = devs.data != NULL ? devs.data :
	    (const uint8_t *)"";
	rep.device_ids.len = devs.len;
	rep.codes.p = codes.data != NULL ? codes.data : (const uint8_t *)"";
	rep.codes.len = codes.len;
	ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	buf_clear(&ids);
	buf_clear(&exp);
	buf_clear(&types);
	buf_clear(&ver);
	buf_clear(&devs);
	buf_clear(&codes);
	pushsub_list_clear(&l);
}

void
mail_pushsub_create(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_PUSHSUB_CREATE_req *m = msg;
	struct pushsub_op *op;
	struct wchan *w = arg;
	struct session *s;
	const char *bad = NULL;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if (!pushsub_url_ok(m->url))
		bad = "url";
	else if (strlen(m->device_id) > PUSHSUB_DEVICE_MAX)
		bad = "deviceClientId";
	else if (!(m->p256dh.len == 0 && m->auth.len == 0) &&
	    (m->p256dh.len != WEBPUSH_KEY_LEN || m->p256dh.p[0] != 4 ||
	    m->auth.len != WEBPUSH_AUTH_LEN))
		bad = "keys";
	if (bad != NULL) {
		ipc_reply(c, f, IPC_S_INVALID, bad, NULL);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->kind = PUSHSUB_OP_CREATE;
	op->account_id = s->account_id;
	op->in.device_id = xstrdup(m->device_id);
	op->in.url = xstrdup(m->url);
	if (m->p256dh.len != 0) {
		op->in.has_keys = true;
		memcpy(op->in.p256dh, m->p256dh.p, WEBPUSH_KEY_LEN);
		memcpy(op->in.auth, m->auth.p, WEBPUSH_AUTH_LEN);
	}
	op->in.expires = m->expires;
	op->in.types = m->types;
	mail_pushsub_queue(c, f, w, op);
}

void
mail_pushsub_update(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_PUSHSUB_UPDATE_req *m = msg;
	struct pushsub_op *op;
	struct wchan *w = arg;
	struct session *s;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	op = xcalloc(1, sizeof(*op));
	op->kind = PUSHSUB_OP_UPDATE;
	op->account_id = s->account_id;
	op->what = m->what;
	op->in.id = m->id;
	/* A code of another length never matches (sodium_memcmp). */
	strlcpy(op->in.code, m->code, sizeof(op->in.code));
	if (strlen(m->code) != PUSHSUB_CODE_LEN)
		op->in.code[0] = '\0';
	op->in.expires = m->expires;
	op->in.types = m->types;
	mail_pushsub_queue(c, f, w, op);
}

void
mail_pushsub_del(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_PUSHSUB_DEL_req *m = msg;
	struct pushsub_op *op;
	struct wchan *w = arg;
	struct session *s;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	op = xcalloc(1, sizeof(*op));
	op->kind = PUSHSUB_OP_DEL;
	op->account_id = s->account_id;
	op->in.id = m->id;
	mail_pushsub_queue(c, f, w, op);
}

/* --- lmtpd's takes --- */

static bool
mail_push_allowed(struct ipc_chan *c, const struct ipc_frame *f,
    const struct wchan *w)
{
	if (strcmp(w->name, "lmtpd") == 0)
		return true;
	log_warnx("push request refused name=%s pid=%u", w->name, w->pid);
	ipc_reply(c, f, IPC_S_DENIED, "only lmtpd pushes", NULL);
	return false;
}

void
mail_push_take(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct ipc_PUSH_TAKE_rep rep;
	struct pushq_take t;
	struct wchan *w = arg;
	struct store_error err;
	enum ipc_status st;

	(void)msg;
	if (!mail_push_allowed(c, f, w))
		return;
	st = pushq_take(mail_pushq(w->sd), &w->sd->db, storaged_now(), &t,
	    &err);
	if (st != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	log_debug("push taken account=%llu id=%llu bytes=%zu",
	    (unsigned long long)t.account_id, (unsigned long long)t.id,
	    t.body.len);
	rep.account_id = t.account_id;
	rep.id = t.id;
	rep.token = t.token;
	rep.url = t.url;
	rep.body.p = t.body.data != NULL ? t.body.data : (const uint8_t *)"";
	rep.body.len = (uint32_t)t.body.len;
	rep.encoding = t.encrypted ? "aes128gcm" : "";
	rep.ttl = t.ttl;
	ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	pushq_take_clear(&t);
	/* Taken again after the lease if lmtpd loses it. */
	mail_wake_at(w->sd, mail_push_wake, storaged_now() + PUSHQ_LEASE);
}

/* After a 404 or 410 the subscription goes; nobody waits for it. */
static void
mail_push_gone_done(void *arg, enum ipc_status st,
    const struct store_error *err)
{
	struct pushsub_op *op = arg;

	if (st == IPC_S_OK)
		log_info("push subscription destroyed account=%llu id=%llu: "
		    "gone at the push service",
		    (unsigned long long)op->account_id,
		    (unsigned long long)op->in.id);
	else if (st != IPC_S_NOTFOUND)
		log_warnx("push subscription destroy failed: %s", err->text);
	pushsub_op_free(&op);
}

void
mail_push_done(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_PUSH_DONE_req *m = msg;
	struct pushsub_op *op;
	struct wchan *w = arg;
	uint64_t retry_at = 0;
	int gone;

	if (!mail_push_allowed(c, f, w))
		return;
	gone = pushq_done(mail_pushq(w->sd), m->account_id, m->id, m->token,
	    m->status, storaged_now(), &retry_at);
	log_debug("push done account=%llu id=%llu status=%u",
	    (unsigned long long)m->account_id, (unsigned long long)m->id,
	    m->status);
	ipc_reply(c, f, IPC_S_OK, NULL, NULL);
	if (retry_at != 0)
		mail_wake_at(w->sd, mail_push_wake, retry_at);
	if (!gone)
		return;
	op = xcalloc(1, sizeof(*op));
	op->kind = PUSHSUB_OP_DEL;
	op->account_id = m->account_id;
	op->in.id = m->id;
	op->now = storaged_now();
	if (mail_txnq_submit(w->sd->txnq, NULL, pushsub_op_apply,
	    mail_push_gone_done, op, 0) == 0)
		return;
	pushsub_op_free(&op);
}
