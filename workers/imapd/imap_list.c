/* SPDX-License-Identifier: ISC */
/*
 * imap_list.c: LIST (RFC 9051 6.3.9) with the extended syntax of RFC 5258
 * (selection options SUBSCRIBED, REMOTE, RECURSIVEMATCH and SPECIAL-USE of
 * RFC 6154; return options SUBSCRIBED, CHILDREN, SPECIAL-USE and STATUS of
 * RFC 5819; several patterns; CHILDINFO), and LSUB of IMAP4rev1 (RFC 3501
 * 6.3.9).
 *
 * The store keeps no mailbox without its parents and keeps subscriptions
 * with mailboxes, so every listed name exists: \NonExistent and \Noselect
 * never appear in LIST, and only LSUB shows \Noselect, for the unsubscribed
 * parents of a subscribed name that "%" reaches (RFC 3501 6.3.9).  The
 * reference is prefixed to each pattern as it is (no break-out characters,
 * 6.3.9); patterns are matched against client names ("INBOX/...") with
 * "*" matching anything and "%" anything but the delimiter.  The children
 * and special-use attributes are always returned (6.3.9.5 allows it).
 */
#include "imap_cmd.h"
#include "imap_cmd_auth.h"
#include "imap_mbox.h"
#include "imap_resp.h"
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
};

static void
imap_list_ctx_free(void *arg)
{
	struct imap_list_ctx *x = arg;
	size_t i;

	for (i = 0; i < x->npats; i++)
		free(x->pats[i]);
	free(x);
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

/* Does mb meet the selection options (other than RECURSIVEMATCH)? */
static bool
imap_list_meets(const struct imap_list_ctx *x, const struct imap_mbox *mb)
{
	if ((x->sel & LIST_SEL_SUBSCRIBED) && !mb->subscribed)
		return false;
	if ((x->sel & LIST_SEL_SPECIALUSE) &&
	    imap_mbox_role_attr(mb->role) == NULL)
		return false;
	return true;
}

/*
 * RECURSIVEMATCH (6.3.9.1, 6.3.9.6): does a descendant of mb meet the
 * selection options?  With unlisted, only one that no pattern matches
 * counts (a parent that does not meet them itself is returned only for
 * such a child).
 */
static bool
imap_list_child_meets(const struct imap_list_ctx *x,
    const struct imap_mbox_list *l, const struct imap_mbox *mb,
    bool unlisted)
{
	size_t i, len = strlen(mb->cname);

	for (i = 0; i < l->n; i++) {
		if (strncmp(l->v[i].cname, mb->cname, len) != 0 ||
		    l->v[i].cname[len] != IMAP_MBOX_DELIM)
			continue;
		if (imap_list_meets(x, &l->v[i]) && (!unlisted ||
		    !imap_list_match_any(x, l->v[i].cname)))
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

/* * LIST (attributes) "/" mailbox [SP ("CHILDINFO" (criteria))] */
static void
imap_list_write(struct imap_session *s, const struct imap_list_ctx *x,
    const struct imap_mbox *mb, bool childinfo)
{
	const char *use = imap_mbox_role_attr(mb->role);
	size_t n = 0;

	imap_resp_untagged(s->out);
	imap_resp_token(s->out, "LIST (");
	imap_list_attr(s->out, &n, mb->has_children ? "\\HasChildren" :
	    "\\HasNoChildren");
	if ((x->ret & LIST_RET_SUBSCRIBED) && mb->subscribed)
		imap_list_attr(s->out, &n, "\\Subscribed");
	if (use != NULL)
		imap_list_attr(s->out, &n, use);
	imap_resp_token(s->out, ") \"/\" ");
	imap_mbox_name_write(s, s->out, mb->cname);
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
	if (x->ret & LIST_RET_STATUS)
		imap_status_write(s, mb, x->status);
}

/* The mailboxes a LIST selects, in client-name order (6.3.9.3). */
static void
imap_list_run(struct imap_session *s, const struct imap_list_ctx *x,
    const struct imap_mbox_list *l)
{
	const struct imap_mbox *mb;
	bool meets, childinfo;
	size_t i;

	for (i = 0; i < l->n; i++) {
		mb = &l->v[i];
		if (!imap_list_match_any(x, mb->cname))
			continue;
		meets = imap_list_meets(x, mb);
		childinfo = false;
		if (x->sel & LIST_SEL_RECURSIVE)
			childinfo = imap_list_child_meets(x, l, mb, !meets);
		if (meets || childinfo)
			imap_list_write(s, x, mb, childinfo);
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
 * The unsubscribed parents of subscribed mb that the pattern matches, when
 * it ends with "%" (RFC 3501 6.3.9): added to v as \Noselect.
 */
static void
imap_lsub_parents(const struct imap_list_ctx *x,
    const struct imap_mbox_list *l, const struct imap_mbox *mb,
    struct imap_lsub_ent **v, size_t *n, size_t *cap)
{
	const struct imap_mbox *p;
	const char *pat = x->pats[0];
	char *name;
	size_t i;

	if (pat[0] == '\0' || pat[strlen(pat) - 1] != '%')
		return;
	name = xstrdup(mb->cname);
	for (i = strlen(name); i > 0; i--) {
		if (name[i] != IMAP_MBOX_DELIM)
			continue;
		name[i] = '\0';
		if (!imap_mbox_match(pat, name) || ((p = imap_mbox_find(l,
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

/* LSUB: subscribed names matching the pattern, RFC 3501 6.3.9. */
static void
imap_lsub_run(struct imap_session *s, const struct imap_list_ctx *x,
    const struct imap_mbox_list *l)
{
	struct imap_lsub_ent *v = NULL;
	size_t i, n = 0, cap = 0;

	for (i = 0; i < l->n; i++) {
		if (!l->v[i].subscribed)
			continue;
		if (imap_mbox_match(x->pats[0], l->v[i].cname)) {
			if (n == cap) {
				cap = cap * 2 + 8;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[n].cname = l->v[i].cname;
			v[n++].noselect = false;
		}
		imap_lsub_parents(x, l, &l->v[i], &v, &n, &cap);
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

static void
imap_list_lookup_cb(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg)
{
	struct imap_list_ctx *x = arg;

	(void)mb;
	if (st != IPC_S_OK)
		imap_auth_fail(s, st);
	else {
		if (x->lsub)
			imap_lsub_run(s, x, l);
		else
			imap_list_run(s, x, l);
		imap_session_reply(s, "OK", NULL, x->lsub ?
		    "LSUB completed" : "LIST completed");
	}
	s->cmd_ctx_free(s->cmd_ctx);
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	imap_session_resume(s, IMAP_CMD_DONE);
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
	s->cmd_ctx = x;
	s->cmd_ctx_free = imap_list_ctx_free;
	imap_mbox_lookup(s, &x->req, NULL, imap_list_lookup_cb, x);
	return IMAP_CMD_WAIT;
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
	s->cmd_ctx = x;
	s->cmd_ctx_free = imap_list_ctx_free;
	imap_mbox_lookup(s, &x->req, NULL, imap_list_lookup_cb, x);
	return IMAP_CMD_WAIT;
}
