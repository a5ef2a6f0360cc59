/* SPDX-License-Identifier: ISC */
/*
 * ws.c: the WebSocket protocol on the server's side (see ws.h).  A frame
 * (RFC 6455 5.2) is read as its header (2 to 14 bytes, gathered across
 * calls), then its payload, unmasked as it comes (5.3) into the message
 * being assembled or the control frame's buffer.  Every violation of what
 * a client must send fails the connection with 1002, a text message that
 * is not UTF-8 with 1007, a message over the limit with 1009 (7.4.1).
 */
#include "ws.h"
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <zlib.h>

/* RFC 6455 1.3 */
#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void
ws_accept_key(const char *key, char out[29])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;

	out[0] = '\0';
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return;
	if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, key, strlen(key)) == 1 &&
	    EVP_DigestUpdate(ctx, WS_GUID, sizeof(WS_GUID) - 1) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 20)
		(void)EVP_EncodeBlock((unsigned char *)out, md, 20);
	EVP_MD_CTX_free(ctx);
}

void
ws_reader_init(struct ws_reader *r, size_t max_message)
{
	memset(r, 0, sizeof(*r));
	r->max_message = max_message;
	r->payload = (struct buf)BUF_INIT;
	r->frag = (struct buf)BUF_INIT;
	r->ctl = (struct buf)BUF_INIT;
}

void
ws_reader_clear(struct ws_reader *r)
{
	buf_clear(&r->payload);
	buf_clear(&r->frag);
	buf_clear(&r->ctl);
}

static enum ws_result
ws_fail(struct ws_reader *r, int code, const char *reason)
{
	r->code = code;
	r->reason = reason;
	return WS_ERROR;
}

/* Close codes a peer may send (RFC 6455 7.4.1, 7.4.2). */
static bool
ws_close_code_ok(int code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 &&
	    code <= 1011) || (code >= 3000 && code <= 4999);
}

/*
 * The header in r->hdr is complete when it returns 1 (the frame starts),
 * 0 when more bytes are needed, -1 on a violation (r->code set).
 */
static int
ws_header(struct ws_reader *r)
{
	uint8_t b0 = r->hdr[0], b1 = r->hdr[1];
	size_t ext, need, i;
	uint64_t len;

	if (r->hdrlen < 2)
		return 0;
	r->op = b0 & 0x0f;
	/* RFC 7692 6: RSV1 marks the first frame of a compressed message. */
	if ((b0 & 0x30) != 0 || ((b0 & 0x40) != 0 && (!r->deflate ||
	    (r->op != WS_OP_TEXT && r->op != WS_OP_BINARY))))
		return ws_fail(r, WS_CLOSE_PROTOCOL, "reserved bits set"), -1;
	r->fin = (b0 & 0x80) != 0;
	if (r->op != WS_OP_CONT && r->op != WS_OP_TEXT &&
	    r->op != WS_OP_BINARY && r->op != WS_OP_CLOSE &&
	    r->op != WS_OP_PING && r->op != WS_OP_PONG)
		return ws_fail(r, WS_CLOSE_PROTOCOL, "unknown opcode"), -1;
	/* 5.1: a client masks every frame. */
	if ((b1 & 0x80) == 0)
		return ws_fail(r, WS_CLOSE_PROTOCOL, "unmasked frame"), -1;
	len = b1 & 0x7f;
	/* 5.5: control frames are short and not fragmented. */
	if ((r->op & 0x8) != 0 && (!r->fin || len > 125))
		return ws_fail(r, WS_CLOSE_PROTOCOL, "bad control frame"), -1;
	ext = len == 126 ? 2 : len == 127 ? 8 : 0;
	need = 2 + ext + 4;
	if (r->hdrlen < need)
		return 0;
	if (ext > 0) {
		len = 0;
		for (i = 0; i < ext; i++)
			len = len << 8 | r->hdr[2 + i];
		/* 5.2: the most significant bit is 0; the fewest bytes. */
		if ((ext == 8 && (len >> 63) != 0) ||
		    (ext == 2 && len < 126) || (ext == 8 && len <= 0xffff))
			return ws_fail(r, WS_CLOSE_PROTOCOL, "bad payload "
			    "length"), -1;
	}
	memcpy(r->mask, r->hdr + 2 + ext, 4);
	if (r->op == WS_OP_CONT && r->frag_op == 0)
		return ws_fail(r, WS_CLOSE_PROTOCOL, "continuation of no "
		    "message"), -1;
	if ((r->op == WS_OP_TEXT || r->op == WS_OP_BINARY) && r->frag_op != 0)
		return ws_fail(r, WS_CLOSE_PROTOCOL, "a message began before "
		    "the last one ended"), -1;
	if ((r->op & 0x8) == 0 && len > r->max_message - r->frag.len)
		return ws_fail(r, WS_CLOSE_TOO_BIG, "message too big"), -1;
	if ((r->op & 0x8) == 0 && r->frag_op == 0) {
		r->frag_op = r->op;
		r->frag_z = (b0 & 0x40) != 0;
	}
	buf_reset(&r->ctl);
	r->left = len;
	r->pos = 0;
	r->hdrlen = 0;
	r->in_payload = true;
	return 1;
}

