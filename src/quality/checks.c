/*-------------------------------------------------------------------------
 *
 * src/quality/checks.c
 *		From the one scan's results to checks: every rule's passed, observed,
 *		observed_pct, total_rows, failed_rows and samples (the shape of
 *		docs/sql-api.md "Quality", docs/quality.md "Results"), plus the checks that
 *		need no scan (schema, columns, column_count, column_types) and the
 *		ones that run their own query (custom).
 *
 * Pass rules (docs/quality.md): a row-level rule passes when
 * 100 x (checked - failed) / checked >= threshold, 100 with nothing to
 * check; an aggregate rule when its value is within its bounds (no value:
 * passes); a drift rule when the test does not reject "same distribution"
 * at its threshold (no stored reference yet: passes).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/regproc.h"

#include "quality/quality.h"
#include "quality/scan.h"
#include "quality/sketch.h"

/* ------------------------------------------------------------ jsonb access */

/* a key's JSON text, or dflt when it is missing */
static char *
qj_text_or(JsonbContainer *c, const char *key, char *dflt)
{
	char	   *t = QJText(c, key);

	return t ? t : dflt;
}

/* a result slot's scalar number; false for NULL */
static bool
qc_num(Jsonb *j, double *out)
{
	JsonbValue	v;

	if (j == NULL || !JsonbExtractScalar(&j->root, &v) || v.type != jbvNumeric)
		return false;
	*out = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)));
	return true;
}

static int64
qc_int(Jsonb *j)
{
	double		d;

	return qc_num(j, &d) ? (int64) d : 0;
}

static int64
qc_key_int(JsonbContainer *c, const char *key)
{
	double		d;

	return QJNum(c, key, &d) ? (int64) d : 0;
}

static char *
qc_json(Jsonb *j)
{
	return j ? JsonbToCString(NULL, &j->root, 64) : "null";
}

static char *
qc_fmt_pct(double pct)
{
	return psprintf("%.3f", round(pct * 1000) / 1000);
}

/* ------------------------------------------------------------ kinds */

static void
qc_percentage(QCheck *ch)
{
	ch->has_pct = true;
	ch->pct = ch->total == 0 ? 100.0 : 100.0 * (ch->total - ch->failed) / ch->total;
	ch->observed = qc_fmt_pct(ch->pct);
	ch->passed = ch->pct >= ch->threshold - 1e-9;
}

static void
qc_row(QScan *s, QCheck *ch)
{
	Jsonb	   *f = QualityScanResult(s, ch->s_fail);

	if (ch->by_nulls)
	{
		/* etl._failures_nulls: {"n": failures, "nulls": unchecked NULLs, "samples"} */
		int64		in_scope = ch->s_total >= 0 ? qc_int(QualityScanResult(s, ch->s_total)) : s->rows;

		ch->failed = f ? qc_key_int(&f->root, "n") : 0;
		ch->total = in_scope - (f ? qc_key_int(&f->root, "nulls") : 0);
		ch->samples = f ? qj_text_or(&f->root, "samples", "[]") : "[]";
		qc_percentage(ch);
		return;
	}
	ch->total = qc_int(QualityScanResult(s, ch->s_total));
	if (s->nsamples == 0)
	{
		ch->failed = qc_int(f);
		ch->samples = "[]";
	}
	else
	{
		ch->failed = f ? qc_key_int(&f->root, "n") : 0;
		ch->samples = f ? qj_text_or(&f->root, "samples", "[]") : "[]";
	}
	qc_percentage(ch);
}

static void
qc_uniqueness(QScan *s, QCheck *ch)
{
	Jsonb	   *g = QualityScanResult(s, ch->s_a);

	ch->total = qc_key_int(&g->root, "rows");
	ch->failed = qc_key_int(&g->root, "dup_rows");
	ch->distinct_values = qc_key_int(&g->root, "groups");
	ch->samples = qc_json(QualityScanResult(s, ch->s_b));
	qc_percentage(ch);
}

