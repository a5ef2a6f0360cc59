/* SPDX-License-Identifier: ISC */
/*
 * lmtpd.c: the LMTP delivery worker (lmtpd(8)): start-up in the order of
 * lib/boot.h (configuration from the master, TLS context, privilege drop
 * and system call filter), then lib/worker.h's event loop, channels and
 * listeners, the list of sessions, and a graceful shutdown.  Connections
 * are served by lmtp_session.c; the outbound relay of JMAP submissions
 * (CONF_RELAY, RELAY_WAKE) is lmtp_relay.c's, the JMAP push client
 * (CONF_PUSH, PUSH_WAKE) lmtp_push.c's.
 */
#include "lmtpd.h"
#include "lmtp_push.h"
#include "lmtp_relay.h"
#include "lmtp_session.h"
#include "boot.h"
#include "charset.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"

#include <sys/queue.h>

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

/* Defaults for CONF_LMTP values the master leaves at 0. */
#define LMTPD_MAX_MESSAGE	(50u << 20)
#define LMTPD_MAX_RECIPIENTS	1000
#define LMTPD_IDLE_TIMEOUT	300	/* RFC 5321 4.5.3.2.7: 5 minutes */
#define LMTPD_MAX_LINE		4096
#define LMTPD_MAX_CONNECTIONS	1024

/*
 * Allocations of LMTPD_MMAP_THRESHOLD and more get their own mapping,
 * returned to the system when freed, so that a process stays small after
 * an unusually large allocation.  A message is spooled in chunks of 64
 * KiB, whose buffer grows to 128 KiB: below the threshold, so that it
 * comes from the heap and is reused from one message to the next.  An
 * unmapping (or a trim of the heap) flushes the TLB of every CPU the
 * process ran on, which costs more than the delivery's parse: the heap
 * keeps up to LMTPD_TRIM_THRESHOLD free before it is trimmed.
 */
#define LMTPD_MMAP_THRESHOLD	(256 * 1024)
#define LMTPD_TRIM_THRESHOLD	(1024 * 1024)

static struct {
	struct boot_conf	 bc;
	struct lmtpd_conf	 conf;
	TAILQ_HEAD(, lmtp_session) sessions;
} lmtpd;

const struct lmtpd_conf *
lmtpd_conf(void)
{
	return &lmtpd.conf;
}

void
lmtpd_session_add(struct lmtp_session *s)
{
	TAILQ_INSERT_TAIL(&lmtpd.sessions, s, entry);
}

void
lmtpd_session_remove(struct lmtp_session *s)
{
	TAILQ_REMOVE(&lmtpd.sessions, s, entry);
}

/* --- Configuration from the master --- */

static void
lmtpd_conf_lmtp(const void *msg)
{
	const struct ipc_CONF_LMTP_req *m = msg;

	if (m->hostname[0] != '\0')
		strlcpy(lmtpd.conf.hostname, m->hostname,
		    sizeof(lmtpd.conf.hostname));
	if (m->max_message_size != 0)
		lmtpd.conf.max_message_size = m->max_message_size;
	if (m->max_recipients != 0)
		lmtpd.conf.max_recipients = m->max_recipients;
	if (m->idle_timeout != 0)
		lmtpd.conf.idle_timeout = m->idle_timeout;
	if (m->max_line != 0)
		lmtpd.conf.max_line = m->max_line;
	if (m->max_connections != 0)
		lmtpd.conf.max_connections = m->max_connections;
}

static const struct {
	uint16_t	 type;
	void		(*fn)(const void *);
} lmtpd_conf_msgs[] = {
	{ IPC_T_CONF_TLS,	worker_conf_tls },
	{ IPC_T_CONF_LMTP,	lmtpd_conf_lmtp },
	{ IPC_T_CONF_RELAY,	lmtp_relay_conf },
	{ IPC_T_CONF_PUSH,	lmtp_push_conf },
};

static int
lmtpd_conf_cb(uint16_t type, const void *msg, void *arg)
{
	size_t i;

	(void)arg;
	for (i = 0; i < sizeof(lmtpd_conf_msgs) / sizeof(lmtpd_conf_msgs[0]);
	    i++) {
		if (lmtpd_conf_msgs[i].type == type) {
			lmtpd_conf_msgs[i].fn(msg);
			return 0;
		}
	}
	return -1;
}

