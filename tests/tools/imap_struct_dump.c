/* SPDX-License-Identifier: ISC */
/*
 * imap_struct_dump.c: prints what imapd would send for FETCH (ENVELOPE
 * BODYSTRUCTURE) of one message file, for comparing with other servers
 * (tests/integration/test_imap_struct_dovecot.py).  The file (or standard
 * input for "-") is parsed with mime.h, its record encoded with prefix 0
 * and opened again, and imap_struct.h renders from the record alone, as
 * imapd does.  Output: "ENVELOPE " envelope " BODYSTRUCTURE " body, and
 * with -b " BODY " body-without-extensions between them; strings may be
 * literals, so the output holds CRLFs only inside literals and ends with
 * none.
 *
 * usage: imap_struct_dump [-b] file|-
 */
#include "buf.h"
#include "mime.h"
#include "msgrec.h"
#include "imap_struct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DUMP_MAX	(256u * 1024 * 1024)

static int
read_all(FILE *f, struct buf *b)
{
	size_t n;

	for (;;) {
		buf_reserve(b, 65536);
		n = fread(buf_tail(b), 1, 65536, f);
		buf_commit(b, n);
		if (b->len > DUMP_MAX)
			return -1;
		if (n == 0)
			return ferror(f) ? -1 : 0;
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: imap_struct_dump [-b] file|-\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct buf msg = BUF_INIT, rec = BUF_INIT, out = BUF_INIT;
	struct mime_msg *m;
	struct msgrec r;
	const char *err;
	bool body = false;
	FILE *f;
	int ch;

	while ((ch = getopt(argc, argv, "b")) != -1) {
		if (ch != 'b')
			usage();
		body = true;
	}
	if (argc - optind != 1)
		usage();
	f = strcmp(argv[optind], "-") == 0 ? stdin : fopen(argv[optind], "rb");
	if (f == NULL || read_all(f, &msg) < 0) {
		perror(argv[optind]);
		return 1;
	}
	if (f != stdin)
		fclose(f);
	if ((m = mime_parse(msg.data, msg.len)) == NULL) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	msgrec_encode(m, 0, &rec);
	mime_msg_free(&m);
	if (msgrec_open(rec.data, rec.len, msg.len, &r, &err) < 0) {
		fprintf(stderr, "msgrec_open: %s\n", err);
		return 1;
	}
	buf_append(&out, "ENVELOPE ", 9);
	imap_struct_envelope(&out, &r, 0);
	if (body) {
		buf_append(&out, " BODY ", 6);
		imap_struct_bodystructure(&out, &r, 0, false);
	}
	buf_append(&out, " BODYSTRUCTURE ", 15);
	imap_struct_bodystructure(&out, &r, 0, true);
	msgrec_close(&r);
	if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0) {
		perror("stdout");
		return 1;
	}
	buf_clear(&out);
	buf_clear(&rec);
	buf_clear(&msg);
	return 0;
}
