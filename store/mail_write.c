/* SPDX-License-Identifier: ISC */
/*
 * mail_write.c: what the handlers of worker writes share (mail_api.h):
 * an operation through the writer of txn.h, answered once durable on the
 * requester's channel if it is still open, and one-shot timers that wake
 * lmtpd (the relay's queue, the push queue) when something comes due.
 */
#include "mail_api.h"
#include "log.h"
#include "storaged.h"
#include "txn.h"
#include "worker.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

/* --- Writes --- */

static enum ipc_status
mail_write_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_write_job *j = arg;

	return j->op(db, txn, j->arg, err);
}

static void
mail_write_done(void *arg, enum ipc_status st, const struct store_error *err)
{
	struct mail_write_job *j = arg;
	struct wchan *w = worker_find(j->sd, j->chan_serial);

	if (st != IPC_S_OK)
		log_debug("%s failed status=%s why=\"%s\"", j->what,
		    ipc_status_name(st), err->text);
	if (st == IPC_S_OK)
		j->reply(j->sd, w, j);
	else if (w != NULL)
		ipc_reply_ref(w->chan, &j->ref, st, err->text, NULL);
	if (w == NULL)
		log_warnx("%s reply lost: worker channel closed", j->what);
	if (j->fd != -1)
		close(j->fd);
	j->free(j->arg);
	free(j);
}

void
mail_write_queue(struct ipc_chan *c, const struct ipc_frame *f,
    struct wchan *w, const char *what, mail_apply_fn *op,
    mail_write_reply_fn *reply, void (*free_fn)(void *), void *arg, int fd)
{
	struct mail_write_job *j;

	if (w->sd->stopping) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is stopping", NULL);
		goto fail;
	}
	j = xcalloc(1, sizeof(*j));
	j->sd = w->sd;
	j->chan_serial = w->serial;
	ipc_reqref_set(&j->ref, f);
	j->what = what;
	j->op = op;
	j->reply = reply;
	j->free = free_fn;
	j->arg = arg;
	j->fd = fd;
	if (mail_txnq_submit(w->sd->txnq, NULL, mail_write_apply,
	    mail_write_done, j, 0) == 0)
		return;
	free(j);
	ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is busy", NULL);
fail:
	if (fd != -1)
		close(fd);
	free_fn(arg);
}

/* --- Waking lmtpd --- */

struct mail_wake {
	struct storaged		*sd;
	mail_wake_fn		*wake;
};

static void
mail_wake_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct mail_wake *x = arg;

	(void)fd;
	(void)ev;
	(void)x->wake(x->sd);
	free(x);
}

void
mail_wake_at(struct storaged *sd, mail_wake_fn *wake, uint64_t when)
{
	struct mail_wake *x;
	struct timeval tv;
	uint64_t now = storaged_now();

	if (when <= now) {
		(void)wake(sd);
		return;
	}
	/* A second late rather than early: due means due <= now. */
	tv.tv_sec = (time_t)(when - now + 1);
	tv.tv_usec = 0;
	x = xcalloc(1, sizeof(*x));
	x->sd = sd;
	x->wake = wake;
	if (event_base_once(sd->base, -1, EV_TIMEOUT, mail_wake_cb, x,
	    &tv) == -1) {
		log_warnx("wake timer failed in=%llu",
		    (unsigned long long)(when - now));
		free(x);
	}
}
