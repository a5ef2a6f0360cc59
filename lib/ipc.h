/* SPDX-License-Identifier: ISC */
/*
 * ipc.h: framed, typed messages between Bulwark processes over Unix sockets.
 *
 * A frame is a 20-byte big-endian header followed by a payload of typed
 * values (wire.h):
 *
 *	u32 length	payload bytes, at most IPC_MAX_PAYLOAD
 *	u16 type	enum ipc_type (ipc_types.def)
 *	u16 flags	IPC_F_REPLY, IPC_F_FD
 *	u32 id		request id, echoed in the reply; 0 for notifications
 *	u64 session	the worker session the frame acts for; 0 for none
 *
 * A descriptor travels as SCM_RIGHTS with the first byte of its frame.
 * Each side's first frame is HELLO with the protocol version and its peer
 * kind; a channel whose peer is not the expected kind, or whose major version
 * differs, is closed.  Any malformed frame (unknown type, a sender the type
 * does not allow, a payload its decoder rejects, a reply nobody asked for)
 * closes the channel and is logged; it never ends the process.
 *
 * Every request gets exactly one reply, whose payload starts with a status
 * (enum ipc_status) and a text, followed by the reply fields when the status
 * is IPC_S_OK.  When a channel closes, every pending request's callback runs
 * once with IPC_S_UNAVAIL.
 */
#ifndef BULWARK_IPC_H
#define BULWARK_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "ipc_msg.h"

struct event_base;

#define IPC_VERSION_MAJOR	1
#define IPC_VERSION_MINOR	0

#define IPC_HDR_SIZE		20
#define IPC_MAX_PAYLOAD		(1u << 20)
#define IPC_MAX_FDS		16	/* received but not yet claimed */

#define IPC_F_REPLY		0x0001
#define IPC_F_FD		0x0002

struct ipc_frame {
	uint32_t	 len;
	uint16_t	 type;
	uint16_t	 flags;
	uint32_t	 id;
	uint64_t	 session;
	const uint8_t	*data;		/* payload, valid during the callback */
	int		 fd;		/* IPC_F_FD: borrowed unless claimed */
};

/* A received request kept for an asynchronous reply. */
struct ipc_reqref {
	uint16_t	 type;
	uint32_t	 id;
	uint64_t	 session;
};

/* Incremental frame reader shared by channels and blocking readers. */
struct ipc_rx {
	struct buf	 in;
	int		 fds[IPC_MAX_FDS];
	int		 nfds;
	size_t		 frame_len;	/* bytes of the frame last returned */
	int		 frame_fd;	/* its descriptor, -1 when claimed */
};

void	ipc_rx_init(struct ipc_rx *rx);
/* Closes any unclaimed descriptors and frees the buffer. */
void	ipc_rx_clear(struct ipc_rx *rx);
/*
 * Reads once from fd (recvmsg, collecting descriptors).  Returns bytes read,
 * 0 at end of file, -1 with errno (EAGAIN on a non-blocking socket).
 */
ssize_t	ipc_rx_fill(struct ipc_rx *rx, int fd);
/*
 * Parses the next complete frame into *f (the previous one is consumed
 * first).  Returns 1 with a frame, 0 if more bytes are needed, -1 on a
 * malformed header with *error_r set.
 */
int	ipc_rx_next(struct ipc_rx *rx, struct ipc_frame *f,
	    const char **error_r);
/* Takes ownership of the current frame's descriptor (else closed later). */
int	ipc_frame_take_fd(struct ipc_rx *rx);
/*
 * Blocking: reads frames from fd until one is complete.  Returns 1, 0 at end
 * of file, -1 on error with *error_r.
 */
int	ipc_rx_read_blocking(struct ipc_rx *rx, int fd, struct ipc_frame *f,
	    const char **error_r);

/*
 * Decodes a request or notification frame of known type into msg (of the
 * type's request struct).  Returns 0, or -1 with *error_r.
 */
int	ipc_decode_req(const struct ipc_frame *f, void *msg,
	    const char **error_r);
/* Encodes a whole frame (header and payload) onto out. */
void	ipc_encode(struct buf *out, uint16_t type, uint16_t flags,
	    uint32_t id, uint64_t session, const void *msg);
/* Encodes a reply frame onto out. */
void	ipc_encode_reply(struct buf *out, uint16_t type, uint32_t id,
	    uint64_t session, enum ipc_status st, const char *text,
	    const void *rep);
/*
 * Writes a whole buffer to a blocking socket, with fd (or -1) attached to
 * its first byte.  Returns 0 or -1 with errno.
 */
