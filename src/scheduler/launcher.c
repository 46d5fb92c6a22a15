/*-------------------------------------------------------------------------
 *
 * src/scheduler/launcher.c
 *		The scheduler launcher: a static background worker that enqueues
 *		due schedule ticks into etl.run_queue.
 *
 * Registered only when metaetl is in shared_preload_libraries (pg_cron's
 * pattern).  It connects to metaetl.database and, about once a second and
 * exactly at the next due time, runs etl._scheduler_tick() in its own
 * transaction: due ticks (with catch-up after downtime), @reboot runs once
 * per server start, dataset-triggered runs, and the release of runs whose
 * dependencies are met.  The orchestrator claims the queued rows and starts
 * the runs; a few seconds before runs are due it starts enough run executors
 * for them.  A backend that changes etl.schedules sets the launcher's latch
 * when its transaction commits (a trigger arms a transaction callback), so
 * a new schedule is picked up at once.  On a standby the launcher idles;
 * metaetl.scheduler_enabled = off pauses it.  Once an hour it purges run
 * history older than metaetl.run_retention in batches.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "metaetl.h"
#include "orchestrator/orchestrator.h"
#include "scheduler/scheduler.h"
#include "security/security.h"

PG_FUNCTION_INFO_V1(metaetl_scheduler_shmem);

bool		metaetl_scheduler_enabled = true;
int			metaetl_max_concurrent_runs = 4;
int			metaetl_run_retention = 30 * 24 * 60;	/* minutes */
bool		metaetl_allow_superuser_runs = false;
int			metaetl_claim_lease = 60;	/* seconds */

typedef enum SchedState
{
	SCHED_STOPPED = 0,
	SCHED_STARTING,
	SCHED_RUNNING,
	SCHED_NO_EXTENSION,
	SCHED_DISABLED,
	SCHED_STANDBY
} SchedState;

static const char *const sched_state_names[] = {
	"stopped", "starting", "running", "waiting for extension", "disabled", "standby"
};

typedef struct SchedShared
{
	slock_t		mutex;
	pid_t		pid;			/* the launcher's pid, 0 when not running */
	Latch	   *latch;			/* the launcher's process latch */
	SchedState	state;
	TimestampTz next_due;		/* 0: nothing due */
	TimestampTz last_tick;
	int64		ticks;			/* passes of the loop that ran a tick */
	TimestampTz started_at;
	Oid			dboid;			/* the database it is connected to */
} SchedShared;

static SchedShared *sched_shared = NULL;

static bool sched_wake_pending = false;
static bool sched_callback_registered = false;
static bool sched_am_launcher = false;

#define SCHED_PREWARM_S		3		/* start executors for runs due this soon */
#define SCHED_PURGE_FIRST_S	300		/* first purge 5 minutes after start */
#define SCHED_PURGE_EVERY_S	3600
#define SCHED_PURGE_BATCH	1000
#define SCHED_PURGE_MAX_BATCHES 50

/* ------------------------------------------------------------ shared memory */

static Size
sched_shmem_size(void)
{
	return sizeof(SchedShared);
}

static void
sched_shmem_init(void *ptr)
{
	SchedShared *shared = ptr;

	SpinLockInit(&shared->mutex);
	shared->state = SCHED_STARTING;
}

static void
sched_set_state(SchedState state)
{
	SpinLockAcquire(&sched_shared->mutex);
	sched_shared->state = state;
	SpinLockRelease(&sched_shared->mutex);
}

/* ------------------------------------------------------------ init and GUCs */

