/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_notify.h: the NOTIFY extension (RFC 5465): the NOTIFY command
 * (imap_cmd.h declares its handler) and the notifications it asks for.
 *
 * What a session asked for lives in s->notify (NULL until the first
 * NOTIFY).  Events reach it from storaged (MBOX_CHANGED for the selected
 * mailbox, ACCOUNT_CHANGED and MBOX_LIST_CHANGED for the rest of the
 * account, which ACCOUNT_WATCH turns on) and wait, as a set of mailbox ids
 * and a queue of name events, until the session is between commands or in
 * IDLE (RFC 5465 3.1, 4).  Then imap_notify_kick() pauses the connection,
 * asks storaged for the mailbox list once, writes STATUS (RFC 5465 5.1-5.3)
 * and LIST (5.4, 5.5) responses, catches the selected mailbox up when
 * SELECTED asked for it (EXISTS, EXPUNGE or VANISHED, FETCH FLAGS, and the
 * FETCH of MessageNew's attributes, 5.2), and wakes the connection again.
 */
#ifndef BULWARK_IMAP_CMD_NOTIFY_H
#define BULWARK_IMAP_CMD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "ipc_msg.h"

struct imap_session;

/* Forgets what NOTIFY asked (and cancels its request); s->notify NULL. */
void	imap_notify_free(struct imap_session *s);
/*
 * The session is (maybe) between commands or in IDLE: writes what waits,
 * if anything; may pause the connection and wake it when done.
 */
void	imap_notify_kick(struct imap_session *s);
/* storaged: ACCOUNT_CHANGED, MBOX_LIST_CHANGED for session s. */
void	imap_notify_account_changed(struct imap_session *s,
	    uint32_t mailbox_id);
void	imap_notify_list_changed(struct imap_session *s,
	    const struct ipc_MBOX_LIST_CHANGED_req *m);
/*
 * The selected mailbox changed (MBOX_CHANGED).  Returns false if NOTIFY
 * is not in effect (the caller does what it did before), else true.
 */
bool	imap_notify_selected_changed(struct imap_session *s);
/* A new storaged: tells it again what the session watches. */
void	imap_notify_store_renewed(struct imap_session *s);
/*
 * SELECT or EXAMINE has its new view whole: its messages are not new to
 * MessageNew.
 */
void	imap_notify_view_new(struct imap_session *s);
/*
 * The session's own APPEND, COPY or MOVE put the n UIDs (a uid vector of
 * imap_view.h) into the selected mailbox: no MessageNew FETCH for them
 * (RFC 5465 5.2).
 */
void	imap_notify_own_new(struct imap_session *s, const uint8_t *uids,
	    uint32_t n);

/*
 * For the view (imap_view.c): whether the client asked not to hear of
 * messages added to and expunged from the selected mailbox (NOTIFY
 * without SELECTED, or SELECTED NONE, or NOTIFY NONE: RFC 5465 3.1), and
 * whether it hears of their flag changes (FlagChange).  Without NOTIFY:
 * false and true.
 */
bool	imap_notify_sel_hidden(const struct imap_session *s);
bool	imap_notify_sel_flags(const struct imap_session *s);

#endif
