/* SPDX-License-Identifier: ISC */
/*
 * parse.c: the lexer and recursive-descent grammar of bulwark.conf(5).
 *
 * A file is a sequence of directives, one per line: words, "quoted strings"
 * and $macros (expanded as they are read), ended by the end of the line, by
 * "{" (which opens a section read by the same loop) or by "}".  Which words
 * are directives and what their arguments mean is the business of the
 * keyword tables in conf.c: this file finds the entry and hands it the
 * words.  Macro definitions (name = value) and include are handled here.
 * Every token carries file:line:col; after an error reading goes on at the
 * next line, or past the block the bad line opened, so that one run reports
 * every error.
 */
#include "conf.h"
#include "compat.h"
#include "xmalloc.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PARSE_TOKEN_MAX		4096		/* bytes of a word or string */
#define PARSE_ARGS_MAX		16		/* words of one directive */
#define PARSE_FILE_MAX		(1024 * 1024)	/* bytes of one file */
#define PARSE_DEPTH_MAX		8		/* nested includes */
#define PARSE_NEST_MAX		8		/* nested blocks */
#define PARSE_MACROS_MAX	256
#define PARSE_MACRO_NAME_MAX	64

/* A file name, kept until the end so that positions may point to it. */
struct parse_name {
	struct parse_name	*next;
	char			 name[];
};

struct parse_macro {
	char		*name;
	char		*value;
	struct conf_pos	 pos;
};

/* One file being read; includes stack up through up. */
struct parse_src {
	const char		*name;
	const char		*buf;
	size_t			 len, off;
	uint32_t		 line, col;
	bool			 from_mem;
	dev_t			 dev;
	ino_t			 ino;
	int			 depth;
	struct parse_src	*up;
};

struct conf_parse {
	struct conf_errors	*errs;
	struct conf_build	*b;
	const struct conf_cmd	*table;
	void			*base;
	struct parse_name	*names;
	struct parse_macro	*macros;
	size_t			 nmacros;
	struct parse_src	*src;		/* the innermost file */
	int			 nest;		/* blocks open */
	char			 tok[PARSE_TOKEN_MAX + 1];
};

static void	parse_block(struct conf_parse *, const struct conf_cmd *,
		    void *, int, const struct conf_dir *);

