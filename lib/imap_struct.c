/* SPDX-License-Identifier: ISC */
/*
 * imap_struct.c: FETCH ENVELOPE, BODY and BODYSTRUCTURE (RFC 9051 7.5.2;
 * the envelope, address, body, body-type-*, body-fld-* and body-ext-*
 * productions of section 9) from the stored record of a message.
 *
 * What goes out as found in the header and what is rebuilt:
 *
 * - Date, Subject, In-Reply-To and Message-ID are the raw (unfolded)
 *   values the record keeps, sent as the header has them; 8-bit bytes make
 *   the string a literal, as IMAP4rev1 requires and as Dovecot does.
 * - Address display names, group names, Content-Description and parameter
 *   values are kept decoded (UTF-8) in the record.  Plain ASCII goes out
 *   as is, which is what the header held unless it used encoded words for
 *   ASCII text.  Anything else is put back into header form, because
 *   IMAP4rev1 clients decode these fields themselves and expect 7-bit
 *   text: names and descriptions as RFC 2047 "B" encoded words in UTF-8,
 *   parameters as RFC 2231 extended values (name*, utf-8''%XX).  For
 *   parameters this is what Dovecot sends when the header used RFC 2231
 *   (it merges continuations and keeps "charset'lang'value" as is), so
 *   clients of Dovecot already handle it; encoded words inside a quoted
 *   parameter, which Dovecot passes through when a sender wrote them, are
 *   not standard (RFC 2047 5) and not produced here.
 *   The original charset of such text is not in the record, so the bytes
 *   differ from the header's when it used another charset; the decoded
 *   text is the same.
 * - type, subtype, encoding and disposition are lower case in the record
 *   and go out so (the RFC compares them without regard to case).
 * - Defaults of RFC 2045: a missing or malformed
 *   Content-Transfer-Encoding is "7bit" (6.1), and a text part without a
 *   charset gets ("charset" "us-ascii") (5.2), as Dovecot reports them.
 * - Sender and Reply-To default to From when absent or empty (RFC 9051
 *   7.5.2).  A mailbox without a domain gets the host "MISSING_DOMAIN" and
 *   a display name without an address the mailbox "MISSING_MAILBOX" (as
 *   Dovecot does): a NIL host would read as group syntax.  The record
 *   keeps "To: martin" as the address "martin", so it goes out as the
 *   local part it was, and "Name <>" as a name.  (Records written before
 *   lib/mime kept that lone word as a name show it as one.)
 * - Content-Language always goes out as a list, as Dovecot sends it.
 * - The source route (addr-adl) of an obs-route address ("<@a,@b:user@host>")
 *   is sent as the record keeps it, as Dovecot does; NIL otherwise.
 */
#include "imap_struct.h"
#include "imap_resp.h"

#include "wire.h"

#include <string.h>

/* Parts are nested at most MIME_MAX_DEPTH deep; this bounds recursion. */
#define STRUCT_MAX_DEPTH	64

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
put_str(struct buf *out, const char *s)
{
	imap_resp_string(out, s, strlen(s), 0);
}

static void
put_nstr(struct buf *out, const char *s)
{
	imap_resp_nstring(out, s, s == NULL ? 0 : strlen(s), 0);
}

/* Whether s can go out as it is: 7-bit and nothing that reads as 2047. */
static bool
is_plain(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p >= 0x80 || (p[0] == '=' && p[1] == '?'))
			return false;
	return true;
}

static void
b64_append(struct buf *b, const unsigned char *p, size_t n)
{
	char q[4];
	uint32_t v;
	size_t i;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = b64[v >> 18];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64[v & 63] : '=';
		buf_append(b, q, 4);
	}
}

/* Whether the bytes [p, e) are 7-bit and hold no "=?". */
static bool
is_plain_word(const char *p, const char *e)
{
	for (; p < e; p++)
		if ((unsigned char)*p >= 0x80 || (p[0] == '=' && p + 1 < e &&
		    p[1] == '?'))
			return false;
	return true;
}

/*
 * Appends the UTF-8 text [p, e) as RFC 2047 encoded words ("B", charset
 * UTF-8, the form most mailers write), separated by spaces, each at most
 * 75 characters (2047 2): up to 45 bytes of text, cut at a character
 * boundary, per word.
 */
