/* SPDX-License-Identifier: ISC */
/*
 * http_push.h: JMAP push (RFC 8620 7) to a connection: the event source
 * resource (7.3, "text/event-stream") and push over a WebSocket (RFC 8887
 * 4.3.5).  A pushing connection asks storaged to hear of its account's
 * changes (ACCOUNT_WATCH) and sends a StateChange (7.1) when one comes.
 *
 * Every type's state is the account's modification sequence (jmap_int.h),
 * so one change moves the states of all the types asked: Mailbox, Email
 * and Thread.  EmailDelivery (RFC 8621 1.5) is the modseq of the last
 * delivery by LMTP (ACCOUNT_DELIVERED): it moves only when new mail
 * arrives, so that a client may tell its user.  On every notification
 * (ACCOUNT_CHANGED, ACCOUNT_DELIVERED, MBOX_LIST_CHANGED) the account's
 * state is read with MBOX_LIST, one read at a time.  The event id after
 * a state event, and the pushState of RFC 8887, is that state: a client
 * that reconnects with it (Last-Event-ID, pushState) gets a StateChange
 * at once if the account moved meanwhile.
 */
#ifndef BULWARK_HTTP_PUSH_H
#define BULWARK_HTTP_PUSH_H

#include <stdbool.h>
#include <stdint.h>

struct event;
struct http_session;
struct ipc_chan;
struct json;


/* The event source's ping interval is kept within these (7.3). */
#define PUSH_PING_MIN	1
#define PUSH_PING_MAX	3600

struct http_push {
	bool		 on;		/* watching the account */
	bool		 es;		/* event source, else WebSocket */
	uint32_t	 types;		/* PUSHTYPE_* asked; may be 0 */
	uint32_t	 changed;	/* PUSHTYPE_* changed, not told yet */
	uint32_t	 asked;		/* those the pending MBOX_LIST is for */
	bool		 close_after;	/* closeafter=state */
	int		 ping;		/* seconds; 0: no pings */
	struct event	*ping_ev;
	uint64_t	 state;		/* the last state sent or known */
	bool		 have_state;
	uint64_t	 delivery;	/* EmailDelivery's state */
	bool		 delivered;	/* a delivery not told yet */
	uint64_t	 client_state;	/* Last-Event-ID or pushState */
	bool		 have_client_state;
	struct ipc_chan	*req_chan;	/* MBOX_LIST pending on it */
	uint32_t	 req;
	bool		 again;		/* another change came meanwhile */
};

/* GET of the event source resource, after authentication. */
void	http_push_eventsource(struct http_session *s);
/* A WebSocketPushEnable or WebSocketPushDisable object (borrowed). */
void	http_push_ws(struct http_session *s, const struct json *msg);
/* storaged: messages of the account changed, up to modseq. */
void	http_push_changed(struct http_session *s, uint64_t modseq);
/* storaged: a message was delivered; the account is at modseq. */
void	http_push_delivered(struct http_session *s, uint64_t modseq);
/* storaged: the mailbox list or a subscription changed. */
void	http_push_names(struct http_session *s);
/* storaged: objects of types (PUSHTYPE_*, lib/pushtypes.h) changed. */
void	http_push_types(struct http_session *s, uint32_t types);
/* Stops pushing (the connection ends, or storaged was renewed). */
void	http_push_stop(struct http_session *s);

#endif
