/* SPDX-License-Identifier: ISC */
/*
 * jmap_email_import.c: Email/import (RFC 8621 4.8) and Email/parse (4.9)
 * of uploaded blobs and of emails' raw messages, and Blob/copy (RFC 8620
 * 6.3).  Each blob's bytes come from storaged with BLOB_FILE into a memfd
 * made here (as a download's do, http_blob.c); an import stores them with
 * em_append (jmap_email_append.c), a parse makes its Email in jmapd with
 * Email/get's writers (em_parse_email of jmap_email_get.c).
 *
 * blobIds are those of http_blob.h: "G" and 64 hex digits for an upload
 * of the account, "E" and an email id for an email's raw message.
 *
 * Creation ids (RFC 8620 5.3): mailboxIds may name a mailbox made earlier
 * in the request ("#" and its creation id), and each email imported is
 * recorded under its own for the calls that follow.
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "mailflags.h"
#include "mime.h"
#include "msgrec.h"
#include "xmalloc.h"

#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EI_HASH_LEN	32		/* an upload's BLAKE2b */

/* A blobId as BLOB_FILE asks for it; false when it names no blob. */
struct ei_blob {
	uint32_t	 kind;		/* 0: upload; 1: email */
	uint8_t		 hash[EI_HASH_LEN];
	uint64_t	 email_id;
};

static bool
ei_blob_parse(const char *s, struct ei_blob *b)
{
	unsigned int v;
	size_t i;

	memset(b, 0, sizeof(*b));
	if (s == NULL)
		return false;
	if (s[0] == 'G' && strlen(s) == 1 + 2 * EI_HASH_LEN &&
	    strspn(s + 1, "0123456789abcdef") == 2 * EI_HASH_LEN) {
		for (i = 0; i < EI_HASH_LEN; i++) {
			(void)sscanf(s + 1 + 2 * i, "%2x", &v);
			b->hash[i] = (uint8_t)v;
		}
		return true;
	}
	b->kind = 1;
	return (b->email_id = jmap_id_parse(s, 'E')) != 0;
}

/*
 * Asks storaged for blob b into a new memfd: *fd_r is our end of it.
 * The reply runs cb.  Returns false with c answered when no memfd can be
 * made.
 */
static bool
ei_blob_request(struct jmap_call *c, const struct ei_blob *b, int *fd_r,
    jmap_store_cb *cb)
{
	struct ipc_BLOB_FILE_req m;
	int fd;

	if ((fd = memfd_create("jmap-blob", MFD_CLOEXEC)) == -1 ||
	    (*fd_r = dup(fd)) == -1) {
		if (fd != -1)
			close(fd);
		jmap_call_error(c, "serverFail", "Cannot read the blob now");
		return false;
	}
	memset(&m, 0, sizeof(m));
	m.kind = b->kind;
	if (b->kind == 0) {
		m.hash.p = b->hash;
		m.hash.len = EI_HASH_LEN;
	} else
		m.email_id = b->email_id;
	(void)jmap_store_request_fd(c, IPC_T_BLOB_FILE, &m, fd, cb);
	return true;
}

static struct json *
ei_or_null(struct json **v)
{
	struct json *r = *v;

	*v = NULL;
	if (r != NULL && json_len(r) > 0)
		return r;
	json_free(&r);
	return json_new_null();
}

static struct json *
ei_set_error(const char *type, const char *desc, const char *prop)
{
	struct json *e = json_new_object(), *a;

	json_object_set(e, "type", json_new_strz(type));
	if (desc != NULL && desc[0] != '\0')
		json_object_set(e, "description", json_new_strz(desc));
	if (prop != NULL) {
		a = json_new_array();
		json_array_add(a, json_new_strz(prop));
		json_object_set(e, "properties", a);
	}
	return e;
}

/* A UTCDate (RFC 8620 1.4): "Z", upper case, fraction of seconds ignored. */
static bool
ei_utcdate(const char *s, uint64_t *t)
{
	struct tm tm;
	int y, mo, d, h, mi, se, n = 0;
	size_t len = s != NULL ? strlen(s) : 0;

	if (len < 20 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d,
	    &h, &mi, &se, &n) != 6 || n != 19)
		return false;
	if (s[19] == '.') {
		for (n = 20; s[n] >= '0' && s[n] <= '9'; n++)
			;
		if (n == 20)
			return false;
	}
	if (strcmp(s + n, "Z") != 0 || mo < 1 || mo > 12 || d < 1 ||
	    d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = (uint64_t)timegm(&tm);
	return true;
}

