/* SPDX-License-Identifier: ISC */
/*
 * jmap_vacation.c: VacationResponse/get and /set (RFC 8621 8) over
 * storaged's VACATION_GET and VACATION_SET.
 *
 * The one object of an account has the id "singleton": /set may only
 * update it (create and destroy get the "singleton" SetError of RFC 8620
 * 5.3).  An update is a patch (5.3) of its top-level properties, applied
 * here over the stored response, which storaged then replaces whole.
 * storaged sends the replies at delivery (store/vacation.h).
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "jmap_submission.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define VAC_ID		"singleton"
#define VAC_HAS_SUBJECT	0x1	/* as store/vacation.h VACATION_HAS_* */
#define VAC_HAS_TEXT	0x2
#define VAC_HAS_HTML	0x4

static const char *const vac_props[] = {
	"id", "isEnabled", "fromDate", "toDate", "subject", "textBody",
	"htmlBody", NULL
};

/* The response as VACATION_GET gave it; strings NULL for null. */
struct vac {
	uint64_t	 state;
	bool		 enabled;
	uint64_t	 from, to;
	char		*subject, *text, *html;
	uint64_t	 old_state;	/* /set */
};

static void
vac_free(void *p)
{
	struct vac *v = p;

	if (v == NULL)
		return;
	free(v->subject);
	free(v->text);
	free(v->html);
	free(v);
}

static struct json *
vac_str(const char *s)
{
	return s != NULL ? json_new_strz(s) : json_new_null();
}

static struct json *
vac_date(uint64_t t)
{
	return t != 0 ? sub_utcdate(t) : json_new_null();
}

static struct json *
vac_object(const struct vac *v, const struct json *props)
{
	struct json *o = json_new_object();

	json_object_set(o, "id", json_new_strz(VAC_ID));
	if (jmap_prop_wanted(props, "isEnabled"))
		json_object_set(o, "isEnabled", json_new_bool(v->enabled));
	if (jmap_prop_wanted(props, "fromDate"))
		json_object_set(o, "fromDate", vac_date(v->from));
	if (jmap_prop_wanted(props, "toDate"))
		json_object_set(o, "toDate", vac_date(v->to));
	if (jmap_prop_wanted(props, "subject"))
		json_object_set(o, "subject", vac_str(v->subject));
	if (jmap_prop_wanted(props, "textBody"))
		json_object_set(o, "textBody", vac_str(v->text));
	if (jmap_prop_wanted(props, "htmlBody"))
		json_object_set(o, "htmlBody", vac_str(v->html));
	return o;
}

/* VACATION_GET's reply in c->ctx, then next(c). */
static void
vac_get_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_VACATION_GET_rep *r = rep;
	void (*next)(struct jmap_call *) = (void (*)(struct jmap_call *))
	    c->ctx;
	struct vac *v;

	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	v = xcalloc(1, sizeof(*v));
	v->state = r->state;
	v->enabled = r->enabled;
	v->from = r->from;
	v->to = r->to;
	v->subject = (r->has & VAC_HAS_SUBJECT) ? xstrdup(r->subject) : NULL;
	v->text = (r->has & VAC_HAS_TEXT) ? xstrdup(r->text) : NULL;
	v->html = (r->has & VAC_HAS_HTML) ? xstrdup(r->html) : NULL;
	c->ctx = v;
	c->ctx_free = vac_free;
	next(c);
}

static void
vac_then(struct jmap_call *c, void (*next)(struct jmap_call *))
{
	c->ctx = (void *)next;
	(void)jmap_store_request(c, IPC_T_VACATION_GET, NULL, vac_get_cb);
}

/* --- VacationResponse/get (8.1) --- */

