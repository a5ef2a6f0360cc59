/* SPDX-License-Identifier: ISC */
/*
 * json_write.c: JSON text out (RFC 8259).  json_write serializes a tree
 * built by json.c; the json_out_* calls stream a document into a buffer
 * without one, for replies too large to build as a tree first.  Both
 * escape only what RFC 8259 7 requires and turn bytes that are not UTF-8
 * into U+FFFD, so that what goes out is always valid I-JSON text.
 */
#include "json_int.h"
#include "buf.h"
#include "log.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writer. */

/* RFC 8259 7: '"', '\\' and U+0000-U+001F must be escaped, nothing else. */
static void
write_str(struct buf *b, const uint8_t *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
	size_t i = 0, run, n;
	uint8_t c;

	buf_append(b, "\"", 1);
	while (i < len) {
		for (run = i; run < len; run += n) {
			c = p[run];
			if (c < 0x20 || c == '"' || c == '\\')
				break;
			if ((n = json_utf8_seq(p + run, len - run)) == 0)
				break;
		}
		buf_append(b, p + i, run - i);
		if ((i = run) == len)
			break;
		c = p[i++];
		switch (c) {
		case '"':
			buf_append(b, "\\\"", 2);
			break;
		case '\\':
			buf_append(b, "\\\\", 2);
			break;
		case '\b':
			buf_append(b, "\\b", 2);
			break;
		case '\f':
			buf_append(b, "\\f", 2);
			break;
		case '\n':
			buf_append(b, "\\n", 2);
			break;
		case '\r':
			buf_append(b, "\\r", 2);
			break;
		case '\t':
			buf_append(b, "\\t", 2);
			break;
		default:
			if (c >= 0x80) {
				/* Not UTF-8: U+FFFD keeps the output JSON. */
				buf_append(b, "\xef\xbf\xbd", 3);
				break;
			}
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			buf_append(b, esc, 6);
			break;
		}
	}
	buf_append(b, "\"", 1);
}

/* The shortest of %.15g, %.16g, %.17g that reads back as d. */
static void
write_double(struct buf *b, double d)
{
	char s[32];
	int prec;

	if (!isfinite(d)) {
		buf_append(b, "null", 4);
		return;
	}
	/* "-0" would read back as the integer 0; keep it a double. */
	if (d == 0 && signbit(d)) {
		buf_append(b, "-0.0", 4);
		return;
	}
	for (prec = 15; prec < 17; prec++) {
		snprintf(s, sizeof(s), "%.*g", prec, d);
		if (strtod(s, NULL) == d)
			break;
	}
	if (prec == 17)
		snprintf(s, sizeof(s), "%.17g", d);
	buf_append(b, s, strlen(s));
}

void
json_write(struct buf *out, const struct json *v)
{
	size_t i;

	switch (v->type) {
	case JSON_NULL:
		buf_append(out, "null", 4);
		break;
	case JSON_BOOL:
		if (v->u.b)
			buf_append(out, "true", 4);
		else
			buf_append(out, "false", 5);
		break;
	case JSON_NUMBER:
		if (v->u.num.is_int)
			buf_printf(out, "%" PRId64, v->u.num.i);
		else
			write_double(out, v->u.num.d);
		break;
	case JSON_STRING:
		write_str(out, (const uint8_t *)v->u.str.p, v->u.str.len);
		break;
	case JSON_ARRAY:
		buf_append(out, "[", 1);
		for (i = 0; i < v->u.arr.n; i++) {
			if (i > 0)
				buf_append(out, ",", 1);
			json_write(out, v->u.arr.v[i]);
		}
		buf_append(out, "]", 1);
		break;
	case JSON_OBJECT:
		buf_append(out, "{", 1);
		for (i = 0; i < v->u.obj.n; i++) {
			if (i > 0)
				buf_append(out, ",", 1);
			write_str(out, (const uint8_t *)v->u.obj.m[i].name,
			    strlen(v->u.obj.m[i].name));
			buf_append(out, ":", 1);
			json_write(out, v->u.obj.m[i].value);
		}
		buf_append(out, "}", 1);
		break;
	}
}

/* Streaming writer. */

void
json_out_init(struct json_out *o, struct buf *b)
{
	memset(o, 0, sizeof(*o));
	o->b = b;
}

/* Before any value: the comma, or the check that its key came first. */
static void
out_pre_value(struct json_out *o)
{
	uint64_t bit;

	if (o->depth == 0)
		return;
	bit = 1ULL << (o->depth - 1);
	if (o->isobj & bit) {
		if (!o->key)
			fatalx("json_out: object value without a key");
		o->key = false;
		return;
	}
	if (!(o->first & bit))
		buf_append(o->b, ",", 1);
	o->first &= ~bit;
}

static void
out_begin(struct json_out *o, bool isobj)
{
	uint64_t bit;

	out_pre_value(o);
	if (o->depth == JSON_OUT_MAX_DEPTH)
		fatalx("json_out: nesting deeper than %d", JSON_OUT_MAX_DEPTH);
	bit = 1ULL << o->depth++;
	o->first |= bit;
	if (isobj)
		o->isobj |= bit;
	else
		o->isobj &= ~bit;
	buf_append(o->b, isobj ? "{" : "[", 1);
}

static void
out_end(struct json_out *o, bool isobj)
{
	uint64_t bit;

	if (o->depth == 0 || o->key)
		fatalx("json_out: unbalanced end");
	bit = 1ULL << (o->depth - 1);
	if (((o->isobj & bit) != 0) != isobj)
		fatalx("json_out: end of the wrong container");
	o->depth--;
	buf_append(o->b, isobj ? "}" : "]", 1);
}

void
json_out_begin_object(struct json_out *o)
{
	out_begin(o, true);
}

void
json_out_end_object(struct json_out *o)
{
	out_end(o, true);
}

void
json_out_begin_array(struct json_out *o)
{
	out_begin(o, false);
}

void
json_out_end_array(struct json_out *o)
{
	out_end(o, false);
}

void
json_out_key(struct json_out *o, const char *name)
{
	uint64_t bit;

	if (o->depth == 0 || o->key)
		fatalx("json_out: key outside an object");
	bit = 1ULL << (o->depth - 1);
	if (!(o->isobj & bit))
		fatalx("json_out: key outside an object");
	if (!(o->first & bit))
		buf_append(o->b, ",", 1);
	o->first &= ~bit;
	write_str(o->b, (const uint8_t *)name, strlen(name));
	buf_append(o->b, ":", 1);
	o->key = true;
}

void
json_out_str(struct json_out *o, const void *p, size_t len)
{
	out_pre_value(o);
	write_str(o->b, p, len);
}

void
json_out_strz(struct json_out *o, const char *s)
{
	json_out_str(o, s, strlen(s));
}

void
json_out_int(struct json_out *o, int64_t i)
{
	out_pre_value(o);
	buf_printf(o->b, "%" PRId64, i);
}

void
json_out_bool(struct json_out *o, bool b)
{
	out_pre_value(o);
	if (b)
		buf_append(o->b, "true", 4);
	else
		buf_append(o->b, "false", 5);
}

void
json_out_null(struct json_out *o)
{
	out_pre_value(o);
	buf_append(o->b, "null", 4);
}

void
json_out_value(struct json_out *o, const struct json *v)
{
	out_pre_value(o);
	json_write(o->b, v);
}
