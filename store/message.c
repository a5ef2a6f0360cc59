/* SPDX-License-Identifier: ISC */
/*
 * message.c: adding and destroying messages, their indexes, threads and
 * duplicate suppression (see message.h).  Keys of the indexes are in db.h.
 */
#include "message.h"
#include "account.h"
#include "blob.h"
#include "changelog.h"
#include "compat.h"
#include "imap_struct.h"
#include "key.h"
#include "mailbox.h"
#include "msgrec.h"
#include "quota.h"
#include "recent.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define MSGID_HASH_LEN	16

/* The state one append or destroy works on. */
struct message_op {
	struct store_db		*db;
	MDB_txn			*txn;
	uint64_t		 acct;
	struct account		 acc;
	struct mstate_rec	 s;
	struct store_error	*err;
};

/*
 * How much of s a record keeps when at most max bytes fit: all of it, or
 * the longest prefix that ends on a UTF-8 character boundary.  A subject
 * or Message-ID longer than the record holds (998 bytes, a line of RFC
 * 5322) is cut, never a reason to refuse the message; ids are hashed and
 * compared as cut, so that threading and duplicates still work.
 */
static size_t
message_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

static void
msgid_hash(const char *id, uint8_t h[MSGID_HASH_LEN])
{
	crypto_generichash(h, MSGID_HASH_LEN, (const uint8_t *)id,
	    message_cut(id, MSG_MSGID_MAX), NULL, 0);
}

/* Whether stored (cut) equals s as a record would keep it. */
static bool
message_same(const char *stored, const char *s, size_t max)
{
	size_t n = message_cut(s, max);

	return strlen(stored) == n && memcmp(stored, s, n) == 0;
}

static enum ipc_status
message_put(struct message_op *op, MDB_dbi dbi, const struct key_mail *k,
    const void *p, size_t len, unsigned int flags)
{
	MDB_val kv = KEY_MAIL_VAL(k), d = { len, (void *)p };
	int rc;

	if ((rc = mdb_put(op->txn, dbi, &kv, &d, flags)) != 0)
		return db_mdb_error(op->err, rc, "message write");
	return IPC_S_OK;
}

