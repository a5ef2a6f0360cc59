/* SPDX-License-Identifier: ISC */
/*
 * imap_cmd_quota.c: the QUOTA extension, RFC 9208: GETQUOTA (4.1.1),
 * GETQUOTAROOT (4.1.2) and SETQUOTA (4.1.3), with the QUOTA and QUOTAROOT
 * responses (4.2).  Every account has one quota root, "", over all its
 * mailboxes, with the resources STORAGE (5.1, in units of 1024 octets)
 * and MESSAGE (5.2) as storaged keeps them (QUOTA_GET).  Limits are the
 * administrator's (bulwarkctl quota set), so SETQUOTA is refused with
 * NOPERM and QUOTASET is not advertised.
 */
#include "imap_cmd.h"
#include "imap_cmd_auth.h"
#include "imap_mbox.h"
#include "imap_resp.h"
#include "imapd.h"
#include "ipc.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The state of a waiting GETQUOTA or GETQUOTAROOT, in s->cmd_ctx. */
struct imap_quota_ctx {
	struct imap_mbox_req	 req;
	char			*name;		/* GETQUOTAROOT's mailbox */
	const char		*done;		/* text of the OK */
};

static void
imap_quota_ctx_free(void *arg)
{
	struct imap_quota_ctx *x = arg;

	free(x->name);
	free(x);
}

static void
imap_quota_done(struct imap_session *s)
{
	if (s->cmd_ctx_free != NULL)
		s->cmd_ctx_free(s->cmd_ctx);
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	imap_session_resume(s, IMAP_CMD_DONE);
}

/* Octets in units of 1024, rounded up: one octet uses a unit. */
static uint64_t
imap_quota_kib(uint64_t octets)
{
	return octets / 1024 + (octets % 1024 != 0);
}

/* One quota-resource: name SP usage SP limit. */
static void
imap_quota_resource(struct buf *out, int *n, const char *name,
    uint64_t used, uint64_t limit)
{
	char num[64];

	if (limit == 0)		/* not limited: not named (4.2.1) */
		return;
	if ((*n)++ > 0)
		imap_resp_sp(out);
	snprintf(num, sizeof(num), "%s %llu %llu", name,
	    (unsigned long long)used, (unsigned long long)limit);
	imap_resp_token(out, num);
}

/* "* QUOTA "" (STORAGE u l MESSAGE u l)", RFC 9208 4.2.1. */
static void
imap_quota_write(struct imap_session *s, const struct ipc_QUOTA_GET_rep *r)
{
	int n = 0;

	imap_resp_untagged(s->out);
	imap_resp_token(s->out, "QUOTA ");
	imap_resp_astring(s->out, "", 0, 0);
	imap_resp_token(s->out, " (");
	imap_quota_resource(s->out, &n, "STORAGE",
	    imap_quota_kib(r->storage_used), imap_quota_kib(r->storage_limit));
	imap_quota_resource(s->out, &n, "MESSAGE", r->message_used,
	    r->message_limit);
	imap_resp_token(s->out, ")");
	imap_resp_crlf(s->out);
}

static void
imap_quota_reply_cb(struct ipc_chan *c, enum ipc_status st,
    const char *text, const void *rep, void *arg)
{
	struct imap_session *s = arg;
	struct imap_quota_ctx *x = s->cmd_ctx;

	(void)c;
	s->req_id = 0;
	if (st != IPC_S_OK) {
		imap_session_debug(s, "quota request failed status=%s "
		    "why=\"%s\"", ipc_status_name(st), text != NULL ? text : "");
		imap_auth_fail(s, st);
	} else {
		if (x->name != NULL) {
			/* RFC 9208 4.2.2: the mailbox as the client named it. */
			imap_resp_untagged(s->out);
			imap_resp_token(s->out, "QUOTAROOT ");
			imap_mbox_name_write(s, s->out, x->name);
			imap_resp_token(s->out, " ");
			imap_resp_astring(s->out, "", 0, 0);
			imap_resp_crlf(s->out);
		}
		imap_quota_write(s, rep);
		imap_session_reply(s, "OK", NULL, x->done);
	}
	imap_quota_done(s);
}

/* Asks storaged for the account's quota; imap_quota_reply_cb answers. */
static void
imap_quota_request(struct imap_session *s)
{
	struct ipc_chan *store;
	uint32_t id;

	if ((store = imapd_store()) == NULL) {
		imap_quota_reply_cb(NULL, IPC_S_UNAVAIL, NULL, NULL, s);
		return;
	}
	id = ipc_request(store, IPC_T_QUOTA_GET, conn_id(s->conn), NULL,
	    imap_quota_reply_cb, s);
	if (id != 0)
		s->req_id = id;
}

