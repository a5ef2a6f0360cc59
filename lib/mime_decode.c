/* SPDX-License-Identifier: ISC */
/*
 * mime_decode.c: the content transfer encodings of RFC 2045: base64 (6.8)
 * and quoted-printable (6.7), decoded leniently (RFC 2045 6.8: characters
 * outside the alphabet are ignored; a broken "=" escape is kept as it is;
 * a truncated base64 quantum yields the bytes it holds).
 */
#include "mime_int.h"

#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* base64 alphabet value of each byte, or -1. */
static const int8_t b64val[256] = {
	['A'] = 0, ['B'] = 1, ['C'] = 2, ['D'] = 3, ['E'] = 4, ['F'] = 5,
	['G'] = 6, ['H'] = 7, ['I'] = 8, ['J'] = 9, ['K'] = 10, ['L'] = 11,
	['M'] = 12, ['N'] = 13, ['O'] = 14, ['P'] = 15, ['Q'] = 16,
	['R'] = 17, ['S'] = 18, ['T'] = 19, ['U'] = 20, ['V'] = 21,
	['W'] = 22, ['X'] = 23, ['Y'] = 24, ['Z'] = 25, ['a'] = 26,
	['b'] = 27, ['c'] = 28, ['d'] = 29, ['e'] = 30, ['f'] = 31,
	['g'] = 32, ['h'] = 33, ['i'] = 34, ['j'] = 35, ['k'] = 36,
	['l'] = 37, ['m'] = 38, ['n'] = 39, ['o'] = 40, ['p'] = 41,
	['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45, ['u'] = 46,
	['v'] = 47, ['w'] = 48, ['x'] = 49, ['y'] = 50, ['z'] = 51,
	['0'] = 52, ['1'] = 53, ['2'] = 54, ['3'] = 55, ['4'] = 56,
	['5'] = 57, ['6'] = 58, ['7'] = 59, ['8'] = 60, ['9'] = 61,
	['+'] = 62, ['/'] = 63,
};

/* The table above marks valid bytes by their position; 'A' is 0. */
static bool
b64_is(uint8_t c)
{
	return b64val[c] != 0 || c == 'A';
}

/* The bytes of an incomplete quantum of n sextets in acc. */
static uint8_t *
b64_tail(uint8_t *o, uint32_t acc, int n)
{
	if (n == 2) {
		*o++ = (uint8_t)(acc >> 4);
	} else if (n == 3) {
		*o++ = (uint8_t)(acc >> 10);
		*o++ = (uint8_t)(acc >> 2);
	}
	return o;
}

void
mime_decode_b64(const uint8_t *p, size_t len, struct buf *out)
{
	uint32_t acc = 0;
	size_t i;
	uint8_t *o;
	int n = 0;

	buf_reserve(out, len / 4 * 3 + 4);
	o = buf_tail(out);
	for (i = 0; i < len; i++) {
		if (p[i] == '=') {
			/* Padding ends a quantum; more base64 may follow. */
			o = b64_tail(o, acc, n);
			n = 0;
			acc = 0;
			continue;
		}
		if (!b64_is(p[i]))
			continue;
		acc = acc << 6 | (uint32_t)b64val[p[i]];
		if (++n == 4) {
			*o++ = (uint8_t)(acc >> 16);
			*o++ = (uint8_t)(acc >> 8);
			*o++ = (uint8_t)acc;
			n = 0;
			acc = 0;
		}
	}
	o = b64_tail(o, acc, n);
	buf_commit(out, (size_t)(o - buf_tail(out)));
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Quoted-printable; in a header (RFC 2047 4.2) '_' is a space.  Trailing
 * white space on a line is dropped (RFC 2045 6.7 rule 3), "=" at the end
 * of a line is a soft line break.  Writes the decoded bytes at o, or only
 * counts them when o is NULL (BINARY.SIZE must be the exact size BINARY
 * sends, RFC 3516 4.2); returns their number.
 */
static size_t
mime_qp_run(const uint8_t *p, size_t len, bool header, uint8_t *o)
{
	size_t i, j, n = 0;
	uint8_t c;
	int h, l;

	for (i = 0; i < len; i++) {
		c = p[i];
		if (c == '=') {
			if (i + 2 < len + 0 && (h = hexval(p[i + 1])) >= 0 &&
			    (l = hexval(p[i + 2])) >= 0) {
				c = (uint8_t)(h << 4 | l);
				i += 2;
				goto put;
			}
			/* Soft break: "=" then optional blanks, CRLF/LF. */
			for (j = i + 1; j < len && (p[j] == ' ' ||
			    p[j] == '\t'); j++)
				;
			if (j == len) {
				i = j;
				continue;
			}
			if (p[j] == '\r' || p[j] == '\n') {
				if (p[j] == '\r' && j + 1 < len &&
				    p[j + 1] == '\n')
					j++;
				i = j;
				continue;
			}
			goto put;
		}
		if (c == ' ' || c == '\t') {
			for (j = i; j < len && (p[j] == ' ' || p[j] == '\t');
			    j++)
				;
			if (j == len || p[j] == '\r' || p[j] == '\n') {
				i = j - 1;
				continue;
			}
		}
		if (header && c == '_')
			c = ' ';
put:
		if (o != NULL)
			o[n] = c;
		n++;
	}
	return n;
}

void
mime_decode_qp(const uint8_t *p, size_t len, bool header, struct buf *out)
{
	buf_reserve(out, len + 1);
	buf_commit(out, mime_qp_run(p, len, header, buf_tail(out)));
}

void
mime_decode_body(enum mime_enc enc, const uint8_t *p, size_t len,
    struct buf *out)
{
	switch (enc) {
	case ME_BASE64:
		mime_decode_b64(p, len, out);
		break;
	case ME_QP:
		mime_decode_qp(p, len, false, out);
		break;
	default:
		buf_append(out, p, len);
		break;
	}
}

/* 1 for the bytes of the base64 alphabet (GNU range designators). */
static const uint8_t b64_alpha[256] = {
	['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['0' ... '9'] = 1,
	['+'] = 1, ['/'] = 1,
};

/*
 * Bytes of the base64 alphabet in n bytes: a table sum, no branches; with
 * SSE2, 16 bytes at a time (three times faster: the decoded size of every
 * base64 part of every delivered message is counted so).
 */
static uint64_t
b64_count(const uint8_t *p, size_t n)
{
	uint64_t k = 0;
	size_t i = 0;

#ifdef __SSE2__
	const __m128i flip = _mm_set1_epi8((char)0x80);
	__m128i v, s, m, acc, sum;
	size_t blk;

/* Bytes of s (biased by 0x80 for signed compares) in [lo, hi]. */
#define B64_IN(s, lo, hi)						\
	_mm_and_si128(_mm_cmpgt_epi8((s), _mm_set1_epi8((char)		\
	    (((lo) - 1) ^ 0x80))), _mm_cmplt_epi8((s), _mm_set1_epi8(	\
	    (char)(((hi) + 1) ^ 0x80))))
	while (n - i >= 16) {
		/* Byte counters take at most 255 rounds before summing. */
		acc = _mm_setzero_si128();
		for (blk = 0; blk < 255 && n - i >= 16; blk++, i += 16) {
			v = _mm_loadu_si128((const __m128i *)(p + i));
			s = _mm_xor_si128(v, flip);
			m = _mm_or_si128(_mm_or_si128(B64_IN(s, 'A', 'Z'),
			    B64_IN(s, 'a', 'z')), _mm_or_si128(B64_IN(s, '0',
			    '9'), _mm_or_si128(_mm_cmpeq_epi8(v,
			    _mm_set1_epi8('+')), _mm_cmpeq_epi8(v,
			    _mm_set1_epi8('/')))));
			acc = _mm_sub_epi8(acc, m);	/* -1 per match */
		}
		sum = _mm_sad_epu8(acc, _mm_setzero_si128());
		k += (uint64_t)_mm_cvtsi128_si32(sum) +
		    (uint64_t)_mm_extract_epi16(sum, 4);
	}
#undef B64_IN
#endif
	for (; i < n; i++)
		k += b64_alpha[p[i]];
	return k;
}

uint64_t
mime_decoded_size(enum mime_enc enc, const uint8_t *p, size_t len)
{
	uint64_t n = 0;
	size_t i;

	if (enc == ME_BASE64) {
		const uint8_t *e;
		uint64_t q;

		/* Each "=" ends a quantum, as in mime_decode_b64(). */
		while (len > 0) {
			e = memchr(p, '=', len);
			i = e == NULL ? len : (size_t)(e - p);
			q = b64_count(p, i);
			n += q / 4 * 3 + (q % 4 == 3 ? 2 : q % 4 == 2 ? 1 : 0);
			if (e == NULL)
				break;
			p += i + 1;
			len -= i + 1;
		}
		return n;
	}
	if (enc == ME_QP)
		return mime_qp_run(p, len, false, NULL);
	return len;
}