void
conf_error(struct conf_errors *errs, const struct conf_pos *at,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (errs->n > CONF_ERRORS_MAX)
		return;
	if (errs->n == CONF_ERRORS_MAX)
		strlcpy(msg, "too many errors, giving up", sizeof(msg));
	else {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	errs->msgs = xreallocarray(errs->msgs, errs->n + 1,
	    sizeof(*errs->msgs));
	if (at == NULL)
		errs->msgs[errs->n++] = xstrdup(msg);
	else
		errs->msgs[errs->n++] = xasprintf("%s:%u:%u: %s", at->file,
		    at->line, at->col, msg);
}

void
conf_errors_clear(struct conf_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

/* Describes a token for "got ..." in messages, cut short if long. */
static const char *
tok_describe(const struct conf_token *t, char *buf, size_t size)
{
	static const char *const names[] = {
		[CONF_TOK_EQUAL] = "\"=\"",	[CONF_TOK_LBRACE] = "\"{\"",
		[CONF_TOK_RBRACE] = "\"}\"",	[CONF_TOK_EOL] = "end of line",
		[CONF_TOK_EOF] = "end of file",	[CONF_TOK_ERROR] = "an error",
	};

	if (t->s == NULL)
		return names[t->kind];
	snprintf(buf, size, "\"%.200s%s\"", t->s,
	    strlen(t->s) > 200 ? "..." : "");
	return buf;
}

static void
tok_free(struct conf_token *t)
{
	free(t->s);
	t->s = NULL;
}

/* Keeps name for the rest of the parse; positions point into it. */
static const char *
parse_intern(struct conf_parse *p, const char *name)
{
	size_t len = strlen(name) + 1;
	struct parse_name *n = xmalloc(sizeof(*n) + len);

	memcpy(n->name, name, len);
	n->next = p->names;
	p->names = n;
	return n->name;
}

/* The lexer. */

static int
src_peek(const struct parse_src *s)
{
	return s->off < s->len ? (unsigned char)s->buf[s->off] : EOF;
}

static int
src_get(struct parse_src *s)
{
	int c = src_peek(s);

	if (c == EOF)
		return EOF;
	s->off++;
	if (c == '\n') {
		s->line++;
		s->col = 1;
	} else
		s->col++;
	return c;
}

static bool
is_word_char(int c)
{
	if (c == EOF || c <= ' ' || c == 0x7f)
		return false;
	return strchr("{}=#\"", c) == NULL;
}

static bool
is_macro_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

static const struct parse_macro *
macro_find(const struct conf_parse *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nmacros; i++)
		if (strcmp(p->macros[i].name, name) == 0)
			return &p->macros[i];
	return NULL;
}

/*
 * Copies the run of bytes that are in class into p->tok and returns its
 * length; past PARSE_TOKEN_MAX it counts but keeps nothing more.
 */
static size_t
lex_run(struct conf_parse *p, bool (*in_class)(int))
{
	size_t n = 0;

	for (; in_class(src_peek(p->src)); n++)
		if (n < PARSE_TOKEN_MAX)
			p->tok[n] = (char)src_get(p->src);
		else
			src_get(p->src);
	p->tok[n < PARSE_TOKEN_MAX ? n : PARSE_TOKEN_MAX] = '\0';
	return n;
}

/* "..." with \" and \\; the opening quote is read. */
static void
lex_string(struct conf_parse *p, struct conf_token *t)
{
	struct parse_src *s = p->src;
	const char *why = NULL;
	size_t n = 0;
	int c;

	while ((c = src_peek(s)) != '"') {
		if (c == EOF || c == '\n') {
			why = "unterminated quoted string";
			break;
		}
		src_get(s);
		if (c == '\\' && (src_peek(s) == '"' || src_peek(s) == '\\'))
			c = src_get(s);
		else if (c == '\\' && why == NULL)
			why = "unknown escape in quoted string: only \\\" "
			    "and \\\\ are allowed";
		else if (((c < ' ' && c != '\t') || c == 0x7f) && why == NULL)
			why = "control character in quoted string";
		if (n == PARSE_TOKEN_MAX && why == NULL)
			why = "quoted string too long";
		if (n < PARSE_TOKEN_MAX)
			p->tok[n++] = (char)c;
	}
	if (c == '"')
		src_get(s);
	p->tok[n] = '\0';
	t->kind = why == NULL ? CONF_TOK_STRING : CONF_TOK_ERROR;
	if (why != NULL)
		conf_error(p->errs, &t->pos, "%s", why);
	else
		t->s = xstrdup(p->tok);
}

/* $name: the macro's value as one string token; the $ is read. */
static void
lex_macro(struct conf_parse *p, struct conf_token *t)
{
	const struct parse_macro *m = NULL;
	size_t n = lex_run(p, is_macro_char);

	if (n == 0)
		conf_error(p->errs, &t->pos, "expected a macro name after "
		    "\"$\"");
	else if ((m = macro_find(p, p->tok)) == NULL)
		conf_error(p->errs, &t->pos, "undefined macro \"%s\"",
		    p->tok);
	t->kind = m != NULL ? CONF_TOK_STRING : CONF_TOK_ERROR;
	if (m != NULL)
		t->s = xstrdup(m->value);
}

static void
lex_word(struct conf_parse *p, struct conf_token *t)
{
	if (lex_run(p, is_word_char) > PARSE_TOKEN_MAX) {
		conf_error(p->errs, &t->pos, "word longer than %d bytes",
		    PARSE_TOKEN_MAX);
		t->kind = CONF_TOK_ERROR;
		return;
	}
	t->kind = CONF_TOK_WORD;
	t->s = xstrdup(p->tok);
}

/* Reads the next token of the current file into t. */
static void
lex(struct conf_parse *p, struct conf_token *t)
{
	static const struct {
		char		c;
		enum conf_tok	kind;
	} punct[] = {
		{ '\n', CONF_TOK_EOL },		{ '{', CONF_TOK_LBRACE },
		{ '}', CONF_TOK_RBRACE },	{ '=', CONF_TOK_EQUAL },
	};
	struct parse_src *s = p->src;
	size_t i;
	int c;

	memset(t, 0, sizeof(*t));
	for (;;) {
		c = src_peek(s);
		if (c == ' ' || c == '\t' || c == '\r')
			src_get(s);
		else if (c == '#')
			while ((c = src_peek(s)) != '\n' && c != EOF)
				src_get(s);
		else
			break;
	}
	t->pos.file = s->name;
	t->pos.line = s->line;
	t->pos.col = s->col;
	t->kind = CONF_TOK_EOF;
	if (c == EOF)
		return;
	for (i = 0; i < sizeof(punct) / sizeof(punct[0]); i++)
		if (c == punct[i].c) {
			src_get(s);
			t->kind = punct[i].kind;
			return;
		}
	if (c == '"') {
		src_get(s);
		lex_string(p, t);
	} else if (c == '$') {
		src_get(s);
		lex_macro(p, t);
	} else if (is_word_char(c))
		lex_word(p, t);
	else {
		src_get(s);
		conf_error(p->errs, &t->pos, "unexpected character 0x%02x", c);
		t->kind = CONF_TOK_ERROR;
	}
}

/*
 * The grammar.
 *
 *	file      = *( line )
 *	line      = [ directive | macro-def ] ( EOL | EOF )
 *	macro-def = name "=" value
 *	directive = keyword *( value | keyword ) [ "{" *line "}" ]
 */

/*
 * Reads the words of one directive into argv and the token that ends it
 * into end.  Returns false if the directive had a bad token (reported).
 */
static bool
collect(struct conf_parse *p, struct conf_token *argv, size_t *argcp,
    struct conf_token *end)
{
	struct conf_token t;
	size_t argc = 0;
	bool ok = true;

	for (;;) {
		lex(p, &t);
		switch (t.kind) {
		case CONF_TOK_EOL:
		case CONF_TOK_EOF:
		case CONF_TOK_LBRACE:
		case CONF_TOK_RBRACE:
			*end = t;
			*argcp = argc;
			return ok;
		case CONF_TOK_ERROR:
			ok = false;
			break;
		default:
			if (argc < PARSE_ARGS_MAX) {
				argv[argc++] = t;
				break;
			}
			if (ok)
				conf_error(p->errs, &t.pos, "more than %d "
				    "words in one directive", PARSE_ARGS_MAX);
			ok = false;
			tok_free(&t);
			break;
		}
	}
}

/* Reads and ignores the block that the directive in argv opened. */
static void
skip_block(struct conf_parse *p, const struct conf_token *argv, size_t argc,
    const struct conf_token *lbrace)
{
	struct conf_dir opener;
	struct conf_token t;
	int depth = 1;

	if (p->nest >= PARSE_NEST_MAX) {
		/* No recursion on "{{{{...": count braces to the last. */
		conf_error(p->errs, &lbrace->pos, "blocks nested more than %d "
		    "deep", PARSE_NEST_MAX);
		while (depth > 0) {
			lex(p, &t);
			tok_free(&t);
			if (t.kind == CONF_TOK_EOF)
				return;
			depth += t.kind == CONF_TOK_LBRACE ? 1 :
			    t.kind == CONF_TOK_RBRACE ? -1 : 0;
		}
		return;
	}
	memset(&opener, 0, sizeof(opener));
	strlcpy(opener.name, argc > 0 && argv[0].s != NULL ? argv[0].s : "{",
	    sizeof(opener.name));
	opener.pos = argc > 0 ? argv[0].pos : lbrace->pos;
	parse_block(p, NULL, NULL, -1, &opener);
}

static void
define_macro(struct conf_parse *p, struct conf_token *argv, size_t argc,
    const struct conf_token *end)
{
	const struct parse_macro *m;
	struct parse_macro *nm;
	char got[256];
	size_t i;

	if (argv[0].kind != CONF_TOK_WORD) {
		conf_error(p->errs, &argv[0].pos, "expected a macro name, "
		    "got %s", tok_describe(&argv[0], got, sizeof(got)));
		return;
	}
	for (i = 0; is_macro_char(argv[0].s[i]); i++)
		continue;
	if (argv[0].s[i] != '\0' || (argv[0].s[0] >= '0' &&
	    argv[0].s[0] <= '9') || i > PARSE_MACRO_NAME_MAX) {
		conf_error(p->errs, &argv[0].pos, "invalid macro name "
		    "\"%s\": use letters, digits and _", argv[0].s);
		return;
	}
	if (argc < 3 || (argv[2].kind != CONF_TOK_WORD &&
	    argv[2].kind != CONF_TOK_STRING)) {
		conf_error(p->errs, argc < 3 ? &end->pos : &argv[2].pos,
		    "expected a value after \"%s =\"", argv[0].s);
		return;
	}
	if (argc > 3) {
		conf_error(p->errs, &argv[3].pos, "expected end of line, "
		    "got %s", tok_describe(&argv[3], got, sizeof(got)));
		return;
	}
	if ((m = macro_find(p, argv[0].s)) != NULL) {
		conf_error(p->errs, &argv[0].pos, "macro \"%s\" already "
		    "defined at %s:%u:%u", argv[0].s, m->pos.file,
		    m->pos.line, m->pos.col);
		return;
	}
	if (p->nmacros == PARSE_MACROS_MAX) {
		conf_error(p->errs, &argv[0].pos, "more than %d macros",
		    PARSE_MACROS_MAX);
		return;
	}
	p->macros = xreallocarray(p->macros, p->nmacros + 1,
	    sizeof(*p->macros));
	nm = &p->macros[p->nmacros++];
	nm->name = xstrdup(argv[0].s);
	nm->value = xstrdup(argv[2].s);
	nm->pos = argv[0].pos;
}

static const struct conf_cmd *
table_find(const struct conf_cmd *table, const char *name)
{
	for (; table->name != NULL; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}

/* "\"certificate\" or \"key\"": the keywords of a table, for errors. */
static void
table_list(const struct conf_cmd *table, char *buf, size_t size)
{
	const struct conf_cmd *c;

	buf[0] = '\0';
	for (c = table; c->name != NULL; c++) {
		if (c != table)
			strlcat(buf, c[1].name == NULL ? " or " : ", ", size);
		strlcat(buf, "\"", size);
		strlcat(buf, c->name, size);
		strlcat(buf, "\"", size);
	}
}

/* Reports why argv[i] (or end, past argc) names no entry of table. */
static void
lookup_error(struct conf_parse *p, const struct conf_cmd *table,
    const struct conf_dir *opener, const struct conf_token *argv,
    size_t argc, size_t i, const struct conf_token *end, const char *prefix)
{
	const struct conf_token *t = i < argc ? &argv[i] : end;
	char got[256], list[256];

	if (i > 0) {
		table_list(table, list, sizeof(list));
		conf_error(p->errs, &t->pos, "expected %s after \"%s\", got %s",
		    list, prefix, tok_describe(t, got, sizeof(got)));
	} else if (t->kind != CONF_TOK_WORD)
		conf_error(p->errs, &t->pos, "expected a directive, got %s",
		    tok_describe(t, got, sizeof(got)));
	else if (opener == NULL)
		conf_error(p->errs, &t->pos, "unknown directive \"%s\"",
		    t->s);
	else
		conf_error(p->errs, &t->pos, "unknown option \"%s\" in "
		    "section \"%s\"", t->s, opener->name);
}

/*
 * Finds the entry named by the leading keywords of argv (one, or two for a
 * prefix such as "tls"), filling d->cmd, d->name, d->argv and d->argc.
 * Returns -1 after reporting an unknown or misplaced keyword.
 */
static int
lookup(struct conf_parse *p, const struct conf_cmd *table, int sect,
    const struct conf_dir *opener, struct conf_token *argv, size_t argc,
    const struct conf_token *end, struct conf_dir *d)
{
	const struct conf_cmd *cmd;
	size_t i;

	d->name[0] = '\0';
	for (i = 0;; i++) {
		if (i == argc || argv[i].kind != CONF_TOK_WORD ||
		    (cmd = table_find(table, argv[i].s)) == NULL) {
			lookup_error(p, table, opener, argv, argc, i, end,
			    d->name);
			return -1;
		}
		if (d->name[0] != '\0')
			strlcat(d->name, " ", sizeof(d->name));
		strlcat(d->name, cmd->name, sizeof(d->name));
		if (cmd->only != 0 && sect >= 0 &&
		    (cmd->only & (1u << sect)) == 0) {
			conf_error(p->errs, &argv[0].pos, "option \"%s\" does "
			    "not apply to section \"%s\"", d->name,
			    opener->name);
			return -1;
		}
		if (cmd->sub == NULL || (cmd->flags & CONF_CMD_BLOCK) != 0)
			break;
		table = cmd->sub;
	}
	d->cmd = cmd;
	d->argv = argv + i + 1;
	d->argc = argc - i - 1;
	return 0;
}

/* One directive of a section (or of the file) described by table. */
static void
directive(struct conf_parse *p, const struct conf_cmd *table, void *base,
    int sect, const struct conf_dir *opener, struct conf_token *argv,
    size_t argc, const struct conf_token *end)
{
	struct conf_dir d;

	if (argc >= 2 && argv[1].kind == CONF_TOK_EQUAL) {
		if (end->kind == CONF_TOK_LBRACE) {
			conf_error(p->errs, &end->pos, "expected end of line "
			    "after a macro definition, got \"{\"");
			skip_block(p, argv, argc, end);
		} else
			define_macro(p, argv, argc, end);
		return;
	}
	memset(&d, 0, sizeof(d));
	if (lookup(p, table, sect, opener, argv, argc, end, &d) == -1) {
		if (end->kind == CONF_TOK_LBRACE)
			skip_block(p, argv, argc, end);
		return;
	}
	d.p = p;
	d.b = p->b;
	d.pos = argv[0].pos;
	d.end = end->pos;
	d.base = base;
	d.sect = sect;
	if ((d.cmd->flags & CONF_CMD_BLOCK) == 0) {
		if (end->kind == CONF_TOK_LBRACE) {
			conf_error(p->errs, &end->pos, "expected end of line "
			    "after \"%s\", got \"{\"", d.name);
			skip_block(p, argv, argc, end);
		} else
			(void)conf_directive(&d);
	} else if (end->kind != CONF_TOK_LBRACE)
		conf_error(p->errs, &end->pos, "expected \"{\" after \"%s\"",
		    d.name);
	else if (conf_directive(&d) == 0)
		parse_block(p, d.cmd->sub, d.body != NULL ? d.body :
		    (char *)base + d.cmd->off, d.cmd->id, &d);
	else
		skip_block(p, argv, argc, end);
}

/* After a section's "}": nothing else on the line. */
static void
after_rbrace(struct conf_parse *p)
{
	struct conf_token t;
	char got[256];

	lex(p, &t);
	if (t.kind == CONF_TOK_EOL || t.kind == CONF_TOK_EOF)
		return;
	conf_error(p->errs, &t.pos, "expected end of line after \"}\", got %s",
	    tok_describe(&t, got, sizeof(got)));
	while (t.kind != CONF_TOK_EOL && t.kind != CONF_TOK_EOF) {
		tok_free(&t);
		lex(p, &t);
	}
}

/*
 * Reads directives up to the end of the file (opener NULL) or the "}" that
 * closes the section opener opened.  table NULL: reads and ignores them.
 */
static void
parse_block(struct conf_parse *p, const struct conf_cmd *table, void *base,
    int sect, const struct conf_dir *opener)
{
	struct conf_token argv[PARSE_ARGS_MAX], end;
	size_t argc, i;
	bool ok;

	p->nest += opener != NULL;
	for (;;) {
		ok = collect(p, argv, &argc, &end);
		if (ok && argc > 0 && table != NULL)
			directive(p, table, base, sect, opener, argv, argc,
			    &end);
		else if (end.kind == CONF_TOK_LBRACE) {
			if (ok && argc == 0 && table != NULL)
				conf_error(p->errs, &end.pos, "expected a "
				    "section name before \"{\"");
			skip_block(p, argv, argc, &end);
		}
		for (i = 0; i < argc; i++)
			tok_free(&argv[i]);
		if (end.kind == CONF_TOK_EOF) {
			if (opener != NULL)
				conf_error(p->errs, &end.pos, "expected \"}\" "
				    "to close \"%s\" at %s:%u:%u", opener->name,
				    opener->pos.file, opener->pos.line,
				    opener->pos.col);
			break;
		}
		if (end.kind == CONF_TOK_RBRACE) {
			/* In a skipped block, what follows "}" is read on. */
			if (opener != NULL) {
				if (table != NULL)
					after_rbrace(p);
				break;
			}
			conf_error(p->errs, &end.pos, "unexpected \"}\"");
		}
	}
	p->nest -= opener != NULL;
}

/* Values: the types that nginx would call slots, shared by every table. */

/*
 * Returns argument i if it is a value (word, string or macro), else NULL
 * after reporting that what was expected there.
 */
const struct conf_token *
conf_arg(struct conf_dir *d, size_t i, const char *what)
{
	const struct conf_token *t;

	if (i >= d->argc) {
		conf_error(d->p->errs, &d->end, "expected %s after \"%s\"",
		    what, i == 0 ? d->name : d->argv[i - 1].s != NULL ?
		    d->argv[i - 1].s : "=");
		return NULL;
	}
	t = &d->argv[i];
	if (t->kind != CONF_TOK_WORD && t->kind != CONF_TOK_STRING) {
		conf_error(d->p->errs, &t->pos, "expected %s, got \"=\"", what);
		return NULL;
	}
	return t;
}

/* Argument i if it is a bare word, else NULL. */
const char *
conf_arg_word(const struct conf_dir *d, size_t i)
{
	return i < d->argc && d->argv[i].kind == CONF_TOK_WORD ?
	    d->argv[i].s : NULL;
}

/* 0 if the directive has no argument from i on, else -1 (reported). */
int
conf_arg_end(struct conf_dir *d, size_t i)
{
	if (i >= d->argc)
		return 0;
	conf_error(d->p->errs, &d->argv[i].pos, "expected end of line, "
	    "got \"%s\"", d->argv[i].s ? d->argv[i].s : "=");
	return -1;
}

/* Numbers: digits and an optional unit suffix. */

static const struct conf_unit conf_size_units[] = {
	{ 'K', 1ULL << 10 }, { 'M', 1ULL << 20 }, { 'G', 1ULL << 30 },
	{ 'T', 1ULL << 40 }, { '\0', 0 }
};
static const struct conf_unit conf_duration_units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { '\0', 0 }
};

/* Returns 0, -1 if s is malformed, -2 if it does not fit in 64 bits. */
static int
num_parse(const char *s, const struct conf_unit *units, uint64_t *v_r)
{
	const struct conf_unit *u = NULL;
	uint64_t v = 0, digit;
	bool big = false;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		digit = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - digit) / 10)
			big = true;
		else
			v = v * 10 + digit;
	}
	if (*s != '\0') {
		for (u = units; u != NULL && u->suffix != '\0'; u++)
			if (*s == u->suffix)
				break;
		if (u == NULL || u->suffix == '\0' || s[1] != '\0')
			return -1;
	}
	if (big || (u != NULL && v > UINT64_MAX / u->mult))
		return -2;
	*v_r = u != NULL ? v * u->mult : v;
	return 0;
}

