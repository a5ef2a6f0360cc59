/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_search.c: SEARCH and UID SEARCH (RFC 9051 6.4.4) with ESEARCH
 * (RFC 4731), SEARCHRES (RFC 5182), CONDSTORE's MODSEQ key (RFC 7162),
 * WITHIN (RFC 5032), SAVEDATE (RFC 8514) and OBJECTID (RFC 8474).
 *
 * The tree of imap_search.c is evaluated over the selected mailbox's
 * messages in chunks: MSG_FETCH gives flags, dates, sizes, ids and (when a
 * key looks at headers) the parsed record; only keys that need the
 * message's bytes (HEADER, BODY, TEXT) read them with MSG_BODY, and only
 * for messages the other keys have not decided already (the evaluation is
 * three-valued: yes, no, or not without the bytes).  Text matches are
 * substring matches ignoring ASCII case, in UTF-8; bodies are decoded
 * (transfer encoding and charset) before they are searched.
 */
#include "imap_cmd.h"
#include "compat.h"
#include "conn.h"
#include "imap_fetch.h"
#include "imap_resp.h"
#include "imap_search.h"
#include "imap_seqset.h"
#include "imap_session.h"
#include "imap_view.h"
#include "imapd.h"
#include "ipc.h"
#include "mailflags.h"
#include "mime.h"
#include "msgrec.h"
#include "objid.h"
#include "wire.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SEARCH_CHUNK		256
#define SEARCH_SLICE		(512u * 1024)
/* Messages larger than this are not read for BODY and TEXT. */
#define SEARCH_BYTES_MAX	(64ull << 20)

enum tri { T_NO, T_YES, T_UNKNOWN };

/* One message of the chunk being searched. */
struct search_msg {
	uint32_t	 uid, msn;
	uint64_t	 flags, modseq, email, thread, received, saved, size;
	char		*keywords;
	uint8_t		*rec;
	size_t		 reclen;
};

struct search_ctx {
	struct imap_session	*s;
	bool			 uid;
	struct imap_search	 q;
	uint8_t			*cmdbuf;	/* the strings of q live here */
	bool			 need_record;
	bool			 need_bytes;
	bool			 has_modseq;
	uint32_t		*uids;
	uint32_t		 nuids, pos;
	struct search_msg	*msgs;
	uint32_t		 nmsgs, cur;
	struct buf		 bytes;		/* the current message */
	uint64_t		 off;
	/* Results. */
	struct imap_seqset	 found;		/* numbers to answer with */
	struct buf		 found_uids;	/* for SAVE */
	uint64_t		 count, highest_modseq;
	uint32_t		 min, max;
};

static void	search_next_chunk(struct search_ctx *);
static void	search_next_msg(struct search_ctx *);

static void
search_free_msgs(struct search_ctx *x)
{
	uint32_t i;

	for (i = 0; i < x->nmsgs; i++) {
		free(x->msgs[i].keywords);
		free(x->msgs[i].rec);
	}
	x->nmsgs = x->cur = 0;
}

static void
search_ctx_free(void *arg)
{
	struct search_ctx *x = arg;

	if (x == NULL)
		return;
	search_free_msgs(x);
	free(x->msgs);
	free(x->uids);
	imap_search_clear(&x->q);
	imap_seqset_clear(&x->found);
	buf_clear(&x->found_uids);
	buf_clear(&x->bytes);
	free(x->cmdbuf);
	free(x);
}

/* --- Matching --- */

/* Whether needle (nlen bytes) occurs in hay, ignoring ASCII case. */
static bool
search_contains(const char *hay, size_t hlen, const char *needle,
    size_t nlen)
{
	size_t i, j;

	if (nlen == 0)
		return true;
	if (hay == NULL || hlen < nlen)
		return false;
	for (i = 0; i + nlen <= hlen; i++) {
		for (j = 0; j < nlen; j++)
			if (tolower((unsigned char)hay[i + j]) !=
			    tolower((unsigned char)needle[j]))
				break;
		if (j == nlen)
			return true;
	}
	return false;
}

static bool
search_str_in(const char *hay, const struct imap_str *n)
{
	return hay != NULL && search_contains(hay, strlen(hay), n->p, n->len);
}

