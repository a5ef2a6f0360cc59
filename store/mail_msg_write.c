/* SPDX-License-Identifier: ISC */
/*
 * mail_msg_write.c: the writes of the message requests (see mail_msg.h):
 * MSG_STORE (RFC 9051 6.4.6, with CONDSTORE's UNCHANGEDSINCE, RFC 7162
 * 3.1.3), MSG_EXPUNGE (RFC 9051 6.4.3, UID EXPUNGE 6.4.9, VANISHED of RFC
 * 7162 3.2.10) and MSG_COPY (RFC 9051 6.4.7, MOVE 6.4.8).  Each is one
 * apply step of txn.h: it reads the mail state once, gives out modseqs
 * from it, and writes it back at the end; around message_destroy, which
 * reads and writes the state itself, it writes and reads it again.
 */
#include "mail_msg.h"
#include "changelog.h"
#include "mailbox.h"
#include "message.h"
#include "msgrec.h"
#include "wire.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- MSG_STORE --- */

static int
mail_kw_find(const struct message_rec *m, const char *kw)
{
	uint32_t i;

	for (i = 0; i < m->nkeywords; i++)
		if (strcasecmp(m->keywords[i], kw) == 0)
			return (int)i;
	return -1;
}

/* Whether the keywords of m are the set r->kw (both without duplicates). */
static bool
mail_kw_same(const struct message_rec *m, const struct mail_store *r)
{
	uint32_t i;

	if (m->nkeywords != r->nkw)
		return false;
	for (i = 0; i < r->nkw; i++)
		if (mail_kw_find(m, r->kw[i]) == -1)
			return false;
	return true;
}

/*
 * Applies the request's flags to m; *changed_r says whether anything
 * changed.  Returns IPC_S_OK or IPC_S_LIMIT (too many keywords).
 */
static enum ipc_status
mail_store_flags(const struct mail_store *r, struct message_rec *m,
    bool *changed_r, struct store_error *err)
{
	uint32_t i, old = m->flags;
	int k;

	*changed_r = false;
	switch (r->mode) {
	case MAIL_STORE_SET:
		m->flags = r->flags;
		if (!mail_kw_same(m, r)) {
			for (i = 0; i < r->nkw; i++)
				memcpy(m->keywords[i], r->kw[i],
				    sizeof(m->keywords[i]));
			m->nkeywords = r->nkw;
			*changed_r = true;
		}
		break;
	case MAIL_STORE_ADD:
		m->flags |= r->flags;
		for (i = 0; i < r->nkw; i++) {
			if (mail_kw_find(m, r->kw[i]) != -1)
				continue;
			if (m->nkeywords == MSG_MAX_KEYWORDS)
				return db_error(err, IPC_S_LIMIT, "a message "
				    "has %d keywords at most",
				    MSG_MAX_KEYWORDS);
			memcpy(m->keywords[m->nkeywords++], r->kw[i],
			    sizeof(m->keywords[0]));
			*changed_r = true;
		}
		break;
	case MAIL_STORE_REMOVE:
		m->flags &= ~r->flags;
		for (i = 0; i < r->nkw; i++) {
			if ((k = mail_kw_find(m, r->kw[i])) == -1)
				continue;
			if ((uint32_t)k != --m->nkeywords)
				memcpy(m->keywords[k],
				    m->keywords[m->nkeywords],
				    sizeof(m->keywords[0]));
			*changed_r = true;
		}
		break;
	}
	if (m->flags != old)
		*changed_r = true;
	return IPC_S_OK;
}

/* The bytes the reply's lists take so far. */
static size_t
mail_store_bytes(const struct mail_store *r)
{
	return (size_t)r->changed.n * (4 + 8 + 8 + 4) + r->keywords.bytes +
	    (size_t)r->modified.n * 4;
}

/* Stores the flags of one message (uid, email) and records the result. */
static enum ipc_status
mail_store_one(struct store_db *db, MDB_txn *txn, struct mail_store *r,
    struct mstate_rec *s, uint32_t uid, uint64_t email, struct buf *kw,
    struct store_error *err)
{
	struct message_rec m;
	enum ipc_status st;
	uint64_t ms;
	uint32_t old;
	bool changed;

	if ((st = message_get(db, txn, r->account_id, email, &m, err)) !=
	    IPC_S_OK)
		return st;
	old = m.flags;
	if ((st = mail_store_flags(r, &m, &changed, err)) != IPC_S_OK ||
	    !changed)
		return st;
	if ((st = msgops_flags_counts(db, txn, r->account_id, &m, old,
	    err)) != IPC_S_OK)
		return st;
	if ((st = msgops_touch(db, txn, r->account_id, s, email, &m, 0, &ms,
	    err)) != IPC_S_OK ||
	    (st = msgops_put(db, txn, r->account_id, email, &m, err)) !=
	    IPC_S_OK)
		return st;
	msgops_mboxes_add_all(&r->touched, &m);
	mail_keywords_text(&m, kw);
	mail_vec_u32(&r->changed, uid);
	mail_vec_u64(&r->modseqs, ms);
	mail_vec_u64(&r->flags_out, m.flags);
	strvec_add(&r->keywords, (const char *)kw->data);
	return IPC_S_OK;
}

