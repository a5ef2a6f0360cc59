/* SPDX-License-Identifier: ISC */
/*
 * mime.c: the message parser's single pass over the lines of a message
 * (RFC 5322 2.1-2.2 header and body, RFC 2046 5.1 multipart boundaries,
 * RFC 2046 5.2.1 and RFC 6532 3.7 message/rfc822 and message/global),
 * building the flat part tree of mime_int.h, plus the arena the tree lives
 * in.
 *
 * Each line is looked at once: a line starting with "--" is compared with
 * the boundaries of the open multiparts (at most MIME_MAX_DEPTH), header
 * lines are matched against a table of the fields the parser keeps, body
 * lines are only counted.  Lines end at LF (an optional CR before it is
 * part of the line break); a message without any LF but with CR uses bare
 * CR line breaks.  Nothing in the bytes makes the parser give up: a broken
 * structure ends parts where the bytes end.
 */
#include "mime.h"
#include "mime_int.h"
#include "charset.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARENA_BLK	16384

struct mime_arena_blk {
	struct mime_arena_blk *next;
	size_t		 used, cap;
	max_align_t	 data[];
};

enum frame_state {
	FS_HEADER,	/* reading header fields */
	FS_BODY,	/* leaf body, or a message part's child is open */
	FS_MULTI,	/* multipart: preamble or between parts */
	FS_EPILOGUE	/* multipart after its close delimiter */
};

/* An open entity: the innermost one is on top of the stack. */
struct frame {
	uint32_t	 part;
	enum frame_state state;
	int		 cur;		/* header field being continued or -1 */
	const uint8_t	*boundary;
	size_t		 blen;
	uint64_t	 body_line;	/* index of the first body line */
	bool		 fields;	/* a header field was read */
	size_t		 resume;	/* next field after broken lines */
	struct mime_span hdr[MH_COUNT];
};

struct parser {
	struct mime_msg	*m;
	const uint8_t	*d;
	size_t		 len;
	uint64_t	 line_no;	/* index of the current line */
	size_t		 prev_eol;	/* start of the previous line break */
	size_t		 prev_start;	/* where the previous line starts */
	bool		 at_eof;	/* closing at the end of the bytes */
	int		 eol;		/* '\n', or '\r' for bare CR breaks */
	int		 top;		/* index of the innermost frame */
	struct frame	 fr[MIME_MAX_DEPTH + 2];
};

/* The header fields kept, by name (RFC 5322 3.6, RFC 2045, RFC 2183). */
static const struct {
	const char	*name;
	size_t		 len;
	enum mime_hdr	 id;
} hdr_names[] = {
#define H(s, id)	{ s, sizeof(s) - 1, id }
	H("content-type", MH_CONTENT_TYPE),
	H("content-transfer-encoding", MH_CTE),
	H("content-disposition", MH_DISPOSITION),
	H("content-id", MH_ID),
	H("content-description", MH_DESCRIPTION),
	H("content-language", MH_LANGUAGE),
	H("content-location", MH_LOCATION),
	H("content-md5", MH_MD5),
	H("date", MH_DATE),
	H("subject", MH_SUBJECT),
	H("from", MH_FROM),
	H("sender", MH_SENDER),
	H("reply-to", MH_REPLY_TO),
	H("to", MH_TO),
	H("cc", MH_CC),
	H("bcc", MH_BCC),
	H("in-reply-to", MH_IN_REPLY_TO),
	H("message-id", MH_MESSAGE_ID),
	H("references", MH_REFERENCES),
#undef H
};

void *
mime_alloc(struct mime_msg *m, size_t n)
{
	struct mime_arena_blk *b = m->arena;
	size_t cap;
	void *p;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (b == NULL || b->cap - b->used < n) {
		cap = n > ARENA_BLK / 4 ? n : ARENA_BLK;
		b = xmalloc(sizeof(*b) + cap);
		b->cap = cap;
		b->used = 0;
		if (cap == ARENA_BLK || m->arena == NULL) {
			b->next = m->arena;
			m->arena = b;
		} else {
			/* Keep the current block for small allocations. */
			b->next = m->arena->next;
			m->arena->next = b;
		}
	}
	p = (uint8_t *)b->data + b->used;
	b->used += n;
	return p;
}

