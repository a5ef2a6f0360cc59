/* SPDX-License-Identifier: ISC */
/*
 * imap_search.c: the SEARCH argument parser (RFC 9051 6.4.4 and 9:
 * search-return-opts, search-program, search-key; RFC 3501 9; RFC 4731,
 * 5032, 5182, 7162 3.1.5, 8474 7, 8514 5, 9394 3) and its writer.  A table
 * of keys gives each key's name and the kind of its argument; a table of
 * argument parsers and one of argument writers follow the kinds.
 */
#include "imap_search.h"
#include "imap_date.h"
#include "imap_resp.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* mod-sequence-valzer and number64 are at most 2^63 - 1. */
#define SEARCH_NUMBER64_MAX	9223372036854775807ULL

enum search_arg {
	SA_NONE,	/* no argument */
	SA_ASTRING,	/* SP astring */
	SA_HEADER,	/* SP header-fld-name SP astring */
	SA_FLAG,	/* SP flag-keyword */
	SA_DATE,	/* SP date */
	SA_NUMBER64,	/* SP number64 */
	SA_NZNUMBER,	/* SP nz-number */
	SA_SEQSET,	/* SP sequence-set (UID) */
	SA_NOT,		/* SP search-key */
	SA_OR,		/* SP search-key SP search-key */
	SA_MODSEQ,	/* [SP entry-name SP entry-type-req] SP valzer */
	SA_OBJECTID,	/* SP objectid */
	SA_COUNT
};

struct search_keydef {
	const char		*name;
	enum imap_search_key	 key;
	enum search_arg		 arg;
};

