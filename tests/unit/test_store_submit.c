/* SPDX-License-Identifier: ISC */
/*
 * test_store_submit.c: JMAP submission in the store (store/submit.h) on a
 * real LMDB environment in a temporary directory, called without IPC:
 * identities (the built-in one, put and delete rules, ids never reused,
 * the limits) and the addresses an account may send as (its own, an
 * alias, a catch-all, not another account's); SUBMIT's checks; the blob
 * kept after the email is destroyed; the relay's queue in due order with
 * a later send_at not taken early; take, lease and take again; done with
 * a retry and for good; cancel only while pending; delete; the change
 * log; listing (newest first, bounded in bytes); the schema step from
 * version 5; the account's purge; the take's DKIM signature (for a From
 * domain with a key only, counted in the size, the stored bytes kept).
 */
/* unit-deps: store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/name.c store/key.c store/record.c store/strvec.c store/domain.c store/account.c store/alias.c store/quota.c store/auth.c store/mailbox.c store/changelog.c store/message.c store/blob.c store/txn.c store/loopwake.c store/recent.c store/changes.c store/submit.c store/submit_queue.c store/submit_auto.c store/submit_dkim.c */
#include "harness.h"
#include "compat.h"
#include "dkim.h"

#include "store/account.h"
#include "store/alias.h"
#include "store/auth.h"
#include "store/blob.h"
#include "store/changes.h"
#include "store/db.h"
#include "store/domain.h"
#include "store/message.h"
#include "store/schema.h"
#include "store/submit.h"
#include "store/submit_dkim.h"
#include "store/txn.h"

#include <sys/mman.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#define MAP_SIZE	(64u << 20)
#define NOW		1700000000ull
#define INBOX		1

static const char msg1[] = "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@example.net>\r\nSubject: One\r\n\r\nFirst.\r\n";
static const char msg2[] = "From: Alice <alice@example.org>\r\n"
    "Subject: Two\r\n\r\nSecond, longer.\r\n";
static const char msg3[] = "From: Bob <bob@example.org>\r\n"
    "Subject: Three\r\n\r\nThird.\r\n";

/*
 * The relay's take as storaged runs it: the write step, then (found) the
 * message written in a read transaction.
 */
static enum ipc_status
take_run(struct store_db *db, struct submit_take *t, struct store_error *err)
{
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = mail_txn_run(db, submit_take_op, t, err)) != IPC_S_OK ||
	    !t->found)
		return st;
	if ((st = db_begin(db, false, &txn, err)) != IPC_S_OK)
		return st;
	st = submit_take_write(db, txn, t, err);
	db_abort(&txn);
	return st;
}

static const char *
fresh_dir(void)
{
	static char path[256];
	static int n;

	snprintf(path, sizeof(path), "%s/submit%d", harness_tmpdir(), n++);
	return path;
}

static int
open_fresh(struct store_db *db)
{
	struct store_error err;

	if (db_open(db, fresh_dir(), MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return -1;
	}
	return 0;
}

/* An account with a cheap hash; its domain is added if missing. */
static uint64_t
add_account(struct store_db *db, const char *name)
{
	char hash[crypto_pwhash_STRBYTES];
	char dom[NAME_DOMAIN_MAX + 1];
	struct store_error err;
	struct name_addr a;
	uint64_t id = 0;

	(void)domain_add(db, strchr(name, '@') + 1, NOW, dom, &err);
	if (auth_hash_password("secret", crypto_pwhash_OPSLIMIT_MIN,
	    crypto_pwhash_MEMLIMIT_MIN, hash) != 0 ||
	    account_check_new(db, name, &a, &err) != IPC_S_OK ||
	    account_add(db, &a, hash, 0, 0, NOW, &id, &err) != IPC_S_OK)
		harness_fail(__FILE__, __LINE__, "add_account %s: %s", name,
		    err.text);
	return id;
}

struct mail {
	struct message_new	 in;
	struct message_result	 out;
};

static enum ipc_status
mail_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail *m = arg;

	return message_append(db, txn, &m->in, &m->out, err);
}

/* Delivers text to acct's inbox; its email id. */
static uint64_t
deliver(struct store_db *db, uint64_t acct, const char *text)
{
	struct store_error err;
	struct mail m;

	memset(&m, 0, sizeof(m));
	m.in.account_id = acct;
	m.in.mailbox_id = INBOX;
	m.in.received = NOW;
	m.in.now = NOW;
	m.in.data = text;
	m.in.size = strlen(text);
	blob_hash(text, m.in.size, m.in.hash);
	m.in.record = "rec";
	m.in.record_len = 3;
	m.in.message_id = "";
	m.in.base_subject = "s";
	if (mail_txn_run(db, mail_apply, &m, &err) != IPC_S_OK) {
		harness_fail(__FILE__, __LINE__, "deliver: %s", err.text);
		return 0;
	}
	return m.out.email_id;
}

struct destroy {
	uint64_t	 acct, email;
};

static enum ipc_status
destroy_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct destroy *d = arg;

	return message_destroy(db, txn, d->acct, d->email, err);
}

static uint64_t
blob_refs_of(struct store_db *db, const char *text)
{
	uint8_t hash[MSG_HASH_LEN];
	struct store_error err;
	struct blob_view bv;
	uint64_t refs = 0;
	MDB_txn *txn;

	blob_hash(text, strlen(text), hash);
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return UINT64_MAX;
	if (blob_view_get(db, txn, hash, &bv, &refs, &err) != IPC_S_OK)
		refs = 0;
	blob_view_release(&bv);
	db_abort(&txn);
	return refs;
}

static size_t
db_entries(struct store_db *db, MDB_dbi dbi)
{
	struct store_error err;
	MDB_txn *txn;
	MDB_stat ms;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return SIZE_MAX;
	if (mdb_stat(txn, dbi, &ms) != 0)
		ms.ms_entries = SIZE_MAX;
	db_abort(&txn);
	return ms.ms_entries;
}

/* --- Identities --- */

static enum ipc_status
ident_put(struct store_db *db, uint64_t acct, uint64_t id, const char *name,
    const char *email, uint64_t *id_r, uint64_t *state_r)
{
	struct submit_ident_op *op;
	struct store_error err;
	enum ipc_status st;

	if ((op = submit_ident_op_new(acct, id, name, email, "", "[]",
	    "-- \nA", "<p>A</p>", &st, &err)) == NULL)
		return st;
	st = mail_txn_run(db, submit_identity_put_op, op, &err);
	if (id_r != NULL)
		*id_r = op->id;
	if (state_r != NULL)
		*state_r = op->state;
	submit_ident_op_free(&op);
	return st;
}

static enum ipc_status
ident_del(struct store_db *db, uint64_t acct, uint64_t id)
{
	struct submit_ident_op op;
	struct store_error err;

	memset(&op, 0, sizeof(op));
	op.account_id = acct;
	op.id = id;
	return mail_txn_run(db, submit_identity_del_op, &op, &err);
}

