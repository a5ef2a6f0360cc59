/* SPDX-License-Identifier: ISC */
/*
 * rcpt.c: recipient resolution for delivery (see rcpt.h), in one read
 * transaction.
 */
#include "rcpt.h"
#include "account.h"
#include "compat.h"
#include "key.h"
#include "mailbox.h"
#include "quota.h"

#include <string.h>

/* The account of address a directly or through its alias. */
static enum ipc_status
rcpt_account(struct store_db *db, MDB_txn *txn, const struct name_addr *a,
    struct account *acc, struct store_error *err)
{
	uint8_t key[KEY_ADDR_MAX];
	MDB_val k = { key_addr(key, a), key }, d;
	struct alias_rec ar;
	struct name_addr t;
	enum ipc_status st;
	int rc;

	st = account_get_txn(db, txn, a, acc, err);
	if (st != IPC_S_NOTFOUND)
		return st;
	if ((rc = mdb_get(txn, db->aliases, &k, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no such recipient");
	if (rc != 0)
		return db_mdb_error(err, rc, "alias lookup");
	if (record_alias_dec(d.mv_data, d.mv_size, &ar) == -1 ||
	    name_address(ar.target, &t, err) != IPC_S_OK)
		return db_error(err, IPC_S_INTERNAL, "corrupt alias record");
	return account_get_txn(db, txn, &t, acc, err);
}

/* The target account of the catch-all of domain. */
static enum ipc_status
rcpt_catchall(struct store_db *db, MDB_txn *txn, const char *domain,
    struct account *acc, struct store_error *err)
{
	MDB_val k = { strlen(domain), (void *)domain }, d;
	struct alias_rec ar;
	struct name_addr t;
	int rc;

	if ((rc = mdb_get(txn, db->catchall, &k, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no such recipient");
	if (rc != 0)
		return db_mdb_error(err, rc, "catch-all lookup");
	if (record_alias_dec(d.mv_data, d.mv_size, &ar) == -1 ||
	    name_address(ar.target, &t, err) != IPC_S_OK)
		return db_error(err, IPC_S_INTERNAL, "corrupt catch-all");
	return account_get_txn(db, txn, &t, acc, err);
}

/* Strips <> and splits off a +detail: base address and detail. */
static enum ipc_status
rcpt_split(const char *address, char *base, size_t baselen, char *detail,
    size_t detlen, struct store_error *err)
{
	const char *p = address, *at, *plus;
	size_t len = strlen(address);

	if (len > 0 && p[0] == '<' && p[len - 1] == '>') {
		p++;
		len -= 2;
	}
	if (len == 0 || len >= baselen ||
	    (at = memrchr(p, '@', len)) == NULL)
		return db_error(err, IPC_S_INVALID, "not an address");
	detail[0] = '\0';
	plus = memchr(p, '+', (size_t)(at - p));
	if (plus == NULL || plus == p) {
		memcpy(base, p, len);
		base[len] = '\0';
		return IPC_S_OK;
	}
	if ((size_t)(at - plus - 1) >= detlen)
		return db_error(err, IPC_S_INVALID, "detail too long");
	memcpy(detail, plus + 1, (size_t)(at - plus - 1));
	detail[at - plus - 1] = '\0';
	memcpy(base, p, (size_t)(plus - p));
	memcpy(base + (plus - p), at, len - (size_t)(at - p));
	base[(plus - p) + len - (size_t)(at - p)] = '\0';
	return IPC_S_OK;
}

/* Finds the account; *detail is cleared when the whole address matched. */
static enum ipc_status
rcpt_find(struct store_db *db, MDB_txn *txn, const char *address,
    char *detail, struct account *acc, struct store_error *err)
{
	char base[NAME_ADDR_MAX + 3];
	struct name_addr a;
	enum ipc_status st;
	const char *p = address;
	size_t len = strlen(address);
	char whole[NAME_ADDR_MAX + 3];

	if ((st = rcpt_split(address, base, sizeof(base), detail,
	    MAILBOX_NAME_MAX + 1, err)) != IPC_S_OK)
		return st;
	if (len > 1 && p[0] == '<' && p[len - 1] == '>') {
		p++;
		len -= 2;
	}
	memcpy(whole, p, len);
	whole[len] = '\0';
	/* The whole address first: "a+b@x" may be an account itself. */
	if (name_address(whole, &a, err) == IPC_S_OK &&
	    (st = rcpt_account(db, txn, &a, acc, err)) != IPC_S_NOTFOUND) {
		detail[0] = '\0';
		return st;
	}
	if ((st = name_address(base, &a, err)) != IPC_S_OK)
		return st;
	if (detail[0] != '\0' &&
	    (st = rcpt_account(db, txn, &a, acc, err)) != IPC_S_NOTFOUND)
		return st;
	detail[0] = '\0';
	return rcpt_catchall(db, txn, a.domain, acc, err);
}

/*
 * rcpt_resolve, reading what is committed now (exempt) or also what the
 * writer has acknowledged and still holds (db.h); *quota_r: the account
 * has a quota.
 */
static enum ipc_status
rcpt_resolve_as(struct store_db *db, const char *address, bool exempt,
    struct rcpt_result *r, bool *quota_r, struct store_error *err)
{
	static const char inbox[] = "inbox";
	char detail[MAILBOX_NAME_MAX + 1];
	struct store_error qerr;
	struct mailbox_rec mb;
	struct account acc;
	enum ipc_status st;
	MDB_txn *txn;
	bool was;

	memset(r, 0, sizeof(*r));
	*quota_r = false;
	if (strlen(address) > NAME_ADDR_MAX + 2)
		return db_error(err, IPC_S_INVALID, "address too long");
	was = db_held_exempt(exempt);
	st = db_begin(db, false, &txn, err);
	(void)db_held_exempt(was);
	if (st != IPC_S_OK)
		return st;
	st = rcpt_find(db, txn, address, detail, &acc, err);
	if (st == IPC_S_OK && (detail[0] == '\0' || mailbox_find(db, txn,
	    acc.rec.id, detail, NULL, &r->mailbox_id, &mb, err) != IPC_S_OK) &&
	    (st = mailbox_find(db, txn, acc.rec.id, NULL, inbox,
	    &r->mailbox_id, &mb, err)) == IPC_S_NOTFOUND)
		st = db_error(err, IPC_S_INTERNAL, "account %s has no inbox",
		    acc.name);
	db_abort(&txn);
	if (st != IPC_S_OK)
		return st;
	r->account_id = acc.rec.id;
	strlcpy(r->account, acc.name, sizeof(r->account));
	strlcpy(r->mailbox, mb.name, sizeof(r->mailbox));
	r->over_quota = quota_check(&acc, 1, 1, &qerr) == IPC_S_QUOTA;
	*quota_r = acc.rec.quota_bytes != 0 || acc.rec.quota_messages != 0;
	return IPC_S_OK;
}

enum ipc_status
rcpt_resolve(struct store_db *db, const char *address, struct rcpt_result *r,
    struct store_error *err)
{
	enum ipc_status st;
	bool quota;

	/*
	 * The account as last committed: deliveries the writer holds need
	 * not commit for a recipient without a quota.  One with a quota
	 * that this says has room is read again with them, so that a
	 * recipient the last deliveries filled is refused here.
	 */
	st = rcpt_resolve_as(db, address, true, r, &quota, err);
	if (st == IPC_S_OK && quota && !r->over_quota)
		st = rcpt_resolve_as(db, address, false, r, &quota, err);
	return st;
}
