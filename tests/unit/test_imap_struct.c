/* SPDX-License-Identifier: ISC */
/*
 * test_imap_struct.c: FETCH ENVELOPE, BODY and BODYSTRUCTURE
 * (imap_struct.h, RFC 9051 7.5.2) rendered from records built by the real
 * path: mime_parse -> msgrec_encode -> msgrec_open.  Expected strings are
 * worked out by hand from the messages (sizes and line counts included).
 */
#include "harness.h"
#include "mime.h"
#include "msgrec.h"
#include "imap_struct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ENV, BODY, BODYSTRUCTURE };

/* Renders item `what` of message text (part 0, or envelope 0). */
static const char *
render(const char *text, int what)
{
	static char out[8192];
	struct buf rec = BUF_INIT, b = BUF_INIT;
	struct mime_msg *m;
	struct msgrec r;
	const char *err = NULL;
	size_t len = strlen(text);
	char *copy = malloc(len + 1);

	memcpy(copy, text, len + 1);
	m = mime_parse(copy, len);
	CHECK(m != NULL);
	msgrec_encode(m, 0, &rec);
	mime_msg_free(&m);
	out[0] = '\0';
	if (msgrec_open(rec.data, rec.len, len, &r, &err) != 0) {
		harness_fail(__FILE__, __LINE__, "msgrec_open: %s", err);
		goto done;
	}
	if (what == ENV)
		imap_struct_envelope(&b, &r, 0);
	else
		imap_struct_bodystructure(&b, &r, 0, what == BODYSTRUCTURE);
	msgrec_close(&r);
	snprintf(out, sizeof(out), "%.*s", (int)b.len, (const char *)b.data);
done:
	buf_clear(&b);
	buf_clear(&rec);
	free(copy);
	return out;
}

TEST(plain_text)
{
	const char *msg =
	    "From: Alice <alice@example.org>\r\n"
	    "To: bob@example.net\r\n"
	    "Subject: Hi\r\n"
	    "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
	    "Message-ID: <a1@example.org>\r\n"
	    "\r\n"
	    "Hello\r\nWorld\r\n";

	/* Sender and Reply-To default to From (RFC 9051 7.5.2). */
	CHECK_STR(render(msg, ENV),
	    "(\"Mon, 1 Jan 2024 10:00:00 +0000\" \"Hi\" "
	    "((\"Alice\" NIL \"alice\" \"example.org\")) "
	    "((\"Alice\" NIL \"alice\" \"example.org\")) "
	    "((\"Alice\" NIL \"alice\" \"example.org\")) "
	    "((NIL NIL \"bob\" \"example.net\")) NIL NIL NIL "
	    "\"<a1@example.org>\")");
	/* 14 octets, 2 lines; charset defaults to us-ascii (RFC 2045 5.2). */
	CHECK_STR(render(msg, BODY),
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "14 2)");
	CHECK_STR(render(msg, BODYSTRUCTURE),
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "14 2 NIL NIL NIL NIL)");
}

TEST(multipart_alternative)
{
	const char *msg =
	    "From: a@b.c\r\n"
	    "Content-Type: multipart/alternative; boundary=XX\r\n"
	    "\r\n"
	    "--XX\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "\r\n"
	    "hi\r\n"
	    "--XX\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "<p>hi</p>\r\n"
	    "--XX--\r\n";

	CHECK_STR(render(msg, ENV),
	    "(NIL NIL ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) "
	    "((NIL NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)");
	/* The CRLF before a delimiter belongs to it (RFC 2046 5.1.1). */
	CHECK_STR(render(msg, BODY),
	    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 2 1)"
	    "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL "
	    "\"quoted-printable\" 9 1) \"alternative\")");
	CHECK_STR(render(msg, BODYSTRUCTURE),
	    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 2 1 "
	    "NIL NIL NIL NIL)"
	    "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL "
	    "\"quoted-printable\" 9 1 NIL NIL NIL NIL) \"alternative\" "
	    "(\"boundary\" \"XX\") NIL NIL NIL)");
}

