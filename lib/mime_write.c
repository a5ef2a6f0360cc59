/* SPDX-License-Identifier: ISC */
/*
 * mime_write.c: writing header fields and bodies of MIME messages (see
 * mime_write.h).
 */
#include "mime_write.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define MW_LINE		78	/* RFC 5322 2.1.1: SHOULD */
#define MW_WORD_MAX	75	/* RFC 2047 2: an encoded word */

static const char mw_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The column of the end of out: bytes since its last LF. */
static size_t
mw_col(const struct buf *out)
{
	size_t i = out->len;

	while (i > 0 && out->data[i - 1] != '\n')
		i--;
	return out->len - i;
}

static bool
mw_ascii_word(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return false;
	/* Text that looks like an encoded word must be encoded itself. */
	return !(n >= 2 && p[0] == '=' && p[1] == '?');
}

/* Appends a separator and a token, folding first if it would not fit. */
static void
mw_token(struct buf *out, const char *p, size_t n, bool first)
{
	if (!first) {
		if (mw_col(out) + 1 + n > MW_LINE)
			buf_append(out, "\r\n ", 3);
		else
			buf_append(out, " ", 1);
	}
	buf_append(out, p, n);
}

/* The length of the UTF-8 sequence that starts with byte c (1 if bad). */
static size_t
mw_utf8_len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/*
 * Encodes [p, p + n) as encoded words (=?UTF-8?B?...?=), each at most 75
 * characters and never splitting a UTF-8 sequence (RFC 2047 5 (3)).
 */
static void
mw_encoded_words(struct buf *out, const char *p, size_t n, bool first)
{
	char word[MW_WORD_MAX + 1];
	size_t i = 0, take, k, cl, wl;

	size_t room, max;

	while (i < n) {
		/*
		 * 12 bytes of "=?UTF-8?B?" and "?=": 63 left for base64, 45
		 * raw bytes, or what the rest of the line holds; a line with
		 * less room than one character's word folds first.
		 */
		room = MW_LINE - (mw_col(out) + 1 < MW_LINE ? mw_col(out) + 1 :
		    MW_LINE);
		if (room < 12 + 8) {
			buf_append(out, "\r\n ", 3);
			first = true;
			room = MW_LINE - 1;
		}
		max = (room - 12) / 4 * 3;
		if (max > 45)
			max = 45;
		take = 0;
		while (i + take < n) {
			cl = mw_utf8_len((unsigned char)p[i + take]);
			if (i + take + cl > n)
				cl = n - i - take;
			if (take + cl > max)
				break;
			take += cl;
		}
		if (take == 0)
			take = n - i < max ? n - i : max;
		wl = (size_t)snprintf(word, sizeof(word), "=?UTF-8?B?");
		for (k = 0; k < take; k += 3) {
			uint32_t v = (uint32_t)(unsigned char)p[i + k] << 16;

			if (k + 1 < take)
				v |= (uint32_t)(unsigned char)p[i + k + 1] << 8;
			if (k + 2 < take)
				v |= (unsigned char)p[i + k + 2];
			word[wl++] = mw_b64[v >> 18 & 63];
			word[wl++] = mw_b64[v >> 12 & 63];
			word[wl++] = k + 1 < take ? mw_b64[v >> 6 & 63] : '=';
			word[wl++] = k + 2 < take ? mw_b64[v & 63] : '=';
		}
		word[wl++] = '?';
		word[wl++] = '=';
		mw_token(out, word, wl, first);
		first = false;
		i += take;
	}
}

