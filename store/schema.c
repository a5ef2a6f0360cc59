/* SPDX-License-Identifier: ISC */
/*
 * schema.c: the named databases of the store, the schema version in the
 * meta database, and the table of migration steps run at startup (see
 * schema.h).  A later layout change appends a step { N, ... } here and
 * raises SCHEMA_VERSION; steps are never edited once released.
 */
#include "schema.h"
#include "blob.h"
#include "imap_struct.h"
#include "log.h"
#include "mailbox.h"
#include "msghead.h"
#include "msgrec.h"
#include "wire.h"
#include "xmalloc.h"

#include <time.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Every named database of db.h, with where its handle goes. */
#define SCHEMA_DBI(name, flags)	\
	{ #name, (flags), offsetof(struct store_db, name) }

struct schema_dbi {
	const char	*name;
	unsigned int	 flags;
	size_t		 off;
};

/* The databases of version 1 ... */
static const struct schema_dbi schema_dbis_v1[] = {
	SCHEMA_DBI(meta, 0),
	SCHEMA_DBI(domains, 0),
	SCHEMA_DBI(accounts, 0),
	SCHEMA_DBI(account_ids, 0),
	SCHEMA_DBI(aliases, 0),
	SCHEMA_DBI(alias_targets, MDB_DUPSORT),
};

/* ... and those version 2 added: the mail store. */
static const struct schema_dbi schema_dbis_v2[] = {
	SCHEMA_DBI(mail_state, 0),
	SCHEMA_DBI(mailboxes, 0),
	SCHEMA_DBI(messages, 0),
	SCHEMA_DBI(msgrecs, 0),
	SCHEMA_DBI(mbox_uids, 0),
	SCHEMA_DBI(mbox_dates, 0),
	SCHEMA_DBI(mbox_threads, 0),
	SCHEMA_DBI(threads, 0),
	SCHEMA_DBI(msgids, MDB_DUPSORT | MDB_DUPFIXED),
	SCHEMA_DBI(changes, 0),
	SCHEMA_DBI(vanished, 0),
	SCHEMA_DBI(dups, 0),
	SCHEMA_DBI(blobs, 0),
	SCHEMA_DBI(blob_refs, 0),
	SCHEMA_DBI(catchall, 0),
};

/* ... and those version 3 added: annotations (RFC 5464). */
static const struct schema_dbi schema_dbis_v3[] = {
	SCHEMA_DBI(metadata, 0),
};

/* ... and those version 4 added: subscriptions without a mailbox. */
static const struct schema_dbi schema_dbis_v4[] = {
	SCHEMA_DBI(subscriptions, 0),
};

/* ... and those version 5 added: JMAP uploads. */
static const struct schema_dbi schema_dbis_v5[] = {
	SCHEMA_DBI(uploads, 0),
	SCHEMA_DBI(upload_expiry, 0),
};

/* ... and those version 6 added: JMAP submission. */
static const struct schema_dbi schema_dbis_v6[] = {
	SCHEMA_DBI(identities, 0),
	SCHEMA_DBI(submissions, 0),
	SCHEMA_DBI(relay_queue, 0),
};

/* ... and those version 7 added: JMAP vacation responses. */
static const struct schema_dbi schema_dbis_v7[] = {
	SCHEMA_DBI(vacations, 0),
};

/* ... and those version 8 added: JMAP push subscriptions. */
static const struct schema_dbi schema_dbis_v8[] = {
	SCHEMA_DBI(pushsubs, 0),
};

/* ... and those version 9 added: message blobs kept as files. */
static const struct schema_dbi schema_dbis_v9[] = {
	SCHEMA_DBI(blob_files, 0),
};

/* ... and those version 10 added: FETCH items kept beside the record. */
static const struct schema_dbi schema_dbis_v10[] = {
	SCHEMA_DBI(msgimap, 0),
};

/* ... and those version 11 added: what SEARCH reads of a header. */
static const struct schema_dbi schema_dbis_v11[] = {
	SCHEMA_DBI(msghead, 0),
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static MDB_dbi *
schema_dbi_ptr(struct store_db *db, const struct schema_dbi *d)
{
	return (MDB_dbi *)((char *)db + d->off);
}

/* Opens (with MDB_CREATE: creates) the n databases of table t in txn. */
static int
schema_dbi_open(struct store_db *db, MDB_txn *txn,
    const struct schema_dbi *t, size_t n, unsigned int flags,
    struct store_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = mdb_dbi_open(txn, t[i].name, t[i].flags | flags,
		    schema_dbi_ptr(db, &t[i]));
		if (rc != 0) {
			db_error(err, IPC_S_INTERNAL, "store database %s: %s",
			    t[i].name, mdb_strerror(rc));
			return -1;
		}
	}
	return 0;
}

/* Version 0 -> 1: the databases of db.h, the token key, the id counter. */
static int
schema_step_initial(struct store_db *db, MDB_txn *txn,
    struct store_error *err)
{
	uint8_t key[SCHEMA_TOKEN_KEY_LEN];
	MDB_val k = { strlen(SCHEMA_KEY_TOKEN), SCHEMA_KEY_TOKEN };
	MDB_val d = { sizeof(key), key };
	int rc;

	if (schema_dbi_open(db, txn, schema_dbis_v1, NELEM(schema_dbis_v1),
	    MDB_CREATE, err) == -1)
		return -1;
	randombytes_buf(key, sizeof(key));
	rc = mdb_put(txn, db->meta, &k, &d, MDB_NOOVERWRITE);
	sodium_memzero(key, sizeof(key));
	if (rc != 0) {
		db_mdb_error(err, rc, "token key");
		return -1;
	}
	if (db_put_u64(txn, db->meta, SCHEMA_KEY_NEXT_ID, 1, err) != IPC_S_OK)
		return -1;
	return 0;
}

struct schema_mail_ctx {
	struct store_db		*db;
	MDB_txn			*txn;
	struct store_error	*err;
	uint64_t		 now;
	int			 failed;
	size_t			 n;
};

static int
schema_mail_account_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct schema_mail_ctx *ctx = arg;

	(void)v;
	if (k->mv_size != 8) {
		db_error(ctx->err, IPC_S_INTERNAL, "corrupt account id key");
		ctx->failed = 1;
		return 1;
	}
	if (mailbox_account_init(ctx->db, ctx->txn, wire_be64_get(k->mv_data),
	    ctx->now, ctx->err) != IPC_S_OK) {
		ctx->failed = 1;
		return 1;
	}
	ctx->n++;
	return 0;
}

