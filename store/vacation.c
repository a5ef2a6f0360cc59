/* SPDX-License-Identifier: ISC */
/*
 * vacation.c: the VacationResponse of an account (RFC 8621 8) in the
 * database and the automatic replies it makes at delivery (see
 * vacation.h): reading and setting it, the senders answered, and the
 * reply queued in the delivery's transaction.  What needs no database
 * (the record's bytes, RFC 3834's judgement, the reply's message) is in
 * vacation_mail.c.
 */
#include "vacation.h"
#include "account.h"
#include "charset.h"
#include "key.h"
#include "log.h"
#include "submit.h"
#include "submit_int.h"
#include "wire.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define VACATION_TAG_SENT	'r'

/* --- The record --- */

enum ipc_status
vacation_get(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    struct vacation *v, uint64_t *state_r, struct store_error *err)
{
	struct key_mail k;
	MDB_val kv, d;
	int rc;

	memset(v, 0, sizeof(*v));
	key_mail_init(&k, account_id);
	kv.mv_data = k.b;
	kv.mv_size = k.len;
	if ((rc = mdb_get(txn, db->vacations, &kv, &d)) == MDB_NOTFOUND)
		return submit_state(db, txn, account_id, state_r, err);
	if (rc != 0)
		return db_mdb_error(err, rc, "vacation read");
	if (vacation_decode(d.mv_data, d.mv_size, v) == -1)
		return db_error(err, IPC_S_INTERNAL, "corrupt vacation record "
		    "of account %llu", (unsigned long long)account_id);
	return submit_state(db, txn, account_id, state_r, err);
}

/* --- VACATION_SET --- */

static const char *
vacation_text_bad(const char *s, size_t max, bool line, enum ipc_status *st)
{
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	*st = IPC_S_TOOBIG;
	if (n > max)
		return "is too long";
	*st = IPC_S_INVALID;
	if (!charset_utf8_valid(s, n))
		return "is not UTF-8";
	if (line && strpbrk(s, "\r\n") != NULL)
		return "has a line break";
	return NULL;
}

struct vacation_op *
vacation_op_new(uint64_t account_id, bool enabled, uint64_t from,
    uint64_t to, const char *subject, const char *text, const char *html,
    enum ipc_status *st_r, struct store_error *err)
{
	struct vacation_op *op;
	const char *why;

	if ((why = vacation_text_bad(subject, VACATION_SUBJECT_MAX, true,
	    st_r)) != NULL) {
		db_error(err, *st_r, "subject %s", why);
		return NULL;
	}
	if ((why = vacation_text_bad(text, VACATION_BODY_MAX, false,
	    st_r)) != NULL) {
		db_error(err, *st_r, "textBody %s", why);
		return NULL;
	}
	if ((why = vacation_text_bad(html, VACATION_BODY_MAX, false,
	    st_r)) != NULL) {
		db_error(err, *st_r, "htmlBody %s", why);
		return NULL;
	}
	op = xcalloc(1, sizeof(*op));
	op->account_id = account_id;
	op->v.enabled = enabled;
	op->v.from = from;
	op->v.to = to;
	op->v.subject = subject != NULL ? xstrdup(subject) : NULL;
	op->v.text = text != NULL ? xstrdup(text) : NULL;
	op->v.html = html != NULL ? xstrdup(html) : NULL;
	*st_r = IPC_S_OK;
	return op;
}

void
vacation_op_free(struct vacation_op **opp)
{
	if (*opp == NULL)
		return;
	vacation_clear(&(*opp)->v);
	free(*opp);
	*opp = NULL;
}

/* Forgets the senders account_id's response answered. */
static enum ipc_status
vacation_forget(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    struct store_error *err)
{
	struct key_mail pre;
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	key_mail_init(&pre, account_id);
	key_mail_bytes(&pre, (const uint8_t[]){ VACATION_TAG_SENT }, 1);
	if ((rc = mdb_cursor_open(txn, db->vacations, &cur)) != 0)
		return db_mdb_error(err, rc, "vacation cursor");
	k.mv_data = pre.b;
	k.mv_size = pre.len;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size < pre.len || memcmp(k.mv_data, pre.b,
		    pre.len) != 0)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return db_mdb_error(err, rc, "vacation forget");
	return IPC_S_OK;
}

