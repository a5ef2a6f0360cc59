/* SPDX-License-Identifier: ISC */
/*
 * lmtp_push.h: lmtpd's JMAP push client (RFC 8620 7.2).  storaged queues
 * PushVerification and StateChange objects for the push subscriptions
 * of its users; lmtpd takes them one at a time (PUSH_TAKE, when
 * PUSH_WAKE arrives and every LMTP_PUSH_POLL seconds), POSTs each to its
 * https URL as RFC 8030 5 says (TTL, Content-Encoding aes128gcm when the
 * body is encrypted) over HTTP/1.1 and TLS, and reports the status
 * (PUSH_DONE; 0 when none came).
 *
 * Names are resolved with libevent's evdns against the name servers of
 * /etc/resolv.conf, read before the chroot (lmtp_push_preconfine).  The
 * resolved address must not be loopback, private (RFC 1918, RFC 4193),
 * link-local, unspecified, multicast or otherwise special unless push {
 * allow-local yes } (bulwark.conf(5)): a subscription URL must not let a
 * user reach the server's own network (RFC 8620 8.6).  The certificate
 * must verify against the system's CAs or push { ca }, for the URL's
 * host name (or IP address).  Each step (resolution, connection, TLS and
 * request, status line) has push { timeout } seconds.
 */
#ifndef BULWARK_LMTP_PUSH_H
#define BULWARK_LMTP_PUSH_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ipc_chan;
struct ipc_frame;

#define LMTP_PUSH_POLL		60	/* seconds between unasked takes */
#define LMTP_PUSH_TIMEOUT	30	/* default of push { timeout } */
#define LMTP_PUSH_HOST_MAX	255
#define LMTP_PUSH_PATH_MAX	2048
#define LMTP_PUSH_LINE_MAX	1024	/* the status line we read */

/* An https URL (RFC 3986 3, RFC 9110 4.2.2) split for a request. */
struct lmtp_push_url {
	char		 host[LMTP_PUSH_HOST_MAX + 1];	/* no brackets */
	uint16_t	 port;				/* 443 if none */
	char		 path[LMTP_PUSH_PATH_MAX + 1];	/* with query */
	bool		 literal;	/* host is an IP address */
	bool		 v6;		/* host is an IPv6 address */
};

/*
 * Parses url: "https://" host [ ":" port ] [ path-abempty [ "?" query ]
 * ] [ "#" fragment ], host a reg-name (letters, digits, "-", ".") or an
 * IPv4 address or an IPv6 address in brackets.  No userinfo, no percent
 * signs in the host, port 1-65535, path of printable ASCII ("/" when
 * empty); the fragment is dropped (RFC 9110 7.1: not sent).  Returns 0,
 * or -1 with *why set (a static string).
 */
int	lmtp_push_url_parse(const char *url, struct lmtp_push_url *u,
	    const char **why);

/*
 * Whether lmtpd may connect to sa: false for loopback, unspecified,
 * RFC 1918 and RFC 6598 shared, link-local, multicast, broadcast and
 * reserved IPv4, and for IPv6 loopback, unspecified, ULA (fc00::/7),
 * link-local (fe80::/10), site-local, multicast, documentation, and
 * IPv4-mapped or NAT64 addresses of those, unless allow_local.
 */
bool	lmtp_push_addr_ok(const struct sockaddr *sa, bool allow_local);

/*
 * Reads an HTTP/1.x status line (RFC 9112 4: HTTP-version SP
 * status-code SP [ reason-phrase ]) of len bytes without its CRLF.
 * Returns the status code (100-599) or -1.
 */
int	lmtp_push_status_line(const char *line, size_t len);

/* CONF_PUSH (struct ipc_CONF_PUSH_req) during boot_read_config. */
void	lmtp_push_conf(const void *msg);
/*
 * Before the chroot: the TLS client context with push { ca } or the
 * system's CA file, and the name servers of /etc/resolv.conf.
 */
void	lmtp_push_preconfine(void);
/* After worker_start(): evdns, the poll timer, a first take. */
void	lmtp_push_start(void);
/* PUSH_WAKE from storaged. */
void	lmtp_push_wake(struct ipc_chan *c, const struct ipc_frame *f,
	    const void *msg, void *arg);
/* A new store channel: reports a lost PUSH_DONE, takes again. */
void	lmtp_push_store_renewed(struct ipc_chan *store);
/* SHUTDOWN: no more takes; a push under way finishes. */
void	lmtp_push_shutdown(void);
/* Frees everything after the loop. */
void	lmtp_push_end(void);

#endif
