/* SPDX-License-Identifier: ISC */
/*
 * fuzz_imap_resp.c: libFuzzer target for the response writer's strings
 * (imap_resp_string, imap_resp_astring, imap_resp_nstring of imap_resp.c).
 * The first input byte chooses the function, the UTF-8 flag and NIL; the
 * rest is the string, any bytes.  What is written, with a CRLF, must parse
 * back with the matching imap_parse_*() (as an atom, a quoted string or a
 * literal) to exactly the same bytes, with nothing left over; the choice
 * of form must follow the rules of imap_resp.h (quoted only for at most
 * IMAP_RESP_QUOTED_MAX bytes without CR, LF or NUL, 8-bit only with
 * IMAP_RESP_UTF8 and valid UTF-8).  A string with a NUL cannot be sent in
 * any form (RFC 9051 9: CHAR8 excludes it), so for such strings the writer
 * must still frame a literal that the parser then refuses as holding one.
 */
/* fuzz-deps: workers/imapd/imap_parse.c */
#include "buf.h"
#include "workers/imapd/imap_parse.h"
#include "imap_resp.h"

#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FZ_STRING, FZ_ASTRING, FZ_NSTRING, FZ_NIL };

/* May s go quoted (imap_resp.h)?  Written here again, from the rules. */
static bool
fz_quotable(const uint8_t *s, size_t len, unsigned flags)
{
	bool eight = false;
	size_t i;

	if (len > IMAP_RESP_QUOTED_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return false;
		if (s[i] >= 0x80)
			eight = true;
	}
	return !eight || ((flags & IMAP_RESP_UTF8) && imap_utf8_valid(s, len));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser ps;
	struct imap_str back;
	struct buf b = BUF_INIT;
	const uint8_t *s;
	unsigned flags, kind;
	uint8_t *copy;
	size_t len;
	bool nul;
	int rc;

	if (size < 1)
		return 0;
	kind = data[0] & 3;
	flags = (data[0] & 4) ? IMAP_RESP_UTF8 : 0;
	s = data + 1;
	len = size - 1;
	nul = len > 0 && memchr(s, '\0', len) != NULL;
	switch (kind) {
	case FZ_STRING:
		imap_resp_string(&b, s, len, flags);
		break;
	case FZ_ASTRING:
		imap_resp_astring(&b, s, len, flags);
		break;
	case FZ_NSTRING:
		imap_resp_nstring(&b, s, len, flags);
		break;
	default:
		imap_resp_nstring(&b, NULL, 0, flags);
		break;
	}
	imap_resp_crlf(&b);
	/* An exact-size copy, so that a read past the end is caught. */
	if ((copy = malloc(b.len)) == NULL)
		abort();
	memcpy(copy, b.data, b.len);
	imap_parser_init(&ps, copy, b.len);
	memset(&back, 0, sizeof(back));
	switch (kind) {
	case FZ_STRING:
		rc = imap_parse_string(&ps, &back);
		break;
	case FZ_ASTRING:
		rc = imap_parse_astring(&ps, &back);
		break;
	default:
		rc = imap_parse_nstring(&ps, &back);
		break;
	}
	if (nul && kind != FZ_NIL) {
		/* Framed as a literal, refused for its NUL. */
		if (rc != -1 || copy[0] != '{' || ps.error == NULL ||
		    strcmp(ps.error, "NUL in literal") != 0)
			abort();
		goto done;
	}
	if (rc == -1 || imap_parse_eol(&ps) == -1)
		abort();
	if (kind == FZ_NIL) {
		if (back.p != NULL)
			abort();
		goto done;
	}
	if (back.p == NULL || back.len != len ||
	    (len > 0 && memcmp(back.p, s, len) != 0))
		abort();
	if (copy[0] == '"' || copy[0] == '{') {
		if ((copy[0] == '"') != fz_quotable(s, len, flags))
			abort();
	} else if (kind != FZ_ASTRING || !imap_resp_is_atom(s, len))
		abort();
done:
	free(copy);
	buf_clear(&b);
	return 0;
}
