/*-------------------------------------------------------------------------
 *
 * src/orchestrator/body.c
 *		One attempt of a run: the pipeline's data flow in a subtransaction,
 *		as the run's role, with the quality gate before the load.
 *
 * The attempt calls etl.execute_plan() (src/transform) on the pinned
 * config.  When the config has quality rules, the nodes they name are
 * materialised and etl.run_quality_hook() runs the quality gate on them
 * before any target is loaded; an error-severity failure raises
 * METAETL_ERRCODE_QUALITY_GATE, which rolls the subtransaction (and so every
 * target) back.  Errors are caught here, classified (retry.c) and returned
 * in the outcome; they never escape to the caller.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timeout.h"

#include "metaetl.h"
#include "orchestrator/orchestrator.h"
#include "quality/quality.h"

PG_FUNCTION_INFO_V1(metaetl_run_quality_hook);

/*
 * The run whose attempt is under way in this process, for the quality hook
 * (called back from inside etl.execute_plan).  Its strings live in the
 * attempt's caller's memory context, which outlives the subtransaction.
 */
typedef struct RunHookState
{
	bool		active;
	int64		run_id;
	const char *pipeline_id;
	const char *config;
	MemoryContext cxt;
	char	   *gate_result;	/* jsonb text of the last gate, in cxt */
	bool		gate_passed;
	double		gate_score;
	bool		gate_ran;
} RunHookState;

static RunHookState run_hook;

/* per-run timeout (timeout_minutes) */
static volatile sig_atomic_t run_timeout_fired = false;
static TimeoutId run_timeout_id = MAX_TIMEOUTS;

static void
run_timeout_handler(void)
{
	run_timeout_fired = true;
	kill(MyProcPid, SIGINT);
}

void
MetaetlRunArmTimeout(double minutes)
{
	run_timeout_fired = false;
	if (minutes <= 0)
		return;
	if (run_timeout_id == MAX_TIMEOUTS)
		run_timeout_id = RegisterTimeout(USER_TIMEOUT, run_timeout_handler);
	enable_timeout_after(run_timeout_id, (int) Min(minutes * 60000.0, (double) INT_MAX));
}

void
MetaetlRunDisarmTimeout(void)
{
	if (run_timeout_id != MAX_TIMEOUTS)
		disable_timeout(run_timeout_id, false);
}


/* the key of a pipeline's concurrency lock: (class, hashtext(pipeline_id)) */
static Datum
body_lock_key(const char *pipeline_id)
{
	return DirectFunctionCall1Coll(hashtext, DEFAULT_COLLATION_OID, CStringGetTextDatum(pipeline_id));
}

/*
 * MetaetlRunLockPipeline
 *		Enforce the pipeline's concurrency policy with a session-level
 *		advisory lock: skip (try, false when busy), queue (wait), allow (none).
 */
bool
MetaetlRunLockPipeline(const char *pipeline_id, const char *concurrency)
{
	Datum		class = Int32GetDatum(METAETL_RUN_LOCK_CLASS);

	if (strcmp(concurrency, "allow") == 0)
		return true;
	if (strcmp(concurrency, "queue") == 0)
	{
		(void) DirectFunctionCall2(pg_advisory_lock_int4, class, body_lock_key(pipeline_id));
		return true;
	}
	return DatumGetBool(DirectFunctionCall2(pg_try_advisory_lock_int4, class,
											body_lock_key(pipeline_id)));
}

/*
 * MetaetlRunUnlockPipeline
 *		Release what MetaetlRunLockPipeline took.  Works in an aborted
 *		transaction too (no SPI): the lock is a session-level one.
 */
void
MetaetlRunUnlockPipeline(const char *pipeline_id, const char *concurrency)
{
	if (strcmp(concurrency, "allow") == 0)
		return;					/* never locked */
	(void) DirectFunctionCall2(pg_advisory_unlock_int4, Int32GetDatum(METAETL_RUN_LOCK_CLASS),
							   body_lock_key(pipeline_id));
}

static char *
body_strdup_or_null(MemoryContext cxt, const char *s)
{
	return s ? MemoryContextStrdup(cxt, s) : NULL;
}

/*
 * body_execute_plan
 *		SELECT etl.execute_plan(config, params, options) and unpack the result
 *		into out.  Runs inside the attempt's subtransaction.
 */
