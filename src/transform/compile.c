/*-------------------------------------------------------------------------
 *
 * src/transform/compile.c
 *		A plan's nodes compile to SQL.
 *
 * The plan itself (nodes, targets, consumers) is built from the config in
 * transform/plan.c; the SQL helpers connectors share (run a statement, temp
 * names, column lists, describe) are in transform/sql.c.  Here every node
 * gets its SELECT.  Pushdown: every node is a CTE, and each target's load is one statement
 * "WITH <ctes> <load> ... FROM <node>".  Staged: every node is first
 * materialised as a temporary table (CREATE TEMP TABLE ... AS), and later
 * nodes read the table.  A node asked for by options.materialize is
 * materialised in either engine.  Column lists come from PostgreSQL itself
 * (the node's query run with LIMIT 0), so every step checks its params
 * against the real columns of its input.
 *
 * Also the SQL-callable etl.compile_pipeline() and etl.preview().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "connectors/connector.h"
#include "transform/transform.h"
#include "util/ident.h"

PG_FUNCTION_INFO_V1(metaetl_compile_pipeline);
PG_FUNCTION_INFO_V1(metaetl_preview);

/*
 * How later SQL reads node: its temp table when materialised, else its CTE name.
 */
char *
MetaetlNodeRef(MetaetlPlan *plan, MetaetlNode *node)
{
	if (node->temp)
		return node->temp;
	return pstrdup(quote_identifier(node->id));
}

/* "WITH a AS (...), b AS (...) " for every CTE node up to and including upto */
char *
MetaetlWithPrefix(MetaetlPlan *plan, MetaetlNode *upto)
{
	StringInfoData b;
	ListCell   *lc;

	initStringInfo(&b);
	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);

		if (n->body == NULL)
			break;
		if (n->temp == NULL)
			appendStringInfo(&b, "%s %s AS (\n  %s\n)", b.len ? "," : "WITH",
							 quote_identifier(n->id), n->body);
		if (n == upto)
			break;
	}
	if (b.len)
		appendStringInfoChar(&b, '\n');
	return b.data;
}

/*
 * A standalone SELECT of node's rows (with the CTEs it needs), for
 * describing, previewing or materialising it.
 */
char *
MetaetlNodeQuery(MetaetlPlan *plan, MetaetlNode *node)
{
	if (node->temp)
		return psprintf("SELECT * FROM %s", node->temp);
	return psprintf("%sSELECT * FROM %s", MetaetlWithPrefix(plan, node),
					quote_identifier(node->id));
}

/*
 * MetaetlCompileNodes
 *		Give every node its SELECT, materialise the ones that must be, and
 *		describe each.  In describe-only mode temp tables are created empty.
 */
void
MetaetlCompileNodes(MetaetlPlan *plan)
{
	ListCell   *lc;

	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);
		TimestampTz start = GetCurrentTimestamp();

		ErrorContextCallback cb = {error_context_stack, MetaetlNodeErrorContext, n};

		CHECK_FOR_INTERRUPTS();
		error_context_stack = &cb;
		MetaetlPlanProgress(plan, n->is_source ? "extract" : "transform", n->is_source ? "source" : "step",
							n->id, foreach_current_index(lc) + 1, -1, 0, false);
		if (n->is_source)
			n->body = MetaetlFindConnector(n->type, true, n->id)->extract(plan, n);
		else
			n->body = MetaetlCompileStep(plan, n);

		if ((n->materialize && !plan->defer_materialize) || plan->engine == METAETL_ENGINE_STAGED)
		{
			char	   *q = MetaetlNodeQuery(plan, n);
			char	   *tmp = MetaetlNewTemp(plan, "stage");
			char	   *sql = psprintf("CREATE TEMP TABLE %s ON COMMIT DROP AS\n%s", tmp, q);

			n->temp = tmp;
			MetaetlScript(plan, sql);
			if (plan->describe_only)
				MetaetlExec(psprintf("%s\nWITH NO DATA", sql), SPI_OK_UTILITY);
			else
				n->rows = MetaetlExec(sql, SPI_OK_UTILITY);
			n->cols = MetaetlDescribe(psprintf("SELECT * FROM %s LIMIT 0", tmp));
		}
		else
			n->cols = MetaetlDescribe(psprintf("%s LIMIT 0", MetaetlNodeQuery(plan, n)));
		error_context_stack = cb.previous;
		n->ms = (double) (GetCurrentTimestamp() - start) / 1000.0;
		/* done only when it ran: otherwise it runs inside a target's load */
		if (n->temp != NULL && !plan->describe_only)
			MetaetlPlanProgress(plan, n->is_source ? "extract" : "transform", n->is_source ? "source" : "step",
								n->id, foreach_current_index(lc) + 1, n->rows, n->ms, true);
	}
}