/* The identities as "id:name:email:may_delete ..." */
static const char *
ident_text(struct store_db *db, uint64_t acct, uint64_t *state_r)
{
	static char out[2048];
	struct submit_identities r;
	struct store_error err;
	MDB_txn *txn;
	size_t i, o = 0;

	out[0] = '\0';
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return "(txn)";
	if (submit_identity_list(db, txn, acct, &r, &err) != IPC_S_OK) {
		db_abort(&txn);
		submit_identities_clear(&r);
		return "(error)";
	}
	db_abort(&txn);
	if (state_r != NULL)
		*state_r = r.state;
	for (i = 0; i < r.n && o < sizeof(out); i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o,
		    "%s%llu:%s:%s:%d", i > 0 ? " " : "",
		    (unsigned long long)r.v[i].id,
		    r.v[i].name, r.v[i].email, r.v[i].may_delete);
	submit_identities_clear(&r);
	return out;
}

static enum ipc_status
may_send(struct store_db *db, uint64_t acct, const char *addr, bool wild)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = db_begin(db, false, &txn, &err)) != IPC_S_OK)
		return st;
	st = submit_may_send_as(db, txn, acct, addr, wild, &err);
	db_abort(&txn);
	return st;
}

/* --- Submissions --- */

static struct submit_new *
make(uint64_t acct, uint64_t ident, uint64_t email, const char *from,
    const char *params, const char **rcpts, size_t n, uint64_t send_at,
    uint64_t now, enum ipc_status *st_r)
{
	struct buf b = BUF_INIT;
	struct wire_strlist l;
	struct store_error err;
	struct submit_new *s;
	size_t i;

	for (i = 0; i < n; i++)
		wire_strlist_add(&b, rcpts[i]);
	l.count = (uint32_t)n;
	l.p = b.data != NULL ? b.data : (const uint8_t *)"";
	l.len = b.len;
	s = submit_new_make(acct, ident, email, from, params, &l, send_at, now,
	    st_r, &err);
	buf_clear(&b);
	return s;
}

/* SUBMIT; the submission's id (0 on failure) and due time. */
static enum ipc_status
submit(struct store_db *db, uint64_t acct, uint64_t ident, uint64_t email,
    const char *from, const char **rcpts, size_t n, uint64_t send_at,
    uint64_t now, uint64_t *id_r, uint64_t *due_r)
{
	struct submit_new *s;
	struct store_error err;
	enum ipc_status st;

	*id_r = 0;
	if ((s = make(acct, ident, email, from, "", rcpts, n, send_at, now,
	    &st)) == NULL)
		return st;
	if ((st = mail_txn_run(db, submit_create_op, s, &err)) == IPC_S_OK) {
		*id_r = s->id;
		if (due_r != NULL)
			*due_r = s->due;
	}
	submit_new_free(&s);
	return st;
}

/*
 * RELAY_TAKE at now into a fresh memfd: "acct/id from rcpt,rcpt|bytes",
 * or "none"; the status in *st_r.
 */
static const char *
take(struct store_db *db, uint64_t now, enum ipc_status *st_r)
{
	static char out[1024];
	char bytes[512];
	struct submit_take t;
	struct store_error err;
	size_t i, o;
	ssize_t n;
	int fd = memfd_create("take", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	memset(&t, 0, sizeof(t));
	t.now = now;
	t.fd = fd;
	*st_r = take_run(db, &t, &err);
	if (*st_r != IPC_S_OK)
		snprintf(out, sizeof(out), "error %s", err.text);
	else if (!t.found)
		snprintf(out, sizeof(out), "none");
	else {
		n = pread(fd, bytes, sizeof(bytes) - 1, 0);
		bytes[n > 0 ? n : 0] = '\0';
		o = (size_t)snprintf(out, sizeof(out), "%llu/%llu %s ",
		    (unsigned long long)t.account_id,
		    (unsigned long long)t.id, t.rec.mail_from);
		for (i = 0; i < t.rcpts.n && o < sizeof(out); i++)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s",
			    i > 0 ? "," : "", t.rcpts.v[i]);
		if (o < sizeof(out))
			snprintf(out + o, sizeof(out) - o, "|%s%s", bytes,
			    (uint64_t)(n > 0 ? n : 0) == t.size ? "" :
			    "(size differs)");
	}
	submit_take_clear(&t);
	close(fd);
	return out;
}

static enum ipc_status
done(struct store_db *db, uint64_t acct, uint64_t id, const char **replies,
    const uint64_t *dlv, size_t n, uint64_t retry_at, uint64_t now,
    uint64_t *requeued_r)
{
	struct buf rb = BUF_INIT, db_ = BUF_INIT;
	struct wire_strlist rl;
	struct wire_u64list dl;
	struct store_error err;
	struct submit_done *d;
	enum ipc_status st;
	size_t i;

	for (i = 0; i < n; i++) {
		wire_strlist_add(&rb, replies[i]);
		wire_u64list_add(&db_, dlv[i]);
	}
	rl.count = dl.count = (uint32_t)n;
	rl.p = rb.data != NULL ? rb.data : (const uint8_t *)"";
	rl.len = rb.len;
	dl.p = db_.data != NULL ? db_.data : (const uint8_t *)"";
	d = submit_done_make(acct, id, &rl, &dl, retry_at, now, &st, &err);
	buf_clear(&rb);
	buf_clear(&db_);
	if (d == NULL)
		return st;
	st = mail_txn_run(db, submit_done_op, d, &err);
	if (requeued_r != NULL)
		*requeued_r = d->requeued;
	submit_done_free(&d);
	return st;
}

static enum ipc_status
id_op(struct store_db *db, mail_apply_fn *fn, uint64_t acct, uint64_t id)
{
	struct submit_id_op op = { acct, id, 0 };
	struct store_error err;

	return mail_txn_run(db, fn, &op, &err);
}

/*
 * The submissions of ids (NULL: all) as
 * "id:undo:send_at-NOW:rcpt=delivered/reply,... ; ..."
 */
static const char *
list_text(struct store_db *db, uint64_t acct, const uint64_t *ids,
    size_t nids)
{
	static char out[4096];
	struct submit_list r;
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;
	size_t i, o = 0;
	uint32_t k;

	out[0] = '\0';
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return "(txn)";
	st = submit_list(db, txn, acct, ids, nids, &r, &err);
	db_abort(&txn);
	if (st != IPC_S_OK) {
		submit_list_clear(&r);
		return "(error)";
	}
	for (i = 0; i < r.n && o < sizeof(out); i++) {
		o += (size_t)snprintf(out + o, sizeof(out) - o,
		    "%s%llu:%u:%lld:", i > 0 ? " ; " : "",
		    (unsigned long long)r.ids[i],
		    r.v[i].undo, (long long)(r.v[i].send_at - NOW));
		for (k = 0; k < r.v[i].nrcpt && o < sizeof(out); k++)
			o += (size_t)snprintf(out + o, sizeof(out) - o,
			    "%s%s=%u/%s", k > 0 ? "," : "", r.v[i].rcpts[k],
			    r.v[i].delivered[k], r.v[i].replies[k]);
	}
	submit_list_clear(&r);
	return out;
}

