/* SPDX-License-Identifier: ISC */
/*
 * mail_meta.c: METADATA_GET and METADATA_SET, the annotations of the
 * session's account (RFC 5464) as thin handlers around metadata.h.  Reads
 * run in a read transaction on the loop; a SETMETADATA goes through the
 * group-commit writer (txn.h) as one operation, all entries or none, and
 * is answered once durable.
 */
#include "mail_api.h"
#include "compat.h"
#include "changelog.h"
#include "log.h"
#include "mailbox.h"
#include "metadata.h"
#include "notify.h"
#include "acctwatch.h"
#include "storaged.h"
#include "strvec.h"
#include "txn.h"
#include "worker.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* Most entry names one METADATA_GET may ask for. */
#define MAIL_META_ROOTS_MAX	256

/* --- METADATA_GET --- */

struct mail_meta_get {
	struct strvec	 names;
	struct buf	 values;
	struct buf	 lens;
	uint32_t	 nlens;
	uint64_t	 maxsize;
	uint64_t	 longest;
};

static int
mail_meta_get_cb(const char *name, const void *value, size_t len, void *arg)
{
	struct mail_meta_get *g = arg;

	if (g->maxsize != 0 && len > g->maxsize) {
		if (len > g->longest)
			g->longest = len;
		return 0;
	}
	strvec_add(&g->names, name);
	buf_append(&g->values, value, len);
	wire_u64list_add(&g->lens, len);
	g->nlens++;
	return 0;
}

/* Reads the entry names of m into roots (canonical), *n_r of them. */
static enum ipc_status
mail_meta_roots(const struct ipc_METADATA_GET_req *m,
    char (*roots)[MAILMETA_NAME_MAX + 1], size_t *n_r,
    struct store_error *err)
{
	struct wire_iter it;
	const char *name, *why;
	uint32_t i;

	if (m->entries.count > MAIL_META_ROOTS_MAX)
		return db_error(err, IPC_S_LIMIT, "more than %u entries asked",
		    MAIL_META_ROOTS_MAX);
	wire_strlist_iter(&m->entries, &it);
	for (i = 0; i < m->entries.count; i++) {
		if ((name = wire_strlist_next(&it)) == NULL)
			return db_error(err, IPC_S_INVALID, "entry list");
		if ((why = mailmeta_name_canon(name, strlen(name),
		    roots[i])) != NULL)
			return db_error(err, IPC_S_INVALID, "%s", why);
	}
	*n_r = m->entries.count;
	return IPC_S_OK;
}

static void
mail_meta_get_reply(struct ipc_chan *c, const struct ipc_frame *f,
    struct mail_meta_get *g)
{
	struct ipc_METADATA_GET_rep rep;
	struct buf nb = BUF_INIT;

	if (g->names.bytes + g->values.len + (size_t)g->nlens * 13 + 64 >
	    IPC_MAX_PAYLOAD) {
		ipc_reply(c, f, IPC_S_TOOBIG, "annotations too large for one "
		    "reply", NULL);
		return;
	}
	memset(&rep, 0, sizeof(rep));
	strvec_to_wire(&g->names, &nb, &rep.names);
	rep.values.p = g->values.data;
	rep.values.len = (uint32_t)g->values.len;
	rep.value_lens.count = g->nlens;
	rep.value_lens.p = g->lens.data;
	rep.longest = g->longest;
	ipc_reply(c, f, IPC_S_OK, NULL, &rep);
	buf_clear(&nb);
}

