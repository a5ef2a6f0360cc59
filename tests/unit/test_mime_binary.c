/* SPDX-License-Identifier: ISC */
/*
 * test_mime_binary.c: binary content re-encoded for IMAP (mime_binary.h,
 * RFC 3516 4.4): a message without NUL is left alone; a body part with
 * NUL becomes base64 with its Content-Transfer-Encoding replaced, the
 * rest copied byte for byte; decoding the new part (as FETCH BINARY
 * does) gives back the octets sent; a NUL no body encoding can hold
 * (header, multipart preamble, a base64 body) is refused.  The other way
 * (mime_binary_decode, FETCH BINARY of a whole message): every base64 or
 * quoted-printable leaf decoded and marked "binary", the rest as it was,
 * and encoding then decoding gives back the message sent.
 */
#include "harness.h"
#include "mime.h"
#include "mime_binary.h"
#include "msgrec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parsed record of out, kept open in r (msgrec_close it). */
static int
open_record(const struct buf *out, struct buf *rec, struct msgrec *r)
{
	struct mime_msg *m;
	const char *err = NULL;

	m = mime_parse(out->data, out->len);
	CHECK(m != NULL);
	if (m == NULL)
		return -1;
	msgrec_encode(m, 0, rec);
	mime_msg_free(&m);
	if (msgrec_open(rec->data, rec->len, out->len, r, &err) != 0) {
		harness_fail(__FILE__, __LINE__, "msgrec_open: %s", err);
		return -1;
	}
	return 0;
}

/* Body of part i of the message in out, transfer-decoded, into dec. */
static void
decoded(const struct buf *out, const struct msgrec *r, uint32_t i,
    struct buf *dec)
{
	const struct msgrec_part *p = &r->parts[i];

	buf_reset(dec);
	mime_body_decode(p->encoding, out->data + p->body_off,
	    (size_t)(p->body_end - p->body_off), dec);
}

TEST(no_nul_is_left_alone)
{
	struct buf out = BUF_INIT;
	const char *msg = "Subject: x\r\nContent-Transfer-Encoding: binary\r\n"
	    "\r\n\xe4\xf6\xfc bytes\r\n";

	CHECK_INT(mime_binary_encode(msg, strlen(msg), &out),
	    MIME_BINARY_NONE);
	CHECK_INT(out.len, 0);
	CHECK_INT(mime_binary_encode("", 0, &out), MIME_BINARY_NONE);
	buf_clear(&out);
}

/* imaptest's append-binary message, as its script sends it. */
TEST(single_part)
{
	static const char msg[] =
	    "From: user@domain.org\r\n"
	    "Date: Sat, 24 Mar 2007 23:00:00 +0200\r\n"
	    "Mime-Version: 1.0\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: binary\r\n"
	    "\r\n"
	    "\0-\xe4\r\n\r\n";
	static const char want[] =
	    "From: user@domain.org\r\n"
	    "Date: Sat, 24 Mar 2007 23:00:00 +0200\r\n"
	    "Mime-Version: 1.0\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "AC3kDQoNCg==\r\n";
	struct buf out = BUF_INIT, rec = BUF_INIT, dec = BUF_INIT;
	struct msgrec r;

	CHECK_INT(mime_binary_encode(msg, sizeof(msg) - 1, &out),
	    MIME_BINARY_ENCODED);
	CHECK_INT(out.len, sizeof(want) - 1);
	CHECK(out.len == sizeof(want) - 1 &&
	    memcmp(out.data, want, out.len) == 0);
	if (open_record(&out, &rec, &r) == 0) {
		CHECK_STR(r.parts[0].encoding, "base64");
		CHECK_INT(r.parts[0].decoded_size, 7);
		decoded(&out, &r, 0, &dec);
		CHECK(dec.len == 7 && memcmp(dec.data, "\0-\xe4\r\n\r\n",
		    7) == 0);
		msgrec_close(&r);
	}
	buf_clear(&out);
	buf_clear(&rec);
	buf_clear(&dec);
}

