/*-------------------------------------------------------------------------
 *
 * src/config/validate_steps.c
 *		Transform steps: each type with its params (docs/transforms.md, "Steps").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/json.h"
#include "utils/builtins.h"

#include "config/validate_int.h"
#include "transform/transform.h"
#include "util/ident.h"

static const char *const step_types[] = {"filter", "map", "select", "drop", "aggregate", "join",
	"pivot", "unpivot", "dedupe", "sort", "limit", "union", "window", "fill_null", "sql", "udf"};

/* ------------------------------------------------------- transform params */

typedef enum PKind
{
	P_EXPR, P_STR, P_STRLIST, P_STRMAP, P_EXPRMAP, P_TYPEMAP, P_INT, P_BOOL, P_ENUM,
	P_NODE_OR_REL, P_NODELIST, P_QUERY, P_AGGMAP, P_SCALARMAP, P_ORDERLIST, P_ORDER,
	P_SCALARLIST, P_FUNC,
	P_NAME,						/* a string that becomes an output column name */
	P_AGGLIST					/* aggregate: [{column, function, as, filter} | {expression, as}] */
} PKind;

typedef struct PSpec
{
	const char *name;
	PKind		kind;
	bool		required;
	const char *def;			/* default: text, "" for an empty list, NULL none */
	const char *const *vals;	/* P_ENUM */
	int			nvals;
} PSpec;

static const char *const join_hows[] = {"inner", "left", "right", "full", "semi", "anti", "cross"};
static const char *const keeps[] = {"first", "last"};

typedef struct StepSpec
{
	const char *type;
	PSpec		params[8];
	const char *one_of;			/* "a|b|c": at least one needed */
} StepSpec;

static const StepSpec step_specs[] = {
	{"filter", {{"condition", P_EXPR, true}}},
	{"map", {{"mapping", P_STRMAP}, {"columns", P_EXPRMAP}, {"casts", P_TYPEMAP}}, "mapping|columns|casts"},
	{"select", {{"columns", P_STRLIST, true}}},
	{"drop", {{"columns", P_STRLIST, true}}},
	{"aggregate", {{"groupby_cols", P_STRLIST, false, ""}, {"agg_functions", P_AGGMAP},
	{"aggregates", P_AGGLIST}, {"having", P_EXPR}, {"count_rows", P_NAME}}, "agg_functions|aggregates|count_rows"},
	{"join", {{"right", P_NODE_OR_REL, true}, {"how", P_ENUM, false, "inner", join_hows, lengthof_arr(join_hows)},
			{"on", P_STRLIST}, {"left_on", P_STRLIST}, {"right_on", P_STRLIST}, {"condition", P_EXPR},
	{"suffixes", P_STRLIST, false, "_l,_r"}}, "on|left_on|condition"},
	{"pivot", {{"index", P_STRLIST, true}, {"columns", P_STR, true}, {"values", P_STR, true},
	{"agg", P_STR, false, "sum"}, {"pivot_values", P_SCALARLIST}, {"max_values", P_INT}}},
	{"unpivot", {{"id_cols", P_STRLIST, true}, {"value_cols", P_STRLIST, true},
	{"name_col", P_NAME, false, "variable"}, {"value_col", P_NAME, false, "value"}}},
	{"dedupe", {{"keys", P_STRLIST, true}, {"order", P_ORDER}, {"keep", P_ENUM, false, "first", keeps, 2}}},
	{"sort", {{"by", P_ORDERLIST, true}}},
	{"limit", {{"n", P_INT, true}}},
	{"union", {{"inputs", P_NODELIST, true}, {"distinct", P_BOOL, false, "false"}}},
	{"window", {{"partition_by", P_STRLIST}, {"order_by", P_ORDERLIST}, {"columns", P_EXPRMAP, true}}},
	{"fill_null", {{"values", P_SCALARMAP, true}}},
	{"sql", {{"query", P_QUERY, true}}},
	{"udf", {{"function", P_FUNC, true}, {"args", P_STRLIST, false, ""}, {"output", P_NAME},
	{"set_returning", P_BOOL, false, "false"}}, "output|set_returning"},
};

