/* SPDX-License-Identifier: ISC */
/*
 * imap_thread.h: the threading algorithms of THREAD (RFC 5256 3:
 * ORDEREDSUBJECT and REFERENCES) and whether a subject was a reply or
 * forward (RFC 5256 2.1).  Subjects come as their i;unicode-casemap keys
 * (lib/casemap.h, RFC 5256 7) and are compared as octets.  Pure functions over messages the caller has
 * found and described; they write the thread-list data of the THREAD
 * response (RFC 5256 4).  Deep or long reference chains cost no recursion.
 */
#ifndef BULWARK_IMAP_THREAD_H
#define BULWARK_IMAP_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* One message to thread; strings are borrowed for the call. */
struct imap_thread_msg {
	uint32_t	 num;		/* to answer with (msn or UID) */
	int64_t		 date;		/* sent date, UTC (2.2) */
	const char	*subject;	/* base subject (5256 2.1), its key */
	bool		 reply;		/* reply or forward (2.1) */
	const char	*id;		/* Message-ID without <>, or "" */
	/* References, oldest first, else the first In-Reply-To id. */
	const char *const *refs;
	uint32_t	 nrefs;
};

/*
 * Whether base subject extraction (RFC 5256 2.1) removes a subj-refwd
 * ("Re:", "Fwd:", "fw[x]:"), a "(fwd)" trailer or a "[fwd: ...]" wrapper
 * from subject (the decoded Subject).
 */
bool	imap_thread_is_reply(const char *subject);

/*
 * Appends the threads of the n messages of m (in sequence number order,
 * which breaks ties of dates) as 1*thread-list, nothing when n is 0.
 * ORDEREDSUBJECT groups by base subject (equal keys), REFERENCES
 * builds the tree of RFC 5256 3 steps 1 to 6.
 */
void	imap_thread_orderedsubject(const struct imap_thread_msg *m,
	    uint32_t n, struct buf *out);
void	imap_thread_references(const struct imap_thread_msg *m, uint32_t n,
	    struct buf *out);

#endif
