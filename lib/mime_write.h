/* SPDX-License-Identifier: ISC */
/*
 * mime_write.h: writing messages (RFC 5322, MIME RFC 2045-2047, RFC 2231):
 * header fields folded at 78 columns with non-ASCII text as encoded
 * words, and bodies in base64 or quoted-printable.  JMAP's Email/set
 * creates drafts with them (RFC 8621 4.6).  Everything written is 7-bit
 * ASCII with CRLF line ends and lines of at most 78 octets (998 for a
 * raw value given as it is), so any MTA takes it.
 */
#ifndef BULWARK_MIME_WRITE_H
#define BULWARK_MIME_WRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * A field "Name: value" of unstructured text (RFC 5322 3.2.5: Subject,
 * Comments, X-...): words with bytes outside printable ASCII become
 * encoded words (RFC 2047, UTF-8, B encoding), and the line folds at
 * whitespace before 78 columns.  value is UTF-8.
 */
void	mime_write_text_field(struct buf *out, const char *name,
	    const char *value);
/*
 * A field whose value is given as it is (already RFC 5322 syntax, such
 * as a Message-ID list or a date), folded at whitespace.  Bytes that are
 * not printable ASCII, CR or LF are replaced by '?': a raw value cannot
 * break the header.
 */
void	mime_write_raw_field(struct buf *out, const char *name,
	    const char *value);
/*
 * Appends one mailbox (RFC 5322 3.4) to out: the display name quoted,
 * or as an encoded word when it is not ASCII, and <email>; just the
 * address without a name.
 */
void	mime_write_mailbox(struct buf *out, const char *name,
	    const char *email);
/*
 * A parameter (RFC 2045 5.1) "; name=value" for a Content-Type or
 * Content-Disposition being written: quoted when it must be, and in RFC
 * 2231 form (name*=utf-8''...) when the value is not ASCII.
 */
void	mime_write_param(struct buf *out, const char *name,
	    const char *value);
/* The len bytes at p in base64, lines of 76 characters, each with CRLF. */
void	mime_write_base64(struct buf *out, const void *p, size_t len);
/*
 * The len bytes at p in quoted-printable (RFC 2045 6.7), with line
 * breaks (CRLF or LF in the input) kept as CRLF and soft breaks before
 * 76 characters.
 */
void	mime_write_qp(struct buf *out, const void *p, size_t len);
/*
 * Whether text of len bytes may go as it is in 7bit (RFC 2045 2.7):
 * ASCII without NUL or bare CR, lines of at most 998 octets.
 */
bool	mime_is_7bit(const void *p, size_t len);
/*
 * A multipart boundary (RFC 2046 5.1.1) that no part contains: "=_"
 * (which neither base64 nor quoted-printable lines hold) and 48 random
 * hex digits, into out (size at least 51).
 */
void	mime_write_boundary(char *out, size_t size);

#endif