void
MetaetlSchedulerInit(void)
{
	BackgroundWorker worker;

	DefineCustomBoolVariable("metaetl.scheduler_enabled",
							 gettext_noop("Whether the scheduler launcher enqueues due runs."),
							 gettext_noop("Off pauses every schedule; ticks due meanwhile follow each schedule's catchup policy when it is turned on again."),
							 &metaetl_scheduler_enabled,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL,
							 NULL,
							 NULL);
	DefineCustomIntVariable("metaetl.max_concurrent_runs",
							gettext_noop("Maximum number of pipeline runs claimed from the run queue at a time."),
							gettext_noop("0 means no limit besides pools and max_worker_processes."),
							&metaetl_max_concurrent_runs,
							4,
							0,
							10000,
							PGC_SIGHUP,
							0,
							NULL,
							NULL,
							NULL);
	DefineCustomIntVariable("metaetl.run_retention",
							gettext_noop("How long finished runs, their steps and results are kept."),
							gettext_noop("The launcher purges older ones hourly, in batches; 0 keeps everything."),
							&metaetl_run_retention,
							30 * 24 * 60,
							0,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MIN,
							NULL,
							NULL,
							NULL);
	DefineCustomIntVariable("metaetl.claim_lease",
							gettext_noop("How long a claimed etl.run_queue row may go without a run before it is queued again."),
							gettext_noop("A row claimed with etl.claim_runs() whose run never starts holds its pool slot and blocks its pipeline until then; 0 keeps claims forever."),
							&metaetl_claim_lease,
							60,
							0,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL,
							NULL,
							NULL);
	DefineCustomBoolVariable("metaetl.allow_superuser_runs",
							 gettext_noop("Ignored since 0.2: a scheduled run of a superuser's pipeline runs as its owner, as etl.execute_pipeline's does."),
							 gettext_noop("Kept so that configuration files that set it still load."),
							 &metaetl_allow_superuser_runs,
							 false,
							 PGC_SIGHUP,
							 0,
							 NULL,
							 NULL,
							 NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	MetaetlShmemRegister("metaetl scheduler", sched_shmem_size, sched_shmem_init,
						 (void **) &sched_shared);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* start on a hot standby too, to report "standby" and idle there */
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = 1;
	strlcpy(worker.bgw_library_name, "metaetl", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "MetaetlSchedulerMain", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "metaetl scheduler launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "metaetl scheduler", BGW_MAXLEN);
	worker.bgw_main_arg = (Datum) 0;
	worker.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&worker);
}

/* ----------------------------------------------------- wake-up on commit */

static void
sched_wake_launcher(void)
{
	Latch	   *latch = NULL;

	if (sched_shared == NULL)
		return;
	SpinLockAcquire(&sched_shared->mutex);
	if (sched_shared->pid != 0)
		latch = sched_shared->latch;
	SpinLockRelease(&sched_shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

/* wake the launcher now (a run handed over by etl.execute_pipeline) */
void
MetaetlSchedulerWake(void)
{
	sched_wake_launcher();
}

/*
 * MetaetlSchedulerServes
 *		Whether a launcher is running and connected to database dboid: it
 *		records the runs etl.execute_pipeline queues (orchestrator/handoff.c).
 */
bool
MetaetlSchedulerServes(Oid dboid)
{
	bool		serves;

	if (sched_shared == NULL)
		return false;
	SpinLockAcquire(&sched_shared->mutex);
	serves = sched_shared->pid != 0 && sched_shared->dboid == dboid &&
		sched_shared->state == SCHED_RUNNING;
	SpinLockRelease(&sched_shared->mutex);
	return serves;
}

static void
sched_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (sched_wake_pending)
				sched_wake_launcher();
			sched_wake_pending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			sched_wake_pending = false;
			break;
		default:
			break;
	}
}

/*
 * MetaetlSchedulerWakeOnCommit
 *		Wake the launcher when the current transaction commits (called by the
 *		trigger on etl.schedules).  The launcher's own changes don't wake it.
 */
void
MetaetlSchedulerWakeOnCommit(void)
{
	if (sched_shared == NULL || sched_am_launcher)
		return;
	if (!sched_callback_registered)
	{
		RegisterXactCallback(sched_xact_callback, NULL);
		sched_callback_registered = true;
	}
	sched_wake_pending = true;
}

/* ----------------------------------------------------------------- status */

const char *
MetaetlSchedulerStateName(void)
{
	SchedState	state;
	pid_t		pid;

	if (sched_shared == NULL)
		return "not preloaded";
	SpinLockAcquire(&sched_shared->mutex);
	state = sched_shared->state;
	pid = sched_shared->pid;
	SpinLockRelease(&sched_shared->mutex);
	if (pid == 0)
		return state == SCHED_STOPPED ? "restarting" : "starting";
	return sched_state_names[state];
}

static void
sched_json_ts(StringInfo buf, const char *key, TimestampTz ts)
{
	appendStringInfo(buf, ", \"%s\": ", key);
	if (ts == 0)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, timestamptz_to_str(ts));
}

