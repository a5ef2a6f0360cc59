/* SPDX-License-Identifier: ISC */
/*
 * http.c: HTTP/1.1 requests in.  The head is gathered line by line into
 * the parser's buffer (RFC 9112 2.2, with the limits checked as bytes
 * arrive), then parsed in one pass once its empty line is there: request
 * line (3), target forms (3.2), field lines (5), Host (3.2) and message
 * body framing (6).  The body is decoded byte by byte for chunked framing
 * (7.1) so that a chunk split anywhere across reads gives the same result.
 * Percent-decoding, query parameters, response heads and chunks out are
 * in http_util.c.
 */
#include "http.h"
#include "http_int.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	S_START,		/* skipping empty lines before the request */
	S_START_LF,		/* CR of such a line seen */
	S_HEAD,			/* gathering the head */
	S_BODY,			/* head parsed; Content-Length body or none */
	S_CHUNK_SIZE,		/* chunk-size */
	S_CHUNK_BWS,		/* BWS before the first ";" */
	S_CHUNK_EXT,		/* chunk-ext, up to CR */
	S_CHUNK_LF,		/* LF of the chunk size line */
	S_CHUNK_DATA,
	S_CHUNK_CR,		/* CR after chunk-data */
	S_CHUNK_DATA_LF,	/* LF after chunk-data */
	S_TR_START,		/* start of a trailer field line */
	S_TR_NAME,
	S_TR_VALUE,
	S_TR_LF,		/* LF of a trailer field line */
	S_TR_END_LF,		/* LF of the empty line ending the body */
	S_DONE,
	S_ERROR,
};

static const char *const http_methods[] = {
	[HTTP_M_GET] = "GET",
	[HTTP_M_HEAD] = "HEAD",
	[HTTP_M_POST] = "POST",
	[HTTP_M_PUT] = "PUT",
	[HTTP_M_DELETE] = "DELETE",
	[HTTP_M_OPTIONS] = "OPTIONS",
	[HTTP_M_PATCH] = "PATCH",
};

static enum http_parse_result
http_fail(struct http_parser *p, int status, const char *reason)
{
	p->state = S_ERROR;
	p->status = status;
	p->reason = reason;
	return HTTP_PARSE_ERROR;
}

/* tchar, RFC 9110 5.6.2. */
static bool
http_is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP or HTAB: what a field value may hold (RFC 9110 5.5). */
static bool
http_is_value_byte(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* unreserved / sub-delims (RFC 3986 2.2, 2.3). */
static bool
http_is_uchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("-._~!$&'()*+,;=", c) != NULL;
}

/*
 * Whether n bytes at s are made of unreserved, sub-delims, the bytes in
 * extra and well-formed pct-encoded triplets (RFC 3986 2.1).
 */
static bool
http_uri_chars(const char *s, size_t n, const char *extra)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];

		if (c == '%') {
			if (n - i < 3 || http_hex((uint8_t)s[i + 1]) < 0 ||
			    http_hex((uint8_t)s[i + 2]) < 0)
				return false;
			i += 2;
		} else if (!http_is_uchar(c) &&
		    (c == '\0' || strchr(extra, c) == NULL))
			return false;
	}
	return true;
}

/*
 * authority without userinfo, as Host = uri-host [ ":" port ] (RFC 9110
 * 7.2): an IP-literal in brackets, or a reg-name or IPv4address, then an
 * optional port of digits.  Empty is allowed here; callers that need a
 * host check that themselves.
 */
