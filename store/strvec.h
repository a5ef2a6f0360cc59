/* SPDX-License-Identifier: ISC */
/*
 * strvec.h: a growable array of owned strings, for the lists the store
 * returns (domains, accounts, aliases) and their encoding as a STRLIST.
 */
#ifndef BULWARK_STRVEC_H
#define BULWARK_STRVEC_H

#include <stddef.h>

#include "buf.h"
#include "wire.h"

struct strvec {
	char	**v;
	size_t	  n, cap;
	size_t	  bytes;	/* sum of the lengths, with NULs */
};

#define STRVEC_INIT	{ NULL, 0, 0, 0 }

/* Appends a copy of the first len bytes of s. */
void	strvec_addn(struct strvec *sv, const char *s, size_t len);
void	strvec_add(struct strvec *sv, const char *s);
/* Sorts the strings in byte order (strcmp). */
void	strvec_sort(struct strvec *sv);
/* Frees every string and the array; sv is empty and reusable after. */
void	strvec_clear(struct strvec *sv);
/*
 * Encodes the strings as the elements of a STRLIST into out and points l
 * at them, for a reply field.  l is valid until out is changed or freed.
 */
void	strvec_to_wire(const struct strvec *sv, struct buf *out,
	    struct wire_strlist *l);

#endif
