/*-------------------------------------------------------------------------
 *
 * src/config/validate_rules.c
 *		Quality rules, sla, retry, schedule and alerts of a pipeline.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"

#include "config/validate_int.h"
#include "scheduler/cron.h"
#include "util/ident.h"

static const char *const rule_types[] = {"completeness", "validity", "uniqueness", "consistency",
"referential", "freshness", "row_count", "schema", "custom"};
static const char *const check_kinds[] = {"range", "pattern", "format", "allowed_values", "length", "type"};
static const char *const gates[] = {"error", "warn", "none"};
static const char *const severities[] = {"error", "warn"};
static const char *const catchups[] = {"latest", "all", "none"};
static const char *const alert_events[] = {"failure", "success", "sla_violation", "quality_failure", "anomaly", "retry"};

/* ---------------------------------------------------------------- quality */

/*
 * vrule_fix_type
 *		The original design's example writes a validity rule with two type:
 *		keys (type: validity, then type: pattern).  Accept that with a warning
 *		and read the second as check:.  Returns the map to validate.
 */
static const CfgNode *
vrule_fix_type(VCtx *c, const CfgNode *r, const char *path)
{
	int			ntype = 0;
	int			second = -1;
	CfgNode    *copy;

	for (int i = 0; i < r->n; i++)
		if (strcmp(r->pairs[i].key->str, "type") == 0 && ++ntype == 2)
			second = i;
	if (ntype != 2 || CfgMapGet(r, "check") != NULL)
		return r;
	if (CfgMapGet(r, "type")->kind != CFG_STRING || strcmp(CfgMapGet(r, "type")->str, "validity") != 0)
		return r;
	copy = cfgv_need(CfgNewNode(c->arena, CFG_MAP, r->line, r->col));
	for (int i = 0; i < r->n; i++)
	{
		CfgNode    *k = r->pairs[i].key;

		if (i == second)
		{
			k = cfgv_need(CfgNewString(c->arena, "check", k->line, k->col));
			cfgv_warn(c, cfgv_path(path, "type"), r->pairs[i].key,
				  "duplicate key \"type\": the second one (\"%s\") is read as check: %s; write type: validity and check: %s",
				  r->pairs[i].value->kind == CFG_STRING ? r->pairs[i].value->str : "?",
				  r->pairs[i].value->kind == CFG_STRING ? r->pairs[i].value->str : "?",
				  r->pairs[i].value->kind == CFG_STRING ? r->pairs[i].value->str : "?");
		}
		if (!CfgMapAppend(c->arena, copy, k, r->pairs[i].value))
			cfgv_need(NULL);
	}
	return copy;
}

