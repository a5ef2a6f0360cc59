/* SPDX-License-Identifier: ISC */
/*
 * imap_resp.h: writing IMAP responses (RFC 9051 7 and the response grammar
 * of section 9) into a buffer.  A response line is built from its parts: a
 * start (untagged "*", a tag, or "+"), tokens and strings, and a CRLF; the
 * status responses (OK, NO, BAD, PREAUTH, BYE) have one call for the whole
 * line.  Strings are written in the tightest form the grammar allows for
 * their content: an atom, a quoted string, or a literal.  Pure functions, no
 * I/O: the session sends the buffer.
 */
#ifndef BULWARK_IMAP_RESP_H
#define BULWARK_IMAP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"

/*
 * Flags for strings.  Without IMAP_RESP_UTF8 a string with 8-bit bytes is
 * sent as a literal, as IMAP4rev1 requires (a quoted string holds 7-bit
 * TEXT-CHARs only); with it, valid UTF-8 may be quoted (IMAP4rev2 once
 * enabled, RFC 9051 6.3.1).
 */
#define IMAP_RESP_UTF8		0x01

/* Character classes of RFC 9051 section 9. */
bool	imap_is_atom_char(uint8_t c);
bool	imap_is_astring_char(uint8_t c);
bool	imap_is_tag_char(uint8_t c);

/*
 * Returns true if len bytes at p are well-formed UTF-8 (RFC 3629 4): no
 * overlong forms, no surrogates, nothing above U+10FFFF.
 */
bool	imap_utf8_valid(const uint8_t *p, size_t len);

/* Longest string sent quoted; longer ones go as literals. */
#define IMAP_RESP_QUOTED_MAX	1024

/* "* " */
void	imap_resp_untagged(struct buf *out);
/* tag SP; tag must be a valid tag (imap_parse_tag) */
void	imap_resp_tagged(struct buf *out, const char *tag);
/*
 * A protocol token (atom, keyword, number) written as is.  This and the
 * two below are inline: FETCH writes them for every message.
 */
static inline void
imap_resp_token(struct buf *out, const char *token)
{
	buf_append(out, token, strlen(token));
}

/* SP */
static inline void
imap_resp_sp(struct buf *out)
{
	buf_append(out, " ", 1);
}

/* CRLF, ending the response line */
static inline void
imap_resp_crlf(struct buf *out)
{
	buf_append(out, "\r\n", 2);
}

/* string = quoted / literal */
void	imap_resp_string(struct buf *out, const void *p, size_t len,
	    unsigned flags);
/* astring: an atom when the content allows it, else a string */
void	imap_resp_astring(struct buf *out, const void *p, size_t len,
	    unsigned flags);
/* nstring: NIL when p is NULL, else a string */
void	imap_resp_nstring(struct buf *out, const void *p, size_t len,
	    unsigned flags);
/*
 * text: human-readable text after a status; CR and LF, which would break
 * the line, are written as spaces.
 */
void	imap_resp_text(struct buf *out, const char *text);
/*
 * A whole status response: (tag or "*" when tag is NULL) SP cond SP
 * ["[" code "]" SP] text CRLF.  cond is "OK", "NO", "BAD", "PREAUTH" or
 * "BYE"; code (a response code with its arguments) may be NULL.
 */
void	imap_resp_status(struct buf *out, const char *tag, const char *cond,
	    const char *code, const char *text);
/* A continuation request: "+ " text CRLF (RFC 9051 7.5). */
void	imap_resp_continue(struct buf *out, const char *text);

/* Returns true if s would be sent as an atom by imap_resp_astring(). */
bool	imap_resp_is_atom(const void *p, size_t len);

#endif
