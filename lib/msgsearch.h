/* SPDX-License-Identifier: ISC */
/*
 * msgsearch.h: the text keys of IMAP SEARCH (RFC 9051 6.4.4) matched
 * against a stored message: its parsed record (lib/msgrec.h) and its raw
 * bytes.  storaged runs them next to the data (MSG_FETCH's text keys, see
 * lib/ipc_types.def), so that no worker reads a message to search it.
 *
 * A match is a substring match in the i;unicode-casemap collation (RFC
 * 5051, as I18NLEVEL=1 of RFC 5255 4 asks): the string searched for comes
 * as its key (casemap_key() of lib/casemap.h) and is looked for in the
 * key of the text; header values are unfolded and their encoded words
 * decoded, bodies are decoded (transfer encoding and charset) first.
 */
#ifndef BULWARK_MSGSEARCH_H
#define BULWARK_MSGSEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct msgrec;

/* The kinds of text key; the numbers travel in IPC, keep them. */
enum msgsearch_kind {
	MSGSEARCH_FROM = 1,
	MSGSEARCH_TO = 2,
	MSGSEARCH_CC = 3,
	MSGSEARCH_BCC = 4,
	MSGSEARCH_SUBJECT = 5,
	MSGSEARCH_HEADER = 6,		/* field: the header field's name */
	MSGSEARCH_BODY = 7,		/* the text parts */
	MSGSEARCH_TEXT = 8,		/* the header and the text parts */
};

/* At most this many text keys in one request. */
#define MSGSEARCH_MAX_KEYS	1024

/*
 * Whether the i;unicode-casemap key of the hlen bytes at hay holds key
 * (klen bytes, a casemap_key()).
 */
bool	msgsearch_contains(const void *hay, size_t hlen, const void *key,
	    size_t klen);

/*
 * What BODY and TEXT make of one message, made once for all its keys:
 * zero it before the message's first msgsearch_match(), clear it after
 * its last.
 */
struct msgsearch_cache {
	/* The text parts decoded so far: ASCII ones, keys of the others. */
	struct buf	 body_ascii, body_key;
	struct buf	 part;		/* the part being decoded */
	uint32_t	 body_next;	/* the next part to look at */
	struct buf	 head;		/* the header, raw, NUL, decoded */
	struct buf	 head_key;	/* its keys, unless all ASCII */
	bool		 head_done, head_ascii;
	size_t		 scanned;	/* raw bytes HEADER looked through */
};

/*
 * Whether the message of `len` bytes at raw, whose record is r, matches
 * the key: kind, field (HEADER's field name, NUL-terminated) and value
 * (the casemap_key() of the string searched for, vlen bytes).  raw may be
 * NULL for the kinds answered from the record (FROM, TO, CC, BCC,
 * SUBJECT); r may be NULL for HEADER.  c caches the message's text.
 */
bool	msgsearch_match(const struct msgrec *r, const void *raw, size_t len,
	    enum msgsearch_kind kind, const char *field, const void *value,
	    size_t vlen, struct msgsearch_cache *c);
void	msgsearch_cache_clear(struct msgsearch_cache *c);
/*
 * Bytes of text the cache holds (for a budget of work; c->scanned is the
 * raw header HEADER keys looked through besides).
 */
size_t	msgsearch_cache_bytes(const struct msgsearch_cache *c);

/* Whether the kind needs the message's bytes (not only its record). */
bool	msgsearch_needs_raw(enum msgsearch_kind kind);
/* Whether the kind needs the message's record (not only its bytes). */
bool	msgsearch_needs_record(enum msgsearch_kind kind);
/*
 * Whether it needs the record's parts, not only its envelopes
 * (msgrec_open_envelopes() is enough otherwise).
 */
bool	msgsearch_needs_parts(enum msgsearch_kind kind);
/*
 * What of a big message msgsearch_match reads, so that a caller can read
 * only that much: matching the first n bytes (raw, len n) answers the
 * same as matching the whole.  msgsearch_raw_needed: n for a message of
 * size bytes whose record r was opened with its parts (msgrec_open): its
 * header and every text part.  msgsearch_header_end: for a record
 * without parts, or none, the length of the header within [p, p + n),
 * its blank line included, or 0 if [p, p + n) does not hold all of it.
 */
size_t	msgsearch_raw_needed(const struct msgrec *r, size_t size);
size_t	msgsearch_header_end(const void *p, size_t n);

#endif
