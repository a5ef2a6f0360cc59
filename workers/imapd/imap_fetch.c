/* SPDX-License-Identifier: ISC */
/*
 * imap_fetch.c: FETCH and UID FETCH (see imap_fetch.h): the items parsed
 * (imap_fetch_parse.c), then per chunk of messages MSG_FETCH (and
 * MSG_STORE for \Seen), then per message its response, with sections
 * streamed from MSG_BODY slices (or, for a big message, from a descriptor
 * of the store's file of it, MSG_FILE, or of a copy storaged wrote into a
 * memfd, MSG_BODY_FILE) by imap_fetch_sect.c.
 */
#include "imap_fetch.h"
#include "imap_fetch_int.h"
#include "imap_cmd.h"
#include "imap_date.h"
#include "imap_view.h"
#include "imapd.h"
#include "ipc.h"
#include "mailflags.h"
#include "msgrec.h"
#include "objid.h"
#include "wire.h"
#include "xmalloc.h"

#include <sys/mman.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void	fetch_next_chunk(struct fetch_ctx *);

/* --- Parsing --- */

static void
fetch_ctx_free(void *arg)
{
	struct fetch_ctx *x = arg;
	size_t i;

	if (x == NULL)
		return;
	imap_fetch_items_clear(x);
	for (i = 0; i < x->nmsgs; i++)
		imap_msg_clear(&x->msgs[i]);
	free(x->msgs);
	if (x->ahead_id != 0 && imapd_store() != NULL)
		ipc_cancel(imapd_store(), x->ahead_id);
	for (i = 0; i < x->nnext; i++)
		imap_msg_clear(&x->next[i]);
	free(x->next);
	buf_clear(&x->recs);
	buf_clear(&x->next_recs);
	buf_clear(&x->bodies);
	buf_clear(&x->next_bodies);
	buf_clear(&x->sitems);
	buf_clear(&x->next_sitems);
	free(x->uids);
	imap_seqset_clear(&x->set);
	if (x->rec_open)
		msgrec_close(&x->rec);
	buf_clear(&x->tmp);
	buf_clear(&x->pre);
	buf_clear(&x->seen_vec);
	if (x->pre_fd != -1)
		close(x->pre_fd);
	free(x);
}

/* --- Answering --- */

static void
fetch_finish(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	void (*notify_done)(struct imap_session *) = x->notify_done;

	if (notify_done == NULL)
		imap_view_write_held_modseq(s);
	if (notify_done == NULL && x->fail_code != NULL)
		imap_session_reply(s, "NO", x->fail_code, x->fail_text);
	else if (notify_done == NULL)
		imap_session_reply(s, "OK", x->ok_code, x->uid_cmd ?
		    "UID FETCH completed" : "FETCH completed");
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	fetch_ctx_free(x);
	if (notify_done != NULL)
		notify_done(s);
	else
		imap_session_resume(s, IMAP_CMD_DONE);
}

/* A store failure in the middle of a response: the stream is broken. */
void
imap_fetch_abort(struct fetch_ctx *x, enum ipc_status st, const char *text)
{
	struct imap_session *s = x->s;
	void (*notify_done)(struct imap_session *) = x->notify_done;

	imap_session_log(s, "fetch failed: %s: %s", ipc_status_name(st),
	    text != NULL ? text : "");
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	fetch_ctx_free(x);
	imap_session_close(s, "store-error");
	if (notify_done != NULL)
		notify_done(s);
	else
		imap_session_resume(s, IMAP_CMD_WAIT);
}

void
imap_fetch_drained(struct imap_session *s)
{
	imap_fetch_next_msg(s->cmd_ctx);
}

