/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_notify.c: the NOTIFY command and its notifications (RFC 5465;
 * see imap_cmd_notify.h).
 *
 * NOTIFY SET parses its event groups (RFC 5465 8, imap_notify_parse.c)
 * into a new state that replaces the session's only once the whole
 * command is valid: syntax and the rules of section 6.1 answer BAD, an
 * event this server does not report answers NO [BADEVENT (the ones it
 * does)], and neither changes what the session had.  The pairing rules
 * of section 5 (MessageNew with MessageExpunge, FlagChange with both) are
 * not enforced, as in Dovecot.
 * The events reported are MessageNew (with FETCH attributes for the
 * selected mailbox), MessageExpunge, FlagChange, MailboxName,
 * SubscriptionChange, MailboxMetadataChange and ServerMetadataChange (an
 * unsolicited METADATA response with the names of the entries set or
 * removed, RFC 5464 4.4.2); AnnotationChange (no per-message annotations
 * here) gets BADEVENT.
 *
 * Mailboxes other than the selected one: storaged tells the session which
 * mailbox changed (ACCOUNT_CHANGED), and the session sends a STATUS
 * (MESSAGES UIDNEXT UIDVALIDITY UNSEEN, and HIGHESTMODSEQ with FlagChange
 * or once CONDSTORE is on) when what the events asked for differs from
 * what the client was last shown: the message count, UIDNEXT or
 * UIDVALIDITY for MessageNew and MessageExpunge, UNSEEN or HIGHESTMODSEQ
 * for FlagChange (5.1).  Mailbox filters are evaluated when an event
 * comes, so SUBSCRIBED follows the subscriptions (6.4); INBOXES is
 * PERSONAL (6.3: every mailbox here can receive mail through a
 * subaddress).
 */
#include "imap_cmd_notify.h"
#include "imap_cmd.h"
#include "imap_fetch.h"
#include "imap_mbox.h"
#include "imap_notify_parse.h"
#include "imap_resp.h"
#include "imap_session.h"
#include "imap_view.h"
#include "imapd.h"
#include "acctwatch.h"
#include "conn.h"
#include "ipc.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What BADEVENT lists: every event this server reports (RFC 5465 3.1). */
#define NF_BADEVENT	"BADEVENT (MessageNew MessageExpunge FlagChange " \
			"MailboxName SubscriptionChange MailboxMetadataChange " \
			"ServerMetadataChange)"

/*
 * Events waiting for the session to be between commands; past either
 * bound, or with this much output unsent, notifications stop (RFC 5465
 * 5.8, NOTIFICATIONOVERFLOW) rather than grow without end.
 */
#define NF_PENDING_MAX	1024
#define NF_OUT_MAX	(1024 * 1024)

/* What the client was last shown of a mailbox (STATUS). */
struct nf_seen {
	uint32_t	 id;
	uint64_t	 messages, uidnext, uidvalidity, unseen, hms;
};

/* One MBOX_LIST_CHANGED waiting. */
struct nf_event {
	uint32_t	 event;		/* ACCTWATCH_EV_* */
	uint32_t	 mailbox_id;
	char		*name;		/* stored names */
	char		*oldname;
	bool		 subscribed;
	char		**entries;	/* metadata entry names */
	size_t		 nentries;
};

struct imap_notify {
	/* What NOTIFY SET asked for. */
	struct imap_notify_set set;
	uint32_t	 watch;		/* ACCOUNT_WATCH sent: ACCTWATCH_* */
	/* Waiting to be told. */
	uint32_t	*changed;	/* mailbox ids */
	size_t		 nchanged;
	struct nf_event	*events;
	size_t		 nevents;
	bool		 overflow;	/* NOTIFICATIONOVERFLOW to say */
	/* What STATUS last showed, per mailbox. */
	struct nf_seen	*seen;
	size_t		 nseen;
	/* Writing: the connection is paused. */
	bool		 busy;
	uint32_t	 list_id;	/* MBOX_LIST waiting */
	/*
	 * MessageNew's FETCH (RFC 5465 5.2): the selected mailbox's last UID
	 * that was told, or was there when it was first seen here.  A
	 * message the session learnt otherwise (the sync at the end of a
	 * command) is told between commands too.
	 */
	uint32_t	 told_mailbox, told_uidvalidity, told_uid;
	/* UIDs the session itself added there, not told (ascending). */
	uint32_t	*own;
	size_t		 nown;
	uint64_t	 sel_hms;	/* the view's modseq before the sync */
	/*
	 * The selected sync failed (storaged refused MBOX_SYNC): not tried
	 * again before the next change or command, or it would loop.
	 */
	bool		 sel_stalled;
};

