/*-------------------------------------------------------------------------
 *
 * src/orchestrator/handoff.c
 *		Runs of etl.execute_pipeline that wait for a worker slot: the caller
 *		hands its run to the scheduler's launcher, which records it as
 *		queued, and the run starts from etl.run_queue when a slot frees.
 *
 * When every background worker slot is taken (and no idle run executor can
 * give one up), a run cannot start now.  It must not fail either: 72 of 100
 * simultaneous calls did, with 53400 and no run record.  But the caller
 * cannot record the run itself: it is inside its own transaction, which
 * commits only after the call returns (never, while wait => true waits).  So
 * another process writes the record: the launcher, which is always
 * connected to metaetl.database and needs no new slot.
 *
 * The caller has already put the run's spec into its dynamic shared memory
 * segment (worker.c).  It puts the segment's handle into its slot here
 * (one slot per PGPROC, so callers never contend) and sets the launcher's
 * latch.  At its next pass the launcher attaches the segment, inserts the
 * run record (status queued) and an etl.run_queue row pointing at it,
 * commits, and sets the slot to HANDOFF_QUEUED with the run and queue ids.
 * With wait => false the caller returns the queued run at once (and frees
 * its slot); with wait => true it keeps its slot and segment.  When the
 * dispatcher starts that queue row, the process taking it (a run executor or
 * a run worker) finds the slot by queue id, attaches the caller's segment
 * and reports to it as a run worker started for the caller would: the run
 * id, then the summary.
 *
 * A slot carries a generation, bumped at each request, so that a launcher
 * finishing the record of a request the caller has given up (cancelled)
 * does not touch the caller's next request.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/memutils.h"

#include "metaetl.h"
#include "orchestrator/orchestrator.h"
#include "scheduler/scheduler.h"

typedef struct HandoffSlot
{
	slock_t		mutex;
	MetaetlHandoffState state;
	uint32		generation;
	int			caller_pid;
	dsm_handle	seg;
	int64		run_id;
	int64		queue_id;
	char		error[256];
} HandoffSlot;

typedef struct HandoffShared
{
	int			nslots;			/* MaxBackends: set at startup, then constant */
	HandoffSlot slots[FLEXIBLE_ARRAY_MEMBER];
} HandoffShared;

static HandoffShared *handoff_shared = NULL;

static Size
handoff_shmem_size(void)
{
	return add_size(offsetof(HandoffShared, slots), mul_size(sizeof(HandoffSlot), MaxBackends));
}

static void
handoff_shmem_init(void *ptr)
{
	HandoffShared *shared = ptr;

	shared->nslots = MaxBackends;
	for (int i = 0; i < shared->nslots; i++)
		SpinLockInit(&shared->slots[i].mutex);
}

/* only with preload: without it there is no launcher to hand runs to */
void
MetaetlHandoffInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	MetaetlShmemRegister("metaetl run handoffs", handoff_shmem_size, handoff_shmem_init,
						 (void **) &handoff_shared);
}

static HandoffSlot *
handoff_my_slot(void)
{
	if (handoff_shared == NULL || MyProc == NULL || MyProc->pgprocno >= handoff_shared->nslots)
		return NULL;
	return &handoff_shared->slots[MyProc->pgprocno];
}

/*
 * MetaetlHandoffRequest
 *		Ask the launcher to record the run whose spec is in segment seg as
 *		queued.  False when no launcher serves this database (not preloaded,
 *		another metaetl.database, or not running): the caller reports that
 *		no slot is free.
 */
bool
MetaetlHandoffRequest(dsm_handle seg)
{
	HandoffSlot *slot = handoff_my_slot();

	if (slot == NULL || !MetaetlSchedulerServes(MyDatabaseId))
		return false;
	SpinLockAcquire(&slot->mutex);
	slot->generation++;
	slot->state = HANDOFF_REQUESTED;
	slot->caller_pid = MyProcPid;
	slot->seg = seg;
	slot->run_id = 0;
	slot->queue_id = 0;
	slot->error[0] = '\0';
	SpinLockRelease(&slot->mutex);
	MetaetlSchedulerWake();
	return true;
}

