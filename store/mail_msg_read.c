/* SPDX-License-Identifier: ISC */
/*
 * mail_msg_read.c: the per-message reads of the message requests (see
 * mail_msg.h): the data of MSG_FETCH, with SEARCH's text keys matched
 * in storaged, and the raw slices of MSG_BODY.  What states a mailbox's
 * contents (MBOX_SELECT, MSG_UIDS, MBOX_SYNC) is in mail_msg_sync.c.
 */
#include "mail_msg.h"
#include "blob.h"
#include "compat.h"
#include "key.h"
#include "log.h"
#include "mailbox.h"
#include "message.h"
#include "msghead.h"
#include "msgrec.h"
#include "msgsearch.h"
#include "readpool.h"
#include "wire.h"
#include "xmalloc.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* --- MSG_FETCH, MSG_BODY --- */

/* What the keys need of a message: its bytes, its record, its parts. */
struct mail_keys_need {
	bool	raw;	/* HEADER, BODY, TEXT */
	bool	rec;	/* FROM, TO, CC, BCC, SUBJECT */
	bool	parts;	/* BODY, TEXT */
};

static struct mail_keys_need
mail_keys_need(const struct mail_text_keys *keys)
{
	struct mail_keys_need n = { false, false, false };
	enum msgsearch_kind kind;
	uint32_t k;

	for (k = 0; k < keys->n; k++) {
		kind = (enum msgsearch_kind)keys->kinds[k];
		n.raw |= msgsearch_needs_raw(kind);
		n.rec |= msgsearch_needs_record(kind);
		n.parts |= msgsearch_needs_parts(kind);
	}
	return n;
}

/*
 * The cursors of one MSG_FETCH: UIDs come in order, and their email ids
 * mostly too (messages delivered in turn), so each lookup is mostly a
 * step from the one before (db_seq_get).  And what its text keys need of
 * every message, worked out once.
 */
struct fetch_seq {
	struct db_seq		 uids, msgs, recs, imaps, heads;
	struct buf		 raw;	/* what a search read of a file */
	struct mail_keys_need	 need;
};

/* Most a search reads of a big message (a file) instead of mapping it. */
#define MAIL_SEARCH_READ_MAX	(1024u * 1024)
/* A header is read in two steps: most fit the first. */
#define MAIL_SEARCH_HEAD_FIRST	(8u * 1024)
#define MAIL_SEARCH_HEAD_READ	(64u * 1024)

/*
 * Of a message kept as a file (bv->p NULL), reads into b what the keys
 * need (msgsearch_raw_needed, msgsearch_header_end): an unmap interrupts
 * every core that runs another thread of storaged, which costs more than
 * reading a header and text parts; maps it whole only when they are
 * bigger than MAIL_SEARCH_READ_MAX.  Then [*raw, *raw + *len) is what to
 * match.
 */
static enum ipc_status
mail_search_read(struct store_db *db, MDB_txn *txn, const uint8_t *hash,
    const struct msgrec *mr, struct blob_view *bv, struct buf *b,
    const void **raw, size_t *len, struct store_error *err)
{
	enum ipc_status st;
	size_t want, size = bv->len;
	int i;

	buf_reset(b);
	if (mr != NULL && (want = msgsearch_raw_needed(mr, size)) <=
	    MAIL_SEARCH_READ_MAX) {
		if ((st = blob_read(db, txn, hash, 0, want, b, &size, err)) !=
		    IPC_S_OK)
			return st;
		*raw = b->data;
		*len = b->len;
		return IPC_S_OK;
	}
	if (mr == NULL && bv->head != NULL) {
		/* The header the index keeps: no file to open. */
		*raw = bv->head;
		*len = bv->head_len;
		return IPC_S_OK;
	}
	for (i = 0; mr == NULL && i < 2; i++) {
		want = i == 0 ? MAIL_SEARCH_HEAD_FIRST : MAIL_SEARCH_HEAD_READ;
		if ((st = blob_read(db, txn, hash, b->len, want - b->len, b,
		    &size, err)) != IPC_S_OK)
			return st;
		if (b->len == size || msgsearch_header_end(b->data, b->len) >
		    0) {
			*raw = b->data;
			*len = b->len;
			return IPC_S_OK;
		}
	}
	if ((st = blob_view_get(db, txn, hash, bv, NULL, err)) != IPC_S_OK)
		return st;
	*raw = bv->p;
	*len = bv->len;
	return IPC_S_OK;
}