static bool
http_valid_authority(const char *s, size_t n)
{
	size_t i = 0;

	if (n > 0 && s[0] == '[') {
		for (i = 1; i < n && s[i] != ']'; i++)
			if (!http_is_uchar((uint8_t)s[i]) && s[i] != ':')
				return false;
		if (i == n || i == 1)
			return false;
		i++;
	} else {
		while (i < n && s[i] != ':')
			i++;
		if (!http_uri_chars(s, i, ""))
			return false;
	}
	if (i == n)
		return true;
	if (s[i] != ':')
		return false;
	for (i++; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

void
http_parser_init(struct http_parser *p, const struct http_limits *limits)
{
	memset(p, 0, sizeof(*p));
	if (limits != NULL)
		p->limits = *limits;
	else {
		p->limits.max_line = HTTP_DEFAULT_MAX_LINE;
		p->limits.max_header_bytes = HTTP_DEFAULT_MAX_HEADER_BYTES;
		p->limits.max_headers = HTTP_DEFAULT_MAX_HEADERS;
		p->limits.max_body = HTTP_DEFAULT_MAX_BODY;
	}
	p->head = (struct buf)BUF_INIT;
	http_parser_reset(p);
}

void
http_parser_reset(struct http_parser *p)
{
	struct http_field *fields = p->req.fields;

	memset(&p->req, 0, sizeof(p->req));
	p->req.fields = fields;
	p->status = 0;
	p->reason = NULL;
	p->body_total = 0;
	p->state = S_START;
	buf_reset(&p->head);
	p->line_start = 0;
	p->reqline = 0;
	p->skipped = 0;
	p->lines = 0;
	p->left = 0;
	p->chunk_line = 0;
	p->trailer_bytes = 0;
}

void
http_parser_clear(struct http_parser *p)
{
	buf_clear(&p->head);
	free(p->req.fields);
	memset(p, 0, sizeof(*p));
}

/* Looks up a method token; CONNECT and the rest are HTTP_M_OTHER. */
static enum http_method
http_method_lookup(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++)
		if (strcmp(s, http_methods[i]) == 0)
			return (enum http_method)i;
	return HTTP_M_OTHER;
}

/* The query part of a target at q ("?" included) or none. */
static enum http_parse_result
http_parse_path_query(struct http_parser *p, char *path, char *end)
{
	char *q = memchr(path, '?', (size_t)(end - path));

	if (q == NULL)
		q = end;
	/* absolute-path = 1*( "/" segment ), segment = *pchar */
	if (!http_uri_chars(path, (size_t)(q - path), ":@/"))
		return http_fail(p, 400, "bad request target");
	if (q < end) {
		/* query = *( pchar / "/" / "?" ) */
		if (!http_uri_chars(q + 1, (size_t)(end - q - 1), ":@/?"))
			return http_fail(p, 400, "bad request target");
		*q = '\0';
		p->req.query = q + 1;
	}
	if (path != q)
		p->req.path = path;
	return HTTP_PARSE_HEAD;
}

/*
 * absolute-form (RFC 9112 3.2.2) for the http and https schemes only: the
 * authority becomes the host, moved one byte left over the second "/" so
 * that it can be NUL-terminated in place, and the rest is an origin-form.
 */
static enum http_parse_result
http_parse_absolute(struct http_parser *p, char *t, char *end)
{
	char *a, *e;
	size_t n;

	if (strncasecmp(t, "http://", 7) == 0)
		a = t + 7;
	else if (strncasecmp(t, "https://", 8) == 0)
		a = t + 8;
	else
		return http_fail(p, 400, "bad request target");
	for (e = a; e < end && *e != '/' && *e != '?'; e++)
		;
	n = (size_t)(e - a);
	/* RFC 9110 4.2.1: no empty host; 4.2.4: userinfo is an error. */
	if (n == 0 || memchr(a, '@', n) != NULL ||
	    !http_valid_authority(a, n) || a[0] == ':')
		return http_fail(p, 400, "bad request target");
	memmove(a - 1, a, n);
	a[n - 1] = '\0';
	p->req.host = a - 1;
	/* RFC 9112 3.2.1: an empty path is "/". */
	p->req.path = "/";
	return http_parse_path_query(p, e, end);
}

/* request-target = origin-form / absolute-form / authority-form / "*" */
static enum http_parse_result
http_parse_target(struct http_parser *p, char *t, char *end)
{
	if (t[0] == '/')
		return http_parse_path_query(p, t, end);
	if (end - t == 1 && t[0] == '*') {
		/* RFC 9112 3.2.4: asterisk-form is for OPTIONS only. */
		if (p->req.method != HTTP_M_OPTIONS)
			return http_fail(p, 400, "bad request target");
		p->req.path = t;
		return HTTP_PARSE_HEAD;
	}
	if (memchr(t, ':', (size_t)(end - t)) != NULL &&
	    memchr(t, '/', (size_t)(end - t)) != NULL)
		return http_parse_absolute(p, t, end);
	/* authority-form is for CONNECT alone, which was refused before. */
	return http_fail(p, 400, "bad request target");
}

/*
 * request-line = method SP request-target SP HTTP-version (RFC 9112 3),
 * n bytes at s without the CRLF, NUL-terminated in place.
 */
static enum http_parse_result
http_parse_request_line(struct http_parser *p, char *s, size_t n)
{
	char *t, *v, *end = s + n;
	size_t i;

	for (i = 0; i < n && http_is_tchar((uint8_t)s[i]); i++)
		;
	if (i == 0 || i == n || s[i] != ' ')
		return http_fail(p, 400, "bad request line");
	s[i] = '\0';
	p->req.method_name = s;
	p->req.method = http_method_lookup(s);
	t = s + i + 1;
	for (v = t; v < end && (uint8_t)*v > 0x20 && (uint8_t)*v < 0x7f; v++)
		;
	if (v == t || v == end || *v != ' ')
		return http_fail(p, 400, "bad request line");
	*v++ = '\0';
	/* HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 2.3) */
	if (end - v != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' ||
	    v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
		return http_fail(p, 400, "bad request line");
	if (v[5] != '1')
		return http_fail(p, 505, "HTTP version not supported");
	/* RFC 9110 2.5: a later 1.x minor is served as 1.1. */
	p->req.version_minor = v[7] == '0' ? 0 : 1;
	if (strcmp(p->req.method_name, "CONNECT") == 0)
		return http_fail(p, 501, "CONNECT not supported");
	return http_parse_target(p, t, v - 1);
}

/*
 * field-line = field-name ":" OWS field-value OWS (RFC 9112 5), n bytes at
 * s without the CRLF.
 */
static enum http_parse_result
http_parse_field(struct http_parser *p, char *s, size_t n)
{
	struct http_field *f;
	size_t i, v, e;

	/* RFC 9112 5.2: obs-fold, and 2.2: whitespace after the start line. */
	if (s[0] == ' ' || s[0] == '\t')
		return http_fail(p, 400, "obsolete line folding");
	for (i = 0; i < n && http_is_tchar((uint8_t)s[i]); i++)
		;
	if (i < n && (s[i] == ' ' || s[i] == '\t'))
		/* RFC 9112 5.1: MUST reject with 400. */
		return http_fail(p, 400, "whitespace before colon");
	if (i == 0 || i == n || s[i] != ':')
		return http_fail(p, 400, "bad field name");
	for (e = i + 1; e < n; e++) {
		if (s[e] == '\r')
			return http_fail(p, 400, "bare CR");
		if (!http_is_value_byte((uint8_t)s[e]))
			return http_fail(p, 400, "bad field value");
	}
	for (v = i + 1; v < n && (s[v] == ' ' || s[v] == '\t'); v++)
		;
	while (e > v && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	s[i] = '\0';
	s[e] = '\0';
	if (p->req.nfields == p->fields_cap) {
		p->fields_cap = p->fields_cap == 0 ? 16 : p->fields_cap * 2;
		p->req.fields = xreallocarray(p->req.fields, p->fields_cap,
		    sizeof(*p->req.fields));
	}
	f = &p->req.fields[p->req.nfields++];
	f->name = s;
	f->value = s + v;
	f->value_len = e - v;
	return HTTP_PARSE_HEAD;
}

/*
 * Calls cb for each member of the comma-separated lists in every field
 * called name (RFC 9110 5.6.1), OWS trimmed, leaving out empty members
 * unless empty is set; stops at a non-zero return and gives it back.
 */
static int
http_list_each(const struct http_request *req, const char *name, bool empty,
    int (*cb)(const char *, size_t, void *), void *arg)
{
	const char *s, *e, *m;
	size_t i, n;
	int r;

	for (i = 0; i < req->nfields; i++) {
		if (strcasecmp(req->fields[i].name, name) != 0)
			continue;
		s = req->fields[i].value;
		e = s + req->fields[i].value_len;
		for (;;) {
			for (m = s; m < e && *m != ','; m++)
				;
			n = (size_t)(m - s);
			while (n > 0 && (*s == ' ' || *s == '\t')) {
				s++;
				n--;
			}
			while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
				n--;
			if ((n > 0 || empty) && (r = cb(s, n, arg)) != 0)
				return r;
			if (m == e)
				break;
			s = m + 1;
		}
	}
	return 0;
}

struct http_te {
	bool	chunked;	/* the last coding so far was chunked */
	bool	other;		/* a coding other than chunked before it */
	bool	bad;
};

static int
http_te_cb(const char *s, size_t n, void *arg)
{
	struct http_te *te = arg;
	size_t i;

	for (i = 0; i < n && http_is_tchar((uint8_t)s[i]); i++)
		;
	if (i == 0 || (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t')) {
		te->bad = true;
		return 1;
	}
	/*
	 * RFC 9112 6.1: chunked at most once, and last; anything after it
	 * leaves the body length unknown (6.3 item 4).
	 */
	if (te->chunked) {
		te->bad = true;
		return 1;
	}
	if (i == n && strncasecmp(s, "chunked", n) == 0 && n == 7)
		te->chunked = true;
	else if (i == 7 && strncasecmp(s, "chunked", 7) == 0) {
		te->bad = true;		/* chunked takes no parameters */
		return 1;
	} else
		te->other = true;
	return 0;
}

struct http_cl {
	uint64_t	value;
	bool		seen;
	bool		bad;		/* not digits, or values that differ */
	bool		huge;		/* past uint64_t */
};

static int
http_cl_cb(const char *s, size_t n, void *arg)
{
	struct http_cl *cl = arg;
	uint64_t v = 0;
	bool huge = false;
	size_t i;

	if (n == 0) {
		cl->bad = true;
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			cl->bad = true;
			return 1;
		}
		if (v > (UINT64_MAX - 9) / 10)
			huge = true;
		else
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (cl->seen && (huge != cl->huge || v != cl->value)) {
		cl->bad = true;
		return 1;
	}
	cl->seen = true;
	cl->value = v;
	cl->huge = huge;
	return 0;
}

/* Host, RFC 9112 3.2 and RFC 9110 7.2. */
static enum http_parse_result
http_check_host(struct http_parser *p)
{
	const struct http_field *host = NULL;
	size_t i, n = 0;

	for (i = 0; i < p->req.nfields; i++)
		if (strcasecmp(p->req.fields[i].name, "host") == 0) {
			host = &p->req.fields[i];
			n++;
		}
	if (n > 1)
		return http_fail(p, 400, "several Host fields");
	if (n == 0 && p->req.version_minor == 1)
		return http_fail(p, 400, "no Host field");
	if (host != NULL && !http_valid_authority(host->value,
	    host->value_len))
		return http_fail(p, 400, "bad Host field");
	/* An absolute-form target's authority overrides the field. */
	if (p->req.host == NULL)
		p->req.host = host != NULL ? host->value : "";
	return HTTP_PARSE_HEAD;
}

/* Message body framing, RFC 9112 6.1-6.3. */
static enum http_parse_result
http_check_framing(struct http_parser *p)
{
	struct http_te te = { false, false, false };
	struct http_cl cl = { 0, false, false, false };
	bool has_te, has_cl;

	has_te = http_header_get(&p->req, "transfer-encoding") != NULL;
	has_cl = http_header_get(&p->req, "content-length") != NULL;
	if (has_te) {
		/* RFC 9112 6.1: TE in HTTP/1.0 means faulty framing. */
		if (p->req.version_minor == 0)
			return http_fail(p, 400,
			    "Transfer-Encoding in HTTP/1.0");
		/*
		 * RFC 9112 6.1 lets a server either reject this or ignore
		 * Content-Length; a peer in front of us might have framed
		 * the message by Content-Length, so rejecting is the choice
		 * that cannot smuggle a request.
		 */
		if (has_cl)
			return http_fail(p, 400,
			    "both Transfer-Encoding and Content-Length");
		http_list_each(&p->req, "transfer-encoding", false,
		    http_te_cb, &te);
		if (te.bad || !te.chunked)
			return http_fail(p, 400, "chunked is not the last "
			    "transfer coding");
		if (te.other)
			return http_fail(p, 501,
			    "transfer coding not implemented");
		p->req.body_kind = HTTP_BODY_CHUNKED;
		p->state = S_CHUNK_SIZE;
		return HTTP_PARSE_HEAD;
	}
	p->state = S_BODY;
	if (!has_cl)
		return HTTP_PARSE_HEAD;
	/*
	 * RFC 9112 6.3 item 5: Content-Length = 1*DIGIT, or a list of equal
	 * values; an empty member makes the list invalid here, as it is no
	 * valid value.
	 */
	http_list_each(&p->req, "content-length", true, http_cl_cb, &cl);
	if (cl.bad || !cl.seen)
		return http_fail(p, 400, "bad Content-Length");
	if (cl.huge || cl.value > p->limits.max_body)
		return http_fail(p, 413, "content too large");
	p->req.body_kind = HTTP_BODY_LENGTH;
	p->req.content_length = cl.value;
	p->left = cl.value;
	return HTTP_PARSE_HEAD;
}

/* The whole head is in p->head; the request line is p->reqline bytes. */
static enum http_parse_result
http_parse_head(struct http_parser *p)
{
	char *s = (char *)p->head.data, *nl;
	size_t off;

	if (http_parse_request_line(p, s, p->reqline - 2) ==
	    HTTP_PARSE_ERROR)
		return HTTP_PARSE_ERROR;
	/* Each line ends in CRLF, checked as it arrived; the last is empty. */
	for (off = p->reqline; off < p->head.len - 2; off = nl - s + 1) {
		nl = memchr(s + off, '\n', p->head.len - off);
		if (http_parse_field(p, s + off, (size_t)(nl - s) - off - 1) ==
		    HTTP_PARSE_ERROR)
			return HTTP_PARSE_ERROR;
	}
	if (http_check_host(p) == HTTP_PARSE_ERROR)
		return HTTP_PARSE_ERROR;
	/* RFC 9110 10.1.1: ignore the expectation in HTTP/1.0. */
	p->req.expect_continue = p->req.version_minor == 1 &&
	    http_header_has_token(&p->req, "expect", "100-continue");
	/* RFC 9112 9.3 */
	if (p->req.version_minor == 1)
		p->req.keep_alive = !http_header_has_token(&p->req,
		    "connection", "close");
	else
		p->req.keep_alive = http_header_has_token(&p->req,
		    "connection", "keep-alive");
	return http_check_framing(p);
}

/* RFC 9112 2.2: skips empty lines before the request line. */
static size_t
http_skip_empty(struct http_parser *p, const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i < len && p->state != S_HEAD; i++) {
		if (p->state == S_START) {
			if (data[i] != '\r' && data[i] != '\n') {
				p->state = S_HEAD;
				break;
			}
			if (data[i] == '\n') {
				http_fail(p, 400, "bare LF");
				break;
			}
			p->state = S_START_LF;
		} else if (data[i] == '\n')
			p->state = S_START;
		else {
			http_fail(p, 400, "bare CR");
			break;
		}
		if (++p->skipped > p->limits.max_line) {
			http_fail(p, 400, "too many empty lines");
			break;
		}
	}
	return i;
}

enum http_parse_result
http_parse(struct http_parser *p, const uint8_t *data, size_t len,
    size_t *consumed_r)
{
	const uint8_t *nl;
	size_t i, n, have;

	*consumed_r = 0;
	if (p->state == S_ERROR)
		return HTTP_PARSE_ERROR;
	if (p->state >= S_BODY)
		return HTTP_PARSE_HEAD;
	i = http_skip_empty(p, data, len);
	while (p->state == S_HEAD && i < len) {
		nl = memchr(data + i, '\n', len - i);
		n = nl != NULL ? (size_t)(nl - data) - i + 1 : len - i;
		if (p->line_start == 0) {
			if (p->head.len + n > p->limits.max_line) {
				*consumed_r = i;
				return http_fail(p, 414,
				    "request line too long");
			}
		} else if (p->head.len - p->reqline + n >
		    p->limits.max_header_bytes) {
			*consumed_r = i;
			return http_fail(p, 431, "header section too large");
		}
		buf_append(&p->head, data + i, n);
		i += n;
		if (nl == NULL)
			break;
		have = p->head.len - p->line_start;
		if (have < 2 || p->head.data[p->head.len - 2] != '\r') {
			*consumed_r = i;
			return http_fail(p, 400, "bare LF");
		}
		if (p->line_start == 0)
			p->reqline = p->head.len;
		else if (have == 2) {
			*consumed_r = i;
			p->lines = 0;
			return http_parse_head(p);
		} else if (++p->lines > p->limits.max_headers) {
			*consumed_r = i;
			return http_fail(p, 431, "too many header fields");
		}
		p->line_start = p->head.len;
	}
	*consumed_r = i;
	return p->state == S_ERROR ? HTTP_PARSE_ERROR : HTTP_PARSE_MORE;
}

/*
 * One byte of a chunk size line or of the trailer section (RFC 9112 7.1,
 * 7.1.1, 7.1.2); returns HTTP_PARSE_MORE to go on, DONE after the final
 * CRLF, or ERROR.
 */
static enum http_parse_result
http_chunk_byte(struct http_parser *p, uint8_t c)
{
	const struct http_limits *l = &p->limits;
	int h;

	if (p->state >= S_CHUNK_SIZE && p->state <= S_CHUNK_LF &&
	    ++p->chunk_line > l->max_line)
		return http_fail(p, 400, "chunk size line too long");
	switch (p->state) {
	case S_CHUNK_SIZE:
		if ((h = http_hex(c)) >= 0) {
			if (p->left > UINT64_MAX >> 4)
				return http_fail(p, 413, "content too large");
			p->left = p->left << 4 | (uint64_t)h;
			p->chunk_digits++;
			return HTTP_PARSE_MORE;
		}
		if (p->chunk_digits == 0)
			return http_fail(p, 400, "bad chunk size");
		/* Refuse as soon as the size is known, before the data. */
		if (p->left > l->max_body - p->body_total)
			return http_fail(p, 413, "content too large");
		if (c == ';')
			p->state = S_CHUNK_EXT;
		else if (c == ' ' || c == '\t')
			p->state = S_CHUNK_BWS;
		else if (c == '\r')
			p->state = S_CHUNK_LF;
		else
			return http_fail(p, 400, "bad chunk size");
		return HTTP_PARSE_MORE;
	case S_CHUNK_BWS:
		if (c == ';')
			p->state = S_CHUNK_EXT;
		else if (c != ' ' && c != '\t')
			return http_fail(p, 400, "bad chunk extension");
		return HTTP_PARSE_MORE;
	case S_CHUNK_EXT:
		/*
		 * Extensions are ignored (7.1.1), so only their bytes are
		 * checked: what a token, quoted-string or BWS can hold.
		 */
		if (c == '\r')
			p->state = S_CHUNK_LF;
		else if (c == '\n')
			return http_fail(p, 400, "bare LF");
		else if (!http_is_value_byte(c))
			return http_fail(p, 400, "bad chunk extension");
		return HTTP_PARSE_MORE;
	case S_CHUNK_LF:
		if (c != '\n')
			return http_fail(p, 400, "bare CR");
		p->state = p->left == 0 ? S_TR_START : S_CHUNK_DATA;
		p->chunk_line = 0;
		p->chunk_digits = 0;
		return HTTP_PARSE_MORE;
	case S_CHUNK_CR:
		if (c != '\r')
			return http_fail(p, 400, "chunk data too long");
		p->state = S_CHUNK_DATA_LF;
		return HTTP_PARSE_MORE;
	case S_CHUNK_DATA_LF:
		if (c != '\n')
			return http_fail(p, 400, "bare CR");
		p->state = S_CHUNK_SIZE;
		return HTTP_PARSE_MORE;
	default:
		break;
	}
	return http_fail(p, 500, "parser state");
}

/* One byte of the trailer section (RFC 9112 7.1.2), checked and dropped. */
static enum http_parse_result
http_trailer_byte(struct http_parser *p, uint8_t c)
{
	if (++p->trailer_bytes > p->limits.max_header_bytes)
		return http_fail(p, 431, "trailer section too large");
	switch (p->state) {
	case S_TR_START:
		if (c == '\r') {
			p->state = S_TR_END_LF;
			return HTTP_PARSE_MORE;
		}
		if (c == ' ' || c == '\t')
			return http_fail(p, 400, "obsolete line folding");
		if (!http_is_tchar(c))
			return http_fail(p, 400, "bad field name");
		if (++p->lines > p->limits.max_headers)
			return http_fail(p, 431, "too many trailer fields");
		p->state = S_TR_NAME;
		return HTTP_PARSE_MORE;
	case S_TR_NAME:
		if (c == ':')
			p->state = S_TR_VALUE;
		else if (c == ' ' || c == '\t')
			return http_fail(p, 400, "whitespace before colon");
		else if (!http_is_tchar(c))
			return http_fail(p, 400, "bad field name");
		return HTTP_PARSE_MORE;
	case S_TR_VALUE:
		if (c == '\r')
			p->state = S_TR_LF;
		else if (!http_is_value_byte(c))
			return http_fail(p, 400, "bad field value");
		return HTTP_PARSE_MORE;
	case S_TR_LF:
		if (c != '\n')
			return http_fail(p, 400, "bare CR");
		p->state = S_TR_START;
		return HTTP_PARSE_MORE;
	case S_TR_END_LF:
		if (c != '\n')
			return http_fail(p, 400, "bare CR");
		p->state = S_DONE;
		return HTTP_PARSE_DONE;
	default:
		break;
	}
	return http_fail(p, 500, "parser state");
}

/* chunked-body = *chunk last-chunk trailer-section CRLF (RFC 9112 7.1) */
static enum http_parse_result
http_parse_chunked(struct http_parser *p, const uint8_t *data, size_t len,
    size_t *consumed_r, struct buf *body)
{
	enum http_parse_result r = HTTP_PARSE_MORE;
	size_t i = 0, n;

	while (i < len && r == HTTP_PARSE_MORE) {
		if (p->state == S_CHUNK_DATA) {
			n = len - i;
			if (n > p->left)
				n = (size_t)p->left;
			buf_append(body, data + i, n);
			p->left -= n;
			p->body_total += n;
			i += n;
			if (p->left == 0)
				p->state = S_CHUNK_CR;
			continue;
		}
		if (p->state >= S_TR_START)
			r = http_trailer_byte(p, data[i]);
		else
			r = http_chunk_byte(p, data[i]);
		i++;
	}
	*consumed_r = i;
	return r;
}

enum http_parse_result
http_parse_body(struct http_parser *p, const uint8_t *data, size_t len,
    size_t *consumed_r, struct buf *body)
{
	size_t n;

	*consumed_r = 0;
	if (p->state == S_ERROR)
		return HTTP_PARSE_ERROR;
	if (p->state == S_DONE)
		return HTTP_PARSE_DONE;
	if (p->state < S_BODY)
		return http_fail(p, 500, "body read before head");
	if (p->state != S_BODY)
		return http_parse_chunked(p, data, len, consumed_r, body);
	n = len;
	if (n > p->left)
		n = (size_t)p->left;
	buf_append(body, data, n);
	p->left -= n;
	p->body_total += n;
	*consumed_r = n;
	if (p->left > 0)
		return HTTP_PARSE_MORE;
	p->state = S_DONE;
	return HTTP_PARSE_DONE;
}

const char *
http_header_get(const struct http_request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nfields; i++)
		if (strcasecmp(req->fields[i].name, name) == 0)
			return req->fields[i].value;
	return NULL;
}

size_t
http_header_list(const struct http_request *req, const char *name,
    struct buf *out)
{
	size_t i, found = 0;
	bool first = true;

	for (i = 0; i < req->nfields; i++) {
		if (strcasecmp(req->fields[i].name, name) != 0)
			continue;
		found++;
		if (req->fields[i].value_len == 0)
			continue;
		if (!first)
			buf_append(out, ", ", 2);
		buf_append(out, req->fields[i].value,
		    req->fields[i].value_len);
		first = false;
	}
	return found;
}

static int
http_token_cb(const char *s, size_t n, void *arg)
{
	const char *token = arg;

	return strlen(token) == n && strncasecmp(s, token, n) == 0;
}

bool
http_header_has_token(const struct http_request *req, const char *name,
    const char *token)
{
	return http_list_each(req, name, false, http_token_cb,
	    (void *)token) != 0;
}
