/* SPDX-License-Identifier: ISC */
/*
 * ipc.c: frame reader and writer, and asynchronous channels on libevent
 * (protocol in ipc.h).
 */
#include "ipc.h"
#include "compat.h"
#include "log.h"
#include "xmalloc.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define IPC_READ_CHUNK	65536

/* --- Frame reader --- */

void
ipc_rx_init(struct ipc_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	rx->frame_fd = -1;
}

void
ipc_rx_clear(struct ipc_rx *rx)
{
	int i;

	for (i = 0; i < rx->nfds; i++)
		close(rx->fds[i]);
	if (rx->frame_fd != -1)
		close(rx->frame_fd);
	buf_clear(&rx->in);
	ipc_rx_init(rx);
}

ssize_t
ipc_rx_fill(struct ipc_rx *rx, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
	} cmsgbuf;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	size_t want, need;
	ssize_t n;
	int *fds, i, nfds, overflow = 0;

	want = IPC_READ_CHUNK;
	if (rx->in.len >= IPC_HDR_SIZE) {
		/* The rest of a big frame in one read, not 64 KiB at a time. */
		need = (size_t)wire_be32_get(rx->in.data) + IPC_HDR_SIZE;
		if (need > IPC_HDR_SIZE + IPC_MAX_PAYLOAD)
			need = IPC_HDR_SIZE + IPC_MAX_PAYLOAD;
		if (need > rx->in.len && need - rx->in.len > want)
			want = need - rx->in.len;
	}
	buf_reserve(&rx->in, want);
	iov.iov_base = buf_tail(&rx->in);
	iov.iov_len = want;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	do {
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (int *)CMSG_DATA(cmsg);
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			if (rx->nfds < IPC_MAX_FDS)
				rx->fds[rx->nfds++] = fds[i];
			else {
				close(fds[i]);
				overflow = 1;
			}
		}
	}
	if (overflow || (msg.msg_flags & MSG_CTRUNC)) {
		errno = EMSGSIZE;
		return -1;
	}
	buf_commit(&rx->in, n);
	return n;
}

int
ipc_rx_next(struct ipc_rx *rx, struct ipc_frame *f, const char **error_r)
{
	const uint8_t *p;

	if (rx->frame_len > 0) {
		buf_consume(&rx->in, rx->frame_len);
		rx->frame_len = 0;
	}
	if (rx->frame_fd != -1) {
		close(rx->frame_fd);
		rx->frame_fd = -1;
	}
	if (rx->in.len < IPC_HDR_SIZE)
		return 0;
	p = rx->in.data;
	f->len = wire_be32_get(p);
	f->type = wire_be16_get(p + 4);
	f->flags = wire_be16_get(p + 6);
	f->id = wire_be32_get(p + 8);
	f->session = wire_be64_get(p + 12);
	f->fd = -1;
	if (f->len > IPC_MAX_PAYLOAD) {
		*error_r = "frame too large";
		return -1;
	}
	if (f->flags & ~(IPC_F_REPLY | IPC_F_FD)) {
		*error_r = "unknown frame flags";
		return -1;
	}
	if (rx->in.len - IPC_HDR_SIZE < f->len)
		return 0;
	if (f->flags & IPC_F_FD) {
		if (rx->nfds == 0) {
			*error_r = "frame without its descriptor";
			return -1;
		}
		f->fd = rx->frame_fd = rx->fds[0];
		memmove(rx->fds, rx->fds + 1, --rx->nfds * sizeof(int));
	}
	f->data = p + IPC_HDR_SIZE;
	rx->frame_len = IPC_HDR_SIZE + f->len;
	return 1;
}

int
ipc_frame_take_fd(struct ipc_rx *rx)
{
	int fd = rx->frame_fd;

	rx->frame_fd = -1;
	return fd;
}

int
ipc_rx_read_blocking(struct ipc_rx *rx, int fd, struct ipc_frame *f,
    const char **error_r)
{
	ssize_t n;
	int r;

	for (;;) {
		if ((r = ipc_rx_next(rx, f, error_r)) != 0)
			return r;
		if ((n = ipc_rx_fill(rx, fd)) == 0)
			return 0;
		if (n == -1) {
			*error_r = strerror(errno);
			return -1;
		}
	}
}