/* --- Email/import (RFC 8621 4.8) --- */

struct ei_item {
	char		*key;		/* the creation id */
	char		*blob_id;
	struct ei_blob	 blob;
	bool		 blob_ok;	/* else blobNotFound */
	uint64_t	*mbox;
	size_t		 nmbox;
	uint32_t	 flags;
	char		*keywords;	/* space-separated */
	uint64_t	 received;
};

struct import_ctx {
	struct ei_item	*items;
	size_t		 n, next;
	int		 fd;		/* the blob being read, or -1 */
	uint64_t	 if_state, old_state;
	bool		 has_if_state, changed;
	struct json	*created, *not_created;
};

static void
import_ctx_free(void *p)
{
	struct import_ctx *x = p;
	size_t i;

	for (i = 0; i < x->n; i++) {
		free(x->items[i].key);
		free(x->items[i].blob_id);
		free(x->items[i].mbox);
		free(x->items[i].keywords);
	}
	free(x->items);
	if (x->fd != -1)
		close(x->fd);
	json_free(&x->created);
	json_free(&x->not_created);
	free(x);
}

/*
 * Reads one EmailImport into it; returns NULL or its SetError.
 */
static struct json *
ei_item_read(struct jmap_call *c, struct ei_item *it, const struct json *o)
{
	const struct json *v, *e;
	struct buf kw = BUF_INIT;
	const char *name, *k;
	uint64_t id;
	uint32_t f;
	size_t i;
	char *w;
	bool t;

	if (json_type(o) != JSON_OBJECT)
		return ei_set_error("invalidProperties", "An EmailImport "
		    "must be an object", NULL);
	for (i = 0; i < json_len(o); i++) {
		(void)json_member(o, i, &name);
		if (strcmp(name, "blobId") != 0 &&
		    strcmp(name, "mailboxIds") != 0 &&
		    strcmp(name, "keywords") != 0 &&
		    strcmp(name, "receivedAt") != 0)
			return ei_set_error("invalidProperties", "Unknown "
			    "property", name);
	}
	v = json_get(o, "blobId");
	if (v == NULL || json_type(v) != JSON_STRING)
		return ei_set_error("invalidProperties", "blobId must be an "
		    "Id", "blobId");
	it->blob_id = xstrdup(json_str(v, NULL));
	/* An id that names no blob: blobNotFound, as one not found. */
	it->blob_ok = ei_blob_parse(it->blob_id, &it->blob);
	v = json_get(o, "mailboxIds");
	if (v == NULL || json_type(v) != JSON_OBJECT || json_len(v) == 0)
		return ei_set_error("invalidProperties", "mailboxIds must "
		    "name at least one mailbox", "mailboxIds");
	it->mbox = xcalloc(json_len(v), sizeof(*it->mbox));
	for (i = 0; i < json_len(v); i++) {
		e = json_member(v, i, &k);
		if (json_bool(e, &t) == -1 || !t)
			return ei_set_error("invalidProperties", "mailboxIds "
			    "values must be true", "mailboxIds");
		/* A mailbox made earlier in the request may be "#cid". */
		if ((id = jmap_id_parse(jmap_id_ref(c, k),
		    OBJID_MAILBOX)) == 0)
			return ei_set_error("invalidProperties", "No such "
			    "mailbox", "mailboxIds");
		it->mbox[it->nmbox++] = id;
	}
	v = json_get(o, "keywords");
	if (v != NULL && json_type(v) != JSON_NULL) {
		if (json_type(v) != JSON_OBJECT)
			return ei_set_error("invalidProperties", "keywords "
			    "must be a String[Boolean]", "keywords");
		for (i = 0; i < json_len(v); i++) {
			e = json_member(v, i, &k);
			w = xstrdup(k);
			if (json_bool(e, &t) == -1 || !t ||
			    !em_keyword_norm(w)) {
				free(w);
				buf_clear(&kw);
				return ei_set_error("invalidProperties",
				    "Bad keyword", "keywords");
			}
			if ((f = em_kw_flag(w)) != 0)
				it->flags |= f;
			else {
				if (kw.len > 0)
					buf_append(&kw, " ", 1);
				buf_append(&kw, w, strlen(w));
			}
			free(w);
		}
	}
	buf_append(&kw, "", 1);
	it->keywords = xstrdup((const char *)kw.data);
	buf_clear(&kw);
	v = json_get(o, "receivedAt");
	if (v != NULL && json_type(v) != JSON_NULL &&
	    !ei_utcdate(json_str(v, NULL), &it->received))
		return ei_set_error("invalidProperties", "receivedAt must be "
		    "a UTCDate", "receivedAt");
	return NULL;
}