/*
 * Version 1 -> 2: the databases of the mail store, and the mail state and
 * default mailboxes of every existing account.
 */
static int
schema_step_mail(struct store_db *db, MDB_txn *txn, struct store_error *err)
{
	struct schema_mail_ctx ctx = { db, txn, err, (uint64_t)time(NULL),
	    0, 0 };

	if (schema_dbi_open(db, txn, schema_dbis_v1, NELEM(schema_dbis_v1), 0,
	    err) == -1 || schema_dbi_open(db, txn, schema_dbis_v2,
	    NELEM(schema_dbis_v2), MDB_CREATE, err) == -1)
		return -1;
	if (db_scan(txn, db->account_ids, NULL, 0, schema_mail_account_cb,
	    &ctx, err) != IPC_S_OK || ctx.failed)
		return -1;
	if (ctx.n > 0)
		log_info("store mailboxes created for existing accounts "
		    "count=%zu", ctx.n);
	return 0;
}

/* One mailbox record of step 3, its key and its counters being rebuilt. */
struct schema_mbox {
	uint8_t			 key[12];	/* A mbox */
	struct mailbox_rec	 rec;
};

struct schema_count_ctx {
	struct store_db		*db;
	MDB_txn			*txn;
	struct store_error	*err;
	struct schema_mbox	*v;
	size_t			 n, cap;
	struct message_rec	*m;
	int			 failed;
};