static void
encode_words(struct buf *w, const char *p, const char *e)
{
	size_t n, len = (size_t)(e - p);

	while (len > 0) {
		n = len < 45 ? len : 45;
		while (n < len && n > 1 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;
		buf_append(w, "=?UTF-8?B?", 10);
		b64_append(w, (const unsigned char *)p, n);
		buf_append(w, "?=", 2);
		p += n;
		len -= n;
		if (len > 0)
			buf_append(w, " ", 1);
	}
}

/*
 * Text with words that are not plain ASCII: plain words go out as they
 * are, each run of other words (with the spaces inside the run, which a
 * decoder drops between encoded words) as encoded words, as a mailer
 * writes "Edmond =?UTF-8?B?RGFudMOocw==?=".
 */
static void
put_words(struct buf *out, const char *s)
{
	struct buf w = BUF_INIT;
	const char *p = s, *e, *sp, *run = NULL, *run_end = NULL;

	while (*p != '\0') {
		e = p + strcspn(p, " ");
		sp = e + strspn(e, " ");
		if (is_plain_word(p, e)) {
			if (run != NULL) {
				encode_words(&w, run, run_end);
				buf_append(&w, run_end, (size_t)(p - run_end));
				run = NULL;
			}
			buf_append(&w, p, (size_t)(sp - p));
		} else {
			if (run == NULL)
				run = p;
			run_end = e;
		}
		p = sp;
	}
	if (run != NULL) {
		encode_words(&w, run, run_end);
		buf_append(&w, run_end, (size_t)(p - run_end));
	}
	imap_resp_string(out, w.data, w.len, 0);
	buf_clear(&w);
}

/* Decoded text (name, description): NIL, as is, or encoded words. */
static void
put_text(struct buf *out, const char *s)
{
	if (s == NULL)
		imap_resp_token(out, "NIL");
	else if (is_plain(s))
		put_str(out, s);
	else
		put_words(out, s);
}

/* A display name: "" in the record means none. */
static void
put_name(struct buf *out, const char *s)
{
	put_text(out, *s == '\0' ? NULL : s);
}

/* address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")" */
static void
put_address(struct buf *out, const struct msgrec_addr *a)
{
	const char *at = strrchr(a->email, '@');

	imap_resp_token(out, "(");
	put_name(out, a->name);
	imap_resp_sp(out);
	if (a->route != NULL)
		imap_resp_string(out, a->route, a->route_len, 0);
	else
		imap_resp_token(out, "NIL");
	imap_resp_sp(out);
	/* "Name <>", "Name" alone or "<@host>": no local part to send. */
	if (at == a->email || *a->email == '\0')
		imap_resp_token(out, "\"MISSING_MAILBOX\"");
	else
		imap_resp_string(out, a->email, at == NULL ?
		    strlen(a->email) : (size_t)(at - a->email), 0);
	imap_resp_sp(out);
	if (at == NULL || at[1] == '\0')
		imap_resp_token(out, "\"MISSING_DOMAIN\"");
	else
		put_str(out, at + 1);
	imap_resp_token(out, ")");
}

/*
 * An envelope address list: NIL when empty, else "(" 1*address ")" with
 * group syntax (RFC 9051 9 "address", RFC 3501 7.4.2): a group opens with
 * (NIL NIL "name" NIL) and closes with (NIL NIL NIL NIL).  The record
 * marks an empty group by one entry with an empty email.
 */
static void
put_addr_list(struct buf *out, const struct wire_strlist *l)
{
	struct wire_iter it;
	struct msgrec_addr a;
	const char *group = NULL;

	if (l->count == 0) {
		imap_resp_token(out, "NIL");
		return;
	}
	imap_resp_token(out, "(");
	wire_strlist_iter(l, &it);
	while (msgrec_addr_next(&it, &a)) {
		if (group != NULL && (a.group == NULL ||
		    strcmp(a.group, group) != 0)) {
			imap_resp_token(out, "(NIL NIL NIL NIL)");
			group = NULL;
		}
		if (a.group != NULL && group == NULL) {
			group = a.group;
			imap_resp_token(out, "(NIL NIL ");
			put_text(out, group);
			imap_resp_token(out, " NIL)");
			if (*a.email == '\0')
				continue;	/* the empty group's marker */
		}
		put_address(out, &a);
	}
	if (group != NULL)
		imap_resp_token(out, "(NIL NIL NIL NIL)");
	imap_resp_token(out, ")");
}

void
imap_struct_envelope(struct buf *out, const struct msgrec *r, uint32_t env)
{
	const struct msgrec_envelope *e = &r->envs[env];
	const struct wire_strlist *from = &e->addr[MSGREC_FROM];
	int i;

	imap_resp_token(out, "(");
	put_nstr(out, e->date);
	imap_resp_sp(out);
	put_nstr(out, e->subject);
	for (i = MSGREC_FROM; i <= MSGREC_BCC; i++) {
		imap_resp_sp(out);
		/* RFC 9051 7.5.2: Sender and Reply-To default to From. */
		if ((i == MSGREC_SENDER || i == MSGREC_REPLY_TO) &&
		    e->addr[i].count == 0)
			put_addr_list(out, from);
		else
			put_addr_list(out, &e->addr[i]);
	}
	imap_resp_sp(out);
	put_nstr(out, e->in_reply_to);
	imap_resp_sp(out);
	put_nstr(out, e->message_id);
	imap_resp_token(out, ")");
}

/*
 * RFC 2045 5.1 token: a Content-Transfer-Encoding that is not one ("text/
 * html") is no encoding at all and reads as the default, 7bit (5.1), as
 * Dovecot reports it too.
 */
static bool
is_token(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("()<>@,;:\\\"/[]?=", *p))
			return false;
	return *s != '\0';
}

