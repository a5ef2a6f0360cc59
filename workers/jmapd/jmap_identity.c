/* SPDX-License-Identifier: ISC */
/*
 * jmap_identity.c: Identity/get, /changes and /set (RFC 8621 6) over
 * storaged's IDENTITY_LIST, IDENTITY_PUT and IDENTITY_DEL.
 *
 * storaged keeps the identities and decides which addresses the account
 * may send as (its own, aliases that lead to it, its catch-all domains);
 * replyTo and bcc are checked here as EmailAddress[] and kept as their
 * JSON text.  email is immutable (6: "cannot be changed"): an update that
 * gives another is invalidProperties.
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_TEXT_MAX	(64 * 1024)	/* a signature */
#define ID_NAME_MAX	255

static const char *const id_props[] = {
	"id", "name", "email", "replyTo", "bcc", "textSignature",
	"htmlSignature", "mayDelete", NULL
};

/* One identity as IDENTITY_LIST gave it. */
struct id_row {
	uint64_t	 id;
	char		*name, *email, *reply_to, *bcc, *text_sig, *html_sig;
	bool		 may_delete;
};

struct id_list {
	uint64_t	 state;
	struct id_row	*v;
	size_t		 n;
};

static void
id_list_free(void *p)
{
	struct id_list *l = p;
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].email);
		free(l->v[i].reply_to);
		free(l->v[i].bcc);
		free(l->v[i].text_sig);
		free(l->v[i].html_sig);
	}
	if (l != NULL)
		free(l->v);
	free(l);
}

static char *
id_next(struct wire_iter *it)
{
	const char *s = wire_strlist_next(it);

	return xstrdup(s != NULL ? s : "");
}

static struct id_list *
id_list_from(const struct ipc_IDENTITY_LIST_rep *r)
{
	struct id_list *l = xcalloc(1, sizeof(*l));
	struct wire_iter a, b, c, d, e, f;
	uint32_t i;

	l->state = r->state;
	l->n = r->ids.count;
	l->v = xcalloc(l->n + 1, sizeof(*l->v));
	wire_strlist_iter(&r->names, &a);
	wire_strlist_iter(&r->emails, &b);
	wire_strlist_iter(&r->reply_tos, &c);
	wire_strlist_iter(&r->bccs, &d);
	wire_strlist_iter(&r->text_sigs, &e);
	wire_strlist_iter(&r->html_sigs, &f);
	for (i = 0; i < r->ids.count; i++) {
		l->v[i].id = wire_u64list_get(&r->ids, i);
		l->v[i].name = id_next(&a);
		l->v[i].email = id_next(&b);
		l->v[i].reply_to = id_next(&c);
		l->v[i].bcc = id_next(&d);
		l->v[i].text_sig = id_next(&e);
		l->v[i].html_sig = id_next(&f);
		l->v[i].may_delete = i < r->may_delete.count &&
		    wire_u64list_get(&r->may_delete, i) != 0;
	}
	return l;
}

static struct id_row *
id_find(struct id_list *l, uint64_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

/* An EmailAddress[] kept as JSON text, back as JSON (null for ""). */
static struct json *
id_addrs(const char *text)
{
	struct json_limits lim = { 8, 4096, ID_TEXT_MAX };
	struct json *v = NULL;
	char err[64];

	if (text[0] == '\0' || json_parse(text, strlen(text), &lim, &v, err,
	    sizeof(err)) == -1)
		return json_new_null();
	return v;
}

static struct json *
id_object(const struct id_row *r, const struct json *props)
{
	struct json *o = json_new_object();
	char id[OBJID_MAX];

	objid_format(id, OBJID_IDENTITY, r->id);
	json_object_set(o, "id", json_new_strz(id));
	if (jmap_prop_wanted(props, "name"))
		json_object_set(o, "name", json_new_strz(r->name));
	if (jmap_prop_wanted(props, "email"))
		json_object_set(o, "email", json_new_strz(r->email));
	if (jmap_prop_wanted(props, "replyTo"))
		json_object_set(o, "replyTo", id_addrs(r->reply_to));
	if (jmap_prop_wanted(props, "bcc"))
		json_object_set(o, "bcc", id_addrs(r->bcc));
	if (jmap_prop_wanted(props, "textSignature"))
		json_object_set(o, "textSignature", json_new_strz(r->text_sig));
	if (jmap_prop_wanted(props, "htmlSignature"))
		json_object_set(o, "htmlSignature", json_new_strz(r->html_sig));
	if (jmap_prop_wanted(props, "mayDelete"))
		json_object_set(o, "mayDelete", json_new_bool(r->may_delete));
	return o;
}

/* The list, then next(c) with it in c->ctx. */
static void
id_list_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	void (*next)(struct jmap_call *) = (void (*)(struct jmap_call *))
	    c->ctx;

	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	c->ctx = id_list_from(rep);
	c->ctx_free = id_list_free;
	next(c);
}

