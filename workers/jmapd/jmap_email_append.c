/* SPDX-License-Identifier: ISC */
/*
 * jmap_email_append.c: a new email from a message's bytes (em_append of
 * jmap_email.h), for Email/import (RFC 8621 4.8), Email/set create (4.6)
 * and EmailSubmission.
 *
 * As imapd's APPEND (imap_append.c) does, the message is parsed here
 * (lib/mime.h) into its record (lib/msgrec.h) and goes to storaged with
 * MSG_APPEND in a file; line ends other than CRLF become CRLF, and a
 * body part with NUL is stored base64-encoded (lib/mime_binary.h), so
 * that IMAP can serve every email JMAP makes.  The record describes the
 * bytes as stored (prefix 0).  MSG_APPEND puts the email in one mailbox;
 * EMAIL_SET joins the others, and a failure there destroys the email
 * again: each email is made whole or not at all (4.8: "an atomic unit").
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "compat.h"
#include "mailflags.h"
#include "mime.h"
#include "mime_binary.h"
#include "msgrec.h"
#include "worker.h"
#include "xmalloc.h"

#include <sys/mman.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A record larger than MSG_APPEND can carry (imap_append.c's bound). */
#define EA_RECORD_MAX	(900u * 1024)

/* --- Messages (RFC 5322 2.1) --- */

bool
em_message_ok(const uint8_t *p, size_t len)
{
	size_t i;

	/* ftext = %d33-57 / %d59-126 (RFC 5322 3.6.8) */
	for (i = 0; i < len && p[i] >= 33 && p[i] <= 126 && p[i] != ':'; i++)
		;
	return i > 0 && i < len && p[i] == ':';
}

