/* SPDX-License-Identifier: ISC */
/*
 * mail_read.c: reads that must not stall the loop (see mail_api.h):
 * a worker's request runs in its own LMDB read transaction on the read
 * pool (sd->rq, a workq whose jobs may read LMDB), and its reply goes out
 * from the loop, on the requester's channel if it is still open.  Used
 * for the reads that copy whole messages into a worker's memfd
 * (MSG_BODY_FILE, BLOB_FILE), as DESIGN.md asks of large reads.
 */
#include "mail_api.h"
#include "log.h"
#include "storaged.h"
#include "worker.h"
#include "workq.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <unistd.h>

struct mail_read_job {
	struct storaged		*sd;
	uint64_t		 chan_serial;
	struct ipc_reqref	 ref;
	const char		*what;
	mail_read_fn		*work;
	mail_read_reply_fn	*reply;
	void			(*free)(void *);
	void			*arg;
	enum ipc_status		 st;
	struct store_error	 err;
};

static void
mail_read_work(void *arg)
{
	struct mail_read_job *j = arg;
	MDB_txn *txn;

	if ((j->st = db_begin(&j->sd->db, false, &txn, &j->err)) !=
	    IPC_S_OK)
		return;
	j->st = j->work(&j->sd->db, txn, j->arg, &j->err);
	db_abort(&txn);
}

static void
mail_read_done(void *arg, bool cancelled)
{
	struct mail_read_job *j = arg;
	struct wchan *w = worker_find(j->sd, j->chan_serial);

	if (cancelled)
		j->st = db_error(&j->err, IPC_S_UNAVAIL, "storaged is "
		    "stopping");
	if (w == NULL)
		log_debug("%s reply lost: worker channel closed", j->what);
	else if (j->st != IPC_S_OK)
		ipc_reply_ref(w->chan, &j->ref, j->st, j->err.text, NULL);
	else
		j->reply(w->chan, &j->ref, j->arg);
	j->free(j->arg);
	free(j);
}

void
mail_read_queue_ref(struct storaged *sd, uint64_t chan_serial,
    const struct ipc_reqref *ref, const char *what, mail_read_fn *work,
    mail_read_reply_fn *reply, void (*free_fn)(void *), void *arg)
{
	struct mail_read_job *j;
	struct wchan *w;

	j = xcalloc(1, sizeof(*j));
	j->sd = sd;
	j->chan_serial = chan_serial;
	j->ref = *ref;
	j->what = what;
	j->work = work;
	j->reply = reply;
	j->free = free_fn;
	j->arg = arg;
	if (!sd->stopping && workq_submit(sd->rq, mail_read_work,
	    mail_read_done, j) == 0)
		return;
	if ((w = worker_find(sd, chan_serial)) != NULL)
		ipc_reply_ref(w->chan, ref, IPC_S_UNAVAIL, sd->stopping ?
		    "storaged is stopping" : "storaged is busy", NULL);
	free(j);
	free_fn(arg);
}

void
mail_read_queue(struct ipc_chan *c, const struct ipc_frame *f,
    struct wchan *w, const char *what, mail_read_fn *work,
    mail_read_reply_fn *reply, void (*free_fn)(void *), void *arg)
{
	struct ipc_reqref ref;

	(void)c;
	ipc_reqref_set(&ref, f);
	mail_read_queue_ref(w->sd, w->serial, &ref, what, work, reply,
	    free_fn, arg);
}
