/* SPDX-License-Identifier: ISC */
/*
 * webpush.h: Message Encryption for Web Push (RFC 8291) in the aes128gcm
 * content coding (RFC 8188), for JMAP PushSubscription keys (RFC 8620
 * 7.2).  The application server (we) makes an ephemeral P-256 key pair
 * and a random salt per message, derives the content key and nonce from
 * the ECDH secret with the user agent's public key and its auth secret
 * (RFC 8291 3.3, 3.4), and writes one record: the header (salt, record
 * size, key id = our public key) and the AES-128-GCM ciphertext of the
 * message with its padding delimiter 0x02 (RFC 8188 2, 2.1).
 */
#ifndef BULWARK_WEBPUSH_H
#define BULWARK_WEBPUSH_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define WEBPUSH_KEY_LEN		65	/* uncompressed P-256 point */
#define WEBPUSH_PRIV_LEN	32
#define WEBPUSH_AUTH_LEN	16
#define WEBPUSH_SALT_LEN	16
#define WEBPUSH_RS		4096	/* RFC 8291 4: at least 4096 */
/* One record holds the message, its delimiter and the GCM tag. */
#define WEBPUSH_PLAIN_MAX	(WEBPUSH_RS - 1 - 16)

/*
 * Appends the aes128gcm body of the len bytes at plain for the user
 * agent key ua_public (WEBPUSH_KEY_LEN bytes) and auth secret
 * (WEBPUSH_AUTH_LEN) to out, with a fresh key pair and salt.  Returns 0,
 * or -1 (out unchanged) for a key that is not a point of P-256, a
 * message above WEBPUSH_PLAIN_MAX, or a failure of the library.
 */
int	webpush_encrypt(const uint8_t *ua_public, const uint8_t *auth,
	    const void *plain, size_t len, struct buf *out);

/*
 * The same with the application server's key pair (as_private,
 * WEBPUSH_PRIV_LEN bytes; as_public, WEBPUSH_KEY_LEN) and the salt
 * given: for tests against RFC 8291 Appendix A.
 */
int	webpush_encrypt_with(const uint8_t *ua_public, const uint8_t *auth,
	    const uint8_t *as_private, const uint8_t *as_public,
	    const uint8_t *salt, const void *plain, size_t len,
	    struct buf *out);

#endif
