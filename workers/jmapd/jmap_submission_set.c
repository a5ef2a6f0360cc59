/* SPDX-License-Identifier: ISC */
/*
 * jmap_submission_set.c: EmailSubmission/set (RFC 8621 7.5): creations
 * queued with SUBMIT (an envelope not given is made from the email, see
 * jmap_submission.c), undoStatus "canceled" with SUBMIT_CANCEL, destroy
 * with SUBMIT_DEL, and onSuccessUpdateEmail/onSuccessDestroyEmail as an
 * implicit Email/set.
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "jmap_submission.h"
#include "msgrec.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* --- EmailSubmission/set (7.5) --- */

enum sub_kind { SUB_CREATE, SUB_UPDATE, SUB_DESTROY };

struct sub_op {
	enum sub_kind	 kind;
	const char	*key;
	const struct json *obj;
	uint64_t	 id;		/* update, destroy */
	uint64_t	 identity_id, email_id, send_at;
	char		*mail_from;
	struct buf	 params;	/* MAIL FROM parameters as text */
	char		**rcpts;
	size_t		 nrcpts;
	bool		 ok;		/* done: for onSuccess* */
};

struct sub_set {
	struct sub_op	*ops;
	size_t		 nops, cur;
	uint64_t	 old_state;
	/* identities: id and email, from IDENTITY_LIST */
	uint64_t	*iids;
	char		**iemails;
	size_t		 nids;
	struct json	*created, *not_created, *updated, *not_updated;
	struct json	*destroyed, *not_destroyed;
};

static void
sub_op_clear(struct sub_op *op)
{
	size_t i;

	free(op->mail_from);
	buf_clear(&op->params);
	for (i = 0; i < op->nrcpts; i++)
		free(op->rcpts[i]);
	free(op->rcpts);
}

static void
sub_set_free(void *p)
{
	struct sub_set *s = p;
	size_t i;

	for (i = 0; i < s->nops; i++)
		sub_op_clear(&s->ops[i]);
	free(s->ops);
	for (i = 0; i < s->nids; i++)
		free(s->iemails[i]);
	free(s->iids);
	free(s->iemails);
	json_free(&s->created);
	json_free(&s->not_created);
	json_free(&s->updated);
	json_free(&s->not_updated);
	json_free(&s->destroyed);
	json_free(&s->not_destroyed);
	free(s);
}

static struct sub_set *
sub_set_of(struct jmap_call *c)
{
	return ((struct sub_ctx *)c->ctx)->more;
}

static void
sub_fail(struct sub_set *s, struct sub_op *op, const char *type,
    const char *prop, const char *desc)
{
	struct json *e = jmap_set_error(type, prop, desc);

	json_object_set(op->kind == SUB_CREATE ? s->not_created :
	    op->kind == SUB_UPDATE ? s->not_updated : s->not_destroyed,
	    op->key, e);
}

static const char *
sub_identity_email(const struct sub_set *s, uint64_t id)
{
	size_t i;

	for (i = 0; i < s->nids; i++)
		if (s->iids[i] == id)
			return s->iemails[i];
	return NULL;
}

static bool
sub_addr_ok(const char *a)
{
	return a != NULL && a[0] != '\0' && strlen(a) < 512 &&
	    strpbrk(a, " <>\r\n\t\"") == NULL && strchr(a, '@') != NULL;
}

static void
sub_rcpt_add(struct sub_op *op, const char *a)
{
	size_t i;

	for (i = 0; i < op->nrcpts; i++)
		if (strcasecmp(op->rcpts[i], a) == 0)
			return;
	op->rcpts = xreallocarray(op->rcpts, op->nrcpts + 1,
	    sizeof(*op->rcpts));
	op->rcpts[op->nrcpts++] = xstrdup(a);
}

/*
 * Reads a create object into op; false (recorded) if it is refused.
 * The envelope, when given, is read here; else op->mail_from is NULL.
 */
