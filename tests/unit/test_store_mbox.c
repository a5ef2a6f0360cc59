/* SPDX-License-Identifier: ISC */
/*
 * test_store_mbox.c: the mailbox operations of protocol workers
 * (store/mbox_op.c) on a real LMDB environment in a temporary directory:
 * creating with parents, names refused, roles, UIDVALIDITY, deleting (the
 * inbox, children, messages that go and a message that stays elsewhere),
 * renaming a tree and the inbox, subscribing and listing with sizes and
 * unread threads; subscriptions of names without a mailbox
 * (store/subscription.c) through create, delete and rename, and the
 * schema step that added them.
 */
/* unit-deps: store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/name.c store/key.c store/record.c store/strvec.c store/domain.c store/account.c store/alias.c store/quota.c store/auth.c store/mailbox.c store/changelog.c store/message.c store/message_ops.c store/blob.c store/txn.c store/loopwake.c store/mbox_op.c store/subscription.c store/recent.c */
#include "harness.h"
#include "compat.h"
#include "ipc.h"

#include "store/account.h"
#include "store/auth.h"
#include "store/blob.h"
#include "store/changelog.h"
#include "store/db.h"
#include "store/domain.h"
#include "store/key.h"
#include "store/mailbox.h"
#include "store/mbox_op.h"
#include "store/message.h"
#include "store/message_ops.h"
#include "store/record.h"
#include "store/schema.h"
#include "store/subscription.h"
#include "store/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define MAP_SIZE	(64u << 20)
#define NOW		1700000000ull

/* The default mailboxes' ids (mailbox.c's order). */
#define INBOX		1
#define TRASH		4
#define ARCHIVE		6

static const char *
fresh_dir(void)
{
	static char path[256];
	static int n;

	snprintf(path, sizeof(path), "%s/mbox%d", harness_tmpdir(), n++);
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

/* An account with a cheap hash in domain example.org, made at NOW. */
static uint64_t
add_account(struct store_db *db, const char *name)
{
	char hash[crypto_pwhash_STRBYTES];
	char dom[NAME_DOMAIN_MAX + 1];
	struct store_error err;
	struct name_addr a;
	uint64_t id = 0;

	(void)domain_add(db, "example.org", NOW, dom, &err);
	if (auth_hash_password("secret", crypto_pwhash_OPSLIMIT_MIN,
	    crypto_pwhash_MEMLIMIT_MIN, hash) != 0 ||
	    account_check_new(db, name, &a, &err) != IPC_S_OK ||
	    account_add(db, &a, hash, 0, 0, NOW, &id, &err) != IPC_S_OK)
		harness_fail(__FILE__, __LINE__, "add_account %s: %s", name,
		    err.text);
	return id;
}

/* --- Operations, each in its own durable transaction --- */

struct op {
	uint64_t	 acct;
	uint32_t	 id;
	const char	*name, *role;
	uint64_t	 now;
	bool		 on;
	/* Results. */
	uint32_t	 out_id, uidvalidity;
	uint64_t	 modseq;
	struct mbox_made made;
	char		 why[256];
};

/* The parents an op made, as "name(id) ..." (the last made, kept). */
static char made_text[512];

static void
made_note(struct op *o)
{
	size_t i;

	made_text[0] = '\0';
	for (i = 0; i < o->made.names.n; i++) {
		if (i > 0)
			strlcat(made_text, " ", sizeof(made_text));
		strlcat(made_text, o->made.names.v[i], sizeof(made_text));
		snprintf(made_text + strlen(made_text), sizeof(made_text) -
		    strlen(made_text), "(%u)", o->made.ids[i]);
	}
	mbox_made_clear(&o->made);
}

static enum ipc_status
create_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct op *o = arg;

	mbox_made_clear(&o->made);
	return mbox_op_create(db, txn, o->acct, o->name, o->role, o->now,
	    &o->out_id, &o->uidvalidity, &o->made, err);
}

static enum ipc_status
delete_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct op *o = arg;

	return mbox_op_delete(db, txn, o->acct, o->id, &o->modseq, err);
}

static enum ipc_status
rename_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct op *o = arg;

	mbox_made_clear(&o->made);
	return mbox_op_rename(db, txn, o->acct, o->id, o->name, o->now,
	    &o->out_id, &o->modseq, &o->made, err);
}

static enum ipc_status
subscribe_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct op *o = arg;

	return mbox_op_subscribe(db, txn, o->acct, o->id, o->on, err);
}

static enum ipc_status
run(struct store_db *db, mail_apply_fn *fn, struct op *o)
{
	struct store_error err;
	enum ipc_status st;

	err.text[0] = '\0';
	st = mail_txn_run(db, fn, o, &err);
	strlcpy(o->why, err.text, sizeof(o->why));
	return st;
}

static enum ipc_status
create_at(struct store_db *db, uint64_t acct, const char *name,
    const char *role, uint64_t now, uint32_t *id_r)
{
	struct op o = { .acct = acct, .name = name, .role = role,
	    .now = now };
	enum ipc_status st = run(db, create_apply, &o);

	made_note(&o);
	if (id_r != NULL)
		*id_r = st == IPC_S_OK ? o.out_id : 0;
	return st;
}

static enum ipc_status
create(struct store_db *db, uint64_t acct, const char *name, uint32_t *id_r)
{
	return create_at(db, acct, name, "", NOW, id_r);
}

static enum ipc_status
delete(struct store_db *db, uint64_t acct, uint32_t id)
{
	struct op o = { .acct = acct, .id = id };

	return run(db, delete_apply, &o);
}

static enum ipc_status
rename_to(struct store_db *db, uint64_t acct, uint32_t id, const char *name,
    uint32_t *id_r, uint64_t *modseq_r)
{
	struct op o = { .acct = acct, .id = id, .name = name, .now = NOW };
	enum ipc_status st = run(db, rename_apply, &o);

	made_note(&o);
	if (id_r != NULL)
		*id_r = o.out_id;
	if (modseq_r != NULL)
		*modseq_r = o.modseq;
	return st;
}

/* --- Reading back --- */

static bool
get_mailbox(struct store_db *db, uint64_t acct, uint32_t id,
    struct mailbox_rec *mb)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	memset(mb, 0, sizeof(*mb));
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return false;
	st = mailbox_get(db, txn, acct, id, mb, &err);
	db_abort(&txn);
	return st == IPC_S_OK;
}

