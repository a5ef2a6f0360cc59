/* SPDX-License-Identifier: ISC */
/*
 * jmap_mailbox.c: the Mailbox methods of JMAP Mail (RFC 8621 2):
 * Mailbox/get, /changes, /query, /queryChanges and /set, over storaged's
 * MBOX_LIST, MBOX_THREADS, CHANGES_GET, MBOX_CREATE, MBOX_RENAME,
 * MBOX_SUBSCRIBE and MBOX_DELETE.
 *
 * The store keeps a mailbox's full name with '/' between the levels and
 * its parent's id; JMAP shows the last level as "name" and the parent as
 * "parentId".  The account is the user's own: every right is granted
 * (myRights, 2), sharing comes with ACLs.
 */
#include "casemap.h"
#include "jmap_int.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A name level may not hold the separator the store uses. */
#define JMBOX_SEP	'/'
#define JMBOX_NAME_MAX	255	/* bytes of one level */

struct jmbox {
	uint64_t	 id, parent;
	char		*name;		/* full, with '/' */
	const char	*leaf;		/* the last level, inside name */
	char		*role;		/* "" for none */
	uint64_t	 total, unread, threads, unread_threads, sort_order;
	bool		 subscribed;
	char		*key;		/* leaf's i;unicode-casemap key */
};

struct jmbox_list {
	uint64_t	 state;
	struct jmbox	*v;
	size_t		 n;
	bool		 have_threads;
};

static void
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

static struct jmbox *
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

static const char *
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

static struct json *
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

static void
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
	uint64_t want;

	c->ctx = NULL;
	s = xcalloc(1, sizeof(*s));
	s->call = c;
	s->l = l;
	s->old_state = l->state;
	c->ctx = s;
	c->ctx_free = jmset_free;
	if ((v = json_get(c->args, "ifInState")) != NULL &&
	    json_type(v) != JSON_NULL && (!jmap_state_parse(json_str(v, NULL),
	    &want) || want != l->state)) {
		jmap_call_error(c, "stateMismatch", NULL);
		return;
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
		jmap_call_error(c, "invalidArguments", "create and update "
		    "must be objects, destroy an array");
		return;
	}
	if ((v = json_get(c->args, "onDestroyRemoveEmails")) != NULL &&
	    json_bool(v, &s->remove_emails) == -1) {
		jmap_call_error(c, "invalidArguments", "onDestroyRemoveEmails "
		    "must be a Boolean");
		return;
	}
	n = (create != NULL ? json_len(create) : 0) +
	    (update != NULL ? json_len(update) : 0) +
	    (destroy != NULL ? json_len(destroy) : 0);
	if (n > c->env->max_objects_in_set) {
		jmap_call_error(c, "requestTooLarge", "More objects than "
		    "maxObjectsInSet");
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
