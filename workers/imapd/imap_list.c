/* SPDX-License-Identifier: ISC */
/*
 * imap_list.c: LIST (RFC 9051 6.3.9) with the extended syntax of RFC 5258
 * (selection options SUBSCRIBED, REMOTE, RECURSIVEMATCH and SPECIAL-USE of
 * RFC 6154; return options SUBSCRIBED, CHILDREN, SPECIAL-USE and STATUS of
 * RFC 5819; several patterns; CHILDINFO), and LSUB of IMAP4rev1 (RFC 3501
 * 6.3.9).
 *
 * The store keeps no mailbox without its parents, but a subscription is a
 * name that need not be a mailbox's (RFC 9051 6.3.7, store/subscription.h):
 * those storaged keeps apart (SUBSCRIPTION_LIST, asked before MBOX_LIST
 * when subscriptions matter) are listed by LIST (SUBSCRIBED) as
 * \NonExistent (RFC 5258 3), by LSUB as they are, and their missing
 * parents count for RECURSIVEMATCH (\NonExistent with CHILDINFO, RFC 5258
 * 3.5) and for LSUB's "%" (\Noselect, RFC 3501 6.3.9).  \Noselect never
 * appears in LIST.  The reference is prefixed to each pattern as it is (no
 * break-out characters, 6.3.9); patterns are matched against client names
 * ("INBOX/...") with "*" matching anything and "%" anything but the
 * delimiter.  The children and special-use attributes are always returned
 * (6.3.9.5 allows it); a name without a mailbox has no child mailbox
 * (\HasNoChildren), since every mailbox's parents exist.
 *
 * STATUS RECENT (RFC 5819 with RFC 3501 6.3.10) is counted by storaged
 * per mailbox (MBOX_RECENT, as STATUS does): the rows LIST selects are
 * kept, with copies of their mailboxes, while their counts are asked one
 * after the other, and written when the last has come.
 */
#include "imap_cmd.h"
#include "imap_cmd_auth.h"
#include "imap_mbox.h"
#include "imap_resp.h"
#include "imapd.h"
#include "ipc.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Selection options, 6.3.9.1 and RFC 6154 4. */
#define LIST_SEL_SUBSCRIBED	0x01
#define LIST_SEL_REMOTE		0x02
#define LIST_SEL_RECURSIVE	0x04
#define LIST_SEL_SPECIALUSE	0x08
/* Return options, 6.3.9.2, RFC 6154 4, RFC 5819. */
#define LIST_RET_SUBSCRIBED	0x01
#define LIST_RET_CHILDREN	0x02
#define LIST_RET_SPECIALUSE	0x04
#define LIST_RET_STATUS		0x08

/* Most patterns one LIST takes. */
#define LIST_PATTERNS_MAX	32

struct imap_list_opt {
	const char	*name;
	unsigned	 bit;
};

static const struct imap_list_opt imap_list_sel_opts[] = {
	{ "SUBSCRIBED",		LIST_SEL_SUBSCRIBED },
	{ "REMOTE",		LIST_SEL_REMOTE },	/* no remote ones */
	{ "RECURSIVEMATCH",	LIST_SEL_RECURSIVE },
	{ "SPECIAL-USE",	LIST_SEL_SPECIALUSE },
};

static const struct imap_list_opt imap_list_ret_opts[] = {
	{ "SUBSCRIBED",		LIST_RET_SUBSCRIBED },
	{ "CHILDREN",		LIST_RET_CHILDREN },
	{ "SPECIAL-USE",	LIST_RET_SPECIALUSE },
	{ "STATUS",		LIST_RET_STATUS },
};

struct imap_list_ctx {
	struct imap_mbox_req	 req;
	bool			 lsub;
	unsigned		 sel;		/* LIST_SEL_* */
	unsigned		 ret;		/* LIST_RET_* */
	unsigned		 status;	/* IMAP_STATUS_* of RETURN */
	char			*pats[LIST_PATTERNS_MAX]; /* canonical */
	size_t			 npats;
	/* Subscribed stored names without a mailbox (SUBSCRIPTION_LIST). */
	char			**orphans;
	size_t			 norphans;
	/* STATUS RECENT: the rows to write, and the one being counted. */
	struct imap_list_row	*rows;
	size_t			 nrows, caprows;
	size_t			 next;
};

