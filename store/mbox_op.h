/* SPDX-License-Identifier: ISC */
/*
 * mbox_op.h: the mailbox operations of protocol workers (MBOX_LIST,
 * MBOX_CREATE, MBOX_DELETE, MBOX_RENAME, MBOX_SUBSCRIBE of
 * lib/ipc_types.def) on one account, without IPC: mail_mbox.c wraps them
 * in handlers, tests call them directly.
 *
 * Names are full UTF-8 paths with '/' between levels (RFC 9051 5.1): at
 * most MAILBOX_NAME_MAX bytes, no empty level (so no leading, trailing or
 * doubled '/'), no control characters (C0, DEL, C1).  Names compare
 * byte for byte, except that a first level of "INBOX" in any case means
 * the inbox (RFC 9051 5.1): "inbox" names the inbox, and "INBOX/x" is
 * "<the inbox's name>/x".  Every mailbox's parent exists: creating and
 * renaming make the missing ones (RFC 9051 6.3.4, 6.3.6), deleting one
 * with children is refused.
 *
 * An account holds at most MBOX_OP_MAX mailboxes, and no more than fit
 * one MBOX_LIST reply (IPC_S_LIMIT otherwise).  A new mailbox's
 * UIDVALIDITY is the current time (as mailbox_account_init chooses), or
 * one more than the highest of the account's mailboxes when that is not
 * lower, so that values are unique and increase (RFC 9051 2.3.1.1).
 *
 * The writes run inside the caller's write transaction (txn.h) and append
 * their change-log entries there; on an error the caller aborts it.  err
 * is set whenever the status is not IPC_S_OK.
 */
#ifndef BULWARK_MBOX_OP_H
#define BULWARK_MBOX_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "record.h"
#include "strvec.h"

#define MBOX_OP_MAX	4096	/* mailboxes per account */

/* One mailbox as MBOX_LIST shows it. */
struct mbox_info {
	uint32_t		 id;
	struct mailbox_rec	 rec;
	uint64_t		 size;		/* bytes of its messages */
	/*
	 * Threads with a message in this mailbox that has neither \Seen
	 * nor \Draft (the simple rule of RFC 8621 2).
	 */
	uint32_t		 unread_threads;
};

struct mbox_list {
	uint64_t		 state;		/* the account's modseq */
	struct mbox_info	*v;		/* in id order */
	size_t			 n, cap;
};

/*
 * Reads every mailbox of account_id, with its size (the record's
 * counter) and, if unread_threads, its unread threads (counted in one
 * pass over the account's messages when some mailbox has unread ones:
 * JMAP's Mailbox/get needs them, IMAP never does), into *l (initialize it
 * zeroed; mbox_list_clear frees it).  Returns IPC_S_OK, IPC_S_NOTFOUND
 * (no mail state) or an error.
 */
enum ipc_status mbox_op_list(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, bool unread_threads, struct mbox_list *l,
	    struct store_error *err);
void	mbox_list_clear(struct mbox_list *l);
/*
 * Bytes of the MBOX_LIST reply payload for n mailboxes whose names and
 * roles are text_bytes long in all (without NULs).
 */
size_t	mbox_op_list_bytes(size_t n, size_t text_bytes);

/*
 * Checks a mailbox name as above.  Returns NULL if it is acceptable, else
 * why not (a static string).
 */
const char *mbox_op_name_check(const char *name);
/* Whether role is "" or a role of RFC 8621 2 (IANA's registry). */
bool	mbox_op_role_known(const char *role);

/*
 * The missing parents a CREATE or RENAME made on the way (RFC 9051 6.3.4),
 * outermost first, for the sessions to be told of them (RFC 5465 5.4).
 * Zero it first; mbox_made_clear() empties it.
 */
struct mbox_made {
	uint32_t	*ids;
	struct strvec	 names;		/* names.n entries, as ids */
};

void	mbox_made_clear(struct mbox_made *made);

/*
 * Creates mailbox name with role (may be "" or NULL) and any missing
 * parents (without role) at now, with a change-log entry each; each is
 * subscribed exactly if its name was (subscription.h).  *id_r and
 * *uidvalidity_r (may be NULL) get the new mailbox's, made (may be NULL)
 * the parents made.  Returns IPC_S_OK, IPC_S_INVALID (name or role),
 * IPC_S_EXISTS (the name exists, or another mailbox has the role),
 * IPC_S_LIMIT, IPC_S_NOTFOUND (no mail state) or an error.
 */
enum ipc_status mbox_op_create(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, const char *name, const char *role,
	    uint64_t now, uint32_t *id_r, uint32_t *uidvalidity_r,
	    struct mbox_made *made, struct store_error *err);
/*
 * Deletes mailbox id and its messages: those in no other mailbox are
 * destroyed, the others only leave it (message_ops.h).  *modseq_r (may be
 * NULL) gets the modseq of its destruction; a subscribed mailbox's
 * name stays subscribed (subscription.h).  Returns IPC_S_OK,
 * IPC_S_NOTFOUND, IPC_S_DENIED (the inbox), IPC_S_HASCHILDREN or an
 * error.
 */
enum ipc_status mbox_op_delete(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t id, uint64_t *modseq_r,
	    struct store_error *err);
/*
 * Renames mailbox id to name and each of its descendants with it,
 * creating missing parents of name at now; each renamed mailbox gets a
 * change-log entry.  Renaming the inbox instead creates mailbox name and
 * moves every message of the inbox into it (new UIDs there), leaving the
 * inbox and its children where they are; *inbox_modseq_r (may be NULL)
 * then gets the inbox's new highest modseq if it held messages, else 0
 * (and 0 for any other rename).  *id_r gets the id of the mailbox now
 * called name, made (may be NULL) the parents made.  Subscriptions stay with the names: the old name of a
 * subscribed mailbox stays subscribed, and a renamed mailbox is
 * subscribed exactly if its new name was (subscription.h, RFC 9051
 * 6.3.6).  Returns IPC_S_OK, IPC_S_NOTFOUND,
 * IPC_S_INVALID (the name, or a mailbox moved under itself),
 * IPC_S_EXISTS, IPC_S_LIMIT or an error.
 */
enum ipc_status mbox_op_rename(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t id, const char *name, uint64_t now,
	    uint32_t *id_r, uint64_t *inbox_modseq_r, struct mbox_made *made,
	    struct store_error *err);
/*
 * Sets the subscription of mailbox id, with a change-log entry when it
 * changes.  Returns IPC_S_OK, IPC_S_NOTFOUND or an error.
 */
enum ipc_status mbox_op_subscribe(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t id, bool subscribed,
	    struct store_error *err);

#endif
