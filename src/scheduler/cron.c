/*-------------------------------------------------------------------------
 *
 * src/scheduler/cron.c
 *		Pure-C cron expressions: parsing and next-fire computation.
 *
 * Syntax: 5 fields (minute hour day-of-month month day-of-week) or 6 with a
 * leading seconds field; each field a list of *, values, ranges a-b and
 * steps (*\/n, a-b/n, a/n); month names jan-dec, day names sun-sat (0 and 7
 * are Sunday); L in the day-of-month field is the month's last day.  When
 * both day fields are restricted a day matching either runs (Vixie cron).
 * Macros: @yearly @annually @monthly @weekly @daily @midnight @hourly,
 * @reboot (once per server start) and @every <n>s|m|h|d (a fixed interval,
 * aligned to multiples of the interval since the Unix epoch, in UTC).
 *
 * Times are wall-clock times of the schedule's time zone.  Across daylight
 * saving changes (RFC 5545's rules):
 *	- a wall time that does not exist (skipped by a spring-forward) fires at
 *	  the instant obtained with the offset in force before the gap, i.e. as
 *	  much later as the gap is long: 02:30 becomes 03:30;
 *	- a wall time that occurs twice (fall-back) fires once, at its first
 *	  occurrence, unless the hour field starts with * ("every hour"): then it
 *	  fires at both, so interval-like schedules keep following real time.
 * So a daily 02:30 job fires exactly once on both transition days.
 *
 * No PostgreSQL headers: unit-tested by test/unit/test_cron.c.
 *
 *-------------------------------------------------------------------------
 */
#include "scheduler/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRON_DAY 86400
#define CRON_MAX_YEARS 10		/* give up when nothing matches within this */
#define CRON_FOLD_MARGIN 10800	/* UTC offsets near each other differ by < 3h */


static const char *const cron_month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"
};
static const char *const cron_day_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

typedef struct CronField
{
	const char *name;
	int			min;
	int			max;
	const char *const *names;	/* names[i] is value min + i; NULL if none */
	int			nnames;
} CronField;

static const CronField cron_fields[6] = {
	{"second", 0, 59, NULL, 0},
	{"minute", 0, 59, NULL, 0},
	{"hour", 0, 23, NULL, 0},
	{"day-of-month", 1, 31, NULL, 0},
	{"month", 1, 12, cron_month_names, 12},
	{"day-of-week", 0, 7, cron_day_names, 7},
};

