/* SPDX-License-Identifier: ISC */
/* deliver_log.c: a delivery's entry in a redo record (deliver_log.h). */
#include "deliver_log.h"
#include "buf.h"
#include "wire.h"

#include <string.h>

#define DELIVER_LOG_HEAD	56
#define DELIVER_NO_ENVELOPE	0xffffu

int
deliver_log_encode(const struct deliver_log_entry *e, struct buf *out)
{
	uint8_t h[DELIVER_LOG_HEAD];
	bool env = e->from != NULL && e->rcpt != NULL;

	if ((env && (e->from_len >= DELIVER_NO_ENVELOPE ||
	    e->rcpt_len >= DELIVER_NO_ENVELOPE)) ||
	    e->record_len > UINT32_MAX)
		return -1;
	memset(h, 0, sizeof(h));
	h[0] = DELIVER_LOG_TYPE;
	h[1] = e->dup_check;
	wire_be16_put(h + 2, env ? (uint16_t)e->from_len :
	    DELIVER_NO_ENVELOPE);
	wire_be16_put(h + 4, env ? (uint16_t)e->rcpt_len : 0);
	h[6] = e->hash != NULL ? DELIVER_LOG_FILE : 0;
	wire_be32_put(h + 8, e->mailbox_id);
	wire_be32_put(h + 12, e->flags);
	wire_be32_put(h + 16, (uint32_t)e->record_len);
	wire_be64_put(h + 24, e->account_id);
	wire_be64_put(h + 32, e->received);
	wire_be64_put(h + 40, e->now);
	wire_be64_put(h + 48, e->size);
	buf_append(out, h, sizeof(h));
	if (env) {
		buf_append(out, e->from, e->from_len);
		buf_append(out, e->rcpt, e->rcpt_len);
	}
	buf_append(out, e->record, e->record_len);
	if (e->hash != NULL)
		buf_append(out, e->hash, DELIVER_LOG_HASH_LEN);
	else
		buf_append(out, e->data, e->size);
	return 0;
}

int
deliver_log_decode(const void *p, size_t len, struct deliver_log_entry *e,
    const char **why)
{
	const uint8_t *b = p;
	size_t off = DELIVER_LOG_HEAD, left;

	memset(e, 0, sizeof(*e));
	if (len < DELIVER_LOG_HEAD || b[0] != DELIVER_LOG_TYPE) {
		*why = "not a delivery's entry";
		return -1;
	}
	if (b[1] > 1 || b[6] > DELIVER_LOG_FILE || b[7] != 0 ||
	    wire_be32_get(b + 20) != 0) {
		*why = "a delivery's entry with bits set that mean nothing";
		return -1;
	}
	e->dup_check = b[1] != 0;
	e->from_len = wire_be16_get(b + 2);
	e->rcpt_len = wire_be16_get(b + 4);
	e->mailbox_id = wire_be32_get(b + 8);
	e->flags = wire_be32_get(b + 12);
	e->record_len = wire_be32_get(b + 16);
	e->account_id = wire_be64_get(b + 24);
	e->received = wire_be64_get(b + 32);
	e->now = wire_be64_get(b + 40);
	e->size = (size_t)wire_be64_get(b + 48);
	left = len - off;
	if (e->from_len == DELIVER_NO_ENVELOPE) {
		if (e->rcpt_len != 0) {
			*why = "a delivery's entry with half an envelope";
			return -1;
		}
		e->from_len = 0;
	} else {
		if (e->from_len + e->rcpt_len > left) {
			*why = "a delivery's entry cut in its envelope";
			return -1;
		}
		e->from = (const char *)b + off;
		e->rcpt = e->from + e->from_len;
		off += e->from_len + e->rcpt_len;
		left -= e->from_len + e->rcpt_len;
	}
	if (e->record_len > left || (b[6] == DELIVER_LOG_FILE ?
	    left - e->record_len != DELIVER_LOG_HASH_LEN :
	    (e->size != left - e->record_len ||
	    wire_be64_get(b + 48) != (uint64_t)e->size))) {
		*why = "a delivery's entry of the wrong size";
		return -1;
	}
	e->record = b + off;
	if (b[6] == DELIVER_LOG_FILE)
		e->hash = b + off + e->record_len;
	else
		e->data = b + off + e->record_len;
	return 0;
}
