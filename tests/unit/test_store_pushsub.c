/* SPDX-License-Identifier: ISC */
/*
 * test_store_pushsub.c: JMAP PushSubscription in the store (store/
 * pushsub.h) on a real LMDB environment: create (ids, the code, expires
 * capped, https only, PUSHSUB_MAX with expired ones not counted and
 * dropped), update (a wrong code refused, verification, expires, types),
 * delete; and the queue: the PushVerification first and alone before
 * verification, StateChanges from the change log filtered by types and
 * coalesced, the states of Email and EmailDelivery, done with 2xx, a
 * retry after 5xx, 404 and 410, a lease that passes, an encrypted body
 * with keys, a subscription gone; and the account's purge.
 */
/* unit-deps: store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/name.c store/key.c store/record.c store/strvec.c store/domain.c store/account.c store/alias.c store/quota.c store/auth.c store/mailbox.c store/changelog.c store/message.c store/blob.c store/txn.c store/loopwake.c store/recent.c store/changes.c store/submit.c store/submit_queue.c store/submit_auto.c store/submit_dkim.c store/pushsub.c */
#include "harness.h"
#include "compat.h"
#include "pushtypes.h"

#include "store/account.h"
#include "store/auth.h"
#include "store/blob.h"
#include "store/db.h"
#include "store/domain.h"
#include "store/message.h"
#include "store/pushsub.h"
#include "store/submit_int.h"
#include "store/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define MAP_SIZE	(64u << 20)
#define NOW		1700000000ull
#define INBOX		1

static struct store_db db;
static uint64_t acct;

static void
setup(void)
{
	static char path[256];
	static int n;
	char hash[crypto_pwhash_STRBYTES];
	char dom[NAME_DOMAIN_MAX + 1];
	struct store_error err;
	struct name_addr a;

	snprintf(path, sizeof(path), "%s/pushsub%d", harness_tmpdir(), n++);
	if (db_open(&db, path, MAP_SIZE, &err) == -1)
		harness_fail(__FILE__, __LINE__, "db_open: %s", err.text);
	(void)domain_add(&db, "example.org", NOW, dom, &err);
	if (auth_hash_password("secret", crypto_pwhash_OPSLIMIT_MIN,
	    crypto_pwhash_MEMLIMIT_MIN, hash) != 0 ||
	    account_check_new(&db, "p@example.org", &a, &err) != IPC_S_OK ||
	    account_add(&db, &a, hash, 0, 0, NOW, &acct, &err) != IPC_S_OK)
		harness_fail(__FILE__, __LINE__, "account: %s", err.text);
}

static void
teardown(void)
{
	db_close(&db);
}

struct mail {
	struct message_new	 in;
	struct message_result	 out;
};

static enum ipc_status
mail_apply(struct store_db *d, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail *m = arg;

	return message_append(d, txn, &m->in, &m->out, err);
}

/* A delivery; the account's modseq after it. */
static uint64_t
deliver(const char *text)
{
	struct store_error err;
	struct mail m;
	uint64_t modseq = 0;
	MDB_txn *txn;

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
	if (mail_txn_run(&db, mail_apply, &m, &err) != IPC_S_OK)
		harness_fail(__FILE__, __LINE__, "deliver: %s", err.text);
	if (db_begin(&db, false, &txn, &err) == IPC_S_OK) {
		(void)submit_state(&db, txn, acct, &modseq, &err);
		db_abort(&txn);
	}
	return modseq;
}

static enum ipc_status
op_run(enum pushsub_kind kind, uint64_t id, const char *url, uint64_t exp,
    uint32_t what, const char *code, uint32_t types, uint64_t now,
    struct pushsub *out)
{
	struct pushsub_op *op = calloc(1, sizeof(*op));
	struct store_error err;
	enum ipc_status st;

	op->kind = kind;
	op->account_id = acct;
	op->now = now;
	op->what = what;
	op->in.id = id;
	op->in.device_id = strdup("dev");
	op->in.url = strdup(url != NULL ? url : "https://push.example/x");
	if (code != NULL)
		strlcpy(op->in.code, code, sizeof(op->in.code));
	op->in.expires = exp;
	op->in.types = types;
	st = mail_txn_run(&db, pushsub_op_apply, op, &err);
	if (out != NULL) {
		out->id = op->in.id;
		out->expires = op->in.expires;
		memcpy(out->code, op->in.code, sizeof(out->code));
		out->verified = op->verified_now;
	}
	pushsub_op_free(&op);
	return st;
}

