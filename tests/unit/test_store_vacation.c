/* SPDX-License-Identifier: ISC */
/*
 * test_store_vacation.c: the VacationResponse in the store
 * (store/vacation.h) on a real LMDB environment, without IPC: RFC 3834's
 * reasons not to answer, one by one; the record with null and empty
 * strings kept apart and the state moving; the reply queued at delivery
 * once per sender, again after the response is set, never outside its
 * dates or when off; the reply's message (null sender, Auto-Submitted,
 * In-Reply-To and References, the subject); and its automatic submission,
 * which the user's listing and cancel do not see and which goes with its
 * blob once the relay is done with it.
 */
/* unit-deps: store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/name.c store/key.c store/record.c store/strvec.c store/domain.c store/account.c store/alias.c store/quota.c store/auth.c store/mailbox.c store/changelog.c store/message.c store/blob.c store/txn.c store/loopwake.c store/recent.c store/changes.c store/submit.c store/submit_queue.c store/submit_auto.c store/submit_dkim.c store/vacation.c store/vacation_mail.c */
#include "harness.h"
#include "compat.h"

#include "store/account.h"
#include "store/auth.h"
#include "store/blob.h"
#include "store/db.h"
#include "store/domain.h"
#include "store/submit.h"
#include "store/txn.h"
#include "store/vacation.h"

#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#define MAP_SIZE	(64u << 20)
#define NOW		1700000000ull
#define DAY		86400ull

static const char *
fresh_dir(void)
{
	static char path[256];
	static int n;

	snprintf(path, sizeof(path), "%s/vacation%d", harness_tmpdir(), n++);
	return path;
}

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

static const char *
refusal(const char *from, const char *rcpt, const char *hdr)
{
	const char *why = vacation_refusal(from, rcpt, "me@example.org",
	    (const uint8_t *)hdr, strlen(hdr));

	return why != NULL ? why : "answer";
}

#define TO_ME	"From: b@remote.example\r\nTo: Me <me@example.org>\r\n"

TEST(refusals)
{
	CHECK_STR(refusal("b@remote.example", "me@example.org", TO_ME "\r\n"),
	    "answer");
	/* Cc counts; the subaddress and the case do not matter. */
	CHECK_STR(refusal("b@remote.example", "ME+box@Example.org",
	    "To: x@y.example\r\nCc: a@b.example, me+Box@example.ORG\r\n\r\n"),
	    "answer");
	/* The account's own address in To, mail to an alias of it. */
	CHECK_STR(refusal("b@remote.example", "alias@example.org", TO_ME),
	    "answer");
	CHECK_STR(refusal("b@remote.example", "me@example.org",
	    "To: x@y.example\r\nBcc: me@example.org\r\n\r\n"),
	    "recipient not in To or Cc");
	CHECK_STR(refusal("", "me@example.org", TO_ME), "null sender");
	CHECK_STR(refusal("MAILER-DAEMON@remote.example", "me@example.org",
	    TO_ME), "sender is a robot");
	CHECK_STR(refusal("owner-list@remote.example", "me@example.org",
	    TO_ME), "sender is a robot");
	CHECK_STR(refusal("list-request@remote.example", "me@example.org",
	    TO_ME), "sender is a robot");
	CHECK_STR(refusal("noreply@remote.example", "me@example.org",
	    TO_ME), "sender is a robot");
	CHECK_STR(refusal("Me@Example.org", "me@example.org", TO_ME),
	    "sender is the recipient");
	CHECK_STR(refusal("b@remote.example", "me@example.org",
	    TO_ME "Auto-Submitted: auto-replied\r\n\r\n"), "auto-submitted");
	CHECK_STR(refusal("b@remote.example", "me@example.org",
	    TO_ME "Auto-Submitted:  No \r\n\r\n"), "answer");
	CHECK_STR(refusal("b@remote.example", "me@example.org",
	    TO_ME "Precedence: junk\r\n\r\n"), "bulk or list precedence");
	CHECK_STR(refusal("b@remote.example", "me@example.org",
	    TO_ME "Precedence: first-class\r\n\r\n"), "answer");
	CHECK_STR(refusal("b@remote.example", "me@example.org",
	    TO_ME "List-Id: <a.b.example>\r\n\r\n"), "list mail");
	/* The header ends at the blank line: fields after it do not count. */
	CHECK_STR(refusal("b@remote.example", "me@example.org",
	    TO_ME "\r\nList-Id: <a.b.example>\r\n"), "answer");
}

/* --- The record --- */

static enum ipc_status
set(struct store_db *db, uint64_t acct, bool on, uint64_t from, uint64_t to,
    const char *subject, const char *text, const char *html,
    uint64_t *state_r)
{
	struct store_error err;
	struct vacation_op *op;
	enum ipc_status st;

	if ((op = vacation_op_new(acct, on, from, to, subject, text, html, &st,
	    &err)) == NULL)
		return st;
	st = mail_txn_run(db, vacation_set_op, op, &err);
	if (state_r != NULL)
		*state_r = op->state;
	vacation_op_free(&op);
	return st;
}

