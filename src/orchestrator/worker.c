/*-------------------------------------------------------------------------
 *
 * src/orchestrator/worker.c
 *		The run worker: one dynamic background worker per run.
 *
 * The caller (etl.execute_pipeline) puts the run's spec into a dynamic shared
 * memory segment and starts a worker with bgw_notify_pid set to itself.  The
 * worker connects as the run's role — the session is authenticated as that
 * role, so the pipeline's code cannot SET ROLE or SET SESSION AUTHORIZATION
 * to anything the role could not (a NOLOGIN role, which cannot log in on
 * PostgreSQL 15, runs in a session of the caller's login role, a member of
 * it).  It records the run in its own transaction (as the extension owner,
 * records.c) and reports the run id back; then each attempt runs in a
 * transaction of its own as the run's role (body.c), so run and attempt
 * records commit independently of the pipeline's fate.  Finally the worker
 * writes the summary into the segment and sets the caller's latch.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "metaetl.h"
#include "orchestrator/orchestrator.h"
#include "security/security.h"

#define RUN_STATE_STARTING	0
#define RUN_STATE_RECORDED	1
#define RUN_STATE_FINISHED	2
#define RUN_STATE_FAILED	3	/* the worker failed before recording the run */

#define RUN_RESULT_SIZE		32768
#define RUN_TEXT_SIZE		256

typedef struct RunShared
{
	slock_t		mutex;
	int			state;
	int64		run_id;
	Oid			dboid;
	Oid			login;			/* the role the worker logs in as */
	Oid			run_as;
	int			caller_pgprocno;
	int			caller_pid;
	int64		queue_id;
	char		logical_date[64];
	char		pipeline_id[RUN_TEXT_SIZE];
	char		trigger[RUN_TEXT_SIZE];
	char		triggered_by[RUN_TEXT_SIZE];
	char		error[1024];
	int			runner_pid;		/* the process running it (a queued run) */
	Size		params_len;
	bool		result_in_record;	/* the summary did not fit: read the record */
	char		result[RUN_RESULT_SIZE];
	char		params[FLEXIBLE_ARRAY_MEMBER];
} RunShared;

/*
 * A run started by the scheduler's dispatcher carries no shared memory: the
 * worker reads what to run from its etl.run_queue row, named in bgw_extra,
 * so the dispatcher starts many runs without waiting for each.
 */
typedef struct RunQueueArgs
{
	Oid			dboid;
	Oid			run_as;			/* the pipeline's owner, who logs in */
	int64		queue_id;
} RunQueueArgs;

StaticAssertDecl(sizeof(RunQueueArgs) <= BGW_EXTRALEN, "RunQueueArgs must fit in bgw_extra");

static void
worker_wake_caller(RunShared *shared)
{
	PGPROC	   *proc = &ProcGlobal->allProcs[shared->caller_pgprocno];

	if (proc->pid == shared->caller_pid)
		SetLatch(&proc->procLatch);
}

static void
worker_set_state(RunShared *shared, int state)
{
	if (shared == NULL)
		return;
	SpinLockAcquire(&shared->mutex);
	shared->state = state;
	SpinLockRelease(&shared->mutex);
	worker_wake_caller(shared);
}

static void
worker_begin(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
worker_commit(void)
{
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
}

/*
 * worker_wait_seconds
 *		Sleep between attempts; true when a cancel arrived meanwhile.
 */
static bool
worker_wait_seconds(double seconds)
{
	TimestampTz until = GetCurrentTimestamp() + (TimestampTz) (seconds * USECS_PER_SEC);

	for (;;)
	{
		long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);

		if (QueryCancelPending)
		{
			QueryCancelPending = false;
			return true;
		}
		if (ms <= 0)
			return false;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(ms, 1000), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (ProcDiePending)
			CHECK_FOR_INTERRUPTS();
	}
}

/* Run etl.on_run_finished(run_id): alerts and SLAs of the finished run. */
static void
worker_after_run(int64 run_id)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	worker_begin();
	PG_TRY();
	{
		Oid			types[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum(run_id)};

		/* monitoring's PL/pgSQL (alerts, SLAs), SECURITY DEFINER itself */
		SPI_connect();
		MetaetlSpiExec("SELECT etl.on_run_finished($1)", 1, types, values, NULL, false, 0);
		SPI_finish();
		worker_commit();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ereport(WARNING,
				(errmsg("monitoring after run %lld failed: %s", (long long) run_id, edata->message)));
	}
	PG_END_TRY();
}

