/*-------------------------------------------------------------------------
 *
 * src/util/spicache.c
 *		Saved SPI plans for the fixed statements metaetl runs on every run.
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
 *		SPI_execute_with_args with a plan saved on the statement's first use
 *		(keyed by its text and parameter types).  For fixed statements only:
 *		statements beyond the cache's size run unsaved.  Needs SPI_connect.
 */
int
MetaetlSpiExec(const char *sql, int nargs, const Oid *types, const Datum *values,
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
