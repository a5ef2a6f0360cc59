/* SPDX-License-Identifier: ISC */
/*
 * imap_struct.h: the ENVELOPE, BODY and BODYSTRUCTURE items of FETCH
 * (RFC 9051 7.5.2 and the envelope, body and body-ext-* productions of
 * section 9), written from a message's stored record (msgrec.h) without
 * reading the message again.
 *
 * Strings go out as quoted strings, or as literals when they hold 8-bit
 * bytes, CR, LF or NUL or are long (imap_resp.h, without IMAP_RESP_UTF8:
 * the output is the same for IMAP4rev1 and IMAP4rev2 clients).  The record
 * keeps some fields only decoded; those are put back into header form
 * (RFC 2047 encoded words, RFC 2231 parameters) when they are not plain
 * ASCII; imap_struct.c says which and why.
 */
#ifndef BULWARK_IMAP_STRUCT_H
#define BULWARK_IMAP_STRUCT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "msgrec.h"

/*
 * Appends the parenthesized envelope (RFC 9051 9 "envelope") of envelope
 * env of r (0 is the message's own; env < r->nenvs) to out.
 */
void	imap_struct_envelope(struct buf *out, const struct msgrec *r,
	    uint32_t env);

/*
 * Appends the body structure of part `part` of r (0 is the message;
 * part < r->nparts) to out: without extension data (FETCH BODY) when
 * extended is false, with it (FETCH BODYSTRUCTURE) when true.
 */
void	imap_struct_bodystructure(struct buf *out, const struct msgrec *r,
	    uint32_t part, bool extended);

#endif