/* The changes of type since: "c 1 2 u 3 d 4". */
static const char *
changes_text(struct store_db *db, uint64_t acct, enum change_type type,
    uint64_t since)
{
	static char out[512];
	struct store_error err;
	struct changes ch;
	MDB_txn *txn;
	size_t i, o;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return "(txn)";
	if (changes_collect(db, txn, acct, type, since, 0, &ch, &err) !=
	    IPC_S_OK) {
		db_abort(&txn);
		return "(error)";
	}
	db_abort(&txn);
	o = (size_t)snprintf(out, sizeof(out), "c");
	for (i = 0; i < ch.ncreated; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, " %llu",
		    (unsigned long long)ch.created[i]);
	o += (size_t)snprintf(out + o, sizeof(out) - o, " u");
	for (i = 0; i < ch.nupdated; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, " %llu",
		    (unsigned long long)ch.updated[i]);
	o += (size_t)snprintf(out + o, sizeof(out) - o, " d");
	for (i = 0; i < ch.ndestroyed; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, " %llu",
		    (unsigned long long)ch.destroyed[i]);
	changes_clear(&ch);
	return out;
}

static uint64_t
next_due(struct store_db *db)
{
	struct store_error err;
	MDB_txn *txn;
	uint64_t due = 0;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return UINT64_MAX;
	if (submit_next_due(db, txn, &due, &err) != IPC_S_OK)
		due = 0;
	db_abort(&txn);
	return due;
}

/* --- Tests --- */

TEST(test_identity_rules)
{
	char big[SUBMIT_NAME_MAX + 2];
	struct submit_ident_op *op;
	struct store_error err;
	struct store_db db;
	enum ipc_status st;
	uint64_t acct, s0, s1, id = 0;
	int i;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	/* None stored: the built-in one, not deletable. */
	CHECK_STR(ident_text(&db, acct, &s0), "1::alice@example.org:0");
	CHECK_INT(ident_put(&db, acct, 0, "Work", "alice@example.org", &id,
	    &s1), IPC_S_OK);
	CHECK_INT(id, 2);
	CHECK(s1 > s0);
	CHECK_STR(ident_text(&db, acct, &s0),
	    "1::alice@example.org:0 2:Work:alice@example.org:1");
	CHECK_INT(s0, s1);
	/* Id 1 becomes real when stored, and stays undeletable. */
	CHECK_INT(ident_put(&db, acct, 1, "Alice", "alice@example.org", &id,
	    NULL), IPC_S_OK);
	CHECK_INT(id, 1);
	CHECK_STR(ident_text(&db, acct, NULL),
	    "1:Alice:alice@example.org:0 2:Work:alice@example.org:1");
	CHECK_INT(ident_del(&db, acct, 1), IPC_S_DENIED);
	CHECK_INT(ident_del(&db, acct, 2), IPC_S_OK);
	CHECK_INT(ident_del(&db, acct, 2), IPC_S_NOTFOUND);
	CHECK_INT(ident_put(&db, acct, 2, "Again", "alice@example.org", NULL,
	    NULL), IPC_S_NOTFOUND);
	CHECK_INT(ident_put(&db, acct, 9, "Never", "alice@example.org", NULL,
	    NULL), IPC_S_NOTFOUND);
	/* Ids are never reused. */
	CHECK_INT(ident_put(&db, acct, 0, "Home", "alice@example.org", &id,
	    NULL), IPC_S_OK);
	CHECK_INT(id, 3);
	CHECK_STR(ident_text(&db, acct, NULL),
	    "1:Alice:alice@example.org:0 3:Home:alice@example.org:1");
	/* Texts: UTF-8, bounded. */
	CHECK(submit_ident_op_new(acct, 0, "\xff", "alice@example.org", "",
	    "", "", "", &st, &err) == NULL);
	CHECK_INT(st, IPC_S_INVALID);
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(submit_ident_op_new(acct, 0, big, "alice@example.org", "", "",
	    "", "", &st, &err) == NULL);
	CHECK_INT(st, IPC_S_TOOBIG);
	CHECK(submit_ident_op_new(acct, 0, "x", "", "", "", "", "", &st,
	    &err) == NULL);
	CHECK_INT(st, IPC_S_INVALID);
	big[SUBMIT_NAME_MAX] = '\0';
	op = submit_ident_op_new(acct, 0, big, "alice@example.org", "", "",
	    "", "", &st, &err);
	CHECK(op != NULL);
	submit_ident_op_free(&op);
	CHECK(op == NULL);
	/* At most SUBMIT_IDENTITIES_MAX, the built-in one counted. */
	for (i = 2; i < SUBMIT_IDENTITIES_MAX; i++)
		if (ident_put(&db, acct, 0, "n", "alice@example.org", NULL,
		    NULL) != IPC_S_OK)
			break;
	CHECK_INT(i, SUBMIT_IDENTITIES_MAX);
	CHECK_INT(ident_put(&db, acct, 0, "one more", "alice@example.org",
	    NULL, NULL), IPC_S_LIMIT);
	/* Replacing one is still allowed at the limit. */
	CHECK_INT(ident_put(&db, acct, 3, "Home 2", "alice@example.org",
	    NULL, NULL), IPC_S_OK);
	/* Another account sees only its own. */
	CHECK_STR(ident_text(&db, add_account(&db, "bob@example.org"), NULL),
	    "1::bob@example.org:0");
	db_close(&db);
}

