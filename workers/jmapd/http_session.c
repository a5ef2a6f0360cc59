/* SPDX-License-Identifier: ISC */
/*
 * http_session.c: one HTTP/1.1 connection of jmapd (see http_session.h):
 * the input loop over lib/http.h's parser, persistence and pipelining
 * (RFC 9112 9.3), Expect: 100-continue (RFC 9110 10.1.1), the routing of
 * the JMAP resources (RFC 8620 2.2 /.well-known/jmap, 2 the session
 * resource, 3.1 the API endpoint), HTTP Basic authentication (RFC 7617)
 * checked by storaged, and the responses.
 *
 * A request is answered before the next one is read, so responses keep
 * the order of their requests without a queue.  The socket, TLS, timeouts
 * and closing are lib/conn.h's; a session is freed only from its conn's
 * end callback.
 */
#include "http_blob.h"
#include "http_push.h"
#include "http_session.h"
#include "http_encode.h"
#include "jmap_api.h"
#include "jmapd.h"
#include "json.h"
#include "compat.h"
#include "conn.h"
#include "ipc.h"
#include "log.h"
#include "worker.h"
#include "xmalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#define HTTP_IN_HIGH		(64 * 1024)	/* read ahead */
#define HTTP_OUT_HIGH		(256 * 1024)	/* stop reading above */
/*
 * A request's head must be in within HTTP_HEAD_SECS (or the idle timeout
 * if shorter) of its first byte,
 * its body within HTTP_BODY_SECS plus a second for each HTTP_BODY_RATE
 * bytes: a client that trickles a request holds no connection for long.
 */
#define HTTP_HEAD_SECS		30
#define HTTP_BODY_SECS		60
#define HTTP_BODY_RATE		(16 * 1024)
/* Responses from this size on are compressed when the client takes it. */
#define HTTP_GZIP_MIN		1024
#define HTTP_WS_DEFLATE_MIN	256	/* WebSocket messages, RFC 7692 */
#define HTTP_FILE_PIECE		(256 * 1024)	/* of a download, copied */
#define HTTP_UPLOAD_SPILL	(256 * 1024)	/* body kept before the memfd */

/* The resources of RFC 8620 and where they live. */
#define JMAP_WELL_KNOWN		"/.well-known/jmap"
#define JMAP_SESSION_PATH	"/jmap/session"
#define JMAP_API_PATH		"/jmap/api"
#define JMAP_WS_PATH		"/jmap/ws"
#define JMAP_EVENTS_PATH	"/jmap/eventsource"

static void	http_session_input(struct http_session *);
static void	http_session_ws_open(struct http_session *);
static void	http_session_deadline_stop(struct http_session *);
static void	http_cors_fields(struct buf *, const struct http_request *);
static void	http_session_response_end(struct http_session *);

/* A key for the hashes of Authorization values, new in every process. */
static uint8_t	http_auth_key[crypto_generichash_KEYBYTES];
static bool	http_auth_key_set;

void
http_session_log(struct http_session *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	conn_log(s->conn, "%s", line);
}

/*
 * The head of a response whose body is a stream without a length (RFC
 * 9112 6.3: it ends with the connection); the connection then only
 * writes (state HS_STREAM).
 */
void
http_session_stream_begin(struct http_session *s, const char *type,
    const char *extra)
{
	const struct http_request *req = &s->parser.req;

	http_response_head(s->out, 200, time(NULL));
	buf_printf(s->out, "Content-Type: %s\r\n", type);
	http_cors_fields(s->out, req);
	if (extra != NULL)
		buf_append(s->out, extra, strlen(extra));
	buf_append(s->out, "Connection: close\r\n\r\n", 21);
	conn_flush(s->conn);
	http_session_log(s, "stream %s", req->path);
	s->state = HS_STREAM;
	s->keep_alive = false;
	buf_reset(&s->body);
	conn_resume(s->conn);
}

/* Sends the file's next pieces; ends the response after the last. */
static void
http_session_file_pump(struct http_session *s)
{
	size_t want;
	ssize_t n;

	while (s->file_off < s->file_len) {
		if (conn_is_closing(s->conn))
			return;
		if (conn_out_pending(s->conn) >= HTTP_OUT_HIGH) {
			/* The drained callback comes back here. */
			conn_flush(s->conn);
			return;
		}
		if (conn_sendfile(s->conn, s->file_fd, &s->file_off,
		    s->file_len - s->file_off) > 0)
			continue;
		want = s->file_len - s->file_off > HTTP_FILE_PIECE ?
		    HTTP_FILE_PIECE : (size_t)(s->file_len - s->file_off);
		buf_reserve(s->out, want);
		n = pread(s->file_fd, buf_tail(s->out), want,
		    (off_t)s->file_off);
		if (n <= 0) {
			http_session_log(s, "download read failed");
			conn_close(s->conn, "download read failed");
			return;
		}
		buf_commit(s->out, (size_t)n);
		s->file_off += (uint64_t)n;
		conn_flush(s->conn);
	}
	close(s->file_fd);
	s->file_fd = -1;
	conn_resume(s->conn);
	http_session_response_end(s);
}

