/* SPDX-License-Identifier: ISC */
/*
 * http_push.c: JMAP push to event-source and WebSocket connections (see
 * http_push.h).
 */
#include "http_push.h"
#include "http_session.h"
#include "ipc.h"
#include "jmap_int.h"
#include "jmapd.h"
#include "acctwatch.h"
#include "conn.h"
#include "json.h"
#include "log.h"
#include "pushtypes.h"
#include "worker.h"

#include <event2/event.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What a change to the messages of a mailbox may change. */
#define PUSH_MAIL	(PUSHTYPE_MAILBOX | PUSHTYPE_EMAIL | PUSHTYPE_THREAD)

/* Re-arms the ping timer: pings come after `ping` seconds of silence. */
static void
push_ping_arm(struct http_session *s)
{
	struct http_push *p = &s->push;
	struct timeval tv = { p->ping, 0 };

	if (p->ping_ev != NULL)
		evtimer_add(p->ping_ev, &tv);
}

static void
push_ping_cb(int fd, short what, void *arg)
{
	struct http_session *s = arg;
	char line[96];
	int n;

	(void)fd;
	(void)what;
	if (conn_is_closing(s->conn))
		return;
	/* 7.3: a ping sets no event id. */
	n = snprintf(line, sizeof(line), "event: ping\ndata: "
	    "{\"interval\":%d}\n\n", s->push.ping);
	buf_append(s->out, line, (size_t)n);
	conn_flush(s->conn);
	push_ping_arm(s);
}

/* The StateChange object (RFC 8620 7.1) for state and the types listed. */
static void
push_state_change(const struct http_session *s, uint64_t state,
    uint32_t listed, struct buf *out)
{
	struct json_out o;
	char acct[OBJID_MAX], st[24], dst[24];
	size_t i;

	objid_format(acct, OBJID_ACCOUNT, s->account_id);
	jmap_state_format(st, state);
	json_out_init(&o, out);
	json_out_begin_object(&o);
	json_out_key(&o, "@type");
	json_out_strz(&o, "StateChange");
	json_out_key(&o, "changed");
	json_out_begin_object(&o);
	json_out_key(&o, acct);
	json_out_begin_object(&o);
	for (i = 0; i < PUSHTYPES_N; i++) {
		if ((listed & pushtypes[i].bit) == 0)
			continue;
		json_out_key(&o, pushtypes[i].name);
		if (pushtypes[i].bit == PUSHTYPE_DELIVERY) {
			jmap_state_format(dst, s->push.delivery);
			json_out_strz(&o, dst);
		} else
			json_out_strz(&o, st);
	}
	json_out_end_object(&o);
	json_out_end_object(&o);
	/* RFC 8887 4.3.5.1 */
	if (!s->push.es) {
		json_out_key(&o, "pushState");
		json_out_strz(&o, st);
	}
	json_out_end_object(&o);
}

static void	push_emit(struct http_session *, uint64_t, uint32_t);

/*
 * The account is at state after changes to objects of the types changed
 * (PUSHTYPE_*): tell the client if that is news.  A StateChange lists
 * the types asked for that changed (7.1), EmailDelivery only after a
 * delivery; every type shares the account's one state.
 */
static void
push_state(struct http_session *s, uint64_t state, uint32_t changed)
{
	struct http_push *p = &s->push;
	uint32_t listed;
	bool news;

	if (!p->on || conn_is_closing(s->conn))
		return;
	news = !p->have_state || state > p->state;
	if (news) {
		p->state = state;
		p->have_state = true;
	}
	listed = news ? changed & p->types & ~PUSHTYPE_DELIVERY : 0;
	if (p->delivered || (news && (changed & PUSHTYPE_DELIVERY) != 0))
		listed |= p->types & PUSHTYPE_DELIVERY;
	if (listed != 0)
		push_emit(s, p->state, listed);
	p->delivered = false;
}

/* Sends a StateChange at state (or event) for the types listed. */
static void
push_emit(struct http_session *s, uint64_t state, uint32_t listed)
{
	struct http_push *p = &s->push;
	struct buf b = BUF_INIT;
	char id[24];

	if (p->types == 0)
		return;
	push_state_change(s, state, listed, &b);
	if (p->es) {
		jmap_state_format(id, state);
		buf_printf(s->out, "event: state\nid: %s\ndata: ", id);
		buf_append(s->out, b.data, b.len);
		buf_append(s->out, "\n\n", 2);
		conn_flush(s->conn);
		if (p->close_after) {
			conn_close(s->conn, "event source closeafter");
			buf_clear(&b);
			return;
		}
		push_ping_arm(s);
	} else
		http_session_ws_send(s, b.data, b.len);
	buf_clear(&b);
}