char *
mime_strndup(struct mime_msg *m, const void *p, size_t n)
{
	const uint8_t *s = p;
	char *d = mime_alloc(m, n + 1);
	size_t i, j;

	/* Strings are C strings: drop embedded NULs. */
	for (i = j = 0; i < n; i++)
		if (s[i] != '\0')
			d[j++] = (char)s[i];
	d[j] = '\0';
	return d;
}

static int
hdr_lookup(const uint8_t *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(hdr_names) / sizeof(hdr_names[0]); i++)
		if (hdr_names[i].len == n &&
		    strncasecmp(hdr_names[i].name, (const char *)name, n) == 0)
			return (int)hdr_names[i].id;
	return -1;
}

static uint32_t
new_part(struct parser *ps, uint32_t parent, uint64_t hdr_off)
{
	struct mime_msg *m = ps->m;
	struct mime_part *p;

	if (m->nparts == m->capparts) {
		m->capparts = m->capparts ? m->capparts * 2 : 8;
		m->parts = xreallocarray(m->parts, m->capparts,
		    sizeof(*m->parts));
	}
	p = &m->parts[m->nparts];
	memset(p, 0, sizeof(*p));
	p->parent = parent;
	p->depth = parent == MIME_NONE ? 0 : m->parts[parent].depth + 1;
	p->env = MIME_NONE;
	p->hdr_off = p->body_off = p->body_end = hdr_off;
	return m->nparts++;
}

static struct frame *
push_frame(struct parser *ps, uint32_t part)
{
	struct frame *f = &ps->fr[++ps->top];

	memset(f, 0, sizeof(*f));
	f->part = part;
	f->state = FS_HEADER;
	f->cur = -1;
	return f;
}

static uint32_t
new_env(struct mime_msg *m)
{
	if (m->nenvs == m->capenvs) {
		m->capenvs = m->capenvs ? m->capenvs * 2 : 2;
		m->envs = xreallocarray(m->envs, m->capenvs,
		    sizeof(*m->envs));
	}
	memset(&m->envs[m->nenvs], 0, sizeof(m->envs[0]));
	return m->nenvs++;
}

/* Content-Language (RFC 3282): a comma separated list of tags. */
static void
parse_language(struct mime_msg *m, const char *s, struct mime_strv *out)
{
	const char *e, *t;
	size_t n = 0, cap = 0;
	char **v = NULL;

	for (; *s != '\0' && n < 100; s = *e == '\0' ? e : e + 1) {
		while (*s == ' ' || *s == '\t')
			s++;
		for (e = s; *e != '\0' && *e != ','; e++)
			;
		if (e == s || *s == '(')
			continue;
		if (n == cap) {
			char **nv;

			cap = cap ? cap * 2 : 4;
			nv = mime_alloc(m, cap * sizeof(*nv));
			if (n > 0)
				memcpy(nv, v, n * sizeof(*nv));
			v = nv;
		}
		for (t = e; t > s && (t[-1] == ' ' || t[-1] == '\t'); t--)
			;
		v[n++] = mime_strndup(m, s, (size_t)(t - s));
	}
	out->v = v;
	out->n = n;
}

