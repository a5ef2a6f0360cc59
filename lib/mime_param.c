/* SPDX-License-Identifier: ISC */
/*
 * mime_param.c: Content-Type (RFC 2045 5.1) and Content-Disposition
 * (RFC 2183 2) with their parameters, including RFC 2231 continuations
 * (name*0, name*1) and charset/language-tagged values (name*=utf-8''...),
 * converted to UTF-8.  Leniently, RFC 2047 encoded words in quoted values
 * (common in file names) are decoded too, unquoted values may hold
 * spaces, and a parameter given twice keeps its first value.
 */
#include "mime_int.h"
#include "charset.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PARAM_MAX	64	/* raw parameters kept per field */
#define SECTION_MAX	999	/* highest continuation number */

struct raw_param {
	const char	*name;		/* base name, without '*' parts */
	size_t		 nlen;
	const char	*value;		/* unquoted, in the arena */
	size_t		 vlen;
	int		 section;	/* -1 if none */
	bool		 ext;		/* ends in '*': charset'lang'%XX */
	bool		 used;
};

static const char *
skip_ws(const char *s)
{
	int depth;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '(')
			return s;
		for (depth = 0; *s != '\0'; s++) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '(')
				depth++;
			else if (*s == ')' && --depth == 0) {
				s++;
				break;
			}
		}
	}
}

static char *
lower_dup(struct mime_msg *m, const char *s, size_t n)
{
	char *d = mime_strndup(m, s, n), *e;

	for (e = d; *e != '\0'; e++)
		if (*e >= 'A' && *e <= 'Z')
			*e = (char)(*e - 'A' + 'a');
	return d;
}

/* Reads one parameter at s; returns the rest or NULL at the end. */
static const char *
read_param(struct mime_msg *m, const char *s, struct raw_param *rp)
{
	const char *n, *e, *star;
	char *v;
	size_t i;

	s = skip_ws(s);
	while (*s == ';' || *s == ' ' || *s == '\t')
		s = skip_ws(s + 1);
	if (*s == '\0')
		return NULL;
	n = s;
	s += strcspn(s, "=; \t\"");
	e = s;
	s = skip_ws(s);
	if (*s != '=') {
		rp->name = NULL;	/* a stray word: skipped */
		return s + strcspn(s, ";");
	}
	s = skip_ws(s + 1);
	memset(rp, 0, sizeof(*rp));
	rp->section = -1;
	if ((star = memchr(n, '*', (size_t)(e - n))) != NULL) {
		rp->ext = e[-1] == '*';
		if (star[1] >= '0' && star[1] <= '9')
			rp->section = (int)strtol(star + 1, NULL, 10);
		if (rp->section > SECTION_MAX)
			rp->section = SECTION_MAX;
		e = star;
	}
	rp->name = n;
	rp->nlen = (size_t)(e - n);
	if (*s == '"') {
		/* Sized to the quoted string, not the rest of the field. */
		for (i = 1; s[i] != '\0' && s[i] != '"'; i++)
			if (s[i] == '\\' && s[i + 1] != '\0')
				i++;
		v = mime_alloc(m, i);
		for (i = 0, s++; *s != '\0' && *s != '"'; s++) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			v[i++] = *s;
		}
		v[i] = '\0';
		if (*s == '"')
			s++;
		rp->value = v;
		rp->vlen = i;
		return s;
	}
	e = s + strcspn(s, ";");
	n = e;
	while (n > s && (n[-1] == ' ' || n[-1] == '\t'))
		n--;
	rp->value = mime_strndup(m, s, (size_t)(n - s));
	rp->vlen = strlen(rp->value);
	return e;
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

/* Appends an RFC 2231 extended value, %XX decoded. */
static void
pct_decode(const char *s, size_t n, struct buf *out)
{
	size_t i;
	int h, l;
	uint8_t c;

	for (i = 0; i < n; i++) {
		c = (uint8_t)s[i];
		if (c == '%' && i + 2 < n && (h = hexval(s[i + 1])) >= 0 &&
		    (l = hexval(s[i + 2])) >= 0) {
			c = (uint8_t)(h << 4 | l);
			i += 2;
		}
		buf_append(out, &c, 1);
	}
}

