/* SPDX-License-Identifier: ISC */
/*
 * txn.c: the group-commit writer of the mail store (see txn.h).  The
 * preparers (MAIL_TXN_PREPARERS threads) run each operation's prepare step
 * (reading and hashing a message, writing and syncing a big one's file)
 * while the writer commits the batch before, so that the disk's sync and
 * the CPU's work overlap; what they have prepared waits on the ready list,
 * bounded by MAIL_TXN_BATCH_COST, until the writer takes it all as the
 * next batch.  Results return to the loop through loopwake.h, as workq.c's
 * do.
 */
#include "txn.h"
#include "buf.h"
#include "dblog.h"
#include "loopwake.h"
#include "log.h"
#include "xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

/* The moments of an operation that the txn trace times. */
enum mail_op_stamp {
	OP_SUBMITTED, OP_PREPARING, OP_PREPARED, OP_TAKEN, OP_COMMITTED,
	OP_NSTAMPS
};

struct mail_op {
	mail_prepare_fn		*prepare;
	mail_apply_fn		*apply;
	mail_log_fn		*log;
	mail_done_fn		*done;
	void			*arg;
	uint64_t		 cost;
	uint64_t		 seq;		/* order of submission */
	uint64_t		 gen;		/* its held transaction's, or 0 */
	enum ipc_status		 st;
	struct store_error	 err;
	struct mail_op		*next;
	bool			 traced;	/* the txn trace was on */
	struct timespec		 at[OP_NSTAMPS];
};

/* A function that waits on the loop for a held transaction's commit. */
struct mail_after {
	void			(*fn)(void *);
	void			*arg;
	uint64_t		 gen;
	struct mail_after	*next;
};

struct mail_oplist {
	struct mail_op		*head, *tail;
	size_t			 n;
};

struct mail_txnq {
	struct store_db		*db;
	pthread_mutex_t		 mtx;
	/*
	 * Each kind of thread waits on its own condition and is woken one
	 * at a time where one is enough: on two cores a wake-up that finds
	 * nothing to do costs a context switch on the path of a delivery.
	 */
	pthread_cond_t		 prep_cond;	/* preparers: todo, room */
	pthread_cond_t		 write_cond;	/* the writer: ready, hold */
	struct mail_oplist	 todo, ready, done;
	uint64_t		 ready_cost;
	bool			 stop, hold, prepared_all;
	unsigned		 preparers_live;
	pthread_t		 thread, prep_threads[MAIL_TXN_PREPARERS];
	size_t			 pending, max_pending;
	uint64_t		 batches, ops, seq;
	struct loopwake		 wake;
	/* The writer's record of a batch, kept from batch to batch. */
	struct buf		 rec;
	/*
	 * The transaction the writer holds open across batches whose records
	 * are durable (txn.h), its start, and the operations and cost it
	 * holds; only the writer touches them.  poked (under mtx): a thread
	 * waits for its commit.
	 */
	MDB_txn			*open;
	struct timespec		 open_at;
	uint64_t		 open_ops, open_cost;
	bool			 poked;
	/*
	 * Held transactions are numbered (gen, the writer's); committed
	 * (under mtx) is the last one LMDB committed.  The loop's: the
	 * transaction of the operation whose done function runs (0: none
	 * held it), and what waits for a commit (after_wake, under mtx:
	 * post a wake-up at the commit).
	 */
	uint64_t		 gen, committed;
	uint64_t		 done_gen;
	struct mail_after	*after, **after_tail;
	bool			 after_wake;
	void			(*idle_cb)(void *);
	void			*idle_arg;
};

static void
mail_oplist_push(struct mail_oplist *l, struct mail_op *op)
{
	op->next = NULL;
	if (l->tail != NULL)
		l->tail->next = op;
	else
		l->head = op;
	l->tail = op;
	l->n++;
}

/* Inserts op after those submitted before it: a batch applies in order. */
static void
mail_oplist_insert_ordered(struct mail_oplist *l, struct mail_op *op)
{
	struct mail_op **pp = &l->head;

	if (l->tail == NULL || l->tail->seq < op->seq) {
		mail_oplist_push(l, op);
		return;
	}
	while (*pp != NULL && (*pp)->seq < op->seq)
		pp = &(*pp)->next;
	op->next = *pp;
	*pp = op;
	l->n++;
}

