/* SPDX-License-Identifier: ISC */
/*
 * mail_msg_sync.c: the reads of the message requests that state what a
 * mailbox holds (see mail_msg.h): MBOX_SELECT's state, UIDs and keywords
 * (RFC 9051 6.3.2), MSG_UIDS, MBOX_SYNC for CONDSTORE/QRESYNC (RFC 7162
 * 3.1, 3.2.5.2) and IDLE; and the vectors and keyword helpers the other
 * message requests share.
 */
#include "mail_msg.h"
#include "changelog.h"
#include "compat.h"
#include "key.h"
#include "log.h"
#include "mailbox.h"
#include "message.h"
#include "wire.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* --- Vectors and keywords --- */

void
mail_vec_u32(struct mail_vec *v, uint32_t x)
{
	uint8_t b[4];

	wire_be32_put(b, x);
	buf_append(&v->b, b, sizeof(b));
	v->n++;
}

struct wire_u64list
mail_vec_u64s(const struct mail_vec *v)
{
	struct wire_u64list l = { v->n, v->b.data };

	return l;
}

struct wire_bytes
mail_buf_bytes(const struct buf *b)
{
	struct wire_bytes w = { b->data, (uint32_t)b->len };

	return w;
}

void
mail_vec_u64(struct mail_vec *v, uint64_t x)
{
	uint8_t b[8];

	wire_be64_put(b, x);
	buf_append(&v->b, b, sizeof(b));
	v->n++;
}

void
mail_vec_clear(struct mail_vec *v)
{
	buf_clear(&v->b);
	v->n = 0;
}

uint32_t
mail_vec_u32_get(const struct mail_vec *v, uint32_t i)
{
	return wire_be32_get(v->b.data + (size_t)i * 4);
}

uint64_t
mail_vec_u64_get(const struct mail_vec *v, uint32_t i)
{
	return wire_be64_get(v->b.data + (size_t)i * 8);
}

int
mail_uids_check(const void *p, size_t len, uint32_t *n_r)
{
	const uint8_t *u = p;
	uint32_t prev = 0, uid;
	size_t i;

	if (len % 4 != 0 || len / 4 > UINT32_MAX)
		return -1;
	for (i = 0; i < len / 4; i++) {
		uid = wire_be32_get(u + i * 4);
		if (uid <= prev)
			return -1;
		prev = uid;
	}
	*n_r = (uint32_t)(len / 4);
	return 0;
}

enum ipc_status
mail_keywords_parse(const char *text,
    char kw[MSG_MAX_KEYWORDS][MSG_KEYWORD_MAX + 1], uint32_t *n_r,
    struct store_error *err)
{
	char one[MSG_KEYWORD_MAX + 2];
	const char *p = text, *e;
	uint32_t i, n = 0;
	size_t len;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if ((e = strchr(p, ' ')) == NULL)
			e = p + strlen(p);
		if ((len = (size_t)(e - p)) > MSG_KEYWORD_MAX)
			return db_error(err, IPC_S_INVALID, "keyword too long");
		memcpy(one, p, len);
		one[len] = '\0';
		p = e;
		if (!msgops_keyword_valid(one))
			return db_error(err, IPC_S_INVALID, "bad keyword "
			    "\"%.64s\"", one);
		for (i = 0; i < n && strcasecmp(kw[i], one) != 0; i++)
			;
		if (i < n)
			continue;
		if (n == MSG_MAX_KEYWORDS)
			return db_error(err, IPC_S_LIMIT, "more than %d "
			    "keywords", MSG_MAX_KEYWORDS);
		memcpy(kw[n++], one, len + 1);
	}
	*n_r = n;
	return IPC_S_OK;
}

void
mail_keywords_text(const struct message_rec *m, struct buf *out)
{
	uint32_t i;

	buf_reset(out);
	for (i = 0; i < m->nkeywords; i++) {
		if (i > 0)
			buf_append(out, " ", 1);
		buf_append(out, m->keywords[i], strlen(m->keywords[i]));
	}
	buf_append(out, "", 1);
}

/* --- MBOX_SELECT, MSG_UIDS --- */

struct mail_select_ctx {
	struct store_db		*db;
	MDB_txn			*txn;
	uint64_t		 acct;
	uint32_t		 limit;
	struct mail_select	*r;
	struct store_error	*err;
	enum ipc_status		 st;
};

static void
mail_select_keywords(struct strvec *sv, const struct message_rec *m)
{
	uint32_t i;
	size_t j;

	for (i = 0; i < m->nkeywords && sv->n < MAIL_KEYWORDS_MAX; i++) {
		for (j = 0; j < sv->n; j++)
			if (strcasecmp(sv->v[j], m->keywords[i]) == 0)
				break;
		if (j == sv->n)
			strvec_add(sv, m->keywords[i]);
	}
}

