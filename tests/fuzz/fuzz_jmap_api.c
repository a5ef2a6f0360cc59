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
/* fuzz-deps: workers/jmapd/jmap_api.c */
#include "buf.h"
#include "json.h"
#include "workers/jmapd/jmap_api.h"

#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	struct json *v = fz_parse(out), *req = NULL, *calls, *resp;
	struct json_limits lim = { 64, size + 1, size + 1 };
	const char *type;
	char err[128];

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
	struct jmap_env env = { 1, "fuzz@example.org", 16, false };
	struct buf out = BUF_INIT;
	const char *ctype = NULL;
	int status, ws;

	/* Each input as a POST body, then as a WebSocket message. */
	for (ws = 0; ws < 2; ws++) {
		env.ws = ws == 1;
		status = jmap_api_exec(&env, "application/json", data, size,
		    &out, &ctype);
		fz_check(status, ctype, &out, data, size);
		buf_reset(&out);
	}
	buf_clear(&out);
	return 0;
}
