/* SPDX-License-Identifier: ISC */
/*
 * json_int.h: the node layout shared by json.c (parser and tree),
 * json_write.c (writers) and json_pointer.c (JSON Pointer).  Not a public
 * interface: other modules reach a value through json.h.
 *
 * A string holds len bytes and a NUL after them (it may hold NUL itself).
 * An object keeps its members in document order; one with more than
 * JSON_INDEX_MIN members also has index, the positions in m sorted by
 * name, which json.c maintains.
 */
#ifndef BULWARK_JSON_INT_H
#define BULWARK_JSON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

struct json_member {
	char		*name;
	struct json	*value;
};

struct json {
	enum json_type	 type;
	union {
		bool	 b;
		struct {
			int64_t	 i;	/* exact value when is_int */
			double	 d;
			bool	 is_int;
		} num;
		struct {
			char	*p;	/* len bytes and a NUL */
			size_t	 len;
		} str;
		struct {
			struct json	**v;
			size_t		 n, cap;
		} arr;
		struct {
			struct json_member *m;	/* document order */
			size_t		 n, cap;
			size_t		*index;	/* by name, or NULL */
		} obj;
	} u;
};

/*
 * Length of the well-formed UTF-8 sequence at p (n > 0 bytes), or 0.
 * Inline because the parser's prescan and the string writer call it for
 * every character.
 */
static inline size_t
json_utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	if (c < 0xe0)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
		return 0;
	if (c < 0xf0) {
		/* RFC 3629 4: no overlong forms, no surrogates. */
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (n < 4 || (p[3] & 0xc0) != 0x80)
		return 0;
	if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
		return 0;
	return 4;
}

#endif