static CfgNode *
vrule(VCtx *c, const CfgNode *r, const char *path, int index, List **names)
{
	static const char *const common[] = {"name", "type", "severity", "threshold", "where", "on", "description"};
	static const char *const extra_validity[] = {"column", "check", "min", "max", "inclusive", "pattern", "format", "values", "data_type"};
	static const char *const extra_uniq[] = {"column", "columns"};
	static const char *const extra_cons[] = {"expression"};
	static const char *const extra_ref[] = {"column", "ref_table", "ref_column"};
	static const char *const extra_fresh[] = {"column", "max_age"};
	static const char *const extra_rows[] = {"min", "max", "max_change_pct"};
	static const char *const extra_schema[] = {"required_columns", "forbidden_columns", "types"};
	static const char *const extra_custom[] = {"query"};
	static const char *const extra_compl[] = {"column"};
	const char *allowed[24];
	int			nallowed = 0;
	const char *const *extra = NULL;
	int			nextra = 0;
	CfgNode    *out = cfgv_map(c);
	CfgNode    *n;
	const char *type = NULL;
	const char *column = NULL;
	char	   *name;
	ListCell   *lc;

	if (!cfgv_is_map(c, r, path, "a quality rule"))
		return NULL;
	r = vrule_fix_type(c, r, path);
	if ((n = cfgv_get(c, r, path, "type", true)) &&
		(type = cfgv_enum(c, n, cfgv_path(path, "type"), "rule type", rule_types, lengthof_arr(rule_types))))
		cfgv_put(c, out, "type", cfgv_str(c, type));
	if (type == NULL)
		return NULL;
#define EXTRA(a) do { extra = (a); nextra = lengthof_arr(a); } while (0)
	if (strcmp(type, "completeness") == 0)
		EXTRA(extra_compl);
	else if (strcmp(type, "validity") == 0)
		EXTRA(extra_validity);
	else if (strcmp(type, "uniqueness") == 0)
		EXTRA(extra_uniq);
	else if (strcmp(type, "consistency") == 0)
		EXTRA(extra_cons);
	else if (strcmp(type, "referential") == 0)
		EXTRA(extra_ref);
	else if (strcmp(type, "freshness") == 0)
		EXTRA(extra_fresh);
	else if (strcmp(type, "row_count") == 0)
		EXTRA(extra_rows);
	else if (strcmp(type, "schema") == 0)
		EXTRA(extra_schema);
	else
		EXTRA(extra_custom);
#undef EXTRA
	for (int i = 0; i < lengthof_arr(common); i++)
		allowed[nallowed++] = common[i];
	for (int i = 0; i < nextra; i++)
		allowed[nallowed++] = extra[i];
	cfgv_keys(c, r, path, allowed, nallowed, false);

	/* column-based kinds */
	if (strcmp(type, "completeness") == 0 || strcmp(type, "validity") == 0 ||
		strcmp(type, "referential") == 0 || strcmp(type, "freshness") == 0)
	{
		if ((n = cfgv_get(c, r, path, "column", true)) && (column = cfgv_string(c, n, cfgv_path(path, "column"))))
			cfgv_put(c, out, "column", n);
	}
	if (strcmp(type, "validity") == 0)
	{
		const char *check = NULL;

		if ((n = cfgv_get(c, r, path, "check", true)) &&
			(check = cfgv_enum(c, n, cfgv_path(path, "check"), "validity check", check_kinds, lengthof_arr(check_kinds))))
			cfgv_put(c, out, "check", cfgv_str(c, check));
		if (check && (strcmp(check, "range") == 0 || strcmp(check, "length") == 0))
		{
			CfgNode    *mn = cfgv_get(c, r, path, "min", false);
			CfgNode    *mx = cfgv_get(c, r, path, "max", false);
			bool		length = strcmp(check, "length") == 0;

			if (!mn && !mx)
				cfgv_error(c, cfgv_path(path, "min"), r, "a %s check needs min, max or both", check);
			if (mn && (length ? cfgv_number(c, mn, cfgv_path(path, "min"), 0, 1e9, true) != NULL :
					   (mn->kind == CFG_NUMBER || (mn->kind == CFG_STRING && cfgv_string(c, mn, cfgv_path(path, "min"))))))
				cfgv_put(c, out, "min", mn);
			else if (mn && !length && mn->kind != CFG_STRING)
				cfgv_error(c, cfgv_path(path, "min"), mn, "must be a number or a string, not a %s", CfgKindName(mn->kind));
			if (mx && (length ? cfgv_number(c, mx, cfgv_path(path, "max"), 0, 1e9, true) != NULL :
					   (mx->kind == CFG_NUMBER || (mx->kind == CFG_STRING && cfgv_string(c, mx, cfgv_path(path, "max"))))))
				cfgv_put(c, out, "max", mx);
			else if (mx && !length && mx->kind != CFG_STRING)
				cfgv_error(c, cfgv_path(path, "max"), mx, "must be a number or a string, not a %s", CfgKindName(mx->kind));
			if (mn && mx && mn->kind == CFG_NUMBER && mx->kind == CFG_NUMBER &&
				strtod(mn->str, NULL) > strtod(mx->str, NULL))
				cfgv_error(c, cfgv_path(path, "max"), mx, "max (%s) is less than min (%s)", mx->str, mn->str);
			if (!length)
			{
				if ((n = cfgv_get(c, r, path, "inclusive", false)))
				{
					if (cfgv_boolean(c, n, cfgv_path(path, "inclusive")))
						cfgv_put(c, out, "inclusive", n);
				}
				else
					cfgv_put(c, out, "inclusive", cfgv_bool(c, true));
			}
		}
		else if (check && strcmp(check, "pattern") == 0)
		{
			if ((n = cfgv_get(c, r, path, "pattern", true)) && cfgv_string(c, n, cfgv_path(path, "pattern")))
			{
				char	   *problem = MetaetlCheckRegex(n->str);

				if (problem)
					cfgv_error(c, cfgv_path(path, "pattern"), n, "invalid pattern: %s", problem);
				else
					cfgv_put(c, out, "pattern", n);
			}
		}
		else if (check && strcmp(check, "format") == 0)
		{
			if ((n = cfgv_get(c, r, path, "format", true)) && cfgv_string(c, n, cfgv_path(path, "format")))
				cfgv_put(c, out, "format", n);
		}
		else if (check && strcmp(check, "allowed_values") == 0)
		{
			if ((n = cfgv_get(c, r, path, "values", true)))
			{
				if (n->kind != CFG_SEQ || n->n == 0)
					cfgv_error(c, cfgv_path(path, "values"), n, "must be a non-empty list");
				else
					cfgv_put(c, out, "values", n);
			}
		}
		else if (check && strcmp(check, "type") == 0)
		{
			if ((n = cfgv_get(c, r, path, "data_type", true)) && cfgv_type(c, n, cfgv_path(path, "data_type")))
				cfgv_put(c, out, "data_type", n);
		}
	}
	else if (strcmp(type, "uniqueness") == 0)
	{
		CfgNode    *col = cfgv_get(c, r, path, "column", false);
		CfgNode    *cols = cfgv_get(c, r, path, "columns", false);

		if (!col && !cols)
			cfgv_error(c, cfgv_path(path, "column"), r, "a uniqueness rule needs column or columns");
		if (col && (column = cfgv_string(c, col, cfgv_path(path, "column"))))
			cfgv_put(c, out, "column", col);
		if (cols && (cols = cfgv_strlist(c, cols, cfgv_path(path, "columns"), true)))
		{
			cfgv_put(c, out, "columns", cols);
			if (cols->n == 1 && !col)
				column = cols->items[0]->str;
		}
	}
	else if (strcmp(type, "consistency") == 0)
	{
		if ((n = cfgv_get(c, r, path, "expression", true)) && (n = cfgv_expr(c, n, cfgv_path(path, "expression"))))
			cfgv_put(c, out, "expression", n);
	}
	else if (strcmp(type, "referential") == 0)
	{
		if ((n = cfgv_get(c, r, path, "ref_table", true)) && cfgv_relname(c, n, cfgv_path(path, "ref_table")))
			cfgv_put(c, out, "ref_table", n);
		if ((n = cfgv_get(c, r, path, "ref_column", true)) && cfgv_string(c, n, cfgv_path(path, "ref_column")))
			cfgv_put(c, out, "ref_column", n);
	}
	else if (strcmp(type, "freshness") == 0)
	{
		if ((n = cfgv_get(c, r, path, "max_age", true)) && cfgv_string(c, n, cfgv_path(path, "max_age")))
		{
			char	   *problem = MetaetlCheckInterval(n->str);

			if (problem)
				cfgv_error(c, cfgv_path(path, "max_age"), n, "invalid interval: %s", problem);
			else
				cfgv_put(c, out, "max_age", n);
		}
	}
	else if (strcmp(type, "row_count") == 0)
	{
		CfgNode    *mn = cfgv_get(c, r, path, "min", false);
		CfgNode    *mx = cfgv_get(c, r, path, "max", false);
		CfgNode    *ch = cfgv_get(c, r, path, "max_change_pct", false);

		if (!mn && !mx && !ch)
			cfgv_error(c, cfgv_path(path, "min"), r, "a row_count rule needs min, max or max_change_pct");
		if (mn && cfgv_number(c, mn, cfgv_path(path, "min"), 0, INFINITY, true))
			cfgv_put(c, out, "min", mn);
		if (mx && cfgv_number(c, mx, cfgv_path(path, "max"), 0, INFINITY, true))
			cfgv_put(c, out, "max", mx);
		if (ch && cfgv_number(c, ch, cfgv_path(path, "max_change_pct"), 0, INFINITY, false))
			cfgv_put(c, out, "max_change_pct", ch);
	}
	else if (strcmp(type, "schema") == 0)
	{
		CfgNode    *rc = cfgv_get(c, r, path, "required_columns", false);
		CfgNode    *fc = cfgv_get(c, r, path, "forbidden_columns", false);
		CfgNode    *ty = cfgv_get(c, r, path, "types", false);

		if (!rc && !fc && !ty)
			cfgv_error(c, cfgv_path(path, "required_columns"), r, "a schema rule needs required_columns, forbidden_columns or types");
		if (rc && (rc = cfgv_strlist(c, rc, cfgv_path(path, "required_columns"), true)))
			cfgv_put(c, out, "required_columns", rc);
		if (fc && (fc = cfgv_strlist(c, fc, cfgv_path(path, "forbidden_columns"), true)))
			cfgv_put(c, out, "forbidden_columns", fc);
		if (ty && cfgv_is_map(c, ty, cfgv_path(path, "types"), "types"))
		{
			CfgNode    *tm = cfgv_map(c);

			for (int i = 0; i < ty->n; i++)
				if (cfgv_type(c, ty->pairs[i].value, cfgv_path(cfgv_path(path, "types"), ty->pairs[i].key->str)))
					if (!CfgMapAppend(c->arena, tm, ty->pairs[i].key, ty->pairs[i].value))
						cfgv_need(NULL);
			cfgv_put(c, out, "types", tm);
		}
	}
	else if (strcmp(type, "custom") == 0)
	{
		if ((n = cfgv_get(c, r, path, "query", true)) && cfgv_query(c, n, cfgv_path(path, "query"), false))
			cfgv_put(c, out, "query", n);
	}

	/* common keys */
	if ((n = cfgv_get(c, r, path, "name", false)))
		name = cfgv_id(c, n, cfgv_path(path, "name")) ? n->str : NULL;
	else
		name = column && strcmp(type, "uniqueness") != 0 ? psprintf("%s_%s", type, column) :
			column ? psprintf("%s_%s", type, column) : psprintf("%s_%d", type, index + 1);
	if (name)
	{
		foreach(lc, *names)
			if (strcmp((char *) lfirst(lc), name) == 0)
				cfgv_error(c, cfgv_path(path, "name"), n ? n : r,
					   "rule name \"%s\" is used twice: give the rules distinct names", name);
		*names = lappend(*names, name);
		cfgv_put(c, out, "name", n ? n : cfgv_str(c, name));
	}
	if ((n = cfgv_get(c, r, path, "severity", false)))
	{
		const char *sev = n->kind == CFG_STRING && strcmp(n->str, "warning") == 0 ? "warn" :
			cfgv_enum(c, n, cfgv_path(path, "severity"), "severity", severities, lengthof_arr(severities));

		if (sev)
			cfgv_put(c, out, "severity", cfgv_str(c, sev));
	}
	else
		cfgv_put(c, out, "severity", cfgv_str(c, "error"));
	if ((n = cfgv_get(c, r, path, "threshold", false)))
	{
		if (cfgv_number(c, n, cfgv_path(path, "threshold"), 0, 100, false))
			cfgv_put(c, out, "threshold", n);
	}
	else
		cfgv_put(c, out, "threshold", cfgv_num(c, "100"));
	if ((n = cfgv_get(c, r, path, "where", false)) && (n = cfgv_expr(c, n, cfgv_path(path, "where"))))
		cfgv_put(c, out, "where", n);
	if ((n = cfgv_get(c, r, path, "on", false)))
	{
		if (cfgv_id(c, n, cfgv_path(path, "on")))
		{
			c->rule_refs = lappend(c->rule_refs, cfgv_dep(n->str, cfgv_path(path, "on"), n));
			cfgv_put(c, out, "on", n);
		}
	}
	else if (c->first_source)
		cfgv_put(c, out, "on", cfgv_str(c, c->first_source));
	if ((n = cfgv_get(c, r, path, "description", false)))
		cfgv_put(c, out, "description", n);
	return out;
}

