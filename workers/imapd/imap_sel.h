/* SPDX-License-Identifier: ISC */
/*
 * imap_sel.h: the state of a waiting selected-state command, shared by
 * imap_cmd_selected.c (SELECT, EXAMINE, IDLE) and imap_cmd_write.c (CLOSE,
 * EXPUNGE, STORE, COPY, MOVE, UID).  Internal to imapd.
 */
#ifndef BULWARK_IMAP_SEL_H
#define BULWARK_IMAP_SEL_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "imap_mbox.h"
#include "imap_seqset.h"
#include "imap_session.h"
#include "ipc.h"

/* The state of one waiting selected-state command. */
struct sel_ctx {
	struct imap_session	*s;
	struct imap_mbox_req	 mreq;
	char			*cname;		/* a mailbox argument */
	bool			 readonly;	/* EXAMINE */
	bool			 uid;		/* UID command */
	bool			 move;
	bool			 silent;	/* STORE .SILENT */
	bool			 condstore;	/* SELECT (CONDSTORE) */
	bool			 qresync;	/* SELECT (QRESYNC ...) */
	uint32_t		 q_uidvalidity;
	uint64_t		 q_modseq;
	struct imap_seqset	 q_known;	/* known-uids, may be empty */
	uint32_t		 mailbox_id;
	uint32_t		 unseen;	/* SELECT: first unseen UID */
	struct buf		 vec;		/* uid vector of the request */
	/*
	 * STORE, EXPUNGE and CLOSE send vec in slices (sel_slice) from at
	 * on; a STORE reply may cover less (its done).  STORE's request,
	 * sent again for each, and MODIFIED gathered so far.
	 */
	uint32_t		 at;
	uint32_t		 sent;		/* UIDs of the slice */
	struct ipc_MSG_STORE_req store_req;
	struct buf		 store_kw;
	struct imap_seqset	 store_mod;
	/* The tagged response, written once the view caught up. */
	const char		*cond;
	char			*code;
	char			*text;
};

/* A new state for s's command (freed with the command). */
struct sel_ctx	*sel_ctx_new(struct imap_session *s);
/* Ends the command's state. */
void	sel_ctx_done(struct imap_session *s);
/* Catches the view up, then answers cond [code] text; ends the command. */
void	sel_reply_synced(struct imap_session *s, const char *cond,
	    const char *code, const char *text);
/* Answers NO for a failed store request and ends the command. */
void	sel_fail(struct imap_session *s, enum ipc_status st,
	    const char *text);
/* Drops the view (and tells storaged when tell_store); back to AUTH. */
void	sel_close_view(struct imap_session *s, bool tell_store);
/* mod-sequence-value of RFC 7162 into *v; 0, or -1 with ps->error. */
int	sel_parse_modseq(struct imap_parser *ps, uint64_t *v);

#endif
