/* SPDX-License-Identifier: ISC */
/*
 * http_blob_id.h: what jmapd reads of a download URL and writes of a
 * blob (RFC 8620 6.2): the path's segments, the blobIds of http_blob.h
 * ("G" and a hash, "E" and an email id, "E<id>-<part>"), media types it
 * may put in Content-Type as given, and Content-Disposition with an RFC
 * 8187 file name.  Pure functions, for http_blob.c and fuzz_http_blob.
 */
#ifndef BULWARK_HTTP_BLOB_ID_H
#define BULWARK_HTTP_BLOB_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define HTTP_BLOB_HASH_LEN	32	/* BLAKE2b-256, as the store's */
#define HTTP_BLOB_TYPE_MAX	255
/* "G" and the hash in hex, and its NUL. */
#define HTTP_BLOB_ID_MAX	(2 + 2 * HTTP_BLOB_HASH_LEN)

enum http_blob_kind {
	HTTP_BLOB_NONE,		/* not a blobId of this server */
	HTTP_BLOB_UPLOAD,	/* hash */
	HTTP_BLOB_EMAIL,	/* email_id: the raw message */
	HTTP_BLOB_PART		/* email_id and part: a part's content */
};

struct http_blob_id {
	enum http_blob_kind kind;
	uint8_t		 hash[HTTP_BLOB_HASH_LEN];
	uint64_t	 email_id;
	uint32_t	 part;
};

/*
 * The next segment of a path at *p (up to '/' or the end) into out (size
 * bytes), still percent-encoded, and *p past it and its '/'.  False if it
 * is empty or does not fit.
 */
bool	http_blob_segment(const char **p, char *out, size_t size);
/* What blobId s is, into *r; r->kind HTTP_BLOB_NONE if nothing. */
void	http_blob_id_parse(const char *s, struct http_blob_id *r);
/* The blobId of an upload of hash, into out (HTTP_BLOB_ID_MAX bytes). */
void	http_blob_id_upload(char *out, const uint8_t *hash);
/*
 * Whether t may go into a Content-Type field as it is: printable ASCII
 * with a '/', 1 to HTTP_BLOB_TYPE_MAX bytes.
 */
bool	http_blob_type_ok(const char *t);
/*
 * Appends the Content-Disposition field (RFC 6266) for file name (UTF-8)
 * with its CRLF: an ASCII fallback with anything unsafe as "_", and the
 * exact name in filename* (RFC 8187).
 */
void	http_blob_disposition(struct buf *out, const char *name);

#endif
