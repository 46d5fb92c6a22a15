/*-------------------------------------------------------------------------
 *
 * src/orchestrator/progress.c
 *		Progress of the runs under way: which phase and step each is in, how
 *		many steps are done, for etl.run_status()->'progress', for
 *		pg_stat_activity, and for etl.step_runs rows as steps finish.
 *
 * A run's data flow is one transaction (its loads, watermarks and quality
 * results commit together), so nothing it writes is visible to another
 * session before it ends.  Its progress therefore goes through shared
 * memory: one slot per PGPROC (a process runs one run at a time), written by
 * the run's process as the transform engine reports each step
 * (MetaetlRunHooks.progress), read by etl.run_status in any session.  The
 * run's process also shows "metaetl run N: step X" as its pg_stat_activity
 * query.
 *
 * Finished steps are kept in the slot too, and the scheduler's launcher
 * (woken when a step finishes) inserts them into etl.step_runs in its own
 * transaction, so the rows appear while the run is in progress.  The run's
 * final record (records.c) writes every step again and wins.  Without a
 * launcher for the run's database (not preloaded, another
 * metaetl.database) the rows appear when the run ends, as before.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "metaetl.h"
#include "orchestrator/orchestrator.h"
#include "scheduler/scheduler.h"
#include "security/security.h"
#include "transform/transform.h"

#define PROGRESS_MAX_STEPS	64		/* finished steps kept for etl.step_runs */
#define PROGRESS_ID_LEN		64

typedef struct ProgressStep
{
	bool		done;
	bool		recorded;		/* inserted into etl.step_runs */
	char		kind[8];		/* source step target */
	char		id[PROGRESS_ID_LEN];
	int64		rows;			/* -1: not counted */
	double		ms;
} ProgressStep;

typedef struct ProgressSlot
{
	slock_t		mutex;
	int64		run_id;			/* 0: no run under way */
	Oid			dboid;
	TimestampTz step_started;
	MetaetlProgress view;
	bool		unrecorded;		/* a finished step is not in etl.step_runs yet */
	ProgressStep steps[PROGRESS_MAX_STEPS];	/* by seq - 1 */
} ProgressSlot;

typedef struct ProgressShared
{
	int			nslots;
	ProgressSlot slots[FLEXIBLE_ARRAY_MEMBER];
} ProgressShared;

static ProgressShared *progress_shared = NULL;

static Size
progress_shmem_size(void)
{
	return add_size(offsetof(ProgressShared, slots), mul_size(sizeof(ProgressSlot), MaxBackends));
}

static void
progress_shmem_init(void *ptr)
{
	ProgressShared *shared = ptr;

	shared->nslots = MaxBackends;
	for (int i = 0; i < shared->nslots; i++)
		SpinLockInit(&shared->slots[i].mutex);
}

/*
 * Reserve the shared progress slots, only when preloaded (shared memory
 * can only be requested then); without preload no progress is shared.
 */
void
MetaetlProgressInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	MetaetlShmemRegister("metaetl run progress", progress_shmem_size, progress_shmem_init,
						 (void **) &progress_shared);
}

static ProgressSlot *
progress_slot_of(PGPROC *proc)
{
	if (progress_shared == NULL || proc == NULL || proc->pgprocno >= progress_shared->nslots)
		return NULL;
	return &progress_shared->slots[proc->pgprocno];
}

/*
 * MetaetlProgressHook
 *		The transform engine's progress callback during a run: phase is
 *		extract, transform, quality or load; step the node or target id, seq
 *		its place in the run's steps (sources and transforms in config order,
 *		then targets: the seq of etl.step_runs; 0 for the quality gate);
 *		done says the step finished with rows (-1: not counted) in ms.
 */
void
MetaetlProgressHook(MetaetlPlan *plan, const char *phase, const char *kind, const char *step,
					int seq, int64 rows, double ms, bool done)
{
	ProgressSlot *slot = progress_slot_of(MyProc);
	bool		wake = false;

	if (slot != NULL && plan->run_id > 0)
	{
		SpinLockAcquire(&slot->mutex);
		if (slot->run_id != plan->run_id)
		{
			/* the attempt's first report: a new run in this process */
			memset(&slot->view, 0, sizeof(slot->view));
			memset(slot->steps, 0, sizeof(slot->steps));
			slot->run_id = plan->run_id;
			slot->dboid = MyDatabaseId;
			slot->unrecorded = false;
			slot->view.run_id = plan->run_id;
		}
		slot->view.steps_total = list_length(plan->nodes) + list_length(plan->targets);
		strlcpy(slot->view.phase, phase, sizeof(slot->view.phase));
		strlcpy(slot->view.step, step, sizeof(slot->view.step));
		if (done)
		{
			if (seq >= 1 && seq <= PROGRESS_MAX_STEPS && !slot->steps[seq - 1].done)
			{
				ProgressStep *s = &slot->steps[seq - 1];

				s->done = true;
				strlcpy(s->kind, kind, sizeof(s->kind));
				strlcpy(s->id, step, sizeof(s->id));
				s->rows = rows;
				s->ms = ms;
				slot->unrecorded = wake = true;
			}
			slot->view.steps_done++;
			if (rows > 0)
				slot->view.rows_so_far += rows;
		}
		SpinLockRelease(&slot->mutex);
	}
	/* pg_stat_activity.query of a run worker or executor (not a user's session) */
	if (MyBackendType == B_BG_WORKER)
	{
		char		activity[160];

		if (strcmp(phase, "quality") == 0)
			snprintf(activity, sizeof(activity), "metaetl run " INT64_FORMAT ": quality gate",
					 plan->run_id);
		else
			snprintf(activity, sizeof(activity), "metaetl run " INT64_FORMAT ": step %s",
					 plan->run_id, step);
		pgstat_report_activity(STATE_RUNNING, activity);
	}
	if (wake)
		MetaetlSchedulerWake();
}