/* Joins the raw parameters named like rp[first] into one value. */
static char *
join_param(struct mime_msg *m, struct raw_param *rp, size_t n, size_t first)
{
	struct buf bytes = BUF_INIT, out = BUF_INIT;
	char charset[64] = "";
	const char *v, *q1, *q2;
	size_t i, vlen, cs;
	int sec, want, best;
	bool ext = false, have_ext = false;
	char *d;

	/* name* (extended) wins over name; sections in order. */
	for (i = first; i < n; i++)
		if (rp[i].name != NULL && rp[i].nlen == rp[first].nlen &&
		    strncasecmp(rp[i].name, rp[first].name, rp[i].nlen) == 0 &&
		    (rp[i].ext || rp[i].section >= 0))
			have_ext = true;
	for (want = 0; want <= SECTION_MAX; want++) {
		best = -1;
		for (i = first; i < n; i++) {
			if (rp[i].name == NULL || rp[i].used ||
			    rp[i].nlen != rp[first].nlen ||
			    strncasecmp(rp[i].name, rp[first].name,
			    rp[i].nlen) != 0)
				continue;
			sec = rp[i].section < 0 ? 0 : rp[i].section;
			if (have_ext && rp[i].section < 0 && !rp[i].ext) {
				rp[i].used = true;	/* plain name= */
				continue;
			}
			if (sec == want && best < 0)
				best = (int)i;
		}
		if (best < 0)
			break;
		rp[best].used = true;
		v = rp[best].value;
		vlen = rp[best].vlen;
		if (rp[best].ext && want == 0 &&
		    (q1 = memchr(v, '\'', vlen)) != NULL &&
		    (q2 = memchr(q1 + 1, '\'', vlen - (size_t)(q1 + 1 - v))) !=
		    NULL) {
			cs = (size_t)(q1 - v);
			if (cs >= sizeof(charset))
				cs = sizeof(charset) - 1;
			memcpy(charset, v, cs);
			charset[cs] = '\0';
			vlen -= (size_t)(q2 + 1 - v);
			v = q2 + 1;
		}
		if (rp[best].ext) {
			pct_decode(v, vlen, &bytes);
			ext = true;
		} else
			buf_append(&bytes, v, vlen);
	}
	/* Any later duplicates are ignored. */
	for (i = first; i < n; i++)
		if (rp[i].name != NULL && rp[i].nlen == rp[first].nlen &&
		    strncasecmp(rp[i].name, rp[first].name, rp[i].nlen) == 0)
			rp[i].used = true;
	if (ext)
		charset_to_utf8(charset, bytes.data, bytes.len, &out);
	else if (rp[first].nlen == 8 &&
	    strncasecmp(rp[first].name, "boundary", 8) == 0)
		buf_append(&out, bytes.data, bytes.len);
	else
		mime_decode_words((const char *)bytes.data, bytes.len, &out);
	d = mime_strndup(m, out.data, out.len);
	buf_clear(&bytes);
	buf_clear(&out);
	return d;
}

static void
parse_params(struct mime_msg *m, const char *s, struct mime_param **v_r,
    size_t *n_r)
{
	struct raw_param rp[PARAM_MAX];
	struct mime_param *v;
	size_t n = 0, i, k = 0;

	while (s != NULL && *s != '\0' && n < PARAM_MAX) {
		s = read_param(m, s, &rp[n]);
		if (s != NULL && rp[n].name != NULL && rp[n].nlen > 0)
			n++;
	}
	v = n > 0 ? mime_alloc(m, n * sizeof(*v)) : NULL;
	for (i = 0; i < n; i++) {
		if (rp[i].used)
			continue;
		v[k].name = lower_dup(m, rp[i].name, rp[i].nlen);
		v[k].value = join_param(m, rp, n, i);
		k++;
	}
	*v_r = v;
	*n_r = k;
}

void
mime_parse_ctype(struct mime_msg *m, const char *s, struct mime_part *p)
{
	const char *t, *e, *st, *se;

	s = skip_ws(s);
	t = s;
	e = t + strcspn(t, "/; \t(");
	s = skip_ws(e);
	if (*s != '/' || e == t)
		return;		/* RFC 2045 5.2: invalid means text/plain */
	st = skip_ws(s + 1);
	se = st + strcspn(st, "; \t(");
	if (se == st)
		return;
	p->type = lower_dup(m, t, (size_t)(e - t));
	p->subtype = lower_dup(m, st, (size_t)(se - st));
	s = strchr(se, ';');
	parse_params(m, s, &p->params, &p->nparams);
}

void
mime_parse_disposition(struct mime_msg *m, const char *s,
    struct mime_part *p)
{
	const char *e;

	s = skip_ws(s);
	e = s + strcspn(s, "; \t(");
	if (e > s)
		p->disposition = lower_dup(m, s, (size_t)(e - s));
	parse_params(m, strchr(e, ';'), &p->dparams, &p->ndparams);
}

const char *
mime_param_get(const struct mime_param *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return v[i].value;
	return NULL;
}