/* Whether an address list (FROM, TO, CC, BCC) of the envelope matches. */
static bool
search_addr(const struct msgrec *r, enum msgrec_addr_field f,
    const struct imap_str *n)
{
	struct wire_iter it;
	struct msgrec_addr a;

	if (r->nenvs == 0)
		return false;
	wire_strlist_iter(&r->envs[0].addr[f], &it);
	while (msgrec_addr_next(&it, &a))
		if (search_str_in(a.name, n) || search_str_in(a.email, n) ||
		    (a.group != NULL && search_str_in(a.group, n)))
			return true;
	return false;
}

/* The day (seconds at 00:00 UTC) of t seen in zone (minutes east). */
static int64_t
search_day(int64_t t, int32_t zone)
{
	int64_t l = t + (int64_t)zone * 60;

	return l - (((l % 86400) + 86400) % 86400);
}

static enum tri
search_date(enum imap_search_key k, int64_t day, int64_t when)
{
	switch (k) {
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SAVEDBEFORE:
		return when < day ? T_YES : T_NO;
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SAVEDON:
		return when == day ? T_YES : T_NO;
	default:
		return when >= day ? T_YES : T_NO;
	}
}

/* Whether the keyword list (space-separated) holds kw, any case. */
static bool
search_has_keyword(const char *list, const struct imap_str *kw)
{
	const char *p = list, *e;

	while (p != NULL && *p != '\0') {
		e = strchr(p, ' ');
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) == kw->len &&
		    strncasecmp(p, kw->p, kw->len) == 0)
			return true;
		p = *e == ' ' ? e + 1 : e;
	}
	return false;
}

/* HEADER field string: any field of that name whose text holds it. */
static enum tri
search_header(const struct search_ctx *x, const struct msgrec *r,
    const struct imap_search_node *nd)
{
	char name[256];
	const char *v;
	struct buf t = BUF_INIT;
	size_t vlen, i;
	bool hit = false;

	if (x->bytes.len == 0 && r->nparts > 0 && r->parts[0].body_off > 0)
		return T_UNKNOWN;
	if (nd->str.len == 0 || nd->str.len >= sizeof(name))
		return T_NO;
	memcpy(name, nd->str.p, nd->str.len);
	name[nd->str.len] = '\0';
	for (i = 0; !hit && mime_header_find(x->bytes.data, r->nparts > 0 ?
	    (size_t)r->parts[0].body_off : x->bytes.len, name, i, &v, &vlen);
	    i++) {
		buf_reset(&t);
		mime_header_text(v, vlen, &t);
		hit = search_contains((const char *)t.data, t.len,
		    nd->value.p, nd->value.len);
	}
	buf_clear(&t);
	return hit ? T_YES : T_NO;
}

/* BODY: the text parts decoded to UTF-8. */
static bool
search_body(const struct search_ctx *x, const struct msgrec *r,
    const struct imap_str *n)
{
	const struct msgrec_part *pt;
	struct buf t = BUF_INIT;
	uint32_t i;
	bool hit = false;

	for (i = 0; !hit && i < r->nparts; i++) {
		pt = &r->parts[i];
		if (pt->type == NULL || strcmp(pt->type, "text") != 0 ||
		    pt->body_end > x->bytes.len || pt->body_end < pt->body_off)
			continue;
		buf_reset(&t);
		mime_body_text(pt->encoding, pt->charset, false,
		    x->bytes.data + pt->body_off,
		    (size_t)(pt->body_end - pt->body_off), &t);
		hit = search_contains((const char *)t.data, t.len, n->p,
		    n->len);
	}
	buf_clear(&t);
	return hit;
}

/* TEXT: the header (decoded) and the body. */
static bool
search_text(const struct search_ctx *x, const struct msgrec *r,
    const struct imap_str *n)
{
	struct buf t = BUF_INIT;
	size_t hlen = r->nparts > 0 ? (size_t)r->parts[0].body_off :
	    x->bytes.len;
	bool hit;

	if (hlen > x->bytes.len)
		hlen = x->bytes.len;
	mime_header_text((const char *)x->bytes.data, hlen, &t);
	hit = search_contains((const char *)x->bytes.data, hlen, n->p,
	    n->len) || search_contains((const char *)t.data, t.len, n->p,
	    n->len) || search_body(x, r, n);
	buf_clear(&t);
	return hit;
}

