/* SPDX-License-Identifier: ISC */
/*
 * jmap_util.c: the argument handling that every /get, /changes and
 * /query shares (RFC 8620 5.1, 5.2, 5.5; see jmap_int.h).
 */
#include "jmap_int.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
jmap_get_args(struct jmap_call *c, const struct json **ids_r,
    const struct json **props_r, const char *const *known)
{
	const struct json *ids, *props;
	size_t i, k;

	if (!jmap_account_check(c))
		return false;
	ids = json_get(c->args, "ids");
	if (ids != NULL && json_type(ids) == JSON_NULL)
		ids = NULL;
	if (ids != NULL) {
		if (json_type(ids) != JSON_ARRAY) {
			jmap_call_error(c, "invalidArguments", "ids must be "
			    "null or an array of Ids");
			return false;
		}
		for (i = 0; i < json_len(ids); i++)
			if (json_type(json_at(ids, i)) != JSON_STRING) {
				jmap_call_error(c, "invalidArguments", "ids "
				    "must be null or an array of Ids");
				return false;
			}
		if (json_len(ids) > c->env->max_objects_in_get) {
			/* RFC 8620 5.1 */
			jmap_call_error(c, "requestTooLarge", "More ids than "
			    "maxObjectsInGet");
			return false;
		}
	}
	props = json_get(c->args, "properties");
	if (props != NULL && json_type(props) == JSON_NULL)
		props = NULL;
	if (props != NULL) {
		if (json_type(props) != JSON_ARRAY) {
			jmap_call_error(c, "invalidArguments", "properties "
			    "must be null or an array of names");
			return false;
		}
		for (i = 0; i < json_len(props); i++) {
			const char *p = json_str(json_at(props, i), NULL);

			if (p == NULL) {
				jmap_call_error(c, "invalidArguments",
				    "properties must be strings");
				return false;
			}
			for (k = 0; known != NULL && known[k] != NULL; k++)
				if (strcmp(known[k], p) == 0)
					break;
			if (known != NULL && known[k] == NULL) {
				jmap_call_error(c, "invalidArguments",
				    "Unknown property in properties");
				return false;
			}
		}
	}
	*ids_r = ids;
	*props_r = props;
	return true;
}

bool
jmap_prop_wanted(const struct json *props, const char *name)
{
	size_t i;

	if (props == NULL)
		return true;
	for (i = 0; i < json_len(props); i++)
		if (strcmp(json_str(json_at(props, i), NULL), name) == 0)
			return true;
	return false;
}

struct json *
jmap_set_error(const char *type, const char *prop, const char *desc)
{
	struct json *e = json_new_object(), *a;

	json_object_set(e, "type", json_new_strz(type));
	if (prop != NULL) {
		a = json_new_array();
		json_array_add(a, json_new_strz(prop));
		json_object_set(e, "properties", a);
	}
	if (desc != NULL)
		json_object_set(e, "description", json_new_strz(desc));
	return e;
}

/* A member that may be absent or null, else of type t; NULL if not. */
static bool
jmap_set_arg(const struct json *args, const char *name, enum json_type t,
    const struct json **v)
{
	*v = json_get(args, name);
	if (*v != NULL && json_type(*v) == JSON_NULL)
		*v = NULL;
	return *v == NULL || json_type(*v) == t;
}

