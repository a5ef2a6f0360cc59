/* SPDX-License-Identifier: ISC */
/*
 * jmapd.c: the JMAP worker (jmapd(8)): start-up in the order of
 * lib/boot.h (configuration from the master, TLS context, privilege drop
 * and system call filter), then lib/worker.h's event loop, channels and
 * listeners, the list of sessions, and a graceful shutdown.  Connections
 * are served by http_session.c, JMAP requests by jmap_api.c.
 */
#include "jmapd.h"
#include "http_session.h"
#include "boot.h"
#include "charset.h"
#include "compat.h"
#include "conn.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

/* Defaults for CONF_JMAP values the master leaves at 0. */
#define JMAPD_IDLE_TIMEOUT	300
#define JMAPD_MAX_LINE		(8 * 1024)
#define JMAPD_MAX_CONNECTIONS	1024

/*
 * RFC 8620 2, the core capability's limits.  They are fixed for now; the
 * session resource tells clients what they are.
 */
#define JMAPD_MAX_SIZE_REQUEST		(10u << 20)
#define JMAPD_MAX_CALLS_IN_REQUEST	64
#define JMAPD_MAX_CONCURRENT_REQUESTS	8
#define JMAPD_MAX_OBJECTS_IN_GET	1000
#define JMAPD_MAX_OBJECTS_IN_SET	1000
#define JMAPD_MAX_SIZE_UPLOAD		(50u << 20)
#define JMAPD_MAX_CONCURRENT_UPLOAD	4

static struct {
	struct boot_conf	 bc;
	struct jmapd_conf	 conf;
	TAILQ_HEAD(, http_session) sessions;
} jmapd;

const struct jmapd_conf *
jmapd_conf(void)
{
	return &jmapd.conf;
}

void
jmapd_session_add(struct http_session *s)
{
	TAILQ_INSERT_TAIL(&jmapd.sessions, s, entry);
}

void
jmapd_session_remove(struct http_session *s)
{
	TAILQ_REMOVE(&jmapd.sessions, s, entry);
}

unsigned int
jmapd_uploads_running(uint64_t account_id)
{
	struct http_session *s;
	unsigned int n = 0;

	TAILQ_FOREACH(s, &jmapd.sessions, entry)
		if (s->account_id == account_id && s->uploading)
			n++;
	return n;
}

unsigned int
jmapd_requests_running(uint64_t account_id)
{
	struct http_session *s;
	unsigned int n = 0;

	TAILQ_FOREACH(s, &jmapd.sessions, entry)
		if (s->account_id == account_id && s->jreq != NULL)
			n++;
	return n;
}

/* --- Configuration from the master --- */

static void
jmapd_conf_jmap(const void *msg)
{
	const struct ipc_CONF_JMAP_req *m = msg;

	if (m->hostname[0] != '\0')
		strlcpy(jmapd.conf.hostname, m->hostname,
		    sizeof(jmapd.conf.hostname));
	jmapd.conf.cleartext_auth = m->cleartext_auth;
	if (m->idle_timeout != 0)
		jmapd.conf.idle_timeout = m->idle_timeout;
	if (m->max_line != 0)
		jmapd.conf.max_line = m->max_line;
	if (m->max_connections != 0)
		jmapd.conf.max_connections = m->max_connections;
	if (strlcpy(jmapd.conf.cors_origins, m->cors_origins,
	    sizeof(jmapd.conf.cors_origins)) >=
	    sizeof(jmapd.conf.cors_origins))
		fatalx("cors-origins is longer than %zu bytes",
		    sizeof(jmapd.conf.cors_origins) - 1);
}

static const struct {
	uint16_t	 type;
	void		(*fn)(const void *);
} jmapd_conf_msgs[] = {
	{ IPC_T_CONF_TLS,	worker_conf_tls },
	{ IPC_T_CONF_JMAP,	jmapd_conf_jmap },
};

static int
jmapd_conf_cb(uint16_t type, const void *msg, void *arg)
{
	size_t i;

	(void)arg;
	for (i = 0; i < sizeof(jmapd_conf_msgs) / sizeof(jmapd_conf_msgs[0]);
	    i++) {
		if (jmapd_conf_msgs[i].type == type) {
			jmapd_conf_msgs[i].fn(msg);
			return 0;
		}
	}
	return -1;
}

