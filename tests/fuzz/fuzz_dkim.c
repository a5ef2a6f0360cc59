/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dkim.c: libFuzzer target for the DKIM signer (lib/dkim.c), which
 * reads a message from outside: the input is the message, signed with a
 * fixed key (Ed25519 or RSA, by the low bit of the first byte).  A
 * signature must be one well-formed field (starts with "DKIM-Signature:
 * v=1; a=", lines of at most 78 characters folded with CRLF SP, CRLF at
 * the end, no other CR or LF), and must be the same for the message with
 * every bare LF made CRLF, which is how it is sent (dkim.h).  The relaxed
 * canonicalizations of the input as a body and as one header field must
 * be in canonical form (no WSP runs, tabs or trailing WSP, no trailing
 * empty lines, CRLF line ends only) and canonicalize to themselves.
 * Nothing may read out of bounds, leak or crash.
 */
#include "buf.h"
#include "dkim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 8032 7.1 test 1, the key of RFC 8463 A.1. */
static const char fz_ed_pem[] =
"-----BEGIN PRIVATE KEY-----\n"
"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
"-----END PRIVATE KEY-----\n";
/* RFC 8463 A.1: its RSA key, 1024 bits. */
static const char fz_rsa_pem[] =
"-----BEGIN RSA PRIVATE KEY-----\n"
"MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
"Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
"KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
"AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
"6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
"zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
"6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
"uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
"WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
"WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
"licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
"o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
"uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
"-----END RSA PRIVATE KEY-----\n";

static struct dkim_key *
fz_key(int rsa)
{
	static struct dkim_key *keys[2];
	const char *pem = rsa ? fz_rsa_pem : fz_ed_pem;
	char err[256];

	if (keys[rsa] == NULL &&
	    (keys[rsa] = dkim_key_load(pem, strlen(pem), err,
	    sizeof(err))) == NULL)
		abort();
	return keys[rsa];
}

static void
fz_check_field(const struct buf *h)
{
	const uint8_t *p = h->data, *end = h->data + h->len, *e;

	if (h->len < 25 || memcmp(p, "DKIM-Signature: v=1; a=", 23) != 0)
		abort();
	while (p < end) {
		for (e = p; e < end && *e != '\r' && *e != '\n'; e++)
			;
		if (e - p > 78 || end - e < 2 || e[0] != '\r' || e[1] != '\n')
			abort();
		p = e + 2;
		if (p < end && *p != ' ')
			abort();
	}
}

/* Canonical form: CRLF line ends, single SPs, nothing at line ends. */
static void
fz_check_canon(const struct buf *b, bool body)
{
	size_t i;

	if (b->len == 0)
		return;
	if (b->len < 2 || b->data[b->len - 2] != '\r' ||
	    b->data[b->len - 1] != '\n')
		abort();
	if (body && b->len >= 4 && memcmp(b->data + b->len - 4, "\r\n\r\n",
	    4) == 0)
		abort();
	/* WSP in a header field's name is not reduced (RFC 6376 3.4.2). */
	i = 0;
	if (!body)
		i = (size_t)((uint8_t *)memchr(b->data, ':', b->len) - b->data);
	for (; i < b->len; i++) {
		if (b->data[i] == '\t' || (b->data[i] == '\n' &&
		    (i == 0 || b->data[i - 1] != '\r')))
			abort();
		if (b->data[i] == ' ' && i + 1 < b->len &&
		    (b->data[i + 1] == ' ' || (b->data[i + 1] == '\r' &&
		    i + 2 < b->len && b->data[i + 2] == '\n')))
			abort();
		/* A header field is one line. */
		if (!body && b->data[i] == '\n' && i + 1 != b->len)
			abort();
	}
}

static void
fz_canon(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT;

	dkim_canon_body(data, size, &a);
	fz_check_canon(&a, true);
	dkim_canon_body(a.data, a.len, &b);
	if (a.len != b.len || (a.len > 0 && memcmp(a.data, b.data, a.len)))
		abort();
	buf_reset(&a);
	buf_reset(&b);
	dkim_canon_header(data, size, &a);
	fz_check_canon(&a, false);
	dkim_canon_header(a.data, a.len, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		abort();
	buf_clear(&a);
	buf_clear(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf h1 = BUF_INIT, h2 = BUF_INIT, crlf = BUF_INIT;
	struct dkim_key *k = fz_key(size > 0 && (data[0] & 1));
	char err[256];
	size_t i;
	int r1, r2;

	fz_canon(data, size);
	r1 = dkim_sign(k, "example.org", "fz", data, size, 1700000000, &h1,
	    err, sizeof(err));
	if (r1 == 0)
		fz_check_field(&h1);
	else if (h1.len != 0)
		abort();
	for (i = 0; i < size; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			buf_append(&crlf, "\r", 1);
		buf_append(&crlf, data + i, 1);
	}
	r2 = dkim_sign(k, "example.org", "fz", crlf.data, crlf.len,
	    1700000000, &h2, err, sizeof(err));
	if (r1 != r2 || h1.len != h2.len ||
	    (h1.len > 0 && memcmp(h1.data, h2.data, h1.len) != 0))
		abort();
	buf_clear(&h1);
	buf_clear(&h2);
	buf_clear(&crlf);
	return 0;
}