/*
 * Decompresses the message in r->payload (RFC 7692 7.2.2): the payload
 * and 0x00 0x00 0xff 0xff through inflate, no larger than the limit.
 */
static enum ws_result
ws_inflate(struct ws_reader *r)
{
	static const uint8_t tail[4] = { 0x00, 0x00, 0xff, 0xff };
	struct buf out = BUF_INIT, t;
	size_t room;
	z_stream z;
	int rc = Z_OK, pass;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK)
		return ws_fail(r, WS_CLOSE_BAD_DATA, "cannot decompress");
	for (pass = 0; pass < 2 && rc == Z_OK; pass++) {
		z.next_in = pass == 0 ? r->payload.data : (uint8_t *)tail;
		z.avail_in = pass == 0 ? (uInt)r->payload.len : 4;
		if (z.avail_in == 0)
			continue;
		for (;;) {
			/* One byte past the limit tells a message too big. */
			room = r->max_message + 1 - out.len;
			if (room > 64 * 1024)
				room = 64 * 1024;
			buf_reserve(&out, room);
			z.next_out = buf_tail(&out);
			z.avail_out = (uInt)room;
			rc = inflate(&z, Z_SYNC_FLUSH);
			buf_commit(&out, room - z.avail_out);
			if (out.len > r->max_message) {
				rc = Z_MEM_ERROR;
				break;
			}
			if (rc == Z_BUF_ERROR) {
				rc = Z_OK;	/* no progress: input used up */
				break;
			}
			if (rc != Z_OK || (z.avail_in == 0 && z.avail_out > 0))
				break;
		}
	}
	inflateEnd(&z);
	if (rc == Z_MEM_ERROR) {
		buf_clear(&out);
		return ws_fail(r, WS_CLOSE_TOO_BIG, "message too big");
	}
	if (rc != Z_OK && rc != Z_STREAM_END) {
		buf_clear(&out);
		return ws_fail(r, WS_CLOSE_BAD_DATA, "bad compressed data");
	}
	t = r->payload;
	r->payload = out;
	buf_clear(&t);
	return WS_MESSAGE;
}

