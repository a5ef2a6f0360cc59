/* SPDX-License-Identifier: ISC */
/*
 * test_store_quota.c: what the store keeps for IMAP QUOTA, STATUS and
 * METADATA (RFC 9208, RFC 8438, RFC 5464), on a real LMDB environment in
 * a temporary directory: the size and \Deleted counters of mailboxes
 * through APPEND, STORE, EXPUNGE, COPY, MOVE and a renamed inbox; the
 * account's quota usage; schema step 3, which rebuilds the counters of an
 * environment of version 2; annotations with their depth, limits and
 * removal with their mailbox and account; and entry names
 * (lib/mailmeta.h).
 */
/* unit-deps: store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/name.c store/key.c store/record.c store/strvec.c store/domain.c store/account.c store/alias.c store/quota.c store/auth.c store/mailbox.c store/changelog.c store/message.c store/blob.c store/txn.c store/loopwake.c store/message_ops.c store/mail_msg_read.c store/mail_msg_sync.c store/readpool.c store/mail_msg_write.c store/mail_msg_append.c store/mbox_op.c store/subscription.c store/metadata.c store/recent.c */
#include "harness.h"
#include "compat.h"
#include "mailmeta.h"
#include "mime.h"
#include "msgrec.h"
#include "wire.h"

#include "store/account.h"
#include "store/auth.h"
#include "store/blob.h"
#include "store/db.h"
#include "store/domain.h"
#include "store/mail_msg.h"
#include "store/mailbox.h"
#include "store/mbox_op.h"
#include "store/message.h"
#include "store/metadata.h"
#include "store/quota.h"
#include "store/record.h"
#include "store/schema.h"
#include "store/txn.h"

#include <stdarg.h>
#include <stdint.h>
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

	snprintf(path, sizeof(path), "%s/quota%d", harness_tmpdir(), n++);
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


/* Octets of msgs[0], msgs[1], msgs[2], counted by hand. */
#define S0	87
#define S1	96
#define S2	88

/* Checks every counter of a mailbox. */
#define CHECK_MBOX(db, acct, id, tot, unr, sz, del, delsz) do {	\
	struct mailbox_rec m_ = mbox_of(db, acct, id);			\
	CHECK_INT(m_.total, tot);					\
	CHECK_INT(m_.unread, unr);					\
	CHECK_INT(m_.size, sz);						\
	CHECK_INT(m_.deleted, del);					\
	CHECK_INT(m_.deleted_size, delsz);				\
} while (0)

static struct account_rec
acct_of(struct store_db *db, uint64_t acct)
{
	struct store_error err;
	struct account acc;

	memset(&acc, 0, sizeof(acc));
	CHECK_INT(account_get_id(db, acct, &acc, &err), IPC_S_OK);
	return acc.rec;
}

