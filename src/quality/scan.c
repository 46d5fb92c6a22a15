/*-------------------------------------------------------------------------
 *
 * src/quality/scan.c
 *		The one-scan quality compiler: normalised rules (rules.c) become ONE
 *		aggregate query over the dataset (the shape is in scan.h), run once.
 *
 * Each rule kind adds aggregates to the query and remembers their result
 * slots; checks.c reads the slots.  What needs more than the dataset's rows
 * is said where it happens: uniqueness groups by a materialised copy (the
 * dataset is still read once), referential and row_count_equal read their
 * reference, custom rules run their own query, and monotonic's ordered
 * aggregate makes PostgreSQL give up partial (parallel) aggregation.
 *
 * Errors name the rule: unknown columns are 42703 listing the dataset's
 * columns, a rule that cannot apply to a column's type is 42804, and an
 * expression that does not analyse against the dataset carries an error
 * context naming the rule and where the expression was.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/typcache.h"

#include "config/yamltree.h"
#include "quality/quality.h"
#include "quality/scan.h"
#include "quality/valtab.h"

/* ------------------------------------------------------------ the dataset */

/* the columns of a FROM item, by parse analysis only (nothing is read) */
static List *
qs_describe(const char *from_item)
{
	SPIPlanPtr	plan;
	List	   *sources;
	TupleDesc	desc;
	List	   *cols = NIL;

	plan = SPI_prepare(psprintf("SELECT * FROM %s AS " QS_ALIAS, from_item), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	sources = SPI_plan_get_plan_sources(plan);
	desc = ((CachedPlanSource *) linitial(sources))->resultDesc;
	for (int i = 0; desc != NULL && i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		QCol	   *c;
		Oid			base;
		TypeCacheEntry *tce;
		bool		pref;

		if (att->attisdropped)
			continue;
		c = palloc0(sizeof(QCol));
		c->name = pstrdup(NameStr(att->attname));
		c->ord = i + 1;
		c->typid = att->atttypid;
		c->collation = att->attcollation;
		c->typname = format_type_with_typemod(att->atttypid, att->atttypmod);
		base = getBaseType(att->atttypid);
		get_type_category_preferred(base, &c->category, &pref);
		c->numeric = base == INT2OID || base == INT4OID || base == INT8OID ||
			base == FLOAT4OID || base == FLOAT8OID || base == NUMERICOID;
		tce = lookup_type_cache(att->atttypid, TYPECACHE_EQ_OPR | TYPECACHE_LT_OPR | TYPECACHE_HASH_PROC);
		c->has_eq = OidIsValid(tce->eq_opr) && OidIsValid(tce->hash_proc);
		c->has_order = OidIsValid(tce->lt_opr);
		cols = lappend(cols, c);
	}
	SPI_freeplan(plan);
	return cols;
}

/* the column a rule names, or 42703 listing the dataset's columns */
QCol *
QualityScanColumn(QScan *s, const char *name, const char *rule)
{
	ListCell   *lc;
	StringInfoData all;

	foreach(lc, s->cols)
		if (strcmp(((QCol *) lfirst(lc))->name, name) == 0)
			return lfirst(lc);
	initStringInfo(&all);
	foreach(lc, s->cols)
		appendStringInfo(&all, "%s%s", all.len ? ", " : "", ((QCol *) lfirst(lc))->name);
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%s\" does not exist in the dataset", name),
			 errdetail("Quality rule \"%s\" on %s.", rule, s->dataset),
			 errhint("The dataset's columns are: %s.", all.len ? all.data : "(none)")));
	return NULL;
}

/* a column of the dataset's rows, qualified: never captured by another name */
char *
QualityScanRef(QCol *c)
{
	return psprintf(QS_ALIAS ".%s", quote_identifier(c->name));
}

/*
 * QualityScanFloat8
 *		expr (of column c's type) as float8: etl._num_float8 for numeric,
 *		which does not print and parse the number as numeric's cast does.
 */
char *
QualityScanFloat8(QCol *c, const char *expr)
{
	return getBaseType(c->typid) == NUMERICOID ? psprintf("etl._num_float8(%s)", expr) :
		psprintf("(%s)::pg_catalog.float8", expr);
}

/*
 * QualityScanCreate
 *		Resolve the dataset (util/relation.c) and describe it.  Sample rows
 *		show key_columns (a JSON array), else the relation's primary key.
 *		Call inside SPI_connect.
 */
