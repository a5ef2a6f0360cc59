/* SPDX-License-Identifier: ISC */
/*
 * rcpt.h: resolving an LMTP recipient to an account and a mailbox.
 *
 * In order: the address as an account, then as an alias (to its target),
 * then, for local+detail@domain, the base address as an account or alias
 * with the detail naming a mailbox (RFC 5233 subaddressing; the mailbox if
 * it exists, compared without regard to case, else the inbox), and last
 * the catch-all of the domain (catchall database: domain -> target).  The
 * catch-all comes after subaddressing so that alice+lists@ still reaches
 * alice in a domain that has one; and the whole address is tried first so
 * that an account whose name holds a '+' stays reachable.
 */
#ifndef BULWARK_RCPT_H
#define BULWARK_RCPT_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "name.h"
#include "record.h"

struct rcpt_result {
	uint64_t	 account_id;
	char		 account[NAME_ADDR_MAX + 1];
	uint32_t	 mailbox_id;
	char		 mailbox[MAILBOX_NAME_MAX + 1];
	bool		 over_quota;	/* at or over a quota already */
};

/*
 * Resolves address (as given in RCPT TO, angle brackets allowed) into *r.
 * Returns IPC_S_OK, IPC_S_INVALID (not an address), IPC_S_NOTFOUND (no
 * such recipient) or an error, with err set unless IPC_S_OK.
 */
enum ipc_status rcpt_resolve(struct store_db *db, const char *address,
	    struct rcpt_result *r, struct store_error *err);

#endif