/* The attempt is over: its steps are the final record's now. */
void
MetaetlProgressEnd(void)
{
	ProgressSlot *slot = progress_slot_of(MyProc);

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	slot->run_id = 0;
	SpinLockRelease(&slot->mutex);
}

/*
 * MetaetlProgressRead
 *		The progress of run_id in process pid, when that process is running
 *		it and has reported a step.
 */
bool
MetaetlProgressRead(int pid, int64 run_id, MetaetlProgress *out)
{
	PGPROC	   *proc;
	ProgressSlot *slot;
	bool		found = false;

	if (pid <= 0 || progress_shared == NULL)
		return false;
	proc = BackendPidGetProc(pid);
	slot = progress_slot_of(proc);
	if (slot == NULL)
		return false;
	SpinLockAcquire(&slot->mutex);
	if (slot->run_id == run_id)
	{
		*out = slot->view;
		found = true;
	}
	SpinLockRelease(&slot->mutex);
	return found;
}

/*
 * MetaetlProgressRecordSteps
 *		In the launcher, outside any transaction: insert the steps runs of
 *		this database finished since the last pass into etl.step_runs, one
 *		transaction for all.  A row the run's final record already wrote is
 *		left alone.  Returns how many were inserted.
 */
int
MetaetlProgressRecordSteps(void)
{
	int			inserted = 0;
	bool		any = false;

	if (progress_shared == NULL)
		return 0;
	for (int i = 0; i < progress_shared->nslots && !any; i++)
	{
		ProgressSlot *slot = &progress_shared->slots[i];

		SpinLockAcquire(&slot->mutex);
		any = slot->run_id != 0 && slot->dboid == MyDatabaseId && slot->unrecorded;
		SpinLockRelease(&slot->mutex);
	}
	if (!any)
		return 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	for (int i = 0; i < progress_shared->nslots; i++)
	{
		ProgressSlot *slot = &progress_shared->slots[i];
		ProgressStep steps[PROGRESS_MAX_STEPS];
		bool		todo[PROGRESS_MAX_STEPS];
		int64		run_id;

		SpinLockAcquire(&slot->mutex);
		run_id = slot->run_id;
		if (run_id != 0 && slot->dboid == MyDatabaseId && slot->unrecorded)
		{
			memcpy(steps, slot->steps, sizeof(steps));
			for (int s = 0; s < PROGRESS_MAX_STEPS; s++)
			{
				todo[s] = slot->steps[s].done && !slot->steps[s].recorded;
				slot->steps[s].recorded |= todo[s];
			}
			slot->unrecorded = false;
		}
		else
			run_id = 0;
		SpinLockRelease(&slot->mutex);
		for (int s = 0; run_id != 0 && s < PROGRESS_MAX_STEPS; s++)
		{
			Oid			types[6] = {INT8OID, INT4OID, TEXTOID, TEXTOID, INT8OID, FLOAT8OID};
			Datum		values[6];
			char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

			if (!todo[s])
				continue;
			values[0] = Int64GetDatum(run_id);
			values[1] = Int32GetDatum(s + 1);
			values[2] = CStringGetTextDatum(steps[s].id);
			values[3] = CStringGetTextDatum(steps[s].kind);
			values[4] = Int64GetDatum(steps[s].rows);
			nulls[4] = steps[s].rows < 0 ? 'n' : ' ';
			values[5] = Float8GetDatum(steps[s].ms);
			/* only while the run is under way: its final record wins */
			MetaetlSpiExec("INSERT INTO etl.step_runs (run_id, seq, step_id, kind, status, rows, duration_ms, details)"
						   " SELECT $1, $2, $3, $4, 'succeeded', $5, $6, '{\"in_progress\": true}'"
						   "  WHERE EXISTS (SELECT 1 FROM etl.pipeline_runs r"
						   "                 WHERE r.run_id OPERATOR(pg_catalog.=) $1"
						   "                   AND r.status OPERATOR(pg_catalog.=) 'running')"
						   " ON CONFLICT (run_id, seq) DO NOTHING",
						   6, types, values, nulls, false, 0);
			inserted += (int) SPI_processed;
		}
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	return inserted;
}