/*
 * MetaetlHandoffPoll
 *		The caller's view of its request: its state and, once queued, the
 *		run id; error (room for 256 bytes) says why recording it failed.
 */
MetaetlHandoffState
MetaetlHandoffPoll(int64 *run_id, char *error)
{
	HandoffSlot *slot = handoff_my_slot();
	MetaetlHandoffState state;

	if (slot == NULL)
		return HANDOFF_FREE;
	SpinLockAcquire(&slot->mutex);
	state = slot->state;
	*run_id = slot->run_id;
	strlcpy(error, slot->error, 256);
	SpinLockRelease(&slot->mutex);
	return state;
}

/* The caller is done with its request (returned, or gave up). */
void
MetaetlHandoffRelease(void)
{
	HandoffSlot *slot = handoff_my_slot();

	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	slot->state = HANDOFF_FREE;
	slot->seg = DSM_HANDLE_INVALID;
	slot->queue_id = 0;
	SpinLockRelease(&slot->mutex);
}

/*
 * MetaetlHandoffRecordRequests
 *		In the launcher, outside any transaction: record every requested run
 *		(MetaetlRunRecordQueued, one transaction each) and tell its caller.
 *		Returns how many were recorded.
 */
int
MetaetlHandoffRecordRequests(void)
{
	int			recorded = 0;

	if (handoff_shared == NULL)
		return 0;
	for (int i = 0; i < handoff_shared->nslots; i++)
	{
		HandoffSlot *slot = &handoff_shared->slots[i];
		uint32		generation;
		dsm_handle	seg;
		int64		run_id = 0;
		int64		queue_id = 0;
		char		error[256];
		bool		ok;
		int			caller_pid;

		SpinLockAcquire(&slot->mutex);
		if (slot->state != HANDOFF_REQUESTED)
		{
			SpinLockRelease(&slot->mutex);
			continue;
		}
		generation = slot->generation;
		seg = slot->seg;
		caller_pid = slot->caller_pid;
		SpinLockRelease(&slot->mutex);

		error[0] = '\0';
		ok = MetaetlRunRecordQueued(seg, &run_id, &queue_id, error, sizeof(error));

		SpinLockAcquire(&slot->mutex);
		if (slot->generation == generation && slot->state == HANDOFF_REQUESTED)
		{
			slot->state = ok ? HANDOFF_QUEUED : HANDOFF_FAILED;
			slot->run_id = run_id;
			slot->queue_id = queue_id;
			strlcpy(slot->error, error, sizeof(slot->error));
		}
		SpinLockRelease(&slot->mutex);
		if (ok)
			recorded++;
		if (ProcGlobal->allProcs[i].pid == caller_pid)
			SetLatch(&ProcGlobal->allProcs[i].procLatch);
	}
	return recorded;
}

/*
 * MetaetlHandoffFind
 *		The segment of the caller still waiting for queue row queue_id, or
 *		DSM_HANDLE_INVALID when none waits (wait => false, or it gave up).
 */
dsm_handle
MetaetlHandoffFind(int64 queue_id)
{
	dsm_handle	seg = DSM_HANDLE_INVALID;

	if (handoff_shared == NULL || queue_id <= 0)
		return DSM_HANDLE_INVALID;
	for (int i = 0; i < handoff_shared->nslots && seg == DSM_HANDLE_INVALID; i++)
	{
		HandoffSlot *slot = &handoff_shared->slots[i];

		SpinLockAcquire(&slot->mutex);
		if (slot->state == HANDOFF_QUEUED && slot->queue_id == queue_id)
			seg = slot->seg;
		SpinLockRelease(&slot->mutex);
	}
	return seg;
}
