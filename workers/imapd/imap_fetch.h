/* SPDX-License-Identifier: ISC */
/*
 * imap_fetch.h: FETCH and UID FETCH (RFC 9051 6.4.5, the fetch-att
 * grammar of section 9), with the items of CONDSTORE (MODSEQ,
 * CHANGEDSINCE; RFC 7162), OBJECTID (EMAILID, THREADID; RFC 8474),
 * SAVEDATE (RFC 8514), PREVIEW (RFC 8970) and BINARY (RFC 3516).
 *
 * Everything is served from storaged: per-message data and the parsed
 * record (MSG_FETCH) in chunks of UIDs, the message bytes (MSG_BODY) in
 * slices written straight to the client as they come, so that a
 * `UID FETCH 1:* BODY[]` never holds a whole message, and waits for the
 * client to read (the conn's drained callback) when the output is long.
 * BODY[...] without PEEK sets \Seen first (MSG_STORE) in a read-write
 * mailbox, and the response then carries FLAGS.
 */
#ifndef BULWARK_IMAP_FETCH_H
#define BULWARK_IMAP_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "imap_parse.h"
#include "imap_session.h"

struct imap_seqset;
struct imap_view;

/*
 * The UIDs a resolved sequence set names in view v, ascending: the set
 * holds sequence numbers (uid false) or UIDs.  Returns how many, in
 * *uids_r (allocated, free it).
 */
uint32_t imap_fetch_targets(const struct imap_view *v,
	    const struct imap_seqset *set, bool uid, uint32_t **uids_r);

enum imap_cmd_result imap_fetch(struct imap_session *s,
	    struct imap_parser *ps, bool uid);

/*
 * NOTIFY (RFC 5465 5.2).  imap_fetch_check: returns 0 if att (borrowed,
 * NUL-terminated) is "(" fetch-att *(SP fetch-att) ")" as FETCH takes it,
 * else -1 with a static reason for BAD in *why.  imap_fetch_notify: writes
 * unsolicited FETCH responses, with UID, of att for the n UIDs of uids
 * (borrowed; the view's, ascending), as UID FETCH would, between commands
 * (uses s->cmd_ctx and s->req_id, which must be free), and then calls
 * done(s) instead of a tagged response; at once if there is nothing to do.
 */
int	imap_fetch_check(const char *att, const char **why);
void	imap_fetch_notify(struct imap_session *s, const uint32_t *uids,
	    uint32_t n, const char *att, void (*done)(struct imap_session *));

#endif
