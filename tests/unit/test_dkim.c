/* SPDX-License-Identifier: ISC */
/*
 * test_dkim.c: the DKIM signer (lib/dkim.c).  The relaxed
 * canonicalizations against RFC 6376 3.4.5 and edge cases; key loading
 * and its refusals; public records against RFC 8463 A.2; the signed
 * message of RFC 8463 A.3, whose two signatures must verify over our
 * canonicalization; the layout of the field we write (folding, h= with
 * oversigning, tags); and whole signatures, which are deterministic for
 * Ed25519 and RSA PKCS#1 v1.5, against values checked by dkimpy.
 */
#include "harness.h"
#include "dkim.h"
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

/* RFC 8463 A.1: the RSA key (1024 bits) of the example. */
static const char rsa_pem[] =
"-----BEGIN RSA PRIVATE KEY-----\n"
"MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
"Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
"KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
"AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
"6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
"zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
"6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
"uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
"WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
"WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
"licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
"o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
"uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
"-----END RSA PRIVATE KEY-----\n";

/*
 * RFC 8463 A.1: the Ed25519 key of the example (RFC 8032 7.1 test 1,
 * secret 9d61b19d...7f60) as PKCS#8.
 */
static const char ed_pem[] =
"-----BEGIN PRIVATE KEY-----\n"
"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
"-----END PRIVATE KEY-----\n";

/* RFC 8463 A.2: the records of both keys, joined. */
#define ED_RECORD "v=DKIM1; k=ed25519; " \
	"p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RSA_RECORD "v=DKIM1; k=rsa; " \
	"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR" \
	"iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3" \
	"FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVY" \
	"LzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

/* Keys we must refuse, made with openssl genpkey / genrsa. */
static const char rsa512_pem[] =
"-----BEGIN PRIVATE KEY-----\n"
"MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEAt+feUVAG8XqeoObE\n"
"QZSW9X5AvWgyRK3ZjW7DzkghOfjrn8sPeqRjsl26vkR0SNYsDWgQfp0obklrOwqQ\n"
"AZvR+QIDAQABAkA9FA8sJk4ICVeBzOLFfRod8o6B2YdIdAzbAjyZ2C7g15AcQoN2\n"
"34jieVN3Ofc/3Uk1HYPqrzpDuZZpif4GZw65AiEA8+3dLiae1sPOBHJ46RNpqRVQ\n"
"NWQ0DO6cclOHMZ9kqXcCIQDBAZ4X+qt77LlfNSw3qEGp6xmbos565YIWn8NzRHI8\n"
"DwIhALCOnuVkttukZl35rWKm1ne4IZJDsRkbLMnjg5t7T5UJAiBNo5Pv+3MeD7Tl\n"
"+qLF5NY9Pwh3Ff/PaiFxbmUWKjN1uwIgWtaasYlGZkSb+7x+9DYakoxQYTxM8uhh\n"
"OHNiSxx9tU8=\n"
"-----END PRIVATE KEY-----\n";
static const char ec_pem[] =
"-----BEGIN PRIVATE KEY-----\n"
"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgWMAaFxq4J2Wvl9mf\n"
"X8G5A1PGFCxcUOz5Zwm8itdsGG+hRANCAATvM+XPR3YM+3JD9ztND0Zcvgb5XbKx\n"
"/SnG2F5bnzcxkLGtZ3h469kPX7QPev0uhalz225yS6TrCO/eALqEDKZi\n"
"-----END PRIVATE KEY-----\n";
static const char enc_pem[] =
"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
"MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjafZHCu11WhAICCAAw\n"
"DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEGDyLF/FgwkaQtnrut6Q8V8EQMk2\n"
"fvYCodmqfsLPLzYWydiTKzKiBxYe005yqF7AZkrHM4cexHgyccW34JI8CR/vQFNc\n"
"OCtY+pai0/7yHY9OevY=\n"
"-----END ENCRYPTED PRIVATE KEY-----\n";

/* RFC 8463 A.3: the header fields and body of the signed message. */
#define RFC8463_HEADER \
	"From: Joe SixPack <joe@football.example.com>\r\n" \
	"To: Suzie Q <suzie@shopping.example.net>\r\n" \
	"Subject: Is dinner ready?\r\n" \
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n" \
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
#define RFC8463_BODY \
	"Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n"
