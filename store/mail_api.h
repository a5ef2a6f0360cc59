/* SPDX-License-Identifier: ISC */
/*
 * mail_api.h: the mail requests of protocol workers (imapd, jmapd), the
 * MBOX_* and MSG_* types of lib/ipc_types.def.  Each acts for the frame's
 * session, which must be bound to an account (worker_session_bound()), and
 * only on that account's mail.  Reads run in LMDB read transactions on the
 * loop, but those that copy whole messages (MSG_BODY_FILE, BLOB_FILE) on
 * the read pool (mail_read.c); writes go through the group-commit writer
 * of txn.h and reply once durable, then notify sessions that selected a
 * changed mailbox (notify.h).
 *
 * mail_mbox.c: MBOX_LIST, MBOX_CREATE, MBOX_DELETE, MBOX_RENAME,
 * MBOX_SUBSCRIBE, SUBSCRIPTION_SET, SUBSCRIPTION_LIST.  mail_msg.c:
 * MBOX_SELECT, MBOX_CLOSE, MSG_UIDS, MBOX_SYNC, MSG_FETCH, MSG_BODY,
 * MSG_BODY_FILE, MSG_STORE, MSG_EXPUNGE, MSG_COPY, MSG_APPEND.
 * mail_quota.c: QUOTA_GET.  mail_meta.c: METADATA_GET,
 * METADATA_SET.  mail_recent.c: MBOX_RECENT.
 */
#ifndef BULWARK_MAIL_API_H
#define BULWARK_MAIL_API_H

#include "db.h"
#include "ipc.h"
#include "txn.h"

ipc_handler_fn mail_mbox_list;
ipc_handler_fn mail_mbox_create;
ipc_handler_fn mail_mbox_delete;
ipc_handler_fn mail_mbox_rename;
ipc_handler_fn mail_mbox_subscribe;
ipc_handler_fn mail_subscription_set;
ipc_handler_fn mail_subscription_list;

ipc_handler_fn mail_mbox_select;
ipc_handler_fn mail_mbox_close;
ipc_handler_fn mail_msg_uids;
ipc_handler_fn mail_mbox_sync;
ipc_handler_fn mail_msg_fetch;
ipc_handler_fn mail_msg_body;
ipc_handler_fn mail_msg_body_file;
ipc_handler_fn mail_msg_file;
ipc_handler_fn mail_msg_store;
ipc_handler_fn mail_msg_expunge;
ipc_handler_fn mail_msg_copy;
ipc_handler_fn mail_msg_append;

ipc_handler_fn mail_quota_get;
/* mail_changes.c: CHANGES_GET (JMAP /changes, store/changes.h). */
ipc_handler_fn mail_changes_get;
ipc_handler_fn mail_meta_get;
ipc_handler_fn mail_meta_set;
ipc_handler_fn mail_mbox_recent;
/*
 * mail_email.c: MBOX_THREADS, EMAIL_LIST, EMAIL_GET, EMAIL_BODY,
 * THREAD_GET, EMAIL_SET (JMAP Mail, store/email_op.h).
 */
ipc_handler_fn mail_mbox_threads;
ipc_handler_fn mail_email_list;
ipc_handler_fn mail_email_get;
ipc_handler_fn mail_email_body;
ipc_handler_fn mail_thread_get;
ipc_handler_fn mail_email_set;
/*
 * mail_blob.c: BLOB_UPLOAD, BLOB_FILE (JMAP uploads and downloads,
 * store/upload.h).
 */
ipc_handler_fn mail_blob_upload;
ipc_handler_fn mail_blob_file;
/*
 * mail_submit.c: IDENTITY_LIST, IDENTITY_PUT, IDENTITY_DEL, VACATION_GET,
 * VACATION_SET, SUBMIT,
 * SUBMIT_LIST, SUBMIT_CANCEL, SUBMIT_DEL (JMAP submission,
 * store/submit.h); RELAY_TAKE and RELAY_DONE, lmtpd's only (any other
 * channel gets IPC_S_DENIED), acting for the account they name.
 */
