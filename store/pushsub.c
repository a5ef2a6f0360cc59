/* SPDX-License-Identifier: ISC */
/*
 * pushsub.c: JMAP PushSubscription records (RFC 8620 7.2) and the queue
 * of pushes for lmtpd (see pushsub.h).  The queue is a list: it holds at
 * most two entries per subscription (one being sent, one waiting) and a
 * user has at most PUSHSUB_MAX subscriptions, so a walk is cheap next to
 * the HTTPS request each entry stands for.
 */
#include "pushsub.h"
#include "changelog.h"
#include "json.h"
#include "key.h"
#include "log.h"
#include "objid.h"
#include "pushtypes.h"
#include "record.h"
#include "submit_int.h"
#include "wire.h"
#include "xmalloc.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

/* --- Records --- */

void
pushsub_clear(struct pushsub *s)
{
	if (s->url != NULL)
		sodium_memzero(s->url, strlen(s->url));
	free(s->url);
	free(s->device_id);
	sodium_memzero(s, sizeof(*s));
}

void
pushsub_list_clear(struct pushsub_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		pushsub_clear(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/*
 * The authority of an https URL: host (a reg-name of letters, digits,
 * "-" and ".", or an IP literal in brackets) and an optional port.  The
 * same rules as lmtpd's parser (workers/lmtpd/lmtp_push.c), which has
 * the last word; here a client learns of a bad URL at once.
 */
static bool
pushsub_authority_ok(const char *a, size_t n)
{
	const char *e = a + n, *h;
	unsigned long port = 0;

	if (n == 0)
		return false;
	if (*a == '[') {
		if ((h = memchr(a, ']', n)) == NULL || h == a + 1)
			return false;
		a = h + 1;
	} else {
		for (h = a; h < e && *h != ':'; h++)
			if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' &&
			    *h <= 'Z') || (*h >= '0' && *h <= '9') ||
			    *h == '-' || *h == '.'))
				return false;
		if (h == a || *a == '-' || *a == '.')
			return false;
		a = h;
	}
	if (a == e)
		return true;
	if (*a++ != ':' || a == e || e - a > 5)
		return false;
	for (; a < e; a++) {
		if (*a < '0' || *a > '9')
			return false;
		port = port * 10 + (unsigned long)(*a - '0');
	}
	return port >= 1 && port <= 65535;
}

bool
pushsub_url_ok(const char *url)
{
	size_t i, n = strlen(url);

	if (n > PUSHSUB_URL_MAX || strncasecmp(url, "https://", 8) != 0)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f)
			return false;
	return pushsub_authority_ok(url + 8, strcspn(url + 8, "/?#"));
}

uint64_t
pushsub_expires_cap(uint64_t asked, uint64_t now)
{
	if (asked == 0 || asked > now + PUSHSUB_EXPIRES_MAX)
		return now + PUSHSUB_EXPIRES_MAX;
	return asked;
}

static void
pushsub_enc(struct buf *b, const struct pushsub *s, uint64_t created)
{
	struct wire_bytes k = { s->p256dh, s->has_keys ? WEBPUSH_KEY_LEN : 0 };
	struct wire_bytes a = { s->auth, s->has_keys ? WEBPUSH_AUTH_LEN : 0 };

	wire_put_U8(b, RECORD_V1);
	wire_put_STR(b, s->device_id);
	wire_put_STR(b, s->url);
	wire_put_BYTES(b, k);
	wire_put_BYTES(b, a);
	wire_put_STR(b, s->code);
	wire_put_BOOL(b, s->verified);
	wire_put_U64(b, s->expires);
	wire_put_U32(b, s->types);
	wire_put_U64(b, created);
}

