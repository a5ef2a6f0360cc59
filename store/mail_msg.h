/* SPDX-License-Identifier: ISC */
/*
 * mail_msg.h: the work behind the message requests of protocol workers
 * (MBOX_SELECT, MSG_UIDS, MBOX_SYNC, MSG_FETCH, MSG_BODY, MSG_STORE,
 * MSG_EXPUNGE, MSG_COPY, MSG_APPEND of lib/ipc_types.def), as functions on
 * the store's database that know nothing of IPC, so that tests call them
 * directly; mail_msg.c turns requests into these calls and their results
 * into replies.  Reads (mail_msg_sync.c, mail_msg_read.c) run in the
 * caller's read transaction; writes (mail_msg_write.c, mail_msg_append.c)
 * are apply steps of txn.h, each in its own nested write transaction, so
 * that a failing one changes nothing.
 *
 * Rules the workers rely on:
 *
 * - A UID vector is big-endian u32 UIDs, ascending, without duplicates;
 *   one that is not gets IPC_S_INVALID.  UIDs no longer in the mailbox
 *   are skipped, not errors.
 * - MBOX_SYNC since S: `changed` is every message of the mailbox whose
 *   modseq is above S (flags changed, added or copied in after S), with
 *   its modseq, flags and keywords.  storaged does not keep when a UID
 *   joined its mailbox, so `added` is the UIDs of `changed` above the
 *   highest UID whose modseq is at most S: it holds every UID added after
 *   S, and possibly UIDs the worker had whose flags changed (those above
 *   every unchanged one).  The exact rule for the worker: a UID of
 *   `changed` is new if and only if it is at or above the UIDNEXT the
 *   worker saw at S (equivalently, absent from its own UID list; UIDs only
 *   grow).  `vanished` is every UID expunged (or moved out) after S,
 *   including UIDs added and expunged after S, which the worker never saw.
 *   When S is below the account's floor (the expunges after S were
 *   pruned, changelog.h), or they are too many for half a reply, or on
 *   every page but the first, `vanished` is empty and `absent` holds
 *   instead every UID that is not in the mailbox, as ascending ranges
 *   (u32 first, u32 last), within the page: a superset of those expunged
 *   after S, which RFC 7162 allows in VANISHED (EARLIER), and which a
 *   worker applies to its own UIDs only.
 *   Pages: a reply holds what fits MAIL_REPLY_MAX; `next` non-zero says
 *   it covers the UIDs up to next, and the worker asks again with
 *   `after` next and the same S.  Each page is read at its own time, so
 *   the worker keeps the HIGHESTMODSEQ of the first page.  IPC_S_CONFLICT
 *   only when not one more UID fits a reply.
 * - MSG_FETCH `saved` is the time the message came into the store
 *   (received): the store does not keep when it came into each mailbox,
 *   so SAVEDATE (RFC 8514) is the received date for copies too.
 * - Keywords are kept as given and compared without regard to ASCII case
 *   (IMAP flags are case-insensitive; jmapd lowercases them, RFC 8621
 *   4.1.1).  A message has MSG_MAX_KEYWORDS at most (IPC_S_LIMIT).
 * - MSG_STORE: a message whose flags would not change is neither touched
 *   nor listed; with unchangedsince U > 0, one whose modseq in this
 *   mailbox is above U is not changed and is listed in `modified` (RFC
 *   7162 3.1.3).  A changed message gets one new modseq in every mailbox
 *   it is in; every such mailbox gets a change-log entry and a new
 *   HIGHESTMODSEQ.
 * - MSG_COPY (not move) makes a new email for each message, sharing the
 *   blob, with the original's flags and keywords: an IMAP copy is a
 *   message of its own whose flags change apart from the original's (a
 *   client that saves with COPY and then deletes the original must keep
 *   its copy).  It may target the source mailbox.  A move keeps the email
 *   and changes its mailbox; into the source mailbox it is refused
 *   (IPC_S_INVALID).  An email already in the target mailbox is not moved
 *   again; its UID there is the one reported (and the move only takes it
 *   out of the source).
 */
#ifndef BULWARK_MAIL_MSG_H
#define BULWARK_MAIL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blobfile.h"
#include "buf.h"
#include "db.h"
#include "message_ops.h"
#include "msgrec.h"
#include "record.h"
#include "strvec.h"
#include "txn.h"