static uint64_t
create(const char *url, uint64_t exp, uint32_t types, char *code)
{
	struct pushsub s;

	if (op_run(PUSHSUB_OP_CREATE, 0, url, exp, 0, NULL, types, NOW, &s) !=
	    IPC_S_OK)
		return 0;
	if (code != NULL)
		memcpy(code, s.code, PUSHSUB_CODE_LEN + 1);
	return s.id;
}

static size_t
count(void)
{
	struct pushsub_list l = { NULL, 0 };
	struct store_error err;
	MDB_txn *txn;
	size_t n = SIZE_MAX;

	if (db_begin(&db, false, &txn, &err) == IPC_S_OK) {
		if (pushsub_list(&db, txn, acct, &l, &err) == IPC_S_OK)
			n = l.n;
		db_abort(&txn);
	}
	pushsub_list_clear(&l);
	return n;
}

TEST(test_records)
{
	char code[PUSHSUB_CODE_LEN + 1], wrong[PUSHSUB_CODE_LEN + 1];
	struct pushsub_list l = { NULL, 0 };
	struct store_error err;
	struct pushsub s;
	MDB_txn *txn;
	uint64_t id, id2;
	size_t i;

	setup();
	CHECK(pushsub_url_ok("https://a.example/p"));
	CHECK(!pushsub_url_ok("http://a.example/p"));
	CHECK(!pushsub_url_ok("https://"));
	CHECK(!pushsub_url_ok("https:///p"));
	CHECK(!pushsub_url_ok("https://a.example/ p"));
	CHECK(pushsub_url_ok("HTTPS://a.example:8443?x"));
	CHECK(pushsub_url_ok("https://[2001:db8::1]:1/"));
	CHECK(pushsub_url_ok("https://192.0.2.1#f"));
	CHECK(!pushsub_url_ok("https://u@a.example/"));
	CHECK(!pushsub_url_ok("https://a_b.example/"));
	CHECK(!pushsub_url_ok("https://a.example:0/"));
	CHECK(!pushsub_url_ok("https://a.example:65536/"));
	CHECK(!pushsub_url_ok("https://a.example:/"));
	CHECK(!pushsub_url_ok("https://[]/"));
	CHECK(!pushsub_url_ok("https://[::1]x/"));
	CHECK(!pushsub_url_ok("https://-a/"));
	CHECK_INT(pushsub_expires_cap(0, NOW), NOW + PUSHSUB_EXPIRES_MAX);
	CHECK_INT(pushsub_expires_cap(NOW + 60, NOW), NOW + 60);
	CHECK_INT(pushsub_expires_cap(NOW + 30 * 86400, NOW),
	    NOW + PUSHSUB_EXPIRES_MAX);
	CHECK_INT(op_run(PUSHSUB_OP_CREATE, 0, "http://x/", 0, 0, NULL, 0,
	    NOW, NULL), IPC_S_INVALID);
	id = create(NULL, 0, PUSHTYPE_ALL, code);
	CHECK_INT(id, 1);
	CHECK_INT(strlen(code), PUSHSUB_CODE_LEN);
	CHECK_INT(strspn(code, "0123456789abcdef"), PUSHSUB_CODE_LEN);
	id2 = create(NULL, NOW + 100, PUSHTYPE_EMAIL, NULL);
	CHECK_INT(id2, 2);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(pushsub_get(&db, txn, acct, id, &s, &err), IPC_S_OK);
	CHECK_STR(s.url, "https://push.example/x");
	CHECK_STR(s.device_id, "dev");
	CHECK_STR(s.code, code);
	CHECK(!s.verified && !s.has_keys);
	CHECK_INT(s.expires, NOW + PUSHSUB_EXPIRES_MAX);
	CHECK_INT(s.types, PUSHTYPE_ALL);
	pushsub_clear(&s);
	CHECK_INT(pushsub_get(&db, txn, acct, 9, &s, &err), IPC_S_NOTFOUND);
	db_abort(&txn);
	/* a wrong code, then the right one */
	memcpy(wrong, code, sizeof(wrong));
	wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
	CHECK_INT(op_run(PUSHSUB_OP_UPDATE, id, NULL, 0, PUSHSUB_SET_CODE,
	    wrong, 0, NOW, NULL), IPC_S_INVALID);
	CHECK_INT(op_run(PUSHSUB_OP_UPDATE, id, NULL, 0, PUSHSUB_SET_CODE,
	    "", 0, NOW, NULL), IPC_S_INVALID);
	CHECK_INT(op_run(PUSHSUB_OP_UPDATE, id, NULL, 0, PUSHSUB_SET_CODE,
	    code, 0, NOW, &s), IPC_S_OK);
	CHECK(s.verified);
	CHECK_INT(op_run(PUSHSUB_OP_UPDATE, id, NULL, 0, PUSHSUB_SET_CODE,
	    code, 0, NOW, &s), IPC_S_OK);
	CHECK(!s.verified);	/* not news the second time */
	CHECK_INT(op_run(PUSHSUB_OP_UPDATE, id, NULL, NOW + 99 * 86400,
	    PUSHSUB_SET_EXPIRES | PUSHSUB_SET_TYPES, NULL, PUSHTYPE_MAILBOX,
	    NOW, &s), IPC_S_OK);
	CHECK_INT(s.expires, NOW + PUSHSUB_EXPIRES_MAX);
	CHECK_INT(op_run(PUSHSUB_OP_UPDATE, 77, NULL, 0, PUSHSUB_SET_TYPES,
	    NULL, 0, NOW, NULL), IPC_S_NOTFOUND);
	CHECK_INT(db_begin(&db, false, &txn, &err), IPC_S_OK);
	CHECK_INT(pushsub_list(&db, txn, acct, &l, &err), IPC_S_OK);
	db_abort(&txn);
	CHECK_INT(l.n, 2);
	CHECK(l.n == 2 && l.v[0].verified && l.v[0].types ==
	    PUSHTYPE_MAILBOX && !l.v[1].verified);
	pushsub_list_clear(&l);
	/* PUSHSUB_MAX, then LIMIT; expired ones do not count and go */
	for (i = 2; i < PUSHSUB_MAX; i++)
		CHECK(create(NULL, 0, PUSHTYPE_ALL, NULL) != 0);
	CHECK_INT(op_run(PUSHSUB_OP_CREATE, 0, NULL, 0, 0, NULL, 0, NOW,
	    NULL), IPC_S_LIMIT);
	CHECK_INT(count(), PUSHSUB_MAX);
	CHECK_INT(op_run(PUSHSUB_OP_CREATE, 0, NULL, 0, 0, NULL, 0, NOW + 101,
	    &s), IPC_S_OK);
	CHECK_INT(s.id, PUSHSUB_MAX + 1);	/* ids are not reused */
	CHECK_INT(count(), PUSHSUB_MAX);	/* id2 expired and went */
	CHECK_INT(op_run(PUSHSUB_OP_DEL, id, NULL, 0, 0, NULL, 0, NOW + 101,
	    NULL), IPC_S_OK);
	CHECK_INT(op_run(PUSHSUB_OP_DEL, id, NULL, 0, 0, NULL, 0, NOW + 101,
	    NULL), IPC_S_NOTFOUND);
	CHECK_INT(count(), PUSHSUB_MAX - 1);
	teardown();
}

