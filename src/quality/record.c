/*-------------------------------------------------------------------------
 *
 * src/quality/record.c
 *		What a quality evaluation leaves behind: the score (etl.quality_scores),
 *		every check in its kind's table, quarantined rows, stored profiles and
 *		the drift references read back from them.
 *
 * All of it runs as the caller, in the caller's transaction (a pipeline
 * run's gate runs as the run's role, inside the run's subtransaction, so a
 * failed run leaves no results behind); values are SPI parameters, and each
 * table gets one INSERT ... SELECT FROM jsonb_to_recordset($1), however many
 * checks.
 *
 * Score (docs/quality.md, "Score"): a dimension's score is the mean pass
 * percentage of its rules, quality_score the weighted mean over the
 * dimensions that have rules (default weights completeness 0.25, validity
 * 0.25, uniqueness 0.20, consistency 0.15, timeliness 0.15; 100 without
 * rules).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/regproc.h"
#include "utils/varlena.h"

#include "quality/quality.h"
#include "quality/scan.h"

static const char *const dims[] = {"completeness", "validity", "uniqueness", "consistency", "timeliness"};
static const double default_weights[] = {0.25, 0.25, 0.20, 0.15, 0.15};

/* weights: an object of known dimensions with numbers >= 0 (22023 otherwise) */
Jsonb *
QualityCheckWeights(Jsonb *weights)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (weights == NULL)
		return NULL;
	if (!JB_ROOT_IS_OBJECT(weights))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("weights must be a JSON object"),
				 errhint("For example {\"completeness\": 0.4, \"validity\": 0.3, \"uniqueness\": 0.1, \"consistency\": 0.1, \"timeliness\": 0.1}.")));
	it = JsonbIteratorInit(&weights->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		bool		known = false;
		double		w;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		(void) JsonbIteratorNext(&it, &v, true);
		for (int i = 0; i < lengthof(dims); i++)
			if (strcmp(dims[i], key) == 0)
				known = true;
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown score dimension \"%s\"", key),
					 errhint("Dimensions are completeness, validity, uniqueness, consistency, timeliness.")));
		if (v.type != jbvNumeric ||
			(w = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)))) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the weight of %s must be a number >= 0", key)));
	}
	return weights;
}

static void
qr_insert(const char *sql, StringInfo rows)
{
	Oid			t = JSONBOID;
	Datum		v;

	appendStringInfoChar(rows, ']');
	if (rows->len <= 2)
		return;
	v = DirectFunctionCall1(jsonb_in, CStringGetDatum(rows->data));
	if (SPI_execute_with_args(sql, 1, &t, &v, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "recording quality checks failed");
}

static void
qr_common(StringInfo b, QScan *s, QCheck *ch, int64 score_id)
{
	appendStringInfo(b, "%s{\"run_id\": %s, \"score_id\": " INT64_FORMAT ", \"pipeline_id\": ",
					 b->len > 1 ? ", " : "", s->run_id ? psprintf(INT64_FORMAT, s->run_id) : "null", score_id);
	if (s->pipeline_id)
		escape_json(b, s->pipeline_id);
	else
		appendStringInfoString(b, "null");
	appendStringInfoString(b, ", \"dataset\": ");
	escape_json(b, s->dataset);
	appendStringInfoString(b, ", \"rule_name\": ");
	escape_json(b, ch->name);
	appendStringInfo(b, ", \"severity\": \"%s\", \"threshold\": %s, \"total_rows\": " INT64_FORMAT
					 ", \"failed_rows\": " INT64_FORMAT ", \"observed_pct\": %s, \"passed\": %s, \"samples\": %s",
					 ch->severity, QJNumText(ch->r, "threshold"), Max(ch->total, 0), Max(ch->failed, 0),
					 ch->has_pct ? psprintf("%.3f", round(ch->pct * 1000) / 1000) : "null",
					 ch->passed ? "true" : "false", ch->samples ? ch->samples : "[]");
}

/* the rule without its common keys: what a result row keeps as params */
static char *
qr_params(QCheck *ch, const char *const *drop, int ndrop)
{
	JsonbIterator *it = JsonbIteratorInit(ch->r);
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		bool		skip = false;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		(void) JsonbIteratorNext(&it, &v, true);
		for (int i = 0; i < ndrop; i++)
			if (strcmp(drop[i], key) == 0)
				skip = true;
		if (skip)
			continue;
		if (b.len > 1)
			appendStringInfoString(&b, ", ");
		escape_json(&b, key);
		appendStringInfo(&b, ": %s", JsonbToCString(NULL, &JsonbValueToJsonb(&v)->root, 64));
	}
	appendStringInfoChar(&b, '}');
	return b.data;
}