/*
 * A name LIST writes, kept while the RECENT counts of STATUS are asked:
 * mb is a copy of the listed mailbox (valid when has_mb; its cname is
 * cname, its role owned, its stored name NULL).
 */
struct imap_list_row {
	char			*cname;
	struct imap_mbox	 mb;
	bool			 has_mb;
	bool			 subscribed;
	bool			 childinfo;
	uint32_t		 recent;
};

static void
imap_list_ctx_free(void *arg)
{
	struct imap_list_ctx *x = arg;
	size_t i;

	for (i = 0; i < x->npats; i++)
		free(x->pats[i]);
	for (i = 0; i < x->norphans; i++)
		free(x->orphans[i]);
	free(x->orphans);
	for (i = 0; i < x->nrows; i++) {
		free(x->rows[i].cname);
		free(x->rows[i].mb.role);
	}
	free(x->rows);
	free(x);
}

/*
 * One name LIST or LSUB may show: a mailbox, a subscribed name without
 * one, or (for RECURSIVEMATCH and LSUB's "%") the missing parent of such
 * a name, neither.
 */
struct imap_list_ent {
	const char		*cname;
	const struct imap_mbox	*mb;		/* NULL: no such mailbox */
	bool			 subscribed;
	bool			 owned;		/* cname is ours to free */
};

struct imap_list_set {
	struct imap_list_ent	*v;
	size_t			 n, cap;
};

static void
imap_list_set_add(struct imap_list_set *set, const char *cname,
    const struct imap_mbox *mb, bool subscribed, bool owned)
{
	struct imap_list_ent *e;

	if (set->n == set->cap) {
		set->cap = set->cap * 2 + 16;
		set->v = xreallocarray(set->v, set->cap, sizeof(*set->v));
	}
	e = &set->v[set->n++];
	e->cname = cname;
	e->mb = mb;
	e->subscribed = subscribed;
	e->owned = owned;
}

/* By name; of equal names, a mailbox first, then a subscribed one. */
static int
imap_list_ent_cmp(const void *a, const void *b)
{
	const struct imap_list_ent *x = a, *y = b;
	int c;

	if ((c = strcmp(x->cname, y->cname)) != 0)
		return c;
	if ((x->mb != NULL) != (y->mb != NULL))
		return x->mb != NULL ? -1 : 1;
	return (int)y->subscribed - (int)x->subscribed;
}

static int
imap_list_ent_key_cmp(const void *key, const void *ent)
{
	return strcmp(key, ((const struct imap_list_ent *)ent)->cname);
}

static const struct imap_list_ent *
imap_list_set_find(const struct imap_list_set *set, const char *cname)
{
	return bsearch(cname, set->v, set->n, sizeof(set->v[0]),
	    imap_list_ent_key_cmp);
}

static void
imap_list_set_clear(struct imap_list_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->v[i].owned)
			free((char *)set->v[i].cname);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

/*
 * The names of l and the orphans of x, each once, in client-name order:
 * an orphan that a mailbox has meanwhile (the two lists come from two
 * reads) only marks it subscribed; every missing parent of an orphan is
 * added as a name that is neither.
 */
static void
imap_list_set_build(struct imap_list_set *set, const struct imap_list_ctx *x,
    const struct imap_mbox_list *l)
{
	struct imap_list_ent *e;
	char *cn, *p;
	size_t i, j;

	memset(set, 0, sizeof(*set));
	for (i = 0; i < l->n; i++)
		imap_list_set_add(set, l->v[i].cname, &l->v[i],
		    l->v[i].subscribed, false);
	for (i = 0; i < x->norphans; i++) {
		if ((cn = imap_mbox_client_name_of(l, x->orphans[i])) == NULL)
			continue;
		imap_list_set_add(set, cn, NULL, true, true);
		for (p = strrchr(cn, IMAP_MBOX_DELIM); p != NULL;
		    p = strrchr(cn, IMAP_MBOX_DELIM)) {
			cn = xstrndup(cn, (size_t)(p - cn));
			imap_list_set_add(set, cn, NULL, false, true);
		}
	}
	if (set->n == 0)
		return;
	qsort(set->v, set->n, sizeof(set->v[0]), imap_list_ent_cmp);
	for (i = j = 0; i < set->n; i++) {
		e = &set->v[i];
		if (j > 0 && strcmp(set->v[j - 1].cname, e->cname) == 0) {
			set->v[j - 1].subscribed |= e->subscribed;
			if (e->owned)
				free((char *)e->cname);
			continue;
		}
		set->v[j++] = *e;
	}
	set->n = j;
}

