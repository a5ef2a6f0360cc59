/* SPDX-License-Identifier: ISC */
/*
 * test_store_msg.c: the message requests of protocol workers (mail_msg.h)
 * on a real LMDB environment in a temporary directory, called without
 * IPC: APPEND (several at once, all or none, quota), SELECT and MSG_UIDS,
 * FETCH of flags, keywords and records, BODY slices, STORE with modseqs
 * and UNCHANGEDSINCE, EXPUNGE with VANISHED, SYNC since a modseq, COPY and
 * MOVE, and the mailbox counters through all of them.
 */
/* unit-deps: store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/name.c store/key.c store/record.c store/strvec.c store/domain.c store/account.c store/alias.c store/quota.c store/auth.c store/mailbox.c store/changelog.c store/message.c store/blob.c store/txn.c store/loopwake.c store/message_ops.c store/mail_msg_read.c store/mail_msg_sync.c store/readpool.c store/mail_msg_write.c store/mail_msg_append.c store/recent.c */
#include "harness.h"
#include "compat.h"
#include "imap_struct.h"
#include "mime.h"
#include "msgrec.h"
#include "msgsearch.h"

#include "store/account.h"
#include "store/auth.h"
#include "store/blob.h"
#include "store/db.h"
#include "store/domain.h"
#include "store/key.h"
#include "store/mail_msg.h"
#include "store/mailbox.h"
#include "store/message.h"
#include "store/quota.h"
#include "store/readpool.h"
#include "store/txn.h"
#include "xmalloc.h"

#include <fcntl.h>
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
#define ARCHIVE		6

static const char *
fresh_dir(void)
{
	static char path[256];
	static int n;

	snprintf(path, sizeof(path), "%s/msg%d", harness_tmpdir(), n++);
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

/* Checks the total and unread counts of a mailbox. */
#define CHECK_COUNTS(db, acct, id, tot, unr) do {			\
	struct mailbox_rec mb_ = mbox_of(db, acct, id);			\
	CHECK_INT(mb_.total, tot);					\
	CHECK_INT(mb_.unread, unr);					\
} while (0)

/* A uid vector of n UIDs. */
static void
uidv(struct buf *b, int n, ...)
{
	va_list ap;
	uint8_t u[4];
	int i;

	buf_reset(b);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		wire_be32_put(u, va_arg(ap, uint32_t));
		buf_append(b, u, 4);
	}
	va_end(ap);
}

/* The UIDs of a vector as text, "1 2 3". */
static const char *
uids_text(const struct mail_vec *v)
{
	static char s[4][256];
	static int k;
	char *p = s[k++ % 4];
	uint32_t i;
	size_t len = 0;

	p[0] = '\0';
	for (i = 0; i < v->n && len < 200; i++)
		len += (size_t)snprintf(p + len, 256 - len, "%s%u",
		    i > 0 ? " " : "", mail_vec_u32_get(v, i));
	return p;
}

/* --- Messages appended as imapd would: one file, parsed records --- */

static const char *msgs[] = {
	"From: Bob <bob@example.net>\r\nSubject: One\r\n"
	    "Message-ID: <1@example.net>\r\n\r\nFirst body.\r\n",
	"From: Bob <bob@example.net>\r\nSubject: Two\r\n"
	    "Message-ID: <2@example.net>\r\n\r\nSecond body, longer.\r\n",
	"From: Carol <carol@example.net>\r\nSubject: Three\r\n"
	    "Message-ID: <3@example.net>\r\n\r\nThird.\r\n",
	"From: Dave <dave@example.net>\r\nSubject: Four\r\n"
	    "Message-ID: <4@example.net>\r\n\r\nFourth.\r\n",
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
 * Appends texts[0..n) to mbox with flags and keywords (either may be NULL);
 * the record of index bad (or none, -1) is garbage.  Returns the status;
 * the UIDs go to uids (may be NULL).
 */
static enum ipc_status
append(struct store_db *db, uint64_t acct, uint32_t mbox,
    const char **texts, int n, const uint64_t *flags, const char **kws,
    int bad, struct mail_vec *uids)
{
	struct buf sizes = BUF_INIT, fl = BUF_INIT, rcv = BUF_INIT,
	    lens = BUF_INIT, recs = BUF_INIT, kwb = BUF_INIT;
	struct wire_u64list lsizes, lflags, lrcv, llens;
	struct wire_strlist lkws;
	struct mail_append *a;
	struct store_error err;
	enum ipc_status st;
	size_t before;
	int fd, i;

	fd = memfd_create("msgs", MFD_CLOEXEC);
	for (i = 0; i < n; i++) {
		if (write(fd, texts[i], strlen(texts[i])) !=
		    (ssize_t)strlen(texts[i]))
			harness_fail(__FILE__, __LINE__, "write");
		wire_u64list_add(&sizes, strlen(texts[i]));
		wire_u64list_add(&fl, flags != NULL ? flags[i] : 0);
		wire_u64list_add(&rcv, NOW + (uint64_t)i);
		wire_strlist_add(&kwb, kws != NULL ? kws[i] : "");
		before = recs.len;
		if (i == bad)
			buf_append(&recs, "\001junk", 5);
		else
			record_of(texts[i], &recs);
		wire_u64list_add(&lens, recs.len - before);
	}
	lsizes = (struct wire_u64list){ (uint32_t)n, sizes.data };
	lflags = (struct wire_u64list){ (uint32_t)n, fl.data };
	lrcv = (struct wire_u64list){ (uint32_t)n, rcv.data };
	llens = (struct wire_u64list){ (uint32_t)n, lens.data };
	lkws = (struct wire_strlist){ (uint32_t)n, kwb.data, kwb.len };
	a = mail_append_new(acct, mbox, fd, NOW, &lsizes, &lflags, &lkws,
	    &lrcv, recs.data, recs.len, &llens, &st, &err);
	if (a != NULL) {
		if ((st = mail_append_prepare(a, &err)) == IPC_S_OK)
			st = mail_txn_run(db, mail_append_apply, a, &err);
		if (st == IPC_S_OK && uids != NULL) {
			buf_append(&uids->b, a->uids.b.data, a->uids.b.len);
			uids->n += a->uids.n;
		}
		mail_append_free(&a);
	}
	buf_clear(&sizes);
	buf_clear(&fl);
	buf_clear(&rcv);
	buf_clear(&lens);
	buf_clear(&recs);
	buf_clear(&kwb);
	return st;
}

/* Three messages in the inbox: 1 unseen, 2 \Seen with keywords, 3. */
static void
append3(struct store_db *db, uint64_t acct)
{
	static const uint64_t fl[] = { 0, MAIL_F_SEEN, 0 };
	static const char *kws[] = { "", "$Label1 work", "" };
	struct mail_vec u;

	memset(&u, 0, sizeof(u));
	CHECK_INT(append(db, acct, INBOX, msgs, 3, fl, kws, -1, &u),
	    IPC_S_OK);
	CHECK_STR(uids_text(&u), "1 2 3");
	mail_vec_clear(&u);
}

/* --- Writes, run alone in durable transactions --- */

static enum ipc_status
store(struct store_db *db, uint64_t acct, uint32_t mbox,
    const struct buf *uids, enum mail_store_mode mode, uint32_t flags,
    const char *kw, uint64_t unchangedsince, struct mail_store *r)
{
	struct store_error err;
	enum ipc_status st;

	memset(r, 0, sizeof(*r));
	r->account_id = acct;
	r->mailbox_id = mbox;
	r->uids = uids->data;
	r->nuids = (uint32_t)(uids->len / 4);
	r->mode = mode;
	r->flags = flags;
	r->unchangedsince = unchangedsince;
	if ((st = mail_keywords_parse(kw, r->kw, &r->nkw, &err)) != IPC_S_OK)
		return st;
	return mail_txn_run(db, mail_msg_store_op, r, &err);
}

static enum ipc_status
expunge(struct store_db *db, uint64_t acct, uint32_t mbox,
    const struct buf *uids, struct mail_expunge *r)
{
	struct store_error err;

	memset(r, 0, sizeof(*r));
	r->account_id = acct;
	r->mailbox_id = mbox;
	r->uids = uids->data;
	r->nuids = (uint32_t)(uids->len / 4);
	return mail_txn_run(db, mail_msg_expunge_op, r, &err);
}

static enum ipc_status
copy(struct store_db *db, uint64_t acct, uint32_t from, uint32_t to,
    bool move, const struct buf *uids, struct mail_copy *r)
{
	struct store_error err;

	memset(r, 0, sizeof(*r));
	r->account_id = acct;
	r->mailbox_id = from;
	r->uids = uids->data;
	r->nuids = (uint32_t)(uids->len / 4);
	r->to_mailbox = to;
	r->move = move;
	return mail_txn_run(db, mail_msg_copy_op, r, &err);
}

/* --- Reads, each in its own read transaction --- */

static enum ipc_status
fetch(struct store_db *db, uint64_t acct, uint32_t mbox,
    const struct buf *uids, unsigned int what, struct mail_fetch *r)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	memset(r, 0, sizeof(*r));
	if ((st = db_begin(db, false, &txn, &err)) != IPC_S_OK)
		return st;
	st = mail_msg_fetch_op(db, txn, acct, mbox, uids->data,
	    (uint32_t)(uids->len / 4), what, NULL, 0, NULL, r, &err);
	db_abort(&txn);
	return st;
}

static enum ipc_status
sync_since(struct store_db *db, uint64_t acct, uint32_t mbox, uint64_t since,
    struct mail_sync *r)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	memset(r, 0, sizeof(*r));
	if ((st = db_begin(db, false, &txn, &err)) != IPC_S_OK)
		return st;
	st = mail_msg_sync_op(db, txn, acct, mbox, since, 0, 0, r, &err);
	db_abort(&txn);
	return st;
}

static enum ipc_status
sync_page(struct store_db *db, uint64_t acct, uint32_t mbox, uint64_t since,
    uint32_t after, size_t budget, struct mail_sync *r)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	memset(r, 0, sizeof(*r));
	if ((st = db_begin(db, false, &txn, &err)) != IPC_S_OK)
		return st;
	st = mail_msg_sync_op(db, txn, acct, mbox, since, after, budget, r,
	    &err);
	db_abort(&txn);
	return st;
}

