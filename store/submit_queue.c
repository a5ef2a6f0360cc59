/* SPDX-License-Identifier: ISC */
/*
 * submit_queue.c: the submissions of JMAP submission (RFC 8621 7; see
 * submit.h) and the queue lmtpd's relay takes them from.  Every write is
 * one apply step of the writer (txn.h) that changes one submission and
 * appends its one change-log entry; the relay's take and done name the
 * account in the request, the others act for the session's.
 */
#include "submit.h"
#include "submit_int.h"
#include "submit_dkim.h"
#include "blob.h"
#include "charset.h"
#include "compat.h"
#include "key.h"
#include "log.h"
#include "message.h"
#include "xmalloc.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A queue key: due(u64 BE) A(u64 BE) id(u64 BE). */
#define SUBMIT_QKEY_LEN		24
/* The first submission id. */

static MDB_val
submit_qkey(uint8_t b[SUBMIT_QKEY_LEN], uint64_t due, uint64_t acct,
    uint64_t id)
{
	wire_be64_put(b, due);
	wire_be64_put(b + 8, acct);
	wire_be64_put(b + 16, id);
	return (MDB_val){ SUBMIT_QKEY_LEN, b };
}

/* --- Submission records --- */

void
submit_rec_clear(struct submit_rec *r)
{
	uint32_t i;

	for (i = 0; i < r->nrcpt; i++) {
		free(r->rcpts != NULL ? r->rcpts[i] : NULL);
		free(r->replies != NULL ? r->replies[i] : NULL);
	}
	free(r->rcpts);
	free(r->replies);
	free(r->delivered);
	free(r->mail_from);
	free(r->mail_from_params);
	memset(r, 0, sizeof(*r));
}

static void
submit_rec_enc(struct buf *b, const struct submit_rec *r)
{
	struct wire_bytes h = { r->hash, MSG_HASH_LEN };
	uint32_t i;

	/* The hash first: message_account_purge reads it alone. */
	wire_put_U8(b, RECORD_V1);
	wire_put_BYTES(b, h);
	wire_put_U64(b, r->identity_id);
	wire_put_U64(b, r->email_id);
	wire_put_U64(b, r->thread_id);
	wire_put_U64(b, r->send_at);
	wire_put_U64(b, r->created);
	wire_put_U64(b, r->due);
	wire_put_U8(b, r->undo);
	wire_put_BOOL(b, r->taken);
	wire_put_STR(b, r->mail_from);
	wire_put_STR(b, r->mail_from_params);
	wire_put_strlist_begin(b, r->nrcpt);
	for (i = 0; i < r->nrcpt; i++)
		wire_strlist_add(b, r->rcpts[i]);
	wire_put_strlist_begin(b, r->nrcpt);
	for (i = 0; i < r->nrcpt; i++)
		wire_strlist_add(b, r->replies[i]);
	wire_put_u64list_begin(b, r->nrcpt);
	for (i = 0; i < r->nrcpt; i++)
		wire_u64list_add(b, r->delivered[i]);
}

/* Copies the n strings of l into a new array. */
static char **
submit_strlist_dup(const struct wire_strlist *l)
{
	struct wire_iter it;
	const char *s;
	char **v = xcalloc(l->count + 1, sizeof(*v));
	size_t len;
	uint32_t i;

	wire_strlist_iter(l, &it);
	for (i = 0; i < l->count &&
	    (s = wire_strlist_next_len(&it, &len)) != NULL; i++)
		v[i] = submit_strdup(s, len);
	for (; i < l->count; i++)
		v[i] = xstrdup("");
	return v;
}

