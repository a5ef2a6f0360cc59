/* SPDX-License-Identifier: ISC */
/*
 * msgrec.c: the stored record of a parsed message (msgrec.h), encoded as
 * typed wire values (wire.h) and checked completely when decoded: every
 * offset against the message size and its parent part, every index
 * against the part and envelope counts, every decoded string for UTF-8.
 *
 * Layout (version 1): U8 version, U64 size, U32 nparts, U32 nenvs; the
 * summary; three U64LISTs (textBody, htmlBody, attachments); nenvs
 * envelopes; nparts parts.  Optional strings are preceded by a U32 mask of
 * which are present (absent ones are written as "").
 */
#include "msgrec.h"
#include "mime.h"
#include "mime_int.h"
#include "charset.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define TZ_MAX		(24 * 60 - 1)

#define STR_MAX		65536	/* subjects, raw envelope fields */
#define ITEM_MAX	4096	/* names, parameters, ids, part fields */

/*
 * A string as the record stores it: cut to max bytes (at a character
 * boundary) so that no header can make a value too large for the wire,
 * and, with want_utf8, made valid UTF-8 for the few raw bytes that reach
 * such fields (a boundary, an 8-bit addr-spec): invalid bytes read as
 * windows-1252.  Returns s itself or a copy in tmp.
 */
static const char *
fit(const char *s, size_t max, bool want_utf8, struct buf *tmp)
{
	uint8_t nul = 0;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n <= max && (!want_utf8 || charset_utf8_valid(s, n)))
		return s;
	buf_reset(tmp);
	if (want_utf8 && !charset_utf8_valid(s, n))
		charset_to_utf8(NULL, s, n, tmp);
	else
		buf_append(tmp, s, n);
	n = tmp->len;
	if (n > max) {
		n = max;
		while (n > 0 && (tmp->data[n] & 0xc0) == 0x80)
			n--;
	}
	tmp->len = n;
	buf_append(tmp, &nul, 1);
	return (const char *)tmp->data;
}

static void
put_str(struct buf *out, const char *s, size_t max, struct buf *tmp)
{
	wire_put_STR(out, fit(s, max, true, tmp));
}

static void
put_strv(struct buf *out, const struct mime_strv *v)
{
	struct buf tmp = BUF_INIT;
	size_t i;

	wire_put_strlist_begin(out, (uint32_t)v->n);
	for (i = 0; i < v->n; i++)
		wire_strlist_add(out, fit(v->v[i], ITEM_MAX, true, &tmp));
	buf_clear(&tmp);
}

static void
put_params(struct buf *out, const struct mime_param *v, size_t n)
{
	struct buf tmp = BUF_INIT;
	size_t i;

	wire_put_strlist_begin(out, (uint32_t)(n * 2));
	for (i = 0; i < n; i++) {
		wire_strlist_add(out, fit(v[i].name, ITEM_MAX, true, &tmp));
		wire_strlist_add(out, fit(v[i].value, ITEM_MAX, true, &tmp));
	}
	buf_clear(&tmp);
}

/*
 * Each address as three strings: name, email, group ("" for none).  An
 * obs-route goes before the email, "@a,@b:user@host" (no addr-spec starts
 * with '@'): records without one read as before, and msgrec_addr_next()
 * splits it off.
 */
static void
put_addrs(struct buf *out, const struct mime_addrlist *l)
{
	struct buf tmp = BUF_INIT, routed = BUF_INIT;
	const char *email;
	size_t i;

	wire_put_strlist_begin(out, (uint32_t)(l->n * 3));
	for (i = 0; i < l->n; i++) {
		wire_strlist_add(out, fit(l->v[i].name, ITEM_MAX, true, &tmp));
		email = l->v[i].email;
		if (l->v[i].route != NULL && *email != '\0') {
			buf_reset(&routed);
			buf_printf(&routed, "%s:%s", l->v[i].route, email);
			buf_append(&routed, "", 1);
			email = (const char *)routed.data;
		}
		wire_strlist_add(out, fit(email, ITEM_MAX, true, &tmp));
		wire_strlist_add(out, l->v[i].group != NULL ?
		    fit(l->v[i].group, ITEM_MAX, true, &tmp) : "");
	}
	buf_clear(&tmp);
	buf_clear(&routed);
}

/*
 * Optional strings: a mask of those present, then each (NULL as ""), cut
 * to max; those in utf8_mask made UTF-8.
 */
