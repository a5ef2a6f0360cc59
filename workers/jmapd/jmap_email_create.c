/* SPDX-License-Identifier: ISC */
/*
 * jmap_email_create.c: Email/set create (RFC 8621 4.6): a message made
 * from the properties of an Email object, then stored with em_append.
 *
 * The header comes from from, sender, replyTo, to, cc, bcc, subject,
 * sentAt, messageId, inReplyTo, references and header:{name} in the forms
 * asRaw, asText, asAddresses, asMessageIds and asDate; Date and
 * Message-ID are made when not given (4.6).  The body comes from
 * bodyStructure, or from textBody, htmlBody and attachments as 4.1.4
 * reads them back: text and HTML in a multipart/alternative, inline
 * parts with a cid beside them in a multipart/related, the rest in a
 * multipart/mixed.  Text of bodyValues goes as UTF-8, in 7bit when it
 * can and quoted-printable otherwise; the bytes of a blobId (an upload
 * or an email of the account) go in base64.  What cannot be written as
 * asked is refused with invalidProperties naming the property; blobs
 * that do not exist with blobNotFound.
 *
 * The emails of one call are made one after the other; the blobs of one
 * are read first (BLOB_FILE), then it is written at once.
 */
#include "jmap_int.h"
#include "jmap_email.h"
#include "mailflags.h"
#include "mime_write.h"
#include "xmalloc.h"

#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define EC_DEPTH_MAX	16	/* of bodyStructure */
#define EC_BLOBS_MAX	64	/* blobs of one email */
#define EC_SIZE_MAX	(50u << 20)	/* of the message made */

/* A blob a part needs, read into a memfd. */
struct ec_blob {
	char		*id;
	int		 fd;
	uint64_t	 size;
};

struct ec {
	struct jmap_call *call;
	const struct json *create;	/* borrowed from the arguments */
	size_t		 next;		/* the next creation */
	const char	*key;		/* the current one's creation id */
	const struct json *obj;
	struct json	*created, *not_created;
	void		(*done)(struct jmap_call *);
	struct ec_blob	 blobs[EC_BLOBS_MAX];
	size_t		 nblobs, fetched;
	struct json	*missing;	/* blobIds not found */
	/* What the current one is stored with. */
	uint64_t	 mboxes[64];
	size_t		 nmbox;
	uint32_t	 flags;
	struct buf	 keywords;
	uint64_t	 received;
};

static void	ec_next(struct jmap_call *c);

static void
ec_blobs_clear(struct ec *x)
{
	size_t i;

	for (i = 0; i < x->nblobs; i++) {
		free(x->blobs[i].id);
		if (x->blobs[i].fd != -1)
			close(x->blobs[i].fd);
	}
	x->nblobs = 0;
	x->fetched = 0;
	json_free(&x->missing);
}

void
em_create_free(struct ec **xp)
{
	struct ec *x = *xp;

	*xp = NULL;
	if (x == NULL)
		return;
	ec_blobs_clear(x);
	json_free(&x->created);
	json_free(&x->not_created);
	buf_clear(&x->keywords);
	free(x);
}

/* A SetError for the current creation. */
static void
ec_fail(struct ec *x, const char *type, const char *prop, const char *desc)
{
	struct json *e = jmap_set_error(type, prop, desc);

	if (x->missing != NULL) {
		json_object_set(e, "notFound", x->missing);
		x->missing = NULL;
	}
	json_object_set(x->not_created, x->key, e);
}

/* --- Values --- */

/* A JMAP Date ("2024-01-02T03:04:05+01:00" or "...Z") as RFC 5322 has it. */
static bool
ec_date(const char *s, char *out, size_t size, int64_t *t_r)
{
	static const char *const wd[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char *const mon[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec"
	};
	int y, mo, d, h, mi, se, oh = 0, om = 0, n = 0, sign = 1;
	const char *z;
	struct tm tm;
	time_t t;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d,
	    &h, &mi, &se, &n) != 6 || n != 19)
		return false;
	z = s + 19;
	if (*z == '.')
		for (z++; *z >= '0' && *z <= '9'; z++)
			;
	if (strcmp(z, "Z") != 0) {
		if ((z[0] != '+' && z[0] != '-') || sscanf(z + 1, "%2d:%2d%n",
		    &oh, &om, &n) != 2 || n != 5 || z[6] != '\0' || oh > 23 ||
		    om > 59)
			return false;
		sign = z[0] == '-' ? -1 : 1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60 || y < 1900)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	/* The weekday of the local date written. */
	gmtime_r(&t, &tm);
	snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d %c%02d%02d",
	    wd[tm.tm_wday], d, mon[mo - 1], y, h, mi, se, sign < 0 ? '-' : '+',
	    oh, om);
	if (t_r != NULL)
		*t_r = (int64_t)t - sign * (oh * 3600 + om * 60);
	return true;
}

