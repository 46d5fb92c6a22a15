/*-------------------------------------------------------------------------
 *
 * src/transform/transform.h
 *		Internals of the transform compiler: plan nodes, columns, steps.
 *
 * A normalised pipeline config (CONTRACT.md section 1) becomes a MetaetlPlan:
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

#include "util/json.h"

typedef enum MetaetlEngine
{
	METAETL_ENGINE_AUTO,
	METAETL_ENGINE_PUSHDOWN,
	METAETL_ENGINE_STAGED,
	METAETL_ENGINE_PARALLEL
} MetaetlEngine;

typedef struct MetaetlColumn
{
	char	   *name;
	char	   *type;			/* format_type_with_typemod() text */
	Oid			typid;
	int32		typmod;
} MetaetlColumn;

typedef struct MetaetlNode
{
	char	   *id;
	char	   *type;			/* source or step type */
	bool		is_source;
	JsonbContainer *conf;		/* the source / transform object */
	JsonbContainer *params;		/* transform params (NULL for sources) */
	char	   *input;			/* input node id (transforms) */
	char	   *body;			/* the SELECT producing this node */
	char	   *prelude;		/* SQL run before (file sources), for display */
	char	   *temp;			/* materialised temp table, or NULL */
	bool		materialize;	/* requested to be a temp table */
	List	   *cols;			/* MetaetlColumn * */
	int			consumers;
	double		est_rows;
	int64		rows;			/* -1 = not counted */
	double		ms;
	char	   *incr_state;		/* incremental/watermark.c: the snapshot an
								 * xmin or CDC source was read up to */
} MetaetlNode;

typedef struct MetaetlTarget
{
	char	   *id;
	char	   *type;
	JsonbContainer *conf;
	char	   *input;
	char	   *mode;
	int64		rows;
	double		ms;
	char	   *table_display;
	char	   *details;		/* more "key": value pairs for the run summary's
								 * entries of this target (and step_runs.details),
								 * or NULL: the HTTP target's batches */
} MetaetlTarget;

typedef struct MetaetlPlan
{
	char	   *pipeline_id;
	Oid			owner;			/* role that must be able to run udfs */
	MetaetlEngine engine;
	char	   *engine_reason;
	Jsonb	   *render_ctx;		/* template context, may be NULL */
	List	   *nodes;			/* MetaetlNode * in config order */
	List	   *targets;		/* MetaetlTarget * */
	bool		describe_only;	/* compile without running loads */
	StringInfo	script;			/* every statement, for display */
	List	   *par_tables;		/* parallel workers' result tables */
	bool		xact_had_writes;	/* the caller wrote before the run began */
	bool		defer_materialize;	/* parallel: materialise after the split */
	int			tempno;
	int64		run_id;			/* the orchestrator's run (options.run_id), or 0 */
	const struct MetaetlRunHooks *hooks;	/* the caller's, while it runs */
} MetaetlPlan;

/* in transform/expr.c */
extern char *MetaetlNormaliseExpr(const char *expr);
extern char *MetaetlCheckExpr(MetaetlNode *node, const char *param, const char *expr,
							  List *cols, bool allow_window_fn);
extern char *MetaetlCheckWindowCall(MetaetlNode *node, const char *name, const char *expr,
									List *cols);
extern void MetaetlCheckSelect(MetaetlNode *node, const char *sql);
extern MetaetlColumn *MetaetlFindColumn(MetaetlNode *node, List *cols, const char *name,
										const char *param);
extern char *MetaetlSortSpec(MetaetlNode *node, const char *param, const char *spec,
							 List *cols);
extern char *MetaetlTypeName(MetaetlNode *node, const char *type);

/* in transform/steps.c */
extern char *MetaetlCompileStep(MetaetlPlan *plan, MetaetlNode *node);
extern const char *const *MetaetlAggFunctionNames(int *n);
extern bool MetaetlAggFunctionKnown(const char *fn);

/* in transform/stepctx.c */
extern char *MetaetlStepWrap(MetaetlNode *node, const char *param, const char *expr,
							 const char *anchor);

/* in transform/compile.c */
extern MetaetlPlan *MetaetlBuildPlan(Jsonb *config, const char *engine_override,
									 List *materialize);
extern MetaetlNode *MetaetlFindNode(MetaetlPlan *plan, const char *id, bool missing_ok);
extern char *MetaetlNodeRef(MetaetlPlan *plan, MetaetlNode *node);
extern char *MetaetlWithPrefix(MetaetlPlan *plan, MetaetlNode *upto);
extern char *MetaetlNodeQuery(MetaetlPlan *plan, MetaetlNode *node);
extern List *MetaetlDescribe(const char *sql);
extern void MetaetlCompileNodes(MetaetlPlan *plan);
extern void MetaetlMaterializeNode(MetaetlPlan *plan, MetaetlNode *n, const char *what);
extern char *MetaetlPlanSql(MetaetlPlan *plan);
extern void MetaetlScript(MetaetlPlan *plan, const char *sql);
extern char *MetaetlColList(List *cols, const char *prefix);
extern char *MetaetlNewTemp(MetaetlPlan *plan, const char *what);
extern uint64 MetaetlExec(const char *sql, int expect);
extern char *MetaetlQualifiedName(const char *name, const char *what);

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
