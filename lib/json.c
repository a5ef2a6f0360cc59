/* SPDX-License-Identifier: ISC */
/*
 * json.c: JSON values (RFC 8259) for jmapd.  The parser drives yajl's
 * callback API and builds its own tree so that depth, node count and
 * string size are bounded while parsing (yajl_tree has no limits), and
 * holds the text to I-JSON (RFC 7493 2.1-2.3: UTF-8 without surrogates,
 * unique member names, numbers within a double), which RFC 8620 1.5
 * requires of JMAP requests.  Then the tree.  The writers are in
 * json_write.c, JSON Pointer (RFC 6901 4) with JMAP's "*" (RFC 8620 3.7)
 * in json_pointer.c; the node layout they share is in json_int.h.
 */
#include "json_int.h"
#include "buf.h"
#include "log.h"
#include "xmalloc.h"

#include <sys/types.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

bool
json_utf8_valid(const void *p, size_t len)
{
	const uint8_t *s = p;
	size_t i = 0, n;

	while (i < len) {
		if ((n = json_utf8_seq(s + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

/* Tree: nodes and objects. */

static struct json *
json_node(enum json_type type)
{
	struct json *v = xcalloc(1, sizeof(*v));

	v->type = type;
	return v;
}

static int
obj_cmp_cb(const void *a, const void *b, void *arg)
{
	const struct json_member *m = arg;

	return strcmp(m[*(const size_t *)a].name, m[*(const size_t *)b].name);
}

/*
 * Builds the sorted index of a big object.  Returns the position in m of
 * a member whose name another member has too, or -1.
 */
static ssize_t
obj_index_build(struct json *o)
{
	size_t i, *ix;

	free(o->u.obj.index);
	o->u.obj.index = NULL;
	if (o->u.obj.n <= JSON_INDEX_MIN)
		return -1;
	ix = xreallocarray(NULL, o->u.obj.cap, sizeof(*ix));
	for (i = 0; i < o->u.obj.n; i++)
		ix[i] = i;
	qsort_r(ix, o->u.obj.n, sizeof(*ix), obj_cmp_cb, o->u.obj.m);
	o->u.obj.index = ix;
	for (i = 1; i < o->u.obj.n; i++)
		if (strcmp(o->u.obj.m[ix[i - 1]].name,
		    o->u.obj.m[ix[i]].name) == 0)
			return (ssize_t)ix[i];
	return -1;
}

/*
 * Binary search of the index: returns the index slot holding name (*found
 * true) or where it would go.
 */
static size_t
obj_index_find(const struct json *o, const char *name, bool *found)
{
	size_t lo = 0, hi = o->u.obj.n, mid;
	int c;

	*found = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, o->u.obj.m[o->u.obj.index[mid]].name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The position in m of member name, or -1. */
static ssize_t
obj_find(const struct json *o, const char *name)
{
	size_t i;
	bool found;

	if (o->u.obj.index != NULL) {
		i = obj_index_find(o, name, &found);
		return found ? (ssize_t)o->u.obj.index[i] : -1;
	}
	for (i = 0; i < o->u.obj.n; i++)
		if (strcmp(o->u.obj.m[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* Appends a member (name and v taken) without looking at the index. */
static void
obj_append(struct json *o, char *name, struct json *v)
{
	size_t cap;

	if (o->u.obj.n == o->u.obj.cap) {
		cap = o->u.obj.cap == 0 ? 4 : o->u.obj.cap * 2;
		o->u.obj.m = xreallocarray(o->u.obj.m, cap,
		    sizeof(*o->u.obj.m));
		if (o->u.obj.index != NULL)
			o->u.obj.index = xreallocarray(o->u.obj.index, cap,
			    sizeof(*o->u.obj.index));
		o->u.obj.cap = cap;
	}
	o->u.obj.m[o->u.obj.n].name = name;
	o->u.obj.m[o->u.obj.n].value = v;
	o->u.obj.n++;
}

enum json_type
json_type(const struct json *v)
{
	return v->type;
}

int
json_bool(const struct json *v, bool *r)
{
	if (v->type != JSON_BOOL)
		return -1;
	*r = v->u.b;
	return 0;
}

int
json_int(const struct json *v, int64_t *r)
{
	if (v->type != JSON_NUMBER || !v->u.num.is_int ||
	    v->u.num.i < JSON_INT_MIN || v->u.num.i > JSON_INT_MAX)
		return -1;
	*r = v->u.num.i;
	return 0;
}

int
json_double(const struct json *v, double *r)
{
	if (v->type != JSON_NUMBER)
		return -1;
	*r = v->u.num.d;
	return 0;
}

const char *
json_str(const struct json *v, size_t *len_r)
{
	if (v->type != JSON_STRING)
		return NULL;
	if (len_r != NULL)
		*len_r = v->u.str.len;
	return v->u.str.p;
}

size_t
json_len(const struct json *v)
{
	if (v->type == JSON_ARRAY)
		return v->u.arr.n;
	if (v->type == JSON_OBJECT)
		return v->u.obj.n;
	return 0;
}

struct json *
json_at(const struct json *arr, size_t i)
{
	if (arr->type != JSON_ARRAY || i >= arr->u.arr.n)
		return NULL;
	return arr->u.arr.v[i];
}

struct json *
json_get(const struct json *obj, const char *name)
{
	ssize_t i;

	if (obj->type != JSON_OBJECT || (i = obj_find(obj, name)) < 0)
		return NULL;
	return obj->u.obj.m[i].value;
}

struct json *
json_member(const struct json *obj, size_t i, const char **name_r)
{
	if (obj->type != JSON_OBJECT || i >= obj->u.obj.n)
		return NULL;
	if (name_r != NULL)
		*name_r = obj->u.obj.m[i].name;
	return obj->u.obj.m[i].value;
}

struct json *
json_new_null(void)
{
	return json_node(JSON_NULL);
}

struct json *
json_new_bool(bool b)
{
	struct json *v = json_node(JSON_BOOL);

	v->u.b = b;
	return v;
}

struct json *
json_new_int(int64_t i)
{
	struct json *v = json_node(JSON_NUMBER);

	v->u.num.i = i;
	v->u.num.d = (double)i;
	v->u.num.is_int = true;
	return v;
}

struct json *
json_new_double(double d)
{
	struct json *v = json_node(JSON_NUMBER);

	v->u.num.d = d;
	return v;
}

struct json *
json_new_str(const void *p, size_t len)
{
	struct json *v = json_node(JSON_STRING);

	if (len == SIZE_MAX)
		fatalx("json_new_str: length overflow");
	v->u.str.p = xmalloc(len + 1);
	if (len > 0)
		memcpy(v->u.str.p, p, len);
	v->u.str.p[len] = '\0';
	v->u.str.len = len;
	return v;
}

struct json *
json_new_strz(const char *s)
{
	return json_new_str(s, strlen(s));
}

struct json *
json_new_array(void)
{
	return json_node(JSON_ARRAY);
}

struct json *
json_new_object(void)
{
	return json_node(JSON_OBJECT);
}

void
json_array_add(struct json *arr, struct json *v)
{
	size_t cap;

	if (arr->type != JSON_ARRAY)
		fatalx("json_array_add: not an array");
	if (arr->u.arr.n == arr->u.arr.cap) {
		cap = arr->u.arr.cap == 0 ? 4 : arr->u.arr.cap * 2;
		arr->u.arr.v = xreallocarray(arr->u.arr.v, cap,
		    sizeof(*arr->u.arr.v));
		arr->u.arr.cap = cap;
	}
	arr->u.arr.v[arr->u.arr.n++] = v;
}

void
json_object_set(struct json *obj, const char *name, struct json *v)
{
	size_t slot, n;
	ssize_t i;
	bool found;

	if (obj->type != JSON_OBJECT)
		fatalx("json_object_set: not an object");
	if ((i = obj_find(obj, name)) >= 0) {
		json_free(&obj->u.obj.m[i].value);
		obj->u.obj.m[i].value = v;
		return;
	}
	obj_append(obj, xstrdup(name), v);
	n = obj->u.obj.n;
	if (obj->u.obj.index == NULL) {
		if (n > JSON_INDEX_MIN)
			(void)obj_index_build(obj);
		return;
	}
	/* The new member is at n - 1; its slot in the index is found by
	 * searching the n - 1 members indexed before it. */
	obj->u.obj.n--;
	slot = obj_index_find(obj, name, &found);
	obj->u.obj.n++;
	memmove(obj->u.obj.index + slot + 1, obj->u.obj.index + slot,
	    (n - 1 - slot) * sizeof(*obj->u.obj.index));
	obj->u.obj.index[slot] = n - 1;
}

struct json *
json_object_take(struct json *obj, const char *name)
{
	struct json *v;
	size_t k, j, *ix;
	ssize_t i;

	if (obj->type != JSON_OBJECT || (i = obj_find(obj, name)) < 0)
		return NULL;
	v = obj->u.obj.m[i].value;
	free(obj->u.obj.m[i].name);
	memmove(obj->u.obj.m + i, obj->u.obj.m + i + 1,
	    (obj->u.obj.n - (size_t)i - 1) * sizeof(*obj->u.obj.m));
	obj->u.obj.n--;
	if ((ix = obj->u.obj.index) == NULL)
		return v;
	if (obj->u.obj.n <= JSON_INDEX_MIN) {
		free(ix);
		obj->u.obj.index = NULL;
		return v;
	}
	/* Drop i from the index and renumber the members after it. */
	for (k = j = 0; k <= obj->u.obj.n; k++) {
		if (ix[k] == (size_t)i)
			continue;
		ix[j++] = ix[k] > (size_t)i ? ix[k] - 1 : ix[k];
	}
	return v;
}

int
json_object_del(struct json *obj, const char *name)
{
	struct json *v = json_object_take(obj, name);

	if (v == NULL)
		return -1;
	json_free(&v);
	return 0;
}

struct json *
json_dup(const struct json *v)
{
	struct json *r;
	size_t i;

	switch (v->type) {
	case JSON_STRING:
		return json_new_str(v->u.str.p, v->u.str.len);
	case JSON_ARRAY:
		r = json_new_array();
		for (i = 0; i < v->u.arr.n; i++)
			json_array_add(r, json_dup(v->u.arr.v[i]));
		return r;
	case JSON_OBJECT:
		r = json_new_object();
		for (i = 0; i < v->u.obj.n; i++)
			obj_append(r, xstrdup(v->u.obj.m[i].name),
			    json_dup(v->u.obj.m[i].value));
		(void)obj_index_build(r);
		return r;
	default:
		r = json_node(v->type);
		r->u = v->u;
		return r;
	}
}

void
json_free(struct json **vp)
{
	struct json *v = *vp;
	size_t i;

	if (v == NULL)
		return;
	*vp = NULL;
	switch (v->type) {
	case JSON_STRING:
		free(v->u.str.p);
		break;
	case JSON_ARRAY:
		for (i = 0; i < v->u.arr.n; i++)
			json_free(&v->u.arr.v[i]);
		free(v->u.arr.v);
		break;
	case JSON_OBJECT:
		for (i = 0; i < v->u.obj.n; i++) {
			free(v->u.obj.m[i].name);
			json_free(&v->u.obj.m[i].value);
		}
		free(v->u.obj.m);
		free(v->u.obj.index);
		break;
	default:
		break;
	}
	free(v);
}

/* Whether a number held as int equals one held as double, exactly. */
static bool
num_int_double_eq(int64_t i, double d)
{
	/* 2^63 is exact as a double; [-2^63, 2^63) converts safely. */
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return false;
	return (double)(int64_t)d == d && (int64_t)d == i;
}

static bool
num_equal(const struct json *a, const struct json *b)
{
	if (a->u.num.is_int && b->u.num.is_int)
		return a->u.num.i == b->u.num.i;
	if (a->u.num.is_int)
		return num_int_double_eq(a->u.num.i, b->u.num.d);
	if (b->u.num.is_int)
		return num_int_double_eq(b->u.num.i, a->u.num.d);
	return a->u.num.d == b->u.num.d;
}

bool
json_equal(const struct json *a, const struct json *b)
{
	const struct json *bv;
	size_t i;

	if (a->type != b->type)
		return false;
	switch (a->type) {
	case JSON_NULL:
		return true;
	case JSON_BOOL:
		return a->u.b == b->u.b;
	case JSON_NUMBER:
		return num_equal(a, b);
	case JSON_STRING:
		return a->u.str.len == b->u.str.len && (a->u.str.len == 0 ||
		    memcmp(a->u.str.p, b->u.str.p, a->u.str.len) == 0);
	case JSON_ARRAY:
		if (a->u.arr.n != b->u.arr.n)
			return false;
		for (i = 0; i < a->u.arr.n; i++)
			if (!json_equal(a->u.arr.v[i], b->u.arr.v[i]))
				return false;
		return true;
	case JSON_OBJECT:
		/* Names are unique, so equal counts and a match for each
		 * member of a mean the same set. */
		if (a->u.obj.n != b->u.obj.n)
			return false;
		for (i = 0; i < a->u.obj.n; i++) {
			bv = json_get(b, a->u.obj.m[i].name);
			if (bv == NULL || !json_equal(a->u.obj.m[i].value, bv))
				return false;
		}
		return true;
	}
	return false;
}

/* Parser. */

struct json_parser {
	const struct json_limits *lim;
	struct json	 *root;
	struct json	**stack;	/* open arrays and objects */
	size_t		  depth, stackcap;
	size_t		  nodes;
	char		 *key;		/* name awaiting its value */
	char		  err[128];	/* why a callback stopped yajl */
};

/* A member name fit for an error message: short, printable ASCII. */
static void
jp_name(char *dst, size_t size, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < size && name[i] != '\0'; i++)
		dst[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
	dst[i] = '\0';
}

/* Counts one more value against max_nodes; 0 stops yajl. */
static int
jp_count(struct json_parser *jp)
{
	if (++jp->nodes > jp->lim->max_nodes) {
		snprintf(jp->err, sizeof(jp->err), "more than %zu values",
		    jp->lim->max_nodes);
		return 0;
	}
	return 1;
}

/* Puts v (taken) in the open container, or makes it the root. */
static int
jp_add(struct json_parser *jp, struct json *v)
{
	struct json *top;

	if (jp->depth == 0) {
		jp->root = v;
		return 1;
	}
	top = jp->stack[jp->depth - 1];
	if (top->type == JSON_ARRAY)
		json_array_add(top, v);
	else {
		obj_append(top, jp->key, v);
		jp->key = NULL;
	}
	return 1;
}

static int
jp_null_cb(void *ctx)
{
	struct json_parser *jp = ctx;

	return jp_count(jp) && jp_add(jp, json_new_null());
}

static int
jp_bool_cb(void *ctx, int b)
{
	struct json_parser *jp = ctx;

	return jp_count(jp) && jp_add(jp, json_new_bool(b != 0));
}

/*
 * yajl hands over the literal (valid RFC 8259 6 syntax, not terminated).
 * An integer literal that fits int64 is kept exactly; other numbers are
 * doubles, and one beyond a double's range is refused (RFC 7493 2.2).
 */
static int
jp_number_cb(void *ctx, const char *s, size_t len)
{
	struct json_parser *jp = ctx;
	struct json *v;
	char *lit;
	long long ll;
	double d;

	if (!jp_count(jp))
		return 0;
	if (len > jp->lim->max_string) {
		snprintf(jp->err, sizeof(jp->err),
		    "number longer than %zu bytes", jp->lim->max_string);
		return 0;
	}
	lit = xstrndup(s, len);
	if (strcspn(lit, ".eE") == len) {
		errno = 0;
		ll = strtoll(lit, NULL, 10);
		if (errno == 0) {
			free(lit);
			return jp_add(jp, json_new_int(ll));
		}
	}
	d = strtod(lit, NULL);
	free(lit);
	if (isinf(d)) {
		snprintf(jp->err, sizeof(jp->err), "number out of range");
		return 0;
	}
	v = json_new_double(d);
	return jp_add(jp, v);
}

static int
jp_string_cb(void *ctx, const unsigned char *s, size_t len)
{
	struct json_parser *jp = ctx;

	if (!jp_count(jp))
		return 0;
	if (len > jp->lim->max_string) {
		snprintf(jp->err, sizeof(jp->err),
		    "string longer than %zu bytes", jp->lim->max_string);
		return 0;
	}
	return jp_add(jp, json_new_str(s, len));
}

static int
jp_open(struct json_parser *jp, struct json *v)
{
	size_t cap;

	if (jp->depth >= jp->lim->max_depth) {
		snprintf(jp->err, sizeof(jp->err), "nesting deeper than %zu",
		    jp->lim->max_depth);
		json_free(&v);
		return 0;
	}
	if (jp->depth == jp->stackcap) {
		cap = jp->stackcap == 0 ? 8 : jp->stackcap * 2;
		jp->stack = xreallocarray(jp->stack, cap, sizeof(*jp->stack));
		jp->stackcap = cap;
	}
	jp_add(jp, v);
	jp->stack[jp->depth++] = v;
	return 1;
}

static int
jp_start_map_cb(void *ctx)
{
	struct json_parser *jp = ctx;

	return jp_count(jp) && jp_open(jp, json_new_object());
}

static int
jp_start_array_cb(void *ctx)
{
	struct json_parser *jp = ctx;

	return jp_count(jp) && jp_open(jp, json_new_array());
}

/*
 * RFC 7493 2.3: member names must be unique.  A small object is checked
 * here, by a scan; a big one once, when it ends, by sorting.
 */
static int
jp_map_key_cb(void *ctx, const unsigned char *s, size_t len)
{
	struct json_parser *jp = ctx;
	struct json *top = jp->stack[jp->depth - 1];
	char name[40];
	size_t i;

	if (len > jp->lim->max_string) {
		snprintf(jp->err, sizeof(jp->err),
		    "member name longer than %zu bytes", jp->lim->max_string);
		return 0;
	}
	if (len > 0 && memchr(s, '\0', len) != NULL) {
		snprintf(jp->err, sizeof(jp->err),
		    "member name with U+0000");
		return 0;
	}
	jp->key = xstrndup((const char *)s, len);
	if (top->u.obj.n > JSON_INDEX_MIN)
		return 1;
	for (i = 0; i < top->u.obj.n; i++) {
		if (strcmp(top->u.obj.m[i].name, jp->key) == 0) {
			jp_name(name, sizeof(name), jp->key);
			snprintf(jp->err, sizeof(jp->err),
			    "duplicate member name \"%s\"", name);
			return 0;
		}
	}
	return 1;
}

static int
jp_end_map_cb(void *ctx)
{
	struct json_parser *jp = ctx;
	struct json *top = jp->stack[--jp->depth];
	char name[40];
	ssize_t dup;

	if ((dup = obj_index_build(top)) >= 0) {
		jp_name(name, sizeof(name), top->u.obj.m[dup].name);
		snprintf(jp->err, sizeof(jp->err),
		    "duplicate member name \"%s\" in object", name);
		return 0;
	}
	return 1;
}

static int
jp_end_array_cb(void *ctx)
{
	struct json_parser *jp = ctx;

	jp->depth--;
	return 1;
}

static const yajl_callbacks jp_callbacks = {
	.yajl_null = jp_null_cb,
	.yajl_boolean = jp_bool_cb,
	.yajl_number = jp_number_cb,
	.yajl_string = jp_string_cb,
	.yajl_start_map = jp_start_map_cb,
	.yajl_map_key = jp_map_key_cb,
	.yajl_end_map = jp_end_map_cb,
	.yajl_start_array = jp_start_array_cb,
	.yajl_end_array = jp_end_array_cb,
};

/* Reads 4 hex digits at p (n bytes left) into *u. */
static bool
hex4(const uint8_t *p, size_t n, unsigned int *u)
{
	size_t i;
	int c;

	if (n < 4)
		return false;
	for (*u = 0, i = 0; i < 4; i++) {
		c = p[i];
		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'a' && c <= 'f')
			c -= 'a' - 10;
		else if (c >= 'A' && c <= 'F')
			c -= 'A' - 10;
		else
			return false;
		*u = *u << 4 | (unsigned int)c;
	}
	return true;
}

/*
 * RFC 8259 8.1 and 8.2, RFC 7493 2.1: the bytes in strings are UTF-8 and
 * \u escapes of surrogates come in high-low pairs.  yajl checks neither
 * fully (Debian's 2.1.0, checked): it passes overlong forms, encoded
 * surrogates and code points beyond U+10FFFF, turns a lone \uD800 into
 * '?', encodes a lone \uDC00 as the surrogate ED B0 80, and combines
 * \uD800\u0041 into U+10041.  So the strings are checked here first, and
 * exactly.  Outside strings of valid text the scan has nothing to say; in
 * text that is not valid, yajl refuses it anyway.  Returns an error or
 * NULL, with the offending offset in *off_r.
 */
static const char *
jp_prescan(const uint8_t *p, size_t len, size_t *off_r)
{
	size_t i = 0, n;
	unsigned int u, lo;
	bool instr = false;

	while (i < len) {
		*off_r = i;
		if (!instr || p[i] == '"') {
			instr = instr ? false : p[i] == '"';
			i++;
			continue;
		}
		if (p[i] == '\\') {
			if (i + 1 < len && p[i + 1] == 'u' &&
			    hex4(p + i + 2, len - i - 2, &u)) {
				if (u < 0xd800 || u > 0xdfff) {
					i += 6;
					continue;
				}
				if (u >= 0xdc00 || i + 8 > len ||
				    p[i + 6] != '\\' || p[i + 7] != 'u' ||
				    !hex4(p + i + 8, len - i - 8, &lo) ||
				    lo < 0xdc00 || lo > 0xdfff)
					return "unpaired surrogate escape";
				i += 12;
				continue;
			}
			i += 2;
			continue;
		}
		if ((n = json_utf8_seq(p + i, len - i)) == 0)
			return "invalid UTF-8";
		i += n;
	}
	return NULL;
}

/* Runs yajl over the text; returns an error (in jp->err or from yajl). */
static int
jp_run(struct json_parser *jp, const uint8_t *p, size_t len, char *err,
    size_t errlen)
{
	yajl_handle h;
	yajl_status st;
	unsigned char *ye;
	size_t off, n;

	if ((h = yajl_alloc(&jp_callbacks, NULL, jp)) == NULL)
		fatalx("yajl_alloc failed");
	st = yajl_parse(h, p, len);
	off = yajl_get_bytes_consumed(h);
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(h);
		off = len;
	}
	if (st == yajl_status_ok) {
		yajl_free(h);
		return 0;
	}
	if (st == yajl_status_client_canceled)
		snprintf(err, errlen, "%s at offset %zu", jp->err, off);
	else {
		ye = yajl_get_error(h, 0, p, len);
		n = ye == NULL ? 0 : strcspn((char *)ye, "\n");
		while (n > 0 && (ye[n - 1] == '.' || ye[n - 1] == ' '))
			n--;
		snprintf(err, errlen, "%.*s at offset %zu", (int)n,
		    ye == NULL ? "" : (char *)ye, off);
		if (ye != NULL)
			yajl_free_error(h, ye);
	}
	yajl_free(h);
	return -1;
}

int
json_parse(const void *p, size_t len, const struct json_limits *lim,
    struct json **v_r, char *err, size_t errlen)
{
	struct json_parser jp;
	const char *e;
	size_t off;
	int r;

	*v_r = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (len == 0) {
		snprintf(err, errlen, "empty input at offset 0");
		return -1;
	}
	if ((e = jp_prescan(p, len, &off)) != NULL) {
		snprintf(err, errlen, "%s at offset %zu", e, off);
		return -1;
	}
	memset(&jp, 0, sizeof(jp));
	jp.lim = lim;
	r = jp_run(&jp, p, len, err, errlen);
	free(jp.stack);
	free(jp.key);
	if (r == -1) {
		json_free(&jp.root);
		return -1;
	}
	*v_r = jp.root;
	return 0;
}
