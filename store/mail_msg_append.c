/* SPDX-License-Identifier: ISC */
/*
 * mail_msg_append.c: MSG_APPEND (IMAP APPEND and MULTIAPPEND, RFC 9051
 * 6.3.12 and RFC 3502; JMAP Email/import, RFC 8621 4.8) as steps of the
 * writer of txn.h, like a delivery (deliver_job.c): prepare, on the
 * writer's preparer thread, reads the messages from the request's file and
 * hashes them and checks each record; apply stores them all in one nested
 * transaction, so that one refused message (a bad record, the quota)
 * stores none.  No duplicate suppression: a client that appends twice
 * means it.
 */
#include "mail_msg.h"
#include "blob.h"
#include "mailbox.h"
#include "message.h"
#include "xmalloc.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Checks the request's lists against each other; returns st or OK. */
static enum ipc_status
mail_append_check(const struct wire_u64list *sizes,
    const struct wire_u64list *flags, const struct wire_strlist *kws,
    const struct wire_u64list *received, size_t records_len,
    const struct wire_u64list *record_lens, struct store_error *err)
{
	uint32_t n = sizes->count, i;
	uint64_t total = 0, rtotal = 0, sz;

	if (n == 0 || (flags->count != 0 && flags->count != n) ||
	    (kws->count != 0 && kws->count != n) ||
	    (received->count != 0 && received->count != n) ||
	    record_lens->count != n)
		return db_error(err, IPC_S_INVALID, "lists of different "
		    "lengths");
	if (n > MAIL_APPEND_MAX)
		return db_error(err, IPC_S_LIMIT, "more than %d messages",
		    MAIL_APPEND_MAX);
	for (i = 0; i < n; i++) {
		sz = wire_u64list_get(sizes, i);
		if (sz == 0)
			return db_error(err, IPC_S_INVALID, "empty message");
		if (sz > MAIL_APPEND_MAX_SIZE ||
		    (total += sz) > MAIL_APPEND_MAX_SIZE)
			return db_error(err, IPC_S_TOOBIG, "messages too "
			    "large");
		if (flags->count != 0 &&
		    (wire_u64list_get(flags, i) & ~(uint64_t)MAIL_F_ALL) != 0)
			return db_error(err, IPC_S_INVALID, "unknown flags");
		if ((rtotal += wire_u64list_get(record_lens, i)) > records_len)
			return db_error(err, IPC_S_INVALID, "records shorter "
			    "than their lengths");
	}
	if (rtotal != records_len)
		return db_error(err, IPC_S_INVALID, "records longer than "
		    "their lengths");
	return IPC_S_OK;
}

struct mail_append *
mail_append_new(uint64_t account_id, uint32_t mbox, int fd, uint64_t now,
    const struct wire_u64list *sizes, const struct wire_u64list *flags,
    const struct wire_strlist *kws, const struct wire_u64list *received,
    const void *records, size_t records_len,
    const struct wire_u64list *record_lens, enum ipc_status *st_r,
    struct store_error *err)
{
	char kw[MSG_MAX_KEYWORDS][MSG_KEYWORD_MAX + 1];
	struct mail_append *a;
	struct mail_append_msg *m;
	struct wire_iter it;
	const char *k;
	uint64_t off = 0, roff = 0;
	uint32_t i, nkw;

	if ((*st_r = mail_append_check(sizes, flags, kws, received,
	    records_len, record_lens, err)) != IPC_S_OK) {
		close(fd);
		return NULL;
	}
	a = xcalloc(1, sizeof(*a));
	a->account_id = account_id;
	a->mailbox_id = mbox;
	a->fd = fd;
	a->now = now;
	a->n = sizes->count;
	a->msgs = xcalloc(a->n, sizeof(*a->msgs));
	buf_append(&a->records, records, records_len);
	if (kws->count != 0)
		wire_strlist_iter(kws, &it);
	for (i = 0; i < a->n; i++) {
		m = &a->msgs[i];
		m->off = off;
		m->size = wire_u64list_get(sizes, i);
		off += m->size;
		m->flags = flags->count != 0 ?
		    (uint32_t)wire_u64list_get(flags, i) : 0;
		m->received = received->count != 0 ?
		    wire_u64list_get(received, i) : 0;
		if (m->received == 0)
			m->received = now;
		m->rec_off = roff;
		m->rec_len = wire_u64list_get(record_lens, i);
		roff += m->rec_len;
		k = kws->count != 0 ? wire_strlist_next(&it) : NULL;
		m->keywords = xstrdup(k != NULL ? k : "");
		if ((*st_r = mail_keywords_parse(m->keywords, kw, &nkw,
		    err)) != IPC_S_OK) {
			mail_append_free(&a);
			return NULL;
		}
	}
	a->total = off;
	return a;
}

