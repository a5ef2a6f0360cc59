/* SPDX-License-Identifier: ISC */
/*
 * mailbox.h: the mailboxes of an account.  A mailbox has an id (u32, per
 * account, never reused), a parent, a UTF-8 name whose hierarchy separator
 * in storage is '/', a role (RFC 8621 2, the IMAP special-use attribute of
 * RFC 6154), its UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ (RFC 9051, RFC
 * 7162), counts (total, unread, threads), subscription and sort order.
 *
 * Every account has the default mailboxes Inbox, Drafts, Sent, Trash, Junk
 * and Archive with their roles, made with the account (or by the schema
 * step that introduced mail, for older accounts).  err is set whenever the
 * status is not IPC_S_OK.
 */
#ifndef BULWARK_MAILBOX_H
#define BULWARK_MAILBOX_H

#include <stdint.h>

#include "db.h"
#include "record.h"

/*
 * Gives account_id, inside write txn, its mail state and the default
 * mailboxes, created at now, each with a change-log entry.  Returns
 * IPC_S_OK, IPC_S_EXISTS if the account has mail state already, or an
 * error.
 */
enum ipc_status mailbox_account_init(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint64_t now, struct store_error *err);
/*
 * Reads mailbox id of account_id into *mb: IPC_S_OK, IPC_S_NOTFOUND or an
 * error.
 */
enum ipc_status mailbox_get(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t id, struct mailbox_rec *mb,
	    struct store_error *err);
/* Writes mailbox id of account_id inside write txn. */
enum ipc_status mailbox_put(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t id, const struct mailbox_rec *mb,
	    struct store_error *err);
/*
 * Finds the mailbox of account_id named name (compared without regard to
 * ASCII case, as "INBOX" is in IMAP) or, with name NULL, the one of role
 * role; its id goes to *id_r and its record to *mb (may be NULL).
 * Returns IPC_S_OK, IPC_S_NOTFOUND or an error.
 */
enum ipc_status mailbox_find(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, const char *name, const char *role,
	    uint32_t *id_r, struct mailbox_rec *mb, struct store_error *err);

/*
 * The counters of mailbox_rec: adds (dir 1) or takes away (dir -1) one
 * message with flags (MSG_F_*) and size octets: total, unread (no \Seen),
 * size, deleted and deleted_size (\Deleted).  Counts never go below 0.
 */
void	mailbox_count_msg(struct mailbox_rec *mb, uint32_t flags,
	    uint64_t size, int dir);
/* A message of size octets in mb whose flags changed from old to new. */
void	mailbox_count_flags(struct mailbox_rec *mb, uint32_t old,
	    uint32_t new, uint64_t size);

/* Sees one mailbox; returns 0 to go on, non-zero to stop. */
typedef int mailbox_fn(uint32_t id, const struct mailbox_rec *mb, void *arg);
/*
 * Calls fn for each mailbox of account_id in id order.  Returns IPC_S_OK
 * or an error (IPC_S_INTERNAL for a corrupt record).
 */
enum ipc_status mailbox_scan(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, mailbox_fn *fn, void *arg,
	    struct store_error *err);

#endif
