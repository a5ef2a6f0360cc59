/* SPDX-License-Identifier: ISC */
/*
 * imap_session.h: one IMAP connection on a lib/conn.h connection (socket,
 * TLS, timeouts): the state machine of RFC 9051 3 (not authenticated,
 * authenticated, selected, logout), the command reader, and the session's
 * registration with storaged.
 *
 * Command handlers (imap_cmd_*.c) see the session struct: they read its
 * state, write responses to s->out (the conn's output) with imap_resp.h,
 * and end with one of the results below.  A handler that waits (for
 * storaged, or for a line from the client) leaves s->tag in place; the
 * session reads no further command until the handler's continuation ends
 * the command.
 */
#ifndef BULWARK_IMAP_SESSION_H
#define BULWARK_IMAP_SESSION_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conn.h"
#include "imap_parse.h"

struct ipc_chan;
struct imap_cmd;
struct imap_notify;

/* Connection states, RFC 9051 3; bits so that a command lists several. */
enum imap_state {
	IMAP_STATE_NOAUTH	= 0x01,
	IMAP_STATE_AUTH		= 0x02,
	IMAP_STATE_SELECTED	= 0x04,
	IMAP_STATE_LOGOUT	= 0x08
};

/* Extensions a client turned on with ENABLE (RFC 5161). */
#define IMAP_ENABLED_REV2	0x01	/* IMAP4rev2 (RFC 9051) */
#define IMAP_ENABLED_UTF8	0x02	/* UTF8=ACCEPT (RFC 6855) */
#define IMAP_ENABLED_CONDSTORE	0x04	/* RFC 7162 */
#define IMAP_ENABLED_QRESYNC	0x08	/* RFC 7162 */

/* How a command handler (or its continuation) left the command. */
enum imap_cmd_result {
	IMAP_CMD_DONE,		/* its tagged response is written */
	IMAP_CMD_WAIT,		/* it waits for storaged; imap_session_resume()
				   ends the wait */
	IMAP_CMD_CONT		/* it waits for a line from the client, set up
				   with imap_session_expect_line() */
};

struct imap_session;

/*
 * Receives a line the client sent after a continuation request, without
 * its CRLF, writable, valid during the call.
 */
typedef enum imap_cmd_result imap_line_fn(struct imap_session *s,
    uint8_t *line, size_t len);

struct imap_session {
	TAILQ_ENTRY(imap_session) entry;	/* imapd's list */
	struct conn		*conn;		/* socket, TLS, id, addresses */
	enum imap_state		 state;
	struct buf		*in;		/* conn_in(): unconsumed */
	struct buf		*out;		/* conn_out(): unsent */
	struct imap_reader	 rd;
	/* The command being run. */
	char			*tag;		/* NULL between commands */
	const struct imap_cmd	*cmd;
	imap_line_fn		*line_fn;	/* CONT: gets the next line */
	uint32_t		 req_id;	/* store request waiting */
	uint32_t		 resume_id;	/* SESSION_RESUME waiting */
	uint32_t		 admit_id;	/* SESSION_ADMIT waiting */
	bool			 greeted;	/* the greeting is written */
	/* Authenticated (state AUTH or SELECTED). */
	uint64_t		 account_id;
	char			*username;	/* while an AUTH request waits:
						   the name the client gave */
	uint8_t			*token;		/* for SESSION_RESUME; secret */
	size_t			 token_len;
	/* SELECTED: the mailbox (imap_view.h). */
	struct imap_view	*view;
	void			(*view_done)(struct imap_session *);
	/* Called once when the output is sent (a streaming command). */
	void			(*drain_fn)(struct imap_session *);
	/* APPEND's message literals while the command is read. */
	struct imap_append_sink	*append;
	/* A waiting command's own state, freed with the session. */
	void			*cmd_ctx;
	void			(*cmd_ctx_free)(void *);
	bool			 idling;	/* inside IDLE */
	/* ENABLE (RFC 5161) and what it turned on: IMAP_ENABLED_*. */
	unsigned		 enabled;
	/* NOTIFY (RFC 5465, imap_cmd_notify.h); NULL before the first. */
	struct imap_notify	*notify;
	/* Private to imap_session.c; a waiting command pauses the conn. */
	bool			 dispatching;	/* inside a handler */
	bool			 processing;	/* inside the input loop */
	bool			 resumed_early;	/* resumed inside its handler */
	enum imap_cmd_result	 early_result;
	bool			 shutdown;	/* say BYE after this command */
};

/*
 * Serves the accepted socket fd (taken), peer address sa, with implicit TLS
 * if tls: registers with imapd and storaged and sends the greeting.  Returns
 * the session, owned by imapd's list, or NULL with fd closed.
 */
struct imap_session *imap_session_new(int fd, const struct sockaddr *sa,
	    socklen_t salen, bool tls);
/*
 * Closes the connection at once, cancels what the session waits for, tells
 * storaged, leaves imapd's list, frees and NULLs *sp.
 */
void	imap_session_free(struct imap_session **sp);

/* Writes a tagged status response for the running command to s->out. */
void	imap_session_reply(struct imap_session *s, const char *cond,
	    const char *code, const char *text);
/*
 * Ends the wait of a command that returned IMAP_CMD_WAIT, with the result of
 * its continuation; reading commands goes on after IMAP_CMD_DONE.
 */
void	imap_session_resume(struct imap_session *s, enum imap_cmd_result r);
/*
 * NOTIFY (RFC 5465 3.1) speaks between commands: imap_cmd_notify.c pauses
 * the connection while it asks storaged and writes, so that no command
 * starts meanwhile, then wakes it: resumes reading and serves what the
 * client sent in the meantime.
 */
void	imap_session_wake(struct imap_session *s);
/* Sends the next line from the client to fn (the handler returns CONT). */
void	imap_session_expect_line(struct imap_session *s, imap_line_fn *fn);
/*
 * STARTTLS: once the tagged OK has been sent, drops any input pipelined
 * after the command (RFC 9051 6.2.1) and starts the TLS handshake.  The
 * handler returns IMAP_CMD_WAIT; the session resumes by itself.
 */
void	imap_session_starttls(struct imap_session *s);
/*
 * Closes the connection once the responses written so far are sent; reason
 * (a static string) goes to the disconnect log line.
 */
void	imap_session_close(struct imap_session *s, const char *reason);
/*
 * Records a successful authentication: the state becomes authenticated and
 * the login is logged.  username and token (token_len bytes) are copied.
 */
void	imap_session_authenticated(struct imap_session *s, uint64_t account_id,
	    const char *username, const uint8_t *token, size_t token_len);
/*
 * UNAUTHENTICATE (RFC 8437 3): deselects without expunging, forgets the
 * account and what ENABLE turned on, and opens a fresh session with
 * storaged; the state becomes not authenticated.  Compression (RFC 8437
 * 4.1) is the caller's, after the tagged OK is written.
 */
void	imap_session_unauthenticate(struct imap_session *s);
/* Returns true if the client may send a password: TLS, or allowed clear. */
bool	imap_session_login_allowed(const struct imap_session *s);

/* The master asked to stop: BYE now, or after the running command. */
void	imap_session_shutdown(struct imap_session *s);
/* A new store channel: registers the session again, resumes its login. */
void	imap_session_store_renewed(struct imap_session *s,
	    struct ipc_chan *store);

/* Logs at info or debug level with the session id in front (conn.h). */
#define imap_session_log(s, ...)	conn_log((s)->conn, __VA_ARGS__)
#define imap_session_debug(s, ...)	conn_debug((s)->conn, __VA_ARGS__)

#endif
