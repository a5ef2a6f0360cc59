/* SPDX-License-Identifier: ISC */
/*
 * jmap_email_get.c: Email/get (RFC 8621 4.2) over storaged's EMAIL_LIST,
 * EMAIL_GET and EMAIL_BODY (lib/ipc_types.def), with the writers of the
 * Email properties (4.1): keywords, addresses, dates and the others of
 * the parsed record; and Email/changes (4.3).  storaged keeps the data
 * and the parsed record of each message (lib/msgrec.h); everything JMAP
 * shows of a message is made here from that record, and only body values
 * and the headers asked by name (headers, header:*) need the message's
 * bytes, read with EMAIL_BODY.  The header properties are written by
 * jmap_email_headers.c (4.1.3), body parts and body values by
 * jmap_email_body.c (4.1.4).  Email/parse (jmap_email_import.c) makes its
 * Emails with the same writers from bytes it holds (em_parse_begin,
 * em_parse_email).
 *
 * Ids: an email's blobId is "E" and its id in hex (http_blob.h: the
 * download resource reads the raw message by it, from the account's own
 * emails only).
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "compat.h"
#include "mailflags.h"
#include "mime.h"
#include "msgrec.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define EM_HASH_LEN	32		/* MSG_HASH_LEN of store/record.h */

/* --- Dates and keywords (RFC 8620 1.4, RFC 8621 4.1.1) --- */

/*
 * RFC 8620 1.4: a Date "2024-01-02T03:04:05+01:00" of t in the zone
 * tz_min minutes east of UTC; a UTCDate with utc ("Z").
 */
struct json *
em_date(int64_t t, int32_t tz_min, bool utc)
{
	struct tm tm;
	time_t tt;
	char s[64];
	int32_t a;

	if (utc)
		tz_min = 0;
	tt = (time_t)(t + (int64_t)tz_min * 60);
	if (gmtime_r(&tt, &tm) == NULL)
		return json_new_null();
	if (utc) {
		snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
	} else {
		a = tz_min < 0 ? -tz_min : tz_min;
		snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d%c"
		    "%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_hour, tm.tm_min, tm.tm_sec, tz_min < 0 ? '-' : '+',
		    (int)(a / 60), (int)(a % 60));
	}
	return json_new_strz(s);
}

/*
 * RFC 8621 4.1.1: a keyword is 1 to 255 of %x21-7E except ( ) { ] % * "
 * and backslash; it is case-insensitive and shown in lower case.
 */
static bool
em_keyword_valid(const char *k)
{
	size_t i;

	for (i = 0; k[i] != '\0'; i++)
		if (k[i] < 0x21 || k[i] > 0x7e ||
		    strchr("(){]%*\"\\", k[i]) != NULL)
			return false;
	return i > 0 && i <= 255;
}

/* The system flags and the keywords that stand for them. */
static const struct {
	const char	*kw;
	uint32_t	 flag;
} em_flag_kw[] = {
	{ "$seen",	MAIL_F_SEEN },
	{ "$answered",	MAIL_F_ANSWERED },
	{ "$flagged",	MAIL_F_FLAGGED },
	{ "$draft",	MAIL_F_DRAFT },
};

#define EM_NFLAGKW	(sizeof(em_flag_kw) / sizeof(em_flag_kw[0]))

/* The flag a keyword (lower case) stands for, or 0. */
uint32_t
em_kw_flag(const char *kw)
{
	size_t i;

	for (i = 0; i < EM_NFLAGKW; i++)
		if (strcmp(em_flag_kw[i].kw, kw) == 0)
			return em_flag_kw[i].flag;
	return 0;
}

/*
 * The keywords property (RFC 8621 4.1.1) of flags and the space-separated
 * keywords kw: \Deleted is IMAP's alone and not shown.
 */
static struct json *
em_keywords(uint64_t flags, const char *kw)
{
	struct json *o = json_new_object();
	const char *p, *e;
	char k[256];
	size_t i, n;

	for (i = 0; i < EM_NFLAGKW; i++)
		if (flags & em_flag_kw[i].flag)
			json_object_set(o, em_flag_kw[i].kw,
			    json_new_bool(true));
	for (p = kw; p != NULL && *p != '\0'; p = *e == ' ' ? e + 1 : e) {
		if ((e = strchr(p, ' ')) == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n == 0 || n >= sizeof(k))
			continue;
		for (i = 0; i < n; i++)
			k[i] = (p[i] >= 'A' && p[i] <= 'Z') ? p[i] - 'A' +
			    'a' : p[i];
		k[n] = '\0';
		if (em_keyword_valid(k))
			json_object_set(o, k, json_new_bool(true));
	}
	return o;
}

