/* SPDX-License-Identifier: ISC */
/*
 * imap_mutf7.h: modified UTF-7, the mailbox name encoding of IMAP4rev1
 * (RFC 3501 5.1.3), to and from UTF-8.  Mailbox names are kept in UTF-8;
 * they are encoded for clients that have enabled neither UTF8=ACCEPT
 * (RFC 6855) nor IMAP4rev2 (RFC 9051 6.3.1), and decoded from them.
 *
 * The decoder accepts only the one canonical encoding of each name, the
 * one the encoder writes, so that every accepted name maps back to the same
 * bytes: printable US-ASCII (0x20-0x7e) stands for itself except "&", which
 * is "&-"; every other character is in a shift "&" modified-BASE64 "-" of
 * UTF-16BE; a shift holds a maximal run of such characters (no "-&" between
 * two shifts, no empty shift), never encodes printable US-ASCII or "&",
 * ends with zero padding bits and fewer than six of them, and keeps
 * surrogates in pairs.  U+0000 is refused both ways.  Pure functions.
 */
#ifndef BULWARK_IMAP_MUTF7_H
#define BULWARK_IMAP_MUTF7_H

#include <stddef.h>

#include "buf.h"

/*
 * Appends the modified UTF-7 form of the UTF-8 name at p (len bytes,
 * borrowed) to out.  Returns 0, or -1 with a static reason in *error_r if
 * the name is not valid UTF-8 (RFC 3629) or holds a NUL; out is then left
 * as it was.
 */
int	imap_mutf7_encode(struct buf *out, const void *p, size_t len,
	    const char **error_r);

/*
 * Appends the UTF-8 form of the modified UTF-7 name at p (len bytes,
 * borrowed) to out.  Returns 0, or -1 with a static reason fit for a NO or
 * BAD response in *error_r if the name is not canonical modified UTF-7 (see
 * above); out is then left as it was.
 */
int	imap_mutf7_decode(struct buf *out, const void *p, size_t len,
	    const char **error_r);

#endif
