/* SPDX-License-Identifier: ISC */
/*
 * compat.h: the few BSD functions glibc lacks (strlcpy, strlcat, strtonum,
 * reallocarray), declared only when configure did not find them in libc.
 */
#ifndef BULWARK_COMPAT_H
#define BULWARK_COMPAT_H

#include "config.h"

#include <stddef.h>

#ifndef HAVE_STRLCPY
/* Copies at most size-1 bytes of src to dst and NUL-terminates; returns strlen(src). */
size_t	strlcpy(char *dst, const char *src, size_t size);
#endif
#ifndef HAVE_STRLCAT
/* Appends src to dst of total size; returns the length it tried to create. */
size_t	strlcat(char *dst, const char *src, size_t size);
#endif
#ifndef HAVE_STRTONUM
/*
 * Parses a decimal integer in [minval, maxval]; on error returns 0 and sets
 * *errstr to "invalid", "too small" or "too large" (static strings).
 */
long long strtonum(const char *nptr, long long minval, long long maxval,
	    const char **errstr);
#endif
#ifndef HAVE_REALLOCARRAY
/* realloc(ptr, nmemb * size) that fails with ENOMEM on overflow. */
void	*reallocarray(void *ptr, size_t nmemb, size_t size);
#endif

#endif
