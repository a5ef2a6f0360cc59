/* SPDX-License-Identifier: ISC */
/*
 * imap_seqset.h: sequence sets (RFC 9051 9: sequence-set, seq-number,
 * seq-range; "$" of SEARCHRES, RFC 5182 2.1), for message sequence numbers
 * and UIDs alike.
 *
 * A set is used in two forms.  As parsed, it holds the ranges in the
 * client's order, each as written ("*:4" stays "*:4"), with "*" kept as a
 * symbol, because its value ("the largest number in use", RFC 9051 9
 * seq-number) is known only when the command runs.  imap_seqset_resolve()
 * then puts in the value of "*" and normalizes the set: ranges ascending,
 * first <= last, disjoint and not adjacent ("1:3,4" becomes "1:4").  Sets
 * built by the server (COPYUID, APPENDUID, ESEARCH ALL) are made with
 * imap_seqset_add() and resolved the same way before they are written.
 *
 * Numbers are nz-number, 1..4294967295; a parsed set holds at most
 * IMAP_SEQSET_MAX_RANGES ranges.  Pure functions; memory from xmalloc.
 */
#ifndef BULWARK_IMAP_SEQSET_H
#define BULWARK_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "imap_parse.h"

/* Most ranges a client may send in one sequence-set. */
#define IMAP_SEQSET_MAX_RANGES	10000

/* "*" in a range as parsed; 0 is never a seq-number. */
#define IMAP_SEQ_STAR		0

struct imap_seq_range {
	uint32_t	 first;		/* IMAP_SEQ_STAR for "*" */
	uint32_t	 last;
};

struct imap_seqset {
	struct imap_seq_range	*r;
	size_t			 n, cap;
	bool			 saved;	/* "$": the caller substitutes the
					   saved search result */
	bool			 star;	/* "*" appears, unresolved */
	bool			 normalized; /* resolved: ascending,
					   disjoint, no "*" */
};

/* An empty set, already normalized. */
void	imap_seqset_init(struct imap_seqset *set);
/* Frees the ranges; the set is empty and may be used again. */
void	imap_seqset_clear(struct imap_seqset *set);

/*
 * sequence-set: parses one set at ps into set, which must be empty (after
 * init or clear).  Stops at the first byte that cannot continue the set;
 * the caller parses what follows.  "$" alone sets set->saved (RFC 5182
 * allows it only as the whole set).  Returns 0, or -1 with ps->error set:
 * a zero, a leading zero, a number above 4294967295, a missing number or
 * more than IMAP_SEQSET_MAX_RANGES ranges.
 */
int	imap_seqset_parse(struct imap_parser *ps, struct imap_seqset *set);

/*
 * Appends the range first:last (either order, both 1..4294967295, or
 * IMAP_SEQ_STAR) to a set being built; the set is no longer normalized.
 */
void	imap_seqset_add(struct imap_seqset *set, uint32_t first,
	    uint32_t last);

/*
 * Normalizes set, putting star for "*".  star is the largest number in use:
 * the number of messages for sequence numbers, for UIDs the last message's
 * UID or, in an empty mailbox, UIDNEXT (RFC 9051 9 seq-number).  0 means
 * that "*" has no value (sequence numbers in an empty mailbox), which
 * RFC 9051 answers with BAD.  Returns 0, or -1 with *error_r if the set
 * holds "*" and star is 0, or is "$" (set->saved; the caller must replace
 * it with the saved result first).
 */
int	imap_seqset_resolve(struct imap_seqset *set, uint32_t star,
	    const char **error_r);

/*
 * Returns true if n is in the set, "*" standing for star (0: a range with
 * "*" holds nothing).  Binary search once normalized, else a scan.  A "$"
 * set holds nothing.
 */
bool	imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
	    uint32_t star);

/* Of a normalized set: how many numbers it holds; the largest, or 0. */
uint64_t imap_seqset_count(const struct imap_seqset *set);
uint32_t imap_seqset_max(const struct imap_seqset *set);

/* Walks a normalized set in ascending order, each number once. */
struct imap_seqset_iter {
	size_t		 i;		/* range */
	uint64_t	 next;		/* in range i; 0: its first */
};
void	imap_seqset_iter_init(struct imap_seqset_iter *it);
/* Sets *n to the next number and returns true, or returns false at the end. */
bool	imap_seqset_iter_next(const struct imap_seqset *set,
	    struct imap_seqset_iter *it, uint32_t *n);

/*
 * Appends the set to out as a sequence-set, ranges in stored order: a
 * normalized set compactly ("1:3,5"), a parsed one as the client wrote it
 * ("*" for IMAP_SEQ_STAR, "$" for saved).  An empty set writes nothing:
 * the grammar has no empty sequence-set, the caller decides (ESEARCH leaves
 * ALL out, RFC 4731 3.1).
 */
void	imap_seqset_write(const struct imap_seqset *set, struct buf *out);

#endif