/* An EmailAddress[] as a header value; false if it is not one. */
static bool
ec_addresses(const struct json *v, struct buf *out)
{
	const struct json *a, *name, *email;
	size_t i;

	if (json_type(v) != JSON_ARRAY)
		return false;
	for (i = 0; i < json_len(v); i++) {
		a = json_at(v, i);
		name = json_get(a, "name");
		email = json_get(a, "email");
		if (json_type(a) != JSON_OBJECT || email == NULL ||
		    json_type(email) != JSON_STRING ||
		    (name != NULL && json_type(name) != JSON_NULL &&
		    json_type(name) != JSON_STRING) ||
		    strpbrk(json_str(email, NULL), " <>\",\r\n") != NULL)
			return false;
		if (i > 0)
			buf_append(out, ", ", 2);
		mime_write_mailbox(out, name != NULL ? json_str(name, NULL) :
		    NULL, json_str(email, NULL));
	}
	buf_append(out, "", 1);
	return true;
}

/* A String[] of message ids as "<a> <b>"; false if it is not one. */
static bool
ec_msgids(const struct json *v, struct buf *out)
{
	const char *s;
	size_t i;

	if (json_type(v) != JSON_ARRAY || json_len(v) == 0)
		return false;
	for (i = 0; i < json_len(v); i++) {
		if ((s = json_str(json_at(v, i), NULL)) == NULL ||
		    s[0] == '\0' || strpbrk(s, " <>\r\n\t") != NULL ||
		    strchr(s, '@') == NULL)
			return false;
		buf_printf(out, "%s<%s>", i > 0 ? " " : "", s);
	}
	buf_append(out, "", 1);
	return true;
}

/* Whether the object sets header field `name` (any case) twice or more. */
static bool
ec_header_given(const struct json *obj, const char *name, const char *prop)
{
	const char *key;
	size_t i, n = strlen(name);

	if (prop != NULL && json_get(obj, prop) != NULL)
		return true;
	for (i = 0; i < json_len(obj); i++) {
		(void)json_member(obj, i, &key);
		if (strncmp(key, "header:", 7) == 0 &&
		    strncasecmp(key + 7, name, n) == 0 &&
		    (key[7 + n] == '\0' || key[7 + n] == ':'))
			return true;
	}
	return false;
}

/*
 * Writes the header:{name}[:form] property key = v to out; returns the
 * property on error.
 */
static const char *
ec_header_prop(const char *key, const struct json *v, bool part,
    struct buf *out)
{
	char name[256], form[32] = "asRaw";
	const char *p = key + 7, *colon;
	struct buf b = BUF_INIT;
	char date[64];
	size_t n;

	colon = strchr(p, ':');
	n = colon != NULL ? (size_t)(colon - p) : strlen(p);
	if (n == 0 || n >= sizeof(name))
		return key;
	memcpy(name, p, n);
	name[n] = '\0';
	if (colon != NULL) {
		if (strcmp(colon + 1, "all") == 0 || strlen(colon + 1) >=
		    sizeof(form) || strchr(colon + 1, ':') != NULL)
			/* :all is one value per field: not for creating. */
			return key;
		snprintf(form, sizeof(form), "%s", colon + 1);
	}
	if (strspn(name, "!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`"
	    "abcdefghijklmnopqrstuvwxyz|~") != n)
		return key;
	/* 4.6: Content-* fields only on body parts; no transfer encoding. */
	if ((!part && strncasecmp(name, "Content-", 8) == 0) ||
	    strcasecmp(name, "Content-Transfer-Encoding") == 0 ||
	    strcasecmp(name, "Content-Type") == 0 ||
	    strcasecmp(name, "MIME-Version") == 0)
		return key;
	if (strcmp(form, "asRaw") == 0 || strcmp(form, "asText") == 0) {
		if (json_type(v) != JSON_STRING)
			return key;
		if (form[2] == 'R')
			mime_write_raw_field(out, name, json_str(v, NULL));
		else
			mime_write_text_field(out, name, json_str(v, NULL));
		return NULL;
	}
	if (strcmp(form, "asAddresses") == 0) {
		if (!ec_addresses(v, &b))
			goto bad;
	} else if (strcmp(form, "asMessageIds") == 0) {
		if (!ec_msgids(v, &b))
			goto bad;
	} else if (strcmp(form, "asDate") == 0) {
		if (!ec_date(json_str(v, NULL), date, sizeof(date), NULL))
			goto bad;
		buf_printf(&b, "%s", date);
		buf_append(&b, "", 1);
	} else
		goto bad;
	mime_write_raw_field(out, name, (const char *)b.data);
	buf_clear(&b);
	return NULL;
bad:
	buf_clear(&b);
	return key;
}

