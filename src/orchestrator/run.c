/*-------------------------------------------------------------------------
 *
 * src/orchestrator/run.c
 *		SQL entry points of the run lifecycle: execute_pipeline (in a run
 *		worker), execute_pipeline_inline, run_status, cancel_run and
 *		create_execution_record.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "metaetl.h"
#include "orchestrator/orchestrator.h"
#include "security/security.h"

PG_FUNCTION_INFO_V1(metaetl_execute_pipeline);
PG_FUNCTION_INFO_V1(metaetl_execute_pipeline_inline);
PG_FUNCTION_INFO_V1(metaetl_run_status);
PG_FUNCTION_INFO_V1(metaetl_cancel_run);
PG_FUNCTION_INFO_V1(metaetl_create_execution_record);
PG_FUNCTION_INFO_V1(metaetl_check_run_owner);

static const char *const run_triggers[] = {
	"manual", "schedule", "pg_cron", "api", "cli", "backfill", "dependency", "dataset", "retry"
};

static Jsonb *
run_jsonb_from_text(const char *text)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

/*
 * run_spec_from_args
 *		Build the spec from (pipeline_id, trigger, triggered_by, params) and
 *		check them: a known trigger, a pipeline this role may run.
 */
static void
run_spec_from_args(FunctionCallInfo fcinfo, MetaetlRunSpec *spec)
{
	bool		known = false;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("pipeline_id must not be null")));
	spec->pipeline_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	spec->trigger = PG_ARGISNULL(1) ? pstrdup("manual") : text_to_cstring(PG_GETARG_TEXT_PP(1));
	spec->triggered_by = PG_ARGISNULL(2) ? GetUserNameFromId(GetUserId(), false)
		: text_to_cstring(PG_GETARG_TEXT_PP(2));
	spec->params = PG_ARGISNULL(3) ? pstrdup("{}")
		: JsonbToCString(NULL, &PG_GETARG_JSONB_P(3)->root, VARSIZE(PG_GETARG_JSONB_P(3)));
	spec->run_as = GetUserId();
	spec->queue_id = 0;
	spec->logical_date = NULL;
	spec->resume_run_id = 0;
	spec->resume_attempt = 1;
	spec->worker_started_at = 0;

	for (int i = 0; i < lengthof(run_triggers); i++)
		if (strcmp(spec->trigger, run_triggers[i]) == 0)
			known = true;
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid trigger \"%s\" for pipeline \"%s\"", spec->trigger, spec->pipeline_id),
				 errhint("Valid triggers: manual, schedule, pg_cron, api, cli, backfill, dependency, dataset, retry.")));
	if (!PG_ARGISNULL(3) && !JB_ROOT_IS_OBJECT(PG_GETARG_JSONB_P(3)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params for pipeline \"%s\" must be a JSON object", spec->pipeline_id)));

	/* a run runs as its pipeline's owner */
	spec->run_as = MetaetlRunCheckAccess(spec->pipeline_id);
}

/*
 * etl.execute_pipeline(pipeline_id, trigger, triggered_by, params, wait)
 */
Datum
metaetl_execute_pipeline(PG_FUNCTION_ARGS)
{
	MetaetlRunSpec spec;
	bool		wait = PG_ARGISNULL(4) ? true : PG_GETARG_BOOL(4);
	char	   *summary;

	run_spec_from_args(fcinfo, &spec);

	/*
	 * The worker sees only committed data: in a transaction that has already
	 * written (registered the pipeline, loaded its source rows) it would run
	 * on stale metadata or data.
	 */
	if (GetTopTransactionIdIfAny() != InvalidTransactionId)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("cannot run pipeline \"%s\" in a background worker from a transaction that has written data",
						spec.pipeline_id),
				 errdetail("The run worker cannot see this transaction's uncommitted changes, such as a pipeline just registered or source rows just written."),
				 errhint("Commit first, or use etl.execute_pipeline_inline() to run inside this transaction.")));

	SPI_connect();
	SPI_execute("SELECT etl.mark_abandoned_runs()", false, 0);
	SPI_finish();

	summary = MetaetlRunInWorker(&spec, wait);
	PG_RETURN_JSONB_P(run_jsonb_from_text(summary));
}

/*
 * etl.execute_pipeline_inline(pipeline_id, trigger, triggered_by, params)
 *
 * The same lifecycle in the calling backend and transaction: the run's
 * records and its loads commit (or roll back) with the caller.  Retries
 * wait in place.
 */
