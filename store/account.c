/* SPDX-License-Identifier: ISC */
/*
 * account.c: adding, reading, changing and deleting accounts (records in
 * record.h, keys in key.h).  The id counter lives in the meta database and
 * only grows: ids are never reused.
 */
#include "account.h"
#include "alias.h"
#include "compat.h"
#include "domain.h"
#include "key.h"
#include "log.h"
#include "mailbox.h"
#include "message.h"
#include "schema.h"

#include <string.h>

enum ipc_status
account_get_txn(struct store_db *db, MDB_txn *txn, const struct name_addr *a,
    struct account *acc, struct store_error *err)
{
	uint8_t key[KEY_ADDR_MAX];
	MDB_val k = { key_addr(key, a), key }, d;
	int rc;

	if ((rc = mdb_get(txn, db->accounts, &k, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no such account %s",
		    a->full);
	if (rc != 0)
		return db_mdb_error(err, rc, "account lookup");
	if (record_account_dec(d.mv_data, d.mv_size, &acc->rec) == -1) {
		log_warnx("store corrupt account record name=%s", a->full);
		return db_error(err, IPC_S_INTERNAL,
		    "corrupt record of account %s", a->full);
	}
	strlcpy(acc->name, a->full, sizeof(acc->name));
	return IPC_S_OK;
}

enum ipc_status
account_put_txn(struct store_db *db, MDB_txn *txn, const struct account *acc,
    struct store_error *err)
{
	struct name_addr a;
	uint8_t key[KEY_ADDR_MAX];
	struct buf b = BUF_INIT;
	MDB_val k, d;
	enum ipc_status st;
	int rc;

	if ((st = name_address(acc->name, &a, err)) != IPC_S_OK)
		return st;
	k.mv_size = key_addr(key, &a);
	k.mv_data = key;
	record_account_enc(&b, &acc->rec);
	d.mv_size = b.len;
	d.mv_data = b.data;
	rc = mdb_put(txn, db->accounts, &k, &d, 0);
	buf_clear(&b);
	if (rc != 0)
		return db_mdb_error(err, rc, "account write");
	return IPC_S_OK;
}

enum ipc_status
account_get(struct store_db *db, const char *name, struct account *acc,
    struct store_error *err)
{
	struct name_addr a;
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = name_address(name, &a, err)) != IPC_S_OK)
		return st;
	if ((st = db_begin(db, false, &txn, err)) != IPC_S_OK)
		return st;
	st = account_get_txn(db, txn, &a, acc, err);
	db_abort(&txn);
	return st;
}

enum ipc_status
account_get_id(struct store_db *db, uint64_t id, struct account *acc,
    struct store_error *err)
{
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = db_begin(db, false, &txn, err)) != IPC_S_OK)
		return st;
	st = account_get_id_txn(db, txn, id, acc, err);
	db_abort(&txn);
	return st;
}

enum ipc_status
account_get_id_txn(struct store_db *db, MDB_txn *txn, uint64_t id,
    struct account *acc, struct store_error *err)
{
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, d;
	struct name_addr a;
	enum ipc_status st = IPC_S_OK;
	int rc;

	key_u64(key, id);
	if ((rc = mdb_get(txn, db->account_ids, &k, &d)) == MDB_NOTFOUND)
		st = db_error(err, IPC_S_NOTFOUND, "no account of id %llu",
		    (unsigned long long)id);
	else if (rc != 0)
		st = db_mdb_error(err, rc, "account id lookup");
	else if (record_account_id_dec(d.mv_data, d.mv_size, acc->name) == -1)
		st = db_error(err, IPC_S_INTERNAL, "corrupt account id record");
	else if ((st = name_address(acc->name, &a, err)) == IPC_S_OK)
		st = account_get_txn(db, txn, &a, acc, err);
	if (st == IPC_S_OK && acc->rec.id != id)
		st = db_error(err, IPC_S_INTERNAL, "account id index mismatch");
	return st;
}

