/* SPDX-License-Identifier: ISC */
/*
 * fuzz_store_record.c: libFuzzer target for the decoders of the records
 * storaged keeps in LMDB (store/record.c): accounts, domains, aliases,
 * mailboxes (both versions), messages, change-log entries,
 * duplicate-suppression entries and annotations, and a delivery's entry
 * in a redo record (store/deliver_log.c), and the split of a search
 * header entry (store/msghead.c).  Bytes read from disk
 * pass these decoders; whatever they are, nothing may read out of bounds
 * or crash, and a record that decodes must encode back to the same bytes.
 */
/* fuzz-deps: store/record.c store/deliver_log.c store/msghead.c */
#include "deliver_log.h"
#include "msghead.h"
#include "record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same(const struct buf *b, const uint8_t *data, size_t size)
{
	if (b->len != size || memcmp(b->data, data, size) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domain_rec d;
	struct account_rec a;
	struct alias_rec al;
	static struct mailbox_rec mb;
	static struct message_rec msg;
	struct mstate_rec ms;
	struct change_rec ch;
	struct dup_rec dup;
	char addr[NAME_ADDR_MAX + 1];
	struct buf b = BUF_INIT;
	struct deliver_log_entry dl;
	const char *why;

	if (record_domain_dec(data, size, &d) == 0) {
		record_domain_enc(&b, &d);
		same(&b, data, size);
		buf_reset(&b);
	}
	if (record_account_dec(data, size, &a) == 0) {
		record_account_enc(&b, &a);
		same(&b, data, size);
		buf_reset(&b);
	}
	if (record_account_id_dec(data, size, addr) == 0) {
		record_account_id_enc(&b, addr);
		same(&b, data, size);
		buf_reset(&b);
	}
	if (record_alias_dec(data, size, &al) == 0) {
		record_alias_enc(&b, &al);
		same(&b, data, size);
		buf_reset(&b);
	}
#define ROUND_TRIP(kind, var)						\
	if (record_##kind##_dec(data, size, &var) == 0) {		\
		record_##kind##_enc(&b, &var);				\
		same(&b, data, size);					\
		buf_reset(&b);						\
	}
	ROUND_TRIP(mstate, ms)
	ROUND_TRIP(mailbox, mb)
	ROUND_TRIP(message, msg)
	ROUND_TRIP(change, ch)
	ROUND_TRIP(dup, dup)
#undef ROUND_TRIP
	{
		const uint8_t *env, *hdr;
		size_t elen, hlen;

		/* The two pieces tile the entry after its 5 bytes. */
		if (msghead_split(data, size, &env, &elen, &hdr, &hlen) &&
		    (env != data + 5 || hdr != env + elen ||
		    5 + elen + hlen != size))
			abort();
	}
	/* Version 1 mailboxes decode (for schema step 3) but never encode. */
	(void)record_mailbox_v1_dec(data, size, &mb);
	{
		const void *v;
		size_t vlen;

		if (record_metadata_dec(data, size, &v, &vlen) == 0) {
			record_metadata_enc(&b, v, vlen);
			same(&b, data, size);
			buf_reset(&b);
		}
	}
	/* A delivery's entry: whatever decodes encodes back the same. */
	if (deliver_log_decode(data, size, &dl, &why) == 0) {
		buf_reset(&b);
		if (deliver_log_encode(&dl, &b) != 0)
			abort();
		same(&b, data, size);
	}
	buf_clear(&b);
	return 0;
}