static char *
lower_trim(struct mime_msg *m, const char *s)
{
	char *d, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	d = mime_strndup(m, s, strlen(s));
	for (e = d; *e != '\0'; e++)
		if (*e >= 'A' && *e <= 'Z')
			*e = (char)(*e - 'A' + 'a');
	while (e > d && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return d;
}

/* Strips a trailing comment such as "base64 (wrapped)". */
static void
cut_comment(char *s)
{
	char *c;

	if ((c = strpbrk(s, " \t(;")) != NULL)
		*c = '\0';
}

/* RFC 2045 5.2 default: text/plain, or message/rfc822 in a digest. */
static void
default_type(struct parser *ps, struct mime_part *p)
{
	struct mime_msg *m = ps->m;
	const struct mime_part *parent;

	parent = p->parent == MIME_NONE ? NULL : &m->parts[p->parent];
	if (parent != NULL && strcmp(parent->type, "multipart") == 0 &&
	    strcmp(parent->subtype, "digest") == 0) {
		p->type = mime_strndup(m, "message", 7);
		p->subtype = mime_strndup(m, "rfc822", 6);
	} else {
		p->type = mime_strndup(m, "text", 4);
		p->subtype = mime_strndup(m, "plain", 5);
	}
}

/* Fills the MIME fields of part f->part from the header fields kept. */
static void
part_fields(struct parser *ps, struct frame *f)
{
	struct mime_msg *m = ps->m;
	struct mime_part *p = &m->parts[f->part];
	const char *v;

	if (f->hdr[MH_CONTENT_TYPE].p != NULL)
		mime_parse_ctype(m, mime_unfold(m, f->hdr[MH_CONTENT_TYPE]), p);
	if (p->type == NULL)
		default_type(ps, p);
	if (f->hdr[MH_CTE].p != NULL) {
		p->encoding = lower_trim(m,
		    mime_unfold(m, f->hdr[MH_CTE]));
		cut_comment(p->encoding);
		if (strcmp(p->encoding, "base64") == 0)
			p->enc = ME_BASE64;
		else if (strcmp(p->encoding, "quoted-printable") == 0)
			p->enc = ME_QP;
		if (*p->encoding == '\0')
			p->encoding = NULL;
	}
	if (f->hdr[MH_DISPOSITION].p != NULL)
		mime_parse_disposition(m,
		    mime_unfold(m, f->hdr[MH_DISPOSITION]), p);
	if (f->hdr[MH_ID].p != NULL)
		p->id = mime_unfold(m, f->hdr[MH_ID]);
	if (f->hdr[MH_DESCRIPTION].p != NULL)
		p->description = mime_decode_words_dup(m,
		    mime_unfold(m, f->hdr[MH_DESCRIPTION]));
	if (f->hdr[MH_LANGUAGE].p != NULL)
		parse_language(m, mime_unfold(m, f->hdr[MH_LANGUAGE]),
		    &p->language);
	if (f->hdr[MH_LOCATION].p != NULL)
		p->location = mime_unfold(m, f->hdr[MH_LOCATION]);
	if (f->hdr[MH_MD5].p != NULL)
		p->md5 = mime_unfold(m, f->hdr[MH_MD5]);
	if ((v = mime_param_get(p->params, p->nparams, "charset")) != NULL &&
	    *v != '\0')
		p->charset = lower_trim(m, v);
	if ((v = mime_param_get(p->dparams, p->ndparams, "filename")) ==
	    NULL || *v == '\0')
		v = mime_param_get(p->params, p->nparams, "name");
	if (v != NULL && *v != '\0')
		p->name = (char *)v;
}

static bool
is_message_type(const struct mime_part *p)
{
	return strcmp(p->type, "message") == 0 &&
	    (strcmp(p->subtype, "rfc822") == 0 ||
	    strcmp(p->subtype, "global") == 0);
}

/*
 * The header of f ends; its body starts at body_off on line body_line.
 * Decides what the body is: a multipart with a boundary, an encapsulated
 * message (whose header starts right away, unless closing), or a leaf.
 */
static void
end_header(struct parser *ps, struct frame *f, size_t body_off,
    uint64_t body_line, bool closing)
{
	struct mime_msg *m = ps->m;
	struct mime_part *p = &m->parts[f->part];
	const char *b;
	uint32_t child;
	bool is_msg;

	p->body_off = body_off;
	f->body_line = body_line;
	f->state = FS_BODY;
	part_fields(ps, f);
	is_msg = p->parent == MIME_NONE ||
	    is_message_type(&m->parts[p->parent]);
	if (is_msg) {
		p->env = new_env(m);
		mime_env_fill(m, &m->envs[p->env], f->hdr);
	}
	if (strcmp(p->type, "multipart") == 0) {
		b = mime_param_get(p->params, p->nparams, "boundary");
		if (b == NULL || *b == '\0' || p->depth >= MIME_MAX_DEPTH) {
			/* RFC 2046 5.1.1: no boundary, no parts. */
			p->type = mime_strndup(m, "text", 4);
			p->subtype = mime_strndup(m, "plain", 5);
			return;
		}
		f->state = FS_MULTI;
		f->boundary = (const uint8_t *)b;
		f->blen = strlen(b);
		return;
	}
	if (is_message_type(p) && p->enc == ME_IDENTITY && !closing &&
	    p->depth < MIME_MAX_DEPTH && m->nparts < MIME_MAX_PARTS) {
		child = new_part(ps, f->part, body_off);
		push_frame(ps, child);
	}
}

/*
 * Ends frame f at byte end, or later if its header or body starts later;
 * returns where it ended (an enclosing frame cannot end before).
 */
static size_t
close_frame(struct parser *ps, struct frame *f, size_t end)
{
	struct mime_msg *m = ps->m;
	struct mime_part *p;

	if (f->state == FS_HEADER) {
		if (end < m->parts[f->part].hdr_off)
			end = m->parts[f->part].hdr_off;
		end_header(ps, f, end, ps->line_no, true);
	}
	p = &m->parts[f->part];
	if (end < p->body_off)
		end = p->body_off;
	p->body_end = end;
	/*
	 * Lines before a delimiter: the last line break belongs to the
	 * delimiter, so an empty last line is no line (RFC 2046 5.1.1).
	 */
	p->lines = ps->line_no - f->body_line;
	if (!ps->at_eof && p->lines > 0 && ps->prev_eol == ps->prev_start)
		p->lines--;
	if (end == p->body_off)
		p->lines = 0;
	if (f->state == FS_BODY)
		p->dsize = mime_decoded_size(p->enc, ps->d + p->body_off,
		    end - p->body_off);
	return end;
}

/*
 * Which open multipart's boundary the line (after "--") is a delimiter of:
 * an exact match (boundary, optional "--", then only white space) at any
 * level wins, else the innermost prefix match.  Returns the frame index or
 * -1; *close_r says whether it is a close delimiter.
 */
static int
match_boundary(struct parser *ps, const uint8_t *s, size_t n, bool *close_r)
{
	const struct frame *f;
	size_t i;
	int k, prefix = -1;

	for (k = ps->top; k >= 0; k--) {
		f = &ps->fr[k];
		if (f->state != FS_MULTI || f->blen > n ||
		    memcmp(s, f->boundary, f->blen) != 0)
			continue;
		i = f->blen;
		*close_r = n - i >= 2 && s[i] == '-' && s[i + 1] == '-';
		if (*close_r)
			i += 2;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n)
			return k;
		if (prefix < 0)
			prefix = k;
	}
	if (prefix >= 0) {
		f = &ps->fr[prefix];
		*close_r = n - f->blen >= 2 && s[f->blen] == '-' &&
		    s[f->blen + 1] == '-';
	}
	return prefix;
}

