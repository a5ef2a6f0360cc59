/* SPDX-License-Identifier: ISC */
/*
 * test_msgsearch.c: SEARCH's text keys over a stored message
 * (msgsearch.h): the i;unicode-casemap substring matcher against its
 * definition (the text's key holds the needle's) on random input, and each kind of key on parsed messages (encoded words,
 * folded and repeated header fields, base64 and quoted-printable text
 * parts in other charsets, attachments left out of BODY).
 */
#include "harness.h"
#include "mime.h"
#include "msgrec.h"
#include "msgsearch.h"
#include "casemap.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The key of s (static, one of a few slots). */
static const char *
K(const char *s, size_t *len)
{
	static struct buf slot[4];
	static unsigned next;
	struct buf *b = &slot[next++ % 4];

	buf_reset(b);
	(void)casemap_key(s, strlen(s), b);
	buf_append(b, "", 1);
	*len = b->len - 1;
	return (const char *)b->data;
}

static bool
has(const char *hay, const char *needle)
{
	size_t kl;
	const char *k = K(needle, &kl);

	return msgsearch_contains(hay, hay != NULL ? strlen(hay) : 0, k, kl);
}

TEST(contains_cases)
{
	CHECK(has("Hello World", "world"));
	CHECK(has("Hello World", "HELLO W"));
	CHECK(has("Hello World", ""));
	CHECK(!has("Hello World", "worlds"));
	CHECK(!has("", "a"));
	CHECK(!has(NULL, "a"));
	CHECK(has("xx1", "1"));
	CHECK(has("aaab", "AAB"));
	/* '@' and '`' are not letters: no case to fold. */
	CHECK(!has("a`b", "a@b"));
	CHECK(!has("[x]", "{X}"));
	/* i;unicode-casemap beyond ASCII (RFC 5051). */
	CHECK(has("k\xc3\xa4the", "K\xc3\x84THE"));
	CHECK(has("K\xc3\x84THE", "k\xc3\xa4th"));
	CHECK(has("Ka\xcc\x88the", "K\xc3\xa4"));	/* decomposed */
	CHECK(has("\xce\xa3\xce\x97\xce\x9c\xce\x95\xce\xa1\xce\x91",
	    "\xcf\x83\xce\xb7\xce\xbc"));		/* Greek */
	CHECK(has("ein \xef\xac\x81lm", "\xef\xac\x81"));
	CHECK(!has("ein film", "\xef\xac\x81"));	/* ligature: "fi" */
	CHECK(!has("Kathe", "K\xc3\xa4the"));
	/* Not UTF-8: octets, against the needle's key. */
	CHECK(has("x\xff" "ABC", "abc"));
	CHECK(!has("x\xff" "abc", "abc"));
}

/* The definition: the key of the text holds the key of the needle. */
static bool
reference(const char *h, size_t hl, const char *n, size_t nl)
{
	struct buf hk = BUF_INIT, nk = BUF_INIT;
	bool hit;

	(void)casemap_key(h, hl, &hk);
	(void)casemap_key(n, nl, &nk);
	hit = nk.len == 0 || (hk.len >= nk.len &&
	    memmem(hk.data, hk.len, nk.data, nk.len) != NULL);
	buf_clear(&hk);
	buf_clear(&nk);
	return hit;
}

