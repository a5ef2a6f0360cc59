/* SPDX-License-Identifier: ISC */
/*
 * imap_notify_parse.c: the arguments of NOTIFY (RFC 5465 8; see
 * imap_notify_parse.h).  Each function follows one production of the
 * ABNF; the result is built in a new set that the caller installs only
 * once the whole command is valid.
 */
#include "imap_notify_parse.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool
nfp_atom_is(const struct imap_str *a, const char *w)
{
	return a->len == strlen(w) && strncasecmp(a->p, w, a->len) == 0;
}

/*
 * "(" fetch-att *(SP fetch-att) ")" after MessageNew: kept as written,
 * checked by FETCH's own parser.
 */
static int
nfp_fetch_att(struct imap_parser *ps, const struct imap_notify_parse_ops *ops,
    char **att_r)
{
	const uint8_t *start = ps->p;
	const char *why;
	char *att;
	int depth = 0;

	while (ps->p < ps->end && *ps->p != '\r' && *ps->p != '\n') {
		if (*ps->p == '(')
			depth++;
		else if (*ps->p == ')' && --depth == 0)
			break;
		ps->p++;
	}
	if (depth != 0 || ps->p >= ps->end) {
		ps->error = "Unbalanced parentheses in fetch attributes";
		return -1;
	}
	ps->p++;
	if ((size_t)(ps->p - start) > IMAP_NOTIFY_FETCH_ATT_MAX) {
		ps->error = "Fetch attributes too long";
		return -1;
	}
	att = xstrndup((const char *)start, (size_t)(ps->p - start));
	if (ops->fetch_check(ops->arg, att, &why) == -1) {
		free(att);
		ps->error = why;
		return -1;
	}
	free(*att_r);
	*att_r = att;
	return 0;
}

/* One event of events; adds to *ev. */
static int
nfp_event(struct imap_parser *ps, const struct imap_notify_parse_ops *ops,
    struct imap_notify_args *na, unsigned *ev, char **att_r)
{
	struct imap_str a;

	if (imap_parse_atom(ps, &a) == -1)
		return -1;
	if (nfp_atom_is(&a, "MessageNew")) {
		*ev |= IMAP_NE_NEW;
		if (ps->p + 1 < ps->end && ps->p[0] == ' ' && ps->p[1] == '(') {
			ps->p++;
			return nfp_fetch_att(ps, ops, att_r);
		}
	} else if (nfp_atom_is(&a, "MessageExpunge"))
		*ev |= IMAP_NE_EXPUNGE;
	else if (nfp_atom_is(&a, "FlagChange"))
		*ev |= IMAP_NE_FLAGS;
	else if (nfp_atom_is(&a, "MailboxName"))
		*ev |= IMAP_NE_NAME;
	else if (nfp_atom_is(&a, "SubscriptionChange"))
		*ev |= IMAP_NE_SUBSCRIBE;
	else if (nfp_atom_is(&a, "MailboxMetadataChange"))
		*ev |= IMAP_NE_MBOXMETA;
	else if (nfp_atom_is(&a, "ServerMetadataChange"))
		*ev |= IMAP_NE_SRVMETA;
	else {
		/* AnnotationChange, event-ext: not reported. */
		na->badevent = true;
	}
	return 0;
}

/* events = ( "(" event *(SP event) ")" ) / "NONE" */
static int
nfp_events(struct imap_parser *ps, const struct imap_notify_parse_ops *ops,
    struct imap_notify_args *na, bool selected, unsigned *ev, char **att_r)
{
	struct imap_str a;

	*ev = 0;
	if (!imap_parse_peek(ps, '(')) {
		if (imap_parse_atom(ps, &a) == -1)
			return -1;
		if (!nfp_atom_is(&a, "NONE")) {
			ps->error = "Expected events or NONE";
			return -1;
		}
		return 0;
	}
	ps->p++;
	for (;;) {
		if (nfp_event(ps, ops, na, ev, att_r) == -1)
			return -1;
		if (imap_parse_peek(ps, ')')) {
			ps->p++;
			break;
		}
		if (imap_parse_sp(ps) == -1)
			return -1;
	}
	/*
	 * RFC 5465 5 wants BAD for MessageNew without MessageExpunge (or
	 * the reverse) and for FlagChange without both; Dovecot takes them,
	 * and so does imaptest's NOTIFY script, so they are taken here too:
	 * each event is reported as asked.  6.1 and 8 are kept.
	 */
	if (selected && (*ev & ~IMAP_NE_MESSAGE))
		na->bad = "SELECTED takes message events only";
	else if (!selected && *att_r != NULL)
		na->bad = "Fetch attributes are for SELECTED only";
	return 0;
}

/* one-or-more-mailbox, as client names (undecodable ones are dropped) */
static int
nfp_mailboxes(struct imap_parser *ps, const struct imap_notify_parse_ops *ops,
    struct imap_notify_group *g)
{
	struct imap_str m;
	bool list = imap_parse_peek(ps, '(');
	char *cname;

