/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_sort.c: SORT, UID SORT, THREAD and UID THREAD (RFC 5256 3),
 * with the DISPLAYFROM and DISPLAYTO keys of SORT=DISPLAY (RFC 5957), the
 * return options of ESORT (RFC 5267 3: MIN MAX ALL COUNT, answered with
 * ESEARCH) and PARTIAL (RFC 9394, RFC 5267 4.4).
 *
 * Both commands take search criteria, run by imap_search_eval.c; for each
 * message found the values the sort keys or the threading need are copied
 * from its record (addresses, base subject, sent date, ids), then sorted
 * or threaded (imap_thread.c) when the search is over.  Strings are kept
 * as their i;unicode-casemap keys (lib/casemap.h, as RFC 5256 7 says) and
 * compared as octets; ties go by sequence number (RFC 5256 3).
 */
#include "imap_cmd.h"
#include "casemap.h"
#include "imap_resp.h"
#include "imap_search.h"
#include "imap_search_eval.h"
#include "imap_session.h"
#include "imap_thread.h"
#include "imap_view.h"
#include "msgrec.h"
#include "wire.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Criteria of one SORT; the grammar has no bound, this is generous. */
#define SORT_CRIT_MAX	16

/* The sort keys (RFC 5256 3, RFC 5957 3). */
enum sort_key {
	SK_ARRIVAL,
	SK_CC,
	SK_DATE,
	SK_FROM,
	SK_SIZE,
	SK_SUBJECT,
	SK_TO,
	SK_DISPLAYFROM,
	SK_DISPLAYTO,
	SK_COUNT
};

/* What a key compares: a number, or a string kept per message. */
enum sort_kind { SORT_NUM, SORT_STR };

static const struct {
	const char	*name;
	enum sort_kind	 kind;
} sort_keys[SK_COUNT] = {
	[SK_ARRIVAL] =		{ "ARRIVAL",		SORT_NUM },
	[SK_CC] =		{ "CC",			SORT_STR },
	[SK_DATE] =		{ "DATE",		SORT_NUM },
	[SK_FROM] =		{ "FROM",		SORT_STR },
	[SK_SIZE] =		{ "SIZE",		SORT_NUM },
	[SK_SUBJECT] =		{ "SUBJECT",		SORT_STR },
	[SK_TO] =		{ "TO",			SORT_STR },
	[SK_DISPLAYFROM] =	{ "DISPLAYFROM",	SORT_STR },
	[SK_DISPLAYTO] =	{ "DISPLAYTO",		SORT_STR },
};

enum sort_alg { ALG_NONE, ALG_ORDEREDSUBJECT, ALG_REFERENCES };

struct sort_crit {
	enum sort_key	 key;
	bool		 reverse;
};

struct sort_ctx;

/* One message found. */
struct sort_item {
	const struct sort_ctx *x;	/* for the comparison */
	uint32_t	 num, uid, msn;
	uint64_t	 modseq, size;
	int64_t		 arrival, date;
	/* Offsets into x->strs: the keys' strings; THREAD's ids. */
	size_t		 str[SK_COUNT];
	size_t		 id, refs;
	uint32_t	 nrefs;
	bool		 reply;
};

struct sort_ctx {
	struct imap_session	*s;
	bool			 uid;
	enum sort_alg		 alg;		/* ALG_NONE: SORT */
	struct sort_crit	 crit[SORT_CRIT_MAX];
	unsigned		 ncrit;
	bool			 strs_needed[SK_COUNT];
	struct imap_search	 q;
	uint8_t			*cmdbuf;	/* q points in */
	struct imap_search_eval	*eval;
	struct sort_item	*items;
	uint32_t		 n, cap;
	struct buf		 strs;		/* NUL-terminated */
};

static void
sort_ctx_free(void *arg)
{
	struct sort_ctx *x = arg;

	if (x == NULL)
		return;
	imap_search_eval_free(&x->eval);
	imap_search_clear(&x->q);
	free(x->cmdbuf);
	free(x->items);
	buf_clear(&x->strs);
	free(x);
}

/* --- The values of a message --- */

/* Keeps s (len bytes, or to its NUL if len is SIZE_MAX); its offset. */
static size_t
sort_keep(struct sort_ctx *x, const char *s, size_t len)
{
	size_t off = x->strs.len;

	if (len == SIZE_MAX)
		len = strlen(s);
	buf_append(&x->strs, s, len);
	buf_append(&x->strs, "", 1);
	return off;
}

