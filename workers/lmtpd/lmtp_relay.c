/* SPDX-License-Identifier: ISC */
/*
 * lmtp_relay.c: the SMTP client that sends queued JMAP submissions to the
 * smarthost (lmtp_relay.h).  One submission at a time: RELAY_TAKE, then
 * the SMTP transaction of RFC 5321 3.3 on a non-blocking socket (greeting,
 * EHLO 4.1.1.1, STARTTLS of RFC 3207 and EHLO again, MAIL, one RCPT at a
 * time without pipelining, DATA with the message dot-stuffed as 4.5.2
 * says, QUIT), each step bounded by the timeouts of 4.5.3.2, then
 * RELAY_DONE with every recipient's reply.
 *
 * The system call filter lets this process create TCP sockets and connect
 * them (lib/sandbox_linux.c); the master resolves the smarthost's name.
 */
#include "lmtp_relay.h"
#include "buf.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"
#include "tls.h"
#include "wire.h"
#include "worker.h"
#include "xmalloc.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* RFC 5321 4.5.3.2: each step's time limit, in seconds. */
#define RELAY_T_CONNECT		30
#define RELAY_T_GREETING	120	/* 4.5.3.2.1 says 5 min; ours is near */
#define RELAY_T_REPLY		300	/* MAIL, RCPT, and the others */
#define RELAY_T_DATA		120	/* 4.5.3.2.4: the 354 */
#define RELAY_T_BLOCK		180	/* 4.5.3.2.5: each block sent */
#define RELAY_T_FINAL		600	/* 4.5.3.2.6: after the final dot */
#define RELAY_T_QUIT		10	/* nothing depends on it any more */

#define RELAY_LINE_MAX		4096	/* 4.5.3.1.5 says 512; be lenient */
#define RELAY_REPLY_LINES	64	/* of one reply (EHLO's are long) */
#define RELAY_REPLY_KEEP	512	/* bytes of a reply kept for JMAP */
#define RELAY_HEADER_MAX	(256 * 1024)	/* Bcc searched within */
#define RELAY_CHUNK		(64 * 1024)
#define RELAY_ATTEMPTS		64	/* submissions with tries counted */

/* The recipients' outcomes, as RELAY_DONE and SUBMIT_LIST carry them. */
#define RELAY_QUEUED		0
#define RELAY_DELIVERED		1
#define RELAY_FAILED		2

enum relay_state {
	RELAY_IDLE,		/* nothing asked, nothing held */
	RELAY_TAKING,		/* RELAY_TAKE sent */
	RELAY_CONNECT,
	RELAY_GREETING,
	RELAY_EHLO,
	RELAY_HELO,
	RELAY_STARTTLS,
	RELAY_HANDSHAKE,
	RELAY_EHLO_TLS,
	RELAY_MAIL,
	RELAY_RCPT,
	RELAY_DATA,
	RELAY_BODY,		/* sending the message */
	RELAY_DOT,		/* waiting for the final reply */
	RELAY_QUIT,
	RELAY_REPORTING		/* RELAY_DONE sent, or waiting to be */
};

/* For the log: where a transaction failed. */
static const char *const relay_state_names[] = {
	"idle", "taking", "connect", "greeting", "ehlo", "helo", "starttls",
	"handshake", "ehlo-tls", "mail", "rcpt", "data", "body", "dot", "quit",
	"reporting",
};

struct relay_rcpt {
	char		*addr;
	int		 code;		/* RCPT's reply code, 0 before it */
	char		*reply;		/* the reply that decided, or NULL */
	uint64_t	 delivered;
};

struct relay_job {
	uint64_t	 account_id, id, size;
	char		*mail_from, *params;
	struct relay_rcpt *rcpts;
	size_t		 nrcpts, next;	/* next RCPT to send */
	int		 fd;		/* the message, a memfd */
	uint64_t	 off;		/* bytes of it sent */
	bool		 bol, ends_crlf;
	uint8_t		 last;		/* the byte before off */
	bool		 settled;	/* the outcome is known */
	unsigned	 attempt;
	time_t		 started;
};

static struct {
	struct ipc_CONF_RELAY_req conf;	/* strings point into the copies */
	char		 host[256], address[64], helo[256];
	struct sockaddr_storage sa;
	socklen_t	 salen;
	SSL_CTX		*tls_ctx;
	bool		 on, stopping, again;
	enum relay_state state;
	struct event	*poll_ev, *step_ev;
	struct bufferevent *bev;
	uint64_t	 gen;		/* changes with bev */
	int		 sock;		/* while bev is a plain socket's */
	bool		 tls_on, ext_starttls;
	struct buf	 reply;		/* the reply being read */
	int		 reply_code;
	size_t		 reply_lines;
	struct relay_job *job;
	uint32_t	 req_id;
	struct {
		uint64_t account_id, id;
		unsigned attempts;
	} tries[RELAY_ATTEMPTS];
	size_t		 tries_next;
} relay = { .sock = -1 };

