/* SPDX-License-Identifier: ISC */
/*
 * name.h: checking and canonicalizing the names the store keeps: domain
 * names (RFC 1035 2.3.1 LDH labels) and addresses local@domain whose local
 * part is a dot-atom (RFC 5322 3.2.3, 3.4.1).  Canonical names are lower
 * case; the store compares and keys them only in that form.
 */
#ifndef BULWARK_NAME_H
#define BULWARK_NAME_H

#include "db.h"

#define NAME_DOMAIN_MAX	253	/* RFC 1035 2.3.4, without the root dot */
#define NAME_LABEL_MAX	63
#define NAME_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define NAME_ADDR_MAX	(NAME_LOCAL_MAX + 1 + NAME_DOMAIN_MAX)
#define NAME_PASSWORD_MAX 1024

struct name_addr {
	char	 local[NAME_LOCAL_MAX + 1];
	char	 domain[NAME_DOMAIN_MAX + 1];
	char	 full[NAME_ADDR_MAX + 1];	/* local@domain */
};

/*
 * Checks domain name in and writes its lower-case form to out.  Returns
 * IPC_S_OK, or IPC_S_INVALID with a precise err (empty label, bad
 * character, too long, no dot, ...).
 */
enum ipc_status name_domain(const char *in, char out[NAME_DOMAIN_MAX + 1],
	    struct store_error *err);
/*
 * Checks address in (what names an account or an alias) and splits it into
 * *a, lower-cased.  Returns IPC_S_OK or IPC_S_INVALID with err.  Whether
 * the domain exists is the caller's question.
 */
enum ipc_status name_address(const char *in, struct name_addr *a,
	    struct store_error *err);
/* Checks a password's length (1..NAME_PASSWORD_MAX bytes). */
enum ipc_status name_password(const char *pw, struct store_error *err);
/*
 * Copies untrusted text s into out (size outlen) for a log line: bytes
 * outside printable ASCII and spaces become '?', so that a user name cannot
 * add fields to a line that fail2ban parses; long text is cut.  Returns out.
 */
const char *name_log_safe(const char *s, char *out, size_t outlen);

#endif
