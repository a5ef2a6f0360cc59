/* SPDX-License-Identifier: ISC */
/*
 * email_op.c: the JMAP Mail requests of jmapd (see email_op.h): the
 * reads of MBOX_THREADS, EMAIL_LIST, EMAIL_GET, EMAIL_BODY and THREAD_GET,
 * and EMAIL_SET's updates and destroys (RFC 8621 4.6), built from the
 * membership steps of message_ops.h in the order MSG_STORE and MSG_COPY
 * use them (mail_msg_write.c), so that IMAP sees the same log.
 */
#include "email_op.h"
#include "blob.h"
#include "changelog.h"
#include "key.h"
#include "mailbox.h"
#include "mbox_op.h"
#include "message.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The account's state, 0 for an account without mail state. */
static enum ipc_status
email_state(struct store_db *db, MDB_txn *txn, uint64_t acct,
    uint64_t *state_r, bool *none_r, struct store_error *err)
{
	struct mstate_rec s;
	enum ipc_status st;

	*state_r = 0;
	*none_r = false;
	st = mstate_get(db, txn, acct, &s, err);
	if (st == IPC_S_NOTFOUND) {
		*none_r = true;
		return IPC_S_OK;
	}
	if (st == IPC_S_OK)
		*state_r = s.modseq;
	return st;
}

/* --- Rows of EMAIL_LIST and EMAIL_GET --- */

/*
 * Bytes one email adds to a reply: six u64s (id, thread, received, size,
 * flags, mailbox count), its keyword string (length, bytes, NUL), its
 * mailbox ids, and for EMAIL_GET its hash, record and record length.
 */
static size_t
email_rows_need(const struct message_rec *m, const struct buf *kw,
    bool get, bool with_record, size_t reclen)
{
	size_t n = 8 * 6 + 4 + kw->len + 8 * (size_t)m->nmbox;

	if (get)
		n += MSG_HASH_LEN;
	if (with_record)
		n += 8 + reclen;
	return n;
}

static void
email_rows_add(struct email_rows *r, uint64_t email,
    const struct message_rec *m, const struct buf *kw, bool get,
    bool with_record, const void *rec, size_t reclen, size_t need)
{
	uint32_t i;

	mail_vec_u64(&r->ids, email);
	mail_vec_u64(&r->thread_ids, m->thread);
	mail_vec_u64(&r->received, m->received);
	mail_vec_u64(&r->sizes, m->size);
	mail_vec_u64(&r->flags, m->flags);
	strvec_add(&r->keywords, (const char *)kw->data);
	mail_vec_u64(&r->mbox_counts, m->nmbox);
	for (i = 0; i < m->nmbox; i++)
		mail_vec_u64(&r->mailbox_ids, m->mbox[i].mailbox);
	if (get)
		buf_append(&r->hashes, m->hash, MSG_HASH_LEN);
	if (with_record) {
		if (reclen > 0)
			buf_append(&r->records, rec, reclen);
		mail_vec_u64(&r->record_lens, reclen);
	}
	r->bytes += need;
}

void
email_rows_clear(struct email_rows *r)
{
	struct mail_vec *v[] = { &r->ids, &r->thread_ids, &r->received,
	    &r->sizes, &r->flags, &r->mbox_counts, &r->mailbox_ids,
	    &r->record_lens };
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		mail_vec_clear(v[i]);
	strvec_clear(&r->keywords);
	buf_clear(&r->hashes);
	buf_clear(&r->records);
	r->bytes = 0;
}

/* --- MBOX_THREADS --- */

enum ipc_status
email_op_mbox_threads(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    struct email_mbox_threads *r, struct store_error *err)
{
	struct mbox_list l;
	enum ipc_status st;
	size_t i;

	memset(r, 0, sizeof(*r));
	memset(&l, 0, sizeof(l));
	st = mbox_op_list(db, txn, account_id, true, &l, err);
	if (st == IPC_S_NOTFOUND) {
		/* No mail state: no mailboxes. */
		mbox_list_clear(&l);
		return IPC_S_OK;
	}
	if (st == IPC_S_OK) {
		r->state = l.state;
		for (i = 0; i < l.n; i++) {
			mail_vec_u64(&r->ids, l.v[i].id);
			mail_vec_u64(&r->unread_threads,
			    l.v[i].unread_threads);
		}
	}
	mbox_list_clear(&l);
	return st;
}

void
email_mbox_threads_clear(struct email_mbox_threads *r)
{
	mail_vec_clear(&r->ids);
	mail_vec_clear(&r->unread_threads);
}

/* --- EMAIL_LIST --- */

struct email_list_ctx {
	struct store_db		*db;
	MDB_txn			*txn;
	uint64_t		 acct;
	uint32_t		 limit;
	size_t			 reply_max;
	struct email_list	*r;
	struct message_rec	*m;
	struct buf		 kw;
	uint64_t		 last;	/* id or UID of the last listed */
	bool			 more;
};