/*
 * A multipart: only the part with a NUL changes; a folded CTE field goes
 * as a whole; a part without one gets one; long bodies wrap at 76.
 */
TEST(multipart_touches_only_binary_parts)
{
	struct buf msg = BUF_INIT, out = BUF_INIT, rec = BUF_INIT;
	struct buf dec = BUF_INIT, bin = BUF_INIT;
	struct msgrec r;
	const char *head, *text, *p;
	size_t i;

	for (i = 0; i < 300; i++) {
		uint8_t c = (uint8_t)(i * 7);

		buf_append(&bin, &c, 1);
	}
	head = "From: a@b\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	    "preamble\r\n--b1\r\n";
	text = "Content-Type: text/plain\r\n\r\nplain \xe4 text\r\n--b1\r\n";
	buf_append(&msg, head, strlen(head));
	buf_append(&msg, text, strlen(text));
	p = "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding:\r\n binary\r\n"
	    "X-After: kept\r\n\r\n";
	buf_append(&msg, p, strlen(p));
	buf_append(&msg, bin.data, bin.len);
	p = "\r\n--b1\r\nContent-Type: application/x-raw\r\n\r\n";
	buf_append(&msg, p, strlen(p));
	buf_append(&msg, "a\0b", 3);
	p = "\r\n--b1--\r\nepilogue\r\n";
	buf_append(&msg, p, strlen(p));

	CHECK_INT(mime_binary_encode(msg.data, msg.len, &out),
	    MIME_BINARY_ENCODED);
	/* What comes before the binary part is unchanged. */
	CHECK(out.len > strlen(head) + strlen(text) &&
	    memcmp(out.data, msg.data, strlen(head) + strlen(text)) == 0);
	CHECK(memmem(out.data, out.len, "binary", 6) == NULL);
	p = "Content-Type: application/octet-stream\r\nX-After: kept\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n";
	CHECK(memmem(out.data, out.len, p, strlen(p)) != NULL);
	CHECK(memmem(out.data, out.len, "\r\n--b1--\r\nepilogue\r\n", 20) !=
	    NULL);
	CHECK(memchr(out.data, '\0', out.len) == NULL);
	if (open_record(&out, &rec, &r) == 0) {
		CHECK_INT(r.nparts, 4);
		CHECK(r.parts[1].encoding == NULL);
		CHECK_STR(r.parts[2].encoding, "base64");
		CHECK_STR(r.parts[3].encoding, "base64");
		decoded(&out, &r, 1, &dec);
		/* The line end before a delimiter is the delimiter's. */
		CHECK(dec.len == 12 && memcmp(dec.data, "plain \xe4 text",
		    12) == 0);
		decoded(&out, &r, 2, &dec);
		CHECK_INT(dec.len, 300);
		CHECK(dec.len == 300 && memcmp(dec.data, bin.data, 300) == 0);
		/* 400 characters: 5 lines of 76 and one of 20. */
		CHECK_INT(r.parts[2].lines, 6);
		decoded(&out, &r, 3, &dec);
		CHECK(dec.len == 3 && memcmp(dec.data, "a\0b", 3) == 0);
		msgrec_close(&r);
	}
	buf_clear(&msg);
	buf_clear(&out);
	buf_clear(&rec);
	buf_clear(&dec);
	buf_clear(&bin);
}

/*
 * A part with an empty header gets the field before its blank line; one
 * that is all body (no blank line) gets a header and the blank line.
 */
TEST(part_without_header)
{
	static const char empty[] =
	    "Content-Type: multipart/mixed; boundary=x\r\n\r\n"
	    "--x\r\n\r\n\0\0\0\r\n--x--\r\n";
	static const char none[] =
	    "Content-Type: multipart/mixed; boundary=x\r\n\r\n"
	    "--x\r\n\0\0\0\r\n--x--\r\n";
	static const char want[] =
	    "Content-Type: multipart/mixed; boundary=x\r\n\r\n"
	    "--x\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n"
	    "--x--\r\n";
	struct buf out = BUF_INIT;

	CHECK_INT(mime_binary_encode(empty, sizeof(empty) - 1, &out),
	    MIME_BINARY_ENCODED);
	CHECK(out.len == sizeof(want) - 1 &&
	    memcmp(out.data, want, out.len) == 0);
	buf_reset(&out);
	CHECK_INT(mime_binary_encode(none, sizeof(none) - 1, &out),
	    MIME_BINARY_ENCODED);
	CHECK(out.len == sizeof(want) - 1 &&
	    memcmp(out.data, want, out.len) == 0);
	buf_clear(&out);
}