int
ipc_decode_req(const struct ipc_frame *f, void *msg, const char **error_r)
{
	const struct ipc_type_info *ti = ipc_type_get(f->type);
	struct wire_reader r;

	if (ti == NULL) {
		*error_r = "unknown message type";
		return -1;
	}
	memset(msg, 0, ti->req_size);
	wire_reader_init(&r, f->data, f->len);
	if (ti->req_dec(&r, msg) == -1) {
		*error_r = r.err;
		return -1;
	}
	return 0;
}

static void
ipc_put_header(uint8_t *p, uint32_t len, uint16_t type, uint16_t flags,
    uint32_t id, uint64_t session)
{
	wire_be32_put(p, len);
	wire_be16_put(p + 4, type);
	wire_be16_put(p + 6, flags);
	wire_be32_put(p + 8, id);
	wire_be64_put(p + 12, session);
}

/* Encodes header and payload; enc fills the payload after the header. */
static void
ipc_encode_with(struct buf *out, uint16_t type, uint16_t flags, uint32_t id,
    uint64_t session, void (*enc)(struct buf *, const void *),
    const void *msg, int status, const char *text)
{
	size_t start = out->len, len;
	uint8_t hdr[IPC_HDR_SIZE] = { 0 };

	buf_append(out, hdr, sizeof(hdr));
	if (status >= 0) {
		wire_put_U32(out, (uint32_t)status);
		wire_put_STR(out, text);
	}
	if (enc != NULL && msg != NULL)
		enc(out, msg);
	len = out->len - start - IPC_HDR_SIZE;
	/*
	 * A reply that outgrew its frame is a bug of the handler's budget,
	 * not of the peer: the peer gets an error in its place, and this
	 * process (storaged, for every session) goes on.
	 */
	if (len > IPC_MAX_PAYLOAD && status >= 0 && enc != NULL) {
		log_warnx("ipc: %s reply of %zu bytes is too large",
		    ipc_type_get(type)->name, len);
		out->len = start;
		ipc_encode_with(out, type, flags, id, session, NULL, NULL,
		    IPC_S_TOOBIG, "reply too large for one frame");
		return;
	}
	if (len > IPC_MAX_PAYLOAD)
		fatalx("ipc: %s frame of %zu bytes is too large",
		    ipc_type_get(type)->name, len);
	ipc_put_header(out->data + start, (uint32_t)len, type, flags, id,
	    session);
}

void
ipc_encode(struct buf *out, uint16_t type, uint16_t flags, uint32_t id,
    uint64_t session, const void *msg)
{
	const struct ipc_type_info *ti = ipc_type_get(type);

	if (ti == NULL)
		fatalx("ipc_encode: unknown type %u", type);
	ipc_encode_with(out, type, flags, id, session, ti->req_enc, msg, -1,
	    NULL);
}

void
ipc_encode_reply(struct buf *out, uint16_t type, uint32_t id,
    uint64_t session, enum ipc_status st, const char *text, const void *rep)
{
	const struct ipc_type_info *ti = ipc_type_get(type);

	if (ti == NULL)
		fatalx("ipc_encode_reply: unknown type %u", type);
	ipc_encode_with(out, type, IPC_F_REPLY, id, session,
	    st == IPC_S_OK ? ti->rep_enc : NULL, rep, (int)st,
	    text == NULL ? "" : text);
}

/* One sendmsg of iov with fd (or -1) attached. */
static ssize_t
ipc_sendmsg(int sock, const void *p, size_t len, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	ssize_t n;

	iov.iov_base = (void *)p;
	iov.iov_len = len;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd != -1) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	return n;
}

int
ipc_write_blocking(int sock, const struct buf *out, int fd)
{
	size_t off = 0;
	ssize_t n;

	while (off < out->len) {
		n = ipc_sendmsg(sock, out->data + off, out->len - off,
		    off == 0 ? fd : -1);
		if (n == -1)
			return -1;
		off += n;
	}
	return 0;
}

/* --- Channels --- */

struct ipc_pending {
	uint32_t	 id;		/* 0: free slot */
	uint16_t	 type;
	ipc_reply_cb	*cb;		/* NULL: cancelled */
	void		*arg;
};

struct ipc_outfd {
	uint64_t	 pos;		/* stream offset of its frame */
	int		 fd;
};

