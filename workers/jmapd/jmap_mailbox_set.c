/* SPDX-License-Identifier: ISC */
/*
 * jmap_mailbox_set.c: Mailbox/set (RFC 8621 2.5) over storaged's
 * MBOX_CREATE, MBOX_RENAME, MBOX_SUBSCRIBE and MBOX_DELETE: each create,
 * update and destroy in turn, parents by id or by creation id, the new
 * state read at the end.  sortOrder stays 0 and roles are fixed when a
 * mailbox is made.
 */
#include "jmap_int.h"
#include "jmap_mailbox.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- Mailbox/set (2.5) --- */

enum jmset_kind { JMS_CREATE, JMS_UPDATE, JMS_DESTROY };

/* One create, update or destroy, done in turn. */
struct jmset_op {
	enum jmset_kind	 kind;
	const char	*key;		/* creation id or mailbox id */
	const struct json *obj;		/* create object or patch */
	uint64_t	 id;		/* the mailbox (update, destroy) */
	int		 step;		/* 0 rename, 1 subscribe */
	char		*name;		/* full name to create or rename to */
	int		 subscribe;	/* -1 leave, 0 or 1 set */
};

struct jmset {
	struct jmap_call *call;
	struct jmbox_list *l;
	struct jmset_op	*ops;
	size_t		 nops, cur;
	bool		 remove_emails;
	struct json	*created, *not_created, *updated, *not_updated;
	struct json	*destroyed, *not_destroyed;
	uint64_t	 old_state;
};

static void
jmset_free(void *p)
{
	struct jmset *s = p;
	size_t i;

	if (s->l != NULL)
		jmbox_list_free(s->l);
	for (i = 0; i < s->nops; i++)
		free(s->ops[i].name);
	free(s->ops);
	json_free(&s->created);
	json_free(&s->not_created);
	json_free(&s->updated);
	json_free(&s->not_updated);
	json_free(&s->destroyed);
	json_free(&s->not_destroyed);
	free(s);
}

/* A SetError (RFC 8620 5.3) for op into its not-map. */
static void
jmset_fail(struct jmset *s, const struct jmset_op *op, const char *type,
    const char *prop, const char *desc)
{
	struct json *e = jmap_set_error(type, prop, desc);

	json_object_set(op->kind == JMS_CREATE ? s->not_created :
	    op->kind == JMS_UPDATE ? s->not_updated : s->not_destroyed,
	    op->key, e);
}

/* A mailbox id: "B..", or "#creation" made earlier (RFC 8620 5.3). */
static uint64_t
jmset_ref(struct jmap_call *c, const char *v)
{
	return jmap_id_parse(jmap_id_ref(c, v), OBJID_MAILBOX);
}

/*
 * The full name of a mailbox named leaf under parent (0: top), or NULL
 * with *prop and *why set.
 */
static char *
jmset_full_name(const struct jmset *s, const char *leaf, uint64_t parent,
    const char **prop, const char **why)
{
	const struct jmbox *p = NULL;
	char *name;
	size_t n;

	n = strlen(leaf);
	if (n == 0 || n > JMBOX_NAME_MAX || strchr(leaf, JMBOX_SEP) != NULL) {
		*prop = "name";
		*why = "A name must be 1 to 255 bytes without '/'";
		return NULL;
	}
	if (parent != 0 && (p = jmbox_find(s->l, parent)) == NULL) {
		*prop = "parentId";
		*why = "No such parent mailbox";
		return NULL;
	}
	if (p == NULL)
		return xstrdup(leaf);
	name = xmalloc(strlen(p->name) + n + 2);
	snprintf(name, strlen(p->name) + n + 2, "%s/%s", p->name, leaf);
	return name;
}

static void	jmset_next(struct jmap_call *c);

/* The mailbox created (or renamed) joins the list later ops look in. */
static void
jmset_list_add(struct jmset *s, uint64_t id, uint64_t parent,
    const char *name, const char *role)
{
	struct jmbox *m;
	const char *slash;

	s->l->v = xreallocarray(s->l->v, s->l->n + 1, sizeof(*s->l->v));
	m = &s->l->v[s->l->n++];
	memset(m, 0, sizeof(*m));
	m->id = id;
	m->parent = parent;
	m->name = xstrdup(name);
	slash = strrchr(m->name, JMBOX_SEP);
	m->leaf = slash != NULL ? slash + 1 : m->name;
	m->role = xstrdup(role);
}

