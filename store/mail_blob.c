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
#include <string.h>
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
	u->db = &w->sd->db;
	if (mail_txnq_submit(w->sd->txnq, mail_upload_prepare,
	    mail_upload_apply, mail_upload_done, j, u->size) == -1) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is busy", NULL);
		upload_job_free(&j->u);
		free(j);
	}
}

/* One BLOB_FILE on the read pool (mail_read.c). */
struct mail_blob_read {
	uint64_t		 account_id, email_id, now;
	uint32_t		 kind;
	uint8_t			 hash[MSG_HASH_LEN];
	size_t			 hash_len;
	int			 fd;
	bool			 file_ok;
	uint64_t		 size;		/* out */
	int			 file_fd;	/* out: the blob's file, or -1 */
	char			 type[UPLOAD_TYPE_MAX + 1];
};

static enum ipc_status
mail_blob_file_work(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_blob_read *r = arg;

	return upload_file_op(db, txn, r->account_id, r->kind, r->hash,
	    r->hash_len, r->email_id, r->now, r->fd, r->file_ok, &r->file_fd,
	    &r->size, r->type, err);
}

static void
mail_blob_file_reply(struct ipc_chan *c, const struct ipc_reqref *ref,
    void *arg)
{
	struct mail_blob_read *r = arg;
	struct ipc_BLOB_FILE_rep rep;

	rep.size = r->size;
	rep.type = r->type;
	ipc_reply_ref_fd(c, ref, IPC_S_OK, NULL, &rep, r->file_fd);
	r->file_fd = -1;
}

static void
mail_blob_read_free(void *arg)
{
	struct mail_blob_read *r = arg;

	if (r->fd != -1)
		close(r->fd);
	if (r->file_fd != -1)
		close(r->file_fd);
	free(r);
}

void
mail_blob_file(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_BLOB_FILE_req *m = msg;
	struct mail_blob_read *r;
	struct wchan *w = arg;
	struct session *s;

	/* The descriptor is closed after the handler when not taken. */
	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	r = xcalloc(1, sizeof(*r));
	r->account_id = s->account_id;
	r->kind = m->kind;
	r->email_id = m->email_id;
	r->file_ok = m->file_ok;
	r->file_fd = -1;
	r->now = storaged_now();
	/* A hash of another length is refused by upload_file_op. */
	r->hash_len = m->hash.len;
	if (m->hash.len <= sizeof(r->hash))
		memcpy(r->hash, m->hash.p, m->hash.len);
	r->fd = ipc_chan_take_fd(c);
	mail_read_queue(c, f, w, "blob file", mail_blob_file_work,
	    mail_blob_file_reply, mail_blob_read_free, r);
}
