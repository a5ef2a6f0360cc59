/* SPDX-License-Identifier: ISC */
/*
 * fuzz_msgsearch.c: libFuzzer target for SEARCH's text keys in storaged
 * (lib/msgsearch.c) and the i;unicode-casemap keys they use
 * (lib/casemap.c).
 *
 * The input: byte 0 chooses the first key's kind and the length of the
 * second string, byte 1 the second key's kind and the HEADER field name,
 * byte 2 the length of the string searched for, byte 3 where in the
 * message the second string is cut; then the string, then the message.
 * The third key is TEXT with the second string.  The message goes through the
 * path of APPEND and delivery (mime_parse, msgrec_encode) and is opened
 * as storaged opens it (msgrec_open, or msgrec_open_envelopes when no
 * key needs the parts, or no record for HEADER alone).
 *
 * What must hold:
 * - casemap_key: a string that is UTF-8 gets a key that is UTF-8; one
 *   that is not is its own key; the key is made per character, so the
 *   key of a string cut between two characters is the keys of the halves
 *   put together (this checks the ASCII runs against the rest).  The key
 *   of a key is not asserted to be the key again: RFC 5051 2 titlecases
 *   and then decomposes, once, and a decomposition may hold characters
 *   that titlecase or decompose further (U+1FB3 gives U+0391 U+0345, and
 *   U+0345 titlecases to U+0399; U+FB01 gives "fi" in lower case).
 * - msgsearch_contains finds a key exactly where memmem finds it in the
 *   text's key (its ASCII path must agree with the general one), and the
 *   key of a piece of UTF-8 text, cut between characters, in that text;
 * - msgsearch_match gives each key the same answer with a cache shared
 *   by the message's keys (as storaged runs them) as with a fresh one,
 *   and TEXT finds a piece of a UTF-8 top-level header;
 * - nothing crashes, leaks or reads past the input.
 */
#include "buf.h"
#include "casemap.h"
#include "mime.h"
#include "msgrec.h"
#include "msgsearch.h"

#include <stdlib.h>
#include <string.h>

#include <unistr.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Longest string cut from the message to search for. */
#define FZ_CUT_MAX	24
/* Text given to the general matcher as a whole (its cost is linear). */
#define FZ_HAY_MAX	8192

static const char *const fz_fields[] = {
	"Subject", "From", "To", "Content-Type", "X-Fuzz", "subject", ""
};

static void *
fz_dup(const void *p, size_t len)
{
	void *q;

	if ((q = malloc(len == 0 ? 1 : len)) == NULL)
		abort();
	if (len > 0)
		memcpy(q, p, len);
	return q;
}

static bool
fz_utf8(const void *p, size_t len)
{
	return u8_check(p, len) == NULL;
}

/* The start of the character at or after i in UTF-8 text p. */
static size_t
fz_char_start(const uint8_t *p, size_t len, size_t i)
{
	while (i < len && (p[i] & 0xc0) == 0x80)
		i++;
	return i;
}

/* The key of len bytes at p into k (reset); returns casemap_key's say. */
static bool
fz_key(const void *p, size_t len, struct buf *k)
{
	buf_reset(k);
	return casemap_key(p, len, k);
}

static void
fz_casemap(const uint8_t *s, size_t len, uint8_t cut)
{
	struct buf k = BUF_INIT, a = BUF_INIT;
	size_t at;
	bool utf8;

	/* An exact-size copy: a read past the end shows. */
	s = fz_dup(s, len);
	utf8 = fz_key(s, len, &k);
	if (utf8 != fz_utf8(s, len))
		abort();
	if (utf8 && k.len > 0 && !fz_utf8(k.data, k.len))
		abort();
	if (!utf8 && (k.len != len || memcmp(k.data, s, len) != 0))
		abort();
	/* Appended after what the buffer holds, the same key. */
	buf_append(&a, "x", 1);
	if (casemap_key((const char *)s, len, &a) != utf8 ||
	    a.len != k.len + 1 || (k.len > 0 &&
	    memcmp(a.data + 1, k.data, k.len) != 0))
		abort();
	if (utf8) {
		at = fz_char_start(s, len, len * cut / 255);
		buf_reset(&a);
		(void)casemap_key((const char *)s, at, &a);
		(void)casemap_key((const char *)s + at, len - at, &a);
		if (a.len != k.len || (k.len > 0 &&
		    memcmp(a.data, k.data, k.len) != 0))
			abort();
	}
	buf_clear(&k);
	buf_clear(&a);
	free((void *)s);
}

static void
fz_contains(const uint8_t *hay, size_t hlen, const uint8_t *key,
    size_t klen)
{
	struct buf hk = BUF_INIT;
	bool want;

	if (hlen > FZ_HAY_MAX)
		hlen = FZ_HAY_MAX;
	hay = fz_dup(hay, hlen);
	if (klen == 0)
		want = true;
	else if (hlen == 0)
		want = false;
	else {
		(void)fz_key(hay, hlen, &hk);
		want = hk.len >= klen &&
		    memmem(hk.data, hk.len, key, klen) != NULL;
	}
	if (msgsearch_contains(hay, hlen, key, klen) != want)
		abort();
	buf_clear(&hk);
	free((void *)hay);
}

struct fz_key {
	enum msgsearch_kind	 kind;
	const char		*field;
	struct buf		 value;	/* a casemap key */
};