static enum ipc_status
body(struct store_db *db, uint64_t acct, uint32_t mbox, uint32_t uid,
    uint64_t off, uint32_t len, uint64_t *size, struct buf *out)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	buf_reset(out);
	if ((st = db_begin(db, false, &txn, &err)) != IPC_S_OK)
		return st;
	st = mail_msg_body_op(db, txn, acct, mbox, uid, off, len, size, out,
	    &err);
	db_abort(&txn);
	return st;
}

/* The modseq of uid in mbox, 0 if it is not there. */
static uint64_t
modseq_of(struct store_db *db, uint64_t acct, uint32_t mbox, uint32_t uid)
{
	struct store_error err;
	uint64_t email, ms = 0;
	MDB_txn *txn;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return 0;
	if (msgops_uid_get(db, txn, acct, mbox, uid, &email, &ms, &err) !=
	    IPC_S_OK)
		ms = 0;
	db_abort(&txn);
	return ms;
}

/* --- Tests --- */

TEST(test_helpers)
{
	char kw[MSG_MAX_KEYWORDS][MSG_KEYWORD_MAX + 1];
	char many[MSG_MAX_KEYWORDS * 5 + 8];
	struct store_error err;
	struct buf b = BUF_INIT;
	uint32_t n = 0;
	int i;

	uidv(&b, 3, 1, 5, 9);
	CHECK_INT(mail_uids_check(b.data, b.len, &n), 0);
	CHECK_INT(n, 3);
	uidv(&b, 2, 5, 5);
	CHECK_INT(mail_uids_check(b.data, b.len, &n), -1);
	uidv(&b, 2, 5, 4);
	CHECK_INT(mail_uids_check(b.data, b.len, &n), -1);
	uidv(&b, 1, 0);
	CHECK_INT(mail_uids_check(b.data, b.len, &n), -1);
	CHECK_INT(mail_uids_check(b.data, 3, &n), -1);
	CHECK_INT(mail_uids_check(NULL, 0, &n), 0);
	CHECK_INT(n, 0);
	buf_clear(&b);

	CHECK(msgops_keyword_valid("$Forwarded"));
	CHECK(!msgops_keyword_valid("\\Seen"));
	CHECK(!msgops_keyword_valid("a]b"));
	CHECK(!msgops_keyword_valid(""));
	CHECK(!msgops_keyword_valid("caf\xc3\xa9"));
	CHECK_INT(mail_keywords_parse("  a B  b $x ", kw, &n, &err),
	    IPC_S_OK);
	CHECK_INT(n, 3);	/* "b" repeats "B" */
	CHECK_STR(kw[0], "a");
	CHECK_STR(kw[1], "B");
	CHECK_STR(kw[2], "$x");
	CHECK_INT(mail_keywords_parse("ok (bad", kw, &n, &err),
	    IPC_S_INVALID);
	many[0] = '\0';
	for (i = 0; i <= MSG_MAX_KEYWORDS; i++) {
		char one[16];

		snprintf(one, sizeof(one), "k%d ", i);
		strlcat(many, one, sizeof(many));
	}
	CHECK_INT(mail_keywords_parse(many, kw, &n, &err), IPC_S_LIMIT);
}

TEST(test_select_and_uids)
{
	struct store_error err;
	struct store_db db;
	struct mail_select r;
	struct mail_vec u;
	uint64_t acct;
	MDB_txn *txn;
	bool more;

	if (open_fresh(&db, &acct) == -1)
		return;
	append3(&db, acct);
	CHECK_COUNTS(&db, acct, INBOX, 3, 2);
	if (db_begin(&db, false, &txn, &err) != IPC_S_OK)
		return;
	CHECK_INT(mail_msg_select_op(&db, txn, acct, INBOX, 100, &r, &err),
	    IPC_S_OK);
	CHECK_INT(r.mb.total, 3);
	CHECK_INT(r.mb.uidnext, 4);
	CHECK_STR(uids_text(&r.uids), "1 2 3");
	CHECK_INT(r.unseen, 1);
	CHECK_INT(r.keywords.n, 2);
	if (r.keywords.n == 2) {
		CHECK_STR(r.keywords.v[0], "$Label1");
		CHECK_STR(r.keywords.v[1], "work");
	}
	CHECK(r.mb.highestmodseq > 0);
	mail_select_clear(&r);
	CHECK_INT(mail_msg_select_op(&db, txn, acct, INBOX, 2, &r, &err),
	    IPC_S_OK);
	CHECK_STR(uids_text(&r.uids), "1 2");
	mail_select_clear(&r);
	CHECK_INT(mail_msg_select_op(&db, txn, acct, 999, 2, &r, &err),
	    IPC_S_NOTFOUND);
	mail_select_clear(&r);
	/* An empty mailbox. */
	CHECK_INT(mail_msg_select_op(&db, txn, acct, ARCHIVE, 10, &r, &err),
	    IPC_S_OK);
	CHECK_INT(r.uids.n, 0);
	CHECK_INT(r.unseen, 0);
	CHECK_INT(r.mb.uidnext, 1);
	mail_select_clear(&r);

	memset(&u, 0, sizeof(u));
	CHECK_INT(mail_msg_uids_op(&db, txn, acct, INBOX, 1, 1, &u, &more,
	    &err), IPC_S_OK);
	CHECK_STR(uids_text(&u), "2");
	CHECK(more);
	mail_vec_clear(&u);
	CHECK_INT(mail_msg_uids_op(&db, txn, acct, INBOX, 1, 5, &u, &more,
	    &err), IPC_S_OK);
	CHECK_STR(uids_text(&u), "2 3");
	CHECK(!more);
	mail_vec_clear(&u);
	CHECK_INT(mail_msg_uids_op(&db, txn, acct, INBOX, 3, 5, &u, &more,
	    &err), IPC_S_OK);
	CHECK_INT(u.n, 0);
	CHECK(!more);
	mail_vec_clear(&u);
	db_abort(&txn);
	db_close(&db);
}

TEST(test_fetch)
{
	struct buf uids = BUF_INIT, rec = BUF_INIT;
	struct store_db db;
	struct mail_fetch r;
	uint64_t acct;
	size_t l0, l1;

	if (open_fresh(&db, &acct) == -1)
		return;
	append3(&db, acct);
	uidv(&uids, 4, 1, 2, 3, 99);
	CHECK_INT(fetch(&db, acct, INBOX, &uids, true, &r), IPC_S_OK);
	CHECK_INT(r.done, 4);
	CHECK_STR(uids_text(&r.found), "1 2 3");
	CHECK_INT(r.flags.n, 3);
	CHECK_INT(mail_vec_u64_get(&r.flags, 0), 0);
	CHECK_INT(mail_vec_u64_get(&r.flags, 1), MAIL_F_SEEN);
	CHECK_INT(r.keywords.n, 3);
	if (r.keywords.n == 3) {
		CHECK_STR(r.keywords.v[0], "");
		CHECK_STR(r.keywords.v[1], "$Label1 work");
	}
	CHECK_INT(mail_vec_u64_get(&r.sizes, 1), strlen(msgs[1]));
	CHECK_INT(mail_vec_u64_get(&r.received, 0), NOW);
	CHECK_INT(mail_vec_u64_get(&r.received, 2), NOW + 2);
	CHECK_INT(mail_vec_u64_get(&r.saved, 2), NOW + 2);
	CHECK_INT(mail_vec_u64_get(&r.email_ids, 0), 1);
	CHECK_INT(mail_vec_u64_get(&r.email_ids, 2), 3);
	CHECK(mail_vec_u64_get(&r.modseqs, 0) <
	    mail_vec_u64_get(&r.modseqs, 1));
	/* The records are the ones appended, back to back. */
	record_of(msgs[0], &rec);
	l0 = rec.len;
	record_of(msgs[1], &rec);
	l1 = rec.len - l0;
	CHECK_INT(r.record_lens.n, 3);
	CHECK_INT(mail_vec_u64_get(&r.record_lens, 0), l0);
	CHECK_INT(mail_vec_u64_get(&r.record_lens, 1), l1);
	CHECK(r.records.len > l0 + l1);
	CHECK(memcmp(r.records.data, rec.data, l0 + l1) == 0);
	mail_fetch_clear(&r);
	/* Without records. */
	CHECK_INT(fetch(&db, acct, INBOX, &uids, false, &r), IPC_S_OK);
	CHECK_INT(r.records.len, 0);
	CHECK_INT(r.record_lens.n, 0);
	CHECK_INT(r.found.n, 3);
	mail_fetch_clear(&r);
	CHECK_INT(fetch(&db, acct, 999, &uids, false, &r), IPC_S_NOTFOUND);
	mail_fetch_clear(&r);
	buf_clear(&uids);
	buf_clear(&rec);
	db_close(&db);
}

/* Copies email's entry in dbi (key A email) to out, if it has one. */
static bool
entry_of(struct store_db *db, MDB_dbi dbi, uint64_t acct, uint64_t email,
    struct buf *out)
{
	struct store_error err;
	struct key_mail k;
	MDB_txn *txn;
	MDB_val kv, d;
	int rc;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return false;
	key_mail_init(&k, acct);
	key_mail_u64(&k, email);
	kv = KEY_MAIL_VAL(&k);
	rc = mdb_get(txn, dbi, &kv, &d);
	if (rc == 0 && out != NULL) {
		buf_reset(out);
		buf_append(out, d.mv_data, d.mv_size);
	}
	db_abort(&txn);
	return rc == 0;
}

/* Whether email has stored items in msgimap. */
static bool
has_items(struct store_db *db, uint64_t acct, uint64_t email)
{
	return entry_of(db, db->msgimap, acct, email, NULL);
}

/* Sets email's entry in dbi to [v, v + len), or deletes it (v NULL). */
static void
entry_set(struct store_db *db, MDB_dbi dbi, uint64_t acct, uint64_t email,
    const char *v, size_t len)
{
	struct store_error err;
	struct key_mail k;
	MDB_txn *txn;
	MDB_val kv, d;

	CHECK_INT(db_begin(db, true, &txn, &err), IPC_S_OK);
	key_mail_init(&k, acct);
	key_mail_u64(&k, email);
	kv = KEY_MAIL_VAL(&k);
	if (v == NULL)
		CHECK_INT(mdb_del(txn, dbi, &kv, NULL), 0);
	else {
		d.mv_data = (void *)(uintptr_t)v;
		d.mv_size = len;
		CHECK_INT(mdb_put(txn, dbi, &kv, &d, 0), 0);
	}
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
}

