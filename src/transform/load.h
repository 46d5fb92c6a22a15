/*-------------------------------------------------------------------------
 *
 * src/transform/load.h
 *		Loading a node's rows into a table of this database, in every mode.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_LOAD_H
#define METAETL_LOAD_H

#include "transform/transform.h"

/* in transform/load.c */
extern int64 MetaetlLoadTable(MetaetlPlan *plan, MetaetlTarget *tgt, const char *with_prefix,
							  const char *ref, List *cols);

#endif							/* METAETL_LOAD_H */
