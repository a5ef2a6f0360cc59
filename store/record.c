/* SPDX-License-Identifier: ISC */
/*
 * record.c: encoders and decoders of the store's records, side by side
 * (layouts in record.h).
 */
#include "record.h"
#include "compat.h"
#include "wire.h"

#include <string.h>

/* Reads the version value; only RECORD_V1 exists so far. */
static void
record_begin(struct wire_reader *r, const void *p, size_t len)
{
	uint8_t v = 0;

	wire_reader_init(r, p, len);
	if (wire_get_U8(r, &v) == 0 && v != RECORD_V1)
		r->err = "unknown record version";
}

/* Reads a string into out (size outlen); too long fails the reader. */
static void
record_get_str(struct wire_reader *r, char *out, size_t outlen)
{
	const char *s;

	if (wire_get_STR(r, &s) == -1)
		return;
	if (strlcpy(out, s, outlen) >= outlen && r->err == NULL)
		r->err = "string too long for its record";
}

void
record_domain_enc(struct buf *out, const struct domain_rec *r)
{
	wire_put_U8(out, RECORD_V1);
	wire_put_U64(out, r->created);
}

int
record_domain_dec(const void *p, size_t len, struct domain_rec *r)
{
	struct wire_reader rd;

	record_begin(&rd, p, len);
	wire_get_U64(&rd, &r->created);
	return wire_reader_finish(&rd);
}

void
record_account_enc(struct buf *out, const struct account_rec *r)
{
	wire_put_U8(out, RECORD_V1);
	wire_put_U64(out, r->id);
	wire_put_STR(out, r->hash);
	wire_put_U64(out, r->created);
	wire_put_U64(out, r->quota_bytes);
	wire_put_U64(out, r->quota_messages);
	wire_put_U64(out, r->used_bytes);
	wire_put_U64(out, r->used_messages);
	wire_put_U32(out, r->auth_gen);
}

int
record_account_dec(const void *p, size_t len, struct account_rec *r)
{
	struct wire_reader rd;

	memset(r, 0, sizeof(*r));
	record_begin(&rd, p, len);
	wire_get_U64(&rd, &r->id);
	record_get_str(&rd, r->hash, sizeof(r->hash));
	wire_get_U64(&rd, &r->created);
	wire_get_U64(&rd, &r->quota_bytes);
	wire_get_U64(&rd, &r->quota_messages);
	wire_get_U64(&rd, &r->used_bytes);
	wire_get_U64(&rd, &r->used_messages);
	wire_get_U32(&rd, &r->auth_gen);
	if (rd.err == NULL && r->id == 0)
		rd.err = "account id 0";
	return wire_reader_finish(&rd);
}

void
record_account_id_enc(struct buf *out, const char *address)
{
	wire_put_U8(out, RECORD_V1);
	wire_put_STR(out, address);
}

int
record_account_id_dec(const void *p, size_t len,
    char address[NAME_ADDR_MAX + 1])
{
	struct wire_reader rd;

	record_begin(&rd, p, len);
	record_get_str(&rd, address, NAME_ADDR_MAX + 1);
	return wire_reader_finish(&rd);
}

void
record_alias_enc(struct buf *out, const struct alias_rec *r)
{
	wire_put_U8(out, RECORD_V1);
	wire_put_STR(out, r->target);
	wire_put_U64(out, r->created);
}

int
record_alias_dec(const void *p, size_t len, struct alias_rec *r)
{
	struct wire_reader rd;

	memset(r, 0, sizeof(*r));
	record_begin(&rd, p, len);
	record_get_str(&rd, r->target, sizeof(r->target));
	wire_get_U64(&rd, &r->created);
	return wire_reader_finish(&rd);
}
