/* SPDX-License-Identifier: ISC */
/*
 * jmap_email_set.c: Email/set (RFC 8621 4.6) over storaged's EMAIL_SET:
 * the updates of keywords and mailboxIds, and destroy; creations are
 * made first, by jmap_email_create.c.
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "mailflags.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* --- Email/set (RFC 8621 4.6) --- */

/* The request being built, one update at a time. */
struct es_req {
	struct buf	 up_ids, flags_add, flags_del, kw_replace, mb_replace;
	struct buf	 kw_add, kw_del;	/* STRLIST bodies */
	struct buf	 mb_add_counts, mb_add, mb_del_counts, mb_del;
	struct buf	 destroy_ids;
	uint32_t	 nup, ndestroy;
};

struct email_set_ctx {
	struct json	*not_updated, *not_destroyed;
	char		**up_keys, **de_keys;	/* as the client wrote them */
	uint32_t	 nup, ndestroy;
	struct ec	*create;	/* jmap_email_create.c */
	uint64_t	 if_state;
	uint64_t	 old_state;	/* before the creations */
	bool		 have_old;
};

static void
email_set_ctx_free(void *p)
{
	struct email_set_ctx *x = p;
	uint32_t i;

	json_free(&x->not_updated);
	json_free(&x->not_destroyed);
	for (i = 0; i < x->nup; i++)
		free(x->up_keys[i]);
	for (i = 0; i < x->ndestroy; i++)
		free(x->de_keys[i]);
	free(x->up_keys);
	free(x->de_keys);
	em_create_free(&x->create);
	free(x);
}

struct ec *
em_set_creating(struct jmap_call *c)
{
	struct email_set_ctx *x = c->ctx;

	return x->create;
}

static void
es_req_clear(struct es_req *q)
{
	buf_clear(&q->up_ids);
	buf_clear(&q->flags_add);
	buf_clear(&q->flags_del);
	buf_clear(&q->kw_replace);
	buf_clear(&q->mb_replace);
	buf_clear(&q->kw_add);
	buf_clear(&q->kw_del);
	buf_clear(&q->mb_add_counts);
	buf_clear(&q->mb_add);
	buf_clear(&q->mb_del_counts);
	buf_clear(&q->mb_del);
	buf_clear(&q->destroy_ids);
}

static struct json *
es_error(const char *type, const char *desc, const char *prop)
{
	return jmap_set_error(type, prop, desc);
}

/* Unescapes a JSON Pointer token (RFC 6901 4) in place. */
static void
es_unescape(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++, w++) {
		if (s[0] == '~' && s[1] == '1') {
			*w = '/';
			s++;
		} else if (s[0] == '~' && s[1] == '0') {
			*w = '~';
			s++;
		} else
			*w = *s;
	}
	*w = '\0';
}

/* One update's changes while its patch is read. */
struct es_patch {
	uint64_t	 flags_add, flags_del;
	bool		 kw_replace, mb_replace, kw_whole, mb_whole;
	bool		 kw_part, mb_part;
	struct buf	 kw_add, kw_del;	/* space-separated */
	uint64_t	*mb_add, *mb_del;
	size_t		 nmb_add, nmb_del;
};

static void
es_patch_clear(struct es_patch *p)
{
	buf_clear(&p->kw_add);
	buf_clear(&p->kw_del);
	free(p->mb_add);
	free(p->mb_del);
}

static void
es_words_add(struct buf *b, const char *w)
{
	if (b->len > 0)
		buf_append(b, " ", 1);
	buf_append(b, w, strlen(w));
}

/* Adds keyword k (true) or takes it away (false). */
static bool
es_keyword(struct es_patch *p, const char *k0, bool add)
{
	char *k = xstrdup(k0);
	uint32_t f;

	if (!em_keyword_norm(k)) {
		free(k);
		return false;
	}
	if ((f = em_kw_flag(k)) != 0) {
		if (add)
			p->flags_add |= f;
		else
			p->flags_del |= f;
	} else
		es_words_add(add ? &p->kw_add : &p->kw_del, k);
	free(k);
	return true;
}

