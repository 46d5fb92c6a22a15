/*-------------------------------------------------------------------------
 *
 * src/transform/steps.c
 *		One SELECT per transform type, with its params checked against the
 *		input's columns.
 *
 * Param names are those of docs/transforms.md, "Steps".  Every name goes through
 * quote_identifier, every value through quote_literal, every expression
 * through expr.c's parser check; nothing from the config is pasted raw.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "transform/transform.h"
#include "util/ident.h"

#define PIVOT_MAX_VALUES 200

typedef struct StepCtx
{
	MetaetlPlan *plan;
	MetaetlNode *node;
	MetaetlNode *in;
	char	   *ref;
	List	   *cols;
} StepCtx;

/*
 * A step's params are wrong: 22023 naming the step, its type and the
 * config path, so the user finds the line to fix without reading SQL.
 */
static void
step_error(MetaetlNode *node, const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("step \"%s\" (%s): %s", node->id, node->type, msg),
			 errdetail("Config path: transforms, id \"%s\", params.", node->id),
			 hint ? errhint("%s", hint) : 0));
}

static char *
req_str(StepCtx *s, const char *key)
{
	char	   *v = MetaetlJStr(s->node->params, key);

	if (v == NULL || v[0] == '\0')
		step_error(s->node, psprintf("param \"%s\" is required", key), NULL);
	return v;
}

static bool
has_col(List *cols, const char *name)
{
	ListCell   *lc;

	foreach(lc, cols)
		if (strcmp(((MetaetlColumn *) lfirst(lc))->name, name) == 0)
			return true;
	return false;
}

static int
list_member_index_str(List *l, const char *s)
{
	ListCell   *lc;

	foreach(lc, l)
		if (strcmp(lfirst(lc), s) == 0)
			return foreach_current_index(lc);
	return -1;
}

static char *
qi(const char *name)
{
	return pstrdup(quote_identifier(name));
}

/*
 * qo
 *		An output column name from the config, quoted: at most 63 bytes, since
 *		PostgreSQL would truncate a longer one (and two long names could then
 *		become one column).
 */
static char *
qo(StepCtx *s, const char *name, const char *param)
{
	if (strlen(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("step \"%s\" (%s): output column name \"%.20s...\" is %zu bytes long",
						s->node->id, s->node->type, name, strlen(name)),
				 errdetail("Config path: transforms, id \"%s\", %s.", s->node->id, param),
				 errhint("PostgreSQL truncates names to %d bytes; choose a shorter name.", NAMEDATALEN - 1)));
	return qi(name);
}

/*
 * wrap
 *		expr as evaluated per row by this step: an error while it is evaluated
 *		names the step and param (stepctx.c), under every engine.
 */
static char *
wrap(StepCtx *s, const char *param, const char *expr)
{
	/*
	 * Not when only describing (compile_pipeline, lineage, the catalog check
	 * of registration): nothing is evaluated, and the anchor column would
	 * read to lineage as an input of every wrapped expression.
	 */
	if (s->cols == NIL || s->plan->describe_only)
		return (char *) expr;
	return MetaetlStepWrap(s->node, param, expr, qi(((MetaetlColumn *) linitial(s->cols))->name));
}

/* a wrapped value's type is its base type without typmod: restore the exact one */
static char *
exact_type(const char *val, MetaetlColumn *c)
{
	if (c->typmod >= 0 || get_typtype(c->typid) == TYPTYPE_DOMAIN)
		return psprintf("CAST(%s AS %s)", val, c->type);
	return (char *) val;
}

/*
 * filter: WHERE condition.  The condition is checked (MetaetlCheckExpr)
 * against the input's real columns, so a typo is a compile-time error
 * naming params.condition rather than a SQL error at run time.
 */
static char *
step_filter(StepCtx *s)
{
	char	   *cond = MetaetlCheckExpr(s->node, "params.condition", req_str(s, "condition"), s->cols, false);

	return psprintf("SELECT * FROM %s WHERE %s", s->ref, cond);
}

/*
 * map: rename (mapping), derive (columns) and cast (casts) in one SELECT,
 * keeping every input column in its place.  Expressions and casts run
 * wrapped (stepctx.c) so that a bad value met at run time names this step
 * and the param; the exact output types come from the unwrapped query,
 * because a wrapped value loses its typmod and domain.
 */
