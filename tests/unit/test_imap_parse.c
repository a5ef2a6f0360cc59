/* SPDX-License-Identifier: ISC */
/*
 * test_imap_parse.c: imapd's command reader (framing of lines and
 * literals, limits, refused literals, line mode), its parser (tag, atom,
 * quoted strings with escapes, literals, astring, nstring, number, base64,
 * end of line, malformed input) and the response writer's choice and
 * quoting of atoms, quoted strings and literals.
 */
/* unit-deps: workers/imapd/imap_parse.c */
#include "harness.h"
#include "buf.h"
#include "workers/imapd/imap_parse.h"
#include "imap_resp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- Helpers --- */

/* A writable copy of a C string, as the session's input buffer is. */
static uint8_t *
dup_cmd(const char *s, size_t *len)
{
	*len = strlen(s);
	return (uint8_t *)strdup(s);
}

static int
str_eq(const struct imap_str *s, const char *want)
{
	return s->p != NULL && s->len == strlen(want) &&
	    memcmp(s->p, want, s->len) == 0;
}

/* What the reader reported, in order, as one string for CHECK_STR. */
struct trace {
	char	 text[1024];
};

static void
trace_add(struct trace *t, const char *fmt, size_t a, size_t b)
{
	size_t n = strlen(t->text);

	snprintf(t->text + n, sizeof(t->text) - n, fmt, a, b);
}

/*
 * Feeds input to a reader in chunks of step bytes (0: all at once), the way
 * the session does: literals of at most accept_max bytes are accepted,
 * COMMAND and SKIP remove their bytes.  Records each event.
 */
static void
run_reader(struct imap_reader *r, const char *input, size_t step,
    uint64_t accept_max, struct trace *t)
{
	size_t total = strlen(input), fed = 0, off = 0;
	struct imap_read rd;

	t->text[0] = '\0';
	for (;;) {
		switch (imap_reader_scan(r, (const uint8_t *)input + off,
		    fed - off, &rd)) {
		case IMAP_READ_MORE:
			if (fed == total)
				return;
			fed = step == 0 || total - fed < step ? total :
			    fed + step;
			break;
		case IMAP_READ_COMMAND:
			trace_add(t, "C%zu ", rd.len, 0);
			off += rd.len;
			break;
		case IMAP_READ_SKIP:
			trace_add(t, "S%zu ", rd.len, 0);
			off += rd.len;
			break;
		case IMAP_READ_TOOLONG:
			trace_add(t, "T ", 0, 0);
			break;
		case IMAP_READ_LITERAL:
			trace_add(t, rd.sync ? "L%zu " : "L%zu+ ",
			    (size_t)rd.literal, 0);
			imap_reader_literal(r, rd.literal <= accept_max);
			break;
		case IMAP_READ_DIVERT:
			/* Nothing here accepts a literal with divert. */
			trace_add(t, "D! ", 0, 0);
			return;
		}
	}
}

/* --- Character classes and UTF-8 --- */

TEST(char_classes)
{
	CHECK(imap_is_atom_char('A'));
	CHECK(imap_is_atom_char('.'));
	CHECK(imap_is_atom_char('+'));
	CHECK(!imap_is_atom_char(' '));
	CHECK(!imap_is_atom_char('('));
	CHECK(!imap_is_atom_char(')'));
	CHECK(!imap_is_atom_char('{'));
	CHECK(!imap_is_atom_char('%'));
	CHECK(!imap_is_atom_char('*'));
	CHECK(!imap_is_atom_char('"'));
	CHECK(!imap_is_atom_char('\\'));
	CHECK(!imap_is_atom_char(']'));
	CHECK(!imap_is_atom_char(0x7f));
	CHECK(!imap_is_atom_char(0x1f));
	CHECK(!imap_is_atom_char(0xc3));
	CHECK(imap_is_astring_char(']'));
	CHECK(!imap_is_tag_char('+'));
	CHECK(imap_is_tag_char(']'));
	CHECK(imap_is_tag_char('a'));
}

