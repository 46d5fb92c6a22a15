/*-------------------------------------------------------------------------
 *
 * src/lineage/lineage.h
 *		Column-level lineage, schema history and OpenLineage events.
 *
 * Lineage is read from the query tree PostgreSQL's analyzer and rewriter
 * build for the SQL a pipeline's compiled plan executes (analyze.c): every
 * output column of every target is followed through CTEs, subqueries,
 * joins, set operations, aggregates, window functions and views (the
 * rewriter expands them) down to the relations and external datasets it
 * comes from.  Nothing is executed: the analysis reads catalogs only.
 *
 * Datasets are named the OpenLineage way (dataset.c): a namespace (the
 * data source: postgres://host:port, file, s3://bucket, ...) and a name
 * unique within it.  A relation of this database is
 * postgres://<host>:<port> / <database>.<schema>.<table>; everything a
 * connector reads from elsewhere is named by MetaetlLineageDataset() from
 * the source's type, its connection's type and options and its config, so
 * a connector never names datasets itself: a new source type gets its
 * naming rule in that one function.
 *
 * A run records its lineage after the plan is compiled
 * (MetaetlLineageRecordRun, called from src/transform/run.c) and writes it,
 * with the schema snapshots, drift and the OpenLineage event, when the run
 * record is finished (MetaetlLineageRunFinished, from
 * src/orchestrator/records.c).  None of it can fail a run: errors become
 * warnings.  A load that applies or refuses on_schema_change notes it
 * (MetaetlLineageNoteSchemaChange); the note is kept with the run's lineage
 * and written to the run's drift with it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_LINEAGE_H
#define METAETL_LINEAGE_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

/*
 * The compiled plan (src/transform/transform.h), by its tag: this header is
 * included by the orchestrator, whose MetaetlRunPlan type clashes with
 * transform.h's function of that name.
 */
struct MetaetlPlan;

/*
 * How a value reaches a target column.  DIRECT becomes "identity" (same
 * column name) or "rename"; the larger class wins when a value passes
 * several steps (an aggregate of an expression is an aggregate).
 */
typedef enum MetaetlLineageClass
{
	METAETL_LINEAGE_DIRECT = 0,
	METAETL_LINEAGE_EXPRESSION = 1,
	METAETL_LINEAGE_AGGREGATE = 2
} MetaetlLineageClass;

/* A dataset, as OpenLineage names it, and as etl.lineage() shows it. */
typedef struct MetaetlDataset
{
	char	   *namespace;		/* postgres://host:port, file, s3://bucket, ... */
	char	   *name;			/* db.schema.table, /path/file.csv, key, ... */
	char	   *display;		/* schema.table here, namespace/name elsewhere */
	Oid			relid;			/* a relation of this database, or InvalidOid */
	bool		local;			/* in this database (namespace may be overridden) */
} MetaetlDataset;

/* in lineage/dataset.c */
extern char *MetaetlLineageLocalNamespace(void);
extern MetaetlDataset *MetaetlLineageRelation(Oid relid);
extern MetaetlDataset *MetaetlLineageLocalName(const char *schema, const char *relname);
extern MetaetlDataset *MetaetlLineageDataset(const char *type, const char *conn_type,
											 JsonbContainer *conn_options,
											 JsonbContainer *conf, const char *id);
extern bool MetaetlLineageConnection(JsonbContainer *conf, char **conn_type,
									 Jsonb **conn_options);

/* in lineage/analyze.c */
extern char *MetaetlLineagePlanJson(struct MetaetlPlan *plan);

/* in lineage/hooks.c */
extern void MetaetlLineageRecordRun(struct MetaetlPlan *plan, int64 run_id);
extern void MetaetlLineageRunStarted(int64 run_id);
extern void MetaetlLineageRunFinished(int64 run_id, const char *status);
extern void MetaetlLineageStore(const char *pipeline_id, int version, const char *json);

/*
 * Schema history for on_schema_change (connectors/table_load.c and the remote
 * targets): the name schema history gives a target's table, what changed
 * since the snapshot the last run stored of it, and a note of a schema
 * change a load applied or refused, recorded in the run's drift (and
 * alerted) when its record is finished.  Column lists are JSON text
 * [{"name", "type"}]; changes [{"change", "column", ...}] as
 * etl._schema_diff classifies them.
 */
extern char *MetaetlLineageTableName(const char *qualified);
extern char *MetaetlLineageTargetDataset(const char *type, JsonbContainer *conf, const char *id);
extern char *MetaetlLineageSchemaSince(const char *dataset, const char *columns_json);
extern void MetaetlLineageNoteSchemaChange(const char *dataset, const char *target_id,
										   const char *policy, bool applied,
										   const char *changes_json);

#endif							/* METAETL_LINEAGE_H */