/*
 * etl._scheduler_shmem() returns jsonb: the launcher's view of itself.
 */
Datum
metaetl_scheduler_shmem(PG_FUNCTION_ARGS)
{
	StringInfoData buf;
	SchedShared snap;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"state\": ");
	escape_json(&buf, MetaetlSchedulerStateName());
	appendStringInfo(&buf, ", \"enabled\": %s, \"max_concurrent_runs\": %d",
					 metaetl_scheduler_enabled ? "true" : "false",
					 metaetl_max_concurrent_runs);
	appendStringInfoString(&buf, ", \"database\": ");
	if (metaetl_database)
		escape_json(&buf, metaetl_database);
	else
		appendStringInfoString(&buf, "null");
	if (sched_shared != NULL)
	{
		SpinLockAcquire(&sched_shared->mutex);
		memcpy(&snap, sched_shared, sizeof(snap));
		SpinLockRelease(&sched_shared->mutex);
		if (snap.pid != 0)
			appendStringInfo(&buf, ", \"launcher_pid\": %d", (int) snap.pid);
		else
			appendStringInfoString(&buf, ", \"launcher_pid\": null");
		sched_json_ts(&buf, "launcher_started_at", snap.pid ? snap.started_at : 0);
		sched_json_ts(&buf, "last_tick_at", snap.last_tick);
		sched_json_ts(&buf, "launcher_next_due", snap.next_due);
		appendStringInfo(&buf, ", \"ticks\": " INT64_FORMAT, snap.ticks);
	}
	{
		int			size,
					idle,
					busy,
					starting;

		/* the pool of run executors (src/orchestrator/executor.c) */
		if (MetaetlExecutorStatus(&size, &idle, &busy, &starting))
			appendStringInfo(&buf, ", \"executors\": {\"size\": %d, \"idle\": %d, \"busy\": %d, \"starting\": %d}",
							 size, idle, busy, starting);
		else
			appendStringInfoString(&buf, ", \"executors\": null");
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/* ----------------------------------------------------------------- worker */

static void
sched_on_exit(int code, Datum arg)
{
	SpinLockAcquire(&sched_shared->mutex);
	sched_shared->pid = 0;
	sched_shared->latch = NULL;
	sched_shared->state = SCHED_STOPPED;
	sched_shared->dboid = InvalidOid;
	SpinLockRelease(&sched_shared->mutex);
}

/*
 * sched_lock_extension
 *		Whether the extension exists; if so, hold a share lock on it for the
 *		rest of the transaction.  DROP EXTENSION takes an exclusive lock on
 *		the extension before it locks the member tables, so with this lock
 *		taken first the launcher's pass and a DROP EXTENSION queue up behind
 *		each other instead of deadlocking over the tables.
 */
static bool
sched_lock_extension(void)
{
	Oid			ext = get_extension_oid("metaetl", true);

	if (!OidIsValid(ext))
		return false;
	LockDatabaseObject(ExtensionRelationId, ext, 0, AccessShareLock);
	/* a DROP EXTENSION may have committed while we waited for the lock */
	return get_extension_oid("metaetl", true) == ext;
}

/*
 * sched_tick
 *		One transaction: check the extension, run etl._scheduler_tick().
 *		Returns the next due time (0: none).
 */
static TimestampTz
sched_tick(bool *reboot_pending, int *prewarm, Oid *owner)
{
	TimestampTz next_due = 0;
	bool		have_ext;
	int			ret;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "metaetl scheduler tick");

	have_ext = sched_lock_extension();

	if (have_ext)
	{
		Oid			argtypes[1] = {TIMESTAMPTZOID};
		Datum		values[1];
		char		nulls[1];
		bool		isnull;
		Datum		d;

		values[0] = TimestampTzGetDatum(PgStartTime);
		nulls[0] = *reboot_pending ? ' ' : 'n';
		ret = SPI_execute_with_args("SELECT etl._scheduler_tick($1)", 1, argtypes, values, nulls,
									false, 1);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "metaetl scheduler: etl._scheduler_tick() failed: %d", ret);
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			next_due = DatumGetTimestampTz(d);

		/*
		 * Runs due within SCHED_PREWARM_S: the pool of run executors is
		 * started ahead of them, so the first of a burst of runs don't wait
		 * for new processes (src/orchestrator/executor.c).
		 */
		*prewarm = 0;
		if (next_due != 0 && metaetl_run_executors > 0 &&
			next_due - GetCurrentTimestamp() <= SCHED_PREWARM_S * USECS_PER_SEC)
		{
			values[0] = TimestampTzGetDatum(TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
																		  SCHED_PREWARM_S * 1000));
			/* executors are per role: for the owner with the most runs due */
			ret = SPI_execute_with_args("SELECT pg_catalog.count(*)::pg_catalog.int4, r.oid"
										"  FROM etl.schedules s"
										"  JOIN etl.pipelines p ON p.pipeline_id OPERATOR(pg_catalog.=) s.pipeline_id"
										"  JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) p.owner"
										" WHERE NOT s.paused AND s.next_fire_at OPERATOR(pg_catalog.<=) $1"
										" GROUP BY r.oid ORDER BY 1 DESC LIMIT 1",
										1, argtypes, values, NULL, true, 1);
			if (ret == SPI_OK_SELECT && SPI_processed == 1)
			{
				*prewarm = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 1, &isnull));
				*owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
														SPI_tuptable->tupdesc, 2, &isnull));
			}
		}
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);

	if (have_ext)
		*reboot_pending = false;

	SpinLockAcquire(&sched_shared->mutex);
	sched_shared->state = have_ext ? SCHED_RUNNING : SCHED_NO_EXTENSION;
	sched_shared->next_due = next_due;
	sched_shared->last_tick = GetCurrentTimestamp();
	sched_shared->ticks++;
	SpinLockRelease(&sched_shared->mutex);
	return next_due;
}

