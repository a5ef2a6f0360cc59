/* SPDX-License-Identifier: ISC */
/*
 * fuzz_http.c: libFuzzer target for the HTTP/1.1 request parser of
 * lib/http.c.  The first byte chooses where the input is split, the second
 * the limits (small ones, or the defaults); the rest is a client's byte
 * stream, parsed request after request (pipelining) as a connection would
 * hand it over: whole, split in two at that position, and byte by byte
 * when short.  Each call must use no more than it was given, all of it when
 * it asks for more; an error must carry one of the documented statuses; a
 * parsed head must hold fields within the limits, trimmed, without CR, LF
 * or NUL; a body must match its framing and the limit; and every way of
 * feeding must give the same transcript.  The field and query helpers run
 * on each head, and so do jmapd's parsers of field values (Accept-Encoding
 * in workers/jmapd/http_encode.c, Sec-WebSocket-Extensions in lib/ws.c)
 * on every value; the input, cut into chunks by http_chunk(), must parse
 * back to itself.
 */
/* fuzz-deps: workers/jmapd/http_encode.c */
#include "buf.h"
#include "http.h"
#include "ws.h"
#include "workers/jmapd/http_encode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct http_limits fz_small = { 64, 256, 8, 300 };

static void
fz_check_head(const struct http_parser *p, struct buf *log)
{
	const struct http_request *q = &p->req;
	char dst[64], ext[128];
	int bits;
	struct buf list = BUF_INIT;
	size_t i, k;
	ssize_t n;

	if (q->method_name == NULL || q->path == NULL || q->host == NULL ||
	    q->nfields > p->limits.max_headers ||
	    (q->version_minor != 0 && q->version_minor != 1))
		abort();
	if (q->body_kind == HTTP_BODY_LENGTH &&
	    q->content_length > p->limits.max_body)
		abort();
	for (i = 0; i < q->nfields; i++) {
		const struct http_field *f = &q->fields[i];

		if (f->name[0] == '\0' || strlen(f->value) != f->value_len ||
		    strpbrk(f->name, " \t:\r\n") != NULL ||
		    strpbrk(f->value, "\r\n") != NULL)
			abort();
		if (f->value_len > 0 && (f->value[0] == ' ' ||
		    f->value[0] == '\t' || f->value[f->value_len - 1] == ' ' ||
		    f->value[f->value_len - 1] == '\t'))
			abort();
		k = http_header_list(q, f->name, &list);
		if (k == 0 || http_header_get(q, f->name) == NULL)
			abort();
		buf_reset(&list);
		(void)http_header_has_token(q, f->name, "close");
		(void)http_accepts_gzip(f->value);
		if (ws_deflate_accept(f->value, ext, sizeof(ext), &bits) ?
		    bits < 9 || bits > 15 ||
		    strncmp(ext, "permessage-deflate;", 19) != 0 :
		    ext[0] != '\0' || bits != 0)
			abort();
	}
	if ((n = http_pct_decode(q->path, strlen(q->path), false, dst,
	    sizeof(dst))) >= 0 && strlen(dst) != (size_t)n)
		abort();
	if (http_query_get(q, "a", dst, sizeof(dst)) == 1 &&
	    strlen(dst) >= sizeof(dst))
		abort();
	buf_printf(log, "%s %s %s %s %d %d %llu %d %d %zu|", q->method_name,
	    q->path, q->query != NULL ? q->query : "-", q->host,
	    q->version_minor, (int)q->body_kind,
	    (unsigned long long)q->content_length, q->expect_continue,
	    q->keep_alive, q->nfields);
	buf_clear(&list);
}

static void
fz_check_error(const struct http_parser *p)
{
	switch (p->status) {
	case 400: case 413: case 414: case 431: case 501: case 505:
		break;
	default:
		abort();
	}
	if (p->reason == NULL || p->reason[0] == '\0')
		abort();
}

/* Parses len bytes fed as a first piece of first, then of step bytes. */
static void
fz_run(const uint8_t *in, size_t len, size_t first, size_t step,
    const struct http_limits *l, struct buf *log)
{
	struct http_parser p;
	struct buf pend = BUF_INIT, body = BUF_INIT;
	enum http_parse_result r;
	size_t pos = 0, used, n, given;
	bool inbody = false;

	http_parser_init(&p, l);
	for (;;) {
		given = pend.len;
		if (!inbody)
			r = http_parse(&p, pend.data, pend.len, &used);
		else
			r = http_parse_body(&p, pend.data, pend.len, &used,
			    &body);
		if (used > given || (r == HTTP_PARSE_MORE && used != given))
			abort();
		if (used > 0)	/* buf_consume(NULL buf, 0) is UB */
			buf_consume(&pend, used);
		if (p.body_total > p.limits.max_body ||
		    body.len != p.body_total)
			abort();
		if (r == HTTP_PARSE_ERROR) {
			fz_check_error(&p);
			buf_printf(log, "E%d", p.status);
			break;
		}
		if (r == HTTP_PARSE_HEAD) {
			if (inbody)
				abort();
			fz_check_head(&p, log);
			inbody = true;
			continue;
		}
		if (r == HTTP_PARSE_DONE) {
			if (!inbody || (p.req.body_kind == HTTP_BODY_LENGTH &&
			    body.len != p.req.content_length) ||
			    (p.req.body_kind == HTTP_BODY_NONE && body.len))
				abort();
			buf_printf(log, "%zu|", body.len);
			buf_reset(&body);
			http_parser_reset(&p);
			inbody = false;
			continue;
		}
		if (pos == len) {
			buf_printf(log, "more");
			break;
		}
		n = pos == 0 ? first : step;
		if (n == 0 || n > len - pos)
			n = len - pos;
		buf_append(&pend, in + pos, n);
		pos += n;
	}
	http_parser_clear(&p);
	buf_clear(&pend);
	buf_clear(&body);
}

static void
fz_same(const struct buf *a, const struct buf *b)
{
	if (a->len != b->len || (a->len > 0 &&
	    memcmp(a->data, b->data, a->len) != 0))
		abort();
}

/* The input cut into chunks by the writer must decode to itself. */
static void
fz_chunks(const uint8_t *in, size_t len, size_t step)
{
	struct http_parser p;
	struct buf msg = BUF_INIT, body = BUF_INIT;
	size_t i, n, used;

	buf_printf(&msg, "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		http_chunk(&msg, in + i, n);
	}
	http_chunk_end(&msg);
	http_parser_init(&p, NULL);
	if (http_parse(&p, msg.data, msg.len, &used) != HTTP_PARSE_HEAD)
		abort();
	if (used > 0)
		buf_consume(&msg, used);
	if (http_parse_body(&p, msg.data, msg.len, &used, &body) !=
	    HTTP_PARSE_DONE || used != msg.len || body.len != len ||
	    (len > 0 && memcmp(body.data, in, len) != 0))
		abort();
	http_parser_clear(&p);
	buf_clear(&msg);
	buf_clear(&body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole = BUF_INIT, part = BUF_INIT;
	const struct http_limits *l;
	size_t split;

	if (size < 2)
		return 0;
	split = data[0];
	l = (data[1] & 1) ? NULL : &fz_small;
	data += 2;
	size -= 2;
	fz_run(data, size, size, size, l, &whole);
	fz_run(data, size, split, size, l, &part);
	fz_same(&whole, &part);
	if (size <= 512) {
		buf_reset(&part);
		fz_run(data, size, 1, 1, l, &part);
		fz_same(&whole, &part);
	}
	fz_chunks(data, size, split + 1);
	buf_clear(&whole);
	buf_clear(&part);
	return 0;
}
