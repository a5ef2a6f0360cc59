/* SPDX-License-Identifier: ISC */
/*
 * pushtypes.h: the JMAP data types a PushSubscription (RFC 8620 7.2) may
 * name in "types", as bits, shared by jmapd (which parses the names) and
 * storaged (which writes them in StateChange objects, 7.1).  A type
 * changes when the change log gets an entry of its change type (store/
 * record.h); EmailDelivery when mail is delivered over LMTP (RFC 8621
 * 1.5).  Names outside this table are types this server does not have:
 * they never change.
 */
#ifndef BULWARK_PUSHTYPES_H
#define BULWARK_PUSHTYPES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PUSHTYPE_MAILBOX	0x01u
#define PUSHTYPE_EMAIL		0x02u
#define PUSHTYPE_THREAD		0x04u
#define PUSHTYPE_DELIVERY	0x08u	/* EmailDelivery */
#define PUSHTYPE_IDENTITY	0x10u
#define PUSHTYPE_SUBMISSION	0x20u	/* EmailSubmission */
#define PUSHTYPE_VACATION	0x40u	/* VacationResponse */
#define PUSHTYPE_KNOWN		0x7fu
/* "types": null, every type. */
#define PUSHTYPE_ALL		0x80000000u

struct pushtype {
	const char	*name;
	uint32_t	 bit;
};

static const struct pushtype pushtypes[] = {
	{ "Mailbox",		PUSHTYPE_MAILBOX },
	{ "Email",		PUSHTYPE_EMAIL },
	{ "Thread",		PUSHTYPE_THREAD },
	{ "EmailDelivery",	PUSHTYPE_DELIVERY },
	{ "Identity",		PUSHTYPE_IDENTITY },
	{ "EmailSubmission",	PUSHTYPE_SUBMISSION },
	{ "VacationResponse",	PUSHTYPE_VACATION },
};
#define PUSHTYPES_N	(sizeof(pushtypes) / sizeof(pushtypes[0]))

/* The bit of type name, 0 for a type this server does not have. */
static inline uint32_t
pushtype_bit(const char *name)
{
	size_t i;

	for (i = 0; i < PUSHTYPES_N; i++)
		if (strcmp(pushtypes[i].name, name) == 0)
			return pushtypes[i].bit;
	return 0;
}

#endif