/* --- Matching --- */

static bool
imap_list_match_any(const struct imap_list_ctx *x, const char *name)
{
	size_t i;

	for (i = 0; i < x->npats; i++)
		if (imap_mbox_match(x->pats[i], name))
			return true;
	return false;
}

/* --- Output --- */

/* Does e meet the selection options (other than RECURSIVEMATCH)? */
static bool
imap_list_meets(const struct imap_list_ctx *x, const struct imap_list_ent *e)
{
	if ((x->sel & LIST_SEL_SUBSCRIBED) && !e->subscribed)
		return false;
	if ((x->sel & LIST_SEL_SPECIALUSE) && (e->mb == NULL ||
	    imap_mbox_role_attr(e->mb->role) == NULL))
		return false;
	return true;
}

/*
 * Is e a name this LIST may show?  Without SUBSCRIBED, only the
 * mailboxes (6.3.9.1: the others are subscribed names).
 */
static bool
imap_list_candidate(const struct imap_list_ctx *x,
    const struct imap_list_ent *e)
{
	return e->mb != NULL || (x->sel & LIST_SEL_SUBSCRIBED);
}

/*
 * RECURSIVEMATCH (6.3.9.1, 6.3.9.6, RFC 5258 3.5): does a descendant of e
 * meet the selection options?  With unlisted, only one that no pattern
 * matches counts (a parent that does not meet them itself is returned
 * only for such a child).  Descendants follow e in the sorted set.
 */
static bool
imap_list_child_meets(const struct imap_list_ctx *x,
    const struct imap_list_set *set, size_t at, bool unlisted)
{
	const char *name = set->v[at].cname;
	size_t i, len = strlen(name);
	const struct imap_list_ent *c;

	for (i = at + 1; i < set->n; i++) {
		c = &set->v[i];
		if (strncmp(c->cname, name, len) != 0)
			break;
		if (c->cname[len] != IMAP_MBOX_DELIM ||
		    !imap_list_candidate(x, c))
			continue;
		if (imap_list_meets(x, c) && (!unlisted ||
		    !imap_list_match_any(x, c->cname)))
			return true;
	}
	return false;
}

static void
imap_list_attr(struct buf *out, size_t *n, const char *attr)
{
	if ((*n)++ > 0)
		imap_resp_sp(out);
	imap_resp_token(out, attr);
}

/*
 * * LIST (attributes) "/" mailbox [SP ("CHILDINFO" (criteria))], and the
 * STATUS of RETURN with recent as its RECENT.
 */
static void
imap_list_write(struct imap_session *s, const struct imap_list_ctx *x,
    const struct imap_list_ent *e, bool childinfo, uint32_t recent)
{
	const char *use = e->mb != NULL ? imap_mbox_role_attr(e->mb->role) :
	    NULL;
	size_t n = 0;

	imap_resp_untagged(s->out);
	imap_resp_token(s->out, "LIST (");
	imap_list_attr(s->out, &n, e->mb != NULL && e->mb->has_children ?
	    "\\HasChildren" : "\\HasNoChildren");
	if ((x->ret & LIST_RET_SUBSCRIBED) && e->subscribed)
		imap_list_attr(s->out, &n, "\\Subscribed");
	/* RFC 5258 3: it implies \Noselect, which is not sent with it. */
	if (e->mb == NULL)
		imap_list_attr(s->out, &n, "\\NonExistent");
	if (use != NULL)
		imap_list_attr(s->out, &n, use);
	imap_resp_token(s->out, ") \"/\" ");
	imap_mbox_name_write(s, s->out, e->cname);
	if (childinfo) {
		imap_resp_token(s->out, " (\"CHILDINFO\" (");
		n = 0;
		if (x->sel & LIST_SEL_SUBSCRIBED)
			imap_list_attr(s->out, &n, "\"SUBSCRIBED\"");
		if (x->sel & LIST_SEL_SPECIALUSE)
			imap_list_attr(s->out, &n, "\"SPECIAL-USE\"");
		imap_resp_token(s->out, "))");
	}
	imap_resp_crlf(s->out);
	/* RFC 5819 4: no STATUS for a name that is no mailbox. */
	if ((x->ret & LIST_RET_STATUS) && e->mb != NULL)
		imap_status_write_recent(s, e->mb, x->status, recent);
}