static void	push_ask_state(struct http_session *s);

static void
push_list_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MBOX_LIST_rep *r = rep;
	struct http_session *s = arg;
	struct http_push *p = &s->push;
	uint32_t changed = p->asked;

	(void)c;
	p->req = 0;
	p->req_chan = NULL;
	p->asked = 0;
	if (st != IPC_S_OK) {
		if (st != IPC_S_UNAVAIL)
			http_session_log(s, "push state failed: %s",
			    text != NULL ? text : "error");
		return;
	}
	if (p->have_state)
		push_state(s, r->state, changed);
	else if (p->have_client_state && r->state != p->client_state) {
		/*
		 * The first state: a client that says where it was gets the
		 * changes it missed at once (7.3, RFC 8887 4.3.5.2); one
		 * from the future (a restored store) is news as well.  What
		 * changed meanwhile is not known: every type is listed.
		 */
		p->state = p->client_state < r->state ? p->client_state : 0;
		p->have_state = true;
		push_state(s, r->state, PUSHTYPE_KNOWN);
	} else {
		p->state = r->state;
		p->have_state = true;
	}
	if (p->delivery == 0)
		p->delivery = p->state;
	if (p->again) {
		p->again = false;
		push_ask_state(s);
	}
}

/* Reads the account's state; one request at a time. */
static void
push_ask_state(struct http_session *s)
{
	struct http_push *p = &s->push;
	struct ipc_chan *store;

	if (p->req != 0) {
		p->again = true;
		return;
	}
	if ((store = worker_store()) == NULL)
		return;
	/* The changes heard so far are those this read is for. */
	p->asked |= p->changed;
	p->changed = 0;
	p->req_chan = store;
	p->req = ipc_request(store, IPC_T_MBOX_LIST, conn_id(s->conn), NULL,
	    push_list_cb, s);
	if (p->req == 0)
		p->req_chan = NULL;
}

/* Starts watching the account. */
static void
push_start(struct http_session *s)
{
	struct ipc_ACCOUNT_WATCH_req w;
	struct ipc_chan *store;

	if (s->push.on)
		return;
	if ((store = worker_store()) == NULL)
		return;
	s->push.on = true;
	memset(&w, 0, sizeof(w));
	w.events = ACCTWATCH_MESSAGES | ACCTWATCH_NAMES |
	    ACCTWATCH_SUBSCRIPTIONS | ACCTWATCH_DELIVERY | ACCTWATCH_TYPES;
	ipc_send(store, IPC_T_ACCOUNT_WATCH, conn_id(s->conn), &w, -1);
	push_ask_state(s);
}

/* "Mailbox,Email" or "*" (7.3); false if a name is not a type at all. */
static uint32_t
push_types_parse(const char *v)
{
	uint32_t bits = 0;
	const char *e;
	size_t i, n;

	if (strcmp(v, "*") == 0)
		return PUSHTYPE_KNOWN;
	while (*v != '\0') {
		e = strchr(v, ',');
		n = e != NULL ? (size_t)(e - v) : strlen(v);
		/* Types of capabilities this server lacks get nothing. */
		for (i = 0; i < PUSHTYPES_N; i++)
			if (strlen(pushtypes[i].name) == n &&
			    strncmp(pushtypes[i].name, v, n) == 0)
				bits |= pushtypes[i].bit;
		v += n;
		if (*v == ',')
			v++;
	}
	return bits;
}