int	ipc_write_blocking(int sock, const struct buf *out, int fd);

/* --- Asynchronous channels on libevent --- */

struct ipc_chan;

/* Handles a request or notification; msg is the decoded request struct. */
typedef void ipc_handler_fn(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg);

struct ipc_handler {
	uint16_t	 type;
	ipc_handler_fn	*fn;
};

/*
 * Receives a reply; rep is the decoded reply struct when st is IPC_S_OK,
 * else NULL.  Runs with IPC_S_UNAVAIL if the channel closes first.
 */
typedef void ipc_reply_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg);

/* Runs once when the channel closes; why is a short reason for the log. */
typedef void ipc_close_cb(struct ipc_chan *c, const char *why, void *arg);

struct ipc_chan_params {
	uint32_t		 self;		/* IPC_P_* of this process */
	uint32_t		 peer;		/* IPC_P_* expected of the peer */
	const char		*name;		/* this side's name, sent in HELLO */
	const struct ipc_handler *handlers;	/* terminated by type 0 */
	ipc_close_cb		*close_cb;
	void			*arg;		/* passed to handlers, close_cb */
	struct ipc_rx		*rx;		/* optional, taken: bytes already read */
	bool			 peer_hello_seen; /* its HELLO was in rx */
};

/*
 * Creates a channel on connected socket fd (taken; made non-blocking) and
 * sends HELLO.  Never fails; an I/O failure shows as close_cb.
 */
struct ipc_chan *ipc_chan_new(struct event_base *base, int fd,
	    const struct ipc_chan_params *params);
/*
 * Closes the socket, runs pending reply callbacks with IPC_S_UNAVAIL (not
 * close_cb) and frees the channel; NULLs *cp.  Safe inside a callback.
 */
void	ipc_chan_free(struct ipc_chan **cp);
/* Returns the peer's name from its HELLO ("" before it), and its pid. */
const char *ipc_chan_peer_name(const struct ipc_chan *c);
/* A unique number for this channel in this process, never reused. */
uint64_t ipc_chan_serial(const struct ipc_chan *c);
void	ipc_chan_set_arg(struct ipc_chan *c, void *arg);

/*
 * Queues notification frames already encoded with ipc_encode (without
 * descriptors), e.g. a configuration kept to compare on reload.
 */
void	ipc_send_encoded(struct ipc_chan *c, const struct buf *frames);
/* Sends a notification (IPC_ONEWAY type).  fd (or -1) is taken. */
void	ipc_send(struct ipc_chan *c, uint16_t type, uint64_t session,
	    const void *msg, int fd);
/*
 * Sends a request; cb runs exactly once with its reply.  Returns the
 * request id, which ipc_cancel takes.  On a closed channel cb runs with
 * IPC_S_UNAVAIL before this returns, and the id is 0.
 */
uint32_t ipc_request(struct ipc_chan *c, uint16_t type, uint64_t session,
	    const void *msg, ipc_reply_cb *cb, void *arg);
/* The same for a type that carries a descriptor (IPC_FD); fd is taken. */
uint32_t ipc_request_fd(struct ipc_chan *c, uint16_t type, uint64_t session,
	    const void *msg, int fd, ipc_reply_cb *cb, void *arg);
/* Forgets a pending request: its callback will not run. */
void	ipc_cancel(struct ipc_chan *c, uint32_t id);
/* Replies to request f (or ref); rep is used only when st is IPC_S_OK. */
void	ipc_reply(struct ipc_chan *c, const struct ipc_frame *f,
	    enum ipc_status st, const char *text, const void *rep);
void	ipc_reqref_set(struct ipc_reqref *ref, const struct ipc_frame *f);
void	ipc_reply_ref(struct ipc_chan *c, const struct ipc_reqref *ref,
	    enum ipc_status st, const char *text, const void *rep);
/*
 * The same with descriptor fd (taken; -1 for none) for a type whose reply
 * may carry one (IPC_REPLY_FD).  The reply callback claims it with
 * ipc_chan_take_fd; it is closed after the callback otherwise.  A reply
 * of any other type that carries a descriptor fails the channel.
 */
void	ipc_reply_ref_fd(struct ipc_chan *c, const struct ipc_reqref *ref,
	    enum ipc_status st, const char *text, const void *rep, int fd);
/* Claims the descriptor of the frame (request or reply) being handled. */
int	ipc_chan_take_fd(struct ipc_chan *c);
/* Bytes waiting to be written (for back-pressure and tests). */
size_t	ipc_chan_pending_out(const struct ipc_chan *c);

#endif