/*
 * sched_evaluate_freshness
 *		Once a minute: every freshness SLA (etl.evaluate_freshness(), from
 *		the monitoring subsystem) in a transaction of its own.
 */
static void
sched_evaluate_freshness(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "metaetl scheduler: evaluating freshness SLAs");
	if (sched_lock_extension())
		SPI_execute("SELECT count(*) FROM etl.evaluate_freshness()", false, 0);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* one batch of etl.purge_run_history(); returns rows deleted */
static int64
sched_purge_batch(void)
{
	int64		deleted = 0;
	int			ret;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "metaetl scheduler: purging run history");
	if (sched_lock_extension())
	{
		Oid			argtypes[2] = {INT4OID, INT4OID};
		Datum		values[2];
		bool		isnull;

		values[0] = Int32GetDatum(metaetl_run_retention);
		values[1] = Int32GetDatum(SCHED_PURGE_BATCH);
		ret = SPI_execute_with_args("SELECT etl.purge_run_history(pg_catalog.make_interval(mins => $1), $2)",
									2, argtypes, values, NULL, false, 1);
		if (ret == SPI_OK_SELECT && SPI_processed == 1)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull)
				deleted = DatumGetInt64(d);
		}
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return deleted;
}

/*
 * The scheduler launcher's main loop (see the file header): about once a
 * second and at the next due time it runs etl._scheduler_tick() and hands
 * the queue to the orchestrator; a static worker restarted after a second
 * if it dies, as pg_cron's is.
 */
