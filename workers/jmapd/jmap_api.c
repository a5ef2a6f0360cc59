/* SPDX-License-Identifier: ISC */
/*
 * jmap_api.c: the JMAP API request (RFC 8620 3, see jmap_api.h).  The
 * request is parsed whole (it is bounded by maxSizeRequest) into a
 * lib/json.h tree; each method call gets its arguments with the result
 * references resolved against the responses before it (3.7) and adds
 * one response, or an error response, in order (3.6.2).
 */
#include "jmap_int.h"
#include "jmapd.h"
#include "json.h"
#include "objid.h"
#include "worker.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#define JMAP_ERR_URN		"urn:ietf:params:jmap:error:"
#define JMAP_MAX_DEPTH		64	/* of the request's JSON */

/* One API request on its way through its method calls. */
struct jmap_req {
	struct jmap_env		 env;
	struct json		*req;		/* the Request object */
	const struct json	*using, *calls;
	const char		*reqid;		/* RFC 8887 4.3.2 */
	struct json		*responses;
	/* RFC 8620 5.3: creation id -> id, for "#" references. */
	struct json		*created_ids;
	size_t			 next;		/* the next call to run */
	struct jmap_call	 call;		/* the current one */
	/*
	 * An implicit call the current one asked for (RFC 8621 7.5
	 * onSuccessUpdateEmail: an Email/set whose response follows).
	 */
	char			*then_name;
	struct json		*then_args;
	char			*then_id;
	int			 busy;		/* jmap_req_drive's depth */
	jmap_done_fn		*done;
	void			*arg;
};

/* A method: answers c now, or later (jmap_int.h). */
typedef void jmap_method_fn(const struct jmap_env *, struct jmap_call *);

static void	jmap_core_echo(const struct jmap_env *, struct jmap_call *);

/* RFC 8620 and its extensions' methods, with the capability of each. */
static const struct {
	const char	*name;
	const char	*cap;
	jmap_method_fn	*fn;
} jmap_methods[] = {
	{ "Core/echo",		JMAP_CAP_CORE,	jmap_core_echo },	/* 4 */
	{ "Mailbox/get",	JMAP_CAP_MAIL,	jmap_mailbox_get },
	{ "Mailbox/changes",	JMAP_CAP_MAIL,	jmap_mailbox_changes },
	{ "Mailbox/query",	JMAP_CAP_MAIL,	jmap_mailbox_query },
	{ "Mailbox/queryChanges", JMAP_CAP_MAIL, jmap_mailbox_query_changes },
	{ "Mailbox/set",	JMAP_CAP_MAIL,	jmap_mailbox_set },
	{ "Thread/get",		JMAP_CAP_MAIL,	jmap_thread_get },
	{ "Thread/changes",	JMAP_CAP_MAIL,	jmap_thread_changes },
	{ "Email/get",		JMAP_CAP_MAIL,	jmap_email_get },
	{ "Email/changes",	JMAP_CAP_MAIL,	jmap_email_changes },
	{ "Email/query",	JMAP_CAP_MAIL,	jmap_email_query },
	{ "Email/queryChanges",	JMAP_CAP_MAIL,	jmap_email_query_changes },
	{ "Email/set",		JMAP_CAP_MAIL,	jmap_email_set },
	{ "Email/import",	JMAP_CAP_MAIL,	jmap_email_import },
	{ "Email/copy",		JMAP_CAP_MAIL,	jmap_email_copy },
	{ "Email/parse",	JMAP_CAP_MAIL,	jmap_email_parse },
	{ "SearchSnippet/get",	JMAP_CAP_MAIL,	jmap_snippet_get },
	{ "Blob/copy",		JMAP_CAP_CORE,	jmap_blob_copy },
	{ "Identity/get",	JMAP_CAP_SUBMISSION, jmap_identity_get },
	{ "Identity/changes",	JMAP_CAP_SUBMISSION, jmap_identity_changes },
	{ "Identity/set",	JMAP_CAP_SUBMISSION, jmap_identity_set },
	{ "EmailSubmission/get", JMAP_CAP_SUBMISSION, jmap_submission_get },
	{ "EmailSubmission/changes", JMAP_CAP_SUBMISSION,
	    jmap_submission_changes },
	{ "EmailSubmission/query", JMAP_CAP_SUBMISSION,
	    jmap_submission_query },
	{ "EmailSubmission/queryChanges", JMAP_CAP_SUBMISSION,
	    jmap_submission_query_changes },
	{ "EmailSubmission/set", JMAP_CAP_SUBMISSION, jmap_submission_set },
	{ "VacationResponse/get", JMAP_CAP_VACATION, jmap_vacation_get },
	{ "VacationResponse/set", JMAP_CAP_VACATION, jmap_vacation_set },
	/* RFC 8620 7.2: core, and no accountId. */
	{ "PushSubscription/get", JMAP_CAP_CORE, jmap_pushsub_get },
	{ "PushSubscription/set", JMAP_CAP_CORE, jmap_pushsub_set },
};

