/* SPDX-License-Identifier: ISC */
/*
 * test_store_mail.c: the mail store on a real LMDB environment in a
 * temporary directory: the migration from schema version 1, default
 * mailboxes, delivery (blob, message, UID, modseq), blob sharing and
 * reference counts, threads, quotas, the change log, duplicate
 * suppression, recipient resolution and group commit.
 */
/* unit-deps: store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/name.c store/key.c store/record.c store/strvec.c store/domain.c store/account.c store/alias.c store/quota.c store/auth.c store/mailbox.c store/changelog.c store/message.c store/blob.c store/txn.c store/rcpt.c store/deliver_job.c store/deliver_log.c store/loopwake.c store/recent.c */
/* unit-deps: store/vacation.c store/vacation_mail.c store/submit.c store/submit_queue.c store/submit_auto.c store/submit_dkim.c */
#include "harness.h"
#include "compat.h"
#include "mime.h"
#include "msgrec.h"

#include "store/account.h"
#include "store/alias.h"
#include "store/auth.h"
#include "store/blob.h"
#include "store/blobfile.h"
#include "store/changelog.h"
#include "store/db.h"
#include "store/dblog.h"
#include "store/deliver.h"
#include "store/domain.h"
#include "store/key.h"
#include "store/mailbox.h"
#include "store/message.h"
#include "store/quota.h"
#include "store/rcpt.h"
#include "store/record.h"
#include "store/schema.h"
#include "store/vacation.h"
#include "store/strvec.h"
#include "store/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <sys/wait.h>

#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#define MAP_SIZE	(64u << 20)
#define NOW		1700000000ull

static const char *
fresh_dir(void)
{
	static char path[256];
	static int n;

	snprintf(path, sizeof(path), "%s/mail%d", harness_tmpdir(), n++);
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

/* An account with a cheap hash in domain example.org. */
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

/* A delivery of text (its own bytes as the record) into mailbox. */
struct mail {
	struct message_new	 in;
	struct message_result	 out;
	struct wire_strlist	 irt;
	struct buf		 irtb;
};

static void
mail_init(struct mail *m, uint64_t acct, uint32_t mbox, const char *text,
    const char *msgid, const char *subject, const char *in_reply_to)
{
	memset(m, 0, sizeof(*m));
	m->in.account_id = acct;
	m->in.mailbox_id = mbox;
	m->in.received = NOW;
	m->in.now = NOW;
	m->in.data = text;
	m->in.size = strlen(text);
	blob_hash(text, m->in.size, m->in.hash);
	m->in.record = "rec";
	m->in.record_len = 3;
	m->in.message_id = msgid;
	m->in.base_subject = subject;
	m->in.dup_check = true;
	if (in_reply_to != NULL) {
		wire_strlist_add(&m->irtb, in_reply_to);
		m->irt.count = 1;
		m->irt.p = m->irtb.data;
		m->irt.len = m->irtb.len;
		m->in.in_reply_to = &m->irt;
	}
}

static enum ipc_status
mail_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail *m = arg;

	return message_append(db, txn, &m->in, &m->out, err);
}

static enum ipc_status
deliver(struct store_db *db, struct mail *m)
{
	struct store_error err;
	enum ipc_status st;

	st = mail_txn_run(db, mail_apply, m, &err);
	buf_clear(&m->irtb);
	return st;
}

struct destroy_arg {
	uint64_t	 acct, email;
};

static enum ipc_status
destroy_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct destroy_arg *d = arg;

	return message_destroy(db, txn, d->acct, d->email, err);
}

static enum ipc_status
destroy(struct store_db *db, uint64_t acct, uint64_t email)
{
	struct destroy_arg d = { acct, email };
	struct store_error err;

	return mail_txn_run(db, destroy_apply, &d, &err);
}

static void
get_mailbox(struct store_db *db, uint64_t acct, uint32_t id,
    struct mailbox_rec *mb)
{
	struct store_error err;
	MDB_txn *txn;

	memset(mb, 0, sizeof(*mb));
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return;
	CHECK_INT(mailbox_get(db, txn, acct, id, mb, &err), IPC_S_OK);
	db_abort(&txn);
}

static uint32_t
find_mailbox(struct store_db *db, uint64_t acct, const char *role)
{
	struct store_error err;
	uint32_t id = 0;
	MDB_txn *txn;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return 0;
	CHECK_INT(mailbox_find(db, txn, acct, NULL, role, &id, NULL, &err),
	    IPC_S_OK);
	db_abort(&txn);
	return id;
}

static uint64_t
blob_refs_of(struct store_db *db, const uint8_t *hash)
{
	struct store_error err;
	struct blob_view bv;
	uint64_t refs = 0;
	MDB_txn *txn;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return 0;
	if (blob_view_get(db, txn, hash, &bv, &refs, &err) != IPC_S_OK)
		refs = 0;
	blob_view_release(&bv);
	db_abort(&txn);
	return refs;
}

/* --- The change log, collected --- */

#define MAX_CHANGES	64

struct changes {
	size_t		 n;
	uint64_t	 modseq[MAX_CHANGES];
	struct change_rec c[MAX_CHANGES];
};

static int
changes_cb(uint64_t modseq, const struct change_rec *c, void *arg)
{
	struct changes *ch = arg;

	if (ch->n == MAX_CHANGES)
		return 1;
	ch->modseq[ch->n] = modseq;
	ch->c[ch->n++] = *c;
	return 0;
}

static void
get_changes(struct store_db *db, uint64_t acct, uint64_t since,
    struct changes *ch)
{
	struct store_error err;
	MDB_txn *txn;

	memset(ch, 0, sizeof(*ch));
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return;
	CHECK_INT(changelog_scan(db, txn, acct, since, changes_cb, ch, &err),
	    IPC_S_OK);
	db_abort(&txn);
}

/* --- Tests --- */

struct mbox_names {
	char	 s[512];
	int	 n;
};

static int
mbox_names_cb(uint32_t id, const struct mailbox_rec *mb, void *arg)
{
	struct mbox_names *m = arg;

	(void)id;
	strlcat(m->s, mb->name, sizeof(m->s));
	strlcat(m->s, ":", sizeof(m->s));
	strlcat(m->s, mb->role, sizeof(m->s));
	strlcat(m->s, " ", sizeof(m->s));
	m->n++;
	return 0;
}

static void
check_default_mailboxes(struct store_db *db, uint64_t acct)
{
	struct mbox_names m = { "", 0 };
	struct store_error err;
	MDB_txn *txn;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return;
	CHECK_INT(mailbox_scan(db, txn, acct, mbox_names_cb, &m, &err),
	    IPC_S_OK);
	db_abort(&txn);
	CHECK_INT(m.n, 6);
	CHECK_STR(m.s, "Inbox:inbox Drafts:drafts Sent:sent Trash:trash "
	    "Junk:junk Archive:archive ");
}

TEST(test_new_account_mailboxes)
{
	struct store_db db;
	struct changes ch;
	struct mailbox_rec mb;
	uint64_t acct;
	size_t i;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	check_default_mailboxes(&db, acct);
	get_mailbox(&db, acct, 1, &mb);
	CHECK_INT(mb.uidnext, 1);
	CHECK_INT(mb.total, 0);
	CHECK(mb.uidvalidity != 0);
	CHECK(mb.subscribed);
	get_changes(&db, acct, 0, &ch);
	CHECK_INT(ch.n, 6);
	for (i = 0; i < ch.n; i++) {
		CHECK_INT(ch.modseq[i], i + 1);
		CHECK_INT(ch.c[i].type, CHANGE_MAILBOX);
		CHECK_INT(ch.c[i].kind, CHANGE_CREATED);
		CHECK_INT(ch.c[i].id, i + 1);
	}
	db_close(&db);
}

