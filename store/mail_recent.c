/* SPDX-License-Identifier: ISC */
/*
 * mail_recent.c: MBOX_RECENT, the \Recent flag of IMAP4rev1 for imapd
 * (lib/ipc_types.def): looks at, claims or counts the recent messages of
 * a mailbox of the session's account against the boundary recent.h
 * keeps.  One read transaction on the loop gives the mailbox's UIDNEXT
 * (the most a claim may take) and, for a count, its UIDs from the
 * boundary on; the claim itself is recent_claim's, atomic under its lock.
 */
#include "mail_api.h"
#include "mailbox.h"
#include "message.h"
#include "recent.h"
#include "session.h"
#include "storaged.h"
#include "worker.h"

#include <string.h>

/* MBOX_RECENT's modes. */
enum mail_recent_mode {
	MAIL_RECENT_LOOK,
	MAIL_RECENT_CLAIM,
	MAIL_RECENT_COUNT,
};

static int
mail_recent_count_cb(uint32_t uid, uint64_t email_id, uint64_t modseq,
    void *arg)
{
	uint32_t *count = arg;

	(void)uid;
	(void)email_id;
	(void)modseq;
	(*count)++;
	return 0;
}

void
mail_mbox_recent(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MBOX_RECENT_req *m = msg;
	struct ipc_MBOX_RECENT_rep rep;
	struct wchan *w = arg;
	struct store_error err;
	struct mailbox_rec mb;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if (m->mode > MAIL_RECENT_COUNT) {
		ipc_reply(c, f, IPC_S_INVALID, "unknown mode", NULL);
		return;
	}
	/* Only the session's own view may take messages from others. */
	if (m->mode == MAIL_RECENT_CLAIM && s->selected != m->mailbox_id) {
		ipc_reply(c, f, IPC_S_INVALID, "mailbox not selected", NULL);
		return;
	}
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	memset(&rep, 0, sizeof(rep));
	st = mailbox_get(&w->sd->db, txn, s->account_id, m->mailbox_id, &mb,
	    &err);
	if (st == IPC_S_OK && mb.uidvalidity != m->uidvalidity)
		st = db_error(&err, IPC_S_CONFLICT, "uidvalidity changed");
	if (st == IPC_S_OK) {
		if (m->mode == MAIL_RECENT_CLAIM)
			rep.first = recent_claim(s->account_id,
			    m->mailbox_id, mb.uidvalidity, mb.uidnext,
			    m->uidnext);
		else
			rep.first = recent_first(s->account_id,
			    m->mailbox_id, mb.uidvalidity, mb.uidnext);
		if (m->mode == MAIL_RECENT_COUNT && rep.first < mb.uidnext)
			st = message_scan_uids(&w->sd->db, txn, s->account_id,
			    m->mailbox_id, rep.first, mail_recent_count_cb,
			    &rep.count, &err);
	}
	db_abort(&txn);
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else
		ipc_reply(c, f, IPC_S_OK, NULL, &rep);
}
