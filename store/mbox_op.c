/* SPDX-License-Identifier: ISC */
/*
 * mbox_op.c: listing, creating, deleting, renaming and subscribing the
 * mailboxes of an account (see mbox_op.h; RFC 9051 6.3.4-6.3.8, RFC 8621
 * 2).  Each write loads the account's mailboxes once (at most
 * MBOX_OP_MAX) and checks names, parents and roles against that set
 * inside its own transaction, so that two requests in one batch see each
 * other's mailboxes.
 */
#include "mbox_op.h"
#include "changelog.h"
#include "charset.h"
#include "compat.h"
#include "ipc.h"
#include "key.h"
#include "log.h"
#include "mailbox.h"
#include "message.h"
#include "message_ops.h"
#include "subscription.h"
#include "wire.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 8621 2: roles are the IANA "IMAP Mailbox Name Attributes" usable
 * by JMAP (RFC 8457 6.3, RFC 8621 10.5.1), lower case. */
static const char *const mbox_op_roles[] = {
	"all", "archive", "drafts", "flagged", "important", "inbox", "junk",
	"sent", "subscribed", "trash",
};

/* The state of one write: the account's mailboxes and its mail state. */
struct mbox_op_ctx {
	struct store_db		*db;
	MDB_txn			*txn;
	uint64_t		 acct;
	uint64_t		 now;
	struct mstate_rec	 s;
	struct mbox_list	 set;
	struct mbox_made	*made;	/* may be NULL */
	struct store_error	*err;
};

/* --- Names and roles --- */

const char *
mbox_op_name_check(const char *name)
{
	const uint8_t *p = (const uint8_t *)name;
	size_t len = strlen(name), i;

	if (len == 0)
		return "empty mailbox name";
	if (len > MAILBOX_NAME_MAX)
		return "mailbox name too long";
	if (!charset_utf8_valid(p, len))
		return "mailbox name is not UTF-8";
	if (p[0] == '/' || p[len - 1] == '/')
		return "mailbox name has an empty level";
	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f))
			return "mailbox name has a control character";
		if (p[i] == '/' && p[i + 1] == '/')
			return "mailbox name has an empty level";
	}
	return NULL;
}

bool
mbox_op_role_known(const char *role)
{
	size_t i;

	if (role == NULL || role[0] == '\0')
		return true;
	for (i = 0; i < sizeof(mbox_op_roles) / sizeof(mbox_op_roles[0]); i++)
		if (strcmp(role, mbox_op_roles[i]) == 0)
			return true;
	return false;
}

/* --- The set of an account's mailboxes --- */

void
mbox_list_clear(struct mbox_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static struct mbox_info *
mbox_op_add(struct mbox_list *l, uint32_t id, const struct mailbox_rec *mb)
{
	struct mbox_info *mi;

	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 16 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	mi = &l->v[l->n++];
	memset(mi, 0, sizeof(*mi));
	mi->id = id;
	mi->rec = *mb;
	return mi;
}

static int
mbox_op_collect_cb(uint32_t id, const struct mailbox_rec *mb, void *arg)
{
	mbox_op_add(arg, id, mb);
	return 0;
}

static struct mbox_info *
mbox_op_by_id(struct mbox_list *l, uint32_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

static struct mbox_info *
mbox_op_by_name(struct mbox_list *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].rec.name, name) == 0)
			return &l->v[i];
	return NULL;
}

static struct mbox_info *
mbox_op_by_role(struct mbox_list *l, const char *role)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].rec.role, role) == 0)
			return &l->v[i];
	return NULL;
}

size_t
mbox_op_list_bytes(size_t n, size_t text_bytes)
{
	/*
	 * Status and empty text (11), state (9), 13 U64LIST and 2 STRLIST
	 * headers (5 each); per mailbox 13 u64 and two strings' length and
	 * NUL.
	 */
	return 11 + 9 + 15 * 5 + n * (13 * 8 + 2 * 5) + text_bytes;
}

/* Whether the set still fits the limits once written. */
static enum ipc_status
mbox_op_fits(struct mbox_op_ctx *ctx)
{
	size_t i, text = 0;

	if (ctx->set.n > MBOX_OP_MAX)
		return db_error(ctx->err, IPC_S_LIMIT, "too many mailboxes "
		    "(at most %u)", MBOX_OP_MAX);
	for (i = 0; i < ctx->set.n; i++)
		text += strlen(ctx->set.v[i].rec.name) +
		    strlen(ctx->set.v[i].rec.role);
	if (mbox_op_list_bytes(ctx->set.n, text) > IPC_MAX_PAYLOAD)
		return db_error(ctx->err, IPC_S_LIMIT, "mailbox names too "
		    "long in all");
	return IPC_S_OK;
}

