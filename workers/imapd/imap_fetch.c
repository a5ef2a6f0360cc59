/* SPDX-License-Identifier: ISC */
/*
 * imap_fetch.c: FETCH and UID FETCH (see imap_fetch.h): parsing the items,
 * then per chunk of messages MSG_FETCH (and MSG_STORE for \Seen), then per
 * message its response, with sections streamed from MSG_BODY slices (or,
 * for a big message, from a descriptor of the store's file of it, MSG_FILE,
 * or of a copy storaged wrote into a memfd, MSG_BODY_FILE).
 */
#include "imap_fetch.h"
#include "imap_msg.h"
#include "compat.h"
#include "conn.h"
#include "imap_cmd.h"
#include "imap_date.h"
#include "imap_resp.h"
#include "imap_seqset.h"
#include "imap_struct.h"
#include "imap_view.h"
#include "imapd.h"
#include "ipc.h"
#include "mailflags.h"
#include "mime.h"
#include "mime_binary.h"
#include "msgrec.h"
#include "objid.h"
#include "wire.h"
#include "xmalloc.h"

#include <sys/mman.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FETCH_CHUNK		1024		/* UIDs per MSG_FETCH */
#define FETCH_SLICE		(512u * 1024)	/* bytes per MSG_BODY */
/*
 * Sections spanning this much are read through a descriptor (MSG_FILE):
 * the store keeps messages this big as files (store/blob.h, BLOB_FILE_MIN)
 * and hands over a descriptor of the file instead of copying it.
 */
#define FETCH_FILE_AT		(256u * 1024)
#define FETCH_OUT_HIGH		(256u * 1024)	/* wait for the client */
#define FETCH_FLUSH_AT		(64u * 1024)	/* send what is written */
#define FETCH_MAX_SECTIONS	32
#define FETCH_MAX_DEPTH		32		/* section-part numbers */
#define FETCH_MAX_FIELDS	64		/* HEADER.FIELDS names */
#define FETCH_BUFFERED_MAX	(64u << 20)	/* filtered or decoded */

/* Simple items. */
#define FI_UID		0x0001
#define FI_FLAGS	0x0002
#define FI_INTERNALDATE	0x0004
#define FI_SIZE		0x0008
#define FI_ENVELOPE	0x0010
#define FI_BODY		0x0020
#define FI_BODYSTRUCT	0x0040
#define FI_MODSEQ	0x0080
#define FI_EMAILID	0x0100
#define FI_THREADID	0x0200
#define FI_SAVEDATE	0x0400
#define FI_PREVIEW	0x0800
#define FI_RECORD	(FI_ENVELOPE | FI_BODY | FI_BODYSTRUCT | FI_PREVIEW)

enum fetch_kind { FS_BODY, FS_BINARY, FS_BINARY_SIZE };
enum fetch_text {
	FT_ALL, FT_HEADER, FT_FIELDS, FT_FIELDS_NOT, FT_TEXT, FT_MIME
};

struct fetch_sect {
	enum fetch_kind	 kind;
	bool		 peek;
	uint32_t	 path[FETCH_MAX_DEPTH];
	size_t		 npath;
	enum fetch_text	 text;
	char		*fields[FETCH_MAX_FIELDS];
	size_t		 nfields;
	bool		 partial;
	uint32_t	 poff, plen;
	char		*name;		/* response name: "BODY[1.2]" */
};


struct fetch_ctx {
	struct imap_session	*s;
	bool			 uid_cmd;
	unsigned		 items;
	struct fetch_sect	 sect[FETCH_MAX_SECTIONS];
	size_t			 nsect;
	uint64_t		 changedsince;
	bool			 vanished;	/* QRESYNC's VANISHED modifier */
	bool			 partial;	/* PARTIAL modifier (RFC 9394) */
	bool			 partial_neg;	/* counted from the end */
	uint32_t		 partial_lo, partial_hi;
	struct imap_seqset	 set;		/* UIDs asked, for VANISHED */
	bool			 sets_seen;
	/* Messages asked, and how far. */
	uint32_t		*uids;
	uint32_t		 nuids, pos;
	/* The chunk being answered. */
	struct imap_msg	*msgs;
	uint32_t		 nmsgs, cur;
	/*
	 * The records and bytes of the chunk's messages that came with it,
	 * which they point into; kept from chunk to chunk (with next's), so
	 * that no chunk faults in fresh memory for them.
	 */
	struct buf		 recs, bodies, sitems;
	/*
	 * The message being answered: its record or its stored items, its
	 * section.
	 */
	struct msgrec		 rec;
	bool			 rec_open;
	struct imap_struct_stored st;
	bool			 st_ok;
	size_t			 si;		/* section */
	uint64_t		 off, end;	/* bytes to read */
	bool			 buffered;	/* into tmp, not straight out */
	bool			 any;		/* an item written already */
	struct buf		 tmp;
	/* The next chunk, asked while this one is answered. */
	uint32_t		 ahead_id;	/* its request, pending */
	bool			 ahead_ready;	/* in next[], or failed */
	bool			 ahead_ok;
	bool			 ahead_wait;	/* this chunk is done: go on */
	struct imap_msg	*next;
	uint32_t		 nnext;
	struct buf		 next_recs, next_bodies, next_sitems;
	/* The first slice of the message, read before its response. */
	struct buf		 pre;
	uint64_t		 pre_off;	/* where pre starts */
	/* The bytes in hand (pre, or the message's own), from mem_off. */
	const uint8_t		*mem;
	size_t			 mem_len;
	uint64_t		 mem_off;
	bool			 pre_done;	/* read (or nothing to read) */
	int			 pre_fd;	/* a large message's copy, or -1 */
	const char		*fail_code;	/* tagged NO instead of OK */
	const char		*ok_code;	/* code of the tagged OK */
	const char		*fail_text;
	/* NOTIFY's unsolicited FETCH: no tagged response, this instead. */
	void			(*notify_done)(struct imap_session *);
};

static void	fetch_next_chunk(struct fetch_ctx *);
static void	fetch_next_msg(struct fetch_ctx *);
static void	fetch_next_sect(struct fetch_ctx *);

/* --- Parsing --- */

static void
fetch_ctx_free(void *arg)
{
	struct fetch_ctx *x = arg;
	size_t i, j;

	if (x == NULL)
		return;
	for (i = 0; i < x->nsect; i++) {
		for (j = 0; j < x->sect[i].nfields; j++)
			free(x->sect[i].fields[j]);
		free(x->sect[i].name);
	}
	for (i = 0; i < x->nmsgs; i++)
		imap_msg_clear(&x->msgs[i]);
	free(x->msgs);
	if (x->ahead_id != 0 && imapd_store() != NULL)
		ipc_cancel(imapd_store(), x->ahead_id);
	for (i = 0; i < x->nnext; i++)
		imap_msg_clear(&x->next[i]);
	free(x->next);
	buf_clear(&x->recs);
	buf_clear(&x->next_recs);
	buf_clear(&x->bodies);
	buf_clear(&x->next_bodies);
	buf_clear(&x->sitems);
	buf_clear(&x->next_sitems);
	free(x->uids);
	imap_seqset_clear(&x->set);
	if (x->rec_open)
		msgrec_close(&x->rec);
	buf_clear(&x->tmp);
	buf_clear(&x->pre);
	if (x->pre_fd != -1)
		close(x->pre_fd);
	free(x);
}

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
	const uint8_t *p, *lt;

	buf_append(&b, item, strlen(item));
	p = (const uint8_t *)memchr(start, '[', (size_t)(end - start));
	lt = end;
	if (fs->partial)
		while (lt > p && *lt != '<')
			lt--;
	/* The section as the client wrote it. */
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
static void
fetch_apply_partial(struct fetch_ctx *x)
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

