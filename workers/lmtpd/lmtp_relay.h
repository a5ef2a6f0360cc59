/* SPDX-License-Identifier: ISC */
/*
 * lmtp_relay.h: lmtpd's outbound relay.  It sends the submissions that
 * JMAP clients queued in storaged (RFC 8621 7, EmailSubmission) to the
 * smarthost of bulwark.conf(5)'s relay { } section over SMTP (RFC 5321),
 * with STARTTLS (RFC 3207) as configured, one submission at a time.
 *
 * The relay runs only when the master sent CONF_RELAY with a host: a
 * storaged that has no RELAY_* handlers would drop the channel on the
 * first RELAY_TAKE.  It then asks storaged for work (RELAY_TAKE, with an
 * empty memfd that storaged fills with the message) when RELAY_WAKE
 * arrives and every LMTP_RELAY_POLL seconds, sends what it gets, and
 * reports each recipient's outcome with RELAY_DONE: delivered 1 after a
 * 2xx to the message's data, 2 after a 5xx, 0 (queued, tried again at
 * retry_at) after a 4xx or a failed connection.
 *
 * While a submission is being sent the relay counts as a session of the
 * worker (worker_session_add), so a graceful shutdown waits for it.
 */
#ifndef BULWARK_LMTP_RELAY_H
#define BULWARK_LMTP_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
struct ipc_chan;
struct ipc_frame;

/* Seconds between two RELAY_TAKE when storaged does not wake the relay. */
#define LMTP_RELAY_POLL		60

/*
 * Takes CONF_RELAY (a struct ipc_CONF_RELAY_req) during boot_read_config:
 * keeps the smarthost and, when STARTTLS may be used, builds the TLS
 * client context and loads the system's trusted certificates (the file
 * OpenSSL names as its default, read now: the chroot has none).  A host
 * of "" leaves the relay off.  Dies on an address that is not an IP
 * literal (the master resolves names).
 */
void	lmtp_relay_conf(const void *msg);

/* After worker_start(): starts polling if the relay is on. */
void	lmtp_relay_start(void);

/* The RELAY_WAKE handler of the store channel (storaged -> lmtpd). */
void	lmtp_relay_wake(struct ipc_chan *c, const struct ipc_frame *f,
	    const void *msg, void *arg);

/*
 * A new store channel: sends a RELAY_DONE that the old one lost, then
 * asks for work.
 */
void	lmtp_relay_store_renewed(struct ipc_chan *store);

/* SHUTDOWN: takes no more work; a submission being sent is finished. */
void	lmtp_relay_shutdown(void);

/* Frees everything (after the event loop ended). */
void	lmtp_relay_end(void);

/*
 * Appends len bytes of a message at p to out, dot-stuffed (RFC 5321
 * 4.5.2: a line that starts with "." gets another in front).  *bol says
 * whether p starts a line; it is updated for the next call.  Lines end
 * in CRLF already (storaged keeps messages so); a bare LF also ends one.
 */
void	lmtp_relay_dotstuff(struct buf *out, const uint8_t *p, size_t len,
	    bool *bol);

/*
 * Parses one line of an SMTP reply (RFC 5321 4.2: Reply-code [ "-" / SP
 * textstring ], without its CRLF).  Returns the code (200-599) and sets
 * *more when the reply goes on ("250-..."); returns -1 for a line that is
 * not a reply line.
 */
int	lmtp_relay_reply_line(const char *line, size_t len, bool *more);

/*
 * The delay before retrying a submission that attempt (1 for the first)
 * left queued: 5 minutes, 30 minutes, 2 hours, then 4 and 8 hours, and
 * 8 hours from then on (RFC 5321 4.5.4.1: at least 30 minutes between
 * tries, after the first).
 */
uint64_t lmtp_relay_backoff(unsigned attempt);
/*
 * RFC 8621 7.5: the header of the len bytes at p, up to and with its
 * empty line, without its Bcc fields, into out; returns how many bytes
 * of p that header took (len when there is no empty line).
 */
size_t	lmtp_relay_strip_bcc(const uint8_t *p, size_t len, struct buf *out);

/*
 * SMTP AUTH (RFC 4954), lmtp_relay_smtp.c.  The mechanisms named by one
 * EHLO reply line (code and separator included: "250-AUTH PLAIN LOGIN",
 * or the older "250 AUTH=LOGIN"); 0 when it is another keyword.
 */
#define LMTP_RELAY_AUTH_PLAIN	0x1u
#define LMTP_RELAY_AUTH_LOGIN	0x2u
unsigned lmtp_relay_auth_mechs(const char *line);
/*
 * Appends the command "AUTH PLAIN <base64>" (no CRLF) with RFC 4616's
 * message msg (NUL user NUL password) as the initial response.
 */
void	lmtp_relay_auth_plain(struct buf *out, const uint8_t *msg,
	    size_t len);
/*
 * LOGIN's answers: the base64 of msg's user (part 1) or password (part
 * 2).  Returns 0, or -1 if msg is not NUL user NUL password.
 */
int	lmtp_relay_auth_login(struct buf *out, const uint8_t *msg,
	    size_t len, int part);

/*
 * A TLS client context (TLS 1.2 and up) that verifies servers (verify)
 * against the PEM certificates [ca, ca + calen) or, when calen is 0, the
 * system's bundle, loaded now for the chroot; or that verifies nothing
 * (RFC 3207 4.1's opportunistic STARTTLS).  NULL with a reason in err.
 */
SSL_CTX	*lmtp_relay_tls_ctx_new(bool verify, const uint8_t *ca,
	    size_t calen, char *err, size_t errlen);
/*
 * A connection of ctx to host (a name or an address literal): SNI for a
 * name, and with verify the name or address its certificate must have.
 * NULL on failure.
 */
SSL	*lmtp_relay_ssl_new(SSL_CTX *ctx, const char *host, bool verify);

#endif
