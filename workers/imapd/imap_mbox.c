/* SPDX-License-Identifier: ISC */
/*
 * imap_mbox.c: mailbox names between client and store (RFC 9051 5.1, RFC
 * 3501 5.1.3, RFC 6855 3), the special-use attributes of roles (RFC 6154
 * 2), and the asynchronous MBOX_LIST lookup the mailbox commands share.
 */
#include "imap_mbox.h"
#include "compat.h"
#include "imap_mutf7.h"
#include "imap_parse.h"
#include "imap_resp.h"
#include "imap_session.h"
#include "imapd.h"
#include "ipc.h"
#include "objid.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* RFC 6154 2 attributes and the RFC 8621 2 roles they stand for. */
static const struct {
	const char	*attr;
	const char	*role;
} imap_mbox_roles[] = {
	{ "\\All",	"all" },
	{ "\\Archive",	"archive" },
	{ "\\Drafts",	"drafts" },
	{ "\\Flagged",	"flagged" },
	{ "\\Junk",	"junk" },
	{ "\\Sent",	"sent" },
	{ "\\Trash",	"trash" },
	{ "\\Important", "important" },		/* RFC 8457 */
};

bool
imap_mbox_utf8(const struct imap_session *s)
{
	return (s->enabled & (IMAP_ENABLED_UTF8 | IMAP_ENABLED_REV2)) != 0;
}

/* Is first level of name (len bytes) "INBOX" in any case? */
static bool
imap_mbox_is_inbox_level(const char *name, size_t len)
{
	return len >= 5 && strncasecmp(name, "INBOX", 5) == 0 &&
	    (len == 5 || name[5] == IMAP_MBOX_DELIM);
}

/*
 * Checks the characters of UTF-8 name (len bytes): none RFC 6855 3
 * forbids in a mailbox name (C0 and C1 controls, DEL, U+2028, U+2029).
 */
static bool
imap_mbox_chars_ok(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
		/* U+0080-U+009F are C2 80-C2 9F. */
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] <= 0x9f)
			return false;
		/* U+2028, U+2029 are E2 80 A8, E2 80 A9. */
		if (p[i] == 0xe2 && i + 2 < len && p[i + 1] == 0x80 &&
		    (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
			return false;
	}
	return true;
}

/* Wire form to UTF-8 in out; -1 with *error_r if it is not valid. */
static int
imap_mbox_decode(const struct imap_session *s, const void *p, size_t len,
    struct buf *out, const char **error_r)
{
	if (imap_mbox_utf8(s)) {
		if (!imap_utf8_valid(p, len)) {
			*error_r = "Mailbox name is not valid UTF-8";
			return -1;
		}
		buf_append(out, p, len);
	} else if (imap_mutf7_decode(out, p, len, error_r) == -1)
		return -1;
	if (!imap_mbox_chars_ok(out->data, out->len)) {
		*error_r = "Mailbox name holds a control character";
		return -1;
	}
	return 0;
}

/* Takes the decoded name from b, with "INBOX" written in upper case. */
static char *
imap_mbox_take(struct buf *b)
{
	char *name;

	name = xmalloc(b->len + 1);
	if (b->len > 0)
		memcpy(name, b->data, b->len);
	name[b->len] = '\0';
	if (imap_mbox_is_inbox_level(name, b->len))
		memcpy(name, "INBOX", 5);
	buf_clear(b);
	return name;
}