static void
es_mailbox(struct es_patch *p, uint64_t id, bool add)
{
	uint64_t **v = add ? &p->mb_add : &p->mb_del;
	size_t *n = add ? &p->nmb_add : &p->nmb_del;

	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = id;
}

/*
 * Reads the PatchObject of one update (RFC 8620 5.3): keywords and
 * mailboxIds whole, or one keyword or mailbox at a time; anything else
 * is not settable here.  Returns NULL or the SetError.
 */
static struct json *
es_patch_read(struct es_patch *p, const struct json *patch)
{
	const struct json *v, *e;
	const char *name, *k;
	char *tok;
	uint64_t mb;
	size_t i, j;
	bool t, ok;

	if (json_type(patch) != JSON_OBJECT)
		return es_error("invalidPatch", "A PatchObject must be an "
		    "object", NULL);
	for (i = 0; i < json_len(patch); i++) {
		v = json_member(patch, i, &name);
		if (strcmp(name, "keywords") == 0) {
			if (json_type(v) != JSON_OBJECT)
				return es_error("invalidProperties",
				    "keywords must be a String[Boolean]",
				    "keywords");
			p->kw_whole = p->kw_replace = true;
			/* Every system flag shown goes, \Deleted stays. */
			p->flags_del |= MAIL_F_SEEN | MAIL_F_ANSWERED |
			    MAIL_F_FLAGGED | MAIL_F_DRAFT;
			for (j = 0; j < json_len(v); j++) {
				e = json_member(v, j, &k);
				if (json_bool(e, &t) == -1 || !t ||
				    !es_keyword(p, k, true))
					return es_error("invalidProperties",
					    "Bad keyword", "keywords");
			}
			p->flags_del &= ~p->flags_add;
		} else if (strncmp(name, "keywords/", 9) == 0) {
			tok = xstrdup(name + 9);
			es_unescape(tok);
			p->kw_part = true;
			/* true adds it, null takes it away (5.3). */
			ok = true;
			if (json_type(v) == JSON_NULL)
				t = false;
			else if (json_bool(v, &t) == -1 || !t)
				ok = false;
			if (!ok || !es_keyword(p, tok, t)) {
				free(tok);
				return es_error("invalidProperties",
				    "Bad keyword", name);
			}
			free(tok);
		} else if (strcmp(name, "mailboxIds") == 0) {
			if (json_type(v) != JSON_OBJECT)
				return es_error("invalidProperties",
				    "mailboxIds must be an Id[Boolean]",
				    "mailboxIds");
			p->mb_whole = p->mb_replace = true;
			for (j = 0; j < json_len(v); j++) {
				e = json_member(v, j, &k);
				if (json_bool(e, &t) == -1 || !t ||
				    (mb = jmap_id_parse(k,
				    OBJID_MAILBOX)) == 0)
					return es_error("invalidProperties",
					    "Bad mailbox id", "mailboxIds");
				es_mailbox(p, mb, true);
			}
		} else if (strncmp(name, "mailboxIds/", 11) == 0) {
			tok = xstrdup(name + 11);
			es_unescape(tok);
			mb = jmap_id_parse(tok, OBJID_MAILBOX);
			free(tok);
			p->mb_part = true;
			if (json_type(v) == JSON_NULL)
				t = false;
			else if (json_bool(v, &t) == -1 || !t)
				mb = 0;
			if (mb == 0)
				return es_error("invalidProperties",
				    "Bad mailbox id or value", name);
			es_mailbox(p, mb, t);
		} else
			return es_error("invalidProperties", "This property "
			    "cannot be changed", name);
	}
	/* RFC 8620 5.3: one path may not be the prefix of another. */
	if ((p->kw_whole && p->kw_part) || (p->mb_whole && p->mb_part))
		return es_error("invalidPatch", "A patch both sets and "
		    "patches a property", NULL);
	return NULL;
}

