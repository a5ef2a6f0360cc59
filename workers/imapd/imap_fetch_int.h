/* SPDX-License-Identifier: ISC */
/*
 * imap_fetch_int.h: what the three files of FETCH share: the command's
 * state and the calls between them.  imap_fetch_parse.c reads the items
 * (RFC 9051 6.4.5 and the fetch-att production of section 9),
 * imap_fetch_sect.c writes a message's sections (BODY[...], BINARY[...])
 * and imap_fetch.c runs the command: chunks of MSG_FETCH, each message's
 * response, \Seen, VANISHED and NOTIFY's FETCH.
 */
#ifndef BULWARK_IMAP_FETCH_INT_H
#define BULWARK_IMAP_FETCH_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "imap_msg.h"
#include "imap_parse.h"
#include "imap_seqset.h"
#include "imap_session.h"
#include "imap_struct.h"
#include "ipc_msg.h"
#include "msgrec.h"

#define FETCH_CHUNK		1024		/* UIDs per MSG_FETCH */
#define FETCH_SLICE		(512u * 1024)	/* bytes per MSG_BODY */
/*
 * Sections spanning this much are read through a descriptor (MSG_FILE):
 * the store keeps messages this big as files (store/blob.h, BLOB_FILE_MIN)
 * and hands over a descriptor of the file instead of copying it.
 */
#define FETCH_FILE_AT		(256u * 1024)
#define FETCH_OUT_HIGH		(256u * 1024)	/* wait for the client */
#define FETCH_FLUSH_AT		(64u * 1024)	/* send what is written */
#define FETCH_MAX_SECTIONS	32
#define FETCH_MAX_DEPTH		32		/* section-part numbers */
#define FETCH_MAX_FIELDS	64		/* HEADER.FIELDS names */
#define FETCH_BUFFERED_MAX	(64u << 20)	/* filtered or decoded */

/* Simple items. */
#define FI_UID		0x0001
#define FI_FLAGS	0x0002
#define FI_INTERNALDATE	0x0004
#define FI_SIZE		0x0008
#define FI_ENVELOPE	0x0010
#define FI_BODY		0x0020
#define FI_BODYSTRUCT	0x0040
#define FI_MODSEQ	0x0080
#define FI_EMAILID	0x0100
#define FI_THREADID	0x0200
#define FI_SAVEDATE	0x0400
#define FI_PREVIEW	0x0800
#define FI_RECORD	(FI_ENVELOPE | FI_BODY | FI_BODYSTRUCT | FI_PREVIEW)

enum fetch_kind { FS_BODY, FS_BINARY, FS_BINARY_SIZE };
enum fetch_text {
	FT_ALL, FT_HEADER, FT_FIELDS, FT_FIELDS_NOT, FT_TEXT, FT_MIME
};

struct fetch_sect {
	enum fetch_kind	 kind;
	bool		 peek;
	uint32_t	 path[FETCH_MAX_DEPTH];
	size_t		 npath;
	enum fetch_text	 text;
	char		*fields[FETCH_MAX_FIELDS];
	size_t		 nfields;
	bool		 partial;
	uint32_t	 poff, plen;
	char		*name;		/* response name: "BODY[1.2]" */
};


