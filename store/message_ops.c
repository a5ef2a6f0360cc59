/* SPDX-License-Identifier: ISC */
/*
 * message_ops.c: membership steps on existing messages (see
 * message_ops.h).  The index layouts are those of db.h, written the way
 * message.c writes them for a new message; the thread counts and the
 * duplicate entries follow message.c's rules, so that a message that
 * leaves a mailbox here looks the same as one message_destroy took out.
 */
#include "message_ops.h"
#include "changelog.h"
#include "key.h"
#include "mailbox.h"
#include "recent.h"
#include "wire.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define MSGOPS_MSGID_HASH_LEN	16	/* as message.c's dups keys */

bool
msgops_keyword_valid(const char *kw)
{
	const char *p;

	if (kw[0] == '\0' || strlen(kw) > MSG_KEYWORD_MAX)
		return false;
	for (p = kw; *p != '\0'; p++) {
		if (*p < 0x21 || *p > 0x7e)
			return false;
		if (strchr("(){%*\"\\]", *p) != NULL)
			return false;
	}
	return true;
}

static enum ipc_status
msgops_kput(MDB_txn *txn, MDB_dbi dbi, const struct key_mail *k,
    const void *p, size_t len, unsigned int flags, struct store_error *err)
{
	MDB_val kv = KEY_MAIL_VAL(k), d = { len, (void *)p };
	int rc;

	if ((rc = mdb_put(txn, dbi, &kv, &d, flags)) == MDB_KEYEXIST)
		return db_error(err, IPC_S_INTERNAL, "index entry exists");
	if (rc != 0)
		return db_mdb_error(err, rc, "membership write");
	return IPC_S_OK;
}

static enum ipc_status
msgops_kdel(MDB_txn *txn, MDB_dbi dbi, const struct key_mail *k,
    struct store_error *err)
{
	MDB_val kv = KEY_MAIL_VAL(k);
	int rc;

	rc = mdb_del(txn, dbi, &kv, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "membership delete");
	return IPC_S_OK;
}

enum ipc_status
msgops_uid_get(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mbox, uint32_t uid, uint64_t *email_r, uint64_t *modseq_r,
    struct store_error *err)
{
	return msgops_uid_get_seq(db, txn, NULL, account_id, mbox, uid,
	    email_r, modseq_r, err);
}

enum ipc_status
msgops_uid_get_seq(struct store_db *db, MDB_txn *txn, struct db_seq *seq,
    uint64_t account_id, uint32_t mbox, uint32_t uid, uint64_t *email_r,
    uint64_t *modseq_r, struct store_error *err)
{
	struct key_mail k;
	MDB_val kv, d;
	int rc;

	key_mail_init(&k, account_id);
	key_mail_u32(&k, mbox);
	key_mail_u32(&k, uid);
	kv = KEY_MAIL_VAL(&k);
	if ((rc = db_seq_get(txn, db->mbox_uids, seq, &kv, &d)) ==
	    MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no message of UID %u",
		    uid);
	if (rc != 0)
		return db_mdb_error(err, rc, "uid lookup");
	if (d.mv_size != 16)
		return db_error(err, IPC_S_INTERNAL, "corrupt UID entry");
	*email_r = wire_be64_get(d.mv_data);
	*modseq_r = wire_be64_get((const uint8_t *)d.mv_data + 8);
	return IPC_S_OK;
}

enum ipc_status
msgops_put(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t email, const struct message_rec *m, struct store_error *err)
{
	struct buf b = BUF_INIT;
	struct key_mail k;
	enum ipc_status st;

	key_mail_init(&k, account_id);
	key_mail_u64(&k, email);
	record_message_enc(&b, m);
	st = msgops_kput(txn, db->messages, &k, b.data, b.len, 0, err);
	buf_clear(&b);
	return st;
}

int
msgops_mbox_index(const struct message_rec *m, uint32_t mbox)
{
	uint32_t i;

	for (i = 0; i < m->nmbox; i++)
		if (m->mbox[i].mailbox == mbox)
			return (int)i;
	return -1;
}

/* Writes the UID entry of membership mm of email. */
static enum ipc_status
msgops_uid_put(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t email, const struct message_mbox *mm, unsigned int flags,
    struct store_error *err)
{
	struct key_mail k;
	uint8_t v[16];

	key_mail_init(&k, account_id);
	key_mail_u32(&k, mm->mailbox);
	key_mail_u32(&k, mm->uid);
	wire_be64_put(v, email);
	wire_be64_put(v + 8, mm->modseq);
	return msgops_kput(txn, db->mbox_uids, &k, v, sizeof(v), flags, err);
}

/* Adds delta to the members of thread in mbox, and mb's thread count. */
static enum ipc_status
msgops_thread_count(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mbox, uint64_t thread, int delta, struct mailbox_rec *mb,
    struct store_error *err)
{
	struct key_mail k;
	MDB_val kv, d;
	uint8_t b[4];
	uint32_t n = 0;
	int rc;