static int
schema_mbox_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct schema_count_ctx *ctx = arg;
	struct schema_mbox *mb;

	if (k->mv_size != sizeof(mb->key)) {
		db_error(ctx->err, IPC_S_INTERNAL, "corrupt mailbox key");
		ctx->failed = 1;
		return 1;
	}
	if (ctx->n == ctx->cap) {
		ctx->cap = ctx->cap == 0 ? 64 : ctx->cap * 2;
		ctx->v = xreallocarray(ctx->v, ctx->cap, sizeof(*ctx->v));
	}
	mb = &ctx->v[ctx->n];
	memcpy(mb->key, k->mv_data, sizeof(mb->key));
	/*
	 * Version 1 records, or version 2 ones that step 2 wrote with this
	 * binary's mailbox_account_init.
	 */
	if (record_mailbox_v1_dec(v->mv_data, v->mv_size, &mb->rec) == -1 &&
	    record_mailbox_dec(v->mv_data, v->mv_size, &mb->rec) == -1) {
		db_error(ctx->err, IPC_S_INTERNAL, "corrupt mailbox record");
		ctx->failed = 1;
		return 1;
	}
	/* Counted again from the messages below. */
	mb->rec.total = mb->rec.unread = mb->rec.deleted = 0;
	mb->rec.size = mb->rec.deleted_size = 0;
	ctx->n++;
	return 0;
}

static int
schema_mbox_cmp(const void *a, const void *b)
{
	return memcmp(((const struct schema_mbox *)a)->key,
	    ((const struct schema_mbox *)b)->key, 12);
}

/* Counts one message (key A email) in each of its mailboxes. */
static int
schema_msg_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct schema_count_ctx *ctx = arg;
	struct schema_mbox want, *mb;
	uint32_t i;

	if (k->mv_size != 16 ||
	    record_message_dec(v->mv_data, v->mv_size, ctx->m) == -1) {
		db_error(ctx->err, IPC_S_INTERNAL, "corrupt message record");
		ctx->failed = 1;
		return 1;
	}
	memcpy(want.key, k->mv_data, 8);
	for (i = 0; i < ctx->m->nmbox; i++) {
		wire_be32_put(want.key + 8, ctx->m->mbox[i].mailbox);
		if ((mb = bsearch(&want, ctx->v, ctx->n, sizeof(*ctx->v),
		    schema_mbox_cmp)) != NULL)
			mailbox_count_msg(&mb->rec, ctx->m->flags,
			    ctx->m->size, 1);
	}
	return 0;
}

/*
 * Version 2 -> 3: every mailbox record becomes version 2, with its size
 * and \Deleted counters (and total and unread, counted again) from one
 * pass over the messages; and the annotations database.
 */
static int
schema_step_counters(struct store_db *db, MDB_txn *txn,
    struct store_error *err)
{
	struct schema_count_ctx ctx = { db, txn, err, NULL, 0, 0, NULL, 0 };
	struct buf b = BUF_INIT;
	MDB_val k, d;
	size_t i;
	int rc = 0;

	if (schema_dbi_open(db, txn, schema_dbis_v1, NELEM(schema_dbis_v1), 0,
	    err) == -1 || schema_dbi_open(db, txn, schema_dbis_v2,
	    NELEM(schema_dbis_v2), 0, err) == -1 || schema_dbi_open(db, txn,
	    schema_dbis_v3, NELEM(schema_dbis_v3), MDB_CREATE, err) == -1)
		return -1;
	ctx.m = xmalloc(sizeof(*ctx.m));
	/* The scan is in key order, so ctx.v is sorted for bsearch. */
	if (db_scan(txn, db->mailboxes, NULL, 0, schema_mbox_cb, &ctx,
	    err) != IPC_S_OK || ctx.failed ||
	    db_scan(txn, db->messages, NULL, 0, schema_msg_cb, &ctx, err) !=
	    IPC_S_OK || ctx.failed)
		goto fail;
	for (i = 0; i < ctx.n; i++) {
		buf_reset(&b);
		record_mailbox_enc(&b, &ctx.v[i].rec);
		k.mv_size = sizeof(ctx.v[i].key);
		k.mv_data = ctx.v[i].key;
		d.mv_size = b.len;
		d.mv_data = b.data;
		if ((rc = mdb_put(txn, db->mailboxes, &k, &d, 0)) != 0) {
			db_mdb_error(err, rc, "mailbox counters");
			goto fail;
		}
	}
	if (ctx.n > 0)
		log_info("store mailbox counters rebuilt count=%zu", ctx.n);
	buf_clear(&b);
	free(ctx.v);
	free(ctx.m);
	return 0;
fail:
	buf_clear(&b);
	free(ctx.v);
	free(ctx.m);
	return -1;
}