static void
body_execute_plan(const MetaetlRunSpec *spec, const MetaetlRunPlan *plan,
				  MetaetlRunOutcome *out, MemoryContext outcxt)
{
	Oid			types[5] = {TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTARRAYOID};
	Datum		values[5];
	HeapTuple	tup;
	TupleDesc	desc;
	List	   *qnodes;
	Datum	   *qn;
	ListCell   *lc;
	int			nq = 0;

	values[0] = CStringGetTextDatum(plan->config);
	values[1] = CStringGetTextDatum(spec->params ? spec->params : "{}");
	values[2] = Int64GetDatum(plan->run_id);
	values[3] = CStringGetTextDatum(spec->pipeline_id);
	/* the nodes the quality rules check or reference (src/quality/gate.c) */
	qnodes = MetaetlQualityNodes(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(plan->config))));
	qn = palloc(sizeof(Datum) * Max(list_length(qnodes), 1));
	foreach(lc, qnodes)
		qn[nq++] = CStringGetTextDatum((char *) lfirst(lc));
	values[4] = PointerGetDatum(construct_array(qn, nq, TEXTOID, -1, false, TYPALIGN_INT));

	SPI_connect();
	if (MetaetlSpiExec("SELECT 1 FROM pg_catalog.pg_proc WHERE oid = pg_catalog.to_regprocedure('etl.execute_plan(jsonb,jsonb,jsonb)')",
						   0, NULL, NULL, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the transform engine is not installed"),
				 errdetail("etl.execute_plan(jsonb, jsonb, jsonb) does not exist in this database.")));

	/*
	 * Options: the template context ({{last_run}} is the start of the last
	 * successful run, -infinity before the first), and when the config has
	 * quality rules, the nodes they name materialised for the gate hook.
	 */
	MetaetlSpiExec(
		"WITH c AS (SELECT $1::jsonb AS config),"
		" ctx AS (SELECT pg_catalog.jsonb_build_object('run_id', $3,"
		"            'last_run', COALESCE((SELECT pg_catalog.max(r.started_at)::text FROM etl.pipeline_runs r"
		"                                   WHERE r.pipeline_id = $4 AND r.status = 'succeeded' AND r.run_id <> $3),"
		"                                 '-infinity'),"
		"            'logical_date', COALESCE((SELECT r.logical_date::text FROM etl.pipeline_runs r WHERE r.run_id = $3),"
		"                                     pg_catalog.now()::text),"
		"            'watermark', COALESCE((SELECT w.value FROM etl.watermarks w,"
		"                                          pg_catalog.jsonb_array_elements(c.config #> '{pipeline,sources}') WITH ORDINALITY src(value, ord)"
		"                                    WHERE w.pipeline_id = $4 AND w.source_id = src.value->>'id'"
		"                                      AND src.value->>'watermark_column' IS NOT NULL"
		"                                    ORDER BY src.ord LIMIT 1), '-infinity')) AS context FROM c),"
		" hooked AS (SELECT ARRAY(SELECT pg_catalog.unnest($5::pg_catalog.text[])"
		"                         UNION"
		"                         SELECT src.value->>'id'"
		"                           FROM pg_catalog.jsonb_array_elements(COALESCE(c.config #> '{pipeline,sources}', '[]')) src"
		"                          WHERE src.value->>'watermark_column' IS NOT NULL) AS nodes FROM c),"
		" o AS (SELECT CASE WHEN pg_catalog.cardinality(h.nodes) > 0"
		"            THEN pg_catalog.jsonb_build_object('run_id', $3, 'context', ctx.context,"
		"                   'materialize', pg_catalog.to_jsonb(h.nodes),"
		"                   'before_load', 'etl.run_quality_hook(jsonb)')"
		"            ELSE pg_catalog.jsonb_build_object('run_id', $3, 'context', ctx.context) END AS options"
		"   FROM ctx, hooked h)"
		" SELECT x.r::text, x.r->>'rows_read', x.r->>'rows_written', x.r->>'engine',"
		"        x.r->>'engine_reason', (x.r->'steps')::text"
		"   FROM c, o, LATERAL (SELECT etl.execute_plan(c.config, $2::jsonb, o.options) AS r) x",
		5, types, values, NULL, false, 1);
	if (SPI_processed != 1)
		elog(ERROR, "etl.execute_plan returned no row");
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	{
		char	   *rr = SPI_getvalue(tup, desc, 2);
		char	   *rw = SPI_getvalue(tup, desc, 3);

		out->result = body_strdup_or_null(outcxt, SPI_getvalue(tup, desc, 1));
		out->rows_read = rr ? strtoi64(rr, NULL, 10) : 0;
		out->rows_written = rw ? strtoi64(rw, NULL, 10) : 0;
		out->has_rows = true;
		out->engine = body_strdup_or_null(outcxt, SPI_getvalue(tup, desc, 4));
		out->engine_reason = body_strdup_or_null(outcxt, SPI_getvalue(tup, desc, 5));
		out->steps = body_strdup_or_null(outcxt, SPI_getvalue(tup, desc, 6));
	}
	SPI_finish();
}

