/* SPDX-License-Identifier: ISC */
/*
 * http_blob.c: JMAP's upload and download resources (RFC 8620 6.1, 6.2;
 * see http_blob.h).
 */
#include "http_blob.h"
#include "http_blob_id.h"
#include "http_session.h"
#include "ipc.h"
#include "jmap_api.h"
#include "jmap_int.h"
#include "jmapd.h"
#include "conn.h"
#include "http.h"
#include "json.h"
#include "worker.h"
#include "mime.h"
#include "msgrec.h"
#include "wire.h"
#include "xmalloc.h"

#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOB_HASH_LEN	HTTP_BLOB_HASH_LEN
#define BLOB_TYPE_MAX	HTTP_BLOB_TYPE_MAX

bool
http_blob_is_upload(const char *path)
{
	return path != NULL && strncmp(path, JMAP_UPLOAD_PREFIX,
	    strlen(JMAP_UPLOAD_PREFIX)) == 0;
}

/* Whether id (percent-encoded) is the session's account. */
static bool
blob_account_ok(struct http_session *s, const char *id)
{
	char want[OBJID_MAX];

	objid_format(want, OBJID_ACCOUNT, s->account_id);
	return strcmp(id, want) == 0;
}

/* --- Upload (RFC 8620 6.1) --- */

bool
http_blob_upload_begin(struct http_session *s)
{
	int fd;

	fd = memfd_create("jmap-upload", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1) {
		http_session_log(s, "upload spool failed error=%s",
		    strerror(errno));
		s->keep_alive = false;
		s->state = HS_BUSY;
		http_session_problem(s, 503, NULL, "The upload cannot be "
		    "kept now, try again");
		return false;
	}
	s->up_fd = fd;
	s->up_len = 0;
	return true;
}

bool
http_blob_upload_spill(struct http_session *s)
{
	struct buf *b = http_session_body(s);
	size_t off = 0;
	ssize_t n;

	while (off < b->len) {
		n = pwrite(s->up_fd, b->data + off, b->len - off,
		    (off_t)(s->up_len + off));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			http_session_log(s, "upload spool write failed "
			    "error=%s", strerror(errno));
			return false;
		}
		off += (size_t)n;
	}
	s->up_len += b->len;
	buf_reset(b);
	return true;
}

static void
blob_upload_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_BLOB_UPLOAD_rep *r = rep;
	struct http_session *s = arg;
	const char *type;
	char acct[OBJID_MAX], id[2 * BLOB_HASH_LEN + 2];
	struct buf b = BUF_INIT;
	struct json_out o;

	(void)c;
	http_session_wait(s, 0);
	s->uploading = false;
	switch (st) {
	case IPC_S_OK:
		break;
	case IPC_S_QUOTA:
		http_session_problem(s, 413, NULL, "The account has too many "
		    "uploads pending; use or let them expire first");
		return;
	case IPC_S_TOOBIG:
		jmap_problem(&b, 413, "urn:ietf:params:jmap:error:limit",
		    "maxSizeUpload", "The upload is larger than maxSizeUpload");
		http_session_respond(s, 413, JMAP_PROBLEM_TYPE, b.data, b.len,
		    NULL);
		buf_clear(&b);
		return;
	case IPC_S_UNAVAIL:
		http_session_problem(s, 503, NULL, "The store is unavailable, "
		    "try again");
		return;
	default:
		http_session_log(s, "upload failed: %s", text != NULL ? text :
		    "error");
		http_session_problem(s, 500, NULL, "The upload failed");
		return;
	}
	if (r->hash.len != BLOB_HASH_LEN) {
		http_session_problem(s, 500, NULL, "The upload failed");
		return;
	}
	type = http_header_get(http_session_request(s), "content-type");
	if (type == NULL)
		type = "application/octet-stream";
	http_blob_id_upload(id, r->hash.p);
	objid_format(acct, OBJID_ACCOUNT, s->account_id);
	json_out_init(&o, &b);
	json_out_begin_object(&o);
	json_out_key(&o, "accountId");
	json_out_strz(&o, acct);
	json_out_key(&o, "blobId");
	json_out_strz(&o, id);
	json_out_key(&o, "type");
	json_out_strz(&o, type);
	json_out_key(&o, "size");
	json_out_int(&o, (int64_t)s->up_len);
	json_out_end_object(&o);
	http_session_log(s, "upload blob=%s size=%llu", id,
	    (unsigned long long)s->up_len);
	http_session_respond(s, 201, "application/json", b.data, b.len, NULL);
	buf_clear(&b);
}

