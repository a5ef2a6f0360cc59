/* SPDX-License-Identifier: ISC */
/*
 * imapd.c: the IMAP worker process (imapd(8)): start-up in the order of
 * lib/boot.h (configuration from the master, TLS context, privilege drop and
 * system call filter, event loop), the master and store channels, the
 * listeners, the list of sessions, and a graceful shutdown.  Connections
 * themselves are served by imap_session.c.
 */
#include "imapd.h"
#include "imap_session.h"
#include "boot.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"
#include "tls.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <sodium.h>

/* Defaults for CONF_IMAP values the master leaves at 0. */
#define IMAPD_IDLE_TIMEOUT	1800	/* RFC 9051 5.4: at least 30 min */
#define IMAPD_MAX_LINE		65536
#define IMAPD_MAX_CONNECTIONS	1024

/* Seconds a listener rests after accept(2) failed (say, out of files). */
#define IMAPD_ACCEPT_PAUSE	1

static struct {
	struct boot_conf	 bc;
	struct imapd_conf	 conf;
	SSL_CTX			*tls;
	struct event_base	*base;
	struct ipc_chan		*master;
	struct ipc_chan		*store;
	struct evconnlistener	*listeners[BOOT_MAX_LISTENERS];
	size_t			 nlisteners;
	struct event		*ev_accept_pause;
	TAILQ_HEAD(, imap_session) sessions;
	size_t			 nsessions;
	bool			 shutting_down;
	struct event		*ev_grace;
} imapd;

const struct imapd_conf *
imapd_conf(void)
{
	return &imapd.conf;
}

struct event_base *
imapd_base(void)
{
	return imapd.base;
}

SSL_CTX *
imapd_tls_ctx(void)
{
	return imapd.tls;
}

struct ipc_chan *
imapd_store(void)
{
	return imapd.store;
}

void
imapd_session_add(struct imap_session *s)
{
	TAILQ_INSERT_TAIL(&imapd.sessions, s, entry);
	imapd.nsessions++;
}

void
imapd_session_remove(struct imap_session *s)
{
	TAILQ_REMOVE(&imapd.sessions, s, entry);
	imapd.nsessions--;
	if (imapd.shutting_down && imapd.nsessions == 0)
		event_base_loopexit(imapd.base, NULL);
}

/* --- Configuration from the master --- */

static void
imapd_conf_tls(const void *msg)
{
	const struct ipc_CONF_TLS_req *m = msg;
	char err[256];

	if (m->cert.len == 0 && m->key.len == 0)
		return;		/* no certificate: no TLS */
	tls_ctx_free(&imapd.tls);
	imapd.tls = tls_server_ctx_new(m->cert.p, m->cert.len, m->key.p,
	    m->key.len, err, sizeof(err));
	/*
	 * The key was read in place, from the buffer the configuration was
	 * received in, which belongs to this process: wipe it there.
	 */
	sodium_memzero((void *)m->key.p, m->key.len);
	if (imapd.tls == NULL)
		fatalx("tls: %s", err);
}

static void
imapd_conf_imap(const void *msg)
{
	const struct ipc_CONF_IMAP_req *m = msg;

	if (m->hostname[0] != '\0')
		strlcpy(imapd.conf.hostname, m->hostname,
		    sizeof(imapd.conf.hostname));
	imapd.conf.cleartext_auth = m->cleartext_auth;
	if (m->idle_timeout != 0)
		imapd.conf.idle_timeout = m->idle_timeout;
	if (m->max_line != 0)
		imapd.conf.max_line = m->max_line;
	if (m->max_connections != 0)
		imapd.conf.max_connections = m->max_connections;
}

static const struct {
	uint16_t	 type;
	void		(*fn)(const void *);
} imapd_conf_msgs[] = {
	{ IPC_T_CONF_TLS,	imapd_conf_tls },
	{ IPC_T_CONF_IMAP,	imapd_conf_imap },
};

static int
imapd_conf_cb(uint16_t type, const void *msg, void *arg)
{
	size_t i;

	(void)arg;
	for (i = 0; i < sizeof(imapd_conf_msgs) / sizeof(imapd_conf_msgs[0]);
	    i++) {
		if (imapd_conf_msgs[i].type == type) {
			imapd_conf_msgs[i].fn(msg);
			return 0;
		}
	}
	return -1;
}