static void
qc_bounded(QScan *s, QCheck *ch)
{
	Jsonb	   *j = QualityScanResult(s, ch->s_a);

	ch->passed = QJBool(&j->root, "ok", true);
	ch->observed = qj_text_or(&j->root, "value", "null");
	ch->total = s->rows;
	ch->failed = 0;
	ch->has_pct = true;
	ch->pct = ch->passed ? 100 : 0;
}

static void
qc_freq_rule(QScan *s, QCheck *ch)
{
	Jsonb	   *j = QualityScanResult(s, ch->s_a);
	JsonbContainer *f = &j->root;
	StringInfoData o;

	ch->total = qc_key_int(f, "n");
	ch->failed = 0;
	initStringInfo(&o);
	if (strcmp(ch->type, "most_common") == 0)
	{
		JsonbContainer *mode = QJObj(f, "mode");
		JsonbContainer *counts = QJObj(f, "ref_counts");
		int64		mc = qc_key_int(f, "mode_count");
		int			nmode = mode ? JsonContainerSize(mode) : 0;
		int			in_set = 0;

		/* every value tied for most common must be in the set */
		for (int i = 0; counts && i < (int) JsonContainerSize(counts); i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(counts, i);

			if (e->type == jbvNumeric &&
				(int64) DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(e->val.numeric))) == mc)
				in_set++;
		}
		ch->passed = ch->total == 0 || in_set >= nmode;
		appendStringInfo(&o, "{\"most_common\": %s, \"count\": " INT64_FORMAT "}", qj_text_or(f, "mode", "[]"), mc);
	}
	else
	{
		JsonbContainer *missing = QJObj(f, "ref_missing");
		int64		extra = qc_key_int(f, "extra");
		int			nmissing = missing ? JsonContainerSize(missing) : 0;

		if (strcmp(ch->check, "contains") == 0)
			ch->passed = nmissing == 0;
		else if (strcmp(ch->check, "equals") == 0)
			ch->passed = nmissing == 0 && extra == 0;
		else
			ch->passed = extra == 0;
		appendStringInfo(&o, "{\"distinct\": " INT64_FORMAT ", \"missing\": %s, \"unexpected\": " INT64_FORMAT
						 ", \"unexpected_samples\": %s}",
						 qc_key_int(f, "distinct"), qj_text_or(f, "ref_missing", "[]"), extra, qj_text_or(f, "extra_samples", "[]"));
	}
	ch->observed = o.data;
	ch->has_pct = true;
	ch->pct = ch->passed ? 100 : 0;
}

static void
qc_monotonic(QScan *s, QCheck *ch)
{
	Jsonb	   *j = QualityScanResult(s, ch->s_a);

	ch->total = qc_key_int(&j->root, "pairs");
	ch->failed = qc_key_int(&j->root, "violations");
	ch->samples = qj_text_or(&j->root, "samples", "[]");
	qc_percentage(ch);
	ch->observed = psprintf("{\"pairs\": " INT64_FORMAT ", \"violations\": " INT64_FORMAT ", \"pass_pct\": %s}",
							ch->total, ch->failed, qc_fmt_pct(ch->pct));
}

static void
qc_freshness(QScan *s, QCheck *ch)
{
	Jsonb	   *j = QualityScanResult(s, ch->s_a);

	ch->passed = QJBool(&j->root, "ok", false);
	ch->observed = psprintf("{\"newest\": %s, \"age\": %s, \"age_seconds\": %s}",
							qj_text_or(&j->root, "newest", "null"), qj_text_or(&j->root, "age", "null"),
							qj_text_or(&j->root, "age_seconds", "null"));
	ch->total = s->rows;
	ch->has_pct = true;
	ch->pct = ch->passed ? 100 : 0;
}