/*
 * The keys' bits of uids, fetched with what (MAIL_FETCH_HITS or 0) in as
 * many replies as the search budget makes, as imapd asks.
 */
static void
hits_of(struct store_db *db, uint64_t acct, const struct buf *uids,
    unsigned int what, const struct mail_text_keys *keys, struct buf *out)
{
	struct store_error err;
	struct mail_fetch r;
	MDB_txn *txn;
	uint32_t n = (uint32_t)(uids->len / 4), pos = 0, done;

	buf_reset(out);
	while (pos < n) {
		CHECK_INT(db_begin(db, false, &txn, &err), IPC_S_OK);
		CHECK_INT(mail_msg_fetch_op(db, txn, acct, INBOX, uids->data +
		    (size_t)pos * 4, n - pos, what, keys, 0, NULL, &r, &err),
		    IPC_S_OK);
		db_abort(&txn);
		buf_append(out, r.text_hits.data, r.text_hits.len);
		done = r.done;
		mail_fetch_clear(&r);
		if (done == 0)
			break;
		pos += done;
	}
}

/*
 * The search headers (msghead) stored with each message: its envelope
 * and top-level header, which MAIL_FETCH_HITS of header keys reads
 * instead of the record and the bytes, with the same bits; a message
 * without one (too long a header, a damaged entry) is read as before;
 * they go with the message.
 */
TEST(test_fetch_search_headers)
{
	static uint64_t kinds[] = { MSGSEARCH_FROM, MSGSEARCH_SUBJECT,
	    MSGSEARCH_HEADER, MSGSEARCH_HEADER, MSGSEARCH_TO };
	static const char *fields[] = { "", "", "message-id", "x-long", "" };
	static const char *values[] = { "CAROL", "TWO", "2@", "NEEDLE", "" };
	static const uint8_t want[] = { 0x00, 0x06, 0x01, 0x08 };
	size_t vlens[5];
	struct mail_text_keys keys = { 5, kinds, fields, values, vlens };
	struct buf uids = BUF_INIT, e = BUF_INIT, full = BUF_INIT;
	struct buf hits = BUF_INIT, big = BUF_INIT;
	const char *texts[1];
	const uint8_t *env, *hdr;
	struct store_db db;
	struct mail_vec u;
	struct msgrec r;
	const char *why;
	size_t elen, hlen, i;
	uint64_t acct;

	for (i = 0; i < 5; i++)
		vlens[i] = strlen(values[i]);
	if (open_fresh(&db, &acct) == -1)
		return;
	append3(&db, acct);
	/* Message 4: a header of more than MSGHEAD_MAX bytes. */
	buf_printf(&big, "From: Eve <eve@example.net>\r\n");
	for (i = 0; big.len <= MSGHEAD_MAX; i++)
		buf_printf(&big, "X-Long: line %zu of a long header\r\n", i);
	buf_printf(&big, "X-Long: the needle\r\n\r\nBody.\r\n");
	buf_append(&big, "", 1);
	texts[0] = (const char *)big.data;
	memset(&u, 0, sizeof(u));
	CHECK_INT(append(&db, acct, INBOX, texts, 1, NULL, NULL, -1, &u),
	    IPC_S_OK);
	CHECK_STR(uids_text(&u), "4");
	mail_vec_clear(&u);
	uidv(&uids, 4, 1, 2, 3, 4);
	/* Each small one has its entry: the envelope, the header. */
	for (i = 0; i < 3; i++) {
		CHECK(entry_of(&db, db.msghead, acct, i + 1, &e));
		CHECK(msghead_split(e.data, e.len, &env, &elen, &hdr, &hlen));
		CHECK(hlen == (size_t)(strstr(msgs[i], "\r\n\r\n") + 4 -
		    msgs[i]) && memcmp(hdr, msgs[i], hlen) == 0);
		CHECK_INT(msgrec_open_env0(env, elen, &r, &why), 0);
		CHECK_INT(r.nenvs, 1);
		msgrec_close(&r);
	}
	CHECK(!entry_of(&db, db.msghead, acct, 4, NULL));
	/* The same bits as the record and the bytes give. */
	hits_of(&db, acct, &uids, 0, &keys, &full);
	hits_of(&db, acct, &uids, MAIL_FETCH_HITS, &keys, &hits);
	CHECK(full.len == 4 && memcmp(full.data, want, 4) == 0);
	CHECK(hits.len == 4 && memcmp(hits.data, want, 4) == 0);
	/* Without an entry, or with a damaged one: read as before. */
	entry_set(&db, db.msghead, acct, 2, NULL, 0);
	entry_set(&db, db.msghead, acct, 3, "\x01\xff", 2);
	hits_of(&db, acct, &uids, MAIL_FETCH_HITS, &keys, &hits);
	CHECK(hits.len == 4 && memcmp(hits.data, want, 4) == 0);
	/* A damaged envelope in a well-formed entry: the same. */
	{
		static const char bad_env[] = "\x01\x00\x00\x00\x02" "xy"
		    "From: Carol <carol@example.net>\r\n\r\n";

		entry_set(&db, db.msghead, acct, 3, bad_env,
		    sizeof(bad_env) - 1);
	}
	hits_of(&db, acct, &uids, MAIL_FETCH_HITS, &keys, &hits);
	CHECK(hits.len == 4 && memcmp(hits.data, want, 4) == 0);
	/* It goes with its message. */
	CHECK(entry_of(&db, db.msghead, acct, 1, NULL));
	{
		struct store_error err;
		MDB_txn *txn;

		CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
		CHECK_INT(message_destroy(&db, txn, acct, 1, &err), IPC_S_OK);
		CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	}
	CHECK(!entry_of(&db, db.msghead, acct, 1, NULL));
	buf_clear(&uids);
	buf_clear(&e);
	buf_clear(&full);
	buf_clear(&hits);
	buf_clear(&big);
	db_close(&db);
}

/*
 * ENVELOPE and BODYSTRUCTURE stored with each message (imap_struct.h):
 * MSG_FETCH's imap_items sends them instead of the record, and the
 * record of a message without them (items too long, or a record that
 * did not open); they go with the message.
 */
TEST(test_fetch_stored_items)
{
	struct buf uids = BUF_INIT, b = BUF_INIT;
	struct imap_struct_stored it;
	struct store_error err;
	struct store_db db;
	struct mail_fetch r, rr;
	struct key_mail k;
	struct msgrec rec;
	const char *why;
	MDB_txn *txn;
	MDB_val kv;
	uint64_t acct, off, len;
	size_t i;

	if (open_fresh(&db, &acct) == -1)
		return;
	append3(&db, acct);
	uidv(&uids, 3, 1, 2, 3);
	CHECK_INT(fetch(&db, acct, INBOX, &uids, MAIL_FETCH_RECORD, &rr),
	    IPC_S_OK);
	CHECK_INT(fetch(&db, acct, INBOX, &uids, MAIL_FETCH_RECORD |
	    MAIL_FETCH_IMAP, &r), IPC_S_OK);
	CHECK_INT(r.imap_lens.n, 3);
	CHECK_INT(r.record_lens.n, 3);
	CHECK_INT(r.records.len, 0);
	/* Each is what the record renders. */
	for (i = 0, off = 0; i < 3 && r.imap_lens.n == 3; i++) {
		len = mail_vec_u64_get(&r.imap_lens, i);
		CHECK(len > 0 && off + len <= r.imap.len);
		CHECK_INT(mail_vec_u64_get(&r.record_lens, i), 0);
		if (len == 0 || off + len > r.imap.len ||
		    imap_struct_stored_read(r.imap.data + off, (size_t)len,
		    &it) != 0) {
			harness_fail(__FILE__, __LINE__, "items %zu", i);
			break;
		}
		off += len;
		CHECK_INT(msgrec_open(rr.records.data + (i == 0 ? 0 :
		    mail_vec_u64_get(&rr.record_lens, 0) + (i == 2 ?
		    mail_vec_u64_get(&rr.record_lens, 1) : 0)),
		    (size_t)mail_vec_u64_get(&rr.record_lens, i),
		    strlen(msgs[i]), &rec, &why), 0);
		buf_reset(&b);
		imap_struct_envelope(&b, &rec, 0);
		CHECK(b.len == it.envelope_len &&
		    memcmp(b.data, it.envelope, b.len) == 0);
		buf_reset(&b);
		imap_struct_bodystructure(&b, &rec, 0, true);
		CHECK(b.len == it.body_len &&
		    memcmp(b.data, it.body, b.len) == 0);
		msgrec_close(&rec);
	}
	CHECK_INT(r.imap.len, off);
	mail_fetch_clear(&r);
	/* Email 2 as a message without items: its record comes instead. */
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	key_mail_init(&k, acct);
	key_mail_u64(&k, 2);
	kv = KEY_MAIL_VAL(&k);
	CHECK_INT(mdb_del(txn, db.msgimap, &kv, NULL), 0);
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	CHECK_INT(fetch(&db, acct, INBOX, &uids, MAIL_FETCH_RECORD |
	    MAIL_FETCH_IMAP, &r), IPC_S_OK);
	CHECK(mail_vec_u64_get(&r.imap_lens, 0) > 0);
	CHECK_INT(mail_vec_u64_get(&r.imap_lens, 1), 0);
	CHECK(mail_vec_u64_get(&r.imap_lens, 2) > 0);
	CHECK_INT(mail_vec_u64_get(&r.record_lens, 0), 0);
	CHECK_INT(mail_vec_u64_get(&r.record_lens, 1),
	    mail_vec_u64_get(&rr.record_lens, 1));
	CHECK_INT(r.records.len, mail_vec_u64_get(&rr.record_lens, 1));
	mail_fetch_clear(&r);
	/* Without the record: items only, and none for email 2. */
	CHECK_INT(fetch(&db, acct, INBOX, &uids, MAIL_FETCH_IMAP, &r),
	    IPC_S_OK);
	CHECK_INT(r.record_lens.n, 0);
	CHECK_INT(mail_vec_u64_get(&r.imap_lens, 1), 0);
	mail_fetch_clear(&r);
	mail_fetch_clear(&rr);
	/* A destroyed message's items go with it. */
	CHECK(has_items(&db, acct, 1));
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(message_destroy(&db, txn, acct, 1, &err), IPC_S_OK);
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	CHECK(!has_items(&db, acct, 1));
	CHECK(has_items(&db, acct, 3));
	buf_clear(&uids);
	buf_clear(&b);
	db_close(&db);
}

