/* SPDX-License-Identifier: ISC */
/*
 * test_imap_util.c: imapd's building blocks: modified UTF-7 mailbox names
 * both ways with the canonical-form checks (RFC 3501 5.1.3), sequence sets
 * (parsing, "*" and "$", normalizing, membership, walking, writing, limits),
 * date-time and date (parsing, calendar checks, zones, writing), and the
 * SEARCH argument parser (keys, return options, CHARSET, literals, nesting
 * and size limits, malformed input).  Expected values were worked out by
 * hand (and epoch seconds checked with Python's calendar.timegm).
 */
/* unit-deps: workers/imapd/imap_parse.c workers/imapd/imap_mutf7.c workers/imapd/imap_seqset.c workers/imapd/imap_date.c workers/imapd/imap_search.c */
#include "harness.h"
#include "buf.h"
#include "workers/imapd/imap_date.h"
#include "workers/imapd/imap_mutf7.h"
#include "workers/imapd/imap_parse.h"
#include "workers/imapd/imap_search.h"
#include "workers/imapd/imap_seqset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- Helpers --- */

/* A NUL-terminated copy of a buffer's contents, in a static slot. */
static const char *
buf_str(struct buf *b)
{
	static char s[8192];
	size_t n = b->len < sizeof(s) - 1 ? b->len : sizeof(s) - 1;

	if (n > 0)
		memcpy(s, b->data, n);
	s[n] = '\0';
	return s;
}

/* Decodes in; returns the UTF-8 or "ERR: reason". */
static const char *
mutf7_dec(const char *in)
{
	static char s[8448];
	struct buf b = BUF_INIT;
	const char *why = NULL;

	buf_append(&b, "x", 1);		/* must be kept on failure */
	if (imap_mutf7_decode(&b, in, strlen(in), &why) == -1) {
		snprintf(s, sizeof(s), "ERR: %s%s", why,
		    b.len == 1 ? "" : " (output changed)");
	} else
		snprintf(s, sizeof(s), "%s", buf_str(&b) + 1);
	buf_clear(&b);
	return s;
}

static const char *
mutf7_enc(const char *in, size_t len)
{
	static char s[8448];
	struct buf b = BUF_INIT;
	const char *why = NULL;

	if (imap_mutf7_encode(&b, in, len, &why) == -1)
		snprintf(s, sizeof(s), "ERR: %s%s", why,
		    b.len == 0 ? "" : " (output changed)");
	else
		snprintf(s, sizeof(s), "%s", buf_str(&b));
	buf_clear(&b);
	return s;
}

/* A parser over a writable copy of s; free *copy afterwards. */
static void
parser_on(struct imap_parser *ps, const char *s, uint8_t **copy)
{
	size_t len = strlen(s);

	*copy = malloc(len + 1);
	memcpy(*copy, s, len + 1);
	imap_parser_init(ps, *copy, len);
}

/*
 * Parses a sequence set from in, resolves it with star (unless star is
 * UINT64_MAX) and returns what imap_seqset_write() gives, or "ERR: why".
 */
static const char *
seq(const char *in, uint64_t star)
{
	static char s[8448];
	struct imap_parser ps;
	struct imap_seqset set;
	struct buf b = BUF_INIT;
	const char *why;
	uint8_t *copy;

	imap_seqset_init(&set);
	parser_on(&ps, in, &copy);
	if (imap_seqset_parse(&ps, &set) == -1)
		snprintf(s, sizeof(s), "ERR: %s", ps.error);
	else if (star != UINT64_MAX &&
	    imap_seqset_resolve(&set, (uint32_t)star, &why) == -1)
		snprintf(s, sizeof(s), "ERR: %s", why);
	else {
		imap_seqset_write(&set, &b);
		snprintf(s, sizeof(s), "%s%s", buf_str(&b),
		    ps.p == ps.end ? "" : " [rest]");
	}
	buf_clear(&b);
	imap_seqset_clear(&set);
	free(copy);
	return s;
}

/* Parses a date-time; returns "t zone" or "ERR: why". */
static const char *
datetime(const char *in)
{
	static char s[8448];
	struct imap_parser ps;
	uint8_t *copy;
	int64_t t;
	int zone;

	parser_on(&ps, in, &copy);
	if (imap_date_parse_datetime(&ps, &t, &zone) == -1)
		snprintf(s, sizeof(s), "ERR: %s", ps.error);
	else
		snprintf(s, sizeof(s), "%lld %d%s", (long long)t, zone,
		    ps.p == ps.end ? "" : " [rest]");
	free(copy);
	return s;
}

static const char *
date(const char *in)
{
	static char s[8448];
	struct imap_parser ps;
	uint8_t *copy;
	int64_t t;

	parser_on(&ps, in, &copy);
	if (imap_date_parse_date(&ps, &t) == -1)
		snprintf(s, sizeof(s), "ERR: %s", ps.error);
	else
		snprintf(s, sizeof(s), "%lld%s", (long long)t,
		    ps.p == ps.end ? "" : " [rest]");
	free(copy);
	return s;
}

static const char *
write_datetime(int64_t t, int zone)
{
	static char s[8448];
	struct buf b = BUF_INIT;

	if (imap_date_write_datetime(&b, t, zone) == -1)
		snprintf(s, sizeof(s), "ERR%s", b.len == 0 ? "" : " (output)");
	else
		snprintf(s, sizeof(s), "%s", buf_str(&b));
	buf_clear(&b);
	return s;
}