/* The frame's payload is in: a message, or 0 to read on. */
static enum ws_result
ws_frame_end(struct ws_reader *r, bool *done)
{
	struct buf t;
	int code;

	*done = false;
	r->in_payload = false;
	if ((r->op & 0x8) != 0) {
		if (r->op == WS_OP_CLOSE && r->ctl.len > 0) {
			/* 5.5.1: a code of two bytes, then UTF-8. */
			if (r->ctl.len < 2)
				return ws_fail(r, WS_CLOSE_PROTOCOL, "bad close "
				    "frame");
			code = r->ctl.data[0] << 8 | r->ctl.data[1];
			if (!ws_close_code_ok(code))
				return ws_fail(r, WS_CLOSE_PROTOCOL, "bad close "
				    "code");
			if (!json_utf8_valid(r->ctl.data + 2, r->ctl.len - 2))
				return ws_fail(r, WS_CLOSE_BAD_DATA, "close "
				    "reason not UTF-8");
		}
		buf_reset(&r->payload);
		if (r->ctl.len > 0)
			buf_append(&r->payload, r->ctl.data, r->ctl.len);
		r->opcode = r->op;
		*done = true;
		return WS_MESSAGE;
	}
	if (!r->fin)
		return WS_MORE;
	t = r->payload;
	r->payload = r->frag;
	r->frag = t;
	buf_reset(&r->frag);
	r->opcode = r->frag_op;
	r->frag_op = 0;
	if (r->frag_z) {
		r->frag_z = false;
		if (ws_inflate(r) == WS_ERROR)
			return WS_ERROR;
	}
	if (r->opcode == WS_OP_TEXT && r->payload.len > 0 &&
	    !json_utf8_valid(r->payload.data, r->payload.len))
		return ws_fail(r, WS_CLOSE_BAD_DATA, "text not UTF-8");
	*done = true;
	return WS_MESSAGE;
}

enum ws_result
ws_read(struct ws_reader *r, const uint8_t *data, size_t len,
    size_t *consumed_r)
{
	enum ws_result res;
	struct buf *dst;
	size_t i = 0, n, k;
	bool done;
	int h;

	*consumed_r = 0;
	if (r->code != 0)
		return WS_ERROR;
	buf_reset(&r->payload);
	while (i < len || (r->in_payload && r->left == 0)) {
		if (!r->in_payload) {
			r->hdr[r->hdrlen++] = data[i++];
			if ((h = ws_header(r)) == -1)
				break;
			if (h == 0)
				continue;
		}
		if (r->left > 0) {
			n = len - i < r->left ? len - i : (size_t)r->left;
			dst = (r->op & 0x8) != 0 ? &r->ctl : &r->frag;
			buf_reserve(dst, n);
			for (k = 0; k < n; k++)
				buf_tail(dst)[k] = data[i + k] ^
				    r->mask[(r->pos + k) & 3];
			buf_commit(dst, n);
			i += n;
			r->left -= n;
			r->pos += n;
			if (r->left > 0)
				break;
		}
		res = ws_frame_end(r, &done);
		if (res == WS_ERROR || done) {
			*consumed_r = i;
			return res;
		}
	}
	*consumed_r = i;
	return r->code != 0 ? WS_ERROR : WS_MORE;
}

static void
ws_frame_rsv(struct buf *out, int opcode, bool rsv1, const void *p,
    size_t len)
{
	uint8_t h[10];
	size_t n = 2, i;

	h[0] = 0x80 | (rsv1 ? 0x40 : 0) | (uint8_t)opcode;
	if (len < 126)
		h[1] = (uint8_t)len;
	else if (len <= 0xffff) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		n = 4;
	} else {
		h[1] = 127;
		for (i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		n = 10;
	}
	buf_append(out, h, n);
	if (len > 0)
		buf_append(out, p, len);
}

void
ws_frame(struct buf *out, int opcode, const void *p, size_t len)
{
	ws_frame_rsv(out, opcode, false, p, len);
}

