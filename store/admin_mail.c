/* SPDX-License-Identifier: ISC */
/*
 * admin_mail.c: bulwarkctl looking into mailboxes: MAILBOX_LIST,
 * MESSAGE_LIST (from and subject from each message's parsed record, flags
 * as IMAP shows them) and MESSAGE_GET (a message's raw bytes in slices of
 * at most ADMIN_SLICE_MAX).  All are reads, in one read transaction each.
 */
#include "admin.h"
#include "account.h"
#include "blob.h"
#include "mailbox.h"
#include "message.h"
#include "msgrec.h"
#include "strvec.h"

#include <string.h>

/* Bytes of a MESSAGE_GET slice (ipc_types.def). */
#define ADMIN_SLICE_MAX		(512u << 10)
/* Room for a listing's values in one reply frame. */
#define ADMIN_MAIL_LIST_MAX	(IPC_MAX_PAYLOAD - 65536)

/* A U64LIST being built: its values, big-endian, and their number. */
struct u64vec {
	struct buf	 b;
	uint32_t	 n;
};

static void
u64vec_add(struct u64vec *v, uint64_t x)
{
	wire_u64list_add(&v->b, x);
	v->n++;
}

static struct wire_u64list
u64vec_wire(const struct u64vec *v)
{
	struct wire_u64list l = { v->n, v->b.data };

	return l;
}

/* Reads the account of name and opens a read transaction. */
static enum ipc_status
admin_mail_begin(struct storaged *sd, const char *name, struct account *acc,
    MDB_txn **txn, struct store_error *err)
{
	enum ipc_status st;

	if ((st = account_get(&sd->db, name, acc, err)) != IPC_S_OK)
		return st;
	return db_begin(&sd->db, false, txn, err);
}

/* --- MAILBOX_LIST --- */

struct admin_mbox_ctx {
	struct strvec	 names, roles;
	struct u64vec	 ids, total, unread, uidvalidity, uidnext, hms;
};

static int
admin_mbox_cb(uint32_t id, const struct mailbox_rec *mb, void *arg)
{
	struct admin_mbox_ctx *ctx = arg;

	strvec_add(&ctx->names, mb->name);
	strvec_add(&ctx->roles, mb->role);
	u64vec_add(&ctx->ids, id);
	u64vec_add(&ctx->total, mb->total);
	u64vec_add(&ctx->unread, mb->unread);
	u64vec_add(&ctx->uidvalidity, mb->uidvalidity);
	u64vec_add(&ctx->uidnext, mb->uidnext);
	u64vec_add(&ctx->hms, mb->highestmodseq);
	return ctx->names.bytes + ctx->roles.bytes > ADMIN_MAIL_LIST_MAX;
}