static void
lmtpd_conf_defaults(void)
{
	if (gethostname(lmtpd.conf.hostname, sizeof(lmtpd.conf.hostname)) ==
	    -1)
		strlcpy(lmtpd.conf.hostname, "localhost",
		    sizeof(lmtpd.conf.hostname));
	lmtpd.conf.hostname[sizeof(lmtpd.conf.hostname) - 1] = '\0';
	lmtpd.conf.max_message_size = LMTPD_MAX_MESSAGE;
	lmtpd.conf.max_recipients = LMTPD_MAX_RECIPIENTS;
	lmtpd.conf.idle_timeout = LMTPD_IDLE_TIMEOUT;
	lmtpd.conf.max_line = LMTPD_MAX_LINE;
	lmtpd.conf.max_connections = LMTPD_MAX_CONNECTIONS;
}

/* What cannot work is refused before the first connection. */
static void
lmtpd_conf_check(void)
{
	worker_check_tls(&lmtpd.bc, "lmtp");
	/* RFC 5321 4.5.3.1.4: a command line may be 512 octets. */
	if (lmtpd.conf.max_line < 512)
		fatalx("max-line %u is too short (at least 512)",
		    lmtpd.conf.max_line);
}

/* --- Callbacks of lib/worker.c --- */

static void
lmtpd_accept(int fd, const struct sockaddr *sa, socklen_t salen,
    const struct boot_listener *l)
{
	/* STARTTLS on TCP only: a Unix socket is as private as it gets. */
	(void)lmtp_session_new(fd, sa, salen, sa->sa_family != AF_UNIX &&
	    !l->tls);
}

static void
lmtpd_store_renewed(struct ipc_chan *store)
{
	struct lmtp_session *s;

	TAILQ_FOREACH(s, &lmtpd.sessions, entry)
		lmtp_session_store_renewed(s, store);
	lmtp_relay_store_renewed(store);
	lmtp_push_store_renewed(store);
}

static void
lmtpd_shutdown(void)
{
	struct lmtp_session *s, *next;

	lmtp_relay_shutdown();
	lmtp_push_shutdown();
	for (s = TAILQ_FIRST(&lmtpd.sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		lmtp_session_shutdown(s);
	}
}

/* What storaged sends unasked: the relay's wake-up call. */
static const struct ipc_handler lmtpd_store_handlers[] = {
	{ IPC_T_RELAY_WAKE,	lmtp_relay_wake },
	{ IPC_T_PUSH_WAKE,	lmtp_push_wake },
	{ 0, NULL }
};

static const struct worker_def lmtpd_worker = {
	.store_handlers = lmtpd_store_handlers,
	.proto = "lmtp",
	.accept = lmtpd_accept,
	.store_renewed = lmtpd_store_renewed,
	.shutdown = lmtpd_shutdown,
	.refuse_line = "421 4.3.2 Too many connections, try again later\r\n",
};

int
main(int argc, char **argv)
{
	struct lmtp_session *s;

	(void)argc;
	(void)argv;
	if (sodium_init() == -1)
		fatalx("sodium_init");
	(void)mallopt(M_MMAP_THRESHOLD, LMTPD_MMAP_THRESHOLD);
	(void)mallopt(M_TRIM_THRESHOLD, LMTPD_TRIM_THRESHOLD);
	TAILQ_INIT(&lmtpd.sessions);
	lmtpd_conf_defaults();
	boot_read_config("lmtpd", &lmtpd.bc, lmtpd_conf_cb, NULL);
	lmtpd_conf_check();
	/* Messages are parsed here: iconv cannot load modules once confined. */
	charset_init();
	/* JMAP push: CAs and name servers are read while they can be. */
	lmtp_push_preconfine();
	boot_confine(&lmtpd.bc, SANDBOX_OUTBOUND);
	worker_start(&lmtpd.bc, &lmtpd_worker, lmtpd.conf.max_connections);
	lmtp_relay_start();
	lmtp_push_start();
	worker_run();

	/* Whoever is left after the grace period is cut off. */
	while ((s = TAILQ_FIRST(&lmtpd.sessions)) != NULL) {
		conn_set_reason(s->conn, "shutdown");
		lmtp_session_free(&s);
	}
	lmtp_relay_end();
	lmtp_push_end();
	worker_end();
	return 0;
}
