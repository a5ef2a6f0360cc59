/* SPDX-License-Identifier: ISC */
/*
 * imap_search_eval.c: evaluates a search program over the selected
 * mailbox (RFC 9051 6.4.4 with the keys of RFC 3501 9, CONDSTORE's MODSEQ
 * of RFC 7162 3.1.5, WITHIN of RFC 5032, SAVEDATE of RFC 8514 and
 * OBJECTID of RFC 8474), for SEARCH, SORT and THREAD.
 *
 * The tree of imap_search.c is evaluated over the view's messages in
 * chunks: MSG_FETCH gives flags, dates, sizes, ids and (when a key or the
 * caller looks at the envelope) the parsed record.  The text keys (FROM,
 * TO, CC, BCC, SUBJECT, HEADER, BODY, TEXT) are matched by storaged, next
 * to the messages (lib/msgsearch.h), and come back as one bit per key and
 * message.  They are asked with the chunk when nothing else could decide
 * a message; otherwise the other keys decide first (the evaluation is
 * three-valued: yes, no, or not without the text keys), and a second
 * MSG_FETCH asks the text keys for the messages left undecided.  When the
 * tree has text keys alone and the caller wants no more of a message than
 * its UID, sequence number and modseq (SEARCH), MSG_FETCH asks for the
 * keys' bits alone (hits_only): no flags, keywords or dates go over the
 * socket or through imap_msg_take() for the thousands that do not match.
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
#include "msgsearch.h"
#include "objid.h"
#include "wire.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SEARCH_CHUNK		4096	/* messages per MSG_FETCH */
#define SEARCH_CHUNK_RECORDS	256	/* when records come with them */
#define SEARCH_CHUNK_HITS	16384	/* when only the keys' bits come */

enum tri { T_NO, T_YES, T_UNKNOWN };

struct imap_search_eval {
	struct imap_session	*s;
	struct imap_search	*q;		/* borrowed */
	imap_search_match_fn	*match;
	imap_search_done_fn	*done;
	void			*arg;
	bool			 need_record;
	bool			 need_msg;	/* the match wants flags etc. */
	bool			 has_modseq;
	/* Text keys, matched by storaged: the key of each node, or -1. */
	int			*text_key;
	uint32_t		 ntext;
	size_t			 stride;	/* bytes of bits per message */
	bool			 text_first;	/* only text keys decide */
	struct buf		 kinds, fields, values;	/* the request's lists */
	/* Messages to search, and how far. */
	uint32_t		*uids;
	uint32_t		 nuids, pos;
	/* The chunk: its messages, their decisions so far. */
	struct imap_msg	*msgs;
	enum tri		*dec;
	uint32_t		 nmsgs;
	const uint8_t		*hits;		/* bits of the message decided */
	uint8_t			*chunk_hits;	/* stride per message, or NULL */
	/* UIDs of the chunk the text keys must decide, and how far. */
	uint32_t		*pend;
	uint32_t		 npend, pend_pos;
};

static void	eval_next_chunk(struct imap_search_eval *);

static void
eval_free_msgs(struct imap_search_eval *x)
{
	uint32_t i;

	for (i = 0; i < x->nmsgs; i++)
		imap_msg_clear(&x->msgs[i]);
	x->nmsgs = 0;
	free(x->chunk_hits);
	x->chunk_hits = NULL;
	x->npend = x->pend_pos = 0;
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
	free(x->dec);
	free(x->pend);
	free(x->uids);
	free(x->text_key);
	buf_clear(&x->kinds);
	buf_clear(&x->fields);
	buf_clear(&x->values);
	free(x);
}

/* --- Matching --- */

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
	case IMAP_SEARCH_TO:
	case IMAP_SEARCH_CC:
	case IMAP_SEARCH_BCC:
	case IMAP_SEARCH_SUBJECT:
	case IMAP_SEARCH_HEADER:
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		if (x->hits == NULL || x->text_key[idx] < 0)
			return T_UNKNOWN;
		c = x->text_key[idx];
		return (x->hits[c / 8] >> (c % 8)) & 1 ? T_YES : T_NO;
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

/* Decides message i of the chunk with hits (NULL: without text keys). */
static enum tri
eval_decide(struct imap_search_eval *x, uint32_t i, const uint8_t *hits)
{
	struct imap_msg *m = &x->msgs[i];
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
	x->hits = hits;
	t = search_eval(x, m, rec_open ? &rec : NULL, x->q->root, 0);
	x->hits = NULL;
	if (rec_open)
		msgrec_close(&rec);
	return t;
}

