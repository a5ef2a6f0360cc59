/* SPDX-License-Identifier: ISC */
/*
 * test_mime.c: the message parser (mime.h) and the stored record
 * (msgrec.h), through the public path parse -> encode -> decode: RFC 5322
 * headers, dates and address lists with groups, RFC 2047 encoded words,
 * RFC 2231 parameters, multipart trees and their offsets, message/rfc822
 * nesting, RFC 8621 4.1.4 body selection, previews, charsets, and each
 * kind of broken mail the parser must survive; record round trips with a
 * prefix, and refusal of every truncated or corrupted record.
 */
#include "harness.h"
#include "casemap.h"
#include "charset.h"
#include "mime.h"
#include "mime_int.h"
#include "msgrec.h"
#include "msgsearch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The record of the last parse, kept so that decoded pointers stay valid. */
static struct buf rec = BUF_INIT;
static char *msgcopy;
static size_t msglen;

/* Parses text (len bytes, or strlen), encodes and opens the record. */
static int
parse_len(const char *text, size_t len, uint64_t prefix, struct msgrec *r)
{
	struct mime_msg *m;
	const char *err = NULL;
	int rc;

	free(msgcopy);
	/* A copy of exactly len bytes, so ASan sees reads past the end. */
	msgcopy = malloc(len ? len : 1);
	memcpy(msgcopy, text, len);
	msglen = len;
	m = mime_parse(msgcopy, len);
	CHECK(m != NULL);
	buf_reset(&rec);
	msgrec_encode(m, prefix, &rec);
	mime_msg_free(&m);
	CHECK(m == NULL);
	rc = msgrec_open(rec.data, rec.len, len + prefix, r, &err);
	if (rc != 0)
		fprintf(stderr, "msgrec_open: %s\n", err);
	CHECK_INT(rc, 0);
	return rc;
}

static int
parse(const char *text, struct msgrec *r)
{
	return parse_len(text, strlen(text), 0, r);
}

/* The body bytes of part i as a string (static storage). */
static const char *
body(const struct msgrec *r, uint32_t i)
{
	static char out[4096];
	const struct msgrec_part *p = &r->parts[i];
	size_t n = (size_t)(p->body_end - p->body_off);

	if (n >= sizeof(out))
		n = sizeof(out) - 1;
	memcpy(out, msgcopy + p->body_off, n);
	out[n] = '\0';
	return out;
}

/* Address k of list f of envelope e as "name|email|group". */
static const char *
addr(const struct msgrec *r, uint32_t e, int f, int k)
{
	static char out[512];
	struct wire_iter it;
	struct msgrec_addr a;

	wire_strlist_iter(&r->envs[e].addr[f], &it);
	while (msgrec_addr_next(&it, &a))
		if (k-- == 0) {
			snprintf(out, sizeof(out), "%s|%s|%s", a.name, a.email,
			    a.group ? a.group : "-");
			return out;
		}
	return "(none)";
}

static const char *
param(struct wire_strlist l, const char *name)
{
	struct wire_iter it;
	const char *n, *v;

	wire_strlist_iter(&l, &it);
	while ((n = wire_strlist_next(&it)) != NULL &&
	    (v = wire_strlist_next(&it)) != NULL)
		if (strcmp(n, name) == 0)
			return v;
	return "(none)";
}

static const char *
strlist_at(struct wire_strlist l, uint32_t k)
{
	struct wire_iter it;
	const char *s;

	wire_strlist_iter(&l, &it);
	while ((s = wire_strlist_next(&it)) != NULL)
		if (k-- == 0)
			return s;
	return "(none)";
}

TEST(simple_message)
{
	struct msgrec r;
	const char *msg =
	    "Return-Path: <x@y>\r\n"
	    "From: \"Doe, John\" <john@example.com>\r\n"
	    "To: Mary <mary@example.net>, bob@example.org\r\n"
	    "Subject: Re: [list] Hello\r\n"
	    "  world\r\n"
	    "Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n"
	    "Message-ID: <1234@local.machine.example>\r\n"
	    "In-Reply-To: <a@b> <c@d>\r\n"
	    "References: <x@y>\r\n\t<a@b>\r\n"
	    "\r\n"
	    "Hello,\r\n\r\n   this   is\ta test.\r\n";

	if (parse(msg, &r) != 0)
		return;
	CHECK_INT(r.s.size, strlen(msg));
	CHECK_INT(r.nparts, 1);
	CHECK_INT(r.nenvs, 1);
	CHECK_STR(r.s.subject, "Re: [list] Hello  world");
	CHECK_STR(r.s.base_subject, "Hello world");
	CHECK_STR(r.s.from, "Doe, John <john@example.com>");
	CHECK_STR(r.s.message_id, "1234@local.machine.example");
	CHECK_INT(r.s.in_reply_to.count, 2);
	CHECK_STR(strlist_at(r.s.in_reply_to, 1), "c@d");
	CHECK_INT(r.s.references.count, 2);
	CHECK_STR(strlist_at(r.s.references, 0), "x@y");
	CHECK(r.s.has_sent_at);
	CHECK_INT(r.s.sent_at, 880127706);
	CHECK_INT(r.s.sent_tz, -360);
	CHECK_STR(r.s.preview, "Hello, this is a test.");
	CHECK(!r.s.has_attachment);
	CHECK_STR(r.parts[0].type, "text");
	CHECK_STR(r.parts[0].subtype, "plain");
	CHECK_INT(r.parts[0].hdr_off, 0);
	CHECK_STR(body(&r, 0), "Hello,\r\n\r\n   this   is\ta test.\r\n");
	CHECK_INT(r.parts[0].lines, 3);
	CHECK_INT(r.text_body.count, 1);
	CHECK_INT(r.html_body.count, 1);
	CHECK_INT(r.attachments.count, 0);
	CHECK_STR(addr(&r, 0, MSGREC_TO, 0), "Mary|mary@example.net|-");
	CHECK_STR(addr(&r, 0, MSGREC_TO, 1), "|bob@example.org|-");
	CHECK_STR(r.envs[0].subject, "Re: [list] Hello  world");
	CHECK_STR(r.envs[0].date, "Fri, 21 Nov 1997 09:55:06 -0600");
	CHECK_STR(r.envs[0].message_id, "<1234@local.machine.example>");
	msgrec_close(&r);
}