/* Appends a message's stride bytes of key bits, zero; returns where. */
static size_t
mail_hits_add(struct buf *hits, size_t stride)
{
	size_t at = hits->len;

	buf_reserve(hits, stride);
	memset(buf_tail(hits), 0, stride);
	buf_commit(hits, stride);
	return at;
}

/* An empty cache for one message's keys (lib/msgsearch.h). */
static void
mail_search_cache_init(struct msgsearch_cache *c)
{
	memset(c, 0, sizeof(*c));
	/* Decoded text of a message storaged holds: no wipe per message. */
	c->body_ascii.nowipe = c->body_key.nowipe = true;
	c->part.nowipe = c->head.nowipe = c->head_key.nowipe = true;
}

/*
 * Matches the text keys against one message: one bit per key appended to
 * hits; *searched grows by the bytes read.  A message whose record or
 * bytes cannot be read matches nothing (and is logged).
 */
static enum ipc_status
mail_fetch_text(struct store_db *db, MDB_txn *txn, struct fetch_seq *seq,
    uint64_t acct, uint64_t email, const struct message_rec *m,
    const void *rec, size_t reclen, const struct mail_text_keys *keys,
    struct buf *hits, size_t *searched, struct store_error *err)
{
	struct msgsearch_cache cache;
	struct msgrec mr;
	struct blob_view bv = { 0 };
	enum ipc_status st;
	const void *raw = NULL;
	const char *why;
	size_t len = 0, stride = (keys->n + 7) / 8, at;
	uint32_t k;
	uint8_t *h;
	bool need_raw = seq->need.raw, need_rec = seq->need.rec;
	bool need_parts = seq->need.parts, open = false;

	at = mail_hits_add(hits, stride);
	if (need_rec && rec == NULL && (st = message_record_seq(db, txn,
	    &seq->recs, acct, email, &rec, &reclen, err)) != IPC_S_OK)
		return st;
	if (need_raw) {
		if ((st = blob_view_peek(db, txn, m->hash, &bv, err)) !=
		    IPC_S_OK)
			return st;
		raw = bv.p;
		len = bv.len;
	}
	if (need_rec) {
		if ((need_parts ? msgrec_open(rec, reclen, need_raw ? len :
		    m->size, &mr, &why) : msgrec_open_envelopes(rec, reclen,
		    need_raw ? len : m->size, &mr, &why)) == -1) {
			log_warnx("message %llu: bad record: %s",
			    (unsigned long long)email, why);
			return IPC_S_OK;
		}
		open = true;
	}
	if (need_raw && raw == NULL && (st = mail_search_read(db, txn,
	    m->hash, need_parts ? &mr : NULL, &bv, &seq->raw, &raw, &len,
	    err)) != IPC_S_OK) {
		if (open)
			msgrec_close(&mr);
		return st;
	}
	h = hits->data + at;
	mail_search_cache_init(&cache);
	for (k = 0; k < keys->n; k++)
		if (msgsearch_match(open ? &mr : NULL, raw, len,
		    (enum msgsearch_kind)keys->kinds[k], keys->fields[k],
		    keys->values[k], keys->vlens[k], &cache))
			h[k / 8] |= (uint8_t)(1u << (k % 8));
	/*
	 * The work: the record and the raw header read, and the text each
	 * key looked through, so that many keys cannot hold the loop long.
	 * Parts not looked at (attachments) are not work.
	 */
	*searched += (need_rec ? reclen : 0) + cache.scanned * keys->n +
	    msgsearch_cache_bytes(&cache) * keys->n;
	msgsearch_cache_clear(&cache);
	if (open)
		msgrec_close(&mr);
	blob_view_release(&bv);
	return IPC_S_OK;
}