/* Whether the LIST has STATUS RECENT to count before it writes. */
static bool
imap_list_wants_recent(const struct imap_list_ctx *x)
{
	return !x->lsub && (x->ret & LIST_RET_STATUS) &&
	    (x->status & IMAP_STATUS_RECENT);
}

/* Keeps e (borrowed from the lookup's list) to be written later. */
static void
imap_list_keep(struct imap_list_ctx *x, const struct imap_list_ent *e,
    bool childinfo)
{
	struct imap_list_row *r;

	if (x->nrows == x->caprows) {
		x->caprows = x->caprows * 2 + 16;
		x->rows = xreallocarray(x->rows, x->caprows, sizeof(*x->rows));
	}
	r = &x->rows[x->nrows++];
	memset(r, 0, sizeof(*r));
	r->cname = xstrdup(e->cname);
	r->subscribed = e->subscribed;
	r->childinfo = childinfo;
	if (e->mb != NULL) {
		r->has_mb = true;
		r->mb = *e->mb;
		r->mb.name = NULL;
		r->mb.cname = r->cname;
		r->mb.role = e->mb->role != NULL ? xstrdup(e->mb->role) : NULL;
	}
}

/* Writes the rows kept, with their RECENT counts. */
static void
imap_list_write_rows(struct imap_session *s, const struct imap_list_ctx *x)
{
	struct imap_list_ent e;
	size_t i;

	for (i = 0; i < x->nrows; i++) {
		e.cname = x->rows[i].cname;
		e.mb = x->rows[i].has_mb ? &x->rows[i].mb : NULL;
		e.subscribed = x->rows[i].subscribed;
		e.owned = false;
		imap_list_write(s, x, &e, x->rows[i].childinfo,
		    x->rows[i].recent);
	}
}

/*
 * The names a LIST selects, in client-name order (6.3.9.3): written, or
 * kept in x for STATUS RECENT.
 */
static void
imap_list_run(struct imap_session *s, struct imap_list_ctx *x,
    const struct imap_list_set *set)
{
	const struct imap_list_ent *e;
	bool meets, childinfo;
	size_t i;

	for (i = 0; i < set->n; i++) {
		e = &set->v[i];
		if (!imap_list_candidate(x, e) ||
		    !imap_list_match_any(x, e->cname))
			continue;
		meets = imap_list_meets(x, e);
		childinfo = false;
		if (x->sel & LIST_SEL_RECURSIVE)
			childinfo = imap_list_child_meets(x, set, i, !meets);
		if (!meets && !childinfo)
			continue;
		if (imap_list_wants_recent(x))
			imap_list_keep(x, e, childinfo);
		else
			imap_list_write(s, x, e, childinfo, 0);
	}
}

/* One LSUB result: a name, and whether it stands only for its children. */
struct imap_lsub_ent {
	const char	*cname;		/* borrowed from the list, or owned */
	bool		 noselect;
};

static int
imap_lsub_cmp(const void *a, const void *b)
{
	const struct imap_lsub_ent *x = a, *y = b;

	return strcmp(x->cname, y->cname);
}

/*
 * The unsubscribed parents of subscribed name e that the pattern matches,
 * when it ends with "%" (RFC 3501 6.3.9): added to v as \Noselect.
 */
