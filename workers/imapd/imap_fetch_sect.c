/* SPDX-License-Identifier: ISC */
/*
 * imap_fetch_sect.c: a message's sections (BODY[...], BINARY[...],
 * BINARY.SIZE[...], RFC 9051 6.4.5 and RFC 3516): the part a section
 * names, the bytes it sends, and the writing of them, streamed from
 * MSG_BODY slices or a descriptor of the message (imap_fetch_int.h).
 */
#include "imap_fetch_int.h"
#include "imap_view.h"
#include "imapd.h"
#include "ipc.h"
#include "mime.h"
#include "mime_binary.h"


#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Index of the children of part p, in order: the k-th (1-based) or NONE. */
static uint32_t
fetch_child(const struct msgrec *r, uint32_t p, uint32_t k)
{
	uint32_t i, n = 0;

	for (i = p + 1; i < r->nparts; i++)
		if (r->parts[i].parent == p && ++n == k)
			return i;
	return MSGREC_NONE;
}

static bool
fetch_is(const struct msgrec_part *pt, const char *type, const char *sub)
{
	return pt->type != NULL && strcmp(pt->type, type) == 0 &&
	    (sub == NULL || (pt->subtype != NULL &&
	    strcmp(pt->subtype, sub) == 0));
}

static bool
fetch_is_msg(const struct msgrec_part *pt)
{
	return fetch_is(pt, "message", "rfc822") ||
	    fetch_is(pt, "message", "global");
}

/*
 * The part a section path names (RFC 9051 6.4.5): numbers count the
 * children of a multipart; inside a message/rfc822 they count its
 * message's parts; part 1 of a single-part message is its body.
 */
uint32_t
imap_fetch_resolve(const struct msgrec *r, const struct fetch_sect *fs)
{
	uint32_t node = 0, m;
	size_t i;

	/*
	 * Before the first number node is the message itself; after it, a
	 * part (part 1 of a single-part message is part 0 too, so the test
	 * is on i, not on node).
	 */
	for (i = 0; i < fs->npath; i++) {
		m = node;
		if (i > 0 && fetch_is_msg(&r->parts[node])) {
			if ((m = fetch_child(r, node, 1)) == MSGREC_NONE)
				return MSGREC_NONE;
		} else if (i > 0 && !fetch_is(&r->parts[node],
		    "multipart", NULL))
			return MSGREC_NONE;
		if (fetch_is(&r->parts[m], "multipart", NULL))
			node = fetch_child(r, m, fs->path[i]);
		else if (fs->path[i] == 1)
			node = m;
		else
			node = MSGREC_NONE;
		if (node == MSGREC_NONE)
			return MSGREC_NONE;
	}
	return node;
}

/*
 * The bytes [*off, *end) of section fs of the message; false if the
 * section does not exist (NIL).
 */
bool
imap_fetch_range(const struct fetch_ctx *x, const struct imap_msg *m,
    const struct fetch_sect *fs, uint64_t *off, uint64_t *end)
{
	const struct msgrec *r = &x->rec;
	const struct msgrec_part *pt;
	uint32_t node, enc;

	if (fs->npath == 0 && fs->text == FT_ALL) {
		*off = 0;
		*end = m->size;
		return true;
	}
	if ((node = imap_fetch_resolve(r, fs)) == MSGREC_NONE)
		return false;
	pt = &r->parts[node];
	switch (fs->text) {
	case FT_ALL:
		/* BINARY of a multipart needs its boundary (see below). */
		*off = fs->kind != FS_BODY && fetch_is(pt, "multipart", NULL) ?
		    pt->hdr_off : pt->body_off;
		*end = pt->body_end;
		return true;
	case FT_MIME:
		*off = pt->hdr_off;
		*end = pt->body_off;
		return true;
	default:
		break;
	}
	/* HEADER, TEXT, HEADER.FIELDS of a message or an rfc822 part. */
	if (fs->npath > 0) {
		if (!fetch_is_msg(pt) ||
		    (enc = fetch_child(r, node, 1)) == MSGREC_NONE)
			return false;
		pt = &r->parts[enc];
	}
	if (fs->text == FT_TEXT) {
		*off = pt->body_off;
		*end = pt->body_end;
	} else {
		*off = pt->hdr_off;
		*end = pt->body_off;
	}
	return true;
}

