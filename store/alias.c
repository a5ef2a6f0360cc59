/* SPDX-License-Identifier: ISC */
/*
 * alias.c: aliases and their reverse index (see alias.h).
 */
#include "alias.h"
#include "account.h"
#include "compat.h"
#include "domain.h"
#include "key.h"
#include "log.h"
#include "record.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ipc_status
alias_exists_txn(struct store_db *db, MDB_txn *txn, const void *key,
    size_t klen, struct store_error *err)
{
	MDB_val k = { klen, (void *)key }, d;
	int rc;

	if ((rc = mdb_get(txn, db->aliases, &k, &d)) == MDB_NOTFOUND)
		return IPC_S_NOTFOUND;
	if (rc != 0)
		return db_mdb_error(err, rc, "alias lookup");
	return IPC_S_OK;
}

/* Reads the record of alias a inside txn. */
static enum ipc_status
alias_get_txn(struct store_db *db, MDB_txn *txn, const struct name_addr *a,
    struct alias_rec *r, struct store_error *err)
{
	uint8_t key[KEY_ADDR_MAX];
	MDB_val k = { key_addr(key, a), key }, d;
	int rc;

	if ((rc = mdb_get(txn, db->aliases, &k, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no such alias %s",
		    a->full);
	if (rc != 0)
		return db_mdb_error(err, rc, "alias lookup");
	if (record_alias_dec(d.mv_data, d.mv_size, r) == -1)
		return db_error(err, IPC_S_INTERNAL,
		    "corrupt record of alias %s", a->full);
	return IPC_S_OK;
}

/* Checks that alias a may point to t inside txn. */
static enum ipc_status
alias_check_txn(struct store_db *db, MDB_txn *txn, const struct name_addr *a,
    const struct name_addr *t, struct store_error *err)
{
	uint8_t key[KEY_ADDR_MAX];
	size_t klen = key_addr(key, a);
	struct account acc;
	enum ipc_status st;

	if ((st = domain_exists(db, txn, a->domain, err)) != IPC_S_OK)
		return st;
	if ((st = alias_exists_txn(db, txn, key, klen, err)) == IPC_S_OK)
		return db_error(err, IPC_S_EXISTS, "alias %s exists",
		    a->full);
	if (st != IPC_S_NOTFOUND)
		return st;
	st = account_get_txn(db, txn, a, &acc, err);
	if (st == IPC_S_OK)
		return db_error(err, IPC_S_EXISTS, "%s is an account",
		    a->full);
	if (st != IPC_S_NOTFOUND)
		return st;
	st = account_get_txn(db, txn, t, &acc, err);
	if (st == IPC_S_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND,
		    "alias target %s is not an account", t->full);
	return st;
}

/* Writes alias a -> t and its reverse entry inside txn. */
static enum ipc_status
alias_put_txn(struct store_db *db, MDB_txn *txn, const struct name_addr *a,
    const struct name_addr *t, uint64_t now, struct store_error *err)
{
	uint8_t key[KEY_ADDR_MAX], tkey[KEY_ADDR_MAX];
	MDB_val k = { key_addr(key, a), key }, tk = { key_addr(tkey, t), tkey };
	struct alias_rec r;
	struct buf b = BUF_INIT;
	MDB_val d;
	int rc;

	memset(&r, 0, sizeof(r));
	strlcpy(r.target, t->full, sizeof(r.target));
	r.created = now;
	record_alias_enc(&b, &r);
	d.mv_size = b.len;
	d.mv_data = b.data;
	rc = mdb_put(txn, db->aliases, &k, &d, MDB_NOOVERWRITE);
	buf_clear(&b);
	if (rc == 0)
		rc = mdb_put(txn, db->alias_targets, &tk, &k, 0);
	if (rc != 0)
		return db_mdb_error(err, rc, "alias write");
	return IPC_S_OK;
}

/*
 * Catch-alls: an alias written "@domain" takes every address of domain
 * that is neither an account nor an alias.  They live in the catchall
 * database (domain -> alias record), apart from the address keys, so that
 * listing and counting addresses never meets an empty local part.
 */
static enum ipc_status
alias_catchall_add(struct store_db *db, const char *alias,
    const char *target, uint64_t now, struct name_addr *a,
    struct name_addr *t, struct store_error *err)
{
	struct alias_rec r;
	struct account acc;
	struct buf b = BUF_INIT;
	enum ipc_status st;
	MDB_val k, d;
	MDB_txn *txn;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((st = name_domain(alias + 1, a->domain, err)) != IPC_S_OK ||
	    (st = name_address(target, t, err)) != IPC_S_OK)
		return st;
	snprintf(a->full, sizeof(a->full), "@%s", a->domain);
	if ((st = db_begin(db, true, &txn, err)) != IPC_S_OK)
		return st;
	if ((st = domain_exists(db, txn, a->domain, err)) == IPC_S_OK &&
	    (st = account_get_txn(db, txn, t, &acc, err)) == IPC_S_NOTFOUND)
		st = db_error(err, IPC_S_NOTFOUND, "catch-all target %s is "
		    "not an account", t->full);
	if (st == IPC_S_OK) {
		memset(&r, 0, sizeof(r));
		strlcpy(r.target, t->full, sizeof(r.target));
		r.created = now;
		record_alias_enc(&b, &r);
		k.mv_size = strlen(a->domain);
		k.mv_data = a->domain;
		d.mv_size = b.len;
		d.mv_data = b.data;
		rc = mdb_put(txn, db->catchall, &k, &d, MDB_NOOVERWRITE);
		buf_clear(&b);
		if (rc == MDB_KEYEXIST)
			st = db_error(err, IPC_S_EXISTS, "%s has a catch-all",
			    a->domain);
		else if (rc != 0)
			st = db_mdb_error(err, rc, "catch-all write");
	}
	if (st != IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	return db_commit(&txn, err);
}

static enum ipc_status
alias_catchall_del(struct store_db *db, const char *alias,
    struct name_addr *a, char target[NAME_ADDR_MAX + 1],
    struct store_error *err)
{
	struct alias_rec r;
	enum ipc_status st;
	MDB_val k, d;
	MDB_txn *txn;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((st = name_domain(alias + 1, a->domain, err)) != IPC_S_OK)
		return st;
	snprintf(a->full, sizeof(a->full), "@%s", a->domain);
	if ((st = db_begin(db, true, &txn, err)) != IPC_S_OK)
		return st;
	k.mv_size = strlen(a->domain);
	k.mv_data = a->domain;
	if ((rc = mdb_get(txn, db->catchall, &k, &d)) == MDB_NOTFOUND)
		st = db_error(err, IPC_S_NOTFOUND, "no catch-all for %s",
		    a->domain);
	else if (rc != 0 || record_alias_dec(d.mv_data, d.mv_size, &r) == -1)
		st = db_error(err, IPC_S_INTERNAL, "corrupt catch-all");
	else if ((rc = mdb_del(txn, db->catchall, &k, NULL)) != 0)
		st = db_mdb_error(err, rc, "catch-all delete");
	if (st != IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	strlcpy(target, r.target, NAME_ADDR_MAX + 1);
	return db_commit(&txn, err);
}

struct alias_catchall_ctx {
	const char		*target;	/* delete its own, or NULL */
	const char		*domain;	/* list those of it, "" all */
	struct strvec		*aliases, *targets;
	struct strvec		 doomed;
};

static int
alias_catchall_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct alias_catchall_ctx *ctx = arg;
	char name[NAME_DOMAIN_MAX + 2];
	struct alias_rec r;

	if (k->mv_size > NAME_DOMAIN_MAX ||
	    record_alias_dec(v->mv_data, v->mv_size, &r) == -1)
		return 0;
	if (ctx->target != NULL) {
		if (strcmp(r.target, ctx->target) == 0)
			strvec_addn(&ctx->doomed, k->mv_data, k->mv_size);
		return 0;
	}
	if (ctx->domain[0] != '\0' && (strlen(ctx->domain) != k->mv_size ||
	    memcmp(ctx->domain, k->mv_data, k->mv_size) != 0))
		return 0;
	snprintf(name, sizeof(name), "@%.*s", (int)k->mv_size,
	    (const char *)k->mv_data);
	strvec_add(ctx->aliases, name);
	strvec_add(ctx->targets, r.target);
	return 0;
}

enum ipc_status
alias_catchall_del_target_txn(struct store_db *db, MDB_txn *txn,
    const char *target, struct store_error *err)
{
	struct alias_catchall_ctx ctx = { target, "", NULL, NULL,
	    STRVEC_INIT };
	enum ipc_status st;
	MDB_val k;
	size_t i;
	int rc;

	st = db_scan(txn, db->catchall, NULL, 0, alias_catchall_cb, &ctx,
	    err);
	for (i = 0; st == IPC_S_OK && i < ctx.doomed.n; i++) {
		k.mv_size = strlen(ctx.doomed.v[i]);
		k.mv_data = ctx.doomed.v[i];
		if ((rc = mdb_del(txn, db->catchall, &k, NULL)) != 0 &&
		    rc != MDB_NOTFOUND)
			st = db_mdb_error(err, rc, "catch-all delete");
	}
	strvec_clear(&ctx.doomed);
	return st;
}

enum ipc_status
alias_add(struct store_db *db, const char *alias, const char *target,
    uint64_t now, struct name_addr *a, struct name_addr *t,
    struct store_error *err)
{
	enum ipc_status st;
	MDB_txn *txn;

	if (alias[0] == '@')
		return alias_catchall_add(db, alias, target, now, a, t, err);
	if ((st = name_address(alias, a, err)) != IPC_S_OK)
		return st;
	if ((st = name_address(target, t, err)) != IPC_S_OK)
		return st;
	if ((st = db_begin(db, true, &txn, err)) != IPC_S_OK)
		return st;
	st = alias_check_txn(db, txn, a, t, err);
	if (st == IPC_S_OK)
		st = alias_put_txn(db, txn, a, t, now, err);
	if (st != IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	return db_commit(&txn, err);
}

/* Deletes alias a, whose record is r, and its reverse entry. */
static enum ipc_status
alias_del_txn(struct store_db *db, MDB_txn *txn, const struct name_addr *a,
    const struct alias_rec *r, struct store_error *err)
{
	uint8_t key[KEY_ADDR_MAX], tkey[KEY_ADDR_MAX];
	MDB_val k = { key_addr(key, a), key }, tk;
	struct name_addr t;
	int rc;

	if ((rc = mdb_del(txn, db->aliases, &k, NULL)) != 0)
		return db_mdb_error(err, rc, "alias delete");
	if (name_address(r->target, &t, err) != IPC_S_OK)
		return db_error(err, IPC_S_INTERNAL,
		    "corrupt target of alias %s", a->full);
	tk.mv_size = key_addr(tkey, &t);
	tk.mv_data = tkey;
	rc = mdb_del(txn, db->alias_targets, &tk, &k);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "alias delete");
	return IPC_S_OK;
}

enum ipc_status
alias_del(struct store_db *db, const char *alias, struct name_addr *a,
    char target[NAME_ADDR_MAX + 1], struct store_error *err)
{
	struct alias_rec r;
	enum ipc_status st;
	MDB_txn *txn;

	if (alias[0] == '@')
		return alias_catchall_del(db, alias, a, target, err);
	if ((st = name_address(alias, a, err)) != IPC_S_OK)
		return st;
	if ((st = db_begin(db, true, &txn, err)) != IPC_S_OK)
		return st;
	st = alias_get_txn(db, txn, a, &r, err);
	if (st == IPC_S_OK)
		st = alias_del_txn(db, txn, a, &r, err);
	if (st != IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	strlcpy(target, r.target, NAME_ADDR_MAX + 1);
	return db_commit(&txn, err);
}

enum ipc_status
alias_get(struct store_db *db, const char *alias,
    char target[NAME_ADDR_MAX + 1], struct store_error *err)
{
	struct name_addr a;
	struct alias_rec r;
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = name_address(alias, &a, err)) != IPC_S_OK)
		return st;
	if ((st = db_begin(db, false, &txn, err)) != IPC_S_OK)
		return st;
	st = alias_get_txn(db, txn, &a, &r, err);
	db_abort(&txn);
	if (st == IPC_S_OK)
		strlcpy(target, r.target, NAME_ADDR_MAX + 1);
	return st;
}

struct alias_pair {
	char	*alias;
	char	*target;
};

struct alias_list_ctx {
	struct alias_pair	*v;
	size_t			 n, cap;
	int			 bad;
};

static int
alias_list_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct alias_list_ctx *ctx = arg;
	char name[NAME_ADDR_MAX + 1];
	struct alias_rec r;

	if (key_addr_name(k->mv_data, k->mv_size, name, sizeof(name)) == -1 ||
	    record_alias_dec(v->mv_data, v->mv_size, &r) == -1) {
		ctx->bad++;
		return 0;
	}
	if (ctx->n == ctx->cap) {
		ctx->cap = ctx->cap == 0 ? 16 : ctx->cap * 2;
		ctx->v = xreallocarray(ctx->v, ctx->cap, sizeof(*ctx->v));
	}
	ctx->v[ctx->n].alias = xstrdup(name);
	ctx->v[ctx->n++].target = xstrdup(r.target);
	return 0;
}

static int
alias_pair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct alias_pair *)a)->alias,
	    ((const struct alias_pair *)b)->alias);
}

