/* SPDX-License-Identifier: ISC */
/*
 * submit.h: JMAP submission in the store (RFC 8621 6 and 7): the
 * identities of an account, the submissions it queued, and the queue that
 * lmtpd's relay takes them from, as operations on the database that know
 * nothing of IPC (store/mail_submit.c turns the IDENTITY_*, SUBMIT_* and
 * RELAY_* requests of lib/ipc_types.def into these calls).  submit.c has
 * the identities, submit_queue.c the submissions and the relay's queue.
 *
 * Layout (db.h; A the account id, u64 BE):
 *
 *	identities	A id(u64) -> "U8 1, STR name, STR email, STR reply_to,
 *			STR bcc, STR text_sig, STR html_sig"
 *			A -> "U8 1, U64 next id" (ids are never reused)
 *	submissions	A id(u64) -> submission record (below)
 *			A -> "U8 1, U64 next id"
 *	relay_queue	due(u64 BE) A id -> "" (the relay's order)
 *
 * A submission record is "U8 1, BYTES blob hash (MSG_HASH_LEN), U64
 * identity, U64 email, U64 thread, U64 send_at, U64 created, U64 due, U8
 * undo, BOOL taken, STR mail_from, STR mail_from_params, STRLIST rcpts,
 * STRLIST replies, U64LIST delivered".  It begins with the hash so that
 * an account's purge (message_account_purge) drops its blob references
 * without this module.  due is the time of its queue entry, 0 when it is
 * in no queue; each submission has at most one entry.  The purge leaves
 * the account's queue entries behind: the relay's take drops an entry
 * whose submission is gone.
 *
 * Identity 1 is the account's own: while none is stored under id 1 the
 * list shows it with the account's address and empty texts, and storing
 * id 1 (IDENTITY_PUT) makes it real.  It may not be deleted; the others
 * may.  Created identities take ids from 2 on.
 *
 * The addresses an account may send as are those whose mail the store
 * delivers to it, without subaddressing: its own address, an alias whose
 * target it is, and an address of a domain whose catch-all it is that is
 * neither an account nor an alias; "*@domain" (RFC 8621 6, an identity
 * for a whole domain) for a domain whose catch-all it is.  Addresses are
 * compared in the store's canonical form (name.h: lower case), as
 * delivery compares them.
 *
 * A submission holds one reference to its email's blob (blob.h) from
 * SUBMIT to SUBMIT_DEL, so the bytes outlive the email (RFC 8621 7.5).
 * Its life: pending (undo 0, queued at max(send_at, now)); canceled
 * (undo 2, out of the queue); taken by the relay (final, undo 1, its
 * entry moved to now + SUBMIT_RELAY_LEASE); done (each recipient's reply
 * and delivered), then queued again at the relay's retry time while some
 * recipients are still queued, else out of the queue.  A take whose relay
 * died is taken again when its lease has passed.
 *
 * Every write is an apply step of txn.h (mail_apply_fn, its argument the
 * struct named) and appends CHANGE_IDENTITY or CHANGE_SUBMISSION entries
 * (record.h) to the account's change log; state is the account's modseq
 * after it.  err is set whenever the status is not IPC_S_OK.
 */
#ifndef BULWARK_SUBMIT_H
#define BULWARK_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "record.h"
#include "strvec.h"
#include "txn.h"
#include "wire.h"

/* Identities one account may have, the built-in one counted. */
#define SUBMIT_IDENTITIES_MAX	100
/* Bytes of all of an account's identity texts together (one reply). */
#define SUBMIT_IDENTITIES_BYTES	(512u << 10)
/* Bytes of an identity's name, of a signature, of reply_to or bcc. */
#define SUBMIT_NAME_MAX		255
#define SUBMIT_SIG_MAX		(64u << 10)
#define SUBMIT_JSON_MAX		(64u << 10)
/* Recipients of one submission. */
#define SUBMIT_RCPTS_MAX	100
/* Bytes of an envelope address (RFC 5321 4.5.3.1.3: a path of 256). */
#define SUBMIT_ADDR_MAX		254
/* Bytes of the MAIL FROM parameters. */
#define SUBMIT_PARAMS_MAX	1024
/* Bytes of an SMTP reply kept per recipient (longer ones are cut). */
#define SUBMIT_REPLY_MAX	1024
/* Submissions of a SUBMIT_LIST without ids, newest first, at most. */
#define SUBMIT_LIST_MAX		256
/* Bytes of data one SUBMIT_LIST reply holds at most (IPC_MAX_PAYLOAD). */
#define SUBMIT_LIST_BYTES	(900u << 10)
/* Seconds a take keeps a submission from the relay's other takes. */
#define SUBMIT_RELAY_LEASE	600
/* The largest message a take writes (DELIVER_MAX_SIZE's). */
#define SUBMIT_FILE_MAX		(256ull << 20)