static int
fetch_parse(struct imap_parser *ps, struct fetch_ctx *x)
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

/* --- Answering --- */

static void
fetch_finish(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	void (*notify_done)(struct imap_session *) = x->notify_done;

	if (notify_done == NULL)
		imap_view_write_held_modseq(s);
	if (notify_done == NULL && x->fail_code != NULL)
		imap_session_reply(s, "NO", x->fail_code, x->fail_text);
	else if (notify_done == NULL)
		imap_session_reply(s, "OK", x->ok_code, x->uid_cmd ?
		    "UID FETCH completed" : "FETCH completed");
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	fetch_ctx_free(x);
	if (notify_done != NULL)
		notify_done(s);
	else
		imap_session_resume(s, IMAP_CMD_DONE);
}

/* A store failure in the middle of a response: the stream is broken. */
static void
fetch_abort(struct fetch_ctx *x, enum ipc_status st, const char *text)
{
	struct imap_session *s = x->s;
	void (*notify_done)(struct imap_session *) = x->notify_done;

	imap_session_log(s, "fetch failed: %s: %s", ipc_status_name(st),
	    text != NULL ? text : "");
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	fetch_ctx_free(x);
	imap_session_close(s, "store-error");
	if (notify_done != NULL)
		notify_done(s);
	else
		imap_session_resume(s, IMAP_CMD_WAIT);
}

static void
fetch_drained(struct imap_session *s)
{
	fetch_next_msg(s->cmd_ctx);
}

/* Index of the children of part p, in order: the k-th (1-based) or NONE. */
static uint32_t
fetch_child(const struct msgrec *r, uint32_t p, uint32_t k)
{
	uint32_t i, n = 0;

	for (i = p + 1; i < r->nparts; i++)
		if (r->parts[i].parent == p && ++n == k)
			return i;
	return MSGREC_NONE;
}

static bool
fetch_is(const struct msgrec_part *pt, const char *type, const char *sub)
{
	return pt->type != NULL && strcmp(pt->type, type) == 0 &&
	    (sub == NULL || (pt->subtype != NULL &&
	    strcmp(pt->subtype, sub) == 0));
}

static bool
fetch_is_msg(const struct msgrec_part *pt)
{
	return fetch_is(pt, "message", "rfc822") ||
	    fetch_is(pt, "message", "global");
}

/*
 * The part a section path names (RFC 9051 6.4.5): numbers count the
 * children of a multipart; inside a message/rfc822 they count its
 * message's parts; part 1 of a single-part message is its body.
 */
static uint32_t
fetch_resolve(const struct msgrec *r, const struct fetch_sect *fs)
{
	uint32_t node = 0, m;
	size_t i;

	/*
	 * Before the first number node is the message itself; after it, a
	 * part (part 1 of a single-part message is part 0 too, so the test
	 * is on i, not on node).
	 */
	for (i = 0; i < fs->npath; i++) {
		m = node;
		if (i > 0 && fetch_is_msg(&r->parts[node])) {
			if ((m = fetch_child(r, node, 1)) == MSGREC_NONE)
				return MSGREC_NONE;
		} else if (i > 0 && !fetch_is(&r->parts[node],
		    "multipart", NULL))
			return MSGREC_NONE;
		if (fetch_is(&r->parts[m], "multipart", NULL))
			node = fetch_child(r, m, fs->path[i]);
		else if (fs->path[i] == 1)
			node = m;
		else
			node = MSGREC_NONE;
		if (node == MSGREC_NONE)
			return MSGREC_NONE;
	}
	return node;
}

/*
 * The bytes [*off, *end) of section fs of the message; false if the
 * section does not exist (NIL).
 */
static bool
fetch_range(const struct fetch_ctx *x, const struct imap_msg *m,
    const struct fetch_sect *fs, uint64_t *off, uint64_t *end)
{
	const struct msgrec *r = &x->rec;
	const struct msgrec_part *pt;
	uint32_t node, enc;

	if (fs->npath == 0 && fs->text == FT_ALL) {
		*off = 0;
		*end = m->size;
		return true;
	}
	if ((node = fetch_resolve(r, fs)) == MSGREC_NONE)
		return false;
	pt = &r->parts[node];
	switch (fs->text) {
	case FT_ALL:
		/* BINARY of a multipart needs its boundary (see below). */
		*off = fs->kind != FS_BODY && fetch_is(pt, "multipart", NULL) ?
		    pt->hdr_off : pt->body_off;
		*end = pt->body_end;
		return true;
	case FT_MIME:
		*off = pt->hdr_off;
		*end = pt->body_off;
		return true;
	default:
		break;
	}
	/* HEADER, TEXT, HEADER.FIELDS of a message or an rfc822 part. */
	if (fs->npath > 0) {
		if (!fetch_is_msg(pt) ||
		    (enc = fetch_child(r, node, 1)) == MSGREC_NONE)
			return false;
		pt = &r->parts[enc];
	}
	if (fs->text == FT_TEXT) {
		*off = pt->body_off;
		*end = pt->body_end;
	} else {
		*off = pt->hdr_off;
		*end = pt->body_off;
	}
	return true;
}

/* Whether header field name (len bytes) is in fs's list. */
static bool
fetch_field_listed(const struct fetch_sect *fs, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < fs->nfields; i++)
		if (strlen(fs->fields[i]) == len &&
		    strncasecmp(fs->fields[i], name, len) == 0)
			return true;
	return false;
}

/*
 * HEADER.FIELDS [.NOT]: the fields of header hdr kept (or dropped), each
 * with its continuation lines, then the blank line (RFC 9051 6.4.5).
 */
static void
fetch_filter_header(const struct fetch_sect *fs, const uint8_t *hdr,
    size_t len, struct buf *out)
{
	const uint8_t *p = hdr, *e = hdr + len, *nl, *colon, *fstart;
	bool keep = false;

	while (p < e) {
		nl = memchr(p, '\n', (size_t)(e - p));
		nl = nl == NULL ? e : nl + 1;
		/* The blank line ends the header. */
		if (p[0] == '\n' || (p[0] == '\r' && p + 1 < e &&
		    p[1] == '\n'))
			break;
		if (p[0] != ' ' && p[0] != '\t') {
			colon = memchr(p, ':', (size_t)(nl - p));
			fstart = p;
			if (colon == NULL)
				keep = false;
			else {
				while (colon > fstart && (colon[-1] == ' ' ||
				    colon[-1] == '\t'))
					colon--;
				keep = fetch_field_listed(fs,
				    (const char *)fstart,
				    (size_t)(colon - fstart));
				if (fs->text == FT_FIELDS_NOT)
					keep = !keep;
			}
		}
		if (keep)
			buf_append(out, p, (size_t)(nl - p));
		p = nl;
	}
	buf_append(out, "\r\n", 2);
}

