/* SPDX-License-Identifier: ISC */
/*
 * test_conf.c: bulwark.conf(5) as parse.c and conf.c read it: defaults,
 * every directive, macros, includes, errors with their file:line:col, the
 * error limit, and the canonical dump, which must load back to itself.
 */
/* unit-deps: master/parse.c master/conf.c */
#include "harness.h"
#include "master/conf.h"
#include "compat.h"
#include "log.h"

#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef BULWARK_DBDIR
#define BULWARK_DBDIR		"/var/db/bulwark"
#endif
#ifndef BULWARK_RUNDIR
#define BULWARK_RUNDIR		"/var/run/bulwark"
#endif

/* Loads text from memory; returns the conf or NULL with errs filled. */
static struct conf *
load(const char *text, struct conf_errors *errs)
{
	struct conf *conf = NULL;
	int rc;

	memset(errs, 0, sizeof(*errs));
	rc = conf_load_mem("t.conf", text, strlen(text), &conf, errs);
	CHECK_INT(rc, conf != NULL ? 0 : -1);
	return conf;
}

/* Loads text that must be valid. */
static struct conf *
load_ok(const char *text)
{
	struct conf_errors errs;
	struct conf *conf = load(text, &errs);
	size_t i;

	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "unexpected: %s\n", errs.msgs[i]);
	CHECK_INT(errs.n, 0);
	CHECK(conf != NULL);
	conf_errors_clear(&errs);
	return conf;
}

/* Checks that text fails with exactly the errors in want (NULL-ended). */
static void
check_errors(const char *text, const char *const *want)
{
	struct conf_errors errs;
	struct conf *conf = load(text, &errs);
	size_t i, n;

	CHECK(conf == NULL);
	for (i = 0; want[i] != NULL && i < errs.n; i++)
		CHECK_STR(errs.msgs[i], want[i]);
	for (n = i; n < errs.n; n++)
		fprintf(stderr, "extra error: %s\n", errs.msgs[n]);
	for (; want[i] != NULL; i++)
		fprintf(stderr, "missing error: %s\n", want[i]);
	CHECK_INT(errs.n, i);
	conf_free(&conf);
	conf_errors_clear(&errs);
}

static const char *
tmp_path(const char *name)
{
	static char path[4][PATH_MAX];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", harness_tmpdir(), name);
	return p;
}

static void
write_file(const char *name, const char *text)
{
	FILE *fp = fopen(tmp_path(name), "w");

	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	fputs(text, fp);
	fclose(fp);
}

static char *
dump(const struct conf *conf)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	CHECK(fp != NULL);
	conf_dump(conf, fp);
	fclose(fp);
	return text;
}

static const char full[] =
	"hostname \"mx.example.org\"\n"
	"data-dir \"/srv/db\"\n"
	"run-dir \"/run/bw\"\n"
	"pidfile \"/run/bw/m.pid\"\n"
	"chroot \"/var/lib/empty\"\n"
	"user \"_s\"\n"
	"worker-user \"_w\"\n"
	"admin socket \"/run/bw/admin.sock\" group \"adm\"\n"
	"tls certificate \"/etc/c.pem\"\n"
	"tls key \"/etc/k.pem\"\n"
	"listen imap on 127.0.0.1 port 143\n"
	"listen imap on ::0001 port 993 tls\n"
	"listen lmtp socket \"/run/bw/lmtp.sock\" owner \"postfix\" "
	    "group \"mail\" mode 0620\n"
	"listen http on * port 8080\n"
	"listen sieve on 192.0.2.1 port 4190\n"
	"storage {\n\tmap-size 4G\n}\n"
	"auth {\n\tfail-limit 7\n\tfail-window 2h\n\tblock-time 1d\n"
	    "\tthreads 3\n}\n"
	"imap {\n\tworkers 5\n\tcleartext-auth yes\n\tidle-timeout 31m\n"
	    "\tmax-line-length 8K\n\tmax-connections 42\n}\n"
	"lmtp { workers 3 }\n"
	"http {\n\tcleartext-auth yes\n\tidle-timeout 90s\n}\n"
	"sieve {\n\tmax-line-length 2M\n}\n"
	"lmtp2 = x\n"
	"log {\n\tverbose 2\n\ttrace \"imap,ipc\"\n}\n";

