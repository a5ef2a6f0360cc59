/* SPDX-License-Identifier: ISC */
/*
 * submit_auto.c: automatic submissions (submit.h): mail the server sends
 * for an account by itself, such as vacation.h's replies, queued for the
 * relay with a null envelope sender and deleted once sent.
 */
#include "submit.h"
#include "submit_int.h"
#include "blob.h"
#include "xmalloc.h"

#include <string.h>

/* Deletes automatic submission id (r, its record) and its blob. */
enum ipc_status
submit_auto_forget(struct store_db *db, MDB_txn *txn, uint64_t acct,
    uint64_t id, struct submit_rec *r, struct store_error *err)
{
	struct key_mail k;
	enum ipc_status st;
	MDB_val kv;
	int rc;

	if ((st = submit_requeue(db, txn, acct, id, r, 0, err)) != IPC_S_OK)
		return st;
	kv = submit_key(&k, acct, id);
	if ((rc = mdb_del(txn, db->submissions, &kv, NULL)) != 0)
		return db_mdb_error(err, rc, "submission delete");
	st = blob_unref(db, txn, r->hash, NULL, err);
	return st == IPC_S_NOTFOUND ? IPC_S_OK : st;
}

enum ipc_status
submit_queue_auto(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const void *msg, size_t len, const char *rcpt, uint64_t now,
    uint64_t *id_r, struct store_error *err)
{
	struct submit_rec r;
	enum ipc_status st;
	uint64_t id;

	if (!submit_addr_ok(rcpt))
		return db_error(err, IPC_S_INVALID, "recipient \"%s\" is not "
		    "an address", rcpt);
	memset(&r, 0, sizeof(r));
	blob_hash(msg, len, r.hash);
	if ((st = blob_ref(db, txn, r.hash, msg, len, NULL, err)) !=
	    IPC_S_OK ||
	    (st = submit_counter_get(txn, db->submissions, account_id,
	    SUBMIT_SUB_FIRST, &id, err)) != IPC_S_OK ||
	    (st = submit_counter_put(txn, db->submissions, account_id,
	    id + 1, err)) != IPC_S_OK)
		return st;
	r.identity_id = SUBMIT_IDENTITY_AUTO;
	r.send_at = r.created = now;
	r.undo = SUBMIT_UNDO_PENDING;
	r.mail_from = xstrdup("");
	r.mail_from_params = xstrdup("");
	r.nrcpt = 1;
	r.rcpts = xcalloc(2, sizeof(*r.rcpts));
	r.replies = xcalloc(2, sizeof(*r.replies));
	r.delivered = xcalloc(2, 1);
	r.rcpts[0] = xstrdup(rcpt);
	r.replies[0] = xstrdup("");
	if ((st = submit_requeue(db, txn, account_id, id, &r, now, err)) ==
	    IPC_S_OK)
		st = submit_put(db, txn, account_id, id, &r, err);
	submit_rec_clear(&r);
	*id_r = id;
	return st;
}