static void
qc_row_count(QScan *s, QCheck *ch)
{
	double		mn,
				mx,
				maxchg;
	int64		prev = -1;
	char	   *chg = "null";

	ch->total = qc_int(QualityScanResult(s, ch->s_total));
	ch->passed = (!QJNum(ch->r, "min", &mn) || ch->total >= mn) && (!QJNum(ch->r, "max", &mx) || ch->total <= mx);
	if (QJNum(ch->r, "max_change_pct", &maxchg))
	{
		prev = QualityPreviousRowCount(s, ch->name);
		if (prev >= 0)
		{
			double		c = prev == 0 ? (ch->total == 0 ? 0 : 100) :
				round(100000.0 * fabs((double) (ch->total - prev)) / prev) / 1000.0;

			chg = psprintf("%.3f", c);
			ch->passed = ch->passed && c <= maxchg;
		}
	}
	ch->observed = psprintf("{\"rows\": " INT64_FORMAT ", \"previous_rows\": %s, \"change_pct\": %s}",
							ch->total, prev >= 0 ? psprintf(INT64_FORMAT, prev) : "null", chg);
	ch->has_pct = true;
	ch->pct = ch->passed ? 100 : 0;
}

static void
qc_row_count_equal(QScan *s, QCheck *ch)
{
	int64		ref = qc_int(QualityScanResult(s, ch->s_a));
	StringInfoData o;

	ch->total = qc_int(QualityScanResult(s, ch->s_total));
	ch->passed = ch->total == ref;
	initStringInfo(&o);
	appendStringInfo(&o, "{\"rows\": " INT64_FORMAT ", \"ref_rows\": " INT64_FORMAT ", \"ref\": ", ch->total, ref);
	escape_json(&o, ch->ref_label);
	appendStringInfoChar(&o, '}');
	ch->observed = o.data;
	ch->has_pct = true;
	ch->pct = ch->passed ? 100 : 0;
}

static void
qc_outliers(QScan *s, QCheck *ch)
{
	Jsonb	   *j = QualityScanResult(s, ch->s_a);
	double		maxf = 0.01;
	double		frac;

	(void) QJNum(ch->r, "max_fraction", &maxf);
	ch->total = qc_key_int(&j->root, "scored");
	ch->failed = qc_key_int(&j->root, "flagged");
	frac = ch->total > 0 ? (double) ch->failed / ch->total : 0;
	ch->passed = frac <= maxf + 1e-12;
	ch->has_pct = true;
	ch->pct = ch->total == 0 ? 100 : 100.0 * (ch->total - ch->failed) / ch->total;
	ch->observed = psprintf("{\"method\": \"%s\", \"fraction\": %.6f, \"flagged\": " INT64_FORMAT
							", \"scored\": " INT64_FORMAT ", \"max_score\": %s}",
							QJStr(ch->r, "method"), frac, ch->failed, ch->total,
							qj_text_or(&j->root, "max_score", "null"));
}

/* ------------------------------------------------------------ drift */

static void *
qc_alloc(size_t size, void *arg)
{
	return palloc(size);
}

static const QSketchAlloc qc_sketch_alloc = {qc_alloc, NULL, NULL};

/* a stored sketch (sketchagg.c's JSON) back into a QKll */
static bool
qc_sketch(JsonbContainer *j, QKll *s)
{
	JsonbContainer *levels = QJObj(j, "levels");
	double		n;

	QKllInit(s, QKLL_DEFAULT_K, &qc_sketch_alloc);
	if (levels == NULL || !QJNum(j, "n", &n))
		return false;
	for (int h = 0; h < (int) JsonContainerSize(levels) && h < QKLL_MAX_LEVELS; h++)
	{
		JsonbValue *lv = getIthJsonbValueFromContainer(levels, h);

		if (lv->type != jbvBinary)
			continue;
		for (int i = 0; i < (int) JsonContainerSize(lv->val.binary.data); i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(lv->val.binary.data, i);

			if (e->type == jbvNumeric)
				QKllAddWeighted(s, DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(e->val.numeric))), h);
		}
	}
	s->n = (uint64_t) n;
	{
		double		mn,
					mx;

		if (QJNum(j, "min", &mn))
			s->min = mn;
		if (QJNum(j, "max", &mx))
			s->max = mx;
	}
	return s->n > 0;
}

