/*-------------------------------------------------------------------------
 *
 * src/lineage/refresh.c
 *		Lineage computed outside a run: etl._lineage_refresh().
 *
 * etl.lineage() before a pipeline's first run, etl.impact(),
 * etl.lineage_graph() and depends_on: auto need the lineage of pipelines no
 * run has recorded yet (for their current version).  It is computed by
 * compiling the pipeline describe-only (engine pushdown: no staged temp
 * tables), as the pipeline's owner, inside a subtransaction that is always
 * rolled back, so nothing it created (a file source's temporary table)
 * survives.  Only a role with the owner's privileges can see the pipeline
 * (row-level security on etl.pipelines), so running as the owner adds no
 * rights.  Unqualified names resolve on the session's default search_path
 * (the reset value: what a new session of this role and database gets);
 * a run records the lineage it really executed, replacing this one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "lineage/lineage.h"
#include "security/security.h"
#include "metaetl.h"
#include "transform/transform.h"

PG_FUNCTION_INFO_V1(metaetl_lineage_refresh);

/* ---------------------------------------------------------------------
 * etl._lineage_refresh(pipeline_id text DEFAULT NULL) returns int
 * ---------------------------------------------------------------------
 */

typedef struct ComputeArgs
{
	Jsonb	   *config;
	Oid			owner;
	MemoryContext outcxt;
	char	   *json;
} ComputeArgs;

/*
 * hooks_compute
 *		Compile a pipeline describe-only (pushdown: no staged temp tables) as
 *		its owner and compute its lineage; the caller rolls everything back.
 */
static void
hooks_compute(ComputeArgs *a)
{
	MetaetlPrivState st;
	MetaetlPlan *plan;
	char	   *json;

	/*
	 * As the pipeline's owner.  Planning the owner's queries may evaluate
	 * functions (constant folding) the owner's objects name, so in any
	 * session but the owner's own it is restricted (security/privs.c): in a
	 * superuser's session that code could otherwise SET SESSION
	 * AUTHORIZATION to the superuser.  (A restricted compile cannot create
	 * temporary tables, so a pipeline with file sources gets its lineage
	 * from its next run instead.)  Names resolve as in a session of this
	 * database (the callers pin their own search_path); the rolled-back
	 * subtransaction restores it.
	 */
	MetaetlUserCodeBegin(&st, a->owner, GetSessionUserId() != a->owner);
	(void) set_config_option("search_path", GetConfigOptionResetString("search_path"),
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	plan = MetaetlBuildPlan(a->config, "pushdown", NIL);
	plan->owner = a->owner;
	plan->describe_only = true;
	plan->engine_reason = "lineage";
	MetaetlChooseEngine(plan);
	MetaetlCompileNodes(plan);
	json = MetaetlLineagePlanJson(plan);
	a->json = MemoryContextStrdup(a->outcxt, json);
	MetaetlUserCodeEnd(&st);
}

static void
hooks_compute_errcontext(void *arg)
{
	errcontext("computing the lineage of pipeline \"%s\"", (const char *) arg);
}

/*
 * hooks_compute_rolled_back
 *		hooks_compute in a subtransaction that is rolled back whatever
 *		happens.  An error is re-thrown when rethrow, else a NOTICE.
 */
static char *
hooks_compute_rolled_back(const char *pipeline_id, Jsonb *config, Oid owner, bool rethrow)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ComputeArgs a;
	ErrorData  *volatile edata = NULL;
	ErrorContextCallback errcb;

	a.config = config;
	a.owner = owner;
	a.outcxt = oldcxt;
	a.json = NULL;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	errcb.callback = hooks_compute_errcontext;
	errcb.arg = (void *) pipeline_id;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	PG_TRY();
	{
		hooks_compute(&a);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
	}
	PG_END_TRY();
	error_context_stack = errcb.previous;
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	if (edata != NULL)
	{
		if (rethrow || edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
		/* a NOTICE: the call asked about every pipeline, not this one */
		ereport(NOTICE,
				(errmsg("lineage of pipeline \"%s\" skipped: %s", pipeline_id, edata->message),
				 errhint("etl.lineage('%s') shows the error; lineage from its last run, if any, is used meanwhile.",
						 pipeline_id)));
		return NULL;
	}
	return a.json;
}

/*
 * etl._lineage_refresh(pipeline_id text DEFAULT NULL) returns int
 *		Compute and store the lineage of the pipeline (or of every pipeline
 *		the caller can see) whose current version has none yet; returns how
 *		many were computed.  For one named pipeline an error is raised, for
 *		all of them it becomes a NOTICE and the pipeline is skipped.  In a
 *		read-only transaction (a standby) nothing is computed.
 */
Datum
metaetl_lineage_refresh(PG_FUNCTION_ARGS)
{
	char	   *only = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	MemoryContext callcxt = CurrentMemoryContext;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	char		nulls[1] = {' '};
	int			n;
	char	  **ids;
	int		   *versions;
	Jsonb	  **configs;
	Oid		   *owners;
	int			done = 0;

	/* a read-only transaction or a standby shows what is stored */
	if (XactReadOnly)
		PG_RETURN_INT32(0);
	values[0] = only ? CStringGetTextDatum(only) : (Datum) 0;
	nulls[0] = only ? ' ' : 'n';
	SPI_connect();
	/* as the caller: row-level security shows only the pipelines it may see */
	MetaetlSpiExec("SELECT p.pipeline_id, p.current_version, p.config,"
				   "       (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) p.owner)"
				   "  FROM etl.pipelines p"
				   " WHERE ($1 IS NULL OR p.pipeline_id OPERATOR(pg_catalog.=) $1)"
				   "   AND NOT EXISTS (SELECT 1 FROM etl.lineage_sets s"
				   "                    WHERE s.pipeline_id OPERATOR(pg_catalog.=) p.pipeline_id"
				   "                      AND s.version OPERATOR(pg_catalog.=) p.current_version)"
				   " ORDER BY p.pipeline_id",
				   1, types, values, nulls, true, 0);
	n = (int) SPI_processed;
	ids = MemoryContextAlloc(callcxt, sizeof(char *) * (n + 1));
	versions = MemoryContextAlloc(callcxt, sizeof(int) * (n + 1));
	configs = MemoryContextAlloc(callcxt, sizeof(Jsonb *) * (n + 1));
	owners = MemoryContextAlloc(callcxt, sizeof(Oid) * (n + 1));
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(callcxt);

		ids[i] = SPI_getvalue(tup, desc, 1);
		versions[i] = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		configs[i] = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 3, &isnull));
		owners[i] = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull));
		if (isnull)
			owners[i] = InvalidOid;
		MemoryContextSwitchTo(old);
	}
	for (int i = 0; i < n; i++)
	{
		char	   *json;

		CHECK_FOR_INTERRUPTS();
		if (!OidIsValid(owners[i]) || !has_privs_of_role(GetUserId(), owners[i]))
			continue;
		json = hooks_compute_rolled_back(ids[i], configs[i], owners[i], only != NULL);
		if (json == NULL)
			continue;
		MetaetlLineageStore(ids[i], versions[i], json);
		done++;
	}
	SPI_finish();
	PG_RETURN_INT32(done);
}

