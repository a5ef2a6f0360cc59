/* SPDX-License-Identifier: ISC */
/*
 * fuzz_lmtp_relay.c: libFuzzer target for what lmtpd's relay reads and
 * writes byte by byte.  The input (after one byte that chooses a chunk
 * size) is taken both as a smarthost's replies and as a message.  Each
 * CRLF-ended line goes through the reply-line parser, whose code must be
 * a valid RFC 5321 4.2 reply code with "more" exactly for a "-" after
 * it.  The message, with its line ends made CRLF, is dot-stuffed in
 * chunks, ended with "." CRLF and read back by lmtpd's DATA decoder,
 * which must give the message again and stop exactly at the end.
 * Each line is also an EHLO line for the AUTH keyword (RFC 4954 3),
 * and the input a credential for LOGIN, whose two answers must decode
 * to the user and password PLAIN's message holds.
 */
/* fuzz-deps: workers/lmtpd/lmtp_relay.c workers/lmtpd/lmtp_parse.c */
/* fuzz-deps: workers/lmtpd/lmtp_relay_job.c workers/lmtpd/lmtp_relay_smtp.c */
#include "buf.h"
#include "workers/lmtpd/lmtp_parse.h"
#include "workers/lmtpd/lmtp_relay.h"

#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_ehlo(const uint8_t *p, size_t n)
{
	char *line = malloc(n + 1);
	unsigned m;

	if (line == NULL)
		return;
	memcpy(line, p, n);
	line[n] = '\0';
	m = lmtp_relay_auth_mechs(line);
	if ((m & ~(LMTP_RELAY_AUTH_PLAIN | LMTP_RELAY_AUTH_LOGIN)) != 0 ||
	    (m != 0 && strlen(line) < 9))
		abort();
	free(line);
}

/* LOGIN's answers are the base64 of the parts PLAIN's message holds. */
static void
fz_auth(const uint8_t *p, size_t len)
{
	struct buf u = BUF_INIT, pw = BUF_INIT, plain = BUF_INIT;
	int ru, rp;

	ru = lmtp_relay_auth_login(&u, p, len, 1);
	rp = lmtp_relay_auth_login(&pw, p, len, 2);
	if (ru != rp || (ru == -1 && (u.len != 0 || pw.len != 0)))
		abort();
	lmtp_relay_auth_plain(&plain, p, len);
	if (plain.len != 11 + (len + 2) / 3 * 4 ||
	    memcmp(plain.data, "AUTH PLAIN ", 11) != 0)
		abort();
	if (ru == 0 && (u.len == 0 || u.len % 4 != 0 || pw.len % 4 != 0))
		abort();
	buf_clear(&u);
	buf_clear(&pw);
	buf_clear(&plain);
}

static void
fz_replies(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len, *nl;
	size_t n;
	bool more;
	int code;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		fz_ehlo(p, n);
		more = false;
		code = lmtp_relay_reply_line((const char *)p, n, &more);
		if (code == -1)
			continue;
		if (code < 200 || code > 559 || code % 100 > 59 ||
		    code / 100 != p[0] - '0' || more != (n > 3 && p[3] == '-'))
			abort();
	}
}

static void
fz_message(const uint8_t *p, size_t len, size_t chunk)
{
	struct buf msg = BUF_INIT, wire = BUF_INIT, out = BUF_INIT;
	struct lmtp_crlf norm;
	struct lmtp_data d;
	size_t off, k, used;
	bool bol = true;

	lmtp_crlf_init(&norm, len * 2 + 2);
	lmtp_crlf_feed(&norm, &msg, p, len);
	lmtp_crlf_finish(&norm, &msg);
	if (msg.len > 0 && msg.data[msg.len - 1] != '\n')
		buf_append(&msg, "\r\n", 2);
	for (off = 0; off < msg.len; off += k) {
		k = msg.len - off < chunk ? msg.len - off : chunk;
		lmtp_relay_dotstuff(&wire, msg.data + off, k, &bol);
	}
	buf_append(&wire, ".\r\n", 3);
	lmtp_data_init(&d, msg.len + 1);
	used = lmtp_data_feed(&d, &out, wire.data, wire.len);
	if (!d.done || used != wire.len || out.len != msg.len ||
	    (msg.len > 0 && memcmp(out.data, msg.data, msg.len) != 0))
		abort();
	buf_clear(&msg);
	buf_clear(&wire);
	buf_clear(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fz_replies(data + 1, size - 1);
	fz_message(data + 1, size - 1, (size_t)data[0] % 64 + 1);
	fz_auth(data + 1, size - 1);
	return 0;
}
