/* SPDX-License-Identifier: ISC */
/*
 * fuzz_imap_mbox.c: libFuzzer target for imapd's mailbox names and LIST
 * patterns (workers/imapd/imap_mbox.c).  The first byte chooses the
 * session's mode (modified UTF-7 or UTF-8) and where the input splits into
 * a pattern and a name.  A name the decoder accepts must be written back
 * (imap_mbox_name_write) and, taken out of its string form, decode to the
 * same client name again; the pattern is matched against it.  Nothing may
 * read out of bounds, leak or crash.
 */
/* fuzz-deps: workers/imapd/imap_mbox.c workers/imapd/imap_mutf7.c workers/imapd/imap_parse.c */
#include "buf.h"
#include "workers/imapd/imap_mbox.h"
#include "workers/imapd/imap_parse.h"
#include "workers/imapd/imap_session.h"

#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* imap_mbox.c asks imapd for the store channel; none here. */
struct ipc_chan *imapd_store(void);
struct ipc_chan *
imapd_store(void)
{
	return NULL;
}

/* Parses the written mailbox (an astring) back into its bytes. */
static void
fz_round_trip(struct imap_session *s, const char *name)
{
	struct buf out = BUF_INIT;
	struct imap_parser ps;
	struct imap_str arg;
	const char *err;
	char *again;

	imap_mbox_name_write(s, &out, name);
	buf_append(&out, "\r\n", 2);
	imap_parser_init(&ps, out.data, out.len);
	if (imap_parse_astring(&ps, &arg) == -1 || imap_parse_eol(&ps) == -1)
		abort();
	again = imap_mbox_name_decode(s, arg.p, arg.len, false, &err);
	if (again == NULL || strcmp(again, name) != 0)
		abort();
	free(again);
	buf_clear(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_session s;
	const char *err;
	char *name, *pat;
	size_t split;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	memset(&s, 0, sizeof(s));
	s.enabled = (mode & 1) ? IMAP_ENABLED_UTF8 : 0;
	/* Bits 2-7 place the split: 0 to 63 sixty-thirds of the rest. */
	split = size * (mode >> 2) / 63;
	pat = imap_mbox_pattern_decode(&s, data, split, &err);
	name = imap_mbox_name_decode(&s, data + split, size - split,
	    (mode & 2) != 0, &err);
	if (name != NULL) {
		if (strlen(name) > IMAP_MBOX_NAME_MAX)
			abort();
		fz_round_trip(&s, name);
		if (pat != NULL)
			(void)imap_mbox_match(pat, name);
		/* A name holds no wildcard, so it matches itself. */
		if (!imap_mbox_match(name, name))
			abort();
	}
	free(pat);
	free(name);
	return 0;
}