/* The items that need no message bytes. */
static void
fetch_write_simple(struct fetch_ctx *x, struct imap_msg *m)
{
	struct buf *out = x->s->out;
	char id[OBJID_MAX];
	const char *sep = "";

#define FETCH_SEP()	do { buf_append(out, sep, strlen(sep)); sep = " "; } \
	while (0)
	/*
	 * UID when asked, and with CONDSTORE on whenever \Seen was set
	 * (RFC 7162 3.2.4).
	 */
	if ((x->items & FI_UID) || x->uid_cmd || (m->show_flags &&
	    (x->s->enabled & (IMAP_ENABLED_CONDSTORE |
	    IMAP_ENABLED_QRESYNC)))) {
		FETCH_SEP();
		buf_append(out, "UID ", 4);
		buf_put_u64(out, m->uid);
	}
	if ((x->items & FI_FLAGS) || m->show_flags) {
		FETCH_SEP();
		buf_append(out, "FLAGS ", 6);
		imap_view_write_flags(out, m->flags,
		    imap_view_is_recent(x->s, m->uid), m->keywords);
	}
	if (x->items & FI_INTERNALDATE) {
		FETCH_SEP();
		buf_append(out, "INTERNALDATE ", 13);
		(void)imap_date_write_datetime(out, (int64_t)m->received, 0);
	}
	if (x->items & FI_SIZE) {
		FETCH_SEP();
		buf_append(out, "RFC822.SIZE ", 12);
		buf_put_u64(out, m->size);
	}
	if ((x->items & FI_MODSEQ) || ((x->s->enabled &
	    (IMAP_ENABLED_CONDSTORE | IMAP_ENABLED_QRESYNC)) &&
	    m->show_flags)) {
		FETCH_SEP();
		buf_append(out, "MODSEQ (", 8);
		buf_put_u64(out, m->modseq);
		buf_append(out, ")", 1);
	}
	if (x->items & FI_EMAILID) {
		FETCH_SEP();
		objid_format(id, OBJID_EMAIL, m->email);
		buf_printf(out, "EMAILID (%s)", id);
	}
	if (x->items & FI_THREADID) {
		FETCH_SEP();
		objid_format(id, OBJID_THREAD, m->thread);
		buf_printf(out, "THREADID (%s)", id);
	}
	if (x->items & FI_SAVEDATE) {
		FETCH_SEP();
		buf_append(out, "SAVEDATE ", 9);
		(void)imap_date_write_datetime(out, (int64_t)m->saved, 0);
	}
	if (x->st_ok) {
		if (x->items & FI_ENVELOPE) {
			FETCH_SEP();
			buf_append(out, "ENVELOPE ", 9);
			buf_append(out, x->st.envelope, x->st.envelope_len);
		}
		if (x->items & FI_BODYSTRUCT) {
			FETCH_SEP();
			buf_append(out, "BODYSTRUCTURE ", 14);
			buf_append(out, x->st.body, x->st.body_len);
		}
	} else if (x->rec_open) {
		if (x->items & FI_ENVELOPE) {
			FETCH_SEP();
			buf_append(out, "ENVELOPE ", 9);
			imap_struct_envelope(out, &x->rec, 0);
		}
		if (x->items & FI_BODY) {
			FETCH_SEP();
			buf_append(out, "BODY ", 5);
			imap_struct_bodystructure(out, &x->rec, 0, false);
		}
		if (x->items & FI_BODYSTRUCT) {
			FETCH_SEP();
			buf_append(out, "BODYSTRUCTURE ", 14);
			imap_struct_bodystructure(out, &x->rec, 0, true);
		}
		if (x->items & FI_PREVIEW) {
			FETCH_SEP();
			buf_append(out, "PREVIEW ", 8);
			imap_resp_nstring(out, x->rec.s.preview,
			    strlen(x->rec.s.preview),
			    (x->s->enabled & (IMAP_ENABLED_UTF8 |
			    IMAP_ENABLED_REV2)) ? IMAP_RESP_UTF8 : 0);
		}
	}
	x->any = sep[0] != '\0';
#undef FETCH_SEP
}

/*
 * The span of message m that its sections read, from the first byte any
 * of them reads to the last, as imap_fetch_next_sect() will ask them; false if
 * they need no bytes.
 */
static bool
fetch_read_span(struct fetch_ctx *x, struct imap_msg *m, uint64_t *roff,
    uint64_t *rend)
{
	const struct msgrec_part *pt;
	struct fetch_sect *fs;
	uint64_t off, end, o, n;
	uint32_t node;
	size_t i;
	bool any = false, whole;

#define SPAN(a, b) do {							\
	if (!any || (a) < *roff)					\
		*roff = (a);						\
	if (!any || (b) > *rend)					\
		*rend = (b);						\
	any = true;							\
} while (0)
	for (i = 0; i < x->nsect; i++) {
		fs = &x->sect[i];
		if (!imap_fetch_range(x, m, fs, &off, &end) || end < off ||
		    end > m->size)
			continue;
		node = imap_fetch_resolve(&x->rec, fs);
		whole = imap_fetch_binary_whole(x, fs, node, &o);
		if (!whole && fs->kind != FS_BODY) {
			pt = &x->rec.parts[node == MSGREC_NONE ? 0 : node];
			if (node == MSGREC_NONE ||
			    !imap_fetch_known_cte(pt->encoding) ||
			    fs->kind == FS_BINARY_SIZE)
				continue;
		}
		if (whole || fs->kind == FS_BINARY || fs->text == FT_FIELDS ||
		    fs->text == FT_FIELDS_NOT) {
			if (end - off > FETCH_BUFFERED_MAX || end == off)
				continue;
			SPAN(off, end);
			continue;
		}
		imap_fetch_partial(fs, end - off, &o, &n);
		if (n == 0)
			continue;
		SPAN(off + o, off + o + n);
	}