/*
 * QualityRecord
 *		Score the checks and record the score and every check.  gate: -1 for
 *		execute_dq_validation (passed: no error-severity rule failed), else
 *		0 error, 1 warn, 2 none (quality_gate: warn and none pass).
 *		Quarantined checks do not fail the gate.
 */
QScore
QualityRecord(QScan *s, const char *profile_name, Jsonb *weights, int gate)
{
	double		sum[lengthof(dims)] = {0};
	int			cnt[lengthof(dims)] = {0};
	double		w[lengthof(dims)];
	double		wsum = 0;
	double		wscore = 0;
	QScore		out;
	ListCell   *lc;
	StringInfoData dj;
	StringInfoData compl;
	StringInfoData valid;
	StringInfoData uniq;
	StringInfoData other;
	bool		failing = false;
	Oid			types[13] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, NUMERICOID, NUMERICOID, NUMERICOID, NUMERICOID,
	NUMERICOID, NUMERICOID, BOOLOID, INT8OID};
	Datum		values[13];
	char		nulls[13];
	static const char *const drop_validity[] = {"name", "type", "check", "column", "severity", "threshold", "on", "description"};
	static const char *const drop_other[] = {"name", "type", "column", "severity", "threshold", "on", "description"};

	for (int i = 0; i < lengthof(dims); i++)
	{
		double		d;

		w[i] = default_weights[i];
		if (weights && QJNum(&weights->root, dims[i], &d))
			w[i] = d;
	}
	foreach(lc, s->checks)
	{
		QCheck	   *ch = lfirst(lc);

		for (int i = 0; i < lengthof(dims); i++)
			if (ch->has_pct && strcmp(dims[i], ch->kind->dimension) == 0)
			{
				sum[i] += round(ch->pct * 1000) / 1000;
				cnt[i]++;
			}
		if (strcmp(ch->severity, "error") == 0 && !ch->passed && !ch->quarantined)
			failing = true;
	}
	initStringInfo(&dj);
	appendStringInfoChar(&dj, '{');
	memset(nulls, ' ', sizeof(nulls));
	for (int i = 0; i < lengthof(dims); i++)
	{
		if (cnt[i] == 0)
		{
			nulls[4 + i] = 'n';
			continue;
		}
		{
			double		d = round(100.0 * sum[i] / cnt[i]) / 100.0;

			appendStringInfo(&dj, "%s\"%s\": %.2f", dj.len > 1 ? ", " : "", dims[i], d);
			values[4 + i] = DirectFunctionCall3(numeric_in, CStringGetDatum(psprintf("%.2f", d)),
												ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
			wsum += w[i];
			wscore += w[i] * d;
		}
	}
	appendStringInfoChar(&dj, '}');
	out.dimensions = dj.data;
	out.score = wsum == 0 ? 100.0 : round(100.0 * wscore / wsum) / 100.0;
	out.passed = gate > 0 ? true : !failing;

	/* the score */
	values[0] = Int64GetDatum(s->run_id);
	nulls[0] = s->run_id ? ' ' : 'n';
	values[1] = s->pipeline_id ? CStringGetTextDatum(s->pipeline_id) : (Datum) 0;
	nulls[1] = s->pipeline_id ? ' ' : 'n';
	values[2] = CStringGetTextDatum(s->dataset);
	values[3] = profile_name ? CStringGetTextDatum(profile_name) : (Datum) 0;
	nulls[3] = profile_name ? ' ' : 'n';
	values[9] = DirectFunctionCall3(numeric_in, CStringGetDatum(psprintf("%.2f", out.score)),
									ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	values[10] = BoolGetDatum(out.passed);
	values[11] = Int64GetDatum(s->rows);
	if (SPI_execute_with_args("INSERT INTO etl.quality_scores (run_id, pipeline_id, dataset, profile_name, completeness,"
							  " validity, uniqueness, consistency, timeliness, quality_score, passed, rows_checked)"
							  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING score_id",
							  12, types, values, nulls, false, 1) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "recording the quality score failed");
	{
		bool		isnull;

		out.score_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}

	/* every check in its kind's table */
	initStringInfo(&compl);
	initStringInfo(&valid);
	initStringInfo(&uniq);
	initStringInfo(&other);
	appendStringInfoChar(&compl, '[');
	appendStringInfoChar(&valid, '[');
	appendStringInfoChar(&uniq, '[');
	appendStringInfoChar(&other, '[');
	foreach(lc, s->checks)
	{
		QCheck	   *ch = lfirst(lc);
		const char *table = ch->kind->table;
		StringInfo	b = strcmp(table, "completeness_checks") == 0 ? &compl :
			strcmp(table, "validity_checks") == 0 ? &valid :
			strcmp(table, "uniqueness_checks") == 0 ? &uniq : &other;

		qr_common(b, s, ch, out.score_id);
		if (b == &uniq)
		{
			appendStringInfo(b, ", \"columns\": %s, \"distinct_values\": " INT64_FORMAT "}",
							 QJText(ch->r, "columns"), Max(ch->distinct_values, 0));
			continue;
		}
		if (ch->col)
		{
			appendStringInfoString(b, ", \"column_name\": ");
			escape_json(b, ch->col->name);
		}
		if (b == &valid)
			appendStringInfo(b, ", \"check_kind\": \"%s\", \"params\": %s}", ch->check,
							 qr_params(ch, drop_validity, lengthof(drop_validity)));
		else if (b == &other)
			appendStringInfo(b, ", \"rule_type\": \"%s\", \"columns\": %s, \"params\": %s, \"observed\": %s}", ch->type,
							 ch->cols ? QJText(ch->r, "columns") : ch->col ? psprintf("[%s]", QJText(ch->r, "column")) : "[]",
							 qr_params(ch, drop_other, lengthof(drop_other)), ch->observed ? ch->observed : "null");
		else
			appendStringInfoChar(b, '}');
	}
	qr_insert("INSERT INTO etl.completeness_checks (run_id, score_id, dataset, rule_name, column_name, severity, threshold,"
			  " total_rows, failed_rows, observed_pct, passed, samples)"
			  " SELECT x.run_id, x.score_id, x.dataset, x.rule_name, x.column_name, x.severity, x.threshold, x.total_rows,"
			  " x.failed_rows, x.observed_pct, x.passed, x.samples FROM pg_catalog.jsonb_to_recordset($1) AS x(run_id int8,"
			  " score_id int8, dataset text, rule_name text, column_name text, severity text, threshold numeric,"
			  " total_rows int8, failed_rows int8, observed_pct numeric, passed bool, samples jsonb)", &compl);
	qr_insert("INSERT INTO etl.validity_checks (run_id, score_id, dataset, rule_name, column_name, check_kind, params,"
			  " severity, threshold, total_rows, failed_rows, observed_pct, passed, samples)"
			  " SELECT x.run_id, x.score_id, x.dataset, x.rule_name, x.column_name, x.check_kind, x.params, x.severity,"
			  " x.threshold, x.total_rows, x.failed_rows, x.observed_pct, x.passed, x.samples"
			  " FROM pg_catalog.jsonb_to_recordset($1) AS x(run_id int8, score_id int8, dataset text, rule_name text,"
			  " column_name text, check_kind text, params jsonb, severity text, threshold numeric, total_rows int8,"
			  " failed_rows int8, observed_pct numeric, passed bool, samples jsonb)", &valid);
	qr_insert("INSERT INTO etl.uniqueness_checks (run_id, score_id, dataset, rule_name, columns, severity, threshold,"
			  " total_rows, duplicate_rows, distinct_values, observed_pct, passed, samples)"
			  " SELECT x.run_id, x.score_id, x.dataset, x.rule_name, ARRAY(SELECT pg_catalog.jsonb_array_elements_text(x.columns)),"
			  " x.severity, x.threshold, x.total_rows, x.failed_rows, x.distinct_values, x.observed_pct, x.passed, x.samples"
			  " FROM pg_catalog.jsonb_to_recordset($1) AS x(run_id int8, score_id int8, dataset text, rule_name text,"
			  " columns jsonb, severity text, threshold numeric, total_rows int8, failed_rows int8, distinct_values int8,"
			  " observed_pct numeric, passed bool, samples jsonb)", &uniq);
	qr_insert("INSERT INTO etl.dq_results (run_id, score_id, pipeline_id, dataset, rule_name, rule_type, columns, params,"
			  " severity, threshold, total_rows, failed_rows, observed, observed_pct, passed, samples)"
			  " SELECT x.run_id, x.score_id, x.pipeline_id, x.dataset, x.rule_name, x.rule_type,"
			  " ARRAY(SELECT pg_catalog.jsonb_array_elements_text(x.columns)), x.params, x.severity, x.threshold,"
			  " x.total_rows, x.failed_rows, x.observed, x.observed_pct, x.passed, x.samples"
			  " FROM pg_catalog.jsonb_to_recordset($1) AS x(run_id int8, score_id int8, pipeline_id text, dataset text,"
			  " rule_name text, rule_type text, columns jsonb, params jsonb, severity text, threshold numeric,"
			  " total_rows int8, failed_rows int8, observed jsonb, observed_pct numeric, passed bool, samples jsonb)", &other);
	return out;
}

/*
 * QualityQuarantine
 *		Move the rows failing error-severity row-level rules from the dataset
 *		(a table) into table (created when missing), with the names of the
 *		rules they broke; those rules are then marked quarantined.  Returns
 *		the number of rows moved.
 */
int64
QualityQuarantine(QScan *s, const char *table)
{
	StringInfoData preds;
	StringInfoData cases;
	List	   *names = NIL;
	ListCell   *lc;
	char	   *qname;
	List	   *parts;
	Datum	   *nd;
	int			i = 0;
	int			k_names;
	int			k_run;
	int			k_pipe;
	int			k_data;
	int			rc;

	initStringInfo(&preds);
	initStringInfo(&cases);
	foreach(lc, s->checks)
	{
		QCheck	   *ch = lfirst(lc);

		if (ch->fail && strcmp(ch->severity, "error") == 0 && ch->failed > 0)
			names = lappend(names, ch);
	}
	if (names == NIL)
		return 0;
	if (s->data->kind != METAETL_DATA_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("quarantine needs a table, not a query"),
				 errdetail("Dataset: %s.", s->dataset),
				 errhint("Materialise the data into a table (a pipeline node) first.")));
	parts = stringToQualifiedNameList(table);
	qname = NameListToQuotedString(parts);
	if (!OidIsValid(RangeVarGetRelid(makeRangeVarFromNameList(parts), NoLock, true)))
	{
		if (SPI_execute(psprintf("CREATE TABLE %s (quarantine_id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
								 " run_id pg_catalog.int8, pipeline_id pg_catalog.text, dataset pg_catalog.text NOT NULL,"
								 " rules pg_catalog.text[] NOT NULL, row_data pg_catalog.jsonb NOT NULL,"
								 " quarantined_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now())", qname),
						false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "creating the quarantine table failed");
	}
	nd = palloc(sizeof(Datum) * list_length(names));
	foreach(lc, names)
	{
		QCheck	   *ch = lfirst(lc);

		nd[i++] = CStringGetTextDatum(ch->name);
		appendStringInfo(&preds, "%s(%s)", preds.len ? "\n     OR " : "", ch->fail);
	}
	k_names = QualityScanParam(s, TEXTARRAYOID, PointerGetDatum(construct_array(nd, i, TEXTOID, -1, false, TYPALIGN_INT)));
	i = 0;
	foreach(lc, names)
	{
		QCheck	   *ch = lfirst(lc);

		appendStringInfo(&cases, "%sCASE WHEN (%s) THEN $%d[%d] END", i ? ", " : "", ch->fail, k_names, i + 1);
		i++;
	}
	k_run = QualityScanParam(s, TEXTOID, CStringGetTextDatum(s->run_id ? psprintf(INT64_FORMAT, s->run_id) : ""));
	k_pipe = QualityScanParam(s, TEXTOID, CStringGetTextDatum(s->pipeline_id ? s->pipeline_id : ""));
	k_data = QualityScanParam(s, TEXTOID, CStringGetTextDatum(s->dataset));
	/* the whole row as "metaetl.r".*: a column named like the alias cannot stand in for it */
	rc = SPI_execute_with_args(psprintf("WITH \"metaetl.moved\" AS (DELETE FROM %s AS " QS_ALIAS " WHERE %s\n"
										"  RETURNING pg_catalog.to_jsonb(" QS_ALIAS ".*) AS row_data,"
										" pg_catalog.array_remove(ARRAY[%s]::pg_catalog.text[], NULL) AS rules)\n"
										"INSERT INTO %s (run_id, pipeline_id, dataset, rules, row_data)"
										" SELECT NULLIF($%d, '')::pg_catalog.int8, NULLIF($%d, ''), $%d, \"metaetl.moved\".rules,"
										" \"metaetl.moved\".row_data FROM \"metaetl.moved\"",
										s->data->from_item, preds.data, cases.data, qname, k_run, k_pipe, k_data),
							   s->nparams, s->ptypes, s->pvalues, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "quarantine failed: %s", SPI_result_code_string(rc));
	foreach(lc, names)
		((QCheck *) lfirst(lc))->quarantined = true;
	return (int64) SPI_processed;
}

static void
qr_profiling_row(QScan *s, const char *column, const char *type, const char *metrics)
{
	Oid			types[6] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	values[0] = Int64GetDatum(s->run_id);
	nulls[0] = s->run_id ? ' ' : 'n';
	values[1] = CStringGetTextDatum(s->dataset);
	values[2] = column ? CStringGetTextDatum(column) : (Datum) 0;
	nulls[2] = column ? ' ' : 'n';
	values[3] = type ? CStringGetTextDatum(type) : (Datum) 0;
	nulls[3] = type ? ' ' : 'n';
	values[4] = Int64GetDatum(s->rows);
	values[5] = CStringGetTextDatum(metrics);
	if (SPI_execute_with_args("INSERT INTO etl.profiling_stats (run_id, dataset, column_name, data_type, row_count, metrics)"
							  " VALUES ($1, $2, $3, $4, $5, $6::pg_catalog.jsonb)", 6, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "storing the profile failed");
}

/*
 * QualityStoreProfile
 *		One table-level row and one row per column in etl.profiling_stats; a
 *		column's metrics are its profile plus what drift rules need later (a
 *		sketch of numbers, the 100 most frequent values).
 */
void
QualityStoreProfile(QScan *s, const char *profile_json)
{
	Jsonb	   *p = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(profile_json)));
	JsonbContainer *cols = QJObj(&p->root, "columns");
	JsonbContainer *keep = QJObj(&p->root, "_keep");

	qr_profiling_row(s, NULL, NULL, psprintf("{\"row_count\": " INT64_FORMAT ", \"duplicate_rows\": %s, \"columns\": %d, \"approximate\": %s}",
											 s->rows, QJText(&p->root, "duplicate_rows"), cols ? (int) JsonContainerSize(cols) : 0,
											 QJText(&p->root, "approximate")));
	for (int i = 0; cols && i < (int) JsonContainerSize(cols); i++)
	{
		JsonbValue *c = getIthJsonbValueFromContainer(cols, i);
		JsonbValue *k = keep ? getIthJsonbValueFromContainer(keep, i) : NULL;
		char	   *cj = JsonbToCString(NULL, c->val.binary.data, 256);
		char	   *kj = k && k->type == jbvBinary ? JsonbToCString(NULL, k->val.binary.data, 256) : "{}";

		/* the two objects, merged: {profile..., frequencies, sketch} */
		qr_profiling_row(s, QJStr(c->val.binary.data, "column"), QJStr(c->val.binary.data, "data_type"),
						 strlen(kj) > 2 ? psprintf("%.*s, %s", (int) strlen(cj) - 1, cj, kj + 1) : cj);
	}
}

