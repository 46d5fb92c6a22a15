/*-------------------------------------------------------------------------
 *
 * src/orchestrator/executor.c
 *		The pool of run executors: long-lived background workers that run
 *		the scheduler's queued runs one after another.
 *
 * Forking a background worker per run makes a burst of runs due in the same
 * second wait for the postmaster to start each worker in turn, while the
 * ones already started compete for the CPU.  Instead the dispatcher
 * (dispatch.c, in the launcher) hands a claimed etl.run_queue row to an idle
 * executor through shared memory and sets its latch; the executor takes it
 * at once.  When no executor is idle, a free slot of the pool gets a new
 * executor with the run already assigned.  An executor that stays idle for
 * metaetl.run_executor_idle_timeout exits, so an idle server holds no
 * connections; metaetl.run_executors = 0 turns the pool off (one run worker
 * per run, worker.c).
 *
 * An executor is connected to one database: the launcher's (metaetl.database)
 * for the runs it dispatches, or the database of the etl.execute_pipeline
 * call that started it; a run goes only to an executor of its database.
 *
 * An executor connects as one role — the owner of the pipelines it runs —
 * like a run worker, so the pipelines' code runs in a session authenticated
 * as that role and cannot become anyone else (security/privs.c); its
 * bookkeeping switches to the extension owner (records.c).  So the pool is
 * kept per role: a run goes to an idle executor of its role, or a new one
 * in a free slot; when the slots are all held by idle executors of other
 * roles, one of them is asked to exit and the run waits for the next pass.  Between runs it frees the
 * run's memory and resets session state the way DISCARD ALL does (options,
 * temporary tables, advisory locks, prepared statements, LISTEN, sequence
 * caches), so no run sees what an earlier one left behind.  A run that
 * raises an error it cannot record makes the executor exit, exactly like a
 * run worker: the slot is freed and the launcher marks the run abandoned.
 *
 * Three things keep start latency low when many runs are due together: the
 * launcher starts executors up to a few seconds before schedules are due
 * (MetaetlExecutorPrewarm); a run that has been recorded lets the other runs
 * of its batch record theirs before it takes the CPU for its pipeline
 * (MetaetlExecutorRunRecorded); and the statements every run executes keep
 * their plans in the executor (MetaetlSpiExec, util/spi.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/async.h"
#include "commands/dbcommands.h"
#include "commands/prepare.h"
#include "commands/sequence.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "metaetl.h"
#include "orchestrator/orchestrator.h"
#include "scheduler/scheduler.h"

int			metaetl_run_executors = 4;
int			metaetl_run_executor_idle_timeout = 300;	/* seconds */

typedef enum ExecState
{
	EXEC_FREE = 0,				/* no process */
	EXEC_STARTING,				/* registered, not yet attached */
	EXEC_IDLE,					/* waiting for a run */
	EXEC_BUSY,					/* a run is assigned or running */
	EXEC_EXITING				/* timed out; will not take runs */
} ExecState;

typedef struct ExecSlot
{
	slock_t		mutex;			/* protects the fields below */
	ExecState	state;
	pid_t		pid;
	int			pgprocno;
	uint32		generation;		/* bumped at each start of the slot */
	int64		queue_id;		/* the assigned run, 0 when none */
	dsm_handle	call;			/* or the segment of an etl.execute_pipeline
								 * call whose run it is to run, 0 when none */
	bool		call_taken;		/* the executor took call */
	int			caller_pid;		/* the backend that handed call over */
	bool		starting;		/* handed to this idle executor, not yet
								 * recorded: runs under way yield to it */
	Oid			run_as;
	Oid			role;			/* the role the executor logs in as */
	Oid			dboid;			/* and the database it connects to */
	TimestampTz registered_at;	/* when the launcher registered the process */
} ExecSlot;

