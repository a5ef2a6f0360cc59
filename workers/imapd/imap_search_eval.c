/* SPDX-License-Identifier: ISC */
/*
 * imap_search_eval.c: evaluates a search program over the selected
 * mailbox (RFC 9051 6.4.4 with the keys of RFC 3501 9, CONDSTORE's MODSEQ
 * of RFC 7162 3.1.5, WITHIN of RFC 5032, SAVEDATE of RFC 8514 and
 * OBJECTID of RFC 8474), for SEARCH, SORT and THREAD.
 *
 * The tree of imap_search.c is evaluated over the view's messages in
 * chunks: MSG_FETCH gives flags, dates, sizes, ids and (when a key or the
 * caller looks at headers) the parsed record; only keys that need the
 * message's bytes (HEADER, BODY, TEXT) read them with MSG_BODY, and only
 * for messages the other keys have not decided already (the evaluation is
 * three-valued: yes, no, or not without the bytes).  Text matches are
 * substring matches ignoring ASCII case, in UTF-8; bodies are decoded
 * (transfer encoding and charset) before they are searched.
 */
#include "imap_search_eval.h"
#include "conn.h"
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

struct imap_search_eval {
	struct imap_session	*s;
	struct imap_search	*q;		/* borrowed */
	imap_search_match_fn	*match;
	imap_search_done_fn	*done;
	void			*arg;
	bool			 need_record;
	bool			 need_bytes;
	bool			 need_body;	/* BODY, TEXT: all of it */
	bool			 has_modseq;
	uint32_t		*uids;
	uint32_t		 nuids, pos;
	struct imap_msg	*msgs;
	uint32_t		 nmsgs, cur;
	struct buf		 bytes;		/* the message */
	uint64_t		 off;
	uint64_t		 read_end;	/* bytes of the message to read */
};

static void	eval_next_chunk(struct imap_search_eval *);
static void	eval_next_msg(struct imap_search_eval *);

static void
eval_free_msgs(struct imap_search_eval *x)
{
	uint32_t i;

	for (i = 0; i < x->nmsgs; i++)
		imap_msg_clear(&x->msgs[i]);
	x->nmsgs = x->cur = 0;
}

void
imap_search_eval_free(struct imap_search_eval **ep)
{
	struct imap_search_eval *x = *ep;

	*ep = NULL;
	if (x == NULL)
		return;
	eval_free_msgs(x);
	free(x->msgs);
	free(x->uids);
	buf_clear(&x->bytes);
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

/*
 * HEADER of a field the envelope keeps whole (Subject, Date, Message-ID,
 * In-Reply-To: the unfolded value, and the decoded Subject) is answered
 * from the record; T_UNKNOWN for other fields, which need the header.
 * The envelope has the first of repeated fields only: with a repeated
 * Subject, a match in a later one is missed (rare, and RFC 5322 allows one).
 */
static enum tri
search_header_env(const struct msgrec_envelope *env,
    const struct imap_search_node *nd)
{
	const char *v = NULL;

	if (env == NULL)
		return T_UNKNOWN;
#define IS(n)	(nd->str.len == strlen(n) && \
	    strncasecmp(nd->str.p, n, nd->str.len) == 0)
	if (IS("subject")) {
		if (env->subject == NULL)
			return T_NO;
		return search_str_in(env->subject, &nd->value) ||
		    search_str_in(env->subject_dec, &nd->value) ? T_YES : T_NO;
	}
	if (IS("date"))
		v = env->date;
	else if (IS("message-id"))
		v = env->message_id;
	else if (IS("in-reply-to"))
		v = env->in_reply_to;
	else
		return T_UNKNOWN;
#undef IS
	if (v == NULL)
		return T_NO;
	return search_str_in(v, &nd->value) ? T_YES : T_NO;
}

