/* SPDX-License-Identifier: ISC */
/*
 * imap_parse.h: reading and parsing IMAP commands (RFC 9051 section 9, RFC
 * 3501 section 9, literals of RFC 7888).  Pure functions over a buffer: no
 * I/O and no libevent, so that they can be fuzzed and unit-tested alone.
 *
 * A command is read in two steps:
 *
 * 1. The reader frames commands in a connection's input.  It finds the line
 *    ends and the literal announcements at the end of a line ("{n}", "{n+}",
 *    "~{n}") and stops at each, so that the caller can accept the literal
 *    (sending a continuation request for a synchronizing one) or refuse it,
 *    and it reports lines that are too long.  When a command is complete the
 *    caller has its bytes, literals included, in one buffer.
 *
 * 2. The parser walks one complete command in the order of its grammar: a
 *    handler calls one imap_parse_*() per ABNF production.  Each returns 0,
 *    or -1 and leaves a reason fit for a BAD response in ps->error; after the
 *    first failure every call fails, so a handler may chain calls and check
 *    once.  Strings are returned as pointers into the command buffer, which
 *    must be writable because quoted strings are unescaped in place.
 */
#ifndef BULWARK_IMAP_PARSE_H
#define BULWARK_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_resp.h"

/* --- The reader --- */

enum imap_read_ev {
	IMAP_READ_MORE,		/* the buffer is scanned: wait for input */
	IMAP_READ_COMMAND,	/* rd->len bytes hold a complete command */
	IMAP_READ_LITERAL,	/* a line announced a literal: decide with
				   imap_reader_literal() */
	IMAP_READ_TOOLONG,	/* the command broke a limit (rd->why); the
				   reader now discards the rest of it */
	IMAP_READ_SKIP,		/* rd->len bytes of a refused command are to be
				   dropped; nothing else to do */
	IMAP_READ_DIVERT	/* rd->len bytes of a diverted literal are at
				   rd->off: the caller takes them and removes
				   them from its buffer, then scans on */
};

struct imap_read {
	enum imap_read_ev	 ev;
	size_t			 len;	/* COMMAND, SKIP: bytes to remove;
					   LITERAL, TOOLONG: bytes so far;
					   DIVERT: bytes of literal at off */
	size_t			 off;	/* DIVERT */
	uint64_t		 literal; /* LITERAL: announced size; UINT64_MAX
					   if the number does not fit */
	bool			 sync;	/* LITERAL: synchronizing, the client
					   waits for a continuation request */
	bool			 binary; /* LITERAL: literal8, "~{n}" */
	const char		*why;	/* TOOLONG: text for a BAD response */
};

struct imap_reader {
	size_t		 max_line;	/* bytes of one line, CRLF included */
	size_t		 max_command;	/* bytes of a command, with literals */
	bool		 line_mode;	/* lines only: no literals (responses to
					   continuation requests) */
	bool		 want_line_mode; /* line_mode from the next command */
	/* Scanner state; offsets are from the start of the caller's buffer. */
	size_t		 pos;		/* bytes scanned */
	size_t		 line_start;	/* where the current line began */
	uint64_t	 literal_left;	/* literal bytes still to pass over */
	uint64_t	 lit_num;	/* number of the literal header read */
	uint8_t		 lit;		/* literal header scanner state */
	uint8_t		 prev;		/* byte before the current one */
	bool		 lit_plus;	/* "+}" */
	bool		 lit_tilde;	/* "~{" */
	bool		 quoted;	/* inside a quoted string */
	bool		 escaped;	/* after a backslash in a quoted */
	bool		 pending;	/* LITERAL reported, no decision yet */
	bool		 discard;	/* the command was answered: skip it */
	bool		 end_after;	/* discard: the command ends at pos */
	bool		 divert;	/* the literal goes to the caller */
};

/*
 * Prepares r for a connection: lines of at most max_line bytes, commands of
 * at most max_command bytes held in memory.
 */
