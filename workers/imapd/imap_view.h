/* SPDX-License-Identifier: ISC */
/*
 * imap_view.h: a session's view of its selected mailbox (RFC 9051 2.3.1):
 * the UIDs in message sequence number order, the mailbox state the client
 * was told (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, the flags in use), and
 * how the view catches up with storaged.
 *
 * The view holds 4 bytes per message, nothing else: flags, sizes and
 * records are asked from storaged when a command needs them.  storaged
 * sends MBOX_CHANGED when the mailbox changes; the view only notes it
 * (`changed`).  At the points where RFC 9051 7.5.1 lets the server speak
 * (the end of a command other than FETCH, STORE and SEARCH; at once in
 * IDLE), imap_view_sync() asks MBOX_SYNC for what changed since the
 * modseq the view knows, and writes EXPUNGE (or VANISHED with QRESYNC),
 * EXISTS and FETCH FLAGS responses, so that sequence numbers move only
 * when the client is told.
 */
#ifndef BULWARK_IMAP_VIEW_H
#define BULWARK_IMAP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ipc_msg.h"

struct imap_session;
struct imap_seqset;

struct imap_view {
	uint32_t	 mailbox_id;
	bool		 readonly;	/* EXAMINE */
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint64_t	 highestmodseq;	/* what the view has caught up to */
	uint32_t	*uids;		/* index msn - 1, ascending */
	uint32_t	 n, cap;
	char		*keywords;	/* in use, space-separated; "" none */
	bool		 changed;	/* MBOX_CHANGED since the last sync */
	/*
	 * The modseqs of those MBOX_CHANGED (notified_over: more than fit):
	 * the ones not of this session's own changes are what waits.
	 */
	uint64_t	 notified[8];
	uint32_t	 nnotified;
	bool		 notified_over;
	/* The mailbox's modseq after each of this session's own STOREs. */
	uint64_t	 own_hms[8];
	uint32_t	 nown_hms;
	/*
	 * Flag changes this session made and already reported (STORE, the
	 * \Seen of FETCH): the sync that brings them back skips them.
	 */
	struct imap_view_own {
		uint32_t	 uid;
		uint64_t	 modseq;
	}		*own;
	uint32_t	 nown;
	/* SEARCHRES (RFC 5182): the UIDs of the last SEARCH ... SAVE. */
	uint32_t	*saved;
	uint32_t	 nsaved;
	bool		 has_saved;
	uint32_t	 sync_id;	/* MBOX_SYNC or MBOX_RECENT waiting */
	/* The MBOX_SYNC waiting: since, and after (0: its first page). */
	uint64_t	 sync_since;
	uint32_t	 sync_after;
	/*
	 * \Recent (RFC 3501 2.3.2): the UID ranges [lo, hi) recent in this
	 * session, ascending, as storaged gave them (MBOX_RECENT; claimed by
	 * a read-write view, looked at by a read-only one).  UIDs below
	 * recent_upto were asked about; recent_asking is the upto of the
	 * request waiting, recent_tell whether its reply is told (RECENT).
	 */
	struct imap_view_recent {
		uint32_t	 lo, hi;
	}		*recent;
	uint32_t	 nrecent, recent_cap;
	uint32_t	 recent_upto;
	uint32_t	 recent_asking;
	bool		 recent_tell;
};

/* The view of a just-selected mailbox from MBOX_SELECT's reply. */
struct imap_view *imap_view_new(uint32_t mailbox_id, bool readonly,
	    const struct ipc_MBOX_SELECT_rep *r);
void	imap_view_free(struct imap_view **vp);

/*
 * Appends UIDs from a uid vector (big-endian u32, ascending); UIDs not
 * above the last one already in the view are skipped.  Returns how many
 * were added.
 */
uint32_t imap_view_append(struct imap_view *v, const uint8_t *vec,
	    size_t len);
/* The sequence number of uid, or 0 if it is not in the view. */
uint32_t imap_view_msn(const struct imap_view *v, uint32_t uid);
/*
 * Removes uid; returns its former sequence number, or 0 if it was not in
 * the view.
 */
uint32_t imap_view_remove(struct imap_view *v, uint32_t uid);
/* The largest UID in the view, or 0 when it is empty. */
uint32_t imap_view_last_uid(const struct imap_view *v);
/* Sets the keywords in use from a space-separated list (NULL: none). */
void	imap_view_set_keywords(struct imap_view *v, const char *kw);
/* Adds keywords of kw (space-separated) not yet in the list; true if any. */
bool	imap_view_add_keywords(struct imap_view *v, const char *kw);

/* Notes a change of uid at modseq the client has been told of. */
void	imap_view_own_change(struct imap_view *v, uint32_t uid,
	    uint64_t modseq);

