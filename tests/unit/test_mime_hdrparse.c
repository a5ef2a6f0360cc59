/* SPDX-License-Identifier: ISC */
/*
 * test_mime_hdrparse.c: the parsed forms of one raw header value
 * (mime.h: mime_header_addresses, mime_header_msgids, mime_header_date,
 * mime_header_urls; RFC 8621 4.1.2): address lists with groups, empty
 * groups, encoded and quoted names (trimmed) and a comment for a name;
 * msg-id lists with comments and folding, and the one-id form; dates
 * with their offsets, obsolete zones and refusals; RFC 2369 URL lists and
 * where they end.  Each value is given as exactly its bytes (no NUL after
 * them), as a header block holds it, so that ASan sees any read past the
 * end.
 */
#include "harness.h"
#include "buf.h"
#include "mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A copy of s without its NUL, freed by the next call. */
static const char *
exact(const char *s, size_t *len_r)
{
	static char *copy;

	free(copy);
	*len_r = strlen(s);
	copy = malloc(*len_r ? *len_r : 1);
	if (*len_r > 0)
		memcpy(copy, s, *len_r);
	return copy;
}

/*
 * The addresses of value as "name|email|group|groupno" joined by "; ",
 * in out (reset first); an empty string for none.
 */
static const char *
addrs(const char *value, struct buf *out)
{
	struct mime_address *v;
	const char *s;
	size_t len, i, n = 99;

	s = exact(value, &len);
	v = mime_header_addresses(s, len, &n);
	buf_reset(out);
	for (i = 0; i < n; i++)
		buf_printf(out, "%s%s|%s|%s|%zu", i > 0 ? "; " : "",
		    v[i].name, v[i].email,
		    v[i].group != NULL ? v[i].group : "(none)", v[i].groupno);
	CHECK((n == 0) == (v == NULL));
	free(v);
	buf_append(out, "", 1);
	return (const char *)out->data;
}

/* A list of strings joined by " ", or "(null)" for none. */
static const char *
strv(char **v, size_t n, struct buf *out)
{
	size_t i;

	buf_reset(out);
	CHECK((n == 0) == (v == NULL));
	if (n == 0)
		buf_printf(out, "(null)");
	for (i = 0; i < n; i++)
		buf_printf(out, "%s%s", i > 0 ? " " : "", v[i]);
	free(v);
	buf_append(out, "", 1);
	return (const char *)out->data;
}

static const char *
ids(const char *value, bool one, struct buf *out)
{
	const char *s;
	size_t len, n = 99;
	char **v;

	s = exact(value, &len);
	v = mime_header_msgids(s, len, one, &n);
	return strv(v, n, out);
}

static const char *
urls(const char *value, struct buf *out)
{
	const char *s;
	size_t len, n = 99;
	char **v;

	s = exact(value, &len);
	v = mime_header_urls(s, len, &n);
	return strv(v, n, out);
}

/* The date of value as "t tz", or "no" if it does not parse. */
static const char *
date(const char *value, struct buf *out)
{
	const char *s;
	size_t len;
	int64_t t = -1;
	int32_t tz = -1;

	s = exact(value, &len);
	buf_reset(out);
	if (mime_header_date(s, len, &t, &tz))
		buf_printf(out, "%lld %d", (long long)t, (int)tz);
	else {
		/* Left alone when it does not parse. */
		CHECK(t == -1 && tz == -1);
		buf_printf(out, "no");
	}
	buf_append(out, "", 1);
	return (const char *)out->data;
}

TEST(addresses_and_groups)
{
	struct buf b = BUF_INIT;

	/* RFC 8621 4.1.2.3's example, folded as in a header. */
	CHECK_STR(addrs(" \"  James Smythe\" <james@example.com>, Friends:\r\n"
	    "  jane@example.com, =?UTF-8?Q?John_Sm=C3=AEth?=\r\n"
	    "  <john@example.com>;", &b),
	    "James Smythe|james@example.com|(none)|0; "
	    "|jane@example.com|Friends|1; "
	    "John Sm\xc3\xaeth|john@example.com|Friends|1");
	/* Groups in a row, empty ones, a mailbox between them. */
	CHECK_STR(addrs(" A: a@x.example;, A: b@x.example;, "
	    "undisclosed-recipients:;, c@x.example, =?utf-8?q?Gr=C3=BCn?=: "
	    "\"Q. \\\"Z\\\"\" <q@x.example>;", &b),
	    "|a@x.example|A|1; |b@x.example|A|2; "
	    "||undisclosed-recipients|3; |c@x.example|(none)|0; "
	    "Q. \"Z\"|q@x.example|Gr\xc3\xbcn|4");
	/* A comment after a bare addr-spec is its name. */
	CHECK_STR(addrs(" second@example.org (Second Person)", &b),
	    "Second Person|second@example.org|(none)|0");
	/* A source route is dropped, white space in the addr-spec too. */
	CHECK_STR(addrs("<@relay.example:user @ host.example>", &b),
	    "|user@host.example|(none)|0");
	CHECK_STR(addrs("", &b), "");
	CHECK_STR(addrs(" \r\n ", &b), "");
	CHECK_STR(addrs(" ,,, ", &b), "");
	buf_clear(&b);
}