ipc_handler_fn mail_identity_list;
ipc_handler_fn mail_identity_put;
ipc_handler_fn mail_identity_del;
ipc_handler_fn mail_vacation_get;
ipc_handler_fn mail_vacation_set;
ipc_handler_fn mail_submit;
ipc_handler_fn mail_submit_list;
ipc_handler_fn mail_submit_cancel;
ipc_handler_fn mail_submit_del;
ipc_handler_fn mail_relay_take;
ipc_handler_fn mail_relay_done;
/* JMAP PushSubscription (mail_pushsub.c, pushsub.h). */
ipc_handler_fn mail_pushsub_list;
ipc_handler_fn mail_pushsub_create;
ipc_handler_fn mail_pushsub_update;
ipc_handler_fn mail_pushsub_del;
ipc_handler_fn mail_push_take;
ipc_handler_fn mail_push_done;

struct storaged;
struct wchan;
struct store_db;
struct store_error;

/*
 * mail_write.c: a worker's write through the writer of txn.h.  op(arg)
 * runs in the batch's transaction; once durable, reply (on the loop)
 * answers j->ref on w, which is NULL when the requester's channel has
 * closed; a failure is answered with its status instead.  arg is freed
 * with free_fn and fd (if not -1) closed afterwards; reply may take them
 * by setting j->arg to NULL (free_fn must accept it) and j->fd to -1.
 */
struct mail_write_job;
typedef void mail_write_reply_fn(struct storaged *sd, struct wchan *w,
    struct mail_write_job *j);
struct mail_write_job {
	struct storaged		*sd;
	uint64_t		 chan_serial;
	struct ipc_reqref	 ref;
	const char		*what;		/* for the log */
	mail_apply_fn		*op;
	mail_write_reply_fn	*reply;
	void			(*free)(void *);
	void			*arg;
	int			 fd;		/* a worker's memfd, or -1 */
};
void	mail_write_queue(struct ipc_chan *c, const struct ipc_frame *f,
	    struct wchan *w, const char *what, mail_apply_fn *op,
	    mail_write_reply_fn *reply, void (*free_fn)(void *), void *arg,
	    int fd);
/*
 * Runs wake(sd) at when (seconds since the epoch): now if it has come,
 * else from a one-shot timer on the loop (a second late rather than
 * early).  For RELAY_WAKE and PUSH_WAKE, whose queues live on.
 */
typedef size_t mail_wake_fn(struct storaged *sd);
void	mail_wake_at(struct storaged *sd, mail_wake_fn *wake, uint64_t when);

/*
 * mail_read.c: a read off the loop.  work runs on a read-pool thread
 * inside its own read transaction txn and returns a status (err set when
 * not IPC_S_OK); then, on the loop, reply answers ref on c when the
 * status is IPC_S_OK (else the status is the reply), if the requester's
 * channel is still open.  arg is freed with free_fn whatever happens;
 * work touches nothing but it and the database.
 */
typedef enum ipc_status mail_read_fn(struct store_db *db, MDB_txn *txn,
    void *arg, struct store_error *err);
typedef void mail_read_reply_fn(struct ipc_chan *c,
    const struct ipc_reqref *ref, void *arg);
void	mail_read_queue(struct ipc_chan *c, const struct ipc_frame *f,
	    struct wchan *w, const char *what, mail_read_fn *work,
	    mail_read_reply_fn *reply, void (*free_fn)(void *), void *arg);
/* The same for a request being answered later (ref, its channel's serial). */
void	mail_read_queue_ref(struct storaged *sd, uint64_t chan_serial,
	    const struct ipc_reqref *ref, const char *what, mail_read_fn *work,
	    mail_read_reply_fn *reply, void (*free_fn)(void *), void *arg);
/*
 * Sends RELAY_WAKE when the first queued submission comes due (now if it
 * has): for storaged's start, after which SUBMIT, RELAY_TAKE and
 * RELAY_DONE set their own timers.
 */
void	mail_submit_start(struct storaged *sd);
/*
 * After a commit that changed account_id (delivery: the modseq of an
 * LMTP delivery, else 0): queues the StateChange pushes its verified
 * subscriptions want and wakes lmtpd.  Runs on the loop.
 */
void	mail_pushsub_changed(struct storaged *sd, uint64_t account_id,
	    uint64_t delivery);

#endif