TEST(test_defaults)
{
	struct conf *conf = load_ok("");
	char host[256];
	int p;

	if (conf == NULL)
		return;
	if (gethostname(host, sizeof(host)) == 0 && host[0] != '\0')
		CHECK_STR(conf->hostname, host);
	CHECK_STR(conf->path, "t.conf");
	CHECK_STR(conf->data_dir, BULWARK_DBDIR);
	CHECK_STR(conf->run_dir, BULWARK_RUNDIR);
	CHECK_STR(conf->pidfile, BULWARK_RUNDIR "/bulwarkd.pid");
	CHECK_STR(conf->chroot, "/var/empty");
	CHECK_STR(conf->user, "_bulwark");
	CHECK_STR(conf->worker_user, "_bulwarkw");
	CHECK_STR(conf->admin_socket, BULWARK_RUNDIR "/admin.sock");
	CHECK(conf->admin_group == NULL);
	CHECK(conf->tls_cert == NULL);
	CHECK(conf->tls_key == NULL);
	CHECK_INT(conf->nlisteners, 0);
	CHECK_INT(conf->map_size, 1024 * 1024 * 1024);
	CHECK_INT(conf->auth.fail_limit, 5);
	CHECK_INT(conf->auth.fail_window, 300);
	CHECK_INT(conf->auth.block_time, 900);
	CHECK_INT(conf->auth.threads, 2);
	for (p = 0; p < CONF_PROTO_MAX; p++) {
		CHECK_INT(conf->proto[p].workers, p == CONF_PROTO_IMAP ? 2 : 1);
		CHECK(!conf->proto[p].cleartext_auth);
		CHECK_INT(conf->proto[p].idle_timeout, 1800);
		CHECK_INT(conf->proto[p].max_line, 65536);
		CHECK_INT(conf->proto[p].max_connections, 1000);
	}
	CHECK_INT(conf->verbose, 0);
	CHECK_INT(conf->trace, 0);
	conf_free(&conf);
	CHECK(conf == NULL);
	conf_free(&conf);
}

TEST(test_derived_defaults)
{
	struct conf *conf = load_ok("run-dir \"/run/x\"\n");

	if (conf == NULL)
		return;
	CHECK_STR(conf->pidfile, "/run/x/bulwarkd.pid");
	CHECK_STR(conf->admin_socket, "/run/x/admin.sock");
	conf_free(&conf);
}