/* Deletes key k (with value v in a dupsort database, else v NULL). */
static enum ipc_status
message_del(struct message_op *op, MDB_dbi dbi, const struct key_mail *k,
    const void *v, size_t vlen)
{
	MDB_val kv = KEY_MAIL_VAL(k), d = { vlen, (void *)v };
	int rc;

	rc = mdb_del(op->txn, dbi, &kv, v != NULL ? &d : NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(op->err, rc, "message delete");
	return IPC_S_OK;
}

static enum ipc_status
message_put_rec(struct message_op *op, uint64_t email,
    const struct message_rec *m, unsigned int flags)
{
	struct buf b = BUF_INIT;
	struct key_mail k;
	enum ipc_status st;

	key_mail_init(&k, op->acct);
	key_mail_u64(&k, email);
	record_message_enc(&b, m);
	st = message_put(op, op->db->messages, &k, b.data, b.len, flags);
	buf_clear(&b);
	return st;
}

/*
 * Stores what is derived from the message's record under key k: its
 * FETCH items in msgimap (lib/imap_struct.h) and its msghead entry, each
 * where the store has that database.  A record that does not open (its
 * caller checked it) or an entry too long is not stored: imapd then
 * serves the message from the record, SEARCH reads the record and the
 * message.  The blob is stored already (for its header when in->data is
 * NULL: a copy, or the replay of a big message).
 */
static enum ipc_status
message_put_derived(struct message_op *op, const struct key_mail *k,
    const struct message_new *in)
{
	struct msgrec r;
	struct blob_view bv = { 0 };
	struct buf b = BUF_INIT;
	enum ipc_status st = IPC_S_OK;
	const void *head = in->data;
	size_t head_len = in->size;
	const char *why;

	if ((op->db->msgimap == 0 && op->db->msghead == 0) ||
	    msgrec_open_stored(in->record, in->record_len, in->size, &r,
	    &why) == -1)
		return IPC_S_OK;
	if (op->db->msgimap != 0 && imap_struct_store(&b, &r))
		st = message_put(op, op->db->msgimap, k, b.data, b.len, 0);
	if (st != IPC_S_OK || op->db->msghead == 0)
		goto out;
	if (head == NULL) {
		if (blob_view_peek(op->db, op->txn, in->hash, &bv, op->err) !=
		    IPC_S_OK)
			goto out;	/* SEARCH reads it as before */
		head = blob_view_head(&bv, &head_len);
	}
	buf_reset(&b);
	if (head != NULL && msghead_build(&b, &r, in->size, head, head_len))
		st = message_put(op, op->db->msghead, k, b.data, b.len, 0);
out:
	msgrec_close(&r);
	blob_view_release(&bv);
	buf_clear(&b);
	return st;
}

enum ipc_status
message_get(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t email_id, struct message_rec *m, struct store_error *err)
{
	return message_get_seq(db, txn, NULL, account_id, email_id, m, err);
}

enum ipc_status
message_get_seq(struct store_db *db, MDB_txn *txn, struct db_seq *seq,
    uint64_t account_id, uint64_t email_id, struct message_rec *m,
    struct store_error *err)
{
	return message_get_seq_as(db, txn, seq, account_id, email_id, m,
	    false, err);
}

enum ipc_status
message_get_seq_as(struct store_db *db, MDB_txn *txn, struct db_seq *seq,
    uint64_t account_id, uint64_t email_id, struct message_rec *m,
    bool head, struct store_error *err)
{
	struct key_mail k;
	MDB_val kv, d;
	int rc;

	key_mail_init(&k, account_id);
	key_mail_u64(&k, email_id);
	kv = KEY_MAIL_VAL(&k);
	if ((rc = db_seq_get(txn, db->messages, seq, &kv, &d)) ==
	    MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no email %llu",
		    (unsigned long long)email_id);
	if (rc != 0)
		return db_mdb_error(err, rc, "message read");
	if ((head ? record_message_head_dec(d.mv_data, d.mv_size, m) :
	    record_message_dec(d.mv_data, d.mv_size, m)) == -1)
		return db_error(err, IPC_S_INTERNAL, "corrupt email %llu",
		    (unsigned long long)email_id);
	return IPC_S_OK;
}

enum ipc_status
message_record(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t email_id, const void **p, size_t *len_r,
    struct store_error *err)
{
	return message_record_seq(db, txn, NULL, account_id, email_id, p,
	    len_r, err);
}

enum ipc_status
message_record_seq(struct store_db *db, MDB_txn *txn, struct db_seq *seq,
    uint64_t account_id, uint64_t email_id, const void **p, size_t *len_r,
    struct store_error *err)
{
	struct key_mail k;
	MDB_val kv, d;
	int rc;

	key_mail_init(&k, account_id);
	key_mail_u64(&k, email_id);
	kv = KEY_MAIL_VAL(&k);
	if ((rc = db_seq_get(txn, db->msgrecs, seq, &kv, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no record of email %llu",
		    (unsigned long long)email_id);
	if (rc != 0)
		return db_mdb_error(err, rc, "record read");
	*p = d.mv_data;
	*len_r = d.mv_size;
	return IPC_S_OK;
}

/* --- Threads (RFC 8621 3) --- */

/* The thread of a message Message-ID id names, if its subject matches. */
static uint64_t
message_thread_of(struct message_op *op, const char *id, const char *subj)
{
	struct message_rec m;
	struct store_error e;
	struct key_mail k;
	uint8_t h[MSGID_HASH_LEN];
	MDB_cursor *cur;
	MDB_val kv, d;
	MDB_cursor_op cop = MDB_SET_KEY;
	uint64_t thread = 0;

	msgid_hash(id, h);
	key_mail_init(&k, op->acct);
	key_mail_bytes(&k, h, sizeof(h));
	kv = KEY_MAIL_VAL(&k);
	if (mdb_cursor_open(op->txn, op->db->msgids, &cur) != 0)
		return 0;
	for (; thread == 0 && mdb_cursor_get(cur, &kv, &d, cop) == 0;
	    cop = MDB_NEXT_DUP) {
		if (d.mv_size != 8 || message_get(op->db, op->txn, op->acct,
		    wire_be64_get(d.mv_data), &m, &e) != IPC_S_OK)
			continue;
		if (message_same(m.message_id, id, MSG_MSGID_MAX) &&
		    message_same(m.base_subject, subj, MSG_SUBJECT_MAX))
			thread = m.thread;
	}
	mdb_cursor_close(cur);
	return thread;
}

/* The thread a new message joins, or 0 for a new thread. */
static uint64_t
message_thread_find(struct message_op *op, const struct message_new *in)
{
	const struct wire_strlist *lists[2] = { in->in_reply_to,
	    in->references };
	struct wire_iter it;
	const char *id;
	uint64_t t;
	size_t i, n = 0;

	for (i = 0; i < 2; i++) {
		if (lists[i] == NULL)
			continue;
		wire_strlist_iter(lists[i], &it);
		while ((id = wire_strlist_next(&it)) != NULL &&
		    n++ < MESSAGE_THREAD_REFS)
			if (id[0] != '\0' &&
			    (t = message_thread_of(op, id, in->base_subject))
			    != 0)
				return t;
	}
	return 0;
}

/* Adds (delta 1) or removes (-1) a thread member counted in a mailbox. */
static enum ipc_status
message_mbox_thread(struct message_op *op, uint32_t mbox, uint64_t thread,
    int delta, struct mailbox_rec *mb)
{
	struct key_mail k;
	MDB_val kv, d;
	uint8_t b[4];
	uint32_t n = 0;
	int rc;

	key_mail_init(&k, op->acct);
	key_mail_u32(&k, mbox);
	key_mail_u64(&k, thread);
	kv = KEY_MAIL_VAL(&k);
	rc = mdb_get(op->txn, op->db->mbox_threads, &kv, &d);
	if (rc == 0 && d.mv_size == 4)
		n = wire_be32_get(d.mv_data);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(op->err, rc, "thread count");
	if (delta > 0) {
		if (n++ == 0)
			mb->threads++;
	} else if (n > 0 && --n == 0 && mb->threads > 0)
		mb->threads--;
	if (n == 0)
		return message_del(op, op->db->mbox_threads, &k, NULL, 0);
	wire_be32_put(b, n);
	return message_put(op, op->db->mbox_threads, &k, b, sizeof(b), 0);
}

/* --- Append --- */

/* Whether the same Message-ID came into the mailbox within the window. */
static bool
message_dup_find(struct message_op *op, const struct message_new *in,
    struct message_result *out)
{
	struct dup_rec r;
	struct key_mail k;
	uint8_t h[MSGID_HASH_LEN];
	MDB_val kv, d;

	if (!in->dup_check || in->message_id[0] == '\0')
		return false;
	msgid_hash(in->message_id, h);
	key_mail_init(&k, op->acct);
	key_mail_u32(&k, in->mailbox_id);
	key_mail_bytes(&k, h, sizeof(h));
	kv = KEY_MAIL_VAL(&k);
	if (mdb_get(op->txn, op->db->dups, &kv, &d) != 0 ||
	    record_dup_dec(d.mv_data, d.mv_size, &r) == -1 ||
	    r.at > in->now || in->now - r.at >= MESSAGE_DUP_WINDOW)
		return false;
	memset(out, 0, sizeof(*out));
	out->email_id = r.email;
	out->uid = r.uid;
	out->modseq = r.modseq;
	out->duplicate = true;
	return true;
}

static enum ipc_status
message_dup_put(struct message_op *op, const struct message_new *in,
    const struct message_result *out)
{
	struct dup_rec r = { in->now, out->email_id, out->uid, out->modseq };
	struct buf b = BUF_INIT;
	struct key_mail k;
	uint8_t h[MSGID_HASH_LEN];
	enum ipc_status st;

	if (in->message_id[0] == '\0')
		return IPC_S_OK;
	msgid_hash(in->message_id, h);
	key_mail_init(&k, op->acct);
	key_mail_u32(&k, in->mailbox_id);
	key_mail_bytes(&k, h, sizeof(h));
	record_dup_enc(&b, &r);
	st = message_put(op, op->db->dups, &k, b.data, b.len, 0);
	buf_clear(&b);
	return st;
}

/* Forgets the duplicate entry of email in mailbox mbox, if it is its. */
static enum ipc_status
message_dup_del(struct message_op *op, uint64_t email,
    const struct message_rec *m, uint32_t mbox)
{
	struct dup_rec r;
	struct key_mail k;
	uint8_t h[MSGID_HASH_LEN];
	MDB_val kv, d;

	if (m->message_id[0] == '\0')
		return IPC_S_OK;
	msgid_hash(m->message_id, h);
	key_mail_init(&k, op->acct);
	key_mail_u32(&k, mbox);
	key_mail_bytes(&k, h, sizeof(h));
	kv = KEY_MAIL_VAL(&k);
	if (mdb_get(op->txn, op->db->dups, &kv, &d) != 0 ||
	    record_dup_dec(d.mv_data, d.mv_size, &r) == -1 || r.email != email)
		return IPC_S_OK;
	return message_del(op, op->db->dups, &k, NULL, 0);
}

enum ipc_status
message_dup_prune(struct store_db *db, MDB_txn *txn, uint64_t now,
    size_t max, size_t *pruned_r, struct store_error *err)
{
	MDB_cursor *cur;
	MDB_val k, d;
	struct dup_rec r;
	int rc;

	*pruned_r = 0;
	if ((rc = mdb_cursor_open(txn, db->dups, &cur)) != 0)
		return db_mdb_error(err, rc, "dups cursor");
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	    rc == 0 && *pruned_r < max;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		/* Keep young entries, and those from a clock ahead of ours. */
		if (record_dup_dec(d.mv_data, d.mv_size, &r) == 0 &&
		    (r.at > now || now - r.at < MESSAGE_DUP_WINDOW))
			continue;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		(*pruned_r)++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "dups prune");
	return IPC_S_OK;
}

/* Writes the indexes of a new message m of id email in mailbox mbox. */
static enum ipc_status
message_index(struct message_op *op, const struct message_new *in,
    uint64_t email, const struct message_rec *m, const struct message_mbox *mm)
{
	struct key_mail k;
	uint8_t v[16], h[MSGID_HASH_LEN];
	enum ipc_status st;

	key_mail_init(&k, op->acct);
	key_mail_u32(&k, mm->mailbox);
	key_mail_u32(&k, mm->uid);
	wire_be64_put(v, email);
	wire_be64_put(v + 8, mm->modseq);
	if ((st = message_put(op, op->db->mbox_uids, &k, v, 16,
	    MDB_NOOVERWRITE)) != IPC_S_OK)
		return st;
	key_mail_init(&k, op->acct);
	key_mail_u32(&k, mm->mailbox);
	key_mail_u64(&k, m->received);
	key_mail_u64(&k, email);
	wire_be32_put(v, mm->uid);
	if ((st = message_put(op, op->db->mbox_dates, &k, v, 4, 0)) !=
	    IPC_S_OK)
		return st;
	key_mail_init(&k, op->acct);
	key_mail_u64(&k, m->thread);
	key_mail_u64(&k, email);
	if ((st = message_put(op, op->db->threads, &k, "", 0, 0)) != IPC_S_OK)
		return st;
	key_mail_init(&k, op->acct);
	key_mail_u64(&k, email);
	if ((st = message_put(op, op->db->msgrecs, &k, in->record,
	    in->record_len, MDB_NOOVERWRITE)) != IPC_S_OK ||
	    (st = message_put_derived(op, &k, in)) != IPC_S_OK)
		return st;
	if (m->message_id[0] == '\0')
		return IPC_S_OK;
	msgid_hash(m->message_id, h);
	key_mail_init(&k, op->acct);
	key_mail_bytes(&k, h, sizeof(h));
	wire_be64_put(v, email);
	return message_put(op, op->db->msgids, &k, v, 8, 0);
}

/* Fills the new record m from in (long fields cut); returns IPC_S_OK. */
static enum ipc_status
message_new_rec(struct message_op *op, const struct message_new *in,
    struct message_rec *m)
{
	size_t n;

	(void)op;
	memset(m, 0, sizeof(*m));
	memcpy(m->hash, in->hash, sizeof(m->hash));
	m->received = in->received;
	m->size = in->size;
	m->flags = in->flags;
	n = message_cut(in->base_subject, MSG_SUBJECT_MAX);
	memcpy(m->base_subject, in->base_subject, n);
	m->base_subject[n] = '\0';
	n = message_cut(in->message_id, MSG_MSGID_MAX);
	memcpy(m->message_id, in->message_id, n);
	m->message_id[n] = '\0';
	return IPC_S_OK;
}

/* Takes the thread, ids and change-log entries of a new message. */
static enum ipc_status
message_assign(struct message_op *op, const struct message_new *in,
    struct message_rec *m, struct mailbox_rec *mb, struct message_result *out)
{
	enum change_kind tk = CHANGE_UPDATED;
	enum ipc_status st;
	uint64_t ms;

	if (mb->uidnext == 0 || mb->uidnext == UINT32_MAX)
		return db_error(op->err, IPC_S_TOOBIG, "mailbox out of UIDs");
	out->email_id = op->s.next_email++;
	if ((m->thread = message_thread_find(op, in)) == 0) {
		m->thread = op->s.next_thread++;
		tk = CHANGE_CREATED;
	}
	out->thread_id = m->thread;
	recent_note_uid(op->acct, in->mailbox_id, mb->uidvalidity,
	    mb->uidnext);
	out->uid = mb->uidnext++;
	if ((st = changelog_append(op->db, op->txn, op->acct, &op->s,
	    CHANGE_EMAIL, CHANGE_CREATED, out->email_id, &out->modseq,
	    op->err)) != IPC_S_OK ||
	    (st = changelog_append(op->db, op->txn, op->acct, &op->s,
	    CHANGE_THREAD, tk, m->thread, NULL, op->err)) != IPC_S_OK ||
	    (st = changelog_append(op->db, op->txn, op->acct, &op->s,
	    CHANGE_MAILBOX, CHANGE_UPDATED, in->mailbox_id, &ms, op->err)) !=
	    IPC_S_OK)
		return st;
	mb->highestmodseq = ms;
	m->nmbox = 1;
	m->mbox[0].mailbox = in->mailbox_id;
	m->mbox[0].uid = out->uid;
	m->mbox[0].modseq = out->modseq;
	return IPC_S_OK;
}

/* Reads the account, its mail state and the mailbox into op and *mb. */
static enum ipc_status
message_op_begin(struct message_op *op, uint32_t mbox,
    struct mailbox_rec *mb)
{
	enum ipc_status st;

	if ((st = account_get_id_txn(op->db, op->txn, op->acct, &op->acc,
	    op->err)) != IPC_S_OK ||
	    (st = mstate_get(op->db, op->txn, op->acct, &op->s, op->err)) !=
	    IPC_S_OK)
		return st;
	if (mb == NULL)
		return IPC_S_OK;
	return mailbox_get(op->db, op->txn, op->acct, mbox, mb, op->err);
}

/* Writes back the account, its mail state and the mailbox. */
static enum ipc_status
message_op_end(struct message_op *op, uint32_t mbox,
    const struct mailbox_rec *mb)
{
	enum ipc_status st;

	if (mb != NULL && (st = mailbox_put(op->db, op->txn, op->acct, mbox,
	    mb, op->err)) != IPC_S_OK)
		return st;
	if ((st = account_put_txn(op->db, op->txn, &op->acc, op->err)) !=
	    IPC_S_OK)
		return st;
	return mstate_put(op->db, op->txn, op->acct, &op->s, op->err);
}

enum ipc_status
message_append(struct store_db *db, MDB_txn *txn,
    const struct message_new *in, struct message_result *out,
    struct store_error *err)
{
	struct message_op op = { .db = db, .txn = txn,
	    .acct = in->account_id, .err = err };
	struct message_rec m;
	struct mailbox_rec mb;
	enum ipc_status st;

	memset(out, 0, sizeof(*out));
	if ((st = message_op_begin(&op, in->mailbox_id, &mb)) != IPC_S_OK)
		return st;
	if (message_dup_find(&op, in, out))
		return IPC_S_OK;
	if ((st = quota_check(&op.acc, in->size, 1, err)) != IPC_S_OK ||
	    (st = message_new_rec(&op, in, &m)) != IPC_S_OK ||
	    (st = blob_ref_tmp(db, txn, in->hash, in->data, in->size,
	    in->tmp, &out->blob_stored, err)) != IPC_S_OK ||
	    (st = message_assign(&op, in, &m, &mb, out)) != IPC_S_OK ||
	    (st = message_put_rec(&op, out->email_id, &m,
	    MDB_NOOVERWRITE)) != IPC_S_OK ||
	    (st = message_index(&op, in, out->email_id, &m, &m.mbox[0])) !=
	    IPC_S_OK ||
	    (st = message_mbox_thread(&op, in->mailbox_id, m.thread, 1,
	    &mb)) != IPC_S_OK ||
	    (st = message_dup_put(&op, in, out)) != IPC_S_OK)
		return st;
	mailbox_count_msg(&mb, m.flags, m.size, 1);
	op.acc.rec.used_bytes += in->size;
	op.acc.rec.used_messages++;
	return message_op_end(&op, in->mailbox_id, &mb);
}

/* --- Destroy --- */

/* Takes email out of mailbox mm->mailbox, remembering its UID. */
static enum ipc_status
message_unlink(struct message_op *op, uint64_t email,
    const struct message_rec *m, const struct message_mbox *mm)
{
	struct mailbox_rec mb;
	struct key_mail k;
	enum ipc_status st;
	uint64_t ms;
	uint8_t v[4];

	if ((st = mailbox_get(op->db, op->txn, op->acct, mm->mailbox, &mb,
	    op->err)) != IPC_S_OK)
		return st;
	key_mail_init(&k, op->acct);
	key_mail_u32(&k, mm->mailbox);
	key_mail_u32(&k, mm->uid);
	if ((st = message_del(op, op->db->mbox_uids, &k, NULL, 0)) !=
	    IPC_S_OK)
		return st;
	key_mail_init(&k, op->acct);
	key_mail_u32(&k, mm->mailbox);
	key_mail_u64(&k, m->received);
	key_mail_u64(&k, email);
	if ((st = message_del(op, op->db->mbox_dates, &k, NULL, 0)) !=
	    IPC_S_OK ||
	    (st = message_dup_del(op, email, m, mm->mailbox)) != IPC_S_OK ||
	    (st = message_mbox_thread(op, mm->mailbox, m->thread, -1, &mb)) !=
	    IPC_S_OK ||
	    (st = changelog_append(op->db, op->txn, op->acct, &op->s,
	    CHANGE_MAILBOX, CHANGE_UPDATED, mm->mailbox, &ms, op->err)) !=
	    IPC_S_OK)
		return st;
	/* RFC 7162 3.2.10: VANISHED (EARLIER) from this modseq on. */
	key_mail_init(&k, op->acct);
	key_mail_u32(&k, mm->mailbox);
	key_mail_u64(&k, ms);
	wire_be32_put(v, mm->uid);
	if ((st = message_put(op, op->db->vanished, &k, v, 4, 0)) != IPC_S_OK)
		return st;
	mb.highestmodseq = ms;
	mailbox_count_msg(&mb, m->flags, m->size, -1);
	return mailbox_put(op->db, op->txn, op->acct, mm->mailbox, &mb,
	    op->err);
}

/* Whether thread still has members after email left it. */
static bool
message_thread_alive(struct message_op *op, uint64_t thread)
{
	struct key_mail pre;
	MDB_cursor *cur;
	MDB_val kv, d;
	bool alive;

	key_mail_init(&pre, op->acct);
	key_mail_u64(&pre, thread);
	kv = KEY_MAIL_VAL(&pre);
	if (mdb_cursor_open(op->txn, op->db->threads, &cur) != 0)
		return true;
	alive = mdb_cursor_get(cur, &kv, &d, MDB_SET_RANGE) == 0 &&
	    key_has_prefix(kv.mv_data, kv.mv_size, pre.b, pre.len);
	mdb_cursor_close(cur);
	return alive;
}

static enum ipc_status
message_unindex(struct message_op *op, uint64_t email,
    const struct message_rec *m)
{
	struct key_mail k;
	uint8_t v[8], h[MSGID_HASH_LEN];
	enum ipc_status st;

	key_mail_init(&k, op->acct);
	key_mail_u64(&k, m->thread);
	key_mail_u64(&k, email);
	if ((st = message_del(op, op->db->threads, &k, NULL, 0)) != IPC_S_OK)
		return st;
	if (m->message_id[0] != '\0') {
		msgid_hash(m->message_id, h);
		key_mail_init(&k, op->acct);
		key_mail_bytes(&k, h, sizeof(h));
		wire_be64_put(v, email);
		if ((st = message_del(op, op->db->msgids, &k, v, 8)) !=
		    IPC_S_OK)
			return st;
	}
	key_mail_init(&k, op->acct);
	key_mail_u64(&k, email);
	if ((st = message_del(op, op->db->msgrecs, &k, NULL, 0)) != IPC_S_OK ||
	    (op->db->msgimap != 0 && (st = message_del(op, op->db->msgimap,
	    &k, NULL, 0)) != IPC_S_OK) ||
	    (op->db->msghead != 0 && (st = message_del(op, op->db->msghead,
	    &k, NULL, 0)) != IPC_S_OK))
		return st;
	return message_del(op, op->db->messages, &k, NULL, 0);
}

enum ipc_status
message_destroy(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t email_id, struct store_error *err)
{
	struct message_op op = { .db = db, .txn = txn, .acct = account_id,
	    .err = err };
	struct message_rec m;
	enum ipc_status st;
	uint32_t i;

	if ((st = message_op_begin(&op, 0, NULL)) != IPC_S_OK ||
	    (st = message_get(db, txn, account_id, email_id, &m, err)) !=
	    IPC_S_OK)
		return st;
	for (i = 0; i < m.nmbox; i++)
		if ((st = message_unlink(&op, email_id, &m, &m.mbox[i])) !=
		    IPC_S_OK)
			return st;
	if ((st = message_unindex(&op, email_id, &m)) != IPC_S_OK ||
	    (st = blob_unref(db, txn, m.hash, NULL, err)) != IPC_S_OK ||
	    (st = changelog_append(db, txn, account_id, &op.s, CHANGE_EMAIL,
	    CHANGE_DESTROYED, email_id, NULL, err)) != IPC_S_OK ||
	    (st = changelog_append(db, txn, account_id, &op.s, CHANGE_THREAD,
	    message_thread_alive(&op, m.thread) ? CHANGE_UPDATED :
	    CHANGE_DESTROYED, m.thread, NULL, err)) != IPC_S_OK)
		return st;
	op.acc.rec.used_bytes -= op.acc.rec.used_bytes < m.size ?
	    op.acc.rec.used_bytes : m.size;
	if (op.acc.rec.used_messages > 0)
		op.acc.rec.used_messages--;
	return message_op_end(&op, 0, NULL);
}

/* --- Account purge --- */

struct message_purge_ctx {
	struct store_db		*db;
	MDB_txn			*txn;
	struct store_error	*err;
	enum ipc_status		 st;
};

static int
message_purge_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct message_purge_ctx *ctx = arg;
	struct message_rec m;

	(void)k;
	if (record_message_dec(v->mv_data, v->mv_size, &m) == -1)
		return 0;	/* a corrupt record: its blob leaks */
	ctx->st = blob_unref(ctx->db, ctx->txn, m.hash, NULL, ctx->err);
	return ctx->st == IPC_S_OK || ctx->st == IPC_S_NOTFOUND ? 0 : 1;
}

/*
 * Drops the blob reference of one JMAP upload (upload.h: key A hash32;
 * the key A alone is the account's usage).  Their expiry entries are left
 * to upload_sweep, which deletes those without an upload: this file does
 * not need upload.c.
 */
static int
message_purge_upload_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct message_purge_ctx *ctx = arg;

	(void)v;
	if (k->mv_size != 8 + MSG_HASH_LEN)
		return 0;
	ctx->st = blob_unref(ctx->db, ctx->txn,
	    (const uint8_t *)k->mv_data + 8, NULL, ctx->err);
	return ctx->st == IPC_S_OK || ctx->st == IPC_S_NOTFOUND ? 0 : 1;
}