#undef SPAN
	return any;
}

static void
fetch_pre_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_BODY_rep *r = rep;
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (st == IPC_S_NOTFOUND) {
		/*
		 * Expunged by another session since this one saw it: nothing
		 * of its response is written yet, so it is left out and the
		 * tagged OK says so (RFC 9051 7.1, EXPUNGEISSUED).
		 */
		x->ok_code = "EXPUNGEISSUED";
		x->st_ok = false;
		if (x->rec_open) {
			msgrec_close(&x->rec);
			x->rec_open = false;
		}
		x->cur++;
		imap_fetch_next_msg(x);
		return;
	}
	if (st != IPC_S_OK) {
		imap_fetch_abort(x, st, text);
		return;
	}
	buf_reset(&x->pre);
	buf_append(&x->pre, r->data.p, r->data.len);
	x->mem = x->pre.data;
	x->mem_len = x->pre.len;
	x->mem_off = x->pre_off;
	x->pre_done = true;
	imap_fetch_next_msg(x);
}

/* The message is in hand as x->pre_fd: its response can begin. */
static void
fetch_pre_file_done(struct ipc_chan *c, struct fetch_ctx *x,
    enum ipc_status st, const char *text, uint64_t size)
{
	if (st == IPC_S_OK && size != x->msgs[x->cur].size) {
		st = IPC_S_INTERNAL;
		text = "message size changed";
	}
	if (st != IPC_S_OK) {
		if (x->pre_fd != -1)
			close(x->pre_fd);
		x->pre_fd = -1;
		/* Expunged or failed: as for a small message. */
		fetch_pre_cb(c, st, text, NULL, x->s);
		return;
	}
	buf_reset(&x->pre);
	x->pre_done = true;
	imap_fetch_next_msg(x);
}

static void
fetch_pre_copy_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_BODY_FILE_rep *r = rep;
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;
	int file_fd;

	s->req_id = 0;
	if (st == IPC_S_OK && (file_fd = ipc_chan_take_fd(c)) != -1) {
		/* The store's own file after all: served from there. */
		close(x->pre_fd);
		x->pre_fd = file_fd;
	}
	fetch_pre_file_done(c, x, st, text, st == IPC_S_OK ? r->size : 0);
}

/*
 * A big message kept in the store's database (not as a file) is copied
 * whole by storaged into a memfd of this session's before its response
 * starts: it is then served from there at the client's pace, and stays
 * whole even if another session expunges it meanwhile, which a response
 * of promised length could not survive otherwise.
 */
static void
fetch_pre_copy(struct ipc_chan *c, struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_BODY_FILE_req req;
	int fd, sent;

	if ((fd = memfd_create("fetch", MFD_CLOEXEC | MFD_ALLOW_SEALING)) ==
	    -1 || (sent = dup(fd)) == -1) {
		imap_session_log(s, "memfd: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		fetch_pre_file_done(c, x, IPC_S_INTERNAL, "no memory for "
		    "the message", 0);
		return;
	}
	x->pre_fd = fd;
	req.mailbox_id = s->view->mailbox_id;
	req.uid = x->msgs[x->cur].uid;
	s->req_id = ipc_request_fd(c, IPC_T_MSG_BODY_FILE, conn_id(s->conn),
	    &req, sent, fetch_pre_copy_cb, s);
}

static void
fetch_pre_file_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_FILE_rep *r = rep;
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;

	s->req_id = 0;
	if (st == IPC_S_OK && (x->pre_fd = ipc_chan_take_fd(c)) == -1) {
		fetch_pre_copy(c, x);
		return;
	}
	fetch_pre_file_done(c, x, st, text, st == IPC_S_OK ? r->size : 0);
}

/*
 * A message larger than a slice is served from a descriptor taken before
 * its response starts (true: on its way): the store's own file of it
 * (MSG_FILE), or a copy of it (fetch_pre_copy).  Either stays whole
 * whatever another session expunges meanwhile.
 */
static bool
fetch_prefetch_file(struct fetch_ctx *x, struct imap_msg *m)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_FILE_req req;
	struct ipc_chan *store;

	if ((store = imapd_store()) == NULL)
		return false;
	x->pre_fd = -1;
	conn_flush(s->conn);
	req.mailbox_id = s->view->mailbox_id;
	req.uid = m->uid;
	s->req_id = ipc_request(store, IPC_T_MSG_FILE, conn_id(s->conn),
	    &req, fetch_pre_file_cb, s);
	return true;
}

