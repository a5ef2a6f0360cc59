/* SPDX-License-Identifier: ISC */
/*
 * conn.c: a worker's connection on a libevent bufferevent, in clear or with
 * TLS (RFC 8314 implicit TLS, RFC 3207 and RFC 9051 6.2.1 STARTTLS), with
 * the timeouts, the close that waits for the output, and the log prefix.
 *
 * Ownership: a cleartext connection's bufferevent does not own the socket,
 * so that STARTTLS can hand the socket to a TLS bufferevent; a TLS
 * bufferevent owns its socket and SSL object.  The session is ended
 * (cb->end) only from the bufferevent's callbacks or from the close event,
 * never from inside the session's own input loop or command handlers.
 *
 * COMPRESS=DEFLATE (RFC 4978) sits between the session's buffers and the
 * bufferevent, so it is under the protocol and above TLS (RFC 4978 3):
 * conn_flush() deflates conn_out() into the bufferevent with Z_SYNC_FLUSH,
 * so that every response the session hands over is complete on the wire,
 * and conn_pull() inflates what the bufferevent read into conn_in().  One
 * bufferevent keeps serving the socket, its timeouts and its back-pressure
 * (they count compressed bytes), and nothing changes for a conn that never
 * compresses.
 *
 * Reading in clear is ours, not the bufferevent's: libevent 2.1 reads at
 * most 4096 bytes a call (EVBUFFER_MAX_READ, with an ioctl(FIONREAD) and a
 * trip through the loop each time), which for a 100 KB LMTP message was 25
 * reads and a fifth of lmtpd's time.  conn_read_cb() reads up to
 * CONN_READ_MAX at once into the bufferevent's input buffer, so that
 * everything above (conn_pull(), the inflater, STARTTLS) is unchanged; it
 * keeps the bufferevent's rules: the idle timeout while reading, reading
 * suspended at in_high bytes ahead of the session and resumed by
 * conn_pull(), an end of file or error to conn_event_cb().  The bufferevent
 * keeps the writing.  TLS connections read through bufferevent_openssl.
 *
 * Memory: the inflater needs the full 32 KiB window (RFC 1951 allows the
 * peer distances up to 32 KiB, and RFC 4978 lets the client pick any
 * window), at most about 39 KiB kept while compression is on; a smaller
 * window would fail on a client that uses the whole of it.  The deflater,
 * with windowBits 15 and memLevel 8 for the best ratio on IMAP's repetitive
 * responses, takes about 262 KiB; it lives only while there is output:
 * CONN_ZIDLE seconds after the output was last sent it is freed (every
 * flush ended on a byte boundary with Z_SYNC_FLUSH, and a fresh deflater
 * starts a new block that refers to nothing before it, which the peer's
 * inflater takes as the same stream).  A smaller memLevel or window would
 * cost ratio on every response for memory that an idle connection does not
 * hold anyway.  zlib's large buffers are mapped pages (conn_zalloc), so
 * untouched pages cost nothing and a freed deflater goes back to the
 * system: measured, an idle compressed IMAP connection costs about 14 KiB
 * more than a plain one (17 KiB against 3.5 KiB resident), one that has
 * just answered about 49 KiB.
 */
#include "conn.h"
#include "compat.h"
#include "ipc.h"
#include "log.h"
#include "tls.h"
#include "worker.h"
#include "xmalloc.h"

#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <sodium.h>
#include <zlib.h>

/* Seconds without output after which the deflater is freed. */
#define CONN_ZIDLE		5
/* Deflate level: RFC 4978 4 advises 1-5 to spare both ends' CPU. */
#define CONN_ZLEVEL		5
/* Bytes of zlib output produced per step. */
#define CONN_ZCHUNK		16384
/* Bytes read from a cleartext socket at most per read(2). */
#define CONN_READ_MAX		(64 * 1024)
/* zlib's buffers from this size on are pages of their own (conn_zalloc). */
#define CONN_ZMMAP		(16 * 1024)

/* COMPRESS=DEFLATE state (RFC 4978); NULL while compression is off. */
struct conn_zlib {
	z_stream		 in;		/* inflate, windowBits -15 */
	z_stream		 out;		/* deflate, while out_on */
	bool			 out_on;	/* deflateInit2 done */
	bool			 in_more;	/* inflate may have more output */
	bool			 in_end;	/* the client's stream ended */
	bool			 stopping;	/* UNAUTHENTICATE: ends at in_end */
	struct event		*ev_idle;	/* frees the deflater */
	uint64_t		 raw_in, raw_out;	/* session's bytes */
	uint64_t		 wire_in, wire_out;	/* compressed bytes */
};

