/*-------------------------------------------------------------------------
 *
 * src/quality/rules.c
 *		The one normaliser and validator of quality rules.
 *
 * A rule set arrives as a configuration tree (CfgNode, with YAML line and
 * column) from etl.validate_config, or as jsonb from the SQL functions,
 * which turn it into a tree first (MetaetlJsonbToTree).  Both go through
 * QualityCheckBlock(), which reports every problem with its config path
 * through the validator's helpers (config/validate_int.h) and builds the
 * normalised rules: explicit defaults (name, severity, threshold and the
 * kind's own), canonical spellings (the shorthand type: pattern becomes
 * type: validity, check: pattern; inclusive: false becomes strict_min and
 * strict_max), expressions through PostgreSQL's parser.
 *
 * The SQL side (QualityNormalize) raises the first error as 22023 with the
 * rule's position and config path in the detail.  Problems that need the
 * data (unknown columns, a numeric bound on a text column) are the
 * compiler's (scan.c): the dataset is not known here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "config/validate_int.h"
#include "quality/quality.h"
#include "quality/rules.h"
#include "util/ident.h"

/*
 * The kinds.  Dimensions: docs/quality.md ("Score"); tables: where the
 * results of a kind are recorded (sql/install/70_quality.sql).
 */
static const QualityRuleKind rule_kinds[] = {
	{"completeness", "completeness", QE_ROW, "completeness_checks"},
	{"validity", "validity", QE_ROW, "validity_checks"},
	{"uniqueness", "uniqueness", QE_GROUP, "uniqueness_checks"},
	{"consistency", "consistency", QE_ROW, "dq_results"},
	{"referential", "consistency", QE_ROW, "dq_results"},
	{"freshness", "timeliness", QE_AGG, "dq_results"},
	{"row_count", "completeness", QE_AGG, "dq_results"},
	{"schema", "validity", QE_SHAPE, "dq_results"},
	{"custom", "consistency", QE_QUERY, "dq_results"},
	{"min", "validity", QE_AGG, "dq_results"},
	{"max", "validity", QE_AGG, "dq_results"},
	{"mean", "validity", QE_AGG, "dq_results"},
	{"sum", "validity", QE_AGG, "dq_results"},
	{"stddev", "validity", QE_AGG, "dq_results"},
	{"median", "validity", QE_AGG, "dq_results"},
	{"quantile", "validity", QE_AGG, "dq_results"},
	{"distinct_count", "uniqueness", QE_AGG, "dq_results"},
	{"proportion_unique", "uniqueness", QE_AGG, "dq_results"},
	{"most_common", "validity", QE_AGG, "dq_results"},
	{"distinct_values", "validity", QE_AGG, "dq_results"},
	{"monotonic", "consistency", QE_AGG, "dq_results"},
	{"parseable", "validity", QE_ROW, "dq_results"},
	{"date_format", "validity", QE_ROW, "dq_results"},
	{"column_pair", "consistency", QE_ROW, "dq_results"},
	{"columns", "validity", QE_SHAPE, "dq_results"},
	{"column_count", "validity", QE_SHAPE, "dq_results"},
	{"column_types", "validity", QE_SHAPE, "dq_results"},
	{"row_count_equal", "completeness", QE_QUERY, "dq_results"},
	{"outliers", "validity", QE_AGG, "dq_results"},
	{"drift", "consistency", QE_AGG, "dq_results"},
};

#define NKINDS lengthof_arr(rule_kinds)

static const char *const check_kinds[] = {"range", "pattern", "format", "allowed_values", "length", "type"};
static const char *const shorthand[] = {"range", "pattern", "format", "allowed_values", "length"};

/*
 * QualityRuleTypeName
 *		The i'th rule type a config may write (the kinds, then the validity
 *		shorthands), or NULL past the last: etl._config_vocabulary lists them
 *		so that docs/config-schema.json can be checked against this table.
 */
const char *
QualityRuleTypeName(int i)
{
	if (i >= 0 && i < (int) NKINDS)
		return rule_kinds[i].type;
	i -= NKINDS;
	if (i >= 0 && i < lengthof_arr(shorthand))
		return shorthand[i];
	return NULL;
}
static const char *const gates[] = {"error", "warn", "none"};
static const char *const severities[] = {"error", "warn"};
static const char *const formats[] = {"email", "url", "uuid", "date", "timestamp", "iso8601", "phone", "json", "ipv4"};
static const char *const data_types[] = {"integer", "int", "int2", "int4", "int8", "bigint", "smallint",
	"numeric", "decimal", "float", "float4", "float8", "real", "double precision",
	"boolean", "bool", "date", "timestamp", "timestamptz", "uuid", "json", "jsonb", "text", "string"};
static const char *const flavors[] = {"pcre", "postgres"};
static const char *const null_modes[] = {"pass", "fail"};
static const char *const nulls_distinct[] = {"distinct", "not_distinct"};
static const char *const directions[] = {"increasing", "decreasing"};
static const char *const parse_as[] = {"date", "timestamp", "json", "uuid", "numeric", "inet"};
static const char *const pair_checks[] = {"equal", "not_equal", "greater", "greater_or_equal", "less", "less_or_equal"};
static const char *const outlier_methods[] = {"zscore", "iqr", "mad", "isolation_forest"};
static const char *const drift_methods[] = {"ks", "chi2", "psi"};
static const char *const casts[] = {"numeric", "date", "timestamp"};

static const char *const common_keys[] = {"name", "type", "severity", "threshold", "where", "on", "description"};

/* kind-specific keys */
static const char *const k_column[] = {"column"};
static const char *const k_validity[] = {"column", "check", "min", "max", "inclusive", "strict_min", "strict_max",
"cast", "pattern", "flavor", "format", "values", "data_type"};
static const char *const k_uniq[] = {"column", "columns", "nulls"};
static const char *const k_cons[] = {"expression", "null_is"};
static const char *const k_ref[] = {"column", "ref", "ref_table", "ref_column"};
static const char *const k_fresh[] = {"column", "max_age"};
static const char *const k_rows[] = {"min", "max", "max_change_pct"};
static const char *const k_schema[] = {"required_columns", "forbidden_columns", "types"};
static const char *const k_custom[] = {"query"};
static const char *const k_stat[] = {"column", "min", "max", "strict_min", "strict_max"};
static const char *const k_quantile[] = {"column", "q", "min", "max", "strict_min", "strict_max", "approximate"};
/* median, distinct_count, proportion_unique: sketches when approximate: true */
static const char *const k_approx[] = {"column", "min", "max", "strict_min", "strict_max", "approximate"};
static const char *const k_most[] = {"column", "in"};
static const char *const k_dvals[] = {"column", "contains", "equals", "subset_of"};
static const char *const k_mono[] = {"column", "direction", "strict", "order_by"};
static const char *const k_parse[] = {"column", "as"};
static const char *const k_datefmt[] = {"column", "format"};
static const char *const k_pair[] = {"columns", "check", "or_equal"};
static const char *const k_cols[] = {"exactly", "contains", "ordered"};
static const char *const k_colcount[] = {"min", "max"};
static const char *const k_coltypes[] = {"types"};
static const char *const k_rceq[] = {"ref"};
static const char *const k_outliers[] = {"columns", "method", "max_fraction", "options"};
static const char *const k_drift[] = {"column", "method"};

