/* SPDX-License-Identifier: ISC */
/*
 * mime_body.c: which parts are the body of a message and which are
 * attachments, by the algorithm of RFC 8621 4.1.4 (textBody, htmlBody,
 * attachments), hasAttachment, the preview of RFC 8621 4.1.4
 * (MIME_PREVIEW_CHARS characters of the first text body, white space
 * collapsed) and the decoded text of a part for indexing (HTML stripped of
 * markup).
 */
#include "mime_int.h"
#include "charset.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREVIEW_INPUT	65536	/* raw body bytes read for the preview */

struct plist {
	uint32_t	*v;
	size_t		 n, cap;
};

struct tree {
	struct mime_msg	*m;
	uint32_t	*first;		/* first child or MIME_NONE */
	uint32_t	*next;		/* next sibling or MIME_NONE */
};

static void
plist_add(struct plist *l, uint32_t i)
{
	/* The RFC's code would push to null here; the part is dropped. */
	if (l == NULL)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = i;
}

static bool
type_is(const struct mime_part *p, const char *type, const char *subtype)
{
	return strcmp(p->type, type) == 0 &&
	    (subtype == NULL || strcmp(p->subtype, subtype) == 0);
}

/* RFC 8621 4.1.4 isInlineMediaType. */
static bool
inline_media(const struct mime_part *p)
{
	return type_is(p, "image", NULL) || type_is(p, "audio", NULL) ||
	    type_is(p, "video", NULL);
}

/* RFC 8621 4.1.4 parseStructure, over the children of a multipart. */
static void
parse_structure(struct tree *t, uint32_t first, const char *mptype,
    bool in_alt, struct plist *html, struct plist *text, struct plist *att)
{
	struct mime_msg *m = t->m;
	const struct mime_part *p;
	size_t tlen = text ? text->n : (size_t)-1;
	size_t hlen = html ? html->n : (size_t)-1;
	size_t i;
	uint32_t c;
	bool is_inline, alt;

	for (c = first, i = 0; c != MIME_NONE; c = t->next[c], i++) {
		p = &m->parts[c];
		is_inline = (p->disposition == NULL ||
		    strcmp(p->disposition, "attachment") != 0) &&
		    (type_is(p, "text", "plain") ||
		    type_is(p, "text", "html") || inline_media(p)) &&
		    (i == 0 || (strcmp(mptype, "related") != 0 &&
		    (inline_media(p) || p->name == NULL)));
		if (type_is(p, "multipart", NULL)) {
			alt = strcmp(p->subtype, "alternative") == 0;
			parse_structure(t, t->first[c], p->subtype,
			    in_alt || alt, html, text, att);
		} else if (is_inline) {
			if (strcmp(mptype, "alternative") == 0) {
				if (type_is(p, "text", "plain"))
					plist_add(text, c);
				else if (type_is(p, "text", "html"))
					plist_add(html, c);
				else
					plist_add(att, c);
				continue;
			} else if (in_alt) {
				if (type_is(p, "text", "plain"))
					html = NULL;
				if (type_is(p, "text", "html"))
					text = NULL;
			}
			if (text != NULL)
				plist_add(text, c);
			if (html != NULL)
				plist_add(html, c);
			if ((text == NULL || html == NULL) && inline_media(p))
				plist_add(att, c);
		} else
			plist_add(att, c);
	}
	if (strcmp(mptype, "alternative") == 0 && text != NULL &&
	    html != NULL) {
		if (tlen == text->n && hlen != html->n)
			for (i = hlen; i < html->n; i++)
				plist_add(text, html->v[i]);
		if (hlen == html->n && tlen != text->n)
			for (i = tlen; i < text->n; i++)
				plist_add(html, text->v[i]);
	}
}

static uint32_t *
plist_take(struct mime_msg *m, struct plist *l, uint32_t *n_r)
{
	uint32_t *v = NULL;

	if (l->n > 0) {
		v = mime_alloc(m, l->n * sizeof(*v));
		memcpy(v, l->v, l->n * sizeof(*v));
	}
	*n_r = (uint32_t)l->n;
	free(l->v);
	return v;
}