static struct mail_op *
mail_oplist_pop(struct mail_oplist *l)
{
	struct mail_op *op = l->head;

	if (op != NULL) {
		if ((l->head = op->next) == NULL)
			l->tail = NULL;
		l->n--;
	}
	return op;
}

static void
mail_op_stamp(struct mail_op *op, enum mail_op_stamp when)
{
	if (op->traced)
		clock_gettime(CLOCK_MONOTONIC, &op->at[when]);
}

/*
 * Where an operation (a delivery, say) spent its time, in microseconds:
 * waiting for a preparer, preparing (reading, hashing, a big message's
 * file), waiting for the writer, in the writer's batch (apply, record,
 * commit) and until the loop ran its done function.
 */
static void
mail_op_trace(const struct mail_op *op)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	log_trace(LOG_TRACE_TXN, "txn op cost=%llu queue=%lld prepare=%lld "
	    "ready=%lld run=%lld back=%lld", (unsigned long long)op->cost,
	    db_usec(&op->at[OP_SUBMITTED], &op->at[OP_PREPARING]),
	    db_usec(&op->at[OP_PREPARING], &op->at[OP_PREPARED]),
	    db_usec(&op->at[OP_PREPARED], &op->at[OP_TAKEN]),
	    db_usec(&op->at[OP_TAKEN], &op->at[OP_COMMITTED]),
	    db_usec(&op->at[OP_COMMITTED], &now));
}

/* Takes the next batch off the ready list (called locked). */
static void
mail_take_batch(struct mail_txnq *q, struct mail_oplist *batch)
{
	struct mail_op *op;
	uint64_t cost = 0;

	memset(batch, 0, sizeof(*batch));
	while (q->ready.head != NULL && batch->n < MAIL_TXN_BATCH_OPS &&
	    (batch->n == 0 || cost + q->ready.head->cost <=
	    MAIL_TXN_BATCH_COST)) {
		op = mail_oplist_pop(&q->ready);
		mail_op_stamp(op, OP_TAKEN);
		cost += op->cost;
		mail_oplist_push(batch, op);
	}
	q->ready_cost -= cost;
}

/*
 * A preparer: prepare steps, ahead of the writer by a bounded amount.
 * Several run, so that a big message's file sync (milliseconds) does not
 * hold up the small messages submitted after it: the ready list is kept in
 * the order of submission, and what is still being prepared when the
 * writer takes a batch joins a later one.
 */
static void *
mail_txnq_prep_thread(void *arg)
{
	struct mail_txnq *q = arg;
	struct mail_op *op;

	(void)db_held_exempt(true);
	pthread_mutex_lock(&q->mtx);
	for (;;) {
		while (q->todo.head == NULL ? !q->stop :
		    q->ready_cost >= MAIL_TXN_BATCH_COST && q->ready.n > 0)
			pthread_cond_wait(&q->prep_cond, &q->mtx);
		if ((op = mail_oplist_pop(&q->todo)) == NULL)
			break;	/* stopping, and everything is prepared */
		pthread_mutex_unlock(&q->mtx);
		mail_op_stamp(op, OP_PREPARING);
		op->st = op->prepare != NULL ?
		    op->prepare(op->arg, &op->err) : IPC_S_OK;
		mail_op_stamp(op, OP_PREPARED);
		pthread_mutex_lock(&q->mtx);
		mail_oplist_insert_ordered(&q->ready, op);
		q->ready_cost += op->cost;
		pthread_cond_signal(&q->write_cond);
	}
	/* The last one out: nothing is being prepared any more. */
	if (--q->preparers_live == 0) {
		q->prepared_all = true;
		pthread_cond_signal(&q->write_cond);
	}
	pthread_mutex_unlock(&q->mtx);
	return NULL;
}