/*
 * Matches the header keys (no BODY or TEXT) against the message's msghead
 * entry, if it has one: one bit per key appended to hits, *done set.  A
 * message without one (or with a damaged one: logged) is left to its
 * record and bytes (*done false).
 */
static enum ipc_status
mail_fetch_head(struct store_db *db, MDB_txn *txn, struct fetch_seq *seq,
    uint64_t acct, uint64_t email, const struct mail_text_keys *keys,
    struct buf *hits, size_t *searched, bool *done,
    struct store_error *err)
{
	struct msgsearch_cache cache;
	struct key_mail k;
	struct msgrec r;
	MDB_val kv, d;
	const uint8_t *env, *hdr;
	const char *why;
	size_t elen, hlen, at;
	uint32_t i;
	bool need_rec = seq->need.rec;
	int rc;

	key_mail_init(&k, acct);
	key_mail_u64(&k, email);
	kv = KEY_MAIL_VAL(&k);
	*done = false;
	rc = db_seq_get(txn, db->msghead, &seq->heads, &kv, &d);
	if (rc == MDB_NOTFOUND)
		return IPC_S_OK;
	if (rc != 0)
		return db_mdb_error(err, rc, "search header read");
	if (!msghead_split(d.mv_data, d.mv_size, &env, &elen, &hdr, &hlen)) {
		log_warnx("message %llu: bad search header",
		    (unsigned long long)email);
		return IPC_S_OK;
	}
	if (need_rec && msgrec_open_env0(env, elen, &r, &why) == -1) {
		log_warnx("message %llu: bad search header envelope: %s",
		    (unsigned long long)email, why);
		return IPC_S_OK;
	}
	at = mail_hits_add(hits, (keys->n + 7) / 8);
	mail_search_cache_init(&cache);
	for (i = 0; i < keys->n; i++)
		if (msgsearch_match(need_rec ? &r : NULL, hdr, hlen,
		    (enum msgsearch_kind)keys->kinds[i], keys->fields[i],
		    keys->values[i], keys->vlens[i], &cache))
			hits->data[at + i / 8] |= (uint8_t)(1u << (i % 8));
	*searched += elen + cache.scanned * keys->n;
	msgsearch_cache_clear(&cache);
	if (need_rec)
		msgrec_close(&r);
	*done = true;
	return IPC_S_OK;
}

/*
 * MAIL_FETCH_HITS of one present message: its UID, modseq and the keys'
 * bits, or *full if they do not fit.  Header keys alone are matched
 * against its msghead entry when it has one; otherwise the record is read
 * (FROM, SUBJECT...) and the bytes (HEADER, BODY, TEXT).
 */
static enum ipc_status
mail_fetch_hits(struct store_db *db, MDB_txn *txn, struct fetch_seq *seq,
    uint64_t acct, uint32_t uid, uint64_t email, uint64_t modseq,
    const struct mail_text_keys *keys, bool more,
    const struct mail_fetch_budget *bud, struct mail_fetch *r,
    size_t *bytes, size_t *searched, bool *full, struct store_error *err)
{
	struct message_rec m;
	enum ipc_status st;
	size_t need = 4 + 8 + (keys->n + 7) / 8;
	bool done = false;

	if (more && *bytes + need > bud->reply_max) {
		*full = true;
		return IPC_S_OK;
	}
	if (db->msghead != 0 && !seq->need.parts &&
	    (st = mail_fetch_head(db, txn, seq, acct, email, keys,
	    &r->text_hits, searched, &done, err)) != IPC_S_OK)
		return st;
	if (!done && !seq->need.raw) {
		/*
		 * The record alone is read, its size not checked: none of
		 * m but the size is looked at (not memset: kilobytes).
		 */
		memset(m.hash, 0, sizeof(m.hash));
		m.thread = m.received = 0;
		m.flags = m.nkeywords = m.nmbox = 0;
		m.size = MSGREC_ANY_SIZE;
	} else if (!done && (st = message_get_seq_as(db, txn, &seq->msgs,
	    acct, email, &m, true, err)) != IPC_S_OK)
		return st;
	if (!done && (st = mail_fetch_text(db, txn, seq, acct, email, &m,
	    NULL, 0, keys, &r->text_hits, searched, err)) != IPC_S_OK)
		return st;
	*bytes += need;
	mail_vec_u32(&r->found, uid);
	mail_vec_u64(&r->modseqs, modseq);
	return IPC_S_OK;
}

