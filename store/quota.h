/* SPDX-License-Identifier: ISC */
/*
 * quota.h: storage quotas of accounts, in bytes and in messages; 0 means
 * unlimited.  Usage is kept in the account record and changes with the
 * write that stores or expunges a message, in the same transaction.  A
 * message counts its whole size even when its blob is shared with another
 * (deduplication saves disk, not quota: usage must not depend on what
 * other messages happen to exist).
 */
#ifndef BULWARK_QUOTA_H
#define BULWARK_QUOTA_H

#include <stdint.h>

#include "account.h"
#include "db.h"

/*
 * Sets the quota of account name; its id goes to *id_r.  Returns IPC_S_OK,
 * IPC_S_INVALID, IPC_S_NOTFOUND or an error, with err set unless IPC_S_OK.
 */
enum ipc_status quota_set(struct store_db *db, const char *name,
	    uint64_t bytes, uint64_t messages, uint64_t *id_r,
	    struct store_error *err);
/*
 * Whether acc may take add_bytes and add_messages more: IPC_S_OK, or
 * IPC_S_QUOTA with err saying which limit.
 */
enum ipc_status quota_check(const struct account *acc, uint64_t add_bytes,
	    uint64_t add_messages, struct store_error *err);

#endif