/* The keys of RFC 9051 9 search-key, then those of RFC 3501 and extensions. */
static const struct search_keydef search_keys[] = {
	{ "ALL",		IMAP_SEARCH_ALL,	SA_NONE },
	{ "ANSWERED",		IMAP_SEARCH_ANSWERED,	SA_NONE },
	{ "BCC",		IMAP_SEARCH_BCC,	SA_ASTRING },
	{ "BEFORE",		IMAP_SEARCH_BEFORE,	SA_DATE },
	{ "BODY",		IMAP_SEARCH_BODY,	SA_ASTRING },
	{ "CC",			IMAP_SEARCH_CC,	SA_ASTRING },
	{ "DELETED",		IMAP_SEARCH_DELETED,	SA_NONE },
	{ "FLAGGED",		IMAP_SEARCH_FLAGGED,	SA_NONE },
	{ "FROM",		IMAP_SEARCH_FROM,	SA_ASTRING },
	{ "KEYWORD",		IMAP_SEARCH_KEYWORD,	SA_FLAG },
	{ "ON",			IMAP_SEARCH_ON,		SA_DATE },
	{ "SEEN",		IMAP_SEARCH_SEEN,	SA_NONE },
	{ "SINCE",		IMAP_SEARCH_SINCE,	SA_DATE },
	{ "SUBJECT",		IMAP_SEARCH_SUBJECT,	SA_ASTRING },
	{ "TEXT",		IMAP_SEARCH_TEXT,	SA_ASTRING },
	{ "TO",			IMAP_SEARCH_TO,	SA_ASTRING },
	{ "UNANSWERED",		IMAP_SEARCH_UNANSWERED,	SA_NONE },
	{ "UNDELETED",		IMAP_SEARCH_UNDELETED,	SA_NONE },
	{ "UNFLAGGED",		IMAP_SEARCH_UNFLAGGED,	SA_NONE },
	{ "UNKEYWORD",		IMAP_SEARCH_UNKEYWORD,	SA_FLAG },
	{ "UNSEEN",		IMAP_SEARCH_UNSEEN,	SA_NONE },
	{ "DRAFT",		IMAP_SEARCH_DRAFT,	SA_NONE },
	{ "HEADER",		IMAP_SEARCH_HEADER,	SA_HEADER },
	{ "LARGER",		IMAP_SEARCH_LARGER,	SA_NUMBER64 },
	{ "NOT",		IMAP_SEARCH_NOT,	SA_NOT },
	{ "OR",			IMAP_SEARCH_OR,		SA_OR },
	{ "SENTBEFORE",		IMAP_SEARCH_SENTBEFORE,	SA_DATE },
	{ "SENTON",		IMAP_SEARCH_SENTON,	SA_DATE },
	{ "SENTSINCE",		IMAP_SEARCH_SENTSINCE,	SA_DATE },
	{ "SMALLER",		IMAP_SEARCH_SMALLER,	SA_NUMBER64 },
	{ "UID",		IMAP_SEARCH_UID,	SA_SEQSET },
	{ "UNDRAFT",		IMAP_SEARCH_UNDRAFT,	SA_NONE },
	/* RFC 3501 9 */
	{ "NEW",		IMAP_SEARCH_NEW,	SA_NONE },
	{ "OLD",		IMAP_SEARCH_OLD,	SA_NONE },
	{ "RECENT",		IMAP_SEARCH_RECENT,	SA_NONE },
	/* RFC 7162 3.1.5 (CONDSTORE) */
	{ "MODSEQ",		IMAP_SEARCH_MODSEQ,	SA_MODSEQ },
	/* RFC 5032 (WITHIN) */
	{ "OLDER",		IMAP_SEARCH_OLDER,	SA_NZNUMBER },
	{ "YOUNGER",		IMAP_SEARCH_YOUNGER,	SA_NZNUMBER },
	/* RFC 8514 (SAVEDATE) */
	{ "SAVEDBEFORE",	IMAP_SEARCH_SAVEDBEFORE, SA_DATE },
	{ "SAVEDON",		IMAP_SEARCH_SAVEDON,	SA_DATE },
	{ "SAVEDSINCE",		IMAP_SEARCH_SAVEDSINCE,	SA_DATE },
	{ "SAVEDATESUPPORTED",	IMAP_SEARCH_SAVEDATESUPPORTED, SA_NONE },
	/* RFC 8474 (OBJECTID) */
	{ "EMAILID",		IMAP_SEARCH_EMAILID,	SA_OBJECTID },
	{ "THREADID",		IMAP_SEARCH_THREADID,	SA_OBJECTID },
	/* Not keywords: the nodes of "(" ... ")" and of a bare set. */
	{ "",			IMAP_SEARCH_AND,	SA_COUNT },
	{ "",			IMAP_SEARCH_SEQSET,	SA_COUNT },
};

#define SEARCH_NKEYS	(sizeof(search_keys) / sizeof(search_keys[0]))

/* The entry-type-req names, by enum imap_search_entry. */
static const char *const search_entries[] = { "", "priv", "shared", "all" };

static int	search_key(struct imap_parser *, struct imap_search *, int,
		    int *);

static int
search_fail(struct imap_parser *ps, const char *why)
{
	if (ps->error == NULL)
		ps->error = why;
	return -1;
}

static const struct search_keydef *
search_keydef_by_key(enum imap_search_key key)
{
	size_t i;

	for (i = 0; i < SEARCH_NKEYS; i++)
		if (search_keys[i].key == key)
			return &search_keys[i];
	return NULL;
}

void
imap_search_init(struct imap_search *s)
{
	memset(s, 0, sizeof(*s));
	s->nodes = NULL;
	s->root = IMAP_SEARCH_NONE;
	s->charset.p = NULL;
}

void
imap_search_clear(struct imap_search *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		imap_seqset_clear(&s->nodes[i].set);
	free(s->nodes);
	imap_search_init(s);
}

/* Adds a node; returns its index, or -1 with ps->error if the tree is full. */
static int
search_node_new(struct imap_parser *ps, struct imap_search *s,
    enum imap_search_key key)
{
	struct imap_search_node *nd;