/*
 * Drops the blob reference of one JMAP submission (submit.h: key A id; A
 * alone is the account's id counter), whose record starts with U8 1 and
 * the blob's hash so that this file does not need submit_queue.c.  The
 * queue entries of the account are left to the relay's take, which drops
 * those without a submission.
 */
static int
message_purge_submission_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct message_purge_ctx *ctx = arg;
	struct wire_reader rd;
	struct wire_bytes h;
	uint8_t ver = 0;

	if (k->mv_size != 16)
		return 0;
	wire_reader_init(&rd, v->mv_data, v->mv_size);
	if (wire_get_U8(&rd, &ver) == -1 || ver != RECORD_V1 ||
	    wire_get_BYTES(&rd, &h) == -1 || h.len != MSG_HASH_LEN)
		return 0;	/* a corrupt record: its blob leaks */
	ctx->st = blob_unref(ctx->db, ctx->txn, h.p, NULL, ctx->err);
	return ctx->st == IPC_S_OK || ctx->st == IPC_S_NOTFOUND ? 0 : 1;
}

/* Deletes every key of dbi starting with pre. */
static enum ipc_status
message_del_prefix(MDB_txn *txn, MDB_dbi dbi, unsigned int flags,
    const struct key_mail *pre, struct store_error *err)
{
	MDB_cursor *cur;
	MDB_val k = KEY_MAIL_VAL(pre), d;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return db_mdb_error(err, rc, "cursor");
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE)) == 0 &&
	    key_has_prefix(k.mv_data, k.mv_size, pre->b, pre->len)) {
		if ((rc = mdb_cursor_del(cur, flags)) != 0)
			break;
		k = KEY_MAIL_VAL(pre);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "purge");
	return IPC_S_OK;
}

