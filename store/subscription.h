/* SPDX-License-Identifier: ISC */
/*
 * subscription.h: the subscribed mailbox names of an account (RFC 9051
 * 6.3.7, 6.3.8; RFC 5258 3.1).  A subscription is a name, not a mailbox:
 * it may name no mailbox, it stays when its mailbox is deleted (RFC 9051
 * 6.3.5, 6.3.7) and it comes to a mailbox created under it later.
 *
 * The truth is kept in two places that never overlap:
 * - a mailbox's record (mailbox.h, its `subscribed`) for a name that a
 *   mailbox has, which is what JMAP shows as Mailbox/isSubscribed;
 * - the subscriptions database (db.h) for a name that no mailbox has, an
 *   "orphan": key account id (u64 BE) and the BLAKE2b-128 of the name
 *   (names can be longer than an LMDB key), value the stored name (UTF-8,
 *   '/' between levels, the inbox's tree under the inbox's own name, no
 *   NUL).
 * mbox_op.c moves a subscription between the two as mailboxes come and
 * go, with the hooks below, in the transaction that changes the mailbox.
 *
 * Orphans have no change-log entry: they are no JMAP object and no IMAP
 * state that a modseq describes.  err is set whenever the status is not
 * IPC_S_OK.
 */
#ifndef BULWARK_SUBSCRIPTION_H
#define BULWARK_SUBSCRIPTION_H

#include <stdbool.h>

#include "db.h"
#include "strvec.h"

/*
 * The orphans SUBSCRIBE may make, in octets of their names in all: enough
 * for hundreds of names, and the SUBSCRIPTION_LIST reply stays well below
 * a frame.  Deleting or renaming a subscribed mailbox adds its orphan
 * whatever the total, so that those commands never fail for it.
 */
#define SUBSCRIPTION_BYTES_MAX	(256 * 1024)

/*
 * Subscribes (on) or unsubscribes account_id to mailbox name (checked by
 * mbox_op_name_check; a first level "INBOX" in any case is the inbox,
 * RFC 9051 5.1), inside write txn: the record of the mailbox of that name
 * if there is one (mbox_op_subscribe, with its change-log entry), else the
 * orphan.  Subscribing what is subscribed and unsubscribing what is not
 * are no-ops (6.3.7, 6.3.8: OK).  Returns IPC_S_OK, IPC_S_INVALID (the
 * name), IPC_S_LIMIT (orphans above SUBSCRIPTION_BYTES_MAX), IPC_S_NOTFOUND
 * (no mail state) or an error.
 */
enum ipc_status subscription_set(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, const char *name, bool on,
	    struct store_error *err);
/*
 * Appends the orphans of account_id to names, in byte order.  Returns
 * IPC_S_OK or an error.
 */
enum ipc_status subscription_orphans(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, struct strvec *names,
	    struct store_error *err);

/*
 * Hooks of mbox_op.c, inside its write transaction; name is a stored name.
 * subscription_take: a mailbox now has name; its orphan, if any, goes and
 * *subscribed_r says whether there was one (the mailbox's new state).
 * subscription_leave: the subscribed mailbox that had name is gone or
 * renamed; name stays subscribed as an orphan.
 */
enum ipc_status subscription_take(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, const char *name, bool *subscribed_r,
	    struct store_error *err);
enum ipc_status subscription_leave(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, const char *name, struct store_error *err);

#endif