/*
 * Reads the first slice of the message's sections before anything of its
 * response is written (true: the read is on its way).  A message of up to
 * one slice is thus all in hand before its response starts, and one
 * expunged meanwhile can be left out cleanly.
 */
bool
imap_fetch_prefetch(struct fetch_ctx *x, struct imap_msg *m)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_BODY_req req;
	struct ipc_chan *store;
	uint64_t off = 0, end = 0;

	buf_reset(&x->pre);
	x->mem = NULL;
	x->mem_len = 0;
	if (m->has_body) {
		/* It came whole with the chunk. */
		x->mem = m->body;
		x->mem_len = m->bodylen;
		x->mem_off = 0;
		return false;
	}
	if (!fetch_read_span(x, m, &off, &end) ||
	    (store = imapd_store()) == NULL)
		return false;
	/*
	 * The sections span a big message's file: read through its
	 * descriptor (headers or a small part of a large message are read
	 * as a slice).
	 */
	if (end - off >= FETCH_FILE_AT && fetch_prefetch_file(x, m))
		return true;
	/*
	 * A small message is read whole.  Either way every section is then
	 * served from what was read before its response began, and nothing
	 * can go missing halfway through it when another session expunges
	 * the message.
	 */
	if (m->size < FETCH_FILE_AT) {
		off = 0;
		end = m->size;
	}
	x->pre_off = off;
	conn_flush(s->conn);
	req.mailbox_id = s->view->mailbox_id;
	req.uid = m->uid;
	req.offset = off;
	req.length = end - off > FETCH_SLICE ? FETCH_SLICE :
	    (uint32_t)(end - off);
	s->req_id = ipc_request(store, IPC_T_MSG_BODY, conn_id(s->conn), &req,
	    fetch_pre_cb, s);
	return true;
}

void
imap_fetch_next_msg(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct imap_msg *m;
	const char *why;

	while (x->cur < x->nmsgs) {
		m = &x->msgs[x->cur];
		if (x->changedsince > 0 && m->modseq <= x->changedsince) {
			x->cur++;
			continue;
		}
		if (m->items != NULL && !x->st_ok) {
			if (imap_struct_stored_read(m->items, m->itemslen,
			    &x->st) == -1) {
				imap_session_log(s, "bad stored items uid=%u",
				    m->uid);
				x->fail_code = "SERVERBUG";
				x->fail_text = "A message's record is damaged";
				x->cur++;
				continue;
			}
			x->st_ok = true;
		} else if (m->rec != NULL && !x->rec_open) {
			if (msgrec_open_stored(m->rec, m->reclen, m->size,
			    &x->rec, &why) == -1) {
				imap_session_log(s, "bad record uid=%u: %s",
				    m->uid, why);
				x->fail_code = "SERVERBUG";
				x->fail_text = "A message's record is damaged";
				x->cur++;
				continue;
			}
			x->rec_open = true;
		}
		if (!x->pre_done && imap_fetch_prefetch(x, m))
			return;
		x->pre_done = false;
		/*
		 * A keyword another session set since this one last heard
		 * of the mailbox: FLAGS lists it before a FETCH shows it
		 * (RFC 9051 7.3.5; imaptest checks it).
		 */
		if (((x->items & FI_FLAGS) || m->show_flags) &&
		    m->keywords != NULL && m->keywords[0] != '\0' &&
		    imap_view_add_keywords(s->view, m->keywords))
			imap_view_write_flag_lists(s, s->view);
		buf_append(s->out, "* ", 2);
		buf_put_u64(s->out, m->msn);
		buf_append(s->out, " FETCH (", 8);
		fetch_write_simple(x, m);
		x->si = 0;
		x->off = x->end = 0;
		imap_fetch_next_sect(x);
		return;
	}
	/* The chunk is done. */
	conn_flush(s->conn);
	for (x->cur = 0; x->cur < x->nmsgs; x->cur++)
		imap_msg_clear(&x->msgs[x->cur]);
	x->nmsgs = x->cur = 0;
	fetch_next_chunk(x);
}

static void	fetch_seen_send(struct fetch_ctx *);