static const char *const jmap_caps[] = {
	JMAP_CAP_CORE, JMAP_CAP_MAIL, JMAP_CAP_SUBMISSION, JMAP_CAP_VACATION,
	JMAP_CAP_WEBSOCKET
};

/* --- Responses --- */

static struct json *
jmap_response(const char *name, struct json *result, const char *call_id)
{
	struct json *r = json_new_array();

	json_array_add(r, json_new_strz(name));
	json_array_add(r, result);
	json_array_add(r, json_new_strz(call_id));
	return r;
}

void
jmap_call_reply(struct jmap_call *c, struct json *result)
{
	json_free(&c->response);
	c->response = jmap_response(c->name, result, c->call_id);
}

/* RFC 8620 3.6.2: ["error", {"type": type, ...}, callId]. */
void
jmap_call_error(struct jmap_call *c, const char *type, const char *desc)
{
	struct json *e = json_new_object();

	json_object_set(e, "type", json_new_strz(type));
	if (desc != NULL)
		json_object_set(e, "description", json_new_strz(desc));
	json_free(&c->response);
	c->response = jmap_response("error", e, c->call_id);
}

static bool	jmap_req_drive(struct jmap_req *r);

static void
jmap_store_reply(struct ipc_chan *ch, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	struct jmap_req *r = arg;
	struct jmap_call *c = &r->call;
	jmap_store_cb *cb = c->store_cb;

	(void)ch;
	c->ipc_id = 0;
	c->store = NULL;
	c->store_cb = NULL;
	/* A request the callback makes may answer at once: not freed here. */
	r->busy++;
	cb(c, st, text, rep);
	r->busy--;
	(void)jmap_req_drive(r);
}

bool
jmap_store_request(struct jmap_call *c, uint16_t type, const void *msg,
    jmap_store_cb *cb)
{
	struct ipc_chan *store;
	uint32_t id;

	if ((store = worker_store()) == NULL) {
		jmap_call_error(c, "serverUnavailable", "The store is "
		    "unavailable, try again");
		return false;
	}
	c->store_cb = cb;
	id = ipc_request(store, type, c->env->session, msg, jmap_store_reply,
	    c->req);
	if (id == 0)		/* the callback ran, with IPC_S_UNAVAIL */
		return false;
	c->ipc_id = id;
	c->store = store;
	return true;
}

bool
jmap_store_request_fd(struct jmap_call *c, uint16_t type, const void *msg,
    int fd, jmap_store_cb *cb)
{
	struct ipc_chan *store;
	uint32_t id;

	if ((store = worker_store()) == NULL) {
		close(fd);
		jmap_call_error(c, "serverUnavailable", "The store is "
		    "unavailable, try again");
		return false;
	}
	c->store_cb = cb;
	id = ipc_request_fd(store, type, c->env->session, msg, fd,
	    jmap_store_reply, c->req);
	if (id == 0)
		return false;
	c->ipc_id = id;
	c->store = store;
	return true;
}

void
jmap_created_id(struct jmap_call *c, const char *cid, const char *id)
{
	json_object_set(c->req->created_ids, cid, json_new_strz(id));
}

const char *
jmap_id_ref(struct jmap_call *c, const char *s)
{
	const struct json *v;

	if (s == NULL || s[0] != '#')
		return s;
	if ((v = json_get(c->req->created_ids, s + 1)) == NULL)
		return NULL;
	return json_str(v, NULL);
}

bool
jmap_account_check(struct jmap_call *c)
{
	const struct json *v = json_get(c->args, "accountId");
	char id[OBJID_MAX];

	jmap_account_id(c->env, id);
	if (v == NULL || json_type(v) != JSON_STRING) {
		jmap_call_error(c, "invalidArguments", "accountId must be "
		    "an Id");
		return false;
	}
	if (strcmp(json_str(v, NULL), id) != 0) {
		jmap_call_error(c, "accountNotFound", NULL);
		return false;
	}
	return true;
}