static int
submit_rec_dec(const void *p, size_t len, struct submit_rec *r)
{
	struct wire_strlist rl, pl;
	struct wire_u64list dl;
	struct wire_reader rd;
	struct wire_bytes h;
	const char *mf = "", *mp = "";
	size_t mflen = 0, mplen = 0;
	uint32_t i;
	uint8_t v = 0;

	memset(r, 0, sizeof(*r));
	wire_reader_init(&rd, p, len);
	if (wire_get_U8(&rd, &v) == 0 && v != RECORD_V1)
		return -1;
	wire_get_BYTES(&rd, &h);
	wire_get_U64(&rd, &r->identity_id);
	wire_get_U64(&rd, &r->email_id);
	wire_get_U64(&rd, &r->thread_id);
	wire_get_U64(&rd, &r->send_at);
	wire_get_U64(&rd, &r->created);
	wire_get_U64(&rd, &r->due);
	wire_get_U8(&rd, &r->undo);
	wire_get_BOOL(&rd, &r->taken);
	wire_get_STRN(&rd, &mf, &mflen);
	wire_get_STRN(&rd, &mp, &mplen);
	wire_get_STRLIST(&rd, &rl);
	wire_get_STRLIST(&rd, &pl);
	wire_get_U64LIST(&rd, &dl);
	if (wire_reader_finish(&rd) == -1 || h.len != MSG_HASH_LEN ||
	    rl.count != pl.count || rl.count != dl.count ||
	    rl.count > SUBMIT_RCPTS_MAX || r->undo > SUBMIT_UNDO_CANCELED)
		return -1;
	memcpy(r->hash, h.p, MSG_HASH_LEN);
	r->mail_from = submit_strdup(mf, mflen);
	r->mail_from_params = submit_strdup(mp, mplen);
	r->nrcpt = rl.count;
	r->rcpts = submit_strlist_dup(&rl);
	r->replies = submit_strlist_dup(&pl);
	r->delivered = xcalloc(r->nrcpt + 1, 1);
	for (i = 0; i < r->nrcpt; i++)
		r->delivered[i] = (uint8_t)(wire_u64list_get(&dl, i) >
		    SUBMIT_DLV_UNKNOWN ? SUBMIT_DLV_UNKNOWN :
		    wire_u64list_get(&dl, i));
	return 0;
}