static bool
sub_create_read(struct jmap_call *c, struct sub_set *s, struct sub_op *op)
{
	const struct json *o = op->obj, *v, *env, *mf, *rt, *p, *a;
	const char *key;
	size_t i, k;

	if (json_type(o) != JSON_OBJECT) {
		sub_fail(s, op, "invalidProperties", NULL, NULL);
		return false;
	}
	for (i = 0; i < json_len(o); i++) {
		(void)json_member(o, i, &key);
		if (strcmp(key, "identityId") != 0 &&
		    strcmp(key, "emailId") != 0 &&
		    strcmp(key, "envelope") != 0 &&
		    strcmp(key, "sendAt") != 0 &&
		    strcmp(key, "undoStatus") != 0) {
			sub_fail(s, op, "invalidProperties", key, NULL);
			return false;
		}
	}
	v = json_get(o, "identityId");
	if (v == NULL || (op->identity_id = jmap_id_parse(jmap_id_ref(c,
	    json_str(v, NULL)), OBJID_IDENTITY)) == 0 ||
	    sub_identity_email(s, op->identity_id) == NULL) {
		sub_fail(s, op, "invalidProperties", "identityId", "No such "
		    "identity");
		return false;
	}
	v = json_get(o, "emailId");
	if (v == NULL || (op->email_id = jmap_id_parse(jmap_id_ref(c,
	    json_str(v, NULL)), OBJID_EMAIL)) == 0) {
		sub_fail(s, op, "invalidProperties", "emailId", NULL);
		return false;
	}
	if ((v = json_get(o, "undoStatus")) != NULL &&
	    (json_str(v, NULL) == NULL || strcmp(json_str(v, NULL),
	    "pending") != 0)) {
		sub_fail(s, op, "invalidProperties", "undoStatus", "A "
		    "submission starts pending");
		return false;
	}
	op->send_at = 0;
	if ((v = json_get(o, "sendAt")) != NULL && json_type(v) !=
	    JSON_NULL) {
		uint64_t now = (uint64_t)time(NULL);

		if (!sub_utcdate_parse(json_str(v, NULL), &op->send_at) ||
		    op->send_at > now + SUB_DELAY_MAX) {
			sub_fail(s, op, "invalidProperties", "sendAt",
			    "At most maxDelayedSend seconds ahead");
			return false;
		}
	}
	if ((env = json_get(o, "envelope")) == NULL ||
	    json_type(env) == JSON_NULL)
		return true;
	mf = json_get(env, "mailFrom");
	rt = json_get(env, "rcptTo");
	if (json_type(env) != JSON_OBJECT || mf == NULL ||
	    json_type(mf) != JSON_OBJECT || rt == NULL ||
	    json_type(rt) != JSON_ARRAY) {
		sub_fail(s, op, "invalidProperties", "envelope", NULL);
		return false;
	}
	if (!sub_addr_ok(json_str(json_get(mf, "email"), NULL))) {
		sub_fail(s, op, "invalidProperties", "envelope", "Bad "
		    "mailFrom address");
		return false;
	}
	op->mail_from = xstrdup(json_str(json_get(mf, "email"), NULL));
	if ((p = json_get(mf, "parameters")) != NULL &&
	    json_type(p) != JSON_NULL) {
		if (json_type(p) != JSON_OBJECT) {
			sub_fail(s, op, "invalidProperties", "envelope", NULL);
			return false;
		}
		for (k = 0; k < json_len(p); k++) {
			a = json_member(p, k, &key);
			if (strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
			    "klmnopqrstuvwxyz0123456789-") != strlen(key) ||
			    (json_type(a) != JSON_NULL &&
			    (json_str(a, NULL) == NULL ||
			    strpbrk(json_str(a, NULL), " \r\n\t=") != NULL))) {
				sub_fail(s, op, "invalidProperties",
				    "envelope", "Bad MAIL FROM parameter");
				return false;
			}
			buf_printf(&op->params, "%s%s", op->params.len > 0 ?
			    " " : "", key);
			if (json_type(a) != JSON_NULL)
				buf_printf(&op->params, "=%s",
				    json_str(a, NULL));
		}
	}
	for (k = 0; k < json_len(rt); k++) {
		a = json_at(rt, k);
		if (json_type(a) != JSON_OBJECT ||
		    !sub_addr_ok(json_str(json_get(a, "email"), NULL)) ||
		    ((p = json_get(a, "parameters")) != NULL &&
		    json_type(p) != JSON_NULL)) {
			sub_fail(s, op, "invalidProperties", "envelope",
			    "Bad rcptTo (RCPT TO parameters are not "
			    "supported)");
			return false;
		}
		sub_rcpt_add(op, json_str(json_get(a, "email"), NULL));
	}
	if (op->nrcpts == 0) {
		sub_fail(s, op, "noRecipients", NULL, NULL);
		return false;
	}
	if (op->nrcpts > SUB_RCPTS_MAX) {
		sub_fail(s, op, "tooManyRecipients", NULL, NULL);
		return false;
	}
	return true;
}