/* Ends a write: the touched mailboxes' log entries, the state, *hms_r. */
static enum ipc_status
mail_write_end(struct store_db *db, MDB_txn *txn, uint64_t acct,
    struct mstate_rec *s, struct msgops_mboxes *touched, uint32_t mbox,
    uint64_t *hms_r, struct store_error *err)
{
	struct mailbox_rec mb;
	enum ipc_status st;

	if ((st = msgops_mboxes_commit(db, txn, acct, s, touched, err)) !=
	    IPC_S_OK ||
	    (st = mstate_put(db, txn, acct, s, err)) != IPC_S_OK ||
	    (st = mailbox_get(db, txn, acct, mbox, &mb, err)) != IPC_S_OK)
		return st;
	*hms_r = mb.highestmodseq;
	return IPC_S_OK;
}

enum ipc_status
mail_msg_store_op(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_store *r = arg;
	struct mailbox_rec mb;
	struct mstate_rec s;
	struct buf kw = BUF_INIT;
	enum ipc_status st;
	uint64_t email, modseq;
	uint32_t i, uid;

	if ((r->flags & ~MAIL_F_ALL) != 0)
		return db_error(err, IPC_S_INVALID, "unknown flags");
	if ((st = mstate_get(db, txn, r->account_id, &s, err)) != IPC_S_OK ||
	    (st = mailbox_get(db, txn, r->account_id, r->mailbox_id, &mb,
	    err)) != IPC_S_OK)
		return st;
	for (i = 0; i < r->nuids; i++) {
		/*
		 * The reply must fit one frame: the rest of the UIDs wait for
		 * the worker's next request (one message adds at most 32
		 * keywords of 255 bytes, far below what the frame has left).
		 */
		if (mail_store_bytes(r) >= MAIL_REPLY_MAX)
			break;
		uid = wire_be32_get(r->uids + (size_t)i * 4);
		st = msgops_uid_get(db, txn, r->account_id, r->mailbox_id,
		    uid, &email, &modseq, err);
		if (st == IPC_S_NOTFOUND) {
			st = IPC_S_OK;
			continue;
		}
		if (st != IPC_S_OK)
			break;
		/* RFC 7162 3.1.3: changed since the client looked. */
		if (r->unchangedsince != 0 && modseq > r->unchangedsince) {
			mail_vec_u32(&r->modified, uid);
			continue;
		}
		if ((st = mail_store_one(db, txn, r, &s, uid, email, &kw,
		    err)) != IPC_S_OK)
			break;
	}
	buf_clear(&kw);
	if (st != IPC_S_OK)
		return st;
	r->done = i;
	return mail_write_end(db, txn, r->account_id, &s, &r->touched,
	    r->mailbox_id, &r->highestmodseq, err);
}

void
mail_store_clear(struct mail_store *r)
{
	mail_vec_clear(&r->changed);
	mail_vec_clear(&r->modseqs);
	mail_vec_clear(&r->flags_out);
	mail_vec_clear(&r->modified);
	strvec_clear(&r->keywords);
	msgops_mboxes_clear(&r->touched);
}

/* --- MSG_EXPUNGE --- */

/*
 * Takes email (record m) out of mailbox mbox while it stays in others:
 * the membership goes, the email is updated (JMAP mailboxIds), and the UID
 * vanishes at that modseq.
 */
static enum ipc_status
mail_leave(struct store_db *db, MDB_txn *txn, uint64_t acct,
    struct mstate_rec *s, uint64_t email, struct message_rec *m,
    uint32_t mbox, struct store_error *err)
{
	enum ipc_status st;
	uint64_t ms;
	uint32_t uid;

	if ((st = msgops_unlink(db, txn, acct, email, m, mbox, &uid, err)) !=
	    IPC_S_OK ||
	    (st = changelog_append(db, txn, acct, s, CHANGE_EMAIL,
	    CHANGE_UPDATED, email, &ms, err)) != IPC_S_OK ||
	    (st = msgops_vanish(db, txn, acct, mbox, uid, ms, err)) !=
	    IPC_S_OK)
		return st;
	return msgops_put(db, txn, acct, email, m, err);
}

/*
 * Takes email (record m) out of mailbox mbox: it leaves, or is destroyed
 * when it is in no other mailbox.
 */