static void relay_take(void);
static void relay_step_cb(int fd, short ev, void *arg);
static void relay_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void relay_send(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* --- Pure helpers --- */

void
lmtp_relay_dotstuff(struct buf *out, const uint8_t *p, size_t len, bool *bol)
{
	const uint8_t *nl;
	size_t n;

	while (len > 0) {
		if (*bol && p[0] == '.')
			buf_append(out, ".", 1);
		if ((nl = memchr(p, '\n', len)) == NULL) {
			buf_append(out, p, len);
			*bol = false;
			return;
		}
		n = (size_t)(nl - p) + 1;
		buf_append(out, p, n);
		*bol = true;
		p += n;
		len -= n;
	}
}

int
lmtp_relay_reply_line(const char *line, size_t len, bool *more)
{
	int code;

	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '5' || line[2] < '0' || line[2] > '9')
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + line[2] - '0';
	if (len == 3) {
		*more = false;
		return code;
	}
	if (line[3] != ' ' && line[3] != '-')
		return -1;
	*more = line[3] == '-';
	return code;
}

uint64_t
lmtp_relay_backoff(unsigned attempt)
{
	static const uint64_t delays[] = {
		5 * 60, 30 * 60, 2 * 3600, 4 * 3600, 8 * 3600,
	};
	size_t n = sizeof(delays) / sizeof(delays[0]);

	if (attempt == 0)
		attempt = 1;
	return delays[attempt - 1 < n ? attempt - 1 : n - 1];
}

/* --- Configuration --- */

static void
relay_tls_init(void)
{
	const char *file = X509_get_default_cert_file();
	char err[256];

	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_LOAD_CONFIG, NULL);
	if ((relay.tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(relay.tls_ctx, TLS1_2_VERSION) != 1)
		fatalx("relay: SSL_CTX_new failed");
	SSL_CTX_set_options(relay.tls_ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	if (relay.conf.tls != 2) {
		/* RFC 3207 4.1: opportunistic STARTTLS does not verify. */
		SSL_CTX_set_verify(relay.tls_ctx, SSL_VERIFY_NONE, NULL);
		return;
	}
	SSL_CTX_set_verify(relay.tls_ctx, SSL_VERIFY_PEER, NULL);
	/*
	 * The whole bundle now: a hashed directory would be read at each
	 * verification, from a chroot that has no /etc/ssl.
	 */
	if (SSL_CTX_load_verify_locations(relay.tls_ctx, file, NULL) != 1) {
		tls_error_string(0, err, sizeof(err));
		log_warnx("relay cafile=%s cannot be loaded: %s; no server "
		    "will be trusted", file, err);
	}
}

void
lmtp_relay_conf(const void *msg)
{
	const struct ipc_CONF_RELAY_req *m = msg;
	struct sockaddr_in *sin = (struct sockaddr_in *)&relay.sa;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&relay.sa;

	if (m->host[0] == '\0')
		return;
	strlcpy(relay.host, m->host, sizeof(relay.host));
	strlcpy(relay.address, m->address, sizeof(relay.address));
	strlcpy(relay.helo, m->helo, sizeof(relay.helo));
	relay.conf = *m;
	relay.conf.host = relay.host;
	relay.conf.address = relay.address;
	relay.conf.helo = relay.helo;
	if (m->port == 0 || m->port > 65535 || m->tls > 2 ||
	    m->helo[0] == '\0')
		fatalx("relay: bad CONF_RELAY");
	memset(&relay.sa, 0, sizeof(relay.sa));
	if (inet_pton(AF_INET, m->address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)m->port);
		relay.salen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, m->address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)m->port);
		relay.salen = sizeof(*sin6);
	} else
		fatalx("relay: address \"%s\" is not an IP address",
		    m->address);
	if (m->tls != 0)
		relay_tls_init();
	relay.on = true;
}

/* --- Scheduling --- */

static void
relay_poll_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	relay_take();
}

void
lmtp_relay_start(void)
{
	struct timeval tv = { LMTP_RELAY_POLL, 0 };

	if (!relay.on)
		return;
	if ((relay.poll_ev = event_new(worker_base(), -1, EV_PERSIST,
	    relay_poll_cb, NULL)) == NULL ||
	    (relay.step_ev = evtimer_new(worker_base(), relay_step_cb,
	    NULL)) == NULL)
		fatalx("relay: event_new");
	event_add(relay.poll_ev, &tv);
	log_info("relay on host=%s address=%s port=%u tls=%s helo=%s",
	    relay.host, relay.address, relay.conf.port,
	    relay.conf.tls == 0 ? "none" : relay.conf.tls == 1 ? "starttls" :
	    "require", relay.helo);
	relay_take();
}