/* Applies op inside a nested transaction of txn. */
static void
mail_apply_one(struct mail_txnq *q, MDB_txn *txn, struct mail_op *op)
{
	MDB_txn *child;
	int rc;

	if ((rc = mdb_txn_begin(q->db->env, txn, 0, &child)) != 0) {
		op->st = db_mdb_error(&op->err, rc, "nested begin");
		return;
	}
	op->st = op->apply(q->db, child, op->arg, &op->err);
	if (op->st != IPC_S_OK) {
		mdb_txn_abort(child);
		return;
	}
	if ((rc = mdb_txn_commit(child)) != 0)
		op->st = db_mdb_error(&op->err, rc, "nested commit");
}

/* Fails every operation of batch still OK with st and err. */
static void
mail_fail_batch(struct mail_oplist *batch, enum ipc_status st,
    const struct store_error *err)
{
	struct mail_op *op;

	log_warnx("txn batch failed ops=%zu: %s", batch->n, err->text);
	for (op = batch->head; op != NULL; op = op->next)
		if (op->st == IPC_S_OK) {
			op->st = st;
			op->err = *err;
		}
}

/*
 * The record of batch's successful operations into q->rec (each framed by
 * dblog_entry_begin and _end); false if one of them cannot log, or none
 * succeeded, or the store keeps no log.
 */
static bool
mail_record(struct mail_txnq *q, struct mail_oplist *batch)
{
	struct mail_op *op;
	size_t at;
	bool any = false;

	if (q->db->log == NULL)
		return false;
	buf_reset(&q->rec);
	for (op = batch->head; op != NULL; op = op->next) {
		if (op->st != IPC_S_OK)
			continue;
		if (op->log == NULL)
			return false;
		at = dblog_entry_begin(&q->rec);
		if (op->log(op->arg, &q->rec) == -1)
			return false;
		dblog_entry_end(&q->rec, at);
		any = true;
	}
	return any;
}

/* Whether the held transaction must commit now (called locked). */
static bool
mail_open_due(struct mail_txnq *q, long long *left_r)
{
	struct timespec now;
	long long age;
	bool writers;

	pthread_mutex_lock(&q->db->held.mtx);
	writers = q->db->held.writers > 0;
	pthread_mutex_unlock(&q->db->held.mtx);
	if (q->poked || writers || q->open_ops >= MAIL_TXN_HOLD_OPS ||
	    q->open_cost >= MAIL_TXN_HOLD_COST)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	age = db_usec(&q->open_at, &now);
	if (left_r != NULL)
		*left_r = MAIL_TXN_HOLD_USEC - age;
	return age >= MAIL_TXN_HOLD_USEC;
}

static void
mail_held_set(struct mail_txnq *q, bool open, bool acked)
{
	pthread_mutex_lock(&q->db->held.mtx);
	q->db->held.open = open;
	__atomic_store_n(&q->db->held.acked, acked, __ATOMIC_RELEASE);
	if (!acked)
		pthread_cond_broadcast(&q->db->held.cond);
	pthread_mutex_unlock(&q->db->held.mtx);
}

/* The held transaction is committed: what waits for it may run. */
static void
mail_committed(struct mail_txnq *q)
{
	pthread_mutex_lock(&q->mtx);
	q->committed = q->gen;
	if (q->after_wake) {
		q->after_wake = false;
		loopwake_post(&q->wake);
	}
	pthread_mutex_unlock(&q->mtx);
}

/*
 * Commits the held transaction (writer thread, unlocked): its records are
 * durable, so LMDB commits it without a sync; then those waiting for it
 * go on.
 */
static void
mail_open_commit(struct mail_txnq *q)
{
	if (q->open == NULL)
		return;
	if (q->open_ops > 0)
		db_commit_recorded(&q->open);
	else
		db_abort(&q->open);
	mail_held_set(q, false, false);
	mail_committed(q);
}

/*
 * Applies one batch in a transaction nested in the held one (writer
 * thread, unlocked).  When every operation that succeeded can log what it
 * did, the batch's record is appended and synced and the batch joins the
 * held transaction, which stays open (its operations are durable and may
 * be acknowledged); otherwise LMDB commits and syncs the held transaction
 * with the batch.  A batch that fails leaves the held transaction as it
 * was.
 */
