/* SPDX-License-Identifier: ISC */
/*
 * worker.c: the process side every network worker shares (worker.h): the
 * event loop, the master channel and its messages, the store channel and
 * its renewal, the listeners shared by all instances of a kind, the
 * connection limit, the TLS context, and the graceful shutdown of DESIGN.md
 * (stop accepting, let sessions finish, exit within the grace period).
 */
#include "worker.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"
#include "tls.h"

#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

/* Seconds the listeners rest after accept(2) failed (say, out of files). */
#define WORKER_ACCEPT_PAUSE	1
/* After a connection, microseconds of rest per session, and most sessions. */
#define WORKER_ACCEPT_YIELD_USEC	1000
#define WORKER_ACCEPT_YIELD_MAX		4

static struct {
	struct boot_conf	*bc;
	const struct worker_def	*def;
	uint32_t		 max_connections;
	SSL_CTX			*tls;
	struct event_base	*base;
	struct ipc_chan		*master;
	struct ipc_chan		*store;
	struct event		*listeners[BOOT_MAX_LISTENERS];
	size_t			 nlisteners;
	struct event		*ev_accept_pause;
	struct event		*ev_grace;
	size_t			 nsessions;
	bool			 shutting_down;
} worker;

struct event_base *
worker_base(void)
{
	return worker.base;
}

SSL_CTX *
worker_tls_ctx(void)
{
	return worker.tls;
}

struct ipc_chan *
worker_store(void)
{
	return worker.store;
}

size_t
worker_sessions(void)
{
	return worker.nsessions;
}

bool
worker_shutting_down(void)
{
	return worker.shutting_down;
}

void
worker_session_add(void)
{
	worker.nsessions++;
}

void
worker_session_remove(void)
{
	worker.nsessions--;
	if (worker.shutting_down && worker.nsessions == 0)
		event_base_loopexit(worker.base, NULL);
}

/* --- TLS --- */

void
worker_conf_tls(const void *msg)
{
	const struct ipc_CONF_TLS_req *m = msg;
	char err[256];

	if (m->cert.len == 0 && m->key.len == 0)
		return;		/* no certificate: no TLS */
	tls_ctx_free(&worker.tls);
	worker.tls = tls_server_ctx_new(m->cert.p, m->cert.len, m->key.p,
	    m->key.len, err, sizeof(err));
	/*
	 * The key was read in place, from the buffer the configuration was
	 * received in, which belongs to this process: wipe it there.
	 */
	sodium_memzero((void *)(uintptr_t)m->key.p, m->key.len);
	if (worker.tls == NULL)
		fatalx("tls: %s", err);
}

void
worker_check_tls(const struct boot_conf *bc, const char *proto)
{
	const struct boot_listener *l;
	size_t i;

	for (i = 0; i < bc->nlisteners; i++) {
		l = &bc->listeners[i];
		if (strcmp(l->proto, proto) == 0 && l->tls &&
		    worker.tls == NULL)
			fatalx("listener %s: TLS without a certificate",
			    l->addr);
	}
}

/* --- Listeners --- */

/* Serves accepted connection fd of listener l, or refuses it. */
static void
worker_serve(int fd, const struct sockaddr *sa, socklen_t salen,
    const struct boot_listener *l)
{
	const char *refuse = worker.def->refuse_line;

	if (worker.shutting_down) {
		close(fd);
		return;
	}
	if (worker.nsessions >= worker.max_connections) {
		/* A TLS client could not read a cleartext refusal. */
		if (!l->tls && refuse != NULL)
			(void)send(fd, refuse, strlen(refuse),
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		log_info("refuse listener=%s reason=too-many-connections "
		    "sessions=%zu", l->addr, worker.nsessions);
		return;
	}
	worker.def->accept(fd, sa, salen, l);
}

static void
worker_listen_enable(bool on)
{
	size_t i;

	for (i = 0; i < worker.nlisteners; i++) {
		if (on)
			event_add(worker.listeners[i], NULL);
		else
			event_del(worker.listeners[i]);
	}
}

static void
worker_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (!worker.shutting_down)
		worker_listen_enable(true);
}

