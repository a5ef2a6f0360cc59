/* SPDX-License-Identifier: ISC */
/*
 * jmap_email_body.c: the body of an Email (RFC 8621 4.1.4) as Email/get
 * and Email/parse show it: EmailBodyPart objects (bodyStructure,
 * textBody, htmlBody, attachments) made from the message's parsed record
 * (lib/msgrec.h), and the EmailBodyValue objects of bodyValues, read with
 * storaged's EMAIL_BODY (or taken from the bytes Email/parse holds),
 * transfer-decoded, converted to UTF-8 and cut to maxBodyValueBytes.
 *
 * Ids: a part's partId is its index in the record's pre-order, its blobId
 * the message's, "-" and the partId.
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "charset.h"
#include "mime.h"
#include "msgrec.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EM_VALUE_RAW_MAX (16u << 20)	/* raw bytes read for one value */

/* --- Body parts (RFC 8621 4.1.4) --- */

static bool
part_wanted(const struct email_get_ctx *x, const char *name)
{
	/*
	 * subParts is not among 4.2's defaults, yet a bodyStructure
	 * without it would show only its root: the defaults include it.
	 */
	if (x->bprops == NULL)
		return true;
	return jmap_prop_wanted(x->bprops, name);
}

static bool
em_part_is_multi(const struct msgrec_part *pt)
{
	return strcmp(pt->type, "multipart") == 0;
}

/*
 * An EmailBodyPart (RFC 8621 4.1.4) of part i of r.  partId is the part's
 * index in the record (pre-order), which stays the same for the message;
 * a part's blobId is the message's followed by "-" and the partId (there
 * is no blob download yet to resolve it).
 */
struct json *
em_part(const struct email_get_ctx *x, const struct msgrec *r, uint32_t i,
    const char *blob, int depth)
{
	const struct msgrec_part *pt = &r->parts[i];
	struct json *o = json_new_object(), *a;
	struct wire_iter it;
	const char *s;
	char id[16], bid[96], type[512];
	bool multi = em_part_is_multi(pt);
	size_t n;
	uint32_t k;

	snprintf(id, sizeof(id), "%u", i);
	snprintf(bid, sizeof(bid), "%s-%u", blob, i);
	if (part_wanted(x, "partId"))
		json_object_set(o, "partId", multi ? json_new_null() :
		    json_new_strz(id));
	if (part_wanted(x, "blobId"))
		json_object_set(o, "blobId", multi ? json_new_null() :
		    json_new_strz(bid));
	if (part_wanted(x, "size"))
		json_object_set(o, "size", json_new_int((int64_t)
		    pt->decoded_size));
	if (part_wanted(x, "name"))
		json_object_set(o, "name", pt->name != NULL ?
		    json_new_strz(pt->name) : json_new_null());
	if (part_wanted(x, "type")) {
		snprintf(type, sizeof(type), "%s/%s", pt->type, pt->subtype);
		json_object_set(o, "type", json_new_strz(type));
	}
	if (part_wanted(x, "charset")) {
		/* 4.1.4: us-ascii for a text part without a charset. */
		if (pt->charset != NULL)
			json_object_set(o, "charset",
			    json_new_strz(pt->charset));
		else if (strcmp(pt->type, "text") == 0)
			json_object_set(o, "charset",
			    json_new_strz("us-ascii"));
		else
			json_object_set(o, "charset", json_new_null());
	}
	if (part_wanted(x, "disposition"))
		json_object_set(o, "disposition", pt->disposition != NULL ?
		    json_new_strz(pt->disposition) : json_new_null());
	if (part_wanted(x, "cid")) {
		/* The Content-ID without its angle brackets. */
		if ((s = pt->id) != NULL) {
			while (*s == ' ' || *s == '<')
				s++;
			n = strcspn(s, ">");
			json_object_set(o, "cid", json_new_str(s, n));
		} else
			json_object_set(o, "cid", json_new_null());
	}
	if (part_wanted(x, "language")) {
		if (pt->language.count == 0)
			json_object_set(o, "language", json_new_null());
		else {
			a = json_new_array();
			wire_strlist_iter(&pt->language, &it);
			while ((s = wire_strlist_next(&it)) != NULL)
				json_array_add(a, json_new_strz(s));
			json_object_set(o, "language", a);
		}
	}
	if (part_wanted(x, "location"))
		json_object_set(o, "location", pt->location != NULL ?
		    json_new_strz(pt->location) : json_new_null());
	if (x->hdr_parts && em_cur_hdr(x, i, &s, &n))
		em_hdr_props(o, x->bprops, s, n);
	else if (x->hdr_parts)
		em_hdr_props(o, x->bprops, "", 0);
	if (multi && part_wanted(x, "subParts")) {
		a = json_new_array();
		/* The record is checked: children come after their parent. */
		for (k = i + 1; k < r->nparts && depth < MIME_MAX_DEPTH + 2;
		    k++)
			if (r->parts[k].parent == i)
				json_array_add(a, em_part(x, r, k, blob,
				    depth + 1));
		json_object_set(o, "subParts", a);
	}
	return o;
}

/* An EmailBodyPart[] of the part indices of l. */
struct json *
em_part_list(const struct email_get_ctx *x, const struct msgrec *r,
    const struct wire_u64list *l, const char *blob)
{
	struct json *a = json_new_array();
	uint64_t k;
	uint32_t i;

	for (i = 0; i < l->count; i++)
		if ((k = wire_u64list_get(l, i)) < r->nparts)
			json_array_add(a, em_part(x, r, (uint32_t)k, blob, 0));
	return a;
}