/* The checks of account_check_new inside txn. */
static enum ipc_status
account_free_txn(struct store_db *db, MDB_txn *txn, const struct name_addr *a,
    struct store_error *err)
{
	uint8_t key[KEY_ADDR_MAX];
	MDB_val k = { key_addr(key, a), key }, d;
	enum ipc_status st;
	int rc;

	if ((st = domain_exists(db, txn, a->domain, err)) != IPC_S_OK)
		return st;
	if ((rc = mdb_get(txn, db->accounts, &k, &d)) == 0)
		return db_error(err, IPC_S_EXISTS, "account %s exists",
		    a->full);
	if (rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "account lookup");
	st = alias_exists_txn(db, txn, key, k.mv_size, err);
	if (st == IPC_S_OK)
		return db_error(err, IPC_S_EXISTS, "%s is an alias",
		    a->full);
	return st == IPC_S_NOTFOUND ? IPC_S_OK : st;
}

enum ipc_status
account_check_new(struct store_db *db, const char *name, struct name_addr *a,
    struct store_error *err)
{
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = name_address(name, a, err)) != IPC_S_OK)
		return st;
	if ((st = db_begin(db, false, &txn, err)) != IPC_S_OK)
		return st;
	st = account_free_txn(db, txn, a, err);
	db_abort(&txn);
	return st;
}

/* Takes the next id from the counter in the meta database. */
static enum ipc_status
account_next_id(struct store_db *db, MDB_txn *txn, uint64_t *id_r,
    struct store_error *err)
{
	enum ipc_status st;
	uint64_t id;

	st = db_get_u64(txn, db->meta, SCHEMA_KEY_NEXT_ID, &id, err);
	if (st == IPC_S_NOTFOUND || (st == IPC_S_OK && id == 0))
		return db_error(err, IPC_S_INTERNAL, "account id counter "
		    "missing");
	if (st != IPC_S_OK)
		return st;
	*id_r = id;
	return db_put_u64(txn, db->meta, SCHEMA_KEY_NEXT_ID, id + 1, err);
}

static enum ipc_status
account_put_id(struct store_db *db, MDB_txn *txn, const struct account *acc,
    struct store_error *err)
{
	uint8_t key[8];
	struct buf b = BUF_INIT;
	MDB_val k = { sizeof(key), key }, d;
	int rc;

	key_u64(key, acc->rec.id);
	record_account_id_enc(&b, acc->name);
	d.mv_size = b.len;
	d.mv_data = b.data;
	rc = mdb_put(txn, db->account_ids, &k, &d, MDB_NOOVERWRITE);
	buf_clear(&b);
	if (rc != 0)
		return db_mdb_error(err, rc, "account id write");
	return IPC_S_OK;
}

