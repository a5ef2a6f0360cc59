/* SPDX-License-Identifier: ISC */
/*
 * email_op.h: the work behind the JMAP Mail requests of jmapd (RFC 8621):
 * MBOX_THREADS, EMAIL_LIST, EMAIL_GET, EMAIL_BODY, THREAD_GET and
 * EMAIL_SET of lib/ipc_types.def, as functions on the store's database
 * that know nothing of IPC, so that tests call them directly;
 * mail_email.c turns requests into these calls and their results into
 * replies.
 *
 * Every result carries the account's state, its modseq (changelog.h), read
 * in the same transaction as the data; an account without mail state has
 * state 0 and no mail.  Ids that do not exist (emails, threads, a mailbox
 * to list) are not found, which is not an error: they are left out of the
 * result.  The per-email lists (struct email_rows) are laid out as the
 * reply's: u64 vectors are big-endian (a U64LIST's elements), keywords one
 * space-separated string per email, mailboxes mbox_counts[i] ids each in
 * mailbox_ids, in the order of the message record.
 *
 * Reads run in the caller's read (or write) transaction.  EMAIL_SET is an
 * apply step of txn.h (email_set_op): each update and each destroy runs in
 * a transaction nested in the step's, so that one that fails changes
 * nothing while the others are kept, and it appends the change-log
 * entries, modseqs and vanished UIDs that MSG_STORE, MSG_COPY (move) and
 * MSG_EXPUNGE append for the same change (mail_msg.h), so that IMAP
 * sessions see JMAP's changes as their own.
 */
#ifndef BULWARK_EMAIL_OP_H
#define BULWARK_EMAIL_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "mail_msg.h"
#include "message_ops.h"
#include "record.h"
#include "strvec.h"
#include "wire.h"

/* Emails one EMAIL_LIST reply holds at most. */
#define EMAIL_LIST_MAX		4096
/* Updates and destroys of one EMAIL_SET, together, at most. */
#define EMAIL_SET_MAX		4096
/* Bytes of one EMAIL_SET failure text at most (the reply stays small). */
#define EMAIL_SET_TEXT_MAX	120

/* The data of each email of an EMAIL_LIST or EMAIL_GET reply. */
struct email_rows {
	struct mail_vec		 ids, thread_ids, received, sizes, flags;
	struct strvec		 keywords;
	struct mail_vec		 mbox_counts, mailbox_ids;
	struct buf		 hashes;	/* MSG_HASH_LEN per email */
	struct buf		 records;	/* with_record only */
	struct mail_vec		 record_lens;
	size_t			 bytes;		/* of the reply, about */
};

void	email_rows_clear(struct email_rows *r);

/* --- MBOX_THREADS --- */

struct email_mbox_threads {
	uint64_t		 state;
	struct mail_vec		 ids, unread_threads;	/* u64 */
};

/*
 * Each mailbox of account_id (in id order, as MBOX_LIST) with its count of
 * threads that have an unread email in it (mbox_op.h's rule: neither
 * \Seen nor \Draft).  r is zeroed first; clear it with
 * email_mbox_threads_clear either way.  Returns IPC_S_OK or an error.
 */
enum ipc_status email_op_mbox_threads(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, struct email_mbox_threads *r,
	    struct store_error *err);
void	email_mbox_threads_clear(struct email_mbox_threads *r);

/* --- EMAIL_LIST --- */

struct email_list {
	uint64_t		 state;
	/* The cursor of the following request, 0 when there is no more. */
	uint64_t		 next;
	struct email_rows	 rows;
};

/*
 * EMAIL_LIST: with mailbox_id 0, the emails of account_id in email id
 * order after email id cursor; else those of mailbox mailbox_id in UID
 * order after UID cursor (a mailbox that does not exist has none).  At
 * most limit emails (0 or above EMAIL_LIST_MAX: EMAIL_LIST_MAX), and
 * fewer when their data passes reply_max bytes (0: MAIL_REPLY_MAX; the
 * first email goes whatever its size).  r->next is the id (or UID) of
 * the last email listed when others follow it, else 0.  r is zeroed
 * first; clear it with email_list_clear either way.  Returns IPC_S_OK
 * or an error.
 */
enum ipc_status email_op_list(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mailbox_id, uint64_t cursor,
	    uint32_t limit, size_t reply_max, struct email_list *r,
	    struct store_error *err);
void	email_list_clear(struct email_list *r);

/* --- EMAIL_GET --- */

struct email_get {
	uint64_t		 state;
	uint32_t		 done;	/* ids covered */
	struct email_rows	 rows;	/* rows.ids: the ids found */
};

/*
 * EMAIL_GET of the ids asked (duplicates are answered twice), with each
 * email's blob hash and, if with_record, its parsed record, until the
 * data passes reply_max bytes (0: MAIL_REPLY_MAX; the first email found
 * goes whatever its size): r->done says how many of ids the result
 * covers.  r is zeroed first; clear it with email_get_clear either way.
 * Returns IPC_S_OK or an error.
 */
enum ipc_status email_op_get(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, const struct wire_u64list *ids,
	    bool with_record, size_t reply_max, struct email_get *r,
	    struct store_error *err);
void	email_get_clear(struct email_get *r);

/* --- EMAIL_BODY --- */

/*
 * EMAIL_BODY: the bytes [offset, offset + length) of email email_id
 * (length cut to MAIL_BODY_MAX and to the end; none past the end)
 * appended to data, and the email's size in *size_r.  Returns IPC_S_OK,
 * IPC_S_NOTFOUND (no such email: the one request that names a single
 * object answers so) or an error.
 */
