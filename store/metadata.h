/* SPDX-License-Identifier: ISC */
/*
 * metadata.h: the annotations of RFC 5464 (IMAP METADATA) in the store.
 * Each belongs to an account and to one of its mailboxes, or with mailbox
 * id 0 to the account's view of the server; its name is a canonical entry
 * name of lib/mailmeta.h and its value 0 to MAILMETA_VALUE_MAX octets.
 * An account is the only user of its mailboxes, so /private and /shared
 * entries are both kept per account, as distinct names (RFC 5464 3.3).
 *
 * Annotations go with their mailbox (mbox_op.c deletes the key range of a
 * deleted mailbox) and with their account (message_account_purge).  They
 * are not mail: no change-log entry is written for them.  err is set
 * whenever the status is not IPC_S_OK.
 */
#ifndef BULWARK_METADATA_H
#define BULWARK_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "mailmeta.h"

/* One entry to set; value is borrowed. */
struct metadata_entry {
	const char	*name;		/* checked again by metadata_set */
	const void	*value;
	size_t		 len;
	bool		 nil;		/* remove the entry */
};

/*
 * Sets (or removes, for nil) the n entries of mailbox_id (0: the server)
 * of account_id inside write txn; on an error the caller aborts txn, so
 * that none is changed.  Returns IPC_S_OK, IPC_S_NOTFOUND (no such
 * mailbox), IPC_S_INVALID (a name), IPC_S_TOOBIG (a value above
 * MAILMETA_VALUE_MAX), IPC_S_LIMIT (more than MAILMETA_ENTRIES_MAX entries
 * afterwards) or an error.
 */
enum ipc_status metadata_set(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mailbox_id,
	    const struct metadata_entry *e, size_t n, struct store_error *err);

/* Sees one entry (name and value valid during the call); 0 goes on. */
typedef int metadata_fn(const char *name, const void *value, size_t len,
    void *arg);
/*
 * Calls fn, in name order, for each entry of mailbox_id of account_id
 * that is one of roots[0..nroots) (canonical names) or below one of them
 * at most depth levels (UINT32_MAX: any).  Returns IPC_S_OK or an error
 * (IPC_S_INTERNAL for a corrupt entry).
 */
enum ipc_status metadata_get(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mailbox_id,
	    const char *const *roots, size_t nroots, uint32_t depth,
	    metadata_fn *fn, void *arg, struct store_error *err);
/* Counts the entries of mailbox_id into *n. */
enum ipc_status metadata_count(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mailbox_id, size_t *n,
	    struct store_error *err);

#endif
