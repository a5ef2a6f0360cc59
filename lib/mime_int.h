/* SPDX-License-Identifier: ISC */
/*
 * mime_int.h: the parsed tree shared by the mime_*.c files and msgrec.c.
 * Not a public interface: other modules read a message through msgrec.h.
 *
 * A message is a flat array of parts in pre-order (part 0 is the message
 * itself); a message/rfc822 or message/global part has the encapsulated
 * message's top entity as its only child.  Every string is NUL-terminated
 * UTF-8 without embedded NUL and lives in the message's arena.
 */
#ifndef BULWARK_MIME_INT_H
#define BULWARK_MIME_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mime.h"

#define MIME_NONE	UINT32_MAX

/* Header fields the parser keeps (first occurrence of each). */
enum mime_hdr {
	MH_CONTENT_TYPE,
	MH_CTE,
	MH_DISPOSITION,
	MH_ID,
	MH_DESCRIPTION,
	MH_LANGUAGE,
	MH_LOCATION,
	MH_MD5,
	MH_DATE,
	MH_SUBJECT,
	MH_FROM,
	MH_SENDER,
	MH_REPLY_TO,
	MH_TO,
	MH_CC,
	MH_BCC,
	MH_IN_REPLY_TO,
	MH_MESSAGE_ID,
	MH_REFERENCES,
	MH_COUNT
};

/* Address lists of an envelope, in RFC 9051 7.5.2 order. */
enum mime_addr_field {
	MA_FROM,
	MA_SENDER,
	MA_REPLY_TO,
	MA_TO,
	MA_CC,
	MA_BCC,
	MA_COUNT
};

enum mime_enc {
	ME_IDENTITY,	/* 7bit, 8bit, binary, missing or unknown */
	ME_BASE64,
	ME_QP
};

struct mime_span {
	const uint8_t	*p;
	size_t		 len;
};

struct mime_addr {
	char		*name;		/* decoded display name or "" */
	char		*email;		/* addr-spec (a bare local part has no
					   '@'), or "" (none, empty group) */
	char		*group;		/* group display name or NULL */
	char		*route;		/* obs-route "@a,@b" (RFC 5322 4.4)
					   before the addr-spec, or NULL */
};

struct mime_addrlist {
	struct mime_addr *v;
	size_t		 n;
};

struct mime_strv {
	char		**v;
	size_t		 n;
};

/* A message's header data: ENVELOPE and the JMAP header properties. */
struct mime_env {
	char		*date;		/* raw (unfolded) values, or NULL */
	char		*subject;
	char		*in_reply_to;
	char		*message_id;
	struct mime_addrlist addr[MA_COUNT];
	char		*subject_dec;	/* decoded, or NULL */
	int64_t		 sent_at;
	int32_t		 sent_tz;
	bool		 has_sent_at;
	struct mime_strv msgid;		/* ids without <> */
	struct mime_strv irt;
	struct mime_strv refs;
};

struct mime_param {
	char		*name;		/* lower case */
	char		*value;		/* RFC 2231 / 2047 decoded */
};

struct mime_part {
	uint32_t	 parent;	/* MIME_NONE for part 0 */
	uint32_t	 depth;
	uint32_t	 env;		/* index in msg->envs or MIME_NONE */
	uint64_t	 hdr_off;	/* first byte of the header */
	uint64_t	 body_off;	/* first byte of the body */
	uint64_t	 body_end;	/* end of the body */
	uint64_t	 lines;		/* body lines */
	uint64_t	 dsize;		/* body octets, transfer-decoded */
	char		*type;		/* lower case, e.g. "text" */
	char		*subtype;	/* lower case, e.g. "plain" */
	struct mime_param *params;
	size_t		 nparams;
	char		*charset;	/* lower case or NULL */
	char		*id;
	char		*description;
	char		*encoding;	/* lower case or NULL if absent */
	char		*md5;
	char		*disposition;	/* lower case or NULL */
	struct mime_param *dparams;
	size_t		 ndparams;
	struct mime_strv language;
	char		*location;
	char		*name;		/* filename or name parameter */
	enum mime_enc	 enc;
};

struct mime_arena_blk;

struct mime_msg {
	const uint8_t	*data;
	size_t		 len;
	struct mime_arena_blk *arena;
	struct mime_part *parts;
	uint32_t	 nparts, capparts;
	struct mime_env	*envs;
	uint32_t	 nenvs, capenvs;
	char		*base_subject;
	char		*from;		/* first From: "Name <addr>" or addr */
	char		*preview;
	bool		 has_attachment;
	uint32_t	*body[3];	/* text, html, attachments */
	uint32_t	 nbody[3];
	struct buf	 scratch;	/* reused for decoding */
	struct buf	 scratch2;
	struct buf	 text;		/* mime_msg_text, built on first use */
	bool		 text_done;
};

enum { MB_TEXT, MB_HTML, MB_ATTACH };

/* mime.c: the arena. */
void	*mime_alloc(struct mime_msg *m, size_t n);
char	*mime_strndup(struct mime_msg *m, const void *p, size_t n);

/* mime_header.c: header values (RFC 5322). */
char	*mime_unfold(struct mime_msg *m, struct mime_span v);
void	 mime_parse_addrlist(struct mime_msg *m, const char *s,
	    struct mime_addrlist *out);
bool	 mime_parse_date(const char *s, int64_t *t_r, int32_t *tz_r);
void	 mime_parse_msgids(struct mime_msg *m, const char *s, bool first,
	    struct mime_strv *out);
char	*mime_base_subject(struct mime_msg *m, const char *subject);
void	 mime_env_fill(struct mime_msg *m, struct mime_env *env,
	    const struct mime_span *hdr);

/* mime_encword.c: RFC 2047 encoded words in unstructured text. */
void	 mime_decode_words(const char *s, size_t len, struct buf *out);
char	*mime_decode_words_dup(struct mime_msg *m, const char *s);

/* mime_param.c: Content-Type and Content-Disposition (RFC 2045, 2183, 2231). */
void	 mime_parse_ctype(struct mime_msg *m, const char *s,
	    struct mime_part *p);
void	 mime_parse_disposition(struct mime_msg *m, const char *s,
	    struct mime_part *p);
const char *mime_param_get(const struct mime_param *v, size_t n,
	    const char *name);

/* mime_decode.c: transfer encodings (RFC 2045 6.7, 6.8). */
void	 mime_decode_body(enum mime_enc enc, const uint8_t *p, size_t len,
	    struct buf *out);
uint64_t mime_decoded_size(enum mime_enc enc, const uint8_t *p, size_t len);
void	 mime_decode_b64(const uint8_t *p, size_t len, struct buf *out);
void	 mime_decode_qp(const uint8_t *p, size_t len, bool header,
	    struct buf *out);

/* mime_body.c: RFC 8621 4.1.4 body selection, preview and index text. */
void	 mime_select_bodies(struct mime_msg *m);
void	 mime_make_preview(struct mime_msg *m);
void	 mime_part_text(struct mime_msg *m, uint32_t i, struct buf *out);

#endif