typedef struct ExecShared
{
	pg_atomic_uint32 died_busy; /* executors that exited with a run */
	pg_atomic_uint64 room_until;	/* no prewarm before this (TimestampTz):
									 * worker slots were given up for others */
	int			nslots;			/* set at startup, then constant */
	ExecSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} ExecShared;

/* what an executor is started with (bgw_extra) */
typedef struct ExecArgs
{
	Oid			dboid;
	Oid			role;			/* the role it logs in as */
	int			slotno;
	uint32		generation;
} ExecArgs;

StaticAssertDecl(sizeof(ExecArgs) <= BGW_EXTRALEN, "ExecArgs must fit in bgw_extra");

/* after idle executors gave up slots, no prewarm for this long */
#define EXEC_ROOM_MS		5000

/* a slot still STARTING this long after an earlier launcher registered it is freed */
#define EXEC_STALE_START_MS	60000

static ExecShared *exec_shared = NULL;

/*
 * The launcher's handles of the executors it started, to notice one that
 * never attached (its slot would otherwise stay STARTING).  Launcher-local,
 * allocated in TopMemoryContext: it lives as long as the launcher.
 */
static BackgroundWorkerHandle **exec_handles = NULL;
static uint32 *exec_handle_gen = NULL;	/* the slot generation of each handle */

/*
 * Whether an idle executor has nothing assigned: no queued run, no call.
 * The slot's mutex is held.
 */
static inline bool
exec_unassigned(ExecSlot *slot)
{
	return slot->state == EXEC_IDLE && slot->queue_id == 0 && slot->call == 0;
}

static Size
exec_shmem_size(void)
{
	return add_size(offsetof(ExecShared, slots),
					mul_size(sizeof(ExecSlot), metaetl_run_executors));
}

static void
exec_shmem_init(void *ptr)
{
	ExecShared *shared = ptr;

	pg_atomic_init_u32(&shared->died_busy, 0);
	pg_atomic_init_u64(&shared->room_until, 0);
	shared->nslots = metaetl_run_executors;
	for (int i = 0; i < shared->nslots; i++)
		SpinLockInit(&shared->slots[i].mutex);
}

/*
 * MetaetlExecutorInit
 *		The pool's parameters and shared memory (only when preloaded: the
 *		pool serves the scheduler, which needs preload).
 */
void
MetaetlExecutorInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("metaetl.run_executors",
							gettext_noop("Size of the pool of long-lived run executors that start scheduled runs."),
							gettext_noop("Each is a background worker (count it in max_worker_processes); 0 starts one run worker per run instead."),
							&metaetl_run_executors,
							4,
							0,
							1024,
							PGC_POSTMASTER,
							0,
							NULL,
							NULL,
							NULL);
	DefineCustomIntVariable("metaetl.run_executor_idle_timeout",
							gettext_noop("How long a run executor waits for another run before it exits."),
							gettext_noop("0 makes each executor exit after its run."),
							&metaetl_run_executor_idle_timeout,
							300,
							0,
							INT_MAX / 1000,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL,
							NULL,
							NULL);

	MetaetlShmemRegister("metaetl run executors", exec_shmem_size, exec_shmem_init,
						 (void **) &exec_shared);
}

/* ------------------------------------------------------------ dispatcher */

/*
 * exec_reap
 *		Free the slot of an executor that was registered but stopped before
 *		attaching (it never ran its assigned run); that run's queue id is
 *		appended to orphans.  The launcher's handles say which stopped; a
 *		slot registered by an earlier launcher process is freed when it has
 *		not attached within EXEC_STALE_START_MS.
 */
