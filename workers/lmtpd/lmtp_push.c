/* SPDX-License-Identifier: ISC */
/*
 * lmtp_push.c: the JMAP push client of lmtpd (see lmtp_push.h): one push
 * at a time, PUSH_TAKE, resolve, connect, TLS, POST, status line,
 * PUSH_DONE, and the next take.  A connection serves one request
 * ("Connection: close"): pushes are rare next to what keeping
 * connections to many push services would cost.
 */
#include "lmtp_push.h"
#include "buf.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"
#include "tls.h"
#include "worker.h"
#include "xmalloc.h"

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define PUSH_NS_MAX	3	/* resolv.conf(5): MAXNS */

enum push_state {
	PUSH_IDLE, PUSH_TAKING, PUSH_RESOLVE, PUSH_CONNECT, PUSH_REQUEST,
	PUSH_REPORTING
};

static struct {
	bool			 allow_local, stopping, again;
	uint32_t		 timeout;
	struct buf		 ca;		/* CONF_PUSH's PEM */
	SSL_CTX			*tls_ctx;
	char			 ns[PUSH_NS_MAX][INET6_ADDRSTRLEN + 8];
	bool			 ns_conf;	/* push { nameserver } */
	size_t			 nns;
	struct evdns_base	*dns;
	struct evdns_getaddrinfo_request *dns_req;
	struct event		*poll_ev, *step_ev;
	enum push_state		 state;
	uint32_t		 req_id;
	/* The push under way. */
	uint64_t		 account_id, id, token;
	struct lmtp_push_url	 url;
	struct buf		 req;
	unsigned		 status;
	struct bufferevent	*bev;
	char			 addr[INET6_ADDRSTRLEN];
} push = { .timeout = LMTP_PUSH_TIMEOUT };

/* --- Parsers --- */