TEST(multipart_mixed_attachment)
{
	const char *msg =
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	    "Content-Language: en\r\n"
	    "\r\n"
	    "preamble\r\n"
	    "--b1\r\n"
	    "\r\n"
	    "body\r\n"
	    "--b1\r\n"
	    "Content-Type: application/pdf; name=\"r.pdf\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-ID: <id1@x>\r\n"
	    "Content-Description: The report\r\n"
	    "Content-Disposition: attachment; filename=\"r.pdf\"; size=4\r\n"
	    "Content-MD5: Q2hlY2s=\r\n"
	    "Content-Language: en, de\r\n"
	    "Content-Location: http://x/r.pdf\r\n"
	    "\r\n"
	    "QUJD\r\n"
	    "--b1--\r\n";

	/* A basic part has no line count; multipart ext: params dsp lang loc. */
	CHECK_STR(render(msg, BODYSTRUCTURE),
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "4 1 NIL NIL NIL NIL)"
	    "(\"application\" \"pdf\" (\"name\" \"r.pdf\") \"<id1@x>\" "
	    "\"The report\" \"base64\" 4 \"Q2hlY2s=\" "
	    "(\"attachment\" (\"filename\" \"r.pdf\" \"size\" \"4\")) "
	    "(\"en\" \"de\") \"http://x/r.pdf\") \"mixed\" "
	    "(\"boundary\" \"b1\") NIL (\"en\") NIL)");
	CHECK_STR(render(msg, BODY),
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "4 1)"
	    "(\"application\" \"pdf\" (\"name\" \"r.pdf\") \"<id1@x>\" "
	    "\"The report\" \"base64\" 4) \"mixed\")");
}

TEST(nested_message)
{
	const char *msg =
	    "From: outer@x.org\r\n"
	    "Subject: fwd\r\n"
	    "Content-Type: multipart/mixed; boundary=o\r\n"
	    "\r\n"
	    "--o\r\n"
	    "Content-Type: message/rfc822\r\n"
	    "\r\n"
	    "From: inner@y.org\r\n"
	    "Subject: in\r\n"
	    "\r\n"
	    "line1\r\nline2\r\n"
	    "--o--\r\n";

	/* 19 + 13 + 2 + 7 + 5 = 46 octets in 5 lines; the inner body 12 in 2. */
	CHECK_STR(render(msg, BODY),
	    "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 46 "
	    "(NIL \"in\" ((NIL NIL \"inner\" \"y.org\")) "
	    "((NIL NIL \"inner\" \"y.org\")) ((NIL NIL \"inner\" \"y.org\")) "
	    "NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "12 2) 5) \"mixed\")");
	CHECK_STR(render(msg, BODYSTRUCTURE),
	    "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 46 "
	    "(NIL \"in\" ((NIL NIL \"inner\" \"y.org\")) "
	    "((NIL NIL \"inner\" \"y.org\")) ((NIL NIL \"inner\" \"y.org\")) "
	    "NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "12 2 NIL NIL NIL NIL) 5 NIL NIL NIL NIL) \"mixed\" "
	    "(\"boundary\" \"o\") NIL NIL NIL)");
	/*
	 * A base64 message is not parsed (RFC 2046 5.2.1 forbids it), but
	 * body-type-msg still needs an envelope, a body and lines: 26 octets
	 * (24 and the CRLF that ends the message) in 1 line.
	 */
	CHECK_STR(render("Content-Type: message/rfc822\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "RnJvbTogYUBiLmMNCg0KeA==\r\n", BODY),
	    "(\"message\" \"rfc822\" NIL NIL NIL \"base64\" 26 "
	    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "0 0) 1)");
}

TEST(group_addresses)
{
	const char *msg =
	    "From: a@b.c\r\n"
	    "To: Friends: x@y.z, \"Y Z\" <y@y.z>;, Empty:;, w@v.u\r\n"
	    "Cc: undisclosed-recipients:;\r\n"
	    "\r\n";

	/* Group start (NIL NIL name NIL), end (NIL NIL NIL NIL). */
	CHECK_STR(render(msg, ENV),
	    "(NIL NIL ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) "
	    "((NIL NIL \"a\" \"b.c\")) "
	    "((NIL NIL \"Friends\" NIL)(NIL NIL \"x\" \"y.z\")"
	    "(\"Y Z\" NIL \"y\" \"y.z\")(NIL NIL NIL NIL)"
	    "(NIL NIL \"Empty\" NIL)(NIL NIL NIL NIL)(NIL NIL \"w\" \"v.u\")) "
	    "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
	    "NIL NIL NIL)");
	CHECK_STR(render(msg, BODY),
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "0 0)");
}