enum ipc_status
submit_get(struct store_db *db, MDB_txn *txn, uint64_t acct, uint64_t id,
    struct submit_rec *r, struct store_error *err)
{
	struct key_mail k;
	MDB_val kv, d;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	kv = submit_key(&k, acct, id);
	if (id == 0 ||
	    (rc = mdb_get(txn, db->submissions, &kv, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no submission %llu",
		    (unsigned long long)id);
	if (rc != 0)
		return db_mdb_error(err, rc, "submission read");
	if (submit_rec_dec(d.mv_data, d.mv_size, r) == -1)
		return db_error(err, IPC_S_INTERNAL, "corrupt submission %llu "
		    "of account %llu", (unsigned long long)id,
		    (unsigned long long)acct);
	return IPC_S_OK;
}

enum ipc_status
submit_put(struct store_db *db, MDB_txn *txn, uint64_t acct, uint64_t id,
    const struct submit_rec *r, struct store_error *err)
{
	struct buf b = BUF_INIT;
	struct key_mail k;
	MDB_val kv, d;
	int rc;

	submit_rec_enc(&b, r);
	kv = submit_key(&k, acct, id);
	d.mv_size = b.len;
	d.mv_data = b.data;
	rc = mdb_put(txn, db->submissions, &kv, &d, 0);
	buf_clear(&b);
	return rc == 0 ? IPC_S_OK : db_mdb_error(err, rc, "submission write");
}

/* Moves the queue entry of (acct, id) from r->due to due (0: none). */
enum ipc_status
submit_requeue(struct store_db *db, MDB_txn *txn, uint64_t acct, uint64_t id,
    struct submit_rec *r, uint64_t due, struct store_error *err)
{
	uint8_t qb[SUBMIT_QKEY_LEN];
	MDB_val qk, empty = { 0, NULL };
	int rc;

	if (r->due != 0) {
		qk = submit_qkey(qb, r->due, acct, id);
		if ((rc = mdb_del(txn, db->relay_queue, &qk, NULL)) != 0 &&
		    rc != MDB_NOTFOUND)
			return db_mdb_error(err, rc, "queue delete");
	}
	r->due = due;
	if (due == 0)
		return IPC_S_OK;
	qk = submit_qkey(qb, due, acct, id);
	if ((rc = mdb_put(txn, db->relay_queue, &qk, &empty, 0)) != 0)
		return db_mdb_error(err, rc, "queue write");
	return IPC_S_OK;
}

static uint32_t
submit_queued(const struct submit_rec *r)
{
	uint32_t i, n = 0;

	for (i = 0; i < r->nrcpt; i++)
		if (r->delivered[i] == SUBMIT_DLV_QUEUED)
			n++;
	return n;
}

/* --- SUBMIT --- */

/*
 * An envelope address: an addr-spec as RFC 5321 4.1.2 Mailbox, checked
 * only as far as the relay needs to put it in a command line safely: no
 * space, control, '<' or '>', UTF-8 (RFC 6531), text each side of '@'.
 */
bool
submit_addr_ok(const char *s)
{
	size_t len = strlen(s), i;
	const char *at = strrchr(s, '@');

	if (len < 3 || len > SUBMIT_ADDR_MAX || at == NULL || at == s ||
	    at[1] == '\0' || !charset_utf8_valid(s, len))
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f ||
		    s[i] == '<' || s[i] == '>')
			return false;
	return true;
}

/* MAIL FROM parameters: one line of printable text (UTF-8, RFC 6531). */
static bool
submit_params_ok(const char *s)
{
	size_t len = strlen(s), i;

	if (len > SUBMIT_PARAMS_MAX || !charset_utf8_valid(s, len))
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

struct submit_new *
submit_new_make(uint64_t account_id, uint64_t identity_id, uint64_t email_id,
    const char *mail_from, const char *mail_from_params,
    const struct wire_strlist *rcpts, uint64_t send_at, uint64_t now,
    enum ipc_status *st_r, struct store_error *err)
{
	struct submit_new *s;
	struct wire_iter it;
	const char *r;
	size_t i;

	*st_r = IPC_S_INVALID;
	if (rcpts->count == 0) {
		db_error(err, IPC_S_INVALID, "no recipients");
		return NULL;
	}
	if (rcpts->count > SUBMIT_RCPTS_MAX) {
		db_error(err, IPC_S_INVALID, "more than %d recipients",
		    SUBMIT_RCPTS_MAX);
		return NULL;
	}
	if (!submit_params_ok(mail_from_params)) {
		db_error(err, IPC_S_INVALID, "bad MAIL FROM parameters");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	wire_strlist_iter(rcpts, &it);
	while ((r = wire_strlist_next(&it)) != NULL) {
		if (!submit_addr_ok(r)) {
			db_error(err, IPC_S_INVALID, "bad recipient %.*s",
			    SUBMIT_ADDR_MAX, r);
			submit_new_free(&s);
			return NULL;
		}
		for (i = 0; i < s->rcpts.n; i++)
			if (strcmp(s->rcpts.v[i], r) == 0)
				break;
		if (i == s->rcpts.n)
			strvec_add(&s->rcpts, r);
	}
	s->account_id = account_id;
	s->identity_id = identity_id;
	s->email_id = email_id;
	s->mail_from = xstrdup(mail_from);
	s->mail_from_params = xstrdup(mail_from_params);
	s->send_at = send_at;
	s->now = now;
	*st_r = IPC_S_OK;
	return s;
}

void
submit_new_free(struct submit_new **sp)
{
	struct submit_new *s = *sp;

	*sp = NULL;
	if (s == NULL)
		return;
	free(s->mail_from);
	free(s->mail_from_params);
	strvec_clear(&s->rcpts);
	free(s);
}

/* The record of a new submission s of message m. */
static void
submit_rec_new(struct submit_rec *r, const struct submit_new *s,
    const struct message_rec *m)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	memcpy(r->hash, m->hash, MSG_HASH_LEN);
	r->identity_id = s->identity_id;
	r->email_id = s->email_id;
	r->thread_id = m->thread;
	r->send_at = s->due;
	r->created = s->now;
	r->undo = SUBMIT_UNDO_PENDING;
	r->mail_from = xstrdup(s->mail_from);
	r->mail_from_params = xstrdup(s->mail_from_params);
	r->nrcpt = (uint32_t)s->rcpts.n;
	r->rcpts = xcalloc(r->nrcpt + 1, sizeof(*r->rcpts));
	r->replies = xcalloc(r->nrcpt + 1, sizeof(*r->replies));
	r->delivered = xcalloc(r->nrcpt + 1, 1);
	for (i = 0; i < r->nrcpt; i++) {
		r->rcpts[i] = xstrdup(s->rcpts.v[i]);
		r->replies[i] = xstrdup("");
	}
}

enum ipc_status
submit_create_op(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct submit_new *s = arg;
	struct message_rec *m;
	struct submit_rec r;
	struct blob_view bv = { 0 };
	enum ipc_status st;
	uint64_t id;

	if ((st = submit_identity_exists(db, txn, s->account_id,
	    s->identity_id, err)) != IPC_S_OK)
		return st;
	/* A message record holds every keyword: too big for the stack. */
	m = xmalloc(sizeof(*m));
	if ((st = message_get(db, txn, s->account_id, s->email_id, m,
	    err)) != IPC_S_OK) {
		free(m);
		return st == IPC_S_NOTFOUND ? db_error(err, st,
		    "no such email") : st;
	}
	s->thread_id = m->thread;
	s->due = s->send_at > s->now ? s->send_at : s->now;
	memset(&r, 0, sizeof(r));
	if ((st = submit_may_send_as(db, txn, s->account_id, s->mail_from,
	    false, err)) != IPC_S_OK)
		goto out;
	/* The email holds its blob: the reference taken here shares it. */
	if ((st = blob_view_get(db, txn, m->hash, &bv, NULL, err)) ==
	    IPC_S_NOTFOUND)
		st = db_error(err, IPC_S_INTERNAL, "email %llu has no blob",
		    (unsigned long long)s->email_id);
	if (st != IPC_S_OK ||
	    (st = blob_ref(db, txn, m->hash, bv.p, bv.len, NULL, err)) !=
	    IPC_S_OK ||
	    (st = submit_counter_get(txn, db->submissions, s->account_id,
	    SUBMIT_SUB_FIRST, &id, err)) != IPC_S_OK ||
	    (st = submit_counter_put(txn, db->submissions, s->account_id,
	    id + 1, err)) != IPC_S_OK)
		goto out;
	submit_rec_new(&r, s, m);
	if ((st = submit_requeue(db, txn, s->account_id, id, &r, s->due,
	    err)) != IPC_S_OK ||
	    (st = submit_put(db, txn, s->account_id, id, &r, err)) !=
	    IPC_S_OK ||
	    (st = submit_log(db, txn, s->account_id, CHANGE_SUBMISSION,
	    CHANGE_CREATED, id, &s->state, err)) != IPC_S_OK)
		goto out;
	s->id = id;
out:
	blob_view_release(&bv);
	submit_rec_clear(&r);
	free(m);
	return st;
}

/* --- Automatic submissions --- */

/* submit_get, but an automatic submission is no submission of the user. */
static enum ipc_status
submit_get_user(struct store_db *db, MDB_txn *txn, uint64_t acct,
    uint64_t id, struct submit_rec *r, struct store_error *err)
{
	enum ipc_status st;

	if ((st = submit_get(db, txn, acct, id, r, err)) != IPC_S_OK)
		return st;
	if (r->identity_id != SUBMIT_IDENTITY_AUTO)
		return IPC_S_OK;
	submit_rec_clear(r);
	return db_error(err, IPC_S_NOTFOUND, "no such submission");
}

/* --- SUBMIT_LIST --- */

void
submit_list_clear(struct submit_list *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		submit_rec_clear(&r->v[i]);
	free(r->v);
	free(r->ids);
	memset(r, 0, sizeof(*r));
}

/* Bytes a submission takes in a reply, about. */
static size_t
submit_rec_bytes(const struct submit_rec *r)
{
	size_t n = 128 + strlen(r->mail_from);
	uint32_t i;

	for (i = 0; i < r->nrcpt; i++)
		n += 20 + strlen(r->rcpts[i]) + strlen(r->replies[i]);
	return n;
}

static void
submit_list_add(struct submit_list *l, size_t *cap, uint64_t id,
    struct submit_rec *r)
{
	if (l->n == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		l->v = xreallocarray(l->v, *cap, sizeof(*l->v));
		l->ids = xreallocarray(l->ids, *cap, sizeof(*l->ids));
	}
	l->ids[l->n] = id;
	l->v[l->n++] = *r;
	memset(r, 0, sizeof(*r));
}

/* All of acct's submissions, newest first, as many as fit. */
static enum ipc_status
submit_list_all(struct store_db *db, MDB_txn *txn, uint64_t acct,
    struct submit_list *l, struct store_error *err)
{
	struct submit_rec r;
	struct key_mail pre, start;
	MDB_cursor *cur;
	MDB_val k, d;
	size_t cap = 0, bytes = 0;
	int rc;

	key_mail_init(&pre, acct);
	k = submit_key(&start, acct, UINT64_MAX);
	if ((rc = mdb_cursor_open(txn, db->submissions, &cur)) != 0)
		return db_mdb_error(err, rc, "cursor");
	/* The last key of acct is before (acct, 2^64 - 1) or is it. */
	if ((rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE)) == 0) {
		if (!key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len))
			rc = mdb_cursor_get(cur, &k, &d, MDB_PREV);
	} else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	for (; rc == 0 && l->n < SUBMIT_LIST_MAX &&
	    key_has_prefix(k.mv_data, k.mv_size, pre.b, pre.len);
	    rc = mdb_cursor_get(cur, &k, &d, MDB_PREV)) {
		if (k.mv_size != 16)
			continue;	/* the counter */
		if (submit_rec_dec(d.mv_data, d.mv_size, &r) == -1) {
			mdb_cursor_close(cur);
			return db_error(err, IPC_S_INTERNAL, "corrupt "
			    "submission of account %llu",
			    (unsigned long long)acct);
		}
		if (r.identity_id == SUBMIT_IDENTITY_AUTO) {
			submit_rec_clear(&r);	/* not the user's */
			continue;
		}
		bytes += submit_rec_bytes(&r);
		if (l->n > 0 && bytes > SUBMIT_LIST_BYTES) {
			submit_rec_clear(&r);
			break;
		}
		submit_list_add(l, &cap,
		    wire_be64_get((const uint8_t *)k.mv_data + 8), &r);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "submission scan");
	return IPC_S_OK;
}