TEST(test_full)
{
	struct conf *conf = load_ok(full);
	const struct conf_listener *l;
	uint32_t mask;

	if (conf == NULL)
		return;
	CHECK_STR(conf->hostname, "mx.example.org");
	CHECK_STR(conf->data_dir, "/srv/db");
	CHECK_STR(conf->run_dir, "/run/bw");
	CHECK_STR(conf->pidfile, "/run/bw/m.pid");
	CHECK_STR(conf->chroot, "/var/lib/empty");
	CHECK_STR(conf->user, "_s");
	CHECK_STR(conf->worker_user, "_w");
	CHECK_STR(conf->admin_socket, "/run/bw/admin.sock");
	CHECK_STR(conf->admin_group, "adm");
	CHECK_STR(conf->tls_cert, "/etc/c.pem");
	CHECK_STR(conf->tls_key, "/etc/k.pem");
	CHECK_INT(conf->nlisteners, 5);
	if (conf->nlisteners == 5) {
		l = &conf->listeners[0];
		CHECK_INT(l->proto, CONF_PROTO_IMAP);
		CHECK(!l->is_unix);
		CHECK_STR(l->addr, "127.0.0.1");
		CHECK_INT(l->port, 143);
		CHECK(!l->tls);
		CHECK_STR(l->where, "t.conf:11");
		l = &conf->listeners[1];
		CHECK_STR(l->addr, "::1");
		CHECK_INT(l->port, 993);
		CHECK(l->tls);
		l = &conf->listeners[2];
		CHECK_INT(l->proto, CONF_PROTO_LMTP);
		CHECK(l->is_unix);
		CHECK_STR(l->path, "/run/bw/lmtp.sock");
		CHECK_STR(l->owner, "postfix");
		CHECK_STR(l->group, "mail");
		CHECK_INT(l->mode, 0620);
		CHECK_STR(l->where, "t.conf:13");
		CHECK_STR(conf->listeners[3].addr, "*");
		CHECK_INT(conf->listeners[3].proto, CONF_PROTO_HTTP);
		CHECK_INT(conf->listeners[4].proto, CONF_PROTO_SIEVE);
	}
	CHECK_INT(conf->map_size, 4ULL << 30);
	CHECK_INT(conf->auth.fail_limit, 7);
	CHECK_INT(conf->auth.fail_window, 7200);
	CHECK_INT(conf->auth.block_time, 86400);
	CHECK_INT(conf->auth.threads, 3);
	CHECK_INT(conf->proto[CONF_PROTO_IMAP].workers, 5);
	CHECK(conf->proto[CONF_PROTO_IMAP].cleartext_auth);
	CHECK_INT(conf->proto[CONF_PROTO_IMAP].idle_timeout, 31 * 60);
	CHECK_INT(conf->proto[CONF_PROTO_IMAP].max_line, 8192);
	CHECK_INT(conf->proto[CONF_PROTO_IMAP].max_connections, 42);
	CHECK_INT(conf->proto[CONF_PROTO_LMTP].workers, 3);
	CHECK(conf->proto[CONF_PROTO_HTTP].cleartext_auth);
	CHECK_INT(conf->proto[CONF_PROTO_HTTP].idle_timeout, 90);
	CHECK_INT(conf->proto[CONF_PROTO_HTTP].workers, 1);
	CHECK_INT(conf->proto[CONF_PROTO_SIEVE].max_line, 2 << 20);
	CHECK(!conf->proto[CONF_PROTO_SIEVE].cleartext_auth);
	CHECK_INT(conf->verbose, 2);
	CHECK_INT(log_trace_parse("imap,ipc", &mask), 0);
	CHECK_INT(conf->trace, mask);
	conf_free(&conf);
}

TEST(test_values)
{
	struct conf *conf = load_ok(
	    "storage { map-size 1048576 }\n"
	    "auth { fail-window 1d\nblock-time 604800 }\n"
	    "imap { max-line-length 16M }\n"
	    "http { idle-timeout 10s }\n"
	    "sieve { max-connections 100000 }\n"
	    "log { trace \"all\" }\n");

	if (conf == NULL)
		return;
	CHECK_INT(conf->map_size, 1 << 20);
	CHECK_INT(conf->auth.fail_window, 86400);
	CHECK_INT(conf->auth.block_time, 7 * 86400);
	CHECK_INT(conf->proto[CONF_PROTO_IMAP].max_line, 16 << 20);
	CHECK_INT(conf->proto[CONF_PROTO_HTTP].idle_timeout, 10);
	CHECK_INT(conf->proto[CONF_PROTO_SIEVE].max_connections, 100000);
	CHECK_INT(conf->trace, UINT32_MAX);
	conf_free(&conf);
}