/* Formats v with the largest unit that divides it. */
static const char *
num_format(uint64_t v, const struct conf_unit *units, char *buf, size_t size)
{
	const struct conf_unit *u, *best = NULL;

	for (u = units; u != NULL && u->suffix != '\0'; u++)
		if (v == 0 ? u->mult == 1 : v % u->mult == 0)
			best = u;
	if (best == NULL)
		snprintf(buf, size, "%llu", (unsigned long long)v);
	else
		snprintf(buf, size, "%llu%c",
		    (unsigned long long)(v / best->mult), best->suffix);
	return buf;
}

/* Parses t as a number of type in [min, max]; -1 after reporting. */
int
conf_arg_number(struct conf_dir *d, const struct conf_token *t,
    const char *name, const struct conf_type *type, uint64_t min,
    uint64_t max, uint64_t *v_r)
{
	char lo[32], hi[32];
	int rc;

	if ((rc = num_parse(t->s, type->units, v_r)) == -1) {
		conf_error(d->p->errs, &t->pos, "expected %s, got \"%s\"",
		    type->what, t->s);
		return -1;
	}
	if (rc == -2 || *v_r < min || *v_r > max) {
		conf_error(d->p->errs, &t->pos, "%s %s out of range %s-%s",
		    name, t->s, num_format(min, type->units, lo, sizeof(lo)),
		    num_format(max, type->units, hi, sizeof(hi)));
		return -1;
	}
	return 0;
}

