/* SPDX-License-Identifier: ISC */
/*
 * ctl_ipc.c: bulwarkctl's side of the admin socket, synchronous because a
 * command is one request: connect, exchange HELLO (we are IPC_P_CTL, the
 * other end must be IPC_P_STORE), send the request with id 1, read its
 * reply.  Frames and codecs are the shared ones of lib/ipc.h, so the store
 * handles bulwarkctl like any other peer; the reply is checked as strictly
 * as an asynchronous channel would check it (type, id, flags, status, and
 * the decoder consuming the payload exactly).
 */
#include "ctl.h"
#include "compat.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

static void
ctl_conn_init(struct ctl_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->next_id = 1;
	ipc_rx_init(&c->rx);
}

/*
 * Explains a failed read or write (r is 0 at end of file).  Sets errno to
 * ECONNABORTED when the store closed the connection, else 0.  A store
 * that closes with our bytes unread makes Linux report ECONNRESET.
 */
static void
ctl_io_error(int r, int err, const char **error_r)
{
	if (r == 0 || err == ECONNRESET || err == EPIPE) {
		*error_r = "the store closed the connection";
		errno = ECONNABORTED;
		return;
	}
	if (err == EAGAIN || err == EWOULDBLOCK)
		*error_r = "no answer from the store in time";
	else if (err != 0)
		*error_r = strerror(err);
	errno = 0;
}

/* Sends one frame; the store never sends a descriptor to bulwarkctl. */
static int
ctl_send(struct ctl_conn *c, uint16_t type, uint32_t id, const void *msg,
    const char **error_r)
{
	struct buf out = BUF_INIT;
	int r;

	ipc_encode(&out, type, 0, id, 0, msg);
	r = ipc_write_blocking(c->fd, &out, -1);
	if (r == -1)
		ctl_io_error(-1, errno, error_r);
	/* The request may hold a password. */
	buf_clear(&out);
	return r;
}

/* Reads the next frame; end of file and timeouts are errors here. */
static int
ctl_recv(struct ctl_conn *c, struct ipc_frame *f, const char **error_r)
{
	int r;

	errno = 0;
	if ((r = ipc_rx_read_blocking(&c->rx, c->fd, f, error_r)) == 1)
		return 0;
	ctl_io_error(r, errno, error_r);
	return -1;
}

int
ctl_conn_open(struct ctl_conn *c, int fd, const char **error_r)
{
	struct ipc_HELLO_req hello = {
		.major = IPC_VERSION_MAJOR, .minor = IPC_VERSION_MINOR,
		.peer = IPC_P_CTL, .name = "bulwarkctl",
	};
	struct ipc_HELLO_req peer;
	struct ipc_frame f;
	int saved;

	ctl_conn_init(c);
	c->fd = fd;
	if (ctl_send(c, IPC_T_HELLO, 0, &hello, error_r) == -1 ||
	    ctl_recv(c, &f, error_r) == -1) {
		/* The store closes a peer it does not accept at once. */
		saved = errno;
		ctl_close(c);
		errno = saved;
		return -1;
	}
	if (f.type != IPC_T_HELLO || f.flags != 0 || f.id != 0 ||
	    ipc_decode_req(&f, &peer, error_r) == -1) {
		*error_r = "the peer did not start with HELLO";
		goto fail;
	}
	if (peer.major != IPC_VERSION_MAJOR) {
		*error_r = "the store speaks another protocol version";
		goto fail;
	}
	if (peer.peer != IPC_P_STORE) {
		*error_r = "the peer is not the store";
		goto fail;
	}
	strlcpy(c->peer, peer.name, sizeof(c->peer));
	return 0;
fail:
	ctl_close(c);
	errno = 0;
	return -1;
}

int
ctl_connect(struct ctl_conn *c, const char *path, const char **error_r)
{
	struct timeval tv = { .tv_sec = CTL_TIMEOUT };
	struct sockaddr_un sun;
	int fd, saved;

	ctl_conn_init(c);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		*error_r = "socket path too long";
		errno = 0;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*error_r = strerror(errno);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		*error_r = strerror(saved);
		close(fd);
		errno = saved;
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return ctl_conn_open(c, fd, error_r);
}

/* Decodes a reply payload: status, text, then the fields if ok. */
static int
ctl_reply_decode(const struct ipc_frame *f, void *rep,
    enum ipc_status *st_r, const char **text_r, const char **error_r)
{
	const struct ipc_type_info *ti = ipc_type_get(f->type);
	struct wire_reader r;
	uint32_t st;
	const char *text;
	int ok;

	wire_reader_init(&r, f->data, f->len);
	wire_get_U32(&r, &st);
	wire_get_STR(&r, &text);
	if (r.err == NULL && st >= IPC_S_MAX) {
		*error_r = "reply with an unknown status";
		return -1;
	}
	if (r.err == NULL && st == IPC_S_OK) {
		memset(rep, 0, ti->rep_size);
		ok = ti->rep_dec(&r, rep);
	} else
		ok = wire_reader_finish(&r);
	if (ok == -1 || r.err != NULL) {
		*error_r = "malformed reply from the store";
		return -1;
	}
	*st_r = (enum ipc_status)st;
	*text_r = text;
	return 0;
}

int
ctl_call(struct ctl_conn *c, uint16_t type, const void *req, void *rep,
    enum ipc_status *st_r, const char **text_r, const char **error_r)
{
	struct ipc_frame f;
	uint32_t id = c->next_id++;

	if (c->fd == -1) {
		*error_r = "not connected";
		return -1;
	}
	if (ipc_type_get(type) == NULL) {
		*error_r = "unknown request type";
		return -1;
	}
	if (ctl_send(c, type, id, req, error_r) == -1 ||
	    ctl_recv(c, &f, error_r) == -1)
		return -1;
	if (f.type != type || f.flags != IPC_F_REPLY || f.id != id) {
		*error_r = "unexpected frame from the store";
		return -1;
	}
	return ctl_reply_decode(&f, rep, st_r, text_r, error_r);
}

void
ctl_close(struct ctl_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	ipc_rx_clear(&c->rx);
}
