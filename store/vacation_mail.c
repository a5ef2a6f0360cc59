/* SPDX-License-Identifier: ISC */
/*
 * vacation_mail.c: the parts of the VacationResponse (vacation.h) that
 * touch no database: its record's bytes, RFC 3834's judgement of one
 * delivered message, and the reply's message (RFC 5322, MIME through
 * mime_write.h).  Everything here reads what a stranger sent or what
 * the disk holds, so fuzz_vacation runs all of it.
 */
#include "vacation.h"
#include "charset.h"
#include "compat.h"
#include "mime.h"
#include "mime_write.h"
#include "wire.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#define VACATION_VERSION	1

void
vacation_clear(struct vacation *v)
{
	free(v->subject);
	free(v->text);
	free(v->html);
	memset(v, 0, sizeof(*v));
}

/* --- The record --- */

void
vacation_encode(struct buf *b, const struct vacation *v)
{
	uint8_t has = (v->subject != NULL ? VACATION_HAS_SUBJECT : 0) |
	    (v->text != NULL ? VACATION_HAS_TEXT : 0) |
	    (v->html != NULL ? VACATION_HAS_HTML : 0);

	wire_put_U8(b, VACATION_VERSION);
	wire_put_BOOL(b, v->enabled);
	wire_put_U64(b, v->from);
	wire_put_U64(b, v->to);
	wire_put_U8(b, has);
	wire_put_STR(b, v->subject != NULL ? v->subject : "");
	wire_put_STR(b, v->text != NULL ? v->text : "");
	wire_put_STR(b, v->html != NULL ? v->html : "");
}

int
vacation_decode(const void *p, size_t len, struct vacation *v)
{
	struct wire_reader r;
	const char *s[3];
	uint8_t ver = 0, has = 0;

	memset(v, 0, sizeof(*v));
	wire_reader_init(&r, p, len);
	wire_get_U8(&r, &ver);
	wire_get_BOOL(&r, &v->enabled);
	wire_get_U64(&r, &v->from);
	wire_get_U64(&r, &v->to);
	wire_get_U8(&r, &has);
	wire_get_STR(&r, &s[0]);
	wire_get_STR(&r, &s[1]);
	wire_get_STR(&r, &s[2]);
	if (wire_reader_finish(&r) == -1 || ver != VACATION_VERSION)
		return -1;
	v->subject = (has & VACATION_HAS_SUBJECT) ? xstrdup(s[0]) : NULL;
	v->text = (has & VACATION_HAS_TEXT) ? xstrdup(s[1]) : NULL;
	v->html = (has & VACATION_HAS_HTML) ? xstrdup(s[2]) : NULL;
	return 0;
}

/* --- RFC 3834's judgement --- */

/* addr's local part and domain, without a +detail (RFC 5233). */
void
vacation_addr_norm(const char *addr, char *out, size_t size)
{
	const char *at = strrchr(addr, '@'), *plus = strchr(addr, '+');

	if (at == NULL || plus == NULL || plus > at)
		strlcpy(out, addr, size);
	else
		snprintf(out, size, "%.*s%s", (int)(plus - addr), addr, at);
	for (; *out != '\0'; out++)
		if (*out >= 'A' && *out <= 'Z')
			*out = (char)(*out - 'A' + 'a');
}

/* Whether the local part of addr is one of RFC 3834 2's robots. */
static bool
vacation_robot(const char *addr)
{
	static const char *const exact[] = { "mailer-daemon", "postmaster",
	    "listserv", "majordomo", "noreply", "no-reply", "do-not-reply",
	    "donotreply" };
	const char *at = strrchr(addr, '@');
	size_t n = at != NULL ? (size_t)(at - addr) : strlen(addr), i;

	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (n == strlen(exact[i]) && strncasecmp(addr, exact[i],
		    n) == 0)
			return true;
	if (n > 6 && strncasecmp(addr, "owner-", 6) == 0)
		return true;
	if (n > 8 && strncasecmp(addr + n - 8, "-request", 8) == 0)
		return true;
	return n > 6 && strncasecmp(addr + n - 6, "-owner", 6) == 0;
}

/* Whether a field's value, unfolded and trimmed, is one of words. */
static bool
vacation_field_is(const uint8_t *hdr, size_t len, const char *name,
    const char *const *words, size_t nwords, bool absent_ok)
{
	struct buf t = BUF_INIT;
	const char *v;
	size_t vlen, i;
	bool is = false;

	if (!mime_header_find(hdr, len, name, 0, &v, &vlen))
		return absent_ok;
	mime_header_text(v, vlen, &t);
	buf_append(&t, "", 1);
	for (i = 0; i < nwords; i++)
		if (strcasecmp((char *)t.data, words[i]) == 0)
			is = true;
	buf_clear(&t);
	return is;
}

