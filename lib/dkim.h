/* SPDX-License-Identifier: ISC */
/*
 * dkim.h: DKIM signatures (RFC 6376) for the mail Bulwark sends, with
 * rsa-sha256 (RFC 6376 3.3.1, keys of 1024 to 4096 bits as RFC 8301 3.2
 * asks) and ed25519-sha256 (RFC 8463), on OpenSSL 3.
 *
 * Every signature made here has the same shape, so that nothing about it
 * is a choice a caller can get wrong:
 *   - c=relaxed/relaxed (RFC 6376 3.4.2, 3.4.4): it survives the rewrapping
 *     and whitespace changes of relays, which "simple" does not;
 *   - the body hash covers the whole canonicalized body: no l= (RFC 6376
 *     8.2: l= lets anyone append to a signed message);
 *   - t= is the signing time; no x=, no i= (it defaults to "@" d=), no q=
 *     (dns/txt is the default);
 *   - h= names the fields of DKIM_SIGNED_FIELDS that the message holds, in
 *     that order, each as many times as it occurs (instances are signed
 *     from the bottom up, RFC 6376 5.4.2), and the fields of
 *     DKIM_OVERSIGNED_FIELDS once more, so that adding such a field later
 *     breaks the signature (RFC 6376 5.4, 8.15);
 *   - the field is folded so that no line is longer than 78 characters
 *     (RFC 5322 2.1.1) unless one tag value alone is (a 253-byte d=).
 *
 * Line ends: messages are RFC 5322 text with CRLF line ends.  A message
 * with bare LF line ends (a file written on Unix) is signed as it will be
 * sent over SMTP, where every line ends in CRLF (RFC 6376 5.3): an LF,
 * with or without a CR before it, ends a line, and canonicalization puts a
 * CRLF there.  So the signature is valid for the message once its line
 * ends are CRLF, which is how it travels; a bare CR is an ordinary byte.
 * This is also how verifiers read such a file (dkimpy, OpenDKIM).
 *
 * The key is the one secret here: struct dkim_key holds an OpenSSL key,
 * which OpenSSL wipes when it is freed, and PEM text produced by
 * dkim_key_pem() is in a struct buf, which buf_clear() wipes.
 */
#ifndef BULWARK_DKIM_H
#define BULWARK_DKIM_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

/*
 * The header fields signed when present (RFC 6376 5.4.1): those a reader
 * sees and those that decide how the body is read.  List-* fields are
 * added by list managers, not by the author's server; Received and
 * Return-Path change in transit and are never signed.
 */
#define DKIM_SIGNED_FIELDS \
	"From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date", \
	"Message-ID", "In-Reply-To", "References", "MIME-Version", \
	"Content-Type", "Content-Transfer-Encoding"
/* The fields listed once more than they occur (RFC 6376 8.15). */
#define DKIM_OVERSIGNED_FIELDS \
	"From", "To", "Cc", "Subject", "Date"

/* Sizes of keys we make and accept. */
#define DKIM_RSA_BITS		2048	/* made by dkim_key_generate */
#define DKIM_RSA_MIN_BITS	1024	/* RFC 8301 3.2: MUST NOT be less */
#define DKIM_RSA_MAX_BITS	4096	/* RFC 8301 3.2: verifiers stop here */
/* Longest domain name (RFC 1035 2.3.4) and label, for d= and s=. */
#define DKIM_DOMAIN_MAX		253
#define DKIM_LABEL_MAX		63

enum dkim_alg {
	DKIM_RSA_SHA256,	/* a=rsa-sha256, k=rsa */
	DKIM_ED25519_SHA256	/* a=ed25519-sha256, k=ed25519 */
};

/* A private signing key; opaque. */
struct dkim_key;

/*
 * Loads a private key from len bytes of PEM text at pem (borrowed; it need
 * not end in NUL): PKCS#8 "PRIVATE KEY" as dkim_key_pem() writes it, or
 * the traditional "RSA PRIVATE KEY".  The key's type chooses the
 * algorithm.  Refused, with NULL returned and a reason in err (errlen
 * bytes): no key in the text, an encrypted key (there is nobody to ask
 * for a passphrase), a key that is neither RSA nor Ed25519, an RSA key of
 * fewer than DKIM_RSA_MIN_BITS or more than DKIM_RSA_MAX_BITS bits.  Free
 * the result with dkim_key_free().
 */
