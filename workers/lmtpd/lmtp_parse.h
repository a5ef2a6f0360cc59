/* SPDX-License-Identifier: ISC */
/*
 * lmtp_parse.h: lmtpd's parsers, pure functions over buffers with no event
 * loop, so that they can be unit-tested and fuzzed: the command line
 * (RFC 5321 4.1.1 as amended for LMTP by RFC 2033 4), reverse and forward
 * paths (RFC 5321 4.1.2, with UTF-8 of RFC 6531 3.3), the parameters of
 * MAIL (SIZE of RFC 1870, BODY of RFC 6152 and RFC 3030, SMTPUTF8 of
 * RFC 6531), the BDAT arguments (RFC 3030 2), the DATA decoder that
 * removes dot-stuffing and finds the end of data (RFC 5321 4.5.2), and the
 * line-end normaliser that stores every message with CRLF line ends.
 *
 * Errors are returned as complete reply lines ("501 5.5.4 ..."), static
 * strings without CRLF, with the code of RFC 5321 4.2 and the enhanced
 * status code of RFC 3463.
 */
#ifndef BULWARK_LMTP_PARSE_H
#define BULWARK_LMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* RFC 5321 4.5.3.1: local part 64, domain 255, path 256 octets. */
#define LMTP_LOCAL_MAX		64
#define LMTP_DOMAIN_MAX		255
#define LMTP_PATH_MAX		256

/* The commands of RFC 2033 4 and the extensions lmtpd offers. */
enum lmtp_verb {
	LMTP_V_UNKNOWN = 0,
	LMTP_V_LHLO,
	LMTP_V_MAIL,
	LMTP_V_RCPT,
	LMTP_V_DATA,
	LMTP_V_BDAT,		/* RFC 3030 */
	LMTP_V_RSET,
	LMTP_V_NOOP,
	LMTP_V_QUIT,
	LMTP_V_VRFY,
	LMTP_V_HELP,
	LMTP_V_STARTTLS,	/* RFC 3207 */
	LMTP_V_HELO,		/* refused: RFC 2033 4.1 */
	LMTP_V_EHLO,
	LMTP_V_MAX
};

/*
 * Finds the verb of the command line at line (len bytes, without its line
 * end): the word up to the first space or the end, case-insensitive.
 * *args_r is set to the offset of the arguments (after one space), or len.
 * Returns LMTP_V_UNKNOWN for anything else.
 */
enum lmtp_verb lmtp_parse_verb(const char *line, size_t len, size_t *args_r);
/* The verb's name in upper case, for logs. */
const char *lmtp_verb_name(enum lmtp_verb v);

/*
 * Finds the end of the command line in buf (len bytes): returns 1 with
 * *line_r the bytes before CRLF or LF and *used_r the bytes up to and with
 * it; 0 if more bytes are needed; -1 if no line end is within max bytes
 * (the line, counting its line end, is too long).
 */
int	lmtp_line_scan(const uint8_t *buf, size_t len, size_t max,
	    size_t *line_r, size_t *used_r);

/* BODY= of MAIL (RFC 6152 2, RFC 3030 3). */
enum lmtp_body {
	LMTP_BODY_NONE = 0,
	LMTP_BODY_7BIT,
	LMTP_BODY_8BITMIME
};

struct lmtp_mail {
	char		 from[LMTP_PATH_MAX + 1];	/* "" for <> */
	uint64_t	 size;		/* SIZE=, 0 if not given */
	bool		 has_size;
	enum lmtp_body	 body;
	bool		 smtputf8;	/* RFC 6531 3.4 */
};

/*
 * Parses the arguments of MAIL: "FROM:<reverse-path> [SP params]" (a space
 * after the colon is tolerated).  max_size is the largest message taken;
 * a larger SIZE= is refused (RFC 1870 6).  Returns NULL with *m filled, or
 * the reply line that refuses the command.
 */
const char *lmtp_parse_mail(const char *args, size_t len, uint64_t max_size,
	    struct lmtp_mail *m);

/*
 * Parses the arguments of RCPT: "TO:<forward-path>".  UTF-8 is allowed in
 * the address only when utf8 (MAIL had SMTPUTF8).  "<Postmaster>" without
 * a domain is taken (RFC 5321 4.5.1).  On success returns NULL with the
 * address (without the angle brackets and any source route) in to, of size
 * bytes; else the reply line.
 */
const char *lmtp_parse_rcpt(const char *args, size_t len, bool utf8,
	    char *to, size_t size);

/*
 * Parses a Path (RFC 5321 4.1.2) at p (len bytes): "<" [A-d-l ":"]
 * Mailbox ">", or "<>" when null_ok.  Returns the bytes used, with the
 * mailbox in addr (of size bytes), or -1 if the syntax is wrong, the
 * address too long, or it holds UTF-8 but !utf8 (then *utf8_r is true).
 */
int	lmtp_parse_path(const char *p, size_t len, bool null_ok, bool utf8,
	    char *addr, size_t size, bool *utf8_r);

/*
 * Parses the arguments of BDAT: "chunk-size [SP LAST]" (RFC 3030 2).
 * Returns NULL with the size and whether it is the last chunk, else the
 * reply line (the connection cannot go on when the size is unreadable).
 */
const char *lmtp_parse_bdat(const char *args, size_t len, uint64_t *size_r,
	    bool *last_r);

/*
 * The line-end normaliser: every CR LF, bare LF and bare CR becomes CR LF.
 * Bytes go into out until cap bytes are written; past that the normaliser
 * counts but drops them and sets overflow.  It keeps state across calls, so
 * a CR at the end of one chunk pairs with an LF at the start of the next.
 */
struct lmtp_crlf {
	bool		 cr;		/* the last byte seen was CR */
	bool		 overflow;
	uint64_t	 total;		/* bytes the output would have */
	uint64_t	 cap;
};

void	lmtp_crlf_init(struct lmtp_crlf *n, uint64_t cap);
void	lmtp_crlf_feed(struct lmtp_crlf *n, struct buf *out, const void *p,
	    size_t len);
/* Ends the message: a pending CR becomes CR LF. */
void	lmtp_crlf_finish(struct lmtp_crlf *n, struct buf *out);

/*
 * The DATA decoder (RFC 5321 4.5.2): lines are ended by CRLF or a bare LF;
 * a line "." ends the data; a leading "." of any other line is removed.
 * What remains goes through the normaliser into out.
 */
struct lmtp_data {
	struct lmtp_crlf norm;
	bool		 bol;		/* at the beginning of a line */
	bool		 done;		/* the final "." was seen */
};

void	lmtp_data_init(struct lmtp_data *d, uint64_t cap);
/*
 * Decodes what it can of len bytes at p; returns the bytes used.  Bytes are
 * left over only when a line start is ambiguous (".", ".\r") or after the
 * end of data (d->done, then the rest belongs to the next command).
 */
size_t	lmtp_data_feed(struct lmtp_data *d, struct buf *out, const uint8_t *p,
	    size_t len);

#endif
