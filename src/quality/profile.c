/*-------------------------------------------------------------------------
 *
 * src/quality/profile.c
 *		The profile as part of the one scan (docs/quality.md, "Profiling").
 *
 * Exact: per column the aggregates of the scan (counts, min/max, moments
 * from etl._moments, sum, zeros, negatives, percentile_cont quantiles,
 * lengths, a KLL sketch for drift) and one hash aggregate of the
 * materialised rows (distinct, unique, top values, histogram, semantic
 * types); per dataset the duplicate rows.
 * Approximate (option approximate, the default from 100,000 estimated
 * rows): one C aggregate call per row for all columns (profagg.c).
 *
 * Each column's profile goes to the caller; what drift rules compare later
 * (the sketch, the 100 most frequent values) only to etl.profiling_stats.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/plannodes.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"

#include "quality/quality.h"
#include "quality/rules.h"
#include "quality/scan.h"

/* the default switches to approximate from this many estimated rows */
#define QP_APPROX_ROWS 100000

typedef struct QProfCol
{
	QCol	   *c;
	int			nn;				/* index in the non-NULL counter */
	int			min,
				max,
				moments,
				sum,
				zeros,
				negatives,
				quantiles,
				blanks,
				minlen,
				avglen,
				maxlen,
				vstats,
				top,
				freq,
				histogram,
				semantic,
				kll;
} QProfCol;

typedef struct QProf
{
	List	   *cols;			/* QProfCol * */
	int			dup;
	List	   *approx_slots;	/* int: etl._profile_approx per 90 columns */
} QProf;

/* the planner's row estimate of the dataset (nothing is read) */
static double
qp_estimate(QScan *s)
{
	SPIPlanPtr	plan = SPI_prepare(psprintf("SELECT * FROM %s AS " QS_ALIAS, s->data->from_item), 0, NULL);
	CachedPlan *cp;
	double		rows = 0;

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	cp = SPI_plan_get_cached_plan(plan);
	if (cp && list_length(cp->stmt_list) == 1)
		rows = linitial_node(PlannedStmt, cp->stmt_list)->planTree->plan_rows;
	if (cp)
		ReleaseCachedPlan(cp, NULL);
	SPI_freeplan(plan);
	return rows;
}

/* approximate unless asked otherwise: from QP_APPROX_ROWS estimated rows */
bool
QualityProfileApproximate(QScan *s, int option)
{
	if (option >= 0)
		return option == 1;
	return qp_estimate(s) >= QP_APPROX_ROWS;
}

static int
qp_nn(QScan *s, QCol *c)
{
	ListCell   *lc;
	int			i = 0;

	foreach(lc, s->nncols)
	{
		if (strcmp((char *) lfirst(lc), c->name) == 0)
			return i;
		i++;
	}
	s->nncols = lappend(s->nncols, c->name);
	return i;
}