struct ipc_chan {
	struct event_base	*base;
	int			 fd;
	struct event		*ev_read, *ev_write;
	struct ipc_rx		 rx;
	struct buf		 out;
	uint64_t		 out_pos;	/* stream offset of out.data */
	struct ipc_outfd	*ofds;
	size_t			 nofds, cofds;
	struct ipc_chan_params	 p;
	ipc_handler_fn		*fns[IPC_T_MAX];
	char			 peer_name[32];
	bool			 hello;
	bool			 failed;	/* closed, waiting for free */
	bool			 dead;		/* freed inside a callback */
	int			 write_errno;	/* a write failed */
	int			 busy;		/* dispatch depth */
	struct ipc_pending	*pend;
	uint32_t		 pend_mask;	/* slots - 1 */
	uint32_t		 npend;
	uint32_t		 next_id;
	uint64_t		 serial;
};

static uint64_t ipc_serial_next = 1;

static void ipc_chan_flush(struct ipc_chan *);
static void ipc_queue_fd(struct ipc_chan *, int);
static void ipc_chan_destroy(struct ipc_chan *);

static struct ipc_pending *
ipc_pend_find(struct ipc_chan *c, uint32_t id)
{
	struct ipc_pending *pe = &c->pend[id & c->pend_mask];

	return pe->id == id ? pe : NULL;
}

/* Doubles the table until every pending id has its own slot. */
static void
ipc_pend_grow(struct ipc_chan *c)
{
	struct ipc_pending *old = c->pend, *np;
	uint32_t oldn = c->pend_mask + 1, n = oldn, i;
	bool ok;

	do {
		n *= 2;
		np = xcalloc(n, sizeof(*np));
		ok = true;
		for (i = 0; i < oldn && ok; i++) {
			if (old[i].id == 0)
				continue;
			if (np[old[i].id & (n - 1)].id != 0)
				ok = false;
			else
				np[old[i].id & (n - 1)] = old[i];
		}
		if (!ok)
			free(np);
	} while (!ok);
	free(old);
	c->pend = np;
	c->pend_mask = n - 1;
}

/* Runs every pending callback with IPC_S_UNAVAIL. */
static void
ipc_pend_fail_all(struct ipc_chan *c)
{
	struct ipc_pending pe;
	uint32_t i;

	for (i = 0; i <= c->pend_mask && c->npend > 0; i++) {
		if (c->pend[i].id == 0)
			continue;
		pe = c->pend[i];
		c->pend[i].id = 0;
		c->npend--;
		if (pe.cb != NULL)
			pe.cb(c, IPC_S_UNAVAIL, "channel closed", NULL, pe.arg);
	}
}

static void
ipc_chan_fail(struct ipc_chan *c, const char *why)
{
	if (c->failed || c->dead)
		return;
	c->failed = true;
	event_del(c->ev_read);
	event_del(c->ev_write);
	/* A peer that exits is routine; a peer that misbehaves is not. */
	if (strcmp(why, "end of file") == 0 ||
	    strcmp(why, strerror(ECONNRESET)) == 0)
		log_debug("ipc: channel to %s %s closed: %s",
		    ipc_peer_name(c->p.peer), c->peer_name, why);
	else
		log_warnx("ipc: channel to %s %s closed: %s",
		    ipc_peer_name(c->p.peer), c->peer_name, why);
	c->busy++;
	ipc_pend_fail_all(c);
	if (c->p.close_cb != NULL && !c->dead)
		c->p.close_cb(c, why, c->p.arg);
	c->busy--;
	if (c->dead && c->busy == 0)
		ipc_chan_destroy(c);
}

static void
ipc_dispatch_reply(struct ipc_chan *c, const struct ipc_frame *f)
{
	const struct ipc_type_info *ti = ipc_type_get(f->type);
	union ipc_msg_any msg;
	struct ipc_pending *pe, copy;
	struct wire_reader r;
	uint32_t st;
	const char *text;

	if ((pe = ipc_pend_find(c, f->id)) == NULL || pe->type != f->type) {
		ipc_chan_fail(c, "reply to no request");
		return;
	}
	if ((f->flags & IPC_F_FD) && !(ti->flags & IPC_REPLY_FD)) {
		ipc_chan_fail(c, "descriptor with a reply that takes none");
		return;
	}
	memset(&msg, 0, sizeof(msg));
	wire_reader_init(&r, f->data, f->len);
	wire_get_U32(&r, &st);
	wire_get_STR(&r, &text);
	if (r.err == NULL && st == IPC_S_OK)
		ti->rep_dec(&r, &msg);
	else if (r.err == NULL && st >= IPC_S_MAX)
		r.err = "bad status";
	if (wire_reader_finish(&r) == -1) {
		ipc_chan_fail(c, r.err);
		return;
	}
	copy = *pe;
	pe->id = 0;
	c->npend--;
	if (copy.cb != NULL)
		copy.cb(c, st, text, st == IPC_S_OK ? &msg : NULL, copy.arg);
}