TEST(utf8_validation)
{
	CHECK(imap_utf8_valid((const uint8_t *)"plain", 5));
	CHECK(imap_utf8_valid((const uint8_t *)"gr\xc3\xbc\xc3\x9f", 6));
	CHECK(imap_utf8_valid((const uint8_t *)"\xf0\x9f\x93\xa7", 4));
	/* overlong, surrogate, above U+10FFFF, truncated, invalid */
	CHECK(!imap_utf8_valid((const uint8_t *)"\xc0\x80", 2));
	CHECK(!imap_utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3));
	CHECK(!imap_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));
	CHECK(!imap_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));
	CHECK(!imap_utf8_valid((const uint8_t *)"\xc3", 1));
	CHECK(!imap_utf8_valid((const uint8_t *)"\xc3(", 2));
	CHECK(!imap_utf8_valid((const uint8_t *)"\xff", 1));
}

/* --- Parser --- */

TEST(parse_simple_command)
{
	struct imap_parser ps;
	struct imap_str tag, name;
	size_t len;
	uint8_t *b = dup_cmd("a001 NOOP\r\n", &len);

	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_tag(&ps, &tag), 0);
	CHECK(str_eq(&tag, "a001"));
	CHECK_INT(imap_parse_sp(&ps), 0);
	CHECK_INT(imap_parse_atom(&ps, &name), 0);
	CHECK(str_eq(&name, "NOOP"));
	CHECK(imap_parse_at_eol(&ps));
	CHECK_INT(imap_parse_eol(&ps), 0);
	CHECK(ps.error == NULL);
	free(b);
}