static void
qp_exact_column(QScan *s, QProfCol *pc)
{
	QCol	   *c = pc->c;
	char	   *v = QualityScanRef(c);
	char	   *f = QualityScanFloat8(c, v);
	char	   *cte;
	char	   *vexpr = (c->has_eq && c->has_order) ? v : psprintf("%s::pg_catalog.text", v);
	char	   *g = "\"metaetl.g\"";

	pc->min = pc->max = pc->moments = pc->sum = pc->zeros = pc->negatives = pc->quantiles = -1;
	pc->blanks = pc->minlen = pc->avglen = pc->maxlen = pc->histogram = pc->semantic = pc->kll = -1;
	if (c->numeric || c->category == TYPCATEGORY_STRING || c->category == TYPCATEGORY_DATETIME ||
		c->category == TYPCATEGORY_TIMESPAN)
	{
		pc->min = QualityScanAgg(s, psprintf("pg_catalog.min(%s)", v));
		pc->max = QualityScanAgg(s, psprintf("pg_catalog.max(%s)", v));
	}
	if (c->numeric)
	{
		pc->moments = QualityScanAgg(s, psprintf("etl._moments(%s)", f));
		pc->sum = QualityScanAgg(s, psprintf("pg_catalog.sum(%s)", v));
		pc->zeros = QualityScanAgg(s, psprintf("pg_catalog.count(*) FILTER (WHERE %s = 0)", v));
		pc->negatives = QualityScanAgg(s, psprintf("pg_catalog.count(*) FILTER (WHERE %s < 0)", v));
	}
	if (c->category == TYPCATEGORY_STRING)
	{
		pc->blanks = QualityScanAgg(s, psprintf("pg_catalog.count(*) FILTER (WHERE pg_catalog.btrim(%s::pg_catalog.text) = '')", v));
		pc->minlen = QualityScanAgg(s, psprintf("pg_catalog.min(pg_catalog.char_length(%s))", v));
		pc->avglen = QualityScanAgg(s, psprintf("pg_catalog.avg(pg_catalog.char_length(%s))", v));
		pc->maxlen = QualityScanAgg(s, psprintf("pg_catalog.max(pg_catalog.char_length(%s))", v));
	}

	/* one hash aggregate per column: distinct, unique, top values, histogram, semantic type */
	s->need_mat = true;
	cte = psprintf("\"metaetl.v%d\"", ++s->nctes);
	appendStringInfo(&s->ctes, ",\n  %s AS (SELECT %s AS v, pg_catalog.count(*) AS n FROM " QS_MAT " AS " QS_ALIAS
					 " WHERE %s IS NOT NULL GROUP BY 1)", cte, vexpr, v);
	pc->vstats = QualityScanFinal(s, psprintf("(SELECT pg_catalog.jsonb_build_object('distinct', pg_catalog.count(*), "
											  "'unique', pg_catalog.count(*) FILTER (WHERE %s.n = 1)) FROM %s AS %s)", g, cte, g));
	pc->top = s->top_n > 0 ?
		QualityScanFinal(s, psprintf("(SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('value', %s.v, 'count', %s.n) "
									 "ORDER BY %s.n DESC, %s.v), '[]') FROM (SELECT * FROM %s AS %s ORDER BY %s.n DESC, %s.v LIMIT %d) AS %s)",
									 g, g, g, g, cte, g, g, g, s->top_n, g)) : -1;
	pc->freq = QualityScanFinal(s, psprintf("(SELECT pg_catalog.jsonb_build_object('values', coalesce(pg_catalog.jsonb_agg(%s.v::pg_catalog.text "
											"ORDER BY %s.n DESC, %s.v), '[]'), 'counts', coalesce(pg_catalog.jsonb_agg(%s.n ORDER BY %s.n DESC, %s.v), '[]')) "
											"FROM (SELECT * FROM %s AS %s ORDER BY %s.n DESC, %s.v LIMIT 100) AS %s)",
											g, g, g, g, g, g, cte, g, g, g, g));
	if (c->numeric)
	{
		/*
		 * Quantiles, the histogram and the sketch from the value table: its
		 * size is the distinct values, and no sort of every row is needed.
		 */
		pc->quantiles = QualityScanFinal(s, psprintf("(SELECT etl._numdist(%s, %s.n) FROM %s AS %s)",
													 QualityScanFloat8(c, psprintf("%s.v", g)), g, cte, g));
	}
	if (c->category == TYPCATEGORY_STRING)
	{
		static const char *const kinds[] = {"integer", "date", "timestamp", "uuid", "email", "url", "phone"};
		StringInfoData b;

		initStringInfo(&b);
		appendStringInfo(&b, "(SELECT pg_catalog.jsonb_build_object('total', coalesce(pg_catalog.sum(%s.n) FILTER (WHERE pg_catalog.btrim(%s.v::pg_catalog.text) <> ''), 0)", g, g);
		for (int i = 0; i < lengthof(kinds); i++)
			appendStringInfo(&b, ", '%s', coalesce(pg_catalog.sum(%s.n) FILTER (WHERE etl._re_match(%s.v::pg_catalog.text, $%d)), 0)",
							 kinds[i], g, g, QualityScanParam(s, TEXTOID, CStringGetTextDatum(QualityFormatPattern(kinds[i]))));
		appendStringInfo(&b, ", 'json', coalesce(pg_catalog.sum(%s.n) FILTER (WHERE %s.v::pg_catalog.text ~ '^\\s*[\\[{]' "
						 "AND etl._is_json(%s.v::pg_catalog.text)), 0)) FROM %s AS %s)", g, g, g, cte, g);
		pc->semantic = QualityScanFinal(s, b.data);
	}
}

/*
 * QualityProfileCompile
 *		Add the profile of every column to the scan.
 */