TEST(test_counters)
{
	struct store_db db;
	struct buf u = BUF_INIT;
	struct mail_store sr;
	struct mail_expunge er;
	struct mail_copy cr;
	struct account_rec ar;
	uint64_t acct;

	CHECK_INT(strlen(msgs[0]), S0);
	CHECK_INT(strlen(msgs[1]), S1);
	CHECK_INT(strlen(msgs[2]), S2);
	if (open_fresh(&db, &acct) == -1)
		return;
	/* 1 unseen, 2 \Seen, 3 unseen. */
	append3(&db, acct);
	CHECK_MBOX(&db, acct, INBOX, 3, 2, S0 + S1 + S2, 0, 0);
	ar = acct_of(&db, acct);
	CHECK_INT(ar.used_bytes, 271);
	CHECK_INT(ar.used_messages, 3);

	/* \Deleted on 1 and 3; again on 3 changes nothing. */
	uidv(&u, 2, 1, 3);
	CHECK_INT(store(&db, acct, INBOX, &u, MAIL_STORE_ADD, MAIL_F_DELETED,
	    "", 0, &sr), IPC_S_OK);
	mail_store_clear(&sr);
	CHECK_MBOX(&db, acct, INBOX, 3, 2, S0 + S1 + S2, 2, S0 + S2);
	uidv(&u, 1, 3);
	CHECK_INT(store(&db, acct, INBOX, &u, MAIL_STORE_ADD, MAIL_F_DELETED |
	    MAIL_F_SEEN, "", 0, &sr), IPC_S_OK);
	mail_store_clear(&sr);
	CHECK_MBOX(&db, acct, INBOX, 3, 1, S0 + S1 + S2, 2, S0 + S2);
	/* FLAGS (\Seen) on 3: \Deleted goes. */
	CHECK_INT(store(&db, acct, INBOX, &u, MAIL_STORE_SET, MAIL_F_SEEN,
	    "", 0, &sr), IPC_S_OK);
	mail_store_clear(&sr);
	CHECK_MBOX(&db, acct, INBOX, 3, 1, S0 + S1 + S2, 1, S0);

	/* COPY 1 (\Deleted, unseen) to the archive: counted there too. */
	uidv(&u, 1, 1);
	CHECK_INT(copy(&db, acct, INBOX, ARCHIVE, false, &u, &cr), IPC_S_OK);
	mail_copy_clear(&cr);
	CHECK_MBOX(&db, acct, ARCHIVE, 1, 1, S0, 1, S0);
	/* A copy is a message of its own (its bytes stored once): it
	 * counts against the quota as another message would. */
	CHECK_INT(acct_of(&db, acct).used_bytes, 271 + S0);
	CHECK_INT(acct_of(&db, acct).used_messages, 4);

	/* EXPUNGE in the inbox destroys 1; its copy stays in the archive. */
	uidv(&u, 3, 1, 2, 3);
	CHECK_INT(expunge(&db, acct, INBOX, &u, &er), IPC_S_OK);
	mail_expunge_clear(&er);
	CHECK_MBOX(&db, acct, INBOX, 2, 0, S1 + S2, 0, 0);
	CHECK_MBOX(&db, acct, ARCHIVE, 1, 1, S0, 1, S0);
	CHECK_INT(acct_of(&db, acct).used_bytes, 271);

	/* MOVE 2 (\Seen) to the archive. */
	uidv(&u, 1, 2);
	CHECK_INT(copy(&db, acct, INBOX, ARCHIVE, true, &u, &cr), IPC_S_OK);
	mail_copy_clear(&cr);
	CHECK_MBOX(&db, acct, INBOX, 1, 0, S2, 0, 0);
	CHECK_MBOX(&db, acct, ARCHIVE, 2, 1, S0 + S1, 1, S0);

	/* EXPUNGE in the archive destroys message 1 (its last mailbox). */
	uidv(&u, 2, 1, 2);
	CHECK_INT(expunge(&db, acct, ARCHIVE, &u, &er), IPC_S_OK);
	mail_expunge_clear(&er);
	CHECK_MBOX(&db, acct, ARCHIVE, 1, 0, S1, 0, 0);
	ar = acct_of(&db, acct);
	CHECK_INT(ar.used_bytes, S1 + S2);
	CHECK_INT(ar.used_messages, 2);
	buf_clear(&u);
	db_close(&db);
}

