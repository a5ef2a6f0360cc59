/* SPDX-License-Identifier: ISC */
/*
 * mailbox.c: mailbox records, the default mailboxes of a new account and
 * lookups by name and role (see mailbox.h).
 */
#include "mailbox.h"
#include "changelog.h"
#include "compat.h"
#include "key.h"
#include "wire.h"

#include <string.h>
#include <strings.h>

/* The mailboxes every account starts with (RFC 8621 2, RFC 6154). */
static const struct {
	const char	*name;
	const char	*role;
} mailbox_defaults[] = {
	{ "Inbox",	"inbox" },
	{ "Drafts",	"drafts" },
	{ "Sent",	"sent" },
	{ "Trash",	"trash" },
	{ "Junk",	"junk" },
	{ "Archive",	"archive" },
};

#define MAILBOX_NDEFAULTS \
	(sizeof(mailbox_defaults) / sizeof(mailbox_defaults[0]))

static MDB_val
mailbox_key(struct key_mail *k, uint64_t account_id, uint32_t id)
{
	key_mail_init(k, account_id);
	key_mail_u32(k, id);
	return KEY_MAIL_VAL(k);
}

enum ipc_status
mailbox_get(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t id, struct mailbox_rec *mb, struct store_error *err)
{
	struct key_mail k;
	MDB_val kv = mailbox_key(&k, account_id, id), d;
	int rc;

	if ((rc = mdb_get(txn, db->mailboxes, &kv, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no mailbox %u", id);
	if (rc != 0)
		return db_mdb_error(err, rc, "mailbox lookup");
	if (record_mailbox_dec(d.mv_data, d.mv_size, mb) == -1)
		return db_error(err, IPC_S_INTERNAL, "corrupt mailbox %u", id);
	return IPC_S_OK;
}

enum ipc_status
mailbox_put(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint32_t id, const struct mailbox_rec *mb, struct store_error *err)
{
	struct key_mail k;
	struct buf b = BUF_INIT;
	MDB_val kv = mailbox_key(&k, account_id, id), d;
	int rc;

	record_mailbox_enc(&b, mb);
	d.mv_size = b.len;
	d.mv_data = b.data;
	rc = mdb_put(txn, db->mailboxes, &kv, &d, 0);
	buf_clear(&b);
	return rc == 0 ? IPC_S_OK : db_mdb_error(err, rc, "mailbox write");
}

enum ipc_status
mailbox_account_init(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t now, struct store_error *err)
{
	struct mstate_rec s = { 0, 1, 1, 1, 0 };
	struct mailbox_rec mb;
	enum ipc_status st;
	uint64_t modseq;
	size_t i;

	st = mstate_get(db, txn, account_id, &s, err);
	if (st == IPC_S_OK)
		return db_error(err, IPC_S_EXISTS, "account %llu has mail "
		    "already", (unsigned long long)account_id);
	if (st != IPC_S_NOTFOUND)
		return st;
	for (i = 0; i < MAILBOX_NDEFAULTS; i++) {
		memset(&mb, 0, sizeof(mb));
		strlcpy(mb.name, mailbox_defaults[i].name, sizeof(mb.name));
		strlcpy(mb.role, mailbox_defaults[i].role, sizeof(mb.role));
		/* RFC 9051 2.3.1.1: time-based, so a recreated box differs. */
		mb.uidvalidity = (uint32_t)now;
		mb.uidnext = 1;
		mb.subscribed = true;
		mb.sort_order = (uint32_t)i;
		mb.created = now;
		if ((st = changelog_append(db, txn, account_id, &s,
		    CHANGE_MAILBOX, CHANGE_CREATED, s.next_mailbox, &modseq,
		    err)) != IPC_S_OK)
			return st;
		mb.highestmodseq = modseq;
		if ((st = mailbox_put(db, txn, account_id, s.next_mailbox,
		    &mb, err)) != IPC_S_OK)
			return st;
		s.next_mailbox++;
	}
	return mstate_put(db, txn, account_id, &s, err);
}

struct mailbox_scan_ctx {
	mailbox_fn	*fn;
	void		*arg;
	int		 bad;
};

static int
mailbox_scan_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct mailbox_scan_ctx *ctx = arg;
	struct mailbox_rec mb;

	if (k->mv_size != 12 ||
	    record_mailbox_dec(v->mv_data, v->mv_size, &mb) == -1) {
		ctx->bad = 1;
		return 1;
	}
	return ctx->fn(wire_be32_get((const uint8_t *)k->mv_data + 8), &mb,
	    ctx->arg);
}

enum ipc_status
mailbox_scan(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    mailbox_fn *fn, void *arg, struct store_error *err)
{
	struct mailbox_scan_ctx ctx = { fn, arg, 0 };
	struct key_mail pre;
	enum ipc_status st;

	key_mail_init(&pre, account_id);
	st = db_scan(txn, db->mailboxes, pre.b, pre.len, mailbox_scan_cb,
	    &ctx, err);
	if (st == IPC_S_OK && ctx.bad)
		return db_error(err, IPC_S_INTERNAL, "corrupt mailbox of "
		    "account %llu", (unsigned long long)account_id);
	return st;
}

struct mailbox_find_ctx {
	const char		*name, *role;
	uint32_t		 id;
	struct mailbox_rec	*mb;
};

static int
mailbox_find_cb(uint32_t id, const struct mailbox_rec *mb, void *arg)
{
	struct mailbox_find_ctx *ctx = arg;

	if (ctx->name != NULL ? strcasecmp(mb->name, ctx->name) != 0 :
	    strcmp(mb->role, ctx->role) != 0)
		return 0;
	ctx->id = id;
	if (ctx->mb != NULL)
		*ctx->mb = *mb;
	return 1;
}

enum ipc_status
mailbox_find(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const char *name, const char *role, uint32_t *id_r,
    struct mailbox_rec *mb, struct store_error *err)
{
	struct mailbox_find_ctx ctx = { name, role, 0, mb };
	enum ipc_status st;

	st = mailbox_scan(db, txn, account_id, mailbox_find_cb, &ctx, err);
	if (st != IPC_S_OK)
		return st;
	if (ctx.id == 0)
		return db_error(err, IPC_S_NOTFOUND, "no mailbox %s",
		    name != NULL ? name : role);
	*id_r = ctx.id;
	return IPC_S_OK;
}

/* Adds dir (1 or -1) to *v, never below 0. */
static void
mailbox_add32(uint32_t *v, int dir)
{
	if (dir > 0)
		(*v)++;
	else if (*v > 0)
		(*v)--;
}

static void
mailbox_add64(uint64_t *v, uint64_t n, int dir)
{
	if (dir > 0)
		*v += n;
	else
		*v = *v > n ? *v - n : 0;
}

void
mailbox_count_msg(struct mailbox_rec *mb, uint32_t flags, uint64_t size,
    int dir)
{
	mailbox_add32(&mb->total, dir);
	mailbox_add64(&mb->size, size, dir);
	if ((flags & MSG_F_SEEN) == 0)
		mailbox_add32(&mb->unread, dir);
	if (flags & MSG_F_DELETED) {
		mailbox_add32(&mb->deleted, dir);
		mailbox_add64(&mb->deleted_size, size, dir);
	}
}

void
mailbox_count_flags(struct mailbox_rec *mb, uint32_t old, uint32_t new,
    uint64_t size)
{
	int dir;

	if ((old ^ new) & MSG_F_SEEN)
		mailbox_add32(&mb->unread, (new & MSG_F_SEEN) ? -1 : 1);
	if ((old ^ new) & MSG_F_DELETED) {
		dir = (new & MSG_F_DELETED) ? 1 : -1;
		mailbox_add32(&mb->deleted, dir);
		mailbox_add64(&mb->deleted_size, size, dir);
	}
}
