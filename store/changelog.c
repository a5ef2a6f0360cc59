/* SPDX-License-Identifier: ISC */
/*
 * changelog.c: the mail state record and the change log of an account (see
 * changelog.h).
 */
#include "changelog.h"
#include "key.h"
#include "log.h"
#include "wire.h"
#include "xmalloc.h"

#include <stdlib.h>
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

/*
 * Deletes account_id's change log entries from since + 1 to target, at
 * most max in all (*n_r counts them); *last_r gets the highest modseq
 * deleted.
 */
static enum ipc_status
changelog_prune_log(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t since, uint64_t target, size_t max, size_t *n_r,
    uint64_t *last_r, struct store_error *err)
{
	struct key_mail pre, start;
	MDB_cursor *cur;
	MDB_val k, d;
	uint64_t m;
	int rc;

	key_mail_init(&pre, account_id);
	key_mail_init(&start, account_id);
	key_mail_u64(&start, since + 1);
	k = KEY_MAIL_VAL(&start);
	if ((rc = mdb_cursor_open(txn, db->changes, &cur)) != 0)
		return db_mdb_error(err, rc, "cursor");
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (!key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len) ||
		    k.mv_size != 16 ||
		    (m = wire_be64_get((const uint8_t *)k.mv_data + 8)) >
		    target || *n_r == max)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		(*n_r)++;
		*last_r = m;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "change log prune");
	return IPC_S_OK;
}

/* The vanished UIDs of every mailbox of account_id at or below floor. */
static enum ipc_status
changelog_prune_vanished(struct store_db *db, MDB_txn *txn,
    uint64_t account_id, uint64_t floor, struct store_error *err)
{
	struct key_mail pre, mpre;
	MDB_cursor *mcur, *vcur;
	MDB_val k, d, vk, vd;
	int rc, vrc = 0;

	key_mail_init(&pre, account_id);
	k = KEY_MAIL_VAL(&pre);
	if ((rc = mdb_cursor_open(txn, db->mailboxes, &mcur)) != 0)
		return db_mdb_error(err, rc, "cursor");
	if ((rc = mdb_cursor_open(txn, db->vanished, &vcur)) != 0) {
		mdb_cursor_close(mcur);
		return db_mdb_error(err, rc, "cursor");
	}
	for (rc = mdb_cursor_get(mcur, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(mcur, &k, &d, MDB_NEXT)) {
		if (!key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len))
			break;
		if (k.mv_size != pre.len + 4)
			continue;
		/* Keys A mbox modseq: the mailbox's, oldest first. */
		key_mail_init(&mpre, account_id);
		key_mail_bytes(&mpre, (const uint8_t *)k.mv_data + pre.len, 4);
		vk = KEY_MAIL_VAL(&mpre);
		for (vrc = mdb_cursor_get(vcur, &vk, &vd, MDB_SET_RANGE);
		    vrc == 0; vrc = mdb_cursor_get(vcur, &vk, &vd, MDB_NEXT)) {
			if (!key_has_prefix(vk.mv_data, vk.mv_size, mpre.b,
			    mpre.len) || vk.mv_size != mpre.len + 8 ||
			    wire_be64_get((const uint8_t *)vk.mv_data +
			    mpre.len) > floor)
				break;
			if ((vrc = mdb_cursor_del(vcur, 0)) != 0)
				break;
		}
		if (vrc != 0 && vrc != MDB_NOTFOUND)
			break;
		vrc = 0;
	}
	mdb_cursor_close(vcur);
	mdb_cursor_close(mcur);
	if (vrc != 0)
		return db_mdb_error(err, vrc, "vanished prune");
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "mailbox scan");
	return IPC_S_OK;
}

enum ipc_status
changelog_prune(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t keep, size_t max, size_t *pruned_r, struct store_error *err)
{
	struct mstate_rec s;
	enum ipc_status st;
	uint64_t target, last = 0;

	*pruned_r = 0;
	if (keep == 0 || max == 0)
		return IPC_S_OK;
	if ((st = mstate_get(db, txn, account_id, &s, err)) != IPC_S_OK)
		return st == IPC_S_NOTFOUND ? IPC_S_OK : st;
	if (s.modseq <= s.floor || s.modseq - s.floor <= keep + keep / 8)
		return IPC_S_OK;
	target = s.modseq - keep;
	if ((st = changelog_prune_log(db, txn, account_id, s.floor, target,
	    max, pruned_r, &last, err)) != IPC_S_OK)
		return st;
	/* Stopped by max: the floor is the last modseq gone. */
	s.floor = *pruned_r == max && last < target ? last : target;
	if (s.floor == 0)
		return IPC_S_OK;
	if ((st = changelog_prune_vanished(db, txn, account_id, s.floor,
	    err)) != IPC_S_OK)
		return st;
	return mstate_put(db, txn, account_id, &s, err);
}

enum ipc_status
changelog_prune_all(struct store_db *db, MDB_txn *txn, uint64_t keep,
    size_t max, size_t *pruned_r, size_t *accounts_r,
    struct store_error *err)
{
	struct mstate_rec s;
	enum ipc_status st = IPC_S_OK;
	MDB_cursor *cur;
	MDB_val k, d;
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0, i, got;
	int rc;

	*pruned_r = *accounts_r = 0;
	if (keep == 0)
		return IPC_S_OK;
	/* The accounts first: pruning rewrites their records. */
	if ((rc = mdb_cursor_open(txn, db->mail_state, &cur)) != 0)
		return db_mdb_error(err, rc, "cursor");
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size != 8 ||
		    record_mstate_dec(d.mv_data, d.mv_size, &s) == -1 ||
		    s.modseq <= s.floor ||
		    s.modseq - s.floor <= keep + keep / 8)
			continue;
		if (n == cap) {
			cap = cap > 0 ? cap * 2 : 16;
			ids = xreallocarray(ids, cap, sizeof(*ids));
		}
		ids[n++] = wire_be64_get(k.mv_data);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		free(ids);
		return db_mdb_error(err, rc, "mail state scan");
	}
	for (i = 0; i < n && *pruned_r < max; i++) {
		if ((st = changelog_prune(db, txn, ids[i], keep,
		    max - *pruned_r, &got, err)) != IPC_S_OK)
			break;
		*pruned_r += got;
		(*accounts_r)++;
	}
	free(ids);
	return st;
}