QScan *
QualityScanCreate(const char *data, const char *dataset, int nsamples, Jsonb *key_columns)
{
	QScan	   *s = palloc0(sizeof(QScan));

	s->data = MetaetlResolveData(data, METAETL_DATA_MUST_EXIST);
	s->dataset = dataset ? dataset : data;
	s->nsamples = nsamples;
	s->cols = qs_describe(s->data->from_item);
	initStringInfo(&s->aggs);
	initStringInfo(&s->finals);
	initStringInfo(&s->ctes);
	s->top_n = 10;
	(void) QualityScanAgg(s, "pg_catalog.count(*)");	/* slot 0: the row count */

	if (key_columns != NULL && JB_ROOT_IS_ARRAY(key_columns))
	{
		JsonbIterator *it = JsonbIteratorInit(&key_columns->root);
		JsonbValue	v;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
			if (tok == WJB_ELEM)
			{
				char	   *k;

				if (v.type != jbvString)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"key_columns\" must be an array of column names")));
				k = pnstrdup(v.val.string.val, v.val.string.len);
				QualityScanColumn(s, k, "key_columns");
				s->keys = lappend(s->keys, k);
			}
	}
	else if (s->data->kind == METAETL_DATA_RELATION)
	{
		Oid			t = OIDOID;
		Datum		v = ObjectIdGetDatum(s->data->relid);

		if (SPI_execute_with_args("SELECT a.attname::pg_catalog.text FROM pg_catalog.pg_index i"
								  " CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
								  " JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid"
								  "  AND a.attnum OPERATOR(pg_catalog.=) k.attnum"
								  " WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND i.indisprimary ORDER BY k.ord",
								  1, &t, &v, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "primary key lookup failed");
		for (uint64 i = 0; i < SPI_processed; i++)
			s->keys = lappend(s->keys, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	}
	return s;
}

/* ------------------------------------------------------------ building blocks */

/* a parameter ($n) of type text or text[]; returns n */
int
QualityScanParam(QScan *s, Oid type, Datum value)
{
	if (s->nparams == s->pcap)
	{
		s->pcap = s->pcap ? s->pcap * 2 : 16;
		s->ptypes = s->ptypes ? repalloc(s->ptypes, sizeof(Oid) * s->pcap) : palloc(sizeof(Oid) * s->pcap);
		s->pvalues = s->pvalues ? repalloc(s->pvalues, sizeof(Datum) * s->pcap) : palloc(sizeof(Datum) * s->pcap);
	}
	s->ptypes[s->nparams] = type;
	s->pvalues[s->nparams] = value;
	return ++s->nparams;
}

/* the rule a value belongs to, for errors while converting it */
static void
qs_value_context(void *arg)
{
	errcontext("in a value of quality rule \"%s\"", (const char *) arg);
}

/*
 * qs_const
 *		A value of the rule (text) as a parameter of type typid: converted
 *		here, by the type's input function, so that the planner sees a
 *		constant (SPI's parameters are constants of a one-shot plan) and no
 *		row pays for a cast or a sub-SELECT.  A bad value is an error naming
 *		the rule.
 */
static char *
qs_const(QScan *s, QCheck *ch, const char *value, Oid typid)
{
	Oid			typinput;
	Oid			typioparam;
	ErrorContextCallback cb;
	Datum		d;

	getTypeInputInfo(typid, &typinput, &typioparam);
	cb.callback = qs_value_context;
	cb.arg = (void *) (ch ? ch->name : "");
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	d = OidInputFunctionCall(typinput, (char *) value, typioparam, -1);
	error_context_stack = cb.previous;
	return psprintf("$%d", QualityScanParam(s, typid, d));
}

/* a JSON array of the rule's values as an array parameter of element type elemtype */
static char *
qs_const_array(QScan *s, QCheck *ch, const char *key, Oid elemtype)
{
	int			n;
	ArrayType  *txt = DatumGetArrayTypeP(QJTextArray(ch->r, key, &n));
	Datum	   *elems;
	bool	   *nulls;
	Datum	   *out;
	Oid			typinput;
	Oid			typioparam;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	ErrorContextCallback cb;

	deconstruct_array(txt, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	out = palloc(sizeof(Datum) * Max(n, 1));
	getTypeInputInfo(elemtype, &typinput, &typioparam);
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	cb.callback = qs_value_context;
	cb.arg = (void *) ch->name;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	for (int i = 0; i < n; i++)
		out[i] = OidInputFunctionCall(typinput, TextDatumGetCString(elems[i]), typioparam, -1);
	error_context_stack = cb.previous;
	return psprintf("$%d", QualityScanParam(s, get_array_type(elemtype),
											PointerGetDatum(construct_array(out, n, elemtype, typlen, typbyval, typalign))));
}

/* an aggregate of the scan (deduplicated); returns its result slot */
int
QualityScanAgg(QScan *s, const char *expr)
{
	ListCell   *a;
	ListCell   *b;

	forboth(a, s->agg_texts, b, s->agg_slots)
		if (strcmp((char *) lfirst(a), expr) == 0)
			return lfirst_int(b);
	s->naggs++;
	appendStringInfo(&s->aggs, "%s\n       %s AS a%d", s->naggs > 1 ? "," : "", expr, s->naggs);
	s->agg_texts = lappend(s->agg_texts, pstrdup(expr));
	s->agg_slots = lappend_int(s->agg_slots, s->nfinals);
	return QualityScanFinal(s, psprintf("pg_catalog.to_jsonb(" QS_BASE ".a%d)", s->naggs));
}

/* a value computed once from the aggregate row (or a scalar subquery); returns its slot */
int
QualityScanFinal(QScan *s, const char *expr)
{
	appendStringInfo(&s->finals, "%s\n  %s", s->nfinals > 0 ? "," : "", expr);
	return s->nfinals++;
}

/* "<base>.aN" for an aggregate slot, for finals that compute from it */
char *
QualityScanAggRef(QScan *s, int slot)
{
	ListCell   *b;
	int			i = 0;

	foreach(b, s->agg_slots)
	{
		i++;
		if (lfirst_int(b) == slot)
			return psprintf(QS_BASE ".a%d", i);
	}
	elog(ERROR, "slot %d is not an aggregate", slot);
	return NULL;
}

/* the check of a rule expression against the dataset, with the rule named on error */
typedef struct QExprCtx
{
	const char *rule;
	const char *what;
	const char *expr;
} QExprCtx;

static void
qs_expr_context(void *arg)
{
	QExprCtx   *x = arg;

	errcontext("in the %s of quality rule \"%s\": %s", x->what, x->rule, x->expr);
}

static void
qs_check_expr(QScan *s, QCheck *ch, const char *what, const char *expr, const char *cast)
{
	ErrorContextCallback cb;
	QExprCtx	x = {ch->name, what, expr};
	SPIPlanPtr	plan;

	cb.callback = qs_expr_context;
	cb.arg = &x;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	plan = SPI_prepare(psprintf("SELECT (%s\n)%s FROM %s AS " QS_ALIAS " LIMIT 0", expr, cast,
								s->data->from_item), 0, NULL);
	error_context_stack = cb.previous;
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	SPI_freeplan(plan);
}

/*
 * qs_type_error
 *		42804: the rule cannot apply to the column's type.  need says what the
 *		rule needs ("numbers", "an ordered type", ...); bounds: numeric bounds
 *		on a column that is not a number (which compare as text otherwise).
 */
static void
qs_type_error(QCheck *ch, QCol *c, const char *need, bool bounds)
{
	if (bounds)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("quality rule \"%s\": numeric bounds on column \"%s\" of type %s", ch->name, c->name, c->typname),
				 errdetail("Compared as text, \"2\" would fall outside a range of 1 to 10: it sorts after \"10\"."),
				 errhint("Give cast: numeric to compare the values as numbers, or bounds of the column's type as strings.")));
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("quality rule \"%s\": %s %s rule needs %s, and column \"%s\" is of type %s",
					ch->name, strchr("aeiou", ch->type[0]) ? "an" : "a", ch->type, need, c->name, c->typname),
			 errhint("Use another column, or a query that casts this one.")));
}

/* ------------------------------------------------------------ row-level rules */

/* the columns a sample failing row shows: the keys, then the rule's */
static char *
qs_sample_args(QScan *s, List *extra)
{
	List	   *names = list_copy(s->keys);
	ListCell   *lc;
	StringInfoData arr;
	StringInfoData args;
	Datum	   *elems;
	int			i = 0;

	foreach(lc, extra)
	{
		ListCell   *k;
		bool		keep = false;

		/* an expression may name things that are not columns (functions' words) */
		foreach(k, s->cols)
			if (strcmp(((QCol *) lfirst(k))->name, lfirst(lc)) == 0)
				keep = true;
		foreach(k, names)
			if (strcmp(lfirst(k), lfirst(lc)) == 0)
				keep = false;
		if (keep)
			names = lappend(names, lfirst(lc));
	}
	if (names == NIL)
		foreach(lc, s->cols)
			names = lappend(names, ((QCol *) lfirst(lc))->name);
	names = list_truncate(names, 90);	/* a function takes at most 100 arguments */
	elems = palloc(sizeof(Datum) * Max(list_length(names), 1));
	initStringInfo(&args);
	foreach(lc, names)
	{
		elems[i++] = CStringGetTextDatum(lfirst(lc));
		appendStringInfo(&args, ", " QS_ALIAS ".%s", quote_identifier(lfirst(lc)));
	}
	initStringInfo(&arr);
	appendStringInfo(&arr, "$%d, %d%s",
					 QualityScanParam(s, TEXTARRAYOID,
									  PointerGetDatum(construct_array(elems, i, TEXTOID, -1, false, TYPALIGN_INT))),
					 s->nsamples, args.data);
	return arr.data;
}

/*
 * qs_row_scan
 *		A row-level rule: fail is the predicate of a failing row among the
 *		checked ones (quarantine moves the rows it is true for); checked are
 *		the rows in scope (all_rows), those that satisfy denominator, or the
 *		rule column's non-NULL values in scope.
 *
 *		In the last case one aggregate counts both: etl._failures_nulls is fed
 *		the rows whose scan_fail (fail without its NULL test; NULL: fail) is
 *		not false, and tells the NULLs from the failures itself, so the
 *		denominator costs a boolean test of the rule's own predicate rather
 *		than an aggregate (a per-row count(col) or NULL test) of its own.  A
 *		NULL value gives a NULL or false check, never true, so it reaches the
 *		aggregate; a non-NULL value's check is never NULL.
 */