static void
exec_reap(int slotno, int64 *orphans, int *norphans)
{
	ExecSlot   *slot = &exec_shared->slots[slotno];
	pid_t		pid;
	uint32		generation;
	TimestampTz registered_at;
	bool		starting;

	SpinLockAcquire(&slot->mutex);
	starting = slot->state == EXEC_STARTING;
	generation = slot->generation;
	registered_at = slot->registered_at;
	SpinLockRelease(&slot->mutex);
	if (!starting)
		return;
	if (exec_handles != NULL && exec_handles[slotno] != NULL && exec_handle_gen[slotno] == generation)
	{
		if (GetBackgroundWorkerPid(exec_handles[slotno], &pid) != BGWH_STOPPED)
			return;
	}
	else if (!TimestampDifferenceExceeds(registered_at, GetCurrentTimestamp(),
										 EXEC_STALE_START_MS))
	{
		/*
		 * Registered by an earlier launcher process, whose handle is lost,
		 * or by a backend for its etl.execute_pipeline call (which frees
		 * the slot itself when the executor stops before attaching): give
		 * it EXEC_STALE_START_MS to attach before freeing the slot.
		 */
		return;
	}
	SpinLockAcquire(&slot->mutex);
	if (slot->state == EXEC_STARTING && slot->generation == generation)
	{
		if (slot->queue_id != 0)
			orphans[(*norphans)++] = slot->queue_id;
		slot->state = EXEC_FREE;
		slot->queue_id = 0;
		slot->call = 0;
		slot->pid = 0;
	}
	SpinLockRelease(&slot->mutex);
}

/*
 * MetaetlExecutorCapacity
 *		How many runs the pool can take now: idle executors plus slots where
 *		one can be started; -1 when the pool is off (or not preloaded).
 *		Queue ids of runs assigned to executors that never started are
 *		returned in orphans (room for metaetl.run_executors entries), for the
 *		caller to put back in the queue.
 */
int
MetaetlExecutorCapacity(int64 **orphans, int *norphans)
{
	int			capacity = 0;

	*norphans = 0;
	*orphans = NULL;
	if (exec_shared == NULL || exec_shared->nslots == 0)
		return -1;
	*orphans = palloc(sizeof(int64) * exec_shared->nslots);
	for (int i = 0; i < exec_shared->nslots; i++)
	{
		ExecSlot   *slot = &exec_shared->slots[i];

		exec_reap(i, *orphans, norphans);
		SpinLockAcquire(&slot->mutex);
		if (slot->state == EXEC_FREE || (exec_unassigned(slot) && slot->dboid == MyDatabaseId))
			capacity++;
		SpinLockRelease(&slot->mutex);
	}
	return capacity;
}

/*
 * exec_start
 *		Register an executor for slot slotno, its first run already assigned.
 */
static bool
exec_start(int slotno, uint32 generation, Oid role, BackgroundWorkerHandle **handlep)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	ExecArgs	args;
	MemoryContext oldcxt;
	bool		ok;
	char		name[BGW_MAXLEN];

	args.dboid = MyDatabaseId;
	args.role = role;
	args.slotno = slotno;
	args.generation = generation;

	snprintf(name, sizeof(name), "metaetl run executor %d", slotno + 1);
	MetaetlDescribeRunProcess(&worker, "MetaetlRunExecutorMain", "metaetl run executor", name);
	worker.bgw_main_arg = Int32GetDatum(slotno);
	memcpy(worker.bgw_extra, &args, sizeof(args));
	/* the launcher hears of the executor's start and exit */
	worker.bgw_notify_pid = MyProcPid;

	/* the handle outlives this pass of the launcher's loop */
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&worker, &handle);
	if (ok)
	{
		if (exec_handles == NULL)
		{
			exec_handles = palloc0(sizeof(BackgroundWorkerHandle *) * exec_shared->nslots);
			exec_handle_gen = palloc0(sizeof(uint32) * exec_shared->nslots);
		}
		if (exec_handles[slotno] != NULL)
			pfree(exec_handles[slotno]);
		exec_handles[slotno] = handle;
		exec_handle_gen[slotno] = generation;
		if (handlep)
			*handlep = handle;
	}
	MemoryContextSwitchTo(oldcxt);
	return ok;
}

