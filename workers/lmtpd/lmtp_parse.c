/* SPDX-License-Identifier: ISC */
/*
 * lmtp_parse.c: lmtpd's command parser, following the ABNF of RFC 5321
 * 4.1.2 (Path, Mailbox, Local-part, Domain, address-literal, esmtp-param)
 * with the UTF-8 of RFC 6531 3.3, the parameters of RFC 1870 (SIZE),
 * RFC 6152 and RFC 3030 (BODY), RFC 6531 (SMTPUTF8), BDAT of RFC 3030 2,
 * and the DATA transparency procedure of RFC 5321 4.5.2.  Nothing here
 * allocates except through the output buffer it is given.
 */
#include "lmtp_parse.h"
#include "compat.h"

#include <string.h>
#include <strings.h>

static const char *const lmtp_verb_names[LMTP_V_MAX] = {
	[LMTP_V_UNKNOWN] = "UNKNOWN",	[LMTP_V_LHLO] = "LHLO",
	[LMTP_V_MAIL] = "MAIL",		[LMTP_V_RCPT] = "RCPT",
	[LMTP_V_DATA] = "DATA",		[LMTP_V_BDAT] = "BDAT",
	[LMTP_V_RSET] = "RSET",		[LMTP_V_NOOP] = "NOOP",
	[LMTP_V_QUIT] = "QUIT",		[LMTP_V_VRFY] = "VRFY",
	[LMTP_V_HELP] = "HELP",		[LMTP_V_STARTTLS] = "STARTTLS",
	[LMTP_V_HELO] = "HELO",		[LMTP_V_EHLO] = "EHLO",
};

#define R_SYNTAX_MAIL	"501 5.5.4 Syntax: MAIL FROM:<address> [parameters]"
#define R_SYNTAX_RCPT	"501 5.5.4 Syntax: RCPT TO:<address>"
#define R_BAD_SENDER	"501 5.1.7 Bad sender address syntax"
#define R_BAD_RCPT	"501 5.1.3 Bad recipient address syntax"
#define R_NEED_UTF8	"553 5.6.7 Non-ASCII address needs SMTPUTF8"
#define R_TOO_BIG	"552 5.3.4 Message size exceeds fixed maximum " \
			    "message size"
#define R_PARAM		"555 5.5.4 Unsupported parameter"
#define R_PARAM_VALUE	"501 5.5.4 Invalid parameter value"
#define R_PARAM_TWICE	"501 5.5.4 Parameter given twice"
#define R_SYNTAX_BDAT	"501 5.5.4 Syntax: BDAT chunk-size [LAST]"

const char *
lmtp_verb_name(enum lmtp_verb v)
{
	return (unsigned)v < LMTP_V_MAX ? lmtp_verb_names[v] : "UNKNOWN";
}

enum lmtp_verb
lmtp_parse_verb(const char *line, size_t len, size_t *args_r)
{
	const char *name;
	size_t n, i;

	for (n = 0; n < len && line[n] != ' '; n++)
		;
	*args_r = n < len ? n + 1 : len;
	for (i = 1; i < LMTP_V_MAX; i++) {
		name = lmtp_verb_names[i];
		if (strlen(name) == n && strncasecmp(name, line, n) == 0)
			return (enum lmtp_verb)i;
	}
	return LMTP_V_UNKNOWN;
}

int
lmtp_line_scan(const uint8_t *buf, size_t len, size_t max, size_t *line_r,
    size_t *used_r)
{
	const uint8_t *lf;
	size_t n = len < max ? len : max;

	if (n == 0)
		return len >= max ? -1 : 0;
	if ((lf = memchr(buf, '\n', n)) == NULL)
		return len >= max ? -1 : 0;
	*used_r = (size_t)(lf - buf) + 1;
	*line_r = *used_r - 1;
	if (*line_r > 0 && buf[*line_r - 1] == '\r')
		(*line_r)--;
	return 1;
}

/* --- Addresses, RFC 5321 4.1.2 and RFC 6531 3.3 --- */

/*
 * The length of the well-formed UTF-8 sequence at p (RFC 3629 4), at most
 * len bytes, or 0 if there is none.
 */
