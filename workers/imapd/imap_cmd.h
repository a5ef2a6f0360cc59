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

#include <stddef.h>
#include <stdint.h>

#include "imap_parse.h"
#include "imap_session.h"

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
 * Parses and runs the complete command in buf (len bytes, CRLF included,
 * written to by the parser).  Answers a malformed, unknown or misplaced
 * command itself.  Returns the handler's result (IMAP_CMD_DONE when there
 * was none); a tag, when the command had one, is in s->tag.
 */
enum imap_cmd_result imap_cmd_run(struct imap_session *s, uint8_t *buf,
	    size_t len);
/*
 * Decides on a literal of size bytes announced by the incomplete command in
 * buf (len bytes read so far): returns 0 to accept it, or -1 after writing
 * the response that refuses the command to s->out (RFC 7888 4).
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

#endif
