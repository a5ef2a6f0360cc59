/* SPDX-License-Identifier: ISC */
/*
 * jmap_email_query.c: Email/query (RFC 8621 4.4) and Email/queryChanges
 * (4.5) over storaged's EMAIL_LIST, EMAIL_GET (the parsed records, for
 * the filters and sorts that need them) and EMAIL_BODY (the headers, for
 * header conditions).  Email/query lists the emails, filters and sorts
 * them here: storaged has no query engine of its own.
 *
 * Not done yet: full-text filters (text, body), queryChanges
 * (cannotCalculateChanges, as RFC 8620 5.6 allows).
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "casemap.h"
#include "mime.h"
#include "msgrec.h"
#include "msgsearch.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define EM_FILTER_DEPTH	16		/* FilterOperator nesting */
#define EM_GET_MAX	4096		/* ids in one EMAIL_GET */

/* json_str that takes a missing value (NULL). */
static const char *
em_str(const struct json *v)
{
	return v != NULL ? json_str(v, NULL) : NULL;
}

/* Parses a UTCDate (RFC 8620 1.4, "Z" and upper case only). */
static bool
em_utcdate_parse(const char *s, int64_t *t)
{
	struct tm tm;
	int y, mo, d, h, mi, se, n = 0;

	if (s == NULL || strlen(s) != 20 || sscanf(s,
	    "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se,
	    &n) != 6 || n != 20)
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60 || y < 1970)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = (int64_t)timegm(&tm);
	return true;
}

/* Whether an email of flags and keywords kw has keyword k (lower case). */
static bool
em_has_keyword(uint64_t flags, const char *kw, const char *k)
{
	uint32_t f = em_kw_flag(k);
	const char *p, *e;
	size_t n = strlen(k);

	if (f != 0)
		return (flags & f) != 0;
	for (p = kw; p != NULL && *p != '\0'; p = *e == ' ' ? e + 1 : e) {
		if ((e = strchr(p, ' ')) == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) == n && strncasecmp(p, k, n) == 0)
			return true;
	}
	return false;
}

/* --- Email/query (RFC 8621 4.4), Email/queryChanges (4.5) --- */

enum eq_op { EQ_AND, EQ_OR, EQ_NOT, EQ_COND };

/* Text conditions, as msgsearch.h's kinds. */
static const struct {
	const char		*name;
	enum msgsearch_kind	 kind;
} eq_text[] = {
	{ "from", MSGSEARCH_FROM }, { "to", MSGSEARCH_TO },
	{ "cc", MSGSEARCH_CC }, { "bcc", MSGSEARCH_BCC },
	{ "subject", MSGSEARCH_SUBJECT },
};

#define EQ_NTEXT	(sizeof(eq_text) / sizeof(eq_text[0]))

/* Thread keyword conditions. */
enum { EQ_TK_ALL, EQ_TK_SOME, EQ_TK_NONE, EQ_NTK };

/* One FilterOperator or FilterCondition (RFC 8620 5.5, RFC 8621 4.4.1). */
struct eq_node {
	enum eq_op	 op;
	struct eq_node	**kids;
	size_t		 nkids;
	/* A condition: each member that is set must hold. */
	uint64_t	 in_mbox;		/* 0: none */
	uint64_t	*not_in;
	size_t		 nnot_in;
	bool		 has_not_in;
	bool		 has_before, has_after, has_min, has_max, has_att_c;
	int64_t		 before, after;
	uint64_t	 min_size, max_size;
	bool		 has_att;
	char		*has_kw, *not_kw;
	char		*tkw[EQ_NTK];
	struct buf	 text[EQ_NTEXT];	/* casemap keys */
	bool		 has_text[EQ_NTEXT];
	/* header: [name] or [name, value] (value: its casemap key) */
	char		*hdr_name;
	struct buf	 hdr_key;
	bool		 hdr_value;
};

enum eq_sort_prop {
	EQ_S_RECEIVED, EQ_S_SIZE, EQ_S_FROM, EQ_S_TO, EQ_S_SUBJECT,
	EQ_S_SENT, EQ_S_HASKW, EQ_S_ALLKW, EQ_S_SOMEKW
};

struct eq_sort {
	enum eq_sort_prop prop;
	bool		 asc;
	char		*kw;
};

/* One email of the list, with what filters and sorts need of it. */
struct eq_email {
	uint64_t	 id, thread, received, size, flags;
	char		*kw;
	uint64_t	*mboxes;
	uint32_t	 nmb;
	/* Of the record, when it was read. */
	bool		 has_rec, rec_match, has_att, has_sent;
	int64_t		 sent_at;
	char		*from_key, *to_key, *subj_key;
	/* Its thread's run in the order by thread (thread conditions). */
	size_t		 tfirst, tlen;
	bool		 keep;
	bool		 unknown;	/* the filter needs record or header */
	char		*hdr;		/* its header, when read */
	size_t		 hdrlen;
};

