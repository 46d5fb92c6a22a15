/*-------------------------------------------------------------------------
 *
 * src/orchestrator/body.c
 *		One attempt of a run: the pipeline's data flow in a subtransaction,
 *		as the run's role, with the quality gate before the load.
 *
 * The attempt calls etl.execute_plan() (src/transform) on the pinned
 * config.  When the config has quality rules, the nodes they check or
 * reference are materialised and the plan's before_load hook runs the
 * quality engine's gate (MetaetlQualityRunGates, quality.h) on them before
 * any target is loaded; an error-severity failure raises
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
#include "incremental/incremental.h"
#include "quality/quality.h"
#include "transform/transform.h"
#include "security/security.h"


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
	List	   *purge;			/* trigger_cdc tables to purge after the loads, in cxt */
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

/*
 * Arm the run's timeout (the pipeline's timeout_minutes; 0: none).  A
 * timer rather than statement_timeout, because one run is many statements
 * and the limit is for the whole attempt.
 */
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

/*
 * Disarm the run timeout; safe when none is armed, so every exit path may call it.
 */
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
 * body_run_context
 *		What the plan needs from metaetl's own tables, read as the extension
 *		owner before the pipeline's code runs: the template context
 *		({{last_run}} is the start of the last successful run, -infinity
 *		before the first; {{logical_date}}; {{watermark}} of the first
 *		watermarked source; the incremental positions) and the nodes to
 *		materialise for the hook (those quality rules name, watermarked and
 *		incremental sources).
 */
static void
body_run_context(const MetaetlRunSpec *spec, const MetaetlRunPlan *plan, Jsonb **context,
				 List **materialize, MemoryContext cxt)
{
	Oid			types[3] = {TEXTOID, INT8OID, TEXTOID};
	Datum		values[3];
	MetaetlPrivState st;
	bool		isnull;
	char	   *nodes;

	values[0] = CStringGetTextDatum(plan->config);
	values[1] = Int64GetDatum(plan->run_id);
	values[2] = CStringGetTextDatum(spec->pipeline_id);
	MetaetlOwnerBegin(&st);
	SPI_connect();
	MetaetlSpiExec(
		"WITH c AS (SELECT $1::pg_catalog.jsonb AS config)"
		" SELECT pg_catalog.jsonb_build_object('run_id', $2,"
		"            'last_run', COALESCE((SELECT pg_catalog.max(r.started_at)::pg_catalog.text FROM etl.pipeline_runs r"
		"                                   WHERE r.pipeline_id OPERATOR(pg_catalog.=) $3"
		"                                     AND r.status OPERATOR(pg_catalog.=) 'succeeded'"
		"                                     AND r.run_id OPERATOR(pg_catalog.<>) $2), '-infinity'),"
		"            'logical_date', COALESCE((SELECT r.logical_date::pg_catalog.text FROM etl.pipeline_runs r"
		"                                       WHERE r.run_id OPERATOR(pg_catalog.=) $2), pg_catalog.now()::pg_catalog.text),"
		"            'watermark', COALESCE((SELECT w.value FROM etl.watermarks w,"
		"                                          pg_catalog.jsonb_array_elements(c.config OPERATOR(pg_catalog.#>) '{pipeline,sources}')"
		"                                            WITH ORDINALITY src(value, ord)"
		"                                    WHERE w.pipeline_id OPERATOR(pg_catalog.=) $3"
		"                                      AND w.source_id OPERATOR(pg_catalog.=) (src.value OPERATOR(pg_catalog.->>) 'id')"
		"                                      AND (src.value OPERATOR(pg_catalog.->>) 'watermark_column') IS NOT NULL"
		"                                    ORDER BY src.ord LIMIT 1), '-infinity'),"
		"            'incremental', COALESCE((SELECT pg_catalog.jsonb_object_agg(ip.source_id, ip.position)"
		"                                       FROM etl.incremental_positions ip"
		"                                      WHERE ip.pipeline_id OPERATOR(pg_catalog.=) $3), '{}')),"
		"        (SELECT pg_catalog.string_agg(n, ',') FROM ("
		"             SELECT src.value OPERATOR(pg_catalog.->>) 'id' AS n"
		"               FROM pg_catalog.jsonb_array_elements(COALESCE(c.config OPERATOR(pg_catalog.#>) '{pipeline,sources}', '[]')) src"
		"              WHERE (src.value OPERATOR(pg_catalog.->>) 'watermark_column') IS NOT NULL"
		"                 OR (src.value OPERATOR(pg_catalog.->) 'incremental') IS NOT NULL) x)"
		"   FROM c",
		3, types, values, NULL, true, 1);
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		*context = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		nodes = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		/*
		 * The nodes the quality rules check (on:) or reference (ref: of
		 * referential and row_count_equal rules), from the quality engine's
		 * own reading of the rules, then the watermarked sources.
		 */
		*materialize = MetaetlQualityNodes(DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																			  CStringGetDatum(plan->config))));
		if (nodes)
		{
			char	   *save;

			for (char *n = strtok_r(pstrdup(nodes), ",", &save); n; n = strtok_r(NULL, ",", &save))
			{
				ListCell   *lc;
				bool		seen = false;

				foreach(lc, *materialize)
					seen = seen || strcmp((char *) lfirst(lc), n) == 0;
				if (!seen)
					*materialize = lappend(*materialize, pstrdup(n));
			}
		}
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	MetaetlOwnerEnd(&st);
}