void
lmtp_relay_wake(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	(void)c;
	(void)f;
	(void)msg;
	(void)arg;
	if (!relay.on)
		return;
	if (relay.state != RELAY_IDLE)
		relay.again = true;
	else
		relay_take();
}

/* How many times this process tried submission (account, id), counted. */
static unsigned
relay_attempt(uint64_t account_id, uint64_t id)
{
	size_t i;

	for (i = 0; i < RELAY_ATTEMPTS; i++)
		if (relay.tries[i].id == id &&
		    relay.tries[i].account_id == account_id &&
		    relay.tries[i].attempts != 0)
			return ++relay.tries[i].attempts;
	i = relay.tries_next++ % RELAY_ATTEMPTS;
	relay.tries[i].account_id = account_id;
	relay.tries[i].id = id;
	relay.tries[i].attempts = 1;
	return 1;
}

static void
relay_job_free(struct relay_job **jp)
{
	struct relay_job *j = *jp;
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->nrcpts; i++) {
		free(j->rcpts[i].addr);
		free(j->rcpts[i].reply);
	}
	free(j->rcpts);
	free(j->mail_from);
	free(j->params);
	if (j->fd != -1)
		close(j->fd);
	free(j);
	*jp = NULL;
}

/* --- The connection --- */

static void relay_read_cb(struct bufferevent *bev, void *arg);
static void relay_write_cb(struct bufferevent *bev, void *arg);
static void relay_event_cb(struct bufferevent *bev, short what, void *arg);
static void relay_report(void);

static void
relay_deadline(int secs)
{
	struct timeval tv = { secs, 0 };

	event_add(relay.step_ev, &tv);
}

static void
relay_close(void)
{
	if (relay.bev != NULL)
		bufferevent_free(relay.bev);
	relay.bev = NULL;
	relay.gen++;
	if (relay.sock != -1)
		close(relay.sock);
	relay.sock = -1;
	if (relay.step_ev != NULL)
		event_del(relay.step_ev);
}

