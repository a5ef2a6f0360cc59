/* SPDX-License-Identifier: ISC */
/*
 * storaged.c: main() of storaged, its one state struct, startup in the
 * order of lib/boot.h, the master channel and a graceful stop.
 */
#include "storaged.h"
#include "blobfile.h"
#include "mail_api.h"
#include "admin.h"
#include "boot.h"
#include "changelog.h"
#include "compat.h"
#include "dispatch.h"
#include "log.h"
#include "message.h"
#include "pushsub.h"
#include "readpool.h"
#include "dblog.h"
#include "deliver.h"
#include "txn.h"
#include "upload.h"
#include "worker.h"
#include "workq.h"
#include "xmalloc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

/*
 * Expired duplicate entries, and expired uploads, deleted by one periodic
 * transaction, at most.
 */
#define STORAGED_PRUNE_MAX	10000
/* Change log entries one clean-up deletes at most (changelog_prune_all). */
#define STORAGED_CHANGES_MAX	50000

static void storaged_prune_start(struct storaged *);

#define STORAGED_MAP_SIZE	(1ull << 30)	/* when none is configured */
#define STORAGED_LIMIT_SLOTS	16384		/* per limiter table */
#define STORAGED_MAX_JOBS	512		/* queued password jobs */
#define STORAGED_GRACE_SIGNAL	10		/* seconds, on SIGTERM */
#define STORAGED_GRACE_ORPHAN	5		/* seconds, master gone */
#define STORAGED_MAX_WRITES	8192		/* queued mail writes */
#define STORAGED_READ_THREADS	2		/* copying whole messages */
#define STORAGED_MAX_READS	4096		/* queued such reads */

static struct storaged storaged;

uint64_t
storaged_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

uint64_t
storaged_now(void)
{
	return (uint64_t)time(NULL);
}

/*
 * A dkim section's key (CONF_DKIM), loaded now, before the chroot.  It was
 * read in place, from the buffer the configuration was received in, which
 * belongs to this process: wipe it there.
 */
static void
storaged_conf_dkim(struct storaged *sd, const struct ipc_CONF_DKIM_req *m)
{
	char err[256];
	int r;

	r = submit_dkim_add(&sd->dkim, m->domain, m->selector, m->key.p,
	    m->key.len, err, sizeof(err));
	sodium_memzero((void *)(uintptr_t)m->key.p, m->key.len);
	if (r == -1)
		fatalx("dkim %s: %s", m->domain, err);
	log_info("dkim key domain=%s selector=%s", m->domain, m->selector);
}

/*
 * relay { user password-file } (CONF_RELAY_AUTH): kept as the SASL PLAIN
 * message that RELAY_TAKE hands lmtpd; the received bytes are wiped.
 */
static void
storaged_conf_relay_auth(struct storaged *sd,
    const struct ipc_CONF_RELAY_AUTH_req *m)
{
	buf_clear(&sd->relay_auth);
	buf_append(&sd->relay_auth, "", 1);
	buf_append(&sd->relay_auth, m->user, strlen(m->user));
	buf_append(&sd->relay_auth, "", 1);
	buf_append(&sd->relay_auth, m->password.p, m->password.len);
	sodium_memzero((void *)(uintptr_t)m->password.p, m->password.len);
	log_info("relay credentials user=%s", m->user);
}

static int
storaged_conf_cb(uint16_t type, const void *msg, void *arg)
{
	const struct ipc_CONF_STORE_req *m = msg;
	struct storaged *sd = arg;
	struct store_conf *c = &sd->conf;

	if (type == IPC_T_CONF_DKIM) {
		storaged_conf_dkim(sd, msg);
		return 0;
	}
	if (type == IPC_T_CONF_RELAY_AUTH) {
		storaged_conf_relay_auth(sd, msg);
		return 0;
	}
	if (type != IPC_T_CONF_STORE)
		return -1;
	if (strlcpy(c->datadir, m->datadir, sizeof(c->datadir)) >=
	    sizeof(c->datadir) || c->datadir[0] == '\0')
		fatalx("bad data directory in the configuration");
	c->map_size = m->map_size != 0 ? m->map_size : STORAGED_MAP_SIZE;
	c->admin_gid = m->admin_gid;
	c->fail_limit = m->auth_fail_limit;
	c->fail_window = m->auth_fail_window;
	c->block_time = m->auth_block_time;
	c->pwhash_ops = m->pwhash_ops;
	c->pwhash_mem = m->pwhash_mem;
	c->threads = m->auth_threads != 0 ? m->auth_threads : 1;
	c->relay = m->relay;
	c->change_history = m->change_history;
	sd->configured = true;
	return 0;
}