TEST(contains_random)
{
	char h[64], n[6];
	/* ASCII of both cases, non-letters, and pieces of UTF-8. */
	const char *alpha[] = { "a", "A", "b", "B", "@", "`", "[", "{", " ",
	    "\xc3\xa4", "\xc3\x84", "\xc3", "\xef\xac\x81", "f", "i" };
	const size_t nalpha = sizeof(alpha) / sizeof(alpha[0]);
	struct buf nk = BUF_INIT;
	size_t hl, nl, i;
	int round;

	srandom(7);
	for (round = 0; round < 100000; round++) {
		for (hl = 0, i = (size_t)random() % 20; i > 0; i--) {
			const char *a = alpha[random() % nalpha];

			if (hl + strlen(a) > sizeof(h))
				break;
			memcpy(h + hl, a, strlen(a));
			hl += strlen(a);
		}
		for (nl = 0, i = (size_t)random() % 3; i > 0; i--) {
			const char *a = alpha[random() % nalpha];

			if (nl + strlen(a) > sizeof(n))
				break;
			memcpy(n + nl, a, strlen(a));
			nl += strlen(a);
		}
		buf_reset(&nk);
		(void)casemap_key(n, nl, &nk);
		if (msgsearch_contains(h, hl, nk.data, nk.len) !=
		    reference(h, hl, n, nl))
			harness_fail(__FILE__, __LINE__, "mismatch hay %.*s "
			    "needle %.*s", (int)hl, h, (int)nl, n);
	}
	buf_clear(&nk);
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
/* Each call below is its own message: an empty cache each time. */
static struct msgsearch_cache cache;

static struct msgsearch_cache *
fresh(void)
{
	msgsearch_cache_clear(&cache);
	return &cache;
}

static bool
match(enum msgsearch_kind k, const char *field, const char *v)
{
	struct msgrec r;
	const char *why;
	bool hit;

	CHECK(msgrec_open(rec.data, rec.len, sizeof(msg1) - 1, &r, &why) ==
	    0);
	{
		size_t kl;
		const char *kv = K(v, &kl);

		hit = msgsearch_match(&r, msg1, sizeof(msg1) - 1, k, field, kv,
		    kl, fresh());
	}
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
	/* One cache for all the keys of a message answers as fresh ones do. */
	{
		static const struct { enum msgsearch_kind k; const char *v;
		    bool want; } ks[] = {
		    { MSGSEARCH_BODY, "k\xc3\xb6ln, softbreak", true },
		    { MSGSEARCH_BODY, "zebra", true },	/* decodes on */
		    { MSGSEARCH_TEXT, "second subject", true },
		    { MSGSEARCH_BODY, "attachment", false },
		    { MSGSEARCH_TEXT, "k\xc3\xb6ln", true },
		    { MSGSEARCH_BODY, "GR\xc3\x9c\xc3\x9f", true },
		    { MSGSEARCH_TEXT, "secret", false } };
		struct msgsearch_cache shared;
		struct msgrec r;
		const char *why, *kv;
		size_t i, kl;

		memset(&shared, 0, sizeof(shared));
		CHECK(msgrec_open(rec.data, rec.len, sizeof(msg1) - 1, &r,
		    &why) == 0);
		for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
			kv = K(ks[i].v, &kl);
			CHECK(msgsearch_match(&r, msg1, sizeof(msg1) - 1,
			    ks[i].k, "", kv, kl, &shared) == ks[i].want);
			CHECK(msgsearch_match(&r, msg1, sizeof(msg1) - 1,
			    ks[i].k, "", kv, kl, fresh()) == ks[i].want);
		}
		CHECK(msgsearch_cache_bytes(&shared) > 0);
		msgsearch_cache_clear(&shared);
		msgrec_close(&r);
	}
	/* The envelopes alone answer the address and subject kinds. */
	{
		struct msgrec r;
		const char *why;

		CHECK(msgrec_open_envelopes(rec.data, rec.len,
		    sizeof(msg1) - 1, &r, &why) == 0);
		CHECK_INT(r.nparts, 0);
		CHECK(msgsearch_match(&r, NULL, 0, MSGSEARCH_FROM, "",
		    "BOB@", 4, fresh()));
		CHECK(msgsearch_match(&r, NULL, 0, MSGSEARCH_SUBJECT, "",
		    "FOLDED", 6, fresh()));
		CHECK(!msgsearch_match(&r, NULL, 0, MSGSEARCH_CC, "", "BOB",
		    3, fresh()));
		CHECK(msgsearch_match(&r, msg1, sizeof(msg1) - 1,
		    MSGSEARCH_HEADER, "x-tag", "PLAIN", 5, fresh()));
		msgrec_close(&r);
		/* A truncated record is refused all the same. */
		CHECK(msgrec_open_envelopes(rec.data, 20, sizeof(msg1) - 1,
		    &r, &why) == -1);
		/* Its size is checked unless the caller has none to give. */
		CHECK(msgrec_open_envelopes(rec.data, rec.len,
		    sizeof(msg1) - 2, &r, &why) == -1);
		CHECK(msgrec_open_envelopes(rec.data, rec.len,
		    MSGREC_ANY_SIZE, &r, &why) == 0);
		CHECK(r.s.size == sizeof(msg1) - 1);
		/* The summary's strings are stepped over. */
		CHECK(r.s.preview != NULL && *r.s.preview == '\0');
		CHECK_INT(r.s.references.count, 0);
		CHECK(msgsearch_match(&r, NULL, 0, MSGSEARCH_FROM, "",
		    "BOB@", 4, fresh()));
		msgrec_close(&r);
		CHECK(msgrec_open_envelopes(rec.data, rec.len, UINT64_MAX - 1,
		    &r, &why) == -1);
	}
	/*
	 * Of a message with one inside it, the envelopes' open reads the
	 * first alone, which is all FROM and SUBJECT look at.
	 */
	{
		static const char outer[] =
		    "From: Outer <outer@example.org>\r\n"
		    "Subject: wrapper\r\n"
		    "MIME-Version: 1.0\r\n"
		    "Content-Type: message/rfc822\r\n"
		    "\r\n"
		    "From: Inner <inner@example.org>\r\n"
		    "Subject: wrapped\r\n"
		    "\r\n"
		    "inside\r\n";
		struct buf orec = BUF_INIT;
		struct mime_msg *om;
		struct msgrec full, env;
		const char *why;

		om = mime_parse(outer, sizeof(outer) - 1);
		msgrec_encode(om, 0, &orec);
		mime_msg_free(&om);
		CHECK(msgrec_open(orec.data, orec.len, sizeof(outer) - 1,
		    &full, &why) == 0);
		CHECK(msgrec_open_envelopes(orec.data, orec.len,
		    sizeof(outer) - 1, &env, &why) == 0);
		CHECK_INT(full.nenvs, 2);
		CHECK_INT(env.nenvs, 1);
		CHECK(msgsearch_match(&env, NULL, 0, MSGSEARCH_FROM, "",
		    "OUTER", 5, fresh()));
		CHECK(!msgsearch_match(&env, NULL, 0, MSGSEARCH_FROM, "",
		    "INNER", 5, fresh()));
		CHECK(!msgsearch_match(&full, NULL, 0, MSGSEARCH_FROM, "",
		    "INNER", 5, fresh()));
		CHECK(msgsearch_match(&env, NULL, 0, MSGSEARCH_SUBJECT, "",
		    "WRAPPER", 7, fresh()));
		msgrec_close(&full);
		msgrec_close(&env);
		buf_clear(&orec);
	}
	CHECK(!msgsearch_needs_parts(MSGSEARCH_FROM));
	CHECK(msgsearch_needs_parts(MSGSEARCH_TEXT));
	/* HEADER needs no record: the scan stops at the blank line. */
	CHECK(msgsearch_match(NULL, msg1, sizeof(msg1) - 1, MSGSEARCH_HEADER,
	    "subject", "SECOND", 6, fresh()));
	CHECK(msgsearch_match(NULL, msg1, sizeof(msg1) - 1, MSGSEARCH_HEADER,
	    "x-tag", "", 0, fresh()));
	CHECK(!msgsearch_match(NULL, msg1, sizeof(msg1) - 1, MSGSEARCH_HEADER,
	    "content-transfer-encoding", "", 0, fresh()));
	CHECK(!msgsearch_match(NULL, msg1, sizeof(msg1) - 1, MSGSEARCH_FROM,
	    "", "BOB", 3, fresh()));
	CHECK(!msgsearch_needs_record(MSGSEARCH_HEADER));
	CHECK(msgsearch_needs_record(MSGSEARCH_BODY));
	/* Without the bytes, the header and body kinds match nothing. */
	CHECK(msgsearch_needs_raw(MSGSEARCH_BODY));
	CHECK(!msgsearch_needs_raw(MSGSEARCH_FROM));
	buf_clear(&rec);
	msgsearch_cache_clear(&cache);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(contains_cases),
	TEST_ENTRY(contains_random),
	TEST_ENTRY(keys),
};

HARNESS_MAIN(tests)
