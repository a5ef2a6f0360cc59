/* SPDX-License-Identifier: ISC */
/*
 * jmap_snippet.c: SearchSnippet/get (RFC 8621 5.1).
 *
 * Until full-text search comes, the only text a filter can match is the
 * subject (and From/To... which a snippet does not show): the words of
 * "subject" conditions that are not under a NOT are marked in the
 * subject, and preview is always null (the body is not searched).  A
 * filter with "text" or "body" is unsupportedFilter, as in Email/query.
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "msgrec.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SNIP_TERMS_MAX	32
#define SNIP_DEPTH_MAX	16

struct snip {
	char		*terms[SNIP_TERMS_MAX];
	size_t		 nterms;
	struct em_idset	 ids;
	size_t		 next;		/* of ids.v, asked so far */
	struct json	*list;
};

static void
snip_free(void *p)
{
	struct snip *x = p;
	size_t i;

	for (i = 0; i < x->nterms; i++)
		free(x->terms[i]);
	em_idset_clear(&x->ids);
	json_free(&x->list);
	free(x);
}

/* Email/query's condition names (RFC 8621 4.4.1). */
static const char *const snip_conds[] = {
	"inMailbox", "inMailboxOtherThan", "before", "after", "minSize",
	"maxSize", "allInThreadHaveKeyword", "someInThreadHaveKeyword",
	"noneInThreadHaveKeyword", "hasKeyword", "notKeyword",
	"hasAttachment", "from", "to", "cc", "bcc", "subject", "header",
	NULL
};

/* Collects the subject terms of f; false if it is not a usable filter. */
static bool
snip_walk(struct snip *x, const struct json *f, int depth, bool negated)
{
	const struct json *v, *conds;
	const char *key, *op;
	size_t i, k;

	if (f == NULL || json_type(f) == JSON_NULL)
		return true;
	if (json_type(f) != JSON_OBJECT || depth > SNIP_DEPTH_MAX)
		return false;
	if ((v = json_get(f, "operator")) != NULL) {
		op = json_str(v, NULL);
		conds = json_get(f, "conditions");
		if (op == NULL || conds == NULL ||
		    json_type(conds) != JSON_ARRAY)
			return false;
		for (i = 0; i < json_len(conds); i++)
			if (!snip_walk(x, json_at(conds, i), depth + 1,
			    negated || strcmp(op, "NOT") == 0))
				return false;
		return true;
	}
	for (i = 0; i < json_len(f); i++) {
		v = json_member(f, i, &key);
		for (k = 0; snip_conds[k] != NULL; k++)
			if (strcmp(key, snip_conds[k]) == 0)
				break;
		if (snip_conds[k] == NULL)
			return false;	/* text, body, or unknown */
		if (strcmp(key, "subject") == 0 && !negated &&
		    json_type(v) == JSON_STRING && json_str(v, NULL)[0] !=
		    '\0' && x->nterms < SNIP_TERMS_MAX)
			x->terms[x->nterms++] = xstrdup(json_str(v, NULL));
	}
	return true;
}

static void
snip_escape(struct buf *out, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '&')
			buf_append(out, "&amp;", 5);
		else if (p[i] == '<')
			buf_append(out, "&lt;", 4);
		else if (p[i] == '>')
			buf_append(out, "&gt;", 4);
		else
			buf_append(out, &p[i], 1);
	}
}

/*
 * The subject with the terms marked (5: entities for & < >, <mark>
 * around matches, ASCII letters in any case), or NULL if none matches.
 */
static struct json *
snip_subject(const struct snip *x, const char *subj)
{
	struct buf b = BUF_INIT;
	struct json *v;
	const char *p = subj, *best, *hit;
	size_t i, blen = 0;

	for (;;) {
		best = NULL;
		for (i = 0; i < x->nterms; i++) {
			if ((hit = strcasestr(p, x->terms[i])) != NULL &&
			    (best == NULL || hit < best)) {
				best = hit;
				blen = strlen(x->terms[i]);
			}
		}
		if (best == NULL)
			break;
		snip_escape(&b, p, (size_t)(best - p));
		buf_append(&b, "<mark>", 6);
		snip_escape(&b, best, blen);
		buf_append(&b, "</mark>", 7);
		p = best + blen;
	}
	if (p == subj) {
		buf_clear(&b);
		return json_new_null();
	}
	snip_escape(&b, p, strlen(p));
	v = json_new_str(b.data, b.len);
	buf_clear(&b);
	return v;
}