static void
ipc_dispatch_hello(struct ipc_chan *c, const struct ipc_frame *f)
{
	struct ipc_HELLO_req m;
	const char *err;

	if (f->type != IPC_T_HELLO || (f->flags & IPC_F_REPLY)) {
		ipc_chan_fail(c, "first frame is not hello");
		return;
	}
	if (ipc_decode_req(f, &m, &err) == -1) {
		ipc_chan_fail(c, err);
		return;
	}
	if (m.major != IPC_VERSION_MAJOR) {
		ipc_chan_fail(c, "protocol version mismatch");
		return;
	}
	if (m.peer != c->p.peer) {
		ipc_chan_fail(c, "unexpected peer kind");
		return;
	}
	strlcpy(c->peer_name, m.name, sizeof(c->peer_name));
	c->hello = true;
}

static void
ipc_dispatch(struct ipc_chan *c, const struct ipc_frame *f)
{
	const struct ipc_type_info *ti = ipc_type_get(f->type);
	union ipc_msg_any msg;
	const char *err;
	bool oneway, wantfd;

	if (LOG_IS_TRACE(LOG_TRACE_IPC))
		log_trace(LOG_TRACE_IPC, "ipc: recv %s%s id=%u session=%016llx "
		    "len=%u from=%s", ti != NULL ? ti->name : "?",
		    (f->flags & IPC_F_REPLY) ? " reply" : "", f->id,
		    (unsigned long long)f->session, f->len, c->peer_name);
	if (ti == NULL) {
		ipc_chan_fail(c, "unknown message type");
		return;
	}
	if (!c->hello) {
		ipc_dispatch_hello(c, f);
		return;
	}
	if (f->type == IPC_T_HELLO) {
		ipc_chan_fail(c, "second hello");
		return;
	}
	if (f->flags & IPC_F_REPLY) {
		ipc_dispatch_reply(c, f);
		return;
	}
	oneway = (ti->flags & IPC_ONEWAY) != 0;
	wantfd = (ti->flags & IPC_FD) != 0;
	if ((ti->from & c->p.peer) == 0 || c->fns[f->type] == NULL) {
		ipc_chan_fail(c, "message not allowed from this peer");
		return;
	}
	if (wantfd != ((f->flags & IPC_F_FD) != 0) ||
	    oneway != (f->id == 0)) {
		ipc_chan_fail(c, "bad frame flags for its type");
		return;
	}
	if (ipc_decode_req(f, &msg, &err) == -1) {
		ipc_chan_fail(c, err);
		return;
	}
	c->fns[f->type](c, f, &msg, c->p.arg);
}

static void
ipc_chan_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_chan *c = arg;
	struct ipc_frame f;
	const char *err = NULL;
	ssize_t n;
	int r;

	(void)fd;
	(void)what;
	if (c->write_errno != 0) {
		ipc_chan_fail(c, strerror(c->write_errno));
		return;
	}
	n = ipc_rx_fill(&c->rx, c->fd);
	if (n == 0) {
		ipc_chan_fail(c, "end of file");
		return;
	}
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			ipc_chan_fail(c, strerror(errno));
		return;
	}
	c->busy++;
	while (!c->dead && !c->failed &&
	    (r = ipc_rx_next(&c->rx, &f, &err)) == 1)
		ipc_dispatch(c, &f);
	if (!c->dead && !c->failed && err != NULL)
		ipc_chan_fail(c, err);
	c->busy--;
	if (c->dead) {
		if (c->busy == 0)
			ipc_chan_destroy(c);
		return;
	}
	ipc_chan_flush(c);
}

static void
ipc_chan_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ipc_chan_flush(arg);
}

static void
ipc_chan_flush(struct ipc_chan *c)
{
	size_t n;
	ssize_t w;
	int fd;

	while (c->out.len > 0 && !c->failed && c->write_errno == 0) {
		n = c->out.len;
		fd = -1;
		if (c->nofds > 0) {
			if (c->ofds[0].pos == c->out_pos) {
				fd = c->ofds[0].fd;
				if (c->nofds > 1)
					n = c->ofds[1].pos - c->out_pos;
			} else
				n = c->ofds[0].pos - c->out_pos;
		}
		w = ipc_sendmsg(c->fd, c->out.data, n, fd);
		if (w == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(c->ev_write, NULL);
				return;
			}
			/*
			 * Fail from the event loop, never inside the
			 * caller's ipc_send: it may still hold c.
			 */
			c->write_errno = errno;
			event_del(c->ev_write);
			event_active(c->ev_read, EV_READ, 0);
			return;
		}
		buf_consume(&c->out, w);
		c->out_pos += w;
		if (fd != -1) {
			close(fd);
			memmove(c->ofds, c->ofds + 1,
			    --c->nofds * sizeof(*c->ofds));
		}
	}
	event_del(c->ev_write);
}