static int
pushsub_dec(const void *p, size_t len, uint64_t id, struct pushsub *s)
{
	struct wire_reader rd;
	struct wire_bytes k, a;
	const char *dev = NULL, *url = NULL, *code = NULL;
	size_t dl = 0, ul = 0, cl = 0;
	uint64_t created = 0;
	uint8_t v = 0;

	memset(s, 0, sizeof(*s));
	wire_reader_init(&rd, p, len);
	if (wire_get_U8(&rd, &v) == 0 && v != RECORD_V1)
		return -1;
	wire_get_STRN(&rd, &dev, &dl);
	wire_get_STRN(&rd, &url, &ul);
	wire_get_BYTES(&rd, &k);
	wire_get_BYTES(&rd, &a);
	wire_get_STRN(&rd, &code, &cl);
	wire_get_BOOL(&rd, &s->verified);
	wire_get_U64(&rd, &s->expires);
	wire_get_U32(&rd, &s->types);
	wire_get_U64(&rd, &created);
	if (wire_reader_finish(&rd) == -1 || cl > PUSHSUB_CODE_LEN ||
	    (k.len != 0 && (k.len != WEBPUSH_KEY_LEN ||
	    a.len != WEBPUSH_AUTH_LEN)))
		return -1;
	s->id = id;
	s->device_id = submit_strdup(dev, dl);
	s->url = submit_strdup(url, ul);
	memcpy(s->code, code, cl);
	if (k.len != 0) {
		s->has_keys = true;
		memcpy(s->p256dh, k.p, WEBPUSH_KEY_LEN);
		memcpy(s->auth, a.p, WEBPUSH_AUTH_LEN);
	}
	return 0;
}

struct pushsub_scan {
	struct pushsub_list	*out;
	size_t			 cap;
	bool			 bad;
};

static int
pushsub_scan_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct pushsub_scan *x = arg;
	struct pushsub s;

	if (k->mv_size != 16)
		return 0;	/* the counter */
	if (pushsub_dec(v->mv_data, v->mv_size,
	    wire_be64_get((const uint8_t *)k->mv_data + 8), &s) == -1) {
		x->bad = true;
		return 1;
	}
	if (x->out->n == x->cap) {
		x->cap = x->cap == 0 ? 4 : x->cap * 2;
		x->out->v = xreallocarray(x->out->v, x->cap, sizeof(s));
	}
	x->out->v[x->out->n++] = s;
	return 0;
}

enum ipc_status
pushsub_list(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    struct pushsub_list *r, struct store_error *err)
{
	struct pushsub_scan x = { r, 0, false };
	struct key_mail pre;
	enum ipc_status st;

	key_mail_init(&pre, account_id);
	if ((st = db_scan(txn, db->pushsubs, pre.b, pre.len, pushsub_scan_cb,
	    &x, err)) != IPC_S_OK)
		return st;
	if (x.bad)
		return db_error(err, IPC_S_INTERNAL, "corrupt push "
		    "subscription of account %llu",
		    (unsigned long long)account_id);
	return IPC_S_OK;
}