static enum ipc_status
mail_drop(struct store_db *db, MDB_txn *txn, uint64_t acct,
    struct mstate_rec *s, uint64_t email, struct message_rec *m,
    uint32_t mbox, struct store_error *err)
{
	enum ipc_status st;

	if (m->nmbox > 1)
		return mail_leave(db, txn, acct, s, email, m, mbox, err);
	if ((st = mstate_put(db, txn, acct, s, err)) != IPC_S_OK ||
	    (st = message_destroy(db, txn, acct, email, err)) != IPC_S_OK)
		return st;
	return mstate_get(db, txn, acct, s, err);
}

/* Expunges one message whose entry is (uid, email), if \Deleted. */
static enum ipc_status
mail_expunge_one(struct store_db *db, MDB_txn *txn, struct mail_expunge *r,
    struct mstate_rec *s, uint32_t uid, uint64_t email,
    struct store_error *err)
{
	struct message_rec m;
	enum ipc_status st;

	if ((st = message_get(db, txn, r->account_id, email, &m, err)) !=
	    IPC_S_OK)
		return st;
	if ((m.flags & MSG_F_DELETED) == 0)
		return IPC_S_OK;
	if ((st = mail_drop(db, txn, r->account_id, s, email, &m,
	    r->mailbox_id, err)) == IPC_S_OK)
		mail_vec_u32(&r->expunged, uid);
	return st;
}

enum ipc_status
mail_msg_expunge_op(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_expunge *r = arg;
	struct mailbox_rec mb;
	struct mstate_rec s;
	enum ipc_status st;
	uint64_t email, modseq;
	uint32_t i, uid;

	if ((st = mstate_get(db, txn, r->account_id, &s, err)) != IPC_S_OK ||
	    (st = mailbox_get(db, txn, r->account_id, r->mailbox_id, &mb,
	    err)) != IPC_S_OK)
		return st;
	for (i = 0; i < r->nuids; i++) {
		uid = wire_be32_get(r->uids + (size_t)i * 4);
		st = msgops_uid_get(db, txn, r->account_id, r->mailbox_id,
		    uid, &email, &modseq, err);
		if (st == IPC_S_NOTFOUND)
			continue;
		if (st != IPC_S_OK ||
		    (st = mail_expunge_one(db, txn, r, &s, uid, email, err)) !=
		    IPC_S_OK)
			return st;
	}
	if (r->expunged.n > 0)
		msgops_mboxes_add(&r->touched, r->mailbox_id);
	return mail_write_end(db, txn, r->account_id, &s, &r->touched,
	    r->mailbox_id, &r->highestmodseq, err);
}

void
mail_expunge_clear(struct mail_expunge *r)
{
	mail_vec_clear(&r->expunged);
	msgops_mboxes_clear(&r->touched);
}

/* --- MSG_COPY --- */

/*
 * COPY makes a new email of the same bytes (the blob is shared, its
 * reference count goes up) with the same flags and keywords: a copy is a
 * message of its own in IMAP (RFC 9051 6.4.7), whose flags change apart
 * from the original's.  A client that saves a message to another mailbox
 * with COPY and then marks the original \Deleted (mutt does) must not
 * find its saved copy deleted.  MOVE keeps the email and changes its
 * mailbox, as JMAP does.
 */
static enum ipc_status
mail_copy_new(struct store_db *db, MDB_txn *txn, struct mail_copy *r,
    uint64_t email, const struct message_rec *m, uint32_t *dst,
    struct store_error *err)
{
	struct message_new in;
	struct message_result out;
	struct msgrec_summary sum;
	struct message_rec c;
	enum ipc_status st;
	const void *p;
	const char *why;
	uint8_t *rec;
	size_t rlen;

	if ((st = message_record(db, txn, r->account_id, email, &p, &rlen,
	    err)) != IPC_S_OK)
		return st;
	/* LMDB's pointer lasts only until the transaction writes. */
	rec = xmalloc(rlen > 0 ? rlen : 1);
	memcpy(rec, p, rlen);
	if (msgrec_decode(rec, rlen, m->size, &sum, &why) == -1) {
		free(rec);
		return db_error(err, IPC_S_INTERNAL, "email %llu: bad record: "
		    "%s", (unsigned long long)email, why);
	}
	memset(&in, 0, sizeof(in));
	in.account_id = r->account_id;
	in.mailbox_id = r->to_mailbox;
	in.received = m->received;
	in.now = m->received;
	in.data = NULL;			/* the blob exists: only counted */
	in.size = (size_t)m->size;
	memcpy(in.hash, m->hash, sizeof(in.hash));
	in.record = rec;
	in.record_len = rlen;
	in.message_id = sum.message_id;
	in.base_subject = sum.base_subject;
	in.in_reply_to = &sum.in_reply_to;
	in.references = &sum.references;
	in.flags = m->flags;
	in.dup_check = false;
	st = message_append(db, txn, &in, &out, err);
	free(rec);
	if (st != IPC_S_OK)
		return st;
	*dst = out.uid;
	if (m->nkeywords == 0)
		return IPC_S_OK;
	if ((st = message_get(db, txn, r->account_id, out.email_id, &c,
	    err)) != IPC_S_OK)
		return st;
	memcpy(c.keywords, m->keywords, sizeof(c.keywords));
	c.nkeywords = m->nkeywords;
	return msgops_put(db, txn, r->account_id, out.email_id, &c, err);
}