static void
qs_row_scan(QScan *s, QCheck *ch, const char *fail, const char *scan_fail, bool all_rows,
			const char *denominator, List *sample_cols)
{
	char	   *scoped = ch->scope ? psprintf("%s AND (%s)", ch->scope, fail) : psprintf("(%s)", fail);

	ch->fail = scoped;
	if (!all_rows && denominator == NULL)
	{
		const char *core = scan_fail ? scan_fail : fail;
		char	   *v = QualityScanRef(ch->col);
		char	   *filt = strcmp(core, "false") == 0 ? psprintf("%s IS NULL", v) : psprintf("(%s) IS NOT FALSE", core);

		ch->by_nulls = true;
		if (ch->scope)
		{
			ch->s_total = QualityScanAgg(s, psprintf("pg_catalog.count(*) FILTER (WHERE %s)", ch->scope));
			filt = psprintf("%s AND %s", ch->scope, filt);
		}
		ch->s_fail = QualityScanAgg(s, psprintf("etl._failures_nulls(%s IS NULL, %s) FILTER (WHERE %s)",
												v, qs_sample_args(s, sample_cols), filt));
		return;
	}
	if (denominator)
		ch->s_total = QualityScanAgg(s, psprintf("pg_catalog.count(*) FILTER (WHERE %s%s%s)",
												 ch->scope ? ch->scope : "", ch->scope ? " AND " : "", denominator));
	else
		ch->s_total = ch->scope ? QualityScanAgg(s, psprintf("pg_catalog.count(*) FILTER (WHERE %s)", ch->scope)) : 0;
	if (s->nsamples == 0)
		ch->s_fail = QualityScanAgg(s, psprintf("pg_catalog.count(*) FILTER (WHERE %s)", scoped));
	else
		/* one aggregate per rule: the predicate is evaluated once per row */
		ch->s_fail = QualityScanAgg(s, psprintf("etl._failures(%s) FILTER (WHERE %s)",
												qs_sample_args(s, sample_cols), scoped));
}

static void
qs_row(QScan *s, QCheck *ch, const char *fail, bool all_rows, const char *denominator, List *sample_cols)
{
	qs_row_scan(s, ch, fail, NULL, all_rows, denominator, sample_cols);
}

static List *
qs_one(const char *name)
{
	return list_make1((char *) name);
}

/* the bound of a range (or aggregate) rule as a constant of type typid */
static char *
qs_bound(QScan *s, QCheck *ch, const char *key, Oid typid)
{
	char	   *v = QJNumText(ch->r, key);

	if (v == NULL)
		v = (char *) QJStr(ch->r, key);
	return v ? qs_const(s, ch, v, typid) : NULL;
}

/* the type to compare bounds in: the column's, unless an integer column has a fractional bound */
static Oid
qs_bound_type(QCheck *ch, QCol *c)
{
	Oid			base = getBaseType(c->typid);

	if (base == INT2OID || base == INT4OID || base == INT8OID)
	{
		const char *keys[2] = {"min", "max"};

		for (int i = 0; i < 2; i++)
		{
			char	   *t = QJNumText(ch->r, keys[i]);

			if (t && strpbrk(t, ".eE") != NULL)
				return NUMERICOID;
		}
	}
	return c->typid;
}

static char *
qs_range_pred(QScan *s, QCheck *ch, const char *v, Oid typid)
{
	char	   *lo = qs_bound(s, ch, "min", typid);
	char	   *hi = qs_bound(s, ch, "max", typid);
	StringInfoData b;

	initStringInfo(&b);
	if (lo)
		appendStringInfo(&b, "%s %s %s", v, QJBool(ch->r, "strict_min", false) ? ">" : ">=", lo);
	if (hi)
		appendStringInfo(&b, "%s%s %s %s", lo ? " AND " : "", v, QJBool(ch->r, "strict_max", false) ? "<" : "<=", hi);
	return b.data;
}

static bool
qs_numeric_bounds(QCheck *ch)
{
	JsonbValue *mn = QJGet(ch->r, "min");
	JsonbValue *mx = QJGet(ch->r, "max");

	return (mn && mn->type == jbvNumeric) || (mx && mx->type == jbvNumeric);
}

static void
qs_validity(QScan *s, QCheck *ch)
{
	QCol	   *c = ch->col;
	char	   *v = QualityScanRef(c);
	char	   *t = psprintf("%s::pg_catalog.text", v);
	char	   *valid = NULL;

	if (strcmp(ch->check, "range") == 0)
	{
		const char *cast = QJStr(ch->r, "cast");

		if (cast)
		{
			/* values that do not parse as the type fail; no error, no subtransaction */
			char	   *typed = psprintf("CAST(%s AS pg_catalog.%s)", t, cast);
			Oid			ct = strcmp(cast, "numeric") == 0 ? NUMERICOID : strcmp(cast, "date") == 0 ? DATEOID : TIMESTAMPOID;

			valid = psprintf("CASE WHEN etl._parseable(%s, %s) THEN %s ELSE false END", t,
							 quote_literal_cstr(cast), qs_range_pred(s, ch, typed, ct));
		}
		else
		{
			if (qs_numeric_bounds(ch) && !c->numeric)
				qs_type_error(ch, c, NULL, true);
			/* bounds in the column's type (no per-row cast), numeric only for 0.5 on an integer */
			valid = qs_range_pred(s, ch, v, qs_bound_type(ch, c));
		}
	}
	else if (strcmp(ch->check, "length") == 0)
	{
		char	   *mn = QJNumText(ch->r, "min");
		char	   *mx = QJNumText(ch->r, "max");

		/* one call that rarely counts characters (aggs.c), not char_length twice */
		valid = psprintf("etl._length_ok(%s, %s, %s)", t, qs_const(s, ch, mn ? mn : "0", INT4OID),
						 qs_const(s, ch, mx ? mx : "2147483647", INT4OID));
	}
	else if (strcmp(ch->check, "pattern") == 0)
	{
		int			k = QualityScanParam(s, TEXTOID, CStringGetTextDatum(QJStr(ch->r, "pattern")));
		const char *flavor = QJStr(ch->r, "flavor");

		valid = flavor && strcmp(flavor, "postgres") == 0 ?
			psprintf("%s OPERATOR(pg_catalog.~) $%d", t, k) : psprintf("etl._re_match(%s, $%d)", t, k);
	}
	else if (strcmp(ch->check, "format") == 0 || strcmp(ch->check, "type") == 0)
	{
		const char *fmt = strcmp(ch->check, "format") == 0 ? QJStr(ch->r, "format") :
			QualityTypeFormat(QJStr(ch->r, "data_type"));
		Oid			same = strcmp(ch->check, "type") == 0 ?
			DatumGetObjectId(DirectFunctionCall1(to_regtype, CStringGetTextDatum(QJStr(ch->r, "data_type")))) : InvalidOid;

		if (strcmp(fmt, "text") == 0 || (OidIsValid(same) && same == c->typid))
			valid = "true";		/* a column of the type: always valid */
		else if (strcmp(fmt, "json") == 0)
			valid = psprintf("etl._is_json(%s)", t);
		else
			valid = psprintf("etl._re_match(%s, $%d)", t,
							 QualityScanParam(s, TEXTOID, CStringGetTextDatum(QualityFormatPattern(fmt))));
	}
	else if (strcmp(ch->check, "allowed_values") == 0)
	{
		/*
		 * The values as a constant array of the column's type (text for a type
		 * without equality); an empty list allows nothing: every non-NULL
		 * value fails.
		 */
		if (c->has_eq && OidIsValid(get_array_type(c->typid)))
			valid = psprintf("%s = ANY (%s)", v, qs_const_array(s, ch, "values", c->typid));
		else
			valid = psprintf("%s = ANY (%s)", t, qs_const_array(s, ch, "values", TEXTOID));
	}
	/*
	 * A NULL value is not a validity failure: the checks give NULL for it
	 * (and FILTER (WHERE NULL) counts nothing), except = ANY of an empty
	 * list and the CASE of cast:, which say false; those test for NULL
	 * first (a test per row the others do not pay).
	 */
	if (QJGet(ch->r, "cast") || (strcmp(ch->check, "allowed_values") == 0 && QJObj(ch->r, "values") &&
								 JsonContainerSize(QJObj(ch->r, "values")) == 0))
		qs_row_scan(s, ch, psprintf("%s IS NOT NULL AND NOT (%s)", v, valid), psprintf("NOT (%s)", valid),
					false, NULL, qs_one(c->name));
	else
		qs_row(s, ch, strcmp(valid, "true") == 0 ? "false" : psprintf("NOT (%s)", valid), false, NULL, qs_one(c->name));
}

