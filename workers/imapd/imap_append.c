/* SPDX-License-Identifier: ISC */
/*
 * imap_append.c: APPEND (RFC 9051 6.3.12) with MULTIAPPEND (RFC 3502),
 * UIDPLUS's APPENDUID (RFC 4315), APPENDLIMIT (RFC 7889), literal8
 * messages (RFC 3516) and the UTF8 data item of UTF8=ACCEPT (RFC 6855 4).
 *
 * A message literal never enters the command buffer: the session diverts
 * it (imap_reader_literal_divert) into one memfd per command as it
 * arrives, so memory stays small whatever the message size.  When the
 * command is complete each message is parsed once (lib/mime) into its
 * record (lib/msgrec), and the memfd goes to storaged with MSG_APPEND,
 * which stores all the messages or none and replies once they are
 * durable.
 *
 * Lines of a message end in CRLF (RFC 9051 2.2, RFC 5322 2.1), and the
 * store keeps them so (lmtpd normalises DATA the same way): a message
 * literal with a bare LF or a bare CR, such as a Unix file that curl -T
 * sends as it is, is stored with CRLF instead, so that FETCH never sends
 * bare line ends and RFC822.SIZE counts what FETCH sends.  A literal8
 * (RFC 3516 4.4) is binary and is stored as sent, unless it holds NUL,
 * which FETCH could not send: then each body part with NUL is stored
 * base64-encoded (lib/mime_binary.h), and FETCH BINARY decodes it again;
 * a NUL no encoding can hold (in a header) is refused with UNKNOWN-CTE.
 */
#include "imap_append.h"
#include "compat.h"
#include "conn.h"
#include "imap_cmd.h"
#include "imap_cmd_notify.h"
#include "imap_date.h"
#include "imap_mbox.h"
#include "imap_resp.h"
#include "imap_seqset.h"
#include "imap_view.h"
#include "imapd.h"
#include "ipc.h"
#include "mime.h"
#include "mime_binary.h"
#include "msgrec.h"
#include "wire.h"
#include "xmalloc.h"

#include <sys/mman.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* What storaged's reply and request can carry. */
#define APPEND_RECORDS_MAX	(900u * 1024)

struct imap_append_sink {
	int		 fd;		/* memfd, -1 before the first */
	uint64_t	 total;		/* bytes written */
	uint64_t	 sizes[IMAP_APPEND_MAX_MESSAGES];
	uint32_t	 n;		/* messages announced */
	uint64_t	 left;		/* bytes of the current one to come */
	bool		 failed;	/* a write failed: the command fails */
};

struct append_ctx {
	struct imap_session	*s;
	struct imap_mbox_req	 mreq;
	char			*cname;
	struct imap_append_sink	*sink;
	struct buf		 records;
	uint64_t		 rec_lens[IMAP_APPEND_MAX_MESSAGES];
	uint64_t		 flags[IMAP_APPEND_MAX_MESSAGES];
	char			*keywords[IMAP_APPEND_MAX_MESSAGES];
	uint64_t		 received[IMAP_APPEND_MAX_MESSAGES];
	bool			 binary[IMAP_APPEND_MAX_MESSAGES];
	uint32_t		 n;
	uint32_t		 mailbox_id;
};

void
imap_append_discard(struct imap_session *s)
{
	struct imap_append_sink *k = s->append;

	s->append = NULL;
	if (k == NULL)
		return;
	if (k->fd != -1)
		close(k->fd);
	free(k);
}

/*
 * Whether the literal announced in the command so far (len bytes of buf)
 * is a message: every literal of APPEND except a mailbox name right after
 * the command name.
 */
bool
imap_append_is_message(const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf, *e = buf + len;

	/* tag SP "APPEND" SP and then the literal header. */
	while (p < e && *p != ' ')
		p++;
	if (p == e || ++p == e)
		return true;
	while (p < e && *p != ' ')
		p++;
	if (p == e || ++p == e)
		return true;
	return !(*p == '{' || (*p == '~' && p + 1 < e && p[1] == '{'));
}

int
imap_append_divert(struct imap_session *s, uint64_t size, const char **why)
{
	struct imap_append_sink *k = s->append;

	if (size > IMAP_APPEND_LIMIT) {
		*why = "Message too large";
		return -1;
	}
	if (k == NULL) {
		k = s->append = xcalloc(1, sizeof(*k));
		k->fd = -1;
	}
	if (k->n == IMAP_APPEND_MAX_MESSAGES ||
	    k->total + size > IMAP_APPEND_TOTAL_MAX) {
		*why = "Too many or too large messages in one APPEND";
		return -1;
	}
	if (k->fd == -1 && (k->fd = memfd_create("imap-append",
	    MFD_CLOEXEC)) == -1) {
		imap_session_log(s, "memfd_create: %s", strerror(errno));
		*why = "Cannot take the message now";
		return -1;
	}
	k->sizes[k->n++] = size;
	k->left = size;
	return 0;
}

