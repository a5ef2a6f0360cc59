/* SPDX-License-Identifier: ISC */
/*
 * test_store_email.c: the JMAP Mail requests of jmapd (store/email_op.h)
 * on a real LMDB environment in a temporary directory, called without
 * IPC: unread threads per mailbox, EMAIL_LIST paged by cursor over the
 * account and over a mailbox, EMAIL_GET with and without records and cut
 * into replies (done), EMAIL_BODY slices, THREAD_GET's order, and
 * EMAIL_SET: keywords replaced, added and removed, flag masks, mailboxes
 * joined and left (UIDs, VANISHED, counters), per-email failures that
 * change nothing while the others are kept, ifInState, destroy, and the
 * state and modseqs that move with a change and stay with a no-op.
 */
/* unit-deps: store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/name.c store/key.c store/record.c store/strvec.c store/domain.c store/account.c store/alias.c store/quota.c store/auth.c store/mailbox.c store/changelog.c store/message.c store/blob.c store/txn.c store/loopwake.c store/message_ops.c store/mail_msg_read.c store/mail_msg_sync.c store/readpool.c store/mail_msg_write.c store/mail_msg_append.c store/recent.c store/mbox_op.c store/subscription.c store/changes.c store/email_op.c */
#include "harness.h"
#include "compat.h"
#include "mime.h"
#include "msgrec.h"
#include "xmalloc.h"

#include "store/account.h"
#include "store/auth.h"
#include "store/blob.h"
#include "store/changelog.h"
#include "store/changes.h"
#include "store/db.h"
#include "store/domain.h"
#include "store/email_op.h"
#include "store/mail_msg.h"
#include "store/mailbox.h"
#include "store/message.h"
#include "store/txn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include <unistd.h>

#include <sodium.h>

#define MAP_SIZE	(64u << 20)
#define NOW		1700000000ull
#define INBOX		1
#define DRAFTS		2
#define TRASH		4
#define ARCHIVE		6

static const char *
fresh_dir(void)
{
	static char path[256];
	static int n;

	snprintf(path, sizeof(path), "%s/email%d", harness_tmpdir(), n++);
	return path;
}

/* A fresh environment with account alice; its id in *acct. */
static int
open_fresh(struct store_db *db, uint64_t *acct)
{
	char hash[crypto_pwhash_STRBYTES];
	char dom[NAME_DOMAIN_MAX + 1];
	struct store_error err;
	struct name_addr a;

	if (db_open(db, fresh_dir(), MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return -1;
	}
	*acct = 0;
	(void)domain_add(db, "example.org", NOW, dom, &err);
	if (auth_hash_password("secret", crypto_pwhash_OPSLIMIT_MIN,
	    crypto_pwhash_MEMLIMIT_MIN, hash) != 0 ||
	    account_check_new(db, "alice@example.org", &a, &err) != IPC_S_OK ||
	    account_add(db, &a, hash, 0, 0, NOW, acct, &err) != IPC_S_OK) {
		harness_fail(__FILE__, __LINE__, "account: %s", err.text);
		db_close(db);
		return -1;
	}
	return 0;
}

/*
 * Five messages: 1, 2 and 3 one thread (2 and 3 answer 1), 4 and 5 a
 * thread each.
 */
static const char *msgs[] = {
	"From: Bob <bob@example.net>\r\nSubject: One\r\n"
	    "Message-ID: <1@example.net>\r\n\r\nFirst body.\r\n",
	"From: Carol <carol@example.net>\r\nSubject: Re: One\r\n"
	    "Message-ID: <2@example.net>\r\nIn-Reply-To: <1@example.net>\r\n"
	    "\r\nSecond body, longer.\r\n",
	"From: Dave <dave@example.net>\r\nSubject: Re: One\r\n"
	    "Message-ID: <3@example.net>\r\nIn-Reply-To: <1@example.net>\r\n"
	    "\r\nThird.\r\n",
	"From: Erin <erin@example.net>\r\nSubject: Four\r\n"
	    "Message-ID: <4@example.net>\r\n\r\nFourth.\r\n",
	"From: Frank <frank@example.net>\r\nSubject: Five\r\n"
	    "Message-ID: <5@example.net>\r\n\r\nFifth, the last one.\r\n",
};

static void
record_of(const char *text, struct buf *rec)
{
	struct mime_msg *m = mime_parse(text, strlen(text));

	if (m != NULL)
		msgrec_encode(m, 0, rec);
	mime_msg_free(&m);
}

/*
 * Appends texts[0..n) to mbox, received at rcv[i] (NULL: NOW + i), with
 * flags and keywords (either may be NULL); the email ids go to ids.
 */
static enum ipc_status
append(struct store_db *db, uint64_t acct, uint32_t mbox,
    const char **texts, int n, const uint64_t *rcv, const uint64_t *flags,
    const char **kws, uint64_t *ids)
{
	struct buf sizes = BUF_INIT, fl = BUF_INIT, rb = BUF_INIT,
	    lens = BUF_INIT, recs = BUF_INIT, kwb = BUF_INIT;
	struct wire_u64list lsizes, lflags, lrcv, llens;
	struct wire_strlist lkws;
	struct mail_append *a;
	struct store_error err;
	enum ipc_status st;
	size_t before;
	uint32_t j;
	int fd, i;

	fd = memfd_create("msgs", MFD_CLOEXEC);
	for (i = 0; i < n; i++) {
		if (write(fd, texts[i], strlen(texts[i])) !=
		    (ssize_t)strlen(texts[i]))
			harness_fail(__FILE__, __LINE__, "write");
		wire_u64list_add(&sizes, strlen(texts[i]));
		wire_u64list_add(&fl, flags != NULL ? flags[i] : 0);
		wire_u64list_add(&rb, rcv != NULL ? rcv[i] : NOW + (uint64_t)i);
		wire_strlist_add(&kwb, kws != NULL ? kws[i] : "");
		before = recs.len;
		record_of(texts[i], &recs);
		wire_u64list_add(&lens, recs.len - before);
	}
	lsizes = (struct wire_u64list){ (uint32_t)n, sizes.data };
	lflags = (struct wire_u64list){ (uint32_t)n, fl.data };
	lrcv = (struct wire_u64list){ (uint32_t)n, rb.data };
	llens = (struct wire_u64list){ (uint32_t)n, lens.data };
	lkws = (struct wire_strlist){ (uint32_t)n, kwb.data, kwb.len };
	a = mail_append_new(acct, mbox, fd, NOW, &lsizes, &lflags, &lkws,
	    &lrcv, recs.data, recs.len, &llens, &st, &err);
	if (a != NULL) {
		if ((st = mail_append_prepare(a, &err)) == IPC_S_OK)
			st = mail_txn_run(db, mail_append_apply, a, &err);
		for (j = 0; st == IPC_S_OK && j < a->email_ids.n; j++)
			ids[j] = mail_vec_u64_get(&a->email_ids, j);
		mail_append_free(&a);
	}
	buf_clear(&sizes);
	buf_clear(&fl);
	buf_clear(&rb);
	buf_clear(&lens);
	buf_clear(&recs);
	buf_clear(&kwb);
	return st;
}

/* The five messages into the inbox; 4 is \Seen, 1 has keywords. */
static void
append5(struct store_db *db, uint64_t acct, uint64_t ids[5])
{
	static const uint64_t fl[] = { 0, 0, 0, MAIL_F_SEEN, 0 };
	static const char *kws[] = { "$Label1 work", "", "", "", "" };

	CHECK_INT(append(db, acct, INBOX, msgs, 5, NULL, fl, kws, ids),
	    IPC_S_OK);
}

/* A U64LIST of n values in b. */
static struct wire_u64list
u64s(struct buf *b, int n, ...)
{
	struct wire_u64list l;
	va_list ap;
	int i;

	buf_reset(b);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		wire_u64list_add(b, va_arg(ap, uint64_t));
	va_end(ap);
	l.count = (uint32_t)n;
	l.p = b->data;
	return l;
}

/* A vector of u64 as text, "1 2 3". */
static const char *
vec_text(const struct mail_vec *v)
{
	static char s[8][512];
	static int k;
	char *p = s[k++ % 8];
	uint32_t i;
	size_t len = 0;

	p[0] = '\0';
	for (i = 0; i < v->n && len < 400; i++)
		len += (size_t)snprintf(p + len, 512 - len, "%s%llu",
		    i > 0 ? " " : "",
		    (unsigned long long)mail_vec_u64_get(v, i));
	return p;
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
	CHECK_INT(mstate_get(db, txn, acct, &s, &err), IPC_S_OK);
	db_abort(&txn);
	return s.modseq;
}

static struct mailbox_rec
mbox_of(struct store_db *db, uint64_t acct, uint32_t id)
{
	struct store_error err;
	struct mailbox_rec mb;
	MDB_txn *txn;

	memset(&mb, 0, sizeof(mb));
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return mb;
	CHECK_INT(mailbox_get(db, txn, acct, id, &mb, &err), IPC_S_OK);
	db_abort(&txn);
	return mb;
}

/* Reads email id into *m; returns the status. */
static enum ipc_status
email_of(struct store_db *db, uint64_t acct, uint64_t id,
    struct message_rec *m)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = db_begin(db, false, &txn, &err)) != IPC_S_OK)
		return st;
	st = message_get(db, txn, acct, id, m, &err);
	db_abort(&txn);
	return st;
}

