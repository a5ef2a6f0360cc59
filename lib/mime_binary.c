/* SPDX-License-Identifier: ISC */
/*
 * mime_binary.c: re-encodes the body parts of a message that hold NUL
 * octets in base64 (RFC 2045 6.8) so that IMAP can send the message (RFC
 * 3516 4.4; see mime_binary.h).  The parser (mime.c) gives each part's
 * header and body offsets; the message is copied with the bodies that
 * need it replaced, and their headers rewritten to match, as Dovecot's
 * binary converter does for APPEND of a literal8.
 */
#include "mime_binary.h"
#include "mime_int.h"

#include <string.h>
#include <strings.h>

/* RFC 2045 6.8: encoded lines of at most 76 characters. */
#define MIME_B64_LINE		76

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Appends len bytes at p in base64, CRLF between lines; the last line has
 * none (the CRLF before a boundary delimiter belongs to the delimiter).
 */
static void
mime_b64_append(struct buf *out, const uint8_t *p, size_t len)
{
	uint8_t q[4];
	uint32_t v;
	size_t i, n, col = 0;

	for (i = 0; i < len; i += 3) {
		n = len - i < 3 ? len - i : 3;
		v = (uint32_t)p[i] << 16;
		if (n > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (n > 2)
			v |= p[i + 2];
		q[0] = b64chars[(v >> 18) & 63];
		q[1] = b64chars[(v >> 12) & 63];
		q[2] = n > 1 ? b64chars[(v >> 6) & 63] : '=';
		q[3] = n > 2 ? b64chars[v & 63] : '=';
		if (col == MIME_B64_LINE) {
			buf_append(out, "\r\n", 2);
			col = 0;
		}
		buf_append(out, q, 4);
		col += 4;
	}
}

/* Does the field line at p (n bytes, no line end) name the CTE? */
static bool
mime_is_cte_field(const uint8_t *p, size_t n)
{
	static const char name[] = "content-transfer-encoding";
	size_t k = sizeof(name) - 1;

	if (n < k || strncasecmp((const char *)p, name, k) != 0)
		return false;
	while (k < n && (p[k] == ' ' || p[k] == '\t'))
		k++;
	return k < n && p[k] == ':';
}

/*
 * Appends the header block h (len bytes: the fields and the blank line
 * that ends them, if the part has one) without its Content-Transfer-
 * Encoding fields (folded lines included), with the field cte (a whole
 * line) in their place just before the blank line; a block without one
 * gets it after the fields, so that the body still starts after a blank
 * line.
 */
static void
mime_binary_header(struct buf *out, const uint8_t *h, size_t len,
    const char *cte)
{
	size_t i = 0, e, next, end;
	bool skip = false;

	while (i < len) {
		for (e = i; e < len && h[e] != '\n'; e++)
			;
		next = e < len ? e + 1 : len;
		end = e > i && h[e - 1] == '\r' ? e - 1 : e;
		if (end == i) {
			/* The blank line: the rest is the line itself. */
			buf_append(out, cte, strlen(cte));
			buf_append(out, h + i, len - i);
			return;
		}
		if (h[i] != ' ' && h[i] != '\t')
			skip = mime_is_cte_field(h + i, end - i);
		if (!skip)
			buf_append(out, h + i, next - i);
		i = next;
	}
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		buf_append(out, "\r\n", 2);
	buf_append(out, cte, strlen(cte));
	buf_append(out, "\r\n", 2);
}

/*
 * Whether part i can take base64: a leaf (no part inside it) that is not
 * a multipart (one without parts stays one), with an identity encoding.
 */
static bool
mime_binary_encodable(const struct mime_msg *m, uint32_t i)
{
	const struct mime_part *p = &m->parts[i];

	if (i + 1 < m->nparts && m->parts[i + 1].parent == i)
		return false;
	return p->enc == ME_IDENTITY && strcmp(p->type, "multipart") != 0;
}

enum mime_binary
mime_binary_encode(const void *data, size_t len, struct buf *out)
{
	const uint8_t *d = data;
	const struct mime_part *p;
	struct mime_msg *m;
	size_t start = out->len, at = 0;
	uint32_t i;
	bool stuck;

	if (len == 0 || memchr(d, '\0', len) == NULL)
		return MIME_BINARY_NONE;
	if ((m = mime_parse(d, len)) == NULL)
		return MIME_BINARY_STUCK;
	/* Pre-order: the leaves come in the order of their bytes. */
	for (i = 0; i < m->nparts; i++) {
		p = &m->parts[i];
		if (p->hdr_off < at || p->body_end <= p->body_off ||
		    !mime_binary_encodable(m, i) || memchr(d + p->body_off,
		    '\0', p->body_end - p->body_off) == NULL)
			continue;
		buf_append(out, d + at, p->hdr_off - at);
		mime_binary_header(out, d + p->hdr_off,
		    p->body_off - p->hdr_off,
		    "Content-Transfer-Encoding: base64\r\n");
		mime_b64_append(out, d + p->body_off,
		    p->body_end - p->body_off);
		/* The message's last line ends like the others. */
		if (p->body_end == len)
			buf_append(out, "\r\n", 2);
		at = p->body_end;
	}
	buf_append(out, d + at, len - at);
	mime_msg_free(&m);
	stuck = memchr(out->data + start, '\0', out->len - start) != NULL;
	return stuck ? MIME_BINARY_STUCK : MIME_BINARY_ENCODED;
}

bool
mime_binary_decode(const void *data, size_t len, struct buf *out)
{
	const uint8_t *d = data;
	const struct mime_part *p;
	struct mime_msg *m;
	size_t at = 0;
	uint32_t i;
	bool any = false;

	if (len == 0 || (m = mime_parse(d, len)) == NULL) {
		buf_append(out, d, len);
		return false;
	}
	/* Pre-order: the leaves come in the order of their bytes. */
	for (i = 0; i < m->nparts; i++) {
		p = &m->parts[i];
		if (p->hdr_off < at || p->body_end < p->body_off ||
		    p->body_end > len || (p->enc != ME_BASE64 &&
		    p->enc != ME_QP) || strcmp(p->type, "multipart") == 0 ||
		    (i + 1 < m->nparts && m->parts[i + 1].parent == i))
			continue;
		buf_append(out, d + at, p->hdr_off - at);
		mime_binary_header(out, d + p->hdr_off,
		    p->body_off - p->hdr_off,
		    "Content-Transfer-Encoding: binary\r\n");
		mime_decode_body(p->enc, d + p->body_off,
		    p->body_end - p->body_off, out);
		at = p->body_end;
		any = true;
	}
	buf_append(out, d + at, len - at);
	mime_msg_free(&m);
	return any;
}
