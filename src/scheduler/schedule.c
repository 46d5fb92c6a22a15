/*-------------------------------------------------------------------------
 *
 * src/scheduler/schedule.c
 *		SQL functions over cron expressions, in a schedule's time zone.
 *
 * etl.cron_next, etl.cron_ticks and etl._cron_last wrap the pure-C cron
 * module (cron.c), giving it PostgreSQL's own time zone data: the offset
 * in force at an instant comes from pg_localtime() on the pg_tz that
 * pg_tzset() loads (and caches) by IANA name.  Also the trigger that wakes
 * the launcher when schedules change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "commands/dbcommands.h"
#include "commands/trigger.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "metaetl.h"
#include "scheduler/cron.h"
#include "scheduler/scheduler.h"

PG_FUNCTION_INFO_V1(metaetl_cron_next);
PG_FUNCTION_INFO_V1(metaetl_cron_ticks);
PG_FUNCTION_INFO_V1(metaetl_cron_last);
PG_FUNCTION_INFO_V1(metaetl_schedules_changed);
PG_FUNCTION_INFO_V1(metaetl_is_timezone_name);
PG_FUNCTION_INFO_V1(metaetl_require_scheduler);

/*
 * The names in pg_timezone_names, sorted; loaded once per backend (the view
 * reads every zone file, ~tens of ms) and kept in TopMemoryContext for the
 * backend's life because the zone list does not change while it runs.
 */
static char **sched_tz_names = NULL;
static int	sched_tz_count = 0;

/* seconds between the Unix and PostgreSQL epochs */
#define SCHED_EPOCH_DIFF ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

static long
sched_offset(void *arg, int64_t utc)
{
	pg_time_t	t = (pg_time_t) utc;
	struct pg_tm *tm = pg_localtime(&t, (const pg_tz *) arg);

	return tm ? tm->tm_gmtoff : 0;
}

/* parse cron text and load the zone, raising clear errors */
static pg_tz *
sched_prepare(text *cron_text, text *tz_text, CronSchedule *cron)
{
	char	   *expr = text_to_cstring(cron_text);
	char	   *tzname = text_to_cstring(tz_text);
	char		err[256];
	pg_tz	   *tz;

	if (!CronParse(expr, cron, err, sizeof(err)))
	{
		err[0] = (char) toupper((unsigned char) err[0]);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid cron expression \"%s\"", expr),
				 errdetail("%s.", err),
				 errhint("Use 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or a macro such as @daily, @reboot or @every 5m.")));
	}
	tz = pg_tzset(tzname);
	if (tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown time zone \"%s\"", tzname),
				 errhint("Use a name such as UTC, Europe/Berlin or America/New_York; SELECT name FROM pg_timezone_names lists them all.")));
	return tz;
}

static int64
sched_to_unix_floor(TimestampTz ts)
{
	int64		s = ts / USECS_PER_SEC;

	if (ts < 0 && ts % USECS_PER_SEC != 0)
		s--;
	return s + SCHED_EPOCH_DIFF;
}

static TimestampTz
sched_from_unix(int64 s)
{
	return (TimestampTz) ((s - SCHED_EPOCH_DIFF) * USECS_PER_SEC);
}

static void
sched_check_finite(TimestampTz ts, const char *what)
{
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite timestamp", what)));
}

/*
 * etl.cron_next(cron text, timezone text, after timestamptz) returns timestamptz
 */
Datum
metaetl_cron_next(PG_FUNCTION_ARGS)
{
	CronSchedule cron;
	pg_tz	   *tz;
	TimestampTz after;
	int64_t		next;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	tz = sched_prepare(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1), &cron);
	after = PG_GETARG_TIMESTAMPTZ(2);
	sched_check_finite(after, "after");
	if (!CronNext(&cron, sched_to_unix_floor(after), sched_offset, tz, &next))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(sched_from_unix(next));
}

typedef struct CronTicksState
{
	CronSchedule cron;
	pg_tz	   *tz;
	int64		after;			/* the last tick returned, or just before from */
	int64		to;				/* inclusive upper bound; INT64_MAX: none */
	int64		left;			/* ticks still allowed */
} CronTicksState;

/*
 * etl.cron_ticks(cron, timezone, from_ts, to_ts, max_ticks) returns setof timestamptz
 */
