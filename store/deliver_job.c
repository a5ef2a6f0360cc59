/* SPDX-License-Identifier: ISC */
/*
 * deliver_job.c: one delivery's steps for the writer of txn.c (see
 * deliver.h): reading the message from its descriptor, hashing it and
 * checking its record (prepare), then message_append (apply).  Nothing
 * here touches IPC, so that tests drive it directly.
 */
#include "deliver.h"
#include "vacation.h"
#include "deliver_log.h"
#include "blob.h"
#include "blobfile.h"
#include "msgrec.h"
#include "xmalloc.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Static_assert(DELIVER_LOG_HASH_LEN == MSG_HASH_LEN, "a hash's length");

struct deliver_job *
deliver_job_new(uint64_t account_id, uint32_t mailbox_id, uint64_t received,
    uint64_t size, const void *record, size_t record_len, int fd,
    uint64_t now)
{
	struct deliver_job *j = xcalloc(1, sizeof(*j));

	j->fd = fd;
	j->max_size = DELIVER_MAX_SIZE;
	j->record = xmalloc(record_len > 0 ? record_len : 1);
	memcpy(j->record, record, record_len);
	j->record_len = record_len;
	j->in.account_id = account_id;
	j->in.mailbox_id = mailbox_id;
	j->in.received = received != 0 ? received : now;
	j->in.now = now;
	j->in.size = (size_t)size;
	j->in.record = j->record;
	j->in.record_len = record_len;
	j->in.dup_check = true;
	return j;
}

void
deliver_job_free(struct deliver_job **jp)
{
	struct deliver_job *j = *jp;

	*jp = NULL;
	if (j == NULL)
		return;
	if (j->fd != -1)
		close(j->fd);
	blob_tmp_discard(j->db, &j->tmp);
	free(j->data);
	free(j->record);
	free(j->envelope_from);
	free(j->recipient);
	free(j);
}

void
deliver_job_envelope(struct deliver_job *j, const char *from,
    const char *rcpt)
{
	free(j->envelope_from);
	free(j->recipient);
	j->envelope_from = xstrdup(from);
	j->recipient = xstrdup(rcpt);
}

/* Reads exactly in.size bytes of the job's file into j->data. */
static enum ipc_status
deliver_read(struct deliver_job *j, struct store_error *err)
{
	struct stat sb;
	size_t off = 0;
	ssize_t n;

	if (fstat(j->fd, &sb) == -1 || !S_ISREG(sb.st_mode))
		return db_error(err, IPC_S_INVALID, "message descriptor is "
		    "not a file");
	if ((uint64_t)sb.st_size != j->in.size)
		return db_error(err, IPC_S_INVALID, "message is %lld bytes, "
		    "not %zu", (long long)sb.st_size, j->in.size);
	j->data = xmalloc(j->in.size);
	while (off < j->in.size) {
		n = pread(j->fd, j->data + off, j->in.size - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return db_error(err, IPC_S_INVALID, "message file "
			    "shorter than its size");
		off += (size_t)n;
	}
	return IPC_S_OK;
}

static enum ipc_status deliver_fill(struct deliver_job *j, bool with_file,
    struct store_error *err);

enum ipc_status
deliver_prepare(void *arg, struct store_error *err)
{
	struct deliver_job *j = arg;
	enum ipc_status st;

	if (j->in.size == 0 || j->in.size > j->max_size)
		st = db_error(err, j->in.size == 0 ? IPC_S_INVALID :
		    IPC_S_TOOBIG, "message size %zu not accepted",
		    j->in.size);
	else
		st = deliver_read(j, err);
	if (j->fd != -1)
		close(j->fd);
	j->fd = -1;
	if (st != IPC_S_OK)
		return st;
	return deliver_fill(j, true, err);
}

/*
 * With j->data read: checks the record, hashes the message and fills in
 * what message_append takes from them; with_file writes a big message's
 * file here (blob_tmp_prepare), off the writer thread.
 */
static enum ipc_status
deliver_fill(struct deliver_job *j, bool with_file, struct store_error *err)
{
	struct msgrec_summary s;
	enum ipc_status st;
	const char *why;

	if (msgrec_decode(j->record, j->record_len, j->in.size, &s,
	    &why) == -1)
		return db_error(err, IPC_S_INVALID, "bad record: %s", why);
	j->in.data = j->data;
	if (with_file) {
		/* The sync of a big blob's file costs here. */
		if ((st = blob_hash_prepare(j->db, j->data, j->in.size,
		    j->in.hash, &j->tmp, err)) != IPC_S_OK)
			return st;
		j->in.tmp = &j->tmp;
	} else
		blob_hash(j->data, j->in.size, j->in.hash);
	j->in.message_id = s.message_id;
	j->in.base_subject = s.base_subject;
	j->irt = s.in_reply_to;
	j->refs = s.references;
	j->in.in_reply_to = &j->irt;
	j->in.references = &j->refs;
	return IPC_S_OK;
}

enum ipc_status
deliver_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct deliver_job *j = arg;
	struct vacation_mail m;
	enum ipc_status st;

	j->vacation = false;
	if ((st = message_append(db, txn, &j->in, &j->out, err)) != IPC_S_OK)
		return st;
	j->in_file = !j->out.duplicate && blob_is_file(db, txn, j->in.hash);
	if (j->out.duplicate || j->recipient == NULL)
		return st;
	m.account_id = j->in.account_id;
	m.envelope_from = j->envelope_from;
	m.recipient = j->recipient;
	m.data = j->data;
	m.size = j->in.size;
	m.now = j->in.now;
	return vacation_deliver(db, txn, &m, &j->vacation, err);
}

