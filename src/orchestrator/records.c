/*-------------------------------------------------------------------------
 *
 * src/orchestrator/records.c
 *		Run records: etl.pipeline_runs, etl.run_attempts, etl.step_runs and
 *		the audit rows of runs.
 *
 * Records are written by metaetl itself as the extension owner (plain roles
 * may read their own runs but not write run rows), switching the current
 * user the way a SECURITY DEFINER function does; an error inside restores
 * the caller's identity through (sub)transaction abort.  Access checks run
 * as the caller, so row-level security decides which pipelines exist for it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/timestamp.h"

#include "lineage/lineage.h"
#include "metaetl.h"
#include "orchestrator/orchestrator.h"
#include "security/security.h"

/* SPI helpers: text parameters, NULL for a NULL pointer */
static int
records_exec(const char *sql, int nargs, const char **values, bool read_only, long count)
{
	Oid			types[24];
	Datum		datums[24];
	char		nulls[24];

	if (nargs > 24)
		elog(ERROR, "too many parameters");
	for (int i = 0; i < nargs; i++)
	{
		types[i] = TEXTOID;
		datums[i] = values[i] ? CStringGetTextDatum(values[i]) : (Datum) 0;
		nulls[i] = values[i] ? ' ' : 'n';
	}
	return MetaetlSpiExec(sql, nargs, types, datums, nulls, read_only, count);
}

static char *
records_getstr(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/*
 * MetaetlRunCheckAccess
 *		As the caller: the pipeline exists for this role (row-level security
 *		hides other roles' pipelines), the caller may run it (a member of its
 *		owner, etl_operator, etl_admin: a viewer sees it but may not), and it
 *		is enabled.  Returns its owner: a run, however it starts, runs as the
 *		pipeline's owner, as a pg_cron job runs as its owner — so nobody runs
 *		a role's code with more rights than that role's (a superuser who runs
 *		a plain role's pipeline runs it as that role).
 */
Oid
MetaetlRunCheckAccess(const char *pipeline_id)
{
	const char *args[1] = {pipeline_id};
	char	   *enabled;
	char	   *may;
	Oid			owner;

	SPI_connect();
	records_exec("SELECT p.enabled::pg_catalog.text, r.oid::pg_catalog.text,"
				 "       etl._caller_may_operate(p.pipeline_id)::pg_catalog.text"
				 "  FROM etl.pipelines p JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) p.owner"
				 " WHERE p.pipeline_id OPERATOR(pg_catalog.=) $1",
				 1, args, true, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pipeline \"%s\" does not exist", pipeline_id),
				 errhint("Register it with etl.register_pipeline(); role \"%s\" sees only the pipelines of roles it is a member of.",
						 GetUserNameFromId(GetUserId(), false))));
	enabled = records_getstr(0, 1);
	owner = (Oid) strtoul(records_getstr(0, 2), NULL, 10);
	may = records_getstr(0, 3);
	if (strcmp(may, "true") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to run pipeline \"%s\"", pipeline_id),
				 errhint("Runs are started by members of the pipeline's owner, etl_operator and etl_admin.")));
	if (strcmp(enabled, "true") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pipeline \"%s\" is disabled", pipeline_id),
				 errhint("Enable it with UPDATE etl.pipelines SET enabled = true WHERE pipeline_id = '%s'.",
						 pipeline_id)));
	SPI_finish();
	return owner;
}

/*
 * MetaetlRunRecordStart
 *		Insert the run row (status 'running' or 'queued') pinned to the
 *		pipeline's current version and fill plan from the config.
 */
