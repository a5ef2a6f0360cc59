/* SPDX-License-Identifier: ISC */
/*
 * imap_parse.c: the command reader (framing of lines and literals, RFC 9051
 * 4.3 and RFC 7888) and the parser of the basic productions of RFC 9051
 * section 9: tag, atom, quoted, literal, string, astring, nstring, number,
 * base64.  See imap_parse.h for how the two fit together.
 */
#include "imap_parse.h"

#include <string.h>

/* number64 = 1*DIGIT, at most 2^63 - 1 (RFC 9051 9) */
#define IMAP_NUMBER64_MAX	9223372036854775807ULL

/* States of the literal header scanner: '{' 1*DIGIT ['+'] '}' [CR] LF */
enum {
	LIT_NONE,
	LIT_OPEN,	/* after '{' */
	LIT_NUM,	/* after a digit */
	LIT_PLUS,	/* after '+' */
	LIT_CLOSE,	/* after '}' */
	LIT_CR		/* after '}' CR */
};

/* --- Character classes (RFC 9051 9) --- */

static bool
imap_is_base64_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* --- The reader --- */

void
imap_reader_init(struct imap_reader *r, size_t max_line, size_t max_command)
{
	memset(r, 0, sizeof(*r));
	r->max_line = max_line;
	r->max_command = max_command;
}

void
imap_reader_reset(struct imap_reader *r)
{
	size_t max_line = r->max_line, max_command = r->max_command;
	bool line_mode = r->want_line_mode;

	memset(r, 0, sizeof(*r));
	r->max_line = max_line;
	r->max_command = max_command;
	r->line_mode = r->want_line_mode = line_mode;
}

void
imap_reader_set_line_mode(struct imap_reader *r, bool on)
{
	r->want_line_mode = on;
	if (r->pos == 0 && !r->discard && !r->pending)
		r->line_mode = on;
}

void
imap_reader_literal(struct imap_reader *r, bool accept)
{
	if (!r->pending)
		return;
	r->pending = false;
	if (accept)
		r->literal_left = r->lit_num;
	else if (!r->lit_plus) {
		/* The client waits for a "+" that will not come. */
		r->discard = true;
		r->end_after = true;
	} else {
		r->discard = true;
		r->literal_left = r->lit_num;
	}
	r->lit = LIT_NONE;
}

void
imap_reader_literal_divert(struct imap_reader *r)
{
	if (!r->pending)
		return;
	imap_reader_literal(r, true);
	r->divert = r->literal_left > 0;
}

/* Ends the scan with an event that hands pos bytes to the caller. */
static enum imap_read_ev
imap_reader_emit(struct imap_reader *r, struct imap_read *rd,
    enum imap_read_ev ev)
{
	rd->ev = ev;
	rd->len = r->pos;
	imap_reader_reset(r);
	return ev;
}

static enum imap_read_ev
imap_reader_toolong(struct imap_reader *r, struct imap_read *rd,
    const char *why)
{
	r->discard = true;
	rd->ev = IMAP_READ_TOOLONG;
	rd->len = r->pos;
	rd->why = why;
	return rd->ev;
}

static enum imap_read_ev
imap_reader_report_literal(struct imap_reader *r, struct imap_read *rd)
{
	r->pending = true;
	rd->ev = IMAP_READ_LITERAL;
	rd->len = r->pos;
	rd->literal = r->lit_num;
	rd->sync = !r->lit_plus;
	rd->binary = r->lit_tilde;
	return rd->ev;
}

/* Follows quoting and literal headers through one byte of a line. */
static void
imap_reader_track(struct imap_reader *r, uint8_t c)
{
	if (r->quoted) {
		if (r->escaped)
			r->escaped = false;
		else if (c == '\\')
			r->escaped = true;
		else if (c == '"')
			r->quoted = false;
		r->lit = LIT_NONE;
	} else if (c == '"') {
		r->quoted = true;
		r->lit = LIT_NONE;
	} else if (c == '{') {
		r->lit = LIT_OPEN;
		r->lit_num = 0;
		r->lit_plus = false;
		r->lit_tilde = r->prev == '~';
	} else if (c >= '0' && c <= '9' &&
	    (r->lit == LIT_OPEN || r->lit == LIT_NUM)) {
		r->lit = LIT_NUM;
		if (r->lit_num > (IMAP_NUMBER64_MAX - (c - '0')) / 10)
			r->lit_num = UINT64_MAX;	/* sticky: too large */
		else if (r->lit_num != UINT64_MAX)
			r->lit_num = r->lit_num * 10 + (c - '0');
	} else if (c == '+' && r->lit == LIT_NUM)
		r->lit = LIT_PLUS;
	else if (c == '}' && (r->lit == LIT_NUM || r->lit == LIT_PLUS)) {
		r->lit_plus = r->lit == LIT_PLUS;
		r->lit = LIT_CLOSE;
	} else if (c == '\r' && r->lit == LIT_CLOSE)
		r->lit = LIT_CR;
	else
		r->lit = LIT_NONE;
	r->prev = c;
}

