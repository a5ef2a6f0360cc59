/* SPDX-License-Identifier: ISC */
/*
 * imap_date.c: date-time and date of RFC 9051 9 (date, date-day,
 * date-day-fixed, date-month, date-year, date-time, time, zone), parsed to
 * and written from seconds since the epoch.  The calendar arithmetic is the
 * usual count of days in 400-year eras of the proleptic Gregorian calendar,
 * with March as the first month so that leap days come last.
 */
#include "imap_date.h"

#include <stdbool.h>
#include <stdio.h>
#include <strings.h>

static const char imap_months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static bool
date_is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
date_month_days(int y, int m)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && date_is_leap(y) ? 29 : days[m - 1];
}

int64_t
imap_date_from_civil(int year, int month, int day)
{
	int64_t y = year, era, yoe, doy, doe;

	if (month <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;			/* 0..399 */
	doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	/* 719468 days from 0000-03-01 to 1970-01-01 */
	return (era * 146097 + doe - 719468) * 86400;
}

/* The inverse of imap_date_from_civil() for a count of days. */
static void
date_to_civil(int64_t days, int *year, int *month, int *day)
{
	int64_t z = days + 719468, era, doe, yoe, doy, mp;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = (int)(yoe + era * 400 + (*month <= 2));
}

static int
date_fail(struct imap_parser *ps, const char *why)
{
	if (ps->error == NULL)
		ps->error = why;
	return -1;
}

/* Reads exactly n digits (n <= 4) into *v. */
static bool
date_digits(struct imap_parser *ps, int n, int *v)
{
	int i;

	if (ps->end - ps->p < n)
		return false;
	for (*v = 0, i = 0; i < n; i++) {
		if (ps->p[i] < '0' || ps->p[i] > '9')
			return false;
		*v = *v * 10 + (ps->p[i] - '0');
	}
	ps->p += n;
	return true;
}

static bool
date_char(struct imap_parser *ps, uint8_t c)
{
	if (!imap_parse_peek(ps, c))
		return false;
	ps->p++;
	return true;
}

/* "-" date-month "-" date-year, then checks the day against the month. */
static int
date_month_year(struct imap_parser *ps, int day, int64_t *t_r)
{
	int m, year;

	if (!date_char(ps, '-') || ps->end - ps->p < 3)
		return date_fail(ps, "Invalid date");
	for (m = 0; m < 12; m++)
		if (strncasecmp((const char *)ps->p, imap_months[m], 3) == 0)
			break;
	if (m == 12)
		return date_fail(ps, "Invalid month in date");
	ps->p += 3;
	if (!date_char(ps, '-'))
		return date_fail(ps, "Invalid date");
	if (!date_digits(ps, 4, &year))
		return date_fail(ps, "Invalid year in date");
	if (day < 1 || day > date_month_days(year, m + 1))
		return date_fail(ps, "Invalid day of month in date");
	*t_r = imap_date_from_civil(year, m + 1, day);
	return 0;
}

int
imap_date_parse_date(struct imap_parser *ps, int64_t *t_r)
{
	bool quoted;
	int day, d2;

	if (ps->error != NULL)
		return -1;
	quoted = date_char(ps, '"');
	/* date-day = 1*2DIGIT */
	if (!date_digits(ps, 1, &day))
		return date_fail(ps, imap_parse_at_eol(ps) ?
		    "Missing argument" : "Invalid date");
	if (date_digits(ps, 1, &d2))
		day = day * 10 + d2;
	if (date_month_year(ps, day, t_r) == -1)
		return -1;
	if (quoted && !date_char(ps, '"'))
		return date_fail(ps, "Invalid date");
	return 0;
}

/* SP time SP zone, added to *t. */
static int
date_time_zone(struct imap_parser *ps, int64_t *t, int *zone_r)
{
	int hh, mm, ss, zh, zm, sign;

	if (!date_char(ps, ' ') || !date_digits(ps, 2, &hh) ||
	    !date_char(ps, ':') || !date_digits(ps, 2, &mm) ||
	    !date_char(ps, ':') || !date_digits(ps, 2, &ss))
		return date_fail(ps, "Invalid time in date-time");
	if (hh > 23 || mm > 59 || ss > 60)
		return date_fail(ps, "Invalid time in date-time");
	if (!date_char(ps, ' '))
		return date_fail(ps, "Invalid zone in date-time");
	if (date_char(ps, '+'))
		sign = 1;
	else if (date_char(ps, '-'))
		sign = -1;
	else
		return date_fail(ps, "Invalid zone in date-time");
	if (!date_digits(ps, 2, &zh) || !date_digits(ps, 2, &zm) ||
	    zh > 23 || zm > 59)
		return date_fail(ps, "Invalid zone in date-time");
	*zone_r = sign * (zh * 60 + zm);
	/* Subtracting the zone from the time gives UT (RFC 9051 9 zone). */
	*t += (int64_t)hh * 3600 + mm * 60 + ss - (int64_t)*zone_r * 60;
	return 0;
}

int
imap_date_parse_datetime(struct imap_parser *ps, int64_t *t_r, int *zone_r)
{
	int day, d;
	int64_t t;

	if (ps->error != NULL)
		return -1;
	if (!date_char(ps, '"'))
		return date_fail(ps, imap_parse_at_eol(ps) ?
		    "Missing argument" : "Invalid date-time");
	/* date-day-fixed = (SP DIGIT) / 2DIGIT */
	if (date_char(ps, ' ')) {
		if (!date_digits(ps, 1, &day))
			return date_fail(ps, "Invalid date-time");
	} else if (date_digits(ps, 1, &d) && date_digits(ps, 1, &day))
		day += d * 10;
	else
		return date_fail(ps, "Invalid date-time");
	if (date_month_year(ps, day, &t) == -1 ||
	    date_time_zone(ps, &t, zone_r) == -1)
		return -1;
	if (!date_char(ps, '"'))
		return date_fail(ps, "Invalid date-time");
	*t_r = t;
	return 0;
}

/*
 * Splits t into a civil date and the seconds of that day; returns false if
 * the year is outside 0000..9999, which date-year cannot hold.
 */
static bool
date_split(int64_t t, int *y, int *m, int *d, int *secs)
{
	int64_t days;

	if (t < imap_date_from_civil(0, 1, 1) ||
	    t >= imap_date_from_civil(10000, 1, 1))
		return false;
	days = t / 86400;
	*secs = (int)(t % 86400);
	if (*secs < 0) {
		*secs += 86400;
		days--;
	}
	date_to_civil(days, y, m, d);
	return true;
}

int
imap_date_write_datetime(struct buf *out, int64_t t, int zone)
{
	int y, m, d, secs, az, n;
	char s[48];

	if (zone < -IMAP_DATE_ZONE_MAX || zone > IMAP_DATE_ZONE_MAX ||
	    t > INT64_MAX / 2 || t < INT64_MIN / 2 ||
	    !date_split(t + (int64_t)zone * 60, &y, &m, &d, &secs))
		return -1;
	az = zone < 0 ? -zone : zone;
	n = snprintf(s, sizeof(s), "\"%2d-%s-%04d %02d:%02d:%02d %c%02d%02d\"",
	    d, imap_months[m - 1], y, secs / 3600, secs / 60 % 60, secs % 60,
	    zone < 0 ? '-' : '+', az / 60, az % 60);
	buf_append(out, s, (size_t)n);
	return 0;
}

int
imap_date_write_date(struct buf *out, int64_t t)
{
	int y, m, d, secs, n;
	char s[32];

	if (!date_split(t, &y, &m, &d, &secs))
		return -1;
	n = snprintf(s, sizeof(s), "%d-%s-%04d", d, imap_months[m - 1], y);
	buf_append(out, s, (size_t)n);
	return 0;
}