/* The stored record of the len bytes at msg, into rec. */
static void
fz_record(const uint8_t *msg, size_t len, struct buf *rec)
{
	struct mime_msg *m;

	if ((m = mime_parse(msg, len)) == NULL)
		abort();
	msgrec_encode(m, 0, rec);
	mime_msg_free(&m);
}

/* The length of the top-level header by the record of msg. */
static size_t
fz_header_len(const struct buf *rec, size_t len)
{
	struct msgrec r;
	const char *why;
	size_t hlen;

	if (msgrec_open(rec->data, rec->len, len, &r, &why) == -1)
		abort();	/* our own record */
	hlen = r.nparts > 0 && r.parts[0].body_off <= len ?
	    (size_t)r.parts[0].body_off : len;
	msgrec_close(&r);
	return hlen;
}

static void
fz_match(const uint8_t *msg, size_t len, const struct buf *rec,
    struct fz_key *keys, size_t n, size_t head_cut_key)
{
	struct msgsearch_cache shared, fresh;
	struct msgrec r;
	const char *why;
	bool need_raw = false, need_rec = false, need_parts = false;
	bool open = false, hit;
	size_t i;

	for (i = 0; i < n; i++) {
		need_raw |= msgsearch_needs_raw(keys[i].kind);
		need_rec |= msgsearch_needs_record(keys[i].kind);
		need_parts |= msgsearch_needs_parts(keys[i].kind);
	}
	if (need_rec) {
		if ((need_parts ? msgrec_open(rec->data, rec->len, len, &r,
		    &why) : msgrec_open_envelopes(rec->data, rec->len, len, &r,
		    &why)) == -1)
			abort();	/* our own record */
		open = true;
	}
	memset(&shared, 0, sizeof(shared));
	for (i = 0; i < n; i++) {
		memset(&fresh, 0, sizeof(fresh));
		hit = msgsearch_match(open ? &r : NULL, msg, len,
		    keys[i].kind, keys[i].field, keys[i].value.data,
		    keys[i].value.len, &shared);
		if (msgsearch_match(open ? &r : NULL, msg, len, keys[i].kind,
		    keys[i].field, keys[i].value.data, keys[i].value.len,
		    &fresh) != hit)
			abort();
		if (i == head_cut_key && keys[i].kind == MSGSEARCH_TEXT &&
		    open && !hit)
			abort();
		msgsearch_cache_clear(&fresh);
	}
	msgsearch_cache_clear(&shared);
	if (open)
		msgrec_close(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_key keys[3];
	struct buf rec = BUF_INIT;
	const uint8_t *str, *msg;
	size_t slen, len, at, end, hlen, i, head_cut = SIZE_MAX;
	uint8_t *copy;

	if (size < 4)
		return 0;
	slen = data[2];
	if (slen > size - 4)
		slen = size - 4;
	str = data + 4;
	msg = str + slen;
	len = size - 4 - slen;

	fz_casemap(str, slen, data[3]);
	fz_casemap(msg, len, data[3]);

	memset(keys, 0, sizeof(keys));
	keys[0].kind = (enum msgsearch_kind)(1 + data[0] % 8);
	keys[1].kind = (enum msgsearch_kind)(1 + data[1] % 8);
	keys[2].kind = MSGSEARCH_TEXT;
	for (i = 0; i < 3; i++)
		keys[i].field = fz_fields[(data[1] >> 3) %
		    (sizeof(fz_fields) / sizeof(*fz_fields))];
	(void)fz_key(str, slen, &keys[0].value);
	fz_contains(msg, len, keys[0].value.data, keys[0].value.len);

	/*
	 * A piece of the message, cut between characters of the top-level
	 * header when that is UTF-8 without NUL (then TEXT must find it),
	 * anywhere else.
	 */
	copy = fz_dup(msg, len);
	fz_record(copy, len, &rec);
	hlen = fz_header_len(&rec, len);
	if (hlen > 0 && fz_utf8(copy, hlen) &&
	    memchr(copy, '\0', hlen) == NULL) {
		at = fz_char_start(copy, hlen, hlen * data[3] / 256);
		end = at + 1 + data[0] % FZ_CUT_MAX;
		end = end < hlen ? fz_char_start(copy, hlen, end) : hlen;
		head_cut = 2;
	} else {
		at = len * data[3] / 256;
		end = at + 1 + data[0] % FZ_CUT_MAX;
	}
	if (end > len)
		end = len;
	if (at < end) {
		(void)fz_key(copy + at, end - at, &keys[1].value);
		buf_append(&keys[2].value, keys[1].value.data,
		    keys[1].value.len);
		if (head_cut != SIZE_MAX)
			fz_contains(copy, hlen, keys[1].value.data,
			    keys[1].value.len);
	} else
		head_cut = SIZE_MAX;

	/* No key holds a NUL: IMAP strings cannot (imap_parse.c). */
	for (i = 0; i < 3; i++)
		if (keys[i].value.len > 0 &&
		    memchr(keys[i].value.data, '\0', keys[i].value.len))
			goto done;
	fz_match(copy, len, &rec, keys, 3, head_cut);
done:
	for (i = 0; i < 3; i++)
		buf_clear(&keys[i].value);
	buf_clear(&rec);
	free(copy);
	return 0;
}
