/* SPDX-License-Identifier: ISC */
/*
 * http_encode.c: content codings of jmapd's responses (see http_encode.h).
 * Accept-Encoding = #( codings [ weight ] ), weight = OWS ";" OWS "q="
 * qvalue, qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
 * (RFC 9110 12.5.3, 12.4.2).
 */
#include "http_encode.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#define HTTP_GZIP_LEVEL	5	/* JSON shrinks well at little cost */

/* The qvalue at p (after "q="), in thousandths; -1 if malformed. */
static int
http_qvalue(const char *p, size_t len)
{
	int q, scale = 100;
	size_t i;

	if (len == 0 || (p[0] != '0' && p[0] != '1'))
		return -1;
	q = (p[0] - '0') * 1000;
	if (len == 1)
		return q;
	if (p[1] != '.' || len > 5)
		return -1;
	for (i = 2; i < len; i++, scale /= 10) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		q += (p[i] - '0') * scale;
	}
	return q > 1000 ? -1 : q;
}

/* The weight of one member [p, p + len): 1000 without ";q=". */
static int
http_weight(const char *p, size_t len)
{
	const char *semi, *end = p + len;
	size_t n;

	if ((semi = memchr(p, ';', len)) == NULL)
		return 1000;
	for (p = semi + 1; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	if (end - p < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
		return 0;
	p += 2;
	for (n = (size_t)(end - p); n > 0 && (p[n - 1] == ' ' ||
	    p[n - 1] == '\t'); n--)
		;
	return http_qvalue(p, n) < 0 ? 0 : http_qvalue(p, n);
}

bool
http_accepts_gzip(const char *v)
{
	const char *p, *comma, *end;
	size_t len, tok;
	int gzip = -1, star = -1, w;

	if (v == NULL)
		return false;
	for (p = v; *p != '\0'; p = *comma != '\0' ? comma + 1 : comma) {
		if ((comma = strchr(p, ',')) == NULL)
			comma = p + strlen(p);
		while (p < comma && (*p == ' ' || *p == '\t'))
			p++;
		len = (size_t)(comma - p);
		end = memchr(p, ';', len);
		tok = end != NULL ? (size_t)(end - p) : len;
		while (tok > 0 && (p[tok - 1] == ' ' || p[tok - 1] == '\t'))
			tok--;
		w = http_weight(p, len);
		if ((tok == 4 && strncasecmp(p, "gzip", 4) == 0) ||
		    (tok == 6 && strncasecmp(p, "x-gzip", 6) == 0))
			gzip = w > gzip ? w : gzip;
		else if (tok == 1 && p[0] == '*')
			star = w;
	}
	if (gzip >= 0)
		return gzip > 0;
	return star > 0;
}

int
http_gzip(struct buf *out, const void *p, size_t len)
{
	z_stream z;
	size_t start = out->len, bound;
	int rc;

	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip header and trailer around deflate. */
	if (deflateInit2(&z, HTTP_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	bound = deflateBound(&z, (uLong)len) + 32;
	buf_reserve(out, bound);
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)len;
	z.next_out = buf_tail(out);
	z.avail_out = (uInt)bound;
	rc = deflate(&z, Z_FINISH);
	if (rc != Z_STREAM_END) {
		deflateEnd(&z);
		out->len = start;
		return -1;
	}
	buf_commit(out, bound - z.avail_out);
	deflateEnd(&z);
	return 0;
}
