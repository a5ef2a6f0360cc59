/* SPDX-License-Identifier: ISC */
/*
 * fuzz_mime.c: libFuzzer target for the message parser and the stored
 * record.  Each input is parsed as a message; its record (with a prefix
 * length taken from the input size) must decode again with every part
 * inside the stored message, and the index text must be a C string of the
 * length returned.  The input is also offered to msgrec_open() as a record,
 * which must refuse it or yield offsets inside the size it was given (and
 * to msgrec_open_envelopes and msgrec_open_env0, storaged's search), to
 * the header lookup, which must stay inside it, and as a raw header value
 * to the parsed forms (mime_header_addresses and the others), whose
 * strings must be C strings inside the one block returned.
 * Nothing may read out of bounds, leak or crash.
 */
#include "mime.h"
#include "msgrec.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_record(const struct msgrec *r, uint64_t size)
{
	uint32_t i;

	for (i = 0; i < r->nparts; i++)
		if (r->parts[i].hdr_off > r->parts[i].body_off ||
		    r->parts[i].body_off > r->parts[i].body_end ||
		    r->parts[i].body_end > size)
			abort();
}

/*
 * The n strings of one block from the parsed forms: C strings, none
 * longer than the size bytes they come from.
 */
static void
check_strv(char **v, size_t n, size_t size)
{
	size_t i;

	if ((n == 0) != (v == NULL))
		abort();
	for (i = 0; i < n; i++)
		if (v[i] == NULL || strlen(v[i]) > size)
			abort();
	free(v);
}

/* The whole input as one raw header value, in each parsed form. */
static void
check_forms(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct mime_address *a;
	size_t i, n;
	int64_t t;
	int32_t tz;

	a = mime_header_addresses(s, size, &n);
	if ((n == 0) != (a == NULL))
		abort();
	for (i = 0; i < n; i++)
		if (strlen(a[i].name) + strlen(a[i].email) > size * 4 + 16 ||
		    (a[i].group == NULL) != (a[i].groupno == 0))
			abort();
	free(a);
	check_strv(mime_header_msgids(s, size, size % 2 == 0, &n), n, size);
	check_strv(mime_header_urls(s, size, &n), n, size);
	if (mime_header_date(s, size, &t, &tz) && (tz < -24 * 60 ||
	    tz > 24 * 60))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf rec = BUF_INIT;
	struct mime_msg *m;
	struct msgrec r;
	const char *err = NULL, *text;
	uint64_t prefix = size % 7 == 0 ? 0 : size % 61;
	size_t len;

	m = mime_parse(data, size);
	if (m == NULL)
		abort();
	msgrec_encode(m, prefix, &rec);
	if (msgrec_open(rec.data, rec.len, size + prefix, &r, &err) != 0) {
		fprintf(stderr, "record refused: %s\n", err);
		abort();
	}
	check_record(&r, size + prefix);
	if (r.s.size != size + prefix || r.nparts == 0 ||
	    r.nparts > MIME_MAX_PARTS)
		abort();
	/* Its envelope 0 alone (storaged's msghead) opens too. */
	{
		struct msgrec e;

		if (r.env0 == NULL || msgrec_open_env0(r.env0, r.env0_len, &e,
		    &err) != 0 || e.nenvs != 1) {
			fprintf(stderr, "envelope refused: %s\n", err);
			abort();
		}
		msgrec_close(&e);
	}
	msgrec_close(&r);
	text = mime_msg_text(m, &len);
	if (text == NULL || strlen(text) > len)
		abort();
	mime_msg_free(&m);
	buf_clear(&rec);

	/* The header lookup for stored messages, over the raw bytes. */
	if (mime_header_find(data, size, "subject", size % 3, &text, &len)) {
		if (text < (const char *)data ||
		    text + len > (const char *)data + size)
			abort();
		mime_header_text(text, len, &rec);
		buf_reset(&rec);
		/* And the body decoders, over whatever bytes follow. */
		mime_body_text(size % 2 ? "base64" : "quoted-printable",
		    size % 5 ? "iso-2022-jp" : "x-unknown", size % 3 == 0,
		    text, len, &rec);
		buf_clear(&rec);
	}

	if (msgrec_open(data, size, 1000, &r, &err) == 0) {
		check_record(&r, 1000);
		msgrec_close(&r);
	}
	/* As search opens what storaged keeps: refused, or C strings. */
	if (msgrec_open_envelopes(data, size, MSGREC_ANY_SIZE, &r, &err) ==
	    0) {
		if (r.nenvs != 1 || r.nparts != 0 || (r.envs[0].subject !=
		    NULL && strlen(r.envs[0].subject) > size))
			abort();
		msgrec_close(&r);
	}
	if (msgrec_open_env0(data, size, &r, &err) == 0) {
		if (r.nenvs != 1 || (r.envs[0].subject != NULL &&
		    strlen(r.envs[0].subject) > size))
			abort();
		msgrec_close(&r);
	}
	check_forms(data, size);
	return 0;
}