/* Writes `name {len}CRLF` or `name ~{len}CRLF` and applies partial. */
static void
fetch_item_name(struct fetch_ctx *x, const struct fetch_sect *fs)
{
	buf_printf(x->s->out, "%s%s ", x->any ? " " : "", fs->name);
	x->any = true;
}

static void
fetch_literal_head(struct fetch_ctx *x, const struct fetch_sect *fs,
    uint64_t len)
{
	struct buf *out = x->s->out;

	if (x->any)
		buf_append(out, " ", 1);
	buf_append(out, fs->name, strlen(fs->name));
	buf_append(out, fs->kind == FS_BINARY ? " ~{" : " {", fs->kind ==
	    FS_BINARY ? 3 : 2);
	buf_put_u64(out, len);
	buf_append(out, "}\r\n", 3);
	x->any = true;
}

/* The partial range <o.n> applied to [0, len). */
static void
fetch_partial(const struct fetch_sect *fs, uint64_t len, uint64_t *o,
    uint64_t *n)
{
	*o = 0;
	*n = len;
	if (!fs->partial)
		return;
	*o = fs->poff < len ? fs->poff : len;
	*n = len - *o < fs->plen ? len - *o : fs->plen;
}

static void
fetch_sect_drained(struct imap_session *s)
{
	fetch_next_sect(s->cmd_ctx);
}

/*
 * Serves [off, end) from the copy of a large message (fetch_prefetch()),
 * a slice at a time, waiting for the client when the output is high
 * (true: the section goes on from the drain callback).
 */
static bool
fetch_read_file(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct buf *dst;
	size_t want;
	ssize_t n;

	while (x->off < x->end) {
		if (!x->buffered) {
			/* In clear, straight from the copy to the socket. */
			conn_flush(s->conn);
			(void)conn_sendfile(s->conn, x->pre_fd, &x->off,
			    x->end - x->off);
			if (x->off >= x->end)
				break;
		}
		dst = x->buffered ? &x->tmp : s->out;
		want = x->end - x->off > FETCH_SLICE ? FETCH_SLICE :
		    (size_t)(x->end - x->off);
		buf_reserve(dst, want);
		n = pread(x->pre_fd, buf_tail(dst), want, (off_t)x->off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			fetch_abort(x, IPC_S_INTERNAL, "short message copy");
			return true;
		}
		buf_commit(dst, (size_t)n);
		x->off += (uint64_t)n;
		if (x->buffered)
			continue;
		conn_flush(s->conn);
		if (x->off < x->end &&
		    conn_out_pending(s->conn) > FETCH_OUT_HIGH) {
			s->drain_fn = fetch_sect_drained;
			return true;
		}
	}
	return false;
}

static void
fetch_body_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_BODY_rep *r = rep;
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		fetch_abort(x, st, text);
		return;
	}
	if (r->data.len == 0 || r->data.len > x->end - x->off) {
		fetch_abort(x, IPC_S_INTERNAL, "short message body");
		return;
	}
	buf_append(x->buffered ? &x->tmp : s->out, r->data.p, r->data.len);
	x->off += r->data.len;
	if (!x->buffered)
		conn_flush(s->conn);
	fetch_next_sect(x);
}

/* Asks the next slice of [off, end), or goes on when it is all read. */
static bool
fetch_read_more(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct imap_msg *m = &x->msgs[x->cur];
	struct ipc_MSG_BODY_req req;
	struct ipc_chan *store;

	if (x->off >= x->end)
		return false;
	if (x->pre_fd != -1)
		return fetch_read_file(x);
	if (x->mem_len > 0 && x->off >= x->mem_off &&
	    x->off < x->mem_off + x->mem_len) {
		/* From the bytes read before the response began. */
		uint64_t stop = x->mem_off + x->mem_len;

		if (stop > x->end)
			stop = x->end;
		buf_append(x->buffered ? &x->tmp : s->out, x->mem +
		    (x->off - x->mem_off), (size_t)(stop - x->off));
		x->off = stop;
		/* Gathered with the responses around it when it is small. */
		if (!x->buffered && s->out->len >= FETCH_FLUSH_AT)
			conn_flush(s->conn);
		if (x->off >= x->end)
			return false;
	}
	if ((store = imapd_store()) == NULL) {
		fetch_abort(x, IPC_S_UNAVAIL, "store gone");
		return true;
	}
	req.mailbox_id = s->view->mailbox_id;
	req.uid = m->uid;
	req.offset = x->off;
	req.length = x->end - x->off > FETCH_SLICE ? FETCH_SLICE :
	    (uint32_t)(x->end - x->off);
	conn_flush(s->conn);	/* what is written leaves while it waits */
	s->req_id = ipc_request(store, IPC_T_MSG_BODY, conn_id(s->conn), &req,
	    fetch_body_cb, s);
	return true;
}

/*
 * BINARY and BINARY.SIZE of the whole message, or of a part that holds
 * others (RFC 9051 6.4.5 asks them of leaves only; Dovecot answers these
 * too, and imaptest expects it): the entity with each leaf in base64 or
 * quoted-printable decoded (mime_binary_decode).  Whether fs (resolved to
 * node) is one; *skip is the header fetch_range read with a multipart
 * part (its boundary is needed) that the answer leaves out.
 */
static bool
fetch_binary_whole(const struct fetch_ctx *x, const struct fetch_sect *fs,
    uint32_t node, uint64_t *skip)
{
	const struct msgrec_part *pt;

	*skip = 0;
	if (fs->kind == FS_BODY)
		return false;
	if (fs->npath == 0)
		return true;
	if (node == MSGREC_NONE)
		return false;
	pt = &x->rec.parts[node];
	if (fetch_is(pt, "multipart", NULL)) {
		*skip = pt->body_off - pt->hdr_off;
		return true;
	}
	return fetch_is_msg(pt);
}

/* Writes a section that was read into tmp (filtered or decoded). */
static void
fetch_write_buffered(struct fetch_ctx *x, const struct fetch_sect *fs,
    uint32_t node)
{
	struct buf b = BUF_INIT;
	uint64_t o, n, skip = 0;
	const char *enc;

	if (fetch_binary_whole(x, fs, node, &skip))
		(void)mime_binary_decode(x->tmp.data, x->tmp.len, &b);
	else if (fs->kind == FS_BINARY) {
		enc = x->rec.parts[node].encoding;
		mime_body_decode(enc, x->tmp.data, x->tmp.len, &b);
	} else
		fetch_filter_header(fs, x->tmp.data, x->tmp.len, &b);
	if (skip > b.len)
		skip = b.len;
	if (fs->kind == FS_BINARY_SIZE) {
		fetch_item_name(x, fs);
		buf_printf(x->s->out, "%llu",
		    (unsigned long long)(b.len - skip));
	} else {
		fetch_partial(fs, b.len - skip, &o, &n);
		fetch_literal_head(x, fs, n);
		buf_append(x->s->out, b.data + skip + o, (size_t)n);
	}
	buf_clear(&b);
	buf_reset(&x->tmp);
}

