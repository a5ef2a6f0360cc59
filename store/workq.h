/* SPDX-License-Identifier: ISC */
/*
 * workq.h: a small pool of threads for work that must not stall the event
 * loop (argon2id hashing and verification).  A job's work function runs on
 * a pool thread; its done function then runs on the loop thread, woken
 * through a pipe.  Work functions touch only their own argument: never
 * channels or other storaged state, and LMDB only in a pool made for reads
 * (storaged's rq, mail_read.c), whose work opens and ends its own read
 * transaction and which storaged frees before closing the environment.  The queue is bounded, so a
 * flood of requests is refused instead of growing memory.
 */
#ifndef BULWARK_WORKQ_H
#define BULWARK_WORKQ_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct workq;

/* Runs on a pool thread. */
typedef void workq_work_fn(void *arg);
/*
 * Runs on the loop thread after the work, or with cancelled true (and the
 * work not run) when the pool is freed first.  It owns arg.
 */
typedef void workq_done_fn(void *arg, bool cancelled);

/*
 * Starts nthreads threads (at least 1) whose results come back on base; at
 * most max_jobs jobs may be pending at once.  Dies if threads cannot be
 * made.
 */
struct workq *workq_new(struct event_base *base, unsigned int nthreads,
	    size_t max_jobs);
/*
 * Queues a job.  Returns 0, or -1 if max_jobs are pending (arg is then the
 * caller's still).
 */
int	workq_submit(struct workq *q, workq_work_fn *work, workq_done_fn *done,
	    void *arg);
/* Jobs submitted whose done function has not run yet. */
size_t	workq_pending(const struct workq *q);
/*
 * Sets fn(arg) to run on the loop each time the pool becomes idle
 * (workq_pending drops to 0), for a graceful stop.
 */
void	workq_set_idle_cb(struct workq *q, void (*fn)(void *), void *arg);
/*
 * Waits for the jobs running now, stops the threads, runs done of every
 * finished job, and of every job not started with cancelled true, then
 * frees the pool and NULLs *qp.
 */
void	workq_free(struct workq **qp);

#endif
