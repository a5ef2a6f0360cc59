/* SPDX-License-Identifier: ISC */
/*
 * wire.h: the typed value encoding inside IPC frames.
 *
 * A payload is a sequence of values, each one byte of wire type followed by
 * the value in big-endian order:
 *
 *	U8	1 byte			BOOL	1 byte, 0 or 1
 *	U32	4 bytes			U64	8 bytes
 *	STR	u32 length n, n bytes, the last of which is NUL and no other
 *	BYTES	u32 length n, n bytes
 *	STRLIST	u32 count, then count STR bodies (length + bytes, no type byte)
 *	U64LIST	u32 count, then count big-endian u64 values
 *
 * A reader never reads past its end: the first failure makes it sticky
 * (r->err is set and every later call fails), so a decoder checks once at the
 * end.  Decoded strings and byte strings point into the frame; they live as
 * long as the frame does.
 */
#ifndef BULWARK_WIRE_H
#define BULWARK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum wire_type {
	WIRE_U8 = 1,
	WIRE_BOOL,
	WIRE_U32,
	WIRE_U64,
	WIRE_STR,
	WIRE_BYTES,
	WIRE_STRLIST,
	WIRE_U64LIST
};

/* Most values a U64LIST may hold. */
#define WIRE_MAX_LIST	(1u << 20)

/* Largest string or byte string a value may hold. */
#define WIRE_MAX_LEN	(16u << 20)

struct wire_bytes {
	const uint8_t	*p;
	uint32_t	 len;
};

/* A decoded STRLIST: iterate with wire_strlist_next. */
struct wire_strlist {
	uint32_t	 count;
	const uint8_t	*p;	/* first element */
	size_t		 len;	/* bytes of all elements */
};

/* A decoded U64LIST: read element i with wire_u64list_get. */
struct wire_u64list {
	uint32_t	 count;
	const uint8_t	*p;
};

struct wire_iter {
	const uint8_t	*p, *end;
};

struct wire_reader {
	const uint8_t	*p, *end;
	const char	*err;	/* NULL until the first failure */
};

void	wire_reader_init(struct wire_reader *r, const void *p, size_t len);
/* Returns 0 if everything was read and nothing is left over, else -1. */
int	wire_reader_finish(struct wire_reader *r);

void	wire_put_U8(struct buf *w, uint8_t v);
void	wire_put_BOOL(struct buf *w, bool v);
void	wire_put_U32(struct buf *w, uint32_t v);
void	wire_put_U64(struct buf *w, uint64_t v);
/* A NULL string is encoded as "". */
void	wire_put_STR(struct buf *w, const char *s);
void	wire_put_BYTES(struct buf *w, struct wire_bytes b);
/* Starts a STRLIST of count strings; follow with count wire_strlist_add. */
void	wire_put_strlist_begin(struct buf *w, uint32_t count);
void	wire_strlist_add(struct buf *w, const char *s);
/* Encodes an already decoded list again (for tests and relays). */
void	wire_put_STRLIST(struct buf *w, struct wire_strlist l);
/* Starts a U64LIST of count values; follow with count wire_u64list_add. */
void	wire_put_u64list_begin(struct buf *w, uint32_t count);
void	wire_u64list_add(struct buf *w, uint64_t v);
void	wire_put_U64LIST(struct buf *w, struct wire_u64list l);

/* Each returns 0, or -1 and makes the reader sticky-failed. */
int	wire_get_U8(struct wire_reader *r, uint8_t *v);
int	wire_get_BOOL(struct wire_reader *r, bool *v);
int	wire_get_U32(struct wire_reader *r, uint32_t *v);
int	wire_get_U64(struct wire_reader *r, uint64_t *v);
int	wire_get_STR(struct wire_reader *r, const char **v);
/* The same with the string's length (strlen(*v)) in *len. */
int	wire_get_STRN(struct wire_reader *r, const char **v, size_t *len);
int	wire_get_BYTES(struct wire_reader *r, struct wire_bytes *v);
int	wire_get_STRLIST(struct wire_reader *r, struct wire_strlist *v);
/*
 * Steps over a STR or STRLIST without looking into its strings (for a
 * reader of a record it trusts, that does not use the value).
 */
int	wire_skip_STR(struct wire_reader *r);
int	wire_skip_STRLIST(struct wire_reader *r);
int	wire_get_U64LIST(struct wire_reader *r, struct wire_u64list *v);
/* Element i (< count) of a list checked by wire_get_U64LIST. */
uint64_t wire_u64list_get(const struct wire_u64list *l, uint32_t i);

/* Iterates a STRLIST checked by wire_get_STRLIST; returns NULL at its end. */
void	wire_strlist_iter(const struct wire_strlist *l, struct wire_iter *it);
const char *wire_strlist_next(struct wire_iter *it);
/* The same with the string's length (strlen) in *len. */
const char *wire_strlist_next_len(struct wire_iter *it, size_t *len);

/* Big-endian helpers for fixed headers. */
void	wire_be16_put(uint8_t *p, uint16_t v);
void	wire_be32_put(uint8_t *p, uint32_t v);
void	wire_be64_put(uint8_t *p, uint64_t v);
uint16_t wire_be16_get(const uint8_t *p);
uint32_t wire_be32_get(const uint8_t *p);
uint64_t wire_be64_get(const uint8_t *p);

#endif
