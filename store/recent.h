/* SPDX-License-Identifier: ISC */
/*
 * recent.h: the \Recent flag of IMAP4rev1 (RFC 3501 2.3.2), kept in
 * storaged's memory only.
 *
 * A message is recent in the one session that first learns of it with the
 * mailbox selected read-write.  For each mailbox storaged keeps the first
 * UID no session has claimed yet, the boundary: a SELECT claims every
 * message from the boundary up to the UIDNEXT it saw and moves the
 * boundary there; a later sync that brings new UIDs claims those the same
 * way (MBOX_RECENT, store/mail_recent.c).  Claims run on the loop thread
 * under the table's lock, so no two sessions get the same message.
 *
 * Nothing is written to disk, so there is no schema to change: after a
 * restart of storaged a mailbox starts with its boundary at the UIDNEXT
 * it has when it is first seen, and nothing older is recent, which RFC
 * 3501 2.3.2 allows ("... the \Recent flag is not necessarily accurate").
 * "First seen" is either the writer giving the mailbox a UID
 * (recent_note_uid, before the UID is taken) or a session asking about
 * it (recent_first, recent_claim, with the UIDNEXT of a read transaction).
 * Since the writer notes a UID before it commits it, a reader that sees a
 * UID committed since the start finds the entry the writer made, and one
 * that makes the entry saw no such UID: every message stored after
 * storaged started is recent until claimed.
 *
 * Entries are keyed by account and mailbox id (ids are never reused) and
 * carry the mailbox's UIDVALIDITY: one that does not match is taken as a
 * new mailbox.  An entry lives until storaged exits (a few bytes per
 * mailbox used since).  Safe to call from any thread.
 */
#ifndef BULWARK_RECENT_H
#define BULWARK_RECENT_H

#include <stdint.h>

/*
 * The writer is about to give uid to a new message of the mailbox: makes
 * its entry with the boundary at uid if it has none.
 */
void	recent_note_uid(uint64_t account_id, uint32_t mailbox_id,
	    uint32_t uidvalidity, uint32_t uid);
/*
 * The boundary of the mailbox, whose UIDNEXT is uidnext now (made there if
 * the mailbox has no entry yet).  The messages with UIDs from it on are
 * recent and claimed by no session.
 */
uint32_t recent_first(uint64_t account_id, uint32_t mailbox_id,
	    uint32_t uidvalidity, uint32_t uidnext);
/*
 * Claims the messages below upto (at most uidnext, the mailbox's UIDNEXT
 * now): returns the boundary before, and moves it up to upto.  The
 * caller's messages in [returned, upto) are recent for it alone.
 */
uint32_t recent_claim(uint64_t account_id, uint32_t mailbox_id,
	    uint32_t uidvalidity, uint32_t uidnext, uint32_t upto);
/* Forgets every entry (storaged starts empty; tests start again). */
void	recent_reset(void);

#endif
