/* SPDX-License-Identifier: ISC */
/*
 * imap_fetch_parse.c: the items of FETCH (RFC 9051 6.4.5; fetch-att,
 * section, section-spec and the modifiers of CONDSTORE, QRESYNC and
 * PARTIAL) read into the command's state (imap_fetch_int.h).
 */
#include "imap_fetch_int.h"
#include "xmalloc.h"


#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
fetch_error(struct imap_parser *ps, const char *why)
{
	if (ps->error == NULL)
		ps->error = why;
	return -1;
}

/* Reads a fetch-att name: letters, digits and '.', up to '[', SP or ')'. */
static size_t
fetch_name(struct imap_parser *ps, char *out, size_t size)
{
	size_t n = 0;

	while (ps->p < ps->end && (isalnum(*ps->p) || *ps->p == '.' ||
	    *ps->p == '-') && n + 1 < size)
		out[n++] = (char)toupper(*ps->p++);
	out[n] = '\0';
	return n;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")" */
static int
fetch_parse_fields(struct imap_parser *ps, struct fetch_sect *fs)
{
	struct imap_str f;
	size_t i;

	if (imap_parse_sp(ps) == -1 || !imap_parse_peek(ps, '('))
		return fetch_error(ps, "Expected a list of header names");
	ps->p++;
	for (;;) {
		if (imap_parse_astring(ps, &f) == -1)
			return -1;
		if (f.len == 0 || fs->nfields == FETCH_MAX_FIELDS)
			return fetch_error(ps, "Too many header names");
		for (i = 0; i < f.len; i++)
			if ((unsigned char)f.p[i] <= ' ' ||
			    (unsigned char)f.p[i] >= 127 || f.p[i] == ':')
				return fetch_error(ps, "Invalid header name");
		fs->fields[fs->nfields++] = xstrndup(f.p, f.len);
		if (imap_parse_peek(ps, ')')) {
			ps->p++;
			return 0;
		}
		if (imap_parse_sp(ps) == -1)
			return -1;
	}
}

/* "[" [section-spec] "]" ["<" number "." nz-number ">"], after the name */
static int
fetch_parse_section(struct imap_parser *ps, struct fetch_sect *fs,
    bool binary)
{
	char word[32];
	uint32_t n;

	ps->p++;	/* '[' */
	while (ps->p < ps->end && isdigit(*ps->p)) {
		if (imap_parse_number(ps, &n) == -1 || n == 0)
			return fetch_error(ps, "Invalid section part number");
		if (fs->npath == FETCH_MAX_DEPTH)
			return fetch_error(ps, "Section nested too deeply");
		fs->path[fs->npath++] = n;
		if (!imap_parse_peek(ps, '.'))
			break;
		ps->p++;
		if (ps->p < ps->end && !isdigit(*ps->p))
			break;
	}
	if (!imap_parse_peek(ps, ']')) {
		if (binary)
			return fetch_error(ps, "BINARY takes part numbers only");
		fetch_name(ps, word, sizeof(word));
		if (strcmp(word, "HEADER") == 0)
			fs->text = FT_HEADER;
		else if (strcmp(word, "TEXT") == 0)
			fs->text = FT_TEXT;
		else if (strcmp(word, "MIME") == 0 && fs->npath > 0)
			fs->text = FT_MIME;
		else if (strcmp(word, "HEADER.FIELDS") == 0)
			fs->text = FT_FIELDS;
		else if (strcmp(word, "HEADER.FIELDS.NOT") == 0)
			fs->text = FT_FIELDS_NOT;
		else
			return fetch_error(ps, "Invalid section");
		if ((fs->text == FT_FIELDS || fs->text == FT_FIELDS_NOT) &&
		    fetch_parse_fields(ps, fs) == -1)
			return -1;
	}
	if (!imap_parse_peek(ps, ']'))
		return fetch_error(ps, "Expected ']' after the section");
	ps->p++;
	if (imap_parse_peek(ps, '<')) {
		ps->p++;
		if (imap_parse_number(ps, &fs->poff) == -1 ||
		    !imap_parse_peek(ps, '.'))
			return fetch_error(ps, "Invalid partial range");
		ps->p++;
		if (imap_parse_number(ps, &fs->plen) == -1 || fs->plen == 0 ||
		    !imap_parse_peek(ps, '>'))
			return fetch_error(ps, "Invalid partial range");
		ps->p++;
		fs->partial = true;
	}
	return 0;
}

/* The response name: the item as asked, "<n.m>" becoming "<n>". */
static void
fetch_sect_name(struct fetch_sect *fs, const char *item, const uint8_t *start,
    const uint8_t *end)
{
	struct buf b = BUF_INIT;
	const uint8_t *p, *lt, *lp;
	size_t i;

	buf_append(&b, item, strlen(item));
	p = (const uint8_t *)memchr(start, '[', (size_t)(end - start));
	lt = end;
	if (fs->partial)
		while (lt > p && *lt != '<')
			lt--;
	/*
	 * The section as the client wrote it; but a header name given as a
	 * literal ("{4}" CRLF) cannot go back so (a literal+ is no server
	 * syntax, and a CRLF inside the item's name would split the response
	 * line): the list is then written again, each name an atom or a
	 * quoted string.  (Today no input reaches here with a literal: the
	 * reader refuses literals in FETCH, and NOTIFY's fetch attributes end
	 * at a line end; fuzz_imap_fetch found it.)
	 */
	lp = memchr(p, '(', (size_t)(lt - p));
	if (lp != NULL && memchr(lp, '\n', (size_t)(lt - lp)) != NULL) {
		buf_append(&b, p, (size_t)(lp - p) + 1);
		for (i = 0; i < fs->nfields; i++) {
			if (i > 0)
				buf_append(&b, " ", 1);
			imap_resp_astring(&b, fs->fields[i],
			    strlen(fs->fields[i]), 0);
		}
		buf_append(&b, ")]", 2);
	} else
		buf_append(&b, p, (size_t)(lt - p));
	if (fs->partial)
		buf_printf(&b, "<%u>", fs->poff);
	buf_append(&b, "", 1);
	fs->name = xstrdup((const char *)b.data);
	buf_clear(&b);
}

static int
fetch_parse_att(struct imap_parser *ps, struct fetch_ctx *x)
{
	static const struct {
		const char	*name;
		unsigned	 items;
	} simple[] = {
		{ "UID", FI_UID }, { "FLAGS", FI_FLAGS },
		{ "INTERNALDATE", FI_INTERNALDATE },
		{ "RFC822.SIZE", FI_SIZE }, { "ENVELOPE", FI_ENVELOPE },
		{ "BODYSTRUCTURE", FI_BODYSTRUCT }, { "MODSEQ", FI_MODSEQ },
		{ "EMAILID", FI_EMAILID }, { "THREADID", FI_THREADID },
		{ "SAVEDATE", FI_SAVEDATE }, { "PREVIEW", FI_PREVIEW },
		{ "ALL", FI_FLAGS | FI_INTERNALDATE | FI_SIZE | FI_ENVELOPE },
		{ "FAST", FI_FLAGS | FI_INTERNALDATE | FI_SIZE },
		{ "FULL", FI_FLAGS | FI_INTERNALDATE | FI_SIZE | FI_ENVELOPE |
		    FI_BODY },
	};
	const uint8_t *start = ps->p;
	struct fetch_sect *fs;
	char name[32];
	size_t i;

	if (fetch_name(ps, name, sizeof(name)) == 0)
		return fetch_error(ps, "Expected a fetch item");
	if (!imap_parse_peek(ps, '[')) {
		for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
			if (strcmp(name, simple[i].name) == 0) {
				x->items |= simple[i].items;
				/* PREVIEW (LAZY): we always have it. */
				if (strcmp(name, "PREVIEW") == 0 &&
				    ps->end - ps->p >= 7 &&
				    strncasecmp((const char *)ps->p,
				    " (LAZY)", 7) == 0)
					ps->p += 7;
				return 0;
			}
		if (strcmp(name, "BODY") == 0) {
			x->items |= FI_BODY;
			return 0;
		}
	}
	if (x->nsect == FETCH_MAX_SECTIONS)
		return fetch_error(ps, "Too many sections");
	fs = &x->sect[x->nsect++];
	memset(fs, 0, sizeof(*fs));
	if (strcmp(name, "RFC822") == 0 || strcmp(name, "RFC822.HEADER") == 0 ||
	    strcmp(name, "RFC822.TEXT") == 0) {
		if (imap_parse_peek(ps, '['))
			return fetch_error(ps, "Unknown fetch item");
		fs->kind = FS_BODY;
		fs->text = name[6] == '\0' ? FT_ALL : name[7] == 'H' ?
		    FT_HEADER : FT_TEXT;
		fs->peek = fs->text == FT_HEADER;
		fs->name = xstrdup(name);
		if (!fs->peek)
			x->sets_seen = true;
		return 0;
	}
	if (!imap_parse_peek(ps, '['))
		return fetch_error(ps, "Unknown fetch item");
	if (strcmp(name, "BODY") == 0 || strcmp(name, "BODY.PEEK") == 0)
		fs->kind = FS_BODY;
	else if (strcmp(name, "BINARY") == 0 ||
	    strcmp(name, "BINARY.PEEK") == 0)
		fs->kind = FS_BINARY;
	else if (strcmp(name, "BINARY.SIZE") == 0)
		fs->kind = FS_BINARY_SIZE;
	else
		return fetch_error(ps, "Unknown fetch item");
	fs->peek = strstr(name, ".PEEK") != NULL || fs->kind == FS_BINARY_SIZE;
	if (fetch_parse_section(ps, fs, fs->kind != FS_BODY) == -1)
		return -1;
	if (fs->kind == FS_BINARY_SIZE && fs->partial)
		return fetch_error(ps, "BINARY.SIZE takes no partial range");
	fetch_sect_name(fs, fs->kind == FS_BODY ? "BODY" : fs->kind ==
	    FS_BINARY ? "BINARY" : "BINARY.SIZE", start, ps->p);
	if (!fs->peek)
		x->sets_seen = true;
	return 0;
}

/*
 * partial-range = partial-range-first / partial-range-last (RFC 9394 4):
 * "lo:hi" counts from the first message of the set, "-lo:-hi" from the
 * last, either way round.
 */
static int
fetch_parse_partial(struct imap_parser *ps, struct fetch_ctx *x)
{
	uint32_t a, b;

	x->partial_neg = imap_parse_peek(ps, '-');
	if (x->partial_neg)
		ps->p++;
	if (imap_parse_number(ps, &a) == -1 || a == 0 ||
	    !imap_parse_peek(ps, ':'))
		return fetch_error(ps, "Invalid partial range");
	ps->p++;
	if (x->partial_neg) {
		if (!imap_parse_peek(ps, '-'))
			return fetch_error(ps, "Invalid partial range");
		ps->p++;
	}
	if (imap_parse_number(ps, &b) == -1 || b == 0)
		return fetch_error(ps, "Invalid partial range");
	x->partial = true;
	x->partial_lo = a < b ? a : b;
	x->partial_hi = a < b ? b : a;
	return 0;
}

/* Keeps of the UIDs asked only the positions PARTIAL names. */
void
imap_fetch_apply_partial(struct fetch_ctx *x)
{
	uint64_t from, to;	/* 0-based, [from, to) */

	if (x->partial_neg) {
		from = x->partial_hi >= x->nuids ? 0 : x->nuids - x->partial_hi;
		to = x->partial_lo > x->nuids ? 0 : x->nuids - x->partial_lo + 1;
	} else {
		from = x->partial_lo - 1;
		to = x->partial_hi < x->nuids ? x->partial_hi : x->nuids;
	}
	if (from >= to) {
		x->nuids = 0;
		return;
	}
	memmove(x->uids, x->uids + from, (size_t)(to - from) *
	    sizeof(*x->uids));
	x->nuids = (uint32_t)(to - from);
}

/* fetch-modifier list: (CHANGEDSINCE n) of RFC 7162 */
static int
fetch_parse_modifiers(struct imap_parser *ps, struct fetch_ctx *x)
{
	char name[32];
	uint64_t v = 0;

	ps->p++;	/* '(' */
	for (;;) {
		fetch_name(ps, name, sizeof(name));
		if (strcmp(name, "VANISHED") == 0) {
			x->vanished = true;
			goto next;
		}
		if (strcmp(name, "PARTIAL") == 0) {
			if (imap_parse_sp(ps) == -1 ||
			    fetch_parse_partial(ps, x) == -1)
				return -1;
			goto next;
		}
		if (strcmp(name, "CHANGEDSINCE") != 0)
			return fetch_error(ps, "Unknown FETCH modifier");
		if (imap_parse_sp(ps) == -1)
			return -1;
		/* mod-sequence-value: up to 2^63-1 */
		v = 0;
		while (ps->p < ps->end && isdigit(*ps->p)) {
			if (v > (UINT64_C(1) << 62))
				return fetch_error(ps, "Invalid mod-sequence");
			v = v * 10 + (uint64_t)(*ps->p++ - '0');
		}
		if (v == 0)
			return fetch_error(ps, "Invalid mod-sequence");
		x->changedsince = v;
		x->items |= FI_MODSEQ;
next:
		if (imap_parse_peek(ps, ')')) {
			ps->p++;
			break;
		}
		if (imap_parse_sp(ps) == -1)
			return -1;
	}
	return 0;
}

int
imap_fetch_parse_items(struct imap_parser *ps, struct fetch_ctx *x)
{
	if (imap_parse_peek(ps, '(')) {
		ps->p++;
		for (;;) {
			if (fetch_parse_att(ps, x) == -1)
				return -1;
			if (imap_parse_peek(ps, ')')) {
				ps->p++;
				break;
			}
			if (imap_parse_sp(ps) == -1)
				return -1;
		}
	} else if (fetch_parse_att(ps, x) == -1)
		return -1;
	if (imap_parse_peek(ps, ' ')) {
		ps->p++;
		if (!imap_parse_peek(ps, '('))
			return fetch_error(ps, "Expected FETCH modifiers");
		if (fetch_parse_modifiers(ps, x) == -1)
			return -1;
	}
	return imap_parse_eol(ps);
}

void
imap_fetch_items_clear(struct fetch_ctx *x)
{
	size_t i, j;

	for (i = 0; i < x->nsect; i++) {
		for (j = 0; j < x->sect[i].nfields; j++)
			free(x->sect[i].fields[j]);
		free(x->sect[i].name);
	}
	x->nsect = 0;
}