/* Renaming the inbox moves its messages: the counters go with them. */
TEST(test_counters_rename_inbox)
{
	static const uint64_t fl[] = { MAIL_F_DELETED, MAIL_F_SEEN };
	struct store_error err;
	struct store_db db;
	struct mbox_list l;
	MDB_txn *txn;
	uint64_t acct, ims;
	uint32_t id = 0;
	size_t i;

	if (open_fresh(&db, &acct) == -1)
		return;
	CHECK_INT(append(&db, acct, INBOX, msgs, 2, fl, NULL, -1, NULL),
	    IPC_S_OK);
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(mbox_op_rename(&db, txn, acct, INBOX, "Old", NOW, &id, &ims,
	    NULL, &err), IPC_S_OK);
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	CHECK_MBOX(&db, acct, INBOX, 0, 0, 0, 0, 0);
	CHECK_MBOX(&db, acct, id, 2, 1, S0 + S1, 1, S0);
	/* MBOX_LIST takes size from the counter. */
	memset(&l, 0, sizeof(l));
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(mbox_op_list(&db, txn, acct, true, &l, &err), IPC_S_OK);
	db_abort(&txn);
	for (i = 0; i < l.n; i++)
		if (l.v[i].id == id) {
			CHECK_INT(l.v[i].size, S0 + S1);
			CHECK_INT(l.v[i].unread_threads, 1);
		}
	mbox_list_clear(&l);
	db_close(&db);
}

/* --- Schema step 3 --- */

/* Every named database of versions 1 and 2, opened by hand at version 2. */
static int
open_v2_dbis(struct store_db *db)
{
	static const struct {
		const char	*name;
		unsigned int	 flags;
		size_t		 off;
	} t[] = {
#define D(n, f)	{ #n, (f), offsetof(struct store_db, n) }
		D(domains, 0), D(accounts, 0), D(account_ids, 0),
		D(aliases, 0), D(alias_targets, MDB_DUPSORT),
		D(mail_state, 0), D(mailboxes, 0), D(messages, 0),
		D(msgrecs, 0), D(mbox_uids, 0), D(mbox_dates, 0),
		D(mbox_threads, 0), D(threads, 0),
		D(msgids, MDB_DUPSORT | MDB_DUPFIXED), D(changes, 0),
		D(vanished, 0), D(dups, 0), D(blobs, 0), D(blob_refs, 0),
		D(catchall, 0),
#undef D
	};
	struct store_error err;
	MDB_txn *txn;
	size_t i;
	int rc = 0;

	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return -1;
	for (i = 0; i < sizeof(t) / sizeof(t[0]) && rc == 0; i++)
		rc = mdb_dbi_open(txn, t[i].name, t[i].flags,
		    (MDB_dbi *)((char *)db + t[i].off));
	if (rc != 0) {
		db_abort(&txn);
		return -1;
	}
	return db_commit(&txn, &err) == IPC_S_OK ? 0 : -1;
}

struct v1_ctx {
	struct buf	 keys;	/* 12 bytes each */
	struct buf	 vals;	/* length-prefixed version 1 records */
	size_t		 n;
};

/* Re-encodes a mailbox record as version 1 did, with counts 99. */
static int
to_v1_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct v1_ctx *c = arg;
	struct mailbox_rec r;
	struct buf b = BUF_INIT;
	uint8_t len[4];

	CHECK_INT(k->mv_size, 12);
	CHECK_INT(record_mailbox_dec(v->mv_data, v->mv_size, &r), 0);
	wire_put_U8(&b, 1);
	wire_put_U32(&b, r.parent);
	wire_put_STR(&b, r.name);
	wire_put_STR(&b, r.role);
	wire_put_U32(&b, r.uidvalidity);
	wire_put_U32(&b, r.uidnext);
	wire_put_U64(&b, r.highestmodseq);
	wire_put_U32(&b, 99);		/* total: wrong, rebuilt */
	wire_put_U32(&b, 99);		/* unread: wrong, rebuilt */
	wire_put_U32(&b, r.threads);
	wire_put_BOOL(&b, r.subscribed);
	wire_put_U32(&b, r.sort_order);
	wire_put_U64(&b, r.created);
	buf_append(&c->keys, k->mv_data, 12);
	wire_be32_put(len, (uint32_t)b.len);
	buf_append(&c->vals, len, 4);
	buf_append(&c->vals, b.data, b.len);
	buf_clear(&b);
	c->n++;
	return 0;
}