/* Adds the data of one present message, or sets *full if it does not fit. */
static enum ipc_status
mail_fetch_one(struct store_db *db, MDB_txn *txn, struct fetch_seq *seq,
    uint64_t acct, uint32_t uid, uint64_t email, uint64_t modseq,
    unsigned int what, const struct mail_text_keys *keys, uint32_t body_max,
    const struct mail_fetch_budget *bud, struct mail_fetch *r,
    size_t *bytes, size_t *searched, struct buf *kw, bool *full,
    struct store_error *err)
{
	struct message_rec m;
	struct blob_view bv = { 0 };
	enum ipc_status st;
	const void *rec = NULL;
	MDB_val imap = { 0, NULL };
	size_t reclen = 0, need;
	bool more, with_record = (what & MAIL_FETCH_RECORD) != 0;
	bool hits = (what & MAIL_FETCH_HITS) != 0;
	int rc;

	/* The first message goes whatever its size, unless bud says not. */
	more = r->found.n > 0 || bud->must_fit;
	if (keys != NULL && more && *searched >= bud->search_max) {
		*full = true;
		return IPC_S_OK;
	}
	if (hits)
		return mail_fetch_hits(db, txn, seq, acct, uid, email, modseq,
		    keys, more, bud, r, bytes, searched, full, err);
	if ((st = message_get_seq(db, txn, &seq->msgs, acct, email, &m,
	    err)) != IPC_S_OK)
		return st;
	if ((what & MAIL_FETCH_IMAP) && db->msgimap != 0) {
		struct key_mail k;
		MDB_val kv;

		key_mail_init(&k, acct);
		key_mail_u64(&k, email);
		kv = KEY_MAIL_VAL(&k);
		rc = db_seq_get(txn, db->msgimap, &seq->imaps, &kv, &imap);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return db_mdb_error(err, rc, "stored items read");
		if (rc == 0)
			with_record = false;
		else
			imap.mv_size = 0;
	}
	if (with_record && (st = message_record_seq(db, txn, &seq->recs, acct,
	    email, &rec, &reclen, err)) != IPC_S_OK)
		return st;
	mail_keywords_text(&m, kw);
	need = 4 + 8 * 10 + 4 + kw->len + reclen + imap.mv_size +
	    (keys != NULL ? (keys->n + 7) / 8 : 0);
	if (more && *bytes + need > bud->reply_max) {
		*full = true;
		return IPC_S_OK;
	}
	if (body_max > 0 && m.size <= body_max) {
		/* Whole, while the reply has room; the first one may go without. */
		if (*bytes + need + m.size <= bud->reply_max) {
			if ((st = blob_view_get(db, txn, m.hash, &bv, NULL,
			    err)) != IPC_S_OK)
				return st;
			need += bv.len;
		} else if (more) {
			*full = true;
			return IPC_S_OK;
		}
	}
	if (keys != NULL && (st = mail_fetch_text(db, txn, seq, acct, email,
	    &m, rec, reclen, keys, &r->text_hits, searched, err)) != IPC_S_OK) {
		blob_view_release(&bv);
		return st;
	}
	*bytes += need;
	mail_vec_u32(&r->found, uid);
	mail_vec_u64(&r->email_ids, email);
	mail_vec_u64(&r->thread_ids, m.thread);
	mail_vec_u64(&r->modseqs, modseq);
	mail_vec_u64(&r->flags, m.flags);
	strvec_add(&r->keywords, (const char *)kw->data);
	mail_vec_u64(&r->received, m.received);
	mail_vec_u64(&r->saved, m.received);	/* no SAVEDATE kept */
	mail_vec_u64(&r->sizes, m.size);
	if (what & MAIL_FETCH_RECORD) {
		if (reclen > 0)
			buf_append(&r->records, rec, reclen);
		mail_vec_u64(&r->record_lens, reclen);
	}
	if (what & MAIL_FETCH_IMAP) {
		if (imap.mv_size > 0)
			buf_append(&r->imap, imap.mv_data, imap.mv_size);
		mail_vec_u64(&r->imap_lens, imap.mv_size);
	}
	if (body_max > 0) {
		if (bv.p != NULL)
			buf_append(&r->bodies, bv.p, bv.len);
		mail_vec_u64(&r->body_lens, bv.p != NULL ? bv.len :
		    MSG_FETCH_NO_BODY);
	}
	blob_view_release(&bv);
	return IPC_S_OK;
}