/* Bytes of reply data one read gathers at most, under IPC_MAX_PAYLOAD. */
#define MAIL_REPLY_MAX		(900u << 10)
/* UIDs one MBOX_SELECT or MSG_UIDS returns at most. */
#define MAIL_UIDS_MAX		(MAIL_REPLY_MAX / 4)
/* Distinct keywords MBOX_SELECT reports at most. */
#define MAIL_KEYWORDS_MAX	1024
/* Bytes of one MSG_BODY slice at most. */
#define MAIL_BODY_MAX		(512u << 10)
/* Messages of one MSG_APPEND at most, and their bytes. */
#define MAIL_APPEND_MAX		1024
#define MAIL_APPEND_MAX_SIZE	(256ull << 20)

/* A growing vector of u32 (a uid vector) or u64 values, big-endian. */
struct mail_vec {
	struct buf	 b;
	uint32_t	 n;
};

void	mail_vec_u32(struct mail_vec *v, uint32_t x);
void	mail_vec_u64(struct mail_vec *v, uint64_t x);
void	mail_vec_clear(struct mail_vec *v);
/* Value i of a u32 or u64 vector. */
uint32_t mail_vec_u32_get(const struct mail_vec *v, uint32_t i);
uint64_t mail_vec_u64_get(const struct mail_vec *v, uint32_t i);
/* A u64 vector as a reply's U64LIST, and a buffer as its BYTES (borrowed). */
struct wire_u64list mail_vec_u64s(const struct mail_vec *v);
struct wire_bytes mail_buf_bytes(const struct buf *b);

/*
 * Checks that [p, p + len) is a uid vector (ascending, no duplicates, no
 * UID 0); its count goes to *n_r.  Returns 0 or -1.
 */
int	mail_uids_check(const void *p, size_t len, uint32_t *n_r);

/*
 * Splits keyword text (space-separated) into kw, deduplicated without
 * regard to case; *n_r says how many.  Returns IPC_S_OK, IPC_S_INVALID (a
 * keyword that is not an atom) or IPC_S_LIMIT (more than
 * MSG_MAX_KEYWORDS), with err.
 */
enum ipc_status mail_keywords_parse(const char *text,
	    char kw[MSG_MAX_KEYWORDS][MSG_KEYWORD_MAX + 1], uint32_t *n_r,
	    struct store_error *err);
/* Formats the keywords of m space-separated into out (reset first). */
void	mail_keywords_text(const struct message_rec *m, struct buf *out);

/* --- Reads (mail_msg_sync.c, mail_msg_read.c), in a read or write txn --- */

struct mail_select {
	struct mailbox_rec	 mb;	/* uidvalidity, uidnext, ... */
	struct mail_vec		 uids;	/* the first `limit` */
	uint32_t		 unseen;	/* lowest UID without \Seen */
	struct strvec		 keywords;	/* in use, sorted */
};

/*
 * MBOX_SELECT's data of mailbox mbox of account_id, with at most limit
 * (and MAIL_UIDS_MAX) UIDs.  Returns IPC_S_OK, IPC_S_NOTFOUND or an
 * error; r is to be cleared with mail_select_clear either way.
 */
enum ipc_status mail_msg_select_op(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mbox, uint32_t limit,
	    struct mail_select *r, struct store_error *err);
void	mail_select_clear(struct mail_select *r);

/* MSG_UIDS: the UIDs above after, at most limit; *more_r if others are. */
enum ipc_status mail_msg_uids_op(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mbox, uint32_t after,
	    uint32_t limit, struct mail_vec *uids, bool *more_r,
	    struct store_error *err);

struct mail_sync {
	uint64_t		 highestmodseq;
	uint32_t		 uidnext;
	struct mail_vec		 added, vanished, changed;	/* u32 */
	struct mail_vec		 absent;	/* u32 first, last */
	uint32_t		 next;		/* 0, or where to go on */
	struct mail_vec		 modseqs, flags;		/* u64 */
	struct strvec		 keywords;
};

/*
 * MBOX_SYNC of mailbox mbox since modseq since (rules above), the page of
 * the UIDs above after, in a reply of at most budget bytes (0:
 * MAIL_REPLY_MAX).  Returns IPC_S_OK, IPC_S_NOTFOUND, IPC_S_CONFLICT or
 * an error; clear r with mail_sync_clear either way.
 */
enum ipc_status mail_msg_sync_op(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mbox, uint64_t since, uint32_t after,
	    size_t budget, struct mail_sync *r, struct store_error *err);
void	mail_sync_clear(struct mail_sync *r);

struct mail_fetch {
	uint32_t		 done;	/* asked UIDs covered */
	struct mail_vec		 found;	/* u32 */
	struct mail_vec		 email_ids, thread_ids, modseqs, flags,
				 received, saved, sizes, record_lens,
				 imap_lens;	/* 0: none */
	struct strvec		 keywords;
	struct buf		 records;
	struct buf		 imap;		/* stored items */
	struct buf		 text_hits;	/* (keys + 7) / 8 per found */
	struct buf		 bodies;
	struct mail_vec		 body_lens;	/* or MSG_FETCH_NO_BODY */
	size_t			 bytes;	/* of the reply, as the budget counts */
	size_t			 searched;	/* work of the text keys */
};