/*
 * Five text keys of the three messages of append3(), one of each kind
 * but the addresses' others; the strings as storaged's handler makes
 * them (casemap_key()s).
 */
static uint64_t five_kinds[] = { MSGSEARCH_FROM, MSGSEARCH_SUBJECT,
    MSGSEARCH_HEADER, MSGSEARCH_BODY, MSGSEARCH_TEXT };
static const char *five_fields[] = { "", "", "message-id", "", "" };
static const char *five_values[] = { "CAROL", "TWO", "2@", "BODY", "BOB" };
static size_t five_vlens[5];

static struct mail_text_keys
five_keys(void)
{
	size_t i;

	for (i = 0; i < 5; i++)
		five_vlens[i] = strlen(five_values[i]);
	return (struct mail_text_keys){ 5, five_kinds, five_fields,
	    five_values, five_vlens };
}

/* MSG_FETCH's text keys (matched in storaged) and inline bodies. */
TEST(test_fetch_text_and_bodies)
{
	struct mail_text_keys keys = five_keys();
	struct buf uids = BUF_INIT;
	struct store_error err;
	struct store_db db;
	struct mail_fetch r;
	MDB_txn *txn;
	uint64_t acct;
	size_t i, off;

	if (open_fresh(&db, &acct) == -1)
		return;
	append3(&db, acct);
	uidv(&uids, 4, 1, 2, 3, 99);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(mail_msg_fetch_op(&db, txn, acct, INBOX, uids.data, 4, false,
	    &keys, 1000, NULL, &r, &err), IPC_S_OK);
	db_abort(&txn);
	CHECK_INT(r.done, 4);
	CHECK_STR(uids_text(&r.found), "1 2 3");
	/* One byte of bits per message: keys 0..4 are bits 0..4. */
	CHECK_INT(r.text_hits.len, 3);
	if (r.text_hits.len == 3) {
		CHECK_INT(r.text_hits.data[0], 0x18);	/* BODY, TEXT */
		CHECK_INT(r.text_hits.data[1], 0x1e);	/* all but FROM */
		CHECK_INT(r.text_hits.data[2], 0x01);	/* FROM carol */
	}
	/* Every message fits: the bodies back to back. */
	CHECK_INT(r.body_lens.n, 3);
	for (i = 0, off = 0; i < 3 && r.body_lens.n == 3; i++) {
		CHECK_INT(mail_vec_u64_get(&r.body_lens, i), strlen(msgs[i]));
		CHECK(off + strlen(msgs[i]) <= r.bodies.len &&
		    memcmp(r.bodies.data + off, msgs[i], strlen(msgs[i])) == 0);
		off += strlen(msgs[i]);
	}
	CHECK_INT(r.bodies.len, off);
	mail_fetch_clear(&r);
	/* Larger than body_max: no bytes, each marked so. */
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(mail_msg_fetch_op(&db, txn, acct, INBOX, uids.data, 4, false,
	    NULL, 10, NULL, &r, &err), IPC_S_OK);
	db_abort(&txn);
	CHECK_INT(r.text_hits.len, 0);
	CHECK_INT(r.bodies.len, 0);
	CHECK_INT(r.body_lens.n, 3);
	CHECK(mail_vec_u64_get(&r.body_lens, 1) == MSG_FETCH_NO_BODY);
	mail_fetch_clear(&r);
	buf_clear(&uids);
	db_close(&db);
}

/*
 * MSG_FETCH's hits_only (MAIL_FETCH_HITS): the same bits as a full
 * fetch, with the UIDs and modseqs, and no other list; refused without
 * text keys or with anything else asked.
 */
TEST(test_fetch_hits_only)
{
	struct mail_text_keys keys = five_keys();
	struct buf uids = BUF_INIT;
	struct store_error err;
	struct store_db db;
	struct mail_fetch full, r;
	MDB_txn *txn;
	uint64_t acct;
	size_t i;

	if (open_fresh(&db, &acct) == -1)
		return;
	append3(&db, acct);
	uidv(&uids, 4, 1, 2, 3, 99);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(mail_msg_fetch_op(&db, txn, acct, INBOX, uids.data, 4, 0,
	    &keys, 0, NULL, &full, &err), IPC_S_OK);
	CHECK_INT(mail_msg_fetch_op(&db, txn, acct, INBOX, uids.data, 4,
	    MAIL_FETCH_HITS, &keys, 0, NULL, &r, &err), IPC_S_OK);
	CHECK_INT(r.done, 4);
	CHECK_STR(uids_text(&r.found), "1 2 3");
	CHECK_INT(r.text_hits.len, 3);
	CHECK(r.text_hits.len == full.text_hits.len &&
	    memcmp(r.text_hits.data, full.text_hits.data, 3) == 0);
	if (r.text_hits.len == 3) {
		CHECK_INT(r.text_hits.data[0], 0x18);	/* BODY, TEXT */
		CHECK_INT(r.text_hits.data[1], 0x1e);	/* all but FROM */
		CHECK_INT(r.text_hits.data[2], 0x01);	/* FROM carol */
	}
	CHECK_INT(r.modseqs.n, 3);
	for (i = 0; i < 3 && r.modseqs.n == 3 && full.modseqs.n == 3; i++)
		CHECK_INT(mail_vec_u64_get(&r.modseqs, i),
		    mail_vec_u64_get(&full.modseqs, i));
	CHECK_INT(r.email_ids.n + r.thread_ids.n + r.flags.n + r.received.n +
	    r.saved.n + r.sizes.n + r.record_lens.n + r.imap_lens.n +
	    r.body_lens.n + r.keywords.n, 0);
	CHECK_INT(r.records.len + r.imap.len + r.bodies.len, 0);
	mail_fetch_clear(&r);
	mail_fetch_clear(&full);
	/* Nothing to match, or more than the bits asked: refused. */
	CHECK_INT(mail_msg_fetch_op(&db, txn, acct, INBOX, uids.data, 4,
	    MAIL_FETCH_HITS, NULL, 0, NULL, &r, &err), IPC_S_INVALID);
	mail_fetch_clear(&r);
	CHECK_INT(mail_msg_fetch_op(&db, txn, acct, INBOX, uids.data, 4,
	    MAIL_FETCH_HITS | MAIL_FETCH_RECORD, &keys, 0, NULL, &r, &err),
	    IPC_S_INVALID);
	mail_fetch_clear(&r);
	CHECK_INT(mail_msg_fetch_op(&db, txn, acct, INBOX, uids.data, 4,
	    MAIL_FETCH_HITS | MAIL_FETCH_IMAP, &keys, 0, NULL, &r, &err),
	    IPC_S_INVALID);
	mail_fetch_clear(&r);
	CHECK_INT(mail_msg_fetch_op(&db, txn, acct, INBOX, uids.data, 4,
	    MAIL_FETCH_HITS, &keys, 1000, NULL, &r, &err), IPC_S_INVALID);
	mail_fetch_clear(&r);
	db_abort(&txn);
	buf_clear(&uids);
	db_close(&db);
}

/*
 * Every message of the shared corpus, ugly headers included: header keys
 * give the same bits from the search headers (MAIL_FETCH_HITS) as from
 * the record and the bytes (a fetch with the keys).
 */
TEST(test_search_headers_corpus)
{
	static uint64_t kinds[] = { MSGSEARCH_FROM, MSGSEARCH_TO,
	    MSGSEARCH_CC, MSGSEARCH_BCC, MSGSEARCH_SUBJECT, MSGSEARCH_SUBJECT,
	    MSGSEARCH_HEADER, MSGSEARCH_HEADER, MSGSEARCH_HEADER,
	    MSGSEARCH_HEADER, MSGSEARCH_FROM, MSGSEARCH_HEADER };
	static const char *fields[] = { "", "", "", "", "", "", "received",
	    "content-type", "x-mailer", "subject", "", "from" };
	/* casemap_key()s: upper case ASCII; the last ones are 8-bit. */
	static const char *values[] = { "A", "@", "E", "", "RE", "",
	    "BY", "TEXT", "", "\xc3", "\xc3", "=?" };
	size_t vlens[12];
	struct mail_text_keys keys = { 12, kinds, fields, values, vlens };
	struct buf uids = BUF_INIT, full = BUF_INIT, hits = BUF_INIT;
	const char *dir, *texts[1];
	char path[4096], line[2048], *data, *text;
	struct store_db db;
	struct mail_vec u;
	size_t len, i, files = 0, ones = 0;
	uint64_t acct;
	FILE *fp;

	for (i = 0; i < 12; i++)
		vlens[i] = strlen(values[i]);
	if ((fp = harness_corpus_manifest(&dir)) == NULL)
		return;
	if (open_fresh(&db, &acct) == -1) {
		fclose(fp);
		return;
	}
	memset(&u, 0, sizeof(u));
	while (harness_corpus_next(fp, line, sizeof(line))) {
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		if ((data = harness_slurp(path, &len)) == NULL) {
			harness_fail(__FILE__, __LINE__, "cannot read %s",
			    path);
			continue;
		}
		/* append() takes C strings: up to a NUL, if any. */
		text = xmalloc(len + 1);
		memcpy(text, data, len);
		text[len] = '\0';
		texts[0] = text;
		if (*text != '\0' && append(&db, acct, INBOX, texts, 1,
		    NULL, NULL, -1, &u) == IPC_S_OK)
			files++;
		free(text);
		free(data);
	}
	fclose(fp);
	CHECK(files >= 1000);
	buf_append(&uids, u.b.data, u.b.len);
	mail_vec_clear(&u);
	hits_of(&db, acct, &uids, 0, &keys, &full);
	hits_of(&db, acct, &uids, MAIL_FETCH_HITS, &keys, &hits);
	CHECK_INT(full.len, files * 2);
	CHECK_INT(hits.len, full.len);
	for (i = 0; i < full.len && i < hits.len; i++) {
		if (full.data[i] != hits.data[i]) {
			harness_fail(__FILE__, __LINE__, "message %zu: "
			    "bits %02x, from the search headers %02x",
			    i / 2 + 1, full.data[i], hits.data[i]);
			break;
		}
		ones += (size_t)__builtin_popcount(full.data[i]);
	}
	/* The keys are not all nothing or all everything. */
	CHECK(ones > files && ones < files * 10);
	buf_clear(&uids);
	buf_clear(&full);
	buf_clear(&hits);
	db_close(&db);
}