TEST(dates)
{
	static const struct {
		const char	*date;
		int64_t		 t;
		int		 tz;
		bool		 ok;
	} v[] = {
		{ "Thu, 13 Feb 1969 23:32:54 -0330", -27723426, -210, true },
		{ "13 Feb 69 23:32 -0330", -27723480 + 1800 * 0 + 0, -210,
		    true },
		{ "Mon, 1 Jan 2024 00:00:00 +0000", 1704067200, 0, true },
		{ "Mon, 1 Jan 2024 00:00:00 GMT", 1704067200, 0, true },
		{ "Mon, 1 Jan 2024 00:00:00 EST", 1704085200, -300, true },
		{ "Mon,  1 Jan 24 00:00:00 (comment) +0100", 1704063600, 60,
		    true },
		{ "1 jan 2024 00:00:60 +0000", 1704067259, 0, true },
		{ "Mon, 1 Jan 2024 00:00:00", 1704067200, 0, true },
		{ "yesterday", 0, 0, false },
		{ "Mon, 32 Jan 2024 00:00:00 +0000", 0, 0, false },
		{ "Mon, 1 Foo 2024 00:00:00 +0000", 0, 0, false },
		{ "Mon, 1 Jan 2024 25:00:00 +0000", 0, 0, false },
	};
	char msg[256];
	struct msgrec r;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(msg, sizeof(msg), "Date: %s\n\nx\n", v[i].date);
		if (parse(msg, &r) != 0)
			continue;
		if (r.s.has_sent_at != v[i].ok)
			fprintf(stderr, "date %s\n", v[i].date);
		CHECK_INT(r.s.has_sent_at, v[i].ok);
		if (v[i].ok && v[i].t != -27723480) {
			CHECK_INT(r.s.sent_at, v[i].t);
			CHECK_INT(r.s.sent_tz, v[i].tz);
		}
		msgrec_close(&r);
	}
	/* 2-digit year 69 is 1969 (RFC 5322 4.3), no seconds. */
	if (parse("Date: 13 Feb 69 23:32 -0330\n\nx", &r) == 0) {
		CHECK_INT(r.s.sent_at, -27723480);
		msgrec_close(&r);
	}
}

TEST(encoded_words)
{
	static const struct {
		const char	*in, *out;
	} v[] = {
		{ "=?UTF-8?B?SGVsbG8=?= =?UTF-8?Q?_w=C3=B6rld?=",
		    "Hello wörld" },
		{ "=?iso-8859-1?q?caf=E9?= au lait", "café au lait" },
		{ "a =?utf-8?q?b?=  c", "a b  c" },
		/* a character split across two words */
		{ "=?utf-8?B?4oI=?= =?utf-8?B?rA==?=", "€" },
		/* malformed: kept as they are */
		{ "=?utf-8?x?abc?= =?utf-8?q?unterminated",
		    "=?utf-8?x?abc?= =?utf-8?q?unterminated" },
		/* unknown charset: bytes kept (valid UTF-8 or 1252) */
		{ "=?x-unknown?q?=E9t=C3=A9?=", "été" },
		/* language suffix (RFC 2231 5) and no separating space */
		{ "=?utf-8*en?q?A?==?utf-8?q?B?=", "AB" },
		{ "=?koi8-r?b?8NLJ18XU?=", "Привет" },
		{ "=?iso-2022-jp?B?GyRCJUYlOSVIGyhC?=", "テスト" },
		{ "=?gb2312?B?xOO6ww==?=", "你好" },
		{ "=?windows-1252?q?=80_=93x=94?=", "€ “x”" },
	};
	char msg[512];
	struct msgrec r;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(msg, sizeof(msg), "Subject: %s\n\n", v[i].in);
		if (parse(msg, &r) != 0)
			continue;
		CHECK_STR(r.s.subject, v[i].out);
		msgrec_close(&r);
	}
}

TEST(raw_8bit_headers)
{
	struct msgrec r;

	/* RFC 6532 UTF-8, and undeclared latin-1 */
	if (parse("Subject: Gr\xc3\xbc\xc3\x9f" "e\nFrom: J\xe9r\xf4me "
	    "<j@example.fr>\n\n", &r) == 0) {
		CHECK_STR(r.s.subject, "Grüße");
		CHECK_STR(r.s.from, "Jérôme <j@example.fr>");
		msgrec_close(&r);
	}
}

TEST(base_subject)
{
	static const struct {
		const char	*in, *out;
	} v[] = {
		{ "Re: Fwd: hello", "hello" },
		{ "RE: [list] re[2]: hello (fwd)", "hello" },
		{ "[fwd: Re: test]", "test" },
		{ "[PATCH] fix", "fix" },
		{ "[only]", "[only]" },
		{ "Fw:  a   b  ", "a b" },
		{ "Re:", "" },
		{ "Rebus: x", "Rebus: x" },
	};
	char msg[256];
	struct msgrec r;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(msg, sizeof(msg), "Subject: %s\n\n", v[i].in);
		if (parse(msg, &r) != 0)
			continue;
		CHECK_STR(r.s.base_subject, v[i].out);
		msgrec_close(&r);
	}
}

TEST(address_lists)
{
	struct msgrec r;
	const char *msg =
	    "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.de>\n"
	    "To: A Group: a@x.org, \"B, b\" <b@x.org>;, c@x.org (Charlie)\n"
	    "Cc: undisclosed-recipients:;\n"
	    "Bcc: <@route1,@route2:d@x.org>, \"quoted local\"@x.org\n"
	    "Reply-To: Just A Name\n"
	    "Sender: broken <e@x.org\n"
	    "\n";

	if (parse(msg, &r) != 0)
		return;
	CHECK_STR(r.s.from, "Jörg <joerg@example.de>");
	CHECK_STR(addr(&r, 0, MSGREC_TO, 0), "|a@x.org|A Group");
	CHECK_STR(addr(&r, 0, MSGREC_TO, 1), "B, b|b@x.org|A Group");
	CHECK_STR(addr(&r, 0, MSGREC_TO, 2), "Charlie|c@x.org|-");
	CHECK_STR(addr(&r, 0, MSGREC_TO, 3), "(none)");
	CHECK_STR(addr(&r, 0, MSGREC_CC, 0), "||undisclosed-recipients");
	CHECK_STR(addr(&r, 0, MSGREC_BCC, 0), "|d@x.org|-");
	CHECK_STR(addr(&r, 0, MSGREC_BCC, 1), "|\"quoted local\"@x.org|-");
	CHECK_STR(addr(&r, 0, MSGREC_REPLY_TO, 0), "Just A Name||-");
	CHECK_STR(addr(&r, 0, MSGREC_SENDER, 0), "broken|e@x.org|-");
	msgrec_close(&r);
	/*
	 * No '@': one word is a local part without domain (its comment
	 * the name), a name in front of "<>" stays a name, and several
	 * words or an encoded word are a name without address.
	 */
	if (parse("To: martin, nsb (Nathaniel Borenstein), MAILER-DAEMON <>,"
	    " Undisclosed Recipients, =?utf-8?q?J=C3=B6rg?=\n\n", &r) != 0)
		return;
	CHECK_STR(addr(&r, 0, MSGREC_TO, 0), "|martin|-");
	CHECK_STR(addr(&r, 0, MSGREC_TO, 1), "Nathaniel Borenstein|nsb|-");
	CHECK_STR(addr(&r, 0, MSGREC_TO, 2), "MAILER-DAEMON||-");
	CHECK_STR(addr(&r, 0, MSGREC_TO, 3), "Undisclosed Recipients||-");
	CHECK_STR(addr(&r, 0, MSGREC_TO, 4), "Jörg||-");
	msgrec_close(&r);
}

static const char *alt_msg =
    "From: a@example.com\n"
    "Subject: alt\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "preamble\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=inner\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=E9 =\n"
    "ol=E9\n"
    "--inner\n"
    "Content-Type: text/html; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "PGh0bWw+PGJvZHk+PHA+SGkmYW1wOyA8Yj50aGVyZTwvYj48L3A+PC9ib2R5PjwvaHRtbD4=\n"
    "--inner--\n"
    "--outer\n"
    "Content-Type: application/pdf; name=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"\n"
    "Content-Disposition: attachment;\n"
    " filename*0*=utf-8''%E2%82%AC;\n"
    " filename*1=\"uro.pdf\"; size=1234\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-ID: <pdf@x>\n"
    "Content-Language: en, de\n"
    "Content-Description: =?utf-8?q?the_r=C3=A9sum=C3=A9?=\n"
    "\n"
    "JVBERi0xLjQK\n"
    "--outer--\n"
    "epilogue\n";

