/* SPDX-License-Identifier: ISC */
/*
 * http_int.h: what lib/http.c (the request parser) and lib/http_util.c
 * (percent-decoding, responses) share.  Not a public interface: other
 * modules use http.h.
 */
#ifndef BULWARK_HTTP_INT_H
#define BULWARK_HTTP_INT_H

#include <stdint.h>

/* The value of a hex digit (RFC 9110 5.6.1 HEXDIG, either case), or -1. */
static inline int
http_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