struct email_query_ctx {
	struct eq_node	*filter;		/* NULL: all */
	struct eq_sort	*sort;
	size_t		 nsort;
	bool		 collapse;
	struct jmap_query_win win;
	bool		 need_record, need_thread, rec_sort, need_header;
	size_t		 hnext;		/* in ask: the header being read */
	struct buf	 hbuf;		/* its bytes so far */
	uint32_t	 mailbox_id;
	uint64_t	 state;
	bool		 have_state;
	struct eq_email	*em;
	size_t		 nem, capem;
	size_t		*by_thread;		/* indices of em by thread */
	/* Records asked for: indices of em, from rnext. */
	size_t		*ask;
	size_t		 nask, rnext;
};

static void
eq_node_free(struct eq_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		eq_node_free(n->kids[i]);
	free(n->kids);
	free(n->not_in);
	free(n->has_kw);
	free(n->not_kw);
	for (i = 0; i < EQ_NTK; i++)
		free(n->tkw[i]);
	for (i = 0; i < EQ_NTEXT; i++)
		buf_clear(&n->text[i]);
	free(n->hdr_name);
	buf_clear(&n->hdr_key);
	free(n);
}

static void
email_query_ctx_free(void *p)
{
	struct email_query_ctx *x = p;
	size_t i;

	eq_node_free(x->filter);
	for (i = 0; i < x->nsort; i++)
		free(x->sort[i].kw);
	free(x->sort);
	for (i = 0; i < x->nem; i++) {
		free(x->em[i].kw);
		free(x->em[i].mboxes);
		free(x->em[i].from_key);
		free(x->em[i].to_key);
		free(x->em[i].subj_key);
		free(x->em[i].hdr);
	}
	free(x->em);
	buf_clear(&x->hbuf);
	free(x->by_thread);
	free(x->ask);
	free(x);
}

/* A keyword argument, lower case; NULL with *why if it is not one. */
static char *
eq_keyword(const struct json *v, const char **why)
{
	const char *s = json_str(v, NULL);
	char *k;

	if (s == NULL) {
		*why = "A keyword must be a String";
		return NULL;
	}
	k = xstrdup(s);
	if (!em_keyword_norm(k)) {
		free(k);
		*why = "Not a valid keyword";
		return NULL;
	}
	return k;
}

/*
 * The header condition (RFC 8621 4.4.1): a field name (printable ASCII
 * but colon) and maybe the text to look for in its value.
 */
static bool
eq_header_cond(struct eq_node *n, const struct json *v, const char **why)
{
	const char *name, *text;
	size_t i;

	*why = "header must be a String[] of one or two elements";
	if (json_type(v) != JSON_ARRAY || json_len(v) < 1 ||
	    json_len(v) > 2 || (name = json_str(json_at(v, 0), NULL)) ==
	    NULL || *name == '\0')
		return false;
	for (i = 0; name[i] != '\0'; i++)
		if (name[i] < 33 || name[i] > 126 || name[i] == ':') {
			*why = "Not a header field name";
			return false;
		}
	if (json_len(v) == 2) {
		if ((text = json_str(json_at(v, 1), NULL)) == NULL)
			return false;
		(void)casemap_key(text, strlen(text), &n->hdr_key);
		n->hdr_value = true;
	}
	n->hdr_name = xstrdup(name);
	return true;
}

/*
 * Parses filter f into a node; NULL with *type and *why on error.  The
 * conditions JMAP has that this server cannot run yet are
 * unsupportedFilter (RFC 8620 5.5).
 */