static CfgNode *
vdefault(VCtx *c, const PSpec *p)
{
	if (p->kind == P_BOOL)
		return cfgv_bool(c, strcmp(p->def, "true") == 0);
	if (p->kind == P_STRLIST)
	{
		CfgNode    *l = cfgv_seq(c);
		char	   *copy = pstrdup(p->def);
		char	   *save = NULL;

		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			cfgv_append(c, l, cfgv_str(c, tok));
		return l;
	}
	return cfgv_str(c, p->def);
}

/* an aggregate function name the transform compiler knows (transform/steps.c) */
static bool
vaggfn(VCtx *c, const CfgNode *n, const char *path)
{
	int			nnames;
	const char *const *names = MetaetlAggFunctionNames(&nnames);

	if (cfgv_string(c, n, path) == NULL)
		return false;
	if (MetaetlAggFunctionKnown(n->str))
		return true;
	cfgv_error(c, path, n, "unknown aggregate function \"%s\" (valid: %s, percentile_N)%s", n->str,
			   cfgv_list(names, nnames), cfgv_suggest(n->str, names, nnames));
	return false;
}

/*
 * vagglist
 *		aggregate's aggregates: a list whose order is the output's.  Each item
 *		is {column, function, as, filter} (column may be left out for count:
 *		count(*)) or {expression, as} (an aggregating expression such as
 *		sum(CASE WHEN ... END)).  Normalised with "as" filled in:
 *		column_function, or count.
 */
static CfgNode *
vagglist(VCtx *c, const CfgNode *n, const char *path)
{
	static const char *const keys[] = {"column", "function", "as", "expression", "filter"};
	CfgNode    *out = cfgv_seq(c);
	bool		ok = true;

	if (n->kind != CFG_SEQ)
	{
		cfgv_error(c, path, n, "aggregates must be a list of mappings such as {column: amount, function: sum, as: revenue}, not a %s",
				   CfgKindName(n->kind));
		return NULL;
	}
	if (n->n == 0)
	{
		cfgv_error(c, path, n, "must not be an empty list");
		return NULL;
	}
	for (int i = 0; i < n->n; i++)
	{
		const CfgNode *it = n->items[i];
		char	   *ip = cfgv_idx(path, i);
		CfgNode    *o = cfgv_map(c);
		CfgNode    *e,
				   *f,
				   *col,
				   *as,
				   *flt;

		if (!cfgv_is_map(c, it, ip, "an aggregate"))
		{
			ok = false;
			continue;
		}
		cfgv_keys(c, it, ip, keys, lengthof_arr(keys), false);
		e = cfgv_get(c, it, ip, "expression", false);
		f = cfgv_get(c, it, ip, "function", false);
		col = cfgv_get(c, it, ip, "column", false);
		as = cfgv_get(c, it, ip, "as", false);
		flt = cfgv_get(c, it, ip, "filter", false);
		if (as && !cfgv_colname(c, as, cfgv_path(ip, "as")))
			ok = false;
		if (e)
		{
			CfgNode    *x = cfgv_expr(c, e, cfgv_path(ip, "expression"));

			if (f || col || flt)
			{
				cfgv_error(c, ip, it, "an aggregate is either an expression or a function of a column, not both");
				ok = false;
			}
			if (as == NULL)
			{
				cfgv_error(c, cfgv_path(ip, "as"), it, "an aggregate expression needs as: (the output column's name)");
				ok = false;
			}
			if (x == NULL)
				ok = false;
			else
				cfgv_put(c, o, "expression", x);
		}
		else if (f == NULL)
		{
			cfgv_error(c, ip, it, "an aggregate needs function: (with column:) or expression:");
			ok = false;
			continue;
		}
		else
		{
			if (!vaggfn(c, f, cfgv_path(ip, "function")))
				ok = false;
			else if (col == NULL && strcmp(f->str, "count") != 0)
			{
				cfgv_error(c, cfgv_path(ip, "column"), it, "aggregate function %s needs column:", f->str);
				ok = false;
			}
			if (col && !cfgv_string(c, col, cfgv_path(ip, "column")))
				ok = false;
			if (flt && (flt = cfgv_expr(c, flt, cfgv_path(ip, "filter"))) == NULL)
				ok = false;
			if (col)
				cfgv_put(c, o, "column", col);
			cfgv_put(c, o, "function", f);
			if (flt)
				cfgv_put(c, o, "filter", flt);
			if (as == NULL && f->kind == CFG_STRING)
			{
				char	   *name = col && col->kind == CFG_STRING ? psprintf("%s_%s", col->str, f->str) : pstrdup(f->str);

				if (strlen(name) >= NAMEDATALEN)
				{
					cfgv_error(c, cfgv_path(ip, "as"), it, "the default name %s_%s is longer than %d bytes: name it with as:",
							   col->str, f->str, NAMEDATALEN - 1);
					ok = false;
				}
				as = cfgv_need(CfgNewString(c->arena, name, it->line, it->col));
			}
		}
		if (as)
			cfgv_put(c, o, "as", as);
		cfgv_append(c, out, o);
	}
	return ok ? out : NULL;
}

