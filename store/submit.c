/* SPDX-License-Identifier: ISC */
/*
 * submit.c: the identities of JMAP submission (RFC 8621 6; see submit.h),
 * the addresses an account may send as, and the keys, id counters and
 * change-log step that submit_queue.c shares (submit_int.h).  Every write
 * is one apply step of the writer (txn.h) that changes one identity and
 * appends its one change-log entry.
 */
#include "submit.h"
#include "submit_int.h"
#include "account.h"
#include "changelog.h"
#include "charset.h"
#include "compat.h"
#include "key.h"
#include "name.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* The first identity id: 1 is the built-in one. */
#define SUBMIT_IDENT_FIRST	2

/* --- Keys, counters, the change log --- */

MDB_val
submit_key(struct key_mail *k, uint64_t acct, uint64_t id)
{
	key_mail_init(k, acct);
	key_mail_u64(k, id);
	return KEY_MAIL_VAL(k);
}

/* The next id of dbi's counter of acct (first when there is none). */
enum ipc_status
submit_counter_get(MDB_txn *txn, MDB_dbi dbi, uint64_t acct, uint64_t first,
    uint64_t *next_r, struct store_error *err)
{
	struct wire_reader rd;
	struct key_mail k;
	MDB_val kv, d;
	uint8_t v = 0;
	int rc;

	*next_r = first;
	key_mail_init(&k, acct);
	kv = KEY_MAIL_VAL(&k);
	if ((rc = mdb_get(txn, dbi, &kv, &d)) == MDB_NOTFOUND)
		return IPC_S_OK;
	if (rc != 0)
		return db_mdb_error(err, rc, "id counter");
	wire_reader_init(&rd, d.mv_data, d.mv_size);
	if (wire_get_U8(&rd, &v) == 0 && v != RECORD_V1)
		rd.err = "unknown record version";
	wire_get_U64(&rd, next_r);
	if (wire_reader_finish(&rd) == -1 || *next_r < first)
		return db_error(err, IPC_S_INTERNAL, "corrupt id counter");
	return IPC_S_OK;
}

enum ipc_status
submit_counter_put(MDB_txn *txn, MDB_dbi dbi, uint64_t acct, uint64_t next,
    struct store_error *err)
{
	struct buf b = BUF_INIT;
	struct key_mail k;
	MDB_val kv, d;
	int rc;

	wire_put_U8(&b, RECORD_V1);
	wire_put_U64(&b, next);
	key_mail_init(&k, acct);
	kv = KEY_MAIL_VAL(&k);
	d.mv_size = b.len;
	d.mv_data = b.data;
	rc = mdb_put(txn, dbi, &kv, &d, 0);
	buf_clear(&b);
	return rc == 0 ? IPC_S_OK : db_mdb_error(err, rc, "id counter write");
}

/* Appends one change of (type, id) of acct; the new modseq to *state_r. */
enum ipc_status
submit_log(struct store_db *db, MDB_txn *txn, uint64_t acct,
    enum change_type type, enum change_kind kind, uint64_t id,
    uint64_t *state_r, struct store_error *err)
{
	struct mstate_rec s;
	enum ipc_status st;

	if ((st = mstate_get(db, txn, acct, &s, err)) != IPC_S_OK ||
	    (st = changelog_append(db, txn, acct, &s, type, kind, id, state_r,
	    err)) != IPC_S_OK)
		return st;
	return mstate_put(db, txn, acct, &s, err);
}

/* The account's state (modseq), 0 for an account without mail state. */
enum ipc_status
submit_state(struct store_db *db, MDB_txn *txn, uint64_t acct,
    uint64_t *state_r, struct store_error *err)
{
	struct mstate_rec s;
	enum ipc_status st;

	*state_r = 0;
	if ((st = mstate_get(db, txn, acct, &s, err)) == IPC_S_NOTFOUND)
		return IPC_S_OK;
	if (st == IPC_S_OK)
		*state_r = s.modseq;
	return st;
}

