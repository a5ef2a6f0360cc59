/* SPDX-License-Identifier: ISC */
/*
 * fuzz_imap_notify.c: libFuzzer target for the arguments of NOTIFY (RFC
 * 5465 8, workers/imapd/imap_notify_parse.c).  Each input is what follows
 * "NOTIFY " on a command line (the target adds the SP and the CRLF) and
 * is parsed twice: with mailbox names in modified UTF-7 and in UTF-8
 * (UTF8=ACCEPT), through the same imap_mbox_name_decode() the server
 * uses.  FETCH's parser (imap_fetch_parse.c) needs a whole session, so the
 * fetch attributes of MessageNew go to a stand-in that takes a balanced
 * list without control characters.
 *
 * What must hold:
 * - a parse that fails says why (ps.error) and leaves nothing behind;
 * - a parse that succeeds stays within the bounds of imap_notify_parse.h
 *   (groups, names, fetch attributes) and holds only known events;
 * - what succeeds without breaking a rule (bad NULL) has a written form
 *   (canonical case, names as the server writes them) that parses again
 *   to the same request, with no unknown event left;
 * - nothing crashes, leaks or reads past the input.
 */
/* fuzz-deps: workers/imapd/imap_notify_parse.c workers/imapd/imap_mbox.c workers/imapd/imap_mutf7.c workers/imapd/imap_parse.c */
#include "buf.h"
#include "workers/imapd/imap_mbox.h"
#include "workers/imapd/imap_notify_parse.h"
#include "workers/imapd/imap_parse.h"
#include "workers/imapd/imap_session.h"

#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* imap_mbox.c asks imapd for the store channel; none here. */
struct ipc_chan *imapd_store(void);
struct ipc_chan *
imapd_store(void)
{
	return NULL;
}

#define FZ_ALL_EVENTS	(IMAP_NE_MESSAGE | IMAP_NE_NAME | \
			IMAP_NE_SUBSCRIBE | IMAP_NE_MBOXMETA | IMAP_NE_SRVMETA)

static const char *const fz_event_names[] = {
	"MessageNew", "MessageExpunge", "FlagChange", "MailboxName",
	"SubscriptionChange", "MailboxMetadataChange", "ServerMetadataChange"
};

static const char *const fz_filter_names[] = {
	"INBOXES", "PERSONAL", "SUBSCRIBED", "SUBTREE", "MAILBOXES"
};

static char *
fz_name_decode(void *arg, const void *p, size_t len)
{
	const char *why;

	return imap_mbox_name_decode(arg, p, len, false, &why);
}

/*
 * FETCH's parser takes no control character and wants the list closed
 * by its last byte (a NUL in the attributes cuts them short).
 */
static int
fz_fetch_check(void *arg, const char *att, const char **why)
{
	size_t i, depth = 0;

	(void)arg;
	*why = "Invalid fetch attributes";
	if (att[0] != '(')
		return -1;
	for (i = 0; att[i] != '\0'; i++) {
		if ((unsigned char)att[i] < 0x20 || att[i] == 0x7f)
			return -1;
		if (att[i] == '(')
			depth++;
		else if (att[i] == ')' && (depth == 0 ||
		    (--depth == 0 && att[i + 1] != '\0')))
			return -1;
	}
	return depth == 0 ? 0 : -1;
}

/* An exact-size copy of " " text "\r\n", so that reads past it show. */
static uint8_t *
fz_line(const uint8_t *text, size_t size, size_t *len)
{
	uint8_t *p;

	*len = size + 3;
	if ((p = malloc(*len)) == NULL)
		abort();
	p[0] = ' ';
	if (size > 0)
		memcpy(p + 1, text, size);
	memcpy(p + 1 + size, "\r\n", 2);
	return p;
}

static int
fz_parse(struct imap_session *s, const uint8_t *text, size_t size,
    struct imap_notify_args *na)
{
	struct imap_notify_parse_ops ops;
	struct imap_parser ps;
	uint8_t *line;
	size_t len;
	int rc;

	ops.name_decode = fz_name_decode;
	ops.fetch_check = fz_fetch_check;
	ops.arg = s;
	line = fz_line(text, size, &len);
	imap_parser_init(&ps, line, len);
	rc = imap_notify_parse(&ps, &ops, na);
	if (rc == -1 && (ps.error == NULL || na->set.ngroups != 0 ||
	    na->set.groups != NULL || na->set.fetch_att != NULL ||
	    na->set.sel_set))
		abort();
	free(line);
	return rc;
}

