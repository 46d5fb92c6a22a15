/*-------------------------------------------------------------------------
 *
 * src/transform/plan.h
 *		A plan's data (nodes, columns, targets) and the SQL helpers that
 *		compile a node: the part of transform that connectors build on.
 *
 * Connectors include this header, not transform.h: it declares nothing
 * that calls a connector (transform/sql.c and the checks of transform/expr.c
 * below reach no connector), so the dependency goes one way — transform
 * asks the connector registry for a family and calls its extract and load;
 * those build their SQL with the helpers here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_TRANSFORM_PLAN_H
#define METAETL_TRANSFORM_PLAN_H

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

/* in transform/sql.c */
extern uint64 MetaetlExec(const char *sql, int expect);
extern char *MetaetlNewTemp(MetaetlPlan *plan, const char *what);
extern char *MetaetlQualifiedName(const char *name, const char *what);
extern char *MetaetlColList(List *cols, const char *prefix);
extern List *MetaetlDescribe(const char *sql);
extern void MetaetlScript(MetaetlPlan *plan, const char *sql);

/* in transform/expr.c: checks a connector applies to what a user wrote */
extern void MetaetlCheckSelect(MetaetlNode *node, const char *sql);
extern MetaetlColumn *MetaetlFindColumn(MetaetlNode *node, List *cols, const char *name,
										const char *param);
extern char *MetaetlTypeName(MetaetlNode *node, const char *type);

/* in transform/columns.c: the columns of a source its consumers read (NIL: all) */
extern List *MetaetlUsedColumns(MetaetlPlan *plan, MetaetlNode *src);

#endif							/* METAETL_TRANSFORM_PLAN_H */