/* A line ended (LF at pos - 1). */
static enum imap_read_ev
imap_reader_eol(struct imap_reader *r, struct imap_read *rd)
{
	bool literal;

	if (r->line_mode)
		return imap_reader_emit(r, rd, r->discard ? IMAP_READ_SKIP :
		    IMAP_READ_COMMAND);
	literal = !r->quoted && (r->lit == LIT_CLOSE || r->lit == LIT_CR);
	r->quoted = r->escaped = false;
	r->lit = LIT_NONE;
	r->prev = 0;
	r->line_start = r->pos;
	if (literal)
		return imap_reader_report_literal(r, rd);
	return imap_reader_emit(r, rd, r->discard ? IMAP_READ_SKIP :
	    IMAP_READ_COMMAND);
}

enum imap_read_ev
imap_reader_scan(struct imap_reader *r, const uint8_t *buf, size_t len,
    struct imap_read *rd)
{
	uint64_t n;
	uint8_t c;

	memset(rd, 0, sizeof(*rd));
	if (r->pending)
		return imap_reader_report_literal(r, rd);
	for (;;) {
		if (r->literal_left > 0 && r->divert) {
			if (r->pos >= len)
				break;
			rd->ev = IMAP_READ_DIVERT;
			rd->off = r->pos;
			rd->len = len - r->pos < r->literal_left ?
			    len - r->pos : (size_t)r->literal_left;
			r->literal_left -= rd->len;
			if (r->literal_left == 0) {
				r->divert = false;
				r->line_start = r->pos;
				r->prev = 0;
			}
			return rd->ev;
		}
		if (r->literal_left > 0) {
			/* Known as soon as the literal is accepted. */
			if (!r->discard &&
			    r->literal_left > r->max_command - r->pos)
				return imap_reader_toolong(r, rd,
				    "Command too long");
			n = len - r->pos;
			if (n > r->literal_left)
				n = r->literal_left;
			r->pos += n;
			r->literal_left -= n;
			if (r->literal_left > 0)
				break;
			r->line_start = r->pos;
			r->prev = 0;
			continue;
		}
		if (r->end_after)
			return imap_reader_emit(r, rd, IMAP_READ_SKIP);
		if (r->pos >= len)
			break;
		c = buf[r->pos++];
		if (c == '\n')
			return imap_reader_eol(r, rd);
		if (!r->discard && r->pos + 1 - r->line_start > r->max_line)
			return imap_reader_toolong(r, rd, "Line too long");
		if (!r->discard && r->pos + 1 > r->max_command)
			return imap_reader_toolong(r, rd, "Command too long");
		if (!r->line_mode)
			imap_reader_track(r, c);
	}
	/* Out of input: what was scanned of a refused command can go now. */
	if (r->discard && r->pos > 0) {
		rd->ev = IMAP_READ_SKIP;
		rd->len = r->pos;
		r->pos = 0;
		r->line_start = 0;
		return rd->ev;
	}
	rd->ev = IMAP_READ_MORE;
	rd->len = r->pos;
	return rd->ev;
}

/* --- The parser --- */

void
imap_parser_init(struct imap_parser *ps, uint8_t *buf, size_t len)
{
	ps->p = buf;
	ps->end = buf + len;
	ps->error = NULL;
}

static int
imap_parse_fail(struct imap_parser *ps, const char *why)
{
	if (ps->error == NULL)
		ps->error = why;
	return -1;
}

bool
imap_parse_peek(const struct imap_parser *ps, uint8_t c)
{
	return ps->p < ps->end && *ps->p == c;
}

