/* SPDX-License-Identifier: ISC */
/*
 * subscription.c: subscribed names without a mailbox ("orphans") in the
 * subscriptions database, and subscribing a name whichever of the two
 * places holds it (see subscription.h).
 */
#include "subscription.h"
#include "changelog.h"
#include "compat.h"
#include "mailbox.h"
#include "mbox_op.h"
#include "wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#define SUBSCRIPTION_PREFIX	8	/* the account id */
#define SUBSCRIPTION_HASH	16

struct subscription_key {
	uint8_t		 b[SUBSCRIPTION_PREFIX + SUBSCRIPTION_HASH];
	size_t		 len;
};

/*
 * The key of name (NULL: the account's prefix).  A name may be longer
 * than LMDB's largest key (511 bytes), so the key holds its BLAKE2b-128
 * and the value the name; two names that share a hash are not expected
 * in the life of the universe, and would only share a subscription.
 */
static void
subscription_key(struct subscription_key *k, uint64_t account_id,
    const char *name)
{
	wire_be64_put(k->b, account_id);
	k->len = SUBSCRIPTION_PREFIX;
	if (name == NULL)
		return;
	crypto_generichash(k->b + SUBSCRIPTION_PREFIX, SUBSCRIPTION_HASH,
	    (const unsigned char *)name, strlen(name), NULL, 0);
	k->len += SUBSCRIPTION_HASH;
}

/* --- The name a SUBSCRIBE means --- */

struct subscription_find {
	const char	*name;		/* NULL: look for the inbox */
	char		 inbox[MAILBOX_NAME_MAX + 1];
	uint32_t	 id;
};

static int
subscription_find_cb(uint32_t id, const struct mailbox_rec *mb, void *arg)
{
	struct subscription_find *f = arg;

	if (f->name == NULL) {
		if (strcmp(mb->role, "inbox") != 0)
			return 0;
		strlcpy(f->inbox, mb->name, sizeof(f->inbox));
	} else if (strcmp(mb->name, f->name) != 0)
		return 0;
	f->id = id;
	return 1;
}

/*
 * Copies name to out with a first level "INBOX" in any case spelled as
 * the inbox's stored name, as mbox_op.c does for CREATE: orphans are kept
 * in the form the mailbox made under them would have.  *id_r gets the id
 * of the mailbox of that name, or 0.
 */
static enum ipc_status
subscription_canon(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const char *name, char out[MAILBOX_NAME_MAX + 1], uint32_t *id_r,
    struct store_error *err)
{
	struct subscription_find f;
	enum ipc_status st;

	memset(&f, 0, sizeof(f));
	strlcpy(out, name, MAILBOX_NAME_MAX + 1);
	if (strncasecmp(name, "inbox", 5) == 0 &&
	    (name[5] == '\0' || name[5] == '/')) {
		if ((st = mailbox_scan(db, txn, account_id,
		    subscription_find_cb, &f, err)) != IPC_S_OK)
			return st;
		if (f.id != 0 && (strlcpy(out, f.inbox, MAILBOX_NAME_MAX + 1) >
		    MAILBOX_NAME_MAX || strlcat(out, name + 5,
		    MAILBOX_NAME_MAX + 1) > MAILBOX_NAME_MAX))
			return db_error(err, IPC_S_INVALID, "mailbox name too "
			    "long");
	}
	f.name = out;
	f.id = 0;
	if ((st = mailbox_scan(db, txn, account_id, subscription_find_cb, &f,
	    err)) != IPC_S_OK)
		return st;
	*id_r = f.id;
	return IPC_S_OK;
}

/* --- Orphans --- */

struct subscription_sum {
	struct strvec	*names;		/* NULL: only count */
	size_t		 bytes;
};

static int
subscription_sum_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct subscription_sum *s = arg;

	(void)k;
	s->bytes += v->mv_size;
	if (s->names != NULL)
		strvec_addn(s->names, v->mv_data, v->mv_size);
	return 0;
}