/* Whether BINARY can decode the part's transfer encoding. */
static bool
fetch_known_cte(const char *enc)
{
	return enc == NULL || strcmp(enc, "7bit") == 0 ||
	    strcmp(enc, "8bit") == 0 || strcmp(enc, "binary") == 0 ||
	    strcmp(enc, "base64") == 0 ||
	    strcmp(enc, "quoted-printable") == 0;
}

/*
 * Runs the sections of the current message from x->si on; each either
 * writes at once or starts reading and comes back here from fetch_body_cb.
 */
static void
fetch_next_sect(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct imap_msg *m = &x->msgs[x->cur];
	struct fetch_sect *fs;
	uint64_t off, end, o, n;
	uint32_t node;
	bool whole;

	for (; x->si < x->nsect; x->si++) {
		fs = &x->sect[x->si];
		if (x->end > 0 || x->off > 0) {
			/* Coming back from reading. */
			if (fetch_read_more(x))
				return;
			node = fetch_resolve(&x->rec, fs);
			if (x->buffered)
				fetch_write_buffered(x, fs, node);
			x->off = x->end = 0;
			x->buffered = false;
			continue;
		}
		if (!fetch_range(x, m, fs, &off, &end) || end < off ||
		    end > m->size) {
			fetch_item_name(x, fs);
				buf_append(s->out, "NIL", 3);
			continue;
		}
		node = fetch_resolve(&x->rec, fs);
		whole = fetch_binary_whole(x, fs, node, &o);
		if (!whole && fs->kind != FS_BODY) {
			const struct msgrec_part *pt = &x->rec.parts[node ==
			    MSGREC_NONE ? 0 : node];

			if (node == MSGREC_NONE) {
				fetch_item_name(x, fs);
				buf_append(s->out, "NIL", 3);
				continue;
			}
			if (!fetch_known_cte(pt->encoding)) {
				x->fail_code = "UNKNOWN-CTE";
				x->fail_text = "Cannot decode the part's "
				    "Content-Transfer-Encoding";
				fetch_item_name(x, fs);
				buf_append(s->out, "NIL", 3);
				continue;
			}
			if (fs->kind == FS_BINARY_SIZE) {
				fetch_item_name(x, fs);
				buf_printf(s->out, "%llu",
				    (unsigned long long)pt->decoded_size);
				continue;
			}
		}
		/* Whole ones are converted by fetch_write_buffered. */
		if (whole || fs->kind == FS_BINARY || fs->text == FT_FIELDS ||
		    fs->text == FT_FIELDS_NOT) {
			if (end - off > FETCH_BUFFERED_MAX) {
				fetch_item_name(x, fs);
				buf_append(s->out, "NIL", 3);
				continue;
			}
			x->buffered = true;
			x->off = off;
			x->end = end;
		} else {
			fetch_partial(fs, end - off, &o, &n);
			fetch_literal_head(x, fs, n);
			x->off = off + o;
			x->end = off + o + n;
			if (n == 0) {
				x->off = x->end = 0;
				continue;
			}
		}
		if (x->off == x->end) {
			/* An empty buffered section. */
			if (x->buffered)
				fetch_write_buffered(x, fs, node);
			x->off = x->end = 0;
			x->buffered = false;
			continue;
		}
		if (fetch_read_more(x))
			return;
		/* All of it was read before the response began. */
		if (x->buffered)
			fetch_write_buffered(x, fs, node);
		x->off = x->end = 0;
		x->buffered = false;
	}
	buf_append(s->out, ")\r\n", 3);
	x->st_ok = false;
	if (x->rec_open) {
		msgrec_close(&x->rec);
		x->rec_open = false;
	}
	buf_reset(&x->pre);
	x->mem = NULL;
	x->mem_len = 0;
	if (x->pre_fd != -1) {
		close(x->pre_fd);
		x->pre_fd = -1;
	}
	x->cur++;
	x->si = 0;
	/*
	 * Small responses are gathered into one send(2); they leave when
	 * enough are written, and before each wait for storaged.
	 */
	if (conn_out(s->conn)->len >= FETCH_FLUSH_AT)
		conn_flush(s->conn);
	if (conn_out_pending(s->conn) > FETCH_OUT_HIGH) {
		s->drain_fn = fetch_drained;
		return;
	}
	fetch_next_msg(x);
}

/* The items that need no message bytes. */
static void
fetch_write_simple(struct fetch_ctx *x, struct imap_msg *m)
{
	struct buf *out = x->s->out;
	char id[OBJID_MAX];
	const char *sep = "";

#define FETCH_SEP()	do { buf_append(out, sep, strlen(sep)); sep = " "; } \
	while (0)
	/*
	 * UID when asked, and with CONDSTORE on whenever \Seen was set
	 * (RFC 7162 3.2.4).
	 */
	if ((x->items & FI_UID) || x->uid_cmd || (m->show_flags &&
	    (x->s->enabled & (IMAP_ENABLED_CONDSTORE |
	    IMAP_ENABLED_QRESYNC)))) {
		FETCH_SEP();
		buf_append(out, "UID ", 4);
		buf_put_u64(out, m->uid);
	}
	if ((x->items & FI_FLAGS) || m->show_flags) {
		FETCH_SEP();
		buf_append(out, "FLAGS ", 6);
		imap_view_write_flags(out, m->flags,
		    imap_view_is_recent(x->s, m->uid), m->keywords);
	}
	if (x->items & FI_INTERNALDATE) {
		FETCH_SEP();
		buf_append(out, "INTERNALDATE ", 13);
		(void)imap_date_write_datetime(out, (int64_t)m->received, 0);
	}
	if (x->items & FI_SIZE) {
		FETCH_SEP();
		buf_append(out, "RFC822.SIZE ", 12);
		buf_put_u64(out, m->size);
	}
	if ((x->items & FI_MODSEQ) || ((x->s->enabled &
	    (IMAP_ENABLED_CONDSTORE | IMAP_ENABLED_QRESYNC)) &&
	    m->show_flags)) {
		FETCH_SEP();
		buf_append(out, "MODSEQ (", 8);
		buf_put_u64(out, m->modseq);
		buf_append(out, ")", 1);
	}
	if (x->items & FI_EMAILID) {
		FETCH_SEP();
		objid_format(id, OBJID_EMAIL, m->email);
		buf_printf(out, "EMAILID (%s)", id);
	}
	if (x->items & FI_THREADID) {
		FETCH_SEP();
		objid_format(id, OBJID_THREAD, m->thread);
		buf_printf(out, "THREADID (%s)", id);
	}
	if (x->items & FI_SAVEDATE) {
		FETCH_SEP();
		buf_append(out, "SAVEDATE ", 9);
		(void)imap_date_write_datetime(out, (int64_t)m->saved, 0);
	}
	if (x->st_ok) {
		if (x->items & FI_ENVELOPE) {
			FETCH_SEP();
			buf_append(out, "ENVELOPE ", 9);
			buf_append(out, x->st.envelope, x->st.envelope_len);
		}
		if (x->items & FI_BODYSTRUCT) {
			FETCH_SEP();
			buf_append(out, "BODYSTRUCTURE ", 14);
			buf_append(out, x->st.body, x->st.body_len);
		}
	} else if (x->rec_open) {
		if (x->items & FI_ENVELOPE) {
			FETCH_SEP();
			buf_append(out, "ENVELOPE ", 9);
			imap_struct_envelope(out, &x->rec, 0);
		}
		if (x->items & FI_BODY) {
			FETCH_SEP();
			buf_append(out, "BODY ", 5);
			imap_struct_bodystructure(out, &x->rec, 0, false);
		}
		if (x->items & FI_BODYSTRUCT) {
			FETCH_SEP();
			buf_append(out, "BODYSTRUCTURE ", 14);
			imap_struct_bodystructure(out, &x->rec, 0, true);
		}
		if (x->items & FI_PREVIEW) {
			FETCH_SEP();
			buf_append(out, "PREVIEW ", 8);
			imap_resp_nstring(out, x->rec.s.preview,
			    strlen(x->rec.s.preview),
			    (x->s->enabled & (IMAP_ENABLED_UTF8 |
			    IMAP_ENABLED_REV2)) ? IMAP_RESP_UTF8 : 0);
		}
	}
	x->any = sep[0] != '\0';
#undef FETCH_SEP
}