void
mail_meta_get(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	const struct ipc_METADATA_GET_req *m = msg;
	struct wchan *w = arg;
	struct mail_meta_get g;
	struct store_error err;
	struct mailbox_rec mb;
	struct session *s;
	enum ipc_status st;
	char (*roots)[MAILMETA_NAME_MAX + 1];
	const char **rp;
	MDB_txn *txn;
	size_t i, n = 0;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	memset(&g, 0, sizeof(g));
	g.maxsize = m->maxsize;
	roots = xcalloc(m->entries.count > 0 ? m->entries.count : 1,
	    sizeof(*roots));
	rp = xcalloc(m->entries.count + 1, sizeof(*rp));
	if ((st = mail_meta_roots(m, roots, &n, &err)) == IPC_S_OK) {
		for (i = 0; i < n; i++)
			rp[i] = roots[i];
		st = db_begin(&w->sd->db, false, &txn, &err);
	}
	if (st == IPC_S_OK) {
		if (m->mailbox_id == 0 || (st = mailbox_get(&w->sd->db, txn,
		    s->account_id, m->mailbox_id, &mb, &err)) == IPC_S_OK)
			st = metadata_get(&w->sd->db, txn, s->account_id,
			    m->mailbox_id, rp, n, m->depth,
			    mail_meta_get_cb, &g, &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK)
		ipc_reply(c, f, st, err.text, NULL);
	else
		mail_meta_get_reply(c, f, &g);
	strvec_clear(&g.names);
	buf_clear(&g.values);
	buf_clear(&g.lens);
	free(rp);
	free(roots);
}

/* --- METADATA_SET --- */

struct mail_meta_job {
	struct storaged		*sd;
	uint64_t		 chan_serial;
	struct ipc_reqref	 ref;
	uint64_t		 account_id;
	uint32_t		 mailbox_id;
	struct metadata_entry	*e;
	size_t			 n;
	struct strvec		 names;		/* e[i].name points here */
	uint8_t			*values;	/* e[i].value points here */
	char			 mbox_name[MAILBOX_NAME_MAX + 1];
	uint64_t		 modseq;	/* the mailbox's, after */
};

static void
mail_meta_job_free(struct mail_meta_job *j)
{
	strvec_clear(&j->names);
	free(j->values);
	free(j->e);
	free(j);
}

/*
 * Copies the entries of m into j (the frame is gone when the writer
 * runs).  Returns IPC_S_OK or IPC_S_INVALID with err set.
 */
static enum ipc_status
mail_meta_job_fill(struct mail_meta_job *j,
    const struct ipc_METADATA_SET_req *m, struct store_error *err)
{
	struct wire_iter it;
	const char *name;
	uint64_t off = 0, len;
	uint32_t i, n = m->names.count;

	if (m->value_lens.count != n || m->nil.count != n)
		return db_error(err, IPC_S_INVALID, "entry lists differ");
	if (n > MAILMETA_ENTRIES_MAX * 2)
		return db_error(err, IPC_S_LIMIT, "more than %u entries",
		    MAILMETA_ENTRIES_MAX * 2);
	j->values = xmalloc(m->values.len > 0 ? m->values.len : 1);
	if (m->values.len > 0)
		memcpy(j->values, m->values.p, m->values.len);
	j->e = xcalloc(n > 0 ? n : 1, sizeof(*j->e));
	wire_strlist_iter(&m->names, &it);
	for (i = 0; i < n; i++) {
		if ((name = wire_strlist_next(&it)) == NULL)
			return db_error(err, IPC_S_INVALID, "entry list");
		strvec_add(&j->names, name);
		len = wire_u64list_get(&m->value_lens, i);
		if (len > m->values.len - off)
			return db_error(err, IPC_S_INVALID, "values too short");
		j->e[i].value = j->values + off;
		j->e[i].len = (size_t)len;
		j->e[i].nil = wire_u64list_get(&m->nil, i) != 0;
		off += len;
	}
	if (off != m->values.len)
		return db_error(err, IPC_S_INVALID, "values too long");
	for (i = 0; i < n; i++)
		j->e[i].name = j->names.v[i];
	j->n = n;
	return IPC_S_OK;
}

static enum ipc_status
mail_meta_set_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_meta_job *j = arg;
	struct mailbox_rec mb;
	struct mstate_rec s;
	enum ipc_status st;

	if (j->mailbox_id == 0)
		return metadata_set(db, txn, j->account_id, 0, j->e, j->n,
		    err);
	/* The name, for the sessions told (RFC 5465 5.6). */
	if ((st = mailbox_get(db, txn, j->account_id, j->mailbox_id, &mb,
	    err)) != IPC_S_OK)
		return st;
	strlcpy(j->mbox_name, mb.name, sizeof(j->mbox_name));
	if ((st = metadata_set(db, txn, j->account_id, j->mailbox_id, j->e,
	    j->n, err)) != IPC_S_OK)
		return st;
	/*
	 * RFC 7162 3.2: with METADATA, a mailbox's modseq moves on when
	 * SETMETADATA changes one of its entries.
	 */
	if ((st = mailbox_get(db, txn, j->account_id, j->mailbox_id, &mb,
	    err)) != IPC_S_OK ||
	    (st = mstate_get(db, txn, j->account_id, &s, err)) != IPC_S_OK ||
	    (st = changelog_append(db, txn, j->account_id, &s,
	    CHANGE_MAILBOX, CHANGE_UPDATED, j->mailbox_id, &j->modseq,
	    err)) != IPC_S_OK)
		return st;
	mb.highestmodseq = j->modseq;
	if ((st = mailbox_put(db, txn, j->account_id, j->mailbox_id, &mb,
	    err)) != IPC_S_OK)
		return st;
	return mstate_put(db, txn, j->account_id, &s, err);
}