/* The body of the next take, as a string; "" if none is due. */
static char *
take(struct pushq *q, uint64_t now, struct pushq_take *t)
{
	static char body[4096];
	struct store_error err;

	body[0] = '\0';
	if (pushq_take(q, &db, now, t, &err) != IPC_S_OK)
		return body;
	snprintf(body, sizeof(body), "%.*s", (int)t->body.len,
	    (const char *)t->body.data);
	return body;
}

TEST(test_queue)
{
	char code[PUSHSUB_CODE_LEN + 1], want[256], st[24];
	struct pushq *q = pushq_new();
	struct pushq_take t;
	uint64_t id, id2, m1, m2, retry, tok;

	setup();
	m1 = deliver("Subject: a\r\n\r\na\r\n");
	id = create(NULL, 0, PUSHTYPE_ALL, code);
	id2 = create("https://other.example/", 0, PUSHTYPE_IDENTITY, NULL);
	pushq_verify(q, acct, id);
	pushq_seen(q, acct, m1);
	/* not verified: a change queues nothing */
	(void)deliver("Subject: b\r\n\r\nb\r\n");
	CHECK_INT(pushq_changed(q, &db, acct, 0, NOW), 0);
	snprintf(want, sizeof(want), "{\"@type\":\"PushVerification\","
	    "\"pushSubscriptionId\":\"P%llx\",\"verificationCode\":\"%s\"}",
	    (unsigned long long)id, code);
	CHECK_STR(take(q, NOW, &t), want);
	CHECK_STR(t.url, "https://push.example/x");
	CHECK(!t.encrypted);
	CHECK_INT(t.ttl, PUSHSUB_EXPIRES_MAX);
	tok = t.token;
	pushq_take_clear(&t);
	CHECK_STR(take(q, NOW, &t), "");	/* taken: leased */
	CHECK_INT(pushq_done(q, acct, id, tok + 99, 201, NOW, &retry), 0);
	CHECK_INT(pushq_len(q), 1);		/* not that take */
	CHECK_INT(pushq_done(q, acct, id, tok, 201, NOW, &retry), 0);
	CHECK_INT(retry, 0);
	CHECK_INT(pushq_len(q), 0);
	CHECK_INT(op_run(PUSHSUB_OP_UPDATE, id, NULL, 0, PUSHSUB_SET_CODE,
	    code, 0, NOW, NULL), IPC_S_OK);
	CHECK_INT(op_run(PUSHSUB_OP_UPDATE, id2, NULL, 0, PUSHSUB_SET_CODE,
	    "", 0, NOW, NULL), IPC_S_INVALID);
	/* two deliveries coalesce into one StateChange, latest states */
	(void)deliver("Subject: c\r\n\r\nc\r\n");
	CHECK_INT(pushq_changed(q, &db, acct, 0, NOW), 1);
	m2 = deliver("Subject: d\r\n\r\nd\r\n");
	CHECK_INT(pushq_changed(q, &db, acct, m2, NOW), 1);
	CHECK_INT(pushq_len(q), 1);
	snprintf(st, sizeof(st), "S%llx", (unsigned long long)m2);
	snprintf(want, sizeof(want), "{\"@type\":\"StateChange\",\"changed\":"
	    "{\"A%llx\":{\"Mailbox\":\"%s\",\"Email\":\"%s\",\"Thread\":\"%s\","
	    "\"EmailDelivery\":\"%s\"}}}", (unsigned long long)acct, st, st, st,
	    st);
	CHECK_STR(take(q, NOW, &t), want);
	CHECK_INT(t.ttl, PUSHQ_TTL);
	/* nothing changed since: nothing queued */
	CHECK_INT(pushq_changed(q, &db, acct, 0, NOW), 0);
	/* 503: again later, with backoff; the lease passing frees a take */
	CHECK_INT(pushq_done(q, acct, id, t.token, 503, NOW, &retry), 0);
	CHECK(retry > NOW);
	pushq_take_clear(&t);
	CHECK_STR(take(q, retry - 1, &t), "");
	CHECK_STR(take(q, retry, &t), want);
	pushq_take_clear(&t);
	CHECK_STR(take(q, retry + PUSHQ_LEASE - 1, &t), "");
	CHECK_STR(take(q, retry + PUSHQ_LEASE, &t), want);
	/* 410: gone, with every push of it */
	(void)deliver("Subject: e\r\n\r\ne\r\n");
	CHECK_INT(pushq_changed(q, &db, acct, 0, NOW), 1);
	CHECK_INT(pushq_len(q), 2);
	CHECK_INT(pushq_done(q, acct, id, t.token, 410, NOW, &retry), 1);
	CHECK_INT(pushq_len(q), 0);
	pushq_take_clear(&t);
	/* expired: dropped at the take */
	(void)deliver("Subject: f\r\n\r\nf\r\n");
	CHECK_INT(pushq_changed(q, &db, acct, 0, NOW), 1);
	CHECK_STR(take(q, NOW + PUSHSUB_EXPIRES_MAX, &t), "");
	CHECK_INT(pushq_len(q), 0);
	/* an account the queue never saw: every type but EmailDelivery */
	pushq_free(&q);
	q = pushq_new();
	CHECK_INT(pushq_changed(q, &db, acct, 0, NOW), 1);
	CHECK(strstr(take(q, NOW, &t), "\"VacationResponse\"") != NULL);
	CHECK(memmem(t.body.data, t.body.len, "EmailDelivery", 13) == NULL);
	/* 404 also destroys; another 4xx just drops */
	CHECK_INT(pushq_done(q, acct, id, t.token, 400, NOW, &retry), 0);
	CHECK_INT(pushq_len(q), 0);
	pushq_take_clear(&t);
	pushq_free(&q);
	teardown();
}