static int
type_num_parse(struct conf_dir *d)
{
	const struct conf_cmd *c = d->cmd;
	const struct conf_token *t;
	uint64_t v;

	if ((t = conf_arg(d, 0, c->type->what)) == NULL ||
	    conf_arg_number(d, t, d->name, c->type, c->min, c->max, &v) == -1)
		return -1;
	conf_field_set(c, d->base, v);
	return conf_arg_end(d, 1);
}

static void
type_num_print(FILE *out, const char *indent, const char *name,
    const struct conf_cmd *c, const void *base)
{
	char buf[32];

	fprintf(out, "%s%s %s\n", indent, name, num_format(conf_field_get(c,
	    base), c->type->units, buf, sizeof(buf)));
}

static int
type_bool_parse(struct conf_dir *d)
{
	const struct conf_token *t;

	if ((t = conf_arg(d, 0, d->cmd->type->what)) == NULL)
		return -1;
	if (strcmp(t->s, "yes") != 0 && strcmp(t->s, "no") != 0) {
		conf_error(d->p->errs, &t->pos, "expected %s, got \"%s\"",
		    d->cmd->type->what, t->s);
		return -1;
	}
	conf_field_set(d->cmd, d->base, strcmp(t->s, "yes") == 0);
	return conf_arg_end(d, 1);
}