const struct mail_fetch_budget mail_fetch_budget_full = {
	MAIL_REPLY_MAX, MAIL_SEARCH_BYTES_MAX, false
};

enum ipc_status
mail_msg_fetch_op(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mbox, const uint8_t *uids, uint32_t n, unsigned int what,
    const struct mail_text_keys *keys, uint32_t body_max,
    const struct mail_fetch_budget *bud, struct mail_fetch *r,
    struct store_error *err)
{
	struct mailbox_rec mb;
	struct fetch_seq seq;
	struct buf kw = BUF_INIT;
	enum ipc_status st;
	uint64_t email, modseq;
	uint32_t i, uid;
	size_t bytes = 0, searched = 0;
	bool full = false;

	memset(r, 0, sizeof(*r));
	memset(&seq, 0, sizeof(seq));
	/* Copies of what the store holds: freeing them needs no wipe. */
	r->records.nowipe = r->bodies.nowipe = seq.raw.nowipe = true;
	r->imap.nowipe = true;
	if (bud == NULL)
		bud = &mail_fetch_budget_full;
	if (keys != NULL && keys->n == 0)
		keys = NULL;
	if (keys != NULL)
		seq.need = mail_keys_need(keys);
	if ((what & MAIL_FETCH_HITS) && (keys == NULL || body_max > 0 ||
	    (what & (MAIL_FETCH_RECORD | MAIL_FETCH_IMAP))))
		return db_error(err, IPC_S_INVALID,
		    "hits alone need text keys and nothing else");
	if ((st = mailbox_get(db, txn, account_id, mbox, &mb, err)) !=
	    IPC_S_OK)
		return st;
	for (i = 0; i < n && !full; i++) {
		uid = wire_be32_get(uids + (size_t)i * 4);
		st = msgops_uid_get_seq(db, txn, &seq.uids, account_id, mbox,
		    uid, &email, &modseq, err);
		if (st == IPC_S_OK)
			st = mail_fetch_one(db, txn, &seq, account_id, uid, email,
			    modseq, what, keys, body_max, bud, r,
			    &bytes, &searched, &kw, &full, err);
		else if (st == IPC_S_NOTFOUND)
			st = IPC_S_OK;
		if (st != IPC_S_OK)
			break;
		if (!full)
			r->done = i + 1;
	}
	r->bytes = bytes;
	r->searched = searched;
	db_seq_close(&seq.uids);
	db_seq_close(&seq.msgs);
	db_seq_close(&seq.recs);
	db_seq_close(&seq.imaps);
	db_seq_close(&seq.heads);
	buf_clear(&seq.raw);
	buf_clear(&kw);
	return st;
}