void
jmap_account_id(const struct jmap_env *env, char out[OBJID_MAX])
{
	objid_format(out, OBJID_ACCOUNT, env->account_id);
}

uint64_t
jmap_id_parse(const char *s, char kind)
{
	return objid_parse(s, kind);
}

/* A state is "S" and the modseq in hex: opaque to clients (8620 1.2). */
void
jmap_state_format(char out[24], uint64_t modseq)
{
	snprintf(out, 24, "S%llx", (unsigned long long)modseq);
}

bool
jmap_state_parse(const char *s, uint64_t *modseq)
{
	if (s == NULL || s[0] != 'S')
		return false;
	if (strcmp(s, "S0") == 0) {
		*modseq = 0;
		return true;
	}
	return (*modseq = jmap_id_parse(s, 'S')) != 0;
}

/* --- Core (RFC 8620 4) --- */

static void
jmap_core_echo(const struct jmap_env *env, struct jmap_call *c)
{
	(void)env;
	c->response = jmap_response("Core/echo", json_dup(c->args),
	    c->call_id);
}

/* --- Result references (RFC 8620 3.7) --- */

/*
 * Resolves one ResultReference ref against the responses so far; returns
 * the value (new) or NULL with *why set.
 */
static struct json *
jmap_ref_resolve(const struct json *ref, const struct json *responses,
    const char **why)
{
	const struct json *of, *name, *path, *r;
	struct json *v = NULL;
	char err[128];
	size_t i;

	if (json_type(ref) != JSON_OBJECT ||
	    (of = json_get(ref, "resultOf")) == NULL ||
	    json_type(of) != JSON_STRING ||
	    (name = json_get(ref, "name")) == NULL ||
	    json_type(name) != JSON_STRING ||
	    (path = json_get(ref, "path")) == NULL ||
	    json_type(path) != JSON_STRING) {
		*why = "A ResultReference needs resultOf, name and path";
		return NULL;
	}
	for (i = 0; i < json_len(responses); i++) {
		r = json_at(responses, i);
		if (strcmp(json_str(json_at(r, 2), NULL),
		    json_str(of, NULL)) != 0)
			continue;
		if (strcmp(json_str(json_at(r, 0), NULL),
		    json_str(name, NULL)) != 0) {
			*why = "The response named by resultOf has another "
			    "name";
			return NULL;
		}
		if (json_pointer_eval(json_at(r, 1), json_str(path, NULL), &v,
		    err, sizeof(err)) == -1) {
			*why = "The path does not resolve in that response";
			return NULL;
		}
		return v;
	}
	*why = "No earlier response has that resultOf";
	return NULL;
}

/*
 * The arguments of a call with every "#name" replaced by the value its
 * ResultReference points at; NULL with *type and *why on error.
 */
static struct json *
jmap_args_resolve(const struct json *args, const struct json *responses,
    const char **type, const char **why)
{
	struct json *out, *v;
	const struct json *m;
	const char *key;
	size_t i;

	out = json_new_object();
	for (i = 0; i < json_len(args); i++) {
		m = json_member(args, i, &key);
		if (key[0] != '#') {
			json_object_set(out, key, json_dup(m));
			continue;
		}
		if (json_get(args, key + 1) != NULL) {
			*type = "invalidArguments";
			*why = "An argument is given both plain and as a "
			    "result reference";
			json_free(&out);
			return NULL;
		}
		if ((v = jmap_ref_resolve(m, responses, why)) == NULL) {
			*type = "invalidResultReference";
			json_free(&out);
			return NULL;
		}
		json_object_set(out, key + 1, v);
	}
	return out;
}

/* --- The Request object (RFC 8620 3.3) --- */

/*
 * A problem details object; over a WebSocket (RFC 8887 4.3.4) with
 * "@type": "RequestError" and the request's id when it had one.
 */