/*
 * Called after a frame was queued: writes at once unless we are dispatching,
 * when the frames of one read go out together after it.
 */
static void
ipc_chan_queue(struct ipc_chan *c)
{
	if (c->busy == 0)
		ipc_chan_flush(c);
}

struct ipc_chan *
ipc_chan_new(struct event_base *base, int fd,
    const struct ipc_chan_params *params)
{
	struct ipc_chan *c = xcalloc(1, sizeof(*c));
	const struct ipc_handler *h;
	struct ipc_HELLO_req hello;
	int fl;

	c->base = base;
	c->fd = fd;
	c->p = *params;
	c->serial = ipc_serial_next++;
	if (params->rx != NULL) {
		c->rx = *params->rx;
		ipc_rx_init(params->rx);
	} else
		ipc_rx_init(&c->rx);
	c->hello = params->peer_hello_seen;
	c->p.rx = NULL;
	for (h = params->handlers; h != NULL && h->type != 0; h++)
		if (h->type < IPC_T_MAX)
			c->fns[h->type] = h->fn;
	c->pend = xcalloc(16, sizeof(*c->pend));
	c->pend_mask = 15;
	c->next_id = 1;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		log_warn("ipc: fcntl");
	c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST,
	    ipc_chan_read_cb, c);
	c->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST,
	    ipc_chan_write_cb, c);
	if (c->ev_read == NULL || c->ev_write == NULL)
		fatalx("ipc: event_new");
	event_add(c->ev_read, NULL);
	hello.major = IPC_VERSION_MAJOR;
	hello.minor = IPC_VERSION_MINOR;
	hello.peer = params->self;
	hello.name = params->name;
	ipc_send(c, IPC_T_HELLO, 0, &hello, -1);
	if (c->rx.in.len > 0 || c->rx.nfds > 0)
		event_active(c->ev_read, EV_READ, 0);
	return c;
}

static void
ipc_chan_destroy(struct ipc_chan *c)
{
	size_t i;

	event_free(c->ev_read);
	event_free(c->ev_write);
	close(c->fd);
	ipc_rx_clear(&c->rx);
	buf_clear(&c->out);
	for (i = 0; i < c->nofds; i++)
		close(c->ofds[i].fd);
	free(c->ofds);
	free(c->pend);
	free(c);
}

void
ipc_chan_free(struct ipc_chan **cp)
{
	struct ipc_chan *c = *cp;

	*cp = NULL;
	if (c == NULL || c->dead)
		return;
	c->dead = true;
	event_del(c->ev_read);
	event_del(c->ev_write);
	c->busy++;
	ipc_pend_fail_all(c);
	c->busy--;
	if (c->busy == 0)
		ipc_chan_destroy(c);
}

const char *
ipc_chan_peer_name(const struct ipc_chan *c)
{
	return c->peer_name;
}

uint64_t
ipc_chan_serial(const struct ipc_chan *c)
{
	return c->serial;
}

void
ipc_chan_set_arg(struct ipc_chan *c, void *arg)
{
	c->p.arg = arg;
}

size_t
ipc_chan_pending_out(const struct ipc_chan *c)
{
	return c->out.len;
}

int
ipc_chan_take_fd(struct ipc_chan *c)
{
	return ipc_frame_take_fd(&c->rx);
}

static bool
ipc_chan_usable(struct ipc_chan *c, int fd)
{
	if (c->failed || c->dead) {
		if (fd != -1)
			close(fd);
		return false;
	}
	return true;
}

void
ipc_send(struct ipc_chan *c, uint16_t type, uint64_t session,
    const void *msg, int fd)
{
	const struct ipc_type_info *ti = ipc_type_get(type);

	if (ti == NULL || !(ti->flags & IPC_ONEWAY) ||
	    ((ti->flags & IPC_FD) != 0) != (fd != -1))
		fatalx("ipc_send: misuse of type %u", type);
	if (!ipc_chan_usable(c, fd))
		return;
	if (fd != -1)
		ipc_queue_fd(c, fd);
	ipc_encode(&c->out, type, fd != -1 ? IPC_F_FD : 0, 0, session, msg);
	ipc_chan_queue(c);
}