void
mail_fetch_clear(struct mail_fetch *r)
{
	struct mail_vec *v[] = { &r->found, &r->email_ids, &r->thread_ids,
	    &r->modseqs, &r->flags, &r->received, &r->saved, &r->sizes,
	    &r->record_lens, &r->body_lens, &r->imap_lens };
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		mail_vec_clear(v[i]);
	strvec_clear(&r->keywords);
	buf_clear(&r->records);
	buf_clear(&r->imap);
	buf_clear(&r->text_hits);
	buf_clear(&r->bodies);
}

/* --- MSG_FETCH over the read pool --- */

/*
 * The UIDs are cut into batches that the threads take in order; fewer UIDs
 * than FETCH_BATCH_MIN in a batch are not worth a hand-over.  The budget
 * is shared in order: a batch gets what the batches before it left, and
 * the first batch cut short ends the reply (the batches after it stop or
 * are dropped).
 */
#define FETCH_BATCH_MIN		32
#define FETCH_BATCHES_PER_PART	4

struct fetch_par {
	struct store_db			*db;
	uint64_t			 acct;
	uint32_t			 mbox;
	const uint8_t			*uids;
	unsigned int			 what;
	const struct mail_text_keys	*keys;
	uint32_t			 body_max;
	uint32_t			 cut;	/* atomic: first batch cut */
	struct fetch_batch {
		uint32_t		 first, n;	/* of the UIDs */
		bool			 ran;
		bool			 over;		/* atomic: its use is set */
		size_t			 used_bytes;	/* of the reply */
		size_t			 used_search;
		struct mail_fetch	 r;
		enum ipc_status		 st;
		struct store_error	 err;
		size_t			 txnid;
	}				*b;
};