/*
 * Version 3 -> 4: the database of subscribed names without a mailbox
 * (subscription.h).  Nothing moves: until now a subscription lived only
 * in its mailbox's record, and it stays there.
 */
static int
schema_step_subscriptions(struct store_db *db, MDB_txn *txn,
    struct store_error *err)
{
	return schema_dbi_open(db, txn, schema_dbis_v4, NELEM(schema_dbis_v4),
	    MDB_CREATE, err);
}

/*
 * Version 4 -> 5: the databases of JMAP uploads (upload.h).  No account
 * has any yet.
 */
static int
schema_step_uploads(struct store_db *db, MDB_txn *txn,
    struct store_error *err)
{
	return schema_dbi_open(db, txn, schema_dbis_v5, NELEM(schema_dbis_v5),
	    MDB_CREATE, err);
}

/*
 * Version 5 -> 6: the databases of JMAP submission (submit.h).  Accounts
 * have no stored identity yet (each shows its built-in one) and nothing
 * is queued.
 */
static int
schema_step_submission(struct store_db *db, MDB_txn *txn,
    struct store_error *err)
{
	return schema_dbi_open(db, txn, schema_dbis_v6, NELEM(schema_dbis_v6),
	    MDB_CREATE, err);
}

/*
 * Version 6 -> 7: the database of JMAP vacation responses (vacation.h).
 * Every account's response is off until set.
 */
static int
schema_step_vacation(struct store_db *db, MDB_txn *txn,
    struct store_error *err)
{
	return schema_dbi_open(db, txn, schema_dbis_v7, NELEM(schema_dbis_v7),
	    MDB_CREATE, err);
}

/*
 * Version 7 -> 8: the databases of JMAP push subscriptions (pushsub.h).
 * Nobody has subscribed yet.
 */
static int
schema_step_pushsub(struct store_db *db, MDB_txn *txn,
    struct store_error *err)
{
	return schema_dbi_open(db, txn, schema_dbis_v8, NELEM(schema_dbis_v8),
	    MDB_CREATE, err);
}

/*
 * Version 8 -> 9: the index of blobs kept as files in blobs/ (blob.h).
 * Every blob so far is in blobs, where it stays.
 */
static int
schema_step_blob_files(struct store_db *db, MDB_txn *txn,
    struct store_error *err)
{
	return schema_dbi_open(db, txn, schema_dbis_v9, NELEM(schema_dbis_v9),
	    MDB_CREATE, err);
}

/*
 * Says, before a step that writes something for every message, how many
 * there are: on a big store it runs a while before the store opens.
 */
static void
schema_announce(MDB_txn *txn, MDB_dbi dbi, const char *what)
{
	MDB_stat st;

	if (mdb_stat(txn, dbi, &st) == 0 && st.ms_entries > 0)
		log_info("store %s: writing those of %zu messages", what,
		    (size_t)st.ms_entries);
}

struct schema_msg_ctx;

/*
 * Builds into ctx->b the value a per-message step writes for the message
 * whose record r opens; false when the message gets none.
 */
typedef bool schema_build_fn(struct schema_msg_ctx *ctx,
    const struct msgrec *r);

struct schema_msg_ctx {
	struct store_db		*db;
	MDB_txn			*txn;
	struct store_error	*err;
	const char		*what;
	MDB_dbi			 dst;
	schema_build_fn		*build;
	struct message_rec	*m;	/* the message's head: hash, size */
	struct buf		 b;
	size_t			 n, skipped;
	int			 failed;
};

