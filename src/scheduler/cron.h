/*-------------------------------------------------------------------------
 *
 * src/scheduler/cron.h
 *		Pure-C cron expressions: parsing and next-fire computation.
 *
 * No PostgreSQL headers: the parser and the calendar arithmetic are
 * unit-tested outside the server (test/unit/test_cron.c).  Time zones are
 * pluggable: the caller passes a function returning the UTC offset in force
 * at an instant (the backend uses pg_localtime(), the tests a fixed table).
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_CRON_H
#define METAETL_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum CronKind
{
	CRON_FIELDS,				/* 5 or 6 fields, or a @daily-style macro */
	CRON_EVERY,					/* @every 30s: fixed interval, epoch aligned */
	CRON_REBOOT					/* @reboot: once per server start */
} CronKind;

typedef struct CronSchedule
{
	CronKind	kind;
	uint64_t	seconds;		/* bit n: second n (0-59) */
	uint64_t	minutes;		/* bit n: minute n (0-59) */
	uint32_t	hours;			/* bit n: hour n (0-23) */
	uint32_t	days;			/* bit n: day of month n (1-31) */
	uint16_t	months;			/* bit n: month n (1-12) */
	uint8_t		weekdays;		/* bit n: weekday n (0 = Sunday) */
	bool		last_day;		/* day-of-month field holds L */
	bool		days_star;		/* day-of-month field was * */
	bool		weekdays_star;	/* day-of-week field was * */
	bool		hours_star;		/* hour field was *: repeated hours run twice */
	bool		has_seconds;	/* written with 6 fields */
	int64_t		every;			/* CRON_EVERY: interval in seconds */
} CronSchedule;

/*
 * Returns the offset of local time from UTC, in seconds east of Greenwich,
 * in force at the instant utc (seconds since the Unix epoch).
 */
typedef long (*CronOffsetFn) (void *arg, int64_t utc);

/*
 * The last second PostgreSQL's timestamptz can hold (294276-12-31 23:59:59
 * UTC): CronNext never returns a later one.
 */
#define CRON_MAX_UTC INT64_C(9224318015999)

/* in scheduler/cron.c */
extern bool CronParse(const char *text, CronSchedule *out, char *err, size_t errlen);
extern bool CronNext(const CronSchedule *cron, int64_t after, CronOffsetFn offset,
					 void *arg, int64_t *next);
extern long CronOffsetUTC(void *arg, int64_t utc);
extern int64_t CronDaysFromCivil(int y, int m, int d);
extern void CronCivilFromDays(int64_t days, int *y, int *m, int *d);

#endif							/* METAETL_CRON_H */