bool
imap_parse_at_eol(const struct imap_parser *ps)
{
	return ps->p == ps->end || *ps->p == '\r' || *ps->p == '\n';
}

/* Why an argument is missing or not what was expected. */
static int
imap_parse_expected(struct imap_parser *ps, const char *what)
{
	if (imap_parse_at_eol(ps))
		return imap_parse_fail(ps, "Missing argument");
	if (*ps->p == ' ')
		return imap_parse_fail(ps, "Unexpected extra space");
	return imap_parse_fail(ps, what);
}

int
imap_parse_tag(struct imap_parser *ps, struct imap_str *tag)
{
	const uint8_t *start = ps->p;

	if (ps->error != NULL)
		return -1;
	while (ps->p < ps->end && imap_is_tag_char(*ps->p))
		ps->p++;
	if (ps->p == start)
		return imap_parse_fail(ps, imap_parse_at_eol(ps) ?
		    "Empty command line" : "Invalid tag");
	if (!imap_parse_peek(ps, ' ') && !imap_parse_at_eol(ps))
		return imap_parse_fail(ps, "Invalid tag");
	tag->p = (const char *)start;
	tag->len = ps->p - start;
	tag->literal = false;
	return 0;
}

int
imap_parse_sp(struct imap_parser *ps)
{
	if (ps->error != NULL)
		return -1;
	if (imap_parse_peek(ps, ' ')) {
		ps->p++;
		return 0;
	}
	if (imap_parse_at_eol(ps))
		return imap_parse_fail(ps, "Missing argument");
	return imap_parse_fail(ps, "Expected a space between arguments");
}

int
imap_parse_atom(struct imap_parser *ps, struct imap_str *atom)
{
	const uint8_t *start = ps->p;

	if (ps->error != NULL)
		return -1;
	while (ps->p < ps->end && imap_is_atom_char(*ps->p))
		ps->p++;
	if (ps->p == start)
		return imap_parse_expected(ps, "Expected an atom");
	atom->p = (const char *)start;
	atom->len = ps->p - start;
	atom->literal = false;
	return 0;
}

/* quoted = DQUOTE *QUOTED-CHAR DQUOTE, unescaped in place */
static int
imap_parse_quoted(struct imap_parser *ps, struct imap_str *s)
{
	uint8_t *start, *w, c;

	start = w = ++ps->p;
	for (;;) {
		if (ps->p == ps->end || *ps->p == '\r' || *ps->p == '\n')
			return imap_parse_fail(ps,
			    "Unterminated quoted string");
		c = *ps->p;
		if (c == '"')
			break;
		if (c == '\0')
			return imap_parse_fail(ps, "NUL in quoted string");
		if (c == '\\') {
			/* "\" quoted-specials */
			if (ps->end - ps->p < 2 ||
			    (ps->p[1] != '"' && ps->p[1] != '\\'))
				return imap_parse_fail(ps,
				    "Invalid escape in quoted string");
			c = *++ps->p;
		}
		*w++ = c;
		ps->p++;
	}
	ps->p++;
	/* Escapes make only ASCII, so the result is checked once. */
	if (!imap_utf8_valid(start, w - start))
		return imap_parse_fail(ps, "Invalid UTF-8 in quoted string");
	s->p = (const char *)start;
	s->len = w - start;
	s->literal = false;
	return 0;
}

/* literal = "{" number64 ["+"] "}" CRLF *CHAR8 */
static int
imap_parse_literal(struct imap_parser *ps, struct imap_str *s)
{
	uint64_t n = 0;
	const uint8_t *digits;

	digits = ++ps->p;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		if (n > (IMAP_NUMBER64_MAX - (*ps->p - '0')) / 10)
			return imap_parse_fail(ps, "Literal too large");
		n = n * 10 + (*ps->p++ - '0');
	}
	if (ps->p == digits)
		return imap_parse_fail(ps, "Invalid literal size");
	if (imap_parse_peek(ps, '+'))
		ps->p++;
	if (!imap_parse_peek(ps, '}'))
		return imap_parse_fail(ps, "Invalid literal size");
	ps->p++;
	if (imap_parse_peek(ps, '\r'))
		ps->p++;
	if (!imap_parse_peek(ps, '\n'))
		return imap_parse_fail(ps,
		    "Expected end of line after literal size");
	ps->p++;
	if ((uint64_t)(ps->end - ps->p) < n)
		return imap_parse_fail(ps, "Truncated literal");
	if (memchr(ps->p, '\0', n) != NULL)
		return imap_parse_fail(ps, "NUL in literal");
	s->p = (const char *)ps->p;
	s->len = n;
	s->literal = true;
	ps->p += n;
	return 0;
}

