/* SPDX-License-Identifier: ISC */
/*
 * wire.c: typed, bounds-checked values for IPC payloads (format in wire.h).
 */
#include "wire.h"
#include "log.h"

#include <string.h>

void
wire_be16_put(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

void
wire_be32_put(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void
wire_be64_put(uint8_t *p, uint64_t v)
{
	wire_be32_put(p, v >> 32);
	wire_be32_put(p + 4, (uint32_t)v);
}

uint16_t
wire_be16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t
wire_be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

uint64_t
wire_be64_get(const uint8_t *p)
{
	return (uint64_t)wire_be32_get(p) << 32 | wire_be32_get(p + 4);
}

void
wire_reader_init(struct wire_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->end = r->p + len;
	r->err = NULL;
}

int
wire_reader_finish(struct wire_reader *r)
{
	if (r->err == NULL && r->p != r->end)
		r->err = "trailing bytes";
	return r->err == NULL ? 0 : -1;
}

static int
wire_fail(struct wire_reader *r, const char *why)
{
	if (r->err == NULL)
		r->err = why;
	r->p = r->end;
	return -1;
}

/* Consumes the type byte and n bytes of fixed value; returns them or NULL. */
static const uint8_t *
wire_take(struct wire_reader *r, enum wire_type t, size_t n)
{
	const uint8_t *p;

	if (r->err != NULL)
		return NULL;
	if ((size_t)(r->end - r->p) < 1 + n) {
		wire_fail(r, "truncated value");
		return NULL;
	}
	if (r->p[0] != t) {
		wire_fail(r, "unexpected value type");
		return NULL;
	}
	p = r->p + 1;
	r->p += 1 + n;
	return p;
}

void
wire_put_U8(struct buf *w, uint8_t v)
{
	uint8_t b[2] = { WIRE_U8, v };

	buf_append(w, b, sizeof(b));
}

void
wire_put_BOOL(struct buf *w, bool v)
{
	uint8_t b[2] = { WIRE_BOOL, v ? 1 : 0 };

	buf_append(w, b, sizeof(b));
}

void
wire_put_U32(struct buf *w, uint32_t v)
{
	uint8_t b[5] = { WIRE_U32 };

	wire_be32_put(b + 1, v);
	buf_append(w, b, sizeof(b));
}

void
wire_put_U64(struct buf *w, uint64_t v)
{
	uint8_t b[9] = { WIRE_U64 };

	wire_be64_put(b + 1, v);
	buf_append(w, b, sizeof(b));
}

static void
wire_put_lenbytes(struct buf *w, const void *p, size_t n, int nul)
{
	uint8_t b[4];

	if (n + nul > WIRE_MAX_LEN)
		fatalx("wire: value of %zu bytes is too large", n);
	wire_be32_put(b, (uint32_t)(n + nul));
	buf_append(w, b, sizeof(b));
	buf_append(w, p, n);
	if (nul)
		buf_append(w, "", 1);
}

void
wire_put_STR(struct buf *w, const char *s)
{
	uint8_t t = WIRE_STR;

	buf_append(w, &t, 1);
	wire_put_lenbytes(w, s == NULL ? "" : s, s == NULL ? 0 : strlen(s), 1);
}

void
wire_put_BYTES(struct buf *w, struct wire_bytes v)
{
	uint8_t t = WIRE_BYTES;

	buf_append(w, &t, 1);
	wire_put_lenbytes(w, v.p, v.len, 0);
}

void
wire_put_strlist_begin(struct buf *w, uint32_t count)
{
	uint8_t b[5] = { WIRE_STRLIST };

	wire_be32_put(b + 1, count);
	buf_append(w, b, sizeof(b));
}

void
wire_strlist_add(struct buf *w, const char *s)
{
	wire_put_lenbytes(w, s, strlen(s), 1);
}

void
wire_put_STRLIST(struct buf *w, struct wire_strlist l)
{
	uint8_t b[5] = { WIRE_STRLIST };

	wire_be32_put(b + 1, l.count);
	buf_append(w, b, sizeof(b));
	buf_append(w, l.p, l.len);
}

int
wire_get_U8(struct wire_reader *r, uint8_t *v)
{
	const uint8_t *p = wire_take(r, WIRE_U8, 1);

	if (p == NULL)
		return -1;
	*v = p[0];
	return 0;
}

int
wire_get_BOOL(struct wire_reader *r, bool *v)
{
	const uint8_t *p = wire_take(r, WIRE_BOOL, 1);

	if (p == NULL)
		return -1;
	if (p[0] > 1)
		return wire_fail(r, "bad boolean");
	*v = p[0] == 1;
	return 0;
}

int
wire_get_U32(struct wire_reader *r, uint32_t *v)
{
	const uint8_t *p = wire_take(r, WIRE_U32, 4);

	if (p == NULL)
		return -1;
	*v = wire_be32_get(p);
	return 0;
}

int
wire_get_U64(struct wire_reader *r, uint64_t *v)
{
	const uint8_t *p = wire_take(r, WIRE_U64, 8);

	if (p == NULL)
		return -1;
	*v = wire_be64_get(p);
	return 0;
}

/* Reads a length and checks that many bytes are there; no type byte. */
static const uint8_t *
wire_lenbytes(struct wire_reader *r, uint32_t *len)
{
	const uint8_t *p;

	if (r->err != NULL)
		return NULL;
	if (r->end - r->p < 4) {
		wire_fail(r, "truncated length");
		return NULL;
	}
	*len = wire_be32_get(r->p);
	if (*len > WIRE_MAX_LEN || (size_t)(r->end - r->p - 4) < *len) {
		wire_fail(r, "length past end");
		return NULL;
	}
	p = r->p + 4;
	r->p += 4 + *len;
	return p;
}

/* Checks that p[0..len) is a C string: NUL last and nowhere else. */
static int
wire_is_cstr(const uint8_t *p, uint32_t len)
{
	return len > 0 && p[len - 1] == '\0' && memchr(p, '\0', len) ==
	    p + len - 1;
}

int
wire_get_STRN(struct wire_reader *r, const char **v, size_t *len_r)
{
	const uint8_t *p;
	uint32_t len;

	if (wire_take(r, WIRE_STR, 0) == NULL ||
	    (p = wire_lenbytes(r, &len)) == NULL)
		return -1;
	if (!wire_is_cstr(p, len))
		return wire_fail(r, "bad string");
	*v = (const char *)p;
	*len_r = len - 1;
	return 0;
}

int
wire_get_STR(struct wire_reader *r, const char **v)
{
	size_t len;

	return wire_get_STRN(r, v, &len);
}

int
wire_get_BYTES(struct wire_reader *r, struct wire_bytes *v)
{
	const uint8_t *p;
	uint32_t len;

	if (wire_take(r, WIRE_BYTES, 0) == NULL ||
	    (p = wire_lenbytes(r, &len)) == NULL)
		return -1;
	v->p = p;
	v->len = len;
	return 0;
}

int
wire_get_STRLIST(struct wire_reader *r, struct wire_strlist *v)
{
	const uint8_t *start, *p;
	uint32_t count, i, len;

	if ((p = wire_take(r, WIRE_STRLIST, 4)) == NULL)
		return -1;
	count = wire_be32_get(p);
	start = r->p;
	for (i = 0; i < count; i++) {
		if ((p = wire_lenbytes(r, &len)) == NULL)
			return -1;
		if (!wire_is_cstr(p, len))
			return wire_fail(r, "bad string in list");
	}
	v->count = count;
	v->p = start;
	v->len = r->p - start;
	return 0;
}

int
wire_skip_STR(struct wire_reader *r)
{
	uint32_t len;

	if (wire_take(r, WIRE_STR, 0) == NULL ||
	    wire_lenbytes(r, &len) == NULL)
		return -1;
	return 0;
}

int
wire_skip_STRLIST(struct wire_reader *r)
{
	const uint8_t *p;
	uint32_t count, i, len;

	if ((p = wire_take(r, WIRE_STRLIST, 4)) == NULL)
		return -1;
	count = wire_be32_get(p);
	for (i = 0; i < count; i++)
		if (wire_lenbytes(r, &len) == NULL)
			return -1;
	return 0;
}

void
wire_strlist_iter(const struct wire_strlist *l, struct wire_iter *it)
{
	it->p = l->p;
	it->end = l->p + l->len;
}

const char *
wire_strlist_next_len(struct wire_iter *it, size_t *len_r)
{
	const char *s;
	uint32_t len;

	if (it->end - it->p < 4)
		return NULL;
	len = wire_be32_get(it->p);
	s = (const char *)it->p + 4;
	it->p += 4 + len;
	/* wire_get_STRLIST checked that each ends in its only NUL. */
	*len_r = len > 0 ? len - 1 : 0;
	return s;
}

const char *
wire_strlist_next(struct wire_iter *it)
{
	size_t len;

	return wire_strlist_next_len(it, &len);
}

void
wire_put_u64list_begin(struct buf *w, uint32_t count)
{
	uint8_t b[5] = { WIRE_U64LIST };

	if (count > WIRE_MAX_LIST)
		fatalx("wire: list of %u values is too long", count);
	wire_be32_put(b + 1, count);
	buf_append(w, b, sizeof(b));
}

void
wire_u64list_add(struct buf *w, uint64_t v)
{
	uint8_t b[8];

	wire_be64_put(b, v);
	buf_append(w, b, sizeof(b));
}

void
wire_put_U64LIST(struct buf *w, struct wire_u64list l)
{
	wire_put_u64list_begin(w, l.count);
	buf_append(w, l.p, (size_t)l.count * 8);
}

int
wire_get_U64LIST(struct wire_reader *r, struct wire_u64list *v)
{
	const uint8_t *p;
	uint32_t count;

	if ((p = wire_take(r, WIRE_U64LIST, 4)) == NULL)
		return -1;
	count = wire_be32_get(p);
	if (count > WIRE_MAX_LIST || (size_t)(r->end - r->p) / 8 < count)
		return wire_fail(r, "list past end");
	v->count = count;
	v->p = r->p;
	r->p += (size_t)count * 8;
	return 0;
}

uint64_t
wire_u64list_get(const struct wire_u64list *l, uint32_t i)
{
	return wire_be64_get(l->p + (size_t)i * 8);
}