/* Whether there is a line end other than CRLF. */
static bool
ea_has_bare_eol(const uint8_t *p, size_t n)
{
	size_t i;

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

/* Appends n bytes at p to out with every line end as CRLF. */
static void
ea_crlf(const uint8_t *p, size_t n, struct buf *out)
{
	size_t i = 0, j;

	while (i < n) {
		for (j = i; j < n && p[j] != '\r' && p[j] != '\n'; j++)
			;
		buf_append(out, p + i, j - i);
		if (j < n) {
			if (p[j] == '\r' && j + 1 < n && p[j + 1] == '\n')
				j++;
			buf_append(out, "\r\n", 2);
			j++;
		}
		i = j;
	}
}

/* Writes b into a new memfd; -1 on failure. */
static int
ea_memfd(const struct buf *b)
{
	size_t off = 0;
	ssize_t w;
	int fd;

	if ((fd = memfd_create("jmap-append", MFD_CLOEXEC)) == -1)
		return -1;
	while (off < b->len) {
		w = pwrite(fd, b->data + off, b->len - off, (off_t)off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	return fd;
}

/* --- em_append --- */

struct ea_state {
	void		*caller_ctx;
	void		(*caller_free)(void *);
	em_append_cb	*cb;
	void		*arg;
	uint64_t	*mbox;
	size_t		 nmbox;
	uint64_t	 email_id, thread_id, size;
	const char	*err;		/* after the email is destroyed */
	char		 desc[256];
};

/* The caller's context is freed with ours if the request goes away. */
static void
ea_state_free(void *p)
{
	struct ea_state *x = p;

	if (x->caller_free != NULL && x->caller_ctx != NULL)
		x->caller_free(x->caller_ctx);
	free(x->mbox);
	free(x);
}

/* Gives c back its context and runs the caller's cb. */
static void
ea_finish(struct jmap_call *c, const char *err, const char *desc)
{
	struct ea_state *x = c->ctx;
	em_append_cb *cb = x->cb;
	void *arg = x->arg;
	uint64_t id = x->email_id, tid = x->thread_id, size = x->size;
	char d[256];

	strlcpy(d, desc != NULL ? desc : "", sizeof(d));
	c->ctx = x->caller_ctx;
	c->ctx_free = x->caller_free;
	free(x->mbox);
	free(x);
	if (err != NULL)
		cb(c, arg, err, d, 0, 0, 0);
	else
		cb(c, arg, NULL, NULL, id, tid, size);
}

/* The store went away: the call is answered, the caller told. */
static void
ea_unavail(struct jmap_call *c, enum ipc_status st, const char *text)
{
	em_store_error(c, st, text);
	ea_finish(c, "serverFail", text);
}

/* The SetError of MSG_APPEND's status. */
static const char *
ea_append_error(enum ipc_status st, const char *text)
{
	switch (st) {
	case IPC_S_QUOTA:
		return "overQuota";
	case IPC_S_NOTFOUND:
		return "notFound";	/* the mailbox */
	case IPC_S_TOOBIG:
		return "tooLarge";
	case IPC_S_LIMIT:
		return "tooManyKeywords";
	case IPC_S_INVALID:
		return strstr(text, "keyword") != NULL ?
		    "invalidProperties" : "invalidEmail";
	default:
		return "serverFail";
	}
}

/* The SetError of EMAIL_SET's status for the join of mailboxes. */
static const char *
ea_join_error(uint64_t st)
{
	switch (st) {
	case IPC_S_NOTFOUND:
		return "notFound";
	case IPC_S_QUOTA:
		return "overQuota";
	case IPC_S_LIMIT:
		return "tooManyMailboxes";
	case IPC_S_INVALID:
		return "invalidProperties";
	default:
		return "serverFail";
	}
}

static void
ea_destroyed_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	struct ea_state *x = c->ctx;

	(void)rep;
	if (st != IPC_S_OK) {
		ea_unavail(c, st, text);
		return;
	}
	ea_finish(c, x->err, x->desc);
}

static void
ea_joined_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_SET_rep *r = rep;
	struct ea_state *x = c->ctx;
	struct ipc_EMAIL_SET_req m;
	struct wire_iter it;
	const char *t;
	uint64_t s;
	uint8_t b[8];

	if (st != IPC_S_OK) {
		ea_unavail(c, st, text);
		return;
	}
	if (r->update_status.count != 1 || r->update_texts.count != 1) {
		s = IPC_S_INTERNAL;
		t = "Bad EMAIL_SET reply";
	} else {
		s = wire_u64list_get(&r->update_status, 0);
		wire_strlist_iter(&r->update_texts, &it);
		t = wire_strlist_next(&it);
	}
	if (s == IPC_S_OK) {
		ea_finish(c, NULL, NULL);
		return;
	}
	/* Not in every mailbox: not at all (4.8, "an atomic unit"). */
	x->err = ea_join_error(s);
	strlcpy(x->desc, t != NULL ? t : "", sizeof(x->desc));
	memset(&m, 0, sizeof(m));
	wire_be64_put(b, x->email_id);
	m.destroy_ids.count = 1;
	m.destroy_ids.p = b;
	(void)jmap_store_request(c, IPC_T_EMAIL_SET, &m, ea_destroyed_cb);
}

static void
ea_got_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_GET_rep *g = rep;
	struct ea_state *x = c->ctx;
	struct ipc_EMAIL_SET_req m;
	struct buf ids = BUF_INIT, counts = BUF_INIT, add = BUF_INIT;
	struct buf zero = BUF_INIT, kw = BUF_INIT;
	size_t i;

	if (st != IPC_S_OK) {
		ea_unavail(c, st, text);
		return;
	}
	if (g->found.count == 1 && g->thread_ids.count == 1 &&
	    g->sizes.count == 1) {
		x->thread_id = wire_u64list_get(&g->thread_ids, 0);
		x->size = wire_u64list_get(&g->sizes, 0);
	}
	if (x->nmbox == 1) {
		ea_finish(c, NULL, NULL);
		return;
	}
	memset(&m, 0, sizeof(m));
	wire_u64list_add(&ids, x->email_id);
	wire_u64list_add(&zero, 0);
	wire_u64list_add(&counts, x->nmbox - 1);
	for (i = 1; i < x->nmbox; i++)
		wire_u64list_add(&add, x->mbox[i]);
	wire_strlist_add(&kw, "");
	m.update_ids = (struct wire_u64list){ 1, ids.data };
	m.flags_add = (struct wire_u64list){ 1, zero.data };
	m.flags_del = (struct wire_u64list){ 1, zero.data };
	m.kw_replace = (struct wire_u64list){ 1, zero.data };
	m.mb_replace = (struct wire_u64list){ 1, zero.data };
	m.kw_add = (struct wire_strlist){ 1, kw.data, kw.len };
	m.kw_del = (struct wire_strlist){ 1, kw.data, kw.len };
	m.mb_add_counts = (struct wire_u64list){ 1, counts.data };
	m.mb_add = (struct wire_u64list){ (uint32_t)(x->nmbox - 1),
	    add.data };
	m.mb_del_counts = (struct wire_u64list){ 1, zero.data };
	(void)jmap_store_request(c, IPC_T_EMAIL_SET, &m, ea_joined_cb);
	buf_clear(&ids);
	buf_clear(&counts);
	buf_clear(&add);
	buf_clear(&zero);
	buf_clear(&kw);
}

