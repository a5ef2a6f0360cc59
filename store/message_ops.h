/* SPDX-License-Identifier: ISC */
/*
 * message_ops.h: membership-level steps on existing messages, for the
 * requests of protocol workers (mail_msg_write.c): reading a UID's entry,
 * adding a message to one more mailbox (IMAP COPY, JMAP mailboxIds),
 * taking it out of one mailbox while it stays in others (EXPUNGE of a
 * copy, MOVE), giving a changed message a new modseq in every mailbox it
 * is in (RFC 7162 3.1.3: flags changed), and the change-log entries and
 * HIGHESTMODSEQ of the mailboxes a request touched.
 *
 * The per-membership modseq is kept twice, in the message record
 * (message_rec.mbox[].modseq) and in the mbox_uids value; these steps keep
 * both equal.  A message is in a mailbox once at most (JMAP semantics).
 *
 * Every step runs inside the caller's write transaction and takes the
 * caller's mail state *s (changelog.h), which the caller reads before and
 * writes back with mstate_put after (and around any call that reads and
 * writes the mail state itself, such as message_append and
 * message_destroy).  A step that changes the message record m changes the
 * caller's copy only; msgops_put writes it.  err is set whenever the
 * status is not IPC_S_OK; the caller then aborts its transaction.
 */
#ifndef BULWARK_MESSAGE_OPS_H
#define BULWARK_MESSAGE_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "record.h"

/* Whether kw is a keyword the store takes: an IMAP flag-keyword atom
 * (RFC 9051 9: ATOM-CHARs, so no '\\'), 1 to MSG_KEYWORD_MAX bytes,
 * the same as RFC 8621 4.1.1's JMAP keywords. */
bool	msgops_keyword_valid(const char *kw);

/*
 * Reads the entry of uid in mailbox mbox: its email id and membership
 * modseq.  Returns IPC_S_OK, IPC_S_NOTFOUND or an error.
 */
enum ipc_status msgops_uid_get(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mbox, uint32_t uid,
	    uint64_t *email_r, uint64_t *modseq_r, struct store_error *err);
/* The same through seq (db.h), for reads in UID order. */
enum ipc_status msgops_uid_get_seq(struct store_db *db, MDB_txn *txn,
	    struct db_seq *seq, uint64_t account_id, uint32_t mbox,
	    uint32_t uid, uint64_t *email_r, uint64_t *modseq_r,
	    struct store_error *err);
/* Writes message record m of email inside write txn. */
enum ipc_status msgops_put(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint64_t email, const struct message_rec *m,
	    struct store_error *err);
/* The index of mailbox mbox in m->mbox, or -1 if m is not in it. */
int	msgops_mbox_index(const struct message_rec *m, uint32_t mbox);

/*
 * Adds email (record m) to mailbox mbox with the mailbox's next UID
 * (*uid_r): its UID and date entries, thread count, and the counters
 * of mailbox.h.
 * The new membership's modseq is set by the msgops_touch that must
 * follow.  Returns IPC_S_OK, IPC_S_NOTFOUND (mailbox), IPC_S_EXISTS (m
 * is in it already), IPC_S_LIMIT (m is in MSG_MAX_MAILBOXES), IPC_S_TOOBIG
 * (the mailbox is out of UIDs) or an error.
 */
enum ipc_status msgops_link(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint64_t email, struct message_rec *m,
	    uint32_t mbox, uint32_t *uid_r, struct store_error *err);
/*
 * Takes email (record m) out of mailbox mbox, which must not be its last
 * one (message_destroy is for that): its UID and date entries, its
 * duplicate-suppression entry there, thread count and counters; its
 * UID goes to *uid_r for msgops_vanish.  Returns IPC_S_OK,
 * IPC_S_NOTFOUND (not in mbox), IPC_S_INVALID (its last mailbox) or an
 * error.
 */
enum ipc_status msgops_unlink(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint64_t email, struct message_rec *m,
	    uint32_t mbox, uint32_t *uid_r, struct store_error *err);
/*
 * Records that uid of mailbox mbox was expunged at modseq (RFC 7162
 * 3.2.10, VANISHED); modseq must be one this account's log gave out and
 * not used for another vanished entry of mbox.
 */
enum ipc_status msgops_vanish(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mbox, uint32_t uid, uint64_t modseq,
	    struct store_error *err);
/*
 * Appends "email updated" to the log and gives that modseq (*modseq_r,
 * may be NULL) to the membership of m in mailbox only, or with only 0 to
 * every membership of m (its flags changed), in m and in the UID entries.
 */
enum ipc_status msgops_touch(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, struct mstate_rec *s, uint64_t email,
	    struct message_rec *m, uint32_t only, uint64_t *modseq_r,
	    struct store_error *err);
/*
 * The flags of m changed from old to m->flags: brings the unread and
 * deleted counters of every mailbox of m up to date (mailbox.h).
 */
enum ipc_status msgops_flags_counts(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, const struct message_rec *m, uint32_t old,
	    struct store_error *err);

/* The mailboxes a request changed, and their new HIGHESTMODSEQs. */
struct msgops_mboxes {
	uint32_t	*ids;
	uint64_t	*hms;
	size_t		 n, cap;
};

/* Adds mailbox id to the set (once). */
void	msgops_mboxes_add(struct msgops_mboxes *ms, uint32_t id);
/* Adds every mailbox of m. */
void	msgops_mboxes_add_all(struct msgops_mboxes *ms,
	    const struct message_rec *m);
/*
 * Appends "mailbox updated" for each mailbox of the set, in the order
 * added, and makes that modseq its HIGHESTMODSEQ (and ms->hms[i]), above
 * every membership modseq the request gave out.  A mailbox gone meanwhile
 * is skipped (hms 0).  Returns IPC_S_OK or an error.
 */
enum ipc_status msgops_mboxes_commit(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, struct mstate_rec *s, struct msgops_mboxes *ms,
	    struct store_error *err);
/* The HIGHESTMODSEQ msgops_mboxes_commit gave mailbox id, or 0. */
uint64_t msgops_mboxes_hms(const struct msgops_mboxes *ms, uint32_t id);
void	msgops_mboxes_clear(struct msgops_mboxes *ms);

#endif
