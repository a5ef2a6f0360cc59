/* SPDX-License-Identifier: ISC */
/*
 * alias.h: alias addresses, each delivering to one existing account.
 *
 * An alias has the form of an account address, in an existing domain, and
 * may not be an account's address.  The aliases database maps an alias to
 * its target; alias_targets maps each target back to its aliases, so that
 * showing or deleting an account does not scan every alias.  err is set
 * whenever the status is not IPC_S_OK.
 */
#ifndef BULWARK_ALIAS_H
#define BULWARK_ALIAS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "name.h"
#include "strvec.h"

/*
 * An alias written "@domain" is the catch-all of domain: it takes every
 * address of the domain that is neither an account nor an alias (kept in
 * the catchall database; alias_add, alias_del and alias_list handle it;
 * alias_list puts catch-alls after the other aliases).
 *
 * Adds alias -> target created at now; the canonical forms go to *a and
 * *t.  Returns IPC_S_OK, IPC_S_INVALID, IPC_S_NOTFOUND (no such domain or
 * target account), IPC_S_EXISTS (alias or account of that address) or an
 * error.
 */
enum ipc_status alias_add(struct store_db *db, const char *alias,
	    const char *target, uint64_t now, struct name_addr *a,
	    struct name_addr *t, struct store_error *err);
/*
 * Deletes alias (canonical form to *a); its target goes to target.
 * Returns IPC_S_OK, IPC_S_INVALID, IPC_S_NOTFOUND or an error.
 */
enum ipc_status alias_del(struct store_db *db, const char *alias,
	    struct name_addr *a, char target[NAME_ADDR_MAX + 1],
	    struct store_error *err);
/*
 * Reads the target of alias into target: IPC_S_OK, IPC_S_INVALID,
 * IPC_S_NOTFOUND.
 */
enum ipc_status alias_get(struct store_db *db, const char *alias,
	    char target[NAME_ADDR_MAX + 1], struct store_error *err);
/*
 * Appends the aliases of domain ("" for all), sorted, to aliases and their
 * targets at the same index to targets.  Returns IPC_S_OK, IPC_S_INVALID,
 * IPC_S_NOTFOUND (no such domain) or an error.
 */
enum ipc_status alias_list(struct store_db *db, const char *domain,
	    struct strvec *aliases, struct strvec *targets,
	    struct store_error *err);
/* Appends the aliases pointing to target to out, sorted. */
enum ipc_status alias_of(struct store_db *db, const struct name_addr *target,
	    struct strvec *out, struct store_error *err);
/* The same inside txn. */
enum ipc_status alias_of_txn(struct store_db *db, MDB_txn *txn,
	    const struct name_addr *target, struct strvec *out,
	    struct store_error *err);
/*
 * Whether an alias of address key [key, key + klen) exists in txn:
 * IPC_S_OK, IPC_S_NOTFOUND, or an error.
 */
enum ipc_status alias_exists_txn(struct store_db *db, MDB_txn *txn,
	    const void *key, size_t klen, struct store_error *err);
/*
 * Deletes every alias pointing to target inside write txn; their number
 * goes to *n_r.  Returns IPC_S_OK or an error.
 */
enum ipc_status alias_del_target_txn(struct store_db *db, MDB_txn *txn,
	    const struct name_addr *target, size_t *n_r,
	    struct store_error *err);

/*
 * Deletes every catch-all whose target is address target inside write
 * txn.  Returns IPC_S_OK or an error.
 */
enum ipc_status alias_catchall_del_target_txn(struct store_db *db,
	    MDB_txn *txn, const char *target, struct store_error *err);

#endif
