/* SPDX-License-Identifier: ISC */
/*
 * imap_seqset.c: parsing, normalizing, testing, walking and writing
 * sequence sets (RFC 9051 9 sequence-set; "$" of RFC 5182 2.1).  See
 * imap_seqset.h for the two forms of a set.
 */
#include "imap_seqset.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>

void
imap_seqset_init(struct imap_seqset *set)
{
	set->r = NULL;
	set->n = set->cap = 0;
	set->saved = set->star = false;
	set->normalized = true;
}

void
imap_seqset_clear(struct imap_seqset *set)
{
	free(set->r);
	imap_seqset_init(set);
}

void
imap_seqset_add(struct imap_seqset *set, uint32_t first, uint32_t last)
{
	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 8;
		set->r = xreallocarray(set->r, set->cap, sizeof(*set->r));
	}
	set->r[set->n].first = first;
	set->r[set->n].last = last;
	set->n++;
	if (first == IMAP_SEQ_STAR || last == IMAP_SEQ_STAR)
		set->star = true;
	set->normalized = false;
}

static int
seqset_fail(struct imap_parser *ps, const char *why)
{
	if (ps->error == NULL)
		ps->error = why;
	return -1;
}

/* seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT */
static int
seqset_parse_number(struct imap_parser *ps, uint32_t *n)
{
	uint64_t v = 0;

	if (imap_parse_peek(ps, '*')) {
		ps->p++;
		*n = IMAP_SEQ_STAR;
		return 0;
	}
	if (imap_parse_peek(ps, '0'))
		return seqset_fail(ps, "Sequence numbers start at 1");
	if (ps->p == ps->end || *ps->p < '1' || *ps->p > '9')
		return seqset_fail(ps, imap_parse_at_eol(ps) ?
		    "Missing argument" : "Invalid sequence set");
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		v = v * 10 + (*ps->p++ - '0');
		if (v > UINT32_MAX)
			return seqset_fail(ps,
			    "Number too large in sequence set");
	}
	*n = (uint32_t)v;
	return 0;
}

/* Could the byte at ps continue a sequence set? */
static bool
seqset_continues(const struct imap_parser *ps)
{
	return ps->p < ps->end && ((*ps->p >= '0' && *ps->p <= '9') ||
	    *ps->p == ':' || *ps->p == ',' || *ps->p == '*' || *ps->p == '$');
}

int
imap_seqset_parse(struct imap_parser *ps, struct imap_seqset *set)
{
	uint32_t first, last;

	if (ps->error != NULL)
		return -1;
	if (imap_parse_peek(ps, '$')) {
		ps->p++;
		if (seqset_continues(ps))
			return seqset_fail(ps,
			    "$ must stand alone as a sequence set");
		set->saved = true;
		set->normalized = false;
		return 0;
	}
	for (;;) {
		if (set->n >= IMAP_SEQSET_MAX_RANGES)
			return seqset_fail(ps,
			    "Too many ranges in sequence set");
		if (seqset_parse_number(ps, &first) == -1)
			return -1;
		last = first;
		if (imap_parse_peek(ps, ':')) {
			ps->p++;
			if (seqset_parse_number(ps, &last) == -1)
				return -1;
		}
		imap_seqset_add(set, first, last);
		if (!imap_parse_peek(ps, ','))
			break;
		ps->p++;
	}
	if (seqset_continues(ps))
		return seqset_fail(ps, "Invalid sequence set");
	return 0;
}

static int
seqset_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return 0;
}

int
imap_seqset_resolve(struct imap_seqset *set, uint32_t star,
    const char **error_r)
{
	struct imap_seq_range *r;
	size_t i, w;
	uint32_t t;

	if (set->saved) {
		*error_r = "Saved search result not substituted";
		return -1;
	}
	if (set->star && star == 0) {
		*error_r = "* used in an empty mailbox";
		return -1;
	}
	if (set->normalized)
		return 0;
	for (i = 0; i < set->n; i++) {
		r = &set->r[i];
		if (r->first == IMAP_SEQ_STAR)
			r->first = star;
		if (r->last == IMAP_SEQ_STAR)
			r->last = star;
		if (r->first > r->last) {
			t = r->first;
			r->first = r->last;
			r->last = t;
		}
	}
	if (set->n > 1)
		qsort(set->r, set->n, sizeof(*set->r), seqset_cmp);
	/* Merge overlapping and adjacent ranges in place. */
	for (i = 1, w = 0; i < set->n; i++) {
		if ((uint64_t)set->r[i].first <= (uint64_t)set->r[w].last + 1) {
			if (set->r[i].last > set->r[w].last)
				set->r[w].last = set->r[i].last;
		} else
			set->r[++w] = set->r[i];
	}
	if (set->n > 0)
		set->n = w + 1;
	set->star = false;
	set->normalized = true;
	return 0;
}

bool
imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
    uint32_t star)
{
	size_t lo, hi, mid, i;
	uint32_t a, b;

	if (set->saved || n == 0)
		return false;
	if (set->normalized) {
		lo = 0;
		hi = set->n;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (n < set->r[mid].first)
				hi = mid;
			else if (n > set->r[mid].last)
				lo = mid + 1;
			else
				return true;
		}
		return false;
	}
	for (i = 0; i < set->n; i++) {
		a = set->r[i].first == IMAP_SEQ_STAR ? star : set->r[i].first;
		b = set->r[i].last == IMAP_SEQ_STAR ? star : set->r[i].last;
		if (a == 0 || b == 0)
			continue;
		if ((n >= a && n <= b) || (n >= b && n <= a))
			return true;
	}
	return false;
}

uint64_t
imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < set->n; i++)
		total += (uint64_t)set->r[i].last - set->r[i].first + 1;
	return total;
}

uint32_t
imap_seqset_max(const struct imap_seqset *set)
{
	return set->n == 0 ? 0 : set->r[set->n - 1].last;
}

void
imap_seqset_iter_init(struct imap_seqset_iter *it)
{
	it->i = 0;
	it->next = 0;
}

bool
imap_seqset_iter_next(const struct imap_seqset *set,
    struct imap_seqset_iter *it, uint32_t *n)
{
	while (it->i < set->n) {
		if (it->next == 0)
			it->next = set->r[it->i].first;
		if (it->next <= set->r[it->i].last) {
			*n = (uint32_t)it->next++;
			return true;
		}
		it->i++;
		it->next = 0;
	}
	return false;
}

static void
seqset_write_number(struct buf *out, uint32_t n)
{
	char num[16];
	int len;

	if (n == IMAP_SEQ_STAR) {
		buf_append(out, "*", 1);
		return;
	}
	len = snprintf(num, sizeof(num), "%u", n);
	buf_append(out, num, (size_t)len);
}

void
imap_seqset_write(const struct imap_seqset *set, struct buf *out)
{
	size_t i;

	if (set->saved) {
		buf_append(out, "$", 1);
		return;
	}
	for (i = 0; i < set->n; i++) {
		if (i > 0)
			buf_append(out, ",", 1);
		seqset_write_number(out, set->r[i].first);
		if (set->r[i].last != set->r[i].first) {
			buf_append(out, ":", 1);
			seqset_write_number(out, set->r[i].last);
		}
	}
}