void
mime_write_text_field(struct buf *out, const char *name, const char *value)
{
	const char *p = value, *e, *run;
	bool first = true, enc;
	size_t n;

	buf_printf(out, "%s:", name);
	while (*p == ' ' || *p == '\t')
		p++;
	/*
	 * Runs of words that need encoding are encoded together: the space
	 * between two encoded words is not shown (RFC 2047 6.2), so it
	 * goes inside them.
	 */
	while (*p != '\0') {
		e = p + strcspn(p, " \t\r\n");
		n = (size_t)(e - p);
		enc = !mw_ascii_word((const unsigned char *)p, n);
		if (!enc) {
			if (first)
				buf_append(out, " ", 1);
			mw_token(out, p, n, first);
		} else {
			run = p;
			while (*e != '\0') {
				const char *q = e + strspn(e, " \t\r\n");
				const char *qe = q + strcspn(q, " \t\r\n");

				if (*q == '\0' || mw_ascii_word(
				    (const unsigned char *)q, (size_t)(qe - q)))
					break;
				e = qe;
			}
			if (first)
				buf_append(out, " ", 1);
			mw_encoded_words(out, run, (size_t)(e - run), first);
		}
		first = false;
		p = e + strspn(e, " \t\r\n");
	}
	buf_append(out, "\r\n", 2);
}

void
mime_write_raw_field(struct buf *out, const char *name, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;
	struct buf clean = BUF_INIT;
	const char *s, *e;
	bool first = true;
	size_t i;

	for (i = 0; p[i] != '\0'; i++) {
		char ch = p[i] == '\r' || p[i] == '\n' || p[i] == '\t' ? ' ' :
		    p[i] < 0x20 || p[i] > 0x7e ? '?' : (char)p[i];

		buf_append(&clean, &ch, 1);
	}
	buf_append(&clean, "", 1);
	buf_printf(out, "%s:", name);
	s = (const char *)clean.data;
	while (*s == ' ')
		s++;
	while (*s != '\0') {
		e = s + strcspn(s, " ");
		if (first)
			buf_append(out, " ", 1);
		mw_token(out, s, (size_t)(e - s), first);
		first = false;
		s = e + strspn(e, " ");
	}
	buf_append(out, "\r\n", 2);
	buf_clear(&clean);
}

/* RFC 5322 3.2.3 atext, and the specials a display name may hold. */
static bool
mw_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~ ", c) !=
	    NULL;
}

void
mime_write_mailbox(struct buf *out, const char *name, const char *email)
{
	const unsigned char *u = (const unsigned char *)name;
	bool ascii = true, atom = true;
	size_t i;

	if (name != NULL && name[0] != '\0') {
		for (i = 0; u[i] != '\0'; i++) {
			if (u[i] >= 0x80 || u[i] < 0x20)
				ascii = false;
			if (!mw_atext(u[i]))
				atom = false;
		}
		if (!ascii) {
			struct buf w = BUF_INIT;

			mw_encoded_words(&w, name, strlen(name), true);
			buf_append(out, w.data, w.len);
			buf_clear(&w);
		} else if (atom)
			buf_append(out, name, strlen(name));
		else {
			buf_append(out, "\"", 1);
			for (i = 0; u[i] != '\0'; i++) {
				if (u[i] == '"' || u[i] == '\\')
					buf_append(out, "\\", 1);
				buf_append(out, &u[i], 1);
			}
			buf_append(out, "\"", 1);
		}
		buf_printf(out, " <%s>", email != NULL ? email : "");
	} else
		buf_printf(out, "%s", email != NULL ? email : "");
}

void
mime_write_param(struct buf *out, const char *name, const char *value)
{
	const unsigned char *u = (const unsigned char *)value;
	bool ascii = true, token = u[0] != '\0';
	size_t i;

	for (i = 0; u[i] != '\0'; i++) {
		if (u[i] >= 0x7f || u[i] < 0x20)
			ascii = false;
		/* RFC 2045 5.1 tspecials, and space */
		if (u[i] <= 0x20 || u[i] >= 0x7f ||
		    strchr("()<>@,;:\\\"/[]?=", u[i]) != NULL)
			token = false;
	}
	if (token) {
		buf_printf(out, ";\r\n %s=%s", name, value);
		return;
	}
	if (ascii) {
		buf_printf(out, ";\r\n %s=\"", name);
		for (i = 0; u[i] != '\0'; i++) {
			if (u[i] == '"' || u[i] == '\\')
				buf_append(out, "\\", 1);
			buf_append(out, &u[i], 1);
		}
		buf_append(out, "\"", 1);
		return;
	}
	/*
	 * RFC 2231 4: charset'language'percent-encoded value, on one line
	 * (up to 998 octets are legal; continuations are not needed).
	 */
	buf_printf(out, ";\r\n %s*=utf-8''", name);
	for (i = 0; u[i] != '\0'; i++) {
		if (u[i] > 0x20 && u[i] < 0x7f && u[i] != '%' && u[i] != '\'' &&
		    u[i] != '*' && strchr("()<>@,;:\\\"/[]?=", u[i]) == NULL)
			buf_append(out, &u[i], 1);
		else
			buf_printf(out, "%%%02X", u[i]);
	}
}