static void
relay_send(const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(relay.bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/*
 * A recipient's copy of a reply, for JMAP's smtpReply: at most
 * RELAY_REPLY_KEEP bytes of printable ASCII (RFC 5321 4.2 textstring);
 * anything else a server sent becomes '?', so the copy is valid UTF-8.
 */
static char *
relay_reply_dup(const char *text)
{
	char *s = xstrdup(text), *p;

	if (strlen(s) > RELAY_REPLY_KEEP)
		s[RELAY_REPLY_KEEP] = '\0';
	for (p = s; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	return s;
}

/*
 * The outcome of the transaction for every recipient not decided yet by
 * its RCPT reply: code 2xx delivered, 5xx failed, else queued.
 */
static void
relay_settle(int code, const char *text)
{
	struct relay_job *j = relay.job;
	struct relay_rcpt *r;
	size_t i;

	if (j->settled)
		return;
	j->settled = true;
	for (i = 0; i < j->nrcpts; i++) {
		r = &j->rcpts[i];
		if (r->code >= 400)
			continue;	/* refused at RCPT: already decided */
		free(r->reply);
		r->reply = relay_reply_dup(text);
		/* A 2xx that ends a session early delivers nothing. */
		if (code >= 200 && code < 300 && r->code >= 200 &&
		    r->code < 300)
			r->delivered = RELAY_DELIVERED;
		else if (code >= 500)
			r->delivered = RELAY_FAILED;
		else
			r->delivered = RELAY_QUEUED;
	}
}

/*
 * A failure before the outcome was known: a synthesized reply (code and
 * RFC 3463 status in the text) for the recipients, QUIT when the session
 * is still usable, then the report.
 */
static void
relay_fail(int code, const char *fmt, ...)
{
	char text[RELAY_REPLY_KEEP];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (relay.job != NULL) {
		if (code >= 200 && code < 300)
			code = 451;	/* never "delivered" by failure */
		log_info("relay fail id=%llu state=%s reply=\"%s\"",
		    (unsigned long long)relay.job->id,
		    relay_state_names[relay.state], text);
		relay_settle(code, text);
	}
	relay_close();
	relay_report();
}

static void
relay_quit(void)
{
	relay.state = RELAY_QUIT;
	relay_send("QUIT");
	relay_deadline(RELAY_T_QUIT);
}

static void
relay_step_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	if (relay.state == RELAY_QUIT) {
		relay_close();
		relay_report();
		return;
	}
	relay_fail(421, "421 4.4.2 %s timed out in %s", relay.host,
	    relay_state_names[relay.state]);
}

static void
relay_connect(void)
{
	char err[128];

	relay.state = RELAY_CONNECT;
	relay.tls_on = false;
	relay.ext_starttls = false;
	relay.sock = socket(relay.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (relay.sock == -1) {
		relay_fail(421, "421 4.4.1 socket: %s", strerror(errno));
		return;
	}
	if ((relay.bev = bufferevent_socket_new(worker_base(), relay.sock,
	    0)) == NULL)
		fatalx("relay: bufferevent_socket_new");
	bufferevent_setcb(relay.bev, relay_read_cb, relay_write_cb,
	    relay_event_cb, NULL);
	bufferevent_enable(relay.bev, EV_READ | EV_WRITE);
	relay_deadline(RELAY_T_CONNECT);
	if (bufferevent_socket_connect(relay.bev,
	    (struct sockaddr *)&relay.sa, (int)relay.salen) == -1) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		relay_fail(421, "421 4.4.1 connect to %s: %s", relay.address,
		    err);
	}
}

/* RFC 3207 4: the TLS handshake over the same socket. */
static void
relay_starttls(void)
{
	unsigned char ip[sizeof(struct in6_addr)];
	SSL *ssl;
	bool literal;

	if ((ssl = SSL_new(relay.tls_ctx)) == NULL)
		fatalx("relay: SSL_new");
	literal = inet_pton(AF_INET, relay.host, ip) == 1 ||
	    inet_pton(AF_INET6, relay.host, ip) == 1;
	if (!literal)
		(void)SSL_set_tlsext_host_name(ssl, relay.host);
	if (relay.conf.tls == 2) {
		/* RFC 6125 6: the name configured, not the one resolved. */
		if (literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    relay.host) != 1 : SSL_set1_host(ssl, relay.host) != 1)
			fatalx("relay: cannot set the name to verify");
	}
	bufferevent_free(relay.bev);
	relay.gen++;
	relay.bev = bufferevent_openssl_socket_new(worker_base(), relay.sock,
	    ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (relay.bev == NULL)
		fatalx("relay: bufferevent_openssl_socket_new");
	relay.sock = -1;	/* the bufferevent closes it now */
	bufferevent_openssl_set_allow_dirty_shutdown(relay.bev, 1);
	bufferevent_setcb(relay.bev, relay_read_cb, relay_write_cb,
	    relay_event_cb, NULL);
	bufferevent_enable(relay.bev, EV_READ | EV_WRITE);
	relay.state = RELAY_HANDSHAKE;
	relay_deadline(RELAY_T_REPLY);
}

static void
relay_mail(void)
{
	struct relay_job *j = relay.job;

	relay.state = RELAY_MAIL;
	if (j->params[0] != '\0')
		relay_send("MAIL FROM:<%s> %s", j->mail_from, j->params);
	else
		relay_send("MAIL FROM:<%s>", j->mail_from);
	relay_deadline(RELAY_T_REPLY);
}

/* The next RCPT, or DATA when every recipient has had its reply. */
static void
relay_rcpt_next(void)
{
	struct relay_job *j = relay.job;
	size_t i, accepted = 0;

	if (j->next < j->nrcpts) {
		relay.state = RELAY_RCPT;
		relay_send("RCPT TO:<%s>", j->rcpts[j->next].addr);
		relay_deadline(RELAY_T_REPLY);
		return;
	}
	for (i = 0; i < j->nrcpts; i++)
		if (j->rcpts[i].code >= 200 && j->rcpts[i].code < 300)
			accepted++;
	if (accepted == 0) {
		/* RFC 5321 3.3: no valid recipient, no DATA. */
		j->settled = true;
		relay_quit();
		return;
	}
	relay.state = RELAY_DATA;
	relay_send("DATA");
	relay_deadline(RELAY_T_DATA);
}

/* Sends the next chunk of the message, or the final dot. */
static void
relay_body(void)
{
	struct relay_job *j = relay.job;
	struct buf out = BUF_INIT;
	uint8_t chunk[RELAY_CHUNK];
	ssize_t n;
	size_t want;

	if (j->off == j->size) {
		/* RFC 5321 4.1.1.4: the data ends with CRLF "." CRLF. */
		evbuffer_add(bufferevent_get_output(relay.bev),
		    j->ends_crlf ? ".\r\n" : "\r\n.\r\n",
		    j->ends_crlf ? 3 : 5);
		relay.state = RELAY_DOT;
		relay_deadline(RELAY_T_FINAL);
		return;
	}
	want = j->size - j->off < sizeof(chunk) ? (size_t)(j->size - j->off) :
	    sizeof(chunk);
	if ((n = pread(j->fd, chunk, want, (off_t)j->off)) <= 0) {
		relay_fail(451, "451 4.3.0 reading the message: %s",
		    n == 0 ? "short file" : strerror(errno));
		return;
	}
	j->off += (uint64_t)n;
	j->ends_crlf = (n >= 2 ? chunk[n - 2] : j->last) == '\r' &&
	    chunk[n - 1] == '\n';
	j->last = chunk[n - 1];
	lmtp_relay_dotstuff(&out, chunk, (size_t)n, &j->bol);
	evbuffer_add(bufferevent_get_output(relay.bev), out.data, out.len);
	buf_clear(&out);
	relay_deadline(RELAY_T_BLOCK);
}

/* Whether an EHLO reply line names the STARTTLS extension (4.1.1.1). */
static void
relay_ehlo_line(const char *line)
{
	if (strlen(line) >= 12 && strncasecmp(line + 4, "STARTTLS", 8) == 0 &&
	    (line[12] == '\0' || line[12] == ' '))
		relay.ext_starttls = true;
}

/* After EHLO (or HELO) succeeded: STARTTLS, or on to MAIL. */
static void
relay_after_ehlo(void)
{
	if (!relay.tls_on && relay.conf.tls != 0 && relay.ext_starttls) {
		relay.state = RELAY_STARTTLS;
		relay_send("STARTTLS");
		relay_deadline(RELAY_T_REPLY);
		return;
	}
	if (!relay.tls_on && relay.conf.tls == 2) {
		relay_fail(421, "421 4.7.10 %s does not offer STARTTLS, which "
		    "tls require needs", relay.host);
		return;
	}
	relay_mail();
}

/* A whole reply has been read: code and its text (lines joined). */
static void
relay_reply(int code, const char *text)
{
	struct relay_job *j = relay.job;
	bool ok = code >= 200 && code < 300;

	switch (relay.state) {
	case RELAY_GREETING:
		if (!ok) {
			relay_fail(code >= 500 ? 421 : code, "%s", text);
			return;
		}
		relay.state = RELAY_EHLO;
		relay_send("EHLO %s", relay.helo);
		relay_deadline(RELAY_T_REPLY);
		break;
	case RELAY_EHLO:
	case RELAY_EHLO_TLS:
		if (ok)
			relay_after_ehlo();
		else if (relay.state == RELAY_EHLO && relay.conf.tls != 2) {
			/* RFC 5321 3.2: an old server; HELO will do. */
			relay.state = RELAY_HELO;
			relay_send("HELO %s", relay.helo);
			relay_deadline(RELAY_T_REPLY);
		} else
			relay_fail(421, "%s", text);
		break;
	case RELAY_HELO:
		if (ok)
			relay_after_ehlo();
		else
			relay_fail(421, "%s", text);
		break;
	case RELAY_STARTTLS:
		if (code != 220) {
			if (relay.conf.tls == 2)
				relay_fail(421, "%s", text);
			else
				relay_mail();
			return;
		}
		/* RFC 3207 5: nothing may come before the handshake. */
		if (evbuffer_get_length(bufferevent_get_input(relay.bev)) > 0) {
			relay_fail(421, "421 4.7.0 %s sent data after its "
			    "STARTTLS reply", relay.host);
			return;
		}
		relay_starttls();
		break;
	case RELAY_MAIL:
		if (!ok) {
			relay_settle(code, text);
			relay_quit();
			return;
		}
		relay_rcpt_next();
		break;
	case RELAY_RCPT:
		j->rcpts[j->next].code = code;
		if (!ok) {
			j->rcpts[j->next].reply = relay_reply_dup(text);
			j->rcpts[j->next].delivered = code >= 500 ?
			    RELAY_FAILED : RELAY_QUEUED;
		}
		j->next++;
		relay_rcpt_next();
		break;
	case RELAY_DATA:
		if (code < 400 && code != 354) {
			/* Nothing was sent: a 2xx here cannot deliver. */
			relay_fail(451, "451 4.5.0 %s answered DATA with %d",
			    relay.host, code);
			return;
		}
		if (code != 354) {
			relay_settle(code, text);
			relay_quit();
			return;
		}
		relay.state = RELAY_BODY;
		relay_body();
		break;
	case RELAY_DOT:
		relay_settle(code, text);
		relay_quit();
		break;
	case RELAY_QUIT:
		relay_close();
		relay_report();
		break;
	default:
		relay_fail(421, "421 4.5.0 unexpected reply from %s: %s",
		    relay.host, text);
		break;
	}
}

static void
relay_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	uint64_t gen = relay.gen;
	char *line;
	size_t len;
	bool more;
	int code;

	(void)arg;
	/* A reply may close bev or replace it (STARTTLS): gen tells. */
	while (relay.gen == gen && (line = evbuffer_readln(in, &len,
	    EVBUFFER_EOL_CRLF)) != NULL) {
		code = lmtp_relay_reply_line(line, len, &more);
		if (code == -1 || len > RELAY_LINE_MAX ||
		    (relay.reply_lines > 0 && code != relay.reply_code) ||
		    ++relay.reply_lines > RELAY_REPLY_LINES) {
			relay_fail(421, "421 4.5.0 %s sent a malformed reply",
			    relay.host);
			free(line);
			return;
		}
		relay.reply_code = code;
		if (relay.state == RELAY_EHLO || relay.state == RELAY_EHLO_TLS)
			relay_ehlo_line(line);
		if (relay.reply.len == 0)
			buf_append(&relay.reply, line, len);
		else if (len > 4 && relay.reply.len < RELAY_REPLY_KEEP) {
			buf_append(&relay.reply, " ", 1);
			buf_append(&relay.reply, line + 4, len - 4);
		}
		free(line);
		if (more)
			continue;
		buf_append(&relay.reply, "", 1);
		relay.reply_lines = 0;
		line = xstrdup((char *)relay.reply.data);
		buf_reset(&relay.reply);
		relay_reply(code, line);
		free(line);
	}
	if (relay.gen == gen && evbuffer_get_length(in) > RELAY_LINE_MAX)
		relay_fail(421, "421 4.5.0 %s sent a line too long",
		    relay.host);
}

static void
relay_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	(void)arg;
	/* The output drained: the next chunk of the message. */
	if (relay.state == RELAY_BODY)
		relay_body();
}

