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

#include <string.h>

#include <openssl/evp.h>

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
	if ((b0 & 0x70) != 0)
		return ws_fail(r, WS_CLOSE_PROTOCOL, "reserved bits set"), -1;
	r->op = b0 & 0x0f;
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
	if ((r->op & 0x8) == 0 && r->frag_op == 0)
		r->frag_op = r->op;
	buf_reset(&r->ctl);
	r->left = len;
	r->pos = 0;
	r->hdrlen = 0;
	r->in_payload = true;
	return 1;
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

void
ws_frame(struct buf *out, int opcode, const void *p, size_t len)
{
	uint8_t h[10];
	size_t n = 2, i;

	h[0] = 0x80 | (uint8_t)opcode;
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
