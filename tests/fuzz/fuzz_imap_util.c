/* SPDX-License-Identifier: ISC */
/*
 * fuzz_imap_util.c: libFuzzer target for imapd's building blocks.  Each
 * input goes to all four decoders, each on its own exact-size copy so that
 * a read past the end is caught:
 * - modified UTF-7: a name that decodes must encode back to the same bytes,
 *   and UTF-8 that encodes must decode back to the same bytes;
 * - sequence sets: the written form parses to the same set; once resolved
 *   (with "*" from the input) the ranges are ascending, disjoint and not
 *   adjacent, membership agrees before and after, and walking the set
 *   gives count() ascending numbers;
 * - date-time and date: what parses writes back to a form that parses to
 *   the same instant and zone;
 * - SEARCH arguments: what parses writes back to a form that parses and
 *   writes the same again.
 * Nothing may crash, leak or read out of bounds.
 */
/* fuzz-deps: workers/imapd/imap_parse.c workers/imapd/imap_mutf7.c workers/imapd/imap_seqset.c workers/imapd/imap_date.c workers/imapd/imap_search.c */
#include "buf.h"
#include "workers/imapd/imap_date.h"
#include "workers/imapd/imap_mutf7.h"
#include "workers/imapd/imap_parse.h"
#include "workers/imapd/imap_search.h"
#include "workers/imapd/imap_seqset.h"

#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An exact-size writable copy of data with pre and post around it. */
static uint8_t *
fz_copy(const uint8_t *data, size_t size, const char *pre, const char *post,
    size_t *len)
{
	size_t a = strlen(pre), b = strlen(post);
	uint8_t *p;

	*len = a + size + b;
	if ((p = malloc(*len == 0 ? 1 : *len)) == NULL)
		abort();
	memcpy(p, pre, a);
	if (size > 0)
		memcpy(p + a, data, size);
	memcpy(p + a + size, post, b);
	return p;
}

static void
fz_mutf7(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	const char *why;

	if (imap_mutf7_decode(&a, data, size, &why) == 0) {
		/* An empty buf has no data pointer. */
		if ((a.len > 0 && !imap_utf8_valid(a.data, a.len)) ||
		    imap_mutf7_encode(&b, a.data, a.len, &why) == -1 ||
		    b.len != size || (size > 0 && memcmp(b.data, data, size)))
			abort();
	} else if (a.len != 0)
		abort();
	buf_reset(&a);
	buf_reset(&b);
	if (imap_mutf7_encode(&a, data, size, &why) == 0) {
		if ((size > 0 && !imap_utf8_valid(data, size)) ||
		    imap_mutf7_decode(&b, a.data, a.len, &why) == -1 ||
		    b.len != size || (size > 0 && memcmp(b.data, data, size)))
			abort();
	} else if (a.len != 0)
		abort();
	buf_clear(&a);
	buf_clear(&b);
}

/* Checks a resolved set against its unresolved form, parsed again. */
static void
fz_seqset_check(const struct imap_seqset *raw, struct imap_seqset *set,
    uint32_t star)
{
	struct imap_seqset_iter it;
	uint64_t count = 0, prev = 0;
	uint32_t n, probe[6];
	size_t i;

	for (i = 0; i < set->n; i++) {
		if (set->r[i].first == 0 || set->r[i].first > set->r[i].last ||
		    (i > 0 && (uint64_t)set->r[i - 1].last + 1 >=
		    set->r[i].first))
			abort();
	}
	probe[0] = 1;
	probe[1] = star;
	probe[2] = star + 1;
	probe[3] = UINT32_MAX;
	probe[4] = raw->n > 0 ? raw->r[0].first : 2;
	probe[5] = raw->n > 0 ? raw->r[0].last + 1 : 3;
	for (i = 0; i < 6; i++)
		if (imap_seqset_contains(raw, probe[i], star) !=
		    imap_seqset_contains(set, probe[i], 0))
			abort();
	if (imap_seqset_count(set) > 100000)
		return;
	imap_seqset_iter_init(&it);
	while (imap_seqset_iter_next(set, &it, &n)) {
		if (n <= prev || !imap_seqset_contains(set, n, 0))
			abort();
		prev = n;
		count++;
	}
	if (count != imap_seqset_count(set))
		abort();
}

