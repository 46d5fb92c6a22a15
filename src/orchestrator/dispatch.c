/*-------------------------------------------------------------------------
 *
 * src/orchestrator/dispatch.c
 *		Start the runs the scheduler queued: claim rows of etl.run_queue and
 *		launch a run worker for each, as the pipeline's owner.
 *
 * Called by the scheduler's launcher (src/scheduler/launcher.c) outside any
 * transaction, after each tick.  etl.claim_runs() applies priorities, pool
 * slots, metaetl.max_concurrent_runs and each pipeline's concurrency; it
 * claims no more runs than the pool of run executors (executor.c) can take
 * now, and the claims are committed before any run starts.  Each claim goes
 * to an idle executor (a latch set) or to a new one; with the pool off
 * (metaetl.run_executors = 0) each gets a run worker of its own.  Either way
 * the process reads what to run from its queue row, so starting a run costs
 * the launcher no wait, and it marks the row done in the same transaction as
 * the run's final status.
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

#include "metaetl.h"
#include "orchestrator/orchestrator.h"
#include "security/security.h"

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

/* put claimed rows that did not start back in the queue */
static void
dispatch_requeue(const int64 *queue_ids, int n)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			types[1] = {INT8OID};

	dispatch_begin();
	SPI_connect();
	for (int j = 0; j < n; j++)
	{
		Datum		values[1] = {Int64GetDatum(queue_ids[j])};

		/* (a row with a run record whose run has not started: a queued retry or etl.execute_pipeline call) */
		MetaetlSpiExec("UPDATE etl.run_queue q SET state = 'queued', claimed_at = NULL"
					   " WHERE q.queue_id = $1 AND q.state = 'claimed'"
					   "   AND (q.run_id IS NULL OR EXISTS (SELECT 1 FROM etl.pipeline_runs r"
					   "                                     WHERE r.run_id OPERATOR(pg_catalog.=) q.run_id"
					   "                                       AND r.status OPERATOR(pg_catalog.=) 'queued'))",
					   1, types, values, NULL, false, 0);
	}
	SPI_finish();
	dispatch_commit();
	MemoryContextSwitchTo(cxt);
}

/*
 * Start the queued runs that may start now, each in a run executor or a
 * worker of its own; returns how many started.  Called by the launcher
 * after every tick, so a queued run waits at most one tick for a free slot.
 */
int
MetaetlDispatchQueue(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	DispatchClaim *claims = NULL;
	int			nclaims = 0;
	int			started = 0;
	int			capacity;
	int64	   *orphans;
	int			norphans;
	int		   *wake;
	int			nwake = 0;
	bool		abandoned;

	/* what the pool of executors can take now (-1: one worker per run) */
	capacity = MetaetlExecutorCapacity(&orphans, &norphans);
	if (norphans > 0)
	{
		ereport(LOG,
				(errmsg("metaetl: %d run executor(s) stopped before taking their run; the run(s) go back to the queue",
						norphans)));
		dispatch_requeue(orphans, norphans);
	}
	/* runs the last server left 'running', or whose executor died, are abandoned */
	abandoned = dispatch_first_pass || MetaetlExecutorDiedBusy();
	if (capacity == 0 && !abandoned)
		return 0;

	/* 1. claims, committed */
	dispatch_begin();
	SPI_connect();
	if (abandoned)
	{
		SPI_execute("SELECT etl.mark_abandoned_runs()", false, 0);
		dispatch_first_pass = false;
	}
	if (capacity != 0)
	{
		Oid			types[1] = {INT4OID};
		Datum		values[1];

		values[0] = Int32GetDatum(capacity < 0 ? DISPATCH_BATCH : Min(capacity, DISPATCH_BATCH));
		MetaetlSpiExec("SELECT q.queue_id::text, q.pipeline_id, r.oid::text"
					   "  FROM etl.claim_runs($1) q"
					   "  JOIN etl.pipelines p ON p.pipeline_id OPERATOR(pg_catalog.=) q.pipeline_id"
					   "  JOIN pg_catalog.pg_roles r ON r.rolname OPERATOR(pg_catalog.=) p.owner",
					   1, types, values, NULL, false, 0);
		nclaims = (int) SPI_processed;
	}
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
	/*
	 * A queued run runs in a process authenticated as its pipeline's owner
	 * (like a pg_cron job): an owner that cannot log in cannot run it.
	 */
	for (int i = 0; i < nclaims; i++)
	{
		Oid			types[2] = {INT8OID, TEXTOID};
		Datum		values[2];

		if (MetaetlRoleCanLogin(claims[i].run_as))
			continue;
		values[0] = Int64GetDatum(claims[i].queue_id);
		values[1] = CStringGetTextDatum(psprintf("skipped: the pipeline's owner %s cannot log in (ALTER ROLE %s LOGIN, or give the pipeline to a role that can)",
												 GetUserNameFromId(claims[i].run_as, false),
												 GetUserNameFromId(claims[i].run_as, false)));
		MetaetlSpiExec("UPDATE etl.run_queue SET state = 'skipped', note = $2"
					   " WHERE queue_id OPERATOR(pg_catalog.=) $1", 2, types, values, NULL, false, 0);
		claims[i].queue_id = 0;
	}
	SPI_finish();
	dispatch_commit();
	MemoryContextSwitchTo(cxt);

	/*
	 * 2. each claim to an executor (or a run worker of its own).  When none
	 * can take it, that claim and every later one go back to the queue for
	 * the next pass.
	 */
	wake = palloc(sizeof(int) * Max(nclaims, 1));
	for (; started < nclaims; started++)
	{
		bool		ok;

		if (claims[started].queue_id == 0)
			continue;			/* skipped above */
		if (capacity < 0)
			ok = MetaetlRunQueuedInWorker(claims[started].queue_id, claims[started].pipeline_id,
										  claims[started].run_as);
		else
			ok = MetaetlExecutorAssign(claims[started].queue_id, claims[started].run_as,
									   wake, &nwake);
		if (!ok)
			break;
	}
	MetaetlExecutorWake(wake, nwake);
	if (started < nclaims)
	{
		int64	   *rest = palloc(sizeof(int64) * (nclaims - started));

		ereport(LOG,
				(errmsg("metaetl: no background worker slot free for %d queued run(s); they wait for the next pass",
						nclaims - started),
				 errhint("Raise max_worker_processes, or lower metaetl.max_concurrent_runs or metaetl.run_executors.")));
		for (int j = started; j < nclaims; j++)
			rest[j - started] = claims[j].queue_id;	/* 0 (skipped) matches no row */
		dispatch_requeue(rest, nclaims - started);
	}
	return started;
}