typedef enum ExecLaunch
{
	EXEC_LAUNCHED,
	EXEC_SLOT_TAKEN,			/* the slot was not free any more */
	EXEC_LAUNCH_FAILED			/* no background worker slot */
} ExecLaunch;

/*
 * exec_launch
 *		Start an executor in free slot slotno, with run queue_id or the run
 *		of call (a caller's segment) already assigned (0: none, the executor
 *		starts idle).  handlep, when not NULL, gets the executor's handle and
 *		generationp the slot's generation.
 */
static ExecLaunch
exec_launch(int slotno, int64 queue_id, dsm_handle call, Oid run_as, Oid role,
			BackgroundWorkerHandle **handlep, uint32 *generationp)
{
	ExecSlot   *slot = &exec_shared->slots[slotno];
	TimestampTz now = GetCurrentTimestamp();
	uint32		generation = 0;
	bool		claimed = false;

	SpinLockAcquire(&slot->mutex);
	if (slot->state == EXEC_FREE)
	{
		slot->state = EXEC_STARTING;
		slot->generation++;
		slot->queue_id = queue_id;
		slot->call = call;
		slot->call_taken = false;
		slot->caller_pid = call != 0 ? MyProcPid : 0;
		slot->run_as = run_as;
		slot->role = role;
		slot->dboid = MyDatabaseId;
		slot->pid = 0;
		slot->registered_at = now;
		generation = slot->generation;
		claimed = true;
	}
	SpinLockRelease(&slot->mutex);
	if (!claimed)
		return EXEC_SLOT_TAKEN;
	if (generationp)
		*generationp = generation;
	if (exec_start(slotno, generation, role, handlep))
		return EXEC_LAUNCHED;

	/* the slot stays free */
	SpinLockAcquire(&slot->mutex);
	if (slot->generation == generation)
	{
		slot->state = EXEC_FREE;
		slot->queue_id = 0;
		slot->call = 0;
	}
	SpinLockRelease(&slot->mutex);
	return EXEC_LAUNCH_FAILED;
}

/*
 * MetaetlExecutorAssign
 *		Hand a claimed run to an idle executor, or start one in a free slot.
 *		False when neither is possible (no free slot, or no background
 *		worker slot to start one); the caller puts the run back in the queue.
 *		An idle executor is not woken here: its pgprocno is added to wake,
 *		and MetaetlExecutorWake() wakes them all once every run of the batch
 *		is assigned, so woken executors don't delay the rest of the batch.
 */
bool
MetaetlExecutorAssign(int64 queue_id, Oid run_as, int *wake, int *nwake)
{
	int			free_slot = -1;
	int			other_idle = -1;

	/* an idle executor of the run's role first: it starts the run at once */
	for (int i = 0; i < exec_shared->nslots; i++)
	{
		ExecSlot   *slot = &exec_shared->slots[i];
		bool		taken = false;

		SpinLockAcquire(&slot->mutex);
		if (exec_unassigned(slot) && slot->role == run_as && slot->dboid == MyDatabaseId)
		{
			slot->state = EXEC_BUSY;
			slot->queue_id = queue_id;
			slot->run_as = run_as;
			slot->starting = true;
			wake[(*nwake)++] = slot->pgprocno;
			taken = true;
		}
		else if (slot->state == EXEC_FREE && free_slot < 0)
			free_slot = i;
		else if (exec_unassigned(slot) && other_idle < 0)
			other_idle = i;
		SpinLockRelease(&slot->mutex);
		if (taken)
			return true;
	}
	if (free_slot < 0)
	{
		/* an idle executor of another role gives its slot up for the next pass */
		if (other_idle >= 0)
		{
			ExecSlot   *slot = &exec_shared->slots[other_idle];
			int			pgprocno = -1;

			SpinLockAcquire(&slot->mutex);
			if (exec_unassigned(slot))
			{
				slot->state = EXEC_EXITING;
				pgprocno = slot->pgprocno;
			}
			SpinLockRelease(&slot->mutex);
			if (pgprocno >= 0)
				SetLatch(&ProcGlobal->allProcs[pgprocno].procLatch);
		}
		return false;
	}

	/* else a new executor of the run's role, the run already assigned */
	return exec_launch(free_slot, queue_id, 0, run_as, run_as, NULL, NULL) == EXEC_LAUNCHED;
}