/* Lower-cases s in place and checks it as a keyword. */
bool
em_keyword_norm(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = *p - 'A' + 'a';
	return em_keyword_valid(s);
}

/* --- Email/get (RFC 8621 4.2) --- */

static const char *const email_props[] = {
	"id", "blobId", "threadId", "mailboxIds", "keywords", "size",
	"receivedAt", "messageId", "inReplyTo", "references", "sender",
	"from", "to", "cc", "bcc", "replyTo", "subject", "sentAt",
	"hasAttachment", "preview", "bodyValues", "textBody", "htmlBody",
	"attachments", "bodyStructure", NULL
};

/* RFC 8621 4.2: without properties, all of these (not bodyStructure). */
#define EMAIL_NDEFAULT	24
/* 4.9: Email/parse's are those from messageId on. */
#define EMAIL_PARSE_FIRST 7

/* The properties that come from the parsed record. */
static const char *const email_rec_props[] = {
	"messageId", "inReplyTo", "references", "sender", "from", "to",
	"cc", "bcc", "replyTo", "subject", "sentAt", "hasAttachment",
	"preview", "bodyValues", "textBody", "htmlBody", "attachments",
	"bodyStructure", NULL
};

static const char *const part_props[] = {
	"partId", "blobId", "size", "name", "type", "charset", "disposition",
	"cid", "language", "location", "subParts", NULL
};

/*
 * An email whose record properties wait for header bytes: its record
 * (copied) and, per part, where its header is in hdrs (hlen[i] 0: not
 * read).
 */
struct em_pending {
	size_t		 list_idx;
	uint64_t	 id, size;
	uint8_t		*rec;
	size_t		 reclen;
	char		 blob[2 * EM_HASH_LEN + 2];
	struct buf	 hdrs;
	size_t		*hoff, *hlen;
	uint32_t	 nparts;
};

/* One header to read: of part `part` of pend[pend]. */
struct em_hjob {
	size_t		 pend;
	uint32_t	 part;
	uint64_t	 off, end;
	size_t		 start;		/* where it starts in hdrs */
};

static void
email_get_ctx_free(void *p)
{
	struct email_get_ctx *x = p;
	size_t i;

	em_idset_clear(&x->ids);
	json_free(&x->list);
	for (i = 0; i < x->nvals; i++) {
		free(x->vals[i].encoding);
		free(x->vals[i].charset);
	}
	free(x->vals);
	buf_clear(&x->raw);
	for (i = 0; i < x->npend; i++) {
		free(x->pend[i].rec);
		buf_clear(&x->pend[i].hdrs);
		free(x->pend[i].hoff);
		free(x->pend[i].hlen);
	}
	free(x->pend);
	free(x->hjobs);
	free(x);
}

/* The header bytes of part i of the email being made, if read. */
bool
em_cur_hdr(const struct email_get_ctx *x, uint32_t i, const char **h,
    size_t *len)
{
	const struct em_pending *p = x->cur;

	if (p == NULL || i >= p->nparts || p->hlen[i] == 0)
		return false;
	*h = (const char *)p->hdrs.data + p->hoff[i];
	*len = p->hlen[i];
	return true;
}

static bool
email_wanted(const struct email_get_ctx *x, const char *name)
{
	size_t i;

	if (x->props != NULL)
		return jmap_prop_wanted(x->props, name);
	for (i = x->parse ? EMAIL_PARSE_FIRST : 0; i < EMAIL_NDEFAULT; i++)
		if (strcmp(email_props[i], name) == 0)
			return true;
	return false;
}

/*
 * An EmailAddress[] (RFC 8621 4.1.2.3) of one address header of the
 * envelope, or null when the header is absent; groups are flattened and
 * an empty group's marker is left out.
 */