static void	sub_set_next(struct jmap_call *c);

/* Whether w is pending or still has recipients to try. */
static bool
sub_sending(const struct sub_row *w)
{
	size_t k;

	if (w->undo == 0)
		return true;
	if (w->undo != 1)
		return false;
	for (k = 0; k < w->nrcpts; k++)
		if (w->delivered[k] == 0)
			return true;
	return false;
}

static void
sub_submit_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_SUBMIT_rep *r = rep;
	struct sub_set *s = sub_set_of(c);
	struct sub_op *op = &s->ops[s->cur];
	struct json *o;
	char id[OBJID_MAX];

	if (st == IPC_S_UNAVAIL) {
		em_store_error(c, st, text);
		return;
	}
	if (st == IPC_S_OK) {
		o = json_new_object();
		objid_format(id, OBJID_SUBMISSION, r->id);
		json_object_set(o, "id", json_new_strz(id));
		json_object_set(o, "threadId", em_id(OBJID_THREAD,
		    r->thread_id));
		json_object_set(o, "sendAt", sub_utcdate(r->send_at));
		json_object_set(o, "undoStatus", json_new_strz("pending"));
		json_object_set(s->created, op->key, o);
		jmap_created_id(c, op->key, id);
		op->id = r->id;
		op->ok = true;
	} else if (st == IPC_S_DENIED)
		sub_fail(s, op, "forbiddenMailFrom", NULL, text);
	else if (st == IPC_S_NOTFOUND)
		sub_fail(s, op, "invalidProperties", text != NULL &&
		    strstr(text, "identity") != NULL ? "identityId" :
		    "emailId", text);
	else if (st == IPC_S_INVALID)
		sub_fail(s, op, "invalidRecipients", NULL, text);
	else if (st == IPC_S_QUOTA || st == IPC_S_LIMIT)
		sub_fail(s, op, "tooManyRecipients", NULL, text);
	else
		sub_fail(s, op, "serverFail", NULL, text);
	s->cur++;
	sub_set_next(c);
}

static void
sub_submit(struct jmap_call *c, struct sub_op *op)
{
	struct ipc_SUBMIT_req m;
	struct buf rb = BUF_INIT;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.identity_id = op->identity_id;
	m.email_id = op->email_id;
	m.mail_from = op->mail_from;
	buf_append(&op->params, "", 1);
	m.mail_from_params = (char *)op->params.data;
	for (i = 0; i < op->nrcpts; i++)
		wire_strlist_add(&rb, op->rcpts[i]);
	m.rcpts.count = (uint32_t)op->nrcpts;
	m.rcpts.p = rb.data;
	m.rcpts.len = rb.len;
	m.send_at = op->send_at;
	(void)jmap_store_request(c, IPC_T_SUBMIT, &m, sub_submit_cb);
	buf_clear(&rb);
}