/* The bounds of a parsed request. */
static void
fz_check(const struct imap_notify_args *na)
{
	const struct imap_notify_set *set = &na->set;
	const struct imap_notify_group *g;
	size_t i, j, len;

	if (na->none && (set->sel_set || set->ngroups != 0 || na->status))
		abort();
	if (set->ngroups > IMAP_NOTIFY_GROUPS_MAX ||
	    (set->ngroups == 0) != (set->groups == NULL))
		abort();
	if ((set->sel_events & ~FZ_ALL_EVENTS) != 0 ||
	    (!set->sel_set && (set->sel_events != 0 || set->sel_delayed)))
		abort();
	if (set->fetch_att != NULL) {
		len = strlen(set->fetch_att);
		if (len < 2 || len > IMAP_NOTIFY_FETCH_ATT_MAX ||
		    set->fetch_att[0] != '(' ||
		    set->fetch_att[len - 1] != ')' ||
		    (set->sel_events & IMAP_NE_NEW) == 0)
			abort();
	}
	if (na->bad == NULL && (set->sel_events & ~IMAP_NE_MESSAGE) != 0)
		abort();
	for (i = 0; i < set->ngroups; i++) {
		g = &set->groups[i];
		if ((g->events & ~FZ_ALL_EVENTS) != 0 ||
		    g->nnames > IMAP_NOTIFY_NAMES_MAX ||
		    (g->filter != IMAP_NF_SUBTREE &&
		    g->filter != IMAP_NF_MAILBOXES && g->nnames != 0))
			abort();
		for (j = 0; j < g->nnames; j++)
			if (g->names[j] == NULL || g->names[j][0] == '\0' ||
			    strlen(g->names[j]) > IMAP_MBOX_NAME_MAX)
				abort();
	}
}

static void
fz_write_events(struct buf *out, unsigned ev, const char *att)
{
	size_t i, k = 0;

	if (ev == 0) {
		buf_printf(out, "NONE");
		return;
	}
	buf_printf(out, "(");
	for (i = 0; i < sizeof(fz_event_names) / sizeof(*fz_event_names);
	    i++) {
		if ((ev & (1u << i)) == 0)
			continue;
		buf_printf(out, "%s%s", k++ > 0 ? " " : "", fz_event_names[i]);
		if (i == 0 && att != NULL)
			buf_printf(out, " %s", att);
	}
	buf_printf(out, ")");
}

/*
 * The written form of a request.  A group whose names were all dropped
 * gets "*", which no mailbox can be named, so that it is dropped again.
 */
static void
fz_write(const struct imap_session *s, const struct imap_notify_args *na,
    struct buf *out)
{
	const struct imap_notify_set *set = &na->set;
	const struct imap_notify_group *g;
	size_t i, j;

	if (na->none) {
		buf_printf(out, "NONE");
		return;
	}
	buf_printf(out, "SET%s", na->status ? " STATUS" : "");
	if (set->sel_set) {
		buf_printf(out, " (%s ", set->sel_delayed ?
		    "SELECTED-DELAYED" : "SELECTED");
		fz_write_events(out, set->sel_events, set->fetch_att);
		buf_printf(out, ")");
	}
	for (i = 0; i < set->ngroups; i++) {
		g = &set->groups[i];
		buf_printf(out, " (%s ", fz_filter_names[g->filter]);
		if (g->filter == IMAP_NF_SUBTREE ||
		    g->filter == IMAP_NF_MAILBOXES) {
			buf_printf(out, "(");
			for (j = 0; j < g->nnames; j++) {
				if (j > 0)
					buf_printf(out, " ");
				imap_mbox_name_write(s, out, g->names[j]);
			}
			if (g->nnames == 0)
				buf_printf(out, "\"*\"");
			buf_printf(out, ") ");
		}
		fz_write_events(out, g->events, NULL);
		buf_printf(out, ")");
	}
}

static bool
fz_str_eq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
fz_same(const struct imap_notify_args *a, const struct imap_notify_args *b)
{
	const struct imap_notify_set *x = &a->set, *y = &b->set;
	size_t i, j;

	if (a->none != b->none || a->status != b->status ||
	    x->sel_set != y->sel_set || x->sel_delayed != y->sel_delayed ||
	    x->sel_events != y->sel_events ||
	    !fz_str_eq(x->fetch_att, y->fetch_att) ||
	    x->ngroups != y->ngroups)
		return false;
	for (i = 0; i < x->ngroups; i++) {
		if (x->groups[i].filter != y->groups[i].filter ||
		    x->groups[i].events != y->groups[i].events ||
		    x->groups[i].nnames != y->groups[i].nnames)
			return false;
		for (j = 0; j < x->groups[i].nnames; j++)
			if (strcmp(x->groups[i].names[j],
			    y->groups[i].names[j]) != 0)
				return false;
	}
	return true;
}

static void
fz_one(struct imap_session *s, const uint8_t *data, size_t size)
{
	struct imap_notify_args na, again;
	struct buf out = BUF_INIT;

	if (fz_parse(s, data, size, &na) == -1)
		return;
	fz_check(&na);
	if (na.bad == NULL) {
		fz_write(s, &na, &out);
		if (fz_parse(s, out.data, out.len, &again) == -1)
			abort();
		fz_check(&again);
		if (again.bad != NULL || again.badevent ||
		    !fz_same(&na, &again))
			abort();
		imap_notify_set_clear(&again.set);
	}
	imap_notify_set_clear(&na.set);
	buf_clear(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_session s;

	memset(&s, 0, sizeof(s));
	fz_one(&s, data, size);
	s.enabled = IMAP_ENABLED_UTF8;
	fz_one(&s, data, size);
	return 0;
}