void
http_session_respond_file(struct http_session *s, int status,
    const char *type, int fd, uint64_t len, const char *extra)
{
	const struct http_request *req = &s->parser.req;

	http_response_head(s->out, status, time(NULL));
	buf_printf(s->out, "Content-Type: %s\r\n", type);
	http_cors_fields(s->out, req);
	buf_printf(s->out, "Content-Length: %llu\r\n",
	    (unsigned long long)len);
	if (extra != NULL)
		buf_append(s->out, extra, strlen(extra));
	if (!s->keep_alive || s->shutdown)
		buf_append(s->out, "Connection: close\r\n", 19);
	buf_append(s->out, "\r\n", 2);
	conn_flush(s->conn);
	if (req->method == HTTP_M_HEAD || len == 0) {
		close(fd);
		http_session_response_end(s);
		return;
	}
	s->file_fd = fd;
	s->file_off = 0;
	s->file_len = len;
	conn_pause(s->conn);
	http_session_file_pump(s);
}

struct buf *
http_session_body(struct http_session *s)
{
	return &s->body;
}

void
http_session_wait(struct http_session *s, uint32_t req_id)
{
	s->req_id = req_id;
}

void
http_session_ws_send(struct http_session *s, const void *p, size_t len)
{
	if (s->state != HS_WS || conn_is_closing(s->conn))
		return;
	if (s->ws_bits > 0 && len >= HTTP_WS_DEFLATE_MIN)
		ws_frame_deflate(s->out, WS_OP_TEXT, p, len, s->ws_bits);
	else
		ws_frame(s->out, WS_OP_TEXT, p, len);
	conn_flush(s->conn);
}

const struct http_request *
http_session_request(const struct http_session *s)
{
	return &s->parser.req;
}

/* --- CORS (the Fetch standard, 3.2) --- */

/*
 * The Access-Control-Allow-Origin value for the request's Origin, or NULL
 * when the configuration does not let that origin read responses.
 * Credentials are the Authorization field the page's script sets, never
 * cookies, so "*" is safe for those who want it.
 */
static const char *
http_cors_origin(const struct http_request *req)
{
	const char *list = jmapd_conf()->cors_origins, *origin, *p, *end;
	size_t len;

	if (list[0] == '\0' ||
	    (origin = http_header_get(req, "origin")) == NULL)
		return NULL;
	if (strcmp(list, "*") == 0)
		return "*";
	len = strlen(origin);
	for (p = list; *p != '\0'; p = end) {
		while (*p == ' ')
			p++;
		if ((end = strchr(p, ' ')) == NULL)
			end = p + strlen(p);
		/* RFC 6454 6.2: the serialization, host in lower case. */
		if ((size_t)(end - p) == len &&
		    strncasecmp(p, origin, len) == 0)
			return origin;
	}
	return NULL;
}

static void
http_cors_fields(struct buf *out, const struct http_request *req)
{
	const char *allow;

	if (jmapd_conf()->cors_origins[0] == '\0')
		return;
	if ((allow = http_cors_origin(req)) != NULL) {
		buf_append(out, "Access-Control-Allow-Origin: ", 29);
		buf_append(out, allow, strlen(allow));
		buf_append(out, "\r\n", 2);
	}
	/* The answer depends on Origin unless every origin may read it. */
	if (strcmp(jmapd_conf()->cors_origins, "*") != 0)
		buf_append(out, "Vary: Origin\r\n", 14);
}

/*
 * A CORS preflight (OPTIONS with Access-Control-Request-Method): what
 * the page may send.  It carries no credentials and needs none.
 */
static void
http_session_preflight(struct http_session *s)
{
	const struct http_request *req = &s->parser.req;

	if (http_cors_origin(req) == NULL) {
		http_session_respond(s, 204, NULL, NULL, 0, NULL);
		return;
	}
	http_session_respond(s, 204, NULL, NULL, 0,
	    "Access-Control-Allow-Methods: GET, HEAD, POST, OPTIONS\r\n"
	    "Access-Control-Allow-Headers: Authorization, Content-Type, "
	    "Accept, Accept-Encoding, Accept-Language\r\n"
	    "Access-Control-Max-Age: 600\r\n");
}

/* --- Responses --- */