/* Keeps the i;unicode-casemap key of s (as sort_keep); its offset. */
static size_t
sort_keep_key(struct sort_ctx *x, const char *s, size_t len)
{
	size_t off = x->strs.len;

	if (len == SIZE_MAX)
		len = strlen(s);
	(void)casemap_key(s, len, &x->strs);
	buf_append(&x->strs, "", 1);
	return off;
}

/* The first entry of address field f (maybe a group), or false. */
static bool
sort_first_addr(const struct msgrec *r, enum msgrec_addr_field f,
    struct msgrec_addr *a)
{
	struct wire_iter it;

	if (r == NULL || r->nenvs == 0)
		return false;
	wire_strlist_iter(&r->envs[0].addr[f], &it);
	return msgrec_addr_next(&it, a);
}

/*
 * The string of key k: addr-mailbox (the local part) of the first
 * address for FROM, TO, CC (RFC 5256 3); for DISPLAYFROM and DISPLAYTO
 * its display name, or its addr-spec when it has none (RFC 5957 3); the
 * base subject for SUBJECT.  "" when absent.
 */
static size_t
sort_key_string(struct sort_ctx *x, const struct msgrec *r, enum sort_key k)
{
	static const enum msgrec_addr_field fields[SK_COUNT] = {
		[SK_CC] = MSGREC_CC, [SK_FROM] = MSGREC_FROM,
		[SK_TO] = MSGREC_TO, [SK_DISPLAYFROM] = MSGREC_FROM,
		[SK_DISPLAYTO] = MSGREC_TO,
	};
	struct msgrec_addr a;
	const char *at;

	if (k == SK_SUBJECT)
		return sort_keep_key(x, r != NULL && r->s.base_subject != NULL ?
		    r->s.base_subject : "", SIZE_MAX);
	if (!sort_first_addr(r, fields[k], &a))
		return sort_keep_key(x, "", 0);
	/*
	 * As the ENVELOPE shows it (imap_struct.c): a group opens with an
	 * address whose mailbox is the group's name.  A lone word ("From:
	 * d") is kept as an address without a domain; an entry without an
	 * address ("Name <>", or such a word in a record written before
	 * lib/mime kept it so) sorts by its name.
	 */
	if (a.group != NULL)
		return sort_keep_key(x, a.group, SIZE_MAX);
	if (k == SK_DISPLAYFROM || k == SK_DISPLAYTO || a.email[0] == '\0')
		return sort_keep_key(x, a.name != NULL && a.name[0] != '\0' ?
		    a.name : a.email, SIZE_MAX);
	at = strrchr(a.email, '@');
	return sort_keep_key(x, a.email, at != NULL ? (size_t)(at - a.email) :
	    strlen(a.email));
}

/*
 * THREAD's values: base subject, whether the subject was a reply, the
 * Message-ID, the references (References, else the first In-Reply-To id;
 * RFC 5256 3 REFERENCES).
 */
static void
sort_thread_values(struct sort_ctx *x, struct sort_item *it,
    const struct msgrec *r)
{
	const struct wire_strlist *refs;
	struct wire_iter wi;
	const char *id;

	it->str[SK_SUBJECT] = sort_key_string(x, r, SK_SUBJECT);
	it->reply = r != NULL && r->s.subject != NULL &&
	    imap_thread_is_reply(r->s.subject);
	it->id = sort_keep(x, r != NULL && r->s.message_id != NULL ?
	    r->s.message_id : "", SIZE_MAX);
	it->refs = x->strs.len;
	it->nrefs = 0;
	if (r == NULL)
		return;
	refs = r->s.references.count > 0 ? &r->s.references :
	    &r->s.in_reply_to;
	wire_strlist_iter(refs, &wi);
	while ((id = wire_strlist_next(&wi)) != NULL) {
		if (id[0] == '\0')
			continue;
		(void)sort_keep(x, id, SIZE_MAX);
		it->nrefs++;
		if (refs == &r->s.in_reply_to)
			break;
	}
}