	if (s->n >= IMAP_SEARCH_MAX_NODES)
		return search_fail(ps, "Search program too large");
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->nodes = xreallocarray(s->nodes, s->cap, sizeof(*s->nodes));
	}
	nd = &s->nodes[s->n];
	memset(nd, 0, sizeof(*nd));
	nd->key = key;
	nd->child = nd->next = IMAP_SEARCH_NONE;
	imap_seqset_init(&nd->set);
	return s->n++;
}

/* --- Argument parsers, one per enum search_arg --- */

/* number64 = 1*DIGIT, at most 2^63 - 1 */
static int
search_number64(struct imap_parser *ps, uint64_t *n)
{
	const uint8_t *start = ps->p;
	uint64_t v = 0;

	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		if (v > (SEARCH_NUMBER64_MAX - (*ps->p - '0')) / 10)
			return search_fail(ps, "Number too large");
		v = v * 10 + (*ps->p++ - '0');
	}
	if (ps->p == start)
		return search_fail(ps, imap_parse_at_eol(ps) ?
		    "Missing argument" : "Expected a number");
	*n = v;
	return 0;
}

/* nz-number = digit-nz *DIGIT, at most 4294967295 */
static int
search_nz_number(struct imap_parser *ps, uint32_t *n)
{
	if (imap_parse_peek(ps, '0'))
		return search_fail(ps, "Expected a nonzero number");
	if (imap_parse_number(ps, n) == -1)
		return -1;
	return 0;
}

static int
search_arg_none(struct imap_parser *ps, struct imap_search *s, int i,
    int depth)
{
	(void)ps;
	(void)s;
	(void)i;
	(void)depth;
	return 0;
}

static int
search_arg_astring(struct imap_parser *ps, struct imap_search *s, int i,
    int depth)
{
	(void)depth;
	return imap_parse_sp(ps) == -1 ? -1 :
	    imap_parse_astring(ps, &s->nodes[i].str);
}

static int
search_arg_header(struct imap_parser *ps, struct imap_search *s, int i,
    int depth)
{
	(void)depth;
	if (imap_parse_sp(ps) == -1 ||
	    imap_parse_astring(ps, &s->nodes[i].str) == -1 ||
	    imap_parse_sp(ps) == -1 ||
	    imap_parse_astring(ps, &s->nodes[i].value) == -1)
		return -1;
	return 0;
}

static int
search_arg_flag(struct imap_parser *ps, struct imap_search *s, int i,
    int depth)
{
	(void)depth;
	return imap_parse_sp(ps) == -1 ? -1 :
	    imap_parse_atom(ps, &s->nodes[i].str);
}

static int
search_arg_date(struct imap_parser *ps, struct imap_search *s, int i,
    int depth)
{
	(void)depth;
	return imap_parse_sp(ps) == -1 ? -1 :
	    imap_date_parse_date(ps, &s->nodes[i].date);
}

static int
search_arg_number64(struct imap_parser *ps, struct imap_search *s, int i,
    int depth)
{
	(void)depth;
	return imap_parse_sp(ps) == -1 ? -1 :
	    search_number64(ps, &s->nodes[i].num);
}

static int
search_arg_nz_number(struct imap_parser *ps, struct imap_search *s, int i,
    int depth)
{
	uint32_t n;

	(void)depth;
	if (imap_parse_sp(ps) == -1 || search_nz_number(ps, &n) == -1)
		return -1;
	s->nodes[i].num = n;
	return 0;
}

static int
search_arg_seqset(struct imap_parser *ps, struct imap_search *s, int i,
    int depth)
{
	(void)depth;
	return imap_parse_sp(ps) == -1 ? -1 :
	    imap_seqset_parse(ps, &s->nodes[i].set);
}

static int
search_arg_not(struct imap_parser *ps, struct imap_search *s, int i,
    int depth)
{
	int c;

	if (imap_parse_sp(ps) == -1 || search_key(ps, s, depth + 1, &c) == -1)
		return -1;
	s->nodes[i].child = c;
	return 0;
}

