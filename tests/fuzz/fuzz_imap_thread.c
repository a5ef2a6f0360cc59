/* SPDX-License-Identifier: ISC */
/*
 * fuzz_imap_thread.c: libFuzzer target for THREAD's algorithms
 * (imap_thread.c).  The input is a list of messages, one a line: a date
 * byte, a byte whose low bit says "reply", then space-separated words: the
 * base subject, the Message-ID and the references.  Short words make ids
 * and subjects collide, so duplicates, loops, missing parents and merges
 * by subject come often.  Both algorithms must give balanced thread lists
 * that name every message exactly once; is_reply runs on every line too,
 * and subjects go through the i;unicode-casemap keys (lib/casemap.c) as
 * imapd gives them.  Nothing may crash, leak or read out of bounds.
 */
/* fuzz-deps: workers/imapd/imap_thread.c */
#include "buf.h"
#include "casemap.h"
#include "workers/imapd/imap_thread.h"

#include <stdlib.h>
#include <string.h>

#define FZ_MSGS	64
#define FZ_REFS	16

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every message 1..n once, parentheses balanced and never empty. */
static void
fz_check(const struct buf *out, uint32_t n)
{
	unsigned char seen[FZ_MSGS + 1];
	size_t i;
	long depth = 0;
	uint32_t v;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < out->len; i++) {
		if (out->data[i] == '(') {
			depth++;
			if (i + 1 < out->len && out->data[i + 1] == ')')
				abort();
		} else if (out->data[i] == ')') {
			if (--depth < 0)
				abort();
		} else if (out->data[i] >= '1' && out->data[i] <= '9') {
			for (v = 0; i < out->len && out->data[i] >= '0' &&
			    out->data[i] <= '9'; i++)
				v = v * 10 + (out->data[i] - '0');
			i--;
			if (v == 0 || v > n || seen[v]++)
				abort();
		} else if (out->data[i] != ' ')
			abort();
	}
	if (depth != 0)
		abort();
	for (v = 1; v <= n; v++)
		if (!seen[v])
			abort();
}

/* Splits line into words (NUL-terminated in place); returns how many. */
static uint32_t
fz_words(char *line, char **w, uint32_t max)
{
	uint32_t n = 0;
	char *p = line, *e;

	while (n < max) {
		e = strchr(p, ' ');
		w[n++] = p;
		if (e == NULL)
			break;
		*e = '\0';
		p = e + 1;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct imap_thread_msg m[FZ_MSGS];
	static const char *refs[FZ_MSGS][FZ_REFS];
	static struct buf keys[FZ_MSGS];
	char *copy, *line, *next, *w[FZ_REFS + 2];
	struct buf out = BUF_INIT;
	uint32_t n = 0, nw, k;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (line = copy; line != NULL && n < FZ_MSGS; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strlen(line) < 2)
			continue;
		memset(&m[n], 0, sizeof(m[n]));
		m[n].num = n + 1;
		m[n].date = (unsigned char)line[0];
		m[n].reply = (line[1] & 1) != 0;
		(void)imap_thread_is_reply(line + 2);
		nw = fz_words(line + 2, w, FZ_REFS + 2);
		buf_reset(&keys[n]);
		(void)casemap_key(w[0], strlen(w[0]), &keys[n]);
		buf_append(&keys[n], "", 1);
		m[n].subject = (const char *)keys[n].data;
		m[n].id = nw > 1 ? w[1] : "";
		for (k = 2; k < nw; k++)
			refs[n][k - 2] = w[k];
		m[n].refs = refs[n];
		m[n].nrefs = nw > 2 ? nw - 2 : 0;
		n++;
	}
	imap_thread_references(m, n, &out);
	fz_check(&out, n);
	buf_reset(&out);
	imap_thread_orderedsubject(m, n, &out);
	fz_check(&out, n);
	buf_clear(&out);
	free(copy);
	return 0;
}
