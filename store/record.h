/* SPDX-License-Identifier: ISC */
/*
 * record.h: the values the store keeps in LMDB, as compact, versioned,
 * bounds-checked records.
 *
 * A record is a sequence of typed values in the encoding of lib/wire.h (the
 * one IPC uses, so that there is one reader to get right), starting with a
 * U8 record version.  Decoders copy what they keep (LMDB values live only as
 * long as their transaction), check every length and refuse a version they
 * do not know: a layout change is a schema migration (schema.h) that
 * rewrites the records.  No struct is ever stored as raw memory.
 *
 *	domain		U8 1, U64 created
 *	account		U8 1, U64 id, STR hash, U64 created, U64 quota_bytes,
 *			U64 quota_messages, U64 used_bytes,
 *			U64 used_messages, U32 auth_gen
 *	account id	U8 1, STR address
 *	alias		U8 1, STR target address, U64 created
 */
#ifndef BULWARK_RECORD_H
#define BULWARK_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "buf.h"
#include "name.h"

#define RECORD_V1	1

struct domain_rec {
	uint64_t	 created;	/* seconds since the epoch */
};

struct account_rec {
	uint64_t	 id;		/* never reused */
	char		 hash[crypto_pwhash_STRBYTES];	/* argon2id string */
	uint64_t	 created;
	uint64_t	 quota_bytes;	/* 0 = unlimited */
	uint64_t	 quota_messages;
	uint64_t	 used_bytes;
	uint64_t	 used_messages;
	uint32_t	 auth_gen;	/* raised by a password change */
};

struct alias_rec {
	char		 target[NAME_ADDR_MAX + 1];
	uint64_t	 created;
};

/*
 * Each encoder appends the record to out.  Each decoder reads [p, p + len)
 * into *r and returns 0, or -1 if the bytes are not a record it knows.
 */
void	record_domain_enc(struct buf *out, const struct domain_rec *r);
int	record_domain_dec(const void *p, size_t len, struct domain_rec *r);
void	record_account_enc(struct buf *out, const struct account_rec *r);
int	record_account_dec(const void *p, size_t len, struct account_rec *r);
void	record_account_id_enc(struct buf *out, const char *address);
int	record_account_id_dec(const void *p, size_t len,
	    char address[NAME_ADDR_MAX + 1]);
void	record_alias_enc(struct buf *out, const struct alias_rec *r);
int	record_alias_dec(const void *p, size_t len, struct alias_rec *r);

#endif