/*
 * MetaetlDescribeRunProcess
 *		The registration of a process that runs pipelines, the same for every
 *		way a run starts: a run worker (worker.c) or a pooled run executor
 *		(executor.c).  function is the entry point, type the backend_type.
 */
void
MetaetlDescribeRunProcess(BackgroundWorker *worker, const char *function, const char *type,
						  const char *name)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker->bgw_library_name, BGW_MAXLEN, "metaetl");
	strlcpy(worker->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker->bgw_name, name, BGW_MAXLEN);
	strlcpy(worker->bgw_type, type, BGW_MAXLEN);
}

/* a run worker for one run of pipeline_id */
static void
worker_describe(BackgroundWorker *worker, const char *pipeline_id)
{
	char		name[BGW_MAXLEN];

	snprintf(name, sizeof(name), "metaetl run worker for %s", pipeline_id);
	MetaetlDescribeRunProcess(worker, "MetaetlRunWorkerMain", "metaetl run worker", name);
}

/*
 * worker_read_queue_row
 *		What a dispatched run runs: its etl.run_queue row.  Queue triggers map
 *		onto run triggers (run_now is a manual run).
 */
static void
worker_read_queue_row(MetaetlRunSpec *spec, MemoryContext cxt)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(spec->queue_id)};
	char	   *ld;
	MetaetlPrivState st;

	worker_begin();
	MetaetlOwnerBegin(&st);
	SPI_connect();
	/* a run resumed from the queue is a run of the row's own pipeline */
	MetaetlSpiExec("SELECT q.pipeline_id, CASE q.trigger WHEN 'run_now' THEN 'manual' ELSE q.trigger END,"
				   "       q.logical_date::pg_catalog.text, r.run_id::pg_catalog.text, q.attempt::pg_catalog.text,"
				   "       r.trigger, r.triggered_by, r.params::pg_catalog.text"
				   "  FROM etl.run_queue q"
				   "  LEFT JOIN etl.pipeline_runs r ON r.run_id OPERATOR(pg_catalog.=) q.run_id"
				   "   AND r.pipeline_id OPERATOR(pg_catalog.=) q.pipeline_id AND r.status OPERATOR(pg_catalog.=) 'queued'"
				   " WHERE q.queue_id OPERATOR(pg_catalog.=) $1",
				   1, types, values, NULL, true, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("queued run %lld does not exist", (long long) spec->queue_id)));
	spec->pipeline_id = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	spec->trigger = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	ld = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	spec->logical_date = ld ? MemoryContextStrdup(cxt, ld) : NULL;
	spec->triggered_by = MemoryContextStrdup(cxt, "scheduler");
	spec->params = MemoryContextStrdup(cxt, "{}");
	{
		/* a retry waiting in the queue resumes its run */
		char	   *run = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);

		spec->resume_run_id = run ? strtoi64(run, NULL, 10) : 0;
		spec->resume_attempt = run ? atoi(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5)) : 1;
		/* the resumed run keeps its own trigger, caller and parameters */
		if (run)
		{
			spec->trigger = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6));
			spec->triggered_by = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 7));
			spec->params = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 8));
		}
	}
	SPI_finish();
	MetaetlOwnerEnd(&st);
	worker_commit();
}

/*
 * MetaetlRoleCanLogin
 *		Whether a background worker can connect as role (rolcanlogin; on
 *		PostgreSQL 15 that holds for workers too).
 */
bool
MetaetlRoleCanLogin(Oid role)
{
	HeapTuple	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(role));
	bool		can = false;

	if (HeapTupleIsValid(tup))
	{
		can = ((Form_pg_authid) GETSTRUCT(tup))->rolcanlogin;
		ReleaseSysCache(tup);
	}
	return can;
}

/*
 * MetaetlRunQueuedInWorker
 *		Start a run worker for a claimed queue row and return at once (the
 *		worker records the run and marks the row done); it connects as run_as,
 *		the pipeline's owner.  False when no background worker slot is free.
 *		Needs no transaction.
 */