static void
put_opt(struct buf *out, const char *const *v, size_t n, uint32_t utf8_mask,
    size_t max)
{
	struct buf tmp = BUF_INIT;
	uint32_t mask = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] != NULL)
			mask |= 1u << i;
	wire_put_U32(out, mask);
	for (i = 0; i < n; i++)
		wire_put_STR(out, fit(v[i], max, (utf8_mask >> i) & 1, &tmp));
	buf_clear(&tmp);
}

static void
put_list(struct buf *out, const uint32_t *v, uint32_t n)
{
	uint32_t i;

	wire_put_u64list_begin(out, n);
	for (i = 0; i < n; i++)
		wire_u64list_add(out, v[i]);
}

/* Raw strings first, then the decoded subject (bit 4). */
#define ENV_UTF8	(1u << 4)
/* Part fields: all but the raw id, md5 and location are UTF-8. */
#define PART_UTF8	(1u << 1 | 1u << 2 | 1u << 4 | 1u << 6 | 1u << 7)

static void
put_env(struct buf *out, const struct mime_env *e)
{
	const char *opt[5] = { e->date, e->subject, e->in_reply_to,
	    e->message_id, e->subject_dec };
	size_t i;

	put_opt(out, opt, 5, ENV_UTF8, STR_MAX);
	wire_put_U64(out, (uint64_t)e->sent_at);
	wire_put_U32(out, (uint32_t)e->sent_tz);
	wire_put_BOOL(out, e->has_sent_at);
	for (i = 0; i < MA_COUNT; i++)
		put_addrs(out, &e->addr[i]);
}

static void
put_part(struct buf *out, const struct mime_part *p, uint32_t i,
    uint64_t prefix)
{
	struct buf tmp = BUF_INIT;
	const char *opt[8] = { p->id, p->description, p->encoding, p->md5,
	    p->disposition, p->location, p->charset, p->name };

	wire_put_U32(out, p->parent);
	wire_put_U32(out, p->env);
	wire_put_U64(out, i == 0 ? 0 : p->hdr_off + prefix);
	wire_put_U64(out, p->body_off + prefix);
	wire_put_U64(out, p->body_end + prefix);
	wire_put_U64(out, p->lines);
	wire_put_U64(out, p->dsize);
	put_str(out, p->type, ITEM_MAX, &tmp);
	put_str(out, p->subtype, ITEM_MAX, &tmp);
	put_params(out, p->params, p->nparams);
	put_params(out, p->dparams, p->ndparams);
	put_strv(out, &p->language);
	put_opt(out, opt, 8, PART_UTF8, ITEM_MAX);
	buf_clear(&tmp);
}

void
msgrec_encode(const struct mime_msg *m, uint64_t prefix_len, struct buf *out)
{
	const struct mime_env *e = &m->envs[0];
	struct buf tmp = BUF_INIT;
	uint32_t i;

	wire_put_U8(out, MSGREC_VERSION);
	wire_put_U64(out, m->len + prefix_len);
	wire_put_U32(out, m->nparts);
	wire_put_U32(out, m->nenvs);
	/* The summary. */
	wire_put_U64(out, (uint64_t)e->sent_at);
	wire_put_BOOL(out, e->has_sent_at);
	wire_put_U32(out, (uint32_t)e->sent_tz);
	put_str(out, e->subject_dec, STR_MAX, &tmp);
	put_str(out, m->base_subject, STR_MAX, &tmp);
	put_str(out, e->msgid.n > 0 ? e->msgid.v[0] : "", ITEM_MAX, &tmp);
	put_strv(out, &e->irt);
	put_strv(out, &e->refs);
	put_str(out, m->from, ITEM_MAX * 2 + 4, &tmp);
	put_str(out, m->preview, STR_MAX, &tmp);
	buf_clear(&tmp);
	wire_put_BOOL(out, m->has_attachment);
	put_list(out, m->body[MB_TEXT], m->nbody[MB_TEXT]);
	put_list(out, m->body[MB_HTML], m->nbody[MB_HTML]);
	put_list(out, m->body[MB_ATTACH], m->nbody[MB_ATTACH]);
	for (i = 0; i < m->nenvs; i++)
		put_env(out, &m->envs[i]);
	for (i = 0; i < m->nparts; i++)
		put_part(out, &m->parts[i], i, prefix_len);
}

/* Decoding: each get_* returns 0 or -1 with *err set. */
struct rd {
	struct wire_reader w;
	const char	*err;
	bool		 stored;	/* strings checked when stored */
};

static int
bad(struct rd *r, const char *why)
{
	if (r->err == NULL)
		r->err = why;
	return -1;
}

static int
get_utf8(struct rd *r, const char **v)
{
	size_t len;

	if (wire_get_STRN(&r->w, v, &len) < 0)
		return bad(r, "truncated string");
	if (len > 0 && !r->stored && !charset_utf8_valid(*v, len))
		return bad(r, "string is not UTF-8");
	return 0;
}

