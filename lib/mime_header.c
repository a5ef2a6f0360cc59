/* SPDX-License-Identifier: ISC */
/*
 * mime_header.c: structured header field values of RFC 5322 section 3:
 * unfolding (3.2.2), address lists with groups (3.4, with the obsolete
 * forms of 4.4), date-time (3.3 and 4.3), msg-id lists (3.6.4), and the
 * base subject of RFC 5256 2.1 used for threading.  Parsing is lenient:
 * what cannot be read is skipped, never refused.
 */
#include "mime_int.h"
#include "charset.h"

#include <string.h>
#include <strings.h>

/* Value of a field with line breaks removed (RFC 5322 2.2.3) and trimmed. */
char *
mime_unfold(struct mime_msg *m, struct mime_span v)
{
	char *d = mime_alloc(m, v.len + 1);
	size_t i, j = 0;

	for (i = 0; i < v.len; i++)
		if (v.p[i] != '\r' && v.p[i] != '\n' && v.p[i] != '\0')
			d[j++] = (char)v.p[i];
	while (j > 0 && (d[j - 1] == ' ' || d[j - 1] == '\t'))
		j--;
	d[j] = '\0';
	i = strspn(d, " \t");
	return d + i;
}

bool
mime_header_next(const char **pos, const char *end, const char *name,
    const char **value_r, size_t *vlen_r)
{
	const char *line, *eol, *c;
	size_t n = strlen(name);

	for (line = *pos; line < end; line = eol) {
		eol = memchr(line, '\n', (size_t)(end - line));
		eol = eol == NULL ? end : eol + 1;
		if (line[0] == '\n' || (line[0] == '\r' && line + 1 < end &&
		    line[1] == '\n')) {
			*pos = line;	/* the blank line ends the header */
			return false;
		}
		if (line[0] == ' ' || line[0] == '\t')
			continue;
		if ((size_t)(eol - line) <= n || line[n] != ':' ||
		    strncasecmp(line, name, n) != 0)
			continue;
		/* The value runs over continuation lines. */
		for (c = eol; c < end && (*c == ' ' || *c == '\t'); ) {
			c = memchr(c, '\n', (size_t)(end - c));
			c = c == NULL ? end : c + 1;
		}
		*value_r = line + n + 1;
		*vlen_r = (size_t)(c - (line + n + 1));
		*pos = c;
		return true;
	}
	*pos = end;
	return false;
}

bool
mime_header_find(const void *hdr, size_t len, const char *name,
    size_t index, const char **value_r, size_t *vlen_r)
{
	const char *p = hdr, *end = p + len;

	while (mime_header_next(&p, end, name, value_r, vlen_r))
		if (index-- == 0)
			return true;
	return false;
}

void
mime_header_text(const char *value, size_t len, struct buf *out)
{
	struct buf tmp = BUF_INIT;
	size_t i, a, b;

	for (i = 0; i < len; i++)
		if (value[i] != '\r' && value[i] != '\n' && value[i] != '\0')
			buf_append(&tmp, value + i, 1);
	for (a = 0; a < tmp.len && (tmp.data[a] == ' ' ||
	    tmp.data[a] == '\t'); a++)
		;
	for (b = tmp.len; b > a && (tmp.data[b - 1] == ' ' ||
	    tmp.data[b - 1] == '\t'); b--)
		;
	if (b > a)
		mime_decode_words((const char *)tmp.data + a, b - a, out);
	buf_clear(&tmp);
}

/* Address list parsing state. */
struct addr_state {
	struct mime_msg	*m;
	struct buf	*phrase;	/* display name words, raw */
	struct buf	*raw;		/* tokens outside <>, for a bare addr */
	char		*angle;		/* addr-spec in <>, or NULL */
	char		*route;		/* its obs-route, or NULL */
	const char	*comment;	/* first comment, for a bare addr */
	size_t		 clen;
	char		*group;
	struct mime_addr *v;
	size_t		 n, cap;
};

/* Addresses and msg-ids kept per field; the rest are dropped. */
#define LIST_MAX	10000

static void
addr_push(struct addr_state *st, char *name, char *email, char *route)
{
	struct mime_addr *nv;

	if (st->n >= LIST_MAX)
		return;

	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 4;
		nv = mime_alloc(st->m, st->cap * sizeof(*nv));
		if (st->n > 0)
			memcpy(nv, st->v, st->n * sizeof(*nv));
		st->v = nv;
	}
	st->v[st->n].name = name;
	st->v[st->n].email = email;
	st->v[st->n].group = st->group;
	st->v[st->n].route = route;
	st->n++;
}

