/*-------------------------------------------------------------------------
 *
 * src/transform/run.c
 *		Running a plan: etl.execute_plan() and etl.execute_transformations().
 *
 * Everything runs in the caller's transaction: temp tables are ON COMMIT
 * DROP, loads are single statements, nothing commits.  execute_plan is what
 * the orchestrator calls inside a run (docs/transforms.md, "Pipelines").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "connectors/connector.h"
#include "lineage/lineage.h"
#include "transform/transform.h"
#include "util/relation.h"

PG_FUNCTION_INFO_V1(metaetl_execute_plan);
PG_FUNCTION_INFO_V1(metaetl_execute_transformations);

static void
jkey(StringInfo b, const char *key, bool first)
{
	if (!first)
		appendStringInfoString(b, ", ");
	escape_json(b, key);
	appendStringInfoString(b, ": ");
}

static void
jstr(StringInfo b, const char *s)
{
	if (s == NULL)
		appendStringInfoString(b, "null");
	else
		escape_json(b, s);
}

/*
 * MetaetlMaterializedNodes
 *		{"nodes": {"node_id": "relation", ...}}: the nodes materialised for a
 *		before_load hook, as JSON text.
 */
char *
MetaetlMaterializedNodes(MetaetlPlan *plan)
{
	StringInfoData nodes;
	ListCell   *lc;

	initStringInfo(&nodes);
	appendStringInfoString(&nodes, "{\"nodes\": {");
	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);

		if (n->temp == NULL || !n->materialize)
			continue;
		jkey(&nodes, n->id, nodes.data[nodes.len - 1] == '{');
		jstr(&nodes, n->temp);
	}
	appendStringInfoString(&nodes, "}}");
	return nodes.data;
}

/*
 * named_before_load
 *		The hook of etl.execute_plan's options.before_load: a function the
 *		caller names with its argument types, called with the materialised
 *		nodes in the caller's own session and rights.
 */
