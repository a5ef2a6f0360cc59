/* SPDX-License-Identifier: ISC */
/*
 * tls.h: TLS server contexts for the network workers, on OpenSSL.
 *
 * A worker never opens the key file: the master reads the certificate chain
 * and the private key and sends them as PEM bytes (CONF_TLS), and the worker
 * builds its context from memory with tls_server_ctx_new() before its
 * privilege drop, then wipes the key bytes it was sent.  Everything OpenSSL
 * loads lazily (configuration, error strings, the random generator) is
 * loaded there too, so that nothing needs the file system afterwards.
 *
 * Contexts speak TLS 1.2 and 1.3 only (RFC 8996), with forward-secret AEAD
 * cipher suites for TLS 1.2 (RFC 9325 4.2), no compression and no
 * renegotiation.
 */
#ifndef BULWARK_TLS_H
#define BULWARK_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/*
 * Returns a new server context holding the PEM certificate chain cert (the
 * server's certificate first, then intermediates) and the PEM private key
 * key, which must match it.  The buffers are borrowed and read in place, not
 * copied; a key protected by a passphrase is refused.  On failure returns
 * NULL with a reason in error (of errsize bytes).  Free with tls_ctx_free().
 */
SSL_CTX	*tls_server_ctx_new(const uint8_t *cert, size_t certlen,
	    const uint8_t *key, size_t keylen, char *error, size_t errsize);
/*
 * Makes the PEM certificates in [pem, pem + len) the trust anchors that
 * ctx (a client context) verifies servers against, for a configured
 * private CA: the master read the file, the worker never opens it.
 * Returns the number of certificates added (at least 1), or -1 with a
 * reason in error.
 */
int	 tls_trust_pem(SSL_CTX *ctx, const uint8_t *pem, size_t len,
	    char *error, size_t errsize);
/* Frees *ctxp (which may be NULL) and NULLs it. */
void	 tls_ctx_free(SSL_CTX **ctxp);
/*
 * Returns the protocol version of an established connection as a static
 * string for logs, in OpenSSL's spelling ("TLSv1.2", "TLSv1.3"), or "?"
 * before the handshake.
 */
const char *tls_version(const SSL *ssl);
/*
 * Writes the text of OpenSSL error code err (0: the oldest error queued in
 * this thread) into buf, for logs, and clears this thread's error queue.
 */
void	 tls_error_string(unsigned long err, char *buf, size_t size);

#endif