char *
imap_mbox_name_decode(const struct imap_session *s, const void *p,
    size_t len, bool trailing_ok, const char **error_r)
{
	struct buf b = BUF_INIT;
	const uint8_t *q;
	size_t i;

	if (imap_mbox_decode(s, p, len, &b, error_r) == -1)
		goto fail;
	if (trailing_ok && b.len > 1 && b.data[b.len - 1] == IMAP_MBOX_DELIM)
		b.len--;
	q = b.data;
	*error_r = NULL;
	if (b.len == 0)
		*error_r = "Empty mailbox name";
	else if (b.len > IMAP_MBOX_NAME_MAX)
		*error_r = "Mailbox name too long";
	else if (q[0] == IMAP_MBOX_DELIM || q[b.len - 1] == IMAP_MBOX_DELIM)
		*error_r = "Mailbox name has an empty level";
	for (i = 0; *error_r == NULL && i < b.len; i++) {
		if (q[i] == '*' || q[i] == '%')
			*error_r = "Mailbox name holds a wildcard";
		else if (q[i] == IMAP_MBOX_DELIM && q[i + 1] == IMAP_MBOX_DELIM)
			*error_r = "Mailbox name has an empty level";
	}
	if (*error_r != NULL)
		goto fail;
	return imap_mbox_take(&b);
fail:
	buf_clear(&b);
	return NULL;
}

char *
imap_mbox_pattern_decode(const struct imap_session *s, const void *p,
    size_t len, const char **error_r)
{
	struct buf b = BUF_INIT;

	if (imap_mbox_decode(s, p, len, &b, error_r) == -1) {
		buf_clear(&b);
		return NULL;
	}
	return imap_mbox_take(&b);
}

void
imap_mbox_name_write(const struct imap_session *s, struct buf *out,
    const char *cname)
{
	struct buf b = BUF_INIT;
	const char *err;
	size_t len = strlen(cname);

	if (imap_mbox_utf8(s)) {
		imap_resp_astring(out, cname, len, IMAP_RESP_UTF8);
		return;
	}
	if (imap_mutf7_encode(&b, cname, len, &err) == -1)
		imap_resp_astring(out, cname, len, 0);
	else
		imap_resp_astring(out, b.data, b.len, 0);
	buf_clear(&b);
}

char *
imap_mbox_stored_name(const struct imap_mbox_list *l, const char *cname)
{
	size_t len = strlen(cname), ilen;
	char *name;

	if (!imap_mbox_is_inbox_level(cname, len))
		return xstrdup(cname);
	if (l->inbox == NULL)
		return len == 5 ? xstrdup(cname) : NULL;
	ilen = strlen(l->inbox->name);
	name = xmalloc(ilen + len - 5 + 1);
	memcpy(name, l->inbox->name, ilen);
	memcpy(name + ilen, cname + 5, len - 5 + 1);
	return name;
}

static int
imap_mbox_cmp(const void *a, const void *b)
{
	const struct imap_mbox *x = a, *y = b;

	return strcmp(x->cname, y->cname);
}

const struct imap_mbox *
imap_mbox_find(const struct imap_mbox_list *l, const char *cname)
{
	struct imap_mbox key;

	if (l->n == 0)
		return NULL;
	key.cname = (char *)cname;
	return bsearch(&key, l->v, l->n, sizeof(l->v[0]), imap_mbox_cmp);
}