static void
ea_appended_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_MSG_APPEND_rep *r = rep;
	struct ea_state *x = c->ctx;
	struct ipc_EMAIL_GET_req m;
	uint8_t b[8];

	if (st == IPC_S_UNAVAIL) {
		ea_unavail(c, st, text);
		return;
	}
	if (st != IPC_S_OK) {
		ea_finish(c, ea_append_error(st, text != NULL ? text : ""),
		    text);
		return;
	}
	if (r->email_ids.count != 1 ||
	    (x->email_id = wire_u64list_get(&r->email_ids, 0)) == 0) {
		ea_finish(c, "serverFail", "Bad MSG_APPEND reply");
		return;
	}
	/* Its thread: threading happened in storaged. */
	memset(&m, 0, sizeof(m));
	wire_be64_put(b, x->email_id);
	m.ids.count = 1;
	m.ids.p = b;
	(void)jmap_store_request(c, IPC_T_EMAIL_GET, &m, ea_got_cb);
}

/*
 * Makes the bytes to store from the size bytes of fd (CRLF line ends,
 * NUL encoded) and their record: *fd_r is fd or a new memfd (fd closed
 * then), *size_r their size.  Returns NULL, or the SetError with *desc.
 */
static const char *
ea_prepare(int fd, uint64_t size, int *fd_r, uint64_t *size_r,
    struct buf *rec, const char **desc)
{
	struct mime_msg *msg;
	struct buf fixed = BUF_INIT, tmp = BUF_INIT;
	const uint8_t *p;
	uint8_t *map;
	size_t n = (size_t)size;
	int nfd;

	*fd_r = fd;
	*size_r = size;
	if ((map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0)) ==
	    MAP_FAILED) {
		*desc = "Cannot read the message";
		return "serverFail";
	}
	p = map;
	if (!em_message_ok(p, n)) {
		munmap(map, n);
		*desc = "The blob does not begin with a header field";
		return "invalidEmail";
	}
	if (ea_has_bare_eol(p, n)) {
		ea_crlf(p, n, &fixed);
		p = fixed.data;
		n = fixed.len;
	}
	if (memchr(p, '\0', n) != NULL) {
		if (mime_binary_encode(p, n, &tmp) != MIME_BINARY_ENCODED) {
			buf_clear(&tmp);
			buf_clear(&fixed);
			munmap(map, (size_t)size);
			*desc = "NUL outside a body part that can be encoded";
			return "invalidEmail";
		}
		buf_clear(&fixed);
		fixed = tmp;
		p = fixed.data;
		n = fixed.len;
	}
	if (n > EM_APPEND_LIMIT) {
		buf_clear(&fixed);
		munmap(map, (size_t)size);
		*desc = "The message is too large once its line ends are "
		    "CRLF";
		return "tooLarge";
	}
	if ((msg = mime_parse(p, n)) == NULL) {
		buf_clear(&fixed);
		munmap(map, (size_t)size);
		*desc = "Out of memory";
		return "serverFail";
	}
	msgrec_encode(msg, 0, rec);
	mime_msg_free(&msg);
	munmap(map, (size_t)size);
	if (rec->len > EA_RECORD_MAX) {
		buf_clear(&fixed);
		*desc = "The message has too many parts";
		return "tooLarge";
	}
	if (fixed.len > 0) {
		if ((nfd = ea_memfd(&fixed)) == -1) {
			buf_clear(&fixed);
			*desc = "Cannot spool the message";
			return "serverFail";
		}
		close(fd);
		*fd_r = nfd;
		*size_r = fixed.len;
	}
	buf_clear(&fixed);
	return NULL;
}