/*
 * Gives the chunk's matches in order; one still undecided was expunged
 * before its text could be searched, and does not match.
 */
static void
eval_emit(struct imap_search_eval *x)
{
	struct imap_msg *m;
	struct msgrec rec;
	const char *why;
	bool rec_open;
	uint32_t i;

	for (i = 0; i < x->nmsgs; i++) {
		if (x->dec[i] != T_YES)
			continue;
		m = &x->msgs[i];
		rec_open = m->rec != NULL &&
		    msgrec_open(m->rec, m->reclen, m->size, &rec, &why) == 0;
		x->match(x->arg, m, rec_open ? &rec : NULL);
		if (rec_open)
			msgrec_close(&rec);
	}
	eval_free_msgs(x);
	eval_next_chunk(x);
}

/* Fills a MSG_FETCH request's text keys. */
static void
eval_text_req(struct imap_search_eval *x, struct ipc_MSG_FETCH_req *req)
{
	req->text_kinds.count = x->ntext;
	req->text_kinds.p = x->kinds.data;
	req->text_fields.count = x->ntext;
	req->text_fields.p = x->fields.data;
	req->text_fields.len = x->fields.len;
	req->text_values.count = x->ntext;
	req->text_values.p = x->values.data;
	req->text_values.len = x->values.len;
}

/* Whether reply r's text_hits has the bits of n messages. */
static bool
eval_hits_ok(const struct imap_search_eval *x,
    const struct ipc_MSG_FETCH_rep *r, uint32_t n)
{
	return r->text_hits.len == (uint64_t)n * x->stride;
}

/*
 * Checks the reply to a MSG_FETCH of `asked` UIDs, with the text keys'
 * bits if with_hits: true with *n the messages it found, or false when
 * it failed or is malformed (the run has ended with a NO).
 */
static bool
eval_reply_ok(struct imap_search_eval *x, enum ipc_status st,
    const char *text, const struct ipc_MSG_FETCH_rep *r, uint32_t asked,
    bool with_hits, uint32_t *n)
{
	x->s->req_id = 0;
	if (st != IPC_S_OK) {
		eval_done(x, st == IPC_S_UNAVAIL ? "UNAVAILABLE" :
		    "SERVERBUG", text != NULL ? text : "Cannot search");
		return false;
	}
	*n = r->found.len / 4;
	if (r->done == 0 || r->done > asked || *n > r->done ||
	    (with_hits && !eval_hits_ok(x, r, *n))) {
		eval_done(x, "SERVERBUG", "Malformed reply from the store");
		return false;
	}
	return true;
}

static void	eval_text_next(struct imap_search_eval *);

static void
eval_text_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_FETCH_rep *r = rep;
	struct imap_search_eval *x = arg;
	uint32_t i, j, n, uid;

	(void)c;
	if (!eval_reply_ok(x, st, text, r, x->npend - x->pend_pos, true, &n))
		return;
	x->pend_pos += r->done;
	/* Both the chunk and the reply are in UID order. */
	for (i = 0, j = 0; j < n; j++) {
		uid = imap_view_vec_get(r->found.p, j);
		while (i < x->nmsgs && x->msgs[i].uid < uid)
			i++;
		if (i == x->nmsgs)
			break;
		if (x->msgs[i].uid == uid && x->dec[i] == T_UNKNOWN)
			x->dec[i] = eval_decide(x, i,
			    r->text_hits.p + (size_t)j * x->stride);
	}
	eval_text_next(x);
}