static int
search_arg_or(struct imap_parser *ps, struct imap_search *s, int i,
    int depth)
{
	int a, b;

	if (imap_parse_sp(ps) == -1 ||
	    search_key(ps, s, depth + 1, &a) == -1 ||
	    imap_parse_sp(ps) == -1 ||
	    search_key(ps, s, depth + 1, &b) == -1)
		return -1;
	s->nodes[i].child = a;
	s->nodes[a].next = b;
	return 0;
}

/* entry-flag-name = DQUOTE "/flags/" attr-flag DQUOTE (RFC 7162 7) */
static int
search_entry_name(struct imap_parser *ps, struct imap_str *name)
{
	size_t i = 7;

	if (imap_parse_string(ps, name) == -1)
		return -1;
	if (name->literal || name->len <= 7 ||
	    strncasecmp(name->p, "/flags/", 7) != 0)
		return search_fail(ps, "Invalid entry name in MODSEQ");
	/* Longer could not be written back as the quoted it must be. */
	if (name->len > IMAP_RESP_QUOTED_MAX)
		return search_fail(ps, "Entry name too long in MODSEQ");
	/* attr-flag = "\" atom (a system flag) / atom (a keyword) */
	if (name->p[i] == '\\')
		i++;
	if (i == name->len)
		return search_fail(ps, "Invalid entry name in MODSEQ");
	for (; i < name->len; i++)
		if (!imap_is_atom_char((uint8_t)name->p[i]))
			return search_fail(ps,
			    "Invalid entry name in MODSEQ");
	return 0;
}

/* MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer */
static int
search_arg_modseq(struct imap_parser *ps, struct imap_search *s, int i,
    int depth)
{
	struct imap_search_node *nd = &s->nodes[i];
	struct imap_str type;
	int e;

	(void)depth;
	if (imap_parse_sp(ps) == -1)
		return -1;
	if (imap_parse_peek(ps, '"')) {
		if (search_entry_name(ps, &nd->str) == -1 ||
		    imap_parse_sp(ps) == -1 ||
		    imap_parse_atom(ps, &type) == -1)
			return -1;
		for (e = IMAP_SEARCH_ENTRY_PRIV; e <= IMAP_SEARCH_ENTRY_ALL;
		    e++)
			if (strlen(search_entries[e]) == type.len &&
			    strncasecmp(type.p, search_entries[e],
			    type.len) == 0)
				break;
		if (e > IMAP_SEARCH_ENTRY_ALL)
			return search_fail(ps, "Invalid entry type in MODSEQ");
		nd->entry = e;
		if (imap_parse_sp(ps) == -1)
			return -1;
	}
	return search_number64(ps, &nd->num);
}

/* objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474 7) */
static int
search_arg_objectid(struct imap_parser *ps, struct imap_search *s, int i,
    int depth)
{
	struct imap_str *id = &s->nodes[i].str;
	size_t k;
	char c;

	(void)depth;
	if (imap_parse_sp(ps) == -1 || imap_parse_atom(ps, id) == -1)
		return -1;
	if (id->len > 255)
		return search_fail(ps, "Object identifier too long");
	for (k = 0; k < id->len; k++) {
		c = id->p[k];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return search_fail(ps, "Invalid object identifier");
	}
	return 0;
}

static int (*const search_arg_parsers[SA_COUNT])(struct imap_parser *,
    struct imap_search *, int, int) = {
	[SA_NONE] = search_arg_none,
	[SA_ASTRING] = search_arg_astring,
	[SA_HEADER] = search_arg_header,
	[SA_FLAG] = search_arg_flag,
	[SA_DATE] = search_arg_date,
	[SA_NUMBER64] = search_arg_number64,
	[SA_NZNUMBER] = search_arg_nz_number,
	[SA_SEQSET] = search_arg_seqset,
	[SA_NOT] = search_arg_not,
	[SA_OR] = search_arg_or,
	[SA_MODSEQ] = search_arg_modseq,
	[SA_OBJECTID] = search_arg_objectid,
};

/* --- The grammar --- */