/*
 * The span of message m that its sections read, from the first byte any
 * of them reads to the last, as fetch_next_sect() will ask them; false if
 * they need no bytes.
 */
static bool
fetch_read_span(struct fetch_ctx *x, struct imap_msg *m, uint64_t *roff,
    uint64_t *rend)
{
	const struct msgrec_part *pt;
	struct fetch_sect *fs;
	uint64_t off, end, o, n;
	uint32_t node;
	size_t i;
	bool any = false, whole;

#define SPAN(a, b) do {							\
	if (!any || (a) < *roff)					\
		*roff = (a);						\
	if (!any || (b) > *rend)					\
		*rend = (b);						\
	any = true;							\
} while (0)
	for (i = 0; i < x->nsect; i++) {
		fs = &x->sect[i];
		if (!fetch_range(x, m, fs, &off, &end) || end < off ||
		    end > m->size)
			continue;
		node = fetch_resolve(&x->rec, fs);
		whole = fetch_binary_whole(x, fs, node, &o);
		if (!whole && fs->kind != FS_BODY) {
			pt = &x->rec.parts[node == MSGREC_NONE ? 0 : node];
			if (node == MSGREC_NONE ||
			    !fetch_known_cte(pt->encoding) ||
			    fs->kind == FS_BINARY_SIZE)
				continue;
		}
		if (whole || fs->kind == FS_BINARY || fs->text == FT_FIELDS ||
		    fs->text == FT_FIELDS_NOT) {
			if (end - off > FETCH_BUFFERED_MAX || end == off)
				continue;
			SPAN(off, end);
			continue;
		}
		fetch_partial(fs, end - off, &o, &n);
		if (n == 0)
			continue;
		SPAN(off + o, off + o + n);
	}
#undef SPAN
	return any;
}

static void
fetch_pre_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_BODY_rep *r = rep;
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (st == IPC_S_NOTFOUND) {
		/*
		 * Expunged by another session since this one saw it: nothing
		 * of its response is written yet, so it is left out and the
		 * tagged OK says so (RFC 9051 7.1, EXPUNGEISSUED).
		 */
		x->ok_code = "EXPUNGEISSUED";
		x->st_ok = false;
		if (x->rec_open) {
			msgrec_close(&x->rec);
			x->rec_open = false;
		}
		x->cur++;
		fetch_next_msg(x);
		return;
	}
	if (st != IPC_S_OK) {
		fetch_abort(x, st, text);
		return;
	}
	buf_reset(&x->pre);
	buf_append(&x->pre, r->data.p, r->data.len);
	x->mem = x->pre.data;
	x->mem_len = x->pre.len;
	x->mem_off = x->pre_off;
	x->pre_done = true;
	fetch_next_msg(x);
}

/* The message is in hand as x->pre_fd: its response can begin. */
static void
fetch_pre_file_done(struct ipc_chan *c, struct fetch_ctx *x,
    enum ipc_status st, const char *text, uint64_t size)
{
	if (st == IPC_S_OK && size != x->msgs[x->cur].size) {
		st = IPC_S_INTERNAL;
		text = "message size changed";
	}
	if (st != IPC_S_OK) {
		if (x->pre_fd != -1)
			close(x->pre_fd);
		x->pre_fd = -1;
		/* Expunged or failed: as for a small message. */
		fetch_pre_cb(c, st, text, NULL, x->s);
		return;
	}
	buf_reset(&x->pre);
	x->pre_done = true;
	fetch_next_msg(x);
}

static void
fetch_pre_copy_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_BODY_FILE_rep *r = rep;
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;
	int file_fd;

	s->req_id = 0;
	if (st == IPC_S_OK && (file_fd = ipc_chan_take_fd(c)) != -1) {
		/* The store's own file after all: served from there. */
		close(x->pre_fd);
		x->pre_fd = file_fd;
	}
	fetch_pre_file_done(c, x, st, text, st == IPC_S_OK ? r->size : 0);
}

/*
 * A big message kept in the store's database (not as a file) is copied
 * whole by storaged into a memfd of this session's before its response
 * starts: it is then served from there at the client's pace, and stays
 * whole even if another session expunges it meanwhile, which a response
 * of promised length could not survive otherwise.
 */
static void
fetch_pre_copy(struct ipc_chan *c, struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_BODY_FILE_req req;
	int fd, sent;

	if ((fd = memfd_create("fetch", MFD_CLOEXEC | MFD_ALLOW_SEALING)) ==
	    -1 || (sent = dup(fd)) == -1) {
		imap_session_log(s, "memfd: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		fetch_pre_file_done(c, x, IPC_S_INTERNAL, "no memory for "
		    "the message", 0);
		return;
	}
	x->pre_fd = fd;
	req.mailbox_id = s->view->mailbox_id;
	req.uid = x->msgs[x->cur].uid;
	s->req_id = ipc_request_fd(c, IPC_T_MSG_BODY_FILE, conn_id(s->conn),
	    &req, sent, fetch_pre_copy_cb, s);
}

static void
fetch_pre_file_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_FILE_rep *r = rep;
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;

	s->req_id = 0;
	if (st == IPC_S_OK && (x->pre_fd = ipc_chan_take_fd(c)) == -1) {
		fetch_pre_copy(c, x);
		return;
	}
	fetch_pre_file_done(c, x, st, text, st == IPC_S_OK ? r->size : 0);
}

/*
 * A message larger than a slice is served from a descriptor taken before
 * its response starts (true: on its way): the store's own file of it
 * (MSG_FILE), or a copy of it (fetch_pre_copy).  Either stays whole
 * whatever another session expunges meanwhile.
 */