static void
es_req_add_update(struct es_req *q, uint64_t id, const struct es_patch *p)
{
	size_t i;
	char *s;

	wire_u64list_add(&q->up_ids, id);
	wire_u64list_add(&q->flags_add, p->flags_add);
	wire_u64list_add(&q->flags_del, p->flags_del);
	wire_u64list_add(&q->kw_replace, p->kw_replace);
	wire_u64list_add(&q->mb_replace, p->mb_replace);
	s = xcalloc(1, p->kw_add.len + 1);
	if (p->kw_add.len > 0)
		memcpy(s, p->kw_add.data, p->kw_add.len);
	wire_strlist_add(&q->kw_add, s);
	free(s);
	s = xcalloc(1, p->kw_del.len + 1);
	if (p->kw_del.len > 0)
		memcpy(s, p->kw_del.data, p->kw_del.len);
	wire_strlist_add(&q->kw_del, s);
	free(s);
	wire_u64list_add(&q->mb_add_counts, p->nmb_add);
	for (i = 0; i < p->nmb_add; i++)
		wire_u64list_add(&q->mb_add, p->mb_add[i]);
	wire_u64list_add(&q->mb_del_counts, p->nmb_del);
	for (i = 0; i < p->nmb_del; i++)
		wire_u64list_add(&q->mb_del, p->mb_del[i]);
	q->nup++;
}

/* The SetError of one email's status from storaged. */
static struct json *
es_status_error(uint64_t st, const char *text, bool update)
{
	bool mbox = text != NULL && strstr(text, "mailbox") != NULL;

	switch (st) {
	case IPC_S_NOTFOUND:
		/* A mailbox that does not exist, or the email itself. */
		if (update && mbox)
			return es_error("invalidProperties", text,
			    "mailboxIds");
		return es_error("notFound", NULL, NULL);
	case IPC_S_INVALID:
		return es_error("invalidProperties", text, update ?
		    (mbox ? "mailboxIds" : "keywords") : NULL);
	case IPC_S_LIMIT:
		return es_error(mbox ? "tooManyMailboxes" : "tooManyKeywords",
		    text, NULL);
	case IPC_S_QUOTA:
		return es_error("overQuota", text, NULL);
	default:
		return es_error("forbidden", text, NULL);
	}
}

static struct json *
es_or_null(struct json **v)
{
	return jmap_set_map(v);
}

static void
email_set_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_SET_rep *r = rep;
	struct email_set_ctx *x = c->ctx;
	struct json *res, *updated, *destroyed, *nc, *cr;
	struct wire_iter it;
	const char *t;
	uint64_t s;
	uint32_t i;

	if (st == IPC_S_CONFLICT) {
		jmap_call_error(c, "stateMismatch", NULL);
		return;
	}
	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	if (r->update_status.count != x->nup ||
	    r->update_texts.count != x->nup ||
	    r->destroy_status.count != x->ndestroy ||
	    r->destroy_texts.count != x->ndestroy) {
		jmap_call_error(c, "serverFail", "Bad EMAIL_SET reply");
		return;
	}
	updated = json_new_object();
	wire_strlist_iter(&r->update_texts, &it);
	for (i = 0; i < x->nup; i++) {
		s = wire_u64list_get(&r->update_status, i);
		t = wire_strlist_next(&it);
		if (s == IPC_S_OK)
			json_object_set(updated, x->up_keys[i],
			    json_new_null());
		else
			json_object_set(x->not_updated, x->up_keys[i],
			    es_status_error(s, t, true));
	}
	destroyed = json_new_array();
	wire_strlist_iter(&r->destroy_texts, &it);
	for (i = 0; i < x->ndestroy; i++) {
		s = wire_u64list_get(&r->destroy_status, i);
		t = wire_strlist_next(&it);
		if (s == IPC_S_OK)
			json_array_add(destroyed,
			    json_new_strz(x->de_keys[i]));
		else
			json_object_set(x->not_destroyed, x->de_keys[i],
			    es_status_error(s, t, false));
	}
	res = json_new_object();
	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	json_object_set(res, "oldState", em_state(x->have_old ?
	    x->old_state : r->old_state));
	json_object_set(res, "newState", em_state(r->new_state));
	if (x->create != NULL) {
		cr = em_create_created(x->create);
		nc = em_create_not_created(x->create);
	} else {
		cr = json_new_object();
		nc = json_new_object();
	}
	json_object_set(res, "created", es_or_null(&cr));
	json_object_set(res, "updated", es_or_null(&updated));
	json_object_set(res, "destroyed", es_or_null(&destroyed));
	json_object_set(res, "notCreated", es_or_null(&nc));
	json_object_set(res, "notUpdated", es_or_null(&x->not_updated));
	json_object_set(res, "notDestroyed", es_or_null(&x->not_destroyed));
	jmap_call_reply(c, res);
}

