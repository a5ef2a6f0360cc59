/* SPDX-License-Identifier: ISC */
/*
 * notify.c: MBOX_CHANGED to the sessions that selected a changed mailbox,
 * ACCOUNT_CHANGED and MBOX_LIST_CHANGED to those that watch their account
 * (see notify.h).  A walk over every worker channel's session table: the
 * tables are small hashes of at most SESSION_MAX, and writes that notify
 * are far rarer than reads.  An index from (account, mailbox) to sessions
 * is the step up if that ever shows in a profile.
 *
 * A caller that does not know the mailbox's new HIGHESTMODSEQ (a delivery,
 * whose reply carries the email's modseq only) passes modseq 0, and the
 * mailbox record is read here, once, only if some session looks at it.
 */
#include "notify.h"
#include "acctwatch.h"
#include "log.h"
#include "mail_api.h"
#include "mailbox.h"
#include "session.h"

#include <string.h>

/* The mailbox's HIGHESTMODSEQ now, or 0 if it cannot be read. */
static uint64_t
notify_hms(struct storaged *sd, uint64_t account_id, uint32_t mailbox_id)
{
	struct store_error err;
	struct mailbox_rec mb;
	MDB_txn *txn;
	uint64_t hms = 0;

	if (db_begin(&sd->db, false, &txn, &err) != IPC_S_OK)
		return 0;
	if (mailbox_get(&sd->db, txn, account_id, mailbox_id, &mb, &err) ==
	    IPC_S_OK)
		hms = mb.highestmodseq;
	db_abort(&txn);
	return hms;
}

void
notify_mailbox(struct storaged *sd, uint64_t account_id, uint32_t mailbox_id,
    uint64_t modseq, const struct notify_origin *origin)
{
	struct ipc_MBOX_CHANGED_req msg;
	struct session *s;
	struct wchan *w;
	size_t i, n = 0;

	if (account_id == 0 || mailbox_id == 0)
		return;
	/* JMAP PushSubscription (RFC 8620 7.2) hears of it too. */
	mail_pushsub_changed(sd, account_id, 0);
	msg.mailbox_id = mailbox_id;
	msg.modseq = modseq;
	TAILQ_FOREACH(w, &sd->workers, entry) {
		if (w->sessions.slot == NULL)
			continue;
		for (i = 0; i <= w->sessions.mask; i++) {
			s = w->sessions.slot[i];
			if (s == NULL || s->account_id != account_id ||
			    (s->selected != mailbox_id &&
			    (s->watch & ACCTWATCH_MESSAGES) == 0))
				continue;
			/* Its own change elsewhere: not told (RFC 5465 5). */
			if (s->selected != mailbox_id && origin != NULL &&
			    origin->chan_serial == w->serial &&
			    origin->session == s->id)
				continue;
			if (msg.modseq == 0 && (msg.modseq = notify_hms(sd,
			    account_id, mailbox_id)) == 0)
				return;
			/* Same fields: one encoder fits both types. */
			ipc_send(w->chan, s->selected == mailbox_id ?
			    IPC_T_MBOX_CHANGED : IPC_T_ACCOUNT_CHANGED, s->id,
			    &msg, -1);
			n++;
		}
	}
	if (n > 0)
		log_trace(LOG_TRACE_STORE, "notify account=%llu mailbox=%u "
		    "modseq=%llu sessions=%zu",
		    (unsigned long long)account_id, mailbox_id,
		    (unsigned long long)msg.modseq, n);
}

/* Sends msg of type to every session of account_id that watches watch. */
static void
notify_watchers(struct storaged *sd, uint64_t account_id, uint32_t watch,
    uint16_t type, const void *msg)
{
	struct session *s;
	struct wchan *w;
	size_t i;

	TAILQ_FOREACH(w, &sd->workers, entry) {
		if (w->sessions.slot == NULL)
			continue;
		for (i = 0; i <= w->sessions.mask; i++) {
			s = w->sessions.slot[i];
			if (s != NULL && s->account_id == account_id &&
			    (s->watch & watch) != 0)
				ipc_send(w->chan, type, s->id, msg, -1);
		}
	}
}

