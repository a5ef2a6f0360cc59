/* SPDX-License-Identifier: ISC */
/*
 * notify.h: telling worker sessions that mail they look at changed.  After
 * a write that touched a mailbox is durable, its done function calls
 * notify_mailbox(); every session (on any worker channel) bound to that
 * account with that mailbox selected (MBOX_SELECT) gets MBOX_CHANGED with
 * the mailbox's new highest modseq, and fetches what changed with
 * MBOX_SYNC.  Sessions that watch their account (ACCOUNT_WATCH, IMAP
 * NOTIFY of RFC 5465) also get ACCOUNT_CHANGED for the other mailboxes,
 * and MBOX_LIST_CHANGED for mailboxes created, deleted and renamed and for
 * subscriptions (notify_list_changed()).  A session that watches nothing
 * costs nothing beyond the walk notify_mailbox() always made.  lmtpd's
 * channels hear that a submission is due (notify_relay_wake()).  Runs on
 * the loop thread.
 */
#ifndef BULWARK_NOTIFY_H
#define BULWARK_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"
#include "strvec.h"
#include "storaged.h"

/*
 * Who asked for a change: the worker channel (wchan serial) and the
 * session id on it, which is not told of its own change (RFC 5465 5).
 */
struct notify_origin {
	uint64_t	 chan_serial;
	uint64_t	 session;
};

/*
 * origin (NULL: none, as for a delivery) gets MBOX_CHANGED if it has the
 * mailbox selected, but no ACCOUNT_CHANGED for its own change elsewhere.
 */
void	notify_mailbox(struct storaged *sd, uint64_t account_id,
	    uint32_t mailbox_id, uint64_t modseq,
	    const struct notify_origin *origin);


/*
 * Tells the sessions of account_id that watch it (ACCTWATCH_NAMES for
 * ACCTWATCH_EV_CREATE, _DELETE and _RENAME, ACCTWATCH_SUBSCRIPTIONS for
 * _SUBSCRIBE, ACCTWATCH_METADATA or ACCTWATCH_SERVER_METADATA for
 * _METADATA) except origin (NULL: none): MBOX_LIST_CHANGED with event,
 * mailbox_id (0 if unknown, or the server's metadata), name and oldname
 * (stored names, borrowed; oldname NULL but for a rename), subscribed,
 * and the names of the metadata entries changed (NULL: none).
 */
void	notify_list_changed(struct storaged *sd, uint64_t account_id,
	    const struct notify_origin *origin, uint32_t event,
	    uint32_t mailbox_id, const char *name, const char *oldname,
	    bool subscribed, const struct strvec *entries);

/*
 * After a delivery into mailbox_id made the account's modseq `modseq`:
 * ACCOUNT_DELIVERED to the sessions of account_id that watch
 * ACCTWATCH_DELIVERY.
 */
/*
 * Objects of the JMAP types (PUSHTYPE_* of lib/pushtypes.h) that are not
 * mail changed in account_id, which is at modseq now (0: unknown): push
 * subscriptions and the sessions that watch ACCTWATCH_TYPES hear of it.
 */
void	notify_types(struct storaged *sd, uint64_t account_id, uint32_t types,
	    uint64_t modseq);
void	notify_delivered(struct storaged *sd, uint64_t account_id,
	    uint32_t mailbox_id, uint64_t modseq);

/*
 * RELAY_WAKE to every lmtpd channel (STORE_PEER name "lmtpd"): a
 * submission is due (store/submit.h).  Returns how many were told.
 */
size_t	notify_relay_wake(struct storaged *sd);

/* ACCOUNT_WATCH: what the frame's session watches from now on. */
ipc_handler_fn notify_account_watch;

#endif
