/* SPDX-License-Identifier: ISC */
/*
 * metadata.c: annotation entries in the metadata database (RFC 5464; see
 * metadata.h): keys are account id (u64 BE), mailbox id (u32 BE) and the
 * canonical entry name without NUL; values are metadata records
 * (record.h).
 */
#include "metadata.h"
#include "mailbox.h"
#include "record.h"
#include "wire.h"

#include <stdint.h>
#include <string.h>

#define METADATA_PREFIX	12	/* account and mailbox */

struct metadata_key {
	uint8_t		 b[METADATA_PREFIX + MAILMETA_NAME_MAX];
	size_t		 len;
};

static void
metadata_key(struct metadata_key *k, uint64_t account_id, uint32_t mbox,
    const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;

	wire_be64_put(k->b, account_id);
	wire_be32_put(k->b + 8, mbox);
	if (n > MAILMETA_NAME_MAX)
		n = MAILMETA_NAME_MAX;	/* names are checked before */
	memcpy(k->b + METADATA_PREFIX, name != NULL ? name : "", n);
	k->len = METADATA_PREFIX + n;
}

/* Sets or removes one checked entry. */
static enum ipc_status
metadata_put_one(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mbox, const char *canon, const struct metadata_entry *e,
    struct store_error *err)
{
	struct metadata_key k;
	struct buf b = BUF_INIT;
	MDB_val kv, d;
	int rc;

	metadata_key(&k, account_id, mbox, canon);
	kv.mv_size = k.len;
	kv.mv_data = k.b;
	if (e->nil) {
		rc = mdb_del(txn, db->metadata, &kv, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return db_mdb_error(err, rc, "metadata delete");
		return IPC_S_OK;
	}
	record_metadata_enc(&b, e->value, e->len);
	d.mv_size = b.len;
	d.mv_data = b.data;
	rc = mdb_put(txn, db->metadata, &kv, &d, 0);
	buf_clear(&b);
	if (rc != 0)
		return db_mdb_error(err, rc, "metadata put");
	return IPC_S_OK;
}

enum ipc_status
metadata_set(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mailbox_id, const struct metadata_entry *e, size_t n,
    struct store_error *err)
{
	char canon[MAILMETA_NAME_MAX + 1];
	struct mailbox_rec mb;
	enum ipc_status st;
	const char *why;
	size_t i, count;

	if (mailbox_id != 0 && (st = mailbox_get(db, txn, account_id,
	    mailbox_id, &mb, err)) != IPC_S_OK)
		return st;
	for (i = 0; i < n; i++) {
		if ((why = mailmeta_name_canon(e[i].name, strlen(e[i].name),
		    canon)) != NULL)
			return db_error(err, IPC_S_INVALID, "%s", why);
		if (!e[i].nil && e[i].len > MAILMETA_VALUE_MAX)
			return db_error(err, IPC_S_TOOBIG, "value of %s above "
			    "%u octets", canon, MAILMETA_VALUE_MAX);
		if ((st = metadata_put_one(db, txn, account_id, mailbox_id,
		    canon, &e[i], err)) != IPC_S_OK)
			return st;
	}
	if ((st = metadata_count(db, txn, account_id, mailbox_id, &count,
	    err)) != IPC_S_OK)
		return st;
	if (count > MAILMETA_ENTRIES_MAX)
		return db_error(err, IPC_S_LIMIT, "more than %u annotations",
		    MAILMETA_ENTRIES_MAX);
	return IPC_S_OK;
}

struct metadata_scan {
	const char *const	*roots;
	size_t			 nroots;
	size_t			 depth;
	metadata_fn		*fn;
	void			*arg;
	size_t			 n;
	int			 corrupt;
	enum ipc_status		 st;
};

static int
metadata_scan_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct metadata_scan *sc = arg;
	char name[MAILMETA_NAME_MAX + 1];
	const void *p;
	size_t i, len, nlen = k->mv_size - METADATA_PREFIX;

	if (k->mv_size <= METADATA_PREFIX || nlen > MAILMETA_NAME_MAX ||
	    record_metadata_dec(v->mv_data, v->mv_size, &p, &len) == -1) {
		sc->corrupt = 1;
		return 1;
	}
	sc->n++;
	if (sc->fn == NULL)
		return 0;
	memcpy(name, (const uint8_t *)k->mv_data + METADATA_PREFIX, nlen);
	name[nlen] = '\0';
	for (i = 0; i < sc->nroots; i++)
		if (mailmeta_name_within(sc->roots[i], name, sc->depth))
			return sc->fn(name, p, len, sc->arg);
	return 0;
}

static enum ipc_status
metadata_scan(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mailbox_id, struct metadata_scan *sc, struct store_error *err)
{
	struct metadata_key pre;
	enum ipc_status st;

	metadata_key(&pre, account_id, mailbox_id, NULL);
	if ((st = db_scan(txn, db->metadata, pre.b, pre.len,
	    metadata_scan_cb, sc, err)) != IPC_S_OK)
		return st;
	if (sc->corrupt)
		return db_error(err, IPC_S_INTERNAL, "corrupt annotation of "
		    "account %llu mailbox %u", (unsigned long long)account_id,
		    mailbox_id);
	return IPC_S_OK;
}

enum ipc_status
metadata_get(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mailbox_id, const char *const *roots, size_t nroots,
    uint32_t depth, metadata_fn *fn, void *arg, struct store_error *err)
{
	struct metadata_scan sc;

	memset(&sc, 0, sizeof(sc));
	sc.roots = roots;
	sc.nroots = nroots;
	sc.depth = depth == UINT32_MAX ? SIZE_MAX : depth;
	sc.fn = fn;
	sc.arg = arg;
	return metadata_scan(db, txn, account_id, mailbox_id, &sc, err);
}

enum ipc_status
metadata_count(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mailbox_id, size_t *n, struct store_error *err)
{
	struct metadata_scan sc;
	enum ipc_status st;

	memset(&sc, 0, sizeof(sc));
	st = metadata_scan(db, txn, account_id, mailbox_id, &sc, err);
	*n = sc.n;
	return st;
}
