/*-------------------------------------------------------------------------
 *
 * src/connectors/table_load.h
 *		Loading a node's rows into a table of this database, in every mode,
 *		and the on_schema_change rule every table target applies.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_TABLE_LOAD_H
#define METAETL_TABLE_LOAD_H

#include "transform/plan.h"

/*
 * How an existing table's columns differ from a load's result, for
 * on_schema_change (table_load.c; the remote connectors use it too, so that every
 * target applies one rule).  Lists of MetaetlColumn.
 */
typedef struct MetaetlSchemaDiff
{
	List	   *add;			/* result columns the table lacks */
	List	   *retype;			/* result columns whose values the table would change */
	List	   *retype_from;	/* ... and the table's columns of those names */
	List	   *drop;			/* table columns the result lacks */
	char	   *table_cols;		/* "a integer, b text", for errors */
	char	   *result_json;	/* [{name, type}] of the result, for schema history */
	char	   *changes_json;	/* [{change, column, ...}]: what the policy acts on */
} MetaetlSchemaDiff;

/* in connectors/table_load.c */
extern const char *const MetaetlSchemaPolicies[];	/* on_schema_change values, NULL-terminated */
extern bool MetaetlTypeKept(MetaetlColumn *rc, MetaetlColumn *tc);
extern const char *MetaetlSchemaPolicy(MetaetlTarget *tgt);
extern bool MetaetlSchemaCompare(List *cols, List *tcols, bool scd2, const char *policy,
								 MetaetlSchemaDiff *d);
extern void MetaetlSchemaMismatch(MetaetlTarget *tgt, const char *table, const char *dataset,
								  const char *policy, const MetaetlSchemaDiff *d) pg_attribute_noreturn();
extern int64 MetaetlLoadTable(MetaetlPlan *plan, MetaetlTarget *tgt, const char *with_prefix,
							  const char *ref, List *cols);

#endif							/* METAETL_TABLE_LOAD_H */