static char *body_quality_hook(MetaetlPlan *p, void *arg);

/*
 * body_execute_plan
 *		Run the pipeline's plan (transform.h) with the quality hook, and
 *		unpack its summary into out.  Runs inside the attempt's
 *		subtransaction, in the user section, as the run's role.
 */
static void
body_execute_plan(const MetaetlRunSpec *spec, const MetaetlRunPlan *plan, Jsonb *context,
				  List *materialize, MetaetlRunOutcome *out, MemoryContext outcxt)
{
	MetaetlRunHooks hooks = {NULL, NULL};
	Jsonb	   *config = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(plan->config)));
	Jsonb	   *params = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
															CStringGetDatum(spec->params ? spec->params : "{}")));
	Jsonb	   *res;
	MemoryContext old;

	if (materialize != NIL)
		hooks.before_load = body_quality_hook;
	hooks.progress = MetaetlProgressHook;
	SPI_connect();
	res = MetaetlExecutePlan(config, params, context, materialize, NULL, &hooks);
	old = MemoryContextSwitchTo(outcxt);
	{
		char	   *rr = MetaetlJStr(&res->root, "rows_read");
		char	   *rw = MetaetlJStr(&res->root, "rows_written");
		JsonbValue *steps = MetaetlJGet(&res->root, "steps");

		out->result = JsonbToCString(NULL, &res->root, VARSIZE(res));
		out->rows_read = rr ? strtoi64(rr, NULL, 10) : 0;
		out->rows_written = rw ? strtoi64(rw, NULL, 10) : 0;
		out->has_rows = true;
		out->engine = MetaetlJStr(&res->root, "engine");
		out->engine_reason = MetaetlJStr(&res->root, "engine_reason");
		out->steps = steps ? MetaetlJValueText(steps) : NULL;
	}
	MemoryContextSwitchTo(old);
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
 * body_retry_step
 *		The target whose load was running when the error came (the
 *		transform engine's "loading target step" context), else NULL.  Under
 *		pushdown a step's expression fails inside a target's load: the error
 *		names the step, but the retry policy that applies is the target's.
 */
static char *
body_retry_step(ErrorData *edata)
{
	const char *p = edata->context ? strstr(edata->context, "loading target step \"") : NULL;

	if (p)
	{
		const char *start = p + strlen("loading target step \"");
		const char *end = strchr(start, '"');

		if (end)
			return pnstrdup(start, end - start);
	}
	return NULL;
}

/*
 * body_purge_changes
 *		After the loads, in the attempt's transaction: purge the trigger-CDC
 *		changes the positions stored by the before-load hook cover.  Last
 *		in the attempt because a purge may take its change table to itself
 *		(TRUNCATE, incremental/capture.c) until the commit, which follows
 *		shortly; captured tables' writers wait that long at most.
 */
static void
body_purge_changes(void)
{
	MetaetlPrivState st;
	ListCell   *lc;

	if (run_hook.purge == NIL)
		return;
	SPI_connect();
	MetaetlOwnerBegin(&st);
	foreach(lc, run_hook.purge)
		MetaetlPurgeChanges(lfirst_oid(lc));
	MetaetlOwnerEnd(&st);
	SPI_finish();
	run_hook.purge = NIL;
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
	MetaetlPrivState user_st;

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
	run_hook.purge = NIL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);

	PG_TRY();
	{
		Jsonb	   *context;
		List	   *materialize;

		body_run_context(spec, plan, &context, &materialize, oldcxt);

		/*
		 * The pipeline's code runs as its role (privs.c), in a process
		 * authenticated as that role or in the caller's own session, and
		 * leaves no GUC change behind for the bookkeeping that follows.
		 */
		MetaetlUserCodeBegin(&user_st, spec->run_as, false);
		body_execute_plan(spec, plan, context, materialize, out, oldcxt);
		MetaetlUserCodeEnd(&user_st);
		body_purge_changes();

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
		/* the abort restored the user id, the security context and the GUCs */

		strlcpy(out->sqlstate, unpack_sql_state(edata->sqlerrcode), sizeof(out->sqlstate));
		out->error_message = edata->message ? pstrdup(edata->message) : pstrdup("unknown error");
		out->error_detail = edata->detail ? pstrdup(edata->detail) : NULL;
		out->error_hint = edata->hint ? pstrdup(edata->hint) : NULL;
		out->error_step = body_error_step(edata);
		out->retry_step = body_retry_step(edata);
		if (out->retry_step == NULL && out->error_step)
			out->retry_step = pstrdup(out->error_step);
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

	MetaetlProgressEnd();
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
	if (SPI_execute_with_args("SELECT src.value OPERATOR(pg_catalog.->>) 'id', src.value OPERATOR(pg_catalog.->>) 'watermark_column',"
							  "       $1 OPERATOR(pg_catalog.->) 'nodes' OPERATOR(pg_catalog.->>) (src.value OPERATOR(pg_catalog.->>) 'id')"
							  "  FROM pg_catalog.jsonb_array_elements($2::pg_catalog.jsonb OPERATOR(pg_catalog.#>) '{pipeline,sources}') src"
							  " WHERE (src.value OPERATOR(pg_catalog.->>) 'watermark_column') IS NOT NULL"
							  "   AND $1 OPERATOR(pg_catalog.->) 'nodes' OPERATOR(pg_catalog.?) (src.value OPERATOR(pg_catalog.->>) 'id')",
							  4, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the watermarked sources");
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
		MetaetlPrivState owner_st;
		char	   *value;
		Oid			wtypes[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID};
		Datum		wvalues[5];
		char		wnulls[5] = {' ', ' ', ' ', ' ', ' '};

		/*
		 * As the run's role: the newest value of the extracted rows (not
		 * read-only: the snapshot must see what this run materialised).
		 */
		SPI_execute(psprintf("SELECT pg_catalog.max(%s)::pg_catalog.text FROM %s",
							 quote_identifier(columns[i]), relations[i]),
					false, 1);
		value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		if (value == NULL)
			continue;			/* nothing extracted: the watermark stays */

		/* recorded by metaetl itself */
		wvalues[0] = CStringGetTextDatum(run_hook.pipeline_id);
		wvalues[1] = CStringGetTextDatum(sources[i]);
		wvalues[2] = CStringGetTextDatum(columns[i]);
		wvalues[3] = CStringGetTextDatum(value);
		wvalues[4] = Int64GetDatum(run_hook.run_id);
		MetaetlOwnerBegin(&owner_st);
		MetaetlSpiExec("INSERT INTO etl.watermarks AS w (pipeline_id, source_id, column_name, value, run_id)"
					   " VALUES ($1, $2, $3, $4, $5)"
					   " ON CONFLICT (pipeline_id, source_id) DO UPDATE"
					   "   SET column_name = EXCLUDED.column_name, value = EXCLUDED.value,"
					   "       run_id = EXCLUDED.run_id, updated_at = pg_catalog.clock_timestamp()",
					   5, wtypes, wvalues, wnulls, false, 0);
		MetaetlOwnerEnd(&owner_st);
	}
}

/*
 * body_quality_hook
 *		The plan's before_load hook during a run: with every materialised
 *		node ({"nodes": {"node_id": "relation", ...}}) advance the
 *		watermarks, then run the quality gate (MetaetlQualityRunGates) on each
 *		node with the rules that name it; raise METAETL_ERRCODE_QUALITY_GATE when an
 *		error-severity rule failed and the pipeline's gate is "error".  Runs
 *		as the run's role (the gate evaluates the user's rules and custom
 *		queries with the role's search_path); only the watermark records are
 *		written as metaetl.
 */
static char *
body_quality_hook(MetaetlPlan *p, void *arg)
{
	Jsonb	   *ctx = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
														 CStringGetDatum(MetaetlMaterializedNodes(p))));
	char	   *passed;
	char	   *score;
	char	   *summary;
	char	   *failed_rules;
	char	   *gate;
	char	   *result;

	SPI_connect();

	/* watermarks: the newest value of each watermarked source, as extracted */
	body_advance_watermarks(ctx);
	/* incremental positions, in this transaction with the loads (incremental/) */
	{
		List	   *purge = MetaetlIncrementalAdvance(p, run_hook.pipeline_id, run_hook.run_id);
		MemoryContext old = MemoryContextSwitchTo(run_hook.cxt);

		run_hook.purge = list_copy(purge);
		MemoryContextSwitchTo(old);
	}

	{
		/* the quality engine's C interface (src/quality/quality.h) */
		JsonbValue *nodes = getKeyJsonValueFromContainer(&ctx->root, "nodes", 5, NULL);
		MetaetlQualityOutcome qo;
		Jsonb	   *res = MetaetlQualityRunGates(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(run_hook.config))),
												 nodes ? JsonbValueToJsonb(nodes) : NULL,
												 run_hook.run_id, run_hook.pipeline_id, &qo);

		passed = qo.passed ? "true" : "false";
		score = psprintf("%g", qo.score);
		summary = qo.ran ? JsonbToCString(NULL, &res->root, VARSIZE(res)) : NULL;
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
	result = run_hook.gate_result ? pstrdup(run_hook.gate_result) : NULL;
	return result;
}
