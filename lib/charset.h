/* SPDX-License-Identifier: ISC */
/*
 * charset.h: conversion of text in a declared charset to UTF-8, for the
 * MIME parser (RFC 2045 charset parameters, RFC 2047 encoded words, RFC
 * 2231 parameter values, RFC 6532 raw UTF-8 headers).
 *
 * Workers run chrooted under a seccomp filter, where glibc can no longer
 * load gconv modules.  So charset_init(), called once before the privilege
 * drop (boot_confine), opens and keeps one iconv descriptor for each charset
 * of a fixed list (the ISO 8859 and windows-125x families, KOI8, the CJK
 * encodings, UTF-16/32 and others, with their common aliases).  Conversions
 * only reuse those descriptors, resetting them first; iconv_open() is never
 * called after charset_init().  UTF-8, US-ASCII, ISO-8859-1 and
 * windows-1252 are converted without iconv.
 *
 * Nothing is ever lost: a byte that is invalid in its declared charset, or
 * text in an unknown or undeclared charset that is not valid UTF-8, is
 * mapped as windows-1252 (whose undefined bytes map to the C1 controls of
 * ISO-8859-1), so every input byte yields at least one character.  The
 * output is always valid UTF-8.
 */
#ifndef BULWARK_CHARSET_H
#define BULWARK_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * Opens the iconv descriptors of the fixed charset list.  Call it once,
 * before confinement; later calls do nothing.  A charset glibc does not
 * provide is left out (its text falls back as above).  If a process never
 * calls it, the first conversion does (fine outside a sandbox: tests).
 */
void	charset_init(void);

/*
 * Appends the UTF-8 form of len bytes at in, declared in charset (a MIME
 * charset name, any case; NULL or "" when undeclared), to out.  Never
 * fails; dies only if memory runs out.
 */
void	charset_to_utf8(const char *charset, const void *in, size_t len,
	    struct buf *out);

/* Whether charset names a charset this module converts with a table. */
bool	charset_is_known(const char *charset);

/* Whether len bytes at p are valid UTF-8 (RFC 3629). */
bool	charset_utf8_valid(const void *p, size_t len);

/*
 * Length of the longest prefix of len bytes at p that is valid UTF-8 and
 * does not end inside a character.
 */
size_t	charset_utf8_prefix(const void *p, size_t len);

#endif
