/* SPDX-License-Identifier: ISC */
/*
 * strvec.c: growable arrays of owned strings.
 */
#include "strvec.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

void
strvec_addn(struct strvec *sv, const char *s, size_t len)
{
	char *p;

	if (sv->n == sv->cap) {
		sv->cap = sv->cap == 0 ? 16 : sv->cap * 2;
		sv->v = xreallocarray(sv->v, sv->cap, sizeof(*sv->v));
	}
	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	sv->v[sv->n++] = p;
	sv->bytes += len + 1;
}

void
strvec_add(struct strvec *sv, const char *s)
{
	strvec_addn(sv, s, strlen(s));
}

static int
strvec_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
strvec_sort(struct strvec *sv)
{
	if (sv->n > 1)
		qsort(sv->v, sv->n, sizeof(*sv->v), strvec_cmp);
}

void
strvec_clear(struct strvec *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

void
strvec_to_wire(const struct strvec *sv, struct buf *out,
    struct wire_strlist *l)
{
	size_t start = out->len, i;

	for (i = 0; i < sv->n; i++)
		wire_strlist_add(out, sv->v[i]);
	l->count = (uint32_t)sv->n;
	l->p = out->data != NULL ? out->data + start : (const uint8_t *)"";
	l->len = out->len - start;
}
