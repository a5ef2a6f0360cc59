/* SPDX-License-Identifier: ISC */
/*
 * message.h: messages of an account: the write steps that add one to a
 * mailbox and destroy one, and the reads of the admin and protocol paths.
 *
 * A message has an email id (u64 per account, never reused), a blob (the
 * raw bytes, blob.h), a thread id, its received date, size, system flags
 * and keywords, the parsed record of lib/msgrec.h (kept under the same id
 * in msgrecs, so that flag changes do not rewrite it) and its membership
 * in one or more mailboxes, each with a UID and a modseq.  The indexes of
 * db.h make the common questions range scans: mailbox by UID, mailbox by
 * received date, thread members, Message-ID to emails.
 *
 * Threads follow RFC 8621 3: a new message joins the thread of a message
 * whose Message-ID it names in In-Reply-To or References, if both have the
 * same base subject (RFC 5256 2.1); otherwise it starts a thread.
 *
 * Every call that writes runs inside the caller's write transaction (txn.h
 * batches them) and appends its change-log entries there; on an error the
 * caller aborts that transaction (or its nested one).  err is set whenever
 * the status is not IPC_S_OK.
 */
#ifndef BULWARK_MESSAGE_H
#define BULWARK_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "msghead.h"
#include "record.h"
#include "wire.h"

struct blob_tmp;

/* Same Message-ID into the same mailbox within this many seconds: kept once. */
#define MESSAGE_DUP_WINDOW	600
/* In-Reply-To and References entries looked up for threading, at most. */
#define MESSAGE_THREAD_REFS	64

/* A message to add; everything is borrowed. */
struct message_new {
	uint64_t		 account_id;
	uint32_t		 mailbox_id;
	uint64_t		 received;	/* seconds since the epoch */
	uint64_t		 now;		/* for the duplicate window */
	const void		*data;		/* the raw message */
	size_t			 size;
	/* NULL, or data already in a blob file (blob_ref_tmp) */
	struct blob_tmp		*tmp;
	uint8_t			 hash[MSG_HASH_LEN];	/* of data */
	const void		*record;	/* checked by msgrec_decode */
	size_t			 record_len;
	const char		*message_id;	/* "" if none */
	const char		*base_subject;
	const struct wire_strlist *in_reply_to;	/* may be NULL */
	const struct wire_strlist *references;	/* may be NULL */
	uint32_t		 flags;		/* MSG_F_* */
	bool			 dup_check;	/* suppress duplicates */
};

struct message_result {
	uint64_t	 email_id;
	uint32_t	 uid;
	uint64_t	 modseq;
	uint64_t	 thread_id;
	bool		 duplicate;	/* nothing stored; ids of the first */
	bool		 blob_stored;	/* false: the bytes were shared */
};

/*
 * Adds message in to its mailbox inside write txn: quota (IPC_S_QUOTA),
 * duplicate suppression, blob, thread, indexes, counts, change log.
 * Returns IPC_S_OK, IPC_S_NOTFOUND (account or mailbox), IPC_S_QUOTA or
 * an error.
 */
enum ipc_status message_append(struct store_db *db, MDB_txn *txn,
	    const struct message_new *in, struct message_result *out,
	    struct store_error *err);
/*
 * Destroys email email_id of account_id inside write txn: it leaves every
 * mailbox (its UIDs are remembered in vanished), its thread and indexes,
 * and drops its blob reference.  Returns IPC_S_OK, IPC_S_NOTFOUND or an
 * error.
 */
enum ipc_status message_destroy(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint64_t email_id, struct store_error *err);
/* Reads the message record: IPC_S_OK, IPC_S_NOTFOUND or an error. */
enum ipc_status message_get(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint64_t email_id, struct message_rec *m,
	    struct store_error *err);
/*
 * Points *p, *len_r at the parsed record of the email, valid while txn
 * lives.  Returns IPC_S_OK, IPC_S_NOTFOUND or an error.
 */
enum ipc_status message_record(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint64_t email_id, const void **p,
	    size_t *len_r, struct store_error *err);
/* The two above through seq (db.h), for reads in email id order. */
enum ipc_status message_get_seq(struct store_db *db, MDB_txn *txn,
	    struct db_seq *seq, uint64_t account_id, uint64_t email_id,
	    struct message_rec *m, struct store_error *err);
/* With head, only what record_message_head_dec() reads of the email. */
enum ipc_status message_get_seq_as(struct store_db *db, MDB_txn *txn,
	    struct db_seq *seq, uint64_t account_id, uint64_t email_id,
	    struct message_rec *m, bool head, struct store_error *err);
enum ipc_status message_record_seq(struct store_db *db, MDB_txn *txn,
	    struct db_seq *seq, uint64_t account_id, uint64_t email_id,
	    const void **p, size_t *len_r, struct store_error *err);
/*
 * Deletes all mail of account_id inside write txn (the account is being
 * deleted): messages, mailboxes, indexes, change log, and its blob
 * references.  Returns IPC_S_OK or an error.
 */
enum ipc_status message_account_purge(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, struct store_error *err);

/* Sees one message of a mailbox; returns 0 to go on, non-zero to stop. */
typedef int message_uid_fn(uint32_t uid, uint64_t email_id, uint64_t modseq,
    void *arg);
/*
 * Calls fn for each message of mailbox mailbox_id in UID order, from UID
 * first on.  Returns IPC_S_OK or an error.
 */
enum ipc_status message_scan_uids(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mailbox_id, uint32_t first,
	    message_uid_fn *fn, void *arg, struct store_error *err);
/* Finds the email at uid: IPC_S_OK, IPC_S_NOTFOUND or an error. */
enum ipc_status message_find_uid(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mailbox_id, uint32_t uid,
	    uint64_t *email_id_r, struct store_error *err);
/*
 * Deletes duplicate-suppression entries older than MESSAGE_DUP_WINDOW at
 * now, at most max of them, inside write txn; *pruned_r says how many.
 * An entry that does not decode is deleted too (it can only mislead); one
 * stamped later than now (a clock that went back) is kept.  storaged runs
 * this every MESSAGE_DUP_WINDOW seconds through the write path.
 * Returns IPC_S_OK or an error.
 */
enum ipc_status message_dup_prune(struct store_db *db, MDB_txn *txn,
	    uint64_t now, size_t max, size_t *pruned_r,
	    struct store_error *err);
/*
 * Formats the flags and keywords of m as IMAP shows them ("\\Seen
 * \\Flagged $label") into out (size outlen, cut if too small).
 */
void	message_flags_text(const struct message_rec *m, char *out,
	    size_t outlen);

#endif
