/* SPDX-License-Identifier: ISC */
/*
 * test_lmtp_parse.c: lmtpd's parsers: command verbs, line framing and its
 * limit, MAIL and its parameters (SIZE, BODY, SMTPUTF8), RCPT, path syntax
 * (dot-strings, quoted local parts, address literals, source routes,
 * UTF-8 with and without SMTPUTF8, length limits), BDAT arguments, the
 * CRLF normaliser across chunk boundaries, and DATA dot-unstuffing and its
 * end, fed whole and byte by byte.
 */
/* unit-deps: workers/lmtpd/lmtp_parse.c */
#include "harness.h"
#include "buf.h"
#include "workers/lmtpd/lmtp_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX	(50ULL << 20)

static const char *
mail(const char *args, struct lmtp_mail *m)
{
	return lmtp_parse_mail(args, strlen(args), MAX, m);
}

static const char *
rcpt(const char *args, bool utf8, char *to, size_t size)
{
	return lmtp_parse_rcpt(args, strlen(args), utf8, to, size);
}

/* The reply code of a refusal ("501"), or "ok". */
static const char *
code(const char *reply)
{
	static char c[16];

	if (reply == NULL)
		return "ok";
	snprintf(c, sizeof(c), "%.9s", reply);
	return c;
}

TEST(verbs)
{
	size_t args;

	CHECK_INT(lmtp_parse_verb("LHLO x", 6, &args), LMTP_V_LHLO);
	CHECK_INT(args, 5);
	CHECK_INT(lmtp_parse_verb("lhlo x", 6, &args), LMTP_V_LHLO);
	CHECK_INT(lmtp_parse_verb("mail FROM:<>", 12, &args), LMTP_V_MAIL);
	CHECK_INT(lmtp_parse_verb("DATA", 4, &args), LMTP_V_DATA);
	CHECK_INT(args, 4);
	CHECK_INT(lmtp_parse_verb("Bdat 10 LAST", 12, &args), LMTP_V_BDAT);
	CHECK_INT(lmtp_parse_verb("QUIT", 4, &args), LMTP_V_QUIT);
	CHECK_INT(lmtp_parse_verb("starttls", 8, &args), LMTP_V_STARTTLS);
	CHECK_INT(lmtp_parse_verb("EHLO x", 6, &args), LMTP_V_EHLO);
	CHECK_INT(lmtp_parse_verb("DATAX", 5, &args), LMTP_V_UNKNOWN);
	CHECK_INT(lmtp_parse_verb("DAT", 3, &args), LMTP_V_UNKNOWN);
	CHECK_INT(lmtp_parse_verb("", 0, &args), LMTP_V_UNKNOWN);
	CHECK_INT(lmtp_parse_verb(" NOOP", 5, &args), LMTP_V_UNKNOWN);
	CHECK_STR(lmtp_verb_name(LMTP_V_RCPT), "RCPT");
}

TEST(line_scan)
{
	const uint8_t *b = (const uint8_t *)"NOOP\r\nQUIT\nxx";
	size_t line, used;

	CHECK_INT(lmtp_line_scan(b, 13, 100, &line, &used), 1);
	CHECK_INT(line, 4);
	CHECK_INT(used, 6);
	CHECK_INT(lmtp_line_scan(b + 6, 7, 100, &line, &used), 1);
	CHECK_INT(line, 4);
	CHECK_INT(used, 5);
	CHECK_INT(lmtp_line_scan(b + 11, 2, 100, &line, &used), 0);
	/* The limit counts the line end. */
	CHECK_INT(lmtp_line_scan(b, 13, 6, &line, &used), 1);
	CHECK_INT(lmtp_line_scan(b, 13, 5, &line, &used), -1);
	CHECK_INT(lmtp_line_scan(b + 11, 2, 2, &line, &used), -1);
	CHECK_INT(lmtp_line_scan((const uint8_t *)"\n", 1, 10, &line,
	    &used), 1);
	CHECK_INT(line, 0);
}