static void
relay_event_cb(struct bufferevent *bev, short what, void *arg)
{
	char err[256];
	unsigned long e;
	long v;

	(void)arg;
	if ((what & BEV_EVENT_CONNECTED) != 0) {
		if (relay.state == RELAY_CONNECT) {
			relay.state = RELAY_GREETING;
			relay_deadline(RELAY_T_GREETING);
		} else if (relay.state == RELAY_HANDSHAKE) {
			relay.tls_on = true;
			log_info("relay tls id=%llu version=%s",
			    (unsigned long long)relay.job->id,
			    tls_version(bufferevent_openssl_get_ssl(bev)));
			/* RFC 3207 4.2: forget what was learnt before. */
			relay.ext_starttls = false;
			relay.state = RELAY_EHLO_TLS;
			relay_send("EHLO %s", relay.helo);
			relay_deadline(RELAY_T_REPLY);
		}
		return;
	}
	if (relay.state == RELAY_QUIT) {
		relay_close();
		relay_report();
		return;
	}
	if (relay.state == RELAY_HANDSHAKE) {
		v = SSL_get_verify_result(bufferevent_openssl_get_ssl(bev));
		if (v != X509_V_OK) {
			relay_fail(421, "421 4.7.5 %s: certificate: %s",
			    relay.host, X509_verify_cert_error_string(v));
			return;
		}
		e = bufferevent_get_openssl_error(bev);
		tls_error_string(e, err, sizeof(err));
		relay_fail(421, "421 4.7.0 %s: TLS handshake: %s", relay.host,
		    err);
		return;
	}
	if ((what & BEV_EVENT_EOF) != 0)
		relay_fail(421, "421 4.4.2 %s closed the connection",
		    relay.host);
	else
		relay_fail(421, "421 4.4.1 %s: %s", relay.address,
		    strerror(EVUTIL_SOCKET_ERROR() != 0 ?
		    EVUTIL_SOCKET_ERROR() : EIO));
}

