/* SPDX-License-Identifier: ISC */
/*
 * test_ctl.c: bulwarkctl's pure logic: the size and count parsers, the
 * argument checks against the real command table, the usage lines made
 * from it, the password line reader, the synchronous admin client against
 * a scripted store on a socketpair, the mailbox and message tables, and
 * fetching a message in slices.
 */
/* unit-deps: master/ctl/ctl_args.c master/ctl/ctl_cmd.c master/ctl/ctl_ipc.c master/ctl/ctl_mail.c master/ctl/ctl_passwd.c */
#include "harness.h"
#include "master/ctl/ctl.h"
#include "compat.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parses s as a size; returns the value or (uint64_t)-1 on error. */
static uint64_t
size_of(const char *s, const char **err)
{
	uint64_t v = 12345;

	*err = NULL;
	if (ctl_size_parse(s, &v, err) == -1)
		return (uint64_t)-1;
	return v;
}

TEST(test_size_parse)
{
	const char *err;

	CHECK(size_of("0", &err) == 0);
	CHECK(size_of("unlimited", &err) == 0);
	CHECK(size_of("512", &err) == 512);
	CHECK(size_of("1K", &err) == 1024);
	CHECK(size_of("1k", &err) == 1024);
	CHECK(size_of("10M", &err) == 10ull << 20);
	CHECK(size_of("10m", &err) == 10ull << 20);
	CHECK(size_of("2G", &err) == 2ull << 30);
	CHECK(size_of("3T", &err) == 3ull << 40);
	CHECK(size_of("007", &err) == 7);
	CHECK(size_of("18446744073709551615", &err) == UINT64_MAX);
	CHECK(size_of("16777215T", &err) == 16777215ull << 40);
	CHECK(size_of("17179869183G", &err) == 17179869183ull << 30);

	CHECK(size_of("18446744073709551616", &err) == (uint64_t)-1);
	CHECK_STR(err, "number too large");
	CHECK(size_of("16777216T", &err) == (uint64_t)-1);
	CHECK_STR(err, "size too large");
	CHECK(size_of("17179869184G", &err) == (uint64_t)-1);
	CHECK_STR(err, "size too large");

	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "1.5G", "10MB", "G", "1P", "1KK",
		"0x10", "Unlimited", "unlimitedx", "1e6", "k",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (size_of(bad[i], &err) != (uint64_t)-1)
			harness_fail(__FILE__, __LINE__, "size \"%s\" accepted",
			    bad[i]);
		else if (err == NULL || strncmp(err, "not a size", 10) != 0)
			harness_fail(__FILE__, __LINE__, "size \"%s\": %s",
			    bad[i], err == NULL ? "(null)" : err);
	}
}

TEST(test_count_parse)
{
	const char *err = NULL;
	uint64_t v = 99;

	CHECK_INT(ctl_count_parse("0", &v, &err), 0);
	CHECK(v == 0);
	CHECK_INT(ctl_count_parse("unlimited", &v, &err), 0);
	CHECK(v == 0);
	CHECK_INT(ctl_count_parse("100000", &v, &err), 0);
	CHECK(v == 100000);
	CHECK_INT(ctl_count_parse("1K", &v, &err), -1);
	CHECK_STR(err, "not a number (or unlimited)");
	CHECK_INT(ctl_count_parse("", &v, &err), -1);
	CHECK_INT(ctl_count_parse("-3", &v, &err), -1);
	CHECK_INT(ctl_count_parse("99999999999999999999", &v, &err), -1);
	CHECK_STR(err, "number too large");
}

/* Returns the message of ctl_arg_check, or "ok". */
static const char *
check(enum ctl_arg_kind kind, const char *s)
{
	const char *err = NULL;

	if (ctl_arg_check(kind, s, NULL, &err) == 0)
		return "ok";
	return err != NULL ? err : "(no message)";
}

TEST(test_arg_check)
{
	char longname[CTL_NAME_MAX + 2];
	uint64_t v = 0;

	CHECK_STR(check(CTL_ARG_DOMAIN, "example.org"), "ok");
	CHECK_STR(check(CTL_ARG_DOMAIN, "localhost"), "ok");
	CHECK_STR(check(CTL_ARG_DOMAIN, ""), "empty name");
	CHECK_STR(check(CTL_ARG_DOMAIN, "a@example.org"),
	    "a domain has no '@'");
	CHECK_STR(check(CTL_ARG_DOMAIN, "exa mple.org"),
	    "space or control character in name");
	CHECK_STR(check(CTL_ARG_DOMAIN, "exa\tmple.org"),
	    "space or control character in name");
	CHECK_STR(check(CTL_ARG_DOMAIN, "example..org"),
	    "empty label in domain");
	CHECK_STR(check(CTL_ARG_DOMAIN, ".example.org"),
	    "empty label in domain");

	CHECK_STR(check(CTL_ARG_ADDRESS, "alice@example.org"), "ok");
	CHECK_STR(check(CTL_ARG_ADDRESS, "alice"),
	    "not an address (local@domain)");
	CHECK_STR(check(CTL_ARG_ADDRESS, "@example.org"), "empty local part");
	CHECK_STR(check(CTL_ARG_ADDRESS, "alice@"), "empty domain");
	CHECK_STR(check(CTL_ARG_ADDRESS, "alice@a@b"),
	    "more than one '@' in address");
	CHECK_STR(check(CTL_ARG_ADDRESS, "alice@.org"),
	    "empty label in domain");
	CHECK_STR(check(CTL_ARG_ADDRESS, "ali ce@example.org"),
	    "space or control character in name");
	/* An alias may be a catch-all, "@domain". */
	CHECK_STR(check(CTL_ARG_ALIAS, "@example.org"), "ok");
	CHECK_STR(check(CTL_ARG_ALIAS, "postmaster@example.org"), "ok");
	CHECK_STR(check(CTL_ARG_ALIAS, "@"), "empty name");
	CHECK_STR(check(CTL_ARG_ALIAS, "@a@example.org"),
	    "more than one '@' in address");
	CHECK_STR(check(CTL_ARG_ALIAS, "@exa mple.org"),
	    "space or control character in name");
	CHECK_STR(check(CTL_ARG_SIZE, "10M"), "ok");
	CHECK_STR(check(CTL_ARG_COUNT, "10M"), "not a number (or unlimited)");

	/* RFC 5321 4.5.3.1.1: 64 bytes of local part. */
	memset(longname, 'a', 65);
	strlcpy(longname + 65, "@example.org", sizeof(longname) - 65);
	CHECK_STR(check(CTL_ARG_ADDRESS, longname), "local part too long");
	CHECK_STR(check(CTL_ARG_ADDRESS, longname + 1), "ok");

	/* RFC 1035 2.3.4: 253 bytes of domain. */
	memset(longname, 'a', CTL_DOMAIN_MAX + 1);
	longname[CTL_DOMAIN_MAX + 1] = '\0';
	CHECK_STR(check(CTL_ARG_DOMAIN, longname), "name too long");
	CHECK_STR(check(CTL_ARG_DOMAIN, longname + 1), "ok");

	/* Sizes and counts come back parsed. */
	CHECK_INT(ctl_arg_check(CTL_ARG_SIZE, "2K", &v, &(const char *){0}), 0);
	CHECK(v == 2048);

	/* Mailbox names may hold spaces and UTF-8, not control bytes. */
	CHECK_STR(check(CTL_ARG_MAILBOX, "INBOX"), "ok");
	CHECK_STR(check(CTL_ARG_MAILBOX, "Sent Items"), "ok");
	CHECK_STR(check(CTL_ARG_MAILBOX, "Lists/bugs"), "ok");
	CHECK_STR(check(CTL_ARG_MAILBOX, "Entw\xc3\xbcrfe"), "ok");
	CHECK_STR(check(CTL_ARG_MAILBOX, ""), "empty mailbox name");
	CHECK_STR(check(CTL_ARG_MAILBOX, "a\tb"),
	    "control character in mailbox name");
	CHECK_STR(check(CTL_ARG_MAILBOX, "a\x7f"),
	    "control character in mailbox name");
	CHECK_STR(check(CTL_ARG_UID, "7"), "ok");
	CHECK_STR(check(CTL_ARG_UID, "x"), "not a UID (1 to 4294967295)");
}

