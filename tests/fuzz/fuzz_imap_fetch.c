/* SPDX-License-Identifier: ISC */
/*
 * fuzz_imap_fetch.c: libFuzzer target for FETCH's item parser
 * (imap_fetch_parse_items of imap_fetch_parse.c): the input, with a CRLF
 * added, is what follows "FETCH 1:* " (fetch-att or a parenthesized list
 * of them, then CONDSTORE's, QRESYNC's and PARTIAL's modifiers).  Either
 * it parses, within the limits of imap_fetch_int.h (sections, part
 * numbers, HEADER.FIELDS names), with every section named as its response
 * will name it, or it fails with an error text; nothing leaks either way
 * (LeakSanitizer).
 */
/* fuzz-deps: workers/imapd/imap_fetch_parse.c workers/imapd/imap_parse.c */
#include "workers/imapd/imap_fetch_int.h"

#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser ps;
	struct fetch_ctx *x;
	uint8_t *buf;
	size_t i, n;

	buf = malloc(size + 2);
	if (size > 0)
		memcpy(buf, data, size);
	memcpy(buf + size, "\r\n", 2);
	imap_parser_init(&ps, buf, size + 2);
	x = calloc(1, sizeof(*x));
	if (imap_fetch_parse_items(&ps, x) == 0) {
		if (x->nsect > FETCH_MAX_SECTIONS)
			abort();
		for (i = 0; i < x->nsect; i++) {
			if (x->sect[i].npath > FETCH_MAX_DEPTH ||
			    x->sect[i].nfields > FETCH_MAX_FIELDS ||
			    x->sect[i].name == NULL)
				abort();
			/* The response's item name: no line end, no NUL. */
			n = strlen(x->sect[i].name);
			if (n == 0 || strpbrk(x->sect[i].name, "\r\n") != NULL)
				abort();
		}
		if (x->partial && !(x->partial_lo <= x->partial_hi))
			abort();
	} else if (ps.error == NULL)
		abort();
	imap_fetch_items_clear(x);
	free(x);
	free(buf);
	return 0;
}