/* undoStatus (RFC 8621 7). */
#define SUBMIT_UNDO_PENDING	0
#define SUBMIT_UNDO_FINAL	1
#define SUBMIT_UNDO_CANCELED	2
/* deliveryStatus.delivered (RFC 8621 7). */
#define SUBMIT_DLV_QUEUED	0
#define SUBMIT_DLV_YES		1
#define SUBMIT_DLV_NO		2
#define SUBMIT_DLV_UNKNOWN	3

/* --- Identities --- */

/* One identity; the strings are owned. */
struct submit_identity {
	uint64_t	 id;
	char		*name, *email, *reply_to, *bcc, *text_sig, *html_sig;
	bool		 may_delete;
};

struct submit_identities {
	uint64_t		 state;
	struct submit_identity	*v;
	size_t			 n;
};

/*
 * IDENTITY_LIST: the identities of account_id in id order, the built-in
 * one first when it is not stored, into *r (zeroed first; clear it with
 * submit_identities_clear either way).  Returns IPC_S_OK, IPC_S_NOTFOUND
 * (no such account) or an error.
 */
enum ipc_status submit_identity_list(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, struct submit_identities *r,
	    struct store_error *err);
void	submit_identities_clear(struct submit_identities *r);

/* IDENTITY_PUT and IDENTITY_DEL. */
struct submit_ident_op {
	uint64_t		 account_id;
	uint64_t		 id;	/* 0: create; the id after the put */
	struct submit_identity	 in;	/* PUT only */
	uint64_t		 state;	/* out */
};

/*
 * Makes an IDENTITY_PUT of account_id (the strings copied).  Returns it,
 * or NULL with *st_r and err: IPC_S_INVALID for a text that is not UTF-8
 * or an empty email, IPC_S_TOOBIG for one above its bound.
 */
struct submit_ident_op *submit_ident_op_new(uint64_t account_id, uint64_t id,
	    const char *name, const char *email, const char *reply_to,
	    const char *bcc, const char *text_sig, const char *html_sig,
	    enum ipc_status *st_r, struct store_error *err);
void	submit_ident_op_free(struct submit_ident_op **op);
/*
 * The put: IPC_S_DENIED when the account may not send as email
 * (forbiddenFrom), IPC_S_NOTFOUND for no such id (or account),
 * IPC_S_LIMIT beyond SUBMIT_IDENTITIES_MAX, IPC_S_TOOBIG beyond
 * SUBMIT_IDENTITIES_BYTES.  One change: created for id 0, else updated.
 */
mail_apply_fn submit_identity_put_op;
/*
 * The delete (op->id): IPC_S_DENIED for identity 1, IPC_S_NOTFOUND for
 * no such identity.  One change: destroyed.
 */
mail_apply_fn submit_identity_del_op;

/*
 * Whether account_id may send as address (the rules above; "*@domain"
 * only with wildcard).  Returns IPC_S_OK, IPC_S_DENIED, IPC_S_NOTFOUND
 * (no such account) or an error.
 */
enum ipc_status submit_may_send_as(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, const char *address, bool wildcard,
	    struct store_error *err);

/* --- Submissions --- */