/*
 * Removes the blob files crashes left (blobfile.h) before anything is
 * served: a write cannot race the sweep yet.
 */
static void
storaged_sweep_blobs(struct storaged *sd)
{
	struct blobfile_sweep_stats st;
	struct store_error err;

	if (blobfile_sweep(&sd->db, &st, &err) != IPC_S_OK)
		fatalx("blob sweep: %s", err.text);
	log_info("blob files kept=%llu tmp_removed=%llu orphans_removed=%llu "
	    "missing=%llu", (unsigned long long)st.kept,
	    (unsigned long long)st.tmp, (unsigned long long)st.orphans,
	    (unsigned long long)st.missing);
}

/* Opens the store and reads what the loop needs from it. */
static void
storaged_open_store(struct storaged *sd)
{
	struct store_error err;
	char pw[33];

	/* Deliveries are the operations the redo log holds (dblog.h). */
	dblog_set_replay(deliver_replay);
	if (db_open(&sd->db, sd->conf.datadir, sd->conf.map_size, &err) == -1)
		fatalx("%s", err.text);
	/* After the replay: files it linked are referenced by then. */
	storaged_sweep_blobs(sd);
	if (schema_token_key(&sd->db, sd->token_key, &err) == -1)
		fatalx("%s", err.text);
	/* A hash of a random password, as costly as the real ones. */
	randombytes_buf(pw, sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	if (auth_hash_password(pw, sd->conf.pwhash_ops, sd->conf.pwhash_mem,
	    sd->dummy_hash) != 0)
		fatalx("cannot hash a password: out of memory");
	sodium_memzero(pw, sizeof(pw));
	sd->limiter = auth_limiter_new(sd->conf.fail_limit,
	    sd->conf.fail_window, sd->conf.block_time, STORAGED_LIMIT_SLOTS);
}

static void
storaged_master_close_cb(struct ipc_chan *c, const char *why, void *arg)
{
	struct storaged *sd = arg;

	(void)c;
	log_warnx("master channel closed (%s), stopping", why);
	ipc_chan_free(&sd->master);
	storaged_shutdown(sd, STORAGED_GRACE_ORPHAN);
}

static void
storaged_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("signal %d, stopping", (int)sig);
	storaged_shutdown(arg, STORAGED_GRACE_SIGNAL);
}

/* The admin socket is storaged's only listener. */
static void
storaged_listeners(struct storaged *sd, struct boot_conf *bc)
{
	size_t i;

	for (i = 0; i < bc->nlisteners; i++) {
		if (strcmp(bc->listeners[i].proto, "admin") == 0 &&
		    sd->admin == NULL) {
			sd->admin = admin_new(sd, bc->listeners[i].fd);
			continue;
		}
		log_warnx("unexpected listener proto=%s addr=%s",
		    bc->listeners[i].proto, bc->listeners[i].addr);
		close(bc->listeners[i].fd);
	}
	if (sd->admin == NULL)
		log_warnx("no admin socket: bulwarkctl cannot connect");
}

/*
 * Threads that share long reads with the loop: one per further online
 * core, at most three (a SEARCH chunk is not worth more parts).
 */
static unsigned int
storaged_read_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 2)
		return 0;
	return n > 4 ? 3 : (unsigned int)n - 1;
}

