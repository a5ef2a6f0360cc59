/* SPDX-License-Identifier: ISC */
/*
 * webpush.c: RFC 8291 message encryption with the aes128gcm content
 * coding of RFC 8188 (see webpush.h).  OpenSSL 3's EVP: P-256 ECDH,
 * HMAC-SHA-256 for HKDF (RFC 5869, written out as RFC 8291 3.4 does:
 * every output here is one HMAC block or less), AES-128-GCM.
 */
#include "webpush.h"
#include "buf.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#define WEBPUSH_SHA_LEN		32
#define WEBPUSH_CEK_LEN		16
#define WEBPUSH_NONCE_LEN	12
#define WEBPUSH_TAG_LEN		16

/* HMAC-SHA-256(key, a || b || c) into out (32 bytes); 0 or -1. */
static int
webpush_hmac(const uint8_t *key, size_t klen, const void *a, size_t alen,
    const void *b, size_t blen, const void *c, size_t clen, uint8_t *out)
{
	uint8_t buf[256];
	unsigned int olen = 0;

	if (alen + blen + clen > sizeof(buf))
		return -1;
	memcpy(buf, a, alen);
	if (blen > 0)
		memcpy(buf + alen, b, blen);
	if (clen > 0)
		memcpy(buf + alen + blen, c, clen);
	if (HMAC(EVP_sha256(), key, (int)klen, buf, alen + blen + clen, out,
	    &olen) == NULL || olen != WEBPUSH_SHA_LEN)
		return -1;
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* An EVP_PKEY of P-256 from a public point and, if priv, its scalar. */
static EVP_PKEY *
webpush_key(const uint8_t *pub, const uint8_t *priv)
{
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn = NULL;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, WEBPUSH_KEY_LEN) != 1)
		goto out;
	if (priv != NULL && ((bn = BN_bin2bn(priv, WEBPUSH_PRIV_LEN,
	    NULL)) == NULL || OSSL_PARAM_BLD_push_BN(bld,
	    OSSL_PKEY_PARAM_PRIV_KEY, bn) != 1))
		goto out;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, priv != NULL ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(bn);
	return pkey;
}

/* ECDH(ours, peer) into secret (32 bytes); 0 or -1. */
static int
webpush_ecdh(EVP_PKEY *ours, const uint8_t *peer_pub, uint8_t *secret)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer;
	size_t len = WEBPUSH_SHA_LEN;
	int rc = -1;

	if ((peer = webpush_key(peer_pub, NULL)) == NULL)
		return -1;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, ours, NULL)) != NULL &&
	    EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
	    EVP_PKEY_derive(ctx, secret, &len) == 1 && len == WEBPUSH_SHA_LEN)
		rc = 0;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return rc;
}

/*
 * RFC 8291 3.3 and 3.4, RFC 8188 2.2 and 2.3: the content encryption
 * key and nonce from the ECDH secret.
 */
static int
webpush_derive(const uint8_t *ecdh, const uint8_t *auth,
    const uint8_t *ua_public, const uint8_t *as_public, const uint8_t *salt,
    uint8_t *cek, uint8_t *nonce)
{
	static const char info[] = "WebPush: info";	/* with its NUL */
	static const char cek_info[] = "Content-Encoding: aes128gcm";
	static const char nonce_info[] = "Content-Encoding: nonce";
	static const uint8_t one = 1;
	uint8_t prk_key[WEBPUSH_SHA_LEN], ikm[WEBPUSH_SHA_LEN];
	uint8_t prk[WEBPUSH_SHA_LEN], t[WEBPUSH_SHA_LEN];
	uint8_t key_info[sizeof(info) + 2 * WEBPUSH_KEY_LEN + 1];
	int rc = -1;

	/* PRK_key = HMAC-SHA-256(auth_secret, ecdh_secret) */
	if (webpush_hmac(auth, WEBPUSH_AUTH_LEN, ecdh, WEBPUSH_SHA_LEN, NULL,
	    0, NULL, 0, prk_key) == -1)
		goto out;
	/* IKM = HMAC-SHA-256(PRK_key, key_info || 0x01) */
	memcpy(key_info, info, sizeof(info));
	memcpy(key_info + sizeof(info), ua_public, WEBPUSH_KEY_LEN);
	memcpy(key_info + sizeof(info) + WEBPUSH_KEY_LEN, as_public,
	    WEBPUSH_KEY_LEN);
	key_info[sizeof(key_info) - 1] = one;
	if (webpush_hmac(prk_key, sizeof(prk_key), key_info, sizeof(key_info),
	    NULL, 0, NULL, 0, ikm) == -1)
		goto out;
	/* PRK = HMAC-SHA-256(salt, IKM) */
	if (webpush_hmac(salt, WEBPUSH_SALT_LEN, ikm, sizeof(ikm), NULL, 0,
	    NULL, 0, prk) == -1)
		goto out;
	/* CEK and NONCE: the first octets of T(1), info with its NUL. */
	if (webpush_hmac(prk, sizeof(prk), cek_info, sizeof(cek_info), &one,
	    1, NULL, 0, t) == -1)
		goto out;
	memcpy(cek, t, WEBPUSH_CEK_LEN);
	if (webpush_hmac(prk, sizeof(prk), nonce_info, sizeof(nonce_info),
	    &one, 1, NULL, 0, t) == -1)
		goto out;
	memcpy(nonce, t, WEBPUSH_NONCE_LEN);
	rc = 0;
out:
	OPENSSL_cleanse(prk_key, sizeof(prk_key));
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(prk, sizeof(prk));
	OPENSSL_cleanse(t, sizeof(t));
	return rc;
}