/* the relation a referential or row_count_equal rule reads: a pipeline node, or a relation/query */
static MetaetlData *
qs_reference(QScan *s, QCheck *ch, const char *ref)
{
	JsonbValue *node = s->nodes ? QJGet(&s->nodes->root, ref) : NULL;

	if (node && node->type == jbvString)
	{
		ch->ref_label = psprintf("node %s", ref);
		return MetaetlResolveData(pnstrdup(node->val.string.val, node->val.string.len), METAETL_DATA_MUST_EXIST);
	}
	ch->ref_label = ref;
	return MetaetlResolveData(ref, METAETL_DATA_MUST_EXIST);
}

static void
qs_referential(QScan *s, QCheck *ch)
{
	const char *ref = QJStr(ch->r, "ref") ? QJStr(ch->r, "ref") : QJStr(ch->r, "ref_table");
	const char *rc = QJStr(ch->r, "ref_column");
	MetaetlData *d = qs_reference(s, ch, ref);
	List	   *rcols = qs_describe(d->from_item);
	ListCell   *lc;
	bool		found = false;
	char	   *v = QualityScanRef(ch->col);

	foreach(lc, rcols)
		if (strcmp(((QCol *) lfirst(lc))->name, rc) == 0)
			found = true;
	if (!found)
	{
		StringInfoData all;

		initStringInfo(&all);
		foreach(lc, rcols)
			appendStringInfo(&all, "%s%s", all.len ? ", " : "", ((QCol *) lfirst(lc))->name);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist in %s", rc, ref),
				 errdetail("Quality rule \"%s\" on %s.", ch->name, s->dataset),
				 errhint("The columns of %s are: %s.", ref, all.len ? all.data : "(none)")));
	}
	/* the reference is read once, as a hashed subplan of the same query */
	qs_row(s, ch, psprintf("NOT (%s = ANY (SELECT \"metaetl.f\".%s FROM %s AS \"metaetl.f\" WHERE \"metaetl.f\".%s IS NOT NULL))",
						   v, quote_identifier(rc), d->from_item, quote_identifier(rc)),
		   false, NULL, qs_one(ch->col->name));
}

static void
qs_column_pair(QScan *s, QCheck *ch)
{
	QCol	   *a = linitial(ch->cols);
	QCol	   *b = lsecond(ch->cols);
	char	   *x = QualityScanRef(a);
	char	   *y = QualityScanRef(b);
	const char *op;
	char	   *both_null = psprintf("%s IS NULL AND %s IS NULL", x, y);

	if (strcmp(ch->check, "equal") == 0)
		op = "=";
	else if (strcmp(ch->check, "not_equal") == 0)
		op = "<>";
	else if (strcmp(ch->check, "greater") == 0)
		op = ">";
	else if (strcmp(ch->check, "greater_or_equal") == 0)
		op = ">=";
	else if (strcmp(ch->check, "less") == 0)
		op = "<";
	else
		op = "<=";
	/* both NULL: not checked; one NULL: fails; else the comparison */
	qs_row(s, ch, psprintf("NOT (%s) AND (%s IS NULL OR %s IS NULL OR NOT (%s %s %s))", both_null, x, y, x, op, y), false,
		   psprintf("NOT (%s)", both_null), list_make2(a->name, b->name));
}

/* ------------------------------------------------------------ groups */

static void
qs_uniqueness(QScan *s, QCheck *ch)
{
	const char *nulls = QJStr(ch->r, "nulls");
	bool		not_distinct = nulls && strcmp(nulls, "not_distinct") == 0;
	StringInfoData key;
	StringInfoData sel;
	StringInfoData cond;
	StringInfoData grp;
	StringInfoData obj;
	StringInfoData ord;
	ListCell   *lc;
	ListCell   *a;
	ListCell   *b;
	int			i = 0;
	char	   *cte;
	const char *countkey = "duplicate_count";

	initStringInfo(&key);
	foreach(lc, ch->cols)
		appendStringInfo(&key, "%s,", ((QCol *) lfirst(lc))->name);
	appendStringInfo(&key, "|%s|%s", ch->scope ? ch->scope : "", not_distinct ? "nd" : "d");
	forboth(a, s->group_keys, b, s->group_slots)
		if (strcmp(lfirst(a), key.data) == 0)
		{
			ch->s_a = lfirst_int(b);
			ch->s_b = ch->s_a + 1;
			return;
		}
	s->need_mat = true;
	cte = psprintf("\"metaetl.u%d\"", ++s->nctes);
	initStringInfo(&sel);
	initStringInfo(&cond);
	initStringInfo(&grp);
	initStringInfo(&obj);
	initStringInfo(&ord);
	if (ch->scope)
		appendStringInfoString(&cond, ch->scope);
	foreach(lc, ch->cols)
	{
		QCol	   *c = lfirst(lc);
		char	   *v = QualityScanRef(c);
		i++;
		/* a type without equality groups by its text form */
		appendStringInfo(&sel, "%s%s%s AS k%d", i > 1 ? ", " : "", v, c->has_eq ? "" : "::pg_catalog.text", i);
		if (!not_distinct)		/* NULLS DISTINCT: a key with a NULL is not checked, as in UNIQUE */
			appendStringInfo(&cond, "%s%s IS NOT NULL", cond.len ? " AND " : "", v);
		appendStringInfo(&grp, "%s%d", i > 1 ? ", " : "", i);
		appendStringInfo(&obj, "%s%s, \"metaetl.g\".k%d", i > 1 ? ", " : "", quote_literal_cstr(c->name), i);
		appendStringInfo(&ord, ", \"metaetl.g\".k%d::pg_catalog.text", i);
		if (strcmp(c->name, "duplicate_count") == 0)
			countkey = "metaetl.duplicate_count";	/* a key column has the count's name */
	}
	appendStringInfo(&s->ctes, ",\n  %s AS (SELECT %s, pg_catalog.count(*) AS n FROM " QS_MAT " AS " QS_ALIAS "%s%s GROUP BY %s)",
					 cte, sel.data, cond.len ? " WHERE " : "", cond.data, grp.data);
	ch->s_a = QualityScanFinal(s, psprintf("(SELECT pg_catalog.jsonb_build_object('groups', pg_catalog.count(*), "
										   "'rows', coalesce(pg_catalog.sum(\"metaetl.g\".n), 0), "
										   "'dup_rows', coalesce(pg_catalog.sum(\"metaetl.g\".n) FILTER (WHERE \"metaetl.g\".n > 1), 0)) "
										   "FROM %s AS \"metaetl.g\")", cte));
	ch->s_b = QualityScanFinal(s, psprintf("(SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(%s, '%s', \"metaetl.g\".n) "
										   "ORDER BY \"metaetl.g\".n DESC%s), '[]') FROM (SELECT * FROM %s AS \"metaetl.g\" "
										   "WHERE \"metaetl.g\".n > 1 ORDER BY \"metaetl.g\".n DESC%s LIMIT %d) AS \"metaetl.g\")",
										   obj.data, countkey, ord.data, cte, ord.data, s->nsamples));
	s->group_keys = lappend(s->group_keys, pstrdup(key.data));
	s->group_slots = lappend_int(s->group_slots, ch->s_a);
}

/* ------------------------------------------------------------ aggregates */

static char *
qs_filter(QCheck *ch, const char *extra)
{
	if (ch->scope && extra)
		return psprintf(" FILTER (WHERE %s AND %s)", ch->scope, extra);
	if (ch->scope || extra)
		return psprintf(" FILTER (WHERE %s)", ch->scope ? ch->scope : extra);
	return "";
}

/* {"value": V, "ok": V within the bounds (or V NULL)} computed in the final select */
static int
qs_bounded(QScan *s, QCheck *ch, const char *value, Oid type)
{
	char	   *cond = qs_range_pred(s, ch, value, type);

	return QualityScanFinal(s, psprintf("pg_catalog.jsonb_build_object('value', pg_catalog.to_jsonb(%s), 'ok', %s IS NULL OR (%s))",
										value, value, cond));
}