CfgNode *
cfgv_quality(VCtx *c, const CfgNode *q, const char *path)
{
	static const char *const keys[] = {"gate", "rules"};
	CfgNode    *out = cfgv_map(c);
	CfgNode    *rules = cfgv_seq(c);
	CfgNode    *n;
	List	   *names = NIL;

	if (q == NULL || !cfgv_is_map(c, q, path, "quality"))
	{
		cfgv_put(c, out, "gate", cfgv_str(c, "error"));
		cfgv_put(c, out, "rules", rules);
		return out;
	}
	cfgv_keys(c, q, path, keys, lengthof_arr(keys), false);
	if ((n = cfgv_get(c, q, path, "gate", false)))
	{
		const char *g = cfgv_enum(c, n, cfgv_path(path, "gate"), "quality gate", gates, lengthof_arr(gates));

		if (g)
			cfgv_put(c, out, "gate", cfgv_str(c, g));
	}
	else
		cfgv_put(c, out, "gate", cfgv_str(c, "error"));
	if ((n = cfgv_get(c, q, path, "rules", false)))
	{
		if (n->kind != CFG_SEQ)
			cfgv_error(c, cfgv_path(path, "rules"), n, "rules must be a list, not a %s", CfgKindName(n->kind));
		else if (n->n > MAX_ITEMS)
			cfgv_error(c, cfgv_path(path, "rules"), n, "a pipeline has at most %d quality rules", MAX_ITEMS);
		else
			for (int i = 0; i < n->n; i++)
			{
				CfgNode    *r = vrule(c, n->items[i], cfgv_idx(cfgv_path(path, "rules"), i), i, &names);

				if (r)
					cfgv_append(c, rules, r);
			}
	}
	cfgv_put(c, out, "rules", rules);
	return out;
}