/* The id of the mailbox named exactly name, or 0. */
static uint32_t
id_of(struct store_db *db, uint64_t acct, const char *name)
{
	struct store_error err;
	struct mbox_list l;
	uint32_t id = 0;
	MDB_txn *txn;
	size_t i;

	memset(&l, 0, sizeof(l));
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return 0;
	if (mbox_op_list(db, txn, acct, true, &l, &err) == IPC_S_OK)
		for (i = 0; i < l.n; i++)
			if (strcmp(l.v[i].rec.name, name) == 0)
				id = l.v[i].id;
	db_abort(&txn);
	mbox_list_clear(&l);
	return id;
}

/* "name(parent) ..." of every mailbox above the defaults, in id order. */
static void
names_after_defaults(struct store_db *db, uint64_t acct, char *out,
    size_t outlen)
{
	struct store_error err;
	struct mbox_list l;
	char one[MAILBOX_NAME_MAX + 32];
	MDB_txn *txn;
	size_t i;

	out[0] = '\0';
	memset(&l, 0, sizeof(l));
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return;
	CHECK_INT(mbox_op_list(db, txn, acct, true, &l, &err), IPC_S_OK);
	db_abort(&txn);
	for (i = 0; i < l.n; i++) {
		if (l.v[i].id <= ARCHIVE)
			continue;
		snprintf(one, sizeof(one), "%s%s(%u)", out[0] != '\0' ? " " :
		    "", l.v[i].rec.name, l.v[i].rec.parent);
		strlcat(out, one, outlen);
	}
	mbox_list_clear(&l);
}

static uint64_t
state_of(struct store_db *db, uint64_t acct)
{
	struct store_error err;
	struct mstate_rec s;
	MDB_txn *txn;

	memset(&s, 0, sizeof(s));
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return 0;
	(void)mstate_get(db, txn, acct, &s, &err);
	db_abort(&txn);
	return s.modseq;
}

/* The last change-log entry of the account, and its modseq. */
struct last_change {
	uint64_t		 modseq;
	struct change_rec	 c;
	size_t			 n;
};

static int
last_change_cb(uint64_t modseq, const struct change_rec *c, void *arg)
{
	struct last_change *l = arg;

	l->modseq = modseq;
	l->c = *c;
	l->n++;
	return 0;
}

static void
changes_since(struct store_db *db, uint64_t acct, uint64_t since,
    struct last_change *l)
{
	struct store_error err;
	MDB_txn *txn;

	memset(l, 0, sizeof(*l));
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return;
	CHECK_INT(changelog_scan(db, txn, acct, since, last_change_cb, l,
	    &err), IPC_S_OK);
	db_abort(&txn);
}

/* --- Messages --- */

struct mail {
	struct message_new	 in;
	struct message_result	 out;
	struct wire_strlist	 irt;
	struct buf		 irtb;
};

static enum ipc_status
mail_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail *m = arg;

	return message_append(db, txn, &m->in, &m->out, err);
}

/*
 * Delivers text into mailbox with flags, replying to in_reply_to (may be
 * NULL); returns the email id, 0 on failure.
 */
static uint64_t
deliver(struct store_db *db, uint64_t acct, uint32_t mbox, const char *text,
    const char *msgid, const char *in_reply_to, uint32_t flags)
{
	struct store_error err;
	struct mail m;
	enum ipc_status st;

	memset(&m, 0, sizeof(m));
	m.in.account_id = acct;
	m.in.mailbox_id = mbox;
	m.in.received = NOW;
	m.in.now = NOW;
	m.in.data = text;
	m.in.size = strlen(text);
	blob_hash(text, m.in.size, m.in.hash);
	m.in.record = "rec";
	m.in.record_len = 3;
	m.in.message_id = msgid;
	m.in.base_subject = "subject";
	m.in.flags = flags;
	m.in.dup_check = true;
	if (in_reply_to != NULL) {
		wire_strlist_add(&m.irtb, in_reply_to);
		m.irt.count = 1;
		m.irt.p = m.irtb.data;
		m.irt.len = m.irtb.len;
		m.in.in_reply_to = &m.irt;
	}
	st = mail_txn_run(db, mail_apply, &m, &err);
	buf_clear(&m.irtb);
	CHECK_INT(st, IPC_S_OK);
	return st == IPC_S_OK ? m.out.email_id : 0;
}

/* Puts email into one more mailbox, as IMAP COPY does. */
struct copy_arg {
	uint64_t	 acct, email;
	uint32_t	 to;
};

static enum ipc_status
copy_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct copy_arg *c = arg;
	struct msgops_mboxes mbs;
	struct message_rec m;
	struct mstate_rec s;
	enum ipc_status st;
	uint32_t uid;

	memset(&mbs, 0, sizeof(mbs));
	msgops_mboxes_add(&mbs, c->to);
	if ((st = mstate_get(db, txn, c->acct, &s, err)) != IPC_S_OK ||
	    (st = message_get(db, txn, c->acct, c->email, &m, err)) !=
	    IPC_S_OK ||
	    (st = msgops_link(db, txn, c->acct, c->email, &m, c->to, &uid,
	    err)) != IPC_S_OK ||
	    (st = msgops_touch(db, txn, c->acct, &s, c->email, &m, c->to,
	    NULL, err)) != IPC_S_OK ||
	    (st = msgops_put(db, txn, c->acct, c->email, &m, err)) !=
	    IPC_S_OK ||
	    (st = msgops_mboxes_commit(db, txn, c->acct, &s, &mbs, err)) !=
	    IPC_S_OK)
		goto out;
	st = mstate_put(db, txn, c->acct, &s, err);
out:
	msgops_mboxes_clear(&mbs);
	return st;
}

static void
copy(struct store_db *db, uint64_t acct, uint64_t email, uint32_t to)
{
	struct copy_arg c = { acct, email, to };
	struct store_error err;

	CHECK_INT(mail_txn_run(db, copy_apply, &c, &err), IPC_S_OK);
}

static bool
get_message(struct store_db *db, uint64_t acct, uint64_t email,
    struct message_rec *m)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return false;
	st = message_get(db, txn, acct, email, m, &err);
	db_abort(&txn);
	return st == IPC_S_OK;
}

static uint64_t
used_messages(struct store_db *db, const char *name)
{
	struct store_error err;
	struct account acc;

	if (account_get(db, name, &acc, &err) != IPC_S_OK)
		return 0;
	return acc.rec.used_messages;
}