enum ipc_status
message_account_purge(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    struct store_error *err)
{
	struct message_purge_ctx ctx = { db, txn, err, IPC_S_OK };
	const MDB_dbi dbis[] = { db->mail_state, db->mailboxes, db->messages,
	    db->msgrecs, db->mbox_uids, db->mbox_dates, db->mbox_threads,
	    db->threads, db->msgids, db->changes, db->vanished, db->dups,
	    db->metadata, db->uploads, db->identities, db->submissions,
	    db->vacations, db->pushsubs, db->msgimap, db->msghead };
	struct key_mail pre;
	enum ipc_status st;
	size_t i;

	key_mail_init(&pre, account_id);
	if ((st = db_scan(txn, db->messages, pre.b, pre.len,
	    message_purge_cb, &ctx, err)) != IPC_S_OK)
		return st;
	if (ctx.st != IPC_S_OK && ctx.st != IPC_S_NOTFOUND)
		return ctx.st;
	if ((st = db_scan(txn, db->uploads, pre.b, pre.len,
	    message_purge_upload_cb, &ctx, err)) != IPC_S_OK)
		return st;
	if (ctx.st != IPC_S_OK && ctx.st != IPC_S_NOTFOUND)
		return ctx.st;
	if ((st = db_scan(txn, db->submissions, pre.b, pre.len,
	    message_purge_submission_cb, &ctx, err)) != IPC_S_OK)
		return st;
	if (ctx.st != IPC_S_OK && ctx.st != IPC_S_NOTFOUND)
		return ctx.st;
	for (i = 0; i < sizeof(dbis) / sizeof(dbis[0]); i++)
		if (dbis[i] != 0 && (st = message_del_prefix(txn, dbis[i],
		    dbis[i] == db->msgids ? MDB_NODUPDATA : 0, &pre, err)) !=
		    IPC_S_OK)
			return st;
	return IPC_S_OK;
}

