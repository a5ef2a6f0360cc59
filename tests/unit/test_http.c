/* SPDX-License-Identifier: ISC */
/*
 * test_http.c: the HTTP/1.1 request parser of lib/http.c and the
 * response writers of lib/http_util.c: request lines and target forms, field lines and their
 * helpers, every refusal status with a request that causes it, message
 * framing and the smuggling cases (RFC 9112 6, 11.2), chunked bodies with
 * extensions and trailers, pipelining, input split at every byte,
 * percent-decoding and query parameters, and the Date and chunk writers.
 */
#include "harness.h"
#include "buf.h"
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Feeds len bytes at in to a parser as a connection would: a first piece
 * of first bytes, then pieces of step bytes, request after request.  Writes
 * a transcript to *log: for each request its head, then its body, or the
 * error status; "more" when the input ends inside a request.
 */
static void
run(const char *in, size_t len, size_t first, size_t step,
    const struct http_limits *l, struct buf *log)
{
	struct http_parser p;
	struct buf pend = BUF_INIT, body = BUF_INIT;
	enum http_parse_result r;
	size_t pos = 0, used, n;
	bool inbody = false;

	http_parser_init(&p, l);
	for (;;) {
		if (!inbody)
			r = http_parse(&p, pend.data, pend.len, &used);
		else
			r = http_parse_body(&p, pend.data, pend.len, &used,
			    &body);
		if (used > pend.len)
			buf_printf(log, "OVERRUN ");
		if (used > 0)	/* buf_consume(NULL buf, 0) is UB */
			buf_consume(&pend, used);
		if (r == HTTP_PARSE_ERROR) {
			buf_printf(log, "E%d", p.status);
			break;
		}
		if (r == HTTP_PARSE_HEAD) {
			const struct http_request *q = &p.req;

			buf_printf(log, "%s %s%s%s host=%s 1.%d "
			    "body=%d/%llu%s%s n=%zu|", q->method_name, q->path,
			    q->query != NULL ? "?" : "",
			    q->query != NULL ? q->query : "", q->host,
			    q->version_minor, (int)q->body_kind,
			    (unsigned long long)q->content_length,
			    q->expect_continue ? " expect" : "",
			    q->keep_alive ? "" : " close", q->nfields);
			inbody = true;
			continue;
		}
		if (r == HTTP_PARSE_DONE) {
			buf_printf(log, "[%.*s]|", (int)body.len,
			    body.len > 0 ? (char *)body.data : "");
			buf_reset(&body);
			http_parser_reset(&p);
			inbody = false;
			continue;
		}
		if (pend.len != 0)
			buf_printf(log, "MORE-LEFT ");
		if (pos == len) {
			buf_printf(log, "more");
			break;
		}
		n = pos == 0 ? first : step;
		if (n > len - pos)
			n = len - pos;
		buf_append(&pend, in + pos, n);
		pos += n;
	}
	buf_append(log, "", 1);
	http_parser_clear(&p);
	buf_clear(&pend);
	buf_clear(&body);
}

/* The transcript of s fed whole, checked against every split of it. */
static char *
parse_l(const char *s, const struct http_limits *l)
{
	struct buf whole = BUF_INIT, part = BUF_INIT;
	size_t len = strlen(s), i;
	char *r;

	run(s, len, len, len, l, &whole);
	part.len = 0;
	run(s, len, 1, 1, l, &part);
	if (strcmp((char *)whole.data, (char *)part.data) != 0)
		harness_fail(__FILE__, __LINE__, "bytewise \"%s\" != \"%s\"",
		    (char *)part.data, (char *)whole.data);
	for (i = 1; i < len; i++) {
		buf_reset(&part);
		run(s, len, i, len, l, &part);
		if (strcmp((char *)whole.data, (char *)part.data) != 0) {
			harness_fail(__FILE__, __LINE__, "split at %zu: "
			    "\"%s\" != \"%s\"", i, (char *)part.data,
			    (char *)whole.data);
			break;
		}
	}
	r = strdup((char *)whole.data);
	buf_clear(&whole);
	buf_clear(&part);
	return r;
}

static char *
parse(const char *s)
{
	return parse_l(s, NULL);
}

#define CHECK_PARSE(in, out) do {					\
	char *got_ = parse(in);						\
	CHECK_STR(got_, out);						\
	free(got_);							\
} while (0)

#define CHECK_PARSE_L(in, l, out) do {					\
	char *got_ = parse_l(in, l);					\
	CHECK_STR(got_, out);						\
	free(got_);							\
} while (0)

