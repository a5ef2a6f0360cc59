/* SPDX-License-Identifier: ISC */
/*
 * mime.h: the message parser.  RFC 5322 and MIME (RFC 2045-2049) with
 * encoded words (RFC 2047), parameter continuations and charsets (RFC 2231),
 * UTF-8 headers (RFC 6532), Content-Disposition (RFC 2183), and
 * message/rfc822 and message/global nested to MIME_MAX_DEPTH.
 *
 * It never gives up on real-world mail: missing or duplicate headers, bare
 * LF, overlong lines, broken or missing boundaries, 8-bit headers in an
 * undeclared charset, malformed encoded words, unknown transfer encodings
 * and truncated messages all parse into the best tree the bytes allow.
 * Every offset points into the bytes given to mime_parse().
 *
 * The result is turned into the compact stored record by msgrec.h; the
 * tree itself lives only in the process that parsed the message.
 */
#ifndef BULWARK_MIME_H
#define BULWARK_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MIME_MAX_DEPTH		16	/* nesting of multiparts and messages */
#define MIME_MAX_PARTS		10000	/* more are folded into their parent */
#define MIME_PREVIEW_CHARS	256	/* RFC 8621 4.1.4 preview */

struct mime_msg;

/*
 * Parses len bytes at data (borrowed; must outlive the result).  Never
 * fails on content; returns NULL only if memory runs out.  Free with
 * mime_msg_free().
 */
struct mime_msg *mime_parse(const void *data, size_t len);
void	mime_msg_free(struct mime_msg **msgp);

/*
 * The decoded text of the message for indexing (subject, addresses, text
 * parts converted to UTF-8 and stripped of markup, attachment file names),
 * borrowed from msg and NUL-terminated; *len_r (if not NULL) is its length
 * (a body may hold NUL bytes).  Built on the first call, which therefore
 * must not race with another call on the same msg.
 */
const char *mime_msg_text(const struct mime_msg *msg, size_t *len_r);

/*
 * Body decoding for callers that hold a stored message and its msgrec
 * part (IMAP BINARY, JMAP bodyValues): appends the len bytes at body
 * decoded from the Content-Transfer-Encoding named by encoding (as in
 * msgrec_part: lower case or NULL; base64 and quoted-printable are
 * decoded, anything else is copied) to out.
 */
void	mime_body_decode(const char *encoding, const void *body, size_t len,
	    struct buf *out);

/*
 * Like mime_body_decode, then converted from charset (NULL: undeclared)
 * to UTF-8 as charset.h does; with strip_html, HTML markup is removed as
 * for mime_msg_text.
 */
void	mime_body_text(const char *encoding, const char *charset,
	    bool strip_html, const void *body, size_t len, struct buf *out);

/*
 * Header lookup for callers that hold a stored message (JMAP header:Name
 * properties, Sieve header tests): finds the index-th (0 is the first)
 * field called name (any case) in the header block of len bytes at hdr,
 * such as [hdr_off, body_off) of a msgrec part (the search stops at a
 * blank line), and points *value_r at its raw value (after the colon,
 * line breaks of folded lines included) of *vlen_r bytes.  Returns false
 * if there is no such field.
 */
bool	mime_header_find(const void *hdr, size_t len, const char *name,
	    size_t index, const char **value_r, size_t *vlen_r);
/*
 * The same as an iterator: the next field called name in the header from
 * *pos to end, whose *pos then moves past it (when none is left: to the
 * blank line that ends the header, or to end).
 */
bool	mime_header_next(const char **pos, const char *end, const char *name,
	    const char **value_r, size_t *vlen_r);

/*
 * Appends a raw header value as text (RFC 8621 4.1.2.2 asText): unfolded,
 * leading and trailing white space removed, RFC 2047 encoded words
 * decoded, UTF-8 (raw 8-bit bytes as in charset.h).
 */
void	mime_header_text(const char *value, size_t len, struct buf *out);

/*
 * The parsed forms of one raw header value (RFC 8621 4.1.2.3 to 4.1.2.7)
 * for callers that hold a stored message (JMAP header:Name:as{Form}).
 * value is len bytes as mime_header_find() gives them: folded, not
 * NUL-terminated, possibly holding NUL bytes (dropped).  Parsing is as
 * lenient as for the message's own envelope, so that these forms agree
 * with the envelope data of msgrec.h (JMAP from, messageId, sentAt).
 * Each list comes back in one allocation that holds the array and its
 * strings, to be released with free(); NULL when *n_r is 0.
 */

/* One mailbox of an address list (RFC 5322 3.4). */
struct mime_address {
	const char	*name;		/* display name (or the comment after a
					   bare addr-spec), RFC 2047 decoded,
					   UTF-8, blanks at either end
					   removed; "" if none */
	const char	*email;		/* addr-spec, not necessarily with '@';
					   "" if none */
	const char	*group;		/* display name of the group it is in,
					   decoded, or NULL outside a group */
	size_t		 groupno;	/* 1, 2, ... for the groups in order,
					   0 outside a group */
};

/*
 * The mailboxes of an address-list value in order, each with the group
 * it belongs to.  A group without mailboxes ("undisclosed-recipients:;")
 * is one entry with its group and groupno, name and email "".  A value
 * with nothing that reads as a mailbox gives none.
 */
struct mime_address *mime_header_addresses(const char *value, size_t len,
	    size_t *n_r);

/*
 * The msg-ids of a value (RFC 5322 3.6.4), without their angle brackets,
 * comments and white space.  With one (a Message-ID field), only the
 * first is taken, and a value of one bare id with '@' and without "<>"
 * (seen in the wild) is accepted too.  None: the value did not parse.
 */
char	**mime_header_msgids(const char *value, size_t len, bool one,
	    size_t *n_r);

/*
 * Parses a date-time value (RFC 5322 3.3 and the obsolete forms of 4.3):
 * *t_r is the time in seconds since the epoch (UTC), *tz_r the zone's
 * offset in minutes east of UTC (0 for an unknown zone, as 4.3 says).
 * Returns false, leaving both alone, if the value is not a date.
 */
bool	mime_header_date(const char *value, size_t len, int64_t *t_r,
	    int32_t *tz_r);

/*
 * The URLs of a list header field such as List-Unsubscribe (RFC 2369 2):
 * each angle-bracket enclosed URL of the comma-separated list, without
 * the brackets and the white space inside them; comments are skipped.
 * As 2369 says, the list ends at the first item that is not such a URL,
 * and at anything but a comma after one.  None: the value did not parse
 * (it does not begin with '<', as "NO (posting not allowed)").
 */
char	**mime_header_urls(const char *value, size_t len, size_t *n_r);

#endif
