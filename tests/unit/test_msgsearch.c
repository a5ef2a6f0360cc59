/* SPDX-License-Identifier: ISC */
/*
 * test_msgsearch.c: SEARCH's text keys over a stored message
 * (msgsearch.h): the substring matcher against a naive reference on
 * random input, and each kind of key on parsed messages (encoded words,
 * folded and repeated header fields, base64 and quoted-printable text
 * parts in other charsets, attachments left out of BODY).
 */
#include "harness.h"
#include "mime.h"
#include "msgrec.h"
#include "msgsearch.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool
naive(const char *h, size_t hl, const char *n, size_t nl)
{
	size_t i, j;

	if (nl == 0)
		return true;
	for (i = 0; i + nl <= hl; i++) {
		for (j = 0; j < nl; j++)
			if (tolower((unsigned char)h[i + j]) !=
			    tolower((unsigned char)n[j]))
				break;
		if (j == nl)
			return true;
	}
	return false;
}

TEST(contains_cases)
{
	CHECK(msgsearch_contains("Hello World", 11, "world", 5));
	CHECK(msgsearch_contains("Hello World", 11, "HELLO W", 7));
	CHECK(msgsearch_contains("Hello World", 11, "", 0));
	CHECK(!msgsearch_contains("Hello World", 11, "worlds", 6));
	CHECK(!msgsearch_contains("", 0, "a", 1));
	CHECK(!msgsearch_contains(NULL, 0, "a", 1));
	CHECK(msgsearch_contains("xx1", 3, "1", 1));
	CHECK(msgsearch_contains("aaab", 4, "AAB", 3));
	/* Bytes outside ASCII compare exactly. */
	CHECK(msgsearch_contains("k\xc3\xa4the", 6, "K\xc3\xa4THE", 6));
	CHECK(!msgsearch_contains("k\xc3\xa4the", 6, "K\xc3\x84THE", 6));
	/* '@' and '`' are not letters: no case to fold. */
	CHECK(!msgsearch_contains("a`b", 3, "a@b", 3));
	CHECK(!msgsearch_contains("[x]", 3, "{X}", 3));
}

TEST(contains_random)
{
	char h[64], n[6];
	const char alpha[] = "aAbB@`[{ \xc3";
	size_t hl, nl, i;
	int round;

	srandom(7);
	for (round = 0; round < 200000; round++) {
		hl = (size_t)random() % sizeof(h);
		nl = (size_t)random() % sizeof(n);
		for (i = 0; i < hl; i++)
			h[i] = alpha[random() % (sizeof(alpha) - 1)];
		for (i = 0; i < nl; i++)
			n[i] = alpha[random() % (sizeof(alpha) - 1)];
		if (msgsearch_contains(h, hl, n, nl) != naive(h, hl, n, nl))
			harness_fail(__FILE__, __LINE__, "mismatch hay %.*s "
			    "needle %.*s", (int)hl, h, (int)nl, n);
	}
}

static const char msg1[] =
    "From: =?UTF-8?Q?Ren=C3=A9e?= <renee@example.org>, bob@example.com\r\n"
    "To: team: carol@example.net;\r\n"
    "Cc: dave@example.com\r\n"
    "Subject: =?ISO-8859-1?Q?gr=FC=DFe?= and\r\n"
    " folded words\r\n"
    "Subject: a second subject\r\n"
    "X-Tag: Plain Value\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Gr=FC=DFe aus K=F6ln, soft=\r\n"
    "break\r\n"
    "--b\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "PHA+aHRtbCB6ZWJyYTwvcD4=\r\n"
    "--b\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "c2VjcmV0IGF0dGFjaG1lbnQgd29yZA==\r\n"
    "--b--\r\n";

static struct buf rec = BUF_INIT;

static bool
match(enum msgsearch_kind k, const char *field, const char *v)
{
	struct msgrec r;
	const char *why;
	bool hit;

	CHECK(msgrec_open(rec.data, rec.len, sizeof(msg1) - 1, &r, &why) ==
	    0);
	hit = msgsearch_match(&r, msg1, sizeof(msg1) - 1, k, field, v,
	    strlen(v));
	msgrec_close(&r);
	return hit;
}