void
http_blob_upload(struct http_session *s)
{
	const struct http_request *req = http_session_request(s);
	struct ipc_BLOB_UPLOAD_req m;
	struct ipc_chan *store;
	struct buf lim = BUF_INIT;
	const char *p, *type;
	char acct[64];
	uint32_t id;
	int fd;

	p = req->path + strlen(JMAP_UPLOAD_PREFIX);
	if (!http_blob_segment(&p, acct, sizeof(acct)) || *p != '\0' ||
	    !blob_account_ok(s, acct)) {
		http_session_problem(s, 404, NULL, "No such account");
		return;
	}
	type = http_header_get(req, "content-type");
	if (type == NULL)
		type = "application/octet-stream";
	if (!http_blob_type_ok(type)) {
		http_session_problem(s, 400, NULL, "The Content-Type is not a "
		    "media type this server keeps");
		return;
	}
	/*
	 * RFC 8620 2 maxConcurrentUpload: counted in this process, while
	 * storaged stores them.
	 */
	if (jmapd_uploads_running(s->account_id) >=
	    jmapd_conf()->max_concurrent_upload) {
		jmap_problem(&lim, 429, "urn:ietf:params:jmap:error:limit",
		    "maxConcurrentUpload", "Too many uploads of this account "
		    "are being stored; wait for their answers");
		http_session_respond(s, 429, JMAP_PROBLEM_TYPE, lim.data,
		    lim.len, "Retry-After: 1\r\n");
		buf_clear(&lim);
		return;
	}
	if (s->up_fd == -1 && !http_blob_upload_begin(s))
		return;
	if (!http_blob_upload_spill(s)) {
		http_session_problem(s, 500, NULL, "The upload could not be "
		    "kept");
		return;
	}
	/* What storaged reads cannot change under it. */
	if (fcntl(s->up_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE) == -1) {
		http_session_problem(s, 500, NULL, "The upload could not be "
		    "kept");
		return;
	}
	if ((store = worker_store()) == NULL) {
		http_session_problem(s, 503, NULL, "The store is unavailable, "
		    "try again");
		return;
	}
	fd = s->up_fd;
	s->up_fd = -1;
	memset(&m, 0, sizeof(m));
	m.size = s->up_len;
	m.type = (char *)type;
	s->uploading = true;
	id = ipc_request_fd(store, IPC_T_BLOB_UPLOAD, conn_id(s->conn), &m,
	    fd, blob_upload_cb, s);
	if (id != 0)
		http_session_wait(s, id);
}

/* --- Download (RFC 8620 6.2) --- */

struct blob_dl {
	int	 fd;		/* ours, to read the bytes from */
	bool	 email;
	char	 name[512];	/* decoded */
	char	 accept[BLOB_TYPE_MAX + 1];
	/* A part of an email ("E<id>-<partId>"), transfer-decoded. */
	bool	 part;
	uint64_t email_id;
	uint32_t part_index;
	uint64_t body_off, body_end;
	char	 encoding[64];
	char	 ptype[BLOB_TYPE_MAX + 1];
};

static bool	blob_part_decode(struct http_session *, struct blob_dl *,
		    uint64_t);

static void
blob_file_cb(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	const struct ipc_BLOB_FILE_rep *r = rep;
	struct http_session *s = arg;
	struct blob_dl *d = s->dl;
	struct buf extra = BUF_INIT;
	const char *type;
	int file_fd;

	if (st == IPC_S_OK && (file_fd = ipc_chan_take_fd(c)) != -1) {
		/* The store's own file of the blob: served from there. */
		close(d->fd);
		d->fd = file_fd;
	}
	s->dl = NULL;
	http_session_wait(s, 0);
	if (st != IPC_S_OK) {
		close(d->fd);
		free(d);
		if (st == IPC_S_NOTFOUND)
			http_session_problem(s, 404, NULL, "No such blob");
		else if (st == IPC_S_UNAVAIL)
			http_session_problem(s, 503, NULL, "The store is "
			    "unavailable, try again");
		else {
			http_session_log(s, "download failed: %s",
			    text != NULL ? text : "error");
			http_session_problem(s, 500, NULL, "The download "
			    "failed");
		}
		return;
	}
	if (d->part && !blob_part_decode(s, d, r->size)) {
		close(d->fd);
		free(d);
		return;
	}
	type = d->accept[0] != '\0' ? d->accept : d->part ? d->ptype :
	    r->type[0] != '\0' ? r->type : d->email ? "message/rfc822" :
	    "application/octet-stream";
	http_blob_disposition(&extra, d->name);
	/* A blob never changes under its id. */
	buf_printf(&extra, "Cache-Control: private, immutable, "
	    "max-age=31536000\r\n");
	buf_append(&extra, "", 1);
	http_session_respond_file(s, 200, type, d->fd, d->part ?
	    d->body_end : r->size, (const char *)extra.data);
	buf_clear(&extra);
	free(d);
}

