/* SPDX-License-Identifier: ISC */
/*
 * conn.h: the connection layer under a network worker's protocol sessions
 * (imapd, lmtpd): an accepted socket on a libevent bufferevent, in clear or
 * with TLS from the first byte (RFC 8314) or after STARTTLS on the same
 * socket (RFC 3207, RFC 9051 6.2.1); input and output buffers with
 * back-pressure; the idle and write timeouts; closing once the output is
 * sent, with close_notify to a TLS peer; COMPRESS=DEFLATE (RFC 4978) between
 * the session and TLS; the session id and remote and local
 * addresses in every log line; and the count of sessions kept by worker.h.
 *
 * The protocol session owns its conn and frees it with conn_free() from its
 * own free function.  The conn never frees the session: when the connection
 * ends (end of file, error, timeout, or a close whose output is sent), it
 * calls cb->end, from the event loop only, never from inside a conn_*
 * call; the session then frees itself and its conn.  Everything runs on
 * worker_base() and uses worker_tls_ctx().
 */
#ifndef BULWARK_CONN_H
#define BULWARK_CONN_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "buf.h"

struct conn;
struct ipc_chan;

/* What a conn calls back; arg is the one given to conn_new(). */
struct conn_cb {
	/*
	 * Input arrived, or the output drained below what stopped reading.
	 * Not called while the conn is paused, closing or switching to TLS.
	 */
	void	(*input)(void *arg);
	/*
	 * No input for the idle timeout: write a last line to conn_out() if
	 * the protocol has one; the conn then closes with "idle-timeout".
	 */
	void	(*idle)(void *arg);
	/*
	 * STARTTLS: the handshake has started; input pipelined before it was
	 * dropped.  The session forgets what it learnt in clear.  May be NULL.
	 */
	void	(*tls_started)(void *arg);
	/* The connection is over: free the session, and with it the conn. */
	void	(*end)(void *arg);
	/*
	 * All output was sent while the conn is paused: a command streaming a
	 * large response writes its next part.  May be NULL.
	 */
	void	(*drained)(void *arg);
};

/*
 * Serves the accepted socket fd (taken) from peer sa (salen bytes), with
 * implicit TLS if tls.  Reads at most in_high bytes ahead of the session;
 * idle_timeout (seconds) applies to reading and to writing.  cb is borrowed
 * for the life of the conn.  Counts the session in (worker_session_add).
 * Returns the conn, or NULL (logged) with fd closed.
 */
struct conn *conn_new(int fd, const struct sockaddr *sa, socklen_t salen,
	    bool tls, int idle_timeout, size_t in_high,
	    const struct conn_cb *cb, void *arg);
/*
 * Logs the disconnect line with the reason, closes the connection at once
 * (the socket, and the TLS bufferevent that owns it), counts the session
 * out (worker_session_remove), frees *cp and NULLs it.  *cp may be NULL.
 */
void	 conn_free(struct conn **cp);

/* The random session id (never 0), the first token of every log line. */
uint64_t conn_id(const struct conn *c);
/* "192.0.2.7:143", "[2001:db8::7]:143", "unix" or "unknown"; borrowed. */
const char *conn_remote(const struct conn *c);
const char *conn_local(const struct conn *c);
/* Whether TLS is on (it may still be in its handshake). */
bool	 conn_is_tls(const struct conn *c);
/* The TLS connection, or NULL without TLS; borrowed. */
SSL	*conn_ssl(const struct conn *c);

/*
 * The input read so far and not consumed by the session, and the output
 * written by the session and not yet handed to the socket.  Both live as
 * long as the conn, across STARTTLS.
 */
struct buf *conn_in(struct conn *c);
struct buf *conn_out(struct conn *c);
/* Moves what the socket has read into conn_in(); false if nothing. */
bool	 conn_pull(struct conn *c);
/* Hands conn_out() to the socket. */
void	 conn_flush(struct conn *c);
/*
 * Sends up to len bytes of the file fd from *off (advanced) straight to
 * the socket with sendfile(2), when nothing is queued before them and the
 * connection is in clear (no TLS, no COMPRESS): the bytes are never
 * copied through the process.  Returns the bytes sent, 0 when the socket
 * is full or the connection cannot take them this way (the caller then
 * writes them as usual).  The file must not change while they may be in
 * flight: the socket's queue refers to its pages.
 */
size_t	 conn_sendfile(struct conn *c, int fd, uint64_t *off, uint64_t len);
/* Bytes written and not yet sent (conn_out() and the socket's queue). */
size_t	 conn_out_pending(const struct conn *c);
/*
 * Whether the session may consume more input now: not paused, closing or
 * switching to TLS, and less than out_high bytes wait to be sent.
 */
bool	 conn_may_read(const struct conn *c, size_t out_high);

/*
 * A paused conn does not call cb->input (the socket is still read ahead,
 * up to in_high, so that an end of file is seen); an end of file or error
 * then ends the connection at once.  conn_resume() does not call
 * cb->input: the session goes on reading by itself.
 */
void	 conn_pause(struct conn *c);
void	 conn_resume(struct conn *c);
bool	 conn_is_paused(const struct conn *c);

/*
 * Starts TLS once the output written so far is sent: input after that is
 * dropped, then cb->tls_started is called.  The caller checked that TLS
 * is off and worker_tls_ctx() is set.  If TLS cannot start, cb->end is
 * called with reason tls-error.
 */
void	 conn_starttls(struct conn *c);

/*
 * COMPRESS=DEFLATE (RFC 4978): sends the output written so far as it is
 * (the tagged OK), then compresses all later output with raw deflate (RFC
 * 1951), each conn_flush() ending in a Z_SYNC_FLUSH so that nothing the
 * session flushed is held back, and decompresses all input the socket
 * delivers from now on; conn_in() and conn_out() go on carrying plain
 * bytes.  Input the session holds in conn_in() already stays as it is
 * (RFC 4978 3: the client waits for the OK).  Under TLS, compression is
 * inside it (RFC 4978 3).  conn_starttls() must not be called while it is
 * on.  Returns 0, or -1 if compression is on already or cannot start.
 */
int	 conn_compress_start(struct conn *c);
/*
 * Ends compression (RFC 8437 4.1, UNAUTHENTICATE): the output written so
 * far is compressed and the stream finished with a final block; later
 * output goes out plain.  Input is decompressed until the client's
 * stream ends with its final block; what follows it is plain.
 */
void	 conn_compress_stop(struct conn *c);
/* Whether compression is on (started, and not stopped). */
bool	 conn_is_compressed(const struct conn *c);

/*
 * Stops reading and ends the connection (cb->end) once the output written
 * so far is sent.  reason (a static log token) goes to the disconnect line;
 * later calls do nothing.
 */
void	 conn_close(struct conn *c, const char *reason);
bool	 conn_is_closing(const struct conn *c);
/* Sets the disconnect reason (static) unless one is set already. */
void	 conn_set_reason(struct conn *c, const char *reason);

/* Tells storaged about the session (SESSION_OPEN), for protocol proto. */
void	 conn_send_open(const struct conn *c, struct ipc_chan *store,
	    const char *proto);

/* Logs at info or debug level with the session id in front. */
void	 conn_log(const struct conn *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 conn_debug(const struct conn *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Copies src (len bytes; NULL or empty gives "-") into dst (of size bytes)
 * for a log value: bytes other than printable ASCII, and space and '=',
 * become '?', so that a client cannot forge key=value pairs; long values
 * are cut.  Returns dst.
 */
char	*conn_log_value(char *dst, size_t size, const char *src, size_t len);

#endif