TEST(keys)
{
	struct mime_msg *m;

	m = mime_parse(msg1, sizeof(msg1) - 1);
	buf_reset(&rec);
	msgrec_encode(m, 0, &rec);
	mime_msg_free(&m);

	CHECK(match(MSGSEARCH_FROM, "", "ren\xc3\xa9""e"));
	CHECK(match(MSGSEARCH_FROM, "", "BOB@example"));
	CHECK(!match(MSGSEARCH_FROM, "", "carol"));
	CHECK(match(MSGSEARCH_TO, "", "carol@"));
	CHECK(match(MSGSEARCH_TO, "", "team"));	/* the group's name */
	CHECK(match(MSGSEARCH_CC, "", "dave"));
	CHECK(!match(MSGSEARCH_BCC, "", "dave"));
	CHECK(match(MSGSEARCH_SUBJECT, "", "gr\xc3\xbc\xc3\x9f""e and"));
	CHECK(match(MSGSEARCH_SUBJECT, "", "and folded"));
	/* HEADER: raw or decoded, unfolded, any of repeated fields. */
	CHECK(match(MSGSEARCH_HEADER, "subject", "GR\xc3\xbc\xc3\x9f""e"));
	CHECK(match(MSGSEARCH_HEADER, "Subject", "and folded words"));
	CHECK(match(MSGSEARCH_HEADER, "Subject", "second subject"));
	CHECK(match(MSGSEARCH_HEADER, "x-tag", "plain value"));
	CHECK(match(MSGSEARCH_HEADER, "x-tag", ""));
	CHECK(!match(MSGSEARCH_HEADER, "x-none", ""));
	CHECK(!match(MSGSEARCH_HEADER, "x-tag", "value2"));
	/* A header field of a part is not the message's. */
	CHECK(!match(MSGSEARCH_HEADER, "Content-Transfer-Encoding", ""));
	/* BODY: text parts decoded, attachments not. */
	CHECK(match(MSGSEARCH_BODY, "", "k\xc3\xb6ln, softbreak"));
	CHECK(match(MSGSEARCH_BODY, "", "html zebra"));
	CHECK(!match(MSGSEARCH_BODY, "", "attachment"));
	CHECK(!match(MSGSEARCH_BODY, "", "second subject"));
	/* TEXT: the header too. */
	CHECK(match(MSGSEARCH_TEXT, "", "second subject"));
	CHECK(match(MSGSEARCH_TEXT, "", "Ren\xc3\xa9""e"));
	CHECK(match(MSGSEARCH_TEXT, "", "zebra"));
	CHECK(!match(MSGSEARCH_TEXT, "", "secret"));
	/* The envelopes alone answer the address and subject kinds. */
	{
		struct msgrec r;
		const char *why;

		CHECK(msgrec_open_envelopes(rec.data, rec.len,
		    sizeof(msg1) - 1, &r, &why) == 0);
		CHECK_INT(r.nparts, 0);
		CHECK(msgsearch_match(&r, NULL, 0, MSGSEARCH_FROM, "",
		    "bob@", 4));
		CHECK(msgsearch_match(&r, NULL, 0, MSGSEARCH_SUBJECT, "",
		    "folded", 6));
		CHECK(!msgsearch_match(&r, NULL, 0, MSGSEARCH_CC, "", "bob",
		    3));
		CHECK(msgsearch_match(&r, msg1, sizeof(msg1) - 1,
		    MSGSEARCH_HEADER, "x-tag", "plain", 5));
		msgrec_close(&r);
		/* A truncated record is refused all the same. */
		CHECK(msgrec_open_envelopes(rec.data, 20, sizeof(msg1) - 1,
		    &r, &why) == -1);
	}
	CHECK(!msgsearch_needs_parts(MSGSEARCH_FROM));
	CHECK(msgsearch_needs_parts(MSGSEARCH_TEXT));
	/* HEADER needs no record: the scan stops at the blank line. */
	CHECK(msgsearch_match(NULL, msg1, sizeof(msg1) - 1, MSGSEARCH_HEADER,
	    "subject", "second", 6));
	CHECK(msgsearch_match(NULL, msg1, sizeof(msg1) - 1, MSGSEARCH_HEADER,
	    "x-tag", "", 0));
	CHECK(!msgsearch_match(NULL, msg1, sizeof(msg1) - 1, MSGSEARCH_HEADER,
	    "content-transfer-encoding", "", 0));
	CHECK(!msgsearch_match(NULL, msg1, sizeof(msg1) - 1, MSGSEARCH_FROM,
	    "", "bob", 3));
	CHECK(!msgsearch_needs_record(MSGSEARCH_HEADER));
	CHECK(msgsearch_needs_record(MSGSEARCH_BODY));
	/* Without the bytes, the header and body kinds match nothing. */
	CHECK(msgsearch_needs_raw(MSGSEARCH_BODY));
	CHECK(!msgsearch_needs_raw(MSGSEARCH_FROM));
	buf_clear(&rec);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(contains_cases),
	TEST_ENTRY(contains_random),
	TEST_ENTRY(keys),
};

HARNESS_MAIN(tests)