/* A NUL where no body encoding can take it. */
TEST(stuck)
{
	static const char hdr[] = "Subject: a\0b\r\n\r\nbody\r\n";
	static const char pre[] =
	    "Content-Type: multipart/mixed; boundary=x\r\n\r\n"
	    "pre\0amble\r\n--x\r\n\r\nbody\r\n--x--\r\n";
	static const char b64[] = "Content-Transfer-Encoding: base64\r\n\r\n"
	    "QUJD\0\r\n";
	struct buf out = BUF_INIT;

	CHECK_INT(mime_binary_encode(hdr, sizeof(hdr) - 1, &out),
	    MIME_BINARY_STUCK);
	buf_reset(&out);
	CHECK_INT(mime_binary_encode(pre, sizeof(pre) - 1, &out),
	    MIME_BINARY_STUCK);
	buf_reset(&out);
	CHECK_INT(mime_binary_encode(b64, sizeof(b64) - 1, &out),
	    MIME_BINARY_STUCK);
	buf_clear(&out);
}

static const char coded[] =
    "From: a@example.org\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=zz\r\n"
    "\r\n"
    "pre\r\n"
    "--zz\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "plain stays\r\n"
    "--zz\r\n"
    "Content-Transfer-Encoding: Base64\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n"
    "aGVsbG8gd29ybGQ=\r\n"
    "--zz\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "a=3Db=\r\n"
    "c\r\n"
    "--zz--\r\n";

static const char plain_want[] =
    "From: a@example.org\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=zz\r\n"
    "\r\n"
    "pre\r\n"
    "--zz\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "plain stays\r\n"
    "--zz\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "hello world"
    "\r\n--zz\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "a=bc"
    "\r\n--zz--\r\n";

TEST(decode_leaves)
{
	struct buf out = BUF_INIT, enc = BUF_INIT, back = BUF_INIT;
	static const char bin[] = "Content-Type: application/x-b\r\n\r\n"
	    "a\0b\r\n";

	CHECK(mime_binary_decode(coded, sizeof(coded) - 1, &out));
	CHECK_INT(out.len, sizeof(plain_want) - 1);
	CHECK(out.len == sizeof(plain_want) - 1 &&
	    memcmp(out.data, plain_want, out.len) == 0);
	/* Nothing to decode: the same bytes, and false. */
	buf_reset(&out);
	CHECK(!mime_binary_decode(plain_want, sizeof(plain_want) - 1, &out));
	CHECK(out.len == sizeof(plain_want) - 1 &&
	    memcmp(out.data, plain_want, out.len) == 0);
	/* What APPEND of a literal8 encodes comes back as it was sent. */
	CHECK_INT(mime_binary_encode(bin, sizeof(bin) - 1, &enc),
	    MIME_BINARY_ENCODED);
	CHECK(mime_binary_decode(enc.data, enc.len, &back));
	CHECK(memchr(back.data, '\0', back.len) != NULL);
	CHECK(back.len >= 5 && memcmp(back.data + back.len - 5, "a\0b\r\n",
	    5) == 0);
	buf_clear(&out);
	buf_clear(&enc);
	buf_clear(&back);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(no_nul_is_left_alone),
	TEST_ENTRY(single_part),
	TEST_ENTRY(multipart_touches_only_binary_parts),
	TEST_ENTRY(part_without_header),
	TEST_ENTRY(stuck),
	TEST_ENTRY(decode_leaves),
};

HARNESS_MAIN(tests)
