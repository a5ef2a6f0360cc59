/* SPDX-License-Identifier: ISC */
/*
 * changes.h: what changed of one type of object (mailbox, email, thread)
 * in an account since a modseq, read from the change log (changelog.h),
 * as JMAP's /changes methods answer it (RFC 8620 5.2): the ids created,
 * updated and destroyed since, each in one list only, an object both
 * created and destroyed since in none, and at most max ids in all, with
 * the modseq up to which they are complete.
 */
#ifndef BULWARK_CHANGES_H
#define BULWARK_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "record.h"

/* The most ids one answer holds, whatever is asked. */
#define CHANGES_MAX	10000

struct changes {
	uint64_t	*created, *updated, *destroyed;
	size_t		 ncreated, nupdated, ndestroyed;
	/*
	 * The modseq the lists bring a client to: the account's highest
	 * when has_more is false, else the last one whose changes all fit.
	 */
	uint64_t	 new_state;
	bool		 has_more;
};

/*
 * Collects into *out (cleared first; free with changes_clear) the changes
 * of objects of type in account_id's log after modseq since, at most max
 * ids (0 or above CHANGES_MAX: CHANGES_MAX), inside txn.  Returns
 * IPC_S_OK; IPC_S_INVALID with err set when since is above the account's
 * highest modseq (a state this store never gave) or below its floor (the
 * changes after it were pruned, changelog.h): JMAP's
 * cannotCalculateChanges; or an error of the log.
 */
enum ipc_status changes_collect(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, enum change_type type, uint64_t since,
	    size_t max, struct changes *out, struct store_error *err);
void	changes_clear(struct changes *c);

#endif