TEST(record)
{
	struct store_error err;
	struct store_db db;
	struct vacation v;
	enum ipc_status st;
	MDB_txn *txn;
	uint64_t acct, s0 = 0, s1 = 0, s2 = 0;
	char big[VACATION_SUBJECT_MAX + 2];

	if (db_open(&db, fresh_dir(), MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	acct = add_account(&db, "me@example.org");
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(vacation_get(&db, txn, acct, &v, &s0, &err), IPC_S_OK);
	db_abort(&txn);
	CHECK(!v.enabled && v.from == 0 && v.to == 0);
	CHECK(v.subject == NULL && v.text == NULL && v.html == NULL);
	vacation_clear(&v);
	CHECK_INT(set(&db, acct, true, NOW, NOW + DAY, "", "away", NULL, &s1),
	    IPC_S_OK);
	CHECK(s1 > s0);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(vacation_get(&db, txn, acct, &v, &s2, &err), IPC_S_OK);
	db_abort(&txn);
	CHECK_INT(s2, s1);
	CHECK(v.enabled);
	CHECK_INT(v.from, NOW);
	CHECK_INT(v.to, NOW + DAY);
	CHECK(v.subject != NULL && v.subject[0] == '\0');
	CHECK(v.text != NULL && strcmp(v.text, "away") == 0);
	CHECK(v.html == NULL);
	vacation_clear(&v);
	/* Bad texts change nothing. */
	CHECK_INT(set(&db, acct, false, 0, 0, "a\nb", NULL, NULL, NULL),
	    IPC_S_INVALID);
	CHECK_INT(set(&db, acct, false, 0, 0, NULL, "\xff\xfe", NULL, NULL),
	    IPC_S_INVALID);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(set(&db, acct, false, 0, 0, big, NULL, NULL, NULL),
	    IPC_S_TOOBIG);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	st = vacation_get(&db, txn, acct, &v, &s2, &err);
	db_abort(&txn);
	CHECK_INT(st, IPC_S_OK);
	CHECK(v.enabled);
	CHECK_INT(s2, s1);
	vacation_clear(&v);
	db_close(&db);
}

/* --- Delivery --- */

struct dl {
	struct vacation_mail	 m;
	bool			 queued;
};

static enum ipc_status
dl_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct dl *d = arg;

	return vacation_deliver(db, txn, &d->m, &d->queued, err);
}

static const char mail[] = "From: Bob <bob@remote.example>\r\n"
    "To: me@example.org\r\nSubject: Lunch?\r\n"
    "Message-ID: <q1@remote.example>\r\n"
    "References: <q0@remote.example>\r\n\r\nTomorrow?\r\n";

/* Whether a delivery from `from` at now queues a reply. */
static bool
arrives(struct store_db *db, uint64_t acct, const char *from, uint64_t now)
{
	struct store_error err;
	struct dl d;

	memset(&d, 0, sizeof(d));
	d.m.account_id = acct;
	d.m.envelope_from = from;
	d.m.recipient = "me@example.org";
	d.m.data = (const uint8_t *)mail;
	d.m.size = strlen(mail);
	d.m.now = now;
	if (mail_txn_run(db, dl_apply, &d, &err) != IPC_S_OK) {
		harness_fail(__FILE__, __LINE__, "deliver: %s", err.text);
		return false;
	}
	return d.queued;
}

/* Takes the next submission due at now: its bytes, or NULL. */
static char *
take(struct store_db *db, uint64_t now, struct submit_take *t)
{
	struct store_error err;
	char *out = NULL;
	MDB_txn *txn;
	ssize_t n;
	int fd = memfd_create("take", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	memset(t, 0, sizeof(*t));
	t->now = now;
	t->fd = fd;

	if (mail_txn_run(db, submit_take_op, t, &err) == IPC_S_OK &&
	    t->found && db_begin(db, false, &txn, &err) == IPC_S_OK) {
		if (submit_take_write(db, txn, t, &err) != IPC_S_OK)
			harness_fail(__FILE__, __LINE__, "take write: %s",
			    err.text);
		db_abort(&txn);
		out = calloc(1, t->size + 1);
		n = pread(fd, out, t->size, 0);
		if (n != (ssize_t)t->size)
			harness_fail(__FILE__, __LINE__, "short take");
	}
	close(fd);
	return out;
}

TEST(replies)
{
	struct store_error err;
	struct store_db db;
	struct submit_take t;
	struct submit_list l;
	struct submit_done *d;
	struct submit_id_op cancel;
	struct wire_strlist rl;
	struct wire_u64list dl;
	struct buf rb = BUF_INIT, db8 = BUF_INIT;
	enum ipc_status st;
	MDB_txn *txn;
	uint64_t acct;
	uint8_t hash[MSG_HASH_LEN];
	struct blob_view bv;
	char *msg;

	if (db_open(&db, fresh_dir(), MAP_SIZE, &err) == -1) {
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
		return;
	}
	acct = add_account(&db, "me@example.org");
	/* Off: nothing. */
	CHECK(!arrives(&db, acct, "bob@remote.example", NOW));
	CHECK_INT(set(&db, acct, true, NOW + DAY, 0, NULL, "Away.", NULL,
	    NULL), IPC_S_OK);
	CHECK(!arrives(&db, acct, "bob@remote.example", NOW));	/* early */
	CHECK_INT(set(&db, acct, true, 0, NOW, NULL, "Away.", NULL, NULL),
	    IPC_S_OK);
	CHECK(!arrives(&db, acct, "bob@remote.example", NOW));	/* late */
	CHECK_INT(set(&db, acct, true, NOW - DAY, NOW + 30 * DAY, NULL,
	    "Away.", NULL, NULL), IPC_S_OK);
	CHECK(arrives(&db, acct, "bob@remote.example", NOW));
	/* Once per VACATION_DAYS per sender; the case does not matter. */
	CHECK(!arrives(&db, acct, "Bob@Remote.example", NOW + DAY));
	CHECK(arrives(&db, acct, "carol@remote.example", NOW + DAY));
	CHECK(arrives(&db, acct, "bob@remote.example",
	    NOW + VACATION_DAYS * DAY));
	/* Set again: answered again at once. */
	CHECK_INT(set(&db, acct, true, 0, 0, "Gone", "Away.", NULL, NULL),
	    IPC_S_OK);
	CHECK(arrives(&db, acct, "bob@remote.example",
	    NOW + VACATION_DAYS * DAY));

	/* None of them is the user's; cancel does not find one. */
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(submit_list(&db, txn, acct, NULL, 0, &l, &err), IPC_S_OK);
	db_abort(&txn);
	CHECK_INT(l.n, 0);
	submit_list_clear(&l);
	cancel.account_id = acct;
	cancel.id = 1;
	CHECK_INT(mail_txn_run(&db, submit_cancel_op, &cancel, &err),
	    IPC_S_NOTFOUND);

	/* The first reply: to bob, from nobody, about his message. */
	msg = take(&db, NOW + 30 * DAY, &t);
	CHECK(msg != NULL);
	if (msg == NULL) {
		db_close(&db);
		return;
	}
	CHECK_STR(t.rec.mail_from, "");
	CHECK_INT(t.rcpts.n, 1);
	CHECK_STR(t.rcpts.v[0], "bob@remote.example");
	CHECK(strstr(msg, "\r\nFrom: me@example.org\r\n") != NULL);
	CHECK(strstr(msg, "\r\nTo: bob@remote.example\r\n") != NULL);
	CHECK(strstr(msg, "\r\nSubject: Auto: Lunch?\r\n") != NULL);
	CHECK(strstr(msg, "\r\nIn-Reply-To: <q1@remote.example>\r\n") !=
	    NULL);
	CHECK(strstr(msg, "\r\nReferences: <q0@remote.example> "
	    "<q1@remote.example>\r\n") != NULL);
	CHECK(strstr(msg, "\r\nAuto-Submitted: auto-replied\r\n") != NULL);
	CHECK(strstr(msg, "\r\n\r\nAway.\r\n") != NULL);
	blob_hash(msg, strlen(msg), hash);
	free(msg);
	/* Done: the submission and its blob are gone. */
	wire_strlist_add(&rb, "250 2.0.0 ok");
	rl.count = 1;
	rl.p = rb.data;
	rl.len = rb.len;
	wire_u64list_add(&db8, SUBMIT_DLV_YES);
	dl.count = 1;
	dl.p = db8.data;
	d = submit_done_make(acct, t.id, &rl, &dl, 0, NOW + 30 * DAY, &st,
	    &err);
	CHECK(d != NULL);
	if (d != NULL) {
		CHECK_INT(mail_txn_run(&db, submit_done_op, d, &err),
		    IPC_S_OK);
		submit_done_free(&d);
	}
	submit_take_clear(&t);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(blob_view_get(&db, txn, hash, &bv, NULL, &err),
	    IPC_S_NOTFOUND);
	db_abort(&txn);
	/* The three others follow, in order. */
	msg = take(&db, NOW + 30 * DAY, &t);
	CHECK(msg != NULL && t.rcpts.n == 1 &&
	    strcmp(t.rcpts.v[0], "carol@remote.example") == 0);
	free(msg);
	submit_take_clear(&t);
	buf_clear(&rb);
	buf_clear(&db8);
	db_close(&db);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(refusals),
	TEST_ENTRY(record),
	TEST_ENTRY(replies),
};

HARNESS_MAIN(tests)
