/* SPDX-License-Identifier: ISC */
/*
 * jmap_mailbox.c: the Mailbox methods of JMAP Mail (RFC 8621 2):
 * Mailbox/get, /changes, /query, /queryChanges and /set, over storaged's
 * MBOX_LIST, MBOX_THREADS, CHANGES_GET, MBOX_CREATE, MBOX_RENAME,
 * MBOX_SUBSCRIBE and MBOX_DELETE.
 *
 * The store keeps a mailbox's full name with '/' between the levels and
 * its parent's id; JMAP shows the last level as "name" and the parent as
 * "parentId".  Mailbox/set is in jmap_mailbox_set.c.  The account is the user's own: every right is granted
 * (myRights, 2), sharing comes with ACLs.
 */
#include "casemap.h"
#include "jmap_int.h"
#include "jmap_mailbox.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
jmbox_list_free(void *p)
{
	struct jmbox_list *l = p;
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].role);
		free(l->v[i].key);
	}
	free(l->v);
	free(l);
}

struct jmbox *
jmbox_find(const struct jmbox_list *l, uint64_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

/* The reply of MBOX_LIST, copied into a list the call keeps. */
static struct jmbox_list *
jmbox_list_from(const struct ipc_MBOX_LIST_rep *r)
{
	struct jmbox_list *l = xcalloc(1, sizeof(*l));
	struct wire_iter ni, ri;
	const char *name, *role, *slash;
	uint32_t i;

	l->state = r->state;
	l->n = r->ids.count;
	l->v = xcalloc(l->n > 0 ? l->n : 1, sizeof(*l->v));
	wire_strlist_iter(&r->names, &ni);
	wire_strlist_iter(&r->roles, &ri);
	for (i = 0; i < r->ids.count; i++) {
		struct jmbox *m = &l->v[i];

		name = wire_strlist_next(&ni);
		role = wire_strlist_next(&ri);
		m->id = wire_u64list_get(&r->ids, i);
		m->parent = wire_u64list_get(&r->parents, i);
		m->name = xstrdup(name != NULL ? name : "");
		slash = strrchr(m->name, JMBOX_SEP);
		m->leaf = slash != NULL ? slash + 1 : m->name;
		m->role = xstrdup(role != NULL ? role : "");
		m->subscribed = wire_u64list_get(&r->subscribed, i) != 0;
		m->total = wire_u64list_get(&r->total, i);
		m->unread = wire_u64list_get(&r->unread, i);
		m->threads = wire_u64list_get(&r->threads, i);
		m->sort_order = wire_u64list_get(&r->sort_order, i);
	}
	return l;
}

/* The collation key of a string (RFC 5051), as a new C string. */
static char *
jmbox_key(const char *s)
{
	struct buf b = BUF_INIT;
	char *k;

	(void)casemap_key(s, strlen(s), &b);
	k = xmalloc(b.len + 1);
	if (b.len > 0)
		memcpy(k, b.data, b.len);
	k[b.len] = '\0';
	buf_clear(&b);
	return k;
}

/* The key of m's name, made when first needed. */
static const char *
jmbox_name_key(struct jmbox *m)
{
	if (m->key == NULL)
		m->key = jmbox_key(m->leaf);
	return m->key;
}

const char *
jmbox_store_error(enum ipc_status st)
{
	return st == IPC_S_UNAVAIL ? "serverUnavailable" : "serverFail";
}

/* --- Mailbox/get (RFC 8621 2.1) --- */

static const char *const jmbox_props[] = {
	"id", "name", "parentId", "role", "sortOrder", "totalEmails",
	"unreadEmails", "totalThreads", "unreadThreads", "myRights",
	"isSubscribed", NULL
};

struct json *
jmbox_rights(void)
{
	static const char *const rights[] = {
		"mayReadItems", "mayAddItems", "mayRemoveItems",
		"maySetSeen", "maySetKeywords", "mayCreateChild",
		"mayRename", "mayDelete", "maySubmit"
	};
	struct json *o = json_new_object();
	size_t i;

	for (i = 0; i < sizeof(rights) / sizeof(rights[0]); i++)
		json_object_set(o, rights[i], json_new_bool(true));
	return o;
}

static struct json *
jmbox_object(const struct jmbox *m, const struct json *props)
{
	struct json *o = json_new_object();
	char id[OBJID_MAX];

	objid_format(id, OBJID_MAILBOX, m->id);
	/* RFC 8620 5.1: the id always. */
	json_object_set(o, "id", json_new_strz(id));
	if (jmap_prop_wanted(props, "name"))
		json_object_set(o, "name", json_new_strz(m->leaf));
	if (jmap_prop_wanted(props, "parentId")) {
		if (m->parent == 0)
			json_object_set(o, "parentId", json_new_null());
		else {
			objid_format(id, OBJID_MAILBOX, m->parent);
			json_object_set(o, "parentId", json_new_strz(id));
		}
	}
	if (jmap_prop_wanted(props, "role"))
		json_object_set(o, "role", m->role[0] == '\0' ?
		    json_new_null() : json_new_strz(m->role));
	if (jmap_prop_wanted(props, "sortOrder"))
		json_object_set(o, "sortOrder", json_new_int((int64_t)
		    m->sort_order));
	if (jmap_prop_wanted(props, "totalEmails"))
		json_object_set(o, "totalEmails", json_new_int((int64_t)
		    m->total));
	if (jmap_prop_wanted(props, "unreadEmails"))
		json_object_set(o, "unreadEmails", json_new_int((int64_t)
		    m->unread));
	if (jmap_prop_wanted(props, "totalThreads"))
		json_object_set(o, "totalThreads", json_new_int((int64_t)
		    m->threads));
	if (jmap_prop_wanted(props, "unreadThreads"))
		json_object_set(o, "unreadThreads", json_new_int((int64_t)
		    m->unread_threads));
	if (jmap_prop_wanted(props, "myRights"))
		json_object_set(o, "myRights", jmbox_rights());
	if (jmap_prop_wanted(props, "isSubscribed"))
		json_object_set(o, "isSubscribed",
		    json_new_bool(m->subscribed));
	return o;
}

static void
jmbox_get_answer(struct jmap_call *c)
{
	const struct jmbox_list *l = c->ctx;
	const struct json *ids = json_get(c->args, "ids");
	const struct json *props = json_get(c->args, "properties");
	struct json *res, *list, *nf;
	const struct jmbox *m;
	char state[24];
	size_t i;

	if (ids != NULL && json_type(ids) == JSON_NULL)
		ids = NULL;
	if (props != NULL && json_type(props) == JSON_NULL)
		props = NULL;
	res = json_new_object();
	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	jmap_state_format(state, l->state);
	json_object_set(res, "state", json_new_strz(state));
	list = json_new_array();
	nf = json_new_array();
	if (ids == NULL)
		for (i = 0; i < l->n; i++)
			json_array_add(list, jmbox_object(&l->v[i], props));
	else
		for (i = 0; i < json_len(ids); i++) {
			const char *s = json_str(json_at(ids, i), NULL);

			m = jmbox_find(l, jmap_id_parse(s, OBJID_MAILBOX));
			if (m != NULL)
				json_array_add(list, jmbox_object(m, props));
			else
				json_array_add(nf, json_new_strz(s));
		}
	json_object_set(res, "list", list);
	json_object_set(res, "notFound", nf);
	jmap_call_reply(c, res);
}

static void
jmbox_threads_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_MBOX_THREADS_rep *r = rep;
	struct jmbox_list *l = c->ctx;
	struct jmbox *m;
	uint32_t i;

	if (st != IPC_S_OK) {
		jmap_call_error(c, jmbox_store_error(st), text);
		return;
	}
	for (i = 0; i < r->ids.count && i < r->unread_threads.count; i++)
		if ((m = jmbox_find(l, wire_u64list_get(&r->ids, i))) != NULL)
			m->unread_threads = wire_u64list_get(
			    &r->unread_threads, i);
	jmbox_get_answer(c);
}