static void
imap_lsub_parents(const struct imap_list_ctx *x,
    const struct imap_list_set *set, const struct imap_list_ent *e,
    struct imap_lsub_ent **v, size_t *n, size_t *cap)
{
	const struct imap_list_ent *p;
	const char *pat = x->pats[0];
	char *name;
	size_t i;

	if (pat[0] == '\0' || pat[strlen(pat) - 1] != '%')
		return;
	name = xstrdup(e->cname);
	for (i = strlen(name); i > 0; i--) {
		if (name[i] != IMAP_MBOX_DELIM)
			continue;
		name[i] = '\0';
		if (!imap_mbox_match(pat, name) || ((p = imap_list_set_find(set,
		    name)) != NULL && p->subscribed))
			continue;
		if (*n == *cap) {
			*cap = *cap * 2 + 8;
			*v = xreallocarray(*v, *cap, sizeof(**v));
		}
		(*v)[*n].cname = xstrdup(name);
		(*v)[(*n)++].noselect = true;
	}
	free(name);
}

/*
 * LSUB: subscribed names matching the pattern, RFC 3501 6.3.9, whether a
 * mailbox has them or not (as Dovecot, with no attribute for those).
 */
static void
imap_lsub_run(struct imap_session *s, const struct imap_list_ctx *x,
    const struct imap_list_set *set)
{
	struct imap_lsub_ent *v = NULL;
	size_t i, n = 0, cap = 0;

	for (i = 0; i < set->n; i++) {
		if (!set->v[i].subscribed)
			continue;
		if (imap_mbox_match(x->pats[0], set->v[i].cname)) {
			if (n == cap) {
				cap = cap * 2 + 8;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[n].cname = set->v[i].cname;
			v[n++].noselect = false;
		}
		imap_lsub_parents(x, set, &set->v[i], &v, &n, &cap);
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), imap_lsub_cmp);
	for (i = 0; i < n; i++) {
		if (i == 0 || strcmp(v[i].cname, v[i - 1].cname) != 0) {
			imap_resp_untagged(s->out);
			imap_resp_token(s->out, v[i].noselect ?
			    "LSUB (\\Noselect) \"/\" " : "LSUB () \"/\" ");
			imap_mbox_name_write(s, s->out, v[i].cname);
			imap_resp_crlf(s->out);
		}
	}
	for (i = 0; i < n; i++)
		if (v[i].noselect)
			free((char *)v[i].cname);
	free(v);
}

/* Ends the command: frees its state and reads the next one. */
static void
imap_list_done(struct imap_session *s)
{
	s->cmd_ctx_free(s->cmd_ctx);
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	imap_session_resume(s, IMAP_CMD_DONE);
}

static void	imap_list_recent_next(struct imap_session *);

/* The RECENT count of row x->next: 0 for a mailbox gone meanwhile. */
static void
imap_list_recent_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MBOX_RECENT_rep *r = rep;
	struct imap_session *s = arg;
	struct imap_list_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (st == IPC_S_OK)
		x->rows[x->next].recent = r->count;
	else if (st != IPC_S_NOTFOUND && st != IPC_S_CONFLICT) {
		imap_session_debug(s, "list recent failed status=%s "
		    "why=\"%s\"", ipc_status_name(st),
		    text != NULL ? text : "");
		imap_auth_fail(s, st);
		imap_list_done(s);
		return;
	}
	x->next++;
	imap_list_recent_next(s);
}

/*
 * Asks MBOX_RECENT (count, as STATUS RECENT, RFC 3501 6.3.10) for the
 * next kept row that is a mailbox; after the last, writes the rows.
 */
static void
imap_list_recent_next(struct imap_session *s)
{
	struct imap_list_ctx *x = s->cmd_ctx;
	struct ipc_MBOX_RECENT_req req;
	struct ipc_chan *store;
	uint32_t id;

	while (x->next < x->nrows && !x->rows[x->next].has_mb)
		x->next++;
	if (x->next == x->nrows) {
		imap_list_write_rows(s, x);
		imap_session_reply(s, "OK", NULL, "LIST completed");
		imap_list_done(s);
		return;
	}
	if ((store = imapd_store()) == NULL) {
		imap_list_recent_cb(NULL, IPC_S_UNAVAIL, NULL, NULL, s);
		return;
	}
	req.mailbox_id = x->rows[x->next].mb.id;
	req.uidvalidity = (uint32_t)x->rows[x->next].mb.uidvalidity;
	req.uidnext = (uint32_t)x->rows[x->next].mb.uidnext;
	req.mode = 2;		/* count */
	id = ipc_request(store, IPC_T_MBOX_RECENT, conn_id(s->conn), &req,
	    imap_list_recent_cb, s);
	if (id != 0)
		s->req_id = id;
}

