/* SPDX-License-Identifier: ISC */
/*
 * test_store_auth.c: password hashes, client addresses, the rate limiter,
 * session tokens and the session table of storaged.
 */
/* unit-deps: store/auth.c store/name.c store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/blob.c store/strvec.c store/token.c store/session.c store/mailbox.c store/changelog.c store/record.c store/key.c */
#include "harness.h"
#include "compat.h"

#include "store/auth.h"
#include "store/session.h"
#include "store/token.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

TEST(test_password_hash_verifies)
{
	char h1[crypto_pwhash_STRBYTES], h2[crypto_pwhash_STRBYTES];

	CHECK_INT(auth_hash_password("correct horse", 1, 8192, h1), 0);
	CHECK(strncmp(h1, "$argon2id$", 10) == 0);
	CHECK(auth_verify_password(h1, "correct horse"));
	CHECK(!auth_verify_password(h1, "correct horsE"));
	CHECK(!auth_verify_password(h1, ""));
	CHECK(!auth_verify_password("not a hash", "correct horse"));
	/* Salted: the same password hashes differently. */
	CHECK_INT(auth_hash_password("correct horse", 1, 8192, h2), 0);
	CHECK(strcmp(h1, h2) != 0);
	CHECK(auth_verify_password(h2, "correct horse"));
	/* Limits below libsodium's minimum are raised, not refused. */
	CHECK_INT(auth_hash_password("x", 0 + 1, 1, h2), 0);
	CHECK(auth_verify_password(h2, "x"));
}

TEST(test_remote_parse)
{
	struct auth_remote r, r2;

	auth_remote_parse("192.0.2.7:143", &r);
	CHECK_STR(r.text, "192.0.2.7");
	CHECK_INT(r.keylen, 5);
	auth_remote_parse("192.0.2.7", &r2);
	CHECK_STR(r2.text, "192.0.2.7");
	CHECK(r.keylen == r2.keylen && memcmp(r.key, r2.key, r.keylen) == 0);
	auth_remote_parse("[::ffff:192.0.2.7]:993", &r2);
	CHECK_STR(r2.text, "192.0.2.7");
	CHECK(r.keylen == r2.keylen && memcmp(r.key, r2.key, r.keylen) == 0);
	auth_remote_parse("[2001:DB8::1]:993", &r);
	CHECK_STR(r.text, "2001:db8::1");
	auth_remote_parse("2001:db8:0:0:ffff::2", &r2);
	CHECK_STR(r2.text, "2001:db8::ffff:0:0:2");
	/* Same /64, same limiter key. */
	CHECK(r.keylen == r2.keylen && memcmp(r.key, r2.key, r.keylen) == 0);
	auth_remote_parse("[2001:db8:0:1::1]:1", &r2);
	CHECK(memcmp(r.key, r2.key, r.keylen) != 0);
	auth_remote_parse("[::1]:143", &r);
	CHECK_STR(r.text, "::1");
	auth_remote_parse("/run/lmtp.sock", &r);
	CHECK_STR(r.text, "/run/lmtp.sock");
	auth_remote_parse("evil remote=10.0.0.1", &r);
	CHECK_STR(r.text, "evil?remote=10.0.0.1");
	auth_remote_parse("", &r);
	CHECK_STR(r.text, "unknown");
	auth_remote_parse("[1.2.3.4", &r);
	CHECK_STR(r.text, "[1.2.3.4");
	auth_remote_parse("300.1.1.1:25", &r);
	CHECK_STR(r.text, "300.1.1.1:25");
}