/* --- The header of the message --- */

static const struct {
	const char	*prop;
	const char	*field;
	int		 kind;		/* 0 addresses, 1 text, 2 ids, 3 date */
} ec_fields[] = {
	{ "from",	"From",		0 },
	{ "sender",	"Sender",	0 },
	{ "replyTo",	"Reply-To",	0 },
	{ "to",		"To",		0 },
	{ "cc",		"Cc",		0 },
	{ "bcc",	"Bcc",		0 },
	{ "subject",	"Subject",	1 },
	{ "messageId",	"Message-ID",	2 },
	{ "inReplyTo",	"In-Reply-To",	2 },
	{ "references",	"References",	2 },
	{ "sentAt",	"Date",		3 },
};

/* Properties of the Email (not header fields) that creation takes. */
static const char *const ec_other[] = {
	"mailboxIds", "keywords", "receivedAt", "bodyStructure", "textBody",
	"htmlBody", "attachments", "bodyValues", NULL
};

static const char *
ec_header(const struct jmap_env *env, const struct json *obj,
    struct buf *out)
{
	const struct json *v;
	const char *key, *bad;
	struct buf b = BUF_INIT;
	char date[64], id[96];
	uint8_t r[12];
	size_t i, k;

	for (i = 0; i < json_len(obj); i++) {
		v = json_member(obj, i, &key);
		for (k = 0; k < sizeof(ec_fields) / sizeof(ec_fields[0]); k++)
			if (strcmp(key, ec_fields[k].prop) == 0)
				break;
		if (k < sizeof(ec_fields) / sizeof(ec_fields[0])) {
			if (json_type(v) == JSON_NULL)
				continue;
			/* 4.6: one property per header field. */
			if (ec_header_given(obj, ec_fields[k].field, NULL))
				return key;
			buf_reset(&b);
			switch (ec_fields[k].kind) {
			case 0:
				if (!ec_addresses(v, &b))
					goto bad;
				break;
			case 1:
				if (json_type(v) != JSON_STRING)
					goto bad;
				mime_write_text_field(out, ec_fields[k].field,
				    json_str(v, NULL));
				continue;
			case 2:
				if (!ec_msgids(v, &b))
					goto bad;
				break;
			default:
				if (!ec_date(json_str(v, NULL), date,
				    sizeof(date), NULL))
					goto bad;
				buf_printf(&b, "%s", date);
				buf_append(&b, "", 1);
				break;
			}
			mime_write_raw_field(out, ec_fields[k].field,
			    (const char *)b.data);
			continue;
		}
		if (strncmp(key, "header:", 7) == 0) {
			if ((bad = ec_header_prop(key, v, false, out)) !=
			    NULL) {
				buf_clear(&b);
				return bad;
			}
			continue;
		}
		for (k = 0; ec_other[k] != NULL; k++)
			if (strcmp(key, ec_other[k]) == 0)
				break;
		if (ec_other[k] == NULL) {
			/* headers, id, size, preview, ...: not settable. */
			buf_clear(&b);
			return key;
		}
	}
	buf_clear(&b);
	/* 4.6: the server makes Date and Message-ID when not given. */
	if (!ec_header_given(obj, "Date", "sentAt")) {
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
		    &tm);
		mime_write_raw_field(out, "Date", date);
	}
	if (!ec_header_given(obj, "Message-ID", "messageId")) {
		randombytes_buf(r, sizeof(r));
		id[0] = '<';
		for (i = 0; i < sizeof(r); i++)
			snprintf(id + 1 + 2 * i, 3, "%02x", r[i]);
		snprintf(id + 1 + 2 * sizeof(r), sizeof(id) - 1 - 2 * sizeof(r),
		    "@%.60s>", env->hostname != NULL && env->hostname[0] !=
		    '\0' ? env->hostname : "localhost");
		mime_write_raw_field(out, "Message-ID", id);
	}
	mime_write_raw_field(out, "MIME-Version", "1.0");
	return NULL;
bad:
	buf_clear(&b);
	return key;
}

/* --- The body --- */

static struct ec_blob *
ec_blob_find(struct ec *x, const char *id)
{
	size_t i;

	for (i = 0; i < x->nblobs; i++)
		if (strcmp(x->blobs[i].id, id) == 0)
			return &x->blobs[i];
	return NULL;
}