enum ipc_status email_op_body(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint64_t email_id, uint64_t offset,
	    uint32_t length, uint64_t *size_r, struct buf *data,
	    struct store_error *err);

/* --- THREAD_GET --- */

struct email_threads {
	uint64_t		 state;
	struct mail_vec		 found, counts, email_ids;	/* u64 */
};

/*
 * THREAD_GET: the emails of each thread of ids that has any, oldest
 * received first, ties by email id (RFC 8621 3).  Returns IPC_S_OK,
 * IPC_S_TOOBIG when the result would pass reply_max bytes (0:
 * MAIL_REPLY_MAX; the reply has no way to say it is partial: ask for
 * fewer threads) or an error.  r is zeroed first; clear it with
 * email_threads_clear either way.
 */
enum ipc_status email_op_threads(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, const struct wire_u64list *ids,
	    size_t reply_max, struct email_threads *r,
	    struct store_error *err);
void	email_threads_clear(struct email_threads *r);

/* --- EMAIL_SET --- */

/* One update of EMAIL_SET (the rules are lib/ipc_types.def's). */
struct email_update {
	uint64_t		 id;
	uint32_t		 flags_add, flags_del;	/* MSG_F_* */
	char			*kw_add, *kw_del;	/* space-separated */
	bool			 kw_replace, mb_replace;
	uint64_t		*mb_add, *mb_del;	/* mailbox ids */
	uint32_t		 nmb_add, nmb_del;
};

struct email_set {
	/* in (owned) */
	uint64_t		 account_id;
	uint64_t		 if_state;	/* 0: none */
	struct email_update	*up;
	uint64_t		*destroy;
	size_t			 nup, ndestroy, capup, capdestroy;
	/* out: one status (enum ipc_status) and text per update, destroy */
	uint64_t		 old_state, new_state;
	struct mail_vec		 up_status, destroy_status;	/* u64 */
	struct strvec		 up_texts, destroy_texts;
	/* The mailboxes changed, with their new HIGHESTMODSEQs (notify). */
	struct msgops_mboxes	 touched;
};

/* Starts an empty EMAIL_SET of account_id (free with email_set_free). */
struct email_set *email_set_new(uint64_t account_id, uint64_t if_state);
/*
 * Appends an update (its strings and lists copied; kw_add and kw_del may
 * be NULL for none) and a destroy.
 */
void	email_set_update(struct email_set *es, uint64_t id,
	    uint32_t flags_add, uint32_t flags_del, const char *kw_add,
	    const char *kw_del, bool kw_replace, bool mb_replace,
	    const uint64_t *mb_add, uint32_t nmb_add, const uint64_t *mb_del,
	    uint32_t nmb_del);
void	email_set_destroy(struct email_set *es, uint64_t id);
/*
 * The EMAIL_SET of a request's lists (borrowed, copied).  Each per-update
 * list has one element per update_ids, or none at all (every update's is
 * then 0 or empty); mb_add and mb_del hold the sum of their counts.
 * Returns the set, or NULL with *st_r and err: IPC_S_INVALID (lists that
 * do not match, a flag outside MAIL_F_ALL) or IPC_S_LIMIT (more than
 * EMAIL_SET_MAX updates and destroys).
 */
struct email_set *email_set_from_wire(uint64_t account_id, uint64_t if_state,
	    const struct wire_u64list *update_ids,
	    const struct wire_u64list *flags_add,
	    const struct wire_u64list *flags_del,
	    const struct wire_strlist *kw_add,
	    const struct wire_strlist *kw_del,
	    const struct wire_u64list *kw_replace,
	    const struct wire_u64list *mb_replace,
	    const struct wire_u64list *mb_add_counts,
	    const struct wire_u64list *mb_add,
	    const struct wire_u64list *mb_del_counts,
	    const struct wire_u64list *mb_del,
	    const struct wire_u64list *destroy, enum ipc_status *st_r,
	    struct store_error *err);
void	email_set_free(struct email_set **esp);

/*
 * The apply step (txn.h's mail_apply_fn, arg the struct email_set):
 * IPC_S_CONFLICT, changing nothing, when if_state is not 0 nor the
 * account's state; else each update, then each destroy, with its status
 * in up_status or destroy_status: IPC_S_OK; IPC_S_NOTFOUND (no such
 * email, or a mailbox named that does not exist); IPC_S_INVALID (the
 * email would be in no mailbox, a bad keyword, a flag outside
 * MAIL_F_ALL); IPC_S_LIMIT (more than MSG_MAX_KEYWORDS keywords or
 * MSG_MAX_MAILBOXES mailboxes: JMAP's tooManyKeywords and
 * tooManyMailboxes); or the error that stopped it.  An update that
 * changes nothing writes nothing and takes no modseq.  A changed email
 * gets one "email updated" entry (a destroyed one message_destroy's
 * entries); when its flags or keywords changed, a new modseq in every
 * mailbox it is in, else in each mailbox it joined; a mailbox it left
 * remembers its UID as vanished at that modseq.  Each mailbox changed
 * gets one "mailbox updated" entry and its new HIGHESTMODSEQ at the end
 * (touched).  Returns IPC_S_OK, IPC_S_CONFLICT or an error of the whole
 * step (then the outputs mean nothing).
 */
mail_apply_fn email_set_op;

#endif
