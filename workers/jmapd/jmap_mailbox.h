/* SPDX-License-Identifier: ISC */
/*
 * jmap_mailbox.h: what the Mailbox files of jmapd (jmap_mailbox.c: /get,
 * /changes, /query; jmap_mailbox_set.c: /set) share: the account's
 * mailboxes as MBOX_LIST gives them.
 */
#ifndef BULWARK_JMAP_MAILBOX_H
#define BULWARK_JMAP_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jmap_int.h"

/* A name level may not hold the separator the store uses. */
#define JMBOX_SEP	'/'
#define JMBOX_NAME_MAX	255	/* bytes of one level */

struct jmbox {
	uint64_t	 id, parent;
	char		*name;		/* full, with '/' */
	const char	*leaf;		/* the last level, inside name */
	char		*role;		/* "" for none */
	uint64_t	 total, unread, threads, unread_threads, sort_order;
	bool		 subscribed;
	char		*key;		/* leaf's i;unicode-casemap key */
};

struct jmbox_list {
	uint64_t	 state;
	struct jmbox	*v;
	size_t		 n;
	bool		 have_threads;
};

/* Frees a struct jmbox_list (a ctx_free). */
void	jmbox_list_free(void *p);
/* The mailbox id of l, or NULL. */
struct jmbox *jmbox_find(const struct jmbox_list *l, uint64_t id);
/* The method error of a storaged status other than IPC_S_OK. */
const char *jmbox_store_error(enum ipc_status st);
/* myRights (RFC 8621 2): everything, for the user's own account. */
struct json *jmbox_rights(void);
/* Reads the mailboxes (MBOX_LIST), then next(c) with them in c->ctx. */
void	jmbox_list_then(struct jmap_call *c, void (*next)(struct jmap_call *));

#endif
