/* SPDX-License-Identifier: ISC */
/*
 * schema.h: the version of the store's layout and the steps that migrate
 * an environment from one version to the next.
 *
 * The version lives in the meta database ("version", u64 big-endian; a
 * missing key is version 0, a new environment).  Step N takes version N to
 * N+1; each step runs in its own write transaction together with the new
 * version number, so a crash leaves the environment at a version it really
 * has and the step runs again at the next start.  An environment newer than
 * this binary knows is refused, never touched.
 */
#ifndef BULWARK_SCHEMA_H
#define BULWARK_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* The version this binary writes. */
#define SCHEMA_VERSION		11
/*
 * The oldest version whose redo log records (dblog.h) this binary replays
 * on the layout they were written for, before it migrates: a storaged of
 * that version or later that stopped with records pending leaves a store
 * that a newer one upgrades.  (A migration's commit before them would
 * take the transaction id of the first record, and recovery would refuse
 * the log.)  So every step from this version on must leave the replay
 * working on the layout before it: a database the step adds has handle 0
 * until then, and is not written (store/db.h, msgimap).
 */
#define SCHEMA_REPLAY_MIN	9
#define SCHEMA_TOKEN_KEY_LEN	32

/* Keys of the meta database (db.h). */
#define SCHEMA_KEY_VERSION	"version"
#define SCHEMA_KEY_TOKEN	"token_key"
#define SCHEMA_KEY_NEXT_ID	"next_account_id"

struct schema_step {
	uint32_t	 from;		/* version the step starts from */
	const char	*what;		/* for the log */
	/* Returns 0, or -1 with err set; the transaction is then aborted. */
	int		(*run)(struct store_db *db, MDB_txn *txn,
			    struct store_error *err);
};

/*
 * Runs the steps of table steps[0..n) that the environment still needs, in
 * order (steps[i].from must be i).  Returns the version reached (n), or -1
 * with err set, also when the environment is newer than n.
 */
int	schema_run(struct store_db *db, const struct schema_step *steps,
	    size_t n, struct store_error *err);
/* Runs this binary's own migration table.  Returns 0 or -1 with err. */
int	schema_upgrade(struct store_db *db, struct store_error *err);
/*
 * Runs the own table's steps only up to version (tests make an older
 * environment this way).  Returns 0 or -1 with err.
 */
int	schema_upgrade_to(struct store_db *db, uint32_t version,
	    struct store_error *err);
/*
 * Opens the handles of every named database of db.h (after the upgrade).
 * Returns 0, or -1 with err set if one is missing.
 */
int	schema_open_dbis(struct store_db *db, struct store_error *err);
/* The same for the databases a store of version `version` has. */
int	schema_open_dbis_at(struct store_db *db, uint32_t version,
	    struct store_error *err);
/*
 * The version of the store as it is (0 for a new environment), with its
 * meta database created if missing.  Returns 0 or -1 with err.
 */
int	schema_stored_version(struct store_db *db, uint32_t *v,
	    struct store_error *err);
/* Reads the stored version into *v (0 for a new environment). */
int	schema_version(struct store_db *db, uint32_t *v,
	    struct store_error *err);
/* Copies the session token key of the meta database into key. */
int	schema_token_key(struct store_db *db,
	    uint8_t key[SCHEMA_TOKEN_KEY_LEN], struct store_error *err);

#endif
