/* SPDX-License-Identifier: ISC */
/*
 * http_encode.h: content codings of jmapd's responses (RFC 9110 8.4,
 * 12.5.3): whether a request's Accept-Encoding takes gzip, and the gzip
 * coding itself (RFC 1952, through zlib).
 */
#ifndef BULWARK_HTTP_ENCODE_H
#define BULWARK_HTTP_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * Whether the Accept-Encoding field value v (NULL: no field) accepts the
 * gzip coding: "gzip" or "x-gzip" with a qvalue above 0, or "*" above 0
 * when gzip is not named (RFC 9110 12.5.3).  A malformed member is
 * ignored; a malformed qvalue counts as 0.
 */
bool	http_accepts_gzip(const char *v);

/*
 * Appends [p, p + len) in the gzip coding to out.  Returns 0, or -1 (out
 * as it was) if zlib fails.
 */
int	http_gzip(struct buf *out, const void *p, size_t len);

#endif