TEST(test_identity_addresses)
{
	struct name_addr a, t;
	struct store_error err;
	struct store_db db;
	uint64_t alice, bob;

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	bob = add_account(&db, "bob@example.org");
	(void)add_account(&db, "carol@example.net");
	CHECK_INT(alias_add(&db, "info@example.org", "alice@example.org", NOW,
	    &a, &t, &err), IPC_S_OK);
	CHECK_INT(alias_add(&db, "sales@example.org", "bob@example.org", NOW,
	    &a, &t, &err), IPC_S_OK);
	CHECK_INT(alias_add(&db, "@example.net", "alice@example.org", NOW, &a,
	    &t, &err), IPC_S_OK);
	CHECK_INT(may_send(&db, alice, "alice@example.org", false), IPC_S_OK);
	CHECK_INT(may_send(&db, alice, "Alice@EXAMPLE.org", false), IPC_S_OK);
	CHECK_INT(may_send(&db, alice, "info@example.org", false), IPC_S_OK);
	CHECK_INT(may_send(&db, alice, "anyone@example.net", false),
	    IPC_S_OK);
	CHECK_INT(may_send(&db, alice, "*@example.net", true), IPC_S_OK);
	/* Others' addresses, whatever catches the rest of the domain. */
	CHECK_INT(may_send(&db, alice, "bob@example.org", false),
	    IPC_S_DENIED);
	CHECK_INT(may_send(&db, alice, "sales@example.org", false),
	    IPC_S_DENIED);
	CHECK_INT(may_send(&db, alice, "carol@example.net", false),
	    IPC_S_DENIED);
	CHECK_INT(may_send(&db, alice, "nobody@example.org", false),
	    IPC_S_DENIED);
	CHECK_INT(may_send(&db, alice, "x@elsewhere.example", false),
	    IPC_S_DENIED);
	CHECK_INT(may_send(&db, alice, "*@example.org", true), IPC_S_DENIED);
	/* '*' is atext: without the wildcard, an address like another. */
	CHECK_INT(may_send(&db, alice, "*@example.net", false), IPC_S_OK);
	CHECK_INT(may_send(&db, bob, "*@example.net", true), IPC_S_DENIED);
	CHECK_INT(may_send(&db, alice, "not an address", false),
	    IPC_S_DENIED);
	CHECK_INT(may_send(&db, alice, "", false), IPC_S_DENIED);
	CHECK_INT(may_send(&db, bob, "sales@example.org", false), IPC_S_OK);
	CHECK_INT(may_send(&db, bob, "anyone@example.net", false),
	    IPC_S_DENIED);
	CHECK_INT(may_send(&db, 999, "alice@example.org", false),
	    IPC_S_NOTFOUND);
	/* Identities follow the same rules (forbiddenFrom). */
	CHECK_INT(ident_put(&db, alice, 0, "Info", "info@example.org", NULL,
	    NULL), IPC_S_OK);
	CHECK_INT(ident_put(&db, alice, 0, "All", "*@example.net", NULL,
	    NULL), IPC_S_OK);
	CHECK_INT(ident_put(&db, alice, 0, "Sales", "sales@example.org", NULL,
	    NULL), IPC_S_DENIED);
	CHECK_INT(ident_put(&db, bob, 0, "Sales", "sales@example.org", NULL,
	    NULL), IPC_S_OK);
	CHECK_STR(ident_text(&db, alice, NULL), "1::alice@example.org:0 "
	    "2:Info:info@example.org:1 3:All:*@example.net:1");
	db_close(&db);
}

TEST(test_submit_checks)
{
	static const char *one[] = { "bob@example.net" };
	static const char *dups[] = { "bob@example.net", "carol@example.net",
	    "bob@example.net" };
	static const char *bad[][1] = { { "bob <b>@example.net" },
	    { "<bob@example.net>" }, { "bob" }, { "@example.net" },
	    { "bob@" }, { "bo b@example.net" }, { "bob@exa\tmple.net" },
	    { "b\xffob@example.net" } };
	const char *many[SUBMIT_RCPTS_MAX + 1];
	char addrs[SUBMIT_RCPTS_MAX + 1][32];
	struct submit_new *s;
	struct store_db db;
	enum ipc_status st;
	uint64_t alice, bob, e1, e3, id, due;
	size_t i;

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	bob = add_account(&db, "bob@example.org");
	e1 = deliver(&db, alice, msg1);
	/* Email ids are per account: bob's second has no twin at alice's. */
	(void)deliver(&db, bob, msg2);
	e3 = deliver(&db, bob, msg3);
	/* The request's own checks. */
	CHECK(make(alice, 1, e1, "alice@example.org", "", one, 0, 0, NOW,
	    &st) == NULL);
	CHECK_INT(st, IPC_S_INVALID);
	for (i = 0; i <= SUBMIT_RCPTS_MAX; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "r%zu@example.net", i);
		many[i] = addrs[i];
	}
	CHECK(make(alice, 1, e1, "alice@example.org", "", many,
	    SUBMIT_RCPTS_MAX + 1, 0, NOW, &st) == NULL);
	CHECK_INT(st, IPC_S_INVALID);
	s = make(alice, 1, e1, "alice@example.org", "", many,
	    SUBMIT_RCPTS_MAX, 0, NOW, &st);
	CHECK(s != NULL);
	submit_new_free(&s);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = make(alice, 1, e1, "alice@example.org", "", bad[i], 1, 0,
		    NOW, &st);
		if (s != NULL)
			harness_fail(__FILE__, __LINE__, "taken: %s",
			    bad[i][0]);
		CHECK_INT(st, IPC_S_INVALID);
		submit_new_free(&s);
	}
	CHECK(make(alice, 1, e1, "alice@example.org", "SIZE=10\r\nRSET", one,
	    1, 0, NOW, &st) == NULL);
	CHECK_INT(st, IPC_S_INVALID);
	s = make(alice, 1, e1, "alice@example.org", "SIZE=10 BODY=8BITMIME",
	    dups, 3, 0, NOW, &st);
	CHECK(s != NULL);
	if (s != NULL) {
		CHECK_INT(s->rcpts.n, 2);
		CHECK_STR(s->rcpts.v[1], "carol@example.net");
	}
	submit_new_free(&s);
	/* The store's checks. */
	CHECK_INT(submit(&db, alice, 5, e1, "alice@example.org", one, 1, 0,
	    NOW, &id, NULL), IPC_S_NOTFOUND);
	CHECK_INT(submit(&db, alice, 1, 999, "alice@example.org", one, 1, 0,
	    NOW, &id, NULL), IPC_S_NOTFOUND);
	CHECK_INT(submit(&db, alice, 1, e3, "alice@example.org", one, 1, 0,
	    NOW, &id, NULL), IPC_S_NOTFOUND);
	CHECK_INT(submit(&db, alice, 1, e1, "bob@example.org", one, 1, 0,
	    NOW, &id, NULL), IPC_S_DENIED);
	CHECK_INT(submit(&db, alice, 1, e1, "", one, 1, 0, NOW, &id, NULL),
	    IPC_S_DENIED);
	CHECK_INT(db_entries(&db, db.relay_queue), 0);
	CHECK_INT(blob_refs_of(&db, msg1), 1);
	/* A good one: queued now, the blob shared. */
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", one, 1, 0,
	    NOW, &id, &due), IPC_S_OK);
	CHECK_INT(id, 1);
	CHECK_INT(due, NOW);
	CHECK_INT(blob_refs_of(&db, msg1), 2);
	CHECK_INT(db_entries(&db, db.relay_queue), 1);
	CHECK_STR(list_text(&db, alice, NULL, 0), "1:0:0:bob@example.net=0/");
	/* Bob's list does not show it, nor his take of its id. */
	CHECK_STR(list_text(&db, bob, &id, 1), "");
	CHECK_INT(id_op(&db, submit_cancel_op, bob, id), IPC_S_NOTFOUND);
	CHECK_INT(id_op(&db, submit_del_op, bob, id), IPC_S_NOTFOUND);
	db_close(&db);
}