/* Keeps the uid vector of a SEARCH with RETURN (SAVE) as "$". */
void	imap_view_save_result(struct imap_view *v, const struct buf *vec);
/*
 * Fills set (empty) with "$": the saved UIDs still in the view, as UIDs
 * (uid) or sequence numbers, normalized; empty before any SAVE (RFC 5182
 * 2.1).  Returns -1 if nothing was saved yet, else 0.
 */
int	imap_view_saved_set(const struct imap_view *v, struct imap_seqset *set,
	    bool uid);

/*
 * Resolves a parsed sequence set against the view (RFC 9051 9): "*" is
 * the last sequence number, or for UIDs the last UID (UIDNEXT in an empty
 * mailbox); "$" becomes the saved result; sequence numbers above the
 * view's count are refused.  Returns 0, or -1 with *why (static, for BAD)
 * and the set cleared.
 */
int	imap_view_resolve_set(const struct imap_view *v, struct imap_seqset *set,
	    bool uid, const char **why);

/*
 * Appends "(" flags ")" for system flag bits and keywords, and \Recent
 * first when recent (imap_view_is_recent).
 */
void	imap_view_write_flags(struct buf *out, uint64_t flags, bool recent,
	    const char *keywords);
/* Appends the FLAGS and PERMANENTFLAGS responses of the view. */
void	imap_view_write_flag_lists(struct imap_session *s,
	    const struct imap_view *v);

/*
 * Brings the view up to date if storaged said it changed (or `force`):
 * asks MBOX_SYNC and writes the untagged responses, then calls done(s)
 * (also at once when there is nothing to do, or on a store error, when
 * the responses are skipped).  allow_expunge false holds EXPUNGE back
 * (FETCH, STORE, SEARCH): nothing of the sync is applied then, and
 * `changed` stays set.  Returns true if done was called before returning.
 */
typedef void imap_view_done_fn(struct imap_session *s);
bool	imap_view_sync(struct imap_session *s, bool force,
	    imap_view_done_fn *done);
/*
 * Ends the running command (which holds no cmd_ctx any more) with the
 * tagged response cond [code] text, after catching the view up whether or
 * not storaged said it changed: a command that added messages to the
 * selected mailbox (APPEND) reports them before its tagged OK (RFC 9051
 * 6.3.12, RFC 3501 6.3.11).
 */
void	imap_view_reply_synced(struct imap_session *s, const char *cond,
	    const char *code, const char *text);
/*
 * A CONDSTORE enabling command (RFC 7162 3.1: FETCH or SEARCH with
 * MODSEQ, FETCH CHANGEDSINCE, STORE UNCHANGEDSINCE, STATUS HIGHESTMODSEQ)
 * was given: the first one turns CONDSTORE on and, with a mailbox
 * selected, writes its HIGHESTMODSEQ (the modseq the view reached).
 */
void	imap_view_condstore_enable(struct imap_session *s);
/* Applies one MBOX_SYNC reply to the view and writes its responses. */
void	imap_view_apply_sync(struct imap_session *s,
	    const struct ipc_MBOX_SYNC_rep *r);

/*
 * Whether uid has \Recent in the session's view: never for IMAP4rev2,
 * which has no such flag (RFC 9051 Appendix E, 12).
 */
bool	imap_view_is_recent(const struct imap_session *s, uint32_t uid);
/* How many messages of the view are recent (RECENT, RFC 3501 7.3.2). */
uint32_t imap_view_recent_count(const struct imap_view *v);
/*
 * Learns which of the view's UIDs not asked about yet are recent here
 * (MBOX_RECENT: a read-write view claims them, a read-only one looks),
 * then calls done(s), at once if there is nothing to ask (none new, an
 * IMAP4rev2 session).  With tell, a reply that found new UIDs writes
 * "* n RECENT" first.  Returns true if done was called before returning.
 */
bool	imap_view_learn_recent(struct imap_session *s, bool tell,
	    imap_view_done_fn *done);

/* Unpacks element i of a uid vector. */
uint32_t imap_view_vec_get(const uint8_t *vec, size_t i);
/* Appends uid to a uid vector being built. */
void	imap_view_vec_put(struct buf *vec, uint32_t uid);

/*
 * Writes * OK [HIGHESTMODSEQ n] with the modseq the view has caught up to,
 * when CONDSTORE is on and changes wait (RFC 7162 3.2): FETCH and STORE
 * responses, which may not carry the expunges, call it before their end.
 */
void	imap_view_write_held_modseq(struct imap_session *s);
/* MBOX_CHANGED for the view's mailbox, up to modseq. */
void	imap_view_notified(struct imap_view *v, uint64_t modseq);
/* The mailbox's modseq after a STORE of this session (MSG_STORE's). */
void	imap_view_own_hms(struct imap_view *v, uint64_t hms);

#endif