static char *
named_before_load(MetaetlPlan *plan, void *arg)
{
	const char *fname = arg;
	Datum		a;
	Oid			t = TEXTOID;
	Oid			fn;
	bool		isnull;

	a = CStringGetTextDatum(fname);
	if (SPI_execute_with_args("SELECT pg_catalog.to_regprocedure($1)::pg_catalog.oid", 1, &t, &a,
							  NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "to_regprocedure failed");
	fn = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("before_load function %s does not exist", fname),
				 errhint("Name it with its argument types, e.g. myschema.gate(jsonb).")));
	a = DirectFunctionCall1(jsonb_in, CStringGetDatum(MetaetlMaterializedNodes(plan)));
	t = JSONBOID;
	if (SPI_execute_with_args(psprintf("SELECT %s($1)::pg_catalog.text",
									   quote_qualified_identifier(get_namespace_name(get_func_namespace(fn)),
																  get_func_name(fn))),
							  1, &t, &a, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "before_load call failed");
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * MetaetlPlanProgress
 *		Report a step's start or end to the caller's progress hook, if any
 *		(the orchestrator shows it in etl.run_status and pg_stat_activity).
 */
void
MetaetlPlanProgress(MetaetlPlan *plan, const char *phase, const char *kind, const char *step,
					int seq, int64 rows, double ms, bool done)
{
	if (plan->hooks && plan->hooks->progress)
		plan->hooks->progress(plan, phase, kind, step, seq, rows, ms, done);
}

static void
run_hook_errcontext(void *arg)
{
	errcontext("step \"quality\" (the checks before the load)");
}

static void
run_target_errcontext(void *arg)
{
	errcontext("loading target step \"%s\"", (const char *) arg);
}

/*
 * MetaetlRunPlan
 *		Choose the engine, compile and materialise nodes, call the
 *		before_load hook (the orchestrator's quality gate), load every
 *		target; returns the run summary.  SPI must be connected.
 */
Jsonb *
MetaetlPlanRun(MetaetlPlan *plan, const MetaetlRunHooks *hooks)
{
	TimestampTz start = GetCurrentTimestamp();
	StringInfoData b;
	ListCell   *lc;
	int			level;
	int64		read = 0,
				written = 0;
	bool		estimated = false;
	char	   *bl = NULL;

	plan->hooks = hooks;
	/* key-range workers cannot see what the caller wrote before us */
	plan->xact_had_writes = GetTopTransactionIdIfAny() != InvalidTransactionId;
	MetaetlChooseEngine(plan);
	level = MetaetlEngineGucSave(plan);
	plan->defer_materialize = plan->engine == METAETL_ENGINE_PARALLEL;
	MetaetlCompileNodes(plan);
	/* column lineage of what this run executes (never fails the run) */
	MetaetlLineageRecordRun(plan, plan->run_id);
	if (plan->engine == METAETL_ENGINE_PARALLEL)
	{
		bool		split = MetaetlParallelSplit(plan);

		/* nodes asked for by options.materialize, now that workers ran */
		foreach(lc, plan->nodes)
		{
			MetaetlNode *n = lfirst(lc);

			if (n->materialize)
				MetaetlMaterializeNode(plan, n, "stage");
		}

		/*
		 * Without key-range workers, targets read their input from a temp
		 * table built by CREATE TABLE AS, which (unlike INSERT ... SELECT and
		 * MERGE in PostgreSQL 15) may use a parallel plan.
		 */
		if (!split)
			foreach(lc, plan->targets)
				MetaetlMaterializeNode(plan, MetaetlFindNode(plan, ((MetaetlTarget *) lfirst(lc))->input, false), "par");
	}
	if (hooks && hooks->before_load)
	{
		/* errors of the quality gate (or the caller's hook) name it */
		ErrorContextCallback errcb = {error_context_stack, run_hook_errcontext, NULL};

		MetaetlPlanProgress(plan, "quality", "quality", "quality", 0, -1, 0, false);
		error_context_stack = &errcb;
		bl = hooks->before_load(plan, hooks->arg);
		error_context_stack = errcb.previous;
	}
	foreach(lc, plan->targets)
	{
		MetaetlTarget *t = lfirst(lc);
		MetaetlNode *n = MetaetlFindNode(plan, t->input, false);
		TimestampTz ts = GetCurrentTimestamp();
		ErrorContextCallback errcb;
		int			seq = list_length(plan->nodes) + foreach_current_index(lc) + 1;

		MetaetlPlanProgress(plan, "load", "target", t->id, seq, -1, 0, false);

		/* errors while loading name the target ("step \"id\""), for run records */
		errcb.callback = run_target_errcontext;
		errcb.arg = (void *) t->id;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		t->rows = MetaetlFindConnector(t->type, false, t->id)->load(plan, t,
																	n->temp ? "" : MetaetlWithPrefix(plan, n),
																	MetaetlNodeRef(plan, n), n->cols);
		error_context_stack = errcb.previous;
		t->ms = (double) (GetCurrentTimestamp() - ts) / 1000.0;
		written += t->rows;
		MetaetlPlanProgress(plan, "load", "target", t->id, seq, t->rows, t->ms, true);
	}
	/*
	 * rows_read is exact for this database's tables: a table source that
	 * was not materialised (pushdown fuses it into the loads, where its
	 * rows are never counted apart from the steps' filters) is counted by
	 * count(*), in the run's transaction after the loads.  The planner's
	 * estimate is no substitute: it is 0 for a table never analysed.  A
	 * query source is not run a second time (it may call functions with
	 * side effects), nor are remote and file sources read twice: they keep
	 * the estimate (rows_estimated).
	 */
	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);
		bool		isnull;

		if (!n->is_source || n->rows >= 0 || n->body == NULL || plan->describe_only)
			continue;
		/* only this database's tables: a remote server or file is not read twice */
		if (MetaetlJStr(n->conf, "connection") != NULL || MetaetlJStr(n->conf, "table") == NULL ||
			(strcmp(n->type, "postgresql") != 0 && strcmp(n->type, "postgres") != 0 &&
			 strcmp(n->type, "table") != 0))
			continue;
		MetaetlExec(psprintf("SELECT pg_catalog.count(*) FROM (%s) metaetl_count",
							 MetaetlNodeQuery(plan, n)), SPI_OK_SELECT);
		n->rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	MetaetlParallelCleanup(plan);
	/* staged intermediates nobody asked for go now rather than at commit */
	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);

		if (n->temp && !n->materialize)
			MetaetlExec(psprintf("DROP TABLE IF EXISTS %s", n->temp), SPI_OK_UTILITY);
	}
	MetaetlEngineGucRestore(level);

	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);

		if (!n->is_source)
			continue;
		if (n->rows >= 0)
			read += n->rows;
		else
		{
			read += (int64) Max(n->est_rows, 0);
			estimated = true;
		}
	}

	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	jkey(&b, "rows_read", true);
	appendStringInfo(&b, INT64_FORMAT, read);
	jkey(&b, "rows_read_estimated", false);
	appendStringInfoString(&b, estimated ? "true" : "false");
	jkey(&b, "rows_written", false);
	appendStringInfo(&b, INT64_FORMAT, written);
	jkey(&b, "engine", false);
	jstr(&b, MetaetlEngineName(plan->engine));
	jkey(&b, "engine_reason", false);
	jstr(&b, plan->engine_reason);
	jkey(&b, "targets", false);
	appendStringInfoChar(&b, '[');
	foreach(lc, plan->targets)
	{
		MetaetlTarget *t = lfirst(lc);

		appendStringInfoString(&b, foreach_current_index(lc) ? ", {" : "{");
		jkey(&b, "id", true);
		jstr(&b, t->id);
		jkey(&b, "table", false);
		jstr(&b, t->table_display);
		jkey(&b, "mode", false);
		jstr(&b, t->mode);
		jkey(&b, "rows", false);
		appendStringInfo(&b, INT64_FORMAT "%s%s}", t->rows, t->details ? ", " : "", t->details ? t->details : "");
	}
	appendStringInfoString(&b, "]");
	jkey(&b, "steps", false);
	appendStringInfoChar(&b, '[');
	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);

		appendStringInfoString(&b, foreach_current_index(lc) ? ", {" : "{");
		jkey(&b, "id", true);
		jstr(&b, n->id);
		jkey(&b, "kind", false);
		jstr(&b, n->is_source ? "source" : "step");
		jkey(&b, "type", false);
		jstr(&b, n->type);
		if (n->is_source)
		{
			jkey(&b, "reads", false);
			jstr(&b, MetaetlFindConnector(n->type, true, n->id)->describe(plan, n));
		}
		jkey(&b, "rows", false);
		if (n->rows >= 0)
			appendStringInfo(&b, INT64_FORMAT, n->rows);
		else
			appendStringInfoString(&b, "null");
		jkey(&b, "duration_ms", false);
		appendStringInfo(&b, "%.3f}", n->ms);
	}
	foreach(lc, plan->targets)
	{
		MetaetlTarget *t = lfirst(lc);

		appendStringInfoString(&b, ", {");
		jkey(&b, "id", true);
		jstr(&b, t->id);
		jkey(&b, "kind", false);
		jstr(&b, "target");
		jkey(&b, "rows", false);
		appendStringInfo(&b, INT64_FORMAT, t->rows);
		jkey(&b, "duration_ms", false);
		appendStringInfo(&b, "%.3f%s%s}", t->ms, t->details ? ", " : "", t->details ? t->details : "");
	}
	appendStringInfoString(&b, "]");
	if (bl)
	{
		jkey(&b, "before_load", false);
		appendStringInfoString(&b, bl);
	}
	jkey(&b, "sql", false);
	jstr(&b, MetaetlPlanSql(plan));
	jkey(&b, "duration_ms", false);
	appendStringInfo(&b, "%.3f}", (double) (GetCurrentTimestamp() - start) / 1000.0);
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}

