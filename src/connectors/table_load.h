/*-------------------------------------------------------------------------
 *
 * src/connectors/table_load.h
 *		Loading a node's rows into a table of this database, in every mode.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_TABLE_LOAD_H
#define METAETL_TABLE_LOAD_H

#include "transform/plan.h"

/* in connectors/table_load.c */
extern int64 MetaetlLoadTable(MetaetlPlan *plan, MetaetlTarget *tgt, const char *with_prefix,
							  const char *ref, List *cols);

#endif							/* METAETL_TABLE_LOAD_H */