void
admin_mailbox_list(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MAILBOX_LIST_req *m = msg;
	struct storaged *sd = admin_conn_storaged(arg);
	struct ipc_MAILBOX_LIST_rep rep;
	struct admin_mbox_ctx ctx;
	struct buf nb = BUF_INIT, rb = BUF_INIT;
	struct store_error err;
	struct account acc;
	enum ipc_status st;
	MDB_txn *txn;

	memset(&ctx, 0, sizeof(ctx));
	if ((st = admin_mail_begin(sd, m->account, &acc, &txn, &err)) ==
	    IPC_S_OK) {
		st = mailbox_scan(&sd->db, txn, acc.rec.id, admin_mbox_cb,
		    &ctx, &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		strvec_to_wire(&ctx.names, &nb, &rep.names);
		strvec_to_wire(&ctx.roles, &rb, &rep.roles);
		rep.ids = u64vec_wire(&ctx.ids);
		rep.total = u64vec_wire(&ctx.total);
		rep.unread = u64vec_wire(&ctx.unread);
		rep.uidvalidity = u64vec_wire(&ctx.uidvalidity);
		rep.uidnext = u64vec_wire(&ctx.uidnext);
		rep.highestmodseq = u64vec_wire(&ctx.hms);
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	strvec_clear(&ctx.names);
	strvec_clear(&ctx.roles);
	buf_clear(&nb);
	buf_clear(&rb);
	buf_clear(&ctx.ids.b);
	buf_clear(&ctx.total.b);
	buf_clear(&ctx.unread.b);
	buf_clear(&ctx.uidvalidity.b);
	buf_clear(&ctx.uidnext.b);
	buf_clear(&ctx.hms.b);
}

/* --- MESSAGE_LIST --- */

struct admin_msg_ctx {
	struct store_db		*db;
	MDB_txn			*txn;
	uint64_t		 acct;
	struct strvec		 flags, froms, subjects;
	struct u64vec		 uids, ids, threads, sizes, received, modseqs;
	size_t			 bytes;
};

static int
admin_msg_cb(uint32_t uid, uint64_t email_id, uint64_t modseq, void *arg)
{
	struct admin_msg_ctx *ctx = arg;
	struct message_rec mr;
	struct msgrec_summary s;
	struct store_error err;
	const char *why, *from = "", *subject = "";
	const void *rec;
	size_t len;
	char fl[1024];

	if (message_get(ctx->db, ctx->txn, ctx->acct, email_id, &mr, &err) !=
	    IPC_S_OK)
		return 0;
	if (message_record(ctx->db, ctx->txn, ctx->acct, email_id, &rec, &len,
	    &err) == IPC_S_OK &&
	    msgrec_decode(rec, len, mr.size, &s, &why) == 0) {
		from = s.from;
		subject = s.subject;
	}
	message_flags_text(&mr, fl, sizeof(fl));
	strvec_add(&ctx->flags, fl);
	strvec_add(&ctx->froms, from);
	strvec_add(&ctx->subjects, subject);
	u64vec_add(&ctx->uids, uid);
	u64vec_add(&ctx->ids, email_id);
	u64vec_add(&ctx->threads, mr.thread);
	u64vec_add(&ctx->sizes, mr.size);
	u64vec_add(&ctx->received, mr.received);
	u64vec_add(&ctx->modseqs, modseq);
	ctx->bytes = ctx->flags.bytes + ctx->froms.bytes +
	    ctx->subjects.bytes + 12 * 3 * ctx->flags.n + 48 * ctx->flags.n;
	return ctx->bytes > ADMIN_MAIL_LIST_MAX;
}

static void
admin_msg_ctx_clear(struct admin_msg_ctx *ctx)
{
	strvec_clear(&ctx->flags);
	strvec_clear(&ctx->froms);
	strvec_clear(&ctx->subjects);
	buf_clear(&ctx->uids.b);
	buf_clear(&ctx->ids.b);
	buf_clear(&ctx->threads.b);
	buf_clear(&ctx->sizes.b);
	buf_clear(&ctx->received.b);
	buf_clear(&ctx->modseqs.b);
}

static void
admin_msg_reply(struct ipc_chan *c, const struct ipc_frame *f,
    struct admin_msg_ctx *ctx)
{
	struct ipc_MESSAGE_LIST_rep rep;
	struct buf fb = BUF_INIT, rb = BUF_INIT, sb = BUF_INIT;

	strvec_to_wire(&ctx->flags, &fb, &rep.flags);
	strvec_to_wire(&ctx->froms, &rb, &rep.froms);
	strvec_to_wire(&ctx->subjects, &sb, &rep.subjects);
	rep.uids = u64vec_wire(&ctx->uids);
	rep.email_ids = u64vec_wire(&ctx->ids);
	rep.thread_ids = u64vec_wire(&ctx->threads);
	rep.sizes = u64vec_wire(&ctx->sizes);
	rep.received = u64vec_wire(&ctx->received);
	rep.modseqs = u64vec_wire(&ctx->modseqs);
	ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	buf_clear(&fb);
	buf_clear(&rb);
	buf_clear(&sb);
}

void
admin_message_list(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MESSAGE_LIST_req *m = msg;
	struct storaged *sd = admin_conn_storaged(arg);
	struct admin_msg_ctx ctx;
	struct store_error err;
	struct account acc;
	enum ipc_status st;
	uint32_t mbox;
	MDB_txn *txn;

	memset(&ctx, 0, sizeof(ctx));
	if ((st = admin_mail_begin(sd, m->account, &acc, &txn, &err)) ==
	    IPC_S_OK) {
		ctx.db = &sd->db;
		ctx.txn = txn;
		ctx.acct = acc.rec.id;
		st = mailbox_find(&sd->db, txn, acc.rec.id, m->mailbox, NULL,
		    &mbox, NULL, &err);
		if (st == IPC_S_OK)
			st = message_scan_uids(&sd->db, txn, acc.rec.id, mbox,
			    1, admin_msg_cb, &ctx, &err);
		if (st == IPC_S_OK)
			admin_msg_reply(c, f, &ctx);
		db_abort(&txn);
	}
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	admin_msg_ctx_clear(&ctx);
}

/* --- MESSAGE_GET --- */

void
admin_message_get(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MESSAGE_GET_req *m = msg;
	struct storaged *sd = admin_conn_storaged(arg);
	struct ipc_MESSAGE_GET_rep rep;
	struct message_rec mr;
	struct store_error err;
	struct buf data = BUF_INIT;
	struct account acc;
	enum ipc_status st;
	uint64_t email;
	uint32_t mbox;
	size_t len = 0;
	MDB_txn *txn;

	if ((st = admin_mail_begin(sd, m->account, &acc, &txn, &err)) !=
	    IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	if ((st = mailbox_find(&sd->db, txn, acc.rec.id, m->mailbox, NULL,
	    &mbox, NULL, &err)) == IPC_S_OK &&
	    (st = message_find_uid(&sd->db, txn, acc.rec.id, mbox, m->uid,
	    &email, &err)) == IPC_S_OK &&
	    (st = message_get(&sd->db, txn, acc.rec.id, email, &mr, &err)) ==
	    IPC_S_OK)
		st = blob_read(&sd->db, txn, mr.hash, m->offset,
		    ADMIN_SLICE_MAX, &data, &len, &err);
	db_abort(&txn);
	if (st == IPC_S_OK && m->offset > len)
		st = db_error(&err, IPC_S_INVALID, "offset past the end");
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else {
		rep.total = len;
		rep.data.p = data.data;
		rep.data.len = (uint32_t)data.len;
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	}
	buf_clear(&data);
}
