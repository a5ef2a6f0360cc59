/* SPDX-License-Identifier: ISC */
/*
 * test_json.c: the JSON layer (json.h): parse and write round trips, each
 * parser limit and its message, duplicate member names, invalid UTF-8 and
 * surrogate escapes, nesting far beyond the limit, JMAP Int bounds, the
 * writer's escapes and numbers, the tree builders and the object index,
 * json_equal, the streaming writer, and JSON Pointer with the examples of
 * RFC 6901 5 and RFC 8620 3.7.
 */
#include "harness.h"
#include "buf.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct json_limits lim_dflt = { 64, 100000, 1 << 20 };
static char perr_buf[256];

/* Parses len bytes at s with lim; NULL on error (message in perr_buf). */
static struct json *
parse_lim(const char *s, size_t len, const struct json_limits *lim)
{
	struct json *v;

	perr_buf[0] = '\0';
	if (json_parse(s, len, lim, &v, perr_buf, sizeof(perr_buf)) == -1) {
		if (v != NULL)
			harness_fail(__FILE__, __LINE__, "error with a tree");
		return NULL;
	}
	return v;
}

static struct json *
parse(const char *s)
{
	return parse_lim(s, strlen(s), &lim_dflt);
}

/* The error for s under lim, or "ok". */
static const char *
perr_lim(const char *s, size_t len, const struct json_limits *lim)
{
	struct json *v = parse_lim(s, len, lim);

	if (v != NULL) {
		json_free(&v);
		return "ok";
	}
	return perr_buf;
}

static const char *
perr(const char *s)
{
	return perr_lim(s, strlen(s), &lim_dflt);
}

/* v written as text (static, overwritten by the next call). */
static const char *
text(const struct json *v)
{
	static char s[4096];
	struct buf b = BUF_INIT;

	json_write(&b, v);
	snprintf(s, sizeof(s), "%.*s", (int)b.len, (const char *)b.data);
	buf_clear(&b);
	return s;
}

/* in parsed and written again, or its parse error. */
static const char *
rt(const char *in)
{
	struct json *v = parse(in);
	const char *s;

	if (v == NULL)
		return perr_buf;
	s = text(v);
	json_free(&v);
	return s;
}