static enum tri
search_eval(struct search_ctx *x, const struct search_msg *m,
    const struct msgrec *r, int idx, int depth)
{
	const struct imap_search_node *nd = &x->q.nodes[idx];
	const struct msgrec_envelope *env = r != NULL && r->nenvs > 0 ?
	    &r->envs[0] : NULL;
	char id[OBJID_MAX];
	enum tri t, u;
	int c;
	time_t now;

	if (depth > IMAP_SEARCH_MAX_DEPTH + 1)
		return T_NO;
	switch (nd->key) {
	case IMAP_SEARCH_AND:
		t = T_YES;
		for (c = nd->child; c != IMAP_SEARCH_NONE;
		    c = x->q.nodes[c].next) {
			u = search_eval(x, m, r, c, depth + 1);
			if (u == T_NO)
				return T_NO;
			if (u == T_UNKNOWN)
				t = T_UNKNOWN;
		}
		return t;
	case IMAP_SEARCH_OR:
		t = search_eval(x, m, r, nd->child, depth + 1);
		if (t == T_YES)
			return T_YES;
		u = search_eval(x, m, r, x->q.nodes[nd->child].next,
		    depth + 1);
		if (u == T_YES)
			return T_YES;
		return t == T_NO && u == T_NO ? T_NO : T_UNKNOWN;
	case IMAP_SEARCH_NOT:
		t = search_eval(x, m, r, nd->child, depth + 1);
		return t == T_UNKNOWN ? T_UNKNOWN : t == T_YES ? T_NO : T_YES;
	case IMAP_SEARCH_SEQSET:
		return imap_seqset_contains(&nd->set, m->msn, 0) ? T_YES :
		    T_NO;
	case IMAP_SEARCH_UID:
		return imap_seqset_contains(&nd->set, m->uid, 0) ? T_YES :
		    T_NO;
	case IMAP_SEARCH_ALL:
	case IMAP_SEARCH_OLD:
	case IMAP_SEARCH_SAVEDATESUPPORTED:
		return T_YES;
	case IMAP_SEARCH_NEW:
	case IMAP_SEARCH_RECENT:
		return T_NO;	/* no message is \Recent here */
#define FLAG(bit, want) (((m->flags & (bit)) != 0) == (want) ? T_YES : T_NO)
	case IMAP_SEARCH_ANSWERED:
		return FLAG(MAIL_F_ANSWERED, true);
	case IMAP_SEARCH_UNANSWERED:
		return FLAG(MAIL_F_ANSWERED, false);
	case IMAP_SEARCH_DELETED:
		return FLAG(MAIL_F_DELETED, true);
	case IMAP_SEARCH_UNDELETED:
		return FLAG(MAIL_F_DELETED, false);
	case IMAP_SEARCH_DRAFT:
		return FLAG(MAIL_F_DRAFT, true);
	case IMAP_SEARCH_UNDRAFT:
		return FLAG(MAIL_F_DRAFT, false);
	case IMAP_SEARCH_FLAGGED:
		return FLAG(MAIL_F_FLAGGED, true);
	case IMAP_SEARCH_UNFLAGGED:
		return FLAG(MAIL_F_FLAGGED, false);
	case IMAP_SEARCH_SEEN:
		return FLAG(MAIL_F_SEEN, true);
	case IMAP_SEARCH_UNSEEN:
		return FLAG(MAIL_F_SEEN, false);
#undef FLAG
	case IMAP_SEARCH_KEYWORD:
		return search_has_keyword(m->keywords, &nd->str) ? T_YES :
		    T_NO;
	case IMAP_SEARCH_UNKEYWORD:
		return search_has_keyword(m->keywords, &nd->str) ? T_NO :
		    T_YES;
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
		return search_date(nd->key, nd->date,
		    search_day((int64_t)m->received, 0));
	case IMAP_SEARCH_SAVEDBEFORE:
	case IMAP_SEARCH_SAVEDON:
	case IMAP_SEARCH_SAVEDSINCE:
		return search_date(nd->key, nd->date,
		    search_day((int64_t)m->saved, 0));
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		/* No usable Date: the internal date stands in (RFC 9051). */
		if (env == NULL || !env->has_sent_at)
			return search_date(nd->key, nd->date,
			    search_day((int64_t)m->received, 0));
		return search_date(nd->key, nd->date,
		    search_day(env->sent_at, env->sent_tz));
	case IMAP_SEARCH_LARGER:
		return m->size > nd->num ? T_YES : T_NO;
	case IMAP_SEARCH_SMALLER:
		return m->size < nd->num ? T_YES : T_NO;
	case IMAP_SEARCH_OLDER:
	case IMAP_SEARCH_YOUNGER:
		now = time(NULL);
		if (nd->key == IMAP_SEARCH_OLDER)
			return (uint64_t)now - m->received >= nd->num ?
			    T_YES : T_NO;
		return (uint64_t)now - m->received <= nd->num ? T_YES : T_NO;
	case IMAP_SEARCH_MODSEQ:
		return m->modseq >= nd->num ? T_YES : T_NO;
	case IMAP_SEARCH_EMAILID:
		objid_format(id, OBJID_EMAIL, m->email);
		return nd->str.len == strlen(id) && memcmp(id, nd->str.p,
		    nd->str.len) == 0 ? T_YES : T_NO;
	case IMAP_SEARCH_THREADID:
		objid_format(id, OBJID_THREAD, m->thread);
		return nd->str.len == strlen(id) && memcmp(id, nd->str.p,
		    nd->str.len) == 0 ? T_YES : T_NO;
	case IMAP_SEARCH_FROM:
		return r != NULL && search_addr(r, MSGREC_FROM, &nd->str) ?
		    T_YES : T_NO;
	case IMAP_SEARCH_TO:
		return r != NULL && search_addr(r, MSGREC_TO, &nd->str) ?
		    T_YES : T_NO;
	case IMAP_SEARCH_CC:
		return r != NULL && search_addr(r, MSGREC_CC, &nd->str) ?
		    T_YES : T_NO;
	case IMAP_SEARCH_BCC:
		return r != NULL && search_addr(r, MSGREC_BCC, &nd->str) ?
		    T_YES : T_NO;
	case IMAP_SEARCH_SUBJECT:
		if (env == NULL)
			return T_NO;
		return search_str_in(env->subject_dec, &nd->str) ||
		    search_str_in(env->subject, &nd->str) ? T_YES : T_NO;
	case IMAP_SEARCH_HEADER:
		if (r == NULL)
			return T_NO;
		if (x->bytes.len == 0 && m->size > 0)
			return T_UNKNOWN;
		return search_header(x, r, nd);
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		if (r == NULL)
			return T_NO;
		if (x->bytes.len == 0 && m->size > 0)
			return T_UNKNOWN;
		if (nd->key == IMAP_SEARCH_BODY)
			return search_body(x, r, &nd->str) ? T_YES : T_NO;
		return search_text(x, r, &nd->str) ? T_YES : T_NO;
	}
	return T_NO;
}

