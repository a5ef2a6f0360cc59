/* SPDX-License-Identifier: ISC */
/*
 * imapd.h: the imapd process as its sessions see it: the configuration the
 * master sent, the TLS context, the store channel, and the list of sessions
 * (imapd.c keeps the process state; imap_session.c serves connections).
 */
#ifndef BULWARK_IMAPD_H
#define BULWARK_IMAPD_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct ipc_chan;
struct imap_session;

/* CONF_IMAP, with defaults for the values the master left at 0. */
struct imapd_conf {
	char		 hostname[256];
	bool		 cleartext_auth;	/* logins without TLS */
	uint32_t	 idle_timeout;		/* seconds */
	uint32_t	 max_line;		/* bytes of a command line */
	uint32_t	 max_connections;	/* per process */
	uint32_t	 max_per_remote;	/* per address, 0: no limit */
	uint32_t	 max_per_user;		/* per account, 0: no limit */
};

/* Returns the configuration; valid for the life of the process. */
const struct imapd_conf *imapd_conf(void);
/* Returns the TLS context, or NULL when no certificate is configured. */
SSL_CTX	*imapd_tls_ctx(void);
/*
 * Returns the channel to storaged, or NULL while storaged is away (between
 * its death and the STORE_CHANNEL that brings the next one).  Borrowed: do
 * not keep it past the current callback.
 */
struct ipc_chan *imapd_store(void);
/* Takes session s into the process's list (imap_session_new() calls it). */
void	imapd_session_add(struct imap_session *s);
/* Removes s from the list (imap_session_free() calls it). */
void	imapd_session_remove(struct imap_session *s);

#endif
