/* SPDX-License-Identifier: ISC */
/*
 * imap_mbox.h: mailbox names as IMAP clients see them, shared by every
 * command that takes or returns one (LIST, CREATE, SELECT, APPEND, COPY,
 * ...).  Three names are in play:
 *
 * - the wire form: what the client sends and is sent, modified UTF-7 (RFC
 *   3501 5.1.3) unless the session enabled UTF8=ACCEPT (RFC 6855 3) or
 *   IMAP4rev2 (RFC 9051 5.1), in which case it is UTF-8;
 * - the client name: the wire form decoded to UTF-8, with "INBOX" (any case)
 *   as its first level written "INBOX" (RFC 9051 5.1);
 * - the stored name: storaged's UTF-8 path with '/' between levels, where
 *   the inbox is the mailbox of role "inbox" whatever it is called (e.g.
 *   "Inbox"), and its children are stored below that name.
 *
 * The hierarchy delimiter is "/" in all three.  Mailbox lists come from
 * storaged's MBOX_LIST (lib/ipc_types.def), asked for asynchronously.
 */
#ifndef BULWARK_IMAP_MBOX_H
#define BULWARK_IMAP_MBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ipc_msg.h"

struct imap_session;

/* The hierarchy delimiter, RFC 9051 5.1. */
#define IMAP_MBOX_DELIM		'/'
/* Bytes of a stored name (MAILBOX_NAME_MAX of the store). */
#define IMAP_MBOX_NAME_MAX	1024

/* One mailbox of the session's account, from MBOX_LIST. */
struct imap_mbox {
	uint32_t	 id;
	uint32_t	 parent;	/* 0: top level */
	char		*name;		/* stored name */
	char		*cname;		/* client name, UTF-8 ("INBOX/x") */
	char		*role;		/* "" or an RFC 8621 role */
	bool		 subscribed;
	bool		 has_children;
	uint64_t	 total;		/* messages */
	uint64_t	 unread;	/* messages without \Seen */
	uint64_t	 uidvalidity;
	uint64_t	 uidnext;
	uint64_t	 highestmodseq;
	uint64_t	 size;		/* bytes of all messages */
	uint64_t	 deleted;	/* messages with \Deleted */
	uint64_t	 deleted_size;	/* their bytes */
};

/* Every mailbox of the account, sorted by client name (byte order). */
struct imap_mbox_list {
	struct imap_mbox *v;
	size_t		 n;
	uint64_t	 state;		/* the account's mailbox state */
	const struct imap_mbox *inbox;	/* NULL if the account has none */
};

/* Returns true if the session takes and sends names in UTF-8. */
bool	imap_mbox_utf8(const struct imap_session *s);

/*
 * Decodes the mailbox argument p (len bytes, borrowed, as parsed) of a
 * command of session s into a client name: mUTF-7 is decoded unless the
 * session uses UTF-8, a first level "INBOX" in any case becomes "INBOX",
 * and one trailing delimiter is dropped when trailing_ok (CREATE, RFC 9051
 * 6.3.4).  Returns the name (NUL-terminated, owned by the caller), or NULL
 * with a static reason for a NO [CANNOT] response in *error_r: not valid
 * mUTF-7 or UTF-8, a character RFC 6855 3 forbids (controls, U+2028,
 * U+2029), an empty level, a wildcard ("*" "%"), or too long.
 */
char	*imap_mbox_name_decode(const struct imap_session *s, const void *p,
	    size_t len, bool trailing_ok, const char **error_r);
/*
 * The same for a LIST pattern or reference (RFC 9051 6.3.9): wildcards and
 * empty levels pass; NULL only when the encoding is invalid.
 */
char	*imap_mbox_pattern_decode(const struct imap_session *s, const void *p,
	    size_t len, const char **error_r);
/*
 * Writes the client name cname (UTF-8, borrowed) to out as a response's
 * mailbox: mUTF-7 or UTF-8 per session, as an atom, quoted string or
 * literal as the content needs (imap_resp_astring).  A name that cannot be
 * encoded (not UTF-8, which storaged does not keep) is written as is, as a
 * literal.
 */