/* --- Reads --- */

struct message_uid_ctx {
	message_uid_fn	*fn;
	void		*arg;
};

static int
message_uid_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct message_uid_ctx *ctx = arg;
	const uint8_t *kp = k->mv_data, *vp = v->mv_data;

	if (k->mv_size != 16 || v->mv_size != 16)
		return 0;
	return ctx->fn(wire_be32_get(kp + 12), wire_be64_get(vp),
	    wire_be64_get(vp + 8), ctx->arg);
}

enum ipc_status
message_scan_uids(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mailbox_id, uint32_t first, message_uid_fn *fn, void *arg,
    struct store_error *err)
{
	struct message_uid_ctx ctx = { fn, arg };
	struct key_mail pre, start;
	MDB_cursor *cur;
	MDB_val k, d;
	MDB_cursor_op op = MDB_SET_RANGE;
	int rc;

	key_mail_init(&pre, account_id);
	key_mail_u32(&pre, mailbox_id);
	start = pre;
	key_mail_u32(&start, first);
	k = KEY_MAIL_VAL(&start);
	if ((rc = mdb_cursor_open(txn, db->mbox_uids, &cur)) != 0)
		return db_mdb_error(err, rc, "cursor");
	for (; (rc = mdb_cursor_get(cur, &k, &d, op)) == 0; op = MDB_NEXT)
		if (!key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len) ||
		    message_uid_cb(&k, &d, &ctx) != 0)
			break;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "uid scan");
	return IPC_S_OK;
}