/* Queues part i's value, once per email. */
void
em_value_add(struct email_get_ctx *x, size_t list_idx, uint64_t email_id,
    const struct msgrec *r, uint64_t i)
{
	const struct msgrec_part *pt;
	struct em_value *v;
	size_t k;

	if (i >= r->nparts)
		return;
	pt = &r->parts[i];
	if (strcmp(pt->type, "text") != 0)
		return;
	for (k = x->nvals; k > 0 && x->vals[k - 1].list_idx == list_idx; k--)
		if (x->vals[k - 1].part == i)
			return;
	if (x->nvals == x->capvals) {
		x->capvals = x->capvals == 0 ? 16 : x->capvals * 2;
		x->vals = xreallocarray(x->vals, x->capvals,
		    sizeof(*x->vals));
	}
	v = &x->vals[x->nvals++];
	memset(v, 0, sizeof(*v));
	v->list_idx = list_idx;
	v->email_id = email_id;
	v->part = (uint32_t)i;
	v->off = pt->body_off;
	v->end = pt->body_end;
	v->encoding = pt->encoding != NULL ? xstrdup(pt->encoding) : NULL;
	v->charset = pt->charset != NULL ? xstrdup(pt->charset) : NULL;
	v->html = strcmp(pt->subtype, "html") == 0;
}

/* --- Body values (RFC 8621 4.1.4, 4.2) --- */

/*
 * Sets the EmailBodyValue of vals[vnext] from its raw bytes (RFC 8621
 * 4.1.4): transfer-decoded, converted to UTF-8, cut to maxBodyValueBytes
 * on a character boundary and, for HTML, not inside a tag.
 */
void
em_value_set(struct email_get_ctx *x, bool raw_cut)
{
	struct em_value *v = &x->vals[x->vnext];
	struct json *o, *bv;
	struct buf out = BUF_INIT, dec = BUF_INIT;
	size_t n;
	bool trunc = raw_cut;
	char id[16];
	uint8_t *lt;

	/*
	 * mime_body_text's work, with UTF-8 left as it is: charset.h
	 * needs charset_init() before the sandbox for any other charset.
	 */
	mime_body_decode(v->encoding, x->raw.data, x->raw.len, &dec);
	if ((v->charset == NULL || strcmp(v->charset, "utf-8") == 0 ||
	    strcmp(v->charset, "us-ascii") == 0) &&
	    charset_utf8_valid(dec.data, dec.len))
		buf_append(&out, dec.data, dec.len);
	else
		charset_to_utf8(v->charset, dec.data, dec.len, &out);
	buf_clear(&dec);
	n = out.len;
	if (x->max_value > 0 && n > x->max_value) {
		n = charset_utf8_prefix(out.data, (size_t)x->max_value);
		if (v->html && n > 0) {
			lt = memrchr(out.data, '<', n);
			if (lt != NULL && memchr(lt, '>', n -
			    (size_t)(lt - out.data)) == NULL)
				n = (size_t)(lt - out.data);
		}
		trunc = true;
	}
	o = json_new_object();
	json_object_set(o, "value", json_new_str(n > 0 ? (char *)out.data :
	    "", n));
	/* charset.h maps what does not convert, and says nothing of it. */
	json_object_set(o, "isEncodingProblem", json_new_bool(false));
	json_object_set(o, "isTruncated", json_new_bool(trunc));
	snprintf(id, sizeof(id), "%u", v->part);
	bv = json_get(json_at(x->list, v->list_idx), "bodyValues");
	if (bv != NULL)
		json_object_set(bv, id, o);
	else
		json_free(&o);
	buf_clear(&out);
}

/* How many raw bytes of a value to read at most. */
uint64_t
em_value_want(const struct email_get_ctx *x, const struct em_value *v)
{
	uint64_t want = v->end - v->off;

	/* Any encoding takes at most 4 raw bytes per UTF-8 byte shown. */
	if (x->max_value > 0 && want > x->max_value * 4 + 1024)
		want = x->max_value * 4 + 1024;
	if (want > EM_VALUE_RAW_MAX)
		want = EM_VALUE_RAW_MAX;
	return want;
}

static void
email_value_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_EMAIL_BODY_rep *r = rep;
	struct email_get_ctx *x = c->ctx;
	struct em_value *v = &x->vals[x->vnext];
	uint64_t want = em_value_want(x, v);

	if (st == IPC_S_NOTFOUND) {
		/* Destroyed meanwhile: the value is left out. */
		buf_reset(&x->raw);
		x->vnext++;
		em_value_next(c);
		return;
	}
	if (st != IPC_S_OK) {
		em_store_error(c, st, text);
		return;
	}
	buf_append(&x->raw, r->data.p, r->data.len);
	if (r->data.len > 0 && x->raw.len < want) {
		em_value_next(c);
		return;
	}
	em_value_set(x, want < v->end - v->off);
	buf_reset(&x->raw);
	x->vnext++;
	em_value_next(c);
}

/* Reads the next chunk of the values, or answers when all are read. */
void
em_value_next(struct jmap_call *c)
{
	struct email_get_ctx *x = c->ctx;
	struct ipc_EMAIL_BODY_req m;
	struct em_value *v;
	uint64_t want;

	for (;;) {
		if (x->vnext == x->nvals) {
			em_get_reply(c);
			return;
		}
		v = &x->vals[x->vnext];
		want = em_value_want(x, v);
		if (want > 0)
			break;
		em_value_set(x, false);
		x->vnext++;
	}
	memset(&m, 0, sizeof(m));
	m.email_id = v->email_id;
	m.offset = v->off + x->raw.len;
	m.length = want - x->raw.len > EM_BODY_CHUNK ? EM_BODY_CHUNK :
	    (uint32_t)(want - x->raw.len);
	(void)jmap_store_request(c, IPC_T_EMAIL_BODY, &m, email_value_cb);
}
