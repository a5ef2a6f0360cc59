/* SPDX-License-Identifier: ISC */
/*
 * upload.h: the JMAP uploads of an account (RFC 8620 6.1) and reading a
 * blob the account may see into a worker's memfd (RFC 8620 6.2), the
 * operations behind BLOB_UPLOAD and BLOB_FILE (store/mail_blob.c), callable
 * without IPC.
 *
 * An upload's bytes are a blob of blob.h, content-addressed by their
 * BLAKE2b hash, so that an Email/import of the upload (RFC 8621 4.8, a
 * MSG_APPEND of the same bytes) shares them instead of copying.  The upload
 * holds one reference to its blob while it exists; expiry or the deletion
 * of its account drops it, and the bytes go with their last reference.
 *
 * Layout (db.h): uploads maps A hash32 -> "U8 1, U64 size, U64 expires,
 * STR type" and A alone -> the account's usage "U8 1, U64 bytes, U32
 * count" (the sum over its uploads, swept or not yet swept, kept by every
 * change so that the limit check reads one value instead of summing);
 * upload_expiry maps expires(u64 BE) A hash32 -> "" so that the sweep
 * walks the expired uploads of all accounts from the first key on.
 *
 * An upload is readable while now < expires; the sweep deletes it once
 * expires <= now.
 */
#ifndef BULWARK_UPLOAD_H
#define BULWARK_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "blobfile.h"
#include "record.h"
#include "txn.h"

/* Seconds an upload is kept (RFC 8620 6.1: at least an hour). */
#define UPLOAD_KEEP		(24 * 60 * 60)
/* The largest upload (IPC_S_TOOBIG above; jmapd's maxSizeUpload is less). */
#define UPLOAD_MAX_SIZE		(64ull << 20)
/* Bytes and uploads one account may have pending (IPC_S_QUOTA beyond). */
#define UPLOAD_ACCOUNT_MAX	(256ull << 20)
#define UPLOAD_ACCOUNT_COUNT	4096
/* The longest media type kept with an upload. */
#define UPLOAD_TYPE_MAX		255
/* The largest blob BLOB_FILE writes (the largest message the store takes). */
#define UPLOAD_FILE_MAX		(256ull << 20)

/* BLOB_FILE's kinds. */
#define UPLOAD_KIND_UPLOAD	0
#define UPLOAD_KIND_EMAIL	1

/* One upload as stored. */
struct upload_rec {
	uint64_t	 size;
	uint64_t	 expires;	/* seconds since the epoch */
	char		 type[UPLOAD_TYPE_MAX + 1];
};

/* One BLOB_UPLOAD on its way through the writer of txn.h. */
struct upload_job {
	/* in */
	uint64_t	 account_id;
	int		 fd;		/* closed by prepare */
	uint64_t	 size;
	char		 type[UPLOAD_TYPE_MAX + 1];
	uint64_t	 now;
	/* the account's limits: UPLOAD_ACCOUNT_MAX/_COUNT; tests lower them */
	uint64_t	 account_max;
	uint32_t	 account_count;
	/* prepare */
	uint8_t		*data;
	uint8_t		 hash[MSG_HASH_LEN];
	/* set by the submitter (NULL: none): a big upload's file, made here */
	struct store_db	*db;
	struct blob_tmp	 tmp;
	/* apply */
	uint64_t	 expires;
	bool		 renewed;	/* the account had these bytes */
};

/*
 * Makes a job for an upload of size bytes of fd (taken: closed here on
 * failure, else by prepare or upload_job_free) with media type type,
 * received at now.  Returns it, or NULL with *st_r and err set:
 * IPC_S_TOOBIG above UPLOAD_MAX_SIZE, IPC_S_INVALID for a type longer than
 * UPLOAD_TYPE_MAX.
 */
struct upload_job *upload_job_new(uint64_t account_id, int fd, uint64_t size,
	    const char *type, uint64_t now, enum ipc_status *st_r,
	    struct store_error *err);
void	upload_job_free(struct upload_job **jp);
/*
 * The steps of txn.h for a job (arg is the job).  prepare reads exactly
 * size bytes of the descriptor, which must be a regular file (a memfd) of
 * that size (IPC_S_INVALID otherwise), and hashes them.  apply stores the
 * upload, or renews it if the account has one with these bytes (no second
 * blob reference, its size counted once), and sets expires; IPC_S_QUOTA,
 * storing nothing, if a new upload would pass the job's account_max bytes
 * or account_count uploads of the account (the account's expired uploads
 * not swept yet are dropped first and do not count).
 */
mail_prepare_fn upload_prepare;
mail_apply_fn upload_apply;

/*
 * Reads the unexpired upload of account_id with hash into *r at now.
 * Returns IPC_S_OK, IPC_S_NOTFOUND (none, or expired) or an error.
 */
enum ipc_status upload_get(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, const uint8_t hash[MSG_HASH_LEN], uint64_t now,
	    struct upload_rec *r, struct store_error *err);
/*
 * The bytes and count of account_id's uploads, swept or not (0 and 0 for
 * none).  Returns IPC_S_OK or an error.
 */
enum ipc_status upload_usage(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint64_t *bytes_r, uint32_t *count_r,
	    struct store_error *err);

/*
 * BLOB_FILE: writes a blob of account_id into fd from offset 0: kind
 * UPLOAD_KIND_UPLOAD, its unexpired upload of hash (hash_len must be
 * MSG_HASH_LEN), whose media type goes to type; kind UPLOAD_KIND_EMAIL, the
 * raw message of its email email_id (type ""); the size goes to *size_r.
 * fd must be an empty, writable memfd without write seals (storaged writes
 * only to memory the worker made for it: a file, pipe or socket could make
 * it block or write where the worker cannot).  With file_ok, a blob kept
 * as a file is not written: a read-only descriptor of the file goes to
 * *file_fd_r (the caller's), which is -1 otherwise.  Runs in read (or write)
 * transaction txn.  Returns IPC_S_OK; IPC_S_NOTFOUND for an unknown kind
 * or hash length, a missing or expired upload, a missing email, or those of
 * another account; IPC_S_INVALID for a bad descriptor or a failed write;
 * IPC_S_TOOBIG for a blob above UPLOAD_FILE_MAX; or an error.
 */
enum ipc_status upload_file_op(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t kind, const uint8_t *hash,
	    size_t hash_len, uint64_t email_id, uint64_t now, int fd,
	    bool file_ok, int *file_fd_r, uint64_t *size_r,
	    char type[UPLOAD_TYPE_MAX + 1], struct store_error *err);

/*
 * Deletes uploads of any account whose expiry is at or before now, at most
 * max of them, inside write txn, dropping their blob references;
 * *swept_r says how many.  Expiry entries without their upload (left by
 * an account's purge, see message_account_purge) go too, uncounted.
 * storaged runs this periodically through the write path.  Returns
 * IPC_S_OK or an error.
 */
enum ipc_status upload_sweep(struct store_db *db, MDB_txn *txn, uint64_t now,
	    size_t max, size_t *swept_r, struct store_error *err);

#endif