static struct json *
em_addrs(const struct msgrec_envelope *env, enum msgrec_addr_field f)
{
	struct json *a, *o;
	struct wire_iter it;
	struct msgrec_addr ad;

	if (env == NULL || env->addr[f].count == 0)
		return json_new_null();
	a = json_new_array();
	wire_strlist_iter(&env->addr[f], &it);
	while (msgrec_addr_next(&it, &ad)) {
		if (*ad.email == '\0' && *ad.name == '\0')
			continue;
		o = json_new_object();
		json_object_set(o, "name", *ad.name != '\0' ?
		    json_new_strz(ad.name) : json_new_null());
		json_object_set(o, "email", json_new_strz(ad.email));
		json_array_add(a, o);
	}
	return a;
}

/* A String[] of message ids, or null for none (RFC 8621 4.1.2.4). */
static struct json *
em_msgids(const struct wire_strlist *l)
{
	struct json *a;
	struct wire_iter it;
	const char *s;

	if (l->count == 0)
		return json_new_null();
	a = json_new_array();
	wire_strlist_iter(l, &it);
	while ((s = wire_strlist_next(&it)) != NULL)
		json_array_add(a, json_new_strz(s));
	return a;
}

/* The properties of the record, into o. */
static void
em_from_record(struct email_get_ctx *x, struct json *o, size_t list_idx,
    uint64_t email_id, const struct msgrec *r, const char *blob)
{
	const struct msgrec_envelope *env = r->nenvs > 0 ? &r->envs[0] :
	    NULL;
	static const struct {
		const char		*name;
		enum msgrec_addr_field	 f;
	} addrs[] = {
		{ "sender", MSGREC_SENDER }, { "from", MSGREC_FROM },
		{ "to", MSGREC_TO }, { "cc", MSGREC_CC }, { "bcc", MSGREC_BCC },
		{ "replyTo", MSGREC_REPLY_TO },
	};
	struct json *a;
	const char *h;
	size_t hlen;
	uint32_t i;

	/* A header not read (there is none) shows as an empty one. */
	if (x->hdr_email && em_cur_hdr(x, 0, &h, &hlen))
		em_hdr_props(o, x->props, h, hlen);
	else if (x->hdr_email)
		em_hdr_props(o, x->props, "", 0);
	if (email_wanted(x, "messageId")) {
		if (*r->s.message_id == '\0')
			json_object_set(o, "messageId", json_new_null());
		else {
			a = json_new_array();
			json_array_add(a, json_new_strz(r->s.message_id));
			json_object_set(o, "messageId", a);
		}
	}
	if (email_wanted(x, "inReplyTo"))
		json_object_set(o, "inReplyTo", em_msgids(&r->s.in_reply_to));
	if (email_wanted(x, "references"))
		json_object_set(o, "references", em_msgids(&r->s.references));
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		if (email_wanted(x, addrs[i].name))
			json_object_set(o, addrs[i].name, em_addrs(env,
			    addrs[i].f));
	if (email_wanted(x, "subject"))
		json_object_set(o, "subject", env != NULL &&
		    env->subject_dec != NULL ? json_new_strz(env->subject_dec) :
		    json_new_null());
	if (email_wanted(x, "sentAt"))
		json_object_set(o, "sentAt", r->s.has_sent_at ?
		    em_date(r->s.sent_at, r->s.sent_tz, false) :
		    json_new_null());
	if (email_wanted(x, "hasAttachment"))
		json_object_set(o, "hasAttachment",
		    json_new_bool(r->s.has_attachment));
	if (email_wanted(x, "preview"))
		json_object_set(o, "preview", json_new_strz(r->s.preview));
	if (email_wanted(x, "bodyStructure") && r->nparts > 0)
		json_object_set(o, "bodyStructure", em_part(x, r, 0, blob, 0));
	if (email_wanted(x, "textBody"))
		json_object_set(o, "textBody", em_part_list(x, r,
		    &r->text_body, blob));
	if (email_wanted(x, "htmlBody"))
		json_object_set(o, "htmlBody", em_part_list(x, r,
		    &r->html_body, blob));
	if (email_wanted(x, "attachments"))
		json_object_set(o, "attachments", em_part_list(x, r,
		    &r->attachments, blob));
	if (!email_wanted(x, "bodyValues"))
		return;
	/* Filled in once the values are read (em_value_next). */
	json_object_set(o, "bodyValues", json_new_object());
	if (x->fetch_text || x->fetch_all)
		for (i = 0; i < r->text_body.count; i++)
			em_value_add(x, list_idx, email_id, r,
			    wire_u64list_get(&r->text_body, i));
	if (x->fetch_html || x->fetch_all)
		for (i = 0; i < r->html_body.count; i++)
			em_value_add(x, list_idx, email_id, r,
			    wire_u64list_get(&r->html_body, i));
	if (x->fetch_all)
		for (i = 0; i < r->nparts; i++)
			em_value_add(x, list_idx, email_id, r, i);
}