TEST(test_limiter_blocks_and_expires)
{
	struct auth_limiter *l = auth_limiter_new(3, 60, 100, 64);
	const char *ip = "192.0.2.7", *other = "192.0.2.8";
	uint64_t t = 1000;

	CHECK(!auth_limiter_blocked(l, AUTH_KEY_REMOTE, ip, 9, t));
	CHECK(!auth_limiter_fail(l, AUTH_KEY_REMOTE, ip, 9, t));
	CHECK(!auth_limiter_fail(l, AUTH_KEY_REMOTE, ip, 9, t + 1));
	CHECK(!auth_limiter_blocked(l, AUTH_KEY_REMOTE, ip, 9, t + 1));
	/* The third failure in the window starts the block. */
	CHECK(auth_limiter_fail(l, AUTH_KEY_REMOTE, ip, 9, t + 2));
	CHECK(auth_limiter_blocked(l, AUTH_KEY_REMOTE, ip, 9, t + 2));
	CHECK(!auth_limiter_fail(l, AUTH_KEY_REMOTE, ip, 9, t + 3));
	/* Per key and per kind. */
	CHECK(!auth_limiter_blocked(l, AUTH_KEY_REMOTE, other, 9, t + 2));
	CHECK(!auth_limiter_blocked(l, AUTH_KEY_USER, ip, 9, t + 2));
	CHECK(auth_limiter_blocked(l, AUTH_KEY_REMOTE, ip, 9, t + 101));
	CHECK(!auth_limiter_blocked(l, AUTH_KEY_REMOTE, ip, 9, t + 102));
	/* After the block a fresh count starts. */
	CHECK(!auth_limiter_fail(l, AUTH_KEY_REMOTE, ip, 9, t + 103));
	CHECK(!auth_limiter_blocked(l, AUTH_KEY_REMOTE, ip, 9, t + 103));
	auth_limiter_free(&l);
	CHECK(l == NULL);
}

TEST(test_limiter_window_and_forget)
{
	struct auth_limiter *l = auth_limiter_new(2, 10, 50, 64);
	const char *u = "alice@example.org";
	uint64_t t = 5;

	/* Failures further apart than the window never add up. */
	CHECK(!auth_limiter_fail(l, AUTH_KEY_USER, u, strlen(u), t));
	CHECK(!auth_limiter_fail(l, AUTH_KEY_USER, u, strlen(u), t + 10));
	CHECK(!auth_limiter_fail(l, AUTH_KEY_USER, u, strlen(u), t + 20));
	CHECK(auth_limiter_fail(l, AUTH_KEY_USER, u, strlen(u), t + 21));
	CHECK(auth_limiter_blocked(l, AUTH_KEY_USER, u, strlen(u), t + 21));
	/* Forgetting after a success clears the count. */
	CHECK(!auth_limiter_fail(l, AUTH_KEY_USER, "b", 1, t));
	CHECK_INT(auth_limiter_used(l), 2);
	auth_limiter_forget(l, AUTH_KEY_USER, "b", 1);
	CHECK_INT(auth_limiter_used(l), 1);
	CHECK(!auth_limiter_fail(l, AUTH_KEY_USER, "b", 1, t + 1));
	auth_limiter_free(&l);
	/* A limit of 0 turns limiting off. */
	l = auth_limiter_new(0, 10, 50, 64);
	CHECK(!auth_limiter_fail(l, AUTH_KEY_USER, u, strlen(u), t));
	CHECK(!auth_limiter_blocked(l, AUTH_KEY_USER, u, strlen(u), t));
	auth_limiter_free(&l);
}

TEST(test_limiter_bounded_keeps_blocks)
{
	struct auth_limiter *l = auth_limiter_new(2, 60, 600, 16);
	char key[32];
	uint64_t t = 100;
	int i;

	CHECK(!auth_limiter_fail(l, AUTH_KEY_REMOTE, "attacker", 8, t));
	CHECK(auth_limiter_fail(l, AUTH_KEY_REMOTE, "attacker", 8, t));
	/* A flood of new addresses: the table stays at its size ... */
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "flood-%d", i);
		auth_limiter_fail(l, AUTH_KEY_REMOTE, key, strlen(key), t + 1);
	}
	CHECK(auth_limiter_used(l) <= 16);
	/* ... and the running block was not pushed out. */
	CHECK(auth_limiter_blocked(l, AUTH_KEY_REMOTE, "attacker", 8, t + 2));
	auth_limiter_free(&l);
}