#define RFC8463_BH	"2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
#define RFC8463_TIME	1528637909

static const char *
canon_h(const char *field)
{
	static char out[512];
	struct buf b = BUF_INIT;

	dkim_canon_header(field, strlen(field), &b);
	snprintf(out, sizeof(out), "%.*s", (int)b.len, (char *)b.data);
	buf_clear(&b);
	return out;
}

static const char *
canon_b(const char *body)
{
	static char out[512];
	struct buf b = BUF_INIT;

	dkim_canon_body(body, strlen(body), &b);
	snprintf(out, sizeof(out), "%.*s", (int)b.len,
	    b.len > 0 ? (char *)b.data : "");
	buf_clear(&b);
	return out;
}

/* RFC 6376 3.4.5, example 1: relaxed header and relaxed body. */
TEST(canon_rfc6376_example)
{
	CHECK_STR(canon_h("A: X\r\n"), "a:X\r\n");
	CHECK_STR(canon_h("B : Y\t\r\n\tZ  \r\n"), "b:Y Z\r\n");
	CHECK_STR(canon_b(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
}

TEST(canon_header)
{
	/* Name in lower case, value as it is. */
	CHECK_STR(canon_h("SUBJect: AbC\r\n"), "subject:AbC\r\n");
	/* WSP on both sides of the colon, and at the end, goes. */
	CHECK_STR(canon_h("To \t :  \t a@b  \t\r\n"), "to:a@b\r\n");
	/* Runs of WSP, folds included, become one SP. */
	CHECK_STR(canon_h("Subject: a \t b\r\n  \t c\r\n\td\r\n"),
	    "subject:a b c d\r\n");
	/* A fold right after the colon. */
	CHECK_STR(canon_h("Subject:\r\n x\r\n"), "subject:x\r\n");
	/* Bare LF line ends unfold the same way. */
	CHECK_STR(canon_h("Subject: a\n b\n"), "subject:a b\r\n");
	/* No line end at all (the last line of a header-only message). */
	CHECK_STR(canon_h("From: x"), "from:x\r\n");
	/* An empty value. */
	CHECK_STR(canon_h("Subject:\r\n"), "subject:\r\n");
	CHECK_STR(canon_h("Subject:   \r\n"), "subject:\r\n");
	/* Bytes that are not WSP stay, 8-bit and a lone CR included. */
	CHECK_STR(canon_h("Subject: \xc3\xa9t\xc3\xa9\r\n"),
	    "subject:\xc3\xa9t\xc3\xa9\r\n");
	CHECK_STR(canon_h("Subject: a\rb\r\n"), "subject:a\rb\r\n");
	/* Only the name is lowered, not a colon in the value. */
	CHECK_STR(canon_h("X-A: B: C\r\n"), "x-a:B: C\r\n");
}

TEST(canon_body)
{
	/* An empty body is nothing (RFC 6376 3.4.4: a null input). */
	CHECK_STR(canon_b(""), "");
	CHECK_STR(canon_b("\r\n"), "");
	CHECK_STR(canon_b("\r\n\r\n\r\n"), "");
	/* Lines of white space only are empty lines. */
	CHECK_STR(canon_b(" \t \r\n\t\r\n"), "");
	/* Trailing empty lines go, inner ones stay. */
	CHECK_STR(canon_b("a\r\n\r\n\r\nb\r\n\r\n \r\n"),
	    "a\r\n\r\n\r\nb\r\n");
	/* Leading WSP becomes one SP; trailing WSP goes. */
	CHECK_STR(canon_b(" \t a \t\t b \t\r\n"), " a b\r\n");
	/* A last line without a line end gets one. */
	CHECK_STR(canon_b("a\r\nb"), "a\r\nb\r\n");
	CHECK_STR(canon_b("b  "), "b\r\n");
	/* Bare LF ends a line as CRLF does; a lone CR is a byte. */
	CHECK_STR(canon_b("a\nb \n\n\n"), "a\r\nb\r\n");
	CHECK_STR(canon_b("a\n\r\nb\r\n"), "a\r\n\r\nb\r\n");
	CHECK_STR(canon_b("a\rb\r\n"), "a\rb\r\n");
	/* Dots are not unstuffed: that is SMTP's business. */
	CHECK_STR(canon_b("..\r\n.\r\n"), "..\r\n.\r\n");
}

/* Loads pem; returns the error message, or "ok". */
static const char *
load_err(const char *pem, size_t len)
{
	static char err[256];
	struct dkim_key *k;

	err[0] = '\0';
	if ((k = dkim_key_load(pem, len, err, sizeof(err))) == NULL)
		return err;
	dkim_key_free(&k);
	return "ok";
}

TEST(key_load)
{
	struct dkim_key *k;
	char err[256];

	CHECK_STR(load_err(rsa_pem, strlen(rsa_pem)), "ok");
	CHECK_STR(load_err(ed_pem, strlen(ed_pem)), "ok");
	CHECK_STR(load_err("", 0), "empty key file");
	CHECK(strncmp(load_err("hello", 5), "no private key in PEM text",
	    26) == 0);
	/* Truncated in the middle of its base64. */
	CHECK(strncmp(load_err(rsa_pem, 200), "no private key in PEM text",
	    26) == 0);
	CHECK_STR(load_err(enc_pem, strlen(enc_pem)),
	    "encrypted private keys are not supported");
	CHECK_STR(load_err(rsa512_pem, strlen(rsa512_pem)),
	    "RSA key of 512 bits (1024 to 4096 are usable, RFC 8301 3.2)");
	CHECK_STR(load_err(ec_pem, strlen(ec_pem)),
	    "EC key: only RSA and Ed25519 keys sign DKIM");

	k = dkim_key_load(rsa_pem, strlen(rsa_pem), err, sizeof(err));
	CHECK(k != NULL && dkim_key_alg(k) == DKIM_RSA_SHA256);
	dkim_key_free(&k);
	CHECK(k == NULL);
	dkim_key_free(&k);
	k = dkim_key_load(ed_pem, strlen(ed_pem), err, sizeof(err));
	CHECK(k != NULL && dkim_key_alg(k) == DKIM_ED25519_SHA256);
	dkim_key_free(&k);
}

static struct dkim_key *
key(const char *pem)
{
	char err[256];
	struct dkim_key *k;

	if ((k = dkim_key_load(pem, strlen(pem), err, sizeof(err))) == NULL)
		harness_fail(__FILE__, __LINE__, "key: %s", err);
	return k;
}

static char *
str(struct buf *b)
{
	buf_append(b, "", 1);
	return (char *)b->data;
}

/* RFC 8463 A.2: our records are the example's records. */
TEST(public_record)
{
	struct dkim_key *ed = key(ed_pem), *rsa = key(rsa_pem);
	struct buf b = BUF_INIT;
	char err[256];

	CHECK_INT(dkim_public_record(ed, &b), 0);
	CHECK_STR(str(&b), ED_RECORD);
	buf_reset(&b);
	CHECK_INT(dkim_public_record(rsa, &b), 0);
	CHECK_STR(str(&b), RSA_RECORD);
	buf_reset(&b);
	CHECK_INT(dkim_zone_record(ed, "football.example.com", "brisbane", &b,
	    err, sizeof(err)), 0);
	CHECK_STR(str(&b), "brisbane._domainkey.football.example.com. IN TXT "
	    "\"" ED_RECORD "\"\n");
	buf_reset(&b);
	/* 272 bytes: one string of 255 and one of 17. */
	CHECK_INT(dkim_zone_record(rsa, "football.example.com", "test", &b,
	    err, sizeof(err)), 0);
	CHECK_STR(str(&b), "test._domainkey.football.example.com. IN TXT "
	    "\"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQo"
	    "BTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W"
	    "91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZ"
	    "yVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\"\n");
	buf_reset(&b);
	CHECK_INT(dkim_zone_record(ed, "football.example.com", "bad_sel", &b,
	    err, sizeof(err)), -1);
	CHECK_STR(err, "selector bad_sel: not a host name");
	CHECK_INT(b.len, 0);
	buf_clear(&b);
	dkim_key_free(&ed);
	dkim_key_free(&rsa);
}

/* Splits a zone line into its strings; returns how many, joined in out. */
static int
zone_strings(const char *line, struct buf *out, size_t *longest)
{
	const char *p = strchr(line, '"'), *q;
	int n = 0;

	*longest = 0;
	for (; p != NULL; p = strchr(q + 1, '"')) {
		if ((q = strchr(p + 1, '"')) == NULL)
			return -1;
		buf_append(out, p + 1, (size_t)(q - p - 1));
		if ((size_t)(q - p - 1) > *longest)
			*longest = (size_t)(q - p - 1);
		n++;
	}
	return n;
}

/* New keys of both kinds: PEM out and in again gives the same key. */
TEST(key_generate)
{
	static const enum dkim_alg algs[] = {
		DKIM_ED25519_SHA256, DKIM_RSA_SHA256
	};
	struct buf pem = BUF_INIT, r1 = BUF_INIT, r2 = BUF_INIT,
	    zone = BUF_INIT, joined = BUF_INIT;
	struct dkim_key *k, *again;
	char err[256];
	size_t i, longest;

	for (i = 0; i < 2; i++) {
		k = dkim_key_generate(algs[i], err, sizeof(err));
		CHECK(k != NULL && dkim_key_alg(k) == algs[i]);
		if (k == NULL)
			continue;
		CHECK_INT(dkim_key_pem(k, &pem), 0);
		CHECK(pem.len > 27 && memcmp(pem.data,
		    "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
		again = dkim_key_load((char *)pem.data, pem.len, err,
		    sizeof(err));
		CHECK(again != NULL && dkim_key_alg(again) == algs[i]);
		CHECK_INT(dkim_public_record(k, &r1), 0);
		if (again != NULL)
			CHECK_INT(dkim_public_record(again, &r2), 0);
		CHECK_STR(str(&r1), str(&r2));
		CHECK_INT(dkim_zone_record(k, "example.org", "s1", &zone, err,
		    sizeof(err)), 0);
		r1.len--;	/* the NUL str() added */
		CHECK_INT(zone_strings(str(&zone), &joined, &longest),
		    algs[i] == DKIM_RSA_SHA256 ? 2 : 1);
		CHECK_STR(str(&joined), str(&r1));
		CHECK(longest <= 255);
		if (algs[i] == DKIM_RSA_SHA256)
			/* 2048 bits: a 294-byte SubjectPublicKeyInfo. */
			CHECK_INT(strlen(str(&r1)),
			    strlen("v=DKIM1; k=rsa; p=") + 392);
		else
			CHECK_INT(strlen(str(&r1)), strlen(ED_RECORD));
		buf_reset(&pem);
		buf_reset(&r1);
		buf_reset(&r2);
		buf_reset(&zone);
		buf_reset(&joined);
		dkim_key_free(&again);
		dkim_key_free(&k);
	}
	buf_clear(&pem);
	buf_clear(&r1);
	buf_clear(&r2);
	buf_clear(&zone);
	buf_clear(&joined);
}

/* Signs msg; returns the field as a string (static), or the error. */
static const char *
sign(const struct dkim_key *k, const char *d, const char *s, const char *msg,
    time_t t)
{
	static char out[4096];
	struct buf b = BUF_INIT;
	char err[256];

	if (dkim_sign(k, d, s, msg, strlen(msg), t, &b, err,
	    sizeof(err)) == -1) {
		CHECK_INT(b.len, 0);
		snprintf(out, sizeof(out), "error: %s", err);
	} else
		snprintf(out, sizeof(out), "%.*s", (int)b.len, (char *)b.data);
	buf_clear(&b);
	return out;
}

/*
 * Returns the value of tag in a signature field (static), unfolded (CRLF
 * removed, RFC 5322 2.2.3) and without white space, which h=, bh= and b=
 * may hold anywhere (RFC 6376 3.5).
 */
static const char *
tag(const char *field, const char *name)
{
	static char v[2048];
	char unfolded[4096], pat[16];
	const char *p;
	size_t i, n = 0;

	for (i = 0; field[i] != '\0' && n + 1 < sizeof(unfolded); i++) {
		if (field[i] == '\r' && field[i + 1] == '\n')
			i++;
		else
			unfolded[n++] = field[i];
	}
	unfolded[n] = '\0';
	snprintf(pat, sizeof(pat), " %s=", name);
	if ((p = strstr(unfolded, pat)) == NULL)
		return "(none)";
	n = 0;
	for (p += strlen(pat); *p != ';' && *p != '\0' && n + 1 < sizeof(v);
	    p++)
		if (*p != ' ' && *p != '\t')
			v[n++] = *p;
	v[n] = '\0';
	return v;
}

/* Every line at most 78 characters and ended by CRLF; folds are CRLF SP. */
static void
check_layout(int line, const char *f)
{
	const char *p = f, *e;
	int n = 0;

	if (strncmp(f, "DKIM-Signature: v=1; a=", 23) != 0)
		harness_fail(__FILE__, line, "starts badly: %.30s", f);
	while (*p != '\0') {
		if ((e = strstr(p, "\r\n")) == NULL) {
			harness_fail(__FILE__, line, "no CRLF at the end");
			return;
		}
		if (e - p > 78)
			harness_fail(__FILE__, line, "line of %d: %.*s",
			    (int)(e - p), (int)(e - p), p);
		if (memchr(p, '\n', (size_t)(e - p)) != NULL ||
		    memchr(p, '\r', (size_t)(e - p)) != NULL)
			harness_fail(__FILE__, line, "bare CR or LF");
		p = e + 2;
		if (*p != '\0' && *p != ' ')
			harness_fail(__FILE__, line, "line %d not folded", n);
		n++;
	}
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

TEST(sign_layout)
{
	struct dkim_key *ed = key(ed_pem), *rsa = key(rsa_pem);
	const char *msg =
	    "Received: from x by y; Fri, 11 Jul 2003 21:00:37 -0700\r\n"
	    "From: a@example.org\r\n"
	    "To: b@example.net\r\n"
	    "X-Mailer: test\r\n"
	    "to: c@example.net,\r\n d@example.net\r\n"
	    "Subject: Hello\r\n"
	    "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain\r\n"
	    "List-Id: <x.example.org>\r\n"
	    "References: <1@x>\r\n"
	    "References: <2@x>\r\n"
	    "\r\n"
	    "Hi.\r\n";
	const char *f;
	char domain[DKIM_DOMAIN_MAX + 2];

	f = sign(rsa, "example.org", "sel", msg, 1700000000);
	check_layout(__LINE__, f);
	CHECK(starts(f, "DKIM-Signature: v=1; a=rsa-sha256; "
	    "c=relaxed/relaxed; d=example.org; s=sel;\r\n t=1700000000; "
	    "h=from:from:to:to:to:cc:subject:subject:date:date:references:\r\n"
	    " references:mime-version:content-type;\r\n bh="));
	/*
	 * Each present field as often as it occurs, From, To, Cc, Subject
	 * and Date once more; Received, X-Mailer and List-Id not at all.
	 */
	CHECK_STR(tag(f, "h"), "from:from:to:to:to:cc:subject:subject:date:"
	    "date:references:references:mime-version:content-type");
	CHECK_STR(tag(f, "bh"),
	    /* printf 'Hi.\r\n' | openssl dgst -sha256 -binary | base64 */
	    "UrA8rmgY3eNBotmDWtzAmHyn5RyZv8Gea45sNGsP0zw=");
	/* 1024 bits: 172 characters of base64. */
	CHECK_INT(strlen(tag(f, "b")), 172);
	CHECK_STR(tag(f, "l"), "(none)");
	CHECK_STR(tag(f, "i"), "(none)");

	f = sign(ed, "example.org", "sel", msg, 1700000000);
	check_layout(__LINE__, f);
	CHECK(starts(f, "DKIM-Signature: v=1; a=ed25519-sha256; "
	    "c=relaxed/relaxed; d=example.org;\r\n s=sel; t=1700000000; "));
	CHECK_INT(strlen(tag(f, "b")), 88);

	/* A long domain: every line still fits but the d= one. */
	memset(domain, 'a', sizeof(domain));
	memcpy(domain + 60, ".", 1);
	memcpy(domain + 120, ".", 1);
	memcpy(domain + 180, ".", 1);
	memcpy(domain + 240, ".org", 5);
	f = sign(rsa, domain, "sel", msg, 1700000000);
	CHECK_STR(tag(f, "d"), domain);
	CHECK(strstr(f, "\r\n d=") != NULL);

	/* An empty body: the hash of nothing (RFC 6376 3.4.4). */
	f = sign(ed, "example.org", "s", "From: a@example.org\r\n", 0);
	CHECK_STR(tag(f, "bh"), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	CHECK_STR(tag(f, "t"), "0");
	f = sign(ed, "example.org", "s", "From: a@example.org\r\n\r\n\r\n \r\n",
	    0);
	CHECK_STR(tag(f, "bh"), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	/* The same message with bare LF line ends has the same hashes. */
	CHECK_STR(sign(ed, "example.org", "s",
	    "From: a@example.org\r\nSubject: a\r\n b\r\n\r\nx \r\ny\r\n", 0),
	    sign(ed, "example.org", "s",
	    "From: a@example.org\nSubject: a\n b\n\nx \ny\n", 0));
	dkim_key_free(&ed);
	dkim_key_free(&rsa);
}

TEST(sign_refused)
{
	struct dkim_key *ed = key(ed_pem);
	const char *m = "From: a@example.org\r\n\r\nx\r\n";
	char longlabel[80];

	CHECK_STR(sign(ed, "exa mple.org", "s", m, 0),
	    "error: domain exa mple.org: not a host name");
	CHECK_STR(sign(ed, "example.org;", "s", m, 0),
	    "error: domain example.org;: not a host name");
	CHECK_STR(sign(ed, "-example.org", "s", m, 0),
	    "error: domain -example.org: not a host name");
	CHECK_STR(sign(ed, "example-.org", "s", m, 0),
	    "error: domain example-.org: bad label");
	CHECK_STR(sign(ed, "example..org", "s", m, 0),
	    "error: domain example..org: bad label");
	CHECK_STR(sign(ed, "example.org.", "s", m, 0),
	    "error: domain example.org.: bad label");
	CHECK_STR(sign(ed, "", "s", m, 0), "error: domain: empty");
	CHECK_STR(sign(ed, "example.org", "s\r\nX: y", m, 0),
	    "error: selector s\r\nX: y: not a host name");
	memset(longlabel, 'a', 64);
	longlabel[64] = '\0';
	CHECK_STR(sign(ed, "example.org", longlabel, m, 0),
	    "error: selector aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaa: bad label");
	longlabel[63] = '\0';
	CHECK(strncmp(sign(ed, "example.org", longlabel, m, 0),
	    "DKIM-Signature:", 15) == 0);
	CHECK_STR(sign(ed, "example.org", "s", m, -1),
	    "error: signing time before 1970");
	/* From MUST be signed (RFC 6376 5.4); a From in the body is none. */
	CHECK_STR(sign(ed, "example.org", "s",
	    "Subject: x\r\n\r\nFrom: a@example.org\r\n", 0),
	    "error: the message has no From field");
	CHECK_STR(sign(ed, "example.org", "s", "", 0),
	    "error: the message has no From field");
	CHECK_STR(sign(ed, "example.org", "s", " From: a@example.org\r\n", 0),
	    "error: the message has no From field");
	/* A From only in a continuation line is not a field either. */
	CHECK_STR(sign(ed, "example.org", "s",
	    "Subject: a\r\n From: a@example.org\r\n\r\n", 0),
	    "error: the message has no From field");
	dkim_key_free(&ed);
}

/*
 * RFC 8463 A.3: the example's two signatures verify over the header hash
 * we compute with our canonicalization, and its bh= is our body hash.
 */
static int
verify_rfc(const char *pem, const char *sigfield, const char *b64sig)
{
	static const char *const order[] = {
		"From: Joe SixPack <joe@football.example.com>\r\n",
		"To: Suzie Q <suzie@shopping.example.net>\r\n",
		"Subject: Is dinner ready?\r\n",
		"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n",
		"Message-ID: <20030712040037.46341.5F8J@football.example.com>"
		    "\r\n",
	};
	struct buf data = BUF_INIT;
	unsigned char md[32], sig[256];
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	BIO *bio;
	size_t i;
	int siglen, ok;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		dkim_canon_header(order[i], strlen(order[i]), &data);
	/* from, subject, date a second time: no such fields, nothing. */
	dkim_canon_header(sigfield, strlen(sigfield), &data);
	data.len -= 2;		/* without its CRLF (RFC 6376 3.7) */
	EVP_Digest(data.data, data.len, md, NULL, EVP_sha256(), NULL);
	buf_clear(&data);
	siglen = EVP_DecodeBlock(sig, (const unsigned char *)b64sig,
	    (int)strlen(b64sig));
	siglen -= strlen(b64sig) - strcspn(b64sig, "=");
	bio = BIO_new_mem_buf(pem, -1);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL)
		return -1;
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		ok = (mctx = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestVerifyInit_ex(mctx, NULL, NULL, NULL, NULL, pkey,
		    NULL) == 1 &&
		    EVP_DigestVerify(mctx, sig, (size_t)siglen, md, 32) == 1;
	else
		ok = (pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) !=
		    NULL && EVP_PKEY_verify_init(pctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_verify(pctx, sig, (size_t)siglen, md, 32) == 1;
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pkey);
	return ok ? 0 : -1;
}

TEST(rfc8463_example)
{
	struct dkim_key *ed = key(ed_pem);
	const char *f;

	CHECK_INT(verify_rfc(ed_pem,
	    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	    " d=football.example.com; i=@football.example.com;\r\n"
	    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
	    " subject : date : message-id : from : subject : date;\r\n"
	    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	    " b=\r\n",
	    "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus"
	    "Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="), 0);
	CHECK_INT(verify_rfc(rsa_pem,
	    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
	    " d=football.example.com; i=@football.example.com;\r\n"
	    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
	    " date : message-id : from : subject : date;\r\n"
	    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	    " b=\r\n",
	    "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3"
	    "DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz"
	    "dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8="), 0);
	/* A changed header must not verify: the check can fail. */
	CHECK_INT(verify_rfc(ed_pem,
	    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	    " d=football.example.com; i=@football.example.com;\r\n"
	    " q=dns/txt; s=brisbane; t=1528637910; h=from : to :\r\n"
	    " subject : date : message-id : from : subject : date;\r\n"
	    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	    " b=\r\n",
	    "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus"
	    "Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="), -1);
	f = sign(ed, "football.example.com", "brisbane",
	    RFC8463_HEADER "\r\n" RFC8463_BODY, RFC8463_TIME);
	CHECK_STR(tag(f, "bh"), RFC8463_BH);
	dkim_key_free(&ed);
}

/*
 * Whole signatures of the RFC 8463 message with its keys at its time.
 * Ed25519 and RSASSA-PKCS1-v1_5 are deterministic, so these are exact.
 * They were made by this code once and verified with dkimpy 1.1.4
 * (python3-dkim: dkim.verify() of the field followed by the message, with
 * ED_RECORD and RSA_RECORD as the DNS answers), and so are right; a change
 * here means the signature changed, not only its looks.
 */
TEST(sign_known)
{
	struct dkim_key *ed = key(ed_pem), *rsa = key(rsa_pem);

	CHECK_STR(sign(ed, "football.example.com", "brisbane",
	    RFC8463_HEADER "\r\n" RFC8463_BODY, RFC8463_TIME),
	    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	    " d=football.example.com; s=brisbane; t=1528637909; "
	    "h=from:from:to:to:cc:\r\n"
	    " subject:subject:date:date:message-id;\r\n"
	    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; "
	    "b=kty48kfp46OVD8/vsPD46vZHxe\r\n"
	    " rtCo+pUmuFgMs/d6RlLoI7OVAE7G6GVzd2c0baLjOzS9DA04EIUt8HHEmUDg=="
	    "\r\n");
	CHECK_STR(sign(rsa, "football.example.com", "test",
	    RFC8463_HEADER "\r\n" RFC8463_BODY, RFC8463_TIME),
	    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=football.example.com;\r\n"
	    " s=test; t=1528637909; h=from:from:to:to:cc:subject:subject:"
	    "date:date:\r\n"
	    " message-id; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; "
	    "b=eR/50+58UHTa+3\r\n"
	    " TjFpIoQgCmJGO2cB27+V83/6X2CSZAFrkfuQbH/Fwr8Fw5m78UnvoUfOFZZYaIkPP"
	    "LjokpEmChhmM\r\n"
	    " 61eifX/zvXR5RGPijL2j1/hmJ0Y+KVqv3wxoCnVkeYvAZPMCgl6XtzZPl3MZ4+flV"
	    "bL6WIjeQXd+S\r\n"
	    " Lpo=\r\n");
	dkim_key_free(&ed);
	dkim_key_free(&rsa);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(canon_rfc6376_example),
	TEST_ENTRY(canon_header),
	TEST_ENTRY(canon_body),
	TEST_ENTRY(key_load),
	TEST_ENTRY(public_record),
	TEST_ENTRY(key_generate),
	TEST_ENTRY(sign_layout),
	TEST_ENTRY(sign_refused),
	TEST_ENTRY(rfc8463_example),
	TEST_ENTRY(sign_known),
};

HARNESS_MAIN(tests)