/* The keywords of email id, space-separated ("?" if it is gone). */
static const char *
kw_of(struct store_db *db, uint64_t acct, uint64_t id)
{
	static char s[4][512];
	static int k;
	static struct message_rec m;
	struct buf b = BUF_INIT;
	char *p = s[k++ % 4];

	if (email_of(db, acct, id, &m) != IPC_S_OK)
		return "?";
	mail_keywords_text(&m, &b);
	snprintf(p, 512, "%s", (const char *)b.data);
	buf_clear(&b);
	return p;
}

/* The UID of email id in mailbox mbox, 0 if it is not there. */
static uint32_t
uid_in(struct store_db *db, uint64_t acct, uint64_t id, uint32_t mbox)
{
	static struct message_rec m;
	int i;

	if (email_of(db, acct, id, &m) != IPC_S_OK ||
	    (i = msgops_mbox_index(&m, mbox)) == -1)
		return 0;
	return m.mbox[i].uid;
}

static enum ipc_status
list(struct store_db *db, uint64_t acct, uint32_t mbox, uint64_t cursor,
    uint32_t limit, size_t reply_max, struct email_list *r)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	memset(r, 0, sizeof(*r));
	if ((st = db_begin(db, false, &txn, &err)) != IPC_S_OK)
		return st;
	st = email_op_list(db, txn, acct, mbox, cursor, limit, reply_max, r,
	    &err);
	db_abort(&txn);
	return st;
}

static enum ipc_status
get(struct store_db *db, uint64_t acct, const struct wire_u64list *ids,
    bool with_record, size_t reply_max, struct email_get *r)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	memset(r, 0, sizeof(*r));
	if ((st = db_begin(db, false, &txn, &err)) != IPC_S_OK)
		return st;
	st = email_op_get(db, txn, acct, ids, with_record, reply_max, r,
	    &err);
	db_abort(&txn);
	return st;
}

/* Runs set es alone in a durable transaction. */
static enum ipc_status
run_set(struct store_db *db, struct email_set *es)
{
	struct store_error err;

	return mail_txn_run(db, email_set_op, es, &err);
}

/* Status i of the updates of es (or the destroys, if destroys). */
static uint64_t
status_of(const struct email_set *es, bool destroys, uint32_t i)
{
	const struct mail_vec *v = destroys ? &es->destroy_status :
	    &es->up_status;

	return i < v->n ? mail_vec_u64_get(v, i) : UINT64_MAX;
}

/* A simple update of flags and keywords only. */
static void
upd_kw(struct email_set *es, uint64_t id, uint32_t fadd, uint32_t fdel,
    const char *kwadd, const char *kwdel, bool replace)
{
	email_set_update(es, id, fadd, fdel, kwadd, kwdel, replace, false,
	    NULL, 0, NULL, 0);
}

/* An update of mailboxes only. */
static void
upd_mb(struct email_set *es, uint64_t id, bool replace, const uint64_t *add,
    uint32_t nadd, const uint64_t *del, uint32_t ndel)
{
	email_set_update(es, id, 0, 0, NULL, NULL, false, replace, add, nadd,
	    del, ndel);
}

/* The ids created, updated and destroyed of type since modseq, as text. */
static const char *
changes_text(struct store_db *db, uint64_t acct, enum change_type type,
    uint64_t since)
{
	static char s[4][256];
	static int k;
	struct store_error err;
	struct changes ch;
	char *p = s[k++ % 4];
	size_t i, len = 0;
	MDB_txn *txn;

	p[0] = '\0';
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return p;
	if (changes_collect(db, txn, acct, type, since, 0, &ch, &err) ==
	    IPC_S_OK) {
		len += (size_t)snprintf(p + len, 256 - len, "c");
		for (i = 0; i < ch.ncreated; i++)
			len += (size_t)snprintf(p + len, 256 - len, " %llu",
			    (unsigned long long)ch.created[i]);
		len += (size_t)snprintf(p + len, 256 - len, " u");
		for (i = 0; i < ch.nupdated; i++)
			len += (size_t)snprintf(p + len, 256 - len, " %llu",
			    (unsigned long long)ch.updated[i]);
		len += (size_t)snprintf(p + len, 256 - len, " d");
		for (i = 0; i < ch.ndestroyed; i++)
			len += (size_t)snprintf(p + len, 256 - len, " %llu",
			    (unsigned long long)ch.destroyed[i]);
		changes_clear(&ch);
	}
	db_abort(&txn);
	return p;
}

/* The UIDs MBOX_SYNC reports vanished from mbox since, as text. */
static const char *
vanished_since(struct store_db *db, uint64_t acct, uint32_t mbox,
    uint64_t since)
{
	static char s[4][256];
	static int k;
	struct store_error err;
	struct mail_sync r;
	char *p = s[k++ % 4];
	uint32_t i;
	size_t len = 0;
	MDB_txn *txn;

	p[0] = '\0';
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return p;
	if (mail_msg_sync_op(db, txn, acct, mbox, since, 0, 0, &r, &err) ==
	    IPC_S_OK)
		for (i = 0; i < r.vanished.n; i++)
			len += (size_t)snprintf(p + len, 256 - len, "%s%u",
			    i > 0 ? " " : "", mail_vec_u32_get(&r.vanished,
			    i));
	mail_sync_clear(&r);
	db_abort(&txn);
	return p;
}

/* The UIDs MBOX_SYNC reports changed in mbox since, as text. */
static const char *
changed_since(struct store_db *db, uint64_t acct, uint32_t mbox,
    uint64_t since)
{
	static char s[4][256];
	static int k;
	struct store_error err;
	struct mail_sync r;
	char *p = s[k++ % 4];
	uint32_t i;
	size_t len = 0;
	MDB_txn *txn;

	p[0] = '\0';
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return p;
	if (mail_msg_sync_op(db, txn, acct, mbox, since, 0, 0, &r, &err) ==
	    IPC_S_OK)
		for (i = 0; i < r.changed.n; i++)
			len += (size_t)snprintf(p + len, 256 - len, "%s%u",
			    i > 0 ? " " : "", mail_vec_u32_get(&r.changed,
			    i));
	mail_sync_clear(&r);
	db_abort(&txn);
	return p;
}

