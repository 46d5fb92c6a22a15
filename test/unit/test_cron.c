/*
 * test/unit/test_cron.c
 *		Unit tests of src/scheduler/cron.c: parsing, next fire times, the
 *		last day of the month and daylight saving transitions.
 *
 * Time zones come from fixed offset tables (America/New_York and
 * Europe/Berlin in 2026) and, when /usr/share/zoneinfo is present, from the
 * C library's TZ handling, to show the same rules hold with real data.
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "../../src/scheduler/cron.c"

typedef struct OffsetTable
{
	long		base;			/* offset before the first change */
	int			n;
	int64_t		at[4];			/* UTC instants of the changes */
	long		off[4];			/* offset from each change on */
} OffsetTable;

static long
table_offset(void *arg, int64_t utc)
{
	const OffsetTable *t = arg;
	long		off = t->base;

	for (int i = 0; i < t->n; i++)
		if (utc >= t->at[i])
			off = t->off[i];
	return off;
}

/* table_offset, counting its calls (each stands for a pg_localtime() in the server) */
static long offset_calls = 0;

static long
counting_offset(void *arg, int64_t utc)
{
	offset_calls++;
	return table_offset(arg, utc);
}

static long
libc_offset(void *arg, int64_t utc)
{
	time_t		t = (time_t) utc;
	struct tm	tm;

	(void) arg;
	localtime_r(&t, &tm);
	return tm.tm_gmtoff;
}

static int64_t
ts(int y, int m, int d, int hh, int mi, int ss)
{
	return CronDaysFromCivil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss;
}

static char fmtbuf[8][32];
static int	fmtidx = 0;

static const char *
fmt(int64_t t)
{
	char	   *b = fmtbuf[fmtidx++ % 8];
	int64_t		days = cron_floordiv(t, 86400);
	int64_t		sod = t - days * 86400;
	int			y,
				m,
				d;

	CronCivilFromDays(days, &y, &m, &d);
	snprintf(b, 32, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d,
			 (int) (sod / 3600), (int) (sod % 3600 / 60), (int) (sod % 60));
	return b;
}

/* next fire after the UTC instant given as text fields, formatted in UTC */
static const char *
next_str(const char *expr, int64_t after, CronOffsetFn fn, void *arg)
{
	CronSchedule c;
	char		err[256];
	int64_t		next;

	if (!CronParse(expr, &c, err, sizeof(err)))
		return "parse error";
	if (!CronNext(&c, after, fn, arg, &next))
		return "none";
	return fmt(next);
}

/*
 * CronNext (direct searches near an offset change) agrees with the wall-time
 * walk, cron_next_scan, for every "after" in the 4 hours around each change of
 * the table, every 7 seconds; returns the number of disagreements.
 */
static int
agrees_with_scan(const char *expr, OffsetTable *tz, int step)
{
	CronSchedule c;
	char		err[256];
	int			bad = 0;

	if (!CronParse(expr, &c, err, sizeof(err)))
		return -1;
	for (int k = 0; k < tz->n; k++)
		for (int64_t after = tz->at[k] - 4 * 3600; after <= tz->at[k] + 4 * 3600; after += step)
		{
			int64_t		a = 0,
						b = 0;
			bool		fa = CronNext(&c, after, table_offset, tz, &a);
			bool		fb = cron_next_scan(&c, after, table_offset, tz, true, &b);

			if (fa != fb || (fa && a != b))
			{
				if (bad++ < 3)
					printf("#   %s after %s: CronNext %s, scan %s\n", expr, fmt(after),
						   fa ? fmt(a) : "none", fb ? fmt(b) : "none");
			}
		}
	return bad;
}

static void
check_error(const char *expr, const char *want_substring)
{
	CronSchedule c;
	char		err[256] = "";
	bool		ok = CronParse(expr, &c, err, sizeof(err));

	UNIT_CHECK(!ok && strstr(err, want_substring) != NULL,
			   "\"%s\" is rejected: %s", expr, err);
}