/* The NOTIFY command's state while its mailbox list is asked. */
struct nf_cmd {
	struct imap_mbox_req	 req;
	bool			 status;	/* SET STATUS */
};

static void	nf_pipeline(struct imap_session *);

/* --- State --- */

static void
nf_events_clear(struct imap_notify *n)
{
	size_t i, j;

	for (i = 0; i < n->nevents; i++) {
		free(n->events[i].name);
		free(n->events[i].oldname);
		for (j = 0; j < n->events[i].nentries; j++)
			free(n->events[i].entries[j]);
		free(n->events[i].entries);
	}
	free(n->events);
	n->events = NULL;
	n->nevents = 0;
	free(n->changed);
	n->changed = NULL;
	n->nchanged = 0;
}

static void
nf_free(struct imap_notify *n)
{
	if (n == NULL)
		return;
	imap_notify_set_clear(&n->set);
	nf_events_clear(n);
	free(n->seen);
	free(n->own);
	free(n);
}

void
imap_notify_free(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	struct ipc_chan *store = imapd_store();

	if (n == NULL)
		return;
	if (store != NULL)
		ipc_cancel(store, n->list_id);
	s->notify = NULL;
	nf_free(n);
}

/* The ACCOUNT_WATCH events the groups of n need. */
static uint32_t
nf_watch_of(const struct imap_notify *n)
{
	uint32_t w = 0;
	size_t i;

	for (i = 0; i < n->set.ngroups; i++) {
		if (n->set.groups[i].events & IMAP_NE_MESSAGE)
			w |= ACCTWATCH_MESSAGES;
		if (n->set.groups[i].events & IMAP_NE_NAME)
			w |= ACCTWATCH_NAMES;
		if (n->set.groups[i].events & IMAP_NE_SUBSCRIBE)
			w |= ACCTWATCH_SUBSCRIPTIONS;
		if (n->set.groups[i].events & IMAP_NE_MBOXMETA)
			w |= ACCTWATCH_METADATA;
		if (n->set.groups[i].events & IMAP_NE_SRVMETA)
			w |= ACCTWATCH_SERVER_METADATA;
	}
	return w;
}

/* Tells storaged what s watches now (one-way). */
static void
nf_send_watch(struct imap_session *s, uint32_t events)
{
	struct ipc_ACCOUNT_WATCH_req m;
	struct ipc_chan *store;

	s->notify->watch = events;
	if ((store = imapd_store()) == NULL)
		return;		/* imap_notify_store_renewed() sends it */
	m.events = events;
	ipc_send(store, IPC_T_ACCOUNT_WATCH, conn_id(s->conn), &m, -1);
}

void
imap_notify_store_renewed(struct imap_session *s)
{
	if (s->notify != NULL && s->notify->watch != 0)
		nf_send_watch(s, s->notify->watch);
}

bool
imap_notify_sel_hidden(const struct imap_session *s)
{
	const struct imap_notify *n = s->notify;

	return n != NULL &&
	    (n->set.sel_events & (IMAP_NE_NEW | IMAP_NE_EXPUNGE)) == 0;
}

bool
imap_notify_sel_flags(const struct imap_session *s)
{
	const struct imap_notify *n = s->notify;

	return n == NULL || (n->set.sel_events & IMAP_NE_FLAGS) != 0;
}

/*
 * RFC 5465 5.8: too much to tell.  Forgets what waits and behaves as
 * after NOTIFY NONE; the untagged OK goes out at the next chance.
 */