/* A submission record, decoded; the strings and arrays are owned. */
struct submit_rec {
	uint8_t		 hash[MSG_HASH_LEN];
	uint64_t	 identity_id, email_id, thread_id;
	uint64_t	 send_at, created;
	uint64_t	 due;		/* of its queue entry, 0: none */
	uint8_t		 undo;		/* SUBMIT_UNDO_* */
	bool		 taken;		/* by the relay, not done yet */
	char		*mail_from, *mail_from_params;
	uint32_t	 nrcpt;
	char		**rcpts, **replies;
	uint8_t		*delivered;	/* SUBMIT_DLV_* */
};

void	submit_rec_clear(struct submit_rec *r);

/* SUBMIT. */
struct submit_new {
	/* in */
	uint64_t	 account_id, identity_id, email_id;
	uint64_t	 send_at, now;
	char		*mail_from, *mail_from_params;
	struct strvec	 rcpts;
	/* out */
	uint64_t	 id, thread_id, due, state;
};

/*
 * Makes a SUBMIT of account_id at now (the strings copied; rcpts without
 * its exact duplicates).  Returns it, or NULL with *st_r and err:
 * IPC_S_INVALID for no recipients, more than SUBMIT_RCPTS_MAX, one that is
 * not an addr-spec (RFC 5321 4.1.2: no space, control, '<' or '>'; an '@'
 * with text on each side; at most SUBMIT_ADDR_MAX bytes), or parameters
 * that are not one line of printable text up to SUBMIT_PARAMS_MAX.
 */
struct submit_new *submit_new_make(uint64_t account_id, uint64_t identity_id,
	    uint64_t email_id, const char *mail_from,
	    const char *mail_from_params, const struct wire_strlist *rcpts,
	    uint64_t send_at, uint64_t now, enum ipc_status *st_r,
	    struct store_error *err);
void	submit_new_free(struct submit_new **sp);
/*
 * Queues it (arg a struct submit_new): due = max(send_at, now), one blob
 * reference, one change (created).  IPC_S_NOTFOUND for no such identity
 * or email (err says which), IPC_S_DENIED for a mail_from the account may
 * not send as (forbiddenMailFrom).
 */
mail_apply_fn submit_create_op;

struct submit_list {
	uint64_t		 state;
	struct submit_rec	*v;
	uint64_t		*ids;
	size_t			 n;
};

/*
 * SUBMIT_LIST: the submissions of account_id among ids[0..nids) that
 * exist, in that order; with nids 0 all of them, newest (highest id)
 * first, at most SUBMIT_LIST_MAX and as many as fit SUBMIT_LIST_BYTES.
 * *r is zeroed first; clear it with submit_list_clear either way.
 * Returns IPC_S_OK, IPC_S_TOOBIG when the ids asked do not fit one reply
 * (ask for fewer) or an error.
 */
enum ipc_status submit_list(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, const uint64_t *ids, size_t nids,
	    struct submit_list *r, struct store_error *err);
void	submit_list_clear(struct submit_list *r);

/* SUBMIT_CANCEL and SUBMIT_DEL. */
struct submit_id_op {
	uint64_t	 account_id, id;
	uint64_t	 state;		/* out */
};

/*
 * Cancels a pending submission: out of the queue, undo canceled, one
 * change.  IPC_S_NOTFOUND; IPC_S_CONFLICT when it is not pending
 * (cannotUnsend).
 */
mail_apply_fn submit_cancel_op;
/*
 * Deletes a submission (a pending one is canceled), its queue entry and
 * its blob reference; one change (destroyed).  IPC_S_NOTFOUND.
 */
mail_apply_fn submit_del_op;

/*
 * Automatic submissions: mail the server sends for an account by itself
 * (vacation.h's replies), with identity SUBMIT_IDENTITY_AUTO, which no
 * identity has.  They go through the relay's queue as the others do but
 * are none of the user's EmailSubmissions: SUBMIT_LIST, SUBMIT_CANCEL
 * and SUBMIT_DEL do not see them, no change is logged for them, and
 * RELAY_DONE deletes one (and its blob reference) once no recipient is
 * queued any more.
 */
#define SUBMIT_IDENTITY_AUTO	0
/*
 * Queues [msg, msg + len) for rcpt with a null envelope sender, due now,
 * inside write txn (its blob stored or referenced); its id to *id_r.
 * Returns IPC_S_OK, IPC_S_INVALID (rcpt is not an address) or an error.
 */