static int
get_str(struct rd *r, const char **v)
{
	if (wire_get_STR(&r->w, v) < 0)
		return bad(r, "truncated string");
	return 0;
}

static int
get_list(struct rd *r, struct wire_strlist *l, uint32_t multiple,
    bool utf8)
{
	struct wire_iter it;
	const char *s;
	size_t len;

	if (wire_get_STRLIST(&r->w, l) < 0)
		return bad(r, "truncated list");
	if (l->count % multiple != 0)
		return bad(r, "list has a bad length");
	if (utf8 && !r->stored) {
		wire_strlist_iter(l, &it);
		while ((s = wire_strlist_next_len(&it, &len)) != NULL)
			if (len > 0 && !charset_utf8_valid(s, len))
				return bad(r, "list string is not UTF-8");
	}
	return 0;
}

static int
get_opt(struct rd *r, const char **v, size_t n, uint32_t utf8_mask)
{
	uint32_t mask;
	size_t i;

	if (wire_get_U32(&r->w, &mask) < 0)
		return bad(r, "truncated mask");
	if (mask >> n != 0)
		return bad(r, "bad field mask");
	for (i = 0; i < n; i++) {
		if (((utf8_mask >> i) & 1 ? get_utf8(r, &v[i]) :
		    get_str(r, &v[i])) < 0)
			return -1;
		if (((mask >> i) & 1) == 0) {
			if (*v[i] != '\0')
				return bad(r, "absent field has a value");
			v[i] = NULL;
		}
	}
	return 0;
}

static int
get_tz(struct rd *r, int32_t *tz)
{
	uint32_t v;

	if (wire_get_U32(&r->w, &v) < 0)
		return bad(r, "truncated zone");
	*tz = (int32_t)v;
	if (*tz < -TZ_MAX || *tz > TZ_MAX)
		return bad(r, "bad time zone");
	return 0;
}

static int
get_index_list(struct rd *r, struct wire_u64list *l, uint32_t nparts)
{
	uint32_t i;

	if (wire_get_U64LIST(&r->w, l) < 0)
		return bad(r, "truncated part list");
	if (l->count > nparts)
		return bad(r, "part list too long");
	for (i = 0; i < l->count; i++)
		if (wire_u64list_get(l, i) >= nparts)
			return bad(r, "part index out of range");
	return 0;
}

static int
get_env(struct rd *r, struct msgrec_envelope *e)
{
	const char *opt[5];
	uint64_t t;
	size_t i;

	if (get_opt(r, opt, 5, ENV_UTF8) < 0)
		return -1;
	e->date = opt[0];
	e->subject = opt[1];
	e->in_reply_to = opt[2];
	e->message_id = opt[3];
	e->subject_dec = opt[4];
	if (wire_get_U64(&r->w, &t) < 0 || get_tz(r, &e->sent_tz) < 0 ||
	    wire_get_BOOL(&r->w, &e->has_sent_at) < 0)
		return bad(r, "truncated envelope");
	e->sent_at = (int64_t)t;
	for (i = 0; i < 6; i++)
		if (get_list(r, &e->addr[i], 3, true) < 0)
			return -1;
	return 0;
}

/* Whether a is i - 1 or one of its ancestors (pre-order tree). */
static bool
valid_parent(const struct msgrec_part *parts, uint32_t i, uint32_t a)
{
	uint32_t k = i - 1;
	int depth = 0;

	while (k != MSGREC_NONE && depth++ <= MIME_MAX_DEPTH + 1) {
		if (k == a)
			return true;
		k = parts[k].parent;
	}
	return false;
}