/* Writes an account the way schema version 1 stored it. */
static void
put_v1_account(MDB_txn *txn, MDB_dbi accounts, MDB_dbi ids, uint64_t id,
    const char *local)
{
	struct account_rec r;
	struct name_addr a;
	struct buf b = BUF_INIT, bi = BUF_INIT;
	uint8_t key[KEY_ADDR_MAX], idkey[8];
	char full[128];
	MDB_val k, d;

	memset(&r, 0, sizeof(r));
	r.id = id;
	strlcpy(r.hash, "$argon2id$v=19$m=8,t=1,p=1$x$y", sizeof(r.hash));
	r.created = NOW;
	memset(&a, 0, sizeof(a));
	strlcpy(a.local, local, sizeof(a.local));
	strlcpy(a.domain, "example.org", sizeof(a.domain));
	snprintf(full, sizeof(full), "%s@example.org", local);
	record_account_enc(&b, &r);
	k.mv_size = key_addr(key, &a);
	k.mv_data = key;
	d.mv_size = b.len;
	d.mv_data = b.data;
	CHECK_INT(mdb_put(txn, accounts, &k, &d, 0), 0);
	record_account_id_enc(&bi, full);
	key_u64(idkey, id);
	k.mv_size = 8;
	k.mv_data = idkey;
	d.mv_size = bi.len;
	d.mv_data = bi.data;
	CHECK_INT(mdb_put(txn, ids, &k, &d, 0), 0);
	buf_clear(&b);
	buf_clear(&bi);
}

