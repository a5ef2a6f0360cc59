/* SPDX-License-Identifier: ISC */
/*
 * fuzz_jmap_api.c: libFuzzer target for jmapd's API request layer
 * (workers/jmapd/jmap_api.c, RFC 8620 3): the input is the body of a POST
 * to the API endpoint.  Whatever it is, the answer must be 200 with a
 * Response object whose methodResponses has one entry per method call and
 * a sessionState, or 400 with a problem details object of one of the
 * request-level types; both must be valid JSON.  Each input is run as
 * the body of a POST and as a WebSocket message (RFC 8887 4.3).  Result references and
 * their JSON Pointers (3.7) are reached through Core/echo.  Nothing may
 * read out of bounds, leak or crash.
 */
/* fuzz-deps: workers/jmapd/jmap_api.c workers/jmapd/jmap_util.c */
/* fuzz-deps: workers/jmapd/jmap_mailbox.c workers/jmapd/jmap_thread.c */
/* fuzz-deps: workers/jmapd/jmap_mailbox_set.c */
/* fuzz-deps: workers/jmapd/jmap_email_get.c workers/jmapd/jmap_email_query.c */
/* fuzz-deps: workers/jmapd/jmap_email_headers.c */
/* fuzz-deps: workers/jmapd/jmap_email_body.c workers/jmapd/jmap_email_set.c */
/* fuzz-deps: workers/jmapd/jmap_email_create.c */
/* fuzz-deps: workers/jmapd/jmap_email_append.c */
/* fuzz-deps: workers/jmapd/jmap_email_import.c */
/* fuzz-deps: workers/jmapd/jmap_snippet.c workers/jmapd/jmap_identity.c */
/* fuzz-deps: workers/jmapd/jmap_submission.c */
/* fuzz-deps: workers/jmapd/jmap_submission_set.c workers/jmapd/jmap_vacation.c */
/* fuzz-deps: workers/jmapd/jmap_pushsub.c */
#include "buf.h"
#include "json.h"
#include "workers/jmapd/jmap_api.h"

#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int	fz_pushes;

/* WebSocketPushEnable and Disable: jmapd's http_push_ws reads these. */
static void
fz_push(void *arg, const struct json *msg)
{
	(void)arg;
	if (json_get(msg, "@type") == NULL)
		abort();
	fz_pushes++;
}

static struct json *
fz_parse(const struct buf *b)
{
	struct json_limits lim = { 256, b->len + 1, b->len + 1 };
	struct json *v = NULL;
	char err[128];

	if (json_parse(b->data, b->len, &lim, &v, err, sizeof(err)) == -1)
		abort();
	return v;
}

static void
fz_check(int status, const char *ctype, const struct buf *out,
    const uint8_t *data, size_t size)
{
	struct json *v, *req = NULL, *calls, *resp;
	struct json_limits lim = { 64, size + 1, size + 1 };
	const char *type;
	char err[128];

	/* A push setting over a WebSocket has no answer. */
	if (status == 204) {
		if (out->len != 0 || fz_pushes == 0)
			abort();
		return;
	}
	v = fz_parse(out);
	if (status == 200) {
		if (strcmp(ctype, "application/json") != 0 ||
		    (resp = json_get(v, "methodResponses")) == NULL ||
		    json_type(resp) != JSON_ARRAY ||
		    json_get(v, "sessionState") == NULL)
			abort();
		/* It parsed as a request: one response per call. */
		if (json_parse(data, size, &lim, &req, err, sizeof(err)) ==
		    -1 || (calls = json_get(req, "methodCalls")) == NULL ||
		    json_len(calls) != json_len(resp))
			abort();
		json_free(&req);
	} else {
		if (status != 400 || strcmp(ctype, JMAP_PROBLEM_TYPE) != 0 ||
		    (type = json_str(json_get(v, "type"), NULL)) == NULL ||
		    strncmp(type, "urn:ietf:params:jmap:error:", 27) != 0)
			abort();
	}
	json_free(&v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jmap_env env;
	struct buf out = BUF_INIT;
	const char *ctype = NULL;
	int status, ws;

	memset(&env, 0, sizeof(env));
	env.account_id = 1;
	env.username = (char *)"fuzz@example.org";
	env.max_calls_in_request = 16;
	env.max_objects_in_get = 500;
	env.max_objects_in_set = 500;
	/*
	 * Each input as a POST body, then as a WebSocket message.  There is
	 * no storaged: the methods of JMAP Mail check their arguments, then
	 * answer serverUnavailable.
	 */
	for (ws = 0; ws < 2; ws++) {
		env.ws = ws == 1;
		env.ws_push = env.ws ? fz_push : NULL;
		fz_pushes = 0;
		status = jmap_api_exec(&env, "application/json", data, size,
		    &out, &ctype);
		fz_check(status, ctype, &out, data, size);
		buf_reset(&out);
	}
	buf_clear(&out);
	return 0;
}