/* drift rules keep this run's distribution of their column, for the next run */
void
QualityStoreDrift(QScan *s)
{
	ListCell   *lc;

	List	   *done = NIL;

	foreach(lc, s->checks)
	{
		QCheck	   *ch = lfirst(lc);
		ListCell   *d;
		char	   *key;
		bool		dup = false;

		if (!ch->store)
			continue;
		/* one row per column and kind, however many drift rules share them */
		key = psprintf("%s|%d", ch->col->name, strstr(ch->store, "\"sketch\"") != NULL);
		foreach(d, done)
			if (strcmp(lfirst(d), key) == 0)
				dup = true;
		if (dup)
			continue;
		done = lappend(done, key);
		qr_profiling_row(s, ch->col->name, ch->col->typname, ch->store);
	}
}

/*
 * QualityDriftReference
 *		The stored distribution a drift rule compares with: the newest
 *		profiling_stats row of this dataset's column that holds a sketch or
 *		frequencies, from a successful run of the pipeline (in a run), or the
 *		newest of any (outside one).  NULL when there is none yet.
 */
Jsonb *
QualityDriftReference(QScan *s, const char *column)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	bool		isnull;
	Datum		d;

	values[0] = CStringGetTextDatum(s->dataset);
	values[1] = CStringGetTextDatum(column);
	values[2] = s->pipeline_id ? CStringGetTextDatum(s->pipeline_id) : (Datum) 0;
	nulls[2] = s->pipeline_id ? ' ' : 'n';
	if (SPI_execute_with_args("SELECT ps.metrics OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('run_id', ps.run_id,"
							  " 'profiled_at', ps.profiled_at) FROM etl.profiling_stats ps"
							  " WHERE ps.dataset OPERATOR(pg_catalog.=) $1 AND ps.column_name OPERATOR(pg_catalog.=) $2"
							  "   AND (ps.metrics OPERATOR(pg_catalog.?) 'sketch' OR ps.metrics OPERATOR(pg_catalog.?) 'frequencies')"
							  "   AND ($3::pg_catalog.text IS NULL OR ps.run_id IN (SELECT r.run_id FROM etl.pipeline_runs r"
							  "        WHERE r.pipeline_id OPERATOR(pg_catalog.=) $3 AND r.status OPERATOR(pg_catalog.=) 'succeeded'))"
							  " ORDER BY ps.profiled_at DESC, ps.stat_id DESC LIMIT 1",
							  3, types, values, nulls, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading the drift reference failed");
	if (SPI_processed == 0)
		return NULL;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? NULL : DatumGetJsonbPCopy(d);
}

/* the row count the last result of a row_count rule saw (same dataset, rule, pipeline); -1 */
int64
QualityPreviousRowCount(QScan *s, const char *rule)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	bool		isnull;
	Datum		d;

	values[0] = CStringGetTextDatum(s->dataset);
	values[1] = CStringGetTextDatum(rule);
	values[2] = s->pipeline_id ? CStringGetTextDatum(s->pipeline_id) : (Datum) 0;
	nulls[2] = s->pipeline_id ? ' ' : 'n';
	if (SPI_execute_with_args("SELECT (q.observed->>'rows')::pg_catalog.int8 FROM etl.dq_results q"
							  " WHERE q.rule_type OPERATOR(pg_catalog.=) 'row_count' AND q.dataset OPERATOR(pg_catalog.=) $1"
							  "   AND q.rule_name OPERATOR(pg_catalog.=) $2 AND q.pipeline_id IS NOT DISTINCT FROM $3"
							  " ORDER BY q.result_id DESC LIMIT 1", 3, types, values, nulls, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading the previous row count failed");
	if (SPI_processed == 0)
		return -1;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? -1 : DatumGetInt64(d);
}