/* The email's record gives the envelope 7 asks for when none is given. */
static void
sub_email_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_GET_rep *r = rep;
	struct sub_set *s = sub_set_of(c);
	struct sub_op *op = &s->ops[s->cur];
	static const enum msgrec_addr_field rf[] = {
		MSGREC_TO, MSGREC_CC, MSGREC_BCC
	};
	const struct msgrec_envelope *e;
	const char *why, *ident, *from = NULL;
	struct wire_iter it;
	struct msgrec_addr a;
	struct msgrec rec;
	size_t k;

	if (st != IPC_S_OK) {
		if (st == IPC_S_UNAVAIL) {
			em_store_error(c, st, text);
			return;
		}
		sub_fail(s, op, "serverFail", NULL, text);
		goto next;
	}
	if (r->found.count != 1 || r->record_lens.count != 1 ||
	    msgrec_open(r->records.p, r->records.len,
	    wire_u64list_get(&r->sizes, 0), &rec, &why) == -1) {
		sub_fail(s, op, "invalidProperties", "emailId", "No such "
		    "email");
		goto next;
	}
	e = rec.nenvs > 0 ? &rec.envs[0] : NULL;
	for (k = 0; e != NULL && k < 3; k++) {
		wire_strlist_iter(&e->addr[rf[k]], &it);
		while (msgrec_addr_next(&it, &a))
			if (a.email[0] != '\0' && sub_addr_ok(a.email))
				sub_rcpt_add(op, a.email);
	}
	/* The Sender's address, else the From's. */
	if (e != NULL) {
		wire_strlist_iter(&e->addr[MSGREC_SENDER], &it);
		if (msgrec_addr_next(&it, &a) && a.email[0] != '\0')
			from = a.email;
		else {
			wire_strlist_iter(&e->addr[MSGREC_FROM], &it);
			if (msgrec_addr_next(&it, &a) && a.email[0] != '\0')
				from = a.email;
		}
	}
	ident = sub_identity_email(s, op->identity_id);
	op->mail_from = xstrdup(from != NULL && ident != NULL &&
	    strcasecmp(from, ident) == 0 ? from : ident != NULL ? ident : "");
	msgrec_close(&rec);
	if (op->nrcpts == 0) {
		sub_fail(s, op, "noRecipients", NULL, "The email has no To, "
		    "Cc or Bcc");
		goto next;
	}
	if (op->nrcpts > SUB_RCPTS_MAX) {
		sub_fail(s, op, "tooManyRecipients", NULL, NULL);
		goto next;
	}
	sub_submit(c, op);
	return;
next:
	s->cur++;
	sub_set_next(c);
}

static void
sub_step_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	struct sub_set *s = sub_set_of(c);
	struct sub_op *op = &s->ops[s->cur];

	(void)rep;
	if (st == IPC_S_UNAVAIL) {
		em_store_error(c, st, text);
		return;
	}
	if (st == IPC_S_OK) {
		op->ok = true;
		if (op->kind == SUB_UPDATE)
			json_object_set(s->updated, op->key, json_new_null());
		else
			json_array_add(s->destroyed, json_new_strz(op->key));
	} else if (st == IPC_S_CONFLICT)
		sub_fail(s, op, "cannotUnsend", NULL, text);
	else if (st == IPC_S_NOTFOUND)
		sub_fail(s, op, "notFound", NULL, NULL);
	else
		sub_fail(s, op, "serverFail", NULL, text);
	s->cur++;
	sub_set_next(c);
}