void
http_push_eventsource(struct http_session *s)
{
	const struct http_request *req = http_session_request(s);
	struct http_push *p = &s->push;
	const char *last;
	char types[256], after[16], ping[16];
	long secs;
	char *end;

	if (http_query_get(req, "types", types, sizeof(types)) != 1 ||
	    http_query_get(req, "closeafter", after, sizeof(after)) != 1 ||
	    http_query_get(req, "ping", ping, sizeof(ping)) != 1) {
		http_session_problem(s, 400, NULL, "The event source needs "
		    "types, closeafter and ping (RFC 8620 7.3)");
		return;
	}
	secs = strtol(ping, &end, 10);
	if (end == ping || *end != '\0' || secs < 0 ||
	    (strcmp(after, "state") != 0 && strcmp(after, "no") != 0)) {
		http_session_problem(s, 400, NULL, "closeafter must be state "
		    "or no, and ping a number of seconds");
		return;
	}
	memset(p, 0, sizeof(*p));
	p->es = true;
	p->types = push_types_parse(types);
	p->close_after = strcmp(after, "state") == 0;
	p->ping = secs == 0 ? 0 : secs < PUSH_PING_MIN ? PUSH_PING_MIN :
	    secs > PUSH_PING_MAX ? PUSH_PING_MAX : (int)secs;
	if ((last = http_header_get(req, "last-event-id")) != NULL &&
	    jmap_state_parse(last, &p->client_state))
		p->have_client_state = true;
	/*
	 * The response has no length: it ends when the connection does
	 * (RFC 9112 6.3), which suits a stream a proxy must not buffer.
	 */
	http_session_stream_begin(s, "text/event-stream",
	    "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n");
	if (p->ping > 0) {
		p->ping_ev = evtimer_new(worker_base(), push_ping_cb, s);
		push_ping_arm(s);
	}
	push_start(s);
}

void
http_push_ws(struct http_session *s, const struct json *msg)
{
	struct http_push *p = &s->push;
	const struct json *types, *ps;
	const char *t;
	uint64_t st;
	size_t i;

	if (strcmp(json_str(json_get(msg, "@type"), NULL),
	    "WebSocketPushDisable") == 0) {
		/* 4.3.5.3: no more StateChange; the watch stays, muted. */
		p->types = 0;
		return;
	}
	p->es = false;
	p->types = PUSHTYPE_KNOWN;
	/* 4.3.5.2: dataTypes null is every type. */
	if ((types = json_get(msg, "dataTypes")) != NULL &&
	    json_type(types) == JSON_ARRAY) {
		p->types = 0;
		for (i = 0; i < json_len(types); i++) {
			if ((t = json_str(json_at(types, i), NULL)) == NULL)
				continue;
			p->types |= pushtype_bit(t);
		}
	}
	if (p->on) {
		/* Enabled again: a state the client gives is compared. */
		if ((ps = json_get(msg, "pushState")) != NULL &&
		    jmap_state_parse(json_str(ps, NULL), &st) &&
		    p->have_state && st != p->state) {
			p->have_state = false;
			p->client_state = st;
			p->have_client_state = true;
			push_ask_state(s);
		}
		return;
	}
	if ((ps = json_get(msg, "pushState")) != NULL &&
	    jmap_state_parse(json_str(ps, NULL), &p->client_state))
		p->have_client_state = true;
	push_start(s);
}

void
http_push_changed(struct http_session *s, uint64_t modseq)
{
	/*
	 * modseq is the mailbox's highest; the account's state (every
	 * JMAP state) may be past it: read it.  Changes that come while it
	 * is being read make one more read, not one each.
	 */
	(void)modseq;
	if (!s->push.on)
		return;
	s->push.changed |= PUSH_MAIL;
	push_ask_state(s);
}

void
http_push_delivered(struct http_session *s, uint64_t modseq)
{
	struct http_push *p = &s->push;

	if (!p->on || !p->have_state || modseq <= p->delivery)
		return;
	p->delivery = modseq;
	p->delivered = true;
	/* The event carries the account's state: read it. */
	push_ask_state(s);
}

void
http_push_names(struct http_session *s)
{
	if (!s->push.on)
		return;
	s->push.changed |= PUSHTYPE_MAILBOX;
	push_ask_state(s);
}

void
http_push_types(struct http_session *s, uint32_t types)
{
	if (!s->push.on)
		return;
	s->push.changed |= types & PUSHTYPE_KNOWN;
	push_ask_state(s);
}

void
http_push_stop(struct http_session *s)
{
	struct http_push *p = &s->push;

	if (p->req != 0 && p->req_chan != NULL)
		ipc_cancel(p->req_chan, p->req);
	p->req = 0;
	p->req_chan = NULL;
	if (p->ping_ev != NULL)
		event_free(p->ping_ev);
	p->ping_ev = NULL;
	p->on = false;
}
