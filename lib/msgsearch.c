/* SPDX-License-Identifier: ISC */
/*
 * msgsearch.c: IMAP SEARCH's text keys over a stored message (see
 * msgsearch.h).
 */
#include "msgsearch.h"
#include "buf.h"
#include "casemap.h"
#include "mime.h"
#include "msgrec.h"
#include "wire.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Whether the len bytes at p are all ASCII (8 at a time). */
static bool
all_ascii(const unsigned char *p, size_t len)
{
	uint64_t w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		if (w & 0x8080808080808080ULL)
			return false;
	}
	for (; i < len; i++)
		if (p[i] & 0x80)
			return false;
	return true;
}

static unsigned char
upper(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
}

/*
 * Whether key (klen > 0 bytes) occurs in the key of the ASCII text hay:
 * the text with a-z as A-Z, compared without being made.  memchr for the
 * key's first byte in either case finds the candidates (it runs many
 * bytes at a time).
 */
static bool
contains_ascii(const unsigned char *h, size_t hlen, const unsigned char *k,
    size_t klen)
{
	const unsigned char *p, *end, *a, *b;
	unsigned char lo, up;
	size_t j;

	if (hlen < klen || k[0] >= 0x80 || (k[0] >= 'a' && k[0] <= 'z'))
		return false;
	up = k[0];
	lo = up >= 'A' && up <= 'Z' ? (unsigned char)(up - 'A' + 'a') : up;
	end = h + (hlen - klen) + 1;
	for (p = h; p < end; p++) {
		if (*p != lo && *p != up) {
			a = memchr(p, up, (size_t)(end - p));
			b = lo != up ? memchr(p, lo, (size_t)((a != NULL ? a :
			    end) - p)) : NULL;
			if (b != NULL)
				a = b;
			if (a == NULL)
				return false;
			p = a;
		}
		for (j = 1; j < klen; j++)
			if (upper(p[j]) != k[j])
				break;
		if (j == klen)
			return true;
	}
	return false;
}

bool
msgsearch_contains(const void *hay, size_t hlen, const void *key,
    size_t klen)
{
	struct buf t = BUF_INIT;
	bool hit;

	if (klen == 0)
		return true;
	if (hay == NULL || hlen == 0)
		return false;
	if (all_ascii(hay, hlen))
		return contains_ascii(hay, hlen, key, klen);
	/* The text's own key, then octets (RFC 5051 2). */
	(void)casemap_key(hay, hlen, &t);
	hit = t.len >= klen && memmem(t.data, t.len, key, klen) != NULL;
	buf_clear(&t);
	return hit;
}

static bool
str_in(const char *hay, const void *v, size_t vlen)
{
	return hay != NULL && msgsearch_contains(hay, strlen(hay), v, vlen);
}

/* Whether an address list (FROM, TO, CC, BCC) of the envelope matches. */
static bool
match_addr(const struct msgrec *r, enum msgrec_addr_field f, const void *v,
    size_t vlen)
{
	struct wire_iter it;
	struct msgrec_addr a;

	if (r->nenvs == 0)
		return false;
	wire_strlist_iter(&r->envs[0].addr[f], &it);
	while (msgrec_addr_next(&it, &a))
		if (str_in(a.name, v, vlen) || str_in(a.email, v, vlen) ||
		    (a.group != NULL && str_in(a.group, v, vlen)))
			return true;
	return false;
}

/*
 * The length of the top-level header in the stored bytes (without the
 * record, all of them: a scan of the header stops at its blank line).
 */
static size_t
header_len(const struct msgrec *r, size_t len)
{
	if (r != NULL && r->nparts > 0 && r->parts[0].body_off <= len)
		return (size_t)r->parts[0].body_off;
	return len;
}

/*
 * Whether a raw header value reads the same as its text: printable ASCII
 * on one line, no encoded word (mime_header_text would only trim it).
 */