enum ipc_status
submit_list(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const uint64_t *ids, size_t nids, struct submit_list *r,
    struct store_error *err)
{
	struct submit_rec rec;
	enum ipc_status st;
	size_t i, cap = 0, bytes = 0;

	memset(r, 0, sizeof(*r));
	if ((st = submit_state(db, txn, account_id, &r->state, err)) !=
	    IPC_S_OK)
		return st;
	if (nids == 0)
		return submit_list_all(db, txn, account_id, r, err);
	for (i = 0; i < nids; i++) {
		st = submit_get_user(db, txn, account_id, ids[i], &rec, err);
		if (st == IPC_S_NOTFOUND)
			continue;
		if (st != IPC_S_OK)
			return st;
		if ((bytes += submit_rec_bytes(&rec)) > SUBMIT_LIST_BYTES) {
			submit_rec_clear(&rec);
			return db_error(err, IPC_S_TOOBIG, "submissions above "
			    "%u bytes: ask for fewer", SUBMIT_LIST_BYTES);
		}
		submit_list_add(r, &cap, ids[i], &rec);
	}
	return IPC_S_OK;
}

/* --- SUBMIT_CANCEL, SUBMIT_DEL --- */

enum ipc_status
submit_cancel_op(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct submit_id_op *op = arg;
	struct submit_rec r;
	enum ipc_status st;

	if ((st = submit_get_user(db, txn, op->account_id, op->id, &r,
	    err)) != IPC_S_OK)
		return st;
	if (r.undo != SUBMIT_UNDO_PENDING)
		st = db_error(err, IPC_S_CONFLICT, "submission %llu is %s",
		    (unsigned long long)op->id, r.undo == SUBMIT_UNDO_FINAL ?
		    "final" : "canceled already");
	else {
		r.undo = SUBMIT_UNDO_CANCELED;
		if ((st = submit_requeue(db, txn, op->account_id, op->id, &r,
		    0, err)) == IPC_S_OK &&
		    (st = submit_put(db, txn, op->account_id, op->id, &r,
		    err)) == IPC_S_OK)
			st = submit_log(db, txn, op->account_id,
			    CHANGE_SUBMISSION, CHANGE_UPDATED, op->id,
			    &op->state, err);
	}
	submit_rec_clear(&r);
	return st;
}