/* RFC 2231 7 attribute-char: what a value* may hold unescaped. */
static bool
is_attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~", c) != NULL;
}

/* One parameter: "name" "value", or "name*" "utf-8''%XX..." (RFC 2231 4). */
static void
put_param(struct buf *out, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = BUF_INIT;
	const unsigned char *p;
	char esc[3];

	if (is_plain(value)) {
		put_str(out, name);
		imap_resp_sp(out);
		put_str(out, value);
		return;
	}
	buf_append(&b, name, strlen(name));
	buf_append(&b, "*", 1);
	imap_resp_string(out, b.data, b.len, 0);
	imap_resp_sp(out);
	buf_reset(&b);
	buf_append(&b, "utf-8''", 7);
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (is_attr_char(*p) && *p != '%') {
			buf_append(&b, p, 1);
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[*p >> 4];
		esc[2] = hex[*p & 15];
		buf_append(&b, esc, 3);
	}
	imap_resp_string(out, b.data, b.len, 0);
	buf_clear(&b);
}

/*
 * body-fld-param: NIL or "(" name SP value ... ")".  A text part without
 * a charset gets RFC 2045 5.2's default when want_charset is set.
 */
static void
put_params(struct buf *out, const struct wire_strlist *l, bool want_charset)
{
	struct wire_iter it;
	const char *name, *value;
	bool first = true, charset = false;

	wire_strlist_iter(l, &it);
	while ((name = wire_strlist_next(&it)) != NULL &&
	    (value = wire_strlist_next(&it)) != NULL) {
		buf_append(out, first ? "(" : " ", 1);
		first = false;
		if (strcmp(name, "charset") == 0)
			charset = true;
		put_param(out, name, value);
	}
	if (want_charset && !charset) {
		buf_append(out, first ? "(" : " ", 1);
		first = false;
		imap_resp_token(out, "\"charset\" \"us-ascii\"");
	}
	if (first)
		imap_resp_token(out, "NIL");
	else
		imap_resp_token(out, ")");
}

/* body-fld-dsp = "(" string SP body-fld-param ")" / nil */
static void
put_disposition(struct buf *out, const struct msgrec_part *p)
{
	if (p->disposition == NULL) {
		imap_resp_token(out, "NIL");
		return;
	}
	imap_resp_token(out, "(");
	put_str(out, p->disposition);
	imap_resp_sp(out);
	put_params(out, &p->disp_params, false);
	imap_resp_token(out, ")");
}

/*
 * body-fld-lang = nstring / "(" string *(SP string) ")": always the list
 * form, as Dovecot sends it, so a client sees one shape.
 */
static void
put_language(struct buf *out, const struct msgrec_part *p)
{
	struct wire_iter it;
	const char *s;
	bool first = true;

	if (p->language.count == 0) {
		imap_resp_token(out, "NIL");
		return;
	}
	wire_strlist_iter(&p->language, &it);
	while ((s = wire_strlist_next(&it)) != NULL) {
		imap_resp_token(out, first ? "(" : " ");
		first = false;
		put_str(out, s);
	}
	imap_resp_token(out, ")");
}

/* SP body-fld-dsp SP body-fld-lang SP body-fld-loc, shared by both kinds. */
static void
put_ext_tail(struct buf *out, const struct msgrec_part *p)
{
	imap_resp_sp(out);
	put_disposition(out, p);
	imap_resp_sp(out);
	put_language(out, p);
	imap_resp_sp(out);
	put_nstr(out, p->location);
}

/* The first child of part i, or MSGREC_NONE (parts are in pre-order). */
static uint32_t
first_child(const struct msgrec *r, uint32_t i)
{
	if (i + 1 < r->nparts && r->parts[i + 1].parent == i)
		return i + 1;
	return MSGREC_NONE;
}