int
imap_parse_string(struct imap_parser *ps, struct imap_str *s)
{
	if (ps->error != NULL)
		return -1;
	if (imap_parse_peek(ps, '"'))
		return imap_parse_quoted(ps, s);
	if (imap_parse_peek(ps, '{'))
		return imap_parse_literal(ps, s);
	if (imap_parse_peek(ps, '~') && ps->end - ps->p > 1 && ps->p[1] == '{')
		return imap_parse_fail(ps, "Binary literal not allowed here");
	return imap_parse_expected(ps, "Expected a string");
}

int
imap_parse_astring(struct imap_parser *ps, struct imap_str *s)
{
	const uint8_t *start = ps->p;

	if (ps->error != NULL)
		return -1;
	/* '~' is an ATOM-CHAR, unless it starts a literal8 ("~{"). */
	if (imap_parse_peek(ps, '"') || imap_parse_peek(ps, '{') ||
	    (imap_parse_peek(ps, '~') && ps->end - ps->p > 1 &&
	    ps->p[1] == '{'))
		return imap_parse_string(ps, s);
	while (ps->p < ps->end && imap_is_astring_char(*ps->p))
		ps->p++;
	if (ps->p == start)
		return imap_parse_expected(ps, "Expected an atom or a string");
	s->p = (const char *)start;
	s->len = ps->p - start;
	s->literal = false;
	return 0;
}

int
imap_parse_nstring(struct imap_parser *ps, struct imap_str *s)
{
	if (ps->error != NULL)
		return -1;
	/* nil = "NIL", as a whole atom */
	if (ps->end - ps->p >= 3 && strncasecmp((const char *)ps->p, "NIL",
	    3) == 0 && (ps->end - ps->p == 3 ||
	    !imap_is_astring_char(ps->p[3]))) {
		ps->p += 3;
		s->p = NULL;
		s->len = 0;
		s->literal = false;
		return 0;
	}
	return imap_parse_string(ps, s);
}

int
imap_parse_number(struct imap_parser *ps, uint32_t *n)
{
	const uint8_t *start = ps->p;
	uint64_t v = 0;

	if (ps->error != NULL)
		return -1;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		v = v * 10 + (*ps->p++ - '0');
		if (v > UINT32_MAX)
			return imap_parse_fail(ps, "Number too large");
	}
	if (ps->p == start)
		return imap_parse_expected(ps, "Expected a number");
	*n = (uint32_t)v;
	return 0;
}

int
imap_parse_base64(struct imap_parser *ps, struct imap_str *s)
{
	const uint8_t *start = ps->p;
	size_t pad = 0;

	if (ps->error != NULL)
		return -1;
	while (ps->p < ps->end && imap_is_base64_char(*ps->p))
		ps->p++;
	while (ps->p < ps->end && *ps->p == '=' && pad < 2) {
		ps->p++;
		pad++;
	}
	s->p = (const char *)start;
	s->len = ps->p - start;
	s->literal = false;
	/* RFC 4959: "=" is the empty initial response. */
	if (s->len == 1 && pad == 1) {
		s->len = 0;
		return 0;
	}
	if (s->len % 4 != 0 || (ps->p < ps->end && !imap_parse_at_eol(ps) &&
	    *ps->p != ' '))
		return imap_parse_fail(ps, "Invalid base64");
	return 0;
}

int
imap_parse_eol(struct imap_parser *ps)
{
	if (ps->error != NULL)
		return -1;
	if (imap_parse_peek(ps, ' '))
		return imap_parse_fail(ps, "Unexpected extra arguments");
	if (imap_parse_peek(ps, '\r'))
		ps->p++;
	if (!imap_parse_peek(ps, '\n'))
		return imap_parse_fail(ps,
		    "Unexpected characters at end of command");
	ps->p++;
	if (ps->p != ps->end)
		return imap_parse_fail(ps, "Unexpected data after end of line");
	return 0;
}
