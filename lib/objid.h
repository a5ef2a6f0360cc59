/* SPDX-License-Identifier: ISC */
/*
 * objid.h: the object ids that IMAP (OBJECTID, RFC 8474: MAILBOXID,
 * EMAILID, THREADID) and JMAP (RFC 8620 1.2 Id) show for the store's
 * numeric ids, so that both protocols name a message the same way.  An id
 * is a letter for its kind followed by the number in lower-case hex:
 * mailbox "B1f", email "M2a0", thread "T7", account "A3".  They are stable for the life
 * of the object and never reused (the store never reuses a number).
 */
#ifndef BULWARK_OBJID_H
#define BULWARK_OBJID_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OBJID_MAX	18	/* letter + 16 hex digits + NUL */

static inline void
objid_format(char *out, char kind, uint64_t n)
{
	(void)snprintf(out, OBJID_MAX, "%c%llx", kind, (unsigned long long)n);
}

/*
 * The number of id s of kind, or 0 when s is not one: the letter, then 1
 * to 16 lower-case hex digits without a leading zero (the one spelling
 * objid_format() makes, so that an id names one object).
 */
static inline uint64_t
objid_parse(const char *s, char kind)
{
	uint64_t n = 0;
	size_t i;
	int d;

	if (s == NULL || s[0] != kind || s[1] == '0' || s[1] == '\0')
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (i > 16)
			return 0;
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else
			return 0;
		n = n << 4 | (uint64_t)d;
	}
	return n;
}

#define OBJID_MAILBOX	'B'
#define OBJID_EMAIL	'M'
#define OBJID_THREAD	'T'
#define OBJID_ACCOUNT	'A'	/* JMAP accountId (RFC 8620 1.6.2) */
#define OBJID_IDENTITY	'I'	/* JMAP Identity (RFC 8621 6) */
#define OBJID_SUBMISSION 'Q'	/* JMAP EmailSubmission (RFC 8621 7) */
#define OBJID_PUSHSUB	'P'	/* JMAP PushSubscription (RFC 8620 7.2) */

#endif