/* Copies (or moves) one message whose entry is (uid, email). */
static enum ipc_status
mail_copy_one(struct store_db *db, MDB_txn *txn, struct mail_copy *r,
    struct mstate_rec *s, uint32_t uid, uint64_t email,
    struct store_error *err)
{
	struct message_rec m;
	enum ipc_status st;
	uint64_t ms;
	uint32_t dst, gone;
	int i;

	if ((st = message_get(db, txn, r->account_id, email, &m, err)) !=
	    IPC_S_OK)
		return st;
	if (!r->move || r->to_mailbox == r->mailbox_id) {
		/*
		 * A copy; or a move within the mailbox (RFC 6851 allows it):
		 * a copy there, then the original goes.  message_append
		 * writes the mail state: read it again.
		 */
		if ((st = mail_copy_new(db, txn, r, email, &m, &dst, err)) !=
		    IPC_S_OK ||
		    (st = mstate_get(db, txn, r->account_id, s, err)) !=
		    IPC_S_OK ||
		    (r->move && (st = mail_drop(db, txn, r->account_id, s,
		    email, &m, r->mailbox_id, err)) != IPC_S_OK))
			return st;
		msgops_mboxes_add(&r->touched, r->to_mailbox);
	} else if ((i = msgops_mbox_index(&m, r->to_mailbox)) != -1) {
		/* In the target already: nothing to copy. */
		dst = m.mbox[i].uid;
		if (r->move && (st = mail_leave(db, txn, r->account_id, s,
		    email, &m, r->mailbox_id, err)) != IPC_S_OK)
			return st;
	} else {
		if ((st = msgops_link(db, txn, r->account_id, email, &m,
		    r->to_mailbox, &dst, err)) != IPC_S_OK ||
		    (r->move && (st = msgops_unlink(db, txn, r->account_id,
		    email, &m, r->mailbox_id, &gone, err)) != IPC_S_OK) ||
		    (st = msgops_touch(db, txn, r->account_id, s, email, &m,
		    r->to_mailbox, &ms, err)) != IPC_S_OK ||
		    (r->move && (st = msgops_vanish(db, txn, r->account_id,
		    r->mailbox_id, gone, ms, err)) != IPC_S_OK) ||
		    (st = msgops_put(db, txn, r->account_id, email, &m,
		    err)) != IPC_S_OK)
			return st;
		msgops_mboxes_add(&r->touched, r->to_mailbox);
	}
	if (r->move)
		msgops_mboxes_add(&r->touched, r->mailbox_id);
	mail_vec_u32(&r->src_uids, uid);
	mail_vec_u32(&r->dst_uids, dst);
	return IPC_S_OK;
}

enum ipc_status
mail_msg_copy_op(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_copy *r = arg;
	struct mailbox_rec mb;
	struct mstate_rec s;
	enum ipc_status st;
	uint64_t email, modseq;
	uint32_t i, uid;

	if ((st = mstate_get(db, txn, r->account_id, &s, err)) != IPC_S_OK ||
	    (st = mailbox_get(db, txn, r->account_id, r->mailbox_id, &mb,
	    err)) != IPC_S_OK ||
	    (st = mailbox_get(db, txn, r->account_id, r->to_mailbox, &mb,
	    err)) != IPC_S_OK)
		return st;
	r->uidvalidity = mb.uidvalidity;
	for (i = 0; i < r->nuids; i++) {
		uid = wire_be32_get(r->uids + (size_t)i * 4);
		st = msgops_uid_get(db, txn, r->account_id, r->mailbox_id,
		    uid, &email, &modseq, err);
		if (st == IPC_S_NOTFOUND)
			continue;
		if (st != IPC_S_OK ||
		    (st = mail_copy_one(db, txn, r, &s, uid, email, err)) !=
		    IPC_S_OK)
			return st;
	}
	return mail_write_end(db, txn, r->account_id, &s, &r->touched,
	    r->to_mailbox, &r->highestmodseq, err);
}

void
mail_copy_clear(struct mail_copy *r)
{
	mail_vec_clear(&r->src_uids);
	mail_vec_clear(&r->dst_uids);
	msgops_mboxes_clear(&r->touched);
}
