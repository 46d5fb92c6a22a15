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

/* in scheduler/launcher.c */
extern bool metaetl_scheduler_enabled;
extern int	metaetl_max_concurrent_runs;
extern int	metaetl_run_retention;
extern bool metaetl_allow_superuser_runs;

extern void MetaetlSchedulerInit(void);
extern PGDLLEXPORT void MetaetlSchedulerMain(Datum main_arg);
extern const char *MetaetlSchedulerStateName(void);
extern void MetaetlSchedulerWakeOnCommit(void);
extern bool MetaetlSchedulerServes(Oid dboid);
extern void MetaetlSchedulerWake(void);

#endif							/* METAETL_SCHEDULER_H */
