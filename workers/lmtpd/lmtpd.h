/* SPDX-License-Identifier: ISC */
/*
 * lmtpd.h: the lmtpd process as its sessions see it: the configuration the
 * master sent (CONF_LMTP) and the list of sessions.  The event loop, the
 * channels, the listeners and the TLS context are lib/worker.h's.
 */
#ifndef BULWARK_LMTPD_H
#define BULWARK_LMTPD_H

#include <stdbool.h>
#include <stdint.h>

struct lmtp_session;

/* CONF_LMTP, with defaults for the values the master left at 0. */
struct lmtpd_conf {
	char		 hostname[256];
	uint64_t	 max_message_size;	/* bytes, RFC 1870 */
	uint32_t	 max_recipients;	/* per transaction */
	uint32_t	 idle_timeout;		/* seconds */
	uint32_t	 max_line;		/* bytes of a command line */
	uint32_t	 max_connections;	/* per process */
};

/* Returns the configuration; valid for the life of the process. */
const struct lmtpd_conf *lmtpd_conf(void);
/* Takes session s into the process's list (lmtp_session_new() calls it). */
void	lmtpd_session_add(struct lmtp_session *s);
/* Removes s from the list (lmtp_session_free() calls it). */
void	lmtpd_session_remove(struct lmtp_session *s);

#endif