static void
mail_run_batch(struct mail_txnq *q, struct mail_oplist *batch)
{
	struct store_error err;
	struct mail_op *op;
	enum ipc_status st;
	struct iovec iov;
	MDB_txn *txn;
	bool any = false;
	int rc;

	if (q->open == NULL) {
		if ((st = db_begin(q->db, true, &q->open, &err)) !=
		    IPC_S_OK) {
			mail_fail_batch(batch, st, &err);
			return;
		}
		clock_gettime(CLOCK_MONOTONIC, &q->open_at);
		q->open_ops = q->open_cost = 0;
		q->gen++;
		mail_held_set(q, true, false);
	}
	if ((rc = mdb_txn_begin(q->db->env, q->open, 0, &txn)) != 0) {
		st = db_mdb_error(&err, rc, "batch begin");
		mail_fail_batch(batch, st, &err);
		return;
	}
	for (op = batch->head; op != NULL; op = op->next)
		if (op->st == IPC_S_OK) {
			mail_apply_one(q, txn, op);
			any = any || op->st == IPC_S_OK;
		}
	if (!any) {
		mdb_txn_abort(txn);
		return;
	}
	if (mail_record(q, batch)) {
		iov.iov_base = q->rec.data;
		iov.iov_len = q->rec.len;
		if (db_record(q->open, &iov, 1, &err) == -1) {
			mdb_txn_abort(txn);
			mail_fail_batch(batch, IPC_S_INTERNAL, &err);
		} else if ((rc = mdb_txn_commit(txn)) != 0)
			fatalx("txn batch of a durable record: %s",
			    mdb_strerror(rc));
		else {
			q->open_ops += batch->n;
			for (op = batch->head; op != NULL; op = op->next) {
				q->open_cost += op->cost;
				op->gen = q->gen;
			}
		}
	} else if ((rc = mdb_txn_commit(txn)) != 0) {
		st = db_mdb_error(&err, rc, "batch commit");
		mail_fail_batch(batch, st, &err);
	} else {
		/*
		 * Synced by LMDB, with what the held transaction had: if
		 * that commit fails, recovery restores the records'.
		 */
		if ((st = db_commit(&q->open, &err)) != IPC_S_OK) {
			if (q->open_ops > 0)
				fatalx("commit of recorded operations failed: "
				    "%s", err.text);
			mail_fail_batch(batch, st, &err);
		}
		mail_held_set(q, false, false);
		mail_committed(q);
	}
	/* A big batch's record is not kept for the next one. */
	if (q->rec.cap > (8u << 20))
		buf_clear(&q->rec);
	log_trace(LOG_TRACE_TXN, "txn batch ops=%zu", batch->n);
}

static void *
mail_txnq_thread(void *arg)
{
	struct mail_txnq *q = arg;
	struct mail_oplist batch;
	struct mail_op *op;
	struct timespec until;
	long long left;
	bool wake;

	(void)db_held_exempt(true);
	pthread_mutex_lock(&q->mtx);
	for (;;) {
		while (q->ready.head == NULL ? !q->prepared_all :
		    q->hold && !q->stop) {
			if (q->open == NULL) {
				pthread_cond_wait(&q->write_cond, &q->mtx);
				continue;
			}
			/* Nothing to do but commit what is held, in time. */
			if (mail_open_due(q, &left)) {
				q->poked = false;
				pthread_mutex_unlock(&q->mtx);
				mail_open_commit(q);
				pthread_mutex_lock(&q->mtx);
				continue;
			}
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += left / 1000000;
			until.tv_nsec += (left % 1000000) * 1000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			(void)pthread_cond_timedwait(&q->write_cond, &q->mtx,
			    &until);
		}
		if (q->ready.head == NULL)
			break;	/* stopping, and everything is done */
		mail_take_batch(q, &batch);
		/* Room to prepare, for those that wait for it. */
		if (q->todo.head != NULL)
			pthread_cond_broadcast(&q->prep_cond);
		/* A poke before the transaction began was for an older one. */
		if (q->open == NULL)
			q->poked = false;
		pthread_mutex_unlock(&q->mtx);
		mail_run_batch(q, &batch);
		pthread_mutex_lock(&q->mtx);
		if (q->open != NULL && mail_open_due(q, NULL)) {
			q->poked = false;
			pthread_mutex_unlock(&q->mtx);
			mail_open_commit(q);
			pthread_mutex_lock(&q->mtx);
		}
		/* What is acknowledged now must be seen by the next reader. */
		if (q->open != NULL && q->open_ops > 0)
			mail_held_set(q, true, true);
		q->batches++;
		q->ops += batch.n;
		wake = q->done.head == NULL;
		while ((op = mail_oplist_pop(&batch)) != NULL) {
			mail_op_stamp(op, OP_COMMITTED);
			mail_oplist_push(&q->done, op);
		}
		if (wake)
			loopwake_post(&q->wake);
	}
	pthread_mutex_unlock(&q->mtx);
	mail_open_commit(q);
	return NULL;
}