static void	es_send(struct jmap_call *c);
static void	es_created(struct jmap_call *c);
static void	es_gate_cb(struct jmap_call *, enum ipc_status, const char *,
		    const void *);

void
jmap_email_set(const struct jmap_env *env, struct jmap_call *c)
{
	const struct json *create, *update, *destroy, *v;
	struct ipc_EMAIL_SET_req m;
	struct email_set_ctx *x;
	size_t i, total;

	if (!jmap_account_check(c))
		return;
	memset(&m, 0, sizeof(m));
	if ((v = json_get(c->args, "ifInState")) != NULL &&
	    json_type(v) != JSON_NULL) {
		if (json_type(v) != JSON_STRING) {
			jmap_call_error(c, "invalidArguments", "ifInState "
			    "must be a String");
			return;
		}
		/* A state this server never gave cannot be current. */
		if (!jmap_state_parse(json_str(v, NULL), &m.if_state) ||
		    m.if_state == 0) {
			jmap_call_error(c, "stateMismatch", NULL);
			return;
		}
	}
	create = json_get(c->args, "create");
	update = json_get(c->args, "update");
	destroy = json_get(c->args, "destroy");
	if ((create != NULL && json_type(create) != JSON_NULL &&
	    json_type(create) != JSON_OBJECT) ||
	    (update != NULL && json_type(update) != JSON_NULL &&
	    json_type(update) != JSON_OBJECT) ||
	    (destroy != NULL && json_type(destroy) != JSON_NULL &&
	    json_type(destroy) != JSON_ARRAY)) {
		jmap_call_error(c, "invalidArguments", "create, update and "
		    "destroy must be objects, an object and an array");
		return;
	}
	total = em_len(create) + em_len(update) + em_len(destroy);
	if (total > env->max_objects_in_set) {
		jmap_call_error(c, "requestTooLarge", "More objects than "
		    "maxObjectsInSet");
		return;
	}
	for (i = 0; i < em_len(destroy); i++)
		if (json_type(json_at(destroy, i)) != JSON_STRING) {
			jmap_call_error(c, "invalidArguments", "destroy must "
			    "be an array of Ids");
			return;
		}
	x = xcalloc(1, sizeof(*x));
	c->ctx = x;
	c->ctx_free = email_set_ctx_free;
	x->if_state = m.if_state;
	if (em_len(create) == 0) {
		es_send(c);
		return;
	}
	/*
	 * 5.3: creations first.  ifInState is checked before them (an
	 * EMAIL_SET that changes nothing); the updates and destroys after
	 * them cannot check it again, the creations having moved the state.
	 */
	if (x->if_state == 0) {
		em_create_start(c, &x->create, create, es_created);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.if_state = x->if_state;
	(void)jmap_store_request(c, IPC_T_EMAIL_SET, &m, es_gate_cb);
}

/* ifInState holds: the creations, then the rest. */
static void
es_gate_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_SET_rep *r = rep;
	struct email_set_ctx *x = c->ctx;

	if (st == IPC_S_CONFLICT) {
		jmap_call_error(c, "stateMismatch", NULL);
		return;
	}
	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	x->old_state = r->old_state;
	x->have_old = true;
	x->if_state = 0;
	em_create_start(c, &x->create, json_get(c->args, "create"),
	    es_created);
}

