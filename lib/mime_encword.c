/* SPDX-License-Identifier: ISC */
/*
 * mime_encword.c: RFC 2047 encoded words in header text, decoded to UTF-8.
 * White space between two encoded words is dropped (RFC 2047 6.2);
 * adjacent words in one charset are joined before conversion, so that a
 * character split across words survives.  Leniently, encoded words inside
 * other text and the RFC 2231 language suffix ("=?utf-8*en?Q?...?=") are
 * accepted.  A malformed encoded word stays as it is; raw 8-bit text is
 * taken as UTF-8 (RFC 6532) or, if invalid, as windows-1252.
 */
#include "mime_int.h"
#include "charset.h"

#include <string.h>

#define EW_MAX_CHARSET	64

struct ew {
	char		 charset[EW_MAX_CHARSET];
	char		 enc;		/* 'b' or 'q' */
	const char	*text;
	size_t		 tlen;
	size_t		 total;		/* bytes of the whole word */
};

/*
 * Where the next "?=" and the next white space are, at or after some
 * position: cursors that only move forward, so that many "=?" without an
 * end cost linear time, not quadratic.
 */
struct ew_scan {
	const char	*s;
	size_t		 len;
	size_t		 qe;		/* index of the next "?=", or len */
	size_t		 ws;		/* index of the next blank, or len */
	bool		 started;
};

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
scan_from(struct ew_scan *sc, size_t t)
{
	const char *p;

	if (!sc->started || (sc->qe < t && sc->qe < sc->len)) {
		p = t < sc->len ? memmem(sc->s + t, sc->len - t, "?=", 2) :
		    NULL;
		sc->qe = p == NULL ? sc->len : (size_t)(p - sc->s);
	}
	if (!sc->started || (sc->ws < t && sc->ws < sc->len)) {
		for (sc->ws = t; sc->ws < sc->len && !is_ws(sc->s[sc->ws]);
		    sc->ws++)
			;
	}
	sc->started = true;
}

/* Parses an encoded word at index at (starting with "=?"). */
static bool
ew_parse(struct ew_scan *sc, size_t at, struct ew *ew)
{
	const char *s = sc->s + at;
	size_t n = sc->len - at, i = 2, c = 0, t;
	bool lang = false;

	for (; i < n && s[i] != '?' && s[i] > ' ' && s[i] < 127; i++) {
		if (s[i] == '*')
			lang = true;	/* RFC 2231 5: language, ignored */
		if (!lang && c < EW_MAX_CHARSET - 1)
			ew->charset[c++] = s[i];
	}
	ew->charset[c] = '\0';
	if (i + 3 > n || s[i] != '?' || i == 2)
		return false;
	ew->enc = (char)(s[i + 1] | 0x20);
	if ((ew->enc != 'b' && ew->enc != 'q') || s[i + 2] != '?')
		return false;
	t = i + 3;
	scan_from(sc, at + t);
	if (sc->qe >= sc->len)
		return false;
	/*
	 * Blanks inside a word are invalid, but mailers write them
	 * ("=?iso-8859-1?Q? =F6tzi ?="): accepted in a short word that does
	 * not run into the next one.
	 */
	if (sc->ws < sc->qe && (sc->qe - at > 200 ||
	    memmem(s + t, sc->qe - at - t, "=?", 2) != NULL))
		return false;
	ew->text = s + t;
	ew->tlen = sc->qe - at - t;
	ew->total = sc->qe - at + 2;
	return true;
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

/* RFC 2047 4.2: the Q encoding. */
static void
q_decode(const char *s, size_t n, struct buf *out)
{
	size_t i;
	int h, l;
	uint8_t c;

	for (i = 0; i < n; i++) {
		c = (uint8_t)s[i];
		if (c == '_')
			c = ' ';
		else if (c == '=' && i + 2 < n &&
		    (h = hexval(s[i + 1])) >= 0 &&
		    (l = hexval(s[i + 2])) >= 0) {
			c = (uint8_t)(h << 4 | l);
			i += 2;
		}
		buf_append(out, &c, 1);
	}
}

/* Converts pending decoded bytes and empties them. */
static void
flush(struct buf *pend, const char *charset, struct buf *out)
{
	if (pend->len > 0)
		charset_to_utf8(charset, pend->data, pend->len, out);
	buf_reset(pend);
}

void
mime_decode_words(const char *s, size_t len, struct buf *out)
{
	struct buf pend = BUF_INIT;
	char pcs[EW_MAX_CHARSET] = "";
	struct ew_scan sc;
	struct ew ew;
	size_t i = 0, raw = 0;
	bool last_ew = false;

	if (len == 0)
		return;
	memset(&sc, 0, sizeof(sc));
	sc.s = s;
	sc.len = len;
	while (i < len) {
		if (s[i] == '=' && i + 1 < len && s[i + 1] == '?' &&
		    ew_parse(&sc, i, &ew)) {
			/* Only white space since the last word: dropped. */
			if (!last_ew) {
				flush(&pend, pcs, out);
				charset_to_utf8(NULL, s + raw, i - raw, out);
			}
			if (strcmp(pcs, ew.charset) != 0) {
				flush(&pend, pcs, out);
				memcpy(pcs, ew.charset, sizeof(pcs));
			}
			if (ew.enc == 'b')
				mime_decode_b64((const uint8_t *)ew.text,
				    ew.tlen, &pend);
			else
				q_decode(ew.text, ew.tlen, &pend);
			i += ew.total;
			raw = i;
			last_ew = true;
			continue;
		}
		if (last_ew && !is_ws(s[i])) {
			flush(&pend, pcs, out);
			last_ew = false;
		}
		i++;
	}
	flush(&pend, pcs, out);
	charset_to_utf8(NULL, s + raw, len - raw, out);
	buf_clear(&pend);
}

char *
mime_decode_words_dup(struct mime_msg *m, const char *s)
{
	struct buf out = BUF_INIT;
	const unsigned char *p;
	char *d, *e;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p >= 0x80 || *p < ' ' || (p[0] == '=' && p[1] == '?'))
			break;
	if (*p == '\0')
		return (char *)(uintptr_t)s;
	mime_decode_words(s, strlen(s), &out);
	d = mime_strndup(m, out.data, out.len);
	buf_clear(&out);
	for (e = d; *e != '\0'; e++)
		if ((unsigned char)*e < ' ')
			*e = ' ';
	/* Encoded text may bring blanks at either end: trimmed. */
	while (e > d && e[-1] == ' ')
		*--e = '\0';
	while (*d == ' ')
		d++;
	return d;
}