/*
 * QualityRuleKindLookup
 *		The rule kind entry for a rule's "type", or NULL when there is
 *		none. The one table of kinds (rule_kinds) is shared by rule
 *		validation here, the scan planner (scan.c) and catalog
 *		validation (validate_catalog.c), so a type known to one is
 *		known to all; a NULL is the caller's to handle (skipped by
 *		catalog validation).
 */
const QualityRuleKind *
QualityRuleKindLookup(const char *type)
{
	for (int i = 0; i < NKINDS; i++)
		if (strcmp(rule_kinds[i].type, type) == 0)
			return &rule_kinds[i];
	return NULL;
}

/* ks and psi compare numeric distributions; chi2 categorical ones */
bool
QualityNumericDriftMethod(const char *method)
{
	return strcmp(method, "chi2") != 0;
}

static bool
kind_is(const char *type, const char *const *set, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(type, set[i]) == 0)
			return true;
	return false;
}

/*
 * The regular expressions (PCRE2) behind validity format and type checks
 * and the profile's semantic types; json is checked by a parser instead.
 */
static const char *const format_patterns[][2] = {
	{"email", "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"},
	{"url", "^(https?|ftp)://[^\\s/$.?#][^\\s]*$"},
	{"uuid", "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"},
	{"date", "^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$"},
	{"timestamp", "^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])[ T]([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d+)?)?([+-]\\d{2}(:?\\d{2})?|Z)?$"},
	{"iso8601", "^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])(T([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d+)?)?(Z|[+-]\\d{2}(:?\\d{2})?)?)?$"},
	{"phone", "^\\+?[0-9][0-9 ().-]{5,18}[0-9]$"},
	{"ipv4", "^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$"},
	{"integer", "^\\s*[+-]?\\d+\\s*$"},
	{"numeric", "^\\s*[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?\\s*$"},
	{"boolean", "^\\s*([tT]([rR][uU][eE])?|[fF]([aA][lL][sS][eE])?|[yY]([eE][sS])?|[nN][oO]?|[oO][nN]|[oO][fF][fF]|1|0)\\s*$"},
};

/* the pattern of a format (or of a type check's format); NULL for json and unknown */
const char *
QualityFormatPattern(const char *name)
{
	for (int i = 0; i < lengthof_arr(format_patterns); i++)
		if (strcmp(format_patterns[i][0], name) == 0)
			return format_patterns[i][1];
	return NULL;
}

/* the format a validity type check uses for a data_type (rules.c vocabulary) */
const char *
QualityTypeFormat(const char *data_type)
{
	static const char *const map[][2] = {
		{"integer", "integer"}, {"int", "integer"}, {"int2", "integer"}, {"int4", "integer"},
		{"int8", "integer"}, {"bigint", "integer"}, {"smallint", "integer"},
		{"numeric", "numeric"}, {"decimal", "numeric"}, {"float", "numeric"}, {"float4", "numeric"},
		{"float8", "numeric"}, {"real", "numeric"}, {"double precision", "numeric"},
		{"boolean", "boolean"}, {"bool", "boolean"}, {"date", "date"}, {"timestamp", "timestamp"},
		{"timestamptz", "timestamp"}, {"uuid", "uuid"}, {"json", "json"}, {"jsonb", "json"},
		{"text", "text"}, {"string", "text"}};

	for (int i = 0; i < lengthof_arr(map); i++)
		if (strcmp(map[i][0], data_type) == 0)
			return map[i][1];
	return NULL;
}

/* ------------------------------------------------------------ helpers */

/* a string from a list of values; NULL when bad (reported) */
static const char *
rule_enum(VCtx *c, const CfgNode *r, CfgNode *out, const char *path, const char *key,
		  const char *what, const char *const *vals, int nvals, const char *dflt)
{
	CfgNode    *n = cfgv_get(c, r, path, key, dflt == NULL);
	const char *v;

	if (n == NULL)
	{
		if (dflt)
			cfgv_put(c, out, key, cfgv_str(c, dflt));
		return dflt;
	}
	v = cfgv_enum(c, n, cfgv_path(path, key), what, vals, nvals);
	if (v)
		cfgv_put(c, out, key, cfgv_str(c, v));
	return v;
}

static bool
rule_bool(VCtx *c, const CfgNode *r, CfgNode *out, const char *path, const char *key, bool dflt)
{
	CfgNode    *n = cfgv_get(c, r, path, key, false);

	if (n == NULL)
	{
		cfgv_put(c, out, key, cfgv_bool(c, dflt));
		return dflt;
	}
	if (cfgv_boolean(c, n, cfgv_path(path, key)))
	{
		cfgv_put(c, out, key, n);
		return n->bval;
	}
	return dflt;
}

/* a number in [min, max]; copied when good */
static CfgNode *
rule_number(VCtx *c, const CfgNode *r, CfgNode *out, const char *path, const char *key,
			bool required, double min, double max, bool integer)
{
	CfgNode    *n = cfgv_get(c, r, path, key, required);

	if (n && cfgv_number(c, n, cfgv_path(path, key), min, max, integer))
	{
		cfgv_put(c, out, key, n);
		return n;
	}
	return NULL;
}

static const char *
rule_string(VCtx *c, const CfgNode *r, CfgNode *out, const char *path, const char *key, bool required)
{
	CfgNode    *n = cfgv_get(c, r, path, key, required);
	const char *s;

	if (n == NULL)
		return NULL;
	s = cfgv_string(c, n, cfgv_path(path, key));
	if (s)
		cfgv_put(c, out, key, n);
	return s;
}