/*
 * The raw message is in d->fd (size bytes): its part's body, decoded
 * from its transfer encoding, replaces it there, and d->body_end becomes
 * the decoded length.  False, answered, on failure.
 */
static bool
blob_part_decode(struct http_session *s, struct blob_dl *d, uint64_t size)
{
	struct buf out = BUF_INIT;
	size_t off = 0;
	ssize_t n;
	void *map;
	int fd;

	if (d->body_end > size || d->body_off > d->body_end) {
		http_session_problem(s, 404, NULL, "No such blob");
		return false;
	}
	if (size == 0 || (map = mmap(NULL, (size_t)size, PROT_READ,
	    MAP_PRIVATE, d->fd, 0)) == MAP_FAILED) {
		http_session_problem(s, 500, NULL, "The download failed");
		return false;
	}
	mime_body_decode(d->encoding[0] != '\0' ? d->encoding : NULL,
	    (const uint8_t *)map + d->body_off, (size_t)(d->body_end -
	    d->body_off), &out);
	munmap(map, (size_t)size);
	if ((fd = memfd_create("jmap-part", MFD_CLOEXEC)) == -1) {
		buf_clear(&out);
		http_session_problem(s, 503, NULL, "The download cannot be "
		    "made now, try again");
		return false;
	}
	while (off < out.len) {
		if ((n = write(fd, out.data + off, out.len - off)) <= 0) {
			close(fd);
			buf_clear(&out);
			http_session_problem(s, 500, NULL, "The download "
			    "failed");
			return false;
		}
		off += (size_t)n;
	}
	close(d->fd);
	d->fd = fd;
	d->body_end = out.len;
	buf_clear(&out);
	return true;
}

static void
blob_part_record_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg)
{
	const struct ipc_EMAIL_GET_rep *r = rep;
	struct http_session *s = arg;
	struct blob_dl *d = s->dl;
	const struct msgrec_part *pt;
	struct ipc_BLOB_FILE_req m;
	struct ipc_chan *store;
	struct msgrec rec;
	const char *why;
	uint32_t id;
	int fd;

	(void)c;
	http_session_wait(s, 0);
	if (st != IPC_S_OK || r->found.count != 1 ||
	    r->record_lens.count != 1 ||
	    wire_u64list_get(&r->record_lens, 0) != r->records.len ||
	    msgrec_open(r->records.p, r->records.len,
	    wire_u64list_get(&r->sizes, 0), &rec, &why) == -1) {
		s->dl = NULL;
		free(d);
		if (st == IPC_S_UNAVAIL)
			http_session_problem(s, 503, NULL, "The store is "
			    "unavailable, try again");
		else {
			if (st != IPC_S_OK)
				http_session_log(s, "download failed: %s",
				    text != NULL ? text : "error");
			http_session_problem(s, 404, NULL, "No such blob");
		}
		return;
	}
	if (d->part_index >= rec.nparts ||
	    strcmp((pt = &rec.parts[d->part_index])->type, "multipart") ==
	    0) {
		msgrec_close(&rec);
		s->dl = NULL;
		free(d);
		http_session_problem(s, 404, NULL, "No such blob");
		return;
	}
	d->body_off = pt->body_off;
	d->body_end = pt->body_end;
	snprintf(d->encoding, sizeof(d->encoding), "%s", pt->encoding !=
	    NULL ? pt->encoding : "");
	snprintf(d->ptype, sizeof(d->ptype), "%s/%s", pt->type, pt->subtype);
	if (!http_blob_type_ok(d->ptype))
		snprintf(d->ptype, sizeof(d->ptype), "%s",
		    "application/octet-stream");
	msgrec_close(&rec);
	memset(&m, 0, sizeof(m));
	m.kind = 1;
	m.email_id = d->email_id;
	fd = -1;
	if ((store = worker_store()) == NULL ||
	    (fd = memfd_create("jmap-download", MFD_CLOEXEC)) == -1 ||
	    (d->fd = dup(fd)) == -1) {
		if (fd != -1)
			close(fd);
		s->dl = NULL;
		free(d);
		http_session_problem(s, 503, NULL, "The download cannot be "
		    "made now, try again");
		return;
	}
	m.file_ok = true;
	id = ipc_request_fd(store, IPC_T_BLOB_FILE, conn_id(s->conn), &m, fd,
	    blob_file_cb, s);
	if (id != 0)
		http_session_wait(s, id);
}