/* The implicit Email/set of onSuccessUpdateEmail/onSuccessDestroyEmail. */
static void
sub_on_success(struct jmap_call *c, struct sub_set *s)
{
	const struct json *upd = json_get(c->args, "onSuccessUpdateEmail");
	const struct json *des = json_get(c->args, "onSuccessDestroyEmail");
	struct json *args, *u = NULL, *d = NULL;
	const struct json *patch;
	const char *key;
	char eid[OBJID_MAX];
	uint64_t email_id;
	size_t i, k;

	for (i = 0; i < s->nops; i++) {
		struct sub_op *op = &s->ops[i];
		char sid[OBJID_MAX];

		if (!op->ok)
			continue;
		email_id = op->email_id;
		objid_format(eid, OBJID_EMAIL, email_id);
		objid_format(sid, OBJID_SUBMISSION, op->id);
		/* 7.5: keyed by the submission's id or "#" creation id. */
		for (k = 0; upd != NULL && json_type(upd) == JSON_OBJECT &&
		    k < json_len(upd); k++) {
			patch = json_member(upd, k, &key);
			if (strcmp(key, sid) != 0 && !(key[0] == '#' &&
			    op->kind == SUB_CREATE && strcmp(key + 1,
			    op->key) == 0))
				continue;
			if (u == NULL)
				u = json_new_object();
			json_object_set(u, eid, json_dup(patch));
		}
		for (k = 0; des != NULL && json_type(des) == JSON_ARRAY &&
		    k < json_len(des); k++) {
			key = json_str(json_at(des, k), NULL);
			if (key == NULL || (strcmp(key, sid) != 0 &&
			    !(key[0] == '#' && op->kind == SUB_CREATE &&
			    strcmp(key + 1, op->key) == 0)))
				continue;
			if (d == NULL)
				d = json_new_array();
			json_array_add(d, json_new_strz(eid));
		}
	}
	if (u == NULL && d == NULL)
		return;
	args = json_new_object();
	json_object_set(args, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	if (u != NULL)
		json_object_set(args, "update", u);
	if (d != NULL)
		json_object_set(args, "destroy", d);
	jmap_call_then(c, "Email/set", args);
}

static void
sub_done_listed(struct jmap_call *c)
{
	struct sub_ctx *x = c->ctx;
	struct sub_set *s = x->more;
	struct json *res;

	res = json_new_object();
	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	json_object_set(res, "oldState", em_state(s->old_state));
	json_object_set(res, "newState", em_state(x->l->state));
	json_object_set(res, "created", jmap_set_map(&s->created));
	json_object_set(res, "updated", jmap_set_map(&s->updated));
	json_object_set(res, "destroyed", jmap_set_map(&s->destroyed));
	json_object_set(res, "notCreated", jmap_set_map(&s->not_created));
	json_object_set(res, "notUpdated", jmap_set_map(&s->not_updated));
	json_object_set(res, "notDestroyed", jmap_set_map(&s->not_destroyed));
	sub_on_success(c, s);
	jmap_call_reply(c, res);
}

static void
sub_set_next(struct jmap_call *c)
{
	struct sub_ctx *x = c->ctx;
	struct sub_set *s = x->more;
	struct sub_op *op;
	const struct sub_row *w;
	const struct json *v;
	const char *key;
	size_t i;

	for (; s->cur < s->nops; s->cur++) {
		op = &s->ops[s->cur];
		if (op->kind == SUB_CREATE) {
			if (!sub_create_read(c, s, op))
				continue;
			if (op->mail_from != NULL) {
				sub_submit(c, op);
				return;
			}
			{
				struct ipc_EMAIL_GET_req m;
				struct buf b = BUF_INIT;

				memset(&m, 0, sizeof(m));
				em_u64list(&m.ids, &b, &op->email_id, 1);
				m.with_record = true;
				(void)jmap_store_request(c, IPC_T_EMAIL_GET, &m,
				    sub_email_cb);
				buf_clear(&b);
				return;
			}
		}
		if ((w = sub_find(x->l, op->id)) == NULL) {
			sub_fail(s, op, "notFound", NULL, NULL);
			continue;
		}
		/* The list is read again at the end: keep its email. */
		op->email_id = w->email_id;
		/*
		 * 7.5: destroying a submission must not change what it
		 * sends: not while it is pending or has recipients queued.
		 */
		if (op->kind == SUB_DESTROY && sub_sending(w)) {
			sub_fail(s, op, "forbidden", NULL, "The submission is "
			    "still being sent: cancel it first, or wait");
			continue;
		}
		if (op->kind == SUB_UPDATE) {
			struct ipc_SUBMIT_CANCEL_req m;
			bool cancel = false;

			if (json_type(op->obj) != JSON_OBJECT) {
				sub_fail(s, op, "invalidPatch", NULL, NULL);
				continue;
			}
			for (i = 0; i < json_len(op->obj); i++) {
				v = json_member(op->obj, i, &key);
				if (strcmp(key, "undoStatus") == 0 &&
				    json_str(v, NULL) != NULL &&
				    strcmp(json_str(v, NULL), "canceled") == 0)
					cancel = true;
				else
					break;
			}
			if (!cancel || i < json_len(op->obj)) {
				sub_fail(s, op, "invalidProperties", i <
				    json_len(op->obj) ? key : "undoStatus",
				    "Only undoStatus \"canceled\" can be set");
				continue;
			}
			m.id = op->id;
			(void)jmap_store_request(c, IPC_T_SUBMIT_CANCEL, &m,
			    sub_step_cb);
			return;
		}
		{
			struct ipc_SUBMIT_DEL_req m;

			m.id = op->id;
			(void)jmap_store_request(c, IPC_T_SUBMIT_DEL, &m,
			    sub_step_cb);
			return;
		}
	}
	/* The new state, and the emails of the submissions for 7.5. */
	sub_list_ask(c, NULL, 0, sub_done_listed);
}

static void
sub_identities_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_IDENTITY_LIST_rep *r = rep;
	struct sub_set *s = sub_set_of(c);
	struct wire_iter it;
	const char *e;
	uint32_t i;

	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	s->nids = r->ids.count;
	s->iids = xcalloc(s->nids + 1, sizeof(*s->iids));
	s->iemails = xcalloc(s->nids + 1, sizeof(*s->iemails));
	wire_strlist_iter(&r->emails, &it);
	for (i = 0; i < r->ids.count; i++) {
		s->iids[i] = wire_u64list_get(&r->ids, i);
		e = wire_strlist_next(&it);
		s->iemails[i] = xstrdup(e != NULL ? e : "");
	}
	sub_set_next(c);
}