TEST(test_submit_outlives_email)
{
	static const char *rc[] = { "bob@example.net" };
	struct destroy d;
	struct store_error err;
	struct store_db db;
	enum ipc_status st;
	uint64_t alice, e1, id;
	char want[512];

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	e1 = deliver(&db, alice, msg1);
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1, 0,
	    NOW, &id, NULL), IPC_S_OK);
	d.acct = alice;
	d.email = e1;
	CHECK_INT(mail_txn_run(&db, destroy_apply, &d, &err), IPC_S_OK);
	CHECK_INT(blob_refs_of(&db, msg1), 1);
	snprintf(want, sizeof(want), "%llu/%llu alice@example.org "
	    "bob@example.net|%s", (unsigned long long)alice,
	    (unsigned long long)id, msg1);
	CHECK_STR(take(&db, NOW, &st), want);
	CHECK_INT(st, IPC_S_OK);
	/* Deleting the submission lets the bytes go. */
	CHECK_INT(id_op(&db, submit_del_op, alice, id), IPC_S_OK);
	CHECK_INT(blob_refs_of(&db, msg1), 0);
	CHECK_INT(db_entries(&db, db.blobs), 0);
	CHECK_INT(db_entries(&db, db.blob_files), 0);
	db_close(&db);
}

TEST(test_relay_order)
{
	static const char *rc[] = { "x@example.net" };
	char want[256];
	struct store_db db;
	enum ipc_status st;
	uint64_t alice, bob, e1, e3, later, first, second, third, due;
	int fd;

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	bob = add_account(&db, "bob@example.org");
	e1 = deliver(&db, alice, msg1);
	e3 = deliver(&db, bob, msg3);
	CHECK_STR(take(&db, NOW, &st), "none");
	CHECK_INT(next_due(&db), 0);
	/* Queued in due order, not creation order, across accounts. */
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1,
	    NOW + 100, NOW, &later, &due), IPC_S_OK);
	CHECK_INT(due, NOW + 100);
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1,
	    NOW - 50, NOW + 10, &second, &due), IPC_S_OK);
	CHECK_INT(due, NOW + 10);
	CHECK_INT(submit(&db, bob, 1, e3, "bob@example.org", rc, 1, 0, NOW + 5,
	    &first, NULL), IPC_S_OK);
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1, 0,
	    NOW + 10, &third, NULL), IPC_S_OK);
	CHECK_INT(next_due(&db), NOW + 5);
	CHECK_STR(list_text(&db, alice, NULL, 0),
	    "3:0:10:x@example.net=0/ ; 2:0:10:x@example.net=0/ ; "
	    "1:0:100:x@example.net=0/");
	/* A bad descriptor takes nothing. */
	fd = open("/dev/null", O_RDWR);
	{
		struct submit_take t;
		struct store_error err;

		memset(&t, 0, sizeof(t));
		t.now = NOW + 20;
		t.fd = fd;
		CHECK_INT(mail_txn_run(&db, submit_take_op, &t, &err),
		    IPC_S_INVALID);
		submit_take_clear(&t);
	}
	close(fd);
	snprintf(want, sizeof(want), "%llu/%llu bob@example.org "
	    "x@example.net|%s", (unsigned long long)bob,
	    (unsigned long long)first, msg3);
	CHECK_STR(take(&db, NOW + 20, &st), want);
	snprintf(want, sizeof(want), "%llu/%llu alice@example.org "
	    "x@example.net|%s", (unsigned long long)alice,
	    (unsigned long long)second, msg1);
	CHECK_STR(take(&db, NOW + 20, &st), want);
	snprintf(want, sizeof(want), "%llu/%llu alice@example.org "
	    "x@example.net|%s", (unsigned long long)alice,
	    (unsigned long long)third, msg1);
	CHECK_STR(take(&db, NOW + 20, &st), want);
	/* send_at in the future: not before its time. */
	CHECK_STR(take(&db, NOW + 99, &st), "none");
	CHECK_INT(st, IPC_S_OK);
	CHECK_INT(next_due(&db), NOW + 100);
	snprintf(want, sizeof(want), "%llu/%llu alice@example.org "
	    "x@example.net|%s", (unsigned long long)alice,
	    (unsigned long long)later, msg1);
	CHECK_STR(take(&db, NOW + 100, &st), want);
	db_close(&db);
}

TEST(test_relay_lease_and_done)
{
	static const char *rc[] = { "a@example.net", "b@example.net",
	    "c@example.net" };
	static const char *r3[] = { "250 2.1.5 ok", "450 4.2.0 later",
	    "550 5.1.1 no such user" };
	static const uint64_t d3[] = { 1, 0, 2 };
	static const char *r1[] = { "250 2.0.0 queued as X" };
	static const uint64_t d1[] = { 1 };
	static const uint64_t bad[] = { 4 };
	char want[256], longreply[SUBMIT_REPLY_MAX + 100];
	const char *lr[1] = { longreply };
	struct store_db db;
	enum ipc_status st;
	uint64_t alice, e2, id, requeued, t0, t1 = NOW + SUBMIT_RELAY_LEASE;

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	e2 = deliver(&db, alice, msg2);
	CHECK_INT(submit(&db, alice, 1, e2, "alice@example.org", rc, 3, 0,
	    NOW, &id, NULL), IPC_S_OK);
	/* Not taken: nothing to be done with. */
	CHECK_INT(done(&db, alice, id, r3, d3, 3, 0, NOW, NULL),
	    IPC_S_CONFLICT);
	snprintf(want, sizeof(want), "%llu/%llu alice@example.org "
	    "a@example.net,b@example.net,c@example.net|%s",
	    (unsigned long long)alice, (unsigned long long)id, msg2);
	CHECK_STR(take(&db, NOW, &st), want);
	/* Final now; not cancelable; not taken again during the lease. */
	CHECK_STR(list_text(&db, alice, &id, 1), "1:1:0:a@example.net=0/,"
	    "b@example.net=0/,c@example.net=0/");
	CHECK_INT(id_op(&db, submit_cancel_op, alice, id), IPC_S_CONFLICT);
	CHECK_STR(take(&db, t1 - 1, &st), "none");
	CHECK_INT(next_due(&db), t1);
	/* A relay that died: taken again once the lease passed. */
	CHECK_STR(take(&db, t1, &st), want);
	t0 = t1 + 10;
	/* The lists must match the queued recipients; values are bounded. */
	CHECK_INT(done(&db, alice, id, r1, d1, 1, 0, t0, NULL),
	    IPC_S_CONFLICT);
	CHECK_INT(done(&db, alice, id, r1, bad, 1, 0, t0, NULL),
	    IPC_S_INVALID);
	CHECK_INT(done(&db, alice, id + 1, r3, d3, 3, 0, t0, NULL),
	    IPC_S_NOTFOUND);
	/* One delivered, one to retry, one refused: queued again. */
	CHECK_INT(done(&db, alice, id, r3, d3, 3, t0 + 300, t0, &requeued),
	    IPC_S_OK);
	CHECK_INT(requeued, t0 + 300);
	CHECK_STR(list_text(&db, alice, &id, 1), "1:1:0:a@example.net=1/250 "
	    "2.1.5 ok,b@example.net=0/450 4.2.0 later,c@example.net=2/550 "
	    "5.1.1 no such user");
	/* The late done of the first take finds it not taken. */
	CHECK_INT(done(&db, alice, id, r3, d3, 3, 0, t0, NULL),
	    IPC_S_CONFLICT);
	CHECK_STR(take(&db, t0 + 299, &st), "none");
	snprintf(want, sizeof(want), "%llu/%llu alice@example.org "
	    "b@example.net|%s", (unsigned long long)alice,
	    (unsigned long long)id, msg2);
	CHECK_STR(take(&db, t0 + 300, &st), want);
	/* Done for good (a reply too long is cut), out of the queue. */
	memset(longreply, 'r', sizeof(longreply) - 1);
	longreply[sizeof(longreply) - 1] = '\0';
	memcpy(longreply, "250 ", 4);
	CHECK_INT(done(&db, alice, id, lr, d1, 1, t0 + 600, t0 + 301,
	    &requeued), IPC_S_OK);
	CHECK_INT(requeued, 0);
	CHECK_INT(db_entries(&db, db.relay_queue), 0);
	CHECK_STR(take(&db, t0 + 10000, &st), "none");
	{
		struct submit_list r;
		struct store_error err;
		MDB_txn *txn;

		CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
		CHECK_INT(submit_list(&db, txn, alice, &id, 1, &r, &err),
		    IPC_S_OK);
		db_abort(&txn);
		CHECK_INT(r.n, 1);
		if (r.n == 1) {
			CHECK_INT(strlen(r.v[0].replies[1]), SUBMIT_REPLY_MAX);
			CHECK_INT(r.v[0].delivered[1], SUBMIT_DLV_YES);
			CHECK_INT(r.v[0].undo, SUBMIT_UNDO_FINAL);
		}
		submit_list_clear(&r);
	}
	db_close(&db);
}

