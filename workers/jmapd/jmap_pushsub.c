/* SPDX-License-Identifier: ISC */
/*
 * jmap_pushsub.c: PushSubscription/get and /set (RFC 8620 7.2.1, 7.2.2)
 * over storaged's PUSHSUB_LIST, _CREATE, _UPDATE and _DEL.
 *
 * Subscriptions belong to the authenticated user, not to an account:
 * neither method takes an accountId (one given is ignored), a state or
 * ifInState.  url and keys are never shown (7.2.1: asking for them is
 * "forbidden"); they are immutable, as is deviceClientId.  storaged makes
 * the verification code, caps expires and pushes; an update may set
 * verificationCode (a wrong one is invalidProperties, 7.2.2), expires
 * and types.  Type names this server does not have are accepted and
 * dropped: their data never changes here.
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "jmap_submission.h"
#include "pushtypes.h"
#include "webpush.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define PS_DEVICE_MAX	255
#define PS_URL_MAX	2048

static const char *const ps_props[] = {
	"id", "deviceClientId", "verificationCode", "expires", "types", NULL
};

/* --- Values --- */

static struct json *
ps_types_json(uint32_t types)
{
	struct json *a;
	size_t i;

	if ((types & PUSHTYPE_ALL) != 0)
		return json_new_null();
	a = json_new_array();
	for (i = 0; i < PUSHTYPES_N; i++)
		if ((types & pushtypes[i].bit) != 0)
			json_array_add(a, json_new_strz(pushtypes[i].name));
	return a;
}

/* types: String[]|null into a mask; false if it is neither. */
static bool
ps_types_read(const struct json *v, uint32_t *types)
{
	size_t i;

	if (json_type(v) == JSON_NULL) {
		*types = PUSHTYPE_ALL;
		return true;
	}
	if (json_type(v) != JSON_ARRAY || json_len(v) > 64)
		return false;
	*types = 0;
	for (i = 0; i < json_len(v); i++) {
		if (json_type(json_at(v, i)) != JSON_STRING)
			return false;
		*types |= pushtype_bit(json_str(json_at(v, i), NULL));
	}
	return true;
}

/* URL-safe base64 (RFC 4648 5), padded or not, of exactly n bytes. */
static bool
ps_b64(const struct json *v, uint8_t *out, size_t n)
{
	const char *s;
	size_t len, got = 0;

	if (v == NULL || json_type(v) != JSON_STRING)
		return false;
	s = json_str(v, &len);
	while (len > 0 && s[len - 1] == '=')
		len--;
	return sodium_base642bin(out, n, s, len, NULL, &got, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 && got == n;
}

/* keys: {p256dh, auth} or null (has false). */
static bool
ps_keys_read(const struct json *v, uint8_t *p256dh, uint8_t *auth,
    bool *has)
{
	*has = false;
	if (json_type(v) == JSON_NULL)
		return true;
	if (json_type(v) != JSON_OBJECT || json_len(v) != 2 ||
	    !ps_b64(json_get(v, "p256dh"), p256dh, WEBPUSH_KEY_LEN) ||
	    p256dh[0] != 4 ||
	    !ps_b64(json_get(v, "auth"), auth, WEBPUSH_AUTH_LEN))
		return false;
	*has = true;
	return true;
}

/* expires: UTCDate|null (0). */
static bool
ps_expires_read(const struct json *v, uint64_t *t)
{
	*t = 0;
	if (json_type(v) == JSON_NULL)
		return true;
	return json_type(v) == JSON_STRING &&
	    sub_utcdate_parse(json_str(v, NULL), t);
}

/* --- The list --- */

struct ps_row {
	uint64_t	 id, expires;
	uint32_t	 types;
	bool		 verified;
	char		*device, *code;
};

struct ps_list {
	struct ps_row	*v;
	size_t		 n;
};

static void
ps_list_free(void *p)
{
	struct ps_list *l = p;
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++) {
		free(l->v[i].device);
		free(l->v[i].code);
	}
	if (l != NULL)
		free(l->v);
	free(l);
}