static void
nf_overflow(struct imap_session *s)
{
	struct imap_notify *n = s->notify;

	imap_session_log(s, "notify overflow");
	nf_events_clear(n);
	imap_notify_set_clear(&n->set);
	n->overflow = true;
	if (n->watch != 0)
		nf_send_watch(s, 0);
}

/* --- Which groups a mailbox falls in --- */

/* Whether client name cname is name or lies below it. */
static bool
nf_in_subtree(const char *name, const char *cname)
{
	size_t len = strlen(name);

	return strncmp(cname, name, len) == 0 &&
	    (cname[len] == '\0' || cname[len] == IMAP_MBOX_DELIM);
}

static bool
nf_group_matches(const struct imap_notify_group *g, const char *cname,
    bool subscribed)
{
	size_t i;

	switch (g->filter) {
	case IMAP_NF_INBOXES:
	case IMAP_NF_PERSONAL:
		return true;
	case IMAP_NF_SUBSCRIBED:
		return subscribed;
	case IMAP_NF_SUBTREE:
		for (i = 0; i < g->nnames; i++)
			if (nf_in_subtree(g->names[i], cname))
				return true;
		return false;
	case IMAP_NF_MAILBOXES:
		for (i = 0; i < g->nnames; i++)
			if (strcmp(g->names[i], cname) == 0)
				return true;
		return false;
	}
	return false;
}

/* The events the groups of n ask for mailbox cname. */
static unsigned
nf_events_for(const struct imap_notify *n, const char *cname,
    bool subscribed)
{
	unsigned ev = 0;
	size_t i;

	for (i = 0; i < n->set.ngroups; i++)
		if (nf_group_matches(&n->set.groups[i], cname, subscribed))
			ev |= n->set.groups[i].events;
	return ev;
}

/* --- STATUS of other mailboxes (RFC 5465 5.1-5.3) --- */

static struct nf_seen *
nf_seen_find(struct imap_notify *n, uint32_t id)
{
	size_t i;

	for (i = 0; i < n->nseen; i++)
		if (n->seen[i].id == id)
			return &n->seen[i];
	return NULL;
}

static void
nf_seen_set(struct imap_notify *n, const struct imap_mbox *mb)
{
	struct nf_seen *e;

	if ((e = nf_seen_find(n, mb->id)) == NULL) {
		n->seen = xreallocarray(n->seen, n->nseen + 1,
		    sizeof(*n->seen));
		e = &n->seen[n->nseen++];
		e->id = mb->id;
	}
	e->messages = mb->total;
	e->uidnext = mb->uidnext;
	e->uidvalidity = mb->uidvalidity;
	e->unseen = mb->unread;
	e->hms = mb->highestmodseq;
}

static void
nf_seen_drop(struct imap_notify *n, uint32_t id)
{
	struct nf_seen *e;

	if ((e = nf_seen_find(n, id)) != NULL)
		*e = n->seen[--n->nseen];
}

static bool
nf_condstore(const struct imap_session *s)
{
	return (s->enabled & (IMAP_ENABLED_CONDSTORE |
	    IMAP_ENABLED_QRESYNC)) != 0;
}

/*
 * STATUS of mb.  HIGHESTMODSEQ goes with CONDSTORE enabled (5.2, 5.3) and
 * with FlagChange (events), which 3.1 and 5.1 tie to the server's support
 * of CONDSTORE: it is how a client learns of a change of other flags than
 * \Seen.
 */
static void
nf_write_status(struct imap_session *s, const struct imap_mbox *mb,
    unsigned events)
{
	imap_resp_untagged(s->out);
	imap_resp_token(s->out, "STATUS ");
	imap_mbox_name_write(s, s->out, mb->cname);
	buf_printf(s->out, " (MESSAGES %llu UIDNEXT %llu UIDVALIDITY %llu "
	    "UNSEEN %llu", (unsigned long long)mb->total,
	    (unsigned long long)mb->uidnext,
	    (unsigned long long)mb->uidvalidity,
	    (unsigned long long)mb->unread);
	if (nf_condstore(s) || (events & IMAP_NE_FLAGS))
		buf_printf(s->out, " HIGHESTMODSEQ %llu",
		    (unsigned long long)mb->highestmodseq);
	imap_resp_token(s->out, ")");
	imap_resp_crlf(s->out);
}