TEST(test_cancel_and_delete)
{
	static const char *rc[] = { "x@example.net" };
	static const char *r1[] = { "250 ok" };
	static const uint64_t d1[] = { 1 };
	struct store_db db;
	enum ipc_status st;
	uint64_t alice, e1, a, b, c, ids[4];

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	e1 = deliver(&db, alice, msg1);
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1,
	    NOW + 60, NOW, &a, NULL), IPC_S_OK);
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1,
	    NOW + 60, NOW, &b, NULL), IPC_S_OK);
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1, 0,
	    NOW, &c, NULL), IPC_S_OK);
	CHECK_INT(blob_refs_of(&db, msg1), 4);
	/* Pending: canceled, out of the queue, never taken. */
	CHECK_INT(id_op(&db, submit_cancel_op, alice, a), IPC_S_OK);
	CHECK_INT(id_op(&db, submit_cancel_op, alice, a), IPC_S_CONFLICT);
	CHECK_INT(id_op(&db, submit_cancel_op, alice, 99), IPC_S_NOTFOUND);
	CHECK_INT(db_entries(&db, db.relay_queue), 2);
	/* Final once taken and done: no cancel. */
	(void)take(&db, NOW, &st);
	CHECK_INT(st, IPC_S_OK);
	CHECK_INT(done(&db, alice, c, r1, d1, 1, 0, NOW, NULL), IPC_S_OK);
	CHECK_INT(id_op(&db, submit_cancel_op, alice, c), IPC_S_CONFLICT);
	ids[0] = c;
	ids[1] = 99;
	ids[2] = a;
	ids[3] = b;
	CHECK_STR(list_text(&db, alice, ids, 4), "3:1:0:x@example.net=1/250 "
	    "ok ; 1:2:60:x@example.net=0/ ; 2:0:60:x@example.net=0/");
	/* Deleting a pending one takes it out of the queue too. */
	CHECK_INT(id_op(&db, submit_del_op, alice, b), IPC_S_OK);
	CHECK_INT(id_op(&db, submit_del_op, alice, b), IPC_S_NOTFOUND);
	CHECK_INT(db_entries(&db, db.relay_queue), 0);
	CHECK_STR(take(&db, NOW + 60, &st), "none");
	CHECK_INT(id_op(&db, submit_del_op, alice, a), IPC_S_OK);
	CHECK_INT(id_op(&db, submit_del_op, alice, c), IPC_S_OK);
	CHECK_INT(blob_refs_of(&db, msg1), 1);
	CHECK_STR(list_text(&db, alice, NULL, 0), "");
	/* The counter stays: the next id is new. */
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1, 0,
	    NOW, &a, NULL), IPC_S_OK);
	CHECK_INT(a, 4);
	db_close(&db);
}

TEST(test_change_log)
{
	static const char *rc[] = { "x@example.net" };
	static const char *r1[] = { "250 ok" };
	static const uint64_t d1[] = { 1 };
	struct store_db db;
	enum ipc_status st;
	uint64_t alice, e1, s0, s1, s2, a, b, id;

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	e1 = deliver(&db, alice, msg1);
	(void)ident_text(&db, alice, &s0);
	CHECK_INT(ident_put(&db, alice, 0, "W", "alice@example.org", &id,
	    NULL), IPC_S_OK);
	CHECK_INT(ident_put(&db, alice, 1, "A", "alice@example.org", NULL,
	    NULL), IPC_S_OK);
	CHECK_INT(ident_put(&db, alice, 0, "X", "alice@example.org", NULL,
	    NULL), IPC_S_OK);
	CHECK_INT(ident_del(&db, alice, 3), IPC_S_OK);
	CHECK_STR(changes_text(&db, alice, CHANGE_IDENTITY, s0), "c 2 u 1 d");
	(void)ident_text(&db, alice, &s1);
	CHECK_INT(ident_del(&db, alice, 2), IPC_S_OK);
	CHECK_STR(changes_text(&db, alice, CHANGE_IDENTITY, s1), "c u d 2");
	/* Failures take no modseq. */
	CHECK_INT(ident_del(&db, alice, 2), IPC_S_NOTFOUND);
	(void)ident_text(&db, alice, &s2);
	CHECK_STR(changes_text(&db, alice, CHANGE_IDENTITY, s2), "c u d");
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1, 0,
	    NOW, &a, NULL), IPC_S_OK);
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1,
	    NOW + 5, NOW, &b, NULL), IPC_S_OK);
	CHECK_STR(changes_text(&db, alice, CHANGE_SUBMISSION, s2),
	    "c 1 2 u d");
	CHECK_STR(changes_text(&db, alice, CHANGE_IDENTITY, s2), "c u d");
	(void)ident_text(&db, alice, &s1);
	(void)take(&db, NOW, &st);
	CHECK_STR(changes_text(&db, alice, CHANGE_SUBMISSION, s1), "c u 1 d");
	CHECK_INT(done(&db, alice, a, r1, d1, 1, 0, NOW, NULL), IPC_S_OK);
	CHECK_INT(id_op(&db, submit_cancel_op, alice, b), IPC_S_OK);
	CHECK_STR(changes_text(&db, alice, CHANGE_SUBMISSION, s1),
	    "c u 1 2 d");
	CHECK_INT(id_op(&db, submit_del_op, alice, a), IPC_S_OK);
	CHECK_STR(changes_text(&db, alice, CHANGE_SUBMISSION, s1),
	    "c u 2 d 1");
	/* The emails' log is not touched by any of it. */
	CHECK_STR(changes_text(&db, alice, CHANGE_EMAIL, s0), "c u d");
	db_close(&db);
}