static char *
step_map(StepCtx *s)
{
	JsonbContainer *mapping = MetaetlJObj(s->node->params, "mapping");
	JsonbContainer *exprs = MetaetlJObj(s->node->params, "columns");
	JsonbContainer *casts = MetaetlJObj(s->node->params, "casts");
	char	  **mk,
			  **ek,
			  **ck;
	JsonbValue **mv,
			  **ev,
			  **cv;
	int			nm = MetaetlJObjEntries(mapping, &mk, &mv);
	int			ne = MetaetlJObjEntries(exprs, &ek, &ev);
	int			nc = MetaetlJObjEntries(casts, &ck, &cv);
	List	   *outnames = NIL;
	List	   *plain = NIL;	/* each output's SQL, unwrapped */
	List	   *wrapped = NIL;	/* each output's SQL as run; NULL: as plain */
	StringInfoData b;
	ListCell   *lc,
			   *lc2,
			   *lc3;
	bool	   *used_e = palloc0(sizeof(bool) * (ne + 1));
	bool	   *used_c = palloc0(sizeof(bool) * (nc + 1));
	List	   *types;
	char	   *prefix = s->in->temp ? "" : MetaetlWithPrefix(s->plan, s->in);

	if (nm + ne + nc == 0)
		step_error(s->node, "needs mapping, columns or casts", "Rename with mapping: {old: new}, derive with columns: {name: expr}, cast with casts: {col: type}.");
	for (int i = 0; i < nm; i++)
	{
		MetaetlFindColumn(s->node, s->cols, mk[i], psprintf("params.mapping.%s", mk[i]));
		if (mv[i]->type != jbvString)
			step_error(s->node, psprintf("mapping of \"%s\" must be a column name", mk[i]), NULL);
	}
	/*
	 * Each output: a column, renamed or not; a columns: expression; then its
	 * cast.  Expressions and casts run wrapped (wrap()), so an invalid value
	 * met at run time names this step and the param.
	 */
	foreach(lc, s->cols)
	{
		MetaetlColumn *c = lfirst(lc);
		char	   *out = c->name;
		char	   *val = qi(c->name);
		char	   *run = NULL;

		for (int i = 0; i < nm; i++)
			if (strcmp(mk[i], c->name) == 0)
				out = MetaetlJValueText(mv[i]);
		for (int i = 0; i < ne; i++)
			if (strcmp(ek[i], out) == 0)
			{
				char	   *p = psprintf("params.columns.%s", ek[i]);

				val = MetaetlCheckExpr(s->node, p, MetaetlJValueText(ev[i]), s->cols, false);
				run = wrap(s, p, val);
				used_e[i] = true;
			}
		for (int i = 0; i < nc; i++)
			if (strcmp(ck[i], out) == 0)
			{
				char	   *t = MetaetlTypeName(s->node, MetaetlJValueText(cv[i]));

				run = psprintf("CAST(%s AS %s)", wrap(s, psprintf("params.casts.%s", ck[i]),
													  psprintf("CAST(%s AS %s)", run ? run : val, t)), t);
				val = psprintf("CAST(%s AS %s)", val, t);
				used_c[i] = true;
			}
		plain = lappend(plain, psprintf("%s AS %s", val,
										out == c->name ? qi(out) : qo(s, out, psprintf("params.mapping.%s", c->name))));
		wrapped = lappend(wrapped, run);
		outnames = lappend(outnames, out);
	}
	for (int i = 0; i < ne; i++)
	{
		char	   *val;
		char	   *run;
		char	   *p = psprintf("params.columns.%s", ek[i]);

		if (used_e[i])
			continue;
		val = MetaetlCheckExpr(s->node, p, MetaetlJValueText(ev[i]), s->cols, false);
		run = wrap(s, p, val);
		for (int j = 0; j < nc; j++)
			if (strcmp(ck[j], ek[i]) == 0)
			{
				char	   *t = MetaetlTypeName(s->node, MetaetlJValueText(cv[j]));

				run = psprintf("CAST(%s AS %s)", wrap(s, psprintf("params.casts.%s", ck[j]),
													  psprintf("CAST(%s AS %s)", run, t)), t);
				val = psprintf("CAST(%s AS %s)", val, t);
				used_c[j] = true;
			}
		plain = lappend(plain, psprintf("%s AS %s", val, qo(s, ek[i], p)));
		wrapped = lappend(wrapped, run);
		outnames = lappend(outnames, ek[i]);
	}
	for (int i = 0; i < nc; i++)
		if (!used_c[i])
		{
			List	   *outcols = NIL;

			foreach(lc, outnames)
			{
				MetaetlColumn *c = palloc0(sizeof(MetaetlColumn));

				c->name = lfirst(lc);
				outcols = lappend(outcols, c);
			}
			MetaetlFindColumn(s->node, outcols, ck[i], psprintf("params.casts.%s", ck[i]));
		}

	/* the outputs' exact types (typmods, domains), from the unwrapped query */
	initStringInfo(&b);
	appendStringInfoString(&b, "SELECT ");
	foreach(lc, plain)
		appendStringInfo(&b, "%s%s", foreach_current_index(lc) ? ", " : "", (char *) lfirst(lc));
	appendStringInfo(&b, " FROM %s", s->ref);
	types = MetaetlDescribe(psprintf("%sSELECT * FROM (%s) metaetl_m LIMIT 0", prefix, b.data));

	initStringInfo(&b);
	appendStringInfoString(&b, "SELECT ");
	forthree(lc, wrapped, lc2, types, lc3, plain)
	{
		char	   *run = lfirst(lc);
		MetaetlColumn *c = lfirst(lc2);

		if (foreach_current_index(lc))
			appendStringInfoString(&b, ", ");
		if (run)
			appendStringInfo(&b, "%s AS %s", exact_type(run, c), qi(c->name));
		else
			appendStringInfoString(&b, (char *) lfirst(lc3));
	}
	appendStringInfo(&b, " FROM %s", s->ref);
	return b.data;
}

/*
 * select (drop = false) keeps the listed columns in the listed order; drop
 * keeps all others in input order.  Every name must exist: a silently
 * ignored typo would change the target's shape.
 */
static char *
step_select(StepCtx *s, bool drop)
{
	List	   *names = MetaetlJStrList(s->node->params, "columns", s->node->id);
	StringInfoData b;
	ListCell   *lc;

	if (names == NIL)
		step_error(s->node, "param \"columns\" is required", "List the columns as columns: [a, b].");
	foreach(lc, names)
		MetaetlFindColumn(s->node, s->cols, lfirst(lc), "params.columns");
	initStringInfo(&b);
	appendStringInfoString(&b, "SELECT ");
	if (!drop)
	{
		foreach(lc, names)
			appendStringInfo(&b, "%s%s", foreach_current_index(lc) ? ", " : "", qi(lfirst(lc)));
	}
	else
	{
		bool		any = false;

		foreach(lc, s->cols)
		{
			MetaetlColumn *c = lfirst(lc);
			ListCell   *lc2;
			bool		skip = false;

			foreach(lc2, names)
				if (strcmp(lfirst(lc2), c->name) == 0)
					skip = true;
			if (skip)
				continue;
			appendStringInfo(&b, "%s%s", any ? ", " : "", qi(c->name));
			any = true;
		}
		if (!any)
			step_error(s->node, "drop would remove every column", NULL);
	}
	appendStringInfo(&b, " FROM %s", s->ref);
	return b.data;
}

/*
 * The aggregate functions of aggregate steps (and pivot's agg), by their
 * config names; percentile_N (N 0..100) besides.  The validator checks names
 * against this list, so it is the one vocabulary.
 */
static const char *const agg_function_names[] = {"sum", "avg", "mean", "min", "max", "count",
	"count_distinct", "nunique", "median", "stddev", "std", "variance", "var", "first", "last",
"string_agg", "array_agg"};

/*
 * The aggregate function names an aggregate step takes: the one list the
 * validator also uses, so validation and compilation agree.
 */
const char *const *
MetaetlAggFunctionNames(int *n)
{
	*n = (int) lengthof(agg_function_names);
	return agg_function_names;
}

/*
 * Whether fn is an aggregate function the aggregate step takes (the list,
 * or percentile_N).
 */
bool
MetaetlAggFunctionKnown(const char *fn)
{
	for (int i = 0; i < (int) lengthof(agg_function_names); i++)
		if (strcmp(agg_function_names[i], fn) == 0)
			return true;
	if (strncmp(fn, "percentile_", 11) == 0)
	{
		char	   *end;
		long		p = strtol(fn + 11, &end, 10);

		return *end == '\0' && end != fn + 11 && p >= 0 && p <= 100;
	}
	return false;
}