void
mime_select_bodies(struct mime_msg *m)
{
	struct plist l[3];
	struct tree t;
	uint32_t i, *last, j;
	const struct mime_part *p;

	memset(l, 0, sizeof(l));
	t.m = m;
	t.first = xreallocarray(NULL, m->nparts, sizeof(uint32_t));
	t.next = xreallocarray(NULL, m->nparts, sizeof(uint32_t));
	last = xreallocarray(NULL, m->nparts, sizeof(uint32_t));
	for (i = 0; i < m->nparts; i++) {
		t.first[i] = t.next[i] = last[i] = MIME_NONE;
		if (i == 0)
			continue;
		/* Message parts are leaves for JMAP: no children here. */
		j = m->parts[i].parent;
		if (last[j] == MIME_NONE)
			t.first[j] = i;
		else
			t.next[last[j]] = i;
		last[j] = i;
	}
	for (i = 0; i < m->nparts; i++)
		if (type_is(&m->parts[i], "message", NULL))
			t.first[i] = MIME_NONE;
	free(last);
	/* parseStructure([bodyStructure], 'mixed', false, ...) */
	parse_structure(&t, 0, "mixed", false, &l[MB_HTML], &l[MB_TEXT],
	    &l[MB_ATTACH]);
	free(t.first);
	free(t.next);
	for (i = 0; i < 3; i++)
		m->body[i] = plist_take(m, &l[i], &m->nbody[i]);
	/*
	 * hasAttachment: an attachment other than an inline image the HTML
	 * refers to by Content-ID.
	 */
	for (i = 0; i < m->nbody[MB_ATTACH]; i++) {
		p = &m->parts[m->body[MB_ATTACH][i]];
		if (p->id != NULL && (p->disposition == NULL ||
		    strcmp(p->disposition, "inline") == 0) && p->name == NULL)
			continue;
		m->has_attachment = true;
	}
}

/* A few HTML entities; others stay as they are. */
static const struct {
	const char	*name;
	const char	*text;
} entities[] = {
	{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" },
	{ "apos", "'" }, { "nbsp", " " }, { "copy", "\xc2\xa9" },
	{ "reg", "\xc2\xae" }, { "mdash", "\xe2\x80\x94" },
	{ "ndash", "\xe2\x80\x93" }, { "hellip", "\xe2\x80\xa6" },
	{ "rsquo", "\xe2\x80\x99" }, { "lsquo", "\xe2\x80\x98" },
	{ "rdquo", "\xe2\x80\x9d" }, { "ldquo", "\xe2\x80\x9c" },
	{ "euro", "\xe2\x82\xac" },
};

/* Appends code point c (from a numeric entity) as UTF-8. */
static void
put_cp(struct buf *out, unsigned long c)
{
	uint8_t b[4];
	size_t n;

	if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		c = 0xfffd;
	if (c < 0x80) {
		b[0] = (uint8_t)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (uint8_t)(0xc0 | (c >> 6));
		b[1] = (uint8_t)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (uint8_t)(0xe0 | (c >> 12));
		b[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | (c >> 18));
		b[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (c & 0x3f));
		n = 4;
	}
	buf_append(out, b, n);
}

/* An entity at s (after '&', n bytes); returns bytes used or 0. */
static size_t
entity(const char *s, size_t n, struct buf *out)
{
	size_t i, k;
	unsigned long c = 0;

	for (k = 0; k < n && k < 10 && s[k] != ';'; k++)
		;
	if (k == n || s[k] != ';' || k == 0)
		return 0;
	if (s[0] == '#') {
		for (i = 1; i < k; i++) {
			if (s[1] == 'x' || s[1] == 'X') {
				if (i == 1)
					continue;
				if (!((s[i] >= '0' && s[i] <= '9') ||
				    ((s[i] | 0x20) >= 'a' &&
				    (s[i] | 0x20) <= 'f')))
					return 0;
				c = c * 16 + (unsigned long)(s[i] <= '9' ?
				    s[i] - '0' : (s[i] | 0x20) - 'a' + 10);
			} else {
				if (s[i] < '0' || s[i] > '9')
					return 0;
				c = c * 10 + (unsigned long)(s[i] - '0');
			}
		}
		put_cp(out, c);
		return k + 1;
	}
	for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++)
		if (strlen(entities[i].name) == k &&
		    strncmp(entities[i].name, s, k) == 0) {
			buf_append(out, entities[i].text,
			    strlen(entities[i].text));
			return k + 1;
		}
	return 0;
}