TEST(mail_paths)
{
	struct lmtp_mail m;

	CHECK_STR(code(mail("FROM:<alice@example.org>", &m)), "ok");
	CHECK_STR(m.from, "alice@example.org");
	CHECK(!m.has_size && !m.smtputf8 && m.body == LMTP_BODY_NONE);
	CHECK_STR(code(mail("from:<>", &m)), "ok");
	CHECK_STR(m.from, "");
	/* A space after the colon is tolerated (many clients send it). */
	CHECK_STR(code(mail("FROM: <a@b.example>", &m)), "ok");
	CHECK_STR(m.from, "a@b.example");
	/* Source routes are taken and dropped (RFC 5321 4.1.2, C.). */
	CHECK_STR(code(mail("FROM:<@relay.example,@r2.example:x@y.example>",
	    &m)), "ok");
	CHECK_STR(m.from, "x@y.example");
	CHECK_STR(code(mail("FROM:alice@example.org", &m)), "501 5.1.7");
	CHECK_STR(code(mail("FROM:<alice@example.org", &m)), "501 5.1.7");
	CHECK_STR(code(mail("FROM:<alice>", &m)), "501 5.1.7");
	CHECK_STR(code(mail("FROM:<a@b>x", &m)), "501 5.5.4");
	CHECK_STR(code(mail("TO:<a@b>", &m)), "501 5.5.4");
	CHECK_STR(code(mail("FROM:", &m)), "501 5.5.4");
	CHECK_STR(code(mail("", &m)), "501 5.5.4");
}

TEST(mail_params)
{
	struct lmtp_mail m;

	CHECK_STR(code(mail("FROM:<a@b.example> SIZE=1000 BODY=8BITMIME",
	    &m)), "ok");
	CHECK(m.has_size);
	CHECK_INT(m.size, 1000);
	CHECK_INT(m.body, LMTP_BODY_8BITMIME);
	CHECK_STR(code(mail("FROM:<a@b.example> body=7bit", &m)), "ok");
	CHECK_INT(m.body, LMTP_BODY_7BIT);
	CHECK_STR(code(mail("FROM:<a@b.example> SMTPUTF8", &m)), "ok");
	CHECK(m.smtputf8);
	/* RFC 1870 6: a declared size over the limit is refused at MAIL. */
	CHECK_STR(code(mail("FROM:<a@b.example> SIZE=52428801", &m)),
	    "552 5.3.4");
	CHECK_STR(code(mail("FROM:<a@b.example> SIZE=52428800", &m)), "ok");
	CHECK_STR(code(mail("FROM:<a@b.example> SIZE=99999999999999999999",
	    &m)), "552 5.3.4");
	CHECK_STR(code(mail("FROM:<a@b.example> SIZE=999999999999999999999",
	    &m)), "501 5.5.4");
	CHECK_STR(code(mail("FROM:<a@b.example> SIZE=12x", &m)), "501 5.5.4");
	CHECK_STR(code(mail("FROM:<a@b.example> SIZE=", &m)), "501 5.5.4");
	CHECK_STR(code(mail("FROM:<a@b.example> SIZE=1 SIZE=2", &m)),
	    "501 5.5.4");
	CHECK_STR(code(mail("FROM:<a@b.example> BODY=BINARYMIME", &m)),
	    "501 5.5.4");
	CHECK_STR(code(mail("FROM:<a@b.example> SMTPUTF8=yes", &m)),
	    "501 5.5.4");
	CHECK_STR(code(mail("FROM:<a@b.example> RET=FULL", &m)), "555 5.5.4");
	CHECK_STR(code(mail("FROM:<a@b.example> =x", &m)), "501 5.5.4");
	CHECK_STR(code(mail("FROM:<a@b.example>   SIZE=5  ", &m)), "ok");
	CHECK_INT(m.size, 5);
}

