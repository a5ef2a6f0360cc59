/* SPDX-License-Identifier: ISC */
/*
 * txn.h: the one write path of the mail store, with group commit.
 *
 * A write (an LMTP delivery, IMAP APPEND, STORE, EXPUNGE, COPY, JMAP
 * sets) is an operation submitted from the event loop.  Preparer threads
 * run each operation's prepare step (reading the message from its
 * descriptor, hashing, writing a big one's file: work that must not stall
 * the loop) while the one writer thread makes the previous batch durable;
 * the writer then takes everything prepared and applies the whole batch
 * in one transaction nested in the LMDB write transaction it holds, each
 * operation inside its own nested transaction, and makes it durable: when
 * every operation that succeeded can log what it did
 * (mail_txnq_submit_logged), by one record of the redo log, synced
 * (dblog.h), after which the held transaction stays open for the next
 * batches, up to MAIL_TXN_HOLD_USEC, _OPS and _COST, and LMDB commits
 * them together without a sync; otherwise by LMDB's own synced commit of
 * the held transaction with the batch.  Only then are the results posted
 * back to the loop, where each operation's done function replies: nothing
 * is acknowledged before it is durable.  A thread that reads after an
 * acknowledgement, or writes, makes the writer commit what it holds at
 * once and waits for it (db.h, struct db_held), so that what is
 * acknowledged is what is seen.  While a batch is made durable, the next
 * one accumulates.  An operation that fails (quota, a bad record) aborts
 * only its nested transaction; a batch whose record cannot be written
 * fails, the held transaction as it was; a failed commit of what records
 * made durable is fatal (recovery replays them).
 *
 * Each apply appends its change-log entries in its transaction
 * (changelog.h), so data and log are committed together.
 *
 * The operations of a batch are applied in the order they were submitted,
 * but one still being prepared when the writer takes a batch goes into a
 * later one: a small delivery does not wait for the file of a big one
 * submitted before it.  A caller that needs an order waits for one
 * operation's done before it submits the next, as every worker does for
 * the requests of one session (lmtpd's deliveries to the recipients of
 * one message are independent of each other).
 */
#ifndef BULWARK_TXN_H
#define BULWARK_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct buf;
struct event_base;
struct mail_txnq;

/*
 * Runs on a preparer thread, before the transaction of the batch it joins
 * and beside other operations' prepare steps; touches only its own
 * argument (and reads the store in its own read transaction).  Returns IPC_S_OK, or a status (with err) that fails
 * the operation without applying it.
 */
typedef enum ipc_status mail_prepare_fn(void *arg, struct store_error *err);
/*
 * Runs on the writer thread inside the operation's nested write
 * transaction txn.  Returns IPC_S_OK (kept) or a status with err (the
 * nested transaction is aborted).
 */
typedef enum ipc_status mail_apply_fn(struct store_db *db, MDB_txn *txn,
    void *arg, struct store_error *err);
/*
 * Runs on the writer thread after a successful apply, inside the batch's
 * transaction: appends to out what the operation did, as the replay
 * function of dblog.h reads it back (every input, clocks included, so that
 * the replay does the same).  Returns 0, or -1 if it cannot (the batch is
 * then made durable by LMDB's own synced commit instead).
 */
typedef int mail_log_fn(void *arg, struct buf *out);
/*
 * Runs on the loop thread once the batch is durable (st IPC_S_OK) or the
 * operation failed (st and err say why).  It owns arg.
 */
typedef void mail_done_fn(void *arg, enum ipc_status st,
    const struct store_error *err);

/* Threads running prepare steps. */
#define MAIL_TXN_PREPARERS	3

/*
 * How long the writer holds a transaction of recorded batches open, and
 * the most operations and bytes it holds (txn.h).
 */
#define MAIL_TXN_HOLD_USEC	100000
#define MAIL_TXN_HOLD_OPS	4096
#define MAIL_TXN_HOLD_COST	(64ull << 20)

/* Most operations and bytes (their cost) one batch takes. */
#define MAIL_TXN_BATCH_OPS	1024
#define MAIL_TXN_BATCH_COST	(128ull << 20)

/*
 * Starts the writer thread for db, whose results come back on base; at
 * most max_pending operations may wait at once.  Dies if the thread or its
 * pipe cannot be made.
 */
struct mail_txnq *mail_txnq_new(struct event_base *base, struct store_db *db,
	    size_t max_pending);
/*
 * Queues an operation; prepare may be NULL; cost (bytes it will hold)
 * bounds the memory of a batch.  Returns 0, or -1 if max_pending are
 * waiting (arg is then still the caller's).
 */
int	mail_txnq_submit(struct mail_txnq *q, mail_prepare_fn *prepare,
	    mail_apply_fn *apply, mail_done_fn *done, void *arg, uint64_t cost);
/* The same for an operation that logs what it did (log not NULL). */
int	mail_txnq_submit_logged(struct mail_txnq *q, mail_prepare_fn *prepare,
	    mail_apply_fn *apply, mail_log_fn *log, mail_done_fn *done,
	    void *arg, uint64_t cost);
/*
 * From an operation's done function (on the loop): runs fn(arg) once what
 * the operation wrote is committed, which for a delivery acknowledged
 * from a held transaction is at that transaction's commit (at most
 * MAIL_TXN_HOLD_USEC later), else at once; in the order of the calls.
 * For what would make others read the store (notifications): a read then
 * finds it committed, and need not make the writer commit early.
 */
void	mail_txnq_after_commit(struct mail_txnq *q, void (*fn)(void *),
	    void *arg);
/* Operations submitted whose done function has not run yet. */
size_t	mail_txnq_pending(const struct mail_txnq *q);
/* Sets fn(arg) to run on the loop when pending drops to 0. */
void	mail_txnq_set_idle_cb(struct mail_txnq *q, void (*fn)(void *),
	    void *arg);
/*
 * While held, the writer takes no batch (tests make a batch this way);
 * prepared operations wait, mail_txnq_ready says how many.
 */
void	mail_txnq_hold(struct mail_txnq *q, bool hold);
size_t	mail_txnq_ready(struct mail_txnq *q);
/* Batches committed and operations they held, since the start. */
void	mail_txnq_stats(struct mail_txnq *q, uint64_t *batches_r,
	    uint64_t *ops_r);
/*
 * Lets the writer finish everything queued, stops it, runs the remaining
 * done functions, frees q and NULLs *qp.
 */
void	mail_txnq_free(struct mail_txnq **qp);

/*
 * Runs apply alone in one durable write transaction on the calling thread
 * (for writes outside the loop's hot path, and tests).  Returns its status
 * or the commit's.
 */
enum ipc_status mail_txn_run(struct store_db *db, mail_apply_fn *apply,
	    void *arg, struct store_error *err);

#endif
