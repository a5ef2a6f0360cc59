/* SPDX-License-Identifier: ISC */
/*
 * imap_search_eval.h: runs a search program (imap_search.h) over the
 * selected mailbox for SEARCH (RFC 9051 6.4.4), SORT and THREAD (RFC
 * 5256), which all take search criteria.
 *
 * The evaluator asks storaged for the messages of the view in chunks
 * (MSG_FETCH: flags, dates, sizes, ids and, when a key or the caller needs
 * it, the parsed record) and evaluates the tree three-valued: yes, no, or
 * not without the text keys, which storaged matches.  A tree of text keys
 * alone, for a caller that wants no more than UIDs, sequence numbers and
 * modseqs, asks storaged for the keys' bits alone.  Each match is handed
 * to the caller in sequence number order; a callback says when it is over.
 * The
 * evaluator is asynchronous: it belongs to the waiting command's context
 * (s->cmd_ctx), which frees it.
 */
#ifndef BULWARK_IMAP_SEARCH_EVAL_H
#define BULWARK_IMAP_SEARCH_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "imap_msg.h"
#include "imap_search.h"

struct imap_session;
struct msgrec;

/*
 * Gets one matching message, in sequence number order, with its record
 * opened (NULL if none was asked for, or it could not be read); both are
 * borrowed for the call.  Without IMAP_SEARCH_WANT_MSG, m may have only
 * its uid, msn and modseq (the rest 0 and NULL).
 */
typedef void imap_search_match_fn(void *arg, const struct imap_msg *m,
    const struct msgrec *r);
/*
 * Ends the run, once: code and text NULL when every message was decided,
 * else the response code (static) and text of the NO to answer with.  The
 * caller may free the evaluator inside.
 */
typedef void imap_search_done_fn(void *arg, const char *code,
    const char *text);

struct imap_search_eval;

/* Whether q's CHARSET (none, US-ASCII or UTF-8) is one searches take. */
bool	imap_search_charset_ok(const struct imap_search *q);

/*
 * Prepares an evaluator of q (borrowed: it and the command buffer its
 * strings point into must outlive the evaluator) over the view of s, which
 * must be selected: resolves the sets of q ("*", "$") against the view.
 * want (IMAP_SEARCH_WANT_*) says what the caller's match needs of each
 * message beyond what the keys need.
 * Returns the evaluator, or NULL with *bad_r (static text for a BAD) if q
 * cannot be run (a set that does not resolve).
 */
#define IMAP_SEARCH_WANT_MSG	0x01	/* flags, keywords, dates, size, ids */
#define IMAP_SEARCH_WANT_RECORD	0x03	/* those and the parsed record */
struct imap_search_eval *imap_search_eval_new(struct imap_session *s,
	    struct imap_search *q, unsigned int want,
	    imap_search_match_fn *match, imap_search_done_fn *done, void *arg,
	    const char **bad_r);
/* Whether q has a MODSEQ key (CONDSTORE answers with the highest). */
bool	imap_search_eval_has_modseq(const struct imap_search_eval *e);
/*
 * Searches the messages of the view as it is now; match and done follow,
 * done perhaps before this returns (an empty mailbox).  The caller returns
 * IMAP_CMD_WAIT and ends the command in done.
 */
void	imap_search_eval_start(struct imap_search_eval *e);
/* Frees *ep (a request it waits for must be cancelled first) and NULLs it. */
void	imap_search_eval_free(struct imap_search_eval **ep);

/*
 * The messages a search found, in the order to answer with: ascending for
 * SEARCH, the sort order for SORT.  nums are what the client is told
 * (sequence numbers or UIDs), uids the UIDs (for SAVE).
 */
struct imap_search_result {
	uint32_t	*nums;
	uint32_t	*uids;
	uint64_t	*modseqs;
	uint32_t	 n, cap;
	uint64_t	 highest_modseq;	/* of the messages found */
};

/* Appends a message found; modseq is its mod-sequence. */
void	imap_search_result_add(struct imap_search_result *res, uint32_t num,
	    uint32_t uid, uint64_t modseq);
/* Frees the arrays; res is empty again (all zero is empty too). */
void	imap_search_result_clear(struct imap_search_result *res);
/*
 * Appends the numbers as a sequence-set in their order, runs of ascending
 * consecutive numbers as ranges ("3:5,1,9"); nothing if n is 0.
 */
void	imap_search_result_write_set(struct buf *out, const uint32_t *nums,
	    uint32_t n);
/*
 * Writes the ESEARCH response of RFC 4731 (and RFC 5267 3.1 for SORT) for
 * the return options of q to s->out: MIN and MAX are the first and last
 * message of res, ALL is res in its order, COUNT, PARTIAL (RFC 9394 3.1:
 * the range as written, then the messages at those positions of res or
 * NIL), and MODSEQ when modseq (RFC 7162 3.1.5).  Nothing is written for
 * RETURN (SAVE) alone.  With SAVE, keeps "$" (RFC 5182, RFC 9394 3.2):
 * every message found, or with PARTIAL and no COUNT those PARTIAL
 * returns with MIN and MAX.
 */
void	imap_search_result_esearch(struct imap_session *s,
	    const struct imap_search *q, bool uid,
	    const struct imap_search_result *res, bool modseq);

#endif
