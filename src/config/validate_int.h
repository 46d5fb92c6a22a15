/*-------------------------------------------------------------------------
 *
 * src/config/validate_int.h
 *		Internals shared by the validator's files: the walk's context, the
 *		data-flow graph nodes, and the checking helpers (cfgv_*).
 *
 * validate.c walks the pipeline (sources, targets, graph, environments),
 * validate_util.c holds the helpers (value checks, SQL and template checks,
 * database lookups), validate_steps.c the transform steps and their params,
 * validate_rules.c quality rules, sla, retry, schedule and alerts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_VALIDATE_INT_H
#define METAETL_VALIDATE_INT_H

#include "config/config.h"

typedef struct VDep
{
	char	   *name;
	char	   *path;
	const CfgNode *at;
	bool		maybe_relation; /* join right: a relation when no node has the name */
} VDep;

typedef struct VNode
{
	char	   *id;
	bool		is_source;
	char	   *path;
	const CfgNode *at;
	List	   *deps;			/* VDep * */
	int			state;			/* DFS: 0 new, 1 on stack, 2 done */
	bool		reaches;
	CfgNode    *out;			/* transforms: the normalised step */
	int			order;			/* transforms: position in the list */
	const char *incremental;	/* sources: why it reads only new rows, or NULL */
} VNode;

/* a target in mode replace, for the incremental-source warning */
typedef struct VReplace
{
	char	   *id;
	char	   *input;
	char	   *path;
	const CfgNode *at;
	bool		mode_given;
} VReplace;

typedef struct VCtx
{
	CfgValidation *v;
	CfgArena   *arena;
	List	   *nodes;			/* VNode *: sources and transforms */
	List	   *target_deps;	/* VDep *: inputs of targets */
	List	   *rule_refs;		/* VDep *: rule "on" */
	List	   *ids;			/* char *path of every id, parallel to id_names */
	List	   *id_names;
	const CfgNode *params;		/* declared pipeline params (input tree) */
	List	   *tpl_deps;		/* VDep *: {{input.ID}} seen by the last check */
	char	   *first_source;
	char	   *prev_node;
	List	   *replace_targets;	/* VReplace * */
	int			dropped;		/* problems beyond MAX_PROBLEMS, counted only */
} VCtx;

#define MAX_PROBLEMS 1000		/* rows kept; the rest are counted */
#define MAX_ITEMS 1000			/* sources, transforms, targets, rules */

#define lengthof_arr(a) ((int) (sizeof(a) / sizeof((a)[0])))

#define cfgv_error(c, path, at, ...) cfgv_problem(c, true, path, at, __VA_ARGS__)
#define cfgv_warn(c, path, at, ...) cfgv_problem(c, false, path, at, __VA_ARGS__)

