/* SPDX-License-Identifier: ISC */
/*
 * readpool.h: threads that share one long read with the loop thread.
 *
 * storaged answers reads on its loop thread, one at a time, so that the
 * replies and notifications of every channel leave in the order of the
 * snapshots they saw.  A read over thousands of messages (MSG_FETCH of a
 * SEARCH chunk) would then use one core while others idle.
 * readpool_run() splits such a read: it runs fn(arg, 0) .. fn(arg, n - 1),
 * some on the pool's threads and the rest on the calling thread, and
 * returns when all have run.  The loop waits for the whole read as it
 * waited before, so nothing about ordering changes; the read just takes
 * less time where there are cores to spare.
 *
 * fn may open its own LMDB read transaction (each thread has its own
 * reader slot; the caller must hold none while it runs) and may read
 * storaged's immutable state (the database handles), nothing else: no
 * channels, sessions or loop.  Parts that ran in different snapshots are
 * the caller's to notice (mdb_txn_id) and redo.
 */
#ifndef BULWARK_READPOOL_H
#define BULWARK_READPOOL_H

struct readpool;

typedef void readpool_fn(void *arg, unsigned int part);

/*
 * Starts nthreads threads (0 is allowed: every part then runs on the
 * caller).  Dies if threads cannot be made.
 */
struct readpool *readpool_new(unsigned int nthreads);
/* How many parts a read should be split into: the threads and the caller. */
unsigned int	readpool_width(const struct readpool *p);
/* Runs fn(arg, i) for every i < nparts; returns when all are done. */
void	readpool_run(struct readpool *p, unsigned int nparts, readpool_fn *fn,
	    void *arg);
/* Stops the threads (no read may be running) and frees; NULLs *pp. */
void	readpool_free(struct readpool **pp);

#endif
