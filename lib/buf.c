/* SPDX-License-Identifier: ISC */
/*
 * buf.c: growable byte buffer with cheap consumption from the front.
 */
#include "buf.h"
#include "log.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
buf_grow(struct buf *b, size_t n)
{
	size_t off, need, cap;
	uint8_t *p;

	off = b->data == NULL ? 0 : (size_t)(b->data - b->base);
	if (n <= b->cap - off - b->len)
		return;
	if (n > SIZE_MAX / 2 || b->len + n > SIZE_MAX / 2)
		fatalx("buf_reserve: %zu bytes is too large", b->len + n);
	need = b->len + n;
	if (need <= b->cap) {
		/* Slide the data to the front instead of growing. */
		memmove(b->base, b->data, b->len);
		b->data = b->base;
		return;
	}
	for (cap = b->cap ? b->cap : 256; cap < need; cap *= 2)
		;
	if (b->nowipe && b->base != NULL) {
		/*
		 * Nothing to wipe: realloc may grow in place, or move a big
		 * allocation's pages (mremap) instead of copying them.
		 */
		if ((p = realloc(b->base, cap + off)) == NULL)
			fatal("buf_reserve %zu", cap + off);
		b->base = p;
		b->data = p + off;
		b->cap = cap + off;
		return;
	}
	if ((p = malloc(cap)) == NULL)
		fatal("buf_reserve %zu", cap);
	if (b->len > 0)
		memcpy(p, b->data, b->len);
	if (b->base != NULL) {
		if (!b->nowipe)
			sodium_memzero(b->base, b->cap);
		free(b->base);
	}
	b->base = b->data = p;
	b->cap = cap;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n > b->len)
		fatalx("buf_consume: %zu > %zu", n, b->len);
	if (n == 0)
		return;		/* data may be NULL: no NULL + 0 (UBSan) */
	b->data += n;
	b->len -= n;
	if (b->len == 0)
		b->data = b->base;
}

void
buf_put_u64(struct buf *b, uint64_t v)
{
	char d[20];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	buf_append(b, d + i, sizeof(d) - i);
}

void
buf_reset(struct buf *b)
{
	b->data = b->base;
	b->len = 0;
}

void
buf_clear(struct buf *b)
{
	if (b->base != NULL) {
		if (!b->nowipe)
			sodium_memzero(b->base, b->cap);
		free(b->base);
	}
	b->base = b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("buf_printf: bad format");
	buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	(void)vsnprintf((char *)buf_tail(b), (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_commit(b, (size_t)n);
}
