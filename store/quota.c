/* SPDX-License-Identifier: ISC */
/*
 * quota.c: setting and checking account quotas (see quota.h).
 */
#include "quota.h"

enum ipc_status
quota_set(struct store_db *db, const char *name, uint64_t bytes,
    uint64_t messages, uint64_t *id_r, struct store_error *err)
{
	struct account acc;
	struct name_addr a;
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = name_address(name, &a, err)) != IPC_S_OK)
		return st;
	if ((st = db_begin(db, true, &txn, err)) != IPC_S_OK)
		return st;
	if ((st = account_get_txn(db, txn, &a, &acc, err)) == IPC_S_OK) {
		acc.rec.quota_bytes = bytes;
		acc.rec.quota_messages = messages;
		st = account_put_txn(db, txn, &acc, err);
	}
	if (st != IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	if ((st = db_commit(&txn, err)) == IPC_S_OK)
		*id_r = acc.rec.id;
	return st;
}

/* Whether used + add passes limit (0 = none), without overflowing. */
static int
quota_exceeds(uint64_t limit, uint64_t used, uint64_t add)
{
	return limit != 0 && (used > limit || add > limit - used);
}

enum ipc_status
quota_check(const struct account *acc, uint64_t add_bytes,
    uint64_t add_messages, struct store_error *err)
{
	const struct account_rec *r = &acc->rec;

	if (quota_exceeds(r->quota_bytes, r->used_bytes, add_bytes))
		return db_error(err, IPC_S_QUOTA, "over the storage quota "
		    "of %llu bytes", (unsigned long long)r->quota_bytes);
	if (quota_exceeds(r->quota_messages, r->used_messages, add_messages))
		return db_error(err, IPC_S_QUOTA, "over the quota of %llu "
		    "messages", (unsigned long long)r->quota_messages);
	return IPC_S_OK;
}