/*
 * Lists one email (record ctx->m) at position pos (its id or UID); returns
 * false when it does not fit, which ends the list.
 */
static bool
email_list_one(struct email_list_ctx *ctx, uint64_t pos, uint64_t email)
{
	struct email_rows *rows = &ctx->r->rows;
	size_t need;

	mail_keywords_text(ctx->m, &ctx->kw);
	need = email_rows_need(ctx->m, &ctx->kw, false, false, 0);
	if (rows->ids.n == ctx->limit ||
	    (rows->ids.n > 0 && rows->bytes + need > ctx->reply_max)) {
		ctx->more = true;
		return false;
	}
	email_rows_add(rows, email, ctx->m, &ctx->kw, false, false, NULL, 0,
	    need);
	ctx->last = pos;
	return true;
}

/* The account's emails in email id order, after cursor. */
static enum ipc_status
email_list_all(struct email_list_ctx *ctx, uint64_t cursor,
    struct store_error *err)
{
	struct key_mail pre, start;
	MDB_cursor *cur;
	MDB_val k, d;
	MDB_cursor_op op = MDB_SET_RANGE;
	enum ipc_status st = IPC_S_OK;
	uint64_t email;
	int rc;

	if (cursor == UINT64_MAX)
		return IPC_S_OK;
	key_mail_init(&pre, ctx->acct);
	start = pre;
	key_mail_u64(&start, cursor + 1);
	k = KEY_MAIL_VAL(&start);
	if ((rc = mdb_cursor_open(ctx->txn, ctx->db->messages, &cur)) != 0)
		return db_mdb_error(err, rc, "cursor");
	for (; (rc = mdb_cursor_get(cur, &k, &d, op)) == 0; op = MDB_NEXT) {
		if (!key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len) ||
		    k.mv_size != pre.len + 8)
			break;
		email = wire_be64_get((const uint8_t *)k.mv_data + pre.len);
		if (record_message_dec(d.mv_data, d.mv_size, ctx->m) == -1) {
			st = db_error(err, IPC_S_INTERNAL, "corrupt record of "
			    "email %llu", (unsigned long long)email);
			break;
		}
		if (!email_list_one(ctx, email, email))
			break;
	}
	mdb_cursor_close(cur);
	if (st == IPC_S_OK && rc != 0 && rc != MDB_NOTFOUND)
		st = db_mdb_error(err, rc, "email scan");
	return st;
}

/* The emails of mailbox mbox in UID order, after UID cursor. */
static enum ipc_status
email_list_mbox(struct email_list_ctx *ctx, uint32_t mbox, uint64_t cursor,
    struct store_error *err)
{
	struct key_mail pre, start;
	struct db_seq seq;
	MDB_cursor *cur;
	MDB_val k, d;
	MDB_cursor_op op = MDB_SET_RANGE;
	enum ipc_status st = IPC_S_OK;
	uint64_t email;
	uint32_t uid;
	int rc;

	if (cursor >= UINT32_MAX)
		return IPC_S_OK;
	key_mail_init(&pre, ctx->acct);
	key_mail_u32(&pre, mbox);
	start = pre;
	key_mail_u32(&start, (uint32_t)cursor + 1);
	k = KEY_MAIL_VAL(&start);
	memset(&seq, 0, sizeof(seq));
	if ((rc = mdb_cursor_open(ctx->txn, ctx->db->mbox_uids, &cur)) != 0)
		return db_mdb_error(err, rc, "cursor");
	for (; (rc = mdb_cursor_get(cur, &k, &d, op)) == 0; op = MDB_NEXT) {
		if (!key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len))
			break;
		if (k.mv_size != pre.len + 4 || d.mv_size != 16)
			continue;
		uid = wire_be32_get((const uint8_t *)k.mv_data + pre.len);
		email = wire_be64_get(d.mv_data);
		if ((st = message_get_seq(ctx->db, ctx->txn, &seq, ctx->acct,
		    email, ctx->m, err)) != IPC_S_OK ||
		    !email_list_one(ctx, uid, email))
			break;
	}
	mdb_cursor_close(cur);
	db_seq_close(&seq);
	if (st == IPC_S_OK && rc != 0 && rc != MDB_NOTFOUND)
		st = db_mdb_error(err, rc, "uid scan");
	return st;
}

enum ipc_status
email_op_list(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mailbox_id, uint64_t cursor, uint32_t limit, size_t reply_max,
    struct email_list *r, struct store_error *err)
{
	struct email_list_ctx ctx = { .db = db, .txn = txn,
	    .acct = account_id, .r = r, .kw = BUF_INIT };
	enum ipc_status st;
	bool none;