static struct imap_quota_ctx *
imap_quota_ctx_new(struct imap_session *s, char *name, const char *done)
{
	struct imap_quota_ctx *x;

	x = xcalloc(1, sizeof(*x));
	x->name = name;
	x->done = done;
	s->cmd_ctx = x;
	s->cmd_ctx_free = imap_quota_ctx_free;
	return x;
}

/* Whether quota root name r (as parsed) is the account's, "". */
static bool
imap_quota_root_known(const struct imap_str *r)
{
	return r->len == 0;
}

/* getquota = "GETQUOTA" SP quota-root-name */
enum imap_cmd_result
imap_cmd_getquota(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_str root;

	if (imap_parse_sp(ps) == -1 || imap_parse_astring(ps, &root) == -1 ||
	    imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	if (!imap_quota_root_known(&root)) {
		imap_session_reply(s, "NO", "NONEXISTENT",
		    "No such quota root");
		return IMAP_CMD_DONE;
	}
	imap_quota_ctx_new(s, NULL, "GETQUOTA completed");
	imap_quota_request(s);
	return IMAP_CMD_WAIT;
}

static void
imap_quotaroot_lookup_cb(struct imap_session *s, enum ipc_status st,
    const struct imap_mbox_list *l, const struct imap_mbox *mb, void *arg)
{
	(void)l;
	(void)arg;
	if (st != IPC_S_OK || mb == NULL) {
		imap_auth_fail(s, st != IPC_S_OK ? st : IPC_S_NOTFOUND);
		imap_quota_done(s);
		return;
	}
	imap_quota_request(s);
}

/* getquotaroot = "GETQUOTAROOT" SP mailbox */
enum imap_cmd_result
imap_cmd_getquotaroot(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_quota_ctx *x;
	const char *why;
	char *name;

	name = imap_auth_parse_mailbox(s, ps, false, &why);
	if (name == NULL && ps->error != NULL)
		return imap_cmd_bad(s, ps);
	if (imap_parse_eol(ps) == -1) {
		free(name);
		return imap_cmd_bad(s, ps);
	}
	if (name == NULL) {
		imap_session_reply(s, "NO", "CANNOT", why);
		return IMAP_CMD_DONE;
	}
	x = imap_quota_ctx_new(s, name, "GETQUOTAROOT completed");
	imap_mbox_lookup(s, &x->req, x->name, imap_quotaroot_lookup_cb, x);
	return IMAP_CMD_WAIT;
}

/* number64 of RFC 9051 9: at most 2^63 - 1. */
static int
imap_quota_parse_number64(struct imap_parser *ps)
{
	uint64_t v = 0;
	size_t n = 0;

	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		if (v > (UINT64_C(0x7fffffffffffffff) - (*ps->p - '0')) / 10) {
			ps->error = "Number too large";
			return -1;
		}
		v = v * 10 + (uint64_t)(*ps->p++ - '0');
		n++;
	}
	if (n == 0) {
		ps->error = "Expected a number";
		return -1;
	}
	return 0;
}

/*
 * setquota = "SETQUOTA" SP quota-root-name SP setquota-list
 * setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"
 * setquota-resource = resource-name SP resource-limit
 *
 * Parsed in full so that a malformed command gets BAD, then refused:
 * quotas are set by the administrator.
 */
enum imap_cmd_result
imap_cmd_setquota(struct imap_session *s, struct imap_parser *ps)
{
	struct imap_str root, res;
	size_t n = 0;

	if (imap_parse_sp(ps) == -1 || imap_parse_astring(ps, &root) == -1 ||
	    imap_parse_sp(ps) == -1)
		return imap_cmd_bad(s, ps);
	if (!imap_parse_peek(ps, '(')) {
		ps->error = "Expected \"(\" before quota resources";
		return imap_cmd_bad(s, ps);
	}
	ps->p++;
	while (!imap_parse_peek(ps, ')')) {
		if ((n++ > 0 && imap_parse_sp(ps) == -1) ||
		    imap_parse_atom(ps, &res) == -1 ||
		    imap_parse_sp(ps) == -1 ||
		    imap_quota_parse_number64(ps) == -1)
			return imap_cmd_bad(s, ps);
	}
	ps->p++;
	if (imap_parse_eol(ps) == -1)
		return imap_cmd_bad(s, ps);
	imap_session_reply(s, "NO", "NOPERM",
	    "Quotas are set by the administrator");
	return IMAP_CMD_DONE;
}