static void
id_list_then(struct jmap_call *c, void (*next)(struct jmap_call *))
{
	c->ctx = (void *)next;
	(void)jmap_store_request(c, IPC_T_IDENTITY_LIST, NULL, id_list_cb);
}

/* --- Identity/get (6.1) --- */

static void
id_get_listed(struct jmap_call *c)
{
	struct id_list *l = c->ctx;
	const struct json *ids = json_get(c->args, "ids");
	const struct json *props = json_get(c->args, "properties");
	struct json *res, *list, *nf;
	struct id_row *r;
	size_t i;

	if (ids != NULL && json_type(ids) == JSON_NULL)
		ids = NULL;
	if (props != NULL && json_type(props) == JSON_NULL)
		props = NULL;
	list = json_new_array();
	nf = json_new_array();
	if (ids == NULL)
		for (i = 0; i < l->n; i++)
			json_array_add(list, id_object(&l->v[i], props));
	else
		for (i = 0; i < json_len(ids); i++) {
			const char *s = json_str(json_at(ids, i), NULL);

			if ((r = id_find(l, jmap_id_parse(s, OBJID_IDENTITY)))
			    != NULL)
				json_array_add(list, id_object(r, props));
			else
				json_array_add(nf, json_new_strz(s));
		}
	res = json_new_object();
	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	json_object_set(res, "state", em_state(l->state));
	json_object_set(res, "list", list);
	json_object_set(res, "notFound", nf);
	jmap_call_reply(c, res);
}

void
jmap_identity_get(const struct jmap_env *env, struct jmap_call *c)
{
	const struct json *ids, *props;

	(void)env;
	if (!jmap_get_args(c, &ids, &props, id_props))
		return;
	id_list_then(c, id_get_listed);
}

void
jmap_identity_changes(const struct jmap_env *env, struct jmap_call *c)
{
	(void)env;
	jmap_changes(c, 4);	/* CHANGE_IDENTITY of store/record.h */
}

/* --- Identity/set (6.3) --- */

enum id_kind { ID_CREATE, ID_UPDATE, ID_DESTROY };

struct id_op {
	enum id_kind	 kind;
	const char	*key;
	const struct json *obj;
	uint64_t	 id;
	/* The identity to write (create, update). */
	char		*name, *email, *reply_to, *bcc, *text_sig, *html_sig;
};

struct id_set {
	struct id_list	*l;
	struct id_op	*ops;
	size_t		 nops, cur;
	uint64_t	 old_state;
	struct json	*created, *not_created, *updated, *not_updated;
	struct json	*destroyed, *not_destroyed;
};

static void
id_op_clear(struct id_op *op)
{
	free(op->name);
	free(op->email);
	free(op->reply_to);
	free(op->bcc);
	free(op->text_sig);
	free(op->html_sig);
}

static void
id_set_free(void *p)
{
	struct id_set *x = p;
	size_t i;

	id_list_free(x->l);
	for (i = 0; i < x->nops; i++)
		id_op_clear(&x->ops[i]);
	free(x->ops);
	json_free(&x->created);
	json_free(&x->not_created);
	json_free(&x->updated);
	json_free(&x->not_updated);
	json_free(&x->destroyed);
	json_free(&x->not_destroyed);
	free(x);
}

static void
id_fail(struct id_set *x, const struct id_op *op, const char *type,
    const char *prop, const char *desc)
{
	struct json *e = jmap_set_error(type, prop, desc);

	json_object_set(op->kind == ID_CREATE ? x->not_created :
	    op->kind == ID_UPDATE ? x->not_updated : x->not_destroyed,
	    op->key, e);
}

/* Whether v is an EmailAddress[] (or null), as JSON text into *out. */
static bool
id_addrs_check(const struct json *v, char **out)
{
	const struct json *a, *n, *e;
	struct buf b = BUF_INIT;
	size_t i;

	if (json_type(v) == JSON_NULL) {
		*out = xstrdup("");
		return true;
	}
	if (json_type(v) != JSON_ARRAY || json_len(v) > 100)
		return false;
	for (i = 0; i < json_len(v); i++) {
		a = json_at(v, i);
		n = json_get(a, "name");
		e = json_get(a, "email");
		if (json_type(a) != JSON_OBJECT || e == NULL ||
		    json_type(e) != JSON_STRING || (n != NULL &&
		    json_type(n) != JSON_NULL && json_type(n) != JSON_STRING) ||
		    json_len(a) > 2)
			return false;
	}
	json_write(&b, v);
	if (b.len > ID_TEXT_MAX) {
		buf_clear(&b);
		return false;
	}
	buf_append(&b, "", 1);
	*out = xstrdup((const char *)b.data);
	buf_clear(&b);
	return true;
}

