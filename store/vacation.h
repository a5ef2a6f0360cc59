/* SPDX-License-Identifier: ISC */
/*
 * vacation.h: JMAP's VacationResponse (RFC 8621 8) in the store: the one
 * response of an account, and the automatic reply it makes when mail is
 * delivered (LMTP DELIVER), by the rules of RFC 3834.
 *
 * Layout (db.h; A the account id, u64 BE):
 *
 *	vacations	A -> "U8 1, BOOL enabled, U64 from, U64 to, U8 has
 *			(VACATION_HAS_*), STR subject, STR text, STR html"
 *			A 'r' hash(32) -> "U64 when": the senders answered,
 *			by the BLAKE2b of their address in lower case
 *
 * from and to are seconds since the epoch, 0 for null; a string whose
 * VACATION_HAS_ bit is clear is null (stored as "").  An account without
 * a record has the response off, every field null.  Setting the response
 * forgets the senders answered, so each hears the new text once.
 *
 * When a relay is configured (bulwark.conf(5) relay { host }; else none
 * is made, as it could never leave), a reply goes out (queued for
 * lmtpd's relay as the account's, without
 * being one of its EmailSubmissions: submit.h's automatic submissions)
 * when, at delivery, the response is enabled and now is within [from,
 * to), and none of RFC 3834's reasons not to answer holds:
 *  - the envelope sender is null, or names a mailer daemon or a list
 *    robot (MAILER-DAEMON, owner-*, *-request, *-owner, postmaster,
 *    noreply), or is the account's own address (2);
 *  - the message says Auto-Submitted other than "no" (5), Precedence
 *    bulk, list or junk, or carries List-Id or List-Unsubscribe (2);
 *  - the recipient address is in neither To nor Cc (2: a personal
 *    responder answers mail sent to the person);
 *  - the sender was answered less than VACATION_DAYS days ago (2).
 * The reply (3.1) has From the recipient address, To the envelope
 * sender, Subject the response's or "Auto: " and the original's,
 * In-Reply-To and References, Auto-Submitted: auto-replied, and a null
 * envelope sender (3.3) so that nothing answers it back.
 */
#ifndef BULWARK_VACATION_H
#define BULWARK_VACATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "txn.h"

/* Days before a sender hears the same response again (RFC 5230 4.1's). */
#define VACATION_DAYS		7
/* Bytes of the subject, and of each body, at most. */
#define VACATION_SUBJECT_MAX	998
#define VACATION_BODY_MAX	(256u << 10)

#define VACATION_HAS_SUBJECT	0x1
#define VACATION_HAS_TEXT	0x2
#define VACATION_HAS_HTML	0x4

/* The response; strings owned, NULL for null. */
struct vacation {
	bool		 enabled;
	uint64_t	 from, to;	/* 0: null */
	char		*subject, *text, *html;
};

void	vacation_clear(struct vacation *v);

/*
 * VACATION_GET: account_id's response into *v (zeroed first; clear it
 * either way) and its state (the account's modseq) into *state_r.
 * Returns IPC_S_OK or an error (IPC_S_INTERNAL for a corrupt record).
 */
enum ipc_status vacation_get(struct store_db *db, MDB_txn *txn,
	    uint64_t account_id, struct vacation *v, uint64_t *state_r,
	    struct store_error *err);

/* VACATION_SET: the whole new response of account_id. */
struct vacation_op {
	uint64_t	 account_id;
	struct vacation	 v;
	uint64_t	 state;		/* out */
};

/*
 * Makes a VACATION_SET (the strings copied; NULL for null).  Returns it,
 * or NULL with *st_r and err: IPC_S_INVALID for text that is not UTF-8
 * or a subject with a line break, IPC_S_TOOBIG beyond the bounds above.
 */
struct vacation_op *vacation_op_new(uint64_t account_id, bool enabled,
	    uint64_t from, uint64_t to, const char *subject, const char *text,
	    const char *html, enum ipc_status *st_r, struct store_error *err);
void	vacation_op_free(struct vacation_op **opp);
/*
 * Stores it (arg a struct vacation_op), forgets the senders answered,
 * and appends one change (CHANGE_VACATION, updated).  IPC_S_NOTFOUND:
 * the account has no mail state.
 */
mail_apply_fn vacation_set_op;

/* One delivery, as vacation_deliver() judges it. */
struct vacation_mail {
	uint64_t	 account_id;
	const char	*envelope_from;	/* "" for the null sender */
	const char	*recipient;	/* as the MTA gave it */
	const uint8_t	*data;		/* the message */
	size_t		 size;
	uint64_t	 now;
};

/*
 * Inside the delivery's write txn: queues the automatic reply to m when
 * the rules above say so (*queued_r true), else does nothing.  Returns
 * IPC_S_OK or an error (the delivery fails with it: the reply and the
 * delivery are one transaction).
 */
enum ipc_status vacation_deliver(struct store_db *db, MDB_txn *txn,
	    const struct vacation_mail *m, bool *queued_r,
	    struct store_error *err);

/* --- vacation_mail.c: no database --- */

/* The record's bytes (layout above); decode: 0, or -1 for bad bytes. */
struct buf;
void	vacation_encode(struct buf *b, const struct vacation *v);
int	vacation_decode(const void *p, size_t len, struct vacation *v);
/* addr in lower case, without a +detail (RFC 5233), into out. */
void	vacation_addr_norm(const char *addr, char *out, size_t size);
/*
 * The reply (3.1) to m from address from_addr with response v, appended
 * to out: 7-bit, CRLF line ends, ready for the relay.
 */
void	vacation_message(struct buf *out, const struct vacation *v,
	    const struct vacation_mail *m, const char *from_addr);
/*
 * Whether RFC 3834 forbids answering the message whose header is [hdr,
 * hdr + len) from envelope sender from to recipient rcpt (the rules
 * above but the time and the senders answered; for tests too).  Returns
 * NULL to answer, else the reason for the log.
 */
const char *vacation_refusal(const char *from, const char *rcpt,
	    const char *own, const uint8_t *hdr, size_t len);

#endif
