/* SPDX-License-Identifier: ISC */
/*
 * notify.h: telling worker sessions that mail they look at changed.  After
 * a write that touched a mailbox is durable, its done function calls
 * notify_mailbox(); every session (on any worker channel) bound to that
 * account with that mailbox selected (MBOX_SELECT) gets MBOX_CHANGED with
 * the mailbox's new highest modseq, and fetches what changed with
 * MBOX_SYNC.  Runs on the loop thread.
 */
#ifndef BULWARK_NOTIFY_H
#define BULWARK_NOTIFY_H

#include <stdint.h>

#include "storaged.h"

void	notify_mailbox(struct storaged *sd, uint64_t account_id,
	    uint32_t mailbox_id, uint64_t modseq);

#endif