static enum ipc_status
mbox_op_begin(struct mbox_op_ctx *ctx)
{
	enum ipc_status st;

	if ((st = mstate_get(ctx->db, ctx->txn, ctx->acct, &ctx->s,
	    ctx->err)) != IPC_S_OK)
		return st;
	return mailbox_scan(ctx->db, ctx->txn, ctx->acct, mbox_op_collect_cb,
	    &ctx->set, ctx->err);
}

/*
 * Copies name to out (MAILBOX_NAME_MAX + 1 bytes) with a first level of
 * "INBOX" in any case spelled as the inbox's name (RFC 9051 5.1).
 */
static enum ipc_status
mbox_op_canon(struct mbox_op_ctx *ctx, const char *name, char *out)
{
	const struct mbox_info *inbox = mbox_op_by_role(&ctx->set, "inbox");
	const char *why;

	if ((why = mbox_op_name_check(name)) != NULL)
		return db_error(ctx->err, IPC_S_INVALID, "%s", why);
	if (inbox == NULL || strncasecmp(name, "inbox", 5) != 0 ||
	    (name[5] != '\0' && name[5] != '/')) {
		strlcpy(out, name, MAILBOX_NAME_MAX + 1);
		return IPC_S_OK;
	}
	if (strlcpy(out, inbox->rec.name, MAILBOX_NAME_MAX + 1) >
	    MAILBOX_NAME_MAX ||
	    strlcat(out, name + 5, MAILBOX_NAME_MAX + 1) > MAILBOX_NAME_MAX)
		return db_error(ctx->err, IPC_S_INVALID, "mailbox name too "
		    "long");
	return IPC_S_OK;
}

/* The next UIDVALIDITY: now, or above every one the account uses. */
static uint32_t
mbox_op_uidvalidity(struct mbox_op_ctx *ctx)
{
	/*
	 * Above every value given out since the store was opened, too: a
	 * mailbox deleted and made again under its name within the same
	 * second must not get its old UIDVALIDITY back (RFC 9051 2.3.1.1).
	 * Across a restart the clock has moved on.
	 */
	uint32_t last = ctx->db->last_uidvalidity;
	uint32_t v = (uint32_t)ctx->now;
	size_t i;

	if (last >= v && last < UINT32_MAX)
		v = last + 1;
	for (i = 0; i < ctx->set.n; i++)
		if (ctx->set.v[i].rec.uidvalidity >= v &&
		    ctx->set.v[i].rec.uidvalidity < UINT32_MAX)
			v = ctx->set.v[i].rec.uidvalidity + 1;
	if (v == 0)
		v = 1;
	ctx->db->last_uidvalidity = v;
	return v;
}

/* Makes mailbox name under parent, with role, as id *id_r. */
static enum ipc_status
mbox_op_make(struct mbox_op_ctx *ctx, const char *name, uint32_t parent,
    const char *role, uint32_t *id_r)
{
	struct mailbox_rec mb;
	enum ipc_status st;
	uint32_t id = ctx->s.next_mailbox;

	if (id == 0 || id == UINT32_MAX)
		return db_error(ctx->err, IPC_S_LIMIT, "out of mailbox ids");
	memset(&mb, 0, sizeof(mb));
	mb.parent = parent;
	strlcpy(mb.name, name, sizeof(mb.name));
	strlcpy(mb.role, role, sizeof(mb.role));
	mb.uidvalidity = mbox_op_uidvalidity(ctx);
	mb.uidnext = 1;
	mb.created = ctx->now;
	/* A subscription to the name, made before, is now the mailbox's. */
	if ((st = subscription_take(ctx->db, ctx->txn, ctx->acct, name,
	    &mb.subscribed, ctx->err)) != IPC_S_OK)
		return st;
	if ((st = changelog_append(ctx->db, ctx->txn, ctx->acct, &ctx->s,
	    CHANGE_MAILBOX, CHANGE_CREATED, id, &mb.highestmodseq,
	    ctx->err)) != IPC_S_OK ||
	    (st = mailbox_put(ctx->db, ctx->txn, ctx->acct, id, &mb,
	    ctx->err)) != IPC_S_OK)
		return st;
	ctx->s.next_mailbox++;
	mbox_op_add(&ctx->set, id, &mb);
	*id_r = id;
	return IPC_S_OK;
}