static double *
qc_numbers(JsonbContainer *a, int *n)
{
	double	   *out;

	*n = a ? JsonContainerSize(a) : 0;
	out = palloc0(sizeof(double) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(a, i);

		if (e->type == jbvNumeric)
			out[i] = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(e->val.numeric)));
	}
	return out;
}

static char *
qc_float(double d)
{
	return isfinite(d) ? float8out_internal(d) : "null";
}

/*
 * qc_drift
 *		This run's distribution against the stored reference (record.c looked
 *		it up before the scan): ks on sketches, with the two sketches' rank
 *		errors taken off the statistic so that sketch noise is never drift;
 *		chi2 and psi on category counts (the reference's categories and
 *		"everything else"); psi on numbers over the reference's deciles.
 */
static void
qc_drift(QScan *s, QCheck *ch)
{
	const char *method = QJStr(ch->r, "method");
	Jsonb	   *j = QualityScanResult(s, ch->s_a);
	JsonbContainer *ref = ch->reference ? &ch->reference->root : NULL;
	StringInfoData o;
	StringInfoData st;
	double		stat = NAN;
	double		p = NAN;
	bool		numeric = QJObj(&j->root, "levels") != NULL;

	initStringInfo(&o);
	initStringInfo(&st);
	ch->passed = true;
	if (numeric)
	{
		QKll		cur;
		QKll		old;

		(void) qc_sketch(&j->root, &cur);
		ch->total = (int64) cur.n;
		appendStringInfo(&st, "{\"count\": " UINT64_FORMAT ", \"sketch\": %s}", (uint64) cur.n, qc_json(j));
		if (ref && QJObj(ref, "sketch") && qc_sketch(QJObj(ref, "sketch"), &old) && cur.n > 0)
		{
			if (strcmp(method, "ks") == 0)
			{
				double		d = QKsStatistic(&old, &cur);
				double		noise = QKllRankError(&old) + QKllRankError(&cur);

				stat = d;
				p = QKsPValue(Max(0.0, d - noise), (double) old.n, (double) cur.n);
				ch->passed = p >= ch->threshold;
				appendStringInfo(&o, ", \"statistic\": %s, \"sketch_error\": %s, \"p_value\": %s",
								 qc_float(d), qc_float(noise), qc_float(p));
			}
			else
			{
				double		e[10];
				double		a[10];
				double		prev_e = 0;
				double		prev_a = 0;

				for (int b = 0; b < 10; b++)
				{
					double		edge = b < 9 ? QKllQuantile(&old, (b + 1) / 10.0) : INFINITY;
					double		ce = b < 9 ? QKllCdf(&old, edge) : 1.0;
					double		ca = b < 9 ? QKllCdf(&cur, edge) : 1.0;

					e[b] = ce - prev_e;
					a[b] = ca - prev_a;
					prev_e = ce;
					prev_a = ca;
				}
				stat = QPsi(e, a, 10);
				ch->passed = !(stat > ch->threshold);
				appendStringInfo(&o, ", \"statistic\": %s", qc_float(stat));
			}
		}
	}
	else
	{
		JsonbContainer *freq = ref ? QJObj(ref, "frequencies") : NULL;
		int64		n = qc_key_int(&j->root, "n");
		JsonbContainer *top = QJObj(&j->root, "top");
		StringInfoData vals;
		StringInfoData cnts;

		ch->total = n;
		initStringInfo(&vals);
		initStringInfo(&cnts);
		for (int i = 0; top && i < (int) JsonContainerSize(top); i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(top, i);

			appendStringInfo(&vals, "%s%s", i ? ", " : "", qj_text_or(e->val.binary.data, "value", "null"));
			appendStringInfo(&cnts, "%s%s", i ? ", " : "", qj_text_or(e->val.binary.data, "count", "0"));
		}
		appendStringInfo(&st, "{\"count\": " INT64_FORMAT ", \"frequencies\": {\"values\": [%s], \"counts\": [%s], \"total\": " INT64_FORMAT "}}",
						 n, vals.data, cnts.data, n);
		if (freq && n > 0)
		{
			int			k;
			int			kc;
			double	   *rc = qc_numbers(QJObj(freq, "counts"), &k);
			double	   *cc = qc_numbers(QJObj(&j->root, "ref_counts"), &kc);
			double		rtotal = 0;
			double		rsum = 0;
			double		csum = 0;
			double	   *r = palloc0(sizeof(double) * (k + 1));
			double	   *c = palloc0(sizeof(double) * (k + 1));
			int			df;

			(void) QJNum(freq, "total", &rtotal);
			for (int i = 0; i < k; i++)
			{
				r[i] = rc[i];
				c[i] = i < kc ? cc[i] : 0;
				rsum += r[i];
				csum += c[i];
			}
			/* everything outside the reference's categories is one more category */
			r[k] = Max(0, rtotal - rsum);
			c[k] = Max(0, n - csum);
			if (strcmp(method, "chi2") == 0)
			{
				stat = QChi2Homogeneity(r, c, k + 1, &df);
				p = df > 0 ? QChi2PValue(stat, df) : 1.0;
				ch->passed = !(p < ch->threshold);
				appendStringInfo(&o, ", \"statistic\": %s, \"df\": %d, \"p_value\": %s", qc_float(stat), df, qc_float(p));
			}
			else
			{
				stat = QPsi(r, c, k + 1);
				ch->passed = !(stat > ch->threshold);
				appendStringInfo(&o, ", \"statistic\": %s", qc_float(stat));
			}
		}
	}
	ch->store = st.data;
	ch->failed = 0;
	ch->has_pct = true;
	ch->pct = ch->passed ? 100 : 0;
	ch->observed = psprintf("{\"method\": \"%s\", \"rows\": " INT64_FORMAT ", \"reference\": %s%s}", method, ch->total,
							ref ? psprintf("{\"run_id\": %s, \"profiled_at\": %s, \"rows\": %s}",
										   qj_text_or(ref, "run_id", "null"), qj_text_or(ref, "profiled_at", "null"),
										   qj_text_or(ref, "count", "null")) : "null",
							o.data);
}

