/* SPDX-License-Identifier: ISC */
/*
 * db.h: the LMDB environment of storaged, its named databases, transaction
 * helpers and the error type every store call reports through.
 *
 * storaged is the only process that opens the environment.  Read
 * transactions and the short administrative writes run on the event loop
 * thread; mail writes run on the one writer thread of txn.h (group commit),
 * which the commit lock (dblog.h) serializes with the loop's writes.  The
 * thread pool of workq.h never touches LMDB.  Commits are durable when
 * db_commit returns, though LMDB is opened with MDB_NOSYNC, and the
 * writer's records before their commit: dblog.h says how.
 *
 * Named databases of schema version 1 (layouts in key.h and record.h):
 *
 *	meta		"version" -> u64 BE schema version
 *			"token_key" -> 32 random bytes (session tokens)
 *			"next_account_id" -> u64 BE, never reused
 *	domains		domain name -> domain record
 *	accounts	address key -> account record
 *	account_ids	u64 BE id -> account id record (the address)
 *	aliases		address key -> alias record (its target)
 *	alias_targets	(dupsort) target address key -> alias address key
 *
 * Added by schema version 2, the mail store (keys in mailkey.h, records in
 * record.h; A is the account id, u64 BE, first in every key so that one
 * account is one range):
 *
 *	mail_state	A -> per-account counters (modseq, next ids)
 *	mailboxes	A mbox(u32) -> mailbox record
 *	messages	A email(u64) -> message record
 *	msgrecs		A email -> the parsed record (lib/msgrec.h)
 *	mbox_uids	A mbox uid(u32) -> email(u64) modseq(u64)
 *	mbox_dates	A mbox received(u64) email -> uid(u32)
 *	mbox_threads	A mbox thread(u64) -> u32 members in that mailbox
 *	threads		A thread email -> "" (thread members)
 *	msgids		(dupsort) A hash16(Message-ID) -> email
 *	changes		A modseq(u64) -> change record
 *	vanished	A mbox modseq -> uid (expunged, for QRESYNC)
 *	dups		A mbox hash16(Message-ID) -> duplicate record
 *	blobs		hash32 (BLAKE2b-256) -> raw message bytes
 *	blob_refs	hash32 -> u64 BE reference count
 *	catchall	domain name -> alias record (the catch-all's target)
 *
 * Schema version 3 rewrote every mailbox record with its size and
 * \Deleted counters (record.h) and added the annotations of RFC 5464
 * (lib/mailmeta.h):
 *
 *	metadata	A mbox(u32, 0: the server) entry name (canonical,
 *			no NUL) -> metadata record (the value)
 *
 * Schema version 4 added the subscribed names that no mailbox has
 * (subscription.h; the others are in their mailbox's record):
 *
 *	subscriptions	A hash16(stored mailbox name) -> the name (no NUL)
 *
 * Schema version 5 added the JMAP uploads (RFC 8620 6.1, upload.h), each
 * holding one reference to its blob in blobs:
 *
 *	uploads		A hash32 -> upload record (size, expiry, type)
 *			A -> the account's upload usage (bytes, count)
 *	upload_expiry	expires(u64 BE) A hash32 -> "" (sweep order)
 *
 * Schema version 6 added JMAP submission (RFC 8621 6 and 7, submit.h):
 *
 *	identities	A id(u64) -> identity record; A -> next id
 *	submissions	A id(u64) -> submission record (one blob reference
 *			each); A -> next id
 *	relay_queue	due(u64 BE) A id -> "" (the relay's order)
 *
 * Schema version 8 added JMAP push subscriptions (RFC 8620 7.2,
 * pushsub.h):
 *
 *	pushsubs	A id(u64) -> subscription record; A -> next id
 *
 * Schema version 9 moved big message blobs out of LMDB into files of the
 * data directory, blobs/<64 hex of the hash> (blob.h); a blob is in blobs
 * or in blob_files, never both, and blob_refs counts both kinds:
 *
 *	blob_files	hash32 -> u64 BE size of the file blobs/<hex>, then
 *			the message's header (to its blank line) if it is
 *			at most BLOB_HEAD_MAX bytes
 *
 * Schema version 10 added what IMAP FETCH asks most, written once when a
 * message is stored, beside its record (and by the step, for every
 * message stored before):
 *
 *	msgimap		A email -> ENVELOPE and BODYSTRUCTURE as imapd
 *			sends them (lib/imap_struct.h, the stored items);
 *			none for a message whose items are too long or
 *			whose record does not open
 *
 * Schema version 11 added what SEARCH reads of a message's header, in
 * email order (message.h, MSGHEAD_*; written as msgimap is):
 *
 *	msghead		A email -> u8 MSGHEAD_V1, u32 BE length of the
 *			record's envelope 0 (lib/msgrec.h, env0), its
 *			bytes, then the message's top-level header (to and
 *			with its blank line); none for a message whose
 *			entry would pass MSGHEAD_MAX or whose record does
 *			not open
 */
