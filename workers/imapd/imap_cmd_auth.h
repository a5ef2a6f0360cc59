/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_auth.h: what the mailbox commands of the authenticated state
 * (imap_cmd_auth.c) share with LIST and LSUB (imap_list.c): store
 * failures as RFC 5530 response codes, the mailbox argument, and the
 * STATUS items that LIST-STATUS (RFC 5819) returns as well.
 */
#ifndef BULWARK_IMAP_CMD_AUTH_H
#define BULWARK_IMAP_CMD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "imap_mbox.h"
#include "imap_parse.h"
#include "imap_session.h"
#include "ipc_msg.h"

/* STATUS items (RFC 9051 6.3.11, RFC 3501 6.3.10 for RECENT). */
#define IMAP_STATUS_MESSAGES		0x01
#define IMAP_STATUS_RECENT		0x02	/* IMAP4rev1 only */
#define IMAP_STATUS_UIDNEXT		0x04
#define IMAP_STATUS_UIDVALIDITY		0x08
#define IMAP_STATUS_UNSEEN		0x10
#define IMAP_STATUS_SIZE		0x20
#define IMAP_STATUS_HIGHESTMODSEQ	0x40	/* RFC 7162 */
#define IMAP_STATUS_MAILBOXID		0x80	/* RFC 8474 */
#define IMAP_STATUS_APPENDLIMIT		0x100	/* RFC 7889 */
#define IMAP_STATUS_DELETED		0x200	/* RFC 9051, RFC 9208 4.1.4 */
#define IMAP_STATUS_DELETED_STORAGE	0x400	/* RFC 9208 4.1.4 */

/*
 * Answers the running command NO with the RFC 5530 code of store status st
 * (NONEXISTENT, ALREADYEXISTS, HASCHILDREN, NOPERM, CANNOT, LIMIT,
 * OVERQUOTA, UNAVAILABLE; SERVERBUG for the rest).
 */
void	imap_auth_fail(struct imap_session *s, enum ipc_status st);
/*
 * Parses SP mailbox and decodes it (imap_mbox_name_decode).  Returns the
 * client name, owned by the caller, or NULL with either ps->error set (a
 * syntax error: BAD) or, with the syntax right, *bad_r set to why the name
 * is not valid (NO [CANNOT]).
 */
char	*imap_auth_parse_mailbox(struct imap_session *s,
	    struct imap_parser *ps, bool trailing_ok, const char **bad_r);
/*
 * Parses "(" status-att *(SP status-att) ")" into IMAP_STATUS_* bits.
 * Returns 0, or -1 with the text of a BAD response in why (whysize bytes):
 * a syntax error or an unknown item.  Asking HIGHESTMODSEQ enables
 * CONDSTORE (RFC 7162 3.1).
 */
int	imap_status_parse_atts(struct imap_session *s, struct imap_parser *ps,
	    unsigned *items_r, char *why, size_t whysize);
/*
 * Writes "* STATUS mailbox (items)" for mb to s->out; RECENT is 0 unless
 * the caller counted it (MBOX_RECENT) for imap_status_write_recent.
 */
void	imap_status_write(struct imap_session *s, const struct imap_mbox *mb,
	    unsigned items);
void	imap_status_write_recent(struct imap_session *s,
	    const struct imap_mbox *mb, unsigned items, uint32_t recent);

#endif