/* --- storaged --- */

static void
relay_done_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	(void)c;
	(void)rep;
	(void)arg;
	relay.req_id = 0;
	if (relay.job == NULL)
		return;		/* the process is ending */
	if (st == IPC_S_UNAVAIL) {
		/* Sent again when storaged is back (store_renewed). */
		log_info("relay done-pending id=%llu",
		    (unsigned long long)relay.job->id);
		return;
	}
	if (st != IPC_S_OK)
		log_warnx("relay done id=%llu status=%s text=\"%s\"",
		    (unsigned long long)relay.job->id, ipc_status_name(st),
		    text);
	relay_job_free(&relay.job);
	relay.state = RELAY_IDLE;
	worker_session_remove();
	relay_take();
}

/* Sends RELAY_DONE for the job (now, or when storaged is back). */
static void
relay_report(void)
{
	struct relay_job *j = relay.job;
	struct ipc_RELAY_DONE_req m;
	struct buf replies = BUF_INIT, delivered = BUF_INIT;
	struct ipc_chan *store;
	size_t i, n[3] = { 0, 0, 0 };
	uint64_t now = (uint64_t)time(NULL);

	relay.state = RELAY_REPORTING;
	if (!j->settled)
		relay_settle(451, "451 4.3.0 the transaction did not end");
	memset(&m, 0, sizeof(m));
	for (i = 0; i < j->nrcpts; i++) {
		wire_strlist_add(&replies, j->rcpts[i].reply != NULL ?
		    j->rcpts[i].reply : "");
		wire_u64list_add(&delivered, j->rcpts[i].delivered);
		n[j->rcpts[i].delivered]++;
	}
	m.account_id = j->account_id;
	m.id = j->id;
	m.replies.count = (uint32_t)j->nrcpts;
	m.replies.p = replies.data;
	m.replies.len = replies.len;
	m.delivered.count = (uint32_t)j->nrcpts;
	m.delivered.p = delivered.data;
	m.retry_at = n[RELAY_QUEUED] > 0 ? now +
	    lmtp_relay_backoff(j->attempt) : 0;
	if (j->started != 0) {
		log_info("relay done id=%llu account=%llu delivered=%zu "
		    "failed=%zu queued=%zu retry_at=%llu attempt=%u "
		    "seconds=%lld", (unsigned long long)j->id,
		    (unsigned long long)j->account_id, n[RELAY_DELIVERED],
		    n[RELAY_FAILED], n[RELAY_QUEUED],
		    (unsigned long long)m.retry_at, j->attempt,
		    (long long)(time(NULL) - j->started));
		j->started = 0;
	}
	if ((store = worker_store()) != NULL)
		relay.req_id = ipc_request(store, IPC_T_RELAY_DONE, 0, &m,
		    relay_done_cb, NULL);
	buf_clear(&replies);
	buf_clear(&delivered);
}