static char *
ps_next(struct wire_iter *it)
{
	const char *s = wire_strlist_next(it);

	return xstrdup(s != NULL ? s : "");
}

static struct ps_list *
ps_list_from(const struct ipc_PUSHSUB_LIST_rep *r)
{
	struct ps_list *l = xcalloc(1, sizeof(*l));
	struct wire_iter d, c;
	uint32_t i, n = r->ids.count;

	if (r->expires.count != n || r->types.count != n ||
	    r->verified.count != n)
		n = 0;
	l->n = n;
	l->v = xcalloc(n + 1, sizeof(*l->v));
	wire_strlist_iter(&r->device_ids, &d);
	wire_strlist_iter(&r->codes, &c);
	for (i = 0; i < n; i++) {
		l->v[i].id = wire_u64list_get(&r->ids, i);
		l->v[i].expires = wire_u64list_get(&r->expires, i);
		l->v[i].types = (uint32_t)wire_u64list_get(&r->types, i);
		l->v[i].verified = wire_u64list_get(&r->verified, i) != 0;
		l->v[i].device = ps_next(&d);
		l->v[i].code = ps_next(&c);
	}
	return l;
}

static struct json *
ps_object(const struct ps_row *r, const struct json *props)
{
	struct json *o = json_new_object();

	json_object_set(o, "id", em_id(OBJID_PUSHSUB, r->id));
	if (jmap_prop_wanted(props, "deviceClientId"))
		json_object_set(o, "deviceClientId", json_new_strz(r->device));
	/* The code the client set: null until then (7.2). */
	if (jmap_prop_wanted(props, "verificationCode"))
		json_object_set(o, "verificationCode", r->verified ?
		    json_new_strz(r->code) : json_new_null());
	if (jmap_prop_wanted(props, "expires"))
		json_object_set(o, "expires", sub_utcdate(r->expires));
	if (jmap_prop_wanted(props, "types"))
		json_object_set(o, "types", ps_types_json(r->types));
	return o;
}

/* --- PushSubscription/get (7.2.1) --- */

/* ids and properties; false with c answered on an error. */
static bool
ps_get_args(struct jmap_call *c, const struct json **ids_r,
    const struct json **props_r)
{
	const struct json *ids = json_get(c->args, "ids");
	const struct json *props = json_get(c->args, "properties");
	const char *p;
	size_t i, k;

	if (ids != NULL && json_type(ids) == JSON_NULL)
		ids = NULL;
	if (props != NULL && json_type(props) == JSON_NULL)
		props = NULL;
	if ((ids != NULL && json_type(ids) != JSON_ARRAY) ||
	    (props != NULL && json_type(props) != JSON_ARRAY)) {
		jmap_call_error(c, "invalidArguments", "ids and properties "
		    "must be null or arrays");
		return false;
	}
	for (i = 0; ids != NULL && i < json_len(ids); i++)
		if (json_type(json_at(ids, i)) != JSON_STRING) {
			jmap_call_error(c, "invalidArguments", "ids must be "
			    "Ids");
			return false;
		}
	if (ids != NULL && json_len(ids) > c->env->max_objects_in_get) {
		jmap_call_error(c, "requestTooLarge", "More ids than "
		    "maxObjectsInGet");
		return false;
	}
	for (i = 0; props != NULL && i < json_len(props); i++) {
		if ((p = json_str(json_at(props, i), NULL)) == NULL) {
			jmap_call_error(c, "invalidArguments", "properties "
			    "must be names");
			return false;
		}
		if (strcmp(p, "url") == 0 || strcmp(p, "keys") == 0) {
			jmap_call_error(c, "forbidden", "url and keys are "
			    "never returned");
			return false;
		}
		for (k = 0; ps_props[k] != NULL; k++)
			if (strcmp(ps_props[k], p) == 0)
				break;
		if (ps_props[k] == NULL) {
			jmap_call_error(c, "invalidArguments", "unknown "
			    "property");
			return false;
		}
	}
	*ids_r = ids;
	*props_r = props;
	return true;
}