Datum
metaetl_cron_ticks(PG_FUNCTION_ARGS)
{
	FuncCallContext *fctx;
	CronTicksState *st;
	int64_t		next;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		TimestampTz from;
		TimestampTz to;

		fctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(fctx->multi_call_memory_ctx);
		st = palloc0(sizeof(CronTicksState));
		fctx->user_fctx = st;
		if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
			st->left = 0;
		else
		{
			st->tz = sched_prepare(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1), &st->cron);
			from = PG_GETARG_TIMESTAMPTZ(2);
			to = PG_GETARG_TIMESTAMPTZ(3);
			sched_check_finite(from, "from_ts");
			st->left = PG_ARGISNULL(4) ? 10000 : PG_GETARG_INT32(4);
			if (TIMESTAMP_IS_NOBEGIN(to))
				st->left = 0;
			st->to = TIMESTAMP_IS_NOEND(to) ? INT64_MAX : sched_to_unix_floor(to);
			/* the first tick is the first whole second >= from */
			st->after = sched_to_unix_floor(from);
			if (from % USECS_PER_SEC == 0)
				st->after--;
		}
		MemoryContextSwitchTo(old);
	}
	fctx = SRF_PERCALL_SETUP();
	st = fctx->user_fctx;
	if (st->left > 0 && CronNext(&st->cron, st->after, sched_offset, st->tz, &next) &&
		next <= st->to)
	{
		st->after = next;
		st->left--;
		SRF_RETURN_NEXT(fctx, TimestampTzGetDatum(sched_from_unix(next)));
	}
	SRF_RETURN_DONE(fctx);
}

/*
 * etl._cron_last(cron, timezone, from_ts, to_ts) returns timestamptz
 *		The last tick in [from_ts, to_ts]: searched in windows ending at to_ts
 *		that double in length, so an every-second schedule after a month of
 *		downtime costs a minute's worth of ticks, not a month's.
 */
Datum
metaetl_cron_last(PG_FUNCTION_ARGS)
{
	CronSchedule cron;
	pg_tz	   *tz;
	int64		from;
	int64		to;
	int64		window = 60;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	tz = sched_prepare(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1), &cron);
	sched_check_finite(PG_GETARG_TIMESTAMPTZ(2), "from_ts");
	sched_check_finite(PG_GETARG_TIMESTAMPTZ(3), "to_ts");
	from = sched_to_unix_floor(PG_GETARG_TIMESTAMPTZ(2));
	if (PG_GETARG_TIMESTAMPTZ(2) % USECS_PER_SEC != 0)
		from++;
	to = sched_to_unix_floor(PG_GETARG_TIMESTAMPTZ(3));
	if (cron.kind == CRON_REBOOT || from > to)
		PG_RETURN_NULL();

	for (;;)
	{
		int64		start = (to - window > from) ? to - window : from;
		int64_t		t = start - 1;
		int64_t		next;
		int64		last = -1;
		bool		found = false;

		CHECK_FOR_INTERRUPTS();
		while (CronNext(&cron, t, sched_offset, tz, &next) && next <= to)
		{
			last = next;
			found = true;
			t = next;
		}
		if (found)
			PG_RETURN_TIMESTAMPTZ(sched_from_unix(last));
		if (start == from)
			PG_RETURN_NULL();
		window *= 2;
	}
}

static int
sched_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
sched_load_tz_names(void)
{
	MemoryContext old;
	int			ret;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute("SELECT name FROM pg_catalog.pg_timezone_names", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading pg_timezone_names failed: %d", ret);
	old = MemoryContextSwitchTo(TopMemoryContext);
	sched_tz_names = palloc(sizeof(char *) * (SPI_processed + 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		sched_tz_names[i] = pstrdup(name ? name : "");
	}
	sched_tz_count = (int) SPI_processed;
	qsort(sched_tz_names, sched_tz_count, sizeof(char *), sched_cmp_names);
	MemoryContextSwitchTo(old);
	SPI_finish();
}

/*
 * etl._is_timezone_name(name text) returns boolean — whether name is listed
 * in pg_timezone_names (an IANA zone, not a POSIX TZ string).
 */
Datum
metaetl_is_timezone_name(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (sched_tz_names == NULL)
		sched_load_tz_names();
	PG_RETURN_BOOL(bsearch(&name, sched_tz_names, sched_tz_count, sizeof(char *),
						   sched_cmp_names) != NULL);
}

/*
 * etl._require_scheduler() — schedules need the launcher: raise without
 * preload; warn when the launcher serves another database.
 */
Datum
metaetl_require_scheduler(PG_FUNCTION_ARGS)
{
	char	   *here = get_database_name(MyDatabaseId);

	MetaetlRequirePreload("the scheduler");
	if (metaetl_database != NULL && here != NULL && strcmp(metaetl_database, here) != 0)
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("the scheduler launcher runs in database \"%s\", not in \"%s\"",
						metaetl_database, here),
				 errdetail("Schedules in database \"%s\" are stored but not enqueued.", here),
				 errhint("Set metaetl.database = '%s' and restart the server, or schedule pipelines in database \"%s\".",
						 here, metaetl_database)));
	PG_RETURN_VOID();
}

/*
 * etl._schedules_changed() — statement trigger on etl.schedules: wake the
 * launcher when this transaction commits.
 */
Datum
metaetl_schedules_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "etl._schedules_changed() must be called as a trigger");
	MetaetlSchedulerWakeOnCommit();
	PG_RETURN_POINTER(NULL);
}
