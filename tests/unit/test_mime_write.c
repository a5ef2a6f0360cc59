/* SPDX-License-Identifier: ISC */
/*
 * test_mime_write.c: lib/mime_write.c, checked against the readers of
 * lib/mime.h: what is written decodes back to what was given, and every
 * line stays within the limits of RFC 5322 2.1.1.
 */
#include "harness.h"
#include "buf.h"
#include "mime.h"
#include "mime_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* The longest line of b (without CRLF), and whether all end in CRLF. */
static size_t
longest(const struct buf *b, bool *crlf)
{
	size_t i, col = 0, max = 0;

	*crlf = true;
	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '\n') {
			if (i == 0 || b->data[i - 1] != '\r')
				*crlf = false;
			if (col - 1 > max)
				max = col - 1;
			col = 0;
			continue;
		}
		col++;
	}
	return col > max ? col : max;
}

/* The value of field b ("Name: value\r\n") as asText reads it. */
static void
as_text(const struct buf *b, struct buf *out)
{
	const char *colon = memchr(b->data, ':', b->len);

	buf_reset(out);
	mime_header_text(colon + 1, b->len - (size_t)(colon + 1 -
	    (const char *)b->data), out);
	buf_append(out, "", 1);
}

TEST(text_field_round_trip)
{
	static const char *const v[] = {
		"Lunch on Friday?",
		"Caf\xc3\xa9 au lait \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8"
		"\xaa\x9e and more words after it",
		"=?UTF-8?B?not-really?= an encoded word typed by hand",
		"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
		"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
		"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
		"\xf0\x9f\x98\x80\xf0\x9f\x98\x80 emoji",
		"a very long subject line that goes on and on well past the "
		"seventy-eight columns a header line should keep to, in ASCII",
	};
	struct buf b = BUF_INIT, t = BUF_INIT;
	bool crlf;
	size_t i, k;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		buf_reset(&b);
		mime_write_text_field(&b, "Subject", v[i]);
		CHECK(longest(&b, &crlf) <= 78);
		CHECK(crlf);
		for (k = 0; k < b.len; k++)
			CHECK(b.data[k] < 0x80);
		as_text(&b, &t);
		CHECK_STR((const char *)t.data, v[i]);
	}
	buf_clear(&b);
	buf_clear(&t);
}

TEST(raw_field_cannot_break_the_header)
{
	struct buf b = BUF_INIT;

	mime_write_raw_field(&b, "In-Reply-To", "<a@b>\r\nBcc: x@y \xff");
	buf_append(&b, "", 1);
	CHECK_STR((const char *)b.data, "In-Reply-To: <a@b> Bcc: x@y ?\r\n");
	buf_clear(&b);
}

TEST(mailboxes)
{
	struct buf b = BUF_INIT, t = BUF_INIT;

	mime_write_mailbox(&b, "Joe Q. Public", "joe@example.com");
	buf_append(&b, "", 1);
	CHECK_STR((const char *)b.data, "\"Joe Q. Public\" <joe@example.com>");
	buf_reset(&b);
	mime_write_mailbox(&b, "Ann", "ann@example.com");
	buf_append(&b, "", 1);
	CHECK_STR((const char *)b.data, "Ann <ann@example.com>");
	buf_reset(&b);
	mime_write_mailbox(&b, NULL, "x@example.com");
	buf_append(&b, "", 1);
	CHECK_STR((const char *)b.data, "x@example.com");
	buf_reset(&b);
	mime_write_mailbox(&b, "Say \"hi\"", "s@example.com");
	buf_append(&b, "", 1);
	CHECK_STR((const char *)b.data, "\"Say \\\"hi\\\"\" <s@example.com>");
	buf_reset(&b);
	buf_append(&b, "From: ", 6);
	mime_write_mailbox(&b, "J\xc3\xbcrgen", "j@example.de");
	as_text(&b, &t);
	CHECK_STR((const char *)t.data, "J\xc3\xbcrgen <j@example.de>");
	buf_clear(&b);
	buf_clear(&t);
}