/* an aggregate call for fn over arg (quoted, or * for count), with an optional FILTER */
static char *
agg_call(MetaetlNode *node, const char *fn, const char *arg, const char *filter)
{
	char	   *f = filter ? psprintf(" FILTER (WHERE %s)", filter) : "";

	if (!MetaetlAggFunctionKnown(fn))
		step_error(node, psprintf("unknown aggregate function \"%s\"", fn),
				   "Use sum, avg, min, max, count, count_distinct, median, percentile_N, stddev, variance, first, last, string_agg or array_agg.");
	if (strcmp(arg, "*") == 0 && strcmp(fn, "count") != 0)
		step_error(node, psprintf("aggregate function %s needs a column", fn), NULL);
	if (strcmp(fn, "sum") == 0 || strcmp(fn, "avg") == 0 || strcmp(fn, "min") == 0 ||
		strcmp(fn, "max") == 0 || strcmp(fn, "count") == 0 || strcmp(fn, "array_agg") == 0)
		return psprintf("pg_catalog.%s(%s)%s", fn, arg, f);
	if (strcmp(fn, "mean") == 0)
		return psprintf("pg_catalog.avg(%s)%s", arg, f);
	if (strcmp(fn, "count_distinct") == 0 || strcmp(fn, "nunique") == 0)
		return psprintf("pg_catalog.count(DISTINCT %s)%s", arg, f);
	if (strcmp(fn, "median") == 0)
		return psprintf("pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY %s)%s", arg, f);
	if (strncmp(fn, "percentile_", 11) == 0)
		return psprintf("pg_catalog.percentile_cont(%ld / 100.0) WITHIN GROUP (ORDER BY %s)%s",
						strtol(fn + 11, NULL, 10), arg, f);
	if (strcmp(fn, "stddev") == 0 || strcmp(fn, "std") == 0)
		return psprintf("pg_catalog.stddev_samp(%s)%s", arg, f);
	if (strcmp(fn, "variance") == 0 || strcmp(fn, "var") == 0)
		return psprintf("pg_catalog.var_samp(%s)%s", arg, f);
	if (strcmp(fn, "first") == 0)
		return psprintf("(pg_catalog.array_agg(%s)%s)[1]", arg, f);
	if (strcmp(fn, "last") == 0)
	{
		char	   *a = psprintf("pg_catalog.array_agg(%s)%s", arg, f);

		return psprintf("(%s)[pg_catalog.array_upper(%s, 1)]", a, a);
	}
	/* string_agg */
	return psprintf("pg_catalog.string_agg(%s::pg_catalog.text, ',')%s", arg, f);
}

/*
 * step_aggregate
 *		GROUP BY groupby_cols with one output per aggregate, in this order:
 *		the aggregates list (the normalised form, in the order written:
 *		{column, function, as, filter} or an aggregating {expression, as}),
 *		then, for configs that were not normalised (etl.execute_plan,
 *		execute_transformations, 0.1.0's stored configs), agg_functions (a
 *		jsonb object: its keys in jsonb's order) and count_rows.
 */
static char *
step_aggregate(StepCtx *s)
{
	List	   *groups = MetaetlJStrList(s->node->params, "groupby_cols", s->node->id);
	JsonbContainer *aggs = MetaetlJObj(s->node->params, "agg_functions");
	JsonbContainer *list = MetaetlJObj(s->node->params, "aggregates");
	char	   *count_rows = MetaetlJStr(s->node->params, "count_rows");
	char	   *having = MetaetlJStr(s->node->params, "having");
	char	  **ak;
	JsonbValue **av;
	int			na = MetaetlJObjEntries(aggs, &ak, &av);
	int			nl = list && JsonContainerIsArray(list) ? MetaetlJArrayLen(list) : 0;
	StringInfoData b;
	ListCell   *lc;
	bool		any = false;
	char	   *gb;

	if (list && !JsonContainerIsArray(list))
		step_error(s->node, "aggregates must be a list", "Write aggregates: [{column: amount, function: sum, as: revenue}].");
	if (na == 0 && nl == 0 && count_rows == NULL)
		step_error(s->node, "needs aggregates, agg_functions or count_rows", "Write aggregates: [{column: amount, function: sum, as: revenue}].");
	initStringInfo(&b);
	appendStringInfoString(&b, "SELECT ");
	foreach(lc, groups)
	{
		MetaetlFindColumn(s->node, s->cols, lfirst(lc), "params.groupby_cols");
		appendStringInfo(&b, "%s%s", any ? ", " : "", qi(lfirst(lc)));
		any = true;
	}
	gb = pstrdup(b.data + 7);
	for (int i = 0; i < nl; i++)
	{
		JsonbValue *v = MetaetlJArrayAt(list, i);
		JsonbContainer *it = v->type == jbvBinary ? v->val.binary.data : NULL;
		char	   *p = psprintf("params.aggregates[%d]", i);
		char	   *as = it ? MetaetlJStr(it, "as") : NULL;
		char	   *expr = it ? MetaetlJStr(it, "expression") : NULL;
		char	   *val;

		if (it == NULL || !JsonContainerIsObject(it))
			step_error(s->node, psprintf("%s must be a mapping", p), NULL);
		if (expr)
		{
			if (as == NULL)
				step_error(s->node, psprintf("%s needs as:", p), NULL);
			val = MetaetlCheckExpr(s->node, psprintf("%s.expression", p), expr, s->cols, false);
		}
		else
		{
			char	   *fn = MetaetlJStr(it, "function");
			char	   *col = MetaetlJStr(it, "column");
			char	   *flt = MetaetlJStr(it, "filter");

			if (fn == NULL)
				step_error(s->node, psprintf("%s needs function: or expression:", p), NULL);
			if (col)
				MetaetlFindColumn(s->node, s->cols, col, psprintf("%s.column", p));
			if (as == NULL)
				as = col ? psprintf("%s_%s", col, fn) : fn;
			val = agg_call(s->node, fn, col ? qi(col) : "*",
						   flt ? MetaetlCheckExpr(s->node, psprintf("%s.filter", p), flt, s->cols, false) : NULL);
		}
		appendStringInfo(&b, "%s%s AS %s", any ? ", " : "", val, qo(s, as, p));
		any = true;
	}
	for (int i = 0; i < na; i++)
	{
		char	   *arg;

		MetaetlFindColumn(s->node, s->cols, ak[i], psprintf("params.agg_functions.%s", ak[i]));
		arg = qi(ak[i]);
		if (av[i]->type == jbvString)
		{
			appendStringInfo(&b, "%s%s AS %s", any ? ", " : "",
							 agg_call(s->node, MetaetlJValueText(av[i]), arg, NULL), arg);
			any = true;
		}
		else if (av[i]->type == jbvBinary && JsonContainerIsArray(av[i]->val.binary.data))
		{
			JsonbContainer *a = av[i]->val.binary.data;

			for (int j = 0; j < MetaetlJArrayLen(a); j++)
			{
				char	   *fn = MetaetlJValueText(MetaetlJArrayAt(a, j));

				appendStringInfo(&b, "%s%s AS %s", any ? ", " : "",
								 agg_call(s->node, fn, arg, NULL),
								 qo(s, psprintf("%s_%s", ak[i], fn), psprintf("params.agg_functions.%s", ak[i])));
				any = true;
			}
		}
		else
			step_error(s->node, psprintf("agg_functions.%s must be a function name or a list of them", ak[i]), NULL);
	}
	if (count_rows)
		appendStringInfo(&b, "%spg_catalog.count(*) AS %s", any ? ", " : "", qo(s, count_rows, "params.count_rows"));
	appendStringInfo(&b, " FROM %s", s->ref);
	if (groups != NIL)
		appendStringInfo(&b, " GROUP BY %s", gb);
	if (having)
	{
		/* having reads the output columns: wrap and filter */
		List	   *outcols = MetaetlDescribe(psprintf("%sSELECT * FROM (%s) metaetl_a LIMIT 0",
													   s->in->temp ? "" : MetaetlWithPrefix(s->plan, s->in),
													   b.data));

		return psprintf("SELECT * FROM (%s) metaetl_a WHERE %s", b.data,
						MetaetlCheckExpr(s->node, "params.having", having, outcols, false));
	}
	return b.data;
}

