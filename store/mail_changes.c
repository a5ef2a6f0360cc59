/* SPDX-License-Identifier: ISC */
/*
 * mail_changes.c: CHANGES_GET, what changed of one type of object in the
 * session's account since a modseq (store/changes.h), for JMAP's
 * Mailbox/changes, Email/changes, Thread/changes, Identity/changes and
 * EmailSubmission/changes (RFC 8620 5.2, RFC 8621 6.2 and 7.2).  One
 * read transaction on the loop: the scan stops at the most ids asked.
 */
#include "mail_api.h"
#include "changes.h"
#include "storaged.h"
#include "wire.h"
#include "worker.h"

#include <string.h>

static struct wire_u64list
mail_changes_list(struct buf *b, const uint64_t *ids, size_t n)
{
	struct wire_u64list l;
	size_t i;

	for (i = 0; i < n; i++)
		wire_u64list_add(b, ids[i]);
	l.count = (uint32_t)n;
	l.p = b->data;
	return l;
}

void
mail_changes_get(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_CHANGES_GET_req *m = msg;
	struct wchan *w = arg;
	struct ipc_CHANGES_GET_rep rep;
	struct buf b[3] = { BUF_INIT, BUF_INIT, BUF_INIT };
	struct store_error err;
	struct changes ch;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;
	size_t i;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if (m->type < CHANGE_MAILBOX || m->type > CHANGE_SUBMISSION) {
		ipc_reply(c, f, IPC_S_INVALID, "no such type of object", NULL);
		return;
	}
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = changes_collect(&w->sd->db, txn, s->account_id,
		    (enum change_type)m->type, m->since, m->max, &ch, &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	memset(&rep, 0, sizeof(rep));
	rep.new_state = ch.new_state;
	rep.has_more = ch.has_more;
	rep.created = mail_changes_list(&b[0], ch.created, ch.ncreated);
	rep.updated = mail_changes_list(&b[1], ch.updated, ch.nupdated);
	rep.destroyed = mail_changes_list(&b[2], ch.destroyed,
	    ch.ndestroyed);
	ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	changes_clear(&ch);
	for (i = 0; i < 3; i++)
		buf_clear(&b[i]);
}