Datum
metaetl_execute_pipeline_inline(PG_FUNCTION_ARGS)
{
	MetaetlRunSpec spec;
	MetaetlRunPlan plan;
	MetaetlRunOutcome out;
	struct rusage before;
	int			attempt;
	char	   *summary;

	getrusage(RUSAGE_SELF, &before);
	run_spec_from_args(fcinfo, &spec);

	/*
	 * The pipeline's code runs in this session.  That is safe only in its
	 * owner's own session: in anyone else's, the code could SET ROLE to what
	 * that session's user may become (or, in a superuser's, SET SESSION
	 * AUTHORIZATION to anyone).  etl.execute_pipeline runs it in a session of
	 * the owner's own.
	 */
	if (GetSessionUserId() != spec.run_as)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("pipeline \"%s\" can be run inline only in a session of its owner %s",
						spec.pipeline_id, GetUserNameFromId(spec.run_as, false)),
				 errdetail("This session's user is %s.", GetUserNameFromId(GetSessionUserId(), false)),
				 errhint("Use etl.execute_pipeline('%s'), which runs it in a session of its owner.",
						 spec.pipeline_id)));
	MetaetlRunRecordStart(&spec, "running", &plan);

	if (!MetaetlRunLockPipeline(spec.pipeline_id, plan.concurrency))
	{
		memset(&out, 0, sizeof(out));
		out.status = "skipped";
		out.error_message = psprintf("pipeline \"%s\" is already running; this run was skipped (concurrency: skip)",
									 spec.pipeline_id);
		MetaetlRunRecordFinish(plan.run_id, 1, &out, &before);
	}
	else
	{
		PG_TRY();
		{
			for (attempt = 1;; attempt++)
			{
				TimestampTz started = GetCurrentTimestamp();
				MetaetlRetryPolicy policy;

				MetaetlRunArmTimeout(plan.timeout_minutes);
				MetaetlRunAttempt(&spec, &plan, attempt, &out);
				MetaetlRunDisarmTimeout();
				MetaetlRunPolicyFor(&plan, out.retry_step, &policy);
				if (strcmp(out.status, "failed") == 0 && out.transient &&
					attempt < policy.max_attempts)
				{
					unsigned int seed = (unsigned int) (plan.run_id * 31 + attempt);
					double		delay = MetaetlRetryDelay(&policy, attempt, &seed);
					TimestampTz until = GetCurrentTimestamp() + (TimestampTz) (delay * USECS_PER_SEC);

					MetaetlRunRecordAttempt(plan.run_id, attempt, &out, started, delay);
					for (;;)
					{
						long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);

						if (ms <= 0)
							break;
						(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
										 Min(ms, 1000), PG_WAIT_EXTENSION);
						ResetLatch(MyLatch);
						CHECK_FOR_INTERRUPTS();
					}
					continue;
				}
				MetaetlRunRecordAttempt(plan.run_id, attempt, &out, started, -1);
				MetaetlRunRecordFinish(plan.run_id, attempt, &out, &before);
				break;
			}
		}
		PG_FINALLY();
		{
			MetaetlRunDisarmTimeout();
			/* session-level lock: released even when the caller's statement fails */
			MetaetlRunUnlockPipeline(spec.pipeline_id, plan.concurrency);
		}
		PG_END_TRY();
	}

	/* monitoring (SLAs, alerts) runs as metaetl itself, as after a worker run */
	{
		MetaetlPrivState owner_st;

		MetaetlOwnerBegin(&owner_st);
		SPI_connect();
		{
			Oid			types[1] = {INT8OID};
			Datum		values[1] = {Int64GetDatum(plan.run_id)};

			/* monitoring's PL/pgSQL, installed with this library */
			SPI_execute_with_args("SELECT etl.on_run_finished($1)", 1, types, values, NULL, false, 0);
		}
		SPI_finish();
		MetaetlOwnerEnd(&owner_st);
	}

	summary = MetaetlRunSummary(plan.run_id);
	PG_RETURN_JSONB_P(run_jsonb_from_text(summary));
}

/*
 * run_visible
 *		As the caller (row-level security applies): the run's status and
 *		worker pid, or an error when this role cannot see the run.
 */
static void
run_visible(int64 run_id, char **status, int *worker_pid)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(run_id)};
	MemoryContext oldcxt = CurrentMemoryContext;

	SPI_connect();
	/*
	 * A saved plan (MetaetlSpiExec): a status poll is the most frequent call
	 * there is (the REST API's, the CLI's progress), and planning this
	 * statement with its row-level security quals was most of its cost.
	 * The plan cache replans when the calling role changes, as it must for
	 * row-level security.
	 */
	MetaetlSpiExec("SELECT status, worker_pid FROM etl.pipeline_runs WHERE run_id OPERATOR(pg_catalog.=) $1",
				   1, types, values, NULL, true, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("run %lld does not exist", (long long) run_id),
				 errhint("A role sees only the runs of pipelines it owns or is a member of the owner of.")));
	{
		bool		isnull;
		Datum		pid = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

		*status = MemoryContextStrdup(oldcxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
		*worker_pid = isnull ? 0 : DatumGetInt32(pid);
	}
	SPI_finish();
}

