/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd.h: the command table (RFC 9051 6, the command list of section 9)
 * and the capability list (RFC 9051 7.2.2), and the handlers, one file per
 * group of the RFC: imap_cmd_any.c (6.1, any state), imap_cmd_noauth.c
 * (6.2, not authenticated); imap_cmd_auth.c (6.3) and imap_cmd_selected.c
 * (6.4) will follow.  A command is added by writing its handler and filling
 * in its entry in the table of imap_cmd.c.
 */
#ifndef BULWARK_IMAP_CMD_H
#define BULWARK_IMAP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_parse.h"
#include "imap_session.h"

struct imap_seqset;

/*
 * Runs a command handler.  ps stands after the command name; the handler
 * parses its arguments up to imap_parse_eol(), answers, and returns how the
 * command goes on.
 */
typedef enum imap_cmd_result imap_cmd_fn(struct imap_session *s,
    struct imap_parser *ps);

/* Flags of a command. */
#define IMAP_CMD_F_STORE	0x01	/* needs storaged */

struct imap_cmd {
	const char	*name;
	unsigned	 states;	/* IMAP_STATE_* where it is valid */
	unsigned	 flags;		/* IMAP_CMD_F_* */
	uint32_t	 max_literal;	/* bytes of one literal; 0: none */
	imap_cmd_fn	*fn;		/* NULL: not implemented yet */
};

/* Largest literal LOGIN and AUTHENTICATE take (user names, passwords). */
#define IMAP_CMD_AUTH_LITERAL	8192
/*
 * Largest literal of the commands that take mailbox names (a name of 1024
 * bytes in modified UTF-7 fits) and of ID.
 */
/* Largest literal of SEARCH (a string to search for). */
#define IMAP_CMD_SEARCH_LITERAL	8192
#define IMAP_CMD_MBOX_LITERAL	4096
/*
 * Largest literal of SETMETADATA: above the largest value the store keeps
 * (MAILMETA_VALUE_MAX), so that a value too large is answered with RFC
 * 5464's METADATA MAXSIZE rather than a refused literal.
 */
#define IMAP_CMD_META_LITERAL	65536

/*
 * Parses and runs the complete command in buf (len bytes, CRLF included,
 * written to by the parser).  Answers a malformed, unknown or misplaced
 * command itself.  Returns the handler's result (IMAP_CMD_DONE when there
 * was none); a tag, when the command had one, is in s->tag.
 */
enum imap_cmd_result imap_cmd_run(struct imap_session *s, uint8_t *buf,
	    size_t len);
/*
 * Decides on a literal of size bytes announced by the incomplete command in
 * buf (len bytes read so far): returns 0 to accept it, 1 to accept it as a
 * message of APPEND diverted into the session's spool (imap_append.h), or
 * -1 after writing the response that refuses the command to s->out (RFC
 * 7888 4).
 */
int	imap_cmd_literal_check(struct imap_session *s, uint8_t *buf,
	    size_t len, uint64_t size, size_t max_command);
/*
 * Writes the capability-data of session s, "CAPABILITY IMAP4rev1 ...",
 * into buf (size bytes, NUL-terminated, cut if too small).
 */
void	imap_capability_format(const struct imap_session *s, char *buf,
	    size_t size);
/* Answers BAD with the parser's error; returns IMAP_CMD_DONE. */
enum imap_cmd_result imap_cmd_bad(struct imap_session *s,
	    const struct imap_parser *ps);

/* RFC 9051 6.1, imap_cmd_any.c */
enum imap_cmd_result imap_cmd_capability(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_noop(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_logout(struct imap_session *,
	    struct imap_parser *);

/* RFC 9051 6.2, imap_cmd_noauth.c */
enum imap_cmd_result imap_cmd_starttls(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_authenticate(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_login(struct imap_session *,
	    struct imap_parser *);

/* RFC 9051 6.3, imap_cmd_auth.c and (LIST, LSUB) imap_list.c */
enum imap_cmd_result imap_cmd_enable(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_create(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_delete(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_rename(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_subscribe(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_unsubscribe(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_list(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_lsub(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_namespace(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_status(struct imap_session *,
	    struct imap_parser *);
/* RFC 4978 COMPRESS, RFC 8437 UNAUTHENTICATE: imap_cmd_conn.c */
enum imap_cmd_result imap_cmd_compress(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_unauthenticate(struct imap_session *,
	    struct imap_parser *);
/* RFC 9208 4.1, imap_cmd_quota.c */
enum imap_cmd_result imap_cmd_getquota(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_getquotaroot(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_setquota(struct imap_session *,
	    struct imap_parser *);
/* RFC 5464 4.2, 4.3, imap_cmd_metadata.c */
enum imap_cmd_result imap_cmd_getmetadata(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_setmetadata(struct imap_session *,
	    struct imap_parser *);
/* RFC 5465, imap_cmd_notify.c */
enum imap_cmd_result imap_cmd_notify(struct imap_session *,
	    struct imap_parser *);
/* RFC 2971, any state */
enum imap_cmd_result imap_cmd_id(struct imap_session *,
	    struct imap_parser *);

/* RFC 9051 6.3.2-3, 6.3.13 and 6.4, imap_cmd_selected.c */
enum imap_cmd_result imap_cmd_select(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_examine(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_idle(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_check(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_close(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_unselect(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_expunge(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_fetch(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_store(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_copy(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_move(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_uid(struct imap_session *,
	    struct imap_parser *);
/* imap_cmd_search.c */
enum imap_cmd_result imap_cmd_search(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_uid_search(struct imap_session *,
	    struct imap_parser *);
/* imap_cmd_sort.c: RFC 5256 SORT and THREAD */
enum imap_cmd_result imap_cmd_sort(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_uid_sort(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_thread(struct imap_session *,
	    struct imap_parser *);
enum imap_cmd_result imap_cmd_uid_thread(struct imap_session *,
	    struct imap_parser *);
/*
 * flag-list = "(" [flag *(SP flag)] ")", or flags without parentheses (RFC
 * 3501 store-att-flags): system flags into *flags (MAIL_F_*, or-ed), and
 * keywords appended to kw, space-separated.  Returns 0 or -1 (ps->error).
 */
int	imap_parse_flag_list(struct imap_parser *ps, uint64_t *flags,
	    struct buf *kw);
/*
 * "* VANISHED (EARLIER)" for the UIDs of an MBOX_SYNC reply (vanished, or
 * the absent ranges) in filter (NULL: all).
 */
struct ipc_MBOX_SYNC_rep;
void	imap_qresync_vanished(struct imap_session *s,
	    const struct ipc_MBOX_SYNC_rep *r,
	    const struct imap_seqset *filter);
/* NOOP while selected: catches up, answers, returns true (else false). */
bool	imap_selected_noop(struct imap_session *s);
/* storaged said mailbox_id changed (MBOX_CHANGED). */
void	imap_selected_changed(struct imap_session *s, uint32_t mailbox_id,
	    uint64_t modseq);

#endif