static void
jmap_problem_obj(struct buf *out, int status, const char *type,
    const char *limit, const char *detail, bool ws, const char *reqid)
{
	struct json_out o;

	json_out_init(&o, out);
	json_out_begin_object(&o);
	if (ws) {
		json_out_key(&o, "@type");
		json_out_strz(&o, "RequestError");
		if (reqid != NULL) {
			json_out_key(&o, "requestId");
			json_out_strz(&o, reqid);
		}
	}
	json_out_key(&o, "type");
	json_out_strz(&o, type != NULL ? type : "about:blank");
	if (limit != NULL) {
		json_out_key(&o, "limit");
		json_out_strz(&o, limit);
	}
	json_out_key(&o, "status");
	json_out_int(&o, status);
	json_out_key(&o, "detail");
	json_out_strz(&o, detail);
	json_out_end_object(&o);
}

void
jmap_problem(struct buf *out, int status, const char *type,
    const char *limit, const char *detail)
{
	jmap_problem_obj(out, status, type, limit, detail, false, NULL);
}

/* A request-level error (3.6.1): its problem details, and 400. */
static int
jmap_request_error(const struct jmap_env *env, const char *reqid,
    struct buf *out, const char **ctype_r, const char *type,
    const char *limit, const char *detail)
{
	jmap_problem_obj(out, 400, type, limit, detail, env->ws, reqid);
	*ctype_r = JMAP_PROBLEM_TYPE;
	return 400;
}

static bool
jmap_cap_known(const char *cap)
{
	size_t i;

	for (i = 0; i < sizeof(jmap_caps) / sizeof(jmap_caps[0]); i++)
		if (strcmp(jmap_caps[i], cap) == 0)
			return true;
	return false;
}

static bool
jmap_using_has(const struct json *using, const char *cap)
{
	size_t i;

	for (i = 0; i < json_len(using); i++)
		if (strcmp(json_str(json_at(using, i), NULL), cap) == 0)
			return true;
	return false;
}

/* Whether the request matches the Request type signature (3.3). */
static const char *
jmap_request_check(const struct json *req)
{
	const struct json *using, *calls, *call, *ids;
	size_t i;

	if (json_type(req) != JSON_OBJECT)
		return "The request is not a JSON object";
	if ((using = json_get(req, "using")) == NULL ||
	    json_type(using) != JSON_ARRAY)
		return "\"using\" must be an array of capabilities";
	for (i = 0; i < json_len(using); i++)
		if (json_type(json_at(using, i)) != JSON_STRING)
			return "\"using\" must be an array of strings";
	if ((calls = json_get(req, "methodCalls")) == NULL ||
	    json_type(calls) != JSON_ARRAY)
		return "\"methodCalls\" must be an array";
	for (i = 0; i < json_len(calls); i++) {
		call = json_at(calls, i);
		if (json_type(call) != JSON_ARRAY || json_len(call) != 3 ||
		    json_type(json_at(call, 0)) != JSON_STRING ||
		    json_type(json_at(call, 1)) != JSON_OBJECT ||
		    json_type(json_at(call, 2)) != JSON_STRING)
			return "Each method call must be [name, arguments, "
			    "callId]";
	}
	if ((ids = json_get(req, "createdIds")) != NULL) {
		if (json_type(ids) != JSON_OBJECT)
			return "\"createdIds\" must be an object";
		for (i = 0; i < json_len(ids); i++)
			if (json_type(json_member(ids, i, NULL)) !=
			    JSON_STRING)
				return "\"createdIds\" values must be ids";
	}
	return NULL;
}

/* Starts the next call of r. */
static void
jmap_call_start(struct jmap_req *r)
{
	const struct json *call = json_at(r->calls, r->next++);
	struct jmap_call *c = &r->call;
	const char *type = NULL, *why = NULL;
	size_t i;

	memset(c, 0, sizeof(*c));
	c->env = &r->env;
	c->req = r;
	c->name = json_str(json_at(call, 0), NULL);
	c->call_id = json_str(json_at(call, 2), NULL);
	for (i = 0; i < sizeof(jmap_methods) / sizeof(jmap_methods[0]); i++)
		if (strcmp(jmap_methods[i].name, c->name) == 0)
			break;
	/* RFC 8620 1.8: only what "using" opts into exists. */
	if (i == sizeof(jmap_methods) / sizeof(jmap_methods[0]) ||
	    !jmap_using_has(r->using, jmap_methods[i].cap)) {
		jmap_call_error(c, "unknownMethod", NULL);
		return;
	}
	if ((c->args = jmap_args_resolve(json_at(call, 1), r->responses,
	    &type, &why)) == NULL) {
		jmap_call_error(c, type, why);
		return;
	}
	jmap_methods[i].fn(&r->env, c);
}