/* Whether rcpt or own (normalized) is among the addresses of field. */
static bool
vacation_addressed(const uint8_t *hdr, size_t len, const char *field,
    const char *rcpt, const char *own)
{
	struct mime_address *a;
	const char *pos = (const char *)hdr, *end = pos + len, *v;
	char norm[512];
	size_t vlen, n, i;
	bool yes = false;

	while (!yes && mime_header_next(&pos, end, field, &v, &vlen)) {
		a = mime_header_addresses(v, vlen, &n);
		for (i = 0; i < n && !yes; i++) {
			vacation_addr_norm(a[i].email, norm, sizeof(norm));
			yes = strcmp(norm, rcpt) == 0 || strcmp(norm, own) == 0;
		}
		free(a);
	}
	return yes;
}

/* Whether an address is printable ASCII, as a reply may carry it. */
static bool
vacation_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    *s == '<' || *s == '>' || *s == '"' || *s == '\\')
			return false;
	return true;
}

const char *
vacation_refusal(const char *from, const char *rcpt, const char *own,
    const uint8_t *hdr, size_t len)
{
	static const char *const no[] = { "no" };
	static const char *const bulk[] = { "bulk", "list", "junk" };
	char f[512], r[512], o[512];
	const char *v;
	size_t vlen;

	if (from[0] == '\0' || strchr(from, '@') == NULL)
		return "null sender";
	/* The relay sends no SMTPUTF8 (RFC 6531): ASCII addresses only. */
	if (!vacation_ascii(from) || !vacation_ascii(rcpt))
		return "address not ASCII";
	if (vacation_robot(from))
		return "sender is a robot";
	vacation_addr_norm(from, f, sizeof(f));
	vacation_addr_norm(rcpt, r, sizeof(r));
	vacation_addr_norm(own, o, sizeof(o));
	if (strcmp(f, r) == 0 || strcmp(f, o) == 0)
		return "sender is the recipient";
	/* RFC 3834 5: an Auto-Submitted field other than "no". */
	if (!vacation_field_is(hdr, len, "Auto-Submitted", no, 1, true))
		return "auto-submitted";
	if (vacation_field_is(hdr, len, "Precedence", bulk, 3, false))
		return "bulk or list precedence";
	if (mime_header_find(hdr, len, "List-Id", 0, &v, &vlen) ||
	    mime_header_find(hdr, len, "List-Unsubscribe", 0, &v, &vlen))
		return "list mail";
	if (!vacation_addressed(hdr, len, "To", r, o) &&
	    !vacation_addressed(hdr, len, "Cc", r, o))
		return "recipient not in To or Cc";
	return NULL;
}

/* --- The reply --- */

static void
vacation_body(struct buf *out, const char *type, const char *text)
{
	size_t n = strlen(text);

	buf_printf(out, "Content-Type: %s; charset=utf-8\r\n", type);
	if (mime_is_7bit(text, n)) {
		buf_printf(out, "Content-Transfer-Encoding: 7bit\r\n\r\n");
		buf_append(out, text, n);
		if (n == 0 || text[n - 1] != '\n')
			buf_append(out, "\r\n", 2);
	} else {
		buf_printf(out, "Content-Transfer-Encoding: "
		    "quoted-printable\r\n\r\n");
		mime_write_qp(out, text, n);
		buf_append(out, "\r\n", 2);
	}
}

/* The header fields that tie the reply to the message (RFC 3834 3.1.5). */
static void
vacation_thread_fields(struct buf *out, const uint8_t *hdr, size_t len,
    struct buf *subject)
{
	struct buf refs = BUF_INIT;
	const char *v;
	char **ids, **r;
	size_t vlen, n = 0, nr = 0, i;

	if (mime_header_find(hdr, len, "Subject", 0, &v, &vlen))
		mime_header_text(v, vlen, subject);
	if (!mime_header_find(hdr, len, "Message-ID", 0, &v, &vlen) ||
	    (ids = mime_header_msgids(v, vlen, true, &n)) == NULL)
		return;
	buf_printf(&refs, "<%s>", ids[0]);
	buf_append(&refs, "", 1);
	/* Raw fields: what is not printable ASCII in an id becomes '?'. */
	mime_write_raw_field(out, "In-Reply-To", (char *)refs.data);
	buf_reset(&refs);
	/* RFC 5322 3.6.4: the parent's References, then its id. */
	if (mime_header_find(hdr, len, "References", 0, &v, &vlen) &&
	    (r = mime_header_msgids(v, vlen, false, &nr)) != NULL) {
		for (i = nr > 20 ? nr - 20 : 0; i < nr; i++)
			buf_printf(&refs, "<%s> ", r[i]);
		free(r);
	}
	buf_printf(&refs, "<%s>", ids[0]);
	buf_append(&refs, "", 1);
	mime_write_raw_field(out, "References", (char *)refs.data);
	buf_clear(&refs);
	free(ids);
}