static void
imap_list_lookup_cb(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg)
{
	struct imap_list_ctx *x = arg;
	struct imap_list_set set;

	(void)mb;
	if (st != IPC_S_OK)
		imap_auth_fail(s, st);
	else {
		imap_list_set_build(&set, x, l);
		if (x->lsub)
			imap_lsub_run(s, x, &set);
		else
			imap_list_run(s, x, &set);
		imap_list_set_clear(&set);
		if (imap_list_wants_recent(x)) {
			imap_list_recent_next(s);
			return;
		}
		imap_session_reply(s, "OK", NULL, x->lsub ?
		    "LSUB completed" : "LIST completed");
	}
	imap_list_done(s);
}

/* The subscribed names without a mailbox are in: now the mailboxes. */
static void
imap_list_subs_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_SUBSCRIPTION_LIST_rep *r = rep;
	struct imap_session *s = arg;
	struct imap_list_ctx *x = s->cmd_ctx;
	struct wire_iter it;
	const char *name;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		imap_session_debug(s, "subscription list failed status=%s "
		    "why=\"%s\"", ipc_status_name(st),
		    text != NULL ? text : "");
		imap_auth_fail(s, st);
		imap_list_done(s);
		return;
	}
	x->orphans = xcalloc(r->names.count, sizeof(*x->orphans));
	wire_strlist_iter(&r->names, &it);
	while (x->norphans < r->names.count &&
	    (name = wire_strlist_next(&it)) != NULL)
		x->orphans[x->norphans++] = xstrdup(name);
	imap_mbox_lookup(s, &x->req, NULL, imap_list_lookup_cb, x);
}

/*
 * Runs the command of x (now s->cmd_ctx): LSUB and LIST (SUBSCRIBED)
 * first ask for the subscribed names that no mailbox has.
 */
static enum imap_cmd_result
imap_list_start(struct imap_session *s, struct imap_list_ctx *x)
{
	struct ipc_chan *store;
	uint32_t id;

	s->cmd_ctx = x;
	s->cmd_ctx_free = imap_list_ctx_free;
	if (!x->lsub && !(x->sel & LIST_SEL_SUBSCRIBED)) {
		imap_mbox_lookup(s, &x->req, NULL, imap_list_lookup_cb, x);
		return IMAP_CMD_WAIT;
	}
	if ((store = imapd_store()) == NULL) {
		imap_list_subs_cb(NULL, IPC_S_UNAVAIL, NULL, NULL, s);
		return IMAP_CMD_WAIT;
	}
	id = ipc_request(store, IPC_T_SUBSCRIPTION_LIST, conn_id(s->conn),
	    NULL, imap_list_subs_cb, s);
	if (id != 0)
		s->req_id = id;
	return IMAP_CMD_WAIT;
}

/* --- Parsing --- */

/* list-char = ATOM-CHAR / list-wildcards / resp-specials */
static bool
imap_list_is_char(uint8_t c)
{
	return imap_is_atom_char(c) || c == '%' || c == '*' || c == ']';
}

/* list-mailbox = 1*list-char / string */
static int
imap_list_parse_pattern(struct imap_parser *ps, struct imap_str *pat)
{
	uint8_t *start = ps->p;

	if (ps->error != NULL)
		return -1;
	if (imap_parse_peek(ps, '"') || imap_parse_peek(ps, '{'))
		return imap_parse_string(ps, pat);
	while (ps->p < ps->end && imap_list_is_char(*ps->p))
		ps->p++;
	if (ps->p == start) {
		ps->error = "Expected a mailbox pattern";
		return -1;
	}
	pat->p = (const char *)start;
	pat->len = ps->p - start;
	pat->literal = false;
	return 0;
}