static List *
node_or_relation_cols(StepCtx *s, const char *name, char **ref)
{
	MetaetlNode *n = MetaetlFindNode(s->plan, name, true);

	if (n != NULL)
	{
		if (n->cols == NIL && n->body == NULL)
			step_error(s->node, psprintf("\"%s\" comes later in the pipeline", name), NULL);
		*ref = MetaetlNodeRef(s->plan, n);
		return n->cols;
	}
	*ref = MetaetlQualifiedName(name, "relation");
	return MetaetlDescribe(psprintf("SELECT * FROM %s LIMIT 0", *ref));
}

/*
 * join: the input with another node or a relation, on shared key names
 * (on) or on pairs (left_on/right_on).  Columns present on both sides get
 * suffixes, so the output never has a duplicate name (MetaetlDescribe
 * refuses one); how must be a join type PostgreSQL has.
 */
static char *
step_join(StepCtx *s)
{
	char	   *right = req_str(s, "right");
	char	   *how = MetaetlJStr(s->node->params, "how");
	List	   *on = MetaetlJStrList(s->node->params, "on", s->node->id);
	List	   *lon = MetaetlJStrList(s->node->params, "left_on", s->node->id);
	List	   *ron = MetaetlJStrList(s->node->params, "right_on", s->node->id);
	List	   *suff = MetaetlJStrList(s->node->params, "suffixes", s->node->id);
	const char *sl = "_l",
			   *sr = "_r";
	char	   *rref;
	List	   *rcols;
	StringInfoData cond,
				b;
	ListCell   *lc,
			   *lc2;
	const char *jt;
	MetaetlNode rnode = *s->node;

	if (how == NULL)
		how = "inner";
	if (list_length(suff) == 2)
	{
		sl = linitial(suff);
		sr = lsecond(suff);
	}
	else if (suff != NIL)
		step_error(s->node, "suffixes must list two strings", "For example suffixes: [_l, _r].");
	rcols = node_or_relation_cols(s, right, &rref);
	if (on == NIL && lon != NIL && list_length(lon) == list_length(ron))
	{
		bool		same = true;

		/* left_on = right_on: one key column each, as with on */
		forboth(lc, lon, lc2, ron)
			if (strcmp(lfirst(lc), lfirst(lc2)) != 0)
				same = false;
		if (same)
			on = lon;
	}
	if (on != NIL)
	{
		lon = on;
		ron = on;
	}
	if (lon == NIL || list_length(lon) != list_length(ron))
		step_error(s->node, "needs on: [cols], or left_on and right_on of equal length", NULL);
	rnode.id = psprintf("%s (right side %s)", s->node->id, right);
	initStringInfo(&cond);
	forboth(lc, lon, lc2, ron)
	{
		MetaetlFindColumn(s->node, s->cols, lfirst(lc), "params.left_on");
		MetaetlFindColumn(&rnode, rcols, lfirst(lc2), "params.right_on");
		appendStringInfo(&cond, "%sl.%s = r.%s", cond.len ? " AND " : "", qi(lfirst(lc)), qi(lfirst(lc2)));
	}
	if (strcmp(how, "semi") == 0 || strcmp(how, "anti") == 0)
		return psprintf("SELECT l.* FROM %s l WHERE %sEXISTS (SELECT 1 FROM %s r WHERE %s)",
						s->ref, how[0] == 'a' ? "NOT " : "", rref, cond.data);
	if (strcmp(how, "inner") == 0)
		jt = "JOIN";
	else if (strcmp(how, "left") == 0)
		jt = "LEFT JOIN";
	else if (strcmp(how, "right") == 0)
		jt = "RIGHT JOIN";
	else if (strcmp(how, "full") == 0 || strcmp(how, "outer") == 0)
		jt = "FULL JOIN";
	else
	{
		step_error(s->node, psprintf("unknown join type \"%s\"", how),
				   "Use inner, left, right, full, semi or anti.");
		jt = NULL;
	}
	initStringInfo(&b);
	appendStringInfoString(&b, "SELECT ");
	foreach(lc, s->cols)
	{
		MetaetlColumn *c = lfirst(lc);
		char	   *name = c->name;
		char	   *val = psprintf("l.%s", qi(c->name));
		int			k = list_member_index_str(on, c->name);

		if (on != NIL && k >= 0)
		{
			if (strcmp(how, "right") == 0)
				val = psprintf("r.%s", qi(c->name));
			else if (jt[0] == 'F')
				val = psprintf("COALESCE(l.%s, r.%s)", qi(c->name), qi(c->name));
		}
		else if (has_col(rcols, c->name) && list_member_index_str(on, c->name) < 0)
			name = psprintf("%s%s", c->name, sl);
		appendStringInfo(&b, "%s%s AS %s", foreach_current_index(lc) ? ", " : "", val,
						 name == c->name ? qi(name) : qo(s, name, "params.suffixes"));
	}
	foreach(lc, rcols)
	{
		MetaetlColumn *c = lfirst(lc);
		char	   *name = c->name;

		if (on != NIL && list_member_index_str(on, c->name) >= 0)
			continue;
		if (has_col(s->cols, c->name))
			name = psprintf("%s%s", c->name, sr);
		appendStringInfo(&b, ", r.%s AS %s", qi(c->name), name == c->name ? qi(name) : qo(s, name, "params.suffixes"));
	}
	appendStringInfo(&b, " FROM %s l %s %s r ON %s", s->ref, jt, rref, cond.data);
	return b.data;
}

