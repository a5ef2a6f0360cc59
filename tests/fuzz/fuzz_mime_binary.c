/* SPDX-License-Identifier: ISC */
/*
 * fuzz_mime_binary.c: libFuzzer target for the re-encoding of binary
 * content (mime_binary.h), which runs on the octets of every literal8
 * APPEND, and for the decoding FETCH BINARY does of a whole message.
 * Each input is taken as a message: without NUL it must be left alone;
 * re-encoded, the result must hold no NUL and parse again; decoded with
 * nothing to decode, it must come out as it went in; and nothing may read
 * out of bounds, leak or crash.  The seed corpus is the message parser's
 * (tests/fuzz/corpus/mime).
 */
#include "mime.h"
#include "mime_binary.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT, dec = BUF_INIT;
	struct mime_msg *m;
	enum mime_binary r;

	r = mime_binary_encode(data, size, &out);
	switch (r) {
	case MIME_BINARY_NONE:
		if (out.len != 0 || (size > 0 && memchr(data, '\0', size)))
			abort();
		break;
	case MIME_BINARY_ENCODED:
		if (memchr(out.data, '\0', out.len) != NULL)
			abort();
		if ((m = mime_parse(out.data, out.len)) == NULL)
			abort();
		mime_msg_free(&m);
		break;
	case MIME_BINARY_STUCK:
		if (size == 0 || memchr(data, '\0', size) == NULL)
			abort();
		break;
	default:
		abort();
	}
	if (!mime_binary_decode(data, size, &dec) && (dec.len != size ||
	    (size > 0 && memcmp(dec.data, data, size) != 0)))
		abort();
	buf_clear(&dec);
	buf_clear(&out);
	return 0;
}
