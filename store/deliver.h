/* SPDX-License-Identifier: ISC */
/*
 * deliver.h: the delivery requests of lmtpd (RCPT_RESOLVE, DELIVER).
 *
 * Both are taken only on worker channels the master announced as lmtpd's
 * (STORE_PEER name "lmtpd"); any other channel gets IPC_S_DENIED.
 * RCPT_RESOLVE runs on the loop in one read transaction (rcpt.h).  DELIVER
 * goes through the group-commit writer (txn.h): its prepare step, on the
 * writer thread, reads the message from the request's descriptor (whose
 * size must equal the `size` field, at most DELIVER_MAX_SIZE), hashes it
 * and checks the record with msgrec_decode; its apply step is
 * message_append; the reply goes out once the batch is durable.  A bad
 * request gets IPC_S_INVALID, a full account IPC_S_QUOTA, a full queue
 * IPC_S_UNAVAIL; none of them affects other deliveries.
 */
#ifndef BULWARK_DELIVER_H
#define BULWARK_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "ipc.h"
#include "blobfile.h"
#include "message.h"
#include "dblog.h"
#include "txn.h"

/* The largest message storaged takes, whatever lmtpd allows. */
#define DELIVER_MAX_SIZE	(256ull << 20)
/* DELIVER requests queued for the writer at most. */
#define DELIVER_MAX_PENDING	8192

/* One DELIVER on its way through the writer; exposed for tests. */
struct deliver_job {
	struct storaged		*sd;		/* NULL in tests */
	uint64_t		 chan_serial;
	struct ipc_reqref	 ref;
	int			 fd;		/* closed by prepare */
	uint64_t		 max_size;
	uint8_t			*data;
	uint8_t			*record;
	size_t			 record_len;
	struct message_new	 in;
	/*
	 * Set by the submitter (NULL in tests: no file is prepared): prepare
	 * writes a big message to tmp, off the writer thread.
	 */
	struct store_db		*db;
	struct blob_tmp		 tmp;
	struct message_result	 out;
	struct wire_strlist	 irt, refs;	/* point into record */
	/* The envelope, owned (deliver_job_envelope); NULL: none. */
	char			*envelope_from, *recipient;
	bool			 vacation;	/* a reply was queued */
	/* Stored, the message is a file of blobs/ (its record names it). */
	bool			 in_file;
};

/*
 * Makes a job from the DELIVER request fields; fd is taken.  now is the
 * received time when the request has none.
 */
struct deliver_job *deliver_job_new(uint64_t account_id, uint32_t mailbox_id,
	    uint64_t received, uint64_t size, const void *record,
	    size_t record_len, int fd, uint64_t now);
void	deliver_job_free(struct deliver_job **jp);
/*
 * Gives the job its envelope (copied): the sender ("" for null) and the
 * recipient.  With it the apply step also queues the account's vacation
 * reply (vacation.h) in the delivery's transaction.
 */
void	deliver_job_envelope(struct deliver_job *j, const char *from,
	    const char *rcpt);
/* The steps of txn.h for a job (arg is the job). */
mail_prepare_fn deliver_prepare;
mail_apply_fn deliver_apply;
/* Writes the job's entry of a redo record (deliver_log.h). */
mail_log_fn deliver_log;
/*
 * dblog.h's replay of a delivery's entry (deliver_log's bytes): the same
 * message_append, with the same clock, in txn.
 */
dblog_replay_fn deliver_replay;

/* Handlers of dispatch_worker. */
ipc_handler_fn deliver_rcpt_resolve;
ipc_handler_fn deliver_deliver;

#endif
