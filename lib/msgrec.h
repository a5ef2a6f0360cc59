/* SPDX-License-Identifier: ISC */
/*
 * msgrec.h: the parsed record of a message, as stored beside its blob and
 * sent from the worker that parsed it to storaged.
 *
 * The record holds what IMAP FETCH and JMAP Email/get serve without parsing
 * again: the MIME tree with the byte offsets of each part's header and body,
 * the IMAP ENVELOPE and BODYSTRUCTURE data, the JMAP fields (from, to, cc,
 * bcc, replyTo, sender, subject, sentAt, messageId, inReplyTo, references,
 * textBody/htmlBody/attachments per RFC 8621 4.1.4, preview, hasAttachment)
 * and the base subject used for threading (RFC 5256 2.1).
 *
 * Its bytes are typed values in the encoding of lib/wire.h, starting with a
 * U8 version; msgrec_decode() checks every length, offset (against the
 * message size) and index before anything reads them, so a record from a
 * compromised worker or a damaged disk is refused, never trusted.
 */
#ifndef BULWARK_MSGREC_H
#define BULWARK_MSGREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "wire.h"

struct mime_msg;

#define MSGREC_VERSION	1

/*
 * Appends the record of msg to out.  prefix_len is the number of bytes of
 * header lines (such as Return-Path and Delivered-To) that will be stored in
 * front of the parsed bytes: the record describes the message as stored, so
 * the top-level header grows by prefix_len and every other offset moves.
 */
void	msgrec_encode(const struct mime_msg *msg, uint64_t prefix_len,
	    struct buf *out);

/* An address as IMAP and JMAP present it; group syntax as in RFC 8621. */
struct msgrec_addr {
	const char	*name;		/* decoded display name, UTF-8, or "" */
	const char	*email;		/* addr-spec, or "" for a group marker */
	const char	*group;		/* group display name or NULL */
};

/* The part of a record storaged and the protocol workers read most. */
struct msgrec_summary {
	uint64_t	 size;		/* bytes of the stored message */
	int64_t		 sent_at;	/* Date: as seconds since the epoch */
	bool		 has_sent_at;	/* false: no usable Date header */
	int32_t		 sent_tz;	/* minutes east of UTC */
	const char	*subject;	/* decoded, UTF-8, "" if none */
	const char	*base_subject;	/* RFC 5256 2.1, for threading */
	const char	*message_id;	/* first msg-id without <>, or "" */
	struct wire_strlist in_reply_to; /* msg-ids without <> */
	struct wire_strlist references;
	const char	*from;		/* first From address, for listings */
	const char	*preview;	/* up to 256 characters, UTF-8 */
	bool		 has_attachment;
	uint32_t	 nparts;
};

/*
 * Checks the whole record (len bytes at rec) against a message of `size`
 * bytes and fills *s with pointers into rec (valid as long as rec).
 * Returns 0, or -1 with *error_r (static text) if the record is malformed
 * or describes bytes outside the message.
 */
int	msgrec_decode(const void *rec, size_t len, uint64_t size,
	    struct msgrec_summary *s, const char **error_r);

#endif