static bool
fetch_prefetch_file(struct fetch_ctx *x, struct imap_msg *m)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_FILE_req req;
	struct ipc_chan *store;

	if ((store = imapd_store()) == NULL)
		return false;
	x->pre_fd = -1;
	conn_flush(s->conn);
	req.mailbox_id = s->view->mailbox_id;
	req.uid = m->uid;
	s->req_id = ipc_request(store, IPC_T_MSG_FILE, conn_id(s->conn),
	    &req, fetch_pre_file_cb, s);
	return true;
}

/*
 * Reads the first slice of the message's sections before anything of its
 * response is written (true: the read is on its way).  A message of up to
 * one slice is thus all in hand before its response starts, and one
 * expunged meanwhile can be left out cleanly.
 */
static bool
fetch_prefetch(struct fetch_ctx *x, struct imap_msg *m)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_BODY_req req;
	struct ipc_chan *store;
	uint64_t off = 0, end = 0;

	buf_reset(&x->pre);
	x->mem = NULL;
	x->mem_len = 0;
	if (m->has_body) {
		/* It came whole with the chunk. */
		x->mem = m->body;
		x->mem_len = m->bodylen;
		x->mem_off = 0;
		return false;
	}
	if (!fetch_read_span(x, m, &off, &end) ||
	    (store = imapd_store()) == NULL)
		return false;
	/*
	 * The sections span a big message's file: read through its
	 * descriptor (headers or a small part of a large message are read
	 * as a slice).
	 */
	if (end - off >= FETCH_FILE_AT && fetch_prefetch_file(x, m))
		return true;
	/*
	 * A small message is read whole.  Either way every section is then
	 * served from what was read before its response began, and nothing
	 * can go missing halfway through it when another session expunges
	 * the message.
	 */
	if (m->size < FETCH_FILE_AT) {
		off = 0;
		end = m->size;
	}
	x->pre_off = off;
	conn_flush(s->conn);
	req.mailbox_id = s->view->mailbox_id;
	req.uid = m->uid;
	req.offset = off;
	req.length = end - off > FETCH_SLICE ? FETCH_SLICE :
	    (uint32_t)(end - off);
	s->req_id = ipc_request(store, IPC_T_MSG_BODY, conn_id(s->conn), &req,
	    fetch_pre_cb, s);
	return true;
}

static void
fetch_next_msg(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct imap_msg *m;
	const char *why;

	while (x->cur < x->nmsgs) {
		m = &x->msgs[x->cur];
		if (x->changedsince > 0 && m->modseq <= x->changedsince) {
			x->cur++;
			continue;
		}
		if (m->items != NULL && !x->st_ok) {
			if (imap_struct_stored_read(m->items, m->itemslen,
			    &x->st) == -1) {
				imap_session_log(s, "bad stored items uid=%u",
				    m->uid);
				x->fail_code = "SERVERBUG";
				x->fail_text = "A message's record is damaged";
				x->cur++;
				continue;
			}
			x->st_ok = true;
		} else if (m->rec != NULL && !x->rec_open) {
			if (msgrec_open_stored(m->rec, m->reclen, m->size,
			    &x->rec, &why) == -1) {
				imap_session_log(s, "bad record uid=%u: %s",
				    m->uid, why);
				x->fail_code = "SERVERBUG";
				x->fail_text = "A message's record is damaged";
				x->cur++;
				continue;
			}
			x->rec_open = true;
		}
		if (!x->pre_done && fetch_prefetch(x, m))
			return;
		x->pre_done = false;
		/*
		 * A keyword another session set since this one last heard
		 * of the mailbox: FLAGS lists it before a FETCH shows it
		 * (RFC 9051 7.3.5; imaptest checks it).
		 */
		if (((x->items & FI_FLAGS) || m->show_flags) &&
		    m->keywords != NULL && m->keywords[0] != '\0' &&
		    imap_view_add_keywords(s->view, m->keywords))
			imap_view_write_flag_lists(s, s->view);
		buf_append(s->out, "* ", 2);
		buf_put_u64(s->out, m->msn);
		buf_append(s->out, " FETCH (", 8);
		fetch_write_simple(x, m);
		x->si = 0;
		x->off = x->end = 0;
		fetch_next_sect(x);
		return;
	}
	/* The chunk is done. */
	conn_flush(s->conn);
	for (x->cur = 0; x->cur < x->nmsgs; x->cur++)
		imap_msg_clear(&x->msgs[x->cur]);
	x->nmsgs = x->cur = 0;
	fetch_next_chunk(x);
}

static void
fetch_seen_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_STORE_rep *r = rep;
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;
	struct wire_iter kit;
	const char *kw;
	uint32_t i, j, uid;

	(void)c;
	(void)text;
	s->req_id = 0;
	if (st == IPC_S_OK) {
		imap_view_own_hms(s->view, r->highestmodseq);
		wire_strlist_iter(&r->keywords, &kit);
		for (i = 0; i < r->changed.len / 4; i++) {
			uid = imap_view_vec_get(r->changed.p, i);
			kw = wire_strlist_next(&kit);
			for (j = 0; j < x->nmsgs; j++)
				if (x->msgs[j].uid == uid && i < r->flags.count) {
					x->msgs[j].flags = wire_u64list_get(
					    &r->flags, i);
					x->msgs[j].show_flags = true;
					if (i < r->modseqs.count) {
						x->msgs[j].modseq =
						    wire_u64list_get(&r->modseqs,
						    i);
						imap_view_own_change(s->view,
						    uid, x->msgs[j].modseq);
					}
					(void)kw;
				}
		}
	}
	/* Not being able to set \Seen does not stop the FETCH. */
	fetch_next_msg(x);
}