/* fires of expr in [from, to), written into out (UTC instants) */
static int
fires(const char *expr, int64_t from, int64_t to, CronOffsetFn fn, void *arg,
	  int64_t *out, int max)
{
	CronSchedule c;
	char		err[256];
	int			n = 0;
	int64_t		t = from - 1;

	if (!CronParse(expr, &c, err, sizeof(err)))
		return -1;
	while (n < max && CronNext(&c, t, fn, arg, &t) && t < to)
		out[n++] = t;
	return n;
}

/*
 * The forms the configuration validator once checked with a parser of its
 * own (config/cfgcheck.c): it now calls CronParse, so the scheduler's
 * parser must accept and refuse them alike.
 */
static void
test_validator_forms(void)
{
	CronSchedule c;
	char		err[256];
	static const char *const good[] = {"0 2 * * *", "*/5 * * * *", "0 0 1 jan,jul *",
		"0 9-17/2 * * mon-fri", "30 0 2 * * *", "@daily", "@hourly", "0 0 * * 7",
	"@every 5m", "@reboot", "0 12 L * *"};
	static const char *const bad[] = {"0 2 * *", "61 * * * *", "* 24 * * *", "0 0 0 * *",
		"0 0 * 13 *", "0 0 * * funday", "*/0 * * * *", "5-1 * * * *", "@often", "a b c d e",
	"1 2 3 4 5 6 7", "0,,1 * * * *", "@every 0s", "@every"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		UNIT_CHECK(CronParse(good[i], &c, err, sizeof(err)), "cron \"%s\" is valid", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		err[0] = '\0';
		UNIT_CHECK(!CronParse(bad[i], &c, err, sizeof(err)) && err[0], "cron \"%s\" is refused: %s", bad[i], err);
	}
}

int
main(void)
{
	/* America/New_York 2026: EDT from 8 March 07:00 UTC, EST from 1 November 06:00 UTC */
	OffsetTable ny = {-5 * 3600, 2, {ts(2026, 3, 8, 7, 0, 0), ts(2026, 11, 1, 6, 0, 0)},
	{-4 * 3600, -5 * 3600}};

	/* Europe/Berlin 2026: CEST from 29 March 01:00 UTC, CET from 25 October 01:00 UTC */
	OffsetTable berlin = {3600, 2, {ts(2026, 3, 29, 1, 0, 0), ts(2026, 10, 25, 1, 0, 0)},
	{7200, 3600}};
	CronSchedule c;
	char		err[256];
	int64_t		out[64];
	int			n;

	/* --- calendar arithmetic --- */
	UNIT_CHECK_INT(CronDaysFromCivil(1970, 1, 1), 0, "1970-01-01 is day 0");
	UNIT_CHECK_INT(CronDaysFromCivil(2000, 3, 1), 11017, "2000-03-01 is day 11017");
	UNIT_CHECK_STR(fmt(ts(2028, 2, 29, 23, 59, 59)), "2028-02-29 23:59:59", "civil round trip on a leap day");
	UNIT_CHECK_STR(fmt(-1), "1969-12-31 23:59:59", "negative times format correctly");

	/* --- parsing --- */
	test_validator_forms();
	UNIT_CHECK(CronParse("*/15 * * * *", &c, err, sizeof(err)) && c.kind == CRON_FIELDS &&
			   c.minutes == ((1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45)) &&
			   c.seconds == 1 && !c.has_seconds, "*/15 in minutes is 0,15,30,45");
	UNIT_CHECK(CronParse("0 0 * JAN,mar-May SUN-tue", &c, err, sizeof(err)) &&
			   c.months == ((1 << 1) | (1 << 3) | (1 << 4) | (1 << 5)) &&
			   c.weekdays == ((1 << 0) | (1 << 1) | (1 << 2)), "month and day names, any case");
	UNIT_CHECK(CronParse("0 0 * * 7", &c, err, sizeof(err)) && c.weekdays == 1,
			   "7 is Sunday");
	UNIT_CHECK(CronParse("0 0 L * *", &c, err, sizeof(err)) && c.last_day && c.days == 0,
			   "L is the last day of the month");
	UNIT_CHECK(CronParse("0 0 1,15,L * *", &c, err, sizeof(err)) && c.last_day &&
			   c.days == ((1u << 1) | (1u << 15)), "L in a list");
	UNIT_CHECK(CronParse("5/20 * * * *", &c, err, sizeof(err)) &&
			   c.minutes == ((1ULL << 5) | (1ULL << 25) | (1ULL << 45)), "a/n runs from a to the end");
	UNIT_CHECK(CronParse("10-20/5 * * * *", &c, err, sizeof(err)) &&
			   c.minutes == ((1ULL << 10) | (1ULL << 15) | (1ULL << 20)), "a range with a step");
	UNIT_CHECK(CronParse("*/10 * * * * *", &c, err, sizeof(err)) && c.has_seconds &&
			   c.seconds == ((1ULL << 0) | (1ULL << 10) | (1ULL << 20) | (1ULL << 30) | (1ULL << 40) | (1ULL << 50)),
			   "6 fields: seconds first");
	UNIT_CHECK(CronParse("  @Daily ", &c, err, sizeof(err)) && c.kind == CRON_FIELDS &&
			   c.hours == 1 && c.minutes == 1, "@daily, any case, surrounding blanks");
	UNIT_CHECK(CronParse("@reboot", &c, err, sizeof(err)) && c.kind == CRON_REBOOT, "@reboot");
	UNIT_CHECK(CronParse("@every 30s", &c, err, sizeof(err)) && c.kind == CRON_EVERY &&
			   c.every == 30, "@every 30s");
	UNIT_CHECK(CronParse("@every 5m", &c, err, sizeof(err)) && c.every == 300, "@every 5m");
	UNIT_CHECK(CronParse("@every 1h30m", &c, err, sizeof(err)) && c.every == 5400, "@every 1h30m");

	check_error("", "empty");
	check_error("   ", "empty");
	check_error("* * * *", "expected 5 fields");
	check_error("* * * * * * *", "found more than 6");
	check_error("61 * * * *", "minute field: 61 is out of range 0-59");
	check_error("* 24 * * *", "hour field: 24 is out of range 0-23");
	check_error("* * 0 * *", "day-of-month field: 0 is out of range 1-31");
	check_error("* * * 13 *", "month field: 13 is out of range 1-12");
	check_error("* * * * 8", "day-of-week field: 8 is out of range 0-7");
	check_error("60 * * * * *", "second field: 60 is out of range");
	check_error("5-2 * * * *", "range 5-2 is backwards");
	check_error("*/0 * * * *", "step 0 is out of range");
	check_error("*/ * * * *", "a step needs a number");
	check_error("* * * foo *", "month field: unknown name \"foo\"");
	check_error("* * * * monday", "unknown name \"monday\"");
	check_error("1,,2 * * * *", "a value is missing");
	check_error("L * * * *", "minute field");
	check_error("* * * * L", "day-of-week field");
	check_error("1x * * * *", "unexpected \"x\"");
	check_error("@bogus", "unknown macro @bogus");
	check_error("@daily 5", "takes no arguments");
	check_error("@every", "@every needs");
	check_error("@every 0s", "positive interval");
	check_error("@every 5x", "needs a unit");
	check_error("@every 400d", "longer than a year");

	/* --- next fire times in UTC --- */
	UNIT_CHECK_STR(next_str("*/15 * * * *", ts(2026, 1, 1, 10, 7, 0), NULL, NULL),
				   "2026-01-01 10:15:00", "*/15 after 10:07 is 10:15");
	UNIT_CHECK_STR(next_str("*/15 * * * *", ts(2026, 1, 1, 10, 15, 0), NULL, NULL),
				   "2026-01-01 10:30:00", "strictly after: 10:15 gives 10:30");
	UNIT_CHECK_STR(next_str("0 0 1 1 *", ts(2026, 1, 1, 0, 0, 0), NULL, NULL),
				   "2027-01-01 00:00:00", "yearly wraps to the next year");
	UNIT_CHECK_STR(next_str("@yearly", ts(2026, 6, 1, 0, 0, 0), NULL, NULL),
				   "2027-01-01 00:00:00", "@yearly");
	UNIT_CHECK_STR(next_str("@monthly", ts(2026, 12, 15, 0, 0, 0), NULL, NULL),
				   "2027-01-01 00:00:00", "@monthly across a year end");
	UNIT_CHECK_STR(next_str("@weekly", ts(2026, 11, 25, 12, 0, 0), NULL, NULL),
				   "2026-11-29 00:00:00", "@weekly is Sunday midnight");
	UNIT_CHECK_STR(next_str("@hourly", ts(2026, 12, 31, 23, 0, 0), NULL, NULL),
				   "2027-01-01 00:00:00", "@hourly across a year end");
	UNIT_CHECK_STR(next_str("0 9 * * mon-fri", ts(2026, 11, 27, 10, 0, 0), NULL, NULL),
				   "2026-11-30 09:00:00", "weekdays: Friday 10:00 gives Monday 09:00");
	UNIT_CHECK_STR(next_str("0 0 13 * fri", ts(2026, 11, 1, 0, 0, 0), NULL, NULL),
				   "2026-11-06 00:00:00", "day-of-month OR day-of-week: the first Friday");
	UNIT_CHECK_STR(next_str("0 0 13 * fri", ts(2026, 11, 9, 0, 0, 0), NULL, NULL),
				   "2026-11-13 00:00:00", "day-of-month OR day-of-week: the 13th");
	UNIT_CHECK_STR(next_str("0 0 */2 * fri", ts(2026, 11, 1, 0, 0, 0), NULL, NULL),
				   "2026-11-13 00:00:00", "a day-of-month starting with * ANDs with day-of-week");
	UNIT_CHECK_STR(next_str("0 0 31 * *", ts(2026, 4, 1, 0, 0, 0), NULL, NULL),
				   "2026-05-31 00:00:00", "the 31st skips 30-day months");
	UNIT_CHECK_STR(next_str("0 0 29 2 *", ts(2026, 1, 1, 0, 0, 0), NULL, NULL),
				   "2028-02-29 00:00:00", "29 February waits for a leap year");
	UNIT_CHECK_STR(next_str("0 0 30 2 *", ts(2026, 1, 1, 0, 0, 0), NULL, NULL),
				   "none", "30 February never fires");
	UNIT_CHECK_STR(next_str("*/10 * * * * *", ts(2026, 1, 1, 0, 0, 5), NULL, NULL),
				   "2026-01-01 00:00:10", "every 10 seconds");
	UNIT_CHECK_STR(next_str("* * * * * *", ts(2026, 12, 31, 23, 59, 59), NULL, NULL),
				   "2027-01-01 00:00:00", "every second across a year end");
	UNIT_CHECK_STR(next_str("@every 30s", ts(2026, 1, 1, 0, 0, 10), NULL, NULL),
				   "2026-01-01 00:00:30", "@every 30s is aligned to the epoch");
	UNIT_CHECK_STR(next_str("@every 5m", ts(2026, 1, 1, 0, 5, 0), NULL, NULL),
				   "2026-01-01 00:10:00", "@every 5m, strictly after");
	UNIT_CHECK_STR(next_str("@reboot", ts(2026, 1, 1, 0, 0, 0), NULL, NULL),
				   "none", "@reboot has no time-based fire");

	/* --- L: the last day of each month --- */
	UNIT_CHECK_STR(next_str("0 0 L * *", ts(2026, 1, 31, 0, 0, 0), NULL, NULL),
				   "2026-02-28 00:00:00", "L in February 2026 is the 28th");
	UNIT_CHECK_STR(next_str("0 0 L * *", ts(2028, 2, 1, 0, 0, 0), NULL, NULL),
				   "2028-02-29 00:00:00", "L in February 2028 is the 29th");
	UNIT_CHECK_STR(next_str("0 0 L * *", ts(2026, 4, 1, 0, 0, 0), NULL, NULL),
				   "2026-04-30 00:00:00", "L in April is the 30th");
	UNIT_CHECK_STR(next_str("30 23 L 12 *", ts(2026, 1, 1, 0, 0, 0), NULL, NULL),
				   "2026-12-31 23:30:00", "L of December");
	UNIT_CHECK_STR(next_str("0 0 1,L * *", ts(2026, 2, 1, 0, 0, 0), NULL, NULL),
				   "2026-02-28 00:00:00", "1,L: after the 1st comes the last");
	n = fires("0 12 L * *", ts(2026, 1, 1, 0, 0, 0), ts(2027, 1, 1, 0, 0, 0), NULL, NULL, out, 64);
	UNIT_CHECK_INT(n, 12, "L fires once a month over a year");
	UNIT_CHECK_STR(fmt(out[1]), "2026-02-28 12:00:00", "the second fire is 28 February");

	/* --- a time zone with a fixed table: New York, spring forward (02:00 -> 03:00) --- */
	n = fires("30 2 * * *", ts(2026, 3, 7, 5, 0, 0), ts(2026, 3, 10, 5, 0, 0), table_offset, &ny, out, 64);
	UNIT_CHECK_INT(n, 3, "New York spring: daily 02:30 fires once on each of 3 days");
	UNIT_CHECK_STR(fmt(out[0]), "2026-03-07 07:30:00", "the day before: 02:30 EST");
	UNIT_CHECK_STR(fmt(out[1]), "2026-03-08 07:30:00", "transition day: skipped 02:30 runs at 03:30 EDT");
	UNIT_CHECK_STR(fmt(out[2]), "2026-03-09 06:30:00", "the day after: 02:30 EDT");
	n = fires("0 * * * *", ts(2026, 3, 8, 5, 30, 0), ts(2026, 3, 8, 9, 30, 0), table_offset, &ny, out, 64);
	UNIT_CHECK_INT(n, 4, "New York spring: hourly keeps one run per real hour");
	UNIT_CHECK(n == 4 && out[1] - out[0] == 3600 && out[2] - out[1] == 3600 && out[3] - out[2] == 3600,
			   "hourly fires are 3600 s apart across the gap");

	/* New York, fall back (02:00 EDT -> 01:00 EST: 01:xx happens twice) */
	n = fires("30 2 * * *", ts(2026, 10, 31, 5, 0, 0), ts(2026, 11, 3, 5, 0, 0), table_offset, &ny, out, 64);
	UNIT_CHECK_INT(n, 3, "New York fall: daily 02:30 fires once on each of 3 days");
	UNIT_CHECK_STR(fmt(out[1]), "2026-11-01 07:30:00", "transition day: 02:30 EST");
	n = fires("30 1 * * *", ts(2026, 10, 31, 5, 0, 0), ts(2026, 11, 3, 5, 0, 0), table_offset, &ny, out, 64);
	UNIT_CHECK_INT(n, 3, "New York fall: daily 01:30 (which occurs twice) fires once a day");
	UNIT_CHECK_STR(fmt(out[1]), "2026-11-01 05:30:00", "transition day: the first 01:30 (EDT)");
	n = fires("30 * * * *", ts(2026, 11, 1, 4, 0, 0), ts(2026, 11, 1, 8, 0, 0), table_offset, &ny, out, 64);
	UNIT_CHECK_INT(n, 4, "New York fall: hourly at :30 fires every real hour, twice at 01:30");

	/* --- Berlin: 02:30 is skipped in March and repeated in October --- */
	n = fires("30 2 * * *", ts(2026, 3, 28, 0, 0, 0), ts(2026, 3, 31, 0, 0, 0), table_offset, &berlin, out, 64);
	UNIT_CHECK_INT(n, 3, "Berlin spring: daily 02:30 fires once on each of 3 days");
	UNIT_CHECK_STR(fmt(out[1]), "2026-03-29 01:30:00", "transition day: skipped 02:30 runs at 03:30 CEST");
	n = fires("30 2 * * *", ts(2026, 10, 24, 0, 0, 0), ts(2026, 10, 27, 0, 0, 0), table_offset, &berlin, out, 64);
	UNIT_CHECK_INT(n, 3, "Berlin fall: daily 02:30 (which occurs twice) fires once on each of 3 days");
	UNIT_CHECK_STR(fmt(out[0]), "2026-10-24 00:30:00", "the day before: 02:30 CEST");
	UNIT_CHECK_STR(fmt(out[1]), "2026-10-25 00:30:00", "transition day: the first 02:30 (CEST)");
	UNIT_CHECK_STR(fmt(out[2]), "2026-10-26 01:30:00", "the day after: 02:30 CET");
	n = fires("0 * * * *", ts(2026, 10, 24, 22, 30, 0), ts(2026, 10, 25, 2, 30, 0), table_offset, &berlin, out, 64);
	UNIT_CHECK_INT(n, 4, "Berlin fall: hourly fires every real hour, twice at 02:00");
	UNIT_CHECK(n == 4 && out[1] - out[0] == 3600 && out[2] - out[1] == 3600 && out[3] - out[2] == 3600,
			   "hourly fires are 3600 s apart across the fold");
	UNIT_CHECK_STR(next_str("* * * * * *", ts(2026, 10, 25, 0, 59, 59), table_offset, &berlin),
				   "2026-10-25 01:00:00", "every second continues through the fold");
	UNIT_CHECK_STR(next_str("* * * * * *", ts(2026, 10, 25, 1, 0, 0), table_offset, &berlin),
				   "2026-10-25 01:00:01", "every second: the second pass of 02:00:00 is followed by 02:00:01");
	UNIT_CHECK_STR(next_str("0 0 * * *", ts(2026, 6, 1, 12, 0, 0), table_offset, &berlin),
				   "2026-06-01 22:00:00", "Berlin midnight in summer is 22:00 UTC");
	UNIT_CHECK_STR(next_str("@every 30s", ts(2026, 10, 25, 0, 59, 50), table_offset, &berlin),
				   "2026-10-25 01:00:00", "@every ignores the time zone");

	n = fires("*/30 2 * * *", ts(2026, 10, 24, 23, 0, 0), ts(2026, 10, 25, 3, 0, 0), table_offset, &berlin, out, 64);
	UNIT_CHECK_INT(n, 2, "Berlin fall: a fixed-hour job runs 02:00 and 02:30 once, in the first pass");
	UNIT_CHECK(n == 2 && out[0] == ts(2026, 10, 25, 0, 0, 0) && out[1] == ts(2026, 10, 25, 0, 30, 0),
			   "the fixed-hour runs are at 02:00 and 02:30 CEST");
	n = fires("0,30 * * * *", ts(2026, 10, 24, 23, 45, 0), ts(2026, 10, 25, 1, 45, 0), table_offset, &berlin, out, 64);
	UNIT_CHECK_INT(n, 4, "Berlin fall: an every-half-hour job runs four times across the repeated hour");
	n = fires("*/30 2 * * *", ts(2026, 3, 28, 23, 0, 0), ts(2026, 3, 29, 3, 0, 0), table_offset, &berlin, out, 64);
	UNIT_CHECK_INT(n, 2, "Berlin spring: the skipped hour's 02:00 and 02:30 still run once each");
	UNIT_CHECK(n == 2 && out[0] == ts(2026, 3, 29, 1, 0, 0) && out[1] == ts(2026, 3, 29, 1, 30, 0),
			   "they run at 03:00 and 03:30 CEST");

	/*
	 * Near an offset change, CronNext searches directly instead of walking
	 * wall times: the same answers as the walk for all kinds of schedules...
	 */
	{
		static const char *const exprs[] = {"* * * * * *", "*/7 * * * * *", "* * * * *", "*/5 * * * *",
			"0 * * * *", "30 * * * *", "0,30 * * * *", "30 2 * * *", "*/30 2 * * *", "0 2 * * *",
			"30 1 * * *", "0 3 * * *", "15 1-3 * * *", "0 0 * * *", "59 59 1 * * *", "0 30 2 * * *",
		"0 0 1 1 *"};

		for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++)
		{
			UNIT_CHECK_INT(agrees_with_scan(exprs[i], &berlin, 7), 0,
						   "Berlin: \"%s\" near both changes: direct search = walk", exprs[i]);
			UNIT_CHECK_INT(agrees_with_scan(exprs[i], &ny, 11), 0,
						   "New York: \"%s\" near both changes: direct search = walk", exprs[i]);
		}
	}
	/* ... and an every-second schedule near a change costs about what it costs in July */
	{
		CronSchedule every;
		int64_t		t;
		long		july,
					near_fall,
					near_spring;

		CronParse("* * * * * *", &every, err, sizeof(err));
		offset_calls = 0;
		CronNext(&every, ts(2026, 7, 1, 1, 30, 0), counting_offset, &berlin, &t);
		july = offset_calls;
		offset_calls = 0;
		CronNext(&every, ts(2026, 10, 25, 1, 30, 0), counting_offset, &berlin, &t);
		near_fall = offset_calls;
		UNIT_CHECK_STR(fmt(t), "2026-10-25 01:30:01", "every second, 30 minutes after the fall-back: the next second");
		offset_calls = 0;
		CronNext(&every, ts(2026, 3, 29, 0, 30, 0), counting_offset, &berlin, &t);
		near_spring = offset_calls;
		UNIT_CHECK_STR(fmt(t), "2026-03-29 00:30:01", "every second, 30 minutes before the spring-forward: the next second");
		UNIT_CHECK(july <= 8 && near_fall <= 60 && near_spring <= 60,
				   "offset lookups for one next fire: %ld in July, %ld and %ld near the changes (the walk took ~30000)",
				   july, near_fall, near_spring);
	}

	/* --- never past the end of PostgreSQL's timestamp range (294276-12-31 23:59:59 UTC) --- */
	UNIT_CHECK_STR(next_str("0 0 * * *", ts(294276, 12, 31, 12, 0, 0), NULL, NULL), "none",
				   "daily at midnight after 294276-12-31 12:00: none (294277 is out of range)");
	UNIT_CHECK_STR(next_str("59 59 23 31 12 *", ts(294276, 12, 31, 12, 0, 0), NULL, NULL),
				   "294276-12-31 23:59:59", "the range's last second is still returned");
	UNIT_CHECK_STR(next_str("@every 1d", ts(294276, 12, 31, 12, 0, 0), NULL, NULL), "none",
				   "@every 1d near the end of the range: none");
	UNIT_CHECK_STR(next_str("* * * * * *", CRON_MAX_UTC, NULL, NULL), "none",
				   "after the last second: none");
	UNIT_CHECK_STR(next_str("0 0 * * *", ts(294276, 12, 31, 22, 0, 0), table_offset, &berlin),
				   "294276-12-31 23:00:00", "midnight in Berlin (UTC+1) on 31 December 294276 is in range");
	UNIT_CHECK_STR(next_str("0 0 * * *", ts(294276, 12, 31, 23, 0, 0), table_offset, &berlin), "none",
				   "the next Berlin midnight is not");

	UNIT_CHECK(CronParse("0 0 ? * mon", &c, err, sizeof(err)) && c.days_star && c.weekdays == 2,
			   "? is accepted as * in a day field");
	UNIT_CHECK(CronParse("0\t0  *\t* *", &c, err, sizeof(err)) && c.hours == 1,
			   "fields may be separated by tabs and several blanks");

	/* --- the same with the C library's time zone data, when installed --- */
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) == 0)
	{
		setenv("TZ", "Europe/Berlin", 1);
		tzset();
		n = fires("30 2 * * *", ts(2026, 10, 24, 0, 0, 0), ts(2026, 10, 27, 0, 0, 0), libc_offset, NULL, out, 64);
		UNIT_CHECK(n == 3 && out[1] == ts(2026, 10, 25, 0, 30, 0),
				   "tzdata Europe/Berlin fall: daily 02:30 once a day, first occurrence");
		n = fires("30 2 * * *", ts(2026, 3, 28, 0, 0, 0), ts(2026, 3, 31, 0, 0, 0), libc_offset, NULL, out, 64);
		UNIT_CHECK(n == 3 && out[1] == ts(2026, 3, 29, 1, 30, 0),
				   "tzdata Europe/Berlin spring: daily 02:30 once a day, at 03:30 CEST");
		setenv("TZ", "America/New_York", 1);
		tzset();
		n = fires("30 2 * * *", ts(2026, 3, 7, 5, 0, 0), ts(2026, 3, 10, 5, 0, 0), libc_offset, NULL, out, 64);
		UNIT_CHECK(n == 3 && out[1] == ts(2026, 3, 8, 7, 30, 0),
				   "tzdata America/New_York spring: daily 02:30 once a day");
	}
	else
		printf("# /usr/share/zoneinfo missing: tzdata checks skipped\n");

	return unit_done();
}