static void
qs_need_numeric(QCheck *ch)
{
	if (!ch->col->numeric)
		qs_type_error(ch, ch->col, "numbers", false);
}

/*
 * The fused aggregate rules (colstats.c): one etl._colstats call per scope
 * (its FILTER), one argument per column, the flags of every rule on it.
 */
typedef struct QFused
{
	char	   *filter;			/* qs_filter's text: "" or " FILTER (WHERE ...)" */
	int			id;				/* "metaetl.b".m<id> */
	List	   *cols;			/* QCol * */
	List	   *flags;			/* int, parallel */
	List	   *freq;			/* QFusedFreq *: frequency tables (etl._freq's) */
	List	   *quant;			/* QFusedQuant *: sets of exact quantiles */
	int			nrefs;			/* ref arrays and fractions: arguments after the columns */
	List	   *refsql;			/* their SQL, by argument */
} QFused;

typedef struct QFusedQuant
{
	int			col;			/* index into cols */
	int			refarg;			/* the float8[] of fractions */
} QFusedQuant;

typedef struct QFusedFreq
{
	int			col;			/* index into cols */
	int			top_n;
	char	   *ref;			/* the ref array's SQL, NULL for none */
	int			refarg;
} QFusedFreq;

/* a function takes 100 arguments: the spec and at most 90 columns and ref arrays per call */
#define QS_FUSED_MAX 90

/* 'i' integer, 'n' numeric, 'f' float, 0 other: which statistics colstats.c can fuse */
static char
qs_num_kind(QCol *c)
{
	Oid			base = getBaseType(c->typid);

	if (base == INT2OID || base == INT4OID || base == INT8OID)
		return 'i';
	if (base == NUMERICOID)
		return 'n';
	if (base == FLOAT4OID || base == FLOAT8OID)
		return 'f';
	return 0;
}

/* the fused aggregate of ch's scope that has (or has room for) column c and extra more arguments */
static QFused *
qs_fused_for(QScan *s, QCheck *ch, QCol *c, int extra, int *idx)
{
	const char *filter = qs_filter(ch, NULL);
	QFused	   *f = NULL;
	ListCell   *lc;

	*idx = -1;
	foreach(lc, s->fused)
	{
		QFused	   *x = lfirst(lc);
		ListCell   *cc;
		int			i = 0;

		if (strcmp(x->filter, filter) != 0)
			continue;
		foreach(cc, x->cols)
		{
			if (lfirst(cc) == c)
			{
				*idx = i;
				break;
			}
			i++;
		}
		if (*idx >= 0 && list_length(x->cols) + x->nrefs + extra <= QS_FUSED_MAX)
			return x;
		*idx = -1;
		if (f == NULL && list_length(x->cols) + x->nrefs + extra < QS_FUSED_MAX)
			f = x;
	}
	if (f == NULL)
	{
		f = palloc0(sizeof(QFused));
		f->filter = pstrdup(filter);
		f->id = list_length(s->fused) + 1;
		s->fused = lappend(s->fused, f);
	}
	return f;
}

/*
 * qs_colstat
 *		Ask the fused aggregate of ch's scope for flag (QCS_*) of column c;
 *		returns the SQL of c's result object, NULL when there was no row.
 */
static char *
qs_colstat(QScan *s, QCheck *ch, QCol *c, int flag)
{
	int			idx;
	QFused	   *f = qs_fused_for(s, ch, c, 0, &idx);

	if (idx < 0)
	{
		f->cols = lappend(f->cols, c);
		f->flags = lappend_int(f->flags, flag);
		idx = list_length(f->cols) - 1;
	}
	else
		list_nth_cell(f->flags, idx)->int_value |= flag;
	return psprintf("(" QS_BASE ".m%d OPERATOR(pg_catalog.->) 'c' OPERATOR(pg_catalog.->) %d)", f->id, idx);
}

/*
 * qs_colstat_freq
 *		Ask the fused aggregate of ch's scope for etl._freq(c, top_n, ref)
 *		(ref: SQL of an array of c's type, NULL for none); returns the SQL
 *		of that jsonb, etl._freq's empty result when there was no row.
 */
static char *
qs_colstat_freq(QScan *s, QCheck *ch, QCol *c, int top_n, const char *ref)
{
	int			idx;
	QFused	   *f = qs_fused_for(s, ch, c, 2, &idx);
	QFusedFreq *q = NULL;
	ListCell   *lc;
	int			j = 0;

	if (idx < 0)
	{
		f->cols = lappend(f->cols, c);
		f->flags = lappend_int(f->flags, 0);
		idx = list_length(f->cols) - 1;
	}
	foreach(lc, f->freq)
	{
		QFusedFreq *x = lfirst(lc);

		if (x->col == idx && x->top_n == top_n &&
			(x->ref == NULL ? ref == NULL : ref != NULL && strcmp(x->ref, ref) == 0))
		{
			q = x;
			break;
		}
		j++;
	}
	if (q == NULL)
	{
		q = palloc0(sizeof(QFusedFreq));
		q->col = idx;
		q->top_n = top_n;
		q->ref = ref ? pstrdup(ref) : NULL;
		q->refarg = ref ? f->nrefs++ : -1;
		if (ref)
			f->refsql = lappend(f->refsql, q->ref);
		f->freq = lappend(f->freq, q);
		j = list_length(f->freq) - 1;
	}
	return psprintf("COALESCE(" QS_BASE ".m%d OPERATOR(pg_catalog.->) 'f' OPERATOR(pg_catalog.->) %d, %s::pg_catalog.jsonb)",
					f->id, j, quote_literal_cstr(QUALITY_FREQ_EMPTY));
}

/*
 * qs_colstat_quantile
 *		Ask the fused aggregate of ch's scope for the exact quantile
 *		fraction of c (etl._quantiles over its float8 values); returns
 *		the SQL of it as numeric, NULL for no value.
 */
static char *
qs_colstat_quantile(QScan *s, QCheck *ch, QCol *c, const char *fraction)
{
	int			idx;
	QFused	   *f = qs_fused_for(s, ch, c, 2, &idx);
	QFusedQuant *q = palloc0(sizeof(QFusedQuant));

	if (idx < 0)
	{
		f->cols = lappend(f->cols, c);
		f->flags = lappend_int(f->flags, QCS_VALUES);
		idx = list_length(f->cols) - 1;
	}
	else
		list_nth_cell(f->flags, idx)->int_value |= QCS_VALUES;
	q->col = idx;
	q->refarg = f->nrefs++;
	f->refsql = lappend(f->refsql, qs_const(s, ch, psprintf("{%s}", fraction), FLOAT8ARRAYOID));
	f->quant = lappend(f->quant, q);
	return psprintf("(" QS_BASE ".m%d OPERATOR(pg_catalog.->) 'q' OPERATOR(pg_catalog.->) %d OPERATOR(pg_catalog.->>) 0)::pg_catalog.numeric",
					f->id, list_length(f->quant) - 1);
}

/* a numeric statistic of qs_colstat's object */
static char *
qs_colstat_num(QScan *s, QCheck *ch, QCol *c, int flag, const char *key)
{
	return psprintf("(%s OPERATOR(pg_catalog.->>) '%s')::pg_catalog.numeric", qs_colstat(s, ch, c, flag), key);
}

/* the KLL sketch of c (etl._kll's jsonb, an empty sketch for no row) as a result slot */
static int
qs_colstat_kll(QScan *s, QCheck *ch, QCol *c)
{
	return QualityScanFinal(s, psprintf("COALESCE(%s OPERATOR(pg_catalog.->) 'kll', "
										"'{\"k\": %d, \"n\": 0, \"levels\": [[]]}'::pg_catalog.jsonb)",
										qs_colstat(s, ch, c, QCS_KLL), QKLL_DEFAULT_K));
}