static void
jmset_store_fail(struct jmset *s, struct jmset_op *op, enum ipc_status st,
    const char *text)
{
	switch (st) {
	case IPC_S_EXISTS:
		jmset_fail(s, op, "invalidProperties", "name", "A mailbox of "
		    "that name exists already");
		break;
	case IPC_S_HASCHILDREN:
		jmset_fail(s, op, "mailboxHasChild", NULL, NULL);
		break;
	case IPC_S_NOTFOUND:
		jmset_fail(s, op, "notFound", NULL, NULL);
		break;
	case IPC_S_DENIED:
		jmset_fail(s, op, "forbidden", NULL, text);
		break;
	case IPC_S_INVALID:
		jmset_fail(s, op, "invalidProperties", op->kind == JMS_CREATE ?
		    "name" : NULL, text);
		break;
	case IPC_S_LIMIT:
		jmset_fail(s, op, "overQuota", NULL, text);
		break;
	default:
		jmset_fail(s, op, "serverFail", NULL, text);
		break;
	}
}

static void
jmset_create_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_MBOX_CREATE_rep *r = rep;
	struct jmset *s = c->ctx;
	struct jmset_op *op = &s->ops[s->cur];
	const struct json *v;
	struct json *o;
	char id[OBJID_MAX];
	uint64_t parent = 0;

	if (st != IPC_S_OK) {
		if (st == IPC_S_UNAVAIL) {
			jmap_call_error(c, "serverUnavailable", text);
			return;
		}
		jmset_store_fail(s, op, st, text);
		s->cur++;
		jmset_next(c);
		return;
	}
	if ((v = json_get(op->obj, "parentId")) != NULL &&
	    json_type(v) == JSON_STRING)
		parent = jmset_ref(s->call, json_str(v, NULL));
	v = json_get(op->obj, "role");
	jmset_list_add(s, r->mailbox_id, parent, op->name,
	    v != NULL && json_type(v) == JSON_STRING ? json_str(v, NULL) :
	    "");
	/* RFC 8620 5.3: the id and the properties the server set. */
	o = json_new_object();
	objid_format(id, OBJID_MAILBOX, r->mailbox_id);
	json_object_set(o, "id", json_new_strz(id));
	json_object_set(o, "totalEmails", json_new_int(0));
	json_object_set(o, "unreadEmails", json_new_int(0));
	json_object_set(o, "totalThreads", json_new_int(0));
	json_object_set(o, "unreadThreads", json_new_int(0));
	json_object_set(o, "myRights", jmbox_rights());
	if (json_get(op->obj, "sortOrder") == NULL)
		json_object_set(o, "sortOrder", json_new_int(0));
	if (json_get(op->obj, "isSubscribed") == NULL)
		json_object_set(o, "isSubscribed", json_new_bool(false));
	json_object_set(s->created, op->key, o);
	jmap_created_id(c, op->key, id);
	op->id = r->mailbox_id;
	if (op->subscribe == 1) {
		/* Then subscribe it, as an update's second step. */
		op->step = 1;
		jmset_next(c);
		return;
	}
	s->cur++;
	jmset_next(c);
}

/* The reply to an update's or destroy's request. */
static void
jmset_step_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	struct jmset *s = c->ctx;
	struct jmset_op *op = &s->ops[s->cur];
	struct jmbox *m;
	const char *slash;

	(void)rep;
	if (st == IPC_S_UNAVAIL) {
		jmap_call_error(c, "serverUnavailable", text);
		return;
	}
	if (st != IPC_S_OK) {
		if (op->kind == JMS_CREATE) {
			/* Created, but not subscribed: say so, keep it. */
			json_object_set(json_get(s->created, op->key),
			    "isSubscribed", json_new_bool(false));
		} else
			jmset_store_fail(s, op, st, text);
		s->cur++;
		jmset_next(c);
		return;
	}
	if (op->kind == JMS_DESTROY) {
		json_array_add(s->destroyed, json_new_strz(op->key));
		s->cur++;
		jmset_next(c);
		return;
	}
	if (op->kind == JMS_UPDATE && op->step == 0 && op->name != NULL &&
	    (m = jmbox_find(s->l, op->id)) != NULL) {
		free(m->name);
		m->name = xstrdup(op->name);
		slash = strrchr(m->name, JMBOX_SEP);
		m->leaf = slash != NULL ? slash + 1 : m->name;
	}
	if (op->step == 0 && op->subscribe != -1) {
		op->step = 1;
		jmset_next(c);
		return;
	}
	if (op->kind == JMS_UPDATE)
		json_object_set(s->updated, op->key, json_new_null());
	s->cur++;
	jmset_next(c);
}