TEST(test_migration_from_v1)
{
	const char *dir = fresh_dir();
	struct store_error err;
	struct store_db db;
	struct account acc;
	struct changes ch;
	MDB_dbi accounts, ids, mboxes;
	MDB_txn *txn;
	uint32_t v = 0;

	/* A version 1 environment with two accounts. */
	if (db_env_open(&db, dir, MAP_SIZE, &err) == -1 ||
	    schema_upgrade_to(&db, 1, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "v1: %s", err.text);
		return;
	}
	CHECK_INT(schema_version(&db, &v, &err), 0);
	CHECK_INT(v, 1);
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(mdb_dbi_open(txn, "accounts", 0, &accounts), 0);
	CHECK_INT(mdb_dbi_open(txn, "account_ids", 0, &ids), 0);
	CHECK_INT(mdb_dbi_open(txn, "mailboxes", 0, &mboxes), MDB_NOTFOUND);
	put_v1_account(txn, accounts, ids, 1, "alice");
	put_v1_account(txn, accounts, ids, 2, "bob");
	CHECK_INT(db_put_u64(txn, db.meta, SCHEMA_KEY_NEXT_ID, 3, &err),
	    IPC_S_OK);
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	db_close(&db);

	/* Opened by this version: migrated, accounts kept, mailboxes added. */
	if (db_open(&db, dir, MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	CHECK_INT(schema_version(&db, &v, &err), 0);
	CHECK_INT(v, SCHEMA_VERSION);
	CHECK_INT(account_get(&db, "alice@example.org", &acc, &err), IPC_S_OK);
	CHECK_INT(acc.rec.id, 1);
	CHECK_INT(account_get_id(&db, 2, &acc, &err), IPC_S_OK);
	CHECK_STR(acc.name, "bob@example.org");
	check_default_mailboxes(&db, 1);
	check_default_mailboxes(&db, 2);
	get_changes(&db, 2, 0, &ch);
	CHECK_INT(ch.n, 6);
	db_close(&db);

	/* Opening again runs no step twice. */
	CHECK_INT(db_open(&db, dir, MAP_SIZE, &err), 0);
	check_default_mailboxes(&db, 1);
	db_close(&db);
}

TEST(test_deliver_stores_message)
{
	static const char text[] = "Subject: hi\r\n\r\nhello\r\n";
	struct store_error err;
	struct store_db db;
	struct mailbox_rec mb;
	struct message_rec mr;
	struct account acc;
	struct mail m;
	struct blob_view bv;
	const void *p;
	size_t len;
	uint64_t acct, email = 0;
	uint32_t inbox;
	MDB_txn *txn;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	inbox = find_mailbox(&db, acct, "inbox");
	mail_init(&m, acct, inbox, text, "a@x", "hi", NULL);
	CHECK_INT(deliver(&db, &m), IPC_S_OK);
	CHECK_INT(m.out.email_id, 1);
	CHECK_INT(m.out.uid, 1);
	CHECK_INT(m.out.modseq, 7);	/* after the six mailboxes */
	CHECK(m.out.blob_stored);
	CHECK(!m.out.duplicate);
	get_mailbox(&db, acct, inbox, &mb);
	CHECK_INT(mb.uidnext, 2);
	CHECK_INT(mb.total, 1);
	CHECK_INT(mb.unread, 1);
	CHECK_INT(mb.threads, 1);
	CHECK_INT(mb.highestmodseq, 9);
	CHECK_INT(account_get(&db, "alice@example.org", &acc, &err),
	    IPC_S_OK);
	CHECK_INT(acc.rec.used_bytes, strlen(text));
	CHECK_INT(acc.rec.used_messages, 1);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(message_find_uid(&db, txn, acct, inbox, 1, &email, &err),
	    IPC_S_OK);
	CHECK_INT(email, 1);
	CHECK_INT(message_find_uid(&db, txn, acct, inbox, 2, &email, &err),
	    IPC_S_NOTFOUND);
	CHECK_INT(message_get(&db, txn, acct, 1, &mr, &err), IPC_S_OK);
	CHECK_INT(mr.size, strlen(text));
	CHECK_INT(mr.nmbox, 1);
	CHECK_INT(mr.mbox[0].uid, 1);
	CHECK_INT(mr.mbox[0].modseq, 7);
	CHECK_STR(mr.message_id, "a@x");
	CHECK_INT(memcmp(mr.hash, m.in.hash, MSG_HASH_LEN), 0);
	CHECK_INT(blob_view_get(&db, txn, mr.hash, &bv, NULL, &err), IPC_S_OK);
	CHECK_INT(bv.len, strlen(text));
	CHECK(bv.len == strlen(text) && memcmp(bv.p, text, bv.len) == 0);
	blob_view_release(&bv);
	CHECK_INT(message_record(&db, txn, acct, 1, &p, &len, &err),
	    IPC_S_OK);
	CHECK(len == 3 && memcmp(p, "rec", 3) == 0);
	db_abort(&txn);

	/* Unknown mailbox or account: nothing stored. */
	mail_init(&m, acct, 99, text, "b@x", "hi", NULL);
	CHECK_INT(deliver(&db, &m), IPC_S_NOTFOUND);
	mail_init(&m, 42, inbox, text, "b@x", "hi", NULL);
	CHECK_INT(deliver(&db, &m), IPC_S_NOTFOUND);
	get_mailbox(&db, acct, inbox, &mb);
	CHECK_INT(mb.total, 1);
	db_close(&db);
}

TEST(test_blob_dedup_and_refcount)
{
	static const char text[] = "Subject: same\r\n\r\nbody\r\n";
	struct store_error err;
	struct store_db db;
	struct mailbox_rec mb;
	struct account acc;
	struct mail a, b;
	uint64_t acct;
	uint32_t inbox, archive;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	inbox = find_mailbox(&db, acct, "inbox");
	archive = find_mailbox(&db, acct, "archive");
	mail_init(&a, acct, inbox, text, "same@x", "same", NULL);
	CHECK_INT(deliver(&db, &a), IPC_S_OK);
	mail_init(&b, acct, archive, text, "same@x", "same", NULL);
	CHECK_INT(deliver(&db, &b), IPC_S_OK);
	CHECK(a.out.blob_stored);
	CHECK(!b.out.blob_stored);
	CHECK(!b.out.duplicate);	/* another mailbox */
	CHECK(a.out.email_id != b.out.email_id);
	CHECK_INT(blob_refs_of(&db, a.in.hash), 2);

	CHECK_INT(destroy(&db, acct, a.out.email_id), IPC_S_OK);
	CHECK_INT(blob_refs_of(&db, a.in.hash), 1);
	get_mailbox(&db, acct, inbox, &mb);
	CHECK_INT(mb.total, 0);
	CHECK_INT(mb.unread, 0);
	CHECK_INT(mb.threads, 0);
	CHECK_INT(destroy(&db, acct, a.out.email_id), IPC_S_NOTFOUND);
	CHECK_INT(destroy(&db, acct, b.out.email_id), IPC_S_OK);
	CHECK_INT(blob_refs_of(&db, a.in.hash), 0);
	CHECK_INT(account_get(&db, "alice@example.org", &acc, &err),
	    IPC_S_OK);
	CHECK_INT(acc.rec.used_bytes, 0);
	CHECK_INT(acc.rec.used_messages, 0);
	db_close(&db);
}

/* Counts the members of thread t. */
static size_t
thread_members(struct store_db *db, uint64_t acct, uint64_t t)
{
	struct store_error err;
	struct key_mail pre;
	MDB_cursor *cur;
	MDB_val k, d;
	MDB_txn *txn;
	size_t n = 0;
	int rc;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return 0;
	key_mail_init(&pre, acct);
	key_mail_u64(&pre, t);
	k = KEY_MAIL_VAL(&pre);
	mdb_cursor_open(txn, db->threads, &cur);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0 &&
	    key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len);
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		n++;
	mdb_cursor_close(cur);
	db_abort(&txn);
	return n;
}

TEST(test_threads)
{
	struct store_db db;
	struct mailbox_rec mb;
	struct mail a, b, c, d, e;
	uint64_t acct;
	uint32_t inbox;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	inbox = find_mailbox(&db, acct, "inbox");
	mail_init(&a, acct, inbox, "A", "a@x", "lunch", NULL);
	CHECK_INT(deliver(&db, &a), IPC_S_OK);
	/* A reply with the same base subject joins. */
	mail_init(&b, acct, inbox, "B", "b@x", "lunch", "a@x");
	CHECK_INT(deliver(&db, &b), IPC_S_OK);
	CHECK_INT(b.out.thread_id, a.out.thread_id);
	/* A reference to the reply, through References, joins too. */
	mail_init(&c, acct, inbox, "C", "c@x", "lunch", NULL);
	wire_strlist_add(&c.irtb, "zzz@nowhere");
	wire_strlist_add(&c.irtb, "b@x");
	c.irt.count = 2;
	c.irt.p = c.irtb.data;
	c.irt.len = c.irtb.len;
	c.in.references = &c.irt;
	CHECK_INT(deliver(&db, &c), IPC_S_OK);
	CHECK_INT(c.out.thread_id, a.out.thread_id);
	/* Same reference, another subject: a new thread. */
	mail_init(&d, acct, inbox, "D", "d@x", "dinner", "a@x");
	CHECK_INT(deliver(&db, &d), IPC_S_OK);
	CHECK(d.out.thread_id != a.out.thread_id);
	/* Same subject, no reference: a new thread. */
	mail_init(&e, acct, inbox, "E", "e@x", "lunch", NULL);
	CHECK_INT(deliver(&db, &e), IPC_S_OK);
	CHECK(e.out.thread_id != a.out.thread_id);
	CHECK(e.out.thread_id != d.out.thread_id);
	CHECK_INT(thread_members(&db, acct, a.out.thread_id), 3);
	CHECK_INT(thread_members(&db, acct, d.out.thread_id), 1);
	get_mailbox(&db, acct, inbox, &mb);
	CHECK_INT(mb.total, 5);
	CHECK_INT(mb.threads, 3);
	/* Leaving: the thread keeps its other members. */
	CHECK_INT(destroy(&db, acct, b.out.email_id), IPC_S_OK);
	CHECK_INT(thread_members(&db, acct, a.out.thread_id), 2);
	get_mailbox(&db, acct, inbox, &mb);
	CHECK_INT(mb.threads, 3);
	CHECK_INT(destroy(&db, acct, d.out.email_id), IPC_S_OK);
	get_mailbox(&db, acct, inbox, &mb);
	CHECK_INT(mb.threads, 2);
	db_close(&db);
}

TEST(test_quota)
{
	struct store_error err;
	struct store_db db;
	struct rcpt_result r;
	struct mailbox_rec mb;
	struct mail m;
	uint64_t acct, id;
	uint32_t inbox;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	inbox = find_mailbox(&db, acct, "inbox");
	CHECK_INT(quota_set(&db, "alice@example.org", 0, 2, &id, &err),
	    IPC_S_OK);
	CHECK_INT(rcpt_resolve(&db, "alice@example.org", &r, &err), IPC_S_OK);
	CHECK(!r.over_quota);
	mail_init(&m, acct, inbox, "one", "1@x", "s", NULL);
	CHECK_INT(deliver(&db, &m), IPC_S_OK);
	mail_init(&m, acct, inbox, "two", "2@x", "s", NULL);
	CHECK_INT(deliver(&db, &m), IPC_S_OK);
	mail_init(&m, acct, inbox, "three", "3@x", "s", NULL);
	CHECK_INT(deliver(&db, &m), IPC_S_QUOTA);
	CHECK_INT(rcpt_resolve(&db, "alice@example.org", &r, &err), IPC_S_OK);
	CHECK(r.over_quota);
	/* Bytes: 3 + 3 used, 10 allowed: 4 more fit, 5 do not. */
	CHECK_INT(quota_set(&db, "alice@example.org", 10, 0, &id, &err),
	    IPC_S_OK);
	mail_init(&m, acct, inbox, "fives", "5@x", "s", NULL);
	CHECK_INT(deliver(&db, &m), IPC_S_QUOTA);
	mail_init(&m, acct, inbox, "four", "4@x", "s", NULL);
	CHECK_INT(deliver(&db, &m), IPC_S_OK);
	get_mailbox(&db, acct, inbox, &mb);
	CHECK_INT(mb.total, 3);
	CHECK_INT(mb.uidnext, 4);	/* refused ones took no UID */
	db_close(&db);
}

TEST(test_changelog_order)
{
	struct store_db db;
	struct changes ch;
	struct mail a, b;
	uint64_t acct;
	uint32_t inbox;
	size_t i;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	inbox = find_mailbox(&db, acct, "inbox");
	mail_init(&a, acct, inbox, "A", "a@x", "s", NULL);
	CHECK_INT(deliver(&db, &a), IPC_S_OK);
	mail_init(&b, acct, inbox, "B", "b@x", "s", "a@x");
	CHECK_INT(deliver(&db, &b), IPC_S_OK);
	CHECK_INT(destroy(&db, acct, a.out.email_id), IPC_S_OK);
	get_changes(&db, acct, 6, &ch);
	CHECK_INT(ch.n, 9);
	for (i = 0; i < ch.n; i++)
		CHECK_INT(ch.modseq[i], 7 + i);
	CHECK_INT(ch.c[0].type, CHANGE_EMAIL);
	CHECK_INT(ch.c[0].kind, CHANGE_CREATED);
	CHECK_INT(ch.c[0].id, a.out.email_id);
	CHECK_INT(ch.c[1].type, CHANGE_THREAD);
	CHECK_INT(ch.c[1].kind, CHANGE_CREATED);
	CHECK_INT(ch.c[2].type, CHANGE_MAILBOX);
	CHECK_INT(ch.c[2].kind, CHANGE_UPDATED);
	CHECK_INT(ch.c[2].id, inbox);
	CHECK_INT(ch.c[3].id, b.out.email_id);
	CHECK_INT(ch.c[4].type, CHANGE_THREAD);
	CHECK_INT(ch.c[4].kind, CHANGE_UPDATED);
	CHECK_INT(ch.c[6].type, CHANGE_MAILBOX);	/* expunge */
	CHECK_INT(ch.c[7].type, CHANGE_EMAIL);
	CHECK_INT(ch.c[7].kind, CHANGE_DESTROYED);
	CHECK_INT(ch.c[7].id, a.out.email_id);
	CHECK_INT(ch.c[8].type, CHANGE_THREAD);
	CHECK_INT(ch.c[8].kind, CHANGE_UPDATED);	/* b is still in it */
	/* Another account's log is its own. */
	get_changes(&db, acct + 1, 0, &ch);
	CHECK_INT(ch.n, 0);
	db_close(&db);
}

TEST(test_vanished_uids)
{
	struct store_error err;
	struct store_db db;
	struct key_mail k;
	struct mail a;
	MDB_val kv, d;
	MDB_txn *txn;
	uint64_t acct;
	uint32_t inbox;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	inbox = find_mailbox(&db, acct, "inbox");
	mail_init(&a, acct, inbox, "A", "a@x", "s", NULL);
	CHECK_INT(deliver(&db, &a), IPC_S_OK);
	CHECK_INT(destroy(&db, acct, a.out.email_id), IPC_S_OK);
	/* The expunge's mailbox change is modseq 10: 7-9 were the append. */
	key_mail_init(&k, acct);
	key_mail_u32(&k, inbox);
	key_mail_u64(&k, 10);
	kv = KEY_MAIL_VAL(&k);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(mdb_get(txn, db.vanished, &kv, &d), 0);
	CHECK(d.mv_size == 4 && wire_be32_get(d.mv_data) == a.out.uid);
	db_abort(&txn);
	db_close(&db);
}

TEST(test_duplicate_suppression)
{
	static const char text[] = "Message-ID: <d@x>\r\n\r\nhi\r\n";
	struct store_db db;
	struct mailbox_rec mb;
	struct mail a, b, c, e;
	uint64_t acct;
	uint32_t inbox, junk;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	inbox = find_mailbox(&db, acct, "inbox");
	junk = find_mailbox(&db, acct, "junk");
	mail_init(&a, acct, inbox, text, "d@x", "s", NULL);
	CHECK_INT(deliver(&db, &a), IPC_S_OK);
	/* A retry five minutes later: the first copy's ids, nothing new. */
	mail_init(&b, acct, inbox, text, "d@x", "s", NULL);
	b.in.now = NOW + 300;
	CHECK_INT(deliver(&db, &b), IPC_S_OK);
	CHECK(b.out.duplicate);
	CHECK_INT(b.out.email_id, a.out.email_id);
	CHECK_INT(b.out.uid, a.out.uid);
	CHECK_INT(b.out.modseq, a.out.modseq);
	get_mailbox(&db, acct, inbox, &mb);
	CHECK_INT(mb.total, 1);
	CHECK_INT(blob_refs_of(&db, a.in.hash), 1);
	/* Another mailbox is another delivery. */
	mail_init(&c, acct, junk, text, "d@x", "s", NULL);
	CHECK_INT(deliver(&db, &c), IPC_S_OK);
	CHECK(!c.out.duplicate);
	/* After the window it is stored again. */
	mail_init(&e, acct, inbox, text, "d@x", "s", NULL);
	e.in.now = NOW + MESSAGE_DUP_WINDOW;
	CHECK_INT(deliver(&db, &e), IPC_S_OK);
	CHECK(!e.out.duplicate);
	CHECK_INT(e.out.uid, 2);
	get_mailbox(&db, acct, inbox, &mb);
	CHECK_INT(mb.total, 2);
	/* Once expunged, a new copy is not a duplicate of it. */
	CHECK_INT(destroy(&db, acct, e.out.email_id), IPC_S_OK);
	mail_init(&b, acct, inbox, text, "d@x", "s", NULL);
	b.in.now = NOW + MESSAGE_DUP_WINDOW + 1;
	CHECK_INT(deliver(&db, &b), IPC_S_OK);
	CHECK(!b.out.duplicate);
	CHECK_INT(b.out.uid, 3);
	db_close(&db);
}

/* Counts the entries of a database. */
static size_t
db_entries(struct store_db *db, MDB_dbi dbi)
{
	struct store_error err;
	MDB_txn *txn;
	MDB_stat st;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return SIZE_MAX;
	if (mdb_stat(txn, dbi, &st) != 0)
		st.ms_entries = SIZE_MAX;
	db_abort(&txn);
	return st.ms_entries;
}

static enum ipc_status
prune(struct store_db *db, uint64_t now, size_t max, size_t *pruned)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = db_begin(db, true, &txn, &err)) != IPC_S_OK)
		return st;
	if ((st = message_dup_prune(db, txn, now, max, pruned, &err)) !=
	    IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	return db_commit(&txn, &err);
}