static void
fetch_seen_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MSG_STORE_rep *r = rep;
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;
	struct wire_iter kit;
	const char *kw;
	uint32_t i, j, uid;

	(void)c;
	(void)text;
	s->req_id = 0;
	if (st == IPC_S_OK) {
		imap_view_own_hms(s->view, r->highestmodseq);
		wire_strlist_iter(&r->keywords, &kit);
		for (i = 0; i < r->changed.len / 4; i++) {
			uid = imap_view_vec_get(r->changed.p, i);
			kw = wire_strlist_next(&kit);
			for (j = 0; j < x->nmsgs; j++)
				if (x->msgs[j].uid == uid && i < r->flags.count) {
					x->msgs[j].flags = wire_u64list_get(
					    &r->flags, i);
					x->msgs[j].show_flags = true;
					if (i < r->modseqs.count) {
						x->msgs[j].modseq =
						    wire_u64list_get(&r->modseqs,
						    i);
						imap_view_own_change(s->view,
						    uid, x->msgs[j].modseq);
					}
					(void)kw;
				}
		}
		/* A reply covers what fits one frame: the rest next. */
		x->seen_at += r->done;
		if (r->done > 0 && x->seen_at < x->seen_vec.len / 4) {
			fetch_seen_send(x);
			return;
		}
	}
	/* Not being able to set \Seen does not stop the FETCH. */
	buf_clear(&x->seen_vec);
	imap_fetch_next_msg(x);
}

/* Asks for \Seen on the UIDs of seen_vec from seen_at on. */
static void
fetch_seen_send(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_STORE_req req;
	struct ipc_chan *store;

	if ((store = imapd_store()) == NULL) {
		buf_clear(&x->seen_vec);
		imap_fetch_next_msg(x);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.mailbox_id = s->view->mailbox_id;
	req.uids.p = x->seen_vec.data + (size_t)x->seen_at * 4;
	req.uids.len = (uint32_t)(x->seen_vec.len - (size_t)x->seen_at * 4);
	req.mode = 1;
	req.flags = MAIL_F_SEEN;
	req.keywords = "";
	s->req_id = ipc_request(store, IPC_T_MSG_STORE, conn_id(s->conn), &req,
	    fetch_seen_cb, s);
}

/* Sets \Seen on the chunk's unseen messages before answering. */
static void
fetch_set_seen(struct fetch_ctx *x)
{
	uint32_t i;

	buf_clear(&x->seen_vec);
	x->seen_at = 0;
	for (i = 0; i < x->nmsgs; i++)
		if ((x->msgs[i].flags & MAIL_F_SEEN) == 0)
			imap_view_vec_put(&x->seen_vec, x->msgs[i].uid);
	if (x->seen_vec.len == 0) {
		imap_fetch_next_msg(x);
		return;
	}
	fetch_seen_send(x);
}

/*
 * Takes a MSG_FETCH reply into *msgs (*nmsgs of them), moving x->pos on;
 * false (with x->fail_code and fail_text set) if it failed.
 */
static bool
fetch_take(struct fetch_ctx *x, enum ipc_status st, const char *text,
    const struct ipc_MSG_FETCH_rep *r, struct imap_msg **msgs,
    uint32_t *nmsgs, struct buf *recs, struct buf *bodies, struct buf *items)
{
	struct imap_session *s = x->s;
	struct imap_msg *v;
	struct wire_iter kit;
	uint64_t roff = 0, boff = 0, ioff = 0;
	uint32_t i, n, k = 0;
	int ok;

	*nmsgs = 0;
	if (st != IPC_S_OK) {
		x->fail_code = st == IPC_S_UNAVAIL ? "UNAVAILABLE" :
		    "SERVERBUG";
		x->fail_text = text != NULL ? text : "Cannot read messages";
		return false;
	}
	n = r->found.len / 4;
	if (r->done == 0 || r->done > x->nuids - x->pos ||
	    n > r->done) {
		x->fail_code = "SERVERBUG";
		x->fail_text = "Malformed reply from the store";
		return false;
	}
	x->pos += r->done;
	/* Asked and gone: expunged by another session meanwhile. */
	if (n < r->done)
		x->ok_code = "EXPUNGEISSUED";
	v = *msgs = xreallocarray(*msgs, n > 0 ? n : 1, sizeof(**msgs));
	/* Its messages are done with (imap_fetch_next_msg): reused. */
	buf_reset(recs);
	buf_append(recs, r->records.p, r->records.len);
	buf_reset(bodies);
	buf_append(bodies, r->bodies.p, r->bodies.len);
	buf_reset(items);
	buf_append(items, r->imap.p, r->imap.len);
	wire_strlist_iter(&r->keywords, &kit);
	for (i = 0; i < n; i++) {
		ok = imap_msg_take(&v[k], s->view, r, i,
		    wire_strlist_next(&kit), &roff, recs->data);
		if (ok >= 0 && (imap_msg_take_body(ok == 1 ? &v[k] : NULL, r, i,
		    &boff, bodies->data) == -1 || imap_msg_take_items(ok == 1 ?
		    &v[k] : NULL, r, i, &ioff, items->data) == -1)) {
			if (ok == 1)
				imap_msg_clear(&v[k]);
			ok = -1;
		}
		if (ok == 1)
			k++;
		else if (ok == -1) {
			for (i = 0; i < k; i++)
				imap_msg_clear(&v[i]);
			x->fail_code = "SERVERBUG";
			x->fail_text = "Malformed reply from the store";
			return false;
		}
		/* 0: expunged from the view meanwhile */
	}
	*nmsgs = k;
	return true;
}

static void	fetch_ahead(struct fetch_ctx *);

/* Answers the chunk in x->msgs, the next one read meanwhile. */
static void
fetch_chunk_begin(struct fetch_ctx *x)
{
	fetch_ahead(x);
	x->cur = 0;
	if (x->sets_seen && !x->s->view->readonly)
		fetch_set_seen(x);
	else
		imap_fetch_next_msg(x);
}

static void
fetch_meta_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (!fetch_take(x, st, text, rep, &x->msgs, &x->nmsgs,
	    &x->recs, &x->bodies, &x->sitems)) {
		fetch_finish(x);
		return;
	}
	fetch_chunk_begin(x);
}

