/* SPDX-License-Identifier: ISC */
/*
 * jmap_email_headers.c: the header properties of an Email and of its
 * body parts (RFC 8621 4.1.3): headers, every field in order with its raw
 * value, and header:{name}[:as{form}][:all] in every form of 4.1.2
 * (asRaw, asText, asAddresses, asGroupedAddresses, asMessageIds, asDate,
 * asURLs), parsed by mime.h from the raw field values, with the forms
 * 4.1.2.2 to 4.1.2.7 allow for the fields RFC 5322 and RFC 2369 define.
 * Email/get (jmap_email_get.c, jmap_email_body.c) and Email/parse write
 * them from the header bytes they read (jmap_email.h).
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- Header fields (RFC 8621 4.1.3) --- */

/*
 * The next field of a header block from *pos to end: its name and its
 * raw value (after the colon, up to and without the CRLF that ends the
 * field; folded lines keep their line breaks).  Returns false at the
 * blank line that ends the header, or at end.  Lines without a colon are
 * skipped.
 */
static bool
em_field_next(const char **pos, const char *end, const char **name_r,
    size_t *nlen_r, const char **val_r, size_t *vlen_r)
{
	const char *p, *e, *colon, *line_end, *vend;
	size_t nlen;

	for (;;) {
		p = *pos;
		if (p >= end || *p == '\n' || (*p == '\r' && p + 1 < end &&
		    p[1] == '\n'))
			return false;
		e = memchr(p, '\n', (size_t)(end - p));
		line_end = e != NULL ? e : end;
		while (e != NULL && e + 1 < end && (e[1] == ' ' ||
		    e[1] == '\t'))
			e = memchr(e + 1, '\n', (size_t)(end - e - 1));
		vend = e != NULL ? e : end;
		*pos = e != NULL ? e + 1 : end;
		colon = memchr(p, ':', (size_t)(line_end - p));
		if (colon == NULL || colon == p || *p == ' ' || *p == '\t')
			continue;
		nlen = (size_t)(colon - p);
		/* RFC 5322 4.5.3: obsolete white space before the colon. */
		while (nlen > 0 && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t'))
			nlen--;
		if (nlen == 0)
			continue;
		if (vend > colon + 1 && vend[-1] == '\r')
			vend--;
		*name_r = p;
		*nlen_r = nlen;
		*val_r = colon + 1;
		*vlen_r = (size_t)(vend - (colon + 1));
		return true;
	}
}

/* The headers property: every field in order, values raw. */
static struct json *
em_headers_all(const char *h, size_t len)
{
	struct json *a = json_new_array(), *o;
	const char *pos = h, *name, *val;
	size_t nlen, vlen;

	while (em_field_next(&pos, h + len, &name, &nlen, &val, &vlen)) {
		o = json_new_object();
		json_object_set(o, "name", json_new_str(name, nlen));
		json_object_set(o, "value", json_new_str(val, vlen));
		json_array_add(a, o);
	}
	return a;
}

/* The forms of a header property (RFC 8621 4.1.2). */
enum em_form {
	EF_RAW,
	EF_TEXT,
	EF_ADDRS,
	EF_GROUPED,
	EF_MSGIDS,
	EF_DATE,
	EF_URLS,
	EF_COUNT
};

#define EF_BIT(f)	(1u << (f))
#define EF_ADDR_FORMS	(EF_BIT(EF_RAW) | EF_BIT(EF_ADDRS) | EF_BIT(EF_GROUPED))
#define EF_ALL_FORMS	(EF_BIT(EF_COUNT) - 1)

static const char *const em_form_names[EF_COUNT] = {
	"asRaw", "asText", "asAddresses", "asGroupedAddresses",
	"asMessageIds", "asDate", "asURLs"
};

/*
 * The forms allowed for the fields RFC 5322 and RFC 2369 define (4.1.2.2
 * to 4.1.2.7; Resent-Reply-To, named in 4.1.2.3, with them); any other
 * field may be fetched in every form.
 */
static const struct {
	const char	*name;
	unsigned	 forms;
} em_field_forms[] = {
	{ "from",		EF_ADDR_FORMS },
	{ "sender",		EF_ADDR_FORMS },
	{ "reply-to",		EF_ADDR_FORMS },
	{ "to",			EF_ADDR_FORMS },
	{ "cc",			EF_ADDR_FORMS },
	{ "bcc",		EF_ADDR_FORMS },
	{ "resent-from",	EF_ADDR_FORMS },
	{ "resent-sender",	EF_ADDR_FORMS },
	{ "resent-reply-to",	EF_ADDR_FORMS },
	{ "resent-to",		EF_ADDR_FORMS },
	{ "resent-cc",		EF_ADDR_FORMS },
	{ "resent-bcc",		EF_ADDR_FORMS },
	{ "date",		EF_BIT(EF_RAW) | EF_BIT(EF_DATE) },
	{ "resent-date",	EF_BIT(EF_RAW) | EF_BIT(EF_DATE) },
	{ "message-id",		EF_BIT(EF_RAW) | EF_BIT(EF_MSGIDS) },
	{ "in-reply-to",	EF_BIT(EF_RAW) | EF_BIT(EF_MSGIDS) },
	{ "references",		EF_BIT(EF_RAW) | EF_BIT(EF_MSGIDS) },
	{ "resent-message-id",	EF_BIT(EF_RAW) | EF_BIT(EF_MSGIDS) },
	{ "subject",		EF_BIT(EF_RAW) | EF_BIT(EF_TEXT) },
	{ "comments",		EF_BIT(EF_RAW) | EF_BIT(EF_TEXT) },
	{ "keywords",		EF_BIT(EF_RAW) | EF_BIT(EF_TEXT) },
	{ "return-path",	EF_BIT(EF_RAW) },
	{ "received",		EF_BIT(EF_RAW) },
	{ "list-help",		EF_BIT(EF_RAW) | EF_BIT(EF_URLS) },
	{ "list-unsubscribe",	EF_BIT(EF_RAW) | EF_BIT(EF_URLS) },
	{ "list-subscribe",	EF_BIT(EF_RAW) | EF_BIT(EF_URLS) },
	{ "list-post",		EF_BIT(EF_RAW) | EF_BIT(EF_URLS) },
	{ "list-owner",		EF_BIT(EF_RAW) | EF_BIT(EF_URLS) },
	{ "list-archive",	EF_BIT(EF_RAW) | EF_BIT(EF_URLS) },
};

/* A header property "header:{name}[:as{form}][:all]" (4.1.3). */
struct em_hprop {
	char		 name[256];	/* NUL-terminated */
	enum em_form	 form;
	bool		 all;
	bool		 one_id;	/* a field of one msg-id */
};

/*
 * Parses property p into h.  Returns 1 for a header property, 0 for a
 * property of another kind, -1 for a header property that is not valid:
 * a bad name, an unknown form, or a form 4.1.2 does not allow for the
 * field.
 */
static int
em_hdr_prop(const char *p, struct em_hprop *h)
{
	const char *n, *e;
	size_t len, i, fl;
	unsigned forms = EF_ALL_FORMS;
	int f;

	if (strncmp(p, "header:", 7) != 0)
		return 0;
	n = p + 7;
	e = strchr(n, ':');
	len = e != NULL ? (size_t)(e - n) : strlen(n);
	if (len == 0 || len >= sizeof(h->name))
		return -1;
	for (i = 0; i < len; i++)
		if (n[i] < 33 || n[i] > 126)
			return -1;
	memcpy(h->name, n, len);
	h->name[len] = '\0';
	h->form = EF_RAW;
	h->all = false;
	if (e != NULL && strncmp(e, ":as", 3) == 0) {
		for (f = 0; f < EF_COUNT; f++) {
			fl = strlen(em_form_names[f]);
			if (strncmp(e + 1, em_form_names[f], fl) == 0 &&
			    (e[1 + fl] == '\0' || e[1 + fl] == ':'))
				break;
		}
		if (f == EF_COUNT)
			return -1;
		h->form = (enum em_form)f;
		e += 1 + fl;
	}
	if (e != NULL && *e != '\0') {
		if (strcmp(e, ":all") != 0)
			return -1;
		h->all = true;
	}
	for (i = 0; i < sizeof(em_field_forms) / sizeof(em_field_forms[0]);
	    i++)
		if (strcasecmp(em_field_forms[i].name, h->name) == 0)
			forms = em_field_forms[i].forms;
	if ((forms & EF_BIT(h->form)) == 0)
		return -1;
	/*
	 * So that header:Message-ID:asMessageIds is the messageId property
	 * (4.1.3), read from the record: the first id, or a bare one.
	 */
	h->one_id = strcasecmp(h->name, "message-id") == 0 ||
	    strcasecmp(h->name, "resent-message-id") == 0;
	return 1;
}

/* em_hdr_prop without its result: 1, 0 or -1 as em_hdr_prop. */
int
em_hdr_prop_check(const char *p)
{
	struct em_hprop hp;

	return em_hdr_prop(p, &hp);
}

/* An EmailAddress (4.1.2.3). */
static struct json *
em_hdr_address(const struct mime_address *ad)
{
	struct json *o = json_new_object();

	json_object_set(o, "name", *ad->name != '\0' ?
	    json_new_strz(ad->name) : json_new_null());
	json_object_set(o, "email", json_new_strz(ad->email));
	return o;
}

/*
 * An EmailAddress[] (4.1.2.3), or with grouped an EmailAddressGroup[]
 * (4.1.2.4): runs of mailboxes outside a group under a group named
 * null.  An empty group's marker (no name, no email) is no mailbox, as
 * for the Email's from, to and the others (em_addrs).
 */
static struct json *
em_hdr_addresses(const char *val, size_t vlen, bool grouped)
{
	struct mime_address *v;
	struct json *a = json_new_array(), *g = NULL, *ga = NULL;
	size_t i, n, cur = SIZE_MAX;

	v = mime_header_addresses(val, vlen, &n);
	for (i = 0; i < n; i++) {
		if (grouped && v[i].groupno != cur) {
			cur = v[i].groupno;
			g = json_new_object();
			json_object_set(g, "name", v[i].group != NULL ?
			    json_new_strz(v[i].group) : json_new_null());
			ga = json_new_array();
			json_object_set(g, "addresses", ga);
			json_array_add(a, g);
		}
		if (*v[i].name == '\0' && *v[i].email == '\0')
			continue;
		json_array_add(grouped ? ga : a, em_hdr_address(&v[i]));
	}
	free(v);
	return a;
}

/*
 * A String[] of the n strings at v (freed), or null for none (4.1.2.5,
 * 4.1.2.7).
 */
static struct json *
em_hdr_strv(char **v, size_t n)
{
	struct json *a;
	size_t i;

	a = n > 0 ? json_new_array() : json_new_null();
	for (i = 0; i < n; i++)
		json_array_add(a, json_new_strz(v[i]));
	free(v);
	return a;
}

/* One field's value in the form h asks. */
static struct json *
em_hdr_value(const char *val, size_t vlen, const struct em_hprop *h)
{
	struct buf b = BUF_INIT;
	struct json *v;
	char **sv;
	size_t n;
	int64_t t;
	int32_t tz;

	switch (h->form) {
	case EF_TEXT:
		mime_header_text(val, vlen, &b);
		v = json_new_str(b.len > 0 ? (const char *)b.data : "",
		    b.len);
		buf_clear(&b);
		return v;
	case EF_ADDRS:
	case EF_GROUPED:
		return em_hdr_addresses(val, vlen, h->form == EF_GROUPED);
	case EF_MSGIDS:
		sv = mime_header_msgids(val, vlen, h->one_id, &n);
		return em_hdr_strv(sv, n);
	case EF_DATE:
		/* As sentAt: the time in the field's own zone. */
		if (!mime_header_date(val, vlen, &t, &tz))
			return json_new_null();
		return em_date(t, tz, false);
	case EF_URLS:
		sv = mime_header_urls(val, vlen, &n);
		return em_hdr_strv(sv, n);
	default:
		return json_new_str(val, vlen);
	}
}

/*
 * Sets the header properties among props (headers, header:...) of o from
 * the header block [h, h + len).
 */
void
em_hdr_props(struct json *o, const struct json *props, const char *h,
    size_t len)
{
	const char *p, *pos, *name, *val, *last = NULL;
	struct em_hprop hp;
	size_t i, nlen, vlen, wlen, lastlen = 0;
	struct json *a;

	for (i = 0; i < em_len(props); i++) {
		p = json_str(json_at(props, i), NULL);
		if (strcmp(p, "headers") == 0) {
			json_object_set(o, "headers", em_headers_all(h, len));
			continue;
		}
		if (em_hdr_prop(p, &hp) != 1)
			continue;
		wlen = strlen(hp.name);
		a = hp.all ? json_new_array() : NULL;
		last = NULL;
		pos = h;
		while (em_field_next(&pos, h + len, &name, &nlen, &val,
		    &vlen)) {
			if (nlen != wlen ||
			    strncasecmp(name, hp.name, nlen) != 0)
				continue;
			if (a != NULL)
				json_array_add(a, em_hdr_value(val, vlen,
				    &hp));
			last = val;
			lastlen = vlen;
		}
		if (a != NULL)
			json_object_set(o, p, a);
		else
			json_object_set(o, p, last != NULL ?
			    em_hdr_value(last, lastlen, &hp) :
			    json_new_null());
	}
}

/* Whether props asks for a header property. */
bool
em_hdr_asked(const struct json *props)
{
	const char *p;
	size_t i;

	for (i = 0; i < em_len(props); i++) {
		p = json_str(json_at(props, i), NULL);
		if (strcmp(p, "headers") == 0 || strncmp(p, "header:", 7) == 0)
			return true;
	}
	return false;
}