/*
 * run_progress
 *		The run's progress as jsonb {"progress": {...}}, ready to be
 *		concatenated to its summary: {phase, step, steps_done, steps_total,
 *		rows_so_far, elapsed_ms, expected_ms}.  While it runs, phase, step
 *		and counts come from its process (progress.c); otherwise from its
 *		records.  expected_ms is the mean duration of the pipeline's last 10
 *		successful runs (null without any).
 */
static Jsonb *
run_progress(int64 run_id, const char *status, int pid)
{
	MetaetlProgress p;
	bool		live = strcmp(status, "running") == 0 && MetaetlProgressRead(pid, run_id, &p);
	Oid			types[6] = {INT8OID, TEXTOID, TEXTOID, INT4OID, INT4OID, INT8OID};
	Datum		values[6];
	char		nulls[6] = {' ', 'n', 'n', 'n', 'n', 'n'};
	MetaetlPrivState st;
	MemoryContext oldcxt = CurrentMemoryContext;
	Jsonb	   *result;
	bool		isnull;

	values[0] = Int64GetDatum(run_id);
	if (live)
	{
		values[1] = CStringGetTextDatum(p.phase);
		values[2] = CStringGetTextDatum(p.step);
		values[3] = Int32GetDatum(p.steps_done);
		values[4] = Int32GetDatum(p.steps_total);
		values[5] = Int64GetDatum(p.rows_so_far);
		memset(nulls + 1, ' ', 5);
	}
	MetaetlOwnerBegin(&st);
	SPI_connect();
	MetaetlSpiExec("SELECT pg_catalog.jsonb_build_object('progress', pg_catalog.jsonb_build_object("
				   "  'phase', $2, 'step', $3,"
				   "  'steps_done', COALESCE($4, CASE WHEN r.status OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running']) THEN 0"
				   "                 ELSE (SELECT pg_catalog.count(*) FROM etl.step_runs s"
				   "                        WHERE s.run_id OPERATOR(pg_catalog.=) r.run_id AND s.status OPERATOR(pg_catalog.=) 'succeeded') END),"
				   "  'steps_total', COALESCE($5, CASE WHEN r.status OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running']) THEN NULL"
				   "                 ELSE (SELECT pg_catalog.count(*) FROM etl.step_runs s WHERE s.run_id OPERATOR(pg_catalog.=) r.run_id) END),"
				   "  'rows_so_far', COALESCE($6, r.rows_written, 0),"
				   "  'elapsed_ms', CASE WHEN r.started_at IS NULL THEN NULL ELSE pg_catalog.round("
				   "       (EXTRACT(epoch FROM COALESCE(r.ended_at, pg_catalog.clock_timestamp()) OPERATOR(pg_catalog.-) r.started_at)"
				   "        OPERATOR(pg_catalog.*) 1000)::pg_catalog.numeric) END,"
				   "  'expected_ms', (SELECT pg_catalog.round(pg_catalog.avg(EXTRACT(epoch FROM h.ended_at OPERATOR(pg_catalog.-) h.started_at)"
				   "                                          OPERATOR(pg_catalog.*) 1000)::pg_catalog.numeric)"
				   "                    FROM (SELECT x.started_at, x.ended_at FROM etl.pipeline_runs x"
				   "                           WHERE x.pipeline_id OPERATOR(pg_catalog.=) r.pipeline_id"
				   "                             AND x.status OPERATOR(pg_catalog.=) 'succeeded'"
				   "                             AND x.run_id OPERATOR(pg_catalog.<>) r.run_id"
				   "                           ORDER BY x.queued_at DESC LIMIT 10) h)))"
				   "  FROM etl.pipeline_runs r WHERE r.run_id OPERATOR(pg_catalog.=) $1",
				   6, types, values, nulls, true, 1);
	if (SPI_processed != 1)
		elog(ERROR, "run " INT64_FORMAT " has no record", run_id);
	result = DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	MemoryContextSwitchTo(oldcxt);
	result = DatumGetJsonbPCopy(JsonbPGetDatum(result));
	SPI_finish();
	MetaetlOwnerEnd(&st);
	return result;
}

/*
 * etl.run_status(run_id) returns jsonb
 *		The run's summary and its progress.  A run left 'running' by a worker
 *		that is gone is marked abandoned first; only then (not at every
 *		call: etl.mark_abandoned_runs reads pg_stat_activity) the check runs.
 */