int64
MetaetlRunRecordStart(const MetaetlRunSpec *spec, const char *status, MetaetlRunPlan *plan)
{
	MetaetlPrivState owner_st;
	char		pidbuf[16];
	char		queuebuf[32];
	const char *args[10];
	MemoryContext oldcxt = CurrentMemoryContext;

	snprintf(pidbuf, sizeof(pidbuf), "%d", MyProcPid);
	snprintf(queuebuf, sizeof(queuebuf), INT64_FORMAT, spec->queue_id);
	args[0] = spec->pipeline_id;
	args[1] = spec->trigger;
	args[2] = spec->triggered_by;
	args[3] = GetUserNameFromId(spec->run_as, false);
	args[4] = status;
	args[5] = spec->params;
	args[6] = strcmp(status, "running") == 0 ? pidbuf : NULL;
	args[7] = spec->queue_id > 0 ? queuebuf : NULL;
	args[8] = spec->logical_date;
	/*
	 * When a process took the run: a pooled executor's hand-over, or a run
	 * worker's process start; how long the run waited for a worker.
	 */
	if (spec->worker_started_at != 0)
		args[9] = timestamptz_to_str(spec->worker_started_at);
	else if (strcmp(status, "queued") == 0)
		args[9] = NULL;			/* recorded for a process yet to take it */
	else
		args[9] = MyBackendType == B_BG_WORKER ? timestamptz_to_str(MyStartTimestamp) : NULL;

	MetaetlOwnerBegin(&owner_st);
	SPI_connect();
	if (spec->resume_run_id > 0)
	{
		/* a retry that waited in etl.run_queue: the same run goes on */
		char		runbuf[32];

		snprintf(runbuf, sizeof(runbuf), INT64_FORMAT, spec->resume_run_id);
		records_exec("UPDATE etl.pipeline_runs r SET status = 'running', worker_pid = $2::int4,"
					 "       worker_started_at = $3::timestamptz,"
					 "       started_at = COALESCE(r.started_at, pg_catalog.clock_timestamp())"
					 " WHERE r.run_id = $1::int8 AND r.status = 'queued'"
					 " RETURNING r.run_id::text, r.version::text",
					 3, (const char *[]) {runbuf, pidbuf, args[9]}, false, 0);
	}
	else
		records_exec("INSERT INTO etl.pipeline_runs AS r (pipeline_id, version, trigger, triggered_by, run_as,"
					 "       status, params, started_at, worker_pid, queue_id, logical_date, worker_started_at)"
					 " SELECT p.pipeline_id, p.current_version, $2, $3, $4::name, $5, $6::jsonb,"
					 "        CASE WHEN $5 = 'running' THEN pg_catalog.clock_timestamp() END,"
					 "        $7::int4, $8::int8, $9::timestamptz, $10::timestamptz"
					 "   FROM etl.pipelines p WHERE p.pipeline_id = $1"
					 " RETURNING r.run_id::text, r.version::text",
					 10, args, false, 0);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pipeline \"%s\" does not exist", spec->pipeline_id)));
	{
		char	   *run_id = records_getstr(0, 1);
		char	   *version = records_getstr(0, 2);

		plan->run_id = strtoi64(run_id, NULL, 10);
		plan->version = atoi(version);
	}

	/* a run started from etl.run_queue: the queue row points at its run */
	if (spec->queue_id > 0 && spec->resume_run_id == 0)
	{
		char		runbuf[32];

		snprintf(runbuf, sizeof(runbuf), INT64_FORMAT, plan->run_id);
		records_exec("UPDATE etl.run_queue SET run_id = $2::int8 WHERE queue_id = $1::int8",
					 2, (const char *[]) {queuebuf, runbuf}, false, 0);
	}

	/* the pinned version's config and the run-control settings it carries */
	args[0] = spec->pipeline_id;
	args[1] = psprintf("%d", plan->version);
	records_exec("SELECT v.config::text,"
				 "       COALESCE(v.config #>> '{pipeline,concurrency}', 'skip'),"
				 "       COALESCE((v.config #>> '{pipeline,timeout_minutes}')::float8, 0)::text,"
				 "       COALESCE((v.config #>> '{pipeline,retry,max_attempts}')::int4, 1)::text,"
				 "       COALESCE((v.config #>> '{pipeline,retry,initial_delay_s}')::float8, 5)::text,"
				 "       COALESCE((v.config #>> '{pipeline,retry,backoff}')::float8, 2)::text,"
				 "       COALESCE((v.config #>> '{pipeline,retry,max_delay_s}')::float8, 300)::text,"
				 "       COALESCE((v.config #>> '{pipeline,retry,jitter}')::bool, false)::text"
				 "  FROM (SELECT COALESCE(pv.config, p.config) AS config"
				 "          FROM etl.pipelines p"
				 "          LEFT JOIN etl.pipeline_versions pv"
				 "            ON pv.pipeline_id = p.pipeline_id AND pv.version = $2::int4"
				 "         WHERE p.pipeline_id = $1) v",
				 2, args, true, 1);
	{
		MemoryContext spicxt = MemoryContextSwitchTo(oldcxt);

		plan->config = pstrdup(records_getstr(0, 1));
		plan->concurrency = pstrdup(records_getstr(0, 2));
		plan->timeout_minutes = strtod(records_getstr(0, 3), NULL);
		plan->retry.max_attempts = atoi(records_getstr(0, 4));
		plan->retry.initial_delay_s = strtod(records_getstr(0, 5), NULL);
		plan->retry.backoff = strtod(records_getstr(0, 6), NULL);
		plan->retry.max_delay_s = strtod(records_getstr(0, 7), NULL);
		plan->retry.jitter = strcmp(records_getstr(0, 8), "true") == 0;
		MemoryContextSwitchTo(spicxt);
	}
	if (plan->retry.max_attempts < 1)
		plan->retry.max_attempts = 1;
	SPI_finish();

	{
		char		details[256];

		snprintf(details, sizeof(details),
				 "{\"trigger\": \"%s\", \"version\": %d}", spec->trigger, plan->version);
		MetaetlAudit(spec->resume_run_id > 0 ? "run_resume" :
					 strcmp(status, "running") == 0 ? "run_start" : "run_queued",
					 "run", spec->pipeline_id, plan->run_id, details, NULL);
	}
	/* OpenLineage START (queued in this transaction; never fails the run) */
	if (strcmp(status, "running") == 0)
		MetaetlLineageRunStarted(plan->run_id);
	MetaetlOwnerEnd(&owner_st);
	return plan->run_id;
}

