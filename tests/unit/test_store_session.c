/* SPDX-License-Identifier: ISC */
/*
 * test_store_session.c: the counts of storaged's session table that the
 * connection limits (SESSION_ADMIT, max-connections-per-ip and -per-user)
 * are made of: sessions per remote address (an IPv6 address's /64) and
 * protocol, and sessions bound to an account per protocol.
 */
/* unit-deps: store/session.c store/auth.c store/name.c store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/blob.c store/strvec.c store/token.c store/mailbox.c store/changelog.c store/record.c store/key.c */
#include "harness.h"
#include "compat.h"

#include "store/auth.h"
#include "store/session.h"

#include <string.h>

#include <sodium.h>

static size_t
count_remote(const struct session_table *t, const char *proto,
    const char *remote)
{
	struct auth_remote r;

	auth_remote_parse(remote, &r);
	return session_count_remote(t, proto, &r);
}

TEST(test_count_remote)
{
	struct session_table t;

	session_table_init(&t);
	CHECK_INT(count_remote(&t, "imap", "192.0.2.7:1"), 0);
	CHECK(session_open(&t, 1, "imap", "192.0.2.7:1000", "l", false));
	CHECK(session_open(&t, 2, "imap", "192.0.2.7:1001", "l", true));
	CHECK(session_open(&t, 3, "imap", "192.0.2.8:1000", "l", false));
	CHECK(session_open(&t, 4, "lmtp", "192.0.2.7:1002", "l", false));
	CHECK(session_open(&t, 5, "imap", "[::ffff:192.0.2.7]:9", "l", false));
	CHECK(session_open(&t, 6, "imap", "[2001:db8::1]:1", "l", false));
	CHECK(session_open(&t, 7, "imap", "[2001:db8::2]:1", "l", false));
	CHECK(session_open(&t, 8, "imap", "[2001:db8:0:1::1]:1", "l", false));
	/* The port does not matter, a v4-mapped address is the v4 one. */
	CHECK_INT(count_remote(&t, "imap", "192.0.2.7:5"), 3);
	CHECK_INT(count_remote(&t, "lmtp", "192.0.2.7"), 1);
	CHECK_INT(count_remote(&t, "imap", "192.0.2.8:5"), 1);
	CHECK_INT(count_remote(&t, "imap", "192.0.2.9:5"), 0);
	/* IPv6: the /64. */
	CHECK_INT(count_remote(&t, "imap", "[2001:db8::99]:5"), 2);
	CHECK_INT(count_remote(&t, "imap", "[2001:db8:0:1::5]:5"), 1);
	session_close(&t, 2);
	CHECK_INT(count_remote(&t, "imap", "192.0.2.7:5"), 2);
	/* Reopening an id replaces the session: it is not counted twice. */
	CHECK(session_open(&t, 1, "imap", "192.0.2.7:1000", "l", false));
	CHECK_INT(count_remote(&t, "imap", "192.0.2.7:5"), 2);
	session_table_clear(&t);
}

TEST(test_count_account)
{
	struct session_table t;
	struct session *s;

	session_table_init(&t);
	CHECK_INT(session_count_account(&t, "imap", 9), 0);
	s = session_open(&t, 1, "imap", "192.0.2.7:1", "l", false);
	CHECK(s != NULL);
	CHECK_INT(s->max_user, 0);
	/* Open but not bound: not counted. */
	CHECK_INT(session_count_account(&t, "imap", 9), 0);
	session_bind(s, 9, "alice@example.org");
	s = session_open(&t, 2, "imap", "192.0.2.8:1", "l", false);
	session_bind(s, 9, "alice@example.org");
	s = session_open(&t, 3, "imap", "192.0.2.8:2", "l", false);
	session_bind(s, 10, "bob@example.org");
	s = session_open(&t, 4, "sieve", "192.0.2.8:3", "l", false);
	session_bind(s, 9, "alice@example.org");
	CHECK_INT(session_count_account(&t, "imap", 9), 2);
	CHECK_INT(session_count_account(&t, "sieve", 9), 1);
	CHECK_INT(session_count_account(&t, "imap", 10), 1);
	/* Reopened (UNAUTHENTICATE): unbound again. */
	s = session_open(&t, 2, "imap", "192.0.2.8:1", "l", false);
	CHECK_INT(s->account_id, 0);
	CHECK_INT(session_count_account(&t, "imap", 9), 1);
	CHECK_INT(session_unbind_account(&t, 9), 2);
	CHECK_INT(session_count_account(&t, "imap", 9), 0);
	session_table_clear(&t);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_count_remote),
	TEST_ENTRY(test_count_account),
};

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 2;
	return harness_main(argc, argv, tests,
	    sizeof(tests) / sizeof(tests[0]));
}
