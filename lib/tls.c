/* SPDX-License-Identifier: ISC */
/*
 * tls.c: TLS server contexts built from PEM bytes in memory (see tls.h).
 * The settings follow RFC 9325 (recommendations for TLS): TLS 1.2 as the
 * minimum, ECDHE key exchange with AEAD ciphers, the server's order of
 * preference, no compression, no renegotiation.
 */
#include "tls.h"
#include "compat.h"

#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

/* TLS 1.2 suites: forward secrecy and AEAD only (RFC 9325 4.2). */
#define TLS_CIPHERS_12							\
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"	\
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"	\
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static const struct {
	int		 version;
	const char	*name;
} tls_versions[] = {
	{ TLS1_2_VERSION, "TLSv1.2" },
	{ TLS1_3_VERSION, "TLSv1.3" },
};

/* Refuses to prompt for a passphrase: a worker has no terminal. */
static int
tls_no_passphrase_cb(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

void
tls_error_string(unsigned long err, char *buf, size_t size)
{
	if (size == 0)
		return;
	if (err == 0)
		err = ERR_get_error();
	if (err == 0)
		strlcpy(buf, "unknown error", size);
	else
		ERR_error_string_n(err, buf, size);
	ERR_clear_error();
}

int
tls_trust_pem(SSL_CTX *ctx, const uint8_t *pem, size_t len, char *error,
    size_t errsize)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509 *x;
	BIO *bio;
	int n = 0;

	if (len > INT_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		strlcpy(error, "cannot read the certificates", errsize);
		return -1;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, x) != 1) {
			X509_free(x);
			BIO_free(bio);
			tls_error_string(0, error, errsize);
			return -1;
		}
		X509_free(x);
		n++;
	}
	BIO_free(bio);
	ERR_clear_error();	/* the end of the PEM data */
	if (n == 0) {
		strlcpy(error, "no PEM certificate", errsize);
		return -1;
	}
	return n;
}

/* Loads the chain: the first certificate is the server's own. */
static int
tls_load_chain(SSL_CTX *ctx, const uint8_t *cert, size_t certlen,
    char *error, size_t errsize)
{
	X509 *x;
	BIO *bio;
	unsigned long e;
	int r = -1;

	if (certlen > INT32_MAX ||
	    (bio = BIO_new_mem_buf(cert, (int)certlen)) == NULL) {
		strlcpy(error, "certificate: out of memory", errsize);
		return -1;
	}
	if ((x = PEM_read_bio_X509_AUX(bio, NULL, tls_no_passphrase_cb,
	    NULL)) == NULL || SSL_CTX_use_certificate(ctx, x) != 1) {
		X509_free(x);
		strlcpy(error, "certificate: ", errsize);
		tls_error_string(0, error + strlen(error),
		    errsize - strlen(error));
		goto out;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, tls_no_passphrase_cb,
	    NULL)) != NULL) {
		/* add0: the context takes x. */
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			strlcpy(error, "certificate chain: ", errsize);
			tls_error_string(0, error + strlen(error),
			    errsize - strlen(error));
			goto out;
		}
	}
	/* The loop ends at the end of the PEM data, which is no error. */
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
		ERR_clear_error();
	else if (e != 0) {
		strlcpy(error, "certificate chain: ", errsize);
		tls_error_string(0, error + strlen(error),
		    errsize - strlen(error));
		goto out;
	}
	r = 0;
out:
	BIO_free(bio);
	return r;
}

static int
tls_load_key(SSL_CTX *ctx, const uint8_t *key, size_t keylen, char *error,
    size_t errsize)
{
	EVP_PKEY *pkey;
	BIO *bio;
	int r = -1;

	if (keylen > INT32_MAX ||
	    (bio = BIO_new_mem_buf(key, (int)keylen)) == NULL) {
		strlcpy(error, "key: out of memory", errsize);
		return -1;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, tls_no_passphrase_cb, NULL);
	if (pkey == NULL || SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
		strlcpy(error, "key: ", errsize);
		tls_error_string(0, error + strlen(error),
		    errsize - strlen(error));
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		strlcpy(error, "key does not match the certificate", errsize);
		ERR_clear_error();
	} else
		r = 0;
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return r;
}

SSL_CTX *
tls_server_ctx_new(const uint8_t *cert, size_t certlen, const uint8_t *key,
    size_t keylen, char *error, size_t errsize)
{
	static const unsigned char sid_ctx[] = "bulwark";
	unsigned char seed[1];
	SSL_CTX *ctx;

	/*
	 * Load the configuration, error strings and the random generator
	 * now, while the file system is still there.
	 */
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_LOAD_CONFIG, NULL);
	if (RAND_bytes(seed, sizeof(seed)) != 1) {
		strlcpy(error, "random generator: ", errsize);
		tls_error_string(0, error + strlen(error),
		    errsize - strlen(error));
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		strlcpy(error, "SSL_CTX_new: ", errsize);
		tls_error_string(0, error + strlen(error),
		    errsize - strlen(error));
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1 ||
	    SSL_CTX_set_session_id_context(ctx, sid_ctx,
	    sizeof(sid_ctx) - 1) != 1) {
		strlcpy(error, "TLS settings: ", errsize);
		tls_error_string(0, error + strlen(error),
		    errsize - strlen(error));
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/*
	 * Clients often close without close_notify.  The protocols on top
	 * frame their own messages (a tagged IMAP response, an HTTP length),
	 * so a truncation cannot pass for a complete one: an end of file is
	 * an end of file, not an error.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	/* Read and write partially, as libevent's buffers expect. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (tls_load_chain(ctx, cert, certlen, error, errsize) == -1 ||
	    tls_load_key(ctx, key, keylen, error, errsize) == -1)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void
tls_ctx_free(SSL_CTX **ctxp)
{
	SSL_CTX_free(*ctxp);
	*ctxp = NULL;
}

const char *
tls_version(const SSL *ssl)
{
	size_t i;
	int v;

	if (ssl == NULL || !SSL_is_init_finished(ssl))
		return "?";
	v = SSL_version(ssl);
	for (i = 0; i < sizeof(tls_versions) / sizeof(tls_versions[0]); i++)
		if (tls_versions[i].version == v)
			return tls_versions[i].name;
	return "?";
}