TEST(test_types_keys_purge)
{
	static const uint8_t pub[65] = { 4,
	    0x25, 0x71, 0xb2, 0xbe, 0xcd, 0xfd, 0xe3, 0x60, 0x55, 0x1a, 0xaf,
	    0x1e, 0xd0, 0xf4, 0xcd, 0x36, 0x6c, 0x11, 0xce, 0xbe, 0x55, 0x5f,
	    0x89, 0xbc, 0xb7, 0xb1, 0x86, 0xa5, 0x33, 0x39, 0x17, 0x31, 0x68,
	    0xec, 0xe2, 0xeb, 0xe0, 0x18, 0x59, 0x7b, 0xd3, 0x04, 0x79, 0xb8,
	    0x6e, 0x3c, 0x8f, 0x8e, 0xce, 0xd5, 0x77, 0xca, 0x59, 0x18, 0x7e,
	    0x92, 0x46, 0x99, 0x0d, 0xb6, 0x82, 0x00, 0x8b, 0x0e };
	char code[PUSHSUB_CODE_LEN + 1];
	struct pushq *q = pushq_new();
	struct pushsub_op *op;
	struct store_error err;
	struct pushq_take t;
	MDB_txn *txn;
	uint64_t id, m;

	setup();
	m = deliver("Subject: a\r\n\r\na\r\n");
	pushq_seen(q, acct, m);
	/* types: Identity only; an email change is not its business */
	id = create(NULL, 0, PUSHTYPE_IDENTITY, code);
	CHECK_INT(op_run(PUSHSUB_OP_UPDATE, id, NULL, 0, PUSHSUB_SET_CODE,
	    code, 0, NOW, NULL), IPC_S_OK);
	(void)deliver("Subject: b\r\n\r\nb\r\n");
	CHECK_INT(pushq_changed(q, &db, acct, 7, NOW), 0);
	CHECK_INT(op_run(PUSHSUB_OP_DEL, id, NULL, 0, 0, NULL, 0, NOW, NULL),
	    IPC_S_OK);
	/* keys: the body is RFC 8188's: salt, rs, idlen 65, key, data */
	op = calloc(1, sizeof(*op));
	op->kind = PUSHSUB_OP_CREATE;
	op->account_id = acct;
	op->now = NOW;
	op->in.device_id = strdup("d");
	op->in.url = strdup("https://k.example/");
	op->in.has_keys = true;
	memcpy(op->in.p256dh, pub, sizeof(pub));
	memset(op->in.auth, 7, sizeof(op->in.auth));
	op->in.types = PUSHTYPE_ALL;
	CHECK_INT(mail_txn_run(&db, pushsub_op_apply, op, &err), IPC_S_OK);
	pushq_verify(q, acct, op->in.id);
	CHECK_INT(pushq_take(q, &db, NOW, &t, &err), IPC_S_OK);
	CHECK(t.encrypted);
	CHECK(t.body.len > 86 + 16 && t.body.data[20] == 65 &&
	    t.body.data[21] == 4);
	CHECK(memmem(t.body.data, t.body.len, "PushVerification", 16) == NULL);
	CHECK_INT(pushq_done(q, acct, op->in.id, t.token, 200, NOW, &m), 0);
	pushq_take_clear(&t);
	pushsub_op_free(&op);
	/* a subscription gone before its take is dropped */
	pushq_verify(q, acct, 999);
	CHECK_INT(pushq_take(q, &db, NOW, &t, &err), IPC_S_NOTFOUND);
	CHECK_INT(pushq_len(q), 0);
	/* the account's purge takes its subscriptions */
	CHECK_INT(count(), 1);
	CHECK_INT(db_begin(&db, true, &txn, &err), IPC_S_OK);
	CHECK_INT(message_account_purge(&db, txn, acct, &err), IPC_S_OK);
	CHECK_INT(db_commit(&txn, &err), IPC_S_OK);
	CHECK_INT(count(), 0);
	pushq_free(&q);
	teardown();
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_records),
	TEST_ENTRY(test_queue),
	TEST_ENTRY(test_types_keys_purge),
};

HARNESS_MAIN(tests)