/*
 * MetaetlExecutorPrewarm
 *		Start executors of role (without a run) until n of that role are
 *		idle or starting, within the pool's size: called by the launcher
 *		shortly before n runs of role's pipelines are due, so they find
 *		executors running.  Best effort: stops at the first executor that
 *		cannot be registered.  Needs no transaction.
 */
void
MetaetlExecutorPrewarm(int n, Oid role)
{
	int			ready = 0;

	if (exec_shared == NULL || exec_shared->nslots == 0)
		return;
	/* don't take back the worker slots idle executors just gave up */
	if (GetCurrentTimestamp() < (TimestampTz) pg_atomic_read_u64(&exec_shared->room_until))
		return;
	for (int i = 0; i < exec_shared->nslots; i++)
	{
		ExecSlot   *slot = &exec_shared->slots[i];

		SpinLockAcquire(&slot->mutex);
		if (((slot->state == EXEC_STARTING && slot->call == 0) || exec_unassigned(slot)) &&
			slot->role == role && slot->dboid == MyDatabaseId)
			ready++;
		SpinLockRelease(&slot->mutex);
	}
	for (int i = 0; i < exec_shared->nslots && ready < n; i++)
	{
		ExecLaunch	launched = exec_launch(i, 0, 0, InvalidOid, role, NULL, NULL);

		if (launched == EXEC_LAUNCH_FAILED)
			break;
		if (launched == EXEC_LAUNCHED)
			ready++;
	}
}

/*
 * MetaetlExecutorsMakeRoom
 *		Ask up to n idle executors to exit, so that their background worker
 *		slots free up for a run worker (etl.execute_pipeline) when every slot
 *		is taken.  Returns how many were asked; their slots are free once the
 *		postmaster has seen them exit, a few milliseconds later.
 */
int
MetaetlExecutorsMakeRoom(int n)
{
	int			asked = 0;

	if (exec_shared == NULL)
		return 0;
	/* the launcher starts no executor ahead of runs meanwhile */
	pg_atomic_write_u64(&exec_shared->room_until,
						(uint64) TimestampTzPlusMilliseconds(GetCurrentTimestamp(), EXEC_ROOM_MS));
	for (int i = 0; i < exec_shared->nslots && asked < n; i++)
	{
		ExecSlot   *slot = &exec_shared->slots[i];
		int			pgprocno = -1;

		SpinLockAcquire(&slot->mutex);
		if (exec_unassigned(slot))
		{
			slot->state = EXEC_EXITING;
			pgprocno = slot->pgprocno;
		}
		SpinLockRelease(&slot->mutex);
		if (pgprocno >= 0)
		{
			SetLatch(&ProcGlobal->allProcs[pgprocno].procLatch);
			asked++;
		}
	}
	return asked;
}

/*
 * MetaetlExecutorTakeCall
 *		In metaetl.database, hand the run of an etl.execute_pipeline call,
 *		whose spec is in the caller's segment seg, to an idle executor of
 *		role (woken at once),
 *		or start an executor of role in a free slot with it assigned; the
 *		executor then stays in the pool for the next runs.  A run worker of
 *		its own would cost the run a process start and a cold session:
 *		catalog caches, plans and the library loaded anew, tens of
 *		milliseconds, which is most of a small incremental run.  False when
 *		the pool is off or has neither (the caller starts a run worker).
 *		Idle executors of other roles are not asked to exit: that is the
 *		scheduler's business.  Needs no transaction.
 */