/* Asks the text keys for the chunk's undecided messages. */
static void
eval_text_next(struct imap_search_eval *x)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_FETCH_req req;
	struct ipc_chan *store;
	struct buf vec = BUF_INIT;
	uint32_t i;

	if (x->pend_pos >= x->npend) {
		eval_emit(x);
		return;
	}
	if ((store = imapd_store()) == NULL) {
		eval_done(x, "UNAVAILABLE", "Store unavailable, try again");
		return;
	}
	for (i = x->pend_pos; i < x->npend; i++)
		imap_view_vec_put(&vec, x->pend[i]);
	memset(&req, 0, sizeof(req));
	req.mailbox_id = s->view->mailbox_id;
	req.uids.p = vec.data;
	req.uids.len = (uint32_t)vec.len;
	eval_text_req(x, &req);
	s->req_id = ipc_request(store, IPC_T_MSG_FETCH, conn_id(s->conn), &req,
	    eval_text_cb, x);
	buf_clear(&vec);
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
	bool with_hits;

	(void)c;
	with_hits = x->text_first && x->ntext > 0;
	if (!eval_reply_ok(x, st, text, r, x->nuids - x->pos, with_hits, &n))
		return;
	x->pos += r->done;
	x->msgs = xreallocarray(x->msgs, n > 0 ? n : 1, sizeof(*x->msgs));
	x->dec = xreallocarray(x->dec, n > 0 ? n : 1, sizeof(*x->dec));
	x->pend = xreallocarray(x->pend, n > 0 ? n : 1, sizeof(*x->pend));
	if (with_hits)
		x->chunk_hits = xreallocarray(NULL, n > 0 ? n : 1, x->stride);
	wire_strlist_iter(&r->keywords, &kit);
	for (i = 0; i < n; i++)
		switch (imap_msg_take(&x->msgs[x->nmsgs], x->s->view, r, i,
		    wire_strlist_next(&kit), &roff, NULL)) {
		case 1:
			if (with_hits)
				memcpy(x->chunk_hits + (size_t)x->nmsgs *
				    x->stride, r->text_hits.p +
				    (size_t)i * x->stride, x->stride);
			x->nmsgs++;
			break;
		case 0:		/* expunged from the view meanwhile */
			break;
		default:
			eval_done(x, "SERVERBUG",
			    "Malformed reply from the store");
			return;
		}
	for (i = 0; i < x->nmsgs; i++) {
		x->dec[i] = eval_decide(x, i, with_hits ? x->chunk_hits +
		    (size_t)i * x->stride : NULL);
		if (x->dec[i] == T_UNKNOWN)
			x->pend[x->npend++] = x->msgs[i].uid;
	}
	if (with_hits)
		x->npend = 0;	/* every key was there: nothing is left */
	eval_text_next(x);
}

/* Whether to ask the text keys' bits alone (see the top). */
static bool
eval_hits_only(const struct imap_search_eval *x)
{
	return x->text_first && x->ntext > 0 && !x->need_msg &&
	    !x->need_record;
}

/* A chunk's bits of the text keys alone: they decide every message. */
static void
eval_hits_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_FETCH_rep *r = rep;
	struct imap_search_eval *x = arg;
	struct imap_msg m;
	uint32_t i, n;

	(void)c;
	if (!eval_reply_ok(x, st, text, r, x->nuids - x->pos, true, &n))
		return;
	if (r->modseqs.count != n) {
		eval_done(x, "SERVERBUG", "Malformed reply from the store");
		return;
	}
	x->pos += r->done;
	memset(&m, 0, sizeof(m));
	for (i = 0; i < n; i++) {
		m.uid = imap_view_vec_get(r->found.p, i);
		/* Not in the view: expunged here meanwhile. */
		if ((m.msn = imap_view_msn(x->s->view, m.uid)) == 0)
			continue;
		m.modseq = wire_u64list_get(&r->modseqs, i);
		x->hits = r->text_hits.p + (size_t)i * x->stride;
		if (search_eval(x, &m, NULL, x->q->root, 0) == T_YES)
			x->match(x->arg, &m, NULL);
		x->hits = NULL;
	}
	eval_next_chunk(x);
}

static void
eval_next_chunk(struct imap_search_eval *x)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_FETCH_req req;
	struct ipc_chan *store;
	struct buf vec = BUF_INIT;
	uint32_t i, chunk;

	if (x->pos >= x->nuids) {
		eval_done(x, NULL, NULL);
		return;
	}
	if ((store = imapd_store()) == NULL) {
		eval_done(x, "UNAVAILABLE", "Store unavailable, try again");
		return;
	}
	chunk = x->need_record ? SEARCH_CHUNK_RECORDS : eval_hits_only(x) ?
	    SEARCH_CHUNK_HITS : SEARCH_CHUNK;
	for (i = x->pos; i < x->nuids && i - x->pos < chunk; i++)
		imap_view_vec_put(&vec, x->uids[i]);
	memset(&req, 0, sizeof(req));
	req.mailbox_id = s->view->mailbox_id;
	req.uids.p = vec.data;
	req.uids.len = (uint32_t)vec.len;
	req.with_record = x->need_record;
	if (x->text_first && x->ntext > 0)
		eval_text_req(x, &req);
	req.hits_only = eval_hits_only(x);
	s->req_id = ipc_request(store, IPC_T_MSG_FETCH, conn_id(s->conn), &req,
	    req.hits_only ? eval_hits_cb : eval_meta_cb, x);
	buf_clear(&vec);
}