/* The UIDs of a mailbox, "1 2 3". */
static int
uids_cb(uint32_t uid, uint64_t email_id, uint64_t modseq, void *arg)
{
	char one[16];

	(void)email_id;
	(void)modseq;
	snprintf(one, sizeof(one), "%s%u", ((char *)arg)[0] != '\0' ? " " :
	    "", uid);
	strlcat(arg, one, 256);
	return 0;
}

static void
uids_of(struct store_db *db, uint64_t acct, uint32_t mbox, char out[256])
{
	struct store_error err;
	MDB_txn *txn;

	out[0] = '\0';
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return;
	CHECK_INT(message_scan_uids(db, txn, acct, mbox, 0, uids_cb, out,
	    &err), IPC_S_OK);
	db_abort(&txn);
}

/* Entries of dbi under the account and mailbox. */
static size_t
count_range(struct store_db *db, MDB_dbi dbi, uint64_t acct, uint32_t mbox)
{
	struct store_error err;
	struct key_mail pre;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, d;
	size_t n = 0;
	int rc;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return 0;
	key_mail_init(&pre, acct);
	key_mail_u32(&pre, mbox);
	k = KEY_MAIL_VAL(&pre);
	if (mdb_cursor_open(txn, dbi, &cur) == 0) {
		for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0 &&
		    key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len);
		    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
			n++;
		mdb_cursor_close(cur);
	}
	db_abort(&txn);
	return n;
}

/* --- Tests --- */

TEST(test_name_check)
{
	char big[MAILBOX_NAME_MAX + 2];

	CHECK(mbox_op_name_check("Work") == NULL);
	CHECK(mbox_op_name_check("Work/2024/Q1") == NULL);
	CHECK(mbox_op_name_check("Entw\xc3\xbcrfe") == NULL);
	CHECK(mbox_op_name_check("a b*%") == NULL);
	CHECK_STR(mbox_op_name_check(""), "empty mailbox name");
	CHECK_STR(mbox_op_name_check("/a"), "mailbox name has an empty level");
	CHECK_STR(mbox_op_name_check("a/"), "mailbox name has an empty level");
	CHECK_STR(mbox_op_name_check("a//b"),
	    "mailbox name has an empty level");
	CHECK_STR(mbox_op_name_check("/"), "mailbox name has an empty level");
	CHECK_STR(mbox_op_name_check("a\tb"),
	    "mailbox name has a control character");
	CHECK_STR(mbox_op_name_check("a\x7f"),
	    "mailbox name has a control character");
	/* U+0085 NEL, a C1 control. */
	CHECK_STR(mbox_op_name_check("a\xc2\x85"),
	    "mailbox name has a control character");
	CHECK(mbox_op_name_check("a\xc2\xa0") == NULL);	/* U+00A0 */
	CHECK_STR(mbox_op_name_check("a\xff"), "mailbox name is not UTF-8");
	CHECK_STR(mbox_op_name_check("\xc0\xaf"), "mailbox name is not UTF-8");
	CHECK_STR(mbox_op_name_check("\xed\xa0\x80"),
	    "mailbox name is not UTF-8");	/* a surrogate */
	memset(big, 'x', MAILBOX_NAME_MAX);
	big[MAILBOX_NAME_MAX] = '\0';
	CHECK(mbox_op_name_check(big) == NULL);
	big[MAILBOX_NAME_MAX] = 'x';
	big[MAILBOX_NAME_MAX + 1] = '\0';
	CHECK_STR(mbox_op_name_check(big), "mailbox name too long");

	CHECK(mbox_op_role_known(""));
	CHECK(mbox_op_role_known(NULL));
	CHECK(mbox_op_role_known("flagged"));
	CHECK(mbox_op_role_known("important"));
	CHECK(!mbox_op_role_known("Trash"));
	CHECK(!mbox_op_role_known("spam"));
}

TEST(test_create_with_parents)
{
	struct store_db db;
	struct mailbox_rec mb;
	struct last_change lc;
	char names[1024];
	uint64_t acct, before;
	uint32_t id, a, ab;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	before = state_of(&db, acct);
	CHECK_INT(before, 6);
	CHECK_INT(create(&db, acct, "a/b/c", &id), IPC_S_OK);
	CHECK_INT(id, 9);
	/* The parents made, outermost first, for NOTIFY (RFC 5465 5.4). */
	CHECK_STR(made_text, "a(7) a/b(8)");
	names_after_defaults(&db, acct, names, sizeof(names));
	CHECK_STR(names, "a(0) a/b(7) a/b/c(8)");
	a = id_of(&db, acct, "a");
	ab = id_of(&db, acct, "a/b");
	CHECK_INT(a, 7);
	CHECK_INT(ab, 8);
	CHECK(get_mailbox(&db, acct, id, &mb));
	CHECK_STR(mb.role, "");
	CHECK(!mb.subscribed);
	CHECK_INT(mb.uidnext, 1);
	CHECK_INT(mb.total, 0);
	CHECK_INT(mb.created, NOW);
	CHECK_INT(mb.highestmodseq, 9);
	/* One "mailbox created" each, parents first. */
	changes_since(&db, acct, before, &lc);
	CHECK_INT(lc.n, 3);
	CHECK_INT(lc.modseq, 9);
	CHECK_INT(lc.c.type, CHANGE_MAILBOX);
	CHECK_INT(lc.c.kind, CHANGE_CREATED);
	CHECK_INT(lc.c.id, 9);
	CHECK_INT(state_of(&db, acct), 9);

	/* An existing parent is reused; a sibling is made under it. */
	CHECK_INT(create(&db, acct, "a/b/d", &id), IPC_S_OK);
	CHECK_INT(id, 10);
	CHECK_STR(made_text, "");
	names_after_defaults(&db, acct, names, sizeof(names));
	CHECK_STR(names, "a(0) a/b(7) a/b/c(8) a/b/d(8)");
	CHECK_INT(state_of(&db, acct), 10);
	db_close(&db);
}