static void
type_bool_print(FILE *out, const char *indent, const char *name,
    const struct conf_cmd *c, const void *base)
{
	fprintf(out, "%s%s %s\n", indent, name,
	    conf_field_get(c, base) ? "yes" : "no");
}

const struct conf_type conf_type_number = {
	"a number", NULL, type_num_parse, NULL, type_num_print
};
const struct conf_type conf_type_size = {
	"a size (a number with K, M, G or T)", conf_size_units,
	type_num_parse, NULL, type_num_print
};
const struct conf_type conf_type_duration = {
	"a duration (a number with s, m, h or d)", conf_duration_units,
	type_num_parse, NULL, type_num_print
};
const struct conf_type conf_type_bool = {
	"\"yes\" or \"no\"", NULL, type_bool_parse, NULL, type_bool_print
};

/* Files. */

/*
 * Reads the regular file name into a new buffer.  at: where it was named
 * (NULL for the main file).  Returns NULL after reporting.
 */
static char *
read_file(struct conf_parse *p, const char *name, const struct conf_pos *at,
    size_t *len_r, struct stat *st)
{
	const char *why = NULL;
	char *buf = NULL;
	ssize_t n;
	size_t len = 0;
	int fd;

	/* O_NONBLOCK: a FIFO named by mistake must not hang the parse. */
	if ((fd = open(name, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC))
	    == -1 || fstat(fd, st) == -1)
		why = strerror(errno);
	else if (!S_ISREG(st->st_mode))
		why = "not a regular file";
	else if (st->st_size > PARSE_FILE_MAX)
		why = "file too large";
	else {
		buf = xmalloc((size_t)st->st_size + 1);
		while (len <= (size_t)st->st_size && (n = read(fd, buf + len,
		    (size_t)st->st_size + 1 - len)) != 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1) {
				why = strerror(errno);
				break;
			}
			len += (size_t)n;
		}
		if (why == NULL && len > (size_t)st->st_size)
			why = "file changed while being read";
	}
	if (fd != -1)
		close(fd);
	if (why != NULL) {
		free(buf);
		if (at == NULL)
			conf_error(p->errs, NULL, "%s: %s", name, why);
		else
			conf_error(p->errs, at, "include \"%s\": %s", name,
			    why);
		return NULL;
	}
	*len_r = len;
	return buf;
}