enum ipc_status
submit_del_op(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct submit_id_op *op = arg;
	struct submit_rec r;
	struct key_mail k;
	enum ipc_status st;
	MDB_val kv;
	int rc;

	if ((st = submit_get_user(db, txn, op->account_id, op->id, &r,
	    err)) != IPC_S_OK)
		return st;
	kv = submit_key(&k, op->account_id, op->id);
	if ((st = submit_requeue(db, txn, op->account_id, op->id, &r, 0,
	    err)) != IPC_S_OK)
		goto out;
	if ((rc = mdb_del(txn, db->submissions, &kv, NULL)) != 0) {
		st = db_mdb_error(err, rc, "submission delete");
		goto out;
	}
	st = blob_unref(db, txn, r.hash, NULL, err);
	if (st == IPC_S_NOTFOUND) {
		log_warnx("submission %llu of account %llu had no blob",
		    (unsigned long long)op->id,
		    (unsigned long long)op->account_id);
		st = IPC_S_OK;
	}
	if (st == IPC_S_OK)
		st = submit_log(db, txn, op->account_id, CHANGE_SUBMISSION,
		    CHANGE_DESTROYED, op->id, &op->state, err);
out:
	submit_rec_clear(&r);
	return st;
}

/* --- RELAY_TAKE --- */

