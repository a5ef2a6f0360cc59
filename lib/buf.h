/* SPDX-License-Identifier: ISC */
/*
 * buf.h: a growable byte buffer.  Data lives in [data, data + len); bytes
 * consumed from the front are reclaimed lazily so that a reader and a writer
 * can share one buffer without copying on every read.
 */
#ifndef BULWARK_BUF_H
#define BULWARK_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
	uint8_t	*base;		/* allocation */
	uint8_t	*data;		/* first unconsumed byte */
	size_t	 len;		/* bytes at data */
	size_t	 cap;		/* bytes allocated at base */
	/*
	 * Memory is wiped before it is freed, unless this is set: for bulk
	 * data that is no secret of the process holding it (storaged's
	 * copies of messages it keeps anyway).
	 */
	bool	 nowipe;
};

#define BUF_INIT	{ NULL, NULL, 0, 0, false }

/* buf_reserve() when the room is not there yet: slides or grows. */
void	 buf_grow(struct buf *b, size_t n);

/*
 * The calls below run for every piece of every response (imapd writes
 * ENVELOPEs a few bytes at a time), so their common case is inline.
 */

/* Ensures room for n more bytes after data + len; dies on overflow. */
static inline void
buf_reserve(struct buf *b, size_t n)
{
	size_t used = b->data == NULL ? 0 : (size_t)(b->data - b->base) +
	    b->len;

	if (n > b->cap - used)
		buf_grow(b, n);
}

/* Appends n bytes from p. */
static inline void
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* Marks n bytes at the end as written (after buf_reserve and a direct write). */
static inline void
buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

/* Returns a pointer to the free space after the data (buf_reserve first). */
static inline uint8_t *
buf_tail(struct buf *b)
{
	return b->data + b->len;
}

/* Drops n bytes from the front; n must be at most len. */
void	 buf_consume(struct buf *b, size_t n);
/* Appends printf-formatted text (no NUL). */
void	 buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends v in decimal, as "%llu" would (no printf on hot paths). */
void	 buf_put_u64(struct buf *b, uint64_t v);
/* Empties the buffer, keeping its allocation. */
void	 buf_reset(struct buf *b);
/* Frees the allocation, wiping it first (see nowipe), and resets b. */
void	 buf_clear(struct buf *b);

#endif