/* Whether an envelope string could break the command line it goes in. */
static bool
relay_unsafe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/*
 * RFC 8621 7.5: Bcc fields leave the message before it is sent (the
 * stored email keeps them).  Returns the length of the header at p (len
 * bytes, up to and including the empty line, or len if there is none)
 * with every Bcc field (and its folded lines) taken out into out.
 */
/* Whether the line of n bytes at p starts a Bcc field (RFC 5322 4.5.3
 * obs-bcc: white space may come before the colon). */
static bool
relay_is_bcc(const uint8_t *p, size_t n)
{
	size_t k = 3;

	if (n < 4 || strncasecmp((const char *)p, "bcc", 3) != 0)
		return false;
	while (k < n && (p[k] == ' ' || p[k] == '\t'))
		k++;
	return k < n && p[k] == ':';
}

size_t
lmtp_relay_strip_bcc(const uint8_t *p, size_t len, struct buf *out)
{
	size_t i = 0, e;
	bool skip = false;

	while (i < len) {
		for (e = i; e < len && p[e] != '\n'; e++)
			;
		if (e < len)
			e++;		/* the line with its LF */
		/* The empty line ends the header; it is kept. */
		if (p[i] == '\n' || (p[i] == '\r' && i + 1 < len &&
		    p[i + 1] == '\n')) {
			buf_append(out, p + i, e - i);
			return e;
		}
		if (p[i] != ' ' && p[i] != '\t')
			skip = relay_is_bcc(p + i, e - i);
		if (!skip)
			buf_append(out, p + i, e - i);
		i = e;
	}
	return len;
}

/*
 * The job's message without Bcc: a new memfd when the header has one
 * (within its first RELAY_HEADER_MAX bytes), else fd itself.  -1 on
 * failure.
 */
static int
relay_without_bcc(int fd, uint64_t *size)
{
	struct buf hdr = BUF_INIT;
	uint8_t *head, chunk[RELAY_CHUNK];
	size_t want, used;
	uint64_t off;
	ssize_t n;
	int nfd;

	want = *size < RELAY_HEADER_MAX ? (size_t)*size : RELAY_HEADER_MAX;
	head = xmalloc(want > 0 ? want : 1);
	if (want > 0 && pread(fd, head, want, 0) != (ssize_t)want) {
		free(head);
		return -1;
	}
	used = lmtp_relay_strip_bcc(head, want, &hdr);
	if (hdr.len == used) {
		/* Nothing taken out. */
		free(head);
		buf_clear(&hdr);
		return fd;
	}
	free(head);
	if ((nfd = memfd_create("relay", MFD_CLOEXEC)) == -1) {
		buf_clear(&hdr);
		return -1;
	}
	if (hdr.len > 0 && write(nfd, hdr.data, hdr.len) != (ssize_t)hdr.len)
		goto fail;
	for (off = used; off < *size; off += (uint64_t)n) {
		want = *size - off < sizeof(chunk) ? (size_t)(*size - off) :
		    sizeof(chunk);
		if ((n = pread(fd, chunk, want, (off_t)off)) <= 0 ||
		    write(nfd, chunk, (size_t)n) != n)
			goto fail;
	}
	*size = *size - used + hdr.len;
	buf_clear(&hdr);
	close(fd);
	return nfd;
fail:
	buf_clear(&hdr);
	close(nfd);
	return -1;
}