struct fetch_ctx {
	struct imap_session	*s;
	bool			 uid_cmd;
	unsigned		 items;
	struct fetch_sect	 sect[FETCH_MAX_SECTIONS];
	size_t			 nsect;
	uint64_t		 changedsince;
	bool			 vanished;	/* QRESYNC's VANISHED modifier */
	bool			 partial;	/* PARTIAL modifier (RFC 9394) */
	bool			 partial_neg;	/* counted from the end */
	uint32_t		 partial_lo, partial_hi;
	struct imap_seqset	 set;		/* UIDs asked, for VANISHED */
	bool			 sets_seen;
	/* Messages asked, and how far. */
	uint32_t		*uids;
	uint32_t		 nuids, pos;
	/* The chunk being answered. */
	struct imap_msg	*msgs;
	uint32_t		 nmsgs, cur;
	/*
	 * The records and bytes of the chunk's messages that came with it,
	 * which they point into; kept from chunk to chunk (with next's), so
	 * that no chunk faults in fresh memory for them.
	 */
	struct buf		 recs, bodies, sitems;
	/*
	 * The message being answered: its record or its stored items, its
	 * section.
	 */
	struct msgrec		 rec;
	bool			 rec_open;
	struct imap_struct_stored st;
	bool			 st_ok;
	size_t			 si;		/* section */
	uint64_t		 off, end;	/* bytes to read */
	bool			 buffered;	/* into tmp, not straight out */
	bool			 any;		/* an item written already */
	struct buf		 tmp;
	/* The next chunk, asked while this one is answered. */
	uint32_t		 ahead_id;	/* its request, pending */
	bool			 ahead_ready;	/* in next[], or failed */
	bool			 ahead_ok;
	bool			 ahead_wait;	/* this chunk is done: go on */
	struct imap_msg	*next;
	uint32_t		 nnext;
	struct buf		 next_recs, next_bodies, next_sitems;
	/* The first slice of the message, read before its response. */
	struct buf		 pre;
	uint64_t		 pre_off;	/* where pre starts */
	/* The bytes in hand (pre, or the message's own), from mem_off. */
	const uint8_t		*mem;
	size_t			 mem_len;
	uint64_t		 mem_off;
	bool			 pre_done;	/* read (or nothing to read) */
	int			 pre_fd;	/* a large message's copy, or -1 */
	/* \Seen being set: the chunk's unseen UIDs, those done so far. */
	struct buf		 seen_vec;
	uint32_t		 seen_at;
	const char		*fail_code;	/* tagged NO instead of OK */
	const char		*ok_code;	/* code of the tagged OK */
	const char		*fail_text;
	/* NOTIFY's unsolicited FETCH: no tagged response, this instead. */
	void			(*notify_done)(struct imap_session *);
};

/* imap_fetch_parse.c: the items (after the sequence set) into x; 0 or -1. */
int	imap_fetch_parse_items(struct imap_parser *ps, struct fetch_ctx *x);
/* Keeps of the UIDs asked only the positions PARTIAL names. */
void	imap_fetch_apply_partial(struct fetch_ctx *x);
/* Frees what parsing the items allocated (the sections' names, fields). */
void	imap_fetch_items_clear(struct fetch_ctx *x);

/* imap_fetch_sect.c: the part a section path names, or MSGREC_NONE. */
uint32_t imap_fetch_resolve(const struct msgrec *r,
	    const struct fetch_sect *fs);
/* The bytes [*off, *end) of section fs of m; false: NIL. */
bool	imap_fetch_range(const struct fetch_ctx *x, const struct imap_msg *m,
	    const struct fetch_sect *fs, uint64_t *off, uint64_t *end);
/* The partial range <o.n> of fs applied to [0, len). */
void	imap_fetch_partial(const struct fetch_sect *fs, uint64_t len,
	    uint64_t *o, uint64_t *n);
/* Whether BINARY of fs (resolved to node) is of a whole entity. */
bool	imap_fetch_binary_whole(const struct fetch_ctx *x,
	    const struct fetch_sect *fs, uint32_t node, uint64_t *skip);
/* Whether BINARY can decode the transfer encoding enc. */
bool	imap_fetch_known_cte(const char *enc);
/* Runs the current message's sections from x->si on. */
void	imap_fetch_next_sect(struct fetch_ctx *x);

/* imap_fetch.c: a store failure in the middle of a response. */
void	imap_fetch_abort(struct fetch_ctx *x, enum ipc_status st,
	    const char *text);
/* The client took what was written: the command goes on. */
void	imap_fetch_drained(struct imap_session *s);
/* Reads the message's first slice before its response (true: asked). */
bool	imap_fetch_prefetch(struct fetch_ctx *x, struct imap_msg *m);
/* Answers the chunk's next message, or asks the next chunk. */
void	imap_fetch_next_msg(struct fetch_ctx *x);

#endif