/*
 * Record one attempt's outcome (and the delay before the next one) as the
 * extension owner, so that a run's role can never forge or hide an attempt.
 */
void
MetaetlRunRecordAttempt(int64 run_id, int attempt, const MetaetlRunOutcome *out,
						TimestampTz started, double next_delay_s)
{
	MetaetlPrivState owner_st;
	char		runbuf[32];
	char		attbuf[16];
	char		delaybuf[32];
	const char *args[8];
	bool		failed = strcmp(out->status, "succeeded") != 0;

	snprintf(runbuf, sizeof(runbuf), INT64_FORMAT, run_id);
	snprintf(attbuf, sizeof(attbuf), "%d", attempt);
	snprintf(delaybuf, sizeof(delaybuf), "%g", next_delay_s);
	args[0] = runbuf;
	args[1] = attbuf;
	args[2] = next_delay_s >= 0 ? "retrying" : out->status;
	args[3] = failed && out->sqlstate[0] ? (out->transient ? "transient" : "permanent") : NULL;
	args[4] = failed && out->sqlstate[0] ? out->sqlstate : NULL;
	args[5] = failed ? out->error_message : NULL;
	args[6] = timestamptz_to_str(started);
	args[7] = next_delay_s >= 0 ? delaybuf : NULL;

	MetaetlOwnerBegin(&owner_st);
	SPI_connect();
	records_exec("INSERT INTO etl.run_attempts (run_id, attempt, status, error_class, error_sqlstate,"
				 "       error_message, started_at, ended_at, next_delay_s)"
				 " VALUES ($1::int8, $2::int4, $3, $4, $5, $6, $7::timestamptz,"
				 "         pg_catalog.clock_timestamp(), $8::float8)",
				 8, args, false, 0);
	SPI_finish();
	MetaetlOwnerEnd(&owner_st);
}

/*
 * Record a run's final status with its resource usage since before, the
 * step records and its lineage, as the extension owner: the single place a
 * run record becomes final.
 */