/*
 * Parses the arguments of SEARCH in "args" (which start with the SP after
 * the command name; CRLF is added) and returns the tree written back, or
 * "ERR: why".
 */
static const char *
search(const char *args)
{
	static char s[8192];
	struct imap_parser ps;
	struct imap_search srch;
	struct buf b = BUF_INIT;
	uint8_t *copy;
	char *line;
	size_t n = strlen(args) + 3;

	line = malloc(n);
	snprintf(line, n, "%s\r\n", args);
	parser_on(&ps, line, &copy);
	imap_search_init(&srch);
	if (imap_search_parse(&ps, &srch) == -1 || imap_parse_eol(&ps) == -1)
		snprintf(s, sizeof(s), "ERR: %s", ps.error);
	else {
		imap_search_write(&srch, &b);
		snprintf(s, sizeof(s), "%s", buf_str(&b));
	}
	imap_search_clear(&srch);
	buf_clear(&b);
	free(copy);
	free(line);
	return s;
}

/* --- Modified UTF-7 --- */

TEST(mutf7_decode_rfc_examples)
{
	/* RFC 3501 5.1.3 */
	CHECK_STR(mutf7_dec("~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
	    "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	/* RFC 2152's smiley, in modified form */
	CHECK_STR(mutf7_dec("&Jjo-!"), "\xe2\x98\xba!");
	CHECK_STR(mutf7_dec("Hi Mom -&Jjo--!"), "Hi Mom -\xe2\x98\xba-!");
	CHECK_STR(mutf7_dec("&ZeVnLIqe-"),
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
}

TEST(mutf7_decode_cases)
{
	CHECK_STR(mutf7_dec(""), "");
	CHECK_STR(mutf7_dec("INBOX"), "INBOX");
	CHECK_STR(mutf7_dec("&-"), "&");
	CHECK_STR(mutf7_dec("Tom &- Jerry"), "Tom & Jerry");
	CHECK_STR(mutf7_dec("&-&-"), "&&");
	CHECK_STR(mutf7_dec("caf&AOk-"), "caf\xc3\xa9");
	CHECK_STR(mutf7_dec("&AOkA6Q-"), "\xc3\xa9\xc3\xa9");
	CHECK_STR(mutf7_dec("&AOk-&-"), "\xc3\xa9&");
	CHECK_STR(mutf7_dec("&AOk-x&AOk-"), "\xc3\xa9x\xc3\xa9");
	CHECK_STR(mutf7_dec("a&AAk-b"), "a\tb");
	/* U+1F600, a surrogate pair D83D DE00 */
	CHECK_STR(mutf7_dec("&2D3eAA-"), "\xf0\x9f\x98\x80");
	CHECK_STR(mutf7_dec("&AOnYPd4A-"), "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(mutf7_decode_refuses)
{
	CHECK_STR(mutf7_dec("&Jjo"), "ERR: Unterminated shift in mailbox name");
	CHECK_STR(mutf7_dec("a&"), "ERR: Unterminated shift in mailbox name");
	CHECK_STR(mutf7_dec("&Jjo!"),
	    "ERR: Invalid modified BASE64 in mailbox name");
	CHECK_STR(mutf7_dec("&Jj/-"),
	    "ERR: Invalid modified BASE64 in mailbox name");
	/* "a" and "&" encoded: both have a shorter canonical form */
	CHECK_STR(mutf7_dec("&AGE-"),
	    "ERR: Encoded US-ASCII character in mailbox name");
	CHECK_STR(mutf7_dec("&ACY-"),
	    "ERR: Encoded US-ASCII character in mailbox name");
	/* two shifts in a row */
	CHECK_STR(mutf7_dec("&AOk-&AOk-"),
	    "ERR: Superfluous shift in mailbox name");
	/* padding bits 01; an extra digit of padding */
	CHECK_STR(mutf7_dec("&AOl-"), "ERR: Bad padding in mailbox name");
	CHECK_STR(mutf7_dec("&AOkA-"), "ERR: Bad padding in mailbox name");
	CHECK_STR(mutf7_dec("&AA-"), "ERR: Empty shift in mailbox name");
	/* lone high D83D, lone low DE00, high then a letter */
	CHECK_STR(mutf7_dec("&2D0-"),
	    "ERR: Unpaired surrogate in mailbox name");
	CHECK_STR(mutf7_dec("&3gA-"),
	    "ERR: Unpaired surrogate in mailbox name");
	CHECK_STR(mutf7_dec("&2D0A6Q-"),
	    "ERR: Unpaired surrogate in mailbox name");
	CHECK_STR(mutf7_dec("&AAA-"), "ERR: NUL in mailbox name");
	CHECK_STR(mutf7_dec("caf\xc3\xa9"),
	    "ERR: Invalid character in mailbox name");
	CHECK_STR(mutf7_dec("a\tb"), "ERR: Invalid character in mailbox name");
	CHECK_STR(mutf7_dec("a\x7f"), "ERR: Invalid character in mailbox name");
}

TEST(mutf7_encode)
{
	CHECK_STR(mutf7_enc("", 0), "");
	CHECK_STR(mutf7_enc("INBOX", 5), "INBOX");
	CHECK_STR(mutf7_enc("Tom & Jerry", 11), "Tom &- Jerry");
	CHECK_STR(mutf7_enc("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 28),
	    "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	CHECK_STR(mutf7_enc("\xe2\x98\xba!", 4), "&Jjo-!");
	CHECK_STR(mutf7_enc("\xc3\xa9&", 3), "&AOk-&-");
	CHECK_STR(mutf7_enc("a\tb", 3), "a&AAk-b");
	CHECK_STR(mutf7_enc("\xc3\xa9\xf0\x9f\x98\x80", 6), "&AOnYPd4A-");
	CHECK_STR(mutf7_enc("\xf0\x9f\x98\x80", 4), "&2D3eAA-");
	CHECK_STR(mutf7_enc("a\0b", 3), "ERR: NUL in mailbox name");
	CHECK_STR(mutf7_enc("caf\xc3", 4),
	    "ERR: Invalid UTF-8 in mailbox name");
	CHECK_STR(mutf7_enc("\xc0\x80", 2),
	    "ERR: Invalid UTF-8 in mailbox name");
	CHECK_STR(mutf7_enc("\xed\xa0\xbd", 3),
	    "ERR: Invalid UTF-8 in mailbox name");
	CHECK_STR(mutf7_enc("\xf4\x90\x80\x80", 4),
	    "ERR: Invalid UTF-8 in mailbox name");
	/* A failure after output keeps what was in the buffer. */
	CHECK_STR(mutf7_enc("\xc3\xa9\xff", 3),
	    "ERR: Invalid UTF-8 in mailbox name");
}

/* --- Sequence sets --- */

TEST(seqset_parse_and_write)
{
	CHECK_STR(seq("1", UINT64_MAX), "1");
	CHECK_STR(seq("1:*", UINT64_MAX), "1:*");
	CHECK_STR(seq("*:1", UINT64_MAX), "*:1");
	CHECK_STR(seq("*", UINT64_MAX), "*");
	CHECK_STR(seq("$", UINT64_MAX), "$");
	CHECK_STR(seq("2,4:7,9,12:*", UINT64_MAX), "2,4:7,9,12:*");
	CHECK_STR(seq("4294967295", UINT64_MAX), "4294967295");
	CHECK_STR(seq("3:3", UINT64_MAX), "3");
	CHECK_STR(seq("1:3 FOO", UINT64_MAX), "1:3 [rest]");
	CHECK_STR(seq("1:3)", UINT64_MAX), "1:3 [rest]");
}

TEST(seqset_resolve)
{
	/* RFC 9051 9's examples */
	CHECK_STR(seq("2,4:7,9,12:*", 15), "2,4:7,9,12:15");
	CHECK_STR(seq("*:4,5:7", 10), "4:10");
	CHECK_STR(seq("3291:*", 100), "100:3291");
	CHECK_STR(seq("1:*", 10), "1:10");
	CHECK_STR(seq("*:1", 5), "1:5");
	CHECK_STR(seq("*", 7), "7");
	CHECK_STR(seq("5,1:3,2", 0), "1:3,5");
	CHECK_STR(seq("1:3,4,6,5", 0), "1:6");
	CHECK_STR(seq("5:10,1:7", 0), "1:10");
	CHECK_STR(seq("10:5,20", 0), "5:10,20");
	CHECK_STR(seq("4294967295,1:4294967294", 0), "1:4294967295");
	/* "*" in an empty mailbox, and "$" not substituted */
	CHECK_STR(seq("1:*", 0), "ERR: * used in an empty mailbox");
	CHECK_STR(seq("$", 9), "ERR: Saved search result not substituted");
}

TEST(seqset_refuses)
{
	CHECK_STR(seq("0", UINT64_MAX), "ERR: Sequence numbers start at 1");
	CHECK_STR(seq("01", UINT64_MAX), "ERR: Sequence numbers start at 1");
	CHECK_STR(seq("1:0", UINT64_MAX), "ERR: Sequence numbers start at 1");
	CHECK_STR(seq("4294967296", UINT64_MAX),
	    "ERR: Number too large in sequence set");
	CHECK_STR(seq("", UINT64_MAX), "ERR: Missing argument");
	CHECK_STR(seq("1,", UINT64_MAX), "ERR: Missing argument");
	CHECK_STR(seq(",1", UINT64_MAX), "ERR: Invalid sequence set");
	CHECK_STR(seq("1::2", UINT64_MAX), "ERR: Invalid sequence set");
	CHECK_STR(seq("1:2:3", UINT64_MAX), "ERR: Invalid sequence set");
	CHECK_STR(seq("*5", UINT64_MAX), "ERR: Invalid sequence set");
	CHECK_STR(seq("a", UINT64_MAX), "ERR: Invalid sequence set");
	CHECK_STR(seq("$,1", UINT64_MAX),
	    "ERR: $ must stand alone as a sequence set");
	CHECK_STR(seq("$:3", UINT64_MAX),
	    "ERR: $ must stand alone as a sequence set");
	CHECK_STR(seq("1,$", UINT64_MAX), "ERR: Invalid sequence set");
}

TEST(seqset_limit)
{
	size_t n = IMAP_SEQSET_MAX_RANGES, i;
	char *s = malloc(2 * (n + 1) + 1);
	struct imap_parser ps;
	struct imap_seqset set;

	/* Exactly the limit of ranges passes, one more fails. */
	for (i = 0; i < n; i++)
		memcpy(s + 2 * i, "1,", 2);
	s[2 * n - 1] = '\0';
	imap_seqset_init(&set);
	imap_parser_init(&ps, (uint8_t *)s, strlen(s));
	CHECK_INT(imap_seqset_parse(&ps, &set), 0);
	CHECK_INT(set.n, n);
	imap_seqset_clear(&set);
	memcpy(s + 2 * n - 1, ",1", 3);
	imap_parser_init(&ps, (uint8_t *)s, strlen(s));
	CHECK_INT(imap_seqset_parse(&ps, &set), -1);
	CHECK_STR(ps.error, "Too many ranges in sequence set");
	imap_seqset_clear(&set);
	free(s);
}

TEST(seqset_contains_iterate)
{
	struct imap_parser ps;
	struct imap_seqset set;
	struct imap_seqset_iter it;
	struct buf b = BUF_INIT;
	const char *why;
	char got[256] = "";
	uint8_t *copy;
	uint32_t n;

	imap_seqset_init(&set);
	parser_on(&ps, "12:*,2,4:7,9", &copy);
	CHECK_INT(imap_seqset_parse(&ps, &set), 0);
	/* Unresolved: "*" from the argument. */
	CHECK(imap_seqset_contains(&set, 13, 15));
	CHECK(imap_seqset_contains(&set, 15, 15));
	CHECK(!imap_seqset_contains(&set, 16, 15));
	CHECK(!imap_seqset_contains(&set, 8, 15));
	CHECK(imap_seqset_contains(&set, 9, 15));
	CHECK(imap_seqset_contains(&set, 10, 10));	/* 12:* is 10:12 */
	CHECK(!imap_seqset_contains(&set, 12, 0));
	CHECK(!imap_seqset_contains(&set, 0, 15));
	CHECK_INT(imap_seqset_resolve(&set, 15, &why), 0);
	CHECK(imap_seqset_contains(&set, 2, 0));
	CHECK(!imap_seqset_contains(&set, 3, 0));
	CHECK(imap_seqset_contains(&set, 7, 0));
	CHECK(!imap_seqset_contains(&set, 11, 0));
	CHECK(imap_seqset_contains(&set, 12, 0));
	CHECK(!imap_seqset_contains(&set, 16, 0));
	CHECK_INT(imap_seqset_count(&set), 10);
	CHECK_INT(imap_seqset_max(&set), 15);
	imap_seqset_iter_init(&it);
	while (imap_seqset_iter_next(&set, &it, &n))
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%u ",
		    n);
	CHECK_STR(got, "2 4 5 6 7 9 12 13 14 15 ");
	imap_seqset_clear(&set);
	free(copy);

	/* The top of the range: no overflow past 4294967295. */
	parser_on(&ps, "4294967294:*", &copy);
	CHECK_INT(imap_seqset_parse(&ps, &set), 0);
	CHECK_INT(imap_seqset_resolve(&set, 4294967295U, &why), 0);
	got[0] = '\0';
	imap_seqset_iter_init(&it);
	while (imap_seqset_iter_next(&set, &it, &n))
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%u ",
		    n);
	CHECK_STR(got, "4294967294 4294967295 ");
	CHECK_INT(imap_seqset_count(&set), 2);
	imap_seqset_clear(&set);
	free(copy);

	/* Built by the server, as for COPYUID. */
	imap_seqset_add(&set, 7, 7);
	imap_seqset_add(&set, 1, 3);
	imap_seqset_add(&set, 5, 5);
	imap_seqset_add(&set, 4, 4);
	CHECK_INT(imap_seqset_resolve(&set, 0, &why), 0);
	imap_seqset_write(&set, &b);
	CHECK_STR(buf_str(&b), "1:5,7");
	imap_seqset_clear(&set);
	buf_reset(&b);
	/* An empty set writes nothing and holds nothing. */
	CHECK_INT(imap_seqset_resolve(&set, 0, &why), 0);
	imap_seqset_write(&set, &b);
	CHECK_INT(b.len, 0);
	CHECK(!imap_seqset_contains(&set, 1, 1));
	CHECK_INT(imap_seqset_max(&set), 0);
	buf_clear(&b);
}

/* --- Dates --- */

TEST(date_time_parse)
{
	/* RFC 9051's example: 1996-07-17 09:44:25 UTC */
	CHECK_STR(datetime("\"17-Jul-1996 02:44:25 -0700\""), "837596665 -420");
	CHECK_STR(datetime("\" 1-Jan-2000 00:00:00 +0000\""), "946684800 0");
	CHECK_STR(datetime("\"01-jan-2000 00:00:00 +0000\" x"),
	    "946684800 0 [rest]");
	/* The extreme zones in use: the same instant */
	CHECK_STR(datetime("\"01-Jan-2000 14:00:00 +1400\""), "946684800 840");
	CHECK_STR(datetime("\"31-Dec-1999 12:00:00 -1200\""),
	    "946684800 -720");
	CHECK_STR(datetime("\"31-Dec-1999 23:30:00 -0030\""), "946684800 -30");
	CHECK_STR(datetime("\"29-Feb-2024 00:00:00 +0000\""), "1709164800 0");
	CHECK_STR(datetime("\"29-Feb-2000 00:00:00 +0000\""), "951782400 0");
	/* A leap second is the second after */
	CHECK_STR(datetime("\"31-Dec-1999 23:59:60 +0000\""), "946684800 0");
	CHECK_STR(datetime("\"01-Jan-0001 00:00:00 +0000\""),
	    "-62135596800 0");
	CHECK_STR(datetime("\"31-Dec-9999 23:59:59 +0000\""),
	    "253402300799 0");
}

TEST(date_time_refuses)
{
	CHECK_STR(datetime("\"01-Foo-2000 00:00:00 +0000\""),
	    "ERR: Invalid month in date");
	CHECK_STR(datetime("\"31-Feb-2024 00:00:00 +0000\""),
	    "ERR: Invalid day of month in date");
	CHECK_STR(datetime("\"29-Feb-2023 00:00:00 +0000\""),
	    "ERR: Invalid day of month in date");
	CHECK_STR(datetime("\"29-Feb-1900 00:00:00 +0000\""),
	    "ERR: Invalid day of month in date");
	CHECK_STR(datetime("\"31-Apr-2024 00:00:00 +0000\""),
	    "ERR: Invalid day of month in date");
	CHECK_STR(datetime("\"00-Jan-2024 00:00:00 +0000\""),
	    "ERR: Invalid day of month in date");
	CHECK_STR(datetime("\"1-Jan-2000 00:00:00 +0000\""),
	    "ERR: Invalid date-time");
	CHECK_STR(datetime("\" 1-Jan-00 00:00:00 +0000\""),
	    "ERR: Invalid year in date");
	CHECK_STR(datetime("01-Jan-2000 00:00:00 +0000"),
	    "ERR: Invalid date-time");
	CHECK_STR(datetime(""), "ERR: Missing argument");
	CHECK_STR(datetime("\"01-Jan-2000 24:00:00 +0000\""),
	    "ERR: Invalid time in date-time");
	CHECK_STR(datetime("\"01-Jan-2000 00:60:00 +0000\""),
	    "ERR: Invalid time in date-time");
	CHECK_STR(datetime("\"01-Jan-2000 00:00:61 +0000\""),
	    "ERR: Invalid time in date-time");
	CHECK_STR(datetime("\"01-Jan-2000 0:00:00 +0000\""),
	    "ERR: Invalid time in date-time");
	CHECK_STR(datetime("\"01-Jan-2000 00:00:00 +2400\""),
	    "ERR: Invalid zone in date-time");
	CHECK_STR(datetime("\"01-Jan-2000 00:00:00 +0060\""),
	    "ERR: Invalid zone in date-time");
	CHECK_STR(datetime("\"01-Jan-2000 00:00:00 0000\""),
	    "ERR: Invalid zone in date-time");
	CHECK_STR(datetime("\"01-Jan-2000 00:00:00 +000\""),
	    "ERR: Invalid zone in date-time");
	CHECK_STR(datetime("\"01-Jan-2000 00:00:00 GMT\""),
	    "ERR: Invalid zone in date-time");
	CHECK_STR(datetime("\"01-Jan-2000 00:00:00 +0000"),
	    "ERR: Invalid date-time");
}

TEST(date_parse)
{
	CHECK_STR(date("1-Feb-2024"), "1706745600");
	CHECK_STR(date("01-Feb-2024"), "1706745600");
	CHECK_STR(date("\"1-FEB-2024\""), "1706745600");
	CHECK_STR(date("29-Feb-2024 SEEN"), "1709164800 [rest]");
	CHECK_STR(date("31-Dec-1969"), "-86400");
	CHECK_STR(date("30-Feb-2024"), "ERR: Invalid day of month in date");
	CHECK_STR(date("32-Jan-2024"), "ERR: Invalid day of month in date");
	CHECK_STR(date("1-Feb-24"), "ERR: Invalid year in date");
	CHECK_STR(date("1-February-2024"), "ERR: Invalid date");
	CHECK_STR(date("1-Fex-2024"), "ERR: Invalid month in date");
	CHECK_STR(date("\"1-Feb-2024"), "ERR: Invalid date");
	CHECK_STR(date("001-Feb-2024"), "ERR: Invalid date");
	CHECK_STR(date("Feb-2024"), "ERR: Invalid date");
	CHECK_STR(date(""), "ERR: Missing argument");
}

TEST(date_write)
{
	CHECK_STR(write_datetime(837596665, -420),
	    "\"17-Jul-1996 02:44:25 -0700\"");
	CHECK_STR(write_datetime(946684800, 0),
	    "\" 1-Jan-2000 00:00:00 +0000\"");
	CHECK_STR(write_datetime(946684800, 840),
	    "\" 1-Jan-2000 14:00:00 +1400\"");
	CHECK_STR(write_datetime(946684800, -720),
	    "\"31-Dec-1999 12:00:00 -1200\"");
	CHECK_STR(write_datetime(946684800, -30),
	    "\"31-Dec-1999 23:30:00 -0030\"");
	CHECK_STR(write_datetime(-1, 0), "\"31-Dec-1969 23:59:59 +0000\"");
	CHECK_STR(write_datetime(1709164800, 0),
	    "\"29-Feb-2024 00:00:00 +0000\"");
	CHECK_STR(write_datetime(0, 24 * 60), "ERR");
	CHECK_STR(write_datetime(253402300800LL, 0), "ERR");
	CHECK_STR(write_datetime(INT64_MIN, 0), "ERR");
	CHECK_INT(imap_date_from_civil(1970, 1, 1), 0);
	CHECK_INT(imap_date_from_civil(2000, 3, 1), 951868800);
}

/* --- SEARCH --- */

TEST(search_keys)
{
	CHECK_STR(search(" FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""),
	    "FLAGGED SINCE 1-Feb-1994 NOT FROM Smith");
	CHECK_STR(search(" seen unseen new old recent"),
	    "SEEN UNSEEN NEW OLD RECENT");
	CHECK_STR(search(" ALL ANSWERED DELETED DRAFT FLAGGED UNANSWERED "
	    "UNDELETED UNDRAFT UNFLAGGED"), "ALL ANSWERED DELETED DRAFT "
	    "FLAGGED UNANSWERED UNDELETED UNDRAFT UNFLAGGED");
	CHECK_STR(search(" BCC a CC b TO c SUBJECT \"x y\" BODY z TEXT \"\""),
	    "BCC a CC b TO c SUBJECT \"x y\" BODY z TEXT \"\"");
	CHECK_STR(search(" HEADER Message-ID \"<a@b>\" HEADER X-Spam \"\""),
	    "HEADER Message-ID <a@b> HEADER X-Spam \"\"");
	CHECK_STR(search(" KEYWORD $Junk UNKEYWORD $Forwarded"),
	    "KEYWORD $Junk UNKEYWORD $Forwarded");
	/* Atoms stay atoms, even NIL, which an astring would quote. */
	CHECK_STR(search(" KEYWORD NIL EMAILID NIL SUBJECT NIL"),
	    "KEYWORD NIL EMAILID NIL SUBJECT \"NIL\"");
	CHECK_STR(search(" BEFORE \"1-Jan-2020\" ON 01-Jan-2020 SENTBEFORE "
	    "2-Jan-2020 SENTON 3-Jan-2020 SENTSINCE 4-Jan-2020"),
	    "BEFORE 1-Jan-2020 ON 1-Jan-2020 SENTBEFORE 2-Jan-2020 "
	    "SENTON 3-Jan-2020 SENTSINCE 4-Jan-2020");
	CHECK_STR(search(" LARGER 9223372036854775807 SMALLER 0"),
	    "LARGER 9223372036854775807 SMALLER 0");
	CHECK_STR(search(" 2,4:7,9,12:* UID 1:* $ UID $"),
	    "2,4:7,9,12:* UID 1:* $ UID $");
	CHECK_STR(search(" OR SEEN (FLAGGED DELETED)"),
	    "OR SEEN (FLAGGED DELETED)");
	CHECK_STR(search(" (OR (OR a b) NOT c)"), "ERR: Unknown search key");
	CHECK_STR(search(" (OR (OR FROM a FROM b) NOT TO c)"),
	    "(OR (OR FROM a FROM b) NOT TO c)");
	/* Extensions */
	CHECK_STR(search(" UNSEEN YOUNGER 259200 OLDER 1"),
	    "UNSEEN YOUNGER 259200 OLDER 1");
	CHECK_STR(search(" MODSEQ 620162338 MODSEQ 0"),
	    "MODSEQ 620162338 MODSEQ 0");
	CHECK_STR(search(" MODSEQ \"/flags/\\\\draft\" all 620162338"),
	    "MODSEQ \"/flags/\\\\draft\" all 620162338");
	CHECK_STR(search(" MODSEQ \"/flags/$mdnsent\" PRIV 5"),
	    "MODSEQ \"/flags/$mdnsent\" priv 5");
	CHECK_STR(search(" MODSEQ \"/FLAGS/x\" shared 5"),
	    "MODSEQ \"/FLAGS/x\" shared 5");
	CHECK_STR(search(" SAVEDBEFORE 1-Jan-2020 SAVEDON 2-Jan-2020 "
	    "SAVEDSINCE 3-Jan-2020 SAVEDATESUPPORTED"),
	    "SAVEDBEFORE 1-Jan-2020 SAVEDON 2-Jan-2020 SAVEDSINCE 3-Jan-2020 "
	    "SAVEDATESUPPORTED");
	CHECK_STR(search(" EMAILID M6d99ac3275bb4e THREADID T64b478a7_5b-ea9"),
	    "EMAILID M6d99ac3275bb4e THREADID T64b478a7_5b-ea9");
}

TEST(search_program)
{
	struct imap_parser ps;
	struct imap_search s;
	uint8_t *copy;

	/* RFC 5182 2.1's example, with a literal */
	CHECK_STR(search(" CHARSET UTF-8 (OR $ 1,3000:3021) TEXT {7}\r\n"
	    "my list"), "CHARSET UTF-8 (OR $ 1,3000:3021) TEXT \"my list\"");
	CHECK_STR(search(" CHARSET \"KOI8-R\" TEXT {4+}\r\nab\"c"),
	    "CHARSET KOI8-R TEXT \"ab\\\"c\"");
	CHECK_STR(search(" RETURN (MIN MAX COUNT) UNDELETED"),
	    "RETURN (MIN MAX COUNT) UNDELETED");
	CHECK_STR(search(" RETURN (save count all) CHARSET UTF-8 ALL"),
	    "RETURN (ALL COUNT SAVE) CHARSET UTF-8 ALL");
	CHECK_STR(search(" RETURN () ALL"), "RETURN () ALL");
	CHECK_STR(search(" RETURN (PARTIAL -1:-100) UNDELETED"),
	    "RETURN (PARTIAL -1:-100) UNDELETED");
	CHECK_STR(search(" RETURN (COUNT PARTIAL 23500:24000) UNDELETED"),
	    "RETURN (COUNT PARTIAL 23500:24000) UNDELETED");
	/* A literal string is flagged as one and points into the buffer. */
	parser_on(&ps, " TEXT {3}\r\nabc\r\n", &copy);
	imap_search_init(&s);
	CHECK_INT(imap_search_parse(&ps, &s), 0);
	CHECK_INT(imap_parse_eol(&ps), 0);
	CHECK_INT(s.n, 2);
	CHECK_INT(s.nodes[s.root].key, IMAP_SEARCH_AND);
	CHECK_INT(s.nodes[s.root].child, 1);
	CHECK_INT(s.nodes[1].key, IMAP_SEARCH_TEXT);
	CHECK(s.nodes[1].str.literal);
	CHECK_INT(s.nodes[1].str.len, 3);
	CHECK((const uint8_t *)s.nodes[1].str.p == copy + 11);
	CHECK(!s.ret_given);
	CHECK(s.charset.p == NULL);
	imap_search_clear(&s);
	free(copy);
	/* The tree of OR and NOT */
	parser_on(&ps, " OR 5 NOT UID 3:1\r\n", &copy);
	CHECK_INT(imap_search_parse(&ps, &s), 0);
	CHECK_INT(s.nodes[1].key, IMAP_SEARCH_OR);
	CHECK_INT(s.nodes[1].child, 2);
	CHECK_INT(s.nodes[2].key, IMAP_SEARCH_SEQSET);
	CHECK_INT(s.nodes[2].next, 3);
	CHECK_INT(s.nodes[3].key, IMAP_SEARCH_NOT);
	CHECK_INT(s.nodes[3].next, IMAP_SEARCH_NONE);
	CHECK_INT(s.nodes[4].key, IMAP_SEARCH_UID);
	CHECK_INT(s.nodes[4].set.r[0].first, 3);
	CHECK_INT(s.nodes[4].set.r[0].last, 1);
	imap_search_clear(&s);
	free(copy);
}

TEST(search_refuses)
{
	CHECK_STR(search(""), "ERR: Missing argument");
	CHECK_STR(search(" "), "ERR: Missing argument");
	CHECK_STR(search("SEEN"), "ERR: Expected a space between arguments");
	CHECK_STR(search(" FOO"), "ERR: Unknown search key");
	CHECK_STR(search(" SEEN  SEEN"), "ERR: Unexpected extra space");
	CHECK_STR(search(" SEEN "), "ERR: Missing argument");
	CHECK_STR(search(" (SEEN"), "ERR: Missing ) in search program");
	CHECK_STR(search(" (SEEN DELETED"), "ERR: Missing ) in search program");
	CHECK_STR(search(" ()"), "ERR: Expected an atom");
	CHECK_STR(search(" SEEN)"),
	    "ERR: Unexpected characters at end of command");
	CHECK_STR(search(" OR SEEN"), "ERR: Missing argument");
	CHECK_STR(search(" NOT"), "ERR: Missing argument");
	CHECK_STR(search(" FROM"), "ERR: Missing argument");
	CHECK_STR(search(" HEADER Subject"), "ERR: Missing argument");
	CHECK_STR(search(" SINCE 31-Feb-2024"),
	    "ERR: Invalid day of month in date");
	CHECK_STR(search(" SINCE 2024-02-01"), "ERR: Invalid date");
	CHECK_STR(search(" LARGER -1"), "ERR: Expected a number");
	CHECK_STR(search(" LARGER 9223372036854775808"),
	    "ERR: Number too large");
	CHECK_STR(search(" UID 0"), "ERR: Sequence numbers start at 1");
	CHECK_STR(search(" UID"), "ERR: Missing argument");
	CHECK_STR(search(" 1:2:3"), "ERR: Invalid sequence set");
	CHECK_STR(search(" KEYWORD \\Seen"), "ERR: Expected an atom");
	CHECK_STR(search(" YOUNGER 0"), "ERR: Expected a nonzero number");
	CHECK_STR(search(" OLDER 4294967296"), "ERR: Number too large");
	CHECK_STR(search(" MODSEQ \"/flags/\" all 5"),
	    "ERR: Invalid entry name in MODSEQ");
	CHECK_STR(search(" MODSEQ \"/flags/\\\\\" all 5"),
	    "ERR: Invalid entry name in MODSEQ");
	CHECK_STR(search(" MODSEQ \"/other/x\" all 5"),
	    "ERR: Invalid entry name in MODSEQ");
	CHECK_STR(search(" MODSEQ \"/flags/x\" other 5"),
	    "ERR: Invalid entry type in MODSEQ");
	CHECK_STR(search(" MODSEQ \"/flags/x\" all"), "ERR: Missing argument");
	CHECK_STR(search(" MODSEQ {9}\r\n/flags/x all 5"),
	    "ERR: Expected a number");
	CHECK_STR(search(" EMAILID a.b"), "ERR: Invalid object identifier");
	CHECK_STR(search(" SAVEDATESINCE 1-Jan-2020"),
	    "ERR: Unknown search key");
	CHECK_STR(search(" RETURN (FOO) ALL"),
	    "ERR: Unknown search return option");
	CHECK_STR(search(" RETURN (PARTIAL 1:500 ALL) ALL"),
	    "ERR: Only one of PARTIAL and ALL may be given");
	CHECK_STR(search(" RETURN (ALL PARTIAL 1:5) ALL"),
	    "ERR: Only one of PARTIAL and ALL may be given");
	CHECK_STR(search(" RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL"),
	    "ERR: Only one of PARTIAL and ALL may be given");
	CHECK_STR(search(" RETURN (PARTIAL 0:5) ALL"),
	    "ERR: Expected a nonzero number");
	CHECK_STR(search(" RETURN (PARTIAL -1:5) ALL"),
	    "ERR: Invalid PARTIAL range");
	CHECK_STR(search(" RETURN (PARTIAL 1) ALL"),
	    "ERR: Invalid PARTIAL range");
	CHECK_STR(search(" RETURN (PARTIAL *:5) ALL"),
	    "ERR: Expected a number");
	CHECK_STR(search(" RETURN (MIN"), "ERR: Missing argument");
	CHECK_STR(search(" RETURN MIN ALL"), "ERR: Expected ( after RETURN");
	CHECK_STR(search(" RETURN (MIN)"), "ERR: Missing argument");
	CHECK_STR(search(" CHARSET UTF-8"), "ERR: Missing argument");
	CHECK_STR(search(" TEXT {5}\r\nab"), "ERR: Truncated literal");
}

/* n times word, then tail, after a leading SP. */
static char *
repeat(const char *word, size_t n, const char *tail)
{
	size_t wl = strlen(word), tl = strlen(tail), i;
	char *s = malloc(1 + wl * n + tl + 1);

	s[0] = ' ';
	for (i = 0; i < n; i++)
		memcpy(s + 1 + wl * i, word, wl);
	memcpy(s + 1 + wl * n, tail, tl + 1);
	return s;
}

TEST(search_limits)
{
	char *s, *want;
	size_t n;

	/* 31 NOTs put SEEN at depth 32, the limit; 32 are too many. */
	s = repeat("NOT ", IMAP_SEARCH_MAX_DEPTH - 1, "SEEN");
	CHECK_STR(search(s), s + 1);
	free(s);
	s = repeat("NOT ", IMAP_SEARCH_MAX_DEPTH, "SEEN");
	CHECK_STR(search(s), "ERR: Search program nested too deeply");
	free(s);
	s = repeat("NOT ", 100000, "SEEN");
	CHECK_STR(search(s), "ERR: Search program nested too deeply");
	free(s);
	s = repeat("(", IMAP_SEARCH_MAX_DEPTH - 1, "SEEN");
	want = repeat(")", IMAP_SEARCH_MAX_DEPTH - 1, "");
	n = strlen(s);
	s = realloc(s, n + strlen(want));
	memcpy(s + n, want + 1, strlen(want));
	CHECK_STR(search(s), s + 1);
	free(s);
	free(want);
	s = repeat("(", IMAP_SEARCH_MAX_DEPTH, "SEEN");
	CHECK_STR(search(s), "ERR: Search program nested too deeply");
	free(s);
	s = repeat("OR SEEN ", IMAP_SEARCH_MAX_DEPTH, "SEEN");
	CHECK_STR(search(s), "ERR: Search program nested too deeply");
	free(s);
	/* The program's AND node and 1023 keys fill the tree. */
	s = repeat("SEEN ", IMAP_SEARCH_MAX_NODES - 1, "SEEN");
	s[strlen(s) - 5] = '\0';
	CHECK_STR(search(s), s + 1);
	free(s);
	s = repeat("SEEN ", IMAP_SEARCH_MAX_NODES - 1, "SEEN");
	CHECK_STR(search(s), "ERR: Search program too large");
	free(s);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(mutf7_decode_rfc_examples),
	TEST_ENTRY(mutf7_decode_cases),
	TEST_ENTRY(mutf7_decode_refuses),
	TEST_ENTRY(mutf7_encode),
	TEST_ENTRY(seqset_parse_and_write),
	TEST_ENTRY(seqset_resolve),
	TEST_ENTRY(seqset_refuses),
	TEST_ENTRY(seqset_limit),
	TEST_ENTRY(seqset_contains_iterate),
	TEST_ENTRY(date_time_parse),
	TEST_ENTRY(date_time_refuses),
	TEST_ENTRY(date_parse),
	TEST_ENTRY(date_write),
	TEST_ENTRY(search_keys),
	TEST_ENTRY(search_program),
	TEST_ENTRY(search_refuses),
	TEST_ENTRY(search_limits),
};

HARNESS_MAIN(tests)
