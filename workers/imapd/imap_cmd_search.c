/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_search.c: SEARCH and UID SEARCH (RFC 9051 6.4.4) with ESEARCH
 * (RFC 4731), SEARCHRES (RFC 5182), PARTIAL (RFC 9394 3.1) and CONDSTORE's
 * MODSEQ (RFC 7162 3.1.5).  The arguments are parsed by imap_search.c and
 * evaluated by imap_search_eval.c (which SORT and THREAD share); this file
 * collects the matches and answers with SEARCH or ESEARCH.
 */
#include "imap_cmd.h"
#include "imap_search.h"
#include "imap_search_eval.h"
#include "imap_session.h"
#include "imap_view.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

struct search_ctx {
	struct imap_session	*s;
	bool			 uid;
	struct imap_search	 q;
	uint8_t			*cmdbuf;	/* q points in */
	struct imap_search_eval	*eval;
	struct imap_search_result res;		/* ascending */
};

static void
search_ctx_free(void *arg)
{
	struct search_ctx *x = arg;

	if (x == NULL)
		return;
	imap_search_eval_free(&x->eval);
	imap_search_clear(&x->q);
	imap_search_result_clear(&x->res);
	free(x->cmdbuf);
	free(x);
}

static void
search_match(void *arg, const struct imap_msg *m,
    const struct msgrec *r)
{
	struct search_ctx *x = arg;

	(void)r;
	imap_search_result_add(&x->res, x->uid ? m->uid : m->msn, m->uid,
	    m->modseq);
}

/* The SEARCH response of RFC 9051 7.3.4 (RFC 3501 7.2.5). */
static void
search_write_plain(struct search_ctx *x, bool modseq)
{
	struct buf *out = x->s->out;
	uint32_t i;

	buf_append(out, "* SEARCH", 8);
	for (i = 0; i < x->res.n; i++)
		buf_printf(out, " %u", x->res.nums[i]);
	if (modseq && x->res.n > 0)
		buf_printf(out, " (MODSEQ %llu)",
		    (unsigned long long)x->res.highest_modseq);
	buf_append(out, "\r\n", 2);
}

static void
search_done(void *arg, const char *code, const char *text)
{
	struct search_ctx *x = arg;
	struct imap_session *s = x->s;
	bool modseq = imap_search_eval_has_modseq(x->eval);

	if (code != NULL || text != NULL)
		imap_session_reply(s, "NO", code, text);
	else {
		if (x->q.ret_given || (s->enabled & IMAP_ENABLED_REV2))
			imap_search_result_esearch(s, &x->q, x->uid, &x->res,
			    modseq);
		else
			search_write_plain(x, modseq);
		imap_session_reply(s, "OK", NULL, x->uid ?
		    "UID SEARCH completed" : "SEARCH completed");
	}
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	search_ctx_free(x);
	imap_session_resume(s, IMAP_CMD_DONE);
}

static enum imap_cmd_result
search_run(struct imap_session *s, struct imap_parser *ps, bool uid)
{
	struct search_ctx *x;
	const char *why;
	size_t len = (size_t)(ps->end - ps->p);

	x = xcalloc(1, sizeof(*x));
	x->s = s;
	x->uid = uid;
	imap_search_init(&x->q);
	/* The tree points into the command: keep a copy of it. */
	x->cmdbuf = xmalloc(len + 1);
	memcpy(x->cmdbuf, ps->p, len);
	x->cmdbuf[len] = '\0';
	imap_parser_init(ps, x->cmdbuf, len);
	if (imap_search_parse(ps, &x->q) == -1 || imap_parse_eol(ps) == -1) {
		search_ctx_free(x);
		return imap_cmd_bad(s, ps);
	}
	/*
	 * RFC 6855 3: after ENABLE UTF8=ACCEPT a client must not name a
	 * charset (its strings are UTF-8); the server SHOULD answer BAD.
	 */
	if (x->q.charset.p != NULL && (s->enabled & IMAP_ENABLED_UTF8)) {
		search_ctx_free(x);
		imap_session_reply(s, "BAD", NULL,
		    "No CHARSET after ENABLE UTF8=ACCEPT");
		return IMAP_CMD_DONE;
	}
	if (!imap_search_charset_ok(&x->q)) {
		search_ctx_free(x);
		imap_session_reply(s, "NO", "BADCHARSET (US-ASCII UTF-8)",
		    "Charset not supported");
		return IMAP_CMD_DONE;
	}
	if ((x->eval = imap_search_eval_new(s, &x->q, 0, search_match,
	    search_done, x, &why)) == NULL) {
		search_ctx_free(x);
		imap_session_reply(s, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	/* RFC 7162 3.1: a MODSEQ key turns CONDSTORE on. */
	if (imap_search_eval_has_modseq(x->eval))
		imap_view_condstore_enable(s);
	s->cmd_ctx = x;
	s->cmd_ctx_free = search_ctx_free;
	imap_search_eval_start(x->eval);
	return IMAP_CMD_WAIT;
}

enum imap_cmd_result
imap_cmd_search(struct imap_session *s, struct imap_parser *ps)
{
	return search_run(s, ps, false);
}

enum imap_cmd_result
imap_cmd_uid_search(struct imap_session *s, struct imap_parser *ps)
{
	return search_run(s, ps, true);
}