/* ------------------------------------------------ sla, retry, schedule ... */

CfgNode *
cfgv_sla(VCtx *c, const CfgNode *s, const char *path)
{
	/*
	 * The keys of the monitoring subsystem's etl.apply_sla_config(); the
	 * older spellings window_runs and max_data_age_minutes are accepted and
	 * normalised to success_rate_window and freshness.max_age.
	 */
	static const char *const keys[] = {"max_duration_minutes", "min_success_rate", "min_quality_score",
	"max_data_age_minutes", "window_runs", "success_rate_window", "freshness"};
	static const double mins[] = {0, 0, 0, 0, 1};
	static const double maxs[] = {INFINITY, 1, 100, INFINITY, 100000};
	CfgNode    *out = cfgv_map(c);
	CfgNode    *n;

	if (s == NULL || !cfgv_is_map(c, s, path, "sla"))
		return out;
	cfgv_keys(c, s, path, keys, lengthof_arr(keys), false);
	for (int i = 0; i < 3; i++)
	{
		n = cfgv_get(c, s, path, keys[i], false);
		if (n && cfgv_number(c, n, cfgv_path(path, keys[i]), mins[i], maxs[i], false))
		{
			if (i == 0 && strtod(n->str, NULL) <= 0)
				cfgv_error(c, cfgv_path(path, keys[i]), n, "must be greater than 0, not %s", n->str);
			else
				cfgv_put(c, out, keys[i], n);
		}
	}

	/* success_rate_window: a number of runs, or an interval such as "7 days" */
	if ((n = cfgv_get(c, s, path, "success_rate_window", false)))
	{
		if (n->kind == CFG_STRING)
			cfgv_put(c, out, "success_rate_window", n);
		else if (cfgv_number(c, n, cfgv_path(path, "success_rate_window"), 1, 100000, true))
			cfgv_put(c, out, "success_rate_window", n);
	}
	else if ((n = cfgv_get(c, s, path, "window_runs", false)) &&
			 cfgv_number(c, n, cfgv_path(path, "window_runs"), 1, 100000, true))
		cfgv_put(c, out, "success_rate_window", n);

	/* freshness: {max_age, table, column}, or max_data_age_minutes */
	if ((n = cfgv_get(c, s, path, "freshness", false)))
	{
		static const char *const fkeys[] = {"max_age", "table", "column"};
		const char *fpath = cfgv_path(path, "freshness");

		if (cfgv_is_map(c, n, fpath, "freshness"))
		{
			CfgNode    *f = cfgv_map(c);
			CfgNode    *v;

			cfgv_keys(c, n, fpath, fkeys, lengthof_arr(fkeys), false);
			for (int i = 0; i < 3; i++)
			{
				v = cfgv_get(c, n, fpath, fkeys[i], i == 0);
				if (v && cfgv_string(c, v, cfgv_path(fpath, fkeys[i])))
					cfgv_put(c, f, fkeys[i], v);
			}
			cfgv_put(c, out, "freshness", f);
		}
	}
	else if ((n = cfgv_get(c, s, path, "max_data_age_minutes", false)) &&
			 cfgv_number(c, n, cfgv_path(path, "max_data_age_minutes"), 0, INFINITY, false))
	{
		CfgNode    *f = cfgv_map(c);

		if (strtod(n->str, NULL) <= 0)
			cfgv_error(c, cfgv_path(path, "max_data_age_minutes"), n, "must be greater than 0, not %s", n->str);
		cfgv_put(c, f, "max_age", cfgv_str(c, psprintf("%s minutes", n->str)));
		cfgv_put(c, out, "freshness", f);
	}
	return out;
}