/*
 * Parses "(" [option *(SP option)] ")" of names in opts (n of them) into
 * bits; RETURN's STATUS takes its items.  Returns 0, or -1 with the text of
 * a BAD response in why.
 */
static int
imap_list_parse_opts(struct imap_session *s, struct imap_parser *ps,
    struct imap_list_ctx *x, bool ret, char *why, size_t whysize)
{
	const struct imap_list_opt *opts;
	struct imap_str o;
	size_t i, n, k = 0;

	opts = ret ? imap_list_ret_opts : imap_list_sel_opts;
	n = ret ? NELEM(imap_list_ret_opts) : NELEM(imap_list_sel_opts);
	ps->p++;	/* "(" */
	while (!imap_parse_peek(ps, ')')) {
		if ((k++ > 0 && imap_parse_sp(ps) == -1) ||
		    imap_parse_atom(ps, &o) == -1) {
			snprintf(why, whysize, "%s", ps->error);
			return -1;
		}
		for (i = 0; i < n; i++)
			if (strlen(opts[i].name) == o.len &&
			    strncasecmp(opts[i].name, o.p, o.len) == 0)
				break;
		if (i == n) {
			/* 6.3.9: unknown options get BAD. */
			snprintf(why, whysize, "Unknown LIST %s option %.*s",
			    ret ? "return" : "selection",
			    (int)(o.len > 32 ? 32 : o.len), o.p);
			return -1;
		}
		if (ret && opts[i].bit == LIST_RET_STATUS && (imap_parse_sp(ps)
		    == -1 || imap_status_parse_atts(s, ps, &x->status, why,
		    whysize) == -1)) {
			if (ps->error != NULL)
				snprintf(why, whysize, "%s", ps->error);
			return -1;
		}
		if (ret)
			x->ret |= opts[i].bit;
		else
			x->sel |= opts[i].bit;
	}
	ps->p++;
	return 0;
}

/*
 * Adds reference ref followed by pattern pat (both as sent) as a canonical
 * pattern.  One that cannot be decoded is left out: 6.3.9 has patterns the
 * server does not accept silently ignored.
 */
static void
imap_list_add_pattern(struct imap_session *s, struct imap_list_ctx *x,
    const struct imap_str *ref, const struct imap_str *pat)
{
	char *r, *p, *c;
	const char *err;
	size_t len;

	if (x->npats == LIST_PATTERNS_MAX)
		return;
	if ((r = imap_mbox_pattern_decode(s, ref->p, ref->len, &err)) == NULL)
		return;
	if ((p = imap_mbox_pattern_decode(s, pat->p, pat->len, &err)) == NULL) {
		free(r);
		return;
	}
	len = strlen(r) + strlen(p);
	c = xmalloc(len + 1);
	snprintf(c, len + 1, "%s%s", r, p);
	/* "INBOX" in any case is INBOX, whether in ref or pattern. */
	if (len >= 5 && strncasecmp(c, "INBOX", 5) == 0 &&
	    (c[5] == '\0' || c[5] == IMAP_MBOX_DELIM))
		memcpy(c, "INBOX", 5);
	x->pats[x->npats++] = c;
	free(r);
	free(p);
}

/* Answers BAD with text why; frees the context. */
static enum imap_cmd_result
imap_list_bad(struct imap_session *s, struct imap_list_ctx *x,
    const char *why)
{
	imap_list_ctx_free(x);
	imap_session_reply(s, "BAD", NULL, why);
	return IMAP_CMD_DONE;
}

/*
 * list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
 *        [SP list-return-opts]
 * mbox-or-pat = list-mailbox / patterns
 * patterns = "(" list-mailbox *(SP list-mailbox) ")"
 * list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
 */