/* Reads the directives of one file into p->table. */
static void
parse_src(struct conf_parse *p, struct parse_src *s)
{
	s->up = p->src;
	s->line = 1;
	s->col = 1;
	p->src = s;
	parse_block(p, p->table, p->base, -1, NULL);
	p->src = s->up;
}

void
conf_parse_include(struct conf_parse *p, const struct conf_token *path)
{
	const struct parse_src *cur = p->src, *up;
	struct parse_src s;
	char full[PATH_MAX];
	const char *slash;
	struct stat st;
	size_t len;
	char *buf;
	int dirlen;

	if (cur->from_mem) {
		conf_error(p->errs, &path->pos, "include is not allowed in a "
		    "configuration read from memory");
		return;
	}
	if (cur->depth == PARSE_DEPTH_MAX) {
		conf_error(p->errs, &path->pos, "include nested more than %d "
		    "deep", PARSE_DEPTH_MAX);
		return;
	}
	slash = strrchr(cur->name, '/');
	dirlen = path->s[0] == '/' || slash == NULL ? 0 :
	    (int)(slash - cur->name + 1);
	if ((size_t)snprintf(full, sizeof(full), "%.*s%s", dirlen, cur->name,
	    path->s) >= sizeof(full)) {
		conf_error(p->errs, &path->pos, "include path too long");
		return;
	}
	if ((buf = read_file(p, full, &path->pos, &len, &st)) == NULL)
		return;
	for (up = cur; up != NULL; up = up->up)
		if (!up->from_mem && up->dev == st.st_dev &&
		    up->ino == st.st_ino) {
			conf_error(p->errs, &path->pos, "include loop: \"%s\" "
			    "is already being read", full);
			free(buf);
			return;
		}
	memset(&s, 0, sizeof(s));
	s.name = parse_intern(p, full);
	s.buf = buf;
	s.len = len;
	s.dev = st.st_dev;
	s.ino = st.st_ino;
	s.depth = cur->depth + 1;
	parse_src(p, &s);
	free(buf);
}

