/* SPDX-License-Identifier: ISC */
/*
 * jmap_submission.c: EmailSubmission/get, /changes, /query,
 * /queryChanges and /set (RFC 8621 7) over storaged's SUBMIT,
 * SUBMIT_LIST, SUBMIT_CANCEL and SUBMIT_DEL; lmtpd's relay sends what is
 * queued to the smarthost (lib/ipc_types.def RELAY_*).
 *
 * An envelope not given is made from the email (7): MAIL FROM is the
 * last Sender or From field's first address when the identity allows it
 * (its own email), else the identity's email; RCPT TO the distinct
 * addresses of To, Cc and Bcc.  Parameters of MAIL FROM go to the relay
 * as text; RCPT TO parameters are refused (invalidProperties envelope).
 * onSuccessUpdateEmail and onSuccessDestroyEmail become an implicit
 * Email/set after the call (7.5), whose response follows.  /set is in
 * jmap_submission_set.c.
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "jmap_submission.h"
#include "msgrec.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>


static const char *const sub_undo[] = { "pending", "final", "canceled" };
static const char *const sub_delivered[] = {
	"queued", "yes", "no", "unknown"
};

void
sub_list_free(struct sub_list *l)
{
	size_t i, k;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].mail_from);
		for (k = 0; k < l->v[i].nrcpts; k++) {
			free(l->v[i].rcpts[k]);
			free(l->v[i].replies[k]);
		}
		free(l->v[i].rcpts);
		free(l->v[i].replies);
		free(l->v[i].delivered);
	}
	free(l->v);
	free(l);
}

static struct sub_list *
sub_list_from(const struct ipc_SUBMIT_LIST_rep *r)
{
	struct sub_list *l = xcalloc(1, sizeof(*l));
	struct wire_iter mf, rc, rp;
	const char *s;
	uint32_t i, k, ri = 0;

	l->state = r->state;
	l->n = r->found.count;
	l->v = xcalloc(l->n + 1, sizeof(*l->v));
	wire_strlist_iter(&r->mail_froms, &mf);
	wire_strlist_iter(&r->rcpts, &rc);
	wire_strlist_iter(&r->replies, &rp);
	for (i = 0; i < r->found.count; i++) {
		struct sub_row *w = &l->v[i];

		w->id = wire_u64list_get(&r->found, i);
		w->identity_id = wire_u64list_get(&r->identity_ids, i);
		w->email_id = wire_u64list_get(&r->email_ids, i);
		w->thread_id = wire_u64list_get(&r->thread_ids, i);
		w->send_at = wire_u64list_get(&r->send_ats, i);
		w->undo = wire_u64list_get(&r->undo, i);
		s = wire_strlist_next(&mf);
		w->mail_from = xstrdup(s != NULL ? s : "");
		w->nrcpts = (size_t)wire_u64list_get(&r->rcpt_counts, i);
		if (w->nrcpts > r->rcpts.count - ri)
			w->nrcpts = r->rcpts.count - ri;
		w->rcpts = xcalloc(w->nrcpts + 1, sizeof(*w->rcpts));
		w->replies = xcalloc(w->nrcpts + 1, sizeof(*w->replies));
		w->delivered = xcalloc(w->nrcpts + 1, sizeof(*w->delivered));
		for (k = 0; k < w->nrcpts; k++, ri++) {
			s = wire_strlist_next(&rc);
			w->rcpts[k] = xstrdup(s != NULL ? s : "");
			s = wire_strlist_next(&rp);
			w->replies[k] = xstrdup(s != NULL ? s : "");
			w->delivered[k] = ri < r->delivered.count ?
			    wire_u64list_get(&r->delivered, ri) : 3;
		}
	}
	return l;
}

struct sub_row *
sub_find(struct sub_list *l, uint64_t id)
{
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

struct json *
sub_utcdate(uint64_t t)
{
	char out[32];
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_new_strz(out);
}

bool
sub_utcdate_parse(const char *s, uint64_t *t)
{
	int y, mo, d, h, mi, se, n = 0;
	struct tm tm;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo,
	    &d, &h, &mi, &se, &n) != 6 || n != 20 || s[20] != '\0' ||
	    y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 60)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = (uint64_t)timegm(&tm);
	return true;
}

static const char *const sub_props[] = {
	"id", "identityId", "emailId", "threadId", "envelope", "sendAt",
	"undoStatus", "deliveryStatus", "dsnBlobIds", "mdnBlobIds", NULL
};

static struct json *
sub_object(const struct sub_row *w, const struct json *props)
{
	struct json *o = json_new_object(), *env, *mf, *rt, *a, *ds, *st;
	size_t k;

	json_object_set(o, "id", em_id(OBJID_SUBMISSION, w->id));
	if (jmap_prop_wanted(props, "identityId"))
		json_object_set(o, "identityId", em_id(OBJID_IDENTITY,
		    w->identity_id));
	if (jmap_prop_wanted(props, "emailId"))
		json_object_set(o, "emailId", em_id(OBJID_EMAIL, w->email_id));
	if (jmap_prop_wanted(props, "threadId"))
		json_object_set(o, "threadId", em_id(OBJID_THREAD,
		    w->thread_id));
	if (jmap_prop_wanted(props, "envelope")) {
		env = json_new_object();
		mf = json_new_object();
		json_object_set(mf, "email", json_new_strz(w->mail_from));
		json_object_set(mf, "parameters", json_new_null());
		json_object_set(env, "mailFrom", mf);
		rt = json_new_array();
		for (k = 0; k < w->nrcpts; k++) {
			a = json_new_object();
			json_object_set(a, "email", json_new_strz(w->rcpts[k]));
			json_object_set(a, "parameters", json_new_null());
			json_array_add(rt, a);
		}
		json_object_set(env, "rcptTo", rt);
		json_object_set(o, "envelope", env);
	}
	if (jmap_prop_wanted(props, "sendAt"))
		json_object_set(o, "sendAt", sub_utcdate(w->send_at));
	if (jmap_prop_wanted(props, "undoStatus"))
		json_object_set(o, "undoStatus", json_new_strz(w->undo < 3 ?
		    sub_undo[w->undo] : "final"));
	if (jmap_prop_wanted(props, "deliveryStatus")) {
		ds = json_new_object();
		for (k = 0; k < w->nrcpts; k++) {
			st = json_new_object();
			json_object_set(st, "smtpReply", json_new_strz(
			    w->replies[k][0] != '\0' ? w->replies[k] :
			    "250 2.0.0 queued"));
			json_object_set(st, "delivered", json_new_strz(
			    w->delivered[k] < 4 ? sub_delivered[
			    w->delivered[k]] : "unknown"));
			json_object_set(st, "displayed",
			    json_new_strz("unknown"));
			json_object_set(ds, w->rcpts[k], st);
		}
		json_object_set(o, "deliveryStatus", ds);
	}
	if (jmap_prop_wanted(props, "dsnBlobIds"))
		json_object_set(o, "dsnBlobIds", json_new_array());
	if (jmap_prop_wanted(props, "mdnBlobIds"))
		json_object_set(o, "mdnBlobIds", json_new_array());
	return o;
}

void
sub_ctx_free(void *p)
{
	struct sub_ctx *x = p;

	sub_list_free(x->l);
	if (x->more_free != NULL && x->more != NULL)
		x->more_free(x->more);
	free(x);
}

static void
sub_list_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	struct sub_ctx *x = c->ctx;

	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	sub_list_free(x->l);
	x->l = sub_list_from(rep);
	x->next(c);
}

void
sub_list_ask(struct jmap_call *c, const uint64_t *ids, size_t n,
    void (*next)(struct jmap_call *))
{
	struct ipc_SUBMIT_LIST_req m;
	struct sub_ctx *x = c->ctx;
	struct buf b = BUF_INIT;

	if (x == NULL) {
		x = xcalloc(1, sizeof(*x));
		c->ctx = x;
		c->ctx_free = sub_ctx_free;
	}
	x->next = next;
	memset(&m, 0, sizeof(m));
	em_u64list(&m.ids, &b, ids, n);
	(void)jmap_store_request(c, IPC_T_SUBMIT_LIST, &m, sub_list_cb);
	buf_clear(&b);
}

/* --- EmailSubmission/get (7.1) --- */