/* HyperLogLog fuses when the hash needs no collation of its own (the call's is the default) */
static bool
qs_hll_fusable(QCol *c)
{
	return c->has_eq && (!OidIsValid(c->collation) || c->collation == DEFAULT_COLLATION_OID);
}

static void
qs_aggregate(QScan *s, QCheck *ch)
{
	const char *t = ch->type;
	QCol	   *c = ch->col;
	char	   *v = c ? QualityScanRef(c) : NULL;
	int			slot;

	if (strcmp(t, "min") == 0 || strcmp(t, "max") == 0)
	{
		if (qs_numeric_bounds(ch) && !c->numeric)
			qs_type_error(ch, c, NULL, true);
		if (!c->has_order)
			qs_type_error(ch, c, "an ordered type", false);
		if (qs_num_kind(c) == 'i' || qs_num_kind(c) == 'n')
		{
			ch->s_a = qs_bounded(s, ch, qs_colstat_num(s, ch, c, QCS_MINMAX, t), NUMERICOID);
			return;
		}
		slot = QualityScanAgg(s, psprintf("pg_catalog.%s(%s)%s", t, v, qs_filter(ch, NULL)));
		ch->s_a = qs_bounded(s, ch, c->numeric ? psprintf("%s::pg_catalog.numeric", QualityScanAggRef(s, slot)) : QualityScanAggRef(s, slot),
							 c->numeric ? NUMERICOID : c->typid);
	}
	else if (strcmp(t, "mean") == 0 || strcmp(t, "sum") == 0 || strcmp(t, "stddev") == 0)
	{
		Oid			base;

		qs_need_numeric(ch);
		base = getBaseType(c->typid);
		/* fused (colstats.c), each computed as the aggregate below computes it */
		if (strcmp(t, "stddev") == 0 ? base != INT2OID && base != INT4OID : qs_num_kind(c) != 'f')
		{
			ch->s_a = qs_bounded(s, ch, strcmp(t, "stddev") == 0 ? qs_colstat_num(s, ch, c, QCS_VAR, "stddev") :
								 qs_colstat_num(s, ch, c, QCS_SUM, t), NUMERICOID);
			return;
		}
		/*
		 * mean and sum exact, in the column's type (avg and sum of a numeric
		 * share one transition state); stddev in float8 for numeric and
		 * bigint, whose own stddev_samp squares numerics per row.
		 */
		if (strcmp(t, "stddev") == 0 && (base == NUMERICOID || base == INT8OID))
			slot = QualityScanAgg(s, psprintf("pg_catalog.stddev_samp(%s)%s", QualityScanFloat8(c, v), qs_filter(ch, NULL)));
		else
			slot = QualityScanAgg(s, psprintf("pg_catalog.%s(%s)%s", strcmp(t, "mean") == 0 ? "avg" :
											  strcmp(t, "sum") == 0 ? "sum" : "stddev_samp", v, qs_filter(ch, NULL)));
		ch->s_a = qs_bounded(s, ch, psprintf("%s::pg_catalog.numeric", QualityScanAggRef(s, slot)), NUMERICOID);
	}
	else if (strcmp(t, "median") == 0 || strcmp(t, "quantile") == 0)
	{
		char	   *q = strcmp(t, "median") == 0 ? "0.5" : QJNumText(ch->r, "q");

		qs_need_numeric(ch);
		if (QJBool(ch->r, "approximate", false))
		{
			/*
			 * The KLL sketch (sketchagg.c), the same aggregate as a ks drift
			 * rule's on this column and scope, so the two share one state;
			 * checks.c reads the quantile off the sketch.
			 */
			ch->s_a = qs_colstat_kll(s, ch, c);
			return;
		}
		if (qs_num_kind(c))
		{
			ch->s_a = qs_bounded(s, ch, qs_colstat_quantile(s, ch, c, q), NUMERICOID);
			return;
		}
		slot = QualityScanAgg(s, psprintf("etl._quantiles(%s, %s)%s", QualityScanFloat8(c, v),
										  qs_const(s, ch, psprintf("{%s}", q), FLOAT8ARRAYOID), qs_filter(ch, NULL)));
		ch->s_a = qs_bounded(s, ch, psprintf("(%s)[1]::pg_catalog.numeric", QualityScanAggRef(s, slot)), NUMERICOID);
	}
	else if (strcmp(t, "distinct_count") == 0 || strcmp(t, "proportion_unique") == 0)
	{
		char	   *b;

		if (QJBool(ch->r, "approximate", false))
		{
			/* HyperLogLog (aggs.c): 16 kB of registers instead of every distinct value */
			char	   *hv = c->has_eq ? v : psprintf("%s::pg_catalog.text", v);
			char	   *hll;
			char	   *n;

			if (qs_hll_fusable(c))
				hll = psprintf("COALESCE((%s OPERATOR(pg_catalog.->>) 'hll')::pg_catalog.int8, 0)",
							   qs_colstat(s, ch, c, QCS_HLL));
			else
				hll = QualityScanAggRef(s, QualityScanAgg(s, psprintf("etl._hll_distinct(%s)%s", hv, qs_filter(ch, NULL))));
			if (strcmp(t, "distinct_count") == 0)
				ch->s_a = qs_bounded(s, ch, psprintf("%s::pg_catalog.numeric", hll), NUMERICOID);
			else
			{
				/* an estimate above the number of values is capped at it: at most 1 */
				n = qs_hll_fusable(c) ?
					psprintf("COALESCE((%s OPERATOR(pg_catalog.->>) 'n')::pg_catalog.int8, 0)",
							 qs_colstat(s, ch, c, QCS_HLL)) :
					QualityScanAggRef(s, QualityScanAgg(s, psprintf("pg_catalog.count(%s)%s", v, qs_filter(ch, NULL))));
				ch->s_a = qs_bounded(s, ch, psprintf("(LEAST(%s, %s)::pg_catalog.numeric / NULLIF(%s, 0))", hll, n, n),
									 NUMERICOID);
			}
			return;
		}
		if (qs_hll_fusable(c))
		{
			b = qs_colstat_freq(s, ch, c, 0, NULL);
			slot = QualityScanFinal(s, b);
		}
		else
		{
			slot = QualityScanAgg(s, c->has_eq ?
								  psprintf("etl._freq(%s, 0, NULL::%s[])%s", v, c->typname, qs_filter(ch, NULL)) :
								  psprintf("etl._freq(%s::pg_catalog.text, 0, NULL::pg_catalog.text[])%s", v, qs_filter(ch, NULL)));
			b = QualityScanAggRef(s, slot);
		}
		ch->s_b = slot;
		ch->s_a = qs_bounded(s, ch, strcmp(t, "distinct_count") == 0 ?
							 psprintf("(%s->>'distinct')::pg_catalog.numeric", b) :
							 psprintf("((%s->>'distinct')::pg_catalog.numeric / NULLIF((%s->>'n')::pg_catalog.numeric, 0))", b, b),
							 NUMERICOID);
	}
	else if (strcmp(t, "most_common") == 0 || strcmp(t, "distinct_values") == 0)
	{
		const char *key = strcmp(t, "most_common") == 0 ? "in" :
			QJGet(ch->r, "contains") ? "contains" : QJGet(ch->r, "equals") ? "equals" : "subset_of";
		ch->check = key;
		if (qs_hll_fusable(c))
			ch->s_a = QualityScanFinal(s, qs_colstat_freq(s, ch, c, 5, qs_const_array(s, ch, key, c->typid)));
		else
			ch->s_a = QualityScanAgg(s, c->has_eq ?
								 psprintf("etl._freq(%s, 5, %s)%s", v, qs_const_array(s, ch, key, c->typid), qs_filter(ch, NULL)) :
								 psprintf("etl._freq(%s::pg_catalog.text, 5, %s)%s", v, qs_const_array(s, ch, key, TEXTOID),
										  qs_filter(ch, NULL)));
	}
	else if (strcmp(t, "monotonic") == 0)
	{
		const char *dir = QJStr(ch->r, "direction");
		bool		dec = dir && strcmp(dir, "decreasing") == 0;
		const char *ob = QJStr(ch->r, "order_by");
		char	   *obe = psprintf("(%s\n)", ob);

		if (!c->has_order)
			qs_type_error(ch, c, "an ordered type", false);
		qs_check_expr(s, ch, "order_by", ob, "");
		/*
		 * Rows in order_by's order; ties broken by the value in the rule's own
		 * direction, so rows with equal keys never count as a violation.  An
		 * ordered aggregate: the scan is not parallel when the rule is there.
		 */
		ch->s_a = QualityScanAgg(s, psprintf("etl._monotonic(%s, %s, %s ORDER BY %s, %s%s)%s", v,
											 QJBool(ch->r, "strict", false) ? "true" : "false", dec ? "true" : "false",
											 obe, v, dec ? " DESC" : "",
											 qs_filter(ch, psprintf("%s IS NOT NULL AND %s IS NOT NULL", v, obe))));
	}
	else if (strcmp(t, "freshness") == 0)
	{
		char	   *b;
		char	   *age;

		if (c->category != TYPCATEGORY_DATETIME)
			qs_type_error(ch, c, "a date or timestamp", false);
		slot = QualityScanAgg(s, psprintf("pg_catalog.max(%s)%s", v, qs_filter(ch, NULL)));
		b = QualityScanAggRef(s, slot);
		age = psprintf("(pg_catalog.now() OPERATOR(pg_catalog.-) %s::pg_catalog.timestamptz)", b);
		ch->s_a = QualityScanFinal(s, psprintf("pg_catalog.jsonb_build_object('newest', pg_catalog.to_jsonb(%s), "
											   "'age', %s::pg_catalog.text, 'age_seconds', pg_catalog.round(pg_catalog.date_part('epoch', %s)::pg_catalog.numeric, 3), "
											   "'ok', %s IS NOT NULL AND %s <= %s)",
											   b, age, age, b, age, qs_const(s, ch, QJStr(ch->r, "max_age"), INTERVALOID)));
	}
	else if (strcmp(t, "row_count") == 0)
		ch->s_total = ch->scope ? QualityScanAgg(s, psprintf("pg_catalog.count(*) FILTER (WHERE %s)", ch->scope)) : 0;
	else if (strcmp(t, "outliers") == 0)
	{
		StringInfoData arr;
		ListCell   *lc;
		JsonbValue *opt = QJGet(ch->r, "options");
		char	   *opts = "{}";

		initStringInfo(&arr);
		foreach(lc, ch->cols)
		{
			QCol	   *oc = lfirst(lc);

			if (!oc->numeric)
			{
				ch->col = oc;
				qs_need_numeric(ch);
			}
			appendStringInfo(&arr, "%s%s", arr.len ? ", " : "", QualityScanFloat8(oc, QualityScanRef(oc)));
		}
		if (opt && opt->type == jbvBinary)
			opts = JsonbToCString(NULL, opt->val.binary.data, 64);
		ch->s_a = QualityScanAgg(s, psprintf("etl._outliers(%s, %s, VARIADIC ARRAY[%s])%s",
											 qs_const(s, ch, QJStr(ch->r, "method"), TEXTOID),
											 qs_const(s, ch, opts, JSONBOID), arr.data, qs_filter(ch, NULL)));
	}
	else if (strcmp(t, "drift") == 0)
	{
		const char *method = QJStr(ch->r, "method");

		ch->reference = QualityDriftReference(s, c->name);
		if (strcmp(method, "ks") == 0 || (strcmp(method, "psi") == 0 && c->numeric))
		{
			if (!c->numeric)
				qs_type_error(ch, c, "numbers (ks compares numeric distributions; chi2 compares categories)", false);
			ch->s_a = qs_colstat_kll(s, ch, c);
		}
		else
		{
			/* categories: this run's count of each of the reference's, and its own top 100 */
			JsonbContainer *freq = ch->reference ? QJObj(&ch->reference->root, "frequencies") : NULL;
			int			n = 0;
			Datum		cats = freq ? QJTextArray(freq, "values", &n) :
				PointerGetDatum(construct_empty_array(TEXTOID));

			int			k = QualityScanParam(s, TEXTARRAYOID, cats);

			/* a text column is its own ::text: the fused aggregate counts it */
			if (c->typid == TEXTOID && qs_hll_fusable(c))
				ch->s_a = QualityScanFinal(s, qs_colstat_freq(s, ch, c, 100, psprintf("$%d", k)));
			else
				ch->s_a = QualityScanAgg(s, psprintf("etl._freq(%s::pg_catalog.text, 100, $%d)%s", v, k,
													 qs_filter(ch, NULL)));
		}
	}
}

