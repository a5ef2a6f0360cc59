/* SPDX-License-Identifier: ISC */
/*
 * domain.c: adding, deleting and listing domains (records in record.h).
 */
#include "domain.h"
#include "key.h"
#include "record.h"

#include <string.h>

enum ipc_status
domain_exists(struct store_db *db, MDB_txn *txn, const char *domain,
    struct store_error *err)
{
	MDB_val k = { strlen(domain), (void *)domain }, d;
	int rc;

	if ((rc = mdb_get(txn, db->domains, &k, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no such domain %s",
		    domain);
	if (rc != 0)
		return db_mdb_error(err, rc, "domain lookup");
	return IPC_S_OK;
}

static enum ipc_status
domain_put(struct store_db *db, MDB_txn *txn, const char *domain,
    uint64_t now, struct store_error *err)
{
	struct domain_rec r = { .created = now };
	struct buf b = BUF_INIT;
	MDB_val k = { strlen(domain), (void *)domain }, d;
	int rc;

	record_domain_enc(&b, &r);
	d.mv_size = b.len;
	d.mv_data = b.data;
	rc = mdb_put(txn, db->domains, &k, &d, MDB_NOOVERWRITE);
	buf_clear(&b);
	if (rc == MDB_KEYEXIST)
		return db_error(err, IPC_S_EXISTS, "domain %s exists",
		    domain);
	if (rc != 0)
		return db_mdb_error(err, rc, "domain add");
	return IPC_S_OK;
}

enum ipc_status
domain_add(struct store_db *db, const char *name, uint64_t now,
    char canon[NAME_DOMAIN_MAX + 1], struct store_error *err)
{
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = name_domain(name, canon, err)) != IPC_S_OK)
		return st;
	if ((st = db_begin(db, true, &txn, err)) != IPC_S_OK)
		return st;
	if ((st = domain_put(db, txn, canon, now, err)) != IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	return db_commit(&txn, err);
}

static int
domain_any_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	(void)k;
	(void)v;
	*(int *)arg = 1;
	return 1;
}

/* Refuses to delete a domain that accounts or aliases still use. */
static enum ipc_status
domain_unused(struct store_db *db, MDB_txn *txn, const char *domain,
    struct store_error *err)
{
	uint8_t pre[KEY_ADDR_MAX];
	size_t plen = key_domain_prefix(pre, domain);
	enum ipc_status st;
	int accounts = 0, aliases = 0;

	st = db_scan(txn, db->accounts, pre, plen, domain_any_cb, &accounts,
	    err);
	if (st == IPC_S_OK)
		st = db_scan(txn, db->aliases, pre, plen, domain_any_cb,
		    &aliases, err);
	if (st != IPC_S_OK)
		return st;
	if (accounts || aliases)
		return db_error(err, IPC_S_EXISTS, "domain %s still has "
		    "%s; delete them first", domain, accounts && aliases ?
		    "accounts and aliases" : accounts ? "accounts" : "aliases");
	return IPC_S_OK;
}

enum ipc_status
domain_del(struct store_db *db, const char *name,
    char canon[NAME_DOMAIN_MAX + 1], struct store_error *err)
{
	MDB_val k;
	enum ipc_status st;
	MDB_txn *txn;
	int rc;

	if ((st = name_domain(name, canon, err)) != IPC_S_OK)
		return st;
	if ((st = db_begin(db, true, &txn, err)) != IPC_S_OK)
		return st;
	st = domain_exists(db, txn, canon, err);
	if (st == IPC_S_OK)
		st = domain_unused(db, txn, canon, err);
	if (st == IPC_S_OK) {
		k.mv_size = strlen(canon);
		k.mv_data = canon;
		if ((rc = mdb_del(txn, db->domains, &k, NULL)) != 0 ||
		    /* Its catch-all goes with it. */
		    ((rc = mdb_del(txn, db->catchall, &k, NULL)) != 0 &&
		    rc != MDB_NOTFOUND))
			st = db_mdb_error(err, rc, "domain delete");
	}
	if (st != IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	return db_commit(&txn, err);
}

static int
domain_list_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	(void)v;
	strvec_addn(arg, k->mv_data, k->mv_size);
	return 0;
}

enum ipc_status
domain_list(struct store_db *db, struct strvec *out, struct store_error *err)
{
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = db_begin(db, false, &txn, err)) != IPC_S_OK)
		return st;
	st = db_scan(txn, db->domains, NULL, 0, domain_list_cb, out, err);
	db_abort(&txn);
	return st;
}
