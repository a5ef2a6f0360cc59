/* SPDX-License-Identifier: ISC */
/*
 * mail_quota.c: QUOTA_GET, the quota of the session's account for IMAP
 * QUOTA (RFC 9208): its limits and usage from the account record, where
 * the write path keeps them (quota.h).  One read transaction on the loop.
 */
#include "mail_api.h"
#include "account.h"
#include "storaged.h"
#include "worker.h"

#include <string.h>

void
mail_quota_get(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct wchan *w = arg;
	struct ipc_QUOTA_GET_rep rep;
	struct store_error err;
	struct account acc;
	struct session *s;
	enum ipc_status st;
	MDB_txn *txn;

	(void)msg;
	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if ((st = db_begin(&w->sd->db, false, &txn, &err)) == IPC_S_OK) {
		st = account_get_id_txn(&w->sd->db, txn, s->account_id, &acc,
		    &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		return;
	}
	memset(&rep, 0, sizeof(rep));
	rep.storage_limit = acc.rec.quota_bytes;
	rep.storage_used = acc.rec.used_bytes;
	rep.message_limit = acc.rec.quota_messages;
	rep.message_used = acc.rec.used_messages;
	ipc_reply(c, f, IPC_S_OK, NULL, &rep);
}