/* Parses s as a UID; returns the value or 0 on error (0 is no UID). */
static uint64_t
uid_of(const char *s, const char **err)
{
	uint64_t v = 12345;

	*err = NULL;
	if (ctl_uid_parse(s, &v, err) == -1)
		return 0;
	return v;
}

TEST(test_uid_parse)
{
	static const char *const bad[] = {
		"", "0", "00", "-1", "+1", " 1", "1 ", "1K", "0x10",
		"4294967296", "99999999999999999999999", "1.0", "uid",
	};
	const char *err;
	char longmbox[CTL_MAILBOX_MAX + 2];
	size_t i;

	CHECK(uid_of("1", &err) == 1);
	CHECK(uid_of("01", &err) == 1);
	CHECK(uid_of("4294967295", &err) == 4294967295ull);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (uid_of(bad[i], &err) != 0)
			harness_fail(__FILE__, __LINE__, "uid \"%s\" accepted",
			    bad[i]);
		else if (err == NULL ||
		    strcmp(err, "not a UID (1 to 4294967295)") != 0)
			harness_fail(__FILE__, __LINE__, "uid \"%s\": %s",
			    bad[i], err == NULL ? "(null)" : err);
	}
	memset(longmbox, 'm', sizeof(longmbox) - 1);
	longmbox[sizeof(longmbox) - 1] = '\0';
	CHECK_STR(check(CTL_ARG_MAILBOX, longmbox), "mailbox name too long");
	CHECK_STR(check(CTL_ARG_MAILBOX, longmbox + 1), "ok");
}

/* Parses "cmd sub args..." (split at spaces) against the real table. */
static int
parse(const char *line, struct ctl_args *a, char *err, size_t errsize)
{
	static char copy[256];
	char *argv[16], *p, *save = NULL;
	const struct ctl_cmd *cmd;
	int argc = 0;

	strlcpy(copy, line, sizeof(copy));
	for (p = strtok_r(copy, " ", &save); p != NULL && argc < 16;
	    p = strtok_r(NULL, " ", &save))
		argv[argc++] = p;
	if (argc == 0 || (cmd = ctl_cmd_find(argv[0],
	    argc > 1 ? argv[1] : NULL)) == NULL) {
		strlcpy(err, "no such command", errsize);
		return -1;
	}
	err[0] = '\0';
	return ctl_args_parse(cmd, argc - (cmd->sub ? 2 : 1),
	    argv + (cmd->sub ? 2 : 1), a, err, errsize);
}

/* Expects line to be refused with message msg. */
static void
refused(int lineno, const char *line, const char *msg)
{
	struct ctl_args a;
	char err[256];

	if (parse(line, &a, err, sizeof(err)) != -1)
		harness_fail(__FILE__, lineno, "\"%s\" accepted", line);
	else if (strcmp(err, msg) != 0)
		harness_fail(__FILE__, lineno, "\"%s\": \"%s\" != \"%s\"",
		    line, err, msg);
}

