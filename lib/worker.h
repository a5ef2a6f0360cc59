/* SPDX-License-Identifier: ISC */
/*
 * worker.h: what every network worker process (imapd, lmtpd, ...) does the
 * same way once boot_confine() has returned: the event loop, the master
 * channel (STORE_CHANNEL, SHUTDOWN, SET_TRACE), the store channel and its
 * renewal after storaged restarts, the shared listeners with a pause after
 * accept(2) fails, the limit on connections, the TLS context built from
 * CONF_TLS, and a graceful shutdown that ends the loop when the last
 * session is gone or the grace period is over.
 *
 * The worker keeps its own list of sessions; this module only counts them
 * (worker_session_add/remove, which lib/conn.c calls for each connection)
 * and calls the worker back through struct worker_def.  The state is one static struct in worker.c: a process has
 * exactly one worker.
 */
#ifndef BULWARK_WORKER_H
#define BULWARK_WORKER_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "boot.h"

struct event_base;
struct ipc_chan;

/* Serves an accepted connection; fd is taken. */
typedef void worker_accept_fn(int fd, const struct sockaddr *sa,
    socklen_t salen, const struct boot_listener *l);
/* A new store channel replaced the old one: register the sessions again. */
typedef void worker_store_fn(struct ipc_chan *store);
/* The master asked to stop: tell every session to finish. */
typedef void worker_shutdown_fn(void);

struct worker_def {
	const char		*proto;		/* listeners taken: "imap" */
	worker_accept_fn	*accept;
	worker_store_fn		*store_renewed;
	worker_shutdown_fn	*shutdown;
	/* Sent in clear to a connection refused for their number. */
	const char		*refuse_line;	/* with CRLF */
	/* What storaged may send unasked (notifications); may be NULL. */
	const struct ipc_handler *store_handlers;
};

/*
 * Takes CONF_TLS (a struct ipc_CONF_TLS_req): builds the TLS context and
 * wipes the key bytes in the message.  No certificate: nothing.  Dies if the
 * certificate or key is unusable.  For a worker's boot_conf_fn table.
 */
void	worker_conf_tls(const void *msg);
/* Dies if a listener of proto asks for implicit TLS without a context. */
void	worker_check_tls(const struct boot_conf *bc, const char *proto);

/*
 * After boot_confine(): builds the event loop, the master and store
 * channels and the listeners of def->proto (others are closed), then tells
 * the master READY.  bc and def are borrowed for the life of the process.
 */
void	worker_start(struct boot_conf *bc, const struct worker_def *def,
	    uint32_t max_connections);
/* Runs the event loop until shutdown or the master is gone. */
void	worker_run(void);
/* Frees the channels, listeners and TLS context (after the sessions). */
void	worker_end(void);

/* The event loop; valid after worker_start(). */
struct event_base *worker_base(void);
/* The TLS context, or NULL when no certificate is configured. */
SSL_CTX	*worker_tls_ctx(void);
/*
 * The channel to storaged, or NULL while storaged is away (between its
 * death and the STORE_CHANNEL that brings the next one).  Borrowed: do not
 * keep it past the current callback.
 */
struct ipc_chan *worker_store(void);
/* Counts a session in and out; the last one out after SHUTDOWN ends it. */
void	worker_session_add(void);
void	worker_session_remove(void);
size_t	worker_sessions(void);
/* Whether SHUTDOWN arrived (or the master is gone). */
bool	worker_shutting_down(void);

#endif
