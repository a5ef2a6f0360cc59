/* SPDX-License-Identifier: ISC */
/*
 * test_webpush.c: RFC 8291 encryption (lib/webpush.c).  The example of
 * RFC 8291 5 with the keys and salt of Appendix A must come out byte for
 * byte; fresh encryptions have the layout of RFC 8188 2.1 and differ;
 * keys that are not P-256 points and messages above one record are
 * refused.
 */
#include "harness.h"
#include "webpush.h"
#include "buf.h"

#include <string.h>

#include <sodium.h>

/* RFC 8291 Appendix A, base64url without padding. */
static const char a_plain[] =
    "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24";
static const char a_as_public[] =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIg"
    "Dll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
static const char a_as_private[] =
    "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
static const char a_ua_public[] =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcx"
    "aOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
static const char a_salt[] = "DGv6ra1nlYgDCS1FRnbzlw";
static const char a_auth[] = "BTBZMqHH6r4Tts7J_aSIgg";
/* RFC 8291 5: the body of the POST. */
static const char a_body[] =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml"
    "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT"
    "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

static size_t
b64(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	if (sodium_base642bin(out, max, s, strlen(s), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return 0;
	return n;
}

TEST(test_rfc8291_example)
{
	uint8_t plain[64], as_pub[65], as_priv[32], ua[65], salt[16], auth[16];
	char enc[512];
	struct buf out = BUF_INIT;
	size_t plen;

	plen = b64(a_plain, plain, sizeof(plain));
	CHECK_INT(plen, 41);
	CHECK_INT(b64(a_as_public, as_pub, sizeof(as_pub)), 65);
	CHECK_INT(b64(a_as_private, as_priv, sizeof(as_priv)), 32);
	CHECK_INT(b64(a_ua_public, ua, sizeof(ua)), 65);
	CHECK_INT(b64(a_salt, salt, sizeof(salt)), 16);
	CHECK_INT(b64(a_auth, auth, sizeof(auth)), 16);
	CHECK_INT(webpush_encrypt_with(ua, auth, as_priv, as_pub, salt, plain,
	    plen, &out), 0);
	/*
	 * 86 + 41 + 1 + 16: RFC 8291 5 says Content-Length 145, but its
	 * body is 144 octets (192 base64url characters).
	 */
	CHECK_INT(out.len, 144);
	sodium_bin2base64(enc, sizeof(enc), out.data, out.len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	CHECK_STR(enc, a_body);
	buf_clear(&out);
}

TEST(test_fresh)
{
	uint8_t ua[65], auth[16];
	struct buf a = BUF_INIT, b = BUF_INIT;
	static const char msg[] = "{\"@type\":\"StateChange\"}";

	CHECK_INT(b64(a_ua_public, ua, sizeof(ua)), 65);
	CHECK_INT(b64(a_auth, auth, sizeof(auth)), 16);
	CHECK_INT(webpush_encrypt(ua, auth, msg, strlen(msg), &a), 0);
	CHECK_INT(webpush_encrypt(ua, auth, msg, strlen(msg), &b), 0);
	CHECK_INT(a.len, 86 + strlen(msg) + 1 + 16);
	CHECK_INT(b.len, a.len);
	/* rs 4096, idlen 65, keyid an uncompressed point */
	CHECK(a.data[16] == 0 && a.data[17] == 0 && a.data[18] == 0x10 &&
	    a.data[19] == 0);
	CHECK_INT(a.data[20], 65);
	CHECK_INT(a.data[21], 4);
	/* another salt and key each time */
	CHECK(memcmp(a.data, b.data, 16) != 0);
	CHECK(memcmp(a.data + 21, b.data + 21, 65) != 0);
	buf_clear(&a);
	buf_clear(&b);
}

TEST(test_refusals)
{
	uint8_t ua[65], auth[16];
	static uint8_t big[WEBPUSH_PLAIN_MAX + 1];
	struct buf out = BUF_INIT;

	CHECK_INT(b64(a_ua_public, ua, sizeof(ua)), 65);
	CHECK_INT(b64(a_auth, auth, sizeof(auth)), 16);
	CHECK_INT(webpush_encrypt(ua, auth, big, sizeof(big), &out), -1);
	CHECK_INT(out.len, 0);
	CHECK_INT(webpush_encrypt(ua, auth, big, sizeof(big) - 1, &out), 0);
	CHECK_INT(out.len, WEBPUSH_RS + 86);
	buf_reset(&out);
	/* not on the curve */
	ua[40] ^= 1;
	CHECK_INT(webpush_encrypt(ua, auth, "x", 1, &out), -1);
	ua[40] ^= 1;
	/* not uncompressed */
	ua[0] = 2;
	CHECK_INT(webpush_encrypt(ua, auth, "x", 1, &out), -1);
	CHECK_INT(out.len, 0);
	buf_clear(&out);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_rfc8291_example),
	TEST_ENTRY(test_fresh),
	TEST_ENTRY(test_refusals),
};

HARNESS_MAIN(tests)
