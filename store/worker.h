/* SPDX-License-Identifier: ISC */
/*
 * worker.h: the channels of network workers and their requests: sessions
 * (SESSION_OPEN, SESSION_ADMIT with the connection limits, SESSION_CLOSE),
 * authentication (AUTH, on the thread pool,
 * rate limited) and the session checks every later request depends on
 * (SESSION_RESUME, SESSION_INFO).
 *
 * A worker is not trusted with more than its own sessions: a request on a
 * session that is not open on that channel, or not bound when it must be,
 * gets IPC_S_DENIED.  When a channel closes its sessions go with it, and
 * thread pool results for it are dropped (found by channel serial).
 * Authentication failures are logged at info, one line each, for fail2ban:
 *
 *	auth failed user=<name> remote=<ip> proto=<proto> reason=<why>
 *	auth blocked remote=<ip>
 *	auth blocked user=<name>
 *	auth ok user=<name> remote=<ip> proto=<proto>
 *	session refused remote=<ip> proto=<proto> limit=<n>
 *	auth refused user=<name> remote=<ip> proto=<proto> limit=<n>
 */
#ifndef BULWARK_WORKER_H
#define BULWARK_WORKER_H

#include <stdint.h>

#include "ipc.h"
#include "storaged.h"

/*
 * Makes a channel on fd (taken) to a worker of kind name and process pid.
 */
void	worker_chan_new(struct storaged *sd, int fd, const char *name,
	    uint32_t pid);
/* Returns the worker channel of serial, or NULL if it closed. */
struct wchan *worker_find(struct storaged *sd, uint64_t serial);
/* Closes every worker channel (at exit). */
void	worker_free_all(struct storaged *sd);
/*
 * Unbinds every session bound to account_id on every channel (the account
 * was deleted); returns how many.
 */
size_t	worker_unbind_account(struct storaged *sd, uint64_t account_id);

/*
 * The session a worker request acts for, bound to an account: returns it,
 * or NULL after replying IPC_S_DENIED (mail requests start with this).
 */
struct session *worker_session_bound(struct ipc_chan *c,
	    const struct ipc_frame *f, struct wchan *w);

/* Handlers of dispatch_worker. */
ipc_handler_fn worker_session_open;
ipc_handler_fn worker_session_close;
ipc_handler_fn worker_auth;
ipc_handler_fn worker_session_resume;
ipc_handler_fn worker_session_info;
ipc_handler_fn worker_session_admit;

#endif