/* floor division and modulo for negative times */
static int64_t
cron_floordiv(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/*
 * CronDaysFromCivil
 *		Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
 */
int64_t
CronDaysFromCivil(int y, int m, int d)
{
	int64_t		yy = (int64_t) y - (m <= 2);
	int64_t		era = cron_floordiv(yy, 400);
	int64_t		yoe = yy - era * 400;
	int64_t		doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t		doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/*
 * CronCivilFromDays
 *		Inverse of CronDaysFromCivil.
 */
void
CronCivilFromDays(int64_t days, int *y, int *m, int *d)
{
	int64_t		z = days + 719468;
	int64_t		era = cron_floordiv(z, 146097);
	int64_t		doe = z - era * 146097;
	int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t		mp = (5 * doy + 2) / 153;
	int			dd = (int) (doy - (153 * mp + 2) / 5 + 1);
	int			mm = (int) (mp < 10 ? mp + 3 : mp - 9);

	*y = (int) (yoe + era * 400 + (mm <= 2));
	*m = mm;
	*d = dd;
}

static int
cron_days_in_month(int y, int m)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return mdays[m - 1];
}

/* CronOffsetUTC: an offset function for schedules in UTC */
long
CronOffsetUTC(void *arg, int64_t utc)
{
	(void) arg;
	(void) utc;
	return 0;
}

/* ---------------------------------------------------------------- parsing */

/* parse a number or name at *p; advances *p */
static bool
cron_parse_value(const CronField *f, const char **p, int *value, char *err, size_t errlen)
{
	const char *s = *p;

	if (isdigit((unsigned char) *s))
	{
		long		v = 0;

		while (isdigit((unsigned char) *s))
		{
			v = v * 10 + (*s - '0');
			if (v > 1000)
				break;
			s++;
		}
		if (v < f->min || v > f->max)
		{
			snprintf(err, errlen, "%s field: %ld is out of range %d-%d",
					 f->name, v, f->min, f->max);
			return false;
		}
		*value = (int) v;
		*p = s;
		return true;
	}
	if (isalpha((unsigned char) *s) && f->names != NULL)
	{
		char		word[4];
		int			n = 0;

		while (isalpha((unsigned char) s[n]) && n < 3)
		{
			word[n] = (char) tolower((unsigned char) s[n]);
			n++;
		}
		word[n] = '\0';
		if (n == 3 && !isalpha((unsigned char) s[3]))
		{
			for (int i = 0; i < f->nnames; i++)
			{
				if (strcmp(word, f->names[i]) == 0)
				{
					*value = f->min + i;	/* months start at 1, days at 0 */
					*p = s + 3;
					return true;
				}
			}
		}
		snprintf(err, errlen, "%s field: unknown name \"%.*s\"", f->name,
				 (int) strcspn(s, ",-/ \t"), s);
		return false;
	}
	if (*s == '\0' || *s == ',')
		snprintf(err, errlen, "%s field: a value is missing", f->name);
	else
		snprintf(err, errlen, "%s field: unexpected \"%c\"", f->name, *s);
	return false;
}

/* parse one field's text (NUL-terminated, no spaces) into a bit set */
static bool
cron_parse_field(const CronField *f, const char *text, uint64_t *bits, bool *star,
				 bool *last, char *err, size_t errlen)
{
	const char *p = text;

	*bits = 0;
	*star = (text[0] == '*' || text[0] == '?');
	if (last)
		*last = false;

	for (;;)
	{
		int			lo,
					hi,
					step = 1;

		if ((*p == 'L' || *p == 'l') && last != NULL && (p[1] == ',' || p[1] == '\0'))
		{
			*last = true;
			p++;
		}
		else
		{
			bool		open_range = false;

			if (*p == '*' || *p == '?')
			{
				lo = f->min;
				hi = f->max;
				p++;
			}
			else
			{
				if (!cron_parse_value(f, &p, &lo, err, errlen))
					return false;
				hi = lo;
				if (*p == '-')
				{
					p++;
					if (!cron_parse_value(f, &p, &hi, err, errlen))
						return false;
					if (hi < lo)
					{
						snprintf(err, errlen, "%s field: range %d-%d is backwards",
								 f->name, lo, hi);
						return false;
					}
				}
				else
					open_range = true;
			}
			if (*p == '/')
			{
				long		s = 0;

				p++;
				if (!isdigit((unsigned char) *p))
				{
					snprintf(err, errlen, "%s field: a step needs a number after /", f->name);
					return false;
				}
				while (isdigit((unsigned char) *p))
				{
					s = s * 10 + (*p - '0');
					if (s > 1000)
						break;
					p++;
				}
				if (s < 1 || s > f->max - f->min + 1)
				{
					snprintf(err, errlen, "%s field: step %ld is out of range 1-%d",
							 f->name, s, f->max - f->min + 1);
					return false;
				}
				step = (int) s;
				if (open_range)
					hi = f->max;	/* a/n: from a to the end */
			}
			for (int v = lo; v <= hi; v += step)
				*bits |= (uint64_t) 1 << v;
		}
		if (*p == ',')
		{
			p++;
			continue;
		}
		if (*p == '\0')
			break;
		snprintf(err, errlen, "%s field: unexpected \"%c\"", f->name, *p);
		return false;
	}
	return true;
}

static bool
cron_parse_every(const char *s, CronSchedule *out, char *err, size_t errlen)
{
	int64_t		total = 0;
	bool		any = false;

	while (isspace((unsigned char) *s))
		s++;
	while (*s)
	{
		int64_t		n = 0;
		int64_t		unit;

		if (!isdigit((unsigned char) *s))
		{
			snprintf(err, errlen, "@every needs an interval such as 30s, 5m, 2h or 1d");
			return false;
		}
		while (isdigit((unsigned char) *s))
		{
			n = n * 10 + (*s - '0');
			if (n > 100000000)
			{
				snprintf(err, errlen, "@every interval is too long");
				return false;
			}
			s++;
		}
		switch (tolower((unsigned char) *s))
		{
			case 's':
				unit = 1;
				break;
			case 'm':
				unit = 60;
				break;
			case 'h':
				unit = 3600;
				break;
			case 'd':
				unit = CRON_DAY;
				break;
			default:
				snprintf(err, errlen, "@every interval needs a unit s, m, h or d after %lld",
						 (long long) n);
				return false;
		}
		s++;
		total += n * unit;
		any = true;
		while (isspace((unsigned char) *s))
			s++;
	}
	if (!any || total <= 0)
	{
		snprintf(err, errlen, "@every needs a positive interval such as 30s, 5m, 2h or 1d");
		return false;
	}
	if (total > 366 * (int64_t) CRON_DAY)
	{
		snprintf(err, errlen, "@every interval is longer than a year");
		return false;
	}
	out->kind = CRON_EVERY;
	out->every = total;
	return true;
}

/*
 * CronParse
 *		Parse a cron expression; on error return false with a message in err.
 */
bool
CronParse(const char *text, CronSchedule *out, char *err, size_t errlen)
{
	char		buf[256];
	char	   *fields[7];
	int			nfields = 0;
	const char *expanded;
	char	   *p;
	uint64_t	bits[6];
	bool		star[6];
	bool		last = false;
	int			first;

	memset(out, 0, sizeof(*out));
	if (text == NULL)
	{
		snprintf(err, errlen, "the expression is empty");
		return false;
	}
	while (isspace((unsigned char) *text))
		text++;
	if (*text == '\0')
	{
		snprintf(err, errlen, "the expression is empty");
		return false;
	}
	if (strlen(text) >= sizeof(buf))
	{
		snprintf(err, errlen, "the expression is longer than %d bytes", (int) sizeof(buf) - 1);
		return false;
	}

	expanded = text;
	if (text[0] == '@')
	{
		size_t		n = strcspn(text, " \t");
		char		word[16];
		const char *rest = text + n;

		while (isspace((unsigned char) *rest))
			rest++;
		if (n >= sizeof(word))
			n = sizeof(word) - 1;
		for (size_t i = 0; i < n; i++)
			word[i] = (char) tolower((unsigned char) text[i]);
		word[n] = '\0';

		if (strcmp(word, "@every") == 0)
			return cron_parse_every(rest, out, err, errlen);
		if (*rest != '\0')
		{
			snprintf(err, errlen, "%s takes no arguments", word);
			return false;
		}
		if (strcmp(word, "@reboot") == 0)
		{
			out->kind = CRON_REBOOT;
			return true;
		}
		if (strcmp(word, "@yearly") == 0 || strcmp(word, "@annually") == 0)
			expanded = "0 0 1 1 *";
		else if (strcmp(word, "@monthly") == 0)
			expanded = "0 0 1 * *";
		else if (strcmp(word, "@weekly") == 0)
			expanded = "0 0 * * 0";
		else if (strcmp(word, "@daily") == 0 || strcmp(word, "@midnight") == 0)
			expanded = "0 0 * * *";
		else if (strcmp(word, "@hourly") == 0)
			expanded = "0 * * * *";
		else
		{
			snprintf(err, errlen, "unknown macro %s; use @yearly, @monthly, @weekly, @daily, @hourly, @reboot or @every", word);
			return false;
		}
	}

	strcpy(buf, expanded);
	p = buf;
	for (;;)
	{
		while (isspace((unsigned char) *p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (nfields == 7)
			break;
		fields[nfields++] = p;
		while (*p && !isspace((unsigned char) *p))
			p++;
	}
	if (nfields != 5 && nfields != 6)
	{
		if (nfields > 6)
			snprintf(err, errlen, "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, found more than 6");
		else
			snprintf(err, errlen, "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, found %d",
					 nfields);
		return false;
	}

	first = (nfields == 6) ? 0 : 1;
	bits[0] = 1;				/* second 0 when there is no seconds field */
	star[0] = false;
	for (int i = 0; i < nfields; i++)
	{
		int			fi = first + i;

		if (!cron_parse_field(&cron_fields[fi], fields[i], &bits[fi], &star[fi],
							  fi == 3 ? &last : NULL, err, errlen))
			return false;
	}

	out->kind = CRON_FIELDS;
	out->has_seconds = (nfields == 6);
	out->seconds = bits[0];
	out->minutes = bits[1];
	out->hours = (uint32_t) bits[2];
	out->days = (uint32_t) bits[3];
	out->last_day = last;
	out->months = (uint16_t) bits[4];
	/* 7 is Sunday too */
	out->weekdays = (uint8_t) ((bits[5] | (bits[5] >> 7)) & 0x7F);
	out->days_star = star[3];
	out->weekdays_star = star[5];
	out->hours_star = star[2];
	return true;
}

/* ------------------------------------------------------------ next fire */

static bool
cron_day_matches(const CronSchedule *c, int64_t days, int y, int m, int d)
{
	bool		dom = ((c->days >> d) & 1) ||
		(c->last_day && d == cron_days_in_month(y, m));
	int			wd = (int) (((days % 7) + 11) % 7);	/* 1970-01-01 was a Thursday */
	bool		dow = (c->weekdays >> wd) & 1;

	if (c->days_star || c->weekdays_star)
		return dom && dow;
	return dom || dow;
}

/* lowest set bit >= from in bits (width n), or -1 */
static int
cron_next_bit(uint64_t bits, int from, int n)
{
	for (int i = from; i < n; i++)
		if ((bits >> i) & 1)
			return i;
	return -1;
}

/*
 * cron_next_wall
 *		The first wall-clock time >= *local (seconds since the epoch, read as
 *		a local date and time) that matches the fields.
 */
static bool
cron_next_wall(const CronSchedule *c, int64_t *local)
{
	int64_t		l = *local;
	int			start_year;
	int			y,
				m,
				d;

	CronCivilFromDays(cron_floordiv(l, CRON_DAY), &start_year, &m, &d);
	for (;;)
	{
		int64_t		days = cron_floordiv(l, CRON_DAY);
		int64_t		sod = l - days * CRON_DAY;
		int			hh = (int) (sod / 3600);
		int			mi = (int) (sod % 3600 / 60);
		int			ss = (int) (sod % 60);
		int			v;

		CronCivilFromDays(days, &y, &m, &d);
		if (y > start_year + CRON_MAX_YEARS)
			return false;
		if (!((c->months >> m) & 1))
		{
			l = CronDaysFromCivil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * CRON_DAY;
			continue;
		}
		if (!cron_day_matches(c, days, y, m, d))
		{
			l = (days + 1) * CRON_DAY;
			continue;
		}
		v = cron_next_bit(c->hours, hh, 24);
		if (v < 0)
		{
			l = (days + 1) * CRON_DAY;
			continue;
		}
		if (v != hh)
		{
			l = days * CRON_DAY + v * 3600;
			continue;
		}
		v = cron_next_bit(c->minutes, mi, 60);
		if (v < 0)
		{
			l = days * CRON_DAY + (hh + 1) * 3600;
			continue;
		}
		if (v != mi)
		{
			l = days * CRON_DAY + hh * 3600 + v * 60;
			continue;
		}
		v = cron_next_bit(c->seconds, ss, 60);
		if (v < 0)
		{
			l = days * CRON_DAY + hh * 3600 + (mi + 1) * 60;
			continue;
		}
		*local = days * CRON_DAY + hh * 3600 + mi * 60 + v;
		return true;
	}
}

/*
 * cron_local_to_utc
 *		The instants at which wall time "local" occurs: *first, and *second
 *		when it occurs twice (returns 2).  A wall time skipped by a gap maps
 *		with the offset in force before the gap (returns 1).
 */
static int
cron_local_to_utc(int64_t local, CronOffsetFn offset, void *arg,
				  int64_t *first, int64_t *second)
{
	long		before = offset(arg, local - CRON_DAY);
	long		after = offset(arg, local + CRON_DAY);
	int64_t		ua,
				ub;
	bool		va,
				vb;

	if (before == after)
	{
		*first = local - before;
		return 1;
	}
	ua = local - before;
	ub = local - after;
	va = offset(arg, ua) == before;
	vb = offset(arg, ub) == after;
	if (va && vb)
	{
		*first = ua < ub ? ua : ub;
		*second = ua < ub ? ub : ua;
		return ua == ub ? 1 : 2;
	}
	if (vb && !va)
	{
		*first = ub;
		return 1;
	}
	*first = ua;				/* valid, or in a gap: the offset before it */
	return 1;
}

/*
 * cron_next_scan
 *		The first fire time strictly after "after", by walking wall times in
 *		order and mapping each to its instants.  Exact anywhere, but near an
 *		offset change it starts 3 hours of wall time early and steps through
 *		every matching wall time until one's first occurrence is after
 *		"after": 10,800 steps (each several offset lookups) for a schedule
 *		firing every second.  CronNext uses it away from offset changes,
 *		where it takes one step, and as the fallback of cron_next_near.
 */
static bool
cron_next_scan(const CronSchedule *cron, int64_t after, CronOffsetFn offset, void *arg,
			   bool near, int64_t *next)
{
	long		off = offset(arg, after);
	int64_t		local;
	int64_t		best = INT64_MAX;

	/*
	 * Away from an offset change, wall times up to local(after) map to
	 * instants up to "after", so the search starts one second later.  Near a
	 * change, a wall time up to 3 hours earlier can still occur after
	 * "after" (its second occurrence), so the search starts there.
	 */
	local = after + off + (near ? -CRON_FOLD_MARGIN : 1);
	for (;;)
	{
		int64_t		first,
					second;
		int			n;

		if (!cron_next_wall(cron, &local))
			break;
		n = cron_local_to_utc(local, offset, arg, &first, &second);
		if (first > after)
		{
			/* first occurrences never decrease as the wall time grows */
			if (first < best)
				best = first;
			break;
		}
		if (n == 2 && cron->hours_star && second > after && second < best)
			best = second;
		local++;
	}
	if (best == INT64_MAX)
		return false;
	*next = best;
	return true;
}

/* the first instant in (lo, hi] whose offset differs from offset(lo): bisection */
static int64_t
cron_transition(CronOffsetFn offset, void *arg, int64_t lo, int64_t hi)
{
	long		o = offset(arg, lo);

	while (hi - lo > 1)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (offset(arg, mid) == o)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/* the first matching wall time in [from, to), or false */
static bool
cron_wall_in(const CronSchedule *c, int64_t from, int64_t to, int64_t *w)
{
	int64_t		l = from;

	if (from >= to || !cron_next_wall(c, &l) || l >= to)
		return false;
	*w = l;
	return true;
}

/* the first occurrence after "after" of the first matching wall time >= from */
static bool
cron_first_from(const CronSchedule *c, int64_t from, int64_t after, CronOffsetFn offset,
				void *arg, int64_t *instant)
{
	int64_t		l = from;
	int64_t		first,
				second;

	if (!cron_next_wall(c, &l))
		return false;
	(void) cron_local_to_utc(l, offset, arg, &first, &second);
	if (first <= after)
		return false;			/* not expected: the caller falls back */
	*instant = first;
	return true;
}

/*
 * cron_next_near
 *		CronNext within CRON_FOLD_MARGIN of one offset change at T (offset ob
 *		before it, oa from it on): the answer from a few direct searches
 *		instead of a walk, with the rules of the file header.
 *		- T ahead: the instants before T (offset ob) come first; then, for a
 *		  spring-forward, the skipped wall times (fired with ob, so at
 *		  [T, T + gap)) and the wall times after the gap; for a fall-back,
 *		  the repeated wall times [T + oa, T + ob) again (only for schedules
 *		  whose hour field is *) and the wall times after them.
 *		- T behind: the same, without the part before T.
 *		Returns 1 with *next, 0 when nothing fires, -1 when a case is not
 *		covered (the caller walks instead).
 */
static int
cron_next_near(const CronSchedule *c, int64_t after, long ob, long oa, int64_t T,
			   CronOffsetFn offset, void *arg, int64_t *next)
{
	int64_t		w,
				a = INT64_MAX,
				b = INT64_MAX;

	if (T > after)
	{
		/* instants in (after, T) have offset ob */
		if (cron_wall_in(c, after + ob + 1, T + ob, &w))
		{
			*next = w - ob;
			return 1;
		}
		if (oa > ob)
		{
			/* spring forward: the gap's wall times, then the ones after it */
			if (cron_wall_in(c, T + ob, T + oa, &w))
				a = w - ob;
			if (!cron_first_from(c, T + oa, after, offset, arg, &b))
				b = INT64_MAX;
		}
		else
		{
			/* fall back: repeated wall times fire again only with hour * */
			if (c->hours_star && cron_wall_in(c, T + oa, T + ob, &w))
				a = w - oa;
			else if (!cron_first_from(c, T + ob, after, offset, arg, &b))
				b = INT64_MAX;
		}
	}
	else
	{
		/* instants after "after" have offset oa */
		if (oa > ob)
		{
			/* the gap's wall times still to come map to (after, T + gap) */
			int64_t		from = after + ob + 1 > T + ob ? after + ob + 1 : T + ob;

			if (cron_wall_in(c, from, T + oa, &w))
				a = w - ob;
			if (!cron_first_from(c, after + oa + 1, after, offset, arg, &b))
				b = INT64_MAX;
		}
		else
		{
			int64_t		from = after + oa + 1;

			if (c->hours_star && cron_wall_in(c, from, T + ob, &w))
				a = w - oa;
			else if (!cron_first_from(c, from > T + ob ? from : T + ob, after, offset, arg, &b))
				b = INT64_MAX;
		}
	}
	if (a == INT64_MAX && b == INT64_MAX)
		return -1;				/* maybe nothing fires; the walk decides */
	*next = a < b ? a : b;
	return 1;
}

/*
 * CronNext
 *		The first fire time strictly after "after" (seconds since the epoch,
 *		UTC); false when there is none (@reboot, no match within
 *		CRON_MAX_YEARS such as 30 February, or none before the end of
 *		PostgreSQL's timestamp range, CRON_MAX_UTC).
 *
 *		Near one offset change the answer comes from cron_next_near (a
 *		few searches: an every-second schedule costs about what it costs
 *		in July); elsewhere, and near two changes, from cron_next_scan.
 */
bool
CronNext(const CronSchedule *cron, int64_t after, CronOffsetFn offset, void *arg,
		 int64_t *next)
{
	long		off,
				before,
				later;
	bool		found = false;

	if (offset == NULL)
		offset = CronOffsetUTC;
	if (after >= CRON_MAX_UTC)
		return false;

	switch (cron->kind)
	{
		case CRON_REBOOT:
			return false;
		case CRON_EVERY:
			*next = (cron_floordiv(after, cron->every) + 1) * cron->every;
			return *next <= CRON_MAX_UTC;
		case CRON_FIELDS:
			break;
	}

	off = offset(arg, after);
	before = offset(arg, after - CRON_FOLD_MARGIN);
	later = offset(arg, after + CRON_FOLD_MARGIN);
	if (before == off && later == off)
		found = cron_next_scan(cron, after, offset, arg, false, next);
	else
	{
		int			r = -1;

		if (before == off || later == off)
		{
			/* one change in the window: find it */
			int64_t		T = later != off ? cron_transition(offset, arg, after, after + CRON_FOLD_MARGIN)
				: cron_transition(offset, arg, after - CRON_FOLD_MARGIN, after);
			long		ob = later != off ? off : before;
			long		oa = later != off ? later : off;

			if (offset(arg, T) == oa && offset(arg, T - 1) == ob)
				r = cron_next_near(cron, after, ob, oa, T, offset, arg, next);
		}
		found = r >= 0 ? r == 1 : cron_next_scan(cron, after, offset, arg, true, next);
	}
	return found && *next <= CRON_MAX_UTC;
}
