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
 *
 * Mail records (schema version 2):
 *
 *	mail state	U8 1, U64 modseq, U64 next_email, U64 next_thread,
 *			U32 next_mailbox
 *	mailbox		U8 2, U32 parent, STR name, STR role, U32 uidvalidity,
 *			U32 uidnext, U64 highestmodseq, U32 total,
 *			U32 unread, U32 threads, BOOL subscribed,
 *			U32 sort_order, U64 created, U64 size,
 *			U32 deleted, U64 deleted_size
 *			(version 1, of schema version 2, ended at created;
 *			schema step 3 rewrote every mailbox as version 2)
 *	message		U8 1, BYTES blob hash (32), U64 thread, U64 received,
 *			U64 size, U32 flags, STRLIST keywords,
 *			STR base subject, STR Message-ID, U32 n, then n
 *			times U32 mailbox, U32 uid, U64 modseq
 *	change		U8 1, U8 object type, U8 kind, U64 id
 *	duplicate	U8 1, U64 delivered at, U64 email, U32 uid,
 *			U64 modseq
 *
 * Added by schema version 3:
 *
 *	metadata	U8 1, BYTES value (an RFC 5464 annotation)
 */
#ifndef BULWARK_RECORD_H
#define BULWARK_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "buf.h"
#include "mailflags.h"
#include "name.h"

#define RECORD_V1	1
#define RECORD_V2	2

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

/* The per-account counters of the mail store. */
struct mstate_rec {
	uint64_t	 modseq;	/* highest used, 0 before any */
	uint64_t	 next_email;	/* email ids start at 1, never reused */
	uint64_t	 next_thread;
	uint32_t	 next_mailbox;
	/*
	 * Change log entries and vanished UIDs at or below this modseq may
	 * have been pruned (changelog_prune); 0: none ever was.  Stored in
	 * version 2 of the record, which is written only once it is set.
	 */
	uint64_t	 floor;
};

#define MAILBOX_NAME_MAX	1024	/* bytes of the whole UTF-8 path */
#define MAILBOX_ROLE_MAX	32

struct mailbox_rec {
	uint32_t	 parent;	/* 0: top level */
	char		 name[MAILBOX_NAME_MAX + 1];	/* full path, '/' */
	char		 role[MAILBOX_ROLE_MAX + 1];	/* "" or RFC 8621 */
	uint32_t	 uidvalidity;
	uint32_t	 uidnext;
	uint64_t	 highestmodseq;
	uint32_t	 total, unread, threads;
	bool		 subscribed;
	uint32_t	 sort_order;
	uint64_t	 created;
	/*
	 * Kept with every change of membership or flags (mailbox_count_*):
	 * octets of all messages (RFC 8438 STATUS SIZE), and the messages
	 * with \Deleted and their octets (RFC 9208 4.4, RFC 9051 STATUS
	 * DELETED).
	 */
	uint64_t	 size;
	uint32_t	 deleted;
	uint64_t	 deleted_size;
};

/* System flags (RFC 9051 2.3.2), as bits of message_rec.flags. */
#define MSG_F_SEEN	MAIL_F_SEEN
#define MSG_F_ANSWERED	MAIL_F_ANSWERED
#define MSG_F_FLAGGED	MAIL_F_FLAGGED
#define MSG_F_DELETED	MAIL_F_DELETED
#define MSG_F_DRAFT	MAIL_F_DRAFT

#define MSG_MAX_MAILBOXES	64	/* mailboxes one message is in */
#define MSG_MAX_KEYWORDS	32
#define MSG_KEYWORD_MAX		255	/* RFC 8621 4.1.1 */
#define MSG_SUBJECT_MAX		998
#define MSG_MSGID_MAX		998
#define MSG_HASH_LEN		32	/* BLAKE2b-256 */

struct message_mbox {
	uint32_t	 mailbox;
	uint32_t	 uid;
	uint64_t	 modseq;
};

/* Decoded, only the first nkeywords keywords and nmbox mboxes are set. */
struct message_rec {
	uint8_t		 hash[MSG_HASH_LEN];
	uint64_t	 thread;
	uint64_t	 received;
	uint64_t	 size;
	uint32_t	 flags;		/* MSG_F_* */
	uint32_t	 nkeywords;
	char		 keywords[MSG_MAX_KEYWORDS][MSG_KEYWORD_MAX + 1];
	char		 base_subject[MSG_SUBJECT_MAX + 1];
	char		 message_id[MSG_MSGID_MAX + 1];
	uint32_t	 nmbox;
	struct message_mbox mbox[MSG_MAX_MAILBOXES];
};

/* The objects and kinds a change-log entry names. */
enum change_type {
	CHANGE_MAILBOX = 1, CHANGE_EMAIL, CHANGE_THREAD,
	CHANGE_IDENTITY = 4, CHANGE_SUBMISSION = 5,	/* submit.h */
	CHANGE_VACATION = 6				/* vacation.h */
};
enum change_kind { CHANGE_CREATED = 1, CHANGE_UPDATED, CHANGE_DESTROYED };

struct change_rec {
	uint8_t		 type;		/* enum change_type */
	uint8_t		 kind;		/* enum change_kind */
	uint64_t	 id;
};

struct dup_rec {
	uint64_t	 at;		/* seconds since the epoch */
	uint64_t	 email;
	uint32_t	 uid;
	uint64_t	 modseq;
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
void	record_mstate_enc(struct buf *out, const struct mstate_rec *r);
int	record_mstate_dec(const void *p, size_t len, struct mstate_rec *r);
void	record_mailbox_enc(struct buf *out, const struct mailbox_rec *r);
int	record_mailbox_dec(const void *p, size_t len, struct mailbox_rec *r);
/* Version 1 of the mailbox record (schema step 3 only); counters 0. */
int	record_mailbox_v1_dec(const void *p, size_t len,
	    struct mailbox_rec *r);
void	record_message_enc(struct buf *out, const struct message_rec *r);
int	record_message_dec(const void *p, size_t len, struct message_rec *r);
/*
 * The head of a message record alone: hash, thread, received, size and
 * flags (no keywords, subject, Message-ID or mailboxes, which stay empty),
 * for reads that need no more (SEARCH's text keys).
 */
int	record_message_head_dec(const void *p, size_t len,
	    struct message_rec *r);
void	record_change_enc(struct buf *out, const struct change_rec *r);
int	record_change_dec(const void *p, size_t len, struct change_rec *r);
void	record_dup_enc(struct buf *out, const struct dup_rec *r);
int	record_dup_dec(const void *p, size_t len, struct dup_rec *r);
/*
 * The value of an annotation (at most WIRE_MAX_LEN octets); the decoder
 * points *value_r into [p, p + len).
 */
void	record_metadata_enc(struct buf *out, const void *value, size_t len);
int	record_metadata_dec(const void *p, size_t len, const void **value_r,
	    size_t *len_r);

#endif