void	imap_mbox_name_write(const struct imap_session *s, struct buf *out,
	    const char *cname);

/*
 * Returns true if client name matches LIST pattern pat (RFC 9051 6.3.9):
 * "*" matches any characters, "%" any but the delimiter, the rest itself.
 */
bool	imap_mbox_match(const char *pat, const char *name);

/*
 * Returns the stored name (owned by the caller) of client name cname in
 * list l: the inbox's stored name in place of a first level "INBOX".
 * Returns NULL if cname is below INBOX and the account has no inbox.
 */
char	*imap_mbox_stored_name(const struct imap_mbox_list *l,
	    const char *cname);
/*
 * Returns the client name (owned by the caller) of stored name in list l,
 * whose inbox decides what reads as "INBOX...", as imap_mbox_list_init
 * names mailboxes (for a subscribed name without a mailbox); NULL for one
 * that cannot be shown there, or is not UTF-8.
 */
char	*imap_mbox_client_name_of(const struct imap_mbox_list *l,
	    const char *name);
/* Returns the mailbox of client name cname in l (borrowed), or NULL. */
const struct imap_mbox *imap_mbox_find(const struct imap_mbox_list *l,
	    const char *cname);
/* Returns the mailbox of id in l (borrowed), or NULL. */
const struct imap_mbox *imap_mbox_find_id(const struct imap_mbox_list *l,
	    uint32_t id);
/*
 * Returns the special-use attribute (RFC 6154 2, "\Sent") of an RFC 8621
 * role, or NULL for "" and roles IMAP has no attribute for; and back, the
 * role of a special-use attribute (any case), or NULL.
 */
const char *imap_mbox_role_attr(const char *role);
const char *imap_mbox_attr_role(const char *attr, size_t len);
/*
 * Writes the MAILBOXID (RFC 8474 4) of mailbox id into buf (size bytes,
 * OBJID_MAX are enough): the mailbox id of lib/objid.h, which JMAP shows
 * too ("B" and the id in lower-case hex).
 */
void	imap_mbox_objectid(uint32_t id, char *buf, size_t size);

/*
 * Receives the reply to imap_mbox_lookup().  st is IPC_S_OK with list l
 * (borrowed, freed when cb returns) or an error (l NULL).  mb is the
 * mailbox whose client name was asked, or NULL if there is none (or no
 * name was asked).  s->req_id is 0 again when cb runs.
 */
typedef void imap_mbox_lookup_cb(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg);

/*
 * Storage for one lookup, owned by the caller (keep it in the command's
 * state, s->cmd_ctx) until cb has run or the session has ended.  Private.
 */
struct imap_mbox_req {
	struct imap_session	*s;
	const char		*cname;
	imap_mbox_lookup_cb	*cb;
	void			*arg;
};

/*
 * Asks storaged for the account's mailboxes (MBOX_LIST) and finds client
 * name cname (borrowed: keep it until cb runs; NULL for none) in them; cb
 * runs once with the result, possibly before this returns (the store
 * channel is gone).  The request id goes to s->req_id, so that a session
 * that ends cancels it (cb then never runs: what req and arg point to must
 * be freed by s->cmd_ctx_free).  Returns the request id, or 0 if cb has
 * already run.
 */
uint32_t imap_mbox_lookup(struct imap_session *s, struct imap_mbox_req *req,
	    const char *cname, imap_mbox_lookup_cb *cb, void *arg);

/*
 * Builds l from the MBOX_LIST reply r: stored names become client names
 * (the inbox and what lies below it become "INBOX..."), names that are not
 * UTF-8 are dropped.  Returns 0, or -1 if the reply is inconsistent (list
 * lengths differ).  Free with imap_mbox_list_clear().
 */
int	imap_mbox_list_init(struct imap_mbox_list *l,
	    const struct ipc_MBOX_LIST_rep *r);
void	imap_mbox_list_clear(struct imap_mbox_list *l);

#endif