struct conf_parse *
conf_parse_new(struct conf_errors *errs, struct conf_build *b,
    const struct conf_cmd *table, void *base)
{
	struct conf_parse *p = xcalloc(1, sizeof(*p));

	p->errs = errs;
	p->b = b;
	p->table = table;
	p->base = base;
	return p;
}

void
conf_parse_file(struct conf_parse *p, const char *name, const char *buf,
    size_t len)
{
	struct parse_src s;
	struct stat st;
	char *fbuf = NULL;

	memset(&s, 0, sizeof(s));
	s.name = parse_intern(p, name);
	if (buf == NULL) {
		if ((fbuf = read_file(p, name, NULL, &len, &st)) == NULL)
			return;
		s.dev = st.st_dev;
		s.ino = st.st_ino;
		buf = fbuf;
	} else
		s.from_mem = true;
	s.buf = buf;
	s.len = len;
	parse_src(p, &s);
	free(fbuf);
}

void
conf_parse_free(struct conf_parse **pp)
{
	struct conf_parse *p = *pp;
	struct parse_name *n;
	size_t i;

	if (p == NULL)
		return;
	while ((n = p->names) != NULL) {
		p->names = n->next;
		free(n);
	}
	for (i = 0; i < p->nmacros; i++) {
		free(p->macros[i].name);
		free(p->macros[i].value);
	}
	free(p->macros);
	free(p);
	*pp = NULL;
}
