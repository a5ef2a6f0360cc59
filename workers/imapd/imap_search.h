/* SPDX-License-Identifier: ISC */
/*
 * imap_search.h: the arguments of SEARCH parsed into a tree: the
 * search-return-opts of ESEARCH (RFC 9051 6.4.4, RFC 4731: MIN MAX ALL
 * COUNT; SAVE of RFC 5182; PARTIAL of RFC 9394), CHARSET, and the
 * search-key grammar of RFC 9051 9 with the keys RFC 3501 9 had (NEW, OLD,
 * RECENT) and those of extensions: MODSEQ (RFC 7162 3.1.5), OLDER and
 * YOUNGER (RFC 5032), SAVEDBEFORE, SAVEDON, SAVEDSINCE and
 * SAVEDATESUPPORTED (RFC 8514), EMAILID and THREADID (RFC 8474).  Parsing
 * only, and writing the tree back (for tests and traces); evaluation is
 * another module's.
 *
 * The tree lives in one array of nodes linked by index.  A program is an
 * AND node whose children are its keys; "(" ... ")" is an AND node, NOT
 * has one child, OR two.  Nesting is bounded by IMAP_SEARCH_MAX_DEPTH and
 * the size of the tree by IMAP_SEARCH_MAX_NODES, so that neither recursion
 * here nor evaluation later can be driven without bound by a client.
 */
#ifndef BULWARK_IMAP_SEARCH_H
#define BULWARK_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "imap_parse.h"
#include "imap_seqset.h"

/* Keys nested in NOT, OR and parentheses; top-level keys are at depth 1. */
#define IMAP_SEARCH_MAX_DEPTH	32
/* Nodes of one tree, the program's AND node included. */
#define IMAP_SEARCH_MAX_NODES	1024
/* No node: the end of a list of children. */
#define IMAP_SEARCH_NONE	(-1)

enum imap_search_key {
	IMAP_SEARCH_AND,		/* children: all must match */
	IMAP_SEARCH_OR,			/* two children */
	IMAP_SEARCH_NOT,		/* one child */
	IMAP_SEARCH_SEQSET,		/* set: sequence numbers */
	IMAP_SEARCH_UID,		/* set: UIDs */
	/* Flags and states, no argument. */
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_ANSWERED,
	IMAP_SEARCH_DELETED,
	IMAP_SEARCH_DRAFT,
	IMAP_SEARCH_FLAGGED,
	IMAP_SEARCH_NEW,		/* RFC 3501: RECENT UNSEEN */
	IMAP_SEARCH_OLD,		/* RFC 3501: NOT RECENT */
	IMAP_SEARCH_RECENT,		/* RFC 3501 */
	IMAP_SEARCH_SEEN,
	IMAP_SEARCH_UNANSWERED,
	IMAP_SEARCH_UNDELETED,
	IMAP_SEARCH_UNDRAFT,
	IMAP_SEARCH_UNFLAGGED,
	IMAP_SEARCH_UNSEEN,
	IMAP_SEARCH_SAVEDATESUPPORTED,	/* RFC 8514 */
	/* str: text to find. */
	IMAP_SEARCH_BCC,
	IMAP_SEARCH_BODY,
	IMAP_SEARCH_CC,
	IMAP_SEARCH_FROM,
	IMAP_SEARCH_SUBJECT,
	IMAP_SEARCH_TEXT,
	IMAP_SEARCH_TO,
	IMAP_SEARCH_HEADER,		/* str: field name, value: text */
	/* str: a flag-keyword (an atom). */
	IMAP_SEARCH_KEYWORD,
	IMAP_SEARCH_UNKEYWORD,
	/* date: a day, 00:00:00 UTC. */
	IMAP_SEARCH_BEFORE,
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE,
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_SAVEDBEFORE,	/* RFC 8514 */
	IMAP_SEARCH_SAVEDON,
	IMAP_SEARCH_SAVEDSINCE,
	/* num: a number64 (size in octets). */
	IMAP_SEARCH_LARGER,
	IMAP_SEARCH_SMALLER,
	/* num: an nz-number of seconds (RFC 5032). */
	IMAP_SEARCH_OLDER,
	IMAP_SEARCH_YOUNGER,
	/* num: mod-sequence-valzer; str: entry-name or NULL; entry. */
	IMAP_SEARCH_MODSEQ,
	/* str: an objectid (RFC 8474). */
	IMAP_SEARCH_EMAILID,
	IMAP_SEARCH_THREADID
};