static void
mail_meta_set_done(void *arg, enum ipc_status st,
    const struct store_error *err)
{
	struct mail_meta_job *j = arg;
	struct wchan *w = worker_find(j->sd, j->chan_serial);
	struct notify_origin o;

	if (st == IPC_S_OK) {
		log_debug("metadata set ok account=%llu mailbox=%u entries=%zu",
		    (unsigned long long)j->account_id, j->mailbox_id, j->n);
		o.chan_serial = j->chan_serial;
		o.session = j->ref.session;
		notify_list_changed(j->sd, j->account_id, &o,
		    ACCTWATCH_EV_METADATA, j->mailbox_id, j->mbox_name, NULL,
		    false, &j->names);
		if (j->mailbox_id != 0)
			notify_mailbox(j->sd, j->account_id, j->mailbox_id,
			    j->modseq, &o);
	} else
		log_debug("metadata set failed account=%llu mailbox=%u "
		    "status=%s why=\"%s\"", (unsigned long long)j->account_id,
		    j->mailbox_id, ipc_status_name(st), err->text);
	if (w != NULL)
		ipc_reply_ref(w->chan, &j->ref, st, st == IPC_S_OK ? NULL :
		    err->text, NULL);
	mail_meta_job_free(j);
}

void
mail_meta_set(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	const struct ipc_METADATA_SET_req *m = msg;
	struct wchan *w = arg;
	struct mail_meta_job *j;
	struct store_error err;
	struct session *s;
	enum ipc_status st;

	if ((s = worker_session_bound(c, f, w)) == NULL)
		return;
	if (w->sd->stopping) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is stopping", NULL);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->sd = w->sd;
	j->chan_serial = w->serial;
	ipc_reqref_set(&j->ref, f);
	j->account_id = s->account_id;
	j->mailbox_id = m->mailbox_id;
	if ((st = mail_meta_job_fill(j, m, &err)) != IPC_S_OK) {
		ipc_reply(c, f, st, err.text, NULL);
		mail_meta_job_free(j);
		return;
	}
	if (mail_txnq_submit(w->sd->txnq, NULL, mail_meta_set_apply,
	    mail_meta_set_done, j, sizeof(*j) + m->values.len) == -1) {
		ipc_reply(c, f, IPC_S_UNAVAIL, "storaged is busy", NULL);
		mail_meta_job_free(j);
	}
}