/* Whether header field name (len bytes) is in fs's list. */
static bool
fetch_field_listed(const struct fetch_sect *fs, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < fs->nfields; i++)
		if (strlen(fs->fields[i]) == len &&
		    strncasecmp(fs->fields[i], name, len) == 0)
			return true;
	return false;
}

/*
 * HEADER.FIELDS [.NOT]: the fields of header hdr kept (or dropped), each
 * with its continuation lines, then the blank line (RFC 9051 6.4.5).
 */
static void
fetch_filter_header(const struct fetch_sect *fs, const uint8_t *hdr,
    size_t len, struct buf *out)
{
	const uint8_t *p = hdr, *e = hdr + len, *nl, *colon, *fstart;
	bool keep = false;

	while (p < e) {
		nl = memchr(p, '\n', (size_t)(e - p));
		nl = nl == NULL ? e : nl + 1;
		/* The blank line ends the header. */
		if (p[0] == '\n' || (p[0] == '\r' && p + 1 < e &&
		    p[1] == '\n'))
			break;
		if (p[0] != ' ' && p[0] != '\t') {
			colon = memchr(p, ':', (size_t)(nl - p));
			fstart = p;
			if (colon == NULL)
				keep = false;
			else {
				while (colon > fstart && (colon[-1] == ' ' ||
				    colon[-1] == '\t'))
					colon--;
				keep = fetch_field_listed(fs,
				    (const char *)fstart,
				    (size_t)(colon - fstart));
				if (fs->text == FT_FIELDS_NOT)
					keep = !keep;
			}
		}
		if (keep)
			buf_append(out, p, (size_t)(nl - p));
		p = nl;
	}
	buf_append(out, "\r\n", 2);
}

/* Writes `name {len}CRLF` or `name ~{len}CRLF` and applies partial. */
static void
fetch_item_name(struct fetch_ctx *x, const struct fetch_sect *fs)
{
	buf_printf(x->s->out, "%s%s ", x->any ? " " : "", fs->name);
	x->any = true;
}

static void
fetch_literal_head(struct fetch_ctx *x, const struct fetch_sect *fs,
    uint64_t len)
{
	struct buf *out = x->s->out;

	if (x->any)
		buf_append(out, " ", 1);
	buf_append(out, fs->name, strlen(fs->name));
	buf_append(out, fs->kind == FS_BINARY ? " ~{" : " {", fs->kind ==
	    FS_BINARY ? 3 : 2);
	buf_put_u64(out, len);
	buf_append(out, "}\r\n", 3);
	x->any = true;
}

/* The partial range <o.n> applied to [0, len). */
void
imap_fetch_partial(const struct fetch_sect *fs, uint64_t len, uint64_t *o,
    uint64_t *n)
{
	*o = 0;
	*n = len;
	if (!fs->partial)
		return;
	*o = fs->poff < len ? fs->poff : len;
	*n = len - *o < fs->plen ? len - *o : fs->plen;
}

static void
fetch_sect_drained(struct imap_session *s)
{
	imap_fetch_next_sect(s->cmd_ctx);
}

/*
 * Serves [off, end) from the copy of a large message (imap_fetch_prefetch()),
 * a slice at a time, waiting for the client when the output is high
 * (true: the section goes on from the drain callback).
 */
static bool
fetch_read_file(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct buf *dst;
	size_t want;
	ssize_t n;

	while (x->off < x->end) {
		if (!x->buffered) {
			/* In clear, straight from the copy to the socket. */
			conn_flush(s->conn);
			(void)conn_sendfile(s->conn, x->pre_fd, &x->off,
			    x->end - x->off);
			if (x->off >= x->end)
				break;
		}
		dst = x->buffered ? &x->tmp : s->out;
		want = x->end - x->off > FETCH_SLICE ? FETCH_SLICE :
		    (size_t)(x->end - x->off);
		buf_reserve(dst, want);
		n = pread(x->pre_fd, buf_tail(dst), want, (off_t)x->off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			imap_fetch_abort(x, IPC_S_INTERNAL,
			    "short message copy");
			return true;
		}
		buf_commit(dst, (size_t)n);
		x->off += (uint64_t)n;
		if (x->buffered)
			continue;
		conn_flush(s->conn);
		if (x->off < x->end &&
		    conn_out_pending(s->conn) > FETCH_OUT_HIGH) {
			s->drain_fn = fetch_sect_drained;
			return true;
		}
	}
	return false;
}