bool
MetaetlRunQueuedInWorker(int64 queue_id, const char *pipeline_id, Oid run_as)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	RunQueueArgs args;

	args.dboid = MyDatabaseId;
	args.run_as = run_as;
	args.queue_id = queue_id;

	worker_describe(&worker, pipeline_id);
	worker.bgw_main_arg = UInt32GetDatum(DSM_HANDLE_INVALID);
	memcpy(worker.bgw_extra, &args, sizeof(args));
	worker.bgw_notify_pid = 0;

	return RegisterDynamicBackgroundWorker(&worker, &handle);
}

static RunShared *worker_attach_waiting_caller(int64 queue_id, dsm_segment **seg);

/*
 * worker_run
 *		One run in this process, from its record to its summary: a run worker
 *		runs one and exits, a pooled executor (executor.c) one after another.
 *		shared is the caller's segment (etl.execute_pipeline), or NULL for a
 *		run of etl.run_queue named by spec->queue_id.  Returns when the run is
 *		over or waits in the queue for its next attempt; errors it cannot
 *		record escape, and the process exits (the run is then abandoned).
 */
static void
worker_run(RunShared *shared, MetaetlRunSpec *spec_in)
{
	MetaetlRunSpec spec = *spec_in;
	MetaetlRunPlan plan;
	MetaetlRunOutcome out;
	struct rusage before;
	MemoryContext runcxt;
	int			attempt;
	bool		locked = false;
	bool		requeued = false;
	char		appname[64];
	dsm_segment *caller_seg = NULL;

	getrusage(RUSAGE_SELF, &before);

	/* the run's memory; a pooled executor frees it before the next run */
	runcxt = AllocSetContextCreate(TopMemoryContext, "metaetl run", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(runcxt);
	if (shared != NULL)
	{
		spec.pipeline_id = pstrdup(shared->pipeline_id);
		spec.trigger = pstrdup(shared->trigger);
		spec.triggered_by = pstrdup(shared->triggered_by);
		spec.params = pnstrdup(shared->params, shared->params_len);
		spec.run_as = shared->run_as;
		spec.queue_id = shared->queue_id;
		spec.logical_date = shared->logical_date[0] ? pstrdup(shared->logical_date) : NULL;
		spec.resume_run_id = 0;
		spec.resume_attempt = 1;
	}
	else
	{
		worker_read_queue_row(&spec, runcxt);
		/* a run etl.execute_pipeline queued: its caller may be waiting */
		shared = worker_attach_waiting_caller(spec.queue_id, &caller_seg);
	}

	/* 1. the run record, committed before anything else happens */
	HOLD_CANCEL_INTERRUPTS();
	PG_TRY();
	{
		worker_begin();
		MemoryContextSwitchTo(runcxt);
		MetaetlRunRecordStart(&spec, "running", &plan);
		worker_commit();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(runcxt);
		edata = CopyErrorData();
		if (shared != NULL)
			strlcpy(shared->error, edata->message ? edata->message : "unknown error", sizeof(shared->error));
		worker_set_state(shared, RUN_STATE_FAILED);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(runcxt);

	/* in a pooled executor, runs that are starting go first (executor.c) */
	MetaetlExecutorRunRecorded();

	snprintf(appname, sizeof(appname), "metaetl run %lld", (long long) plan.run_id);
	SetConfigOption("application_name", appname, PGC_USERSET, PGC_S_SESSION);
	pgstat_report_activity(STATE_RUNNING, appname);
	if (shared != NULL)
	{
		SpinLockAcquire(&shared->mutex);
		shared->run_id = plan.run_id;
		SpinLockRelease(&shared->mutex);
		worker_set_state(shared, RUN_STATE_RECORDED);
	}

	/* 2. the pipeline's concurrency policy */
	worker_begin();
	MemoryContextSwitchTo(runcxt);
	locked = MetaetlRunLockPipeline(spec.pipeline_id, plan.concurrency);
	worker_commit();
	MemoryContextSwitchTo(runcxt);

	if (!locked)
	{
		memset(&out, 0, sizeof(out));
		out.status = "skipped";
		out.error_message = psprintf("pipeline \"%s\" is already running; this run was skipped (concurrency: skip)",
									 spec.pipeline_id);
		worker_begin();
		MetaetlRunRecordFinish(plan.run_id, 1, &out, &before);
		worker_commit();
		attempt = 1;
	}
	else
	{
		/* 3. attempts, each in its own transaction; retries wait in between */
		for (attempt = Max(spec.resume_attempt, 1);; attempt++)
		{
			TimestampTz started = GetCurrentTimestamp();
			bool		retry;
			MetaetlRetryPolicy policy;

			worker_begin();
			MemoryContextSwitchTo(runcxt);
			RESUME_CANCEL_INTERRUPTS();
			MetaetlRunArmTimeout(plan.timeout_minutes);
			MetaetlRunAttempt(&spec, &plan, attempt, &out);
			MetaetlRunDisarmTimeout();
			HOLD_CANCEL_INTERRUPTS();
			/* a cancel that arrives after the attempt has nothing left to stop */
			QueryCancelPending = false;

			MetaetlRunPolicyFor(&plan, out.retry_step, &policy);
			retry = strcmp(out.status, "failed") == 0 && out.transient &&
				attempt < policy.max_attempts;
			if (retry)
			{
				unsigned int seed = (unsigned int) (plan.run_id * 31 + attempt);
				double		delay = MetaetlRetryDelay(&policy, attempt, &seed);

				MetaetlRunRecordAttempt(plan.run_id, attempt, &out, started, delay);
				if (shared == NULL && spec.queue_id > 0)
				{
					/* a scheduled run waits for its next attempt in the queue */
					MetaetlRunRequeue(plan.run_id, spec.queue_id, attempt + 1, delay);
					worker_commit();
					requeued = true;
					break;
				}
				worker_commit();
				if (!worker_wait_seconds(delay))
					continue;
				/* cancelled while waiting for the next attempt */
				memset(&out, 0, sizeof(out));
				out.status = "cancelled";
				out.error_message = pstrdup("canceling statement due to user request");
				strlcpy(out.sqlstate, "57014", sizeof(out.sqlstate));
				worker_begin();
				MetaetlRunRecordFinish(plan.run_id, attempt, &out, &before);
				worker_commit();
				break;
			}
			MetaetlRunRecordAttempt(plan.run_id, attempt, &out, started, -1);
			MetaetlRunRecordFinish(plan.run_id, attempt, &out, &before);
			worker_commit();
			break;
		}
		worker_begin();
		MetaetlRunUnlockPipeline(spec.pipeline_id, plan.concurrency);
		worker_commit();
	}
	MemoryContextSwitchTo(runcxt);

	/* 4. monitoring (not for a run that waits in the queue: it is not over) */
	if (!requeued)
		worker_after_run(plan.run_id);

	/* 5. the summary for the caller */
	if (shared != NULL)
	{
		char	   *summary;

		worker_begin();
		summary = MetaetlRunSummary(plan.run_id);
		SpinLockAcquire(&shared->mutex);
		/* a longer summary (a long error detail) is read back from the run record */
		shared->result_in_record = summary && strlen(summary) >= sizeof(shared->result);
		strlcpy(shared->result, summary && !shared->result_in_record ? summary : "{}", sizeof(shared->result));
		SpinLockRelease(&shared->mutex);
		worker_commit();
		worker_set_state(shared, RUN_STATE_FINISHED);
	}
	if (caller_seg != NULL)
		dsm_detach(caller_seg);
	RESUME_CANCEL_INTERRUPTS();
	MemoryContextSwitchTo(TopMemoryContext);
	MemoryContextDelete(runcxt);
}

/*
 * MetaetlRunQueuedRun
 *		Run the claimed etl.run_queue row queue_id in this process, as
 *		run_as; taken_at is when this process took it.  Used by the pooled
 *		run executors (executor.c).  Needs no transaction.
 */
void
MetaetlRunQueuedRun(int64 queue_id, Oid run_as, TimestampTz taken_at)
{
	MetaetlRunSpec spec;

	memset(&spec, 0, sizeof(spec));
	spec.queue_id = queue_id;
	spec.run_as = run_as;
	spec.worker_started_at = taken_at;
	worker_run(NULL, &spec);
}

/*
 * MetaetlRunCall
 *		Run the run of an etl.execute_pipeline call in this process (a
 *		pooled executor, executor.c): seg is the caller's segment, taken_at
 *		when this process took the run.  Nothing happens when the caller has
 *		gone away meanwhile, or the segment is no longer a call waiting for
 *		a process.  Needs no transaction.
 */
void
MetaetlRunCall(dsm_handle handle, TimestampTz taken_at)
{
	dsm_segment *seg = dsm_attach(handle);
	RunShared  *shared;
	MetaetlRunSpec spec;
	bool		waiting;
	bool		mine;

	if (seg == NULL)
		return;					/* the caller went away */
	shared = dsm_segment_address(seg);
	SpinLockAcquire(&shared->mutex);
	waiting = shared->state == RUN_STATE_STARTING && shared->runner_pid == 0;
	mine = waiting && shared->login == GetSessionUserId() && shared->dboid == MyDatabaseId;
	if (mine)
		shared->runner_pid = MyProcPid;
	SpinLockRelease(&shared->mutex);
	if (mine)
	{
		memset(&spec, 0, sizeof(spec));
		spec.worker_started_at = taken_at;
		worker_run(shared, &spec);
	}
	else if (waiting)
	{
		/* not this session's to run (executor.c hands calls by role and database) */
		strlcpy(shared->error, "the run executor it was handed to runs another role or database",
				sizeof(shared->error));
		worker_set_state(shared, RUN_STATE_FAILED);
	}
	dsm_detach(seg);
}

/*
 * A run worker: runs one pipeline run in a backend of its own, either for
 * a caller waiting on a shared memory segment (etl.execute_pipeline) or for
 * a queued run (main_arg DSM_HANDLE_INVALID, the queue entry in bgw_extra).
 * A run in its own process has its own transactions, so its records commit
 * whatever the caller's transaction does.
 */
void
MetaetlRunWorkerMain(Datum main_arg)
{
	dsm_segment *seg = NULL;
	RunShared  *shared = NULL;
	MetaetlRunSpec spec;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	memset(&spec, 0, sizeof(spec));
	if (DatumGetUInt32(main_arg) != DSM_HANDLE_INVALID)
	{
		seg = dsm_attach(DatumGetUInt32(main_arg));
		if (seg == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("run worker could not attach to its shared memory segment"),
					 errdetail("The caller went away before the worker started.")));
		shared = dsm_segment_address(seg);
		BackgroundWorkerInitializeConnectionByOid(shared->dboid, shared->login, 0);
	}
	else
	{
		RunQueueArgs args;

		memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
		BackgroundWorkerInitializeConnectionByOid(args.dboid, args.run_as, 0);
		spec.run_as = args.run_as;
		spec.queue_id = args.queue_id;
	}

	worker_run(shared, &spec);
	if (seg != NULL)
		dsm_detach(seg);
	proc_exit(0);
}

/*
 * worker_register
 *		Register a run worker.  When every background worker slot is taken,
 *		idle run executors are asked to make room, and registration is
 *		retried for up to WORKER_ROOM_WAIT_MS while they exit.
 */
#define WORKER_ROOM_WAIT_MS 2000

static bool
worker_register(BackgroundWorker *worker, BackgroundWorkerHandle **handle)
{
	TimestampTz until;

	if (RegisterDynamicBackgroundWorker(worker, handle))
		return true;
	if (MetaetlExecutorsMakeRoom(1) == 0)
		return false;
	until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), WORKER_ROOM_WAIT_MS);
	for (int i = 1; GetCurrentTimestamp() < until; i++)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (RegisterDynamicBackgroundWorker(worker, handle))
			return true;
		/* someone else took the freed slot: ask again now and then */
		if (i % 20 == 0)
			(void) MetaetlExecutorsMakeRoom(1);
	}
	return false;
}