static bool
plain_value(const char *v, size_t len)
{
	size_t i;

	if (len > 0 && v[len - 1] == '\n')
		len--;
	if (len > 0 && v[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e ||
		    (v[i] == '=' && i + 1 < len && v[i + 1] == '?'))
			return false;
	return true;
}

/*
 * HEADER field string: any field of that name whose text holds it (so an
 * empty string matches any message with the field, RFC 9051 6.4.4).
 */
static bool
match_header(const struct msgrec *r, const void *raw, size_t len,
    const char *field, const void *v, size_t vlen, size_t *scanned)
{
	struct buf t = BUF_INIT;
	const char *val, *p, *end;
	size_t vl;
	bool hit = false;

	if (raw == NULL || *field == '\0')
		return false;
	p = raw;
	end = p + header_len(r, len);
	while (!hit && mime_header_next(&p, end, field, &val, &vl)) {
		/* The raw value first: most matches need no decoding. */
		if (msgsearch_contains(val, vl, v, vlen)) {
			hit = true;
			break;
		}
		if (plain_value(val, vl))
			continue;	/* its text is the raw value */
		buf_reset(&t);
		mime_header_text(val, vl, &t);
		hit = msgsearch_contains(t.data, t.len, v, vlen);
	}
	if ((size_t)(p - (const char *)raw) > *scanned)
		*scanned = (size_t)(p - (const char *)raw);
	buf_clear(&t);
	return hit;
}

/*
 * Keys text t (NUL-separated pieces, each keyed alone) into k, unless it
 * is all ASCII (then its pieces are searched in place); *ascii says which.
 */
static void
key_pieces(const struct buf *t, struct buf *k, bool *ascii)
{
	const char *p = (const char *)t->data, *end = p + t->len, *z;

	*ascii = all_ascii(t->data, t->len);
	if (*ascii)
		return;
	while (p < end) {
		if ((z = memchr(p, '\0', (size_t)(end - p))) == NULL)
			z = end;
		if (z > p)
			(void)casemap_key(p, (size_t)(z - p), k);
		buf_append(k, "", 1);
		p = z + 1;
	}
}

/* Whether key (klen bytes) occurs in text t (ascii) or its keys k. */
static bool
in_text(const struct buf *t, const struct buf *k, bool ascii, const void *key,
    size_t klen)
{
	if (klen == 0)
		return true;
	if (ascii)
		return msgsearch_contains(t->data, t->len, key, klen);
	return k->len >= klen && memmem(k->data, k->len, key, klen) != NULL;
}

/*
 * Appends text t (len bytes) to the cache's pieces: in ascii if it is
 * ASCII (searched in place), else its key to keyed; a NUL ends each piece
 * (no key holds one, so no match spans two).  Returns where it went.
 */
static struct buf *
add_piece(struct msgsearch_cache *c, const void *t, size_t len)
{
	struct buf *to;

	if (all_ascii(t, len)) {
		to = &c->body_ascii;
		buf_append(to, t, len);
	} else {
		to = &c->body_key;
		(void)casemap_key(t, len, to);
	}
	buf_append(to, "", 1);
	return to;
}

/* Whether key occurs in the pieces of to from byte `from` on. */
static bool
in_pieces(const struct msgsearch_cache *c, const struct buf *to,
    size_t from, const void *key, size_t klen)
{
	if (to->len <= from)
		return false;
	if (to == &c->body_ascii)
		return contains_ascii(to->data + from, to->len - from, key,
		    klen);
	return to->len - from >= klen && memmem(to->data + from,
	    to->len - from, key, klen) != NULL;
}

/*
 * BODY: the text parts decoded to UTF-8, each once per message and only
 * as far as a key needs: what earlier keys decoded is searched first,
 * then further parts one at a time until one holds the key.
 */
static bool
match_body(const struct msgrec *r, const void *raw, size_t len,
    const void *key, size_t klen, struct msgsearch_cache *c)
{
	const struct msgrec_part *pt;
	struct buf *to;
	size_t from;

	if (klen == 0)
		return true;
	if (in_pieces(c, &c->body_ascii, 0, key, klen) ||
	    in_pieces(c, &c->body_key, 0, key, klen))
		return true;
	for (; c->body_next < r->nparts; ) {
		pt = &r->parts[c->body_next++];
		if (pt->type == NULL || strcmp(pt->type, "text") != 0 ||
		    pt->body_end > len || pt->body_end < pt->body_off)
			continue;
		buf_reset(&c->part);
		mime_body_text(pt->encoding, pt->charset, false,
		    (const char *)raw + pt->body_off,
		    (size_t)(pt->body_end - pt->body_off), &c->part);
		to = all_ascii(c->part.data, c->part.len) ? &c->body_ascii :
		    &c->body_key;
		from = to->len;
		(void)add_piece(c, c->part.data, c->part.len);
		if (in_pieces(c, to, from, key, klen))
			return true;
	}
	return false;
}

/* TEXT's header: raw, then decoded, made once per message. */
static bool
match_head(const struct msgrec *r, const void *raw, size_t len,
    const void *key, size_t klen, struct msgsearch_cache *c)
{
	size_t hlen = header_len(r, len);

	if (!c->head_done) {
		c->head_done = true;
		buf_append(&c->head, raw, hlen);
		buf_append(&c->head, "", 1);
		mime_header_text(raw, hlen, &c->head);
		key_pieces(&c->head, &c->head_key, &c->head_ascii);
	}
	return in_text(&c->head, &c->head_key, c->head_ascii, key, klen);
}

void
msgsearch_cache_clear(struct msgsearch_cache *c)
{
	buf_clear(&c->body_ascii);
	buf_clear(&c->body_key);
	buf_clear(&c->part);
	buf_clear(&c->head);
	buf_clear(&c->head_key);
	c->body_next = 0;
	c->head_done = false;
	c->scanned = 0;
}

size_t
msgsearch_cache_bytes(const struct msgsearch_cache *c)
{
	return c->body_ascii.len + c->body_key.len + c->head.len;
}

size_t
msgsearch_raw_needed(const struct msgrec *r, size_t size)
{
	const struct msgrec_part *pt;
	size_t n = header_len(r, size);
	uint32_t i;

	/* The parts match_body decodes, the header match_header reads. */
	for (i = 0; i < r->nparts; i++) {
		pt = &r->parts[i];
		if (pt->type == NULL || strcmp(pt->type, "text") != 0 ||
		    pt->body_end > size || pt->body_end < pt->body_off)
			continue;
		if (pt->body_end > n)
			n = (size_t)pt->body_end;
	}
	return n;
}

size_t
msgsearch_header_end(const void *p, size_t n)
{
	const char *line = p, *end = line + n, *eol;

	/* The blank line as mime_header_next() finds it. */
	for (; line < end; line = eol + 1) {
		if (line[0] == '\n')
			return (size_t)(line + 1 - (const char *)p);
		if (line[0] == '\r' && line + 1 < end && line[1] == '\n')
			return (size_t)(line + 2 - (const char *)p);
		if ((eol = memchr(line, '\n', (size_t)(end - line))) == NULL)
			break;
	}
	return 0;
}

bool
msgsearch_needs_raw(enum msgsearch_kind kind)
{
	return kind == MSGSEARCH_HEADER || kind == MSGSEARCH_BODY ||
	    kind == MSGSEARCH_TEXT;
}

bool
msgsearch_needs_parts(enum msgsearch_kind kind)
{
	return kind == MSGSEARCH_BODY || kind == MSGSEARCH_TEXT;
}

bool
msgsearch_needs_record(enum msgsearch_kind kind)
{
	return kind != MSGSEARCH_HEADER;
}

bool
msgsearch_match(const struct msgrec *r, const void *raw, size_t len,
    enum msgsearch_kind kind, const char *field, const void *v, size_t vlen,
    struct msgsearch_cache *c)
{
	const struct msgrec_envelope *env;

	if (r == NULL)
		return kind == MSGSEARCH_HEADER &&
		    match_header(NULL, raw, len, field, v, vlen, &c->scanned);
	env = r->nenvs > 0 ? &r->envs[0] : NULL;
	switch (kind) {
	case MSGSEARCH_FROM:
		return match_addr(r, MSGREC_FROM, v, vlen);
	case MSGSEARCH_TO:
		return match_addr(r, MSGREC_TO, v, vlen);
	case MSGSEARCH_CC:
		return match_addr(r, MSGREC_CC, v, vlen);
	case MSGSEARCH_BCC:
		return match_addr(r, MSGREC_BCC, v, vlen);
	case MSGSEARCH_SUBJECT:
		return env != NULL && (str_in(env->subject_dec, v, vlen) ||
		    str_in(env->subject, v, vlen));
	case MSGSEARCH_HEADER:
		return match_header(r, raw, len, field, v, vlen,
		    &c->scanned);
	case MSGSEARCH_BODY:
		return raw != NULL && match_body(r, raw, len, v, vlen, c);
	case MSGSEARCH_TEXT:
		return raw != NULL && (match_head(r, raw, len, v, vlen, c) ||
		    match_body(r, raw, len, v, vlen, c));
	}
	return false;
}