/*
 * Reads the properties of obj into op over base (the identity updated, or
 * NULL for a creation); the property at fault, or NULL.
 */
static const char *
id_read(struct id_op *op, const struct json *obj, const struct id_row *base)
{
	const struct json *v;
	const char *key;
	size_t i, n;

	op->name = xstrdup(base != NULL ? base->name : "");
	op->email = xstrdup(base != NULL ? base->email : "");
	op->reply_to = xstrdup(base != NULL ? base->reply_to : "");
	op->bcc = xstrdup(base != NULL ? base->bcc : "");
	op->text_sig = xstrdup(base != NULL ? base->text_sig : "");
	op->html_sig = xstrdup(base != NULL ? base->html_sig : "");
	if (json_type(obj) != JSON_OBJECT)
		return "";
	for (i = 0; i < json_len(obj); i++) {
		v = json_member(obj, i, &key);
		if (strcmp(key, "name") == 0 || strcmp(key, "textSignature") ==
		    0 || strcmp(key, "htmlSignature") == 0) {
			if (json_type(v) != JSON_STRING)
				return key;
			n = strlen(json_str(v, NULL));
			if (n > (key[0] == 'n' ? ID_NAME_MAX : ID_TEXT_MAX))
				return key;
			if (key[0] == 'n') {
				free(op->name);
				op->name = xstrdup(json_str(v, NULL));
			} else if (key[0] == 't') {
				free(op->text_sig);
				op->text_sig = xstrdup(json_str(v, NULL));
			} else {
				free(op->html_sig);
				op->html_sig = xstrdup(json_str(v, NULL));
			}
		} else if (strcmp(key, "email") == 0) {
			if (json_type(v) != JSON_STRING ||
			    strpbrk(json_str(v, NULL), " <>\r\n\t") != NULL ||
			    strchr(json_str(v, NULL), '@') == NULL ||
			    (base != NULL && strcmp(json_str(v, NULL),
			    base->email) != 0))
				return key;
			free(op->email);
			op->email = xstrdup(json_str(v, NULL));
		} else if (strcmp(key, "replyTo") == 0) {
			free(op->reply_to);
			op->reply_to = NULL;
			if (!id_addrs_check(v, &op->reply_to))
				return key;
		} else if (strcmp(key, "bcc") == 0) {
			free(op->bcc);
			op->bcc = NULL;
			if (!id_addrs_check(v, &op->bcc))
				return key;
		} else if (strcmp(key, "id") == 0 ||
		    strcmp(key, "mayDelete") == 0) {
			/* Server-set: only its own value may be given back. */
			if (base == NULL)
				return key;
		} else
			return key;
	}
	if (op->email[0] == '\0')
		return "email";
	return NULL;
}

static void	id_set_next(struct jmap_call *c);

static void
id_put_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_IDENTITY_PUT_rep *r = rep;
	struct id_set *x = c->ctx;
	struct id_op *op = &x->ops[x->cur];
	struct json *o;
	char id[OBJID_MAX];

	if (st == IPC_S_UNAVAIL) {
		em_store_error(c, st, text);
		return;
	}
	if (st == IPC_S_OK) {
		objid_format(id, OBJID_IDENTITY, r->id);
		if (op->kind == ID_CREATE) {
			o = json_new_object();
			json_object_set(o, "id", json_new_strz(id));
			json_object_set(o, "mayDelete", json_new_bool(true));
			json_object_set(x->created, op->key, o);
			jmap_created_id(c, op->key, id);
		} else if (op->kind == ID_UPDATE)
			json_object_set(x->updated, op->key, json_new_null());
		else
			json_array_add(x->destroyed, json_new_strz(op->key));
	} else if (st == IPC_S_DENIED)
		id_fail(x, op, op->kind == ID_CREATE ? "forbiddenFrom" :
		    "forbidden", NULL, text);
	else if (st == IPC_S_NOTFOUND)
		id_fail(x, op, "notFound", NULL, NULL);
	else if (st == IPC_S_LIMIT)
		id_fail(x, op, "overQuota", NULL, text);
	else if (st == IPC_S_INVALID)
		id_fail(x, op, "invalidProperties", NULL, text);
	else
		id_fail(x, op, "serverFail", NULL, text);
	x->cur++;
	id_set_next(c);
}