void
notify_types(struct storaged *sd, uint64_t account_id, uint32_t types,
    uint64_t modseq)
{
	struct ipc_ACCOUNT_TYPES_CHANGED_req msg;

	if (account_id == 0)
		return;
	mail_pushsub_changed(sd, account_id, 0);
	msg.types = types;
	msg.modseq = modseq;
	notify_watchers(sd, account_id, ACCTWATCH_TYPES,
	    IPC_T_ACCOUNT_TYPES_CHANGED, &msg);
}

void
notify_delivered(struct storaged *sd, uint64_t account_id,
    uint32_t mailbox_id, uint64_t modseq)
{
	struct ipc_ACCOUNT_DELIVERED_req msg;

	mail_pushsub_changed(sd, account_id, modseq);
	msg.mailbox_id = mailbox_id;
	msg.modseq = modseq;
	notify_watchers(sd, account_id, ACCTWATCH_DELIVERY,
	    IPC_T_ACCOUNT_DELIVERED, &msg);
}

void
notify_list_changed(struct storaged *sd, uint64_t account_id,
    const struct notify_origin *origin, uint32_t event, uint32_t mailbox_id,
    const char *name, const char *oldname, bool subscribed,
    const struct strvec *entries)
{
	struct ipc_MBOX_LIST_CHANGED_req msg;
	struct buf eb = BUF_INIT;
	struct session *s;
	struct wchan *w;
	uint32_t need;
	size_t i, n = 0;

	if (account_id == 0)
		return;
	mail_pushsub_changed(sd, account_id, 0);
	switch (event) {
	case ACCTWATCH_EV_SUBSCRIBE:
		need = ACCTWATCH_SUBSCRIPTIONS;
		break;
	case ACCTWATCH_EV_METADATA:
		need = mailbox_id != 0 ? ACCTWATCH_METADATA :
		    ACCTWATCH_SERVER_METADATA;
		break;
	default:
		need = ACCTWATCH_NAMES;
		break;
	}
	if (entries != NULL)
		strvec_to_wire(entries, &eb, &msg.entries);
	else
		memset(&msg.entries, 0, sizeof(msg.entries));
	msg.event = event;
	msg.mailbox_id = mailbox_id;
	msg.name = name;
	msg.oldname = oldname != NULL ? oldname : "";
	msg.subscribed = subscribed;
	TAILQ_FOREACH(w, &sd->workers, entry) {
		if (w->sessions.slot == NULL)
			continue;
		for (i = 0; i <= w->sessions.mask; i++) {
			s = w->sessions.slot[i];
			if (s == NULL || s->account_id != account_id ||
			    (s->watch & need) == 0)
				continue;
			if (origin != NULL && origin->chan_serial ==
			    w->serial && origin->session == s->id)
				continue;
			ipc_send(w->chan, IPC_T_MBOX_LIST_CHANGED, s->id, &msg,
			    -1);
			n++;
		}
	}
	buf_clear(&eb);
	if (n > 0)
		log_trace(LOG_TRACE_STORE, "notify account=%llu list event=%u "
		    "mailbox=%u sessions=%zu", (unsigned long long)account_id,
		    event, mailbox_id, n);
}

size_t
notify_relay_wake(struct storaged *sd)
{
	struct wchan *w;
	size_t n = 0;

	/* A channel, not a session, is woken: session 0. */
	TAILQ_FOREACH(w, &sd->workers, entry)
		if (strcmp(w->name, "lmtpd") == 0) {
			ipc_send(w->chan, IPC_T_RELAY_WAKE, 0, NULL, -1);
			n++;
		}
	if (n > 0)
		log_trace(LOG_TRACE_STORE, "relay wake channels=%zu", n);
	return n;
}

void
notify_account_watch(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	const struct ipc_ACCOUNT_WATCH_req *m = msg;
	struct wchan *w = arg;
	struct session *s;

	(void)c;
	/* One-way: no reply; a session not bound watches nothing. */
	if ((s = session_find(&w->sessions, f->session)) == NULL ||
	    s->account_id == 0)
		return;
	s->watch = m->events & ACCTWATCH_ALL;
}
