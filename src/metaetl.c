/*-------------------------------------------------------------------------
 *
 * src/metaetl.c
 *		Library entry point: _PG_init only dispatches to each module's init.
 *
 * The library works both when listed in shared_preload_libraries and when
 * loaded on first use by CREATE EXTENSION or a function call.  Features that
 * need shared memory or background workers (the scheduler) call
 * MetaetlRequirePreload(), which raises a clear error with a hint.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "metaetl.h"
#include "incremental/incremental.h"
#include "monitor/monitor.h"
#include "orchestrator/orchestrator.h"
#include "scheduler/scheduler.h"
#include "security/security.h"

PG_MODULE_MAGIC;

/* true when _PG_init ran while shared_preload_libraries was being processed */
bool		MetaetlPreloaded = false;

void		_PG_init(void);

/*
 * Only dispatches to each subsystem's init (parts that need preload check
 * MetaetlPreloaded themselves); nothing during a binary upgrade, where no
 * worker or shared memory may be set up.
 */
void
_PG_init(void)
{
	if (IsBinaryUpgrade)
		return;

	MetaetlPreloaded = process_shared_preload_libraries_in_progress;

	MetaetlGucInit();
	MetaetlSlotInit();
	MetaetlSchedulerInit();
	MetaetlExecutorInit();
	MetaetlHandoffInit();
	MetaetlProgressInit();
	MetaetlMonitorInit();
	MetaetlAccessLogInit();

	/* every module's parameters are defined above; reserve the prefix last */
	MarkGUCPrefixReserved("metaetl");
}

/*
 * MetaetlRequirePreload
 *		Raise an error if the library was not preloaded; "feature" names what
 *		needed it, e.g. "the scheduler".
 */
void
MetaetlRequirePreload(const char *feature)
{
	if (!MetaetlPreloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s requires metaetl to be loaded via shared_preload_libraries",
						feature),
				 errhint("Add metaetl to shared_preload_libraries in postgresql.conf and restart the server.")));
}
