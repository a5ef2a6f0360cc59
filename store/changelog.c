/* SPDX-License-Identifier: ISC */
/*
 * changelog.c: the mail state record and the change log of an account (see
 * changelog.h).
 */
#include "changelog.h"
#include "key.h"
#include "log.h"
#include "wire.h"

#include <string.h>

enum ipc_status
mstate_get(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    struct mstate_rec *s, struct store_error *err)
{
	struct key_mail k;
	MDB_val kv, d;
	int rc;

	key_mail_init(&k, account_id);
	kv = KEY_MAIL_VAL(&k);
	if ((rc = mdb_get(txn, db->mail_state, &kv, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "account %llu has no "
		    "mail", (unsigned long long)account_id);
	if (rc != 0)
		return db_mdb_error(err, rc, "mail state");
	if (record_mstate_dec(d.mv_data, d.mv_size, s) == -1)
		return db_error(err, IPC_S_INTERNAL, "corrupt mail state of "
		    "account %llu", (unsigned long long)account_id);
	return IPC_S_OK;
}

enum ipc_status
mstate_put(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const struct mstate_rec *s, struct store_error *err)
{
	struct buf b = BUF_INIT;
	struct key_mail k;
	MDB_val kv, d;
	int rc;

	key_mail_init(&k, account_id);
	kv = KEY_MAIL_VAL(&k);
	record_mstate_enc(&b, s);
	d.mv_size = b.len;
	d.mv_data = b.data;
	rc = mdb_put(txn, db->mail_state, &kv, &d, 0);
	buf_clear(&b);
	return rc == 0 ? IPC_S_OK : db_mdb_error(err, rc, "mail state write");
}

enum ipc_status
changelog_append(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    struct mstate_rec *s, enum change_type type, enum change_kind kind,
    uint64_t id, uint64_t *modseq_r, struct store_error *err)
{
	struct change_rec c = { (uint8_t)type, (uint8_t)kind, id };
	struct buf b = BUF_INIT;
	struct key_mail k;
	MDB_val kv, d;
	int rc;

	s->modseq++;
	key_mail_init(&k, account_id);
	key_mail_u64(&k, s->modseq);
	kv = KEY_MAIL_VAL(&k);
	record_change_enc(&b, &c);
	d.mv_size = b.len;
	d.mv_data = b.data;
	rc = mdb_put(txn, db->changes, &kv, &d, MDB_APPEND);
	if (rc == MDB_KEYEXIST)	/* another account's keys follow */
		rc = mdb_put(txn, db->changes, &kv, &d, MDB_NOOVERWRITE);
	buf_clear(&b);
	if (rc != 0)
		return db_mdb_error(err, rc, "change log");
	if (modseq_r != NULL)
		*modseq_r = s->modseq;
	return IPC_S_OK;
}

struct changelog_ctx {
	changelog_fn	*fn;
	void		*arg;
	int		 bad;
};

static int
changelog_scan_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct changelog_ctx *ctx = arg;
	struct change_rec c;

	if (k->mv_size != 16 ||
	    record_change_dec(v->mv_data, v->mv_size, &c) == -1) {
		ctx->bad = 1;
		return 1;
	}
	return ctx->fn(wire_be64_get((const uint8_t *)k->mv_data + 8), &c,
	    ctx->arg);
}

enum ipc_status
changelog_scan(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t since, changelog_fn *fn, void *arg, struct store_error *err)
{
	struct changelog_ctx ctx = { fn, arg, 0 };
	struct key_mail pre, start;
	MDB_cursor *cur;
	MDB_val k, d;
	MDB_cursor_op op = MDB_SET_RANGE;
	int rc;

	key_mail_init(&pre, account_id);
	key_mail_init(&start, account_id);
	key_mail_u64(&start, since + 1);
	k = KEY_MAIL_VAL(&start);
	if ((rc = mdb_cursor_open(txn, db->changes, &cur)) != 0)
		return db_mdb_error(err, rc, "cursor");
	for (; (rc = mdb_cursor_get(cur, &k, &d, op)) == 0; op = MDB_NEXT) {
		if (!key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len) ||
		    changelog_scan_cb(&k, &d, &ctx) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "change log scan");
	if (ctx.bad)
		return db_error(err, IPC_S_INTERNAL, "corrupt change log of "
		    "account %llu", (unsigned long long)account_id);
	return IPC_S_OK;
}