/* What a record that does not decode shows: nothing but nulls. */
static void
em_no_record(struct email_get_ctx *x, struct json *o)
{
	size_t i;

	for (i = 0; email_rec_props[i] != NULL; i++)
		if (email_wanted(x, email_rec_props[i]))
			json_object_set(o, email_rec_props[i],
			    json_new_null());
	/* As for a message without a header. */
	if (x->hdr_email)
		em_hdr_props(o, x->props, "", 0);
}

static void	email_get_send(struct jmap_call *c);
static void	email_hdr_next(struct jmap_call *c);

static void
em_pending_add(struct email_get_ctx *x, size_t list_idx, uint64_t id,
    uint64_t size, const uint8_t *rec, size_t reclen, const char *blob,
    uint32_t nparts)
{
	struct em_pending *p;

	if (x->npend == x->cappend) {
		x->cappend = x->cappend == 0 ? 16 : x->cappend * 2;
		x->pend = xreallocarray(x->pend, x->cappend,
		    sizeof(*x->pend));
	}
	p = &x->pend[x->npend++];
	memset(p, 0, sizeof(*p));
	p->list_idx = list_idx;
	p->id = id;
	p->size = size;
	p->rec = xmalloc(reclen + 1);
	if (reclen > 0)
		memcpy(p->rec, rec, reclen);
	p->reclen = reclen;
	strlcpy(p->blob, blob, sizeof(p->blob));
	p->nparts = nparts;
	p->hoff = xcalloc(nparts + 1, sizeof(*p->hoff));
	p->hlen = xcalloc(nparts + 1, sizeof(*p->hlen));
}

static void
em_hjob_add(struct email_get_ctx *x, size_t pend, uint32_t part,
    const struct msgrec_part *pt)
{
	struct em_hjob *j;

	if (pt->body_off <= pt->hdr_off)
		return;		/* no header: nothing to read */
	if (x->nhjobs == x->caphjobs) {
		x->caphjobs = x->caphjobs == 0 ? 16 : x->caphjobs * 2;
		x->hjobs = xreallocarray(x->hjobs, x->caphjobs,
		    sizeof(*x->hjobs));
	}
	j = &x->hjobs[x->nhjobs++];
	memset(j, 0, sizeof(*j));
	j->pend = pend;
	j->part = part;
	j->off = pt->hdr_off;
	j->end = pt->body_off;
	if (j->end - j->off > EM_HDR_MAX)
		j->end = j->off + EM_HDR_MAX;
}

/* Every email's header fetched: its record properties now. */
static void
email_hdr_done(struct jmap_call *c)
{
	struct email_get_ctx *x = c->ctx;
	struct em_pending *p;
	struct msgrec rec;
	const char *why;
	size_t i;

	for (i = 0; i < x->npend; i++) {
		p = &x->pend[i];
		if (msgrec_open(p->rec, p->reclen, p->size, &rec, &why) == -1)
			continue;	/* it opened before */
		x->cur = p;
		em_from_record(x, json_at(x->list, p->list_idx), p->list_idx,
		    p->id, &rec, p->blob);
		x->cur = NULL;
		msgrec_close(&rec);
	}
	em_value_next(c);
}

/* The headers to read for the pending emails. */
static void
email_hdr_start(struct jmap_call *c)
{
	struct email_get_ctx *x = c->ctx;
	struct em_pending *p;
	struct msgrec rec;
	const char *why;
	size_t i;
	uint32_t k;

	for (i = 0; i < x->npend; i++) {
		p = &x->pend[i];
		if (msgrec_open(p->rec, p->reclen, p->size, &rec, &why) == -1)
			continue;
		for (k = 0; k < rec.nparts; k++)
			if ((k == 0 && x->hdr_email) || x->hdr_parts)
				em_hjob_add(x, i, k, &rec.parts[k]);
		msgrec_close(&rec);
	}
	email_hdr_next(c);
}