/*
 * Copies a raw string without white space and comments (an addr-spec:
 * RFC 5322 4.4 allows CFWS between its elements, and a comment is no part
 * of the address, 3.2.2).
 */
static char *
addr_spec(struct mime_msg *m, const char *s, size_t n)
{
	char *d = mime_alloc(m, n + 1);
	size_t i, j = 0;
	int depth;
	bool q = false;

	for (i = 0; i < n; i++) {
		if (s[i] == '"' && (i == 0 || s[i - 1] != '\\'))
			q = !q;
		if (!q && s[i] == '(') {
			/* Nested, with quoted-pairs; unclosed runs to n. */
			for (depth = 0; i < n; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				else if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0)
					break;
			}
			continue;
		}
		if (!q && (s[i] == ' ' || s[i] == '\t'))
			continue;
		d[j++] = s[i];
	}
	d[j] = '\0';
	return d;
}

/* Whether the phrase is one word and no encoded word (RFC 2047). */
static bool
lone_word(const struct buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if (b->data[i] == ' ' || (b->data[i] == '=' &&
		    i + 1 < b->len && b->data[i + 1] == '?'))
			return false;
	return true;
}

/* Ends one mailbox (at ',' ';' or the end). */
static void
addr_end(struct addr_state *st)
{
	struct mime_msg *m = st->m;
	char *name, *email;
	size_t n;

	if (st->angle != NULL) {
		name = mime_decode_words_dup(m,
		    mime_strndup(m, st->phrase->data, st->phrase->len));
		email = st->angle;
		addr_push(st, name, email, st->route);
	} else if (st->raw->len > 0) {
		email = addr_spec(m, (const char *)st->raw->data, st->raw->len);
		if (st->comment != NULL)
			name = mime_decode_words_dup(m,
			    mime_strndup(m, st->comment, st->clen));
		else
			name = mime_strndup(m, "", 0);
		/*
		 * No '@': words are a display name without address ("To:
		 * Undisclosed Recipients"); one plain word is a local part
		 * without domain ("To: martin", "nsb (Nathaniel
		 * Borenstein)"), kept as the address so that it stays
		 * apart from "Name <>".
		 */
		if (strchr(email, '@') == NULL && st->phrase->len > 0 &&
		    (n = strlen(email)) > 0 && strchr(email, '"') == NULL &&
		    !lone_word(st->phrase)) {
			name = mime_decode_words_dup(m,
			    mime_strndup(m, st->phrase->data,
			    st->phrase->len));
			email = mime_strndup(m, "", 0);
		}
		addr_push(st, name, email, NULL);
	}
	buf_reset(st->phrase);
	buf_reset(st->raw);
	st->angle = NULL;
	st->route = NULL;
	st->comment = NULL;
}

/* Skips a comment at s ('('), nested; returns the byte after it. */
static const char *
skip_comment(const char *s)
{
	int depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '(')
			depth++;
		else if (*s == ')' && --depth == 0)
			return s + 1;
	}
	return s;
}

/* Appends a word to the phrase, separated by one space. */
static void
phrase_add(struct buf *b, const char *s, size_t n)
{
	if (b->len > 0)
		buf_append(b, " ", 1);
	buf_append(b, s, n);
}

/* A quoted string at s ('"'): appends its content to the phrase. */
static const char *
quoted(struct addr_state *st, const char *s)
{
	const char *start = s++;

	if (st->phrase->len > 0)
		buf_append(st->phrase, " ", 1);
	for (; *s != '\0' && *s != '"'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		buf_append(st->phrase, s, 1);
	}
	if (*s == '"')
		s++;
	buf_append(st->raw, start, (size_t)(s - start));
	return s;
}

/*
 * An angle-addr at s ('<'): the addr-spec, and apart from it the source
 * route before it, if any (IMAP's addr-adl).
 */