/* ------------------------------------------------------------ compile */

static QCheck *
qs_check_new(QScan *s, JsonbContainer *r)
{
	QCheck	   *ch = palloc0(sizeof(QCheck));
	const char *col;
	const char *where;

	ch->r = r;
	ch->name = QJStr(r, "name");
	ch->type = QJStr(r, "type");
	ch->check = QJStr(r, "check");
	ch->severity = QJStr(r, "severity");
	if (ch->name == NULL || ch->type == NULL || ch->severity == NULL || !QJNum(r, "threshold", &ch->threshold))
		elog(ERROR, "quality rule is not normalised");
	ch->kind = QualityRuleKindLookup(ch->type);
	if (ch->kind == NULL)
		elog(ERROR, "unknown quality rule type \"%s\"", ch->type);
	ch->s_total = ch->s_fail = ch->s_a = ch->s_b = -1;
	ch->distinct_values = -1;
	if ((col = QJStr(r, "column")) != NULL && strcmp(ch->type, "uniqueness") != 0)
		ch->col = QualityScanColumn(s, col, ch->name);
	if (strcmp(ch->type, "uniqueness") == 0 || strcmp(ch->type, "column_pair") == 0 ||
		strcmp(ch->type, "outliers") == 0)
	{
		ListCell   *lc;

		foreach(lc, QJStrList(r, "columns"))
			ch->cols = lappend(ch->cols, QualityScanColumn(s, lfirst(lc), ch->name));
	}
	if ((where = QJStr(r, "where")) != NULL)
	{
		qs_check_expr(s, ch, "where", where, "::pg_catalog.bool");
		ch->scope = psprintf("(%s\n)", where);
	}
	return ch;
}

/*
 * QualityScanCompile
 *		Add the rules (a normalised JSON array) to the query.
 */