/* a list of strings (a single string is a list of one) */
static CfgNode *
rule_strlist(VCtx *c, const CfgNode *r, CfgNode *out, const char *path, const char *key,
			 bool required, bool nonempty)
{
	CfgNode    *n = cfgv_get(c, r, path, key, required);
	CfgNode    *l;

	if (n == NULL)
		return NULL;
	l = cfgv_strlist(c, n, cfgv_path(path, key), nonempty);
	if (l)
		cfgv_put(c, out, key, l);
	return l;
}

/* a list of scalar values (strings, numbers, booleans); NULLs are dropped */
static CfgNode *
rule_values(VCtx *c, const CfgNode *r, CfgNode *out, const char *path, const char *key, bool required)
{
	CfgNode    *n = cfgv_get(c, r, path, key, required);
	CfgNode    *l;

	if (n == NULL)
		return NULL;
	if (n->kind != CFG_SEQ)
	{
		cfgv_error(c, cfgv_path(path, key), n, "must be a list of values, not a %s", CfgKindName(n->kind));
		return NULL;
	}
	l = cfgv_seq(c);
	for (int i = 0; i < n->n; i++)
	{
		CfgNode    *v = n->items[i];

		if (v->kind == CFG_NULL)
			continue;
		if (v->kind == CFG_SEQ || v->kind == CFG_MAP)
		{
			cfgv_error(c, cfgv_idx(cfgv_path(path, key), i), v, "must be a value, not a %s", CfgKindName(v->kind));
			continue;
		}
		cfgv_append(c, l, v);
	}
	cfgv_put(c, out, key, l);
	return l;
}

/*
 * Bounds of a range or aggregate rule: min and/or max (numbers, or strings
 * for dates and other ordered types when allow_strings), strict_min and
 * strict_max (default false).  The legacy inclusive: false means both strict.
 */
static void
rule_bounds(VCtx *c, const CfgNode *r, CfgNode *out, const char *path, bool allow_strings, bool need_one)
{
	CfgNode    *mn = cfgv_get(c, r, path, "min", false);
	CfgNode    *mx = cfgv_get(c, r, path, "max", false);
	CfgNode    *inc = cfgv_get(c, r, path, "inclusive", false);
	bool		strict = false;

	if (need_one && !mn && !mx)
		cfgv_error(c, cfgv_path(path, "min"), r, "this rule needs min, max or both");
	for (int i = 0; i < 2; i++)
	{
		CfgNode    *b = i == 0 ? mn : mx;
		const char *key = i == 0 ? "min" : "max";

		if (b == NULL)
			continue;
		if (b->kind == CFG_NUMBER || (allow_strings && b->kind == CFG_STRING && cfgv_string(c, b, cfgv_path(path, key))))
			cfgv_put(c, out, key, b);
		else if (b->kind != CFG_STRING || !allow_strings)
			cfgv_error(c, cfgv_path(path, key), b, allow_strings ? "must be a number or a string, not a %s" :
					   "must be a number, not a %s", CfgKindName(b->kind));
	}
	if (mn && mx && mn->kind == CFG_NUMBER && mx->kind == CFG_NUMBER &&
		strtod(mn->str, NULL) > strtod(mx->str, NULL))
		cfgv_error(c, cfgv_path(path, "max"), mx, "max (%s) is less than min (%s)", mx->str, mn->str);
	if (inc)
	{
		if (CfgMapGet(r, "strict_min") || CfgMapGet(r, "strict_max"))
			cfgv_error(c, cfgv_path(path, "inclusive"), inc, "give inclusive or strict_min/strict_max, not both");
		else if (cfgv_boolean(c, inc, cfgv_path(path, "inclusive")))
			strict = !inc->bval;
		cfgv_put(c, out, "strict_min", cfgv_bool(c, strict));
		cfgv_put(c, out, "strict_max", cfgv_bool(c, strict));
	}
	else
	{
		rule_bool(c, r, out, path, "strict_min", false);
		rule_bool(c, r, out, path, "strict_max", false);
	}
}

/* exactly one of the keys is given; returns its index or -1 (reported) */
static int
rule_one_of(VCtx *c, const CfgNode *r, const char *path, const char *const *keys, int nkeys)
{
	int			found = -1;

	for (int i = 0; i < nkeys; i++)
		if (CfgMapGet(r, keys[i]))
		{
			if (found >= 0)
			{
				cfgv_error(c, cfgv_path(path, keys[i]), CfgMapGet(r, keys[i]), "give one of %s, not both %s and %s",
						   cfgv_list(keys, nkeys), keys[found], keys[i]);
				return -1;
			}
			found = i;
		}
	if (found < 0)
		cfgv_error(c, cfgv_path(path, keys[0]), r, "this rule needs one of %s", cfgv_list(keys, nkeys));
	return found;
}

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
			const char *s = r->pairs[i].value->kind == CFG_STRING ? r->pairs[i].value->str : "?";

			k = cfgv_need(CfgNewString(c->arena, "check", k->line, k->col));
			cfgv_warn(c, cfgv_path(path, "type"), r->pairs[i].key,
					  "duplicate key \"type\": the second one (\"%s\") is read as check: %s; write type: validity and check: %s",
					  s, s, s);
		}
		if (!CfgMapAppend(c->arena, copy, k, r->pairs[i].value))
			cfgv_need(NULL);
	}
	return copy;
}

/* the keys a kind takes */
static void
rule_kind_keys(const char *type, const char *const **keys, int *nkeys)
{
#define K(t, a) if (strcmp(type, t) == 0) { *keys = (a); *nkeys = lengthof_arr(a); return; }
	K("completeness", k_column);
	K("validity", k_validity);
	K("uniqueness", k_uniq);
	K("consistency", k_cons);
	K("referential", k_ref);
	K("freshness", k_fresh);
	K("row_count", k_rows);
	K("schema", k_schema);
	K("custom", k_custom);
	K("quantile", k_quantile);
	K("median", k_approx);
	K("distinct_count", k_approx);
	K("proportion_unique", k_approx);
	K("most_common", k_most);
	K("distinct_values", k_dvals);
	K("monotonic", k_mono);
	K("parseable", k_parse);
	K("date_format", k_datefmt);
	K("column_pair", k_pair);
	K("columns", k_cols);
	K("column_count", k_colcount);
	K("column_types", k_coltypes);
	K("row_count_equal", k_rceq);
	K("outliers", k_outliers);
	K("drift", k_drift);
#undef K
	/* min, max, mean, sum, stddev */
	*keys = k_stat;
	*nkeys = lengthof_arr(k_stat);
}