struct sub_get {
	struct em_idset	 ids;
	bool		 all;
};

static void
sub_get_free(void *p)
{
	struct sub_get *g = p;

	em_idset_clear(&g->ids);
	free(g);
}

static void
sub_get_listed(struct jmap_call *c)
{
	struct sub_ctx *x = c->ctx;
	struct sub_get *g = x->more;
	const struct json *props = json_get(c->args, "properties");
	struct json *res, *list, *nf;
	struct sub_row *w;
	size_t i;

	if (props != NULL && json_type(props) == JSON_NULL)
		props = NULL;
	list = json_new_array();
	if (g->all)
		for (i = 0; i < x->l->n; i++)
			json_array_add(list, sub_object(&x->l->v[i], props));
	else
		for (i = 0; i < g->ids.n; i++) {
			if ((w = sub_find(x->l, g->ids.v[i])) != NULL)
				json_array_add(list, sub_object(w, props));
			else
				json_array_add(g->ids.notfound, em_id(
				    OBJID_SUBMISSION, g->ids.v[i]));
		}
	nf = g->ids.notfound != NULL ? g->ids.notfound : json_new_array();
	g->ids.notfound = NULL;
	res = json_new_object();
	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	json_object_set(res, "state", em_state(x->l->state));
	json_object_set(res, "list", list);
	json_object_set(res, "notFound", nf);
	jmap_call_reply(c, res);
}