/*
 * The list every Mailbox method starts from; then `next` runs with it in
 * c->ctx.
 */
static void
jmbox_list_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	void (*next)(struct jmap_call *);

	if (st != IPC_S_OK) {
		jmap_call_error(c, jmbox_store_error(st), text);
		return;
	}
	/* The continuation was parked in ctx until the list came. */
	next = (void (*)(struct jmap_call *))c->ctx;
	c->ctx = jmbox_list_from(rep);
	c->ctx_free = jmbox_list_free;
	next(c);
}

void
jmbox_list_then(struct jmap_call *c, void (*next)(struct jmap_call *))
{
	c->ctx = (void *)next;
	c->ctx_free = NULL;
	(void)jmap_store_request(c, IPC_T_MBOX_LIST, NULL, jmbox_list_cb);
}

static void
jmbox_get_listed(struct jmap_call *c)
{
	const struct json *props = json_get(c->args, "properties");

	if (props != NULL && json_type(props) == JSON_NULL)
		props = NULL;
	if (!jmap_prop_wanted(props, "unreadThreads")) {
		jmbox_get_answer(c);
		return;
	}
	(void)jmap_store_request(c, IPC_T_MBOX_THREADS, NULL,
	    jmbox_threads_cb);
}

void
jmap_mailbox_get(const struct jmap_env *env, struct jmap_call *c)
{
	const struct json *ids, *props;

	(void)env;
	if (!jmap_get_args(c, &ids, &props, jmbox_props))
		return;
	jmbox_list_then(c, jmbox_get_listed);
}

