/* SPDX-License-Identifier: ISC */
/*
 * account.h: mail accounts.  An account is named by its lower-case address
 * in a domain the store serves, has a numeric id that is never reused (so
 * that a session token or a later reference cannot reach a newer account
 * of the same name), an argon2id password hash and its quota.
 *
 * Calls taking a name check it (name.h) and return IPC_S_INVALID with a
 * precise text for a bad one.  Each call that writes is one LMDB write
 * transaction, committed durably before it returns.  err is set whenever
 * the status is not IPC_S_OK.
 */
#ifndef BULWARK_ACCOUNT_H
#define BULWARK_ACCOUNT_H

#include <stdint.h>

#include "db.h"
#include "name.h"
#include "record.h"
#include "strvec.h"

struct account {
	char			 name[NAME_ADDR_MAX + 1];	/* canonical */
	struct account_rec	 rec;
};

/*
 * Checks that name could become a new account: a valid address (split into
 * *a) in an existing domain, not yet an account or an alias.  Returns
 * IPC_S_OK, IPC_S_INVALID, IPC_S_NOTFOUND (no such domain), IPC_S_EXISTS.
 * Done before hashing the password, which is slow; account_add checks
 * again.
 */
enum ipc_status account_check_new(struct store_db *db, const char *name,
	    struct name_addr *a, struct store_error *err);
/*
 * Adds account a with password hash (a crypto_pwhash_str string), quotas
 * (0 = unlimited) and creation time now, with its default mailboxes
 * (mailbox_account_init); its new id goes to *id_r.
 * Returns IPC_S_OK, IPC_S_NOTFOUND, IPC_S_EXISTS or an error.
 */
enum ipc_status account_add(struct store_db *db, const struct name_addr *a,
	    const char *hash, uint64_t quota_bytes, uint64_t quota_messages,
	    uint64_t now, uint64_t *id_r, struct store_error *err);
/* Reads account name into *acc: IPC_S_OK, IPC_S_INVALID, IPC_S_NOTFOUND. */
enum ipc_status account_get(struct store_db *db, const char *name,
	    struct account *acc, struct store_error *err);
/* Reads the account of id into *acc: IPC_S_OK or IPC_S_NOTFOUND. */
enum ipc_status account_get_id(struct store_db *db, uint64_t id,
	    struct account *acc, struct store_error *err);
/* The same inside transaction txn. */
enum ipc_status account_get_id_txn(struct store_db *db, MDB_txn *txn,
	    uint64_t id, struct account *acc, struct store_error *err);
/* The same as account_get inside txn, for a checked address. */
enum ipc_status account_get_txn(struct store_db *db, MDB_txn *txn,
	    const struct name_addr *a, struct account *acc,
	    struct store_error *err);
/* Overwrites the record of existing account acc inside write txn. */
enum ipc_status account_put_txn(struct store_db *db, MDB_txn *txn,
	    const struct account *acc, struct store_error *err);
/*
 * Deletes account name, every alias pointing to it and all its mail
 * (message_account_purge); what it was goes to
 * *gone (may be NULL) and the number of aliases removed to *naliases_r.
 * Returns IPC_S_OK, IPC_S_INVALID, IPC_S_NOTFOUND or an error.
 */
enum ipc_status account_del(struct store_db *db, const char *name,
	    struct account *gone, size_t *naliases_r, struct store_error *err);
/*
 * Replaces the password hash of account name and raises its auth_gen,
 * which invalidates its session tokens.  The account's id goes to *id_r.
 * Returns IPC_S_OK, IPC_S_INVALID, IPC_S_NOTFOUND or an error.
 */
enum ipc_status account_set_hash(struct store_db *db, const char *name,
	    const char *hash, uint64_t *id_r, struct store_error *err);
/*
 * Appends the addresses of the accounts of domain ("" for all) to out,
 * sorted.  Returns IPC_S_OK, IPC_S_INVALID, IPC_S_NOTFOUND (no such
 * domain) or an error.
 */
enum ipc_status account_list(struct store_db *db, const char *domain,
	    struct strvec *out, struct store_error *err);

#endif