/* The status a request gets: 0 if it parses, head and body. */
static int
status(const char *s)
{
	char *t = parse(s);
	int st = 0;
	size_t n = strlen(t);

	if (n >= 4 && t[n - 4] == 'E')
		st = (int)strtol(t + n - 3, NULL, 10);
	else if (n < 6 || strcmp(t + n - 6, "]|more") != 0)
		st = -1;
	free(t);
	return st;
}

#define H11	" HTTP/1.1\r\nHost: a\r\n"

TEST(request_line)
{
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: example.org\r\n\r\n",
	    "GET / host=example.org 1.1 body=0/0 n=1|[]|more");
	CHECK_PARSE("GET /a/b?x=1&y HTTP/1.0\r\n\r\n",
	    "GET /a/b?x=1&y host= 1.0 body=0/0 close n=0|[]|more");
	CHECK_PARSE("PATCH /x HTTP/1.1\r\nHost:\r\n\r\n",
	    "PATCH /x host= 1.1 body=0/0 n=1|[]|more");
	CHECK_PARSE("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n",
	    "BREW /pot host=a 1.1 body=0/0 n=1|[]|more");
	/* RFC 9110 2.5: a later minor version is served as 1.1. */
	CHECK_PARSE("GET / HTTP/1.2\r\nHost: a\r\n\r\n",
	    "GET / host=a 1.1 body=0/0 n=1|[]|more");
	/* RFC 9112 2.2: empty lines before the request line are skipped. */
	CHECK_PARSE("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	    "GET / host=a 1.1 body=0/0 n=1|[]|more");
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: a\r\n", "more");
	CHECK_PARSE("", "more");
	CHECK_INT(status("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	CHECK_INT(status(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400);
	CHECK_INT(status("GET /\r\nHost: a\r\n\r\n"), 400);
	CHECK_INT(status("G@T /" H11 "\r\n"), 400);
	CHECK_INT(status("GET / http/1.1\r\nHost: a\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1\r\nHost: a\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
	CHECK_INT(status("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505);
	CHECK_INT(status("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	CHECK_INT(status("GET /\x80" H11 "\r\n"), 400);
	/* Bare CR and bare LF in or before the request line. */
	CHECK_INT(status("GET / HTTP/1.1\rX\r\nHost: a\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400);
	CHECK_INT(status("\nGET /" H11 "\r\n"), 400);
	CHECK_INT(status("\rGET /" H11 "\r\n"), 400);
}

TEST(targets)
{
	/* RFC 9112 3.2.2: absolute-form, reduced; its authority wins. */
	CHECK_PARSE("GET http://Example.org:8080/p/q?x=%41 HTTP/1.1\r\n"
	    "Host: other\r\n\r\n",
	    "GET /p/q?x=%41 host=Example.org:8080 1.1 body=0/0 n=1|[]|more");
	CHECK_PARSE("GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET / host=h 1.1 body=0/0 n=1|[]|more");
	CHECK_PARSE("GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET /?q host=h 1.1 body=0/0 n=1|[]|more");
	CHECK_PARSE("GET http://[::1]:80/ HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET / host=[::1]:80 1.1 body=0/0 n=1|[]|more");
	CHECK_PARSE("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	    "OPTIONS * host=h 1.1 body=0/0 n=1|[]|more");
	CHECK_PARSE("GET /a:b@c/!$&'()*+,;=-._~%2F?/?:@ HTTP/1.1\r\n"
	    "Host: h\r\n\r\n",
	    "GET /a:b@c/!$&'()*+,;=-._~%2F?/?:@ host=h 1.1 body=0/0 n=1|[]|"
	    "more");
	CHECK_INT(status("GET *" H11 "\r\n"), 400);
	CHECK_INT(status("OPTIONS *x" H11 "\r\n"), 400);
	/* authority-form: CONNECT is not supported; others may not use it. */
	CHECK_INT(status("CONNECT a:443" H11 "\r\n"), 501);
	CHECK_INT(status("GET a:443" H11 "\r\n"), 400);
	CHECK_INT(status("GET a" H11 "\r\n"), 400);
	CHECK_INT(status("GET ftp://h/" H11 "\r\n"), 400);
	CHECK_INT(status("GET http://u@h/" H11 "\r\n"), 400);
	CHECK_INT(status("GET http:///x" H11 "\r\n"), 400);
	CHECK_INT(status("GET http://:80/" H11 "\r\n"), 400);
	CHECK_INT(status("GET http://h:8x/" H11 "\r\n"), 400);
	CHECK_INT(status("GET /a#frag" H11 "\r\n"), 400);
	CHECK_INT(status("GET /%zz" H11 "\r\n"), 400);
	CHECK_INT(status("GET /%4" H11 "\r\n"), 400);
	CHECK_INT(status("GET /?%" H11 "\r\n"), 400);
	CHECK_INT(status("GET /a\"b" H11 "\r\n"), 400);
	CHECK_INT(status("GET /?a[]=1" H11 "\r\n"), 400);
}

TEST(fields)
{
	struct http_parser p;
	struct buf b = BUF_INIT;
	const char *in = "GET / HTTP/1.1\r\nHost: a\r\n"
	    "Accept:  text/html ,\t application/json\t \r\n"
	    "X-Empty:\r\n"
	    "accept: */*\r\n"
	    "Connection: Upgrade, keep-alive, CLOSE\r\n"
	    "X-8bit: caf\xc3\xa9\r\n\r\nrest";
	size_t used;

	http_parser_init(&p, NULL);
	CHECK_INT(http_parse(&p, (const uint8_t *)in, strlen(in), &used),
	    HTTP_PARSE_HEAD);
	CHECK_INT(used, strlen(in) - 4);
	CHECK_INT(p.req.nfields, 6);
	CHECK_STR(p.req.fields[1].name, "Accept");
	CHECK_STR(p.req.fields[1].value, "text/html ,\t application/json");
	CHECK_INT(p.req.fields[1].value_len, 29);
	CHECK_STR(http_header_get(&p.req, "ACCEPT"),
	    "text/html ,\t application/json");
	CHECK_STR(http_header_get(&p.req, "x-empty"), "");
	CHECK(http_header_get(&p.req, "x-none") == NULL);
	CHECK_STR(http_header_get(&p.req, "x-8bit"), "caf\xc3\xa9");
	CHECK_INT(http_header_list(&p.req, "accept", &b), 2);
	buf_append(&b, "", 1);
	CHECK_STR((char *)b.data,
	    "text/html ,\t application/json, */*");
	buf_reset(&b);
	CHECK_INT(http_header_list(&p.req, "x-empty", &b), 1);
	CHECK_INT(b.len, 0);
	CHECK_INT(http_header_list(&p.req, "x-none", &b), 0);
	CHECK(http_header_has_token(&p.req, "connection", "close"));
	CHECK(http_header_has_token(&p.req, "Connection", "upgrade"));
	CHECK(!http_header_has_token(&p.req, "connection", "clos"));
	CHECK(!http_header_has_token(&p.req, "connection", "upgrade, "));
	CHECK(http_header_has_token(&p.req, "accept", "application/json"));
	CHECK(!p.req.keep_alive);
	/* Called again after HEAD: HEAD, nothing used. */
	CHECK_INT(http_parse(&p, (const uint8_t *)in, strlen(in), &used),
	    HTTP_PARSE_HEAD);
	CHECK_INT(used, 0);
	http_parser_clear(&p);
	buf_clear(&b);

	/* RFC 9112 5.1, 5.2, 2.2 and RFC 9110 5.5. */
	CHECK_INT(status("GET /" H11 "X : y\r\n\r\n"), 400);
	CHECK_INT(status("GET /" H11 "X\t: y\r\n\r\n"), 400);
	CHECK_INT(status("GET /" H11 "X: y\r\n z\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n"), 400);
	CHECK_INT(status("GET /" H11 "X: a\rb\r\n\r\n"), 400);
	CHECK_INT(status("GET /" H11 "X: a\r\r\n\r\n"), 400);
	CHECK_INT(status("GET /" H11 "X: a\nY: b\r\n\r\n"), 400);
	CHECK_INT(status("GET /" H11 "\n"), 400);
	CHECK_INT(status("GET /" H11 "X: a\x01\r\n\r\n"), 400);
	CHECK_INT(status("GET /" H11 "X: a\x7f\r\n\r\n"), 400);
	CHECK_INT(status("GET /" H11 ": y\r\n\r\n"), 400);
	CHECK_INT(status("GET /" H11 "X\r\n\r\n"), 400);
	CHECK_INT(status("GET /" H11 "X(y): z\r\n\r\n"), 400);
	CHECK_INT(status("GET /" H11 "X: \r\n\r\n"), 0);
	{
		const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\n"
		    "X: a\0b\r\n\r\n";
		struct buf log = BUF_INIT;

		run(nul, sizeof(nul) - 1, sizeof(nul) - 1, 1, NULL, &log);
		CHECK_STR((char *)log.data, "E400");
		buf_clear(&log);
	}
}

TEST(host)
{
	CHECK_INT(status("GET / HTTP/1.1\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.1\r\nHost: a,b\r\n\r\n"), 0);
	CHECK_INT(status("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"), 400);
	CHECK_INT(status("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n"), 400);
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
	    "GET / host=[::1]:443 1.1 body=0/0 n=1|[]|more");
	CHECK_PARSE("GET / HTTP/1.1\r\nHOST:\tmail.example.org:443 \r\n\r\n",
	    "GET / host=mail.example.org:443 1.1 body=0/0 n=1|[]|more");
	CHECK_PARSE("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	    "GET / host= 1.0 body=0/0 n=1|[]|more");
}

TEST(limits)
{
	struct http_limits l = { 32, 64, 3, 10 };
	char big[300];

	/* The request line with its CRLF: 32 bytes pass, 33 do not. */
	CHECK_PARSE_L("GET /aaaaaaaaaaaaaaaa HTTP/1.0\r\n\r\n", &l,
	    "GET /aaaaaaaaaaaaaaaa host= 1.0 body=0/0 close n=0|[]|more");
	CHECK_PARSE_L("GET / HTTP/1.1\r\n\r\n", &l, "E400");
	CHECK_PARSE_L("GET /aaaaaaaaaaaaaaaaa HTTP/1.1\r\n", &l, "E414");
	/* Refused before the line ends. */
	CHECK_PARSE_L("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &l, "E414");
	/* Fields: 64 bytes with the empty line pass, 65 do not. */
	CHECK_PARSE_L("GET / HTTP/1.1\r\nHost: a\r\n"
	    "X: 012345678901234567890123456789012345678901234567\r\n\r\n", &l,
	    "GET / host=a 1.1 body=0/0 n=2|[]|more");
	CHECK_PARSE_L("GET / HTTP/1.1\r\nHost: a\r\n"
	    "X: 0123456789012345678901234567890123456789012345678\r\n\r\n", &l,
	    "E431");
	CHECK_PARSE_L("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\n\r\n", &l,
	    "GET / host=a 1.1 body=0/0 n=3|[]|more");
	CHECK_PARSE_L("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\nZ: 3\r\n"
	    "\r\n", &l, "E431");
	/* Empty lines before the request count against max_line. */
	memset(big, 0, sizeof(big));
	for (size_t i = 0; i < 17; i++)
		memcpy(big + 2 * i, "\r\n", 2);
	CHECK_PARSE_L(big, &l, "E400");
	big[32] = '\0';
	CHECK_PARSE_L(big, &l, "more");
	/* Defaults: 8 KiB request line. */
	{
		size_t n = HTTP_DEFAULT_MAX_LINE + 64;
		char *t = malloc(n);
		struct buf log = BUF_INIT;

		memcpy(t, "GET /", 5);
		memset(t + 5, 'a', n - 5);
		run(t, n, n, n, NULL, &log);
		CHECK_STR((char *)log.data, "E414");
		buf_reset(&log);
		memcpy(t + HTTP_DEFAULT_MAX_LINE - 16, " HTTP/1.1\r\n", 11);
		run(t, HTTP_DEFAULT_MAX_LINE - 5, 100, 100, NULL, &log);
		CHECK_STR((char *)log.data, "more");
		free(t);
		buf_clear(&log);
	}
}

TEST(framing)
{
	CHECK_PARSE("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
	    "hello",
	    "POST /u host=a 1.1 body=1/5 n=2|[hello]|more");
	CHECK_PARSE("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	    "POST /u host=a 1.1 body=1/0 n=2|[]|more");
	CHECK_PARSE("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
	    "hel", "POST /u host=a 1.1 body=1/5 n=2|more");
	/* RFC 9112 6.3 item 5: a list of equal values is that value. */
	CHECK_PARSE("POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n"
	    "Content-Length: 003\r\n\r\nabc",
	    "POST /u host=a 1.1 body=1/3 n=3|[abc]|more");
	/* Request framing is independent of the method (RFC 9112 6). */
	CHECK_PARSE("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab",
	    "GET / host=a 1.1 body=1/2 n=2|[ab]|more");
	CHECK_PARSE("HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n"
	    "Host: b\r\n\r\n",
	    "HEAD / host=a 1.1 body=0/0 n=1|[]|GET / host=b 1.1 body=0/0 "
	    "n=1|[]|more");
	CHECK_INT(status("POST /" H11 "Content-Length: 5, 6\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Content-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Content-Length: +5\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Content-Length: -1\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Content-Length: 5 5\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Content-Length: 0x5\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Content-Length:\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Content-Length: 5,\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Content-Length: ,5\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Content-Length: 5, ,5\r\n\r\n"), 400);
	/* 413 from the head alone, before any body byte. */
	CHECK_INT(status("POST /" H11 "Content-Length: 52428801\r\n\r\n"),
	    413);
	CHECK_INT(status("POST /" H11 "Content-Length: 52428800\r\n\r\n"), -1);
	CHECK_INT(status("POST /" H11
	    "Content-Length: 99999999999999999999999\r\n\r\n"), 413);
	CHECK_INT(status("POST /" H11
	    "Content-Length: 99999999999999999999999, 1\r\n\r\n"), 400);
}

TEST(smuggling)
{
	/* RFC 9112 6.1, 6.3 items 3 and 4, 11.2. */
	CHECK_INT(status("POST /" H11 "Content-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Transfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n0\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Transfer-Encoding: chunked, gzip\r\n"
	    "\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Transfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: gzip\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Transfer-Encoding: chunked, chunked\r\n"
	    "\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Transfer-Encoding: gzip\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Transfer-Encoding:\r\n\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Transfer-Encoding: chunked;x=1\r\n"
	    "\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Transfer-Encoding: \"chunked\"\r\n"
	    "\r\n"), 400);
	CHECK_INT(status("POST /" H11 "Transfer-Encoding: xchunked\r\n\r\n"),
	    400);
	CHECK_INT(status("POST /" H11 "Transfer-Encoding: gzip, chunked\r\n"
	    "\r\n"), 501);
	CHECK_INT(status("POST /" H11 "Transfer-Encoding: gzip\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), 501);
	CHECK_INT(status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n0\r\n\r\n"), 400);
	CHECK_INT(status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n"), 400);
	/* Accepted spellings. */
	CHECK_PARSE("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: , Chunked ,\r\n\r\n0\r\n\r\n",
	    "POST / host=a 1.1 body=2/0 n=2|[]|more");
}

TEST(chunked)
{
	struct http_limits l = { 32, 64, 2, 10 };

	CHECK_PARSE("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n"
	    "6;name=val;q=\"x;y\\\"\"\r\n world\r\n"
	    "00a ; bws\r\n0123456789\r\n"
	    "000;last\r\n"
	    "Trailer-One: 1\r\nTrailer-Two:\r\n"
	    "\r\n",
	    "POST / host=a 1.1 body=2/0 n=2|[hello world0123456789]|more");
	CHECK_PARSE("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "A\r\n0123456789\r\nf\r\n0123456789abcde\r\n0\r\n\r\n",
	    "POST / host=a 1.1 body=2/0 n=2|[0123456789"
	    "0123456789abcde]|more");
	CHECK_PARSE("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
	    "POST / host=a 1.1 body=2/0 n=2|more");
#define CH	"POST / HTTP/1.1\r\nHost: a\r\n"			\
	"Transfer-Encoding: chunked\r\n\r\n"
	CHECK_INT(status(CH "5\r\nhello\r\n0\r\n\r\n"), 0);
	CHECK_INT(status(CH "\r\n"), 400);
	CHECK_INT(status(CH "x\r\n"), 400);
	CHECK_INT(status(CH "-1\r\n"), 400);
	CHECK_INT(status(CH "5 \r\nhello\r\n0\r\n\r\n"), 400);
	CHECK_INT(status(CH "5\nhello\r\n0\r\n\r\n"), 400);
	CHECK_INT(status(CH "5\rhello\r\n0\r\n\r\n"), 400);
	CHECK_INT(status(CH "5;a\nhello\r\n0\r\n\r\n"), 400);
	CHECK_INT(status(CH "5;a\x01\r\nhello\r\n0\r\n\r\n"), 400);
	CHECK_INT(status(CH "5\r\nhelloX\r\n0\r\n\r\n"), 400);
	CHECK_INT(status(CH "5\r\nhello\n0\r\n\r\n"), 400);
	CHECK_INT(status(CH "5\r\nhello\r\r0\r\n\r\n"), 400);
	CHECK_INT(status(CH "0\r\n\n"), 400);
	CHECK_INT(status(CH "0\r\n\r\r"), 400);
	CHECK_INT(status(CH "0\r\nX : 1\r\n\r\n"), 400);
	CHECK_INT(status(CH "0\r\nX: 1\r\n y\r\n\r\n"), 400);
	CHECK_INT(status(CH "0\r\nX: 1\n\r\n"), 400);
	CHECK_INT(status(CH "0\r\nX: \x01\r\n\r\n"), 400);
	CHECK_INT(status(CH "0\r\n: 1\r\n\r\n"), 400);
	/* Over 2^64 is over any limit. */
	CHECK_INT(status(CH "10000000000000000\r\n"), 413);
	CHECK_INT(status(CH "0000000000000000000000001\r\nx\r\n0\r\n\r\n"), 0);
	/* max_body 10: refused at the size line that passes it. */
	CHECK_PARSE_L(CH "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", &l,
	    "POST / host=a 1.1 body=2/0 n=2|[helloworld]|more");
	CHECK_PARSE_L(CH "5\r\nhello\r\n6\r\n", &l,
	    "POST / host=a 1.1 body=2/0 n=2|E413");
	CHECK_PARSE_L(CH "b\r\n", &l, "POST / host=a 1.1 body=2/0 n=2|E413");
	/* The size line with extensions within max_line (32). */
	CHECK_PARSE_L(CH "1;aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nx\r\n0\r\n\r\n", &l,
	    "POST / host=a 1.1 body=2/0 n=2|[x]|more");
	CHECK_PARSE_L(CH "1;aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nx\r\n0\r\n\r\n",
	    &l, "POST / host=a 1.1 body=2/0 n=2|E400");
	/* Trailers: at most 2 lines and 64 bytes. */
	CHECK_PARSE_L(CH "0\r\nA: 1\r\nB: 2\r\n\r\n", &l,
	    "POST / host=a 1.1 body=2/0 n=2|[]|more");
	CHECK_PARSE_L(CH "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &l,
	    "POST / host=a 1.1 body=2/0 n=2|E431");
	CHECK_PARSE_L(CH "0\r\nA: 012345678901234567890123456789"
	    "012345678901234567890123456\r\n\r\n", &l,
	    "POST / host=a 1.1 body=2/0 n=2|[]|more");
	CHECK_PARSE_L(CH "0\r\nA: 012345678901234567890123456789"
	    "0123456789012345678901234567\r\n\r\n", &l,
	    "POST / host=a 1.1 body=2/0 n=2|E431");
#undef CH
}

TEST(expect_continue)
{
	CHECK_PARSE("PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
	    "Content-Length: 2\r\n\r\nok",
	    "PUT /u host=a 1.1 body=1/2 expect n=3|[ok]|more");
	/* RFC 9110 10.1.1: ignored in HTTP/1.0. */
	CHECK_PARSE("PUT /u HTTP/1.0\r\nExpect: 100-continue\r\n"
	    "Content-Length: 2\r\n\r\nok",
	    "PUT /u host= 1.0 body=1/2 close n=2|[ok]|more");
	CHECK_PARSE("PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n",
	    "PUT /u host=a 1.1 body=0/0 n=2|[]|more");
	/* Over the limit: 413 without waiting for the body. */
	CHECK_INT(status("PUT /u HTTP/1.1\r\nHost: a\r\n"
	    "Expect: 100-continue\r\n"
	    "Content-Length: 999999999\r\n\r\n"), 413);
}

TEST(no_body)
{
	struct http_parser p;
	struct buf body = BUF_INIT;
	const char *in = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET";
	size_t used;

	http_parser_init(&p, NULL);
	CHECK_INT(http_parse(&p, (const uint8_t *)in, strlen(in), &used),
	    HTTP_PARSE_HEAD);
	CHECK_INT(used, strlen(in) - 3);
	CHECK_INT(p.req.body_kind, HTTP_BODY_NONE);
	CHECK_INT(p.req.method, HTTP_M_GET);
	CHECK(p.req.keep_alive);
	CHECK_INT(http_parse_body(&p, (const uint8_t *)in + used, 3, &used,
	    &body), HTTP_PARSE_DONE);
	CHECK_INT(used, 0);
	CHECK_INT(body.len, 0);
	http_parser_reset(&p);
	in = "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n";
	CHECK_INT(http_parse(&p, (const uint8_t *)in, strlen(in), &used),
	    HTTP_PARSE_HEAD);
	CHECK_INT(p.req.method, HTTP_M_HEAD);
	CHECK_INT(p.req.body_kind, HTTP_BODY_NONE);
	CHECK_INT(http_parse_body(&p, NULL, 0, &used, &body), HTTP_PARSE_DONE);
	/* The error is sticky until reset. */
	http_parser_reset(&p);
	CHECK_INT(http_parse(&p, (const uint8_t *)"GET / HTTP/3.0\r\n\r\n", 18,
	    &used), HTTP_PARSE_ERROR);
	CHECK_INT(p.status, 505);
	CHECK_STR(p.reason, "HTTP version not supported");
	CHECK_INT(http_parse(&p, (const uint8_t *)"GET", 3, &used),
	    HTTP_PARSE_ERROR);
	CHECK_INT(http_parse_body(&p, (const uint8_t *)"GET", 3, &used, &body),
	    HTTP_PARSE_ERROR);
	http_parser_clear(&p);
	buf_clear(&body);
}

TEST(pipelined)
{
	const char *in =
	    "GET /session HTTP/1.1\r\nHost: a\r\n\r\n"
	    "POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n{}{}"
	    "POST /upload HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	    "\r\n"
	    "DELETE /x?y=z HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"
	    "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

	CHECK_PARSE(in,
	    "GET /session host=a 1.1 body=0/0 n=1|[]|"
	    "POST /api host=a 1.1 body=1/4 n=2|[{}{}]|"
	    "POST /upload host=a 1.1 body=2/0 n=2|[abc]|"
	    "DELETE /x?y=z host=a 1.1 body=0/0 close n=2|[]|"
	    "E400");
}

/* A fixed request fed every way must give the same result. */
TEST(split_every_byte)
{
	static const char *const reqs[] = {
		"GET /a?b=c HTTP/1.1\r\nHost: h\r\nX:  y \r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		"\r\n4;e=\"q\"\r\nwiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\n"
		"GET / HTTP/1.0\r\n\r\n",
		"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n"
		"0123456789GET /",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
		"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n\r\n",
	};
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t i, len, step;

	/* parse() compares split at each byte and byte by byte. */
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		free(parse(reqs[i]));
		len = strlen(reqs[i]);
		for (step = 2; step < 9; step++) {
			buf_reset(&a);
			buf_reset(&b);
			run(reqs[i], len, len, len, NULL, &a);
			run(reqs[i], len, step, step, NULL, &b);
			CHECK_STR((char *)b.data, (char *)a.data);
		}
	}
	buf_clear(&a);
	buf_clear(&b);
}

static const char *
dec(const char *s, bool plus)
{
	static char out[64];

	if (http_pct_decode(s, strlen(s), plus, out, sizeof(out)) < 0)
		return "(bad)";
	return out;
}

TEST(pct_decode)
{
	char small[4];

	CHECK_STR(dec("a%20b%2Fc%c3%A9", false), "a b/c\xc3\xa9");
	CHECK_STR(dec("a+b", false), "a+b");
	CHECK_STR(dec("a+b", true), "a b");
	CHECK_STR(dec("%2B", true), "+");
	CHECK_STR(dec("", false), "");
	CHECK_STR(dec("%00", false), "(bad)");
	CHECK_STR(dec("a%0", false), "(bad)");
	CHECK_STR(dec("a%", false), "(bad)");
	CHECK_STR(dec("%g0", false), "(bad)");
	CHECK_STR(dec("%0g", false), "(bad)");
	CHECK_INT(http_pct_decode("abc", 3, false, small, sizeof(small)), 3);
	CHECK_STR(small, "abc");
	CHECK_INT(http_pct_decode("abcd", 4, false, small, sizeof(small)), -1);
	CHECK_INT(http_pct_decode("a\0b", 3, false, small, sizeof(small)), -1);
	CHECK_INT(http_pct_decode("", 0, false, small, 0), -1);
}

TEST(query)
{
	struct http_parser p;
	const char *in = "GET /es?types=*&closeafter=no&ping=300&e&=x&"
	    "a%20b=c+d%2Be&&dup=1&dup=2&bad=%00&nul=%41 HTTP/1.1\r\n"
	    "Host: a\r\n\r\n";
	char v[16];
	size_t used;

	http_parser_init(&p, NULL);
	CHECK_INT(http_parse(&p, (const uint8_t *)in, strlen(in), &used),
	    HTTP_PARSE_HEAD);
	CHECK_STR(p.req.path, "/es");
	CHECK_INT(http_query_get(&p.req, "types", v, sizeof(v)), 1);
	CHECK_STR(v, "*");
	CHECK_INT(http_query_get(&p.req, "ping", v, sizeof(v)), 1);
	CHECK_STR(v, "300");
	CHECK_INT(http_query_get(&p.req, "e", v, sizeof(v)), 1);
	CHECK_STR(v, "");
	CHECK_INT(http_query_get(&p.req, "", v, sizeof(v)), 1);
	CHECK_STR(v, "x");
	CHECK_INT(http_query_get(&p.req, "a b", v, sizeof(v)), 1);
	CHECK_STR(v, "c d+e");
	CHECK_INT(http_query_get(&p.req, "dup", v, sizeof(v)), 1);
	CHECK_STR(v, "1");
	CHECK_INT(http_query_get(&p.req, "bad", v, sizeof(v)), -1);
	CHECK_INT(http_query_get(&p.req, "nul", v, sizeof(v)), 1);
	CHECK_STR(v, "A");
	CHECK_INT(http_query_get(&p.req, "closeafter", v, 2), -1);
	CHECK_INT(http_query_get(&p.req, "closeafter", v, 3), 1);
	CHECK_INT(http_query_get(&p.req, "missing", v, sizeof(v)), 0);
	CHECK_INT(http_query_get(&p.req, "type", v, sizeof(v)), 0);
	CHECK_INT(http_query_get(&p.req, "typesx", v, sizeof(v)), 0);
	http_parser_reset(&p);
	in = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
	CHECK_INT(http_parse(&p, (const uint8_t *)in, strlen(in), &used),
	    HTTP_PARSE_HEAD);
	CHECK(p.req.query == NULL);
	CHECK_INT(http_query_get(&p.req, "x", v, sizeof(v)), 0);
	http_parser_reset(&p);
	in = "GET /x?a=%ff%FE&b%zz=1&c=2 HTTP/1.1\r\nHost: a\r\n\r\n";
	CHECK_INT(http_parse(&p, (const uint8_t *)in, strlen(in), &used),
	    HTTP_PARSE_ERROR);
	CHECK_INT(p.status, 400);
	http_parser_reset(&p);
	in = "GET /x?a=%ff%FE&b%25zz=1&c=2 HTTP/1.1\r\nHost: a\r\n\r\n";
	CHECK_INT(http_parse(&p, (const uint8_t *)in, strlen(in), &used),
	    HTTP_PARSE_HEAD);
	CHECK_INT(http_query_get(&p.req, "a", v, sizeof(v)), 1);
	CHECK_STR(v, "\xff\xfe");
	CHECK_INT(http_query_get(&p.req, "b%zz", v, sizeof(v)), 1);
	CHECK_STR(v, "1");
	http_parser_clear(&p);
}

TEST(response)
{
	struct buf b = BUF_INIT;
	char date[30];

	CHECK_STR(http_status_text(200), "OK");
	CHECK_STR(http_status_text(413), "Content Too Large");
	CHECK_STR(http_status_text(431), "Request Header Fields Too Large");
	CHECK_STR(http_status_text(505), "HTTP Version Not Supported");
	CHECK_STR(http_status_text(299), "Unknown");
	/* The example of RFC 9110 5.6.7. */
	http_date(784111777, date, sizeof(date));
	CHECK_STR(date, "Sun, 06 Nov 1994 08:49:37 GMT");
	http_date(0, date, sizeof(date));
	CHECK_STR(date, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_response_head(&b, 404, 784111777);
	buf_append(&b, "", 1);
	CHECK_STR((char *)b.data, "HTTP/1.1 404 Not Found\r\n"
	    "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
	buf_reset(&b);
	http_chunk(&b, "hello world, this is", 20);
	http_chunk(&b, "x", 0);
	http_chunk(&b, "!", 1);
	http_chunk_end(&b);
	buf_append(&b, "", 1);
	CHECK_STR((char *)b.data,
	    "14\r\nhello world, this is\r\n1\r\n!\r\n0\r\n\r\n");
	buf_clear(&b);
}

/* What the writer makes, the parser reads back. */
TEST(chunk_round_trip)
{
	struct buf b = BUF_INIT;
	char *got;
	size_t i;

	buf_printf(&b, "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i <= 17; i++)
		http_chunk(&b, "abcdefghijklmnopq", i);
	http_chunk_end(&b);
	buf_append(&b, "", 1);
	got = parse((char *)b.data);
	CHECK(strstr(got, "[aababcabcd") != NULL);
	CHECK_INT(strlen(got), strlen("POST / host=a 1.1 body=2/0 n=2|[]|more")
	    + 153);
	free(got);
	buf_clear(&b);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(request_line),
	TEST_ENTRY(targets),
	TEST_ENTRY(fields),
	TEST_ENTRY(host),
	TEST_ENTRY(limits),
	TEST_ENTRY(framing),
	TEST_ENTRY(smuggling),
	TEST_ENTRY(chunked),
	TEST_ENTRY(expect_continue),
	TEST_ENTRY(no_body),
	TEST_ENTRY(pipelined),
	TEST_ENTRY(split_every_byte),
	TEST_ENTRY(pct_decode),
	TEST_ENTRY(query),
	TEST_ENTRY(response),
	TEST_ENTRY(chunk_round_trip),
};

HARNESS_MAIN(tests)