/* Copies the taken submission into a new job; NULL if it is unusable. */
static struct relay_job *
relay_job_new(const struct ipc_RELAY_TAKE_rep *r, int fd)
{
	struct relay_job *j = xcalloc(1, sizeof(*j));
	struct wire_iter it;
	const char *s;
	size_t i;

	j->account_id = r->account_id;
	j->id = r->id;
	j->size = r->size;
	j->fd = fd;
	j->bol = true;
	j->ends_crlf = true;	/* an empty message needs no CRLF */
	j->mail_from = xstrdup(r->mail_from);
	j->params = xstrdup(r->mail_from_params);
	j->nrcpts = r->rcpts.count;
	j->rcpts = xcalloc(j->nrcpts > 0 ? j->nrcpts : 1, sizeof(*j->rcpts));
	wire_strlist_iter(&r->rcpts, &it);
	for (i = 0; i < j->nrcpts && (s = wire_strlist_next(&it)) != NULL;
	    i++)
		j->rcpts[i].addr = xstrdup(s);
	j->nrcpts = i;
	return j;
}

static void
relay_take_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_RELAY_TAKE_rep *r = rep;
	int fd = (int)(intptr_t)arg;
	struct relay_job *j;
	size_t i;
	bool bad;

	(void)c;
	relay.req_id = 0;
	relay.state = RELAY_IDLE;
	if (st != IPC_S_OK) {
		close(fd);
		if (st != IPC_S_NOTFOUND)
			log_warnx("relay take status=%s text=\"%s\"",
			    ipc_status_name(st), text);
		else if (relay.again) {
			relay.again = false;
			relay_take();
		}
		return;
	}
	relay.job = j = relay_job_new(r, fd);
	if ((j->fd = relay_without_bcc(fd, &j->size)) == -1) {
		j->fd = fd;
		worker_session_add();
		relay_settle(451, "451 4.3.0 the message could not be read");
		relay_report();
		return;
	}
	j->attempt = relay_attempt(j->account_id, j->id);
	j->started = time(NULL);
	worker_session_add();
	relay.again = false;
	log_info("relay attempt id=%llu account=%llu size=%llu rcpts=%zu "
	    "attempt=%u host=%s address=%s port=%u",
	    (unsigned long long)j->id, (unsigned long long)j->account_id,
	    (unsigned long long)j->size, j->nrcpts, j->attempt, relay.host,
	    relay.address, relay.conf.port);
	bad = j->nrcpts == 0 || relay_unsafe(j->mail_from) ||
	    relay_unsafe(j->params);
	for (i = 0; i < j->nrcpts; i++)
		bad = bad || relay_unsafe(j->rcpts[i].addr) ||
		    j->rcpts[i].addr[0] == '\0';
	if (bad) {
		relay_settle(554, "554 5.5.2 the envelope cannot be sent");
		relay_report();
		return;
	}
	relay_connect();
}

/* Asks storaged for the next submission due, if idle. */
static void
relay_take(void)
{
	struct ipc_RELAY_TAKE_req m;
	struct ipc_chan *store;
	int fd, keep;

	if (!relay.on || relay.stopping || relay.state != RELAY_IDLE ||
	    (store = worker_store()) == NULL)
		return;
	if ((fd = memfd_create("relay", MFD_CLOEXEC)) == -1 ||
	    (keep = dup(fd)) == -1) {
		log_warn("relay memfd");
		if (fd != -1)
			close(fd);
		return;
	}
	relay.state = RELAY_TAKING;
	memset(&m, 0, sizeof(m));
	relay.req_id = ipc_request_fd(store, IPC_T_RELAY_TAKE, 0, &m, fd,
	    relay_take_cb, (void *)(intptr_t)keep);
}

void
lmtp_relay_store_renewed(struct ipc_chan *store)
{
	(void)store;
	if (!relay.on)
		return;
	if (relay.state == RELAY_REPORTING && relay.req_id == 0)
		relay_report();
	else
		relay_take();
}

void
lmtp_relay_shutdown(void)
{
	relay.stopping = true;
	if (relay.poll_ev != NULL)
		event_del(relay.poll_ev);
}

void
lmtp_relay_end(void)
{
	relay_close();
	relay_job_free(&relay.job);
	if (relay.poll_ev != NULL)
		event_free(relay.poll_ev);
	if (relay.step_ev != NULL)
		event_free(relay.step_ev);
	relay.poll_ev = relay.step_ev = NULL;
	buf_clear(&relay.reply);
	SSL_CTX_free(relay.tls_ctx);
	relay.tls_ctx = NULL;
}