static void
id_done_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_IDENTITY_LIST_rep *r = rep;
	struct id_set *x = c->ctx;
	struct json *res;

	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	res = json_new_object();
	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	json_object_set(res, "oldState", em_state(x->old_state));
	json_object_set(res, "newState", em_state(r->state));
	json_object_set(res, "created", jmap_set_map(&x->created));
	json_object_set(res, "updated", jmap_set_map(&x->updated));
	json_object_set(res, "destroyed", jmap_set_map(&x->destroyed));
	json_object_set(res, "notCreated", jmap_set_map(&x->not_created));
	json_object_set(res, "notUpdated", jmap_set_map(&x->not_updated));
	json_object_set(res, "notDestroyed", jmap_set_map(&x->not_destroyed));
	jmap_call_reply(c, res);
}

static void
id_set_next(struct jmap_call *c)
{
	struct id_set *x = c->ctx;
	struct id_op *op;
	const struct id_row *base;
	const char *bad;

	for (; x->cur < x->nops; x->cur++) {
		op = &x->ops[x->cur];
		if (op->kind == ID_DESTROY) {
			struct ipc_IDENTITY_DEL_req m;

			if (id_find(x->l, op->id) == NULL) {
				id_fail(x, op, "notFound", NULL, NULL);
				continue;
			}
			m.id = op->id;
			(void)jmap_store_request(c, IPC_T_IDENTITY_DEL, &m,
			    id_put_cb);
			return;
		}
		base = NULL;
		if (op->kind == ID_UPDATE &&
		    (base = id_find(x->l, op->id)) == NULL) {
			id_fail(x, op, "notFound", NULL, NULL);
			continue;
		}
		if ((bad = id_read(op, op->obj, base)) != NULL) {
			id_fail(x, op, "invalidProperties", bad[0] != '\0' ?
			    bad : NULL, NULL);
			continue;
		}
		{
			struct ipc_IDENTITY_PUT_req m;

			m.id = op->kind == ID_UPDATE ? op->id : 0;
			m.name = op->name;
			m.email = op->email;
			m.reply_to = op->reply_to;
			m.bcc = op->bcc;
			m.text_sig = op->text_sig;
			m.html_sig = op->html_sig;
			(void)jmap_store_request(c, IPC_T_IDENTITY_PUT, &m,
			    id_put_cb);
			return;
		}
	}
	(void)jmap_store_request(c, IPC_T_IDENTITY_LIST, NULL, id_done_cb);
}

static void
id_set_listed(struct jmap_call *c)
{
	struct id_list *l = c->ctx;
	const struct json *create, *update, *destroy;
	struct id_set *x;
	const char *key;
	size_t i, n;

	x = xcalloc(1, sizeof(*x));
	x->l = l;
	x->old_state = l->state;
	c->ctx = x;
	c->ctx_free = id_set_free;
	if (!jmap_set_args(c, &l->state, &create, &update, &destroy, &n))
		return;
	x->ops = xcalloc(n + 1, sizeof(*x->ops));
	for (i = 0; i < em_len(create); i++) {
		struct id_op *op = &x->ops[x->nops++];

		op->kind = ID_CREATE;
		op->obj = json_member(create, i, &key);
		op->key = key;
	}
	for (i = 0; i < em_len(update); i++) {
		struct id_op *op = &x->ops[x->nops++];

		op->kind = ID_UPDATE;
		op->obj = json_member(update, i, &key);
		op->key = key;
		op->id = jmap_id_parse(jmap_id_ref(c, key), OBJID_IDENTITY);
	}
	for (i = 0; i < em_len(destroy); i++) {
		struct id_op *op = &x->ops[x->nops++];

		op->kind = ID_DESTROY;
		if ((op->key = json_str(json_at(destroy, i), NULL)) == NULL) {
			jmap_call_error(c, "invalidArguments", "destroy must "
			    "be an array of Ids");
			return;
		}
		op->id = jmap_id_parse(jmap_id_ref(c, op->key),
		    OBJID_IDENTITY);
	}
	x->created = json_new_object();
	x->not_created = json_new_object();
	x->updated = json_new_object();
	x->not_updated = json_new_object();
	x->destroyed = json_new_array();
	x->not_destroyed = json_new_object();
	id_set_next(c);
}

void
jmap_identity_set(const struct jmap_env *env, struct jmap_call *c)
{
	(void)env;
	if (!jmap_account_check(c))
		return;
	id_list_then(c, id_set_listed);
}