bool
jmap_set_args(struct jmap_call *c, const uint64_t *state,
    const struct json **create_r, const struct json **update_r,
    const struct json **destroy_r, size_t *n_r)
{
	const struct json *v;
	uint64_t want;
	size_t i;

	if (state != NULL && (v = json_get(c->args, "ifInState")) != NULL &&
	    json_type(v) != JSON_NULL && (!jmap_state_parse(json_str(v, NULL),
	    &want) || want != *state)) {
		jmap_call_error(c, "stateMismatch", NULL);
		return false;
	}
	if (!jmap_set_arg(c->args, "create", JSON_OBJECT, create_r) ||
	    !jmap_set_arg(c->args, "update", JSON_OBJECT, update_r) ||
	    !jmap_set_arg(c->args, "destroy", JSON_ARRAY, destroy_r)) {
		jmap_call_error(c, "invalidArguments", "create and update "
		    "must be objects, destroy an array");
		return false;
	}
	for (i = 0; *destroy_r != NULL && i < json_len(*destroy_r); i++)
		if (json_type(json_at(*destroy_r, i)) != JSON_STRING) {
			jmap_call_error(c, "invalidArguments", "destroy must "
			    "be an array of Ids");
			return false;
		}
	*n_r = (*create_r != NULL ? json_len(*create_r) : 0) +
	    (*update_r != NULL ? json_len(*update_r) : 0) +
	    (*destroy_r != NULL ? json_len(*destroy_r) : 0);
	if (*n_r > c->env->max_objects_in_set) {
		jmap_call_error(c, "requestTooLarge", "More objects than "
		    "maxObjectsInSet");
		return false;
	}
	return true;
}

struct json *
jmap_set_map(struct json **v)
{
	struct json *r = *v;

	*v = NULL;
	if (r != NULL && json_len(r) > 0)
		return r;
	json_free(&r);
	return json_new_null();
}

/* An optional Int argument; false with c answered if it is not one. */
static bool
jmap_int_arg(struct jmap_call *c, const char *name, int64_t *v)
{
	const struct json *j = json_get(c->args, name);
	char why[96];

	if (j == NULL || json_type(j) == JSON_NULL)
		return true;
	if (json_int(j, v) == -1) {
		snprintf(why, sizeof(why), "%s must be an Int", name);
		jmap_call_error(c, "invalidArguments", why);
		return false;
	}
	return true;
}

bool
jmap_query_args(struct jmap_call *c, struct jmap_query_win *w)
{
	const struct json *j;
	int64_t limit = -1;

	memset(w, 0, sizeof(*w));
	w->limit = UINT64_MAX;
	if (!jmap_int_arg(c, "position", &w->position) ||
	    !jmap_int_arg(c, "anchorOffset", &w->anchor_offset) ||
	    !jmap_int_arg(c, "limit", &limit))
		return false;
	if ((j = json_get(c->args, "limit")) != NULL &&
	    json_type(j) != JSON_NULL) {
		if (limit < 0) {
			jmap_call_error(c, "invalidArguments", "limit must "
			    "not be negative");
			return false;
		}
		w->limit = (uint64_t)limit;
	}
	if ((j = json_get(c->args, "anchor")) != NULL &&
	    json_type(j) != JSON_NULL) {
		if (json_type(j) != JSON_STRING) {
			jmap_call_error(c, "invalidArguments", "anchor must "
			    "be an Id");
			return false;
		}
		w->anchor = json_str(j, NULL);
	}
	if ((j = json_get(c->args, "calculateTotal")) != NULL &&
	    json_type(j) != JSON_NULL && json_bool(j,
	    &w->calculate_total) == -1) {
		jmap_call_error(c, "invalidArguments", "calculateTotal must "
		    "be a Boolean");
		return false;
	}
	return true;
}

void
jmap_query_answer(struct jmap_call *c, const struct jmap_query_win *w,
    char *const *ids, size_t n, const char *state, bool can_changes)
{
	struct json *res, *list;
	int64_t start, i;
	uint64_t count;
	size_t a;

	if (w->anchor != NULL) {
		/* RFC 8620 5.5: position is ignored with an anchor. */
		for (a = 0; a < n; a++)
			if (strcmp(ids[a], w->anchor) == 0)
				break;
		if (a == n) {
			jmap_call_error(c, "anchorNotFound", NULL);
			return;
		}
		start = (int64_t)a + w->anchor_offset;
		if (start < 0)
			start = 0;
	} else {
		start = w->position;
		if (start < 0) {
			start += (int64_t)n;
			if (start < 0)
				start = 0;
		}
	}
	if (start > (int64_t)n)
		start = (int64_t)n;
	res = json_new_object();
	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	json_object_set(res, "queryState", json_new_strz(state));
	json_object_set(res, "canCalculateChanges", json_new_bool(can_changes));
	json_object_set(res, "position", json_new_int(start));
	list = json_new_array();
	count = 0;
	for (i = start; i < (int64_t)n && count < w->limit; i++, count++)
		json_array_add(list, json_new_strz(ids[i]));
	json_object_set(res, "ids", list);
	if (w->calculate_total)
		json_object_set(res, "total", json_new_int((int64_t)n));
	if (w->limit != UINT64_MAX)
		json_object_set(res, "limit", json_new_int((int64_t)
		    w->limit));
	jmap_call_reply(c, res);
}