static void
imapd_conf_defaults(void)
{
	if (gethostname(imapd.conf.hostname, sizeof(imapd.conf.hostname)) ==
	    -1)
		strlcpy(imapd.conf.hostname, "localhost",
		    sizeof(imapd.conf.hostname));
	imapd.conf.hostname[sizeof(imapd.conf.hostname) - 1] = '\0';
	imapd.conf.idle_timeout = IMAPD_IDLE_TIMEOUT;
	imapd.conf.max_line = IMAPD_MAX_LINE;
	imapd.conf.max_connections = IMAPD_MAX_CONNECTIONS;
}

/* What cannot work is refused before the first connection. */
static void
imapd_conf_check(void)
{
	const struct boot_listener *l;
	size_t i;

	for (i = 0; i < imapd.bc.nlisteners; i++) {
		l = &imapd.bc.listeners[i];
		if (strcmp(l->proto, "imap") == 0 && l->tls &&
		    imapd.tls == NULL)
			fatalx("listener %s: TLS without a certificate",
			    l->addr);
	}
	if (imapd.conf.max_line < 1024)
		fatalx("max-line %u is too short (at least 1024)",
		    imapd.conf.max_line);
}

/* --- Listeners --- */

static void
imapd_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	static const char bye[] = "* BYE Too many connections\r\n";
	const struct boot_listener *l = arg;

	(void)lev;
	if (imapd.shutting_down) {
		close(fd);
		return;
	}
	if (imapd.nsessions >= imapd.conf.max_connections) {
		/* A TLS client could not read a cleartext BYE. */
		if (!l->tls)
			(void)send(fd, bye, sizeof(bye) - 1,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		log_info("refuse listener=%s reason=too-many-connections "
		    "sessions=%zu", l->addr, imapd.nsessions);
		return;
	}
	(void)imap_session_new(fd, sa, (socklen_t)salen, l->tls);
}

static void
imapd_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	size_t i;

	(void)fd;
	(void)what;
	(void)arg;
	if (imapd.shutting_down)
		return;
	for (i = 0; i < imapd.nlisteners; i++)
		evconnlistener_enable(imapd.listeners[i]);
}

static void
imapd_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	const struct boot_listener *l = arg;
	struct timeval tv = { IMAPD_ACCEPT_PAUSE, 0 };
	size_t i;

	(void)lev;
	log_warn("accept on %s", l->addr);
	for (i = 0; i < imapd.nlisteners; i++)
		evconnlistener_disable(imapd.listeners[i]);
	evtimer_add(imapd.ev_accept_pause, &tv);
}

static void
imapd_listen(void)
{
	struct boot_listener *l;
	struct evconnlistener *lev;
	size_t i;

	for (i = 0; i < imapd.bc.nlisteners; i++) {
		l = &imapd.bc.listeners[i];
		if (strcmp(l->proto, "imap") != 0) {
			log_warnx("ignoring %s listener %s", l->proto,
			    l->addr);
			close(l->fd);
			continue;
		}
		/*
		 * Every imapd accepts on the same socket: the one that loses
		 * the race must get EAGAIN, not block.
		 */
		if (evutil_make_socket_nonblocking(l->fd) == -1)
			fatal("listener %s: fcntl", l->addr);
		/* Backlog 0: the master has called listen(2) already. */
		lev = evconnlistener_new(imapd.base, imapd_accept_cb, l,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, l->fd);
		if (lev == NULL)
			fatalx("listener %s: evconnlistener_new", l->addr);
		evconnlistener_set_error_cb(lev, imapd_accept_error_cb);
		imapd.listeners[imapd.nlisteners++] = lev;
		log_debug("listening on %s tls=%d", l->addr, l->tls ? 1 : 0);
	}
	if (imapd.nlisteners == 0)
		log_warnx("no imap listener");
	if ((imapd.ev_accept_pause = evtimer_new(imapd.base,
	    imapd_accept_resume_cb, NULL)) == NULL)
		fatalx("evtimer_new");
}

static void
imapd_unlisten(void)
{
	size_t i;

	for (i = 0; i < imapd.nlisteners; i++)
		evconnlistener_free(imapd.listeners[i]);
	imapd.nlisteners = 0;
}

/* --- The store channel --- */

static void
imapd_store_closed_cb(struct ipc_chan *c, const char *why, void *arg)
{
	(void)arg;
	log_info("store unavailable sessions=%zu reason=\"%s\"",
	    imapd.nsessions, why);
	if (imapd.store == c)
		imapd.store = NULL;
	ipc_chan_free(&c);
}

/* Nothing comes from storaged unasked yet (notifications will). */
static const struct ipc_handler imapd_store_handlers[] = {
	{ 0, NULL }
};