enum ipc_status
pushsub_get(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t id, struct pushsub *s, struct store_error *err)
{
	struct key_mail k;
	MDB_val kv, d;
	int rc;

	memset(s, 0, sizeof(*s));
	kv = submit_key(&k, account_id, id);
	if ((rc = mdb_get(txn, db->pushsubs, &kv, &d)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no push subscription "
		    "%llu", (unsigned long long)id);
	if (rc != 0)
		return db_mdb_error(err, rc, "push subscription read");
	if (pushsub_dec(d.mv_data, d.mv_size, id, s) == -1)
		return db_error(err, IPC_S_INTERNAL, "corrupt push "
		    "subscription");
	return IPC_S_OK;
}

static enum ipc_status
pushsub_put(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    const struct pushsub *s, uint64_t created, struct store_error *err)
{
	struct buf b = BUF_INIT;
	struct key_mail k;
	MDB_val kv, d;
	int rc;

	pushsub_enc(&b, s, created);
	kv = submit_key(&k, account_id, s->id);
	d.mv_size = b.len;
	d.mv_data = b.data;
	rc = mdb_put(txn, db->pushsubs, &kv, &d, 0);
	buf_clear(&b);
	return rc == 0 ? IPC_S_OK : db_mdb_error(err, rc, "push subscription "
	    "write");
}

static enum ipc_status
pushsub_delete(struct store_db *db, MDB_txn *txn, uint64_t account_id,
    uint64_t id, struct store_error *err)
{
	struct key_mail k;
	MDB_val kv;
	int rc;

	kv = submit_key(&k, account_id, id);
	if ((rc = mdb_del(txn, db->pushsubs, &kv, NULL)) == MDB_NOTFOUND)
		return db_error(err, IPC_S_NOTFOUND, "no push subscription "
		    "%llu", (unsigned long long)id);
	return rc == 0 ? IPC_S_OK : db_mdb_error(err, rc, "push subscription "
	    "delete");
}

enum ipc_status
pushsub_revoke(struct store_db *db, uint64_t account_id, size_t *n_r,
    struct store_error *err)
{
	struct pushsub_list l = { NULL, 0 };
	enum ipc_status st;
	MDB_txn *txn;
	size_t i;

	*n_r = 0;
	if ((st = db_begin(db, true, &txn, err)) != IPC_S_OK)
		return st;
	st = pushsub_list(db, txn, account_id, &l, err);
	for (i = 0; st == IPC_S_OK && i < l.n; i++)
		st = pushsub_delete(db, txn, account_id, l.v[i].id, err);
	if (st == IPC_S_OK && l.n > 0)
		st = db_commit(&txn, err);
	else
		db_abort(&txn);
	if (st == IPC_S_OK)
		*n_r = l.n;
	pushsub_list_clear(&l);
	return st;
}

void
pushsub_op_free(struct pushsub_op **opp)
{
	struct pushsub_op *op = *opp;

	if (op == NULL)
		return;
	pushsub_clear(&op->in);
	free(op);
	*opp = NULL;
}

static enum ipc_status
pushsub_create(struct store_db *db, MDB_txn *txn, struct pushsub_op *op,
    size_t n, struct store_error *err)
{
	uint8_t rnd[PUSHSUB_CODE_LEN / 2];
	enum ipc_status st;
	uint64_t next;

	if (n >= PUSHSUB_MAX)
		return db_error(err, IPC_S_LIMIT, "more than %d push "
		    "subscriptions", PUSHSUB_MAX);
	if (!pushsub_url_ok(op->in.url))
		return db_error(err, IPC_S_INVALID, "url");
	if ((st = submit_counter_get(txn, db->pushsubs, op->account_id, 1,
	    &next, err)) != IPC_S_OK ||
	    (st = submit_counter_put(txn, db->pushsubs, op->account_id,
	    next + 1, err)) != IPC_S_OK)
		return st;
	op->in.id = next;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(op->in.code, sizeof(op->in.code), rnd, sizeof(rnd));
	op->in.verified = false;
	op->in.expires = pushsub_expires_cap(op->in.expires, op->now);
	return pushsub_put(db, txn, op->account_id, &op->in, op->now, err);
}

static enum ipc_status
pushsub_update(struct store_db *db, MDB_txn *txn, struct pushsub_op *op,
    struct store_error *err)
{
	struct pushsub s;
	enum ipc_status st;

	if ((st = pushsub_get(db, txn, op->account_id, op->in.id, &s, err)) !=
	    IPC_S_OK)
		return st;
	if ((op->what & PUSHSUB_SET_CODE) != 0) {
		/* 7.2.2: a wrong code is refused, even once verified. */
		if (sodium_memcmp(s.code, op->in.code, sizeof(s.code)) != 0) {
			pushsub_clear(&s);
			return db_error(err, IPC_S_INVALID,
			    "verificationCode");
		}
		op->verified_now = !s.verified;
		s.verified = true;
	}
	if ((op->what & PUSHSUB_SET_EXPIRES) != 0)
		s.expires = pushsub_expires_cap(op->in.expires, op->now);
	if ((op->what & PUSHSUB_SET_TYPES) != 0)
		s.types = op->in.types;
	op->in.expires = s.expires;
	st = pushsub_put(db, txn, op->account_id, &s, op->now, err);
	pushsub_clear(&s);
	return st;
}

enum ipc_status
pushsub_op_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct pushsub_op *op = arg;
	struct pushsub_list l = { NULL, 0 };
	enum ipc_status st;
	size_t i, live = 0;

	if ((st = pushsub_list(db, txn, op->account_id, &l, err)) != IPC_S_OK)
		goto out;
	/* 7.2: expired ones may go; they count no more. */
	for (i = 0; i < l.n; i++) {
		if (l.v[i].expires > op->now) {
			live++;
			continue;
		}
		if ((st = pushsub_delete(db, txn, op->account_id, l.v[i].id,
		    err)) != IPC_S_OK)
			goto out;
	}
	switch (op->kind) {
	case PUSHSUB_OP_CREATE:
		st = pushsub_create(db, txn, op, live, err);
		break;
	case PUSHSUB_OP_UPDATE:
		st = pushsub_update(db, txn, op, err);
		break;
	default:
		st = pushsub_delete(db, txn, op->account_id, op->in.id, err);
		break;
	}
out:
	pushsub_list_clear(&l);
	return st;
}