void	imap_reader_init(struct imap_reader *r, size_t max_line,
	    size_t max_command);
/*
 * Scans buf, the caller's unconsumed input, which always starts at the
 * beginning of the current command; len only grows between calls, except
 * after COMMAND and SKIP, when the caller must remove exactly rd->len bytes
 * from the front of its buffer before the next call.  Returns rd->ev.
 */
enum imap_read_ev imap_reader_scan(struct imap_reader *r, const uint8_t *buf,
	    size_t len, struct imap_read *rd);
/*
 * Decides on the literal just reported.  Accepted, its bytes become part of
 * the command (the caller sends "+ ..." first for a synchronizing one).
 * Refused, the caller has answered the command: a synchronizing literal will
 * not come and the command ends with this line; a non-synchronizing literal
 * is on its way and is skipped with the rest of the command (RFC 7888 4).
 */
void	imap_reader_literal(struct imap_reader *r, bool accept);
/*
 * Accepts the literal just reported without making it part of the command:
 * its bytes are handed out as they come (IMAP_READ_DIVERT), so that a
 * large message (APPEND) is never held in the command buffer, which keeps
 * the literal's header ("{n}" and CRLF) but not its bytes.
 */
void	imap_reader_literal_divert(struct imap_reader *r);
/*
 * Switches between commands and bare lines.  Takes effect at once between
 * commands, otherwise when the current one has been read.
 */
void	imap_reader_set_line_mode(struct imap_reader *r, bool on);
/* Forgets all state, as after imap_reader_init(), keeping the limits. */
void	imap_reader_reset(struct imap_reader *r);

/* --- The parser --- */

struct imap_parser {
	uint8_t		*p;		/* next byte */
	uint8_t		*end;		/* end of the command */
	const char	*error;		/* NULL until the first failure */
};

/* A string argument: points into the command, not NUL-terminated. */
struct imap_str {
	const char	*p;		/* NULL for NIL (imap_parse_nstring) */
	size_t		 len;
	bool		 literal;	/* was sent as a literal */
};

/* Parses the command in buf[0..len), CRLF included; buf is written to. */
void	imap_parser_init(struct imap_parser *ps, uint8_t *buf, size_t len);
/* tag = 1*<any ASTRING-CHAR except "+"> */
int	imap_parse_tag(struct imap_parser *ps, struct imap_str *tag);
/* SP, exactly one space */
int	imap_parse_sp(struct imap_parser *ps);
/* atom = 1*ATOM-CHAR (command names, auth-type, flags, keywords) */
int	imap_parse_atom(struct imap_parser *ps, struct imap_str *atom);
/* string = quoted / literal */
int	imap_parse_string(struct imap_parser *ps, struct imap_str *s);
/* astring = 1*ASTRING-CHAR / string */
int	imap_parse_astring(struct imap_parser *ps, struct imap_str *s);
/* nstring = string / nil; NIL gives s->p == NULL */
int	imap_parse_nstring(struct imap_parser *ps, struct imap_str *s);
/* number = 1*DIGIT, an unsigned 32-bit integer */
int	imap_parse_number(struct imap_parser *ps, uint32_t *n);
/*
 * base64 = *(4base64-char) [base64-terminal], the form of SASL responses
 * (RFC 9051 6.2.2); "=" alone, the empty initial response of RFC 4959, is
 * accepted too.  Accepts an empty line part (an empty response).
 */
int	imap_parse_base64(struct imap_parser *ps, struct imap_str *s);
/* CRLF, which must end the command (a bare LF is accepted as well) */
int	imap_parse_eol(struct imap_parser *ps);
/* Returns true if the next byte is c (no error is set). */
bool	imap_parse_peek(const struct imap_parser *ps, uint8_t c);
/* Returns true if the command's CRLF comes next. */
bool	imap_parse_at_eol(const struct imap_parser *ps);

#endif