/* one output of an aggregate step, for the duplicate check */
typedef struct VAggOut
{
	const char *name;
	char	   *path;
	const CfgNode *at;
} VAggOut;

/*
 * vaggregate_outputs
 *		The normalised params of an aggregate step: agg_functions,
 *		aggregates and count_rows become ONE aggregates list in the order
 *		they are written (jsonb would sort agg_functions' keys), so the
 *		output columns come in that order.  Every output name must be unique
 *		and differ from the group-by columns.
 */
static CfgNode *
vaggregate_outputs(VCtx *c, const CfgNode *params, CfgNode *pout, const char *path)
{
	CfgNode    *list = cfgv_seq(c);
	CfgNode    *out = cfgv_map(c);
	CfgNode    *groups = CfgMapGet(pout, "groupby_cols");
	VAggOut    *outs;
	int			nout = 0,
				cap = 16;

	outs = palloc(sizeof(VAggOut) * cap);
	for (int i = 0; groups && groups->kind == CFG_SEQ && i < groups->n; i++)
	{
		if (nout == cap)
			outs = repalloc(outs, sizeof(VAggOut) * (cap *= 2));
		outs[nout].name = groups->items[i]->str;
		outs[nout].path = cfgv_idx(cfgv_path(path, "groupby_cols"), i);
		outs[nout++].at = groups->items[i];
	}
	for (int i = 0; i < params->n; i++)
	{
		const char *key = params->pairs[i].key->str;
		CfgNode    *v = CfgMapGet(pout, key);
		int			from = list->n;

		if (v == NULL)
			continue;			/* absent or reported */
		if (strcmp(key, "agg_functions") == 0 && v->kind == CFG_MAP)
		{
			for (int j = 0; j < v->n; j++)
			{
				CfgNode    *col = v->pairs[j].key;
				CfgNode    *fns = v->pairs[j].value;
				bool		one = fns->kind == CFG_STRING;

				for (int k = 0; k < (one ? 1 : fns->n); k++)
				{
					CfgNode    *fn = one ? fns : fns->items[k];
					CfgNode    *o = cfgv_map(c);
					char	   *name = one ? col->str : psprintf("%s_%s", col->str, fn->str);

					if (strlen(name) >= NAMEDATALEN)
						cfgv_error(c, cfgv_path(cfgv_path(path, "agg_functions"), col->str), fn,
								   "output column %s_%s would be longer than %d bytes: use aggregates: with as:",
								   col->str, fn->str, NAMEDATALEN - 1);
					cfgv_put(c, o, "column", col);
					cfgv_put(c, o, "function", fn);
					cfgv_put(c, o, "as", cfgv_need(CfgNewString(c->arena, name, fn->line, fn->col)));
					cfgv_append(c, list, o);
				}
			}
		}
		else if (strcmp(key, "aggregates") == 0 && v->kind == CFG_SEQ)
		{
			for (int j = 0; j < v->n; j++)
				cfgv_append(c, list, v->items[j]);
		}
		else if (strcmp(key, "count_rows") == 0 && v->kind == CFG_STRING)
		{
			CfgNode    *o = cfgv_map(c);

			cfgv_put(c, o, "function", cfgv_need(CfgNewString(c->arena, "count", v->line, v->col)));
			cfgv_put(c, o, "as", v);
			cfgv_append(c, list, o);
		}
		else
			continue;
		for (int j = from; j < list->n; j++)
		{
			CfgNode    *as = CfgMapGet(list->items[j], "as");

			if (as == NULL)
				continue;
			for (int k = 0; k < nout; k++)
				if (strcmp(outs[k].name, as->str) == 0)
				{
					cfgv_error(c, strcmp(key, "aggregates") == 0 ? cfgv_path(cfgv_idx(cfgv_path(path, key), j - from), "as") :
							   cfgv_path(path, key), as->line ? as : params->pairs[i].value,
							   "output column \"%s\" is named twice (also by %s)", as->str, outs[k].path);
					break;
				}
			if (nout == cap)
				outs = repalloc(outs, sizeof(VAggOut) * (cap *= 2));
			outs[nout].name = as->str;
			outs[nout].path = strcmp(key, "aggregates") == 0 ? cfgv_idx(cfgv_path(path, key), j - from) : cfgv_path(path, key);
			outs[nout++].at = as;
		}
	}
	for (int i = 0; i < pout->n; i++)
	{
		const char *key = pout->pairs[i].key->str;

		if (strcmp(key, "agg_functions") != 0 && strcmp(key, "aggregates") != 0 && strcmp(key, "count_rows") != 0)
			cfgv_put(c, out, key, pout->pairs[i].value);
	}
	if (list->n > 0)
		cfgv_put(c, out, "aggregates", list);
	return out;
}