/*
 * The bytes the reply's Message-ID and boundary are made of: a hash of
 * the delivery (account, clock, envelope, message), so that the replay of
 * a delivery after a crash (store/dblog.h) queues the same reply, and a
 * reply the relay had already sent before the crash carries the same
 * Message-ID again.
 */
static void
vacation_unique(const struct vacation_mail *m, uint8_t r[32])
{
	crypto_generichash_state h;
	uint8_t n[16];

	wire_be64_put(n, m->account_id);
	wire_be64_put(n + 8, m->now);
	crypto_generichash_init(&h, (const uint8_t *)"bulwark vacation", 16,
	    32);
	crypto_generichash_update(&h, n, sizeof(n));
	crypto_generichash_update(&h, (const uint8_t *)m->envelope_from,
	    strlen(m->envelope_from) + 1);
	crypto_generichash_update(&h, (const uint8_t *)m->recipient,
	    strlen(m->recipient) + 1);
	crypto_generichash_update(&h, m->data, m->size);
	crypto_generichash_final(&h, r, 32);
}

void
vacation_message(struct buf *out, const struct vacation *v,
    const struct vacation_mail *m, const char *from_addr)
{
	struct buf subj = BUF_INIT, orig = BUF_INIT, mbox = BUF_INIT;
	const char *dom = strrchr(from_addr, '@');
	uint8_t r[32];
	char date[64], id[128], bnd[64];
	time_t now = (time_t)m->now;
	struct tm tm;
	size_t i;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	mime_write_raw_field(out, "Date", date);
	mime_write_mailbox(&mbox, "", from_addr);
	buf_append(&mbox, "", 1);
	mime_write_raw_field(out, "From", (char *)mbox.data);
	buf_reset(&mbox);
	mime_write_mailbox(&mbox, "", m->envelope_from);
	buf_append(&mbox, "", 1);
	mime_write_raw_field(out, "To", (char *)mbox.data);
	buf_clear(&mbox);
	vacation_thread_fields(out, m->data, m->size, &orig);
	if (v->subject != NULL && v->subject[0] != '\0')
		buf_printf(&subj, "%s", v->subject);
	else
		/* The original's, cut to a sane length on a character. */
		buf_printf(&subj, "Auto: %.*s", (int)charset_utf8_prefix(
		    orig.data, orig.len < 200 ? orig.len : 200),
		    orig.len > 0 ? (char *)orig.data : "");
	buf_append(&subj, "", 1);
	mime_write_text_field(out, "Subject", (char *)subj.data);
	vacation_unique(m, r);
	id[0] = '<';
	for (i = 0; i < 16; i++)
		snprintf(id + 1 + 2 * i, 3, "%02x", r[i]);
	snprintf(id + 1 + 2 * 16, sizeof(id) - 1 - 2 * 16,
	    "@%.60s>", dom != NULL ? dom + 1 : "localhost");
	mime_write_raw_field(out, "Message-ID", id);
	mime_write_raw_field(out, "Auto-Submitted", "auto-replied");
	mime_write_raw_field(out, "MIME-Version", "1.0");
	if (v->text != NULL && v->html != NULL) {
		/* As mime_write_boundary's, of the hash's other half. */
		snprintf(bnd, sizeof(bnd), "=_");
		for (i = 16; i < sizeof(r); i++)
			snprintf(bnd + 2 + 2 * (i - 16), 3, "%02x", r[i]);
		buf_printf(out, "Content-Type: multipart/alternative; "
		    "boundary=\"%s\"\r\n\r\n--%s\r\n", bnd, bnd);
		vacation_body(out, "text/plain", v->text);
		buf_printf(out, "--%s\r\n", bnd);
		vacation_body(out, "text/html", v->html);
		buf_printf(out, "--%s--\r\n", bnd);
	} else if (v->html != NULL)
		vacation_body(out, "text/html", v->html);
	else
		vacation_body(out, "text/plain", v->text != NULL ? v->text :
		    "I am away and will read your message when I return.");
	buf_clear(&subj);
	buf_clear(&orig);
}