TEST(test_args_parse)
{
	struct ctl_args a;
	char err[256];

	CHECK_INT(parse("account add a@b.org", &a, err, sizeof(err)), 0);
	CHECK_INT(a.n, 1);
	CHECK_STR(a.arg[0], "a@b.org");
	CHECK(a.opt[0] == NULL && a.opt[1] == NULL);
	CHECK(a.optnum[0] == 0 && a.optnum[1] == 0);

	CHECK_INT(parse("account add a@b.org -q 1G -m 5000", &a, err,
	    sizeof(err)), 0);
	CHECK(a.optnum[0] == 1ull << 30);
	CHECK(a.optnum[1] == 5000);
	CHECK_STR(a.opt[0], "1G");

	CHECK_INT(parse("account add -q10M -m unlimited a@b.org", &a, err,
	    sizeof(err)), 0);
	CHECK_STR(a.arg[0], "a@b.org");
	CHECK(a.optnum[0] == 10ull << 20);
	CHECK(a.optnum[1] == 0);

	CHECK_INT(parse("quota set a@b.org 2G", &a, err, sizeof(err)), 0);
	CHECK_INT(a.n, 2);
	CHECK(a.num[1] == 2ull << 30);
	CHECK_INT(parse("quota set a@b.org unlimited 100", &a, err,
	    sizeof(err)), 0);
	CHECK_INT(a.n, 3);
	CHECK(a.num[1] == 0 && a.num[2] == 100);

	CHECK_INT(parse("account list", &a, err, sizeof(err)), 0);
	CHECK_INT(a.n, 0);
	CHECK_INT(parse("alias list example.org", &a, err, sizeof(err)), 0);
	CHECK_INT(parse("alias add postmaster@example.org bob@example.org", &a,
	    err, sizeof(err)), 0);
	CHECK_STR(a.arg[1], "bob@example.org");
	CHECK_INT(parse("help", &a, err, sizeof(err)), 0);
	CHECK_INT(parse("help account", &a, err, sizeof(err)), 0);

	refused(__LINE__, "account add", "missing ADDRESS");
	refused(__LINE__, "alias add x@y.org", "missing TARGET");
	/* "@domain" is a catch-all alias, but never a target. */
	CHECK_INT(parse("alias add @y.org b@y.org", &a, err, sizeof(err)), 0);
	CHECK_STR(a.arg[0], "@y.org");
	refused(__LINE__, "alias add b@y.org @y.org",
	    "@y.org: empty local part");
	refused(__LINE__, "alias del x", "x: not an address (local@domain)");
	refused(__LINE__, "quota set a@b.org", "missing BYTES");
	refused(__LINE__, "domain add", "missing NAME");
	refused(__LINE__, "domain list extra", "too many arguments");
	refused(__LINE__, "domain add a.org b.org", "too many arguments");
	refused(__LINE__, "account show a@b.org c@d.org",
	    "too many arguments");
	refused(__LINE__, "quota set a@b.org 1G 10 x", "too many arguments");
	refused(__LINE__, "account add a@b.org -x 1", "unknown option -x");
	refused(__LINE__, "account del -q 1 a@b.org", "unknown option -q");
	refused(__LINE__, "account add a@b.org -q", "option -q needs BYTES");
	refused(__LINE__, "account add a@b.org -q 1.5G",
	    "-q 1.5G: not a size (e.g. 512, 100K, 10M, 2G, unlimited)");
	refused(__LINE__, "account add a@b.org -m 1K",
	    "-m 1K: not a number (or unlimited)");
	refused(__LINE__, "account add alice",
	    "alice: not an address (local@domain)");
	refused(__LINE__, "account add -- -q",
	    "-q: not an address (local@domain)");
	refused(__LINE__, "domain add a@b.org", "a@b.org: a domain has no '@'");
	refused(__LINE__, "quota set a@b.org lots",
	    "lots: not a size (e.g. 512, 100K, 10M, 2G, unlimited)");
	refused(__LINE__, "quota set a@b.org 1G 1M",
	    "1M: not a number (or unlimited)");
	refused(__LINE__, "account list a@b.org",
	    "a@b.org: a domain has no '@'");

	CHECK_INT(parse("mailbox list a@b.org", &a, err, sizeof(err)), 0);
	CHECK_STR(a.arg[0], "a@b.org");
	CHECK_INT(parse("message list a@b.org", &a, err, sizeof(err)), 0);
	CHECK_INT(a.n, 1);
	CHECK_INT(parse("message list a@b.org Trash", &a, err, sizeof(err)),
	    0);
	CHECK_INT(a.n, 2);
	CHECK_STR(a.arg[1], "Trash");
	CHECK_INT(parse("message show a@b.org INBOX 42", &a, err, sizeof(err)),
	    0);
	CHECK_INT(a.n, 3);
	CHECK(a.num[2] == 42);
	CHECK_INT(parse("message show a@b.org Lists/x 4294967295", &a, err,
	    sizeof(err)), 0);
	CHECK(a.num[2] == 4294967295ull);
	/* "--" lets a mailbox name start with '-'. */
	CHECK_INT(parse("message list a@b.org -- -odd", &a, err, sizeof(err)),
	    0);
	CHECK_STR(a.arg[1], "-odd");

	refused(__LINE__, "mailbox list", "missing ADDRESS");
	refused(__LINE__, "mailbox list a@b.org INBOX", "too many arguments");
	refused(__LINE__, "mailbox list alice",
	    "alice: not an address (local@domain)");
	refused(__LINE__, "message list", "missing ADDRESS");
	refused(__LINE__, "message list b.org", "b.org: not an address "
	    "(local@domain)");
	refused(__LINE__, "message list a@b.org INBOX 1",
	    "too many arguments");
	refused(__LINE__, "message list a@b.org -q 1", "unknown option -q");
	refused(__LINE__, "message show a@b.org", "missing MAILBOX");
	refused(__LINE__, "message show a@b.org INBOX", "missing UID");
	refused(__LINE__, "message show a@b.org INBOX 0",
	    "0: not a UID (1 to 4294967295)");
	refused(__LINE__, "message show a@b.org INBOX 4294967296",
	    "4294967296: not a UID (1 to 4294967295)");
	refused(__LINE__, "message show a@b.org INBOX -1", "unknown option -1");
	refused(__LINE__, "message show a@b.org INBOX 1x",
	    "1x: not a UID (1 to 4294967295)");
	refused(__LINE__, "message show a@b.org INBOX 1 2",
	    "too many arguments");
	refused(__LINE__, "message show INBOX a@b.org 1",
	    "INBOX: not an address (local@domain)");
}

TEST(test_args_dkim)
{
	struct ctl_args a;
	char err[256];

	CHECK_INT(parse("dkim keygen example.org s1", &a, err, sizeof(err)),
	    0);
	CHECK(a.n == 2 && a.opt[0] == NULL);
	CHECK_INT(parse("dkim keygen -t ed25519 example.org s1 /tmp/k", &a,
	    err, sizeof(err)), 0);
	CHECK_STR(a.opt[0], "ed25519");
	CHECK_STR(a.arg[2], "/tmp/k");
	CHECK_INT(parse("dkim sign /tmp/k example.org 2024.mail", &a, err,
	    sizeof(err)), 0);
	refused(__LINE__, "dkim keygen -t dsa example.org s1",
	    "-t dsa: not a key type (rsa or ed25519)");
	refused(__LINE__, "dkim keygen example.org", "missing SELECTOR");
	refused(__LINE__, "dkim keygen example.org s1 k extra",
	    "too many arguments");
	refused(__LINE__, "dkim record k example.org", "missing SELECTOR");
	refused(__LINE__, "dkim sign k a@example.org s1",
	    "a@example.org: a domain has no '@'");
	refused(__LINE__, "dkim sign k example.org s..1",
	    "s..1: empty label in domain");
	CHECK_STR(check(CTL_ARG_FILE, "dir with space/k.key"), "ok");
	CHECK_STR(check(CTL_ARG_FILE, ""), "empty file name");
	CHECK_STR(check(CTL_ARG_FILE, "a\nb"),
	    "control character in file name");
}

/* A mailbox name with a space is one argument when the shell says so. */
TEST(test_args_mailbox_space)
{
	char *argv[] = { "a@b.org", "Sent Items", "3" };
	const struct ctl_cmd *cmd = ctl_cmd_find("message", "show");
	struct ctl_args a;
	char err[128];

	CHECK(cmd != NULL);
	if (cmd == NULL)
		return;
	CHECK_INT(ctl_args_parse(cmd, 3, argv, &a, err, sizeof(err)), 0);
	CHECK_STR(a.arg[1], "Sent Items");
	CHECK(a.num[2] == 3);
}