static const char *
angle(struct addr_state *st, const char *s)
{
	const char *e, *a;

	for (e = ++s; *e != '\0' && *e != '>'; e++) {
		if (*e != '"')
			continue;
		for (e++; *e != '\0' && *e != '"'; e++)
			if (*e == '\\' && e[1] != '\0')
				e++;
		if (*e == '\0')
			break;
	}
	a = s;
	if (*a == '@') {
		/* obs-route: "@a,@b:" */
		const char *c = memchr(a, ':', (size_t)(e - a));

		if (c != NULL) {
			if (st->angle == NULL && c > a + 1)
				st->route = mime_strndup(st->m, a,
				    (size_t)(c - a));
			a = c + 1;
		}
	}
	if (st->angle == NULL)
		st->angle = addr_spec(st->m, a, (size_t)(e - a));
	return *e == '>' ? e + 1 : e;
}

void
mime_parse_addrlist(struct mime_msg *m, const char *s,
    struct mime_addrlist *out)
{
	struct addr_state st;
	struct buf phrase = BUF_INIT, raw = BUF_INIT;
	const char *e;
	size_t grp_start = 0;

	memset(&st, 0, sizeof(st));
	st.m = m;
	st.phrase = &phrase;
	st.raw = &raw;
	while (*s != '\0') {
		switch (*s) {
		case ' ': case '\t': case '>': case ')':
			s++;	/* white space or a stray closer */
			break;
		case '(':
			e = skip_comment(s);
			if (st.comment == NULL && e - s >= 2) {
				st.comment = s + 1;
				st.clen = (size_t)(e - s - 2);
				if (e[-1] != ')')
					st.clen++;
			}
			s = e;
			break;
		case '"':
			s = quoted(&st, s);
			break;
		case '<':
			s = angle(&st, s);
			break;
		case ',':
			addr_end(&st);
			s++;
			break;
		case ';':
			addr_end(&st);
			if (st.group != NULL && st.n == grp_start)
				addr_push(&st, mime_strndup(m, "", 0),
				    mime_strndup(m, "", 0), NULL);
			st.group = NULL;
			s++;
			break;
		case ':':
			if (st.group == NULL && st.angle == NULL) {
				st.group = mime_decode_words_dup(m,
				    mime_strndup(m, phrase.data, phrase.len));
				buf_reset(&phrase);
				buf_reset(&raw);
				st.comment = NULL;
				grp_start = st.n;
			} else
				buf_append(&raw, s, 1);
			s++;
			break;
		default:
			e = s + strcspn(s, " \t()\"<>,;:");
			phrase_add(&phrase, s, (size_t)(e - s));
			buf_append(&raw, s, (size_t)(e - s));
			s = e;
			break;
		}
	}
	addr_end(&st);
	if (st.group != NULL && st.n == grp_start)
		addr_push(&st, mime_strndup(m, "", 0), mime_strndup(m, "", 0),
		    NULL);
	buf_clear(&phrase);
	buf_clear(&raw);
	out->v = st.v;
	out->n = st.n;
}

/* Date parsing (RFC 5322 3.3, obsolete forms of 4.3). */
static const char *const months[12] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec"
};

static const struct {
	const char	*name;
	int		 minutes;
} zones[] = {
	{ "ut", 0 }, { "utc", 0 }, { "gmt", 0 }, { "z", 0 },
	{ "est", -300 }, { "edt", -240 }, { "cst", -360 }, { "cdt", -300 },
	{ "mst", -420 }, { "mdt", -360 }, { "pst", -480 }, { "pdt", -420 },
	{ "cet", 60 }, { "cest", 120 }, { "bst", 60 }, { "jst", 540 },
};

static const char *
skip_cfws(const char *s)
{
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (*s != '(')
			return s;
		s = skip_comment(s);
	}
}