int
deliver_log(void *arg, struct buf *out)
{
	struct deliver_job *j = arg;
	struct deliver_log_entry e;

	memset(&e, 0, sizeof(e));
	e.account_id = j->in.account_id;
	e.mailbox_id = j->in.mailbox_id;
	e.flags = j->in.flags;
	e.received = j->in.received;
	e.now = j->in.now;
	e.dup_check = j->in.dup_check;
	if (j->envelope_from != NULL && j->recipient != NULL) {
		e.from = j->envelope_from;
		e.from_len = strlen(j->envelope_from);
		e.rcpt = j->recipient;
		e.rcpt_len = strlen(j->recipient);
	}
	e.record = j->record;
	e.record_len = j->record_len;
	e.data = j->data;
	e.size = j->in.size;
	/*
	 * Stored, a big message is its file, synced under its name before
	 * db_commit appends the record (blobfile_pre_commit).
	 */
	if (j->in_file) {
		e.hash = j->in.hash;
		e.data = NULL;
	}
	return deliver_log_encode(&e, out);
}

/* Reads the file of a replayed delivery's message into j->data. */
static enum ipc_status
deliver_replay_file(struct store_db *db, struct deliver_job *j,
    const uint8_t *hash, struct store_error *err)
{
	uint8_t got[MSG_HASH_LEN];
	enum ipc_status st;
	int fd;

	if (db->files == NULL)
		return db_error(err, IPC_S_INTERNAL, "a replayed delivery's "
		    "message is a file, and this store has none");
	if ((st = blobfile_open_fd(db->files, hash, &fd, err)) != IPC_S_OK) {
		if (st == IPC_S_NOTFOUND)
			db_error(err, IPC_S_INTERNAL, "the file of a replayed "
			    "delivery is missing");
		return IPC_S_INTERNAL;
	}
	j->fd = fd;
	st = deliver_read(j, err);
	close(j->fd);
	j->fd = -1;
	if (st != IPC_S_OK)
		return IPC_S_INTERNAL;
	blob_hash(j->data, j->in.size, got);
	if (memcmp(got, hash, MSG_HASH_LEN) != 0)
		return db_error(err, IPC_S_INTERNAL, "the file of a replayed "
		    "delivery does not hold its message");
	return IPC_S_OK;
}

enum ipc_status
deliver_replay(struct store_db *db, MDB_txn *txn, const void *p, size_t len,
    struct store_error *err)
{
	struct deliver_log_entry e;
	struct deliver_job *j;
	enum ipc_status st;
	const char *why;
	char *from, *rcpt;

	if (deliver_log_decode(p, len, &e, &why) == -1)
		return db_error(err, IPC_S_INTERNAL, "%s", why);
	if (e.size == 0 || e.size > DELIVER_MAX_SIZE)
		return db_error(err, IPC_S_INTERNAL, "a delivery of %zu "
		    "bytes", e.size);
	j = deliver_job_new(e.account_id, e.mailbox_id, e.received, e.size,
	    e.record, e.record_len, -1, e.now);
	j->in.dup_check = e.dup_check;
	j->in.flags = e.flags;
	if (e.from != NULL) {
		from = xstrndup(e.from, e.from_len);
		rcpt = xstrndup(e.rcpt, e.rcpt_len);
		deliver_job_envelope(j, from, rcpt);
		free(from);
		free(rcpt);
	}
	if (e.hash != NULL)
		st = deliver_replay_file(db, j, e.hash, err);
	else {
		j->data = xmalloc(e.size);
		memcpy(j->data, e.data, e.size);
		st = IPC_S_OK;
	}
	/* No file first: blob_ref writes a big one itself if it is new. */
	if (st == IPC_S_OK && (st = deliver_fill(j, false, err)) == IPC_S_OK)
		st = deliver_apply(db, txn, j, err);
	deliver_job_free(&j);
	return st;
}