enum imap_cmd_result
imap_cmd_list(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_list_ctx *x;
	struct imap_str ref, pat, kw;
	char why[128];
	bool extended = false, empty = false;
	size_t k = 0;

	x = xcalloc(1, sizeof(*x));
	if (imap_parse_sp(ps) == -1)
		return imap_list_bad(s, x, ps->error);
	if (imap_parse_peek(ps, '(')) {
		extended = true;
		if (imap_list_parse_opts(s, ps, x, false, why,
		    sizeof(why)) == -1)
			return imap_list_bad(s, x, why);
		if (imap_parse_sp(ps) == -1)
			return imap_list_bad(s, x, ps->error);
	}
	if (imap_parse_astring(ps, &ref) == -1 || imap_parse_sp(ps) == -1)
		return imap_list_bad(s, x, ps->error);
	if (imap_parse_peek(ps, '(')) {
		extended = true;
		ps->p++;
		do {
			if ((k++ > 0 && imap_parse_sp(ps) == -1) ||
			    imap_list_parse_pattern(ps, &pat) == -1)
				return imap_list_bad(s, x, ps->error);
			/* Extended syntax: empty patterns are ignored. */
			if (pat.len > 0)
				imap_list_add_pattern(s, x, &ref, &pat);
		} while (!imap_parse_peek(ps, ')'));
		ps->p++;
	} else {
		if (imap_list_parse_pattern(ps, &pat) == -1)
			return imap_list_bad(s, x, ps->error);
		empty = pat.len == 0;
		if (!empty)
			imap_list_add_pattern(s, x, &ref, &pat);
	}
	if (!imap_parse_at_eol(ps)) {
		extended = true;
		if (imap_parse_sp(ps) == -1 || imap_parse_atom(ps, &kw) == -1)
			return imap_list_bad(s, x, ps->error);
		if (kw.len != 6 || strncasecmp(kw.p, "RETURN", 6) != 0)
			return imap_list_bad(s, x, "Expected RETURN");
		if (imap_parse_sp(ps) == -1 || !imap_parse_peek(ps, '('))
			return imap_list_bad(s, x, "Expected \"(\" after "
			    "RETURN");
		if (imap_list_parse_opts(s, ps, x, true, why,
		    sizeof(why)) == -1)
			return imap_list_bad(s, x, why);
	}
	if (imap_parse_eol(ps) == -1)
		return imap_list_bad(s, x, ps->error);
	/* 6.3.9.1: RECURSIVEMATCH needs another selection option. */
	if ((x->sel & LIST_SEL_RECURSIVE) &&
	    !(x->sel & (LIST_SEL_SUBSCRIBED | LIST_SEL_SPECIALUSE)))
		return imap_list_bad(s, x, "RECURSIVEMATCH needs "
		    "another selection option");
	if (x->sel & LIST_SEL_SUBSCRIBED)
		x->ret |= LIST_RET_SUBSCRIBED;
	if (!extended && empty) {
		/* The delimiter and the root of the reference: "". */
		imap_list_ctx_free(x);
		imap_resp_untagged(s->out);
		imap_resp_token(s->out, "LIST (\\Noselect) \"/\" \"\"");
		imap_resp_crlf(s->out);
		imap_session_reply(s, "OK", NULL, "LIST completed");
		return IMAP_CMD_DONE;
	}
	if (x->npats == 0) {
		imap_list_ctx_free(x);
		imap_session_reply(s, "OK", NULL, "LIST completed");
		return IMAP_CMD_DONE;
	}
	return imap_list_start(s, x);
}

/* lsub = "LSUB" SP mailbox SP list-mailbox (RFC 3501) */
enum imap_cmd_result
imap_cmd_lsub(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_list_ctx *x;
	struct imap_str ref, pat;

	x = xcalloc(1, sizeof(*x));
	x->lsub = true;
	if (imap_parse_sp(ps) == -1 || imap_parse_astring(ps, &ref) == -1 ||
	    imap_parse_sp(ps) == -1 ||
	    imap_list_parse_pattern(ps, &pat) == -1 ||
	    imap_parse_eol(ps) == -1)
		return imap_list_bad(s, x, ps->error);
	if (pat.len > 0)
		imap_list_add_pattern(s, x, &ref, &pat);
	if (x->npats == 0) {
		imap_list_ctx_free(x);
		imap_session_reply(s, "OK", NULL, "LSUB completed");
		return IMAP_CMD_DONE;
	}
	return imap_list_start(s, x);
}
