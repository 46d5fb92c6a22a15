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
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "orchestrator/orchestrator.h"
#include "security/security.h"

PG_FUNCTION_INFO_V1(metaetl_execute_pipeline);
PG_FUNCTION_INFO_V1(metaetl_execute_pipeline_inline);
PG_FUNCTION_INFO_V1(metaetl_run_status);
PG_FUNCTION_INFO_V1(metaetl_cancel_run);
PG_FUNCTION_INFO_V1(metaetl_create_execution_record);

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
	SPI_execute_with_args("SELECT status, worker_pid FROM etl.pipeline_runs WHERE run_id = $1",
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

Datum
metaetl_run_status(PG_FUNCTION_ARGS)
{
	int64		run_id = PG_GETARG_INT64(0);
	char	   *status;
	int			pid;

	SPI_connect();
	SPI_execute("SELECT etl.mark_abandoned_runs()", false, 0);
	SPI_finish();
	run_visible(run_id, &status, &pid);
	PG_RETURN_JSONB_P(run_jsonb_from_text(MetaetlRunSummary(run_id)));
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