static void
email_hdr_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_BODY_rep *r = rep;
	struct email_get_ctx *x = c->ctx;
	struct em_hjob *j = &x->hjobs[x->hnext];
	struct em_pending *p = &x->pend[j->pend];
	size_t got;

	if (st != IPC_S_OK && st != IPC_S_NOTFOUND) {
		em_store_error(c, st, text);
		return;
	}
	if (st == IPC_S_OK)
		buf_append(&p->hdrs, r->data.p, r->data.len);
	got = p->hdrs.len - j->start;
	if (st == IPC_S_OK && r->data.len > 0 && got < j->end - j->off) {
		email_hdr_next(c);
		return;
	}
	/* Done (or destroyed meanwhile: no header then). */
	p->hoff[j->part] = j->start;
	p->hlen[j->part] = got;
	x->hnext++;
	x->hstarted = false;
	email_hdr_next(c);
}

/* Reads the next chunk of the headers, or goes on when all are read. */
static void
email_hdr_next(struct jmap_call *c)
{
	struct email_get_ctx *x = c->ctx;
	struct ipc_EMAIL_BODY_req m;
	struct em_hjob *j;
	struct em_pending *p;
	size_t got;

	if (x->hnext == x->nhjobs) {
		email_hdr_done(c);
		return;
	}
	j = &x->hjobs[x->hnext];
	p = &x->pend[j->pend];
	if (!x->hstarted) {
		/* A header's bytes follow those read before for the email. */
		j->start = p->hdrs.len;
		x->hstarted = true;
	}
	got = p->hdrs.len - j->start;
	memset(&m, 0, sizeof(m));
	m.email_id = p->id;
	m.offset = j->off + got;
	m.length = j->end - j->off - got > EM_BODY_CHUNK ? EM_BODY_CHUNK :
	    (uint32_t)(j->end - j->off - got);
	(void)jmap_store_request(c, IPC_T_EMAIL_BODY, &m, email_hdr_cb);
}

static void
email_get_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_GET_rep *r = rep;
	struct email_get_ctx *x = c->ctx;
	struct wire_iter kit;
	struct json *o, *mb;
	struct msgrec rec;
	const char *kw, *why;
	char blob[2 * EM_HASH_LEN + 2];
	uint64_t recoff = 0, rlen, id;
	uint32_t i, j, f, mbi = 0, n;

	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	n = r->found.count;
	if ((r->done == 0 && x->next < x->ids.n) ||
	    r->done > x->ids.n - x->next || n > r->done ||
	    r->thread_ids.count != n || r->received.count != n ||
	    r->sizes.count != n || r->flags.count != n ||
	    r->keywords.count != n || r->mbox_counts.count != n ||
	    r->hashes.len != (uint64_t)n * EM_HASH_LEN ||
	    (x->with_record && r->record_lens.count != n)) {
		jmap_call_error(c, "serverFail", "Bad EMAIL_GET reply");
		return;
	}
	if (!x->have_state) {
		x->state = r->state;
		x->have_state = true;
	}
	wire_strlist_iter(&r->keywords, &kit);
	for (i = 0, f = 0; i < r->done; i++) {
		id = x->ids.v[x->next + i];
		if (f == n || wire_u64list_get(&r->found, f) != id) {
			json_array_add(x->ids.notfound, em_id(OBJID_EMAIL,
			    id));
			continue;
		}
		kw = wire_strlist_next(&kit);
		objid_format(blob, 'E', id);
		o = json_new_object();
		json_object_set(o, "id", em_id(OBJID_EMAIL, id));
		if (email_wanted(x, "blobId"))
			json_object_set(o, "blobId", json_new_strz(blob));
		if (email_wanted(x, "threadId"))
			json_object_set(o, "threadId", em_id(OBJID_THREAD,
			    wire_u64list_get(&r->thread_ids, f)));
		mb = json_new_object();
		for (j = 0; j < wire_u64list_get(&r->mbox_counts, f) &&
		    mbi < r->mailbox_ids.count; j++, mbi++) {
			char mid[OBJID_MAX];

			objid_format(mid, OBJID_MAILBOX,
			    wire_u64list_get(&r->mailbox_ids, mbi));
			json_object_set(mb, mid, json_new_bool(true));
		}
		if (email_wanted(x, "mailboxIds"))
			json_object_set(o, "mailboxIds", mb);
		else
			json_free(&mb);
		if (email_wanted(x, "keywords"))
			json_object_set(o, "keywords", em_keywords(
			    wire_u64list_get(&r->flags, f), kw));
		if (email_wanted(x, "size"))
			json_object_set(o, "size", json_new_int((int64_t)
			    wire_u64list_get(&r->sizes, f)));
		if (email_wanted(x, "receivedAt"))
			json_object_set(o, "receivedAt", em_date((int64_t)
			    wire_u64list_get(&r->received, f), 0, true));
		if (x->with_record) {
			rlen = wire_u64list_get(&r->record_lens, f);
			if (rlen > r->records.len - recoff ||
			    msgrec_open(r->records.p + recoff, (size_t)rlen,
			    wire_u64list_get(&r->sizes, f), &rec, &why) == -1)
				em_no_record(x, o);
			else if (x->hdr_email || x->hdr_parts) {
				/* Made once its headers are read. */
				em_pending_add(x, json_len(x->list), id,
				    wire_u64list_get(&r->sizes, f),
				    r->records.p + recoff, (size_t)rlen, blob,
				    rec.nparts);
				msgrec_close(&rec);
			} else {
				em_from_record(x, o, json_len(x->list), id,
				    &rec, blob);
				msgrec_close(&rec);
			}
			if (rlen <= r->records.len - recoff)
				recoff += rlen;
		}
		json_array_add(x->list, o);
		f++;
	}
	x->next += r->done;
	if (x->next < x->ids.n)
		email_get_send(c);
	else
		email_hdr_start(c);
}