TEST(parse_tag_errors)
{
	struct imap_parser ps;
	struct imap_str tag;
	size_t len;
	uint8_t *b;

	b = dup_cmd("\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_tag(&ps, &tag), -1);
	CHECK_STR(ps.error, "Empty command line");
	free(b);

	b = dup_cmd("a+1 NOOP\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_tag(&ps, &tag), -1);
	CHECK_STR(ps.error, "Invalid tag");
	free(b);

	b = dup_cmd("* NOOP\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_tag(&ps, &tag), -1);
	free(b);

	/* A tag may hold ']' (ASTRING-CHAR), unlike an atom. */
	b = dup_cmd("a]1 NOOP\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_tag(&ps, &tag), 0);
	CHECK(str_eq(&tag, "a]1"));
	free(b);
}

TEST(parse_astring_forms)
{
	struct imap_parser ps;
	struct imap_str s1, s2, s3;
	size_t len;
	uint8_t *b = dup_cmd("atom]x \"quo ted\" {5}\r\nlit\r\n\r\n", &len);

	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &s1), 0);
	CHECK(str_eq(&s1, "atom]x"));
	CHECK(!s1.literal);
	CHECK_INT(imap_parse_sp(&ps), 0);
	CHECK_INT(imap_parse_astring(&ps, &s2), 0);
	CHECK(str_eq(&s2, "quo ted"));
	CHECK_INT(imap_parse_sp(&ps), 0);
	CHECK_INT(imap_parse_astring(&ps, &s3), 0);
	CHECK(str_eq(&s3, "lit\r\n"));
	CHECK(s3.literal);
	CHECK_INT(imap_parse_eol(&ps), 0);
	free(b);
}

TEST(parse_quoted_escapes)
{
	struct imap_parser ps;
	struct imap_str s;
	size_t len;
	uint8_t *b;

	b = dup_cmd("\"a\\\"b\\\\c\"\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_string(&ps, &s), 0);
	CHECK(str_eq(&s, "a\"b\\c"));
	CHECK_INT(imap_parse_eol(&ps), 0);
	free(b);

	b = dup_cmd("\"\"\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_string(&ps, &s), 0);
	CHECK_INT(s.len, 0);
	free(b);

	b = dup_cmd("\"a\\nb\"\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_string(&ps, &s), -1);
	CHECK_STR(ps.error, "Invalid escape in quoted string");
	free(b);

	b = dup_cmd("\"unterminated\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &s), -1);
	CHECK_STR(ps.error, "Unterminated quoted string");
	free(b);

	b = dup_cmd("\"ends with backslash\\", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &s), -1);
	CHECK_STR(ps.error, "Invalid escape in quoted string");
	free(b);

	b = dup_cmd("\"caf\xc3\xa9\"\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &s), 0);
	CHECK(str_eq(&s, "caf\xc3\xa9"));
	free(b);

	b = dup_cmd("\"caf\xe9\"\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &s), -1);
	CHECK_STR(ps.error, "Invalid UTF-8 in quoted string");
	free(b);

	/* NUL cannot come through a C string: build it by hand. */
	b = (uint8_t *)strdup("\"a?b\"\r\n");
	b[2] = '\0';
	imap_parser_init(&ps, b, 7);
	CHECK_INT(imap_parse_astring(&ps, &s), -1);
	CHECK_STR(ps.error, "NUL in quoted string");
	free(b);
}

TEST(parse_literals)
{
	struct imap_parser ps;
	struct imap_str s;
	size_t len;
	uint8_t *b;

	b = dup_cmd("{0}\r\n\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_string(&ps, &s), 0);
	CHECK_INT(s.len, 0);
	CHECK(s.literal);
	CHECK_INT(imap_parse_eol(&ps), 0);
	free(b);

	b = dup_cmd("{6+}\r\n\"x y\"z\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &s), 0);
	CHECK(str_eq(&s, "\"x y\"z"));
	CHECK_INT(imap_parse_eol(&ps), 0);
	free(b);

	b = dup_cmd("{10}\r\nshort\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &s), -1);
	CHECK_STR(ps.error, "Truncated literal");
	free(b);

	b = dup_cmd("{}\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &s), -1);
	CHECK_STR(ps.error, "Invalid literal size");
	free(b);

	b = dup_cmd("{5 }\r\nabcde\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &s), -1);
	CHECK_STR(ps.error, "Invalid literal size");
	free(b);

	b = dup_cmd("{3}x\r\nabc\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &s), -1);
	CHECK_STR(ps.error, "Expected end of line after literal size");
	free(b);

	b = dup_cmd("{99999999999999999999}\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &s), -1);
	CHECK_STR(ps.error, "Literal too large");
	free(b);

	b = dup_cmd("~{3}\r\nabc\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &s), -1);
	CHECK_STR(ps.error, "Binary literal not allowed here");
	free(b);

	b = (uint8_t *)strdup("{3}\r\na?c\r\n");
	b[6] = '\0';
	imap_parser_init(&ps, b, 10);
	CHECK_INT(imap_parse_astring(&ps, &s), -1);
	CHECK_STR(ps.error, "NUL in literal");
	free(b);
}

TEST(parse_login_shapes)
{
	struct imap_parser ps;
	struct imap_str tag, name, user, pass;
	size_t len;
	uint8_t *b;

	b = dup_cmd("A1 login {5}\r\nalice \"se\\\"cret\"\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_tag(&ps, &tag), 0);
	CHECK_INT(imap_parse_sp(&ps), 0);
	CHECK_INT(imap_parse_atom(&ps, &name), 0);
	CHECK(str_eq(&name, "login"));
	CHECK_INT(imap_parse_sp(&ps), 0);
	CHECK_INT(imap_parse_astring(&ps, &user), 0);
	CHECK_INT(imap_parse_sp(&ps), 0);
	CHECK_INT(imap_parse_astring(&ps, &pass), 0);
	CHECK_INT(imap_parse_eol(&ps), 0);
	CHECK(str_eq(&user, "alice"));
	CHECK(str_eq(&pass, "se\"cret"));
	free(b);

	/* A missing argument, a doubled space, extra arguments. */
	b = dup_cmd("alice\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &user), 0);
	CHECK_INT(imap_parse_sp(&ps), -1);
	CHECK_STR(ps.error, "Missing argument");
	/* Sticky: later calls fail too, and keep the first reason. */
	CHECK_INT(imap_parse_astring(&ps, &pass), -1);
	CHECK_STR(ps.error, "Missing argument");
	free(b);

	b = dup_cmd(" alice\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &user), -1);
	CHECK_STR(ps.error, "Unexpected extra space");
	free(b);

	b = dup_cmd("alice bob carol\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &user), 0);
	CHECK_INT(imap_parse_sp(&ps), 0);
	CHECK_INT(imap_parse_astring(&ps, &pass), 0);
	CHECK_INT(imap_parse_eol(&ps), -1);
	CHECK_STR(ps.error, "Unexpected extra arguments");
	free(b);

	b = dup_cmd("(x)\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &user), -1);
	CHECK_STR(ps.error, "Expected an atom or a string");
	free(b);

	b = dup_cmd("alice\"x\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_astring(&ps, &user), 0);
	CHECK_INT(imap_parse_sp(&ps), -1);
	CHECK_STR(ps.error, "Expected a space between arguments");
	free(b);
}

TEST(parse_nstring_number_eol)
{
	struct imap_parser ps;
	struct imap_str s;
	uint32_t n;
	size_t len;
	uint8_t *b;

	b = dup_cmd("nil \"NIL\" NILS\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_nstring(&ps, &s), 0);
	CHECK(s.p == NULL);
	CHECK_INT(imap_parse_sp(&ps), 0);
	CHECK_INT(imap_parse_nstring(&ps, &s), 0);
	CHECK(str_eq(&s, "NIL"));
	CHECK_INT(imap_parse_sp(&ps), 0);
	CHECK_INT(imap_parse_nstring(&ps, &s), -1);
	CHECK_STR(ps.error, "Expected a string");
	free(b);

	b = dup_cmd("0 4294967295 4294967296\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_number(&ps, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(imap_parse_sp(&ps), 0);
	CHECK_INT(imap_parse_number(&ps, &n), 0);
	CHECK(n == 4294967295u);
	CHECK_INT(imap_parse_sp(&ps), 0);
	CHECK_INT(imap_parse_number(&ps, &n), -1);
	CHECK_STR(ps.error, "Number too large");
	free(b);

	/* A bare LF ends a command too; a CR alone does not. */
	b = dup_cmd("\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_eol(&ps), 0);
	free(b);
	b = dup_cmd("\rx\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_eol(&ps), -1);
	CHECK_STR(ps.error, "Unexpected characters at end of command");
	free(b);
	b = dup_cmd("\r\nmore", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_eol(&ps), -1);
	CHECK_STR(ps.error, "Unexpected data after end of line");
	free(b);
}

TEST(parse_base64)
{
	struct imap_parser ps;
	struct imap_str s;
	size_t len;
	uint8_t *b;
	const char *bad[] = { "abc\r\n", "ab=c\r\n", "a===\r\n", "ab*d\r\n",
	    "A=\r\n" };
	size_t i;

	b = dup_cmd("AGFsaWNlAHNlY3JldA== x\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_base64(&ps, &s), 0);
	CHECK(str_eq(&s, "AGFsaWNlAHNlY3JldA=="));
	CHECK(imap_parse_peek(&ps, ' '));
	free(b);

	b = dup_cmd("=\r\n", &len);
	imap_parser_init(&ps, b, len);
	CHECK_INT(imap_parse_base64(&ps, &s), 0);
	CHECK_INT(s.len, 0);
	CHECK_INT(imap_parse_eol(&ps), 0);
	free(b);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = dup_cmd(bad[i], &len);
		imap_parser_init(&ps, b, len);
		CHECK_INT(imap_parse_base64(&ps, &s), -1);
		CHECK_STR(ps.error, "Invalid base64");
		free(b);
	}
}

/* --- Reader --- */

TEST(reader_commands_whole_and_bytewise)
{
	const char *in = "a1 NOOP\r\na2 CAPABILITY\r\nincomplete";
	struct imap_reader r;
	struct trace t;
	size_t step;

	for (step = 0; step <= 3; step++) {
		imap_reader_init(&r, 1024, 4096);
		run_reader(&r, in, step, 100, &t);
		CHECK_STR(t.text, "C9 C15 ");
	}
}

TEST(reader_literals)
{
	const char *in = "a LOGIN {5}\r\nalice {6+}\r\nsecret\r\nb NOOP\r\n";
	struct imap_reader r;
	struct trace t;
	size_t step;

	for (step = 0; step <= 2; step++) {
		imap_reader_init(&r, 1024, 4096);
		run_reader(&r, in, step, 100, &t);
		CHECK_STR(t.text, "L5 L6+ C33 C8 ");
	}
	/* A literal's bytes are data: "{1}" and LF inside it are not. */
	imap_reader_init(&r, 1024, 4096);
	run_reader(&r, "x LOGIN {5}\r\n{1}\r\n {2}\r\n\"\n\r\n", 0, 100, &t);
	CHECK_STR(t.text, "L5 L2 C28 ");
	/* Not a literal: inside a quoted string, or not at the line's end. */
	imap_reader_init(&r, 1024, 4096);
	run_reader(&r, "x LOGIN \"a\\\"{5}\r\ny {5} z\r\n", 0, 100, &t);
	CHECK_STR(t.text, "C17 C9 ");
}

TEST(reader_literal_details)
{
	struct imap_reader r;
	struct imap_read rd;
	const char *in;

	imap_reader_init(&r, 1024, 4096);
	in = "x APPEND box ~{3}\r\n";
	CHECK_INT(imap_reader_scan(&r, (const uint8_t *)in, strlen(in), &rd),
	    IMAP_READ_LITERAL);
	CHECK(rd.binary);
	CHECK(rd.sync);
	CHECK_INT(rd.literal, 3);
	CHECK_INT(rd.len, strlen(in));
	/* Asked again before a decision, the same event comes back. */
	CHECK_INT(imap_reader_scan(&r, (const uint8_t *)in, strlen(in), &rd),
	    IMAP_READ_LITERAL);

	imap_reader_init(&r, 1024, 4096);
	in = "x LOGIN {99999999999999999999+}\r\n";
	CHECK_INT(imap_reader_scan(&r, (const uint8_t *)in, strlen(in), &rd),
	    IMAP_READ_LITERAL);
	CHECK(rd.literal == UINT64_MAX);
	CHECK(!rd.sync);
	CHECK(!rd.binary);
}

/*
 * A diverted literal (APPEND's message) comes out in pieces as input
 * arrives; once the caller has taken them out of its buffer, the command
 * is the line with the literal's header and what follows, without its
 * bytes, even bigger than the command limit allows.
 */
TEST(reader_diverted_literal)
{
	const char *in = "a APPEND box (\\Seen) {12}\r\nhello world!"
	    " {3+}\r\nxyz\r\nb NOOP\r\n";
	uint8_t buf[256], data[64];
	struct imap_reader r;
	struct imap_read rd;
	size_t total = strlen(in), fed = 0, have = 0, got = 0, step;
	int diverts;

	for (step = 1; step <= 64; step *= 4) {
		imap_reader_init(&r, 1024, 40);	/* 36 + 15 bytes would not fit */
		fed = have = got = 0;
		diverts = 0;
		for (;;) {
			enum imap_read_ev ev = imap_reader_scan(&r, buf, have,
			    &rd);

			if (ev == IMAP_READ_MORE) {
				size_t n = total - fed < step ? total - fed :
				    step;

				CHECK(n > 0);
				if (n == 0)
					break;
				memcpy(buf + have, in + fed, n);
				fed += n;
				have += n;
			} else if (ev == IMAP_READ_LITERAL) {
				imap_reader_literal_divert(&r);
			} else if (ev == IMAP_READ_DIVERT) {
				CHECK(rd.len > 0 && rd.off + rd.len <= have);
				memcpy(data + got, buf + rd.off, rd.len);
				got += rd.len;
				memmove(buf + rd.off, buf + rd.off + rd.len,
				    have - rd.off - rd.len);
				have -= rd.len;
				diverts++;
			} else {
				CHECK_INT(ev, IMAP_READ_COMMAND);
				break;
			}
		}
		CHECK(diverts >= 2);
		CHECK_INT(got, 15);
		CHECK(memcmp(data, "hello world!xyz", 15) == 0);
		CHECK_INT(rd.len, strlen("a APPEND box (\\Seen) {12}\r\n"
		    " {3+}\r\n\r\n"));
		CHECK(memcmp(buf, "a APPEND box (\\Seen) {12}\r\n {3+}\r\n"
		    "\r\n", rd.len) == 0);
	}
}

TEST(reader_refused_literals)
{
	struct imap_reader r;
	struct trace t;

	/* Synchronizing: the client sends nothing more of this command. */
	imap_reader_init(&r, 1024, 4096);
	run_reader(&r, "a LOGIN {500}\r\nb NOOP\r\n", 0, 100, &t);
	CHECK_STR(t.text, "L500 S15 C8 ");
	/* Non-synchronizing: its bytes and the rest of the command go. */
	imap_reader_init(&r, 1024, 4096);
	run_reader(&r, "a LOGIN {12+}\r\nhello\r\nworld x {1+}\r\ny\r\n"
	    "b NOOP\r\n", 0, 10, &t);
	CHECK_STR(t.text, "L12+ L1+ S39 C8 ");
	/* The same, arriving a byte at a time, skipped as it comes. */
	imap_reader_init(&r, 1024, 4096);
	run_reader(&r, "a LOGIN {3+}\r\nabc\r\nb NOOP\r\n", 1, 1, &t);
	CHECK(strncmp(t.text, "L3+ S", 5) == 0);
	CHECK(strlen(t.text) > 3 &&
	    strcmp(t.text + strlen(t.text) - 3, "C8 ") == 0);
}

TEST(reader_limits)
{
	struct imap_reader r;
	struct imap_read rd;
	struct trace t;
	char line[200];

	/* A line of exactly max_line bytes (CRLF included) is fine. */
	imap_reader_init(&r, 16, 4096);
	run_reader(&r, "a NOOP 45678\r\n\r\n", 0, 0, &t);
	CHECK_STR(t.text, "C14 C2 ");
	imap_reader_init(&r, 16, 4096);
	run_reader(&r, "a NOOP 4567890\r\nb NOOP\r\n", 0, 0, &t);
	CHECK_STR(t.text, "C16 C8 ");
	imap_reader_init(&r, 16, 4096);
	run_reader(&r, "a NOOP 45678901\r\nb NOOP\r\n", 0, 0, &t);
	CHECK_STR(t.text, "T S17 C8 ");

	/* Discarding a long line frees memory as it goes. */
	memset(line, 'x', sizeof(line));
	memcpy(line + sizeof(line) - 3, "\r\n", 3);
	imap_reader_init(&r, 16, 4096);
	run_reader(&r, line, 50, 0, &t);
	CHECK(strncmp(t.text, "T S", 3) == 0);

	/* The TOOLONG event keeps the command's start for its tag. */
	imap_reader_init(&r, 16, 4096);
	CHECK_INT(imap_reader_scan(&r, (const uint8_t *)line, 40, &rd),
	    IMAP_READ_TOOLONG);
	CHECK_STR(rd.why, "Line too long");
	CHECK_INT(rd.len, 16);

	/* Accepted literals count against max_command. */
	imap_reader_init(&r, 1024, 64);
	run_reader(&r, "a LOGIN {100+}\r\n", 0, 1000, &t);
	CHECK_STR(t.text, "L100+ T S16 ");
	imap_reader_init(&r, 1024, 64);
	CHECK_INT(imap_reader_scan(&r, (const uint8_t *)"a LOGIN {100+}\r\n",
	    16, &rd), IMAP_READ_LITERAL);
	imap_reader_literal(&r, true);
	memset(line, 'y', sizeof(line));
	memcpy(line, "a LOGIN {100+}\r\n", 16);
	CHECK_INT(imap_reader_scan(&r, (const uint8_t *)line, 20, &rd),
	    IMAP_READ_TOOLONG);
	CHECK_STR(rd.why, "Command too long");
	CHECK_INT(rd.len, 16);
	/* The literal's bytes are then skipped with the rest. */
	CHECK_INT(imap_reader_scan(&r, (const uint8_t *)line, 20, &rd),
	    IMAP_READ_SKIP);
	CHECK_INT(rd.len, 20);
}

TEST(reader_line_mode)
{
	struct imap_reader r;
	struct trace t;

	imap_reader_init(&r, 16, 4096);
	imap_reader_set_line_mode(&r, true);
	CHECK(r.line_mode);
	run_reader(&r, "AGFs {5}\r\n*\r\n", 0, 100, &t);
	CHECK_STR(t.text, "C10 C3 ");
	imap_reader_init(&r, 16, 4096);
	imap_reader_set_line_mode(&r, true);
	run_reader(&r, "0123456789abcdefghij\r\nok\r\n", 0, 100, &t);
	CHECK_STR(t.text, "T S22 C4 ");
	/* Switching while a command is half read waits for its end. */
	imap_reader_init(&r, 1024, 4096);
	{
		struct imap_read rd;

		CHECK_INT(imap_reader_scan(&r, (const uint8_t *)"a NO", 4,
		    &rd), IMAP_READ_MORE);
		imap_reader_set_line_mode(&r, true);
		CHECK(!r.line_mode);
		imap_reader_reset(&r);
		CHECK(r.line_mode);
	}
}

/* --- Response writer --- */

static const char *
resp_astring(const char *s, size_t len, unsigned flags)
{
	static struct buf b = BUF_INIT;
	static char out[4096];

	buf_reset(&b);
	imap_resp_astring(&b, s, len, flags);
	snprintf(out, sizeof(out), "%.*s", (int)b.len, (const char *)b.data);
	return out;
}

TEST(resp_string_forms)
{
	char big[IMAP_RESP_QUOTED_MAX + 2];
	const char *r;

	CHECK_STR(resp_astring("INBOX", 5, 0), "INBOX");
	CHECK_STR(resp_astring("a]b", 3, 0), "a]b");
	CHECK_STR(resp_astring("", 0, 0), "\"\"");
	CHECK_STR(resp_astring("NIL", 3, 0), "\"NIL\"");
	CHECK_STR(resp_astring("nil", 3, 0), "\"nil\"");
	CHECK_STR(resp_astring("two words", 9, 0), "\"two words\"");
	CHECK_STR(resp_astring("a\"b\\c", 5, 0), "\"a\\\"b\\\\c\"");
	CHECK_STR(resp_astring("a\rb", 3, 0), "{3}\r\na\rb");
	CHECK_STR(resp_astring("a\0b", 3, 0), "{3}\r\na");  /* NUL ends %.*s */
	CHECK_STR(resp_astring("caf\xc3\xa9", 5, 0), "{5}\r\ncaf\xc3\xa9");
	CHECK_STR(resp_astring("caf\xc3\xa9", 5, IMAP_RESP_UTF8),
	    "\"caf\xc3\xa9\"");
	CHECK_STR(resp_astring("caf\xe9", 4, IMAP_RESP_UTF8), "{4}\r\ncaf\xe9");
	memset(big, 'x', sizeof(big));
	big[0] = ' ';
	r = resp_astring(big, IMAP_RESP_QUOTED_MAX, 0);
	CHECK(r[0] == '"');
	r = resp_astring(big, IMAP_RESP_QUOTED_MAX + 1, 0);
	CHECK(strncmp(r, "{1025}\r\n", 8) == 0);
}

TEST(resp_nstring_status_continue)
{
	struct buf b = BUF_INIT;

	imap_resp_nstring(&b, NULL, 0, 0);
	imap_resp_sp(&b);
	imap_resp_nstring(&b, "x", 1, 0);
	imap_resp_crlf(&b);
	CHECK_INT(b.len, 9);
	CHECK(memcmp(b.data, "NIL \"x\"\r\n", 9) == 0);
	buf_reset(&b);
	imap_resp_status(&b, "a1", "NO", "AUTHENTICATIONFAILED",
	    "Authentication failed");
	imap_resp_status(&b, NULL, "BYE", NULL, "line\r\nbreak");
	imap_resp_continue(&b, "");
	buf_append(&b, "", 1);
	CHECK_STR((const char *)b.data,
	    "a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
	    "* BYE line  break\r\n"
	    "+ \r\n");
	buf_clear(&b);
}

/* What the writer sends, the parser reads back unchanged. */
TEST(resp_round_trip)
{
	static const char *const samples[] = { "INBOX", "", "NIL", "a b",
	    "q\"uo\\te", "new\r\nline", "{5}", "~x", "]", "caf\xc3\xa9",
	    "\xff\xfe", "%*()" };
	struct imap_parser ps;
	struct imap_str s;
	struct buf b = BUF_INIT;
	unsigned flags;
	size_t i;

	for (flags = 0; flags <= IMAP_RESP_UTF8; flags++) {
		for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
			buf_reset(&b);
			imap_resp_astring(&b, samples[i], strlen(samples[i]),
			    flags);
			imap_resp_crlf(&b);
			imap_parser_init(&ps, b.data, b.len);
			CHECK_INT(imap_parse_astring(&ps, &s), 0);
			CHECK_INT(imap_parse_eol(&ps), 0);
			CHECK(str_eq(&s, samples[i]));
		}
	}
	buf_clear(&b);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(char_classes),
	TEST_ENTRY(utf8_validation),
	TEST_ENTRY(parse_simple_command),
	TEST_ENTRY(parse_tag_errors),
	TEST_ENTRY(parse_astring_forms),
	TEST_ENTRY(parse_quoted_escapes),
	TEST_ENTRY(parse_literals),
	TEST_ENTRY(parse_login_shapes),
	TEST_ENTRY(parse_nstring_number_eol),
	TEST_ENTRY(parse_base64),
	TEST_ENTRY(reader_commands_whole_and_bytewise),
	TEST_ENTRY(reader_literals),
	TEST_ENTRY(reader_diverted_literal),
	TEST_ENTRY(reader_literal_details),
	TEST_ENTRY(reader_refused_literals),
	TEST_ENTRY(reader_limits),
	TEST_ENTRY(reader_line_mode),
	TEST_ENTRY(resp_string_forms),
	TEST_ENTRY(resp_nstring_status_continue),
	TEST_ENTRY(resp_round_trip),
};

HARNESS_MAIN(tests)