/* --- Running --- */

static void
search_finish(struct search_ctx *x)
{
	struct imap_session *s = x->s;
	bool rev2 = (s->enabled & IMAP_ENABLED_REV2) != 0;
	struct buf *out = s->out;
	const char *why;
	bool esearch = x->q.ret_given || rev2;
	unsigned ret = x->q.ret;

	(void)imap_seqset_resolve(&x->found, 1, &why);
	if ((ret & IMAP_SEARCH_RET_SAVE) && s->view != NULL)
		imap_view_save_result(s->view, &x->found_uids);
	if (!esearch) {
		buf_append(out, "* SEARCH", 8);
		{
			struct imap_seqset_iter it;
			uint32_t n;

			imap_seqset_iter_init(&it);
			while (imap_seqset_iter_next(&x->found, &it, &n))
				buf_printf(out, " %u", n);
		}
		if (x->has_modseq && x->count > 0)
			buf_printf(out, " (MODSEQ %llu)",
			    (unsigned long long)x->highest_modseq);
		buf_append(out, "\r\n", 2);
	} else if (!(ret == IMAP_SEARCH_RET_SAVE && x->q.ret_given)) {
		/* RETURN (SAVE) alone answers with no ESEARCH (RFC 5182). */
		if (ret == 0 || ret == IMAP_SEARCH_RET_SAVE)
			ret |= IMAP_SEARCH_RET_ALL;
		buf_printf(out, "* ESEARCH (TAG \"%s\")%s", s->tag,
		    x->uid ? " UID" : "");
		if ((ret & IMAP_SEARCH_RET_MIN) && x->count > 0)
			buf_printf(out, " MIN %u", x->min);
		if ((ret & IMAP_SEARCH_RET_MAX) && x->count > 0)
			buf_printf(out, " MAX %u", x->max);
		if (ret & IMAP_SEARCH_RET_COUNT)
			buf_printf(out, " COUNT %llu",
			    (unsigned long long)x->count);
		if ((ret & IMAP_SEARCH_RET_ALL) && x->count > 0) {
			buf_append(out, " ALL ", 5);
			imap_seqset_write(&x->found, out);
		}
		if (x->has_modseq && x->count > 0)
			buf_printf(out, " MODSEQ %llu",
			    (unsigned long long)x->highest_modseq);
		buf_append(out, "\r\n", 2);
	}
	imap_session_reply(s, "OK", NULL, x->uid ? "UID SEARCH completed" :
	    "SEARCH completed");
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	search_ctx_free(x);
	imap_session_resume(s, IMAP_CMD_DONE);
}