/* MSG_BODY_FILE (fd a memfd or other) and MSG_FILE (fd -1). */
static enum ipc_status
body_file(struct store_db *db, uint64_t acct, uint32_t uid, int fd,
    uint64_t *size, int *file_fd)
{
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	*file_fd = -1;
	if ((st = db_begin(db, false, &txn, &err)) != IPC_S_OK)
		return st;
	st = mail_msg_body_file_op(db, txn, acct, INBOX, uid, fd, size,
	    file_fd, &err);
	db_abort(&txn);
	return st;
}

/* Whether fd holds exactly the n bytes of p. */
static bool
fd_holds(int fd, const char *p, size_t n)
{
	char *b = xmalloc(n + 1);
	bool ok;

	ok = pread(fd, b, n + 1, 0) == (ssize_t)n && memcmp(b, p, n) == 0;
	free(b);
	return ok;
}

TEST(test_body_slices)
{
	struct buf out = BUF_INIT;
	struct store_db db;
	uint64_t acct, size = 0;
	size_t len = strlen(msgs[1]);

	if (open_fresh(&db, &acct) == -1)
		return;
	append3(&db, acct);
	CHECK_INT(body(&db, acct, INBOX, 2, 0, 10, &size, &out), IPC_S_OK);
	CHECK_INT(size, len);
	CHECK_INT(out.len, 10);
	CHECK(memcmp(out.data, msgs[1], 10) == 0);
	CHECK_INT(body(&db, acct, INBOX, 2, len - 3, 100, &size, &out),
	    IPC_S_OK);
	CHECK_INT(out.len, 3);
	CHECK(memcmp(out.data, msgs[1] + len - 3, 3) == 0);
	CHECK_INT(body(&db, acct, INBOX, 2, 0, UINT32_MAX, &size, &out),
	    IPC_S_OK);
	CHECK_INT(out.len, len);
	CHECK_INT(body(&db, acct, INBOX, 2, len, 10, &size, &out), IPC_S_OK);
	CHECK_INT(out.len, 0);
	CHECK_INT(size, len);
	CHECK_INT(body(&db, acct, INBOX, 2, len + 1000, 10, &size, &out),
	    IPC_S_OK);
	CHECK_INT(out.len, 0);
	CHECK_INT(body(&db, acct, INBOX, 7, 0, 10, &size, &out),
	    IPC_S_NOTFOUND);
	buf_clear(&out);
	db_close(&db);
}

TEST(test_body_file)
{
	static const char head[] = "From: a@example.org\r\nSubject: big\r\n"
	    "\r\n";
	const char *big[1];
	struct store_db db;
	uint64_t acct, size;
	size_t len = strlen(msgs[1]), blen = 300 * 1024;
	char path[300], *text;
	int fd, file_fd, other;

	if (open_fresh(&db, &acct) == -1)
		return;
	append3(&db, acct);
	text = xmalloc(blen + 1);
	memset(text, 'x', blen);
	memcpy(text, head, strlen(head));
	for (size = 100; size + 2 < blen; size += 100)
		memcpy(text + size - 2, "\r\n", 2);
	text[blen] = '\0';
	big[0] = text;
	CHECK_INT(append(&db, acct, INBOX, big, 1, NULL, NULL, -1, NULL),
	    IPC_S_OK);

	/* MSG_FILE of a message kept in the database: its size alone. */
	size = 0;
	CHECK_INT(body_file(&db, acct, 2, -1, &size, &file_fd), IPC_S_OK);
	CHECK_INT(size, len);
	if (len >= BLOB_FILE_MIN) {
		CHECK(file_fd != -1 && fd_holds(file_fd, msgs[1], len));
	} else
		CHECK_INT(file_fd, -1);
	if (file_fd != -1)
		close(file_fd);
	/* MSG_FILE of a message kept as a file: a descriptor of it. */
	size = 0;
	CHECK_INT(body_file(&db, acct, 4, -1, &size, &file_fd), IPC_S_OK);
	CHECK_INT(size, blen);
	if (blen >= BLOB_FILE_MIN) {
		CHECK(file_fd != -1 && fd_holds(file_fd, text, blen));
		/* Read-only: the worker cannot change the store's file. */
		CHECK(file_fd != -1 && pwrite(file_fd, "y", 1, 0) == -1);
	} else
		CHECK_INT(file_fd, -1);	/* a build that keeps none */
	if (file_fd != -1)
		close(file_fd);
	CHECK_INT(body_file(&db, acct, 9, -1, &size, &file_fd),
	    IPC_S_NOTFOUND);
	CHECK_INT(file_fd, -1);

	/* MSG_BODY_FILE: a small message copied into the empty memfd. */
	fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK_INT(body_file(&db, acct, 2, fd, &size, &file_fd), IPC_S_OK);
	CHECK_INT(size, len);
	if (file_fd == -1)
		CHECK(fd_holds(fd, msgs[1], len));
	else
		close(file_fd);
	/* Not empty any more: refused. */
	if (file_fd == -1)
		CHECK_INT(body_file(&db, acct, 2, fd, &size, &file_fd),
		    IPC_S_INVALID);
	close(fd);
	/* Anything but a memfd is refused. */
	snprintf(path, sizeof(path), "%s/not-a-memfd", harness_tmpdir());
	other = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(other != -1);
	CHECK_INT(body_file(&db, acct, 2, other, &size, &file_fd),
	    IPC_S_INVALID);
	CHECK_INT(file_fd, -1);
	close(other);
	free(text);
	db_close(&db);
}

TEST(test_store_flags)
{
	struct buf uids = BUF_INIT;
	struct store_db db;
	struct mail_store r;
	struct mail_fetch fr;
	struct mailbox_rec mb;
	uint64_t acct, hms, ms1, ms2;

	if (open_fresh(&db, &acct) == -1)
		return;
	append3(&db, acct);
	hms = mbox_of(&db, acct, INBOX).highestmodseq;
	ms1 = modseq_of(&db, acct, INBOX, 1);
	ms2 = modseq_of(&db, acct, INBOX, 2);
	/* 2 is \Seen already: only 1 changes. */
	uidv(&uids, 2, 1, 2);
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_ADD, MAIL_F_SEEN,
	    "", 0, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.changed), "1");
	CHECK_INT(r.modseqs.n, 1);
	CHECK(mail_vec_u64_get(&r.modseqs, 0) > hms);
	CHECK_INT(mail_vec_u64_get(&r.flags_out, 0), MAIL_F_SEEN);
	CHECK(r.highestmodseq > mail_vec_u64_get(&r.modseqs, 0));
	mb = mbox_of(&db, acct, INBOX);
	CHECK_INT(mb.highestmodseq, r.highestmodseq);
	CHECK_INT(modseq_of(&db, acct, INBOX, 1),
	    mail_vec_u64_get(&r.modseqs, 0));
	CHECK_INT(modseq_of(&db, acct, INBOX, 2), ms2);
	CHECK_INT(r.modified.n, 0);
	mail_store_clear(&r);
	CHECK_COUNTS(&db, acct, INBOX, 3, 1);

	/* Keywords compare without regard to case. */
	uidv(&uids, 1, 2);
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_REMOVE, 0,
	    "WORK", 0, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.changed), "2");
	CHECK_STR(r.keywords.v[0], "$Label1");
	CHECK_INT(mail_vec_u64_get(&r.flags_out, 0), MAIL_F_SEEN);
	mail_store_clear(&r);
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_ADD, 0,
	    "$label1", 0, &r), IPC_S_OK);
	CHECK_INT(r.changed.n, 0);	/* nothing to do */
	mail_store_clear(&r);

	/* Set replaces flags and keywords; \Seen goes, unread comes back. */
	uidv(&uids, 2, 2, 3);
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_SET,
	    MAIL_F_FLAGGED | MAIL_F_DELETED, "b a", 0, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.changed), "2 3");
	CHECK_STR(r.keywords.v[0], "b a");
	CHECK_STR(r.keywords.v[1], "b a");
	CHECK_INT(mail_vec_u64_get(&r.flags_out, 1),
	    MAIL_F_FLAGGED | MAIL_F_DELETED);
	mail_store_clear(&r);
	CHECK_COUNTS(&db, acct, INBOX, 3, 2);
	uidv(&uids, 2, 2, 3);
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_SET,
	    MAIL_F_FLAGGED | MAIL_F_DELETED, "A B", 0, &r), IPC_S_OK);
	CHECK_INT(r.changed.n, 0);
	mail_store_clear(&r);

	/* UNCHANGEDSINCE: 3 changed after 1's modseq, 1 did not. */
	ms2 = modseq_of(&db, acct, INBOX, 1);
	CHECK(ms2 > ms1);
	CHECK(modseq_of(&db, acct, INBOX, 3) > ms2);
	uidv(&uids, 2, 1, 3);
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_ADD,
	    MAIL_F_ANSWERED, "", ms2, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.modified), "3");
	CHECK_STR(uids_text(&r.changed), "1");
	CHECK_INT(mail_vec_u64_get(&r.flags_out, 0), MAIL_F_SEEN |
	    MAIL_F_ANSWERED);
	mail_store_clear(&r);
	uidv(&uids, 1, 1);
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_ADD,
	    MAIL_F_ANSWERED, "", ms1, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.modified), "1");
	CHECK_INT(r.changed.n, 0);
	mail_store_clear(&r);

	/* Too many keywords on one message: nothing changes at all. */
	{
		char many[MSG_MAX_KEYWORDS * 5 + 8], one[16];
		int i;

		many[0] = '\0';
		for (i = 0; i < MSG_MAX_KEYWORDS - 1; i++) {
			snprintf(one, sizeof(one), "k%d ", i);
			strlcat(many, one, sizeof(many));
		}
		hms = mbox_of(&db, acct, INBOX).highestmodseq;
		uidv(&uids, 2, 1, 3);	/* 1 has none, 3 has two */
		CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_ADD, 0,
		    many, 0, &r), IPC_S_LIMIT);
		mail_store_clear(&r);
		CHECK_INT(mbox_of(&db, acct, INBOX).highestmodseq, hms);
		uidv(&uids, 1, 1);
		CHECK_INT(fetch(&db, acct, INBOX, &uids, false, &fr),
		    IPC_S_OK);
		CHECK_STR(fr.keywords.v[0], "");
		mail_fetch_clear(&fr);
	}
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_ADD, 0, "a\\b",
	    0, &r), IPC_S_INVALID);
	mail_store_clear(&r);
	CHECK_INT(store(&db, acct, 999, &uids, MAIL_STORE_ADD, MAIL_F_SEEN,
	    "", 0, &r), IPC_S_NOTFOUND);
	mail_store_clear(&r);
	CHECK_COUNTS(&db, acct, INBOX, 3, 2);
	buf_clear(&uids);
	db_close(&db);
}