/* A delimiter line of frame k: closes what is open inside it. */
static void
delimiter(struct parser *ps, int k, bool close, size_t next)
{
	struct frame *f;
	size_t end = ps->prev_eol;
	uint32_t child;

	while (ps->top > k) {
		end = close_frame(ps, &ps->fr[ps->top], end);
		ps->top--;
	}
	f = &ps->fr[k];
	if (close) {
		f->state = FS_EPILOGUE;
		return;
	}
	if (ps->m->nparts >= MIME_MAX_PARTS)
		return;
	child = new_part(ps, f->part, next);
	push_frame(ps, child);
}

/* Whether f is the header of a message (not of a body part). */
static bool
is_message_start(const struct parser *ps, const struct frame *f)
{
	const struct mime_part *p = &ps->m->parts[f->part];

	return p->parent == MIME_NONE ||
	    is_message_type(&ps->m->parts[p->parent]);
}

/* An mbox "From " line, or its ">From " quoted form (n octets at s). */
static bool
mbox_from(const uint8_t *s, size_t n)
{
	if (n > 0 && s[0] == '>') {
		s++;
		n--;
	}
	return n >= 5 && memcmp(s, "From ", 5) == 0;
}

/*
 * Whether the line [line, cend) is a header field (RFC 5322 2.2: a name of
 * printable characters, then ':'; white space before the colon is the
 * obsolete form of 4.5).  *q_r is the end of the name, *r_r the colon.
 */
static bool
is_field(const uint8_t *d, size_t line, size_t cend, size_t *q_r,
    size_t *r_r)
{
	size_t q, r;

	for (q = line; q < cend && d[q] > 32 && d[q] < 127 && d[q] != ':';
	    q++)
		;
	for (r = q; r < cend && (d[r] == ' ' || d[r] == '\t'); r++)
		;
	*q_r = q;
	*r_r = r;
	return q != line && r != cend && d[r] == ':';
}