static void
search_fail(struct search_ctx *x, const char *code, const char *text)
{
	struct imap_session *s = x->s;

	imap_session_reply(s, "NO", code, text);
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	search_ctx_free(x);
	imap_session_resume(s, IMAP_CMD_DONE);
}

static void
search_match(struct search_ctx *x, const struct search_msg *m)
{
	uint32_t n = x->uid ? m->uid : m->msn;

	imap_seqset_add(&x->found, n, n);
	imap_view_vec_put(&x->found_uids, m->uid);
	if (x->count == 0 || n < x->min)
		x->min = n;
	if (n > x->max)
		x->max = n;
	x->count++;
	if (m->modseq > x->highest_modseq)
		x->highest_modseq = m->modseq;
}

static void	search_read_more(struct search_ctx *);

/* Decides the current message, with its bytes if they were read. */
static void
search_decide(struct search_ctx *x, bool with_bytes)
{
	struct search_msg *m = &x->msgs[x->cur];
	struct msgrec rec;
	const char *why;
	bool rec_open = false;
	enum tri t;

	if (m->rec != NULL) {
		if (msgrec_open(m->rec, m->reclen, m->size, &rec, &why) == 0)
			rec_open = true;
		else
			imap_session_log(x->s, "bad record uid=%u: %s",
			    m->uid, why);
	}
	t = search_eval(x, m, rec_open ? &rec : NULL, x->q.root, 0);
	if (rec_open)
		msgrec_close(&rec);
	if (t == T_UNKNOWN && !with_bytes && m->size <= SEARCH_BYTES_MAX) {
		/* Read the message, then decide again. */
		buf_reset(&x->bytes);
		x->off = 0;
		search_read_more(x);
		return;
	}
	if (t == T_YES)
		search_match(x, m);
	buf_reset(&x->bytes);
	x->cur++;
	search_next_msg(x);
}

static void
search_body_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_BODY_rep *r = rep;
	struct imap_session *s = arg;
	struct search_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (st == IPC_S_NOTFOUND) {
		/* Expunged meanwhile: it does not match. */
		buf_reset(&x->bytes);
		x->cur++;
		search_next_msg(x);
		return;
	}
	if (st != IPC_S_OK || r->data.len == 0) {
		search_fail(x, "SERVERBUG", text != NULL ? text :
		    "Cannot read a message");
		return;
	}
	buf_append(&x->bytes, r->data.p, r->data.len);
	x->off += r->data.len;
	search_read_more(x);
}

static void
search_read_more(struct search_ctx *x)
{
	struct imap_session *s = x->s;
	struct search_msg *m = &x->msgs[x->cur];
	struct ipc_MSG_BODY_req req;
	struct ipc_chan *store;

	if (x->off >= m->size) {
		search_decide(x, true);
		return;
	}
	if ((store = imapd_store()) == NULL) {
		search_fail(x, "UNAVAILABLE", "Store unavailable, try again");
		return;
	}
	req.mailbox_id = s->view->mailbox_id;
	req.uid = m->uid;
	req.offset = x->off;
	req.length = m->size - x->off > SEARCH_SLICE ? SEARCH_SLICE :
	    (uint32_t)(m->size - x->off);
	s->req_id = ipc_request(store, IPC_T_MSG_BODY, conn_id(s->conn), &req,
	    search_body_cb, s);
}