void
jmap_call_then(struct jmap_call *c, const char *name, struct json *args)
{
	struct jmap_req *r = c->req;

	free(r->then_name);
	json_free(&r->then_args);
	free(r->then_id);
	r->then_name = xstrdup(name);
	r->then_args = args;
	r->then_id = xstrdup(c->call_id);
}

/* Starts the implicit call queued by jmap_call_then. */
static void
jmap_call_start_then(struct jmap_req *r)
{
	struct jmap_call *c = &r->call;
	size_t i;

	memset(c, 0, sizeof(*c));
	c->env = &r->env;
	c->req = r;
	c->name = r->then_name;
	c->call_id = r->then_id;
	c->args = r->then_args;
	r->then_args = NULL;
	for (i = 0; i < sizeof(jmap_methods) / sizeof(jmap_methods[0]); i++)
		if (strcmp(jmap_methods[i].name, c->name) == 0)
			break;
	if (i == sizeof(jmap_methods) / sizeof(jmap_methods[0])) {
		jmap_call_error(c, "serverFail", "No such implicit method");
		return;
	}
	jmap_methods[i].fn(&r->env, c);
}

/* Ends the current call: its response joins the others. */
static void
jmap_call_end(struct jmap_req *r)
{
	struct jmap_call *c = &r->call;

	if (c->response == NULL)
		jmap_call_error(c, "serverFail", "The method gave no answer");
	json_array_add(r->responses, c->response);
	c->response = NULL;
	json_free(&c->args);
	if (c->ctx_free != NULL && c->ctx != NULL)
		c->ctx_free(c->ctx);
	c->ctx = NULL;
	c->ctx_free = NULL;
	if (c->name == r->then_name) {
		/* The implicit call ended: its strings go with it. */
		free(r->then_name);
		free(r->then_id);
		r->then_name = NULL;
		r->then_id = NULL;
	}
	c->name = NULL;
}

static void	jmap_req_finish(struct jmap_req *r);

/*
 * Runs calls until one waits for storaged or none is left; then answers
 * and frees r, and returns true.  Entered again while it runs (from a
 * reply that came before ipc_request returned), it leaves the work to
 * the outer loop.
 */
static bool
jmap_req_drive(struct jmap_req *r)
{
	if (r->busy > 0)
		return false;
	r->busy++;
	for (;;) {
		if (r->call.name != NULL) {
			if (r->call.ipc_id != 0)
				break;
			jmap_call_end(r);
		}
		if (r->then_args != NULL) {
			jmap_call_start_then(r);
			continue;
		}
		if (r->next == json_len(r->calls)) {
			jmap_req_finish(r);
			return true;
		}
		jmap_call_start(r);
	}
	r->busy--;
	return false;
}

