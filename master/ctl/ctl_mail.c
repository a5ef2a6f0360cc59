/* SPDX-License-Identifier: ISC */
/*
 * ctl_mail.c: what bulwarkctl(8) shows of an account's mail.  Mailbox and
 * message listings are tables: a header line, then one line per row in
 * columns padded to the widest cell, numbers on the right, the one column
 * that may hold spaces (a mailbox name, a subject) last, so that a human
 * reads them and a script splits each line on white space a fixed number
 * of times.  Nothing from the store reaches the terminal raw: control
 * bytes are shown as '?'.  A message's bytes are fetched in slices with
 * MESSAGE_GET (at most 512 KiB each, one frame per slice) and written out
 * exactly as stored.
 */
#include "ctl.h"
#include "compat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CTL_COLS	8	/* columns of the widest table */

struct ctl_col {
	const char	*head;
	bool		 right;		/* numbers: padded on the left */
	char		 space;		/* what a space is shown as */
};

/* One cell: bytes from the reply, or text made in the row's buffer. */
struct ctl_cell {
	const char	*p;
	size_t		 len;
};

struct ctl_row {
	struct ctl_cell	 cell[CTL_COLS];
	char		 num[CTL_COLS][32];
};

/*
 * A table's source: reset() starts again at the first row, next() fills
 * the cells of the following one.  Lists are read with iterators, so rows
 * come strictly in order.
 */
struct ctl_table {
	const struct ctl_col	*cols;
	int			 ncols;
	uint32_t		 nrows;
	void			 (*reset)(void *arg);
	void			 (*next)(void *arg, uint32_t i,
				    struct ctl_row *row);
	void			*arg;
};

static void
ctl_cell_str(struct ctl_cell *c, const char *s)
{
	c->p = s;
	c->len = strlen(s);
}

/* An empty value is shown as "-", so that every column has a word. */
static void
ctl_cell_word(struct ctl_cell *c, const char *s)
{
	ctl_cell_str(c, s != NULL && s[0] != '\0' ? s : "-");
}

static void
ctl_cell_u64(struct ctl_row *row, int col, uint64_t v)
{
	snprintf(row->num[col], sizeof(row->num[col]), "%llu",
	    (unsigned long long)v);
	ctl_cell_str(&row->cell[col], row->num[col]);
}

/* Seconds since the epoch as ISO 8601 in UTC; the number if out of range. */
static void
ctl_cell_time(struct ctl_row *row, int col, uint64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t > (uint64_t)INT64_MAX || gmtime_r(&tt, &tm) == NULL ||
	    strftime(row->num[col], sizeof(row->num[col]),
	    "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		ctl_cell_u64(row, col, t);
		return;
	}
	ctl_cell_str(&row->cell[col], row->num[col]);
}

/* Columns on a terminal: UTF-8 continuation bytes take none. */
static size_t
ctl_cell_width(const struct ctl_cell *c)
{
	size_t i, w = 0;

	for (i = 0; i < c->len; i++)
		if (((unsigned char)c->p[i] & 0xc0) != 0x80)
			w++;
	return w;
}

static void
ctl_cell_put(FILE *fp, const struct ctl_cell *c, char space)
{
	unsigned char ch;
	size_t i;

	for (i = 0; i < c->len; i++) {
		ch = (unsigned char)c->p[i];
		if (ch < 0x20 || ch == 0x7f)
			ch = '?';
		else if (ch == ' ')
			ch = (unsigned char)space;
		fputc(ch, fp);
	}
}

static void
ctl_pad(FILE *fp, size_t n)
{
	while (n-- > 0)
		fputc(' ', fp);
}

/* Writes one line; the last column is neither padded nor aligned. */
static void
ctl_table_line(FILE *fp, const struct ctl_table *t, const struct ctl_row *row,
    const size_t *width)
{
	const struct ctl_col *col;
	size_t w;
	int i;

	for (i = 0; i < t->ncols; i++) {
		col = &t->cols[i];
		w = ctl_cell_width(&row->cell[i]);
		if (i == t->ncols - 1) {
			ctl_cell_put(fp, &row->cell[i], col->space);
			break;
		}
		if (col->right)
			ctl_pad(fp, width[i] - w);
		ctl_cell_put(fp, &row->cell[i], col->space);
		if (!col->right)
			ctl_pad(fp, width[i] - w);
		fputs("  ", fp);
	}
	fputc('\n', fp);
}