static CfgNode *
vparam(VCtx *c, const PSpec *p, const CfgNode *n, const char *path, VNode *node)
{
	CfgNode    *out;

	switch (p->kind)
	{
		case P_EXPR:
			return cfgv_expr(c, n, path);
		case P_ORDER:
			return cfgv_order(c, n, path);
		case P_STR:
			return cfgv_string(c, n, path) ? (CfgNode *) n : NULL;
		case P_NAME:
			return cfgv_colname(c, n, path) ? (CfgNode *) n : NULL;
		case P_AGGLIST:
			return vagglist(c, n, path);
		case P_FUNC:
			return cfgv_relname(c, n, path) ? (CfgNode *) n : NULL;
		case P_STRLIST:
			return cfgv_strlist(c, n, path, false);
		case P_SCALARLIST:
			if (n->kind != CFG_SEQ)
			{
				cfgv_error(c, path, n, "must be a list, not a %s", CfgKindName(n->kind));
				return NULL;
			}
			for (int i = 0; i < n->n; i++)
			{
				if (n->items[i]->kind == CFG_SEQ || n->items[i]->kind == CFG_MAP)
				{
					cfgv_error(c, cfgv_idx(path, i), n->items[i], "must be a scalar, not a %s", CfgKindName(n->items[i]->kind));
					return NULL;
				}
				/* pivot_values become column names */
				if (n->items[i]->str && strlen(n->items[i]->str) >= NAMEDATALEN)
				{
					cfgv_error(c, cfgv_idx(path, i), n->items[i],
							   "value \"%.20s...\" is %zu bytes long and would name a column; PostgreSQL truncates names to %d bytes",
							   n->items[i]->str, strlen(n->items[i]->str), NAMEDATALEN - 1);
					return NULL;
				}
			}
			return (CfgNode *) n;
		case P_ORDERLIST:
			{
				CfgNode    *l = cfgv_strlist(c, n, path, true);
				CfgNode    *sorted;
				bool		ok = true;

				if (l == NULL || (n->kind == CFG_SEQ && l->n != n->n))
					return NULL;	/* a non-string item, reported */
				sorted = cfgv_seq(c);
				for (int i = 0; i < l->n; i++)
				{
					CfgNode    *o = cfgv_order(c, l->items[i], n->kind == CFG_SEQ ? cfgv_idx(path, i) : path);

					if (o)
						cfgv_append(c, sorted, o);
					else
						ok = false;
				}
				return ok ? sorted : NULL;
			}
		case P_INT:
			return cfgv_number(c, n, path, 0, INFINITY, true);
		case P_BOOL:
			return cfgv_boolean(c, n, path);
		case P_ENUM:
			{
				const char *v = cfgv_enum(c, n, path, p->name, p->vals, p->nvals);

				return v ? cfgv_str(c, v) : NULL;
			}
		case P_NODE_OR_REL:
			if (cfgv_string(c, n, path) == NULL)
				return NULL;
			if (MetaetlIdentValid(n->str))
			{
				VDep	   *d = cfgv_dep(n->str, path, n);

				d->maybe_relation = true;	/* a node, or else a table */
				node->deps = lappend(node->deps, d);
			}
			else if (!cfgv_relname(c, n, path))
				return NULL;
			return (CfgNode *) n;
		case P_NODELIST:
			out = cfgv_strlist(c, n, path, true);
			if (out == NULL)
				return NULL;
			for (int i = 0; i < out->n; i++)
				if (cfgv_id(c, out->items[i], n->kind == CFG_SEQ ? cfgv_idx(path, i) : path))
					node->deps = lappend(node->deps, cfgv_dep(out->items[i]->str,
														  n->kind == CFG_SEQ ? cfgv_idx(path, i) : path,
														  out->items[i]));
			return out;
		case P_QUERY:
			{
				ListCell   *lc;

				c->tpl_deps = NIL;
				out = cfgv_query(c, n, path, true);
				foreach(lc, c->tpl_deps)
					node->deps = lappend(node->deps, lfirst(lc));
				c->tpl_deps = NIL;
				return out;
			}
		case P_STRMAP:
		case P_EXPRMAP:
		case P_TYPEMAP:
		case P_AGGMAP:
		case P_SCALARMAP:
			if (!cfgv_is_map(c, n, path, p->name))
				return NULL;
			if (n->n == 0)
			{
				cfgv_error(c, path, n, "must not be an empty mapping");
				return NULL;
			}
			out = cfgv_map(c);
			cfgv_keys(c, n, path, NULL, 0, true);	/* duplicates only: no key is "unknown" */
			for (int i = 0; i < n->n; i++)
			{
				const CfgNode *k = n->pairs[i].key;
				CfgNode    *v = n->pairs[i].value;
				char	   *vp = cfgv_path(path, k->str);
				CfgNode    *r = NULL;

				if (p->kind == P_STRMAP)
					r = cfgv_colname(c, v, vp) ? v : NULL;	/* mapping: the new name */
				else if (p->kind == P_EXPRMAP)
					r = cfgv_colname(c, k, vp) ? cfgv_expr(c, v, vp) : NULL;	/* the key names the column */
				else if (p->kind == P_TYPEMAP)
					r = cfgv_type(c, v, vp);
				else if (p->kind == P_SCALARMAP)
				{
					if (v->kind == CFG_SEQ || v->kind == CFG_MAP)
						cfgv_error(c, vp, v, "must be a scalar, not a %s", CfgKindName(v->kind));
					else
						r = v;
				}
				else
				{
					/* aggregate function name or list of names */
					CfgNode    *fl = cfgv_strlist(c, v, vp, true);

					if (fl)
					{
						bool		ok = true;

						for (int j = 0; j < fl->n; j++)
							if (!vaggfn(c, fl->items[j], v->kind == CFG_SEQ ? cfgv_idx(vp, j) : vp))
								ok = false;
						if (ok)
							r = v;
					}
				}
				if (r)
					if (!CfgMapAppend(c->arena, out, (CfgNode *) k, r))
						cfgv_need(NULL);
			}
			return out;
	}
	return NULL;
}

