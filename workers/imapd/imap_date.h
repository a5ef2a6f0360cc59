/* SPDX-License-Identifier: ISC */
/*
 * imap_date.h: the dates of IMAP (RFC 9051 9): date-time, the INTERNALDATE
 * of APPEND and FETCH ("dd-Mon-yyyy hh:mm:ss +zzzz" in DQUOTEs, the day
 * padded with a space), and date, the day of SEARCH's BEFORE, ON, SINCE
 * and their SENT and SAVED forms ("d-Mon-yyyy", quoted or not).  Times are
 * seconds since the epoch (UTC) in an int64_t, zones minutes east of UTC.
 * Month names are matched without regard to case, as ABNF strings are.
 * Pure functions over struct imap_parser; RFC 5322 dates are lib/mime's.
 */
#ifndef BULWARK_IMAP_DATE_H
#define BULWARK_IMAP_DATE_H

#include <stdint.h>

#include "buf.h"
#include "imap_parse.h"

/* Zones accepted: -2359 .. +2359 (real ones run from -1200 to +1400). */
#define IMAP_DATE_ZONE_MAX	(23 * 60 + 59)

/*
 * date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time
 * SP zone DQUOTE.  Sets *t_r to the instant in UTC and *zone_r to the zone
 * in minutes east.  The year is any 4DIGIT, the day must exist in its
 * month (leap years of the Gregorian calendar), the time is 00:00:00 to
 * 23:59:60 (a leap second counts as the next one).  Returns 0, or -1 with
 * ps->error set.
 */
int	imap_date_parse_datetime(struct imap_parser *ps, int64_t *t_r,
	    int *zone_r);

/*
 * date = date-text / DQUOTE date-text DQUOTE; date-text = date-day "-"
 * date-month "-" date-year, the day one or two digits.  Sets *t_r to
 * 00:00:00 UTC of that day (SEARCH compares days, disregarding time and
 * zone, RFC 9051 6.4.4).  Returns 0, or -1 with ps->error set.
 */
int	imap_date_parse_date(struct imap_parser *ps, int64_t *t_r);

/*
 * Appends t, seen in zone (minutes east, within IMAP_DATE_ZONE_MAX), as a
 * date-time with its DQUOTEs: "17-Jul-1996 02:44:25 -0700", " 1-Jan-2000
 * ...".  Returns 0, or -1 if the zone is out of range or the local year
 * is outside 0000..9999; out is then unchanged.
 */
int	imap_date_write_datetime(struct buf *out, int64_t t, int zone);

/* Appends the day of t (UTC) as date-text, "1-Feb-2024" (for tests). */
int	imap_date_write_date(struct buf *out, int64_t t);

/* Seconds of 00:00:00 UTC on day/month(1..12)/year, proleptic Gregorian. */
int64_t	imap_date_from_civil(int year, int month, int day);

#endif