const struct imap_mbox *
imap_mbox_find_id(const struct imap_mbox_list *l, uint32_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

const char *
imap_mbox_role_attr(const char *role)
{
	size_t i;

	for (i = 0; i < NELEM(imap_mbox_roles); i++)
		if (strcmp(imap_mbox_roles[i].role, role) == 0)
			return imap_mbox_roles[i].attr;
	return NULL;
}

const char *
imap_mbox_attr_role(const char *attr, size_t len)
{
	size_t i;

	for (i = 0; i < NELEM(imap_mbox_roles); i++)
		if (strlen(imap_mbox_roles[i].attr) == len &&
		    strncasecmp(imap_mbox_roles[i].attr, attr, len) == 0)
			return imap_mbox_roles[i].role;
	return NULL;
}

void
imap_mbox_objectid(uint32_t id, char *buf, size_t size)
{
	char tmp[OBJID_MAX];

	objid_format(tmp, OBJID_MAILBOX, id);
	strlcpy(buf, tmp, size);
}

/*
 * Does name match pattern, "*" matching any characters and "%" any but
 * the delimiter (6.3.9)?  Dynamic programming over the name, so that
 * patterns of many wildcards cost O(pattern x name), not more.
 */
bool
imap_mbox_match(const char *pat, const char *name)
{
	size_t n = strlen(name), i, j;
	bool *prev, *cur, *t, any, r;

	prev = xcalloc(n + 1, sizeof(bool));
	cur = xcalloc(n + 1, sizeof(bool));
	prev[0] = true;
	for (i = 0; pat[i] != '\0'; i++) {
		any = false;
		for (j = 0; j <= n; j++) {
			if (pat[i] == '*') {
				any = any || prev[j];
				cur[j] = any;
			} else if (pat[i] == '%')
				cur[j] = prev[j] || (j > 0 && cur[j - 1] &&
				    name[j - 1] != IMAP_MBOX_DELIM);
			else
				cur[j] = j > 0 && prev[j - 1] &&
				    name[j - 1] == pat[i];
		}
		t = prev, prev = cur, cur = t;
	}
	r = prev[n];
	free(prev);
	free(cur);
	return r;
}

/* --- The list --- */

/*
 * The client name of stored name (UTF-8) given the inbox's stored name
 * (or NULL): NULL for a name that would read as INBOX but is not in the
 * inbox's tree (it could not be told from the inbox; it is not shown).
 */
static char *
imap_mbox_client_name(const char *name, const char *inbox)
{
	size_t len = strlen(name), ilen;
	char *c;

	if (inbox != NULL) {
		ilen = strlen(inbox);
		if (strncmp(name, inbox, ilen) == 0 && (name[ilen] == '\0' ||
		    name[ilen] == IMAP_MBOX_DELIM)) {
			c = xmalloc(5 + len - ilen + 1);
			memcpy(c, "INBOX", 5);
			memcpy(c + 5, name + ilen, len - ilen + 1);
			return c;
		}
	}
	if (imap_mbox_is_inbox_level(name, len))
		return NULL;
	return xstrdup(name);
}

char *
imap_mbox_client_name_of(const struct imap_mbox_list *l, const char *name)
{
	if (!imap_utf8_valid((const uint8_t *)name, strlen(name)))
		return NULL;
	return imap_mbox_client_name(name, l->inbox != NULL ?
	    l->inbox->name : NULL);
}

static void
imap_mbox_free(struct imap_mbox *mb)
{
	free(mb->name);
	free(mb->cname);
	free(mb->role);
}

/* Checks that every list of the reply has one element per mailbox. */
static bool
imap_mbox_reply_ok(const struct ipc_MBOX_LIST_rep *r)
{
	uint32_t n = r->ids.count;

	return r->names.count == n && r->parents.count == n &&
	    r->roles.count == n && r->subscribed.count == n &&
	    r->total.count == n && r->unread.count == n &&
	    r->uidvalidity.count == n && r->uidnext.count == n &&
	    r->highestmodseq.count == n && r->size.count == n &&
	    r->deleted.count == n && r->deleted_size.count == n;
}

/* Copies the reply's mailboxes into l->v, stored names only. */
static void
imap_mbox_list_copy(struct imap_mbox_list *l,
    const struct ipc_MBOX_LIST_rep *r)
{
	struct wire_iter names, roles;
	struct imap_mbox *mb;
	const char *name, *role;
	uint32_t i;

	l->v = xcalloc(r->ids.count, sizeof(l->v[0]));
	wire_strlist_iter(&r->names, &names);
	wire_strlist_iter(&r->roles, &roles);
	for (i = 0; i < r->ids.count; i++) {
		name = wire_strlist_next(&names);
		role = wire_strlist_next(&roles);
		if (name == NULL || role == NULL || wire_u64list_get(&r->ids,
		    i) > UINT32_MAX || !imap_utf8_valid((const uint8_t *)name,
		    strlen(name)))
			continue;
		mb = &l->v[l->n++];
		mb->id = (uint32_t)wire_u64list_get(&r->ids, i);
		mb->parent = (uint32_t)wire_u64list_get(&r->parents, i);
		mb->name = xstrdup(name);
		mb->role = xstrdup(role);
		mb->subscribed = wire_u64list_get(&r->subscribed, i) != 0;
		mb->total = wire_u64list_get(&r->total, i);
		mb->unread = wire_u64list_get(&r->unread, i);
		mb->uidvalidity = wire_u64list_get(&r->uidvalidity, i);
		mb->uidnext = wire_u64list_get(&r->uidnext, i);
		mb->highestmodseq = wire_u64list_get(&r->highestmodseq, i);
		mb->size = wire_u64list_get(&r->size, i);
		mb->deleted = wire_u64list_get(&r->deleted, i);
		mb->deleted_size = wire_u64list_get(&r->deleted_size, i);
	}
}

int
imap_mbox_list_init(struct imap_mbox_list *l,
    const struct ipc_MBOX_LIST_rep *r)
{
	const char *inbox = NULL;
	size_t i, j;

	memset(l, 0, sizeof(*l));
	if (!imap_mbox_reply_ok(r))
		return -1;
	l->state = r->state;
	imap_mbox_list_copy(l, r);
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].role, "inbox") == 0)
			inbox = l->v[i].name;
	/* Client names; those that cannot be shown leave the list. */
	for (i = j = 0; i < l->n; i++) {
		l->v[i].cname = imap_mbox_client_name(l->v[i].name, inbox);
		if (l->v[i].cname == NULL) {
			imap_mbox_free(&l->v[i]);
			continue;
		}
		l->v[j++] = l->v[i];
	}
	l->n = j;
	for (i = 0; i < l->n; i++)
		if (l->v[i].parent != 0)
			for (j = 0; j < l->n; j++)
				if (l->v[j].id == l->v[i].parent)
					l->v[j].has_children = true;
	if (l->n > 0)
		qsort(l->v, l->n, sizeof(l->v[0]), imap_mbox_cmp);
	l->inbox = imap_mbox_find(l, "INBOX");
	return 0;
}