static void
fetch_body_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_BODY_rep *r = rep;
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		imap_fetch_abort(x, st, text);
		return;
	}
	if (r->data.len == 0 || r->data.len > x->end - x->off) {
		imap_fetch_abort(x, IPC_S_INTERNAL, "short message body");
		return;
	}
	buf_append(x->buffered ? &x->tmp : s->out, r->data.p, r->data.len);
	x->off += r->data.len;
	if (!x->buffered)
		conn_flush(s->conn);
	imap_fetch_next_sect(x);
}

/* Asks the next slice of [off, end), or goes on when it is all read. */
static bool
fetch_read_more(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct imap_msg *m = &x->msgs[x->cur];
	struct ipc_MSG_BODY_req req;
	struct ipc_chan *store;

	if (x->off >= x->end)
		return false;
	if (x->pre_fd != -1)
		return fetch_read_file(x);
	if (x->mem_len > 0 && x->off >= x->mem_off &&
	    x->off < x->mem_off + x->mem_len) {
		/* From the bytes read before the response began. */
		uint64_t stop = x->mem_off + x->mem_len;

		if (stop > x->end)
			stop = x->end;
		buf_append(x->buffered ? &x->tmp : s->out, x->mem +
		    (x->off - x->mem_off), (size_t)(stop - x->off));
		x->off = stop;
		/* Gathered with the responses around it when it is small. */
		if (!x->buffered && s->out->len >= FETCH_FLUSH_AT)
			conn_flush(s->conn);
		if (x->off >= x->end)
			return false;
	}
	if ((store = imapd_store()) == NULL) {
		imap_fetch_abort(x, IPC_S_UNAVAIL, "store gone");
		return true;
	}
	req.mailbox_id = s->view->mailbox_id;
	req.uid = m->uid;
	req.offset = x->off;
	req.length = x->end - x->off > FETCH_SLICE ? FETCH_SLICE :
	    (uint32_t)(x->end - x->off);
	conn_flush(s->conn);	/* what is written leaves while it waits */
	s->req_id = ipc_request(store, IPC_T_MSG_BODY, conn_id(s->conn), &req,
	    fetch_body_cb, s);
	return true;
}

/*
 * BINARY and BINARY.SIZE of the whole message, or of a part that holds
 * others (RFC 9051 6.4.5 asks them of leaves only; Dovecot answers these
 * too, and imaptest expects it): the entity with each leaf in base64 or
 * quoted-printable decoded (mime_binary_decode).  Whether fs (resolved to
 * node) is one; *skip is the header imap_fetch_range read with a multipart
 * part (its boundary is needed) that the answer leaves out.
 */
bool
imap_fetch_binary_whole(const struct fetch_ctx *x, const struct fetch_sect *fs,
    uint32_t node, uint64_t *skip)
{
	const struct msgrec_part *pt;

	*skip = 0;
	if (fs->kind == FS_BODY)
		return false;
	if (fs->npath == 0)
		return true;
	if (node == MSGREC_NONE)
		return false;
	pt = &x->rec.parts[node];
	if (fetch_is(pt, "multipart", NULL)) {
		*skip = pt->body_off - pt->hdr_off;
		return true;
	}
	return fetch_is_msg(pt);
}

/* Writes a section that was read into tmp (filtered or decoded). */
static void
fetch_write_buffered(struct fetch_ctx *x, const struct fetch_sect *fs,
    uint32_t node)
{
	struct buf b = BUF_INIT;
	uint64_t o, n, skip = 0;
	const char *enc;

	if (imap_fetch_binary_whole(x, fs, node, &skip))
		(void)mime_binary_decode(x->tmp.data, x->tmp.len, &b);
	else if (fs->kind == FS_BINARY) {
		enc = x->rec.parts[node].encoding;
		mime_body_decode(enc, x->tmp.data, x->tmp.len, &b);
	} else
		fetch_filter_header(fs, x->tmp.data, x->tmp.len, &b);
	if (skip > b.len)
		skip = b.len;
	if (fs->kind == FS_BINARY_SIZE) {
		fetch_item_name(x, fs);
		buf_printf(x->s->out, "%llu",
		    (unsigned long long)(b.len - skip));
	} else {
		imap_fetch_partial(fs, b.len - skip, &o, &n);
		fetch_literal_head(x, fs, n);
		buf_append(x->s->out, b.data + skip + o, (size_t)n);
	}
	buf_clear(&b);
	buf_reset(&x->tmp);
}