static char *worker_run_queued(dsm_segment *seg, RunShared *shared, const MetaetlRunSpec *spec,
							   bool wait);

/*
 * worker_wait
 *		Wait for the process running the run in shared (a run worker of
 *		handle, or the executor of call) to record it (wait = false) or to
 *		finish it (wait = true); returns the summary as jsonb text.
 */
static char *
worker_wait(RunShared *shared, const MetaetlRunSpec *spec, bool wait,
			BackgroundWorkerHandle *handle, MetaetlExecCall *call)
{
	pid_t		pid;

	for (;;)
	{
		int			state;

		SpinLockAcquire(&shared->mutex);
		state = shared->state;
		SpinLockRelease(&shared->mutex);

		if (state == RUN_STATE_FAILED)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("run worker for pipeline \"%s\" failed before the run started: %s",
							spec->pipeline_id, shared->error)));
		if (state == RUN_STATE_FINISHED)
			return shared->result_in_record ? MetaetlRunSummary(shared->run_id) : pstrdup(shared->result);
		if (state == RUN_STATE_RECORDED && !wait)
			return psprintf("{\"run_id\": " INT64_FORMAT ", \"status\": \"running\", "
							"\"rows_read\": null, \"rows_written\": null, \"quality_score\": null, "
							"\"duration_ms\": null, \"error\": null}", shared->run_id);
		if (call != NULL ? MetaetlExecutorCallGone(call)
			: GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
		{
			/* re-check: the worker may have finished just now */
			SpinLockAcquire(&shared->mutex);
			state = shared->state;
			SpinLockRelease(&shared->mutex);
			if (state == RUN_STATE_FINISHED || (state == RUN_STATE_RECORDED && !wait))
				continue;
			if (state == RUN_STATE_RECORDED)
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("run worker for run %lld exited unexpectedly", (long long) shared->run_id),
						 errhint("The run is marked abandoned; see the server log.")));
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("run worker for pipeline \"%s\" exited before recording the run", spec->pipeline_id),
					 errhint("See the server log.")));
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * MetaetlRunInWorker
 *		Run spec in a process of its own: an idle run executor of the pool
 *		(executor.c), a new one in a free slot of the pool, or else a run
 *		worker started for it; wait for the run id (wait = false) or for the
 *		end of the run (wait = true).  Returns the summary as jsonb text.
 */