/* --- The queue --- */

struct pushq_ent {
	TAILQ_ENTRY(pushq_ent) entry;
	uint64_t	 account_id, id;
	bool		 verify;	/* a PushVerification */
	uint32_t	 types;		/* of a StateChange: what changed */
	uint64_t	 state, delivery;
	unsigned	 tries;
	uint64_t	 due;
	uint64_t	 token;		/* taken: not 0 */
};

/* What the queue has seen of an account's change log. */
struct pushq_seen {
	LIST_ENTRY(pushq_seen) entry;
	uint64_t	 account_id, modseq;
};

struct pushq {
	TAILQ_HEAD(, pushq_ent) q;
	LIST_HEAD(, pushq_seen) seen;
	size_t		 n;
	uint64_t	 next_token;
};

struct pushq *
pushq_new(void)
{
	struct pushq *q = xcalloc(1, sizeof(*q));

	TAILQ_INIT(&q->q);
	LIST_INIT(&q->seen);
	q->next_token = 1;
	return q;
}

static void
pushq_remove(struct pushq *q, struct pushq_ent *e)
{
	TAILQ_REMOVE(&q->q, e, entry);
	q->n--;
	free(e);
}

void
pushq_free(struct pushq **qp)
{
	struct pushq *q = *qp;
	struct pushq_seen *s;

	if (q == NULL)
		return;
	while (!TAILQ_EMPTY(&q->q))
		pushq_remove(q, TAILQ_FIRST(&q->q));
	while ((s = LIST_FIRST(&q->seen)) != NULL) {
		LIST_REMOVE(s, entry);
		free(s);
	}
	free(q);
	*qp = NULL;
}

size_t
pushq_len(const struct pushq *q)
{
	return q->n;
}

static struct pushq_ent *
pushq_add(struct pushq *q, uint64_t account_id, uint64_t id)
{
	struct pushq_ent *e = xcalloc(1, sizeof(*e));

	e->account_id = account_id;
	e->id = id;
	TAILQ_INSERT_TAIL(&q->q, e, entry);
	q->n++;
	return e;
}

void
pushq_verify(struct pushq *q, uint64_t account_id, uint64_t id)
{
	pushq_add(q, account_id, id)->verify = true;
}

static struct pushq_seen *
pushq_seen_find(struct pushq *q, uint64_t account_id)
{
	struct pushq_seen *s;

	LIST_FOREACH(s, &q->seen, entry)
		if (s->account_id == account_id)
			return s;
	return NULL;
}