	memset(r, 0, sizeof(*r));
	ctx.limit = limit == 0 || limit > EMAIL_LIST_MAX ? EMAIL_LIST_MAX :
	    limit;
	ctx.reply_max = reply_max == 0 ? MAIL_REPLY_MAX : reply_max;
	if ((st = email_state(db, txn, account_id, &r->state, &none, err)) !=
	    IPC_S_OK || none)
		return st;
	ctx.m = xmalloc(sizeof(*ctx.m));
	if (mailbox_id == 0)
		st = email_list_all(&ctx, cursor, err);
	else
		st = email_list_mbox(&ctx, mailbox_id, cursor, err);
	if (st == IPC_S_OK && ctx.more)
		r->next = ctx.last;
	buf_clear(&ctx.kw);
	free(ctx.m);
	return st;
}

void
email_list_clear(struct email_list *r)
{
	email_rows_clear(&r->rows);
}

/* --- EMAIL_GET --- */

enum ipc_status
email_op_get(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const struct wire_u64list *ids, bool with_record, size_t reply_max,
    struct email_get *r, struct store_error *err)
{
	struct message_rec *m;
	struct db_seq msgs, recs;
	struct buf kw = BUF_INIT;
	enum ipc_status st;
	const void *rec = NULL;
	size_t reclen = 0, need;
	uint64_t email;
	uint32_t i;
	bool none;

	memset(r, 0, sizeof(*r));
	/* Copies of what the store holds: freeing them needs no wipe. */
	r->rows.records.nowipe = true;
	if (reply_max == 0)
		reply_max = MAIL_REPLY_MAX;
	if ((st = email_state(db, txn, account_id, &r->state, &none, err)) !=
	    IPC_S_OK)
		return st;
	if (none) {
		r->done = ids->count;
		return IPC_S_OK;
	}
	memset(&msgs, 0, sizeof(msgs));
	memset(&recs, 0, sizeof(recs));
	m = xmalloc(sizeof(*m));
	for (i = 0; i < ids->count; i++) {
		email = wire_u64list_get(ids, i);
		st = message_get_seq(db, txn, &msgs, account_id, email, m, err);
		if (st == IPC_S_NOTFOUND) {
			st = IPC_S_OK;
			r->done = i + 1;
			continue;
		}
		if (st != IPC_S_OK || (with_record && (st =
		    message_record_seq(db, txn, &recs, account_id, email, &rec,
		    &reclen, err)) != IPC_S_OK))
			break;
		mail_keywords_text(m, &kw);
		need = email_rows_need(m, &kw, true, with_record, reclen);
		if (r->rows.ids.n > 0 && r->rows.bytes + need > reply_max)
			break;
		email_rows_add(&r->rows, email, m, &kw, true, with_record, rec,
		    reclen, need);
		r->done = i + 1;
	}
	db_seq_close(&msgs);
	db_seq_close(&recs);
	buf_clear(&kw);
	free(m);
	return st;
}

void
email_get_clear(struct email_get *r)
{
	email_rows_clear(&r->rows);
}

/* --- EMAIL_BODY --- */

enum ipc_status
email_op_body(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t email_id, uint64_t offset, uint32_t length, uint64_t *size_r,
    struct buf *data, struct store_error *err)
{
	struct message_rec *m;
	enum ipc_status st;
	size_t len = 0;

	m = xmalloc(sizeof(*m));
	st = message_get(db, txn, account_id, email_id, m, err);
	if (st == IPC_S_OK)
		st = blob_read(db, txn, m->hash, offset, length < MAIL_BODY_MAX ?
		    length : MAIL_BODY_MAX, data, &len, err);
	free(m);
	if (st != IPC_S_OK)
		return st;
	*size_r = len;
	return IPC_S_OK;
}

/* --- THREAD_GET --- */

struct email_member {
	uint64_t	 received;
	uint64_t	 email;
};

static int
email_member_cmp(const void *a, const void *b)
{
	const struct email_member *x = a, *y = b;

	if (x->received != y->received)
		return x->received < y->received ? -1 : 1;
	if (x->email != y->email)
		return x->email < y->email ? -1 : 1;
	return 0;
}

/* The members of thread, with their received dates, into *v (n, cap). */
static enum ipc_status
email_thread_members(struct store_db *db, MDB_txn *txn, uint64_t acct,
    uint64_t thread, struct message_rec *m, struct email_member **v,
    size_t *n, size_t *cap, struct store_error *err)
{
	struct key_mail pre;
	MDB_cursor *cur;
	MDB_val k, d;
	MDB_cursor_op op = MDB_SET_RANGE;
	enum ipc_status st = IPC_S_OK;
	uint64_t email;
	int rc;

	*n = 0;
	key_mail_init(&pre, acct);
	key_mail_u64(&pre, thread);
	k = KEY_MAIL_VAL(&pre);
	if ((rc = mdb_cursor_open(txn, db->threads, &cur)) != 0)
		return db_mdb_error(err, rc, "cursor");
	for (; (rc = mdb_cursor_get(cur, &k, &d, op)) == 0; op = MDB_NEXT) {
		if (!key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len))
			break;
		if (k.mv_size != pre.len + 8)
			continue;
		email = wire_be64_get((const uint8_t *)k.mv_data + pre.len);
		/* The cursor stays valid: this is a read of another table. */
		if ((st = message_get(db, txn, acct, email, m, err)) !=
		    IPC_S_OK)
			break;
		if (*n == *cap) {
			*cap = *cap == 0 ? 16 : *cap * 2;
			*v = xreallocarray(*v, *cap, sizeof(**v));
		}
		(*v)[*n].received = m->received;
		(*v)[(*n)++].email = email;
	}
	mdb_cursor_close(cur);
	if (st == IPC_S_OK && rc != 0 && rc != MDB_NOTFOUND)
		st = db_mdb_error(err, rc, "thread scan");
	return st;
}

