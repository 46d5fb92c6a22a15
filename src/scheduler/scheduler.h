/*-------------------------------------------------------------------------
 *
 * src/scheduler/scheduler.h
 *		The scheduler's internal interface: parameters, launcher state and
 *		the wake-up on commit of schedule changes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_SCHEDULER_H
#define METAETL_SCHEDULER_H

#include "postmaster/bgworker.h"

/*
 * Called in the launcher after each committed pass (outside a transaction):
 * a pass runs at every due time, at least once a second, and at once after
 * a commit that inserted into etl.run_queue or changed a row's state.  The
 * orchestrator can set it in its init function to claim and start queued
 * runs from the launcher without polling.  Errors it raises are reported and
 * the launcher carries on.
 */
typedef void (*MetaetlAfterTickHook) (void);

/* in scheduler/launcher.c */
extern PGDLLIMPORT MetaetlAfterTickHook metaetl_after_tick_hook;
extern bool metaetl_scheduler_enabled;
extern int	metaetl_max_concurrent_runs;
extern int	metaetl_run_retention;
extern bool metaetl_allow_superuser_runs;

extern void MetaetlSchedulerInit(void);
extern PGDLLEXPORT void MetaetlSchedulerMain(Datum main_arg);
extern const char *MetaetlSchedulerStateName(void);
extern void MetaetlSchedulerWakeOnCommit(void);

#endif							/* METAETL_SCHEDULER_H */
