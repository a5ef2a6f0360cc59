/* SPDX-License-Identifier: ISC */
/*
 * xmalloc.h: allocation wrappers that end the process on failure.  Used where
 * running out of memory is a broken invariant; the master restarts the process.
 */
#ifndef BULWARK_XMALLOC_H
#define BULWARK_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
/* A NUL-terminated copy of the first n bytes at s (which may hold no NUL). */
char	*xstrndup(const char *s, size_t n);
/* Returns a malloc'd string formatted as by printf. */
char	*xasprintf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* Wipes size bytes at p with a write the compiler may not elide, then frees. */
void	 xfree_secret(void *p, size_t size);

#endif
