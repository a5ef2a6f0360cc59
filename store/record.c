/* SPDX-License-Identifier: ISC */
/*
 * record.c: encoders and decoders of the store's records, side by side
 * (layouts in record.h).
 */
#include "record.h"
#include "compat.h"
#include "wire.h"

#include <string.h>

/* Reads the version value, which must be want. */
static void
record_begin_v(struct wire_reader *r, const void *p, size_t len,
    uint8_t want)
{
	uint8_t v = 0;

	wire_reader_init(r, p, len);
	if (wire_get_U8(r, &v) == 0 && v != want)
		r->err = "unknown record version";
}

/* Reads the version value of a record that has only RECORD_V1. */
static void
record_begin(struct wire_reader *r, const void *p, size_t len)
{
	record_begin_v(r, p, len, RECORD_V1);
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

void
record_mstate_enc(struct buf *out, const struct mstate_rec *r)
{
	/* Version 1 while nothing was pruned: what older storaged reads. */
	wire_put_U8(out, r->floor != 0 ? RECORD_V2 : RECORD_V1);
	wire_put_U64(out, r->modseq);
	wire_put_U64(out, r->next_email);
	wire_put_U64(out, r->next_thread);
	wire_put_U32(out, r->next_mailbox);
	if (r->floor != 0)
		wire_put_U64(out, r->floor);
}

int
record_mstate_dec(const void *p, size_t len, struct mstate_rec *r)
{
	struct wire_reader rd;
	uint8_t v = 0;

	memset(r, 0, sizeof(*r));
	wire_reader_init(&rd, p, len);
	if (wire_get_U8(&rd, &v) == 0 && v != RECORD_V1 && v != RECORD_V2)
		rd.err = "unknown record version";
	wire_get_U64(&rd, &r->modseq);
	wire_get_U64(&rd, &r->next_email);
	wire_get_U64(&rd, &r->next_thread);
	wire_get_U32(&rd, &r->next_mailbox);
	if (v == RECORD_V2)
		wire_get_U64(&rd, &r->floor);
	return wire_reader_finish(&rd);
}

void
record_mailbox_enc(struct buf *out, const struct mailbox_rec *r)
{
	wire_put_U8(out, RECORD_V2);
	wire_put_U32(out, r->parent);
	wire_put_STR(out, r->name);
	wire_put_STR(out, r->role);
	wire_put_U32(out, r->uidvalidity);
	wire_put_U32(out, r->uidnext);
	wire_put_U64(out, r->highestmodseq);
	wire_put_U32(out, r->total);
	wire_put_U32(out, r->unread);
	wire_put_U32(out, r->threads);
	wire_put_BOOL(out, r->subscribed);
	wire_put_U32(out, r->sort_order);
	wire_put_U64(out, r->created);
	wire_put_U64(out, r->size);
	wire_put_U32(out, r->deleted);
	wire_put_U64(out, r->deleted_size);
}

/* The fields versions 1 and 2 share. */
static void
record_mailbox_common(struct wire_reader *rd, struct mailbox_rec *r)
{
	wire_get_U32(rd, &r->parent);
	record_get_str(rd, r->name, sizeof(r->name));
	record_get_str(rd, r->role, sizeof(r->role));
	wire_get_U32(rd, &r->uidvalidity);
	wire_get_U32(rd, &r->uidnext);
	wire_get_U64(rd, &r->highestmodseq);
	wire_get_U32(rd, &r->total);
	wire_get_U32(rd, &r->unread);
	wire_get_U32(rd, &r->threads);
	wire_get_BOOL(rd, &r->subscribed);
	wire_get_U32(rd, &r->sort_order);
	wire_get_U64(rd, &r->created);
}

int
record_mailbox_dec(const void *p, size_t len, struct mailbox_rec *r)
{
	struct wire_reader rd;

	memset(r, 0, sizeof(*r));
	record_begin_v(&rd, p, len, RECORD_V2);
	record_mailbox_common(&rd, r);
	wire_get_U64(&rd, &r->size);
	wire_get_U32(&rd, &r->deleted);
	wire_get_U64(&rd, &r->deleted_size);
	return wire_reader_finish(&rd);
}

int
record_mailbox_v1_dec(const void *p, size_t len, struct mailbox_rec *r)
{
	struct wire_reader rd;

	memset(r, 0, sizeof(*r));
	record_begin_v(&rd, p, len, RECORD_V1);
	record_mailbox_common(&rd, r);
	return wire_reader_finish(&rd);
}

void
record_message_enc(struct buf *out, const struct message_rec *r)
{
	uint32_t i;

	wire_put_U8(out, RECORD_V1);
	wire_put_BYTES(out, (struct wire_bytes){ r->hash, sizeof(r->hash) });
	wire_put_U64(out, r->thread);
	wire_put_U64(out, r->received);
	wire_put_U64(out, r->size);
	wire_put_U32(out, r->flags);
	wire_put_strlist_begin(out, r->nkeywords);
	for (i = 0; i < r->nkeywords; i++)
		wire_strlist_add(out, r->keywords[i]);
	wire_put_STR(out, r->base_subject);
	wire_put_STR(out, r->message_id);
	wire_put_U32(out, r->nmbox);
	for (i = 0; i < r->nmbox; i++) {
		wire_put_U32(out, r->mbox[i].mailbox);
		wire_put_U32(out, r->mbox[i].uid);
		wire_put_U64(out, r->mbox[i].modseq);
	}
}

/* Copies the keywords of list l into r; too many or too long fail rd. */
static void
record_keywords(struct wire_reader *rd, const struct wire_strlist *l,
    struct message_rec *r)
{
	struct wire_iter it;
	const char *s;

	if (rd->err != NULL)
		return;
	if (l->count > MSG_MAX_KEYWORDS) {
		rd->err = "too many keywords";
		return;
	}
	wire_strlist_iter(l, &it);
	while ((s = wire_strlist_next(&it)) != NULL &&
	    r->nkeywords < l->count)
		if (strlcpy(r->keywords[r->nkeywords++], s,
		    MSG_KEYWORD_MAX + 1) > MSG_KEYWORD_MAX)
			rd->err = "keyword too long";
}

/*
 * Starts reading a message record into r: its head (hash, thread,
 * received, size, flags), the rest of r empty.  Field by field, not
 * memset(): the struct is kilobytes of arrays (keywords, mailboxes) that
 * a read per message of a SEARCH or FETCH would clear for nothing; only
 * counted entries are read.
 */
static void
record_message_head(struct wire_reader *rd, const void *p, size_t len,
    struct message_rec *r)
{
	struct wire_bytes h;

	memset(r->hash, 0, sizeof(r->hash));
	r->thread = r->received = r->size = 0;
	r->flags = r->nkeywords = r->nmbox = 0;
	r->base_subject[0] = r->message_id[0] = '\0';
	record_begin(rd, p, len);
	if (wire_get_BYTES(rd, &h) == 0 && h.len != MSG_HASH_LEN)
		rd->err = "bad blob hash";
	if (rd->err == NULL)
		memcpy(r->hash, h.p, MSG_HASH_LEN);
	wire_get_U64(rd, &r->thread);
	wire_get_U64(rd, &r->received);
	wire_get_U64(rd, &r->size);
	wire_get_U32(rd, &r->flags);
}

int
record_message_dec(const void *p, size_t len, struct message_rec *r)
{
	struct wire_reader rd;
	struct wire_strlist kw;
	uint32_t i;

	record_message_head(&rd, p, len, r);
	wire_get_STRLIST(&rd, &kw);
	record_keywords(&rd, &kw, r);
	record_get_str(&rd, r->base_subject, sizeof(r->base_subject));
	record_get_str(&rd, r->message_id, sizeof(r->message_id));
	wire_get_U32(&rd, &r->nmbox);
	if (rd.err == NULL && r->nmbox > MSG_MAX_MAILBOXES)
		rd.err = "message in too many mailboxes";
	for (i = 0; rd.err == NULL && i < r->nmbox; i++) {
		wire_get_U32(&rd, &r->mbox[i].mailbox);
		wire_get_U32(&rd, &r->mbox[i].uid);
		wire_get_U64(&rd, &r->mbox[i].modseq);
	}
	return wire_reader_finish(&rd);
}

int
record_message_head_dec(const void *p, size_t len, struct message_rec *r)
{
	struct wire_reader rd;

	record_message_head(&rd, p, len, r);
	return rd.err == NULL ? 0 : -1;
}

void
record_change_enc(struct buf *out, const struct change_rec *r)
{
	wire_put_U8(out, RECORD_V1);
	wire_put_U8(out, r->type);
	wire_put_U8(out, r->kind);
	wire_put_U64(out, r->id);
}

int
record_change_dec(const void *p, size_t len, struct change_rec *r)
{
	struct wire_reader rd;

	memset(r, 0, sizeof(*r));
	record_begin(&rd, p, len);
	wire_get_U8(&rd, &r->type);
	wire_get_U8(&rd, &r->kind);
	wire_get_U64(&rd, &r->id);
	return wire_reader_finish(&rd);
}

void
record_dup_enc(struct buf *out, const struct dup_rec *r)
{
	wire_put_U8(out, RECORD_V1);
	wire_put_U64(out, r->at);
	wire_put_U64(out, r->email);
	wire_put_U32(out, r->uid);
	wire_put_U64(out, r->modseq);
}

int
record_dup_dec(const void *p, size_t len, struct dup_rec *r)
{
	struct wire_reader rd;

	memset(r, 0, sizeof(*r));
	record_begin(&rd, p, len);
	wire_get_U64(&rd, &r->at);
	wire_get_U64(&rd, &r->email);
	wire_get_U32(&rd, &r->uid);
	wire_get_U64(&rd, &r->modseq);
	return wire_reader_finish(&rd);
}

void
record_metadata_enc(struct buf *out, const void *value, size_t len)
{
	struct wire_bytes b = { value, (uint32_t)len };

	wire_put_U8(out, RECORD_V1);
	wire_put_BYTES(out, b);
}

int
record_metadata_dec(const void *p, size_t len, const void **value_r,
    size_t *len_r)
{
	struct wire_reader rd;
	struct wire_bytes b = { NULL, 0 };

	record_begin(&rd, p, len);
	wire_get_BYTES(&rd, &b);
	*value_r = b.p;
	*len_r = b.len;
	return wire_reader_finish(&rd);
}
