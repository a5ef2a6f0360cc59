/* SPDX-License-Identifier: ISC */
/*
 * http_blob.h: the upload and download resources of JMAP (RFC 8620 6.1,
 * 6.2) over storaged's BLOB_UPLOAD and BLOB_FILE.
 *
 * blobIds: "G" and the 64 hex digits of the BLAKE2b hash for an upload
 * (the bytes are stored once, whoever uploads them, but only the account
 * that uploaded them reads them); "E" and the email id in hex for the raw
 * message of an email of the account; that, "-" and a part's index in the
 * email's record (its partId) for the part's content, transfer-decoded
 * (RFC 8621 4.1.4 blobId).
 *
 * An upload's body goes into a memfd as it arrives (at most
 * maxSizeUpload), so that jmapd holds no more than a read-ahead of it; a
 * download comes from a memfd that storaged filled, sent in pieces as the
 * socket takes them (with sendfile(2) in clear).
 */
#ifndef BULWARK_HTTP_BLOB_H
#define BULWARK_HTTP_BLOB_H

#include <stdbool.h>
#include <stdint.h>

struct http_session;

#define JMAP_UPLOAD_PREFIX	"/jmap/upload/"
#define JMAP_DOWNLOAD_PREFIX	"/jmap/download/"

/* Whether path is under the upload resource. */
bool	http_blob_is_upload(const char *path);
/*
 * After the head of a POST to the upload resource: the memfd its body
 * goes to.  Returns false (answered) when none can be made.
 */
bool	http_blob_upload_begin(struct http_session *s);
/* Moves what the body has so far into the memfd; false on failure. */
bool	http_blob_upload_spill(struct http_session *s);
/* The request is whole and authenticated: store the upload. */
void	http_blob_upload(struct http_session *s);
/* GET of the download resource, authenticated. */
void	http_blob_download(struct http_session *s);
/* Frees what a download waiting for storaged holds. */
void	http_blob_free(struct http_session *s);

#endif