/*
 * pivot: one output column per value of params.columns, aggregated with
 * agg FILTER (WHERE ...).  The output's columns must be known when the
 * plan compiles, so the values come from pivot_values or are read from the
 * input now, under max_values: a column with thousands of values is an
 * error, not a table with thousands of columns.
 */
static char *
step_pivot(StepCtx *s)
{
	List	   *index = MetaetlJStrList(s->node->params, "index", s->node->id);
	char	   *col = req_str(s, "columns");
	char	   *val = req_str(s, "values");
	char	   *agg = MetaetlJStr(s->node->params, "agg");
	List	   *pv = NIL;
	JsonbValue *pvv = MetaetlJGet(s->node->params, "pivot_values");
	StringInfoData b;
	ListCell   *lc;
	bool		any = false;
	char	   *gb;

	if (agg == NULL)
		agg = "sum";
	MetaetlFindColumn(s->node, s->cols, col, "params.columns");
	MetaetlFindColumn(s->node, s->cols, val, "params.values");
	if (pvv != NULL)
	{
		if (pvv->type != jbvBinary || !JsonContainerIsArray(pvv->val.binary.data))
			step_error(s->node, "pivot_values must be a list", NULL);
		for (int i = 0; i < MetaetlJArrayLen(pvv->val.binary.data); i++)
			pv = lappend(pv, MetaetlJValueText(MetaetlJArrayAt(pvv->val.binary.data, i)));
	}
	else
	{
		/* discover the values now, under a cap */
		int			cap = PIVOT_MAX_VALUES;
		char	   *capv = MetaetlJStr(s->node->params, "max_values");

		if (capv)
			cap = pg_strtoint32(capv);
		MetaetlExec(psprintf("%sSELECT DISTINCT %s::pg_catalog.text FROM %s WHERE %s IS NOT NULL ORDER BY 1 LIMIT %d",
							 s->in->temp ? "" : MetaetlWithPrefix(s->plan, s->in), qi(col), s->ref, qi(col), cap + 1),
					SPI_OK_SELECT);
		if (SPI_processed > (uint64) cap)
			step_error(s->node, psprintf("column \"%s\" has more than %d distinct values", col, cap),
					   "List the wanted values in pivot_values, or raise max_values.");
		for (uint64 i = 0; i < SPI_processed; i++)
			pv = lappend(pv, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		if (pv == NIL)
			step_error(s->node, "the input has no values to pivot on", "List them in pivot_values.");
	}
	initStringInfo(&b);
	appendStringInfoString(&b, "SELECT ");
	foreach(lc, index)
	{
		MetaetlFindColumn(s->node, s->cols, lfirst(lc), "params.index");
		appendStringInfo(&b, "%s%s", any ? ", " : "", qi(lfirst(lc)));
		any = true;
	}
	gb = pstrdup(b.data + 7);
	foreach(lc, pv)
	{
		char	   *v = lfirst(lc);

		appendStringInfo(&b, "%s%s AS %s", any ? ", " : "",
						 agg_call(s->node, agg, qi(val),
								  psprintf("%s::pg_catalog.text = %s", qi(col), quote_literal_cstr(v))),
						 qo(s, v, "params.pivot_values"));
		any = true;
	}
	appendStringInfo(&b, " FROM %s", s->ref);
	if (index != NIL)
		appendStringInfo(&b, " GROUP BY %s", gb);
	return b.data;
}

/*
 * unpivot: value_cols become rows of (name_col, value_col) beside the
 * id_cols, through CROSS JOIN LATERAL (VALUES ...): one scan of the input.
 * Value columns of different types are unpivoted as text, since a column
 * has one type.
 */
static char *
step_unpivot(StepCtx *s)
{
	List	   *ids = MetaetlJStrList(s->node->params, "id_cols", s->node->id);
	List	   *vals = MetaetlJStrList(s->node->params, "value_cols", s->node->id);
	char	   *name_col = MetaetlJStr(s->node->params, "name_col");
	char	   *value_col = MetaetlJStr(s->node->params, "value_col");
	StringInfoData b,
				v;
	ListCell   *lc;
	Oid			t0 = InvalidOid;
	bool		mixed = false;

	if (name_col == NULL)
		name_col = "variable";
	if (value_col == NULL)
		value_col = "value";
	foreach(lc, ids)
		MetaetlFindColumn(s->node, s->cols, lfirst(lc), "params.id_cols");
	if (vals == NIL)
		foreach(lc, s->cols)
			if (list_member_index_str(ids, ((MetaetlColumn *) lfirst(lc))->name) < 0)
				vals = lappend(vals, ((MetaetlColumn *) lfirst(lc))->name);
	if (vals == NIL)
		step_error(s->node, "there are no value columns to unpivot", NULL);
	foreach(lc, vals)
	{
		MetaetlColumn *c = MetaetlFindColumn(s->node, s->cols, lfirst(lc), "params.value_cols");

		if (t0 == InvalidOid)
			t0 = c->typid;
		else if (t0 != c->typid)
			mixed = true;
	}
	initStringInfo(&b);
	initStringInfo(&v);
	appendStringInfoString(&b, "SELECT ");
	foreach(lc, ids)
		appendStringInfo(&b, "i.%s, ", qi(lfirst(lc)));
	appendStringInfo(&b, "v.%s, v.%s FROM %s i CROSS JOIN LATERAL (VALUES ", qo(s, name_col, "params.name_col"),
					 qo(s, value_col, "params.value_col"), s->ref);
	foreach(lc, vals)
		appendStringInfo(&b, "%s(%s, i.%s%s)", foreach_current_index(lc) ? ", " : "",
						 quote_literal_cstr(lfirst(lc)), qi(lfirst(lc)), mixed ? "::pg_catalog.text" : "");
	appendStringInfo(&b, ") AS v(%s, %s)", qi(name_col), qi(value_col));
	return b.data;
}

/* sort specs (list or single string) as ORDER BY text; reverse flips directions */
static char *
order_specs(StepCtx *s, const char *param, bool reverse, bool allow_expr)
{
	List	   *specs = MetaetlJStrList(s->node->params, param, s->node->id);
	StringInfoData b;
	ListCell   *lc;

	initStringInfo(&b);
	foreach(lc, specs)
	{
		char	   *spec = lfirst(lc);
		char	   *sql;

		if (allow_expr && !has_col(s->cols, spec))
		{
			/* an expression, optionally followed by ASC/DESC */
			char	   *e = pstrdup(spec);
			size_t		l = strlen(e);
			bool		desc = false;

			if (l > 5 && pg_strcasecmp(e + l - 5, " desc") == 0)
			{
				desc = true;
				e[l - 5] = '\0';
			}
			else if (l > 4 && pg_strcasecmp(e + l - 4, " asc") == 0)
				e[l - 4] = '\0';
			if (!has_col(s->cols, e))
				sql = psprintf("%s%s", MetaetlCheckExpr(s->node, psprintf("params.%s", param), e, s->cols, false),
							   desc ? " DESC" : "");
			else
				sql = psprintf("%s%s", qi(e), desc ? " DESC" : "");
		}
		else
			sql = MetaetlSortSpec(s->node, psprintf("params.%s", param), spec, s->cols);
		if (reverse)
		{
			char	   *d = strstr(sql, " DESC");
			char	   *nf = strstr(sql, " NULLS ");

			if (nf)
			{
				nf = pstrdup(strcmp(nf, " NULLS FIRST") == 0 ? " NULLS LAST" : " NULLS FIRST");
				sql[strlen(sql) - strlen(strstr(sql, " NULLS "))] = '\0';
			}
			d = strstr(sql, " DESC");
			if (d && d[5] == '\0')
				*d = '\0';
			else
			{
				char	   *a = strstr(sql, " ASC");

				if (a && a[4] == '\0')
					*a = '\0';
				sql = psprintf("%s DESC", sql);
			}
			if (nf)
				sql = psprintf("%s%s", sql, nf);
		}
		appendStringInfo(&b, "%s%s", b.len ? ", " : "", sql);
	}
	return b.data;
}

/*
 * dedupe: one row per key (the first or last by order, with row_number()),
 * or DISTINCT over all columns when no keys are given.  The ranking column
 * is dropped again, so the output has the input's columns.
 */
static char *
step_dedupe(StepCtx *s)
{
	List	   *keys = MetaetlJStrList(s->node->params, "keys", s->node->id);
	char	   *keep = MetaetlJStr(s->node->params, "keep");
	char	   *order;
	StringInfoData pb;
	ListCell   *lc;

	if (keep == NULL)
		keep = "first";
	if (strcmp(keep, "first") != 0 && strcmp(keep, "last") != 0)
		step_error(s->node, psprintf("keep must be first or last, not \"%s\"", keep), NULL);
	if (keys == NIL)
		return psprintf("SELECT DISTINCT * FROM %s", s->ref);
	initStringInfo(&pb);
	foreach(lc, keys)
	{
		MetaetlFindColumn(s->node, s->cols, lfirst(lc), "params.keys");
		appendStringInfo(&pb, "%s%s", pb.len ? ", " : "", qi(lfirst(lc)));
	}
	order = order_specs(s, "order", strcmp(keep, "last") == 0, true);
	return psprintf("SELECT %s FROM (SELECT *, pg_catalog.row_number() OVER (PARTITION BY %s%s%s) AS metaetl_rn FROM %s) metaetl_d WHERE metaetl_rn = 1",
					MetaetlColList(s->cols, NULL), pb.data, order[0] ? " ORDER BY " : "", order, s->ref);
}

/*
 * sort: ORDER BY the specs in by, each a checked column or expression with
 * ASC/DESC, so a later limit (or a preview) takes the rows the user means.
 */
static char *
step_sort(StepCtx *s)
{
	char	   *order = order_specs(s, "by", false, false);

	if (order[0] == '\0')
		step_error(s->node, "param \"by\" is required", "For example by: [\"amount DESC\", id].");
	return psprintf("SELECT * FROM %s ORDER BY %s", s->ref, order);
}

/*
 * limit: LIMIT n OFFSET offset, as integers (pg_strtoint64 raises on text),
 * never pasted through as SQL.
 */
static char *
step_limit(StepCtx *s)
{
	char	   *n = req_str(s, "n");
	char	   *off = MetaetlJStr(s->node->params, "offset");
	int64		v = pg_strtoint64(n);
	int64		o = off ? pg_strtoint64(off) : 0;

	if (v < 0 || o < 0)
		step_error(s->node, "n and offset must not be negative", NULL);
	return psprintf("SELECT * FROM %s LIMIT " INT64_FORMAT " OFFSET " INT64_FORMAT, s->ref, v, o);
}

/*
 * union: the inputs stacked (UNION ALL, or UNION with distinct), matched by
 * column name rather than position, so inputs with the same columns in
 * another order line up; a column some input lacks is NULL there.
 */
static char *
step_union(StepCtx *s)
{
	List	   *inputs = MetaetlJStrList(s->node->params, "inputs", s->node->id);
	bool		distinct = MetaetlJBool(s->node->params, "distinct", false);
	List	   *all = NIL;		/* MetaetlColumn *, first appearance */
	List	   *refs = NIL,
			   *colsets = NIL;
	StringInfoData b;
	ListCell   *lc,
			   *lc2,
			   *lc3;

	if (list_length(inputs) < 2)
		step_error(s->node, "inputs must list at least two nodes", NULL);
	foreach(lc, inputs)
	{
		MetaetlNode *n = MetaetlFindNode(s->plan, lfirst(lc), false);

		refs = lappend(refs, MetaetlNodeRef(s->plan, n));
		colsets = lappend(colsets, n->cols);
		foreach(lc2, n->cols)
			if (!has_col(all, ((MetaetlColumn *) lfirst(lc2))->name))
				all = lappend(all, lfirst(lc2));
	}
	initStringInfo(&b);
	forboth(lc, refs, lc3, colsets)
	{
		List	   *cols = lfirst(lc3);

		if (b.len)
			appendStringInfo(&b, " UNION%s ", distinct ? "" : " ALL");
		appendStringInfoString(&b, "SELECT ");
		foreach(lc2, all)
		{
			MetaetlColumn *c = lfirst(lc2);

			if (has_col(cols, c->name))
				appendStringInfo(&b, "%s%s", foreach_current_index(lc2) ? ", " : "", qi(c->name));
			else
				appendStringInfo(&b, "%sNULL::%s AS %s", foreach_current_index(lc2) ? ", " : "",
								 c->type, qi(c->name));
		}
		appendStringInfo(&b, " FROM %s", (char *) lfirst(lc));
	}
	return b.data;
}

/*
 * window: each entry of columns is a window-function call over one shared
 * window (partition_by, order_by), added beside the input's columns or
 * replacing the column of that name.  Calls are checked to be window or
 * aggregate functions (MetaetlCheckWindowCall), so arbitrary SQL cannot
 * ride in.
 */
static char *
step_window(StepCtx *s)
{
	List	   *part = MetaetlJStrList(s->node->params, "partition_by", s->node->id);
	char	   *order = order_specs(s, "order_by", false, false);
	JsonbContainer *cols = MetaetlJObj(s->node->params, "columns");
	char	  **k;
	JsonbValue **v;
	int			n = MetaetlJObjEntries(cols, &k, &v);
	char	  **calls = palloc0(sizeof(char *) * (n + 1));
	bool	   *used = palloc0(sizeof(bool) * (n + 1));
	StringInfoData b,
				w;
	ListCell   *lc;

	if (n == 0)
		step_error(s->node, "param \"columns\" is required", "For example columns: {rn: \"row_number()\", running: \"sum(amount)\"}.");
	for (int i = 0; i < n; i++)
		calls[i] = MetaetlCheckWindowCall(s->node, k[i], MetaetlJValueText(v[i]), s->cols);
	initStringInfo(&w);
	foreach(lc, part)
	{
		MetaetlFindColumn(s->node, s->cols, lfirst(lc), "params.partition_by");
		appendStringInfo(&w, "%s%s", w.len ? ", " : "PARTITION BY ", qi(lfirst(lc)));
	}
	if (order[0])
		appendStringInfo(&w, " ORDER BY %s", order);
	initStringInfo(&b);
	appendStringInfoString(&b, "SELECT ");
	foreach(lc, s->cols)
	{
		MetaetlColumn *c = lfirst(lc);
		char	   *val = qi(c->name);

		for (int i = 0; i < n; i++)
			if (strcmp(k[i], c->name) == 0)
			{
				val = calls[i];
				used[i] = true;
			}
		appendStringInfo(&b, "%s%s AS %s", foreach_current_index(lc) ? ", " : "", val, qi(c->name));
	}
	for (int i = 0; i < n; i++)
		if (!used[i])
			appendStringInfo(&b, ", %s AS %s", calls[i], qo(s, k[i], psprintf("params.columns.%s", k[i])));
	appendStringInfo(&b, " FROM %s WINDOW metaetl_w AS (%s)", s->ref, w.data);
	return b.data;
}

/*
 * fill_null: COALESCE(column, value) for the listed columns, the value cast
 * to the column's type (a literal, never SQL), so the column keeps its type.
 */
static char *
step_fill_null(StepCtx *s)
{
	JsonbContainer *vals = MetaetlJObj(s->node->params, "values");
	char	  **k;
	JsonbValue **v;
	int			n = MetaetlJObjEntries(vals, &k, &v);
	StringInfoData b;
	ListCell   *lc;

	if (n == 0)
		step_error(s->node, "param \"values\" is required", "For example values: {city: \"unknown\", amount: 0}.");
	for (int i = 0; i < n; i++)
		MetaetlFindColumn(s->node, s->cols, k[i], psprintf("params.values.%s", k[i]));
	initStringInfo(&b);
	appendStringInfoString(&b, "SELECT ");
	foreach(lc, s->cols)
	{
		MetaetlColumn *c = lfirst(lc);
		char	   *val = qi(c->name);

		for (int i = 0; i < n; i++)
			if (strcmp(k[i], c->name) == 0 && v[i]->type != jbvNull)
				val = psprintf("COALESCE(%s, CAST(%s AS %s))", qi(c->name),
							   quote_literal_cstr(MetaetlJValueText(v[i])), c->type);
		appendStringInfo(&b, "%s%s AS %s", foreach_current_index(lc) ? ", " : "", val, qi(c->name));
	}
	appendStringInfo(&b, " FROM %s", s->ref);
	return b.data;
}

/*
 * sql: the user's own SELECT over {{input}} and {{input.ID}}, which become
 * references to earlier nodes.  The query must be one plain SELECT
 * (MetaetlCheckSelect): no data-modifying CTE or second statement can hide
 * in a step, and a node named later in the pipeline is refused.
 */
static char *
step_sql(StepCtx *s)
{
	char	   *q = req_str(s, "query");
	StringInfoData b;
	const char *p = q;
	size_t		l;

	initStringInfo(&b);
	while (*p)
	{
		if (strncmp(p, "{{", 2) == 0)
		{
			const char *e = strstr(p, "}}");
			char	   *name;
			MetaetlNode *n;

			if (e == NULL)
				step_error(s->node, "unterminated {{ in query", NULL);
			name = pnstrdup(p + 2, e - p - 2);
			while (*name == ' ')
				name++;
			for (l = strlen(name); l > 0 && name[l - 1] == ' '; l--)
				name[l - 1] = '\0';
			if (strcmp(name, "input") == 0)
				n = s->in;
			else if (strncmp(name, "input.", 6) == 0)
				n = MetaetlFindNode(s->plan, name + 6, false);
			else
			{
				step_error(s->node, psprintf("unknown placeholder {{%s}}", name),
						   "A sql step reads {{input}} or {{input.ID}}.");
				n = NULL;
			}
			if (n->body == NULL)
				step_error(s->node, psprintf("\"%s\" comes later in the pipeline", n->id), NULL);
			appendStringInfoString(&b, MetaetlNodeRef(s->plan, n));
			p = e + 2;
			continue;
		}
		appendStringInfoChar(&b, *p++);
	}
	/* trailing semicolons would end the CTE early */
	for (l = b.len; l > 0 && (b.data[l - 1] == ';' || isspace((unsigned char) b.data[l - 1])); l--)
		b.data[l - 1] = '\0';
	MetaetlCheckSelect(s->node, b.data);
	return psprintf("%s\n", b.data);
}

/*
 * udf: a user function called per row (args name the input columns) or,
 * set-returning with no args, once over the whole dataset as one jsonb
 * array.  The function is resolved like a call would resolve it and the
 * pipeline's owner must have EXECUTE on it, since the run executes as that
 * owner.
 */
static char *
step_udf(StepCtx *s)
{
	char	   *fname = req_str(s, "function");
	List	   *args = MetaetlJStrList(s->node->params, "args", s->node->id);
	char	   *output = MetaetlJStr(s->node->params, "output");
	bool		srf = MetaetlJBool(s->node->params, "set_returning", false);
	List	   *names = stringToQualifiedNameList(fname);
	FuncCandidateList cand;
	FuncCandidateList pick = NULL;
	int			nargs = list_length(args);
	Oid		   *argtypes = palloc0(sizeof(Oid) * (nargs + 1));
	StringInfoData call,
				b;
	ListCell   *lc;
	char	   *fn;

	bool		dataset = srf && args == NIL;

	foreach(lc, args)
		argtypes[foreach_current_index(lc)] =
			MetaetlFindColumn(s->node, s->cols, lfirst(lc), "params.args")->typid;
	if (dataset)
	{
		/* set-returning over the whole dataset: fn(jsonb) gets the rows as one array */
		nargs = 1;
		argtypes[0] = JSONBOID;
	}
	cand = FuncnameGetCandidates(names, nargs, NIL, false, false, false, true);
	for (FuncCandidateList c = cand; c; c = c->next)
	{
		if (pick == NULL)
			pick = c;
		if (memcmp(c->args, argtypes, sizeof(Oid) * nargs) == 0)
		{
			pick = c;
			break;
		}
	}
	if (pick == NULL || (dataset && pick->args[0] != JSONBOID))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("step \"%s\": function %s with %d argument(s)%s does not exist", s->node->id,
						fname, nargs, dataset ? " (jsonb)" : ""),
				 errhint("Create the function first, or fix params.function and params.args.")));
	if (pg_proc_aclcheck(pick->oid, s->plan->owner, ACL_EXECUTE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("step \"%s\": the pipeline owner may not execute function %s", s->node->id,
						format_procedure(pick->oid)),
				 errhint("GRANT EXECUTE ON FUNCTION %s TO %s.", format_procedure(pick->oid),
						 GetUserNameFromId(s->plan->owner, false))));
	if (get_func_retset(pick->oid) != srf)
		step_error(s->node, srf ? "the function does not return a set" : "the function returns a set",
				   srf ? "Remove set_returning: true." : "Add set_returning: true.");
	fn = quote_qualified_identifier(get_namespace_name(get_func_namespace(pick->oid)),
									get_func_name(pick->oid));
	initStringInfo(&call);
	appendStringInfo(&call, "%s(", fn);
	foreach(lc, args)
		appendStringInfo(&call, "%si.%s::%s", foreach_current_index(lc) ? ", " : "", qi(lfirst(lc)),
						 format_type_be_qualified(pick->args[foreach_current_index(lc)]));
	appendStringInfoChar(&call, ')');
	if (output == NULL)
		output = get_func_name(pick->oid);
	if (!srf)
	{
		/* errors raised inside the function name this step (stepctx.c) */
		Oid			rt = get_func_rettype(pick->oid);
		char	   *w = pstrdup(wrap(s, "params.function", call.data));

		if (get_typtype(rt) == TYPTYPE_DOMAIN)
			w = psprintf("CAST(%s AS %s)", w, format_type_be_qualified(rt));
		resetStringInfo(&call);
		appendStringInfoString(&call, w);
	}
	if (dataset)
		return psprintf("SELECT %s.* FROM %s((SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(i)), '[]') FROM %s i)) AS %s",
						qi(output), fn, s->ref, qi(output));
	if (srf)
		return psprintf("SELECT i.*, %s.* FROM %s i CROSS JOIN LATERAL %s AS %s",
						qi(output), s->ref, call.data, qi(output));
	initStringInfo(&b);
	appendStringInfoString(&b, "SELECT ");
	foreach(lc, s->cols)
	{
		MetaetlColumn *c = lfirst(lc);

		appendStringInfo(&b, "%s%s AS %s", foreach_current_index(lc) ? ", " : "",
						 strcmp(c->name, output) == 0 ? call.data : psprintf("i.%s", qi(c->name)),
						 qi(c->name));
	}
	if (!has_col(s->cols, output))
		appendStringInfo(&b, ", %s AS %s", call.data, qo(s, output, "params.output"));
	appendStringInfo(&b, " FROM %s i", s->ref);
	return b.data;
}

