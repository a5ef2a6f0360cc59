/* SPDX-License-Identifier: ISC */
/*
 * charset.c: charset conversion to UTF-8 with iconv descriptors opened once
 * before confinement (see charset.h), and the windows-1252 fallback that
 * keeps every byte of text in an unknown or wrongly declared charset.
 */
#include "charset.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

/* How text in a charset is converted. */
enum charset_kind {
	CS_UTF8,	/* validated, invalid bytes as windows-1252 */
	CS_ASCII,	/* like UTF-8: 8-bit "us-ascii" text is usually UTF-8 */
	CS_1252,	/* table (ISO-8859-1 is read as its superset) */
	CS_ICONV	/* iconv descriptor */
};

struct charset_def {
	const char	*iconv_name;	/* name for iconv_open */
	enum charset_kind kind;
	const char	*aliases;	/* normalized names, space separated */
};

/*
 * The fixed list.  Aliases are normalized: lower case, letters and digits
 * only.  Legacy names map to the superset real mail means (gb2312 is
 * GB18030, shift_jis is CP932, euc-kr is CP949).
 */
static const struct charset_def charset_defs[] = {
	{ "UTF-8", CS_UTF8, "utf8 utf8mb4 unicode11utf8 xunicode20utf8" },
	{ "US-ASCII", CS_ASCII, "usascii ascii ansix341968 us iso646us "
	    "cp367 ibm367 646 xunknown unknown8bit xuserdefined" },
	{ "WINDOWS-1252", CS_1252, "iso88591 latin1 l1 iso885911987 cp819 "
	    "ibm819 windows1252 cp1252 xcp1252 mswin1252 ansi1252 "
	    "iso88591windows30latin1 iso88591windows31latin1 88591" },
	{ "ISO-8859-2", CS_ICONV, "iso88592 latin2 l2 iso885921987" },
	{ "ISO-8859-3", CS_ICONV, "iso88593 latin3 l3" },
	{ "ISO-8859-4", CS_ICONV, "iso88594 latin4 l4" },
	{ "ISO-8859-5", CS_ICONV, "iso88595 cyrillic" },
	{ "ISO-8859-6", CS_ICONV, "iso88596 arabic iso88596i iso88596e" },
	{ "ISO-8859-7", CS_ICONV, "iso88597 greek greek8" },
	{ "ISO-8859-8", CS_ICONV, "iso88598 hebrew iso88598i iso88598e" },
	{ "ISO-8859-9", CS_ICONV, "iso88599 latin5 l5" },
	{ "ISO-8859-10", CS_ICONV, "iso885910 latin6 l6" },
	{ "ISO-8859-11", CS_ICONV, "iso885911" },
	{ "ISO-8859-13", CS_ICONV, "iso885913 latin7 l7" },
	{ "ISO-8859-14", CS_ICONV, "iso885914 latin8 l8" },
	{ "ISO-8859-15", CS_ICONV, "iso885915 latin9 l9 latin0" },
	{ "ISO-8859-16", CS_ICONV, "iso885916 latin10 l10" },
	{ "WINDOWS-1250", CS_ICONV, "windows1250 cp1250 xcp1250" },
	{ "WINDOWS-1251", CS_ICONV, "windows1251 cp1251 xcp1251" },
	{ "WINDOWS-1253", CS_ICONV, "windows1253 cp1253" },
	{ "WINDOWS-1254", CS_ICONV, "windows1254 cp1254" },
	{ "WINDOWS-1255", CS_ICONV, "windows1255 cp1255" },
	{ "WINDOWS-1256", CS_ICONV, "windows1256 cp1256" },
	{ "WINDOWS-1257", CS_ICONV, "windows1257 cp1257" },
	{ "WINDOWS-1258", CS_ICONV, "windows1258 cp1258" },
	{ "KOI8-R", CS_ICONV, "koi8r koi8 cskoi8r" },
	{ "KOI8-U", CS_ICONV, "koi8u koi8ru" },
	{ "CP866", CS_ICONV, "cp866 ibm866 866" },
	{ "CP850", CS_ICONV, "cp850 ibm850 850" },
	{ "CP437", CS_ICONV, "cp437 ibm437 437" },
	{ "MACINTOSH", CS_ICONV, "macintosh mac xmacroman macroman" },
	{ "TIS-620", CS_ICONV, "tis620 windows874 cp874 iso885911 xtis620" },
	{ "GB18030", CS_ICONV, "gb18030 gb2312 gbk cp936 xgbk euccn "
	    "cseuccn gb231280 chinese csgb2312 iso58gb231280" },
	{ "BIG5", CS_ICONV, "big5 csbig5 xxbig5 cnbig5 big5tw" },
	{ "BIG5-HKSCS", CS_ICONV, "big5hkscs" },
	{ "CP932", CS_ICONV, "shiftjis sjis xsjis cp932 windows31j mskanji "
	    "csshiftjis windows932 xmscp932" },
	{ "EUC-JP", CS_ICONV, "eucjp xeucjp cseucpkdfmtjapanese ujis" },
	{ "ISO-2022-JP", CS_ICONV, "iso2022jp csiso2022jp iso2022jp1" },
	{ "ISO-2022-JP-2", CS_ICONV, "iso2022jp2 csiso2022jp2" },
	{ "CP949", CS_ICONV, "euckr cseuckr cp949 ksc56011987 ksc5601 "
	    "ksc56011989 windows949 uhc korean" },
	{ "ISO-2022-KR", CS_ICONV, "iso2022kr csiso2022kr" },
	{ "EUC-TW", CS_ICONV, "euctw" },
	{ "UTF-16", CS_ICONV, "utf16 ucs2" },
	{ "UTF-16BE", CS_ICONV, "utf16be unicodefffe" },
	{ "UTF-16LE", CS_ICONV, "utf16le unicodefeff" },
	{ "UTF-32", CS_ICONV, "utf32 ucs4" },
	{ "UTF-32BE", CS_ICONV, "utf32be" },
	{ "UTF-32LE", CS_ICONV, "utf32le" },
	{ "UTF-7", CS_ICONV, "utf7 unicode11utf7" },
	{ "VISCII", CS_ICONV, "viscii" },
	{ "ARMSCII-8", CS_ICONV, "armscii8" },
	{ "GEORGIAN-PS", CS_ICONV, "georgianps" },
};