TEST(test_expunge_and_sync)
{
	static const char *four[] = { NULL };
	struct buf uids = BUF_INIT;
	struct store_db db;
	struct mail_store sr;
	struct mail_expunge er;
	struct mail_copy cr;
	struct mail_sync r;
	struct mail_fetch fr;
	struct mail_vec u;
	uint64_t acct, s0, hms;

	if (open_fresh(&db, &acct) == -1)
		return;
	append3(&db, acct);
	/* 1 is in the archive too. */
	uidv(&uids, 1, 1);
	CHECK_INT(copy(&db, acct, INBOX, ARCHIVE, false, &uids, &cr),
	    IPC_S_OK);
	mail_copy_clear(&cr);
	s0 = mbox_of(&db, acct, INBOX).highestmodseq;
	CHECK_INT(sync_since(&db, acct, INBOX, s0, &r), IPC_S_OK);
	CHECK_INT(r.changed.n + r.added.n + r.vanished.n, 0);
	CHECK_INT(r.highestmodseq, s0);
	CHECK_INT(r.uidnext, 4);
	mail_sync_clear(&r);

	/* Only those with \Deleted go. */
	uidv(&uids, 2, 1, 3);
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_ADD,
	    MAIL_F_DELETED, "", 0, &sr), IPC_S_OK);
	mail_store_clear(&sr);
	uidv(&uids, 3, 1, 2, 3);
	CHECK_INT(expunge(&db, acct, INBOX, &uids, &er), IPC_S_OK);
	CHECK_STR(uids_text(&er.expunged), "1 3");
	hms = mbox_of(&db, acct, INBOX).highestmodseq;
	CHECK_INT(er.highestmodseq, hms);
	mail_expunge_clear(&er);
	CHECK_COUNTS(&db, acct, INBOX, 1, 0);
	CHECK_COUNTS(&db, acct, ARCHIVE, 1, 1);
	/* The copy of 1 in the archive, a message of its own, lives on
	 * without \Deleted (COPY came before the STORE). */
	uidv(&uids, 1, 1);
	CHECK_INT(fetch(&db, acct, ARCHIVE, &uids, false, &fr), IPC_S_OK);
	CHECK_STR(uids_text(&fr.found), "1");
	CHECK_INT(mail_vec_u64_get(&fr.flags, 0), 0);
	mail_fetch_clear(&fr);
	/* Expunging again finds nothing. */
	uidv(&uids, 2, 1, 3);
	CHECK_INT(expunge(&db, acct, INBOX, &uids, &er), IPC_S_OK);
	CHECK_INT(er.expunged.n, 0);
	CHECK_INT(er.highestmodseq, hms);
	mail_expunge_clear(&er);

	/* A new message and a flag change after s0. */
	four[0] = msgs[3];
	memset(&u, 0, sizeof(u));
	CHECK_INT(append(&db, acct, INBOX, four, 1, NULL, NULL, -1, &u),
	    IPC_S_OK);
	CHECK_STR(uids_text(&u), "4");
	mail_vec_clear(&u);
	CHECK_COUNTS(&db, acct, INBOX, 2, 1);
	CHECK_INT(sync_since(&db, acct, INBOX, s0, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.vanished), "1 3");
	CHECK_STR(uids_text(&r.changed), "4");
	CHECK_STR(uids_text(&r.added), "4");
	CHECK_INT(r.uidnext, 5);
	CHECK_INT(r.highestmodseq, mbox_of(&db, acct, INBOX).highestmodseq);
	mail_sync_clear(&r);
	s0 = mbox_of(&db, acct, INBOX).highestmodseq;
	uidv(&uids, 1, 2);
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_ADD,
	    MAIL_F_FLAGGED, "x", 0, &sr), IPC_S_OK);
	mail_store_clear(&sr);
	CHECK_INT(sync_since(&db, acct, INBOX, s0, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.changed), "2");
	CHECK_INT(r.added.n, 0);	/* 4 is unchanged, above 2 */
	CHECK_INT(r.vanished.n, 0);
	CHECK_INT(mail_vec_u64_get(&r.flags, 0), MAIL_F_SEEN |
	    MAIL_F_FLAGGED);
	CHECK_STR(r.keywords.v[0], "$Label1 work x");
	CHECK_INT(mail_vec_u64_get(&r.modseqs, 0),
	    modseq_of(&db, acct, INBOX, 2));
	mail_sync_clear(&r);
	/* From the start: everything present is changed, and added. */
	CHECK_INT(sync_since(&db, acct, INBOX, 0, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.changed), "2 4");
	CHECK_STR(uids_text(&r.added), "2 4");
	CHECK_STR(uids_text(&r.vanished), "1 3");
	mail_sync_clear(&r);
	buf_clear(&uids);
	db_close(&db);
}

/*
 * MBOX_SYNC in pages (budget bytes a reply): the expunges from the index
 * on the first page while they fit half of it, else and on later pages
 * the UIDs absent from the mailbox as ranges; `next` where a page ends;
 * a budget too small for one UID refused.
 */
TEST(test_sync_pages)
{
	static const char *four[] = { NULL };
	struct buf uids = BUF_INIT;
	struct store_db db;
	struct mail_store sr;
	struct mail_expunge er;
	struct mail_sync r;
	struct mail_vec u;
	uint64_t acct, s0;

	if (open_fresh(&db, &acct) == -1)
		return;
	append3(&db, acct);
	four[0] = msgs[3];
	memset(&u, 0, sizeof(u));
	CHECK_INT(append(&db, acct, INBOX, four, 1, NULL, NULL, -1, &u),
	    IPC_S_OK);
	mail_vec_clear(&u);
	s0 = mbox_of(&db, acct, INBOX).highestmodseq;
	/* 1 and 3 go after s0. */
	uidv(&uids, 2, 1, 3);
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_ADD,
	    MAIL_F_DELETED, "", 0, &sr), IPC_S_OK);
	mail_store_clear(&sr);
	CHECK_INT(expunge(&db, acct, INBOX, &uids, &er), IPC_S_OK);
	mail_expunge_clear(&er);
	/* One page: the index's expunges. */
	CHECK_INT(sync_page(&db, acct, INBOX, s0, 0, 0, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.vanished), "1 3");
	CHECK_INT(r.absent.n + r.changed.n + r.next, 0);
	mail_sync_clear(&r);
	/*
	 * 12 bytes: the expunges (8) are more than half, so absent ranges
	 * (8 bytes each): [1, 1] fits, [3, 3] starts the next page.
	 */
	CHECK_INT(sync_page(&db, acct, INBOX, s0, 0, 12, &r), IPC_S_OK);
	CHECK_INT(r.vanished.n, 0);
	CHECK_STR(uids_text(&r.absent), "1 1");
	CHECK_INT(r.next, 2);
	mail_sync_clear(&r);
	CHECK_INT(sync_page(&db, acct, INBOX, s0, 2, 12, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.absent), "3 3");
	CHECK_INT(r.next, 0);
	mail_sync_clear(&r);
	/* Past UIDNEXT: nothing. */
	CHECK_INT(sync_page(&db, acct, INBOX, s0, 4, 12, &r), IPC_S_OK);
	CHECK_INT(r.absent.n + r.changed.n + r.next, 0);
	mail_sync_clear(&r);

	/* 2 and 4 change: 33 bytes and more each. */
	uidv(&uids, 2, 2, 4);
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_ADD,
	    MAIL_F_FLAGGED, "", 0, &sr), IPC_S_OK);
	CHECK_INT(sr.done, 2);
	mail_store_clear(&sr);
	CHECK_INT(sync_page(&db, acct, INBOX, s0, 0, 200, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.vanished), "1 3");
	CHECK_STR(uids_text(&r.changed), "2 4");
	CHECK_INT(r.next, 0);
	mail_sync_clear(&r);
	/* 60 bytes: the expunges and 2; 4 on the next page. */
	CHECK_INT(sync_page(&db, acct, INBOX, s0, 0, 60, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.vanished), "1 3");
	CHECK_STR(uids_text(&r.changed), "2");
	CHECK_INT(r.next, 3);
	mail_sync_clear(&r);
	CHECK_INT(sync_page(&db, acct, INBOX, s0, 3, 60, &r), IPC_S_OK);
	CHECK_INT(r.vanished.n + r.absent.n, 0);
	CHECK_STR(uids_text(&r.changed), "4");
	CHECK_INT(r.next, 0);
	mail_sync_clear(&r);
	/* 12 bytes: [1, 1], then 2 does not fit; then not even 2 alone. */
	CHECK_INT(sync_page(&db, acct, INBOX, s0, 0, 12, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.absent), "1 1");
	CHECK_INT(r.changed.n, 0);
	CHECK_INT(r.next, 1);
	mail_sync_clear(&r);
	CHECK_INT(sync_page(&db, acct, INBOX, s0, 1, 12, &r),
	    IPC_S_CONFLICT);
	mail_sync_clear(&r);
	buf_clear(&uids);
	db_close(&db);
}

/*
 * MSG_STORE answers for what fits one reply: 120 messages of 32 keywords
 * of 255 bytes (8 KiB each in a reply) take two requests.
 */
TEST(test_store_pages)
{
	static const char *texts[120];
	static const char *kws[120];
	static char kw[32 * 256];
	struct buf uids = BUF_INIT;
	struct store_db db;
	struct mail_store sr;
	struct mail_vec u;
	uint64_t acct;
	uint32_t i, done;
	size_t k;

	if (open_fresh(&db, &acct) == -1)
		return;
	for (k = 0; k < 32; k++) {
		memset(kw + k * 256, 'a' + (int)(k % 26), 255);
		kw[k * 256 + 0] = 'A' + (char)(k / 26);
		kw[k * 256 + 255] = k < 31 ? ' ' : '\0';
	}
	for (i = 0; i < 120; i++) {
		texts[i] = msgs[0];
		kws[i] = kw;
	}
	memset(&u, 0, sizeof(u));
	CHECK_INT(append(&db, acct, INBOX, texts, 120, NULL, kws, -1, &u),
	    IPC_S_OK);
	CHECK_INT(u.n, 120);
	mail_vec_clear(&u);
	buf_clear(&uids);
	for (i = 1; i <= 120; i++) {
		uint8_t b4[4];

		wire_be32_put(b4, i);
		buf_append(&uids, b4, 4);
	}
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_ADD,
	    MAIL_F_FLAGGED, "", 0, &sr), IPC_S_OK);
	done = sr.done;
	CHECK(done > 0 && done < 120);
	CHECK_INT(sr.changed.n, done);
	CHECK(sr.keywords.bytes + 24 * sr.changed.n <= MAIL_REPLY_MAX +
	    32 * 256);
	mail_store_clear(&sr);
	/* The rest, as a worker asks for it. */
	buf_consume(&uids, (size_t)done * 4);
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_ADD,
	    MAIL_F_FLAGGED, "", 0, &sr), IPC_S_OK);
	CHECK_INT(sr.done, 120 - done);
	CHECK_INT(sr.changed.n, 120 - done);
	mail_store_clear(&sr);
	CHECK_COUNTS(&db, acct, INBOX, 120, 120);
	buf_clear(&uids);
	db_close(&db);
}

