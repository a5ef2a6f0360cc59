/* SPDX-License-Identifier: ISC */
/*
 * mailflags.h: the system flags of a message (RFC 9051 2.3.2; the JMAP
 * keywords $seen $answered $flagged $draft of RFC 8621 4.1.1, with
 * \Deleted kept for IMAP) as bits, the same in the store's records and on
 * the wire (lib/ipc_types.def, MSG_* requests).
 */
#ifndef BULWARK_MAILFLAGS_H
#define BULWARK_MAILFLAGS_H

#define MAIL_F_SEEN	0x01
#define MAIL_F_ANSWERED	0x02
#define MAIL_F_FLAGGED	0x04
#define MAIL_F_DELETED	0x08
#define MAIL_F_DRAFT	0x10
#define MAIL_F_ALL	0x1f

#endif