static struct eq_node *
eq_parse(struct email_query_ctx *x, const struct json *f, int depth,
    const char **type, const char **why)
{
	struct eq_node *n;
	const struct json *v, *op;
	const char *name, *s;
	size_t i, k;

	*type = "invalidArguments";
	if (json_type(f) != JSON_OBJECT) {
		*why = "A filter must be an object";
		return NULL;
	}
	if (depth > EM_FILTER_DEPTH) {
		*type = "unsupportedFilter";
		*why = "The filter nests too deep";
		return NULL;
	}
	n = xcalloc(1, sizeof(*n));
	if ((op = json_get(f, "operator")) != NULL) {
		s = json_str(op, NULL);
		if (s != NULL && strcmp(s, "AND") == 0)
			n->op = EQ_AND;
		else if (s != NULL && strcmp(s, "OR") == 0)
			n->op = EQ_OR;
		else if (s != NULL && strcmp(s, "NOT") == 0)
			n->op = EQ_NOT;
		else {
			*why = "operator must be AND, OR or NOT";
			goto bad;
		}
		v = json_get(f, "conditions");
		if (v == NULL || json_type(v) != JSON_ARRAY ||
		    json_len(f) != 2) {
			*why = "A FilterOperator has operator and conditions";
			goto bad;
		}
		n->kids = xcalloc(json_len(v) + 1, sizeof(*n->kids));
		for (i = 0; i < json_len(v); i++) {
			if ((n->kids[i] = eq_parse(x, json_at(v, i), depth + 1,
			    type, why)) == NULL)
				goto bad;
			n->nkids++;
		}
		return n;
	}
	n->op = EQ_COND;
	for (i = 0; i < json_len(f); i++) {
		v = json_member(f, i, &name);
		if (strcmp(name, "inMailbox") == 0) {
			if ((n->in_mbox = jmap_id_parse(json_str(v, NULL),
			    OBJID_MAILBOX)) == 0) {
				/* An id of no mailbox: matches nothing. */
				n->in_mbox = UINT64_MAX;
				if (json_type(v) != JSON_STRING) {
					*why = "inMailbox must be an Id";
					goto bad;
				}
			}
		} else if (strcmp(name, "inMailboxOtherThan") == 0) {
			if (json_type(v) != JSON_ARRAY) {
				*why = "inMailboxOtherThan must be an Id[]";
				goto bad;
			}
			n->has_not_in = true;
			n->not_in = xcalloc(json_len(v) + 1,
			    sizeof(*n->not_in));
			for (k = 0; k < json_len(v); k++) {
				if (json_type(json_at(v, k)) != JSON_STRING) {
					*why = "inMailboxOtherThan must be "
					    "an Id[]";
					goto bad;
				}
				n->not_in[n->nnot_in++] = jmap_id_parse(
				    json_str(json_at(v, k), NULL),
				    OBJID_MAILBOX);
			}
		} else if (strcmp(name, "before") == 0 ||
		    strcmp(name, "after") == 0) {
			bool b = name[0] == 'b';

			if (!em_utcdate_parse(json_str(v, NULL), b ?
			    &n->before : &n->after)) {
				*why = "before and after must be UTCDates";
				goto bad;
			}
			if (b)
				n->has_before = true;
			else
				n->has_after = true;
		} else if (strcmp(name, "minSize") == 0 ||
		    strcmp(name, "maxSize") == 0) {
			int64_t sz;

			if (json_int(v, &sz) == -1 || sz < 0) {
				*why = "minSize and maxSize must be "
				    "UnsignedInts";
				goto bad;
			}
			if (name[1] == 'i') {
				n->has_min = true;
				n->min_size = (uint64_t)sz;
			} else {
				n->has_max = true;
				n->max_size = (uint64_t)sz;
			}
		} else if (strcmp(name, "hasKeyword") == 0) {
			if ((n->has_kw = eq_keyword(v, why)) == NULL)
				goto bad;
		} else if (strcmp(name, "notKeyword") == 0) {
			if ((n->not_kw = eq_keyword(v, why)) == NULL)
				goto bad;
		} else if (strcmp(name, "allInThreadHaveKeyword") == 0 ||
		    strcmp(name, "someInThreadHaveKeyword") == 0 ||
		    strcmp(name, "noneInThreadHaveKeyword") == 0) {
			k = name[0] == 'a' ? EQ_TK_ALL : name[0] == 's' ?
			    EQ_TK_SOME : EQ_TK_NONE;
			if ((n->tkw[k] = eq_keyword(v, why)) == NULL)
				goto bad;
			x->need_thread = true;
		} else if (strcmp(name, "hasAttachment") == 0) {
			if (json_bool(v, &n->has_att) == -1) {
				*why = "hasAttachment must be a Boolean";
				goto bad;
			}
			n->has_att_c = true;
			x->need_record = true;
		} else if (strcmp(name, "header") == 0) {
			if (!eq_header_cond(n, v, why))
				goto bad;
			x->need_header = true;
		} else if (strcmp(name, "text") == 0 ||
		    strcmp(name, "body") == 0) {
			/* Full-text search is not there yet. */
			*type = "unsupportedFilter";
			*why = "text and body filters are not supported yet";
			goto bad;
		} else {
			for (k = 0; k < EQ_NTEXT; k++)
				if (strcmp(name, eq_text[k].name) == 0)
					break;
			if (k == EQ_NTEXT) {
				*type = "unsupportedFilter";
				*why = "Unknown filter condition";
				goto bad;
			}
			if ((s = json_str(v, NULL)) == NULL) {
				*why = "A text condition must be a String";
				goto bad;
			}
			(void)casemap_key(s, strlen(s), &n->text[k]);
			n->has_text[k] = true;
			x->need_record = true;
		}
	}
	return n;
bad:
	eq_node_free(n);
	return NULL;
}

/* Whether any email of e's thread (or all, or none) has keyword k. */
static bool
eq_thread_kw(const struct email_query_ctx *x, const struct eq_email *e,
    const char *k, int mode)
{
	const struct eq_email *t;
	size_t i, have = 0;

	for (i = 0; i < e->tlen; i++) {
		t = &x->em[x->by_thread[e->tfirst + i]];
		if (em_has_keyword(t->flags, t->kw, k))
			have++;
	}
	switch (mode) {
	case EQ_TK_ALL:
		return have == e->tlen;
	case EQ_TK_SOME:
		return have > 0;
	default:
		return have == 0;
	}
}

enum tri { T_NO, T_YES, T_UNKNOWN };

