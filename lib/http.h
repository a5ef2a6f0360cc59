/* SPDX-License-Identifier: ISC */
/*
 * http.h: the HTTP/1.1 message layer under jmapd: an incremental request
 * parser (request line, field section, message body framing and chunked
 * decoding, RFC 9112 sections 2-7), the field helpers of RFC 9110 section 5,
 * percent-decoding of targets (RFC 3986 2.1) and the writers for response
 * heads (RFC 9112 4, with the Date field of RFC 9110 6.6.1) and chunks.
 *
 * The parser is handed the connection's input as it arrives and says how
 * many bytes it used; the bytes it did not use stay with the caller, which
 * hands them in again with what comes next.  The cycle for one request:
 *
 *	http_parse() until HTTP_PARSE_HEAD: p->req is readable
 *	http_parse_body() until HTTP_PARSE_DONE: the body is in a buf
 *	http_parser_reset(), and on with the next (pipelined) request
 *
 * HTTP_PARSE_ERROR from either call leaves p->status (400, 413, 414, 431,
 * 501 or 505) and p->reason (a short static text); the caller answers with
 * that status and closes the connection, since after a framing error it
 * cannot know where the next request starts.  The error is sticky until
 * http_parser_reset().
 *
 * The head is copied into the parser's own buffer as it arrives, so the
 * parser keeps no pointer into the caller's bytes between calls; every
 * string in p->req points into that copy and lives until the next
 * http_parser_reset() or http_parser_clear().
 *
 * Choices where RFC 9112 leaves a recipient room, each the strict one:
 * - A bare LF is not taken as a line end (2.2 allows it): it is an error
 *   (400), in the head and in chunked framing alike, so that no peer in
 *   front of us can see a line boundary that we do not, or the reverse.
 *   Empty lines (CRLF) before the request line are skipped (2.2).
 * - The request line is parsed on single SP separators only (3).
 * - HTTP/1.x with x > 1 is served as HTTP/1.1 (RFC 9110 2.5 and 6.2);
 *   any other major version is 505.
 * - A request with both Transfer-Encoding and Content-Length is refused
 *   with 400 (6.1 allows either this or ignoring Content-Length).
 */
#ifndef BULWARK_HTTP_H
#define BULWARK_HTTP_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

struct http_limits {
	/* The request line with its CRLF, in bytes; longer is 414. */
	size_t		max_line;
	/*
	 * The field section (every field line with its CRLF and the empty
	 * line that ends it), in bytes; longer is 431.  Also bounds the
	 * trailer section of a chunked body, and each chunk's size line
	 * with its extensions is bounded by max_line (400 past it).
	 */
	size_t		max_header_bytes;
	/* Field lines in the head, and in the trailer section; more is 431. */
	size_t		max_headers;
	/* Decoded body bytes; more is 413. */
	uint64_t	max_body;
};

#define HTTP_DEFAULT_MAX_LINE		8192
#define HTTP_DEFAULT_MAX_HEADER_BYTES	65536
#define HTTP_DEFAULT_MAX_HEADERS	100
#define HTTP_DEFAULT_MAX_BODY		(50ULL << 20)

/* The methods of RFC 9110 9.3 that jmapd may route, and RFC 5789 PATCH. */
enum http_method {
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_POST,
	HTTP_M_PUT,
	HTTP_M_DELETE,
	HTTP_M_OPTIONS,
	HTTP_M_PATCH,
	HTTP_M_OTHER,		/* any other token: see method_name */
};

enum http_body_kind {
	HTTP_BODY_NONE,		/* no Content-Length, no Transfer-Encoding */
	HTTP_BODY_LENGTH,	/* content_length bytes */
	HTTP_BODY_CHUNKED,	/* Transfer-Encoding: chunked */
};

/* One field line: name as received, value with OWS trimmed (RFC 9112 5). */
struct http_field {
	const char	*name;
	const char	*value;
	size_t		 value_len;
};

struct http_request {
	enum http_method	 method;
	const char		*method_name;	/* e.g. "GET" */
	/*
	 * The target path, still percent-encoded: "/..." from origin-form or
	 * from absolute-form reduced to its path (RFC 9112 3.2.2; "/" when the
	 * URI has an empty path), or "*" for OPTIONS in asterisk-form.
	 */
	const char		*path;
	const char		*query;		/* after "?", or NULL */
	/*
	 * The target's authority: from an absolute-form target, which
	 * overrides the Host field (RFC 9112 3.2.2), else the Host field's
	 * value; "" when an HTTP/1.0 request has neither.
	 */
	const char		*host;
	int			 version_minor;	/* HTTP/1.<0 or 1> */
	struct http_field	*fields;
	size_t			 nfields;
	enum http_body_kind	 body_kind;
	uint64_t		 content_length;	/* HTTP_BODY_LENGTH */
	/* "Expect: 100-continue" in an HTTP/1.1 request (RFC 9110 10.1.1). */
	bool			 expect_continue;
	/*
	 * The connection may stay open after the response (RFC 9112 9.3):
	 * HTTP/1.1 without "Connection: close", or HTTP/1.0 with
	 * "Connection: keep-alive".
	 */
	bool			 keep_alive;
};

