/* SPDX-License-Identifier: ISC */
/*
 * session.h: the sessions of one worker channel.
 *
 * A worker names each of its client sessions with a 64-bit id (the session
 * field of the frame header), opens it with SESSION_OPEN and closes it with
 * SESSION_CLOSE; AUTH or SESSION_RESUME binds it to an account.  Ids are
 * per channel: two workers may use the same one.  The table is an open
 * addressing hash keyed with a random per-process key, so a worker cannot
 * make lookups slow by choosing ids, and it holds at most SESSION_MAX
 * sessions, so a worker cannot make storaged grow without bound.
 */
#ifndef BULWARK_SESSION_H
#define BULWARK_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "name.h"

#define SESSION_MAX	(1u << 17)

struct session {
	uint64_t		 id;		/* the worker's */
	uint64_t		 serial;	/* unique per open */
	char			 proto[16];
	struct auth_remote	 remote;
	char			 local[64];
	bool			 tls;
	bool			 busy;		/* AUTH on the thread pool */
	uint64_t		 account_id;	/* 0: not bound */
	char			 username[NAME_ADDR_MAX + 1];
	uint32_t		 selected;	/* MBOX_SELECT's mailbox, 0: none */
	uint32_t		 max_user;	/* SESSION_ADMIT's, 0: no limit */
	uint32_t		 watch;		/* ACCOUNT_WATCH's, ACCTWATCH_* */
};

struct session_table {
	struct session	**slot;
	size_t		  mask;		/* slots - 1 */
	size_t		  n;
	uint8_t		  hkey[16];
};

void	session_table_init(struct session_table *t);
/* Frees every session and the table; t can be initialized again. */
void	session_table_clear(struct session_table *t);
/*
 * Opens session id with the connection details (copied; remote is parsed
 * as auth_remote_parse does), replacing an open one of the same id.
 * Returns the session (owned by the table), or NULL when the table is
 * full.
 */
struct session *session_open(struct session_table *t, uint64_t id,
	    const char *proto, const char *remote, const char *local,
	    bool tls);
/* Returns session id (owned by the table) or NULL. */
struct session *session_find(struct session_table *t, uint64_t id);
/* Closes and frees session id; nothing happens if it is not open. */
void	session_close(struct session_table *t, uint64_t id);
/* Binds s to an account. */
void	session_bind(struct session *s, uint64_t account_id,
	    const char *username);
/*
 * The number of sessions of proto open from remote (its limiter key), or
 * bound to account_id.
 */
size_t	session_count_remote(const struct session_table *t, const char *proto,
	    const struct auth_remote *remote);
size_t	session_count_account(const struct session_table *t,
	    const char *proto, uint64_t account_id);
/* Unbinds every session bound to account_id; returns how many. */
size_t	session_unbind_account(struct session_table *t, uint64_t account_id);

#endif
