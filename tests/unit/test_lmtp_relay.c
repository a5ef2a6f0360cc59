/* SPDX-License-Identifier: ISC */
/*
 * test_lmtp_relay.c: the pure parts of lmtpd's relay: dot-stuffing of the
 * message (RFC 5321 4.5.2) fed in chunks of every size and undone by
 * lmtpd's own DATA decoder, SMTP reply lines (4.2) and the retry delays.
 */
/* unit-deps: workers/lmtpd/lmtp_relay.c workers/lmtpd/lmtp_parse.c */
/* unit-deps: workers/lmtpd/lmtp_relay_job.c workers/lmtpd/lmtp_relay_smtp.c */
#include "harness.h"
#include "buf.h"
#include "workers/lmtpd/lmtp_parse.h"
#include "workers/lmtpd/lmtp_relay.h"

#include <stdlib.h>
#include <string.h>

/* in stuffed in chunks of n bytes, as a NUL-terminated string. */
static char *
stuff(const char *in, size_t n)
{
	struct buf out = BUF_INIT;
	size_t off, len = strlen(in), k;
	bool bol = true;
	char *s;

	for (off = 0; off < len; off += k) {
		k = len - off < n ? len - off : n;
		lmtp_relay_dotstuff(&out, (const uint8_t *)in + off, k, &bol);
	}
	buf_append(&out, "", 1);
	s = strdup((char *)out.data);
	buf_clear(&out);
	return s;
}

TEST(dotstuff)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "a\r\nb\r\n", "a\r\nb\r\n" },
		{ ".\r\n", "..\r\n" },
		{ ".a\r\n..b\r\nc.\r\n", "..a\r\n...b\r\nc.\r\n" },
		{ "x\r\n.\r\n.\r\n", "x\r\n..\r\n..\r\n" },
		{ "bare\n.lf\n", "bare\n..lf\n" },
		{ " .\r\n", " .\r\n" },
		{ "", "" },
	};
	size_t i, n;
	char *s;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (n = 1; n <= 8; n++) {
			s = stuff(cases[i].in, n);
			CHECK_STR(s, cases[i].out);
			free(s);
		}
}

/* What the relay sends, read back by lmtpd's DATA decoder, is the input. */
TEST(dotstuff_round_trip)
{
	static const char msg[] = "Subject: dots\r\n\r\n.\r\n..\r\n.x\r\n"
	    "a.b\r\n...\r\n. \r\nend\r\n";
	struct lmtp_data d;
	struct buf out = BUF_INIT, wire = BUF_INIT;
	size_t n, used;
	char *s;

	for (n = 1; n <= sizeof(msg); n++) {
		s = stuff(msg, n);
		buf_reset(&wire);
		buf_append(&wire, s, strlen(s));
		buf_append(&wire, ".\r\n", 3);
		free(s);
		buf_reset(&out);
		lmtp_data_init(&d, 1 << 20);
		used = lmtp_data_feed(&d, &out, wire.data, wire.len);
		CHECK(d.done);
		CHECK_INT(used, wire.len);
		CHECK_INT(out.len, sizeof(msg) - 1);
		CHECK(out.len == sizeof(msg) - 1 &&
		    memcmp(out.data, msg, out.len) == 0);
	}
	buf_clear(&out);
	buf_clear(&wire);
}

static int
line(const char *s, bool *more)
{
	return lmtp_relay_reply_line(s, strlen(s), more);
}

TEST(reply_lines)
{
	bool more = true;

	CHECK_INT(line("250 OK", &more), 250);
	CHECK(!more);
	CHECK_INT(line("250-STARTTLS", &more), 250);
	CHECK(more);
	CHECK_INT(line("220", &more), 220);
	CHECK(!more);
	CHECK_INT(line("550 5.1.1 No such user", &more), 550);
	CHECK_INT(line("421-", &more), 421);
	CHECK(more);
	CHECK_INT(line("25", &more), -1);
	CHECK_INT(line("250OK", &more), -1);
	CHECK_INT(line("150 what", &more), -1);
	CHECK_INT(line("650 what", &more), -1);
	CHECK_INT(line("2a0 x", &more), -1);
	CHECK_INT(line("260 x", &more), -1);
	CHECK_INT(line("", &more), -1);
}

TEST(backoff)
{
	CHECK_INT(lmtp_relay_backoff(1), 5 * 60);
	CHECK_INT(lmtp_relay_backoff(2), 30 * 60);
	CHECK_INT(lmtp_relay_backoff(3), 2 * 3600);
	CHECK_INT(lmtp_relay_backoff(4), 4 * 3600);
	CHECK_INT(lmtp_relay_backoff(5), 8 * 3600);
	CHECK_INT(lmtp_relay_backoff(50), 8 * 3600);
	CHECK_INT(lmtp_relay_backoff(0), 5 * 60);
}