#ifndef BULWARK_DB_H
#define BULWARK_DB_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sys/uio.h>

#include <lmdb.h>

#include "ipc_msg.h"

/* A store call's error text, for the reply and the log. */
struct store_error {
	char		 text[256];
};

/*
 * The writer of txn.h keeps its transaction open across batches whose
 * records are durable, and acknowledges their operations before LMDB
 * commits them (dblog.h).  What every other thread sees stays as if each
 * had committed at its acknowledgement: db_begin of a read transaction
 * waits while acknowledged operations are not committed yet, and of a
 * write transaction asks for the commit before it waits for the commit
 * lock; both call poke(arg), which makes the writer commit at once.
 * Everything here is behind mtx, except that acked is also read without
 * it (a read transaction's db_begin, while nothing acknowledged is held):
 * it is written with a release store under mtx, read with an acquire load.
 */
struct db_held {
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	bool		 open;		/* a transaction is held open */
	bool		 acked;		/* operations of it were acknowledged */
	unsigned	 writers;	/* other writers waiting for it */
	unsigned	 poking;	/* threads in poke now */
	/* NULL while no writer holds transactions (db_held_set). */
	void		(*poke)(void *);
	void		*arg;
	bool		 init;
};

struct store_db {
	MDB_env		*env;
	/* The highest UIDVALIDITY given out since the open (mbox_op.c). */
	uint32_t	 last_uidvalidity;
	MDB_dbi		 meta;
	MDB_dbi		 domains;
	MDB_dbi		 accounts;
	MDB_dbi		 account_ids;
	MDB_dbi		 aliases;
	MDB_dbi		 alias_targets;
	MDB_dbi		 mail_state;
	MDB_dbi		 mailboxes;
	MDB_dbi		 messages;
	MDB_dbi		 msgrecs;
	MDB_dbi		 mbox_uids;
	MDB_dbi		 mbox_dates;
	MDB_dbi		 mbox_threads;
	MDB_dbi		 threads;
	MDB_dbi		 msgids;
	MDB_dbi		 changes;
	MDB_dbi		 vanished;
	MDB_dbi		 dups;
	MDB_dbi		 blobs;
	MDB_dbi		 blob_refs;
	MDB_dbi		 catchall;
	MDB_dbi		 metadata;
	MDB_dbi		 subscriptions;
	MDB_dbi		 uploads;
	MDB_dbi		 upload_expiry;
	MDB_dbi		 identities;
	MDB_dbi		 submissions;
	MDB_dbi		 relay_queue;
	MDB_dbi		 vacations;	/* vacation.h */
	MDB_dbi		 pushsubs;	/* pushsub.h */
	MDB_dbi		 blob_files;	/* blob.h */
	/*
	 * lib/imap_struct.h; 0 (LMDB's own free list, never a named
	 * database) in a store older than version 10, where it is not
	 * written: message.c writes it only when it is open.
	 */
	MDB_dbi		 msgimap;
	MDB_dbi		 msghead;	/* the same, before version 11 */
	/* The files of big blobs (blobfile.h); NULL until db_open. */
	struct blobfile	*files;
	/* Durability (dblog.h); NULL until db_env_open. */
	struct dblog	*log;
	/*
	 * The write transaction open now (the commit lock's holder's);
	 * atomic, since any thread's commit compares its transaction to it.
	 */
	MDB_txn *_Atomic write_txn;
	/* The writer's transaction kept open (txn.h). */
	struct db_held	 held;
};


/* Named databases an environment may hold, with room for later ones. */
#define DB_MAXDBS	64

/*
 * Formats err's text and returns st, so that a failing call reads
 * `return db_error(err, IPC_S_NOTFOUND, "no such account");`.
 */