void
QualityScanCompile(QScan *s, Jsonb *rules)
{
	JsonbIterator *it = JsonbIteratorInit(&rules->root);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		QCheck	   *ch;
		const char *t;

		if (tok != WJB_ELEM || v.type != jbvBinary)
			continue;
		ch = qs_check_new(s, v.val.binary.data);
		t = ch->type;
		if (strcmp(t, "completeness") == 0)
			qs_row(s, ch, psprintf("%s IS NULL", QualityScanRef(ch->col)), true, NULL, qs_one(ch->col->name));
		else if (strcmp(t, "validity") == 0)
			qs_validity(s, ch);
		else if (strcmp(t, "consistency") == 0)
		{
			const char *e = QJStr(ch->r, "expression");
			const char *null_is = QJStr(ch->r, "null_is");

			qs_check_expr(s, ch, "expression", e, "::pg_catalog.bool");
			/* null_is: pass counts a NULL result as passing (a CHECK constraint's view); fail does not */
			qs_row(s, ch, psprintf("(%s\n) IS %s", e, null_is && strcmp(null_is, "fail") == 0 ? "NOT TRUE" : "FALSE"),
				   true, NULL, QualityExpressionColumns(e));
		}
		else if (strcmp(t, "referential") == 0)
			qs_referential(s, ch);
		else if (strcmp(t, "parseable") == 0)
		{
			const char *as = QJStr(ch->r, "as");
			Oid			target = DatumGetObjectId(DirectFunctionCall1(to_regtype, CStringGetTextDatum(as)));

			/* a column of the type parses by definition */
			qs_row(s, ch, target == ch->col->typid || (strcmp(as, "json") == 0 && ch->col->typid == JSONBOID) ? "false" :
				   psprintf("NOT etl._parseable(%s::pg_catalog.text, %s)", QualityScanRef(ch->col), quote_literal_cstr(as)),
				   false, NULL, qs_one(ch->col->name));
		}
		else if (strcmp(t, "date_format") == 0)
			qs_row(s, ch, psprintf("NOT etl._date_format_ok(%s::pg_catalog.text, $%d)", QualityScanRef(ch->col),
								   QualityScanParam(s, TEXTOID, CStringGetTextDatum(QJStr(ch->r, "format")))),
				   false, NULL, qs_one(ch->col->name));
		else if (strcmp(t, "column_pair") == 0)
			qs_column_pair(s, ch);
		else if (strcmp(t, "uniqueness") == 0)
			qs_uniqueness(s, ch);
		else if (strcmp(t, "row_count_equal") == 0)
		{
			MetaetlData *d = qs_reference(s, ch, QJStr(ch->r, "ref"));

			ch->s_total = ch->scope ? QualityScanAgg(s, psprintf("pg_catalog.count(*) FILTER (WHERE %s)", ch->scope)) : 0;
			ch->s_a = QualityScanFinal(s, psprintf("pg_catalog.to_jsonb((SELECT pg_catalog.count(*) FROM %s AS \"metaetl.f\"))", d->from_item));
		}
		else if (ch->kind->eval == QE_AGG)
			qs_aggregate(s, ch);
		/* shape kinds and custom rules need nothing from the scan */
		s->checks = lappend(s->checks, ch);
	}
}

/* ------------------------------------------------------------ execute */

/* the query text (scan.h's shape) */
static char *
qs_sql(QScan *s)
{
	StringInfoData q;
	ListCell   *lc;
	int			k = 0;

	/* the non-NULL counts (profile): one call per row (chunks of 90: a function takes 100 arguments) */
	while (k < list_length(s->nncols))
	{
		StringInfoData args;

		initStringInfo(&args);
		for (int j = k; j < list_length(s->nncols) && j < k + 90; j++)
			appendStringInfo(&args, "%s" QS_ALIAS ".%s", j > k ? ", " : "", quote_identifier(list_nth(s->nncols, j)));
		s->nn_slots = lappend_int(s->nn_slots, QualityScanAgg(s, psprintf("etl._count_nonnull(%s)", args.data)));
		k += 90;
	}
	/* the fused aggregate rules: one etl._colstats call per scope (colstats.c's spec) */
	foreach(lc, s->fused)
	{
		QFused	   *f = lfirst(lc);
		StringInfoData spec;
		StringInfoData args;
		StringInfoData refs;
		ListCell   *cc;
		ListCell   *fc;

		initStringInfo(&spec);
		initStringInfo(&args);
		initStringInfo(&refs);
		appendStringInfo(&spec, "%d", list_length(f->cols));
		forboth(cc, f->cols, fc, f->flags)
		{
			appendStringInfo(&spec, ", %d", lfirst_int(fc));
			appendStringInfo(&args, ", %s", QualityScanRef(lfirst(cc)));
		}
		appendStringInfo(&spec, ", %d", list_length(f->freq));
		foreach(fc, f->freq)
		{
			QFusedFreq *q = lfirst(fc);

			appendStringInfo(&spec, ", %d, %d, %d", q->col, q->top_n, q->refarg);
		}
		if (f->quant != NIL)
		{
			appendStringInfo(&spec, ", %d", list_length(f->quant));
			foreach(fc, f->quant)
			{
				QFusedQuant *q = lfirst(fc);

				appendStringInfo(&spec, ", %d, %d", q->col, q->refarg);
			}
		}
		foreach(fc, f->refsql)
			appendStringInfo(&refs, ", %s", (char *) lfirst(fc));
		appendStringInfo(&s->aggs, ",\n       etl._colstats(ARRAY[%s]::pg_catalog.int4[]%s%s)%s AS m%d",
						 spec.data, args.data, refs.data, f->filter, f->id);
	}
	initStringInfo(&q);
	if (s->need_mat)
		appendStringInfo(&q, "WITH " QS_MAT " AS MATERIALIZED (SELECT * FROM %s AS " QS_ALIAS ")%s\n",
						 s->data->from_item, s->ctes.data);
	appendStringInfo(&q, "SELECT ARRAY[%s\n]::pg_catalog.jsonb[]\n  FROM (SELECT %s\n          FROM %s AS " QS_ALIAS ") AS " QS_BASE,
					 s->finals.data, s->aggs.data, s->need_mat ? QS_MAT : s->data->from_item);
	return q.data;
}

/*
 * QualityScanExecute
 *		Run the one query and keep its results; inside SPI_connect.
 */
void
QualityScanExecute(QScan *s)
{
	Datum		d;
	bool		isnull;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			rc;

	s->sql = qs_sql(s);
	elog(DEBUG1, "quality scan of %s: %s", s->dataset, s->sql);
	/*
	 * count 0, not 1: a row limit makes the executor run the plan without
	 * parallel workers.  Not read-only: a fresh snapshot, so that a run's
	 * gate (called from C inside the plan, transform.h's before_load) sees
	 * the nodes this transaction has just materialised.
	 */
	rc = SPI_execute_with_args(s->sql, s->nparams, s->ptypes, s->pvalues, NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "the quality scan failed: %s", SPI_result_code_string(rc));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	deconstruct_array(DatumGetArrayTypeP(d), JSONBOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	s->nres = n;
	s->res = palloc0(sizeof(Jsonb *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		s->res[i] = nulls[i] ? NULL : DatumGetJsonbPCopy(elems[i]);
	s->rows = 0;
	if (n > 0 && s->res[0])
	{
		double		rows;
		JsonbValue	v;

		if (JsonbExtractScalar(&s->res[0]->root, &v) && v.type == jbvNumeric)
		{
			rows = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)));
			s->rows = (int64) rows;
		}
	}
}

/*
 * QualityScanResult
 *		The jsonb an aggregate slot of the one-scan query returned,
 *		for the checks and the profile that planned that slot. A
 *		negative or out-of-range slot gives NULL, so a caller can pass
 *		-1 for "no aggregate was planned" and treat it as a missing
 *		result.
 */
Jsonb *
QualityScanResult(QScan *s, int slot)
{
	if (slot < 0 || slot >= s->nres)
		return NULL;
	return s->res[slot];
}

/* ------------------------------------------------------------ expressions */

static bool
qs_collect_columns(Node *node, void *context)
{
	List	  **names = (List **) context;

	if (node == NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		Node	   *last = (Node *) llast(((ColumnRef *) node)->fields);

		if (IsA(last, String))
		{
			ListCell   *lc;

			foreach(lc, *names)
				if (strcmp((char *) lfirst(lc), strVal(last)) == 0)
					return false;
			*names = lappend(*names, strVal(last));
		}
		return false;
	}
	return raw_expression_tree_walker(node, qs_collect_columns, context);
}

/* the column names a (checked) expression mentions, for its sample rows */
List *
QualityExpressionColumns(const char *expr)
{
	List	   *raw = raw_parser(psprintf("SELECT (%s\n)", expr), RAW_PARSE_DEFAULT);
	SelectStmt *sel = (SelectStmt *) linitial_node(RawStmt, raw)->stmt;
	List	   *names = NIL;

	if (list_length(sel->targetList) == 1)
		(void) qs_collect_columns(linitial_node(ResTarget, sel->targetList)->val, &names);
	return names;
}