TEST(test_cmd_table)
{
	static const char *const expect[][2] = {
		{ "domain add", "domain add NAME" },
		{ "domain list", "domain list" },
		{ "account add",
		    "account add ADDRESS [-q BYTES] [-m MESSAGES]" },
		{ "account passwd", "account passwd ADDRESS" },
		{ "account list", "account list [DOMAIN]" },
		{ "alias add", "alias add ALIAS TARGET" },
		{ "alias list", "alias list [DOMAIN]" },
		{ "quota set", "quota set ADDRESS BYTES [MESSAGES]" },
		{ "mailbox list", "mailbox list ADDRESS" },
		{ "message list", "message list ADDRESS [MAILBOX]" },
		{ "message show", "message show ADDRESS MAILBOX UID" },
		{ "store prune", "store prune" },
		{ "dkim keygen",
		    "dkim keygen DOMAIN SELECTOR [FILE] [-t TYPE]" },
		{ "dkim record", "dkim record FILE DOMAIN SELECTOR" },
		{ "dkim sign", "dkim sign FILE DOMAIN SELECTOR" },
	};
	const struct ctl_cmd *c;
	char name[32], sub[32], line[128];
	size_t i;
	int j, n = 0;

	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		if (sscanf(expect[i][0], "%31s %31s", name, sub) != 2 ||
		    (c = ctl_cmd_find(name, sub)) == NULL) {
			harness_fail(__FILE__, __LINE__, "no %s", expect[i][0]);
			continue;
		}
		ctl_cmd_format_usage(c, line, sizeof(line));
		CHECK_STR(line, expect[i][1]);
	}
	CHECK(ctl_cmd_find("account", "frob") == NULL);
	CHECK(ctl_cmd_find("account", NULL) == NULL);
	CHECK(ctl_cmd_find("help", NULL) != NULL);
	CHECK(ctl_cmd_known("alias"));
	CHECK(!ctl_cmd_known("frob"));
	for (c = ctl_cmds(); c->name != NULL; c++, n++) {
		CHECK(c->min <= c->max && c->max <= CTL_MAX_ARGS);
		CHECK(c->fn != NULL && c->help != NULL);
		for (j = 0; j < c->max; j++)
			CHECK(c->args[j].kind != CTL_ARG_NONE &&
			    c->args[j].name != NULL);
	}
	/* The 19 commands of bulwarkctl.8 and help. */
	CHECK_INT(n, 20);
	/* The dkim commands work on files: no store. */
	CHECK(!ctl_cmd_find("dkim", "keygen")->store);
	CHECK(!ctl_cmd_find("dkim", "sign")->store);
	CHECK(ctl_cmd_find("message", NULL) == NULL);
	CHECK(ctl_cmd_find("mailbox", "show") == NULL);
}

/* Feeds data through a pipe to ctl_password_read_line. */
static int
read_line(const char *data, size_t len, char *buf, size_t size,
    const char **err)
{
	int fds[2], r;

	if (pipe(fds) == -1)
		return -2;
	if (write(fds[1], data, len) != (ssize_t)len)
		return -2;
	close(fds[1]);
	r = ctl_password_read_line(fds[0], buf, size, err);
	close(fds[0]);
	return r;
}

TEST(test_password_line)
{
	char buf[16];
	const char *err = NULL;
	int fds[2];

	CHECK_INT(read_line("secret\n", 7, buf, sizeof(buf), &err), 0);
	CHECK_STR(buf, "secret");
	CHECK_INT(read_line("secret\r\n", 8, buf, sizeof(buf), &err), 0);
	CHECK_STR(buf, "secret");
	CHECK_INT(read_line("no newline", 10, buf, sizeof(buf), &err), 0);
	CHECK_STR(buf, "no newline");
	CHECK_INT(read_line("a b\tc\n", 6, buf, sizeof(buf), &err), 0);
	CHECK_STR(buf, "a b\tc");
	CHECK_INT(read_line("\n", 1, buf, sizeof(buf), &err), 0);
	CHECK_STR(buf, "");
	CHECK_INT(read_line("123456789012345\n", 16, buf, sizeof(buf), &err),
	    0);
	CHECK_STR(buf, "123456789012345");

	CHECK_INT(read_line("", 0, buf, sizeof(buf), &err), -1);
	CHECK_STR(err, "no password on standard input");
	CHECK_INT(read_line("ab\0cd\n", 6, buf, sizeof(buf), &err), -1);
	CHECK_STR(err, "NUL byte in password");
	CHECK_INT(read_line("1234567890123456\n", 17, buf, sizeof(buf), &err),
	    -1);
	CHECK_STR(err, "password too long");
	/* A refused password is not left in the buffer. */
	CHECK_INT(buf[0], 0);
	CHECK_INT(buf[14], 0);

	/* Only the first line is taken. */
	if (pipe(fds) == -1) {
		CHECK(0);
		return;
	}
	CHECK_INT(write(fds[1], "one\ntwo\n", 8), 8);
	close(fds[1]);
	CHECK_INT(ctl_password_read_line(fds[0], buf, sizeof(buf), &err), 0);
	CHECK_STR(buf, "one");
	CHECK_INT(ctl_password_read_line(fds[0], buf, sizeof(buf), &err), 0);
	CHECK_STR(buf, "two");
	close(fds[0]);
}

/* Runs ctl_password_read with data on a pipe as standard input. */
static int
read_stdin(const char *data, char *buf, size_t size, const char **err)
{
	int fds[2], saved, r;

	if (pipe(fds) == -1 || (saved = dup(STDIN_FILENO)) == -1)
		return -2;
	(void)!write(fds[1], data, strlen(data));
	close(fds[1]);
	dup2(fds[0], STDIN_FILENO);
	close(fds[0]);
	r = ctl_password_read(buf, size, err);
	dup2(saved, STDIN_FILENO);
	close(saved);
	return r;
}

TEST(test_password_stdin)
{
	char buf[CTL_PASSWORD_MAX + 1], big[CTL_PASSWORD_MAX + 3];
	const char *err = NULL;

	CHECK_INT(read_stdin("hunter2\n", buf, sizeof(buf), &err), 0);
	CHECK_STR(buf, "hunter2");
	CHECK_INT(read_stdin("\n", buf, sizeof(buf), &err), -1);
	CHECK_STR(err, "empty password");
	CHECK_INT(read_stdin("\r\n", buf, sizeof(buf), &err), -1);
	CHECK_STR(err, "empty password");
	CHECK_INT(read_stdin("", buf, sizeof(buf), &err), -1);
	CHECK_STR(err, "no password on standard input");

	/* CTL_PASSWORD_MAX bytes fit, one more does not. */
	memset(big, 'x', CTL_PASSWORD_MAX + 1);
	strlcpy(big + CTL_PASSWORD_MAX, "\n", 3);
	CHECK_INT(read_stdin(big, buf, sizeof(buf), &err), 0);
	CHECK_INT(strlen(buf), CTL_PASSWORD_MAX);
	strlcpy(big + CTL_PASSWORD_MAX, "x\n", 3);
	CHECK_INT(read_stdin(big, buf, sizeof(buf), &err), -1);
	CHECK_STR(err, "password too long");
}