struct dkim_key	*dkim_key_load(const char *pem, size_t len, char *err,
		    size_t errlen);
/*
 * Makes a new key: RSA of DKIM_RSA_BITS bits or Ed25519.  Returns NULL
 * with a reason in err only when OpenSSL fails (no entropy).  Free the
 * result with dkim_key_free().
 */
struct dkim_key	*dkim_key_generate(enum dkim_alg alg, char *err,
		    size_t errlen);
/* Frees *kp (which may be NULL), wiping the key, and NULLs it. */
void		 dkim_key_free(struct dkim_key **kp);
/* The algorithm the key signs with. */
enum dkim_alg	 dkim_key_alg(const struct dkim_key *k);
/*
 * Appends the private key to out as unencrypted PKCS#8 PEM ("-----BEGIN
 * PRIVATE KEY-----", LF line ends), which dkim_key_load() reads back.
 * Returns 0, or -1 when OpenSSL fails (nothing is appended then).  The
 * caller clears out with buf_clear(), which wipes it.
 */
int		 dkim_key_pem(const struct dkim_key *k, struct buf *out);
/*
 * Appends the value of the key's DNS TXT record (RFC 6376 3.6.1, RFC 8463
 * 4.2) to out, on one line without quotes:
 *	v=DKIM1; k=rsa; p=<base64 of the DER SubjectPublicKeyInfo>
 *	v=DKIM1; k=ed25519; p=<base64 of the 32-byte public key>
 * (For RSA, every verifier reads the SubjectPublicKeyInfo that "openssl
 * rsa -pubout" writes, as RFC 6376 appendix C does.)  Returns 0, or -1
 * when OpenSSL fails (nothing is appended then).
 */
int		 dkim_public_record(const struct dkim_key *k, struct buf *out);
/*
 * Appends one line of a DNS zone file that publishes the key for selector
 * of domain (both borrowed, checked as for dkim_sign) to out:
 *	selector._domainkey.domain. IN TXT "v=DKIM1; k=rsa; p=..." "..."
 * with the record split into strings of at most 255 bytes (RFC 1035
 * 3.3.14; RFC 6376 3.6.2.2 joins them again), then "\n".  Returns 0, or
 * -1 with a reason in err for a bad domain or selector or an OpenSSL
 * failure (nothing is appended then).
 */
int		 dkim_zone_record(const struct dkim_key *k, const char *domain,
		    const char *selector, struct buf *out, char *err,
		    size_t errlen);
/*
 * Signs the len bytes of the message at msg (borrowed; NULL when len is
 * 0) for domain (d=) with key k published under selector (s=), at time
 * now (t=), and appends one complete header field to header_out:
 * "DKIM-Signature: v=1; a=...\r\n", folded with CRLF SP, to be put before
 * the message's first line unchanged (RFC 6376 5.6).  domain and selector
 * are ASCII host names (letters, digits, hyphens, dots; an IDN in its
 * A-label form) of at most DKIM_DOMAIN_MAX bytes and DKIM_LABEL_MAX per
 * label.  Line ends are read as the file comment says.
 *
 * Returns 0, or -1 with a reason in err (errlen bytes) and nothing
 * appended: a bad domain or selector, a message without a From field
 * (RFC 6376 5.4: From MUST be signed), now before 1970, or an OpenSSL
 * failure.
 */
int		 dkim_sign(const struct dkim_key *k, const char *domain,
		    const char *selector, const void *msg, size_t len,
		    time_t now, struct buf *header_out, char *err,
		    size_t errlen);

/*
 * The canonicalizations, for tests and for a verifier to come.
 *
 * dkim_canon_header appends the relaxed form (RFC 6376 3.4.2) of one
 * header field, given as its raw bytes from the first byte of its name to
 * the end of its last line, line end included or not, to out, ending in
 * CRLF: "name:value\r\n" with the name in lower case, folding removed,
 * white space runs made one SP and none at either end of the value.
 *
 * dkim_canon_body appends the relaxed form (RFC 6376 3.4.4) of len bytes
 * of body at p (NULL when len is 0) to out: each line without trailing
 * white space, runs of white space made one SP, empty lines at the end
 * removed, CRLF after each line; an empty body gives nothing.
 */
void		 dkim_canon_header(const void *field, size_t len,
		    struct buf *out);
void		 dkim_canon_body(const void *p, size_t len, struct buf *out);

#endif