TEST(test_create_refused)
{
	struct store_db db;
	struct mailbox_rec mb;
	char big[MAILBOX_NAME_MAX + 2];
	uint64_t acct, before;
	uint32_t id;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	CHECK_INT(create(&db, acct, "Work", &id), IPC_S_OK);
	before = state_of(&db, acct);
	CHECK_INT(create(&db, acct, "Work", NULL), IPC_S_EXISTS);
	CHECK_INT(create(&db, acct, "Sent", NULL), IPC_S_EXISTS);
	/* Case matters, except for INBOX. */
	CHECK_INT(create(&db, acct, "INBOX", NULL), IPC_S_EXISTS);
	CHECK_INT(create(&db, acct, "inbox", NULL), IPC_S_EXISTS);
	CHECK_INT(create(&db, acct, "Inbox", NULL), IPC_S_EXISTS);
	CHECK_INT(create(&db, acct, "", NULL), IPC_S_INVALID);
	CHECK_INT(create(&db, acct, "a//b", NULL), IPC_S_INVALID);
	CHECK_INT(create(&db, acct, "/a", NULL), IPC_S_INVALID);
	CHECK_INT(create(&db, acct, "a/", NULL), IPC_S_INVALID);
	CHECK_INT(create(&db, acct, "a\nb", NULL), IPC_S_INVALID);
	CHECK_INT(create(&db, acct, "a\xc3", NULL), IPC_S_INVALID);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(create(&db, acct, big, NULL), IPC_S_INVALID);
	/* Nothing was written by the refusals, not even a parent. */
	CHECK_INT(state_of(&db, acct), before);
	CHECK_INT(id_of(&db, acct, "a"), 0);

	CHECK_INT(create(&db, acct, "work", &id), IPC_S_OK);
	CHECK_INT(id, 8);
	/* INBOX/x is a child of the inbox, whatever the case. */
	CHECK_INT(create(&db, acct, "iNbOx/Lists", &id), IPC_S_OK);
	CHECK(get_mailbox(&db, acct, id, &mb));
	CHECK_STR(mb.name, "Inbox/Lists");
	CHECK_INT(mb.parent, INBOX);
	CHECK_INT(create(&db, acct, "INBOX/Lists", NULL), IPC_S_EXISTS);
	/* A name of exactly MAILBOX_NAME_MAX bytes is taken. */
	big[MAILBOX_NAME_MAX] = '\0';
	CHECK_INT(create(&db, acct, big, NULL), IPC_S_OK);
	db_close(&db);
}

TEST(test_create_roles)
{
	struct store_db db;
	struct mailbox_rec mb;
	uint64_t acct;
	uint32_t id;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	CHECK_INT(create_at(&db, acct, "Stars/Flagged", "flagged", NOW, &id),
	    IPC_S_OK);
	CHECK(get_mailbox(&db, acct, id, &mb));
	CHECK_STR(mb.role, "flagged");
	/* The parent made on the way has no role. */
	CHECK(get_mailbox(&db, acct, mb.parent, &mb));
	CHECK_STR(mb.name, "Stars");
	CHECK_STR(mb.role, "");
	CHECK_INT(create_at(&db, acct, "Flagged2", "flagged", NOW, NULL),
	    IPC_S_EXISTS);
	CHECK_INT(create_at(&db, acct, "Bin", "trash", NOW, NULL),
	    IPC_S_EXISTS);
	CHECK_INT(create_at(&db, acct, "Box", "inbox", NOW, NULL),
	    IPC_S_EXISTS);
	CHECK_INT(create_at(&db, acct, "Spam", "spam", NOW, NULL),
	    IPC_S_INVALID);
	CHECK_INT(create_at(&db, acct, "All mail", "all", NOW, NULL),
	    IPC_S_OK);
	CHECK_INT(id_of(&db, acct, "Flagged2"), 0);
	db_close(&db);
}

TEST(test_uidvalidity)
{
	struct store_db db;
	struct mailbox_rec mb;
	uint64_t acct;
	uint32_t a, b, c, d;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	CHECK(get_mailbox(&db, acct, INBOX, &mb));
	CHECK_INT(mb.uidvalidity, NOW);
	/* Same second as the defaults: one above the highest in use. */
	CHECK_INT(create(&db, acct, "a", &a), IPC_S_OK);
	CHECK(get_mailbox(&db, acct, a, &mb));
	CHECK_INT(mb.uidvalidity, NOW + 1);
	CHECK_INT(create(&db, acct, "b/c", &c), IPC_S_OK);
	b = id_of(&db, acct, "b");
	CHECK(get_mailbox(&db, acct, b, &mb));
	CHECK_INT(mb.uidvalidity, NOW + 2);
	CHECK(get_mailbox(&db, acct, c, &mb));
	CHECK_INT(mb.uidvalidity, NOW + 3);
	/* Later: the clock. */
	CHECK_INT(create_at(&db, acct, "d", "", NOW + 100, &d), IPC_S_OK);
	CHECK(get_mailbox(&db, acct, d, &mb));
	CHECK_INT(mb.uidvalidity, NOW + 100);
	/* Deleted and made again, with another value. */
	CHECK_INT(delete(&db, acct, a), IPC_S_OK);
	CHECK_INT(create_at(&db, acct, "a", "", NOW + 100, &a), IPC_S_OK);
	CHECK(get_mailbox(&db, acct, a, &mb));
	CHECK_INT(mb.uidvalidity, NOW + 101);
	db_close(&db);
}

TEST(test_delete_refused)
{
	struct store_db db;
	struct mailbox_rec mb;
	uint64_t acct, before;
	uint32_t c;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	CHECK_INT(create(&db, acct, "a/b/c", &c), IPC_S_OK);
	before = state_of(&db, acct);
	CHECK_INT(delete(&db, acct, INBOX), IPC_S_DENIED);
	CHECK_INT(delete(&db, acct, id_of(&db, acct, "a")),
	    IPC_S_HASCHILDREN);
	CHECK_INT(delete(&db, acct, id_of(&db, acct, "a/b")),
	    IPC_S_HASCHILDREN);
	CHECK_INT(delete(&db, acct, 999), IPC_S_NOTFOUND);
	CHECK_INT(state_of(&db, acct), before);
	/* Leaf first, then up. */
	CHECK_INT(delete(&db, acct, c), IPC_S_OK);
	CHECK(!get_mailbox(&db, acct, c, &mb));
	CHECK_INT(delete(&db, acct, id_of(&db, acct, "a/b")), IPC_S_OK);
	CHECK_INT(delete(&db, acct, id_of(&db, acct, "a")), IPC_S_OK);
	CHECK_INT(id_of(&db, acct, "a"), 0);
	CHECK_INT(delete(&db, acct, TRASH), IPC_S_OK);
	CHECK(get_mailbox(&db, acct, INBOX, &mb));
	db_close(&db);
}

