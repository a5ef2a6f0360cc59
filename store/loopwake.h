/* SPDX-License-Identifier: ISC */
/*
 * loopwake.h: how storaged's threads hand results back to its event loop,
 * and how they are started.  A thread appends to a list under its own lock
 * and, when the list goes from empty to not empty, calls loopwake_post(),
 * which writes one byte to a non-blocking pipe; the loop's callback drains
 * the pipe and takes the whole list.  One byte per empty-to-non-empty step
 * means the pipe never fills.  A pipe rather than eventfd: it is portable.
 */
#ifndef BULWARK_LOOPWAKE_H
#define BULWARK_LOOPWAKE_H

#include <pthread.h>

struct event_base;
struct event;

struct loopwake {
	int		 pipe[2];
	struct event	*ev;
};

/* Arms lw on base: cb(arg) runs on the loop after each post.  Dies on error. */
void	loopwake_init(struct loopwake *lw, struct event_base *base,
	    void (*cb)(void *), void *arg);
/* From any thread: wakes the loop. */
void	loopwake_post(struct loopwake *lw);
/* Frees the event and closes the pipe. */
void	loopwake_clear(struct loopwake *lw);
/*
 * Starts a thread running fn(arg) with every signal blocked: signals are
 * the loop thread's business.  Dies on failure, naming what.
 */
void	loopwake_thread(pthread_t *t, void *(*fn)(void *), void *arg,
	    const char *what);

#endif