TEST(round_trip)
{
	CHECK_STR(rt("{ \"a\" : [1, 2.5, -3, true, false, null, \"x\"] }\n"),
	    "{\"a\":[1,2.5,-3,true,false,null,\"x\"]}");
	CHECK_STR(rt(" [ ] "), "[]");
	CHECK_STR(rt("{}"), "{}");
	CHECK_STR(rt("\"\""), "\"\"");
	CHECK_STR(rt("null"), "null");
	CHECK_STR(rt("0"), "0");
	CHECK_STR(rt("-0"), "0");
	CHECK_STR(rt("1e3"), "1000");
	CHECK_STR(rt("0.1"), "0.1");
	CHECK_STR(rt("1.5E300"), "1.5e+300");
	CHECK_STR(rt("-2.5e-3"), "-0.0025");
	CHECK_STR(rt("123456789012345678"), "123456789012345678");
	CHECK_STR(rt("9223372036854775807"), "9223372036854775807");
	CHECK_STR(rt("-9223372036854775808"), "-9223372036854775808");
	/* Beyond int64: kept as a double. */
	CHECK_STR(rt("9223372036854775808"), "9.223372036854776e+18");
	/* Member order is the document's. */
	CHECK_STR(rt("{\"z\":1,\"a\":{\"y\":[],\"b\":{}}}"),
	    "{\"z\":1,\"a\":{\"y\":[],\"b\":{}}}");
	/* Escapes: only '"', '\\' and controls are escaped on output. */
	CHECK_STR(rt("\"\\u00e9\\/\\b\\f\\n\\r\\t\\u0001\\u001F\\\"\\\\\x7f\""),
	    "\"\xc3\xa9/\\b\\f\\n\\r\\t\\u0001\\u001f\\\"\\\\\x7f\"");
	CHECK_STR(rt("\"\xe2\x82\xac \xf0\x9f\x98\x80\""),
	    "\"\xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST(syntax_errors)
{
	CHECK_STR(perr(""), "empty input at offset 0");
	CHECK_STR(perr("   "), "parse error: premature EOF at offset 3");
	CHECK_STR(perr("1 2"), "parse error: trailing garbage at offset 3");
	CHECK_STR(perr("{} x"), "parse error: trailing garbage at offset 4");
	CHECK_STR(perr("[1,]"), "parse error: unallowed token at this point "
	    "in JSON text at offset 4");
	CHECK_STR(perr("tru"),
	    "lexical error: invalid string in json text at offset 3");
	CHECK_STR(perr("\"abc"), "parse error: premature EOF at offset 4");
	CHECK(strcmp(perr("{\"a\" 1}"), "ok") != 0);
	CHECK(strcmp(perr("{\"a\":1,}"), "ok") != 0);
	CHECK(strcmp(perr("[1 2]"), "ok") != 0);
	CHECK(strcmp(perr("'a'"), "ok") != 0);
	CHECK(strcmp(perr("/* c */ 1"), "ok") != 0);
	CHECK(strcmp(perr("[1] // c"), "ok") != 0);
	CHECK(strcmp(perr("01"), "ok") != 0);
	CHECK(strcmp(perr("1."), "ok") != 0);
	CHECK(strcmp(perr(".5"), "ok") != 0);
	CHECK(strcmp(perr("-"), "ok") != 0);
	CHECK(strcmp(perr("\"a\tb\""), "ok") != 0);
	CHECK(strcmp(perr("\"\\x\""), "ok") != 0);
	CHECK(strcmp(perr("\"\\u12\""), "ok") != 0);
	CHECK(strcmp(perr("[1"), "ok") != 0);
	CHECK(strcmp(perr("NaN"), "ok") != 0);
	CHECK(strcmp(perr("Infinity"), "ok") != 0);
	/* A raw NUL outside a string is garbage too. */
	CHECK(strcmp(perr_lim("1\0", 2, &lim_dflt), "ok") != 0);
	/* Raw controls, NUL too, must be escaped inside strings. */
	CHECK_STR(perr_lim("\"a\0b\"", 5, &lim_dflt), "lexical error: "
	    "invalid character inside string at offset 2");
}

TEST(limit_depth)
{
	struct json_limits lim = { 3, 1000, 1000 };
	char deep[200001];

	CHECK_STR(perr_lim("[[[1]]]", 7, &lim), "ok");
	CHECK_STR(perr_lim("[[[[1]]]]", 9, &lim),
	    "nesting deeper than 3 at offset 4");
	CHECK_STR(perr_lim("{\"a\":{\"b\":{\"c\":{}}}}", 20, &lim),
	    "nesting deeper than 3 at offset 16");
	CHECK_STR(perr_lim("{\"a\":{\"b\":{\"c\":1}}}", 19, &lim), "ok");
	lim.max_depth = 1;
	CHECK_STR(perr_lim("1", 1, &lim), "ok");
	CHECK_STR(perr_lim("[]", 2, &lim), "ok");
	CHECK_STR(perr_lim("[{}]", 4, &lim),
	    "nesting deeper than 1 at offset 2");
	/* Far beyond the limit: stops at the limit, no deep recursion. */
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	CHECK_STR(perr_lim(deep, strlen(deep), &lim_dflt),
	    "nesting deeper than 64 at offset 65");
}

TEST(limit_nodes)
{
	struct json_limits lim = { 10, 3, 1000 };

	CHECK_STR(perr_lim("[1,2]", 5, &lim), "ok");
	CHECK_STR(perr_lim("[1,2,3]", 7, &lim),
	    "more than 3 values at offset 6");
	CHECK_STR(perr_lim("{\"a\":1,\"b\":[]}", 14, &lim), "ok");
	CHECK_STR(perr_lim("{\"a\":1,\"b\":[{}]}", 16, &lim),
	    "more than 3 values at offset 13");
	CHECK_STR(perr_lim("[\"a\",null]", 10, &lim), "ok");
	CHECK_STR(perr_lim("[\"a\",null,true]", 15, &lim),
	    "more than 3 values at offset 14");
}

TEST(limit_string)
{
	struct json_limits lim = { 10, 100, 3 };

	CHECK_STR(perr_lim("\"abc\"", 5, &lim), "ok");
	CHECK_STR(perr_lim("\"abcd\"", 6, &lim),
	    "string longer than 3 bytes at offset 6");
	/* The limit is on the bytes after unescaping. */
	CHECK_STR(perr_lim("\"\\u0061\\u0062\\u0063\"", 20, &lim), "ok");
	CHECK_STR(perr_lim("\"\\u00e9\\u00e9\"", 14, &lim),
	    "string longer than 3 bytes at offset 14");
	CHECK_STR(perr_lim("{\"abc\":1}", 9, &lim), "ok");
	CHECK_STR(perr_lim("{\"abcd\":1}", 10, &lim),
	    "member name longer than 3 bytes at offset 7");
	CHECK_STR(perr_lim("[123]", 5, &lim), "ok");
	CHECK_STR(perr_lim("[1234]", 6, &lim),
	    "number longer than 3 bytes at offset 5");
}

TEST(duplicates)
{
	struct buf b = BUF_INIT;
	char name[8];
	int i;

	CHECK_STR(perr("{\"a\":1,\"a\":2}"),
	    "duplicate member name \"a\" at offset 10");
	CHECK_STR(perr("{\"a\":1,\"\\u0061\":2}"),
	    "duplicate member name \"a\" at offset 15");
	CHECK_STR(perr("{\"a\":{\"a\":1},\"b\":{\"a\":2}}"), "ok");
	CHECK_STR(perr("{\"\":1,\"\":2}"),
	    "duplicate member name \"\" at offset 8");
	CHECK_STR(perr("{\"a\\u0000b\":1}"),
	    "member name with U+0000 at offset 11");
	/* Big objects are checked when they end, through the index. */
	buf_append(&b, "{", 1);
	for (i = 0; i < 40; i++)
		buf_printf(&b, "%s\"k%d\":%d", i > 0 ? "," : "", i, i);
	buf_append(&b, "}", 1);
	CHECK_STR(perr_lim((char *)b.data, b.len, &lim_dflt), "ok");
	b.len--;
	buf_append(&b, ",\"k3\":0}", 8);
	snprintf(name, sizeof(name), "%d", (int)b.len);
	CHECK(strncmp(perr_lim((char *)b.data, b.len, &lim_dflt),
	    "duplicate member name \"k3\" in object at offset ", 47) == 0);
	CHECK(strcmp(perr_buf + 47, name) == 0);
	buf_clear(&b);
}

TEST(bad_utf8)
{
	CHECK_STR(perr("\"\xc3\xa9\""), "ok");
	CHECK_STR(perr("\"ab\xc3\""), "invalid UTF-8 at offset 3");
	CHECK_STR(perr("\"\xc0\x80\""), "invalid UTF-8 at offset 1");
	CHECK_STR(perr("\"\xe0\x80\xaf\""), "invalid UTF-8 at offset 1");
	CHECK_STR(perr("\"\xed\xa0\x80\""), "invalid UTF-8 at offset 1");
	CHECK_STR(perr("\"\xf4\x90\x80\x80\""), "invalid UTF-8 at offset 1");
	CHECK_STR(perr("\"\xf0\x8f\xbf\xbf\""), "invalid UTF-8 at offset 1");
	CHECK_STR(perr("\"\xff\""), "invalid UTF-8 at offset 1");
	CHECK_STR(perr("\"\x80\""), "invalid UTF-8 at offset 1");
	CHECK_STR(perr("{\"\xc3\x28\":1}"), "invalid UTF-8 at offset 2");
	/* Outside strings, non-ASCII is yajl's syntax error. */
	CHECK(strcmp(perr("[\xc3\xa9]"), "ok") != 0);

	CHECK(json_utf8_valid("", 0));
	CHECK(json_utf8_valid("a\0b", 3));
	CHECK(json_utf8_valid("\xc2\x80\xdf\xbf", 4));
	CHECK(json_utf8_valid("\xe0\xa0\x80\xef\xbf\xbf", 6));
	CHECK(json_utf8_valid("\xed\x9f\xbf\xee\x80\x80", 6));
	CHECK(json_utf8_valid("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8));
	CHECK(!json_utf8_valid("\xc1\xbf", 2));
	CHECK(!json_utf8_valid("\xe0\x9f\xbf", 3));
	CHECK(!json_utf8_valid("\xed\xbf\xbf", 3));
	CHECK(!json_utf8_valid("\xf4\x90\x80\x80", 4));
	CHECK(!json_utf8_valid("\xf5\x80\x80\x80", 4));
	CHECK(!json_utf8_valid("\xe2\x82", 2));
	CHECK(!json_utf8_valid("\xe2\x28\xac", 3));
}

TEST(integers)
{
	struct json *v;
	int64_t i;
	double d;

	v = parse("9007199254740991");
	CHECK(v != NULL && json_int(v, &i) == 0 && i == JSON_INT_MAX);
	json_free(&v);
	v = parse("-9007199254740991");
	CHECK(v != NULL && json_int(v, &i) == 0 && i == JSON_INT_MIN);
	json_free(&v);
	v = parse("9007199254740992");
	CHECK(v != NULL && json_int(v, &i) == -1);
	CHECK(v != NULL && json_double(v, &d) == 0 && d == 9007199254740992.0);
	CHECK_STR(text(v), "9007199254740992");
	json_free(&v);
	v = parse("-9007199254740992");
	CHECK(v != NULL && json_int(v, &i) == -1);
	json_free(&v);
	v = parse("0");
	CHECK(v != NULL && json_int(v, &i) == 0 && i == 0);
	json_free(&v);
	/* JMAP's Int is written as an integer: no fraction, no exponent. */
	v = parse("1.0");
	CHECK(v != NULL && json_int(v, &i) == -1);
	CHECK(v != NULL && json_double(v, &d) == 0 && d == 1.0);
	json_free(&v);
	v = parse("1e3");
	CHECK(v != NULL && json_int(v, &i) == -1);
	json_free(&v);
	v = parse("\"1\"");
	CHECK(v != NULL && json_int(v, &i) == -1 && json_double(v, &d) == -1);
	json_free(&v);
	CHECK_STR(perr("1e400"), "number out of range at offset 5");
	CHECK_STR(perr("[-1e400]"), "number out of range at offset 7");
	/* Underflow is not refused: it reads as zero or a denormal. */
	CHECK_STR(rt("1e-400"), "0");
	v = json_new_int(INT64_MAX);
	CHECK(json_int(v, &i) == -1);
	CHECK_STR(text(v), "9223372036854775807");
	json_free(&v);
	v = json_new_double(3.0);
	CHECK(json_int(v, &i) == -1);
	json_free(&v);
}

TEST(escapes)
{
	struct json *v;
	const char *s;
	size_t len;

	/* yajl joins a surrogate pair into one UTF-8 sequence. */
	v = parse("\"\\ud83d\\ude00|\\uD834\\uDD1E\"");
	CHECK(v != NULL);
	s = v == NULL ? NULL : json_str(v, &len);
	CHECK(s != NULL && len == 9 &&
	    memcmp(s, "\xf0\x9f\x98\x80|\xf0\x9d\x84\x9e", 9) == 0);
	json_free(&v);
	/* U+0000 is allowed inside strings; the length tells. */
	v = parse("\"a\\u0000b\"");
	s = v == NULL ? NULL : json_str(v, &len);
	CHECK(s != NULL && len == 3 && memcmp(s, "a\0b", 4) == 0);
	CHECK(v != NULL && strcmp(text(v), "\"a\\u0000b\"") == 0);
	json_free(&v);
	v = parse("\"\\u20ac\\u07ff\\u0080\"");
	s = v == NULL ? NULL : json_str(v, &len);
	CHECK(s != NULL && len == 7 &&
	    memcmp(s, "\xe2\x82\xac\xdf\xbf\xc2\x80", 7) == 0);
	json_free(&v);
	/*
	 * Lone or mismatched surrogates are refused here (RFC 7493 2.1).
	 * yajl alone gives "?" for \ud800, the invalid ED B0 80 for
	 * \udc00, and U+10041 for \ud800\u0041.
	 */
	CHECK_STR(perr("\"\\ud800\""), "unpaired surrogate escape at offset 1");
	CHECK_STR(perr("\"ab\\udc00\""),
	    "unpaired surrogate escape at offset 3");
	CHECK_STR(perr("\"\\ud800x\""),
	    "unpaired surrogate escape at offset 1");
	CHECK_STR(perr("\"\\ud800\\u0041\""),
	    "unpaired surrogate escape at offset 1");
	CHECK_STR(perr("\"\\ud800\\ud800\""),
	    "unpaired surrogate escape at offset 1");
	CHECK_STR(perr("\"\\ude00\\ud83d\""),
	    "unpaired surrogate escape at offset 1");
	CHECK_STR(perr("{\"\\udfff\":1}"),
	    "unpaired surrogate escape at offset 2");
	/* An escaped backslash before "u" is no escape. */
	CHECK_STR(perr("\"\\\\ud800\""), "ok");
}

TEST(writer)
{
	struct json *v;

	v = json_new_str("a\x01\x1f\"\\/\n\xc3\xa9\xe2\x82", 11);
	CHECK_STR(text(v), "\"a\\u0001\\u001f\\\"\\\\/\\n\xc3\xa9\xef\xbf\xbd"
	    "\xef\xbf\xbd\"");
	json_free(&v);
	v = json_new_str("\xff\xc3\xa9", 3);
	CHECK_STR(text(v), "\"\xef\xbf\xbd\xc3\xa9\"");
	json_free(&v);
	v = json_new_double(NAN);
	CHECK_STR(text(v), "null");
	json_free(&v);
	v = json_new_double(-INFINITY);
	CHECK_STR(text(v), "null");
	json_free(&v);
	v = json_new_double(0.1 + 0.2);
	CHECK_STR(text(v), "0.30000000000000004");
	json_free(&v);
	v = json_new_double(1.0 / 3.0);
	CHECK_STR(text(v), "0.3333333333333333");
	json_free(&v);
	/* -0.0 stays a double through a round trip. */
	v = json_new_double(-0.0);
	CHECK_STR(text(v), "-0.0");
	json_free(&v);
	CHECK_STR(rt("-0.0"), "-0.0");
	CHECK_STR(rt("-1e-400"), "-0.0");
	v = json_new_double(1e21);
	CHECK_STR(text(v), "1e+21");
	json_free(&v);
	v = json_new_int(-42);
	CHECK_STR(text(v), "-42");
	json_free(&v);
}

TEST(builders)
{
	struct json *o, *a, *v;
	const char *name;
	size_t len;
	bool b;

	o = json_new_object();
	json_object_set(o, "b", json_new_bool(true));
	json_object_set(o, "a", json_new_null());
	a = json_new_array();
	json_array_add(a, json_new_strz("x"));
	json_array_add(a, json_new_str("y\0z", 3));
	json_array_add(a, json_new_int(7));
	json_object_set(o, "list", a);
	CHECK_STR(text(o),
	    "{\"b\":true,\"a\":null,\"list\":[\"x\",\"y\\u0000z\",7]}");
	/* Replacing keeps the place. */
	json_object_set(o, "b", json_new_bool(false));
	CHECK_STR(text(o),
	    "{\"b\":false,\"a\":null,\"list\":[\"x\",\"y\\u0000z\",7]}");
	CHECK_INT(json_len(o), 3);
	CHECK(json_type(json_get(o, "b")) == JSON_BOOL);
	CHECK(json_bool(json_get(o, "b"), &b) == 0 && !b);
	CHECK(json_bool(json_get(o, "a"), &b) == -1);
	CHECK(json_get(o, "c") == NULL);
	CHECK(json_get(a, "b") == NULL);
	CHECK_INT(json_len(a), 3);
	CHECK_STR(json_str(json_at(a, 0), &len), "x");
	CHECK(json_str(json_at(a, 1), &len) != NULL && len == 3);
	CHECK(json_at(a, 3) == NULL);
	CHECK(json_at(o, 0) == NULL);
	CHECK(json_str(json_at(a, 2), NULL) == NULL);
	CHECK(json_member(o, 1, &name) != NULL);
	CHECK_STR(name, "a");
	CHECK(json_member(o, 3, &name) == NULL);
	CHECK(json_member(a, 0, &name) == NULL);
	CHECK_INT(json_object_del(o, "a"), 0);
	CHECK_INT(json_object_del(o, "a"), -1);
	CHECK_STR(text(o), "{\"b\":false,\"list\":[\"x\",\"y\\u0000z\",7]}");
	v = json_object_take(o, "list");
	CHECK(v == a);
	CHECK_STR(text(o), "{\"b\":false}");
	CHECK(json_object_take(o, "list") == NULL);
	json_free(&v);
	CHECK(v == NULL);
	v = json_dup(o);
	CHECK(v != o && json_equal(v, o));
	json_free(&v);
	json_free(&o);
	CHECK(o == NULL);
	json_free(&o);
}

/*
 * Many members: the index must agree with the order kept in the array
 * through sets, replacements and deletions.
 */
TEST(big_object)
{
	struct json *o, *d, *v;
	char name[16];
	const char *mname;
	int64_t x;
	int i, bad = 0;

	o = json_new_object();
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "m%d", (i * 7919) % 300);
		json_object_set(o, name, json_new_int(i));
	}
	CHECK_INT(json_len(o), 300);
	for (i = 0; i < 300; i += 3) {
		snprintf(name, sizeof(name), "m%d", i);
		if (json_object_del(o, name) != 0)
			bad++;
	}
	for (i = 1; i < 300; i += 3) {
		snprintf(name, sizeof(name), "m%d", i);
		json_object_set(o, name, json_new_int(-i));
	}
	CHECK_INT(bad, 0);
	CHECK_INT(json_len(o), 200);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		v = json_get(o, name);
		if (i % 3 == 0 ? v != NULL : v == NULL)
			bad++;
		else if (i % 3 == 1 && (json_int(v, &x) != 0 || x != -i))
			bad++;
	}
	CHECK_INT(bad, 0);
	/* Iteration still in insertion order; each member findable. */
	for (i = 0; i < 200; i++) {
		v = json_member(o, (size_t)i, &mname);
		if (v == NULL || json_get(o, mname) != v)
			bad++;
	}
	CHECK_INT(bad, 0);
	/* Down to below the index threshold and up again. */
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		if (i >= 10)
			(void)json_object_del(o, name);
	}
	CHECK_INT(json_len(o), 6);
	d = parse(text(o));
	CHECK(d != NULL && json_equal(d, o));
	json_free(&d);
	for (i = 100; i < 130; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		json_object_set(o, name, json_new_int(i));
	}
	CHECK_INT(json_len(o), 36);
	CHECK(json_get(o, "m129") != NULL && json_get(o, "m1") != NULL);
	CHECK(json_get(o, "m10") == NULL);
	d = json_dup(o);
	CHECK(json_equal(d, o));
	CHECK(json_get(d, "m129") != NULL && json_get(d, "m13") == NULL);
	json_free(&d);
	json_free(&o);
}

