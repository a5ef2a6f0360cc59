/* SPDX-License-Identifier: ISC */
/*
 * fuzz_lmtp.c: libFuzzer target for lmtpd's parsers.  The input is a
 * client's byte stream (after one byte that chooses the chunk size and the
 * SMTPUTF8 flag).  Each command line goes through the verb lookup and the
 * MAIL, RCPT and BDAT parsers; every address they accept must parse again
 * to itself inside angle brackets, and every refusal must be a reply line
 * with a 4xx or 5xx code.  The bytes after a DATA line go through the DATA
 * decoder fed whole and in chunks, and both must give the same message,
 * which has only CRLF line ends.  Nothing may read out of bounds, leak or
 * crash.
 */
/* fuzz-deps: workers/lmtpd/lmtp_parse.c */
#include "buf.h"
#include "workers/lmtpd/lmtp_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_check_reply(const char *r)
{
	if (r == NULL)
		return;
	if ((r[0] != '4' && r[0] != '5') || strlen(r) < 10 || r[3] != ' ')
		abort();
}

/* An accepted address must come back the same through the parser. */
static void
fz_check_addr(const char *addr, bool utf8)
{
	char path[LMTP_PATH_MAX + 8], again[LMTP_PATH_MAX + 1];
	bool need;
	int n;

	if (addr[0] == '\0' || strcmp(addr, "postmaster") == 0)
		return;
	n = snprintf(path, sizeof(path), "<%s>", addr);
	if (n < 0 || (size_t)n >= sizeof(path))
		abort();
	if (lmtp_parse_path(path, (size_t)n, false, utf8, again,
	    sizeof(again), &need) != n || strcmp(again, addr) != 0)
		abort();
}

static void
fz_line(const char *line, size_t len, bool utf8)
{
	struct lmtp_mail m;
	char to[LMTP_PATH_MAX + 1];
	const char *r;
	size_t args;
	uint64_t size;
	bool last;

	switch (lmtp_parse_verb(line, len, &args)) {
	case LMTP_V_MAIL:
		r = lmtp_parse_mail(line + args, len - args, 1 << 20, &m);
		fz_check_reply(r);
		if (r == NULL) {
			fz_check_addr(m.from, m.smtputf8);
			if (m.has_size && m.size > (1 << 20))
				abort();
		}
		break;
	case LMTP_V_RCPT:
		r = lmtp_parse_rcpt(line + args, len - args, utf8, to,
		    sizeof(to));
		fz_check_reply(r);
		if (r == NULL)
			fz_check_addr(to, utf8);
		break;
	case LMTP_V_BDAT:
		fz_check_reply(lmtp_parse_bdat(line + args, len - args, &size,
		    &last));
		break;
	default:
		break;
	}
}

/* Decodes DATA at p in chunks of n bytes; returns the bytes used. */
static size_t
fz_data(const uint8_t *p, size_t len, size_t n, struct buf *out, bool *done)
{
	struct lmtp_data d;
	struct buf pend = BUF_INIT;
	size_t i = 0, k, used;

	lmtp_data_init(&d, 1 << 16);
	while (!d.done && i < len) {
		k = len - i < n ? len - i : n;
		buf_append(&pend, p + i, k);
		i += k;
		used = lmtp_data_feed(&d, out, pend.data, pend.len);
		if (used > pend.len)
			abort();
		buf_consume(&pend, used);
	}
	*done = d.done;
	used = i - pend.len;
	buf_clear(&pend);
	return used;
}

static void
fz_check_crlf(const struct buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '\r' && (i + 1 >= b->len ||
		    b->data[i + 1] != '\n'))
			abort();
		if (b->data[i] == '\n' && (i == 0 || b->data[i - 1] != '\r'))
			abort();
	}
}

static void
fz_message(const uint8_t *p, size_t len, size_t n)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t ua, ub;
	bool da, db;

	ua = fz_data(p, len, len == 0 ? 1 : len, &a, &da);
	ub = fz_data(p, len, n, &b, &db);
	if (da != db || a.len != b.len || (a.len > 0 &&
	    memcmp(a.data, b.data, a.len) != 0))
		abort();
	if (da && ua != ub)
		abort();
	if (da)
		fz_check_crlf(&a);
	buf_clear(&a);
	buf_clear(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line;
	size_t pos = 1, len, used, args;
	size_t chunk;
	bool utf8;
	int r;

	if (size < 1)
		return 0;
	chunk = (data[0] & 0x0f) + 1;
	utf8 = (data[0] & 0x10) != 0;
	while (pos < size) {
		r = lmtp_line_scan(data + pos, size - pos, 1024, &len, &used);
		if (r != 1)
			break;
		line = malloc(len + 1);
		memcpy(line, data + pos, len);
		line[len] = '\0';
		fz_line(line, len, utf8);
		pos += used;
		if (lmtp_parse_verb(line, len, &args) == LMTP_V_DATA) {
			fz_message(data + pos, size - pos, chunk);
			free(line);
			break;
		}
		free(line);
	}
	return 0;
}