/*
 * One connection per wake-up.  Every instance of a kind waits on the same
 * listening socket; taking one and going back to the loop leaves the rest
 * of a burst to the instances that are idle, instead of one process
 * taking every connection that is queued.  Then, when it has others of
 * its kind, an instance leaves the socket to them for
 * WORKER_ACCEPT_YIELD_USEC per session it has (at most
 * WORKER_ACCEPT_YIELD_MAX of them), so that the next connection goes to
 * one with fewer: without it, the instance that happened to be running
 * when connections came one after the other took all of them (an MTA's
 * four LMTP connections in one lmtpd, the other idle).  Each instance
 * still accepts at least 250 connections a second.
 */
static void
worker_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	const struct boot_listener *l = arg;
	struct timeval tv = { WORKER_ACCEPT_PAUSE, 0 };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	(void)what;
	fd = accept4(lfd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		worker_serve(fd, (struct sockaddr *)&ss, len, l);
		if (worker.bc->instances > 1 && worker.nsessions > 0 &&
		    !worker.shutting_down) {
			tv.tv_sec = 0;
			tv.tv_usec = WORKER_ACCEPT_YIELD_USEC *
			    (long)(worker.nsessions < WORKER_ACCEPT_YIELD_MAX ?
			    worker.nsessions : WORKER_ACCEPT_YIELD_MAX);
			worker_listen_enable(false);
			evtimer_add(worker.ev_accept_pause, &tv);
		}
		return;
	}
	switch (errno) {
	case EAGAIN:		/* another instance was quicker */
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
		return;
	default:
		/* Out of descriptors or memory: rest rather than spin. */
		log_warn("accept on %s", l->addr);
		worker_listen_enable(false);
		evtimer_add(worker.ev_accept_pause, &tv);
	}
}

static void
worker_listen(void)
{
	struct boot_listener *l;
	struct event *ev;
	size_t i;

	for (i = 0; i < worker.bc->nlisteners; i++) {
		l = &worker.bc->listeners[i];
		if (strcmp(l->proto, worker.def->proto) != 0) {
			log_warnx("ignoring %s listener %s", l->proto,
			    l->addr);
			close(l->fd);
			continue;
		}
		/*
		 * Every instance accepts on the same socket: the one that
		 * loses the race must get EAGAIN, not block.
		 */
		if (evutil_make_socket_nonblocking(l->fd) == -1)
			fatal("listener %s: fcntl", l->addr);
		ev = event_new(worker.base, l->fd, EV_READ | EV_PERSIST,
		    worker_accept_cb, l);
		if (ev == NULL || event_add(ev, NULL) == -1)
			fatalx("listener %s: event_new", l->addr);
		worker.listeners[worker.nlisteners++] = ev;
		log_debug("listening on %s tls=%d", l->addr, l->tls ? 1 : 0);
	}
	if (worker.nlisteners == 0)
		log_warnx("no %s listener", worker.def->proto);
	if ((worker.ev_accept_pause = evtimer_new(worker.base,
	    worker_accept_resume_cb, NULL)) == NULL)
		fatalx("evtimer_new");
}

static void
worker_unlisten(void)
{
	size_t i;

	for (i = 0; i < worker.nlisteners; i++) {
		close(event_get_fd(worker.listeners[i]));
		event_free(worker.listeners[i]);
	}
	worker.nlisteners = 0;
}

/* --- The store channel --- */

static void
worker_store_closed_cb(struct ipc_chan *c, const char *why, void *arg)
{
	(void)arg;
	log_info("store unavailable sessions=%zu reason=\"%s\"",
	    worker.nsessions, why);
	if (worker.store == c)
		worker.store = NULL;
	ipc_chan_free(&c);
}

/* A worker that takes no notifications from storaged. */
static const struct ipc_handler worker_store_handlers[] = {
	{ 0, NULL }
};