TEST(multipart_tree)
{
	struct msgrec r;
	const struct msgrec_part *p;

	if (parse(alt_msg, &r) != 0)
		return;
	CHECK_INT(r.nparts, 5);
	CHECK_STR(r.parts[0].type, "multipart");
	CHECK_STR(r.parts[0].subtype, "mixed");
	CHECK_STR(param(r.parts[0].params, "boundary"), "outer");
	CHECK_INT(r.parts[1].parent, 0);
	CHECK_STR(r.parts[1].subtype, "alternative");
	CHECK_INT(r.parts[2].parent, 1);
	CHECK_INT(r.parts[3].parent, 1);
	CHECK_INT(r.parts[4].parent, 0);
	CHECK_STR(body(&r, 2), "caf=E9 =\nol=E9");
	CHECK_INT(r.parts[2].lines, 2);
	CHECK_STR(r.parts[2].charset, "iso-8859-1");
	CHECK_STR(r.parts[2].encoding, "quoted-printable");
	CHECK_INT(r.parts[2].decoded_size, 8);
	CHECK_STR(body(&r, 3),
	    "PGh0bWw+PGJvZHk+PHA+SGkmYW1wOyA8Yj50aGVyZTwvYj48L3A+PC9ib2R5Pjwv"
	    "aHRtbD4=");
	CHECK_INT(r.parts[3].decoded_size, 53);
	p = &r.parts[4];
	CHECK_STR(p->type, "application");
	CHECK_STR(p->disposition, "attachment");
	CHECK_STR(p->name, "€uro.pdf");
	CHECK_STR(param(p->params, "name"), "résumé.pdf");
	CHECK_STR(param(p->disp_params, "size"), "1234");
	CHECK_STR(p->id, "<pdf@x>");
	CHECK_STR(p->description, "the résumé");
	CHECK_INT(p->language.count, 2);
	CHECK_STR(strlist_at(p->language, 1), "de");
	CHECK_INT(p->decoded_size, 9);
	CHECK_STR(body(&r, 4), "JVBERi0xLjQK");
	/* headers: [hdr_off, body_off) ends with the blank line */
	CHECK(memcmp(msgcopy + r.parts[2].hdr_off, "Content-Type: text/plain",
	    24) == 0);
	CHECK(msgcopy[r.parts[2].body_off - 1] == '\n' &&
	    msgcopy[r.parts[2].body_off - 2] == '\n');
	/* RFC 8621 4.1.4 */
	CHECK_INT(r.text_body.count, 1);
	CHECK_INT(wire_u64list_get(&r.text_body, 0), 2);
	CHECK_INT(r.html_body.count, 1);
	CHECK_INT(wire_u64list_get(&r.html_body, 0), 3);
	CHECK_INT(r.attachments.count, 1);
	CHECK_INT(wire_u64list_get(&r.attachments, 0), 4);
	CHECK(r.s.has_attachment);
	CHECK_STR(r.s.preview, "café olé");
	msgrec_close(&r);
}

TEST(msg_text)
{
	struct mime_msg *m = mime_parse(alt_msg, strlen(alt_msg));
	const char *t;
	size_t len;

	t = mime_msg_text(m, &len);
	CHECK(t != NULL && strlen(t) == len);
	CHECK(strstr(t, "alt") != NULL);
	CHECK(strstr(t, "a@example.com") != NULL);
	CHECK(strstr(t, "café olé") != NULL);
	CHECK(strstr(t, "JVBER") == NULL);
	CHECK(strstr(t, "€uro.pdf") != NULL);
	CHECK(strstr(t, "<b>") == NULL);
	mime_msg_free(&m);
	/* HTML only: markup, style and entities */
	m = mime_parse("Content-Type: text/html\n\n<html><style>p{x:1}</style>"
	    "<p>A &amp; B&#233;&#x20AC;</p><!-- c --></html>", 97);
	t = mime_msg_text(m, &len);
	CHECK(strstr(t, "A & Bé€") != NULL);
	CHECK(strstr(t, "x:1") == NULL);
	CHECK(strstr(t, "<p>") == NULL);
	mime_msg_free(&m);
}

TEST(related_and_inline)
{
	struct msgrec r;
	const char *msg =
	    "Content-Type: multipart/related; boundary=b\n\n"
	    "--b\nContent-Type: text/html\n\n<p>hi <img src=cid:i></p>\n"
	    "--b\nContent-Type: image/png\nContent-ID: <i>\n\nAAAA\n"
	    "--b--\n";

	if (parse(msg, &r) != 0)
		return;
	CHECK_INT(r.nparts, 3);
	CHECK_INT(r.text_body.count, 1);
	CHECK_INT(wire_u64list_get(&r.text_body, 0), 1);
	CHECK_INT(r.attachments.count, 1);
	CHECK(!r.s.has_attachment);
	CHECK_STR(r.s.preview, "hi");
	msgrec_close(&r);
}

TEST(nested_message)
{
	struct msgrec r;
	const char *msg =
	    "From: outer@example.com\nSubject: fwd\n"
	    "Content-Type: multipart/mixed; boundary=\"x\"\n\n"
	    "--x\n\nsee attached\n"
	    "--x\nContent-Type: message/rfc822\n\n"
	    "From: Inner <inner@example.com>\nSubject: inner one\n"
	    "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
	    "Content-Type: multipart/alternative; boundary=y\n\n"
	    "--y\n\ninner text\n--y--\n"
	    "--x--\n";

	if (parse(msg, &r) != 0)
		return;
	CHECK_INT(r.nparts, 5);
	CHECK_INT(r.nenvs, 2);
	CHECK_STR(r.parts[2].type, "message");
	CHECK_INT(r.parts[2].env, MSGREC_NONE);
	CHECK_INT(r.parts[3].parent, 2);
	CHECK_INT(r.parts[3].env, 1);
	CHECK_STR(r.parts[3].subtype, "alternative");
	CHECK_INT(r.parts[4].parent, 3);
	CHECK_STR(body(&r, 4), "inner text");
	CHECK_STR(r.envs[1].subject_dec, "inner one");
	CHECK_STR(addr(&r, 1, MSGREC_FROM, 0), "Inner|inner@example.com|-");
	CHECK(r.envs[1].has_sent_at);
	CHECK_INT(r.parts[2].hdr_off + 0, r.parts[2].hdr_off);
	CHECK_INT(r.parts[3].hdr_off, r.parts[2].body_off);
	CHECK_INT(r.parts[3].body_end, r.parts[2].body_end);
	/* JMAP: the message part is an attachment, not walked into */
	CHECK_INT(r.attachments.count, 1);
	CHECK_INT(wire_u64list_get(&r.attachments, 0), 2);
	CHECK_INT(r.text_body.count, 1);
	CHECK_STR(r.s.subject, "fwd");
	msgrec_close(&r);
}

/*
 * A message attached straight from an mbox file starts with its "From "
 * separator, sometimes quoted as ">From ": the fields after it are still
 * the encapsulated message's header, not its body.
 */