/* --- Reads --- */

TEST(test_mbox_threads)
{
	struct email_mbox_threads r;
	struct store_db db;
	struct store_error err;
	struct email_set *es;
	uint64_t acct, ids[5];
	MDB_txn *txn;

	if (open_fresh(&db, &acct) == -1)
		return;
	append5(&db, acct, ids);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(email_op_mbox_threads(&db, txn, acct, &r, &err), IPC_S_OK);
	db_abort(&txn);
	CHECK_INT(r.state, state_of(&db, acct));
	CHECK_STR(vec_text(&r.ids), "1 2 3 4 5 6");
	/* Threads 1-2-3 and 5 are unread in the inbox; 4 is \Seen. */
	CHECK_STR(vec_text(&r.unread_threads), "2 0 0 0 0 0");
	email_mbox_threads_clear(&r);

	/* Reading 1 and 2 leaves 3 unread: its thread still counts. */
	es = email_set_new(acct, 0);
	upd_kw(es, ids[0], MAIL_F_SEEN, 0, NULL, NULL, false);
	upd_kw(es, ids[1], MAIL_F_SEEN, 0, NULL, NULL, false);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	email_set_free(&es);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(email_op_mbox_threads(&db, txn, acct, &r, &err), IPC_S_OK);
	db_abort(&txn);
	CHECK_STR(vec_text(&r.unread_threads), "2 0 0 0 0 0");
	email_mbox_threads_clear(&r);
	/* A draft is not unread (RFC 8621 2); nor is a read one. */
	es = email_set_new(acct, 0);
	upd_kw(es, ids[2], MAIL_F_DRAFT, 0, NULL, NULL, false);
	upd_kw(es, ids[4], MAIL_F_SEEN, 0, NULL, NULL, false);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	email_set_free(&es);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(email_op_mbox_threads(&db, txn, acct, &r, &err), IPC_S_OK);
	db_abort(&txn);
	CHECK_STR(vec_text(&r.unread_threads), "0 0 0 0 0 0");
	email_mbox_threads_clear(&r);
	db_close(&db);
}

TEST(test_email_list)
{
	struct email_list r;
	struct store_db db;
	struct email_set *es;
	struct buf b = BUF_INIT;
	uint64_t acct, ids[5], arch[1] = { ARCHIVE }, next, state;
	uint32_t rounds;

	if (open_fresh(&db, &acct) == -1)
		return;
	append5(&db, acct, ids);
	CHECK_INT(ids[0], 1);
	CHECK_INT(ids[4], 5);
	state = state_of(&db, acct);

	/* The account, two at a time: the cursor is the last email id. */
	CHECK_INT(list(&db, acct, 0, 0, 2, 0, &r), IPC_S_OK);
	CHECK_INT(r.state, state);
	CHECK_STR(vec_text(&r.rows.ids), "1 2");
	CHECK_INT(r.next, 2);
	/* Thread, received, size, flags, keywords and mailboxes. */
	CHECK_STR(vec_text(&r.rows.thread_ids), "1 1");
	CHECK_INT(mail_vec_u64_get(&r.rows.received, 1), NOW + 1);
	CHECK_INT(mail_vec_u64_get(&r.rows.sizes, 1), strlen(msgs[1]));
	CHECK_STR(vec_text(&r.rows.flags), "0 0");
	CHECK_INT(r.rows.keywords.n, 2);
	if (r.rows.keywords.n == 2) {
		CHECK_STR(r.rows.keywords.v[0], "$Label1 work");
		CHECK_STR(r.rows.keywords.v[1], "");
	}
	CHECK_STR(vec_text(&r.rows.mbox_counts), "1 1");
	CHECK_STR(vec_text(&r.rows.mailbox_ids), "1 1");
	CHECK_INT(r.rows.hashes.len, 0);	/* EMAIL_GET's only */
	email_list_clear(&r);
	CHECK_INT(list(&db, acct, 0, 2, 2, 0, &r), IPC_S_OK);
	CHECK_STR(vec_text(&r.rows.ids), "3 4");
	CHECK_STR(vec_text(&r.rows.thread_ids), "1 2");
	CHECK_STR(vec_text(&r.rows.flags), "0 1");
	CHECK_INT(r.next, 4);
	email_list_clear(&r);
	CHECK_INT(list(&db, acct, 0, 4, 2, 0, &r), IPC_S_OK);
	CHECK_STR(vec_text(&r.rows.ids), "5");
	CHECK_INT(r.next, 0);
	email_list_clear(&r);
	/* Exactly the rest: no more after it. */
	CHECK_INT(list(&db, acct, 0, 3, 2, 0, &r), IPC_S_OK);
	CHECK_STR(vec_text(&r.rows.ids), "4 5");
	CHECK_INT(r.next, 0);
	email_list_clear(&r);
	/* Limit 0 is the most; past the end, nothing. */
	CHECK_INT(list(&db, acct, 0, 0, 0, 0, &r), IPC_S_OK);
	CHECK_STR(vec_text(&r.rows.ids), "1 2 3 4 5");
	CHECK_INT(r.next, 0);
	email_list_clear(&r);
	CHECK_INT(list(&db, acct, 0, 5, 0, 0, &r), IPC_S_OK);
	CHECK_INT(r.rows.ids.n, 0);
	CHECK_INT(r.next, 0);
	email_list_clear(&r);
	CHECK_INT(list(&db, acct, 0, UINT64_MAX, 0, 0, &r), IPC_S_OK);
	CHECK_INT(r.rows.ids.n, 0);
	email_list_clear(&r);

	/* A reply budget of one byte: one email each, all of them in turn. */
	for (next = 0, rounds = 0; rounds < 10; rounds++) {
		CHECK_INT(list(&db, acct, 0, next, 0, 1, &r), IPC_S_OK);
		CHECK_INT(r.rows.ids.n, 1);
		if (r.rows.ids.n == 1)
			CHECK_INT(mail_vec_u64_get(&r.rows.ids, 0), rounds + 1);
		next = r.next;
		email_list_clear(&r);
		if (next == 0)
			break;
	}
	CHECK_INT(rounds, 4);

	/* 4 and 2 join the archive (UIDs 1, 2 there, in that order). */
	es = email_set_new(acct, 0);
	upd_mb(es, ids[3], false, arch, 1, NULL, 0);
	upd_mb(es, ids[1], false, arch, 1, NULL, 0);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	email_set_free(&es);
	/* A mailbox in UID order; the cursor is the last UID. */
	CHECK_INT(list(&db, acct, ARCHIVE, 0, 1, 0, &r), IPC_S_OK);
	CHECK_STR(vec_text(&r.rows.ids), "4");
	CHECK_INT(r.next, 1);
	CHECK_STR(vec_text(&r.rows.mbox_counts), "2");
	CHECK_STR(vec_text(&r.rows.mailbox_ids), "1 6");
	email_list_clear(&r);
	CHECK_INT(list(&db, acct, ARCHIVE, 1, 1, 0, &r), IPC_S_OK);
	CHECK_STR(vec_text(&r.rows.ids), "2");
	CHECK_INT(r.next, 0);
	email_list_clear(&r);
	CHECK_INT(list(&db, acct, INBOX, 3, 0, 0, &r), IPC_S_OK);
	CHECK_STR(vec_text(&r.rows.ids), "4 5");
	email_list_clear(&r);
	/* A mailbox that does not exist has no emails; no error. */
	CHECK_INT(list(&db, acct, 999, 0, 0, 0, &r), IPC_S_OK);
	CHECK_INT(r.rows.ids.n, 0);
	CHECK_INT(r.next, 0);
	CHECK_INT(r.state, state_of(&db, acct));
	email_list_clear(&r);
	/* Another account sees none of alice's. */
	CHECK_INT(list(&db, acct + 100, 0, 0, 0, 0, &r), IPC_S_OK);
	CHECK_INT(r.rows.ids.n, 0);
	CHECK_INT(r.state, 0);
	email_list_clear(&r);
	buf_clear(&b);
	db_close(&db);
}