CfgNode *
cfgv_retry(VCtx *c, const CfgNode *r, const char *path)
{
	static const char *const keys[] = {"max_attempts", "initial_delay_s", "backoff", "max_delay_s", "jitter"};
	static const char *const defs[] = {"3", "5", "2.0", "300", NULL};
	static const double mins[] = {1, 0, 1, 0};
	static const double maxs[] = {100, 86400, 100, 604800};
	CfgNode    *out = cfgv_map(c);

	if (r && !cfgv_is_map(c, r, path, "retry"))
		r = NULL;
	if (r)
		cfgv_keys(c, r, path, keys, lengthof_arr(keys), false);
	for (int i = 0; i < 4; i++)
	{
		CfgNode    *n = r ? cfgv_get(c, r, path, keys[i], false) : NULL;

		if (n)
		{
			if (cfgv_number(c, n, cfgv_path(path, keys[i]), mins[i], maxs[i], i == 0))
				cfgv_put(c, out, keys[i], n);
		}
		else
			cfgv_put(c, out, keys[i], cfgv_num(c, defs[i]));
	}
	{
		CfgNode    *n = r ? cfgv_get(c, r, path, "jitter", false) : NULL;

		if (n)
		{
			if (cfgv_boolean(c, n, cfgv_path(path, "jitter")))
				cfgv_put(c, out, "jitter", n);
		}
		else
			cfgv_put(c, out, "jitter", cfgv_bool(c, true));
	}
	return out;
}