/* Mailbox mb changed: a STATUS if the client's events see a difference. */
static void
nf_status_changed(struct imap_session *s, const struct imap_mbox *mb)
{
	struct imap_notify *n = s->notify;
	const struct nf_seen *e;
	unsigned ev;
	bool count, flags;

	ev = nf_events_for(n, mb->cname, mb->subscribed);
	if ((ev & IMAP_NE_MESSAGE) == 0 ||
	    (s->view != NULL && s->view->mailbox_id == mb->id))
		return;
	e = nf_seen_find(n, mb->id);
	count = e == NULL || e->messages != mb->total ||
	    e->uidnext != mb->uidnext || e->uidvalidity != mb->uidvalidity;
	flags = e == NULL || e->unseen != mb->unread ||
	    e->uidvalidity != mb->uidvalidity || e->hms != mb->highestmodseq;
	if (((ev & (IMAP_NE_NEW | IMAP_NE_EXPUNGE)) && count) ||
	    ((ev & IMAP_NE_FLAGS) && flags)) {
		nf_write_status(s, mb, ev);
		nf_seen_set(n, mb);
	}
}

/* --- LIST of names (RFC 5465 5.4, 5.5) --- */

static void
nf_list_attr(struct buf *out, size_t *k, const char *attr)
{
	if ((*k)++ > 0)
		imap_resp_sp(out);
	imap_resp_token(out, attr);
}

/*
 * * LIST (attributes) "/" cname [("OLDNAME" (oldcname))]: mb is the
 * mailbox of that name, NULL if there is none (\NonExistent).
 */
static void
nf_write_list(struct imap_session *s, const struct imap_mbox *mb,
    const char *cname, bool subscribed, const char *oldcname)
{
	const char *use = mb != NULL ? imap_mbox_role_attr(mb->role) : NULL;
	size_t k = 0;

	imap_resp_untagged(s->out);
	imap_resp_token(s->out, "LIST (");
	if (mb != NULL)
		nf_list_attr(s->out, &k, mb->has_children ? "\\HasChildren" :
		    "\\HasNoChildren");
	else
		nf_list_attr(s->out, &k, "\\NonExistent");
	if (subscribed)
		nf_list_attr(s->out, &k, "\\Subscribed");
	if (use != NULL)
		nf_list_attr(s->out, &k, use);
	imap_resp_token(s->out, ") \"/\" ");
	imap_mbox_name_write(s, s->out, cname);
	if (oldcname != NULL) {
		imap_resp_token(s->out, " (\"OLDNAME\" (");
		imap_mbox_name_write(s, s->out, oldcname);
		imap_resp_token(s->out, "))");
	}
	imap_resp_crlf(s->out);
}

/* The parent of a created or deleted mailbox is affected too (5.4). */
static void
nf_list_parent(struct imap_session *s, const struct imap_mbox_list *l,
    const char *cname)
{
	const struct imap_mbox *pmb;
	const char *slash;
	char *parent;

	if ((slash = strrchr(cname, IMAP_MBOX_DELIM)) == NULL)
		return;
	parent = xstrndup(cname, (size_t)(slash - cname));
	if ((pmb = imap_mbox_find(l, parent)) != NULL &&
	    (nf_events_for(s->notify, parent, pmb->subscribed) & IMAP_NE_NAME))
		nf_write_list(s, pmb, parent, pmb->subscribed, NULL);
	free(parent);
}

/*
 * metadata-resp = "METADATA" SP mailbox SP entry-list (RFC 5464 4.4.2):
 * the names of the entries set or removed, cname "" for the server's.
 */