TEST(test_email_get)
{
	struct email_get r;
	struct store_db db;
	struct buf b = BUF_INIT, rec = BUF_INIT;
	struct wire_u64list ids;
	uint8_t h[MSG_HASH_LEN];
	uint64_t acct, e[5];

	if (open_fresh(&db, &acct) == -1)
		return;
	append5(&db, acct, e);
	/* Found in the order asked; unknown ids are left out. */
	ids = u64s(&b, 4, (uint64_t)3, (uint64_t)99, (uint64_t)1,
	    (uint64_t)0);
	CHECK_INT(get(&db, acct, &ids, false, 0, &r), IPC_S_OK);
	CHECK_INT(r.state, state_of(&db, acct));
	CHECK_INT(r.done, 4);
	CHECK_STR(vec_text(&r.rows.ids), "3 1");
	CHECK_STR(vec_text(&r.rows.thread_ids), "1 1");
	CHECK_STR(vec_text(&r.rows.received), "1700000002 1700000000");
	CHECK_INT(mail_vec_u64_get(&r.rows.sizes, 0), strlen(msgs[2]));
	CHECK_INT(r.rows.keywords.n, 2);
	if (r.rows.keywords.n == 2)
		CHECK_STR(r.rows.keywords.v[1], "$Label1 work");
	CHECK_STR(vec_text(&r.rows.mbox_counts), "1 1");
	CHECK_STR(vec_text(&r.rows.mailbox_ids), "1 1");
	CHECK_INT(r.rows.hashes.len, 2 * MSG_HASH_LEN);
	blob_hash(msgs[0], strlen(msgs[0]), h);
	CHECK(r.rows.hashes.len == 2 * MSG_HASH_LEN &&
	    memcmp(r.rows.hashes.data + MSG_HASH_LEN, h, MSG_HASH_LEN) == 0);
	CHECK_INT(r.rows.records.len, 0);
	CHECK_INT(r.rows.record_lens.n, 0);
	email_get_clear(&r);

	/* With the records: the parsed record of each, in turn. */
	ids = u64s(&b, 2, (uint64_t)2, (uint64_t)5);
	CHECK_INT(get(&db, acct, &ids, true, 0, &r), IPC_S_OK);
	CHECK_INT(r.done, 2);
	record_of(msgs[1], &rec);
	record_of(msgs[4], &rec);
	CHECK_INT(r.rows.record_lens.n, 2);
	CHECK_INT(r.rows.records.len, rec.len);
	CHECK(r.rows.records.len == rec.len &&
	    memcmp(r.rows.records.data, rec.data, rec.len) == 0);
	if (r.rows.record_lens.n == 2)
		CHECK_INT(mail_vec_u64_get(&r.rows.record_lens, 1) +
		    mail_vec_u64_get(&r.rows.record_lens, 0), rec.len);
	email_get_clear(&r);

	/*
	 * A small reply: the first found goes whatever its size, then
	 * done says where to ask again (the unknown id before it counts).
	 */
	ids = u64s(&b, 4, (uint64_t)99, (uint64_t)2, (uint64_t)3,
	    (uint64_t)4);
	CHECK_INT(get(&db, acct, &ids, true, 1, &r), IPC_S_OK);
	CHECK_INT(r.done, 2);
	CHECK_STR(vec_text(&r.rows.ids), "2");
	email_get_clear(&r);
	ids = u64s(&b, 2, (uint64_t)3, (uint64_t)4);
	CHECK_INT(get(&db, acct, &ids, true, 1, &r), IPC_S_OK);
	CHECK_INT(r.done, 1);
	CHECK_STR(vec_text(&r.rows.ids), "3");
	email_get_clear(&r);
	/* Room for about two. */
	ids = u64s(&b, 3, (uint64_t)3, (uint64_t)4, (uint64_t)5);
	CHECK_INT(get(&db, acct, &ids, false, 250, &r), IPC_S_OK);
	CHECK_INT(r.done, 2);
	CHECK_STR(vec_text(&r.rows.ids), "3 4");
	email_get_clear(&r);
	/* Nothing found: all covered. */
	ids = u64s(&b, 2, (uint64_t)77, (uint64_t)78);
	CHECK_INT(get(&db, acct, &ids, true, 1, &r), IPC_S_OK);
	CHECK_INT(r.done, 2);
	CHECK_INT(r.rows.ids.n, 0);
	email_get_clear(&r);
	/* Another account's id is not found. */
	ids = u64s(&b, 1, (uint64_t)1);
	CHECK_INT(get(&db, acct + 100, &ids, false, 0, &r), IPC_S_OK);
	CHECK_INT(r.rows.ids.n, 0);
	email_get_clear(&r);
	buf_clear(&b);
	buf_clear(&rec);
	db_close(&db);
}

TEST(test_email_body)
{
	struct store_db db;
	struct store_error err;
	struct buf out = BUF_INIT;
	uint64_t acct, e[5], size = 0;
	size_t len = strlen(msgs[1]);
	MDB_txn *txn;

	if (open_fresh(&db, &acct) == -1)
		return;
	append5(&db, acct, e);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(email_op_body(&db, txn, acct, e[1], 0, 1 << 20, &size,
	    &out, &err), IPC_S_OK);
	CHECK_INT(size, len);
	CHECK(out.len == len && memcmp(out.data, msgs[1], len) == 0);
	buf_reset(&out);
	CHECK_INT(email_op_body(&db, txn, acct, e[1], 6, 5, &size, &out,
	    &err), IPC_S_OK);
	CHECK(out.len == 5 && memcmp(out.data, msgs[1] + 6, 5) == 0);
	buf_reset(&out);
	CHECK_INT(email_op_body(&db, txn, acct, e[1], len - 3, 100, &size,
	    &out, &err), IPC_S_OK);
	CHECK_INT(out.len, 3);
	buf_reset(&out);
	CHECK_INT(email_op_body(&db, txn, acct, e[1], len + 10, 100, &size,
	    &out, &err), IPC_S_OK);
	CHECK_INT(out.len, 0);
	CHECK_INT(size, len);
	CHECK_INT(email_op_body(&db, txn, acct, 99, 0, 100, &size, &out,
	    &err), IPC_S_NOTFOUND);
	CHECK_INT(email_op_body(&db, txn, acct + 100, e[1], 0, 100, &size,
	    &out, &err), IPC_S_NOTFOUND);
	db_abort(&txn);
	buf_clear(&out);
	db_close(&db);
}