/*
 * body_error_step
 *		The step an error came from, when the transform engine said so in the
 *		error's message, context or detail ("step \"id\"").
 */
static char *
body_error_step(ErrorData *edata)
{
	const char *fields[3] = {edata->message, edata->context, edata->detail};

	for (int i = 0; i < 3; i++)
	{
		const char *p = fields[i] ? strstr(fields[i], "step \"") : NULL;

		if (p)
		{
			const char *start = p + strlen("step \"");
			const char *end = strchr(start, '"');

			if (end)
				return pnstrdup(start, end - start);
		}
	}
	return NULL;
}

/*
 * MetaetlRunAttempt
 *		Run one attempt in a subtransaction of the current transaction.  On
 *		success the subtransaction's work (loads, DQ results) stays part of
 *		the current transaction; on failure it is rolled back and out says why.
 */
void
MetaetlRunAttempt(const MetaetlRunSpec *spec, const MetaetlRunPlan *plan,
				  int attempt, MetaetlRunOutcome *out)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Oid			saved_user;
	int			saved_context;

	memset(out, 0, sizeof(*out));
	out->status = "failed";

	run_hook.active = true;
	run_hook.run_id = plan->run_id;
	run_hook.pipeline_id = spec->pipeline_id;
	run_hook.config = plan->config;
	run_hook.cxt = oldcxt;
	run_hook.gate_result = NULL;
	run_hook.gate_ran = false;
	run_hook.gate_passed = true;

	GetUserIdAndSecContext(&saved_user, &saved_context);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);

	PG_TRY();
	{
		SetUserIdAndSecContext(spec->run_as, saved_context | SECURITY_LOCAL_USERID_CHANGE);
		body_execute_plan(spec, plan, out, oldcxt);
		SetUserIdAndSecContext(saved_user, saved_context);

		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		out->status = "succeeded";
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		bool		stmt_timeout;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		/* (sub)transaction abort restored the user id and security context */

		strlcpy(out->sqlstate, unpack_sql_state(edata->sqlerrcode), sizeof(out->sqlstate));
		out->error_message = edata->message ? pstrdup(edata->message) : pstrdup("unknown error");
		out->error_detail = edata->detail ? pstrdup(edata->detail) : NULL;
		out->error_step = body_error_step(edata);
		stmt_timeout = edata->sqlerrcode == ERRCODE_QUERY_CANCELED &&
			edata->message && strstr(edata->message, "statement timeout") != NULL;

		if (edata->sqlerrcode == METAETL_ERRCODE_QUALITY_GATE)
		{
			out->status = "quality_failed";
			out->error_step = out->error_step ? out->error_step : pstrdup("quality");
		}
		else if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED && run_timeout_fired)
		{
			out->status = "failed";
			pfree(out->error_message);
			out->error_message = psprintf("run exceeded its timeout of %g minutes",
										  plan->timeout_minutes);
		}
		else if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED && !stmt_timeout)
			out->status = "cancelled";
		else
		{
			out->status = "failed";
			out->transient = MetaetlSqlstateIsTransient(out->sqlstate, stmt_timeout);
		}
		FreeErrorData(edata);
	}
	PG_END_TRY();

	if (run_hook.gate_ran)
	{
		out->has_quality = true;
		out->quality_score = run_hook.gate_score;
		out->quality_checks = run_hook.gate_result;
	}
	run_hook.active = false;
}

/*
 * body_advance_watermarks
 *		For each source with watermark_column, materialised for the hook: the
 *		newest value it extracted becomes the pipeline's watermark for that
 *		source ({{watermark}} of the next run).  Runs inside the attempt, so
 *		the watermark commits with the loads or not at all.  SPI is connected.
 */