/* ------------------------------------------------------------ shapes */

static QCol *
qc_find(QScan *s, const char *name)
{
	ListCell   *lc;

	foreach(lc, s->cols)
		if (strcmp(((QCol *) lfirst(lc))->name, name) == 0)
			return lfirst(lc);
	return NULL;
}

static Oid
qc_regtype(const char *name, QCheck *ch)
{
	Oid			t = DatumGetObjectId(DirectFunctionCall1(to_regtype, CStringGetTextDatum(name)));

	if (!OidIsValid(t))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("type \"%s\" does not exist", name),
				 errdetail("Quality rule \"%s\".", ch->name)));
	return t;
}

static void
qc_json_names(StringInfo b, List *names)
{
	ListCell   *lc;

	appendStringInfoChar(b, '[');
	foreach(lc, names)
	{
		if (lc != list_head(names))
			appendStringInfoString(b, ", ");
		escape_json(b, lfirst(lc));
	}
	appendStringInfoChar(b, ']');
}

static void
qc_shape(QScan *s, QCheck *ch)
{
	StringInfoData o;
	ListCell   *lc;
	List	   *have = NIL;

	foreach(lc, s->cols)
		have = lappend(have, ((QCol *) lfirst(lc))->name);
	initStringInfo(&o);
	ch->total = s->rows;
	if (strcmp(ch->type, "schema") == 0 || strcmp(ch->type, "column_types") == 0)
	{
		List	   *missing = NIL;
		List	   *forbidden = NIL;
		StringInfoData mism;
		JsonbContainer *types = QJObj(ch->r, "types");
		int			nmism = 0;

		initStringInfo(&mism);
		foreach(lc, QJStrList(ch->r, "required_columns"))
			if (!qc_find(s, lfirst(lc)))
				missing = lappend(missing, lfirst(lc));
		foreach(lc, QJStrList(ch->r, "forbidden_columns"))
			if (qc_find(s, lfirst(lc)))
				forbidden = lappend(forbidden, lfirst(lc));
		if (types)
		{
			JsonbIterator *it = JsonbIteratorInit(types);
			JsonbValue	k;
			JsonbValue	v;
			JsonbIteratorToken tok;

			/* types: {col: type} (schema) or {col: [types]} (column_types), keys sorted */
			while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
			{
				char	   *col;
				QCol	   *c;
				bool		ok = false;
				StringInfoData want;

				if (tok != WJB_KEY)
					continue;
				col = pnstrdup(k.val.string.val, k.val.string.len);
				tok = JsonbIteratorNext(&it, &v, true);
				c = qc_find(s, col);
				initStringInfo(&want);
				if (v.type == jbvString)
				{
					char	   *t = pnstrdup(v.val.string.val, v.val.string.len);

					ok = c && qc_regtype(t, ch) == c->typid;
					escape_json(&want, t);
				}
				else if (v.type == jbvBinary)
				{
					appendStringInfoChar(&want, '[');
					for (int i = 0; i < (int) JsonContainerSize(v.val.binary.data); i++)
					{
						JsonbValue *e = getIthJsonbValueFromContainer(v.val.binary.data, i);
						char	   *t = pnstrdup(e->val.string.val, e->val.string.len);

						if (c && qc_regtype(t, ch) == c->typid)
							ok = true;
						if (i)
							appendStringInfoString(&want, ", ");
						escape_json(&want, t);
					}
					appendStringInfoChar(&want, ']');
				}
				if (!ok)
				{
					appendStringInfo(&mism, "%s{\"column\": ", nmism++ ? ", " : "");
					escape_json(&mism, col);
					appendStringInfo(&mism, ", \"expected\": %s, \"actual\": ", want.data);
					if (c)
						escape_json(&mism, c->typname);
					else
						appendStringInfoString(&mism, "null");
					appendStringInfoChar(&mism, '}');
				}
			}
		}
		ch->passed = missing == NIL && forbidden == NIL && nmism == 0;
		if (strcmp(ch->type, "schema") == 0)
		{
			appendStringInfoString(&o, "{\"missing_columns\": ");
			qc_json_names(&o, missing);
			appendStringInfoString(&o, ", \"forbidden_columns\": ");
			qc_json_names(&o, forbidden);
			appendStringInfo(&o, ", \"type_mismatches\": [%s]}", mism.data);
		}
		else
			appendStringInfo(&o, "{\"type_mismatches\": [%s]}", mism.data);
	}
	else if (strcmp(ch->type, "columns") == 0)
	{
		const char *mode = QJGet(ch->r, "exactly") ? "exactly" : QJGet(ch->r, "contains") ? "contains" : "ordered";
		List	   *want = QJStrList(ch->r, mode);
		List	   *missing = NIL;
		List	   *extra = NIL;

		foreach(lc, want)
			if (!qc_find(s, lfirst(lc)))
				missing = lappend(missing, lfirst(lc));
		foreach(lc, have)
		{
			ListCell   *w;
			bool		listed = false;

			foreach(w, want)
				if (strcmp(lfirst(w), lfirst(lc)) == 0)
					listed = true;
			if (!listed)
				extra = lappend(extra, lfirst(lc));
		}
		if (strcmp(mode, "contains") == 0)
			ch->passed = missing == NIL;
		else if (strcmp(mode, "exactly") == 0)
			ch->passed = missing == NIL && extra == NIL;
		else
		{
			ch->passed = list_length(want) == list_length(have);
			for (int i = 0; ch->passed && i < list_length(want); i++)
				ch->passed = strcmp(list_nth(want, i), list_nth(have, i)) == 0;
		}
		appendStringInfoString(&o, "{\"columns\": ");
		qc_json_names(&o, have);
		appendStringInfoString(&o, ", \"missing\": ");
		qc_json_names(&o, missing);
		appendStringInfoString(&o, ", \"unexpected\": ");
		qc_json_names(&o, strcmp(mode, "contains") == 0 ? NIL : extra);
		appendStringInfoChar(&o, '}');
	}
	else
	{
		double		mn,
					mx;
		int			n = list_length(have);

		ch->passed = (!QJNum(ch->r, "min", &mn) || n >= mn) && (!QJNum(ch->r, "max", &mx) || n <= mx);
		appendStringInfo(&o, "%d", n);
	}
	ch->observed = o.data;
	ch->has_pct = true;
	ch->pct = ch->passed ? 100 : 0;
}