/* Checks a create object; its full name in op->name, or false. */
static bool
jmset_create_check(struct jmset *s, struct jmset_op *op)
{
	const struct json *v;
	const char *key, *prop = NULL, *why = NULL;
	uint64_t parent = 0;
	int64_t so;
	size_t i;
	bool b;

	if (json_type(op->obj) != JSON_OBJECT) {
		jmset_fail(s, op, "invalidProperties", NULL, "Not an object");
		return false;
	}
	op->subscribe = -1;
	for (i = 0; i < json_len(op->obj); i++) {
		v = json_member(op->obj, i, &key);
		if (strcmp(key, "name") == 0) {
			if (json_type(v) != JSON_STRING) {
				jmset_fail(s, op, "invalidProperties", key,
				    NULL);
				return false;
			}
		} else if (strcmp(key, "parentId") == 0) {
			if (json_type(v) == JSON_STRING) {
				if ((parent = jmset_ref(s->call, json_str(v,
				    NULL))) == 0) {
					jmset_fail(s, op, "invalidProperties",
					    key, "No such parent mailbox");
					return false;
				}
			} else if (json_type(v) != JSON_NULL) {
				jmset_fail(s, op, "invalidProperties", key,
				    NULL);
				return false;
			}
		} else if (strcmp(key, "role") == 0) {
			if (json_type(v) != JSON_NULL &&
			    json_type(v) != JSON_STRING) {
				jmset_fail(s, op, "invalidProperties", key,
				    NULL);
				return false;
			}
		} else if (strcmp(key, "isSubscribed") == 0) {
			if (json_bool(v, &b) == -1) {
				jmset_fail(s, op, "invalidProperties", key,
				    NULL);
				return false;
			}
			op->subscribe = b;
		} else if (strcmp(key, "sortOrder") == 0) {
			if (json_int(v, &so) == -1 || so != 0) {
				jmset_fail(s, op, "invalidProperties", key,
				    "This server keeps sortOrder 0");
				return false;
			}
		} else {
			/* Server-set properties, or none of a Mailbox. */
			jmset_fail(s, op, "invalidProperties", key, NULL);
			return false;
		}
	}
	if ((v = json_get(op->obj, "name")) == NULL) {
		jmset_fail(s, op, "invalidProperties", "name", "A name is "
		    "required");
		return false;
	}
	if ((op->name = jmset_full_name(s, json_str(v, NULL), parent, &prop,
	    &why)) == NULL) {
		jmset_fail(s, op, "invalidProperties", prop, why);
		return false;
	}
	return true;
}