TEST(test_token_round_trip)
{
	uint8_t key[SCHEMA_TOKEN_KEY_LEN], key2[SCHEMA_TOKEN_KEY_LEN];
	uint8_t tok[TOKEN_LEN];
	struct token_claims c = { 7, 3, 0x1122334455667788ull, 2000 }, back;
	const char *why = NULL;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(key2, sizeof(key2));
	token_mint(key, &c, "imapd", tok);
	CHECK_INT(token_check(key, tok, sizeof(tok), c.session, "imapd", 1999,
	    &back, &why), 0);
	CHECK_INT(back.account_id, 7);
	CHECK_INT(back.auth_gen, 3);
	CHECK(back.session == c.session);
	CHECK_INT(back.expiry, 2000);
	CHECK_INT(token_check(key, tok, sizeof(tok), c.session, "imapd", 2000,
	    &back, &why), -1);
	CHECK_STR(why, "token expired");
	CHECK_INT(token_check(key, tok, sizeof(tok), c.session + 1, "imapd",
	    1, &back, &why), -1);
	CHECK_STR(why, "token of another session");
	CHECK_INT(token_check(key, tok, sizeof(tok), c.session, "lmtpd", 1,
	    &back, &why), -1);
	CHECK_STR(why, "bad token signature");
	CHECK_INT(token_check(key2, tok, sizeof(tok), c.session, "imapd", 1,
	    &back, &why), -1);
	CHECK_INT(token_check(key, tok, sizeof(tok) - 1, c.session, "imapd",
	    1, &back, &why), -1);
	CHECK_STR(why, "malformed token");
	tok[2] ^= 1;		/* another account id */
	CHECK_INT(token_check(key, tok, sizeof(tok), c.session, "imapd", 1,
	    &back, &why), -1);
	CHECK_STR(why, "bad token signature");
}

TEST(test_session_table)
{
	struct session_table t;
	struct session *s;
	uint64_t i, serial;
	size_t n;

	session_table_init(&t);
	s = session_open(&t, 42, "imap", "192.0.2.1:5555", "127.0.0.1:143",
	    true);
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK_STR(s->remote.text, "192.0.2.1");
	CHECK_STR(s->proto, "imap");
	CHECK(s->tls);
	CHECK_INT(s->account_id, 0);
	serial = s->serial;
	session_bind(s, 9, "bob@example.org");
	CHECK(session_find(&t, 42) == s);
	CHECK(session_find(&t, 43) == NULL);
	/* Many sessions, then every other one closed: all others found. */
	for (i = 1000; i < 6000; i++)
		CHECK(session_open(&t, i, "imap", "", "", false) != NULL);
	for (i = 1000; i < 6000; i += 2)
		session_close(&t, i);
	CHECK_INT(t.n, 2501);
	for (i = 1000; i < 6000; i++) {
		s = session_find(&t, i);
		if ((i % 2 == 0) != (s == NULL))
			harness_fail(__FILE__, __LINE__, "session %llu",
			    (unsigned long long)i);
	}
	s = session_find(&t, 42);
	CHECK(s != NULL && s->account_id == 9);
	CHECK(s != NULL && strcmp(s->username, "bob@example.org") == 0);
	/* Reopening an id starts over with a new serial. */
	s = session_open(&t, 42, "imap", "", "", false);
	CHECK(s != NULL && s->account_id == 0 && s->serial != serial);
	session_bind(s, 9, "bob@example.org");
	session_bind(session_find(&t, 1001), 9, "bob@example.org");
	session_bind(session_find(&t, 1003), 8, "carol@example.org");
	n = session_unbind_account(&t, 9);
	CHECK_INT(n, 2);
	CHECK_INT(session_find(&t, 1001)->account_id, 0);
	CHECK_INT(session_find(&t, 1003)->account_id, 8);
	session_close(&t, 12345);	/* not open: nothing happens */
	CHECK_INT(t.n, 2501);
	session_table_clear(&t);
	CHECK(t.slot == NULL);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_password_hash_verifies),
	TEST_ENTRY(test_remote_parse),
	TEST_ENTRY(test_limiter_blocks_and_expires),
	TEST_ENTRY(test_limiter_window_and_forget),
	TEST_ENTRY(test_limiter_bounded_keeps_blocks),
	TEST_ENTRY(test_token_round_trip),
	TEST_ENTRY(test_session_table),
};

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 2;
	return harness_main(argc, argv, tests,
	    sizeof(tests) / sizeof(tests[0]));
}
