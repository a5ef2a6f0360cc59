/* SPDX-License-Identifier: ISC */
/*
 * jmap_api.c: the JMAP API request (RFC 8620 3, see jmap_api.h).  The
 * request is parsed whole (it is bounded by maxSizeRequest) into a
 * lib/json.h tree; each method call gets its arguments with the result
 * references resolved against the responses before it (3.7) and adds
 * one response, or an error response, in order (3.6.2).
 */
#include "jmap_api.h"
#include "jmapd.h"
#include "json.h"
#include "objid.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#define JMAP_ERR_URN		"urn:ietf:params:jmap:error:"
#define JMAP_MAX_DEPTH		64	/* of the request's JSON */

struct jmap_call {
	const char		*name;		/* method name */
	const struct json	*args;		/* after 3.7 */
	const char		*call_id;
	struct json		*response;	/* the call's methodResponses */
};

/* A method: fills c->response with [name, result, callId] (or error). */
typedef void jmap_method_fn(const struct jmap_env *, struct jmap_call *);

static void	jmap_core_echo(const struct jmap_env *, struct jmap_call *);

/* RFC 8620 and its extensions' methods, with the capability of each. */
static const struct {
	const char	*name;
	const char	*cap;
	jmap_method_fn	*fn;
} jmap_methods[] = {
	{ "Core/echo",	JMAP_CAP_CORE,	jmap_core_echo },	/* 4 */
};

static const char *const jmap_caps[] = { JMAP_CAP_CORE, JMAP_CAP_WEBSOCKET };

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

/* RFC 8620 3.6.2: ["error", {"type": type, ...}, callId]. */
static void
jmap_call_error(struct jmap_call *c, const char *type, const char *desc)
{
	struct json *e = json_new_object();

	json_object_set(e, "type", json_new_strz(type));
	if (desc != NULL)
		json_object_set(e, "description", json_new_strz(desc));
	json_free(&c->response);
	c->response = jmap_response("error", e, c->call_id);
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

/* Runs one call, appending its response to responses. */
static void
jmap_call_run(const struct jmap_env *env, const struct json *using,
    const struct json *call, struct json *responses)
{
	struct jmap_call c;
	struct json *args;
	const char *type = NULL, *why = NULL;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.name = json_str(json_at(call, 0), NULL);
	c.call_id = json_str(json_at(call, 2), NULL);
	for (i = 0; i < sizeof(jmap_methods) / sizeof(jmap_methods[0]); i++)
		if (strcmp(jmap_methods[i].name, c.name) == 0)
			break;
	/* RFC 8620 1.8: only what "using" opts into exists. */
	if (i == sizeof(jmap_methods) / sizeof(jmap_methods[0]) ||
	    !jmap_using_has(using, jmap_methods[i].cap)) {
		jmap_call_error(&c, "unknownMethod", NULL);
		json_array_add(responses, c.response);
		return;
	}
	if ((args = jmap_args_resolve(json_at(call, 1), responses, &type,
	    &why)) == NULL) {
		jmap_call_error(&c, type, why);
		json_array_add(responses, c.response);
		return;
	}
	c.args = args;
	jmap_methods[i].fn(env, &c);
	json_free(&args);
	json_array_add(responses, c.response);
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

int
jmap_api_exec(const struct jmap_env *env, const char *content_type,
    const void *body, size_t len, struct buf *out, const char **ctype_r)
{
	struct json_limits lim;
	struct json *req = NULL, *responses;
	const struct json *using, *calls, *ids, *v;
	const char *ct = content_type, *why, *reqid = NULL, *type = NULL;
	const char *limit = NULL;
	char err[160], state[17];
	struct json_out o;
	size_t i;
	int status;

	/* RFC 8620 3.6.1: notJSON also for another content type. */
	if (!env->ws && (ct == NULL ||
	    strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')))
		return jmap_request_error(env, NULL, out, ctype_r,
		    JMAP_ERR_URN "notJSON", NULL, "The request's "
		    "Content-Type must be application/json");
	memset(&lim, 0, sizeof(lim));
	lim.max_depth = JMAP_MAX_DEPTH;
	lim.max_nodes = len + 1;
	lim.max_string = len + 1;
	if (json_parse(body, len, &lim, &req, err, sizeof(err)) == -1)
		return jmap_request_error(env, NULL, out, ctype_r,
		    JMAP_ERR_URN "notJSON", NULL, err);
	/* RFC 8887 4.3.2: "@type" Request, and an id to echo. */
	if (env->ws && (v = json_get(req, "id")) != NULL &&
	    json_type(v) == JSON_STRING)
		reqid = json_str(v, NULL);
	if (env->ws && ((v = json_get(req, "@type")) == NULL ||
	    json_type(v) != JSON_STRING ||
	    strcmp(json_str(v, NULL), "Request") != 0)) {
		type = JMAP_ERR_URN "notRequest";
		why = "A WebSocket message must be a Request object (this "
		    "server does not push over WebSocket)";
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
	responses = json_new_array();
	for (i = 0; i < json_len(calls); i++)
		jmap_call_run(env, using, json_at(calls, i), responses);
	jmap_session_state(state, env->account_id, env->username);
	json_out_init(&o, out);
	json_out_begin_object(&o);
	if (env->ws) {
		/* RFC 8887 4.3.3 */
		json_out_key(&o, "@type");
		json_out_strz(&o, "Response");
		if (reqid != NULL) {
			json_out_key(&o, "requestId");
			json_out_strz(&o, reqid);
		}
	}
	json_out_key(&o, "methodResponses");
	json_out_value(&o, responses);
	/* 3.4: createdIds only when the request had it. */
	if ((ids = json_get(req, "createdIds")) != NULL) {
		json_out_key(&o, "createdIds");
		json_out_value(&o, ids);
	}
	json_out_key(&o, "sessionState");
	json_out_strz(&o, state);
	json_out_end_object(&o);
	json_free(&responses);
	json_free(&req);
	*ctype_r = "application/json";
	return 200;

fail:
	status = jmap_request_error(env, reqid, out, ctype_r, type, limit,
	    why);
	json_free(&req);
	return status;
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
	/* RFC 8887 4 */
	json_out_key(&o, JMAP_CAP_WEBSOCKET);
	json_out_begin_object(&o);
	json_out_key(&o, "url");
	json_out_strz(&o, ws_url);
	json_out_key(&o, "supportsPush");
	json_out_bool(&o, false);
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
	json_out_end_object(&o);
	json_out_end_object(&o);
	json_out_end_object(&o);
	json_out_key(&o, "primaryAccounts");
	json_out_begin_object(&o);
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
