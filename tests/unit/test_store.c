/* SPDX-License-Identifier: ISC */
/*
 * test_store.c: the store's logic on a real LMDB environment in a
 * temporary directory: names, records, schema version and migrations,
 * domains, accounts, aliases and quotas, without IPC.
 */
/* unit-deps: store/db.c store/dbmeta.c store/redolog.c store/dblog.c store/blobfile.c store/schema.c store/msghead.c store/name.c store/key.c store/record.c store/strvec.c store/domain.c store/account.c store/alias.c store/quota.c store/auth.c store/mailbox.c store/changelog.c store/message.c store/blob.c store/recent.c */
#include "harness.h"
#include "compat.h"

#include "store/account.h"
#include "store/alias.h"
#include "store/auth.h"
#include "store/db.h"
#include "store/domain.h"
#include "store/key.h"
#include "store/name.h"
#include "store/quota.h"
#include "store/record.h"
#include "store/schema.h"
#include "store/strvec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define MAP_SIZE	(16u << 20)

/* A fresh environment directory under the harness's temporary one. */
static const char *
fresh_dir(void)
{
	static char path[256];
	static int n;

	snprintf(path, sizeof(path), "%s/env%d", harness_tmpdir(), n++);
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

/* A cheap argon2id hash for tests (the minimum limits). */
static void
cheap_hash(const char *pw, char out[crypto_pwhash_STRBYTES])
{
	if (auth_hash_password(pw, crypto_pwhash_OPSLIMIT_MIN,
	    crypto_pwhash_MEMLIMIT_MIN, out) != 0)
		harness_fail(__FILE__, __LINE__, "auth_hash_password failed");
}

static enum ipc_status
add_account(struct store_db *db, const char *name, uint64_t *id_r)
{
	char hash[crypto_pwhash_STRBYTES];
	struct store_error err;
	struct name_addr a;
	enum ipc_status st;

	if ((st = account_check_new(db, name, &a, &err)) != IPC_S_OK)
		return st;
	cheap_hash("secret", hash);
	return account_add(db, &a, hash, 0, 0, 1000, id_r, &err);
}

TEST(test_name_domain)
{
	char out[NAME_DOMAIN_MAX + 1], big[300];
	struct store_error err;

	CHECK_INT(name_domain("Example.ORG", out, &err), IPC_S_OK);
	CHECK_STR(out, "example.org");
	CHECK_INT(name_domain("a-1.b2.example", out, &err), IPC_S_OK);
	CHECK_INT(name_domain("xn--bcher-kva.example", out, &err), IPC_S_OK);
	CHECK_INT(name_domain("localhost", out, &err), IPC_S_INVALID);
	CHECK_STR(err.text, "domain name needs at least one dot");
	CHECK_INT(name_domain("a..b", out, &err), IPC_S_INVALID);
	CHECK_STR(err.text, "domain name has an empty label");
	CHECK_INT(name_domain("example.org.", out, &err), IPC_S_INVALID);
	CHECK_INT(name_domain(".example.org", out, &err), IPC_S_INVALID);
	CHECK_INT(name_domain("-a.example", out, &err), IPC_S_INVALID);
	CHECK_STR(err.text, "domain label starts or ends with a hyphen");
	CHECK_INT(name_domain("a_b.example", out, &err), IPC_S_INVALID);
	CHECK_INT(name_domain("not a domain", out, &err), IPC_S_INVALID);
	CHECK_INT(name_domain("", out, &err), IPC_S_INVALID);
	CHECK_INT(name_domain("1.2.3.4", out, &err), IPC_S_INVALID);
	CHECK_STR(err.text, "top-level label is all digits");
	memset(big, 'a', 64);
	memcpy(big + 64, ".org", 5);
	CHECK_INT(name_domain(big, out, &err), IPC_S_INVALID);
	CHECK_STR(err.text, "domain label longer than 63 characters");
	memset(big, 'a', sizeof(big));
	for (size_t i = 60; i < 260; i += 61)
		big[i] = '.';
	big[254] = '\0';
	CHECK_INT(name_domain(big, out, &err), IPC_S_INVALID);
	CHECK_STR(err.text, "domain name longer than 253 characters");
	big[253] = '\0';
	CHECK_INT(name_domain(big, out, &err), IPC_S_OK);
}

TEST(test_name_address)
{
	struct store_error err;
	struct name_addr a;
	char local[80];

	CHECK_INT(name_address("Alice.Smith+tag@Example.org", &a, &err),
	    IPC_S_OK);
	CHECK_STR(a.local, "alice.smith+tag");
	CHECK_STR(a.domain, "example.org");
	CHECK_STR(a.full, "alice.smith+tag@example.org");
	CHECK_INT(name_address("o'brien!#$%&*/=?^_`{|}~-@example.org", &a,
	    &err), IPC_S_OK);
	CHECK_INT(name_address("bad..local@example.com", &a, &err),
	    IPC_S_INVALID);
	CHECK_STR(err.text, "local part has two dots in a row");
	CHECK_INT(name_address(".a@example.com", &a, &err), IPC_S_INVALID);
	CHECK_INT(name_address("a.@example.com", &a, &err), IPC_S_INVALID);
	CHECK_INT(name_address("@example.com", &a, &err), IPC_S_INVALID);
	CHECK_STR(err.text, "address has an empty local part");
	CHECK_INT(name_address("noat", &a, &err), IPC_S_INVALID);
	CHECK_STR(err.text, "address must be local@domain");
	CHECK_INT(name_address("a b@example.com", &a, &err), IPC_S_INVALID);
	CHECK_INT(name_address("a\"b@example.com", &a, &err), IPC_S_INVALID);
	CHECK_INT(name_address("a@b@example.com", &a, &err), IPC_S_INVALID);
	CHECK_INT(name_address("a@example", &a, &err), IPC_S_INVALID);
	snprintf(local, sizeof(local), "%065d@e.org", 0);
	CHECK_INT(name_address(local, &a, &err), IPC_S_INVALID);
	CHECK_STR(err.text, "local part longer than 64 characters");
	snprintf(local, sizeof(local), "%064d@e.org", 0);
	CHECK_INT(name_address(local, &a, &err), IPC_S_OK);
}

TEST(test_name_password_and_log_safe)
{
	struct store_error err;
	char big[NAME_PASSWORD_MAX + 2], out[16];

	CHECK_INT(name_password("x", &err), IPC_S_OK);
	CHECK_INT(name_password("", &err), IPC_S_INVALID);
	CHECK_STR(err.text, "password is empty");
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(name_password(big, &err), IPC_S_INVALID);
	big[NAME_PASSWORD_MAX] = '\0';
	CHECK_INT(name_password(big, &err), IPC_S_OK);
	CHECK_STR(name_log_safe("a b=c\n\xff", out, sizeof(out)), "a?b=c??");
	CHECK_STR(name_log_safe("0123456789abcdefXYZ", out, sizeof(out)),
	    "0123456789abcde");
	CHECK_STR(name_log_safe("", out, sizeof(out)), "\"\"");
}

TEST(test_key_addr)
{
	struct store_error err;
	uint8_t key[KEY_ADDR_MAX], pre[KEY_ADDR_MAX];
	struct name_addr a;
	char name[NAME_ADDR_MAX + 1];
	size_t len, plen;

	CHECK_INT(name_address("bob@example.org", &a, &err), IPC_S_OK);
	len = key_addr(key, &a);
	CHECK_INT(len, strlen("example.org") + 1 + 3);
	CHECK(memcmp(key, "example.org\0bob", len) == 0);
	plen = key_domain_prefix(pre, "example.org");
	CHECK(key_has_prefix(key, len, pre, plen));
	plen = key_domain_prefix(pre, "example.or");
	CHECK(!key_has_prefix(key, len, pre, plen));
	CHECK_INT(key_addr_name(key, len, name, sizeof(name)), 0);
	CHECK_STR(name, "bob@example.org");
	CHECK_INT(key_addr_name(key, strlen("example.org") + 1, name,
	    sizeof(name)), -1);
	CHECK_INT(key_addr_name("nonul", 5, name, sizeof(name)), -1);
	CHECK_INT(key_addr_name(key, len, name, 5), -1);
}

TEST(test_record_round_trip_and_truncation)
{
	struct account_rec r, back;
	struct alias_rec al, alb;
	struct domain_rec d = { 42 }, db;
	struct buf b = BUF_INIT;
	char addr[NAME_ADDR_MAX + 1];
	size_t i;

	memset(&r, 0, sizeof(r));
	r.id = 7;
	strlcpy(r.hash, "$argon2id$v=19$m=8,t=1,p=1$abc$def", sizeof(r.hash));
	r.created = 1700000000;
	r.quota_bytes = 10 << 20;
	r.quota_messages = 5000;
	r.used_bytes = 3;
	r.used_messages = 1;
	r.auth_gen = 2;
	record_account_enc(&b, &r);
	CHECK_INT(record_account_dec(b.data, b.len, &back), 0);
	CHECK_INT(back.id, 7);
	CHECK_STR(back.hash, r.hash);
	CHECK_INT(back.quota_bytes, 10 << 20);
	CHECK_INT(back.quota_messages, 5000);
	CHECK_INT(back.used_bytes, 3);
	CHECK_INT(back.auth_gen, 2);
	for (i = 0; i < b.len; i++)
		CHECK_INT(record_account_dec(b.data, i, &back), -1);
	b.data[1] = 2;		/* an unknown record version */
	CHECK_INT(record_account_dec(b.data, b.len, &back), -1);
	buf_reset(&b);
	record_domain_enc(&b, &d);
	CHECK_INT(record_domain_dec(b.data, b.len, &db), 0);
	CHECK_INT(db.created, 42);
	buf_append(&b, "x", 1);
	CHECK_INT(record_domain_dec(b.data, b.len, &db), -1);
	buf_reset(&b);
	memset(&al, 0, sizeof(al));
	strlcpy(al.target, "bob@example.org", sizeof(al.target));
	al.created = 9;
	record_alias_enc(&b, &al);
	CHECK_INT(record_alias_dec(b.data, b.len, &alb), 0);
	CHECK_STR(alb.target, "bob@example.org");
	CHECK_INT(record_alias_dec(b.data, b.len - 1, &alb), -1);
	buf_reset(&b);
	record_account_id_enc(&b, "bob@example.org");
	CHECK_INT(record_account_id_dec(b.data, b.len, addr), 0);
	CHECK_STR(addr, "bob@example.org");
	buf_clear(&b);
}

static int step_runs[3];

static int
step_count(struct store_db *db, MDB_txn *txn, struct store_error *err,
    int which)
{
	MDB_val k = { 4, "step" }, d = { sizeof(which), &which };
	int rc;

	(void)err;
	step_runs[which]++;
	rc = mdb_put(txn, db->meta, &k, &d, 0);
	return rc == 0 ? 0 : -1;
}

static int
step0(struct store_db *db, MDB_txn *txn, struct store_error *err)
{
	return step_count(db, txn, err, 0);
}

static int
step1(struct store_db *db, MDB_txn *txn, struct store_error *err)
{
	return step_count(db, txn, err, 1);
}

static int
step_fails(struct store_db *db, MDB_txn *txn, struct store_error *err)
{
	step_count(db, txn, err, 2);
	db_error(err, IPC_S_INTERNAL, "step failed on purpose");
	return -1;
}

TEST(test_schema_migrations_run_once)
{
	static const struct schema_step two[] = {
		{ 0, "zero to one", step0 }, { 1, "one to two", step1 },
	};
	static const struct schema_step three[] = {
		{ 0, "zero to one", step0 }, { 1, "one to two", step1 },
		{ 2, "two to three", step_fails },
	};
	const char *dir = fresh_dir();
	struct store_error err;
	struct store_db db;
	uint32_t v;

	memset(step_runs, 0, sizeof(step_runs));
	CHECK_INT(db_env_open(&db, dir, MAP_SIZE, &err), 0);
	CHECK_INT(schema_run(&db, two, 1, &err), 1);
	CHECK_INT(schema_version(&db, &v, &err), 0);
	CHECK_INT(v, 1);
	CHECK_INT(schema_run(&db, two, 2, &err), 2);
	CHECK_INT(schema_run(&db, two, 2, &err), 2);
	CHECK_INT(step_runs[0], 1);
	CHECK_INT(step_runs[1], 1);
	/* A failing step leaves the version where it was. */
	CHECK_INT(schema_run(&db, three, 3, &err), -1);
	CHECK_STR(err.text, "step failed on purpose");
	CHECK_INT(schema_version(&db, &v, &err), 0);
	CHECK_INT(v, 2);
	db_close(&db);
	/* Reopened, the version is kept; a newer environment is refused. */
	CHECK_INT(db_env_open(&db, dir, MAP_SIZE, &err), 0);
	CHECK_INT(schema_run(&db, two, 2, &err), 2);
	CHECK_INT(step_runs[0], 1);
	CHECK_INT(schema_run(&db, two, 1, &err), -1);
	CHECK(strstr(err.text, "newer than this storaged") != NULL);
	db_close(&db);
}

TEST(test_schema_version_and_token_key_kept)
{
	const char *dir = fresh_dir();
	uint8_t k1[SCHEMA_TOKEN_KEY_LEN], k2[SCHEMA_TOKEN_KEY_LEN];
	uint8_t zero[SCHEMA_TOKEN_KEY_LEN] = { 0 };
	struct store_error err;
	struct store_db db;
	uint32_t v = 0;

	CHECK_INT(db_open(&db, dir, MAP_SIZE, &err), 0);
	CHECK_INT(schema_version(&db, &v, &err), 0);
	CHECK_INT(v, SCHEMA_VERSION);
	CHECK_INT(schema_token_key(&db, k1, &err), 0);
	CHECK(memcmp(k1, zero, sizeof(zero)) != 0);
	db_close(&db);
	CHECK_INT(db_open(&db, dir, MAP_SIZE, &err), 0);
	CHECK_INT(schema_token_key(&db, k2, &err), 0);
	CHECK(memcmp(k1, k2, sizeof(k1)) == 0);
	db_close(&db);
}

TEST(test_domains)
{
	struct strvec sv = STRVEC_INIT;
	char canon[NAME_DOMAIN_MAX + 1];
	struct store_error err;
	struct store_db db;
	uint64_t id;

	if (open_fresh(&db) == -1)
		return;
	CHECK_INT(domain_add(&db, "Example.ORG", 1, canon, &err), IPC_S_OK);
	CHECK_STR(canon, "example.org");
	CHECK_INT(domain_add(&db, "example.org", 1, canon, &err), IPC_S_EXISTS);
	CHECK_STR(err.text, "domain example.org exists");
	CHECK_INT(domain_add(&db, "not a domain", 1, canon, &err),
	    IPC_S_INVALID);
	CHECK_INT(domain_add(&db, "a.example", 1, canon, &err), IPC_S_OK);
	CHECK_INT(domain_add(&db, "example.org.uk", 1, canon, &err), IPC_S_OK);
	CHECK_INT(domain_list(&db, &sv, &err), IPC_S_OK);
	CHECK_INT(sv.n, 3);
	if (sv.n == 3) {
		CHECK_STR(sv.v[0], "a.example");
		CHECK_STR(sv.v[1], "example.org");
		CHECK_STR(sv.v[2], "example.org.uk");
	}
	strvec_clear(&sv);
	CHECK_INT(domain_del(&db, "nowhere.example", canon, &err),
	    IPC_S_NOTFOUND);
	/* In use by an account in the domain, not by one of a.org.uk. */
	CHECK_INT(add_account(&db, "u@example.org.uk", &id), IPC_S_OK);
	CHECK_INT(domain_del(&db, "example.org", canon, &err), IPC_S_OK);
	CHECK_INT(domain_del(&db, "example.org.uk", canon, &err),
	    IPC_S_EXISTS);
	CHECK_STR(err.text, "domain example.org.uk still has accounts; "
	    "delete them first");
	CHECK_INT(domain_list(&db, &sv, &err), IPC_S_OK);
	CHECK_INT(sv.n, 2);
	strvec_clear(&sv);
	db_close(&db);
}

TEST(test_accounts)
{
	struct strvec sv = STRVEC_INIT;
	char canon[NAME_DOMAIN_MAX + 1], hash[crypto_pwhash_STRBYTES];
	struct store_error err;
	struct store_db db;
	struct account acc;
	struct name_addr a;
	uint64_t id1, id2, id3, id;
	size_t naliases;

	if (open_fresh(&db) == -1)
		return;
	CHECK_INT(add_account(&db, "alice@example.org", &id1), IPC_S_NOTFOUND);
	domain_add(&db, "example.org", 1, canon, &err);
	domain_add(&db, "example.net", 1, canon, &err);
	CHECK_INT(add_account(&db, "Alice@Example.org", &id1), IPC_S_OK);
	CHECK_INT(add_account(&db, "alice@example.org", &id), IPC_S_EXISTS);
	CHECK_INT(add_account(&db, "alice1@example.org", &id2), IPC_S_OK);
	CHECK_INT(add_account(&db, "bob@example.net", &id3), IPC_S_OK);
	CHECK_INT(id1, 1);
	CHECK_INT(id2, 2);
	CHECK_INT(id3, 3);
	CHECK_INT(account_get(&db, "ALICE@example.org", &acc, &err), IPC_S_OK);
	CHECK_STR(acc.name, "alice@example.org");
	CHECK_INT(acc.rec.id, id1);
	CHECK_INT(acc.rec.created, 1000);
	CHECK(auth_verify_password(acc.rec.hash, "secret"));
	CHECK(!auth_verify_password(acc.rec.hash, "Secret"));
	CHECK_INT(account_get_id(&db, id3, &acc, &err), IPC_S_OK);
	CHECK_STR(acc.name, "bob@example.net");
	CHECK_INT(account_get_id(&db, 99, &acc, &err), IPC_S_NOTFOUND);
	CHECK_INT(account_get(&db, "nobody@example.org", &acc, &err),
	    IPC_S_NOTFOUND);
	CHECK_INT(account_get(&db, "bad..name@example.org", &acc, &err),
	    IPC_S_INVALID);
	/* Sorted as addresses: "alice1@" before "alice@". */
	CHECK_INT(account_list(&db, "", &sv, &err), IPC_S_OK);
	CHECK_INT(sv.n, 3);
	if (sv.n == 3) {
		CHECK_STR(sv.v[0], "alice1@example.org");
		CHECK_STR(sv.v[1], "alice@example.org");
		CHECK_STR(sv.v[2], "bob@example.net");
	}
	strvec_clear(&sv);
	CHECK_INT(account_list(&db, "Example.NET", &sv, &err), IPC_S_OK);
	CHECK_INT(sv.n, 1);
	strvec_clear(&sv);
	CHECK_INT(account_list(&db, "nowhere.example", &sv, &err),
	    IPC_S_NOTFOUND);
	CHECK_INT(account_list(&db, "bad domain", &sv, &err), IPC_S_INVALID);
	strvec_clear(&sv);
	/* A new password raises auth_gen. */
	cheap_hash("other", hash);
	CHECK_INT(account_set_hash(&db, "alice@example.org", hash, &id, &err),
	    IPC_S_OK);
	CHECK_INT(id, id1);
	CHECK_INT(account_get(&db, "alice@example.org", &acc, &err), IPC_S_OK);
	CHECK(auth_verify_password(acc.rec.hash, "other"));
	CHECK_INT(acc.rec.auth_gen, 1);
	/* Deleted ids are never given again. */
	CHECK_INT(account_del(&db, "bob@example.net", &acc, &naliases, &err),
	    IPC_S_OK);
	CHECK_INT(acc.rec.id, id3);
	CHECK_INT(account_get_id(&db, id3, &acc, &err), IPC_S_NOTFOUND);
	CHECK_INT(account_del(&db, "bob@example.net", &acc, &naliases, &err),
	    IPC_S_NOTFOUND);
	CHECK_INT(add_account(&db, "bob@example.net", &id), IPC_S_OK);
	CHECK_INT(id, 4);
	CHECK_INT(account_check_new(&db, "x@example.org", &a, &err), IPC_S_OK);
	db_close(&db);
}

TEST(test_accounts_survive_reopen)
{
	const char *dir = fresh_dir();
	char canon[NAME_DOMAIN_MAX + 1];
	struct store_error err;
	struct store_db db;
	struct account acc;
	uint64_t id;

	CHECK_INT(db_open(&db, dir, MAP_SIZE, &err), 0);
	domain_add(&db, "example.org", 1, canon, &err);
	CHECK_INT(add_account(&db, "keep@example.org", &id), IPC_S_OK);
	db_close(&db);
	CHECK_INT(db_open(&db, dir, MAP_SIZE, &err), 0);
	CHECK_INT(account_get(&db, "keep@example.org", &acc, &err), IPC_S_OK);
	CHECK_INT(acc.rec.id, id);
	CHECK_INT(add_account(&db, "next@example.org", &id), IPC_S_OK);
	CHECK_INT(id, 2);
	db_close(&db);
}

TEST(test_aliases)
{
	struct strvec al = STRVEC_INIT, tl = STRVEC_INIT, sv = STRVEC_INIT;
	char canon[NAME_DOMAIN_MAX + 1], target[NAME_ADDR_MAX + 1];
	struct store_error err;
	struct store_db db;
	struct name_addr a, t;
	struct account acc;
	uint64_t id;
	size_t n;

	if (open_fresh(&db) == -1)
		return;
	domain_add(&db, "example.org", 1, canon, &err);
	domain_add(&db, "example.net", 1, canon, &err);
	add_account(&db, "bob@example.org", &id);
	add_account(&db, "bobby@example.org", &id);
	CHECK_INT(alias_add(&db, "Postmaster@example.org", "BOB@example.org",
	    5, &a, &t, &err), IPC_S_OK);
	CHECK_STR(a.full, "postmaster@example.org");
	CHECK_STR(t.full, "bob@example.org");
	CHECK_INT(alias_add(&db, "abuse@example.net", "bob@example.org", 5, &a,
	    &t, &err), IPC_S_OK);
	CHECK_INT(alias_add(&db, "b@example.org", "bobby@example.org", 5, &a,
	    &t, &err), IPC_S_OK);
	CHECK_INT(alias_add(&db, "postmaster@example.org", "bob@example.org",
	    5, &a, &t, &err), IPC_S_EXISTS);
	CHECK_INT(alias_add(&db, "bob@example.org", "bobby@example.org", 5,
	    &a, &t, &err), IPC_S_EXISTS);
	CHECK_STR(err.text, "bob@example.org is an account");
	CHECK_INT(alias_add(&db, "x@example.org", "nobody@example.org", 5,
	    &a, &t, &err), IPC_S_NOTFOUND);
	CHECK_STR(err.text, "alias target nobody@example.org is not an account");
	CHECK_INT(alias_add(&db, "x@nowhere.example", "bob@example.org", 5,
	    &a, &t, &err), IPC_S_NOTFOUND);
	CHECK_INT(alias_add(&db, "x y@example.org", "bob@example.org", 5,
	    &a, &t, &err), IPC_S_INVALID);
	CHECK_INT(add_account(&db, "b@example.org", &id), IPC_S_EXISTS);
	CHECK_INT(alias_get(&db, "postmaster@example.org", target, &err),
	    IPC_S_OK);
	CHECK_STR(target, "bob@example.org");
	CHECK_INT(alias_list(&db, "", &al, &tl, &err), IPC_S_OK);
	CHECK_INT(al.n, 3);
	CHECK_INT(tl.n, 3);
	if (al.n == 3 && tl.n == 3) {
		CHECK_STR(al.v[0], "abuse@example.net");
		CHECK_STR(tl.v[0], "bob@example.org");
		CHECK_STR(al.v[1], "b@example.org");
		CHECK_STR(tl.v[1], "bobby@example.org");
		CHECK_STR(al.v[2], "postmaster@example.org");
	}
	strvec_clear(&al);
	strvec_clear(&tl);
	CHECK_INT(alias_list(&db, "example.org", &al, &tl, &err), IPC_S_OK);
	CHECK_INT(al.n, 2);
	strvec_clear(&al);
	strvec_clear(&tl);
	/* The reverse index matches exact targets only (bob, not bobby). */
	CHECK_INT(name_address("bob@example.org", &t, &err), IPC_S_OK);
	CHECK_INT(alias_of(&db, &t, &sv, &err), IPC_S_OK);
	CHECK_INT(sv.n, 2);
	if (sv.n == 2) {
		CHECK_STR(sv.v[0], "abuse@example.net");
		CHECK_STR(sv.v[1], "postmaster@example.org");
	}
	strvec_clear(&sv);
	/* A domain with only aliases is in use too. */
	CHECK_INT(domain_del(&db, "example.net", canon, &err), IPC_S_EXISTS);
	CHECK_STR(err.text, "domain example.net still has aliases; "
	    "delete them first");
	/* Deleting an account deletes the aliases pointing to it. */
	CHECK_INT(account_del(&db, "bob@example.org", &acc, &n, &err),
	    IPC_S_OK);
	CHECK_INT(n, 2);
	CHECK_INT(alias_get(&db, "postmaster@example.org", target, &err),
	    IPC_S_NOTFOUND);
	CHECK_INT(alias_get(&db, "b@example.org", target, &err), IPC_S_OK);
	CHECK_INT(alias_of(&db, &t, &sv, &err), IPC_S_OK);
	CHECK_INT(sv.n, 0);
	CHECK_INT(domain_del(&db, "example.net", canon, &err), IPC_S_OK);
	CHECK_INT(alias_del(&db, "b@example.org", &a, target, &err), IPC_S_OK);
	CHECK_STR(target, "bobby@example.org");
	CHECK_INT(alias_del(&db, "b@example.org", &a, target, &err),
	    IPC_S_NOTFOUND);
	CHECK_INT(name_address("bobby@example.org", &t, &err), IPC_S_OK);
	CHECK_INT(alias_of(&db, &t, &sv, &err), IPC_S_OK);
	CHECK_INT(sv.n, 0);
	strvec_clear(&sv);
	db_close(&db);
}

TEST(test_quota)
{
	char canon[NAME_DOMAIN_MAX + 1];
	struct store_error err;
	struct store_db db;
	struct account acc;
	uint64_t id, qid;

	if (open_fresh(&db) == -1)
		return;
	domain_add(&db, "example.org", 1, canon, &err);
	add_account(&db, "q@example.org", &id);
	CHECK_INT(quota_set(&db, "Q@example.org", 10 << 20, 5000, &qid, &err),
	    IPC_S_OK);
	CHECK_INT(qid, id);
	CHECK_INT(account_get(&db, "q@example.org", &acc, &err), IPC_S_OK);
	CHECK_INT(acc.rec.quota_bytes, 10 << 20);
	CHECK_INT(acc.rec.quota_messages, 5000);
	CHECK(auth_verify_password(acc.rec.hash, "secret"));
	CHECK_INT(quota_check(&acc, 10 << 20, 1, &err), IPC_S_OK);
	CHECK_INT(quota_check(&acc, (10 << 20) + 1, 1, &err), IPC_S_QUOTA);
	CHECK_STR(err.text, "over the storage quota of 10485760 bytes");
	acc.rec.used_messages = 5000;
	CHECK_INT(quota_check(&acc, 0, 1, &err), IPC_S_QUOTA);
	CHECK_INT(quota_check(&acc, UINT64_MAX, 0, &err), IPC_S_QUOTA);
	CHECK_INT(quota_set(&db, "q@example.org", 0, 0, &qid, &err), IPC_S_OK);
	CHECK_INT(account_get(&db, "q@example.org", &acc, &err), IPC_S_OK);
	CHECK_INT(quota_check(&acc, UINT64_MAX, UINT64_MAX, &err), IPC_S_OK);
	CHECK_INT(quota_set(&db, "none@example.org", 1, 1, &qid, &err),
	    IPC_S_NOTFOUND);
	CHECK_INT(quota_set(&db, "bad", 1, 1, &qid, &err), IPC_S_INVALID);
	db_close(&db);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_name_domain),
	TEST_ENTRY(test_name_address),
	TEST_ENTRY(test_name_password_and_log_safe),
	TEST_ENTRY(test_key_addr),
	TEST_ENTRY(test_record_round_trip_and_truncation),
	TEST_ENTRY(test_schema_migrations_run_once),
	TEST_ENTRY(test_schema_version_and_token_key_kept),
	TEST_ENTRY(test_domains),
	TEST_ENTRY(test_accounts),
	TEST_ENTRY(test_accounts_survive_reopen),
	TEST_ENTRY(test_aliases),
	TEST_ENTRY(test_quota),
};

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 2;
	return harness_main(argc, argv, tests,
	    sizeof(tests) / sizeof(tests[0]));
}