void
ws_frame_deflate(struct buf *out, int opcode, const void *p, size_t len,
    int window_bits)
{
	struct buf z = BUF_INIT;
	size_t bound;
	z_stream s;
	int rc;

	memset(&s, 0, sizeof(s));
	if (len == 0 || deflateInit2(&s, 5, Z_DEFLATED, -window_bits, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		ws_frame(out, opcode, p, len);
		return;
	}
	bound = deflateBound(&s, (uLong)len) + 16;
	buf_reserve(&z, bound);
	s.next_in = (Bytef *)(uintptr_t)p;
	s.avail_in = (uInt)len;
	s.next_out = buf_tail(&z);
	s.avail_out = (uInt)bound;
	/* 7.2.1: ends with an empty stored block, whose 4 bytes go. */
	rc = deflate(&s, Z_SYNC_FLUSH);
	buf_commit(&z, bound - s.avail_out);
	deflateEnd(&s);
	if (rc != Z_OK || s.avail_in != 0 || z.len < 4 || z.len - 4 >= len ||
	    memcmp(z.data + z.len - 4, "\x00\x00\xff\xff", 4) != 0)
		ws_frame(out, opcode, p, len);
	else
		ws_frame_rsv(out, opcode, true, z.data, z.len - 4);
	buf_clear(&z);
}

/* A window bits value: 1*DIGIT without leading zeroes, 8 to 15. */
static int
ws_bits(const char *v, size_t n)
{
	if (n == 0 || n > 2 || (n == 2 && v[0] == '0'))
		return -1;
	if (n == 1)
		return v[0] == '8' || v[0] == '9' ? v[0] - '0' : -1;
	if (v[0] != '1' || v[1] < '0' || v[1] > '5')
		return -1;
	return 10 + v[1] - '0';
}

/*
 * One offer [p, end): "permessage-deflate" and its parameters; the
 * server window to use, 0 to decline.
 */
static int
ws_deflate_offer(const char *p, const char *end)
{
	const char *q, *eq, *pe;
	size_t n, vn;
	unsigned seen = 0, bit;
	int bits = 15, b;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	n = strcspn(p, ";,");
	if (p + n > end)
		n = (size_t)(end - p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n != 18 || strncasecmp(p, "permessage-deflate", 18) != 0)
		return 0;
	for (q = p + strcspn(p, ";,"); q < end && *q == ';'; q = pe) {
		q++;
		if ((pe = memchr(q, ';', (size_t)(end - q))) == NULL)
			pe = end;
		while (q < pe && (*q == ' ' || *q == '\t'))
			q++;
		n = (size_t)(pe - q);
		while (n > 0 && (q[n - 1] == ' ' || q[n - 1] == '\t'))
			n--;
		eq = memchr(q, '=', n);
		vn = eq != NULL ? n - (size_t)(eq + 1 - q) : 0;
		if (eq != NULL)
			n = (size_t)(eq - q);
		if (eq != NULL && vn >= 2 && eq[1] == '"' && eq[vn] == '"') {
			eq++;		/* a quoted-string value */
			vn -= 2;
		}
#define WS_PARAM(name) (n == sizeof(name) - 1 && \
	strncasecmp(q, name, n) == 0)
		if (WS_PARAM("server_no_context_takeover") && eq == NULL)
			bit = 1;
		else if (WS_PARAM("client_no_context_takeover") && eq == NULL)
			bit = 2;
		else if (WS_PARAM("server_max_window_bits") && eq != NULL) {
			bit = 4;
			if ((b = ws_bits(eq + 1, vn)) < 0)
				return 0;
			bits = b;
		} else if (WS_PARAM("client_max_window_bits")) {
			bit = 8;
			if (eq != NULL && ws_bits(eq + 1, vn) < 0)
				return 0;
		} else
			return 0;	/* unknown, or a value it must not have */
#undef WS_PARAM
		if (seen & bit)
			return 0;	/* the same parameter twice */
		seen |= bit;
	}
	return bits < 9 ? 0 : bits;
}

bool
ws_deflate_accept(const char *offers, char *resp, size_t size, int *bits_r)
{
	const char *p, *end;
	int bits;

	resp[0] = '\0';
	*bits_r = 0;
	if (offers == NULL)
		return false;
	for (p = offers; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		if ((bits = ws_deflate_offer(p, end)) == 0)
			continue;
		*bits_r = bits;
		snprintf(resp, size, "permessage-deflate; "
		    "server_no_context_takeover; client_no_context_takeover%s",
		    bits < 15 ? "; server_max_window_bits=" : "");
		if (bits < 15)
			snprintf(resp + strlen(resp), size - strlen(resp), "%d",
			    bits);
		return true;
	}
	return false;
}

void
ws_close_frame(struct buf *out, int code, const char *reason)
{
	uint8_t p[125];
	size_t n = strlen(reason);

	if (n > sizeof(p) - 2)
		n = sizeof(p) - 2;
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	memcpy(p + 2, reason, n);
	ws_frame(out, WS_OP_CLOSE, p, n + 2);
}