	if (list)
		ps->p++;
	for (;;) {
		if (imap_parse_astring(ps, &m) == -1)
			return -1;
		if (g->nnames == IMAP_NOTIFY_NAMES_MAX) {
			ps->error = "Too many mailboxes";
			return -1;
		}
		/* A name that cannot exist is ignored (RFC 5465 3.1). */
		if ((cname = ops->name_decode(ops->arg, m.p, m.len)) != NULL) {
			g->names = xreallocarray(g->names, g->nnames + 1,
			    sizeof(*g->names));
			g->names[g->nnames++] = cname;
		}
		if (!list || imap_parse_peek(ps, ')'))
			break;
		if (imap_parse_sp(ps) == -1)
			return -1;
	}
	if (list)
		ps->p++;
	return 0;
}

/* event-group = "(" filter-mailboxes SP events ")" */
static int
nfp_group(struct imap_parser *ps, const struct imap_notify_parse_ops *ops,
    struct imap_notify_args *na)
{
	struct imap_notify_set *n = &na->set;
	struct imap_notify_group g;
	struct imap_str a;
	char *att = NULL;
	bool selected = false;
	unsigned ev;

	memset(&g, 0, sizeof(g));
	if (!imap_parse_peek(ps, '(')) {
		ps->error = "Expected \"(\" before an event group";
		return -1;
	}
	ps->p++;
	if (imap_parse_atom(ps, &a) == -1)
		return -1;
	if (nfp_atom_is(&a, "SELECTED") ||
	    nfp_atom_is(&a, "SELECTED-DELAYED")) {
		if (n->sel_set) {
			ps->error = "SELECTED given twice";
			return -1;
		}
		selected = n->sel_set = true;
		n->sel_delayed = nfp_atom_is(&a, "SELECTED-DELAYED");
	} else if (nfp_atom_is(&a, "INBOXES"))
		g.filter = IMAP_NF_INBOXES;
	else if (nfp_atom_is(&a, "PERSONAL"))
		g.filter = IMAP_NF_PERSONAL;
	else if (nfp_atom_is(&a, "SUBSCRIBED"))
		g.filter = IMAP_NF_SUBSCRIBED;
	else if (nfp_atom_is(&a, "SUBTREE") || nfp_atom_is(&a, "MAILBOXES")) {
		g.filter = nfp_atom_is(&a, "SUBTREE") ? IMAP_NF_SUBTREE :
		    IMAP_NF_MAILBOXES;
		if (imap_parse_sp(ps) == -1 ||
		    nfp_mailboxes(ps, ops, &g) == -1)
			goto fail;
	} else {
		ps->error = "Unknown mailbox filter";
		return -1;
	}
	if (imap_parse_sp(ps) == -1 ||
	    nfp_events(ps, ops, na, selected, &ev, &att) == -1)
		goto fail;
	if (!imap_parse_peek(ps, ')')) {
		ps->error = "Expected \")\" after events";
		goto fail;
	}
	ps->p++;
	if (selected) {
		n->sel_events = ev;
		n->fetch_att = att;
		return 0;
	}
	free(att);
	if (n->ngroups == IMAP_NOTIFY_GROUPS_MAX) {
		ps->error = "Too many event groups";
		att = NULL;
		goto fail;
	}
	g.events = ev;
	n->groups = xreallocarray(n->groups, n->ngroups + 1,
	    sizeof(*n->groups));
	n->groups[n->ngroups++] = g;
	return 0;
fail:
	free(att);
	while (g.nnames > 0)
		free(g.names[--g.nnames]);
	free(g.names);
	return -1;
}

/* notify-set after "SET": [SP "STATUS"] SP event-groups */
static int
nfp_set(struct imap_parser *ps, const struct imap_notify_parse_ops *ops,
    struct imap_notify_args *na)
{
	struct imap_str a;

	if (imap_parse_sp(ps) == -1)
		return -1;
	if (!imap_parse_peek(ps, '(')) {
		if (imap_parse_atom(ps, &a) == -1)
			return -1;
		if (!nfp_atom_is(&a, "STATUS")) {
			ps->error = "Expected STATUS or an event group";
			return -1;
		}
		na->status = true;
		if (imap_parse_sp(ps) == -1)
			return -1;
	}
	for (;;) {
		if (nfp_group(ps, ops, na) == -1)
			return -1;
		if (imap_parse_at_eol(ps))
			break;
		if (imap_parse_sp(ps) == -1)
			return -1;
	}
	return imap_parse_eol(ps);
}

/* notify = "NOTIFY" SP (notify-set / notify-none) */
int
imap_notify_parse(struct imap_parser *ps,
    const struct imap_notify_parse_ops *ops, struct imap_notify_args *a)
{
	struct imap_str w;
	int rc;

	memset(a, 0, sizeof(*a));
	if (imap_parse_sp(ps) == -1 || imap_parse_atom(ps, &w) == -1)
		return -1;
	if (nfp_atom_is(&w, "NONE")) {
		a->none = true;
		rc = imap_parse_eol(ps);
	} else if (!nfp_atom_is(&w, "SET")) {
		ps->error = "Expected SET or NONE";
		rc = -1;
	} else
		rc = nfp_set(ps, ops, a);
	if (rc == -1)
		imap_notify_set_clear(&a->set);
	return rc;
}

void
imap_notify_set_clear(struct imap_notify_set *set)
{
	size_t i, j;

	for (i = 0; i < set->ngroups; i++) {
		for (j = 0; j < set->groups[i].nnames; j++)
			free(set->groups[i].names[j]);
		free(set->groups[i].names);
	}
	free(set->groups);
	free(set->fetch_att);
	memset(set, 0, sizeof(*set));
}
