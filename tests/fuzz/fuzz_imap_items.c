/* SPDX-License-Identifier: ISC */
/*
 * fuzz_imap_items.c: libFuzzer target for the scanner of stored FETCH
 * items (imap_struct_item_valid, imap_struct_stored_read of
 * lib/imap_struct.c), which stands between what the database holds and
 * the client: the input, any bytes, is scanned as an item and as a stored
 * form.  An item taken must have no CR or LF outside its literals and
 * balanced parentheses (checked here again, by a plainer walk); and any
 * bytes written by the response writer (imap_resp.h) as strings or
 * nstrings inside parentheses must be taken, since storaged writes its
 * items with it (no astrings: FETCH items have none).
 */
#include "buf.h"
#include "imap_resp.h"
#include "imap_struct.h"

#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks an item taken by the scanner: no line end outside literals. */
static void
fz_check_taken(const uint8_t *p, size_t len)
{
	size_t i = 0, n, depth = 0;
	bool quoted = false;

	while (i < len) {
		if (quoted) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				quoted = false;
			else if (p[i] == '\r' || p[i] == '\n')
				abort();
			i++;
			continue;
		}
		switch (p[i]) {
		case '"':
			quoted = true;
			break;
		case '(':
			depth++;
			break;
		case ')':
			if (depth-- == 0)
				abort();
			if (depth == 0 && i + 1 != len)
				abort();
			break;
		case '{':
			for (n = 0, i++; i < len && p[i] != '}'; i++)
				n = n * 10 + (size_t)(p[i] - '0');
			/* "}" CRLF, then n bytes skipped */
			if (i + 3 > len || p[i + 1] != '\r' || p[i + 2] != '\n')
				abort();
			i += 2 + n;
			break;
		case '\r':
		case '\n':
			abort();
		}
		i++;
	}
	if (depth != 0 || quoted)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_struct_stored st;
	struct buf b = BUF_INIT;
	uint8_t *copy;

	/* An exact-size copy, so that a read past the end is caught. */
	copy = malloc(size > 0 ? size : 1);
	if (size > 0)
		memcpy(copy, data, size);
	if (imap_struct_item_valid(copy, size))
		fz_check_taken(copy, size);
	if (imap_struct_stored_read(copy, size, &st) == 0) {
		fz_check_taken(st.envelope, st.envelope_len);
		fz_check_taken(st.body, st.body_len);
	}
	free(copy);
	/* The writer's strings, in every form, make an item. */
	buf_append(&b, "(", 1);
	imap_resp_string(&b, data, size, 0);
	buf_append(&b, " ", 1);
	imap_resp_nstring(&b, data, size, IMAP_RESP_UTF8);
	buf_append(&b, " NIL ((", 7);
	imap_resp_string(&b, data, size, IMAP_RESP_UTF8);
	buf_append(&b, ")(1 2)))", 8);
	if (!imap_struct_item_valid(b.data, b.len))
		abort();
	buf_clear(&b);
	return 0;
}
