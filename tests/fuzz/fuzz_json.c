/* SPDX-License-Identifier: ISC */
/*
 * fuzz_json.c: libFuzzer target for the JSON parser (json.h).  The first
 * byte chooses tight or loose limits (bit 0x40) and the length of a JSON
 * Pointer (low 6 bits) taken from the bytes after it; the rest is the JSON
 * text.  A refused text must come with an error message holding an offset
 * and no tree.  An accepted one is written out; the output must be valid
 * UTF-8, parse again to a tree json_equal to the first, write again to the
 * same bytes, and match what the streaming writer and json_dup give.  The
 * pointer is evaluated on the tree (an error must leave no result; a
 * result must write and parse back to itself), and a copy of a top-level
 * object has every other member deleted, the rest still found by name.
 * Nothing may read out of bounds, leak or crash.
 */
#include "buf.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct json_limits fz_tight = { 8, 64, 32 };
static const struct json_limits fz_loose = { 64, 100000, 1 << 20 };

/* v written out must parse back to v and write to the same text. */
static void
fz_round_trip(const struct json *v, struct buf *t1)
{
	struct buf t2 = BUF_INIT, t3 = BUF_INIT;
	struct json_out o;
	struct json *w, *d;
	char err[128];

	json_write(t1, v);
	if (!json_utf8_valid(t1->data, t1->len))
		abort();
	if (json_parse(t1->data, t1->len, &fz_loose, &w, err,
	    sizeof(err)) == -1)
		abort();
	if (!json_equal(v, w) || !json_equal(w, v))
		abort();
	json_write(&t2, w);
	if (t2.len != t1->len || memcmp(t2.data, t1->data, t1->len) != 0)
		abort();
	json_out_init(&o, &t3);
	json_out_value(&o, v);
	if (t3.len != t1->len || memcmp(t3.data, t1->data, t1->len) != 0)
		abort();
	d = json_dup(v);
	if (!json_equal(d, v))
		abort();
	json_free(&d);
	json_free(&w);
	buf_clear(&t2);
	buf_clear(&t3);
}

static void
fz_pointer(const struct json *v, const char *ptr)
{
	struct json *r, *w;
	struct buf t = BUF_INIT;
	char err[128];

	if (json_pointer_eval(v, ptr, &r, err, sizeof(err)) == -1) {
		if (r != NULL || err[0] == '\0')
			abort();
		return;
	}
	json_write(&t, r);
	if (json_parse(t.data, t.len, &fz_loose, &w, err, sizeof(err)) == -1 ||
	    !json_equal(r, w))
		abort();
	/* The empty pointer is the whole document. */
	if (ptr[0] == '\0' && !json_equal(r, v))
		abort();
	json_free(&w);
	json_free(&r);
	buf_clear(&t);
}

/* Deletes every other member of a copy of obj; the rest must stay. */
static void
fz_delete(const struct json *obj)
{
	struct json *c = json_dup(obj), *m;
	const char *name;
	size_t i, n = json_len(obj);

	for (i = 0; i < n; i += 2) {
		m = json_member(obj, i, &name);
		if (json_object_del(c, name) != 0 || json_get(c, name) != NULL)
			abort();
	}
	if (json_len(c) != n / 2)
		abort();
	for (i = 1; i < n; i += 2) {
		m = json_member(obj, i, &name);
		if (json_get(c, name) == NULL ||
		    !json_equal(json_get(c, name), m))
			abort();
	}
	json_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct json_limits *lim;
	struct json *v;
	struct buf t1 = BUF_INIT;
	char err[128], ptr[64];
	size_t plen;

	if (size < 1)
		return 0;
	lim = (data[0] & 0x40) ? &fz_tight : &fz_loose;
	plen = data[0] & 0x3f;
	if (plen > size - 1)
		plen = size - 1;
	memcpy(ptr, data + 1, plen);
	ptr[plen] = '\0';
	data += 1 + plen;
	size -= 1 + plen;

	if (json_parse(data, size, lim, &v, err, sizeof(err)) == -1) {
		if (v != NULL || strstr(err, " at offset ") == NULL)
			abort();
		return 0;
	}
	fz_round_trip(v, &t1);
	fz_pointer(v, ptr);
	if (json_type(v) == JSON_OBJECT)
		fz_delete(v);
	json_free(&v);
	buf_clear(&t1);
	return 0;
}
