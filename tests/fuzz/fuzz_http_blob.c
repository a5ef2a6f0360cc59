/* SPDX-License-Identifier: ISC */
/*
 * fuzz_http_blob.c: libFuzzer target for what jmapd reads of a download
 * URL (workers/jmapd/http_blob_id.c): the input is split into path
 * segments as http_blob.c splits /jmap/download/{accountId}/{blobId}/
 * {name}.  A blobId that parses must be the one spelling of what it
 * names (written back, the same string); a Content-Disposition written
 * for any name must be one line of ASCII whose filename* decodes back to
 * the name; a media type accepted must be printable ASCII with a '/'.
 */
/* fuzz-deps: workers/jmapd/http_blob_id.c */
#include "buf.h"
#include "objid.h"
#include "workers/jmapd/http_blob_id.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_blob_id(const char *s)
{
	struct http_blob_id r;
	char out[HTTP_BLOB_ID_MAX + 32];

	http_blob_id_parse(s, &r);
	switch (r.kind) {
	case HTTP_BLOB_UPLOAD:
		http_blob_id_upload(out, r.hash);
		break;
	case HTTP_BLOB_EMAIL:
		objid_format(out, 'E', r.email_id);
		break;
	case HTTP_BLOB_PART:
		snprintf(out, sizeof(out), "E%llx-%u",
		    (unsigned long long)r.email_id, r.part);
		break;
	default:
		return;
	}
	if (strcmp(out, s) != 0)
		abort();
}

static int
fz_hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ?
	    c - 'A' + 10 : -1;
}

static void
fz_disposition(const char *name)
{
	struct buf b = BUF_INIT, back = BUF_INIT;
	const char *p, *e;
	size_t i;

	http_blob_disposition(&b, name);
	if (b.len < 2 || b.data[b.len - 2] != '\r' ||
	    b.data[b.len - 1] != '\n')
		abort();
	for (i = 0; i + 2 < b.len; i++)
		if (b.data[i] < 0x20 || b.data[i] > 0x7e)
			abort();
	buf_append(&b, "", 1);
	/*
	 * filename* encodes every '"': the last quote followed by this is
	 * the one that closes the fallback (a name may begin with it).
	 */
	p = NULL;
	for (e = (char *)b.data; (e = strstr(e, "\"; filename*=UTF-8''")) !=
	    NULL; e++)
		p = e;
	if (p == NULL)
		abort();
	p += 20;
	e = (char *)b.data + b.len - 3;
	while (p < e) {
		if (*p == '%') {
			if (e - p < 3 || fz_hex(p[1]) < 0 || fz_hex(p[2]) < 0)
				abort();
			buf_printf(&back, "%c", fz_hex(p[1]) << 4 | fz_hex(p[2]));
			p += 3;
		} else
			buf_append(&back, p++, 1);
	}
	if (back.len != strlen(name) || (back.len > 0 &&
	    memcmp(back.data, name, back.len) != 0))
		abort();
	buf_clear(&b);
	buf_clear(&back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, seg[1536];
	const char *p;
	size_t i;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	p = s;
	while (http_blob_segment(&p, seg, sizeof(seg))) {
		if (strchr(seg, '/') != NULL || seg[0] == '\0')
			abort();
		fz_blob_id(seg);
		fz_disposition(seg);
		if (http_blob_type_ok(seg)) {
			if (strchr(seg, '/') != NULL)	/* never: a segment */
				abort();
		}
	}
	if (http_blob_type_ok(s)) {
		for (i = 0; s[i] != '\0'; i++)
			if (s[i] < 0x20 || s[i] > 0x7e)
				abort();
		if (strchr(s, '/') == NULL)
			abort();
	}
	fz_blob_id(s);
	fz_disposition(s);
	free(s);
	return 0;
}