#define CHARSET_NDEFS	(sizeof(charset_defs) / sizeof(charset_defs[0]))

/*
 * The descriptors are opened once and shared; an iconv_t holds the state
 * of one conversion, so the lock keeps storaged's read threads
 * (store/readpool.h) from converting with the same one at once.
 */
static struct {
	pthread_mutex_t	 mtx;
	int		 done;
	iconv_t		 cd[CHARSET_NDEFS];
} charset_state = { .mtx = PTHREAD_MUTEX_INITIALIZER };

/* windows-1252 0x80-0x9f; undefined bytes keep their C1 control. */
static const uint16_t cp1252_high[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178
};

void
charset_init(void)
{
	size_t i;

	pthread_mutex_lock(&charset_state.mtx);
	if (!charset_state.done) {
		for (i = 0; i < CHARSET_NDEFS; i++) {
			charset_state.cd[i] = (iconv_t)-1;
			if (charset_defs[i].kind == CS_ICONV)
				charset_state.cd[i] = iconv_open("UTF-8",
				    charset_defs[i].iconv_name);
		}
		charset_state.done = 1;
	}
	pthread_mutex_unlock(&charset_state.mtx);
}

/* Normalizes a charset name into out (size n): lower-case alphanumerics. */
static void
charset_normalize(const char *name, char *out, size_t n)
{
	size_t j = 0;

	for (; *name != '\0' && j + 1 < n; name++)
		if (isalnum((unsigned char)*name))
			out[j++] = (char)tolower((unsigned char)*name);
	out[j] = '\0';
}

/* Index of the definition for charset, or -1. */
static int
charset_lookup(const char *charset)
{
	char norm[64];
	const char *a, *e;
	size_t i, n;

	if (charset == NULL || *charset == '\0')
		return -1;
	charset_normalize(charset, norm, sizeof(norm));
	if ((n = strlen(norm)) == 0)
		return -1;
	for (i = 0; i < CHARSET_NDEFS; i++) {
		for (a = charset_defs[i].aliases; *a != '\0'; a = e) {
			if ((e = strchr(a, ' ')) == NULL)
				e = a + strlen(a);
			if ((size_t)(e - a) == n && memcmp(a, norm, n) == 0)
				return (int)i;
			if (*e == ' ')
				e++;
		}
	}
	return -1;
}

bool
charset_is_known(const char *charset)
{
	return charset_lookup(charset) >= 0;
}