struct conn {
	uint64_t		 id;
	int			 fd;
	struct bufferevent	*bev;
	struct event		*ev_read;	/* cleartext reading, or NULL */
	bool			 read_on;	/* ev_read is added */
	SSL			*ssl;		/* NULL without TLS */
	bool			 tls;		/* TLS is on */
	char			 remote[64];
	char			 local[64];
	struct buf		 in;
	struct buf		 out;
	int			 idle_timeout;
	size_t			 in_high;
	const struct conn_cb	*cb;
	void			*arg;
	struct event		*ev_close;
	const char		*close_reason;	/* a log token, static */
	char			 close_detail[128];
	bool			 paused;	/* the session waits */
	bool			 closing;	/* flush output, then end */
	bool			 starttls;	/* TLS once the output is out */
	struct conn_zlib	*z;		/* COMPRESS=DEFLATE, or NULL */
};

static void	conn_setup_bev(struct conn *);
static void	conn_read_resume(struct conn *);
static void	conn_read_stop(struct conn *);
static void	conn_event_cb(struct bufferevent *, short, void *);

/* --- Logging --- */

static void
conn_vlog(const struct conn *c, bool debug, const char *fmt, va_list ap)
{
	char msg[900];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (debug)
		log_debug("%016llx %s", (unsigned long long)c->id, msg);
	else
		log_info("%016llx %s", (unsigned long long)c->id, msg);
}

void
conn_log(const struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vlog(c, false, fmt, ap);
	va_end(ap);
}

void
conn_debug(const struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (log_get_verbose() < 1)
		return;
	va_start(ap, fmt);
	conn_vlog(c, true, fmt, ap);
	va_end(ap);
}

char *
conn_log_value(char *dst, size_t size, const char *src, size_t len)
{
	size_t i;

	if (size == 0)
		return dst;
	if (src == NULL || len == 0) {
		strlcpy(dst, "-", size);
		return dst;
	}
	for (i = 0; i < len && i < size - 1; i++)
		dst[i] = src[i] > ' ' && src[i] < 0x7f && src[i] != '=' ?
		    src[i] : '?';
	dst[i] = '\0';
	return dst;
}

/* "192.0.2.7:143", "[2001:db8::7]:143", or "unix". */
static void
conn_addr_format(const struct sockaddr *sa, socklen_t salen, char *buf,
    size_t size)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET && salen >= sizeof(*sin) &&
	    inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)) != NULL)
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
	else if (sa->sa_family == AF_INET6 && salen >= sizeof(*sin6) &&
	    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)) != NULL)
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
	else if (sa->sa_family == AF_UNIX)
		strlcpy(buf, "unix", size);
	else
		strlcpy(buf, "unknown", size);
}

/* --- Accessors --- */

uint64_t
conn_id(const struct conn *c)
{
	return c->id;
}

const char *
conn_remote(const struct conn *c)
{
	return c->remote;
}

const char *
conn_local(const struct conn *c)
{
	return c->local;
}

bool
conn_is_tls(const struct conn *c)
{
	return c->tls;
}

SSL *
conn_ssl(const struct conn *c)
{
	return c->ssl;
}

struct buf *
conn_in(struct conn *c)
{
	return &c->in;
}

struct buf *
conn_out(struct conn *c)
{
	return &c->out;
}

void
conn_pause(struct conn *c)
{
	c->paused = true;
}

void
conn_resume(struct conn *c)
{
	c->paused = false;
}

bool
conn_is_paused(const struct conn *c)
{
	return c->paused;
}

bool
conn_is_closing(const struct conn *c)
{
	return c->closing;
}

void
conn_set_reason(struct conn *c, const char *reason)
{
	if (c->close_reason == NULL)
		c->close_reason = reason;
}

void
conn_send_open(const struct conn *c, struct ipc_chan *store,
    const char *proto)
{
	struct ipc_SESSION_OPEN_req m;

	m.proto = proto;
	m.remote = c->remote;
	m.local = c->local;
	m.tls = c->tls;
	ipc_send(store, IPC_T_SESSION_OPEN, c->id, &m, -1);
}

/* --- Input and output --- */

