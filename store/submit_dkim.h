/* SPDX-License-Identifier: ISC */
/*
 * submit_dkim.h: DKIM signatures (RFC 6376, lib/dkim.h) on the mail the
 * relay sends.  The keys are those of the dkim DOMAIN { } sections of
 * bulwark.conf(5), which the master reads and sends storaged alone
 * (CONF_DKIM); storaged loads them before its chroot, keeps them until it
 * exits (a reload with other keys restarts it), and RELAY_TAKE puts the
 * signature in front of the message it writes for lmtpd (submit.h), so
 * that neither lmtpd nor any other worker ever holds a key.
 *
 * Which key signs: the one whose domain is the domain of the first
 * address of the message's first From field (RFC 5322 3.6.2: the author,
 * which DMARC aligns d= with), compared in any case.  Only that exact
 * domain: a key of example.org does not sign mail From sub.example.org
 * (a dkim section for the subdomain does).  A message whose From domain
 * has no key goes unsigned.
 *
 * The signed fields are DKIM_SIGNED_FIELDS, which do not include Bcc: the
 * relay takes Bcc fields out before it sends (RFC 8621 7.5) without
 * breaking the signature.
 */
#ifndef BULWARK_SUBMIT_DKIM_H
#define BULWARK_SUBMIT_DKIM_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

struct dkim_key;

/* One dkim section; the strings and the key are owned. */
struct submit_dkim_key {
	char		*domain;	/* d=, as configured */
	char		*selector;	/* s= */
	struct dkim_key	*key;
};

/* The keys of one configuration; zero it to start with none. */
struct submit_dkim {
	struct submit_dkim_key	*v;
	size_t			 n;
};

/*
 * Adds the key of domain (published under selector) from len bytes of PEM
 * text at pem (borrowed; the caller wipes it), then signs a small message
 * with it once: that checks the domain, selector and key as the relay
 * will use them, and makes OpenSSL load what it loads lazily (providers,
 * the random generator) while the file system is still there, so call it
 * before the chroot.  Returns 0, or -1 with a reason in err (errlen bytes)
 * and nothing added.
 */
int	submit_dkim_add(struct submit_dkim *d, const char *domain,
	    const char *selector, const void *pem, size_t len, char *err,
	    size_t errlen);
/* Frees the keys (OpenSSL wipes them) and empties d. */
void	submit_dkim_clear(struct submit_dkim *d);

/*
 * The key for the len bytes of message at msg (NULL when len is 0): that
 * of the domain of its first From address, as above; NULL when the
 * message has no From field, no address in it or no key for its domain.
 */
const struct submit_dkim_key *submit_dkim_find(const struct submit_dkim *d,
	    const void *msg, size_t len);

/*
 * Signs the message for its From domain at time now: appends the
 * DKIM-Signature field to out, to go before the message's first byte,
 * with the line ends of the message's first line (CRLF; LF only for a
 * message in Unix form, as bulwarkctl dkim sign writes it).  Returns 1
 * when it signed and *key_r (if not NULL) is the key, 0 when no key is
 * for its From domain, -1 when signing failed, with a reason in err;
 * nothing is appended then.
 */
int	submit_dkim_sign(const struct submit_dkim *d, const void *msg,
	    size_t len, time_t now, struct buf *out,
	    const struct submit_dkim_key **key_r, char *err, size_t errlen);

#endif