/* a relation name or a node id of the pipeline (ref, ref_table) */
static void
rule_ref(VCtx *c, const CfgNode *r, CfgNode *out, const char *path, const char *key, bool required)
{
	CfgNode    *n = cfgv_get(c, r, path, key, required);
	ListCell   *lc;

	if (n == NULL)
		return;
	if (n->kind == CFG_STRING)
		foreach(lc, c->id_names)
			if (strcmp((char *) lfirst(lc), n->str) == 0)
			{
				cfgv_put(c, out, key, n);	/* a source, step or target of the pipeline */
				return;
			}
	if (cfgv_relname(c, n, cfgv_path(path, key)))
		cfgv_put(c, out, key, n);
}

/* a pattern for the engine of its flavour */
static void
rule_pattern(VCtx *c, const CfgNode *r, CfgNode *out, const char *path)
{
	const char *flavor = rule_enum(c, r, out, path, "flavor", "regular expression flavor", flavors, lengthof_arr(flavors), "pcre");
	CfgNode    *n = cfgv_get(c, r, path, "pattern", true);

	if (n && cfgv_string(c, n, cfgv_path(path, "pattern")))
	{
		char	   *problem = (flavor && strcmp(flavor, "postgres") == 0) ?
			MetaetlCheckRegex(n->str) : QualityRegexProblem(n->str);

		if (problem)
			cfgv_error(c, cfgv_path(path, "pattern"), n, "invalid pattern: %s", problem);
		else
			cfgv_put(c, out, "pattern", n);
	}
}

/* ---------------------------------------------------------- one rule */

static void
rule_validity(VCtx *c, const CfgNode *r, CfgNode *out, const char *path)
{
	const char *check = rule_enum(c, r, out, path, "check", "validity check", check_kinds, lengthof_arr(check_kinds), NULL);
	CfgNode    *n;

	if (check == NULL)
		return;
	if (strcmp(check, "range") == 0)
	{
		rule_bounds(c, r, out, path, true, true);
		if (CfgMapGet(r, "cast"))
			rule_enum(c, r, out, path, "cast", "cast", casts, lengthof_arr(casts), NULL);
	}
	else if (strcmp(check, "length") == 0)
	{
		CfgNode    *mn = rule_number(c, r, out, path, "min", false, 0, 1e9, true);
		CfgNode    *mx = rule_number(c, r, out, path, "max", false, 0, 1e9, true);

		if (!CfgMapGet(r, "min") && !CfgMapGet(r, "max"))
			cfgv_error(c, cfgv_path(path, "min"), r, "a length check needs min, max or both");
		if (mn && mx && strtod(mn->str, NULL) > strtod(mx->str, NULL))
			cfgv_error(c, cfgv_path(path, "max"), mx, "max (%s) is less than min (%s)", mx->str, mn->str);
	}
	else if (strcmp(check, "pattern") == 0)
		rule_pattern(c, r, out, path);
	else if (strcmp(check, "format") == 0)
		rule_enum(c, r, out, path, "format", "format", formats, lengthof_arr(formats), NULL);
	else if (strcmp(check, "allowed_values") == 0)
		rule_values(c, r, out, path, "values", true);
	else if (strcmp(check, "type") == 0)
	{
		if ((n = cfgv_get(c, r, path, "data_type", true)))
		{
			const char *t = cfgv_enum(c, n, cfgv_path(path, "data_type"), "data_type", data_types, lengthof_arr(data_types));

			if (t)
				cfgv_put(c, out, "data_type", cfgv_str(c, t));
		}
	}

	/* keys that belong to other checks */
	for (int i = 0; i < r->n; i++)
	{
		const char *k = r->pairs[i].key->str;
		bool		ok;

		if (kind_is(k, common_keys, lengthof_arr(common_keys)) || strcmp(k, "column") == 0 ||
			strcmp(k, "check") == 0 || !kind_is(k, k_validity, lengthof_arr(k_validity)))
			continue;			/* unknown keys are reported once, by cfgv_keys */
		if (strcmp(check, "range") == 0)
			ok = kind_is(k, (const char *const[]) {"min", "max", "inclusive", "strict_min", "strict_max", "cast"}, 6);
		else if (strcmp(check, "length") == 0)
			ok = strcmp(k, "min") == 0 || strcmp(k, "max") == 0;
		else if (strcmp(check, "pattern") == 0)
			ok = strcmp(k, "pattern") == 0 || strcmp(k, "flavor") == 0;
		else if (strcmp(check, "format") == 0)
			ok = strcmp(k, "format") == 0;
		else if (strcmp(check, "allowed_values") == 0)
			ok = strcmp(k, "values") == 0;
		else
			ok = strcmp(k, "data_type") == 0;
		if (!ok)
			cfgv_error(c, cfgv_path(path, k), r->pairs[i].key, "key \"%s\" does not apply to a %s check", k, check);
	}
}

static void
rule_uniqueness(VCtx *c, const CfgNode *r, CfgNode *out, const char *path, const char **column)
{
	CfgNode    *col = cfgv_get(c, r, path, "column", false);
	CfgNode    *cols = cfgv_get(c, r, path, "columns", false);
	CfgNode    *l = NULL;

	if (!col && !cols)
		cfgv_error(c, cfgv_path(path, "column"), r, "a uniqueness rule needs column or columns");
	if (cols)
		l = cfgv_strlist(c, cols, cfgv_path(path, "columns"), true);
	if (col && cfgv_string(c, col, cfgv_path(path, "column")))
	{
		if (l && !(l->n == 1 && strcmp(l->items[0]->str, col->str) == 0))
			cfgv_error(c, cfgv_path(path, "columns"), cols, "give column or columns, not both");
		else if (!l)
		{
			l = cfgv_seq(c);
			cfgv_append(c, l, col);
		}
	}
	if (l)
	{
		cfgv_put(c, out, "columns", l);
		if (l->n == 1)
		{
			*column = l->items[0]->str;
			cfgv_put(c, out, "column", l->items[0]);
		}
	}
	rule_enum(c, r, out, path, "nulls", "nulls mode", nulls_distinct, lengthof_arr(nulls_distinct), "distinct");
}