static void
vac_get_read(struct jmap_call *c)
{
	const struct vac *v = c->ctx;
	const struct json *ids = json_get(c->args, "ids");
	const struct json *props = json_get(c->args, "properties");
	struct json *res, *list, *nf;
	const char *s;
	size_t i;

	if (ids != NULL && json_type(ids) == JSON_NULL)
		ids = NULL;
	if (props != NULL && json_type(props) == JSON_NULL)
		props = NULL;
	list = json_new_array();
	nf = json_new_array();
	if (ids == NULL)
		json_array_add(list, vac_object(v, props));
	else
		for (i = 0; i < json_len(ids); i++) {
			s = json_str(json_at(ids, i), NULL);
			if (strcmp(s, VAC_ID) == 0)
				json_array_add(list, vac_object(v, props));
			else
				json_array_add(nf, json_new_strz(s));
		}
	res = json_new_object();
	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	json_object_set(res, "state", em_state(v->state));
	json_object_set(res, "list", list);
	json_object_set(res, "notFound", nf);
	jmap_call_reply(c, res);
}

void
jmap_vacation_get(const struct jmap_env *env, struct jmap_call *c)
{
	const struct json *ids, *props;

	(void)env;
	if (!jmap_get_args(c, &ids, &props, vac_props))
		return;
	vac_then(c, vac_get_read);
}

/* --- VacationResponse/set (8.2) --- */

/* A String|null property into *s; false if v is neither. */
static bool
vac_patch_str(const struct json *v, char **s)
{
	if (json_type(v) != JSON_NULL && json_type(v) != JSON_STRING)
		return false;
	free(*s);
	*s = json_type(v) == JSON_NULL ? NULL : xstrdup(json_str(v, NULL));
	return true;
}

/* A UTCDate|null property into *t (0: null); false if v is neither. */
static bool
vac_patch_date(const struct json *v, uint64_t *t)
{
	if (json_type(v) == JSON_NULL) {
		*t = 0;
		return true;
	}
	return json_type(v) == JSON_STRING &&
	    sub_utcdate_parse(json_str(v, NULL), t) && *t != 0;
}

/* Applies patch p (5.3) to v; the property at fault, or NULL. */
static const char *
vac_patch(struct vac *v, const struct json *p)
{
	const struct json *val;
	const char *key;
	size_t i;
	bool ok;

	for (i = 0; i < json_len(p); i++) {
		val = json_member(p, i, &key);
		if (strcmp(key, "isEnabled") == 0)
			ok = json_bool(val, &v->enabled) == 0;
		else if (strcmp(key, "fromDate") == 0)
			ok = vac_patch_date(val, &v->from);
		else if (strcmp(key, "toDate") == 0)
			ok = vac_patch_date(val, &v->to);
		else if (strcmp(key, "subject") == 0)
			ok = vac_patch_str(val, &v->subject);
		else if (strcmp(key, "textBody") == 0)
			ok = vac_patch_str(val, &v->text);
		else if (strcmp(key, "htmlBody") == 0)
			ok = vac_patch_str(val, &v->html);
		else if (strcmp(key, "id") == 0)
			/* Immutable: only its own value may be given back. */
			ok = json_type(val) == JSON_STRING &&
			    strcmp(json_str(val, NULL), VAC_ID) == 0;
		else
			ok = false;
		if (!ok)
			return key;
	}
	return NULL;
}

static struct json *
vac_set_response(struct jmap_call *c, uint64_t old_state,
    uint64_t new_state, struct json **updated, struct json **not_created,
    struct json **not_updated, struct json **not_destroyed)
{
	struct json *res = json_new_object();

	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	json_object_set(res, "oldState", em_state(old_state));
	json_object_set(res, "newState", em_state(new_state));
	json_object_set(res, "created", json_new_null());
	json_object_set(res, "updated", jmap_set_map(updated));
	json_object_set(res, "destroyed", json_new_null());
	json_object_set(res, "notCreated", jmap_set_map(not_created));
	json_object_set(res, "notUpdated", jmap_set_map(not_updated));
	json_object_set(res, "notDestroyed", jmap_set_map(not_destroyed));
	return res;
}

/* What VACATION_SET is to change, and the answers so far. */
struct vac_set {
	struct vac	*v;
	struct json	*updated, *not_created, *not_updated;
	struct json	*not_destroyed;
};

static void
vac_set_free(void *p)
{
	struct vac_set *x = p;

	vac_free(x->v);
	json_free(&x->updated);
	json_free(&x->not_created);
	json_free(&x->not_updated);
	json_free(&x->not_destroyed);
	free(x);
}