void
imap_mbox_list_clear(struct imap_mbox_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		imap_mbox_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* --- The lookup --- */

static void
imap_mbox_lookup_reply_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg)
{
	struct imap_mbox_req *req = arg;
	struct imap_session *s = req->s;
	const struct imap_mbox *mb = NULL;
	struct imap_mbox_list l;

	(void)c;
	s->req_id = 0;
	if (st == IPC_S_OK && imap_mbox_list_init(&l, rep) == -1) {
		imap_session_log(s, "mailbox list inconsistent");
		st = IPC_S_INTERNAL;
	}
	if (st != IPC_S_OK) {
		imap_session_debug(s, "mailbox list failed status=%s "
		    "why=\"%s\"", ipc_status_name(st),
		    text != NULL ? text : "");
		req->cb(s, st, NULL, NULL, req->arg);
		return;
	}
	if (req->cname != NULL)
		mb = imap_mbox_find(&l, req->cname);
	req->cb(s, st, &l, mb, req->arg);
	imap_mbox_list_clear(&l);
}

uint32_t
imap_mbox_lookup(struct imap_session *s, struct imap_mbox_req *req,
    const char *cname, imap_mbox_lookup_cb *cb, void *arg)
{
	struct ipc_chan *store;
	uint32_t id;

	req->s = s;
	req->cname = cname;
	req->cb = cb;
	req->arg = arg;
	if ((store = imapd_store()) == NULL) {
		imap_mbox_lookup_reply_cb(NULL, IPC_S_UNAVAIL, NULL, NULL, req);
		return 0;
	}
	/*
	 * On a closed channel the callback has run before ipc_request
	 * returns 0, and may have sent another request: keep its id.
	 */
	id = ipc_request(store, IPC_T_MBOX_LIST, conn_id(s->conn), NULL,
	    imap_mbox_lookup_reply_cb, req);
	if (id != 0)
		s->req_id = id;
	return id;
}