TEST(missing_headers)
{
	const char *msg = "X-Foo: bar\r\n\r\nx";

	CHECK_STR(render(msg, ENV),
	    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	/* A local part without a domain; a name without an address. */
	CHECK_STR(render("To: martin, Mail Daemon <MAILER-DAEMON>\r\n\r\n",
	    ENV),
	    "(NIL NIL NIL NIL NIL "
	    "((NIL NIL \"martin\" \"MISSING_DOMAIN\")"
	    "(\"Mail Daemon\" NIL \"MAILER-DAEMON\" \"MISSING_DOMAIN\")) "
	    "NIL NIL NIL NIL)");
	/* No address at all: neither local part nor domain. */
	CHECK_STR(render("From: John Doe\r\nTo: MAILER-DAEMON <>\r\n\r\n",
	    ENV),
	    "(NIL NIL "
	    "((\"John Doe\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
	    "((\"John Doe\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
	    "((\"John Doe\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
	    "((\"MAILER-DAEMON\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
	    "NIL NIL NIL NIL)");
	/* A comment names a local part without domain. */
	CHECK_STR(render("Cc: nsb (Nathaniel Borenstein)\r\n\r\n", ENV),
	    "(NIL NIL NIL NIL NIL NIL "
	    "((\"Nathaniel Borenstein\" NIL \"nsb\" \"MISSING_DOMAIN\")) "
	    "NIL NIL NIL)");
	/* A malformed transfer encoding reads as 7bit (RFC 2045 6.1). */
	CHECK_STR(render("Content-Transfer-Encoding: text/html\r\n\r\nx",
	    BODY),
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "1 1)");
}

TEST(encoded_words)
{
	const char *msg =
	    "From: =?ISO-8859-1?Q?Andr=E9?= Pirard <pirard@x.be>\r\n"
	    "Subject: =?utf-8?q?caf=C3=A9?=\r\n"
	    "Content-Description: =?utf-8?b?w6k=?=\r\n"
	    "\r\n";

	/*
	 * The subject goes out raw; the decoded name "Andr\xc3\xa9 Pirard"
	 * as "Andr\xc3\xa9" in UTF-8 B ("QW5kcsOp") and "Pirard" as is.
	 */
	CHECK_STR(render(msg, ENV),
	    "(NIL \"=?utf-8?q?caf=C3=A9?=\" "
	    "((\"=?UTF-8?B?QW5kcsOp?= Pirard\" NIL \"pirard\" \"x.be\")) "
	    "((\"=?UTF-8?B?QW5kcsOp?= Pirard\" NIL \"pirard\" \"x.be\")) "
	    "((\"=?UTF-8?B?QW5kcsOp?= Pirard\" NIL \"pirard\" \"x.be\")) "
	    "NIL NIL NIL NIL NIL)");
	CHECK_STR(render(msg, BODY),
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL "
	    "\"=?UTF-8?B?w6k=?=\" \"7bit\" 0 0)");
	/* Two non-ASCII words in a row make one encoded word. */
	CHECK_STR(render("From: =?utf-8?q?=C3=A9_=C3=A8?= x <a@b.c>\r\n\r\n",
	    ENV),
	    "(NIL NIL ((\"=?UTF-8?B?w6kgw6g=?= x\" NIL \"a\" \"b.c\")) "
	    "((\"=?UTF-8?B?w6kgw6g=?= x\" NIL \"a\" \"b.c\")) "
	    "((\"=?UTF-8?B?w6kgw6g=?= x\" NIL \"a\" \"b.c\")) "
	    "NIL NIL NIL NIL NIL)");
	/* Raw 8-bit header bytes go out as a literal. */
	CHECK_STR(render("Subject: caf\xc3\xa9\r\n\r\n", ENV),
	    "(NIL {5}\r\ncaf\xc3\xa9 NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST(rfc2231_params)
{
	const char *msg =
	    "Content-Type: application/octet-stream;\r\n"
	    " name*=utf-8''%E2%82%AC%20rates.txt; title*=us-ascii'en'abc\r\n"
	    "Content-Disposition: attachment;\r\n"
	    " filename*0*=utf-8''%E2%82%AC; filename*1=\" rates.txt\"\r\n"
	    "\r\n"
	    "x";

	/* Non-ASCII values as RFC 2231 UTF-8, ASCII ones plain. */
	CHECK_STR(render(msg, BODYSTRUCTURE),
	    "(\"application\" \"octet-stream\" "
	    "(\"name*\" \"utf-8''%E2%82%AC%20rates.txt\" \"title\" \"abc\") "
	    "NIL NIL \"7bit\" 1 NIL "
	    "(\"attachment\" (\"filename*\" \"utf-8''%E2%82%AC%20rates.txt\")) "
	    "NIL NIL)");
}

/*
 * The stored items (imap_struct_store): for every message of the shared
 * corpus they read back (imap_struct_stored_read) as exactly what the
 * record renders, so imapd answers the same whichever it serves.
 */
TEST(stored_corpus)
{
	const char *dir, *err;
	char path[4096], line[2048], *data;
	struct buf rec = BUF_INIT, env = BUF_INIT, bs = BUF_INIT;
	struct buf st = BUF_INIT;
	struct imap_struct_stored it;
	struct mime_msg *m;
	struct msgrec r;
	size_t len, files = 0, literals = 0;
	FILE *fp;

	if ((fp = harness_corpus_manifest(&dir)) == NULL)
		return;
	while (harness_corpus_next(fp, line, sizeof(line))) {
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		if ((data = harness_slurp(path, &len)) == NULL) {
			harness_fail(__FILE__, __LINE__, "cannot read %s",
			    path);
			continue;
		}
		m = mime_parse(data, len);
		buf_reset(&rec);
		msgrec_encode(m, 0, &rec);
		mime_msg_free(&m);
		if (msgrec_open(rec.data, rec.len, len, &r, &err) != 0) {
			harness_fail(__FILE__, __LINE__, "%s: %s", line, err);
			free(data);
			continue;
		}
		buf_reset(&env);
		buf_reset(&bs);
		buf_reset(&st);
		imap_struct_envelope(&env, &r, 0);
		imap_struct_bodystructure(&bs, &r, 0, true);
		CHECK(imap_struct_item_valid(env.data, env.len));
		CHECK(imap_struct_item_valid(bs.data, bs.len));
		CHECK(imap_struct_store(&st, &r));
		if (imap_struct_stored_read(st.data, st.len, &it) != 0) {
			harness_fail(__FILE__, __LINE__, "%s: not read", line);
		} else {
			CHECK(it.envelope_len == env.len &&
			    memcmp(it.envelope, env.data, env.len) == 0);
			CHECK(it.body_len == bs.len &&
			    memcmp(it.body, bs.data, bs.len) == 0);
		}
		if (memchr(st.data, '{', st.len) != NULL)
			literals++;
		msgrec_close(&r);
		free(data);
		files++;
	}
	fclose(fp);
	CHECK(files >= 1000);
	/* 8-bit headers make literals: the scanner has met them. */
	CHECK(literals > 0);
	buf_clear(&rec);
	buf_clear(&env);
	buf_clear(&bs);
	buf_clear(&st);
}

/* What the scanner takes for one item, and what it refuses. */
TEST(item_valid)
{
	static const char *const good[] = {
		"()", "(NIL)", "(\"a\" NIL 12)", "((\"a\")(\"b\") \"mixed\")",
		"(\"q\\\"x\\\\\")", "({3}\r\n)\r\n)", "({0}\r\n NIL)",
		"(\"caf\xc3\xa9\")", "(((NIL)))",
	};
	static const char *const bad[] = {
		"", "(", ")", "(()", "())", "(a)(b)", "(a  b)", "( a)", "(a )",
		"(\"a\r\nb\")", "(\"a\nb\")", "(\"a\\x\")", "(\"a)",
		"(a\r\n* BYE)", "({4}\r\nab)", "({3}\n)\r\n)", "({}\r\n)",
		"({99999999999}\r\n)", "(a\"b\")", "(\"a\"\"b\")", "NIL",
		"(a)b", "(a]b)",
	};
	static const uint8_t nul[] = { '(', '"', 'a', 0, '"', ')' };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!imap_struct_item_valid((const uint8_t *)good[i],
		    strlen(good[i])))
			harness_fail(__FILE__, __LINE__, "refused: %s",
			    good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (imap_struct_item_valid((const uint8_t *)bad[i],
		    strlen(bad[i])))
			harness_fail(__FILE__, __LINE__, "taken: %s", bad[i]);
	CHECK(!imap_struct_item_valid(nul, sizeof(nul)));
}

/* A stored form whose parts do not read is refused as a whole. */
TEST(stored_read_bad)
{
	static const char good[] = "\x01\0\0\0\x05(NIL)(\"text\")";
	struct imap_struct_stored it;
	struct buf b = BUF_INIT;
	uint8_t *p;

	buf_append(&b, good, sizeof(good) - 1);
	CHECK_INT(imap_struct_stored_read(b.data, b.len, &it), 0);
	CHECK(it.envelope_len == 5 && memcmp(it.envelope, "(NIL)", 5) == 0);
	CHECK(it.body_len == 8);
	p = b.data;
	p[0] = 2;				/* unknown version */
	CHECK_INT(imap_struct_stored_read(b.data, b.len, &it), -1);
	p[0] = 1;
	p[4] = 0x20;				/* envelope past the end */
	CHECK_INT(imap_struct_stored_read(b.data, b.len, &it), -1);
	p[4] = 4;				/* cut inside the envelope */
	CHECK_INT(imap_struct_stored_read(b.data, b.len, &it), -1);
	p[4] = 5;
	p[12] = '\n';			/* LF in the body's string */
	CHECK_INT(imap_struct_stored_read(b.data, b.len, &it), -1);
	CHECK_INT(imap_struct_stored_read(b.data, 4, &it), -1);
	buf_clear(&b);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(plain_text),
	TEST_ENTRY(multipart_alternative),
	TEST_ENTRY(multipart_mixed_attachment),
	TEST_ENTRY(nested_message),
	TEST_ENTRY(group_addresses),
	TEST_ENTRY(missing_headers),
	TEST_ENTRY(encoded_words),
	TEST_ENTRY(rfc2231_params),
	TEST_ENTRY(stored_corpus),
	TEST_ENTRY(item_valid),
	TEST_ENTRY(stored_read_bad),
};

HARNESS_MAIN(tests)