/* The session state (RFC 8620 2): changes when the session object does. */
static void
jmap_session_state(char out[17], uint64_t account_id, const char *username)
{
	uint8_t h[8];
	crypto_generichash_state st;
	size_t i;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)&account_id,
	    sizeof(account_id));
	crypto_generichash_update(&st, (const uint8_t *)username,
	    strlen(username));
	for (i = 0; i < sizeof(jmap_caps) / sizeof(jmap_caps[0]); i++)
		crypto_generichash_update(&st, (const uint8_t *)jmap_caps[i],
		    strlen(jmap_caps[i]) + 1);
	crypto_generichash_final(&st, h, sizeof(h));
	for (i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void
jmap_req_free(struct jmap_req *r)
{
	struct jmap_call *c = &r->call;

	if (c->ipc_id != 0)
		ipc_cancel(c->store, c->ipc_id);
	json_free(&c->response);
	json_free(&c->args);
	if (c->ctx_free != NULL && c->ctx != NULL)
		c->ctx_free(c->ctx);
	json_free(&r->responses);
	json_free(&r->created_ids);
	json_free(&r->then_args);
	free(r->then_name);
	free(r->then_id);
	json_free(&r->req);
	free(r->env.username);
	free(r);
}

/* Writes the Response object (3.4) and hands it over. */
static void
jmap_req_finish(struct jmap_req *r)
{
	struct buf out = BUF_INIT;
	const struct json *ids;
	struct json_out o;
	char state[17];

	jmap_session_state(state, r->env.account_id, r->env.username);
	json_out_init(&o, &out);
	json_out_begin_object(&o);
	if (r->env.ws) {
		/* RFC 8887 4.3.3 */
		json_out_key(&o, "@type");
		json_out_strz(&o, "Response");
		if (r->reqid != NULL) {
			json_out_key(&o, "requestId");
			json_out_strz(&o, r->reqid);
		}
	}
	json_out_key(&o, "methodResponses");
	json_out_value(&o, r->responses);
	/* 3.4: createdIds only when the request had it, with the new. */
	if ((ids = json_get(r->req, "createdIds")) != NULL) {
		json_out_key(&o, "createdIds");
		json_out_value(&o, r->created_ids);
	}
	json_out_key(&o, "sessionState");
	json_out_strz(&o, state);
	json_out_end_object(&o);
	r->done(r->arg, 200, "application/json", &out);
	buf_clear(&out);
	jmap_req_free(r);
}

/* A request-level error: its problem details handed over at once. */
static void
jmap_req_fail(const struct jmap_env *env, const char *reqid,
    jmap_done_fn *done, void *arg, const char *type, const char *limit,
    const char *why)
{
	struct buf out = BUF_INIT;
	const char *ctype;
	int status;

	status = jmap_request_error(env, reqid, &out, &ctype, type, limit,
	    why);
	done(arg, status, ctype, &out);
	buf_clear(&out);
}

struct jmap_req *
jmap_api_start(const struct jmap_env *env, const char *content_type,
    const void *body, size_t len, jmap_done_fn *done, void *arg)
{
	struct json_limits lim;
	struct json *req = NULL;
	const struct json *using, *calls, *v;
	const char *ct = content_type, *why, *reqid = NULL, *type = NULL;
	const char *limit = NULL;
	struct jmap_req *r;
	char err[160];
	size_t i;

	/* RFC 8620 3.6.1: notJSON also for another content type. */
	if (!env->ws && (ct == NULL ||
	    strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' '))) {
		jmap_req_fail(env, NULL, done, arg, JMAP_ERR_URN "notJSON",
		    NULL, "The request's Content-Type must be "
		    "application/json");
		return NULL;
	}
	memset(&lim, 0, sizeof(lim));
	lim.max_depth = JMAP_MAX_DEPTH;
	lim.max_nodes = len + 1;
	lim.max_string = len + 1;
	if (json_parse(body, len, &lim, &req, err, sizeof(err)) == -1) {
		jmap_req_fail(env, NULL, done, arg, JMAP_ERR_URN "notJSON",
		    NULL, err);
		return NULL;
	}
	/* RFC 8887 4.3.2: "@type" Request, and an id to echo. */
	if (env->ws && (v = json_get(req, "id")) != NULL &&
	    json_type(v) == JSON_STRING)
		reqid = json_str(v, NULL);
	if (env->ws && env->ws_push != NULL &&
	    (v = json_get(req, "@type")) != NULL &&
	    json_type(v) == JSON_STRING &&
	    (strcmp(json_str(v, NULL), "WebSocketPushEnable") == 0 ||
	    strcmp(json_str(v, NULL), "WebSocketPushDisable") == 0)) {
		struct buf none = BUF_INIT;

		env->ws_push(env->ws_push_arg, req);
		done(arg, 204, NULL, &none);
		json_free(&req);
		return NULL;
	}
	if (env->ws && ((v = json_get(req, "@type")) == NULL ||
	    json_type(v) != JSON_STRING ||
	    strcmp(json_str(v, NULL), "Request") != 0)) {
		type = JMAP_ERR_URN "notRequest";
		why = "A WebSocket message must be a Request, "
		    "WebSocketPushEnable or WebSocketPushDisable object";
		goto fail;
	}
	if ((why = jmap_request_check(req)) != NULL) {
		type = JMAP_ERR_URN "notRequest";
		goto fail;
	}
	using = json_get(req, "using");
	for (i = 0; i < json_len(using); i++) {
		if (jmap_cap_known(json_str(json_at(using, i), NULL)))
			continue;
		snprintf(err, sizeof(err), "The server does not support "
		    "the capability %.80s", json_str(json_at(using, i),
		    NULL));
		type = JMAP_ERR_URN "unknownCapability";
		why = err;
		goto fail;
	}
	calls = json_get(req, "methodCalls");
	if (json_len(calls) > env->max_calls_in_request) {
		type = JMAP_ERR_URN "limit";
		limit = "maxCallsInRequest";
		why = "The request has more method calls than the server "
		    "takes at once";
		goto fail;
	}
	r = xcalloc(1, sizeof(*r));
	r->env = *env;
	r->env.username = xstrdup(env->username != NULL ? env->username :
	    "");
	r->req = req;
	r->using = using;
	r->calls = calls;
	r->reqid = reqid;
	r->responses = json_new_array();
	r->created_ids = (v = json_get(req, "createdIds")) != NULL ?
	    json_dup(v) : json_new_object();
	r->done = done;
	r->arg = arg;
	return jmap_req_drive(r) ? NULL : r;

fail:
	jmap_req_fail(env, reqid, done, arg, type, limit, why);
	json_free(&req);
	return NULL;
}