/* RFC 8621 7.5: Bcc never leaves; everything else is kept as it was. */
TEST(strip_bcc)
{
	static const struct {
		const char	*in, *out;
		size_t		 used;
	} t[] = {
		{ "From: a@b\r\nBcc: x@y,\r\n z@w\r\nTo: c@d\r\n\r\nbody\r\n",
		  "From: a@b\r\nTo: c@d\r\n\r\n", 39 },
		{ "BCC: x@y\nSubject: s\n\nBcc: in the body\n",
		  "Subject: s\n\n", 21 },
		{ "Subject: no bcc\r\n\r\nx", "Subject: no bcc\r\n\r\n", 19 },
		/* obs-bcc (RFC 5322 4.5.3): a space before the colon. */
		{ "Bccx: not bcc\r\nbcc : spaced\r\n\r\n",
		  "Bccx: not bcc\r\n\r\n", 31 },
		{ "Bcc: only, no end", "", 17 },
	};
	struct buf out = BUF_INIT;
	size_t i, used;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&out);
		used = lmtp_relay_strip_bcc((const uint8_t *)t[i].in,
		    strlen(t[i].in), &out);
		buf_append(&out, "", 1);
		CHECK_STR((const char *)out.data, t[i].out);
		CHECK_INT(used, t[i].used);
	}
	buf_clear(&out);
}

/* RFC 4954 3: the AUTH keyword of EHLO, and its older AUTH= form. */
TEST(auth_mechs)
{
	CHECK_INT(lmtp_relay_auth_mechs("250-AUTH PLAIN LOGIN"),
	    LMTP_RELAY_AUTH_PLAIN | LMTP_RELAY_AUTH_LOGIN);
	CHECK_INT(lmtp_relay_auth_mechs("250 auth login"),
	    LMTP_RELAY_AUTH_LOGIN);
	CHECK_INT(lmtp_relay_auth_mechs("250-AUTH=LOGIN  CRAM-MD5 plain"),
	    LMTP_RELAY_AUTH_PLAIN | LMTP_RELAY_AUTH_LOGIN);
	CHECK_INT(lmtp_relay_auth_mechs("250-AUTH SCRAM-SHA-256 PLAINX"), 0);
	CHECK_INT(lmtp_relay_auth_mechs("250-AUTHX PLAIN"), 0);
	CHECK_INT(lmtp_relay_auth_mechs("250-STARTTLS"), 0);
	CHECK_INT(lmtp_relay_auth_mechs("250-AUTH"), 0);
	CHECK_INT(lmtp_relay_auth_mechs(""), 0);
}

/* RFC 4616 2 in base64 (RFC 4954 4's initial response), and LOGIN's. */
TEST(auth_messages)
{
	static const uint8_t msg[] = "\0tim\0tanstaaftanstaaf";
	static const uint8_t bad1[] = "tim\0pw";
	static const uint8_t bad2[] = "\0tim";
	static const uint8_t bad3[] = "\0\0pw";
	struct buf b = BUF_INIT;

	lmtp_relay_auth_plain(&b, msg, sizeof(msg) - 1);
	buf_append(&b, "", 1);
	/* RFC 4616 4's example, with an empty authzid. */
	CHECK_STR((char *)b.data, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	buf_reset(&b);
	CHECK_INT(lmtp_relay_auth_login(&b, msg, sizeof(msg) - 1, 1), 0);
	buf_append(&b, "", 1);
	CHECK_STR((char *)b.data, "dGlt");
	buf_reset(&b);
	CHECK_INT(lmtp_relay_auth_login(&b, msg, sizeof(msg) - 1, 2), 0);
	buf_append(&b, "", 1);
	CHECK_STR((char *)b.data, "dGFuc3RhYWZ0YW5zdGFhZg==");
	buf_reset(&b);
	CHECK_INT(lmtp_relay_auth_login(&b, bad1, sizeof(bad1) - 1, 1), -1);
	CHECK_INT(lmtp_relay_auth_login(&b, bad2, sizeof(bad2) - 1, 1), -1);
	CHECK_INT(lmtp_relay_auth_login(&b, bad3, sizeof(bad3) - 1, 2), -1);
	CHECK_INT((int)b.len, 0);
	buf_clear(&b);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(dotstuff),
	TEST_ENTRY(dotstuff_round_trip),
	TEST_ENTRY(reply_lines),
	TEST_ENTRY(backoff),
	TEST_ENTRY(strip_bcc),
	TEST_ENTRY(auth_mechs),
	TEST_ENTRY(auth_messages),
};

HARNESS_MAIN(tests)
