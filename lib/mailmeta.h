/* SPDX-License-Identifier: ISC */
/*
 * mailmeta.h: annotation entry names of the IMAP METADATA extension (RFC
 * 5464) and the limits on annotations, shared by imapd, which parses them
 * from clients, and storaged, which keeps them (METADATA_GET and
 * METADATA_SET of lib/ipc_types.def) and checks every name again.
 *
 * An entry name (RFC 5464 3.2) is a path of at least two components,
 * each after a "/", the first "private" or "shared" (the scope); no empty
 * component, no trailing "/", no "*" or "%", no octet outside 0x20-0x7e.
 * Names compare without regard to ASCII case: the canonical form, which
 * the store keys on and returns, is in lower case.
 */
#ifndef BULWARK_MAILMETA_H
#define BULWARK_MAILMETA_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of an entry name (the store's key must stay below 511 bytes). */
#define MAILMETA_NAME_MAX	255
/* Octets of one value: RFC 5464 3.3 asks for 1024 at least. */
#define MAILMETA_VALUE_MAX	8192
/*
 * Entries of the server, or of one mailbox (RFC 5464 3.3: 10 at least).
 * With MAILMETA_VALUE_MAX, every entry of one mailbox fits one IPC reply.
 */
#define MAILMETA_ENTRIES_MAX	100

/*
 * Checks entry name p (len bytes, borrowed) and writes its canonical form,
 * NUL-terminated, to canon (MAILMETA_NAME_MAX + 1 bytes).  Returns NULL if
 * it is a valid entry name, else why not (a static string).
 */
const char *mailmeta_name_canon(const char *p, size_t len,
	    char canon[MAILMETA_NAME_MAX + 1]);
/*
 * Whether entry name (canonical) is below root (canonical) no deeper than
 * depth levels (0: name is root itself; SIZE_MAX: any depth).  RFC 5464
 * 4.2.2.
 */
bool	mailmeta_name_within(const char *root, const char *name,
	    size_t depth);

#endif
