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
#include "lmtp_relay_job.h"
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
#include <sodium.h>

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
#define RELAY_CHUNK		(64 * 1024)
#define RELAY_ATTEMPTS		64	/* submissions with tries counted */


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
	RELAY_AUTH,		/* AUTH PLAIN, or AUTH LOGIN's first step */
	RELAY_AUTH_USER,	/* LOGIN: the user sent */
	RELAY_AUTH_PASS,	/* LOGIN: the password sent */
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
	"handshake", "ehlo-tls", "auth", "auth-user", "auth-pass", "mail", "rcpt", "data", "body", "dot", "quit",
	"reporting",
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
	unsigned	 ext_auth;	/* LMTP_RELAY_AUTH_* offered */
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

/* --- Configuration --- */

static void
relay_tls_init(void)
{
	char err[256];

	if ((relay.tls_ctx = lmtp_relay_tls_ctx_new(relay.conf.tls == 2,
	    relay.conf.ca.p, relay.conf.ca.len, err, sizeof(err))) == NULL)
		fatalx("relay: %s", err);
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
	/* Loaded: the bytes were the configuration's, gone after this. */
	relay.conf.ca.p = NULL;
	relay.conf.ca.len = 0;
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
		r->reply = lmtp_relay_reply_dup(text);
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
	relay.ext_auth = 0;
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
	SSL *ssl;

	if ((ssl = lmtp_relay_ssl_new(relay.tls_ctx, relay.host,
	    relay.conf.tls == 2)) == NULL)
		fatalx("relay: SSL_new");
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
	relay.ext_auth |= lmtp_relay_auth_mechs(line);
}

/* Sends what buf holds as one line, then wipes it: credentials. */
static void
relay_send_secret(struct buf *b)
{
	struct evbuffer *out = bufferevent_get_output(relay.bev);

	evbuffer_add(out, b->data, b->len);
	evbuffer_add(out, "\r\n", 2);
	buf_clear(b);
}

/*
 * RFC 4954 4: AUTH before MAIL when the configuration has credentials
 * (storaged sent them with the take), only over TLS, with PLAIN, or
 * LOGIN when that is all the server offers.
 */
static void
relay_auth(void)
{
	struct relay_job *j = relay.job;
	struct buf b = BUF_INIT;

	if (!relay.tls_on) {
		relay_fail(421, "421 4.7.10 %s: no TLS, so the relay's "
		    "credentials are not sent", relay.host);
		return;
	}
	relay.state = RELAY_AUTH;
	if ((relay.ext_auth & LMTP_RELAY_AUTH_PLAIN) != 0) {
		lmtp_relay_auth_plain(&b, j->auth.data, j->auth.len);
		relay_send_secret(&b);
		buf_clear(&j->auth);
	} else if ((relay.ext_auth & LMTP_RELAY_AUTH_LOGIN) != 0)
		relay_send("AUTH LOGIN");
	else {
		relay_fail(421, "421 4.7.11 %s offers neither AUTH PLAIN nor "
		    "AUTH LOGIN", relay.host);
		return;
	}
	relay_deadline(RELAY_T_REPLY);
}

/* LOGIN's challenges (334): the user, then the password. */
static void
relay_auth_login(int part)
{
	struct relay_job *j = relay.job;
	struct buf b = BUF_INIT;

	if (lmtp_relay_auth_login(&b, j->auth.data, j->auth.len, part) == -1) {
		buf_clear(&b);
		relay_fail(451, "451 4.7.0 the relay's credentials cannot be "
		    "sent with AUTH LOGIN");
		return;
	}
	relay_send_secret(&b);
	if (part == 2)
		buf_clear(&j->auth);
	relay.state = part == 1 ? RELAY_AUTH_USER : RELAY_AUTH_PASS;
	relay_deadline(RELAY_T_REPLY);
}

/* The reply to AUTH or to one of LOGIN's answers. */
static void
relay_auth_reply(int code, const char *text)
{
	if (code == 235) {
		relay_mail();
		return;
	}
	if (code == 334 && relay.state != RELAY_AUTH_PASS &&
	    relay.job->auth.len > 0) {
		relay_auth_login(relay.state == RELAY_AUTH ? 1 : 2);
		return;
	}
	/*
	 * 535 5.7.8 and the like: the relay's configuration is wrong, not
	 * the message; it stays queued with the server's words for the admin.
	 */
	relay_fail(code >= 400 && code < 500 ? code : 451, "451 4.7.8 %s "
	    "refused the relay's credentials: %s", relay.host, text);
}

/* The transaction: AUTH first when there are credentials. */
static void
relay_begin(void)
{
	if (relay.job->auth.len > 0)
		relay_auth();
	else
		relay_mail();
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
	relay_begin();
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
				relay_begin();
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
	case RELAY_AUTH:
	case RELAY_AUTH_USER:
	case RELAY_AUTH_PASS:
		relay_auth_reply(code, text);
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
			j->rcpts[j->next].reply = lmtp_relay_reply_dup(text);
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
			relay.ext_auth = 0;
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
	lmtp_relay_job_free(&relay.job);
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
	relay.job = j = lmtp_relay_job_new(r, fd);
	if ((j->fd = lmtp_relay_without_bcc(fd, &j->size)) == -1) {
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
	bad = j->nrcpts == 0 || lmtp_relay_unsafe(j->mail_from) ||
	    lmtp_relay_unsafe(j->params);
	for (i = 0; i < j->nrcpts; i++)
		bad = bad || lmtp_relay_unsafe(j->rcpts[i].addr) ||
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
	lmtp_relay_job_free(&relay.job);
	if (relay.poll_ev != NULL)
		event_free(relay.poll_ev);
	if (relay.step_ev != NULL)
		event_free(relay.step_ev);
	relay.poll_ev = relay.step_ev = NULL;
	buf_clear(&relay.reply);
	SSL_CTX_free(relay.tls_ctx);
	relay.tls_ctx = NULL;
}