Datum
metaetl_run_status(PG_FUNCTION_ARGS)
{
	int64		run_id = PG_GETARG_INT64(0);
	char	   *status;
	int			pid;
	Jsonb	   *summary;
	Jsonb	   *progress;

	run_visible(run_id, &status, &pid);
	if (strcmp(status, "running") == 0 && (pid == 0 || BackendPidGetProc(pid) == NULL))
	{
		SPI_connect();
		SPI_execute("SELECT etl.mark_abandoned_runs()", false, 0);
		SPI_finish();
		run_visible(run_id, &status, &pid);
	}
	summary = run_jsonb_from_text(MetaetlRunSummary(run_id));
	progress = run_progress(run_id, status, pid);	/* {"progress": {...}} */
	PG_RETURN_DATUM(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(summary), JsonbPGetDatum(progress)));
}

/*
 * etl.cancel_run(run_id) returns boolean
 *
 * Sends the run's worker a cancel (SIGINT): the running statement stops, the
 * attempt's subtransaction rolls back and the worker records 'cancelled'.
 */
Datum
metaetl_cancel_run(PG_FUNCTION_ARGS)
{
	int64		run_id = PG_GETARG_INT64(0);
	char	   *status;
	int			pid;
	bool		is_run_worker = false;

	run_visible(run_id, &status, &pid);
	if (strcmp(status, "running") != 0 || pid == 0)
		PG_RETURN_BOOL(false);
	if (pid == MyProcPid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("run %lld is running in this session", (long long) run_id)));

	/* only ever signal the process that is running this run */
	{
		Oid			types[2] = {INT4OID, TEXTOID};
		Datum		values[2];
		MetaetlPrivState owner_st;
		char		appname[64];

		snprintf(appname, sizeof(appname), "metaetl run %lld", (long long) run_id);
		values[0] = Int32GetDatum(pid);
		values[1] = CStringGetTextDatum(appname);
		MetaetlOwnerBegin(&owner_st);
		SPI_connect();
		SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1 AND application_name = $2",
							  2, types, values, NULL, true, 1);
		is_run_worker = SPI_processed == 1;
		SPI_finish();
		MetaetlOwnerEnd(&owner_st);
	}
	if (!is_run_worker)
		PG_RETURN_BOOL(false);
	/* audit first, so the cancel is recorded before the run's end */
	/* MetaetlAudit writes as the owner itself; the actor is the caller */
	MetaetlAudit("cancel", "run", NULL, run_id, "{}", GetUserNameFromId(GetUserId(), false));
	if (kill(pid, SIGINT) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not signal the worker of run %lld: %m", (long long) run_id)));
	PG_RETURN_BOOL(true);
}

/*
 * etl.create_execution_record(pipeline_id, trigger, triggered_by, params)
 */
Datum
metaetl_create_execution_record(PG_FUNCTION_ARGS)
{
	MetaetlRunSpec spec;
	MetaetlRunPlan plan;

	run_spec_from_args(fcinfo, &spec);
	PG_RETURN_INT64(MetaetlRunRecordStart(&spec, "queued", &plan));
}

/*
 * MetaetlRunCheckOwner
 *		Raise when pipeline_id's owner cannot run it.  The one rule for who
 *		runs, applied by etl.execute_pipeline (worker.c) and, through
 *		etl._check_run_owner, by etl.schedule_pipeline and so by
 *		register_pipeline's schedule: a schedule whose runs would be refused
 *		is refused when it is made, not left to fail in etl.schedules.  A run
 *		executes in a session authenticated as the owner (as a pg_cron job
 *		does), so the owner must be able to log in: running its code in a
 *		session of anyone else (the caller, maybe a superuser) would let that
 *		code SET SESSION AUTHORIZATION to them.
 */
void
MetaetlRunCheckOwner(const char *pipeline_id, Oid owner)
{
	if (!MetaetlRoleCanLogin(owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pipeline \"%s\" cannot run: its owner %s cannot log in", pipeline_id,
						GetUserNameFromId(owner, false)),
				 errdetail("A run executes in a session of its pipeline's owner, as a pg_cron job does."),
				 errhint("ALTER ROLE %s LOGIN, or give the pipeline to a role that can log in.",
						 quote_identifier(GetUserNameFromId(owner, false)))));
}

/*
 * etl._check_run_owner(pipeline_id text) returns void
 *		As the caller: raise what a run of the pipeline would raise for its
 *		owner (MetaetlRunCheckOwner).  Nothing for a pipeline the caller
 *		cannot see: the callers report that themselves.
 */
Datum
metaetl_check_run_owner(PG_FUNCTION_ARGS)
{
	char	   *pipeline_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {PG_GETARG_DATUM(0)};
	Oid			owner = InvalidOid;

	SPI_connect();
	if (SPI_execute_with_args("SELECT r.oid FROM etl.pipelines p"
							  "  JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) p.owner"
							  " WHERE p.pipeline_id OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;

		owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	if (OidIsValid(owner))
		MetaetlRunCheckOwner(pipeline_id, owner);
	PG_RETURN_VOID();
}
