/*-------------------------------------------------------------------------
 *
 * src/transform/engine.c
 *		Choosing the execution strategy: pushdown, staged or parallel.
 *
 * auto looks at what the plan needs and what the server offers:
 *  - a node read by several consumers (two targets, a join of a step with
 *    itself, ...) → staged, so it is computed once;
 *  - sources estimated (planner statistics) at 1,000,000 rows or more per
 *    process (the leader plus max_parallel_workers_per_gather workers, at
 *    most 8), parallel workers available, and no order-dependent step
 *    (sort, limit) → parallel;
 *  - otherwise pushdown: one statement per target, all steps fused by the
 *    planner.  Sorting steps whose input exceeds work_mem are mentioned in
 *    the reason (the executor spills them).
 * Aliases from the original design: pandas, polars, duckdb → pushdown (one
 * vectorised in-process pass ≈ one fused statement), dask → parallel.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "optimizer/paths.h"
#include "postmaster/bgworker_internals.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "connectors/connector.h"
#include "transform/transform.h"

#define PARALLEL_ROWS_PER_WORKER 1000000.0

/*
 * An engine name: auto, pushdown, staged, parallel, or the dataframe
 * names configs bring from elsewhere (pandas, polars, duckdb run as
 * pushdown, dask as parallel; with notice, said so).  Anything else is an
 * error, since a silently ignored engine would run differently than asked.
 */
MetaetlEngine
MetaetlParseEngine(const char *name, bool notice)
{
	if (strcmp(name, "auto") == 0)
		return METAETL_ENGINE_AUTO;
	if (strcmp(name, "pushdown") == 0)
		return METAETL_ENGINE_PUSHDOWN;
	if (strcmp(name, "staged") == 0)
		return METAETL_ENGINE_STAGED;
	if (strcmp(name, "parallel") == 0)
		return METAETL_ENGINE_PARALLEL;
	if (strcmp(name, "pandas") == 0 || strcmp(name, "polars") == 0 || strcmp(name, "duckdb") == 0 ||
		strcmp(name, "dask") == 0)
	{
		bool		par = strcmp(name, "dask") == 0;

		if (notice)
			ereport(NOTICE,
					(errmsg("engine \"%s\" runs as \"%s\" inside PostgreSQL", name, par ? "parallel" : "pushdown"),
					 errhint("metaetl maps pandas, polars and duckdb to pushdown and dask to parallel.")));
		return par ? METAETL_ENGINE_PARALLEL : METAETL_ENGINE_PUSHDOWN;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown engine \"%s\"", name),
			 errhint("Use auto, pushdown, staged or parallel (or the aliases pandas, polars, dask, duckdb).")));
	return METAETL_ENGINE_AUTO;
}

/* The name of an engine, as run summaries and compile_pipeline show it. */
const char *
MetaetlEngineName(MetaetlEngine e)
{
	switch (e)
	{
		case METAETL_ENGINE_PUSHDOWN:
			return "pushdown";
		case METAETL_ENGINE_STAGED:
			return "staged";
		case METAETL_ENGINE_PARALLEL:
			return "parallel";
		default:
			return "auto";
	}
}

