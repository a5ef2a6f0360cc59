/* SPDX-License-Identifier: ISC */
/*
 * http_session.h: one HTTP/1.1 connection of jmapd (RFC 9112): requests
 * read one at a time (pipelined ones wait their turn, RFC 9112 9.3.2),
 * routed to the JMAP resources (RFC 8620 2, 3.1), authenticated with HTTP
 * Basic (RFC 7617) checked by storaged, and answered in order.
 */
#ifndef BULWARK_HTTP_SESSION_H
#define BULWARK_HTTP_SESSION_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http_push.h"
#include "http.h"
#include "ws.h"

struct event;
struct ipc_chan;
struct jmap_req;
struct blob_dl;

struct http_session {
	TAILQ_ENTRY(http_session) entry;
	struct conn		*conn;
	struct buf		*in, *out;
	struct http_parser	 parser;
	enum {
		HS_HEAD,		/* reading a request's head */
		HS_BODY,		/* reading its body */
		HS_BUSY,		/* answering it (maybe waiting) */
		HS_WS,			/* a WebSocket (RFC 6455, 8887) */
		HS_STREAM,		/* writing a stream (event source) */
	}			 state;
	struct buf		 body;
	struct ws_reader	 ws;		/* in state HS_WS */
	int			 ws_bits;	/* permessage-deflate window */
	/* The request must arrive whole by then (RFC 9110 15.5.9, 408). */
	struct event		*deadline;
	bool			 deadline_set;
	bool			 keep_alive;	/* of the request answered */
	bool			 processing;	/* in the input loop */
	bool			 shutdown;
	uint32_t		 req_id;	/* storaged request pending */
	struct jmap_req		*jreq;		/* API request running */
	struct http_push	 push;		/* http_push.h */
	/* An upload's body, spilled as it comes (http_blob.h). */
	int			 up_fd;		/* -1: none */
	bool			 uploading;	/* BLOB_UPLOAD pending */
	uint64_t		 up_len;
	struct blob_dl		*dl;		/* a download waiting */
	/* A response body sent from a file, piece by piece. */
	int			 file_fd;	/* -1: none */
	uint64_t		 file_off, file_len;
	bool			 ws_busy;	/* a WebSocket request runs */
	/*
	 * The account the storaged session is bound to, and a keyed hash
	 * of the Authorization value that bound it: a later request with
	 * the same value needs no new check; another one starts over.
	 */
	uint64_t		 account_id;
	char			*username;
	uint8_t			 auth_mac[32];
	void			(*auth_cont)(struct http_session *);
};

/*
 * Serves the accepted socket fd (taken) from sa, with TLS from the first
 * byte if tls.  Returns the session, or NULL (logged) with fd closed.
 */
struct http_session *http_session_new(int fd, const struct sockaddr *sa,
	    socklen_t salen, bool tls);
void	http_session_free(struct http_session **);
void	http_session_shutdown(struct http_session *);
void	http_session_store_renewed(struct http_session *, struct ipc_chan *);

/*
 * Answers the request being served with status and body (len bytes of
 * type; body may be NULL with len 0), then reads the next request.
 * extra is more header fields, each ending with CRLF, or NULL.
 */
void	http_session_respond(struct http_session *s, int status,
	    const char *type, const void *body, size_t len,
	    const char *extra);
/*
 * Answers with an RFC 7807 problem details object (RFC 8620 3.6.1):
 * type is the JMAP error URN or NULL for "about:blank".
 */
void	http_session_problem(struct http_session *s, int status,
	    const char *type, const char *detail);
/* The request being served (valid in state HS_BUSY). */
const struct http_request *http_session_request(const struct http_session *);
/* A log line of the connection. */
void	http_session_log(struct http_session *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Starts a 200 response of media type `type` (extra: more header lines)
 * whose body is written as it comes and ends with the connection.
 */
void	http_session_stream_begin(struct http_session *s, const char *type,
	    const char *extra);
/*
 * Answers with status, type and the len bytes of the file fd (taken)
 * from offset 0, sent as the socket takes them.
 */
void	http_session_respond_file(struct http_session *s, int status,
	    const char *type, int fd, uint64_t len, const char *extra);
/* The request's body so far (an upload spills it, http_blob.h). */
struct buf *http_session_body(struct http_session *s);
/* The storaged request the session waits for (cancelled if it ends). */
void	http_session_wait(struct http_session *s, uint32_t req_id);
/* Sends a text message on a WebSocket connection. */
void	http_session_ws_send(struct http_session *s, const void *p,
	    size_t len);

#endif