static void
email_get_send(struct jmap_call *c)
{
	struct email_get_ctx *x = c->ctx;
	struct ipc_EMAIL_GET_req m;
	struct buf b = BUF_INIT;

	memset(&m, 0, sizeof(m));
	em_u64list(&m.ids, &b, x->ids.v + x->next, x->ids.n - x->next);
	m.with_record = x->with_record;
	(void)jmap_store_request(c, IPC_T_EMAIL_GET, &m, email_get_cb);
	buf_clear(&b);
}

void
em_get_reply(struct jmap_call *c)
{
	struct email_get_ctx *x = c->ctx;
	struct json *res = json_new_object();

	json_object_set(res, "accountId", json_dup(json_get(c->args,
	    "accountId")));
	json_object_set(res, "state", em_state(x->state));
	json_object_set(res, "list", x->list);
	x->list = NULL;
	json_object_set(res, "notFound", x->ids.notfound);
	x->ids.notfound = NULL;
	jmap_call_reply(c, res);
}


/*
 * Checks a list of property names (Email's or EmailBodyPart's): each is
 * one of known, "headers", or a header:{name} form this server serves.
 */
static bool
em_props_check(struct jmap_call *c, const struct json *props,
    const char *const *known, const char *what)
{
	const char *p;
	char why[128];
	size_t i, k;
	int h;

	for (i = 0; i < em_len(props); i++) {
		if ((p = json_str(json_at(props, i), NULL)) == NULL) {
			snprintf(why, sizeof(why), "%s must be strings", what);
			jmap_call_error(c, "invalidArguments", why);
			return false;
		}
		for (k = 0; known[k] != NULL; k++)
			if (strcmp(known[k], p) == 0)
				break;
		if (known[k] != NULL || strcmp(p, "headers") == 0)
			continue;
		if ((h = em_hdr_prop_check(p)) == 1)
			continue;
		snprintf(why, sizeof(why), h == 0 ? "Unknown property in %s" :
		    "A header form in %s that is not valid or not supported",
		    what);
		jmap_call_error(c, "invalidArguments", why);
		return false;
	}
	return true;
}

/* An optional Boolean argument; false with c answered if not one. */
static bool
em_bool_arg(struct jmap_call *c, const char *name, bool *v)
{
	const struct json *j = json_get(c->args, name);
	char why[96];

	*v = false;
	if (j == NULL || json_type(j) == JSON_NULL)
		return true;
	if (json_bool(j, v) == -1) {
		snprintf(why, sizeof(why), "%s must be a Boolean", name);
		jmap_call_error(c, "invalidArguments", why);
		return false;
	}
	return true;
}