TEST(test_thread_get)
{
	struct email_threads r;
	struct store_db db;
	struct store_error err;
	struct buf b = BUF_INIT;
	struct wire_u64list ids;
	/* 1 arrives last; 2 and 3 at the same time (ties by email id). */
	static const uint64_t rcv[] = { NOW + 10, NOW + 5, NOW + 5, NOW,
	    NOW + 1 };
	uint64_t acct, e[5], state;
	MDB_txn *txn;

	if (open_fresh(&db, &acct) == -1)
		return;
	CHECK_INT(append(&db, acct, INBOX, msgs, 5, rcv, NULL, NULL, e),
	    IPC_S_OK);
	state = state_of(&db, acct);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	ids = u64s(&b, 4, (uint64_t)3, (uint64_t)99, (uint64_t)1,
	    (uint64_t)2);
	CHECK_INT(email_op_threads(&db, txn, acct, &ids, 0, &r, &err),
	    IPC_S_OK);
	CHECK_INT(r.state, state);
	CHECK_STR(vec_text(&r.found), "3 1 2");
	CHECK_STR(vec_text(&r.counts), "1 3 1");
	CHECK_STR(vec_text(&r.email_ids), "5 2 3 1 4");
	email_threads_clear(&r);
	/* Too large for the reply: refused, not cut. */
	ids = u64s(&b, 2, (uint64_t)1, (uint64_t)2);
	CHECK_INT(email_op_threads(&db, txn, acct, &ids, 50, &r, &err),
	    IPC_S_TOOBIG);
	email_threads_clear(&r);
	db_abort(&txn);

	/* A destroyed member leaves its thread. */
	{
		struct email_set *es = email_set_new(acct, 0);

		email_set_destroy(es, e[1]);
		CHECK_INT(run_set(&db, es), IPC_S_OK);
		email_set_free(&es);
	}
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	ids = u64s(&b, 1, (uint64_t)1);
	CHECK_INT(email_op_threads(&db, txn, acct, &ids, 0, &r, &err),
	    IPC_S_OK);
	CHECK_STR(vec_text(&r.email_ids), "3 1");
	email_threads_clear(&r);
	db_abort(&txn);
	buf_clear(&b);
	db_close(&db);
}

/* --- EMAIL_SET --- */

TEST(test_set_keywords_flags)
{
	struct store_db db;
	struct email_set *es;
	struct message_rec *m = xmalloc(sizeof(*m));
	struct mailbox_rec mb;
	uint64_t acct, e[5], s0, s1, hms;

	if (open_fresh(&db, &acct) == -1) {
		free(m);
		return;
	}
	append5(&db, acct, e);
	CHECK_STR(kw_of(&db, acct, e[0]), "$Label1 work");
	mb = mbox_of(&db, acct, INBOX);
	CHECK_INT(mb.unread, 4);

	/* Replace: every keyword goes, then those given come. */
	s0 = state_of(&db, acct);
	es = email_set_new(acct, 0);
	upd_kw(es, e[0], 0, 0, "foo $Label2", NULL, true);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_INT(status_of(es, false, 0), IPC_S_OK);
	CHECK_INT(es->old_state, s0);
	s1 = state_of(&db, acct);
	CHECK(s1 > s0);
	CHECK_INT(es->new_state, s1);
	CHECK_INT(es->up_texts.n, 1);
	if (es->up_texts.n == 1)
		CHECK_STR(es->up_texts.v[0], "");
	/* The inbox changed, its HIGHESTMODSEQ the last modseq given. */
	CHECK_INT(es->touched.n, 1);
	hms = msgops_mboxes_hms(&es->touched, INBOX);
	CHECK_INT(hms, s1);
	CHECK_INT(mbox_of(&db, acct, INBOX).highestmodseq, s1);
	email_set_free(&es);
	CHECK_STR(kw_of(&db, acct, e[0]), "foo $Label2");
	/* IMAP's sync sees UID 1 changed, JMAP's changes email 1 updated. */
	CHECK_STR(changed_since(&db, acct, INBOX, s0), "1");
	CHECK_STR(changes_text(&db, acct, CHANGE_EMAIL, s0), "c u 1 d");
	CHECK_STR(changes_text(&db, acct, CHANGE_MAILBOX, s0), "c u 1 d");
	CHECK_INT(email_of(&db, acct, e[0], m), IPC_S_OK);
	CHECK(m->mbox[0].modseq > s0 && m->mbox[0].modseq < s1);

	/* Delete (any case) and add in one update. */
	es = email_set_new(acct, 0);
	upd_kw(es, e[0], 0, 0, "bar", "FOO $label2 nothere", false);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_INT(status_of(es, false, 0), IPC_S_OK);
	email_set_free(&es);
	CHECK_STR(kw_of(&db, acct, e[0]), "bar");

	/*
	 * No-ops: a keyword it has in another case, a flag it has not to
	 * remove, a replace by the same set.  Nothing moves.
	 */
	s0 = state_of(&db, acct);
	hms = mbox_of(&db, acct, INBOX).highestmodseq;
	es = email_set_new(acct, 0);
	upd_kw(es, e[0], 0, MAIL_F_FLAGGED, "BAR", NULL, false);
	upd_kw(es, e[0], 0, 0, "Bar", NULL, true);
	upd_kw(es, e[3], MAIL_F_SEEN, 0, NULL, NULL, false);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_STR(vec_text(&es->up_status), "0 0 0");
	CHECK_INT(es->old_state, s0);
	CHECK_INT(es->new_state, s0);
	CHECK_INT(es->touched.n, 0);
	email_set_free(&es);
	CHECK_INT(state_of(&db, acct), s0);
	CHECK_INT(mbox_of(&db, acct, INBOX).highestmodseq, hms);
	CHECK_STR(kw_of(&db, acct, e[0]), "bar");
	CHECK_STR(changed_since(&db, acct, INBOX, s0), "");

	/* Flag masks: (old & ~del) | add, with the unread counter. */
	es = email_set_new(acct, 0);
	upd_kw(es, e[0], MAIL_F_SEEN | MAIL_F_FLAGGED, 0, NULL, NULL, false);
	upd_kw(es, e[3], MAIL_F_ANSWERED, MAIL_F_SEEN, NULL, NULL, false);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_STR(vec_text(&es->up_status), "0 0");
	email_set_free(&es);
	CHECK_INT(email_of(&db, acct, e[0], m), IPC_S_OK);
	CHECK_INT(m->flags, MAIL_F_SEEN | MAIL_F_FLAGGED);
	CHECK_INT(email_of(&db, acct, e[3], m), IPC_S_OK);
	CHECK_INT(m->flags, MAIL_F_ANSWERED);
	CHECK_INT(mbox_of(&db, acct, INBOX).unread, 4);
	CHECK_STR(changed_since(&db, acct, INBOX, s0), "1 4");
	es = email_set_new(acct, 0);
	upd_kw(es, e[0], MAIL_F_DRAFT, MAIL_F_SEEN | MAIL_F_FLAGGED, NULL,
	    NULL, false);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	email_set_free(&es);
	CHECK_INT(email_of(&db, acct, e[0], m), IPC_S_OK);
	CHECK_INT(m->flags, MAIL_F_DRAFT);
	CHECK_INT(mbox_of(&db, acct, INBOX).unread, 5);

	/* A bad keyword fails its email only; too many is LIMIT. */
	s0 = state_of(&db, acct);
	es = email_set_new(acct, 0);
	upd_kw(es, e[1], MAIL_F_SEEN, 0, "ok bad\\kw", NULL, false);
	upd_kw(es, e[2], 0, 0, "fine", NULL, false);
	upd_kw(es, e[4], 0, 0, "a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 b0 b1 b2 b3 "
	    "b4 b5 b6 b7 b8 b9 c0 c1 c2 c3 c4 c5 c6 c7 c8 c9 d0 d1 d2", NULL,
	    false);
	upd_kw(es, 99, MAIL_F_SEEN, 0, NULL, NULL, false);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_INT(status_of(es, false, 0), IPC_S_INVALID);
	CHECK_INT(status_of(es, false, 1), IPC_S_OK);
	CHECK_INT(status_of(es, false, 2), IPC_S_LIMIT);
	CHECK_INT(status_of(es, false, 3), IPC_S_NOTFOUND);
	CHECK_INT(es->up_texts.n, 4);
	if (es->up_texts.n == 4) {
		CHECK(strstr(es->up_texts.v[0], "bad keyword") != NULL);
		CHECK_STR(es->up_texts.v[1], "");
		CHECK(strstr(es->up_texts.v[3], "no email 99") != NULL);
	}
	email_set_free(&es);
	CHECK_INT(email_of(&db, acct, e[1], m), IPC_S_OK);
	CHECK_INT(m->flags, 0);
	CHECK_STR(kw_of(&db, acct, e[1]), "");
	CHECK_STR(kw_of(&db, acct, e[2]), "fine");
	CHECK_STR(kw_of(&db, acct, e[4]), "");
	CHECK_STR(changes_text(&db, acct, CHANGE_EMAIL, s0), "c u 3 d");
	free(m);
	db_close(&db);
}