/* planner's row estimate for a source, or -1 when unknown */
static double
source_estimate(MetaetlNode *src)
{
	char	   *table = MetaetlJStr(src->conf, "table");
	char	   *query = MetaetlJStr(src->conf, "query");
	Datum		arg;
	Oid			t = TEXTOID;
	bool		isnull;

	if (strcmp(src->type, "inline") == 0)
		return MetaetlJArrayLen(MetaetlJObj(src->conf, "rows"));
	if (MetaetlSourceIsRemote(src))
		return -1;				/* its tables and query are the remote server's */
	if (table != NULL && MetaetlJStr(src->conf, "schema") == NULL)
	{
		arg = CStringGetTextDatum(MetaetlQualifiedName(table, "table"));
		if (SPI_execute_with_args("SELECT GREATEST(c.reltuples, 0)::float8, c.relpages FROM pg_catalog.pg_class c "
								  "WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)",
								  1, &t, &arg, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		{
			double		r = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			int			pages = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

			/* never analysed: about 50 rows per page */
			return (r == 0 && pages > 0) ? pages * 50.0 : r;
		}
		return -1;
	}
	if (query != NULL && strstr(query, "{{") == NULL)
	{
		double		rows = -1;
		char	   *js;
		char	   *p;

		/* only ever a single SELECT reaches EXPLAIN */
		MetaetlCheckSelect(src, query);
		MetaetlExec(psprintf("EXPLAIN (FORMAT JSON) %s", query), 0);
		if (SPI_processed == 1)
		{
			js = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			p = strstr(js, "\"Plan Rows\": ");
			if (p)
				rows = strtod(p + 13, NULL);
		}
		return rows;
	}
	return -1;
}

/*
 * Settle plan->engine when it is auto, from the estimated input rows and
 * what the steps allow, and write the reason into plan->engine_reason so
 * that a user can see why a run took its engine.
 */
void
MetaetlChooseEngine(MetaetlPlan *plan)
{
	ListCell   *lc;
	double		rows = 0;
	bool		unknown = false;
	const char *ordered = NULL;
	const char *sorting = NULL;

	if (plan->engine != METAETL_ENGINE_AUTO)
	{
		if (plan->engine_reason == NULL)
			plan->engine_reason = psprintf("engine %s requested", MetaetlEngineName(plan->engine));
		return;
	}
	foreach(lc, plan->nodes)
	{
		MetaetlNode *n = lfirst(lc);

		if (n->consumers > 1)
		{
			plan->engine = METAETL_ENGINE_STAGED;
			plan->engine_reason = psprintf("node \"%s\" is read by %d consumers; staged computes it once",
										   n->id, n->consumers);
			return;
		}
		if (n->is_source)
		{
			double		e = source_estimate(n);

			n->est_rows = e;
			if (e < 0)
				unknown = true;
			else
				rows += e;
		}
		else if (strcmp(n->type, "sort") == 0 || strcmp(n->type, "limit") == 0)
			ordered = n->id;
		else if (strcmp(n->type, "dedupe") == 0 || strcmp(n->type, "window") == 0 ||
				 strcmp(n->type, "pivot") == 0)
			sorting = n->id;
	}
	if (!unknown && max_parallel_workers >= 1 && max_parallel_workers_per_gather >= 1 &&
		ordered == NULL &&
		rows >= PARALLEL_ROWS_PER_WORKER * (Min(max_parallel_workers_per_gather, 8) + 1))
	{
		plan->engine = METAETL_ENGINE_PARALLEL;
		plan->engine_reason = psprintf("sources estimated at %.0f rows, at least %.0f per process with max_parallel_workers_per_gather %d: parallel",
									   rows, PARALLEL_ROWS_PER_WORKER, max_parallel_workers_per_gather);
		return;
	}
	plan->engine = METAETL_ENGINE_PUSHDOWN;
	if (unknown)
		plan->engine_reason = pstrdup("some source sizes are unknown; every node is read once: pushdown fuses all steps");
	else if (sorting && rows * 100.0 > (double) work_mem * 1024.0)
		plan->engine_reason = psprintf("sources estimated at %.0f rows; step \"%s\" sorts more than work_mem (%dkB) and may spill; every node is read once: pushdown",
									   rows, sorting, work_mem);
	else
		plan->engine_reason = psprintf("sources estimated at %.0f rows%s; every node is read once: pushdown fuses all steps",
									   rows, ordered ? psprintf(", step \"%s\" depends on order", ordered) : "");
}

/* parallel: make the planner willing to use parallel plans for this run */
int
MetaetlEngineGucSave(MetaetlPlan *plan)
{
	int			level = NewGUCNestLevel();

	if (plan->engine == METAETL_ENGINE_PARALLEL)
	{
		(void) set_config_option("parallel_setup_cost", "0", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		(void) set_config_option("parallel_tuple_cost", "0.001", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		(void) set_config_option("min_parallel_table_scan_size", "0", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	return level;
}

/* Undo MetaetlEngineGucSave's settings at the end of the run. */
void
MetaetlEngineGucRestore(int level)
{
	AtEOXact_GUC(true, level);
}
