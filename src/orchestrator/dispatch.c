/*-------------------------------------------------------------------------
 *
 * src/orchestrator/dispatch.c
 *		Start the runs the scheduler queued: claim rows of etl.run_queue and
 *		launch a run worker for each, as the pipeline's owner.
 *
 * Called by the scheduler's launcher (src/scheduler/launcher.c) outside any
 * transaction, after each tick.  etl.claim_runs() applies priorities, pool
 * slots, metaetl.max_concurrent_runs and each pipeline's concurrency; claims
 * are committed before the workers start.  A worker reads what to run from
 * its queue row (named in bgw_extra), so starting a run costs the launcher
 * only the worker's registration: it does not wait for the run to begin.
 * The worker marks the row done in the same transaction as the run's final
 * status.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "orchestrator/orchestrator.h"

#define DISPATCH_BATCH 64

static bool dispatch_first_pass = true;

static void
dispatch_begin(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
dispatch_commit(void)
{
	PopActiveSnapshot();
	CommitTransactionCommand();
}

typedef struct DispatchClaim
{
	int64		queue_id;
	char	   *pipeline_id;
	Oid			run_as;
} DispatchClaim;

int
MetaetlDispatchQueue(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	DispatchClaim *claims = NULL;
	int			nclaims = 0;
	int			started = 0;
	Oid			owner;

	/* 1. claims, committed */
	dispatch_begin();
	owner = MetaetlExtensionOwner();
	SPI_connect();
	if (dispatch_first_pass)
	{
		/* runs the last server left 'running' are abandoned */
		SPI_execute("SELECT etl.mark_abandoned_runs()", false, 0);
		dispatch_first_pass = false;
	}
	SPI_execute("SELECT q.queue_id::text, q.pipeline_id, r.oid::text"
				"  FROM etl.claim_runs(" CppAsString2(DISPATCH_BATCH) ") q"
				"  JOIN etl.pipelines p ON p.pipeline_id = q.pipeline_id"
				"  JOIN pg_catalog.pg_roles r ON r.rolname = p.owner",
				false, 0);
	nclaims = (int) SPI_processed;
	if (nclaims > 0)
		claims = MemoryContextAllocZero(cxt, sizeof(DispatchClaim) * nclaims);
	for (int i = 0; i < nclaims; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		claims[i].queue_id = strtoi64(SPI_getvalue(tup, desc, 1), NULL, 10);
		claims[i].pipeline_id = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 2));
		claims[i].run_as = (Oid) strtoul(SPI_getvalue(tup, desc, 3), NULL, 10);
	}
	SPI_finish();
	dispatch_commit();
	MemoryContextSwitchTo(cxt);

	/*
	 * 2. one run worker per claim.  When no worker slot is free, that claim
	 * and every later one go back to the queue for the next pass.
	 */
	for (; started < nclaims; started++)
	{
		if (!MetaetlRunQueuedInWorker(claims[started].queue_id, claims[started].pipeline_id,
									  claims[started].run_as, owner))
			break;
	}
	if (started < nclaims)
	{
		Oid			types[1] = {INT8OID};

		ereport(LOG,
				(errmsg("metaetl: no background worker slot free for %d queued run(s); they wait for the next pass",
						nclaims - started),
				 errhint("Raise max_worker_processes, or lower metaetl.max_concurrent_runs.")));
		dispatch_begin();
		SPI_connect();
		for (int j = started; j < nclaims; j++)
		{
			Datum		values[1] = {Int64GetDatum(claims[j].queue_id)};

			SPI_execute_with_args("UPDATE etl.run_queue SET state = 'queued', claimed_at = NULL"
								  " WHERE queue_id = $1 AND state = 'claimed' AND run_id IS NULL",
								  1, types, values, NULL, false, 0);
		}
		SPI_finish();
		dispatch_commit();
		MemoryContextSwitchTo(cxt);
	}
	return started;
}
