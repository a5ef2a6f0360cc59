/* SPDX-License-Identifier: ISC */
/*
 * casemap.c: i;unicode-casemap keys (RFC 5051; see casemap.h), with
 * libunistring's titlecase and decomposition tables: Unicode's own data,
 * kept current by Debian, rather than tables of ours.
 */
#include "casemap.h"

#include <stdint.h>

#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

/* Decompositions nest a few levels deep; this bounds the recursion. */
#define CASEMAP_DEPTH	8

static void
casemap_put(ucs4_t c, struct buf *out)
{
	uint8_t u[6];
	int n;

	if ((n = u8_uctomb(u, c, sizeof(u))) > 0)
		buf_append(out, u, (size_t)n);
}

/* Step (2)(b): every decomposition, of any type, until none is left. */
static void
casemap_decompose(ucs4_t c, int depth, struct buf *out)
{
	ucs4_t d[UC_DECOMPOSITION_MAX_LENGTH];
	int tag, n, i;

	if (depth >= CASEMAP_DEPTH ||
	    (n = uc_decomposition(c, &tag, d)) <= 0) {
		casemap_put(c, out);
		return;
	}
	for (i = 0; i < n; i++)
		casemap_decompose(d[i], depth + 1, out);
}

bool
casemap_key(const char *s, size_t len, struct buf *out)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + len;
	size_t start = out->len;
	ucs4_t c;
	int n;

	while (p < end) {
		/*
		 * A run of ASCII, in one piece: titlecase of a-z is A-Z, and
		 * nothing decomposes.
		 */
		if (*p < 0x80) {
			const uint8_t *q = p;
			uint8_t *d;
			size_t i, run;

			while (q < end && *q < 0x80)
				q++;
			run = (size_t)(q - p);
			buf_reserve(out, run);
			d = buf_tail(out);
			for (i = 0; i < run; i++)
				d[i] = p[i] >= 'a' && p[i] <= 'z' ?
				    (uint8_t)(p[i] - 'a' + 'A') : p[i];
			buf_commit(out, run);
			p = q;
			continue;
		}
		if ((n = u8_mbtoucr(&c, p, (size_t)(end - p))) <= 0) {
			/* Not UTF-8: the string unchanged, compared as octets. */
			out->len = start;
			buf_append(out, s, len);
			return false;
		}
		casemap_decompose(uc_totitle(c), 0, out);
		p += n;
	}
	return true;
}