enum ipc_status
subscription_orphans(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    struct strvec *names, struct store_error *err)
{
	struct subscription_sum s = { names, 0 };
	struct subscription_key pre;
	enum ipc_status st;

	subscription_key(&pre, account_id, NULL);
	if ((st = db_scan(txn, db->subscriptions, pre.b, pre.len,
	    subscription_sum_cb, &s, err)) == IPC_S_OK)
		strvec_sort(names);
	return st;
}

/* Adds the orphan name (checked, canonical); a present one stays. */
static enum ipc_status
subscription_put(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const char *name, struct store_error *err)
{
	struct subscription_key k;
	MDB_val kv, d;
	int rc;

	subscription_key(&k, account_id, name);
	kv.mv_size = k.len;
	kv.mv_data = k.b;
	d.mv_size = strlen(name);
	d.mv_data = (void *)name;
	rc = mdb_put(txn, db->subscriptions, &kv, &d, MDB_NOOVERWRITE);
	if (rc != 0 && rc != MDB_KEYEXIST)
		return db_mdb_error(err, rc, "subscription");
	return IPC_S_OK;
}

/* Removes the orphan name; *had_r (may be NULL) says if it was there. */
static enum ipc_status
subscription_del(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const char *name, bool *had_r, struct store_error *err)
{
	struct subscription_key k;
	MDB_val kv;
	int rc;

	subscription_key(&k, account_id, name);
	kv.mv_size = k.len;
	kv.mv_data = k.b;
	rc = mdb_del(txn, db->subscriptions, &kv, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "subscription delete");
	if (had_r != NULL)
		*had_r = rc == 0;
	return IPC_S_OK;
}

enum ipc_status
subscription_set(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const char *name, bool on, struct store_error *err)
{
	char canon[MAILBOX_NAME_MAX + 1];
	struct subscription_key k;
	struct subscription_sum s = { NULL, 0 };
	struct mstate_rec ms;
	const char *why;
	enum ipc_status st;
	uint32_t id = 0;
	MDB_val kv, d;
	int rc;

	if ((why = mbox_op_name_check(name)) != NULL)
		return db_error(err, IPC_S_INVALID, "%s", why);
	if ((st = mstate_get(db, txn, account_id, &ms, err)) != IPC_S_OK ||
	    (st = subscription_canon(db, txn, account_id, name, canon, &id,
	    err)) != IPC_S_OK)
		return st;
	if (id != 0) {
		/* Never both: a stray orphan of an existing name goes. */
		if ((st = subscription_del(db, txn, account_id, canon, NULL,
		    err)) != IPC_S_OK)
			return st;
		return mbox_op_subscribe(db, txn, account_id, id, on, err);
	}
	if (!on)
		return subscription_del(db, txn, account_id, canon, NULL, err);
	subscription_key(&k, account_id, canon);
	kv.mv_size = k.len;
	kv.mv_data = k.b;
	if ((rc = mdb_get(txn, db->subscriptions, &kv, &d)) == 0)
		return IPC_S_OK;	/* subscribed already */
	if (rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "subscription");
	subscription_key(&k, account_id, NULL);
	if ((st = db_scan(txn, db->subscriptions, k.b, k.len,
	    subscription_sum_cb, &s, err)) != IPC_S_OK)
		return st;
	if (s.bytes + strlen(canon) > SUBSCRIPTION_BYTES_MAX)
		return db_error(err, IPC_S_LIMIT, "too many subscriptions "
		    "without a mailbox");
	return subscription_put(db, txn, account_id, canon, err);
}

/* --- Hooks of mbox_op.c --- */

enum ipc_status
subscription_take(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const char *name, bool *subscribed_r, struct store_error *err)
{
	return subscription_del(db, txn, account_id, name, subscribed_r, err);
}

enum ipc_status
subscription_leave(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const char *name, struct store_error *err)
{
	return subscription_put(db, txn, account_id, name, err);
}