/* --- the admin client against a scripted store --- */

static void
put_hello(struct buf *b, uint32_t peer)
{
	struct ipc_HELLO_req h = {
		.major = IPC_VERSION_MAJOR, .minor = IPC_VERSION_MINOR,
		.peer = peer, .name = "storaged",
	};

	ipc_encode(b, IPC_T_HELLO, 0, 0, 0, &h);
}

/* A DOMAIN_LIST reply (id) with two names. */
static void
put_domain_list(struct buf *b, uint32_t id, struct buf *listbuf)
{
	struct ipc_DOMAIN_LIST_rep rep;
	struct wire_reader r;

	wire_put_strlist_begin(listbuf, 2);
	wire_strlist_add(listbuf, "a.org");
	wire_strlist_add(listbuf, "b.org");
	wire_reader_init(&r, listbuf->data, listbuf->len);
	wire_get_STRLIST(&r, &rep.names);
	ipc_encode_reply(b, IPC_T_DOMAIN_LIST, id, 0, IPC_S_OK, "", &rep);
}

/*
 * Opens a client on a socketpair whose other end already holds script;
 * returns the other end, or -1.
 */
static int
scripted(struct ctl_conn *c, const struct buf *script, int *r,
    const char **err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return -1;
	if (script->len > 0 && ipc_write_blocking(sv[1], script, -1) == -1)
		return -1;
	*r = ctl_conn_open(c, sv[0], err);
	return sv[1];
}

/* Reads what the client sent: its HELLO, then one request. */
static void
check_client_frames(int fd, uint16_t type)
{
	struct ipc_rx rx;
	struct ipc_frame f;
	union ipc_msg_any m;
	const char *err;

	ipc_rx_init(&rx);
	CHECK_INT(ipc_rx_read_blocking(&rx, fd, &f, &err), 1);
	CHECK_INT(f.type, IPC_T_HELLO);
	CHECK_INT(ipc_decode_req(&f, &m, &err), 0);
	CHECK_INT(m.HELLO_req.peer, IPC_P_CTL);
	CHECK_INT(m.HELLO_req.major, IPC_VERSION_MAJOR);
	CHECK_STR(m.HELLO_req.name, "bulwarkctl");
	CHECK_INT(ipc_rx_read_blocking(&rx, fd, &f, &err), 1);
	CHECK_INT(f.type, type);
	CHECK_INT(f.id, 1);
	CHECK_INT(f.flags, 0);
	CHECK_INT(ipc_decode_req(&f, &m, &err), 0);
	ipc_rx_clear(&rx);
}

TEST(test_ipc_ok)
{
	struct buf script = BUF_INIT, list = BUF_INIT;
	struct ctl_conn c;
	struct ipc_DOMAIN_LIST_req req;
	union ipc_msg_any rep;
	enum ipc_status st = IPC_S_MAX;
	struct wire_iter it;
	const char *err = NULL, *text = NULL;
	int fd, r = -1;

	put_hello(&script, IPC_P_STORE);
	put_domain_list(&script, 1, &list);
	fd = scripted(&c, &script, &r, &err);
	CHECK(fd != -1);
	CHECK_INT(r, 0);
	CHECK_STR(c.peer, "storaged");
	memset(&req, 0, sizeof(req));
	CHECK_INT(ctl_call(&c, IPC_T_DOMAIN_LIST, &req, &rep, &st, &text,
	    &err), 0);
	CHECK_INT(st, IPC_S_OK);
	CHECK_STR(text, "");
	CHECK_INT(rep.DOMAIN_LIST_rep.names.count, 2);
	wire_strlist_iter(&rep.DOMAIN_LIST_rep.names, &it);
	CHECK_STR(wire_strlist_next(&it), "a.org");
	CHECK_STR(wire_strlist_next(&it), "b.org");
	CHECK(wire_strlist_next(&it) == NULL);
	check_client_frames(fd, IPC_T_DOMAIN_LIST);
	ctl_close(&c);
	ctl_close(&c);
	close(fd);
	buf_clear(&script);
	buf_clear(&list);
}

TEST(test_ipc_refused)
{
	struct buf script = BUF_INIT;
	struct ctl_conn c;
	struct ipc_ACCOUNT_DEL_req req = { .name = "x@y.org" };
	union ipc_msg_any rep;
	enum ipc_status st = IPC_S_OK;
	const char *err = NULL, *text = NULL;
	int fd, r = -1;

	put_hello(&script, IPC_P_STORE);
	ipc_encode_reply(&script, IPC_T_ACCOUNT_DEL, 1, 0, IPC_S_NOTFOUND,
	    "no such account", NULL);
	fd = scripted(&c, &script, &r, &err);
	CHECK_INT(r, 0);
	CHECK_INT(ctl_call(&c, IPC_T_ACCOUNT_DEL, &req, &rep, &st, &text,
	    &err), 0);
	CHECK_INT(st, IPC_S_NOTFOUND);
	CHECK_STR(text, "no such account");
	check_client_frames(fd, IPC_T_ACCOUNT_DEL);
	ctl_close(&c);
	close(fd);
	buf_clear(&script);
}

/* Expects ctl_call to fail with msg after the store sent script. */
static void
call_fails(int lineno, const struct buf *script, const char *msg,
    bool close_early)
{
	struct ctl_conn c;
	struct ipc_DOMAIN_LIST_req req;
	union ipc_msg_any rep;
	enum ipc_status st;
	const char *err = NULL, *text;
	int fd, r = -1;

	memset(&req, 0, sizeof(req));
	fd = scripted(&c, script, &r, &err);
	if (r != 0) {
		harness_fail(__FILE__, lineno, "hello failed: %s", err);
		close(fd);
		return;
	}
	if (close_early)
		shutdown(fd, SHUT_WR);
	if (ctl_call(&c, IPC_T_DOMAIN_LIST, &req, &rep, &st, &text,
	    &err) != -1)
		harness_fail(__FILE__, lineno, "bad reply accepted");
	else if (strcmp(err, msg) != 0)
		harness_fail(__FILE__, lineno, "\"%s\" != \"%s\"", err, msg);
	ctl_close(&c);
	close(fd);
}