static size_t
utf8_seq(const unsigned char *p, size_t len)
{
	size_t n, i;
	unsigned lo = 0x80, hi = 0xbf;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if (p[i] < lo || p[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

/* A scanner over one address, with the UTF-8 rules of the session. */
struct addr_scan {
	const unsigned char	*p;
	size_t			 len, i;
	bool			 utf8;		/* UTF-8 allowed */
	bool			 saw_utf8;	/* UTF-8 seen */
};

/*
 * Takes one UTF8-non-ascii character (RFC 6531 3.3) at the position if
 * there is one; returns its length or 0.
 */
static size_t
scan_utf8(struct addr_scan *s)
{
	size_t n;

	if (s->i >= s->len || s->p[s->i] < 0x80)
		return 0;
	if ((n = utf8_seq(s->p + s->i, s->len - s->i)) == 0)
		return 0;
	s->saw_utf8 = true;
	s->i += n;
	return n;
}

static bool
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool
is_letdig(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* Atom = 1*atext; returns -1 if empty. */
static int
scan_atom(struct addr_scan *s)
{
	size_t start = s->i;

	while (s->i < s->len) {
		if (is_atext(s->p[s->i]))
			s->i++;
		else if (scan_utf8(s) == 0)
			break;
	}
	return s->i > start ? 0 : -1;
}

/* Quoted-string = DQUOTE *QcontentSMTP DQUOTE */
static int
scan_quoted(struct addr_scan *s)
{
	unsigned char c;

	s->i++;		/* DQUOTE */
	while (s->i < s->len) {
		c = s->p[s->i];
		if (c == '"') {
			s->i++;
			return 0;
		}
		if (c == '\\') {
			/* quoted-pairSMTP = %d92 %d32-126 */
			if (s->i + 1 >= s->len || s->p[s->i + 1] < 32 ||
			    s->p[s->i + 1] > 126)
				return -1;
			s->i += 2;
		} else if (c >= 32 && c <= 126)
			s->i++;		/* qtextSMTP */
		else if (scan_utf8(s) == 0)
			return -1;
	}
	return -1;
}

/* Local-part = Dot-string / Quoted-string */
static int
scan_local(struct addr_scan *s)
{
	size_t start = s->i;

	if (s->i < s->len && s->p[s->i] == '"') {
		if (scan_quoted(s) == -1)
			return -1;
	} else {
		if (scan_atom(s) == -1)
			return -1;
		while (s->i < s->len && s->p[s->i] == '.') {
			s->i++;
			if (scan_atom(s) == -1)
				return -1;
		}
	}
	return s->i - start <= LMTP_LOCAL_MAX ? 0 : -1;
}

/*
 * sub-domain = Let-dig [Ldh-str], or a U-label (RFC 6531 3.3) when UTF-8
 * is allowed; a hyphen may not end it.
 */
static int
scan_subdomain(struct addr_scan *s)
{
	size_t start = s->i;
	unsigned char c;

	while (s->i < s->len) {
		c = s->p[s->i];
		if (is_letdig(c) || (c == '-' && s->i > start))
			s->i++;
		else if (scan_utf8(s) == 0)
			break;
	}
	if (s->i == start || s->p[s->i - 1] == '-')
		return -1;
	return 0;
}

/* address-literal = "[" 1*dcontent "]", dcontent = %d33-90 / %d94-126 */
static int
scan_literal(struct addr_scan *s)
{
	size_t start;

	start = ++s->i;
	while (s->i < s->len && s->p[s->i] != ']') {
		if (s->p[s->i] < 33 || s->p[s->i] > 126 || s->p[s->i] == '[' ||
		    s->p[s->i] == '\\')
			return -1;
		s->i++;
	}
	if (s->i == start || s->i >= s->len)
		return -1;
	s->i++;
	return 0;
}

/* Domain = sub-domain *("." sub-domain) / address-literal */
static int
scan_domain(struct addr_scan *s)
{
	size_t start = s->i;

	if (s->i < s->len && s->p[s->i] == '[')
		return scan_literal(s);
	if (scan_subdomain(s) == -1)
		return -1;
	while (s->i < s->len && s->p[s->i] == '.') {
		s->i++;
		if (scan_subdomain(s) == -1)
			return -1;
	}
	return s->i - start <= LMTP_DOMAIN_MAX ? 0 : -1;
}

/* A-d-l = At-domain *( "," At-domain ) ":"; the route is ignored. */
static int
scan_route(struct addr_scan *s)
{
	for (;;) {
		if (s->i >= s->len || s->p[s->i] != '@')
			return -1;
		s->i++;
		if (scan_domain(s) == -1 || s->i >= s->len)
			return -1;
		if (s->p[s->i] == ':') {
			s->i++;
			return 0;
		}
		if (s->p[s->i] != ',')
			return -1;
		s->i++;
	}
}

int
lmtp_parse_path(const char *p, size_t len, bool null_ok, bool utf8,
    char *addr, size_t size, bool *utf8_r)
{
	struct addr_scan s = { (const unsigned char *)p, len, 0, utf8, false };
	size_t start, n;

	*utf8_r = false;
	if (len < 2 || p[0] != '<')
		return -1;
	s.i = 1;
	if (p[1] == '>' && null_ok) {
		if (size > 0)
			addr[0] = '\0';
		return 2;
	}
	if (p[1] == '@' && scan_route(&s) == -1)
		return -1;
	start = s.i;
	if (scan_local(&s) == -1 || s.i >= len || p[s.i] != '@')
		return -1;
	s.i++;
	if (scan_domain(&s) == -1 || s.i >= len || p[s.i] != '>')
		return -1;
	n = s.i - start;
	if (n > LMTP_PATH_MAX || n >= size)
		return -1;
	if (s.saw_utf8 && !utf8) {
		*utf8_r = true;
		return -1;
	}
	memcpy(addr, p + start, n);
	addr[n] = '\0';
	return (int)s.i + 1;
}

/* --- Parameters, RFC 5321 4.1.2 esmtp-param --- */

/*
 * The next "keyword[=value]" of the parameter list at *pos; returns 0 at
 * the end, 1 with a parameter, -1 on a syntax error.
 */
static int
param_next(const char *args, size_t len, size_t *pos, const char **kw,
    size_t *kwlen, const char **val, size_t *vallen)
{
	size_t i = *pos, start;

	while (i < len && args[i] == ' ')
		i++;
	if (i >= len)
		return 0;
	start = i;
	while (i < len && args[i] != ' ' && args[i] != '=') {
		if (!is_letdig((unsigned char)args[i]) && args[i] != '-')
			return -1;
		i++;
	}
	if (i == start)
		return -1;
	*kw = args + start;
	*kwlen = i - start;
	*val = NULL;
	*vallen = 0;
	if (i < len && args[i] == '=') {
		start = ++i;
		/* esmtp-value = 1*(%d33-60 / %d62-126) */
		while (i < len && args[i] != ' ') {
			if ((unsigned char)args[i] < 33 ||
			    (unsigned char)args[i] > 126 || args[i] == '=')
				return -1;
			i++;
		}
		if (i == start)
			return -1;
		*val = args + start;
		*vallen = i - start;
	}
	*pos = i;
	return 1;
}

static bool
kw_is(const char *kw, size_t kwlen, const char *name)
{
	return strlen(name) == kwlen && strncasecmp(kw, name, kwlen) == 0;
}

/* SIZE=1*20DIGIT (RFC 1870 3) */
static int
param_size(const char *v, size_t n, uint64_t *size_r)
{
	uint64_t size = 0;
	size_t i;

	if (v == NULL || n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (size > (UINT64_MAX - 9) / 10)
			size = UINT64_MAX;	/* too large either way */
		else
			size = size * 10 + (uint64_t)(v[i] - '0');
	}
	*size_r = size;
	return 0;
}

/* The parameters of MAIL after the path. */
static const char *
mail_params(const char *args, size_t len, uint64_t max_size,
    struct lmtp_mail *m)
{
	const char *kw, *v;
	size_t pos = 0, kwlen, vlen;
	int r;

	while ((r = param_next(args, len, &pos, &kw, &kwlen, &v, &vlen)) == 1) {
		if (kw_is(kw, kwlen, "SIZE")) {
			if (m->has_size)
				return R_PARAM_TWICE;
			if (param_size(v, vlen, &m->size) == -1)
				return R_PARAM_VALUE;
			m->has_size = true;
			if (m->size > max_size)
				return R_TOO_BIG;
		} else if (kw_is(kw, kwlen, "BODY")) {
			if (m->body != LMTP_BODY_NONE)
				return R_PARAM_TWICE;
			if (v != NULL && kw_is(v, vlen, "7BIT"))
				m->body = LMTP_BODY_7BIT;
			else if (v != NULL && kw_is(v, vlen, "8BITMIME"))
				m->body = LMTP_BODY_8BITMIME;
			else
				return R_PARAM_VALUE;	/* BINARYMIME too */
		} else if (kw_is(kw, kwlen, "SMTPUTF8")) {
			if (v != NULL)
				return R_PARAM_VALUE;
			if (m->smtputf8)
				return R_PARAM_TWICE;
			m->smtputf8 = true;
		} else
			return R_PARAM;
	}
	return r == -1 ? R_SYNTAX_MAIL : NULL;
}

/* "FROM:" or "TO:", then optional spaces (tolerated, not in the RFC). */
static int
path_start(const char *args, size_t len, const char *word, size_t *pos)
{
	size_t n = strlen(word), i;

	if (len < n || strncasecmp(args, word, n) != 0)
		return -1;
	for (i = n; i < len && args[i] == ' '; i++)
		;
	*pos = i;
	return 0;
}

/* The SMTPUTF8 parameter decides whether the path may hold UTF-8. */
static bool
mail_wants_utf8(const char *args, size_t len)
{
	const char *kw, *v;
	size_t pos = 0, kwlen, vlen;

	while (pos < len && args[pos] != ' ')
		pos++;
	while (param_next(args, len, &pos, &kw, &kwlen, &v, &vlen) == 1)
		if (kw_is(kw, kwlen, "SMTPUTF8"))
			return true;
	return false;
}

const char *
lmtp_parse_mail(const char *args, size_t len, uint64_t max_size,
    struct lmtp_mail *m)
{
	size_t pos;
	bool need_utf8;
	int n;

	memset(m, 0, sizeof(*m));
	if (path_start(args, len, "FROM:", &pos) == -1 || pos >= len)
		return R_SYNTAX_MAIL;
	n = lmtp_parse_path(args + pos, len - pos, true,
	    mail_wants_utf8(args + pos, len - pos), m->from, sizeof(m->from),
	    &need_utf8);
	if (n == -1)
		return need_utf8 ? R_NEED_UTF8 : R_BAD_SENDER;
	pos += (size_t)n;
	if (pos < len && args[pos] != ' ')
		return R_SYNTAX_MAIL;
	return mail_params(args + pos, len - pos, max_size, m);
}

const char *
lmtp_parse_rcpt(const char *args, size_t len, bool utf8, char *to,
    size_t size)
{
	const char *kw, *v;
	size_t pos, kwlen, vlen;
	bool need_utf8;
	int n, r;

	if (path_start(args, len, "TO:", &pos) == -1 || pos >= len)
		return R_SYNTAX_RCPT;
	/* RFC 5321 4.5.1: <Postmaster> needs no domain. */
	if (len - pos >= 12 && strncasecmp(args + pos, "<postmaster>", 12) ==
	    0 && size > 10) {
		strlcpy(to, "postmaster", size);
		n = 12;
	} else if ((n = lmtp_parse_path(args + pos, len - pos, false, utf8,
	    to, size, &need_utf8)) == -1)
		return need_utf8 ? R_NEED_UTF8 : R_BAD_RCPT;
	pos += (size_t)n;
	if (pos < len && args[pos] != ' ')
		return R_SYNTAX_RCPT;
	/* No RCPT parameters are offered (no DSN). */
	if ((r = param_next(args, len, &pos, &kw, &kwlen, &v, &vlen)) == 1)
		return R_PARAM;
	return r == -1 ? R_SYNTAX_RCPT : NULL;
}

const char *
lmtp_parse_bdat(const char *args, size_t len, uint64_t *size_r, bool *last_r)
{
	size_t i;

	for (i = 0; i < len && args[i] != ' '; i++)
		;
	if (param_size(args, i, size_r) == -1)
		return R_SYNTAX_BDAT;
	*last_r = false;
	while (i < len && args[i] == ' ')
		i++;
	if (i == len)
		return NULL;
	if (len - i != 4 || strncasecmp(args + i, "LAST", 4) != 0)
		return R_SYNTAX_BDAT;
	*last_r = true;
	return NULL;
}

/* --- Line ends and DATA --- */

void
lmtp_crlf_init(struct lmtp_crlf *n, uint64_t cap)
{
	memset(n, 0, sizeof(*n));
	n->cap = cap;
}

/* Appends len bytes to out, or counts them once past the cap. */
static void
crlf_out(struct lmtp_crlf *n, struct buf *out, const void *p, size_t len)
{
	if (len == 0)
		return;
	n->total += len;
	if (n->overflow || n->total > n->cap) {
		n->overflow = true;
		return;
	}
	buf_append(out, p, len);
}

void
lmtp_crlf_feed(struct lmtp_crlf *n, struct buf *out, const void *p,
    size_t len)
{
	const uint8_t *b = p, *end, *run;

	if (len == 0)
		return;
	end = b + len;
	while (b < end) {
		if (n->cr) {
			/* CR LF, or a bare CR: both become CR LF. */
			crlf_out(n, out, "\r\n", 2);
			n->cr = false;
			if (*b == '\n') {
				b++;
				continue;
			}
		}
		for (run = b; b < end && *b != '\r' && *b != '\n'; b++)
			;
		crlf_out(n, out, run, (size_t)(b - run));
		if (b == end)
			break;
		if (*b == '\r')
			n->cr = true;
		else
			crlf_out(n, out, "\r\n", 2);
		b++;
	}
}

void
lmtp_crlf_finish(struct lmtp_crlf *n, struct buf *out)
{
	if (n->cr)
		crlf_out(n, out, "\r\n", 2);
	n->cr = false;
}

void
lmtp_data_init(struct lmtp_data *d, uint64_t cap)
{
	lmtp_crlf_init(&d->norm, cap);
	d->bol = true;
	d->done = false;
}

size_t
lmtp_data_feed(struct lmtp_data *d, struct buf *out, const uint8_t *p,
    size_t len)
{
	const uint8_t *lf, *line;
	size_t i = 0, n, span = 0, span_len = 0;

	while (i < len && !d->done) {
		line = p + i;
		if (d->bol && *line == '.') {
			/* ".", ".\r": wait to see whether the line ends. */
			if (i + 1 >= len || (line[1] == '\r' && i + 2 >= len))
				break;
			crlf_out(&d->norm, out, p + span, span_len);
			span_len = 0;
			if (line[1] == '\n' || (line[1] == '\r' &&
			    line[2] == '\n')) {
				i += line[1] == '\n' ? 2 : 3;
				lmtp_crlf_finish(&d->norm, out);
				d->done = true;
				return i;
			}
			i++;	/* RFC 5321 4.5.2: drop the leading dot */
			line++;
		}
		lf = memchr(line, '\n', len - i);
		/*
		 * The usual line, ending in its only CR LF, is taken as it is,
		 * with the lines like it that follow, in one piece.
		 */
		if (lf != NULL && lf > line && lf[-1] == '\r' &&
		    !d->norm.cr && memchr(line, '\r', (size_t)(lf - line) -
		    1) == NULL) {
			if (span_len == 0)
				span = i;
			n = (size_t)(lf - line) + 1;
			span_len += n;
			i += n;
			d->bol = true;
			continue;
		}
		crlf_out(&d->norm, out, p + span, span_len);
		span_len = 0;
		n = lf != NULL ? (size_t)(lf - line) + 1 : len - i;
		lmtp_crlf_feed(&d->norm, out, line, n);
		i += n;
		d->bol = lf != NULL;
	}
	crlf_out(&d->norm, out, p + span, span_len);
	return i;
}