/* "(" search-key *(SP search-key) ")", or the program's keys (no parens). */
static int
search_key_list(struct imap_parser *ps, struct imap_search *s, int depth,
    bool parens, int *idx_r)
{
	int and, c, last = IMAP_SEARCH_NONE;

	if ((and = search_node_new(ps, s, IMAP_SEARCH_AND)) == -1)
		return -1;
	for (;;) {
		if (search_key(ps, s, depth, &c) == -1)
			return -1;
		if (last == IMAP_SEARCH_NONE)
			s->nodes[and].child = c;
		else
			s->nodes[last].next = c;
		last = c;
		if (parens && imap_parse_peek(ps, ')')) {
			ps->p++;
			break;
		}
		if (!imap_parse_peek(ps, ' ')) {
			if (!parens)
				break;
			return search_fail(ps, imap_parse_at_eol(ps) ?
			    "Missing ) in search program" :
			    "Expected a space or ) after search key");
		}
		ps->p++;
	}
	*idx_r = and;
	return 0;
}

/* search-key, at depth (1 for the keys of the program itself). */
static int
search_key(struct imap_parser *ps, struct imap_search *s, int depth,
    int *idx_r)
{
	const struct search_keydef *kd;
	struct imap_str name;
	size_t k;
	int i;

	if (ps->error != NULL)
		return -1;
	if (depth > IMAP_SEARCH_MAX_DEPTH)
		return search_fail(ps, "Search program nested too deeply");
	if (imap_parse_peek(ps, '(')) {
		ps->p++;
		return search_key_list(ps, s, depth + 1, true, idx_r);
	}
	if (ps->p < ps->end && ((*ps->p >= '0' && *ps->p <= '9') ||
	    *ps->p == '*' || *ps->p == '$')) {
		if ((i = search_node_new(ps, s, IMAP_SEARCH_SEQSET)) == -1 ||
		    imap_seqset_parse(ps, &s->nodes[i].set) == -1)
			return -1;
		*idx_r = i;
		return 0;
	}
	if (imap_parse_atom(ps, &name) == -1)
		return -1;
	for (k = 0, kd = NULL; k < SEARCH_NKEYS && kd == NULL; k++)
		if (search_keys[k].arg != SA_COUNT &&
		    strlen(search_keys[k].name) == name.len &&
		    strncasecmp(search_keys[k].name, name.p, name.len) == 0)
			kd = &search_keys[k];
	if (kd == NULL)
		return search_fail(ps, "Unknown search key");
	if ((i = search_node_new(ps, s, kd->key)) == -1 ||
	    search_arg_parsers[kd->arg](ps, s, i, depth) == -1)
		return -1;
	*idx_r = i;
	return 0;
}

/* partial-range = nz-number ":" nz-number / "-" nz-number ":" "-" nz-number */
static int
search_partial_range(struct imap_parser *ps, struct imap_search *s)
{
	uint32_t a, b;
	bool neg;

	neg = imap_parse_peek(ps, '-');
	if (neg)
		ps->p++;
	if (search_nz_number(ps, &a) == -1 || !imap_parse_peek(ps, ':'))
		return search_fail(ps, "Invalid PARTIAL range");
	ps->p++;
	if (neg && !imap_parse_peek(ps, '-'))
		return search_fail(ps, "Invalid PARTIAL range");
	if (neg)
		ps->p++;
	if (search_nz_number(ps, &b) == -1)
		return search_fail(ps, "Invalid PARTIAL range");
	s->partial_first = neg ? -(int64_t)a : a;
	s->partial_last = neg ? -(int64_t)b : b;
	return 0;
}

static const struct {
	const char	*name;
	unsigned	 bit;
} search_rets[] = {
	{ "MIN",	IMAP_SEARCH_RET_MIN },
	{ "MAX",	IMAP_SEARCH_RET_MAX },
	{ "ALL",	IMAP_SEARCH_RET_ALL },
	{ "COUNT",	IMAP_SEARCH_RET_COUNT },
	{ "SAVE",	IMAP_SEARCH_RET_SAVE },		/* RFC 5182 */
	{ "PARTIAL",	IMAP_SEARCH_RET_PARTIAL },	/* RFC 9394 */
};