/*
 * After a line that is no header field: where the header resumes with a
 * field before the empty line (the line was a broken field), or 0 if the
 * empty line, a possible delimiter or the end comes first (the header
 * ended without its empty line and the body started).
 */
static size_t
header_resumes(const struct parser *ps, size_t pos)
{
	const uint8_t *d = ps->d, *e;
	size_t cend, q, r;

	while (pos < ps->len) {
		e = memchr(d + pos, ps->eol, ps->len - pos);
		cend = e == NULL ? ps->len : (size_t)(e - d);
		if (ps->eol == '\n' && cend > pos && d[cend - 1] == '\r')
			cend--;
		if (cend == pos || (cend - pos >= 2 && d[pos] == '-' &&
		    d[pos + 1] == '-'))
			return 0;
		if (d[pos] != ' ' && d[pos] != '\t' &&
		    is_field(d, pos, cend, &q, &r))
			return pos;
		if (e == NULL)
			break;
		pos = (size_t)(e - d) + 1;
	}
	return 0;
}

static void
header_line(struct parser *ps, struct frame *f, size_t line, size_t cend,
    size_t next)
{
	const uint8_t *d = ps->d;
	size_t q, r;
	int id;

	if (cend == line) {
		end_header(ps, f, next, ps->line_no + 1, false);
		return;
	}
	if (d[line] == ' ' || d[line] == '\t') {
		if (f->cur >= 0)
			f->hdr[f->cur].len = (size_t)(d + cend -
			    f->hdr[f->cur].p);
		return;
	}
	if (!is_field(d, line, cend, &q, &r)) {
		/*
		 * An mbox separator before the first header field of a
		 * message: the top one, or one attached as message/rfc822
		 * straight from an mbox file (also in its ">From " quoted
		 * form).  It is no field, but it is no body either: the
		 * fields follow it.
		 */
		if ((f->part == 0 ? ps->line_no == 0 :
		    line == ps->m->parts[f->part].hdr_off) &&
		    is_message_start(ps, f) && mbox_from(d + line,
		    cend - line)) {
			ps->m->parts[f->part].hdr_off = next;
			return;
		}
		/*
		 * Not a header field.  If fields come after it before the
		 * empty line, it is a broken field (a folded line that lost
		 * its leading white space, a name with spaces): RFC 5322
		 * 2.1 ends the header only at the empty line, so it is
		 * skipped, and so is what folds onto it.  Otherwise the
		 * empty line is missing and the body starts here.
		 */
		if (f->fields && (line < f->resume ||
		    (f->resume = header_resumes(ps, next)) != 0)) {
			f->cur = -1;
			return;
		}
		end_header(ps, f, line, ps->line_no, false);
		if (&ps->fr[ps->top] != f && ps->fr[ps->top].state == FS_HEADER)
			header_line(ps, &ps->fr[ps->top], line, cend, next);
		return;
	}
	f->cur = -1;
	f->fields = true;
	if ((id = hdr_lookup(d + line, q - line)) >= 0 &&
	    f->hdr[id].p == NULL) {
		f->hdr[id].p = d + r + 1;
		f->hdr[id].len = cend - (r + 1);
		f->cur = id;
	}
}

static void
parse_line(struct parser *ps, size_t line, size_t cend, size_t next)
{
	struct frame *f;
	bool close = false;
	int k;

	if (cend - line >= 2 && ps->d[line] == '-' && ps->d[line + 1] == '-' &&
	    (k = match_boundary(ps, ps->d + line + 2, cend - line - 2,
	    &close)) >= 0) {
		delimiter(ps, k, close, next);
		return;
	}
	f = &ps->fr[ps->top];
	if (f->state == FS_HEADER)
		header_line(ps, f, line, cend, next);
}