void
imap_append_sink(struct imap_session *s, const uint8_t *p, size_t len)
{
	struct imap_append_sink *k = s->append;
	ssize_t w;

	if (k == NULL)
		return;
	while (len > 0 && !k->failed) {
		w = pwrite(k->fd, p, len, (off_t)k->total);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			imap_session_log(s, "append spool: %s",
			    strerror(errno));
			k->failed = true;
			break;
		}
		k->total += (uint64_t)w;
		k->left -= (uint64_t)w;
		p += w;
		len -= (size_t)w;
	}
}

static void
append_ctx_free(void *arg)
{
	struct append_ctx *x = arg;
	uint32_t i;

	if (x == NULL)
		return;
	for (i = 0; i < x->n; i++)
		free(x->keywords[i]);
	free(x->cname);
	buf_clear(&x->records);
	if (x->sink != NULL) {
		if (x->sink->fd != -1)
			close(x->sink->fd);
		free(x->sink);
	}
	free(x);
}

static void
append_end(struct imap_session *s, const char *cond, const char *code,
    const char *text)
{
	struct append_ctx *x = s->cmd_ctx;

	imap_session_reply(s, cond, code, text);
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	append_ctx_free(x);
	imap_session_resume(s, IMAP_CMD_DONE);
}

static void
append_reply_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_APPEND_rep *r = rep;
	struct imap_session *s = arg;
	struct append_ctx *x = s->cmd_ctx;
	struct imap_seqset set;
	struct buf code = BUF_INIT;
	const char *why;
	uint32_t i, uid;
	bool selected;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		append_end(s, "NO", st == IPC_S_QUOTA ? "OVERQUOTA" :
		    st == IPC_S_TOOBIG ? "TOOBIG" : st == IPC_S_UNAVAIL ?
		    "UNAVAILABLE" : st == IPC_S_NOTFOUND ? "TRYCREATE" :
		    st == IPC_S_LIMIT ? "LIMIT" : "CANNOT",
		    text != NULL && text[0] != '\0' ? text : "APPEND failed");
		return;
	}
	imap_seqset_init(&set);
	for (i = 0; i < r->uids.len / 4; i++) {
		uid = imap_view_vec_get(r->uids.p, i);
		imap_seqset_add(&set, uid, uid);
	}
	if (imap_seqset_resolve(&set, 1, &why) == 0 &&
	    imap_seqset_count(&set) > 0) {
		buf_printf(&code, "APPENDUID %u ", r->uidvalidity);
		imap_seqset_write(&set, &code);
		buf_append(&code, "", 1);
	}
	imap_seqset_clear(&set);
	selected = s->view != NULL && s->view->mailbox_id == x->mailbox_id;
	if (selected)
		imap_notify_own_new(s, r->uids.p, r->uids.len / 4);
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	append_ctx_free(x);
	/* Into the selected mailbox: EXISTS before the tagged OK. */
	if (selected)
		imap_view_reply_synced(s, "OK", code.len > 0 ?
		    (const char *)code.data : NULL, "APPEND completed");
	else {
		imap_session_reply(s, "OK", code.len > 0 ?
		    (const char *)code.data : NULL, "APPEND completed");
		imap_session_resume(s, IMAP_CMD_DONE);
	}
	buf_clear(&code);
}

/* Points l at n values encoded big-endian into store. */
static void
append_u64list(struct wire_u64list *l, struct buf *store, const uint64_t *v,
    uint32_t n)
{
	uint8_t b[8];
	uint32_t i;

	for (i = 0; i < n; i++) {
		wire_be64_put(b, v[i]);
		buf_append(store, b, sizeof(b));
	}
	l->count = n;
	l->p = store->data;
}

