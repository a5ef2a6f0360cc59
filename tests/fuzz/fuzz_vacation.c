/* SPDX-License-Identifier: ISC */
/*
 * fuzz_vacation.c: libFuzzer target for what the VacationResponse reads
 * (store/vacation_mail.c).  The input is taken as a delivered message:
 * RFC 3834's judgement reads its header (Auto-Submitted, Precedence,
 * List-*, To and Cc), with an envelope sender made of its first line;
 * when it would be answered, the reply is written and must be 7-bit with
 * CRLF line ends only and carry Auto-Submitted: auto-replied.  The input
 * is also a stored record: one that decodes must encode back to the same
 * bytes.
 */
/* fuzz-deps: store/vacation_mail.c */
#include "buf.h"
#include "store/vacation.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_reply(const uint8_t *data, size_t size)
{
	const struct vacation v = { true, 0, 0, (char *)"Away", NULL,
	    (char *)"<p>away</p>" };
	struct vacation_mail m;
	struct buf out = BUF_INIT;
	char from[128];
	size_t n, i;

	for (n = 0; n < size && n < sizeof(from) - 1 && data[n] != '\n' &&
	    data[n] != '\0'; n++)
		from[n] = (char)data[n];
	from[n] = '\0';
	if (vacation_refusal(from, "me@example.org", "me@example.org", data,
	    size) != NULL)
		return;
	memset(&m, 0, sizeof(m));
	m.account_id = 1;
	m.envelope_from = from;
	m.recipient = "me@example.org";
	m.data = data;
	m.size = size;
	m.now = 1700000000;
	vacation_message(&out, &v, &m, "me@example.org");
	for (i = 0; i < out.len; i++)
		if (out.data[i] >= 0x80 || out.data[i] == '\0' ||
		    (out.data[i] == '\n' && (i == 0 ||
		    out.data[i - 1] != '\r')) ||
		    (out.data[i] == '\r' && (i + 1 == out.len ||
		    out.data[i + 1] != '\n')))
			abort();
	if (memmem(out.data, out.len, "\r\nAuto-Submitted: auto-replied\r\n",
	    32) == NULL)
		abort();
	buf_clear(&out);
}

static void
fz_record(const uint8_t *data, size_t size)
{
	struct vacation v;
	struct buf b = BUF_INIT;

	if (vacation_decode(data, size, &v) == 0) {
		vacation_encode(&b, &v);
		/* "" and null are kept apart only by the has bits. */
		if (b.len != size)
			abort();
		buf_clear(&b);
	}
	vacation_clear(&v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_reply(data, size);
	fz_record(data, size);
	return 0;
}