static void
vstep_params(VCtx *c, const StepSpec *spec, const CfgNode *params, const char *path,
			 CfgNode *out, VNode *node)
{
	const char *allowed[8];
	int			nallowed = 0;

	for (int i = 0; i < 8 && spec->params[i].name; i++)
		allowed[nallowed++] = spec->params[i].name;
	/* an unknown param is an error: a run would ignore it (a misspelt condition filters nothing) */
	cfgv_keys(c, params, path, allowed, nallowed, false);
	for (int i = 0; i < nallowed; i++)
	{
		const PSpec *p = &spec->params[i];
		CfgNode    *n = cfgv_get(c, params, path, p->name, p->required);
		CfgNode    *r;

		if (n)
		{
			if ((r = vparam(c, p, n, cfgv_path(path, p->name), node)))
				cfgv_put(c, out, p->name, r);
		}
		else if (p->def)
			cfgv_put(c, out, p->name, vdefault(c, p));
	}
	if (spec->one_of)
	{
		char	   *copy = pstrdup(spec->one_of);
		char	   *save = NULL;
		bool		found = false;

		for (char *tok = strtok_r(copy, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
			if (CfgMapGet(params, tok))
				found = true;
		if (strcmp(spec->type, "join") == 0)
		{
			CfgNode    *how = CfgMapGet(params, "how");

			if (how && how->kind == CFG_STRING && strcmp(how->str, "cross") == 0)
				found = true;
			if (CfgMapGet(params, "left_on") && !CfgMapGet(params, "right_on"))
				cfgv_error(c, cfgv_path(path, "right_on"), params, "left_on needs right_on");
		}
		if (!found)
		{
			StringInfoData buf;

			initStringInfo(&buf);
			copy = pstrdup(spec->one_of);
			for (char *tok = strtok_r(copy, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
				appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", tok);
			cfgv_error(c, path, params, "a %s step needs one of: %s", spec->type, buf.data);
		}
	}
}

static const char *const transform_keys[] = {"id", "type", "input", "params", "description", "retry"};

/*
 * cfgv_step_vocabulary
 *		{"keys": [...], "types": {"filter": {"params": {"condition": {"required": true}}, "one_of": ...}}}
 *		for etl._config_vocabulary.
 */
void
cfgv_step_vocabulary(StringInfo b)
{
	static const char *const pkinds[] = {"expr", "string", "strlist", "strmap", "exprmap", "typemap",
		"integer", "bool", "enum", "node_or_relation", "nodelist", "query", "aggmap", "scalarmap",
	"orderlist", "order", "scalarlist", "function", "name", "agglist"};

	appendStringInfoString(b, "{\"keys\": [");
	for (int i = 0; i < lengthof_arr(transform_keys); i++)
	{
		appendStringInfoString(b, i ? ", " : "");
		escape_json(b, transform_keys[i]);
	}
	appendStringInfoString(b, "], \"types\": {");
	for (int i = 0; i < lengthof_arr(step_specs); i++)
	{
		const StepSpec *sp = &step_specs[i];

		appendStringInfoString(b, i ? ", " : "");
		escape_json(b, sp->type);
		appendStringInfoString(b, ": {\"params\": {");
		for (int j = 0; j < lengthof_arr(sp->params) && sp->params[j].name; j++)
		{
			const PSpec *p = &sp->params[j];

			appendStringInfoString(b, j ? ", " : "");
			escape_json(b, p->name);
			appendStringInfo(b, ": {\"kind\": \"%s\", \"required\": %s", pkinds[p->kind],
							 p->required ? "true" : "false");
			if (p->kind == P_ENUM)
			{
				appendStringInfoString(b, ", \"values\": [");
				for (int k = 0; k < p->nvals; k++)
				{
					appendStringInfoString(b, k ? ", " : "");
					escape_json(b, p->vals[k]);
				}
				appendStringInfoChar(b, ']');
			}
			appendStringInfoChar(b, '}');
		}
		appendStringInfoString(b, "}, \"one_of\": ");
		if (sp->one_of)
			escape_json(b, sp->one_of);
		else
			appendStringInfoString(b, "null");
		appendStringInfoChar(b, '}');
	}
	appendStringInfoString(b, "}}");
}

/*
 * One transform: id (registered, unique), type (one of the step types the
 * compiler has), input, and params checked against that step's spec, so a
 * config that validates compiles.
 */
CfgNode *
cfgv_transform(VCtx *c, const CfgNode *t, const char *path)
{
	const char *const *keys = transform_keys;
	CfgNode    *out = cfgv_map(c);
	CfgNode    *n;
	const char *id = NULL;
	const char *type = NULL;
	const StepSpec *spec = NULL;
	VNode	   *node = palloc0(sizeof(VNode));
	CfgNode    *params;
	CfgNode    *pout = cfgv_map(c);

	if (!cfgv_is_map(c, t, path, "a transform"))
		return NULL;
	cfgv_keys(c, t, path, keys, lengthof_arr(transform_keys), false);
	if ((n = cfgv_get(c, t, path, "id", true)) && (id = cfgv_id(c, n, cfgv_path(path, "id"))))
	{
		if (!cfgv_register_id(c, id, cfgv_path(path, "id"), n))
			id = NULL;			/* reported; keep it out of the graph */
		cfgv_put(c, out, "id", n);
	}
	if ((n = cfgv_get(c, t, path, "type", true)) &&
		(type = cfgv_enum(c, n, cfgv_path(path, "type"), "transform type", step_types, lengthof_arr(step_types))))
	{
		cfgv_put(c, out, "type", cfgv_str(c, type));
		for (int i = 0; i < lengthof_arr(step_specs); i++)
			if (strcmp(step_specs[i].type, type) == 0)
				spec = &step_specs[i];
	}
	if ((n = cfgv_get(c, t, path, "input", false)))
	{
		if (cfgv_id(c, n, cfgv_path(path, "input")))
		{
			node->deps = lappend(node->deps, cfgv_dep(n->str, cfgv_path(path, "input"), n));
			cfgv_put(c, out, "input", n);
		}
	}
	else if (c->prev_node)
	{
		node->deps = lappend(node->deps, cfgv_dep(c->prev_node, cfgv_path(path, "input"), t));
		cfgv_put(c, out, "input", cfgv_str(c, c->prev_node));
	}
	else
		cfgv_error(c, cfgv_path(path, "input"), t, "a transform needs an input, and there is no source before it");

	params = cfgv_get(c, t, path, "params", false);
	if (params && !cfgv_is_map(c, params, cfgv_path(path, "params"), "params"))
		params = NULL;
	if (spec)
	{
		CfgNode    *empty = cfgv_map(c);

		empty->line = t->line;
		empty->col = t->col;
		vstep_params(c, spec, params ? params : empty, cfgv_path(path, "params"), pout, node);
		if (strcmp(spec->type, "aggregate") == 0 && params)
			pout = vaggregate_outputs(c, params, pout, cfgv_path(path, "params"));
	}
	cfgv_put(c, out, "params", pout);
	if ((n = cfgv_get(c, t, path, "description", false)))
		cfgv_put(c, out, "description", n);

	if (id)
	{
		node->id = pstrdup(id);
		node->path = pstrdup(path);
		node->at = t;
		node->out = out;
		c->nodes = lappend(c->nodes, node);
		c->prev_node = node->id;
	}
	/* a step's own retry policy (the orchestrator applies it to errors of this step) */
	if ((n = cfgv_get(c, t, path, "retry", false)))
		cfgv_put(c, out, "retry", cfgv_retry(c, n, cfgv_path(path, "retry")));
	return out;
}