/*
 * RFC 8621 4.8: without receivedAt, the time of the most recent Received
 * field, the first (each relay adds its own on top, RFC 5321 4.4), whose
 * date follows its last ';' (RFC 5322 3.6.7); else the time of the
 * import.  The date is read by the message parser, as the Date field of
 * a message of its own: msgrec.h is the parser's public face.
 */
static uint64_t
ei_received(int fd, uint64_t size)
{
	struct msgrec_summary sum;
	struct mime_msg *m;
	struct buf b = BUF_INIT, rec = BUF_INIT;
	const char *v, *semi, *why;
	size_t n = size > EM_HDR_MAX ? EM_HDR_MAX : (size_t)size, vlen;
	uint64_t t = 0;
	uint8_t *map;

	if (n > 0 && (map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0)) !=
	    MAP_FAILED) {
		if (mime_header_find(map, n, "Received", 0, &v, &vlen) &&
		    (semi = memrchr(v, ';', vlen)) != NULL) {
			buf_append(&b, "Date:", 5);
			buf_append(&b, semi + 1, vlen - (size_t)(semi + 1 - v));
			buf_append(&b, "\r\n\r\n", 4);
		}
		munmap(map, n);
	}
	if (b.len > 0 && (m = mime_parse(b.data, b.len)) != NULL) {
		msgrec_encode(m, 0, &rec);
		mime_msg_free(&m);
		if (msgrec_decode(rec.data, rec.len, b.len, &sum, &why) == 0 &&
		    sum.has_sent_at && sum.sent_at > 0)
			t = (uint64_t)sum.sent_at;
	}
	buf_clear(&b);
	buf_clear(&rec);
	return t != 0 ? t : (uint64_t)time(NULL);
}

static void	import_next(struct jmap_call *c);

static void
import_reply(struct jmap_call *c, uint64_t new_state)
{
	struct import_ctx *x = c->ctx;
	struct json *res = json_new_object();

	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	json_object_set(res, "oldState", em_state(x->old_state));
	json_object_set(res, "newState", em_state(new_state));
	json_object_set(res, "created", ei_or_null(&x->created));
	json_object_set(res, "notCreated", ei_or_null(&x->not_created));
	jmap_call_reply(c, res);
}

static void
import_state_end_cb(struct jmap_call *c, enum ipc_status st,
    const char *text, const void *rep)
{
	const struct ipc_EMAIL_GET_rep *r = rep;

	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	import_reply(c, r->state);
}

static void
import_appended(struct jmap_call *c, void *arg, const char *set_error,
    const char *desc, uint64_t email_id, uint64_t thread_id, uint64_t size)
{
	struct import_ctx *x = arg;
	struct ei_item *it = &x->items[x->next];
	struct json *o;
	char blob[OBJID_MAX];

	if (c->response != NULL)
		return;		/* the store went away: answered */
	/* 4.8: a mailbox not found is invalidProperties. */
	if (set_error != NULL && strcmp(set_error, "notFound") == 0)
		set_error = "invalidProperties";
	if (set_error != NULL)
		json_object_set(x->not_created, it->key,
		    ei_set_error(set_error, desc,
		    strcmp(set_error, "invalidProperties") == 0 ?
		    (desc != NULL && strstr(desc, "keyword") != NULL ?
		    "keywords" : "mailboxIds") : NULL));
	else {
		o = json_new_object();
		objid_format(blob, 'E', email_id);
		json_object_set(o, "id", em_id(OBJID_EMAIL, email_id));
		json_object_set(o, "blobId", json_new_strz(blob));
		json_object_set(o, "threadId", em_id(OBJID_THREAD,
		    thread_id));
		json_object_set(o, "size", json_new_int((int64_t)size));
		json_object_set(x->created, it->key, o);
		/* RFC 8620 5.3: "#" and the creation id names it from now. */
		objid_format(blob, OBJID_EMAIL, email_id);
		jmap_created_id(c, it->key, blob);
		x->changed = true;
	}
	x->next++;
	import_next(c);
}