static void	snip_ask(struct jmap_call *c);

static void
snip_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_GET_rep *r = rep;
	struct snip *x = c->ctx;
	struct msgrec_summary sum;
	struct json *o;
	const uint8_t *rec = r->records.p;
	const char *why;
	uint64_t id, len;
	uint32_t i, f = 0;

	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	for (i = 0; i < r->done; i++) {
		id = x->ids.v[x->next + i];
		if (f == r->found.count || wire_u64list_get(&r->found, f) !=
		    id) {
			json_array_add(x->ids.notfound, em_id(OBJID_EMAIL, id));
			continue;
		}
		len = wire_u64list_get(&r->record_lens, f);
		o = json_new_object();
		json_object_set(o, "emailId", em_id(OBJID_EMAIL, id));
		if (x->nterms > 0 && rec + len <= r->records.p +
		    r->records.len && msgrec_decode(rec, (size_t)len,
		    wire_u64list_get(&r->sizes, f), &sum, &why) == 0)
			json_object_set(o, "subject", snip_subject(x,
			    sum.subject));
		else
			json_object_set(o, "subject", json_new_null());
		json_object_set(o, "preview", json_new_null());
		json_array_add(x->list, o);
		rec += len;
		f++;
	}
	x->next += r->done;
	if (r->done == 0 && x->next < x->ids.n) {
		jmap_call_error(c, "serverFail", "The store gave no emails");
		return;
	}
	snip_ask(c);
}

static void
snip_ask(struct jmap_call *c)
{
	struct snip *x = c->ctx;
	struct ipc_EMAIL_GET_req m;
	struct json *res;
	struct buf b = BUF_INIT;

	if (x->next == x->ids.n) {
		res = json_new_object();
		json_object_set(res, "accountId", json_dup(json_get(c->args,
		    "accountId")));
		json_object_set(res, "list", x->list);
		x->list = NULL;
		if (json_len(x->ids.notfound) > 0) {
			json_object_set(res, "notFound", x->ids.notfound);
			x->ids.notfound = NULL;
		} else
			json_object_set(res, "notFound", json_new_null());
		jmap_call_reply(c, res);
		return;
	}
	memset(&m, 0, sizeof(m));
	em_u64list(&m.ids, &b, x->ids.v + x->next, x->ids.n - x->next);
	m.with_record = x->nterms > 0;
	(void)jmap_store_request(c, IPC_T_EMAIL_GET, &m, snip_cb);
	buf_clear(&b);
}

void
jmap_snippet_get(const struct jmap_env *env, struct jmap_call *c)
{
	const struct json *ids;
	struct snip *x;
	size_t i;

	if (!jmap_account_check(c))
		return;
	ids = json_get(c->args, "emailIds");
	if (ids == NULL || json_type(ids) != JSON_ARRAY) {
		jmap_call_error(c, "invalidArguments", "emailIds must be an "
		    "array of Ids");
		return;
	}
	for (i = 0; i < json_len(ids); i++)
		if (json_type(json_at(ids, i)) != JSON_STRING) {
			jmap_call_error(c, "invalidArguments", "emailIds must "
			    "be an array of Ids");
			return;
		}
	if (json_len(ids) > env->max_objects_in_get) {
		jmap_call_error(c, "requestTooLarge", "More emailIds than "
		    "maxObjectsInGet");
		return;
	}
	x = xcalloc(1, sizeof(*x));
	c->ctx = x;
	c->ctx_free = snip_free;
	if (!snip_walk(x, json_get(c->args, "filter"), 0, false)) {
		jmap_call_error(c, "unsupportedFilter", "Snippets come from "
		    "Email/query's filters without full-text conditions");
		return;
	}
	em_idset_init(&x->ids, ids, OBJID_EMAIL);
	x->list = json_new_array();
	snip_ask(c);
}