static void
sort_match(void *arg, const struct imap_msg *m, const struct msgrec *r)
{
	struct sort_ctx *x = arg;
	struct sort_item *it;
	unsigned k;

	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		x->items = xreallocarray(x->items, x->cap, sizeof(*x->items));
	}
	it = &x->items[x->n++];
	memset(it, 0, sizeof(*it));
	it->x = x;
	it->num = x->uid ? m->uid : m->msn;
	it->uid = m->uid;
	it->msn = m->msn;
	it->modseq = m->modseq;
	it->size = m->size;
	it->arrival = (int64_t)m->received;
	/* RFC 5256 2.2: the Date: in UTC, else the internal date. */
	it->date = r != NULL && r->s.has_sent_at ? r->s.sent_at :
	    (int64_t)m->received;
	if (x->alg != ALG_NONE) {
		sort_thread_values(x, it, r);
		return;
	}
	for (k = 0; k < SK_COUNT; k++)
		if (x->strs_needed[k])
			it->str[k] = sort_key_string(x, r, k);
}

/* --- Sorting --- */

static int
sort_num_cmp(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int
sort_item_cmp(const void *pa, const void *pb)
{
	const struct sort_item *a = pa, *b = pb;
	const struct sort_ctx *x = a->x;
	const char *strs = (const char *)x->strs.data;
	unsigned i;
	int c;

	for (i = 0; i < x->ncrit; i++) {
		switch (x->crit[i].key) {
		case SK_ARRIVAL:
			c = sort_num_cmp(a->arrival, b->arrival);
			break;
		case SK_DATE:
			c = sort_num_cmp(a->date, b->date);
			break;
		case SK_SIZE:
			c = a->size < b->size ? -1 : a->size > b->size;
			break;
		default:
			c = strcmp(strs + a->str[x->crit[i].key],
			    strs + b->str[x->crit[i].key]);
			break;
		}
		if (c != 0)
			return x->crit[i].reverse ? -c : c;
	}
	/* The implicit last criterion: sequence number. */
	return a->msn < b->msn ? -1 : a->msn > b->msn;
}

static void
sort_answer(struct sort_ctx *x)
{
	struct imap_session *s = x->s;
	struct imap_search_result res;
	bool modseq = imap_search_eval_has_modseq(x->eval);
	uint32_t i;

	if (x->n > 1)
		qsort(x->items, x->n, sizeof(*x->items), sort_item_cmp);
	memset(&res, 0, sizeof(res));
	for (i = 0; i < x->n; i++)
		imap_search_result_add(&res, x->items[i].num, x->items[i].uid,
		    x->items[i].modseq);
	if (x->q.ret_given)
		imap_search_result_esearch(s, &x->q, x->uid, &res, modseq);
	else {
		buf_append(s->out, "* SORT", 6);
		for (i = 0; i < res.n; i++)
			buf_printf(s->out, " %u", res.nums[i]);
		if (modseq && res.n > 0)
			buf_printf(s->out, " (MODSEQ %llu)",
			    (unsigned long long)res.highest_modseq);
		buf_append(s->out, "\r\n", 2);
	}
	imap_search_result_clear(&res);
}

/* --- Threading --- */

static void
sort_thread_answer(struct sort_ctx *x)
{
	struct imap_thread_msg *m;
	const char **refs, *strs = (const char *)x->strs.data;
	struct buf *out = x->s->out;
	size_t nrefs = 0, off, r;
	uint32_t i, k;

	for (i = 0; i < x->n; i++)
		nrefs += x->items[i].nrefs;
	m = xcalloc(x->n > 0 ? x->n : 1, sizeof(*m));
	refs = xreallocarray(NULL, nrefs > 0 ? nrefs : 1, sizeof(*refs));
	for (i = 0, r = 0; i < x->n; i++) {
		m[i].num = x->items[i].num;
		m[i].date = x->items[i].date;
		m[i].subject = strs + x->items[i].str[SK_SUBJECT];
		m[i].reply = x->items[i].reply;
		m[i].id = strs + x->items[i].id;
		m[i].refs = refs + r;
		m[i].nrefs = x->items[i].nrefs;
		for (k = 0, off = x->items[i].refs; k < x->items[i].nrefs;
		    k++) {
			refs[r++] = strs + off;
			off += strlen(strs + off) + 1;
		}
	}
	buf_append(out, "* THREAD", 8);
	if (x->n > 0)
		buf_append(out, " ", 1);
	if (x->alg == ALG_ORDEREDSUBJECT)
		imap_thread_orderedsubject(m, x->n, out);
	else
		imap_thread_references(m, x->n, out);
	buf_append(out, "\r\n", 2);
	free(refs);
	free(m);
}

static void
sort_done(void *arg, const char *code, const char *text)
{
	struct sort_ctx *x = arg;
	struct imap_session *s = x->s;

	if (code != NULL || text != NULL)
		imap_session_reply(s, "NO", code, text);
	else if (x->alg == ALG_NONE) {
		sort_answer(x);
		imap_session_reply(s, "OK", NULL, x->uid ?
		    "UID SORT completed" : "SORT completed");
	} else {
		sort_thread_answer(x);
		imap_session_reply(s, "OK", NULL, x->uid ?
		    "UID THREAD completed" : "THREAD completed");
	}
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	sort_ctx_free(x);
	imap_session_resume(s, IMAP_CMD_DONE);
}

/* --- Parsing --- */

static int
sort_fail(struct imap_parser *ps, const char *why)
{
	if (ps->error == NULL)
		ps->error = why;
	return -1;
}

static bool
sort_word_is(const struct imap_str *a, const char *w)
{
	return a->len == strlen(w) && strncasecmp(a->p, w, a->len) == 0;
}

/* sort-criteria = "(" sort-criterion *(SP sort-criterion) ")" */
static int
sort_parse_criteria(struct imap_parser *ps, struct sort_ctx *x)
{
	struct imap_str a;
	bool reverse;
	unsigned k;

	if (!imap_parse_peek(ps, '('))
		return sort_fail(ps, "Expected ( and sort criteria");
	ps->p++;
	for (;;) {
		if (imap_parse_atom(ps, &a) == -1)
			return -1;
		reverse = sort_word_is(&a, "REVERSE");
		if (reverse && (imap_parse_sp(ps) == -1 ||
		    imap_parse_atom(ps, &a) == -1))
			return -1;
		for (k = 0; k < SK_COUNT; k++)
			if (sort_word_is(&a, sort_keys[k].name))
				break;
		if (k == SK_COUNT)
			return sort_fail(ps, "Unknown sort criterion");
		if (x->ncrit == SORT_CRIT_MAX)
			return sort_fail(ps, "Too many sort criteria");
		x->crit[x->ncrit].key = k;
		x->crit[x->ncrit].reverse = reverse;
		x->ncrit++;
		if (sort_keys[k].kind == SORT_STR)
			x->strs_needed[k] = true;
		if (imap_parse_peek(ps, ')')) {
			ps->p++;
			return 0;
		}
		if (imap_parse_sp(ps) == -1)
			return -1;
	}
}

/* thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext */
static int
sort_parse_alg(struct imap_parser *ps, struct sort_ctx *x)
{
	struct imap_str a;

	if (imap_parse_atom(ps, &a) == -1)
		return -1;
	if (sort_word_is(&a, "ORDEREDSUBJECT"))
		x->alg = ALG_ORDEREDSUBJECT;
	else if (sort_word_is(&a, "REFERENCES"))
		x->alg = ALG_REFERENCES;
	else
		return sort_fail(ps, "Unknown threading algorithm");
	return 0;
}

/*
 * The arguments, in the order of RFC 5256 5 and RFC 5267 5:
 *   SORT [search-return-opts] SP sort-criteria SP charset 1*(SP key)
 *   THREAD SP thread-alg SP charset 1*(SP key)
 * are turned into those of SEARCH, " [RETURN (...) ]CHARSET charset
 * keys", in cmd (NUL-terminated), for imap_search_parse() to read.
 */
static int
sort_parse_head(struct imap_parser *ps, struct sort_ctx *x, struct buf *cmd)
{
	const uint8_t *ret = NULL, *ret_end = NULL, *e;
	struct imap_str cs;
	size_t i;

	if (imap_parse_sp(ps) == -1)
		return -1;
	if (x->alg == ALG_NONE && ps->end - ps->p > 7 &&
	    strncasecmp((const char *)ps->p, "RETURN ", 7) == 0) {
		/* Return options are atoms and ranges: no ")" inside. */
		ret = ps->p;
		for (e = ps->p; e < ps->end && *e != ')'; e++)
			;
		if (e == ps->end)
			return sort_fail(ps, "Missing ) after RETURN");
		ps->p += e - ps->p + 1;
		ret_end = ps->p;
		if (imap_parse_sp(ps) == -1)
			return -1;
	}
	if (x->alg == ALG_NONE ? sort_parse_criteria(ps, x) == -1 :
	    sort_parse_alg(ps, x) == -1)
		return -1;
	/* charset = atom / quoted */
	if (imap_parse_sp(ps) == -1 || imap_parse_astring(ps, &cs) == -1)
		return -1;
	for (i = 0; i < cs.len; i++)
		if (cs.p[i] == '"' || cs.p[i] == '\\' || (unsigned char)
		    cs.p[i] < 0x20 || (unsigned char)cs.p[i] >= 0x7f)
			break;
	if (cs.literal || cs.len == 0 || i < cs.len)
		return sort_fail(ps, "Invalid charset");
	if (!imap_parse_peek(ps, ' '))
		return sort_fail(ps, "Missing search criteria");
	buf_append(cmd, " ", 1);
	if (ret != NULL) {
		buf_append(cmd, ret, (size_t)(ret_end - ret));
		buf_append(cmd, " ", 1);
	}
	buf_append(cmd, "CHARSET \"", 9);
	buf_append(cmd, cs.p, cs.len);
	buf_append(cmd, "\"", 1);
	/* The keys as sent, literals and CRLF included. */
	buf_append(cmd, ps->p, (size_t)(ps->end - ps->p));
	return 0;
}

static enum imap_cmd_result
sort_run(struct imap_session *s, struct imap_parser *ps, bool uid,
    bool thread)
{
	struct sort_ctx *x;
	struct buf cmd = BUF_INIT;
	struct imap_parser sp;
	const char *why;
	bool want_record;
	unsigned i;

	x = xcalloc(1, sizeof(*x));
	x->s = s;
	x->uid = uid;
	x->alg = thread ? ALG_REFERENCES : ALG_NONE;
	imap_search_init(&x->q);
	if (sort_parse_head(ps, x, &cmd) == -1) {
		buf_clear(&cmd);
		sort_ctx_free(x);
		return imap_cmd_bad(s, ps);
	}
	/* The tree points into the command: keep it. */
	x->cmdbuf = xmalloc(cmd.len + 1);
	memcpy(x->cmdbuf, cmd.data, cmd.len);
	x->cmdbuf[cmd.len] = '\0';
	imap_parser_init(&sp, x->cmdbuf, cmd.len);
	buf_clear(&cmd);
	if (imap_search_parse(&sp, &x->q) == -1 ||
	    imap_parse_eol(&sp) == -1) {
		sort_ctx_free(x);
		return imap_cmd_bad(s, &sp);
	}
	if (!imap_search_charset_ok(&x->q)) {
		sort_ctx_free(x);
		imap_session_reply(s, "NO", "BADCHARSET (US-ASCII UTF-8)",
		    "Charset not supported");
		return IMAP_CMD_DONE;
	}
	want_record = thread;
	for (i = 0; i < x->ncrit; i++)
		if (x->crit[i].key != SK_ARRIVAL && x->crit[i].key != SK_SIZE)
			want_record = true;
	if ((x->eval = imap_search_eval_new(s, &x->q, want_record ?
	    IMAP_SEARCH_WANT_RECORD : IMAP_SEARCH_WANT_MSG,
	    sort_match, sort_done, x, &why)) == NULL) {
		sort_ctx_free(x);
		imap_session_reply(s, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	/* RFC 7162 3.1: a MODSEQ key turns CONDSTORE on. */
	if (imap_search_eval_has_modseq(x->eval))
		imap_view_condstore_enable(s);
	s->cmd_ctx = x;
	s->cmd_ctx_free = sort_ctx_free;
	imap_search_eval_start(x->eval);
	return IMAP_CMD_WAIT;
}

enum imap_cmd_result
imap_cmd_sort(struct imap_session *s, struct imap_parser *ps)
{
	return sort_run(s, ps, false, false);
}

enum imap_cmd_result
imap_cmd_uid_sort(struct imap_session *s, struct imap_parser *ps)
{
	return sort_run(s, ps, true, false);
}

enum imap_cmd_result
imap_cmd_thread(struct imap_session *s, struct imap_parser *ps)
{
	return sort_run(s, ps, false, true);
}

enum imap_cmd_result
imap_cmd_uid_thread(struct imap_session *s, struct imap_parser *ps)
{
	return sort_run(s, ps, true, true);
}