void
pushq_seen(struct pushq *q, uint64_t account_id, uint64_t modseq)
{
	struct pushq_seen *s;

	if ((s = pushq_seen_find(q, account_id)) == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->account_id = account_id;
		LIST_INSERT_HEAD(&q->seen, s, entry);
	}
	if (modseq > s->modseq)
		s->modseq = modseq;
}

static int
pushq_log_cb(uint64_t modseq, const struct change_rec *c, void *arg)
{
	static const uint32_t bits[] = {
		[CHANGE_MAILBOX] = PUSHTYPE_MAILBOX,
		[CHANGE_EMAIL] = PUSHTYPE_EMAIL,
		[CHANGE_THREAD] = PUSHTYPE_THREAD,
		[CHANGE_IDENTITY] = PUSHTYPE_IDENTITY,
		[CHANGE_SUBMISSION] = PUSHTYPE_SUBMISSION,
		[CHANGE_VACATION] = PUSHTYPE_VACATION,
	};
	uint32_t *types = arg;

	(void)modseq;
	if (c->type < sizeof(bits) / sizeof(bits[0]))
		*types |= bits[c->type];
	return 0;
}

/*
 * The types that changed since the queue last looked at the account,
 * and its modseq now.  An account not seen since storaged started (or
 * seen before a restart) counts as changed in every type: better one
 * StateChange too many than one lost.
 */
static enum ipc_status
pushq_what_changed(struct pushq *q, struct store_db *db, MDB_txn *txn,
    uint64_t account_id, uint32_t *types, uint64_t *modseq,
    struct store_error *err)
{
	struct pushq_seen *s = pushq_seen_find(q, account_id);
	struct mstate_rec ms;
	enum ipc_status st;

	*types = 0;
	if ((st = submit_state(db, txn, account_id, modseq, err)) != IPC_S_OK)
		return st;
	ms.floor = 0;
	if (s != NULL && *modseq > s->modseq && (st = mstate_get(db, txn,
	    account_id, &ms, err)) != IPC_S_OK && st != IPC_S_NOTFOUND)
		return st;
	/* Not seen, or the changes since were pruned (changelog.h). */
	if (s == NULL || s->modseq < ms.floor)
		*types = PUSHTYPE_KNOWN & ~PUSHTYPE_DELIVERY;
	else if (*modseq > s->modseq && (st = changelog_scan(db, txn,
	    account_id, s->modseq, pushq_log_cb, types, err)) != IPC_S_OK)
		return st;
	pushq_seen(q, account_id, *modseq);
	return IPC_S_OK;
}

/* Queues or merges a StateChange of (account, id). */
static void
pushq_state(struct pushq *q, uint64_t account_id, uint64_t id,
    uint32_t types, uint64_t state, uint64_t delivery)
{
	struct pushq_ent *e;

	TAILQ_FOREACH(e, &q->q, entry)
		if (e->account_id == account_id && e->id == id && !e->verify &&
		    e->token == 0)
			break;
	if (e == NULL)
		e = pushq_add(q, account_id, id);
	/* RFC 8620 7.1: the latest state of each type is all that counts. */
	e->types |= types;
	if (state > e->state)
		e->state = state;
	if (delivery > e->delivery)
		e->delivery = delivery;
}