enum ipc_status
vacation_set_op(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct vacation_op *op = arg;
	struct buf b = BUF_INIT;
	struct key_mail k;
	enum ipc_status st;
	MDB_val kv, d;
	int rc;

	key_mail_init(&k, op->account_id);
	kv.mv_data = k.b;
	kv.mv_size = k.len;
	vacation_encode(&b, &op->v);
	d.mv_data = b.data;
	d.mv_size = b.len;
	rc = mdb_put(txn, db->vacations, &kv, &d, 0);
	buf_clear(&b);
	if (rc != 0)
		return db_mdb_error(err, rc, "vacation write");
	if ((st = vacation_forget(db, txn, op->account_id, err)) != IPC_S_OK)
		return st;
	return submit_log(db, txn, op->account_id, CHANGE_VACATION,
	    CHANGE_UPDATED, 1, &op->state, err);
}

/* --- The senders answered --- */

static void
vacation_sent_key(struct key_mail *k, uint64_t account_id, const char *from)
{
	uint8_t h[crypto_generichash_BYTES];
	char norm[512];

	vacation_addr_norm(from, norm, sizeof(norm));
	crypto_generichash(h, sizeof(h), (const uint8_t *)norm,
	    strlen(norm), NULL, 0);
	key_mail_init(k, account_id);
	key_mail_bytes(k, (const uint8_t[]){ VACATION_TAG_SENT }, 1);
	key_mail_bytes(k, h, sizeof(h));
}

enum ipc_status
vacation_deliver(struct store_db *db, MDB_txn *txn,
    const struct vacation_mail *m, bool *queued_r, struct store_error *err)
{
	struct vacation v;
	struct account acc;
	struct key_mail k;
	struct buf msg = BUF_INIT, when = BUF_INIT;
	enum ipc_status st;
	const char *why;
	char from[512];
	MDB_val kv, d;
	uint64_t state, id;
	int rc;

	*queued_r = false;
	if ((st = vacation_get(db, txn, m->account_id, &v, &state, err)) !=
	    IPC_S_OK || !v.enabled || (v.from != 0 && m->now < v.from) ||
	    (v.to != 0 && m->now >= v.to))
		goto out;
	if ((st = account_get_id_txn(db, txn, m->account_id, &acc, err)) !=
	    IPC_S_OK)
		goto out;
	if ((why = vacation_refusal(m->envelope_from, m->recipient, acc.name,
	    m->data, m->size)) != NULL) {
		log_debug("vacation not sent account=%llu why=\"%s\"",
		    (unsigned long long)m->account_id, why);
		goto out;
	}
	vacation_sent_key(&k, m->account_id, m->envelope_from);
	kv.mv_data = k.b;
	kv.mv_size = k.len;
	rc = mdb_get(txn, db->vacations, &kv, &d);
	if (rc == 0 && d.mv_size == 8 && wire_be64_get(d.mv_data) +
	    VACATION_DAYS * 86400ull > m->now)
		goto out;		/* answered lately */
	if (rc != 0 && rc != MDB_NOTFOUND) {
		st = db_mdb_error(err, rc, "vacation read");
		goto out;
	}
	vacation_addr_norm(m->recipient, from, sizeof(from));
	vacation_message(&msg, &v, m, from);
	if ((st = submit_queue_auto(db, txn, m->account_id, msg.data,
	    msg.len, m->envelope_from, m->now, &id, err)) != IPC_S_OK)
		goto out;
	buf_reserve(&when, 8);
	wire_be64_put(buf_tail(&when), m->now);
	buf_commit(&when, 8);
	d.mv_data = when.data;
	d.mv_size = 8;
	if ((rc = mdb_put(txn, db->vacations, &kv, &d, 0)) != 0) {
		st = db_mdb_error(err, rc, "vacation write");
		goto out;
	}
	*queued_r = true;
	log_info("vacation reply queued account=%llu id=%llu",
	    (unsigned long long)m->account_id, (unsigned long long)id);
out:
	buf_clear(&msg);
	buf_clear(&when);
	vacation_clear(&v);
	return st;
}