static void
nf_write_metadata(struct imap_session *s, const char *cname,
    const struct nf_event *e)
{
	size_t i;

	imap_resp_untagged(s->out);
	imap_resp_token(s->out, "METADATA ");
	if (cname[0] == '\0')
		imap_resp_astring(s->out, "", 0, 0);
	else
		imap_mbox_name_write(s, s->out, cname);
	for (i = 0; i < e->nentries; i++) {
		imap_resp_sp(s->out);
		imap_resp_astring(s->out, e->entries[i],
		    strlen(e->entries[i]), 0);
	}
	imap_resp_crlf(s->out);
}

/* Whether some group asks for ServerMetadataChange. */
static bool
nf_server_meta(const struct imap_notify *n)
{
	size_t i;

	for (i = 0; i < n->set.ngroups; i++)
		if (n->set.groups[i].events & IMAP_NE_SRVMETA)
			return true;
	return false;
}

static void
nf_list_event(struct imap_session *s, const struct imap_mbox_list *l,
    const struct nf_event *e)
{
	struct imap_notify *n = s->notify;
	const struct imap_mbox *mb;
	char *cname, *oldc = NULL;
	bool sub;

	if (e->event == ACCTWATCH_EV_METADATA && e->mailbox_id == 0) {
		if (nf_server_meta(n))
			nf_write_metadata(s, "", e);
		return;
	}
	if ((cname = imap_mbox_client_name_of(l, e->name)) == NULL)
		return;
	mb = imap_mbox_find(l, cname);
	sub = mb != NULL && mb->subscribed;
	switch (e->event) {
	case ACCTWATCH_EV_CREATE:
	case ACCTWATCH_EV_DELETE:
		if (e->event == ACCTWATCH_EV_DELETE)
			mb = NULL;
		if (nf_events_for(n, cname, sub) & IMAP_NE_NAME)
			nf_write_list(s, mb, cname, sub, NULL);
		nf_list_parent(s, l, cname);
		break;
	case ACCTWATCH_EV_RENAME:
		oldc = imap_mbox_client_name_of(l, e->oldname);
		if ((nf_events_for(n, cname, sub) & IMAP_NE_NAME) ||
		    (oldc != NULL &&
		    (nf_events_for(n, oldc, sub) & IMAP_NE_NAME)))
			nf_write_list(s, mb, cname, sub, oldc);
		break;
	case ACCTWATCH_EV_SUBSCRIBE:
		/* SUBSCRIBED covers a name both ways of the change. */
		if (nf_events_for(n, cname, true) & IMAP_NE_SUBSCRIBE)
			nf_write_list(s, mb, cname, e->subscribed, NULL);
		break;
	case ACCTWATCH_EV_METADATA:
		if (mb != NULL &&
		    (nf_events_for(n, cname, sub) & IMAP_NE_MBOXMETA))
			nf_write_metadata(s, cname, e);
		break;
	}
	free(cname);
	free(oldc);
}

/* --- Writing what waits --- */

/*
 * Whether the session may hear of something now: between commands, or in
 * IDLE (RFC 5465 3.1, 4), and not on its way out.
 */
static bool
nf_quiet(const struct imap_session *s)
{
	return (s->tag == NULL || s->idling) &&
	    (s->state & (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)) != 0 &&
	    !conn_is_closing(s->conn);
}

/* Whether the selected mailbox is to be caught up now (RFC 5465 6.1). */
static bool
nf_sel_due(const struct imap_session *s)
{
	const struct imap_notify *n = s->notify;

	return n->set.sel_set &&
	    (n->set.sel_events & (IMAP_NE_NEW | IMAP_NE_EXPUNGE)) &&
	    !n->sel_stalled && s->view != NULL && s->view->changed &&
	    s->view->sync_id == 0 && (!n->set.sel_delayed || s->idling);
}

/* The pipeline is done: reading commands goes on. */
static void
nf_end(struct imap_session *s)
{
	struct imap_notify *n = s->notify;

	n->busy = false;
	/* What came meanwhile goes out before the next command. */
	nf_pipeline(s);
	if (s->notify == NULL || !s->notify->busy)
		imap_session_wake(s);
}

static void
nf_fetched(struct imap_session *s)
{
	nf_end(s);
}

/*
 * Notes the selected mailbox's messages as told when the session first
 * sees it here (after SELECT or NOTIFY SET): only later ones are new.
 */