size_t
pushq_changed(struct pushq *q, struct store_db *db, uint64_t account_id,
    uint64_t delivery, uint64_t now)
{
	struct pushsub_list l = { NULL, 0 };
	struct store_error err;
	enum ipc_status st;
	MDB_txn *txn;
	uint32_t types = 0, want;
	uint64_t modseq = 0;
	size_t i, n = 0;
	bool was;

	/*
	 * The subscriptions as last committed (each is committed before
	 * it is acknowledged): an account without any does not make the
	 * writer commit the deliveries it holds (txn.h).
	 */
	was = db_held_exempt(true);
	st = db_begin(db, false, &txn, &err);
	(void)db_held_exempt(was);
	if (st != IPC_S_OK)
		goto fail;
	st = pushsub_list(db, txn, account_id, &l, &err);
	db_abort(&txn);
	if (st == IPC_S_OK && l.n > 0 &&
	    (st = db_begin(db, false, &txn, &err)) == IPC_S_OK) {
		st = pushq_what_changed(q, db, txn, account_id, &types,
		    &modseq, &err);
		db_abort(&txn);
	}
	if (st != IPC_S_OK)
		goto fail;
	if (delivery != 0)
		types |= PUSHTYPE_DELIVERY;
	for (i = 0; i < l.n && types != 0; i++) {
		if (!l.v[i].verified || l.v[i].expires <= now)
			continue;
		want = (l.v[i].types & PUSHTYPE_ALL) != 0 ? types :
		    types & l.v[i].types;
		if (want == 0)
			continue;
		pushq_state(q, account_id, l.v[i].id, want, modseq, delivery);
		n++;
	}
	pushsub_list_clear(&l);
	return n;
fail:
	pushsub_list_clear(&l);
	log_warnx("push account=%llu: %s", (unsigned long long)account_id,
	    err.text);
	return 0;
}

/* --- Taking and done --- */

static void
pushq_state_fmt(char out[24], uint64_t modseq)
{
	/* As jmapd's jmap_state_format (workers/jmapd/jmap_api.c). */
	snprintf(out, 24, "S%llx", (unsigned long long)modseq);
}

/* RFC 8620 7.2.2: the PushVerification object. */
static void
pushq_body_verify(const struct pushsub *s, struct buf *out)
{
	struct json_out o;
	char id[OBJID_MAX];

	objid_format(id, OBJID_PUSHSUB, s->id);
	json_out_init(&o, out);
	json_out_begin_object(&o);
	json_out_key(&o, "@type");
	json_out_strz(&o, "PushVerification");
	json_out_key(&o, "pushSubscriptionId");
	json_out_strz(&o, id);
	json_out_key(&o, "verificationCode");
	json_out_strz(&o, s->code);
	json_out_end_object(&o);
}

/* RFC 8620 7.1: the StateChange object of e. */
static void
pushq_body_state(const struct pushq_ent *e, struct buf *out)
{
	struct json_out o;
	char acct[OBJID_MAX], st[24];
	size_t i;

	objid_format(acct, OBJID_ACCOUNT, e->account_id);
	json_out_init(&o, out);
	json_out_begin_object(&o);
	json_out_key(&o, "@type");
	json_out_strz(&o, "StateChange");
	json_out_key(&o, "changed");
	json_out_begin_object(&o);
	json_out_key(&o, acct);
	json_out_begin_object(&o);
	for (i = 0; i < PUSHTYPES_N; i++) {
		if ((e->types & pushtypes[i].bit) == 0)
			continue;
		pushq_state_fmt(st, pushtypes[i].bit == PUSHTYPE_DELIVERY ?
		    e->delivery : e->state);
		json_out_key(&o, pushtypes[i].name);
		json_out_strz(&o, st);
	}
	json_out_end_object(&o);
	json_out_end_object(&o);
	json_out_end_object(&o);
}

/* The body of e for s into t; -1 if it cannot be encrypted. */
static int
pushq_body(const struct pushq_ent *e, const struct pushsub *s,
    struct pushq_take *t)
{
	struct buf plain = BUF_INIT;
	int rc = 0;

	if (e->verify)
		pushq_body_verify(s, &plain);
	else
		pushq_body_state(e, &plain);
	if (s->has_keys) {
		rc = webpush_encrypt(s->p256dh, s->auth, plain.data,
		    plain.len, &t->body);
		t->encrypted = true;
	} else
		buf_append(&t->body, plain.data, plain.len);
	buf_clear(&plain);
	return rc;
}

void
pushq_take_clear(struct pushq_take *t)
{
	free(t->url);
	buf_clear(&t->body);
	memset(t, 0, sizeof(*t));
}