static void
ps_get_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct json *ids = NULL, *props = NULL;
	struct json *res, *list, *nf;
	struct ps_list *l;
	size_t i, k;
	uint64_t id;

	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	l = ps_list_from(rep);
	(void)ps_get_args(c, &ids, &props);	/* checked before */
	list = json_new_array();
	nf = json_new_array();
	for (i = 0; ids == NULL && i < l->n; i++)
		json_array_add(list, ps_object(&l->v[i], props));
	for (i = 0; ids != NULL && i < json_len(ids); i++) {
		const char *s = json_str(json_at(ids, i), NULL);

		id = jmap_id_parse(jmap_id_ref(c, s), OBJID_PUSHSUB);
		for (k = 0; k < l->n && l->v[k].id != id; k++)
			;
		if (id != 0 && k < l->n)
			json_array_add(list, ps_object(&l->v[k], props));
		else
			json_array_add(nf, json_new_strz(s));
	}
	ps_list_free(l);
	res = json_new_object();
	json_object_set(res, "list", list);
	json_object_set(res, "notFound", nf);
	jmap_call_reply(c, res);
}

void
jmap_pushsub_get(const struct jmap_env *env, struct jmap_call *c)
{
	const struct json *ids, *props;

	(void)env;
	if (!ps_get_args(c, &ids, &props))
		return;
	(void)jmap_store_request(c, IPC_T_PUSHSUB_LIST, NULL, ps_get_cb);
}

/* --- PushSubscription/set (7.2.2) --- */

enum ps_kind { PS_CREATE, PS_UPDATE, PS_DESTROY };

struct ps_op {
	enum ps_kind	 kind;
	const char	*key;
	const struct json *obj;
	uint64_t	 id;
	uint64_t	 asked;		/* expires the client gave (0: none) */
	bool		 gave_expires;
};

struct ps_set {
	struct ps_op	*ops;
	size_t		 nops, cur;
	struct json	*created, *not_created, *updated, *not_updated;
	struct json	*destroyed, *not_destroyed;
};

static void
ps_set_free(void *p)
{
	struct ps_set *x = p;

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
ps_fail(struct ps_set *x, const struct ps_op *op, const char *type,
    const char *prop, const char *desc)
{
	json_object_set(op->kind == PS_CREATE ? x->not_created :
	    op->kind == PS_UPDATE ? x->not_updated : x->not_destroyed,
	    op->key, jmap_set_error(type, prop, desc));
}

static void	ps_set_next(struct jmap_call *c);

static void
ps_write_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	struct ps_set *x = c->ctx;
	struct ps_op *op = &x->ops[x->cur];
	uint64_t expires = 0;
	struct json *o;
	char id[OBJID_MAX];

	if (st == IPC_S_UNAVAIL) {
		em_store_error(c, st, text);
		return;
	}
	if (st == IPC_S_OK && op->kind == PS_CREATE) {
		const struct ipc_PUSHSUB_CREATE_rep *r = rep;

		objid_format(id, OBJID_PUSHSUB, r->id);
		o = json_new_object();
		json_object_set(o, "id", json_new_strz(id));
		json_object_set(o, "expires", sub_utcdate(r->expires));
		json_object_set(x->created, op->key, o);
		jmap_created_id(c, op->key, id);
	} else if (st == IPC_S_OK && op->kind == PS_UPDATE) {
		expires = ((const struct ipc_PUSHSUB_UPDATE_rep *)rep)->expires;
		/* 5.3: what the server set otherwise than asked. */
		if (op->gave_expires && expires != op->asked) {
			o = json_new_object();
			json_object_set(o, "expires", sub_utcdate(expires));
		} else
			o = json_new_null();
		json_object_set(x->updated, op->key, o);
	} else if (st == IPC_S_OK)
		json_array_add(x->destroyed, json_new_strz(op->key));
	else if (st == IPC_S_NOTFOUND)
		ps_fail(x, op, "notFound", NULL, NULL);
	else if (st == IPC_S_LIMIT)
		ps_fail(x, op, "overQuota", NULL, text);
	else if (st == IPC_S_INVALID)
		ps_fail(x, op, "invalidProperties", text, NULL);
	else
		ps_fail(x, op, "serverFail", NULL, text);
	x->cur++;
	ps_set_next(c);
}