void
submit_take_clear(struct submit_take *t)
{
	submit_rec_clear(&t->rec);
	strvec_clear(&t->rcpts);
}

/*
 * Checks that fd is an empty memfd that storaged may write (upload.c's
 * rule): only a memfd has seals, and a write seal would fail the write
 * halfway.
 */
static enum ipc_status
submit_memfd_check(int fd, struct store_error *err)
{
	struct stat sb;
	int seals, fl;

	if (fd == -1 || (seals = fcntl(fd, F_GET_SEALS)) == -1 ||
	    (fl = fcntl(fd, F_GETFL)) == -1 || fstat(fd, &sb) == -1 ||
	    !S_ISREG(sb.st_mode) || sb.st_size != 0)
		return db_error(err, IPC_S_INVALID, "not an empty memfd");
	if ((fl & O_ACCMODE) == O_RDONLY ||
	    (seals & (F_SEAL_WRITE | F_SEAL_GROW)) != 0)
		return db_error(err, IPC_S_INVALID, "memfd not writable");
	return IPC_S_OK;
}

/* Writes the len bytes at p into fd at offset at. */
static enum ipc_status
submit_write_fd(int fd, size_t at, const uint8_t *p, size_t len,
    struct store_error *err)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = pwrite(fd, p + off, len - off, (off_t)(at + off));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return db_error(err, IPC_S_INVALID, "cannot write the "
			    "message to the memfd: %s", n == 0 ? "no space" :
			    strerror(errno));
		off += (size_t)n;
	}
	return IPC_S_OK;
}

/*
 * Looks at the first queue entry: IPC_S_OK with *found_r when it is a
 * submission to take (its record in *r), else drops it (*found_r false)
 * or reports the queue done (IPC_S_NOTFOUND: empty, or nothing due).
 */
static enum ipc_status
submit_take_first(struct store_db *db, MDB_txn *txn, struct submit_take *t,
    struct submit_rec *r, bool *found_r, struct store_error *err)
{
	uint8_t qb[SUBMIT_QKEY_LEN];
	enum ipc_status st;
	MDB_cursor *cur;
	MDB_val k, d;
	uint64_t due;
	int rc;

	*found_r = false;
	if ((rc = mdb_cursor_open(txn, db->relay_queue, &cur)) != 0)
		return db_mdb_error(err, rc, "queue cursor");
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	if (rc == 0 && k.mv_size == SUBMIT_QKEY_LEN)
		memcpy(qb, k.mv_data, SUBMIT_QKEY_LEN);
	else if (rc == 0) {
		/* Not a key this file wrote: dropped. */
		rc = mdb_cursor_del(cur, 0);
		mdb_cursor_close(cur);
		if (rc != 0)
			return db_mdb_error(err, rc, "queue delete");
		t->dropped++;
		return IPC_S_OK;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return IPC_S_NOTFOUND;
	if (rc != 0)
		return db_mdb_error(err, rc, "queue read");
	if ((due = wire_be64_get(qb)) > t->now)
		return IPC_S_NOTFOUND;
	t->account_id = wire_be64_get(qb + 8);
	t->id = wire_be64_get(qb + 16);
	st = submit_get(db, txn, t->account_id, t->id, r, err);
	if (st == IPC_S_OK && r->due == due &&
	    r->undo != SUBMIT_UNDO_CANCELED && submit_queued(r) > 0) {
		*found_r = true;
		return IPC_S_OK;
	}
	if (st != IPC_S_OK && st != IPC_S_NOTFOUND)
		return st;
	/* Gone (a purged account), stale, canceled or done: dropped. */
	t->dropped++;
	k = submit_qkey(qb, due, t->account_id, t->id);
	if ((rc = mdb_del(txn, db->relay_queue, &k, NULL)) != 0)
		return db_mdb_error(err, rc, "queue delete");
	if (st == IPC_S_OK && r->due == due) {
		r->due = 0;
		st = submit_put(db, txn, t->account_id, t->id, r, err);
	} else
		st = IPC_S_OK;
	submit_rec_clear(r);
	return st;
}

/*
 * The DKIM-Signature field for the message taken, into hdr (nothing when
 * unsigned).  A failure is no reason to hold the mail back: it goes
 * unsigned, as it would without a key, and the log says why.
 */
static void
submit_take_sign(struct submit_take *t, const void *p, size_t len,
    struct buf *hdr)
{
	const struct submit_dkim_key *k;
	char why[256];