void
QualityProfileCompile(QScan *s)
{
	QProf	   *p = palloc0(sizeof(QProf));
	ListCell   *lc;

	s->prof = p;
	p->dup = -1;
	foreach(lc, s->cols)
	{
		QProfCol   *pc = palloc0(sizeof(QProfCol));

		pc->c = lfirst(lc);
		pc->nn = qp_nn(s, pc->c);
		p->cols = lappend(p->cols, pc);
	}
	if (s->approximate)
	{
		/* one call per row for all columns (90 per call: a function takes 100 arguments) */
		for (int k = 0; k < list_length(s->cols); k += 90)
		{
			StringInfoData args;

			initStringInfo(&args);
			for (int j = k; j < list_length(s->cols) && j < k + 90; j++)
				appendStringInfo(&args, "%s%s", j > k ? ", " : "", QualityScanRef(list_nth(s->cols, j)));
			p->approx_slots = lappend_int(p->approx_slots, QualityScanAgg(s, psprintf("etl._profile_approx(%s)", args.data)));
		}
		return;
	}
	foreach(lc, p->cols)
		qp_exact_column(s, lfirst(lc));
	if (s->cols != NIL)
	{
		StringInfoData grp;

		initStringInfo(&grp);
		foreach(lc, s->cols)
		{
			QCol	   *c = lfirst(lc);

			appendStringInfo(&grp, "%s%s%s", grp.len ? ", " : "", QualityScanRef(c), c->has_eq ? "" : "::pg_catalog.text");
		}
		appendStringInfo(&s->ctes, ",\n  \"metaetl.dup\" AS (SELECT pg_catalog.count(*) AS n FROM " QS_MAT " AS " QS_ALIAS " GROUP BY %s)",
						 grp.data);
		p->dup = QualityScanFinal(s, "pg_catalog.to_jsonb((SELECT coalesce(pg_catalog.sum(\"metaetl.dup\".n - 1), 0) FROM \"metaetl.dup\"))");
	}
}

/* ------------------------------------------------------------ results */

static char *
qp_slot(QScan *s, int slot)
{
	Jsonb	   *j = slot >= 0 ? QualityScanResult(s, slot) : NULL;

	return j ? JsonbToCString(NULL, &j->root, 64) : "null";
}

static double
qp_slot_num(QScan *s, int slot)
{
	Jsonb	   *j = slot >= 0 ? QualityScanResult(s, slot) : NULL;
	JsonbValue	v;

	if (j && JsonbExtractScalar(&j->root, &v) && v.type == jbvNumeric)
		return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)));
	return NAN;
}

static int64
qp_count(QScan *s, QProfCol *pc)
{
	Jsonb	   *arr = QualityScanResult(s, list_nth_int(s->nn_slots, pc->nn / 90));
	JsonbValue *e = arr && JB_ROOT_IS_ARRAY(arr) ? getIthJsonbValueFromContainer(&arr->root, pc->nn % 90) : NULL;

	if (e && e->type == jbvNumeric)
		return (int64) DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(e->val.numeric)));
	return 0;
}

/* the semantic type of a column that is not text: from its type */
static const char *
qp_type_semantic(QCol *c)
{
	Oid			t = getBaseType(c->typid);

	if (t == INT2OID || t == INT4OID || t == INT8OID)
		return "integer";
	if (c->numeric)
		return "float";
	if (t == DATEOID)
		return "date";
	if (t == TIMESTAMPOID || t == TIMESTAMPTZOID)
		return "timestamp";
	if (t == BOOLOID)
		return "boolean";
	if (t == UUIDOID)
		return "uuid";
	if (t == JSONOID || t == JSONBOID)
		return "json";
	return c->typname;
}

static void
qp_head(StringInfo b, QScan *s, QProfCol *pc, int64 count)
{
	appendStringInfoString(b, "{\"column\": ");
	escape_json(b, pc->c->name);
	appendStringInfoString(b, ", \"data_type\": ");
	escape_json(b, pc->c->typname);
	appendStringInfo(b, ", \"count\": " INT64_FORMAT ", \"nulls\": " INT64_FORMAT ", \"null_pct\": %s",
					 count, s->rows - count,
					 s->rows == 0 ? "null" : psprintf("%.3f", round(100000.0 * (s->rows - count) / s->rows) / 1000));
}