TEST(test_delete_messages)
{
	struct store_db db;
	struct mailbox_rec mb;
	struct message_rec m;
	struct last_change lc;
	struct op o;
	char uids[256];
	uint64_t acct, e1, e2, e3, before;
	uint32_t box;
	uint8_t h1[MSG_HASH_LEN];
	struct blob_view bv;
	uint64_t refs;
	MDB_txn *txn;
	struct store_error err;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	CHECK_INT(create(&db, acct, "Box", &box), IPC_S_OK);
	e1 = deliver(&db, acct, box, "one\r\n", "<1@x>", NULL, 0);
	e2 = deliver(&db, acct, box, "two\r\n", "<2@x>", NULL, 0);
	e3 = deliver(&db, acct, box, "three\r\n", "<3@x>", NULL, MSG_F_SEEN);
	copy(&db, acct, e2, ARCHIVE);
	CHECK_INT(used_messages(&db, "alice@example.org"), 3);
	CHECK(get_mailbox(&db, acct, box, &mb));
	CHECK_INT(mb.total, 3);
	CHECK(get_mailbox(&db, acct, ARCHIVE, &mb));
	CHECK_INT(mb.total, 1);
	before = state_of(&db, acct);

	memset(&o, 0, sizeof(o));
	o.acct = acct;
	o.id = box;
	CHECK_INT(run(&db, delete_apply, &o), IPC_S_OK);
	CHECK(!get_mailbox(&db, acct, box, &mb));
	/* e1 and e3 were only there: destroyed, their blobs released. */
	CHECK(!get_message(&db, acct, e1, &m));
	CHECK(!get_message(&db, acct, e3, &m));
	CHECK_INT(used_messages(&db, "alice@example.org"), 1);
	blob_hash("one\r\n", 5, h1);
	refs = 0;
	if (db_begin(&db, false, &txn, &err) == IPC_S_OK) {
		CHECK_INT(blob_view_get(&db, txn, h1, &bv, &refs, &err),
		    IPC_S_NOTFOUND);
		db_abort(&txn);
	}
	/* e2 stays, in the archive only, with its UID there. */
	CHECK(get_message(&db, acct, e2, &m));
	CHECK_INT(m.nmbox, 1);
	CHECK_INT(m.mbox[0].mailbox, ARCHIVE);
	CHECK_INT(m.mbox[0].uid, 1);
	CHECK(get_mailbox(&db, acct, ARCHIVE, &mb));
	CHECK_INT(mb.total, 1);
	CHECK_INT(mb.unread, 1);
	uids_of(&db, acct, ARCHIVE, uids);
	CHECK_STR(uids, "1");
	/* Nothing of the mailbox is left in its indexes. */
	CHECK_INT(count_range(&db, db.mbox_uids, acct, box), 0);
	CHECK_INT(count_range(&db, db.mbox_dates, acct, box), 0);
	CHECK_INT(count_range(&db, db.mbox_threads, acct, box), 0);
	CHECK_INT(count_range(&db, db.vanished, acct, box), 0);
	CHECK_INT(count_range(&db, db.dups, acct, box), 0);
	/* The last entry is the mailbox's destruction, at o.modseq. */
	changes_since(&db, acct, before, &lc);
	CHECK(lc.n >= 1);
	CHECK_INT(lc.modseq, o.modseq);
	CHECK_INT(lc.c.type, CHANGE_MAILBOX);
	CHECK_INT(lc.c.kind, CHANGE_DESTROYED);
	CHECK_INT(lc.c.id, box);
	CHECK_INT(state_of(&db, acct), o.modseq);
	db_close(&db);
}

TEST(test_rename_tree)
{
	struct store_db db;
	struct mailbox_rec mb;
	struct last_change lc;
	char names[1024];
	uint64_t acct, before, ims;
	uint32_t a, c, id, x;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	CHECK_INT(create(&db, acct, "a/b/c", &c), IPC_S_OK);
	CHECK_INT(create(&db, acct, "ab", NULL), IPC_S_OK);
	a = id_of(&db, acct, "a");
	before = state_of(&db, acct);
	ims = 1;
	CHECK_INT(rename_to(&db, acct, a, "x/y", &id, &ims), IPC_S_OK);
	CHECK_INT(id, a);
	CHECK_INT(ims, 0);
	x = id_of(&db, acct, "x");
	CHECK_INT(x, 11);
	CHECK_STR(made_text, "x(11)");
	/* "ab" only shares a prefix: it stays. */
	names_after_defaults(&db, acct, names, sizeof(names));
	CHECK_STR(names, "x/y(11) x/y/b(7) x/y/b/c(8) ab(0) x(0)");
	/* x made, then a, a/b, a/b/c updated. */
	changes_since(&db, acct, before, &lc);
	CHECK_INT(lc.n, 4);
	CHECK_INT(lc.c.kind, CHANGE_UPDATED);
	CHECK(get_mailbox(&db, acct, c, &mb));
	CHECK_STR(mb.name, "x/y/b/c");

	CHECK_INT(rename_to(&db, acct, a, "ab", NULL, NULL), IPC_S_EXISTS);
	CHECK_INT(rename_to(&db, acct, a, "INBOX", NULL, NULL), IPC_S_EXISTS);
	CHECK_INT(rename_to(&db, acct, a, "x/y/b/z", NULL, NULL),
	    IPC_S_INVALID);
	CHECK_INT(rename_to(&db, acct, a, "a//b", NULL, NULL), IPC_S_INVALID);
	CHECK_INT(rename_to(&db, acct, 999, "q", NULL, NULL), IPC_S_NOTFOUND);
	/* Up to the top level again, case changed. */
	CHECK_INT(rename_to(&db, acct, a, "A", NULL, NULL), IPC_S_OK);
	names_after_defaults(&db, acct, names, sizeof(names));
	CHECK_STR(names, "A(0) A/b(7) A/b/c(8) ab(0) x(0)");
	/* A child may move elsewhere; its own child follows. */
	CHECK_INT(rename_to(&db, acct, id_of(&db, acct, "A/b"), "Inbox/b",
	    NULL, NULL), IPC_S_OK);
	names_after_defaults(&db, acct, names, sizeof(names));
	CHECK_STR(names, "A(0) Inbox/b(1) Inbox/b/c(8) ab(0) x(0)");
	db_close(&db);
}