static void
sub_set_listed(struct jmap_call *c)
{
	struct sub_ctx *x = c->ctx;
	struct sub_set *s = x->more;
	const struct json *create, *update, *destroy;
	const char *key;
	size_t i, n;

	s->old_state = x->l->state;
	/* The arguments were checked before; now ifInState can be. */
	if (!jmap_set_args(c, &x->l->state, &create, &update, &destroy, &n))
		return;
	s->ops = xcalloc(n + 1, sizeof(*s->ops));
	for (i = 0; i < em_len(create); i++) {
		struct sub_op *op = &s->ops[s->nops++];

		op->kind = SUB_CREATE;
		op->obj = json_member(create, i, &key);
		op->key = key;
	}
	for (i = 0; i < em_len(update); i++) {
		struct sub_op *op = &s->ops[s->nops++];

		op->kind = SUB_UPDATE;
		op->obj = json_member(update, i, &key);
		op->key = key;
		op->id = jmap_id_parse(jmap_id_ref(c, key), OBJID_SUBMISSION);
	}
	for (i = 0; i < em_len(destroy); i++) {
		struct sub_op *op = &s->ops[s->nops++];

		op->kind = SUB_DESTROY;
		op->key = json_str(json_at(destroy, i), NULL);
		op->id = jmap_id_parse(jmap_id_ref(c, op->key),
		    OBJID_SUBMISSION);
	}
	if (em_len(create) == 0) {
		sub_set_next(c);
		return;
	}
	(void)jmap_store_request(c, IPC_T_IDENTITY_LIST, NULL,
	    sub_identities_cb);
}

void
jmap_submission_set(const struct jmap_env *env, struct jmap_call *c)
{
	const struct json *create, *update, *destroy;
	struct sub_ctx *x;
	struct sub_set *s;
	size_t n;

	(void)env;
	if (!jmap_account_check(c) ||
	    !jmap_set_args(c, NULL, &create, &update, &destroy, &n))
		return;
	s = xcalloc(1, sizeof(*s));
	s->created = json_new_object();
	s->not_created = json_new_object();
	s->updated = json_new_object();
	s->not_updated = json_new_object();
	s->destroyed = json_new_array();
	s->not_destroyed = json_new_object();
	x = xcalloc(1, sizeof(*x));
	x->more = s;
	x->more_free = sub_set_free;
	c->ctx = x;
	c->ctx_free = sub_ctx_free;
	sub_list_ask(c, NULL, 0, sub_set_listed);
}