void
jmap_api_refuse(const struct jmap_env *env, const char *limit,
    const char *detail, jmap_done_fn *done, void *arg)
{
	jmap_req_fail(env, NULL, done, arg, JMAP_ERR_URN "limit", limit,
	    detail);
}

void
jmap_api_cancel(struct jmap_req **rp)
{
	if (*rp != NULL)
		jmap_req_free(*rp);
	*rp = NULL;
}

/* jmap_api_exec's collector. */
struct jmap_sync {
	struct buf	*out;
	const char	*ctype;
	int		 status;
};

static void
jmap_sync_done(void *arg, int status, const char *ctype,
    const struct buf *body)
{
	struct jmap_sync *y = arg;

	y->status = status;
	y->ctype = ctype;
	if (body->len > 0)
		buf_append(y->out, body->data, body->len);
}

int
jmap_api_exec(const struct jmap_env *env, const char *content_type,
    const void *body, size_t len, struct buf *out, const char **ctype_r)
{
	struct jmap_sync y = { out, NULL, 0 };
	struct jmap_req *r;

	r = jmap_api_start(env, content_type, body, len, jmap_sync_done, &y);
	if (r != NULL) {
		/* A method waits for storaged: not for this caller. */
		jmap_api_cancel(&r);
		buf_reset(out);
		jmap_problem(out, 503, NULL, NULL, "The request needs the "
		    "store");
		*ctype_r = JMAP_PROBLEM_TYPE;
		return 503;
	}
	*ctype_r = y.ctype;
	return y.status;
}

/* --- The session resource (RFC 8620 2) --- */

/* An absolute URL: base ("https://host") and path. */
static void
jmap_url(struct json_out *o, const char *base, const char *path)
{
	char url[600];

	snprintf(url, sizeof(url), "%s%s", base, path);
	json_out_strz(o, url);
}

/* RFC 8621 1.3.1: the mail capability of an account, from the store's. */
static void
jmap_session_mail(struct json_out *o)
{
	static const char *const sorts[] = {
		"receivedAt", "size", "from", "to", "subject", "sentAt"
	};
	size_t i;

	json_out_key(o, JMAP_CAP_MAIL);
	json_out_begin_object(o);
	/* store/record.h MSG_MAX_MAILBOXES */
	json_out_key(o, "maxMailboxesPerEmail");
	json_out_int(o, 64);
	/* A 1024-byte path of 2-byte levels: no depth limit of its own. */
	json_out_key(o, "maxMailboxDepth");
	json_out_null(o);
	json_out_key(o, "maxSizeMailboxName");
	json_out_int(o, 255);
	json_out_key(o, "maxSizeAttachmentsPerEmail");
	json_out_int(o, 50 * 1024 * 1024);
	json_out_key(o, "emailQuerySortOptions");
	json_out_begin_array(o);
	for (i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++)
		json_out_strz(o, sorts[i]);
	json_out_end_array(o);
	json_out_key(o, "mayCreateTopLevelMailbox");
	json_out_bool(o, true);
	json_out_end_object(o);
	/* RFC 8621 1.3.2 */
	json_out_key(o, JMAP_CAP_SUBMISSION);
	json_out_begin_object(o);
	json_out_key(o, "maxDelayedSend");
	json_out_int(o, 7 * 24 * 3600);
	json_out_key(o, "submissionExtensions");
	json_out_begin_object(o);
	json_out_end_object(o);
	json_out_end_object(o);
	/* RFC 8621 1.3.3 */
	json_out_key(o, JMAP_CAP_VACATION);
	json_out_begin_object(o);
	json_out_end_object(o);
}