/* --- /changes (RFC 8620 5.2) --- */

static void
jmap_changes_ids(struct json *res, const char *key,
    const struct wire_u64list *l, char kind)
{
	struct json *a = json_new_array();
	char id[OBJID_MAX];
	uint32_t i;

	for (i = 0; i < l->count; i++) {
		objid_format(id, kind, wire_u64list_get(l, i));
		json_array_add(a, json_new_strz(id));
	}
	json_object_set(res, key, a);
}

static void
jmap_changes_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_CHANGES_GET_rep *r = rep;
	struct json *res;
	char state[24];
	char kind = strncmp(c->name, "Mailbox/", 8) == 0 ? OBJID_MAILBOX :
	    strncmp(c->name, "Thread/", 7) == 0 ? OBJID_THREAD :
	    strncmp(c->name, "Identity/", 9) == 0 ? OBJID_IDENTITY :
	    strncmp(c->name, "EmailSubmission/", 16) == 0 ?
	    OBJID_SUBMISSION : OBJID_EMAIL;

	if (st == IPC_S_INVALID) {
		jmap_call_error(c, "cannotCalculateChanges", text);
		return;
	}
	if (st != IPC_S_OK) {
		jmap_call_error(c, st == IPC_S_UNAVAIL ? "serverUnavailable" :
		    "serverFail", text);
		return;
	}
	res = json_new_object();
	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	json_object_set(res, "oldState", json_dup(json_get(c->args,
	    "sinceState")));
	jmap_state_format(state, r->new_state);
	json_object_set(res, "newState", json_new_strz(state));
	json_object_set(res, "hasMoreChanges", json_new_bool(r->has_more));
	jmap_changes_ids(res, "created", &r->created, kind);
	jmap_changes_ids(res, "updated", &r->updated, kind);
	jmap_changes_ids(res, "destroyed", &r->destroyed, kind);
	/* RFC 8621 2.2: which properties changed is not known here. */
	if (kind == OBJID_MAILBOX)
		json_object_set(res, "updatedProperties", json_new_null());
	jmap_call_reply(c, res);
}

void
jmap_changes(struct jmap_call *c, uint32_t type)
{
	struct ipc_CHANGES_GET_req m;
	const struct json *j;
	uint64_t since;
	int64_t max = 0;

	if (!jmap_account_check(c))
		return;
	if ((j = json_get(c->args, "sinceState")) == NULL ||
	    json_type(j) != JSON_STRING) {
		jmap_call_error(c, "invalidArguments", "sinceState must be a "
		    "String");
		return;
	}
	if (!jmap_state_parse(json_str(j, NULL), &since)) {
		jmap_call_error(c, "cannotCalculateChanges", "Not a state "
		    "of this server");
		return;
	}
	if (!jmap_int_arg(c, "maxChanges", &max))
		return;
	if ((j = json_get(c->args, "maxChanges")) != NULL &&
	    json_type(j) != JSON_NULL && max <= 0) {
		jmap_call_error(c, "invalidArguments", "maxChanges must be "
		    "positive");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.since = since;
	m.max = max > UINT32_MAX ? UINT32_MAX : (uint32_t)max;
	(void)jmap_store_request(c, IPC_T_CHANGES_GET, &m, jmap_changes_cb);
}