TEST(test_list_all)
{
	static const char *rc[] = { "x@example.net" };
	char want[1024];
	struct store_db db;
	uint64_t alice, e1, id;
	size_t i, o = 0;

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	(void)add_account(&db, "bob@example.org");
	e1 = deliver(&db, alice, msg1);
	for (i = 0; i < 5; i++)
		CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1,
		    0, NOW + i, &id, NULL), IPC_S_OK);
	/* Newest first; the next account's keys and the counter skipped. */
	for (i = 5; i > 0; i--)
		o += (size_t)snprintf(want + o, sizeof(want) - o,
		    "%s%zu:0:%zu:x@example.net=0/", i < 5 ? " ; " : "", i,
		    i - 1);
	CHECK_STR(list_text(&db, alice, NULL, 0), want);
	db_close(&db);
}

/* Submissions with long replies: one list reply holds so many only. */
TEST(test_list_budget)
{
	static char reply[SUBMIT_REPLY_MAX + 1];
	char addrs[SUBMIT_RCPTS_MAX][32];
	const char *rc[SUBMIT_RCPTS_MAX], *rp[SUBMIT_RCPTS_MAX];
	uint64_t dl[SUBMIT_RCPTS_MAX], ids[10];
	struct submit_list r;
	struct store_error err;
	struct store_db db;
	enum ipc_status st;
	MDB_txn *txn;
	uint64_t alice, e1;
	size_t i, per;

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	e1 = deliver(&db, alice, msg1);
	memset(reply, 'r', SUBMIT_REPLY_MAX);
	memcpy(reply, "250 ", 4);
	for (i = 0; i < SUBMIT_RCPTS_MAX; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "r%zu@example.net", i);
		rc[i] = addrs[i];
		rp[i] = reply;
		dl[i] = SUBMIT_DLV_YES;
	}
	per = SUBMIT_RCPTS_MAX * (SUBMIT_REPLY_MAX + 16);
	for (i = 0; i < 10; i++) {
		CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc,
		    SUBMIT_RCPTS_MAX, 0, NOW, &ids[i], NULL), IPC_S_OK);
		(void)take(&db, NOW, &st);
		CHECK_INT(done(&db, alice, ids[i], rp, dl, SUBMIT_RCPTS_MAX,
		    0, NOW, NULL), IPC_S_OK);
	}
	CHECK(10 * per > SUBMIT_LIST_BYTES);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	/* Asked by id: all or an error that says to ask for fewer. */
	CHECK_INT(submit_list(&db, txn, alice, ids, 10, &r, &err),
	    IPC_S_TOOBIG);
	submit_list_clear(&r);
	CHECK_INT(submit_list(&db, txn, alice, ids, 2, &r, &err), IPC_S_OK);
	CHECK_INT(r.n, 2);
	submit_list_clear(&r);
	/* All: the newest that fit. */
	CHECK_INT(submit_list(&db, txn, alice, NULL, 0, &r, &err), IPC_S_OK);
	CHECK(r.n >= SUBMIT_LIST_BYTES / per - 1 && r.n < 10);
	if (r.n > 0)
		CHECK_INT(r.ids[0], ids[9]);
	submit_list_clear(&r);
	db_abort(&txn);
	db_close(&db);
}

TEST(test_schema_step_6)
{
	static const char *rc[] = { "x@example.net" };
	const char *dir = fresh_dir();
	struct store_error err;
	struct store_db db;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint64_t acct, e1, id;
	uint32_t v = 0;

	if (db_env_open(&db, dir, MAP_SIZE, &err) == -1 ||
	    schema_upgrade_to(&db, 5, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "v5: %s", err.text);
		return;
	}
	CHECK_INT(schema_version(&db, &v, &err), 0);
	CHECK_INT(v, 5);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(mdb_dbi_open(txn, "identities", 0, &dbi), MDB_NOTFOUND);
	CHECK_INT(mdb_dbi_open(txn, "submissions", 0, &dbi), MDB_NOTFOUND);
	CHECK_INT(mdb_dbi_open(txn, "relay_queue", 0, &dbi), MDB_NOTFOUND);
	db_abort(&txn);
	db_close(&db);

	if (db_open(&db, dir, MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	CHECK_INT(schema_version(&db, &v, &err), 0);
	CHECK_INT(v, SCHEMA_VERSION);	/* and the later steps */
	CHECK(SCHEMA_VERSION >= 6);
	acct = add_account(&db, "alice@example.org");
	e1 = deliver(&db, acct, msg1);
	CHECK_STR(ident_text(&db, acct, NULL), "1::alice@example.org:0");
	CHECK_INT(submit(&db, acct, 1, e1, "alice@example.org", rc, 1, 0, NOW,
	    &id, NULL), IPC_S_OK);
	db_close(&db);
	/* Opened again: the step does not run twice; the queue is kept. */
	if (db_open(&db, dir, MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	CHECK_INT(next_due(&db), NOW);
	CHECK_STR(list_text(&db, acct, &id, 1), "1:0:0:x@example.net=0/");
	db_close(&db);
}

TEST(test_account_purge)
{
	static const char *rc[] = { "x@example.net" };
	char want[256];
	struct store_error err;
	struct store_db db;
	enum ipc_status st;
	uint64_t alice, bob, e1, e3, id, bid;
	size_t naliases;

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	bob = add_account(&db, "bob@example.org");
	e1 = deliver(&db, alice, msg1);
	e3 = deliver(&db, bob, msg3);
	CHECK_INT(ident_put(&db, alice, 0, "W", "alice@example.org", NULL,
	    NULL), IPC_S_OK);
	CHECK_INT(ident_put(&db, bob, 0, "B", "bob@example.org", NULL, NULL),
	    IPC_S_OK);
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1, 0,
	    NOW, &id, NULL), IPC_S_OK);
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1, 0,
	    NOW, &id, NULL), IPC_S_OK);
	CHECK_INT(submit(&db, bob, 1, e3, "bob@example.org", rc, 1, 0,
	    NOW + 1, &bid, NULL), IPC_S_OK);
	CHECK_INT(blob_refs_of(&db, msg1), 3);
	CHECK_INT(account_del(&db, "alice@example.org", NULL, &naliases,
	    &err), IPC_S_OK);
	/* Alice's bytes went with her email and her submissions. */
	CHECK_INT(blob_refs_of(&db, msg1), 0);
	CHECK_INT(blob_refs_of(&db, msg3), 2);
	/* Bob's identity (and counter), submission (and counter) stay. */
	CHECK_INT(db_entries(&db, db.identities), 2);
	CHECK_INT(db_entries(&db, db.submissions), 2);
	/* Her queue entries wait for the take, which drops them. */
	CHECK_INT(db_entries(&db, db.relay_queue), 3);
	snprintf(want, sizeof(want), "%llu/%llu bob@example.org "
	    "x@example.net|%s", (unsigned long long)bob,
	    (unsigned long long)bid, msg3);
	CHECK_STR(take(&db, NOW + 1, &st), want);
	CHECK_INT(db_entries(&db, db.relay_queue), 1);
	CHECK_STR(take(&db, NOW + 1, &st), "none");
	CHECK_STR(list_text(&db, alice, NULL, 0), "");
	db_close(&db);
}