/* entry-type-req of MODSEQ (RFC 7162 7). */
enum imap_search_entry {
	IMAP_SEARCH_ENTRY_NONE,		/* no entry-name given */
	IMAP_SEARCH_ENTRY_PRIV,
	IMAP_SEARCH_ENTRY_SHARED,
	IMAP_SEARCH_ENTRY_ALL
};

struct imap_search_node {
	enum imap_search_key	 key;
	/* Links, IMAP_SEARCH_NONE for none. */
	int			 child;	/* first child */
	int			 next;	/* next sibling */
	/*
	 * Strings point into the command buffer given to the parser
	 * (unescaped); they live as long as it does.  For MODSEQ, str is
	 * the whole entry-name ("/flags/\seen") or has p == NULL.
	 */
	struct imap_str		 str;
	struct imap_str		 value;
	int64_t			 date;
	uint64_t		 num;
	enum imap_search_entry	 entry;
	struct imap_seqset	 set;	/* as parsed; resolve it */
};

/* search-return-opt bits (RFC 9051 6.4.4, RFC 5182, RFC 9394). */
#define IMAP_SEARCH_RET_MIN	0x01
#define IMAP_SEARCH_RET_MAX	0x02
#define IMAP_SEARCH_RET_ALL	0x04
#define IMAP_SEARCH_RET_COUNT	0x08
#define IMAP_SEARCH_RET_SAVE	0x10
#define IMAP_SEARCH_RET_PARTIAL	0x20

struct imap_search {
	struct imap_search_node	*nodes;
	int			 n, cap;
	int			 root;	/* the program's AND node */
	struct imap_str		 charset; /* p == NULL if not given */
	bool			 ret_given; /* RETURN (...) was sent: answer
					   with ESEARCH; no bits means ALL
					   (RFC 4731 3.1) */
	unsigned		 ret;	/* IMAP_SEARCH_RET_* */
	/* PARTIAL as written: 1:500, or -1:-100 counting from the end. */
	int64_t			 partial_first, partial_last;
};

void	imap_search_init(struct imap_search *s);
/* Frees the nodes (and their sets); s is as after init. */
void	imap_search_clear(struct imap_search *s);

/*
 * Parses the arguments of SEARCH (or UID SEARCH) into s, which must be
 * empty: ps stands after the command name, at the SP before RETURN,
 * CHARSET or the first key:
 *   [SP "RETURN" SP "(" [opt *(SP opt)] ")"] SP ["CHARSET" SP charset SP]
 *   search-key *(SP search-key)
 * and stops before the CRLF, which the caller parses.  Strings may be
 * literals (the reader has put their bytes in the command); their bytes
 * are not checked against the charset here.  Returns 0, or -1 with
 * ps->error set (a reason fit for BAD): bad syntax, an unknown key or
 * return option, PARTIAL with ALL or twice (RFC 9394 3.1), nesting deeper
 * than IMAP_SEARCH_MAX_DEPTH, more than IMAP_SEARCH_MAX_NODES nodes.
 * After a failure s holds part of a tree, to be cleared.
 */
int	imap_search_parse(struct imap_parser *ps, struct imap_search *s);

/*
 * Appends s as the arguments it was parsed from, in a canonical form: key
 * names in capitals, single spaces, strings as atoms, quoted strings or
 * literals, dates as d-Mon-yyyy, sets as parsed, no leading SP.
 */
void	imap_search_write(const struct imap_search *s, struct buf *out);

#endif
