/* SPDX-License-Identifier: ISC */
/*
 * msghead.h: the msghead entry of a message (store/db.h, schema version
 * 11): its record's envelope 0 and its top-level header, which SEARCH's
 * header keys (FROM, TO, CC, BCC, SUBJECT, HEADER) read in email order
 * instead of the record and the message.
 */
#ifndef BULWARK_MSGHEAD_H
#define BULWARK_MSGHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MSGHEAD_V1	1
#define MSGHEAD_MAX	(16u * 1024)

struct msgrec;

/*
 * Appends to b the msghead entry of a message of size bytes from its
 * record r (open, with its parts) and its leading bytes [head, head +
 * head_len), which must hold its whole top-level header.  Returns false
 * (b as it was) when the header is not all there or the entry would pass
 * MSGHEAD_MAX.
 */
bool	msghead_build(struct buf *b, const struct msgrec *r, uint64_t size,
	    const void *head, size_t head_len);
/*
 * Splits a msghead entry into the envelope's bytes (msgrec_open_env0)
 * and the header's.  Returns false if it is malformed.
 */
bool	msghead_split(const void *p, size_t len, const uint8_t **env,
	    size_t *env_len, const uint8_t **hdr, size_t *hdr_len);

#endif