static void
parse_all(struct parser *ps)
{
	const uint8_t *d = ps->d, *q;
	size_t pos = 0, cend, next;
	int eol = '\n';

	if (ps->len > 0 && memchr(d, '\n', ps->len) == NULL &&
	    memchr(d, '\r', ps->len) != NULL)
		eol = '\r';
	ps->eol = eol;
	push_frame(ps, new_part(ps, MIME_NONE, 0));
	/* A UTF-8 byte order mark before the first field is not a field. */
	if (ps->len >= 3 && memcmp(d, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < ps->len) {
		q = memchr(d + pos, eol, ps->len - pos);
		if (q == NULL) {
			cend = next = ps->len;
		} else {
			cend = (size_t)(q - d);
			next = cend + 1;
			if (eol == '\n' && cend > pos && d[cend - 1] == '\r')
				cend--;
		}
		parse_line(ps, pos, cend, next);
		ps->prev_start = pos;
		ps->prev_eol = cend;
		ps->line_no++;
		pos = next;
	}
	ps->at_eof = true;
	while (ps->top >= 0) {
		(void)close_frame(ps, &ps->fr[ps->top], ps->len);
		ps->top--;
	}
}

struct mime_msg *
mime_parse(const void *data, size_t len)
{
	struct mime_msg *m;
	struct parser *ps;
	struct mime_addr *a;

	if (data == NULL)
		data = "";	/* no arithmetic on NULL below */
	m = xcalloc(1, sizeof(*m));
	m->data = data;
	m->len = len;
	ps = xcalloc(1, sizeof(*ps));
	ps->m = m;
	ps->d = data;
	ps->len = len;
	ps->top = -1;
	parse_all(ps);
	free(ps);

	if (m->envs[0].subject_dec != NULL)
		m->base_subject = mime_base_subject(m, m->envs[0].subject_dec);
	else
		m->base_subject = mime_strndup(m, "", 0);
	m->from = mime_strndup(m, "", 0);
	if (m->envs[0].addr[MA_FROM].n > 0) {
		a = &m->envs[0].addr[MA_FROM].v[0];
		if (*a->name != '\0' && *a->email != '\0') {
			size_t n = strlen(a->name) + strlen(a->email) + 4;

			m->from = mime_alloc(m, n);
			snprintf(m->from, n, "%s <%s>", a->name, a->email);
		} else if (*a->email != '\0')
			m->from = a->email;
		else
			m->from = a->name;
	}
	mime_select_bodies(m);
	mime_make_preview(m);
	return m;
}

void
mime_msg_free(struct mime_msg **msgp)
{
	struct mime_msg *m = *msgp;
	struct mime_arena_blk *b, *next;

	if (m == NULL)
		return;
	*msgp = NULL;
	for (b = m->arena; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(m->parts);
	free(m->envs);
	buf_clear(&m->scratch);
	buf_clear(&m->scratch2);
	buf_clear(&m->text);
	free(m);
}

const char *
mime_msg_text(const struct mime_msg *cmsg, size_t *len_r)
{
	/* Built on first use: the cache is not part of the parse result. */
	struct mime_msg *m = (struct mime_msg *)(uintptr_t)cmsg;
	const struct mime_env *env = &m->envs[0];
	size_t i, j;
	uint8_t nul = 0;

	if (!m->text_done) {
		m->text_done = true;
		if (env->subject_dec != NULL) {
			buf_append(&m->text, env->subject_dec,
			    strlen(env->subject_dec));
			buf_append(&m->text, "\n", 1);
		}
		for (i = 0; i < MA_COUNT; i++)
			for (j = 0; j < env->addr[i].n; j++) {
				const struct mime_addr *a = &env->addr[i].v[j];

				buf_append(&m->text, a->name, strlen(a->name));
				buf_append(&m->text, " ", 1);
				buf_append(&m->text, a->email,
				    strlen(a->email));
				buf_append(&m->text, "\n", 1);
			}
		/* Inline images in textBody are not text. */
		for (i = 0; i < m->nbody[MB_TEXT]; i++) {
			if (strcmp(m->parts[m->body[MB_TEXT][i]].type,
			    "text") != 0)
				continue;
			mime_part_text(m, m->body[MB_TEXT][i], &m->text);
			buf_append(&m->text, "\n", 1);
		}
		/* Attachments are found by their file names. */
		for (i = 0; i < m->nbody[MB_ATTACH]; i++) {
			const char *name = m->parts[m->body[MB_ATTACH][i]].name;

			if (name != NULL) {
				buf_append(&m->text, name, strlen(name));
				buf_append(&m->text, "\n", 1);
			}
		}
		buf_append(&m->text, &nul, 1);
		m->text.len--;
	}
	if (len_r != NULL)
		*len_r = m->text.len;
	return (const char *)m->text.data;
}