enum ipc_status
email_op_threads(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const struct wire_u64list *ids, size_t reply_max,
    struct email_threads *r, struct store_error *err)
{
	struct email_member *v = NULL;
	struct message_rec *m;
	enum ipc_status st;
	size_t n = 0, cap = 0, j, bytes = 0;
	uint64_t thread;
	uint32_t i;
	bool none;

	memset(r, 0, sizeof(*r));
	if (reply_max == 0)
		reply_max = MAIL_REPLY_MAX;
	if ((st = email_state(db, txn, account_id, &r->state, &none, err)) !=
	    IPC_S_OK || none)
		return st;
	m = xmalloc(sizeof(*m));
	for (i = 0; i < ids->count; i++) {
		thread = wire_u64list_get(ids, i);
		if ((st = email_thread_members(db, txn, account_id, thread, m,
		    &v, &n, &cap, err)) != IPC_S_OK)
			break;
		if (n == 0)
			continue;
		if ((bytes += 16 + 8 * n) > reply_max) {
			st = db_error(err, IPC_S_TOOBIG, "threads too large "
			    "for one reply: ask for fewer");
			break;
		}
		qsort(v, n, sizeof(*v), email_member_cmp);
		mail_vec_u64(&r->found, thread);
		mail_vec_u64(&r->counts, n);
		for (j = 0; j < n; j++)
			mail_vec_u64(&r->email_ids, v[j].email);
	}
	free(v);
	free(m);
	return st;
}

void
email_threads_clear(struct email_threads *r)
{
	mail_vec_clear(&r->found);
	mail_vec_clear(&r->counts);
	mail_vec_clear(&r->email_ids);
}

/* --- EMAIL_SET: the request --- */

struct email_set *
email_set_new(uint64_t account_id, uint64_t if_state)
{
	struct email_set *es = xcalloc(1, sizeof(*es));

	es->account_id = account_id;
	es->if_state = if_state;
	return es;
}

static uint64_t *
email_u64s_dup(const uint64_t *v, uint32_t n)
{
	uint64_t *p;

	if (n == 0)
		return NULL;
	p = xreallocarray(NULL, n, sizeof(*p));
	memcpy(p, v, (size_t)n * sizeof(*p));
	return p;
}

void
email_set_update(struct email_set *es, uint64_t id, uint32_t flags_add,
    uint32_t flags_del, const char *kw_add, const char *kw_del,
    bool kw_replace, bool mb_replace, const uint64_t *mb_add,
    uint32_t nmb_add, const uint64_t *mb_del, uint32_t nmb_del)
{
	struct email_update *u;

	if (es->nup == es->capup) {
		es->capup = es->capup == 0 ? 8 : es->capup * 2;
		es->up = xreallocarray(es->up, es->capup, sizeof(*es->up));
	}
	u = &es->up[es->nup++];
	memset(u, 0, sizeof(*u));
	u->id = id;
	u->flags_add = flags_add;
	u->flags_del = flags_del;
	u->kw_add = xstrdup(kw_add != NULL ? kw_add : "");
	u->kw_del = xstrdup(kw_del != NULL ? kw_del : "");
	u->kw_replace = kw_replace;
	u->mb_replace = mb_replace;
	u->mb_add = email_u64s_dup(mb_add, nmb_add);
	u->nmb_add = nmb_add;
	u->mb_del = email_u64s_dup(mb_del, nmb_del);
	u->nmb_del = nmb_del;
}

void
email_set_destroy(struct email_set *es, uint64_t id)
{
	if (es->ndestroy == es->capdestroy) {
		es->capdestroy = es->capdestroy == 0 ? 8 : es->capdestroy * 2;
		es->destroy = xreallocarray(es->destroy, es->capdestroy,
		    sizeof(*es->destroy));
	}
	es->destroy[es->ndestroy++] = id;
}

/* Element i of a per-update list that has n elements or none. */
static uint64_t
email_opt_u64(const struct wire_u64list *l, uint32_t i)
{
	return l->count == 0 ? 0 : wire_u64list_get(l, i);
}

/* The ids of a counted list for each update, as a C array (owned). */
static uint64_t *
email_wire_ids(const struct wire_u64list *l, uint32_t at, uint32_t n)
{
	uint64_t *p;
	uint32_t i;

	if (n == 0)
		return NULL;
	p = xreallocarray(NULL, n, sizeof(*p));
	for (i = 0; i < n; i++)
		p[i] = wire_u64list_get(l, at + i);
	return p;
}

