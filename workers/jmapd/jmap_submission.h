/* SPDX-License-Identifier: ISC */
/*
 * jmap_submission.h: what EmailSubmission's files (jmap_submission.c:
 * /get, /changes, /query; jmap_submission_set.c: /set) share: the rows of
 * SUBMIT_LIST and the call state that reads them.
 */
#ifndef BULWARK_JMAP_SUBMISSION_H
#define BULWARK_JMAP_SUBMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jmap_int.h"

#define SUB_DELAY_MAX	(7 * 24 * 3600)	/* maxDelayedSend */
#define SUB_RCPTS_MAX	100		/* store/submit.h SUBMIT_RCPTS_MAX */

/* --- Rows of SUBMIT_LIST --- */

struct sub_row {
	uint64_t	 id, identity_id, email_id, thread_id, send_at, undo;
	char		*mail_from;
	char		**rcpts, **replies;
	uint64_t	*delivered;
	size_t		 nrcpts;
};

struct sub_list {
	uint64_t	 state;
	struct sub_row	*v;
	size_t		 n;
};

/* Asks SUBMIT_LIST for ids (NULL: all), then next(c) with the list. */
struct sub_ctx {
	struct sub_list	*l;
	void		(*next)(struct jmap_call *);
	void		*more;		/* the method's own state */
	void		(*more_free)(void *);
};

void	sub_list_free(struct sub_list *l);
/* The row of submission id, or NULL. */
struct sub_row *sub_find(struct sub_list *l, uint64_t id);
/* A UTCDate (RFC 8620 1.4) of t, and back (false: not one). */
struct json *sub_utcdate(uint64_t t);
bool	sub_utcdate_parse(const char *s, uint64_t *t);
/* Frees a struct sub_ctx (the ctx_free of the calls). */
void	sub_ctx_free(void *p);
/*
 * Asks SUBMIT_LIST for ids[0..n) (n 0: all), then runs next(c) with the
 * list in ((struct sub_ctx *)c->ctx)->l; makes the ctx if c has none.
 */
void	sub_list_ask(struct jmap_call *c, const uint64_t *ids, size_t n,
	    void (*next)(struct jmap_call *));

#endif