/* Sets \Seen on the chunk's unseen messages before answering. */
static void
fetch_set_seen(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_STORE_req req;
	struct ipc_chan *store;
	struct buf vec = BUF_INIT;
	uint32_t i;

	for (i = 0; i < x->nmsgs; i++)
		if ((x->msgs[i].flags & MAIL_F_SEEN) == 0)
			imap_view_vec_put(&vec, x->msgs[i].uid);
	if (vec.len == 0 || (store = imapd_store()) == NULL) {
		buf_clear(&vec);
		fetch_next_msg(x);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.mailbox_id = s->view->mailbox_id;
	req.uids.p = vec.data;
	req.uids.len = (uint32_t)vec.len;
	req.mode = 1;
	req.flags = MAIL_F_SEEN;
	req.keywords = "";
	s->req_id = ipc_request(store, IPC_T_MSG_STORE, conn_id(s->conn), &req,
	    fetch_seen_cb, s);
	buf_clear(&vec);
}

/*
 * Takes a MSG_FETCH reply into *msgs (*nmsgs of them), moving x->pos on;
 * false (with x->fail_code and fail_text set) if it failed.
 */
static bool
fetch_take(struct fetch_ctx *x, enum ipc_status st, const char *text,
    const struct ipc_MSG_FETCH_rep *r, struct imap_msg **msgs,
    uint32_t *nmsgs, struct buf *recs, struct buf *bodies, struct buf *items)
{
	struct imap_session *s = x->s;
	struct imap_msg *v;
	struct wire_iter kit;
	uint64_t roff = 0, boff = 0, ioff = 0;
	uint32_t i, n, k = 0;
	int ok;

	*nmsgs = 0;
	if (st != IPC_S_OK) {
		x->fail_code = st == IPC_S_UNAVAIL ? "UNAVAILABLE" :
		    "SERVERBUG";
		x->fail_text = text != NULL ? text : "Cannot read messages";
		return false;
	}
	n = r->found.len / 4;
	if (r->done == 0 || r->done > x->nuids - x->pos ||
	    n > r->done) {
		x->fail_code = "SERVERBUG";
		x->fail_text = "Malformed reply from the store";
		return false;
	}
	x->pos += r->done;
	/* Asked and gone: expunged by another session meanwhile. */
	if (n < r->done)
		x->ok_code = "EXPUNGEISSUED";
	v = *msgs = xreallocarray(*msgs, n > 0 ? n : 1, sizeof(**msgs));
	/* Its messages are done with (fetch_next_msg): reused. */
	buf_reset(recs);
	buf_append(recs, r->records.p, r->records.len);
	buf_reset(bodies);
	buf_append(bodies, r->bodies.p, r->bodies.len);
	buf_reset(items);
	buf_append(items, r->imap.p, r->imap.len);
	wire_strlist_iter(&r->keywords, &kit);
	for (i = 0; i < n; i++) {
		ok = imap_msg_take(&v[k], s->view, r, i,
		    wire_strlist_next(&kit), &roff, recs->data);
		if (ok >= 0 && (imap_msg_take_body(ok == 1 ? &v[k] : NULL, r, i,
		    &boff, bodies->data) == -1 || imap_msg_take_items(ok == 1 ?
		    &v[k] : NULL, r, i, &ioff, items->data) == -1)) {
			if (ok == 1)
				imap_msg_clear(&v[k]);
			ok = -1;
		}
		if (ok == 1)
			k++;
		else if (ok == -1) {
			for (i = 0; i < k; i++)
				imap_msg_clear(&v[i]);
			x->fail_code = "SERVERBUG";
			x->fail_text = "Malformed reply from the store";
			return false;
		}
		/* 0: expunged from the view meanwhile */
	}
	*nmsgs = k;
	return true;
}

static void	fetch_ahead(struct fetch_ctx *);

/* Answers the chunk in x->msgs, the next one read meanwhile. */
static void
fetch_chunk_begin(struct fetch_ctx *x)
{
	fetch_ahead(x);
	x->cur = 0;
	if (x->sets_seen && !x->s->view->readonly)
		fetch_set_seen(x);
	else
		fetch_next_msg(x);
}

static void
fetch_meta_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (!fetch_take(x, st, text, rep, &x->msgs, &x->nmsgs,
	    &x->recs, &x->bodies, &x->sitems)) {
		fetch_finish(x);
		return;
	}
	fetch_chunk_begin(x);
}

static void
fetch_ahead_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	struct fetch_ctx *x = arg;

	(void)c;
	x->ahead_id = 0;
	x->ahead_ok = fetch_take(x, st, text, rep, &x->next, &x->nnext,
	    &x->next_recs, &x->next_bodies, &x->next_sitems);
	x->ahead_ready = true;
	if (x->ahead_wait) {
		x->ahead_wait = false;
		fetch_next_chunk(x);
	}
}

/* Whether a section needs the record (to find a part or the header). */
static bool
fetch_sects_need_record(const struct fetch_ctx *x)
{
	size_t i;

	for (i = 0; i < x->nsect; i++)
		if (x->sect[i].npath > 0 || x->sect[i].text != FT_ALL)
			return true;
	return false;
}

static bool
fetch_needs_record(const struct fetch_ctx *x)
{
	return (x->items & FI_RECORD) || fetch_sects_need_record(x);
}

/*
 * Whether the record's only use is ENVELOPE and BODYSTRUCTURE, which
 * storaged sends as it stored them (imap_struct.h), and the record only
 * for a message stored without them.
 */
static bool
fetch_stored_items(const struct fetch_ctx *x)
{
	return (x->items & (FI_ENVELOPE | FI_BODYSTRUCT)) != 0 &&
	    (x->items & FI_RECORD & ~(FI_ENVELOPE | FI_BODYSTRUCT)) == 0 &&
	    !fetch_sects_need_record(x);
}

/*
 * Whether the sections read most of a message (a whole part or its text):
 * then messages of up to a slice come whole with the chunk's data.
 */
static bool
fetch_wants_bodies(const struct fetch_ctx *x)
{
	size_t i;

	for (i = 0; i < x->nsect; i++)
		if (x->sect[i].kind == FS_BINARY ||
		    x->sect[i].text == FT_ALL || x->sect[i].text == FT_TEXT)
			return true;
	return false;
}

/* Asks the chunk from x->pos; returns the request id (0: store gone). */
static uint32_t
fetch_chunk_request(struct fetch_ctx *x, ipc_reply_cb *cb, void *arg)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_FETCH_req req;
	struct ipc_chan *store;
	struct buf vec = BUF_INIT;
	uint32_t i, id;

	if ((store = imapd_store()) == NULL)
		return 0;
	for (i = x->pos; i < x->nuids && i - x->pos < FETCH_CHUNK; i++)
		imap_view_vec_put(&vec, x->uids[i]);
	memset(&req, 0, sizeof(req));
	req.mailbox_id = s->view->mailbox_id;
	req.uids.p = vec.data;
	req.uids.len = (uint32_t)vec.len;
	req.with_record = fetch_needs_record(x);
	req.imap_items = fetch_stored_items(x);
	req.body_max = fetch_wants_bodies(x) ? FETCH_FILE_AT - 1 : 0;
	id = ipc_request(store, IPC_T_MSG_FETCH, conn_id(s->conn), &req, cb,
	    arg);
	buf_clear(&vec);
	return id;
}

/*
 * Asks the next chunk while this one is answered, so that storaged reads
 * it while imapd writes (the view does not change during the command).
 */
static void
fetch_ahead(struct fetch_ctx *x)
{
	if (x->pos >= x->nuids || x->ahead_id != 0 || x->ahead_ready ||
	    imapd_store() == NULL)
		return;
	x->ahead_id = fetch_chunk_request(x, fetch_ahead_cb, x);
}

static void
fetch_next_chunk(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct imap_msg *t;
	struct buf tb;

	if (x->ahead_ready) {
		/* The chunk read ahead: its array becomes the current one. */
		x->ahead_ready = false;
		t = x->msgs;
		x->msgs = x->next;
		x->nmsgs = x->nnext;
		x->next = t;
		x->nnext = 0;
		tb = x->bodies;
		x->bodies = x->next_bodies;
		x->next_bodies = tb;
		tb = x->recs;
		x->recs = x->next_recs;
		x->next_recs = tb;
		tb = x->sitems;
		x->sitems = x->next_sitems;
		x->next_sitems = tb;
		if (!x->ahead_ok) {
			fetch_finish(x);
			return;
		}
		fetch_chunk_begin(x);
		return;
	}
	if (x->ahead_id != 0) {
		x->ahead_wait = true;	/* fetch_ahead_cb goes on */
		return;
	}
	if (x->pos >= x->nuids) {
		fetch_finish(x);
		return;
	}
	if (imapd_store() == NULL) {
		x->fail_code = "UNAVAILABLE";
		x->fail_text = "Store unavailable, try again";
		fetch_finish(x);
		return;
	}
	s->req_id = fetch_chunk_request(x, fetch_meta_cb, s);
}