/* a custom rule: its own query, {{data}} standing for the dataset */
static void
qc_custom(QScan *s, QCheck *ch)
{
	const char *q = QJStr(ch->r, "query");
	StringInfoData sql;
	StringInfoData body;
	bool		isnull;
	Datum		d;

	initStringInfo(&body);
	for (const char *p = q; *p;)
	{
		if (strncmp(p, "{{data}}", 8) == 0)
		{
			appendStringInfoString(&body, s->data->from_item);
			p += 8;
		}
		else
			appendStringInfoChar(&body, *p++);
	}
	initStringInfo(&sql);
	appendStringInfo(&sql, "WITH \"metaetl.q\" AS MATERIALIZED (%s\n) SELECT (SELECT pg_catalog.count(*) FROM \"metaetl.q\"),"
					 " (SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(\"metaetl.x\".*)), '[]')"
					 " FROM (SELECT * FROM \"metaetl.q\" LIMIT %d) AS \"metaetl.x\")",
					 body.data, s->nsamples);
	/* not read-only, as the scan (scan.c): see what this transaction wrote */
	if (SPI_execute(sql.data, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "custom rule \"%s\" failed", ch->name);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	ch->failed = isnull ? 0 : DatumGetInt64(d);
	ch->samples = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	ch->total = s->rows;
	ch->has_pct = true;
	/* over the dataset's rows; a custom query may return more rows than it has */
	ch->pct = s->rows == 0 ? (ch->failed == 0 ? 100 : 0) : Max(0.0, 100.0 * (s->rows - ch->failed) / s->rows);
	ch->passed = ch->pct >= ch->threshold - 1e-9;
	ch->observed = psprintf("{\"failing_rows\": " INT64_FORMAT "}", ch->failed);
}

/*
 * qc_approx_quantile
 *		A median or quantile rule with approximate: true: the value at q of
 *		this run's KLL sketch (exact, with percentile_cont's interpolation,
 *		while no level was compacted: below about 200 values), within the
 *		bounds as the exact rule compares them.
 */
static void
qc_approx_quantile(QScan *s, QCheck *ch)
{
	Jsonb	   *j = QualityScanResult(s, ch->s_a);
	QKll		k;
	double		q = 0.5;
	double		v;
	double		b;

	if (strcmp(ch->type, "quantile") == 0)
		QJNum(ch->r, "q", &q);
	ch->total = s->rows;
	ch->failed = 0;
	ch->has_pct = true;
	ch->passed = true;
	ch->observed = "null";
	if (j != NULL && qc_sketch(&j->root, &k))
	{
		v = QKllQuantile(&k, q);
		if (isfinite(v))
		{
			ch->observed = qc_float(v);
			if (QJNum(ch->r, "min", &b))
				ch->passed &= QJBool(ch->r, "strict_min", false) ? v > b : v >= b;
			if (QJNum(ch->r, "max", &b))
				ch->passed &= QJBool(ch->r, "strict_max", false) ? v < b : v <= b;
		}
	}
	ch->pct = ch->passed ? 100 : 0;
}

/*
 * QualityEvaluate
 *		Every check's result, after QualityScanExecute.
 */
void
QualityEvaluate(QScan *s)
{
	ListCell   *lc;

	foreach(lc, s->checks)
	{
		QCheck	   *ch = lfirst(lc);
		const char *t = ch->type;

		ch->samples = "[]";
		ch->total = s->rows;
		if (ch->kind->eval == QE_ROW)
			qc_row(s, ch);
		else if (strcmp(t, "uniqueness") == 0)
			qc_uniqueness(s, ch);
		else if (strcmp(t, "most_common") == 0 || strcmp(t, "distinct_values") == 0)
			qc_freq_rule(s, ch);
		else if (strcmp(t, "monotonic") == 0)
			qc_monotonic(s, ch);
		else if (strcmp(t, "freshness") == 0)
			qc_freshness(s, ch);
		else if (strcmp(t, "row_count") == 0)
			qc_row_count(s, ch);
		else if (strcmp(t, "row_count_equal") == 0)
			qc_row_count_equal(s, ch);
		else if (strcmp(t, "outliers") == 0)
			qc_outliers(s, ch);
		else if (strcmp(t, "drift") == 0)
			qc_drift(s, ch);
		else if ((strcmp(t, "median") == 0 || strcmp(t, "quantile") == 0) &&
				 QJBool(ch->r, "approximate", false))
			qc_approx_quantile(s, ch);
		else if (ch->kind->eval == QE_SHAPE)
			qc_shape(s, ch);
		else if (strcmp(t, "custom") == 0)
			qc_custom(s, ch);
		else
			qc_bounded(s, ch);
	}
}

/* ------------------------------------------------------------ output */

static void
qc_check_json(StringInfo b, QCheck *ch)
{
	char	   *thr = QJNumText(ch->r, "threshold");

	appendStringInfoString(b, "{\"rule\": ");
	escape_json(b, ch->name);
	appendStringInfo(b, ", \"type\": \"%s\"", ch->type);
	if (strcmp(ch->type, "validity") == 0 || strcmp(ch->type, "column_pair") == 0)
	{
		appendStringInfoString(b, ", \"check\": ");
		escape_json(b, ch->check);
	}
	if (ch->col && strcmp(ch->type, "outliers") != 0)
	{
		appendStringInfoString(b, ", \"column\": ");
		escape_json(b, ch->col->name);
	}
	if (ch->cols)
		appendStringInfo(b, ", \"columns\": %s", QJText(ch->r, "columns"));
	appendStringInfo(b, ", \"dimension\": \"%s\", \"severity\": \"%s\", \"threshold\": %s",
					 ch->kind->dimension, ch->severity, thr ? thr : "100");
	appendStringInfo(b, ", \"passed\": %s, \"observed\": %s, \"observed_pct\": %s, \"total_rows\": " INT64_FORMAT
					 ", \"failed_rows\": " INT64_FORMAT ", \"samples\": %s",
					 ch->passed ? "true" : "false", ch->observed ? ch->observed : "null",
					 ch->has_pct ? qc_fmt_pct(ch->pct) : "null", ch->total, ch->failed,
					 ch->samples ? ch->samples : "[]");
	if (ch->distinct_values >= 0)
		appendStringInfo(b, ", \"distinct_values\": " INT64_FORMAT, ch->distinct_values);
	if (ch->quarantined)
		appendStringInfoString(b, ", \"quarantined\": true");
	appendStringInfoChar(b, '}');
}

/* the checks as a JSON array */
char *
QualityChecksJson(QScan *s, bool internal)
{
	StringInfoData b;
	ListCell   *lc;

	initStringInfo(&b);
	appendStringInfoChar(&b, '[');
	foreach(lc, s->checks)
	{
		if (lc != list_head(s->checks))
			appendStringInfoString(&b, ", ");
		qc_check_json(&b, lfirst(lc));
	}
	appendStringInfoChar(&b, ']');
	(void) internal;
	return b.data;
}