/*
 * MetaetlExecutePlan
 *		Build the plan of a normalised config and run it: what a pipeline run
 *		does (orchestrator/body.c calls it as the run's role).  context holds
 *		the template values ({{last_run}}, {{watermark}}, ...), params the
 *		run's parameters ({{param.NAME}}); materialize names the nodes the
 *		hooks need as relations.  SPI must be connected.
 */
Jsonb *
MetaetlExecutePlan(Jsonb *config, Jsonb *params, Jsonb *context, List *materialize,
				   const char *engine, const MetaetlRunHooks *hooks)
{
	MetaetlPlan *plan = MetaetlBuildPlan(config, engine, materialize);
	StringInfoData ctx;
	JsonbValue *rid = context ? MetaetlJGet(&context->root, "run_id") : NULL;

	/* the run this plan belongs to (lineage records it), from the context */
	if (rid && rid->type == jbvNumeric)
		plan->run_id = strtoi64(MetaetlJValueText(rid), NULL, 10);
	/*
	 * {"param": defaults || params} || context: a parameter the run does not
	 * pass takes the default declared under pipeline.params
	 */
	{
		JsonbContainer *p = MetaetlJObj(&config->root, "pipeline");
		JsonbContainer *defaults = p ? MetaetlJObj(p, "params") : NULL;
		Datum		merged;

		if (defaults && JsonContainerIsObject(defaults))
			merged = DirectFunctionCall1(jsonb_in, CStringGetDatum(JsonbToCString(NULL, defaults, 0)));
		else
			merged = DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
		if (params && JB_ROOT_IS_OBJECT(params))
			merged = DirectFunctionCall2(jsonb_concat, merged, JsonbPGetDatum(params));
		initStringInfo(&ctx);
		appendStringInfoString(&ctx, "{\"param\": ");
		appendStringInfoString(&ctx, JsonbToCString(NULL, &DatumGetJsonbP(merged)->root, 0));
		appendStringInfoChar(&ctx, '}');
	}
	plan->render_ctx = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(ctx.data)));
	if (context)
		plan->render_ctx = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(plan->render_ctx),
															  JsonbPGetDatum(context)));
	return MetaetlPlanRun(plan, hooks);
}