static void
search_next_msg(struct search_ctx *x)
{
	if (x->cur < x->nmsgs) {
		search_decide(x, false);
		return;
	}
	search_free_msgs(x);
	search_next_chunk(x);
}

static void
search_meta_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_FETCH_rep *r = rep;
	struct imap_session *s = arg;
	struct search_ctx *x = s->cmd_ctx;
	struct wire_iter kit;
	struct search_msg *m;
	const char *kw;
	uint64_t roff = 0, rlen;
	uint32_t i, n;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		search_fail(x, st == IPC_S_UNAVAIL ? "UNAVAILABLE" :
		    "SERVERBUG", text != NULL ? text : "Cannot search");
		return;
	}
	n = r->found.len / 4;
	if (r->done == 0 || r->done > x->nuids - x->pos || n > r->done) {
		search_fail(x, "SERVERBUG", "Malformed reply from the store");
		return;
	}
	x->pos += r->done;
	x->msgs = xreallocarray(x->msgs, n > 0 ? n : 1, sizeof(*x->msgs));
	wire_strlist_iter(&r->keywords, &kit);
	for (i = 0; i < n; i++) {
		m = &x->msgs[x->nmsgs];
		memset(m, 0, sizeof(*m));
		m->uid = imap_view_vec_get(r->found.p, i);
		kw = wire_strlist_next(&kit);
		if ((m->msn = imap_view_msn(s->view, m->uid)) == 0 ||
		    i >= r->flags.count || i >= r->sizes.count)
			continue;
		m->flags = wire_u64list_get(&r->flags, i);
		m->modseq = i < r->modseqs.count ?
		    wire_u64list_get(&r->modseqs, i) : 0;
		m->email = i < r->email_ids.count ?
		    wire_u64list_get(&r->email_ids, i) : 0;
		m->thread = i < r->thread_ids.count ?
		    wire_u64list_get(&r->thread_ids, i) : 0;
		m->received = i < r->received.count ?
		    wire_u64list_get(&r->received, i) : 0;
		m->saved = i < r->saved.count ?
		    wire_u64list_get(&r->saved, i) : m->received;
		m->size = wire_u64list_get(&r->sizes, i);
		m->keywords = xstrdup(kw != NULL ? kw : "");
		if (i < r->record_lens.count) {
			rlen = wire_u64list_get(&r->record_lens, i);
			if (rlen > r->records.len - roff) {
				free(m->keywords);
				search_fail(x, "SERVERBUG", "Malformed reply "
				    "from the store");
				return;
			}
			if (rlen > 0) {
				m->rec = xmalloc((size_t)rlen);
				memcpy(m->rec, r->records.p + roff,
				    (size_t)rlen);
				m->reclen = (size_t)rlen;
			}
			roff += rlen;
		}
		x->nmsgs++;
	}
	x->cur = 0;
	search_next_msg(x);
}

static void
search_next_chunk(struct search_ctx *x)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_FETCH_req req;
	struct ipc_chan *store;
	struct buf vec = BUF_INIT;
	uint32_t i;

	if (x->pos >= x->nuids) {
		search_finish(x);
		return;
	}
	if ((store = imapd_store()) == NULL) {
		search_fail(x, "UNAVAILABLE", "Store unavailable, try again");
		return;
	}
	for (i = x->pos; i < x->nuids && i - x->pos < SEARCH_CHUNK; i++)
		imap_view_vec_put(&vec, x->uids[i]);
	req.mailbox_id = s->view->mailbox_id;
	req.uids.p = vec.data;
	req.uids.len = (uint32_t)vec.len;
	req.with_record = x->need_record;
	s->req_id = ipc_request(store, IPC_T_MSG_FETCH, conn_id(s->conn), &req,
	    search_meta_cb, s);
	buf_clear(&vec);
}

/*
 * Walks the tree: resolves its sets, notes what the keys need, refuses
 * what cannot be answered.  Returns NULL or a BAD text.
 */