	t->dkim_domain = NULL;
	if (t->dkim == NULL)
		return;
	switch (submit_dkim_sign(t->dkim, p, len, (time_t)t->now, hdr, &k,
	    why, sizeof(why))) {
	case 1:
		t->dkim_domain = k->domain;
		break;
	case -1:
		log_warnx("submission %llu of account %llu sent unsigned: "
		    "dkim: %s", (unsigned long long)t->id,
		    (unsigned long long)t->account_id, why);
		break;
	}
}

enum ipc_status
submit_take_op(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct submit_take *t = arg;
	struct submit_rec *r = &t->rec;
	struct blob_view bv;
	enum ipc_status st;
	size_t len;
	uint32_t i;
	bool found = false;

	t->found = false;
	t->dkim_domain = NULL;
	submit_take_clear(t);
	if ((st = submit_memfd_check(t->fd, err)) != IPC_S_OK)
		return st;
	for (;;) {
		if ((st = submit_take_first(db, txn, t, r, &found, err)) ==
		    IPC_S_NOTFOUND)
			return IPC_S_OK;
		if (st != IPC_S_OK)
			return st;
		if (!found)
			continue;
		/* Its size only: the bytes are read after the commit. */
		if ((st = blob_view_peek(db, txn, r->hash, &bv, err)) ==
		    IPC_S_OK)
			break;
		if (st != IPC_S_NOTFOUND)
			return st;
		/* Nothing to send: out of the queue, not in its way. */
		log_warnx("submission %llu of account %llu has no blob",
		    (unsigned long long)t->id,
		    (unsigned long long)t->account_id);
		t->dropped++;
		if ((st = submit_requeue(db, txn, t->account_id, t->id, r, 0,
		    err)) != IPC_S_OK ||
		    (st = submit_put(db, txn, t->account_id, t->id, r, err)) !=
		    IPC_S_OK)
			return st;
		submit_rec_clear(r);
	}
	len = bv.len;
	blob_view_release(&bv);
	if (len > SUBMIT_FILE_MAX)
		return db_error(err, IPC_S_TOOBIG, "message of %zu bytes", len);
	t->size = len;		/* submit_take_write() adds the signature */
	t->lease = t->now + SUBMIT_RELAY_LEASE;
	r->undo = SUBMIT_UNDO_FINAL;
	r->taken = true;
	if ((st = submit_requeue(db, txn, t->account_id, t->id, r, t->lease,
	    err)) != IPC_S_OK ||
	    (st = submit_put(db, txn, t->account_id, t->id, r, err)) !=
	    IPC_S_OK ||
	    (r->identity_id != SUBMIT_IDENTITY_AUTO &&
	    (st = submit_log(db, txn, t->account_id, CHANGE_SUBMISSION,
	    CHANGE_UPDATED, t->id, NULL, err)) != IPC_S_OK))
		return st;
	for (i = 0; i < r->nrcpt; i++)
		if (r->delivered[i] == SUBMIT_DLV_QUEUED)
			strvec_add(&t->rcpts, r->rcpts[i]);
	t->found = true;
	return IPC_S_OK;
}

enum ipc_status
submit_take_write(struct store_db *db, MDB_txn *txn, struct submit_take *t,
    struct store_error *err)
{
	struct buf hdr = BUF_INIT;
	struct blob_view bv = { 0 };
	enum ipc_status st;

	if ((st = blob_view_get(db, txn, t->rec.hash, &bv, NULL, err)) !=
	    IPC_S_OK)
		return st;
	submit_take_sign(t, bv.p, bv.len, &hdr);
	if ((st = submit_write_fd(t->fd, 0, hdr.data, hdr.len, err)) ==
	    IPC_S_OK)
		st = submit_write_fd(t->fd, hdr.len, bv.p, bv.len, err);
	t->size = hdr.len + bv.len;
	buf_clear(&hdr);
	blob_view_release(&bv);
	return st;
}

/* --- RELAY_DONE --- */

struct submit_done *
submit_done_make(uint64_t account_id, uint64_t id,
    const struct wire_strlist *replies, const struct wire_u64list *delivered,
    uint64_t retry_at, uint64_t now, enum ipc_status *st_r,
    struct store_error *err)
{
	struct submit_done *d;
	struct wire_iter it;
	const char *s;
	size_t len;
	uint32_t i;