void
jmap_session_write(struct buf *out, const struct jmapd_conf *conf,
    uint64_t account_id, const char *username, const char *base,
    const char *ws_url)
{
	struct json_out o;
	char id[OBJID_MAX], state[17];

	objid_format(id, OBJID_ACCOUNT, account_id);
	jmap_session_state(state, account_id, username);
	json_out_init(&o, out);
	json_out_begin_object(&o);
	json_out_key(&o, "capabilities");
	json_out_begin_object(&o);
	json_out_key(&o, JMAP_CAP_CORE);
	json_out_begin_object(&o);
	json_out_key(&o, "maxSizeUpload");
	json_out_int(&o, (int64_t)conf->max_size_upload);
	json_out_key(&o, "maxConcurrentUpload");
	json_out_int(&o, conf->max_concurrent_upload);
	json_out_key(&o, "maxSizeRequest");
	json_out_int(&o, conf->max_size_request);
	json_out_key(&o, "maxConcurrentRequests");
	json_out_int(&o, conf->max_concurrent_requests);
	json_out_key(&o, "maxCallsInRequest");
	json_out_int(&o, conf->max_calls_in_request);
	json_out_key(&o, "maxObjectsInGet");
	json_out_int(&o, conf->max_objects_in_get);
	json_out_key(&o, "maxObjectsInSet");
	json_out_int(&o, conf->max_objects_in_set);
	json_out_key(&o, "collationAlgorithms");
	json_out_begin_array(&o);
	json_out_strz(&o, "i;ascii-numeric");
	json_out_strz(&o, "i;ascii-casemap");
	json_out_strz(&o, "i;unicode-casemap");
	json_out_end_array(&o);
	json_out_end_object(&o);
	/* RFC 8621 1.3: their account capabilities are below. */
	json_out_key(&o, JMAP_CAP_MAIL);
	json_out_begin_object(&o);
	json_out_end_object(&o);
	json_out_key(&o, JMAP_CAP_SUBMISSION);
	json_out_begin_object(&o);
	json_out_end_object(&o);
	json_out_key(&o, JMAP_CAP_VACATION);
	json_out_begin_object(&o);
	json_out_end_object(&o);
	/* RFC 8887 4 */
	json_out_key(&o, JMAP_CAP_WEBSOCKET);
	json_out_begin_object(&o);
	json_out_key(&o, "url");
	json_out_strz(&o, ws_url);
	json_out_key(&o, "supportsPush");
	json_out_bool(&o, true);
	json_out_end_object(&o);
	json_out_end_object(&o);
	json_out_key(&o, "accounts");
	json_out_begin_object(&o);
	json_out_key(&o, id);
	json_out_begin_object(&o);
	json_out_key(&o, "name");
	json_out_strz(&o, username);
	json_out_key(&o, "isPersonal");
	json_out_bool(&o, true);
	json_out_key(&o, "isReadOnly");
	json_out_bool(&o, false);
	json_out_key(&o, "accountCapabilities");
	json_out_begin_object(&o);
	jmap_session_mail(&o);
	json_out_end_object(&o);
	json_out_end_object(&o);
	json_out_end_object(&o);
	json_out_key(&o, "primaryAccounts");
	json_out_begin_object(&o);
	json_out_key(&o, JMAP_CAP_MAIL);
	json_out_strz(&o, id);
	json_out_key(&o, JMAP_CAP_SUBMISSION);
	json_out_strz(&o, id);
	json_out_key(&o, JMAP_CAP_VACATION);
	json_out_strz(&o, id);
	json_out_end_object(&o);
	json_out_key(&o, "username");
	json_out_strz(&o, username);
	json_out_key(&o, "apiUrl");
	jmap_url(&o, base, "/jmap/api/");
	json_out_key(&o, "downloadUrl");
	jmap_url(&o, base, "/jmap/download/{accountId}/{blobId}/{name}"
	    "?accept={type}");
	json_out_key(&o, "uploadUrl");
	jmap_url(&o, base, "/jmap/upload/{accountId}/");
	json_out_key(&o, "eventSourceUrl");
	jmap_url(&o, base, "/jmap/eventsource/?types={types}"
	    "&closeafter={closeafter}&ping={ping}");
	json_out_key(&o, "state");
	json_out_strz(&o, state);
	json_out_end_object(&o);
}
