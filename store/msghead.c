/* SPDX-License-Identifier: ISC */
/*
 * msghead.c: builds and splits msghead entries (msghead.h).
 */
#include "msghead.h"
#include "msgrec.h"
#include "wire.h"

bool
msghead_build(struct buf *b, const struct msgrec *r, uint64_t size,
    const void *head, size_t head_len)
{
	uint64_t hlen;
	uint8_t v[5];

	hlen = r->nparts > 0 ? r->parts[0].body_off : size;
	if (r->env0 == NULL || hlen > head_len || r->env0_len > MSGHEAD_MAX ||
	    5 + r->env0_len + hlen > MSGHEAD_MAX)
		return false;
	v[0] = MSGHEAD_V1;
	wire_be32_put(v + 1, (uint32_t)r->env0_len);
	buf_append(b, v, sizeof(v));
	buf_append(b, r->env0, r->env0_len);
	buf_append(b, head, (size_t)hlen);
	return true;
}

bool
msghead_split(const void *p, size_t len, const uint8_t **env,
    size_t *env_len, const uint8_t **hdr, size_t *hdr_len)
{
	const uint8_t *b = p;
	uint32_t el;

	if (len < 5 || b[0] != MSGHEAD_V1)
		return false;
	el = wire_be32_get(b + 1);
	if (el > len - 5)
		return false;
	*env = b + 5;
	*env_len = el;
	*hdr = b + 5 + el;
	*hdr_len = len - 5 - el;
	return true;
}
