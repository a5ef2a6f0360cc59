/* SPDX-License-Identifier: ISC */
/*
 * lmtp_cmd.h: the command table, which is RFC 2033 4's command list with
 * the extensions of the LHLO reply (RFC 2920 PIPELINING, RFC 2034
 * ENHANCEDSTATUSCODES, RFC 6152 8BITMIME, RFC 1870 SIZE, RFC 3030
 * CHUNKING, RFC 6531 SMTPUTF8, RFC 3207 STARTTLS), and the ends of the
 * message data that hand the transaction to lmtp_deliver.c.
 */
#ifndef BULWARK_LMTP_CMD_H
#define BULWARK_LMTP_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "lmtp_session.h"

/*
 * Runs the command line at line (len bytes without its line end,
 * NUL-terminated, valid during the call): answers it, or leaves the
 * session waiting for storaged or reading message data.
 */
void	lmtp_cmd_run(struct lmtp_session *s, const char *line, size_t len);
/* The DATA content ended with ".": deliver it, or refuse it if too big. */
void	lmtp_cmd_data_end(struct lmtp_session *s);
/* A BDAT chunk was read in full. */
void	lmtp_cmd_chunk_end(struct lmtp_session *s);

/*
 * lmtp_deliver.c: the spool.  lmtp_spool_begin() opens it for the data of
 * the transaction (its recipients are known by then); lmtp_spool_flush()
 * moves what has been decoded into it once there is enough of it, or all
 * of it when force.  A failure is remembered: every recipient gets 451.
 */
void	lmtp_spool_begin(struct lmtp_session *s);
void	lmtp_spool_flush(struct lmtp_session *s, bool force);

/*
 * lmtp_deliver.c: delivers the message of the transaction to every
 * accepted recipient (DELIVER to storaged, one memfd each), then writes
 * one reply per recipient in RCPT order (RFC 2033 4.2), ends the
 * transaction and resumes the session.
 */
void	lmtp_deliver(struct lmtp_session *s);
/* Refuses the message for every recipient with the reply code and text. */
void	lmtp_deliver_refuse(struct lmtp_session *s, const char *code,
	    const char *text);

#endif