void
http_session_respond(struct http_session *s, int status, const char *type,
    const void *body, size_t len, const char *extra)
{
	const struct http_request *req = &s->parser.req;
	struct buf z = BUF_INIT;
	bool vary;

	/* RFC 9110 8.4: gzip when asked, for what is worth compressing. */
	vary = type != NULL && len >= HTTP_GZIP_MIN;
	if (vary && http_accepts_gzip(http_header_get(req,
	    "accept-encoding")) && http_gzip(&z, body, len) == 0) {
		body = z.data;
		len = z.len;
	}
	http_response_head(s->out, status, time(NULL));
	if (type != NULL)
		buf_printf(s->out, "Content-Type: %s\r\n", type);
	if (z.len > 0)
		buf_append(s->out, "Content-Encoding: gzip\r\n", 24);
	if (vary)
		buf_append(s->out, "Vary: Accept-Encoding\r\n", 23);
	http_cors_fields(s->out, req);
	/* RFC 9110 8.6: no Content-Length in a 204. */
	if (status != 204)
		buf_printf(s->out, "Content-Length: %zu\r\n", len);
	if (extra != NULL)
		buf_append(s->out, extra, strlen(extra));
	if (!s->keep_alive || s->shutdown)
		buf_append(s->out, "Connection: close\r\n", 19);
	buf_append(s->out, "\r\n", 2);
	/* RFC 9110 9.3.2: HEAD gets the fields of GET and no content. */
	if (len > 0 && req->method != HTTP_M_HEAD)
		buf_append(s->out, body, len);
	buf_clear(&z);
	conn_flush(s->conn);
	if (LOG_IS_TRACE(LOG_TRACE_JMAP))
		log_trace(LOG_TRACE_JMAP, "%016llx %s %s %d %zu",
		    (unsigned long long)conn_id(s->conn),
		    req->method_name != NULL ? req->method_name : "-",
		    req->path != NULL ? req->path : "-", status, len);
	http_session_response_end(s);
}

/* The response is written: the next request, or the end. */
static void
http_session_response_end(struct http_session *s)
{
	buf_reset(&s->body);
	if (s->up_fd != -1)
		close(s->up_fd);
	s->up_fd = -1;
	s->up_len = 0;
	if (!s->keep_alive || s->shutdown) {
		conn_close(s->conn, s->shutdown ? "shutdown" : "done");
		return;
	}
	s->state = HS_HEAD;
	http_parser_reset(&s->parser);
	conn_resume(s->conn);
	if (!s->processing)
		http_session_input(s);
}

void
http_session_problem(struct http_session *s, int status, const char *type,
    const char *detail)
{
	struct buf b = BUF_INIT;

	jmap_problem(&b, status, type, NULL, detail);
	http_session_respond(s, status, JMAP_PROBLEM_TYPE, b.data, b.len,
	    NULL);
	buf_clear(&b);
}

/* --- Authentication (RFC 7617 over RFC 9110 11) --- */

static void
http_session_unauthorized(struct http_session *s, const char *detail)
{
	struct buf b = BUF_INIT;

	jmap_problem(&b, 401, NULL, NULL, detail);
	/* RFC 7617 2.1: the charset parameter says UTF-8 is expected. */
	http_session_respond(s, 401, JMAP_PROBLEM_TYPE, b.data, b.len,
	    "WWW-Authenticate: Basic realm=\"Bulwark\", "
	    "charset=\"UTF-8\"\r\n");
	buf_clear(&b);
}

static void
http_session_auth_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg)
{
	const struct ipc_AUTH_rep *r = rep;
	struct http_session *s = arg;
	char user[256];

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		memset(s->auth_mac, 0, sizeof(s->auth_mac));
		/* The name is the client's: quoted and escaped for the log. */
		http_session_log(s, "auth failed user=%s: %s",
		    conn_log_value(user, sizeof(user), s->username,
		    s->username != NULL ? strlen(s->username) : 0),
		    text != NULL ? text : "refused");
		if (st == IPC_S_UNAVAIL)
			http_session_problem(s, 503, NULL,
			    "The store is unavailable, try again");
		else
			http_session_unauthorized(s, "Authentication failed");
		return;
	}
	s->account_id = r->account_id;
	free(s->username);
	s->username = xstrdup(r->username);
	http_session_log(s, "login user=%s tls=%d", conn_log_value(user,
	    sizeof(user), s->username, strlen(s->username)),
	    conn_is_tls(s->conn));
	s->auth_cont(s);
}

/*
 * Checks the request's credentials, then runs cont; or answers 401.  The
 * storaged session of the connection is bound to one account: another
 * account's credentials on the same connection open a new one.
 */