/* --- Mailbox/changes (2.2) --- */

void
jmap_mailbox_changes(const struct jmap_env *env, struct jmap_call *c)
{
	(void)env;
	jmap_changes(c, 1);
}

/* --- Mailbox/query (2.3) and /queryChanges (2.4) --- */

/* Whether m matches the FilterCondition or FilterOperator f. */
static int
jmbox_match(const struct jmbox_list *l, struct jmbox *m,
    const struct json *f, int depth, const char **why)
{
	const struct json *v, *conds;
	const char *key, *op;
	char *fk;
	size_t i;
	int r, any;
	bool b, hit;

	if (json_type(f) != JSON_OBJECT || depth > 16) {
		*why = "A filter must be an object, nested at most 16 deep";
		return -1;
	}
	if ((v = json_get(f, "operator")) != NULL) {
		op = json_str(v, NULL);
		conds = json_get(f, "conditions");
		if (op == NULL || conds == NULL ||
		    json_type(conds) != JSON_ARRAY ||
		    (strcmp(op, "AND") != 0 && strcmp(op, "OR") != 0 &&
		    strcmp(op, "NOT") != 0)) {
			*why = "A FilterOperator needs operator AND, OR or NOT "
			    "and an array of conditions";
			return -1;
		}
		any = 0;
		for (i = 0; i < json_len(conds); i++) {
			if ((r = jmbox_match(l, m, json_at(conds, i),
			    depth + 1, why)) == -1)
				return -1;
			any += r;
		}
		if (strcmp(op, "AND") == 0)
			return any == (int)json_len(conds);
		if (strcmp(op, "OR") == 0)
			return any > 0;
		return any == 0;
	}
	for (i = 0; i < json_len(f); i++) {
		v = json_member(f, i, &key);
		if (strcmp(key, "parentId") == 0) {
			if (json_type(v) == JSON_NULL) {
				if (m->parent != 0)
					return 0;
			} else if (json_type(v) != JSON_STRING) {
				*why = "parentId must be null or an Id";
				return -1;
			} else if (m->parent == 0 || m->parent !=
			    jmap_id_parse(json_str(v, NULL), OBJID_MAILBOX))
				return 0;
		} else if (strcmp(key, "name") == 0) {
			if (json_type(v) != JSON_STRING) {
				*why = "name must be a String";
				return -1;
			}
			/* 2.3: contains, in the default collation. */
			fk = jmbox_key(json_str(v, NULL));
			hit = strstr(jmbox_name_key(m), fk) != NULL;
			free(fk);
			if (!hit)
				return 0;
		} else if (strcmp(key, "role") == 0) {
			if (json_type(v) == JSON_NULL) {
				if (m->role[0] != '\0')
					return 0;
			} else if (json_type(v) != JSON_STRING) {
				*why = "role must be null or a String";
				return -1;
			} else if (strcmp(m->role, json_str(v, NULL)) != 0)
				return 0;
		} else if (strcmp(key, "hasAnyRole") == 0 ||
		    strcmp(key, "isSubscribed") == 0) {
			if (json_bool(v, &b) == -1) {
				*why = "hasAnyRole and isSubscribed must be "
				    "Booleans";
				return -1;
			}
			if (key[0] == 'h' ? (m->role[0] != '\0') != b :
			    m->subscribed != b)
				return 0;
		} else {
			*why = "unsupportedFilter";
			return -1;
		}
	}
	(void)l;
	return 1;
}