TEST(test_value_errors)
{
	static const struct {
		const char	*text;
		const char	*want;
	} cases[] = {
		{ "storage { map-size 1048575 }",
		  "t.conf:1:20: map-size 1048575 out of range 1M-16T" },
		{ "storage { map-size 17T }",
		  "t.conf:1:20: map-size 17T out of range 1M-16T" },
		{ "storage { map-size 99999999999999999999 }",
		  "t.conf:1:20: map-size 99999999999999999999 out of range "
		  "1M-16T" },
		{ "storage { map-size 18014398509481984K }",
		  "t.conf:1:20: map-size 18014398509481984K out of range "
		  "1M-16T" },
		{ "storage { map-size 1KB }",
		  "t.conf:1:20: expected a size (a number with K, M, G or T), "
		  "got \"1KB\"" },
		{ "storage { map-size +1M }",
		  "t.conf:1:20: expected a size (a number with K, M, G or T), "
		  "got \"+1M\"" },
		{ "auth {\nblock-time 1.5h }",
		  "t.conf:2:12: expected a duration (a number with s, m, h or "
		  "d), got \"1.5h\"" },
		{ "auth { threads 0x10 }",
		  "t.conf:1:16: expected a number, got \"0x10\"" },
		{ "imap { workers \"\" }",
		  "t.conf:1:16: expected a number, got \"\"" },
		{ "imap { cleartext-auth true }",
		  "t.conf:1:23: expected \"yes\" or \"no\", got \"true\"" },
		{ "lmtp { workers }",
		  "t.conf:1:16: expected a number after \"workers\"" },
		{ "http { workers 1 = }",
		  "t.conf:1:18: expected end of line, got \"=\"" },
		{ "log { verbose -1 }",
		  "t.conf:1:15: expected a number, got \"-1\"" },
		{ "log { trace \"imap,\" }",
		  "t.conf:1:13: trace \"imap,\" names an unknown category" },
		{ "hostname \"a_b.example\"",
		  "t.conf:1:10: hostname \"a_b.example\" is not a valid host "
		  "name" },
		{ "user \"\"",
		  "t.conf:1:6: user \"\" is not a valid name" },
	};
	const char *want[2] = { NULL, NULL };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		want[0] = cases[i].want;
		check_errors(cases[i].text, want);
	}
}

TEST(test_macros)
{
	struct conf *conf = load_ok(
	    "dir = \"/var/db/m\"\n"
	    "other = $dir\n"
	    "addr = 127.0.0.1\n"
	    "p=10143\n"
	    "yes_ = yes\n"
	    "data-dir $other\n"
	    "listen imap on $addr port $p\n"
	    "imap { cleartext-auth $yes_ }\n"
	    "run-dir \"/run/$dir\"\n");

	if (conf == NULL)
		return;
	CHECK_STR(conf->data_dir, "/var/db/m");
	CHECK_INT(conf->nlisteners, 1);
	if (conf->nlisteners == 1) {
		CHECK_STR(conf->listeners[0].addr, "127.0.0.1");
		CHECK_INT(conf->listeners[0].port, 10143);
	}
	CHECK(conf->proto[CONF_PROTO_IMAP].cleartext_auth);
	/* No expansion inside quotes. */
	CHECK_STR(conf->run_dir, "/run/$dir");
	conf_free(&conf);
}

TEST(test_macro_errors)
{
	static const char *const want[] = {
		"t.conf:2:1: macro \"a\" already defined at t.conf:1:1",
		"t.conf:3:10: undefined macro \"nope\"",
		"t.conf:4:1: invalid macro name \"9a\": use letters, digits "
		    "and _",
		"t.conf:5:4: expected a value after \"b =\"",
		"t.conf:6:7: expected end of line, got \"y\"",
		"t.conf:7:1: expected a macro name, got \"q\"",
		"t.conf:8:10: expected a macro name after \"$\"",
		/* A macro value is never a keyword. */
		"t.conf:10:1: expected a directive, got \"hostname\"",
		NULL
	};

	check_errors(
	    "a = \"/x\"\n"
	    "a = \"/y\"\n"
	    "data-dir $nope\n"
	    "9a = 1\n"
	    "b =\n"
	    "c = x y\n"
	    "\"q\" = 1\n"
	    "data-dir $\n"
	    "kw = hostname\n"
	    "$kw \"x.example\"\n", want);
}

TEST(test_include)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *conf = NULL;

	write_file("main.conf",
	    "lo = 127.0.0.1\n"
	    "include \"sub/one.conf\"\n"
	    "listen imap on $lo port $port\n");
	CHECK(mkdir(tmp_path("sub"), 0700) == 0);
	write_file("sub/one.conf",
	    "port = 143\n"
	    "hostname \"inc.example\"\n"
	    "include \"two.conf\"\n");
	write_file("sub/two.conf", "listen lmtp on $lo port 24\n");
	CHECK_INT(conf_load(tmp_path("main.conf"), &conf, &errs), 0);
	CHECK_INT(errs.n, 0);
	if (conf == NULL)
		return;
	CHECK_STR(conf->hostname, "inc.example");
	CHECK_INT(conf->nlisteners, 2);
	if (conf->nlisteners == 2) {
		CHECK_INT(conf->listeners[0].proto, CONF_PROTO_LMTP);
		CHECK_STR(conf->listeners[0].where, tmp_path("sub/two.conf:1"));
		CHECK_INT(conf->listeners[1].port, 143);
		CHECK_STR(conf->listeners[1].where, tmp_path("main.conf:3"));
	}
	conf_free(&conf);
}