static bool
push_reg_name(const char *h, size_t n)
{
	size_t i;

	if (n == 0 || n > LMTP_PUSH_HOST_MAX || h[0] == '.' || h[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' &&
		    h[i] != '.')
			return false;
	return true;
}

int
lmtp_push_url_parse(const char *url, struct lmtp_push_url *u,
    const char **why)
{
	const char *a, *end, *hs, *he, *p;
	unsigned char ip[sizeof(struct in6_addr)];
	unsigned long port = 443;
	size_t hn, i;
	char *ep;

	memset(u, 0, sizeof(*u));
	*why = "not an https URL";
	if (strncasecmp(url, "https://", 8) != 0)
		return -1;
	a = url + 8;
	end = a + strcspn(a, "/?#");
	*why = "userinfo in the URL";
	if (memchr(a, '@', (size_t)(end - a)) != NULL)
		return -1;
	*why = "bad host";
	if (*a == '[') {
		if ((he = memchr(a, ']', (size_t)(end - a))) == NULL)
			return -1;
		hs = a + 1;
		p = he + 1;
		u->v6 = true;
	} else {
		hs = a;
		he = memchr(a, ':', (size_t)(end - a));
		if (he == NULL)
			he = end;
		p = he;
	}
	hn = (size_t)(he - hs);
	if (hn == 0 || hn > LMTP_PUSH_HOST_MAX)
		return -1;
	memcpy(u->host, hs, hn);
	u->host[hn] = '\0';
	if (u->v6) {
		if (inet_pton(AF_INET6, u->host, ip) != 1)
			return -1;
		u->literal = true;
	} else if (inet_pton(AF_INET, u->host, ip) == 1)
		u->literal = true;
	else if (!push_reg_name(u->host, hn))
		return -1;
	if (p < end) {
		*why = "bad port";
		if (*p != ':' || p + 1 == end || !isdigit((unsigned char)p[1]))
			return -1;
		errno = 0;
		port = strtoul(p + 1, &ep, 10);
		if (errno != 0 || ep != end || port == 0 || port > 65535)
			return -1;
	}
	u->port = (uint16_t)port;
	/* path-abempty and query, without the fragment */
	*why = "bad path";
	p = end;
	hn = strcspn(p, "#");
	if (hn > LMTP_PUSH_PATH_MAX - 1)
		return -1;
	for (i = 0; i < hn; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return -1;
	if (hn == 0 || p[0] != '/') {
		u->path[0] = '/';
		memcpy(u->path + 1, p, hn);
		u->path[hn + 1] = '\0';
	} else {
		memcpy(u->path, p, hn);
		u->path[hn] = '\0';
	}
	return 0;
}

static bool
push_v4_ok(const uint8_t *b)
{
	uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
	static const struct { uint32_t net, mask; } bad[] = {
		{ 0x00000000, 0xff000000 },	/* 0/8 "this network" */
		{ 0x0a000000, 0xff000000 },	/* 10/8 */
		{ 0x64400000, 0xffc00000 },	/* 100.64/10 shared */
		{ 0x7f000000, 0xff000000 },	/* 127/8 */
		{ 0xa9fe0000, 0xffff0000 },	/* 169.254/16 link-local */
		{ 0xac100000, 0xfff00000 },	/* 172.16/12 */
		{ 0xc0000000, 0xffffff00 },	/* 192.0.0/24 */
		{ 0xc0000200, 0xffffff00 },	/* 192.0.2/24 TEST-NET-1 */
		{ 0xc0a80000, 0xffff0000 },	/* 192.168/16 */
		{ 0xc6120000, 0xfffe0000 },	/* 198.18/15 benchmarking */
		{ 0xc6336400, 0xffffff00 },	/* 198.51.100/24 */
		{ 0xcb007100, 0xffffff00 },	/* 203.0.113/24 */
		{ 0xe0000000, 0xf0000000 },	/* 224/4 multicast */
		{ 0xf0000000, 0xf0000000 },	/* 240/4 and broadcast */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if ((a & bad[i].mask) == bad[i].net)
			return false;
	return true;
}

static bool
push_v6_ok(const uint8_t *b)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t zero[16];

	/* ::ffff:a.b.c.d and 64:ff9b::a.b.c.d lead to IPv4 a.b.c.d. */
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
		return push_v4_ok(b + 12);
	if (memcmp(b, zero, 15) == 0)		/* :: and ::1 */
		return false;
	if (memcmp(b, zero, 12) == 0)		/* IPv4-compatible */
		return false;
	if ((b[0] & 0xfe) == 0xfc)		/* fc00::/7 ULA */
		return false;
	if (b[0] == 0xfe && (b[1] & 0x80) == 0x80)	/* fe80::/9 */
		return false;
	if (b[0] == 0xff)			/* multicast */
		return false;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return false;			/* 2001:db8::/32 */
	if (b[0] == 0x01 && b[1] == 0 && memcmp(b + 2, zero, 6) == 0)
		return false;			/* 100::/64 discard */
	return true;
}

bool
lmtp_push_addr_ok(const struct sockaddr *sa, bool allow_local)
{
	if (sa->sa_family == AF_INET)
		return allow_local || push_v4_ok((const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return allow_local || push_v6_ok(
		    ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
	return false;
}

int
lmtp_push_status_line(const char *line, size_t len)
{
	int code;

	/* "HTTP/1." DIGIT SP 3DIGIT [ SP reason ] */
	if (len < 12 || memcmp(line, "HTTP/1.", 7) != 0 ||
	    !isdigit((unsigned char)line[7]) || line[8] != ' ' ||
	    !isdigit((unsigned char)line[9]) ||
	    !isdigit((unsigned char)line[10]) ||
	    !isdigit((unsigned char)line[11]) ||
	    (len > 12 && line[12] != ' '))
		return -1;
	code = (line[9] - '0') * 100 + (line[10] - '0') * 10 + line[11] - '0';
	return code >= 100 && code <= 599 ? code : -1;
}

/* --- Configuration --- */

void
lmtp_push_conf(const void *msg)
{
	const struct ipc_CONF_PUSH_req *m = msg;

	push.allow_local = m->allow_local;
	if (m->timeout != 0)
		push.timeout = m->timeout;
	/* push { nameserver }: that one instead of resolv.conf's. */
	if (m->nameserver[0] != '\0' &&
	    strlen(m->nameserver) < sizeof(push.ns[0])) {
		strlcpy(push.ns[0], m->nameserver, sizeof(push.ns[0]));
		push.nns = 1;
		push.ns_conf = true;
	}
	buf_reset(&push.ca);
	buf_append(&push.ca, m->ca.p, m->ca.len);
}

static void
push_resolv_conf(void)
{
	char line[256], *p, *e;
	unsigned char ip[sizeof(struct in6_addr)];
	FILE *f;

	if ((f = fopen("/etc/resolv.conf", "r")) == NULL) {
		log_warn("push: /etc/resolv.conf");
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL && push.nns < PUSH_NS_MAX) {
		if (strncmp(line, "nameserver", 10) != 0 ||
		    !isspace((unsigned char)line[10]))
			continue;
		p = line + 10 + strspn(line + 10, " \t");
		e = p + strcspn(p, " \t\r\n%");
		*e = '\0';
		if (inet_pton(AF_INET, p, ip) == 1 ||
		    inet_pton(AF_INET6, p, ip) == 1)
			strlcpy(push.ns[push.nns++], p, sizeof(push.ns[0]));
	}
	fclose(f);
}

void
lmtp_push_preconfine(void)
{
	const char *file = X509_get_default_cert_file();
	char err[256];
	int n;

	if ((push.tls_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(push.tls_ctx, TLS1_2_VERSION) != 1)
		fatalx("push: SSL_CTX_new failed");
	SSL_CTX_set_options(push.tls_ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(push.tls_ctx, SSL_VERIFY_PEER, NULL);
	if (push.ca.len > 0) {
		if ((n = tls_trust_pem(push.tls_ctx, push.ca.data, push.ca.len,
		    err, sizeof(err))) == -1)
			fatalx("push: push { ca }: %s", err);
		log_debug("push ca certificates=%d", n);
	} else if (SSL_CTX_load_verify_locations(push.tls_ctx, file, NULL) !=
	    1) {
		tls_error_string(0, err, sizeof(err));
		log_warnx("push cafile=%s cannot be loaded: %s; no push "
		    "service will be trusted", file, err);
	}
	buf_clear(&push.ca);
	if (!push.ns_conf)
		push_resolv_conf();
}

/* --- The request --- */

static void	push_take(void);
static void	push_report(void);

static void
push_deadline(void)
{
	struct timeval tv = { (time_t)push.timeout, 0 };

	event_add(push.step_ev, &tv);
}

static void
push_close(void)
{
	if (push.dns_req != NULL) {
		evdns_getaddrinfo_cancel(push.dns_req);
		push.dns_req = NULL;
	}
	if (push.bev != NULL)
		bufferevent_free(push.bev);
	push.bev = NULL;
	if (push.step_ev != NULL)
		event_del(push.step_ev);
}

/* The push ends with status (0: no answer); why for the log. */
static void
push_finish(unsigned status, const char *why)
{
	push_close();
	push.status = status;
	if (status == 0)
		log_info("push failed account=%llu id=%llu host=%s: %s",
		    (unsigned long long)push.account_id,
		    (unsigned long long)push.id, push.url.host, why);
	else
		log_info("push sent account=%llu id=%llu host=%s status=%u",
		    (unsigned long long)push.account_id,
		    (unsigned long long)push.id, push.url.host, status);
	push.state = PUSH_REPORTING;
	push_report();
}

static void
push_step_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	push_finish(0, push.state == PUSH_RESOLVE ? "resolution timed out" :
	    push.state == PUSH_CONNECT ? "connection timed out" :
	    "no status in time");
}

static void
push_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr eol;
	char line[LMTP_PUSH_LINE_MAX];
	size_t n;
	int code;

	(void)arg;
	eol = evbuffer_search_eol(in, NULL, &n, EVBUFFER_EOL_CRLF);
	if (eol.pos == -1) {
		if (evbuffer_get_length(in) >= sizeof(line))
			push_finish(0, "status line too long");
		return;
	}
	if ((size_t)eol.pos >= sizeof(line)) {
		push_finish(0, "status line too long");
		return;
	}
	evbuffer_remove(in, line, (size_t)eol.pos);
	if ((code = lmtp_push_status_line(line, (size_t)eol.pos)) == -1 ||
	    code < 200) {
		/* 1xx: a server that sends Continue unasked; no matter. */
		if (code != -1 && code < 200) {
			evbuffer_drain(in, n);
			return;
		}
		push_finish(0, "not an HTTP status line");
		return;
	}
	push_finish((unsigned)code, NULL);
}

static void
push_event_cb(struct bufferevent *bev, short what, void *arg)
{
	char err[256];
	long v;

	(void)arg;
	if ((what & BEV_EVENT_CONNECTED) != 0) {
		/* TLS is up: the request waits in the output buffer. */
		push.state = PUSH_REQUEST;
		push_deadline();
		return;
	}
	if (push.state == PUSH_CONNECT) {
		v = SSL_get_verify_result(bufferevent_openssl_get_ssl(bev));
		if (v != X509_V_OK) {
			snprintf(err, sizeof(err), "certificate: %s",
			    X509_verify_cert_error_string(v));
			push_finish(0, err);
			return;
		}
		tls_error_string(bufferevent_get_openssl_error(bev), err,
		    sizeof(err));
		push_finish(0, err[0] != '\0' ? err : "connection failed");
		return;
	}
	push_finish(0, (what & BEV_EVENT_EOF) != 0 ? "closed without a "
	    "status" : "connection lost");
}

/* Connects to sa over TLS with the request queued. */
static void
push_connect(const struct sockaddr *sa, socklen_t salen)
{
	SSL *ssl;

	push.state = PUSH_CONNECT;
	if ((ssl = SSL_new(push.tls_ctx)) == NULL)
		fatalx("push: SSL_new");
	if (!push.url.literal)
		(void)SSL_set_tlsext_host_name(ssl, push.url.host);
	/* RFC 6125 6: the name of the URL, not the address resolved. */
	if (push.url.literal ? X509_VERIFY_PARAM_set1_ip_asc(
	    SSL_get0_param(ssl), push.url.host) != 1 :
	    SSL_set1_host(ssl, push.url.host) != 1)
		fatalx("push: cannot set the name to verify");
	push.bev = bufferevent_openssl_socket_new(worker_base(), -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (push.bev == NULL)
		fatalx("push: bufferevent_openssl_socket_new");
	bufferevent_openssl_set_allow_dirty_shutdown(push.bev, 1);
	bufferevent_setcb(push.bev, push_read_cb, NULL, push_event_cb, NULL);
	bufferevent_enable(push.bev, EV_READ | EV_WRITE);
	evbuffer_add(bufferevent_get_output(push.bev), push.req.data,
	    push.req.len);
	push_deadline();
	if (bufferevent_socket_connect(push.bev, (struct sockaddr *)sa,
	    (int)salen) == -1)
		push_finish(0, "connect failed");
}

/* The first address the filter allows, connected to. */
static void
push_resolved(struct evutil_addrinfo *res)
{
	struct evutil_addrinfo *ai;
	bool refused = false;

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (!lmtp_push_addr_ok(ai->ai_addr, push.allow_local)) {
			refused = true;
			continue;
		}
		((struct sockaddr_in *)ai->ai_addr)->sin_port =
		    htons(push.url.port);
		evutil_inet_ntop(ai->ai_family, ai->ai_family == AF_INET ?
		    (void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
		    (void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr,
		    push.addr, sizeof(push.addr));
		push_connect(ai->ai_addr, (socklen_t)ai->ai_addrlen);
		return;
	}
	push_finish(0, refused ? "address refused (push { allow-local })" :
	    "no address");
}

static void
push_dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	(void)arg;
	if (result == EVUTIL_EAI_CANCEL)
		return;
	push.dns_req = NULL;
	if (result != 0) {
		push_finish(0, evutil_gai_strerror(result));
		return;
	}
	push_resolved(res);
	evutil_freeaddrinfo(res);
}

static void
push_request(const struct ipc_PUSH_TAKE_rep *r)
{
	struct evutil_addrinfo hints, *res = NULL;
	char port[8];

	buf_reset(&push.req);
	buf_printf(&push.req, "POST %s HTTP/1.1\r\nHost: %s%s%s", push.url.path,
	    push.url.v6 ? "[" : "", push.url.host, push.url.v6 ? "]" : "");
	if (push.url.port != 443)
		buf_printf(&push.req, ":%u", push.url.port);
	/* RFC 8030 5, RFC 8291 4 */
	buf_printf(&push.req, "\r\nTTL: %u\r\n", r->ttl);
	if (r->encoding[0] != '\0')
		buf_printf(&push.req, "Content-Type: application/octet-stream"
		    "\r\nContent-Encoding: %s\r\n", r->encoding);
	else
		buf_printf(&push.req, "Content-Type: application/json; "
		    "charset=utf-8\r\n");
	buf_printf(&push.req, "Content-Length: %u\r\nConnection: close\r\n"
	    "\r\n", r->body.len);
	buf_append(&push.req, r->body.p, r->body.len);
	snprintf(port, sizeof(port), "%u", push.url.port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	push.state = PUSH_RESOLVE;
	push_deadline();
	if (push.url.literal) {
		hints.ai_flags = EVUTIL_AI_NUMERICHOST;
		if (evutil_getaddrinfo(push.url.host, port, &hints, &res) !=
		    0) {
			push_finish(0, "bad address");
			return;
		}
		push_resolved(res);
		evutil_freeaddrinfo(res);
		return;
	}
	if (push.dns == NULL) {
		push_finish(0, "no name server");
		return;
	}
	push.dns_req = evdns_getaddrinfo(push.dns, push.url.host, port, &hints,
	    push_dns_cb, NULL);
}

/* --- storaged --- */

static void
push_done_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	(void)c;
	(void)rep;
	(void)arg;
	push.req_id = 0;
	if (st == IPC_S_UNAVAIL)
		return;		/* the new channel gets it again */
	if (st != IPC_S_OK)
		log_warnx("push done status=%s text=\"%s\"",
		    ipc_status_name(st), text);
	push.state = PUSH_IDLE;
	worker_session_remove();
	push_take();
}

static void
push_report(void)
{
	struct ipc_PUSH_DONE_req m;
	struct ipc_chan *store;

	if ((store = worker_store()) == NULL)
		return;		/* lmtp_push_store_renewed reports */
	m.account_id = push.account_id;
	m.id = push.id;
	m.token = push.token;
	m.status = push.status;
	push.req_id = ipc_request(store, IPC_T_PUSH_DONE, 0, &m, push_done_cb,
	    NULL);
}

static void
push_take_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_PUSH_TAKE_rep *r = rep;
	const char *why;

	(void)c;
	(void)arg;
	push.req_id = 0;
	push.state = PUSH_IDLE;
	if (st != IPC_S_OK) {
		if (st != IPC_S_NOTFOUND && st != IPC_S_UNAVAIL)
			log_warnx("push take status=%s text=\"%s\"",
			    ipc_status_name(st), text);
		else if (st == IPC_S_NOTFOUND && push.again) {
			push.again = false;
			push_take();
		}
		return;
	}
	worker_session_add();
	push.account_id = r->account_id;
	push.id = r->id;
	push.token = r->token;
	push.addr[0] = '\0';
	if (lmtp_push_url_parse(r->url, &push.url, &why) == -1) {
		strlcpy(push.url.host, "?", sizeof(push.url.host));
		push.state = PUSH_RESOLVE;
		push_finish(0, why);
		return;
	}
	push_request(r);
}

static void
push_take(void)
{
	struct ipc_chan *store;

	if (push.stopping || push.state != PUSH_IDLE ||
	    (store = worker_store()) == NULL)
		return;
	push.state = PUSH_TAKING;
	push.again = false;
	push.req_id = ipc_request(store, IPC_T_PUSH_TAKE, 0, NULL,
	    push_take_cb, NULL);
}

/* --- Scheduling --- */

static void
push_poll_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	push_take();
}

void
lmtp_push_start(void)
{
	struct timeval tv = { LMTP_PUSH_POLL, 0 };
	size_t i;

	if ((push.poll_ev = event_new(worker_base(), -1, EV_PERSIST,
	    push_poll_cb, NULL)) == NULL ||
	    (push.step_ev = evtimer_new(worker_base(), push_step_cb,
	    NULL)) == NULL)
		fatalx("push: event_new");
	if (push.nns > 0) {
		if ((push.dns = evdns_base_new(worker_base(), 0)) == NULL)
			fatalx("push: evdns_base_new");
		for (i = 0; i < push.nns; i++)
			if (evdns_base_nameserver_ip_add(push.dns,
			    push.ns[i]) != 0)
				log_warnx("push: name server %s refused",
				    push.ns[i]);
	}
	event_add(push.poll_ev, &tv);
	log_debug("push on nameservers=%zu allow_local=%d timeout=%u",
	    push.nns, push.allow_local, push.timeout);
	push_take();
}

void
lmtp_push_wake(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	(void)c;
	(void)f;
	(void)msg;
	(void)arg;
	if (push.state != PUSH_IDLE)
		push.again = true;
	else
		push_take();
}

void
lmtp_push_store_renewed(struct ipc_chan *store)
{
	(void)store;
	if (push.state == PUSH_REPORTING && push.req_id == 0)
		push_report();
	else if (push.state == PUSH_TAKING && push.req_id == 0) {
		push.state = PUSH_IDLE;
		push_take();
	} else
		push_take();
}

void
lmtp_push_shutdown(void)
{
	push.stopping = true;
	if (push.poll_ev != NULL)
		event_del(push.poll_ev);
}

void
lmtp_push_end(void)
{
	push_close();
	if (push.poll_ev != NULL)
		event_free(push.poll_ev);
	if (push.step_ev != NULL)
		event_free(push.step_ev);
	if (push.dns != NULL)
		evdns_base_free(push.dns, 0);
	push.poll_ev = push.step_ev = NULL;
	push.dns = NULL;
	SSL_CTX_free(push.tls_ctx);
	push.tls_ctx = NULL;
	buf_clear(&push.req);
	buf_clear(&push.ca);
}