static void	email_all_send(struct jmap_call *c, uint64_t cursor);

/* The ids of every email, for ids null. */
static void
email_all_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_LIST_rep *r = rep;
	struct email_get_ctx *x = c->ctx;
	uint32_t i;

	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	if (r->email_ids.count > c->env->max_objects_in_get - x->ids.n) {
		jmap_call_error(c, "requestTooLarge", "More emails than "
		    "maxObjectsInGet: use Email/query");
		return;
	}
	for (i = 0; i < r->email_ids.count; i++)
		x->ids.v[x->ids.n++] = wire_u64list_get(&r->email_ids, i);
	if (r->next != 0)
		email_all_send(c, r->next);
	else
		email_get_send(c);
}

static void
email_all_send(struct jmap_call *c, uint64_t cursor)
{
	struct ipc_EMAIL_LIST_req m;

	memset(&m, 0, sizeof(m));
	m.cursor = cursor;
	/* One more than may be shown tells that there are too many. */
	m.limit = c->env->max_objects_in_get + 1;
	(void)jmap_store_request(c, IPC_T_EMAIL_LIST, &m, email_all_cb);
}

/*
 * The arguments Email/get and Email/parse share (RFC 8621 4.2, 4.9), with
 * props (checked): a new context, or NULL with c answered.
 */
static struct email_get_ctx *
email_args(struct jmap_call *c, const struct json *props)
{
	const struct json *bp, *j;
	struct email_get_ctx *x;
	int64_t max = 0;
	size_t i;

	bp = json_get(c->args, "bodyProperties");
	if (bp != NULL && json_type(bp) == JSON_NULL)
		bp = NULL;
	if (bp != NULL) {
		if (json_type(bp) != JSON_ARRAY) {
			jmap_call_error(c, "invalidArguments",
			    "bodyProperties must be an array of names");
			return NULL;
		}
		if (!em_props_check(c, bp, part_props, "bodyProperties"))
			return NULL;
	}
	if ((j = json_get(c->args, "maxBodyValueBytes")) != NULL &&
	    json_type(j) != JSON_NULL && (json_int(j, &max) == -1 ||
	    max < 0)) {
		jmap_call_error(c, "invalidArguments", "maxBodyValueBytes "
		    "must be an UnsignedInt");
		return NULL;
	}
	x = xcalloc(1, sizeof(*x));
	x->props = props;
	x->bprops = bp;
	x->max_value = (uint64_t)max;
	if (!em_bool_arg(c, "fetchTextBodyValues", &x->fetch_text) ||
	    !em_bool_arg(c, "fetchHTMLBodyValues", &x->fetch_html) ||
	    !em_bool_arg(c, "fetchAllBodyValues", &x->fetch_all)) {
		email_get_ctx_free(x);
		return NULL;
	}
	x->hdr_email = em_hdr_asked(props);
	x->hdr_parts = em_hdr_asked(bp);
	/* The headers' offsets are in the record. */
	x->with_record = x->hdr_email || x->hdr_parts;
	for (i = 0; email_rec_props[i] != NULL; i++)
		if (email_wanted(x, email_rec_props[i]))
			x->with_record = true;
	x->list = json_new_array();
	return x;
}

void
jmap_email_get(const struct jmap_env *env, struct jmap_call *c)
{
	const struct json *ids, *props;
	struct email_get_ctx *x;

	/* The header properties are not a fixed list: checked below. */
	if (!jmap_get_args(c, &ids, &props, NULL) ||
	    !em_props_check(c, props, email_props, "properties"))
		return;
	if ((x = email_args(c, props)) == NULL)
		return;
	c->ctx = x;
	c->ctx_free = email_get_ctx_free;
	if (ids == NULL) {
		/* RFC 8620 5.1: every email, up to maxObjectsInGet. */
		x->ids.v = xcalloc(env->max_objects_in_get + 1,
		    sizeof(*x->ids.v));
		x->ids.notfound = json_new_array();
		email_all_send(c, 0);
		return;
	}
	em_idset_init(&x->ids, ids, OBJID_EMAIL);
	/* Even with no id to ask, the request brings the state. */
	email_get_send(c);
}

