/* SPDX-License-Identifier: ISC */
/*
 * key.h: how the store lays out its LMDB keys so that the common questions
 * are range scans.
 *
 * An address key is the domain, a NUL, then the local part: all accounts
 * (or aliases) of one domain are one contiguous range starting at
 * "domain\0", which makes listing a domain and refusing to delete a domain
 * still in use a short scan.  NUL sorts first, so "a.org\0..." comes before
 * "a.org.uk\0...".  Numeric keys are big-endian so that they sort as numbers.
 */
#ifndef BULWARK_KEY_H
#define BULWARK_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "name.h"

#define KEY_ADDR_MAX	(NAME_DOMAIN_MAX + 1 + NAME_LOCAL_MAX)

/* Writes the key of address a into key; returns its length. */
size_t	key_addr(uint8_t key[KEY_ADDR_MAX], const struct name_addr *a);
/*
 * Writes the prefix of every address key of domain into key ("domain\0");
 * returns its length.
 */
size_t	key_domain_prefix(uint8_t key[KEY_ADDR_MAX], const char *domain);
/*
 * Turns an address key back into "local@domain" in out (size outlen).
 * Returns 0, or -1 if the key is malformed or out too small.
 */
int	key_addr_name(const void *key, size_t len, char *out, size_t outlen);
/* Whether key [p, p + len) starts with prefix [pre, pre + plen). */
int	key_has_prefix(const void *p, size_t len, const void *pre,
	    size_t plen);
/* Writes v big-endian into key. */
void	key_u64(uint8_t key[8], uint64_t v);

/*
 * Keys of the mail databases (db.h): fixed-width big-endian fields and
 * hashes appended in order, so that a key's prefix (the account, then the
 * mailbox, ...) is a range.  Build one with key_mail_init and the putters;
 * each putter ignores what does not fit (no mail key comes near the size).
 */
#define KEY_MAIL_MAX	64

struct key_mail {
	uint8_t		 b[KEY_MAIL_MAX];
	size_t		 len;
};

/* Starts a key with the account id. */
void	key_mail_init(struct key_mail *k, uint64_t account_id);
void	key_mail_u32(struct key_mail *k, uint32_t v);
void	key_mail_u64(struct key_mail *k, uint64_t v);
void	key_mail_bytes(struct key_mail *k, const void *p, size_t n);
/* The MDB_val of k, borrowed from k. */
#define KEY_MAIL_VAL(k)	((MDB_val){ (k)->len, (void *)(k)->b })

#endif