/* Rewrites every mailbox record of db as version 1. */
static void
mailboxes_to_v1(struct store_db *db)
{
	struct v1_ctx c;
	struct store_error err;
	struct mailbox_rec r;
	MDB_txn *txn;
	MDB_val k, d;
	size_t i, off = 0;

	memset(&c, 0, sizeof(c));
	CHECK_INT(db_begin(db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(db_scan(txn, db->mailboxes, NULL, 0, to_v1_cb, &c, &err),
	    IPC_S_OK);
	for (i = 0; i < c.n; i++) {
		k.mv_size = 12;
		k.mv_data = c.keys.data + i * 12;
		d.mv_size = wire_be32_get(c.vals.data + off);
		d.mv_data = c.vals.data + off + 4;
		off += 4 + d.mv_size;
		CHECK_INT(mdb_put(txn, db->mailboxes, &k, &d, 0), 0);
		/* This binary refuses them now; step 3 reads them. */
		CHECK_INT(record_mailbox_dec(d.mv_data, d.mv_size, &r), -1);
		CHECK_INT(record_mailbox_v1_dec(d.mv_data, d.mv_size, &r), 0);
		CHECK_INT(r.total, 99);
	}
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	CHECK_INT(c.n, 6);	/* the default mailboxes */
	buf_clear(&c.keys);
	buf_clear(&c.vals);
}

TEST(test_migration_v2_counters)
{
	static const uint64_t fl[] = { 0, MAIL_F_SEEN | MAIL_F_DELETED,
	    MAIL_F_DELETED };
	char hash[crypto_pwhash_STRBYTES];
	char dom[NAME_DOMAIN_MAX + 1];
	const char *dir = fresh_dir();
	struct store_error err;
	struct store_db db;
	struct name_addr a;
	struct mail_copy cr;
	struct buf u = BUF_INIT;
	MDB_dbi meta_dbi;
	MDB_txn *txn;
	uint64_t acct = 0;
	uint32_t v = 0;

	/* Version 2, with an account and mail written at that version. */
	if (db_env_open(&db, dir, MAP_SIZE, &err) == -1 ||
	    schema_upgrade_to(&db, 2, &err) == -1 || open_v2_dbis(&db) == -1) {
		harness_fail(__FILE__, __LINE__, "v2: %s", err.text);
		return;
	}
	CHECK_INT(schema_version(&db, &v, &err), 0);
	CHECK_INT(v, 2);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(mdb_dbi_open(txn, "metadata", 0, &meta_dbi), MDB_NOTFOUND);
	db_abort(&txn);
	(void)domain_add(&db, "example.org", NOW, dom, &err);
	CHECK_INT(auth_hash_password("secret", crypto_pwhash_OPSLIMIT_MIN,
	    crypto_pwhash_MEMLIMIT_MIN, hash), 0);
	CHECK_INT(account_check_new(&db, "alice@example.org", &a, &err),
	    IPC_S_OK);
	CHECK_INT(account_add(&db, &a, hash, 0, 0, NOW, &acct, &err),
	    IPC_S_OK);
	CHECK_INT(append(&db, acct, INBOX, msgs, 3, fl, NULL, -1, NULL),
	    IPC_S_OK);
	uidv(&u, 1, 1);
	CHECK_INT(copy(&db, acct, INBOX, ARCHIVE, false, &u, &cr), IPC_S_OK);
	mail_copy_clear(&cr);
	mailboxes_to_v1(&db);
	db_close(&db);

	/* Opened by this binary: step 3 rebuilds every counter. */
	if (db_open(&db, dir, MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	CHECK_INT(schema_version(&db, &v, &err), 0);
	CHECK_INT(v, SCHEMA_VERSION);	/* and the later steps */
	CHECK_MBOX(&db, acct, INBOX, 3, 2, S0 + S1 + S2, 2, S1 + S2);
	CHECK_MBOX(&db, acct, ARCHIVE, 1, 1, S0, 0, 0);
	CHECK_MBOX(&db, acct, 2, 0, 0, 0, 0, 0);	/* Drafts */
	/* The annotations database exists and works. */
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(mdb_dbi_open(txn, "metadata", 0, &meta_dbi), 0);
	db_abort(&txn);
	buf_clear(&u);
	db_close(&db);
}

/* --- Annotations --- */

TEST(test_mailmeta_names)
{
	char c[MAILMETA_NAME_MAX + 1];
	char longname[MAILMETA_NAME_MAX + 2];

#define OK(n)	CHECK(mailmeta_name_canon(n, strlen(n), c) == NULL)
#define BAD(n)	CHECK(mailmeta_name_canon(n, strlen(n), c) != NULL)
	OK("/private/comment");
	CHECK_STR(c, "/private/comment");
	OK("/Shared/Vendor/Bulwark/X");
	CHECK_STR(c, "/shared/vendor/bulwark/x");
	BAD("/private");
	BAD("/shared/");
	BAD("private/comment");
	BAD("/public/comment");
	BAD("/private//comment");
	BAD("/private/comment/");
	BAD("/private/com*");
	BAD("/private/com%");
	BAD("/private/caf\xc3\xa9");
	BAD("/private/a\tb");
	BAD("");
	memset(longname, 'a', sizeof(longname) - 1);
	memcpy(longname, "/private/", 9);
	longname[sizeof(longname) - 1] = '\0';
	BAD(longname);				/* 256 bytes */
	longname[sizeof(longname) - 2] = '\0';
	OK(longname);				/* 255 bytes */
#undef OK
#undef BAD
	CHECK(mailmeta_name_within("/private/a", "/private/a", 0));
	CHECK(!mailmeta_name_within("/private/a", "/private/a/b", 0));
	CHECK(mailmeta_name_within("/private/a", "/private/a/b", 1));
	CHECK(!mailmeta_name_within("/private/a", "/private/a/b/c", 1));
	CHECK(mailmeta_name_within("/private/a", "/private/a/b/c", SIZE_MAX));
	CHECK(!mailmeta_name_within("/private/a", "/private/ab", SIZE_MAX));
	CHECK(!mailmeta_name_within("/private/a", "/shared/a", SIZE_MAX));
}

/* Sets one entry (value NULL: removes it) in its own transaction. */
static enum ipc_status
meta_set(struct store_db *db, uint64_t acct, uint32_t mbox,
    const char *name, const char *value)
{
	struct metadata_entry e = { name, value,
	    value != NULL ? strlen(value) : 0, value == NULL };
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;

	if ((st = db_begin(db, true, &txn, &err)) != IPC_S_OK)
		return st;
	if ((st = metadata_set(db, txn, acct, mbox, &e, 1, &err)) !=
	    IPC_S_OK) {
		db_abort(&txn);
		return st;
	}
	return db_commit(&txn, &err);
}

static int
meta_text_cb(const char *name, const void *value, size_t len, void *arg)
{
	struct buf *b = arg;

	if (b->len > 0)
		buf_append(b, " ", 1);
	buf_printf(b, "%s=%.*s", name, (int)len, (const char *)value);
	return 0;
}

/* The entries under root at depth, as "name=value name=value". */
static const char *
meta_get(struct store_db *db, uint64_t acct, uint32_t mbox,
    const char *root, uint32_t depth)
{
	static char out[4][512];
	static int k;
	char *p = out[k++ % 4];
	struct store_error err;
	struct buf b = BUF_INIT;
	MDB_txn *txn;

	p[0] = '\0';
	if (db_begin(db, false, &txn, &err) != IPC_S_OK)
		return "(begin failed)";
	if (metadata_get(db, txn, acct, mbox, &root, 1, depth, meta_text_cb,
	    &b, &err) != IPC_S_OK)
		strlcpy(p, "(failed)", 512);
	else if (b.len > 0)
		snprintf(p, 512, "%.*s", (int)b.len, (const char *)b.data);
	db_abort(&txn);
	buf_clear(&b);
	return p;
}

TEST(test_metadata)
{
	struct metadata_entry e[2];
	struct store_error err;
	struct store_db db;
	char name[64], big[MAILMETA_VALUE_MAX + 2];
	MDB_txn *txn;
	uint64_t acct;
	size_t n;
	uint32_t work = 0;
	int i;

	if (open_fresh(&db, &acct) == -1)
		return;
	/* Server entries (mailbox 0) and the inbox's are apart. */
	CHECK_INT(meta_set(&db, acct, 0, "/shared/comment", "server"),
	    IPC_S_OK);
	CHECK_INT(meta_set(&db, acct, INBOX, "/Private/Comment", "mine"),
	    IPC_S_OK);
	CHECK_INT(meta_set(&db, acct, INBOX, "/shared/comment", "ours"),
	    IPC_S_OK);
	CHECK_STR(meta_get(&db, acct, 0, "/shared/comment", 0),
	    "/shared/comment=server");
	CHECK_STR(meta_get(&db, acct, 0, "/private/comment", 0), "");
	/* Names are kept in lower case; /private and /shared stay apart. */
	CHECK_STR(meta_get(&db, acct, INBOX, "/private/comment", 0),
	    "/private/comment=mine");
	CHECK_STR(meta_get(&db, acct, INBOX, "/shared/comment", 0),
	    "/shared/comment=ours");
	/* Depth. */
	CHECK_INT(meta_set(&db, acct, INBOX, "/private/a/b", "1"), IPC_S_OK);
	CHECK_INT(meta_set(&db, acct, INBOX, "/private/a/b/c", "2"),
	    IPC_S_OK);
	CHECK_INT(meta_set(&db, acct, INBOX, "/private/a", "0"), IPC_S_OK);
	CHECK_INT(meta_set(&db, acct, INBOX, "/private/ab", "x"), IPC_S_OK);
	CHECK_STR(meta_get(&db, acct, INBOX, "/private/a", 0),
	    "/private/a=0");
	CHECK_STR(meta_get(&db, acct, INBOX, "/private/a", 1),
	    "/private/a=0 /private/a/b=1");
	CHECK_STR(meta_get(&db, acct, INBOX, "/private/a", UINT32_MAX),
	    "/private/a=0 /private/a/b=1 /private/a/b/c=2");
	/* Replace, then remove with NIL. */
	CHECK_INT(meta_set(&db, acct, INBOX, "/private/a", "new"), IPC_S_OK);
	CHECK_STR(meta_get(&db, acct, INBOX, "/private/a", 0),
	    "/private/a=new");
	CHECK_INT(meta_set(&db, acct, INBOX, "/private/a", NULL), IPC_S_OK);
	CHECK_STR(meta_get(&db, acct, INBOX, "/private/a", 0), "");
	CHECK_INT(meta_set(&db, acct, INBOX, "/private/nothere", NULL),
	    IPC_S_OK);
	/* An empty value is a value. */
	CHECK_INT(meta_set(&db, acct, INBOX, "/private/empty", ""), IPC_S_OK);
	CHECK_STR(meta_get(&db, acct, INBOX, "/private/empty", 0),
	    "/private/empty=");
	/* Refusals. */
	CHECK_INT(meta_set(&db, acct, INBOX, "/private", "x"), IPC_S_INVALID);
	CHECK_INT(meta_set(&db, acct, INBOX, "/other/x", "x"), IPC_S_INVALID);
	CHECK_INT(meta_set(&db, acct, 99, "/private/x", "x"), IPC_S_NOTFOUND);
	memset(big, 'v', sizeof(big));
	big[MAILMETA_VALUE_MAX] = '\0';
	CHECK_INT(meta_set(&db, acct, INBOX, "/private/big", big), IPC_S_OK);
	big[MAILMETA_VALUE_MAX] = 'v';
	big[MAILMETA_VALUE_MAX + 1] = '\0';
	CHECK_INT(meta_set(&db, acct, INBOX, "/private/big2", big),
	    IPC_S_TOOBIG);
	/* All or none: a bad second entry leaves the first unset. */
	e[0] = (struct metadata_entry){ "/private/first", "1", 1, false };
	e[1] = (struct metadata_entry){ "/private/x*", "2", 1, false };
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(metadata_set(&db, txn, acct, INBOX, e, 2, &err),
	    IPC_S_INVALID);
	db_abort(&txn);
	CHECK_STR(meta_get(&db, acct, INBOX, "/private/first", 0), "");

	/* MAILMETA_ENTRIES_MAX per mailbox, the server counted apart. */
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(metadata_count(&db, txn, acct, INBOX, &n, &err), IPC_S_OK);
	db_abort(&txn);
	CHECK_INT(n, 7);	/* comments 2, a/b, a/b/c, ab, empty, big */
	for (i = 0; i < MAILMETA_ENTRIES_MAX - 7; i++) {
		snprintf(name, sizeof(name), "/private/n%d", i);
		CHECK_INT(meta_set(&db, acct, INBOX, name, "v"), IPC_S_OK);
	}
	CHECK_INT(meta_set(&db, acct, INBOX, "/private/one-more", "v"),
	    IPC_S_LIMIT);
	CHECK_INT(meta_set(&db, acct, INBOX, "/private/n0", "changed"),
	    IPC_S_OK);
	CHECK_INT(meta_set(&db, acct, 0, "/private/server2", "v"), IPC_S_OK);

	/* Deleted with their mailbox. */
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(mbox_op_create(&db, txn, acct, "Work", "", NOW, &work, NULL,
	    NULL, &err), IPC_S_OK);
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	CHECK_INT(meta_set(&db, acct, work, "/private/comment", "w"),
	    IPC_S_OK);
	CHECK_STR(meta_get(&db, acct, work, "/private/comment", 0),
	    "/private/comment=w");
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(mbox_op_delete(&db, txn, acct, work, NULL, &err), IPC_S_OK);
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	CHECK_STR(meta_get(&db, acct, work, "/private/comment", 0), "");
	CHECK_STR(meta_get(&db, acct, INBOX, "/private/comment", 0),
	    "/private/comment=mine");

	/* And with their account. */
	CHECK_INT(account_del(&db, "alice@example.org", NULL, &n, &err),
	    IPC_S_OK);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(metadata_count(&db, txn, acct, INBOX, &n, &err), IPC_S_OK);
	CHECK_INT(n, 0);
	CHECK_INT(metadata_count(&db, txn, acct, 0, &n, &err), IPC_S_OK);
	CHECK_INT(n, 0);
	db_abort(&txn);
	db_close(&db);
}

/* A metadata record round-trips and refuses other versions. */
TEST(test_metadata_record)
{
	struct buf b = BUF_INIT;
	const void *p;
	size_t len;

	record_metadata_enc(&b, "a\0b", 3);
	CHECK_INT(record_metadata_dec(b.data, b.len, &p, &len), 0);
	CHECK_INT(len, 3);
	CHECK(memcmp(p, "a\0b", 3) == 0);
	CHECK_INT(record_metadata_dec(b.data, b.len - 1, &p, &len), -1);
	b.data[0] = 2;
	CHECK_INT(record_metadata_dec(b.data, b.len, &p, &len), -1);
	buf_clear(&b);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_counters),
	TEST_ENTRY(test_counters_rename_inbox),
	TEST_ENTRY(test_migration_v2_counters),
	TEST_ENTRY(test_mailmeta_names),
	TEST_ENTRY(test_metadata),
	TEST_ENTRY(test_metadata_record),
};

HARNESS_MAIN(tests)
