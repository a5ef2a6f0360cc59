/* SPDX-License-Identifier: ISC */
/*
 * jmap_thread.c: the Thread methods of JMAP Mail (RFC 8621 3), Thread/get
 * over storaged's THREAD_GET and Thread/changes, and the helpers that
 * the Thread and Email method files share (jmap_email.h).
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* --- Shared helpers (jmap_email.h) --- */

void
em_store_error(struct jmap_call *c, enum ipc_status st, const char *text)
{
	jmap_call_error(c, st == IPC_S_UNAVAIL ? "serverUnavailable" :
	    "serverFail", text);
}

/* json_len that takes a missing value (NULL). */
size_t
em_len(const struct json *v)
{
	return v != NULL ? json_len(v) : 0;
}

struct json *
em_id(char kind, uint64_t n)
{
	char id[OBJID_MAX];

	objid_format(id, kind, n);
	return json_new_strz(id);
}

struct json *
em_state(uint64_t modseq)
{
	char s[24];

	jmap_state_format(s, modseq);
	return json_new_strz(s);
}

/* A U64LIST of the request pointing into b. */
void
em_u64list(struct wire_u64list *l, struct buf *b, const uint64_t *v,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		wire_u64list_add(b, v[i]);
	l->count = (uint32_t)n;
	l->p = b->data;
}

void
em_idset_init(struct em_idset *s, const struct json *ids, char kind)
{
	const char *str;
	uint64_t n;
	size_t i, k;

	s->v = xcalloc(json_len(ids) + 1, sizeof(*s->v));
	s->n = 0;
	s->notfound = json_new_array();
	for (i = 0; i < json_len(ids); i++) {
		str = json_str(json_at(ids, i), NULL);
		/* Ids are canonical, so numbers are equal when ids are. */
		if ((n = jmap_id_parse(str, kind)) == 0) {
			for (k = 0; k < json_len(s->notfound); k++)
				if (strcmp(json_str(json_at(s->notfound, k),
				    NULL), str) == 0)
					break;
			if (k == json_len(s->notfound))
				json_array_add(s->notfound,
				    json_new_strz(str));
			continue;
		}
		for (k = 0; k < s->n; k++)
			if (s->v[k] == n)
				break;
		if (k == s->n)
			s->v[s->n++] = n;
	}
}

void
em_idset_clear(struct em_idset *s)
{
	free(s->v);
	s->v = NULL;
	json_free(&s->notfound);
}

/* --- Thread/get (RFC 8621 3.1), Thread/changes (3.2) --- */

static const char *const thread_props[] = { "id", "emailIds", NULL };

struct thread_ctx {
	struct em_idset	 ids;
	const struct json *props;
};

static void
thread_ctx_free(void *p)
{
	struct thread_ctx *x = p;

	em_idset_clear(&x->ids);
	free(x);
}

static void
thread_get_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_THREAD_GET_rep *r = rep;
	struct thread_ctx *x = c->ctx;
	struct json *res, *list, *t, *ems;
	uint32_t i, j, k, e, cnt;

	if (st == IPC_S_TOOBIG) {
		jmap_call_error(c, "requestTooLarge", "These threads hold "
		    "too many emails for one answer: ask for fewer");
		return;
	}
	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	if (r->counts.count != r->found.count) {
		jmap_call_error(c, "serverFail", "Bad THREAD_GET reply");
		return;
	}
	list = json_new_array();
	for (i = 0, e = 0; i < r->found.count; i++) {
		cnt = (uint32_t)wire_u64list_get(&r->counts, i);
		if (cnt > r->email_ids.count - e) {
			json_free(&list);
			jmap_call_error(c, "serverFail", "Bad THREAD_GET "
			    "reply");
			return;
		}
		t = json_new_object();
		/* RFC 8620 5.1: "id" is always returned. */
		json_object_set(t, "id", em_id(OBJID_THREAD,
		    wire_u64list_get(&r->found, i)));
		ems = json_new_array();
		for (j = 0; j < cnt; j++)
			json_array_add(ems, em_id(OBJID_EMAIL,
			    wire_u64list_get(&r->email_ids, e + j)));
		e += cnt;
		if (jmap_prop_wanted(x->props, "emailIds"))
			json_object_set(t, "emailIds", ems);
		else
			json_free(&ems);
		json_array_add(list, t);
	}
	/* The ids asked that storaged did not find. */
	for (k = 0; k < x->ids.n; k++) {
		for (i = 0; i < r->found.count; i++)
			if (wire_u64list_get(&r->found, i) == x->ids.v[k])
				break;
		if (i == r->found.count)
			json_array_add(x->ids.notfound, em_id(OBJID_THREAD,
			    x->ids.v[k]));
	}
	res = json_new_object();
	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	json_object_set(res, "state", em_state(r->state));
	json_object_set(res, "list", list);
	json_object_set(res, "notFound", x->ids.notfound);
	x->ids.notfound = NULL;
	jmap_call_reply(c, res);
}

void
jmap_thread_get(const struct jmap_env *env, struct jmap_call *c)
{
	struct ipc_THREAD_GET_req m;
	const struct json *ids, *props;
	struct thread_ctx *x;
	struct buf b = BUF_INIT;

	(void)env;
	if (!jmap_get_args(c, &ids, &props, thread_props))
		return;
	if (ids == NULL) {
		/* RFC 8620 5.1: all objects only "if this is supported". */
		jmap_call_error(c, "requestTooLarge", "Thread/get needs ids");
		return;
	}
	x = xcalloc(1, sizeof(*x));
	x->props = props;
	em_idset_init(&x->ids, ids, OBJID_THREAD);
	c->ctx = x;
	c->ctx_free = thread_ctx_free;
	memset(&m, 0, sizeof(m));
	em_u64list(&m.ids, &b, x->ids.v, x->ids.n);
	(void)jmap_store_request(c, IPC_T_THREAD_GET, &m, thread_get_cb);
	buf_clear(&b);
}

void
jmap_thread_changes(const struct jmap_env *env, struct jmap_call *c)
{
	(void)env;
	jmap_changes(c, 3);	/* CHANGE_THREAD of store/record.h */
}