/* RFC 8621 4.6: blobNotFound lists the blobs in notFound. */
static void
import_blob_not_found(struct import_ctx *x, const struct ei_item *it)
{
	struct json *e, *a;

	e = ei_set_error("blobNotFound", NULL, NULL);
	a = json_new_array();
	json_array_add(a, json_new_strz(it->blob_id));
	json_object_set(e, "notFound", a);
	json_object_set(x->not_created, it->key, e);
}

static void
import_blob_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_BLOB_FILE_rep *r = rep;
	struct import_ctx *x = c->ctx;
	struct ei_item *it = &x->items[x->next];
	uint64_t size;
	int fd = x->fd;

	x->fd = -1;
	if (st != IPC_S_OK) {
		close(fd);
		if (st != IPC_S_NOTFOUND) {
			em_store_error(c, st, text);
			return;
		}
		import_blob_not_found(x, it);
		x->next++;
		import_next(c);
		return;
	}
	size = r->size;
	if (it->received == 0)
		it->received = ei_received(fd, size);
	em_append(c, fd, size, it->mbox, it->nmbox, it->flags, it->keywords,
	    it->received, import_appended, x);
}

/* Imports the next email, or answers when none is left. */
static void
import_next(struct jmap_call *c)
{
	struct import_ctx *x = c->ctx;
	struct ipc_EMAIL_GET_req m;

	for (; x->next < x->n; x->next++) {
		if (x->items[x->next].blob_ok) {
			(void)ei_blob_request(c, &x->items[x->next].blob,
			    &x->fd, import_blob_cb);
			return;
		}
		import_blob_not_found(x, &x->items[x->next]);
	}
	if (!x->changed) {
		import_reply(c, x->old_state);
		return;
	}
	memset(&m, 0, sizeof(m));
	(void)jmap_store_request(c, IPC_T_EMAIL_GET, &m, import_state_end_cb);
}

static void
import_state_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_GET_rep *r = rep;
	struct import_ctx *x = c->ctx;

	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	/* The state now: ifInState must be it (4.8). */
	if (x->has_if_state && r->state != x->if_state) {
		jmap_call_error(c, "stateMismatch", NULL);
		return;
	}
	x->old_state = r->state;
	import_next(c);
}

void
jmap_email_import(const struct jmap_env *env, struct jmap_call *c)
{
	const struct json *emails, *v;
	struct ipc_EMAIL_GET_req m;
	struct import_ctx *x;
	struct ei_item it;
	struct json *err;
	const char *key;
	size_t i;

	if (!jmap_account_check(c))
		return;
	x = xcalloc(1, sizeof(*x));
	x->fd = -1;
	c->ctx = x;
	c->ctx_free = import_ctx_free;
	if ((v = json_get(c->args, "ifInState")) != NULL &&
	    json_type(v) != JSON_NULL) {
		if (json_type(v) != JSON_STRING) {
			jmap_call_error(c, "invalidArguments", "ifInState "
			    "must be a String");
			return;
		}
		/* A state this server never gave cannot be current. */
		if (!jmap_state_parse(json_str(v, NULL), &x->if_state)) {
			jmap_call_error(c, "stateMismatch", NULL);
			return;
		}
		x->has_if_state = true;
	}
	emails = json_get(c->args, "emails");
	if (emails == NULL || json_type(emails) != JSON_OBJECT) {
		jmap_call_error(c, "invalidArguments", "emails must be an "
		    "Id[EmailImport]");
		return;
	}
	if (json_len(emails) > env->max_objects_in_set) {
		jmap_call_error(c, "requestTooLarge", "More emails than "
		    "maxObjectsInSet");
		return;
	}
	x->created = json_new_object();
	x->not_created = json_new_object();
	x->items = xcalloc(json_len(emails) + 1, sizeof(*x->items));
	for (i = 0; i < json_len(emails); i++) {
		v = json_member(emails, i, &key);
		memset(&it, 0, sizeof(it));
		if ((err = ei_item_read(c, &it, v)) != NULL) {
			json_object_set(x->not_created, key, err);
			free(it.blob_id);
			free(it.mbox);
			free(it.keywords);
			continue;
		}
		it.key = xstrdup(key);
		x->items[x->n++] = it;
	}
	/* The state first: for ifInState, and oldState. */
	memset(&m, 0, sizeof(m));
	(void)jmap_store_request(c, IPC_T_EMAIL_GET, &m, import_state_cb);
}