/* materialise a compiled node now (CREATE TEMP TABLE AS its query) */
void
MetaetlMaterializeNode(MetaetlPlan *plan, MetaetlNode *n, const char *what)
{
	char	   *tmp;
	char	   *sql;

	ErrorContextCallback cb = {error_context_stack, MetaetlNodeErrorContext, n};

	if (n->temp)
		return;
	tmp = MetaetlNewTemp(plan, what);
	sql = psprintf("CREATE TEMP TABLE %s ON COMMIT DROP AS\n%s", tmp, MetaetlNodeQuery(plan, n));
	MetaetlScript(plan, sql);
	error_context_stack = &cb;
	n->rows = MetaetlExec(sql, SPI_OK_UTILITY);
	error_context_stack = cb.previous;
	n->temp = tmp;
}

/* the whole SQL a run executes, as text */
char *
MetaetlPlanSql(MetaetlPlan *plan)
{
	return plan->script ? plan->script->data : "";
}

static MetaetlPlan *
plan_for_pipeline(const char *pipeline_id, bool describe_only, const char *engine)
{
	Datum		arg = CStringGetTextDatum(pipeline_id);
	Oid			argtype = TEXTOID;
	bool		isnull;
	Jsonb	   *config;
	Oid			owner;
	MetaetlPlan *plan;

	if (SPI_execute_with_args("SELECT config, (SELECT oid FROM pg_catalog.pg_roles r "
							  "WHERE r.rolname OPERATOR(pg_catalog.=) p.owner) "
							  "FROM etl.pipelines p WHERE pipeline_id OPERATOR(pg_catalog.=) $1",
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read etl.pipelines");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pipeline \"%s\" does not exist", pipeline_id),
				 errhint("Register it with etl.register_pipeline().")));
	config = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	plan = MetaetlBuildPlan(config, engine, NIL);
	if (!isnull)
		plan->owner = owner;
	plan->describe_only = describe_only;
	return plan;
}

/* etl.compile_pipeline(pipeline_id text) → text */
Datum
metaetl_compile_pipeline(PG_FUNCTION_ARGS)
{
	char	   *id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	MetaetlPlan *plan;
	StringInfoData out;
	ListCell   *lc;
	text	   *result;

	SPI_connect();
	plan = plan_for_pipeline(id, true, NULL);
	MetaetlChooseEngine(plan);
	MetaetlCompileNodes(plan);
	foreach(lc, plan->targets)
	{
		MetaetlTarget *t = lfirst(lc);
		MetaetlNode *n = MetaetlFindNode(plan, t->input, false);

		MetaetlFindConnector(t->type, false, t->id)->load(plan, t, MetaetlWithPrefix(plan, n),
														  MetaetlNodeRef(plan, n), n->cols);
		/* what the foreign data wrappers would send to remote servers */
		MetaetlRemoteExplain(plan, MetaetlWithPrefix(plan, n), MetaetlNodeRef(plan, n), n->cols);
	}
	initStringInfo(&out);
	appendStringInfo(&out, "-- pipeline %s: engine %s (%s)\n", quote_identifier(plan->pipeline_id),
					 MetaetlEngineName(plan->engine), plan->engine_reason);
	if (plan->engine == METAETL_ENGINE_PARALLEL)
		appendStringInfoString(&out, "-- at run time a source with split_key runs its leading steps in key-range "
							   "background workers; otherwise each target's input is built first by a "
							   "parallel-capable CREATE TEMP TABLE AS\n");
	appendStringInfoString(&out, MetaetlPlanSql(plan));
	result = DatumGetTextP(SPI_datumTransfer(PointerGetDatum(cstring_to_text(out.data)), false, -1));
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}

/* etl.preview(pipeline_id text, step_id text, lim int DEFAULT 20) → SETOF jsonb */
Datum
metaetl_preview(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *step = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int32		lim = PG_ARGISNULL(2) ? 20 : PG_GETARG_INT32(2);
	MetaetlPlan *plan;
	MetaetlNode *n;
	List	   *nodes;

	if (lim < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lim must not be negative")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	SPI_connect();
	plan = plan_for_pipeline(id, false, "pushdown");
	plan->engine_reason = "preview";
	n = MetaetlFindNode(plan, step, false);
	/* compile only what the step needs: the nodes up to it */
	nodes = plan->nodes;
	{
		ListCell   *lc;
		int			upto = 0;

		foreach(lc, nodes)
			if (lfirst(lc) == n)
				upto = foreach_current_index(lc);
		plan->nodes = list_copy_head(nodes, upto + 1);
	}
	MetaetlCompileNodes(plan);
	MetaetlExec(psprintf("%sSELECT pg_catalog.to_jsonb(metaetl_p) FROM %s metaetl_p LIMIT %d",
						 n->temp ? "" : MetaetlWithPrefix(plan, n), MetaetlNodeRef(plan, n), lim),
				SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &d, &isnull);
	}
	SPI_finish();
	return (Datum) 0;
}