/* Two passes over the rows: the widths, then the lines. */
static void
ctl_table_print(FILE *fp, const struct ctl_table *t)
{
	struct ctl_row row;
	size_t width[CTL_COLS], w;
	uint32_t r;
	int i;

	memset(&row, 0, sizeof(row));
	for (i = 0; i < t->ncols; i++) {
		ctl_cell_str(&row.cell[i], t->cols[i].head);
		width[i] = ctl_cell_width(&row.cell[i]);
	}
	t->reset(t->arg);
	for (r = 0; r < t->nrows; r++) {
		t->next(t->arg, r, &row);
		for (i = 0; i < t->ncols; i++)
			if ((w = ctl_cell_width(&row.cell[i])) > width[i])
				width[i] = w;
	}
	for (i = 0; i < t->ncols; i++)
		ctl_cell_str(&row.cell[i], t->cols[i].head);
	ctl_table_line(fp, t, &row, width);
	t->reset(t->arg);
	for (r = 0; r < t->nrows; r++) {
		t->next(t->arg, r, &row);
		ctl_table_line(fp, t, &row, width);
	}
}

/* --- mailbox list --- */

static const struct ctl_col ctl_mailbox_cols[] = {
	{ "ID", true, ' ' },
	{ "ROLE", false, '_' },
	{ "TOTAL", true, ' ' },
	{ "UNREAD", true, ' ' },
	{ "UIDVALIDITY", true, ' ' },
	{ "UIDNEXT", true, ' ' },
	{ "HIGHESTMODSEQ", true, ' ' },
	{ "NAME", false, ' ' },
};

struct ctl_mailbox_rows {
	const struct ipc_MAILBOX_LIST_rep	*r;
	struct wire_iter			 names, roles;
};

static void
ctl_mailbox_reset(void *arg)
{
	struct ctl_mailbox_rows *m = arg;

	wire_strlist_iter(&m->r->names, &m->names);
	wire_strlist_iter(&m->r->roles, &m->roles);
}

static void
ctl_mailbox_next(void *arg, uint32_t i, struct ctl_row *row)
{
	struct ctl_mailbox_rows *m = arg;
	const struct ipc_MAILBOX_LIST_rep *r = m->r;

	ctl_cell_u64(row, 0, wire_u64list_get(&r->ids, i));
	ctl_cell_word(&row->cell[1], wire_strlist_next(&m->roles));
	ctl_cell_u64(row, 2, wire_u64list_get(&r->total, i));
	ctl_cell_u64(row, 3, wire_u64list_get(&r->unread, i));
	ctl_cell_u64(row, 4, wire_u64list_get(&r->uidvalidity, i));
	ctl_cell_u64(row, 5, wire_u64list_get(&r->uidnext, i));
	ctl_cell_u64(row, 6, wire_u64list_get(&r->highestmodseq, i));
	ctl_cell_word(&row->cell[7], wire_strlist_next(&m->names));
}

int
ctl_mailbox_print(FILE *fp, const struct ipc_MAILBOX_LIST_rep *r,
    const char **error_r)
{
	struct ctl_mailbox_rows m = { .r = r };
	struct ctl_table t = {
		.cols = ctl_mailbox_cols, .ncols = CTL_COLS,
		.nrows = r->names.count, .reset = ctl_mailbox_reset,
		.next = ctl_mailbox_next, .arg = &m,
	};
	uint32_t n = r->names.count;

	if (r->roles.count != n || r->ids.count != n || r->total.count != n ||
	    r->unread.count != n || r->uidvalidity.count != n ||
	    r->uidnext.count != n || r->highestmodseq.count != n) {
		*error_r = "malformed reply from the store (lists differ)";
		return -1;
	}
	ctl_table_print(fp, &t);
	return 0;
}

/* --- message list --- */

static const struct ctl_col ctl_message_cols[] = {
	{ "UID", true, ' ' },
	{ "EMAIL-ID", true, ' ' },
	{ "THREAD-ID", true, ' ' },
	{ "SIZE", true, ' ' },
	{ "RECEIVED", false, ' ' },
	{ "FLAGS", false, ',' },
	{ "FROM", false, '_' },
	{ "SUBJECT", false, ' ' },
};

struct ctl_message_rows {
	const struct ipc_MESSAGE_LIST_rep	*r;
	struct wire_iter			 flags, froms, subjects;
};

static void
ctl_message_reset(void *arg)
{
	struct ctl_message_rows *m = arg;

	wire_strlist_iter(&m->r->flags, &m->flags);
	wire_strlist_iter(&m->r->froms, &m->froms);
	wire_strlist_iter(&m->r->subjects, &m->subjects);
}

