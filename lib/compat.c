/* SPDX-License-Identifier: ISC */
/*
 * compat.c: portable versions of strlcpy, strlcat, strtonum and reallocarray
 * for C libraries that lack them (glibc before 2.38).
 */
#include "compat.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef HAVE_STRLCPY
size_t
strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
#endif

#ifndef HAVE_STRLCAT
size_t
strlcat(char *dst, const char *src, size_t size)
{
	size_t dlen = strnlen(dst, size);

	if (dlen == size)
		return size + strlen(src);
	return dlen + strlcpy(dst + dlen, src, size - dlen);
}
#endif

#ifndef HAVE_STRTONUM
long long
strtonum(const char *nptr, long long minval, long long maxval,
    const char **errstr)
{
	long long v;
	char *end;
	int saved = errno;

	*errstr = NULL;
	if (minval > maxval || nptr == NULL || *nptr == '\0') {
		*errstr = "invalid";
		return 0;
	}
	errno = 0;
	v = strtoll(nptr, &end, 10);
	if (*end != '\0' || end == nptr)
		*errstr = "invalid";
	else if ((v == LLONG_MIN && errno == ERANGE) || v < minval)
		*errstr = "too small";
	else if ((v == LLONG_MAX && errno == ERANGE) || v > maxval)
		*errstr = "too large";
	errno = saved;
	return *errstr != NULL ? 0 : v;
}
#endif

#ifndef HAVE_REALLOCARRAY
void *
reallocarray(void *ptr, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(ptr, nmemb * size);
}
#endif
