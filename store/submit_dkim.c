/* SPDX-License-Identifier: ISC */
/*
 * submit_dkim.c: the DKIM keys of storaged and the choice of the one that
 * signs a message the relay takes (see submit_dkim.h).
 */
#include "submit_dkim.h"
#include "dkim.h"
#include "mime.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
submit_dkim_add(struct submit_dkim *d, const char *domain,
    const char *selector, const void *pem, size_t len, char *err,
    size_t errlen)
{
	struct submit_dkim_key *k;
	struct dkim_key *key;
	struct buf msg = BUF_INIT, hdr = BUF_INIT;
	int r;

	if ((key = dkim_key_load(pem, len, err, errlen)) == NULL)
		return -1;
	/* The first signature, here: see the header. */
	buf_printf(&msg, "From: <postmaster@%s>\r\n\r\n", domain);
	r = dkim_sign(key, domain, selector, msg.data, msg.len, time(NULL),
	    &hdr, err, errlen);
	buf_clear(&msg);
	buf_clear(&hdr);
	if (r == -1) {
		dkim_key_free(&key);
		return -1;
	}
	d->v = xreallocarray(d->v, d->n + 1, sizeof(*d->v));
	k = &d->v[d->n++];
	k->domain = xstrdup(domain);
	k->selector = xstrdup(selector);
	k->key = key;
	return 0;
}

void
submit_dkim_clear(struct submit_dkim *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].domain);
		free(d->v[i].selector);
		dkim_key_free(&d->v[i].key);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

const struct submit_dkim_key *
submit_dkim_find(const struct submit_dkim *d, const void *msg, size_t len)
{
	const struct submit_dkim_key *found = NULL;
	struct mime_address *a;
	const char *v, *at;
	size_t vlen, n, i, j;

	if (d->n == 0 || len == 0 ||
	    !mime_header_find(msg, len, "From", 0, &v, &vlen))
		return NULL;
	if ((a = mime_header_addresses(v, vlen, &n)) == NULL)
		return NULL;
	/* The first mailbox: an empty group before it holds none. */
	for (i = 0; i < n && a[i].email[0] == '\0'; i++)
		;
	if (i < n && (at = strrchr(a[i].email, '@')) != NULL)
		for (j = 0; j < d->n && found == NULL; j++)
			if (strcasecmp(d->v[j].domain, at + 1) == 0)
				found = &d->v[j];
	free(a);
	return found;
}

int
submit_dkim_sign(const struct submit_dkim *d, const void *msg, size_t len,
    time_t now, struct buf *out, const struct submit_dkim_key **key_r,
    char *err, size_t errlen)
{
	const struct submit_dkim_key *k;
	const unsigned char *lf;
	size_t start = out->len, i, o;

	if ((k = submit_dkim_find(d, msg, len)) == NULL)
		return 0;
	if (dkim_sign(k->key, k->domain, k->selector, msg, len, now, out, err,
	    errlen) == -1)
		return -1;
	/* A message in Unix form gets a field in Unix form (dkim.h). */
	lf = memchr(msg, '\n', len);
	if (lf != NULL && (lf == msg || lf[-1] != '\r')) {
		for (i = o = start; i < out->len; i++)
			if (out->data[i] != '\r')
				out->data[o++] = out->data[i];
		out->len = o;
	}
	if (key_r != NULL)
		*key_r = k;
	return 1;
}
