/* SPDX-License-Identifier: ISC */
/*
 * mail_blob.c: BLOB_UPLOAD and BLOB_FILE, the JMAP blobs of jmapd (RFC 8620
 * 6.1 and 6.2; see mail_api.h and upload.h).  An upload goes through the
 * writer of txn.h like a delivery (reading and hashing the descriptor in
 * prepare, storing in apply) and is answered once durable; a read runs in
 * a read transaction on the loop and writes into the worker's memfd.
 */
#include "mail_api.h"
#include "log.h"
#include "session.h"
#include "storaged.h"
#include "upload.h"
#include "worker.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <unistd.h>

/* One BLOB_UPLOAD on its way through the writer. */
struct mail_upload_job {
	struct storaged		*sd;
	uint64_t		 chan_serial;
	struct ipc_reqref	 ref;
	struct upload_job	*u;
};

static enum ipc_status
mail_upload_prepare(void *arg, struct store_error *err)
{
	struct mail_upload_job *j = arg;

	return upload_prepare(j->u, err);
}

static enum ipc_status
mail_upload_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_upload_job *j = arg;

	return upload_apply(db, txn, j->u, err);
}

static void
mail_upload_done(void *arg, enum ipc_status st, const struct store_error *err)
{
	struct mail_upload_job *j = arg;
	struct upload_job *u = j->u;
	struct ipc_BLOB_UPLOAD_rep rep;
	struct wchan *w = worker_find(j->sd, j->chan_serial);

	if (st != IPC_S_OK)
		log_debug("upload failed account=%llu size=%llu status=%s "
		    "why=\"%s\"", (unsigned long long)u->account_id,
		    (unsigned long long)u->size, ipc_status_name(st),
		    err->text);
	if (w == NULL)
		log_warnx("upload reply lost: worker channel closed");
	else if (st != IPC_S_OK)
		ipc_reply_ref(w->chan, &j->ref, st, err->text, NULL);
	else {
		rep.hash.p = u->hash;
		rep.hash.len = sizeof(u->hash);
		rep.expires = u->expires;
		ipc_reply_ref(w->chan, &j->ref, IPC_S_OK, NULL, &rep);
	}
	upload_job_free(&j->u);
	free(j);
}

void
mail_blob_upload(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_BLOB_UPLOAD_req *m = msg;
	struct wchan *w = arg;
	struct mail_upload_job *j;
	struct upload_job *u;
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	int fd;

	if ((fd = ipc_chan_take_fd(c)) == -1) {
		ipc_reply(c, f, IPC_S_INVALID, "no upload descriptor", NULL);
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
	if ((u = upload_job_new(s->account_id, fd, m->size, m->type,
	    storaged_now(), &st, &err)) == NULL) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->sd = w->sd;
	j->chan_serial = w->serial;
	ipc_reqref_set(&j->ref, f);
	j->u = u;
	if (mail_txnq_submit(w->sd->txnq, mail_upload_prepare,
	    mail_upload_apply, mail_upload_done, j, u->size) == -1) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is busy", NULL);
		upload_job_free(&j->u);
		free(j);
	}
}

void
mail_blob_file(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_BLOB_FILE_req *m = msg;
	struct ipc_BLOB_FILE_rep rep;
	struct wchan *w = arg;
	char type[UPLOAD_TYPE_MAX + 1];
	struct store_error err;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;
	int fd;

	/* The descriptor is closed after the handler when not taken. */
	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	fd = ipc_chan_take_fd(c);
	st = upload_file_op(&w->sd->db, txn, s->account_id, m->kind,
	    m->hash.p, m->hash.len, m->email_id, storaged_now(), fd,
	    &rep.size, type, &err);
	db_abort(&txn);
	if (fd != -1)
		close(fd);
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		rep.type = type;
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
}