/* Writes one message's value into ctx->dst (key A email, its record). */
static int
schema_value_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct schema_msg_ctx *ctx = arg;
	struct msgrec r;
	MDB_val key = *k, d;
	const char *why;
	bool built;
	int rc;

	if (mdb_get(ctx->txn, ctx->db->messages, &key, &d) != 0 ||
	    record_message_head_dec(d.mv_data, d.mv_size, ctx->m) == -1 ||
	    msgrec_open_stored(v->mv_data, v->mv_size, ctx->m->size, &r,
	    &why) == -1) {
		/* Served from its record and bytes, as before. */
		ctx->skipped++;
		return 0;
	}
	buf_reset(&ctx->b);
	built = ctx->build(ctx, &r);
	msgrec_close(&r);
	if (!built) {
		ctx->skipped++;
		return 0;
	}
	d.mv_size = ctx->b.len;
	d.mv_data = ctx->b.data;
	key = *k;
	if ((rc = mdb_put(ctx->txn, ctx->dst, &key, &d, 0)) != 0) {
		db_mdb_error(ctx->err, rc, ctx->what);
		ctx->failed = 1;
		return 1;
	}
	ctx->n++;
	return 0;
}

/*
 * A step that writes into dst, for every stored message, what build
 * makes of it (the tables it reads open already), saying first how many
 * messages there are and after how many got a value.  A message whose
 * record does not open, or for which build makes nothing, gets none:
 * what reads dst falls back to the record and bytes.
 */
static int
schema_per_message(struct store_db *db, MDB_txn *txn, const char *what,
    MDB_dbi dst, schema_build_fn *build, struct store_error *err)
{
	struct schema_msg_ctx ctx = { db, txn, err, what, dst, build, NULL,
	    BUF_INIT, 0, 0, 0 };
	int rc = 0;

	schema_announce(txn, db->msgrecs, what);
	ctx.m = xmalloc(sizeof(*ctx.m));
	ctx.b.nowipe = true;
	if (db_scan(txn, db->msgrecs, NULL, 0, schema_value_cb, &ctx,
	    err) != IPC_S_OK || ctx.failed)
		rc = -1;
	else if (ctx.n + ctx.skipped > 0)
		log_info("store %s written count=%zu without=%zu", what,
		    ctx.n, ctx.skipped);
	buf_clear(&ctx.b);
	free(ctx.m);
	return rc;
}

/* The stored ENVELOPE and BODYSTRUCTURE (lib/imap_struct.h). */
static bool
schema_build_items(struct schema_msg_ctx *ctx, const struct msgrec *r)
{
	return imap_struct_store(&ctx->b, r);
}

/*
 * Version 9 -> 10: the stored ENVELOPE and BODYSTRUCTURE of every
 * message, written from its record, which imapd then sends instead of
 * writing them from the record at every FETCH.  One that is too long,
 * or whose record does not open, has none and is served from its
 * record, as before.
 */
static int
schema_step_msgimap(struct store_db *db, MDB_txn *txn,
    struct store_error *err)
{
	if (schema_dbi_open(db, txn, schema_dbis_v2, NELEM(schema_dbis_v2), 0,
	    err) == -1 || schema_dbi_open(db, txn, schema_dbis_v10,
	    NELEM(schema_dbis_v10), MDB_CREATE, err) == -1)
		return -1;
	return schema_per_message(db, txn, "IMAP items", db->msgimap,
	    schema_build_items, err);
}

/* The msghead entry: envelope 0 and the top-level header of its blob. */
static bool
schema_build_head(struct schema_msg_ctx *ctx, const struct msgrec *r)
{
	struct blob_view bv = { 0 };
	struct store_error e;
	const void *head;
	size_t head_len;
	bool built = false;

	if (blob_view_peek(ctx->db, ctx->txn, ctx->m->hash, &bv, &e) !=
	    IPC_S_OK)
		return false;
	if ((head = blob_view_head(&bv, &head_len)) != NULL)
		built = msghead_build(&ctx->b, r, ctx->m->size, head,
		    head_len);
	blob_view_release(&bv);
	return built;
}

