/*-------------------------------------------------------------------------
 *
 * src/incremental/incremental.h
 *		Incremental loads and change data capture: what the connectors, the
 *		loader, the orchestrator and the validator call.
 *
 * A source with incremental: {mode: ...} reads only what changed since the
 * position its pipeline stored (etl.incremental_positions).  The
 * orchestrator passes the stored positions in the run's template context
 * ("incremental": {source_id: position}); the connector wraps its SELECT
 * with MetaetlIncrementalExtract; the run's before-load hook calls
 * MetaetlIncrementalAdvance, which stores the new positions in the same
 * transaction as the target loads.  Target mode merge_changes applies the
 * rows (and the deletes of CDC sources) with MERGE.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_INCREMENTAL_H
#define METAETL_INCREMENTAL_H

#include "transform/plan.h"

/* columns a CDC source adds to the table's own: the operation and commit order */
#define METAETL_CDC_OP_COLUMN	"etl_op"
#define METAETL_CDC_SEQ_COLUMN	"etl_seq"

/*
 * A log CDC source on a remote PostgreSQL server (incremental/remote_slot.c):
 * the connection, the remote table, and an empty local table of its columns
 * (the row type decoded changes are read into).
 */
struct RemoteConn;
typedef struct MetaetlRemoteRead
{
	struct RemoteConn *rc;
	char	   *schema;			/* the remote table */
	char	   *table;
	List	   *rcols;			/* its RemoteColumns */
	char	   *shape;			/* pg_temp table of its columns, empty */
} MetaetlRemoteRead;

/* in incremental/watermark.c */
extern char *MetaetlIncrementalExtract(MetaetlPlan *plan, MetaetlNode *src, const char *base,
									   const char *qrel, const MetaetlRemoteRead *remote);
extern List *MetaetlIncrementalAdvance(MetaetlPlan *plan, const char *pipeline_id, int64 run_id);

/* in incremental/capture.c */
extern char *MetaetlChangeTable(Oid relid);
extern void MetaetlPurgeChanges(Oid relid);

/* in incremental/slot.c */
extern int	metaetl_log_cdc_decoding_memory;
extern void MetaetlSlotInit(void);
extern void MetaetlClaimSlot(const char *slot, const char *pipeline_id, const char *source_id);
extern void MetaetlSlotCheckOurs(const char *what, const char *slot, const char *pipeline_id,
								 const char *source_id, const char *conn);
extern char *MetaetlW2jTableName(const char *schema, const char *rel);

/* in incremental/remote_slot.c */
extern char *MetaetlIncrementalExtractRemote(MetaetlPlan *plan, MetaetlNode *src, struct RemoteConn *rc);
extern char *MetaetlRemoteSlotRead(MetaetlPlan *plan, MetaetlNode *src, const MetaetlRemoteRead *remote,
								   const char *slot, JsonbContainer *pos, bool plain);

/* in incremental/merge.c */
extern int64 MetaetlLoadMergeChanges(MetaetlPlan *plan, MetaetlTarget *tgt, const char *prefix,
									 const char *ref, List *cols);
extern int64 MetaetlLoadTouchedGroups(MetaetlPlan *plan, MetaetlTarget *tgt, const char *prefix,
									  const char *ref, List *cols, const char *qtable);

#endif							/* METAETL_INCREMENTAL_H */
