/* SPDX-License-Identifier: ISC */
/*
 * mime_binary.h: binary content in a message that IMAP must be able to
 * send (RFC 3516 4.4, 6).  A message APPENDed as a literal8 may hold NUL
 * octets, which no IMAP string can carry (RFC 9051 4.3 CHAR8 excludes
 * NUL): FETCH BODY[] would have nothing to send them in.  The store keeps
 * such a message with each body part that holds a NUL re-encoded in
 * base64 and its Content-Transfer-Encoding changed to say so, as RFC 3516
 * 4.4 allows ("MUST NOT result in a loss of data"): FETCH BINARY[part]
 * then gives back the very octets that were sent.  Only parts that need
 * it are touched (RFC 3516 6: gratuitous encoding changes break
 * signatures), and never a multipart (RFC 2045 6.4 allows it no other
 * encoding).
 */
#ifndef BULWARK_MIME_BINARY_H
#define BULWARK_MIME_BINARY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum mime_binary {
	MIME_BINARY_NONE,	/* no NUL: store the message as it is */
	MIME_BINARY_ENCODED,	/* out holds the message to store */
	MIME_BINARY_STUCK	/* a NUL outside any body that can be
				   encoded (a header, a multipart's
				   preamble, a base64 or quoted-printable
				   body): the message cannot be stored */
};

/*
 * Looks at the message of len bytes at data (borrowed) and, if it holds
 * a NUL, appends to out the message with every leaf body part that holds
 * one, and whose transfer encoding is an identity (7bit, 8bit, binary or
 * none), base64-encoded in lines of 76 characters, its header's
 * Content-Transfer-Encoding fields replaced by "base64".  Everything else
 * is copied as it is.  Returns MIME_BINARY_NONE (out untouched),
 * MIME_BINARY_ENCODED, or MIME_BINARY_STUCK (out holds a partial result
 * the caller discards).
 */
enum mime_binary mime_binary_encode(const void *data, size_t len,
	    struct buf *out);
/*
 * The other way, for FETCH BINARY of a whole message or of a part that
 * holds others (RFC 3516 4.2: the section "after removing any CTE-related
 * encoding"): appends to out the message of len bytes at data with every
 * leaf body part in base64 or quoted-printable decoded and its
 * Content-Transfer-Encoding fields replaced by "binary", as Dovecot
 * answers; everything else is copied as it is.  Returns whether a part
 * was decoded.
 */
bool	mime_binary_decode(const void *data, size_t len, struct buf *out);

#endif
