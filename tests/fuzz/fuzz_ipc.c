/* SPDX-License-Identifier: ISC */
/*
 * fuzz_ipc.c: libFuzzer target for the IPC decoders: the frame reader and,
 * for every frame it accepts, the request decoder and the reply decoder of
 * the frame's type.  Whatever the bytes, nothing may read out of bounds,
 * leak or crash.
 */
#include "ipc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union ipc_msg_any msg;
	const struct ipc_type_info *ti;
	struct wire_reader r;
	struct wire_iter it;
	struct ipc_frame f;
	struct ipc_rx rx;
	const char *err;
	uint32_t st;
	const char *text;

	ipc_rx_init(&rx);
	buf_append(&rx.in, data, size);
	while (ipc_rx_next(&rx, &f, &err) == 1) {
		if ((ti = ipc_type_get(f.type)) == NULL)
			continue;
		(void)ipc_decode_req(&f, &msg, &err);
		wire_reader_init(&r, f.data, f.len);
		wire_get_U32(&r, &st);
		wire_get_STR(&r, &text);
		memset(&msg, 0, sizeof(msg));
		if (ti->rep_dec(&r, &msg) == 0 && f.type == IPC_T_DOMAIN_LIST) {
			/* Walk a decoded list to its end. */
			wire_strlist_iter(&msg.DOMAIN_LIST_rep.names, &it);
			while (wire_strlist_next(&it) != NULL)
				;
		}
	}
	ipc_rx_clear(&rx);
	return 0;
}
