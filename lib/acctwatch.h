/* SPDX-License-Identifier: ISC */
/*
 * acctwatch.h: what a session watches in its account for IMAP NOTIFY (RFC
 * 5465), as bits of ACCOUNT_WATCH's events, and the kinds of change
 * MBOX_LIST_CHANGED reports (lib/ipc_types.def, store/notify.h).
 */
#ifndef BULWARK_ACCTWATCH_H
#define BULWARK_ACCTWATCH_H

/* ACCOUNT_WATCH events */
#define ACCTWATCH_MESSAGES	0x01	/* ACCOUNT_CHANGED, any mailbox */
#define ACCTWATCH_NAMES		0x02	/* create, delete, rename */
#define ACCTWATCH_SUBSCRIPTIONS	0x04	/* subscribe, unsubscribe */
#define ACCTWATCH_METADATA	0x08	/* a mailbox's annotations */
#define ACCTWATCH_SERVER_METADATA 0x10	/* the account's server ones */
#define ACCTWATCH_DELIVERY	0x20	/* ACCOUNT_DELIVERED (JMAP push) */
#define ACCTWATCH_TYPES		0x40	/* ACCOUNT_TYPES_CHANGED (JMAP) */
#define ACCTWATCH_ALL		0x7f

/* MBOX_LIST_CHANGED event */
#define ACCTWATCH_EV_CREATE	1
#define ACCTWATCH_EV_DELETE	2
#define ACCTWATCH_EV_RENAME	3
#define ACCTWATCH_EV_SUBSCRIBE	4	/* subscribed says which way */
#define ACCTWATCH_EV_METADATA	5	/* entries set or removed */

#endif