/* a query with {{data}} standing for the dataset; nothing else templated */
static void
rule_custom(VCtx *c, const CfgNode *r, CfgNode *out, const char *path)
{
	CfgNode    *n = cfgv_get(c, r, path, "query", true);
	StringInfoData plain;
	const char *p;
	char	   *problem;

	if (n == NULL)
		return;
	if (n->kind != CFG_STRING || n->len == 0)
	{
		cfgv_error(c, cfgv_path(path, "query"), n, "a query must be a non-empty string");
		return;
	}
	initStringInfo(&plain);
	for (p = n->str; *p;)
	{
		if (strncmp(p, "{{data}}", 8) == 0)
		{
			appendStringInfoString(&plain, "pg_catalog.pg_class");
			p += 8;
		}
		else if (strncmp(p, "{{", 2) == 0)
		{
			cfgv_error(c, cfgv_path(path, "query"), n, "only the template {{data}} (the dataset) is allowed in a custom rule's query");
			return;
		}
		else
			appendStringInfoChar(&plain, *p++);
	}
	problem = MetaetlCheckSql(plain.data, CFG_SQL_SELECT);
	if (problem)
		cfgv_error(c, cfgv_path(path, "query"), n, "invalid query: %s", problem);
	else
		cfgv_put(c, out, "query", n);
}

static void
rule_schema_types(VCtx *c, const CfgNode *r, CfgNode *out, const char *path, bool lists)
{
	CfgNode    *ty = cfgv_get(c, r, path, "types", !lists ? false : true);
	const char *tpath = cfgv_path(path, "types");
	CfgNode    *tm;

	if (ty == NULL || !cfgv_is_map(c, ty, tpath, "types"))
		return;
	if (lists && ty->n == 0)
		cfgv_error(c, tpath, ty, "types must name at least one column");
	tm = cfgv_map(c);
	for (int i = 0; i < ty->n; i++)
	{
		CfgNode    *v = ty->pairs[i].value;
		const char *kpath = cfgv_path(tpath, ty->pairs[i].key->str);

		if (lists)
		{
			/* a type or a list of types, normalised to a list */
			CfgNode    *l = cfgv_strlist(c, v, kpath, true);

			if (l == NULL)
				continue;
			for (int j = 0; j < l->n; j++)
				cfgv_type(c, l->items[j], v->kind == CFG_SEQ ? cfgv_idx(kpath, j) : kpath);
			if (!CfgMapAppend(c->arena, tm, ty->pairs[i].key, l))
				cfgv_need(NULL);
		}
		else if (cfgv_type(c, v, kpath))
		{
			if (!CfgMapAppend(c->arena, tm, ty->pairs[i].key, v))
				cfgv_need(NULL);
		}
	}
	cfgv_put(c, out, "types", tm);
}

/* the common threshold: a percentage, or a drift rule's test threshold */
static void
rule_threshold(VCtx *c, const CfgNode *r, CfgNode *out, const char *path, const char *type, const char *method)
{
	CfgNode    *n = cfgv_get(c, r, path, "threshold", false);

	if (strcmp(type, "drift") == 0)
	{
		bool		psi = method && strcmp(method, "psi") == 0;

		if (n == NULL)
			cfgv_put(c, out, "threshold", cfgv_num(c, psi ? "0.2" : "0.05"));
		else if (cfgv_number(c, n, cfgv_path(path, "threshold"), 0, psi ? 100 : 1, false))
			cfgv_put(c, out, "threshold", n);
		return;
	}
	if (n == NULL)
		cfgv_put(c, out, "threshold", cfgv_num(c, "100"));
	else if (cfgv_number(c, n, cfgv_path(path, "threshold"), 0, 100, false))
		cfgv_put(c, out, "threshold", n);
}

/*
 * rule_one
 *		Check one rule at path; returns the normalised rule without its name
 *		(names are given once every rule is seen), or NULL.  *column is the
 *		rule's single column, for its generated name.
 */
