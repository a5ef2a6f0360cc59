/* SPDX-License-Identifier: ISC */
/*
 * domain.h: the mail domains the store serves.  Every account and alias
 * belongs to one; a domain in use cannot be deleted.
 */
#ifndef BULWARK_DOMAIN_H
#define BULWARK_DOMAIN_H

#include <stdint.h>

#include "db.h"
#include "name.h"
#include "strvec.h"

/*
 * Adds domain name (checked and lower-cased into canon) created at now.
 * Returns IPC_S_OK, IPC_S_INVALID, IPC_S_EXISTS, or an error; err is set
 * unless IPC_S_OK.
 */
enum ipc_status domain_add(struct store_db *db, const char *name,
	    uint64_t now, char canon[NAME_DOMAIN_MAX + 1],
	    struct store_error *err);
/*
 * Deletes domain name (canonical form into canon).  Returns IPC_S_OK,
 * IPC_S_INVALID, IPC_S_NOTFOUND, IPC_S_EXISTS if accounts or aliases are
 * still in it, or an error.
 */
enum ipc_status domain_del(struct store_db *db, const char *name,
	    char canon[NAME_DOMAIN_MAX + 1], struct store_error *err);
/* Appends every domain to out, sorted.  Returns IPC_S_OK or an error. */
enum ipc_status domain_list(struct store_db *db, struct strvec *out,
	    struct store_error *err);
/*
 * Whether canonical domain exists in txn: IPC_S_OK, IPC_S_NOTFOUND (err
 * says so), or an error.
 */
enum ipc_status domain_exists(struct store_db *db, MDB_txn *txn,
	    const char *domain, struct store_error *err);

#endif