/* db_held's poke: the writer commits what it holds at once. */
static void
mail_txnq_poke(void *arg)
{
	struct mail_txnq *q = arg;

	pthread_mutex_lock(&q->mtx);
	q->poked = true;
	pthread_cond_signal(&q->write_cond);
	pthread_mutex_unlock(&q->mtx);
}

/* Runs the done functions of finished operations, on the loop. */
static void
mail_txnq_deliver(struct mail_txnq *q)
{
	struct mail_oplist l;
	struct mail_op *op;

	pthread_mutex_lock(&q->mtx);
	l = q->done;
	memset(&q->done, 0, sizeof(q->done));
	pthread_mutex_unlock(&q->mtx);
	while ((op = mail_oplist_pop(&l)) != NULL) {
		q->pending--;
		if (op->traced)
			mail_op_trace(op);
		q->done_gen = op->gen;
		op->done(op->arg, op->st, &op->err);
		q->done_gen = 0;
		free(op);
	}
}

/* Runs what waited for commits that happened (on the loop). */
static void
mail_txnq_run_after(struct mail_txnq *q)
{
	struct mail_after *a;
	uint64_t committed;

	pthread_mutex_lock(&q->mtx);
	committed = q->committed;
	pthread_mutex_unlock(&q->mtx);
	while ((a = q->after) != NULL && a->gen <= committed) {
		if ((q->after = a->next) == NULL)
			q->after_tail = &q->after;
		a->fn(a->arg);
		free(a);
	}
}

void
mail_txnq_after_commit(struct mail_txnq *q, void (*fn)(void *), void *arg)
{
	struct mail_after *a;
	bool now;

	pthread_mutex_lock(&q->mtx);
	now = q->done_gen == 0 || q->done_gen <= q->committed;
	if (!now)
		q->after_wake = true;
	pthread_mutex_unlock(&q->mtx);
	if (now && q->after == NULL) {
		fn(arg);
		return;
	}
	/* In order: behind those of an earlier transaction still held. */
	a = xcalloc(1, sizeof(*a));
	a->fn = fn;
	a->arg = arg;
	a->gen = q->done_gen;
	*q->after_tail = a;
	q->after_tail = &a->next;
	if (now)
		mail_txnq_run_after(q);
}

static void
mail_txnq_wake_cb(void *arg)
{
	struct mail_txnq *q = arg;

	mail_txnq_deliver(q);
	mail_txnq_run_after(q);
	if (q->pending == 0 && q->idle_cb != NULL)
		q->idle_cb(q->idle_arg);
}