static CfgNode *
rule_one(VCtx *c, const CfgNode *r, const char *path, const char **column)
{
	static const char *kind_names[NKINDS];
	const char *allowed[40];
	int			nallowed = 0;
	const char *const *keys;
	int			nkeys;
	CfgNode    *out = cfgv_map(c);
	CfgNode    *n;
	const char *type = NULL;
	const char *method = NULL;
	const QualityRuleKind *kind;

	*column = NULL;
	if (!cfgv_is_map(c, r, path, "a quality rule"))
		return NULL;
	r = vrule_fix_type(c, r, path);
	if (kind_names[0] == NULL)
		for (int i = 0; i < NKINDS; i++)
			kind_names[i] = rule_kinds[i].type;
	if ((n = cfgv_get(c, r, path, "type", true)) == NULL)
		return NULL;

	/* the original design's shorthand: type: pattern is validity with that check */
	if (n->kind == CFG_STRING && kind_is(n->str, shorthand, lengthof_arr(shorthand)) && !CfgMapGet(r, "check"))
	{
		CfgNode    *copy = cfgv_need(CfgNewNode(c->arena, CFG_MAP, r->line, r->col));

		for (int i = 0; i < r->n; i++)
			if (!CfgMapAppend(c->arena, copy, r->pairs[i].key,
							  strcmp(r->pairs[i].key->str, "type") == 0 ? cfgv_str(c, "validity") : r->pairs[i].value))
				cfgv_need(NULL);
		if (!CfgMapAppend(c->arena, copy, cfgv_need(CfgNewString(c->arena, "check", n->line, n->col)), n))
			cfgv_need(NULL);
		r = copy;
		type = "validity";
	}
	else
	{
		/* thirty kinds: a suggestion, not the whole list */
		for (int i = 0; i < NKINDS && n->kind == CFG_STRING; i++)
			if (strcmp(n->str, kind_names[i]) == 0)
				type = kind_names[i];
		if (type == NULL)
		{
			if (n->kind != CFG_STRING)
				cfgv_error(c, cfgv_path(path, "type"), n, "rule type must be a string, not a %s", CfgKindName(n->kind));
			else
				cfgv_error(c, cfgv_path(path, "type"), n, "unknown rule type \"%s\"%s",
						   n->str, cfgv_suggest(n->str, kind_names, NKINDS));
			return NULL;
		}
	}
	kind = QualityRuleKindLookup(type);
	cfgv_put(c, out, "type", cfgv_str(c, type));

	rule_kind_keys(type, &keys, &nkeys);
	for (int i = 0; i < lengthof_arr(common_keys); i++)
		allowed[nallowed++] = common_keys[i];
	for (int i = 0; i < nkeys; i++)
		allowed[nallowed++] = keys[i];
	cfgv_keys(c, r, path, allowed, nallowed, false);

	/* kinds with one column */
	if (kind_is("column", keys, nkeys) && strcmp(type, "uniqueness") != 0)
		*column = rule_string(c, r, out, path, "column", true);

	if (strcmp(type, "validity") == 0)
		rule_validity(c, r, out, path);
	else if (strcmp(type, "uniqueness") == 0)
		rule_uniqueness(c, r, out, path, column);
	else if (strcmp(type, "consistency") == 0)
	{
		if ((n = cfgv_get(c, r, path, "expression", true)) && (n = cfgv_expr(c, n, cfgv_path(path, "expression"))))
			cfgv_put(c, out, "expression", n);
		rule_enum(c, r, out, path, "null_is", "null_is", null_modes, lengthof_arr(null_modes), "pass");
	}
	else if (strcmp(type, "referential") == 0)
	{
		if (CfgMapGet(r, "ref") && CfgMapGet(r, "ref_table"))
			cfgv_error(c, cfgv_path(path, "ref_table"), CfgMapGet(r, "ref_table"), "give ref or ref_table, not both");
		else if (CfgMapGet(r, "ref_table"))
			rule_ref(c, r, out, path, "ref_table", true);
		else
			rule_ref(c, r, out, path, "ref", true);
		rule_string(c, r, out, path, "ref_column", true);
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
		if (!CfgMapGet(r, "min") && !CfgMapGet(r, "max") && !CfgMapGet(r, "max_change_pct"))
			cfgv_error(c, cfgv_path(path, "min"), r, "a row_count rule needs min, max or max_change_pct");
		rule_number(c, r, out, path, "min", false, 0, INFINITY, true);
		rule_number(c, r, out, path, "max", false, 0, INFINITY, true);
		rule_number(c, r, out, path, "max_change_pct", false, 0, INFINITY, false);
	}
	else if (strcmp(type, "schema") == 0)
	{
		if (!CfgMapGet(r, "required_columns") && !CfgMapGet(r, "forbidden_columns") && !CfgMapGet(r, "types"))
			cfgv_error(c, cfgv_path(path, "required_columns"), r, "a schema rule needs required_columns, forbidden_columns or types");
		rule_strlist(c, r, out, path, "required_columns", false, false);
		rule_strlist(c, r, out, path, "forbidden_columns", false, false);
		rule_schema_types(c, r, out, path, false);
	}
	else if (strcmp(type, "custom") == 0)
		rule_custom(c, r, out, path);
	else if (strcmp(type, "quantile") == 0)
	{
		rule_number(c, r, out, path, "q", true, 0, 1, false);
		rule_bounds(c, r, out, path, false, true);
		rule_bool(c, r, out, path, "approximate", false);
	}
	else if (strcmp(type, "most_common") == 0)
		rule_values(c, r, out, path, "in", true);
	else if (strcmp(type, "distinct_values") == 0)
	{
		int			k = rule_one_of(c, r, path, (const char *const *) &k_dvals[1], 3);

		if (k >= 0)
			rule_values(c, r, out, path, k_dvals[k + 1], true);
	}
	else if (strcmp(type, "monotonic") == 0)
	{
		rule_enum(c, r, out, path, "direction", "direction", directions, lengthof_arr(directions), "increasing");
		rule_bool(c, r, out, path, "strict", false);
		if ((n = cfgv_get(c, r, path, "order_by", true)) && (n = cfgv_expr(c, n, cfgv_path(path, "order_by"))))
			cfgv_put(c, out, "order_by", n);
	}
	else if (strcmp(type, "parseable") == 0)
		rule_enum(c, r, out, path, "as", "type to parse as", parse_as, lengthof_arr(parse_as), NULL);
	else if (strcmp(type, "date_format") == 0)
	{
		if ((n = cfgv_get(c, r, path, "format", true)) && cfgv_string(c, n, cfgv_path(path, "format")))
		{
			char	   *problem = QualityDateFormatProblem(n->str);

			if (problem)
				cfgv_error(c, cfgv_path(path, "format"), n, "invalid date format: %s", problem);
			else
				cfgv_put(c, out, "format", n);
		}
	}
	else if (strcmp(type, "column_pair") == 0)
	{
		CfgNode    *l = rule_strlist(c, r, out, path, "columns", true, true);
		const char *chk;
		CfgNode    *oe = cfgv_get(c, r, path, "or_equal", false);

		if (l && l->n != 2)
			cfgv_error(c, cfgv_path(path, "columns"), CfgMapGet(r, "columns"), "a column_pair rule names exactly two columns, not %d", l->n);
		n = cfgv_get(c, r, path, "check", true);
		if (n && (chk = cfgv_enum(c, n, cfgv_path(path, "check"), "column_pair check", pair_checks, lengthof_arr(pair_checks))))
		{
			/* or_equal: true turns greater into greater_or_equal (and less alike) */
			if (oe && cfgv_boolean(c, oe, cfgv_path(path, "or_equal")) && oe->bval)
			{
				if (strcmp(chk, "greater") == 0)
					chk = "greater_or_equal";
				else if (strcmp(chk, "less") == 0)
					chk = "less_or_equal";
				else if (strcmp(chk, "greater_or_equal") != 0 && strcmp(chk, "less_or_equal") != 0)
					cfgv_error(c, cfgv_path(path, "or_equal"), oe, "or_equal applies to greater and less only");
			}
			cfgv_put(c, out, "check", cfgv_str(c, chk));
		}
	}
	else if (strcmp(type, "columns") == 0)
	{
		int			k = rule_one_of(c, r, path, k_cols, lengthof_arr(k_cols));

		if (k >= 0)
			rule_strlist(c, r, out, path, k_cols[k], true, false);
	}
	else if (strcmp(type, "column_count") == 0)
	{
		CfgNode    *mn = rule_number(c, r, out, path, "min", false, 0, 1600, true);
		CfgNode    *mx = rule_number(c, r, out, path, "max", false, 0, 1600, true);

		if (!CfgMapGet(r, "min") && !CfgMapGet(r, "max"))
			cfgv_error(c, cfgv_path(path, "min"), r, "a column_count rule needs min, max or both");
		if (mn && mx && strtod(mn->str, NULL) > strtod(mx->str, NULL))
			cfgv_error(c, cfgv_path(path, "max"), mx, "max (%s) is less than min (%s)", mx->str, mn->str);
	}
	else if (strcmp(type, "column_types") == 0)
		rule_schema_types(c, r, out, path, true);
	else if (strcmp(type, "row_count_equal") == 0)
		rule_ref(c, r, out, path, "ref", true);
	else if (strcmp(type, "outliers") == 0)
	{
		CfgNode    *l = rule_strlist(c, r, out, path, "columns", true, true);

		if (l && l->n > 64)
			cfgv_error(c, cfgv_path(path, "columns"), CfgMapGet(r, "columns"), "an outliers rule takes at most 64 columns");
		method = rule_enum(c, r, out, path, "method", "outlier method", outlier_methods, lengthof_arr(outlier_methods), "zscore");
		if (!rule_number(c, r, out, path, "max_fraction", false, 0, 1, false) && !CfgMapGet(r, "max_fraction"))
			cfgv_put(c, out, "max_fraction", cfgv_num(c, "0.01"));
		if ((n = cfgv_get(c, r, path, "options", false)) && cfgv_is_map(c, n, cfgv_path(path, "options"), "options"))
		{
			char	   *problem = QualityOutlierOptionsProblem(method ? method : "zscore", MetaetlTreeToJsonb(n));

			if (problem)
				cfgv_error(c, cfgv_path(path, "options"), n, "%s", problem);
			else
				cfgv_put(c, out, "options", n);
		}
	}
	else if (strcmp(type, "drift") == 0)
		method = rule_enum(c, r, out, path, "method", "drift method", drift_methods, lengthof_arr(drift_methods), NULL);
	else if (kind->eval == QE_AGG && kind_is("min", keys, nkeys))
	{
		rule_bounds(c, r, out, path, strcmp(type, "min") == 0 || strcmp(type, "max") == 0, true);
		if (kind_is("approximate", keys, nkeys))
			rule_bool(c, r, out, path, "approximate", false);
	}

	/* common keys (name is given by the caller) */
	if ((n = cfgv_get(c, r, path, "severity", false)))
	{
		const char *sev = n->kind == CFG_STRING && strcmp(n->str, "warning") == 0 ? "warn" :
			cfgv_enum(c, n, cfgv_path(path, "severity"), "severity", severities, lengthof_arr(severities));

		if (sev)
			cfgv_put(c, out, "severity", cfgv_str(c, sev));
	}
	else
		cfgv_put(c, out, "severity", cfgv_str(c, "error"));
	rule_threshold(c, r, out, path, type, method);
	if ((n = cfgv_get(c, r, path, "where", false)))
	{
		if (kind->eval == QE_SHAPE || strcmp(type, "custom") == 0)
			cfgv_error(c, cfgv_path(path, "where"), n, "where does not apply to a %s rule", type);
		else if ((n = cfgv_expr(c, n, cfgv_path(path, "where"))))
			cfgv_put(c, out, "where", n);
	}
	if ((n = cfgv_get(c, r, path, "on", false)))
	{
		if (cfgv_id(c, n, cfgv_path(path, "on")))
		{
			if (c->first_source)
				c->rule_refs = lappend(c->rule_refs, cfgv_dep(n->str, cfgv_path(path, "on"), n));
			cfgv_put(c, out, "on", n);
		}
	}
	else if (c->first_source)
		cfgv_put(c, out, "on", cfgv_str(c, c->first_source));
	if ((n = cfgv_get(c, r, path, "description", false)) && cfgv_string(c, n, cfgv_path(path, "description")))
		cfgv_put(c, out, "description", n);
	return out;
}

