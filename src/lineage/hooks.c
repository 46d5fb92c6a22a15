/*-------------------------------------------------------------------------
 *
 * src/lineage/hooks.c
 *		Where runs reach lineage: the run's lineage after compile, its START
 *		and final events; storing lineage as the extension owner; the
 *		catalog columns of a relation.
 *
 * A run computes its lineage inside its attempt (as the run's role, after
 * the plan is compiled) but the attempt may roll back, so the result is
 * kept in this process until the run record is finished, which happens in
 * every outcome; then etl._lineage_run_finished() (87_lineage.sql) stores
 * it, snapshots schemas, classifies drift and queues the OpenLineage event.
 * Every hook runs in a subtransaction and turns its errors into a WARNING:
 * lineage never fails a run, nor a run record.
 *
 * Lineage computed outside a run is refresh.c's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "lineage/lineage.h"
#include "security/security.h"
#include "metaetl.h"
#include "orchestrator/orchestrator.h"

PG_FUNCTION_INFO_V1(metaetl_relation_columns);

/*
 * The lineage the current run computed, until its record is finished.  Its
 * own context under TopMemoryContext (it must outlive the attempt's
 * subtransaction and, in a run worker, the transaction); replaced by the
 * next run, so at most one is ever kept.
 */
static MemoryContext pending_cxt = NULL;
static int64 pending_run = 0;
static char *pending_json = NULL;
static StringInfo pending_schema = NULL;	/* on_schema_change notes: a JSON array's items */

static void
hooks_set_pending(int64 run_id, const char *json)
{
	if (pending_cxt == NULL)
		pending_cxt = AllocSetContextCreate(TopMemoryContext, "metaetl pending lineage",
											ALLOCSET_SMALL_SIZES);
	MemoryContextReset(pending_cxt);
	pending_run = run_id;
	pending_json = json ? MemoryContextStrdup(pending_cxt, json) : NULL;
	pending_schema = NULL;
}

/*
 * hooks_guarded
 *		Run fn(arg) in a subtransaction; an error becomes a WARNING (with
 *		what) and is otherwise forgotten.  Returns whether fn succeeded.
 */
static bool
hooks_guarded(void (*fn) (void *), void *arg, const char *what)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		/* a cancel stays a cancel */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("%s: %s", what, edata->message),
				 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
				 errhint("Lineage is not recorded for this; the run itself is not affected.")));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

typedef struct RecordArgs
{
	struct MetaetlPlan *plan;
	char	   *json;
} RecordArgs;

static void
hooks_record(void *arg)
{
	RecordArgs *a = arg;

	a->json = MetaetlLineagePlanJson(a->plan);
}

/*
 * MetaetlLineageRecordRun
 *		Called by the transform engine once a run's plan is compiled (every
 *		node has its SQL and columns, temp tables exist): computes the
 *		lineage as the run's role and keeps it for the run's record.
 */
void
MetaetlLineageRecordRun(struct MetaetlPlan *plan, int64 run_id)
{
	MemoryContext work;
	MemoryContext old;
	RecordArgs	a;

	if (run_id <= 0)
		return;
	work = AllocSetContextCreate(CurrentMemoryContext, "metaetl lineage", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	a.plan = plan;
	a.json = NULL;
	if (!hooks_guarded(hooks_record, &a, psprintf("could not compute the lineage of run %lld",
												   (long long) run_id)))
		a.json = NULL;
	MemoryContextSwitchTo(old);
	hooks_set_pending(run_id, a.json);
	MemoryContextDelete(work);
}

typedef struct RunArgs
{
	int64		run_id;
	const char *json;
	bool		finished;
	const char *schema_notes;	/* JSON array, or NULL */
} RunArgs;

static void
hooks_run_sql(void *arg)
{
	RunArgs    *a = arg;
	MetaetlPrivState st;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};

	values[0] = Int64GetDatum(a->run_id);
	values[1] = a->json ? CStringGetTextDatum(a->json) : (Datum) 0;
	nulls[1] = a->json ? ' ' : 'n';
	/* bookkeeping of metaetl's own tables: as the extension owner */
	MetaetlOwnerBegin(&st);
	SPI_connect();
	if (a->finished)
	{
		MetaetlSpiExec("SELECT etl._lineage_run_finished($1, $2::pg_catalog.jsonb)", 2, types, values,
					   nulls, false, 0);
		if (a->schema_notes)
		{
			/* after the snapshots: the notes are tagged onto (or added to) the drift */
			values[1] = CStringGetTextDatum(a->schema_notes);
			nulls[1] = ' ';
			MetaetlSpiExec("SELECT etl._schema_change_record($1, $2::pg_catalog.jsonb)", 2, types, values,
						   nulls, false, 0);
		}
	}
	else
		MetaetlSpiExec("SELECT etl._lineage_run_started($1)", 1, types, values, nulls, false, 0);
	SPI_finish();
	MetaetlOwnerEnd(&st);
}