TEST(test_include_errors)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *conf = NULL;
	char name[32], text[64], want[PATH_MAX + 64];
	int i;

	write_file("loop1.conf", "include \"loop2.conf\"\n");
	write_file("loop2.conf", "\n include \"loop1.conf\"\n");
	CHECK_INT(conf_load(tmp_path("loop1.conf"), &conf, &errs), -1);
	CHECK(conf == NULL);
	CHECK_INT(errs.n, 1);
	snprintf(want, sizeof(want), "%s:2:10: include loop: \"%s\" is "
	    "already being read", tmp_path("loop2.conf"),
	    tmp_path("loop1.conf"));
	if (errs.n == 1)
		CHECK_STR(errs.msgs[0], want);
	conf_errors_clear(&errs);
	CHECK_INT(errs.n, 0);

	/* The main file and 8 nested includes are fine, a 9th is not. */
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "deep%d.conf", i);
		snprintf(text, sizeof(text), "include \"deep%d.conf\"\n",
		    i + 1);
		write_file(name, i < 9 ? text : "user \"_deep\"\n");
	}
	write_file("deep8.conf", "user \"_deep\"\n");
	CHECK_INT(conf_load(tmp_path("deep0.conf"), &conf, &errs), 0);
	if (conf != NULL)
		CHECK_STR(conf->user, "_deep");
	conf_free(&conf);
	write_file("deep8.conf", "include \"deep9.conf\"\n");
	CHECK_INT(conf_load(tmp_path("deep0.conf"), &conf, &errs), -1);
	snprintf(want, sizeof(want), "%s:1:9: include nested more than 8 deep",
	    tmp_path("deep8.conf"));
	CHECK_INT(errs.n, 1);
	if (errs.n == 1)
		CHECK_STR(errs.msgs[0], want);
	conf_errors_clear(&errs);

	CHECK_INT(conf_load(tmp_path("none.conf"), &conf, &errs), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory",
	    tmp_path("none.conf"));
	CHECK_INT(errs.n, 1);
	if (errs.n == 1)
		CHECK_STR(errs.msgs[0], want);
	conf_errors_clear(&errs);
	CHECK_INT(conf_load(harness_tmpdir(), &conf, &errs), -1);
	CHECK_INT(errs.n, 1);
	conf_errors_clear(&errs);

	/* From memory nothing is read but the buffer. */
	static const char *const mem[] = {
		"t.conf:1:9: include is not allowed in a configuration read "
		    "from memory",
		NULL
	};
	check_errors("include \"/etc/passwd\"\n", mem);
}

TEST(test_syntax_errors)
{
	static const char *const want[] = {
		"t.conf:1:1: unknown directive \"hostnam\"",
		"t.conf:2:10: unterminated quoted string",
		"t.conf:3:9: unknown escape in quoted string: only \\\" and "
		    "\\\\ are allowed",
		"t.conf:4:1: unknown directive \"bogus\"",
		"t.conf:8:2: unknown option \"worker\" in section \"imap\"",
		"t.conf:10:8: option \"cleartext-auth\" does not apply to "
		    "section \"lmtp\"",
		"t.conf:10:28: expected end of line after \"}\", got \"x\"",
		"t.conf:11:1: unexpected \"}\"",
		"t.conf:12:5: expected \"{\" after \"auth\"",
		"t.conf:13:4: expected \"certificate\" or \"key\" after "
		    "\"tls\", got end of line",
		"t.conf:14:8: unexpected character 0x01",
		"t.conf:15:8: control character in quoted string",
		"t.conf:16:17: expected end of line after \"user\", got \"{\"",
		"t.conf:18:1: expected a section name before \"{\"",
		"t.conf:20:1: expected \"}\" to close \"log\" at t.conf:19:1",
		NULL
	};

	check_errors(
	    "hostnam \"x\"\n"			/* 1 */
	    "data-dir \"/x\n"			/* 2 */
	    "pidfile \"/a\\b\"\n"			/* 3 */
	    "bogus {\n\tworkers 1\n}\n"		/* 4-6 */
	    " imap {\n\tworker 1\n}\n"		/* 7-9 */
	    "lmtp {\tcleartext-auth no } x\n"	/* 10 */
	    "}\n"					/* 11 */
	    "auth\n"					/* 12 */
	    "tls\n"					/* 13 */
	    "chroot \x01\n"				/* 14 */
	    "chroot \"\x01\"\n"			/* 15 */
	    "user \"_bulwark\" {\n}\n"		/* 16-17 */
	    "{ }\n"					/* 18 */
	    "log {\n", want);				/* 19 */
}

