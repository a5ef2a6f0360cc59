/* SPDX-License-Identifier: ISC */
/*
 * changelog.h: the per-account change log and counters of the mail store.
 *
 * Every write to an account's mail appends, in the same transaction, one
 * entry per changed object (mailbox, email, thread) naming its id and the
 * kind of change; each entry takes the next modseq of the account, which
 * is its key (account, modseq), so that "what changed since modseq N" is a
 * range scan.  JMAP /changes, IMAP CONDSTORE/QRESYNC, push and indexd all
 * read this log.  The account's counters (highest modseq, next email,
 * thread and mailbox ids) live in one mail state record; ids only grow.
 */
#ifndef BULWARK_CHANGELOG_H
#define BULWARK_CHANGELOG_H

#include <stdint.h>

#include "db.h"
#include "record.h"

/*
 * Reads the mail state of account_id inside txn into *s.  Returns
 * IPC_S_OK, IPC_S_NOTFOUND (the account has no mail state) or an error.
 */
enum ipc_status mstate_get(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, struct mstate_rec *s, struct store_error *err);
/* Writes it back inside write txn.  Returns IPC_S_OK or an error. */
enum ipc_status mstate_put(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, const struct mstate_rec *s,
	    struct store_error *err);
/*
 * Appends a change of object (type, id) of kind to account_id's log in
 * write txn, taking the next modseq from *s (which the caller writes back
 * with mstate_put before committing); the modseq goes to *modseq_r (may
 * be NULL).  Returns IPC_S_OK or an error.
 */
enum ipc_status changelog_append(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, struct mstate_rec *s, enum change_type type,
	    enum change_kind kind, uint64_t id, uint64_t *modseq_r,
	    struct store_error *err);

/* Sees one entry of the log; returns 0 to go on, non-zero to stop. */
typedef int changelog_fn(uint64_t modseq, const struct change_rec *c,
    void *arg);
/*
 * Calls fn for every entry of account_id with a modseq above since, in
 * order.  Returns IPC_S_OK, or an error (IPC_S_INTERNAL for a corrupt
 * entry).
 */
enum ipc_status changelog_scan(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint64_t since, changelog_fn *fn, void *arg,
	    struct store_error *err);

/*
 * Forgets the oldest of account_id's history once it holds more than
 * keep + keep / 8 modseqs above its floor (RFC 7162 5.3 asks servers to
 * bound what they keep of expunges): the change log entries at or below
 * the new floor (the highest modseq minus keep, or lower when max
 * entries were deleted first) and the vanished UIDs of every mailbox of
 * the account at or below it, inside write txn; the floor is written to
 * the account's mail state.  keep 0 keeps everything.  *pruned_r gets the
 * number of change log entries deleted.  Returns IPC_S_OK or an error.
 * Readers of the log check the floor: JMAP /changes from a state below it
 * cannot be calculated (changes.h), and IMAP gets every UID absent from
 * the mailbox as vanished (mail_msg.h, MBOX_SYNC).
 */
enum ipc_status changelog_prune(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint64_t keep, size_t max, size_t *pruned_r,
	    struct store_error *err);
/*
 * changelog_prune of every account that needs it, at most max entries in
 * all; *accounts_r gets the number of accounts pruned.
 */
enum ipc_status changelog_prune_all(struct store_db *db, MDB_txn *txn,
	    uint64_t keep, size_t max, size_t *pruned_r, size_t *accounts_r,
	    struct store_error *err);

#endif