/* --- Email/parse (RFC 8621 4.9) and Blob/copy (RFC 8620 6.3) --- */

/*
 * Both read each distinct blob of blobIds in turn with BLOB_FILE: a
 * parse to parse it, a copy to know that it exists.
 */
struct blobs_ctx {
	char		**ids;
	size_t		 n, next;
	int		 fd;
	bool		 copy;
	struct email_get_ctx *gx;	/* a parse's Email/get writers */
	struct json	*done;		/* parsed, or copied */
	struct json	*not_parsable, *not_found;	/* or notCopied */
};

static void
blobs_ctx_free(void *p)
{
	struct blobs_ctx *x = p;
	size_t i;

	for (i = 0; i < x->n; i++)
		free(x->ids[i]);
	free(x->ids);
	if (x->fd != -1)
		close(x->fd);
	em_parse_end(&x->gx);
	json_free(&x->done);
	json_free(&x->not_parsable);
	json_free(&x->not_found);
	free(x);
}

static void
blobs_reply(struct jmap_call *c)
{
	struct blobs_ctx *x = c->ctx;
	struct json *res = json_new_object();

	if (x->copy) {
		json_object_set(res, "fromAccountId", json_dup(json_get(
		    c->args, "fromAccountId")));
		json_object_set(res, "accountId", json_dup(json_get(c->args,
		    "accountId")));
		json_object_set(res, "copied", ei_or_null(&x->done));
		json_object_set(res, "notCopied", ei_or_null(&x->not_found));
	} else {
		json_object_set(res, "accountId", json_dup(json_get(c->args,
		    "accountId")));
		json_object_set(res, "parsed", ei_or_null(&x->done));
		json_object_set(res, "notParsable",
		    ei_or_null(&x->not_parsable));
		json_object_set(res, "notFound", ei_or_null(&x->not_found));
	}
	jmap_call_reply(c, res);
}

static void
blobs_not_found(struct blobs_ctx *x, const char *id)
{
	if (x->copy)
		/* RFC 8620 6.3: the "notFound" SetError. */
		json_object_set(x->not_found, id, ei_set_error("notFound",
		    NULL, NULL));
	else
		json_array_add(x->not_found, json_new_strz(id));
}

/* Parses the size bytes of fd as blob id's message. */
static void
blobs_parse(struct blobs_ctx *x, const char *id, int fd, uint64_t size)
{
	struct json *e = NULL;
	uint8_t *map;

	if (size > 0 && size <= EM_APPEND_LIMIT && (map = mmap(NULL,
	    (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0)) != MAP_FAILED) {
		if (em_message_ok(map, (size_t)size))
			e = em_parse_email(x->gx, map, (size_t)size, id);
		munmap(map, (size_t)size);
	}
	if (e != NULL)
		json_object_set(x->done, id, e);
	else
		json_array_add(x->not_parsable, json_new_strz(id));
}

static void	blobs_next(struct jmap_call *c);

static void
blobs_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_BLOB_FILE_rep *r = rep;
	struct blobs_ctx *x = c->ctx;
	const char *id = x->ids[x->next];
	int fd = x->fd;

	x->fd = -1;
	if (st != IPC_S_OK && st != IPC_S_NOTFOUND) {
		close(fd);
		em_store_error(c, st, text);
		return;
	}
	if (st == IPC_S_NOTFOUND)
		blobs_not_found(x, id);
	else if (x->copy)
		/* The same account: the blob is there already. */
		json_object_set(x->done, id, json_new_strz(id));
	else
		blobs_parse(x, id, fd, r->size);
	close(fd);
	x->next++;
	blobs_next(c);
}

static void
blobs_next(struct jmap_call *c)
{
	struct blobs_ctx *x = c->ctx;
	struct ei_blob b;

	for (; x->next < x->n; x->next++) {
		if (ei_blob_parse(x->ids[x->next], &b)) {
			(void)ei_blob_request(c, &b, &x->fd, blobs_cb);
			return;
		}
		blobs_not_found(x, x->ids[x->next]);
	}
	blobs_reply(c);
}

