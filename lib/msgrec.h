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
 * Strings are cut to bounded sizes (64 KiB for subjects, previews and raw
 * envelope fields, 4 KiB for names, ids and part fields) and, except the
 * raw envelope fields, Content-ID, Content-MD5 and Content-Location, are
 * valid UTF-8 (msgrec_decode checks it).
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
	const char	*email;		/* addr-spec (or a lone local part), or ""
					 * for a group marker or no address */
	const char	*group;		/* group display name or NULL */
	/* obs-route before the addr-spec ("@a,@b", RFC 5322 4.4), or NULL */
	const char	*route;
	size_t		 route_len;
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

/*
 * The whole record, for IMAP FETCH (ENVELOPE, BODYSTRUCTURE, BODY[n]) and
 * JMAP Email/get.  Parts are in pre-order: part 0 is the message; a
 * message/rfc822 or message/global part has the encapsulated message's
 * top entity as its only child (IMAP numbering follows from the tree).
 * Strings marked "or NULL" are NULL when the field is absent.
 */
#define MSGREC_NONE	UINT32_MAX

/*
 * An IMAP ENVELOPE (RFC 9051 7.5.2) and the JMAP header properties of
 * one message: the top-level one (envelope 0) or an encapsulated one.
 * The raw strings are the unfolded field values as found (any byte but
 * NUL); addresses are decoded (UTF-8) and read with msgrec_addr_next().
 */
struct msgrec_envelope {
	const char	*date;		/* raw, or NULL */
	const char	*subject;	/* raw, or NULL */
	const char	*in_reply_to;	/* raw, or NULL */
	const char	*message_id;	/* raw, or NULL */
	const char	*subject_dec;	/* decoded UTF-8, or NULL */
	int64_t		 sent_at;
	int32_t		 sent_tz;
	bool		 has_sent_at;
	/* from, sender, reply-to, to, cc, bcc: triples name, email, group */
	struct wire_strlist addr[6];
};

enum msgrec_addr_field {
	MSGREC_FROM,
	MSGREC_SENDER,
	MSGREC_REPLY_TO,
	MSGREC_TO,
	MSGREC_CC,
	MSGREC_BCC
};

/*
 * One MIME part (RFC 9051 7.5.2 BODYSTRUCTURE fields, RFC 8621
 * EmailBodyPart).  Offsets are into the stored message: the header is
 * [hdr_off, body_off) including the blank line, the body [body_off,
 * body_end).  type and subtype are lower case; parameter values are
 * decoded to UTF-8 (RFC 2231, RFC 2047), names lower case.
 */
struct msgrec_part {
	uint32_t	 parent;	/* MSGREC_NONE for part 0 */
	uint32_t	 env;		/* envelope index or MSGREC_NONE */
	uint64_t	 hdr_off;
	uint64_t	 body_off;
	uint64_t	 body_end;
	uint64_t	 lines;		/* lines of the body */
	uint64_t	 decoded_size;	/* body octets, transfer-decoded */
	const char	*type;
	const char	*subtype;
	struct wire_strlist params;	/* name, value pairs */
	const char	*id;		/* Content-ID, or NULL */
	const char	*description;	/* decoded, or NULL */
	const char	*encoding;	/* lower case, or NULL if absent */
	const char	*md5;		/* or NULL */
	const char	*disposition;	/* lower case, or NULL */
	struct wire_strlist disp_params; /* name, value pairs */
	struct wire_strlist language;
	const char	*location;	/* or NULL */
	const char	*charset;	/* lower case, or NULL */
	const char	*name;		/* decoded file name, or NULL */
};

struct msgrec {
	struct msgrec_summary s;
	uint32_t	 nparts;
	uint32_t	 nenvs;
	struct msgrec_part *parts;	/* nparts */
	struct msgrec_envelope *envs;	/* nenvs; 0 is the message's own */
	/* Where envelope 0 lies in the record (msgrec_open_env0). */
	const uint8_t	*env0;
	size_t		 env0_len;
	/* RFC 8621 4.1.4, part indices */
	struct wire_u64list text_body;
	struct wire_u64list html_body;
	struct wire_u64list attachments;
};

/*
 * Checks the record as msgrec_decode() does and fills *r, whose arrays are
 * allocated (free with msgrec_close) and whose strings point into rec.
 * Returns 0, or -1 with *error_r (static text) and nothing to close.
 */
int	msgrec_open(const void *rec, size_t len, uint64_t size,
	    struct msgrec *r, const char **error_r);
/*
 * The same for a record as storaged gives it, whose strings storaged
 * checked as UTF-8 when it stored the record (msgrec_decode on every
 * delivery, append and import): they are not checked again, everything
 * else is.  For a reader that writes the strings through an encoder that
 * takes any bytes (imapd's, which falls back to a literal), so that even
 * a record damaged in the database yields no invalid output.
 */
int	msgrec_open_stored(const void *rec, size_t len, uint64_t size,
	    struct msgrec *r, const char **error_r);
/*
 * For storaged's search of the top-level envelope only (SEARCH FROM,
 * SUBJECT...), which matches substrings and writes nothing out: the
 * first envelope is read as msgrec_open_stored() reads it (strings end in
 * their only NUL; UTF-8 is not checked again), and r->nenvs is 1; the
 * summary's strings are stepped over (r->s has "" and empty lists for
 * them, its numbers and flags as stored); the other envelopes and the
 * parts are neither read nor checked, r->nparts is 0 (the summary keeps
 * their count), and the body lists must not be used.  size
 * MSGREC_ANY_SIZE skips the check that the record is of a message of that
 * size.
 */
#define MSGREC_ANY_SIZE		UINT64_MAX
int	msgrec_open_envelopes(const void *rec, size_t len, uint64_t size,
	    struct msgrec *r, const char **error_r);
/*
 * Opens the bytes of a record's envelope 0 alone (r->env0 and env0_len of
 * an open record, kept elsewhere: storaged's msghead), as
 * msgrec_open_envelopes() reads it: r->nenvs is 1, r->nparts 0, the
 * summary empty (size 0).  Returns 0, or -1 with *error_r and nothing to
 * close.
 */
int	msgrec_open_env0(const void *env, size_t len, struct msgrec *r,
	    const char **error_r);
void	msgrec_close(struct msgrec *r);

/*
 * Reads the next address of a list from envelope addr[] (started with
 * wire_strlist_iter); returns false at the end.  The strings point into
 * the record.
 */
bool	msgrec_addr_next(struct wire_iter *it, struct msgrec_addr *a);

#endif