static void
append_found(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg)
{
	struct append_ctx *x = arg;
	struct ipc_MSG_APPEND_req req;
	struct ipc_chan *store;
	struct buf kw = BUF_INIT, lists[4] = { BUF_INIT, BUF_INIT, BUF_INIT,
	    BUF_INIT };
	uint32_t i;
	int fd;

	(void)l;
	if (st != IPC_S_OK) {
		append_end(s, "NO", "UNAVAILABLE", "Cannot list mailboxes");
		return;
	}
	if (mb == NULL) {
		append_end(s, "NO", "TRYCREATE", "No such mailbox");
		return;
	}
	if ((store = imapd_store()) == NULL) {
		append_end(s, "NO", "UNAVAILABLE", "Store unavailable, try "
		    "again");
		return;
	}
	/* The spool goes to storaged (ipc_request_fd takes it). */
	fd = x->sink->fd;
	x->sink->fd = -1;
	x->mailbox_id = mb->id;
	memset(&req, 0, sizeof(req));
	req.mailbox_id = mb->id;
	append_u64list(&req.sizes, &lists[0], x->sink->sizes, x->n);
	append_u64list(&req.flags, &lists[1], x->flags, x->n);
	append_u64list(&req.received, &lists[2], x->received, x->n);
	append_u64list(&req.record_lens, &lists[3], x->rec_lens, x->n);
	for (i = 0; i < x->n; i++)
		wire_strlist_add(&kw, x->keywords[i]);
	req.keywords.count = x->n;
	req.keywords.p = kw.data;
	req.keywords.len = kw.len;
	req.records.p = x->records.data;
	req.records.len = (uint32_t)x->records.len;
	s->req_id = ipc_request_fd(store, IPC_T_MSG_APPEND, conn_id(s->conn),
	    &req, fd, append_reply_cb, s);
	buf_clear(&kw);
	for (i = 0; i < 4; i++)
		buf_clear(&lists[i]);
}

/* literal header as left in the command: ["~"] "{" number ["+"] "}" CRLF */
static int
append_parse_literal(struct imap_parser *ps, uint64_t *n, bool *binary)
{
	uint64_t v = 0;

	*binary = imap_parse_peek(ps, '~');
	if (*binary)
		ps->p++;
	if (!imap_parse_peek(ps, '{')) {
		ps->error = "Expected the message literal";
		return -1;
	}
	ps->p++;
	while (ps->p < ps->end && isdigit(*ps->p))
		v = v * 10 + (uint64_t)(*ps->p++ - '0');
	if (imap_parse_peek(ps, '+'))
		ps->p++;
	if (!imap_parse_peek(ps, '}')) {
		ps->error = "Invalid literal";
		return -1;
	}
	ps->p++;
	if (imap_parse_peek(ps, '\r'))
		ps->p++;
	if (!imap_parse_peek(ps, '\n')) {
		ps->error = "Invalid literal";
		return -1;
	}
	ps->p++;
	*n = v;
	return 0;
}

/*
 * append-data = literal / literal8 / utf8-literal, where RFC 6855 4 adds
 * utf8-literal = "UTF8" SP "(" literal8 ")" for a session that enabled
 * UTF8=ACCEPT (a message with UTF-8 headers); BAD for the others.
 */
static int
append_parse_data(struct imap_session *s, struct imap_parser *ps,
    uint64_t *n, bool *binary)
{
	if (ps->end - ps->p < 6 || strncasecmp((const char *)ps->p, "UTF8 (",
	    6) != 0)
		return append_parse_literal(ps, n, binary);
	if ((s->enabled & IMAP_ENABLED_UTF8) == 0) {
		ps->error = "UTF8 needs ENABLE UTF8=ACCEPT";
		return -1;
	}
	ps->p += 6;
	if (append_parse_literal(ps, n, binary) == -1)
		return -1;
	if (!*binary) {
		ps->error = "UTF8 takes a literal8";
		return -1;
	}
	if (!imap_parse_peek(ps, ')')) {
		ps->error = "Expected \")\" after the UTF8 literal";
		return -1;
	}
	ps->p++;
	return 0;
}

/* Whether n bytes at p have a line end other than CRLF. */
static bool
append_has_bare_eol(const uint8_t *p, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n')
			return true;
		if (p[i] == '\r') {
			if (i + 1 == n || p[i + 1] != '\n')
				return true;
			i++;
		}
	}
	return false;
}