TEST(test_copy_move)
{
	struct buf uids = BUF_INIT;
	struct store_db db;
	struct mail_copy r;
	struct mail_store sr;
	struct mail_sync syn;
	struct mail_fetch fr;
	uint64_t acct, s0, ms;

	if (open_fresh(&db, &acct) == -1)
		return;
	append3(&db, acct);
	s0 = mbox_of(&db, acct, INBOX).highestmodseq;
	uidv(&uids, 2, 1, 2);
	CHECK_INT(copy(&db, acct, INBOX, ARCHIVE, false, &uids, &r),
	    IPC_S_OK);
	CHECK_STR(uids_text(&r.src_uids), "1 2");
	CHECK_STR(uids_text(&r.dst_uids), "1 2");
	CHECK_INT(r.uidvalidity, mbox_of(&db, acct, ARCHIVE).uidvalidity);
	CHECK_INT(r.highestmodseq, mbox_of(&db, acct, ARCHIVE).highestmodseq);
	mail_copy_clear(&r);
	CHECK_COUNTS(&db, acct, INBOX, 3, 2);
	CHECK_COUNTS(&db, acct, ARCHIVE, 2, 1);
	/* Copies are emails of their own, with the flags and keywords the
	 * originals had (1 unread, 2 \Seen with keywords). */
	CHECK_INT(fetch(&db, acct, ARCHIVE, &uids, false, &fr), IPC_S_OK);
	CHECK_INT(mail_vec_u64_get(&fr.email_ids, 0), 4);
	CHECK_INT(mail_vec_u64_get(&fr.email_ids, 1), 5);
	CHECK_INT(mail_vec_u64_get(&fr.flags, 0), 0);
	CHECK_INT(mail_vec_u64_get(&fr.flags, 1), MAIL_F_SEEN);
	CHECK_STR(fr.keywords.v[1], "$Label1 work");
	mail_fetch_clear(&fr);
	/* The source did not change for IMAP. */
	CHECK_INT(mbox_of(&db, acct, INBOX).highestmodseq, s0);

	/* Move 1 and 3: the same emails change mailbox. */
	uidv(&uids, 2, 1, 3);
	CHECK_INT(copy(&db, acct, INBOX, ARCHIVE, true, &uids, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.src_uids), "1 3");
	CHECK_STR(uids_text(&r.dst_uids), "3 4");
	mail_copy_clear(&r);
	CHECK_COUNTS(&db, acct, INBOX, 1, 0);
	CHECK_COUNTS(&db, acct, ARCHIVE, 4, 3);
	CHECK_INT(modseq_of(&db, acct, INBOX, 3), 0);
	uidv(&uids, 2, 3, 4);
	CHECK_INT(fetch(&db, acct, ARCHIVE, &uids, false, &fr), IPC_S_OK);
	CHECK_INT(mail_vec_u64_get(&fr.email_ids, 0), 1);
	CHECK_INT(mail_vec_u64_get(&fr.email_ids, 1), 3);
	mail_fetch_clear(&fr);
	CHECK_INT(sync_since(&db, acct, INBOX, s0, &syn), IPC_S_OK);
	CHECK_STR(uids_text(&syn.vanished), "1 3");
	CHECK_INT(syn.changed.n, 0);
	mail_sync_clear(&syn);

	/* A flag change of the original leaves its copy alone. */
	s0 = mbox_of(&db, acct, ARCHIVE).highestmodseq;
	uidv(&uids, 1, 2);
	CHECK_INT(store(&db, acct, INBOX, &uids, MAIL_STORE_REMOVE,
	    MAIL_F_SEEN, "", 0, &sr), IPC_S_OK);
	ms = mail_vec_u64_get(&sr.modseqs, 0);
	mail_store_clear(&sr);
	CHECK_COUNTS(&db, acct, INBOX, 1, 1);
	CHECK_COUNTS(&db, acct, ARCHIVE, 4, 3);
	CHECK(modseq_of(&db, acct, ARCHIVE, 2) < ms);
	CHECK_INT(mbox_of(&db, acct, ARCHIVE).highestmodseq, s0);
	CHECK_INT(sync_since(&db, acct, ARCHIVE, s0, &syn), IPC_S_OK);
	CHECK_INT(syn.changed.n, 0);
	mail_sync_clear(&syn);

	/* COPY into the same mailbox makes a second message there; MOVE
	 * within it makes a new one and drops the original (RFC 6851); a
	 * missing target is not found. */
	CHECK_INT(copy(&db, acct, INBOX, INBOX, false, &uids, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.dst_uids), "4");
	mail_copy_clear(&r);
	CHECK_COUNTS(&db, acct, INBOX, 2, 2);
	CHECK_INT(copy(&db, acct, INBOX, INBOX, true, &uids, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.src_uids), "2");
	CHECK_STR(uids_text(&r.dst_uids), "5");
	mail_copy_clear(&r);
	CHECK_COUNTS(&db, acct, INBOX, 2, 2);
	CHECK_INT(modseq_of(&db, acct, INBOX, 2), 0);
	CHECK_INT(copy(&db, acct, INBOX, 999, false, &uids, &r),
	    IPC_S_NOTFOUND);
	mail_copy_clear(&r);
	/* Moving email 1 back from the archive. */
	uidv(&uids, 1, 3);
	CHECK_INT(copy(&db, acct, ARCHIVE, INBOX, true, &uids, &r), IPC_S_OK);
	CHECK_STR(uids_text(&r.dst_uids), "6");
	mail_copy_clear(&r);
	CHECK_COUNTS(&db, acct, INBOX, 3, 3);
	CHECK_COUNTS(&db, acct, ARCHIVE, 3, 2);
	buf_clear(&uids);
	db_close(&db);
}

TEST(test_append_all_or_none)
{
	static const uint64_t fl[] = { MAIL_F_SEEN | MAIL_F_DRAFT, 0, 0 };
	static const char *kws[] = { "$Draft2", "", "a b" };
	struct store_error err;
	struct store_db db;
	struct account acc;
	struct mail_vec u;
	uint64_t acct, id, hms, used;

	if (open_fresh(&db, &acct) == -1)
		return;
	memset(&u, 0, sizeof(u));
	CHECK_INT(append(&db, acct, ARCHIVE, msgs, 3, fl, kws, 1, &u),
	    IPC_S_INVALID);
	CHECK_INT(u.n, 0);
	CHECK_COUNTS(&db, acct, ARCHIVE, 0, 0);
	CHECK_INT(mbox_of(&db, acct, ARCHIVE).uidnext, 1);
	/* Room for two only: none is stored. */
	used = strlen(msgs[0]) + strlen(msgs[1]) + 2;
	CHECK_INT(quota_set(&db, "alice@example.org", used, 0, &id, &err),
	    IPC_S_OK);
	hms = mbox_of(&db, acct, ARCHIVE).highestmodseq;
	CHECK_INT(append(&db, acct, ARCHIVE, msgs, 3, fl, kws, -1, &u),
	    IPC_S_QUOTA);
	CHECK_COUNTS(&db, acct, ARCHIVE, 0, 0);
	CHECK_INT(mbox_of(&db, acct, ARCHIVE).highestmodseq, hms);
	CHECK_INT(account_get(&db, "alice@example.org", &acc, &err),
	    IPC_S_OK);
	CHECK_INT(acc.rec.used_bytes, 0);
	CHECK_INT(acc.rec.used_messages, 0);
	CHECK_INT(append(&db, acct, ARCHIVE, msgs, 2, fl, kws, -1, &u),
	    IPC_S_OK);
	CHECK_STR(uids_text(&u), "1 2");
	CHECK_COUNTS(&db, acct, ARCHIVE, 2, 1);
	CHECK_INT(account_get(&db, "alice@example.org", &acc, &err),
	    IPC_S_OK);
	CHECK_INT(acc.rec.used_messages, 2);
	CHECK_INT(acc.rec.used_bytes, used - 2);
	mail_vec_clear(&u);
	/* No duplicate suppression: the same message again is stored. */
	CHECK_INT(quota_set(&db, "alice@example.org", 0, 0, &id, &err),
	    IPC_S_OK);
	CHECK_INT(append(&db, acct, ARCHIVE, msgs, 1, NULL, NULL, -1, &u),
	    IPC_S_OK);
	CHECK_STR(uids_text(&u), "3");
	mail_vec_clear(&u);
	CHECK_COUNTS(&db, acct, ARCHIVE, 3, 2);
	db_close(&db);
}

TEST(test_append_request_checks)
{
	struct wire_u64list sizes, none = { 0, NULL }, lens;
	struct wire_strlist nokw = { 0, NULL, 0 };
	struct buf sb = BUF_INIT, lb = BUF_INIT;
	struct store_error err;
	struct mail_append *a;
	enum ipc_status st;

	wire_u64list_add(&sb, 10);
	wire_u64list_add(&sb, 0);
	wire_u64list_add(&lb, 1);
	wire_u64list_add(&lb, 1);
	sizes = (struct wire_u64list){ 2, sb.data };
	lens = (struct wire_u64list){ 2, lb.data };
	a = mail_append_new(1, 1, memfd_create("x", 0), NOW, &sizes, &none,
	    &nokw, &none, "ab", 2, &lens, &st, &err);
	CHECK(a == NULL);
	CHECK_INT(st, IPC_S_INVALID);	/* an empty message */
	sizes.count = 1;
	a = mail_append_new(1, 1, memfd_create("x", 0), NOW, &sizes, &none,
	    &nokw, &none, "ab", 2, &lens, &st, &err);
	CHECK(a == NULL);
	CHECK_INT(st, IPC_S_INVALID);	/* lists of different lengths */
	lens.count = 1;
	a = mail_append_new(1, 1, memfd_create("x", 0), NOW, &sizes, &none,
	    &nokw, &none, "ab", 2, &lens, &st, &err);
	CHECK(a == NULL);
	CHECK_INT(st, IPC_S_INVALID);	/* records longer than said */
	a = mail_append_new(1, 1, memfd_create("x", 0), NOW, &sizes, &none,
	    &nokw, &none, "a", 1, &lens, &st, &err);
	CHECK(a != NULL);
	/* The file is shorter than the sizes say. */
	if (a != NULL)
		CHECK_INT(mail_append_prepare(a, &err), IPC_S_INVALID);
	mail_append_free(&a);
	buf_clear(&sb);
	buf_clear(&lb);
}

