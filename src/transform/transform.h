/*-------------------------------------------------------------------------
 *
 * src/transform/transform.h
 *		The transform subsystem: building, compiling and running a plan.
 *
 * A normalised pipeline config (docs/configuration.md, "The normalised form") becomes a MetaetlPlan:
 * an ordered list of nodes (sources, then transforms) and targets.  Each node
 * compiles to one SELECT that reads earlier nodes by reference; a reference
 * is a CTE name (pushdown) or a temporary table (staged, or a node asked to
 * be materialised).  Column lists are discovered by letting PostgreSQL
 * describe each node, so every step validates its params against its input.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_TRANSFORM_H
#define METAETL_TRANSFORM_H

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "transform/plan.h"

/* in transform/expr.c (the checks connectors use are in plan.h) */
extern char *MetaetlNormaliseExpr(const char *expr);
extern char *MetaetlCheckExpr(MetaetlNode *node, const char *param, const char *expr,
							  List *cols, bool allow_window_fn);
extern char *MetaetlCheckWindowCall(MetaetlNode *node, const char *name, const char *expr,
									List *cols);
extern char *MetaetlSortSpec(MetaetlNode *node, const char *param, const char *spec,
							 List *cols);

/* in transform/steps.c */
extern char *MetaetlCompileStep(MetaetlPlan *plan, MetaetlNode *node);
extern const char *const *MetaetlAggFunctionNames(int *n);
extern bool MetaetlAggFunctionKnown(const char *fn);

/* in transform/stepctx.c */
extern char *MetaetlStepWrap(MetaetlNode *node, const char *param, const char *expr,
							 const char *anchor);

/* in transform/plan.c */
extern MetaetlPlan *MetaetlBuildPlan(Jsonb *config, const char *engine_override,
									 List *materialize);
extern MetaetlNode *MetaetlFindNode(MetaetlPlan *plan, const char *id, bool missing_ok);
extern void MetaetlNodeErrorContext(void *arg);

/* in transform/compile.c */
extern char *MetaetlNodeRef(MetaetlPlan *plan, MetaetlNode *node);
extern char *MetaetlWithPrefix(MetaetlPlan *plan, MetaetlNode *upto);
extern char *MetaetlNodeQuery(MetaetlPlan *plan, MetaetlNode *node);
extern void MetaetlCompileNodes(MetaetlPlan *plan);
extern void MetaetlMaterializeNode(MetaetlPlan *plan, MetaetlNode *n, const char *what);
extern char *MetaetlPlanSql(MetaetlPlan *plan);

/*
 * The columns of source node src that the pipeline can read, by name, or
 * NIL when it may read any of them (then every column is extracted).  Worked
 * out from the config alone, before anything is compiled, and only where it
 * is certain: the source's consumers are select, drop, filter and limit
 * steps (their columns and the column references of their conditions,
 * through the steps that pass columns on), and nothing else reads it
 * whole — a target, a quality rule or options.materialize, a join, union or
 * sql step naming it, an incremental or split_key source all mean every
 * column.  Formats that can skip columns (parquet) decode only these.
 */

/* in transform/engine.c */
extern MetaetlEngine MetaetlParseEngine(const char *name, bool notice);
extern const char *MetaetlEngineName(MetaetlEngine e);
extern void MetaetlChooseEngine(MetaetlPlan *plan);
extern int	MetaetlEngineGucSave(MetaetlPlan *plan);
extern void MetaetlEngineGucRestore(int level);

/* in transform/parallel.c */
extern bool MetaetlParallelSplit(MetaetlPlan *plan);
extern void MetaetlParallelCleanup(MetaetlPlan *plan);

/*
 * What the caller of a plan (the orchestrator) hooks into its run, without
 * the transform subsystem knowing about quality gates or watermarks.
 */
typedef struct MetaetlRunHooks
{
	/*
	 * After the nodes are materialised, before any target loads; may raise
	 * (a failed quality gate).  Returns JSON text for the summary's
	 * "before_load" key, or NULL.
	 */
	char	   *(*before_load) (MetaetlPlan *plan, void *arg);
	void	   *arg;

	/*
	 * As the run goes: phase (extract, transform, quality, load) and step
	 * (a node or target id) begin, or finish (done) with rows (-1: not
	 * counted) in ms.  seq is the step's place: nodes in config order, then
	 * targets, from 1 (0: the quality gate).  Must not raise.
	 */
	void		(*progress) (MetaetlPlan *plan, const char *phase, const char *kind,
							 const char *step, int seq, int64 rows, double ms, bool done);
} MetaetlRunHooks;

/* in transform/run.c */
extern Jsonb *MetaetlPlanRun(MetaetlPlan *plan, const MetaetlRunHooks *hooks);
extern Jsonb *MetaetlExecutePlan(Jsonb *config, Jsonb *params, Jsonb *context, List *materialize,
								 const char *engine, const MetaetlRunHooks *hooks);
extern char *MetaetlMaterializedNodes(MetaetlPlan *plan);
extern void MetaetlPlanProgress(MetaetlPlan *plan, const char *phase, const char *kind,
								const char *step, int seq, int64 rows, double ms, bool done);

#endif							/* METAETL_TRANSFORM_H */