/*
 * Finds or makes every ancestor of name (RFC 9051 6.3.4); *parent_r gets
 * the id of its immediate parent (0 at the top level).
 */
static enum ipc_status
mbox_op_parents(struct mbox_op_ctx *ctx, const char *name,
    uint32_t *parent_r)
{
	char prefix[MAILBOX_NAME_MAX + 1];
	const struct mbox_info *mi;
	const char *slash;
	enum ipc_status st;
	uint32_t parent = 0;

	for (slash = strchr(name, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		memcpy(prefix, name, (size_t)(slash - name));
		prefix[slash - name] = '\0';
		if ((mi = mbox_op_by_name(&ctx->set, prefix)) != NULL)
			parent = mi->id;
		else if ((st = mbox_op_make(ctx, prefix, parent, "", &parent))
		    != IPC_S_OK)
			return st;
		else if (ctx->made != NULL) {
			ctx->made->ids = xreallocarray(ctx->made->ids,
			    ctx->made->names.n + 1, sizeof(*ctx->made->ids));
			ctx->made->ids[ctx->made->names.n] = parent;
			strvec_add(&ctx->made->names, prefix);
		}
	}
	*parent_r = parent;
	return IPC_S_OK;
}

/* --- MBOX_LIST --- */

/* An unread message's thread in one mailbox (index into the list). */
struct mbox_op_unread {
	size_t		 idx;
	uint64_t	 thread;
};

struct mbox_op_count {
	struct mbox_list	*l;
	struct message_rec	*m;
	struct mbox_op_unread	*u;
	size_t			 nu, capu;
};

static struct mbox_info *
mbox_op_search(struct mbox_list *l, uint32_t id)
{
	size_t lo = 0, hi = l->n, mid;

	while (lo < hi) {	/* l->v is in id order (mailbox_scan) */
		mid = lo + (hi - lo) / 2;
		if (l->v[mid].id == id)
			return &l->v[mid];
		if (l->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
mbox_op_count_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct mbox_op_count *c = arg;
	struct mbox_info *mi;
	uint32_t i;

	(void)k;
	if (record_message_dec(v->mv_data, v->mv_size, c->m) == -1)
		return 0;	/* not counted; message_get reports it */
	for (i = 0; i < c->m->nmbox; i++) {
		if ((mi = mbox_op_search(c->l, c->m->mbox[i].mailbox)) ==
		    NULL)
			continue;
		if (c->m->flags & (MSG_F_SEEN | MSG_F_DRAFT))
			continue;
		if (c->nu == c->capu) {
			c->capu = c->capu == 0 ? 64 : c->capu * 2;
			c->u = xreallocarray(c->u, c->capu, sizeof(*c->u));
		}
		c->u[c->nu].idx = (size_t)(mi - c->l->v);
		c->u[c->nu++].thread = c->m->thread;
	}
	return 0;
}

static int
mbox_op_unread_cmp(const void *a, const void *b)
{
	const struct mbox_op_unread *x = a, *y = b;

	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return 0;
}

/*
 * Unread threads: the store keeps no counter of them, so one pass over the
 * account's messages counts them, unless no mailbox has an unread message
 * (then none has an unread thread).  Sizes are the mailboxes' counters.
 */
static enum ipc_status
mbox_op_count(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    struct mbox_list *l, struct store_error *err)
{
	struct mbox_op_count c = { .l = l };
	struct key_mail pre;
	enum ipc_status st;
	size_t i;

	for (i = 0; i < l->n; i++)
		l->v[i].size = l->v[i].rec.size;
	for (i = 0; i < l->n && l->v[i].rec.unread == 0; i++)
		;
	if (i == l->n)
		return IPC_S_OK;
	c.m = xmalloc(sizeof(*c.m));
	key_mail_init(&pre, account_id);
	st = db_scan(txn, db->messages, pre.b, pre.len, mbox_op_count_cb, &c,
	    err);
	if (st == IPC_S_OK && c.nu > 0) {
		qsort(c.u, c.nu, sizeof(*c.u), mbox_op_unread_cmp);
		for (i = 0; i < c.nu; i++)
			if (i == 0 || mbox_op_unread_cmp(&c.u[i - 1],
			    &c.u[i]) != 0)
				l->v[c.u[i].idx].unread_threads++;
	}
	free(c.u);
	free(c.m);
	return st;
}

enum ipc_status
mbox_op_list(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    bool unread_threads, struct mbox_list *l, struct store_error *err)
{
	struct mstate_rec s;
	enum ipc_status st;

	if ((st = mstate_get(db, txn, account_id, &s, err)) != IPC_S_OK ||
	    (st = mailbox_scan(db, txn, account_id, mbox_op_collect_cb, l,
	    err)) != IPC_S_OK)
		return st;
	l->state = s.modseq;
	if (!unread_threads) {
		for (size_t i = 0; i < l->n; i++)
			l->v[i].size = l->v[i].rec.size;
		return IPC_S_OK;
	}
	return mbox_op_count(db, txn, account_id, l, err);
}

/* --- MBOX_CREATE --- */

static enum ipc_status
mbox_op_create_in(struct mbox_op_ctx *ctx, const char *name,
    const char *role, uint32_t *id_r, uint32_t *uidvalidity_r)
{
	char canon[MAILBOX_NAME_MAX + 1];
	enum ipc_status st;
	uint32_t parent, id;

	if (!mbox_op_role_known(role))
		return db_error(ctx->err, IPC_S_INVALID, "unknown role %s",
		    role);
	if ((st = mbox_op_begin(ctx)) != IPC_S_OK ||
	    (st = mbox_op_canon(ctx, name, canon)) != IPC_S_OK)
		return st;
	if (mbox_op_by_name(&ctx->set, canon) != NULL)
		return db_error(ctx->err, IPC_S_EXISTS, "mailbox %s exists",
		    canon);
	if (role[0] != '\0' && mbox_op_by_role(&ctx->set, role) != NULL)
		return db_error(ctx->err, IPC_S_EXISTS, "another mailbox has "
		    "role %s", role);
	if ((st = mbox_op_parents(ctx, canon, &parent)) != IPC_S_OK ||
	    (st = mbox_op_make(ctx, canon, parent, role, &id)) != IPC_S_OK ||
	    (st = mbox_op_fits(ctx)) != IPC_S_OK)
		return st;
	if (id_r != NULL)
		*id_r = id;
	if (uidvalidity_r != NULL)
		*uidvalidity_r = mbox_op_by_id(&ctx->set, id)->rec.uidvalidity;
	return mstate_put(ctx->db, ctx->txn, ctx->acct, &ctx->s, ctx->err);
}

void
mbox_made_clear(struct mbox_made *made)
{
	free(made->ids);
	made->ids = NULL;
	strvec_clear(&made->names);
}

enum ipc_status
mbox_op_create(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const char *name, const char *role, uint64_t now, uint32_t *id_r,
    uint32_t *uidvalidity_r, struct mbox_made *made, struct store_error *err)
{
	struct mbox_op_ctx ctx = { .db = db, .txn = txn, .acct = account_id,
	    .now = now, .made = made, .err = err };
	enum ipc_status st;

	st = mbox_op_create_in(&ctx, name, role != NULL ? role : "", id_r,
	    uidvalidity_r);
	mbox_list_clear(&ctx.set);
	return st;
}

/* --- Messages of a mailbox --- */

struct mbox_op_emails {
	uint64_t	*v;
	size_t		 n, cap;
};

static int
mbox_op_emails_cb(uint32_t uid, uint64_t email_id, uint64_t modseq,
    void *arg)
{
	struct mbox_op_emails *e = arg;

	(void)uid;
	(void)modseq;
	if (e->n == e->cap) {
		e->cap = e->cap == 0 ? 64 : e->cap * 2;
		e->v = xreallocarray(e->v, e->cap, sizeof(*e->v));
	}
	e->v[e->n++] = email_id;
	return 0;
}

/* Deletes every key of dbi that starts with the account and mailbox id. */
static enum ipc_status
mbox_op_del_range(struct mbox_op_ctx *ctx, MDB_dbi dbi, uint32_t id)
{
	struct key_mail pre;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	key_mail_init(&pre, ctx->acct);
	key_mail_u32(&pre, id);
	if ((rc = mdb_cursor_open(ctx->txn, dbi, &cur)) != 0)
		return db_mdb_error(ctx->err, rc, "cursor");
	k = KEY_MAIL_VAL(&pre);
	while ((rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE)) == 0 &&
	    key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len)) {
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		k = KEY_MAIL_VAL(&pre);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(ctx->err, rc, "mailbox purge");
	return IPC_S_OK;
}

/* --- MBOX_DELETE --- */

/*
 * Takes every message out of mailbox id: those also in other mailboxes
 * leave it (an "email updated" each), then those only there are
 * destroyed.  No UID is remembered as vanished: the mailbox goes.
 */
static enum ipc_status
mbox_op_empty(struct mbox_op_ctx *ctx, uint32_t id)
{
	struct mbox_op_emails e = { NULL, 0, 0 }, only = { NULL, 0, 0 };
	struct message_rec *m = xmalloc(sizeof(*m));
	enum ipc_status st;
	size_t i;
	uint32_t uid;

	if ((st = message_scan_uids(ctx->db, ctx->txn, ctx->acct, id, 0,
	    mbox_op_emails_cb, &e, ctx->err)) != IPC_S_OK ||
	    (st = mstate_get(ctx->db, ctx->txn, ctx->acct, &ctx->s,
	    ctx->err)) != IPC_S_OK)
		goto out;
	for (i = 0; i < e.n; i++) {
		if ((st = message_get(ctx->db, ctx->txn, ctx->acct, e.v[i], m,
		    ctx->err)) == IPC_S_NOTFOUND ||
		    (st == IPC_S_OK && msgops_mbox_index(m, id) == -1)) {
			/* A stale index entry: the range purge drops it. */
			log_warnx("account %llu mailbox %u: stale uid entry of "
			    "email %llu", (unsigned long long)ctx->acct, id,
			    (unsigned long long)e.v[i]);
			continue;
		}
		if (st != IPC_S_OK)
			goto out;
		if (m->nmbox == 1) {
			mbox_op_emails_cb(0, e.v[i], 0, &only);
			continue;
		}
		if ((st = msgops_unlink(ctx->db, ctx->txn, ctx->acct, e.v[i], m,
		    id, &uid, ctx->err)) != IPC_S_OK ||
		    (st = msgops_put(ctx->db, ctx->txn, ctx->acct, e.v[i], m,
		    ctx->err)) != IPC_S_OK ||
		    (st = changelog_append(ctx->db, ctx->txn, ctx->acct,
		    &ctx->s, CHANGE_EMAIL, CHANGE_UPDATED, e.v[i], NULL,
		    ctx->err)) != IPC_S_OK)
			goto out;
	}
	/* message_destroy reads and writes the mail state itself. */
	if ((st = mstate_put(ctx->db, ctx->txn, ctx->acct, &ctx->s,
	    ctx->err)) != IPC_S_OK)
		goto out;
	for (i = 0; i < only.n && st == IPC_S_OK; i++)
		st = message_destroy(ctx->db, ctx->txn, ctx->acct, only.v[i],
		    ctx->err);
out:
	free(m);
	free(e.v);
	free(only.v);
	return st;
}

static enum ipc_status
mbox_op_delete_in(struct mbox_op_ctx *ctx, uint32_t id, uint64_t *modseq_r)
{
	const MDB_dbi dbis[] = { ctx->db->mbox_uids, ctx->db->mbox_dates,
	    ctx->db->mbox_threads, ctx->db->vanished, ctx->db->dups,
	    ctx->db->metadata };
	const struct mbox_info *mi;
	struct key_mail k;
	MDB_val kv;
	enum ipc_status st;
	size_t i, len;
	uint64_t ms;
	int rc;

	if ((st = mbox_op_begin(ctx)) != IPC_S_OK)
		return st;
	if ((mi = mbox_op_by_id(&ctx->set, id)) == NULL)
		return db_error(ctx->err, IPC_S_NOTFOUND, "no mailbox %u", id);
	if (strcmp(mi->rec.role, "inbox") == 0)
		return db_error(ctx->err, IPC_S_DENIED, "the inbox cannot be "
		    "deleted");
	len = strlen(mi->rec.name);
	for (i = 0; i < ctx->set.n; i++)
		if (ctx->set.v[i].rec.parent == id ||
		    (strncmp(ctx->set.v[i].rec.name, mi->rec.name, len) == 0 &&
		    ctx->set.v[i].rec.name[len] == '/'))
			return db_error(ctx->err, IPC_S_HASCHILDREN,
			    "mailbox %s has children", mi->rec.name);
	if ((st = mbox_op_empty(ctx, id)) != IPC_S_OK)
		return st;
	/*
	 * The mailbox is gone: its expunge history, indexes and annotations
	 * (RFC 5464 3.3) go too.
	 */
	for (i = 0; i < sizeof(dbis) / sizeof(dbis[0]); i++)
		if ((st = mbox_op_del_range(ctx, dbis[i], id)) != IPC_S_OK)
			return st;
	if ((st = mstate_get(ctx->db, ctx->txn, ctx->acct, &ctx->s,
	    ctx->err)) != IPC_S_OK ||
	    (st = changelog_append(ctx->db, ctx->txn, ctx->acct, &ctx->s,
	    CHANGE_MAILBOX, CHANGE_DESTROYED, id, &ms, ctx->err)) != IPC_S_OK)
		return st;
	/* RFC 9051 6.3.7: the name stays subscribed (SHOULD NOT drop it). */
	if (mi->rec.subscribed && (st = subscription_leave(ctx->db, ctx->txn,
	    ctx->acct, mi->rec.name, ctx->err)) != IPC_S_OK)
		return st;
	key_mail_init(&k, ctx->acct);
	key_mail_u32(&k, id);
	kv = KEY_MAIL_VAL(&k);
	if ((rc = mdb_del(ctx->txn, ctx->db->mailboxes, &kv, NULL)) != 0)
		return db_mdb_error(ctx->err, rc, "mailbox delete");
	if (modseq_r != NULL)
		*modseq_r = ms;
	return mstate_put(ctx->db, ctx->txn, ctx->acct, &ctx->s, ctx->err);
}

enum ipc_status
mbox_op_delete(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t id, uint64_t *modseq_r, struct store_error *err)
{
	struct mbox_op_ctx ctx = { .db = db, .txn = txn, .acct = account_id,
	    .err = err };
	enum ipc_status st;

	st = mbox_op_delete_in(&ctx, id, modseq_r);
	mbox_list_clear(&ctx.set);
	return st;
}

/* --- MBOX_RENAME --- */

/* Writes mailbox mi (renamed) back, with a change-log entry. */
static enum ipc_status
mbox_op_update(struct mbox_op_ctx *ctx, const struct mbox_info *mi)
{
	enum ipc_status st;

	if ((st = changelog_append(ctx->db, ctx->txn, ctx->acct, &ctx->s,
	    CHANGE_MAILBOX, CHANGE_UPDATED, mi->id, NULL, ctx->err)) !=
	    IPC_S_OK)
		return st;
	return mailbox_put(ctx->db, ctx->txn, ctx->acct, mi->id, &mi->rec,
	    ctx->err);
}

/*
 * Subscriptions are names and stay with them through a rename, as RFC
 * 9051 6.3.6 says ("renaming a mailbox doesn't update subscription
 * information on the original name"; a client that wants the new name
 * subscribed asks for it) and as Dovecot does (its subscriptions are a
 * list of names; after RENAME X Y, LIST (SUBSCRIBED) shows X as
 * \NonExistent and Y only if Y was subscribed before): the old name of
 * a subscribed mailbox stays subscribed without it, and the mailbox is
 * subscribed under its new name exactly if that name was.
 */
static enum ipc_status
mbox_op_rename_subscription(struct mbox_op_ctx *ctx, const char *was,
    struct mailbox_rec *rec)
{
	enum ipc_status st;

	if (rec->subscribed && (st = subscription_leave(ctx->db, ctx->txn,
	    ctx->acct, was, ctx->err)) != IPC_S_OK)
		return st;
	return subscription_take(ctx->db, ctx->txn, ctx->acct, rec->name,
	    &rec->subscribed, ctx->err);
}

/*
 * Renames mailbox id and its descendants to name (RFC 9051 6.3.6): every
 * new name is checked before anything is written.
 */
static enum ipc_status
mbox_op_rename_tree(struct mbox_op_ctx *ctx, uint32_t id, const char *name)
{
	char old[MAILBOX_NAME_MAX + 1], nn[MAILBOX_NAME_MAX + 1];
	char was[MAILBOX_NAME_MAX + 1];
	struct mbox_info *mi;
	enum ipc_status st;
	size_t i, olen;
	uint32_t parent;

	strlcpy(old, mbox_op_by_id(&ctx->set, id)->rec.name, sizeof(old));
	olen = strlen(old);
	if (strncmp(name, old, olen) == 0 && name[olen] == '/')
		return db_error(ctx->err, IPC_S_INVALID, "cannot move mailbox "
		    "%s under itself", old);
	for (i = 0; i < ctx->set.n; i++) {
		mi = &ctx->set.v[i];
		if (strncmp(mi->rec.name, old, olen) != 0 ||
		    mi->rec.name[olen] != '/')
			continue;
		if (strlcpy(nn, name, sizeof(nn)) >= sizeof(nn) ||
		    strlcat(nn, mi->rec.name + olen, sizeof(nn)) >= sizeof(nn))
			return db_error(ctx->err, IPC_S_INVALID, "mailbox "
			    "name too long: %s", mi->rec.name);
		if (mbox_op_by_name(&ctx->set, nn) != NULL)
			return db_error(ctx->err, IPC_S_EXISTS, "mailbox %s "
			    "exists", nn);
	}
	if ((st = mbox_op_parents(ctx, name, &parent)) != IPC_S_OK)
		return st;
	/* mbox_op_parents may have moved the set: look up by id again. */
	for (i = 0; i < ctx->set.n; i++) {
		mi = &ctx->set.v[i];
		strlcpy(was, mi->rec.name, sizeof(was));
		if (mi->id == id) {
			strlcpy(mi->rec.name, name, sizeof(mi->rec.name));
			mi->rec.parent = parent;
		} else if (strncmp(mi->rec.name, old, olen) == 0 &&
		    mi->rec.name[olen] == '/') {
			strlcpy(nn, name, sizeof(nn));
			strlcat(nn, mi->rec.name + olen, sizeof(nn));
			strlcpy(mi->rec.name, nn, sizeof(mi->rec.name));
		} else
			continue;
		if ((st = mbox_op_rename_subscription(ctx, was, &mi->rec)) !=
		    IPC_S_OK || (st = mbox_op_update(ctx, mi)) != IPC_S_OK)
			return st;
	}
	return IPC_S_OK;
}

/*
 * Moves email from mailbox from to mailbox to under a new UID there,
 * remembering its old UID as vanished (RFC 7162 3.2.10); the mailboxes
 * go to *mbs for their "mailbox updated" entries.
 */
static enum ipc_status
mbox_op_move(struct mbox_op_ctx *ctx, uint64_t email, uint32_t from,
    uint32_t to, struct message_rec *m, struct msgops_mboxes *mbs)
{
	enum ipc_status st;
	uint32_t uid, old;
	uint64_t ms;

	if ((st = message_get(ctx->db, ctx->txn, ctx->acct, email, m,
	    ctx->err)) != IPC_S_OK ||
	    (st = msgops_link(ctx->db, ctx->txn, ctx->acct, email, m, to,
	    &uid, ctx->err)) != IPC_S_OK ||
	    (st = msgops_unlink(ctx->db, ctx->txn, ctx->acct, email, m, from,
	    &old, ctx->err)) != IPC_S_OK ||
	    (st = msgops_touch(ctx->db, ctx->txn, ctx->acct, &ctx->s, email,
	    m, to, &ms, ctx->err)) != IPC_S_OK ||
	    (st = msgops_vanish(ctx->db, ctx->txn, ctx->acct, from, old, ms,
	    ctx->err)) != IPC_S_OK)
		return st;
	msgops_mboxes_add(mbs, from);
	msgops_mboxes_add(mbs, to);
	return msgops_put(ctx->db, ctx->txn, ctx->acct, email, m, ctx->err);
}

/*
 * Renaming the inbox (RFC 9051 6.3.6): a new mailbox name takes every
 * message of the inbox, under new UIDs; the inbox stays, empty, and so do
 * its children.
 */
static enum ipc_status
mbox_op_rename_inbox(struct mbox_op_ctx *ctx, uint32_t inbox,
    const char *name, uint32_t *id_r, uint64_t *inbox_modseq_r)
{
	struct mbox_op_emails e = { NULL, 0, 0 };
	struct msgops_mboxes mbs;
	struct message_rec *m;
	enum ipc_status st;
	uint32_t parent, id;
	size_t i;

	if ((st = mbox_op_parents(ctx, name, &parent)) != IPC_S_OK ||
	    (st = mbox_op_make(ctx, name, parent, "", &id)) != IPC_S_OK ||
	    (st = mbox_op_fits(ctx)) != IPC_S_OK ||
	    (st = message_scan_uids(ctx->db, ctx->txn, ctx->acct, inbox, 0,
	    mbox_op_emails_cb, &e, ctx->err)) != IPC_S_OK) {
		free(e.v);
		return st;
	}
	memset(&mbs, 0, sizeof(mbs));
	m = xmalloc(sizeof(*m));
	for (i = 0; i < e.n && st == IPC_S_OK; i++)
		st = mbox_op_move(ctx, e.v[i], inbox, id, m, &mbs);
	if (st == IPC_S_OK)
		st = msgops_mboxes_commit(ctx->db, ctx->txn, ctx->acct,
		    &ctx->s, &mbs, ctx->err);
	*id_r = id;
	*inbox_modseq_r = msgops_mboxes_hms(&mbs, inbox);
	msgops_mboxes_clear(&mbs);
	free(m);
	free(e.v);
	if (st != IPC_S_OK)
		return st;
	return mstate_put(ctx->db, ctx->txn, ctx->acct, &ctx->s, ctx->err);
}

static enum ipc_status
mbox_op_rename_in(struct mbox_op_ctx *ctx, uint32_t id, const char *name,
    uint32_t *id_r, uint64_t *inbox_modseq_r)
{
	char canon[MAILBOX_NAME_MAX + 1];
	const struct mbox_info *mi;
	enum ipc_status st;

	*inbox_modseq_r = 0;
	if ((st = mbox_op_begin(ctx)) != IPC_S_OK)
		return st;
	if ((mi = mbox_op_by_id(&ctx->set, id)) == NULL)
		return db_error(ctx->err, IPC_S_NOTFOUND, "no mailbox %u", id);
	if ((st = mbox_op_canon(ctx, name, canon)) != IPC_S_OK)
		return st;
	if (mbox_op_by_name(&ctx->set, canon) != NULL)
		return db_error(ctx->err, IPC_S_EXISTS, "mailbox %s exists",
		    canon);
	if (strcmp(mi->rec.role, "inbox") == 0)
		return mbox_op_rename_inbox(ctx, id, canon, id_r,
		    inbox_modseq_r);
	if ((st = mbox_op_rename_tree(ctx, id, canon)) != IPC_S_OK ||
	    (st = mbox_op_fits(ctx)) != IPC_S_OK)
		return st;
	*id_r = id;
	return mstate_put(ctx->db, ctx->txn, ctx->acct, &ctx->s, ctx->err);
}

enum ipc_status
mbox_op_rename(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t id, const char *name, uint64_t now, uint32_t *id_r,
    uint64_t *inbox_modseq_r, struct mbox_made *made,
    struct store_error *err)
{
	struct mbox_op_ctx ctx = { .db = db, .txn = txn, .acct = account_id,
	    .now = now, .made = made, .err = err };
	enum ipc_status st;
	uint64_t ims;
	uint32_t nid = 0;

	st = mbox_op_rename_in(&ctx, id, name, &nid, &ims);
	mbox_list_clear(&ctx.set);
	if (st == IPC_S_OK && id_r != NULL)
		*id_r = nid;
	if (st == IPC_S_OK && inbox_modseq_r != NULL)
		*inbox_modseq_r = ims;
	return st;
}

/* --- MBOX_SUBSCRIBE --- */

enum ipc_status
mbox_op_subscribe(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t id, bool subscribed, struct store_error *err)
{
	struct mailbox_rec mb;
	struct mstate_rec s;
	enum ipc_status st;

	if ((st = mailbox_get(db, txn, account_id, id, &mb, err)) != IPC_S_OK)
		return st;
	if (mb.subscribed == subscribed)
		return IPC_S_OK;
	mb.subscribed = subscribed;
	if ((st = mstate_get(db, txn, account_id, &s, err)) != IPC_S_OK ||
	    (st = changelog_append(db, txn, account_id, &s, CHANGE_MAILBOX,
	    CHANGE_UPDATED, id, NULL, err)) != IPC_S_OK ||
	    (st = mailbox_put(db, txn, account_id, id, &mb, err)) != IPC_S_OK)
		return st;
	return mstate_put(db, txn, account_id, &s, err);
}