static int
get_part(struct rd *r, struct msgrec_part *parts, uint32_t i,
    uint32_t nenvs, uint64_t size)
{
	struct msgrec_part *p = &parts[i];
	const struct msgrec_part *up;
	const char *opt[8];

	if (wire_get_U32(&r->w, &p->parent) < 0 ||
	    wire_get_U32(&r->w, &p->env) < 0 ||
	    wire_get_U64(&r->w, &p->hdr_off) < 0 ||
	    wire_get_U64(&r->w, &p->body_off) < 0 ||
	    wire_get_U64(&r->w, &p->body_end) < 0 ||
	    wire_get_U64(&r->w, &p->lines) < 0 ||
	    wire_get_U64(&r->w, &p->decoded_size) < 0)
		return bad(r, "truncated part");
	if (get_utf8(r, &p->type) < 0 || get_utf8(r, &p->subtype) < 0 ||
	    get_list(r, &p->params, 2, true) < 0 ||
	    get_list(r, &p->disp_params, 2, true) < 0 ||
	    get_list(r, &p->language, 1, true) < 0 ||
	    get_opt(r, opt, 8, PART_UTF8) < 0)
		return -1;
	p->id = opt[0];
	p->description = opt[1];
	p->encoding = opt[2];
	p->md5 = opt[3];
	p->disposition = opt[4];
	p->location = opt[5];
	p->charset = opt[6];
	p->name = opt[7];
	if (*p->type == '\0' || *p->subtype == '\0')
		return bad(r, "part without a type");
	if (i == 0 ? p->parent != MSGREC_NONE || p->env != 0 ||
	    p->hdr_off != 0 : p->parent >= i ||
	    !valid_parent(parts, i, p->parent))
		return bad(r, "bad part parent");
	if (p->env != MSGREC_NONE && p->env >= nenvs)
		return bad(r, "envelope index out of range");
	if (p->hdr_off > p->body_off || p->body_off > p->body_end ||
	    p->body_end > size)
		return bad(r, "part offsets outside the message");
	if (p->lines > p->body_end - p->body_off + 1 ||
	    p->decoded_size > p->body_end - p->body_off)
		return bad(r, "part sizes do not fit");
	if (i > 0) {
		up = &parts[p->parent];
		if (p->hdr_off < up->body_off || p->body_end > up->body_end ||
		    p->hdr_off < parts[i - 1].hdr_off)
			return bad(r, "part outside its parent");
	}
	return 0;
}

/* The summary's date: sent_at, has_sent_at, sent_tz. */
static int
get_summary_date(struct rd *r, struct msgrec_summary *s)
{
	uint64_t t;

	if (wire_get_U64(&r->w, &t) < 0 ||
	    wire_get_BOOL(&r->w, &s->has_sent_at) < 0 ||
	    get_tz(r, &s->sent_tz) < 0)
		return bad(r, "truncated summary");
	s->sent_at = (int64_t)t;
	return 0;
}

static int
get_summary(struct rd *r, struct msgrec_summary *s)
{
	if (get_summary_date(r, s) < 0)
		return -1;
	if (get_utf8(r, &s->subject) < 0 || get_utf8(r, &s->base_subject) < 0 ||
	    get_utf8(r, &s->message_id) < 0 ||
	    get_list(r, &s->in_reply_to, 1, true) < 0 ||
	    get_list(r, &s->references, 1, true) < 0 ||
	    get_utf8(r, &s->from) < 0 || get_utf8(r, &s->preview) < 0)
		return -1;
	if (wire_get_BOOL(&r->w, &s->has_attachment) < 0)
		return bad(r, "truncated summary");
	return 0;
}

/*
 * Steps over the summary's strings (msgrec_open_envelopes): they are
 * most of what lies before the first envelope (the preview alone is up
 * to a kilobyte), and a search of the envelope does not look at them.
 */
static int
skip_summary(struct rd *r, struct msgrec_summary *s)
{
	if (get_summary_date(r, s) < 0)
		return -1;
	s->subject = s->base_subject = s->message_id = "";
	s->from = s->preview = "";
	if (wire_skip_STR(&r->w) < 0 || wire_skip_STR(&r->w) < 0 ||
	    wire_skip_STR(&r->w) < 0 || wire_skip_STRLIST(&r->w) < 0 ||
	    wire_skip_STRLIST(&r->w) < 0 || wire_skip_STR(&r->w) < 0 ||
	    wire_skip_STR(&r->w) < 0 ||
	    wire_get_BOOL(&r->w, &s->has_attachment) < 0)
		return bad(r, "truncated summary");
	return 0;
}