void
jmap_submission_get(const struct jmap_env *env, struct jmap_call *c)
{
	const struct json *ids, *props;
	struct sub_ctx *x;
	struct sub_get *g;

	(void)env;
	if (!jmap_get_args(c, &ids, &props, sub_props))
		return;
	g = xcalloc(1, sizeof(*g));
	x = xcalloc(1, sizeof(*x));
	x->more = g;
	x->more_free = sub_get_free;
	c->ctx = x;
	c->ctx_free = sub_ctx_free;
	if (ids == NULL) {
		g->all = true;
		sub_list_ask(c, NULL, 0, sub_get_listed);
		return;
	}
	em_idset_init(&g->ids, ids, OBJID_SUBMISSION);
	if (g->ids.n == 0) {
		/* Nothing the store knows: only its state is asked. */
		sub_list_ask(c, (const uint64_t[]){ UINT64_MAX }, 1,
		    sub_get_listed);
		return;
	}
	sub_list_ask(c, g->ids.v, g->ids.n, sub_get_listed);
}

void
jmap_submission_changes(const struct jmap_env *env, struct jmap_call *c)
{
	(void)env;
	jmap_changes(c, 5);	/* CHANGE_SUBMISSION of store/record.h */
}

/* --- EmailSubmission/query (7.3) and /queryChanges (7.4) --- */

static bool
sub_id_in(const struct json *arr, char kind, uint64_t id)
{
	size_t i;

	for (i = 0; i < json_len(arr); i++)
		if (jmap_id_parse(json_str(json_at(arr, i), NULL), kind) == id)
			return true;
	return false;
}

/* Whether w passes filter f (a FilterCondition; operators nest). */
static int
sub_match(const struct sub_row *w, const struct json *f, int depth)
{
	const struct json *v, *conds;
	const char *key, *op;
	uint64_t t;
	size_t i;
	int r, any;

	if (json_type(f) != JSON_OBJECT || depth > 16)
		return -1;
	if ((v = json_get(f, "operator")) != NULL) {
		op = json_str(v, NULL);
		conds = json_get(f, "conditions");
		if (op == NULL || conds == NULL ||
		    json_type(conds) != JSON_ARRAY)
			return -1;
		any = 0;
		for (i = 0; i < json_len(conds); i++) {
			if ((r = sub_match(w, json_at(conds, i), depth + 1)) ==
			    -1)
				return -1;
			any += r;
		}
		if (strcmp(op, "AND") == 0)
			return any == (int)json_len(conds);
		if (strcmp(op, "OR") == 0)
			return any > 0;
		if (strcmp(op, "NOT") == 0)
			return any == 0;
		return -1;
	}
	for (i = 0; i < json_len(f); i++) {
		v = json_member(f, i, &key);
		if (strcmp(key, "identityIds") == 0 ||
		    strcmp(key, "emailIds") == 0 ||
		    strcmp(key, "threadIds") == 0) {
			if (json_type(v) != JSON_ARRAY)
				return -1;
			if (!sub_id_in(v, key[0] == 'i' ? OBJID_IDENTITY :
			    key[0] == 'e' ? OBJID_EMAIL : OBJID_THREAD,
			    key[0] == 'i' ? w->identity_id : key[0] == 'e' ?
			    w->email_id : w->thread_id))
				return 0;
		} else if (strcmp(key, "undoStatus") == 0) {
			if (json_str(v, NULL) == NULL)
				return -1;
			if (strcmp(json_str(v, NULL), sub_undo[w->undo < 3 ?
			    w->undo : 1]) != 0)
				return 0;
		} else if (strcmp(key, "before") == 0 ||
		    strcmp(key, "after") == 0) {
			if (!sub_utcdate_parse(json_str(v, NULL), &t))
				return -1;
			if (key[0] == 'b' ? w->send_at >= t : w->send_at < t)
				return 0;
		} else
			return -1;
	}
	return 1;
}

