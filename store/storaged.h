/* SPDX-License-Identifier: ISC */
/*
 * storaged.h: the state of storaged, the only process that opens the LMDB
 * environment, shared by its modules.  There is one instance, a static in
 * storaged.c; handlers reach it through their channel's argument, never a
 * global.
 *
 * Startup (storaged.c): configuration from the master, chroot and drop,
 * the environment and its schema, the event loop, the master channel, the
 * admin listener, READY.  Channels: the master (dispatch_master), one per
 * network worker (dispatch_worker, worker.c; lmtpd's deliveries in
 * deliver.c) and one per bulwarkctl connection (dispatch_ctl, admin.c,
 * admin_mail.c).  Mail writes go through the group-commit writer of txn.h,
 * whose threads own no other state.
 */
#ifndef BULWARK_STORAGED_H
#define BULWARK_STORAGED_H

#include <sys/queue.h>

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <sodium.h>

#include "auth.h"
#include "db.h"
#include "ipc.h"
#include "schema.h"
#include "session.h"
#include "buf.h"
#include "submit_dkim.h"

/* The store's slice of the configuration (CONF_STORE). */
struct store_conf {
	char		 datadir[PATH_MAX];
	uint64_t	 map_size;
	uint32_t	 admin_gid;	/* UINT32_MAX: no admin group */
	uint32_t	 fail_limit;
	uint32_t	 fail_window;	/* seconds */
	uint32_t	 block_time;	/* seconds */
	uint64_t	 pwhash_ops;	/* 0: OPSLIMIT_INTERACTIVE */
	uint64_t	 pwhash_mem;	/* 0: MEMLIMIT_INTERACTIVE (bytes) */
	uint32_t	 threads;
	bool		 relay;		/* relay { host } is configured */
	uint64_t	 change_history;	/* modseqs kept, 0: all */
};

/* A network worker's channel and its sessions (worker.c). */
struct wchan {
	struct storaged		*sd;
	struct ipc_chan		*chan;
	uint64_t		 serial;	/* ipc_chan_serial */
	char			 name[32];	/* worker kind */
	uint32_t		 pid;
	struct session_table	 sessions;
	TAILQ_ENTRY(wchan)	 entry;
};

TAILQ_HEAD(wchan_list, wchan);

struct admin;
struct mail_txnq;
struct pushq;
struct workq;
struct readpool;
struct event;
struct event_base;

struct storaged {
	struct store_conf	 conf;
	struct submit_dkim	 dkim;	/* CONF_DKIM: the relay's keys */
	/* CONF_RELAY_AUTH: RFC 4616's message, NUL user NUL password. */
	struct buf		 relay_auth;
	struct store_db		 db;
	uint8_t			 token_key[SCHEMA_TOKEN_KEY_LEN];
	/* Verified for unknown users so their timing matches real ones. */
	char			 dummy_hash[crypto_pwhash_STRBYTES];
	struct event_base	*base;
	struct ipc_chan		*master;
	struct workq		*wq;
	/* Reads that copy whole messages (mail_read.c): may read LMDB. */
	struct workq		*rq;
	struct readpool		*rp;	/* long reads, store/readpool.h */
	struct mail_txnq	*txnq;		/* the mail writer (txn.h) */
	struct pushq		*pushq;	/* JMAP pushes waiting (pushsub.h) */
	struct auth_limiter	*limiter;
	struct wchan_list	 workers;
	struct admin		*admin;
	struct event		*ev_grace;
	struct event		*ev_prune;	/* expired duplicate entries */
	struct event		*ev_sig[2];
	bool			 configured;	/* CONF_STORE came */
	bool			 chrooted;
	bool			 stopping;
};

/* Seconds on the monotonic clock (rate limits). */
uint64_t storaged_mono(void);
/* Seconds since the epoch (records, token expiry). */
uint64_t storaged_now(void);
/*
 * Stops gracefully: no new admin connections or authentications, the
 * thread pool's jobs finish, then the loop ends; at most grace seconds.
 */
void	storaged_shutdown(struct storaged *sd, uint32_t grace);

/* What one clean-up removed (storaged_prune_run). */
struct storaged_pruned {
	size_t		 duplicates;	/* duplicate suppression */
	size_t		 uploads;	/* expired JMAP uploads */
	size_t		 changes;	/* change log entries */
	size_t		 accounts;	/* whose history was pruned */
};
typedef void storaged_pruned_fn(void *arg, enum ipc_status st,
    const struct store_error *err, const struct storaged_pruned *p);
/*
 * Queues the periodic clean-up now, on the write path; done (may be NULL)
 * runs once it committed or failed.  Returns 0, or -1 when the write
 * queue is full (done does not run).
 */
int	storaged_prune_run(struct storaged *sd, storaged_pruned_fn *done,
	    void *arg);

/* Master channel handlers (dispatch_master). */
ipc_handler_fn storaged_store_peer;
ipc_handler_fn storaged_shutdown_msg;
ipc_handler_fn storaged_set_trace;

#endif