void
mail_append_free(struct mail_append **ap)
{
	struct mail_append *a = *ap;
	uint32_t i;

	*ap = NULL;
	if (a == NULL)
		return;
	if (a->fd != -1)
		close(a->fd);
	for (i = 0; i < a->n; i++) {
		free(a->msgs[i].keywords);
		blob_tmp_discard(a->db, &a->msgs[i].tmp);
	}
	free(a->msgs);
	buf_clear(&a->records);
	free(a->data);
	mail_vec_clear(&a->uids);
	mail_vec_clear(&a->email_ids);
	free(a);
}

/* Reads exactly a->total bytes of the file into a->data. */
static enum ipc_status
mail_append_read(struct mail_append *a, struct store_error *err)
{
	struct stat sb;
	size_t off = 0;
	ssize_t n;

	if (fstat(a->fd, &sb) == -1 || !S_ISREG(sb.st_mode))
		return db_error(err, IPC_S_INVALID, "message descriptor is "
		    "not a file");
	if ((uint64_t)sb.st_size != a->total)
		return db_error(err, IPC_S_INVALID, "messages are %lld bytes, "
		    "not %llu", (long long)sb.st_size,
		    (unsigned long long)a->total);
	a->data = xmalloc((size_t)a->total);
	while (off < a->total) {
		n = pread(a->fd, a->data + off, (size_t)a->total - off,
		    (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return db_error(err, IPC_S_INVALID, "message file "
			    "shorter than its size");
		off += (size_t)n;
	}
	return IPC_S_OK;
}

enum ipc_status
mail_append_prepare(void *arg, struct store_error *err)
{
	struct mail_append *a = arg;
	struct mail_append_msg *m;
	enum ipc_status st;
	const char *why;
	uint32_t i;

	st = mail_append_read(a, err);
	close(a->fd);
	a->fd = -1;
	if (st != IPC_S_OK)
		return st;
	for (i = 0; i < a->n; i++) {
		m = &a->msgs[i];
		if (msgrec_decode(a->records.data + m->rec_off, m->rec_len,
		    m->size, &m->sum, &why) == -1)
			return db_error(err, IPC_S_INVALID, "message %u: bad "
			    "record: %s", i + 1, why);
		/* The sync of a big blob's file costs here, not in apply. */
		if ((st = blob_hash_prepare(a->db, a->data + m->off,
		    (size_t)m->size, m->hash, &m->tmp, err)) != IPC_S_OK)
			return st;
	}
	return IPC_S_OK;
}

/* Gives email the keywords text (checked by mail_append_new). */
static enum ipc_status
mail_append_keywords(struct store_db *db, MDB_txn *txn, uint64_t acct,
    uint64_t email, const char *text, struct store_error *err)
{
	char kw[MSG_MAX_KEYWORDS][MSG_KEYWORD_MAX + 1];
	struct message_rec m;
	enum ipc_status st;
	uint32_t i, n;

	if ((st = mail_keywords_parse(text, kw, &n, err)) != IPC_S_OK ||
	    n == 0)
		return st;
	if ((st = message_get(db, txn, acct, email, &m, err)) != IPC_S_OK)
		return st;
	for (i = 0; i < n; i++)
		memcpy(m.keywords[i], kw[i], sizeof(m.keywords[i]));
	m.nkeywords = n;
	return msgops_put(db, txn, acct, email, &m, err);
}

enum ipc_status
mail_append_apply(struct store_db *db, MDB_txn *txn, void *arg,
    struct store_error *err)
{
	struct mail_append *a = arg;
	struct mail_append_msg *m;
	struct message_new in;
	struct message_result out;
	struct mailbox_rec mb;
	enum ipc_status st;
	uint32_t i;

	mail_vec_clear(&a->uids);
	mail_vec_clear(&a->email_ids);
	for (i = 0; i < a->n; i++) {
		m = &a->msgs[i];
		memset(&in, 0, sizeof(in));
		in.account_id = a->account_id;
		in.mailbox_id = a->mailbox_id;
		in.received = m->received;
		in.now = a->now;
		in.data = a->data + m->off;
		in.size = (size_t)m->size;
		in.tmp = &m->tmp;
		memcpy(in.hash, m->hash, sizeof(in.hash));
		in.record = a->records.data + m->rec_off;
		in.record_len = m->rec_len;
		in.message_id = m->sum.message_id;
		in.base_subject = m->sum.base_subject;
		in.in_reply_to = &m->sum.in_reply_to;
		in.references = &m->sum.references;
		in.flags = m->flags;
		in.dup_check = false;
		if ((st = message_append(db, txn, &in, &out, err)) !=
		    IPC_S_OK ||
		    (st = mail_append_keywords(db, txn, a->account_id,
		    out.email_id, m->keywords, err)) != IPC_S_OK)
			return st;
		mail_vec_u32(&a->uids, out.uid);
		mail_vec_u64(&a->email_ids, out.email_id);
	}
	if ((st = mailbox_get(db, txn, a->account_id, a->mailbox_id, &mb,
	    err)) != IPC_S_OK)
		return st;
	a->uidvalidity = mb.uidvalidity;
	a->highestmodseq = mb.highestmodseq;
	return IPC_S_OK;
}
