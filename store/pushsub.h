/* SPDX-License-Identifier: ISC */
/*
 * pushsub.h: JMAP PushSubscription (RFC 8620 7.2) in the store: the
 * subscriptions of a user, as operations on the database that know
 * nothing of IPC (store/mail_pushsub.c turns the PUSHSUB_* and PUSH_*
 * requests of lib/ipc_types.def into these calls), and the queue of
 * pushes waiting for lmtpd, which lives in memory only: pushing is best
 * effort (7.2: the client refetches state it may have missed).
 *
 * Layout (db.h; A the login account's id, u64 BE, so that an account's
 * purge drops its subscriptions with it):
 *
 *	pushsubs	A id(u64) -> "U8 1, STR device_id, STR url,
 *			BYTES p256dh, BYTES auth, STR code, BOOL verified,
 *			U64 expires, U32 types, U64 created"
 *			A -> "U8 1, U64 next id" (ids are never reused)
 *
 * Subscriptions are not in the change log: 7.2 gives them no state.
 * The verification code is made here (16 random bytes, hex); until the
 * client sets it (PUSHSUB_UPDATE) nothing but the PushVerification is
 * pushed to the url.  expires is capped at PUSHSUB_EXPIRES_MAX from now
 * and set to that when none is given (7.2: credentials without expiry);
 * an expired subscription gets no push and is dropped by the next write
 * of the same user.
 */
#ifndef BULWARK_PUSHSUB_H
#define BULWARK_PUSHSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "txn.h"
#include "webpush.h"

#define PUSHSUB_MAX		16	/* per user: overQuota beyond */
#define PUSHSUB_URL_MAX		2048
#define PUSHSUB_DEVICE_MAX	255
#define PUSHSUB_CODE_LEN	32	/* hex of 16 random bytes */
#define PUSHSUB_EXPIRES_MAX	(7 * 86400)	/* 7.2: at least 48 hours */

struct pushsub {
	uint64_t	 id;
	char		*device_id, *url;
	char		 code[PUSHSUB_CODE_LEN + 1];
	uint8_t		 p256dh[WEBPUSH_KEY_LEN];
	uint8_t		 auth[WEBPUSH_AUTH_LEN];
	bool		 has_keys, verified;
	uint64_t	 expires;
	uint32_t	 types;		/* PUSHTYPE_* of lib/pushtypes.h */
};

struct pushsub_list {
	struct pushsub	*v;
	size_t		 n;
};

/* Frees s's strings and wipes it (7.2: url and keys are erased). */
void	pushsub_clear(struct pushsub *s);
void	pushsub_list_clear(struct pushsub_list *l);

/*
 * Whether url may be pushed to: "https://", a host, at most
 * PUSHSUB_URL_MAX bytes of printable ASCII.  The address it leads to is
 * lmtpd's to check (workers/lmtpd/lmtp_push.h).
 */
bool	pushsub_url_ok(const char *url);

/* The expiry stored for asked (0: none) at time now. */
uint64_t pushsub_expires_cap(uint64_t asked, uint64_t now);

/*
 * The subscriptions of account_id in id order into *r (cleared by the
 * caller with pushsub_list_clear, also on error).  Returns IPC_S_OK or
 * an error (IPC_S_INTERNAL for a corrupt record).
 */
enum ipc_status pushsub_list(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, struct pushsub_list *r,
	    struct store_error *err);

/* Subscription id of account_id into *s; IPC_S_NOTFOUND if none. */
enum ipc_status pushsub_get(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, uint64_t id, struct pushsub *s,
	    struct store_error *err);

/*
 * A write (mail_apply_fn of txn.h) with a struct pushsub_op argument:
 * create (in: device_id, url, keys, expires, types; out: id, code and
 * expires), update (id, what of PUSHSUB_UPDATE, code, expires, types;
 * out: expires) or delete (id).  Every write also drops the user's
 * subscriptions that expired.  Errors: IPC_S_LIMIT (create beyond
 * PUSHSUB_MAX), IPC_S_INVALID (a wrong code), IPC_S_NOTFOUND.
 */
enum pushsub_kind { PUSHSUB_OP_CREATE, PUSHSUB_OP_UPDATE, PUSHSUB_OP_DEL };
#define PUSHSUB_SET_CODE	1u
#define PUSHSUB_SET_EXPIRES	2u
#define PUSHSUB_SET_TYPES	4u

struct pushsub_op {
	enum pushsub_kind kind;
	uint64_t	 account_id;
	uint64_t	 now;
	uint32_t	 what;
	struct pushsub	 in;
	bool		 verified_now;	/* out: the right code came */
};
mail_apply_fn pushsub_op_apply;
/*
 * 7.2: a subscription is tied to the credentials that made it; when they
 * are revoked (the account's password changes) its subscriptions go.
 * Deletes every subscription of account_id in its own write transaction;
 * how many to *n_r.  Returns IPC_S_OK or an error.
 */
enum ipc_status pushsub_revoke(struct store_db *db, uint64_t account_id,
	    size_t *n_r, struct store_error *err);
void	pushsub_op_free(struct pushsub_op **opp);

/* --- The push queue (memory only) --- */

struct pushq;

/* One push taken for lmtpd (pushq_take). */
struct pushq_take {
	uint64_t	 account_id, id, token;
	char		*url;
	struct buf	 body;
	bool		 encrypted;	/* aes128gcm */
	uint32_t	 ttl;
};

#define PUSHQ_TRIES		5	/* a push is dropped after these */
#define PUSHQ_LEASE		120	/* a take lmtpd lost is taken again */
#define PUSHQ_TTL		86400	/* RFC 8030 5: TTL of a StateChange */

struct pushq *pushq_new(void);
void	pushq_free(struct pushq **qp);

/* Queues the PushVerification of a new subscription. */
void	pushq_verify(struct pushq *q, uint64_t account_id, uint64_t id);

/*
 * The account changed (its change log has entries above what the queue
 * saw, or mail was delivered: delivery is the modseq of the delivery, 0
 * for none): queues a StateChange for every verified, unexpired
 * subscription whose types changed, coalesced with one not yet taken.
 * Returns how many subscriptions got one.
 */
size_t	pushq_changed(struct pushq *q, struct store_db *db,
	    uint64_t account_id, uint64_t delivery, uint64_t now);

/*
 * Remembers the account's modseq now (its changes before are no news):
 * on a creation and a verification.
 */
void	pushq_seen(struct pushq *q, uint64_t account_id, uint64_t modseq);

/*
 * The first push due at now into *t (pushq_take_clear after); returns
 * IPC_S_OK, IPC_S_NOTFOUND when none is due, or an error.  A push whose
 * subscription is gone, expired or (but for its verification) not
 * verified is dropped on the way.
 */
enum ipc_status pushq_take(struct pushq *q, struct store_db *db,
	    uint64_t now, struct pushq_take *t, struct store_error *err);
void	pushq_take_clear(struct pushq_take *t);

/*
 * The outcome of take token (pushq_done: status of the POST, 0 for no
 * answer).  Returns 1 when the subscription must be destroyed (404, 410:
 * RFC 8030 8.3, its other pushes are dropped), 0 otherwise; *retry_at is
 * the time a retried push becomes due (0: none).
 */
int	pushq_done(struct pushq *q, uint64_t account_id, uint64_t id,
	    uint64_t token, unsigned status, uint64_t now,
	    uint64_t *retry_at);

/* The earliest time a push becomes due (0: none waits); lease included. */
uint64_t pushq_next_due(const struct pushq *q);

/* Pushes waiting (taken or not). */
size_t	pushq_len(const struct pushq *q);

#endif