void
ipc_send_encoded(struct ipc_chan *c, const struct buf *frames)
{
	if (!ipc_chan_usable(c, -1))
		return;
	buf_append(&c->out, frames->data, frames->len);
	ipc_chan_queue(c);
}

/* Queues fd to go with the first byte of the frame about to be encoded. */
static void
ipc_queue_fd(struct ipc_chan *c, int fd)
{
	if (c->nofds == c->cofds) {
		c->cofds = c->cofds ? c->cofds * 2 : 4;
		c->ofds = xreallocarray(c->ofds, c->cofds, sizeof(*c->ofds));
	}
	c->ofds[c->nofds].pos = c->out_pos + c->out.len;
	c->ofds[c->nofds++].fd = fd;
}

uint32_t
ipc_request_fd(struct ipc_chan *c, uint16_t type, uint64_t session,
    const void *msg, int fd, ipc_reply_cb *cb, void *arg)
{
	const struct ipc_type_info *ti = ipc_type_get(type);
	struct ipc_pending *pe;
	uint32_t id;

	if (ti == NULL || (ti->flags & IPC_ONEWAY) ||
	    ((ti->flags & IPC_FD) != 0) != (fd != -1))
		fatalx("ipc_request: misuse of type %u", type);
	if (c->failed || c->dead) {
		if (fd != -1)
			close(fd);
		cb(c, IPC_S_UNAVAIL, "channel closed", NULL, arg);
		return 0;
	}
	do {
		id = c->next_id++;
	} while (id == 0 || ipc_pend_find(c, id) != NULL);
	while (c->pend[id & c->pend_mask].id != 0)
		ipc_pend_grow(c);
	pe = &c->pend[id & c->pend_mask];
	pe->id = id;
	pe->type = type;
	pe->cb = cb;
	pe->arg = arg;
	c->npend++;
	if (fd != -1)
		ipc_queue_fd(c, fd);
	ipc_encode(&c->out, type, fd != -1 ? IPC_F_FD : 0, id, session, msg);
	ipc_chan_queue(c);
	return id;
}

uint32_t
ipc_request(struct ipc_chan *c, uint16_t type, uint64_t session,
    const void *msg, ipc_reply_cb *cb, void *arg)
{
	return ipc_request_fd(c, type, session, msg, -1, cb, arg);
}

void
ipc_cancel(struct ipc_chan *c, uint32_t id)
{
	struct ipc_pending *pe;

	if (c == NULL || id == 0 || (pe = ipc_pend_find(c, id)) == NULL)
		return;
	pe->cb = NULL;
	pe->arg = NULL;
}

void
ipc_reqref_set(struct ipc_reqref *ref, const struct ipc_frame *f)
{
	ref->type = f->type;
	ref->id = f->id;
	ref->session = f->session;
}

void
ipc_reply_ref(struct ipc_chan *c, const struct ipc_reqref *ref,
    enum ipc_status st, const char *text, const void *rep)
{
	ipc_reply_ref_fd(c, ref, st, text, rep, -1);
}

void
ipc_reply_ref_fd(struct ipc_chan *c, const struct ipc_reqref *ref,
    enum ipc_status st, const char *text, const void *rep, int fd)
{
	const struct ipc_type_info *ti = ipc_type_get(ref->type);

	if (ti == NULL)
		fatalx("ipc_reply: unknown type %u", ref->type);
	if (fd != -1 && !(ti->flags & IPC_REPLY_FD))
		fatalx("ipc_reply: type %s takes no descriptor", ti->name);
	if (!ipc_chan_usable(c, fd))
		return;
	if (fd != -1)
		ipc_queue_fd(c, fd);
	ipc_encode_with(&c->out, ref->type, IPC_F_REPLY |
	    (fd != -1 ? IPC_F_FD : 0), ref->id, ref->session,
	    st == IPC_S_OK ? ti->rep_enc : NULL, rep, (int)st,
	    text == NULL ? "" : text);
	ipc_chan_queue(c);
}

void
ipc_reply(struct ipc_chan *c, const struct ipc_frame *f, enum ipc_status st,
    const char *text, const void *rep)
{
	struct ipc_reqref ref;

	ipc_reqref_set(&ref, f);
	ipc_reply_ref(c, &ref, st, text, rep);
}
