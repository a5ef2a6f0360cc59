/* SPDX-License-Identifier: ISC */
/*
 * lmtp_session.h: one LMTP connection on a lib/conn.h connection (socket,
 * TLS after STARTTLS, timeouts): the input loop that frames command lines,
 * DATA and BDAT chunks, the mail transaction (sender, accepted recipients,
 * the message being received), timeouts, and the session's registration
 * with storaged.
 *
 * Command handlers (lmtp_cmd.c) write replies with lmtp_reply() and either
 * finish at once or set the session busy while storaged answers
 * (lmtp_session_wait), then call lmtp_session_resume(); no further input is
 * read meanwhile, so replies to pipelined commands keep their order
 * (RFC 2920 3.1).
 */
#ifndef BULWARK_LMTP_SESSION_H
#define BULWARK_LMTP_SESSION_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conn.h"
#include "lmtp_parse.h"

struct ipc_chan;
struct lmtp_session;

/* Where the session is in RFC 2033 4 / RFC 5321 3.3. */
enum lmtp_state {
	LMTP_ST_GREETED,	/* before LHLO */
	LMTP_ST_READY,		/* after LHLO, no transaction */
	LMTP_ST_MAIL,		/* MAIL accepted: RCPT, DATA, BDAT */
	LMTP_ST_BDAT		/* chunks received, more to come */
};

/* What the input loop reads next. */
enum lmtp_input {
	LMTP_IN_LINE,		/* a command line */
	LMTP_IN_SKIP,		/* the rest of an overlong line */
	LMTP_IN_DATA,		/* DATA content up to "." */
	LMTP_IN_CHUNK		/* bdat_left bytes of a BDAT chunk */
};

/* An accepted recipient and, after the data, its delivery. */
struct lmtp_rcpt {
	struct lmtp_session	*s;
	char			*addr;		/* as given in RCPT TO */
	uint64_t		 account_id;
	uint32_t		 mailbox_id;
	uint32_t		 req_id;	/* DELIVER waiting */
	bool			 done;
	char			 reply[LMTP_PATH_MAX + 128];
};

/* The mail transaction, RFC 5321 3.3. */
struct lmtp_txn {
	struct lmtp_mail	 mail;
	struct lmtp_rcpt	*rcpts;		/* accepted, in RCPT order */
	size_t			 nrcpts;
	char			*pending_rcpt;	/* RCPT_RESOLVE waiting */
	uint32_t		 seq;		/* transactions so far */
	/*
	 * The message, CRLF line ends, capped at the size limit: it passes
	 * through msg into spool, a memfd that starts with the first
	 * recipient's Return-Path and Delivered-To lines (spool_prefix
	 * bytes), so that it is never held whole in this process's memory.
	 */
	struct buf		 msg;
	int			 spool;		/* -1 before the data */
	size_t			 spool_prefix;
	uint64_t		 spool_len;	/* bytes written to it */
	bool			 spool_failed;	/* a write failed */
	struct lmtp_data	 data;		/* DATA decoder */
	struct lmtp_crlf	 chunks;	/* BDAT normaliser */
	uint64_t		 chunk_left;	/* bytes of this chunk to read */
	bool			 chunk_last;
	bool			 chunk_ok;	/* keep it, else drop it */
	bool			 failed;	/* BDAT after a refused chunk */
	size_t			 ndelivering;	/* DELIVER replies awaited */
};

struct lmtp_session {
	TAILQ_ENTRY(lmtp_session) entry;	/* lmtpd's list */
	struct conn		*conn;		/* socket, TLS, id, addresses */
	bool			 tls_offered;	/* TCP listener: STARTTLS */
	char			 lhlo[128];	/* the client's name */
	enum lmtp_state		 state;
	enum lmtp_input		 input;
	struct buf		*in;		/* conn_in(): unconsumed */
	struct buf		*out;		/* conn_out(): unsent */
	struct lmtp_txn		 txn;
	uint32_t		 req_id;	/* RCPT_RESOLVE waiting */
	/* Private to lmtp_session.c; waiting for storaged pauses the conn. */
	bool			 processing;	/* inside the input loop */
	bool			 shutdown;	/* 421 after this transaction */
};

/*
 * Serves the accepted socket fd (taken) from peer sa; STARTTLS is offered
 * when tls_offered and a certificate is configured.  Registers with lmtpd
 * and storaged and sends the greeting.  Returns the session, owned by
 * lmtpd's list, or NULL with fd closed.
 */
struct lmtp_session *lmtp_session_new(int fd, const struct sockaddr *sa,
	    socklen_t salen, bool tls_offered);
/*
 * Closes the connection at once, cancels what the session waits for,
 * tells storaged, leaves lmtpd's list, frees and NULLs *sp.
 */
void	lmtp_session_free(struct lmtp_session **sp);

/* Appends one reply line (CRLF added) to the output. */
void	lmtp_reply(struct lmtp_session *s, const char *line);
void	lmtp_replyf(struct lmtp_session *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The handler waits for storaged: no input is read until resume. */
void	lmtp_session_wait(struct lmtp_session *s);
void	lmtp_session_resume(struct lmtp_session *s);
/* Closes once the replies written so far are sent; reason is static. */
void	lmtp_session_close(struct lmtp_session *s, const char *reason);
/* STARTTLS: the handshake starts once the 220 is sent (RFC 3207 4). */
void	lmtp_session_starttls(struct lmtp_session *s);
/* Ends the transaction: sender, recipients and message are dropped. */
void	lmtp_txn_reset(struct lmtp_session *s);

/* The master asked to stop: 421 now, or after the transaction. */
void	lmtp_session_shutdown(struct lmtp_session *s);
/* A new store channel: tells storaged about the session again. */
void	lmtp_session_store_renewed(struct lmtp_session *s,
	    struct ipc_chan *store);

/* Logs at info or debug level with the session id in front (conn.h). */
#define lmtp_session_log(s, ...)	conn_log((s)->conn, __VA_ARGS__)
#define lmtp_session_debug(s, ...)	conn_debug((s)->conn, __VA_ARGS__)
/*
 * Copies src into dst (of size bytes) for a log value: bytes other than
 * printable ASCII, and space and '=', become '?'; long values are cut.
 */
char	*lmtp_log_value(char *dst, size_t size, const char *src);

#endif