static void
jmapd_conf_defaults(void)
{
	struct jmapd_conf *c = &jmapd.conf;

	if (gethostname(c->hostname, sizeof(c->hostname)) == -1)
		strlcpy(c->hostname, "localhost", sizeof(c->hostname));
	c->hostname[sizeof(c->hostname) - 1] = '\0';
	c->idle_timeout = JMAPD_IDLE_TIMEOUT;
	c->max_line = JMAPD_MAX_LINE;
	c->max_connections = JMAPD_MAX_CONNECTIONS;
	c->max_size_request = JMAPD_MAX_SIZE_REQUEST;
	c->max_calls_in_request = JMAPD_MAX_CALLS_IN_REQUEST;
	c->max_concurrent_requests = JMAPD_MAX_CONCURRENT_REQUESTS;
	c->max_objects_in_get = JMAPD_MAX_OBJECTS_IN_GET;
	c->max_objects_in_set = JMAPD_MAX_OBJECTS_IN_SET;
	c->max_size_upload = JMAPD_MAX_SIZE_UPLOAD;
	c->max_concurrent_upload = JMAPD_MAX_CONCURRENT_UPLOAD;
}

/* --- Callbacks of lib/worker.c --- */

static void
jmapd_accept(int fd, const struct sockaddr *sa, socklen_t salen,
    const struct boot_listener *l)
{
	(void)http_session_new(fd, sa, salen, l->tls);
}

static void
jmapd_store_renewed(struct ipc_chan *store)
{
	struct http_session *s;

	TAILQ_FOREACH(s, &jmapd.sessions, entry)
		http_session_store_renewed(s, store);
}

/* --- Notifications from storaged (JMAP push, http_push.h) --- */

static struct http_session *
jmapd_session_of(const struct ipc_frame *f)
{
	struct http_session *s;

	TAILQ_FOREACH(s, &jmapd.sessions, entry)
		if (conn_id(s->conn) == f->session)
			return s;
	return NULL;
}

static void
jmapd_account_changed(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_ACCOUNT_CHANGED_req *m = msg;
	struct http_session *s;

	(void)c;
	(void)arg;
	if ((s = jmapd_session_of(f)) != NULL)
		http_push_changed(s, m->modseq);
}

static void
jmapd_mbox_list_changed(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct http_session *s;

	(void)c;
	(void)msg;
	(void)arg;
	if ((s = jmapd_session_of(f)) != NULL)
		http_push_names(s);
}

static void
jmapd_account_delivered(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_ACCOUNT_DELIVERED_req *m = msg;
	struct http_session *s;

	(void)c;
	(void)arg;
	if ((s = jmapd_session_of(f)) != NULL)
		http_push_delivered(s, m->modseq);
}

static void
jmapd_account_types(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_ACCOUNT_TYPES_CHANGED_req *m = msg;
	struct http_session *s;

	(void)c;
	(void)arg;
	if ((s = jmapd_session_of(f)) != NULL)
		http_push_types(s, m->types);
}

static const struct ipc_handler jmapd_store_handlers[] = {
	{ IPC_T_ACCOUNT_CHANGED, jmapd_account_changed },
	{ IPC_T_ACCOUNT_TYPES_CHANGED, jmapd_account_types },
	{ IPC_T_ACCOUNT_DELIVERED, jmapd_account_delivered },
	{ IPC_T_MBOX_LIST_CHANGED, jmapd_mbox_list_changed },
	{ 0, NULL }
};

static void
jmapd_shutdown(void)
{
	struct http_session *s, *next;

	for (s = TAILQ_FIRST(&jmapd.sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		http_session_shutdown(s);
	}
}

static const struct worker_def jmapd_worker = {
	.store_handlers = jmapd_store_handlers,
	.proto = "http",
	.accept = jmapd_accept,
	.store_renewed = jmapd_store_renewed,
	.shutdown = jmapd_shutdown,
	.refuse_line = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Connection: close\r\nContent-Length: 0\r\nRetry-After: 5\r\n\r\n",
};

int
main(int argc, char **argv)
{
	struct http_session *s;

	(void)argc;
	(void)argv;
	if (sodium_init() == -1)
		fatalx("sodium_init");
	TAILQ_INIT(&jmapd.sessions);
	jmapd_conf_defaults();
	boot_read_config("jmapd", &jmapd.bc, jmapd_conf_cb, NULL);
	worker_check_tls(&jmapd.bc, "http");
	/* iconv loads its converters from files: before the sandbox. */
	charset_init();
	boot_confine(&jmapd.bc, SANDBOX_NETWORK);
	worker_start(&jmapd.bc, &jmapd_worker, jmapd.conf.max_connections);
	worker_run();

	/* Whoever is left after the grace period is cut off. */
	while ((s = TAILQ_FIRST(&jmapd.sessions)) != NULL)
		http_session_free(&s);
	worker_end();
	return 0;
}