/* Whether a per-update list has one element per update, or none. */
static bool
email_list_ok(uint32_t count, uint32_t n)
{
	return count == 0 || count == n;
}

struct email_set *
email_set_from_wire(uint64_t account_id, uint64_t if_state,
    const struct wire_u64list *update_ids,
    const struct wire_u64list *flags_add,
    const struct wire_u64list *flags_del,
    const struct wire_strlist *kw_add, const struct wire_strlist *kw_del,
    const struct wire_u64list *kw_replace,
    const struct wire_u64list *mb_replace,
    const struct wire_u64list *mb_add_counts,
    const struct wire_u64list *mb_add,
    const struct wire_u64list *mb_del_counts,
    const struct wire_u64list *mb_del,
    const struct wire_u64list *destroy, enum ipc_status *st_r,
    struct store_error *err)
{
	struct email_set *es;
	struct email_update *u;
	struct wire_iter ai, di;
	uint64_t sum_add = 0, sum_del = 0, fa, fd;
	uint32_t n = update_ids->count, i, at_add = 0, at_del = 0;

	*st_r = IPC_S_INVALID;
	if ((uint64_t)n + destroy->count > EMAIL_SET_MAX) {
		*st_r = db_error(err, IPC_S_LIMIT, "more than %d updates and "
		    "destroys", EMAIL_SET_MAX);
		return NULL;
	}
	if (!email_list_ok(flags_add->count, n) ||
	    !email_list_ok(flags_del->count, n) ||
	    !email_list_ok(kw_add->count, n) ||
	    !email_list_ok(kw_del->count, n) ||
	    !email_list_ok(kw_replace->count, n) ||
	    !email_list_ok(mb_replace->count, n) ||
	    !email_list_ok(mb_add_counts->count, n) ||
	    !email_list_ok(mb_del_counts->count, n)) {
		db_error(err, IPC_S_INVALID, "lists of updates do not match");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		fa = email_opt_u64(flags_add, i);
		fd = email_opt_u64(flags_del, i);
		if (((fa | fd) & ~(uint64_t)MAIL_F_ALL) != 0) {
			db_error(err, IPC_S_INVALID, "unknown flags");
			return NULL;
		}
		/* Each count is below 2^20 (a list's most): no overflow. */
		if (email_opt_u64(mb_add_counts, i) > WIRE_MAX_LIST ||
		    email_opt_u64(mb_del_counts, i) > WIRE_MAX_LIST) {
			db_error(err, IPC_S_INVALID, "bad mailbox count");
			return NULL;
		}
		sum_add += email_opt_u64(mb_add_counts, i);
		sum_del += email_opt_u64(mb_del_counts, i);
	}
	if (sum_add != mb_add->count || sum_del != mb_del->count) {
		db_error(err, IPC_S_INVALID, "mailbox lists do not match "
		    "their counts");
		return NULL;
	}
	es = email_set_new(account_id, if_state);
	wire_strlist_iter(kw_add, &ai);
	wire_strlist_iter(kw_del, &di);
	for (i = 0; i < n; i++) {
		email_set_update(es, wire_u64list_get(update_ids, i),
		    (uint32_t)email_opt_u64(flags_add, i),
		    (uint32_t)email_opt_u64(flags_del, i),
		    kw_add->count == 0 ? NULL : wire_strlist_next(&ai),
		    kw_del->count == 0 ? NULL : wire_strlist_next(&di),
		    email_opt_u64(kw_replace, i) != 0,
		    email_opt_u64(mb_replace, i) != 0, NULL, 0, NULL, 0);
		u = &es->up[es->nup - 1];
		u->nmb_add = (uint32_t)email_opt_u64(mb_add_counts, i);
		u->mb_add = email_wire_ids(mb_add, at_add, u->nmb_add);
		at_add += u->nmb_add;
		u->nmb_del = (uint32_t)email_opt_u64(mb_del_counts, i);
		u->mb_del = email_wire_ids(mb_del, at_del, u->nmb_del);
		at_del += u->nmb_del;
	}
	for (i = 0; i < destroy->count; i++)
		email_set_destroy(es, wire_u64list_get(destroy, i));
	*st_r = IPC_S_OK;
	return es;
}

void
email_set_free(struct email_set **esp)
{
	struct email_set *es = *esp;
	size_t i;

	if (es == NULL)
		return;
	for (i = 0; i < es->nup; i++) {
		free(es->up[i].kw_add);
		free(es->up[i].kw_del);
		free(es->up[i].mb_add);
		free(es->up[i].mb_del);
	}
	free(es->up);
	free(es->destroy);
	mail_vec_clear(&es->up_status);
	mail_vec_clear(&es->destroy_status);
	strvec_clear(&es->up_texts);
	strvec_clear(&es->destroy_texts);
	msgops_mboxes_clear(&es->touched);
	free(es);
	*esp = NULL;
}

/* --- EMAIL_SET: the step --- */