static void
fz_seqset(const uint8_t *data, size_t size)
{
	struct imap_seqset set, again;
	struct imap_parser ps;
	struct buf a = BUF_INIT, b = BUF_INIT;
	const char *why;
	uint32_t star;
	uint8_t *copy;
	size_t len;

	if (size < 1)
		return;
	star = data[0] < 0x80 ? data[0] : (uint32_t)data[0] << 24 | data[0];
	copy = fz_copy(data + 1, size - 1, "", "", &len);
	imap_seqset_init(&set);
	imap_seqset_init(&again);
	imap_parser_init(&ps, copy, len);
	if (imap_seqset_parse(&ps, &set) == 0) {
		imap_seqset_write(&set, &a);
		imap_parser_init(&ps, a.data, a.len);
		if (imap_seqset_parse(&ps, &again) == -1 || ps.p != ps.end)
			abort();
		imap_seqset_write(&again, &b);
		if (a.len == 0 || a.len != b.len ||
		    memcmp(a.data, b.data, a.len) != 0)
			abort();
		if (imap_seqset_resolve(&set, star, &why) == 0)
			fz_seqset_check(&again, &set, star);
		else if (!set.saved && star != 0)
			abort();
	}
	imap_seqset_clear(&set);
	imap_seqset_clear(&again);
	buf_clear(&a);
	buf_clear(&b);
	free(copy);
}

static void
fz_date(const uint8_t *data, size_t size)
{
	struct imap_parser ps;
	struct buf b = BUF_INIT;
	int64_t t, t2;
	int zone, zone2;
	uint8_t *copy;
	size_t len;

	copy = fz_copy(data, size, "", "", &len);
	imap_parser_init(&ps, copy, len);
	if (imap_date_parse_datetime(&ps, &t, &zone) == 0 &&
	    imap_date_write_datetime(&b, t, zone) == 0) {
		imap_parser_init(&ps, b.data, b.len);
		if (imap_date_parse_datetime(&ps, &t2, &zone2) == -1 ||
		    t2 != t || zone2 != zone || ps.p != ps.end)
			abort();
	}
	buf_reset(&b);
	imap_parser_init(&ps, copy, len);
	if (imap_date_parse_date(&ps, &t) == 0) {
		if (imap_date_write_date(&b, t) == -1)
			abort();
		imap_parser_init(&ps, b.data, b.len);
		if (imap_date_parse_date(&ps, &t2) == -1 || t2 != t ||
		    ps.p != ps.end)
			abort();
	}
	buf_clear(&b);
	free(copy);
}

/* Parses " " text "\r\n" as SEARCH arguments; writes the tree to out. */
static int
fz_search_once(const uint8_t *text, size_t size, struct buf *out)
{
	struct imap_parser ps;
	struct imap_search s;
	uint8_t *copy;
	size_t len;
	int rc = -1;

	copy = fz_copy(text, size, " ", "\r\n", &len);
	imap_parser_init(&ps, copy, len);
	imap_search_init(&s);
	if (imap_search_parse(&ps, &s) == 0 && imap_parse_eol(&ps) == 0) {
		if (s.root == IMAP_SEARCH_NONE || s.n < 2 ||
		    s.n > IMAP_SEARCH_MAX_NODES)
			abort();
		imap_search_write(&s, out);
		rc = 0;
	} else if (ps.error == NULL)
		abort();
	imap_search_clear(&s);
	free(copy);
	return rc;
}

static void
fz_search(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT;

	if (fz_search_once(data, size, &a) == 0) {
		if (a.len == 0 || fz_search_once(a.data, a.len, &b) == -1 ||
		    a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			abort();
	}
	buf_clear(&a);
	buf_clear(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_mutf7(data, size);
	fz_seqset(data, size);
	fz_date(data, size);
	fz_search(data, size);
	return 0;
}