static int
mail_select_cb(uint32_t uid, uint64_t email, uint64_t modseq, void *arg)
{
	struct mail_select_ctx *ctx = arg;
	struct message_rec m;

	(void)modseq;
	if (ctx->r->uids.n < ctx->limit)
		mail_vec_u32(&ctx->r->uids, uid);
	if ((ctx->st = message_get(ctx->db, ctx->txn, ctx->acct, email, &m,
	    ctx->err)) != IPC_S_OK)
		return 1;
	if ((m.flags & MSG_F_SEEN) == 0 && ctx->r->unseen == 0)
		ctx->r->unseen = uid;
	mail_select_keywords(&ctx->r->keywords, &m);
	return 0;
}

enum ipc_status
mail_msg_select_op(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mbox, uint32_t limit, struct mail_select *r,
    struct store_error *err)
{
	struct mail_select_ctx ctx = { db, txn, account_id, limit, r, err,
	    IPC_S_OK };
	enum ipc_status st;

	memset(r, 0, sizeof(*r));
	if (ctx.limit > MAIL_UIDS_MAX)
		ctx.limit = MAIL_UIDS_MAX;
	if ((st = mailbox_get(db, txn, account_id, mbox, &r->mb, err)) !=
	    IPC_S_OK)
		return st;
	/* Every message is read for \Seen and keywords; fine for now. */
	if ((st = message_scan_uids(db, txn, account_id, mbox, 1,
	    mail_select_cb, &ctx, err)) != IPC_S_OK)
		return st;
	if (ctx.st != IPC_S_OK)
		return ctx.st;
	strvec_sort(&r->keywords);
	return IPC_S_OK;
}

void
mail_select_clear(struct mail_select *r)
{
	mail_vec_clear(&r->uids);
	strvec_clear(&r->keywords);
}

struct mail_uids_ctx {
	struct mail_vec	*uids;
	uint32_t	 limit;
	bool		 more;
};

static int
mail_uids_cb(uint32_t uid, uint64_t email, uint64_t modseq, void *arg)
{
	struct mail_uids_ctx *ctx = arg;

	(void)email;
	(void)modseq;
	if (ctx->uids->n == ctx->limit) {
		ctx->more = true;
		return 1;
	}
	mail_vec_u32(ctx->uids, uid);
	return 0;
}

enum ipc_status
mail_msg_uids_op(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mbox, uint32_t after, uint32_t limit, struct mail_vec *uids,
    bool *more_r, struct store_error *err)
{
	struct mail_uids_ctx ctx = { uids, limit, false };
	struct mailbox_rec mb;
	enum ipc_status st;

	*more_r = false;
	if (ctx.limit > MAIL_UIDS_MAX)
		ctx.limit = MAIL_UIDS_MAX;
	if ((st = mailbox_get(db, txn, account_id, mbox, &mb, err)) !=
	    IPC_S_OK)
		return st;
	if (after == UINT32_MAX)
		return IPC_S_OK;
	if ((st = message_scan_uids(db, txn, account_id, mbox, after + 1,
	    mail_uids_cb, &ctx, err)) != IPC_S_OK)
		return st;
	*more_r = ctx.more;
	return IPC_S_OK;
}

/* --- MBOX_SYNC --- */

struct mail_sync_ctx {
	struct store_db		*db;
	MDB_txn			*txn;
	uint64_t		 acct;
	uint64_t		 since;
	uint32_t		 high_old;	/* highest UID unchanged */
	/*
	 * The expunges after since were pruned: every UID absent from the
	 * mailbox below UIDNEXT counts as vanished (RFC 7162 5.3); prev is
	 * the last UID present seen.
	 */
	bool			 absent;
	uint32_t		 prev;
	size_t			 bytes;
	struct buf		 kw;
	struct mail_sync	*r;
	struct store_error	*err;
	enum ipc_status		 st;
};

/* Lists the UIDs from first to before end as absent; -1: too many. */
static int
mail_sync_gap(struct mail_sync_ctx *ctx, uint32_t first, uint32_t end)
{
	if (first >= end)
		return 0;
	if ((ctx->bytes += 8) > MAIL_REPLY_MAX) {
		ctx->st = db_error(ctx->err, IPC_S_CONFLICT, "too many "
		    "expunges since %llu; select again",
		    (unsigned long long)ctx->since);
		return -1;
	}
	mail_vec_u32(&ctx->r->absent, first);
	mail_vec_u32(&ctx->r->absent, end - 1);
	return 0;
}