static void
vac_set_reply(struct jmap_call *c, uint64_t new_state)
{
	struct vac_set *x = c->ctx;

	jmap_call_reply(c, vac_set_response(c, x->v->state, new_state,
	    &x->updated, &x->not_created, &x->not_updated,
	    &x->not_destroyed));
}

static void
vac_put_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_VACATION_SET_rep *r = rep;
	struct vac_set *x = c->ctx;

	if (st == IPC_S_UNAVAIL) {
		em_store_error(c, st, text);
		return;
	}
	if (st == IPC_S_OK) {
		json_object_set(x->updated, VAC_ID, json_new_null());
		vac_set_reply(c, r->state);
		return;
	}
	json_object_set(x->not_updated, VAC_ID, jmap_set_error(
	    st == IPC_S_TOOBIG ? "tooLarge" : st == IPC_S_INVALID ?
	    "invalidProperties" : "serverFail", NULL, text));
	vac_set_reply(c, x->v->state);
}

/* The updates: only "singleton" exists; the others are notFound. */
static bool
vac_set_updates(struct jmap_call *c, struct vac_set *x,
    const struct json *update)
{
	const struct json *p;
	const char *key, *bad;
	size_t i;
	bool put = false;

	for (i = 0; i < em_len(update); i++) {
		p = json_member(update, i, &key);
		if (strcmp(key, VAC_ID) != 0)
			json_object_set(x->not_updated, key,
			    jmap_set_error("notFound", NULL, NULL));
		else if (json_type(p) != JSON_OBJECT)
			json_object_set(x->not_updated, key,
			    jmap_set_error("invalidPatch", NULL, NULL));
		else if ((bad = vac_patch(x->v, p)) != NULL)
			json_object_set(x->not_updated, key,
			    jmap_set_error("invalidProperties", bad, NULL));
		else
			put = true;
	}
	(void)c;
	return put;
}

static void
vac_set_read(struct jmap_call *c)
{
	struct vac *v = c->ctx;
	const struct json *create, *update, *destroy;
	struct ipc_VACATION_SET_req m;
	struct vac_set *x;
	const char *key;
	size_t i, n;

	x = xcalloc(1, sizeof(*x));
	x->v = v;
	c->ctx = x;
	c->ctx_free = vac_set_free;
	x->updated = json_new_object();
	x->not_created = json_new_object();
	x->not_updated = json_new_object();
	x->not_destroyed = json_new_object();
	if (!jmap_set_args(c, &v->state, &create, &update, &destroy, &n))
		return;
	/* RFC 8620 5.3: a singleton is neither created nor destroyed. */
	for (i = 0; i < em_len(create); i++) {
		(void)json_member(create, i, &key);
		json_object_set(x->not_created, key, jmap_set_error(
		    "singleton", NULL, "there is one VacationResponse"));
	}
	for (i = 0; i < em_len(destroy); i++) {
		key = json_str(json_at(destroy, i), NULL);
		json_object_set(x->not_destroyed, key, jmap_set_error(
		    strcmp(key, VAC_ID) == 0 ? "singleton" : "notFound", NULL,
		    NULL));
	}
	if (!vac_set_updates(c, x, update)) {
		vac_set_reply(c, v->state);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.enabled = v->enabled;
	m.from = v->from;
	m.to = v->to;
	m.has = (v->subject != NULL ? VAC_HAS_SUBJECT : 0) |
	    (v->text != NULL ? VAC_HAS_TEXT : 0) |
	    (v->html != NULL ? VAC_HAS_HTML : 0);
	m.subject = v->subject != NULL ? v->subject : "";
	m.text = v->text != NULL ? v->text : "";
	m.html = v->html != NULL ? v->html : "";
	(void)jmap_store_request(c, IPC_T_VACATION_SET, &m, vac_put_cb);
}

void
jmap_vacation_set(const struct jmap_env *env, struct jmap_call *c)
{
	(void)env;
	vac_then(c, vac_set_read);
}