struct mail_txnq *
mail_txnq_new(struct event_base *base, struct store_db *db,
    size_t max_pending)
{
	struct mail_txnq *q = xcalloc(1, sizeof(*q));
	pthread_condattr_t ca;
	size_t i;

	q->db = db;
	q->after_tail = &q->after;
	q->rec.nowipe = true;
	q->max_pending = max_pending > 0 ? max_pending : 1;
	pthread_mutex_init(&q->mtx, NULL);
	pthread_cond_init(&q->prep_cond, NULL);
	/* The writer waits for the held transaction's time on it. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->write_cond, &ca);
	pthread_condattr_destroy(&ca);
	db_held_set(db, mail_txnq_poke, q);
	loopwake_init(&q->wake, base, mail_txnq_wake_cb, q);
	loopwake_thread(&q->thread, mail_txnq_thread, q, "mail writer");
	q->preparers_live = MAIL_TXN_PREPARERS;
	for (i = 0; i < MAIL_TXN_PREPARERS; i++)
		loopwake_thread(&q->prep_threads[i], mail_txnq_prep_thread, q,
		    "mail preparer");
	return q;
}

int
mail_txnq_submit(struct mail_txnq *q, mail_prepare_fn *prepare,
    mail_apply_fn *apply, mail_done_fn *done, void *arg, uint64_t cost)
{
	return mail_txnq_submit_logged(q, prepare, apply, NULL, done, arg,
	    cost);
}

int
mail_txnq_submit_logged(struct mail_txnq *q, mail_prepare_fn *prepare,
    mail_apply_fn *apply, mail_log_fn *log, mail_done_fn *done, void *arg,
    uint64_t cost)
{
	struct mail_op *op;

	if (q->pending >= q->max_pending)
		return -1;
	op = xcalloc(1, sizeof(*op));
	op->prepare = prepare;
	op->apply = apply;
	op->log = log;
	op->done = done;
	op->arg = arg;
	op->cost = cost;
	op->traced = LOG_IS_TRACE(LOG_TRACE_TXN);
	mail_op_stamp(op, OP_SUBMITTED);
	pthread_mutex_lock(&q->mtx);
	op->seq = ++q->seq;
	mail_oplist_push(&q->todo, op);
	pthread_cond_signal(&q->prep_cond);
	pthread_mutex_unlock(&q->mtx);
	q->pending++;
	return 0;
}

size_t
mail_txnq_pending(const struct mail_txnq *q)
{
	return q->pending;
}

void
mail_txnq_set_idle_cb(struct mail_txnq *q, void (*fn)(void *), void *arg)
{
	q->idle_cb = fn;
	q->idle_arg = arg;
}

void
mail_txnq_hold(struct mail_txnq *q, bool hold)
{
	pthread_mutex_lock(&q->mtx);
	q->hold = hold;
	pthread_cond_signal(&q->write_cond);
	pthread_mutex_unlock(&q->mtx);
}

size_t
mail_txnq_ready(struct mail_txnq *q)
{
	size_t n;

	pthread_mutex_lock(&q->mtx);
	n = q->ready.n;
	pthread_mutex_unlock(&q->mtx);
	return n;
}

void
mail_txnq_stats(struct mail_txnq *q, uint64_t *batches_r, uint64_t *ops_r)
{
	pthread_mutex_lock(&q->mtx);
	*batches_r = q->batches;
	*ops_r = q->ops;
	pthread_mutex_unlock(&q->mtx);
}

void
mail_txnq_free(struct mail_txnq **qp)
{
	struct mail_txnq *q = *qp;
	size_t i;

	*qp = NULL;
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mtx);
	q->stop = true;
	pthread_cond_broadcast(&q->prep_cond);
	pthread_cond_signal(&q->write_cond);
	pthread_mutex_unlock(&q->mtx);
	for (i = 0; i < MAIL_TXN_PREPARERS; i++)
		pthread_join(q->prep_threads[i], NULL);
	pthread_join(q->thread, NULL);
	db_held_set(q->db, NULL, NULL);
	mail_txnq_deliver(q);
	/* The writer committed what it held before it ended. */
	mail_txnq_run_after(q);
	loopwake_clear(&q->wake);
	buf_clear(&q->rec);
	pthread_cond_destroy(&q->prep_cond);
	pthread_cond_destroy(&q->write_cond);
	pthread_mutex_destroy(&q->mtx);
	free(q);
}

enum ipc_status
mail_txn_run(struct store_db *db, mail_apply_fn *apply, void *arg,
    struct store_error *err)
{
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = db_begin(db, true, &txn, err)) != IPC_S_OK)
		return st;
	if ((st = apply(db, txn, arg, err)) != IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	return db_commit(&txn, err);
}
