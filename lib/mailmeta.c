/* SPDX-License-Identifier: ISC */
/*
 * mailmeta.c: checking annotation entry names and matching them against
 * the entries and depth of GETMETADATA (RFC 5464 3.2, 4.2.2; see
 * mailmeta.h).
 */
#include "mailmeta.h"

#include <string.h>

const char *
mailmeta_name_canon(const char *p, size_t len,
    char canon[MAILMETA_NAME_MAX + 1])
{
	size_t i, ncomp = 0;
	char c;

	if (len == 0 || p[0] != '/')
		return "Entry name must start with /";
	if (len > MAILMETA_NAME_MAX)
		return "Entry name too long";
	for (i = 0; i < len; i++) {
		c = p[i];
		if (c < 0x20 || c > 0x7e)
			return "Invalid character in entry name";
		if (c == '*' || c == '%')
			return "Wildcards are not allowed in entry names";
		if (c == '/') {
			if (i + 1 == len || p[i + 1] == '/')
				return "Empty component in entry name";
			ncomp++;
		}
		canon[i] = (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
	}
	canon[len] = '\0';
	if (ncomp < 2)
		return "Entry name needs at least two components";
	if (strncmp(canon, "/private/", 9) != 0 &&
	    strncmp(canon, "/shared/", 8) != 0)
		return "Entry name must start with /private or /shared";
	return NULL;
}

bool
mailmeta_name_within(const char *root, const char *name, size_t depth)
{
	size_t rlen = strlen(root), levels = 0;
	const char *p;

	if (strncmp(root, name, rlen) != 0)
		return false;
	if (name[rlen] == '\0')
		return true;
	if (name[rlen] != '/')
		return false;
	for (p = name + rlen; *p != '\0'; p++)
		if (*p == '/')
			levels++;
	return levels <= depth;
}
