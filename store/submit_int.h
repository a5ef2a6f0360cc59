/* SPDX-License-Identifier: ISC */
/*
 * submit_int.h: what submit.c (identities), submit_queue.c
 * (submissions and the relay's queue), submit_auto.c (the server's own
 * submissions) and vacation.c share inside the store: keys, the
 * per-account id counters, the change-log step and the account's state.
 * Not an API for the rest of storaged: submit.h is.
 */
#ifndef BULWARK_SUBMIT_INT_H
#define BULWARK_SUBMIT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "key.h"
#include "record.h"

/* The first id of an account's submissions. */
#define SUBMIT_SUB_FIRST	1

/* The key (acct, id) of identities and submissions, in k. */
MDB_val	submit_key(struct key_mail *k, uint64_t acct, uint64_t id);
/*
 * The next id of dbi's counter of acct (key acct alone, "U8 1, U64
 * next"), first when there is none; the put writes it.  Return IPC_S_OK
 * or an error.
 */
enum ipc_status submit_counter_get(MDB_txn *txn, MDB_dbi dbi, uint64_t acct,
	    uint64_t first, uint64_t *next_r, struct store_error *err);
enum ipc_status submit_counter_put(MDB_txn *txn, MDB_dbi dbi, uint64_t acct,
	    uint64_t next, struct store_error *err);
/*
 * Appends one change of (type, id) of kind to acct's log in write txn;
 * the new modseq goes to *state_r (may be NULL).  Returns IPC_S_OK or an
 * error (IPC_S_NOTFOUND: the account has no mail state).
 */
enum ipc_status submit_log(struct store_db *db, MDB_txn *txn, uint64_t acct,
	    enum change_type type, enum change_kind kind, uint64_t id,
	    uint64_t *state_r, struct store_error *err);
/* acct's modseq, 0 for an account without mail state. */
enum ipc_status submit_state(struct store_db *db, MDB_txn *txn,
	    uint64_t acct, uint64_t *state_r, struct store_error *err);
/* A new string of [p, p + len). */
char	*submit_strdup(const char *p, size_t len);
/*
 * Whether identity id of acct exists (1 always does): IPC_S_OK,
 * IPC_S_NOTFOUND or an error.
 */
enum ipc_status submit_identity_exists(struct store_db *db, MDB_txn *txn,
	    uint64_t acct, uint64_t id, struct store_error *err);

/*
 * Submission id of acct into *r (zeroed first; clear it either way):
 * IPC_S_OK, IPC_S_NOTFOUND or an error.  The put writes r as it is.
 */
struct submit_rec;
enum ipc_status submit_get(struct store_db *db, MDB_txn *txn, uint64_t acct,
	    uint64_t id, struct submit_rec *r, struct store_error *err);
enum ipc_status submit_put(struct store_db *db, MDB_txn *txn, uint64_t acct,
	    uint64_t id, const struct submit_rec *r, struct store_error *err);
/* Moves the queue entry of (acct, id) from r->due to due (0: none). */
enum ipc_status submit_requeue(struct store_db *db, MDB_txn *txn,
	    uint64_t acct, uint64_t id, struct submit_rec *r, uint64_t due,
	    struct store_error *err);
/* Whether s may be an envelope address (see SUBMIT in submit.h). */
bool	submit_addr_ok(const char *s);
/*
 * Deletes automatic submission id of acct (r, its record), its queue
 * entry and its blob reference.  IPC_S_OK or an error.
 */
enum ipc_status submit_auto_forget(struct store_db *db, MDB_txn *txn,
	    uint64_t acct, uint64_t id, struct submit_rec *r,
	    struct store_error *err);

#endif