/* Whether BINARY can decode the part's transfer encoding. */
bool
imap_fetch_known_cte(const char *enc)
{
	return enc == NULL || strcmp(enc, "7bit") == 0 ||
	    strcmp(enc, "8bit") == 0 || strcmp(enc, "binary") == 0 ||
	    strcmp(enc, "base64") == 0 ||
	    strcmp(enc, "quoted-printable") == 0;
}

/*
 * Runs the sections of the current message from x->si on; each either
 * writes at once or starts reading and comes back here from fetch_body_cb.
 */
void
imap_fetch_next_sect(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct imap_msg *m = &x->msgs[x->cur];
	struct fetch_sect *fs;
	uint64_t off, end, o, n;
	uint32_t node;
	bool whole;

	for (; x->si < x->nsect; x->si++) {
		fs = &x->sect[x->si];
		if (x->end > 0 || x->off > 0) {
			/* Coming back from reading. */
			if (fetch_read_more(x))
				return;
			node = imap_fetch_resolve(&x->rec, fs);
			if (x->buffered)
				fetch_write_buffered(x, fs, node);
			x->off = x->end = 0;
			x->buffered = false;
			continue;
		}
		if (!imap_fetch_range(x, m, fs, &off, &end) || end < off ||
		    end > m->size) {
			fetch_item_name(x, fs);
				buf_append(s->out, "NIL", 3);
			continue;
		}
		node = imap_fetch_resolve(&x->rec, fs);
		whole = imap_fetch_binary_whole(x, fs, node, &o);
		if (!whole && fs->kind != FS_BODY) {
			const struct msgrec_part *pt = &x->rec.parts[node ==
			    MSGREC_NONE ? 0 : node];

			if (node == MSGREC_NONE) {
				fetch_item_name(x, fs);
				buf_append(s->out, "NIL", 3);
				continue;
			}
			if (!imap_fetch_known_cte(pt->encoding)) {
				x->fail_code = "UNKNOWN-CTE";
				x->fail_text = "Cannot decode the part's "
				    "Content-Transfer-Encoding";
				fetch_item_name(x, fs);
				buf_append(s->out, "NIL", 3);
				continue;
			}
			if (fs->kind == FS_BINARY_SIZE) {
				fetch_item_name(x, fs);
				buf_printf(s->out, "%llu",
				    (unsigned long long)pt->decoded_size);
				continue;
			}
		}
		/* Whole ones are converted by fetch_write_buffered. */
		if (whole || fs->kind == FS_BINARY || fs->text == FT_FIELDS ||
		    fs->text == FT_FIELDS_NOT) {
			if (end - off > FETCH_BUFFERED_MAX) {
				fetch_item_name(x, fs);
				buf_append(s->out, "NIL", 3);
				continue;
			}
			x->buffered = true;
			x->off = off;
			x->end = end;
		} else {
			imap_fetch_partial(fs, end - off, &o, &n);
			fetch_literal_head(x, fs, n);
			x->off = off + o;
			x->end = off + o + n;
			if (n == 0) {
				x->off = x->end = 0;
				continue;
			}
		}
		if (x->off == x->end) {
			/* An empty buffered section. */
			if (x->buffered)
				fetch_write_buffered(x, fs, node);
			x->off = x->end = 0;
			x->buffered = false;
			continue;
		}
		if (fetch_read_more(x))
			return;
		/* All of it was read before the response began. */
		if (x->buffered)
			fetch_write_buffered(x, fs, node);
		x->off = x->end = 0;
		x->buffered = false;
	}
	buf_append(s->out, ")\r\n", 3);
	x->st_ok = false;
	if (x->rec_open) {
		msgrec_close(&x->rec);
		x->rec_open = false;
	}
	buf_reset(&x->pre);
	x->mem = NULL;
	x->mem_len = 0;
	if (x->pre_fd != -1) {
		close(x->pre_fd);
		x->pre_fd = -1;
	}
	x->cur++;
	x->si = 0;
	/*
	 * Small responses are gathered into one send(2); they leave when
	 * enough are written, and before each wait for storaged.
	 */
	if (conn_out(s->conn)->len >= FETCH_FLUSH_AT)
		conn_flush(s->conn);
	if (conn_out_pending(s->conn) > FETCH_OUT_HIGH) {
		s->drain_fn = imap_fetch_drained;
		return;
	}
	imap_fetch_next_msg(x);
}