/* Whether e's header (read before) matches n's header condition. */
static bool
eq_header_match(const struct eq_node *n, const struct eq_email *e)
{
	struct msgsearch_cache cache;
	const char *v;
	size_t vl;
	bool m;

	if (e->hdr == NULL)
		return false;
	if (!n->hdr_value)
		return mime_header_find(e->hdr, e->hdrlen, n->hdr_name, 0,
		    &v, &vl);
	memset(&cache, 0, sizeof(cache));
	m = msgsearch_match(NULL, e->hdr, e->hdrlen, MSGSEARCH_HEADER,
	    n->hdr_name, n->hdr_key.data != NULL ? (void *)n->hdr_key.data :
	    "", n->hdr_key.len, &cache);
	msgsearch_cache_clear(&cache);
	return m;
}

/*
 * Evaluates n for e; with r NULL the conditions that need the record
 * are unknown (and r may be NULL when the record's result is known:
 * then e->has_att stands for it).
 */
static enum tri
eq_eval(const struct email_query_ctx *x, const struct eq_node *n,
    const struct eq_email *e, const struct msgrec *r, bool know_rec)
{
	struct msgsearch_cache cache;
	enum tri t = T_YES, u;
	size_t i, k;
	bool m;

	switch (n->op) {
	case EQ_AND:
		for (i = 0; i < n->nkids; i++) {
			if ((u = eq_eval(x, n->kids[i], e, r, know_rec)) ==
			    T_NO)
				return T_NO;
			if (u == T_UNKNOWN)
				t = T_UNKNOWN;
		}
		return t;
	case EQ_OR:
		t = T_NO;
		for (i = 0; i < n->nkids; i++) {
			if ((u = eq_eval(x, n->kids[i], e, r, know_rec)) ==
			    T_YES)
				return T_YES;
			if (u == T_UNKNOWN)
				t = T_UNKNOWN;
		}
		return t;
	case EQ_NOT:
		/* RFC 8620 5.5: NOT is none of the conditions. */
		for (i = 0; i < n->nkids; i++) {
			if ((u = eq_eval(x, n->kids[i], e, r, know_rec)) ==
			    T_YES)
				return T_NO;
			if (u == T_UNKNOWN)
				t = T_UNKNOWN;
		}
		return t;
	case EQ_COND:
		break;
	}
	if (n->in_mbox != 0) {
		for (k = 0; k < e->nmb; k++)
			if (e->mboxes[k] == n->in_mbox)
				break;
		if (k == e->nmb)
			return T_NO;
	}
	if (n->has_not_in) {
		/* In some mailbox that is not one of these. */
		for (k = 0; k < e->nmb; k++) {
			for (i = 0; i < n->nnot_in; i++)
				if (e->mboxes[k] == n->not_in[i])
					break;
			if (i == n->nnot_in)
				break;
		}
		if (k == e->nmb)
			return T_NO;
	}
	if ((n->has_before && (int64_t)e->received >= n->before) ||
	    (n->has_after && (int64_t)e->received < n->after) ||
	    (n->has_min && e->size < n->min_size) ||
	    (n->has_max && e->size >= n->max_size))
		return T_NO;
	if (n->has_kw != NULL && !em_has_keyword(e->flags, e->kw, n->has_kw))
		return T_NO;
	if (n->not_kw != NULL && em_has_keyword(e->flags, e->kw, n->not_kw))
		return T_NO;
	for (k = 0; k < EQ_NTK; k++)
		if (n->tkw[k] != NULL && !eq_thread_kw(x, e, n->tkw[k],
		    (int)k))
			return T_NO;
	for (k = 0; k < EQ_NTEXT; k++)
		if (n->has_text[k])
			break;
	if (!n->has_att_c && k == EQ_NTEXT && n->hdr_name == NULL)
		return T_YES;
	if (!know_rec)
		return T_UNKNOWN;
	if (n->hdr_name != NULL && !eq_header_match(n, e))
		return T_NO;
	if (!n->has_att_c && k == EQ_NTEXT)
		return T_YES;
	if (r == NULL)
		return T_NO;	/* a record that did not decode */
	if (n->has_att_c && r->s.has_attachment != n->has_att)
		return T_NO;
	memset(&cache, 0, sizeof(cache));
	for (m = true; k < EQ_NTEXT && m; k++)
		if (n->has_text[k])
			m = msgsearch_match(r, NULL, 0, eq_text[k].kind, NULL,
			    n->text[k].data != NULL ? (void *)n->text[k].data :
			    "", n->text[k].len, &cache);
	msgsearch_cache_clear(&cache);
	return m ? T_YES : T_NO;
}

/* The sort key of the first address of a header (RFC 8621 4.4.2). */
static char *
eq_addr_key(const struct msgrec *r, enum msgrec_addr_field f)
{
	struct wire_iter it;
	struct msgrec_addr a;
	struct buf b = BUF_INIT;
	const char *s = "";
	char *out;

	if (r->nenvs > 0) {
		wire_strlist_iter(&r->envs[0].addr[f], &it);
		while (msgrec_addr_next(&it, &a)) {
			if (*a.name == '\0' && *a.email == '\0')
				continue;
			s = *a.name != '\0' ? a.name : a.email;
			break;
		}
	}
	(void)casemap_key(s, strlen(s), &b);
	out = xcalloc(1, b.len + 1);
	if (b.len > 0)
		memcpy(out, b.data, b.len);
	buf_clear(&b);
	return out;
}