bool
MetaetlExecutorTakeCall(dsm_handle seg, Oid role, MetaetlExecCall *call)
{
	int			free_slot = -1;

	memset(call, 0, sizeof(*call));
	call->slotno = -1;
	if (exec_shared == NULL || exec_shared->nslots == 0)
		return false;

	/*
	 * Only in metaetl.database, which the launcher keeps a connection to
	 * anyway: an executor idling in any other database would hold a
	 * connection there, and DROP DATABASE refuses a database in use.
	 */
	{
		char	   *here = get_database_name(MyDatabaseId);

		if (metaetl_database == NULL || here == NULL || strcmp(here, metaetl_database) != 0)
			return false;
	}
	for (int i = 0; i < exec_shared->nslots; i++)
	{
		ExecSlot   *slot = &exec_shared->slots[i];
		int			pgprocno = -1;

		SpinLockAcquire(&slot->mutex);
		if (exec_unassigned(slot) && slot->role == role && slot->dboid == MyDatabaseId)
		{
			slot->state = EXEC_BUSY;
			slot->call = seg;
			slot->call_taken = false;
			slot->caller_pid = MyProcPid;
			call->slotno = i;
			call->generation = slot->generation;
			call->pid = slot->pid;
			pgprocno = slot->pgprocno;
		}
		else if (slot->state == EXEC_FREE && free_slot < 0)
			free_slot = i;
		SpinLockRelease(&slot->mutex);
		if (pgprocno >= 0)
		{
			SetLatch(&ProcGlobal->allProcs[pgprocno].procLatch);
			return true;
		}
	}
	/* the slot may have been taken meanwhile: then the caller starts a worker */
	if (free_slot >= 0 &&
		exec_launch(free_slot, 0, seg, role, role, &call->handle, &call->generation) == EXEC_LAUNCHED)
	{
		call->slotno = free_slot;
		return true;
	}
	return false;
}

/*
 * MetaetlExecutorCallGone
 *		Whether the executor handed call has exited (or never started).  An
 *		executor this backend registered that stopped before attaching
 *		leaves its slot starting: it is freed here.
 */
bool
MetaetlExecutorCallGone(MetaetlExecCall *call)
{
	pid_t		pid;

	if (call->handle == NULL)
		return BackendPidGetProc(call->pid) == NULL;
	if (GetBackgroundWorkerPid(call->handle, &pid) != BGWH_STOPPED)
		return false;
	{
		ExecSlot   *slot = &exec_shared->slots[call->slotno];

		SpinLockAcquire(&slot->mutex);
		if (slot->state == EXEC_STARTING && slot->generation == call->generation)
		{
			slot->state = EXEC_FREE;
			slot->queue_id = 0;
			slot->call = 0;
			slot->pid = 0;
		}
		SpinLockRelease(&slot->mutex);
	}
	return true;
}

/*
 * MetaetlExecutorWithdrawCall
 *		The caller of call is leaving (an error, a cancel) before it heard
 *		of the run: when the executor has not taken the call yet, take it
 *		back, so that no run starts for a caller that is gone.
 */
void
MetaetlExecutorWithdrawCall(MetaetlExecCall *call, dsm_handle seg)
{
	ExecSlot   *slot;

	if (exec_shared == NULL || call->slotno < 0)
		return;
	slot = &exec_shared->slots[call->slotno];
	SpinLockAcquire(&slot->mutex);
	if (slot->generation == call->generation && slot->call == seg && !slot->call_taken)
	{
		slot->call = 0;
		slot->caller_pid = 0;
		if (slot->state == EXEC_BUSY)
			slot->state = EXEC_IDLE;
	}
	SpinLockRelease(&slot->mutex);
}

/* wake the executors MetaetlExecutorAssign() handed runs to */
void
MetaetlExecutorWake(const int *wake, int nwake)
{
	for (int i = 0; i < nwake; i++)
		SetLatch(&ProcGlobal->allProcs[wake[i]].procLatch);
}

/*
 * MetaetlExecutorStatus
 *		Counts of the pool's executors by state, for etl.scheduler_status().
 *		False when the pool is off.
 */