static const char *
search_prepare(struct search_ctx *x)
{
	struct imap_view *v = x->s->view;
	struct imap_search_node *nd;
	const char *why;
	int i;

	for (i = 0; i < x->q.n; i++) {
		nd = &x->q.nodes[i];
		switch (nd->key) {
		case IMAP_SEARCH_SEQSET:
		case IMAP_SEARCH_UID:
			if (nd->set.saved) {
				imap_seqset_clear(&nd->set);
				(void)imap_view_saved_set(v, &nd->set,
				    nd->key == IMAP_SEARCH_UID);
				break;
			}
			if (imap_seqset_resolve(&nd->set, nd->key ==
			    IMAP_SEARCH_UID ? (v->n > 0 ?
			    imap_view_last_uid(v) : v->uidnext) : v->n,
			    &why) == -1)
				return why;
			break;
		case IMAP_SEARCH_FROM:
		case IMAP_SEARCH_TO:
		case IMAP_SEARCH_CC:
		case IMAP_SEARCH_BCC:
		case IMAP_SEARCH_SUBJECT:
		case IMAP_SEARCH_SENTBEFORE:
		case IMAP_SEARCH_SENTON:
		case IMAP_SEARCH_SENTSINCE:
			x->need_record = true;
			break;
		case IMAP_SEARCH_HEADER:
		case IMAP_SEARCH_BODY:
		case IMAP_SEARCH_TEXT:
			x->need_record = true;
			x->need_bytes = true;
			break;
		case IMAP_SEARCH_MODSEQ:
			x->has_modseq = true;
			break;
		default:
			break;
		}
	}
	return NULL;
}

static enum imap_cmd_result
search_run(struct imap_session *s, struct imap_parser *ps, bool uid)
{
	struct search_ctx *x;
	const char *why;
	uint32_t i;
	size_t len = (size_t)(ps->end - ps->p);

	x = xcalloc(1, sizeof(*x));
	x->s = s;
	x->uid = uid;
	imap_search_init(&x->q);
	imap_seqset_init(&x->found);
	/* The tree points into the command: keep a copy of it. */
	x->cmdbuf = xmalloc(len + 1);
	memcpy(x->cmdbuf, ps->p, len);
	x->cmdbuf[len] = '\0';
	imap_parser_init(ps, x->cmdbuf, len);
	if (imap_search_parse(ps, &x->q) == -1 || imap_parse_eol(ps) == -1) {
		search_ctx_free(x);
		return imap_cmd_bad(s, ps);
	}
	if (x->q.charset.p != NULL && !(x->q.charset.len == 5 &&
	    strncasecmp(x->q.charset.p, "UTF-8", 5) == 0) &&
	    !(x->q.charset.len == 8 && strncasecmp(x->q.charset.p,
	    "US-ASCII", 8) == 0)) {
		search_ctx_free(x);
		imap_session_reply(s, "NO", "BADCHARSET (US-ASCII UTF-8)",
		    "Charset not supported");
		return IMAP_CMD_DONE;
	}
	if (x->q.ret & IMAP_SEARCH_RET_PARTIAL) {
		search_ctx_free(x);
		imap_session_reply(s, "BAD", NULL, "PARTIAL is not supported");
		return IMAP_CMD_DONE;
	}
	if ((why = search_prepare(x)) != NULL) {
		search_ctx_free(x);
		imap_session_reply(s, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	if (x->has_modseq)
		s->enabled |= IMAP_ENABLED_CONDSTORE;
	x->nuids = s->view->n;
	x->uids = xreallocarray(NULL, x->nuids > 0 ? x->nuids : 1,
	    sizeof(*x->uids));
	for (i = 0; i < x->nuids; i++)
		x->uids[i] = s->view->uids[i];
	s->cmd_ctx = x;
	s->cmd_ctx_free = search_ctx_free;
	search_next_chunk(x);
	return IMAP_CMD_WAIT;
}

enum imap_cmd_result
imap_cmd_search(struct imap_session *s, struct imap_parser *ps)
{
	return search_run(s, ps, false);
}

enum imap_cmd_result
imap_cmd_uid_search(struct imap_session *s, struct imap_parser *ps)
{
	return search_run(s, ps, true);
}
