/* SPDX-License-Identifier: ISC */
/*
 * mime_hdrparse.c: the parsed forms of one raw header value (mime.h,
 * RFC 8621 4.1.2) for callers outside the parser.  Addresses, msg-ids
 * and dates go through the parser's own readers of mime_header.c, run
 * over a message object used only as their arena, so that a stored
 * message's header:Name:as{Form} properties read exactly as its envelope
 * did when it was parsed; their results are then copied into one block
 * the caller frees.  The URL lists of RFC 2369 are read here.
 */
#include "mime_int.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* The unfolded, trimmed value as a C string in m's arena. */
static char *
unfold(struct mime_msg *m, const char *value, size_t len)
{
	struct mime_span v;

	v.p = (const uint8_t *)value;
	v.len = len;
	return mime_unfold(m, v);
}

/* An empty message object: the arena of the readers. */
static struct mime_msg *
arena_new(void)
{
	return xcalloc(1, sizeof(struct mime_msg));
}

/*
 * Copies n strings into one block: the array of n pointers, then the
 * strings.  NULL for none.
 */
static char **
strv_block(char *const *v, size_t n, size_t *n_r)
{
	char **out, *p;
	size_t i, size, l;

	*n_r = n;
	if (n == 0)
		return NULL;
	size = n * sizeof(*out);
	for (i = 0; i < n; i++)
		size += strlen(v[i]) + 1;
	out = xmalloc(size);
	p = (char *)(out + n);
	for (i = 0; i < n; i++) {
		l = strlen(v[i]) + 1;
		memcpy(p, v[i], l);
		out[i] = p;
		p += l;
	}
	return out;
}

/*
 * Appends s to the string area at *pp, with trim without the white space
 * at either end; returns the copy.
 */
static const char *
put_str(char **pp, const char *s, bool trim)
{
	size_t l;
	char *d = *pp;

	if (trim)
		s += strspn(s, " \t");
	l = strlen(s);
	while (trim && l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t'))
		l--;
	memcpy(d, s, l);
	d[l] = '\0';
	*pp = d + l + 1;
	return d;
}

struct mime_address *
mime_header_addresses(const char *value, size_t len, size_t *n_r)
{
	struct mime_msg *m = arena_new();
	struct mime_addrlist l;
	struct mime_address *out = NULL;
	const char *grp = NULL, *grpcopy = NULL;
	char *p;
	size_t i, size, groupno = 0;

	mime_parse_addrlist(m, unfold(m, value, len), &l);
	*n_r = l.n;
	if (l.n > 0) {
		size = l.n * sizeof(*out);
		for (i = 0; i < l.n; i++) {
			size += strlen(l.v[i].name) + strlen(l.v[i].email) + 2;
			if (l.v[i].group != NULL)
				size += strlen(l.v[i].group) + 1;
		}
		out = xmalloc(size);
		p = (char *)(out + l.n);
		for (i = 0; i < l.n; i++) {
			/*
			 * A quoted display name keeps its blanks in the
			 * reader; 4.1.2.3 trims them.
			 */
			out[i].name = put_str(&p, l.v[i].name, true);
			out[i].email = put_str(&p, l.v[i].email, false);
			/*
			 * The reader gives each group's members the same
			 * name pointer, and each group a string of its own.
			 */
			if (l.v[i].group != NULL && l.v[i].group != grp) {
				grp = l.v[i].group;
				grpcopy = put_str(&p, grp, true);
				groupno++;
			} else if (l.v[i].group == NULL)
				grp = NULL;
			out[i].group = l.v[i].group != NULL ? grpcopy : NULL;
			out[i].groupno = l.v[i].group != NULL ? groupno : 0;
		}
	}
	mime_msg_free(&m);
	return out;
}

char **
mime_header_msgids(const char *value, size_t len, bool one, size_t *n_r)
{
	struct mime_msg *m = arena_new();
	struct mime_strv v;
	char **out;

	mime_parse_msgids(m, unfold(m, value, len), one, &v);
	out = strv_block(v.v, v.n, n_r);
	mime_msg_free(&m);
	return out;
}

bool
mime_header_date(const char *value, size_t len, int64_t *t_r, int32_t *tz_r)
{
	struct mime_msg *m = arena_new();
	int64_t t;
	int32_t tz;
	bool ok;

	ok = mime_parse_date(unfold(m, value, len), &t, &tz);
	mime_msg_free(&m);
	if (ok) {
		*t_r = t;
		*tz_r = tz;
	}
	return ok;
}

/* Skips white space, line breaks and (nested) comments. */
static size_t
skip_cfws(const char *s, size_t len, size_t i)
{
	int depth;

	while (i < len) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n') {
			i++;
			continue;
		}
		if (s[i] != '(')
			break;
		for (depth = 0; i < len; i++) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			else if (s[i] == '(')
				depth++;
			else if (s[i] == ')' && --depth == 0) {
				i++;
				break;
			}
		}
	}
	return i;
}

char **
mime_header_urls(const char *value, size_t len, size_t *n_r)
{
	struct buf b = BUF_INIT;
	char **v = NULL, **out;
	size_t i = 0, n = 0, cap = 0, k, start;
	const char *e;

	/* Each URL NUL-terminated in b, in order. */
	for (;;) {
		i = skip_cfws(value, len, i);
		if (i >= len || value[i] != '<')
			break;
		e = memchr(value + i, '>', len - i);
		if (e == NULL)
			break;		/* unclosed: no URL */
		start = b.len;
		for (k = i + 1; value + k < e; k++)
			if (value[k] != ' ' && value[k] != '\t' &&
			    value[k] != '\r' && value[k] != '\n' &&
			    value[k] != '\0')
				buf_append(&b, value + k, 1);
		if (b.len == start)
			break;		/* "<>" is no URL either */
		buf_append(&b, "", 1);
		n++;
		i = skip_cfws(value, len, (size_t)(e - value) + 1);
		if (i >= len || value[i] != ',')
			break;
		i++;
	}
	if (n > 0) {
		/* Pointers only once b stops moving. */
		cap = n;
		v = xreallocarray(NULL, cap, sizeof(*v));
		for (k = 0, i = 0; k < n; k++) {
			v[k] = (char *)b.data + i;
			i += strlen(v[k]) + 1;
		}
	}
	out = strv_block(v, n, n_r);
	free(v);
	buf_clear(&b);
	return out;
}