/* Notes that batch i was cut short: the batches after it are not needed. */
static void
fetch_par_cut(struct fetch_par *fp, uint32_t i)
{
	uint32_t c = __atomic_load_n(&fp->cut, __ATOMIC_RELAXED);

	while (i < c && !__atomic_compare_exchange_n(&fp->cut, &c, i, false,
	    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

static void
fetch_par_run(void *arg, unsigned int i)
{
	struct fetch_par *fp = arg;
	struct fetch_batch *b = &fp->b[i];
	struct mail_fetch_budget bud;
	size_t ub = 0, us = 0;
	uint32_t j;
	MDB_txn *txn;

	if (i > __atomic_load_n(&fp->cut, __ATOMIC_ACQUIRE))
		return;
	/*
	 * The budget is what the batches before this one left, as far as
	 * they are over; batches still running are checked at the join.
	 * A later batch never shrinks an earlier one's budget.
	 */
	for (j = 0; j < i; j++)
		if (__atomic_load_n(&fp->b[j].over, __ATOMIC_ACQUIRE)) {
			ub += fp->b[j].used_bytes;
			us += fp->b[j].used_search;
		}
	bud.reply_max = ub < MAIL_REPLY_MAX ? MAIL_REPLY_MAX - ub : 0;
	bud.search_max = us < MAIL_SEARCH_BYTES_MAX ?
	    MAIL_SEARCH_BYTES_MAX - us : 0;
	/* Only the reply's first message may pass the budget. */
	bud.must_fit = i > 0;
	b->ran = true;
	if ((b->st = db_begin(fp->db, false, &txn, &b->err)) == IPC_S_OK) {
		b->txnid = mdb_txn_id(txn);
		b->st = mail_msg_fetch_op(fp->db, txn, fp->acct, fp->mbox,
		    fp->uids + (size_t)b->first * 4, b->n, fp->what,
		    fp->keys, fp->body_max, &bud, &b->r, &b->err);
		db_abort(&txn);
	}
	b->used_bytes = b->r.bytes;
	b->used_search = b->r.searched;
	__atomic_store_n(&b->over, true, __ATOMIC_RELEASE);
	if (b->st != IPC_S_OK || b->r.done < b->n)
		fetch_par_cut(fp, i);
}

static void
vec_join(struct mail_vec *to, const struct mail_vec *from)
{
	buf_append(&to->b, from->b.data, from->b.len);
	to->n += from->n;
}

/* Appends batch b's results to a's. */
static void
fetch_join(struct mail_fetch *a, const struct mail_fetch *b)
{
	size_t i;

	vec_join(&a->found, &b->found);
	vec_join(&a->email_ids, &b->email_ids);
	vec_join(&a->thread_ids, &b->thread_ids);
	vec_join(&a->modseqs, &b->modseqs);
	vec_join(&a->flags, &b->flags);
	vec_join(&a->received, &b->received);
	vec_join(&a->saved, &b->saved);
	vec_join(&a->sizes, &b->sizes);
	vec_join(&a->record_lens, &b->record_lens);
	vec_join(&a->imap_lens, &b->imap_lens);
	vec_join(&a->body_lens, &b->body_lens);
	for (i = 0; i < b->keywords.n; i++)
		strvec_add(&a->keywords, b->keywords.v[i]);
	buf_append(&a->records, b->records.data, b->records.len);
	buf_append(&a->imap, b->imap.data, b->imap.len);
	buf_append(&a->text_hits, b->text_hits.data, b->text_hits.len);
	buf_append(&a->bodies, b->bodies.data, b->bodies.len);
	a->done += b->done;
	a->bytes += b->bytes;
	a->searched += b->searched;
}

/* Whether every batch that ran saw the first one's snapshot. */
static bool
fetch_par_same(const struct fetch_par *fp, uint32_t nb)
{
	uint32_t i;

	for (i = 1; i < nb; i++)
		if (fp->b[i].ran && fp->b[i].st == IPC_S_OK &&
		    fp->b[i].txnid != fp->b[0].txnid)
			return false;
	return true;
}

enum ipc_status
mail_msg_fetch_par(struct store_db *db, struct readpool *rp,
    uint64_t account_id, uint32_t mbox, const uint8_t *uids, uint32_t n,
    unsigned int what, const struct mail_text_keys *keys, uint32_t body_max,
    struct mail_fetch *r, struct store_error *err)
{
	struct fetch_par fp = { .db = db, .acct = account_id, .mbox = mbox,
	    .uids = uids, .what = what, .keys = keys,
	    .body_max = body_max };
	struct fetch_batch *b0;
	enum ipc_status st;
	uint32_t nb, i, at;

	nb = readpool_width(rp) * FETCH_BATCHES_PER_PART;
	if (nb > n / FETCH_BATCH_MIN)
		nb = n / FETCH_BATCH_MIN;
	/*
	 * Without text keys nothing is searched or decoded: records and
	 * bodies are copied, and a split would only add the join's copy of
	 * them and a hand-over to a thread (fetch-meta took 0.058-0.079 s
	 * split, 0.048-0.062 s in one piece).
	 */
	if (readpool_width(rp) < 2 || nb < 2 || body_max > 0 ||
	    keys == NULL || keys->n == 0)
		nb = 1;
	fp.b = xcalloc(nb, sizeof(*fp.b));
	fp.cut = UINT32_MAX;
	for (i = 0, at = 0; i < nb; i++) {
		fp.b[i].first = at;
		fp.b[i].n = (n - at) / (nb - i);
		at += fp.b[i].n;
	}
	readpool_run(nb > 1 ? rp : NULL, nb, fetch_par_run, &fp);
	b0 = &fp.b[0];
	if (b0->st == IPC_S_OK && !fetch_par_same(&fp, nb)) {
		/* A commit came between the batches' snapshots: read in one. */
		for (i = 0; i < nb; i++)
			mail_fetch_clear(&fp.b[i].r);
		memset(fp.b, 0, nb * sizeof(*fp.b));
		fp.cut = UINT32_MAX;
		b0->n = n;
		fetch_par_run(&fp, 0);
		nb = 1;
	}
	/* The reply: the batches in order, up to the first cut short. */
	for (i = 1; i < nb && b0->st == IPC_S_OK && b0->r.done == b0->n;
	    i++) {
		if (!fp.b[i].ran || fp.b[i].st != IPC_S_OK)
			break;		/* the worker asks again from here */
		if (fp.b[i].r.found.n > 0 &&
		    b0->r.bytes + fp.b[i].r.bytes > MAIL_REPLY_MAX)
			break;
		fetch_join(&b0->r, &fp.b[i].r);
		b0->n += fp.b[i].n;
	}
	for (i = 1; i < nb; i++)
		mail_fetch_clear(&fp.b[i].r);
	*r = b0->r;
	if ((st = b0->st) != IPC_S_OK) {
		*err = b0->err;
		mail_fetch_clear(r);
	}
	free(fp.b);
	return st;
}

enum ipc_status
mail_msg_body_op(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mbox, uint32_t uid, uint64_t offset, uint32_t length,
    uint64_t *size_r, struct buf *data, struct store_error *err)
{
	struct message_rec m;
	enum ipc_status st;
	uint64_t email, modseq;
	size_t len;

	if ((st = msgops_uid_get(db, txn, account_id, mbox, uid, &email,
	    &modseq, err)) != IPC_S_OK ||
	    (st = message_get(db, txn, account_id, email, &m, err)) !=
	    IPC_S_OK ||
	    (st = blob_read(db, txn, m.hash, offset, length < MAIL_BODY_MAX ?
	    length : MAIL_BODY_MAX, data, &len, err)) != IPC_S_OK)
		return st;
	*size_r = len;
	return IPC_S_OK;
}

enum ipc_status
mail_msg_body_file_op(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mbox, uint32_t uid, int fd, uint64_t *size_r, int *file_fd_r,
    struct store_error *err)
{
	struct message_rec m;
	struct blob_view bv;
	struct stat sb;
	enum ipc_status st;
	const uint8_t *p;
	uint64_t email, modseq;
	size_t len, off = 0;
	ssize_t n;

	*file_fd_r = -1;
	/*
	 * Only a memfd has seals, and only an empty one is taken: a file,
	 * pipe or socket from a worker could make storaged block or write
	 * where the worker cannot.  Without one (MSG_FILE), only a file is
	 * given.
	 */
	if (fd != -1 && (fcntl(fd, F_GET_SEALS) == -1 || fstat(fd, &sb) ==
	    -1 || !S_ISREG(sb.st_mode) || sb.st_size != 0))
		return db_error(err, IPC_S_INVALID, "not an empty memfd");
	if ((st = msgops_uid_get(db, txn, account_id, mbox, uid, &email,
	    &modseq, err)) != IPC_S_OK ||
	    (st = message_get(db, txn, account_id, email, &m, err)) !=
	    IPC_S_OK ||
	    (st = blob_fd_get(db, txn, m.hash, file_fd_r, &len, err)) !=
	    IPC_S_OK)
		return st;
	if (*file_fd_r != -1 || fd == -1) {
		/* Immutable: the worker reads it, not a copy. */
		*size_r = len;
		return IPC_S_OK;
	}
	if ((st = blob_view_get(db, txn, m.hash, &bv, NULL, err)) != IPC_S_OK)
		return st;
	p = bv.p;
	len = bv.len;
	while (off < len) {
		n = pwrite(fd, p + off, len - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			st = db_error(err, IPC_S_INVALID, "cannot write the "
			    "message to the memfd: %s", n == 0 ? "no space" :
			    strerror(errno));
			blob_view_release(&bv);
			return st;
		}
		off += (size_t)n;
	}
	blob_view_release(&bv);
	*size_r = len;
	return IPC_S_OK;
}