static void
storaged_loop_init(struct storaged *sd, struct boot_conf *bc)
{
	static const int sigs[2] = { SIGTERM, SIGINT };
	size_t i;

	signal(SIGHUP, SIG_IGN);
	if ((sd->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; i < 2; i++) {
		sd->ev_sig[i] = evsignal_new(sd->base, sigs[i],
		    storaged_signal_cb, sd);
		if (sd->ev_sig[i] == NULL || evsignal_add(sd->ev_sig[i],
		    NULL) == -1)
			fatalx("evsignal_new");
	}
	sd->wq = workq_new(sd->base, sd->conf.threads, STORAGED_MAX_JOBS);
	sd->rq = workq_new(sd->base, STORAGED_READ_THREADS, STORAGED_MAX_READS);
	sd->rp = readpool_new(storaged_read_threads());
	sd->txnq = mail_txnq_new(sd->base, &sd->db, STORAGED_MAX_WRITES);
	storaged_prune_start(sd);
	/* Submissions queued before a restart get their wake-up timer. */
	mail_submit_start(sd);
	sd->master = boot_master_chan(sd->base, bc, dispatch_master,
	    storaged_master_close_cb, sd);
	storaged_listeners(sd, bc);
}

/*
 * One clean-up of duplicate-suppression entries, of expired JMAP uploads
 * (upload.h), and of the change history beyond storage change-history
 * (changelog.h): every MESSAGE_DUP_WINDOW, and when bulwarkctl asks.
 */
struct storaged_prune {
	uint64_t		 now;
	uint64_t		 keep;		/* change-history */
	struct storaged_pruned	 out;
	storaged_pruned_fn	*done;
	void			*arg;
};

static enum ipc_status
storaged_prune_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct storaged_prune *p = arg;
	enum ipc_status st;

	if ((st = message_dup_prune(db, txn, p->now, STORAGED_PRUNE_MAX,
	    &p->out.duplicates, err)) != IPC_S_OK ||
	    (st = upload_sweep(db, txn, p->now, STORAGED_PRUNE_MAX,
	    &p->out.uploads, err)) != IPC_S_OK)
		return st;
	return changelog_prune_all(db, txn, p->keep, STORAGED_CHANGES_MAX,
	    &p->out.changes, &p->out.accounts, err);
}

static void
storaged_prune_done(void *arg, enum ipc_status st,
    const struct store_error *err)
{
	struct storaged_prune *p = arg;
	const struct storaged_pruned *o = &p->out;

	if (st != IPC_S_OK)
		log_warnx("prune of duplicate entries, uploads and changes "
		    "failed: %s", err->text);
	else if (o->duplicates > 0 || o->uploads > 0 || o->changes > 0)
		log_debug("pruned duplicates=%zu uploads=%zu changes=%zu "
		    "accounts=%zu", o->duplicates, o->uploads, o->changes,
		    o->accounts);
	if (p->done != NULL)
		p->done(p->arg, st, err, o);
	free(p);
}

int
storaged_prune_run(struct storaged *sd, storaged_pruned_fn *done, void *arg)
{
	struct storaged_prune *p;

	p = xcalloc(1, sizeof(*p));
	p->now = storaged_now();
	p->keep = sd->conf.change_history;
	p->done = done;
	p->arg = arg;
	if (mail_txnq_submit(sd->txnq, NULL, storaged_prune_apply,
	    storaged_prune_done, p, 0) == -1) {
		free(p);
		return -1;
	}
	return 0;
}

/*
 * Entries older than the window only take room: delete them through the
 * write path, like any other write, every window.
 */
static void
storaged_prune_cb(evutil_socket_t fd, short what, void *arg)
{
	struct storaged *sd = arg;

	(void)fd;
	(void)what;
	/* A busy queue: the next time. */
	if (!sd->stopping)
		(void)storaged_prune_run(sd, NULL, NULL);
}

static void
storaged_prune_start(struct storaged *sd)
{
	struct timeval tv = { MESSAGE_DUP_WINDOW, 0 };

	sd->ev_prune = event_new(sd->base, -1, EV_PERSIST, storaged_prune_cb,
	    sd);
	if (sd->ev_prune == NULL || event_add(sd->ev_prune, &tv) == -1)
		fatalx("storaged: prune timer");
}

/* Password jobs and mail writes still to finish. */
static size_t
storaged_pending(const struct storaged *sd)
{
	return workq_pending(sd->wq) + workq_pending(sd->rq) +
	    mail_txnq_pending(sd->txnq);
}

static void
storaged_idle_cb(void *arg)
{
	struct storaged *sd = arg;

	if (sd->stopping && storaged_pending(sd) == 0)
		event_base_loopexit(sd->base, NULL);
}

static void
storaged_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct storaged *sd = arg;

	(void)fd;
	(void)what;
	log_warnx("stop grace time over pending=%zu", storaged_pending(sd));
	event_base_loopbreak(sd->base);
}

