/* SPDX-License-Identifier: ISC */
/*
 * json_pointer.c: JSON Pointer (RFC 6901) evaluated against a tree of
 * json.c, with JMAP's "*" token that maps the rest of a pointer over an
 * array (RFC 8620 3.7), as result references need.
 */
#include "json_int.h"
#include "xmalloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 6901 3: a pointer is "" or '/' tokens, '~' only as ~0 or ~1. */
static const char *
ptr_check(const char *ptr)
{
	const char *s;

	if (ptr[0] != '\0' && ptr[0] != '/')
		return "pointer does not start with /";
	for (s = ptr; (s = strchr(s, '~')) != NULL; s++)
		if (s[1] != '0' && s[1] != '1')
			return "pointer has ~ without 0 or 1";
	return NULL;
}

/* RFC 6901 4: the token (n bytes at s) with ~1 as '/' then ~0 as '~'. */
static char *
ptr_token(const char *s, size_t n)
{
	char *t = xmalloc(n + 1);
	size_t i, j;

	for (i = j = 0; i < n; i++, j++) {
		t[j] = s[i];
		if (s[i] == '~')
			t[j] = s[++i] == '1' ? '/' : '~';
	}
	t[j] = '\0';
	return t;
}

/* RFC 6901 4: an array index is 0 or digits without a leading 0. */
static bool
ptr_index(const char *s, size_t n, size_t *i_r)
{
	size_t i, x = 0;

	if (n == 0 || (n > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || x > (SIZE_MAX - 9) / 10)
			return false;
		x = x * 10 + (size_t)(s[i] - '0');
	}
	*i_r = x;
	return true;
}

static int ptr_eval(const struct json *, const char *, struct json **,
    char *, size_t);

/* RFC 8620 3.7: "*" maps the rest over an array, flattening arrays. */
static int
ptr_star(const struct json *arr, const char *rest, struct json **r,
    char *err, size_t errlen)
{
	struct json *out = json_new_array(), *x;
	size_t i, k;

	for (i = 0; i < arr->u.arr.n; i++) {
		if (ptr_eval(arr->u.arr.v[i], rest, &x, err, errlen) == -1) {
			json_free(&out);
			return -1;
		}
		if (x->type != JSON_ARRAY) {
			json_array_add(out, x);
			continue;
		}
		for (k = 0; k < x->u.arr.n; k++)
			json_array_add(out, x->u.arr.v[k]);
		x->u.arr.n = 0;
		json_free(&x);
	}
	*r = out;
	return 0;
}

/* Evaluates the rest of a checked pointer, p ("" or "/..."), at v. */
static int
ptr_eval(const struct json *v, const char *p, struct json **r, char *err,
    size_t errlen)
{
	const struct json *next;
	const char *tok = p + 1;
	char *name;
	size_t n, i;

	if (*p == '\0') {
		*r = json_dup(v);
		return 0;
	}
	n = strcspn(tok, "/");
	if (v->type == JSON_ARRAY && n == 1 && tok[0] == '*')
		return ptr_star(v, tok + n, r, err, errlen);
	if (v->type == JSON_OBJECT) {
		name = ptr_token(tok, n);
		next = json_get(v, name);
		free(name);
		if (next == NULL) {
			snprintf(err, errlen, "no member \"%.*s\"",
			    (int)(n > 40 ? 40 : n), tok);
			return -1;
		}
	} else if (v->type == JSON_ARRAY) {
		if (!ptr_index(tok, n, &i) || i >= v->u.arr.n) {
			snprintf(err, errlen, "no element \"%.*s\"",
			    (int)(n > 40 ? 40 : n), tok);
			return -1;
		}
		next = v->u.arr.v[i];
	} else {
		snprintf(err, errlen, "\"%.*s\" applied to a scalar",
		    (int)(n > 40 ? 40 : n), tok);
		return -1;
	}
	return ptr_eval(next, tok + n, r, err, errlen);
}

int
json_pointer_eval(const struct json *root, const char *ptr,
    struct json **result_r, char *err, size_t errlen)
{
	const char *e;

	*result_r = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if ((e = ptr_check(ptr)) != NULL) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	return ptr_eval(root, ptr, result_r, err, errlen);
}
