/* SPDX-License-Identifier: ISC */
/*
 * imap_resp.c: the response writer (RFC 9051 7, 9): status lines,
 * continuation requests, and strings as atoms, quoted strings (with
 * quoted-specials escaped) or synchronizing literals.
 */
#include "imap_resp.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* --- Character classes (RFC 9051 9) --- */

/* atom-specials other than SP and CTL */
static const char imap_atom_specials[] = "(){%*\"\\]";

bool
imap_is_atom_char(uint8_t c)
{
	/* ATOM-CHAR = <any CHAR except atom-specials>; CHAR is 7-bit. */
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return memchr(imap_atom_specials, c, sizeof(imap_atom_specials) - 1)
	    == NULL;
}

bool
imap_is_astring_char(uint8_t c)
{
	/* ASTRING-CHAR = ATOM-CHAR / resp-specials */
	return c == ']' || imap_is_atom_char(c);
}

bool
imap_is_tag_char(uint8_t c)
{
	/* tag = 1*<any ASTRING-CHAR except "+"> */
	return c != '+' && imap_is_astring_char(c);
}

bool
imap_utf8_valid(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len;
	uint32_t cp, min;
	int n;

	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			n = 1;
			cp = *p & 0x1f;
			min = 0x80;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2;
			cp = *p & 0x0f;
			min = 0x800;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3;
			cp = *p & 0x07;
			min = 0x10000;
		} else
			return false;
		if (end - p <= n)
			return false;
		for (p++; n > 0; n--, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

void
imap_resp_untagged(struct buf *out)
{
	buf_append(out, "* ", 2);
}

void
imap_resp_tagged(struct buf *out, const char *tag)
{
	buf_append(out, tag, strlen(tag));
	buf_append(out, " ", 1);
}

bool
imap_resp_is_atom(const void *p, size_t len)
{
	const uint8_t *s = p;
	size_t i;

	/* "NIL" as an atom would read as nil where an nstring may stand. */
	if (len == 0 || (len == 3 && strncasecmp(p, "NIL", 3) == 0))
		return false;
	for (i = 0; i < len; i++)
		if (!imap_is_astring_char(s[i]))
			return false;
	return true;
}

/* Whether a word has a byte with the value of every byte of m. */
static inline uint64_t
has_byte(uint64_t w, uint64_t m)
{
	uint64_t x = w ^ m;

	return (x - UINT64_C(0x0101010101010101)) & ~x &
	    UINT64_C(0x8080808080808080);
}

/*
 * Whether the eight bytes at p are all plain inside DQUOTEs: ASCII and
 * none of NUL, CR, LF, DQUOTE, backslash.
 */
static inline bool
plain8(const uint8_t *p)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	uint64_t w;

	memcpy(&w, p, 8);
	return ((w & ones * 0x80) | has_byte(w, 0) | has_byte(w, ones * '\r') |
	    has_byte(w, ones * '\n') | has_byte(w, ones * '"') |
	    has_byte(w, ones * '\\')) == 0;
}

/*
 * A quoted string when the bytes can go inside DQUOTEs (QUOTED-CHAR
 * excludes CR, LF and NUL), else a literal.  One pass for the common
 * case: the bytes are copied into DQUOTEs as they are checked, and the copy is dropped for a literal if one turns out to
 * be needed (CR, LF, NUL, too long, or 8-bit where UTF-8 may not go).
 */
void
imap_resp_string(struct buf *out, const void *p, size_t len, unsigned flags)
{
	const uint8_t *s = p;
	uint8_t *d, *start;
	char hdr[32];
	size_t i, mark;
	bool eight = false;
	int n;

	if (len <= IMAP_RESP_QUOTED_MAX) {
		mark = out->len;
		buf_reserve(out, 2 * len + 2);
		start = d = buf_tail(out);
		*d++ = '"';
		for (i = 0; i < len; i++) {
			/* Runs of plain bytes, eight at a time. */
			while (i + 8 <= len && plain8(s + i)) {
				memcpy(d, s + i, 8);
				d += 8;
				i += 8;
			}
			if (i == len)
				break;
			if (s[i] >= 0x80)
				eight = true;
			else if (s[i] == '"' || s[i] == '\\')
				*d++ = '\\';
			else if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
				break;
			*d++ = s[i];
		}
		if (i == len && (!eight || ((flags & IMAP_RESP_UTF8) &&
		    imap_utf8_valid(s, len)))) {
			*d++ = '"';
			buf_commit(out, (size_t)(d - start));
			return;
		}
		out->len = mark;
	}
	/* Server literals are always synchronizing (RFC 9051 4.3). */
	n = snprintf(hdr, sizeof(hdr), "{%zu}\r\n", len);
	buf_append(out, hdr, (size_t)n);
	buf_append(out, s, len);
}

void
imap_resp_astring(struct buf *out, const void *p, size_t len, unsigned flags)
{
	if (imap_resp_is_atom(p, len))
		buf_append(out, p, len);
	else
		imap_resp_string(out, p, len, flags);
}

void
imap_resp_nstring(struct buf *out, const void *p, size_t len, unsigned flags)
{
	if (p == NULL)
		buf_append(out, "NIL", 3);
	else
		imap_resp_string(out, p, len, flags);
}

void
imap_resp_text(struct buf *out, const char *text)
{
	size_t i, start = 0;

	for (i = 0; text[i] != '\0'; i++) {
		if (text[i] != '\r' && text[i] != '\n')
			continue;
		buf_append(out, text + start, i - start);
		buf_append(out, " ", 1);
		start = i + 1;
	}
	buf_append(out, text + start, i - start);
}

void
imap_resp_status(struct buf *out, const char *tag, const char *cond,
    const char *code, const char *text)
{
	if (tag == NULL)
		imap_resp_untagged(out);
	else
		imap_resp_tagged(out, tag);
	imap_resp_token(out, cond);
	imap_resp_sp(out);
	if (code != NULL) {
		buf_append(out, "[", 1);
		imap_resp_text(out, code);
		buf_append(out, "] ", 2);
	}
	imap_resp_text(out, text);
	imap_resp_crlf(out);
}

void
imap_resp_continue(struct buf *out, const char *text)
{
	buf_append(out, "+ ", 2);
	imap_resp_text(out, text);
	imap_resp_crlf(out);
}