/*
 * MetaetlLineageRunStarted
 *		Called when a run's record says 'running': queues the OpenLineage
 *		START event (when an endpoint is set).
 */
void
MetaetlLineageRunStarted(int64 run_id)
{
	RunArgs		a = {run_id, NULL, false, NULL};

	(void) hooks_guarded(hooks_run_sql, &a, psprintf("could not record the start of run %lld in lineage",
													  (long long) run_id));
}

/*
 * MetaetlLineageRunFinished
 *		Called when a run's record is finished, whatever its status: stores
 *		the lineage it computed (if any), snapshots the schemas of what it
 *		read and wrote, records and alerts schema drift, queues the final
 *		OpenLineage event.
 */
void
MetaetlLineageRunFinished(int64 run_id, const char *status)
{
	RunArgs		a = {run_id, pending_run == run_id ? pending_json : NULL, true, NULL};

	if (pending_run == run_id && pending_schema != NULL)
		a.schema_notes = psprintf("[%s]", pending_schema->data);

	(void) hooks_guarded(hooks_run_sql, &a, psprintf("could not record the lineage of run %lld",
													  (long long) run_id));
	if (pending_run == run_id)
		hooks_set_pending(0, NULL);
}

/*
 * MetaetlLineageStore
 *		Store lineage computed outside a run (MetaetlLineagePlanJson's JSON)
 *		for a pipeline version, as the extension owner.  SPI is connected.
 */
void
MetaetlLineageStore(const char *pipeline_id, int version, const char *json)
{
	MetaetlPrivState st;
	Oid			types[3] = {TEXTOID, INT4OID, TEXTOID};
	Datum		values[3];

	values[0] = CStringGetTextDatum(pipeline_id);
	values[1] = Int32GetDatum(version);
	values[2] = CStringGetTextDatum(json);
	MetaetlOwnerBegin(&st);
	MetaetlSpiExec("SELECT etl._lineage_store($1, $2, $3::pg_catalog.jsonb, NULL, 'compile')",
				   3, types, values, NULL, false, 0);
	MetaetlOwnerEnd(&st);
}

/* ------------------------------------------------ schema history for loads */

/*
 * MetaetlLineageTableName
 *		The name schema history gives an existing table of this database
 *		(etl.schema_versions.relation: schema.table, quoted), from its name
 *		as a target writes it (resolved on the search_path); NULL when there
 *		is no such table.
 */
char *
MetaetlLineageTableName(const char *name)
{
	Oid			relid;

	if (name == NULL)
		return NULL;
	relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(name)), NoLock, true);
	return OidIsValid(relid) ? MetaetlLineageRelation(relid)->display : NULL;
}

/*
 * MetaetlLineageTargetDataset
 *		The dataset name (etl.schema_versions.relation) of a target of
 *		another server: its connection's namespace and the table, as the
 *		run's lineage names it.  NULL when it cannot be named.  Needs SPI.
 */
char *
MetaetlLineageTargetDataset(const char *type, JsonbContainer *conf, const char *id)
{
	char	   *conn_type;
	Jsonb	   *conn_options;
	MetaetlDataset *d;

	if (!MetaetlLineageConnection(conf, &conn_type, &conn_options))
		return NULL;
	d = MetaetlLineageDataset(type, conn_type, conn_options ? &conn_options->root : NULL, conf, id);
	return d ? d->display : NULL;
}

typedef struct SinceArgs
{
	const char *dataset;
	const char *columns;
	char	   *out;
} SinceArgs;

static void
hooks_since(void *arg)
{
	SinceArgs  *a = arg;
	MetaetlPrivState st;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	char	   *v;

	values[0] = CStringGetTextDatum(a->dataset);
	values[1] = CStringGetTextDatum(a->columns);
	/* etl.schema_versions is metaetl's own table: read as the extension owner */
	MetaetlOwnerBegin(&st);
	SPI_connect();
	MetaetlSpiExec("SELECT etl._schema_since($1, $2::pg_catalog.jsonb)", 2, types, values, NULL, true, 1);
	v = SPI_processed == 1 ? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;
	SPI_finish();
	MetaetlOwnerEnd(&st);
	a->out = v;
}