void
MetaetlRunRecordFinish(int64 run_id, int attempts, const MetaetlRunOutcome *out,
					   const struct rusage *before)
{
	MetaetlPrivState owner_st;
	struct rusage after;
	char		runbuf[32];
	char		attbuf[16];
	char		rr[32];
	char		rw[32];
	char		qs[32];
	char		cpu_user[32];
	char		cpu_sys[32];
	char		peak[32];
	const char *args[19];

	getrusage(RUSAGE_SELF, &after);
	snprintf(runbuf, sizeof(runbuf), INT64_FORMAT, run_id);
	snprintf(attbuf, sizeof(attbuf), "%d", attempts);
	snprintf(rr, sizeof(rr), INT64_FORMAT, out->rows_read);
	snprintf(rw, sizeof(rw), INT64_FORMAT, out->rows_written);
	snprintf(qs, sizeof(qs), "%.2f", out->quality_score);
	snprintf(cpu_user, sizeof(cpu_user), "%.3f",
			 (after.ru_utime.tv_sec - before->ru_utime.tv_sec) * 1000.0 +
			 (after.ru_utime.tv_usec - before->ru_utime.tv_usec) / 1000.0);
	snprintf(cpu_sys, sizeof(cpu_sys), "%.3f",
			 (after.ru_stime.tv_sec - before->ru_stime.tv_sec) * 1000.0 +
			 (after.ru_stime.tv_usec - before->ru_stime.tv_usec) / 1000.0);
	snprintf(peak, sizeof(peak), "%ld", after.ru_maxrss);

	args[0] = runbuf;
	args[1] = out->status;
	args[2] = attbuf;
	args[3] = out->has_rows ? rr : NULL;
	args[4] = out->has_rows ? rw : NULL;
	args[5] = out->has_quality ? qs : NULL;
	args[6] = out->engine;
	args[7] = out->engine_reason;
	args[8] = out->sqlstate[0] ? out->sqlstate : NULL;
	args[9] = out->error_message;
	args[10] = out->error_detail;
	args[11] = out->error_step;
	args[12] = cpu_user;
	args[13] = cpu_sys;
	args[14] = peak;
	args[15] = out->quality_checks;
	args[16] = out->result;
	args[17] = out->steps;
	args[18] = out->error_hint;

	MetaetlOwnerBegin(&owner_st);
	SPI_connect();
	records_exec("UPDATE etl.pipeline_runs SET status = $2, attempt = $3::int4,"
				 "       started_at = COALESCE(started_at, pg_catalog.clock_timestamp()),"
				 "       ended_at = pg_catalog.clock_timestamp(),"
				 "       rows_read = $4::int8, rows_written = $5::int8, quality_score = $6::numeric,"
				 "       engine = $7, engine_reason = $8, error_sqlstate = $9, error_message = $10,"
				 "       error_detail = $11, error_step = $12, cpu_user_ms = $13::float8,"
				 "       cpu_sys_ms = $14::float8, peak_memory_kb = $15::int8,"
				 "       quality_checks = $16::jsonb, result = $17::jsonb, error_hint = $19,"
				 "       rows_per_sec = CASE WHEN $5 IS NULL THEN NULL ELSE"
				 "           $5::float8 / GREATEST(EXTRACT(epoch FROM pg_catalog.clock_timestamp()"
				 "                                  - COALESCE(started_at, pg_catalog.clock_timestamp())), 0.001) END"
				 " WHERE run_id = $1::int8",
				 19, args, false, 0);
	/* the queue row of a scheduled run is done (its pool slot frees up) */
	records_exec("UPDATE etl.run_queue q SET state = 'done' FROM etl.pipeline_runs r"
				 " WHERE r.run_id = $1::int8 AND q.queue_id = r.queue_id AND q.state = 'claimed'",
				 1, (const char *[]) {runbuf}, false, 0);
	if (out->steps != NULL)
		records_exec("INSERT INTO etl.step_runs (run_id, seq, step_id, kind, status, rows, duration_ms, details)"
					 " SELECT $1::int8, s.ord, COALESCE(s.value->>'id', '?'),"
					 "        CASE WHEN s.value->>'kind' IN ('source', 'step', 'quality', 'target')"
					 "             THEN s.value->>'kind' ELSE 'step' END,"
					 "        CASE WHEN s.value->>'status' IN ('succeeded', 'failed', 'skipped')"
					 "             THEN s.value->>'status' ELSE 'succeeded' END,"
					 "        (s.value->>'rows')::int8, (s.value->>'duration_ms')::float8,"
					 "        s.value - 'id' - 'kind' - 'status' - 'rows' - 'duration_ms'"
					 "   FROM pg_catalog.jsonb_array_elements($2::jsonb) WITH ORDINALITY s(value, ord)"
		/* the rows written while the run was under way (progress.c) give way */
					 " ON CONFLICT (run_id, seq) DO UPDATE SET step_id = EXCLUDED.step_id,"
					 "       kind = EXCLUDED.kind, status = EXCLUDED.status, rows = EXCLUDED.rows,"
					 "       duration_ms = EXCLUDED.duration_ms, details = EXCLUDED.details",
					 2, (const char *[]) {runbuf, out->steps}, false, 0);
	SPI_finish();
	{
		StringInfoData details;

		initStringInfo(&details);
		appendStringInfo(&details, "{\"status\": \"%s\", \"attempts\": %d", out->status, attempts);
		if (out->sqlstate[0])
			appendStringInfo(&details, ", \"error_sqlstate\": \"%s\"", out->sqlstate);
		appendStringInfoChar(&details, '}');
		MetaetlAudit("run_end", "run", NULL, run_id, details.data, NULL);
	}
	/* lineage, schema snapshots and drift, the final OpenLineage event */
	MetaetlLineageRunFinished(run_id, out->status);
	MetaetlOwnerEnd(&owner_st);
}