static void
nf_told_init(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	const struct imap_view *v = s->view;

	if (v == NULL || (n->told_mailbox == v->mailbox_id &&
	    n->told_uidvalidity == v->uidvalidity))
		return;
	n->told_mailbox = v->mailbox_id;
	n->told_uidvalidity = v->uidvalidity;
	n->told_uid = imap_view_last_uid(v);
}

void
imap_notify_view_new(struct imap_session *s)
{
	if (s->notify == NULL)
		return;
	s->notify->told_mailbox = 0;
	s->notify->nown = 0;
	nf_told_init(s);
}

static int
nf_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
imap_notify_own_new(struct imap_session *s, const uint8_t *uids, uint32_t n)
{
	struct imap_notify *nf = s->notify;
	uint32_t i;

	if (nf == NULL || n == 0)
		return;
	nf->own = xreallocarray(nf->own, nf->nown + n, sizeof(*nf->own));
	for (i = 0; i < n; i++)
		nf->own[nf->nown++] = imap_view_vec_get(uids, i);
	qsort(nf->own, nf->nown, sizeof(*nf->own), nf_uid_cmp);
}

/* Whether uid is one the session added itself. */
static bool
nf_own_has(struct imap_notify *n, uint32_t uid)
{
	return n->nown > 0 && bsearch(&uid, n->own, n->nown, sizeof(*n->own),
	    nf_uid_cmp) != NULL;
}

/* Whether the view holds new messages whose MessageNew FETCH is owed. */
static bool
nf_new_owed(const struct imap_session *s)
{
	const struct imap_notify *n = s->notify;

	return n->set.sel_set && (n->set.sel_events & IMAP_NE_NEW) &&
	    n->set.fetch_att != NULL && s->view != NULL &&
	    n->told_mailbox == s->view->mailbox_id &&
	    imap_view_last_uid(s->view) > n->told_uid;
}

/* MessageNew's FETCH for the new messages of the view (RFC 5465 5.2). */
static void
nf_fetch_new(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	struct imap_view *v = s->view;
	uint32_t *uids, k = 0, i, from;

	if (!nf_new_owed(s)) {
		nf_end(s);
		return;
	}
	from = n->told_uid;
	n->told_uid = imap_view_last_uid(v);
	uids = xreallocarray(NULL, v->n, sizeof(*uids));
	for (i = 0; i < v->n; i++)
		if (v->uids[i] > from && !nf_own_has(n, v->uids[i]))
			uids[k++] = v->uids[i];
	/* The own UIDs up to here are done with. */
	for (i = 0; i < n->nown && n->own[i] <= n->told_uid; i++)
		;
	if (i > 0) {
		memmove(n->own, n->own + i, (n->nown - i) * sizeof(*n->own));
		n->nown -= i;
	}
	if (k == 0) {
		free(uids);
		nf_end(s);
		return;
	}
	imap_fetch_notify(s, uids, k, n->set.fetch_att, nf_fetched);
	free(uids);
}

static void
nf_sel_synced(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	struct imap_view *v = s->view;

	/* Still changed and no further: the sync failed. */
	if (v != NULL && v->changed && v->highestmodseq == n->sel_hms)
		n->sel_stalled = true;
	nf_fetch_new(s);
}

static void
nf_sync_selected(struct imap_session *s)
{
	struct imap_notify *n = s->notify;

	if (!nf_sel_due(s)) {
		nf_fetch_new(s);
		return;
	}
	n->sel_hms = s->view->highestmodseq;
	(void)imap_view_sync(s, false, nf_sel_synced);
}