/*
 * The SELECT of one transform node over its input, by step type.  Errors
 * name the step and the param; the input's columns are already described,
 * so every step checks its params against them.
 */
char *
MetaetlCompileStep(MetaetlPlan *plan, MetaetlNode *node)
{
	StepCtx		s;
	const char *t = node->type;

	s.plan = plan;
	s.node = node;
	s.in = MetaetlFindNode(plan, node->input, false);
	s.ref = MetaetlNodeRef(plan, s.in);
	s.cols = s.in->cols;

	if (strcmp(t, "filter") == 0)
		return step_filter(&s);
	if (strcmp(t, "map") == 0 || strcmp(t, "rename") == 0)
		return step_map(&s);
	if (strcmp(t, "select") == 0)
		return step_select(&s, false);
	if (strcmp(t, "drop") == 0)
		return step_select(&s, true);
	if (strcmp(t, "aggregate") == 0)
		return step_aggregate(&s);
	if (strcmp(t, "join") == 0)
		return step_join(&s);
	if (strcmp(t, "pivot") == 0)
		return step_pivot(&s);
	if (strcmp(t, "unpivot") == 0)
		return step_unpivot(&s);
	if (strcmp(t, "dedupe") == 0)
		return step_dedupe(&s);
	if (strcmp(t, "sort") == 0)
		return step_sort(&s);
	if (strcmp(t, "limit") == 0)
		return step_limit(&s);
	if (strcmp(t, "union") == 0)
		return step_union(&s);
	if (strcmp(t, "window") == 0)
		return step_window(&s);
	if (strcmp(t, "fill_null") == 0)
		return step_fill_null(&s);
	if (strcmp(t, "sql") == 0)
		return step_sql(&s);
	if (strcmp(t, "udf") == 0)
		return step_udf(&s);
	{
		static const char *const types[] = {"filter", "map", "select", "drop", "aggregate", "join",
			"pivot", "unpivot", "dedupe", "sort", "limit", "union", "window", "fill_null", "sql", "udf"};
		const char *near = MetaetlNearest(t, types, lengthof(types), 3);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("step \"%s\": unknown transform type \"%s\"", node->id, t),
				 near ? errhint("Did you mean \"%s\"?", near) : 0));
	}
	return NULL;
}