#define SEARCH_NRETS	(sizeof(search_rets) / sizeof(search_rets[0]))

/* search-return-opt; an unknown one is refused (RFC 4466 2.6.1). */
static int
search_return_opt(struct imap_parser *ps, struct imap_search *s)
{
	struct imap_str name;
	size_t k;
	unsigned bit;

	if (imap_parse_atom(ps, &name) == -1)
		return -1;
	for (k = 0; k < SEARCH_NRETS; k++)
		if (strlen(search_rets[k].name) == name.len &&
		    strncasecmp(search_rets[k].name, name.p, name.len) == 0)
			break;
	if (k == SEARCH_NRETS)
		return search_fail(ps, "Unknown search return option");
	bit = search_rets[k].bit;
	/* One PARTIAL, one ALL, or neither (RFC 9394 3.1). */
	if ((bit == IMAP_SEARCH_RET_PARTIAL && (s->ret &
	    (IMAP_SEARCH_RET_PARTIAL | IMAP_SEARCH_RET_ALL))) ||
	    (bit == IMAP_SEARCH_RET_ALL && (s->ret & IMAP_SEARCH_RET_PARTIAL)))
		return search_fail(ps,
		    "Only one of PARTIAL and ALL may be given");
	s->ret |= bit;
	if (bit == IMAP_SEARCH_RET_PARTIAL)
		return imap_parse_sp(ps) == -1 ? -1 :
		    search_partial_range(ps, s);
	return 0;
}

/* search-return-opts = SP "RETURN" SP "(" [opt *(SP opt)] ")" */
static int
search_return_opts(struct imap_parser *ps, struct imap_search *s)
{
	if (imap_parse_sp(ps) == -1)
		return -1;
	if (!imap_parse_peek(ps, '('))
		return search_fail(ps, "Expected ( after RETURN");
	ps->p++;
	s->ret_given = true;
	if (imap_parse_peek(ps, ')')) {
		ps->p++;
		return 0;
	}
	for (;;) {
		if (search_return_opt(ps, s) == -1)
			return -1;
		if (imap_parse_peek(ps, ')')) {
			ps->p++;
			return 0;
		}
		if (imap_parse_sp(ps) == -1)
			return -1;
	}
}

/* Is the next word (up to SP) the atom word, as a whole? */
static bool
search_next_is(const struct imap_parser *ps, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(ps->end - ps->p) > n &&
	    strncasecmp((const char *)ps->p, word, n) == 0 && ps->p[n] == ' ';
}

int
imap_search_parse(struct imap_parser *ps, struct imap_search *s)
{
	if (imap_parse_sp(ps) == -1)
		return -1;
	if (search_next_is(ps, "RETURN")) {
		ps->p += 6;
		if (search_return_opts(ps, s) == -1 || imap_parse_sp(ps) == -1)
			return -1;
	}
	if (search_next_is(ps, "CHARSET")) {
		ps->p += 7;
		/* charset = atom / quoted; RFC 3501 had astring. */
		if (imap_parse_sp(ps) == -1 ||
		    imap_parse_astring(ps, &s->charset) == -1 ||
		    imap_parse_sp(ps) == -1)
			return -1;
	}
	return search_key_list(ps, s, 1, false, &s->root);
}

/* --- The writer --- */

static void	search_write_node(const struct imap_search *, int,
		    struct buf *);

static void
search_write_str(struct buf *out, const struct imap_str *str)
{
	imap_resp_astring(out, str->p, str->len, IMAP_RESP_UTF8);
}

static void
search_write_number(struct buf *out, uint64_t n)
{
	char num[24];
	int len;

	len = snprintf(num, sizeof(num), "%llu", (unsigned long long)n);
	buf_append(out, num, (size_t)len);
}