void
mime_write_base64(struct buf *out, const void *p, size_t len)
{
	const unsigned char *u = p;
	char line[80];
	size_t i, k, n;

	for (i = 0; i < len; i += 57) {
		n = len - i < 57 ? len - i : 57;
		k = 0;
		for (size_t j = 0; j < n; j += 3) {
			uint32_t v = (uint32_t)u[i + j] << 16;

			if (j + 1 < n)
				v |= (uint32_t)u[i + j + 1] << 8;
			if (j + 2 < n)
				v |= u[i + j + 2];
			line[k++] = mw_b64[v >> 18 & 63];
			line[k++] = mw_b64[v >> 12 & 63];
			line[k++] = j + 1 < n ? mw_b64[v >> 6 & 63] : '=';
			line[k++] = j + 2 < n ? mw_b64[v & 63] : '=';
		}
		line[k++] = '\r';
		line[k++] = '\n';
		buf_append(out, line, k);
	}
}

void
mime_write_qp(struct buf *out, const void *p, size_t len)
{
	const unsigned char *u = p;
	size_t i, col = 0, need;
	char enc[4];
	bool lit, eol;

	for (i = 0; i < len; i++) {
		if (u[i] == '\r' && i + 1 < len && u[i + 1] == '\n')
			continue;
		if (u[i] == '\n') {
			buf_append(out, "\r\n", 2);
			col = 0;
			continue;
		}
		/* Whitespace before a line end is encoded (6.7 (3)). */
		eol = i + 1 == len || u[i + 1] == '\n' ||
		    (u[i + 1] == '\r' && i + 2 < len && u[i + 2] == '\n');
		lit = (u[i] >= 33 && u[i] <= 126 && u[i] != '=') ||
		    ((u[i] == ' ' || u[i] == '\t') && !eol);
		/* A line starting with "." or "From " is safer encoded. */
		if (col == 0 && (u[i] == '.' || (u[i] == 'F' && i + 5 <= len &&
		    memcmp(u + i, "From ", 5) == 0)))
			lit = false;
		need = lit ? 1 : 3;
		if (col + need > 75) {
			buf_append(out, "=\r\n", 3);
			col = 0;
		}
		if (lit)
			buf_append(out, &u[i], 1);
		else {
			snprintf(enc, sizeof(enc), "=%02X", u[i]);
			buf_append(out, enc, 3);
		}
		col += need;
	}
}

bool
mime_is_7bit(const void *p, size_t len)
{
	const unsigned char *u = p;
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		if (u[i] == 0 || u[i] >= 0x80)
			return false;
		if (u[i] == '\r' && (i + 1 == len || u[i + 1] != '\n'))
			return false;
		if (u[i] == '\n') {
			col = 0;
			continue;
		}
		if (++col > 998)
			return false;
	}
	return true;
}

void
mime_write_boundary(char *out, size_t size)
{
	uint8_t r[24];
	size_t i;

	randombytes_buf(r, sizeof(r));
	/* "=_" cannot occur in base64 or quoted-printable text lines. */
	snprintf(out, size, "=_");
	for (i = 0; i < sizeof(r) && 2 + 2 * i + 2 < size; i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", r[i]);
}