/* Reads 1 to maxd digits; returns -1 if there are none. */
static long
digits(const char **sp, int maxd, int *nd)
{
	const char *s = *sp;
	long v = 0;
	int n = 0;

	while (n < maxd && *s >= '0' && *s <= '9') {
		v = v * 10 + (*s++ - '0');
		n++;
	}
	*sp = s;
	if (nd != NULL)
		*nd = n;
	return n == 0 ? -1 : v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned mo, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= mo <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
parse_zone(const char *s, int *tz)
{
	char name[8];
	size_t i, n;
	long v;
	int sign, nd;

	if (*s == '+' || *s == '-') {
		sign = *s == '-' ? -1 : 1;
		s++;
		if ((v = digits(&s, 4, &nd)) < 0 || nd != 4 || v % 100 > 59 ||
		    v / 100 > 23)
			return -1;
		*tz = sign * (int)(v / 100 * 60 + v % 100);
		return 0;
	}
	for (n = 0; n < sizeof(name) - 1 && ((s[n] >= 'a' && s[n] <= 'z') ||
	    (s[n] >= 'A' && s[n] <= 'Z')); n++)
		name[n] = (char)(s[n] | 0x20);
	name[n] = '\0';
	*tz = 0;	/* RFC 5322 4.3: unknown zones mean -0000 */
	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (strcmp(zones[i].name, name) == 0)
			*tz = zones[i].minutes;
	return 0;
}

bool
mime_parse_date(const char *s, int64_t *t_r, int32_t *tz_r)
{
	long day, year, hh, mm, ss = 0;
	int mon = -1, tz = 0, nd, i;

	s = skip_cfws(s);
	/* Optional day-of-week. */
	if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') {
		while ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z')
			s++;
		s = skip_cfws(s);
	}
	if ((day = digits(&s, 2, NULL)) < 1 || day > 31)
		return false;
	s = skip_cfws(s);
	while (*s == '-')
		s++;
	for (i = 0; i < 12; i++)
		if (strncasecmp(s, months[i], 3) == 0)
			mon = i;
	if (mon < 0)
		return false;
	while ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z')
		s++;
	s = skip_cfws(s);
	while (*s == '-')
		s++;
	if ((year = digits(&s, 4, &nd)) < 0)
		return false;
	if (nd == 2)
		year += year < 50 ? 2000 : 1900;
	else if (nd == 3)
		year += 1900;
	if (year < 1900 || year > 9999)
		return false;
	s = skip_cfws(s);
	if ((hh = digits(&s, 2, NULL)) < 0 || hh > 23 || *s++ != ':' ||
	    (mm = digits(&s, 2, NULL)) < 0 || mm > 59)
		return false;
	if (*s == ':') {
		s++;
		if ((ss = digits(&s, 2, NULL)) < 0 || ss > 60)
			return false;
		if (ss == 60)
			ss = 59;
	}
	s = skip_cfws(s);
	if (*s != '\0' && parse_zone(s, &tz) < 0)
		tz = 0;
	*t_r = days_from_civil(year, (unsigned)mon + 1, (unsigned)day) *
	    86400 + hh * 3600 + mm * 60 + ss - (int64_t)tz * 60;
	*tz_r = tz;
	return true;
}

/* msg-id lists (RFC 5322 3.6.4): the ids between <>, without them. */
void
mime_parse_msgids(struct mime_msg *m, const char *s, bool first,
    struct mime_strv *out)
{
	const char *p, *e;
	size_t n = 0, cap = 0;
	char **v = NULL, **nv;

	for (p = s; (p = strchr(p, '<')) != NULL; p = e + 1) {
		if ((e = strchr(p + 1, '>')) == NULL)
			break;
		if (e == p + 1)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			nv = mime_alloc(m, cap * sizeof(*nv));
			if (n > 0)
				memcpy(nv, v, n * sizeof(*nv));
			v = nv;
		}
		v[n++] = addr_spec(m, p + 1, (size_t)(e - p - 1));
		if (first || n == LIST_MAX)
			break;
	}
	/* A bare id without <> (seen in the wild) if it looks like one. */
	if (n == 0 && first && strchr(s, '@') != NULL &&
	    strpbrk(s, " \t<>") == NULL) {
		v = mime_alloc(m, sizeof(*v));
		v[n++] = mime_strndup(m, s, strlen(s));
	}
	out->v = v;
	out->n = n;
}

void
mime_env_fill(struct mime_msg *m, struct mime_env *env,
    const struct mime_span *hdr)
{
	static const enum mime_hdr addr_hdr[MA_COUNT] = {
		MH_FROM, MH_SENDER, MH_REPLY_TO, MH_TO, MH_CC, MH_BCC
	};
	size_t i;

	if (hdr[MH_DATE].p != NULL) {
		env->date = mime_unfold(m, hdr[MH_DATE]);
		env->has_sent_at = mime_parse_date(env->date, &env->sent_at,
		    &env->sent_tz);
	}
	if (hdr[MH_SUBJECT].p != NULL) {
		env->subject = mime_unfold(m, hdr[MH_SUBJECT]);
		env->subject_dec = mime_decode_words_dup(m, env->subject);
	}
	if (hdr[MH_IN_REPLY_TO].p != NULL) {
		env->in_reply_to = mime_unfold(m, hdr[MH_IN_REPLY_TO]);
		mime_parse_msgids(m, env->in_reply_to, false, &env->irt);
	}
	if (hdr[MH_MESSAGE_ID].p != NULL) {
		env->message_id = mime_unfold(m, hdr[MH_MESSAGE_ID]);
		mime_parse_msgids(m, env->message_id, true, &env->msgid);
	}
	if (hdr[MH_REFERENCES].p != NULL)
		mime_parse_msgids(m, mime_unfold(m, hdr[MH_REFERENCES]), false,
		    &env->refs);
	for (i = 0; i < MA_COUNT; i++)
		if (hdr[addr_hdr[i]].p != NULL)
			mime_parse_addrlist(m, mime_unfold(m, hdr[addr_hdr[i]]),
			    &env->addr[i]);
}