enum ipc_status submit_queue_auto(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, const void *msg, size_t len,
	    const char *rcpt, uint64_t now, uint64_t *id_r,
	    struct store_error *err);

/* --- The relay --- */

struct submit_dkim;

/* RELAY_TAKE. */
struct submit_take {
	/* in */
	uint64_t	 now;
	int		 fd;		/* borrowed: the worker's memfd */
	const struct submit_dkim *dkim;	/* borrowed; NULL: sign nothing */
	/* out */
	bool		 found;		/* false: nothing is due */
	uint64_t	 account_id, id, size;
	const char	*dkim_domain;	/* d= it was signed for, or NULL */
	uint64_t	 lease;		/* when it may be taken again */
	struct submit_rec rec;		/* as after the take */
	struct strvec	 rcpts;		/* those still queued, in order */
	size_t		 dropped;	/* queue entries without a submission */
};

/*
 * Takes the first submission due at now (the queue in due order; entries
 * whose submission is gone or not queued are dropped on the way): it
 * becomes final and taken, its entry moves to now + SUBMIT_RELAY_LEASE;
 * one change (updated, none for an automatic one).  found false when
 * nothing is due (IPC_S_OK: the dropped entries stay dropped).  Returns
 * IPC_S_OK, IPC_S_INVALID (fd is not an empty, writable memfd without
 * write seals; nothing changes), IPC_S_TOOBIG (a message above
 * SUBMIT_FILE_MAX) or an error.  Clear it with submit_take_clear.  The
 * message is written by submit_take_write, after the commit and off the
 * writer (a read transaction), so a large one holds no delivery up.
 */
mail_apply_fn submit_take_op;
/*
 * Writes the message of taken submission t into t->fd from offset 0,
 * after a DKIM-Signature field when t->dkim has a key for its From
 * domain (submit_dkim.h; signed at t->now, the field counted in
 * t->size; a signing failure is logged and the message goes unsigned;
 * the stored message is never changed).  Returns IPC_S_OK,
 * IPC_S_NOTFOUND (its blob went with a SUBMIT_DEL meanwhile),
 * IPC_S_INVALID (a failed write) or an error; the submission stays taken
 * until its lease passes either way.
 */
enum ipc_status submit_take_write(struct store_db *db, MDB_txn *txn,
	    struct submit_take *t, struct store_error *err);
void	submit_take_clear(struct submit_take *t);

/* RELAY_DONE. */
struct submit_done {
	uint64_t	 account_id, id, now, retry_at;
	uint32_t	 n;
	char		**replies;
	uint8_t		*delivered;
	uint64_t	 requeued;	/* out: its new due, 0: out of queue */
};

/*
 * Makes a RELAY_DONE (each reply cut to SUBMIT_REPLY_MAX bytes and before
 * any byte that does not continue valid UTF-8, so that it can go to JSON
 * as it is).  Returns it, or NULL with *st_r and err: IPC_S_INVALID when
 * the lists differ in length or a delivered value is not SUBMIT_DLV_*.
 */
struct submit_done *submit_done_make(uint64_t account_id, uint64_t id,
	    const struct wire_strlist *replies,
	    const struct wire_u64list *delivered, uint64_t retry_at,
	    uint64_t now, enum ipc_status *st_r, struct store_error *err);
void	submit_done_free(struct submit_done **dp);
/*
 * Records the outcome of the take: the replies and delivered values go,
 * in order, to the recipients still queued; then, with retry_at not 0 and
 * some still queued, the submission is queued again at retry_at, else it
 * leaves the queue; it is not taken any more; one change (updated).
 * IPC_S_NOTFOUND (no such submission); IPC_S_CONFLICT when it is not
 * taken (a take whose lease passed and that another take finished) or
 * the lists do not match its queued recipients.
 */
mail_apply_fn submit_done_op;

/*
 * The time of the first queue entry into *due_r.  Returns IPC_S_OK,
 * IPC_S_NOTFOUND (an empty queue) or an error.
 */
enum ipc_status submit_next_due(struct store_db *db, MDB_txn *txn,
	    uint64_t *due_r, struct store_error *err);

#endif