TEST(test_rename_inbox)
{
	struct store_db db;
	struct mailbox_rec mb, inbox;
	struct message_rec m;
	char uids[256];
	uint64_t acct, e1, e2, ims;
	uint32_t id, sub;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	CHECK_INT(create(&db, acct, "INBOX/sub", &sub), IPC_S_OK);
	e1 = deliver(&db, acct, INBOX, "one\r\n", "<1@x>", NULL, 0);
	e2 = deliver(&db, acct, INBOX, "two\r\n", "<2@x>", NULL, MSG_F_SEEN);
	copy(&db, acct, e2, ARCHIVE);
	CHECK_INT(rename_to(&db, acct, INBOX, "Old/Mail", &id, &ims),
	    IPC_S_OK);
	CHECK(id != INBOX);
	CHECK(get_mailbox(&db, acct, INBOX, &inbox));
	CHECK_STR(inbox.name, "Inbox");
	CHECK_STR(inbox.role, "inbox");
	CHECK_INT(inbox.total, 0);
	CHECK_INT(inbox.unread, 0);
	CHECK_INT(inbox.threads, 0);
	CHECK_INT(inbox.uidnext, 3);
	CHECK_INT(inbox.highestmodseq, ims);
	CHECK(ims != 0);
	uids_of(&db, acct, INBOX, uids);
	CHECK_STR(uids, "");
	/* Both UIDs are remembered as vanished from the inbox. */
	CHECK_INT(count_range(&db, db.vanished, acct, INBOX), 2);
	CHECK(get_mailbox(&db, acct, id, &mb));
	CHECK_STR(mb.name, "Old/Mail");
	CHECK_STR(mb.role, "");
	CHECK_INT(mb.parent, id_of(&db, acct, "Old"));
	CHECK_INT(mb.total, 2);
	CHECK_INT(mb.unread, 1);
	CHECK_INT(mb.threads, 2);
	CHECK_INT(mb.uidnext, 3);
	CHECK(mb.highestmodseq > 0);
	uids_of(&db, acct, id, uids);
	CHECK_STR(uids, "1 2");
	CHECK(get_message(&db, acct, e1, &m));
	CHECK_INT(m.nmbox, 1);
	CHECK_INT(m.mbox[0].mailbox, id);
	CHECK(get_message(&db, acct, e2, &m));
	CHECK_INT(m.nmbox, 2);
	CHECK(msgops_mbox_index(&m, ARCHIVE) != -1);
	CHECK(msgops_mbox_index(&m, id) != -1);
	CHECK(msgops_mbox_index(&m, INBOX) == -1);
	/* The inbox's child stays where it was. */
	CHECK(get_mailbox(&db, acct, sub, &mb));
	CHECK_STR(mb.name, "Inbox/sub");
	CHECK_INT(mb.parent, INBOX);
	CHECK_INT(used_messages(&db, "alice@example.org"), 2);
	/* An empty inbox renamed: a new empty mailbox, nobody to tell. */
	CHECK_INT(rename_to(&db, acct, INBOX, "Old2", &id, &ims), IPC_S_OK);
	CHECK_INT(ims, 0);
	CHECK(get_mailbox(&db, acct, id, &mb));
	CHECK_INT(mb.total, 0);
	CHECK_INT(rename_to(&db, acct, INBOX, "Old2", NULL, NULL),
	    IPC_S_EXISTS);
	db_close(&db);
}

TEST(test_subscribe)
{
	struct store_db db;
	struct mailbox_rec mb;
	struct last_change lc;
	struct op o;
	uint64_t acct, before;
	uint32_t id;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	CHECK_INT(create(&db, acct, "Lists", &id), IPC_S_OK);
	before = state_of(&db, acct);
	memset(&o, 0, sizeof(o));
	o.acct = acct;
	o.id = id;
	o.on = true;
	CHECK_INT(run(&db, subscribe_apply, &o), IPC_S_OK);
	CHECK(get_mailbox(&db, acct, id, &mb));
	CHECK(mb.subscribed);
	changes_since(&db, acct, before, &lc);
	CHECK_INT(lc.n, 1);
	CHECK_INT(lc.c.type, CHANGE_MAILBOX);
	CHECK_INT(lc.c.kind, CHANGE_UPDATED);
	CHECK_INT(lc.c.id, id);
	/* No change, no entry. */
	CHECK_INT(run(&db, subscribe_apply, &o), IPC_S_OK);
	CHECK_INT(state_of(&db, acct), before + 1);
	o.on = false;
	CHECK_INT(run(&db, subscribe_apply, &o), IPC_S_OK);
	CHECK(get_mailbox(&db, acct, id, &mb));
	CHECK(!mb.subscribed);
	CHECK_INT(state_of(&db, acct), before + 2);
	o.id = 999;
	CHECK_INT(run(&db, subscribe_apply, &o), IPC_S_NOTFOUND);
	db_close(&db);
}

TEST(test_list)
{
	struct store_db db;
	struct store_error err;
	struct mbox_list l;
	const struct mbox_info *in, *ar, *tr;
	uint64_t acct, e1;
	MDB_txn *txn;
	size_t i;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	/* Thread 1: an unread message (5 bytes) and a seen reply (9). */
	e1 = deliver(&db, acct, INBOX, "one\r\n", "<1@x>", NULL, 0);
	(void)deliver(&db, acct, INBOX, "reply\r\n\r\n", "<2@x>", "<1@x>",
	    MSG_F_SEEN);
	/* Thread 2: seen (7).  Thread 3: an unseen draft (6), not unread. */
	(void)deliver(&db, acct, INBOX, "three\r\n", "<3@x>", NULL,
	    MSG_F_SEEN);
	(void)deliver(&db, acct, INBOX, "draft\n", "<4@x>", NULL,
	    MSG_F_DRAFT);
	/* Thread 4, in the trash: unread (4). */
	(void)deliver(&db, acct, TRASH, "bin\n", "<5@x>", NULL, 0);
	copy(&db, acct, e1, ARCHIVE);

	memset(&l, 0, sizeof(l));
	if (db_begin(&db, false, &txn, &err) != IPC_S_OK)
		return;
	CHECK_INT(mbox_op_list(&db, txn, acct, true, &l, &err), IPC_S_OK);
	db_abort(&txn);
	CHECK_INT(l.n, 6);
	CHECK_INT(l.state, state_of(&db, acct));
	for (i = 0; i < l.n; i++)
		CHECK_INT(l.v[i].id, i + 1);
	in = &l.v[INBOX - 1];
	tr = &l.v[TRASH - 1];
	ar = &l.v[ARCHIVE - 1];
	CHECK_STR(in->rec.name, "Inbox");
	CHECK_STR(in->rec.role, "inbox");
	CHECK_INT(in->rec.parent, 0);
	CHECK(in->rec.subscribed);
	CHECK_INT(in->rec.total, 4);
	CHECK_INT(in->rec.unread, 2);
	CHECK_INT(in->rec.threads, 3);
	CHECK_INT(in->rec.uidnext, 5);
	CHECK_INT(in->size, 5 + 9 + 7 + 6);
	CHECK_INT(in->unread_threads, 1);
	CHECK_INT(in->rec.sort_order, 0);
	CHECK_INT(tr->size, 4);
	CHECK_INT(tr->unread_threads, 1);
	CHECK_INT(ar->size, 5);
	CHECK_INT(ar->unread_threads, 1);
	CHECK_INT(ar->rec.total, 1);
	CHECK_INT(l.v[1].size, 0);
	CHECK_INT(l.v[1].unread_threads, 0);
	CHECK_STR(l.v[1].rec.role, "drafts");
	CHECK_INT(l.v[1].rec.sort_order, 1);
	mbox_list_clear(&l);
	CHECK(l.v == NULL);
	db_close(&db);
}

