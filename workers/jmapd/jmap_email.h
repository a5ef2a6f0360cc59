/* SPDX-License-Identifier: ISC */
/*
 * jmap_email.h: what the Thread and Email method files of jmapd
 * (jmap_thread.c, jmap_email_get.c, jmap_email_query.c, jmap_email_set.c)
 * share: the sizes of storaged reads, helpers for answers and ids
 * (defined in jmap_thread.c) and for keywords (RFC 8621 4.1.1, defined in
 * jmap_email_get.c).  The methods themselves are in jmap_int.h.
 */
#ifndef BULWARK_JMAP_EMAIL_H
#define BULWARK_JMAP_EMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jmap_int.h"

#define EM_BODY_CHUNK	(512u * 1024)	/* EMAIL_BODY's most */
#define EM_HDR_MAX	(256u * 1024)	/* bytes read of one header */

/*
 * Answers c with the error of storaged's status st (not IPC_S_OK):
 * serverUnavailable for IPC_S_UNAVAIL, else serverFail; text (or NULL)
 * is the description.
 */
void	em_store_error(struct jmap_call *c, enum ipc_status st,
	    const char *text);
/* json_len of v, or 0 when v is NULL (an argument not given). */
size_t	em_len(const struct json *v);
/* A new JSON string of the id of object n of kind (objid_format). */
struct json *em_id(char kind, uint64_t n);
/* A new JSON string of the state of modseq (jmap_state_format). */
struct json *em_state(uint64_t modseq);
/*
 * Writes v[0..n) into b (empty, the caller's) and sets l to them as a
 * U64LIST: l points into b, valid until b changes or is cleared.
 */
void	em_u64list(struct wire_u64list *l, struct buf *b, const uint64_t *v,
	    size_t n);

/* Each distinct id of ids that is an id of kind, in order. */
struct em_idset {
	uint64_t	*v;
	size_t		 n;
	struct json	*notfound;	/* the ids that are not */
};

/*
 * Fills s from ids (an array of strings, borrowed): v gets the number of
 * each distinct id of kind, notfound (a new array) each distinct string
 * that is not one.  v has room for json_len(ids) + 1 numbers.  s is
 * freed with em_idset_clear.
 */
void	em_idset_init(struct em_idset *s, const struct json *ids, char kind);
/* Frees what s holds; notfound may have been taken (set to NULL). */
void	em_idset_clear(struct em_idset *s);

/*
 * The system flag (MAIL_F_* of mailflags.h) that keyword kw (lower case)
 * stands for: $seen, $answered, $flagged, $draft; 0 for any other.
 */
uint32_t em_kw_flag(const char *kw);
/*
 * Lower-cases s in place; whether it is then a valid keyword (RFC 8621
 * 4.1.1: 1 to 255 of %x21-7E but ( ) { ] % * " and backslash).
 */
bool	em_keyword_norm(char *s);

#endif
