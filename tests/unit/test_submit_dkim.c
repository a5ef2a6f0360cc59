/* SPDX-License-Identifier: ISC */
/*
 * test_submit_dkim.c: storaged's DKIM keys and the choice of the one that
 * signs a relayed message (store/submit_dkim.c): keys refused whole (bad
 * PEM, bad selector or domain); the domain of the first address of the
 * first From field decides, in any case, exactly (no parent domain), not
 * a display name that looks like an address, not a second From field, not
 * the body; the field is dkim_sign's for the key chosen, appended after
 * what the buffer held, with LF line ends for a message in Unix form;
 * nothing for a message without a key, nor when signing fails.
 */
/* unit-deps: store/submit_dkim.c */
#include "harness.h"
#include "buf.h"
#include "dkim.h"

#include "store/submit_dkim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 8463 A.1's Ed25519 key: its signatures are deterministic. */
static const char ed_pem[] =
"-----BEGIN PRIVATE KEY-----\n"
"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
"-----END PRIVATE KEY-----\n";

#define T0	1700000000

/* d with Ed25519 keys for example.org (s=one) and example.net (s=two). */
static void
two_keys(struct submit_dkim *d)
{
	char err[256];

	memset(d, 0, sizeof(*d));
	CHECK_INT(submit_dkim_add(d, "Example.ORG", "one", ed_pem,
	    strlen(ed_pem), err, sizeof(err)), 0);
	CHECK_INT(submit_dkim_add(d, "example.net", "two", ed_pem,
	    strlen(ed_pem), err, sizeof(err)), 0);
	CHECK_INT(d->n, 2);
}

/* The selector of the key chosen for msg, or "none". */
static const char *
chosen(const struct submit_dkim *d, const char *msg)
{
	const struct submit_dkim_key *k;

	k = submit_dkim_find(d, msg, strlen(msg));
	return k != NULL ? k->selector : "none";
}

TEST(add_refused)
{
	struct submit_dkim d;
	char err[256];

	memset(&d, 0, sizeof(d));
	err[0] = '\0';
	CHECK_INT(submit_dkim_add(&d, "example.org", "s", "not a key", 9, err,
	    sizeof(err)), -1);
	CHECK(err[0] != '\0');
	/* The first signature checks what the relay will use. */
	err[0] = '\0';
	CHECK_INT(submit_dkim_add(&d, "example.org", "bad selector", ed_pem,
	    strlen(ed_pem), err, sizeof(err)), -1);
	CHECK(err[0] != '\0');
	CHECK_INT(submit_dkim_add(&d, "-example.org", "s", ed_pem,
	    strlen(ed_pem), err, sizeof(err)), -1);
	CHECK_INT(d.n, 0);
	CHECK(d.v == NULL);
	CHECK_INT(submit_dkim_add(&d, "example.org", "s", ed_pem,
	    strlen(ed_pem), err, sizeof(err)), 0);
	CHECK_INT(d.n, 1);
	CHECK_STR(d.v[0].domain, "example.org");
	CHECK_STR(d.v[0].selector, "s");
	CHECK_INT(dkim_key_alg(d.v[0].key), DKIM_ED25519_SHA256);
	submit_dkim_clear(&d);
	CHECK_INT(d.n, 0);
	CHECK(d.v == NULL);
	/* Twice is harmless. */
	submit_dkim_clear(&d);
}

TEST(find_from_domain)
{
	struct submit_dkim d, none;

	two_keys(&d);
	/* In any case, on either side. */
	CHECK_STR(chosen(&d, "From: Alice <alice@example.org>\r\n\r\nhi\r\n"),
	    "one");
	CHECK_STR(chosen(&d, "Subject: x\r\nfrom: bob@EXAMPLE.NET\r\n\r\n"),
	    "two");
	/* The first address decides, even without a key of its own. */
	CHECK_STR(chosen(&d, "From: a@other.example, b@example.org\r\n\r\n"),
	    "none");
	CHECK_STR(chosen(&d, "From: b@example.net, a@example.org\r\n\r\n"),
	    "two");
	/* An empty group holds no address; the mailbox after it does. */
	CHECK_STR(chosen(&d, "From: nobody:;, c@example.org\r\n\r\n"),
	    "one");
	/* A display name is not the address. */
	CHECK_STR(chosen(&d, "From: \"bob@example.org\" <bob@other.example>"
	    "\r\n\r\n"), "none");
	/* A folded field. */
	CHECK_STR(chosen(&d, "From: Alice\r\n <alice@example.net>\r\n\r\n"),
	    "two");
	/* Only the first From field. */
	CHECK_STR(chosen(&d, "From: x@other.example\r\nFrom: y@example.org"
	    "\r\n\r\n"), "none");
	/* The exact domain: neither a subdomain nor a parent. */
	CHECK_STR(chosen(&d, "From: a@mail.example.org\r\n\r\n"), "none");
	CHECK_STR(chosen(&d, "From: a@org\r\n\r\n"), "none");
	CHECK_STR(chosen(&d, "From: a@example.org.evil\r\n\r\n"), "none");
	/* No From in the header: one in the body does not count. */
	CHECK_STR(chosen(&d, "To: a@example.org\r\n\r\n"
	    "From: a@example.org\r\n"), "none");
	CHECK_STR(chosen(&d, "From: nobody\r\n\r\n"), "none");
	CHECK_STR(chosen(&d, "From:\r\n\r\n"), "none");
	CHECK(submit_dkim_find(&d, NULL, 0) == NULL);
	/* Unix line ends. */
	CHECK_STR(chosen(&d, "From: a@example.org\n\nhi\n"), "one");
	memset(&none, 0, sizeof(none));
	CHECK_STR(chosen(&none, "From: a@example.org\r\n\r\n"), "none");
	submit_dkim_clear(&d);
}