TEST(equal)
{
	struct json *a, *b;

	a = parse("{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":\"x\"}");
	b = parse("{\"d\":\"x\",\"b\":[1,2.0,{\"c\":null}],\"a\":1e0}");
	CHECK(a != NULL && b != NULL && json_equal(a, b));
	json_free(&b);
	b = parse("{\"d\":\"x\",\"b\":[2,1,{\"c\":null}],\"a\":1}");
	CHECK(b != NULL && !json_equal(a, b));
	json_free(&b);
	b = parse("{\"a\":1,\"b\":[1,2,{\"c\":null}]}");
	CHECK(b != NULL && !json_equal(a, b));
	json_free(&b);
	b = parse("{\"a\":1,\"b\":[1,2,{\"c\":null}],\"e\":\"x\"}");
	CHECK(b != NULL && !json_equal(a, b));
	json_free(&b);
	b = parse("{\"a\":1,\"b\":[1,2,{\"c\":false}],\"d\":\"x\"}");
	CHECK(b != NULL && !json_equal(a, b));
	json_free(&b);
	json_free(&a);
	a = json_new_str("a\0b", 3);
	b = json_new_str("a\0c", 3);
	CHECK(!json_equal(a, b));
	json_free(&b);
	b = json_new_str("a", 1);
	CHECK(!json_equal(a, b));
	json_free(&b);
	json_free(&a);
	/* Big ints compare exactly, not through a double. */
	a = json_new_int(9007199254740993LL);
	b = json_new_double(9007199254740992.0);
	CHECK(!json_equal(a, b));
	json_free(&b);
	b = json_new_int(9007199254740993LL);
	CHECK(json_equal(a, b));
	json_free(&b);
	json_free(&a);
	a = json_new_int(0);
	b = json_new_double(-0.0);
	CHECK(json_equal(a, b));
	json_free(&b);
	b = json_new_null();
	CHECK(!json_equal(a, b));
	json_free(&b);
	json_free(&a);
	a = json_new_bool(true);
	b = json_new_bool(true);
	CHECK(json_equal(a, b));
	json_free(&b);
	json_free(&a);
}