TEST(test_validation)
{
	static const char *const want[] = {
		"t.conf:2:16: expected an IPv4 or IPv6 address or \"*\", got "
		    "\"::g\"",
		"t.conf:7:10: data-dir \"db\" is not an absolute path",
		"t.conf:5:1: \"tls key\" without \"tls certificate\"",
		"t.conf:1:1: a tls listener needs \"tls certificate\" and "
		    "\"tls key\"",
		"t.conf:3:1: listener on 127.0.0.1 port 993 overlaps the one "
		    "on * at t.conf:1:1",
		"t.conf:6:1: duplicate listener on socket \"/s\", first at "
		    "t.conf:4:1",
		"t.conf:8:9: workers 0 disables sieve, which has a listener at "
		    "t.conf:3:1",
		NULL
	};

	check_errors(
	    "listen imap on * port 993 tls\n"
	    "listen imap on ::g port 143\n"
	    "listen sieve on 127.0.0.1 port 993\n"
	    "listen lmtp socket \"/s\"\n"
	    "tls key \"/k\"\n"
	    "listen lmtp socket \"/s\" mode 0600\n"
	    "data-dir db\n"
	    "sieve { workers 0 }\n"
	    "listen sieve on ::1 port 4190\n", want);
}

TEST(test_limits)
{
	struct conf_errors errs;
	struct conf *conf;
	char text[8192], line[64];
	size_t len = 0;
	int i;

	/* At most CONF_ERRORS_MAX errors, then one line to say so. */
	for (i = 0; i < 150; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "bogus\n");
	conf = load(text, &errs);
	CHECK(conf == NULL);
	CHECK_INT(errs.n, CONF_ERRORS_MAX + 1);
	if (errs.n == CONF_ERRORS_MAX + 1) {
		CHECK_STR(errs.msgs[99], "t.conf:100:1: unknown directive "
		    "\"bogus\"");
		CHECK_STR(errs.msgs[100], "t.conf:101:1: too many errors, "
		    "giving up");
	}
	conf_errors_clear(&errs);

	/* At most 64 listeners. */
	for (i = 0, len = 0; i < 65; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "listen imap on 127.0.0.1 port %d\n", 1000 + i);
	conf = load(text, &errs);
	CHECK_INT(errs.n, 1);
	if (errs.n == 1)
		CHECK_STR(errs.msgs[0], "t.conf:65:1: more than 64 listeners");
	conf_errors_clear(&errs);
	snprintf(line, sizeof(line), "listen imap on 127.0.0.1 port %d\n",
	    1064);
	text[len - strlen(line)] = '\0';
	conf = load(text, &errs);
	CHECK(conf != NULL);
	if (conf != NULL)
		CHECK_INT(conf->nlisteners, 64);
	conf_free(&conf);
	conf_errors_clear(&errs);

	/* At most 16 words in a directive. */
	static const char *const words[] = {
		"t.conf:1:73: more than 16 words in one directive",
		NULL
	};
	check_errors("listen imap on 127.0.0.1 port 1 tls tls tls tls tls "
	    "tls tls tls tls tls tls tls tls\n", words);

	/* Deep blocks are skipped without recursion. */
	static const char *const deep[] = {
		"t.conf:1:1: expected a section name before \"{\"",
		"t.conf:1:9: blocks nested more than 8 deep",
		"t.conf:2:1: unknown directive \"bogus\"",
		NULL
	};
	char *braces = malloc(400001);

	CHECK(braces != NULL);
	if (braces != NULL) {
		memset(braces, '{', 200000);
		memset(braces + 200000, '}', 200000);
		braces[400000] = '\0';
		conf = NULL;
		memset(&errs, 0, sizeof(errs));
		CHECK_INT(conf_load_mem("t.conf", braces, 400000, &conf, &errs),
		    -1);
		CHECK_INT(errs.n, 2);
		conf_errors_clear(&errs);
		free(braces);
	}
	check_errors("{{{{{{{{{{}}}}}}}}}}\nbogus\n", deep);

	/* A NUL byte is a bad character, not the end of the text. */
	conf = NULL;
	memset(&errs, 0, sizeof(errs));
	CHECK_INT(conf_load_mem("t.conf", "user \"_a\"\n\0\nbogus\n", 18,
	    &conf, &errs), -1);
	CHECK_INT(errs.n, 2);
	if (errs.n == 2) {
		CHECK_STR(errs.msgs[0], "t.conf:2:1: unexpected character "
		    "0x00");
		CHECK_STR(errs.msgs[1], "t.conf:3:1: unknown directive "
		    "\"bogus\"");
	}
	conf_errors_clear(&errs);
}