/* Adds node i's text key to the lists storaged gets. */
static const char *
eval_add_text(struct imap_search_eval *x, int i, enum msgsearch_kind kind,
    const struct imap_str *field, const struct imap_str *value)
{
	char *f, *v;

	if (x->ntext >= MSGSEARCH_MAX_KEYS)
		return "Too many text keys";
	/* IMAP strings hold no NUL (RFC 9051 4.3): a copy is the same text. */
	if ((value->len > 0 && memchr(value->p, '\0', value->len) != NULL) ||
	    (field != NULL && field->len > 0 &&
	    memchr(field->p, '\0', field->len) != NULL))
		return "NUL in a search string";
	f = field != NULL ? xstrndup(field->p, field->len) : xstrdup("");
	v = xstrndup(value->p, value->len);
	wire_u64list_add(&x->kinds, (uint64_t)kind);
	wire_strlist_add(&x->fields, f);
	wire_strlist_add(&x->values, v);
	free(f);
	free(v);
	x->text_key[i] = (int)x->ntext++;
	return NULL;
}

/*
 * Walks the tree: resolves its sets, notes what the keys need and which
 * go to storaged.  Returns NULL or a BAD text.
 */
static const char *
eval_prepare(struct imap_search_eval *x)
{
	struct imap_view *v = x->s->view;
	struct imap_search_node *nd;
	const char *why = NULL;
	int i;

	x->text_key = xreallocarray(NULL, x->q->n > 0 ? (size_t)x->q->n : 1,
	    sizeof(*x->text_key));
	x->text_first = true;
	for (i = 0; i < x->q->n && why == NULL; i++) {
		nd = &x->q->nodes[i];
		x->text_key[i] = -1;
		switch (nd->key) {
		case IMAP_SEARCH_AND:
		case IMAP_SEARCH_OR:
		case IMAP_SEARCH_NOT:
		case IMAP_SEARCH_ALL:
			break;
		case IMAP_SEARCH_FROM:
			why = eval_add_text(x, i, MSGSEARCH_FROM, NULL,
			    &nd->str);
			break;
		case IMAP_SEARCH_TO:
			why = eval_add_text(x, i, MSGSEARCH_TO, NULL, &nd->str);
			break;
		case IMAP_SEARCH_CC:
			why = eval_add_text(x, i, MSGSEARCH_CC, NULL, &nd->str);
			break;
		case IMAP_SEARCH_BCC:
			why = eval_add_text(x, i, MSGSEARCH_BCC, NULL,
			    &nd->str);
			break;
		case IMAP_SEARCH_SUBJECT:
			why = eval_add_text(x, i, MSGSEARCH_SUBJECT, NULL,
			    &nd->str);
			break;
		case IMAP_SEARCH_HEADER:
			why = eval_add_text(x, i, MSGSEARCH_HEADER, &nd->str,
			    &nd->value);
			break;
		case IMAP_SEARCH_BODY:
			why = eval_add_text(x, i, MSGSEARCH_BODY, NULL,
			    &nd->str);
			break;
		case IMAP_SEARCH_TEXT:
			why = eval_add_text(x, i, MSGSEARCH_TEXT, NULL,
			    &nd->str);
			break;
		case IMAP_SEARCH_SEQSET:
		case IMAP_SEARCH_UID:
			x->text_first = false;
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
		case IMAP_SEARCH_SENTBEFORE:
		case IMAP_SEARCH_SENTON:
		case IMAP_SEARCH_SENTSINCE:
			x->text_first = false;
			x->need_record = true;
			break;
		case IMAP_SEARCH_MODSEQ:
			x->text_first = false;
			x->has_modseq = true;
			break;
		default:
			x->text_first = false;
			break;
		}
	}
	x->stride = (x->ntext + 7) / 8;
	return why;
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
    unsigned int want, imap_search_match_fn *match, imap_search_done_fn *done,
    void *arg, const char **bad_r)
{
	struct imap_search_eval *x;

	x = xcalloc(1, sizeof(*x));
	x->s = s;
	x->q = q;
	x->match = match;
	x->done = done;
	x->arg = arg;
	x->need_record = (want & IMAP_SEARCH_WANT_RECORD) ==
	    IMAP_SEARCH_WANT_RECORD;
	x->need_msg = (want & IMAP_SEARCH_WANT_MSG) != 0;
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