TEST(test_set_mailboxes)
{
	struct store_db db;
	struct email_set *es;
	struct message_rec *m = xmalloc(sizeof(*m));
	uint64_t acct, e[5], s0, s1, inbox_hms;
	uint64_t arch[] = { ARCHIVE }, inbox[] = { INBOX },
	    trash[] = { TRASH }, two[] = { TRASH, DRAFTS }, gone[] = { 999 };
	uint32_t uid;

	if (open_fresh(&db, &acct) == -1) {
		free(m);
		return;
	}
	append5(&db, acct, e);
	CHECK_INT(mbox_of(&db, acct, ARCHIVE).uidnext, 1);

	/* Joining: a new UID there, the email stays the same. */
	s0 = state_of(&db, acct);
	es = email_set_new(acct, 0);
	upd_mb(es, e[0], false, arch, 1, NULL, 0);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_INT(status_of(es, false, 0), IPC_S_OK);
	/* Only the mailbox joined changed (as a MOVE's target). */
	CHECK_INT(es->touched.n, 1);
	CHECK(msgops_mboxes_hms(&es->touched, ARCHIVE) > s0);
	email_set_free(&es);
	CHECK_INT(uid_in(&db, acct, e[0], ARCHIVE), 1);
	CHECK_INT(uid_in(&db, acct, e[0], INBOX), 1);
	CHECK_INT(mbox_of(&db, acct, ARCHIVE).uidnext, 2);
	CHECK_INT(mbox_of(&db, acct, ARCHIVE).total, 1);
	CHECK_INT(mbox_of(&db, acct, ARCHIVE).unread, 1);
	CHECK_INT(mbox_of(&db, acct, ARCHIVE).threads, 1);
	CHECK_INT(mbox_of(&db, acct, INBOX).total, 5);
	CHECK_STR(changed_since(&db, acct, ARCHIVE, s0), "1");
	CHECK_STR(changed_since(&db, acct, INBOX, s0), "");
	CHECK_STR(changes_text(&db, acct, CHANGE_EMAIL, s0), "c u 1 d");
	CHECK_STR(changes_text(&db, acct, CHANGE_MAILBOX, s0), "c u 6 d");

	/* Leaving: the UID vanishes there, the counters follow. */
	s0 = state_of(&db, acct);
	inbox_hms = mbox_of(&db, acct, INBOX).highestmodseq;
	es = email_set_new(acct, 0);
	upd_mb(es, e[0], false, NULL, 0, inbox, 1);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_INT(status_of(es, false, 0), IPC_S_OK);
	email_set_free(&es);
	CHECK_INT(uid_in(&db, acct, e[0], INBOX), 0);
	CHECK_INT(mbox_of(&db, acct, INBOX).total, 4);
	CHECK_INT(mbox_of(&db, acct, INBOX).unread, 3);
	CHECK(mbox_of(&db, acct, INBOX).highestmodseq > inbox_hms);
	CHECK_STR(vanished_since(&db, acct, INBOX, inbox_hms), "1");
	CHECK_STR(vanished_since(&db, acct, ARCHIVE, s0), "");
	CHECK_INT(email_of(&db, acct, e[0], m), IPC_S_OK);
	CHECK_INT(m->nmbox, 1);

	/* Replace: leaves every mailbox not given, joins those given. */
	es = email_set_new(acct, 0);
	upd_mb(es, e[0], true, two, 2, NULL, 0);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_INT(status_of(es, false, 0), IPC_S_OK);
	CHECK_INT(es->touched.n, 3);
	email_set_free(&es);
	CHECK_INT(uid_in(&db, acct, e[0], ARCHIVE), 0);
	CHECK_INT(uid_in(&db, acct, e[0], TRASH), 1);
	CHECK_INT(uid_in(&db, acct, e[0], DRAFTS), 1);
	CHECK_INT(mbox_of(&db, acct, ARCHIVE).total, 0);
	CHECK_INT(mbox_of(&db, acct, ARCHIVE).threads, 0);
	CHECK_STR(vanished_since(&db, acct, ARCHIVE, s0), "1");
	/* The same set again: nothing. */
	s1 = state_of(&db, acct);
	es = email_set_new(acct, 0);
	upd_mb(es, e[0], true, two, 2, NULL, 0);
	upd_mb(es, e[1], false, inbox, 1, NULL, 0);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_STR(vec_text(&es->up_status), "0 0");
	CHECK_INT(es->new_state, s1);
	email_set_free(&es);
	CHECK_INT(state_of(&db, acct), s1);

	/*
	 * An update that would leave its email in no mailbox fails alone:
	 * the update before and after it in the same request are kept.
	 */
	es = email_set_new(acct, 0);
	upd_kw(es, e[2], MAIL_F_FLAGGED, 0, NULL, NULL, false);
	email_set_update(es, e[1], MAIL_F_SEEN, 0, "kept", NULL, false,
	    false, NULL, 0, inbox, 1);
	email_set_update(es, e[3], 0, 0, NULL, NULL, false, true, NULL, 0,
	    NULL, 0);
	upd_mb(es, e[4], true, trash, 1, NULL, 0);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_STR(vec_text(&es->up_status), "0 1 1 0");
	if (es->up_texts.n == 4)
		CHECK(strstr(es->up_texts.v[1], "stay in a mailbox") !=
		    NULL);
	CHECK(es->new_state > s1);
	email_set_free(&es);
	CHECK_INT(email_of(&db, acct, e[1], m), IPC_S_OK);
	CHECK_INT(m->flags, 0);
	CHECK_INT(m->nmbox, 1);
	CHECK_STR(kw_of(&db, acct, e[1]), "");
	CHECK_INT(uid_in(&db, acct, e[1], INBOX), 2);
	CHECK_INT(uid_in(&db, acct, e[3], INBOX), 4);
	CHECK_INT(email_of(&db, acct, e[2], m), IPC_S_OK);
	CHECK_INT(m->flags, MAIL_F_FLAGGED);
	CHECK_INT(uid_in(&db, acct, e[4], INBOX), 0);
	CHECK_INT(uid_in(&db, acct, e[4], TRASH), 2);
	CHECK_INT(mbox_of(&db, acct, TRASH).total, 2);

	/* A mailbox that does not exist: NOTFOUND, nothing changes. */
	s0 = state_of(&db, acct);
	es = email_set_new(acct, 0);
	email_set_update(es, e[2], MAIL_F_SEEN, 0, NULL, NULL, false, false,
	    arch, 1, gone, 1);
	upd_mb(es, e[3], false, gone, 1, NULL, 0);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_STR(vec_text(&es->up_status), "2 2");
	if (es->up_texts.n == 2)
		CHECK(strstr(es->up_texts.v[0], "no mailbox 999") != NULL);
	email_set_free(&es);
	CHECK_INT(state_of(&db, acct), s0);
	CHECK_INT(uid_in(&db, acct, e[2], ARCHIVE), 0);

	/*
	 * A failure after writes: the archive is out of UIDs, so joining
	 * it fails after the join of the trash was written; the nested
	 * transaction takes that back too.
	 */
	{
		struct store_error err;
		struct mailbox_rec mb;
		MDB_txn *txn;

		CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
		CHECK_INT(mailbox_get(&db, txn, acct, ARCHIVE, &mb, &err),
		    IPC_S_OK);
		mb.uidnext = UINT32_MAX;
		CHECK_INT(mailbox_put(&db, txn, acct, ARCHIVE, &mb, &err),
		    IPC_S_OK);
		CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	}
	{
		uint64_t both[] = { TRASH, ARCHIVE };

		s0 = state_of(&db, acct);
		es = email_set_new(acct, 0);
		email_set_update(es, e[2], MAIL_F_SEEN, 0, "x", NULL, false,
		    false, both, 2, NULL, 0);
		upd_kw(es, e[3], 0, 0, "y", NULL, false);
		CHECK_INT(run_set(&db, es), IPC_S_OK);
		CHECK_STR(vec_text(&es->up_status), "10 0");
		CHECK_INT(es->touched.n, 1);
		email_set_free(&es);
		CHECK_INT(uid_in(&db, acct, e[2], TRASH), 0);
		CHECK_INT(mbox_of(&db, acct, TRASH).total, 2);
		CHECK_INT(mbox_of(&db, acct, TRASH).uidnext, 3);
		CHECK_INT(email_of(&db, acct, e[2], m), IPC_S_OK);
		CHECK_INT(m->flags, MAIL_F_FLAGGED);
		CHECK_STR(kw_of(&db, acct, e[2]), "");
		CHECK_STR(kw_of(&db, acct, e[3]), "y");
		CHECK_STR(changes_text(&db, acct, CHANGE_EMAIL, s0),
		    "c u 4 d");
	}
	/* Flags and a join together: every membership gets the modseq. */
	s0 = state_of(&db, acct);
	es = email_set_new(acct, 0);
	email_set_update(es, e[3], MAIL_F_FLAGGED, 0, NULL, NULL, false,
	    false, trash, 1, NULL, 0);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_INT(status_of(es, false, 0), IPC_S_OK);
	email_set_free(&es);
	uid = uid_in(&db, acct, e[3], TRASH);
	CHECK_INT(uid, 3);
	CHECK_INT(email_of(&db, acct, e[3], m), IPC_S_OK);
	CHECK_INT(m->nmbox, 2);
	CHECK(m->nmbox == 2 && m->mbox[0].modseq == m->mbox[1].modseq &&
	    m->mbox[0].modseq > s0);
	CHECK_INT(m->flags, MAIL_F_SEEN | MAIL_F_FLAGGED);
	/* It is \Seen: the trash's unread count stays. */
	CHECK_INT(mbox_of(&db, acct, TRASH).unread, 2);
	CHECK_INT(mbox_of(&db, acct, TRASH).total, 3);
	/* A join alone: a modseq in the mailbox joined only. */
	s0 = state_of(&db, acct);
	es = email_set_new(acct, 0);
	upd_mb(es, e[3], false, arch, 1, NULL, 0);
	upd_mb(es, e[2], false, trash, 1, NULL, 0);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_STR(vec_text(&es->up_status), "10 0");
	email_set_free(&es);
	CHECK_INT(email_of(&db, acct, e[2], m), IPC_S_OK);
	CHECK_INT(m->nmbox, 2);
	CHECK(m->nmbox == 2 && m->mbox[0].mailbox == INBOX &&
	    m->mbox[0].modseq < s0 && m->mbox[1].mailbox == TRASH &&
	    m->mbox[1].modseq > s0);
	CHECK_INT(uid_in(&db, acct, e[2], TRASH), 4);
	/* Trash's unread: e[2] is not \Seen. */
	CHECK_INT(mbox_of(&db, acct, TRASH).unread, 3);
	CHECK_STR(changed_since(&db, acct, INBOX, s0), "");
	CHECK_STR(changed_since(&db, acct, TRASH, s0), "4");
	free(m);
	db_close(&db);
}

