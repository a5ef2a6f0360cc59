/* SPDX-License-Identifier: ISC */
/*
 * imap_notify_parse.h: the arguments of the NOTIFY command (RFC 5465 8),
 * parsed apart from the session so that the parser can be fuzzed alone
 * (tests/fuzz/fuzz_imap_notify.c).  imap_cmd_notify.c runs the command.
 *
 * Two steps of the parse depend on the session, and the caller does them
 * through callbacks: turning a mailbox name as sent into a client name
 * (modified UTF-7 or UTF-8, imap_mbox_name_decode) and checking the fetch
 * attributes of MessageNew with FETCH's own parser (imap_fetch_check).
 *
 * The parse follows the ABNF of RFC 5465 8.  It tells apart three
 * outcomes, because the command answers them differently (RFC 5465 3.1):
 * a syntax error (-1, BAD with ps->error), a broken rule of sections 5 or
 * 6.1 (bad: BAD), and an event this server does not report (badevent:
 * NO [BADEVENT]).  Unknown events are left out of the result.
 */
#ifndef BULWARK_IMAP_NOTIFY_PARSE_H
#define BULWARK_IMAP_NOTIFY_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "imap_parse.h"

/* Events of RFC 5465 5, as bits. */
#define IMAP_NE_NEW		0x01	/* MessageNew */
#define IMAP_NE_EXPUNGE		0x02	/* MessageExpunge */
#define IMAP_NE_FLAGS		0x04	/* FlagChange */
#define IMAP_NE_NAME		0x08	/* MailboxName */
#define IMAP_NE_SUBSCRIBE	0x10	/* SubscriptionChange */
#define IMAP_NE_MBOXMETA	0x20	/* MailboxMetadataChange */
#define IMAP_NE_SRVMETA		0x40	/* ServerMetadataChange */
#define IMAP_NE_MESSAGE	(IMAP_NE_NEW | IMAP_NE_EXPUNGE | IMAP_NE_FLAGS)

/* Mailboxes one NOTIFY may name per group, and groups it may have. */
#define IMAP_NOTIFY_NAMES_MAX	256
#define IMAP_NOTIFY_GROUPS_MAX	64
/* Longest fetch-att list of MessageNew, parentheses included. */
#define IMAP_NOTIFY_FETCH_ATT_MAX 1024

/* filter-mailboxes-other */
enum imap_notify_filter {
	IMAP_NF_INBOXES, IMAP_NF_PERSONAL, IMAP_NF_SUBSCRIBED,
	IMAP_NF_SUBTREE, IMAP_NF_MAILBOXES
};

struct imap_notify_group {
	enum imap_notify_filter	 filter;
	char			**names;  /* client names: SUBTREE, MAILBOXES;
					     names that cannot exist are
					     left out (RFC 5465 3.1) */
	size_t			 nnames;
	unsigned		 events;  /* IMAP_NE_* */
};

/* What one NOTIFY SET asks for. */
struct imap_notify_set {
	/* SELECTED or SELECTED-DELAYED (RFC 5465 6.1). */
	bool			 sel_set;
	bool			 sel_delayed;
	unsigned		 sel_events;
	char			*fetch_att;	/* "(...)" of MessageNew as
						   written, or NULL */
	/* The other groups, in the client's order. */
	struct imap_notify_group *groups;
	size_t			 ngroups;
};

/* What the parse needs of the session. */
struct imap_notify_parse_ops {
	/*
	 * The client name (allocated) of mailbox name p (len bytes, as
	 * sent), or NULL if no mailbox can have that name.
	 */
	char	*(*name_decode)(void *arg, const void *p, size_t len);
	/*
	 * 0 if att (NUL-terminated) is "(" fetch-att *(SP fetch-att) ")"
	 * as FETCH takes it, else -1 with a static reason in *why.
	 */
	int	 (*fetch_check)(void *arg, const char *att, const char **why);
	void	*arg;
};

/* The arguments of one NOTIFY command. */
struct imap_notify_args {
	bool			 none;		/* NOTIFY NONE */
	bool			 status;	/* NOTIFY SET STATUS */
	bool			 badevent;	/* an event not reported */
	const char		*bad;		/* a rule of 5 or 6.1 broken */
	struct imap_notify_set	 set;		/* SET */
};

/*
 * Parses what follows "NOTIFY" (from its SP to the CRLF) into *a, which
 * is overwritten.  Returns 0, or -1 with ps->error and a->set empty.
 * After 0, a->set is the caller's to free even if bad or badevent is set.
 */
int	imap_notify_parse(struct imap_parser *ps,
	    const struct imap_notify_parse_ops *ops,
	    struct imap_notify_args *a);
/* Frees what set holds and leaves it empty. */
void	imap_notify_set_clear(struct imap_notify_set *set);

#endif