static void
nf_list_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	struct imap_session *s = arg;
	struct imap_notify *n = s->notify;
	struct imap_mbox_list l;
	const struct imap_mbox *mb;
	size_t i;

	(void)c;
	n->list_id = 0;
	if (st != IPC_S_OK || imap_mbox_list_init(&l, rep) == -1) {
		imap_session_debug(s, "notify: mailbox list: %s: %s",
		    ipc_status_name(st), text != NULL ? text : "");
		nf_events_clear(n);
		nf_sync_selected(s);
		return;
	}
	for (i = 0; i < n->nchanged; i++) {
		if ((mb = imap_mbox_find_id(&l, n->changed[i])) == NULL)
			nf_seen_drop(n, n->changed[i]);
		else
			nf_status_changed(s, mb);
	}
	for (i = 0; i < n->nevents; i++)
		nf_list_event(s, &l, &n->events[i]);
	imap_mbox_list_clear(&l);
	nf_events_clear(n);
	nf_sync_selected(s);
}

static void
nf_pipeline(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	struct ipc_chan *store = NULL;
	bool other, sel;
	uint32_t id;

	/* Without storaged nothing can be told; it waits for the next. */
	if (n == NULL || n->busy || !nf_quiet(s) || imapd_store() == NULL)
		return;
	if (!n->overflow && s->out->len > NF_OUT_MAX &&
	    (n->nchanged > 0 || n->nevents > 0))
		nf_overflow(s);	/* the client does not read */
	if (n->overflow) {
		n->overflow = false;
		imap_resp_status(s->out, NULL, "OK", "NOTIFICATIONOVERFLOW",
		    "Too many notifications, NOTIFY is off");
		conn_flush(s->conn);
	}
	other = (n->nchanged > 0 || n->nevents > 0) &&
	    (store = imapd_store()) != NULL;
	nf_told_init(s);
	sel = nf_sel_due(s) || nf_new_owed(s);
	if (!other && !sel)
		return;
	n->busy = true;
	conn_pause(s->conn);
	if (!other) {
		nf_sync_selected(s);
		return;
	}
	id = ipc_request(store, IPC_T_MBOX_LIST, conn_id(s->conn), NULL,
	    nf_list_cb, s);
	/* 0: the channel is closed and nf_list_cb has run already. */
	if (id != 0)
		n->list_id = id;
}

void
imap_notify_kick(struct imap_session *s)
{
	if (s->notify != NULL && !s->notify->busy)
		s->notify->sel_stalled = false;
	nf_pipeline(s);
}

/* --- Events from storaged --- */

void
imap_notify_account_changed(struct imap_session *s, uint32_t mailbox_id)
{
	struct imap_notify *n = s->notify;
	size_t i;

	if (n == NULL || (n->watch & ACCTWATCH_MESSAGES) == 0)
		return;
	for (i = 0; i < n->nchanged; i++)
		if (n->changed[i] == mailbox_id)
			break;
	if (i == n->nchanged) {
		if (n->nchanged == NF_PENDING_MAX) {
			nf_overflow(s);
			nf_pipeline(s);
			return;
		}
		n->changed = xreallocarray(n->changed, n->nchanged + 1,
		    sizeof(*n->changed));
		n->changed[n->nchanged++] = mailbox_id;
	}
	nf_pipeline(s);
}

void
imap_notify_list_changed(struct imap_session *s,
    const struct ipc_MBOX_LIST_CHANGED_req *m)
{
	struct imap_notify *n = s->notify;
	struct nf_event *e;

	struct wire_iter it;
	const char *en;

	if (n == NULL || (n->watch & (ACCTWATCH_NAMES |
	    ACCTWATCH_SUBSCRIPTIONS | ACCTWATCH_METADATA |
	    ACCTWATCH_SERVER_METADATA)) == 0)
		return;
	if (n->nevents == NF_PENDING_MAX) {
		nf_overflow(s);
		nf_pipeline(s);
		return;
	}
	n->events = xreallocarray(n->events, n->nevents + 1,
	    sizeof(*n->events));
	e = &n->events[n->nevents++];
	memset(e, 0, sizeof(*e));
	e->event = m->event;
	e->mailbox_id = m->mailbox_id;
	e->name = xstrdup(m->name);
	e->oldname = xstrdup(m->oldname);
	e->subscribed = m->subscribed;
	if (m->entries.count > 0) {
		e->entries = xreallocarray(NULL, m->entries.count,
		    sizeof(*e->entries));
		wire_strlist_iter(&m->entries, &it);
		while ((en = wire_strlist_next(&it)) != NULL &&
		    e->nentries < m->entries.count)
			e->entries[e->nentries++] = xstrdup(en);
	}
	nf_pipeline(s);
}