/* AES-128-GCM of plain || 0x02 into ct (len + 1 + tag bytes). */
static int
webpush_seal(const uint8_t *cek, const uint8_t *nonce, const void *plain,
    size_t len, uint8_t *ct)
{
	static const uint8_t delim = 2;	/* RFC 8188 2: the last record */
	EVP_CIPHER_CTX *ctx;
	int n1 = 0, n2 = 0, n3 = 0, rc = -1;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, NULL, NULL) ==
	    1 && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
	    WEBPUSH_NONCE_LEN, NULL) == 1 &&
	    EVP_EncryptInit_ex(ctx, NULL, NULL, cek, nonce) == 1 &&
	    (len == 0 || EVP_EncryptUpdate(ctx, ct, &n1, plain, (int)len) ==
	    1) && EVP_EncryptUpdate(ctx, ct + n1, &n2, &delim, 1) == 1 &&
	    EVP_EncryptFinal_ex(ctx, ct + n1 + n2, &n3) == 1 &&
	    (size_t)(n1 + n2 + n3) == len + 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, WEBPUSH_TAG_LEN,
	    ct + len + 1) == 1)
		rc = 0;
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* The whole message with our key `as` (public as_public). */
static int
webpush_encrypt_key(EVP_PKEY *as, const uint8_t *as_public,
    const uint8_t *ua_public, const uint8_t *auth, const uint8_t *salt,
    const void *plain, size_t len, struct buf *out)
{
	uint8_t ecdh[WEBPUSH_SHA_LEN], cek[WEBPUSH_CEK_LEN];
	uint8_t nonce[WEBPUSH_NONCE_LEN], hdr[WEBPUSH_SALT_LEN + 5];
	uint8_t *ct;
	int rc = -1;

	if (len > WEBPUSH_PLAIN_MAX)
		return -1;
	if (webpush_ecdh(as, ua_public, ecdh) == -1 ||
	    webpush_derive(ecdh, auth, ua_public, as_public, salt, cek,
	    nonce) == -1)
		goto out;
	/* RFC 8188 2.1: salt, rs (u32 BE), idlen, keyid. */
	memcpy(hdr, salt, WEBPUSH_SALT_LEN);
	hdr[16] = (uint8_t)(WEBPUSH_RS >> 24);
	hdr[17] = (uint8_t)(WEBPUSH_RS >> 16);
	hdr[18] = (uint8_t)(WEBPUSH_RS >> 8);
	hdr[19] = (uint8_t)WEBPUSH_RS;
	hdr[20] = WEBPUSH_KEY_LEN;
	buf_reserve(out, sizeof(hdr) + WEBPUSH_KEY_LEN + len + 1 +
	    WEBPUSH_TAG_LEN);
	ct = buf_tail(out) + sizeof(hdr) + WEBPUSH_KEY_LEN;
	if (webpush_seal(cek, nonce, plain, len, ct) == -1)
		goto out;
	memcpy(buf_tail(out), hdr, sizeof(hdr));
	memcpy(buf_tail(out) + sizeof(hdr), as_public, WEBPUSH_KEY_LEN);
	buf_commit(out, sizeof(hdr) + WEBPUSH_KEY_LEN + len + 1 +
	    WEBPUSH_TAG_LEN);
	rc = 0;
out:
	OPENSSL_cleanse(ecdh, sizeof(ecdh));
	OPENSSL_cleanse(cek, sizeof(cek));
	OPENSSL_cleanse(nonce, sizeof(nonce));
	return rc;
}

int
webpush_encrypt_with(const uint8_t *ua_public, const uint8_t *auth,
    const uint8_t *as_private, const uint8_t *as_public, const uint8_t *salt,
    const void *plain, size_t len, struct buf *out)
{
	EVP_PKEY *as;
	int rc;

	if ((as = webpush_key(as_public, as_private)) == NULL)
		return -1;
	rc = webpush_encrypt_key(as, as_public, ua_public, auth, salt, plain,
	    len, out);
	EVP_PKEY_free(as);
	return rc;
}

int
webpush_encrypt(const uint8_t *ua_public, const uint8_t *auth,
    const void *plain, size_t len, struct buf *out)
{
	uint8_t pub[WEBPUSH_KEY_LEN], salt[WEBPUSH_SALT_LEN];
	EVP_PKEY *as;
	size_t plen = 0;
	int rc = -1;

	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    (as = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		return -1;
	if (EVP_PKEY_get_octet_string_param(as,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, sizeof(pub), &plen) ==
	    1 && plen == WEBPUSH_KEY_LEN && pub[0] == 4)
		rc = webpush_encrypt_key(as, pub, ua_public, auth, salt, plain,
		    len, out);
	EVP_PKEY_free(as);
	return rc;
}
