/* SPDX-License-Identifier: ISC */
/*
 * test_lmtp_push.c: the pure parts of lmtpd's JMAP push client: https URLs
 * (hosts by name, IPv4 and bracketed IPv6, ports, paths, refusals), the
 * filter of addresses a push may connect to (RFC 8620 8.6), and HTTP
 * status lines (RFC 9112 4).
 */
/* unit-deps: workers/lmtpd/lmtp_push.c */
#include "harness.h"
#include "workers/lmtpd/lmtp_push.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

TEST(test_url_ok)
{
	struct lmtp_push_url u;
	const char *why;

	CHECK_INT(lmtp_push_url_parse("https://push.example.net/a/b?c=d#frag",
	    &u, &why), 0);
	CHECK_STR(u.host, "push.example.net");
	CHECK_INT(u.port, 443);
	CHECK_STR(u.path, "/a/b?c=d");
	CHECK(!u.literal && !u.v6);
	CHECK_INT(lmtp_push_url_parse("HTTPS://h.example:8443", &u, &why), 0);
	CHECK_STR(u.host, "h.example");
	CHECK_INT(u.port, 8443);
	CHECK_STR(u.path, "/");
	CHECK_INT(lmtp_push_url_parse("https://h?x=1", &u, &why), 0);
	CHECK_STR(u.path, "/?x=1");
	CHECK_INT(lmtp_push_url_parse("https://192.0.2.1:1/", &u, &why), 0);
	CHECK_STR(u.host, "192.0.2.1");
	CHECK(u.literal && !u.v6);
	CHECK_INT(u.port, 1);
	CHECK_INT(lmtp_push_url_parse("https://[2001:db8::1]:65535/p", &u,
	    &why), 0);
	CHECK_STR(u.host, "2001:db8::1");
	CHECK(u.literal && u.v6);
	CHECK_INT(u.port, 65535);
	CHECK_STR(u.path, "/p");
	CHECK_INT(lmtp_push_url_parse("https://[::1]", &u, &why), 0);
	CHECK_STR(u.host, "::1");
	CHECK_STR(u.path, "/");
}

TEST(test_url_bad)
{
	static const char *const bad[] = {
		"http://h/", "https://", "https:///x", "https://:443/",
		"https://user@h/", "https://u:p@h/", "https://h:0/",
		"https://h:65536/", "https://h:/", "https://h:44a/",
		"https://h:-1/", "https://[::1/", "https://[h]/",
		"https://[::1]x/", "https://h_x/", "https://h%2e/",
		"https://-h/", "https://h/a b", "https://h/\x7f",
		"ftp://h/", "https://h:99999999999999999999/",
	};
	struct lmtp_push_url u;
	const char *why;
	char big[LMTP_PUSH_PATH_MAX + 32];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (lmtp_push_url_parse(bad[i], &u, &why) != -1)
			harness_fail(__FILE__, __LINE__, "accepted \"%s\"",
			    bad[i]);
	memcpy(big, "https://h/", 10);
	memset(big + 10, 'a', sizeof(big) - 11);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(lmtp_push_url_parse(big, &u, &why), -1);
	CHECK_STR(why, "bad path");
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "https://", 8);
	CHECK_INT(lmtp_push_url_parse(big, &u, &why), -1);
	CHECK_STR(why, "bad host");
}

static int
v4(const char *a, bool allow)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, a, &sin.sin_addr) != 1)
		return -1;
	return lmtp_push_addr_ok((struct sockaddr *)&sin, allow);
}

static int
v6(const char *a, bool allow)
{
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, a, &sin6.sin6_addr) != 1)
		return -1;
	return lmtp_push_addr_ok((struct sockaddr *)&sin6, allow);
}

TEST(test_addr_filter)
{
	static const char *const bad4[] = {
		"127.0.0.1", "127.255.255.254", "0.0.0.0", "10.1.2.3",
		"172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254",
		"100.64.0.1", "224.0.0.1", "239.255.255.250", "255.255.255.255",
		"240.0.0.1", "192.0.2.5", "198.51.100.1", "203.0.113.9",
		"198.18.0.1", "192.0.0.8",
	};
	static const char *const good4[] = {
		"8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1",
		"100.63.255.255", "100.128.0.1", "11.0.0.1", "193.0.2.1",
	};
	static const char *const bad6[] = {
		"::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1",
		"ff02::1", "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"64:ff9b::192.168.0.1", "::127.0.0.1", "100::1", "fec0::1",
	};
	static const char *const good6[] = {
		"2001:4860:4860::8888", "2a00:1450::1", "::ffff:8.8.8.8",
		"64:ff9b::8.8.4.4", "fe00::1",
	};
	struct sockaddr sa;
	size_t i;

	for (i = 0; i < sizeof(bad4) / sizeof(bad4[0]); i++) {
		if (v4(bad4[i], false) != 0)
			harness_fail(__FILE__, __LINE__, "allowed %s", bad4[i]);
		CHECK_INT(v4(bad4[i], true), 1);
	}
	for (i = 0; i < sizeof(good4) / sizeof(good4[0]); i++)
		if (v4(good4[i], false) != 1)
			harness_fail(__FILE__, __LINE__, "refused %s",
			    good4[i]);
	for (i = 0; i < sizeof(bad6) / sizeof(bad6[0]); i++) {
		if (v6(bad6[i], false) != 0)
			harness_fail(__FILE__, __LINE__, "allowed %s", bad6[i]);
		CHECK_INT(v6(bad6[i], true), 1);
	}
	for (i = 0; i < sizeof(good6) / sizeof(good6[0]); i++)
		if (v6(good6[i], false) != 1)
			harness_fail(__FILE__, __LINE__, "refused %s",
			    good6[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	CHECK(!lmtp_push_addr_ok(&sa, true));
}

TEST(test_status_line)
{
#define SL(s)	lmtp_push_status_line(s, strlen(s))
	CHECK_INT(SL("HTTP/1.1 201 Created"), 201);
	CHECK_INT(SL("HTTP/1.0 410 Gone"), 410);
	CHECK_INT(SL("HTTP/1.1 404 "), 404);
	CHECK_INT(SL("HTTP/1.1 204"), 204);
	CHECK_INT(SL("HTTP/1.1 100 Continue"), 100);
	CHECK_INT(SL("HTTP/1.1 099 x"), -1);
	CHECK_INT(SL("HTTP/1.1 600 x"), -1);
	CHECK_INT(SL("HTTP/2 200 OK"), -1);
	CHECK_INT(SL("HTTP/1.1  200 OK"), -1);
	CHECK_INT(SL("HTTP/1.1 20 OK"), -1);
	CHECK_INT(SL("HTTP/1.1 2000 OK"), -1);
	CHECK_INT(SL("http/1.1 200 OK"), -1);
	CHECK_INT(SL("HTTP/1.x 200 OK"), -1);
	CHECK_INT(SL(""), -1);
	CHECK_INT(lmtp_push_status_line("HTTP/1.1 200 OK", 11), -1);
#undef SL
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_url_ok),
	TEST_ENTRY(test_url_bad),
	TEST_ENTRY(test_addr_filter),
	TEST_ENTRY(test_status_line),
};

HARNESS_MAIN(tests)