/* The sort of a query, and its list for the comparator. */
struct jmbox_sort {
	const struct jmbox_list	*l;
	bool			 by_name[4], asc[4];
	size_t			 n;
	bool			 tree;
};

static struct jmbox_sort *jmbox_sort_ctx;	/* for qsort */

static int
jmbox_cmp_flat(const struct jmbox *a, const struct jmbox *b,
    const struct jmbox_sort *s)
{
	size_t i;
	int r;

	for (i = 0; i < s->n; i++) {
		if (s->by_name[i])
			r = strcmp(a->key, b->key);
		else
			r = a->sort_order < b->sort_order ? -1 :
			    a->sort_order > b->sort_order;
		if (r != 0)
			return s->asc[i] ? r : -r;
	}
	return a->id < b->id ? -1 : a->id > b->id;
}

static int
jmbox_depth(const struct jmbox_list *l, const struct jmbox *m)
{
	int d = 0;

	while (m != NULL && m->parent != 0 && d < 64) {
		m = jmbox_find(l, m->parent);
		d++;
	}
	return d;
}

/* The ancestor of m at depth d (m itself at its own depth). */
static const struct jmbox *
jmbox_ancestor(const struct jmbox_list *l, const struct jmbox *m, int d)
{
	int md = jmbox_depth(l, m);

	while (md > d && m != NULL) {
		m = jmbox_find(l, m->parent);
		md--;
	}
	return m;
}

static int
jmbox_cmp(const void *pa, const void *pb)
{
	const struct jmbox *a = *(const struct jmbox *const *)pa;
	const struct jmbox *b = *(const struct jmbox *const *)pb;
	const struct jmbox_sort *s = jmbox_sort_ctx;
	const struct jmbox *x, *y;
	int da, db, d;

	if (!s->tree)
		return jmbox_cmp_flat(a, b, s);
	/*
	 * RFC 8621 2.3 sortAsTree: parents before their children, siblings
	 * by the sort: compare the two paths where they first differ.
	 */
	da = jmbox_depth(s->l, a);
	db = jmbox_depth(s->l, b);
	for (d = 0; d <= da && d <= db; d++) {
		x = jmbox_ancestor(s->l, a, d);
		y = jmbox_ancestor(s->l, b, d);
		if (x != y && x != NULL && y != NULL)
			return jmbox_cmp_flat(x, y, s);
	}
	return da - db;
}