/* A creation's properties into m; the property at fault, or NULL. */
static const char *
ps_create_read(const struct json *obj, struct ipc_PUSHSUB_CREATE_req *m,
    uint8_t *p256dh, uint8_t *auth)
{
	const struct json *v;
	const char *key;
	bool has = false;
	size_t i, len;

	memset(m, 0, sizeof(*m));
	m->types = PUSHTYPE_ALL;
	m->device_id = m->url = NULL;
	for (i = 0; i < json_len(obj); i++) {
		v = json_member(obj, i, &key);
		if (strcmp(key, "deviceClientId") == 0) {
			if (json_type(v) != JSON_STRING ||
			    (json_str(v, &len), len) > PS_DEVICE_MAX ||
			    strlen(json_str(v, NULL)) != len)
				return key;
			m->device_id = json_str(v, NULL);
		} else if (strcmp(key, "url") == 0) {
			if (json_type(v) != JSON_STRING ||
			    (json_str(v, &len), len) > PS_URL_MAX ||
			    strncmp(json_str(v, NULL), "https://", 8) != 0)
				return key;
			m->url = json_str(v, NULL);
		} else if (strcmp(key, "keys") == 0) {
			if (!ps_keys_read(v, p256dh, auth, &has))
				return key;
		} else if (strcmp(key, "verificationCode") == 0) {
			/* 7.2: null or omitted at creation. */
			if (json_type(v) != JSON_NULL)
				return key;
		} else if (strcmp(key, "expires") == 0) {
			if (!ps_expires_read(v, &m->expires))
				return key;
		} else if (strcmp(key, "types") == 0) {
			if (!ps_types_read(v, &m->types))
				return key;
		} else
			return key;	/* id is server-set */
	}
	if (m->device_id == NULL)
		return "deviceClientId";
	if (m->url == NULL)
		return "url";
	if (has) {
		m->p256dh.p = p256dh;
		m->p256dh.len = WEBPUSH_KEY_LEN;
		m->auth.p = auth;
		m->auth.len = WEBPUSH_AUTH_LEN;
	}
	return NULL;
}

/* An update's properties into m; the property at fault, or NULL. */
static const char *
ps_update_read(struct ps_op *op, struct ipc_PUSHSUB_UPDATE_req *m)
{
	const struct json *v;
	const char *key;
	size_t i;

	memset(m, 0, sizeof(*m));
	m->id = op->id;
	m->code = "";
	if (json_type(op->obj) != JSON_OBJECT)
		return "";
	for (i = 0; i < json_len(op->obj); i++) {
		v = json_member(op->obj, i, &key);
		if (strcmp(key, "verificationCode") == 0) {
			if (json_type(v) != JSON_STRING)
				return key;
			m->code = json_str(v, NULL);
			m->what |= 1;
		} else if (strcmp(key, "expires") == 0) {
			if (!ps_expires_read(v, &m->expires))
				return key;
			op->asked = m->expires;
			op->gave_expires = true;
			m->what |= 2;
		} else if (strcmp(key, "types") == 0) {
			if (!ps_types_read(v, &m->types))
				return key;
			m->what |= 4;
		} else
			return key;	/* immutable or unknown */
	}
	return NULL;
}

static void
ps_set_done(struct jmap_call *c)
{
	struct ps_set *x = c->ctx;
	struct json *res = json_new_object();

	json_object_set(res, "created", jmap_set_map(&x->created));
	json_object_set(res, "updated", jmap_set_map(&x->updated));
	json_object_set(res, "destroyed", jmap_set_map(&x->destroyed));
	json_object_set(res, "notCreated", jmap_set_map(&x->not_created));
	json_object_set(res, "notUpdated", jmap_set_map(&x->not_updated));
	json_object_set(res, "notDestroyed", jmap_set_map(&x->not_destroyed));
	jmap_call_reply(c, res);
}

