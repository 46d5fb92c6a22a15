/*-------------------------------------------------------------------------
 *
 * src/util/guc.c
 *		The metaetl.* configuration parameters.
 *
 * The core parameters; subsystems define theirs in their own init function
 * (called from _PG_init), and _PG_init reserves the prefix after all of them.
 * All are documented in docs/operations.md.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "metaetl.h"

char	   *metaetl_environment = NULL;
char	   *metaetl_database = NULL;

/*
 * Define the core metaetl.* parameters (metaetl.environment,
 * metaetl.database); each subsystem that has parameters of its own defines
 * them in its init.  Called once from _PG_init.
 */
void
MetaetlGucInit(void)
{
	DefineCustomStringVariable("metaetl.environment",
							   gettext_noop("Environment whose overrides are merged into pipeline configurations."),
							   gettext_noop("Names a key of a pipeline's environments: block, such as dev or prod; empty means no overrides."),
							   &metaetl_environment,
							   "",
							   PGC_USERSET,
							   0,
							   NULL,
							   NULL,
							   NULL);

	/*
	 * Parameters read by the background workers exist only when the library
	 * is preloaded: a PGC_POSTMASTER parameter cannot be defined later, and
	 * without preload there are no workers to read it.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomStringVariable("metaetl.database",
							   gettext_noop("Database the metaetl background workers connect to."),
							   NULL,
							   &metaetl_database,
							   "postgres",
							   PGC_POSTMASTER,
							   0,
							   NULL,
							   NULL,
							   NULL);
}
