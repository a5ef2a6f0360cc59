/* SPDX-License-Identifier: ISC */
/*
 * ws.h: the WebSocket protocol (RFC 6455) on the server's side: the
 * opening handshake's accept key (4.2.2), an incremental reader of the
 * client's frames that checks every rule a server must (masking, reserved
 * bits, opcodes, control frames, fragmentation, sizes, UTF-8 of text) and
 * puts fragmented messages together, and the writer of unmasked frames.
 * The one extension is permessage-deflate (RFC 7692), without context
 * takeover in either direction: every message is compressed and
 * decompressed on its own, and no compression state outlives it.
 */
#ifndef BULWARK_WS_H
#define BULWARK_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Opcodes (RFC 6455 5.2). */
#define WS_OP_CONT	0x0
#define WS_OP_TEXT	0x1
#define WS_OP_BINARY	0x2
#define WS_OP_CLOSE	0x8
#define WS_OP_PING	0x9
#define WS_OP_PONG	0xa

/* Close codes (RFC 6455 7.4.1). */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001
#define WS_CLOSE_PROTOCOL	1002
#define WS_CLOSE_UNSUPPORTED	1003
#define WS_CLOSE_BAD_DATA	1007
#define WS_CLOSE_POLICY		1008
#define WS_CLOSE_TOO_BIG	1009
#define WS_CLOSE_RESTART	1012	/* IANA registry: Service Restart */

/* The accept key for key, 28 characters and a NUL (RFC 6455 4.2.2). */
void	ws_accept_key(const char *key, char out[29]);

enum ws_result {
	WS_MORE,	/* every byte given was used; give more */
	WS_MESSAGE,	/* a whole message: opcode and payload below */
	WS_ERROR,	/* close with code and reason below */
};

struct ws_reader {
	size_t		 max_message;	/* of a reassembled message */
	bool		 deflate;	/* permessage-deflate agreed */
	/* A message (WS_MESSAGE): text, binary, close, ping or pong. */
	int		 opcode;
	struct buf	 payload;	/* unmasked, reassembled */
	/* WS_ERROR. */
	int		 code;
	const char	*reason;
	/* Private. */
	struct buf	 frag;		/* a data message being assembled */
	int		 frag_op;	/* its opcode, 0: none */
	bool		 frag_z;	/* it is compressed (RSV1) */
	struct buf	 ctl;		/* a control frame's payload */
	uint8_t		 hdr[14];
	size_t		 hdrlen;
	uint64_t	 left;		/* payload bytes of the frame to come */
	uint64_t	 pos;		/* bytes of the frame's payload read */
	uint8_t		 mask[4];
	int		 op;		/* the frame's opcode */
	bool		 fin;
	bool		 in_payload;
};

/* Sets r up for messages of at most max_message bytes. */
void	ws_reader_init(struct ws_reader *r, size_t max_message);
void	ws_reader_clear(struct ws_reader *r);

/*
 * Reads the client's frames in [data, data + len) and sets *consumed_r.
 * Returns WS_MESSAGE when a message is whole: r->opcode and r->payload
 * hold it until the next call (control frames come between the fragments
 * of a data message as they arrive); WS_MORE when every byte was used;
 * WS_ERROR with r->code and r->reason (the connection must be closed
 * with them; later calls return WS_ERROR again).
 */
enum ws_result ws_read(struct ws_reader *r, const uint8_t *data, size_t len,
	    size_t *consumed_r);

/* Appends one unmasked frame with FIN set (RFC 6455 5.2). */
void	ws_frame(struct buf *out, int opcode, const void *p, size_t len);
/*
 * The same for a data message compressed with permessage-deflate (RFC
 * 7692 7.2.1) with an LZ77 window of 2^window_bits bytes (9 to 15); sent
 * uncompressed if compression fails or does not help.
 */
void	ws_frame_deflate(struct buf *out, int opcode, const void *p,
	    size_t len, int window_bits);

/*
 * Answers the client's Sec-WebSocket-Extensions offers (RFC 6455 9.1,
 * RFC 7692 5 and 7.1): accepts the first valid permessage-deflate offer
 * with server_no_context_takeover and client_no_context_takeover, and
 * server_max_window_bits when the offer limits it (a limit of 8 is
 * declined: zlib's smallest raw window is 2^9).  Writes the response
 * value to resp (size bytes) and the window to use to *bits_r.  Returns
 * false, with resp "", when no offer is accepted.
 */
bool	ws_deflate_accept(const char *offers, char *resp, size_t size,
	    int *bits_r);
/* Appends a Close frame with code and a short reason (5.5.1). */
void	ws_close_frame(struct buf *out, int code, const char *reason);

#endif