TEST(test_duplicate_entries_pruned)
{
	static const char t1[] = "Message-ID: <p1@x>\r\n\r\n1\r\n";
	static const char t2[] = "Message-ID: <p2@x>\r\n\r\n2\r\n";
	static const char t3[] = "Message-ID: <p3@x>\r\n\r\n3\r\n";
	struct store_db db;
	struct mail a, b, c, r;
	uint64_t acct;
	uint32_t inbox;
	size_t n = 99;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	inbox = find_mailbox(&db, acct, "inbox");
	mail_init(&a, acct, inbox, t1, "p1@x", "s", NULL);
	CHECK_INT(deliver(&db, &a), IPC_S_OK);
	mail_init(&b, acct, inbox, t2, "p2@x", "s", NULL);
	b.in.now = NOW + 1;
	CHECK_INT(deliver(&db, &b), IPC_S_OK);
	mail_init(&c, acct, inbox, t3, "p3@x", "s", NULL);
	c.in.now = NOW + 500;
	CHECK_INT(deliver(&db, &c), IPC_S_OK);
	CHECK_INT(db_entries(&db, db.dups), 3);
	/* Nothing is old yet. */
	CHECK_INT(prune(&db, NOW + 100, 100, &n), IPC_S_OK);
	CHECK_INT(n, 0);
	/* At most max go at once: the oldest two are due, one goes. */
	CHECK_INT(prune(&db, NOW + MESSAGE_DUP_WINDOW + 1, 1, &n), IPC_S_OK);
	CHECK_INT(n, 1);
	CHECK_INT(prune(&db, NOW + MESSAGE_DUP_WINDOW + 1, 100, &n), IPC_S_OK);
	CHECK_INT(n, 1);
	CHECK_INT(db_entries(&db, db.dups), 1);
	/* The young one still suppresses its retry. */
	mail_init(&r, acct, inbox, t3, "p3@x", "s", NULL);
	r.in.now = NOW + 600;
	CHECK_INT(deliver(&db, &r), IPC_S_OK);
	CHECK(r.out.duplicate);
	CHECK_INT(r.out.email_id, c.out.email_id);
	/* The messages themselves are untouched. */
	CHECK_INT(db_entries(&db, db.dups), 1);
	db_close(&db);
}

