/*-------------------------------------------------------------------------
 *
 * src/util/spi.c
 *		How metaetl runs its own SQL: bookkeeping statements with a pinned
 *		search_path, planned once per process.
 *
 * Two kinds of SQL run in metaetl's processes.  User SQL (a pipeline's
 * steps, quality rules) runs as the pipeline's role with its search_path,
 * through the transform and quality code.  Bookkeeping SQL (run records,
 * the queue, alerts, the access log) runs as the extension owner and goes
 * through MetaetlSpiExec: each call pins search_path to "pg_catalog,
 * pg_temp" in a GUC nest level of its own, so an operator, function or
 * type it names unqualified resolves in pg_catalog whatever search_path a
 * user step left behind (docs/operations.md, "What runs with whose
 * rights").  Its SQL also qualifies etl's tables and, where it compares,
 * uses OPERATOR(pg_catalog.=).
 *
 * The run records (orchestrator/records.c) and the run worker's queue reads
 * are the same few statements on every run.  A pooled run executor
 * (orchestrator/executor.c) runs many runs in one process, so it parses and
 * plans each of them once: MetaetlSpiExec() keeps a plan per statement text
 * (SPI_keepplan) and executes it with the run's parameters.  The plan cache
 * revalidates saved plans after catalog changes, row-level security and
 * search_path changes, as for any saved plan.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "metaetl.h"

#define SPICACHE_MAX 48
#define SPICACHE_MAXARGS 24

typedef struct SpiCacheEntry
{
	char	   *sql;			/* the statement text, in TopMemoryContext */
	int			nargs;
	Oid			types[SPICACHE_MAXARGS];
	SPIPlanPtr	plan;
} SpiCacheEntry;

/* lives as long as the process, like the saved plans it points at */
static SpiCacheEntry spicache[SPICACHE_MAX];
static int	spicache_used = 0;

static int	spi_exec(const char *sql, int nargs, const Oid *types, const Datum *values,
					 const char *nulls, bool read_only, long count);

static SPIPlanPtr
spicache_lookup(const char *sql, int nargs, const Oid *types)
{
	for (int i = 0; i < spicache_used; i++)
	{
		SpiCacheEntry *e = &spicache[i];

		if (e->nargs == nargs && strcmp(e->sql, sql) == 0 &&
			(nargs == 0 || memcmp(e->types, types, sizeof(Oid) * nargs) == 0))
			return e->plan;
	}
	return NULL;
}

/*
 * MetaetlSpiExec
 *		A bookkeeping statement: SPI_execute_with_args with search_path
 *		pinned, and a plan saved on the statement's first use (keyed by its
 *		text and parameter types).  For fixed statements; statements beyond
 *		the cache's size run unsaved.  Needs SPI_connect.  An error leaves
 *		the GUC nest level to the (sub)transaction abort, as for any error.
 */
int
MetaetlSpiExec(const char *sql, int nargs, const Oid *types, const Datum *values,
			   const char *nulls, bool read_only, long count)
{
	int			nest;
	int			rc;

	nest = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	rc = spi_exec(sql, nargs, types, values, nulls, read_only, count);
	AtEOXact_GUC(true, nest);
	return rc;
}

/* MetaetlSpiExec's work, the search_path pinned by the caller */
static int
spi_exec(const char *sql, int nargs, const Oid *types, const Datum *values,
		 const char *nulls, bool read_only, long count)
{
	SPIPlanPtr	plan;

	if (nargs > SPICACHE_MAXARGS)
		elog(ERROR, "too many parameters for a saved plan");
	plan = spicache_lookup(sql, nargs, types);
	if (plan == NULL)
	{
		if (spicache_used >= SPICACHE_MAX)
			return SPI_execute_with_args(sql, nargs, unconstify(Oid *, types),
										 unconstify(Datum *, values), nulls, read_only, count);
		plan = SPI_prepare(sql, nargs, unconstify(Oid *, types));
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		spicache[spicache_used].sql = MemoryContextStrdup(TopMemoryContext, sql);
		spicache[spicache_used].nargs = nargs;
		if (nargs > 0)
			memcpy(spicache[spicache_used].types, types, sizeof(Oid) * nargs);
		spicache[spicache_used].plan = plan;
		spicache_used++;
	}
	return SPI_execute_plan(plan, unconstify(Datum *, values), nulls, read_only, count);
}