TEST(test_ipc_bad_replies)
{
	struct buf s = BUF_INIT, list = BUF_INIT;
	struct ipc_DOMAIN_LIST_req req;
	uint8_t hdr[IPC_HDR_SIZE];

	memset(&req, 0, sizeof(req));

	/* Wrong id. */
	put_hello(&s, IPC_P_STORE);
	put_domain_list(&s, 2, &list);
	call_fails(__LINE__, &s, "unexpected frame from the store", false);

	/* Wrong type. */
	buf_reset(&s);
	put_hello(&s, IPC_P_STORE);
	ipc_encode_reply(&s, IPC_T_DOMAIN_ADD, 1, 0, IPC_S_OK, "", NULL);
	call_fails(__LINE__, &s, "unexpected frame from the store", false);

	/* A request instead of a reply. */
	buf_reset(&s);
	put_hello(&s, IPC_P_STORE);
	ipc_encode(&s, IPC_T_DOMAIN_LIST, 0, 1, 0, &req);
	call_fails(__LINE__, &s, "unexpected frame from the store", false);

	/* A status only: the text is missing. */
	buf_reset(&s);
	put_hello(&s, IPC_P_STORE);
	memset(hdr, 0, sizeof(hdr));
	wire_be32_put(hdr, 5);
	wire_be16_put(hdr + 4, IPC_T_DOMAIN_LIST);
	wire_be16_put(hdr + 6, IPC_F_REPLY);
	wire_be32_put(hdr + 8, 1);
	buf_append(&s, hdr, sizeof(hdr));
	wire_put_U32(&s, IPC_S_OK);
	call_fails(__LINE__, &s, "malformed reply from the store", false);

	/* An unknown status. */
	buf_reset(&s);
	put_hello(&s, IPC_P_STORE);
	ipc_encode_reply(&s, IPC_T_DOMAIN_LIST, 1, 0, IPC_S_MAX, "?", NULL);
	call_fails(__LINE__, &s, "reply with an unknown status", false);

	/* OK without its fields. */
	buf_reset(&s);
	put_hello(&s, IPC_P_STORE);
	memset(hdr, 0, sizeof(hdr));
	wire_be32_put(hdr, 5 + 5);
	wire_be16_put(hdr + 4, IPC_T_DOMAIN_LIST);
	wire_be16_put(hdr + 6, IPC_F_REPLY);
	wire_be32_put(hdr + 8, 1);
	buf_append(&s, hdr, sizeof(hdr));
	wire_put_U32(&s, IPC_S_OK);
	wire_put_STR(&s, "");
	call_fails(__LINE__, &s, "malformed reply from the store", false);

	/* The store hangs up. */
	buf_reset(&s);
	put_hello(&s, IPC_P_STORE);
	call_fails(__LINE__, &s, "the store closed the connection", true);

	buf_clear(&s);
	buf_clear(&list);
}

TEST(test_ipc_bad_hello)
{
	struct buf s = BUF_INIT, list = BUF_INIT;
	struct ctl_conn c;
	const char *err = NULL;
	int fd, r = 0;

	put_hello(&s, IPC_P_WORKER);
	fd = scripted(&c, &s, &r, &err);
	CHECK_INT(r, -1);
	CHECK_STR(err, "the peer is not the store");
	CHECK_INT(c.fd, -1);
	close(fd);

	buf_reset(&s);
	put_domain_list(&s, 0, &list);
	fd = scripted(&c, &s, &r, &err);
	CHECK_INT(r, -1);
	CHECK_STR(err, "the peer did not start with HELLO");
	close(fd);
	buf_clear(&s);
	buf_clear(&list);
}

/* A store that refuses the peer closes before its HELLO. */
TEST(test_ipc_peer_refused)
{
	struct ctl_conn c;
	const char *err = NULL;
	int sv[2];

	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	CHECK_INT(ctl_conn_open(&c, sv[0], &err), -1);
	CHECK_INT(errno, ECONNABORTED);
	CHECK_STR(err, "the store closed the connection");
	CHECK_INT(c.fd, -1);
}