TEST(stream)
{
	struct buf b = BUF_INIT;
	struct json_out o;
	struct json *v;

	json_out_init(&o, &b);
	json_out_begin_object(&o);
	json_out_key(&o, "methodResponses");
	json_out_begin_array(&o);
	json_out_begin_array(&o);
	json_out_strz(&o, "Foo/get");
	json_out_begin_object(&o);
	json_out_key(&o, "list");
	json_out_begin_array(&o);
	json_out_end_array(&o);
	json_out_key(&o, "n");
	json_out_int(&o, -5);
	json_out_key(&o, "t");
	json_out_bool(&o, true);
	json_out_key(&o, "f");
	json_out_bool(&o, false);
	json_out_key(&o, "z");
	json_out_null(&o);
	json_out_key(&o, "q\"");
	json_out_str(&o, "a\0\n", 3);
	json_out_key(&o, "e");
	json_out_begin_object(&o);
	json_out_end_object(&o);
	json_out_end_object(&o);
	json_out_strz(&o, "c0");
	json_out_end_array(&o);
	v = parse("{\"x\" : [1, {}]}");
	json_out_value(&o, v);
	json_out_value(&o, v);
	json_free(&v);
	json_out_end_array(&o);
	json_out_key(&o, "sessionState");
	json_out_strz(&o, "s1");
	json_out_end_object(&o);
	buf_append(&b, "", 1);
	CHECK_STR((char *)b.data,
	    "{\"methodResponses\":[[\"Foo/get\",{\"list\":[],\"n\":-5,"
	    "\"t\":true,\"f\":false,\"z\":null,\"q\\\"\":\"a\\u0000\\n\","
	    "\"e\":{}},\"c0\"],{\"x\":[1,{}]},{\"x\":[1,{}]}],"
	    "\"sessionState\":\"s1\"}");
	CHECK_INT(o.depth, 0);
	buf_reset(&b);
	json_out_init(&o, &b);
	json_out_int(&o, 3);
	CHECK(b.len == 1 && b.data[0] == '3');
	buf_clear(&b);
}