/* Children of node i, separated by SP. */
static void
search_write_children(const struct imap_search *s, int i, struct buf *out)
{
	int c;

	for (c = s->nodes[i].child; c != IMAP_SEARCH_NONE;
	    c = s->nodes[c].next) {
		if (c != s->nodes[i].child)
			buf_append(out, " ", 1);
		search_write_node(s, c, out);
	}
}

static void
search_write_arg(const struct imap_search *s, int i, enum search_arg arg,
    struct buf *out)
{
	const struct imap_search_node *nd = &s->nodes[i];

	if (arg != SA_NONE)
		buf_append(out, " ", 1);
	switch (arg) {
	case SA_HEADER:
		search_write_str(out, &nd->str);
		buf_append(out, " ", 1);
		search_write_str(out, &nd->value);
		break;
	case SA_ASTRING:
		search_write_str(out, &nd->str);
		break;
	case SA_FLAG:
	case SA_OBJECTID:
		/* Atoms, "NIL" included: never quoted. */
		buf_append(out, nd->str.p, nd->str.len);
		break;
	case SA_DATE:
		(void)imap_date_write_date(out, nd->date);
		break;
	case SA_NUMBER64:
	case SA_NZNUMBER:
		search_write_number(out, nd->num);
		break;
	case SA_SEQSET:
		imap_seqset_write(&nd->set, out);
		break;
	case SA_NOT:
	case SA_OR:
		search_write_children(s, i, out);
		break;
	case SA_MODSEQ:
		if (nd->str.p != NULL) {
			imap_resp_string(out, nd->str.p, nd->str.len,
			    IMAP_RESP_UTF8);
			buf_append(out, " ", 1);
			buf_append(out, search_entries[nd->entry],
			    strlen(search_entries[nd->entry]));
			buf_append(out, " ", 1);
		}
		search_write_number(out, nd->num);
		break;
	case SA_NONE:
	case SA_COUNT:
		break;
	}
}

static void
search_write_node(const struct imap_search *s, int i, struct buf *out)
{
	const struct imap_search_node *nd = &s->nodes[i];
	const struct search_keydef *kd;

	if (nd->key == IMAP_SEARCH_AND) {
		buf_append(out, "(", 1);
		search_write_children(s, i, out);
		buf_append(out, ")", 1);
		return;
	}
	if (nd->key == IMAP_SEARCH_SEQSET) {
		imap_seqset_write(&nd->set, out);
		return;
	}
	if ((kd = search_keydef_by_key(nd->key)) == NULL)
		return;
	buf_append(out, kd->name, strlen(kd->name));
	search_write_arg(s, i, kd->arg, out);
}

/* partial-range as written */
static void
search_write_partial(const struct imap_search *s, struct buf *out)
{
	char r[48];
	int len;

	len = snprintf(r, sizeof(r), "%lld:%lld",
	    (long long)s->partial_first, (long long)s->partial_last);
	buf_append(out, r, (size_t)len);
}

void
imap_search_write(const struct imap_search *s, struct buf *out)
{
	size_t k;
	bool first = true;

	if (s->ret_given) {
		buf_append(out, "RETURN (", 8);
		for (k = 0; k < SEARCH_NRETS; k++) {
			if (!(s->ret & search_rets[k].bit))
				continue;
			if (!first)
				buf_append(out, " ", 1);
			first = false;
			buf_append(out, search_rets[k].name,
			    strlen(search_rets[k].name));
			if (search_rets[k].bit == IMAP_SEARCH_RET_PARTIAL) {
				buf_append(out, " ", 1);
				search_write_partial(s, out);
			}
		}
		buf_append(out, ") ", 2);
	}
	if (s->charset.p != NULL) {
		buf_append(out, "CHARSET ", 8);
		search_write_str(out, &s->charset);
		buf_append(out, " ", 1);
	}
	if (s->root != IMAP_SEARCH_NONE)
		search_write_children(s, s->root, out);
}