/* HEADER field string: any field of that name whose text holds it. */
static enum tri
search_header(const struct imap_search_eval *x, const struct msgrec *r,
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
search_body(const struct imap_search_eval *x, const struct msgrec *r,
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
search_text(const struct imap_search_eval *x, const struct msgrec *r,
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
search_eval(struct imap_search_eval *x, const struct imap_msg *m,
    const struct msgrec *r, int idx, int depth)
{
	const struct imap_search_node *nd = &x->q->nodes[idx];
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
		    c = x->q->nodes[c].next) {
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
		u = search_eval(x, m, r, x->q->nodes[nd->child].next,
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
	case IMAP_SEARCH_SAVEDATESUPPORTED:
		return T_YES;
	/* RFC 3501 6.4.4; under IMAP4rev2 no message is \Recent. */
	case IMAP_SEARCH_RECENT:
		return imap_view_is_recent(x->s, m->uid) ? T_YES : T_NO;
	case IMAP_SEARCH_OLD:
		return imap_view_is_recent(x->s, m->uid) ? T_NO : T_YES;
	case IMAP_SEARCH_NEW:
		return imap_view_is_recent(x->s, m->uid) &&
		    (m->flags & MAIL_F_SEEN) == 0 ? T_YES : T_NO;
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
		if ((t = search_header_env(env, nd)) != T_UNKNOWN)
			return t;
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
eval_done(struct imap_search_eval *x, const char *code, const char *text)
{
	x->s->req_id = 0;
	x->done(x->arg, code, text);
}

static void	eval_read_more(struct imap_search_eval *);

/* Decides the current message, with its bytes if they were read. */
static void
eval_decide(struct imap_search_eval *x, bool with_bytes)
{
	struct imap_msg *m = &x->msgs[x->cur];
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
	t = search_eval(x, m, rec_open ? &rec : NULL, x->q->root, 0);
	if (t == T_UNKNOWN && !with_bytes && m->size <= SEARCH_BYTES_MAX) {
		/* Read the message (or its header), then decide again. */
		buf_reset(&x->bytes);
		x->off = 0;
		x->read_end = m->size;
		if (!x->need_body && rec_open && rec.nparts > 0 &&
		    rec.parts[0].body_off > 0 &&
		    rec.parts[0].body_off <= m->size)
			x->read_end = rec.parts[0].body_off;
		if (rec_open)
			msgrec_close(&rec);
		eval_read_more(x);
		return;
	}
	if (t == T_YES)
		x->match(x->arg, m, rec_open ? &rec : NULL);
	if (rec_open)
		msgrec_close(&rec);
	buf_reset(&x->bytes);
	x->cur++;
	eval_next_msg(x);
}

static void
eval_body_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_BODY_rep *r = rep;
	struct imap_search_eval *x = arg;

	(void)c;
	x->s->req_id = 0;
	if (st == IPC_S_NOTFOUND) {
		/* Expunged meanwhile: it does not match. */
		buf_reset(&x->bytes);
		x->cur++;
		eval_next_msg(x);
		return;
	}
	if (st != IPC_S_OK || r->data.len == 0) {
		eval_done(x, "SERVERBUG", text != NULL ? text :
		    "Cannot read a message");
		return;
	}
	buf_append(&x->bytes, r->data.p, r->data.len);
	x->off += r->data.len;
	eval_read_more(x);
}

static void
eval_read_more(struct imap_search_eval *x)
{
	struct imap_session *s = x->s;
	struct imap_msg *m = &x->msgs[x->cur];
	struct ipc_MSG_BODY_req req;
	struct ipc_chan *store;

	if (x->off >= x->read_end) {
		eval_decide(x, true);
		return;
	}
	if ((store = imapd_store()) == NULL) {
		eval_done(x, "UNAVAILABLE", "Store unavailable, try again");
		return;
	}
	req.mailbox_id = s->view->mailbox_id;
	req.uid = m->uid;
	req.offset = x->off;
	req.length = x->read_end - x->off > SEARCH_SLICE ? SEARCH_SLICE :
	    (uint32_t)(x->read_end - x->off);
	s->req_id = ipc_request(store, IPC_T_MSG_BODY, conn_id(s->conn), &req,
	    eval_body_cb, x);
}

static void
eval_next_msg(struct imap_search_eval *x)
{
	if (x->cur < x->nmsgs) {
		eval_decide(x, false);
		return;
	}
	eval_free_msgs(x);
	eval_next_chunk(x);
}

static void
eval_meta_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_FETCH_rep *r = rep;
	struct imap_search_eval *x = arg;
	struct wire_iter kit;
	uint64_t roff = 0;
	uint32_t i, n;

	(void)c;
	x->s->req_id = 0;
	if (st != IPC_S_OK) {
		eval_done(x, st == IPC_S_UNAVAIL ? "UNAVAILABLE" :
		    "SERVERBUG", text != NULL ? text : "Cannot search");
		return;
	}
	n = r->found.len / 4;
	if (r->done == 0 || r->done > x->nuids - x->pos || n > r->done) {
		eval_done(x, "SERVERBUG", "Malformed reply from the store");
		return;
	}
	x->pos += r->done;
	x->msgs = xreallocarray(x->msgs, n > 0 ? n : 1, sizeof(*x->msgs));
	wire_strlist_iter(&r->keywords, &kit);
	for (i = 0; i < n; i++)
		switch (imap_msg_take(&x->msgs[x->nmsgs], x->s->view, r, i,
		    wire_strlist_next(&kit), &roff)) {
		case 1:
			x->nmsgs++;
			break;
		case 0:		/* expunged from the view meanwhile */
			break;
		default:
			eval_done(x, "SERVERBUG",
			    "Malformed reply from the store");
			return;
		}
	x->cur = 0;
	eval_next_msg(x);
}

static void
eval_next_chunk(struct imap_search_eval *x)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_FETCH_req req;
	struct ipc_chan *store;
	struct buf vec = BUF_INIT;
	uint32_t i;

	if (x->pos >= x->nuids) {
		eval_done(x, NULL, NULL);
		return;
	}
	if ((store = imapd_store()) == NULL) {
		eval_done(x, "UNAVAILABLE", "Store unavailable, try again");
		return;
	}
	for (i = x->pos; i < x->nuids && i - x->pos < SEARCH_CHUNK; i++)
		imap_view_vec_put(&vec, x->uids[i]);
	req.mailbox_id = s->view->mailbox_id;
	req.uids.p = vec.data;
	req.uids.len = (uint32_t)vec.len;
	req.with_record = x->need_record;
	s->req_id = ipc_request(store, IPC_T_MSG_FETCH, conn_id(s->conn), &req,
	    eval_meta_cb, x);
	buf_clear(&vec);
}

/*
 * Walks the tree: resolves its sets, notes what the keys need.  Returns
 * NULL or a BAD text.
 */
static const char *
eval_prepare(struct imap_search_eval *x)
{
	struct imap_view *v = x->s->view;
	struct imap_search_node *nd;
	const char *why;
	int i;

	for (i = 0; i < x->q->n; i++) {
		nd = &x->q->nodes[i];
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
			x->need_record = true;
			x->need_bytes = true;
			break;
		case IMAP_SEARCH_BODY:
		case IMAP_SEARCH_TEXT:
			x->need_record = true;
			x->need_bytes = true;
			x->need_body = true;
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

bool
imap_search_charset_ok(const struct imap_search *q)
{
	return q->charset.p == NULL || (q->charset.len == 5 &&
	    strncasecmp(q->charset.p, "UTF-8", 5) == 0) ||
	    (q->charset.len == 8 && strncasecmp(q->charset.p, "US-ASCII",
	    8) == 0);
}

struct imap_search_eval *
imap_search_eval_new(struct imap_session *s, struct imap_search *q,
    bool want_record, imap_search_match_fn *match, imap_search_done_fn *done,
    void *arg, const char **bad_r)
{
	struct imap_search_eval *x;

	x = xcalloc(1, sizeof(*x));
	x->s = s;
	x->q = q;
	x->match = match;
	x->done = done;
	x->arg = arg;
	x->need_record = want_record;
	if ((*bad_r = eval_prepare(x)) != NULL) {
		imap_search_eval_free(&x);
		return NULL;
	}
	return x;
}

bool
imap_search_eval_has_modseq(const struct imap_search_eval *e)
{
	return e->has_modseq;
}

void
imap_search_eval_start(struct imap_search_eval *x)
{
	struct imap_view *v = x->s->view;
	uint32_t i;

	x->nuids = v->n;
	x->uids = xreallocarray(NULL, x->nuids > 0 ? x->nuids : 1,
	    sizeof(*x->uids));
	for (i = 0; i < x->nuids; i++)
		x->uids[i] = v->uids[i];
	x->pos = 0;
	eval_next_chunk(x);
}

/* --- Results --- */

void
imap_search_result_add(struct imap_search_result *res, uint32_t num,
    uint32_t uid, uint64_t modseq)
{
	if (res->n == res->cap) {
		res->cap = res->cap ? res->cap * 2 : 64;
		res->nums = xreallocarray(res->nums, res->cap,
		    sizeof(*res->nums));
		res->uids = xreallocarray(res->uids, res->cap,
		    sizeof(*res->uids));
		res->modseqs = xreallocarray(res->modseqs, res->cap,
		    sizeof(*res->modseqs));
	}
	res->nums[res->n] = num;
	res->uids[res->n] = uid;
	res->modseqs[res->n] = modseq;
	res->n++;
	if (modseq > res->highest_modseq)
		res->highest_modseq = modseq;
}

void
imap_search_result_clear(struct imap_search_result *res)
{
	free(res->nums);
	free(res->uids);
	free(res->modseqs);
	memset(res, 0, sizeof(*res));
}

void
imap_search_result_write_set(struct buf *out, const uint32_t *nums,
    uint32_t n)
{
	uint32_t i, j;

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && nums[j - 1] != UINT32_MAX &&
		    nums[j] == nums[j - 1] + 1; j++)
			;
		if (i > 0)
			buf_append(out, ",", 1);
		if (j - i == 1)
			buf_printf(out, "%u", nums[i]);
		else
			buf_printf(out, "%u:%u", nums[i], nums[j - 1]);
	}
}

/*
 * The positions [*from, *to) of res that PARTIAL asks for (RFC 9394 3.1):
 * 1 is the first result, -1 the last; a range may be written either way
 * round and may reach past the results.
 */
static void
result_partial(const struct imap_search *q, uint32_t n, uint32_t *from,
    uint32_t *to)
{
	int64_t a = q->partial_first, b = q->partial_last, t;

	if (a < 0) {
		/* -1 is position n, -k is n - k + 1. */
		a = (int64_t)n + a + 1;
		b = (int64_t)n + b + 1;
	}
	if (a > b) {
		t = a;
		a = b;
		b = t;
	}
	if (a < 1)
		a = 1;
	if (b > (int64_t)n)
		b = n;
	if (a > b) {
		*from = *to = 0;
		return;
	}
	*from = (uint32_t)(a - 1);
	*to = (uint32_t)b;
}

/*
 * MODSEQ of an ESEARCH: the highest of the messages it returns (RFC 7162
 * 3.1.5, RFC 4731 3.2): all of them with ALL or COUNT, else those MIN,
 * MAX and PARTIAL name.
 */
static uint64_t
result_modseq(const struct imap_search_result *res, unsigned ret,
    uint32_t from, uint32_t to)
{
	uint64_t m = 0;
	uint32_t i;

	if (ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT))
		return res->highest_modseq;
	if ((ret & IMAP_SEARCH_RET_MIN) && res->modseqs[0] > m)
		m = res->modseqs[0];
	if ((ret & IMAP_SEARCH_RET_MAX) && res->modseqs[res->n - 1] > m)
		m = res->modseqs[res->n - 1];
	if (ret & IMAP_SEARCH_RET_PARTIAL)
		for (i = from; i < to; i++)
			if (res->modseqs[i] > m)
				m = res->modseqs[i];
	return m;
}

/* RFC 5182 with RFC 9394 3.2: what "$" becomes. */
static void
result_save(struct imap_session *s, const struct imap_search *q,
    const struct imap_search_result *res, uint32_t from, uint32_t to)
{
	struct buf vec = BUF_INIT;
	uint32_t i;

	if (s->view == NULL)
		return;
	if ((q->ret & IMAP_SEARCH_RET_PARTIAL) &&
	    !(q->ret & IMAP_SEARCH_RET_COUNT)) {
		if ((q->ret & IMAP_SEARCH_RET_MIN) && res->n > 0 && from > 0)
			imap_view_vec_put(&vec, res->uids[0]);
		for (i = from; i < to; i++)
			imap_view_vec_put(&vec, res->uids[i]);
		if ((q->ret & IMAP_SEARCH_RET_MAX) && res->n > 0 &&
		    to < res->n)
			imap_view_vec_put(&vec, res->uids[res->n - 1]);
	} else
		for (i = 0; i < res->n; i++)
			imap_view_vec_put(&vec, res->uids[i]);
	imap_view_save_result(s->view, &vec);
	buf_clear(&vec);
}

void
imap_search_result_esearch(struct imap_session *s,
    const struct imap_search *q, bool uid,
    const struct imap_search_result *res, bool modseq)
{
	struct buf *out = s->out;
	unsigned ret = q->ret;
	uint32_t from = 0, to = 0;

	if (ret & IMAP_SEARCH_RET_PARTIAL)
		result_partial(q, res->n, &from, &to);
	if (ret & IMAP_SEARCH_RET_SAVE)
		result_save(s, q, res, from, to);
	/* RETURN (SAVE) alone answers with no ESEARCH (RFC 5182 2.1). */
	if (ret == IMAP_SEARCH_RET_SAVE && q->ret_given)
		return;
	/* RETURN () is RETURN (ALL) (RFC 4731 3.1). */
	if ((ret & ~IMAP_SEARCH_RET_SAVE) == 0)
		ret |= IMAP_SEARCH_RET_ALL;
	buf_printf(out, "* ESEARCH (TAG \"%s\")%s", s->tag, uid ? " UID" : "");
	if ((ret & IMAP_SEARCH_RET_MIN) && res->n > 0)
		buf_printf(out, " MIN %u", res->nums[0]);
	if ((ret & IMAP_SEARCH_RET_MAX) && res->n > 0)
		buf_printf(out, " MAX %u", res->nums[res->n - 1]);
	if (ret & IMAP_SEARCH_RET_COUNT)
		buf_printf(out, " COUNT %u", res->n);
	if ((ret & IMAP_SEARCH_RET_ALL) && res->n > 0) {
		buf_append(out, " ALL ", 5);
		imap_search_result_write_set(out, res->nums, res->n);
	}
	if (ret & IMAP_SEARCH_RET_PARTIAL) {
		buf_printf(out, " PARTIAL (%lld:%lld ",
		    (long long)q->partial_first, (long long)q->partial_last);
		if (from < to)
			imap_search_result_write_set(out, res->nums + from,
			    to - from);
		else
			buf_append(out, "NIL", 3);
		buf_append(out, ")", 1);
	}
	if (modseq && res->n > 0)
		buf_printf(out, " MODSEQ %llu",
		    (unsigned long long)result_modseq(res, ret, from, to));
	buf_append(out, "\r\n", 2);
}