/* RFC 5256 2.1 step 2: removes trailing "(fwd)" and white space. */
static bool
strip_trailer(char *s, size_t *n)
{
	bool changed = false;

	for (;;) {
		if (*n > 0 && s[*n - 1] == ' ') {
			(*n)--;
		} else if (*n >= 5 &&
		    strncasecmp(s + *n - 5, "(fwd)", 5) == 0) {
			*n -= 5;
		} else
			break;
		changed = true;
	}
	s[*n] = '\0';
	return changed;
}

/* subj-blob: "[" *BLOBCHAR "]" *WSP; returns its length or 0. */
static size_t
blob_len(const char *s)
{
	const char *e;

	if (*s != '[')
		return 0;
	for (e = s + 1; *e != '\0' && *e != '[' && *e != ']'; e++)
		;
	if (*e != ']')
		return 0;
	for (e++; *e == ' '; e++)
		;
	return (size_t)(e - s);
}

/* subj-refwd: ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"; 0 if none. */
static size_t
refwd_len(const char *s)
{
	size_t i;

	if (strncasecmp(s, "re", 2) == 0)
		i = 2;
	else if (strncasecmp(s, "fwd", 3) == 0)
		i = 3;
	else if (strncasecmp(s, "fw", 2) == 0)
		i = 2;
	else
		return 0;
	while (s[i] == ' ')
		i++;
	i += blob_len(s + i);
	return s[i] == ':' ? i + 1 : 0;
}

/*
 * RFC 5256 2.1 steps 3 and 4: removes one subj-leader, or leading
 * subj-blobs if something remains after them; whether it did.  Step 4
 * repeated removes every leading blob but a last one that is all that is
 * left, which is done here in one go (a subject of many "[]" would
 * otherwise cost quadratic time).
 */
static bool
strip_leader(char **sp)
{
	char *s = *sp;
	size_t n, b, last = 0;

	if (*s == ' ') {
		while (*s == ' ')
			s++;
		*sp = s;
		return true;
	}
	/* *subj-blob subj-refwd */
	for (n = 0; (b = blob_len(s + n)) > 0; n += b)
		last = n;
	if ((b = refwd_len(s + n)) > 0) {
		*sp = s + n + b;
		return true;
	}
	if (n > 0 && s[n] != '\0') {
		*sp = s + n;
		return true;
	}
	if (last > 0) {
		*sp = s + last;
		return true;
	}
	return false;
}

char *
mime_base_subject(struct mime_msg *m, const char *subject)
{
	char *s, *d;
	size_t n;
	int round;
	bool sp = false;

	/* Step 1: white space runs become one space. */
	s = d = mime_alloc(m, strlen(subject) + 1);
	for (; *subject != '\0'; subject++) {
		if (*subject == ' ' || *subject == '\t' ||
		    *subject == '\r' || *subject == '\n') {
			sp = true;
			continue;
		}
		if (sp && d > s)
			*d++ = ' ';
		sp = false;
		*d++ = *subject;
	}
	*d = '\0';
	/* Bounded: each round is linear, nested "[fwd:" could be many. */
	for (round = 0; round < 64; round++) {
		n = strlen(s);
		strip_trailer(s, &n);
		while (strip_leader(&s))
			;
		n = strlen(s);
		/* Step 5: [fwd: ... ] */
		if (n >= 6 && strncasecmp(s, "[fwd:", 5) == 0 &&
		    s[n - 1] == ']') {
			s[n - 1] = '\0';
			s += 5;
			continue;
		}
		break;
	}
	while (*s == ' ')
		s++;
	return s;
}