/* Whether e may be taken at now. */
static bool
pushq_is_due(const struct pushq_ent *e, uint64_t now)
{
	return e->due <= now;
}

enum ipc_status
pushq_take(struct pushq *q, struct store_db *db, uint64_t now,
    struct pushq_take *t, struct store_error *err)
{
	struct pushq_ent *e, *next;
	struct pushsub s;
	enum ipc_status st;
	MDB_txn *txn;

	memset(t, 0, sizeof(*t));
	if ((st = db_begin(db, false, &txn, err)) != IPC_S_OK)
		return st;
	for (e = TAILQ_FIRST(&q->q); e != NULL; e = next) {
		next = TAILQ_NEXT(e, entry);
		if (!pushq_is_due(e, now))
			continue;
		st = pushsub_get(db, txn, e->account_id, e->id, &s, err);
		if (st == IPC_S_NOTFOUND || (st == IPC_S_OK &&
		    ((!s.verified && !e->verify) || s.expires <= now))) {
			if (st == IPC_S_OK)
				pushsub_clear(&s);
			pushq_remove(q, e);
			continue;
		}
		if (st != IPC_S_OK)
			break;
		if (pushq_body(e, &s, t) == -1) {
			log_warnx("push account=%llu id=%llu: cannot encrypt, "
			    "dropped", (unsigned long long)e->account_id,
			    (unsigned long long)e->id);
			pushsub_clear(&s);
			pushq_take_clear(t);
			pushq_remove(q, e);
			continue;
		}
		t->account_id = e->account_id;
		t->id = e->id;
		t->url = xstrdup(s.url);
		t->ttl = e->verify ? PUSHSUB_EXPIRES_MAX : PUSHQ_TTL;
		t->token = e->token = q->next_token++;
		e->due = now + PUSHQ_LEASE;
		pushsub_clear(&s);
		db_abort(&txn);
		return IPC_S_OK;
	}
	db_abort(&txn);
	if (st != IPC_S_OK && st != IPC_S_NOTFOUND)
		return st;
	return db_error(err, IPC_S_NOTFOUND, "no push is due");
}

int
pushq_done(struct pushq *q, uint64_t account_id, uint64_t id, uint64_t token,
    unsigned status, uint64_t now, uint64_t *retry_at)
{
	struct pushq_ent *e, *next;

	*retry_at = 0;
	TAILQ_FOREACH(e, &q->q, entry)
		if (e->token == token && e->account_id == account_id &&
		    e->id == id)
			break;
	if (e == NULL)
		return 0;	/* a take whose lease passed: taken again */
	if (status == 404 || status == 410) {
		for (e = TAILQ_FIRST(&q->q); e != NULL; e = next) {
			next = TAILQ_NEXT(e, entry);
			if (e->account_id == account_id && e->id == id)
				pushq_remove(q, e);
		}
		return 1;
	}
	/*
	 * 2xx: sent.  429 (RFC 8620 7.2: push less often), 5xx and no
	 * answer: again later, a few times, each wait twice the last.
	 * Another 4xx will not get better.
	 */
	if ((status >= 200 && status < 300) ||
	    (status >= 400 && status < 500 && status != 429) ||
	    ++e->tries >= PUSHQ_TRIES) {
		if (status < 200 || status >= 300)
			log_info("push account=%llu id=%llu dropped status=%u "
			    "tries=%u", (unsigned long long)account_id,
			    (unsigned long long)id, status, e->tries);
		pushq_remove(q, e);
		return 0;
	}
	e->token = 0;
	e->due = now + (2ull << e->tries);
	*retry_at = e->due;
	return 0;
}

uint64_t
pushq_next_due(const struct pushq *q)
{
	const struct pushq_ent *e;
	uint64_t due = 0;

	TAILQ_FOREACH(e, &q->q, entry)
		if (due == 0 || e->due < due)
			due = e->due;
	return due;
}