enum http_parse_result {
	HTTP_PARSE_MORE,	/* all bytes given were used; give more */
	HTTP_PARSE_HEAD,	/* p->req is complete */
	HTTP_PARSE_DONE,	/* the body is complete */
	HTTP_PARSE_ERROR,	/* see p->status and p->reason */
};

struct http_parser {
	struct http_limits	 limits;
	struct http_request	 req;
	int			 status;	/* on HTTP_PARSE_ERROR */
	const char		*reason;	/* on HTTP_PARSE_ERROR */
	uint64_t		 body_total;	/* body bytes so far */

	/* Private. */
	int			 state;
	struct buf		 head;		/* the head as read */
	size_t			 line_start;	/* in head */
	size_t			 reqline;	/* request line bytes */
	size_t			 skipped;	/* CRLFs before it */
	size_t			 lines;		/* field lines */
	size_t			 fields_cap;
	uint64_t		 left;		/* body or chunk bytes */
	size_t			 chunk_line;	/* size line bytes */
	size_t			 trailer_bytes;
	unsigned		 chunk_digits;
};

/*
 * Sets up p with a copy of *limits, or the HTTP_DEFAULT_* limits if limits
 * is NULL.  Free with http_parser_clear().
 */
void	http_parser_init(struct http_parser *p,
	    const struct http_limits *limits);
/* Forgets the request and its body state; keeps memory and limits. */
void	http_parser_reset(struct http_parser *p);
/* Frees what p holds; p may be initialised again. */
void	http_parser_clear(struct http_parser *p);

/*
 * Reads the head of a request from data, len bytes (borrowed), and sets
 * *consumed_r to the bytes used.  Returns HTTP_PARSE_MORE when every byte
 * was used and the head is not complete; HTTP_PARSE_HEAD when it is, with
 * *consumed_r at the first body byte; HTTP_PARSE_ERROR with p->status and
 * p->reason.  Called again after HEAD, it returns HEAD and uses nothing.
 * A Content-Length over max_body is a 413 here, before the body is read.
 */
enum http_parse_result http_parse(struct http_parser *p, const uint8_t *data,
	    size_t len, size_t *consumed_r);

/*
 * Reads body bytes after HTTP_PARSE_HEAD, appending the decoded body to
 * *body (which the caller owns; nothing else is written to it).  Returns
 * HTTP_PARSE_MORE when every byte was used, HTTP_PARSE_DONE at the end of
 * the body (at once, using nothing, for HTTP_BODY_NONE) with *consumed_r at
 * the first byte after it, or HTTP_PARSE_ERROR: 400 for bad chunked
 * framing, 413 as soon as the decoded body would pass max_body, 431 for a
 * trailer section over the limits (and 500 if called before HEAD, a bug
 * of the caller).  Chunk extensions (their bytes and length only) and
 * trailer fields (their syntax) are checked and dropped (RFC 9112 7.1.1,
 * 7.1.2).
 */
enum http_parse_result http_parse_body(struct http_parser *p,
	    const uint8_t *data, size_t len, size_t *consumed_r,
	    struct buf *body);

/* The value of the first field called name (any case), or NULL. */
const char *http_header_get(const struct http_request *req,
	    const char *name);
/*
 * Appends to *out the values of every field called name, joined with
 * ", " as RFC 9110 5.3 combines them (no NUL); empty values are left out.
 * Returns the number of field lines found.
 */
size_t	http_header_list(const struct http_request *req, const char *name,
	    struct buf *out);
/*
 * Whether a field called name holds token as one member of its comma
 * separated list (RFC 9110 5.6.1), in any case: ("connection", "close").
 */
bool	http_header_has_token(const struct http_request *req,
	    const char *name, const char *token);

/*
 * Percent-decodes len bytes at src (RFC 3986 2.1) into dst, of size bytes,
 * with a NUL after them; '+' becomes a space if plus_space (form encoding,
 * for query parameters).  Returns the decoded length, or -1 for a bad
 * escape, an escape of NUL (%00), or a result that does not fit.
 */
ssize_t	http_pct_decode(const char *src, size_t len, bool plus_space,
	    char *dst, size_t size);
/*
 * Finds the query parameter name (compared after decoding, exactly) in
 * req->query, a list of name[=value] split on "&", and decodes its value
 * into dst as http_pct_decode() with plus_space.  Returns 1 if found (a
 * parameter without "=" has the value ""), 0 if absent, -1 if the first
 * parameter of that name does not decode or fit, or any name before it is
 * undecodable.
 */
int	http_query_get(const struct http_request *req, const char *name,
	    char *dst, size_t size);

/* The reason phrase of status (RFC 9110 15), or "Unknown". */
const char *http_status_text(int status);
/*
 * Appends "HTTP/1.1 <status> <reason>\r\n" and a Date field for t in
 * IMF-fixdate (RFC 9110 5.6.7).  The caller adds its fields and the empty
 * line that ends the head.
 */
void	http_response_head(struct buf *out, int status, time_t t);
/* Writes t as IMF-fixdate into dst (at least 30 bytes, NUL included). */
void	http_date(time_t t, char *dst, size_t size);
/*
 * Appends one chunk of len bytes from p (RFC 9112 7.1); nothing for
 * len 0, since an empty chunk would end the body.
 */
void	http_chunk(struct buf *out, const void *p, size_t len);
/* Appends the last chunk and an empty trailer section. */
void	http_chunk_end(struct buf *out);

#endif