TEST(sign)
{
	static const char msg[] = "From: Alice <alice@example.org>\r\n"
	    "To: bob@example.com\r\nBcc: hidden@example.com\r\n"
	    "Subject: hi\r\n\r\nHello.\r\n";
	static const char unix_msg[] = "From: Alice <alice@example.org>\n"
	    "Subject: hi\n\nHello.\n";
	const struct submit_dkim_key *k;
	struct submit_dkim d;
	struct dkim_key *key;
	struct buf out = BUF_INIT, want = BUF_INIT;
	char err[256];
	size_t i;

	two_keys(&d);
	key = dkim_key_load(ed_pem, strlen(ed_pem), err, sizeof(err));
	CHECK(key != NULL);
	if (key == NULL)
		return;
	/* The field dkim_sign makes for d= as configured, after "x". */
	buf_append(&out, "x", 1);
	k = NULL;
	CHECK_INT(submit_dkim_sign(&d, msg, strlen(msg), T0, &out, &k, err,
	    sizeof(err)), 1);
	CHECK(k == &d.v[0]);
	buf_append(&want, "x", 1);
	CHECK_INT(dkim_sign(key, "Example.ORG", "one", msg, strlen(msg), T0,
	    &want, err, sizeof(err)), 0);
	CHECK_INT(out.len, want.len);
	CHECK(out.len == want.len && memcmp(out.data, want.data, out.len) == 0);
	buf_append(&out, "", 1);
	CHECK(strncmp((char *)out.data, "xDKIM-Signature: v=1; "
	    "a=ed25519-sha256;", 39) == 0);
	CHECK(strstr((char *)out.data, " d=Example.ORG;") != NULL);
	CHECK(strstr((char *)out.data, " s=one;") != NULL);
	CHECK(strstr((char *)out.data, " t=1700000000;") != NULL);
	/* Bcc is not signed: the relay takes it out. */
	CHECK(strstr((char *)out.data, "bcc") == NULL);
	CHECK(out.len > 3 && memcmp(out.data + out.len - 3, "\r\n", 2) == 0);

	/* A message in Unix form: the same field with LF line ends. */
	buf_reset(&out);
	buf_reset(&want);
	CHECK_INT(submit_dkim_sign(&d, unix_msg, strlen(unix_msg), T0, &out,
	    NULL, err, sizeof(err)), 1);
	CHECK_INT(dkim_sign(key, "Example.ORG", "one", unix_msg,
	    strlen(unix_msg), T0, &want, err, sizeof(err)), 0);
	CHECK(memchr(out.data, '\r', out.len) == NULL);
	for (i = 0; i < want.len; i++)
		if (want.data[i] == '\r') {
			memmove(want.data + i, want.data + i + 1,
			    want.len - i - 1);
			want.len--;
		}
	CHECK(out.len == want.len && memcmp(out.data, want.data, out.len) == 0);

	/* No key for its From domain: nothing. */
	buf_reset(&out);
	buf_append(&out, "x", 1);
	k = NULL;
	CHECK_INT(submit_dkim_sign(&d, "From: a@other.example\r\n\r\n", 25, T0,
	    &out, &k, err, sizeof(err)), 0);
	CHECK_INT(out.len, 1);
	CHECK(k == NULL);
	/* Signing fails (a time before 1970): nothing, and why. */
	err[0] = '\0';
	CHECK_INT(submit_dkim_sign(&d, msg, strlen(msg), (time_t)-1, &out, &k,
	    err, sizeof(err)), -1);
	CHECK_INT(out.len, 1);
	CHECK(err[0] != '\0');
	buf_clear(&out);
	buf_clear(&want);
	dkim_key_free(&key);
	submit_dkim_clear(&d);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(add_refused),
	TEST_ENTRY(find_from_domain),
	TEST_ENTRY(sign),
};

HARNESS_MAIN(tests)
