/* SPDX-License-Identifier: ISC */
/*
 * imap_append.h: APPEND with MULTIAPPEND (imap_append.c), and the spool
 * its message literals are diverted into while the command is read.
 */
#ifndef BULWARK_IMAP_APPEND_H
#define BULWARK_IMAP_APPEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_parse.h"
#include "imap_session.h"

/* APPENDLIMIT (RFC 7889): the largest message APPEND takes. */
#define IMAP_APPEND_LIMIT		(64ull << 20)
/* Messages and bytes of one MULTIAPPEND. */
#define IMAP_APPEND_MAX_MESSAGES	256
#define IMAP_APPEND_TOTAL_MAX		(256ull << 20)

/*
 * Whether the literal announced at the end of the command so far (len
 * bytes at buf) is a message rather than the mailbox name.
 */
bool	imap_append_is_message(const uint8_t *buf, size_t len);
/*
 * Makes room for a message literal of size bytes in the session's spool.
 * Returns 0, or -1 with *why (static) when a limit refuses it.
 */
int	imap_append_divert(struct imap_session *s, uint64_t size,
	    const char **why);
/* Writes len bytes of the current message literal to the spool. */
void	imap_append_sink(struct imap_session *s, const uint8_t *p, size_t len);
/* Drops the spool of a command that ended without running. */
void	imap_append_discard(struct imap_session *s);

enum imap_cmd_result imap_cmd_append(struct imap_session *s,
	    struct imap_parser *ps);

#endif