/* ptr evaluated at doc, written, or the error. */
static const char *
ptr(const struct json *doc, const char *p)
{
	static char e[128];
	struct json *r;

	if (json_pointer_eval(doc, p, &r, e, sizeof(e)) == -1) {
		if (r != NULL)
			harness_fail(__FILE__, __LINE__, "error with a result");
		return e;
	}
	p = text(r);
	json_free(&r);
	return p;
}

/* RFC 6901 5, every example. */
TEST(pointer_rfc6901)
{
	struct json *d;

	d = parse("{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, "
	    "\"c%d\": 2, \"e^f\": 3, \"g|h\": 4, \"i\\\\j\": 5, "
	    "\"k\\\"l\": 6, \" \": 7, \"m~n\": 8}");
	CHECK(d != NULL);
	if (d == NULL)
		return;
	CHECK_STR(ptr(d, ""), "{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,"
	    "\"c%d\":2,\"e^f\":3,\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,"
	    "\" \":7,\"m~n\":8}");
	CHECK_STR(ptr(d, "/foo"), "[\"bar\",\"baz\"]");
	CHECK_STR(ptr(d, "/foo/0"), "\"bar\"");
	CHECK_STR(ptr(d, "/"), "0");
	CHECK_STR(ptr(d, "/a~1b"), "1");
	CHECK_STR(ptr(d, "/c%d"), "2");
	CHECK_STR(ptr(d, "/e^f"), "3");
	CHECK_STR(ptr(d, "/g|h"), "4");
	CHECK_STR(ptr(d, "/i\\j"), "5");
	CHECK_STR(ptr(d, "/k\"l"), "6");
	CHECK_STR(ptr(d, "/ "), "7");
	CHECK_STR(ptr(d, "/m~0n"), "8");
	/* And what does not resolve (RFC 6901 4, 7). */
	CHECK_STR(ptr(d, "/foo/1"), "\"baz\"");
	CHECK_STR(ptr(d, "/foo/2"), "no element \"2\"");
	CHECK_STR(ptr(d, "/foo/-"), "no element \"-\"");
	CHECK_STR(ptr(d, "/foo/01"), "no element \"01\"");
	CHECK_STR(ptr(d, "/foo/+1"), "no element \"+1\"");
	CHECK_STR(ptr(d, "/foo/"), "no element \"\"");
	CHECK_STR(ptr(d, "/foo/99999999999999999999999"),
	    "no element \"99999999999999999999999\"");
	CHECK_STR(ptr(d, "/a~1b/x"), "\"x\" applied to a scalar");
	CHECK_STR(ptr(d, "/nope"), "no member \"nope\"");
	CHECK_STR(ptr(d, "/a/b"), "no member \"a\"");
	CHECK_STR(ptr(d, "foo"), "pointer does not start with /");
	CHECK_STR(ptr(d, "/m~2n"), "pointer has ~ without 0 or 1");
	CHECK_STR(ptr(d, "/m~"), "pointer has ~ without 0 or 1");
	/* "*" on an object is a member name like any other. */
	CHECK_STR(ptr(d, "/*"), "no member \"*\"");
	json_free(&d);
	/* ~01 is "~1" unescaped once: the name is "~1", not "/". */
	d = parse("{\"~1\":\"t\",\"/\":\"s\"}");
	CHECK(d != NULL && strcmp(ptr(d, "/~01"), "\"t\"") == 0);
	CHECK(d != NULL && strcmp(ptr(d, "/~1"), "\"s\"") == 0);
	json_free(&d);
}