enum ipc_status
account_add(struct store_db *db, const struct name_addr *a, const char *hash,
    uint64_t quota_bytes, uint64_t quota_messages, uint64_t now,
    uint64_t *id_r, struct store_error *err)
{
	struct account acc;
	enum ipc_status st;
	MDB_txn *txn;

	memset(&acc, 0, sizeof(acc));
	strlcpy(acc.name, a->full, sizeof(acc.name));
	if (strlcpy(acc.rec.hash, hash, sizeof(acc.rec.hash)) >=
	    sizeof(acc.rec.hash))
		return db_error(err, IPC_S_INTERNAL, "password hash too long");
	acc.rec.created = now;
	acc.rec.quota_bytes = quota_bytes;
	acc.rec.quota_messages = quota_messages;
	if ((st = db_begin(db, true, &txn, err)) != IPC_S_OK)
		return st;
	st = account_free_txn(db, txn, a, err);
	if (st == IPC_S_OK)
		st = account_next_id(db, txn, &acc.rec.id, err);
	if (st == IPC_S_OK)
		st = account_put_txn(db, txn, &acc, err);
	if (st == IPC_S_OK)
		st = account_put_id(db, txn, &acc, err);
	if (st == IPC_S_OK)
		st = mailbox_account_init(db, txn, acc.rec.id, now, err);
	if (st != IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	if ((st = db_commit(&txn, err)) == IPC_S_OK)
		*id_r = acc.rec.id;
	return st;
}

/* Deletes the account record of a and its id entry inside txn. */
static enum ipc_status
account_del_txn(struct store_db *db, MDB_txn *txn, const struct name_addr *a,
    uint64_t id, struct store_error *err)
{
	uint8_t key[KEY_ADDR_MAX], idkey[8];
	MDB_val k = { key_addr(key, a), key }, ik = { sizeof(idkey), idkey };
	int rc;

	key_u64(idkey, id);
	if ((rc = mdb_del(txn, db->accounts, &k, NULL)) != 0 ||
	    ((rc = mdb_del(txn, db->account_ids, &ik, NULL)) != 0 &&
	    rc != MDB_NOTFOUND))
		return db_mdb_error(err, rc, "account delete");
	return IPC_S_OK;
}

enum ipc_status
account_del(struct store_db *db, const char *name, struct account *gone,
    size_t *naliases_r, struct store_error *err)
{
	struct account acc;
	struct name_addr a;
	enum ipc_status st;
	MDB_txn *txn;

	*naliases_r = 0;
	if ((st = name_address(name, &a, err)) != IPC_S_OK)
		return st;
	if ((st = db_begin(db, true, &txn, err)) != IPC_S_OK)
		return st;
	st = account_get_txn(db, txn, &a, &acc, err);
	if (st == IPC_S_OK)
		st = alias_del_target_txn(db, txn, &a, naliases_r, err);
	if (st == IPC_S_OK)
		st = account_del_txn(db, txn, &a, acc.rec.id, err);
	if (st == IPC_S_OK)
		st = alias_catchall_del_target_txn(db, txn, a.full, err);
	if (st == IPC_S_OK)
		st = message_account_purge(db, txn, acc.rec.id, err);
	if (st != IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	if ((st = db_commit(&txn, err)) == IPC_S_OK && gone != NULL)
		*gone = acc;
	return st;
}

enum ipc_status
account_set_hash(struct store_db *db, const char *name, const char *hash,
    uint64_t *id_r, struct store_error *err)
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
		if (strlcpy(acc.rec.hash, hash, sizeof(acc.rec.hash)) >=
		    sizeof(acc.rec.hash))
			st = db_error(err, IPC_S_INTERNAL,
			    "password hash too long");
		acc.rec.auth_gen++;
	}
	if (st == IPC_S_OK)
		st = account_put_txn(db, txn, &acc, err);
	if (st != IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	if ((st = db_commit(&txn, err)) == IPC_S_OK)
		*id_r = acc.rec.id;
	return st;
}

struct account_list_ctx {
	struct strvec	*out;
	int		 bad;
};

static int
account_list_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct account_list_ctx *ctx = arg;
	char name[NAME_ADDR_MAX + 1];

	(void)v;
	if (key_addr_name(k->mv_data, k->mv_size, name, sizeof(name)) == -1)
		ctx->bad++;
	else
		strvec_add(ctx->out, name);
	return 0;
}

enum ipc_status
account_list(struct store_db *db, const char *domain, struct strvec *out,
    struct store_error *err)
{
	struct account_list_ctx ctx = { out, 0 };
	char canon[NAME_DOMAIN_MAX + 1];
	uint8_t pre[KEY_ADDR_MAX];
	size_t plen = 0;
	enum ipc_status st;
	MDB_txn *txn;

	if (domain[0] != '\0' &&
	    (st = name_domain(domain, canon, err)) != IPC_S_OK)
		return st;
	if ((st = db_begin(db, false, &txn, err)) != IPC_S_OK)
		return st;
	if (domain[0] != '\0') {
		plen = key_domain_prefix(pre, canon);
		st = domain_exists(db, txn, canon, err);
	}
	if (st == IPC_S_OK)
		st = db_scan(txn, db->accounts, pre, plen, account_list_cb,
		    &ctx, err);
	db_abort(&txn);
	if (ctx.bad > 0)
		log_warnx("store corrupt account keys count=%d", ctx.bad);
	strvec_sort(out);
	return st;
}