/* Collects the blobIds of part and its subparts; the property if bad. */
static const char *
ec_collect(struct ec *x, const struct json *part, int depth,
    const char *prop)
{
	const struct json *v, *subs;
	size_t i;
	const char *bad;

	if (json_type(part) != JSON_OBJECT || depth > EC_DEPTH_MAX)
		return prop;
	if ((subs = json_get(part, "subParts")) != NULL &&
	    json_type(subs) != JSON_NULL) {
		if (json_type(subs) != JSON_ARRAY || json_len(subs) == 0)
			return prop;
		for (i = 0; i < json_len(subs); i++)
			if ((bad = ec_collect(x, json_at(subs, i), depth + 1,
			    prop)) != NULL)
				return bad;
		return NULL;
	}
	if ((v = json_get(part, "blobId")) == NULL ||
	    json_type(v) == JSON_NULL)
		return NULL;
	if (json_type(v) != JSON_STRING || json_get(part, "partId") != NULL)
		return prop;
	if (ec_blob_find(x, json_str(v, NULL)) != NULL)
		return NULL;
	if (x->nblobs == EC_BLOBS_MAX)
		return prop;
	x->blobs[x->nblobs].id = xstrdup(json_str(v, NULL));
	x->blobs[x->nblobs].fd = -1;
	x->nblobs++;
	return NULL;
}

static const char *
ec_str(const struct json *part, const char *name)
{
	const struct json *v = json_get(part, name);

	return v != NULL && json_type(v) == JSON_STRING ? json_str(v, NULL) :
	    NULL;
}