static void
fetch_ahead_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	struct fetch_ctx *x = arg;

	(void)c;
	x->ahead_id = 0;
	x->ahead_ok = fetch_take(x, st, text, rep, &x->next, &x->nnext,
	    &x->next_recs, &x->next_bodies, &x->next_sitems);
	x->ahead_ready = true;
	if (x->ahead_wait) {
		x->ahead_wait = false;
		fetch_next_chunk(x);
	}
}

/* Whether a section needs the record (to find a part or the header). */
static bool
fetch_sects_need_record(const struct fetch_ctx *x)
{
	size_t i;

	for (i = 0; i < x->nsect; i++)
		if (x->sect[i].npath > 0 || x->sect[i].text != FT_ALL)
			return true;
	return false;
}

static bool
fetch_needs_record(const struct fetch_ctx *x)
{
	return (x->items & FI_RECORD) || fetch_sects_need_record(x);
}

/*
 * Whether the record's only use is ENVELOPE and BODYSTRUCTURE, which
 * storaged sends as it stored them (imap_struct.h), and the record only
 * for a message stored without them.
 */
static bool
fetch_stored_items(const struct fetch_ctx *x)
{
	return (x->items & (FI_ENVELOPE | FI_BODYSTRUCT)) != 0 &&
	    (x->items & FI_RECORD & ~(FI_ENVELOPE | FI_BODYSTRUCT)) == 0 &&
	    !fetch_sects_need_record(x);
}

/*
 * Whether the sections read most of a message (a whole part or its text):
 * then messages of up to a slice come whole with the chunk's data.
 */
static bool
fetch_wants_bodies(const struct fetch_ctx *x)
{
	size_t i;

	for (i = 0; i < x->nsect; i++)
		if (x->sect[i].kind == FS_BINARY ||
		    x->sect[i].text == FT_ALL || x->sect[i].text == FT_TEXT)
			return true;
	return false;
}

/* Asks the chunk from x->pos; returns the request id (0: store gone). */
static uint32_t
fetch_chunk_request(struct fetch_ctx *x, ipc_reply_cb *cb, void *arg)
{
	struct imap_session *s = x->s;
	struct ipc_MSG_FETCH_req req;
	struct ipc_chan *store;
	struct buf vec = BUF_INIT;
	uint32_t i, id;

	if ((store = imapd_store()) == NULL)
		return 0;
	for (i = x->pos; i < x->nuids && i - x->pos < FETCH_CHUNK; i++)
		imap_view_vec_put(&vec, x->uids[i]);
	memset(&req, 0, sizeof(req));
	req.mailbox_id = s->view->mailbox_id;
	req.uids.p = vec.data;
	req.uids.len = (uint32_t)vec.len;
	req.with_record = fetch_needs_record(x);
	req.imap_items = fetch_stored_items(x);
	req.body_max = fetch_wants_bodies(x) ? FETCH_FILE_AT - 1 : 0;
	id = ipc_request(store, IPC_T_MSG_FETCH, conn_id(s->conn), &req, cb,
	    arg);
	buf_clear(&vec);
	return id;
}