/* --- Email/parse's share (RFC 8621 4.9, jmap_email.h) --- */

struct email_get_ctx *
em_parse_begin(struct jmap_call *c)
{
	const struct json *ids, *props;
	struct email_get_ctx *x;

	if (!jmap_get_args(c, &ids, &props, NULL) ||
	    !em_props_check(c, props, email_props, "properties"))
		return NULL;
	/* parse after email_args: its with_record is Email/get's alone. */
	if ((x = email_args(c, props)) == NULL)
		return NULL;
	x->parse = true;
	return x;
}

void
em_parse_end(struct email_get_ctx **xp)
{
	if (*xp != NULL)
		email_get_ctx_free(*xp);
	*xp = NULL;
}

struct json *
em_parse_email(struct email_get_ctx *x, const uint8_t *msg, size_t len,
    const char *blob)
{
	static const char *const nulls[] = {
		"id", "threadId", "mailboxIds", "keywords", "receivedAt", NULL
	};
	struct mime_msg *m;
	struct buf rb = BUF_INIT;
	struct em_pending p;
	struct em_value *v;
	struct msgrec rec;
	struct json *o, *r;
	const char *why;
	uint64_t want, end;
	size_t i;

	if ((m = mime_parse(msg, len)) == NULL)
		return NULL;
	msgrec_encode(m, 0, &rb);
	mime_msg_free(&m);
	if (msgrec_open(rb.data, rb.len, len, &rec, &why) == -1) {
		buf_clear(&rb);
		return NULL;
	}
	o = json_new_object();
	for (i = 0; nulls[i] != NULL; i++)
		if (email_wanted(x, nulls[i]))
			json_object_set(o, nulls[i], json_new_null());
	if (email_wanted(x, "blobId"))
		json_object_set(o, "blobId", json_new_strz(blob));
	if (email_wanted(x, "size"))
		json_object_set(o, "size", json_new_int((int64_t)len));
	json_array_add(x->list, o);
	/* The header of each part, from the bytes (Email/get reads them). */
	memset(&p, 0, sizeof(p));
	if (x->hdr_email || x->hdr_parts) {
		p.nparts = rec.nparts;
		p.hoff = xcalloc(rec.nparts + 1, sizeof(*p.hoff));
		p.hlen = xcalloc(rec.nparts + 1, sizeof(*p.hlen));
		for (i = 0; i < rec.nparts; i++) {
			end = rec.parts[i].body_off;
			if (end <= rec.parts[i].hdr_off)
				continue;	/* no header */
			if (end - rec.parts[i].hdr_off > EM_HDR_MAX)
				end = rec.parts[i].hdr_off + EM_HDR_MAX;
			p.hoff[i] = p.hdrs.len;
			p.hlen[i] = (size_t)(end - rec.parts[i].hdr_off);
			if (p.hlen[i] > 0)
				buf_append(&p.hdrs, msg + rec.parts[i].hdr_off,
				    p.hlen[i]);
		}
		x->cur = &p;
	}
	em_from_record(x, o, 0, 0, &rec, blob);
	x->cur = NULL;
	buf_clear(&p.hdrs);
	free(p.hoff);
	free(p.hlen);
	/* Body values from the bytes at hand (the record checked them). */
	for (x->vnext = 0; x->vnext < x->nvals; x->vnext++) {
		v = &x->vals[x->vnext];
		want = em_value_want(x, v);
		buf_reset(&x->raw);
		if (want > 0)
			buf_append(&x->raw, msg + v->off, (size_t)want);
		em_value_set(x, want < v->end - v->off);
	}
	buf_reset(&x->raw);
	for (i = 0; i < x->nvals; i++) {
		free(x->vals[i].encoding);
		free(x->vals[i].charset);
	}
	x->nvals = x->vnext = 0;
	msgrec_close(&rec);
	buf_clear(&rb);
	/* The next one is made at index 0 again. */
	r = json_dup(o);
	json_free(&x->list);
	x->list = json_new_array();
	return r;
}

/* --- Email/changes (RFC 8621 4.3) --- */

void
jmap_email_changes(const struct jmap_env *env, struct jmap_call *c)
{
	(void)env;
	jmap_changes(c, 2);	/* CHANGE_EMAIL of store/record.h */
}