/* What one update works with; large, so made once per request. */
struct email_work {
	struct message_rec	 m;
	char			 add[MSG_MAX_KEYWORDS][MSG_KEYWORD_MAX + 1];
	char			 del[MSG_MAX_KEYWORDS][MSG_KEYWORD_MAX + 1];
	char			 kw[MSG_MAX_KEYWORDS][MSG_KEYWORD_MAX + 1];
	uint32_t		 nadd, ndel, nkw;
	uint32_t		 joins[MSG_MAX_MAILBOXES];
	uint32_t		 leaves[MSG_MAX_MAILBOXES];
	uint32_t		 left_uids[MSG_MAX_MAILBOXES];
	uint32_t		 njoins, nleaves;
	/* The mailboxes this email changed, merged on success. */
	struct msgops_mboxes	 mine;
};

static int
email_kw_find(char kw[][MSG_KEYWORD_MAX + 1], uint32_t n, const char *k)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(kw[i], k) == 0)
			return (int)i;
	return -1;
}

/*
 * The keywords of u applied to w->m: replace, then delete, then add,
 * compared without regard to case; w->m keeps its own spelling of a
 * keyword it keeps.  *changed_r says whether the set changed.
 */
static enum ipc_status
email_kw_apply(struct email_work *w, const struct email_update *u,
    bool *changed_r, struct store_error *err)
{
	struct message_rec *m = &w->m;
	enum ipc_status st;
	uint32_t i;
	int k;

	*changed_r = false;
	if ((st = mail_keywords_parse(u->kw_add, w->add, &w->nadd, err)) !=
	    IPC_S_OK ||
	    (st = mail_keywords_parse(u->kw_del, w->del, &w->ndel, err)) !=
	    IPC_S_OK)
		return st;
	w->nkw = 0;
	if (!u->kw_replace) {
		for (i = 0; i < m->nkeywords; i++)
			memcpy(w->kw[i], m->keywords[i], sizeof(w->kw[i]));
		w->nkw = m->nkeywords;
	}
	for (i = 0; i < w->ndel; i++) {
		if ((k = email_kw_find(w->kw, w->nkw, w->del[i])) == -1)
			continue;
		if ((uint32_t)k != --w->nkw)
			memcpy(w->kw[k], w->kw[w->nkw], sizeof(w->kw[k]));
	}
	for (i = 0; i < w->nadd; i++) {
		if (email_kw_find(w->kw, w->nkw, w->add[i]) != -1)
			continue;
		if (w->nkw == MSG_MAX_KEYWORDS)
			return db_error(err, IPC_S_LIMIT, "an email has %d "
			    "keywords at most", MSG_MAX_KEYWORDS);
		/* A keyword the email had keeps its spelling. */
		if ((k = email_kw_find(m->keywords, m->nkeywords,
		    w->add[i])) != -1)
			memcpy(w->kw[w->nkw++], m->keywords[k],
			    sizeof(w->kw[0]));
		else
			memcpy(w->kw[w->nkw++], w->add[i], sizeof(w->kw[0]));
	}
	if (w->nkw == m->nkeywords) {
		for (i = 0; i < w->nkw; i++)
			if (email_kw_find(m->keywords, m->nkeywords,
			    w->kw[i]) == -1)
				break;
		if (i == w->nkw)
			return IPC_S_OK;	/* the same set */
	}
	for (i = 0; i < w->nkw; i++)
		memcpy(m->keywords[i], w->kw[i], sizeof(m->keywords[i]));
	m->nkeywords = w->nkw;
	*changed_r = true;
	return IPC_S_OK;
}

static bool
email_u64_in(const uint64_t *v, uint32_t n, uint64_t x)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* Checks that every mailbox u names exists. */
static enum ipc_status
email_mboxes_exist(struct store_db *db, MDB_txn *txn, uint64_t acct,
    const struct email_update *u, struct store_error *err)
{
	struct mailbox_rec mb;
	enum ipc_status st;
	uint64_t id;
	uint32_t i;

	for (i = 0; i < u->nmb_add + u->nmb_del; i++) {
		id = i < u->nmb_add ? u->mb_add[i] : u->mb_del[i - u->nmb_add];
		if (id == 0 || id > UINT32_MAX)
			return db_error(err, IPC_S_NOTFOUND, "no mailbox %llu",
			    (unsigned long long)id);
		st = mailbox_get(db, txn, acct, (uint32_t)id, &mb, err);
		if (st == IPC_S_NOTFOUND)
			return db_error(err, IPC_S_NOTFOUND, "no mailbox %llu",
			    (unsigned long long)id);
		if (st != IPC_S_OK)
			return st;
	}
	return IPC_S_OK;
}

/* The mailboxes w->m joins and leaves under u, checked. */
static enum ipc_status
email_mboxes_plan(struct email_work *w, const struct email_update *u,
    struct store_error *err)
{
	const struct message_rec *m = &w->m;
	uint32_t i, j, mb;