/* etl.execute_plan(config jsonb, params jsonb DEFAULT '{}', options jsonb DEFAULT '{}') → jsonb */
Datum
metaetl_execute_plan(PG_FUNCTION_ARGS)
{
	Jsonb	   *config = PG_GETARG_JSONB_P(0);
	Jsonb	   *params = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	Jsonb	   *options = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	List	   *mat = NIL;
	char	   *engine = NULL;
	char	   *before = NULL;
	JsonbContainer *context = NULL;
	MetaetlRunHooks hooks = {NULL, NULL};
	Jsonb	   *res;

	if (options)
	{
		mat = MetaetlJStrList(&options->root, "materialize", "options");
		engine = MetaetlJStr(&options->root, "engine");
		before = MetaetlJStr(&options->root, "before_load");
		context = MetaetlJObj(&options->root, "context");
	}
	if (before)
	{
		hooks.before_load = named_before_load;
		hooks.arg = before;
	}
	SPI_connect();
	{
		/* options.run_id (the run lineage and records are kept for) joins the context */
		Jsonb	   *ctx = context ? DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																	  CStringGetDatum(JsonbToCString(NULL, context, 0))))
			: DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
		JsonbValue *rid = options ? MetaetlJGet(&options->root, "run_id") : NULL;

		if (rid)
			ctx = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(ctx),
													 DirectFunctionCall1(jsonb_in,
																		 CStringGetDatum(psprintf("{\"run_id\": %s}",
																								  MetaetlJValueText(rid))))));
		res = MetaetlExecutePlan(config, params, ctx, mat, engine, &hooks);
	}
	res = DatumGetJsonbP(SPI_datumTransfer(JsonbPGetDatum(res), false, -1));
	SPI_finish();
	PG_RETURN_JSONB_P(res);
}

/*
 * etl.execute_transformations(source text, transform_config jsonb, target text,
 *							   engine text DEFAULT 'auto') → jsonb
 *
 * The original usage example's {"steps": [{"type": ..., "params": {...}}]};
 * steps without ids are step_1, step_2, ...  Optional keys next to steps:
 * mode, keys, tracked_columns, create (for the target).
 */
