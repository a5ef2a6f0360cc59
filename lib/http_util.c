/* SPDX-License-Identifier: ISC */
/*
 * http_util.c: the pieces of HTTP around the request parser of http.c:
 * percent-decoding (RFC 3986 2.1) and the parameters of a request's query
 * (name[=value] split on "&", with "+" as space), the reason phrases of
 * RFC 9110 15, the Date field's IMF-fixdate (RFC 9110 5.6.7), response
 * heads (RFC 9112 4) and the chunked framing of a response body (RFC 9112
 * 7.1).
 */
#include "http.h"
#include "http_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/*
 * The next decoded byte of s at *i, advancing *i; -1 for a bad escape or
 * a NUL, raw or escaped.
 */
static int
http_pct_byte(const char *s, size_t len, size_t *i, bool plus_space)
{
	int hi, lo, c = (uint8_t)s[*i];

	if (c == '%') {
		if (len - *i < 3 ||
		    (hi = http_hex((uint8_t)s[*i + 1])) < 0 ||
		    (lo = http_hex((uint8_t)s[*i + 2])) < 0)
			return -1;
		c = hi << 4 | lo;
		*i += 2;
	} else if (c == '+' && plus_space)
		c = ' ';
	(*i)++;
	return c == 0 ? -1 : c;
}

ssize_t
http_pct_decode(const char *src, size_t len, bool plus_space, char *dst,
    size_t size)
{
	size_t i = 0, o = 0;
	int c;

	if (size == 0)
		return -1;
	while (i < len) {
		if ((c = http_pct_byte(src, len, &i, plus_space)) < 0 ||
		    o + 1 >= size)
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return (ssize_t)o;
}

/* Whether the n encoded bytes at s decode to name: 1, 0, or -1 if bad. */
static int
http_query_name_is(const char *s, size_t n, const char *name)
{
	size_t i = 0, k = 0;
	int c;

	while (i < n) {
		if ((c = http_pct_byte(s, n, &i, true)) < 0)
			return -1;
		if (name[k] == '\0' || (uint8_t)name[k] != c) {
			/* Check the rest decodes, for a consistent -1. */
			while (i < n)
				if (http_pct_byte(s, n, &i, true) < 0)
					return -1;
			return 0;
		}
		k++;
	}
	return name[k] == '\0';
}

int
http_query_get(const struct http_request *req, const char *name, char *dst,
    size_t size)
{
	const char *s = req->query, *e, *eq;
	int r;

	if (s == NULL)
		return 0;
	for (; *s != '\0'; s = *e == '\0' ? e : e + 1) {
		e = strchr(s, '&');
		if (e == NULL)
			e = s + strlen(s);
		if (e == s)
			continue;
		eq = memchr(s, '=', (size_t)(e - s));
		if (eq == NULL)
			eq = e;
		if ((r = http_query_name_is(s, (size_t)(eq - s), name)) < 0)
			return -1;
		if (r == 0)
			continue;
		if (eq == e)
			return http_pct_decode("", 0, true, dst, size) < 0 ?
			    -1 : 1;
		return http_pct_decode(eq + 1, (size_t)(e - eq - 1), true,
		    dst, size) < 0 ? -1 : 1;
	}
	return 0;
}

/* RFC 9110 15, the codes jmapd may send. */
static const struct {
	int		 code;
	const char	*text;
} http_statuses[] = {
	{ 100, "Continue" },
	{ 101, "Switching Protocols" },
	{ 200, "OK" },
	{ 201, "Created" },
	{ 202, "Accepted" },
	{ 204, "No Content" },
	{ 206, "Partial Content" },
	{ 301, "Moved Permanently" },
	{ 302, "Found" },
	{ 303, "See Other" },
	{ 304, "Not Modified" },
	{ 307, "Temporary Redirect" },
	{ 308, "Permanent Redirect" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" },
	{ 408, "Request Timeout" },
	{ 409, "Conflict" },
	{ 410, "Gone" },
	{ 411, "Length Required" },
	{ 412, "Precondition Failed" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" },
	{ 416, "Range Not Satisfiable" },
	{ 417, "Expectation Failed" },
	{ 421, "Misdirected Request" },
	{ 422, "Unprocessable Content" },
	{ 426, "Upgrade Required" },
	{ 428, "Precondition Required" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
	{ 505, "HTTP Version Not Supported" },
};

const char *
http_status_text(int status)
{
	size_t i;

	for (i = 0; i < sizeof(http_statuses) / sizeof(http_statuses[0]); i++)
		if (http_statuses[i].code == status)
			return http_statuses[i].text;
	return "Unknown";
}

/*
 * IMF-fixdate (RFC 9110 5.6.7), with its own day and month names:
 * strftime's %a and %b follow the locale.
 */
void
http_date(time_t t, char *dst, size_t size)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0) {
		if (size > 0)
			dst[0] = '\0';
		return;
	}
	snprintf(dst, size, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void
http_response_head(struct buf *out, int status, time_t t)
{
	char date[32];

	http_date(t, date, sizeof(date));
	buf_printf(out, "HTTP/1.1 %03d %s\r\nDate: %s\r\n", status,
	    http_status_text(status), date);
}

void
http_chunk(struct buf *out, const void *p, size_t len)
{
	if (len == 0)
		return;
	buf_printf(out, "%zx\r\n", len);
	buf_append(out, p, len);
	buf_append(out, "\r\n", 2);
}

void
http_chunk_end(struct buf *out)
{
	buf_append(out, "0\r\n\r\n", 5);
}