/* The next sibling of part c, or MSGREC_NONE: the subtree ends first. */
static uint32_t
next_sibling(const struct msgrec *r, uint32_t c)
{
	uint32_t j, parent = r->parts[c].parent;

	for (j = c + 1; j < r->nparts; j++) {
		if (r->parts[j].parent == parent)
			return j;
		if (r->parts[j].parent < c)
			break;
	}
	return MSGREC_NONE;
}

static void put_body(struct buf *, const struct msgrec *, uint32_t, bool,
    int);

/* An empty text part, where the grammar needs a body and there is none. */
static void
put_empty_text(struct buf *out, bool ext)
{
	imap_resp_token(out, "(\"text\" \"plain\" (\"charset\" \"us-ascii\")"
	    " NIL NIL \"7bit\" 0 0");
	if (ext)
		imap_resp_token(out, " NIL NIL NIL NIL");
	imap_resp_token(out, ")");
}

/*
 * body-type-1part = (body-type-basic / body-type-msg / body-type-text)
 *     [SP body-ext-1part]
 */
static void
put_1part(struct buf *out, const struct msgrec *r, uint32_t i, bool ext,
    int depth)
{
	const struct msgrec_part *p = &r->parts[i];
	bool text = strcmp(p->type, "text") == 0;
	uint32_t child = first_child(r, i);
	/*
	 * body-type-msg (RFC 9051 9) is required for message/rfc822 and
	 * message/global; the encapsulated message's top part holds its
	 * envelope.  One that was not parsed (a base64 or quoted-printable
	 * one, which RFC 2046 5.2.1 forbids) gets an empty envelope and an
	 * empty text part, as Dovecot sends, so that the grammar holds.
	 */
	bool msg = strcmp(p->type, "message") == 0 &&
	    (strcmp(p->subtype, "rfc822") == 0 ||
	    strcmp(p->subtype, "global") == 0);
	bool parsed = msg && child != MSGREC_NONE &&
	    r->parts[child].env != MSGREC_NONE;

	/* body-fields: type subtype param id desc enc octets */
	imap_resp_token(out, "(");
	put_str(out, p->type);
	imap_resp_sp(out);
	put_str(out, p->subtype);
	imap_resp_sp(out);
	put_params(out, &p->params, text);
	imap_resp_sp(out);
	put_nstr(out, p->id);
	imap_resp_sp(out);
	put_text(out, p->description);
	imap_resp_sp(out);
	put_str(out, p->encoding != NULL && is_token(p->encoding) ?
	    p->encoding : "7bit");
	imap_resp_sp(out);
	buf_put_u64(out, p->body_end - p->body_off);
	if (parsed) {
		/* body-type-msg: envelope body body-fld-lines */
		imap_resp_sp(out);
		imap_struct_envelope(out, r, r->parts[child].env);
		imap_resp_sp(out);
		put_body(out, r, child, ext, depth + 1);
	} else if (msg) {
		imap_resp_token(out, " (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ");
		put_empty_text(out, ext);
	}
	if (msg || text) {
		imap_resp_sp(out);
		buf_put_u64(out, p->lines);
	}
	if (ext) {
		/* body-ext-1part: md5 dsp lang loc */
		imap_resp_sp(out);
		put_nstr(out, p->md5);
		put_ext_tail(out, p);
	}
	imap_resp_token(out, ")");
}

/*
 * body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart].  A
 * multipart with no part found (no boundary line) gets one empty text
 * part, since the grammar needs one.
 */
static void
put_mpart(struct buf *out, const struct msgrec *r, uint32_t i, bool ext,
    int depth)
{
	const struct msgrec_part *p = &r->parts[i];
	uint32_t c;

	imap_resp_token(out, "(");
	c = first_child(r, i);
	if (c == MSGREC_NONE)
		put_empty_text(out, ext);
	for (; c != MSGREC_NONE; c = next_sibling(r, c))
		put_body(out, r, c, ext, depth + 1);
	imap_resp_sp(out);
	put_str(out, p->subtype);
	if (ext) {
		imap_resp_sp(out);
		put_params(out, &p->params, false);
		put_ext_tail(out, p);
	}
	imap_resp_token(out, ")");
}

static void
put_body(struct buf *out, const struct msgrec *r, uint32_t i, bool ext,
    int depth)
{
	if (depth > STRUCT_MAX_DEPTH)
		return;		/* msgrec_open bounds nesting far below */
	if (strcmp(r->parts[i].type, "multipart") == 0)
		put_mpart(out, r, i, ext, depth);
	else
		put_1part(out, r, i, ext, depth);
}