/*
 * A listing shows the address of "Name <addr>" (the name may hold
 * anything); a bare address is shown as it is.
 */
static void
ctl_cell_from(struct ctl_cell *c, const char *s)
{
	const char *lt, *gt;

	ctl_cell_word(c, s);
	if (s == NULL || (lt = strrchr(s, '<')) == NULL ||
	    (gt = strchr(lt, '>')) == NULL || gt == lt + 1)
		return;
	c->p = lt + 1;
	c->len = (size_t)(gt - lt - 1);
}

/* Flags as the store sends them, separated by spaces, shown with ','. */
static void
ctl_cell_flags(struct ctl_cell *c, const char *s)
{
	while (s != NULL && *s == ' ')
		s++;
	ctl_cell_word(c, s);
	while (c->len > 1 && c->p[c->len - 1] == ' ')
		c->len--;
}

static void
ctl_message_next(void *arg, uint32_t i, struct ctl_row *row)
{
	struct ctl_message_rows *m = arg;
	const struct ipc_MESSAGE_LIST_rep *r = m->r;
	const char *subject;

	ctl_cell_u64(row, 0, wire_u64list_get(&r->uids, i));
	ctl_cell_u64(row, 1, wire_u64list_get(&r->email_ids, i));
	ctl_cell_u64(row, 2, wire_u64list_get(&r->thread_ids, i));
	ctl_cell_u64(row, 3, wire_u64list_get(&r->sizes, i));
	ctl_cell_time(row, 4, wire_u64list_get(&r->received, i));
	ctl_cell_flags(&row->cell[5], wire_strlist_next(&m->flags));
	ctl_cell_from(&row->cell[6], wire_strlist_next(&m->froms));
	/* The last column may be empty: nothing follows it. */
	subject = wire_strlist_next(&m->subjects);
	ctl_cell_str(&row->cell[7], subject != NULL ? subject : "");
}

int
ctl_message_print(FILE *fp, const struct ipc_MESSAGE_LIST_rep *r,
    const char **error_r)
{
	struct ctl_message_rows m = { .r = r };
	struct ctl_table t = {
		.cols = ctl_message_cols, .ncols = CTL_COLS,
		.nrows = r->uids.count, .reset = ctl_message_reset,
		.next = ctl_message_next, .arg = &m,
	};
	uint32_t n = r->uids.count;

	if (r->email_ids.count != n || r->thread_ids.count != n ||
	    r->sizes.count != n || r->received.count != n ||
	    r->modseqs.count != n || r->flags.count != n ||
	    r->froms.count != n || r->subjects.count != n) {
		*error_r = "malformed reply from the store (lists differ)";
		return -1;
	}
	ctl_table_print(fp, &t);
	return 0;
}

/* --- message show --- */

/* Checks one slice against what came before; returns NULL if it fits. */
static const char *
ctl_slice_check(const struct ipc_MESSAGE_GET_rep *g, uint64_t offset,
    uint64_t total)
{
	if (g->total != total)
		return "the message changed while it was read";
	if (g->data.len > CTL_SLICE_MAX)
		return "malformed reply from the store (slice too large)";
	if (g->data.len > total - offset)
		return "malformed reply from the store (slice past the end)";
	if (g->data.len == 0 && offset < total)
		return "malformed reply from the store (empty slice)";
	return NULL;
}

int
ctl_message_fetch(struct ctl_conn *c, const char *account,
    const char *mailbox, uint32_t uid, FILE *out, enum ipc_status *st_r,
    const char **text_r, const char **error_r)
{
	struct ipc_MESSAGE_GET_req req = {
		.account = account, .mailbox = mailbox, .uid = uid,
		.offset = 0,
	};
	union ipc_msg_any rep;
	const struct ipc_MESSAGE_GET_rep *g = &rep.MESSAGE_GET_rep;
	uint64_t total = 0;
	const char *bad;

	for (;;) {
		if (ctl_call(c, IPC_T_MESSAGE_GET, &req, &rep, st_r, text_r,
		    error_r) == -1)
			return -1;
		if (*st_r != IPC_S_OK)
			return 0;
		if (req.offset == 0)
			total = g->total;
		if ((bad = ctl_slice_check(g, req.offset, total)) != NULL) {
			*error_r = bad;
			return -1;
		}
		if (g->data.len > 0 &&
		    fwrite(g->data.p, 1, g->data.len, out) != g->data.len) {
			*error_r = strerror(errno);
			return -1;
		}
		req.offset += g->data.len;
		if (req.offset == total)
			return 0;
	}
}