/*
 * MetaetlRunSummary
 *		The run's summary as jsonb text (the shape execute_pipeline returns).
 */
char *
MetaetlRunSummary(int64 run_id)
{
	MetaetlPrivState owner_st;
	char		runbuf[32];
	char	   *result = NULL;
	MemoryContext oldcxt = CurrentMemoryContext;

	snprintf(runbuf, sizeof(runbuf), INT64_FORMAT, run_id);
	MetaetlOwnerBegin(&owner_st);
	SPI_connect();
	records_exec("SELECT pg_catalog.jsonb_build_object("
				 "  'run_id', run_id, 'pipeline_id', pipeline_id, 'status', status,"
				 "  'rows_read', rows_read, 'rows_written', rows_written,"
				 "  'quality_score', quality_score,"
				 "  'duration_ms', CASE WHEN started_at IS NULL THEN NULL ELSE pg_catalog.round("
				 "       (EXTRACT(epoch FROM COALESCE(ended_at, pg_catalog.clock_timestamp()) - started_at) * 1000)::numeric, 3) END,"
				 "  'error', CASE WHEN error_message IS NULL THEN NULL ELSE pg_catalog.jsonb_build_object("
				 "       'sqlstate', error_sqlstate, 'message', error_message, 'detail', error_detail,"
				 "       'hint', error_hint, 'step', error_step) END,"
				 "  'engine', engine, 'engine_reason', engine_reason, 'attempts', attempt,"
				 "  'version', version, 'trigger', trigger, 'triggered_by', triggered_by,"
				 "  'run_as', run_as, 'queued_at', queued_at, 'started_at', started_at, 'ended_at', ended_at)::text"
				 "  FROM etl.pipeline_runs WHERE run_id = $1::int8",
				 1, (const char *[]) {runbuf}, false, 1);
	if (SPI_processed != 1)
		elog(ERROR, "run " INT64_FORMAT " has no record", run_id);
	result = MemoryContextStrdup(oldcxt, records_getstr(0, 1));
	SPI_finish();
	MetaetlOwnerEnd(&owner_st);
	return result;
}

/*
 * MetaetlAudit
 *		Append an audit row through etl.audit() (redacts secrets).  The
 *		actor defaults to the run's role for run events.
 */
void
MetaetlAudit(const char *action, const char *object_type, const char *object_id,
			 int64 run_id, const char *details_json, const char *actor)
{
	char		runbuf[32];
	const char *args[6];
	MetaetlPrivState st;

	snprintf(runbuf, sizeof(runbuf), INT64_FORMAT, run_id);
	args[0] = action;
	args[1] = object_type;
	args[2] = object_id;
	args[3] = run_id > 0 ? runbuf : NULL;
	args[4] = details_json ? details_json : "{}";
	args[5] = actor;
	/* etl.audit is the owner's (not executable by PUBLIC) */
	MetaetlOwnerBegin(&st);
	SPI_connect();
	records_exec("SELECT etl.audit($1, $2, COALESCE($3, r.pipeline_id), NULL, NULL, $4::pg_catalog.int8, $5::pg_catalog.jsonb,"
				 "                 COALESCE($6::pg_catalog.name, r.run_as))"
				 "  FROM (SELECT NULL) dummy"
				 "  LEFT JOIN etl.pipeline_runs r ON r.run_id OPERATOR(pg_catalog.=) $4::pg_catalog.int8",
				 6, args, false, 0);
	SPI_finish();
	MetaetlOwnerEnd(&st);
}