	w->njoins = w->nleaves = 0;
	for (i = 0; i < u->nmb_add; i++) {
		mb = (uint32_t)u->mb_add[i];
		if (msgops_mbox_index(m, mb) != -1)
			continue;
		for (j = 0; j < w->njoins && w->joins[j] != mb; j++)
			;
		if (j < w->njoins)
			continue;
		if (w->njoins == MSG_MAX_MAILBOXES)
			return db_error(err, IPC_S_LIMIT, "an email is in %d "
			    "mailboxes at most", MSG_MAX_MAILBOXES);
		w->joins[w->njoins++] = mb;
	}
	for (i = 0; i < m->nmbox; i++) {
		mb = m->mbox[i].mailbox;
		if (email_u64_in(u->mb_add, u->nmb_add, mb))
			continue;
		if (u->mb_replace || email_u64_in(u->mb_del, u->nmb_del, mb))
			w->leaves[w->nleaves++] = mb;
	}
	if (m->nmbox + w->njoins - w->nleaves == 0)
		return db_error(err, IPC_S_INVALID, "an email must stay in a "
		    "mailbox");
	if (m->nmbox + w->njoins - w->nleaves > MSG_MAX_MAILBOXES)
		return db_error(err, IPC_S_LIMIT, "an email is in %d "
		    "mailboxes at most", MSG_MAX_MAILBOXES);
	return IPC_S_OK;
}

/*
 * Moves w->m (email) out of the mailboxes it leaves and into those it
 * joins.  Leaving comes first, so that joining stays within
 * MSG_MAX_MAILBOXES; the last mailbox it is in is left only after a
 * join (msgops_unlink never takes the last).
 */
static enum ipc_status
email_mboxes_move(struct store_db *db, MDB_txn *txn, uint64_t acct,
    uint64_t email, struct email_work *w, struct store_error *err)
{
	enum ipc_status st;
	uint32_t i, uid, later = 0;
	bool deferred = false;

	for (i = 0; i < w->nleaves; i++) {
		if (w->m.nmbox == 1) {
			deferred = true;
			later = i;
			continue;
		}
		if ((st = msgops_unlink(db, txn, acct, email, &w->m,
		    w->leaves[i], &w->left_uids[i], err)) != IPC_S_OK)
			return st;
	}
	for (i = 0; i < w->njoins; i++)
		if ((st = msgops_link(db, txn, acct, email, &w->m, w->joins[i],
		    &uid, err)) != IPC_S_OK)
			return st;
	if (deferred && (st = msgops_unlink(db, txn, acct, email, &w->m,
	    w->leaves[later], &w->left_uids[later], err)) != IPC_S_OK)
		return st;
	return IPC_S_OK;
}

/* Applies update u inside txn (nested: on an error the caller aborts). */
static enum ipc_status
email_update_one(struct store_db *db, MDB_txn *txn, struct email_set *es,
    struct mstate_rec *s, const struct email_update *u, struct email_work *w,
    struct store_error *err)
{
	struct message_rec *m = &w->m;
	enum ipc_status st;
	uint64_t ms = 0;
	uint32_t old, i;
	bool kw_changed, changed;

	if (((u->flags_add | u->flags_del) & ~(uint32_t)MAIL_F_ALL) != 0)
		return db_error(err, IPC_S_INVALID, "unknown flags");
	st = message_get(db, txn, es->account_id, u->id, m, err);
	if (st == IPC_S_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no email %llu",
		    (unsigned long long)u->id);
	if (st != IPC_S_OK ||
	    (st = email_kw_apply(w, u, &kw_changed, err)) != IPC_S_OK ||
	    (st = email_mboxes_exist(db, txn, es->account_id, u, err)) !=
	    IPC_S_OK ||
	    (st = email_mboxes_plan(w, u, err)) != IPC_S_OK)
		return st;
	old = m->flags;
	changed = kw_changed ||
	    ((old & ~u->flags_del) | u->flags_add) != old;
	if (!changed && w->njoins == 0 && w->nleaves == 0)
		return IPC_S_OK;	/* nothing to write, no modseq */
	/* Memberships move with the old flags, then the flags change. */
	if ((st = email_mboxes_move(db, txn, es->account_id, u->id, w,
	    err)) != IPC_S_OK)
		return st;
	m->flags = (old & ~u->flags_del) | u->flags_add;
	if ((st = msgops_flags_counts(db, txn, es->account_id, m, old,
	    err)) != IPC_S_OK)
		return st;
	/*
	 * RFC 7162 3.1.3: changed flags give every membership a new
	 * modseq; otherwise only the mailboxes joined need one (as a MOVE's
	 * target), and a leave alone takes one for its vanished UIDs.
	 */
	if (changed)
		st = msgops_touch(db, txn, es->account_id, s, u->id, m, 0,
		    &ms, err);
	for (i = 0; st == IPC_S_OK && !changed && i < w->njoins; i++)
		st = msgops_touch(db, txn, es->account_id, s, u->id, m,
		    w->joins[i], &ms, err);
	if (st == IPC_S_OK && ms == 0)
		st = changelog_append(db, txn, es->account_id, s,
		    CHANGE_EMAIL, CHANGE_UPDATED, u->id, &ms, err);
	for (i = 0; st == IPC_S_OK && i < w->nleaves; i++)
		st = msgops_vanish(db, txn, es->account_id, w->leaves[i],
		    w->left_uids[i], ms, err);
	if (st != IPC_S_OK ||
	    (st = msgops_put(db, txn, es->account_id, u->id, m, err)) !=
	    IPC_S_OK)
		return st;
	if (changed)
		msgops_mboxes_add_all(&w->mine, m);
	for (i = 0; i < w->njoins; i++)
		msgops_mboxes_add(&w->mine, w->joins[i]);
	for (i = 0; i < w->nleaves; i++)
		msgops_mboxes_add(&w->mine, w->leaves[i]);
	return IPC_S_OK;
}