TEST(mail_utf8)
{
	struct lmtp_mail m;

	/* RFC 6531 3.4: UTF-8 in the path needs SMTPUTF8 on the same MAIL. */
	CHECK_STR(code(mail("FROM:<j\xc3\xb6rg@b\xc3\xbc.example> SMTPUTF8",
	    &m)), "ok");
	CHECK_STR(m.from, "j\xc3\xb6rg@b\xc3\xbc.example");
	CHECK_STR(code(mail("FROM:<j\xc3\xb6rg@example.org>", &m)),
	    "553 5.6.7");
	/* Malformed UTF-8 is a syntax error either way. */
	CHECK_STR(code(mail("FROM:<j\xc3rg@example.org> SMTPUTF8", &m)),
	    "501 5.1.7");
	CHECK_STR(code(mail("FROM:<j\xc0\xafrg@example.org> SMTPUTF8", &m)),
	    "501 5.1.7");
	CHECK_STR(code(mail("FROM:<j\xed\xa0\x80rg@example.org> SMTPUTF8",
	    &m)), "501 5.1.7");
}

TEST(rcpt_paths)
{
	char to[LMTP_PATH_MAX + 1];
	char big[600];

	CHECK_STR(code(rcpt("TO:<bob@example.org>", false, to, sizeof(to))),
	    "ok");
	CHECK_STR(to, "bob@example.org");
	CHECK_STR(code(rcpt("TO:<bob+lists@example.org>", false, to,
	    sizeof(to))), "ok");
	CHECK_STR(to, "bob+lists@example.org");
	CHECK_STR(code(rcpt("to:<first.last@sub.example.org>", false, to,
	    sizeof(to))), "ok");
	CHECK_STR(code(rcpt("TO:<\"john doe\"@example.org>", false, to,
	    sizeof(to))), "ok");
	CHECK_STR(to, "\"john doe\"@example.org");
	CHECK_STR(code(rcpt("TO:<\"a\\\"b\"@example.org>", false, to,
	    sizeof(to))), "ok");
	CHECK_STR(to, "\"a\\\"b\"@example.org");
	CHECK_STR(code(rcpt("TO:<x@[192.0.2.1]>", false, to, sizeof(to))),
	    "ok");
	CHECK_STR(code(rcpt("TO:<x@[IPv6:2001:db8::1]>", false, to,
	    sizeof(to))), "ok");
	CHECK_STR(code(rcpt("TO:<Postmaster>", false, to, sizeof(to))), "ok");
	CHECK_STR(to, "postmaster");
	/* Bad syntax. */
	CHECK_STR(code(rcpt("TO:<>", false, to, sizeof(to))), "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<bob>", false, to, sizeof(to))), "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<bob@>", false, to, sizeof(to))), "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<@example.org>", false, to, sizeof(to))),
	    "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<a..b@example.org>", false, to, sizeof(to))),
	    "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<.a@example.org>", false, to, sizeof(to))),
	    "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<a.@example.org>", false, to, sizeof(to))),
	    "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<a@-example.org>", false, to, sizeof(to))),
	    "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<a@example-.org>", false, to, sizeof(to))),
	    "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<a@example..org>", false, to, sizeof(to))),
	    "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<a b@example.org>", false, to, sizeof(to))),
	    "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<\"unterminated@example.org>", false, to,
	    sizeof(to))), "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<\"a\x01\"@example.org>", false, to,
	    sizeof(to))), "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<x@[]>", false, to, sizeof(to))), "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<x@[1.2.3.4>", false, to, sizeof(to))),
	    "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<a@b> NOTIFY=NEVER", false, to, sizeof(to))),
	    "555 5.5.4");
	CHECK_STR(code(rcpt("FROM:<a@b>", false, to, sizeof(to))),
	    "501 5.5.4");
	CHECK_STR(code(rcpt("TO:", false, to, sizeof(to))), "501 5.5.4");
	/* Limits: local part 64, domain 255, path 256 (RFC 5321 4.5.3.1). */
	memset(big, 'a', sizeof(big));
	snprintf(big, sizeof(big), "TO:<%.64s@example.org>",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK_STR(code(rcpt(big, false, to, sizeof(to))), "ok");
	snprintf(big, sizeof(big), "TO:<%.65s@example.org>",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK_STR(code(rcpt(big, false, to, sizeof(to))), "501 5.1.3");
	memset(big, 'b', sizeof(big));
	memcpy(big, "TO:<a@", 6);
	big[6 + 300] = '>';
	big[6 + 301] = '\0';
	CHECK_STR(code(rcpt(big, false, to, sizeof(to))), "501 5.1.3");
	/* The output buffer is never overrun. */
	CHECK_STR(code(rcpt("TO:<bob@example.org>", false, to, 8)),
	    "501 5.1.3");
}

TEST(rcpt_utf8)
{
	char to[LMTP_PATH_MAX + 1];

	CHECK_STR(code(rcpt("TO:<\xe7\x94\xa8\xe6\x88\xb7@example.org>", true,
	    to, sizeof(to))), "ok");
	CHECK_STR(to, "\xe7\x94\xa8\xe6\x88\xb7@example.org");
	CHECK_STR(code(rcpt("TO:<\xe7\x94\xa8\xe6\x88\xb7@example.org>",
	    false, to, sizeof(to))), "553 5.6.7");
	CHECK_STR(code(rcpt("TO:<a@\xc3\xbc" "ber.example>", true, to,
	    sizeof(to))), "ok");
	CHECK_STR(code(rcpt("TO:<\"\xc3\xa9t\xc3\xa9\"@example.org>", true,
	    to, sizeof(to))), "ok");
	CHECK_STR(code(rcpt("TO:<\xff@example.org>", true, to, sizeof(to))),
	    "501 5.1.3");
	CHECK_STR(code(rcpt("TO:<\xf4\x90\x80\x80@example.org>", true, to,
	    sizeof(to))), "501 5.1.3");
}

TEST(bdat_args)
{
	uint64_t size;
	bool last;

	CHECK(lmtp_parse_bdat("100", 3, &size, &last) == NULL);
	CHECK_INT(size, 100);
	CHECK(!last);
	CHECK(lmtp_parse_bdat("0 LAST", 6, &size, &last) == NULL);
	CHECK_INT(size, 0);
	CHECK(last);
	CHECK(lmtp_parse_bdat("7 last", 6, &size, &last) == NULL);
	CHECK(last);
	CHECK(lmtp_parse_bdat("", 0, &size, &last) != NULL);
	CHECK(lmtp_parse_bdat("LAST", 4, &size, &last) != NULL);
	CHECK(lmtp_parse_bdat("10 FIRST", 8, &size, &last) != NULL);
	CHECK(lmtp_parse_bdat("-1", 2, &size, &last) != NULL);
	CHECK(lmtp_parse_bdat("1x", 2, &size, &last) != NULL);
	CHECK(lmtp_parse_bdat("123456789012345678901", 21, &size, &last) !=
	    NULL);
	CHECK_STR(code(lmtp_parse_bdat("x", 1, &size, &last)), "501 5.5.4");
}

/* Normalises in chunks of n bytes; returns the output as a string. */
static char *
crlf(const char *in, size_t n, uint64_t cap, bool *overflow)
{
	struct lmtp_crlf c;
	struct buf out = BUF_INIT;
	size_t len = strlen(in), i, k;
	char *s;

	lmtp_crlf_init(&c, cap);
	for (i = 0; i < len; i += k) {
		k = len - i < n ? len - i : n;
		lmtp_crlf_feed(&c, &out, in + i, k);
	}
	lmtp_crlf_finish(&c, &out);
	*overflow = c.overflow;
	s = calloc(1, out.len + 1);
	if (out.len > 0)
		memcpy(s, out.data, out.len);
	buf_clear(&out);
	return s;
}

TEST(crlf_normalise)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "a\r\nb\r\n", "a\r\nb\r\n" },
		{ "a\nb\n", "a\r\nb\r\n" },
		{ "a\rb\r", "a\r\nb\r\n" },
		{ "a\r\r\nb", "a\r\n\r\nb" },
		{ "\n\n", "\r\n\r\n" },
		{ "", "" },
		{ "no line end", "no line end" },
	};
	bool over;
	char *s;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (n = 1; n <= 8; n++) {
			s = crlf(cases[i].in, n, 1000, &over);
			CHECK_STR(s, cases[i].out);
			CHECK(!over);
			free(s);
		}
	}
	/* Past the cap, bytes are counted, not stored. */
	s = crlf("abc\ndef\n", 3, 5, &over);
	CHECK(over);
	CHECK_STR(s, "abc\r\n");
	free(s);
	s = crlf("abc\n", 3, 5, &over);
	CHECK(!over);
	free(s);
}