static const struct email_query_ctx *eq_sorting;	/* for qsort */

static int
eq_cmp_str(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int
eq_cmp(const void *pa, const void *pb)
{
	const struct email_query_ctx *x = eq_sorting;
	const struct eq_email *a = &x->em[*(const size_t *)pa];
	const struct eq_email *b = &x->em[*(const size_t *)pb];
	const struct eq_sort *s;
	size_t i;
	int d = 0;

	for (i = 0; i < x->nsort && d == 0; i++) {
		s = &x->sort[i];
		switch (s->prop) {
		case EQ_S_RECEIVED:
			d = a->received < b->received ? -1 :
			    a->received > b->received;
			break;
		case EQ_S_SIZE:
			d = a->size < b->size ? -1 : a->size > b->size;
			break;
		case EQ_S_FROM:
			d = eq_cmp_str(a->from_key, b->from_key);
			break;
		case EQ_S_TO:
			d = eq_cmp_str(a->to_key, b->to_key);
			break;
		case EQ_S_SUBJECT:
			d = eq_cmp_str(a->subj_key, b->subj_key);
			break;
		case EQ_S_SENT:
			/* No Date: as if sent when received. */
			d = (a->has_sent ? a->sent_at : (int64_t)a->received) <
			    (b->has_sent ? b->sent_at : (int64_t)b->received) ?
			    -1 : (a->has_sent ? a->sent_at :
			    (int64_t)a->received) > (b->has_sent ? b->sent_at :
			    (int64_t)b->received);
			break;
		case EQ_S_HASKW:
			d = (int)em_has_keyword(a->flags, a->kw, s->kw) -
			    (int)em_has_keyword(b->flags, b->kw, s->kw);
			break;
		case EQ_S_ALLKW:
		case EQ_S_SOMEKW:
			d = (int)eq_thread_kw(x, a, s->kw, s->prop ==
			    EQ_S_ALLKW ? EQ_TK_ALL : EQ_TK_SOME) -
			    (int)eq_thread_kw(x, b, s->kw, s->prop ==
			    EQ_S_ALLKW ? EQ_TK_ALL : EQ_TK_SOME);
			break;
		}
		if (!s->asc)
			d = -d;
	}
	if (d == 0)	/* stable: the email ids decide (4.4.2) */
		d = a->id < b->id ? -1 : a->id > b->id;
	return d;
}

static int
eq_cmp_thread(const void *pa, const void *pb)
{
	const struct eq_email *a = &eq_sorting->em[*(const size_t *)pa];
	const struct eq_email *b = &eq_sorting->em[*(const size_t *)pb];

	return a->thread < b->thread ? -1 : a->thread > b->thread;
}

static int
eq_cmp_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return a < b ? -1 : a > b;
}

/* Groups the emails by thread for the thread keyword conditions. */
static void
eq_threads(struct email_query_ctx *x)
{
	size_t i, j;

	x->by_thread = xcalloc(x->nem + 1, sizeof(*x->by_thread));
	for (i = 0; i < x->nem; i++)
		x->by_thread[i] = i;
	eq_sorting = x;
	qsort(x->by_thread, x->nem, sizeof(*x->by_thread), eq_cmp_thread);
	for (i = 0; i < x->nem; i = j) {
		for (j = i; j < x->nem && x->em[x->by_thread[j]].thread ==
		    x->em[x->by_thread[i]].thread; j++)
			;
		for (size_t k = i; k < j; k++) {
			x->em[x->by_thread[k]].tfirst = i;
			x->em[x->by_thread[k]].tlen = j - i;
		}
	}
}

/* Filters, sorts, collapses and answers. */
static void
eq_finish(struct jmap_call *c)
{
	struct email_query_ctx *x = c->ctx;
	size_t *ord, n = 0, i, k, m;
	uint64_t *threads, *t;
	bool *seen;
	char **ids, state[24];
	struct eq_email *e;

	ord = xcalloc(x->nem + 1, sizeof(*ord));
	for (i = 0; i < x->nem; i++) {
		e = &x->em[i];
		if (!e->keep)
			continue;
		if (x->filter != NULL && !e->rec_match)
			continue;
		ord[n++] = i;
	}
	eq_sorting = x;
	qsort(ord, n, sizeof(*ord), eq_cmp);
	if (x->collapse) {
		/* 4.4.3: the first email of each thread stays. */
		threads = xcalloc(n + 1, sizeof(*threads));
		seen = xcalloc(n + 1, sizeof(*seen));
		for (i = 0; i < n; i++)
			threads[i] = x->em[ord[i]].thread;
		qsort(threads, n, sizeof(*threads), eq_cmp_u64);
		for (i = 0, m = 0; i < n; i++) {
			t = bsearch(&x->em[ord[i]].thread, threads, n,
			    sizeof(*threads), eq_cmp_u64);
			k = (size_t)(t - threads);
			/* bsearch finds any of equal keys: go to the first */
			while (k > 0 && threads[k - 1] == threads[k])
				k--;
			if (!seen[k]) {
				seen[k] = true;
				ord[m++] = ord[i];
			}
		}
		n = m;
		free(threads);
		free(seen);
	}
	ids = xcalloc(n + 1, sizeof(*ids));
	for (i = 0; i < n; i++) {
		ids[i] = xcalloc(1, OBJID_MAX);
		objid_format(ids[i], OBJID_EMAIL, x->em[ord[i]].id);
	}
	jmap_state_format(state, x->state);
	jmap_query_answer(c, &x->win, ids, n, state, false);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(ord);
}

