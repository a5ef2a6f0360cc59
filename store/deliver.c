/* SPDX-License-Identifier: ISC */
/*
 * deliver.c: RCPT_RESOLVE and DELIVER from lmtpd (see deliver.h).  The
 * loop thread only checks the request and queues it: reading the message,
 * hashing, checking its record and the durable write happen on the writer
 * thread of txn.c (deliver_job.c).
 */
#include "deliver.h"
#include "compat.h"
#include "log.h"
#include "notify.h"
#include "rcpt.h"
#include "storaged.h"
#include "worker.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a stored delivery tells the sessions and the relay queue. */
struct deliver_news {
	struct storaged		*sd;
	uint64_t		 account_id, modseq;
	uint32_t		 mailbox_id;
	bool			 stored, vacation;
};

/*
 * Once the delivery is committed (txn.h): the sessions that then read
 * the store find it without making the writer commit early.
 */
static void
deliver_tell(void *arg)
{
	struct deliver_news *n = arg;

	if (n->stored) {
		/* Its modseq: no read of the store on the loop. */
		notify_mailbox(n->sd, n->account_id, n->mailbox_id, n->modseq,
		    NULL);
		notify_delivered(n->sd, n->account_id, n->mailbox_id,
		    n->modseq);
	}
	if (n->vacation)
		notify_relay_wake(n->sd);
	free(n);
}

/* The job is durable, or failed: reply on its channel if still open. */
static void
deliver_done(void *arg, enum ipc_status st, const struct store_error *err)
{
	struct deliver_job *j = arg;
	struct ipc_DELIVER_rep rep;
	struct wchan *w = worker_find(j->sd, j->chan_serial);
	struct deliver_news *n;

	if (st == IPC_S_OK)
		log_debug("deliver ok account=%llu mailbox=%u email=%llu "
		    "uid=%u size=%zu duplicate=%d",
		    (unsigned long long)j->in.account_id, j->in.mailbox_id,
		    (unsigned long long)j->out.email_id, j->out.uid,
		    j->in.size, j->out.duplicate);
	else
		log_info("deliver failed account=%llu mailbox=%u status=%s "
		    "why=\"%s\"", (unsigned long long)j->in.account_id,
		    j->in.mailbox_id, ipc_status_name(st), err->text);
	if (st == IPC_S_OK && (!j->out.duplicate || j->vacation)) {
		n = xcalloc(1, sizeof(*n));
		n->sd = j->sd;
		n->account_id = j->in.account_id;
		n->mailbox_id = j->in.mailbox_id;
		n->modseq = j->out.modseq;
		n->stored = !j->out.duplicate;
		n->vacation = j->vacation;
		mail_txnq_after_commit(j->sd->txnq, deliver_tell, n);
	}
	if (w == NULL)
		log_warnx("deliver reply lost: lmtpd channel closed");
	else if (st != IPC_S_OK)
		ipc_reply_ref(w->chan, &j->ref, st, err->text, NULL);
	else {
		rep.email_id = j->out.email_id;
		rep.uid = j->out.uid;
		rep.modseq = j->out.modseq;
		rep.duplicate = j->out.duplicate;
		ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, &rep);
	}
	deliver_job_free(&j);
}

/* Only lmtpd delivers. */
static bool
deliver_allowed(struct ipc_chan *c, const struct ipc_frame *f,
    const struct wchan *w)
{
	if (strcmp(w->name, "lmtpd") == 0)
		return true;
	log_warnx("delivery request refused name=%s pid=%u", w->name, w->pid);
	ipc_reply(c, f, IPC_S_DENIED, "only lmtpd delivers", NULL);
	return false;
}

void
deliver_rcpt_resolve(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_RCPT_RESOLVE_req *m = msg;
	struct ipc_RCPT_RESOLVE_rep rep;
	struct wchan *w = arg;
	struct store_error err;
	struct rcpt_result r;
	enum ipc_status st;

	if (!deliver_allowed(c, f, w))
		return;
	if ((st = rcpt_resolve(&w->sd->db, m->address, &r, &err)) !=
	    IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	rep.account_id = r.account_id;
	rep.account = r.account;
	rep.mailbox_id = r.mailbox_id;
	rep.mailbox = r.mailbox;
	rep.over_quota = r.over_quota;
	ipc_reply(c, f, IPC_S_OK, NULL, &rep);
}

void
deliver_deliver(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_DELIVER_req *m = msg;
	struct wchan *w = arg;
	struct deliver_job *j;
	int fd;

	if (!deliver_allowed(c, f, w))
		return;
	if ((fd = ipc_chan_take_fd(c)) == -1) {
		ipc_reply(c, f, IPC_S_INVALID, "no message descriptor", NULL);
		return;
	}
	if (m->size == 0 || m->size > DELIVER_MAX_SIZE) {
		close(fd);
		ipc_reply(c, f, m->size == 0 ? IPC_S_INVALID : IPC_S_TOOBIG,
		    "message size not accepted", NULL);
		return;
	}
	if (w->sd->stopping) {
		close(fd);
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is stopping", NULL);
		return;
	}
	j = deliver_job_new(m->account_id, m->mailbox_id, m->received,
	    m->size, m->record.p, m->record.len, fd, storaged_now());
	/* Without a relay a vacation reply could never leave: none is made. */
	if (w->sd->conf.relay)
		deliver_job_envelope(j, m->envelope_from, m->recipient);
	j->sd = w->sd;
	j->db = &w->sd->db;
	j->chan_serial = w->serial;
	ipc_reqref_set(&j->ref, f);
	if (mail_txnq_submit_logged(w->sd->txnq, deliver_prepare,
	    deliver_apply, deliver_log, deliver_done, j,
	    m->size + m->record.len) == -1) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is busy", NULL);
		deliver_job_free(&j);
	}
}