TEST(nested_message_mbox_from)
{
	struct msgrec r;
	const char *msg =
	    "Subject: fwd\nContent-Type: multipart/mixed; boundary=x\n\n"
	    "--x\nContent-Type: message/rfc822\n\n"
	    ">From - Fri Dec 13 15:01:21 1996\n"
	    "From: Inner <inner@example.com>\nSubject: inner\n\nbody\n"
	    "--x\nContent-Type: message/rfc822\n\n"
	    "From inner@example.com Tue May 10 11:28:07 2005\n"
	    "Subject: second\n\ntext\n"
	    "--x\nContent-Type: text/plain\n\n"
	    "From the start: a body line, not a separator\n"
	    "--x--\n";

	if (parse(msg, &r) != 0)
		return;
	CHECK_INT(r.nparts, 6);
	CHECK_INT(r.nenvs, 3);
	CHECK_INT(r.parts[2].env, 1);
	CHECK_STR(r.envs[1].subject_dec, "inner");
	CHECK_STR(addr(&r, 1, MSGREC_FROM, 0), "Inner|inner@example.com|-");
	CHECK_STR(body(&r, 2), "body");
	/* the header starts after the separator line */
	CHECK_INT(r.parts[2].hdr_off, r.parts[1].body_off +
	    strlen(">From - Fri Dec 13 15:01:21 1996\n"));
	CHECK_INT(r.parts[4].env, 2);
	CHECK_STR(r.envs[2].subject_dec, "second");
	CHECK_STR(body(&r, 4), "text");
	/* only a message's first line can be a separator */
	CHECK_STR(r.parts[5].type, "text");
	CHECK_STR(body(&r, 5), "From the start: a body line, not a separator");
	msgrec_close(&r);
}

TEST(message_global)
{
	struct msgrec r;
	const char *msg =
	    "Subject: outer\nContent-Type: message/global\n\n"
	    "From: Zoë <zoë@例え.jp>\nSubject: Grüße\n\nHallo\n";

	if (parse(msg, &r) != 0)
		return;
	CHECK_INT(r.nparts, 2);
	CHECK_INT(r.nenvs, 2);
	CHECK_STR(r.parts[0].subtype, "global");
	CHECK_STR(r.envs[1].subject_dec, "Grüße");
	CHECK_STR(addr(&r, 1, MSGREC_FROM, 0), "Zoë|zoë@例え.jp|-");
	CHECK_STR(body(&r, 1), "Hallo\n");
	msgrec_close(&r);
}

TEST(digest_default)
{
	struct msgrec r;
	const char *msg =
	    "Content-Type: multipart/digest; boundary=d\n\n"
	    "--d\n\nSubject: one\n\nbody1\n--d\n\nSubject: two\n\nbody2\n"
	    "--d--\n";

	if (parse(msg, &r) != 0)
		return;
	CHECK_INT(r.nparts, 5);
	CHECK_STR(r.parts[1].type, "message");
	CHECK_STR(r.parts[1].subtype, "rfc822");
	CHECK_STR(r.envs[2].subject_dec, "two");
	CHECK_STR(body(&r, 4), "body2");
	msgrec_close(&r);
}

TEST(line_endings)
{
	struct msgrec r;
	const char *cr = "Subject: mac\rContent-Type: multipart/mixed; "
	    "boundary=q\r\r--q\r\rone\r--q\rContent-Type: text/html\r\r"
	    "<b>two</b>\r--q--\r";

	if (parse(cr, &r) == 0) {
		CHECK_STR(r.s.subject, "mac");
		CHECK_INT(r.nparts, 3);
		CHECK_STR(body(&r, 1), "one");
		CHECK_STR(r.parts[2].subtype, "html");
		msgrec_close(&r);
	}
	if (parse("Subject: lf\n\nbody\n", &r) == 0) {
		CHECK_STR(r.s.subject, "lf");
		CHECK_STR(body(&r, 0), "body\n");
		msgrec_close(&r);
	}
	/* mixed CRLF and LF */
	if (parse("Subject: mixed\r\nX: y\n\r\nbody", &r) == 0) {
		CHECK_STR(r.s.subject, "mixed");
		CHECK_STR(body(&r, 0), "body");
		msgrec_close(&r);
	}
}

TEST(broken_structure)
{
	struct msgrec r;

	/* no close delimiter, truncated in a part's header */
	if (parse("Content-Type: multipart/mixed; boundary=z\n\n--z\n\na\n"
	    "--z\nContent-Type: text/pl", &r) == 0) {
		CHECK_INT(r.nparts, 3);
		CHECK_STR(body(&r, 1), "a");
		CHECK_INT(r.parts[2].body_end, msglen);
		msgrec_close(&r);
	}
	/* multipart without a boundary: one text part */
	if (parse("Content-Type: multipart/mixed\n\nbody\n", &r) == 0) {
		CHECK_INT(r.nparts, 1);
		CHECK_STR(r.parts[0].type, "text");
		CHECK_STR(r.s.preview, "body");
		msgrec_close(&r);
	}
	/* boundary never used */
	if (parse("Content-Type: multipart/mixed; boundary=nope\n\nbody\n",
	    &r) == 0) {
		CHECK_INT(r.nparts, 1);
		msgrec_close(&r);
	}
	/* no blank line after the header; a body line without a colon */
	if (parse("Subject: s\nthis is the body\nmore\n", &r) == 0) {
		CHECK_STR(r.s.subject, "s");
		CHECK_STR(body(&r, 0), "this is the body\nmore\n");
		msgrec_close(&r);
	}
	/*
	 * A broken field (a folded line without its white space, a name
	 * with a space) with fields after it: the header goes on to the
	 * empty line, and the broken line takes no continuation.
	 */
	if (parse("Subject: s\nReceived: from a\nby b; 1 Jan 2024\n"
	    "quite To: x@y.z\n cont@y.z\nFrom: f@g.h\n\nbody\n", &r) == 0) {
		CHECK_STR(r.s.subject, "s");
		CHECK_STR(addr(&r, 0, MSGREC_FROM, 0), "|f@g.h|-");
		CHECK_INT(r.envs[0].addr[MSGREC_TO].count, 0);
		CHECK_STR(body(&r, 0), "body\n");
		msgrec_close(&r);
	}
	/* ... but not when the empty line or a delimiter comes first */
	if (parse("Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\nbar\n\nX-Not: a field\n"
	    "--b\nContent-Type: text/html\n<p>baz</p>\n--b--\n", &r) == 0) {
		CHECK_INT(r.nparts, 3);
		CHECK_STR(body(&r, 1), "bar\n\nX-Not: a field");
		CHECK_STR(r.parts[2].subtype, "html");
		CHECK_STR(body(&r, 2), "<p>baz</p>");
		msgrec_close(&r);
	}
	/* NULL and empty */
	{
		struct mime_msg *m = mime_parse(NULL, 0);

		CHECK(m != NULL);
		mime_msg_free(&m);
	}
	/* no header at all, empty message, only a header */
	if (parse("", &r) == 0) {
		CHECK_INT(r.nparts, 1);
		CHECK_STR(r.s.subject, "");
		CHECK_STR(r.s.from, "");
		CHECK(!r.s.has_sent_at);
		msgrec_close(&r);
	}
	if (parse("Subject: only", &r) == 0) {
		CHECK_STR(r.s.subject, "only");
		CHECK_INT(r.parts[0].body_off, 13);
		msgrec_close(&r);
	}
	/* duplicate headers: the first wins; an mbox From_ line */
	if (parse("From someone Mon Jan  1 00:00:00 2024\nSubject: one\n"
	    "Subject: two\n\n", &r) == 0) {
		CHECK_STR(r.s.subject, "one");
		msgrec_close(&r);
	}
	/* a byte order mark before the header */
	if (parse("\xef\xbb\xbfSubject: bom\n\nx", &r) == 0) {
		CHECK_STR(r.s.subject, "bom");
		CHECK_INT(r.parts[0].hdr_off, 0);
		msgrec_close(&r);
	}
	/* unknown transfer encoding: bytes as they are */
	if (parse("Content-Transfer-Encoding: x-uuencode\n\nbegin 644 a\n",
	    &r) == 0) {
		CHECK_STR(r.parts[0].encoding, "x-uuencode");
		CHECK_INT(r.parts[0].decoded_size, 12);
		CHECK_STR(r.s.preview, "begin 644 a");
		msgrec_close(&r);
	}
	/* invalid Content-Type: text/plain */
	if (parse("Content-Type: garbage\n\nx", &r) == 0) {
		CHECK_STR(r.parts[0].type, "text");
		CHECK_STR(r.parts[0].subtype, "plain");
		msgrec_close(&r);
	}
	/* a boundary that is a prefix of the inner one */
	if (parse("Content-Type: multipart/mixed; boundary=a\n\n--a\n"
	    "Content-Type: multipart/mixed; boundary=ab\n\n--ab\n\nin\n"
	    "--ab--\n--a\n\nout\n--a--\n", &r) == 0) {
		CHECK_INT(r.nparts, 4);
		CHECK_STR(body(&r, 2), "in");
		CHECK_INT(r.parts[3].parent, 0);
		CHECK_STR(body(&r, 3), "out");
		msgrec_close(&r);
	}
}