/* Feeds in (len bytes) n at a time as the session does; returns output. */
static char *
data(const char *in, size_t len, size_t n, size_t *used_r, bool *done_r)
{
	struct lmtp_data d;
	struct buf out = BUF_INIT, pend = BUF_INIT;
	size_t i = 0, k, used;
	char *s;

	lmtp_data_init(&d, 1 << 20);
	while (!d.done && i < len) {
		k = len - i < n ? len - i : n;
		buf_append(&pend, in + i, k);
		i += k;
		used = lmtp_data_feed(&d, &out, pend.data, pend.len);
		buf_consume(&pend, used);
	}
	*done_r = d.done;
	*used_r = i - pend.len;
	s = calloc(1, out.len + 1);
	if (out.len > 0)
		memcpy(s, out.data, out.len);
	buf_clear(&out);
	buf_clear(&pend);
	return s;
}

TEST(data_unstuff)
{
	static const struct {
		const char	*in, *out;
		size_t		 used;	/* bytes that belong to the data */
	} cases[] = {
		{ "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		    "Subject: x\r\n\r\nbody\r\n", 23 },
		{ "a\r\n..b\r\n.\r\n", "a\r\n.b\r\n", 11 },
		{ "..\r\n.\r\n", ".\r\n", 7 },
		{ ".x\r\n.\r\n", "x\r\n", 7 },
		{ "a\n.\n", "a\r\n", 4 },
		{ ".\r\n", "", 3 },
		{ "a.\r\n.b\r\n.\r\n", "a.\r\nb\r\n", 11 },
		{ "a\r\n.\rb\r\n.\r\n", "a\r\n\r\nb\r\n", 11 },
		{ "bare\rcr\r\n.\r\n", "bare\r\ncr\r\n", 12 },
		{ " .\r\n.\r\n", " .\r\n", 7 },
	};
	size_t i, n, used;
	bool done;
	char *s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (n = 1; n <= 16; n++) {
			s = data(cases[i].in, strlen(cases[i].in), n, &used,
			    &done);
			CHECK(done);
			CHECK_STR(s, cases[i].out);
			CHECK_INT(used, cases[i].used);
			free(s);
		}
	}
	/* Not ended: everything is taken but a lone "." at a line start. */
	s = data("abc\r\n.", 6, 6, &used, &done);
	CHECK(!done);
	CHECK_INT(used, 5);
	CHECK_STR(s, "abc\r\n");
	free(s);
	s = data("abc\r\n.\r", 7, 7, &used, &done);
	CHECK(!done);
	CHECK_INT(used, 5);
	free(s);
}

TEST(data_cap)
{
	struct lmtp_data d;
	struct buf out = BUF_INIT;
	const char *in = "0123456789\r\n0123456789\r\n.\r\n";
	size_t used;

	lmtp_data_init(&d, 15);
	used = lmtp_data_feed(&d, &out, (const uint8_t *)in, strlen(in));
	CHECK(d.done);
	CHECK(d.norm.overflow);
	CHECK_INT(used, strlen(in));
	CHECK_INT(d.norm.total, 24);
	CHECK(out.len <= 15);
	buf_clear(&out);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(verbs),
	TEST_ENTRY(line_scan),
	TEST_ENTRY(mail_paths),
	TEST_ENTRY(mail_params),
	TEST_ENTRY(mail_utf8),
	TEST_ENTRY(rcpt_paths),
	TEST_ENTRY(rcpt_utf8),
	TEST_ENTRY(bdat_args),
	TEST_ENTRY(crlf_normalise),
	TEST_ENTRY(data_unstuff),
	TEST_ENTRY(data_cap),
};

HARNESS_MAIN(tests)
