/* SPDX-License-Identifier: ISC */
/*
 * imap_struct.h: the ENVELOPE, BODY and BODYSTRUCTURE items of FETCH
 * (RFC 9051 7.5.2 and the envelope, body and body-ext-* productions of
 * section 9), written from a message's stored record (msgrec.h) without
 * reading the message again.  In lib/ because storaged writes ENVELOPE
 * and BODYSTRUCTURE once per message, when it stores the record, and
 * keeps them beside it (the stored items below); imapd writes them from
 * the record only for a message stored without them.
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

/*
 * The stored items: ENVELOPE and BODYSTRUCTURE of a message as the two
 * calls above write them (they do not depend on the session: no
 * IMAP_RESP_UTF8), which storaged keeps in msgimap (store/db.h) and sends
 * with MSG_FETCH in place of the record.  Layout: a version byte
 * (IMAP_STRUCT_STORED_V), the envelope's length (u32 big-endian), the
 * envelope, the body structure.  Items longer than IMAP_STRUCT_STORED_MAX
 * together are not stored: such a message is served from its record.
 */
#define IMAP_STRUCT_STORED_V	1
#define IMAP_STRUCT_STORED_MAX	(64 * 1024)

struct imap_struct_stored {
	const uint8_t	*envelope;
	size_t		 envelope_len;
	const uint8_t	*body;		/* BODYSTRUCTURE */
	size_t		 body_len;
};

/*
 * Appends the stored items of record r (message 0) to out; false, with
 * out as it was, if they are over IMAP_STRUCT_STORED_MAX.
 */
bool	imap_struct_store(struct buf *out, const struct msgrec *r);
/*
 * Reads stored items, pointing *st into [p, p + len): 0, or -1 if the
 * bytes are not stored items, or if either item is not a well-formed
 * parenthesized list (imap_struct_item_valid).  What a damaged database
 * holds therefore never reaches a client as anything but one item.
 */
int	imap_struct_stored_read(const void *p, size_t len,
	    struct imap_struct_stored *st);
/*
 * Whether [p, p + len) is exactly one parenthesized list of FETCH data:
 * elements separated by one SP (or none between a ")" and a "("), each a
 * list, an atom, a quoted string (no CR, LF or NUL; only DQUOTE and
 * backslash escaped) or a literal ("{n}" CRLF and n bytes).  No CR or LF
 * occurs outside a literal, so the bytes cannot end the response line.
 */
bool	imap_struct_item_valid(const uint8_t *p, size_t len);

#endif