TEST(test_set_if_state_and_destroy)
{
	struct store_db db;
	struct email_set *es;
	struct email_get g;
	struct buf b = BUF_INIT;
	struct wire_u64list ids;
	struct store_error err;
	uint64_t acct, e[5], s0, arch[] = { ARCHIVE };
	uint32_t a_uid;

	if (open_fresh(&db, &acct) == -1)
		return;
	append5(&db, acct, e);
	s0 = state_of(&db, acct);

	/* ifInState that is not the state: nothing at all changes. */
	es = email_set_new(acct, s0 - 1);
	upd_kw(es, e[0], MAIL_F_SEEN, 0, NULL, NULL, false);
	email_set_destroy(es, e[1]);
	CHECK_INT(mail_txn_run(&db, email_set_op, es, &err), IPC_S_CONFLICT);
	CHECK(strstr(err.text, "state") != NULL);
	email_set_free(&es);
	CHECK_INT(state_of(&db, acct), s0);
	ids = u64s(&b, 2, e[0], e[1]);
	CHECK_INT(get(&db, acct, &ids, false, 0, &g), IPC_S_OK);
	CHECK_STR(vec_text(&g.rows.ids), "1 2");
	CHECK_STR(vec_text(&g.rows.flags), "0 0");
	email_get_clear(&g);

	/* The state it is: done; then email 1 is in two mailboxes. */
	es = email_set_new(acct, s0);
	upd_mb(es, e[0], false, arch, 1, NULL, 0);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_INT(status_of(es, false, 0), IPC_S_OK);
	email_set_free(&es);
	a_uid = uid_in(&db, acct, e[0], ARCHIVE);
	CHECK_INT(a_uid, 1);

	/*
	 * Destroy: an update first in the same request, then the email
	 * goes from both mailboxes (VANISHED in each); an unknown id is
	 * NOTFOUND for itself only.
	 */
	s0 = state_of(&db, acct);
	es = email_set_new(acct, s0);
	upd_kw(es, e[2], MAIL_F_SEEN, 0, NULL, NULL, false);
	email_set_destroy(es, e[0]);
	email_set_destroy(es, 99);
	email_set_destroy(es, e[3]);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_STR(vec_text(&es->up_status), "0");
	CHECK_STR(vec_text(&es->destroy_status), "0 2 0");
	CHECK_INT(es->destroy_texts.n, 3);
	if (es->destroy_texts.n == 3) {
		CHECK_STR(es->destroy_texts.v[0], "");
		CHECK(strstr(es->destroy_texts.v[1], "no email 99") != NULL);
	}
	/* Both mailboxes told, at their new HIGHESTMODSEQs. */
	CHECK_INT(es->touched.n, 2);
	CHECK_INT(msgops_mboxes_hms(&es->touched, INBOX),
	    mbox_of(&db, acct, INBOX).highestmodseq);
	CHECK_INT(msgops_mboxes_hms(&es->touched, ARCHIVE),
	    mbox_of(&db, acct, ARCHIVE).highestmodseq);
	CHECK_INT(es->new_state, state_of(&db, acct));
	CHECK(es->new_state > s0);
	email_set_free(&es);
	ids = u64s(&b, 3, e[0], e[3], e[2]);
	CHECK_INT(get(&db, acct, &ids, false, 0, &g), IPC_S_OK);
	CHECK_STR(vec_text(&g.rows.ids), "3");
	email_get_clear(&g);
	CHECK_STR(vanished_since(&db, acct, INBOX, s0), "1 4");
	CHECK_STR(vanished_since(&db, acct, ARCHIVE, s0), "1");
	CHECK_INT(mbox_of(&db, acct, INBOX).total, 3);
	CHECK_INT(mbox_of(&db, acct, ARCHIVE).total, 0);
	CHECK_STR(changes_text(&db, acct, CHANGE_EMAIL, s0), "c u 3 d 1 4");
	/* Thread 1 lost a member, thread 2 (email 4's) is gone. */
	CHECK_STR(changes_text(&db, acct, CHANGE_THREAD, s0), "c u 1 d 2");
	/* Destroyed again: not found. */
	es = email_set_new(acct, 0);
	email_set_destroy(es, e[0]);
	CHECK_INT(run_set(&db, es), IPC_S_OK);
	CHECK_STR(vec_text(&es->destroy_status), "2");
	CHECK_INT(es->new_state, es->old_state);
	email_set_free(&es);
	buf_clear(&b);
	db_close(&db);
}