static void
qp_semantic_exact(StringInfo b, QScan *s, QProfCol *pc)
{
	static const char *const kinds[] = {"integer", "date", "timestamp", "uuid", "email", "url", "phone", "json"};
	Jsonb	   *j = QualityScanResult(s, pc->semantic);
	double		total = 0;

	if (pc->semantic < 0)
	{
		appendStringInfoString(b, ", \"semantic_type\": ");
		escape_json(b, qp_type_semantic(pc->c));
		return;
	}
	(void) QJNum(&j->root, "total", &total);
	if (total <= 0)
	{
		appendStringInfoString(b, ", \"semantic_type\": null");
		return;
	}
	for (int i = 0; i < lengthof(kinds); i++)
	{
		double		hits = 0;

		(void) QJNum(&j->root, kinds[i], &hits);
		if (hits >= 0.95 * total)
		{
			appendStringInfo(b, ", \"semantic_type\": \"%s\", \"semantic_match_pct\": %.3f", kinds[i],
							 round(100000.0 * hits / total) / 1000);
			return;
		}
	}
	appendStringInfoString(b, ", \"semantic_type\": \"text\"");
}

/* one column's profile (exact) and what is stored for drift */
static void
qp_exact_result(QScan *s, QProfCol *pc, StringInfo b, StringInfo keep)
{
	int64		count = qp_count(s, pc);
	Jsonb	   *vs = QualityScanResult(s, pc->vstats);

	qp_head(b, s, pc, count);
	if (pc->blanks >= 0)
		appendStringInfo(b, ", \"blanks\": %s", qp_slot(s, pc->blanks));
	appendStringInfo(b, ", \"distinct\": %s, \"unique\": %s", QJText(&vs->root, "distinct"), QJText(&vs->root, "unique"));
	if (pc->min >= 0)
		appendStringInfo(b, ", \"min\": %s, \"max\": %s", qp_slot(s, pc->min), qp_slot(s, pc->max));
	if (pc->moments >= 0)
	{
		Jsonb	   *m = QualityScanResult(s, pc->moments);
		Jsonb	   *q = QualityScanResult(s, pc->quantiles);
		char	   *mj = JsonbToCString(NULL, &m->root, 64);
		JsonbContainer *qa = q ? QJObj(&q->root, "quantiles") : NULL;

		/* {"mean": ..., "stddev": ...}: its keys go into the column's object */
		appendStringInfo(b, ", %.*s", (int) strlen(mj) - 2, mj + 1);
		appendStringInfo(b, ", \"sum\": %s, \"zeros\": %s, \"negatives\": %s",
						 qp_slot(s, pc->sum), qp_slot(s, pc->zeros), qp_slot(s, pc->negatives));
		if (qa == NULL || JsonContainerSize(qa) != 5)
			appendStringInfoString(b, ", \"quantiles\": null, \"iqr\": null");
		else
		{
			char	   *v[5];
			double		p25 = NAN,
						p75 = NAN;

			for (int i = 0; i < 5; i++)
			{
				JsonbValue *e = getIthJsonbValueFromContainer(qa, i);

				v[i] = JsonbToCString(NULL, &JsonbValueToJsonb(e)->root, 32);
				if (e->type == jbvNumeric && (i == 1 || i == 3))
				{
					double		d = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(e->val.numeric)));

					if (i == 1)
						p25 = d;
					else
						p75 = d;
				}
			}
			appendStringInfo(b, ", \"quantiles\": {\"p05\": %s, \"p25\": %s, \"p50\": %s, \"p75\": %s, \"p95\": %s}, \"iqr\": %s",
							 v[0], v[1], v[2], v[3], v[4], isfinite(p75 - p25) ? float8out_internal(p75 - p25) : "null");
		}
		appendStringInfo(b, ", \"histogram\": %s", q ? (QJText(&q->root, "histogram") ? QJText(&q->root, "histogram") : "null") : "null");
	}
	if (pc->minlen >= 0)
	{
		double		avg = qp_slot_num(s, pc->avglen);

		appendStringInfo(b, ", \"min_length\": %s, \"avg_length\": %s, \"max_length\": %s",
						 qp_slot(s, pc->minlen), isnan(avg) ? "null" : psprintf("%.3f", round(avg * 1000) / 1000),
						 qp_slot(s, pc->maxlen));
	}
	if (pc->top >= 0)
		appendStringInfo(b, ", \"top_values\": %s", qp_slot(s, pc->top));
	qp_semantic_exact(b, s, pc);
	appendStringInfoChar(b, '}');

	/* kept for drift rules: the 100 most frequent values (as text), a sketch of numbers */
	appendStringInfo(keep, "{\"frequencies\": %s", qp_slot(s, pc->freq));
	if (pc->quantiles >= 0 && QualityScanResult(s, pc->quantiles))
		appendStringInfo(keep, ", \"sketch\": %s", QJText(&QualityScanResult(s, pc->quantiles)->root, "sketch"));
	appendStringInfoChar(keep, '}');
}