/* Appends code point c as UTF-8. */
static void
put_utf8(struct buf *out, uint32_t c)
{
	uint8_t b[4];
	size_t n;

	if (c < 0x80) {
		b[0] = (uint8_t)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (uint8_t)(0xc0 | (c >> 6));
		b[1] = (uint8_t)(0x80 | (c & 0x3f));
		n = 2;
	} else {
		b[0] = (uint8_t)(0xe0 | (c >> 12));
		b[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (c & 0x3f));
		n = 3;
	}
	buf_append(out, b, n);
}

/* Appends byte c read as windows-1252. */
static void
put_1252(struct buf *out, uint8_t c)
{
	if (c < 0x80)
		buf_append(out, &c, 1);
	else if (c < 0xa0)
		put_utf8(out, cp1252_high[c - 0x80]);
	else
		put_utf8(out, c);
}

/* Length of the valid UTF-8 character at p (n bytes left), or 0. */
static size_t
utf8_char_len(const uint8_t *p, size_t n)
{
	uint32_t c;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2)
		return 0;
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : p[0] < 0xf5 ? 4 : 0;
	if (len == 0 || len > n)
		return 0;
	c = p[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return len;
}

size_t
charset_utf8_prefix(const void *vp, size_t len)
{
	const uint8_t *p = vp;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] < 0x80) {
			uint64_t w;

			/* ASCII runs, eight bytes at a time. */
			for (i++; i + 8 <= len; i += 8) {
				memcpy(&w, p + i, 8);
				if (w & UINT64_C(0x8080808080808080))
					break;
			}
			continue;
		}
		if ((n = utf8_char_len(p + i, len - i)) == 0)
			break;
		i += n;
	}
	return i;
}

bool
charset_utf8_valid(const void *p, size_t len)
{
	return charset_utf8_prefix(p, len) == len;
}

/* UTF-8 with every invalid byte read as windows-1252. */
static void
conv_utf8(const uint8_t *p, size_t len, struct buf *out)
{
	size_t n;

	while (len > 0) {
		n = charset_utf8_prefix(p, len);
		buf_append(out, p, n);
		p += n;
		len -= n;
		if (len > 0) {
			put_1252(out, *p);
			p++;
			len--;
		}
	}
}

static void
conv_1252(const uint8_t *p, size_t len, struct buf *out)
{
	size_t i, run;

	for (i = 0; i < len; i += run) {
		for (run = 0; i + run < len && p[i + run] < 0x80; run++)
			;
		if (run > 0) {
			buf_append(out, p + i, run);
			continue;
		}
		put_1252(out, p[i]);
		run = 1;
	}
}

/* Converts with descriptor cd; bytes iconv refuses fall back one by one. */
static void
conv_iconv(iconv_t cd, const uint8_t *p, size_t len, struct buf *out)
{
	char *inp = (char *)(uintptr_t)p, *outp;
	size_t inleft = len, outleft, room, r;
	uint8_t *tail;

	(void)iconv(cd, NULL, NULL, NULL, NULL);
	for (;;) {
		room = inleft * 4 + 16;
		buf_reserve(out, room);
		tail = buf_tail(out);
		outp = (char *)tail;
		outleft = room;
		if (inleft > 0)
			r = iconv(cd, &inp, &inleft, &outp, &outleft);
		else
			r = iconv(cd, NULL, NULL, &outp, &outleft);
		buf_commit(out, (size_t)((uint8_t *)outp - tail));
		if (r != (size_t)-1) {
			if (inleft == 0)
				break;
			continue;
		}
		if (errno == E2BIG)
			continue;
		if (inleft == 0)
			break;
		put_1252(out, (uint8_t)*inp);
		inp++;
		inleft--;
		(void)iconv(cd, NULL, NULL, NULL, NULL);
	}
	(void)iconv(cd, NULL, NULL, NULL, NULL);
}

void
charset_to_utf8(const char *charset, const void *in, size_t len,
    struct buf *out)
{
	const uint8_t *p = in;
	int i;

	if (len == 0)
		return;
	charset_init();
	i = charset_lookup(charset);
	if (i < 0 || charset_defs[i].kind == CS_UTF8 ||
	    charset_defs[i].kind == CS_ASCII) {
		conv_utf8(p, len, out);
		return;
	}
	if (charset_defs[i].kind == CS_1252) {
		conv_1252(p, len, out);
		return;
	}
	if (charset_state.cd[i] == (iconv_t)-1) {
		conv_utf8(p, len, out);
		return;
	}
	pthread_mutex_lock(&charset_state.mtx);
	conv_iconv(charset_state.cd[i], p, len, out);
	pthread_mutex_unlock(&charset_state.mtx);
}