static void
body_advance_watermarks(Jsonb *ctx)
{
	Oid			types[4] = {JSONBOID, TEXTOID, INT8OID, TEXTOID};
	Datum		values[4];
	uint64		n;
	char	  **sources;
	char	  **columns;
	char	  **relations;

	values[0] = JsonbPGetDatum(ctx);
	values[1] = CStringGetTextDatum(run_hook.config);
	values[2] = Int64GetDatum(run_hook.run_id);
	values[3] = CStringGetTextDatum(run_hook.pipeline_id);
	MetaetlSpiExec("SELECT src.value->>'id', src.value->>'watermark_column', $1->'nodes'->>(src.value->>'id')"
				   "  FROM pg_catalog.jsonb_array_elements($2::jsonb #> '{pipeline,sources}') src"
				   " WHERE src.value->>'watermark_column' IS NOT NULL"
				   "   AND $1->'nodes' ? (src.value->>'id')",
				   4, types, values, NULL, true, 0);
	n = SPI_processed;
	if (n == 0)
		return;
	sources = palloc(sizeof(char *) * n);
	columns = palloc(sizeof(char *) * n);
	relations = palloc(sizeof(char *) * n);
	for (uint64 i = 0; i < n; i++)
	{
		sources[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		columns[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
		relations[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3));
	}
	for (uint64 i = 0; i < n; i++)
	{
		Oid			saved_user;
		int			saved_context;
		char	   *value;
		Oid			wtypes[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID};
		Datum		wvalues[5];
		char		wnulls[5] = {' ', ' ', ' ', ' ', ' '};

		/* as the run's role: the newest value of the extracted rows */
		SPI_execute(psprintf("SELECT pg_catalog.max(%s)::text FROM %s",
							 quote_identifier(columns[i]), relations[i]),
					true, 1);
		value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (value == NULL)
			continue;			/* nothing extracted: the watermark stays */

		/* recorded by metaetl itself */
		wvalues[0] = CStringGetTextDatum(run_hook.pipeline_id);
		wvalues[1] = CStringGetTextDatum(sources[i]);
		wvalues[2] = CStringGetTextDatum(columns[i]);
		wvalues[3] = CStringGetTextDatum(value);
		wvalues[4] = Int64GetDatum(run_hook.run_id);
		MetaetlAsOwnerBegin(&saved_user, &saved_context);
		MetaetlSpiExec("INSERT INTO etl.watermarks AS w (pipeline_id, source_id, column_name, value, run_id)"
					   " VALUES ($1, $2, $3, $4, $5)"
					   " ON CONFLICT (pipeline_id, source_id) DO UPDATE"
					   "   SET column_name = EXCLUDED.column_name, value = EXCLUDED.value,"
					   "       run_id = EXCLUDED.run_id, updated_at = pg_catalog.clock_timestamp()",
					   5, wtypes, wvalues, wnulls, false, 0);
		MetaetlAsOwnerEnd(saved_user, saved_context);
	}
}

/*
 * etl.run_quality_hook(ctx jsonb) returns jsonb
 *
 * Called by etl.execute_plan before any target loads, with
 * {"nodes": {"node_id": "relation", ...}}.  Runs etl.quality_gate() on each
 * node with the rules that name it (through the quality engine's C interface,
 * MetaetlQualityRunGates); raises METAETL_ERRCODE_QUALITY_GATE when an
 * error-severity rule failed and the pipeline's gate is "error".
 */
Datum
metaetl_run_quality_hook(PG_FUNCTION_ARGS)
{
	Jsonb	   *ctx = PG_GETARG_JSONB_P(0);
	char	   *passed;
	char	   *score;
	char	   *summary;
	char	   *failed_rules;
	char	   *gate;

	if (!run_hook.active)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("etl.run_quality_hook() can only be called during a pipeline run")));

	SPI_connect();

	/* watermarks: the newest value of each watermarked source, as extracted */
	body_advance_watermarks(ctx);

	{
		/* the quality engine's C interface (src/quality/quality.h) */
		JsonbValue *nodes = getKeyJsonValueFromContainer(&ctx->root, "nodes", 5, NULL);
		MetaetlQualityOutcome qo;
		Jsonb	   *res = MetaetlQualityRunGates(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(run_hook.config))),
												 nodes ? JsonbValueToJsonb(nodes) : NULL,
												 run_hook.run_id, run_hook.pipeline_id, &qo);

		passed = qo.passed ? "true" : "false";
		score = psprintf("%g", qo.score);
		summary = qo.ran ? JsonbToCString(NULL, &res->root, 1024) : NULL;
		failed_rules = qo.failed_rules;
		gate = qo.gate;
	}
	run_hook.gate_ran = summary != NULL;
	run_hook.gate_passed = passed == NULL || strcmp(passed, "true") == 0;
	run_hook.gate_score = score ? strtod(score, NULL) : 100.0;
	run_hook.gate_result = body_strdup_or_null(run_hook.cxt, summary);

	if (!run_hook.gate_passed && gate && strcmp(gate, "error") == 0)
		ereport(ERROR,
				(errcode(METAETL_ERRCODE_QUALITY_GATE),
				 errmsg("quality gate failed for pipeline \"%s\"", run_hook.pipeline_id),
				 errdetail("Failed rules: %s.", failed_rules ? failed_rules : "(none named)"),
				 errhint("Targets were not loaded. See etl.pipeline_runs.quality_checks for run %lld.",
						 (long long) run_hook.run_id)));
	SPI_finish();
	PG_RETURN_JSONB_P(DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
														  CStringGetDatum(run_hook.gate_result ? run_hook.gate_result : "{}"))));
}