/* Writes len bytes at p to fd at *off; -1 on failure. */
static int
append_write(int fd, const uint8_t *p, size_t len, uint64_t *off)
{
	ssize_t w;

	while (len > 0) {
		w = pwrite(fd, p, len, (off_t)*off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		*off += (uint64_t)w;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * Writes n bytes at p to fd at *off with every line end (CRLF, bare LF,
 * bare CR) as CRLF; -1 on failure.
 */
static int
append_write_crlf(int fd, const uint8_t *p, uint64_t n, uint64_t *off)
{
	struct buf b = BUF_INIT;
	uint64_t i = 0, j;
	int rv = 0;

	while (i < n && rv == 0) {
		for (j = i; j < n && p[j] != '\r' && p[j] != '\n'; j++)
			;
		buf_append(&b, p + i, (size_t)(j - i));
		if (j < n) {
			if (p[j] == '\r' && j + 1 < n && p[j + 1] == '\n')
				j++;
			buf_append(&b, "\r\n", 2);
			j++;
		}
		i = j;
		if (b.len >= 65536 || i == n) {
			rv = append_write(fd, b.data, b.len, off);
			buf_reset(&b);
		}
	}
	buf_clear(&b);
	return rv;
}

/* What a message needs before it is stored. */
enum append_fix {
	APPEND_FIX_NONE,
	APPEND_FIX_CRLF,	/* a literal with other line ends */
	APPEND_FIX_BINARY	/* a literal8 with NUL */
};

static enum append_fix
append_fix_of(const struct append_ctx *x, uint32_t i, const uint8_t *p,
    uint64_t n)
{
	if (!x->binary[i])
		return append_has_bare_eol(p, n) ? APPEND_FIX_CRLF :
		    APPEND_FIX_NONE;
	return memchr(p, '\0', (size_t)n) != NULL ? APPEND_FIX_BINARY :
	    APPEND_FIX_NONE;
}

/*
 * Writes message i (n bytes at p) to fd at *off as it is to be stored.
 * Returns 0, or -1 with *code and *why.
 */
static int
append_write_fixed(struct append_ctx *x, uint32_t i, const uint8_t *p,
    uint64_t n, int fd, uint64_t *off, const char **code, const char **why)
{
	struct buf b = BUF_INIT;
	int rv;

	switch (append_fix_of(x, i, p, n)) {
	case APPEND_FIX_CRLF:
		rv = append_write_crlf(fd, p, n, off);
		break;
	case APPEND_FIX_BINARY:
		if (mime_binary_encode(p, (size_t)n, &b) !=
		    MIME_BINARY_ENCODED) {
			buf_clear(&b);
			*code = "UNKNOWN-CTE";
			*why = "NUL outside a body part that can be encoded";
			return -1;
		}
		rv = append_write(fd, b.data, b.len, off);
		buf_clear(&b);
		break;
	default:
		rv = append_write(fd, p, (size_t)n, off);
		break;
	}
	if (rv == -1) {
		imap_session_log(x->s, "append spool: %s", strerror(errno));
		*code = "SERVERBUG";
		*why = "Cannot spool the message";
	}
	return rv;
}

/*
 * Replaces the spool by one where every message is as it is to be stored
 * (append_fix_of: CRLF line ends, binary parts encoded), if any needs it,
 * and updates the sizes; *map (the old spool's mapping) becomes the new
 * one's.  0, or -1 with *code and *why.
 */
static int
append_normalise(struct append_ctx *x, uint8_t **map, const char **code,
    const char **why)
{
	struct imap_append_sink *k = x->sink;
	uint64_t off = 0, out = 0, start;
	bool any = false;
	uint32_t i;
	int fd;

	for (i = 0; i < x->n && !any; i++) {
		any = append_fix_of(x, i, *map + off, k->sizes[i]) !=
		    APPEND_FIX_NONE;
		off += k->sizes[i];
	}
	if (!any)
		return 0;
	*code = "SERVERBUG";
	if ((fd = memfd_create("imap-append", MFD_CLOEXEC)) == -1) {
		imap_session_log(x->s, "memfd_create: %s", strerror(errno));
		*why = "Cannot take the message now";
		return -1;
	}
	for (i = 0, off = 0; i < x->n; i++) {
		start = out;
		if (append_write_fixed(x, i, *map + off, k->sizes[i], fd, &out,
		    code, why) == -1) {
			close(fd);
			return -1;
		}
		off += k->sizes[i];
		k->sizes[i] = out - start;
		if (k->sizes[i] > IMAP_APPEND_LIMIT) {
			close(fd);
			*code = "TOOBIG";
			*why = "Message too large once encoded";
			return -1;
		}
	}
	munmap(*map, (size_t)k->total);
	close(k->fd);
	k->fd = fd;
	k->total = out;
	if ((*map = mmap(NULL, (size_t)k->total, PROT_READ, MAP_PRIVATE,
	    k->fd, 0)) == MAP_FAILED) {
		*map = NULL;
		*code = "SERVERBUG";
		*why = "Cannot read the message";
		return -1;
	}
	return 0;
}

/*
 * Normalises the messages, then parses each one and appends its record;
 * false on failure, with the tagged NO's *code and *why.
 */
static bool
append_records(struct append_ctx *x, const char **code, const char **why)
{
	struct imap_append_sink *k = x->sink;
	struct mime_msg *msg;
	uint8_t *map = NULL;
	uint64_t off = 0;
	size_t before;
	uint32_t i;

	*code = "LIMIT";
	if (k->total > 0 && (map = mmap(NULL, (size_t)k->total, PROT_READ,
	    MAP_PRIVATE, k->fd, 0)) == MAP_FAILED) {
		*code = "SERVERBUG";
		*why = "Cannot read the message";
		return false;
	}
	if (map != NULL && append_normalise(x, &map, code, why) == -1) {
		if (map != NULL)
			munmap(map, (size_t)k->total);
		return false;
	}
	for (i = 0; i < x->n; i++) {
		if ((msg = mime_parse(map + off, (size_t)k->sizes[i])) ==
		    NULL) {
			*why = "Out of memory";
			break;
		}
		before = x->records.len;
		msgrec_encode(msg, 0, &x->records);
		mime_msg_free(&msg);
		x->rec_lens[i] = x->records.len - before;
		off += k->sizes[i];
		if (x->records.len > APPEND_RECORDS_MAX) {
			*why = "Too many messages in one APPEND";
			break;
		}
	}
	if (map != NULL)
		munmap(map, (size_t)k->total);
	return i == x->n;
}

enum imap_cmd_result
imap_cmd_append(struct imap_session *s, struct imap_parser *ps)
{
	struct append_ctx *x;
	struct imap_str name;
	struct buf kw = BUF_INIT;
	const char *why, *code;
	uint64_t size;
	int64_t t;
	int zone;

	x = xcalloc(1, sizeof(*x));
	x->s = s;
	x->sink = s->append;
	s->append = NULL;
	if (imap_parse_sp(ps) == -1 || imap_parse_astring(ps, &name) == -1)
		goto bad;
	/* 1*(SP [flag-list SP] [date-time SP] literal) */
	do {
		if (imap_parse_sp(ps) == -1)
			goto bad;
		if (x->n == IMAP_APPEND_MAX_MESSAGES || x->sink == NULL ||
		    x->n >= x->sink->n) {
			ps->error = "Expected a message literal";
			goto bad;
		}
		buf_reset(&kw);
		if (imap_parse_peek(ps, '(')) {
			if (imap_parse_flag_list(ps, &x->flags[x->n], &kw) ==
			    -1 || imap_parse_sp(ps) == -1)
				goto bad;
		}
		buf_append(&kw, "", 1);
		x->keywords[x->n] = xstrdup((const char *)kw.data);
		x->received[x->n] = (uint64_t)time(NULL);
		if (imap_parse_peek(ps, '"')) {
			if (imap_date_parse_datetime(ps, &t, &zone) == -1 ||
			    imap_parse_sp(ps) == -1)
				goto bad_n;
			x->received[x->n] = t > 0 ? (uint64_t)t : 0;
		}
		if (append_parse_data(s, ps, &size, &x->binary[x->n]) == -1)
			goto bad_n;
		if (size != x->sink->sizes[x->n]) {
			ps->error = "Literal does not match";
			goto bad_n;
		}
		x->n++;
	} while (!imap_parse_at_eol(ps));
	if (imap_parse_eol(ps) == -1)
		goto bad;
	buf_clear(&kw);
	s->cmd_ctx = x;
	s->cmd_ctx_free = append_ctx_free;
	if (x->sink->failed) {
		append_end(s, "NO", "SERVERBUG", "Cannot spool the message");
		return IMAP_CMD_WAIT;
	}
	for (uint32_t i = 0; i < x->n; i++)
		if (x->sink->sizes[i] == 0) {
			append_end(s, "NO", "CANNOT", "Empty message");
			return IMAP_CMD_WAIT;
		}
	if ((x->cname = imap_mbox_name_decode(s, name.p, name.len, false,
	    &why)) == NULL) {
		append_end(s, "NO", "CANNOT", why);
		return IMAP_CMD_WAIT;
	}
	if (!append_records(x, &code, &why)) {
		append_end(s, "NO", code, why);
		return IMAP_CMD_WAIT;
	}
	(void)imap_mbox_lookup(s, &x->mreq, x->cname, append_found, x);
	return IMAP_CMD_WAIT;
bad_n:
	free(x->keywords[x->n]);
	x->keywords[x->n] = NULL;
bad:
	buf_clear(&kw);
	append_ctx_free(x);
	return imap_cmd_bad(s, ps);
}