/* Copies [p, p + len) into a new string. */
char *
submit_strdup(const char *p, size_t len)
{
	char *s = xmalloc(len + 1);

	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* --- Addresses an account may send as --- */

/* Whether the alias or catch-all record d targets address acct_name. */
static enum ipc_status
submit_targets(const MDB_val *d, const char *acct_name, bool *yes_r,
    struct store_error *err)
{
	struct alias_rec ar;
	struct name_addr t;

	if (record_alias_dec(d->mv_data, d->mv_size, &ar) == -1 ||
	    name_address(ar.target, &t, err) != IPC_S_OK)
		return db_error(err, IPC_S_INTERNAL, "corrupt alias record");
	*yes_r = strcmp(t.full, acct_name) == 0;
	return IPC_S_OK;
}

/* Whether the catch-all of canonical domain dom targets acct_name. */
static enum ipc_status
submit_catchall_is(struct store_db *db, MDB_txn *txn, const char *dom,
    const char *acct_name, bool *yes_r, struct store_error *err)
{
	MDB_val k = { strlen(dom), (void *)dom }, d;
	int rc;

	*yes_r = false;
	if ((rc = mdb_get(txn, db->catchall, &k, &d)) == MDB_NOTFOUND)
		return IPC_S_OK;
	if (rc != 0)
		return db_mdb_error(err, rc, "catch-all lookup");
	return submit_targets(&d, acct_name, yes_r, err);
}

enum ipc_status
submit_may_send_as(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const char *address, bool wildcard, struct store_error *err)
{
	char dom[NAME_DOMAIN_MAX + 1];
	uint8_t key[KEY_ADDR_MAX];
	struct account acc, other;
	struct store_error nerr;
	struct name_addr a;
	enum ipc_status st;
	MDB_val k, d;
	bool yes = false;
	int rc;

	if ((st = account_get_id_txn(db, txn, account_id, &acc, err)) !=
	    IPC_S_OK)
		return st;
	if (wildcard && strncmp(address, "*@", 2) == 0) {
		if (name_domain(address + 2, dom, &nerr) == IPC_S_OK &&
		    (st = submit_catchall_is(db, txn, dom, acc.name, &yes,
		    err)) != IPC_S_OK)
			return st;
		goto out;
	}
	if (name_address(address, &a, &nerr) != IPC_S_OK)
		goto out;
	if (strcmp(a.full, acc.name) == 0)
		return IPC_S_OK;
	/* Another account's address is its own, whatever catches the rest. */
	if ((st = account_get_txn(db, txn, &a, &other, err)) == IPC_S_OK)
		goto out;
	if (st != IPC_S_NOTFOUND)
		return st;
	k.mv_size = key_addr(key, &a);
	k.mv_data = key;
	if ((rc = mdb_get(txn, db->aliases, &k, &d)) == 0) {
		if ((st = submit_targets(&d, acc.name, &yes, err)) != IPC_S_OK)
			return st;
		goto out;
	}
	if (rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "alias lookup");
	if ((st = submit_catchall_is(db, txn, a.domain, acc.name, &yes,
	    err)) != IPC_S_OK)
		return st;
out:
	if (yes)
		return IPC_S_OK;
	return db_error(err, IPC_S_DENIED, "%s may not send as %.*s",
	    acc.name, SUBMIT_ADDR_MAX, address);
}

/* --- Identities --- */

static void
submit_identity_free(struct submit_identity *i)
{
	free(i->name);
	free(i->email);
	free(i->reply_to);
	free(i->bcc);
	free(i->text_sig);
	free(i->html_sig);
	memset(i, 0, sizeof(*i));
}

void
submit_identities_clear(struct submit_identities *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		submit_identity_free(&r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Bytes of an identity's texts, as counted against the account's bound. */
static size_t
submit_identity_bytes(const struct submit_identity *i)
{
	return strlen(i->name) + strlen(i->email) + strlen(i->reply_to) +
	    strlen(i->bcc) + strlen(i->text_sig) + strlen(i->html_sig);
}

static void
submit_identity_enc(struct buf *b, const struct submit_identity *i)
{
	wire_put_U8(b, RECORD_V1);
	wire_put_STR(b, i->name);
	wire_put_STR(b, i->email);
	wire_put_STR(b, i->reply_to);
	wire_put_STR(b, i->bcc);
	wire_put_STR(b, i->text_sig);
	wire_put_STR(b, i->html_sig);
}

/* Decodes an identity record into *i (its strings allocated). */
static int
submit_identity_dec(const void *p, size_t len, uint64_t id,
    struct submit_identity *i)
{
	const char *s[6] = { "", "", "", "", "", "" };
	size_t l[6] = { 0, 0, 0, 0, 0, 0 }, n;
	struct wire_reader rd;
	uint8_t v = 0;

	memset(i, 0, sizeof(*i));
	wire_reader_init(&rd, p, len);
	if (wire_get_U8(&rd, &v) == 0 && v != RECORD_V1)
		return -1;
	for (n = 0; n < 6; n++)
		wire_get_STRN(&rd, &s[n], &l[n]);
	if (wire_reader_finish(&rd) == -1)
		return -1;
	i->id = id;
	i->name = submit_strdup(s[0], l[0]);
	i->email = submit_strdup(s[1], l[1]);
	i->reply_to = submit_strdup(s[2], l[2]);
	i->bcc = submit_strdup(s[3], l[3]);
	i->text_sig = submit_strdup(s[4], l[4]);
	i->html_sig = submit_strdup(s[5], l[5]);
	i->may_delete = id != 1;
	return 0;
}

/* The built-in identity of account address addr. */
static void
submit_identity_builtin(struct submit_identity *i, const char *addr)
{
	memset(i, 0, sizeof(*i));
	i->id = 1;
	i->name = xstrdup("");
	i->email = xstrdup(addr);
	i->reply_to = xstrdup("");
	i->bcc = xstrdup("");
	i->text_sig = xstrdup("");
	i->html_sig = xstrdup("");
	i->may_delete = false;
}

struct submit_ident_scan {
	struct submit_identities *out;	/* NULL: count only */
	size_t			 cap;
	uint64_t		 skip;	/* not counted in bytes (replaced) */
	size_t			 n, bytes;
	bool			 has1, has_skip;
	bool			 bad;
};

static int
submit_ident_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct submit_ident_scan *x = arg;
	struct submit_identity i;
	uint64_t id;

	if (k->mv_size != 16)
		return 0;	/* the account's counter */
	id = wire_be64_get((const uint8_t *)k->mv_data + 8);
	if (submit_identity_dec(v->mv_data, v->mv_size, id, &i) == -1) {
		x->bad = true;
		return 1;
	}
	x->n++;
	if (id == 1)
		x->has1 = true;
	if (id == x->skip)
		x->has_skip = true;
	else
		x->bytes += submit_identity_bytes(&i);
	if (x->out == NULL) {
		submit_identity_free(&i);
		return 0;
	}
	if (x->out->n == x->cap) {
		x->cap = x->cap == 0 ? 8 : x->cap * 2;
		x->out->v = xreallocarray(x->out->v, x->cap,
		    sizeof(*x->out->v));
	}
	x->out->v[x->out->n++] = i;
	return 0;
}

/* Scans the stored identities of acct into *x. */
static enum ipc_status
submit_ident_scan(struct store_db *db, MDB_txn *txn, uint64_t acct,
    struct submit_ident_scan *x, struct store_error *err)
{
	struct key_mail pre;
	enum ipc_status st;

	key_mail_init(&pre, acct);
	if ((st = db_scan(txn, db->identities, pre.b, pre.len,
	    submit_ident_cb, x, err)) != IPC_S_OK)
		return st;
	if (x->bad)
		return db_error(err, IPC_S_INTERNAL, "corrupt identity of "
		    "account %llu", (unsigned long long)acct);
	return IPC_S_OK;
}

enum ipc_status
submit_identity_list(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    struct submit_identities *r, struct store_error *err)
{
	struct submit_ident_scan x;
	struct account acc;
	enum ipc_status st;

	memset(r, 0, sizeof(*r));
	memset(&x, 0, sizeof(x));
	if ((st = account_get_id_txn(db, txn, account_id, &acc, err)) !=
	    IPC_S_OK ||
	    (st = submit_state(db, txn, account_id, &r->state, err)) !=
	    IPC_S_OK)
		return st;
	/* The built-in one first: ids are in order, and it is id 1. */
	r->v = xcalloc(1, sizeof(*r->v));
	x.cap = 1;
	submit_identity_builtin(&r->v[0], acc.name);
	r->n = 1;
	x.out = r;
	x.skip = UINT64_MAX;
	if ((st = submit_ident_scan(db, txn, account_id, &x, err)) !=
	    IPC_S_OK)
		return st;
	if (x.has1) {
		/* Stored: the record replaces the built-in one. */
		submit_identity_free(&r->v[0]);
		memmove(&r->v[0], &r->v[1], (r->n - 1) * sizeof(*r->v));
		r->n--;
	}
	return IPC_S_OK;
}

/* Checks a text of an identity: UTF-8, at most max bytes. */
static enum ipc_status
submit_text_check(const char *what, const char *s, size_t max,
    struct store_error *err)
{
	size_t len = strlen(s);

	if (len > max)
		return db_error(err, IPC_S_TOOBIG, "%s longer than %zu bytes",
		    what, max);
	if (!charset_utf8_valid(s, len))
		return db_error(err, IPC_S_INVALID, "%s is not UTF-8", what);
	return IPC_S_OK;
}

struct submit_ident_op *
submit_ident_op_new(uint64_t account_id, uint64_t id, const char *name,
    const char *email, const char *reply_to, const char *bcc,
    const char *text_sig, const char *html_sig, enum ipc_status *st_r,
    struct store_error *err)
{
	struct submit_ident_op *op;

	if ((*st_r = submit_text_check("name", name, SUBMIT_NAME_MAX,
	    err)) != IPC_S_OK ||
	    (*st_r = submit_text_check("email", email, SUBMIT_ADDR_MAX,
	    err)) != IPC_S_OK ||
	    (*st_r = submit_text_check("replyTo", reply_to, SUBMIT_JSON_MAX,
	    err)) != IPC_S_OK ||
	    (*st_r = submit_text_check("bcc", bcc, SUBMIT_JSON_MAX,
	    err)) != IPC_S_OK ||
	    (*st_r = submit_text_check("textSignature", text_sig,
	    SUBMIT_SIG_MAX, err)) != IPC_S_OK ||
	    (*st_r = submit_text_check("htmlSignature", html_sig,
	    SUBMIT_SIG_MAX, err)) != IPC_S_OK)
		return NULL;
	if (email[0] == '\0') {
		*st_r = db_error(err, IPC_S_INVALID, "no email");
		return NULL;
	}
	op = xcalloc(1, sizeof(*op));
	op->account_id = account_id;
	op->id = id;
	op->in.id = id;
	op->in.name = xstrdup(name);
	op->in.email = xstrdup(email);
	op->in.reply_to = xstrdup(reply_to);
	op->in.bcc = xstrdup(bcc);
	op->in.text_sig = xstrdup(text_sig);
	op->in.html_sig = xstrdup(html_sig);
	op->in.may_delete = id != 1;
	return op;
}

void
submit_ident_op_free(struct submit_ident_op **opp)
{
	struct submit_ident_op *op = *opp;

	*opp = NULL;
	if (op == NULL)
		return;
	submit_identity_free(&op->in);
	free(op);
}

enum ipc_status
submit_identity_put_op(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct submit_ident_op *op = arg;
	struct submit_ident_scan x;
	enum change_kind kind = CHANGE_UPDATED;
	struct buf b = BUF_INIT;
	struct key_mail k;
	enum ipc_status st;
	MDB_val kv, d;
	uint64_t id = op->id, next;
	int rc;

	if ((st = submit_may_send_as(db, txn, op->account_id, op->in.email,
	    true, err)) != IPC_S_OK)
		return st;
	memset(&x, 0, sizeof(x));
	x.skip = id == 0 ? UINT64_MAX : id;
	if ((st = submit_ident_scan(db, txn, op->account_id, &x, err)) !=
	    IPC_S_OK)
		return st;
	if (id == 0) {
		/* The built-in one counts while it is shown. */
		if (x.n + (x.has1 ? 0 : 1) >= SUBMIT_IDENTITIES_MAX)
			return db_error(err, IPC_S_LIMIT, "more than %d "
			    "identities", SUBMIT_IDENTITIES_MAX);
		if ((st = submit_counter_get(txn, db->identities,
		    op->account_id, SUBMIT_IDENT_FIRST, &next, err)) !=
		    IPC_S_OK ||
		    (st = submit_counter_put(txn, db->identities,
		    op->account_id, next + 1, err)) != IPC_S_OK)
			return st;
		id = next;
		kind = CHANGE_CREATED;
	} else if (id != 1 && !x.has_skip)
		return db_error(err, IPC_S_NOTFOUND, "no identity %llu",
		    (unsigned long long)id);
	if (x.bytes + submit_identity_bytes(&op->in) > SUBMIT_IDENTITIES_BYTES)
		return db_error(err, IPC_S_TOOBIG, "identities above %u bytes",
		    SUBMIT_IDENTITIES_BYTES);
	submit_identity_enc(&b, &op->in);
	kv = submit_key(&k, op->account_id, id);
	d.mv_size = b.len;
	d.mv_data = b.data;
	rc = mdb_put(txn, db->identities, &kv, &d, 0);
	buf_clear(&b);
	if (rc != 0)
		return db_mdb_error(err, rc, "identity write");
	op->id = op->in.id = id;
	return submit_log(db, txn, op->account_id, CHANGE_IDENTITY, kind, id,
	    &op->state, err);
}

enum ipc_status
submit_identity_del_op(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct submit_ident_op *op = arg;
	struct key_mail k;
	MDB_val kv;
	int rc = 0;

	if (op->id == 1)
		return db_error(err, IPC_S_DENIED, "the account's own "
		    "identity may not be deleted");
	kv = submit_key(&k, op->account_id, op->id);
	if (op->id == 0 ||
	    (rc = mdb_del(txn, db->identities, &kv, NULL)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no identity %llu",
		    (unsigned long long)op->id);
	if (rc != 0)
		return db_mdb_error(err, rc, "identity delete");
	return submit_log(db, txn, op->account_id, CHANGE_IDENTITY,
	    CHANGE_DESTROYED, op->id, &op->state, err);
}

/* Whether identity id of acct exists (1 always does). */
enum ipc_status
submit_identity_exists(struct store_db *db, MDB_txn *txn, uint64_t acct,
    uint64_t id, struct store_error *err)
{
	struct key_mail k;
	MDB_val kv, d;
	int rc = 0;

	if (id == 1)
		return IPC_S_OK;
	kv = submit_key(&k, acct, id);
	if (id == 0 ||
	    (rc = mdb_get(txn, db->identities, &kv, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no such identity");
	return rc == 0 ? IPC_S_OK : db_mdb_error(err, rc, "identity read");
}