void
imap_struct_bodystructure(struct buf *out, const struct msgrec *r,
    uint32_t part, bool extended)
{
	put_body(out, r, part, extended, 0);
}

/* --- The stored items --- */

bool
imap_struct_store(struct buf *out, const struct msgrec *r)
{
	size_t mark = out->len, env;
	uint8_t v[4];

	buf_append(out, "\x01\0\0\0\0", 5);
	imap_struct_envelope(out, r, 0);
	env = out->len - mark - 5;
	imap_struct_bodystructure(out, r, 0, true);
	if (out->len - mark - 5 > IMAP_STRUCT_STORED_MAX) {
		out->len = mark;
		return false;
	}
	out->data[mark] = IMAP_STRUCT_STORED_V;
	wire_be32_put(v, (uint32_t)env);
	memcpy(out->data + mark + 1, v, 4);
	return true;
}

int
imap_struct_stored_read(const void *p, size_t len,
    struct imap_struct_stored *st)
{
	const uint8_t *b = p;
	uint32_t env;

	if (len < 5 || b[0] != IMAP_STRUCT_STORED_V)
		return -1;
	env = wire_be32_get(b + 1);
	if (env > len - 5)
		return -1;
	st->envelope = b + 5;
	st->envelope_len = env;
	st->body = b + 5 + env;
	st->body_len = len - 5 - env;
	if (!imap_struct_item_valid(st->envelope, st->envelope_len) ||
	    !imap_struct_item_valid(st->body, st->body_len))
		return -1;
	return 0;
}

/* The end of the literal at p ("{n}" CRLF n bytes), or NULL. */
static const uint8_t *
item_literal(const uint8_t *p, const uint8_t *end)
{
	uint64_t n = 0;
	size_t digits = 0;

	for (p++; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		if (digits == 10)
			return NULL;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (digits == 0 || end - p < 3 || p[0] != '}' || p[1] != '\r' ||
	    p[2] != '\n')
		return NULL;
	p += 3;
	if (n > (uint64_t)(end - p))
		return NULL;
	return p + n;
}

/* ATOM-CHAR of RFC 9051 9, as a bit map of the 7-bit values. */
static inline bool
item_atom_char(uint8_t c)
{
	static const uint64_t map[2] = {
		UINT64_C(0xfffff8da00000000), UINT64_C(0x77ffffffcfffffff)
	};

	return c < 128 && (map[c >> 6] >> (c & 63) & 1);
}

/* Whether a word has a byte with the value of every byte of m. */
static inline uint64_t
item_has_byte(uint64_t w, uint64_t m)
{
	uint64_t x = w ^ m;

	return (x - UINT64_C(0x0101010101010101)) & ~x &
	    UINT64_C(0x8080808080808080);
}

/* The end of the quoted string at p, or NULL. */
static const uint8_t *
item_quoted(const uint8_t *p, const uint8_t *end)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	uint64_t w;

	for (p++; p < end; p++) {
		/* Eight bytes at a time while none of them is special. */
		while (end - p >= 8) {
			memcpy(&w, p, 8);
			if ((item_has_byte(w, ones * '"') |
			    item_has_byte(w, ones * '\\') |
			    item_has_byte(w, 0) |
			    item_has_byte(w, ones * '\r') |
			    item_has_byte(w, ones * '\n')) != 0)
				break;
			p += 8;
		}
		if (p == end)
			break;
		if (*p == '"')
			return p + 1;
		if (*p == '\\') {
			if (++p == end || (*p != '"' && *p != '\\'))
				return NULL;
		} else if (*p == '\0' || *p == '\r' || *p == '\n')
			return NULL;
	}
	return NULL;
}

bool
imap_struct_item_valid(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len, *q;
	size_t depth = 0;
	bool first = true;	/* at the start of a list: no SP before */

	if (len == 0 || *p != '(')
		return false;
	while (p < end) {
		if (!first && *p != ')') {
			/* Between elements: one SP, or ")(" adjacent. */
			if (*p == ' ')
				p++;
			else if (*p != '(' || p[-1] != ')')
				return false;
			if (p == end || *p == ')' || *p == ' ')
				return false;
		}
		first = false;
		switch (*p) {
		case '(':
			depth++;
			first = true;
			p++;
			continue;
		case ')':
			if (depth == 0)
				return false;
			p++;
			if (--depth == 0)
				return p == end;
			continue;
		case '"':
			q = item_quoted(p, end);
			break;
		case '{':
			q = item_literal(p, end);
			break;
		default:
			for (q = p; q < end && item_atom_char(*q); q++)
				;
			if (q == p)
				q = NULL;
			break;
		}
		if (q == NULL)
			return false;
		p = q;
	}
	return false;
}