/*
 * Asks the next chunk while this one is answered, so that storaged reads
 * it while imapd writes (the view does not change during the command).
 */
static void
fetch_ahead(struct fetch_ctx *x)
{
	if (x->pos >= x->nuids || x->ahead_id != 0 || x->ahead_ready ||
	    imapd_store() == NULL)
		return;
	x->ahead_id = fetch_chunk_request(x, fetch_ahead_cb, x);
}

static void
fetch_next_chunk(struct fetch_ctx *x)
{
	struct imap_session *s = x->s;
	struct imap_msg *t;
	struct buf tb;

	if (x->ahead_ready) {
		/* The chunk read ahead: its array becomes the current one. */
		x->ahead_ready = false;
		t = x->msgs;
		x->msgs = x->next;
		x->nmsgs = x->nnext;
		x->next = t;
		x->nnext = 0;
		tb = x->bodies;
		x->bodies = x->next_bodies;
		x->next_bodies = tb;
		tb = x->recs;
		x->recs = x->next_recs;
		x->next_recs = tb;
		tb = x->sitems;
		x->sitems = x->next_sitems;
		x->next_sitems = tb;
		if (!x->ahead_ok) {
			fetch_finish(x);
			return;
		}
		fetch_chunk_begin(x);
		return;
	}
	if (x->ahead_id != 0) {
		x->ahead_wait = true;	/* fetch_ahead_cb goes on */
		return;
	}
	if (x->pos >= x->nuids) {
		fetch_finish(x);
		return;
	}
	if (imapd_store() == NULL) {
		x->fail_code = "UNAVAILABLE";
		x->fail_text = "Store unavailable, try again";
		fetch_finish(x);
		return;
	}
	s->req_id = fetch_chunk_request(x, fetch_meta_cb, s);
}

static int	fetch_vanished_send(struct fetch_ctx *, uint32_t);

static void
fetch_vanished_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_MBOX_SYNC_rep *r = rep;
	struct imap_session *s = arg;
	struct fetch_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		x->fail_code = "SERVERBUG";
		x->fail_text = text != NULL ? text : "Cannot read expunges";
		fetch_finish(x);
		return;
	}
	imap_qresync_vanished(s, r, &x->set);
	/* A page: the next one first. */
	if (r->next != 0) {
		if (fetch_vanished_send(x, r->next) == -1) {
			x->fail_code = "UNAVAILABLE";
			x->fail_text = "Store unavailable, try again";
			fetch_finish(x);
		}
		return;
	}
	fetch_next_chunk(x);
}

/* Asks for a page of the expunges; -1 when the store is gone. */
static int
fetch_vanished_send(struct fetch_ctx *x, uint32_t after)
{
	struct imap_session *s = x->s;
	struct ipc_MBOX_SYNC_req req;
	struct ipc_chan *store;

	if ((store = imapd_store()) == NULL)
		return -1;
	req.mailbox_id = s->view->mailbox_id;
	req.since = x->changedsince;
	req.after = after;
	s->req_id = ipc_request(store, IPC_T_MBOX_SYNC, conn_id(s->conn), &req,
	    fetch_vanished_cb, s);
	return 0;
}

/* Expunged UIDs of the set since CHANGEDSINCE, before the FETCHes. */
static void
fetch_vanished(struct fetch_ctx *x)
{
	if (fetch_vanished_send(x, 0) == -1) {
		x->fail_code = "UNAVAILABLE";
		x->fail_text = "Store unavailable, try again";
		fetch_finish(x);
	}
}

/*
 * The UIDs a sequence set names in the view, ascending: sequence numbers
 * (uid false) or UIDs.  Returns how many, in *uids_r (allocated).
 */
uint32_t
imap_fetch_targets(const struct imap_view *v, const struct imap_seqset *set,
    bool uid, uint32_t **uids_r)
{
	struct imap_seqset_iter it;
	uint32_t *u, n = 0, k, i;

	u = xreallocarray(NULL, v->n > 0 ? v->n : 1, sizeof(*u));
	if (uid) {
		for (i = 0; i < v->n; i++)
			if (imap_seqset_contains(set, v->uids[i], 0))
				u[n++] = v->uids[i];
	} else {
		imap_seqset_iter_init(&it);
		while (imap_seqset_iter_next(set, &it, &k) && k <= v->n)
			u[n++] = v->uids[k - 1];
	}
	*uids_r = u;
	return n;
}