TEST(overlong_lines)
{
	struct msgrec r;
	size_t n = 200000, i;
	char *msg = malloc(n + 64);
	int k;

	k = snprintf(msg, 64, "Subject: ");
	for (i = (size_t)k; i < n; i++)
		msg[i] = 'a' + (char)(i % 26);
	memcpy(msg + n, "\n\nbody\n", 8);
	if (parse(msg, &r) == 0) {
		/* the record keeps the first 64 KiB */
		CHECK_INT(strlen(r.s.subject), 65536);
		CHECK(memcmp(r.s.subject, msg + k, 65536) == 0);
		CHECK_INT(strlen(r.envs[0].subject), 65536);
		CHECK_STR(body(&r, 0), "body\n");
		msgrec_close(&r);
	}
	free(msg);
}

/* Nesting beyond MIME_MAX_DEPTH and more than MIME_MAX_PARTS parts. */
TEST(limits)
{
	struct buf b = BUF_INIT;
	struct msgrec r;
	char line[128];
	uint32_t i, maxdepth = 0, d, k;

	for (i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "Content-Type: multipart/mixed; "
		    "boundary=b%u\n\n--b%u\n", i, i);
		buf_append(&b, line, strlen(line));
	}
	buf_append(&b, "\ndeep\n", 6);
	if (parse_len((const char *)b.data, b.len, 0, &r) == 0) {
		for (i = 0; i < r.nparts; i++) {
			for (d = 0, k = i; r.parts[k].parent != MSGREC_NONE;
			    k = r.parts[k].parent)
				d++;
			if (d > maxdepth)
				maxdepth = d;
		}
		CHECK(maxdepth <= MIME_MAX_DEPTH);
		CHECK(maxdepth >= MIME_MAX_DEPTH - 1);
		msgrec_close(&r);
	}
	buf_reset(&b);
	buf_append(&b, "Content-Type: multipart/mixed; boundary=p\n\n", 43);
	for (i = 0; i < MIME_MAX_PARTS + 50; i++)
		buf_append(&b, "--p\n\nx\n", 7);
	if (parse_len((const char *)b.data, b.len, 0, &r) == 0) {
		CHECK_INT(r.nparts, MIME_MAX_PARTS);
		msgrec_close(&r);
	}
	buf_clear(&b);
}

TEST(charsets)
{
	struct buf out = BUF_INIT;
	static const struct {
		const char	*cs, *in, *out;
	} v[] = {
		{ "utf-8", "ok \xe2\x82\xac", "ok €" },
		{ "utf-8", "bad \xe9 \xff", "bad é ÿ" },
		{ "us-ascii", "caf\xc3\xa9", "café" },
		{ "ISO_8859-1", "caf\xe9 \x80", "café €" },
		{ "iso-8859-15", "\xa4", "€" },
		{ "windows-1251", "\xcf\xf0\xe8", "При" },
		{ "KOI8-U", "\xa4", "є" },
		{ "shift_jis", "\x83\x65\x83\x58\x83\x67", "テスト" },
		{ "euc-jp", "\xa5\xc6\xa5\xb9\xa5\xc8", "テスト" },
		{ "euc-kr", "\xc7\xd1", "한" },
		{ "big5", "\xa4\xa4", "中" },
		{ "utf-16le", "A\0B\0", "AB" },
		{ "x-made-up", "\xe9t\xc3\xa9", "été" },
		{ NULL, "\x81\x9d", "\xc2\x81\xc2\x9d" },
		/* an invalid byte in a multibyte charset is kept */
		{ "shift_jis", "a\xff" "b", "aÿb" },
	};
	size_t i;

	charset_init();
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		buf_reset(&out);
		charset_to_utf8(v[i].cs, v[i].in,
		    strcmp(v[i].cs ? v[i].cs : "", "utf-16le") == 0 ? 4 :
		    strlen(v[i].in), &out);
		buf_append(&out, "", 1);
		CHECK_STR((const char *)out.data, v[i].out);
		CHECK(charset_utf8_valid(out.data, out.len));
	}
	CHECK(charset_is_known("Windows-1252"));
	CHECK(charset_is_known("gb2312"));
	CHECK(!charset_is_known("x-made-up"));
	CHECK(!charset_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	CHECK(!charset_utf8_valid("\xc0\xaf", 2));	/* overlong */
	CHECK_INT(charset_utf8_prefix("ab\xe2\x82", 4), 2);
	buf_clear(&out);
}

TEST(record_prefix)
{
	struct msgrec r, r0;
	struct buf rec0 = BUF_INIT;
	uint32_t i;

	if (parse(alt_msg, &r0) != 0)
		return;
	buf_append(&rec0, rec.data, rec.len);
	msgrec_close(&r0);
	CHECK_INT(msgrec_open(rec0.data, rec0.len, strlen(alt_msg), &r0,
	    &(const char *){ NULL }), 0);
	if (parse_len(alt_msg, strlen(alt_msg), 100, &r) != 0)
		return;
	CHECK_INT(r.s.size, strlen(alt_msg) + 100);
	CHECK_INT(r.parts[0].hdr_off, 0);
	CHECK_INT(r.parts[0].body_off, r0.parts[0].body_off + 100);
	for (i = 1; i < r.nparts; i++) {
		CHECK_INT(r.parts[i].hdr_off, r0.parts[i].hdr_off + 100);
		CHECK_INT(r.parts[i].body_off, r0.parts[i].body_off + 100);
		CHECK_INT(r.parts[i].body_end, r0.parts[i].body_end + 100);
		CHECK_INT(r.parts[i].lines, r0.parts[i].lines);
	}
	msgrec_close(&r);
	msgrec_close(&r0);
	buf_clear(&rec0);
}

