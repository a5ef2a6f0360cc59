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

struct jmapd_conf;

/* The capabilities this server implements (RFC 8620 2, 9.4). */
#define JMAP_CAP_CORE	"urn:ietf:params:jmap:core"
#define JMAP_CAP_WEBSOCKET	"urn:ietf:params:jmap:websocket"
/* RFC 7807 3: the media type of problem details. */
#define JMAP_PROBLEM_TYPE	"application/problem+json"

/* Who asks, and the limits that apply. */
struct jmap_env {
	uint64_t	 account_id;
	const char	*username;
	uint32_t	 max_calls_in_request;
	/*
	 * Over a WebSocket (RFC 8887 4.3): the request is a message with
	 * "@type" and "id" and no Content-Type; the answers say "@type".
	 */
	bool		 ws;
};

/*
 * Runs the Request object in [body, body + len) (borrowed), sent with
 * content_type (may be NULL), for env's account.  Writes the response
 * body to out and its media type to *ctype_r (static), and returns the
 * HTTP status: 200 with the Response object (method-level errors are in
 * it, RFC 8620 3.6.2), or 400 with a problem details object for the
 * request-level errors of 3.6.1.
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