enum imap_cmd_result
imap_fetch(struct imap_session *s, struct imap_parser *ps, bool uid)
{
	struct imap_seqset set;
	struct fetch_ctx *x;
	const char *why;

	imap_seqset_init(&set);
	x = xcalloc(1, sizeof(*x));
	x->s = s;
	x->pre_fd = -1;
	/* Copies of messages, as the store gives them to anyone with access. */
	x->bodies.nowipe = x->next_bodies.nowipe = true;
	x->recs.nowipe = x->next_recs.nowipe = true;
	x->sitems.nowipe = x->next_sitems.nowipe = true;
	x->uid_cmd = uid;
	if (imap_parse_sp(ps) == -1 || imap_seqset_parse(ps, &set) == -1 ||
	    imap_parse_sp(ps) == -1 || imap_fetch_parse_items(ps, x) == -1) {
		imap_seqset_clear(&set);
		fetch_ctx_free(x);
		return imap_cmd_bad(s, ps);
	}
	if (imap_view_resolve_set(s->view, &set, uid, &why) == -1) {
		fetch_ctx_free(x);
		imap_session_reply(s, "BAD", NULL, why);
		return IMAP_CMD_DONE;
	}
	if (x->items & FI_MODSEQ)
		imap_view_condstore_enable(s);
	x->nuids = imap_fetch_targets(s->view, &set, uid, &x->uids);
	x->set = set;		/* kept for VANISHED */
	if (x->partial) {
		/* RFC 9394 3.3: an extension of UID FETCH. */
		if (!uid) {
			fetch_ctx_free(x);
			imap_session_reply(s, "BAD", NULL, "PARTIAL needs UID "
			    "FETCH");
			return IMAP_CMD_DONE;
		}
		imap_fetch_apply_partial(x);
	}
	s->cmd_ctx = x;
	s->cmd_ctx_free = fetch_ctx_free;
	if (x->vanished) {
		/* RFC 7162 3.2.6: UID FETCH only, with CHANGEDSINCE. */
		if (!uid || x->changedsince == 0 ||
		    (s->enabled & IMAP_ENABLED_QRESYNC) == 0) {
			s->cmd_ctx = NULL;
			s->cmd_ctx_free = NULL;
			fetch_ctx_free(x);
			imap_session_reply(s, "BAD", NULL, "VANISHED needs UID "
			    "FETCH, CHANGEDSINCE and QRESYNC enabled");
			return IMAP_CMD_DONE;
		}
		fetch_vanished(x);
		return IMAP_CMD_WAIT;
	}
	fetch_next_chunk(x);
	return IMAP_CMD_WAIT;
}

/* --- NOTIFY (RFC 5465 5.2), imap_cmd_notify.c --- */

/* Parses att ("(" fetch-att ... ")") into a new context, or NULL. */
static struct fetch_ctx *
fetch_parse_text(const char *att, const char **why)
{
	struct imap_parser ps;
	struct fetch_ctx *x;
	size_t len = strlen(att);
	uint8_t *buf;

	buf = xmalloc(len + 2);
	memcpy(buf, att, len);
	memcpy(buf + len, "\r\n", 2);
	imap_parser_init(&ps, buf, len + 2);
	x = xcalloc(1, sizeof(*x));
	x->pre_fd = -1;
	x->bodies.nowipe = x->next_bodies.nowipe = true;
	x->recs.nowipe = x->next_recs.nowipe = true;
	x->sitems.nowipe = x->next_sitems.nowipe = true;
	x->uid_cmd = true;
	if (imap_fetch_parse_items(&ps, x) == -1) {
		*why = ps.error != NULL ? ps.error : "Invalid fetch attributes";
		fetch_ctx_free(x);
		x = NULL;
	}
	free(buf);
	return x;
}

int
imap_fetch_check(const char *att, const char **why)
{
	struct fetch_ctx *x;

	if ((x = fetch_parse_text(att, why)) == NULL)
		return -1;
	fetch_ctx_free(x);
	return 0;
}

void
imap_fetch_notify(struct imap_session *s, const uint32_t *uids, uint32_t n,
    const char *att, void (*done)(struct imap_session *))
{
	struct fetch_ctx *x;
	const char *why;

	if (n == 0 || s->view == NULL ||
	    (x = fetch_parse_text(att, &why)) == NULL) {
		done(s);
		return;
	}
	x->s = s;
	x->notify_done = done;
	if (x->items & FI_MODSEQ)
		imap_view_condstore_enable(s);
	x->uids = xreallocarray(NULL, n, sizeof(*x->uids));
	memcpy(x->uids, uids, n * sizeof(*uids));
	x->nuids = n;
	s->cmd_ctx = x;
	s->cmd_ctx_free = fetch_ctx_free;
	fetch_next_chunk(x);
}
