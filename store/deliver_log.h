/* SPDX-License-Identifier: ISC */
/*
 * deliver_log.h: a delivery's entry in a redo record (dblog.h), written by
 * deliver_log and read back by deliver_replay (deliver.h).  Only bytes:
 * nothing here touches the store, so that the decoder has a fuzz target.
 *
 * The entry, integers big-endian: u8 DELIVER_LOG_TYPE, u8 dup_check, u16
 * length of the envelope sender (0xffff: no envelope), u16 of the
 * recipient, u8 DELIVER_LOG_FILE or 0, u8 zero, u32 mailbox, u32 flags,
 * u32 record length, u32 zero, u64 account, received, now, size; then the
 * sender, the recipient, the record and the message, or with
 * DELIVER_LOG_FILE only the message's hash: a big message is a file of
 * blobs/, synced under its name before the record is (blobfile.h), and the
 * replay reads it there, so that its bytes are not written twice.
 */
#ifndef BULWARK_DELIVER_LOG_H
#define BULWARK_DELIVER_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* The first byte of a delivery's entry. */
#define DELIVER_LOG_TYPE	'D'
/* Its seventh byte when the message is its blob's file. */
#define DELIVER_LOG_FILE	1
/* Bytes of the hash (MSG_HASH_LEN). */
#define DELIVER_LOG_HASH_LEN	32

/* An entry's fields; the byte fields point into the entry (or are NULL). */
struct deliver_log_entry {
	uint64_t	 account_id;
	uint32_t	 mailbox_id;
	uint32_t	 flags;
	uint64_t	 received, now;
	bool		 dup_check;
	/* NULL: no envelope (no vacation reply). */
	const char	*from, *rcpt;
	size_t		 from_len, rcpt_len;
	const void	*record, *data;
	size_t		 record_len, size;
	/*
	 * Not NULL: the message is the file of this hash (DELIVER_LOG_HASH_
	 * LEN bytes), and data is NULL.
	 */
	const uint8_t	*hash;
};

/* Appends e's entry to out.  Returns 0, or -1 if a field is too long. */
int	deliver_log_encode(const struct deliver_log_entry *e, struct buf *out);
/*
 * Reads the entry [p, p + len) into e, whose byte fields then point into
 * it.  Returns 0, or -1 (with *why) if it is not one, or cut, or of the
 * wrong size.
 */
int	deliver_log_decode(const void *p, size_t len,
	    struct deliver_log_entry *e, const char **why);

#endif