typedef int	 (*rec_open_fn)(const void *, size_t, uint64_t, struct msgrec *,
		    const char **);

/*
 * Flips every bit of the record `rec` holds, one at a time: what open
 * accepts has its parts' offsets inside the message.
 */
static void
flips_stay_inside(rec_open_fn open)
{
	struct msgrec r;
	const char *err;
	uint8_t *copy;
	size_t n, i, len = rec.len;
	int b;

	copy = malloc(len);
	for (i = 0; i < len; i++)
		for (b = 0; b < 8; b++) {
			memcpy(copy, rec.data, len);
			copy[i] ^= (uint8_t)(1 << b);
			if (open(copy, len, msglen, &r, &err) != 0)
				continue;
			for (n = 0; n < r.nparts; n++)
				CHECK(r.parts[n].body_off <= r.parts[n].body_end &&
				    r.parts[n].body_end <= msglen);
			msgrec_close(&r);
		}
	free(copy);
}

/* Every truncation is refused; corrupted bytes never crash the decoder. */
TEST(record_refusals)
{
	struct msgrec_summary s;
	struct msgrec r;
	const char *err;
	uint8_t *copy;
	size_t n, len;

	if (parse(alt_msg, &r) != 0)
		return;
	msgrec_close(&r);
	len = rec.len;
	copy = malloc(len);
	for (n = 0; n < len; n++) {
		memcpy(copy, rec.data, n);
		err = NULL;
		CHECK_INT(msgrec_decode(copy, n, msglen, &s, &err), -1);
		CHECK(err != NULL);
	}
	CHECK_INT(msgrec_decode(rec.data, len, msglen, &s, &err), 0);
	CHECK_INT(s.nparts, 5);
	CHECK_INT(msgrec_decode(rec.data, len, msglen + 1, &s, &err), -1);
	CHECK_INT(msgrec_decode(rec.data, len, msglen - 1, &s, &err), -1);
	flips_stay_inside(msgrec_open);
	memcpy(copy, rec.data, len);
	copy[0] = MSGREC_VERSION + 1;
	CHECK_INT(msgrec_decode(copy, len, msglen, &s, &err), -1);
	free(copy);
}

/*
 * msgrec_open_stored leaves out the UTF-8 check of the strings (storaged
 * made it when it stored the record) and nothing else: the structure is
 * checked as msgrec_open checks it.
 */
TEST(record_stored)
{
	struct msgrec r;
	const char *err;
	uint8_t *copy, *at;
	size_t n, len;

	if (parse(alt_msg, &r) != 0)
		return;
	msgrec_close(&r);
	len = rec.len;
	copy = malloc(len);
	memcpy(copy, rec.data, len);
	/* The subject "alt" made "a\xfft": no longer UTF-8. */
	at = memmem(copy, len, "alt", 4);
	CHECK(at != NULL);
	if (at == NULL) {
		free(copy);
		return;
	}
	at[1] = 0xff;
	err = NULL;
	CHECK_INT(msgrec_open(copy, len, msglen, &r, &err), -1);
	CHECK_STR(err, "string is not UTF-8");
	CHECK_INT(msgrec_open_stored(copy, len, msglen, &r, &err), 0);
	CHECK_STR(r.s.subject, "a\xfft");
	CHECK_INT(r.nparts, 5);
	msgrec_close(&r);
	for (n = 0; n < len; n++) {
		err = NULL;
		CHECK_INT(msgrec_open_stored(copy, n, msglen, &r, &err), -1);
		CHECK(err != NULL);
	}
	CHECK_INT(msgrec_open_stored(copy, len, msglen + 1, &r, &err), -1);
	flips_stay_inside(msgrec_open_stored);
	free(copy);
}

/*
 * The shared corpus: every message parses into a record msgrec_decode
 * accepts with offsets inside the message, and the messages listed in
 * tests/mime/expected.tsv (checked by hand) have the fields written there.
 */
/* Checks one expectation line: file, subject, from, message-id, parts... */
static void
check_expected(const char *dir, char *line)
{
	char *f[9], *save = NULL, path[1024], *data;
	struct msgrec r;
	size_t len, n = 0;
	char *t;

	for (t = strtok_r(line, "\t\n", &save); t != NULL && n < 9;
	    t = strtok_r(NULL, "\t\n", &save))
		f[n++] = strcmp(t, "-") == 0 ? (char *)"" : t;
	if (n != 9) {
		harness_fail(__FILE__, __LINE__, "bad expectation line");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, f[0]);
	if ((data = harness_slurp(path, &len)) == NULL) {
		harness_fail(__FILE__, __LINE__, "cannot read %s", path);
		return;
	}
	if (parse_len(data, len, 0, &r) == 0) {
		if (strcmp(r.s.subject, f[1]) != 0 ||
		    strcmp(r.s.from, f[2]) != 0 ||
		    strcmp(r.s.message_id, f[3]) != 0)
			fprintf(stderr, "in %s\n", f[0]);
		CHECK_STR(r.s.subject, f[1]);
		CHECK_STR(r.s.from, f[2]);
		CHECK_STR(r.s.message_id, f[3]);
		if (r.nparts != strtoul(f[4], NULL, 10) ||
		    r.text_body.count != strtoul(f[5], NULL, 10) ||
		    r.html_body.count != strtoul(f[6], NULL, 10) ||
		    r.attachments.count != strtoul(f[7], NULL, 10) ||
		    r.s.has_attachment != (strcmp(f[8], "1") == 0))
			fprintf(stderr, "in %s\n", f[0]);
		CHECK_INT(r.nparts, strtoul(f[4], NULL, 10));
		CHECK_INT(r.text_body.count, strtoul(f[5], NULL, 10));
		CHECK_INT(r.html_body.count, strtoul(f[6], NULL, 10));
		CHECK_INT(r.attachments.count, strtoul(f[7], NULL, 10));
		CHECK_INT(r.s.has_attachment, strcmp(f[8], "1") == 0);
		msgrec_close(&r);
	}
	free(data);
}

/*
 * An obs-route (RFC 5322 4.4) is kept apart from the address: the record
 * gives it as the route, the addr-spec alone as the email, and the
 * parsed address list of a header (JMAP's) has no trace of it.
 */
TEST(source_route)
{
	static const char msg[] = "From: <@r1.example,@r2.example:u@d.example>"
	    ", Plain <p@d.example>\r\nTo: <@x:>\r\n\r\nbody\r\n";
	struct mime_address *v;
	struct msgrec_addr a;
	struct wire_iter it;
	struct msgrec r;
	size_t n;

	if (parse(msg, &r) != 0)
		return;
	wire_strlist_iter(&r.envs[0].addr[MSGREC_FROM], &it);
	CHECK(msgrec_addr_next(&it, &a));
	CHECK_STR(a.email, "u@d.example");
	CHECK(a.route != NULL && a.route_len == 23 &&
	    memcmp(a.route, "@r1.example,@r2.example", 23) == 0);
	CHECK(msgrec_addr_next(&it, &a));
	CHECK_STR(a.email, "p@d.example");
	CHECK(a.route == NULL && a.route_len == 0);
	CHECK(!msgrec_addr_next(&it, &a));
	/* A route without an address is not kept. */
	wire_strlist_iter(&r.envs[0].addr[MSGREC_TO], &it);
	while (msgrec_addr_next(&it, &a))
		CHECK(a.route == NULL);
	CHECK_STR(r.s.from, "u@d.example");
	msgrec_close(&r);
	v = mime_header_addresses("<@r1.example:u@d.example>", 25, &n);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_STR(v[0].email, "u@d.example");
	free(v);
}