/* Checks an update's patch: the new name (if any) and subscription. */
static bool
jmset_update_check(struct jmset *s, struct jmset_op *op)
{
	const struct jmbox *m;
	const struct json *v;
	const char *key, *prop = NULL, *why = NULL, *leaf;
	uint64_t parent;
	int64_t so;
	size_t i;
	bool b, move = false;

	op->subscribe = -1;
	if ((m = jmbox_find(s->l, op->id)) == NULL) {
		jmset_fail(s, op, "notFound", NULL, NULL);
		return false;
	}
	if (json_type(op->obj) != JSON_OBJECT) {
		jmset_fail(s, op, "invalidPatch", NULL, "Not an object");
		return false;
	}
	leaf = m->leaf;
	parent = m->parent;
	for (i = 0; i < json_len(op->obj); i++) {
		v = json_member(op->obj, i, &key);
		if (strcmp(key, "name") == 0) {
			if (json_type(v) != JSON_STRING) {
				jmset_fail(s, op, "invalidProperties", key,
				    NULL);
				return false;
			}
			leaf = json_str(v, NULL);
			move = true;
		} else if (strcmp(key, "parentId") == 0) {
			if (json_type(v) == JSON_NULL)
				parent = 0;
			else if (json_type(v) != JSON_STRING ||
			    (parent = jmset_ref(s->call, json_str(v,
			    NULL))) == 0) {
				jmset_fail(s, op, "invalidProperties", key,
				    "No such parent mailbox");
				return false;
			}
			move = true;
		} else if (strcmp(key, "isSubscribed") == 0) {
			if (json_bool(v, &b) == -1) {
				jmset_fail(s, op, "invalidProperties", key,
				    NULL);
				return false;
			}
			op->subscribe = b;
		} else if (strcmp(key, "sortOrder") == 0) {
			if (json_int(v, &so) == -1 || (uint64_t)so !=
			    m->sort_order) {
				jmset_fail(s, op, "invalidProperties", key,
				    "This server keeps sortOrder 0");
				return false;
			}
		} else if (strcmp(key, "role") == 0) {
			if (!(json_type(v) == JSON_NULL ? m->role[0] == '\0' :
			    json_type(v) == JSON_STRING && strcmp(json_str(v,
			    NULL), m->role) == 0)) {
				jmset_fail(s, op, "invalidProperties", key,
				    "Roles cannot be changed on this server");
				return false;
			}
		} else {
			jmset_fail(s, op, "invalidProperties", key, NULL);
			return false;
		}
	}
	if (!move)
		return true;
	/* 2.5: no mailbox may become its own ancestor. */
	for (m = jmbox_find(s->l, parent); m != NULL && m->parent != 0;
	    m = jmbox_find(s->l, m->parent))
		if (m->id == op->id)
			break;
	if (parent == op->id || (m != NULL && m->id == op->id)) {
		jmset_fail(s, op, "invalidProperties", "parentId", "A mailbox "
		    "cannot move under itself");
		return false;
	}
	if ((op->name = jmset_full_name(s, leaf, parent, &prop, &why)) ==
	    NULL) {
		jmset_fail(s, op, "invalidProperties", prop, why);
		return false;
	}
	return true;
}

static void
jmset_done_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_MBOX_LIST_rep *r = rep;
	struct jmset *s = c->ctx;
	struct json *res;
	char state[24];

	if (st != IPC_S_OK) {
		jmap_call_error(c, jmbox_store_error(st), text);
		return;
	}
	res = json_new_object();
	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	jmap_state_format(state, s->old_state);
	json_object_set(res, "oldState", json_new_strz(state));
	jmap_state_format(state, r->state);
	json_object_set(res, "newState", json_new_strz(state));
	json_object_set(res, "created", jmap_set_map(&s->created));
	json_object_set(res, "updated", jmap_set_map(&s->updated));
	json_object_set(res, "destroyed", jmap_set_map(&s->destroyed));
	json_object_set(res, "notCreated", jmap_set_map(&s->not_created));
	json_object_set(res, "notUpdated", jmap_set_map(&s->not_updated));
	json_object_set(res, "notDestroyed", jmap_set_map(&s->not_destroyed));
	jmap_call_reply(c, res);
}