/*
 * Reads blobIds (distinct strings, at most maxObjectsInGet) into a new
 * context set on c; false with c answered on an error.
 */
static bool
blobs_begin(struct jmap_call *c, bool copy)
{
	const struct json *ids = json_get(c->args, "blobIds"), *v;
	struct blobs_ctx *x;
	size_t i, k;

	if (ids == NULL || json_type(ids) != JSON_ARRAY) {
		jmap_call_error(c, "invalidArguments", "blobIds must be an "
		    "array of Ids");
		return false;
	}
	for (i = 0; i < json_len(ids); i++)
		if (json_type(json_at(ids, i)) != JSON_STRING) {
			jmap_call_error(c, "invalidArguments", "blobIds must "
			    "be an array of Ids");
			return false;
		}
	if (json_len(ids) > c->env->max_objects_in_get) {
		jmap_call_error(c, "requestTooLarge", "More blobIds than "
		    "maxObjectsInGet");
		return false;
	}
	x = xcalloc(1, sizeof(*x));
	x->fd = -1;
	x->copy = copy;
	c->ctx = x;
	c->ctx_free = blobs_ctx_free;
	x->ids = xcalloc(json_len(ids) + 1, sizeof(*x->ids));
	for (i = 0; i < json_len(ids); i++) {
		v = json_at(ids, i);
		for (k = 0; k < x->n; k++)
			if (strcmp(x->ids[k], json_str(v, NULL)) == 0)
				break;
		if (k == x->n)
			x->ids[x->n++] = xstrdup(json_str(v, NULL));
	}
	x->done = json_new_object();
	x->not_parsable = json_new_array();
	x->not_found = copy ? json_new_object() : json_new_array();
	return true;
}

void
jmap_email_parse(const struct jmap_env *env, struct jmap_call *c)
{
	struct email_get_ctx *gx;
	struct blobs_ctx *x;

	(void)env;
	if ((gx = em_parse_begin(c)) == NULL)
		return;
	if (!blobs_begin(c, false)) {
		em_parse_end(&gx);
		return;
	}
	x = c->ctx;
	x->gx = gx;
	blobs_next(c);
}

/*
 * RFC 8620 6.3 copies between two accounts; a user here has one, so
 * fromAccountId can only be accountId and the copy has nothing to do:
 * each blob that exists is "copied" to itself.  Whether it exists is
 * asked with BLOB_FILE, which copies its bytes into a memfd: as costly
 * as a download of it, and bounded as one is; a copy that answered
 * without looking would promise blobs that have expired.
 */
void
jmap_blob_copy(const struct jmap_env *env, struct jmap_call *c)
{
	const struct json *from = json_get(c->args, "fromAccountId");
	char id[OBJID_MAX];

	if (!jmap_account_check(c))
		return;
	jmap_account_id(env, id);
	if (from == NULL || json_type(from) != JSON_STRING) {
		jmap_call_error(c, "invalidArguments", "fromAccountId must be "
		    "an Id");
		return;
	}
	if (strcmp(json_str(from, NULL), id) != 0) {
		jmap_call_error(c, "fromAccountNotFound", NULL);
		return;
	}
	if (!blobs_begin(c, true))
		return;
	blobs_next(c);
}

/*
 * Email/copy (RFC 8621 4.7) copies between two accounts (RFC 8620 5.4:
 * fromAccountId MUST differ from accountId).  A user has one account
 * until sharing comes, so every copy has no account to copy from: the
 * arguments are checked and the answer is fromAccountNotFound (or
 * invalidArguments for the same account twice).
 */
void
jmap_email_copy(const struct jmap_env *env, struct jmap_call *c)
{
	const struct json *from = json_get(c->args, "fromAccountId");
	const struct json *create = json_get(c->args, "create");
	char id[OBJID_MAX];

	if (!jmap_account_check(c))
		return;
	jmap_account_id(env, id);
	if (from == NULL || json_type(from) != JSON_STRING ||
	    create == NULL || json_type(create) != JSON_OBJECT) {
		jmap_call_error(c, "invalidArguments", "fromAccountId must be "
		    "an Id and create an object");
		return;
	}
	if (strcmp(json_str(from, NULL), id) == 0) {
		jmap_call_error(c, "invalidArguments", "fromAccountId must "
		    "differ from accountId (RFC 8620 5.4)");
		return;
	}
	jmap_call_error(c, "fromAccountNotFound", NULL);
}