/* How much one MSG_FETCH reply may hold and search. */
struct mail_fetch_budget {
	size_t			 reply_max;	/* MAIL_REPLY_MAX */
	size_t			 search_max;	/* MAIL_SEARCH_BYTES_MAX */
	bool			 must_fit;	/* even the first message */
};

#define MSG_FETCH_NO_BODY	UINT64_MAX

/* SEARCH's text keys for MSG_FETCH (lib/msgsearch.h). */
struct mail_text_keys {
	uint32_t		 n;
	uint64_t		*kinds;		/* enum msgsearch_kind */
	const char		**fields;	/* HEADER's field names */
	const char		**values;	/* casemap_key()s */
	size_t			*vlens;
};

/* Bytes of messages searched for text keys before a reply is cut. */
#define MAIL_SEARCH_BYTES_MAX	(16u << 20)

/* The whole budget of one reply. */
extern const struct mail_fetch_budget mail_fetch_budget_full;

/*
 * MSG_FETCH of the n UIDs at uids (a checked uid vector) of mailbox mbox,
 * with what `what` asks of each (MAIL_FETCH_*), until the data passes
 * bud->reply_max (one message at least, unless bud->must_fit; then the
 * first message may have no body either), and, when keys is not NULL,
 * which of the text keys each message matches, until bud->search_max
 * bytes have been searched, and the bytes of messages of up to body_max
 * bytes (0: none) while they fit.  bud NULL is mail_fetch_budget_full.
 * Returns IPC_S_OK, IPC_S_NOTFOUND (mailbox) or an error; clear r with
 * mail_fetch_clear.
 */
#define MAIL_FETCH_RECORD	0x01	/* the record */
/*
 * The stored ENVELOPE and BODYSTRUCTURE (msgimap); with MAIL_FETCH_RECORD,
 * the record only of a message that has none.
 */
#define MAIL_FETCH_IMAP		0x02
/*
 * Only which text keys each message matches (keys must not be NULL): r
 * gets found, modseqs and text_hits, no other list; neither of the two
 * above, nor bodies, may be asked with it.
 */
#define MAIL_FETCH_HITS		0x04
enum ipc_status mail_msg_fetch_op(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mbox, const uint8_t *uids,
	    uint32_t n, unsigned int what, const struct mail_text_keys *keys,
	    uint32_t body_max, const struct mail_fetch_budget *bud,
	    struct mail_fetch *r, struct store_error *err);
void	mail_fetch_clear(struct mail_fetch *r);

struct readpool;

/*
 * The same in read transactions of its own: split into batches over the
 * threads of rp (store/readpool.h, may be NULL) when the UIDs are many,
 * the budget shared, and joined in UID order.  Batches that saw different
 * snapshots (a commit came between their transactions) are read again
 * in one.
 */
enum ipc_status mail_msg_fetch_par(struct store_db *db, struct readpool *rp,
	    uint64_t account_id, uint32_t mbox, const uint8_t *uids,
	    uint32_t n, unsigned int what, const struct mail_text_keys *keys,
	    uint32_t body_max, struct mail_fetch *r, struct store_error *err);

/*
 * MSG_BODY: the bytes [offset, offset + length) of uid (length cut to
 * MAIL_BODY_MAX and to the end; none past the end) appended to data, and
 * the message size in *size_r.  Returns IPC_S_OK, IPC_S_NOTFOUND (no such
 * UID or mailbox) or an error.
 */
enum ipc_status mail_msg_body_op(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mbox, uint32_t uid, uint64_t offset,
	    uint32_t length, uint64_t *size_r, struct buf *data,
	    struct store_error *err);

/*
 * MSG_BODY_FILE: all of uid written into fd, which must be an empty memfd
 * (a descriptor of anything else is refused: storaged writes only to
 * memory the worker made for it), and its size in *size_r; or, for a
 * message kept as a file, nothing written and a read-only descriptor of
 * that file in *file_fd_r (the caller's; -1 otherwise).  Returns as
 * mail_msg_body_op() does, or IPC_S_INVALID for a bad descriptor.
 * MSG_FILE: fd is -1; the file's descriptor for a message kept as one,
 * else only its size (*file_fd_r -1).
 */
enum ipc_status mail_msg_body_file_op(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint32_t mbox, uint32_t uid, int fd,
	    uint64_t *size_r, int *file_fd_r, struct store_error *err);