/* Runs the current op's next request, or ends with the new state. */
static void
jmset_next(struct jmap_call *c)
{
	struct jmset *s = c->ctx;
	struct jmset_op *op;
	const struct jmbox *m;
	const struct json *v;

	while (s->cur < s->nops) {
		op = &s->ops[s->cur];
		if (op->step == 1) {
			struct ipc_MBOX_SUBSCRIBE_req sm;

			sm.mailbox_id = (uint32_t)op->id;
			sm.subscribed = op->subscribe == 1;
			(void)jmap_store_request(c, IPC_T_MBOX_SUBSCRIBE, &sm,
			    jmset_step_cb);
			return;
		}
		switch (op->kind) {
		case JMS_CREATE: {
			struct ipc_MBOX_CREATE_req cm;

			if (!jmset_create_check(s, op))
				break;
			v = json_get(op->obj, "role");
			cm.name = op->name;
			cm.role = v != NULL && json_type(v) == JSON_STRING ?
			    (char *)json_str(v, NULL) : "";
			(void)jmap_store_request(c, IPC_T_MBOX_CREATE, &cm,
			    jmset_create_cb);
			return;
		}
		case JMS_UPDATE: {
			struct ipc_MBOX_RENAME_req rm;

			if (!jmset_update_check(s, op))
				break;
			if (op->name == NULL) {
				if (op->subscribe == -1) {
					json_object_set(s->updated, op->key,
					    json_new_null());
					break;
				}
				op->step = 1;
				continue;
			}
			rm.mailbox_id = (uint32_t)op->id;
			rm.name = op->name;
			(void)jmap_store_request(c, IPC_T_MBOX_RENAME, &rm,
			    jmset_step_cb);
			return;
		}
		case JMS_DESTROY: {
			struct ipc_MBOX_DELETE_req dm;

			if ((m = jmbox_find(s->l, op->id)) == NULL) {
				jmset_fail(s, op, "notFound", NULL, NULL);
				break;
			}
			/* 2.5: a mailbox with email stays unless asked. */
			if (m->total > 0 && !s->remove_emails) {
				jmset_fail(s, op, "mailboxHasEmail", NULL,
				    NULL);
				break;
			}
			dm.mailbox_id = (uint32_t)op->id;
			(void)jmap_store_request(c, IPC_T_MBOX_DELETE, &dm,
			    jmset_step_cb);
			return;
		}
		}
		s->cur++;
	}
	(void)jmap_store_request(c, IPC_T_MBOX_LIST, NULL, jmset_done_cb);
}

static void
jmset_listed(struct jmap_call *c)
{
	struct jmbox_list *l = c->ctx;
	struct jmset *s;
	const struct json *create, *update, *destroy, *v;
	const char *key;
	size_t i, n = 0;

	c->ctx = NULL;
	s = xcalloc(1, sizeof(*s));
	s->call = c;
	s->l = l;
	s->old_state = l->state;
	c->ctx = s;
	c->ctx_free = jmset_free;
	if (!jmap_set_args(c, &l->state, &create, &update, &destroy, &n))
		return;
	if ((v = json_get(c->args, "onDestroyRemoveEmails")) != NULL &&
	    json_bool(v, &s->remove_emails) == -1) {
		jmap_call_error(c, "invalidArguments", "onDestroyRemoveEmails "
		    "must be a Boolean");
		return;
	}
	s->ops = xcalloc(n > 0 ? n : 1, sizeof(*s->ops));
	for (i = 0; create != NULL && i < json_len(create); i++) {
		struct jmset_op *op = &s->ops[s->nops++];

		op->kind = JMS_CREATE;
		op->obj = json_member(create, i, &key);
		op->key = key;
	}
	for (i = 0; update != NULL && i < json_len(update); i++) {
		struct jmset_op *op = &s->ops[s->nops++];

		op->kind = JMS_UPDATE;
		op->obj = json_member(update, i, &key);
		op->key = key;
		op->id = jmap_id_parse(jmap_id_ref(c, key), OBJID_MAILBOX);
	}
	for (i = 0; destroy != NULL && i < json_len(destroy); i++) {
		struct jmset_op *op = &s->ops[s->nops++];

		op->kind = JMS_DESTROY;
		op->key = json_str(json_at(destroy, i), NULL);
		if (op->key == NULL) {
			jmap_call_error(c, "invalidArguments", "destroy must "
			    "be an array of Ids");
			return;
		}
		op->id = jmap_id_parse(jmap_id_ref(c, op->key),
		    OBJID_MAILBOX);
	}
	s->created = json_new_object();
	s->not_created = json_new_object();
	s->updated = json_new_object();
	s->not_updated = json_new_object();
	s->destroyed = json_new_array();
	s->not_destroyed = json_new_object();
	jmset_next(c);
}

void
jmap_mailbox_set(const struct jmap_env *env, struct jmap_call *c)
{
	(void)env;
	if (!jmap_account_check(c))
		return;
	jmbox_list_then(c, jmset_listed);
}