TEST(test_dump_escapes)
{
	struct conf *conf = load_ok("chroot \"/a \\\"b\\\" \\\\c\"\r\n"
	    "hostname h.example\r\n");
	char *text;

	if (conf == NULL)
		return;
	CHECK_STR(conf->chroot, "/a \"b\" \\c");
	text = dump(conf);
	CHECK(strstr(text, "chroot \"/a \\\"b\\\" \\\\c\"\n") != NULL);
	CHECK(strstr(text, "hostname \"h.example\"\n") != NULL);
	CHECK(strstr(text, "# tls certificate not set\n") != NULL);
	conf_free(&conf);
	conf = load_ok(text);
	if (conf != NULL)
		CHECK_STR(conf->chroot, "/a \"b\" \\c");
	conf_free(&conf);
	free(text);
}

TEST(test_dump_round_trip)
{
	struct conf *conf = load_ok(full), *again;
	char *text, *text2;

	if (conf == NULL)
		return;
	text = dump(conf);
	CHECK(strstr(text, "listen imap on ::1 port 993 tls\n") != NULL);
	CHECK(strstr(text, "listen lmtp socket \"/run/bw/lmtp.sock\" owner "
	    "\"postfix\" group \"mail\" mode 0620\n") != NULL);
	CHECK(strstr(text, "\tmap-size 4G\n") != NULL);
	CHECK(strstr(text, "\tfail-window 2h\n") != NULL);
	CHECK(strstr(text, "\tblock-time 1d\n") != NULL);
	CHECK(strstr(text, "\ttrace \"imap,ipc\"\n") != NULL);
	CHECK(strstr(text, "lmtp {\n\tworkers 3\n\tidle-timeout") != NULL);
	again = load_ok(text);
	if (again != NULL) {
		text2 = dump(again);
		CHECK_STR(text2, text);
		free(text2);
	}
	conf_free(&again);
	free(text);
	conf_free(&conf);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_defaults),
	TEST_ENTRY(test_derived_defaults),
	TEST_ENTRY(test_full),
	TEST_ENTRY(test_values),
	TEST_ENTRY(test_value_errors),
	TEST_ENTRY(test_macros),
	TEST_ENTRY(test_macro_errors),
	TEST_ENTRY(test_include),
	TEST_ENTRY(test_include_errors),
	TEST_ENTRY(test_syntax_errors),
	TEST_ENTRY(test_validation),
	TEST_ENTRY(test_limits),
	TEST_ENTRY(test_dump_escapes),
	TEST_ENTRY(test_dump_round_trip),
};

HARNESS_MAIN(tests)