/* a generated name: <type>_<column> made an id, or <type>_<position> */
static char *
rule_auto_name(const char *type, const char *column, int index)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoString(&b, type);
	if (column)
	{
		appendStringInfoChar(&b, '_');
		for (const char *p = column; *p && b.len < METAETL_IDENT_MAXLEN - 4; p++)
		{
			unsigned char ch = (unsigned char) *p;

			appendStringInfoChar(&b, isalnum(ch) && ch < 0x80 ? (char) tolower(ch) : '_');
		}
	}
	else
		appendStringInfo(&b, "_%d", index + 1);
	return b.data;
}

static bool
name_taken(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp((char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/*
 * QualityCheckBlock
 *		Check a quality block ({gate, rules, quarantine, weights}) at path and
 *		return it normalised.  q may be NULL (no block: gate error, no rules).
 *		Rules' on: is checked against the pipeline's nodes when the context
 *		has a pipeline (c->first_source set).
 */
CfgNode *
QualityCheckBlock(VCtx *c, const CfgNode *q, const char *path)
{
	static const char *const keys[] = {"gate", "rules", "quarantine", "weights"};
	static const char *const dims[] = {"completeness", "validity", "uniqueness", "consistency", "timeliness"};
	CfgNode    *out = cfgv_map(c);
	CfgNode    *rules = cfgv_seq(c);
	CfgNode    *n;

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
	if ((n = cfgv_get(c, q, path, "quarantine", false)) && cfgv_relname(c, n, cfgv_path(path, "quarantine")))
		cfgv_put(c, out, "quarantine", n);
	if ((n = cfgv_get(c, q, path, "weights", false)) && cfgv_is_map(c, n, cfgv_path(path, "weights"), "weights"))
	{
		const char *wpath = cfgv_path(path, "weights");

		cfgv_keys(c, n, wpath, dims, lengthof_arr(dims), false);
		for (int i = 0; i < n->n; i++)
			cfgv_number(c, n->pairs[i].value, cfgv_path(wpath, n->pairs[i].key->str), 0, INFINITY, false);
		cfgv_put(c, out, "weights", n);
	}
	if ((n = cfgv_get(c, q, path, "rules", false)))
	{
		if (n->kind != CFG_SEQ)
			cfgv_error(c, cfgv_path(path, "rules"), n, "rules must be a list, not a %s", CfgKindName(n->kind));
		else if (n->n > MAX_ITEMS)
			cfgv_error(c, cfgv_path(path, "rules"), n, "a rule set has at most %d quality rules", MAX_ITEMS);
		else
		{
			const char *rpath = cfgv_path(path, "rules");
			CfgNode   **outs = palloc0(sizeof(CfgNode *) * Max(n->n, 1));
			const char **columns = palloc0(sizeof(char *) * Max(n->n, 1));
			List	   *names = NIL;

			for (int i = 0; i < n->n; i++)
				outs[i] = rule_one(c, n->items[i], cfgv_idx(rpath, i), &columns[i]);

			/* explicit names first: generated names never take one */
			for (int i = 0; i < n->n; i++)
			{
				CfgNode    *nm;
				const char *ipath = cfgv_idx(rpath, i);

				if (n->items[i]->kind != CFG_MAP || (nm = cfgv_get(c, n->items[i], ipath, "name", false)) == NULL)
					continue;
				if (!cfgv_id(c, nm, cfgv_path(ipath, "name")))
					continue;
				if (name_taken(names, nm->str))
					cfgv_error(c, cfgv_path(ipath, "name"), nm,
							   "rule name \"%s\" is used twice: give the rules distinct names", nm->str);
				names = lappend(names, nm->str);
				if (outs[i])
					cfgv_put(c, outs[i], "name", nm);
			}
			for (int i = 0; i < n->n; i++)
			{
				char	   *base;
				char	   *name;

				if (outs[i] == NULL)
					continue;
				if (CfgMapGet(outs[i], "name") == NULL && !CfgMapGet(n->items[i], "name"))
				{
					/* two unnamed rules of one kind on one column: _2, _3, ... */
					base = rule_auto_name(CfgMapGet(outs[i], "type")->str, columns[i], i);
					name = base;
					for (int k = 2; name_taken(names, name); k++)
						name = psprintf("%s_%d", base, k);
					names = lappend(names, name);
					cfgv_put(c, outs[i], "name", cfgv_str(c, name));
				}
				if (CfgMapGet(outs[i], "name"))
					cfgv_append(c, rules, outs[i]);
			}
		}
	}
	cfgv_put(c, out, "rules", rules);
	return out;
}

/* ------------------------------------------------------------ SQL side */

/*
 * QualityNormalize
 *		Normalise a rule array, or a block {rules, ...} whose other keys are
 *		block_keys (gate, quarantine, weights, options: what the calling
 *		function accepts).  Raises 22023 naming the first problem's rule and
 *		path, with the number of further problems; warnings become WARNINGs.
 */
QualityRuleSet *
QualityNormalize(Jsonb *in, const char *const *block_keys, int nblock_keys)
{
	CfgValidation v;
	VCtx		c;
	CfgNode    *tree;
	CfgNode    *block;
	CfgNode    *rules;
	CfgNode    *norm;
	CfgNode    *n;
	QualityRuleSet *set = palloc0(sizeof(QualityRuleSet));
	ListCell   *lc;

	memset(&v, 0, sizeof(v));
	memset(&c, 0, sizeof(c));
	c.v = &v;
	c.arena = MetaetlArenaForContext(CFG_DEFAULT_MAX_MEMORY);
	if (in == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quality rules must be a JSON array"),
				 errdetail("Got NULL."),
				 errhint("Pass [{\"type\": \"completeness\", \"column\": \"email\"}, ...].")));
	tree = MetaetlJsonbToTree(c.arena, in);
	if (tree->kind == CFG_SEQ)
	{
		block = cfgv_need(CfgNewNode(c.arena, CFG_MAP, 0, 0));
		cfgv_put(&c, block, "rules", tree);
	}
	else if (tree->kind == CFG_MAP && nblock_keys > 0)
	{
		/* the block's own keys: those of the caller, rules, and the gate's */
		const char *allowed[8];
		int			nallowed = 0;

		allowed[nallowed++] = "rules";
		for (int i = 0; i < nblock_keys && nallowed < 8; i++)
			allowed[nallowed++] = block_keys[i];
		cfgv_keys(&c, tree, "", allowed, nallowed, false);
		block = cfgv_need(CfgNewNode(c.arena, CFG_MAP, 0, 0));
		for (int i = 0; i < tree->n; i++)
			for (int j = 0; j < nallowed; j++)
				if (strcmp(tree->pairs[i].key->str, allowed[j]) == 0 &&
					strcmp(allowed[j], "options") != 0)
					cfgv_put(&c, block, tree->pairs[i].key->str, tree->pairs[i].value);
		if (CfgMapGet(tree, "rules") == NULL)
			cfgv_put(&c, block, "rules", cfgv_seq(&c));
		if ((n = CfgMapGet(tree, "options")) && cfgv_is_map(&c, n, "options", "options"))
			set->options = MetaetlTreeToJsonb(n);
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quality rules must be a JSON array%s", nblock_keys > 0 ? " or an object with \"rules\"" : ""),
				 errdetail("Got a JSON %s.", CfgKindName(tree->kind)),
				 errhint("Pass [{\"type\": \"completeness\", \"column\": \"email\"}, ...].")));

	norm = QualityCheckBlock(&c, block, "");
	foreach(lc, v.problems)
	{
		CfgProblem *p = lfirst(lc);
		int			idx = -1;

		if (!p->is_error)
		{
			ereport(WARNING,
					(errcode(ERRCODE_WARNING),
					 errmsg("%s", p->message),
					 errdetail("At %s.", p->path)));
			continue;
		}
		if (strncmp(p->path, "rules[", 6) == 0)
			idx = atoi(p->path + 6);
		rules = CfgMapGet(block, "rules");
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 p->path[0] ? errmsg("%s (at %s)", p->message, p->path) : errmsg("%s", p->message),
				 idx >= 0 && rules && rules->kind == CFG_SEQ && idx < rules->n ?
				 errdetail("Quality rule %d: %.200s%s", idx + 1,
						   JsonbToCString(NULL, &MetaetlTreeToJsonb(rules->items[idx])->root, 200),
						   v.nerrors > 1 ? psprintf(" (%d more problem%s)", v.nerrors - 1, v.nerrors > 2 ? "s" : "") : "") :
				 v.nerrors > 1 ? errdetail("%d more problem%s.", v.nerrors - 1, v.nerrors > 2 ? "s" : "") : 0,
				 errhint("docs/quality.md lists every rule type and its keys.")));
	}
	set->rules = MetaetlTreeToJsonb(CfgMapGet(norm, "rules"));
	if ((n = CfgMapGet(norm, "gate")) && CfgMapGet(block, "gate"))
		set->gate = n->str;
	if ((n = CfgMapGet(norm, "quarantine")))
		set->quarantine = n->str;
	if ((n = CfgMapGet(norm, "weights")))
		set->weights = MetaetlTreeToJsonb(n);
	return set;
}

PG_FUNCTION_INFO_V1(metaetl_normalize_rules);

/*
 * etl._normalize_rules(rules jsonb) → jsonb
 *		The normalised rule array of a rule array or a quality block.
 */
Datum
metaetl_normalize_rules(PG_FUNCTION_ARGS)
{
	static const char *const block[] = {"gate", "quarantine", "weights"};

	PG_RETURN_JSONB_P(QualityNormalize(PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0),
									   block, lengthof_arr(block))->rules);
}