static void	eq_records_next(struct jmap_call *c);
static void	eq_hdr_next(struct jmap_call *c);

static void
eq_records_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_GET_rep *r = rep;
	struct email_query_ctx *x = c->ctx;
	struct eq_email *e;
	struct msgrec rec;
	const char *why;
	uint64_t off = 0, len;
	uint32_t i, f, n;
	bool ok;

	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	n = r->found.count;
	if (r->done == 0 || r->done > x->nask - x->rnext || n > r->done ||
	    r->record_lens.count != n || r->sizes.count != n) {
		jmap_call_error(c, "serverFail", "Bad EMAIL_GET reply");
		return;
	}
	for (i = 0, f = 0; i < r->done; i++) {
		e = &x->em[x->ask[x->rnext + i]];
		if (f == n || wire_u64list_get(&r->found, f) != e->id) {
			e->keep = false;	/* destroyed meanwhile */
			continue;
		}
		len = wire_u64list_get(&r->record_lens, f);
		ok = len <= r->records.len - off && msgrec_open(r->records.p +
		    off, (size_t)len, wire_u64list_get(&r->sizes, f), &rec,
		    &why) == 0;
		if (len <= r->records.len - off)
			off += len;
		f++;
		e->has_rec = ok;
		e->rec_match = x->filter == NULL ||
		    eq_eval(x, x->filter, e, ok ? &rec : NULL, true) == T_YES;
		if (!ok)
			continue;
		e->has_att = rec.s.has_attachment;
		e->has_sent = rec.s.has_sent_at;
		e->sent_at = rec.s.sent_at;
		if (x->rec_sort) {
			struct buf b = BUF_INIT;

			e->from_key = eq_addr_key(&rec, MSGREC_FROM);
			e->to_key = eq_addr_key(&rec, MSGREC_TO);
			(void)casemap_key(rec.s.base_subject,
			    strlen(rec.s.base_subject), &b);
			e->subj_key = xcalloc(1, b.len + 1);
			if (b.len > 0)
				memcpy(e->subj_key, b.data, b.len);
			buf_clear(&b);
		}
		msgrec_close(&rec);
	}
	x->rnext += r->done;
	eq_records_next(c);
}

static void
eq_records_next(struct jmap_call *c)
{
	struct email_query_ctx *x = c->ctx;
	struct ipc_EMAIL_GET_req m;
	struct buf b = BUF_INIT;
	size_t i;

	if (x->rnext == x->nask) {
		eq_finish(c);
		return;
	}
	memset(&m, 0, sizeof(m));
	for (i = x->rnext; i < x->nask && i - x->rnext < EM_GET_MAX; i++)
		wire_u64list_add(&b, x->em[x->ask[i]].id);
	m.ids.count = (uint32_t)(i - x->rnext);
	m.ids.p = b.data;
	m.with_record = true;
	(void)jmap_store_request(c, IPC_T_EMAIL_GET, &m, eq_records_cb);
	buf_clear(&b);
}