TEST(test_set_from_wire)
{
	struct buf b[12];
	struct buf ka = BUF_INIT, kd = BUF_INIT;
	struct wire_u64list ids, fa, fd, kr, mr, mac, ma, mdc, md, de, none;
	struct wire_strlist kwa, kwd, nokw = { 0, NULL, 0 };
	struct store_error err;
	struct email_set *es;
	enum ipc_status st;
	int i;

	for (i = 0; i < 12; i++)
		memset(&b[i], 0, sizeof(b[i]));
	none = (struct wire_u64list){ 0, NULL };
	ids = u64s(&b[0], 2, (uint64_t)7, (uint64_t)8);
	fa = u64s(&b[1], 2, (uint64_t)MAIL_F_SEEN, (uint64_t)0);
	fd = u64s(&b[2], 2, (uint64_t)0, (uint64_t)MAIL_F_DRAFT);
	kr = u64s(&b[3], 2, (uint64_t)1, (uint64_t)0);
	mr = u64s(&b[4], 2, (uint64_t)0, (uint64_t)1);
	mac = u64s(&b[5], 2, (uint64_t)0, (uint64_t)2);
	ma = u64s(&b[6], 2, (uint64_t)3, (uint64_t)4);
	mdc = u64s(&b[7], 2, (uint64_t)1, (uint64_t)0);
	md = u64s(&b[8], 1, (uint64_t)5);
	de = u64s(&b[9], 1, (uint64_t)9);
	wire_strlist_add(&ka, "a b");
	wire_strlist_add(&ka, "");
	kwa = (struct wire_strlist){ 2, ka.data, ka.len };
	wire_strlist_add(&kd, "");
	wire_strlist_add(&kd, "c");
	kwd = (struct wire_strlist){ 2, kd.data, kd.len };
	es = email_set_from_wire(1, 42, &ids, &fa, &fd, &kwa, &kwd, &kr, &mr,
	    &mac, &ma, &mdc, &md, &de, &st, &err);
	CHECK(es != NULL);
	CHECK_INT(st, IPC_S_OK);
	if (es != NULL) {
		CHECK_INT(es->if_state, 42);
		CHECK_INT(es->nup, 2);
		CHECK_INT(es->ndestroy, 1);
		CHECK_INT(es->destroy[0], 9);
		CHECK_INT(es->up[0].id, 7);
		CHECK_INT(es->up[0].flags_add, MAIL_F_SEEN);
		CHECK_STR(es->up[0].kw_add, "a b");
		CHECK(es->up[0].kw_replace && !es->up[0].mb_replace);
		CHECK_INT(es->up[0].nmb_add, 0);
		CHECK_INT(es->up[0].nmb_del, 1);
		CHECK_INT(es->up[0].mb_del[0], 5);
		CHECK_INT(es->up[1].flags_del, MAIL_F_DRAFT);
		CHECK_STR(es->up[1].kw_del, "c");
		CHECK(!es->up[1].kw_replace && es->up[1].mb_replace);
		CHECK_INT(es->up[1].nmb_add, 2);
		CHECK(es->up[1].nmb_add == 2 && es->up[1].mb_add[0] == 3 &&
		    es->up[1].mb_add[1] == 4);
		CHECK_INT(es->up[1].nmb_del, 0);
	}
	email_set_free(&es);
	CHECK(es == NULL);
	/* Per-update lists may be left empty: all 0. */
	es = email_set_from_wire(1, 0, &ids, &none, &none, &nokw, &nokw,
	    &none, &none, &none, &none, &none, &none, &none, &st, &err);
	CHECK(es != NULL);
	if (es != NULL) {
		CHECK_INT(es->nup, 2);
		CHECK_STR(es->up[1].kw_add, "");
		CHECK_INT(es->up[1].flags_add, 0);
		CHECK_INT(es->up[1].nmb_add, 0);
	}
	email_set_free(&es);
	/* Lists that do not match. */
	CHECK(email_set_from_wire(1, 0, &ids, &de, &none, &nokw, &nokw,
	    &none, &none, &none, &none, &none, &none, &none, &st, &err) ==
	    NULL);
	CHECK_INT(st, IPC_S_INVALID);
	CHECK(email_set_from_wire(1, 0, &ids, &none, &none, &nokw, &nokw,
	    &none, &none, &mac, &md, &none, &none, &none, &st, &err) == NULL);
	CHECK_INT(st, IPC_S_INVALID);
	CHECK(email_set_from_wire(1, 0, &ids, &none, &none, &nokw, &nokw,
	    &none, &none, &none, &ma, &none, &none, &none, &st, &err) == NULL);
	CHECK_INT(st, IPC_S_INVALID);
	/* A flag that is not one. */
	fa = u64s(&b[1], 2, (uint64_t)0x100, (uint64_t)0);
	CHECK(email_set_from_wire(1, 0, &ids, &fa, &none, &nokw, &nokw,
	    &none, &none, &none, &none, &none, &none, &none, &st, &err) ==
	    NULL);
	CHECK_INT(st, IPC_S_INVALID);
	/* More than EMAIL_SET_MAX updates and destroys together. */
	buf_reset(&b[10]);
	for (i = 0; i < EMAIL_SET_MAX - 1; i++)
		wire_u64list_add(&b[10], (uint64_t)i + 1);
	de = (struct wire_u64list){ EMAIL_SET_MAX - 2, b[10].data };
	es = email_set_from_wire(1, 0, &ids, &none, &none, &nokw, &nokw,
	    &none, &none, &none, &none, &none, &none, &de, &st, &err);
	CHECK(es != NULL);
	email_set_free(&es);
	de.count = EMAIL_SET_MAX - 1;
	CHECK(email_set_from_wire(1, 0, &ids, &none, &none, &nokw, &nokw,
	    &none, &none, &none, &none, &none, &none, &de, &st, &err) ==
	    NULL);
	CHECK_INT(st, IPC_S_LIMIT);
	for (i = 0; i < 12; i++)
		buf_clear(&b[i]);
	buf_clear(&ka);
	buf_clear(&kd);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_mbox_threads),
	TEST_ENTRY(test_email_list),
	TEST_ENTRY(test_email_get),
	TEST_ENTRY(test_email_body),
	TEST_ENTRY(test_thread_get),
	TEST_ENTRY(test_set_keywords_flags),
	TEST_ENTRY(test_set_mailboxes),
	TEST_ENTRY(test_set_if_state_and_destroy),
	TEST_ENTRY(test_set_from_wire),
};

HARNESS_MAIN(tests)
