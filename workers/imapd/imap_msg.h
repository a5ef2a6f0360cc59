/* SPDX-License-Identifier: ISC */
/*
 * imap_msg.h: one message of the selected mailbox as a MSG_FETCH reply
 * (lib/ipc_types.def) gives it to FETCH and SEARCH/SORT/THREAD: its UID
 * and sequence number, flags, ids, dates, size, keywords and, when asked,
 * its parsed record (lib/msgrec.h), copied out of the reply.
 */
#ifndef BULWARK_IMAP_MSG_H
#define BULWARK_IMAP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc_msg.h"

struct imap_view;

struct imap_msg {
	uint32_t	 uid, msn;
	uint64_t	 flags, modseq, email, thread, received, saved, size;
	char		*keywords;	/* space-separated */
	const uint8_t	*rec;		/* its record, or NULL */
	size_t		 reclen;
	uint8_t		*rec_copy;	/* rec when it is m's own copy */
	/* Its stored ENVELOPE and BODYSTRUCTURE (imap_struct.h), or NULL. */
	const uint8_t	*items;
	size_t		 itemslen;
	const uint8_t	*body;		/* its bytes, when they came along */
	size_t		 bodylen;
	bool		 has_body;	/* body is in its chunk's buffer */
	bool		 show_flags;	/* FETCH: \Seen was just set */
};

/*
 * Fills *m from message i of reply r, whose keywords are kw (the i-th of
 * r's list) and whose record starts at *roff of r's records (advanced):
 * m points into records, the caller's copy of them that must outlive m's
 * use, or with records NULL gets a copy of its own.
 * Returns 1, 0 if the message is no longer in view v (expunged here
 * meanwhile: m holds nothing to free), or -1 if the reply is malformed.
 */
int	imap_msg_take(struct imap_msg *m, const struct imap_view *v,
	    const struct ipc_MSG_FETCH_rep *r, uint32_t i, const char *kw,
	    uint64_t *roff, const uint8_t *records);
/*
 * Takes the bytes of message i of reply r, if they came (MSG_FETCH's
 * body_max), from *boff of r's bodies (advanced); m may be NULL (the
 * message left the view).  bodies is the caller's copy of r's bodies,
 * which m then points into: it must outlive m's use of them.  Returns 0,
 * or -1 if the reply is malformed.
 */
int	imap_msg_take_body(struct imap_msg *m,
	    const struct ipc_MSG_FETCH_rep *r, uint32_t i, uint64_t *boff,
	    const uint8_t *bodies);
/*
 * The same for the stored items of message i, if they came (MSG_FETCH's
 * imap_items), from *ioff of the caller's copy of r's `imap` (advanced).
 */
int	imap_msg_take_items(struct imap_msg *m,
	    const struct ipc_MSG_FETCH_rep *r, uint32_t i, uint64_t *ioff,
	    const uint8_t *items);
/* Frees what m holds; m is empty again. */
void	imap_msg_clear(struct imap_msg *m);

#endif
