/* SPDX-License-Identifier: ISC */
/*
 * fuzz_ws.c: libFuzzer target for lib/ws.c's reader of client frames
 * (RFC 6455 5) with or without permessage-deflate (RFC 7692).  The input,
 * after one byte that picks the message limit and the extension, is a
 * client's byte stream; it is read whole and in pieces of 1 to 7
 * bytes, and both must give the same messages and the same error.  A
 * data message is never over the limit, a text message is UTF-8, a
 * control message at most 125 bytes; the reader never claims more bytes than it
 * was given.  Nothing may read out of bounds, leak or crash.
 */
/* fuzz-deps: */
#include "buf.h"
#include "json.h"
#include "ws.h"

#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A transcript of what the reader said. */
static void
fz_run(const uint8_t *data, size_t size, size_t max, bool deflate,
    size_t chunk, struct buf *log)
{
	struct ws_reader r;
	enum ws_result res = WS_MORE;
	size_t off = 0, used, step;
	uint8_t op;

	ws_reader_init(&r, max);
	r.deflate = deflate;
	while (off < size) {
		step = chunk == 0 || size - off < chunk ? size - off : chunk;
		res = ws_read(&r, data + off, step, &used);
		if (used > step)
			abort();
		off += used;
		if (res == WS_ERROR) {
			buf_printf(log, "E%d", r.code);
			break;
		}
		if (res == WS_MESSAGE) {
			if ((r.opcode < 8 && r.payload.len > max) ||
			    (r.opcode >= 8 && r.payload.len > 125) ||
			    (r.opcode == WS_OP_TEXT && r.payload.len > 0 &&
			    !json_utf8_valid(r.payload.data, r.payload.len)))
				abort();
			op = (uint8_t)r.opcode;
			buf_append(log, &op, 1);
			buf_printf(log, "%zu:", r.payload.len);
			if (r.payload.len > 0)
				buf_append(log, r.payload.data, r.payload.len);
			continue;
		}
		if (used != step)
			abort();
	}
	ws_reader_clear(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole = BUF_INIT, cut = BUF_INIT;
	bool deflate;
	size_t max;

	if (size < 1)
		return 0;
	deflate = (data[0] & 1) != 0;
	max = (size_t)(data[0] >> 1) * 32 + 1;
	fz_run(data + 1, size - 1, max, deflate, 0, &whole);
	fz_run(data + 1, size - 1, max, deflate, (size_t)(data[0] % 7) + 1,
	    &cut);
	if (whole.len != cut.len || (whole.len > 0 &&
	    memcmp(whole.data, cut.data, whole.len) != 0))
		abort();
	buf_clear(&whole);
	buf_clear(&cut);
	return 0;
}
