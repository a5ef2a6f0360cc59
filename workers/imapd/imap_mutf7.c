/* SPDX-License-Identifier: ISC */
/*
 * imap_mutf7.c: modified UTF-7 mailbox names (RFC 3501 5.1.3) to and from
 * UTF-8 (RFC 3629), with the canonical-form checks described in
 * imap_mutf7.h.  Modified BASE64 is RFC 4648's alphabet with "," for "/"
 * and no "=" padding, over UTF-16BE (RFC 2781) code units.
 */
#include "imap_mutf7.h"

#include <stdbool.h>
#include <stdint.h>

static const char mutf7_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Bits waiting to be written as BASE64 digits, or read as UTF-16 units. */
struct mutf7_bits {
	uint32_t	 bits;
	int		 n;
};

/* Characters that stand for themselves: printable US-ASCII. */
static bool
mutf7_is_direct(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/*
 * Decodes the UTF-8 character at p (len > 0 bytes); returns its length,
 * or 0 if it is not well formed (overlong, surrogate, above U+10FFFF).
 */
static size_t
mutf7_utf8_next(const uint8_t *p, size_t len, uint32_t *cp)
{
	uint32_t c, min;
	size_t n, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static void
mutf7_utf8_put(struct buf *out, uint32_t c)
{
	uint8_t u[4];
	size_t n;

	if (c < 0x80) {
		u[0] = c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = 0xc0 | (c >> 6);
		u[1] = 0x80 | (c & 0x3f);
		n = 2;
	} else if (c < 0x10000) {
		u[0] = 0xe0 | (c >> 12);
		u[1] = 0x80 | ((c >> 6) & 0x3f);
		u[2] = 0x80 | (c & 0x3f);
		n = 3;
	} else {
		u[0] = 0xf0 | (c >> 18);
		u[1] = 0x80 | ((c >> 12) & 0x3f);
		u[2] = 0x80 | ((c >> 6) & 0x3f);
		u[3] = 0x80 | (c & 0x3f);
		n = 4;
	}
	buf_append(out, u, n);
}

static int
mutf7_b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* --- UTF-8 to modified UTF-7 --- */

/* Adds one UTF-16 unit to a shift, writing every complete digit. */
static void
mutf7_put_unit(struct buf *out, struct mutf7_bits *b, uint32_t unit)
{
	b->bits = (b->bits << 16) | unit;
	b->n += 16;
	while (b->n >= 6) {
		b->n -= 6;
		buf_append(out, &mutf7_b64[(b->bits >> b->n) & 0x3f], 1);
	}
	b->bits &= (1U << b->n) - 1;
}

/* Ends a shift: the last bits padded with zeros, then "-". */
static void
mutf7_end_shift(struct buf *out, struct mutf7_bits *b)
{
	if (b->n > 0)
		buf_append(out, &mutf7_b64[(b->bits << (6 - b->n)) & 0x3f], 1);
	buf_append(out, "-", 1);
	b->bits = 0;
	b->n = 0;
}

int
imap_mutf7_encode(struct buf *out, const void *p, size_t len,
    const char **error_r)
{
	const uint8_t *s = p;
	struct mutf7_bits b = { 0, 0 };
	size_t i = 0, n, start = out->len;
	bool shifted = false;
	uint32_t c;

	while (i < len) {
		if ((n = mutf7_utf8_next(s + i, len - i, &c)) == 0) {
			*error_r = "Invalid UTF-8 in mailbox name";
			goto fail;
		}
		if (c == 0) {
			*error_r = "NUL in mailbox name";
			goto fail;
		}
		i += n;
		if (mutf7_is_direct(c)) {
			if (shifted)
				mutf7_end_shift(out, &b);
			shifted = false;
			if (c == '&')
				buf_append(out, "&-", 2);
			else
				buf_append(out, s + i - 1, 1);
			continue;
		}
		if (!shifted)
			buf_append(out, "&", 1);
		shifted = true;
		if (c >= 0x10000) {
			c -= 0x10000;
			mutf7_put_unit(out, &b, 0xd800 | (c >> 10));
			mutf7_put_unit(out, &b, 0xdc00 | (c & 0x3ff));
		} else
			mutf7_put_unit(out, &b, c);
	}
	if (shifted)
		mutf7_end_shift(out, &b);
	return 0;
fail:
	out->len = start;
	return -1;
}

/* --- Modified UTF-7 to UTF-8 --- */

/*
 * Takes one UTF-16 unit of a shift; *high holds a high surrogate waiting
 * for its pair.  Returns NULL or why the unit is refused.
 */
static const char *
mutf7_take_unit(struct buf *out, uint32_t unit, uint32_t *high)
{
	if (*high != 0) {
		if (unit < 0xdc00 || unit > 0xdfff)
			return "Unpaired surrogate in mailbox name";
		mutf7_utf8_put(out, 0x10000 + ((*high - 0xd800) << 10) +
		    (unit - 0xdc00));
		*high = 0;
		return NULL;
	}
	if (unit >= 0xd800 && unit <= 0xdbff) {
		*high = unit;
		return NULL;
	}
	if (unit >= 0xdc00 && unit <= 0xdfff)
		return "Unpaired surrogate in mailbox name";
	if (unit == 0)
		return "NUL in mailbox name";
	/* "&" too: the encoder always writes it as "&-". */
	if (mutf7_is_direct(unit))
		return "Encoded US-ASCII character in mailbox name";
	mutf7_utf8_put(out, unit);
	return NULL;
}

/*
 * Decodes the shift at s[*i] (after its "&", not "&-") through its "-".
 * Returns NULL or why it is refused.
 */
static const char *
mutf7_decode_shift(struct buf *out, const uint8_t *s, size_t len, size_t *i)
{
	struct mutf7_bits b = { 0, 0 };
	uint32_t high = 0;
	size_t units = 0;
	const char *why;
	int v;

	for (;;) {
		if (*i == len)
			return "Unterminated shift in mailbox name";
		if (s[*i] == '-')
			break;
		if ((v = mutf7_b64_value(s[(*i)++])) == -1)
			return "Invalid modified BASE64 in mailbox name";
		b.bits = (b.bits << 6) | (uint32_t)v;
		b.n += 6;
		if (b.n < 16)
			continue;
		b.n -= 16;
		if ((why = mutf7_take_unit(out, (b.bits >> b.n) & 0xffff,
		    &high)) != NULL)
			return why;
		b.bits &= (1U << b.n) - 1;
		units++;
	}
	(*i)++;
	if (units == 0)
		return "Empty shift in mailbox name";
	if (high != 0)
		return "Unpaired surrogate in mailbox name";
	/* A whole digit of padding, or padding bits not zero. */
	if (b.n >= 6 || b.bits != 0)
		return "Bad padding in mailbox name";
	return NULL;
}

int
imap_mutf7_decode(struct buf *out, const void *p, size_t len,
    const char **error_r)
{
	const uint8_t *s = p;
	size_t i = 0, start = out->len;
	bool after_shift = false;

	while (i < len) {
		if (!mutf7_is_direct(s[i])) {
			*error_r = "Invalid character in mailbox name";
			goto fail;
		}
		if (s[i] != '&') {
			buf_append(out, s + i++, 1);
			after_shift = false;
			continue;
		}
		if (++i < len && s[i] == '-') {
			buf_append(out, "&", 1);
			i++;
			after_shift = false;
			continue;
		}
		/* "-&": two shifts in a row are one run, written as one. */
		if (after_shift) {
			*error_r = "Superfluous shift in mailbox name";
			goto fail;
		}
		if ((*error_r = mutf7_decode_shift(out, s, len, &i)) != NULL)
			goto fail;
		after_shift = true;
	}
	return 0;
fail:
	out->len = start;
	return -1;
}
