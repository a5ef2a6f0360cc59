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

bool
msgsearch_contains(const void *hay, size_t hlen, const void *key,
    size_t klen)
{
	const unsigned char *h = hay, *k = key, *p, *end, *a, *b;
	struct buf t = BUF_INIT;
	unsigned char lo, up;
	size_t j;
	bool hit;

	if (klen == 0)
		return true;
	if (h == NULL || hlen == 0)
		return false;
	if (!all_ascii(h, hlen)) {
		/* The text's own key, then octets (RFC 5051 2). */
		(void)casemap_key(hay, hlen, &t);
		hit = t.len >= klen && memmem(t.data, t.len, key, klen) != NULL;
		buf_clear(&t);
		return hit;
	}
	/*
	 * ASCII text: its key is the text with a-z as A-Z, compared without
	 * being made.  memchr for the key's first byte in either case finds
	 * the candidates (it runs many bytes at a time).
	 */
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
    const char *field, const void *v, size_t vlen)
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
	buf_clear(&t);
	return hit;
}

/* Whether key (klen bytes) occurs in the keyed text t. */
static bool
in_keyed(const struct buf *t, const void *key, size_t klen)
{
	if (klen == 0)
		return true;
	return t->len >= klen && memmem(t->data, t->len, key, klen) != NULL;
}

/*
 * BODY: the text parts decoded to UTF-8, each keyed once per message (a
 * NUL between parts, which no key holds, so no match spans two).
 */
static const struct buf *
body_keyed(const struct msgrec *r, const void *raw, size_t len,
    struct msgsearch_cache *c)
{
	const struct msgrec_part *pt;
	struct buf t = BUF_INIT;
	uint32_t i;

	if (c->body_done)
		return &c->body;
	c->body_done = true;
	for (i = 0; i < r->nparts; i++) {
		pt = &r->parts[i];
		if (pt->type == NULL || strcmp(pt->type, "text") != 0 ||
		    pt->body_end > len || pt->body_end < pt->body_off)
			continue;
		buf_reset(&t);
		mime_body_text(pt->encoding, pt->charset, false,
		    (const char *)raw + pt->body_off,
		    (size_t)(pt->body_end - pt->body_off), &t);
		if (t.len > 0)
			(void)casemap_key((const char *)t.data, t.len, &c->body);
		buf_append(&c->body, "", 1);
	}
	buf_clear(&t);
	return &c->body;
}

/* TEXT's header: raw, then decoded, each keyed once per message. */
static const struct buf *
head_keyed(const struct msgrec *r, const void *raw, size_t len,
    struct msgsearch_cache *c)
{
	struct buf t = BUF_INIT;
	size_t hlen = header_len(r, len);

	if (c->head_done)
		return &c->head;
	c->head_done = true;
	if (hlen > 0)
		(void)casemap_key(raw, hlen, &c->head);
	buf_append(&c->head, "", 1);
	mime_header_text(raw, hlen, &t);
	if (t.len > 0)
		(void)casemap_key((const char *)t.data, t.len, &c->head);
	buf_clear(&t);
	return &c->head;
}

void
msgsearch_cache_clear(struct msgsearch_cache *c)
{
	buf_clear(&c->body);
	buf_clear(&c->head);
	c->body_done = c->head_done = false;
}

size_t
msgsearch_cache_bytes(const struct msgsearch_cache *c)
{
	return c->body.len + c->head.len;
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
		    match_header(NULL, raw, len, field, v, vlen);
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
		return match_header(r, raw, len, field, v, vlen);
	case MSGSEARCH_BODY:
		return raw != NULL && in_keyed(body_keyed(r, raw, len, c), v,
		    vlen);
	case MSGSEARCH_TEXT:
		return raw != NULL && (in_keyed(head_keyed(r, raw, len, c), v,
		    vlen) || in_keyed(body_keyed(r, raw, len, c), v, vlen));
	}
	return false;
}