/* RFC 8620 3.7: the examples, and "*" in detail. */
TEST(pointer_jmap)
{
	struct json *d, *r;
	char e[64];

	d = parse("{\"accountId\":\"A1\",\"oldState\":\"abcdef\","
	    "\"newState\":\"123456\",\"hasMoreChanges\":false,"
	    "\"created\":[\"f1\",\"f4\"],\"updated\":[],\"destroyed\":[]}");
	CHECK(d != NULL && strcmp(ptr(d, "/created"), "[\"f1\",\"f4\"]") == 0);
	json_free(&d);
	d = parse("{\"accountId\":\"A1\",\"queryState\":\"abcdefg\","
	    "\"canCalculateChanges\":true,\"position\":0,\"total\":101,"
	    "\"ids\":[\"msg1023\",\"msg223\",\"msg110\",\"msg93\",\"msg91\","
	    "\"msg38\",\"msg36\",\"msg33\",\"msg11\",\"msg1\"]}");
	CHECK(d != NULL && strcmp(ptr(d, "/ids"), "[\"msg1023\",\"msg223\","
	    "\"msg110\",\"msg93\",\"msg91\",\"msg38\",\"msg36\",\"msg33\","
	    "\"msg11\",\"msg1\"]") == 0);
	json_free(&d);
	d = parse("{\"accountId\":\"A1\",\"state\":\"123456\",\"list\":["
	    "{\"id\":\"msg1023\",\"threadId\":\"trd194\"},"
	    "{\"id\":\"msg223\",\"threadId\":\"trd114\"}],\"notFound\":[]}");
	CHECK(d != NULL && strcmp(ptr(d, "/list/*/threadId"),
	    "[\"trd194\",\"trd114\"]") == 0);
	json_free(&d);
	/* Arrays from each element are flattened into one. */
	d = parse("{\"accountId\":\"A1\",\"state\":\"123456\",\"list\":["
	    "{\"id\":\"trd194\",\"emailIds\":[\"msg1020\",\"msg1021\","
	    "\"msg1023\"]},{\"id\":\"trd114\",\"emailIds\":[\"msg201\","
	    "\"msg223\"]}],\"notFound\":[]}");
	CHECK(d != NULL && strcmp(ptr(d, "/list/*/emailIds"),
	    "[\"msg1020\",\"msg1021\",\"msg1023\",\"msg201\","
	    "\"msg223\"]") == 0);
	CHECK(d != NULL && strcmp(ptr(d, "/list/*/emailIds/0"),
	    "[\"msg1020\",\"msg201\"]") == 0);
	/* One element that does not resolve fails the whole pointer. */
	CHECK(d != NULL && strcmp(ptr(d, "/list/*/emailIds/2"),
	    "no element \"2\"") == 0);
	CHECK(d != NULL && strcmp(ptr(d, "/list/*/nope"),
	    "no member \"nope\"") == 0);
	CHECK(d != NULL && strcmp(ptr(d, "/notFound/*/id"), "[]") == 0);
	CHECK(d != NULL && json_pointer_eval(d, "/list/*/x", &r, e,
	    sizeof(e)) == -1 && r == NULL);
	json_free(&d);
	/* Nested "*", and arrays of arrays flattened one level per "*". */
	d = parse("[[[1,2],[3]],[[4]],[]]");
	CHECK(d != NULL && strcmp(ptr(d, "/*"), "[[1,2],[3],[4]]") == 0);
	CHECK(d != NULL && strcmp(ptr(d, "/*/*"), "[1,2,3,4]") == 0);
	CHECK(d != NULL && strcmp(ptr(d, "/*/0"), "no element \"0\"") == 0);
	CHECK(d != NULL && strcmp(ptr(d, "/1/0/0"), "4") == 0);
	json_free(&d);
	d = parse("[[[1,2],[3]],[[4]],[5]]");
	CHECK(d != NULL && strcmp(ptr(d, "/*/0"), "[1,2,4,5]") == 0);
	json_free(&d);
	/* "*" on a scalar does not resolve. */
	d = parse("{\"a\":5}");
	CHECK(d != NULL && strcmp(ptr(d, "/a/*"),
	    "\"*\" applied to a scalar") == 0);
	json_free(&d);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(round_trip),
	TEST_ENTRY(syntax_errors),
	TEST_ENTRY(limit_depth),
	TEST_ENTRY(limit_nodes),
	TEST_ENTRY(limit_string),
	TEST_ENTRY(duplicates),
	TEST_ENTRY(bad_utf8),
	TEST_ENTRY(integers),
	TEST_ENTRY(escapes),
	TEST_ENTRY(writer),
	TEST_ENTRY(builders),
	TEST_ENTRY(big_object),
	TEST_ENTRY(equal),
	TEST_ENTRY(stream),
	TEST_ENTRY(pointer_rfc6901),
	TEST_ENTRY(pointer_jmap),
};

HARNESS_MAIN(tests)