	*st_r = IPC_S_INVALID;
	if (replies->count != delivered->count ||
	    replies->count > SUBMIT_RCPTS_MAX) {
		db_error(err, IPC_S_INVALID, "%u replies for %u recipients",
		    replies->count, delivered->count);
		return NULL;
	}
	for (i = 0; i < delivered->count; i++)
		if (wire_u64list_get(delivered, i) > SUBMIT_DLV_UNKNOWN) {
			db_error(err, IPC_S_INVALID, "delivered %llu",
			    (unsigned long long)wire_u64list_get(delivered,
			    i));
			return NULL;
		}
	d = xcalloc(1, sizeof(*d));
	d->account_id = account_id;
	d->id = id;
	d->retry_at = retry_at;
	d->now = now;
	d->n = replies->count;
	d->replies = xcalloc(d->n + 1, sizeof(*d->replies));
	d->delivered = xcalloc(d->n + 1, 1);
	wire_strlist_iter(replies, &it);
	for (i = 0; i < d->n; i++) {
		if ((s = wire_strlist_next_len(&it, &len)) == NULL)
			s = "", len = 0;
		/* Kept, not refused: a refusal would only send it again. */
		if (len > SUBMIT_REPLY_MAX)
			len = SUBMIT_REPLY_MAX;
		len = charset_utf8_prefix(s, len);
		d->replies[i] = submit_strdup(s, len);
		d->delivered[i] = (uint8_t)wire_u64list_get(delivered, i);
	}
	*st_r = IPC_S_OK;
	return d;
}

void
submit_done_free(struct submit_done **dp)
{
	struct submit_done *d = *dp;
	uint32_t i;

	*dp = NULL;
	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		free(d->replies[i]);
	free(d->replies);
	free(d->delivered);
	free(d);
}

enum ipc_status
submit_done_op(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct submit_done *d = arg;
	struct submit_rec r;
	enum ipc_status st;
	uint32_t i, j = 0;
	uint64_t due = 0;

	d->requeued = 0;
	if ((st = submit_get(db, txn, d->account_id, d->id, &r, err)) !=
	    IPC_S_OK)
		return st;
	if (!r.taken)
		st = db_error(err, IPC_S_CONFLICT, "submission %llu is not "
		    "taken", (unsigned long long)d->id);
	else if (submit_queued(&r) != d->n)
		st = db_error(err, IPC_S_CONFLICT, "%u results for %u "
		    "recipients queued", d->n, submit_queued(&r));
	if (st != IPC_S_OK)
		goto out;
	for (i = 0; i < r.nrcpt; i++) {
		if (r.delivered[i] != SUBMIT_DLV_QUEUED)
			continue;
		free(r.replies[i]);
		r.replies[i] = xstrdup(d->replies[j]);
		r.delivered[i] = d->delivered[j++];
	}
	if (d->retry_at != 0 && submit_queued(&r) > 0)
		due = d->retry_at;
	r.taken = false;
	if (r.identity_id == SUBMIT_IDENTITY_AUTO) {
		/* The server's own: kept only while it has work. */
		st = due != 0 ? submit_requeue(db, txn, d->account_id, d->id,
		    &r, due, err) : submit_auto_forget(db, txn, d->account_id,
		    d->id, &r, err);
		if (st == IPC_S_OK && due != 0)
			st = submit_put(db, txn, d->account_id, d->id, &r, err);
		d->requeued = st == IPC_S_OK ? due : 0;
		goto out;
	}
	if ((st = submit_requeue(db, txn, d->account_id, d->id, &r, due,
	    err)) != IPC_S_OK ||
	    (st = submit_put(db, txn, d->account_id, d->id, &r, err)) !=
	    IPC_S_OK ||
	    (st = submit_log(db, txn, d->account_id, CHANGE_SUBMISSION,
	    CHANGE_UPDATED, d->id, NULL, err)) != IPC_S_OK)
		goto out;
	d->requeued = due;
out:
	submit_rec_clear(&r);
	return st;
}

enum ipc_status
submit_next_due(struct store_db *db, MDB_txn *txn, uint64_t *due_r,
    struct store_error *err)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	*due_r = 0;
	if ((rc = mdb_cursor_open(txn, db->relay_queue, &cur)) != 0)
		return db_mdb_error(err, rc, "queue cursor");
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	if (rc == 0 && k.mv_size >= 8)
		*due_r = wire_be64_get(k.mv_data);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return IPC_S_NOTFOUND;
	return rc == 0 ? IPC_S_OK : db_mdb_error(err, rc, "queue read");
}