bool
MetaetlExecutorStatus(int *size, int *idle, int *busy, int *starting)
{
	*size = *idle = *busy = *starting = 0;
	if (exec_shared == NULL || exec_shared->nslots == 0)
		return false;
	*size = exec_shared->nslots;
	for (int i = 0; i < exec_shared->nslots; i++)
	{
		ExecSlot   *slot = &exec_shared->slots[i];

		SpinLockAcquire(&slot->mutex);
		if (slot->state == EXEC_STARTING)
			(*starting)++;
		else if (slot->state == EXEC_BUSY || (slot->state == EXEC_IDLE && !exec_unassigned(slot)))
			(*busy)++;
		else if (slot->state == EXEC_IDLE)
			(*idle)++;
		SpinLockRelease(&slot->mutex);
	}
	return true;
}

/* -------------------------------------------------------------- executor */

/* this process's slot, when it is a run executor */
static ExecSlot *exec_my_slot = NULL;

#define EXEC_YIELD_MAX_MS	100

/*
 * MetaetlExecutorRunRecorded
 *		Called by the run body once the run's record is committed.  In an
 *		executor: runs that are starting go first.  When the launcher hands
 *		a burst of runs to idle executors, they all need the CPU at once;
 *		the first to start would otherwise go on with their pipelines while
 *		the last ones wait for a core (on 2 cores, 50 runs due together
 *		started up to ~100 ms late).  So a run that has just been recorded
 *		waits, up to EXEC_YIELD_MAX_MS, until every executor handed a run has
 *		recorded its own: a few milliseconds of delay to its end, for a start
 *		on time for all of them.
 */
void
MetaetlExecutorRunRecorded(void)
{
	TimestampTz until;

	if (exec_my_slot == NULL)
		return;
	SpinLockAcquire(&exec_my_slot->mutex);
	exec_my_slot->starting = false;
	SpinLockRelease(&exec_my_slot->mutex);

	until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), EXEC_YIELD_MAX_MS);
	for (;;)
	{
		bool		others = false;

		/* an unlocked read is enough for a hint */
		for (int i = 0; i < exec_shared->nslots && !others; i++)
			others = exec_shared->slots[i].starting;
		if (!others || GetCurrentTimestamp() >= until)
			break;
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1, PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
}


/*
 * exec_on_exit
 *		Free the executor's slot.  An on_shmem_exit callback registered before
 *		the connection is made, so it runs after the process has left
 *		pg_stat_activity: when it exited in the middle of a run, the launcher
 *		(told through died_busy) finds the run's worker gone and marks it
 *		abandoned at its next pass.
 */
static void
exec_on_exit(int code, Datum arg)
{
	ExecSlot   *slot = &exec_shared->slots[DatumGetInt32(arg)];
	bool		busy = false;

	SpinLockAcquire(&slot->mutex);
	if (slot->pid == MyProcPid)
	{
		busy = slot->queue_id != 0 || (slot->call != 0 && slot->call_taken);
		slot->starting = false;
		slot->state = EXEC_FREE;
		slot->pid = 0;
		slot->queue_id = 0;
		slot->call = 0;
	}
	SpinLockRelease(&slot->mutex);
	if (busy)
		pg_atomic_fetch_add_u32(&exec_shared->died_busy, 1);
}

/*
 * MetaetlExecutorDiedBusy
 *		Whether an executor exited in the middle of a run since the last call.
 */
bool
MetaetlExecutorDiedBusy(void)
{
	if (exec_shared == NULL || exec_shared->nslots == 0)
		return false;
	return pg_atomic_exchange_u32(&exec_shared->died_busy, 0) > 0;
}

/*
 * exec_reset_session
 *		What DISCARD ALL resets, but the plan cache (plans are invalidated by
 *		catalog changes anyway, and keeping them is much of the pool's gain):
 *		every option set during the run, temporary tables, session advisory
 *		locks, prepared statements, LISTEN registrations and sequence caches.
 */
