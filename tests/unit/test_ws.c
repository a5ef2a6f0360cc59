/* SPDX-License-Identifier: ISC */
/*
 * test_ws.c: the WebSocket frames of lib/ws.c (RFC 6455): the accept key
 * of the example in 1.3, masked frames of every length encoding read
 * whole and byte by byte, fragmented messages with a control frame
 * between fragments, each violation with its close code, and frames
 * written by the server read back.  Expected values by hand.
 */
/* unit-deps: */
#include "harness.h"
#include "buf.h"
#include "compat.h"
#include "ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A client frame: masked with a fixed key. */
static void
cframe(struct buf *b, int fin, int rsv, int op, const void *p, size_t n,
    int masked)
{
	static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	const uint8_t *s = p;
	uint8_t h[14];
	size_t hn = 2, i;

	h[0] = (uint8_t)((fin ? 0x80 : 0) | rsv << 4 | op);
	if (n < 126)
		h[1] = (uint8_t)n;
	else if (n <= 0xffff) {
		h[1] = 126;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hn = 4;
	} else {
		h[1] = 127;
		for (i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		hn = 10;
	}
	if (masked) {
		h[1] |= 0x80;
		memcpy(h + hn, key, 4);
		hn += 4;
	}
	buf_append(b, h, hn);
	for (i = 0; i < n; i++) {
		uint8_t c = masked ? s[i] ^ key[i & 3] : s[i];

		buf_append(b, &c, 1);
	}
}

/* Reads b whole, then byte by byte; both must give the same messages. */
static enum ws_result
read_all(struct buf *b, size_t max, char *msgs, size_t msgsize, int *code)
{
	struct ws_reader r;
	enum ws_result res = WS_MORE;
	size_t off, used, step, n = 0;
	char first[4096];
	int pass;

	first[0] = '\0';
	for (pass = 0; pass < 2; pass++) {
		ws_reader_init(&r, max);
		msgs[0] = '\0';
		n = 0;
		for (off = 0; off < b->len;) {
			step = pass == 0 ? b->len - off : 1;
			res = ws_read(&r, b->data + off, step, &used);
			off += used;
			if (res == WS_ERROR)
				break;
			if (res == WS_MESSAGE)
				n += (size_t)snprintf(msgs + n, msgsize - n,
				    "%d:%.*s;", r.opcode, (int)r.payload.len,
				    (const char *)r.payload.data);
			else if (used < step)
				harness_fail(__FILE__, __LINE__, "MORE but not "
				    "all used");
		}
		*code = res == WS_ERROR ? r.code : 0;
		ws_reader_clear(&r);
		if (pass == 0)
			strlcpy(first, msgs, sizeof(first));
		else
			CHECK_STR(first, msgs);
	}
	return res;
}

TEST(test_accept_key)
{
	char out[29];

	/* RFC 6455 1.3 */
	ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);
	CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(test_messages)
{
	struct buf b = BUF_INIT;
	char msgs[4096], big[70000];
	int code;

	cframe(&b, 1, 0, WS_OP_TEXT, "hello", 5, 1);
	cframe(&b, 0, 0, WS_OP_TEXT, "frag", 4, 1);
	cframe(&b, 1, 0, WS_OP_PING, "p", 1, 1);	/* between fragments */
	cframe(&b, 0, 0, WS_OP_CONT, "men", 3, 1);
	cframe(&b, 1, 0, WS_OP_CONT, "ted", 3, 1);
	cframe(&b, 1, 0, WS_OP_BINARY, "", 0, 1);
	cframe(&b, 1, 0, WS_OP_CLOSE, "\x03\xe8" "bye", 5, 1);
	CHECK_INT(read_all(&b, 1000, msgs, sizeof(msgs), &code), WS_MESSAGE);
	CHECK_STR(msgs, "1:hello;9:p;1:fragmented;2:;8:\x03\xe8" "bye;");
	/* 16- and 64-bit lengths. */
	buf_reset(&b);
	memset(big, 'a', sizeof(big));
	cframe(&b, 1, 0, WS_OP_TEXT, big, 300, 1);
	cframe(&b, 1, 0, WS_OP_TEXT, big, 70000, 1);
	CHECK_INT(read_all(&b, 100000, msgs, sizeof(msgs), &code),
	    WS_MESSAGE);
	CHECK(strncmp(msgs, "1:aaaa", 6) == 0);
	buf_clear(&b);
}

static int
fails(int fin, int rsv, int op, const char *p, size_t n, int masked,
    size_t max)
{
	struct buf b = BUF_INIT;
	char msgs[4096];
	int code = 0;

	cframe(&b, fin, rsv, op, p, n, masked);
	if (read_all(&b, max, msgs, sizeof(msgs), &code) != WS_ERROR)
		code = 0;
	buf_clear(&b);
	return code;
}

TEST(test_violations)
{
	struct buf b = BUF_INIT;
	char msgs[4096], big[200];
	int code;

	memset(big, 'x', sizeof(big));
	CHECK_INT(fails(1, 0, WS_OP_TEXT, "a", 1, 0, 100), WS_CLOSE_PROTOCOL);
	CHECK_INT(fails(1, 4, WS_OP_TEXT, "a", 1, 1, 100), WS_CLOSE_PROTOCOL);
	CHECK_INT(fails(1, 0, 3, "a", 1, 1, 100), WS_CLOSE_PROTOCOL);
	CHECK_INT(fails(0, 0, WS_OP_PING, "a", 1, 1, 100), WS_CLOSE_PROTOCOL);
	CHECK_INT(fails(1, 0, WS_OP_PING, big, 126, 1, 1000),
	    WS_CLOSE_PROTOCOL);
	CHECK_INT(fails(1, 0, WS_OP_CONT, "a", 1, 1, 100), WS_CLOSE_PROTOCOL);
	CHECK_INT(fails(1, 0, WS_OP_TEXT, big, 101, 1, 100), WS_CLOSE_TOO_BIG);
	CHECK_INT(fails(1, 0, WS_OP_TEXT, "\xc3\x28", 2, 1, 100),
	    WS_CLOSE_BAD_DATA);
	CHECK_INT(fails(1, 0, WS_OP_CLOSE, "\x03", 1, 1, 100),
	    WS_CLOSE_PROTOCOL);
	CHECK_INT(fails(1, 0, WS_OP_CLOSE, "\x03\xed", 2, 1, 100),
	    WS_CLOSE_PROTOCOL);			/* 1005 may not be sent */
	CHECK_INT(fails(1, 0, WS_OP_CLOSE, "\x03\xe8\xff", 3, 1, 100),
	    WS_CLOSE_BAD_DATA);
	/* A new message before the last one ended. */
	cframe(&b, 0, 0, WS_OP_TEXT, "a", 1, 1);
	cframe(&b, 1, 0, WS_OP_TEXT, "b", 1, 1);
	CHECK_INT(read_all(&b, 100, msgs, sizeof(msgs), &code), WS_ERROR);
	CHECK_INT(code, WS_CLOSE_PROTOCOL);
	/* Fragments over the limit together. */
	buf_reset(&b);
	cframe(&b, 0, 0, WS_OP_TEXT, big, 60, 1);
	cframe(&b, 1, 0, WS_OP_CONT, big, 60, 1);
	CHECK_INT(read_all(&b, 100, msgs, sizeof(msgs), &code), WS_ERROR);
	CHECK_INT(code, WS_CLOSE_TOO_BIG);
	/* A length in more bytes than it needs. */
	buf_reset(&b);
	buf_append(&b, "\x81\xfe\x00\x05" "abcd" "12345", 13);
	CHECK_INT(read_all(&b, 100, msgs, sizeof(msgs), &code), WS_ERROR);
	CHECK_INT(code, WS_CLOSE_PROTOCOL);
	buf_clear(&b);
}

TEST(test_writer)
{
	struct buf b = BUF_INIT;
	char big[70000];

	ws_frame(&b, WS_OP_TEXT, "hi", 2);
	CHECK_INT(b.len, 4);
	CHECK(memcmp(b.data, "\x81\x02hi", 4) == 0);
	buf_reset(&b);
	memset(big, 'z', sizeof(big));
	ws_frame(&b, WS_OP_BINARY, big, 300);
	CHECK(b.data[1] == 126 && b.data[2] == 1 && b.data[3] == 44);
	CHECK_INT(b.len, 304);
	buf_reset(&b);
	ws_frame(&b, WS_OP_TEXT, big, 70000);
	CHECK(b.data[1] == 127 && b.len == 70010);
	CHECK(b.data[7] == 0x01 && b.data[8] == 0x11 && b.data[9] == 0x70);
	buf_reset(&b);
	ws_close_frame(&b, WS_CLOSE_GOING_AWAY, "bye");
	CHECK(memcmp(b.data, "\x88\x05\x03\xe9" "bye", 7) == 0);
	buf_clear(&b);
}

TEST(test_deflate_accept)
{
	char resp[128];
	int bits;

	CHECK(!ws_deflate_accept(NULL, resp, sizeof(resp), &bits));
	CHECK(!ws_deflate_accept("", resp, sizeof(resp), &bits));
	CHECK(!ws_deflate_accept("x-webkit-deflate-frame", resp,
	    sizeof(resp), &bits));
	CHECK(ws_deflate_accept("permessage-deflate; client_max_window_bits",
	    resp, sizeof(resp), &bits));
	CHECK_STR(resp, "permessage-deflate; server_no_context_takeover; "
	    "client_no_context_takeover");
	CHECK_INT(bits, 15);
	CHECK(ws_deflate_accept("x-other, permessage-deflate;"
	    "server_max_window_bits=10 ; client_max_window_bits=12", resp,
	    sizeof(resp), &bits));
	CHECK_STR(resp, "permessage-deflate; server_no_context_takeover; "
	    "client_no_context_takeover; server_max_window_bits=10");
	CHECK_INT(bits, 10);
	CHECK(ws_deflate_accept("permessage-deflate; server_max_window_bits="
	    "\"9\"", resp, sizeof(resp), &bits));
	CHECK_INT(bits, 9);
	/* 7: declined offers, then one that is fine. */
	CHECK(!ws_deflate_accept("permessage-deflate; server_max_window_bits=8",
	    resp, sizeof(resp), &bits));
	CHECK(!ws_deflate_accept("permessage-deflate; server_max_window_bits="
	    "09", resp, sizeof(resp), &bits));
	CHECK(!ws_deflate_accept("permessage-deflate; server_max_window_bits",
	    resp, sizeof(resp), &bits));
	CHECK(!ws_deflate_accept("permessage-deflate; mystery", resp,
	    sizeof(resp), &bits));
	CHECK(!ws_deflate_accept("permessage-deflate; "
	    "server_no_context_takeover; server_no_context_takeover", resp,
	    sizeof(resp), &bits));
	CHECK(!ws_deflate_accept("permessage-deflate; "
	    "client_no_context_takeover=1", resp, sizeof(resp), &bits));
	CHECK(ws_deflate_accept("permessage-deflate; server_max_window_bits=16,"
	    " permessage-deflate", resp, sizeof(resp), &bits));
	CHECK_INT(bits, 15);
	CHECK_STR(resp, "permessage-deflate; server_no_context_takeover; "
	    "client_no_context_takeover");
}

/* A server frame masked as a client's, for the reader. */
static void
as_client(struct buf *in, struct buf *out)
{
	size_t hl = 2, n, i;

	if ((in->data[1] & 0x7f) == 126)
		hl = 4;
	else if ((in->data[1] & 0x7f) == 127)
		hl = 10;
	n = in->len - hl;
	buf_append(out, in->data, hl);
	out->data[out->len - hl + 1] |= 0x80;
	buf_append(out, "\x11\x22\x33\x44", 4);
	for (i = 0; i < n; i++) {
		uint8_t c = in->data[hl + i] ^ "\x11\x22\x33\x44"[i & 3];

		buf_append(out, &c, 1);
	}
}

TEST(test_deflate_round_trip)
{
	struct buf f = BUF_INIT, c = BUF_INIT;
	struct ws_reader r;
	char text[20000];
	size_t used, i;

	for (i = 0; i < sizeof(text); i++)
		text[i] = "{\"methodResponses\":[]} "[i % 24];
	ws_frame_deflate(&f, WS_OP_TEXT, text, sizeof(text), 15);
	CHECK((f.data[0] & 0x40) != 0);		/* RSV1: compressed */
	CHECK(f.len < 1000);
	as_client(&f, &c);
	ws_reader_init(&r, sizeof(text));
	r.deflate = true;
	CHECK_INT(ws_read(&r, c.data, c.len, &used), WS_MESSAGE);
	CHECK_INT(used, c.len);
	CHECK_INT(r.payload.len, sizeof(text));
	CHECK(memcmp(r.payload.data, text, sizeof(text)) == 0);
	ws_reader_clear(&r);
	/* One byte under the size: 1009. */
	ws_reader_init(&r, sizeof(text) - 1);
	r.deflate = true;
	CHECK_INT(ws_read(&r, c.data, c.len, &used), WS_ERROR);
	CHECK_INT(r.code, WS_CLOSE_TOO_BIG);
	ws_reader_clear(&r);
	/* Not agreed: RSV1 is a protocol error. */
	ws_reader_init(&r, sizeof(text));
	CHECK_INT(ws_read(&r, c.data, c.len, &used), WS_ERROR);
	CHECK_INT(r.code, WS_CLOSE_PROTOCOL);
	ws_reader_clear(&r);
	/* Garbage that says it is compressed: 1007. */
	buf_reset(&f);
	buf_reset(&c);
	cframe(&f, 1, 4, WS_OP_TEXT, "\xff\xff\xff", 3, 1);
	ws_reader_init(&r, 100);
	r.deflate = true;
	CHECK_INT(ws_read(&r, f.data, f.len, &used), WS_ERROR);
	CHECK_INT(r.code, WS_CLOSE_BAD_DATA);
	ws_reader_clear(&r);
	/* Short or incompressible: sent as it is. */
	buf_reset(&f);
	ws_frame_deflate(&f, WS_OP_TEXT, "ab", 2, 15);
	CHECK(memcmp(f.data, "\x81\x02" "ab", 4) == 0);
	buf_clear(&f);
	buf_clear(&c);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_accept_key),
	TEST_ENTRY(test_messages),
	TEST_ENTRY(test_violations),
	TEST_ENTRY(test_writer),
	TEST_ENTRY(test_deflate_accept),
	TEST_ENTRY(test_deflate_round_trip),
};

HARNESS_MAIN(tests)