TEST(test_rcpt_resolve)
{
	char ta[NAME_ADDR_MAX + 1];
	struct store_error err;
	struct store_db db;
	struct rcpt_result r;
	struct name_addr a, t;
	struct strvec al = STRVEC_INIT, tl = STRVEC_INIT;
	struct account gone;
	uint64_t alice, bob;
	size_t n;

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	bob = add_account(&db, "bob@example.org");
	CHECK_INT(alias_add(&db, "postmaster@example.org", "bob@example.org",
	    NOW, &a, &t, &err), IPC_S_OK);
	CHECK_INT(rcpt_resolve(&db, "<Alice@Example.org>", &r, &err),
	    IPC_S_OK);
	CHECK_INT(r.account_id, alice);
	CHECK_STR(r.account, "alice@example.org");
	CHECK_STR(r.mailbox, "Inbox");
	CHECK_INT(r.mailbox_id, 1);
	CHECK_INT(rcpt_resolve(&db, "postmaster@example.org", &r, &err),
	    IPC_S_OK);
	CHECK_INT(r.account_id, bob);
	/* Subaddress: an existing folder, else the inbox. */
	CHECK_INT(rcpt_resolve(&db, "alice+junk@example.org", &r, &err),
	    IPC_S_OK);
	CHECK_INT(r.account_id, alice);
	CHECK_STR(r.mailbox, "Junk");
	CHECK_INT(rcpt_resolve(&db, "alice+nosuch@example.org", &r, &err),
	    IPC_S_OK);
	CHECK_STR(r.mailbox, "Inbox");
	CHECK_INT(rcpt_resolve(&db, "postmaster+Archive@example.org", &r,
	    &err), IPC_S_OK);
	CHECK_INT(r.account_id, bob);
	CHECK_STR(r.mailbox, "Archive");
	CHECK_INT(rcpt_resolve(&db, "carol@example.org", &r, &err),
	    IPC_S_NOTFOUND);
	CHECK_INT(rcpt_resolve(&db, "carol+x@example.org", &r, &err),
	    IPC_S_NOTFOUND);
	CHECK_INT(rcpt_resolve(&db, "alice@other.org", &r, &err),
	    IPC_S_NOTFOUND);
	CHECK_INT(rcpt_resolve(&db, "not an address", &r, &err),
	    IPC_S_INVALID);
	CHECK_INT(rcpt_resolve(&db, "", &r, &err), IPC_S_INVALID);
	CHECK_INT(rcpt_resolve(&db, "<>", &r, &err), IPC_S_INVALID);
	/* The catch-all of the domain takes the rest. */
	CHECK_INT(alias_add(&db, "@Example.org", "nobody@example.org", NOW,
	    &a, &t, &err), IPC_S_NOTFOUND);
	CHECK_INT(alias_add(&db, "@nosuch.org", "alice@example.org", NOW,
	    &a, &t, &err), IPC_S_NOTFOUND);
	CHECK_INT(alias_add(&db, "@Example.org", "alice@example.org", NOW,
	    &a, &t, &err), IPC_S_OK);
	CHECK_STR(a.full, "@example.org");
	CHECK_INT(alias_add(&db, "@example.org", "bob@example.org", NOW,
	    &a, &t, &err), IPC_S_EXISTS);
	CHECK_INT(alias_list(&db, "example.org", &al, &tl, &err), IPC_S_OK);
	CHECK_INT(al.n, 2);
	CHECK_STR(al.n == 2 ? al.v[1] : "", "@example.org");
	CHECK_STR(tl.n == 2 ? tl.v[1] : "", "alice@example.org");
	strvec_clear(&al);
	strvec_clear(&tl);
	CHECK_INT(rcpt_resolve(&db, "carol@example.org", &r, &err), IPC_S_OK);
	CHECK_INT(r.account_id, alice);
	CHECK_INT(rcpt_resolve(&db, "bob+sent@example.org", &r, &err),
	    IPC_S_OK);
	CHECK_INT(r.account_id, bob);
	CHECK_STR(r.mailbox, "Sent");
	CHECK_INT(rcpt_resolve(&db, "alice@other.org", &r, &err),
	    IPC_S_NOTFOUND);
	/* Deleted with its target account, or by name. */
	CHECK_INT(alias_del(&db, "@example.org", &a, ta, &err), IPC_S_OK);
	CHECK_STR(ta, "alice@example.org");
	CHECK_INT(rcpt_resolve(&db, "carol@example.org", &r, &err),
	    IPC_S_NOTFOUND);
	CHECK_INT(alias_del(&db, "@example.org", &a, ta, &err),
	    IPC_S_NOTFOUND);
	CHECK_INT(alias_add(&db, "@example.org", "alice@example.org", NOW,
	    &a, &t, &err), IPC_S_OK);
	CHECK_INT(account_del(&db, "alice@example.org", &gone, &n, &err),
	    IPC_S_OK);
	CHECK_INT(rcpt_resolve(&db, "carol@example.org", &r, &err),
	    IPC_S_NOTFOUND);
	CHECK_INT(alias_list(&db, "", &al, &tl, &err), IPC_S_OK);
	CHECK_INT(al.n, 1);
	strvec_clear(&al);
	strvec_clear(&tl);
	db_close(&db);
}

/* --- Group commit --- */

#define NBATCH	50

struct gc_op {
	struct mail		 m;
	char			 text[32];
	enum ipc_status		 st;
	int			 done;
};

static void
gc_done(void *arg, enum ipc_status st, const struct store_error *err)
{
	struct gc_op *op = arg;

	(void)err;
	op->st = st;
	op->done++;
}

TEST(test_group_commit)
{
	static struct gc_op ops[NBATCH + 1];
	struct event_base *base;
	struct mail_txnq *q;
	struct store_db db;
	struct mailbox_rec mb;
	uint64_t acct, batches, nops;
	uint32_t inbox;
	size_t i;
	int seen[NBATCH + 2];

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	inbox = find_mailbox(&db, acct, "inbox");
	base = event_base_new();
	q = mail_txnq_new(base, &db, 1000);
	mail_txnq_hold(q, true);
	for (i = 0; i <= NBATCH; i++) {
		snprintf(ops[i].text, sizeof(ops[i].text), "message %zu", i);
		mail_init(&ops[i].m, acct, i == NBATCH / 2 ? 77 : inbox,
		    ops[i].text, "", "s", NULL);
		CHECK_INT(mail_txnq_submit(q, NULL, mail_apply, gc_done,
		    &ops[i], strlen(ops[i].text)), 0);
	}
	CHECK_INT(mail_txnq_pending(q), NBATCH + 1);
	/* Nothing is done before the batch commits. */
	while (mail_txnq_ready(q) < NBATCH + 1)
		usleep(1000);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK_INT(ops[0].done, 0);
	mail_txnq_hold(q, false);
	while (mail_txnq_pending(q) > 0)
		event_base_loop(base, EVLOOP_ONCE);
	mail_txnq_stats(q, &batches, &nops);
	CHECK_INT(batches, 1);
	CHECK_INT(nops, NBATCH + 1);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i <= NBATCH; i++) {
		CHECK_INT(ops[i].done, 1);
		if (i == NBATCH / 2) {
			/* Its failure fails only itself. */
			CHECK_INT(ops[i].st, IPC_S_NOTFOUND);
			continue;
		}
		CHECK_INT(ops[i].st, IPC_S_OK);
		if (ops[i].m.out.uid >= 1 && ops[i].m.out.uid <= NBATCH)
			seen[ops[i].m.out.uid]++;
	}
	for (i = 1; i <= NBATCH; i++)
		CHECK_INT(seen[i], 1);
	get_mailbox(&db, acct, inbox, &mb);
	CHECK_INT(mb.total, NBATCH);
	CHECK_INT(mb.uidnext, NBATCH + 1);
	/* A later submission is its own batch. */
	mail_init(&ops[0].m, acct, inbox, "late", "", "s", NULL);
	CHECK_INT(mail_txnq_submit(q, NULL, mail_apply, gc_done, &ops[0], 4),
	    0);
	while (mail_txnq_pending(q) > 0)
		event_base_loop(base, EVLOOP_ONCE);
	mail_txnq_stats(q, &batches, &nops);
	CHECK_INT(batches, 2);
	CHECK_INT(ops[0].st, IPC_S_OK);
	CHECK_INT(ops[0].m.out.uid, NBATCH + 1);
	mail_txnq_free(&q);
	CHECK(q == NULL);
	event_base_free(base);
	db_close(&db);
}

/*
 * A prepare step that waits until the test lets it go (10 s at most, twice
 * what the test waits for the operation behind it).
 */
static volatile int slow_release, slow_started;