static int
mail_sync_cb(uint32_t uid, uint64_t email, uint64_t modseq, void *arg)
{
	struct mail_sync_ctx *ctx = arg;
	struct message_rec m;

	if (ctx->absent) {
		if (mail_sync_gap(ctx, ctx->prev + 1, uid) == -1)
			return 1;
		ctx->prev = uid;
	}
	if (modseq <= ctx->since) {
		ctx->high_old = uid;
		return 0;
	}
	if ((ctx->st = message_get(ctx->db, ctx->txn, ctx->acct, email, &m,
	    ctx->err)) != IPC_S_OK)
		return 1;
	mail_keywords_text(&m, &ctx->kw);
	ctx->bytes += 4 + 8 + 8 + 4 + ctx->kw.len;
	if (ctx->bytes > MAIL_REPLY_MAX) {
		ctx->st = db_error(ctx->err, IPC_S_CONFLICT, "too many "
		    "changes since %llu; select again",
		    (unsigned long long)ctx->since);
		return 1;
	}
	mail_vec_u32(&ctx->r->changed, uid);
	mail_vec_u64(&ctx->r->modseqs, modseq);
	mail_vec_u64(&ctx->r->flags, m.flags);
	strvec_add(&ctx->r->keywords, (const char *)ctx->kw.data);
	return 0;
}

/* The UIDs of mbox expunged after since, from the vanished index. */
static enum ipc_status
mail_sync_vanished(struct mail_sync_ctx *ctx, uint32_t mbox)
{
	struct key_mail pre, start;
	MDB_cursor *cur;
	MDB_val k, d;
	MDB_cursor_op op = MDB_SET_RANGE;
	int rc;

	key_mail_init(&pre, ctx->acct);
	key_mail_u32(&pre, mbox);
	start = pre;
	key_mail_u64(&start, ctx->since + 1);
	k = KEY_MAIL_VAL(&start);
	if ((rc = mdb_cursor_open(ctx->txn, ctx->db->vanished, &cur)) != 0)
		return db_mdb_error(ctx->err, rc, "cursor");
	for (; (rc = mdb_cursor_get(cur, &k, &d, op)) == 0; op = MDB_NEXT) {
		if (!key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len))
			break;
		if (d.mv_size != 4)
			continue;
		if ((ctx->bytes += 4) > MAIL_REPLY_MAX) {
			mdb_cursor_close(cur);
			return db_error(ctx->err, IPC_S_CONFLICT, "too many "
			    "expunges since %llu; select again",
			    (unsigned long long)ctx->since);
		}
		mail_vec_u32(&ctx->r->vanished, wire_be32_get(d.mv_data));
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(ctx->err, rc, "vanished scan");
	return IPC_S_OK;
}

/* Sorts the vanished UIDs (they come in modseq order). */
static void
mail_sync_sort(struct mail_vec *v)
{
	uint32_t i, j, a, b;

	/* Insertion sort on big-endian u32s: lists here are short. */
	for (i = 1; i < v->n; i++)
		for (j = i; j > 0; j--) {
			a = mail_vec_u32_get(v, j - 1);
			b = mail_vec_u32_get(v, j);
			if (a <= b)
				break;
			wire_be32_put(v->b.data + (j - 1) * 4, b);
			wire_be32_put(v->b.data + j * 4, a);
		}
}

enum ipc_status
mail_msg_sync_op(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mbox, uint64_t since, struct mail_sync *r,
    struct store_error *err)
{
	struct mail_sync_ctx ctx = { .db = db, .txn = txn,
	    .acct = account_id, .since = since, .r = r, .err = err,
	    .st = IPC_S_OK };
	struct mailbox_rec mb;
	struct mstate_rec ms;
	enum ipc_status st;
	uint32_t i, uid;

	memset(r, 0, sizeof(*r));
	if ((st = mailbox_get(db, txn, account_id, mbox, &mb, err)) !=
	    IPC_S_OK)
		return st;
	r->highestmodseq = mb.highestmodseq;
	r->uidnext = mb.uidnext;
	/* An expunge after since would have raised HIGHESTMODSEQ. */
	if (since >= mb.highestmodseq)
		return IPC_S_OK;
	if ((st = mstate_get(db, txn, account_id, &ms, err)) != IPC_S_OK)
		return st;
	ctx.absent = since < ms.floor;
	st = message_scan_uids(db, txn, account_id, mbox, 1, mail_sync_cb,
	    &ctx, err);
	buf_clear(&ctx.kw);
	if (st != IPC_S_OK)
		return st;
	if (ctx.st == IPC_S_OK && ctx.absent)
		(void)mail_sync_gap(&ctx, ctx.prev + 1, mb.uidnext);
	if (ctx.st != IPC_S_OK)
		return ctx.st;
	for (i = 0; i < r->changed.n; i++)
		if ((uid = mail_vec_u32_get(&r->changed, i)) > ctx.high_old)
			mail_vec_u32(&r->added, uid);
	/* The gaps hold every UID vanished since. */
	if (ctx.absent)
		return IPC_S_OK;
	if ((st = mail_sync_vanished(&ctx, mbox)) != IPC_S_OK)
		return st;
	mail_sync_sort(&r->vanished);
	return IPC_S_OK;
}

void
mail_sync_clear(struct mail_sync *r)
{
	mail_vec_clear(&r->added);
	mail_vec_clear(&r->vanished);
	mail_vec_clear(&r->absent);
	mail_vec_clear(&r->changed);
	mail_vec_clear(&r->modseqs);
	mail_vec_clear(&r->flags);
	strvec_clear(&r->keywords);
}
