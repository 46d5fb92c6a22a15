/*-------------------------------------------------------------------------
 *
 * src/orchestrator/dispatch.c
 *		Start the runs the scheduler queued: claim rows of etl.run_queue and
 *		launch a run worker for each, as the pipeline's owner.
 *
 * Called by the scheduler's launcher (src/scheduler/launcher.c) outside any
 * transaction, after each tick.  etl.claim_runs() applies priorities, pool
 * slots and metaetl.max_concurrent_runs; claims are committed before the
 * workers start (a worker updates its queue row).  The run worker marks the
 * row done when the run ends, in the same transaction as its final status.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "orchestrator/orchestrator.h"

#define DISPATCH_BATCH 16

static bool dispatch_first_pass = true;

/* queue triggers map onto run triggers; run_now is a manual run */
static const char *
dispatch_run_trigger(const char *queue_trigger)
{
	if (strcmp(queue_trigger, "run_now") == 0)
		return "manual";
	return queue_trigger;
}

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

int
MetaetlDispatchQueue(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	MetaetlRunSpec *specs = NULL;
	int			nclaims = 0;
	int			started = 0;

	/* 1. claims, committed */
	dispatch_begin();
	SPI_connect();
	if (dispatch_first_pass)
	{
		/* runs the last server left 'running' are abandoned */
		SPI_execute("SELECT etl.mark_abandoned_runs()", false, 0);
		dispatch_first_pass = false;
	}
	SPI_execute("SELECT q.queue_id::text, q.pipeline_id, q.trigger, q.logical_date::text,"
				"       r.oid::text, q.attempt::text"
				"  FROM etl.claim_runs(" CppAsString2(DISPATCH_BATCH) ") q"
				"  JOIN etl.pipelines p ON p.pipeline_id = q.pipeline_id"
				"  JOIN pg_catalog.pg_roles r ON r.rolname = p.owner",
				false, 0);
	nclaims = (int) SPI_processed;
	if (nclaims > 0)
		specs = MemoryContextAllocZero(cxt, sizeof(MetaetlRunSpec) * nclaims);
	for (int i = 0; i < nclaims; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *ld = SPI_getvalue(tup, desc, 4);

		specs[i].queue_id = strtoi64(SPI_getvalue(tup, desc, 1), NULL, 10);
		specs[i].pipeline_id = MemoryContextStrdup(cxt, SPI_getvalue(tup, desc, 2));
		specs[i].trigger = MemoryContextStrdup(cxt, dispatch_run_trigger(SPI_getvalue(tup, desc, 3)));
		specs[i].logical_date = ld ? MemoryContextStrdup(cxt, ld) : NULL;
		specs[i].run_as = (Oid) strtoul(SPI_getvalue(tup, desc, 5), NULL, 10);
		specs[i].triggered_by = MemoryContextStrdup(cxt, "scheduler");
		specs[i].params = MemoryContextStrdup(cxt, "{}");
	}
	SPI_finish();
	dispatch_commit();
	MemoryContextSwitchTo(cxt);

	/*
	 * 2. one run worker per claim.  When no worker slot is free the claim
	 * (and every later one) goes back to the queue for the next pass; a
	 * claim that cannot start for another reason is done with a note.
	 */
	for (int i = 0; i < nclaims; i++)
	{
		bool		ok = true;
		bool		no_slot = false;
		char	   *msg = NULL;

		dispatch_begin();
		PG_TRY();
		{
			(void) MetaetlRunInWorker(&specs[i], false);
			dispatch_commit();
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			AbortCurrentTransaction();
			msg = pstrdup(edata->message ? edata->message : "unknown error");
			no_slot = edata->sqlerrcode == ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
			FreeErrorData(edata);
			ok = false;
		}
		PG_END_TRY();
		MemoryContextSwitchTo(cxt);

		if (ok)
		{
			started++;
			continue;
		}
		if (no_slot)
		{
			Oid			types[1] = {INT8OID};

			dispatch_begin();
			SPI_connect();
			for (int j = i; j < nclaims; j++)
			{
				Datum		values[1] = {Int64GetDatum(specs[j].queue_id)};

				SPI_execute_with_args("UPDATE etl.run_queue SET state = 'queued', claimed_at = NULL"
									  " WHERE queue_id = $1 AND state = 'claimed' AND run_id IS NULL",
									  1, types, values, NULL, false, 0);
			}
			SPI_finish();
			dispatch_commit();
			MemoryContextSwitchTo(cxt);
			break;
		}
		ereport(WARNING,
				(errmsg("metaetl: could not start queued run %lld of pipeline \"%s\": %s",
						(long long) specs[i].queue_id, specs[i].pipeline_id, msg)));
		dispatch_begin();
		{
			Oid			types[2] = {INT8OID, TEXTOID};
			Datum		values[2];

			values[0] = Int64GetDatum(specs[i].queue_id);
			values[1] = CStringGetTextDatum(psprintf("could not start: %s", msg));
			SPI_connect();
			SPI_execute_with_args("UPDATE etl.run_queue SET state = 'done', note = $2"
								  " WHERE queue_id = $1 AND state = 'claimed' AND run_id IS NULL",
								  2, types, values, NULL, false, 0);
			SPI_finish();
		}
		dispatch_commit();
		MemoryContextSwitchTo(cxt);
	}
	return started;
}