static enum ipc_status
slow_prepare(void *arg, struct store_error *err)
{
	int i;

	(void)arg;
	(void)err;
	__atomic_store_n(&slow_started, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 10000 && !__atomic_load_n(&slow_release,
	    __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	return IPC_S_OK;
}

/*
 * An operation whose preparation is slow (a big message's file being
 * synced) does not hold up those submitted after it: they are prepared
 * beside it and committed first.
 */
TEST(test_slow_prepare_does_not_block)
{
	static struct gc_op ops[2];
	struct event_base *base;
	struct mail_txnq *q;
	struct store_db db;
	uint64_t acct;
	uint32_t inbox;
	int i;

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	inbox = find_mailbox(&db, acct, "inbox");
	base = event_base_new();
	q = mail_txnq_new(base, &db, 1000);
	slow_release = slow_started = 0;
	memset(ops, 0, sizeof(ops));
	mail_init(&ops[0].m, acct, inbox, "slow", "", "s", NULL);
	mail_init(&ops[1].m, acct, inbox, "quick", "", "s", NULL);
	CHECK_INT(mail_txnq_submit(q, slow_prepare, mail_apply, gc_done,
	    &ops[0], 4), 0);
	for (i = 0; i < 10000 && !__atomic_load_n(&slow_started,
	    __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	CHECK_INT(mail_txnq_submit(q, NULL, mail_apply, gc_done, &ops[1], 5),
	    0);
	/* The quick one is done while the slow one is still preparing. */
	for (i = 0; i < 5000 && ops[1].done == 0; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	CHECK_INT(ops[1].done, 1);
	CHECK_INT(ops[1].st, IPC_S_OK);
	CHECK_INT(ops[1].m.out.uid, 1);
	CHECK_INT(ops[0].done, 0);
	__atomic_store_n(&slow_release, 1, __ATOMIC_SEQ_CST);
	while (mail_txnq_pending(q) > 0)
		event_base_loop(base, EVLOOP_ONCE);
	CHECK_INT(ops[0].done, 1);
	CHECK_INT(ops[0].st, IPC_S_OK);
	CHECK_INT(ops[0].m.out.uid, 2);
	mail_txnq_free(&q);
	event_base_free(base);
	db_close(&db);
}

TEST(test_account_delete_purges_mail)
{
	static const char text[] = "shared bytes";
	struct store_error err;
	struct store_db db;
	struct account gone;
	struct changes ch;
	struct mail a, b;
	size_t naliases;
	uint64_t alice, bob;

	if (open_fresh(&db) == -1)
		return;
	alice = add_account(&db, "alice@example.org");
	bob = add_account(&db, "bob@example.org");
	mail_init(&a, alice, 1, text, "p@x", "s", NULL);
	CHECK_INT(deliver(&db, &a), IPC_S_OK);
	mail_init(&b, bob, 1, text, "p@x", "s", NULL);
	CHECK_INT(deliver(&db, &b), IPC_S_OK);
	CHECK_INT(blob_refs_of(&db, a.in.hash), 2);
	CHECK_INT(account_del(&db, "alice@example.org", &gone, &naliases,
	    &err), IPC_S_OK);
	CHECK_INT(blob_refs_of(&db, a.in.hash), 1);
	get_changes(&db, alice, 0, &ch);
	CHECK_INT(ch.n, 0);
	check_default_mailboxes(&db, bob);
	CHECK_INT(account_del(&db, "bob@example.org", &gone, &naliases,
	    &err), IPC_S_OK);
	CHECK_INT(blob_refs_of(&db, a.in.hash), 0);
	db_close(&db);
}

TEST(test_records_roundtrip)
{
	struct message_rec m, m2;
	struct mailbox_rec mb, mb2;
	struct buf b = BUF_INIT;
	char fl[256];

	memset(&m, 0, sizeof(m));
	m.thread = 9;
	m.size = 1234;
	m.flags = MSG_F_SEEN | MSG_F_FLAGGED;
	m.nkeywords = 1;
	strlcpy(m.keywords[0], "$label", sizeof(m.keywords[0]));
	strlcpy(m.base_subject, "hello", sizeof(m.base_subject));
	m.nmbox = 2;
	m.mbox[1].mailbox = 3;
	m.mbox[1].uid = 44;
	m.mbox[1].modseq = 555;
	record_message_enc(&b, &m);
	CHECK_INT(record_message_dec(b.data, b.len, &m2), 0);
	CHECK_INT(m2.thread, 9);
	CHECK_INT(m2.nmbox, 2);
	CHECK_INT(m2.mbox[1].modseq, 555);
	CHECK_STR(m2.keywords[0], "$label");
	message_flags_text(&m2, fl, sizeof(fl));
	CHECK_STR(fl, "\\Seen \\Flagged $label");
	/* Every truncation is refused. */
	for (size_t i = 0; i < b.len; i++)
		CHECK_INT(record_message_dec(b.data, i, &m2), -1);
	buf_reset(&b);
	memset(&mb, 0, sizeof(mb));
	strlcpy(mb.name, "Lists/bulwark", sizeof(mb.name));
	mb.uidnext = 7;
	record_mailbox_enc(&b, &mb);
	CHECK_INT(record_mailbox_dec(b.data, b.len, &mb2), 0);
	CHECK_STR(mb2.name, "Lists/bulwark");
	CHECK_INT(mb2.uidnext, 7);
	CHECK_INT(record_mailbox_dec(b.data, b.len - 1, &mb2), -1);
	buf_clear(&b);
}

/* --- Deliveries as lmtpd sends them: descriptor and parsed record --- */

static int
memfd_of(const char *text, size_t len)
{
	int fd = memfd_create("msg", MFD_CLOEXEC);

	if (fd == -1 || write(fd, text, len) != (ssize_t)len)
		harness_fail(__FILE__, __LINE__, "memfd");
	return fd;
}

static struct deliver_job *
job_of(uint64_t acct, uint32_t mbox, const char *text, size_t size,
    const struct buf *rec)
{
	return deliver_job_new(acct, mbox, 0, size, rec->data, rec->len,
	    memfd_of(text, strlen(text)), NOW);
}

static void
record_of(const char *text, struct buf *rec)
{
	struct mime_msg *m = mime_parse(text, strlen(text));

	buf_reset(rec);
	if (m != NULL)
		msgrec_encode(m, 0, rec);
	mime_msg_free(&m);
}

TEST(test_deliver_job)
{
	static const char m1[] = "From: Bob <bob@example.net>\r\n"
	    "Subject: Lunch?\r\nMessage-ID: <m1@example.net>\r\n\r\n"
	    "At noon?\r\n";
	static const char m2[] = "From: Alice <alice@example.org>\r\n"
	    "Subject: Re: Lunch?\r\nMessage-ID: <m2@example.org>\r\n"
	    "In-Reply-To: <m1@example.net>\r\n\r\nYes.\r\n";
	struct buf r1 = BUF_INIT, r2 = BUF_INIT;
	struct store_error err;
	struct store_db db;
	struct deliver_job *j, *k;
	uint64_t acct, thread;
	int p[2];

	if (open_fresh(&db) == -1)
		return;
	acct = add_account(&db, "alice@example.org");
	record_of(m1, &r1);
	record_of(m2, &r2);
	j = job_of(acct, 1, m1, strlen(m1), &r1);
	CHECK_INT(deliver_prepare(j, &err), IPC_S_OK);
	CHECK_INT(j->fd, -1);
	CHECK_STR(j->in.message_id, "m1@example.net");
	CHECK_INT(mail_txn_run(&db, deliver_apply, j, &err), IPC_S_OK);
	CHECK_INT(j->out.uid, 1);
	CHECK_INT(j->in.received, NOW);
	thread = j->out.thread_id;
	CHECK_INT(blob_refs_of(&db, j->in.hash), 1);
	deliver_job_free(&j);
	CHECK(j == NULL);
	/* The reply joins the thread through its parsed In-Reply-To. */
	j = job_of(acct, 1, m2, strlen(m2), &r2);
	CHECK_INT(deliver_prepare(j, &err), IPC_S_OK);
	CHECK_INT(mail_txn_run(&db, deliver_apply, j, &err), IPC_S_OK);
	CHECK_INT(j->out.thread_id, thread);
	deliver_job_free(&j);
	/* A retry of the first: the duplicate, nothing stored. */
	j = job_of(acct, 1, m1, strlen(m1), &r1);
	CHECK_INT(deliver_prepare(j, &err), IPC_S_OK);
	CHECK_INT(mail_txn_run(&db, deliver_apply, j, &err), IPC_S_OK);
	CHECK(j->out.duplicate);
	CHECK_INT(j->out.uid, 1);
	deliver_job_free(&j);

	/* Refused before any write. */
	j = job_of(acct, 1, m1, strlen(m1) + 1, &r1);
	CHECK_INT(deliver_prepare(j, &err), IPC_S_INVALID);
	deliver_job_free(&j);
	j = job_of(acct, 1, m1, strlen(m1) - 1, &r1);
	CHECK_INT(deliver_prepare(j, &err), IPC_S_INVALID);
	deliver_job_free(&j);
	/* The record of a longer message describes bytes past the end. */
	k = job_of(acct, 1, m1, strlen(m1), &r2);
	CHECK_INT(deliver_prepare(k, &err), IPC_S_INVALID);
	deliver_job_free(&k);
	buf_reset(&r2);
	buf_append(&r2, "\001garbage", 8);
	j = job_of(acct, 1, m1, strlen(m1), &r2);
	CHECK_INT(deliver_prepare(j, &err), IPC_S_INVALID);
	deliver_job_free(&j);
	j = job_of(acct, 1, m1, 0, &r1);
	CHECK_INT(deliver_prepare(j, &err), IPC_S_INVALID);
	deliver_job_free(&j);
	j = job_of(acct, 1, m1, strlen(m1), &r1);
	j->max_size = 10;
	CHECK_INT(deliver_prepare(j, &err), IPC_S_TOOBIG);
	deliver_job_free(&j);
	if (pipe(p) == 0) {
		(void)!write(p[1], m1, 10);
		close(p[1]);
		j = deliver_job_new(acct, 1, 0, 10, r1.data, r1.len, p[0],
		    NOW);
		CHECK_INT(deliver_prepare(j, &err), IPC_S_INVALID);
		deliver_job_free(&j);
	}
	buf_clear(&r1);
	buf_clear(&r2);
	db_close(&db);
}

/* --- The redo log: deliveries replayed after a crash (dblog.h) --- */

/*
 * A digest of every named database's entries in key order: the store's
 * content, whatever pages LMDB put it in.
 */
static void
store_digest(struct store_db *db, uint8_t out[32])
{
	const MDB_dbi dbis[] = { db->meta, db->domains, db->accounts,
	    db->account_ids, db->aliases, db->alias_targets, db->mail_state,
	    db->mailboxes, db->messages, db->msgrecs, db->mbox_uids,
	    db->mbox_dates, db->mbox_threads, db->threads, db->msgids,
	    db->changes, db->vanished, db->dups, db->blobs, db->blob_refs,
	    db->catchall, db->metadata, db->subscriptions, db->uploads,
	    db->upload_expiry, db->identities, db->submissions,
	    db->relay_queue, db->vacations, db->pushsubs, db->blob_files,
	    db->msgimap, db->msghead };
	crypto_generichash_state h;
	MDB_cursor *c;
	MDB_txn *txn;
	MDB_val k, v;
	uint64_t n;
	size_t i;

	crypto_generichash_init(&h, NULL, 0, 32);
	CHECK(mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn) == 0);
	/*
	 * A database the store lacks (handle 0: msgimap before version 10,
	 * msghead before 11)
	 * and an empty one count the same: nothing.
	 */
	for (i = 0; i < sizeof(dbis) / sizeof(dbis[0]); i++) {
		if (dbis[i] == 0)
			continue;
		CHECK(mdb_cursor_open(txn, dbis[i], &c) == 0);
		n = 0;
		while (mdb_cursor_get(c, &k, &v, n == 0 ? MDB_FIRST :
		    MDB_NEXT) == 0) {
			n++;
			/* The content, whatever the layout's version. */
			if (dbis[i] == db->meta && k.mv_size == 7 &&
			    memcmp(k.mv_data, SCHEMA_KEY_VERSION, 7) == 0)
				continue;
			crypto_generichash_update(&h, (void *)&k.mv_size, 8);
			crypto_generichash_update(&h, k.mv_data, k.mv_size);
			crypto_generichash_update(&h, (void *)&v.mv_size, 8);
			crypto_generichash_update(&h, v.mv_data, v.mv_size);
		}
		if (n > 0)
			crypto_generichash_update(&h, (void *)&n, 8);
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	crypto_generichash_final(&h, out, 32);
}

/* Message i of the replay test: some replies, one big. */
static char *
replay_message(int i)
{
	struct buf b = BUF_INIT;
	int k;

	buf_printf(&b, "From: Sender %d <s%d@example.net>\r\n"
	    "To: <replay@example.org>\r\n"
	    "Subject: %sround %d\r\nMessage-ID: <replay-%d@example.net>\r\n",
	    i, i, i % 3 != 0 ? "Re: " : "", i / 3, i);
	if (i % 3 != 0)
		buf_printf(&b, "In-Reply-To: <replay-%d@example.net>\r\n",
		    i - i % 3);
	buf_printf(&b, "\r\n");
	/* Messages 4 and 7 are past the size of a blob file. */
	for (k = 0; k < (i == 4 || i == 7 ? 8000 : 20); k++)
		buf_printf(&b, "line %d of message %d, to fill it a little\r\n",
		    k, i);
	buf_append(&b, "", 1);
	return (char *)b.data;
}

/*
 * Delivers message i as the writer of txn.h does, with its record;
 * returns the record's length.
 */
static size_t
deliver_logged(struct store_db *db, uint64_t acct, int i)
{
	char *text = replay_message(i);
	struct buf rec = BUF_INIT, out = BUF_INIT;
	struct store_error err;
	struct deliver_job *j;
	struct iovec iov;
	MDB_txn *txn, *child;
	size_t at, len;

	char sender[64];

	record_of(text, &rec);
	j = job_of(acct, 1, text, strlen(text), &rec);
	j->db = db;	/* as storaged's: a big one's file written here */
	/* From the MTA: a vacation reply, when one is set, goes back. */
	snprintf(sender, sizeof(sender), "s%d@example.net", i);
	deliver_job_envelope(j, sender, "replay@example.org");
	CHECK_INT(deliver_prepare(j, &err), IPC_S_OK);
	CHECK_INT(db_begin(db, true, &txn, &err), IPC_S_OK);
	CHECK(mdb_txn_begin(db->env, txn, 0, &child) == 0);
	CHECK_INT(deliver_apply(db, child, j, &err), IPC_S_OK);
	CHECK(mdb_txn_commit(child) == 0);
	at = dblog_entry_begin(&out);
	CHECK(deliver_log(j, &out) == 0);
	dblog_entry_end(&out, at);
	iov.iov_base = out.data;
	iov.iov_len = out.len;
	CHECK(db_record(txn, &iov, 1, &err) == 0);
	db_commit_recorded(&txn);
	len = out.len;
	deliver_job_free(&j);
	buf_clear(&rec);
	buf_clear(&out);
	free(text);
	return len;
}

/*
 * Opens the store in dir as this storaged does (version 0), or as a
 * storaged of schema version `version` did (db_open then).
 */
static int
open_as(struct store_db *db, const char *dir, uint32_t version,
    struct store_error *err)
{
	if (version == 0)
		return db_open(db, dir, MAP_SIZE, err);
	if (db_env_open(db, dir, MAP_SIZE, err) == -1 ||
	    schema_upgrade_to(db, version, err) == -1 ||
	    schema_open_dbis_at(db, version, err) == -1 ||
	    blobfile_open(db, dir, err) == -1 || dblog_recover(db, err) == -1)
		return -1;
	return 0;
}

/*
 * In a child that then ends without closing the store in dir (opened as
 * open_as does with version): delivers messages [from, to), with a write
 * LMDB syncs (account name) before message synced_at, and gives back the
 * store's digest.
 */
static void
deliver_then_crash(const char *dir, uint32_t version, uint64_t acct,
    int from, int to, int synced_at, const char *name, uint8_t digest[32])
{
	struct dblog_stats st;
	struct store_error err;
	struct store_db db;
	int i, p[2], status;
	pid_t pid;

	CHECK(pipe(p) == 0);
	if ((pid = fork()) == 0) {
		if (open_as(&db, dir, version, &err) == -1)
			_exit(2);
		for (i = from; i <= to; i++) {
			if (i == synced_at)
				(void)add_account(&db, name);
			/* A big message's bytes are its file's. */
			if (i < to)
				CHECK(deliver_logged(&db, acct, i) < 4096);
		}
		dblog_stats(&db, &st);
		store_digest(&db, digest);
		if (st.records != (uint64_t)(to - from) ||
		    write(p[1], digest, 32) != 32)
			_exit(3);
		_exit(harness_failed_count() > 0 ? 4 : 0);
	}
	close(p[1]);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(read(p[0], digest, 32) == 32);
	close(p[0]);
}

/* Reopens the store in dir: what recovery found, and the same content. */
static void
reopen_check(const char *dir, bool unclean, uint64_t replayed,
    const uint8_t digest[32])
{
	struct dblog_stats st;
	struct store_error err;
	struct store_db db;
	uint8_t after[32];

	CHECK_INT(db_open(&db, dir, MAP_SIZE, &err), 0);
	dblog_stats(&db, &st);
	CHECK_INT(st.unclean, unclean);
	CHECK_INT(st.replayed, replayed);
	store_digest(&db, after);
	CHECK(memcmp(digest, after, sizeof(after)) == 0);
	db_close(&db);
}

TEST(test_deliver_replay)
{
	struct store_error err;
	struct vacation_op *vop;
	enum ipc_status st;
	struct store_db db;
	uint8_t digest[32];
	char dir[256];
	uint64_t acct;

	dblog_set_replay(deliver_replay);
	snprintf(dir, sizeof(dir), "%s", fresh_dir());
	CHECK_INT(db_open(&db, dir, MAP_SIZE, &err), 0);
	acct = add_account(&db, "replay@example.org");
	/*
	 * Every delivery queues a vacation reply: its replay must queue the
	 * same bytes (the digest covers the relay queue and the blobs).
	 */
	vop = vacation_op_new(acct, true, 0, 0, NULL, "Away.", NULL, &st,
	    &err);
	CHECK(vop != NULL);
	CHECK_INT(mail_txn_run(&db, vacation_set_op, vop, &err), IPC_S_OK);
	vacation_op_free(&vop);
	CHECK(deliver_logged(&db, acct, 0) < 4096);
	db_close(&db);
	/*
	 * Deliveries made durable by their records alone, a write synced
	 * by LMDB among them: the store restarts from the checkpoint made
	 * before the first record after that write, and replays the five
	 * after it (message 7 read back from its file).
	 */
	deliver_then_crash(dir, 0, acct, 1, 10, 5, "other@example.org",
	    digest);
	reopen_check(dir, true, 5, digest);
	/* Records, then a synced write last: the store is whole as it is. */
	deliver_then_crash(dir, 0, acct, 10, 13, 13, "third@example.org",
	    digest);
	reopen_check(dir, true, 0, digest);
	/* Closed cleanly: nothing left to replay, the same content. */
	reopen_check(dir, false, 0, digest);
}

/* Entries of dbi (0 for a database the store lacks). */
static size_t
entries(struct store_db *db, MDB_dbi dbi)
{
	MDB_txn *txn;
	MDB_stat ms;
	size_t n = 0;

	if (dbi == 0)
		return 0;
	CHECK(mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn) == 0);
	if (mdb_stat(txn, dbi, &ms) == 0)
		n = ms.ms_entries;
	mdb_txn_abort(txn);
	return n;
}

/*
 * A storaged of schema version 9 stopped with records pending: the next
 * start replays them on the layout they were written for, then migrates
 * (a migration first would take the first record's transaction id, and
 * recovery would refuse the log): to version 10, which writes the stored
 * items of every message, and 11, their search headers.
 */
TEST(test_upgrade_replays_first)
{
	struct dblog_stats st;
	struct store_error err;
	struct store_db db;
	uint8_t digest[32], after[32];
	char dir[256];
	uint64_t acct;
	uint32_t v = 0;
	MDB_dbi keep, keep_head;

	dblog_set_replay(deliver_replay);
	snprintf(dir, sizeof(dir), "%s", fresh_dir());
	if (open_as(&db, dir, 9, &err) != 0) {
		harness_fail(__FILE__, __LINE__, "open_as: %s", err.text);
		return;
	}
	acct = add_account(&db, "old@example.org");
	db_close(&db);
	/* Message 4 is big: a file, its record the hash. */
	deliver_then_crash(dir, 9, acct, 1, 5, 0, NULL, digest);
	if (db_open(&db, dir, MAP_SIZE, &err) != 0) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	dblog_stats(&db, &st);
	CHECK_INT(st.replayed, 4);
	CHECK_INT(schema_stored_version(&db, &v, &err), 0);
	CHECK_INT(v, SCHEMA_VERSION);
	/*
	 * The content the records made (the stored items and search
	 * headers the migration wrote aside: one of each for each message,
	 * replayed ones and the big one, a file, included).
	 */
	keep = db.msgimap;
	keep_head = db.msghead;
	db.msgimap = db.msghead = 0;
	store_digest(&db, after);
	db.msgimap = keep;
	db.msghead = keep_head;
	CHECK(memcmp(digest, after, sizeof(after)) == 0);
	CHECK_INT(entries(&db, db.msgimap), 4);
	CHECK_INT(entries(&db, db.msghead), 4);
	/* A delivery now stores them itself. */
	CHECK(deliver_logged(&db, acct, 5) < 4096);
	CHECK_INT(entries(&db, db.msgimap), 5);
	CHECK_INT(entries(&db, db.msghead), 5);
	db_close(&db);
}

/*
 * A big blob stored before version 9 is in LMDB, not a file: a delivery
 * of the same message shares it, and its record carries the bytes (the
 * replay has no file to read).
 */
TEST(test_deliver_log_inline_big)
{
	struct store_error err;
	struct store_db db;
	struct blobfile *files;
	uint8_t hash[MSG_HASH_LEN];
	char *text = replay_message(4);
	uint64_t acct;
	MDB_txn *txn;

	dblog_set_replay(deliver_replay);
	CHECK_INT(db_open(&db, fresh_dir(), MAP_SIZE, &err), 0);
	acct = add_account(&db, "inline@example.org");
	CHECK(blob_is_file_size(strlen(text)));
	blob_hash(text, strlen(text), hash);
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	files = db.files;
	db.files = NULL;	/* as before version 9 */
	CHECK_INT(blob_ref(&db, txn, hash, text, strlen(text), NULL, &err),
	    IPC_S_OK);
	db.files = files;
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	CHECK(deliver_logged(&db, acct, 4) > strlen(text));
	db_close(&db);
	free(text);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_records_roundtrip),
	TEST_ENTRY(test_new_account_mailboxes),
	TEST_ENTRY(test_migration_from_v1),
	TEST_ENTRY(test_deliver_stores_message),
	TEST_ENTRY(test_blob_dedup_and_refcount),
	TEST_ENTRY(test_threads),
	TEST_ENTRY(test_quota),
	TEST_ENTRY(test_changelog_order),
	TEST_ENTRY(test_vanished_uids),
	TEST_ENTRY(test_duplicate_suppression),
	TEST_ENTRY(test_duplicate_entries_pruned),
	TEST_ENTRY(test_rcpt_resolve),
	TEST_ENTRY(test_group_commit),
	TEST_ENTRY(test_slow_prepare_does_not_block),
	TEST_ENTRY(test_account_delete_purges_mail),
	TEST_ENTRY(test_deliver_job),
	TEST_ENTRY(test_deliver_replay),
	TEST_ENTRY(test_deliver_log_inline_big),
	TEST_ENTRY(test_upgrade_replays_first),
};

HARNESS_MAIN(tests)
