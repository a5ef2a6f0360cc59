/* SPDX-License-Identifier: ISC */
/*
 * jmap_email.h: what the Thread and Email method files of jmapd
 * (jmap_thread.c, jmap_email_get.c, jmap_email_query.c, jmap_email_set.c)
 * share: the sizes of storaged reads, helpers for answers and ids
 * (defined in jmap_thread.c) and for keywords (RFC 8621 4.1.1, defined in
 * jmap_email_get.c); and what Email/get's files (jmap_email_get.c,
 * jmap_email_headers.c, jmap_email_body.c) share.  The methods themselves
 * are in jmap_int.h.
 */
#ifndef BULWARK_JMAP_EMAIL_H
#define BULWARK_JMAP_EMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "jmap_int.h"

#define EM_BODY_CHUNK	(512u * 1024)	/* EMAIL_BODY's most */
#define EM_HDR_MAX	(256u * 1024)	/* bytes read of one header */

/*
 * Answers c with the error of storaged's status st (not IPC_S_OK):
 * serverUnavailable for IPC_S_UNAVAIL, else serverFail; text (or NULL)
 * is the description.
 */
void	em_store_error(struct jmap_call *c, enum ipc_status st,
	    const char *text);
/* json_len of v, or 0 when v is NULL (an argument not given). */
size_t	em_len(const struct json *v);
/* A new JSON string of the id of object n of kind (objid_format). */
struct json *em_id(char kind, uint64_t n);
/* A new JSON string of the state of modseq (jmap_state_format). */
struct json *em_state(uint64_t modseq);
/*
 * Writes v[0..n) into b (empty, the caller's) and sets l to them as a
 * U64LIST: l points into b, valid until b changes or is cleared.
 */
void	em_u64list(struct wire_u64list *l, struct buf *b, const uint64_t *v,
	    size_t n);

/* Each distinct id of ids that is an id of kind, in order. */
struct em_idset {
	uint64_t	*v;
	size_t		 n;
	struct json	*notfound;	/* the ids that are not */
};

/*
 * Fills s from ids (an array of strings, borrowed): v gets the number of
 * each distinct id of kind, notfound (a new array) each distinct string
 * that is not one.  v has room for json_len(ids) + 1 numbers.  s is
 * freed with em_idset_clear.
 */
void	em_idset_init(struct em_idset *s, const struct json *ids, char kind);
/* Frees what s holds; notfound may have been taken (set to NULL). */
void	em_idset_clear(struct em_idset *s);

/*
 * The system flag (MAIL_F_* of mailflags.h) that keyword kw (lower case)
 * stands for: $seen, $answered, $flagged, $draft; 0 for any other.
 */
uint32_t em_kw_flag(const char *kw);
/*
 * Lower-cases s in place; whether it is then a valid keyword (RFC 8621
 * 4.1.1: 1 to 255 of %x21-7E but ( ) { ] % * " and backslash).
 */
bool	em_keyword_norm(char *s);

/*
 * The end of em_append: on success set_error is NULL and the new email's
 * id, thread id, size and blobId ("E<id>") are given; otherwise
 * set_error is a SetError type of RFC 8620 5.3 / RFC 8621 4.6-4.8
 * ("overQuota", "invalidEmail", "notFound" for a mailbox, "tooManyMailboxes",
 * "serverFail", ...) and desc says why.  The call is answered by then
 * only if the store became unavailable (c->response set); else cb
 * decides what comes next (another em_append, or the answer).
 */
typedef void em_append_cb(struct jmap_call *c, void *arg,
    const char *set_error, const char *desc, uint64_t email_id,
    uint64_t thread_id, uint64_t size);

/*
 * Stores the message of `size` bytes in fd (taken: a regular file or
 * memfd, read from offset 0) as a new email of the account, as Email/set
 * create, Email/import and EmailSubmission do (jmap_email_append.c):
 * parses it into its record (lib/mime.h, lib/msgrec.h), appends it with
 * MSG_APPEND to the first of mailbox_ids (nmbox >= 1) with flags
 * (MAIL_F_*), keywords (space-separated, lower case, may be "") and
 * received (seconds since the epoch), joins the other mailboxes with
 * EMAIL_SET, reads the thread id with EMAIL_GET, then runs cb with arg.
 * Only one em_append may run on a call at a time.
 */