/* one column's profile (approximate: profagg.c's object, completed) */
static void
qp_approx_result(QScan *s, QProfCol *pc, JsonbContainer *a, StringInfo b, StringInfo keep)
{
	int64		count = 0;
	double		d;
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (QJNum(a, "count", &d))
		count = (int64) d;
	qp_head(b, s, pc, count);
	it = JsonbIteratorInit(a);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "count") == 0 || strcmp(key, "sketch") == 0 || strcmp(key, "frequencies") == 0)
			continue;
		appendStringInfoString(b, ", ");
		escape_json(b, key);
		if (strcmp(key, "top_values") == 0 && v.type == jbvBinary)
		{
			/* the top_n most frequent */
			int			n = Min((int) JsonContainerSize(v.val.binary.data), s->top_n);

			appendStringInfoString(b, ": [");
			for (int i = 0; i < n; i++)
			{
				JsonbValue *e = getIthJsonbValueFromContainer(v.val.binary.data, i);

				appendStringInfo(b, "%s%s", i ? ", " : "", JsonbToCString(NULL, &JsonbValueToJsonb(e)->root, 64));
			}
			appendStringInfoChar(b, ']');
		}
		else
			appendStringInfo(b, ": %s", JsonbToCString(NULL, &JsonbValueToJsonb(&v)->root, 64));
	}
	if (QJGet(a, "semantic_type") == NULL)
	{
		appendStringInfoString(b, ", \"semantic_type\": ");
		escape_json(b, qp_type_semantic(pc->c));
	}
	appendStringInfoChar(b, '}');
	appendStringInfo(keep, "{\"frequencies\": %s", QJText(a, "frequencies") ? QJText(a, "frequencies") : "null");
	if (QJGet(a, "sketch"))
		appendStringInfo(keep, ", \"sketch\": %s", QJText(a, "sketch"));
	appendStringInfoChar(keep, '}');
}

/*
 * QualityProfileResult
 *		s->profile_json: {"row_count", "duplicate_rows", "approximate", "columns",
 *		"_keep": [per column what drift rules need]} (record.c stores _keep).
 */
void
QualityProfileResult(QScan *s)
{
	QProf	   *p = s->prof;
	StringInfoData b;
	StringInfoData keep;
	ListCell   *lc;
	int			i = 0;
	char	   *dups = NULL;
	bool		dups_exact = true;

	initStringInfo(&b);
	initStringInfo(&keep);
	appendStringInfoString(&b, "[");
	appendStringInfoString(&keep, "[");
	foreach(lc, p->cols)
	{
		QProfCol   *pc = lfirst(lc);

		if (i > 0)
		{
			appendStringInfoString(&b, ", ");
			appendStringInfoString(&keep, ", ");
		}
		if (s->approximate)
		{
			Jsonb	   *chunk = QualityScanResult(s, list_nth_int(p->approx_slots, i / 90));
			JsonbContainer *cols = chunk ? QJObj(&chunk->root, "columns") : NULL;
			JsonbValue *e = cols ? getIthJsonbValueFromContainer(cols, i % 90) : NULL;

			if (e == NULL || e->type != jbvBinary)
				elog(ERROR, "approximate profile: no result for column %d", i + 1);
			qp_approx_result(s, pc, e->val.binary.data, &b, &keep);
			if (i == 0)
			{
				dups = QJText(&chunk->root, "duplicate_rows");
				dups_exact = QJBool(&chunk->root, "duplicate_rows_exact", true);
			}
		}
		else
			qp_exact_result(s, pc, &b, &keep);
		i++;
	}
	appendStringInfoChar(&b, ']');
	appendStringInfoChar(&keep, ']');
	if (!s->approximate)
		dups = p->dup >= 0 ? qp_slot(s, p->dup) : "0";
	else if (dups == NULL || list_length(s->cols) > 90)
		dups = "null";			/* rows wider than one aggregate call: not counted */
	s->profile_json = psprintf("{\"row_count\": " INT64_FORMAT ", \"duplicate_rows\": %s%s, \"approximate\": %s, \"columns\": %s, \"_keep\": %s}",
							   s->rows, dups, dups_exact ? "" : ", \"duplicate_rows_approx\": true",
							   s->approximate ? "true" : "false", b.data, keep.data);
}