void
em_append(struct jmap_call *c, int fd, uint64_t size,
    const uint64_t *mailbox_ids, size_t nmbox, uint32_t flags,
    const char *keywords, uint64_t received, em_append_cb *cb, void *arg)
{
	struct ipc_MSG_APPEND_req m;
	struct ea_state *x;
	struct buf rec = BUF_INIT, kw = BUF_INIT;
	struct buf lists[4] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	const char *err = NULL, *desc = NULL;
	uint64_t v;
	int sfd = fd;
	size_t i;

	for (i = 0; i < nmbox; i++)
		if (mailbox_ids[i] == 0 || mailbox_ids[i] > UINT32_MAX)
			break;
	if (i < nmbox) {
		err = "notFound";
		desc = "No such mailbox";
	} else if (nmbox == 0) {
		err = "invalidProperties";
		desc = "An email must be in a mailbox";
	} else if (nmbox > EM_APPEND_MAX_MBOX) {
		err = "tooManyMailboxes";
		desc = "An email is in at most 64 mailboxes";
	} else if (worker_store() == NULL) {
		em_store_error(c, IPC_S_UNAVAIL, "The store is unavailable, "
		    "try again");
		err = "serverFail";
		desc = "The store is unavailable";
	} else if (size == 0) {
		err = "invalidEmail";
		desc = "The message is empty";
	} else if (size > EM_APPEND_LIMIT) {
		err = "tooLarge";
		desc = "The message is larger than 64 MiB";
	} else
		err = ea_prepare(fd, size, &sfd, &size, &rec, &desc);
	if (err != NULL) {
		close(sfd);
		buf_clear(&rec);
		cb(c, arg, err, desc, 0, 0, 0);
		return;
	}
	x = xcalloc(1, sizeof(*x));
	x->cb = cb;
	x->arg = arg;
	x->mbox = xreallocarray(NULL, nmbox, sizeof(*x->mbox));
	memcpy(x->mbox, mailbox_ids, nmbox * sizeof(*x->mbox));
	x->nmbox = nmbox;
	x->size = size;
	/* Ours until ea_finish gives it back. */
	x->caller_ctx = c->ctx;
	x->caller_free = c->ctx_free;
	c->ctx = x;
	c->ctx_free = ea_state_free;
	memset(&m, 0, sizeof(m));
	m.mailbox_id = (uint32_t)mailbox_ids[0];
	v = size;
	em_u64list(&m.sizes, &lists[0], &v, 1);
	v = flags & MAIL_F_ALL;
	em_u64list(&m.flags, &lists[1], &v, 1);
	em_u64list(&m.received, &lists[2], &received, 1);
	v = rec.len;
	em_u64list(&m.record_lens, &lists[3], &v, 1);
	wire_strlist_add(&kw, keywords != NULL ? keywords : "");
	m.keywords = (struct wire_strlist){ 1, kw.data, kw.len };
	m.records.p = rec.data;
	m.records.len = (uint32_t)rec.len;
	(void)jmap_store_request_fd(c, IPC_T_MSG_APPEND, &m, sfd,
	    ea_appended_cb);
	buf_clear(&rec);
	buf_clear(&kw);
	for (i = 0; i < 4; i++)
		buf_clear(&lists[i]);
}