/* in config/validate_util.c */
extern void cfgv_problem(VCtx *c, bool is_error, const char *path, const CfgNode *at, const char *fmt,...) pg_attribute_printf(5, 6);
extern CfgNode *cfgv_need(CfgNode *n);
extern CfgNode *cfgv_map(VCtx *c);
extern CfgNode *cfgv_seq(VCtx *c);
extern CfgNode *cfgv_str(VCtx *c, const char *s);
extern CfgNode *cfgv_num(VCtx *c, const char *s);
extern CfgNode *cfgv_bool(VCtx *c, bool b);
extern CfgNode *cfgv_null(VCtx *c);
extern void cfgv_put(VCtx *c, CfgNode *map, const char *key, CfgNode *value);
extern void cfgv_append(VCtx *c, CfgNode *seq, CfgNode *item);
extern char *cfgv_path(const char *base, const char *key);
extern char *cfgv_idx(const char *base, int i);
extern void cfgv_step_vocabulary(StringInfo b);
extern const char *cfgv_article(const char *word);
extern char *cfgv_list(const char *const *vals, int n);
extern char *cfgv_suggest(const char *word, const char *const *vals, int n);
extern bool cfgv_is_map(VCtx *c, const CfgNode *n, const char *path, const char *what);
extern void cfgv_keys(VCtx *c, const CfgNode *map, const char *path, const char *const *allowed, int nallowed, bool unknown_is_warning);
extern CfgNode *cfgv_get(VCtx *c, const CfgNode *map, const char *path, const char *key, bool required);
extern const char *cfgv_string(VCtx *c, const CfgNode *n, const char *path);
extern const char *cfgv_id(VCtx *c, const CfgNode *n, const char *path);
extern CfgNode *cfgv_number(VCtx *c, const CfgNode *n, const char *path, double min, double max, bool integer);
extern CfgNode *cfgv_boolean(VCtx *c, const CfgNode *n, const char *path);
extern const char *cfgv_enum(VCtx *c, const CfgNode *n, const char *path, const char *what, const char *const *vals, int nvals);
extern CfgNode *cfgv_strlist(VCtx *c, const CfgNode *n, const char *path, bool nonempty);
extern bool cfgv_relname(VCtx *c, const CfgNode *n, const char *path);
extern const char *cfgv_colname(VCtx *c, const CfgNode *n, const char *path);
extern char *cfgv_templates(VCtx *c, const char *sql, const char *path, const CfgNode *at, bool allow_input);
extern CfgNode *cfgv_expr(VCtx *c, const CfgNode *n, const char *path);
extern CfgNode *cfgv_order(VCtx *c, const CfgNode *n, const char *path);
extern CfgNode *cfgv_query(VCtx *c, const CfgNode *n, const char *path, bool allow_input);
extern CfgNode *cfgv_type(VCtx *c, const CfgNode *n, const char *path);
extern bool cfgv_exists(const char *query, const char *value);
extern void cfgv_connection(VCtx *c, const CfgNode *n, const char *path, bool source);
extern bool cfgv_timezone(VCtx *c, const CfgNode *n, const char *path);

/* in config/validate_steps.c */
extern CfgNode *cfgv_transform(VCtx *c, const CfgNode *t, const char *path);

/* in config/validate_catalog.c */
extern void cfgv_catalog(VCtx *c, const CfgNode *pipeline, CfgNode *normalized);

/* in config/validate_rules.c */
extern CfgNode *cfgv_quality(VCtx *c, const CfgNode *q, const char *path);
extern CfgNode *cfgv_sla(VCtx *c, const CfgNode *s, const char *path);
extern CfgNode *cfgv_retry(VCtx *c, const CfgNode *r, const char *path);
extern CfgNode *cfgv_schedule(VCtx *c, const CfgNode *s, const char *path);
extern CfgNode *cfgv_alerts(VCtx *c, const CfgNode *a, const char *path);

/* in config/validate_conn.c */
struct MetaetlConnKey;
struct MetaetlConnector;
extern void cfgv_connector_keys(VCtx *c, const CfgNode *map, const char *path,
								const struct MetaetlConnKey *keys, const char *const *common,
								int ncommon, CfgNode *out, const char *what);
extern void cfgv_connector_check(VCtx *c, const struct MetaetlConnector *conn, const CfgNode *map,
								 const char *path, const char *type, bool is_source);
extern const struct MetaetlConnector *cfgv_connector_type(VCtx *c, const CfgNode *n, const char *path,
														  bool is_source);

/* in incremental/validate.c */
extern CfgNode *cfgv_incremental(VCtx *c, const CfgNode *s, const CfgNode *inc, const char *path);
extern void cfgv_merge_target(VCtx *c, const CfgNode *t, const char *path, const char *mode,
							  const CfgNode *keys, CfgNode *out);

/* in config/validate.c */
extern VDep *cfgv_dep(const char *name, const char *path, const CfgNode *at);
extern bool cfgv_register_id(VCtx *c, const char *id, const char *path, const CfgNode *at);

#endif							/* METAETL_VALIDATE_INT_H */