static bool	conn_pull_inflate(struct conn *);
static void	conn_flush_deflate(struct conn *, int);
static void	conn_zlib_free(struct conn *);

bool
conn_pull(struct conn *c)
{
	struct evbuffer *in;
	bool got = false;
	size_t n;

	if (c->bev == NULL)
		return false;
	if (c->z != NULL && (got = conn_pull_inflate(c), c->z != NULL)) {
		conn_read_resume(c);
		return got;
	}
	in = bufferevent_get_input(c->bev);
	if ((n = evbuffer_get_length(in)) == 0) {
		conn_read_resume(c);
		return got;
	}
	buf_reserve(&c->in, n);
	if (evbuffer_remove(in, buf_tail(&c->in), n) != (int)n)
		fatalx("evbuffer_remove");
	buf_commit(&c->in, n);
	conn_read_resume(c);
	return true;
}

void
conn_flush(struct conn *c)
{
	size_t off;
	ssize_t n;

	if (c->out.len == 0 || c->bev == NULL)
		return;
	/* Stopping, the output is plain already (RFC 8437 4.1). */
	if (c->z != NULL && !c->z->stopping) {
		conn_flush_deflate(c, Z_SYNC_FLUSH);
		return;
	}
	/*
	 * In clear, with nothing queued before it, the output goes straight
	 * to the socket: most responses leave in one send(2), without the
	 * bufferevent's two epoll_ctl(2) and a trip through the loop.  What
	 * the socket does not take (or an error, which the bufferevent then
	 * meets and reports) is queued as usual.  Before STARTTLS the reply
	 * is queued: the write callback starts TLS once it is out.
	 */
	off = 0;
	if (c->ssl == NULL && c->z == NULL && !c->starttls &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		do {
			n = send(c->fd, c->out.data + off, c->out.len - off,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		} while (n > 0 && (off += (size_t)n) < c->out.len);
	}
	if (off < c->out.len && bufferevent_write(c->bev, c->out.data + off,
	    c->out.len - off) == -1)
		conn_debug(c, "bufferevent_write failed");
	buf_reset(&c->out);
}

size_t
conn_sendfile(struct conn *c, int fd, uint64_t *off, uint64_t len)
{
	off_t o;
	size_t sent = 0;
	ssize_t n;

	if (c->bev == NULL || c->closing || c->ssl != NULL || c->z != NULL ||
	    c->starttls || c->out.len > 0 ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return 0;
	while (sent < len) {
		o = (off_t)*off;
		n = sendfile(c->fd, fd, &o, len - sent > (1u << 30) ? 1u << 30 :
		    (size_t)(len - sent));
		if (n == -1 && errno == EINTR)
			continue;
		/*
		 * Full (EAGAIN), or an error that the bufferevent meets and
		 * reports on the next write, or the file ended early.
		 */
		if (n <= 0)
			break;
		*off += (uint64_t)n;
		sent += (size_t)n;
	}
	return sent;
}

size_t
conn_out_pending(const struct conn *c)
{
	return c->out.len + (c->bev == NULL ? 0 :
	    evbuffer_get_length(bufferevent_get_output(c->bev)));
}

bool
conn_may_read(const struct conn *c, size_t out_high)
{
	return c->bev != NULL && !c->paused && !c->closing && !c->starttls &&
	    conn_out_pending(c) < out_high;
}

/* --- COMPRESS=DEFLATE (RFC 4978) --- */

/*
 * zlib's allocator.  Its large buffers (the windows, the deflater's hash
 * tables) are mapped pages of their own: the pages a small stream never
 * touches cost nothing, and a freed deflater goes back to the system at
 * once instead of staying in the heap between other connections' data.
 */
struct conn_zhdr {
	size_t	 len;		/* of the whole allocation */
	size_t	 mapped;
};

static voidpf
conn_zalloc(voidpf opaque, uInt items, uInt size)
{
	struct conn_zhdr *h;
	size_t n;
	void *p;

	(void)opaque;
	if (size != 0 && items > (SIZE_MAX - sizeof(*h)) / size)
		return Z_NULL;
	n = (size_t)items * size + sizeof(*h);
	if (n >= CONN_ZMMAP) {
		p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return Z_NULL;
	} else if ((p = malloc(n)) == NULL)
		return Z_NULL;
	h = p;
	h->len = n;
	h->mapped = n >= CONN_ZMMAP;
	return h + 1;
}

static void
conn_zfree(voidpf opaque, voidpf address)
{
	struct conn_zhdr *h = (struct conn_zhdr *)address - 1;

	(void)opaque;
	if (h->mapped)
		(void)munmap(h, h->len);
	else
		free(h);
}

static void
conn_zlib_free(struct conn *c)
{
	struct conn_zlib *z = c->z;

	if (z == NULL)
		return;
	conn_debug(c, "compress end in=%llu/%llu out=%llu/%llu",
	    (unsigned long long)z->wire_in, (unsigned long long)z->raw_in,
	    (unsigned long long)z->wire_out, (unsigned long long)z->raw_out);
	(void)inflateEnd(&z->in);
	if (z->out_on)
		(void)deflateEnd(&z->out);
	event_free(z->ev_idle);
	free(z);
	c->z = NULL;
}

/* No output for CONN_ZIDLE seconds: the deflater goes until next time. */
static void
conn_zidle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct conn_zlib *z = c->z;
	struct timeval tv = { CONN_ZIDLE, 0 };

	(void)fd;
	(void)what;
	if (!z->out_on)
		return;
	if (conn_out_pending(c) > 0) {
		evtimer_add(z->ev_idle, &tv);	/* a slow reader */
		return;
	}
	(void)deflateEnd(&z->out);
	z->out_on = false;
	conn_debug(c, "compress idle deflater freed");
}

/*
 * Deflates conn_out() into the bufferevent and ends with flush: Z_SYNC_FLUSH
 * (the peer can inflate everything sent) or Z_FINISH (the stream ends).
 */
static void
conn_flush_deflate(struct conn *c, int flush)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct conn_zlib *z = c->z;
	struct timeval tv = { CONN_ZIDLE, 0 };
	struct evbuffer_iovec v;
	int r;

	if (!z->out_on) {
		memset(&z->out, 0, sizeof(z->out));
		z->out.zalloc = conn_zalloc;
		z->out.zfree = conn_zfree;
		if (deflateInit2(&z->out, CONN_ZLEVEL, Z_DEFLATED, -15, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK)
			fatalx("deflateInit2 failed");
		z->out_on = true;
	}
	z->out.next_in = c->out.data;
	z->out.avail_in = (uInt)c->out.len;
	z->raw_out += c->out.len;
	do {
		if (evbuffer_reserve_space(out, CONN_ZCHUNK, &v, 1) < 1)
			fatalx("evbuffer_reserve_space");
		z->out.next_out = v.iov_base;
		z->out.avail_out = (uInt)(v.iov_len > UINT32_MAX ?
		    UINT32_MAX : v.iov_len);
		v.iov_len = z->out.avail_out;
		r = deflate(&z->out, flush);
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
			fatalx("deflate: %d", r);
		v.iov_len -= z->out.avail_out;
		z->wire_out += v.iov_len;
		if (evbuffer_commit_space(out, &v, 1) == -1)
			fatalx("evbuffer_commit_space");
	} while (z->out.avail_out == 0 ||
	    (flush == Z_FINISH && r != Z_STREAM_END));
	buf_reset(&c->out);
	if (flush == Z_FINISH) {
		(void)deflateEnd(&z->out);
		z->out_on = false;
	} else
		evtimer_add(z->ev_idle, &tv);
}

/* The client's stream ended (its final block, RFC 1951 3.2.3). */
static void
conn_inflate_end(struct conn *c)
{
	struct conn_zlib *z = c->z;

	z->in_end = true;
	z->in_more = false;
	/* What follows is plain; the output side already stopped. */
	if (z->stopping)
		conn_zlib_free(c);
}

/* Bad compressed input: the connection ends, the log says why. */
static void
conn_zlib_error(struct conn *c, const char *msg)
{
	size_t i;

	strlcpy(c->close_detail, msg != NULL ? msg : "inflate",
	    sizeof(c->close_detail));
	for (i = 0; c->close_detail[i] != '\0'; i++)
		if (c->close_detail[i] == ' ' || c->close_detail[i] == '=')
			c->close_detail[i] = '_';
	conn_close(c, "compress-error");
}

/*
 * Inflates what the bufferevent read into conn_in(), at most about
 * in_high bytes a call (a small compressed input may stand for much more;
 * the session asks again when it needs more).  An error closes the conn.
 */
static bool
conn_pull_inflate(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct conn_zlib *z = c->z;
	struct evbuffer_iovec v;
	size_t made = 0, used, n;
	int r;

	while (made < c->in_high && c->z != NULL && !c->closing) {
		n = evbuffer_get_length(in);
		if (z->in_end) {
			/* Compressed input ended without UNAUTHENTICATE. */
			if (n > 0)
				conn_zlib_error(c, "data after the end");
			break;
		}
		if (n == 0 && !z->in_more)
			break;
		v.iov_base = NULL;
		v.iov_len = 0;
		if (n > 0 && evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			fatalx("evbuffer_peek");
		if (v.iov_len > UINT32_MAX)
			v.iov_len = UINT32_MAX;
		buf_reserve(&c->in, CONN_ZCHUNK);
		z->in.next_in = v.iov_base;
		z->in.avail_in = (uInt)v.iov_len;
		z->in.next_out = buf_tail(&c->in);
		z->in.avail_out = CONN_ZCHUNK;
		r = inflate(&z->in, Z_SYNC_FLUSH);
		used = v.iov_len - z->in.avail_in;
		n = CONN_ZCHUNK - z->in.avail_out;
		evbuffer_drain(in, used);
		buf_commit(&c->in, n);
		z->wire_in += used;
		z->raw_in += n;
		made += n;
		z->in_more = z->in.avail_out == 0;
		if (r == Z_STREAM_END) {
			/* Plain input may follow: the session decides. */
			conn_inflate_end(c);
			break;
		} else if (r == Z_BUF_ERROR || (r == Z_OK && used + n == 0)) {
			if (v.iov_len > 0 && used + n == 0) {
				conn_zlib_error(c, "inflate stalled");
				break;
			}
		} else if (r != Z_OK) {
			conn_zlib_error(c, z->in.msg);
			break;
		}
	}
	return made > 0;
}

bool
conn_is_compressed(const struct conn *c)
{
	return c->z != NULL && !c->z->stopping;
}

int
conn_compress_start(struct conn *c)
{
	struct conn_zlib *z;

	if (c->z != NULL || c->bev == NULL)
		return -1;
	/* The OK that turns compression on goes out as it is. */
	conn_flush(c);
	z = xcalloc(1, sizeof(*z));
	z->in.zalloc = conn_zalloc;
	z->in.zfree = conn_zfree;
	if (inflateInit2(&z->in, -15) != Z_OK) {
		free(z);
		return -1;
	}
	if ((z->ev_idle = evtimer_new(worker_base(), conn_zidle_cb,
	    c)) == NULL)
		fatalx("evtimer_new");
	c->z = z;
	conn_debug(c, "compress start");
	return 0;
}

void
conn_compress_stop(struct conn *c)
{
	struct conn_zlib *z = c->z;

	if (z == NULL || z->stopping || c->bev == NULL)
		return;
	/* Everything written so far, then the final block. */
	conn_flush_deflate(c, Z_FINISH);
	evtimer_del(z->ev_idle);
	z->stopping = true;
	if (z->in_end)
		conn_zlib_free(c);
}

/* --- Closing --- */

void
conn_close(struct conn *c, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_reason = reason;
	/*
	 * A TLS handshake under way reads to finish (a session may refuse a
	 * client before the handshake is done, and its last words wait for
	 * it); reading stops when it is done.
	 */
	if (c->bev != NULL && (c->ssl == NULL ||
	    SSL_is_init_finished(c->ssl)))
		bufferevent_disable(c->bev, EV_READ);
	conn_read_stop(c);
	/* Ended from the event loop once the output is out. */
	event_active(c->ev_close, EV_TIMEOUT, 0);
}

/* The end of a close: everything is sent. */
static void
conn_finish(struct conn *c)
{
	/* A graceful end says so to a TLS peer (close_notify). */
	if (c->ssl != NULL && SSL_is_init_finished(c->ssl)) {
		(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	c->cb->end(c->arg);
}

static void
conn_close_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	conn_flush(c);
	if (conn_out_pending(c) == 0)
		conn_finish(c);
	/* else the write callback finishes when the output is drained */
}

/* Frees the bufferevent; a cleartext one leaves the socket open. */
static void
conn_bev_free(struct conn *c)
{
	if (c->bev == NULL)
		return;
	/*
	 * Take its events out of the loop now: libevent may finish freeing
	 * it later, and it must not read from a socket closed (or reused)
	 * meanwhile.
	 */
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->ev_read != NULL) {
		event_free(c->ev_read);
		c->ev_read = NULL;
		c->read_on = false;
	}
	bufferevent_free(c->bev);
	c->bev = NULL;
	c->ssl = NULL;	/* owned by the TLS bufferevent, if any */
}

void
conn_free(struct conn **cp)
{
	struct conn *c = *cp;
	bool owns_fd;

	*cp = NULL;
	if (c == NULL)
		return;
	conn_log(c, "disconnect reason=%s%s%s",
	    c->close_reason != NULL ? c->close_reason : "unknown",
	    c->close_detail[0] != '\0' ? " error=" : "", c->close_detail);
	worker_session_remove();
	conn_zlib_free(c);
	owns_fd = c->ssl == NULL;
	conn_bev_free(c);
	if (owns_fd)
		close(c->fd);
	event_free(c->ev_close);
	buf_clear(&c->in);
	buf_clear(&c->out);
	free(c);
}

/* --- TLS --- */

/* A TLS bufferevent on c->fd, which it owns from now on. */
static int
conn_tls_bev(struct conn *c)
{
	SSL *ssl;

	if (worker_tls_ctx() == NULL ||
	    (ssl = SSL_new(worker_tls_ctx())) == NULL)
		return -1;
	c->bev = bufferevent_openssl_socket_new(worker_base(), c->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		SSL_free(ssl);
		return -1;
	}
	/* Clients often close without close_notify: that is an end of file. */
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	c->ssl = ssl;
	c->tls = true;
	return 0;
}

/*
 * STARTTLS, once the reply is out: whatever the client sent after the
 * command is dropped (RFC 3207 4.2, RFC 9051 6.2.1), then the handshake
 * starts on the socket.
 */
static void
conn_tls_start(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	c->starttls = false;
	if (evbuffer_get_length(in) > 0 || c->in.len > 0)
		conn_debug(c, "starttls dropped=%zu",
		    evbuffer_get_length(in) + c->in.len);
	evbuffer_drain(in, evbuffer_get_length(in));
	buf_reset(&c->in);
	conn_bev_free(c);
	if (conn_tls_bev(c) == -1) {
		c->close_reason = "tls-error";
		strlcpy(c->close_detail, "cannot start TLS",
		    sizeof(c->close_detail));
		c->cb->end(c->arg);
		return;
	}
	conn_setup_bev(c);
	if (c->cb->tls_started != NULL)
		c->cb->tls_started(c->arg);
}

void
conn_starttls(struct conn *c)
{
	c->starttls = true;
}

/* --- Bufferevent callbacks --- */

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	c->cb->input(c->arg);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (c->closing)
		conn_finish(c);
	else if (c->starttls)
		conn_tls_start(c);
	else if (!c->paused)
		c->cb->input(c->arg);	/* reading may have paused for us */
	else if (c->cb->drained != NULL)
		c->cb->drained(c->arg);
}

static void
conn_error_detail(struct conn *c, short what)
{
	unsigned long e;
	size_t i;

	if (c->ssl != NULL &&
	    (e = bufferevent_get_openssl_error(c->bev)) != 0) {
		c->close_reason = "tls-error";
		tls_error_string(e, c->close_detail, sizeof(c->close_detail));
		while (bufferevent_get_openssl_error(c->bev) != 0)
			;
	} else {
		c->close_reason = "io-error";
		strlcpy(c->close_detail, errno != 0 ? strerror(errno) :
		    (what & BEV_EVENT_READING) ? "read" : "write",
		    sizeof(c->close_detail));
	}
	/* The detail is one log value: no spaces. */
	for (i = 0; c->close_detail[i] != '\0'; i++)
		if (c->close_detail[i] == ' ')
			c->close_detail[i] = '_';
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		conn_debug(c, "tls handshake version=%s cipher=%s",
		    tls_version(c->ssl), SSL_get_cipher_name(c->ssl));
		if (c->closing)
			bufferevent_disable(c->bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (c->closing)
			return;		/* the close under way ends it */
		/*
		 * With the session idle, the answers already written may
		 * still reach a half-closed client; a session that waits is
		 * cut off (what it waits for is cancelled or lost).
		 */
		if (!c->paused && !c->starttls) {
			conn_close(c, "eof");
			return;
		}
		c->close_reason = "eof";
	} else if (what & BEV_EVENT_TIMEOUT) {
		if (c->ssl != NULL && !SSL_is_init_finished(c->ssl))
			c->close_reason = "tls-timeout";
		else if ((what & BEV_EVENT_READING) && !c->closing) {
			c->cb->idle(c->arg);
			conn_close(c, "idle-timeout");
			return;
		} else
			c->close_reason = "write-timeout";
	} else if (!c->closing)
		conn_error_detail(c, what);
	c->cb->end(c->arg);
}

/* --- Reading in clear (see the top of the file) --- */

/* Reading goes on if the session is not CONN_READ_MAX behind. */
static void
conn_read_resume(struct conn *c)
{
	struct timeval tv = { c->idle_timeout, 0 };

	if (c->ev_read == NULL || c->read_on || c->closing ||
	    evbuffer_get_length(bufferevent_get_input(c->bev)) >= c->in_high)
		return;
	if (event_add(c->ev_read, &tv) == -1)
		fatalx("event_add");
	c->read_on = true;
}

static void
conn_read_stop(struct conn *c)
{
	if (c->ev_read == NULL || !c->read_on)
		return;
	(void)event_del(c->ev_read);
	c->read_on = false;
}

static void
conn_clear_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec v;
	size_t want, have;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		conn_read_stop(c);
		conn_event_cb(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT,
		    c);
		return;
	}
	have = evbuffer_get_length(in);
	want = c->in_high - have;	/* > 0: reading stops at in_high */
	if (want > CONN_READ_MAX)
		want = CONN_READ_MAX;
	/* The bufferevent keeps its input's end frozen to all but itself. */
	evbuffer_unfreeze(in, 0);
	if (evbuffer_reserve_space(in, (ev_ssize_t)want, &v, 1) < 1)
		fatalx("evbuffer_reserve_space");
	if (v.iov_len > want)
		v.iov_len = want;
	n = read(fd, v.iov_base, v.iov_len);
	if (n > 0) {
		v.iov_len = (size_t)n;
		if (evbuffer_commit_space(in, &v, 1) == -1)
			fatalx("evbuffer_commit_space");
	}
	evbuffer_freeze(in, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_read_stop(c);
		if (n == 0)
			errno = 0;
		conn_event_cb(c->bev, BEV_EVENT_READING |
		    (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), c);
		return;
	}
	if (have + (size_t)n >= c->in_high)
		conn_read_stop(c);
	c->cb->input(c->arg);
}