char *
MetaetlRunInWorker(const MetaetlRunSpec *spec, bool wait)
{
	Size		params_len = strlen(spec->params);
	dsm_segment *seg;
	RunShared  *shared;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid;
	BgwHandleStatus status;
	char	   *result = NULL;
	MetaetlExecCall call;

	seg = dsm_create(offsetof(RunShared, params) + params_len + 1, 0);
	shared = dsm_segment_address(seg);
	memset(shared, 0, offsetof(RunShared, params));
	SpinLockInit(&shared->mutex);
	shared->state = RUN_STATE_STARTING;
	shared->dboid = MyDatabaseId;
	/*
	 * The run's role logs in itself.  A role that cannot log in cannot run
	 * pipelines: running its code in a session authenticated as anyone else
	 * (the caller, maybe a superuser) would let that code SET SESSION
	 * AUTHORIZATION to them.
	 */
	MetaetlRunCheckOwner(spec->pipeline_id, spec->run_as);
	shared->login = spec->run_as;
	shared->run_as = spec->run_as;
	shared->caller_pgprocno = MyProc->pgprocno;
	shared->caller_pid = MyProcPid;
	shared->queue_id = spec->queue_id;
	if (spec->logical_date)
		strlcpy(shared->logical_date, spec->logical_date, sizeof(shared->logical_date));
	strlcpy(shared->pipeline_id, spec->pipeline_id, RUN_TEXT_SIZE);
	strlcpy(shared->trigger, spec->trigger, RUN_TEXT_SIZE);
	strlcpy(shared->triggered_by, spec->triggered_by, RUN_TEXT_SIZE);
	shared->params_len = params_len;
	memcpy(shared->params, spec->params, params_len + 1);

	/*
	 * An executor of the pool, logged in as the run's role like a run
	 * worker, records and runs it exactly as a run worker would.
	 */
	if (MetaetlExecutorTakeCall(dsm_segment_handle(seg), spec->run_as, &call))
	{
		PG_TRY();
		{
			result = worker_wait(shared, spec, wait, NULL, &call);
		}
		PG_CATCH();
		{
			/* a cancel before the executor took the run: no run starts */
			MetaetlExecutorWithdrawCall(&call, dsm_segment_handle(seg));
			PG_RE_THROW();
		}
		PG_END_TRY();
		dsm_detach(seg);
		return result;
	}

	worker_describe(&worker, spec->pipeline_id);
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	if (!worker_register(&worker, &handle))
	{
		/* every slot is taken: the run waits in the queue (handoff.c) */
		result = worker_run_queued(seg, shared, spec, wait);
		dsm_detach(seg);
		return result;
	}

	status = WaitForBackgroundWorkerStartup(handle, &pid);
	if (status != BGWH_STARTED && status != BGWH_STOPPED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("run worker for pipeline \"%s\" could not start", spec->pipeline_id),
				 errhint("Check the server log.")));
	result = worker_wait(shared, spec, wait, handle, NULL);
	dsm_detach(seg);
	return result;
}

