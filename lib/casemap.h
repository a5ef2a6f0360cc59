/* SPDX-License-Identifier: ISC */
/*
 * casemap.h: the i;unicode-casemap collation of RFC 5051, which SORT and
 * THREAD must use (RFC 5256 7).  A string is prepared once into its key,
 * the "titlecased canonicalized UTF-8" string: each character mapped to
 * its titlecase and then decomposed, recursively, by every decomposition
 * of UnicodeData (libunistring's tables).  Keys compare as octets
 * (strcmp); equal keys are equal strings in the collation.
 */
#ifndef BULWARK_CASEMAP_H
#define BULWARK_CASEMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * Appends the key of the len bytes at s to out (no NUL).  A string that
 * is not valid UTF-8 is its own key, as RFC 5051 2 (1)(b) says (it then
 * compares as i;octet); returns false for it.
 */
bool	casemap_key(const char *s, size_t len, struct buf *out);

#endif