/* Asks for the record of the email whose part is downloaded. */
static void
blob_part_locate(struct http_session *s, struct blob_dl *d)
{
	struct ipc_EMAIL_GET_req m;
	struct ipc_chan *store;
	struct buf ids = BUF_INIT;
	uint32_t id;

	if ((store = worker_store()) == NULL) {
		s->dl = NULL;
		free(d);
		http_session_problem(s, 503, NULL, "The store is unavailable, "
		    "try again");
		return;
	}
	memset(&m, 0, sizeof(m));
	wire_u64list_add(&ids, d->email_id);
	m.ids.count = 1;
	m.ids.p = ids.data;
	m.with_record = true;
	id = ipc_request(store, IPC_T_EMAIL_GET, conn_id(s->conn), &m,
	    blob_part_record_cb, s);
	buf_clear(&ids);
	if (id != 0)
		http_session_wait(s, id);
}

void
http_blob_download(struct http_session *s)
{
	const struct http_request *req = http_session_request(s);
	struct ipc_BLOB_FILE_req m;
	struct ipc_chan *store;
	struct blob_dl *d;
	const char *p;
	char acct[64], blob[80], name[1536];
	struct http_blob_id bid;
	uint32_t id;
	int fd;

	p = req->path + strlen(JMAP_DOWNLOAD_PREFIX);
	if (!http_blob_segment(&p, acct, sizeof(acct)) ||
	    !blob_account_ok(s, acct)) {
		http_session_problem(s, 404, NULL, "No such account");
		return;
	}
	if (!http_blob_segment(&p, blob, sizeof(blob)) ||
	    !http_blob_segment(&p, name, sizeof(name)) || *p != '\0') {
		http_session_problem(s, 404, NULL, "A download is "
		    "/jmap/download/{accountId}/{blobId}/{name}");
		return;
	}
	d = xcalloc(1, sizeof(*d));
	if (http_pct_decode(name, strlen(name), false, d->name,
	    sizeof(d->name)) == -1 || !json_utf8_valid(d->name,
	    strlen(d->name)) ||
	    http_query_get(req, "accept", d->accept, sizeof(d->accept)) ==
	    -1 || (d->accept[0] != '\0' && !http_blob_type_ok(d->accept))) {
		free(d);
		http_session_problem(s, 400, NULL, "The name or the accept "
		    "type does not decode");
		return;
	}
	memset(&m, 0, sizeof(m));
	http_blob_id_parse(blob, &bid);
	if (bid.kind == HTTP_BLOB_UPLOAD) {
		m.kind = 0;
		m.hash.p = bid.hash;
		m.hash.len = BLOB_HASH_LEN;
	} else if (bid.kind == HTTP_BLOB_EMAIL) {
		m.kind = 1;
		m.email_id = bid.email_id;
		d->email = true;
	} else if (bid.kind == HTTP_BLOB_PART) {
		/* The part's place first (its record), then the bytes. */
		d->email_id = bid.email_id;
		d->part_index = bid.part;
		d->part = true;
		d->email = true;
		s->dl = d;
		blob_part_locate(s, d);
		return;
	} else {
		free(d);
		http_session_problem(s, 404, NULL, "No such blob");
		return;
	}
	if ((store = worker_store()) == NULL) {
		free(d);
		http_session_problem(s, 503, NULL, "The store is unavailable, "
		    "try again");
		return;
	}
	if ((fd = memfd_create("jmap-download", MFD_CLOEXEC)) == -1 ||
	    (d->fd = dup(fd)) == -1) {
		if (fd != -1)
			close(fd);
		free(d);
		http_session_problem(s, 503, NULL, "The download cannot be "
		    "made now, try again");
		return;
	}
	s->dl = d;
	m.file_ok = true;
	id = ipc_request_fd(store, IPC_T_BLOB_FILE, conn_id(s->conn), &m, fd,
	    blob_file_cb, s);
	if (id != 0)
		http_session_wait(s, id);
}

void
http_blob_free(struct http_session *s)
{
	if (s->dl == NULL)
		return;
	close(s->dl->fd);
	free(s->dl);
	s->dl = NULL;
}