/* ------------------------------------------------------------------------
 * Runs that wait for a worker slot (handoff.c): the launcher records them,
 * the process that later takes the queue row reports to the waiting caller.
 */

/*
 * MetaetlRunRecordQueued
 *		In the launcher: record the run whose spec is in the caller's segment
 *		as queued, with an etl.run_queue row pointing at it, in a transaction
 *		of its own.  False (and why, in error) when that failed.
 */
bool
MetaetlRunRecordQueued(dsm_handle handle, int64 *run_id, int64 *queue_id, char *error, Size errlen)
{
	MemoryContext cxt = CurrentMemoryContext;
	dsm_segment *seg = dsm_attach(handle);
	RunShared  *shared;
	MetaetlRunSpec spec;
	MetaetlRunPlan plan;
	bool		ok = true;

	if (seg == NULL)
	{
		strlcpy(error, "the caller went away", errlen);
		return false;
	}
	shared = dsm_segment_address(seg);
	memset(&spec, 0, sizeof(spec));
	spec.pipeline_id = pstrdup(shared->pipeline_id);
	spec.trigger = pstrdup(shared->trigger);
	spec.triggered_by = pstrdup(shared->triggered_by);
	spec.params = pnstrdup(shared->params, shared->params_len);
	spec.run_as = shared->run_as;
	spec.resume_attempt = 1;

	PG_TRY();
	{
		Oid			types[2] = {TEXTOID, INT8OID};
		Datum		values[2];
		MetaetlPrivState st;

		worker_begin();
		MemoryContextSwitchTo(cxt);
		*run_id = MetaetlRunRecordStart(&spec, "queued", &plan);
		values[0] = CStringGetTextDatum(spec.pipeline_id);
		values[1] = Int64GetDatum(*run_id);
		MetaetlOwnerBegin(&st);
		SPI_connect();
		/* priority and pool as for run_now: the pipeline's schedule's */
		MetaetlSpiExec("INSERT INTO etl.run_queue AS q (pipeline_id, logical_date, trigger, priority, pool, run_id, note)"
					   " SELECT $1, pg_catalog.now(), 'run_now', COALESCE(s.priority, 0), s.pool, $2,"
					   "        'etl.execute_pipeline: waiting for a worker slot'"
					   "   FROM (SELECT 1) one"
					   "   LEFT JOIN etl.schedules s ON s.pipeline_id OPERATOR(pg_catalog.=) $1"
					   " RETURNING q.queue_id",
					   2, types, values, NULL, false, 1);
		*queue_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &ok));
		ok = true;
		values[0] = Int64GetDatum(*queue_id);
		types[0] = INT8OID;
		MetaetlSpiExec("UPDATE etl.pipeline_runs SET queue_id = $1 WHERE run_id OPERATOR(pg_catalog.=) $2",
					   2, types, values, NULL, false, 0);
		SPI_finish();
		MetaetlOwnerEnd(&st);
		worker_commit();
		/* the process that takes the row checks it is this caller's */
		SpinLockAcquire(&shared->mutex);
		shared->queue_id = *queue_id;
		shared->run_id = *run_id;
		SpinLockRelease(&shared->mutex);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		strlcpy(error, edata->message ? edata->message : "unknown error", errlen);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	dsm_detach(seg);
	return ok;
}