	key_mail_init(&k, account_id);
	key_mail_u32(&k, mbox);
	key_mail_u64(&k, thread);
	kv = KEY_MAIL_VAL(&k);
	rc = mdb_get(txn, db->mbox_threads, &kv, &d);
	if (rc == 0 && d.mv_size == 4)
		n = wire_be32_get(d.mv_data);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "thread count");
	if (delta > 0) {
		if (n++ == 0)
			mb->threads++;
	} else if (n > 0 && --n == 0 && mb->threads > 0)
		mb->threads--;
	if (n == 0)
		return msgops_kdel(txn, db->mbox_threads, &k, err);
	wire_be32_put(b, n);
	return msgops_kput(txn, db->mbox_threads, &k, b, sizeof(b), 0, err);
}

enum ipc_status
msgops_link(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t email, struct message_rec *m, uint32_t mbox, uint32_t *uid_r,
    struct store_error *err)
{
	struct mailbox_rec mb;
	struct message_mbox *mm;
	struct key_mail k;
	enum ipc_status st;
	uint8_t v[4];

	if (msgops_mbox_index(m, mbox) != -1)
		return db_error(err, IPC_S_EXISTS, "email %llu is in mailbox "
		    "%u already", (unsigned long long)email, mbox);
	if (m->nmbox >= MSG_MAX_MAILBOXES)
		return db_error(err, IPC_S_LIMIT, "email %llu is in %u "
		    "mailboxes", (unsigned long long)email, m->nmbox);
	if ((st = mailbox_get(db, txn, account_id, mbox, &mb, err)) !=
	    IPC_S_OK)
		return st;
	if (mb.uidnext == 0 || mb.uidnext == UINT32_MAX)
		return db_error(err, IPC_S_TOOBIG, "mailbox out of UIDs");
	mm = &m->mbox[m->nmbox];
	mm->mailbox = mbox;
	recent_note_uid(account_id, mbox, mb.uidvalidity, mb.uidnext);
	mm->uid = mb.uidnext++;
	mm->modseq = 0;		/* msgops_touch gives it one */
	if ((st = msgops_uid_put(db, txn, account_id, email, mm,
	    MDB_NOOVERWRITE, err)) != IPC_S_OK)
		return st;
	key_mail_init(&k, account_id);
	key_mail_u32(&k, mbox);
	key_mail_u64(&k, m->received);
	key_mail_u64(&k, email);
	wire_be32_put(v, mm->uid);
	if ((st = msgops_kput(txn, db->mbox_dates, &k, v, sizeof(v), 0,
	    err)) != IPC_S_OK ||
	    (st = msgops_thread_count(db, txn, account_id, mbox, m->thread, 1,
	    &mb, err)) != IPC_S_OK)
		return st;
	mailbox_count_msg(&mb, m->flags, m->size, 1);
	*uid_r = mm->uid;
	m->nmbox++;
	return mailbox_put(db, txn, account_id, mbox, &mb, err);
}

/* Forgets the duplicate entry of email in mbox, if it is its. */
static enum ipc_status
msgops_dup_del(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t email, const struct message_rec *m, uint32_t mbox,
    struct store_error *err)
{
	struct dup_rec r;
	struct key_mail k;
	uint8_t h[MSGOPS_MSGID_HASH_LEN];
	MDB_val kv, d;

	if (m->message_id[0] == '\0')
		return IPC_S_OK;
	crypto_generichash(h, sizeof(h), (const uint8_t *)m->message_id,
	    strlen(m->message_id), NULL, 0);
	key_mail_init(&k, account_id);
	key_mail_u32(&k, mbox);
	key_mail_bytes(&k, h, sizeof(h));
	kv = KEY_MAIL_VAL(&k);
	if (mdb_get(txn, db->dups, &kv, &d) != 0 ||
	    record_dup_dec(d.mv_data, d.mv_size, &r) == -1 || r.email != email)
		return IPC_S_OK;
	return msgops_kdel(txn, db->dups, &k, err);
}

enum ipc_status
msgops_unlink(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t email, struct message_rec *m, uint32_t mbox, uint32_t *uid_r,
    struct store_error *err)
{
	struct mailbox_rec mb;
	struct key_mail k;
	enum ipc_status st;
	int i;

	if ((i = msgops_mbox_index(m, mbox)) == -1)
		return db_error(err, IPC_S_NOTFOUND, "email %llu is not in "
		    "mailbox %u", (unsigned long long)email, mbox);
	if (m->nmbox == 1)
		return db_error(err, IPC_S_INVALID, "mailbox %u is the last "
		    "of email %llu", mbox, (unsigned long long)email);
	if ((st = mailbox_get(db, txn, account_id, mbox, &mb, err)) !=
	    IPC_S_OK)
		return st;
	key_mail_init(&k, account_id);
	key_mail_u32(&k, mbox);
	key_mail_u32(&k, m->mbox[i].uid);
	if ((st = msgops_kdel(txn, db->mbox_uids, &k, err)) != IPC_S_OK)
		return st;
	key_mail_init(&k, account_id);
	key_mail_u32(&k, mbox);
	key_mail_u64(&k, m->received);
	key_mail_u64(&k, email);
	if ((st = msgops_kdel(txn, db->mbox_dates, &k, err)) != IPC_S_OK ||
	    (st = msgops_dup_del(db, txn, account_id, email, m, mbox, err)) !=
	    IPC_S_OK ||
	    (st = msgops_thread_count(db, txn, account_id, mbox, m->thread,
	    -1, &mb, err)) != IPC_S_OK)
		return st;
	mailbox_count_msg(&mb, m->flags, m->size, -1);
	*uid_r = m->mbox[i].uid;
	m->mbox[i] = m->mbox[m->nmbox - 1];
	m->nmbox--;
	return mailbox_put(db, txn, account_id, mbox, &mb, err);
}