CfgNode *
cfgv_schedule(VCtx *c, const CfgNode *s, const char *path)
{
	static const char *const keys[] = {"cron", "timezone", "depends_on", "catchup"};
	CfgNode    *out = cfgv_map(c);
	CfgNode    *n;

	if (s == NULL)
		return cfgv_null(c);
	if (!cfgv_is_map(c, s, path, "schedule"))
		return cfgv_null(c);
	cfgv_keys(c, s, path, keys, lengthof_arr(keys), false);
	if ((n = cfgv_get(c, s, path, "cron", false)) && cfgv_string(c, n, cfgv_path(path, "cron")))
	{
		char		err[256];
		CronSchedule parsed;

		/* the scheduler's own parser: valid exactly when it can run */
		if (!CronParse(n->str, &parsed, err, sizeof(err)))
			cfgv_error(c, cfgv_path(path, "cron"), n, "invalid cron expression \"%s\": %s", n->str, err);
		else
			cfgv_put(c, out, "cron", n);
	}
	if ((n = cfgv_get(c, s, path, "timezone", false)))
	{
		if (cfgv_timezone(c, n, cfgv_path(path, "timezone")))
			cfgv_put(c, out, "timezone", n);
	}
	else
		cfgv_put(c, out, "timezone", cfgv_str(c, "UTC"));
	if ((n = cfgv_get(c, s, path, "depends_on", false)) && n->kind == CFG_STRING &&
		n->str && strcmp(n->str, "auto") == 0)
		cfgv_put(c, out, "depends_on", n);	/* from lineage (src/lineage) */
	else if (n)
	{
		CfgNode    *l = cfgv_strlist(c, n, cfgv_path(path, "depends_on"), false);

		if (l)
		{
			for (int i = 0; i < l->n; i++)
				cfgv_id(c, l->items[i], n->kind == CFG_SEQ ? cfgv_idx(cfgv_path(path, "depends_on"), i) : cfgv_path(path, "depends_on"));
			cfgv_put(c, out, "depends_on", l);
		}
	}
	else
		cfgv_put(c, out, "depends_on", cfgv_seq(c));
	if (!CfgMapGet(s, "cron") && !CfgMapGet(s, "depends_on"))
		cfgv_error(c, cfgv_path(path, "cron"), s, "a schedule needs cron, depends_on or both");
	if ((n = cfgv_get(c, s, path, "catchup", false)))
	{
		const char *v = cfgv_enum(c, n, cfgv_path(path, "catchup"), "catchup policy", catchups, lengthof_arr(catchups));

		if (v)
			cfgv_put(c, out, "catchup", cfgv_str(c, v));
	}
	else
		cfgv_put(c, out, "catchup", cfgv_str(c, "latest"));
	return out;
}