/*
 * worker_attach_waiting_caller
 *		The segment of the etl.execute_pipeline call waiting for queue row
 *		queue_id, attached (detach it after the run), or NULL when nobody
 *		waits for it.
 */
static RunShared *
worker_attach_waiting_caller(int64 queue_id, dsm_segment **segp)
{
	dsm_handle	handle = MetaetlHandoffFind(queue_id);
	dsm_segment *seg;
	RunShared  *shared;
	bool		mine;

	*segp = NULL;
	if (handle == DSM_HANDLE_INVALID)
		return NULL;
	seg = dsm_attach(handle);
	if (seg == NULL)
		return NULL;			/* the caller gave up meanwhile */
	shared = dsm_segment_address(seg);
	SpinLockAcquire(&shared->mutex);
	mine = shared->queue_id == queue_id && shared->state == RUN_STATE_STARTING;
	if (mine)
		shared->runner_pid = MyProcPid;
	SpinLockRelease(&shared->mutex);
	if (!mine)
	{
		dsm_detach(seg);
		return NULL;
	}
	*segp = seg;
	return shared;
}

/*
 * worker_queued_run_lost
 *		Raise when the queued run cannot report to this caller any more: its
 *		record is gone (the pipeline was dropped) or ended without a word
 *		(abandoned), or the process running it exited.  Reads the record
 *		with the latest snapshot: under REPEATABLE READ the transaction's own
 *		would never see the run move.
 */
