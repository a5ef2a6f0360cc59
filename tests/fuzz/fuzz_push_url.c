/* SPDX-License-Identifier: ISC */
/*
 * fuzz_push_url.c: libFuzzer target for what lmtpd's JMAP push client
 * reads from outside: subscription URLs (from a JMAP client, through
 * storaged) and the status line of a push service.  The first byte
 * chooses which.  A URL that parses must give a host of allowed bytes
 * (or an IP literal that inet_pton takes back), a port above 0 and a
 * path that starts with "/" of printable ASCII without a fragment, each
 * within its bounds; a status line that parses must give 100-599 from
 * its own digits.
 */
/* fuzz-deps: workers/lmtpd/lmtp_push.c */
#include "workers/lmtpd/lmtp_push.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_url(const uint8_t *p, size_t len)
{
	struct lmtp_push_url u;
	unsigned char ip[sizeof(struct in6_addr)];
	const char *why = NULL;
	char *s;
	size_t i;

	if ((s = malloc(len + 1)) == NULL)
		return;
	memcpy(s, p, len);
	s[len] = '\0';
	if (lmtp_push_url_parse(s, &u, &why) == -1) {
		if (why == NULL)
			abort();
		free(s);
		return;
	}
	if (u.port == 0 || u.path[0] != '/' || strchr(u.path, '#') != NULL ||
	    strlen(u.host) == 0 || strlen(u.host) > LMTP_PUSH_HOST_MAX ||
	    strlen(u.path) > LMTP_PUSH_PATH_MAX)
		abort();
	for (i = 0; u.path[i] != '\0'; i++)
		if ((unsigned char)u.path[i] <= 0x20 ||
		    (unsigned char)u.path[i] >= 0x7f)
			abort();
	if (u.literal) {
		if (inet_pton(u.v6 ? AF_INET6 : AF_INET, u.host, ip) != 1)
			abort();
	} else
		for (i = 0; u.host[i] != '\0'; i++)
			if (!isalnum((unsigned char)u.host[i]) &&
			    u.host[i] != '-' && u.host[i] != '.')
				abort();
	free(s);
}

static void
fz_status(const uint8_t *p, size_t len)
{
	int code = lmtp_push_status_line((const char *)p, len);

	if (code == -1)
		return;
	if (code < 100 || code > 599 || len < 12 ||
	    code != (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fz_status(data + 1, size - 1);
	else
		fz_url(data + 1, size - 1);
	return 0;
}