static struct ipc_chan *
worker_store_open(int fd)
{
	struct ipc_chan_params p = {
		.self = IPC_P_WORKER,
		.peer = IPC_P_STORE,
		.name = worker.bc->name,
		.handlers = worker.def->store_handlers != NULL ?
		    worker.def->store_handlers : worker_store_handlers,
		.close_cb = worker_store_closed_cb,
	};

	return ipc_chan_new(worker.base, fd, &p);
}

/* --- The master channel --- */

static void
worker_store_channel(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct ipc_chan *old = worker.store;
	int fd;

	(void)f;
	(void)msg;
	(void)arg;
	if ((fd = ipc_chan_take_fd(c)) == -1) {
		log_warnx("store channel message without a descriptor");
		return;
	}
	worker.store = worker_store_open(fd);
	log_info("store channel renewed sessions=%zu", worker.nsessions);
	worker.def->store_renewed(worker.store);
	/*
	 * Requests still waiting on the old channel fail now (their callbacks
	 * run with IPC_S_UNAVAIL); what the clients send next goes to the
	 * new channel.
	 */
	ipc_chan_free(&old);
}

static void
worker_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_info("shutdown grace over sessions=%zu", worker.nsessions);
	event_base_loopexit(worker.base, NULL);
}

static void
worker_shutdown(uint32_t grace)
{
	struct timeval tv = { grace, 0 };

	if (worker.shutting_down)
		return;
	worker.shutting_down = true;
	worker_unlisten();
	log_info("shutdown sessions=%zu grace=%u", worker.nsessions, grace);
	worker.def->shutdown();
	if (worker.nsessions == 0) {
		event_base_loopexit(worker.base, NULL);
		return;
	}
	if ((worker.ev_grace = evtimer_new(worker.base, worker_grace_cb,
	    NULL)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(worker.ev_grace, &tv);
}

static void
worker_shutdown_msg(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_SHUTDOWN_req *m = msg;

	(void)c;
	(void)f;
	(void)arg;
	worker_shutdown(m->grace);
}

static void
worker_set_trace(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_SET_TRACE_req *m = msg;

	(void)c;
	(void)f;
	(void)arg;
	log_set_verbose((int)m->verbose);
	log_set_trace(m->trace);
}

static const struct ipc_handler worker_master_handlers[] = {
	{ IPC_T_STORE_CHANNEL,	worker_store_channel },
	{ IPC_T_SHUTDOWN,	worker_shutdown_msg },
	{ IPC_T_SET_TRACE,	worker_set_trace },
	{ 0, NULL }
};

static void
worker_master_closed_cb(struct ipc_chan *c, const char *why, void *arg)
{
	(void)arg;
	log_info("master gone, exiting reason=\"%s\"", why);
	ipc_chan_free(&c);
	worker.master = NULL;
	worker.shutting_down = true;
	event_base_loopexit(worker.base, NULL);
}

/* --- Life cycle --- */

void
worker_start(struct boot_conf *bc, const struct worker_def *def,
    uint32_t max_connections)
{
	worker.bc = bc;
	worker.def = def;
	worker.max_connections = max_connections;
	if ((worker.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	worker.master = boot_master_chan(worker.base, bc,
	    worker_master_handlers, worker_master_closed_cb, NULL);
	worker.store = worker_store_open(BOOT_FD_STORE);
	worker_listen();
	boot_ready(worker.master);
}

void
worker_run(void)
{
	event_base_dispatch(worker.base);
}

void
worker_end(void)
{
	worker_unlisten();
	if (worker.store != NULL)
		ipc_chan_free(&worker.store);
	if (worker.master != NULL)
		ipc_chan_free(&worker.master);
	if (worker.ev_accept_pause != NULL)
		event_free(worker.ev_accept_pause);
	if (worker.ev_grace != NULL)
		event_free(worker.ev_grace);
	worker.ev_accept_pause = worker.ev_grace = NULL;
	tls_ctx_free(&worker.tls);
}