/* Sorts the pairs by alias and moves them into the two lists. */
static void
alias_list_out(struct alias_list_ctx *ctx, struct strvec *aliases,
    struct strvec *targets)
{
	size_t i;

	if (ctx->n > 1)
		qsort(ctx->v, ctx->n, sizeof(*ctx->v), alias_pair_cmp);
	for (i = 0; i < ctx->n; i++) {
		strvec_add(aliases, ctx->v[i].alias);
		strvec_add(targets, ctx->v[i].target);
		free(ctx->v[i].alias);
		free(ctx->v[i].target);
	}
	free(ctx->v);
}

enum ipc_status
alias_list(struct store_db *db, const char *domain, struct strvec *aliases,
    struct strvec *targets, struct store_error *err)
{
	struct alias_list_ctx ctx;
	char canon[NAME_DOMAIN_MAX + 1];
	uint8_t pre[KEY_ADDR_MAX];
	size_t plen = 0;
	enum ipc_status st;
	MDB_txn *txn;

	memset(&ctx, 0, sizeof(ctx));
	if (domain[0] != '\0' &&
	    (st = name_domain(domain, canon, err)) != IPC_S_OK)
		return st;
	if ((st = db_begin(db, false, &txn, err)) != IPC_S_OK)
		return st;
	if (domain[0] != '\0') {
		plen = key_domain_prefix(pre, canon);
		st = domain_exists(db, txn, canon, err);
	}
	if (st == IPC_S_OK)
		st = db_scan(txn, db->aliases, pre, plen, alias_list_cb, &ctx,
		    err);
	if (ctx.bad > 0)
		log_warnx("store corrupt alias records count=%d", ctx.bad);
	alias_list_out(&ctx, aliases, targets);
	if (st == IPC_S_OK) {
		struct alias_catchall_ctx cc = { NULL,
		    domain[0] != '\0' ? canon : "", aliases, targets,
		    STRVEC_INIT };

		st = db_scan(txn, db->catchall, NULL, 0, alias_catchall_cb,
		    &cc, err);
	}
	db_abort(&txn);
	return st;
}