static void
es_created(struct jmap_call *c)
{
	struct email_set_ctx *x = c->ctx;

	x->if_state = 0;
	es_send(c);
}

/* The updates and destroys, in one EMAIL_SET. */
static void
es_send(struct jmap_call *c)
{
	const struct json *update, *destroy, *v;
	struct email_set_ctx *x = c->ctx;
	struct ipc_EMAIL_SET_req m;
	struct es_req q;
	struct es_patch p;
	struct json *err;
	const char *key;
	uint64_t id;
	size_t i;

	update = json_get(c->args, "update");
	destroy = json_get(c->args, "destroy");
	memset(&m, 0, sizeof(m));
	m.if_state = x->if_state;
	x->not_updated = json_new_object();
	x->not_destroyed = json_new_object();
	x->up_keys = xcalloc(em_len(update) + 1, sizeof(*x->up_keys));
	x->de_keys = xcalloc(em_len(destroy) + 1, sizeof(*x->de_keys));
	memset(&q, 0, sizeof(q));
	for (i = 0; i < em_len(update); i++) {
		v = json_member(update, i, &key);
		if ((id = jmap_id_parse(jmap_id_ref(c, key), OBJID_EMAIL)) ==
		    0) {
			json_object_set(x->not_updated, key,
			    es_error("notFound", NULL, NULL));
			continue;
		}
		memset(&p, 0, sizeof(p));
		if ((err = es_patch_read(&p, v)) != NULL) {
			json_object_set(x->not_updated, key, err);
			es_patch_clear(&p);
			continue;
		}
		es_req_add_update(&q, id, &p);
		es_patch_clear(&p);
		x->up_keys[x->nup++] = xstrdup(key);
	}
	for (i = 0; i < em_len(destroy); i++) {
		key = json_str(json_at(destroy, i), NULL);
		if ((id = jmap_id_parse(jmap_id_ref(c, key), OBJID_EMAIL)) ==
		    0) {
			json_object_set(x->not_destroyed, key,
			    es_error("notFound", NULL, NULL));
			continue;
		}
		wire_u64list_add(&q.destroy_ids, id);
		x->de_keys[x->ndestroy++] = xstrdup(key);
		q.ndestroy++;
	}
	m.update_ids = (struct wire_u64list){ q.nup, q.up_ids.data };
	m.flags_add = (struct wire_u64list){ q.nup, q.flags_add.data };
	m.flags_del = (struct wire_u64list){ q.nup, q.flags_del.data };
	m.kw_replace = (struct wire_u64list){ q.nup, q.kw_replace.data };
	m.mb_replace = (struct wire_u64list){ q.nup, q.mb_replace.data };
	m.kw_add = (struct wire_strlist){ q.nup, q.kw_add.data,
	    q.kw_add.len };
	m.kw_del = (struct wire_strlist){ q.nup, q.kw_del.data,
	    q.kw_del.len };
	m.mb_add_counts = (struct wire_u64list){ q.nup,
	    q.mb_add_counts.data };
	m.mb_add = (struct wire_u64list){ (uint32_t)(q.mb_add.len / 8),
	    q.mb_add.data };
	m.mb_del_counts = (struct wire_u64list){ q.nup,
	    q.mb_del_counts.data };
	m.mb_del = (struct wire_u64list){ (uint32_t)(q.mb_del.len / 8),
	    q.mb_del.data };
	m.destroy_ids = (struct wire_u64list){ q.ndestroy,
	    q.destroy_ids.data };
	/* One request even with nothing to change: it gives the state. */
	(void)jmap_store_request(c, IPC_T_EMAIL_SET, &m, email_set_cb);
	es_req_clear(&q);
}
