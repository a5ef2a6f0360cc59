/* SPDX-License-Identifier: ISC */
/*
 * jmap_api.h: the JMAP API request (RFC 8620 3): the Request object and
 * its request-level errors (3.6.1), method calls in order with result
 * references (3.7) and method-level errors (3.6.2), the Response object;
 * and the session resource (RFC 8620 2).
 */
#ifndef BULWARK_JMAP_API_H
#define BULWARK_JMAP_API_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct json;

struct jmapd_conf;

/* The capabilities this server implements (RFC 8620 2, 9.4). */
#define JMAP_CAP_CORE	"urn:ietf:params:jmap:core"
#define JMAP_CAP_MAIL	"urn:ietf:params:jmap:mail"
#define JMAP_CAP_SUBMISSION	"urn:ietf:params:jmap:submission"
#define JMAP_CAP_VACATION	"urn:ietf:params:jmap:vacationresponse"
#define JMAP_CAP_WEBSOCKET	"urn:ietf:params:jmap:websocket"
/* RFC 7807 3: the media type of problem details. */
#define JMAP_PROBLEM_TYPE	"application/problem+json"

/* Who asks, and the limits that apply. */
struct jmap_env {
	uint64_t	 account_id;
	char		*username;
	uint64_t	 session;	/* storaged's session (conn_id) */
	const char	*hostname;	/* for Message-IDs made here */
	uint32_t	 max_calls_in_request;
	uint32_t	 max_objects_in_get;
	uint32_t	 max_objects_in_set;
	/*
	 * Over a WebSocket (RFC 8887 4.3): the request is a message with
	 * "@type" and "id" and no Content-Type; the answers say "@type".
	 */
	bool		 ws;
	/*
	 * Over a WebSocket: a WebSocketPushEnable or WebSocketPushDisable
	 * object (RFC 8887 4.3.5) goes to ws_push (the parsed message,
	 * borrowed) and gets no answer (done with status 204).
	 */
	void		(*ws_push)(void *arg, const struct json *msg);
	void		*ws_push_arg;
};

struct jmap_req;

/*
 * The answer to a request: the HTTP status, 200 with the Response object
 * (method-level errors are in it, RFC 8620 3.6.2) or 400 with a problem
 * details object for the request-level errors of 3.6.1; its media type
 * (static) and its body (borrowed for the call).
 */
typedef void jmap_done_fn(void *arg, int status, const char *ctype,
    const struct buf *body);

/*
 * Runs the Request object in [body, body + len) (borrowed for the call),
 * sent with content_type (may be NULL), for env's account (copied).  done
 * runs once with the answer: before this returns (and NULL is returned)
 * when no method waited for storaged, else later from the event loop,
 * and the request is returned, for jmap_api_cancel.
 */
struct jmap_req *jmap_api_start(const struct jmap_env *env,
	    const char *content_type, const void *body, size_t len,
	    jmap_done_fn *done, void *arg);
/*
 * Refuses a request for a limit of RFC 8620 3.6.1 (such as
 * "maxConcurrentRequests") before reading it: done runs with 400 and a
 * problem details object (a RequestError over a WebSocket).
 */
void	jmap_api_refuse(const struct jmap_env *env, const char *limit,
	    const char *detail, jmap_done_fn *done, void *arg);
/* Forgets a request whose answer is no longer wanted (done never runs). */
void	jmap_api_cancel(struct jmap_req **rp);

/*
 * jmap_api_start for callers without an event loop (tests, fuzzing):
 * the answer goes to out and the status is returned; a request whose
 * methods need storaged gets 503.
 */
int	jmap_api_exec(const struct jmap_env *env, const char *content_type,
	    const void *body, size_t len, struct buf *out,
	    const char **ctype_r);

/*
 * Writes an RFC 7807 problem details object: type is a JMAP error URN or
 * NULL for "about:blank"; limit (may be NULL) names the limit of a
 * urn:ietf:params:jmap:error:limit (RFC 8620 3.6.1).
 */
void	jmap_problem(struct buf *out, int status, const char *type,
	    const char *limit, const char *detail);

/*
 * Writes the session resource (RFC 8620 2) of account_id, whose login
 * name is username, with the limits of conf, the resources' absolute
 * URLs under base ("https://host[:port]", as the client reached the
 * server: clients such as Node's fetch take no relative URL) and the
 * WebSocket URL ws_url (RFC 8887 4), to out.
 */
void	jmap_session_write(struct buf *out, const struct jmapd_conf *conf,
	    uint64_t account_id, const char *username, const char *base,
	    const char *ws_url);

#endif