/* RFC 8463 A.1's Ed25519 key: its signatures are deterministic. */
static const char ed_pem[] =
"-----BEGIN PRIVATE KEY-----\n"
"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
"-----END PRIVATE KEY-----\n";

/*
 * RELAY_TAKE at now with the keys of dk: the memfd's bytes into out, the
 * domain signed for (or "none") into domain, the size taken into *size_r.
 */
static enum ipc_status
take_dkim(struct store_db *db, uint64_t now, const struct submit_dkim *dk,
    struct buf *out, char *domain, size_t dsize, uint64_t *size_r)
{
	struct submit_take t;
	struct store_error err;
	enum ipc_status st;
	ssize_t n;
	int fd = memfd_create("take", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	memset(&t, 0, sizeof(t));
	t.now = now;
	t.fd = fd;
	t.dkim = dk;
	buf_reset(out);
	if ((st = take_run(db, &t, &err)) == IPC_S_OK && t.found) {
		buf_reserve(out, 4096);
		n = pread(fd, buf_tail(out), 4096, 0);
		buf_commit(out, n > 0 ? (size_t)n : 0);
	}
	snprintf(domain, dsize, "%s", t.dkim_domain != NULL ? t.dkim_domain :
	    "none");
	*size_r = t.size;
	submit_take_clear(&t);
	close(fd);
	return st;
}

/* Whether the blob of text's hash holds text. */
static bool
blob_holds(struct store_db *db, const char *text)
{
	uint8_t hash[MSG_HASH_LEN];
	struct store_error err;
	struct blob_view bv;
	MDB_txn *txn;
	bool same;

	blob_hash(text, strlen(text), hash);
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return false;
	same = blob_view_get(db, txn, hash, &bv, NULL, &err) == IPC_S_OK &&
	    bv.len == strlen(text) && memcmp(bv.p, text, bv.len) == 0;
	blob_view_release(&bv);
	db_abort(&txn);
	return same;
}

TEST(test_relay_dkim)
{
	static const char *rc[] = { "x@example.net" };
	static const char other[] = "From: Alice <alice@elsewhere.example>"
	    "\r\nSubject: Four\r\n\r\nFourth.\r\n";
	struct buf got = BUF_INIT, want = BUF_INIT;
	struct submit_dkim dk;
	struct dkim_key *key;
	struct store_db db;
	uint64_t alice, e1, e4, id, size;
	char domain[64], err[256];

	if (open_fresh(&db) == -1)
		return;
	memset(&dk, 0, sizeof(dk));
	CHECK_INT(submit_dkim_add(&dk, "example.org", "sel", ed_pem,
	    strlen(ed_pem), err, sizeof(err)), 0);
	key = dkim_key_load(ed_pem, strlen(ed_pem), err, sizeof(err));
	CHECK(key != NULL);
	alice = add_account(&db, "alice@example.org");
	e1 = deliver(&db, alice, msg1);
	e4 = deliver(&db, alice, other);
	CHECK_INT(submit(&db, alice, 1, e1, "alice@example.org", rc, 1, 0,
	    NOW, &id, NULL), IPC_S_OK);
	CHECK_INT(submit(&db, alice, 1, e4, "alice@example.org", rc, 1, 0,
	    NOW + 1, &id, NULL), IPC_S_OK);
	/* From example.org: the signature made at the take's time first. */
	if (key != NULL)
		CHECK_INT(dkim_sign(key, "example.org", "sel", msg1,
		    strlen(msg1), NOW + 5, &want, err, sizeof(err)), 0);
	buf_append(&want, msg1, strlen(msg1));
	CHECK_INT(take_dkim(&db, NOW + 5, &dk, &got, domain, sizeof(domain),
	    &size), IPC_S_OK);
	CHECK_STR(domain, "example.org");
	CHECK_INT(size, want.len);
	CHECK_INT(got.len, want.len);
	CHECK(got.len == want.len && memcmp(got.data, want.data,
	    got.len) == 0);
	CHECK(got.len > 15 && memcmp(got.data, "DKIM-Signature:", 15) == 0);
	/* From a domain without a key: as stored. */
	CHECK_INT(take_dkim(&db, NOW + 5, &dk, &got, domain, sizeof(domain),
	    &size), IPC_S_OK);
	CHECK_STR(domain, "none");
	CHECK_INT(size, strlen(other));
	CHECK(got.len == strlen(other) && memcmp(got.data, other,
	    got.len) == 0);
	/* Nothing else is due; the stored messages are unchanged. */
	CHECK_INT(take_dkim(&db, NOW + 5, &dk, &got, domain, sizeof(domain),
	    &size), IPC_S_OK);
	CHECK_INT(got.len, 0);
	CHECK(blob_holds(&db, msg1));
	CHECK(blob_holds(&db, other));
	buf_clear(&got);
	buf_clear(&want);
	dkim_key_free(&key);
	submit_dkim_clear(&dk);
	db_close(&db);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_identity_rules),
	TEST_ENTRY(test_identity_addresses),
	TEST_ENTRY(test_submit_checks),
	TEST_ENTRY(test_submit_outlives_email),
	TEST_ENTRY(test_relay_order),
	TEST_ENTRY(test_relay_lease_and_done),
	TEST_ENTRY(test_cancel_and_delete),
	TEST_ENTRY(test_change_log),
	TEST_ENTRY(test_list_all),
	TEST_ENTRY(test_list_budget),
	TEST_ENTRY(test_schema_step_6),
	TEST_ENTRY(test_account_purge),
	TEST_ENTRY(test_relay_dkim),
};

HARNESS_MAIN(tests)