static void
http_session_auth(struct http_session *s, void (*cont)(struct http_session *))
{
	const struct http_request *req = &s->parser.req;
	struct ipc_AUTH_req m;
	struct ipc_chan *store;
	const char *v;
	uint8_t mac[32], *bin, *colon;
	size_t vlen, max, binlen = 0;

	if ((v = http_header_get(req, "authorization")) == NULL ||
	    strncasecmp(v, "Basic ", 6) != 0) {
		http_session_unauthorized(s, "Authentication required");
		return;
	}
	if (!conn_is_tls(s->conn) && !jmapd_conf()->cleartext_auth) {
		/* The password crossed the network in clear already. */
		http_session_problem(s, 403, NULL, "Authentication needs TLS "
		    "(https) on this server");
		return;
	}
	v += 6;
	while (*v == ' ')
		v++;
	vlen = strlen(v);
	crypto_generichash(mac, sizeof(mac), (const uint8_t *)v, vlen,
	    http_auth_key, sizeof(http_auth_key));
	if (s->account_id != 0 &&
	    sodium_memcmp(mac, s->auth_mac, sizeof(mac)) == 0) {
		cont(s);
		return;
	}
	if ((store = worker_store()) == NULL) {
		http_session_problem(s, 503, NULL, "The store is unavailable, "
		    "try again");
		return;
	}
	max = vlen / 4 * 3 + 3;
	bin = xmalloc(max + 1);
	if (sodium_base642bin(bin, max, v, vlen, NULL, &binlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    (colon = memchr(bin, ':', binlen)) == NULL ||
	    memchr(bin, '\0', binlen) != NULL) {
		sodium_memzero(bin, max + 1);
		free(bin);
		http_session_unauthorized(s, "Malformed Basic credentials");
		return;
	}
	bin[binlen] = '\0';
	*colon = '\0';
	if (s->account_id != 0) {
		/* Other credentials: the old binding ends. */
		ipc_send(store, IPC_T_SESSION_CLOSE, conn_id(s->conn), NULL,
		    -1);
		conn_send_open(s->conn, store, "http");
		s->account_id = 0;
	}
	memcpy(s->auth_mac, mac, sizeof(mac));
	free(s->username);
	s->username = xstrdup((char *)bin);
	memset(&m, 0, sizeof(m));
	m.mech = "BASIC";
	m.authzid = "";
	m.username = (char *)bin;
	m.password = (char *)colon + 1;
	s->auth_cont = cont;
	s->req_id = ipc_request(store, IPC_T_AUTH, conn_id(s->conn), &m,
	    http_session_auth_cb, s);
	sodium_memzero(bin, max + 1);
	free(bin);
}

/* --- Resources --- */

static void
http_session_ws_push(void *arg, const struct json *msg)
{
	http_push_ws(arg, msg);
}

/*
 * RFC 8620 2 maxConcurrentRequests: more requests of the account waiting
 * in this process are refused (3.6.1 limit).  Counted per process: with
 * several jmapd workers an account may run that many in each.
 */
static bool
http_session_over_limit(struct http_session *s, const struct jmap_env *env,
    jmap_done_fn *done)
{
	if (jmapd_requests_running(s->account_id) <
	    jmapd_conf()->max_concurrent_requests)
		return false;
	http_session_log(s, "request refused: maxConcurrentRequests");
	jmap_api_refuse(env, "maxConcurrentRequests", "Too many requests of "
	    "this account are running; wait for their answers", done, s);
	return true;
}

/* Who asks, for jmap_api_start. */
static void
http_session_env(const struct http_session *s, struct jmap_env *env,
    bool ws)
{
	const struct jmapd_conf *conf = jmapd_conf();

	memset(env, 0, sizeof(*env));
	env->account_id = s->account_id;
	env->username = s->username;
	env->session = conn_id(s->conn);
	env->hostname = conf->hostname;
	env->max_calls_in_request = conf->max_calls_in_request;
	env->max_objects_in_get = conf->max_objects_in_get;
	env->max_objects_in_set = conf->max_objects_in_set;
	env->ws = ws;
	if (ws) {
		env->ws_push = http_session_ws_push;
		env->ws_push_arg = (void *)s;
	}
}

static void
http_session_api_done(void *arg, int status, const char *ctype,
    const struct buf *body)
{
	struct http_session *s = arg;

	s->jreq = NULL;
	http_session_respond(s, status, ctype, body->data, body->len,
	    status == 200 ? "Cache-Control: no-cache, no-store, "
	    "must-revalidate\r\n" : NULL);
}

static void
http_session_api(struct http_session *s)
{
	struct jmap_env env;
	struct jmap_req *r;

	http_session_env(s, &env, false);
	if (http_session_over_limit(s, &env, http_session_api_done))
		return;
	r = jmap_api_start(&env, http_header_get(&s->parser.req,
	    "content-type"), s->body.data, s->body.len, http_session_api_done,
	    s);
	if (r != NULL)
		s->jreq = r;
}

static void
http_session_session(struct http_session *s)
{
	const struct http_request *req = &s->parser.req;
	struct buf b = BUF_INIT;
	const char *host;
	char base[300], url[300];

	/*
	 * The URLs on the host the client asked for, with its scheme; RFC
	 * 8887 4: a wss-URI (ws: on a cleartext port).
	 */
	host = req->host != NULL && req->host[0] != '\0' ? req->host :
	    jmapd_conf()->hostname;
	snprintf(base, sizeof(base), "%s://%.256s", conn_is_tls(s->conn) ?
	    "https" : "http", host);
	snprintf(url, sizeof(url), "%s://%.256s%s", conn_is_tls(s->conn) ?
	    "wss" : "ws", host, JMAP_WS_PATH);
	jmap_session_write(&b, jmapd_conf(), s->account_id, s->username,
	    base, url);
	http_session_respond(s, 200, "application/json", b.data, b.len,
	    "Cache-Control: no-cache, no-store, must-revalidate\r\n");
	buf_clear(&b);
}

static void
http_session_route(struct http_session *s)
{
	const struct http_request *req = &s->parser.req;
	bool get = req->method == HTTP_M_GET || req->method == HTTP_M_HEAD;

	http_session_deadline_stop(s);
	s->state = HS_BUSY;
	s->keep_alive = req->keep_alive;
	if (req->method == HTTP_M_OPTIONS &&
	    http_header_get(req, "access-control-request-method") != NULL) {
		http_session_preflight(s);
		return;
	}
	if (strcmp(req->path, JMAP_WELL_KNOWN) == 0) {
		/* RFC 8620 2.2: a redirect to the session resource. */
		if (!get)
			http_session_respond(s, 405, NULL, NULL, 0,
			    "Allow: GET, HEAD\r\n");
		else
			http_session_respond(s, 307, NULL, NULL, 0,
			    "Location: " JMAP_SESSION_PATH "\r\n");
		return;
	}
	if (strcmp(req->path, JMAP_SESSION_PATH) == 0) {
		if (!get)
			http_session_respond(s, 405, NULL, NULL, 0,
			    "Allow: GET, HEAD\r\n");
		else
			http_session_auth(s, http_session_session);
		return;
	}
	if (strcmp(req->path, JMAP_WS_PATH) == 0) {
		if (req->method != HTTP_M_GET)
			http_session_respond(s, 405, NULL, NULL, 0,
			    "Allow: GET\r\n");
		else
			http_session_auth(s, http_session_ws_open);
		return;
	}
	if (http_blob_is_upload(req->path)) {
		if (req->method != HTTP_M_POST)
			http_session_respond(s, 405, NULL, NULL, 0,
			    "Allow: POST\r\n");
		else
			http_session_auth(s, http_blob_upload);
		return;
	}
	if (strncmp(req->path, JMAP_DOWNLOAD_PREFIX,
	    strlen(JMAP_DOWNLOAD_PREFIX)) == 0) {
		if (!get)
			http_session_respond(s, 405, NULL, NULL, 0,
			    "Allow: GET, HEAD\r\n");
		else
			http_session_auth(s, http_blob_download);
		return;
	}
	if (strcmp(req->path, JMAP_EVENTS_PATH) == 0 ||
	    strcmp(req->path, JMAP_EVENTS_PATH "/") == 0) {
		if (!get)
			http_session_respond(s, 405, NULL, NULL, 0,
			    "Allow: GET, HEAD\r\n");
		else
			http_session_auth(s, http_push_eventsource);
		return;
	}
	if (strcmp(req->path, JMAP_API_PATH) == 0 ||
	    strcmp(req->path, JMAP_API_PATH "/") == 0) {
		if (req->method != HTTP_M_POST)
			http_session_respond(s, 405, NULL, NULL, 0,
			    "Allow: POST\r\n");
		else
			http_session_auth(s, http_session_api);
		return;
	}
	http_session_problem(s, 404, NULL, "No such resource");
}

/* --- JMAP over WebSocket (RFC 8887, RFC 6455) --- */

static void
http_ws_close(struct http_session *s, int code, const char *reason)
{
	ws_close_frame(s->out, code, reason);
	conn_flush(s->conn);
	conn_close(s->conn, code == WS_CLOSE_NORMAL ? "websocket closed" :
	    reason);
}

/* The answer to a request that came as a WebSocket message. */
static void
http_ws_done(void *arg, int status, const char *ctype,
    const struct buf *b)
{
	struct http_session *s = arg;

	(void)ctype;
	s->jreq = NULL;
	s->ws_busy = false;
	if (conn_is_closing(s->conn))
		return;
	/* 204: a push setting, which has no answer (RFC 8887 4.3.5). */
	if (status != 204)
		http_session_ws_send(s, b->data, b->len);
	/* From the event loop: the messages read meanwhile come next. */
	if (!s->processing)
		http_session_input(s);
}

/* One whole message from the client. */
static void
http_ws_message(struct http_session *s)
{
	struct ws_reader *r = &s->ws;
	struct jmap_env env;
	struct jmap_req *jr;
	int code;

	switch (r->opcode) {
	case WS_OP_TEXT:
		/* One request at a time: reading waits for its answer. */
		s->ws_busy = true;
		http_session_env(s, &env, true);
		if (http_session_over_limit(s, &env, http_ws_done))
			break;
		jr = jmap_api_start(&env, NULL, r->payload.data,
		    r->payload.len, http_ws_done, s);
		if (jr != NULL)
			s->jreq = jr;
		break;
	case WS_OP_BINARY:
		/* RFC 8887 4.3.1 */
		http_ws_close(s, WS_CLOSE_UNSUPPORTED, "binary messages are "
		    "not JMAP");
		break;
	case WS_OP_PING:
		/* RFC 6455 5.5.3: the same application data. */
		ws_frame(s->out, WS_OP_PONG, r->payload.data, r->payload.len);
		break;
	case WS_OP_CLOSE:
		/* 5.5.1: answer with the code received, if any. */
		code = r->payload.len >= 2 ? r->payload.data[0] << 8 |
		    r->payload.data[1] : WS_CLOSE_NORMAL;
		http_ws_close(s, code, "");
		break;
	default:			/* pong: nothing to do */
		break;
	}
}

static bool
http_ws_input(struct http_session *s)
{
	enum ws_result r;
	size_t used = 0;

	r = ws_read(&s->ws, s->in->data, s->in->len, &used);
	buf_consume(s->in, used);
	if (r == WS_ERROR) {
		http_ws_close(s, s->ws.code, s->ws.reason);
		return false;
	}
	if (r == WS_MESSAGE) {
		http_ws_message(s);
		return !conn_is_closing(s->conn);
	}
	return used > 0;
}

/*
 * The opening handshake (RFC 6455 4.2.1, 4.2.2) with the JMAP
 * subprotocol (RFC 8887 4.2), after the credentials were checked.
 */
static void
http_session_ws_open(struct http_session *s)
{
	const struct http_request *req = &s->parser.req;
	struct buf offers = BUF_INIT;
	const char *key;
	char accept[29], ext[128];
	uint8_t raw[32];
	size_t rawlen = 0;

	key = http_header_get(req, "sec-websocket-key");
	if (!http_header_has_token(req, "upgrade", "websocket") ||
	    !http_header_has_token(req, "connection", "upgrade") ||
	    key == NULL || sodium_base642bin(raw, sizeof(raw), key,
	    strlen(key), NULL, &rawlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || rawlen != 16) {
		http_session_problem(s, 400, NULL, "Not a WebSocket opening "
		    "handshake");
		return;
	}
	if (!http_header_has_token(req, "sec-websocket-version", "13")) {
		http_session_respond(s, 426, NULL, NULL, 0,
		    "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n");
		return;
	}
	if (!http_header_has_token(req, "sec-websocket-protocol", "jmap")) {
		http_session_problem(s, 400, NULL, "The WebSocket subprotocol "
		    "must be jmap (RFC 8887)");
		return;
	}
	ws_accept_key(key, accept);
	/* RFC 7692: every field's offers, in order. */
	(void)http_header_list(req, "sec-websocket-extensions", &offers);
	buf_append(&offers, "", 1);
	s->ws_bits = 0;
	if (!ws_deflate_accept((const char *)offers.data, ext, sizeof(ext),
	    &s->ws_bits))
		s->ws_bits = 0;
	buf_clear(&offers);
	http_response_head(s->out, 101, time(NULL));
	buf_printf(s->out, "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: jmap\r\n",
	    accept);
	if (s->ws_bits > 0)
		buf_printf(s->out, "Sec-WebSocket-Extensions: %s\r\n", ext);
	http_cors_fields(s->out, req);
	buf_append(s->out, "\r\n", 2);
	conn_flush(s->conn);
	http_session_log(s, "websocket open");
	ws_reader_init(&s->ws, jmapd_conf()->max_size_request);
	s->ws.deflate = s->ws_bits > 0;
	s->state = HS_WS;
	buf_reset(&s->body);
	conn_resume(s->conn);
	if (!s->processing)
		http_session_input(s);
}

/* --- The input loop --- */

static void
http_session_deadline_cb(int fd, short what, void *arg)
{
	struct http_session *s = arg;

	(void)fd;
	(void)what;
	s->deadline_set = false;
	if (s->state == HS_BUSY || conn_is_closing(s->conn))
		return;
	http_session_log(s, "request timeout");
	s->state = HS_BUSY;
	s->keep_alive = false;
	http_session_problem(s, 408, NULL, "The request took too long to "
	    "arrive");
}

static void
http_session_deadline(struct http_session *s, int secs)
{
	struct timeval tv = { secs, 0 };

	if (s->deadline == NULL)
		s->deadline = evtimer_new(worker_base(),
		    http_session_deadline_cb, s);
	evtimer_add(s->deadline, &tv);
	s->deadline_set = true;
}

static void
http_session_deadline_stop(struct http_session *s)
{
	if (s->deadline_set)
		evtimer_del(s->deadline);
	s->deadline_set = false;
}

/* A request that cannot be read: its status, and the connection ends. */
static void
http_session_bad(struct http_session *s)
{
	http_session_deadline_stop(s);
	s->state = HS_BUSY;
	s->keep_alive = false;
	http_session_problem(s, s->parser.status, NULL, s->parser.reason);
}

static bool
http_session_head(struct http_session *s)
{
	const struct jmapd_conf *conf = jmapd_conf();
	const struct http_request *req = &s->parser.req;
	size_t used = 0;
	uint64_t max;
	int r;

	/*
	 * A head may announce the larger body of an upload; once the path
	 * is known the body gets its own limit (RFC 8620 2: maxSizeUpload,
	 * maxSizeRequest).
	 */
	s->parser.limits.max_body = conf->max_size_upload >
	    conf->max_size_request ? conf->max_size_upload :
	    conf->max_size_request;
	r = http_parse(&s->parser, s->in->data, s->in->len, &used);
	buf_consume(s->in, used);
	if (r == HTTP_PARSE_ERROR) {
		http_session_bad(s);
		return false;
	}
	if (r == HTTP_PARSE_MORE)
		return used > 0;
	if (req->body_kind == HTTP_BODY_NONE) {
		http_session_route(s);
		return true;
	}
	max = http_blob_is_upload(req->path) ? conf->max_size_upload :
	    conf->max_size_request;
	s->parser.limits.max_body = max;
	if (req->body_kind == HTTP_BODY_LENGTH && req->content_length > max) {
		s->parser.status = 413;
		s->parser.reason = "Content too large";
		http_session_bad(s);
		return false;
	}
	if (http_blob_is_upload(req->path) && req->method == HTTP_M_POST &&
	    !http_blob_upload_begin(s))
		return false;
	/* RFC 9110 10.1.1: the client waits for this before the body. */
	if (s->parser.req.expect_continue && s->in->len == 0) {
		buf_append(s->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		conn_flush(s->conn);
	}
	s->state = HS_BODY;
	http_session_deadline(s, HTTP_BODY_SECS + (int)((s->parser.req.
	    body_kind == HTTP_BODY_LENGTH ? s->parser.req.content_length :
	    s->parser.limits.max_body) / HTTP_BODY_RATE));
	return true;
}

static bool
http_session_read_body(struct http_session *s)
{
	size_t used = 0;
	int r;

	r = http_parse_body(&s->parser, s->in->data, s->in->len, &used,
	    &s->body);
	buf_consume(s->in, used);
	if (r == HTTP_PARSE_ERROR) {
		http_session_bad(s);
		return false;
	}
	if (s->up_fd != -1 && s->body.len >= HTTP_UPLOAD_SPILL &&
	    !http_blob_upload_spill(s)) {
		s->parser.status = 500;
		s->parser.reason = "The upload could not be kept";
		http_session_bad(s);
		return false;
	}
	if (r == HTTP_PARSE_DONE) {
		http_session_route(s);
		return true;
	}
	return used > 0;
}

static void
http_session_input(struct http_session *s)
{
	bool progress;

	if (s->processing)
		return;
	s->processing = true;
	/* A stream's client has nothing more to say: what it sends goes. */
	if (s->state == HS_STREAM)
		buf_reset(s->in);
	while (s->state == HS_WS && !s->ws_busy &&
	    conn_may_read(s->conn, HTTP_OUT_HIGH)) {
		if (!http_ws_input(s) && !conn_pull(s->conn))
			break;
	}
	while ((s->state == HS_HEAD || s->state == HS_BODY) &&
	    conn_may_read(s->conn, HTTP_OUT_HIGH)) {
		/* The clock of a request starts with its first byte. */
		if (s->state == HS_HEAD && !s->deadline_set && s->in->len > 0)
			http_session_deadline(s, jmapd_conf()->idle_timeout <
			    HTTP_HEAD_SECS ? (int)jmapd_conf()->idle_timeout :
			    HTTP_HEAD_SECS);
		progress = s->state == HS_HEAD ? http_session_head(s) :
		    http_session_read_body(s);
		if (s->state == HS_BUSY)
			break;
		if (!progress && !conn_pull(s->conn))
			break;
	}
	s->processing = false;
	conn_flush(s->conn);
}

/* --- Connection callbacks --- */

static void
http_session_input_cb(void *arg)
{
	http_session_input(arg);
}

/* RFC 9112 9.8: an idle persistent connection may close at any time. */
static void
http_session_idle_cb(void *arg)
{
	(void)arg;
}

static void
http_session_end_cb(void *arg)
{
	struct http_session *s = arg;

	http_session_free(&s);
}

static void
http_session_drained_cb(void *arg)
{
	struct http_session *s = arg;

	if (s->file_fd != -1)
		http_session_file_pump(s);
}

static const struct conn_cb http_session_cb = {
	.input = http_session_input_cb,
	.idle = http_session_idle_cb,
	.end = http_session_end_cb,
	.drained = http_session_drained_cb,
};

/* --- Life cycle --- */

struct http_session *
http_session_new(int fd, const struct sockaddr *sa, socklen_t salen,
    bool tls)
{
	struct http_session *s;
	struct http_limits lim;

	if (!http_auth_key_set) {
		randombytes_buf(http_auth_key, sizeof(http_auth_key));
		http_auth_key_set = true;
	}
	s = xcalloc(1, sizeof(*s));
	if ((s->conn = conn_new(fd, sa, salen, tls,
	    (int)jmapd_conf()->idle_timeout, HTTP_IN_HIGH, &http_session_cb,
	    s)) == NULL) {
		free(s);
		return NULL;
	}
	s->in = conn_in(s->conn);
	s->out = conn_out(s->conn);
	memset(&lim, 0, sizeof(lim));
	lim.max_line = jmapd_conf()->max_line;
	lim.max_header_bytes = 64 * 1024;
	lim.max_headers = 100;
	lim.max_body = jmapd_conf()->max_size_request;
	http_parser_init(&s->parser, &lim);
	s->state = HS_HEAD;
	s->up_fd = -1;
	s->file_fd = -1;
	jmapd_session_add(s);
	http_session_log(s, "connect remote=%s local=%s",
	    conn_remote(s->conn), conn_local(s->conn));
	if (worker_store() != NULL)
		conn_send_open(s->conn, worker_store(), "http");
	return s;
}

void
http_session_free(struct http_session **sp)
{
	struct http_session *s = *sp;
	struct ipc_chan *store = worker_store();

	*sp = NULL;
	if (s == NULL)
		return;
	jmap_api_cancel(&s->jreq);
	http_push_stop(s);
	if (s->up_fd != -1)
		close(s->up_fd);
	if (s->file_fd != -1)
		close(s->file_fd);
	http_blob_free(s);
	if (store != NULL) {
		if (s->req_id != 0)
			ipc_cancel(store, s->req_id);
		ipc_send(store, IPC_T_SESSION_CLOSE, conn_id(s->conn), NULL,
		    -1);
	}
	jmapd_session_remove(s);
	if (s->deadline != NULL)
		event_free(s->deadline);
	if (s->state == HS_WS)
		ws_reader_clear(&s->ws);
	http_parser_clear(&s->parser);
	buf_clear(&s->body);
	free(s->username);
	conn_free(&s->conn);
	free(s);
}

void
http_session_shutdown(struct http_session *s)
{
	s->shutdown = true;
	if (s->state == HS_WS && !conn_is_closing(s->conn)) {
		http_ws_close(s, WS_CLOSE_GOING_AWAY, "server shutting down");
		return;
	}
	/* A request being answered closes the connection when it is done. */
	if (s->state == HS_BUSY || conn_is_closing(s->conn))
		return;
	conn_close(s->conn, "shutdown");
}

void
http_session_store_renewed(struct http_session *s, struct ipc_chan *store)
{
	/*
	 * A new storaged knows neither the session nor its watch: a pushing
	 * connection ends (the client comes back with its last state and
	 * hears what it missed); the next request of others binds again.
	 */
	if (s->push.on) {
		http_push_stop(s);
		if (s->state == HS_WS)
			http_ws_close(s, WS_CLOSE_RESTART, "store restarted");
		else
			conn_close(s->conn, "store restarted");
	}
	s->req_id = 0;
	s->account_id = 0;
	memset(s->auth_mac, 0, sizeof(s->auth_mac));
	conn_send_open(s->conn, store, "http");
}