void	em_append(struct jmap_call *c, int fd, uint64_t size,
	    const uint64_t *mailbox_ids, size_t nmbox, uint32_t flags,
	    const char *keywords, uint64_t received, em_append_cb *cb,
	    void *arg);

/*
 * Email/parse (RFC 8621 4.9, jmap_email_import.c) makes its Emails with
 * Email/get's writers (jmap_email_get.c), from bytes it holds.
 * em_parse_begin checks c's arguments properties (4.9's defaults),
 * bodyProperties, fetch*BodyValues and maxBodyValueBytes as Email/get
 * does and returns what em_parse_email needs (freed with em_parse_end,
 * which NULLs the pointer); NULL with c answered on an error.
 * em_parse_email returns the Email (new) of the message of len bytes at
 * msg (borrowed), whose blobId is blob: id, threadId, mailboxIds,
 * keywords and receivedAt null; body values from msg itself.  NULL if
 * the message does not parse.
 */
struct email_get_ctx;

struct email_get_ctx *em_parse_begin(struct jmap_call *c);
struct json *em_parse_email(struct email_get_ctx *x, const uint8_t *msg,
	    size_t len, const char *blob);
void	em_parse_end(struct email_get_ctx **xp);

/*
 * em_append's limits: a message as large as IMAP APPEND takes
 * (IMAP_APPEND_LIMIT of imap_append.h), in as many mailboxes as storaged
 * keeps for one email (MSG_MAX_MAILBOXES of store/record.h).
 */
#define EM_APPEND_LIMIT		(64ull << 20)
#define EM_APPEND_MAX_MBOX	64

/*
 * Whether the len bytes at p look like a message (RFC 5322 2.1): they
 * begin with a header field (a name of printable characters but ':',
 * then ':').  Email/parse's notParsable and em_append's invalidEmail.
 */
bool	em_message_ok(const uint8_t *p, size_t len);

/*
 * Email/set create (jmap_email_create.c): makes the emails of create (an
 * object of creation id -> Email, borrowed until done runs) one after the
 * other, then runs done(c).  The state goes to *xp, which the caller
 * keeps in its call context, returns from em_set_creating(c) while it
 * runs, and frees with em_create_free.  The results are taken with
 * em_create_created and em_create_not_created (objects; may be empty).
 */
struct ec;
void	em_create_start(struct jmap_call *c, struct ec **xp,
	    const struct json *create, void (*done)(struct jmap_call *));
void	em_create_free(struct ec **xp);
struct json *em_create_created(struct ec *x);
struct json *em_create_not_created(struct ec *x);
/* The creation state of the Email/set call c (jmap_email_set.c). */
struct ec *em_set_creating(struct jmap_call *c);

/*
 * Email/get's writers, split along RFC 8621 4.1 over jmap_email_get.c
 * (the methods, dates, keywords and the record's properties),
 * jmap_email_headers.c (4.1.3) and jmap_email_body.c (4.1.4).  What
 * follows is theirs alone; Email/parse sees email_get_ctx as opaque.
 */
struct msgrec;

/*
 * RFC 8620 1.4 (jmap_email_get.c): a new Date "2024-01-02T03:04:05+01:00"
 * of t (seconds since the epoch) in the zone tz_min minutes east of UTC,
 * or with utc a UTCDate ("Z"); JSON null if t cannot be shown.
 */
struct json *em_date(int64_t t, int32_t tz_min, bool utc);

/*
 * Whether property p (borrowed) is a header property (jmap_email_headers.c,
 * RFC 8621 4.1.3): 1 for a valid "header:{name}[:as{form}][:all]", 0 for
 * a property of another kind, -1 for a header property that is not valid
 * (a bad name, an unknown form, or a form 4.1.2 does not allow for the
 * field).
 */