/*
 * Version 10 -> 11: the msghead entry of every message (store/db.h):
 * its envelope 0 and top-level header, which SEARCH's header keys read
 * in email order instead of the record and the message.  One whose
 * entry would be too long, or whose record or blob does not open, has
 * none and is searched as before.
 */
static int
schema_step_msghead(struct store_db *db, MDB_txn *txn,
    struct store_error *err)
{
	if (schema_dbi_open(db, txn, schema_dbis_v1, NELEM(schema_dbis_v1), 0,
	    err) == -1 || schema_dbi_open(db, txn, schema_dbis_v2,
	    NELEM(schema_dbis_v2), 0, err) == -1 ||
	    schema_dbi_open(db, txn, schema_dbis_v9,
	    NELEM(schema_dbis_v9), 0, err) == -1 ||
	    schema_dbi_open(db, txn, schema_dbis_v11, NELEM(schema_dbis_v11),
	    MDB_CREATE, err) == -1)
		return -1;
	return schema_per_message(db, txn, "search headers", db->msghead,
	    schema_build_head, err);
}

static const struct schema_step schema_steps[] = {
	{ 0, "initial layout", schema_step_initial },
	{ 1, "mail store", schema_step_mail },
	{ 2, "mailbox counters and annotations", schema_step_counters },
	{ 3, "subscriptions without a mailbox", schema_step_subscriptions },
	{ 4, "uploads", schema_step_uploads },
	{ 5, "submission", schema_step_submission },
	{ 6, "vacation responses", schema_step_vacation },
	{ 7, "push subscriptions", schema_step_pushsub },
	{ 8, "blob files", schema_step_blob_files },
	{ 9, "stored IMAP items", schema_step_msgimap },
	{ 10, "search headers", schema_step_msghead },
};

/* Opens the meta database, creating it in a new environment. */
static int
schema_open_meta(struct store_db *db, struct store_error *err)
{
	MDB_txn *txn;
	int rc;

	if (db_begin(db, true, &txn, err) != IPC_S_OK)
		return -1;
	if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &db->meta)) != 0) {
		db_abort(&txn);
		db_mdb_error(err, rc, "meta");
		return -1;
	}
	return db_commit(&txn, err) == IPC_S_OK ? 0 : -1;
}

int
schema_version(struct store_db *db, uint32_t *v, struct store_error *err)
{
	enum ipc_status st;
	MDB_txn *txn;
	uint64_t u = 0;

	if (db_begin(db, false, &txn, err) != IPC_S_OK)
		return -1;
	st = db_get_u64(txn, db->meta, SCHEMA_KEY_VERSION, &u, err);
	db_abort(&txn);
	if (st != IPC_S_OK && st != IPC_S_NOTFOUND)
		return -1;
	if (u > UINT32_MAX) {
		db_error(err, IPC_S_INTERNAL, "corrupt schema version");
		return -1;
	}
	*v = (uint32_t)u;
	return 0;
}