static void
exec_reset_session(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	ResetAllOptions();
	DropAllPreparedStatements();
	Async_UnlistenAll();
	LockReleaseAll(USER_LOCKMETHOD, true);
	ResetTempTableNamespace();
	ResetSequenceCaches();
	CommitTransactionCommand();
	SetConfigOption("application_name", "metaetl executor", PGC_USERSET, PGC_S_SESSION);
	pgstat_report_activity(STATE_IDLE, NULL);
	pgstat_report_stat(false);
}

/*
 * A run executor: a background worker that stays connected and runs the
 * runs it is assigned one after another, so a scheduled run does not pay
 * for starting a process; it exits after metaetl.run_executor_idle_timeout
 * idle, or when asked to make room.
 */
void
MetaetlRunExecutorMain(Datum main_arg)
{
	int			slotno = DatumGetInt32(main_arg);
	ExecArgs	args;
	ExecSlot   *slot;
	bool		mine;
	TimestampTz idle_since;

	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	if (exec_shared == NULL || slotno < 0 || slotno >= exec_shared->nslots)
		elog(ERROR, "metaetl run executor started without its shared memory slot %d", slotno);
	slot = &exec_shared->slots[slotno];

	SpinLockAcquire(&slot->mutex);
	mine = slot->state == EXEC_STARTING && slot->generation == args.generation;
	if (mine)
	{
		slot->pid = MyProcPid;
		slot->pgprocno = MyProc->pgprocno;
	}
	SpinLockRelease(&slot->mutex);
	if (!mine)
		proc_exit(0);			/* the slot was given up meanwhile */
	on_shmem_exit(exec_on_exit, Int32GetDatum(slotno));
	exec_my_slot = slot;

	BackgroundWorkerInitializeConnectionByOid(args.dboid, args.role, 0);
	SetConfigOption("application_name", "metaetl executor", PGC_USERSET, PGC_S_SESSION);

	idle_since = GetCurrentTimestamp();
	for (;;)
	{
		int64		queue_id = 0;
		dsm_handle	call = 0;
		Oid			run_as = InvalidOid;
		bool		exiting = false;
		long		timeout_ms;

		/* a cancel that reached an idle executor has no run to stop */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		timeout_ms = (long) metaetl_run_executor_idle_timeout * 1000 -
			TimestampDifferenceMilliseconds(idle_since, GetCurrentTimestamp());

		SpinLockAcquire(&slot->mutex);
		if (slot->state == EXEC_EXITING)
			exiting = true;		/* asked to make room */
		else if (slot->queue_id != 0)
		{
			queue_id = slot->queue_id;
			run_as = slot->run_as;
			slot->state = EXEC_BUSY;
		}
		else if (slot->call != 0)
		{
			call = slot->call;
			slot->call_taken = true;
			slot->state = EXEC_BUSY;
		}
		else if (timeout_ms <= 0)
		{
			slot->state = EXEC_EXITING;
			exiting = true;
		}
		else
			slot->state = EXEC_IDLE;
		SpinLockRelease(&slot->mutex);

		if (exiting)
			proc_exit(0);

		if (queue_id != 0 || call != 0)
		{
			if (queue_id != 0)
				MetaetlRunQueuedRun(queue_id, run_as, GetCurrentTimestamp());
			else
				MetaetlRunCall(call, GetCurrentTimestamp());
			/* a late cancel of the finished run must not stop the reset */
			HOLD_CANCEL_INTERRUPTS();
			exec_reset_session();
			RESUME_CANCEL_INTERRUPTS();
			SpinLockAcquire(&slot->mutex);
			slot->queue_id = 0;
			slot->call = 0;
			slot->call_taken = false;
			slot->caller_pid = 0;
			SpinLockRelease(&slot->mutex);
			idle_since = GetCurrentTimestamp();
			continue;
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(timeout_ms, 60 * 1000L), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