void
MetaetlSchedulerMain(Datum main_arg)
{
	MemoryContext loop_ctx;
	volatile bool reboot_pending = true;
	volatile TimestampTz next_purge;
	volatile TimestampTz next_freshness = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	sched_am_launcher = true;
	SpinLockAcquire(&sched_shared->mutex);
	sched_shared->pid = MyProcPid;
	sched_shared->latch = &MyProc->procLatch;
	sched_shared->state = SCHED_STARTING;
	sched_shared->started_at = GetCurrentTimestamp();
	SpinLockRelease(&sched_shared->mutex);
	before_shmem_exit(sched_on_exit, (Datum) 0);

	BackgroundWorkerInitializeConnection(metaetl_database, NULL, 0);
	pgstat_report_appname("metaetl scheduler");
	SpinLockAcquire(&sched_shared->mutex);
	sched_shared->dboid = MyDatabaseId;
	SpinLockRelease(&sched_shared->mutex);

	/*
	 * When DDL on etl's tables (DROP EXTENSION, an upgrade) deadlocks with
	 * this worker's bookkeeping, the DDL must win: checking for deadlocks
	 * after 10 ms instead of deadlock_timeout makes this worker the one that
	 * notices, and gives up, its transaction.
	 */
	SetConfigOption("deadlock_timeout", "10ms", PGC_SUSET, PGC_S_OVERRIDE);
	/* this worker only runs metaetl's own SQL: nothing resolves outside pg_catalog */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION);

	/* lives as long as the worker: reset at each pass of the loop */
	loop_ctx = AllocSetContextCreate(TopMemoryContext, "metaetl scheduler loop",
									 ALLOCSET_DEFAULT_SIZES);
	next_purge = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), SCHED_PURGE_FIRST_S * 1000);

	for (;;)
	{
		long		timeout = 1000;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MemoryContextReset(loop_ctx);
		old = MemoryContextSwitchTo(loop_ctx);

		if (RecoveryInProgress())
			sched_set_state(SCHED_STANDBY);
		else if (!metaetl_scheduler_enabled)
			sched_set_state(SCHED_DISABLED);
		else
		{
			PG_TRY();
			{
				bool		reboot = reboot_pending;
				int			prewarm = 0;
				Oid			owner = InvalidOid;
				TimestampTz due = sched_tick(&reboot, &prewarm, &owner);

				reboot_pending = reboot;

				/*
				 * runs etl.execute_pipeline could not start for want of a
				 * worker slot are recorded as queued (orchestrator/handoff.c)
				 */
				if (sched_shared->state == SCHED_RUNNING)
				{
					(void) MetaetlHandoffRecordRequests();
					/* steps of runs under way appear in etl.step_runs (progress.c) */
					(void) MetaetlProgressRecordSteps();
				}
				if (prewarm > 0)
					MetaetlExecutorPrewarm(prewarm, owner);

				/* start what is queued and claimable (src/orchestrator/dispatch.c) */
				if (sched_shared->state == SCHED_RUNNING && MetaetlDispatchQueue() > 0)
					timeout = Min(timeout, 100);

				/* freshness SLAs are evaluated every minute */
				if (sched_shared->state == SCHED_RUNNING && GetCurrentTimestamp() >= next_freshness)
				{
					next_freshness = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 60 * 1000);
					sched_evaluate_freshness();
				}

				if (due != 0)
				{
					TimestampTz now = GetCurrentTimestamp();

					if (due <= now)
						timeout = 100;	/* left due: locked by someone; retry soon */
					else if (due - now < 1000 * 1000)
						timeout = (long) ((due - now + 999) / 1000);
				}

				if (metaetl_run_retention > 0 && GetCurrentTimestamp() >= next_purge)
				{
					/* set first: a purge that fails waits for the next hour */
					next_purge = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															 SCHED_PURGE_EVERY_S * 1000);
					for (int i = 0; i < SCHED_PURGE_MAX_BATCHES; i++)
					{
						CHECK_FOR_INTERRUPTS();
						if (sched_purge_batch() < SCHED_PURGE_BATCH)
							break;
					}
				}
			}
			PG_CATCH();
			{
				/* report, clean up and carry on: the next pass retries */
				MemoryContextSwitchTo(loop_ctx);
				EmitErrorReport();
				FlushErrorState();
				AbortOutOfAnyTransaction();
				SPI_finish();
				pgstat_report_activity(STATE_IDLE, NULL);
				timeout = 1000;
			}
			PG_END_TRY();
		}
		MemoryContextSwitchTo(old);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