TEST(corpus_expected)
{
	const char *dir = harness_corpus_dir();
	char line[2048];
	FILE *fp;
	int n = 0;

	if (dir == NULL) {
		harness_corpus_missing("../shared/mail-corpus");
		return;
	}
	if ((fp = fopen("tests/mime/expected.tsv", "r")) == NULL) {
		harness_fail(__FILE__, __LINE__,
		    "tests/mime/expected.tsv missing (run from the repo top)");
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		check_expected(dir, line);
		n++;
	}
	fclose(fp);
	CHECK(n >= 30);
}

/* msgsearch_match over [raw, raw + n) and over the whole, for one key. */
static void
same_answer(const struct msgrec *r, const char *raw, size_t len, size_t n,
    enum msgsearch_kind kind, const char *field, const char *needle,
    size_t nlen, const char *name)
{
	struct msgsearch_cache a, b;
	struct buf k = BUF_INIT;
	bool whole, part;

	(void)casemap_key(needle, nlen, &k);
	buf_append(&k, "", 1);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	whole = msgsearch_match(r, raw, len, kind, field, k.data, k.len - 1,
	    &a);
	part = msgsearch_match(r, raw, n, kind, field, k.data, k.len - 1, &b);
	if (whole != part)
		harness_fail(__FILE__, __LINE__, "%s: kind %d field %s: %d for "
		    "the whole, %d for its first %zu bytes", name, (int)kind,
		    field, whole, part, n);
	msgsearch_cache_clear(&a);
	msgsearch_cache_clear(&b);
	buf_clear(&k);
}

/*
 * What storaged reads of a big message for SEARCH (msgsearch_raw_needed,
 * msgsearch_header_end) answers every key as the whole message does: for
 * needles taken from the message's text part, its end and its header.
 */
static void
check_search_prefix(const struct msgrec *r, const char *raw, size_t len,
    const char *name)
{
	static const char *const fields[] = { "subject", "received",
	    "content-type", "x-none" };
	const struct msgrec_part *pt;
	const char *needles[4];
	size_t nlens[4], n, h, i, j;

	n = msgsearch_raw_needed(r, len);
	CHECK(n <= len);
	needles[0] = "the";
	nlens[0] = 3;
	needles[1] = raw + (len > 8 ? len - 8 : 0);
	nlens[1] = len > 8 ? 6 : len;
	needles[2] = raw;
	nlens[2] = len > 40 ? 12 : len;
	needles[3] = "";
	nlens[3] = 0;
	for (i = 0; i < r->nparts; i++) {
		pt = &r->parts[i];
		if (pt->type != NULL && strcmp(pt->type, "text") == 0 &&
		    pt->body_end >= pt->body_off + 24 && pt->body_end <= len) {
			needles[3] = raw + pt->body_off +
			    (pt->body_end - pt->body_off) / 2;
			nlens[3] = 10;
			break;
		}
	}
	for (i = 0; i < 4; i++) {
		same_answer(r, raw, len, n, MSGSEARCH_BODY, "", needles[i],
		    nlens[i], name);
		same_answer(r, raw, len, n, MSGSEARCH_TEXT, "", needles[i],
		    nlens[i], name);
		for (j = 0; j < sizeof(fields) / sizeof(fields[0]); j++)
			same_answer(r, raw, len, n, MSGSEARCH_HEADER,
			    fields[j], needles[i], nlens[i], name);
	}
	/* Without a record (HEADER alone): the header, if it ends. */
	if ((h = msgsearch_header_end(raw, len)) > 0) {
		CHECK(h <= len);
		CHECK(raw[h - 1] == '\n');
		for (i = 0; i < 4; i++)
			for (j = 0; j < sizeof(fields) / sizeof(fields[0]); j++)
				same_answer(NULL, raw, len, h, MSGSEARCH_HEADER,
				    fields[j], needles[i], nlens[i], name);
	}
}