static void
fetch_vanished_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MBOX_SYNC_rep *r = rep;
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		x->fail_code = "SERVERBUG";
		x->fail_text = text != NULL ? text : "Cannot read expunges";
		fetch_finish(x);
		return;
	}
	imap_qresync_vanished(s, r->vanished.p, r->vanished.len, &x->set);
	fetch_next_chunk(x);
}

/* Expunged UIDs of the set since CHANGEDSINCE, before the FETCHes. */
static void
fetch_vanished(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct ipc_MBOX_SYNC_req req;
	struct ipc_chan *store;

	if ((store = imapd_store()) == NULL) {
		x->fail_code = "UNAVAILABLE";
		x->fail_text = "Store unavailable, try again";
		fetch_finish(x);
		return;
	}
	req.mailbox_id = s->view->mailbox_id;
	req.since = x->changedsince;
	s->req_id = ipc_request(store, IPC_T_MBOX_SYNC, conn_id(s->conn), &req,
	    fetch_vanished_cb, s);
}

/*
 * The UIDs a sequence set names in the view, ascending: sequence numbers
 * (uid false) or UIDs.  Returns how many, in *uids_r (allocated).
 */
uint32_t
imap_fetch_targets(const struct imap_view *v, const struct imap_seqset *set,
    bool uid, uint32_t **uids_r)
{
	struct imap_seqset_iter it;
	uint32_t *u, n = 0, k, i;

	u = xreallocarray(NULL, v->n > 0 ? v->n : 1, sizeof(*u));
	if (uid) {
		for (i = 0; i < v->n; i++)
			if (imap_seqset_contains(set, v->uids[i], 0))
				u[n++] = v->uids[i];
	} else {
		imap_seqset_iter_init(&it);
		while (imap_seqset_iter_next(set, &it, &k) && k <= v->n)
			u[n++] = v->uids[k - 1];
	}
	*uids_r = u;
	return n;
}

enum imap_cmd_result
imap_fetch(struct imap_session *s, struct imap_parser *ps, bool uid)
{
	struct imap_seqset set;
	struct fetch_ctx *x;
	const char *why;

	imap_seqset_init(&set);
	x = xcalloc(1, sizeof(*x));
	x->s = s;
	x->pre_fd = -1;
	/* Copies of messages, as the store gives them to anyone with access. */
	x->bodies.nowipe = x->next_bodies.nowipe = true;
	x->recs.nowipe = x->next_recs.nowipe = true;
	x->sitems.nowipe = x->next_sitems.nowipe = true;
	x->uid_cmd = uid;
	if (imap_parse_sp(ps) == -1 || imap_seqset_parse(ps, &set) == -1 ||
	    imap_parse_sp(ps) == -1 || fetch_parse(ps, x) == -1) {
		imap_seqset_clear(&set);
		fetch_ctx_free(x);
		return imap_cmd_bad(s, ps);
	}
	if (imap_view_resolve_set(s->view, &set, uid, &why) == -1) {
		fetch_ctx_free(x);
		imap_session_reply(s, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	if (x->items & FI_MODSEQ)
		imap_view_condstore_enable(s);
	x->nuids = imap_fetch_targets(s->view, &set, uid, &x->uids);
	x->set = set;		/* kept for VANISHED */
	if (x->partial) {
		/* RFC 9394 3.3: an extension of UID FETCH. */
		if (!uid) {
			fetch_ctx_free(x);
			imap_session_reply(s, "BAD", NULL, "PARTIAL needs UID "
			    "FETCH");
			return IMAP_CMD_DONE;
		}
		fetch_apply_partial(x);
	}
	s->cmd_ctx = x;
	s->cmd_ctx_free = fetch_ctx_free;
	if (x->vanished) {
		/* RFC 7162 3.2.6: UID FETCH only, with CHANGEDSINCE. */
		if (!uid || x->changedsince == 0 ||
		    (s->enabled & IMAP_ENABLED_QRESYNC) == 0) {
			s->cmd_ctx = NULL;
			s->cmd_ctx_free = NULL;
			fetch_ctx_free(x);
			imap_session_reply(s, "BAD", NULL, "VANISHED needs UID "
			    "FETCH, CHANGEDSINCE and QRESYNC enabled");
			return IMAP_CMD_DONE;
		}
		fetch_vanished(x);
		return IMAP_CMD_WAIT;
	}
	fetch_next_chunk(x);
	return IMAP_CMD_WAIT;
}

/* --- NOTIFY (RFC 5465 5.2), imap_cmd_notify.c --- */

/* Parses att ("(" fetch-att ... ")") into a new context, or NULL. */
static struct fetch_ctx *
fetch_parse_text(const char *att, const char **why)
{
	struct imap_parser ps;
	struct fetch_ctx *x;
	size_t len = strlen(att);
	uint8_t *buf;

	buf = xmalloc(len + 2);
	memcpy(buf, att, len);
	memcpy(buf + len, "\r\n", 2);
	imap_parser_init(&ps, buf, len + 2);
	x = xcalloc(1, sizeof(*x));
	x->pre_fd = -1;
	x->bodies.nowipe = x->next_bodies.nowipe = true;
	x->recs.nowipe = x->next_recs.nowipe = true;
	x->sitems.nowipe = x->next_sitems.nowipe = true;
	x->uid_cmd = true;
	if (fetch_parse(&ps, x) == -1) {
		*why = ps.error != NULL ? ps.error : "Invalid fetch attributes";
		fetch_ctx_free(x);
		x = NULL;
	}
	free(buf);
	return x;
}

int
imap_fetch_check(const char *att, const char **why)
{
	struct fetch_ctx *x;

	if ((x = fetch_parse_text(att, why)) == NULL)
		return -1;
	fetch_ctx_free(x);
	return 0;
}

void
imap_fetch_notify(struct imap_session *s, const uint32_t *uids, uint32_t n,
    const char *att, void (*done)(struct imap_session *))
{
	struct fetch_ctx *x;
	const char *why;

	if (n == 0 || s->view == NULL ||
	    (x = fetch_parse_text(att, &why)) == NULL) {
		done(s);
		return;
	}
	x->s = s;
	x->notify_done = done;
	if (x->items & FI_MODSEQ)
		imap_view_condstore_enable(s);
	x->uids = xreallocarray(NULL, n, sizeof(*x->uids));
	memcpy(x->uids, uids, n * sizeof(*uids));
	x->nuids = n;
	s->cmd_ctx = x;
	s->cmd_ctx_free = fetch_ctx_free;
	fetch_next_chunk(x);
}