/* mbox_op_list_bytes is the size ipc_encode_reply gives MBOX_LIST. */
TEST(test_list_bytes)
{
	struct ipc_MBOX_LIST_rep rep;
	struct buf out = BUF_INIT, names = BUF_INIT, roles = BUF_INIT;
	struct buf u = BUF_INIT;
	struct wire_u64list ul;

	memset(&rep, 0, sizeof(rep));
	wire_strlist_add(&names, "Inbox");
	wire_strlist_add(&names, "Work/2024");
	wire_strlist_add(&roles, "inbox");
	wire_strlist_add(&roles, "");
	wire_u64list_add(&u, 1);
	wire_u64list_add(&u, 7);
	rep.names.count = rep.roles.count = 2;
	rep.names.p = names.data;
	rep.names.len = names.len;
	rep.roles.p = roles.data;
	rep.roles.len = roles.len;
	ul.count = 2;
	ul.p = u.data;
	rep.ids = rep.parents = rep.subscribed = rep.total = rep.unread = ul;
	rep.uidvalidity = rep.uidnext = rep.highestmodseq = rep.size = ul;
	rep.threads = rep.sort_order = ul;
	rep.deleted = rep.deleted_size = ul;
	rep.state = 42;
	ipc_encode_reply(&out, IPC_T_MBOX_LIST, 1, 1, IPC_S_OK, NULL, &rep);
	CHECK_INT(out.len - IPC_HDR_SIZE, mbox_op_list_bytes(2,
	    strlen("Inbox") + strlen("Work/2024") + strlen("inbox")));
	buf_clear(&out);
	buf_clear(&names);
	buf_clear(&roles);
	buf_clear(&u);
}

/* --- Subscriptions without a mailbox --- */

static enum ipc_status
sub_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct op *o = arg;

	return subscription_set(db, txn, o->acct, o->name, o->on, err);
}

static enum ipc_status
sub(struct store_db *db, uint64_t acct, const char *name, bool on)
{
	struct op o = { .acct = acct, .name = name, .on = on };

	return run(db, sub_apply, &o);
}

/* The orphans of acct, space-separated, in out. */
static void
orphans(struct store_db *db, uint64_t acct, char *out, size_t outlen)
{
	struct strvec v = STRVEC_INIT;
	struct store_error err;
	MDB_txn *txn;
	size_t i;

	out[0] = '\0';
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return;
	CHECK_INT(subscription_orphans(db, txn, acct, &v, &err), IPC_S_OK);
	db_abort(&txn);
	for (i = 0; i < v.n; i++) {
		if (i > 0)
			strlcat(out, " ", outlen);
		strlcat(out, v.v[i], outlen);
	}
	strvec_clear(&v);
}

static bool
subscribed(struct store_db *db, uint64_t acct, const char *name)
{
	struct mailbox_rec mb;
	uint32_t id = id_of(db, acct, name);

	return id != 0 && get_mailbox(db, acct, id, &mb) && mb.subscribed;
}

TEST(test_subscription_orphans)
{
	struct store_db db;
	char o[512], big[1001];
	uint64_t acct, other, before;
	uint32_t id;
	int i;
	enum ipc_status st = IPC_S_OK;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	other = add_account(&db, "bob@example.org");
	/* A name without a mailbox: subscribed (RFC 9051 6.3.7), twice. */
	CHECK_INT(sub(&db, acct, "News/Old", true), IPC_S_OK);
	CHECK_INT(sub(&db, acct, "News/Old", true), IPC_S_OK);
	CHECK_INT(id_of(&db, acct, "News/Old"), 0);
	CHECK_INT(id_of(&db, acct, "News"), 0);
	orphans(&db, acct, o, sizeof(o));
	CHECK_STR(o, "News/Old");
	orphans(&db, other, o, sizeof(o));
	CHECK_STR(o, "");
	/* "INBOX" in any case is the inbox's tree. */
	CHECK_INT(sub(&db, acct, "inBOX/Lists", true), IPC_S_OK);
	orphans(&db, acct, o, sizeof(o));
	CHECK_STR(o, "Inbox/Lists News/Old");
	/* A name a mailbox has: its record, with a change-log entry. */
	before = state_of(&db, acct);
	CHECK_INT(sub(&db, acct, "Drafts", false), IPC_S_OK);
	CHECK(!subscribed(&db, acct, "Drafts"));
	CHECK_INT(state_of(&db, acct), before + 1);
	CHECK_INT(sub(&db, acct, "Drafts", true), IPC_S_OK);
	CHECK(subscribed(&db, acct, "Drafts"));
	/* Orphans change no state. */
	CHECK_INT(sub(&db, acct, "Elsewhere", true), IPC_S_OK);
	CHECK_INT(sub(&db, acct, "Elsewhere", false), IPC_S_OK);
	CHECK_INT(state_of(&db, acct), before + 2);
	/* Unsubscribing a name nobody subscribed is fine (6.3.8). */
	CHECK_INT(sub(&db, acct, "Never", false), IPC_S_OK);
	CHECK_INT(sub(&db, acct, "", true), IPC_S_INVALID);
	CHECK_INT(sub(&db, acct, "a//b", true), IPC_S_INVALID);
	CHECK_INT(sub(&db, acct, "/a", true), IPC_S_INVALID);
	orphans(&db, acct, o, sizeof(o));
	CHECK_STR(o, "Inbox/Lists News/Old");

	/* CREATE of a subscribed name: the mailbox is subscribed. */
	CHECK_INT(create(&db, acct, "News/Old", &id), IPC_S_OK);
	CHECK(subscribed(&db, acct, "News/Old"));
	CHECK(!subscribed(&db, acct, "News"));
	orphans(&db, acct, o, sizeof(o));
	CHECK_STR(o, "Inbox/Lists");
	/* A parent made on the way takes its subscription too. */
	CHECK_INT(create(&db, acct, "INBOX/Lists/x", NULL), IPC_S_OK);
	CHECK(subscribed(&db, acct, "Inbox/Lists"));
	CHECK(!subscribed(&db, acct, "Inbox/Lists/x"));
	orphans(&db, acct, o, sizeof(o));
	CHECK_STR(o, "");
	/* DELETE keeps the subscription (RFC 9051 6.3.7: SHOULD NOT drop). */
	CHECK_INT(delete(&db, acct, id), IPC_S_OK);
	orphans(&db, acct, o, sizeof(o));
	CHECK_STR(o, "News/Old");
	/* An unsubscribed mailbox leaves nothing behind. */
	CHECK_INT(delete(&db, acct, id_of(&db, acct, "News")), IPC_S_OK);
	orphans(&db, acct, o, sizeof(o));
	CHECK_STR(o, "News/Old");
	/* UNSUBSCRIBE of the orphan. */
	CHECK_INT(sub(&db, acct, "News/Old", false), IPC_S_OK);
	orphans(&db, acct, o, sizeof(o));
	CHECK_STR(o, "");

	/* SUBSCRIBE makes at most SUBSCRIPTION_BYTES_MAX of orphans. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 300 && st == IPC_S_OK; i++) {
		snprintf(big, sizeof(big), "%03d", i);
		big[3] = 'x';
		st = sub(&db, other, big, true);
	}
	CHECK_INT(st, IPC_S_LIMIT);
	CHECK_INT(i - 1, SUBSCRIPTION_BYTES_MAX / 1000);
	/* What is subscribed stays subscribable. */
	CHECK_INT(sub(&db, other, "Inbox", true), IPC_S_OK);
	db_close(&db);
}

