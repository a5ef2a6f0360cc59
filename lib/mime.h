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

#endif