/* Reads and checks everything; fills r->parts and r->envs if allocated. */
static int
decode(const void *rec, size_t len, uint64_t size, bool envs_only,
    bool stored, struct msgrec *m, const char **error_r)
{
	struct rd r;
	uint8_t version;
	uint64_t rsize = 0;
	uint32_t i;

	memset(&r, 0, sizeof(r));
	r.stored = stored;
	wire_reader_init(&r.w, rec, len);
	if (wire_get_U8(&r.w, &version) < 0 || version != MSGREC_VERSION) {
		*error_r = "bad record version";
		return -1;
	}
	if (wire_get_U64(&r.w, &rsize) < 0 ||
	    wire_get_U32(&r.w, &m->nparts) < 0 ||
	    wire_get_U32(&r.w, &m->nenvs) < 0)
		bad(&r, "truncated record");
	else if (rsize != size && !(envs_only && size == MSGREC_ANY_SIZE))
		bad(&r, "record is for another size");
	else if (m->nparts == 0 || m->nparts > MIME_MAX_PARTS ||
	    m->nenvs == 0 || m->nenvs > m->nparts)
		bad(&r, "bad part count");
	if (r.err == NULL)
		(void)(envs_only ? skip_summary(&r, &m->s) :
		    get_summary(&r, &m->s));
	m->s.size = rsize;
	m->s.nparts = m->nparts;
	if (envs_only && r.err == NULL)
		m->nenvs = 1;	/* the first alone is read */
	if (r.err == NULL &&
	    get_index_list(&r, &m->text_body, m->nparts) == 0 &&
	    get_index_list(&r, &m->html_body, m->nparts) == 0)
		get_index_list(&r, &m->attachments, m->nparts);
	if (r.err == NULL) {
		m->envs = xcalloc(m->nenvs, sizeof(*m->envs));
		if (!envs_only)
			m->parts = xcalloc(m->nparts, sizeof(*m->parts));
	}
	for (i = 0; r.err == NULL && i < m->nenvs; i++) {
		if (i == 0)
			m->env0 = r.w.p;
		get_env(&r, &m->envs[i]);
		if (i == 0 && r.err == NULL)
			m->env0_len = (size_t)(r.w.p - m->env0);
	}
	if (envs_only && r.err == NULL) {
		/* The parts are neither read nor checked: none is shown. */
		m->nparts = 0;
		return 0;
	}
	for (i = 0; r.err == NULL && i < m->nparts; i++)
		get_part(&r, m->parts, i, m->nenvs, size);
	if (r.err == NULL && wire_reader_finish(&r.w) < 0)
		bad(&r, "trailing bytes in record");
	if (r.err != NULL) {
		*error_r = r.err;
		msgrec_close(m);
		return -1;
	}
	return 0;
}

int
msgrec_open(const void *rec, size_t len, uint64_t size, struct msgrec *r,
    const char **error_r)
{
	memset(r, 0, sizeof(*r));
	return decode(rec, len, size, false, false, r, error_r);
}

int
msgrec_open_stored(const void *rec, size_t len, uint64_t size,
    struct msgrec *r, const char **error_r)
{
	memset(r, 0, sizeof(*r));
	return decode(rec, len, size, false, true, r, error_r);
}

int
msgrec_open_envelopes(const void *rec, size_t len, uint64_t size,
    struct msgrec *r, const char **error_r)
{
	memset(r, 0, sizeof(*r));
	return decode(rec, len, size, true, true, r, error_r);
}

int
msgrec_open_env0(const void *env, size_t len, struct msgrec *r,
    const char **error_r)
{
	struct rd rd;

	memset(r, 0, sizeof(*r));
	memset(&rd, 0, sizeof(rd));
	rd.stored = true;
	wire_reader_init(&rd.w, env, len);
	r->s.subject = r->s.base_subject = r->s.message_id = "";
	r->s.from = r->s.preview = "";
	r->nenvs = 1;
	r->envs = xcalloc(1, sizeof(*r->envs));
	if (get_env(&rd, &r->envs[0]) == 0 && wire_reader_finish(&rd.w) < 0)
		bad(&rd, "trailing bytes after the envelope");
	if (rd.err != NULL) {
		*error_r = rd.err;
		msgrec_close(r);
		return -1;
	}
	r->env0 = env;
	r->env0_len = len;
	return 0;
}

void
msgrec_close(struct msgrec *r)
{
	free(r->parts);
	free(r->envs);
	r->parts = NULL;
	r->envs = NULL;
}

int
msgrec_decode(const void *rec, size_t len, uint64_t size,
    struct msgrec_summary *s, const char **error_r)
{
	struct msgrec r;

	if (msgrec_open(rec, len, size, &r, error_r) < 0)
		return -1;
	*s = r.s;
	msgrec_close(&r);
	return 0;
}

bool
msgrec_addr_next(struct wire_iter *it, struct msgrec_addr *a)
{
	const char *g, *c;

	if ((a->name = wire_strlist_next(it)) == NULL ||
	    (a->email = wire_strlist_next(it)) == NULL ||
	    (g = wire_strlist_next(it)) == NULL)
		return false;
	a->group = *g == '\0' ? NULL : g;
	/* "@a,@b:user@host": the source route, then the addr-spec. */
	a->route = NULL;
	a->route_len = 0;
	if (a->email[0] == '@' && (c = strchr(a->email, ':')) != NULL &&
	    c > a->email + 1) {
		a->route = a->email;
		a->route_len = (size_t)(c - a->email);
		a->email = c + 1;
	}
	return true;
}