TEST(message_ids)
{
	struct buf b = BUF_INIT;

	CHECK_STR(ids(" <r1@example.net> (first)\r\n <r2@example.net>\r\n"
	    "  <r3@example.net>", false, &b),
	    "r1@example.net r2@example.net r3@example.net");
	/* One id: only the first; a bare one is taken then only. */
	CHECK_STR(ids(" <a@x> <b@x>", true, &b), "a@x");
	CHECK_STR(ids(" bare@x.example", true, &b), "bare@x.example");
	CHECK_STR(ids(" bare@x.example", false, &b), "(null)");
	CHECK_STR(ids(" no ids here", false, &b), "(null)");
	CHECK_STR(ids(" <> <unclosed@x", false, &b), "(null)");
	CHECK_STR(ids("", true, &b), "(null)");
	buf_clear(&b);
}

TEST(dates)
{
	struct buf b = BUF_INIT;

	/* 2024-02-29T13:14:15-05:00 is 18:14:15Z, 1709230455. */
	CHECK_STR(date(" Thu, 29 Feb 2024 13:14:15 -0500", &b),
	    "1709230455 -300");
	/* Folded, with a comment, no day of week, no seconds. */
	CHECK_STR(date(" 29 Feb 2024\r\n 13:14 (noon-ish)\r\n +0530", &b),
	    "1709192640 330");
	/* Obsolete zone names (RFC 5322 4.3), and two-digit years. */
	CHECK_STR(date(" Fri, 1 Mar 24 08:00:00 EDT", &b), "1709294400 -240");
	/* An unknown zone is -0000: UTC. */
	CHECK_STR(date(" 1 Mar 2024 08:00:00 XYZ", &b), "1709280000 0");
	CHECK_STR(date(" 31 Foo 2024 10:00:00 +0000", &b), "no");
	CHECK_STR(date(" 32 Mar 2024 10:00:00 +0000", &b), "no");
	CHECK_STR(date(" 1 Mar 2024 25:00:00 +0000", &b), "no");
	CHECK_STR(date(" not a date at all", &b), "no");
	CHECK_STR(date("", &b), "no");
	buf_clear(&b);
}

TEST(url_lists)
{
	struct buf b = BUF_INIT;

	CHECK_STR(urls(" <mailto:leave@example.org?subject=unsubscribe> "
	    "(by mail),\r\n <https://example.org/ unsub?u=1>", &b),
	    "mailto:leave@example.org?subject=unsubscribe "
	    "https://example.org/unsub?u=1");
	/* A comment first, nested. */
	CHECK_STR(urls(" (see (here)) <http://a.example/>", &b),
	    "http://a.example/");
	/* RFC 2369 2: what follows a URL without a comma is ignored. */
	CHECK_STR(urls(" <http://a.example/> junk, <http://b.example/>", &b),
	    "http://a.example/");
	/* ... and so is the rest after an item that is no URL. */
	CHECK_STR(urls(" <http://a.example/>, junk, <http://b.example/>",
	    &b), "http://a.example/");
	CHECK_STR(urls(" NO (posting not allowed on this list)", &b),
	    "(null)");
	CHECK_STR(urls(" <http://unclosed.example/", &b), "(null)");
	CHECK_STR(urls(" <>, <http://a.example/>", &b), "(null)");
	CHECK_STR(urls(" (unclosed comment <http://a.example/>", &b),
	    "(null)");
	CHECK_STR(urls("", &b), "(null)");
	buf_clear(&b);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(addresses_and_groups),
	TEST_ENTRY(message_ids),
	TEST_ENTRY(dates),
	TEST_ENTRY(url_lists),
};

HARNESS_MAIN(tests)