/* Destroys email id inside txn (nested: on an error the caller aborts). */
static enum ipc_status
email_destroy_one(struct store_db *db, MDB_txn *txn, struct email_set *es,
    struct mstate_rec *s, uint64_t id, struct email_work *w,
    struct store_error *err)
{
	enum ipc_status st;

	st = message_get(db, txn, es->account_id, id, &w->m, err);
	if (st == IPC_S_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no email %llu",
		    (unsigned long long)id);
	/* message_destroy reads and writes the mail state itself. */
	if (st != IPC_S_OK ||
	    (st = mstate_put(db, txn, es->account_id, s, err)) != IPC_S_OK ||
	    (st = message_destroy(db, txn, es->account_id, id, err)) !=
	    IPC_S_OK ||
	    (st = mstate_get(db, txn, es->account_id, s, err)) != IPC_S_OK)
		return st;
	msgops_mboxes_add_all(&w->mine, &w->m);
	return IPC_S_OK;
}

/*
 * Runs one update (u) or destroy (id) in a transaction nested in txn and
 * records its status; a failure leaves txn and *s as they were.  Returns
 * IPC_S_OK, or an error of LMDB that ends the step.
 */
static enum ipc_status
email_set_one(struct store_db *db, MDB_txn *txn, struct email_set *es,
    struct mstate_rec *s, const struct email_update *u, uint64_t id,
    struct email_work *w, struct store_error *err)
{
	struct store_error e;
	struct mstate_rec saved = *s;
	enum ipc_status st;
	MDB_txn *child;
	size_t i, len;
	int rc;

	if ((rc = mdb_txn_begin(db->env, txn, 0, &child)) != 0)
		return db_mdb_error(err, rc, "nested begin");
	e.text[0] = '\0';
	msgops_mboxes_clear(&w->mine);
	if (u != NULL)
		st = email_update_one(db, child, es, s, u, w, &e);
	else
		st = email_destroy_one(db, child, es, s, id, w, &e);
	if (st == IPC_S_OK && (rc = mdb_txn_commit(child)) != 0)
		st = db_mdb_error(&e, rc, "nested commit");
	else if (st != IPC_S_OK)
		mdb_txn_abort(child);
	if (st == IPC_S_OK)
		for (i = 0; i < w->mine.n; i++)
			msgops_mboxes_add(&es->touched, w->mine.ids[i]);
	else
		*s = saved;
	mail_vec_u64(u != NULL ? &es->up_status : &es->destroy_status, st);
	len = st == IPC_S_OK ? 0 : strnlen(e.text, EMAIL_SET_TEXT_MAX);
	strvec_addn(u != NULL ? &es->up_texts : &es->destroy_texts, e.text,
	    len);
	return IPC_S_OK;
}

enum ipc_status
email_set_op(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct email_set *es = arg;
	struct email_work *w;
	struct mstate_rec s;
	enum ipc_status st;
	size_t i;

	if ((st = mstate_get(db, txn, es->account_id, &s, err)) != IPC_S_OK)
		return st;
	es->old_state = es->new_state = s.modseq;
	if (es->if_state != 0 && es->if_state != s.modseq)
		return db_error(err, IPC_S_CONFLICT, "state is %llu, not %llu",
		    (unsigned long long)s.modseq,
		    (unsigned long long)es->if_state);
	w = xcalloc(1, sizeof(*w));
	for (i = 0; st == IPC_S_OK && i < es->nup; i++)
		st = email_set_one(db, txn, es, &s, &es->up[i], 0, w, err);
	for (i = 0; st == IPC_S_OK && i < es->ndestroy; i++)
		st = email_set_one(db, txn, es, &s, NULL, es->destroy[i], w,
		    err);
	msgops_mboxes_clear(&w->mine);
	free(w);
	if (st != IPC_S_OK ||
	    (st = msgops_mboxes_commit(db, txn, es->account_id, &s,
	    &es->touched, err)) != IPC_S_OK ||
	    (st = mstate_put(db, txn, es->account_id, &s, err)) != IPC_S_OK)
		return st;
	es->new_state = s.modseq;
	return IPC_S_OK;
}