static struct ipc_chan *
imapd_store_open(int fd)
{
	struct ipc_chan_params p = {
		.self = IPC_P_WORKER,
		.peer = IPC_P_STORE,
		.name = imapd.bc.name,
		.handlers = imapd_store_handlers,
		.close_cb = imapd_store_closed_cb,
	};

	return ipc_chan_new(imapd.base, fd, &p);
}

/* --- The master channel --- */

static void
imapd_store_channel(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct ipc_chan *old = imapd.store;
	struct imap_session *s;
	int fd;

	(void)f;
	(void)msg;
	(void)arg;
	if ((fd = ipc_chan_take_fd(c)) == -1) {
		log_warnx("store channel message without a descriptor");
		return;
	}
	imapd.store = imapd_store_open(fd);
	log_info("store channel renewed sessions=%zu", imapd.nsessions);
	TAILQ_FOREACH(s, &imapd.sessions, entry)
		imap_session_store_renewed(s, imapd.store);
	/*
	 * Requests still waiting on the old channel fail now: their commands
	 * answer NO [UNAVAILABLE], and what the clients send next goes to
	 * the new channel.
	 */
	ipc_chan_free(&old);
}

static void
imapd_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_info("shutdown grace over sessions=%zu", imapd.nsessions);
	event_base_loopexit(imapd.base, NULL);
}

static void
imapd_shutdown(uint32_t grace)
{
	struct imap_session *s, *next;
	struct timeval tv = { grace, 0 };

	if (imapd.shutting_down)
		return;
	imapd.shutting_down = true;
	imapd_unlisten();
	log_info("shutdown sessions=%zu grace=%u", imapd.nsessions, grace);
	for (s = TAILQ_FIRST(&imapd.sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		imap_session_shutdown(s);
	}
	if (imapd.nsessions == 0) {
		event_base_loopexit(imapd.base, NULL);
		return;
	}
	if ((imapd.ev_grace = evtimer_new(imapd.base, imapd_grace_cb,
	    NULL)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(imapd.ev_grace, &tv);
}

static void
imapd_shutdown_msg(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_SHUTDOWN_req *m = msg;

	(void)c;
	(void)f;
	(void)arg;
	imapd_shutdown(m->grace);
}

static void
imapd_set_trace(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_SET_TRACE_req *m = msg;

	(void)c;
	(void)f;
	(void)arg;
	log_set_verbose((int)m->verbose);
	log_set_trace(m->trace);
}

static const struct ipc_handler imapd_master_handlers[] = {
	{ IPC_T_STORE_CHANNEL,	imapd_store_channel },
	{ IPC_T_SHUTDOWN,	imapd_shutdown_msg },
	{ IPC_T_SET_TRACE,	imapd_set_trace },
	{ 0, NULL }
};

static void
imapd_master_closed_cb(struct ipc_chan *c, const char *why, void *arg)
{
	(void)arg;
	log_info("master gone, exiting reason=\"%s\"", why);
	ipc_chan_free(&c);
	imapd.master = NULL;
	imapd.shutting_down = true;
	event_base_loopexit(imapd.base, NULL);
}

int
main(int argc, char **argv)
{
	struct imap_session *s;

	(void)argc;
	(void)argv;
	if (sodium_init() == -1)
		fatalx("sodium_init");
	TAILQ_INIT(&imapd.sessions);
	imapd_conf_defaults();
	boot_read_config("imapd", &imapd.bc, imapd_conf_cb, NULL);
	imapd_conf_check();
	boot_confine(&imapd.bc, SANDBOX_NETWORK);
	if ((imapd.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	imapd.master = boot_master_chan(imapd.base, &imapd.bc,
	    imapd_master_handlers, imapd_master_closed_cb, NULL);
	imapd.store = imapd_store_open(BOOT_FD_STORE);
	imapd_listen();
	boot_ready(imapd.master);
	event_base_dispatch(imapd.base);

	/* Whoever is left after the grace period is cut off. */
	while ((s = TAILQ_FIRST(&imapd.sessions)) != NULL) {
		if (s->close_reason == NULL)
			s->close_reason = "shutdown";
		imap_session_free(&s);
	}
	imapd_unlisten();
	if (imapd.store != NULL)
		ipc_chan_free(&imapd.store);
	if (imapd.master != NULL)
		ipc_chan_free(&imapd.master);
	tls_ctx_free(&imapd.tls);
	return 0;
}