/* RENAME leaves subscriptions with the names (RFC 9051 6.3.6, Dovecot). */
TEST(test_subscription_rename)
{
	struct store_db db;
	char o[512];
	uint64_t acct;
	uint32_t a, nid;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	CHECK_INT(create(&db, acct, "A/B", NULL), IPC_S_OK);
	CHECK_INT(create(&db, acct, "A/C", NULL), IPC_S_OK);
	a = id_of(&db, acct, "A");
	CHECK_INT(sub(&db, acct, "A", true), IPC_S_OK);
	CHECK_INT(sub(&db, acct, "A/B", true), IPC_S_OK);
	CHECK_INT(sub(&db, acct, "A/gone", true), IPC_S_OK);
	CHECK_INT(sub(&db, acct, "Z/C", true), IPC_S_OK);
	CHECK_INT(rename_to(&db, acct, a, "Z", &nid, NULL), IPC_S_OK);
	CHECK_INT(nid, a);
	/* The old names stay subscribed, without a mailbox. */
	orphans(&db, acct, o, sizeof(o));
	CHECK_STR(o, "A A/B A/gone");
	/* The new ones are subscribed only where the name was. */
	CHECK(!subscribed(&db, acct, "Z"));
	CHECK(!subscribed(&db, acct, "Z/B"));
	CHECK(subscribed(&db, acct, "Z/C"));
	/* Back again: the names' subscriptions come back to them. */
	CHECK_INT(rename_to(&db, acct, a, "A", NULL, NULL), IPC_S_OK);
	CHECK(subscribed(&db, acct, "A"));
	CHECK(subscribed(&db, acct, "A/B"));
	CHECK(!subscribed(&db, acct, "A/C"));
	orphans(&db, acct, o, sizeof(o));
	CHECK_STR(o, "A/gone Z/C");
	/* Renaming the inbox: the inbox keeps its own, the new name its. */
	CHECK_INT(sub(&db, acct, "Old", true), IPC_S_OK);
	CHECK_INT(rename_to(&db, acct, INBOX, "Old", &nid, NULL), IPC_S_OK);
	CHECK(nid != INBOX);
	CHECK(subscribed(&db, acct, "Old"));
	CHECK(subscribed(&db, acct, "Inbox"));
	orphans(&db, acct, o, sizeof(o));
	CHECK_STR(o, "A/gone Z/C");
	db_close(&db);
}

/* Schema step 3 -> 4 adds the subscriptions database, and nothing else. */
TEST(test_migration_v3_subscriptions)
{
	const char *dir = fresh_dir();
	struct store_error err;
	struct store_db db;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint32_t v = 0;
	uint64_t acct;
	char o[64];

	if (db_env_open(&db, dir, MAP_SIZE, &err) == -1 ||
	    schema_upgrade_to(&db, 3, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "v3: %s", err.text);
		return;
	}
	CHECK_INT(schema_version(&db, &v, &err), 0);
	CHECK_INT(v, 3);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(mdb_dbi_open(txn, "subscriptions", 0, &dbi), MDB_NOTFOUND);
	CHECK_INT(mdb_dbi_open(txn, "metadata", 0, &dbi), 0);
	db_abort(&txn);
	db_close(&db);

	if (db_open(&db, dir, MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	CHECK_INT(schema_version(&db, &v, &err), 0);
	/* Brought to the current version, past the subscriptions step. */
	CHECK_INT(v, SCHEMA_VERSION);
	CHECK(SCHEMA_VERSION >= 4);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(mdb_dbi_open(txn, "subscriptions", 0, &dbi), 0);
	db_abort(&txn);
	acct = add_account(&db, "alice@example.org");
	CHECK_INT(sub(&db, acct, "Later", true), IPC_S_OK);
	orphans(&db, acct, o, sizeof(o));
	CHECK_STR(o, "Later");
	db_close(&db);

	/* Opened again: no step runs twice, the orphan is kept. */
	if (db_open(&db, dir, MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	orphans(&db, acct, o, sizeof(o));
	CHECK_STR(o, "Later");
	db_close(&db);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_name_check),
	TEST_ENTRY(test_create_with_parents),
	TEST_ENTRY(test_create_refused),
	TEST_ENTRY(test_create_roles),
	TEST_ENTRY(test_uidvalidity),
	TEST_ENTRY(test_delete_refused),
	TEST_ENTRY(test_delete_messages),
	TEST_ENTRY(test_rename_tree),
	TEST_ENTRY(test_rename_inbox),
	TEST_ENTRY(test_subscribe),
	TEST_ENTRY(test_list),
	TEST_ENTRY(test_list_bytes),
	TEST_ENTRY(test_subscription_orphans),
	TEST_ENTRY(test_subscription_rename),
	TEST_ENTRY(test_migration_v3_subscriptions),
};

HARNESS_MAIN(tests)