TEST(params)
{
	struct buf b = BUF_INIT;

	mime_write_param(&b, "charset", "utf-8");
	mime_write_param(&b, "name", "my file.txt");
	mime_write_param(&b, "filename", "r\xc3\xa9sum\xc3\xa9 1.pdf");
	buf_append(&b, "", 1);
	CHECK_STR((const char *)b.data, ";\r\n charset=utf-8"
	    ";\r\n name=\"my file.txt\""
	    ";\r\n filename*=utf-8''r%C3%A9sum%C3%A9%201.pdf");
	buf_clear(&b);
}

TEST(base64_round_trip)
{
	struct buf b = BUF_INIT, d = BUF_INIT;
	unsigned char data[4099];
	size_t n;
	bool crlf;

	randombytes_buf(data, sizeof(data));
	for (n = 0; n <= sizeof(data); n += n < 70 ? 1 : 997) {
		buf_reset(&b);
		buf_reset(&d);
		mime_write_base64(&b, data, n);
		CHECK(longest(&b, &crlf) <= 76);
		CHECK(crlf);
		mime_body_decode("base64", b.data, b.len, &d);
		CHECK_INT(d.len, n);
		CHECK(n == 0 || memcmp(d.data, data, n) == 0);
	}
	buf_clear(&b);
	buf_clear(&d);
}

TEST(qp_round_trip)
{
	static const char *const v[] = {
		"plain text\r\nwith two lines\r\n",
		"trailing space \r\nand tab\t\r\n",
		"=3D equals and caf\xc3\xa9\r\n",
		".\r\nFrom the start\r\n",
		"no final line end",
	};
	struct buf b = BUF_INIT, d = BUF_INIT, in = BUF_INIT;
	bool crlf;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		buf_reset(&b);
		buf_reset(&d);
		mime_write_qp(&b, v[i], strlen(v[i]));
		CHECK(longest(&b, &crlf) <= 76);
		mime_body_decode("quoted-printable", b.data, b.len, &d);
		buf_append(&d, "", 1);
		CHECK_STR((const char *)d.data, v[i]);
	}
	/* A long line of one repeated byte, soft breaks every 75. */
	for (i = 0; i < 500; i++)
		buf_append(&in, i % 7 == 0 ? "\xc3\xa9" : "x", i % 7 == 0 ? 2 :
		    1);
	buf_reset(&b);
	buf_reset(&d);
	mime_write_qp(&b, in.data, in.len);
	CHECK(longest(&b, &crlf) <= 76);
	mime_body_decode("quoted-printable", b.data, b.len, &d);
	CHECK_INT(d.len, in.len);
	CHECK(memcmp(d.data, in.data, in.len) == 0);
	/* LF alone becomes CRLF. */
	buf_reset(&b);
	mime_write_qp(&b, "a\nb\n", 4);
	buf_append(&b, "", 1);
	CHECK_STR((const char *)b.data, "a\r\nb\r\n");
	buf_clear(&b);
	buf_clear(&d);
	buf_clear(&in);
}

TEST(seven_bit)
{
	char longline[1200];

	CHECK(mime_is_7bit("hello\r\nworld\r\n", 14));
	CHECK(!mime_is_7bit("caf\xc3\xa9", 5));
	CHECK(!mime_is_7bit("a\rb", 3));
	CHECK(!mime_is_7bit("a\0b", 3));
	memset(longline, 'x', sizeof(longline));
	CHECK(!mime_is_7bit(longline, sizeof(longline)));
	CHECK(mime_is_7bit(longline, 998));
}

TEST(boundaries_differ)
{
	char a[64], b[64];

	mime_write_boundary(a, sizeof(a));
	mime_write_boundary(b, sizeof(b));
	CHECK_INT(strlen(a), 50);
	CHECK(strcmp(a, b) != 0);
	CHECK(strncmp(a, "=_", 2) == 0);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(text_field_round_trip),
	TEST_ENTRY(raw_field_cannot_break_the_header),
	TEST_ENTRY(mailboxes),
	TEST_ENTRY(params),
	TEST_ENTRY(base64_round_trip),
	TEST_ENTRY(qp_round_trip),
	TEST_ENTRY(seven_bit),
	TEST_ENTRY(boundaries_differ),
};

HARNESS_MAIN(tests)