enum ipc_status
message_find_uid(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mailbox_id, uint32_t uid, uint64_t *email_id_r,
    struct store_error *err)
{
	struct key_mail k;
	MDB_val kv, d;
	int rc;

	key_mail_init(&k, account_id);
	key_mail_u32(&k, mailbox_id);
	key_mail_u32(&k, uid);
	kv = KEY_MAIL_VAL(&k);
	if ((rc = mdb_get(txn, db->mbox_uids, &kv, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no message of UID %u",
		    uid);
	if (rc != 0)
		return db_mdb_error(err, rc, "uid lookup");
	if (d.mv_size != 16)
		return db_error(err, IPC_S_INTERNAL, "corrupt UID entry");
	*email_id_r = wire_be64_get(d.mv_data);
	return IPC_S_OK;
}

void
message_flags_text(const struct message_rec *m, char *out, size_t outlen)
{
	static const struct {
		uint32_t	 bit;
		const char	*name;
	} sys[] = {
		{ MSG_F_SEEN, "\\Seen" }, { MSG_F_ANSWERED, "\\Answered" },
		{ MSG_F_FLAGGED, "\\Flagged" }, { MSG_F_DELETED, "\\Deleted" },
		{ MSG_F_DRAFT, "\\Draft" },
	};
	size_t i;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (m->flags & sys[i].bit) {
			if (out[0] != '\0')
				strlcat(out, " ", outlen);
			strlcat(out, sys[i].name, outlen);
		}
	for (i = 0; i < m->nkeywords; i++) {
		if (out[0] != '\0')
			strlcat(out, " ", outlen);
		strlcat(out, m->keywords[i], outlen);
	}
}