static void
ps_set_next(struct jmap_call *c)
{
	struct ps_set *x = c->ctx;
	struct ps_op *op;
	const char *bad;
	uint8_t p256dh[WEBPUSH_KEY_LEN], auth[WEBPUSH_AUTH_LEN];

	for (; x->cur < x->nops; x->cur++) {
		op = &x->ops[x->cur];
		if (op->kind == PS_DESTROY) {
			struct ipc_PUSHSUB_DEL_req m = { op->id };

			if (op->id == 0) {
				ps_fail(x, op, "notFound", NULL, NULL);
				continue;
			}
			(void)jmap_store_request(c, IPC_T_PUSHSUB_DEL, &m,
			    ps_write_cb);
			return;
		}
		if (op->kind == PS_UPDATE) {
			struct ipc_PUSHSUB_UPDATE_req m;

			if (op->id == 0) {
				ps_fail(x, op, "notFound", NULL, NULL);
				continue;
			}
			if ((bad = ps_update_read(op, &m)) != NULL) {
				ps_fail(x, op, "invalidProperties",
				    bad[0] != '\0' ? bad : NULL, NULL);
				continue;
			}
			(void)jmap_store_request(c, IPC_T_PUSHSUB_UPDATE, &m,
			    ps_write_cb);
			return;
		}
		{
			struct ipc_PUSHSUB_CREATE_req m;

			if (json_type(op->obj) != JSON_OBJECT) {
				ps_fail(x, op, "invalidProperties", NULL,
				    NULL);
				continue;
			}
			if ((bad = ps_create_read(op->obj, &m, p256dh,
			    auth)) != NULL) {
				ps_fail(x, op, "invalidProperties", bad, NULL);
				continue;
			}
			(void)jmap_store_request(c, IPC_T_PUSHSUB_CREATE, &m,
			    ps_write_cb);
			return;
		}
	}
	ps_set_done(c);
}

/* create, update and destroy into x->ops; false with c answered. */
static bool
ps_set_ops(struct jmap_call *c, struct ps_set *x)
{
	const struct json *create, *update, *destroy;
	const char *key;
	size_t i, n;

	/* 7.2.2: no ifInState (a subscription has no state). */
	if (!jmap_set_args(c, NULL, &create, &update, &destroy, &n))
		return false;
	x->ops = xcalloc(n + 1, sizeof(*x->ops));
	for (i = 0; i < em_len(create); i++) {
		x->ops[x->nops].kind = PS_CREATE;
		x->ops[x->nops].obj = json_member(create, i, &key);
		x->ops[x->nops++].key = key;
	}
	for (i = 0; i < em_len(update); i++) {
		x->ops[x->nops].kind = PS_UPDATE;
		x->ops[x->nops].obj = json_member(update, i, &key);
		x->ops[x->nops].key = key;
		x->ops[x->nops++].id = jmap_id_parse(jmap_id_ref(c, key),
		    OBJID_PUSHSUB);
	}
	for (i = 0; i < em_len(destroy); i++) {
		if ((key = json_str(json_at(destroy, i), NULL)) == NULL) {
			jmap_call_error(c, "invalidArguments", "destroy must "
			    "be an array of Ids");
			return false;
		}
		x->ops[x->nops].kind = PS_DESTROY;
		x->ops[x->nops].key = key;
		x->ops[x->nops++].id = jmap_id_parse(jmap_id_ref(c, key),
		    OBJID_PUSHSUB);
	}
	return true;
}

void
jmap_pushsub_set(const struct jmap_env *env, struct jmap_call *c)
{
	struct ps_set *x;

	(void)env;
	x = xcalloc(1, sizeof(*x));
	c->ctx = x;
	c->ctx_free = ps_set_free;
	if (!ps_set_ops(c, x))
		return;
	x->created = json_new_object();
	x->not_created = json_new_object();
	x->updated = json_new_object();
	x->not_updated = json_new_object();
	x->destroyed = json_new_array();
	x->not_destroyed = json_new_object();
	ps_set_next(c);
}