static bool
jmbox_sort_args(struct jmap_call *c, struct jmbox_sort *s)
{
	const struct json *sort = json_get(c->args, "sort"), *cmp, *v;
	const char *p;
	bool b;
	size_t i;

	if (sort == NULL || json_type(sort) == JSON_NULL)
		return true;
	if (json_type(sort) != JSON_ARRAY || json_len(sort) > 4) {
		jmap_call_error(c, "invalidArguments", "sort must be an array "
		    "of at most 4 Comparators");
		return false;
	}
	for (i = 0; i < json_len(sort); i++) {
		cmp = json_at(sort, i);
		p = json_str(json_get(cmp, "property"), NULL);
		if (p == NULL) {
			jmap_call_error(c, "invalidArguments", "A Comparator "
			    "needs a property");
			return false;
		}
		if (strcmp(p, "name") != 0 && strcmp(p, "sortOrder") != 0) {
			jmap_call_error(c, "unsupportedSort", p);
			return false;
		}
		s->by_name[s->n] = p[0] == 'n';
		s->asc[s->n] = true;
		if ((v = json_get(cmp, "isAscending")) != NULL) {
			if (json_bool(v, &b) == -1) {
				jmap_call_error(c, "invalidArguments",
				    "isAscending must be a Boolean");
				return false;
			}
			s->asc[s->n] = b;
		}
		s->n++;
	}
	return true;
}

static void
jmbox_query_listed(struct jmap_call *c)
{
	struct jmbox_list *l = c->ctx;
	const struct json *filter = json_get(c->args, "filter"), *v;
	struct jmap_query_win w;
	struct jmbox_sort s;
	struct jmbox **sel, *p;
	char **ids, state[24];
	const char *why = NULL;
	bool tree = false, ftree = false, keep;
	size_t i, n = 0;
	int r;

	memset(&s, 0, sizeof(s));
	s.l = l;
	if (!jmap_query_args(c, &w) || !jmbox_sort_args(c, &s))
		return;
	if (((v = json_get(c->args, "sortAsTree")) != NULL &&
	    json_bool(v, &tree) == -1) ||
	    ((v = json_get(c->args, "filterAsTree")) != NULL &&
	    json_bool(v, &ftree) == -1)) {
		jmap_call_error(c, "invalidArguments", "sortAsTree and "
		    "filterAsTree must be Booleans");
		return;
	}
	if (filter != NULL && json_type(filter) == JSON_NULL)
		filter = NULL;
	s.tree = tree;
	sel = xcalloc(l->n > 0 ? l->n : 1, sizeof(*sel));
	for (i = 0; i < l->n; i++) {
		r = filter == NULL ? 1 : jmbox_match(l, &l->v[i], filter, 0,
		    &why);
		if (r == -1) {
			free(sel);
			if (strcmp(why, "unsupportedFilter") == 0)
				jmap_call_error(c, "unsupportedFilter", NULL);
			else
				jmap_call_error(c, "invalidArguments", why);
			return;
		}
		keep = r == 1;
		/*
		 * 2.3 filterAsTree: a mailbox matches only if its parents
		 * all match too.
		 */
		for (p = &l->v[i]; keep && ftree && filter != NULL &&
		    p->parent != 0;) {
			if ((p = jmbox_find(l, p->parent)) == NULL)
				break;
			keep = jmbox_match(l, p, filter, 0, &why) == 1;
		}
		if (keep)
			sel[n++] = &l->v[i];
	}
	/* Every key a comparison may need, ancestors' too. */
	for (i = 0; i < l->n; i++)
		(void)jmbox_name_key(&l->v[i]);
	jmbox_sort_ctx = &s;
	qsort(sel, n, sizeof(*sel), jmbox_cmp);
	jmbox_sort_ctx = NULL;
	ids = xcalloc(n > 0 ? n : 1, sizeof(*ids));
	for (i = 0; i < n; i++) {
		ids[i] = xmalloc(OBJID_MAX);
		objid_format(ids[i], OBJID_MAILBOX, sel[i]->id);
	}
	jmap_state_format(state, l->state);
	jmap_query_answer(c, &w, ids, n, state, false);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(sel);
}

void
jmap_mailbox_query(const struct jmap_env *env, struct jmap_call *c)
{
	(void)env;
	if (!jmap_account_check(c))
		return;
	jmbox_list_then(c, jmbox_query_listed);
}

void
jmap_mailbox_query_changes(const struct jmap_env *env, struct jmap_call *c)
{
	(void)env;
	if (!jmap_account_check(c))
		return;
	/* RFC 8620 5.6: a server may always answer this. */
	jmap_call_error(c, "cannotCalculateChanges", "Query the mailboxes "
	    "again (there are few)");
}