/* The headers of a part other than Content-Type and its encoding. */
static const char *
ec_part_fields(const struct json *part, struct buf *out, const char *prop)
{
	const struct json *v, *lang;
	const char *disp = ec_str(part, "disposition"), *name, *key, *cid;
	size_t i;

	name = ec_str(part, "name");
	if (disp != NULL || (name != NULL && json_get(part, "subParts") ==
	    NULL)) {
		if (disp != NULL && strspn(disp, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != strlen(disp))
			return prop;
		buf_printf(out, "Content-Disposition: %s",
		    disp != NULL ? disp : "attachment");
		if (name != NULL)
			mime_write_param(out, "filename", name);
		buf_append(out, "\r\n", 2);
	}
	if ((cid = ec_str(part, "cid")) != NULL) {
		if (strpbrk(cid, " <>\r\n\t") != NULL)
			return prop;
		buf_printf(out, "Content-ID: <%s>\r\n", cid);
	}
	if ((lang = json_get(part, "language")) != NULL &&
	    json_type(lang) == JSON_ARRAY && json_len(lang) > 0) {
		buf_append(out, "Content-Language: ", 18);
		for (i = 0; i < json_len(lang); i++) {
			const char *l = json_str(json_at(lang, i), NULL);

			if (l == NULL || strspn(l, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") !=
			    strlen(l))
				return prop;
			buf_printf(out, "%s%s", i > 0 ? ", " : "", l);
		}
		buf_append(out, "\r\n", 2);
	}
	if (ec_str(part, "location") != NULL)
		mime_write_raw_field(out, "Content-Location",
		    ec_str(part, "location"));
	for (i = 0; i < json_len(part); i++) {
		v = json_member(part, i, &key);
		if (strncmp(key, "header:", 7) == 0 &&
		    ec_header_prop(key, v, true, out) != NULL)
			return prop;
	}
	return NULL;
}

static const char *ec_write_part(struct ec *x, const struct json *part,
    const struct json *values, int depth, struct buf *out,
    const char *prop);

static const char *
ec_write_multipart(struct ec *x, const struct json *part, const char *type,
    const struct json *values, int depth, struct buf *out, const char *prop)
{
	const struct json *subs = json_get(part, "subParts");
	char boundary[64];
	const char *bad;
	size_t i;

	mime_write_boundary(boundary, sizeof(boundary));
	buf_printf(out, "Content-Type: %s", type);
	mime_write_param(out, "boundary", boundary);
	buf_append(out, "\r\n", 2);
	if ((bad = ec_part_fields(part, out, prop)) != NULL)
		return bad;
	buf_append(out, "\r\n", 2);
	for (i = 0; i < json_len(subs); i++) {
		buf_printf(out, "--%s\r\n", boundary);
		if ((bad = ec_write_part(x, json_at(subs, i), values,
		    depth + 1, out, prop)) != NULL)
			return bad;
		buf_append(out, "\r\n", 2);
	}
	buf_printf(out, "--%s--\r\n", boundary);
	return NULL;
}

/* The bytes of a part: bodyValues[partId], or the blob's. */
static const char *
ec_part_bytes(struct ec *x, const struct json *part,
    const struct json *values, const char *prop, const uint8_t **p,
    size_t *len, void **map)
{
	const struct json *v, *val;
	struct ec_blob *b;
	const char *pid;
	bool flag;

	*map = NULL;
	if ((pid = ec_str(part, "partId")) != NULL) {
		/* 4.6: no charset or size with a partId. */
		if (json_get(part, "charset") != NULL ||
		    json_get(part, "size") != NULL || values == NULL ||
		    (v = json_get(values, pid)) == NULL ||
		    json_type(v) != JSON_OBJECT ||
		    (val = json_get(v, "value")) == NULL ||
		    json_type(val) != JSON_STRING)
			return prop;
		if (((val = json_get(v, "isEncodingProblem")) != NULL &&
		    (json_bool(val, &flag) == -1 || flag)) ||
		    ((val = json_get(v, "isTruncated")) != NULL &&
		    (json_bool(val, &flag) == -1 || flag)))
			return prop;
		*p = (const uint8_t *)json_str(json_get(v, "value"), len);
		return NULL;
	}
	if (ec_str(part, "blobId") == NULL) {
		*p = (const uint8_t *)"";
		*len = 0;
		return NULL;
	}
	if ((b = ec_blob_find(x, ec_str(part, "blobId"))) == NULL ||
	    b->fd == -1)
		return prop;
	*len = (size_t)b->size;
	if (b->size == 0) {
		*p = (const uint8_t *)"";
		return NULL;
	}
	*map = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, b->fd, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return prop;
	}
	*p = *map;
	return NULL;
}

static const char *
ec_write_part(struct ec *x, const struct json *part,
    const struct json *values, int depth, struct buf *out, const char *prop)
{
	const char *type = ec_str(part, "type"), *charset, *bad;
	const uint8_t *p;
	size_t len;
	void *map;
	bool text, msg;

	if (json_type(part) != JSON_OBJECT || depth > EC_DEPTH_MAX)
		return prop;
	if (json_get(part, "subParts") != NULL &&
	    json_type(json_get(part, "subParts")) == JSON_ARRAY)
		return ec_write_multipart(x, part, type != NULL ? type :
		    "multipart/mixed", values, depth, out, prop);
	if (type == NULL)
		type = ec_str(part, "partId") != NULL ? "text/plain" :
		    "application/octet-stream";
	if (strchr(type, '/') == NULL || strspn(type,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    "!#$&^_.+-/") != strlen(type) || strncasecmp(type, "multipart/",
	    10) == 0)
		return prop;
	if (json_get(part, "headers") != NULL)
		return prop;
	if ((bad = ec_part_bytes(x, part, values, prop, &p, &len, &map)) !=
	    NULL)
		return bad;
	text = strncasecmp(type, "text/", 5) == 0;
	msg = strncasecmp(type, "message/", 8) == 0;
	buf_printf(out, "Content-Type: %s", type);
	charset = ec_str(part, "partId") != NULL ? "utf-8" :
	    ec_str(part, "charset");
	if (text && charset != NULL)
		mime_write_param(out, "charset", charset);
	if (ec_str(part, "name") != NULL)
		mime_write_param(out, "name", ec_str(part, "name"));
	buf_append(out, "\r\n", 2);
	if ((bad = ec_part_fields(part, out, prop)) != NULL) {
		if (map != NULL)
			munmap(map, len);
		return bad;
	}
	/* RFC 2046 5.2.1: message types only in 7bit, 8bit or binary. */
	if (mime_is_7bit(p, len)) {
		buf_append(out, "Content-Transfer-Encoding: 7bit\r\n\r\n", 35);
		buf_append(out, p, len);
	} else if (msg) {
		buf_append(out, "Content-Transfer-Encoding: 8bit\r\n\r\n", 35);
		buf_append(out, p, len);
	} else if (text && ec_str(part, "partId") != NULL) {
		buf_append(out, "Content-Transfer-Encoding: "
		    "quoted-printable\r\n\r\n", 47);
		mime_write_qp(out, p, len);
	} else {
		buf_append(out, "Content-Transfer-Encoding: base64\r\n\r\n",
		    37);
		mime_write_base64(out, p, len);
	}
	if (len > 0 && p[len - 1] != '\n')
		buf_append(out, "\r\n", 2);
	if (map != NULL)
		munmap(map, len);
	return NULL;
}

/*
 * The body structure 4.1.4 reads back as textBody, htmlBody and
 * attachments (a new tree borrowing nothing); the property if bad.
 */
static const char *
ec_shape(const struct json *obj, struct json **root)
{
	const struct json *tb = json_get(obj, "textBody");
	const struct json *hb = json_get(obj, "htmlBody");
	const struct json *at = json_get(obj, "attachments");
	struct json *body = NULL, *alt, *rel = NULL, *mixed = NULL, *sub;
	const struct json *a;
	const char *t, *d;
	size_t i;

	if ((tb != NULL && (json_type(tb) != JSON_ARRAY ||
	    json_len(tb) != 1)) || (tb != NULL && (t = ec_str(json_at(tb, 0),
	    "type")) != NULL && strcasecmp(t, "text/plain") != 0))
		return "textBody";
	if ((hb != NULL && (json_type(hb) != JSON_ARRAY ||
	    json_len(hb) != 1)) || (hb != NULL && (t = ec_str(json_at(hb, 0),
	    "type")) != NULL && strcasecmp(t, "text/html") != 0))
		return "htmlBody";
	if (at != NULL && json_type(at) != JSON_ARRAY)
		return "attachments";
	if (tb != NULL && hb != NULL) {
		body = json_new_object();
		json_object_set(body, "type",
		    json_new_strz("multipart/alternative"));
		alt = json_new_array();
		sub = json_dup(json_at(tb, 0));
		if (json_get(sub, "type") == NULL)
			json_object_set(sub, "type",
			    json_new_strz("text/plain"));
		json_array_add(alt, sub);
		sub = json_dup(json_at(hb, 0));
		if (json_get(sub, "type") == NULL)
			json_object_set(sub, "type",
			    json_new_strz("text/html"));
		json_array_add(alt, sub);
		json_object_set(body, "subParts", alt);
	} else if (tb != NULL || hb != NULL) {
		body = json_dup(json_at(tb != NULL ? tb : hb, 0));
		if (json_get(body, "type") == NULL)
			json_object_set(body, "type", json_new_strz(
			    tb != NULL ? "text/plain" : "text/html"));
	} else {
		body = json_new_object();
		json_object_set(body, "type", json_new_strz("text/plain"));
	}
	for (i = 0; at != NULL && i < json_len(at); i++) {
		a = json_at(at, i);
		if (json_type(a) != JSON_OBJECT) {
			json_free(&body);
			json_free(&rel);
			json_free(&mixed);
			return "attachments";
		}
		d = ec_str(a, "disposition");
		/* Inline parts a HTML body refers to go beside it. */
		if (hb != NULL && ec_str(a, "cid") != NULL && d != NULL &&
		    strcasecmp(d, "inline") == 0) {
			if (rel == NULL) {
				rel = json_new_array();
				json_array_add(rel, body);
				body = NULL;
			}
			json_array_add(rel, json_dup(a));
			continue;
		}
		if (mixed == NULL)
			mixed = json_new_array();
		sub = json_dup(a);
		if (json_get(sub, "disposition") == NULL)
			json_object_set(sub, "disposition",
			    json_new_strz("attachment"));
		json_array_add(mixed, sub);
	}
	if (rel != NULL) {
		body = json_new_object();
		json_object_set(body, "type",
		    json_new_strz("multipart/related"));
		json_object_set(body, "subParts", rel);
	}
	if (mixed != NULL) {
		struct json *m = json_new_object(), *subs = json_new_array();

		json_array_add(subs, body);
		for (i = 0; i < json_len(mixed); i++)
			json_array_add(subs, json_dup(json_at(mixed, i)));
		json_free(&mixed);
		json_object_set(m, "type", json_new_strz("multipart/mixed"));
		json_object_set(m, "subParts", subs);
		body = m;
	}
	*root = body;
	return NULL;
}

/* --- One creation --- */

static void
ec_appended(struct jmap_call *c, void *arg, const char *set_error,
    const char *desc, uint64_t email_id, uint64_t thread_id, uint64_t size)
{
	struct ec *x = arg;
	struct json *o;
	char id[OBJID_MAX];

	if (c->response != NULL)
		return;
	/* A creation names mailboxes: one that is not there is a bad one. */
	if (set_error != NULL && strcmp(set_error, "notFound") == 0)
		ec_fail(x, "invalidProperties", "mailboxIds", desc);
	else if (set_error != NULL)
		ec_fail(x, set_error, NULL, desc);
	else {
		o = json_new_object();
		json_object_set(o, "id", em_id(OBJID_EMAIL, email_id));
		objid_format(id, 'E', email_id);
		json_object_set(o, "blobId", json_new_strz(id));
		json_object_set(o, "threadId", em_id(OBJID_THREAD, thread_id));
		json_object_set(o, "size", json_new_int((int64_t)size));
		json_object_set(x->created, x->key, o);
		objid_format(id, OBJID_EMAIL, email_id);
		jmap_created_id(c, x->key, id);
	}
	ec_blobs_clear(x);
	ec_next(c);
}

/* Writes the message of the current creation and stores it. */
static void
ec_write(struct jmap_call *c, struct ec *x)
{
	const struct json *bs = json_get(x->obj, "bodyStructure");
	const struct json *values = json_get(x->obj, "bodyValues");
	struct json *shaped = NULL;
	struct buf msg = BUF_INIT;
	const char *bad;
	size_t off = 0;
	ssize_t n;
	int fd;

	if (x->missing != NULL && json_len(x->missing) > 0) {
		ec_fail(x, "blobNotFound", NULL, "Some blobIds do not exist");
		ec_blobs_clear(x);
		ec_next(c);
		return;
	}
	if ((bad = ec_header(c->env, x->obj, &msg)) == NULL) {
		if (bs != NULL && json_type(bs) != JSON_NULL)
			bad = ec_write_part(x, bs, values, 0, &msg,
			    "bodyStructure");
		else if ((bad = ec_shape(x->obj, &shaped)) == NULL)
			bad = ec_write_part(x, shaped, values, 0, &msg,
			    "bodyValues");
	}
	json_free(&shaped);
	if (bad == NULL && msg.len > EC_SIZE_MAX) {
		ec_fail(x, "tooLarge", NULL, "The message would be too large");
		bad = "";
	} else if (bad != NULL)
		ec_fail(x, "invalidProperties", bad, NULL);
	if (bad != NULL) {
		buf_clear(&msg);
		ec_blobs_clear(x);
		ec_next(c);
		return;
	}
	if ((fd = memfd_create("jmap-create", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		buf_clear(&msg);
		jmap_call_error(c, "serverFail", "No memory for the message");
		return;
	}
	while (off < msg.len) {
		if ((n = write(fd, msg.data + off, msg.len - off)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			close(fd);
			buf_clear(&msg);
			jmap_call_error(c, "serverFail", "No memory for the "
			    "message");
			return;
		}
		off += (size_t)n;
	}
	ec_blobs_clear(x);
	em_append(c, fd, msg.len, x->mboxes, x->nmbox, x->flags,
	    (const char *)x->keywords.data, x->received, ec_appended, x);
	buf_clear(&msg);
}

static void	ec_fetch(struct jmap_call *c, struct ec *x);

static void
ec_blob_cb(struct jmap_call *c, enum ipc_status st, const char *text,
    const void *rep)
{
	const struct ipc_BLOB_FILE_rep *r = rep;
	struct ec *x = em_set_creating(c);
	struct ec_blob *b = &x->blobs[x->fetched];

	if (st == IPC_S_UNAVAIL) {
		em_store_error(c, st, text);
		return;
	}
	if (st == IPC_S_OK)
		b->size = r->size;
	else {
		close(b->fd);
		b->fd = -1;
		if (x->missing == NULL)
			x->missing = json_new_array();
		json_array_add(x->missing, json_new_strz(b->id));
	}
	x->fetched++;
	ec_fetch(c, x);
}

/* Reads the next blob of the current creation, or writes it. */
static void
ec_fetch(struct jmap_call *c, struct ec *x)
{
	struct ipc_BLOB_FILE_req m;
	struct ec_blob *b;
	uint8_t hash[32];
	unsigned int v;
	size_t i;
	int fd;

	while (x->fetched < x->nblobs) {
		b = &x->blobs[x->fetched];
		memset(&m, 0, sizeof(m));
		if (b->id[0] == 'G' && strlen(b->id) == 65 &&
		    strspn(b->id + 1, "0123456789abcdef") == 64) {
			for (i = 0; i < 32; i++) {
				(void)sscanf(b->id + 1 + 2 * i, "%2x", &v);
				hash[i] = (uint8_t)v;
			}
			m.kind = 0;
			m.hash.p = hash;
			m.hash.len = 32;
		} else if ((m.email_id = jmap_id_parse(b->id, 'E')) != 0)
			m.kind = 1;
		else {
			if (x->missing == NULL)
				x->missing = json_new_array();
			json_array_add(x->missing, json_new_strz(b->id));
			x->fetched++;
			continue;
		}
		if ((fd = memfd_create("jmap-part", MFD_CLOEXEC)) == -1 ||
		    (b->fd = dup(fd)) == -1) {
			if (fd != -1)
				close(fd);
			jmap_call_error(c, "serverFail", "No memory for a "
			    "blob");
			return;
		}
		(void)jmap_store_request_fd(c, IPC_T_BLOB_FILE, &m, fd,
		    ec_blob_cb);
		return;
	}
	ec_write(c, x);
}

/*
 * Checks what the current creation is stored with (mailboxIds, keywords,
 * receivedAt) and collects its blobs; false (recorded) if it is refused.
 */
static bool
ec_prepare(struct ec *x)
{
	const struct json *v, *parts;
	const char *key, *bad = NULL;
	char kw[256];
	int64_t t;
	char date[64];
	size_t i, k;
	uint32_t f;
	uint64_t id;

	x->nmbox = 0;
	x->flags = 0;
	buf_reset(&x->keywords);
	x->received = (uint64_t)time(NULL);
	if (json_type(x->obj) != JSON_OBJECT) {
		ec_fail(x, "invalidProperties", NULL, "Not an Email object");
		return false;
	}
	v = json_get(x->obj, "mailboxIds");
	if (v == NULL || json_type(v) != JSON_OBJECT || json_len(v) == 0) {
		ec_fail(x, "invalidProperties", "mailboxIds", "An email must "
		    "be in a mailbox");
		return false;
	}
	if (json_len(v) > sizeof(x->mboxes) / sizeof(x->mboxes[0])) {
		ec_fail(x, "tooManyMailboxes", "mailboxIds", NULL);
		return false;
	}
	for (i = 0; i < json_len(v); i++) {
		const struct json *t2 = json_member(v, i, &key);
		bool on;

		if ((id = jmap_id_parse(jmap_id_ref(x->call, key),
		    OBJID_MAILBOX)) == 0 ||
		    json_bool(t2, &on) == -1 || !on) {
			ec_fail(x, "invalidProperties", "mailboxIds", NULL);
			return false;
		}
		x->mboxes[x->nmbox++] = id;
	}
	if ((v = json_get(x->obj, "keywords")) != NULL &&
	    json_type(v) != JSON_NULL) {
		if (json_type(v) != JSON_OBJECT) {
			ec_fail(x, "invalidProperties", "keywords", NULL);
			return false;
		}
		for (i = 0; i < json_len(v); i++) {
			const struct json *t2 = json_member(v, i, &key);
			bool on;

			snprintf(kw, sizeof(kw), "%s", key);
			if (strlen(key) >= sizeof(kw) || !em_keyword_norm(kw) ||
			    json_bool(t2, &on) == -1 || !on) {
				ec_fail(x, "invalidProperties", "keywords",
				    NULL);
				return false;
			}
			if ((f = em_kw_flag(kw)) != 0) {
				x->flags |= f;
				continue;
			}
			if (x->keywords.len > 0)
				buf_append(&x->keywords, " ", 1);
			buf_append(&x->keywords, kw, strlen(kw));
		}
	}
	buf_append(&x->keywords, "", 1);
	if ((v = json_get(x->obj, "receivedAt")) != NULL &&
	    json_type(v) != JSON_NULL) {
		if (!ec_date(json_str(v, NULL), date, sizeof(date), &t) ||
		    t < 0) {
			ec_fail(x, "invalidProperties", "receivedAt", NULL);
			return false;
		}
		x->received = (uint64_t)t;
	}
	if ((v = json_get(x->obj, "bodyStructure")) != NULL &&
	    json_type(v) != JSON_NULL) {
		for (k = 0; k < 3; k++) {
			static const char *const no[] = {
				"textBody", "htmlBody", "attachments"
			};

			if (json_get(x->obj, no[k]) != NULL) {
				ec_fail(x, "invalidProperties", no[k], "Not "
				    "with bodyStructure");
				return false;
			}
		}
		bad = ec_collect(x, v, 0, "bodyStructure");
	} else {
		static const char *const lists[] = {
			"textBody", "htmlBody", "attachments"
		};

		for (k = 0; k < 3 && bad == NULL; k++) {
			parts = json_get(x->obj, lists[k]);
			for (i = 0; parts != NULL && json_type(parts) ==
			    JSON_ARRAY && i < json_len(parts) && bad == NULL;
			    i++)
				bad = ec_collect(x, json_at(parts, i), 0,
				    lists[k]);
		}
	}
	if (bad != NULL) {
		ec_blobs_clear(x);
		ec_fail(x, "invalidProperties", bad, NULL);
		return false;
	}
	return true;
}

static void
ec_next(struct jmap_call *c)
{
	struct ec *x = em_set_creating(c);

	while (x->next < json_len(x->create)) {
		x->obj = json_member(x->create, x->next++, &x->key);
		if (!ec_prepare(x))
			continue;
		ec_fetch(c, x);
		return;
	}
	x->done(c);
}

void
em_create_start(struct jmap_call *c, struct ec **xp,
    const struct json *create, void (*done)(struct jmap_call *))
{
	struct ec *x = xcalloc(1, sizeof(*x));

	x->call = c;
	x->create = create;
	x->created = json_new_object();
	x->not_created = json_new_object();
	x->done = done;
	*xp = x;
	ec_next(c);
}

struct json *
em_create_created(struct ec *x)
{
	struct json *v = x->created;

	x->created = NULL;
	return v;
}

struct json *
em_create_not_created(struct ec *x)
{
	struct json *v = x->not_created;

	x->not_created = NULL;
	return v;
}