/* The length of the header in [p, p + len), or 0 if it goes on. */
static size_t
eq_hdr_end(const uint8_t *p, size_t len)
{
	size_t i;

	if (len >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	if (len >= 1 && p[0] == '\n')
		return 1;
	for (i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static void
eq_hdr_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_BODY_rep *r = rep;
	struct email_query_ctx *x = c->ctx;
	struct eq_email *e = &x->em[x->ask[x->hnext]];
	size_t end;

	if (st != IPC_S_OK && st != IPC_S_NOTFOUND) {
		em_store_error(c, st, text);
		return;
	}
	if (st == IPC_S_NOTFOUND) {
		e->keep = false;	/* destroyed meanwhile */
		buf_reset(&x->hbuf);
		x->hnext++;
		eq_hdr_next(c);
		return;
	}
	buf_append(&x->hbuf, r->data.p, r->data.len);
	end = eq_hdr_end(x->hbuf.data, x->hbuf.len);
	if (end == 0 && r->data.len > 0 && x->hbuf.len < EM_HDR_MAX) {
		eq_hdr_next(c);		/* more of the same header */
		return;
	}
	if (end == 0)
		end = x->hbuf.len;
	e->hdr = xmalloc(end + 1);
	if (end > 0)
		memcpy(e->hdr, x->hbuf.data, end);
	e->hdr[end] = '\0';
	e->hdrlen = end;
	buf_reset(&x->hbuf);
	x->hnext++;
	eq_hdr_next(c);
}

/*
 * Reads the header of each email that the filter's header conditions
 * must decide: one EMAIL_BODY (or a few, for a long header) each.
 */
static void
eq_hdr_next(struct jmap_call *c)
{
	struct email_query_ctx *x = c->ctx;
	struct ipc_EMAIL_BODY_req m;

	while (x->hnext < x->nask && !x->em[x->ask[x->hnext]].unknown)
		x->hnext++;
	if (x->hnext == x->nask) {
		eq_records_next(c);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.email_id = x->em[x->ask[x->hnext]].id;
	m.offset = x->hbuf.len;
	/* Most headers fit the first read. */
	m.length = x->hbuf.len == 0 ? 16384 : EM_BODY_CHUNK;
	(void)jmap_store_request(c, IPC_T_EMAIL_BODY, &m, eq_hdr_cb);
}

/* All emails listed: those the record decides get it read. */
static void
eq_listed(struct jmap_call *c)
{
	struct email_query_ctx *x = c->ctx;
	struct eq_email *e;
	enum tri t;
	size_t i;

	if (x->need_thread)
		eq_threads(x);
	x->ask = xcalloc(x->nem + 1, sizeof(*x->ask));
	for (i = 0; i < x->nem; i++) {
		e = &x->em[i];
		t = x->filter == NULL ? T_YES : eq_eval(x, x->filter, e, NULL,
		    false);
		e->keep = t != T_NO;
		e->unknown = t == T_UNKNOWN;
		if (e->keep && (t == T_UNKNOWN || x->rec_sort))
			x->ask[x->nask++] = i;
		e->rec_match = t == T_YES;
	}
	if (x->need_header)
		eq_hdr_next(c);
	else
		eq_records_next(c);
}

static void	eq_list_send(struct jmap_call *c, uint64_t cursor);

static void
eq_list_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_LIST_rep *r = rep;
	struct email_query_ctx *x = c->ctx;
	struct wire_iter kit;
	struct eq_email *e;
	const char *kw;
	uint32_t i, j, n, mbi = 0;
	uint64_t cnt;

	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	n = r->email_ids.count;
	if (r->thread_ids.count != n || r->received.count != n ||
	    r->sizes.count != n || r->flags.count != n ||
	    r->keywords.count != n || r->mbox_counts.count != n) {
		jmap_call_error(c, "serverFail", "Bad EMAIL_LIST reply");
		return;
	}
	if (!x->have_state) {
		/* The first page's: a later query sees what came since. */
		x->state = r->state;
		x->have_state = true;
	}
	wire_strlist_iter(&r->keywords, &kit);
	for (i = 0; i < n; i++) {
		if (x->nem == x->capem) {
			x->capem = x->capem == 0 ? 256 : x->capem * 2;
			x->em = xreallocarray(x->em, x->capem,
			    sizeof(*x->em));
		}
		e = &x->em[x->nem++];
		memset(e, 0, sizeof(*e));
		e->id = wire_u64list_get(&r->email_ids, i);
		e->thread = wire_u64list_get(&r->thread_ids, i);
		e->received = wire_u64list_get(&r->received, i);
		e->size = wire_u64list_get(&r->sizes, i);
		e->flags = wire_u64list_get(&r->flags, i);
		kw = wire_strlist_next(&kit);
		e->kw = xstrdup(kw != NULL ? kw : "");
		cnt = wire_u64list_get(&r->mbox_counts, i);
		if (cnt > r->mailbox_ids.count - mbi) {
			jmap_call_error(c, "serverFail", "Bad EMAIL_LIST "
			    "reply");
			return;
		}
		e->nmb = (uint32_t)cnt;
		e->mboxes = xcalloc(cnt + 1, sizeof(*e->mboxes));
		for (j = 0; j < cnt; j++)
			e->mboxes[j] = wire_u64list_get(&r->mailbox_ids,
			    mbi++);
	}
	if (r->next != 0)
		eq_list_send(c, r->next);
	else
		eq_listed(c);
}

static void
eq_list_send(struct jmap_call *c, uint64_t cursor)
{
	struct email_query_ctx *x = c->ctx;
	struct ipc_EMAIL_LIST_req m;

	memset(&m, 0, sizeof(m));
	m.mailbox_id = x->mailbox_id;
	m.cursor = cursor;
	(void)jmap_store_request(c, IPC_T_EMAIL_LIST, &m, eq_list_cb);
}

/* Parses the sort argument (RFC 8620 5.5 Comparator, RFC 8621 4.4.2). */
static bool
eq_sort_parse(struct jmap_call *c, struct email_query_ctx *x,
    const struct json *s)
{
	static const struct {
		const char		*name;
		enum eq_sort_prop	 prop;
	} props[] = {
		{ "receivedAt", EQ_S_RECEIVED }, { "size", EQ_S_SIZE },
		{ "from", EQ_S_FROM }, { "to", EQ_S_TO },
		{ "subject", EQ_S_SUBJECT }, { "sentAt", EQ_S_SENT },
		{ "hasKeyword", EQ_S_HASKW },
		{ "allInThreadHaveKeyword", EQ_S_ALLKW },
		{ "someInThreadHaveKeyword", EQ_S_SOMEKW },
	};
	const struct json *cmp, *v;
	const char *p, *why;
	struct eq_sort *so;
	size_t i, k;

	if (s == NULL || json_type(s) == JSON_NULL || json_len(s) == 0) {
		/* None given: newest first. */
		x->sort = xcalloc(1, sizeof(*x->sort));
		x->sort[0].prop = EQ_S_RECEIVED;
		x->nsort = 1;
		return true;
	}
	if (json_type(s) != JSON_ARRAY) {
		jmap_call_error(c, "invalidArguments", "sort must be an array "
		    "of Comparators");
		return false;
	}
	x->sort = xcalloc(json_len(s), sizeof(*x->sort));
	for (i = 0; i < json_len(s); i++) {
		cmp = json_at(s, i);
		so = &x->sort[x->nsort++];
		so->asc = true;		/* RFC 8620 5.5 */
		if ((p = em_str(json_get(cmp, "property"))) == NULL) {
			jmap_call_error(c, "invalidArguments", "A Comparator "
			    "needs a property");
			return false;
		}
		for (k = 0; k < sizeof(props) / sizeof(props[0]); k++)
			if (strcmp(props[k].name, p) == 0)
				break;
		if (k == sizeof(props) / sizeof(props[0])) {
			jmap_call_error(c, "unsupportedSort", "Cannot sort by "
			    "that property");
			return false;
		}
		so->prop = props[k].prop;
		if ((v = json_get(cmp, "isAscending")) != NULL &&
		    json_type(v) != JSON_NULL && json_bool(v, &so->asc) == -1) {
			jmap_call_error(c, "invalidArguments", "isAscending "
			    "must be a Boolean");
			return false;
		}
		if ((v = json_get(cmp, "collation")) != NULL &&
		    json_type(v) != JSON_NULL) {
			/* Text compares by i;unicode-casemap keys. */
			p = json_str(v, NULL);
			if (p == NULL || (strcmp(p, "i;unicode-casemap") != 0 &&
			    strcmp(p, "i;ascii-casemap") != 0)) {
				jmap_call_error(c, "unsupportedSort",
				    "Unsupported collation");
				return false;
			}
		}
		if (so->prop >= EQ_S_HASKW) {
			if ((v = json_get(cmp, "keyword")) == NULL ||
			    (so->kw = eq_keyword(v, &why)) == NULL) {
				jmap_call_error(c, "invalidArguments", "This "
				    "sort needs a valid keyword");
				return false;
			}
			if (so->prop != EQ_S_HASKW)
				x->need_thread = true;
		}
		if (so->prop >= EQ_S_FROM && so->prop <= EQ_S_SENT)
			x->rec_sort = true;
	}
	return true;
}

void
jmap_email_query(const struct jmap_env *env, struct jmap_call *c)
{
	struct email_query_ctx *x;
	const struct json *f, *v;
	const char *type, *why;
	bool simple;

	(void)env;
	if (!jmap_account_check(c))
		return;
	x = xcalloc(1, sizeof(*x));
	c->ctx = x;
	c->ctx_free = email_query_ctx_free;
	if (!jmap_query_args(c, &x->win))
		return;
	if ((v = json_get(c->args, "collapseThreads")) != NULL &&
	    json_type(v) != JSON_NULL && json_bool(v, &x->collapse) == -1) {
		jmap_call_error(c, "invalidArguments", "collapseThreads must "
		    "be a Boolean");
		return;
	}
	if ((f = json_get(c->args, "filter")) != NULL &&
	    json_type(f) != JSON_NULL &&
	    (x->filter = eq_parse(x, f, 0, &type, &why)) == NULL) {
		jmap_call_error(c, type, why);
		return;
	}
	if (!eq_sort_parse(c, x, json_get(c->args, "sort")))
		return;
	/*
	 * A condition of inMailbox at the top lists that mailbox alone;
	 * thread conditions need every email of each thread.
	 */
	simple = x->filter != NULL && x->filter->op == EQ_COND &&
	    x->filter->in_mbox != 0 && x->filter->in_mbox <= UINT32_MAX &&
	    !x->need_thread;
	if (simple)
		x->mailbox_id = (uint32_t)x->filter->in_mbox;
	eq_list_send(c, 0);
}

void
jmap_email_query_changes(const struct jmap_env *env, struct jmap_call *c)
{
	(void)env;
	if (!jmap_account_check(c))
		return;
	/* RFC 8620 5.6: a server may always answer so. */
	jmap_call_error(c, "cannotCalculateChanges", "Email/queryChanges is "
	    "not supported: query again");
}
