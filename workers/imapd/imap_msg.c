/* SPDX-License-Identifier: ISC */
/*
 * imap_msg.c: a message of a MSG_FETCH reply, for FETCH and SEARCH (see
 * imap_msg.h).
 */
#include "imap_msg.h"
#include "imap_view.h"
#include "wire.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

int
imap_msg_take(struct imap_msg *m, const struct imap_view *v,
    const struct ipc_MSG_FETCH_rep *r, uint32_t i, const char *kw,
    uint64_t *roff, const uint8_t *records)
{
	uint8_t *copy;
	uint64_t rlen = 0;

	memset(m, 0, sizeof(*m));
	/* The record's place is checked whether or not the message stays. */
	if (i < r->record_lens.count) {
		rlen = wire_u64list_get(&r->record_lens, i);
		if (rlen > r->records.len - *roff)
			return -1;
	}
	m->uid = imap_view_vec_get(r->found.p, i);
	if ((m->msn = imap_view_msn(v, m->uid)) == 0 ||
	    i >= r->flags.count || i >= r->sizes.count) {
		*roff += rlen;
		memset(m, 0, sizeof(*m));
		return 0;
	}
	m->flags = wire_u64list_get(&r->flags, i);
	m->modseq = i < r->modseqs.count ?
	    wire_u64list_get(&r->modseqs, i) : 0;
	m->email = i < r->email_ids.count ?
	    wire_u64list_get(&r->email_ids, i) : 0;
	m->thread = i < r->thread_ids.count ?
	    wire_u64list_get(&r->thread_ids, i) : 0;
	m->received = i < r->received.count ?
	    wire_u64list_get(&r->received, i) : 0;
	m->saved = i < r->saved.count ?
	    wire_u64list_get(&r->saved, i) : m->received;
	m->size = wire_u64list_get(&r->sizes, i);
	if (rlen > 0 && records != NULL)
		m->rec = records + *roff;
	else if (rlen > 0) {
		copy = xmalloc((size_t)rlen);
		memcpy(copy, r->records.p + *roff, (size_t)rlen);
		m->rec = m->rec_copy = copy;
	}
	m->reclen = (size_t)rlen;
	*roff += rlen;
	m->keywords = xstrdup(kw != NULL ? kw : "");
	return 1;
}

int
imap_msg_take_body(struct imap_msg *m, const struct ipc_MSG_FETCH_rep *r,
    uint32_t i, uint64_t *boff, const uint8_t *bodies)
{
	uint64_t len;

	if (i >= r->body_lens.count)
		return 0;
	if ((len = wire_u64list_get(&r->body_lens, i)) == UINT64_MAX)
		return 0;
	if (len > r->bodies.len - *boff)
		return -1;
	if (m != NULL) {
		if (len != m->size)
			return -1;
		m->body = bodies + *boff;
		m->bodylen = (size_t)len;
		m->has_body = true;
	}
	*boff += len;
	return 0;
}

int
imap_msg_take_items(struct imap_msg *m, const struct ipc_MSG_FETCH_rep *r,
    uint32_t i, uint64_t *ioff, const uint8_t *items)
{
	uint64_t len;

	if (i >= r->imap_lens.count ||
	    (len = wire_u64list_get(&r->imap_lens, i)) == 0)
		return 0;
	if (len > r->imap.len - *ioff)
		return -1;
	if (m != NULL) {
		m->items = items + *ioff;
		m->itemslen = (size_t)len;
	}
	*ioff += len;
	return 0;
}

void
imap_msg_clear(struct imap_msg *m)
{
	free(m->keywords);
	free(m->rec_copy);
	memset(m, 0, sizeof(*m));
}