static int
alias_of_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	char name[NAME_ADDR_MAX + 1];

	(void)k;
	if (key_addr_name(v->mv_data, v->mv_size, name, sizeof(name)) == 0)
		strvec_add(arg, name);
	return 0;
}

enum ipc_status
alias_of_txn(struct store_db *db, MDB_txn *txn, const struct name_addr *target,
    struct strvec *out, struct store_error *err)
{
	uint8_t tkey[KEY_ADDR_MAX];
	size_t tlen = key_addr(tkey, target);
	enum ipc_status st;

	st = db_scan_dups(txn, db->alias_targets, tkey, tlen, alias_of_cb,
	    out, err);
	strvec_sort(out);
	return st;
}

enum ipc_status
alias_of(struct store_db *db, const struct name_addr *target,
    struct strvec *out, struct store_error *err)
{
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = db_begin(db, false, &txn, err)) != IPC_S_OK)
		return st;
	st = alias_of_txn(db, txn, target, out, err);
	db_abort(&txn);
	return st;
}

enum ipc_status
alias_del_target_txn(struct store_db *db, MDB_txn *txn,
    const struct name_addr *target, size_t *n_r, struct store_error *err)
{
	uint8_t tkey[KEY_ADDR_MAX];
	MDB_val tk = { key_addr(tkey, target), tkey };
	struct strvec found = STRVEC_INIT;
	struct alias_rec r;
	struct name_addr a;
	enum ipc_status st;
	size_t i;
	int rc;

	*n_r = 0;
	st = db_scan_dups(txn, db->alias_targets, tkey, tk.mv_size,
	    alias_of_cb, &found, err);
	for (i = 0; st == IPC_S_OK && i < found.n; i++) {
		if (name_address(found.v[i], &a, err) != IPC_S_OK)
			continue;
		st = alias_get_txn(db, txn, &a, &r, err);
		if (st == IPC_S_NOTFOUND) {
			st = IPC_S_OK;	/* a stale reverse entry */
			continue;
		}
		if (st == IPC_S_OK &&
		    (st = alias_del_txn(db, txn, &a, &r, err)) == IPC_S_OK)
			(*n_r)++;
	}
	strvec_clear(&found);
	if (st != IPC_S_OK)
		return st;
	rc = mdb_del(txn, db->alias_targets, &tk, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "alias index delete");
	return IPC_S_OK;
}