static void
conn_setup_bev(struct conn *c)
{
	struct timeval tv = { c->idle_timeout, 0 };

	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	if (c->ssl != NULL) {
		bufferevent_setwatermark(c->bev, EV_READ, 0, c->in_high);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	bufferevent_enable(c->bev, EV_WRITE);
	if ((c->ev_read = event_new(worker_base(), c->fd, EV_READ | EV_PERSIST,
	    conn_clear_read_cb, c)) == NULL)
		fatalx("event_new");
	conn_read_resume(c);
}

/* --- Life cycle --- */

struct conn *
conn_new(int fd, const struct sockaddr *sa, socklen_t salen, bool tls,
    int idle_timeout, size_t in_high, const struct conn_cb *cb, void *arg)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct conn *c;
	int one = 1;

	/*
	 * Sessions write whole responses and flush them when a command (or a
	 * pipelined group) is answered; Nagle would hold a second small write
	 * back until the client's delayed ACK (~40 ms), which a pipelining
	 * client (Postfix's LMTP, RFC 2920) never hurries with data.
	 */
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->cb = cb;
	c->arg = arg;
	c->idle_timeout = idle_timeout;
	c->in_high = in_high;
	do {
		randombytes_buf(&c->id, sizeof(c->id));
	} while (c->id == 0);
	conn_addr_format(sa, salen, c->remote, sizeof(c->remote));
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		conn_addr_format((struct sockaddr *)&ss, sslen, c->local,
		    sizeof(c->local));
	else
		strlcpy(c->local, "unknown", sizeof(c->local));
	if ((c->ev_close = event_new(worker_base(), -1, 0, conn_close_cb,
	    c)) == NULL)
		fatalx("event_new");
	if (tls ? conn_tls_bev(c) == -1 :
	    (c->bev = bufferevent_socket_new(worker_base(), fd,
	    BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		log_warnx("cannot serve connection from %s", c->remote);
		event_free(c->ev_close);
		close(fd);
		free(c);
		return NULL;
	}
	conn_setup_bev(c);
	worker_session_add();
	return c;
}