/* Appends the text of HTML (UTF-8): tags dropped, style/script skipped. */
static void
html_text(const char *s, size_t n, struct buf *out)
{
	size_t i = 0, e, run;
	const char *end;

	while (i < n) {
		if (s[i] == '<') {
			if (n - i > 4 && strncmp(s + i, "<!--", 4) == 0) {
				end = memmem(s + i + 4, n - i - 4, "-->", 3);
				i = end == NULL ? n : (size_t)(end - s) + 3;
				continue;
			}
			if (n - i > 6 &&
			    (strncasecmp(s + i, "<style", 6) == 0 ||
			    strncasecmp(s + i, "<script", 7) == 0)) {
				const char *tag = (s[i + 2] | 0x20) == 't' ?
				    "</style" : "</script";
				for (e = i + 1; e + 8 < n &&
				    strncasecmp(s + e, tag, strlen(tag)) != 0;
				    e++)
					;
				i = e;
			}
			end = memchr(s + i, '>', n - i);
			i = end == NULL ? n : (size_t)(end - s) + 1;
			buf_append(out, " ", 1);
			continue;
		}
		if (s[i] == '&' &&
		    (e = entity(s + i + 1, n - i - 1, out)) > 0) {
			i += e + 1;
			continue;
		}
		for (run = 1; i + run < n && s[i + run] != '<' &&
		    s[i + run] != '&'; run++)
			;
		buf_append(out, s + i, run);
		i += run;
	}
}

/* Appends the UTF-8 text of part i, reading at most max raw bytes. */
static void
part_text_max(struct mime_msg *m, uint32_t i, size_t max, struct buf *out)
{
	const struct mime_part *p = &m->parts[i];
	size_t len = (size_t)(p->body_end - p->body_off);

	if (len > max)
		len = max;
	buf_reset(&m->scratch);
	mime_decode_body(p->enc, m->data + p->body_off, len, &m->scratch);
	if (!type_is(p, "text", "html")) {
		charset_to_utf8(p->charset, m->scratch.data, m->scratch.len,
		    out);
		return;
	}
	buf_reset(&m->scratch2);
	charset_to_utf8(p->charset, m->scratch.data, m->scratch.len,
	    &m->scratch2);
	html_text((const char *)m->scratch2.data, m->scratch2.len, out);
}

static enum mime_enc
enc_of(const char *encoding)
{
	if (encoding == NULL)
		return ME_IDENTITY;
	if (strcasecmp(encoding, "base64") == 0)
		return ME_BASE64;
	if (strcasecmp(encoding, "quoted-printable") == 0)
		return ME_QP;
	return ME_IDENTITY;
}

void
mime_body_decode(const char *encoding, const void *body, size_t len,
    struct buf *out)
{
	mime_decode_body(enc_of(encoding), body, len, out);
}

void
mime_body_text(const char *encoding, const char *charset, bool strip_html,
    const void *body, size_t len, struct buf *out)
{
	struct buf raw = BUF_INIT, text = BUF_INIT;

	mime_decode_body(enc_of(encoding), body, len, &raw);
	if (!strip_html) {
		charset_to_utf8(charset, raw.data, raw.len, out);
	} else {
		charset_to_utf8(charset, raw.data, raw.len, &text);
		html_text((const char *)text.data, text.len, out);
	}
	buf_clear(&raw);
	buf_clear(&text);
}

void
mime_part_text(struct mime_msg *m, uint32_t i, struct buf *out)
{
	part_text_max(m, i, SIZE_MAX, out);
}

void
mime_make_preview(struct mime_msg *m)
{
	struct buf text = BUF_INIT;
	const uint8_t *s;
	char *d;
	size_t i, n, chars = 0, len = 0, cl;
	uint32_t part = MIME_NONE;
	bool sp = false;

	for (i = 0; i < m->nbody[MB_TEXT] && part == MIME_NONE; i++)
		if (type_is(&m->parts[m->body[MB_TEXT][i]], "text", NULL))
			part = m->body[MB_TEXT][i];
	for (i = 0; i < m->nbody[MB_HTML] && part == MIME_NONE; i++)
		if (type_is(&m->parts[m->body[MB_HTML][i]], "text", NULL))
			part = m->body[MB_HTML][i];
	if (part != MIME_NONE)
		part_text_max(m, part, PREVIEW_INPUT, &text);
	/* Characters plus a space each at most, 4 bytes a character. */
	d = mime_alloc(m, MIME_PREVIEW_CHARS * 4 + 1);
	s = text.data;
	n = charset_utf8_prefix(s, text.len);
	for (i = 0; i < n && chars < MIME_PREVIEW_CHARS; i += cl) {
		cl = 1;
		if (s[i] <= ' ' || s[i] == 0x7f) {
			sp = true;
			continue;
		}
		if (sp && len > 0) {
			d[len++] = ' ';
			if (++chars == MIME_PREVIEW_CHARS)
				break;
		}
		sp = false;
		if (s[i] >= 0x80)
			cl = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : 2;
		memcpy(d + len, s + i, cl);
		len += cl;
		chars++;
	}
	d[len] = '\0';
	m->preview = d;
	buf_clear(&text);
}