/*
 * Whether the first n messages of a and b carry the same data (stride:
 * bytes of text bits per message).
 */
static bool
fetch_same_prefix(const struct mail_fetch *a, const struct mail_fetch *b,
    uint32_t n, size_t stride)
{
	size_t ab = 0, bb = 0;
	uint32_t i;

	if (a->found.n < n || b->found.n < n ||
	    (a->body_lens.n > 0) != (b->body_lens.n > 0) ||
	    (a->body_lens.n > 0 && (a->body_lens.n < n || b->body_lens.n < n)))
		return false;
	for (i = 0; i < n; i++) {
		if (mail_vec_u32_get(&a->found, i) !=
		    mail_vec_u32_get(&b->found, i) ||
		    mail_vec_u64_get(&a->email_ids, i) !=
		    mail_vec_u64_get(&b->email_ids, i) ||
		    mail_vec_u64_get(&a->flags, i) !=
		    mail_vec_u64_get(&b->flags, i) ||
		    strcmp(a->keywords.v[i], b->keywords.v[i]) != 0)
			return false;
		if (a->body_lens.n == 0)
			continue;
		if (mail_vec_u64_get(&a->body_lens, i) !=
		    mail_vec_u64_get(&b->body_lens, i))
			return false;
		if (mail_vec_u64_get(&a->body_lens, i) != MSG_FETCH_NO_BODY) {
			ab += mail_vec_u64_get(&a->body_lens, i);
			bb += mail_vec_u64_get(&b->body_lens, i);
		}
	}
	/* memcmp of no bytes may still not be given NULL (UBSan). */
	return ab == bb && ab <= a->bodies.len && ab <= b->bodies.len &&
	    (ab == 0 || memcmp(a->bodies.data, b->bodies.data, ab) == 0) &&
	    a->text_hits.len >= n * stride && b->text_hits.len >= n * stride &&
	    (n * stride == 0 || memcmp(a->text_hits.data, b->text_hits.data,
	    n * stride) == 0);
}

/*
 * Fetches the n uids (UIDs 1..n, of which the last 5 are not there) with
 * rp, reply after reply, to the end; returns the number of replies.
 */
static uint32_t
fetch_rounds(struct store_db *db, struct readpool *rp, uint64_t acct,
    const struct buf *uids, uint32_t n, const struct mail_text_keys *keys,
    uint32_t body_max, const struct mail_fetch *first, size_t stride)
{
	struct store_error err;
	struct mail_fetch r;
	uint32_t at, rounds, j;

	for (at = 0, rounds = 0; at < n && rounds < 100; rounds++) {
		CHECK_INT(mail_msg_fetch_par(db, rp, acct, INBOX,
		    uids->data + (size_t)at * 4, n - at, false, keys, body_max,
		    &r, &err), IPC_S_OK);
		CHECK(r.done > 0);
		CHECK(r.bytes <= MAIL_REPLY_MAX);
		/*
		 * The budget of the bytes searched is shared loosely (batches
		 * running at once may each use what was left): a reply may go
		 * further than one read, never elsewhere.
		 */
		if (at == 0)
			CHECK(fetch_same_prefix(first, &r, first->found.n <
			    r.found.n ? first->found.n : r.found.n, stride));
		/* UIDs 1..n - 5 are there: the reply holds each it covers. */
		CHECK_INT(r.found.n, at + r.done <= n - 5 ? r.done :
		    at < n - 5 ? n - 5 - at : 0);
		for (j = 0; j < r.found.n; j++)
			if (mail_vec_u32_get(&r.found, j) != at + 1 + j) {
				CHECK_INT(mail_vec_u32_get(&r.found, j),
				    at + 1 + j);
				break;
			}
		at += r.done > 0 ? r.done : n;
		mail_fetch_clear(&r);
	}
	CHECK_INT(at, n);
	return rounds;
}

/*
 * MSG_FETCH split over the read pool: the same answer as one read, in UID
 * order, within one reply's budgets; a reply cut short (by the bytes
 * searched or the bytes of the reply) continues where it ends.
 */
TEST(test_fetch_parallel)
{
	static uint64_t kinds[] = { MSGSEARCH_SUBJECT, MSGSEARCH_BODY,
	    MSGSEARCH_BODY };
	static const char *fields[] = { "", "", "" };
	static const char *values[] = { "TWO", "PADDING 7 ", "NO SUCH" };
	size_t vlens[3] = { 3, 10, 7 };
	struct mail_text_keys subj = { 1, kinds, fields, values, vlens };
	/* Two keys: twice the work, cut before half the messages. */
	struct mail_text_keys body = { 2, kinds + 1, fields + 1, values + 1,
	    vlens + 1 };
	enum { N = 600 };
	const char *texts[N];
	char *owned[N];
	uint64_t fl[N];
	struct readpool *rp = readpool_new(2);
	struct buf uids = BUF_INIT, big = BUF_INIT;
	struct mail_vec u;
	struct store_error err;
	struct store_db db;
	struct mail_fetch one, par;
	uint64_t acct;
	uint32_t i;
	uint8_t b4[4];
	int k;

	if (open_fresh(&db, &acct) == -1) {
		readpool_free(&rp);
		return;
	}
	/*
	 * Messages of about 36 KB: 600 of them pass what one reply may
	 * search (MAIL_SEARCH_BYTES_MAX) and, with their bodies, hold.
	 */
	for (i = 0; i < N; i++) {
		buf_reset(&big);
		buf_append(&big, msgs[i % 4], strlen(msgs[i % 4]));
		for (k = 0; k < 1060; k++)
			buf_printf(&big, "padding %u line %d of the text\r\n",
			    i, k);
		owned[i] = strndup((const char *)big.data, big.len);
		texts[i] = owned[i];
		fl[i] = i % 3 == 0 ? MAIL_F_SEEN : 0;
	}
	memset(&u, 0, sizeof(u));
	CHECK_INT(append(&db, acct, INBOX, texts, N, fl, NULL, -1, &u),
	    IPC_S_OK);
	CHECK_INT(u.n, N);
	mail_vec_clear(&u);
	/* Every UID, and some that are not there. */
	for (i = 1; i <= N + 5; i++) {
		wire_be32_put(b4, i);
		buf_append(&uids, b4, 4);
	}
	/* A key of the record: one reply, the same as one read. */
	CHECK_INT(mail_msg_fetch_par(&db, NULL, acct, INBOX, uids.data,
	    N + 5, false, &subj, 0, &one, &err), IPC_S_OK);
	CHECK_INT(mail_msg_fetch_par(&db, rp, acct, INBOX, uids.data,
	    N + 5, false, &subj, 0, &par, &err), IPC_S_OK);
	CHECK_INT(one.done, N + 5);
	CHECK_INT(par.done, N + 5);
	CHECK_INT(par.found.n, N);
	CHECK(fetch_same_prefix(&one, &par, N, 1));
	/* It matched where it should: message 2 (Subject: Two). */
	CHECK_INT(par.text_hits.len, N);
	if (par.text_hits.len == N) {
		CHECK_INT(par.text_hits.data[1], 0x01);
		CHECK_INT(par.text_hits.data[5], 0x01);
		CHECK_INT(par.text_hits.data[0], 0x00);
	}
	mail_fetch_clear(&one);
	mail_fetch_clear(&par);
	/* BODY: cut by the bytes searched, continued over the pool. */
	CHECK_INT(mail_msg_fetch_par(&db, NULL, acct, INBOX, uids.data,
	    N + 5, false, &body, 0, &one, &err), IPC_S_OK);
	CHECK(one.done < N);
	if (one.text_hits.len > 8) {
		CHECK_INT(one.text_hits.data[7], 0x01);	/* "padding 7 " */
		CHECK_INT(one.text_hits.data[8], 0x00);
	}
	CHECK(fetch_rounds(&db, rp, acct, &uids, N + 5, &body, 0, &one, 1) >=
	    2);
	mail_fetch_clear(&one);
	/* With the bodies: cut by the reply's size, continued. */
	CHECK_INT(mail_msg_fetch_par(&db, NULL, acct, INBOX, uids.data,
	    N + 5, false, NULL, 65536, &one, &err), IPC_S_OK);
	CHECK(one.done < N);
	CHECK(fetch_rounds(&db, rp, acct, &uids, N + 5, NULL, 65536, &one,
	    0) >= 2);
	mail_fetch_clear(&one);
	for (i = 0; i < N; i++)
		free(owned[i]);
	buf_clear(&uids);
	buf_clear(&big);
	readpool_free(&rp);
	db_close(&db);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_helpers),
	TEST_ENTRY(test_select_and_uids),
	TEST_ENTRY(test_fetch),
	TEST_ENTRY(test_fetch_stored_items),
	TEST_ENTRY(test_fetch_text_and_bodies),
	TEST_ENTRY(test_fetch_hits_only),
	TEST_ENTRY(test_fetch_search_headers),
	TEST_ENTRY(test_search_headers_corpus),
	TEST_ENTRY(test_fetch_parallel),
	TEST_ENTRY(test_body_slices),
	TEST_ENTRY(test_body_file),
	TEST_ENTRY(test_store_flags),
	TEST_ENTRY(test_expunge_and_sync),
	TEST_ENTRY(test_sync_pages),
	TEST_ENTRY(test_store_pages),
	TEST_ENTRY(test_copy_move),
	TEST_ENTRY(test_append_all_or_none),
	TEST_ENTRY(test_append_request_checks),
};

HARNESS_MAIN(tests)
