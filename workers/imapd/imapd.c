/* SPDX-License-Identifier: ISC */
/*
 * imapd.c: the IMAP worker process (imapd(8)): start-up in the order of
 * lib/boot.h (configuration from the master, TLS context, privilege drop and
 * system call filter), then lib/worker.h's event loop, master and store
 * channels, listeners and graceful shutdown, and the list of sessions.
 * Connections themselves are served by imap_session.c.
 */
#include "imapd.h"
#include "imap_cmd.h"
#include "imap_cmd_notify.h"
#include "imap_session.h"
#include "boot.h"
#include "charset.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

/* Defaults for CONF_IMAP values the master leaves at 0. */
#define IMAPD_IDLE_TIMEOUT	1800	/* RFC 9051 5.4: at least 30 min */
#define IMAPD_MAX_LINE		65536
#define IMAPD_MAX_CONNECTIONS	1024

static struct {
	struct boot_conf	 bc;
	struct imapd_conf	 conf;
	TAILQ_HEAD(, imap_session) sessions;
} imapd;

const struct imapd_conf *
imapd_conf(void)
{
	return &imapd.conf;
}

SSL_CTX *
imapd_tls_ctx(void)
{
	return worker_tls_ctx();
}

struct ipc_chan *
imapd_store(void)
{
	return worker_store();
}

void
imapd_session_add(struct imap_session *s)
{
	TAILQ_INSERT_TAIL(&imapd.sessions, s, entry);
}

void
imapd_session_remove(struct imap_session *s)
{
	TAILQ_REMOVE(&imapd.sessions, s, entry);
}

/* --- Configuration from the master --- */

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
	/* 0 is "no limit" here: the master always sends these. */
	imapd.conf.max_per_remote = m->max_per_remote;
	imapd.conf.max_per_user = m->max_per_user;
}

static const struct {
	uint16_t	 type;
	void		(*fn)(const void *);
} imapd_conf_msgs[] = {
	{ IPC_T_CONF_TLS,	worker_conf_tls },
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
	worker_check_tls(&imapd.bc, "imap");
	if (imapd.conf.max_line < 1024)
		fatalx("max-line %u is too short (at least 1024)",
		    imapd.conf.max_line);
}

/* --- Callbacks of lib/worker.c --- */

static void
imapd_accept(int fd, const struct sockaddr *sa, socklen_t salen,
    const struct boot_listener *l)
{
	(void)imap_session_new(fd, sa, salen, l->tls);
}

static void
imapd_store_renewed(struct ipc_chan *store)
{
	struct imap_session *s;

	/*
	 * Requests still waiting on the old channel fail once worker.c frees
	 * it: their commands answer NO [UNAVAILABLE], and what the clients
	 * send next goes to the new channel.
	 */
	TAILQ_FOREACH(s, &imapd.sessions, entry)
		imap_session_store_renewed(s, store);
}

static void
imapd_shutdown(void)
{
	struct imap_session *s, *next;

	for (s = TAILQ_FIRST(&imapd.sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		imap_session_shutdown(s);
	}
}

/* The session a frame from storaged is for, or NULL (it has gone). */
static struct imap_session *
imapd_session_of(const struct ipc_frame *f)
{
	struct imap_session *s;

	TAILQ_FOREACH(s, &imapd.sessions, entry)
		if (conn_id(s->conn) == f->session)
			return s;
	return NULL;
}

/* storaged: a mailbox a session selected changed. */
static void
imapd_mbox_changed(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_MBOX_CHANGED_req *m = msg;
	struct imap_session *s;

	(void)c;
	(void)arg;
	if ((s = imapd_session_of(f)) != NULL)
		imap_selected_changed(s, m->mailbox_id, m->modseq);
}

/* storaged: NOTIFY events (imap_cmd_notify.h). */
static void
imapd_account_changed(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_ACCOUNT_CHANGED_req *m = msg;
	struct imap_session *s;

	(void)c;
	(void)arg;
	if ((s = imapd_session_of(f)) != NULL)
		imap_notify_account_changed(s, m->mailbox_id);
}

static void
imapd_mbox_list_changed(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct imap_session *s;

	(void)c;
	(void)arg;
	if ((s = imapd_session_of(f)) != NULL)
		imap_notify_list_changed(s, msg);
}

static const struct ipc_handler imapd_store_handlers[] = {
	{ IPC_T_MBOX_CHANGED,	imapd_mbox_changed },
	{ IPC_T_ACCOUNT_CHANGED, imapd_account_changed },
	{ IPC_T_MBOX_LIST_CHANGED, imapd_mbox_list_changed },
	{ 0, NULL }
};

static const struct worker_def imapd_worker = {
	.store_handlers = imapd_store_handlers,
	.proto = "imap",
	.accept = imapd_accept,
	.store_renewed = imapd_store_renewed,
	.shutdown = imapd_shutdown,
	.refuse_line = "* BYE Too many connections\r\n",
};

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
	/* APPEND parses messages: iconv's modules load before the sandbox. */
	charset_init();
	boot_confine(&imapd.bc, SANDBOX_NETWORK);
	worker_start(&imapd.bc, &imapd_worker, imapd.conf.max_connections);
	worker_run();

	/* Whoever is left after the grace period is cut off. */
	while ((s = TAILQ_FIRST(&imapd.sessions)) != NULL) {
		conn_set_reason(s->conn, "shutdown");
		imap_session_free(&s);
	}
	worker_end();
	return 0;
}
