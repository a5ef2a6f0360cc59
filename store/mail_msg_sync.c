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
	 * Every UID absent from the mailbox counts as vanished (RFC 7162
	 * 5.3): the expunges after since were pruned, do not fit, or this
	 * is a later page.  prev is the last UID present seen.
	 */
	bool			 absent;
	uint32_t		 prev;
	uint32_t		 covered;	/* UIDs told up to here */
	bool			 full;		/* the page ends at it */
	size_t			 budget;
	size_t			 bytes;
	struct buf		 kw;
	struct mail_sync	*r;
	struct store_error	*err;
	enum ipc_status		 st;
};

/*
 * Lists the UIDs from first to before end as absent; -1 when the reply
 * is full (the page ends before first).
 */
static int
mail_sync_gap(struct mail_sync_ctx *ctx, uint32_t first, uint32_t end)
{
	if (first >= end)
		return 0;
	if (ctx->bytes + 8 > ctx->budget) {
		ctx->full = true;
		return -1;
	}
	ctx->bytes += 8;
	mail_vec_u32(&ctx->r->absent, first);
	mail_vec_u32(&ctx->r->absent, end - 1);
	return 0;
}

static int
mail_sync_cb(uint32_t uid, uint64_t email, uint64_t modseq, void *arg)
{
	struct mail_sync_ctx *ctx = arg;
	struct message_rec m;
	size_t bytes;

	if (ctx->absent) {
		if (mail_sync_gap(ctx, ctx->prev + 1, uid) == -1)
			return 1;
		ctx->prev = uid;
	}
	if (modseq <= ctx->since) {
		ctx->high_old = uid;
		ctx->covered = uid;
		return 0;
	}
	if ((ctx->st = message_get(ctx->db, ctx->txn, ctx->acct, email, &m,
	    ctx->err)) != IPC_S_OK)
		return 1;
	mail_keywords_text(&m, &ctx->kw);
	/* changed, added (at most), modseq, flags, keywords (STRLIST). */
	bytes = 4 + 4 + 8 + 8 + 4 + ctx->kw.len + 1;
	if (ctx->bytes + bytes > ctx->budget) {
		/* The gap below uid is in; uid starts the next page. */
		ctx->covered = uid - 1;
		ctx->full = true;
		return 1;
	}
	ctx->bytes += bytes;
	mail_vec_u32(&ctx->r->changed, uid);
	mail_vec_u64(&ctx->r->modseqs, modseq);
	mail_vec_u64(&ctx->r->flags, m.flags);
	strvec_add(&ctx->r->keywords, (const char *)ctx->kw.data);
	ctx->covered = uid;
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
		/* Half the page at most: the changes need room too. */
		if ((ctx->bytes += 4) > ctx->budget / 2) {
			mdb_cursor_close(cur);
			return IPC_S_CONFLICT;
		}
		mail_vec_u32(&ctx->r->vanished, wire_be32_get(d.mv_data));
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(ctx->err, rc, "vanished scan");
	return IPC_S_OK;
}

static int
mail_sync_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts the vanished UIDs (they come in modseq order). */
static void
mail_sync_sort(struct mail_vec *v)
{
	uint32_t *u, i;

	if (v->n < 2)
		return;
	u = xreallocarray(NULL, v->n, sizeof(*u));
	for (i = 0; i < v->n; i++)
		u[i] = mail_vec_u32_get(v, i);
	qsort(u, v->n, sizeof(*u), mail_sync_cmp_u32);
	for (i = 0; i < v->n; i++)
		wire_be32_put(v->b.data + (size_t)i * 4, u[i]);
	free(u);
}

enum ipc_status
mail_msg_sync_op(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t mbox, uint64_t since, uint32_t after, size_t budget,
    struct mail_sync *r, struct store_error *err)
{
	struct mail_sync_ctx ctx = { .db = db, .txn = txn,
	    .acct = account_id, .since = since, .r = r, .err = err,
	    .st = IPC_S_OK, .budget = budget != 0 ? budget : MAIL_REPLY_MAX,
	    .high_old = after, .prev = after, .covered = after };
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
	if (since >= mb.highestmodseq || after >= mb.uidnext)
		return IPC_S_OK;
	if ((st = mstate_get(db, txn, account_id, &ms, err)) != IPC_S_OK)
		return st;
	/*
	 * The expunges from the index come whole with the first page.  When
	 * they were pruned or do not fit, and on every later page, the UIDs
	 * absent from the mailbox come instead, page by page: a superset of
	 * those expunged since, and the same whatever the first page held.
	 */
	ctx.absent = since < ms.floor || after > 0;
	if (!ctx.absent) {
		st = mail_sync_vanished(&ctx, mbox);
		if (st == IPC_S_CONFLICT) {
			mail_vec_clear(&r->vanished);
			ctx.bytes = 0;
			ctx.absent = true;
		} else if (st != IPC_S_OK)
			return st;
		else
			mail_sync_sort(&r->vanished);
	}
	st = message_scan_uids(db, txn, account_id, mbox, after + 1,
	    mail_sync_cb, &ctx, err);
	buf_clear(&ctx.kw);
	if (st != IPC_S_OK)
		return st;
	if (ctx.st != IPC_S_OK)
		return ctx.st;
	if (!ctx.full && ctx.absent &&
	    mail_sync_gap(&ctx, ctx.prev + 1, mb.uidnext) == -1)
		ctx.covered = ctx.prev;
	if (ctx.full) {
		/* Not one UID further: what cannot be told at all. */
		if (ctx.covered <= after)
			return db_error(err, IPC_S_CONFLICT, "the changes "
			    "since %llu do not fit a reply; select again",
			    (unsigned long long)since);
		r->next = ctx.covered;
	}
	for (i = 0; i < r->changed.n; i++)
		if ((uid = mail_vec_u32_get(&r->changed, i)) > ctx.high_old)
			mail_vec_u32(&r->added, uid);
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
