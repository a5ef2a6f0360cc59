/* SPDX-License-Identifier: ISC */
/*
 * notify.c: MBOX_CHANGED to the sessions that selected a changed mailbox
 * (see notify.h).  A walk over every worker channel's session table: the
 * tables are small hashes of at most SESSION_MAX, and writes that notify
 * are far rarer than reads.  An index from (account, mailbox) to sessions
 * is the step up if that ever shows in a profile.
 *
 * A caller that does not know the mailbox's new HIGHESTMODSEQ (a delivery,
 * whose reply carries the email's modseq only) passes modseq 0, and the
 * mailbox record is read here, once, only if some session looks at it.
 */
#include "notify.h"
#include "log.h"
#include "mailbox.h"
#include "session.h"

#include <string.h>

/* The mailbox's HIGHESTMODSEQ now, or 0 if it cannot be read. */
static uint64_t
notify_hms(struct storaged *sd, uint64_t account_id, uint32_t mailbox_id)
{
	struct store_error err;
	struct mailbox_rec mb;
	MDB_txn *txn;
	uint64_t hms = 0;

	if (db_begin(&sd->db, false, &txn, &err) != IPC_S_OK)
		return 0;
	if (mailbox_get(&sd->db, txn, account_id, mailbox_id, &mb, &err) ==
	    IPC_S_OK)
		hms = mb.highestmodseq;
	db_abort(&txn);
	return hms;
}

void
notify_mailbox(struct storaged *sd, uint64_t account_id, uint32_t mailbox_id,
    uint64_t modseq)
{
	struct ipc_MBOX_CHANGED_req msg;
	struct session *s;
	struct wchan *w;
	size_t i, n = 0;

	if (account_id == 0 || mailbox_id == 0)
		return;
	msg.mailbox_id = mailbox_id;
	msg.modseq = modseq;
	TAILQ_FOREACH(w, &sd->workers, entry) {
		if (w->sessions.slot == NULL)
			continue;
		for (i = 0; i <= w->sessions.mask; i++) {
			s = w->sessions.slot[i];
			if (s == NULL || s->account_id != account_id ||
			    s->selected != mailbox_id)
				continue;
			if (msg.modseq == 0 && (msg.modseq = notify_hms(sd,
			    account_id, mailbox_id)) == 0)
				return;
			ipc_send(w->chan, IPC_T_MBOX_CHANGED, s->id, &msg, -1);
			n++;
		}
	}
	if (n > 0)
		log_trace(LOG_TRACE_STORE, "notify account=%llu mailbox=%u "
		    "modseq=%llu sessions=%zu",
		    (unsigned long long)account_id, mailbox_id,
		    (unsigned long long)msg.modseq, n);
}