Datum
metaetl_execute_transformations(PG_FUNCTION_ARGS)
{
	char	   *source;
	Jsonb	   *tc;
	char	   *target;
	char	   *engine = PG_ARGISNULL(3) ? "auto" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	JsonbContainer *steps;
	StringInfoData b;
	char	   *prev = "source";
	MetaetlPlan *plan;
	Jsonb	   *res;
	const char *tkeys[] = {"mode", "keys", "tracked_columns", "create", "close_deleted",
	"on_schema_change"};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source, transform_config and target must not be null")));
	source = text_to_cstring(PG_GETARG_TEXT_PP(0));
	tc = PG_GETARG_JSONB_P(1);
	target = text_to_cstring(PG_GETARG_TEXT_PP(2));
	steps = MetaetlJObj(&tc->root, "steps");
	if (steps == NULL || !JsonContainerIsArray(steps))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("transform_config needs steps: a list of steps"),
				 errhint("For example {\"steps\": [{\"type\": \"filter\", \"params\": {\"condition\": \"status == 'active'\"}}]}.")));

	/* assemble a normalised config */
	initStringInfo(&b);
	appendStringInfoString(&b, "{\"pipeline\": {\"id\": ");
	jstr(&b, MetaetlJStr(&tc->root, "id") ? MetaetlJStr(&tc->root, "id") : "adhoc");
	appendStringInfoString(&b, ", \"sources\": [{\"id\": \"source\", \"type\": \"postgresql\", ");
	jstr(&b, MetaetlLooksLikeQuery(source) ? "query" : "table");	/* util/relation.h */
	appendStringInfoString(&b, ": ");
	jstr(&b, source);
	appendStringInfoString(&b, "}], \"transforms\": [");
	for (int i = 0; i < MetaetlJArrayLen(steps); i++)
	{
		JsonbValue *v = MetaetlJArrayAt(steps, i);
		JsonbContainer *st;
		char	  **k;
		JsonbValue **vals;
		int			n;
		char	   *id;

		if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("steps[%d] must be an object", i)));
		st = v->val.binary.data;
		id = MetaetlJStr(st, "id");
		if (id == NULL)
			id = psprintf("step_%d", i + 1);
		appendStringInfoString(&b, i ? ", {\"id\": " : "{\"id\": ");
		jstr(&b, id);
		if (MetaetlJGet(st, "input") == NULL)
		{
			appendStringInfoString(&b, ", \"input\": ");
			jstr(&b, prev);
		}
		n = MetaetlJObjEntries(st, &k, &vals);
		for (int j = 0; j < n; j++)
		{
			if (strcmp(k[j], "id") == 0)
				continue;
			appendStringInfoString(&b, ", ");
			escape_json(&b, k[j]);
			appendStringInfoString(&b, ": ");
			if (vals[j]->type == jbvBinary)
				appendStringInfoString(&b, MetaetlJValueText(vals[j]));
			else
				appendStringInfoString(&b, JsonbToCString(NULL, &JsonbValueToJsonb(vals[j])->root, 0));
		}
		appendStringInfoChar(&b, '}');
		prev = id;
	}
	appendStringInfoString(&b, "], \"targets\": [{\"id\": \"target\", \"type\": \"postgresql\", \"table\": ");
	jstr(&b, target);
	for (int j = 0; j < (int) lengthof(tkeys); j++)
	{
		JsonbValue *v = MetaetlJGet(&tc->root, tkeys[j]);

		if (v == NULL)
			continue;
		appendStringInfoString(&b, ", ");
		escape_json(&b, tkeys[j]);
		appendStringInfoString(&b, ": ");
		appendStringInfoString(&b, v->type == jbvBinary ? MetaetlJValueText(v)
							   : JsonbToCString(NULL, &JsonbValueToJsonb(v)->root, 0));
	}
	appendStringInfoString(&b, "}]}}");

	SPI_connect();
	plan = MetaetlBuildPlan(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data))),
							engine, NIL);
	res = MetaetlPlanRun(plan, NULL);
	{
		/* rows, engine, sql, duration_ms (plus the full summary) */
		JsonbValue *w = MetaetlJGet(&res->root, "rows_written");
		char	   *extra = psprintf("{\"rows\": %s}", MetaetlJValueText(w));
		Datum		d = DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(res),
										   DirectFunctionCall1(jsonb_in, CStringGetDatum(extra)));

		res = DatumGetJsonbP(SPI_datumTransfer(d, false, -1));
	}
	SPI_finish();
	PG_RETURN_JSONB_P(res);
}
