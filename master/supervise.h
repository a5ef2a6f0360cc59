/* SPDX-License-Identifier: ISC */
/*
 * supervise.h: the master's children.  Starts the instances the
 * configuration asks for, links each worker to storaged, restarts a dead
 * child with exponential backoff, replaces children whose configuration
 * changed on reload (old ones drain), and stops everything in order:
 * workers first, storaged last, within a bounded time.
 */
#ifndef BULWARK_SUPERVISE_H
#define BULWARK_SUPERVISE_H

#include "proc.h"

struct event_base;

/* Seconds a child has to finish after SHUTDOWN before it is killed. */
#define SUPERVISE_GRACE		5

/* env is borrowed for the life of the supervisor; the caller updates it. */
void	supervise_init(struct event_base *base, const struct proc_env *env);
/* Makes the running children match env (at start and after reload). */
void	supervise_apply(void);
/* Reaps exited children (on SIGCHLD). */
void	supervise_reap(void);
/* Stops every child; done runs once all have exited. */
void	supervise_shutdown(void (*done)(void));

#endif