/* --- Writes (mail_msg_write.c): apply steps, arg the struct --- */

enum mail_store_mode { MAIL_STORE_SET, MAIL_STORE_ADD, MAIL_STORE_REMOVE };

struct mail_store {
	/* in; uids is owned by the caller, a checked uid vector */
	uint64_t		 account_id;
	uint32_t		 mailbox_id;
	const uint8_t		*uids;
	uint32_t		 nuids;
	enum mail_store_mode	 mode;
	uint32_t		 flags;		/* MSG_F_* */
	char			 kw[MSG_MAX_KEYWORDS][MSG_KEYWORD_MAX + 1];
	uint32_t		 nkw;
	uint64_t		 unchangedsince;	/* 0: none */
	/* out */
	uint32_t		 done;		/* uids covered */
	struct mail_vec		 changed, modseqs, flags_out, modified;
	struct strvec		 keywords;
	uint64_t		 highestmodseq;
	struct msgops_mboxes	 touched;	/* for notify */
};

struct mail_expunge {
	uint64_t		 account_id;
	uint32_t		 mailbox_id;
	const uint8_t		*uids;
	uint32_t		 nuids;
	struct mail_vec		 expunged;
	uint64_t		 highestmodseq;
	struct msgops_mboxes	 touched;
};

struct mail_copy {
	uint64_t		 account_id;
	uint32_t		 mailbox_id;
	const uint8_t		*uids;
	uint32_t		 nuids;
	uint32_t		 to_mailbox;
	bool			 move;
	uint32_t		 uidvalidity;	/* of to_mailbox */
	struct mail_vec		 src_uids, dst_uids;
	uint64_t		 highestmodseq;	/* of to_mailbox */
	struct msgops_mboxes	 touched;
};

/*
 * The apply steps (txn.h's mail_apply_fn, arg the struct above).  Each
 * returns IPC_S_OK, IPC_S_NOTFOUND (mailbox), IPC_S_INVALID, IPC_S_LIMIT
 * (keywords of a message, mailboxes of a message) or an error; on an
 * error the outputs mean nothing (clear them all the same).
 */
mail_apply_fn mail_msg_store_op;
mail_apply_fn mail_msg_expunge_op;
mail_apply_fn mail_msg_copy_op;
void	mail_store_clear(struct mail_store *r);
void	mail_expunge_clear(struct mail_expunge *r);
void	mail_copy_clear(struct mail_copy *r);

/* --- MSG_APPEND (mail_msg_append.c) --- */

struct mail_append_msg {
	uint64_t		 off;		/* in data */
	uint64_t		 size;
	uint32_t		 flags;
	uint64_t		 received;
	char			*keywords;	/* owned, space-separated */
	size_t			 rec_off, rec_len;	/* in records */
	uint8_t			 hash[MSG_HASH_LEN];	/* by prepare */
	struct msgrec_summary	 sum;		/* by prepare, into records */
	struct blob_tmp		 tmp;		/* by prepare: a big one's */
};

struct mail_append {
	uint64_t		 account_id;
	uint32_t		 mailbox_id;
	int			 fd;		/* taken; closed by prepare */
	uint64_t		 now;
	uint32_t		 n;
	struct mail_append_msg	*msgs;		/* n */
	struct buf		 records;	/* concatenated */
	uint8_t			*data;		/* read by prepare */
	uint64_t		 total;		/* bytes of all */
	/* set by the submitter (NULL: no files are prepared) */
	struct store_db		*db;
	/* out */
	uint32_t		 uidvalidity;
	struct mail_vec		 uids, email_ids;
	uint64_t		 highestmodseq;
};

/*
 * Makes an append of the request's lists (borrowed, copied): sizes,
 * flags (count n or 0), keywords (n or 0), received (n or 0; 0 means
 * now), records and record_lens (n).  fd is taken.  Returns the append,
 * or NULL with err (IPC_S_INVALID, IPC_S_LIMIT, IPC_S_TOOBIG in *st_r)
 * and fd closed.
 */
struct mail_append *mail_append_new(uint64_t account_id, uint32_t mbox,
	    int fd, uint64_t now, const struct wire_u64list *sizes,
	    const struct wire_u64list *flags, const struct wire_strlist *kws,
	    const struct wire_u64list *received, const void *records,
	    size_t records_len, const struct wire_u64list *record_lens,
	    enum ipc_status *st_r, struct store_error *err);
void	mail_append_free(struct mail_append **ap);
/* Its steps for txn.h: reads the file and checks the records (prepare),
 * stores them all or none (apply). */
mail_prepare_fn	mail_append_prepare;
mail_apply_fn	mail_append_apply;

#endif
