/* SPDX-License-Identifier: ISC */
/*
 * http_blob_id.c: download URLs' segments, blobIds, media types and
 * Content-Disposition (see http_blob_id.h).
 */
#include "http_blob_id.h"
#include "buf.h"
#include "objid.h"

#include <stdlib.h>
#include <string.h>

bool
http_blob_segment(const char **p, char *out, size_t size)
{
	size_t n = strcspn(*p, "/");

	if (n == 0 || n >= size)
		return false;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	if (**p == '/')
		(*p)++;
	return true;
}

static int
blob_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "E<hex id>-<decimal part index>" (jmap_email_get.c's part blobIds). */
static bool
blob_part_id(const char *s, uint64_t *id, uint32_t *part)
{
	const char *dash = strchr(s, '-');
	char head[OBJID_MAX];
	unsigned long n;
	char *end;

	if (dash == NULL || (size_t)(dash - s) >= sizeof(head) ||
	    dash[1] < '0' || dash[1] > '9' || (dash[1] == '0' &&
	    dash[2] != '\0'))
		return false;
	memcpy(head, s, (size_t)(dash - s));
	head[dash - s] = '\0';
	n = strtoul(dash + 1, &end, 10);
	if (*end != '\0' || n > UINT32_MAX ||
	    (*id = objid_parse(head, 'E')) == 0)
		return false;
	*part = (uint32_t)n;
	return true;
}

void
http_blob_id_parse(const char *s, struct http_blob_id *r)
{
	size_t i;
	int hi, lo;

	memset(r, 0, sizeof(*r));
	if (s[0] == 'G' && strlen(s) == 1 + 2 * HTTP_BLOB_HASH_LEN) {
		for (i = 0; i < HTTP_BLOB_HASH_LEN; i++) {
			if ((hi = blob_hexval(s[1 + 2 * i])) == -1 ||
			    (lo = blob_hexval(s[2 + 2 * i])) == -1)
				return;
			r->hash[i] = (uint8_t)(hi << 4 | lo);
		}
		r->kind = HTTP_BLOB_UPLOAD;
	} else if ((r->email_id = objid_parse(s, 'E')) != 0)
		r->kind = HTTP_BLOB_EMAIL;
	else if (blob_part_id(s, &r->email_id, &r->part))
		r->kind = HTTP_BLOB_PART;
	else
		r->email_id = 0;
}

void
http_blob_id_upload(char *out, const uint8_t *hash)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	out[0] = 'G';
	for (i = 0; i < HTTP_BLOB_HASH_LEN; i++) {
		out[1 + 2 * i] = hex[hash[i] >> 4];
		out[2 + 2 * i] = hex[hash[i] & 15];
	}
	out[1 + 2 * HTTP_BLOB_HASH_LEN] = '\0';
}

bool
http_blob_type_ok(const char *t)
{
	size_t i;

	if (t[0] == '\0' || strlen(t) > HTTP_BLOB_TYPE_MAX ||
	    strchr(t, '/') == NULL)
		return false;
	for (i = 0; t[i] != '\0'; i++)
		if (t[i] < 0x20 || t[i] > 0x7e)
			return false;
	return true;
}

void
http_blob_disposition(struct buf *out, const char *name)
{
	static const char attr[] = "!#$&+-.^_`|~";
	const unsigned char *u = (const unsigned char *)name;
	size_t i;

	buf_append(out, "Content-Disposition: attachment; filename=\"", 43);
	for (i = 0; u[i] != '\0'; i++)
		buf_printf(out, "%c", u[i] >= 0x20 && u[i] < 0x7f &&
		    u[i] != '"' && u[i] != '\\' ? u[i] : '_');
	buf_append(out, "\"; filename*=UTF-8''", 20);
	for (i = 0; u[i] != '\0'; i++) {
		if ((u[i] >= '0' && u[i] <= '9') ||
		    (u[i] >= 'a' && u[i] <= 'z') ||
		    (u[i] >= 'A' && u[i] <= 'Z') ||
		    (u[i] < 0x80 && strchr(attr, u[i]) != NULL))
			buf_printf(out, "%c", u[i]);
		else
			buf_printf(out, "%%%02X", u[i]);
	}
	buf_append(out, "\r\n", 2);
}