CfgNode *
cfgv_alerts(VCtx *c, const CfgNode *a, const char *path)
{
	static const char *const keys[] = {"on", "channels", "performance_factor"};
	CfgNode    *out = cfgv_map(c);
	CfgNode    *n;

	if (a && !cfgv_is_map(c, a, path, "alerts"))
		a = NULL;
	if (a)
		cfgv_keys(c, a, path, keys, lengthof_arr(keys), false);
	/* monitoring's performance alert: slower than p95 of earlier runs times this */
	if (a && (n = cfgv_get(c, a, path, "performance_factor", false)) &&
		(n = cfgv_number(c, n, cfgv_path(path, "performance_factor"), 1, 100, false)))
		cfgv_put(c, out, "performance_factor", n);
	if (a && (n = cfgv_get(c, a, path, "on", false)))
	{
		CfgNode    *l = cfgv_strlist(c, n, cfgv_path(path, "on"), false);

		if (l)
		{
			for (int i = 0; i < l->n; i++)
				cfgv_enum(c, l->items[i], n->kind == CFG_SEQ ? cfgv_idx(cfgv_path(path, "on"), i) : cfgv_path(path, "on"),
					  "alert event", alert_events, lengthof_arr(alert_events));
			cfgv_put(c, out, "on", l);
		}
	}
	else
	{
		CfgNode    *l = cfgv_seq(c);

		cfgv_append(c, l, cfgv_str(c, "failure"));
		cfgv_put(c, out, "on", l);
	}
	if (a && (n = cfgv_get(c, a, path, "channels", false)))
	{
		CfgNode    *l = cfgv_strlist(c, n, cfgv_path(path, "channels"), false);

		if (l)
		{
			for (int i = 0; i < l->n; i++)
				cfgv_id(c, l->items[i], n->kind == CFG_SEQ ? cfgv_idx(cfgv_path(path, "channels"), i) : cfgv_path(path, "channels"));
			cfgv_put(c, out, "channels", l);
		}
	}
	else
		cfgv_put(c, out, "channels", cfgv_seq(c));
	return out;
}

/*
 * etl._normalize_sla(pipeline_id text, sla jsonb) → jsonb
 *		The SLA block in the validator's normal form (older spellings
 *		mapped), or an error listing every problem with its config path.
 *
 * Monitoring's etl.apply_sla_config() calls this first, so the SLA keys
 * and their ranges have one owner (cfgv_sla above) whether an SLA arrives
 * through register_pipeline or is applied on its own.
 */
PG_FUNCTION_INFO_V1(metaetl_normalize_sla);

Datum
metaetl_normalize_sla(PG_FUNCTION_ARGS)
{
	char	   *pipeline_id = PG_ARGISNULL(0) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *sla = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	CfgValidation *v = palloc0(sizeof(CfgValidation));
	VCtx		c;
	CfgNode    *out;

	memset(&c, 0, sizeof(c));
	c.v = v;
	c.arena = MetaetlArenaForContext(CFG_DEFAULT_MAX_MEMORY);
	out = cfgv_sla(&c, sla ? MetaetlJsonbToTree(c.arena, sla) : NULL, "pipeline.sla");
	if (v->nerrors > 0)
	{
		StringInfoData detail;
		ListCell   *lc;

		initStringInfo(&detail);
		foreach(lc, v->problems)
		{
			CfgProblem *p = lfirst(lc);

			if (p->is_error)
				appendStringInfo(&detail, "%s%s: %s", detail.len ? "\n" : "", p->path, p->message);
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sla of pipeline \"%s\" is not valid", pipeline_id),
				 errdetail_internal("%s", detail.data),
				 errhint("SLA keys are max_duration_minutes, min_success_rate, success_rate_window, "
						 "min_quality_score and freshness {max_age, table, column}.")));
	}
	PG_RETURN_JSONB_P(MetaetlTreeToJsonb(out));
}