static void
worker_queued_run_lost(int64 run_id, RunShared *shared)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(run_id)};
	MetaetlPrivState st;
	char	   *status = NULL;
	int			runner;
	int			state;

	SpinLockAcquire(&shared->mutex);
	runner = shared->runner_pid;
	state = shared->state;
	SpinLockRelease(&shared->mutex);
	if (state == RUN_STATE_RECORDED && runner != 0 && BackendPidGetProc(runner) == NULL)
	{
		/* re-check: the run may have finished just now */
		SpinLockAcquire(&shared->mutex);
		state = shared->state;
		SpinLockRelease(&shared->mutex);
		if (state == RUN_STATE_RECORDED)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("the process running run %lld exited unexpectedly", (long long) run_id),
					 errhint("The run is marked abandoned; see the server log.")));
		return;
	}
	if (state != RUN_STATE_STARTING)
		return;
	MetaetlOwnerBegin(&st);
	PushActiveSnapshot(GetLatestSnapshot());
	SPI_connect();
	MetaetlSpiExec("SELECT status FROM etl.pipeline_runs WHERE run_id OPERATOR(pg_catalog.=) $1",
				   1, types, values, NULL, true, 1);
	if (SPI_processed == 1)
		status = pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	SPI_finish();
	PopActiveSnapshot();
	MetaetlOwnerEnd(&st);
	if (status == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("queued run %lld was removed before it started", (long long) run_id),
				 errdetail("Its pipeline was dropped, or its run history purged.")));
	if (strcmp(status, "queued") != 0 && strcmp(status, "running") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("queued run %lld ended as %s without reporting to this session",
						(long long) run_id, status),
				 errhint("See etl.run_status(%lld).", (long long) run_id)));
}

/*
 * worker_run_queued
 *		No worker slot is free for spec: hand the run to the launcher, which
 *		records it as queued; return the queued run (wait = false) or wait
 *		for the process that takes it from the queue to finish it.  Raises
 *		53400, as before queueing existed, when no launcher serves this
 *		database.
 */
static char *
worker_run_queued(dsm_segment *seg, RunShared *shared, const MetaetlRunSpec *spec, bool wait)
{
	char	   *result = NULL;

	if (!MetaetlHandoffRequest(dsm_segment_handle(seg)))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a run worker for pipeline \"%s\"", spec->pipeline_id),
				 errdetail("All background worker slots are in use, no idle run executor could give up its slot, and the run cannot wait in the queue: no scheduler launcher is running in this database."),
				 errhint("Raise max_worker_processes, or run it in this session with etl.execute_pipeline_inline(); queueing needs metaetl in shared_preload_libraries, metaetl.database set to this database and metaetl.scheduler_enabled on.")));
	PG_TRY();
	{
		TimestampTz next_check = 0;
		int64		run_id = 0;
		char		error[256];

		for (;;)
		{
			MetaetlHandoffState hs = MetaetlHandoffPoll(&run_id, error);
			int			state;

			if (hs == HANDOFF_FAILED)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("could not queue a run of pipeline \"%s\": %s", spec->pipeline_id, error)));
			if (hs == HANDOFF_QUEUED && !wait)
			{
				result = psprintf("{\"run_id\": " INT64_FORMAT ", \"status\": \"queued\", "
								  "\"rows_read\": null, \"rows_written\": null, \"quality_score\": null, "
								  "\"duration_ms\": null, \"error\": null}", run_id);
				break;
			}
			SpinLockAcquire(&shared->mutex);
			state = shared->state;
			SpinLockRelease(&shared->mutex);
			if (state == RUN_STATE_FAILED)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("run %lld of pipeline \"%s\" failed before it started: %s",
								(long long) run_id, spec->pipeline_id, shared->error)));
			if (state == RUN_STATE_FINISHED)
			{
				result = pstrdup(shared->result);
				break;
			}
			if (hs == HANDOFF_QUEUED && GetCurrentTimestamp() >= next_check)
			{
				worker_queued_run_lost(run_id, shared);
				next_check = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 1000);
			}
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_FINALLY();
	{
		MetaetlHandoffRelease();
	}
	PG_END_TRY();
	return result;
}