enum ipc_status
msgops_vanish(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mbox, uint32_t uid, uint64_t modseq, struct store_error *err)
{
	struct key_mail k;
	uint8_t v[4];

	key_mail_init(&k, account_id);
	key_mail_u32(&k, mbox);
	key_mail_u64(&k, modseq);
	wire_be32_put(v, uid);
	return msgops_kput(txn, db->vanished, &k, v, sizeof(v), 0, err);
}

enum ipc_status
msgops_touch(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    struct mstate_rec *s, uint64_t email, struct message_rec *m,
    uint32_t only, uint64_t *modseq_r, struct store_error *err)
{
	enum ipc_status st;
	uint64_t ms;
	uint32_t i;

	if ((st = changelog_append(db, txn, account_id, s, CHANGE_EMAIL,
	    CHANGE_UPDATED, email, &ms, err)) != IPC_S_OK)
		return st;
	for (i = 0; i < m->nmbox; i++) {
		if (only != 0 && m->mbox[i].mailbox != only)
			continue;
		m->mbox[i].modseq = ms;
		if ((st = msgops_uid_put(db, txn, account_id, email,
		    &m->mbox[i], 0, err)) != IPC_S_OK)
			return st;
	}
	if (modseq_r != NULL)
		*modseq_r = ms;
	return IPC_S_OK;
}

enum ipc_status
msgops_flags_counts(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const struct message_rec *m, uint32_t old, struct store_error *err)
{
	struct mailbox_rec mb;
	enum ipc_status st;
	uint32_t i;

	if (((old ^ m->flags) & (MSG_F_SEEN | MSG_F_DELETED)) == 0)
		return IPC_S_OK;
	for (i = 0; i < m->nmbox; i++) {
		if ((st = mailbox_get(db, txn, account_id, m->mbox[i].mailbox,
		    &mb, err)) != IPC_S_OK)
			return st;
		mailbox_count_flags(&mb, old, m->flags, m->size);
		if ((st = mailbox_put(db, txn, account_id, m->mbox[i].mailbox,
		    &mb, err)) != IPC_S_OK)
			return st;
	}
	return IPC_S_OK;
}

/* --- The mailboxes of a request --- */

void
msgops_mboxes_add(struct msgops_mboxes *ms, uint32_t id)
{
	size_t i;

	for (i = 0; i < ms->n; i++)
		if (ms->ids[i] == id)
			return;
	if (ms->n == ms->cap) {
		ms->cap = ms->cap == 0 ? 8 : ms->cap * 2;
		ms->ids = xreallocarray(ms->ids, ms->cap, sizeof(*ms->ids));
		ms->hms = xreallocarray(ms->hms, ms->cap, sizeof(*ms->hms));
	}
	ms->ids[ms->n] = id;
	ms->hms[ms->n++] = 0;
}

void
msgops_mboxes_add_all(struct msgops_mboxes *ms, const struct message_rec *m)
{
	uint32_t i;

	for (i = 0; i < m->nmbox; i++)
		msgops_mboxes_add(ms, m->mbox[i].mailbox);
}

enum ipc_status
msgops_mboxes_commit(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    struct mstate_rec *s, struct msgops_mboxes *ms, struct store_error *err)
{
	struct mailbox_rec mb;
	enum ipc_status st;
	size_t i;

	for (i = 0; i < ms->n; i++) {
		st = mailbox_get(db, txn, account_id, ms->ids[i], &mb, err);
		if (st == IPC_S_NOTFOUND)
			continue;
		if (st != IPC_S_OK ||
		    (st = changelog_append(db, txn, account_id, s,
		    CHANGE_MAILBOX, CHANGE_UPDATED, ms->ids[i], &ms->hms[i],
		    err)) != IPC_S_OK)
			return st;
		mb.highestmodseq = ms->hms[i];
		if ((st = mailbox_put(db, txn, account_id, ms->ids[i], &mb,
		    err)) != IPC_S_OK)
			return st;
	}
	return IPC_S_OK;
}

uint64_t
msgops_mboxes_hms(const struct msgops_mboxes *ms, uint32_t id)
{
	size_t i;

	for (i = 0; i < ms->n; i++)
		if (ms->ids[i] == id)
			return ms->hms[i];
	return 0;
}

void
msgops_mboxes_clear(struct msgops_mboxes *ms)
{
	free(ms->ids);
	free(ms->hms);
	memset(ms, 0, sizeof(*ms));
}