TEST(corpus_all)
{
	const char *dir;
	char path[4096], name[2048], line[2048];
	struct timespec t0, t1;
	struct msgrec r;
	struct buf b = BUF_INIT;
	struct mime_msg *m;
	double secs = 0;
	size_t len, total = 0, files = 0, i;
	char *data;
	const char *err;
	FILE *fp;

	if ((fp = harness_corpus_manifest(&dir)) == NULL)
		return;
	while (harness_corpus_next(fp, line, sizeof(line))) {
		snprintf(name, sizeof(name), "%s", line);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if ((data = harness_slurp(path, &len)) == NULL) {
			harness_fail(__FILE__, __LINE__, "cannot read %s",
			    path);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		m = mime_parse(data, len);
		buf_reset(&b);
		msgrec_encode(m, 0, &b);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		(void)mime_msg_text(m, NULL);
		mime_msg_free(&m);
		secs += (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (msgrec_open(b.data, b.len, len, &r, &err) != 0) {
			harness_fail(__FILE__, __LINE__, "%s: %s", name, err);
		} else {
			for (i = 0; i < r.nparts; i++)
				CHECK(r.parts[i].body_end <= len);
			CHECK_INT(r.s.size, len);
			check_search_prefix(&r, data, len, name);
			msgrec_close(&r);
		}
		total += len;
		files++;
		free(data);
	}
	fclose(fp);
	buf_clear(&b);
	CHECK(files >= 1000);
	printf("corpus: %zu messages, %zu bytes, parse+encode %.1f MB/s\n",
	    files, total, secs > 0 ? (double)total / secs / 1e6 : 0.0);
}

/* A 2 MB message parses in linear time (a few milliseconds). */
TEST(large_message)
{
	struct buf b = BUF_INIT;
	struct timespec t0, t1;
	struct mime_msg *m;
	double ms;
	size_t i;

	buf_append(&b, "Subject: big\nContent-Type: multipart/mixed; "
	    "boundary=zz\n\n", 58);
	for (i = 0; b.len < (2u << 20); i++) {
		if (i % 1000 == 0)
			buf_append(&b, "--zz\nContent-Type: text/plain\n\n",
			    31);
		buf_append(&b, "line of text, not a boundary -- no\n", 35);
	}
	buf_append(&b, "--zz--\n", 7);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	m = mime_parse(b.data, b.len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("2 MB multipart: %.2f ms\n", ms);
	CHECK(ms < 1000);	/* generous: sanitizer builds are slow */
	mime_msg_free(&m);
	buf_clear(&b);
}

/* Inputs that would be quadratic in a naive parser stay fast. */
TEST(adversarial_headers)
{
	static const char *const unit[] = {
		"x=?a?b?",		/* encoded word starts without end */
		"[]",			/* RFC 5256 subj-blobs */
		"[fwd: ",		/* nested forwards */
		"Re: ",
	};
	static const char *const field[] = {
		"Subject: ", "Subject: ", "Subject: ", "Subject: ",
	};
	struct buf b = BUF_INIT;
	struct timespec t0, t1;
	struct mime_msg *m;
	double ms;
	size_t k;

	for (k = 0; k < 6; k++) {
		buf_reset(&b);
		if (k < 4)
			buf_append(&b, field[k], strlen(field[k]));
		else if (k == 4)
			buf_append(&b, "Content-Type: text/plain", 24);
		else
			buf_append(&b, "To: ", 4);
		while (b.len < (1u << 20)) {
			if (k < 4)
				buf_append(&b, unit[k], strlen(unit[k]));
			else if (k == 4)
				buf_append(&b, ";=\"\"", 4);
			else
				buf_append(&b, "a@b,<", 5);
		}
		buf_append(&b, "\n\nbody\n", 7);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		m = mime_parse(b.data, b.len);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		if (ms >= 2000)
			fprintf(stderr, "case %zu: %.0f ms\n", k, ms);
		CHECK(ms < 2000);
		buf_reset(&rec);
		msgrec_encode(m, 0, &rec);
		CHECK(rec.len > 0);
		mime_msg_free(&m);
	}
	buf_clear(&b);
}

TEST(header_lookup)
{
	const char *hdr = "Received: a\r\n\tb\r\nX-Tag: one\r\n"
	    "x-tag: =?utf-8?q?t=C3=A9?=\r\n  two \r\nSubject: s\r\n\r\n";
	struct buf out = BUF_INIT;
	const char *v;
	size_t n;

	CHECK(mime_header_find(hdr, strlen(hdr), "x-TAG", 0, &v, &n));
	CHECK_INT(n, 6);
	CHECK(memcmp(v, " one\r\n", 6) == 0);
	CHECK(mime_header_find(hdr, strlen(hdr), "X-Tag", 1, &v, &n));
	mime_header_text(v, n, &out);
	buf_append(&out, "", 1);
	CHECK_STR((const char *)out.data, "té  two");
	CHECK(!mime_header_find(hdr, strlen(hdr), "X-Tag", 2, &v, &n));
	CHECK(!mime_header_find(hdr, strlen(hdr), "X-Ta", 0, &v, &n));
	CHECK(!mime_header_find("A: b\n\nC: d\n", 11, "C", 0, &v, &n));
	CHECK(mime_header_find(hdr, strlen(hdr), "received", 0, &v, &n));
	CHECK_INT(n, 8);
	buf_clear(&out);
}

/*
 * The decoded size of base64 (counted 16 bytes at a time where SSE2 is)
 * is the length base64 decoding gives, for every kind of byte around the
 * alphabet's edges, at every alignment and length.
 */
TEST(base64_decoded_size)
{
	static const uint8_t pick[] = "AZaz09+/=\r\n \t@[`{.:-\x80\xff\x7f"
	    "\x00\x2a\x2c\x2e\x3a\x40\x5b\x60\x7b\xc1";
	struct buf out = BUF_INIT;
	uint8_t data[5000];
	uint32_t seed = 12345;
	size_t n, off, i, bad = 0;

	for (n = 0; n < 1000; n += n < 40 ? 1 : 37) {
		for (off = 0; off < 16; off += 5) {
			for (i = 0; i < n; i++) {
				seed = seed * 1103515245u + 12345u;
				/* Mostly the alphabet, some of anything. */
				data[off + i] = (seed >> 16) % 4 != 0 ?
				    (uint8_t)("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh"
				    "ijklmnopqrstuvwxyz0123456789+/")[(seed >>
				    8) % 64] : pick[(seed >> 8) %
				    (sizeof(pick) - 1)];
			}
			buf_reset(&out);
			mime_decode_b64(data + off, n, &out);
			if (mime_decoded_size(ME_BASE64, data + off, n) !=
			    out.len)
				bad++;
		}
	}
	CHECK_INT(bad, 0);
	/* 255 full rounds of 16 and more: the byte counters' limit. */
	memset(data, 'Q', 5000);
	CHECK_INT(mime_decoded_size(ME_BASE64, data, 5000), 3750);
	buf_clear(&out);
}

TEST(body_decoding)
{
	struct buf out = BUF_INIT;
	struct msgrec r;
	const struct msgrec_part *p;

	if (parse(alt_msg, &r) != 0)
		return;
	p = &r.parts[2];
	mime_body_text(p->encoding, p->charset, false, msgcopy + p->body_off,
	    p->body_end - p->body_off, &out);
	buf_append(&out, "", 1);
	CHECK_STR((const char *)out.data, "café olé");
	buf_reset(&out);
	p = &r.parts[3];
	mime_body_text(p->encoding, p->charset, true, msgcopy + p->body_off,
	    p->body_end - p->body_off, &out);
	buf_append(&out, "", 1);
	CHECK(strstr((const char *)out.data, "Hi& there") != NULL ||
	    strstr((const char *)out.data, "Hi&  there") != NULL);
	buf_reset(&out);
	p = &r.parts[4];
	mime_body_decode(p->encoding, msgcopy + p->body_off,
	    p->body_end - p->body_off, &out);
	CHECK_INT(out.len, p->decoded_size);
	CHECK(out.len == 9 && memcmp(out.data, "%PDF-1.4\n", 9) == 0);
	buf_reset(&out);
	mime_body_decode("x-unknown", "a=41", 4, &out);
	CHECK(out.len == 4 && memcmp(out.data, "a=41", 4) == 0);
	buf_reset(&out);
	mime_body_decode("quoted-printable", "a=41 \r\nb=\r\nc", 12, &out);
	CHECK(out.len == 6 && memcmp(out.data, "aA\r\nbc", 6) == 0);
	buf_clear(&out);
	msgrec_close(&r);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(simple_message),
	TEST_ENTRY(dates),
	TEST_ENTRY(encoded_words),
	TEST_ENTRY(raw_8bit_headers),
	TEST_ENTRY(base_subject),
	TEST_ENTRY(address_lists),
	TEST_ENTRY(multipart_tree),
	TEST_ENTRY(msg_text),
	TEST_ENTRY(related_and_inline),
	TEST_ENTRY(nested_message),
	TEST_ENTRY(nested_message_mbox_from),
	TEST_ENTRY(message_global),
	TEST_ENTRY(digest_default),
	TEST_ENTRY(line_endings),
	TEST_ENTRY(broken_structure),
	TEST_ENTRY(overlong_lines),
	TEST_ENTRY(limits),
	TEST_ENTRY(charsets),
	TEST_ENTRY(record_prefix),
	TEST_ENTRY(record_refusals),
	TEST_ENTRY(record_stored),
	TEST_ENTRY(source_route),
	TEST_ENTRY(corpus_expected),
	TEST_ENTRY(corpus_all),
	TEST_ENTRY(large_message),
	TEST_ENTRY(adversarial_headers),
	TEST_ENTRY(header_lookup),
	TEST_ENTRY(body_decoding),
	TEST_ENTRY(base64_decoded_size),
};

int
main(int argc, char **argv)
{
	int rc = harness_main(argc, argv, tests,
	    sizeof(tests) / sizeof(tests[0]));

	free(msgcopy);
	buf_clear(&rec);
	return rc;
}
