/*-------------------------------------------------------------------------
 *
 * src/connectors/connector.h
 *		One interface for every source and target type: describe / extract / load.
 *
 * A connector turns a source config into a SELECT the compiler can read
 * (extract, possibly materialising a temp table first, e.g. COPY from a
 * file), reports what it needs for display (describe) and writes a node's
 * rows to a target (load).  Local connectors (this database, inline rows,
 * server-side files) live in local.c and file.c; FDW, HTTP and cloud ones
 * will implement the same struct.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_CONNECTOR_H
#define METAETL_CONNECTOR_H

#include "transform/transform.h"

typedef struct MetaetlConnector
{
	const char *const *types;	/* NULL-terminated type names handled */
	/* a one-line description for compile output */
	char	   *(*describe) (MetaetlPlan *plan, MetaetlNode *src);
	/* SELECT text producing the source's rows (may materialise first) */
	char	   *(*extract) (MetaetlPlan *plan, MetaetlNode *src);
	/* write the rows of "query" (WITH prefix + reference) to the target */
	int64		(*load) (MetaetlPlan *plan, MetaetlTarget *tgt, const char *with_prefix,
						 const char *ref, List *cols);
} MetaetlConnector;

/* in connectors/local.c */
extern const MetaetlConnector MetaetlLocalConnector;
extern const MetaetlConnector MetaetlInlineConnector;
extern void MetaetlCheckConnection(JsonbContainer *conf, bool is_source, const char *id);

/* in connectors/file.c */
extern const MetaetlConnector MetaetlFileConnector;

extern const MetaetlConnector *MetaetlFindConnector(const char *type, bool is_source,
													const char *id);

#endif							/* METAETL_CONNECTOR_H */