void
storaged_shutdown(struct storaged *sd, uint32_t grace)
{
	struct timeval tv = { (time_t)grace, 0 };

	if (sd->stopping)
		return;
	sd->stopping = true;
	admin_stop(sd->admin);
	log_info("stopping grace=%u pending=%zu", grace,
	    storaged_pending(sd));
	if (storaged_pending(sd) == 0) {
		event_base_loopexit(sd->base, NULL);
		return;
	}
	workq_set_idle_cb(sd->wq, storaged_idle_cb, sd);
	workq_set_idle_cb(sd->rq, storaged_idle_cb, sd);
	mail_txnq_set_idle_cb(sd->txnq, storaged_idle_cb, sd);
	if ((sd->ev_grace = evtimer_new(sd->base, storaged_grace_cb,
	    sd)) == NULL || evtimer_add(sd->ev_grace, &tv) == -1)
		event_base_loopbreak(sd->base);
}

static void
storaged_exit(struct storaged *sd)
{
	size_t i;

	/*
	 * The writer finishes its queue (nothing is lost: what is not
	 * committed was never acknowledged), before the environment closes.
	 */
	mail_txnq_free(&sd->txnq);
	/* Its threads read LMDB: joined before the environment closes. */
	workq_free(&sd->rq);
	if (workq_pending(sd->wq) > 0) {
		/* Threads still hashing; they never touch LMDB. */
		db_close(&sd->db);
		log_info("stopped with jobs pending=%zu",
		    workq_pending(sd->wq));
		_exit(0);
	}
	workq_free(&sd->wq);
	readpool_free(&sd->rp);
	admin_free(&sd->admin);
	pushq_free(&sd->pushq);
	worker_free_all(sd);
	ipc_chan_free(&sd->master);
	for (i = 0; i < 2; i++)
		event_free(sd->ev_sig[i]);
	if (sd->ev_grace != NULL)
		event_free(sd->ev_grace);
	if (sd->ev_prune != NULL)
		event_free(sd->ev_prune);
	event_base_free(sd->base);
	auth_limiter_free(&sd->limiter);
	db_close(&sd->db);
	sodium_memzero(sd->token_key, sizeof(sd->token_key));
	submit_dkim_clear(&sd->dkim);
	buf_clear(&sd->relay_auth);
	log_info("stopped");
#ifdef BULWARK_SANITIZE
	/* LeakSanitizer needs /proc, which a chroot does not have. */
	if (sd->chrooted)
		_exit(0);
#endif
	exit(0);
}

/* --- Master channel --- */

void
storaged_store_peer(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_STORE_PEER_req *m = msg;
	struct storaged *sd = arg;
	int fd = ipc_chan_take_fd(c);

	(void)f;
	if (fd == -1) {
		log_warnx("store peer without a descriptor");
		return;
	}
	if (sd->stopping) {
		close(fd);
		return;
	}
	worker_chan_new(sd, fd, m->name, m->pid);
}

void
storaged_shutdown_msg(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_SHUTDOWN_req *m = msg;

	(void)c;
	(void)f;
	storaged_shutdown(arg, m->grace);
}

void
storaged_set_trace(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_SET_TRACE_req *m = msg;

	(void)c;
	(void)f;
	(void)arg;
	log_set_verbose((int)m->verbose);
	log_set_trace(m->trace);
}

int
main(int argc, char **argv)
{
	struct storaged *sd = &storaged;
	static struct boot_conf bc;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: storaged (started by bulwarkd)\n");
		return 2;
	}
	TAILQ_INIT(&sd->workers);
	boot_read_config("storaged", &bc, storaged_conf_cb, sd);
	if (!sd->configured)
		fatalx("no storage configuration from the master");
	/* Before the chroot: libsodium may need /dev/urandom. */
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	boot_confine(&bc, SANDBOX_STORE);
	sd->chrooted = bc.drop && bc.chroot[0] != '\0';
	storaged_open_store(sd);
	storaged_loop_init(sd, &bc);
	boot_ready(sd->master);
	log_info("ready datadir=%s threads=%u", sd->conf.datadir,
	    sd->conf.threads);
	event_base_dispatch(sd->base);
	storaged_exit(sd);
	return 0;
}