/* Runs one step and records the version it reaches, in one transaction. */
static int
schema_step(struct store_db *db, const struct schema_step *s,
    struct store_error *err)
{
	struct timespec t0, t1;
	MDB_txn *txn;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (db_begin(db, true, &txn, err) != IPC_S_OK)
		return -1;
	if (s->run(db, txn, err) == -1 ||
	    db_put_u64(txn, db->meta, SCHEMA_KEY_VERSION, s->from + 1,
	    err) != IPC_S_OK) {
		db_abort(&txn);
		return -1;
	}
	if (db_commit(&txn, err) != IPC_S_OK)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("store schema migrated from=%u to=%u step=\"%s\" secs=%.3f",
	    s->from, s->from + 1, s->what, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

int
schema_run(struct store_db *db, const struct schema_step *steps, size_t n,
    struct store_error *err)
{
	uint32_t v;

	if (schema_open_meta(db, err) == -1 ||
	    schema_version(db, &v, err) == -1)
		return -1;
	if (v > n) {
		db_error(err, IPC_S_INTERNAL, "store schema version %u is "
		    "newer than this storaged knows (%zu)", v, n);
		return -1;
	}
	for (; v < n; v++) {
		if (steps[v].from != v) {
			db_error(err, IPC_S_INTERNAL, "migration table out of "
			    "order at version %u", v);
			return -1;
		}
		if (schema_step(db, &steps[v], err) == -1)
			return -1;
	}
	return (int)n;
}

int
schema_upgrade(struct store_db *db, struct store_error *err)
{
	size_t n = NELEM(schema_steps);

	if (n != SCHEMA_VERSION)
		log_warnx("schema: table has %zu steps for version %d", n,
		    SCHEMA_VERSION);
	return schema_run(db, schema_steps, n, err) == -1 ? -1 : 0;
}

int
schema_upgrade_to(struct store_db *db, uint32_t version,
    struct store_error *err)
{
	if (version > NELEM(schema_steps)) {
		db_error(err, IPC_S_INTERNAL, "no schema version %u", version);
		return -1;
	}
	return schema_run(db, schema_steps, version, err) == -1 ? -1 : 0;
}

/* Which databases each version added. */
static const struct {
	uint32_t		 since;
	const struct schema_dbi	*t;
	size_t			 n;
} schema_tables[] = {
	{ 1, schema_dbis_v1, NELEM(schema_dbis_v1) },
	{ 2, schema_dbis_v2, NELEM(schema_dbis_v2) },
	{ 3, schema_dbis_v3, NELEM(schema_dbis_v3) },
	{ 4, schema_dbis_v4, NELEM(schema_dbis_v4) },
	{ 5, schema_dbis_v5, NELEM(schema_dbis_v5) },
	{ 6, schema_dbis_v6, NELEM(schema_dbis_v6) },
	{ 7, schema_dbis_v7, NELEM(schema_dbis_v7) },
	{ 8, schema_dbis_v8, NELEM(schema_dbis_v8) },
	{ 9, schema_dbis_v9, NELEM(schema_dbis_v9) },
	{ 10, schema_dbis_v10, NELEM(schema_dbis_v10) },
	{ 11, schema_dbis_v11, NELEM(schema_dbis_v11) },
};

int
schema_open_dbis_at(struct store_db *db, uint32_t version,
    struct store_error *err)
{
	MDB_txn *txn;
	size_t i;

	if (db_begin(db, false, &txn, err) != IPC_S_OK)
		return -1;
	for (i = 0; i < NELEM(schema_tables); i++)
		if (schema_tables[i].since <= version &&
		    schema_dbi_open(db, txn, schema_tables[i].t,
		    schema_tables[i].n, 0, err) == -1) {
			db_abort(&txn);
			return -1;
		}
	return db_commit(&txn, err) == IPC_S_OK ? 0 : -1;
}

int
schema_open_dbis(struct store_db *db, struct store_error *err)
{
	return schema_open_dbis_at(db, SCHEMA_VERSION, err);
}

int
schema_stored_version(struct store_db *db, uint32_t *v,
    struct store_error *err)
{
	return schema_open_meta(db, err) == -1 ? -1 :
	    schema_version(db, v, err);
}

int
schema_token_key(struct store_db *db, uint8_t key[SCHEMA_TOKEN_KEY_LEN],
    struct store_error *err)
{
	MDB_val k = { strlen(SCHEMA_KEY_TOKEN), SCHEMA_KEY_TOKEN }, d;
	MDB_txn *txn;
	int rc;

	if (db_begin(db, false, &txn, err) != IPC_S_OK)
		return -1;
	rc = mdb_get(txn, db->meta, &k, &d);
	if (rc == 0 && d.mv_size == SCHEMA_TOKEN_KEY_LEN)
		memcpy(key, d.mv_data, SCHEMA_TOKEN_KEY_LEN);
	db_abort(&txn);
	if (rc != 0 || d.mv_size != SCHEMA_TOKEN_KEY_LEN) {
		db_error(err, IPC_S_INTERNAL, "store token key missing");
		return -1;
	}
	return 0;
}