enum ipc_status db_error(struct store_error *err, enum ipc_status st,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Reports an unexpected LMDB error rc during what: logs it and returns
 * IPC_S_INTERNAL, or IPC_S_TOOBIG with a clear text for MDB_MAP_FULL (the
 * configured map size is too small).
 */
enum ipc_status db_mdb_error(struct store_error *err, int rc,
	    const char *what);

/*
 * Opens (creating on first start) the environment in directory dir, which
 * is created if missing, then brings its schema up to date (schema.h) and
 * opens every named database.  Returns 0, or -1 with err set; db is then
 * closed.
 */
int	db_open(struct store_db *db, const char *dir, uint64_t map_size,
	    struct store_error *err);
/*
 * Opens the environment only, without schema work (for schema tests).
 * Returns 0 or -1 with err set.
 */
int	db_env_open(struct store_db *db, const char *dir, uint64_t map_size,
	    struct store_error *err);
/* Closes the environment; db may be closed already. */
void	db_close(struct store_db *db);

/*
 * Begins a transaction (write or read-only) in *txn_r.  Returns IPC_S_OK or
 * an error status with err set.
 */
enum ipc_status db_begin(struct store_db *db, bool write, MDB_txn **txn_r,
	    struct store_error *err);
/*
 * Commits *txn (durably, for a write transaction: synced by LMDB in its
 * commit, dblog.h) and NULLs it; on failure the transaction is gone too.
 * Returns IPC_S_OK or an error with err set.
 */
enum ipc_status db_commit(MDB_txn **txn, struct store_error *err);
/*
 * Appends the record [iov] of what was applied in write transaction txn
 * since its last one to the redo log and syncs it (dblog.h), the files it
 * renamed into blobs/ synced first.  The transaction stays open.  Returns
 * 0, or -1 with err.
 */
int	db_record(MDB_txn *txn, const struct iovec *iov, int iovcnt,
	    struct store_error *err);
/*
 * Commits write transaction *txn whose records are durable (db_record),
 * without a sync, and NULLs it; a checkpoint starts if one is due.  A
 * failure is fatal: the records say it happened.
 */
void	db_commit_recorded(MDB_txn **txn);
/*
 * For the calling thread: whether its read transactions may begin before
 * the held transaction commits (the writer's threads, and lookups that
 * need not see the latest deliveries).  Returns the previous setting.
 */
bool	db_held_exempt(bool exempt);
/* Sets (the writer of txn.h) or clears (NULL) the poke of db->held. */
void	db_held_set(struct store_db *db, void (*poke)(void *), void *arg);
/* Commits a write transaction of dblog_recover (durable at its end). */
enum ipc_status db_commit_replayed(MDB_txn **txn, struct store_error *err);
/* Aborts *txn if not NULL and NULLs it. */
void	db_abort(MDB_txn **txn);
/* Microseconds from a to b (CLOCK_MONOTONIC), for the txn trace. */
long long db_usec(const struct timespec *a, const struct timespec *b);

/*
 * Reads a u64 stored big-endian under key in dbi into *v.  Returns
 * IPC_S_OK, IPC_S_NOTFOUND, or an error with err set.
 */
enum ipc_status db_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *key,
	    uint64_t *v, struct store_error *err);
/* Stores v big-endian under key.  Returns IPC_S_OK or an error. */
enum ipc_status db_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *key,
	    uint64_t v, struct store_error *err);

/*
 * Lookups in ascending key order through one cursor: a read over the
 * messages of a mailbox in UID order finds each next entry right after the
 * one before, which costs a step instead of a search from the root.
 * Zero it before the first db_seq_get; close it before its txn ends.
 */
struct db_seq {
	MDB_cursor	*c;
	bool		 at;		/* the cursor is on an entry */
};

/*
 * mdb_get through seq (NULL: plain mdb_get): the entry after the cursor's
 * is tried first, then the key is searched.  Returns 0, MDB_NOTFOUND or
 * an LMDB error.
 */
int	db_seq_get(MDB_txn *txn, MDB_dbi dbi, struct db_seq *seq,
	    const MDB_val *key, MDB_val *data);
void	db_seq_close(struct db_seq *seq);

/* Sees one entry of a scan; returns 0 to go on, non-zero to stop. */
typedef int db_scan_fn(const MDB_val *key, const MDB_val *val, void *arg);

/*
 * Calls fn, in key order, for each entry of dbi whose key starts with
 * [pre, pre + plen) (every entry when plen is 0), and for each of its
 * values in a dupsort database.  Returns IPC_S_OK, or an error with err.
 */
enum ipc_status db_scan(MDB_txn *txn, MDB_dbi dbi, const void *pre,
	    size_t plen, db_scan_fn *fn, void *arg, struct store_error *err);
/*
 * Calls fn for each value of the one key [key, key + klen) of dupsort
 * database dbi, in order.  Returns IPC_S_OK (also for a missing key), or an
 * error with err.
 */
enum ipc_status db_scan_dups(MDB_txn *txn, MDB_dbi dbi, const void *key,
	    size_t klen, db_scan_fn *fn, void *arg, struct store_error *err);

#endif