bool
imap_notify_selected_changed(struct imap_session *s)
{
	if (s->notify == NULL)
		return false;
	if (!s->notify->busy)
		s->notify->sel_stalled = false;
	nf_pipeline(s);
	return true;
}

/* --- The NOTIFY command: answering --- */

static void
nf_cmd_free(void *arg)
{
	free(arg);
}

/* Ends NOTIFY SET: an implicit NOOP (RFC 5465 3.1), then OK. */
static void
nf_cmd_finish(struct imap_session *s)
{
	imap_view_reply_synced(s, "OK", NULL, "NOTIFY completed");
}

/* The mailbox list: what the client is shown from now on; SET STATUS. */
static void
nf_cmd_list_cb(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg)
{
	struct nf_cmd *x = arg;
	struct imap_notify *n = s->notify;
	const struct imap_mbox *m;
	bool status = x->status;
	unsigned ev;
	size_t i;

	(void)mb;
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	nf_cmd_free(x);
	if (st != IPC_S_OK) {
		/* Not shown: the first change of each gets its STATUS. */
		imap_session_debug(s, "notify: mailbox list: %s",
		    ipc_status_name(st));
		nf_cmd_finish(s);
		return;
	}
	for (i = 0; i < l->n; i++) {
		m = &l->v[i];
		nf_seen_set(n, m);
		/* RFC 5465 3.1: for each other mailbox with message events. */
		ev = nf_events_for(n, m->cname, m->subscribed);
		if (status && (s->view == NULL ||
		    s->view->mailbox_id != m->id) && (ev & IMAP_NE_MESSAGE))
			nf_write_status(s, m, ev);
	}
	nf_cmd_finish(s);
}

/* The session's side of the parse: imap_notify_parse_ops. */
static char *
nf_name_decode(void *arg, const void *p, size_t len)
{
	const char *why;

	return imap_mbox_name_decode(arg, p, len, false, &why);
}

static int
nf_fetch_check(void *arg, const char *att, const char **why)
{
	(void)arg;
	return imap_fetch_check(att, why);
}

enum imap_cmd_result
imap_cmd_notify(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_notify_parse_ops ops;
	struct imap_notify_args na;
	struct imap_notify *n;
	struct nf_cmd *x;
	uint32_t old_watch;

	ops.name_decode = nf_name_decode;
	ops.fetch_check = nf_fetch_check;
	ops.arg = s;
	if (imap_notify_parse(ps, &ops, &na) == -1)
		return imap_cmd_bad(s, ps);
	if (na.bad != NULL) {
		imap_notify_set_clear(&na.set);
		imap_session_reply(s, "BAD", NULL, na.bad);
		return IMAP_CMD_DONE;
	}
	if (na.badevent) {
		imap_notify_set_clear(&na.set);
		imap_session_reply(s, "NO", NF_BADEVENT, "Unsupported event");
		return IMAP_CMD_DONE;
	}
	n = xcalloc(1, sizeof(*n));
	n->set = na.set;
	old_watch = s->notify != NULL ? s->notify->watch : 0;
	imap_notify_free(s);
	s->notify = n;
	nf_told_init(s);	/* what the view holds now is not new */
	if (nf_watch_of(n) != 0 || old_watch != 0)
		nf_send_watch(s, nf_watch_of(n));
	if (na.none) {
		imap_session_reply(s, "OK", NULL, "NOTIFY completed");
		return IMAP_CMD_DONE;
	}
	if ((s->notify->watch & ACCTWATCH_MESSAGES) == 0) {
		nf_cmd_finish(s);
		return IMAP_CMD_WAIT;
	}
	x = xcalloc(1, sizeof(*x));
	x->status = na.status;
	s->cmd_ctx = x;
	s->cmd_ctx_free = nf_cmd_free;
	(void)imap_mbox_lookup(s, &x->req, NULL, nf_cmd_list_cb, x);
	return IMAP_CMD_WAIT;
}