/*
 * MetaetlLineageSchemaSince
 *		What a load's result changes against the latest snapshot schema
 *		history holds of dataset ("Since schema version 2 of public.t
 *		(run 7): column x added (text), ..."), or NULL without a snapshot
 *		or a change.  Never raises (a warning instead).
 */
char *
MetaetlLineageSchemaSince(const char *dataset, const char *columns_json)
{
	SinceArgs	a = {dataset, columns_json, NULL};
	MemoryContext cxt = CurrentMemoryContext;

	if (dataset == NULL || columns_json == NULL)
		return NULL;
	if (!hooks_guarded(hooks_since, &a, psprintf("could not read the schema history of %s", dataset)))
		return NULL;
	return a.out ? MemoryContextStrdup(cxt, a.out) : NULL;
}

/*
 * MetaetlLineageNoteSchemaChange
 *		A load applied (or, with applied false, refused) on_schema_change on
 *		dataset: noted with the current run's lineage, in this process (the
 *		load may roll back), and written into the run's drift by
 *		etl._schema_change_record when the run record is finished.  Ignored
 *		outside a run.
 */
void
MetaetlLineageNoteSchemaChange(const char *dataset, const char *target_id, const char *policy,
							   bool applied, const char *changes_json)
{
	MemoryContext old;

	if (pending_run <= 0 || pending_cxt == NULL || dataset == NULL)
		return;
	old = MemoryContextSwitchTo(pending_cxt);
	if (pending_schema == NULL)
		pending_schema = makeStringInfo();
	appendStringInfoString(pending_schema, pending_schema->len ? ", {\"dataset\": " : "{\"dataset\": ");
	escape_json(pending_schema, dataset);
	appendStringInfoString(pending_schema, ", \"target\": ");
	escape_json(pending_schema, target_id);
	appendStringInfoString(pending_schema, ", \"on_schema_change\": ");
	escape_json(pending_schema, policy);
	appendStringInfo(pending_schema, ", \"applied\": %s, \"changes\": %s}",
					 applied ? "true" : "false", changes_json ? changes_json : "[]");
	MemoryContextSwitchTo(old);
}

/* ---------------------------------------------------------------------
 * etl._relation_columns(relation text) returns jsonb
 * ---------------------------------------------------------------------
 */

/*
 * etl._relation_columns(relation text) returns jsonb
 *		The columns of a relation named schema.table, from the catalog:
 *		[{"name", "type", "not_null"}] in column order; NULL when there is
 *		no such relation.  Reads pg_class and pg_attribute only (no lock,
 *		no privilege needed, nothing of the relation evaluated), so schema
 *		snapshots may run as the extension owner.  An unqualified name is
 *		not looked up (search_path is not consulted).
 */
Datum
metaetl_relation_columns(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	List	   *parts;
	RangeVar   *rv;
	Oid			nsp;
	Oid			relid;
	HeapTuple	reltup;
	int			natts;
	StringInfoData b;
	bool		first = true;

	parts = stringToQualifiedNameList(name);
	if (list_length(parts) != 2)
		PG_RETURN_NULL();
	rv = makeRangeVarFromNameList(parts);
	nsp = get_namespace_oid(rv->schemaname, true);
	if (!OidIsValid(nsp))
		PG_RETURN_NULL();
	relid = get_relname_relid(rv->relname, nsp);
	if (!OidIsValid(relid))
		PG_RETURN_NULL();
	reltup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(reltup))
		PG_RETURN_NULL();
	natts = ((Form_pg_class) GETSTRUCT(reltup))->relnatts;
	ReleaseSysCache(reltup);

	initStringInfo(&b);
	appendStringInfoChar(&b, '[');
	for (int a = 1; a <= natts; a++)
	{
		HeapTuple	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(a));
		Form_pg_attribute att;

		if (!HeapTupleIsValid(tup))
			continue;
		att = (Form_pg_attribute) GETSTRUCT(tup);
		if (!att->attisdropped)
		{
			appendStringInfoString(&b, first ? "{\"name\": " : ", {\"name\": ");
			escape_json(&b, NameStr(att->attname));
			appendStringInfoString(&b, ", \"type\": ");
			escape_json(&b, format_type_with_typemod(att->atttypid, att->atttypmod));
			appendStringInfo(&b, ", \"not_null\": %s}", att->attnotnull ? "true" : "false");
			first = false;
		}
		ReleaseSysCache(tup);
	}
	appendStringInfoChar(&b, ']');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}