int	em_hdr_prop_check(const char *p);
/*
 * Sets in o the header properties among props (an array of strings, all
 * checked with em_hdr_prop_check; others are skipped): "headers" and each
 * header:..., from the header block of len bytes at h (borrowed; "", 0
 * for none: the properties are then empty or null).
 */
void	em_hdr_props(struct json *o, const struct json *props, const char *h,
	    size_t len);
/* Whether props (NULL: none) asks for "headers" or a header:... one. */
bool	em_hdr_asked(const struct json *props);

/* One body value to read: part `part` of the email at list index. */
struct em_value {
	size_t		 list_idx;
	uint64_t	 email_id;
	uint32_t	 part;
	uint64_t	 off, end;	/* raw body bytes */
	char		*encoding, *charset;
	bool		 html;
};

/*
 * The state of an Email/get call (its c->ctx) or of an Email/parse
 * (em_parse_begin); the pending emails and header jobs are
 * jmap_email_get.c's own.
 */
struct em_pending;
struct em_hjob;

struct email_get_ctx {
	const struct json *props;	/* NULL: the defaults */
	const struct json *bprops;	/* NULL: the defaults */
	bool		 fetch_text, fetch_html, fetch_all;
	uint64_t	 max_value;	/* maxBodyValueBytes, 0: none */
	bool		 with_record;
	struct em_idset	 ids;
	size_t		 next;		/* the first id not answered yet */
	uint64_t	 state;
	bool		 have_state;
	struct json	*list;
	struct em_value	*vals;
	size_t		 nvals, capvals, vnext;
	struct buf	 raw;		/* of vals[vnext], so far */
	/* Header properties (Email's, and the parts' in bprops). */
	bool		 hdr_email, hdr_parts;
	struct em_pending *pend;
	size_t		 npend, cappend;
	struct em_hjob	*hjobs;
	size_t		 nhjobs, caphjobs, hnext;
	bool		 hstarted;	/* hjobs[hnext] has begun */
	const struct em_pending *cur;	/* while its JSON is made */
	bool		 parse;		/* Email/parse's (em_parse_begin) */
};

/*
 * jmap_email_get.c: the header bytes of part i of the email being made
 * (x->cur), if read: *h and *len then point into x's buffers, valid until
 * the email is made.  False if none.
 */
bool	em_cur_hdr(const struct email_get_ctx *x, uint32_t i, const char **h,
	    size_t *len);
/*
 * jmap_email_get.c: answers the Email/get call c with its context's list
 * (taken) and notFound (taken).
 */
void	em_get_reply(struct jmap_call *c);

/*
 * jmap_email_body.c: a new EmailBodyPart (RFC 8621 4.1.4) of part i of r
 * (borrowed) with the properties x asks, its subParts down from depth;
 * blob is the message's blobId.  A new EmailBodyPart[] of the part
 * indices of l (those r has).
 */
struct json *em_part(const struct email_get_ctx *x, const struct msgrec *r,
	    uint32_t i, const char *blob, int depth);
struct json *em_part_list(const struct email_get_ctx *x,
	    const struct msgrec *r, const struct wire_u64list *l,
	    const char *blob);
/*
 * jmap_email_body.c: queues the value of part i of r (email email_id at
 * list index list_idx) in x->vals if it is a text part not queued yet for
 * that email.
 */
void	em_value_add(struct email_get_ctx *x, size_t list_idx,
	    uint64_t email_id, const struct msgrec *r, uint64_t i);
/*
 * jmap_email_body.c: sets the EmailBodyValue of x->vals[x->vnext] in the
 * bodyValues of its email from the raw bytes in x->raw (raw_cut: not all
 * of them were read); how many raw bytes of v to read at most; and, for
 * Email/get, reads the values in turn with EMAIL_BODY, then answers c
 * (em_get_reply) or with the store's error.
 */
void	em_value_set(struct email_get_ctx *x, bool raw_cut);
uint64_t em_value_want(const struct email_get_ctx *x,
	    const struct em_value *v);
void	em_value_next(struct jmap_call *c);

#endif