TEST(test_connect_errors)
{
	struct ctl_conn c;
	char path[256];
	const char *err = NULL;

	snprintf(path, sizeof(path), "%s/nosuch.sock", harness_tmpdir());
	CHECK_INT(ctl_connect(&c, path, &err), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_STR(err, strerror(ENOENT));
	memset(path, 'x', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	CHECK_INT(ctl_connect(&c, path, &err), -1);
	CHECK_STR(err, "socket path too long");
}

/* --- mailbox and message tables --- */

/* Decoded lists made from C arrays; each keeps its bytes in its own buf. */
static struct wire_strlist
mk_strlist(struct buf *b, const char *const *v, uint32_t n)
{
	struct wire_strlist l;
	struct wire_reader r;
	uint32_t i;

	wire_put_strlist_begin(b, n);
	for (i = 0; i < n; i++)
		wire_strlist_add(b, v[i]);
	wire_reader_init(&r, b->data, b->len);
	memset(&l, 0, sizeof(l));
	CHECK_INT(wire_get_STRLIST(&r, &l), 0);
	return l;
}

static struct wire_u64list
mk_u64list(struct buf *b, const uint64_t *v, uint32_t n)
{
	struct wire_u64list l;
	struct wire_reader r;
	uint32_t i;

	wire_put_u64list_begin(b, n);
	for (i = 0; i < n; i++)
		wire_u64list_add(b, v[i]);
	wire_reader_init(&r, b->data, b->len);
	memset(&l, 0, sizeof(l));
	CHECK_INT(wire_get_U64LIST(&r, &l), 0);
	return l;
}

static void
bufs_clear(struct buf *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf_clear(&b[i]);
}

/* Runs a printer into memory; returns its output (malloc'd) or NULL. */
static char *
printed(int (*fn)(FILE *, const void *, const char **), const void *rep,
    int *r, const char **err)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp;

	if ((fp = open_memstream(&out, &len)) == NULL)
		return NULL;
	*r = fn(fp, rep, err);
	fclose(fp);
	return out;
}

static int
mailbox_print(FILE *fp, const void *rep, const char **err)
{
	return ctl_mailbox_print(fp, rep, err);
}

static int
message_print(FILE *fp, const void *rep, const char **err)
{
	return ctl_message_print(fp, rep, err);
}

TEST(test_mailbox_print)
{
	static const char *const names[] = { "INBOX", "Sent Items", "a\tb" };
	static const char *const roles[] = { "inbox", "sent", "" };
	static const uint64_t ids[] = { 1, 2, 17 }, total[] = { 12, 0, 3 },
	    unread[] = { 3, 0, 0 },
	    uidv[] = { 1700000000, 1700000000, 1700000001 },
	    uidnext[] = { 13, 1, 4 }, hms[] = { 40, 2, 123456 };
	struct ipc_MAILBOX_LIST_rep rep;
	struct buf b[8];
	const char *err = NULL;
	char *out;
	int r = -1;

	memset(b, 0, sizeof(b));
	rep.names = mk_strlist(&b[0], names, 3);
	rep.roles = mk_strlist(&b[1], roles, 3);
	rep.ids = mk_u64list(&b[2], ids, 3);
	rep.total = mk_u64list(&b[3], total, 3);
	rep.unread = mk_u64list(&b[4], unread, 3);
	rep.uidvalidity = mk_u64list(&b[5], uidv, 3);
	rep.uidnext = mk_u64list(&b[6], uidnext, 3);
	rep.highestmodseq = mk_u64list(&b[7], hms, 3);
	out = printed(mailbox_print, &rep, &r, &err);
	CHECK_INT(r, 0);
	CHECK_STR(out,
	    "ID  ROLE   TOTAL  UNREAD  UIDVALIDITY  UIDNEXT  HIGHESTMODSEQ  "
	    "NAME\n"
	    " 1  inbox     12       3   1700000000       13             40  "
	    "INBOX\n"
	    " 2  sent       0       0   1700000000        1              2  "
	    "Sent Items\n"
	    "17  -          3       0   1700000001        4         123456  "
	    "a?b\n");
	free(out);

	/* No mailboxes: the header alone. */
	rep.names.count = rep.roles.count = rep.ids.count = 0;
	rep.total.count = rep.unread.count = rep.uidvalidity.count = 0;
	rep.uidnext.count = rep.highestmodseq.count = 0;
	out = printed(mailbox_print, &rep, &r, &err);
	CHECK_INT(r, 0);
	CHECK_STR(out, "ID  ROLE  TOTAL  UNREAD  UIDVALIDITY  UIDNEXT  "
	    "HIGHESTMODSEQ  NAME\n");
	free(out);

	/* Lists of different lengths are refused and nothing is printed. */
	rep.highestmodseq.count = 1;
	out = printed(mailbox_print, &rep, &r, &err);
	CHECK_INT(r, -1);
	CHECK_STR(err, "malformed reply from the store (lists differ)");
	CHECK_STR(out, "");
	free(out);
	bufs_clear(b, 8);
}

TEST(test_message_print)
{
	static const char *const flags[] = {
		"\\Seen \\Flagged", "", "$Junk ",
	};
	static const char *const froms[] = {
		"Alice Example <alice@example.org>", "", "bob@example.net",
	};
	static const char *const subjects[] = {
		"Hello, world", "", "Gr\xc3\xbc\xc3\x9f""e\r\nBcc: x",
	};
	static const uint64_t uids[] = { 1, 2, 1000 },
	    eids[] = { 101, 102, 1100 }, tids[] = { 101, 101, 7 },
	    sizes[] = { 2048, 1, 2097152 },
	    received[] = { 1764103340, 0, 1764103341 },
	    modseqs[] = { 5, 6, 7 };
	struct ipc_MESSAGE_LIST_rep rep;
	struct buf b[9];
	const char *err = NULL;
	char *out;
	int r = -1;

	memset(b, 0, sizeof(b));
	rep.uids = mk_u64list(&b[0], uids, 3);
	rep.email_ids = mk_u64list(&b[1], eids, 3);
	rep.thread_ids = mk_u64list(&b[2], tids, 3);
	rep.sizes = mk_u64list(&b[3], sizes, 3);
	rep.received = mk_u64list(&b[4], received, 3);
	rep.modseqs = mk_u64list(&b[5], modseqs, 3);
	rep.flags = mk_strlist(&b[6], flags, 3);
	rep.froms = mk_strlist(&b[7], froms, 3);
	rep.subjects = mk_strlist(&b[8], subjects, 3);
	out = printed(message_print, &rep, &r, &err);
	CHECK_INT(r, 0);
	CHECK_STR(out,
	    " UID  EMAIL-ID  THREAD-ID     SIZE  RECEIVED              "
	    "FLAGS           FROM               SUBJECT\n"
	    "   1       101        101     2048  2025-11-25T20:42:20Z  "
	    "\\Seen,\\Flagged  alice@example.org  Hello, world\n"
	    "   2       102        101        1  1970-01-01T00:00:00Z  "
	    "-               -                  \n"
	    "1000      1100          7  2097152  2025-11-25T20:42:21Z  "
	    "$Junk           bob@example.net    "
	    "Gr\xc3\xbc\xc3\x9f""e??Bcc: x\n");
	free(out);

	rep.froms.count = 2;
	out = printed(message_print, &rep, &r, &err);
	CHECK_INT(r, -1);
	CHECK_STR(err, "malformed reply from the store (lists differ)");
	free(out);
	bufs_clear(b, 9);
}

/* --- message show: MESSAGE_GET in slices --- */

static void
put_slice(struct buf *b, uint32_t id, uint64_t total, const uint8_t *p,
    uint32_t len)
{
	struct ipc_MESSAGE_GET_rep rep = {
		.total = total, .data = { .p = p, .len = len },
	};

	ipc_encode_reply(b, IPC_T_MESSAGE_GET, id, 0, IPC_S_OK, "", &rep);
}

struct fetched {
	int		 r;
	enum ipc_status	 st;
	char		 text[64];
	const char	*err;
	char		*out;
	size_t		 len;
	uint64_t	 offsets[8];	/* of the requests the store got */
	int		 nreq;
};

/* Reads the client's HELLO and MESSAGE_GET requests from fd. */
static void
read_requests(int fd, struct fetched *res)
{
	struct ipc_rx rx;
	struct ipc_frame f;
	union ipc_msg_any m;
	const char *err;

	shutdown(fd, SHUT_WR);
	ipc_rx_init(&rx);
	CHECK_INT(ipc_rx_read_blocking(&rx, fd, &f, &err), 1);
	CHECK_INT(f.type, IPC_T_HELLO);
	while (res->nreq < 8 && ipc_rx_read_blocking(&rx, fd, &f, &err) == 1) {
		CHECK_INT(f.type, IPC_T_MESSAGE_GET);
		CHECK_INT(f.id, (uint32_t)res->nreq + 1);
		CHECK_INT(ipc_decode_req(&f, &m, &err), 0);
		CHECK_STR(m.MESSAGE_GET_req.account, "a@b.org");
		CHECK_STR(m.MESSAGE_GET_req.mailbox, "Sent Items");
		CHECK_INT(m.MESSAGE_GET_req.uid, 4000000000u);
		res->offsets[res->nreq++] = m.MESSAGE_GET_req.offset;
	}
	ipc_rx_clear(&rx);
}

/*
 * Runs ctl_message_fetch against a store that sends script (from a child,
 * since a script may be larger than a socket's buffer).
 */
static void
fetch(const struct buf *script, struct fetched *res)
{
	struct ctl_conn c;
	const char *text = "", *err = NULL;
	FILE *fp;
	pid_t pid;
	int sv[2], r;

	memset(res, 0, sizeof(*res));
	res->r = -2;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    (pid = fork()) == -1) {
		CHECK(0);
		return;
	}
	if (pid == 0) {
		/* A client that gave up early may close before the end. */
		signal(SIGPIPE, SIG_IGN);
		close(sv[0]);
		(void)ipc_write_blocking(sv[1], script, -1);
		_exit(0);
	}
	fp = open_memstream(&res->out, &res->len);
	if (ctl_conn_open(&c, sv[0], &err) == 0) {
		res->r = ctl_message_fetch(&c, "a@b.org", "Sent Items",
		    4000000000u, fp, &res->st, &text, &res->err);
		if (res->r == 0)
			strlcpy(res->text, text, sizeof(res->text));
		ctl_close(&c);
	}
	fclose(fp);
	CHECK_INT(waitpid(pid, &r, 0), pid);
	read_requests(sv[1], res);
	close(sv[1]);
}