static struct sub_sort {
	int	 key[3];	/* 0 emailId, 1 threadId, 2 sentAt */
	bool	 asc[3];
	size_t	 n;
} sub_sort_ctx;

static int
sub_cmp(const void *pa, const void *pb)
{
	const struct sub_row *a = *(const struct sub_row *const *)pa;
	const struct sub_row *b = *(const struct sub_row *const *)pb;
	uint64_t x, y;
	size_t i;

	for (i = 0; i < sub_sort_ctx.n; i++) {
		x = sub_sort_ctx.key[i] == 0 ? a->email_id :
		    sub_sort_ctx.key[i] == 1 ? a->thread_id : a->send_at;
		y = sub_sort_ctx.key[i] == 0 ? b->email_id :
		    sub_sort_ctx.key[i] == 1 ? b->thread_id : b->send_at;
		if (x != y)
			return (x < y) == sub_sort_ctx.asc[i] ? -1 : 1;
	}
	return a->id < b->id ? -1 : a->id > b->id;
}

static void
sub_query_listed(struct jmap_call *c)
{
	struct sub_ctx *x = c->ctx;
	const struct json *filter = json_get(c->args, "filter");
	const struct json *sort = json_get(c->args, "sort"), *cmp, *v;
	struct jmap_query_win win;
	struct sub_row **sel;
	char **ids;
	const char *p;
	size_t i, n = 0;
	bool b;
	int r;

	if (!jmap_query_args(c, &win))
		return;
	memset(&sub_sort_ctx, 0, sizeof(sub_sort_ctx));
	if (sort != NULL && json_type(sort) != JSON_NULL) {
		if (json_type(sort) != JSON_ARRAY || json_len(sort) > 3) {
			jmap_call_error(c, "invalidArguments", "sort must be "
			    "an array of Comparators");
			return;
		}
		for (i = 0; i < json_len(sort); i++) {
			cmp = json_at(sort, i);
			p = json_str(json_get(cmp, "property"), NULL);
			if (p == NULL || (strcmp(p, "emailId") != 0 &&
			    strcmp(p, "threadId") != 0 &&
			    strcmp(p, "sentAt") != 0)) {
				jmap_call_error(c, "unsupportedSort", p);
				return;
			}
			sub_sort_ctx.key[i] = p[0] == 'e' ? 0 : p[0] == 't' ?
			    1 : 2;
			sub_sort_ctx.asc[i] = true;
			if ((v = json_get(cmp, "isAscending")) != NULL &&
			    json_bool(v, &b) == 0)
				sub_sort_ctx.asc[i] = b;
			sub_sort_ctx.n++;
		}
	}
	if (filter != NULL && json_type(filter) == JSON_NULL)
		filter = NULL;
	sel = xcalloc(x->l->n + 1, sizeof(*sel));
	for (i = 0; i < x->l->n; i++) {
		r = filter == NULL ? 1 : sub_match(&x->l->v[i], filter, 0);
		if (r == -1) {
			free(sel);
			jmap_call_error(c, "unsupportedFilter", NULL);
			return;
		}
		if (r == 1)
			sel[n++] = &x->l->v[i];
	}
	qsort(sel, n, sizeof(*sel), sub_cmp);
	ids = xcalloc(n + 1, sizeof(*ids));
	for (i = 0; i < n; i++) {
		ids[i] = xmalloc(OBJID_MAX);
		objid_format(ids[i], OBJID_SUBMISSION, sel[i]->id);
	}
	{
		char state[24];

		jmap_state_format(state, x->l->state);
		jmap_query_answer(c, &win, ids, n, state, false);
	}
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(sel);
}

void
jmap_submission_query(const struct jmap_env *env, struct jmap_call *c)
{
	(void)env;
	if (!jmap_account_check(c))
		return;
	sub_list_ask(c, NULL, 0, sub_query_listed);
}

void
jmap_submission_query_changes(const struct jmap_env *env,
    struct jmap_call *c)
{
	(void)env;
	if (!jmap_account_check(c))
		return;
	jmap_call_error(c, "cannotCalculateChanges", "Query again");
}

