/* SPDX-License-Identifier: ISC */
/*
 * schema.c: the named databases of the store, the schema version in the
 * meta database, and the table of migration steps run at startup (see
 * schema.h).  A later layout change appends a step { N, ... } here and
 * raises SCHEMA_VERSION; steps are never edited once released.
 */
#include "schema.h"
#include "log.h"

#include <stddef.h>
#include <string.h>

#include <sodium.h>

/* Every named database of db.h, with where its handle goes. */
#define SCHEMA_DBI(name, flags)	\
	{ #name, (flags), offsetof(struct store_db, name) }

static const struct {
	const char	*name;
	unsigned int	 flags;
	size_t		 off;
} schema_dbis[] = {
	SCHEMA_DBI(meta, 0),
	SCHEMA_DBI(domains, 0),
	SCHEMA_DBI(accounts, 0),
	SCHEMA_DBI(account_ids, 0),
	SCHEMA_DBI(aliases, 0),
	SCHEMA_DBI(alias_targets, MDB_DUPSORT),
};

#define SCHEMA_NDBIS	(sizeof(schema_dbis) / sizeof(schema_dbis[0]))

static MDB_dbi *
schema_dbi_ptr(struct store_db *db, size_t i)
{
	return (MDB_dbi *)((char *)db + schema_dbis[i].off);
}

/* Version 0 -> 1: the databases of db.h, the token key, the id counter. */
static int
schema_step_initial(struct store_db *db, MDB_txn *txn,
    struct store_error *err)
{
	uint8_t key[SCHEMA_TOKEN_KEY_LEN];
	MDB_val k = { strlen(SCHEMA_KEY_TOKEN), SCHEMA_KEY_TOKEN };
	MDB_val d = { sizeof(key), key };
	size_t i;
	int rc;

	for (i = 0; i < SCHEMA_NDBIS; i++) {
		rc = mdb_dbi_open(txn, schema_dbis[i].name,
		    schema_dbis[i].flags | MDB_CREATE, schema_dbi_ptr(db, i));
		if (rc != 0) {
			db_mdb_error(err, rc, schema_dbis[i].name);
			return -1;
		}
	}
	randombytes_buf(key, sizeof(key));
	rc = mdb_put(txn, db->meta, &k, &d, MDB_NOOVERWRITE);
	sodium_memzero(key, sizeof(key));
	if (rc != 0) {
		db_mdb_error(err, rc, "token key");
		return -1;
	}
	if (db_put_u64(txn, db->meta, SCHEMA_KEY_NEXT_ID, 1, err) != IPC_S_OK)
		return -1;
	return 0;
}

static const struct schema_step schema_steps[] = {
	{ 0, "initial layout", schema_step_initial },
};

/* Opens the meta database, creating it in a new environment. */
static int
schema_open_meta(struct store_db *db, struct store_error *err)
{
	MDB_txn *txn;
	int rc;

	if (db_begin(db, true, &txn, err) != IPC_S_OK)
		return -1;
	if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &db->meta)) != 0) {
		db_abort(&txn);
		db_mdb_error(err, rc, "meta");
		return -1;
	}
	return db_commit(&txn, err) == IPC_S_OK ? 0 : -1;
}

int
schema_version(struct store_db *db, uint32_t *v, struct store_error *err)
{
	enum ipc_status st;
	MDB_txn *txn;
	uint64_t u = 0;

	if (db_begin(db, false, &txn, err) != IPC_S_OK)
		return -1;
	st = db_get_u64(txn, db->meta, SCHEMA_KEY_VERSION, &u, err);
	db_abort(&txn);
	if (st != IPC_S_OK && st != IPC_S_NOTFOUND)
		return -1;
	if (u > UINT32_MAX) {
		db_error(err, IPC_S_INTERNAL, "corrupt schema version");
		return -1;
	}
	*v = (uint32_t)u;
	return 0;
}

/* Runs one step and records the version it reaches, in one transaction. */
static int
schema_step(struct store_db *db, const struct schema_step *s,
    struct store_error *err)
{
	MDB_txn *txn;

	if (db_begin(db, true, &txn, err) != IPC_S_OK)
		return -1;
	if (s->run(db, txn, err) == -1 ||
	    db_put_u64(txn, db->meta, SCHEMA_KEY_VERSION, s->from + 1,
	    err) != IPC_S_OK) {
		db_abort(&txn);
		return -1;
	}
	if (db_commit(&txn, err) != IPC_S_OK)
		return -1;
	log_info("store schema migrated from=%u to=%u step=\"%s\"",
	    s->from, s->from + 1, s->what);
	return 0;
}

int
schema_run(struct store_db *db, const struct schema_step *steps, size_t n,
    struct store_error *err)
{
	uint32_t v;

	if (schema_open_meta(db, err) == -1 ||
	    schema_version(db, &v, err) == -1)
		return -1;
	if (v > n) {
		db_error(err, IPC_S_INTERNAL, "store schema version %u is "
		    "newer than this storaged knows (%zu)", v, n);
		return -1;
	}
	for (; v < n; v++) {
		if (steps[v].from != v) {
			db_error(err, IPC_S_INTERNAL, "migration table out of "
			    "order at version %u", v);
			return -1;
		}
		if (schema_step(db, &steps[v], err) == -1)
			return -1;
	}
	return (int)n;
}

int
schema_upgrade(struct store_db *db, struct store_error *err)
{
	size_t n = sizeof(schema_steps) / sizeof(schema_steps[0]);

	if (n != SCHEMA_VERSION)
		log_warnx("schema: table has %zu steps for version %d", n,
		    SCHEMA_VERSION);
	return schema_run(db, schema_steps, n, err) == -1 ? -1 : 0;
}

int
schema_open_dbis(struct store_db *db, struct store_error *err)
{
	MDB_txn *txn;
	size_t i;
	int rc;

	if (db_begin(db, false, &txn, err) != IPC_S_OK)
		return -1;
	for (i = 0; i < SCHEMA_NDBIS; i++) {
		rc = mdb_dbi_open(txn, schema_dbis[i].name,
		    schema_dbis[i].flags, schema_dbi_ptr(db, i));
		if (rc != 0) {
			db_abort(&txn);
			db_error(err, IPC_S_INTERNAL, "store database %s: %s",
			    schema_dbis[i].name, mdb_strerror(rc));
			return -1;
		}
	}
	return db_commit(&txn, err) == IPC_S_OK ? 0 : -1;
}

int
schema_token_key(struct store_db *db, uint8_t key[SCHEMA_TOKEN_KEY_LEN],
    struct store_error *err)
{
	MDB_val k = { strlen(SCHEMA_KEY_TOKEN), SCHEMA_KEY_TOKEN }, d;
	MDB_txn *txn;
	int rc;

	if (db_begin(db, false, &txn, err) != IPC_S_OK)
		return -1;
	rc = mdb_get(txn, db->meta, &k, &d);
	if (rc == 0 && d.mv_size == SCHEMA_TOKEN_KEY_LEN)
		memcpy(key, d.mv_data, SCHEMA_TOKEN_KEY_LEN);
	db_abort(&txn);
	if (rc != 0 || d.mv_size != SCHEMA_TOKEN_KEY_LEN) {
		db_error(err, IPC_S_INTERNAL, "store token key missing");
		return -1;
	}
	return 0;
}