TEST(test_fetch_slices)
{
	struct buf s = BUF_INIT;
	struct fetched res;
	uint8_t *msg;
	size_t i, big = CTL_SLICE_MAX + 88 * 1024;

	msg = malloc(big);
	CHECK(msg != NULL);
	if (msg == NULL)
		return;
	/* Every byte value, NULs and CRs included, comes out as it was. */
	for (i = 0; i < big; i++)
		msg[i] = (uint8_t)(i * 7 + i / 256);

	/* Three slices of sizes the store chose. */
	put_hello(&s, IPC_P_STORE);
	put_slice(&s, 1, 1000, msg, 400);
	put_slice(&s, 2, 1000, msg + 400, 400);
	put_slice(&s, 3, 1000, msg + 800, 200);
	fetch(&s, &res);
	CHECK_INT(res.r, 0);
	CHECK_INT(res.st, IPC_S_OK);
	CHECK_INT(res.len, 1000);
	CHECK(res.out != NULL && memcmp(res.out, msg, 1000) == 0);
	CHECK_INT(res.nreq, 3);
	CHECK(res.offsets[0] == 0 && res.offsets[1] == 400 &&
	    res.offsets[2] == 800);
	free(res.out);

	/* Full 512 KiB slices, as the store sends them. */
	buf_reset(&s);
	put_hello(&s, IPC_P_STORE);
	put_slice(&s, 1, big, msg, CTL_SLICE_MAX);
	put_slice(&s, 2, big, msg + CTL_SLICE_MAX, big - CTL_SLICE_MAX);
	fetch(&s, &res);
	CHECK_INT(res.r, 0);
	CHECK_INT(res.len, big);
	CHECK(res.out != NULL && memcmp(res.out, msg, big) == 0);
	CHECK_INT(res.nreq, 2);
	CHECK(res.offsets[1] == CTL_SLICE_MAX);
	free(res.out);

	/* An empty message takes one request. */
	buf_reset(&s);
	put_hello(&s, IPC_P_STORE);
	put_slice(&s, 1, 0, msg, 0);
	fetch(&s, &res);
	CHECK_INT(res.r, 0);
	CHECK_INT(res.st, IPC_S_OK);
	CHECK_INT(res.len, 0);
	CHECK_INT(res.nreq, 1);
	free(res.out);
	buf_clear(&s);
	free(msg);
}

TEST(test_fetch_refused)
{
	static const uint8_t msg[] = "Subject: x\r\n\r\nbody\r\n";
	struct buf s = BUF_INIT;
	struct fetched res;

	put_hello(&s, IPC_P_STORE);
	ipc_encode_reply(&s, IPC_T_MESSAGE_GET, 1, 0, IPC_S_NOTFOUND,
	    "no such message", NULL);
	fetch(&s, &res);
	CHECK_INT(res.r, 0);
	CHECK_INT(res.st, IPC_S_NOTFOUND);
	CHECK_STR(res.text, "no such message");
	CHECK_INT(res.len, 0);
	free(res.out);

	/* Refused after a slice: what came first has been written. */
	buf_reset(&s);
	put_hello(&s, IPC_P_STORE);
	put_slice(&s, 1, 20, msg, 12);
	ipc_encode_reply(&s, IPC_T_MESSAGE_GET, 2, 0, IPC_S_UNAVAIL,
	    "store unavailable", NULL);
	fetch(&s, &res);
	CHECK_INT(res.r, 0);
	CHECK_INT(res.st, IPC_S_UNAVAIL);
	CHECK_INT(res.len, 12);
	CHECK_INT(res.nreq, 2);
	CHECK(res.offsets[1] == 12);
	free(res.out);
	buf_clear(&s);
}

/* Expects the fetch to fail with msg after the store sent two slices. */
static void
fetch_fails(int lineno, uint64_t total1, uint32_t len1, uint64_t total2,
    uint32_t len2, const char *msg)
{
	static uint8_t data[CTL_SLICE_MAX + 1];
	struct buf s = BUF_INIT;
	struct fetched res;

	put_hello(&s, IPC_P_STORE);
	put_slice(&s, 1, total1, data, len1);
	put_slice(&s, 2, total2, data, len2);
	fetch(&s, &res);
	if (res.r != -1)
		harness_fail(__FILE__, lineno, "bad slice accepted");
	else if (strcmp(res.err, msg) != 0)
		harness_fail(__FILE__, lineno, "\"%s\" != \"%s\"", res.err,
		    msg);
	free(res.out);
	buf_clear(&s);
}

TEST(test_fetch_bad_slices)
{
	fetch_fails(__LINE__, 100, 0, 100, 0,
	    "malformed reply from the store (empty slice)");
	fetch_fails(__LINE__, 100, 50, 100, 0,
	    "malformed reply from the store (empty slice)");
	fetch_fails(__LINE__, 100, 101, 100, 0,
	    "malformed reply from the store (slice past the end)");
	fetch_fails(__LINE__, 100, 50, 100, 51,
	    "malformed reply from the store (slice past the end)");
	fetch_fails(__LINE__, 100, 50, 120, 50,
	    "the message changed while it was read");
	fetch_fails(__LINE__, CTL_SLICE_MAX + 10, CTL_SLICE_MAX + 1, 0, 0,
	    "malformed reply from the store (slice too large)");
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_size_parse),
	TEST_ENTRY(test_count_parse),
	TEST_ENTRY(test_arg_check),
	TEST_ENTRY(test_uid_parse),
	TEST_ENTRY(test_args_parse),
	TEST_ENTRY(test_args_dkim),
	TEST_ENTRY(test_args_mailbox_space),
	TEST_ENTRY(test_cmd_table),
	TEST_ENTRY(test_password_line),
	TEST_ENTRY(test_password_stdin),
	TEST_ENTRY(test_ipc_ok),
	TEST_ENTRY(test_ipc_refused),
	TEST_ENTRY(test_ipc_bad_replies),
	TEST_ENTRY(test_ipc_bad_hello),
	TEST_ENTRY(test_ipc_peer_refused),
	TEST_ENTRY(test_connect_errors),
	TEST_ENTRY(test_mailbox_print),
	TEST_ENTRY(test_message_print),
	TEST_ENTRY(test_fetch_slices),
	TEST_ENTRY(test_fetch_refused),
	TEST_ENTRY(test_fetch_bad_slices),
};

HARNESS_MAIN(tests)