/*
 * MetaetlRunPolicyFor
 *		The retry policy for an error of step (a source, transform or target
 *		id, or NULL): the step's own retry: block when it has one, else the
 *		pipeline's.  Needs a transaction.
 */
void
MetaetlRunPolicyFor(const MetaetlRunPlan *plan, const char *step, MetaetlRetryPolicy *policy)
{
	const char *args[2];

	*policy = plan->retry;
	if (step == NULL)
		return;
	args[0] = plan->config;
	args[1] = step;
	SPI_connect();
	records_exec("SELECT COALESCE((s.value #>> '{retry,max_attempts}')::int4, 3)::text,"
				 "       COALESCE((s.value #>> '{retry,initial_delay_s}')::float8, 5)::text,"
				 "       COALESCE((s.value #>> '{retry,backoff}')::float8, 2)::text,"
				 "       COALESCE((s.value #>> '{retry,max_delay_s}')::float8, 300)::text,"
				 "       COALESCE((s.value #>> '{retry,jitter}')::bool, false)::text"
				 "  FROM pg_catalog.jsonb_array_elements("
				 "         COALESCE($1::jsonb #> '{pipeline,sources}', '[]') ||"
				 "         COALESCE($1::jsonb #> '{pipeline,transforms}', '[]') ||"
				 "         COALESCE($1::jsonb #> '{pipeline,targets}', '[]')) s"
				 " WHERE s.value->>'id' = $2 AND pg_catalog.jsonb_typeof(s.value->'retry') = 'object'"
				 " LIMIT 1",
				 2, args, true, 1);
	if (SPI_processed == 1)
	{
		policy->max_attempts = Max(atoi(records_getstr(0, 1)), 1);
		policy->initial_delay_s = strtod(records_getstr(0, 2), NULL);
		policy->backoff = strtod(records_getstr(0, 3), NULL);
		policy->max_delay_s = strtod(records_getstr(0, 4), NULL);
		policy->jitter = strcmp(records_getstr(0, 5), "true") == 0;
	}
	SPI_finish();
}

/*
 * MetaetlRunRequeue
 *		A run started from etl.run_queue waits for its next attempt in the
 *		queue, not in its worker: the run goes back to 'queued' and its queue
 *		row becomes claimable again after the delay, at attempt next_attempt.
 */
void
MetaetlRunRequeue(int64 run_id, int64 queue_id, int next_attempt, double delay_s)
{
	MetaetlPrivState owner_st;
	char		runbuf[32];
	char		queuebuf[32];
	char		attbuf[16];
	char		delaybuf[32];

	snprintf(runbuf, sizeof(runbuf), INT64_FORMAT, run_id);
	snprintf(queuebuf, sizeof(queuebuf), INT64_FORMAT, queue_id);
	snprintf(attbuf, sizeof(attbuf), "%d", next_attempt);
	snprintf(delaybuf, sizeof(delaybuf), "%g", delay_s);
	MetaetlOwnerBegin(&owner_st);
	SPI_connect();
	records_exec("UPDATE etl.pipeline_runs SET status = 'queued', attempt = $2::int4 - 1"
				 " WHERE run_id = $1::int8",
				 2, (const char *[]) {runbuf, attbuf}, false, 0);
	records_exec("UPDATE etl.run_queue SET state = 'queued', claimed_at = NULL, attempt = $2::int4,"
				 "       not_before = pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => $3::float8)"
				 " WHERE queue_id = $1::int8",
				 3, (const char *[]) {queuebuf, attbuf, delaybuf}, false, 0);
	SPI_finish();
	MetaetlOwnerEnd(&owner_st);
}
