/*-------------------------------------------------------------------------
 *
 * src/quality/anomaly.c
 *		etl.detect_anomalies() and etl.detect_metric_anomalies().
 *
 * detect_anomalies reads the chosen numeric columns of a relation or a
 * SELECT through an SPI cursor in batches (each column cast to float8 by
 * PostgreSQL), keeps them as one row-major array of doubles in a dedicated
 * memory context, scores every row with the chosen method (zscore, mad, iqr
 * from stats.c; isolation_forest from iforest.c), returns
 * (row_number, score, is_anomaly) and records one row in
 * etl.anomaly_detection.
 *
 * detect_metric_anomalies scores one metric of a pipeline's run history
 * (etl.pipeline_runs) with a z-score over a trailing window of earlier runs
 * and the relative change from the previous run.
 *
 * Identifiers reach SQL only through quote_identifier; a relation name is
 * resolved with the catalog (RangeVarGetRelid), and a query must parse as one
 * plain SELECT (no SELECT INTO, no data-modifying WITH).  Option values reach
 * SQL only as parameters.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "parser/scansup.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/regproc.h"
#include "utils/resowner.h"
#include "utils/varlena.h"

#include "quality/iforest.h"
#include "quality/quality.h"
#include "quality/stats.h"
#include "util/ident.h"
#include "util/relation.h"

PG_FUNCTION_INFO_V1(metaetl_detect_anomalies);
PG_FUNCTION_INFO_V1(metaetl_detect_metric_anomalies);

/* rows fetched from the cursor at a time */
#define ANOMALY_BATCH 10000

typedef enum AnomalyMethod
{
	ANOMALY_ZSCORE,
	ANOMALY_MAD,
	ANOMALY_IQR,
	ANOMALY_IFOREST
} AnomalyMethod;

static const char *const anomaly_method_names[] = {"zscore", "mad", "iqr", "isolation_forest"};

/* option applicability per method, bit i = anomaly_method_names[i] */
#define M_ALL 0x0F
#define M_IFOREST (1 << ANOMALY_IFOREST)
#define M_THRESHOLD ((1 << ANOMALY_ZSCORE) | (1 << ANOMALY_MAD) | (1 << ANOMALY_IFOREST))
#define M_IQR (1 << ANOMALY_IQR)

typedef struct AnomalyOptionDef
{
	const char *name;
	int			methods;
} AnomalyOptionDef;

static const AnomalyOptionDef anomaly_option_defs[] = {
	{"seed", M_IFOREST},
	{"n_trees", M_IFOREST},
	{"sample_size", M_IFOREST},
	{"threshold", M_THRESHOLD},
	{"k", M_IQR},
	{"contamination", M_ALL},
	{"nulls", M_ALL},
	{"max_flagged", M_ALL},
};

#define ANOMALY_NOPTIONS lengthof(anomaly_option_defs)

typedef struct AnomalyOptions
{
	AnomalyMethod method;
	int64		seed;
	int			n_trees;
	int			sample_size;
	double		threshold;		/* zscore, mad, isolation_forest; k for iqr */
	double		contamination;	/* 0 = 'auto' (use the threshold) */
	bool		impute_mean;
	int			max_flagged;	/* flagged rows listed in etl.anomaly_detection */
} AnomalyOptions;

/* a flagged row, for the record */
typedef struct AnomalyFlag
{
	int64		row;			/* 0-based */
	double		score;
} AnomalyFlag;

/* ------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------
 */

static void
anomaly_bad_option(const char *key, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"%s\"", key),
			 errdetail("%s", detail)));
}

static double
anomaly_opt_number(const char *key, JsonbValue *v)
{
	if (v->type != jbvNumeric)
		anomaly_bad_option(key, psprintf("Option \"%s\" must be a number.", key));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

static int64
anomaly_opt_int(const char *key, JsonbValue *v, int64 min, int64 max)
{
	double		d = anomaly_opt_number(key, v);

	if (d != floor(d) || d < (double) min || d > (double) max)
		anomaly_bad_option(key, psprintf("Option \"%s\" must be an integer between " INT64_FORMAT
										 " and " INT64_FORMAT ".", key, min, max));
	if (fabs(d) < 9007199254740992.0)
		return (int64) d;
	/* beyond 2^53: take the exact integer from the numeric */
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric)));
}

static char *
anomaly_opt_string(const char *key, JsonbValue *v)
{
	if (v->type != jbvString)
		anomaly_bad_option(key, psprintf("Option \"%s\" must be a string.", key));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static AnomalyMethod
anomaly_parse_method(const char *method)
{
	const char *suggestion;

	for (int i = 0; i < (int) lengthof(anomaly_method_names); i++)
		if (strcmp(method, anomaly_method_names[i]) == 0)
			return (AnomalyMethod) i;
	suggestion = MetaetlNearest(method, anomaly_method_names, lengthof(anomaly_method_names), 3);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown anomaly detection method \"%s\"", method),
			 suggestion ? errdetail("Did you mean \"%s\"?", suggestion) : 0,
			 errhint("Methods are zscore, mad, iqr and isolation_forest.")));
	pg_unreachable();
}

static void
anomaly_parse_options(Jsonb *jb, AnomalyOptions *opts)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			mbit = 1 << opts->method;

	opts->seed = 42;
	opts->n_trees = 100;
	opts->sample_size = 256;
	opts->contamination = 0.0;
	opts->impute_mean = false;
	opts->max_flagged = 1000;
	switch (opts->method)
	{
		case ANOMALY_ZSCORE:
			opts->threshold = 3.0;
			break;
		case ANOMALY_MAD:
			opts->threshold = 3.5;
			break;
		case ANOMALY_IQR:
			opts->threshold = 1.5;
			break;
		case ANOMALY_IFOREST:
			opts->threshold = 0.5;
			break;
	}

	if (jb == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object"),
				 errhint("Pass options such as '{\"seed\": 7, \"contamination\": 0.01}'.")));

	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		const AnomalyOptionDef *def = NULL;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);

		for (int i = 0; i < (int) ANOMALY_NOPTIONS; i++)
			if (strcmp(key, anomaly_option_defs[i].name) == 0)
				def = &anomaly_option_defs[i];
		if (def == NULL)
		{
			const char *names[ANOMALY_NOPTIONS];
			const char *suggestion;

			for (int i = 0; i < (int) ANOMALY_NOPTIONS; i++)
				names[i] = anomaly_option_defs[i].name;
			suggestion = MetaetlNearest(key, names, ANOMALY_NOPTIONS, 3);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\"", key),
					 suggestion ? errdetail("Did you mean \"%s\"?", suggestion) : 0,
					 errhint("Options are seed, n_trees, sample_size, threshold, k, contamination, nulls and max_flagged.")));
		}
		if ((def->methods & mbit) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" does not apply to method %s", key,
							anomaly_method_names[opts->method]),
					 errhint("%s", opts->method == ANOMALY_IQR && strcmp(key, "threshold") == 0
							 ? "Method iqr takes its fence factor as \"k\"."
							 : strcmp(key, "k") == 0
							 ? "Option \"k\" is the fence factor of method iqr; use \"threshold\"."
							 : "Options seed, n_trees and sample_size apply to isolation_forest only.")));
		if (v.type == jbvNull)
			continue;			/* null keeps the default */

		if (strcmp(key, "seed") == 0)
			opts->seed = anomaly_opt_int(key, &v, PG_INT64_MIN, PG_INT64_MAX);
		else if (strcmp(key, "n_trees") == 0)
			opts->n_trees = (int) anomaly_opt_int(key, &v, 1, 10000);
		else if (strcmp(key, "sample_size") == 0)
			opts->sample_size = (int) anomaly_opt_int(key, &v, 2, 1000000);
		else if (strcmp(key, "threshold") == 0 || strcmp(key, "k") == 0)
		{
			double		d = anomaly_opt_number(key, &v);

			if (!(d > 0.0) || isinf(d))
				anomaly_bad_option(key, psprintf("Option \"%s\" must be a positive number.", key));
			if (opts->method == ANOMALY_IFOREST && d >= 1.0)
				anomaly_bad_option(key, "An isolation forest score lies between 0 and 1: the threshold must be below 1.");
			opts->threshold = d;
		}
		else if (strcmp(key, "contamination") == 0)
		{
			if (v.type == jbvString)
			{
				char	   *s = anomaly_opt_string(key, &v);

				if (strcmp(s, "auto") != 0)
					anomaly_bad_option(key, "Option \"contamination\" is 'auto' or a fraction in (0, 0.5].");
				opts->contamination = 0.0;
			}
			else
			{
				double		d = anomaly_opt_number(key, &v);

				if (!(d > 0.0 && d <= 0.5))
					anomaly_bad_option(key, "Option \"contamination\" is 'auto' or a fraction in (0, 0.5].");
				opts->contamination = d;
			}
		}
		else if (strcmp(key, "max_flagged") == 0)
			opts->max_flagged = (int) anomaly_opt_int(key, &v, 0, 1000000);
		else if (strcmp(key, "nulls") == 0)
		{
			char	   *s = anomaly_opt_string(key, &v);

			if (strcmp(s, "skip") == 0)
				opts->impute_mean = false;
			else if (strcmp(s, "impute_mean") == 0)
				opts->impute_mean = true;
			else
				anomaly_bad_option(key, "Option \"nulls\" is 'skip' or 'impute_mean'.");
		}
	}
}

/* the effective options, as recorded in etl.anomaly_detection */
static char *
anomaly_options_json(const AnomalyOptions *opts)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	if (opts->method == ANOMALY_IFOREST)
		appendStringInfo(&buf, "\"seed\": " INT64_FORMAT ", \"n_trees\": %d, \"sample_size\": %d, ",
						 opts->seed, opts->n_trees, opts->sample_size);
	appendStringInfo(&buf, "\"%s\": %s, ", opts->method == ANOMALY_IQR ? "k" : "threshold",
					 float8out_internal(opts->threshold));
	if (opts->contamination > 0.0)
		appendStringInfo(&buf, "\"contamination\": %s, ", float8out_internal(opts->contamination));
	else
		appendStringInfoString(&buf, "\"contamination\": \"auto\", ");
	appendStringInfo(&buf, "\"nulls\": \"%s\", \"max_flagged\": %d}",
					 opts->impute_mean ? "impute_mean" : "skip", opts->max_flagged);
	return buf.data;
}

/* ------------------------------------------------------------------------
 * The data: a relation name or one SELECT
 * ------------------------------------------------------------------------
 */

/*
 * anomaly_from_item
 *		The FROM item for "data" (util/relation.c: a quoted, schema-qualified
 *		relation, or one plain SELECT in parentheses).  *label is what
 *		etl.anomaly_detection.dataset records.
 */
static char *
anomaly_from_item(const char *data, char **label)
{
	MetaetlData *d = MetaetlResolveData(data, METAETL_DATA_MUST_EXIST);

	*label = d->label;
	return d->from_item;
}

/*
 * anomaly_select_list
 *		"d.col1::float8, d.col2::float8, ..." after checking that every column
 *		exists in the data and is numeric.
 */
static char *
anomaly_select_list(const char *from_item, char **cols, int ncols, const char *method)
{
	char	   *probe = psprintf("SELECT * FROM %s AS d LIMIT 0", from_item);
	TupleDesc	desc;
	StringInfoData buf;
	int			rc;

	rc = SPI_execute(probe, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
	desc = SPI_tuptable->tupdesc;

	initStringInfo(&buf);
	for (int c = 0; c < ncols; c++)
	{
		Form_pg_attribute att = NULL;
		char		category;
		bool		preferred;

		for (int a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute cand = TupleDescAttr(desc, a);

			if (!cand->attisdropped && strcmp(NameStr(cand->attname), cols[c]) == 0)
				att = cand;
		}
		if (att == NULL)
		{
			const char **names = palloc(sizeof(char *) * Max(desc->natts, 1));
			int			n = 0;
			const char *suggestion;

			for (int a = 0; a < desc->natts; a++)
				if (!TupleDescAttr(desc, a)->attisdropped)
					names[n++] = NameStr(TupleDescAttr(desc, a)->attname);
			suggestion = MetaetlNearest(cols[c], names, n, 3);
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" does not exist in the data", cols[c]),
					 suggestion ? errdetail("Did you mean \"%s\"?", suggestion) : 0,
					 errhint("Column names are case-sensitive and written without quotes.")));
		}
		get_type_category_preferred(getBaseType(att->atttypid), &category, &preferred);
		if (category != TYPCATEGORY_NUMERIC)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" is not numeric", cols[c]),
					 errdetail("Column \"%s\" has type %s; method %s needs numeric columns.",
							   cols[c], format_type_be(att->atttypid), method),
					 errhint("Cast the column in a SELECT, e.g. SELECT (x)::float8 AS x FROM ...")));
		if (c > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "(d.%s)::pg_catalog.float8", quote_identifier(cols[c]));
	}
	SPI_freetuptable(SPI_tuptable);
	return buf.data;
}

/* all rows of the data: row-major doubles, NaN for NULL (and NaN, ±Infinity) */
typedef struct AnomalyData
{
	double	   *x;
	int64		nrows;
	int64		capacity;
	int			ncols;
} AnomalyData;

static void
anomaly_read(const char *sql, AnomalyData *data, MemoryContext ctx)
{
	SPIPlanPtr	plan;
	Portal		portal;

	plan = SPI_prepare(sql, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);

	data->nrows = 0;
	data->capacity = 1024;
	data->x = MemoryContextAllocHuge(ctx, sizeof(double) * data->capacity * data->ncols);
	for (;;)
	{
		SPITupleTable *tt;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, ANOMALY_BATCH);
		tt = SPI_tuptable;
		if (SPI_processed == 0)
		{
			SPI_freetuptable(tt);
			break;
		}
		if (data->nrows + (int64) SPI_processed > data->capacity)
		{
			while (data->nrows + (int64) SPI_processed > data->capacity)
				data->capacity *= 2;
			data->x = repalloc_huge(data->x, sizeof(double) * data->capacity * data->ncols);
		}
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			double	   *row = data->x + (data->nrows + r) * data->ncols;

			for (int c = 0; c < data->ncols; c++)
			{
				bool		isnull;
				Datum		d = SPI_getbinval(tt->vals[r], tt->tupdesc, c + 1, &isnull);
				double		v = isnull ? NAN : DatumGetFloat8(d);

				row[c] = isfinite(v) ? v : NAN;
			}
		}
		data->nrows += SPI_processed;
		SPI_freetuptable(tt);
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
}

/* ------------------------------------------------------------------------
 * Scoring
 * ------------------------------------------------------------------------
 */

static void *
anomaly_palloc(size_t size, void *arg)
{
	return MemoryContextAllocHuge((MemoryContext) arg, size);
}

static int
anomaly_cmp_desc(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x < y) - (x > y);
}

/* score the n rows of x (row-major, no NaN); n >= 2 */
static void
anomaly_score(const AnomalyOptions *opts, const double *x, int64 n, int ncols,
			  double *scores, MemoryContext ctx)
{
	if (opts->method == ANOMALY_IFOREST)
	{
		IForest		forest;
		IForestAllocator allocator = {anomaly_palloc, NULL, ctx};
		const char *err;

		err = IForestFit(&forest, x, (size_t) n, ncols, opts->n_trees, opts->sample_size,
						 (uint64) opts->seed, &allocator);
		if (err != NULL)
			elog(ERROR, "isolation forest: %s", err);
		/* in slices, so that a cancel request is seen while a large set is scored */
		for (int64 start = 0; start < n; start += 65536)
		{
			CHECK_FOR_INTERRUPTS();
			IForestScore(&forest, x + start * ncols, (size_t) Min(n - start, 65536),
						 scores + start);
		}
		return;
	}
	else
	{
		double	   *v = MemoryContextAllocHuge(ctx, sizeof(double) * n);
		double	   *s = MemoryContextAllocHuge(ctx, sizeof(double) * n);
		double	   *work = MemoryContextAllocHuge(ctx, sizeof(double) * n);

		/* several columns: a row's score is its largest column score */
		for (int64 i = 0; i < n; i++)
			scores[i] = 0.0;
		for (int c = 0; c < ncols; c++)
		{
			CHECK_FOR_INTERRUPTS();
			for (int64 i = 0; i < n; i++)
				v[i] = x[i * ncols + c];
			switch (opts->method)
			{
				case ANOMALY_ZSCORE:
					StatsZScores(v, n, s);
					break;
				case ANOMALY_MAD:
					StatsMadScores(v, n, s, work);
					break;
				case ANOMALY_IQR:
					StatsIqrScores(v, n, s, work);
					break;
				case ANOMALY_IFOREST:
					break;
			}
			for (int64 i = 0; i < n; i++)
				if (s[i] > scores[i])
					scores[i] = s[i];
		}
	}
}

/* the score from which rows are flagged ("score > cut", or ">= cut" for a share) */
static double
anomaly_cut(const AnomalyOptions *opts, const double *scores, int64 n, bool *inclusive,
			MemoryContext ctx)
{
	int64		k;
	double	   *sorted;

	*inclusive = false;
	if (opts->contamination <= 0.0)
		return opts->threshold;

	/* flag the top share: the k highest scores (ties at the cut included) */
	k = (int64) floor(opts->contamination * (double) n + 0.5);
	if (k <= 0)
		return INFINITY;		/* nothing is flagged: no finite score is > inf */
	sorted = MemoryContextAllocHuge(ctx, sizeof(double) * n);
	memcpy(sorted, scores, sizeof(double) * n);
	qsort(sorted, n, sizeof(double), anomaly_cmp_desc);
	*inclusive = true;
	return sorted[k - 1];
}

/* highest score first, then the earlier row */
static int
anomaly_cmp_flag_score(const void *a, const void *b)
{
	const AnomalyFlag *x = a;
	const AnomalyFlag *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->row > y->row) - (x->row < y->row);
}

static int
anomaly_cmp_flag_row(const void *a, const void *b)
{
	const AnomalyFlag *x = a;
	const AnomalyFlag *y = b;

	return (x->row > y->row) - (x->row < y->row);
}

/* a score as a JSON value: numbers, or a string for ±Infinity */
static void
anomaly_append_score(StringInfo buf, double score)
{
	if (isfinite(score))
		appendStringInfoString(buf, float8out_internal(score));
	else
		appendStringInfo(buf, "\"%s\"", score > 0 ? "Infinity" : "-Infinity");
}

static void
anomaly_record(const char *dataset, Datum columns, const char *method, const char *options,
			   int64 rows_scored, int64 anomalies, const char *flagged, const char *pipeline_id)
{
	Oid			types[8] = {TEXTOID, TEXTARRAYOID, TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int			rc;

	values[0] = CStringGetTextDatum(dataset);
	values[1] = columns;
	values[2] = CStringGetTextDatum(method);
	values[3] = CStringGetTextDatum(options);
	values[4] = Int64GetDatum(rows_scored);
	values[5] = Int64GetDatum(anomalies);
	values[6] = CStringGetTextDatum(flagged);
	if (pipeline_id)
		values[7] = CStringGetTextDatum(pipeline_id);
	else
		nulls[7] = 'n';

	rc = SPI_execute_with_args("INSERT INTO etl.anomaly_detection "
							   "(dataset, columns, method, options, rows_scored, anomalies, flagged, pipeline_id) "
							   "VALUES ($1, $2, $3, $4::pg_catalog.jsonb, $5, $6, $7::pg_catalog.jsonb, $8)",
							   8, types, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
}

/*
 * etl.detect_anomalies(data text, columns text[], method text, options jsonb)
 *		RETURNS TABLE(row_number bigint, score float8, is_anomaly boolean)
 */
Datum
metaetl_detect_anomalies(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *data_text;
	ArrayType  *columns_arr;
	Datum	   *col_datums;
	bool	   *col_nulls;
	int			ncols;
	char	  **cols;
	AnomalyOptions opts;
	MemoryContext ctx;
	MemoryContext oldctx;
	AnomalyData data;
	char	   *from_item;
	char	   *label;
	char	   *sql;
	int64		nscored = 0;
	int64		nflagged = 0;
	double	   *compact;
	int64	   *rowmap;
	double	   *scores = NULL;
	bool		inclusive = false;
	double		cut = 0.0;
	StringInfoData flagged;
	AnomalyFlag *flags;
	int64		nlisted;
	int64		next;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("data, columns and method must not be NULL")));
	data_text = text_to_cstring(PG_GETARG_TEXT_PP(0));
	columns_arr = PG_GETARG_ARRAYTYPE_P(1);
	opts.method = anomaly_parse_method(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	anomaly_parse_options(PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3), &opts);

	if (ARR_NDIM(columns_arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("columns must be a one-dimensional array")));
	deconstruct_array(columns_arr, TEXTOID, -1, false, TYPALIGN_INT, &col_datums, &col_nulls, &ncols);
	if (ncols == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("columns must name at least one column")));
	cols = palloc(sizeof(char *) * ncols);
	for (int c = 0; c < ncols; c++)
	{
		if (col_nulls[c])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("columns must not contain NULL")));
		cols[c] = TextDatumGetCString(col_datums[c]);
		for (int p = 0; p < c; p++)
			if (strcmp(cols[p], cols[c]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" is named twice", cols[c])));
	}

	InitMaterializedSRF(fcinfo, 0);
	ctx = AllocSetContextCreate(CurrentMemoryContext, "metaetl anomaly detection",
								ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	from_item = anomaly_from_item(data_text, &label);
	sql = psprintf("SELECT %s FROM %s AS d",
				   anomaly_select_list(from_item, cols, ncols, anomaly_method_names[opts.method]),
				   from_item);
	data.ncols = ncols;
	anomaly_read(sql, &data, ctx);

	/* per-column counts and means of the values present */
	oldctx = MemoryContextSwitchTo(ctx);
	if (data.nrows > 0)
	{
		double	   *sum = palloc0(sizeof(double) * ncols);
		int64	   *present = palloc0(sizeof(int64) * ncols);

		for (int64 r = 0; r < data.nrows; r++)
			for (int c = 0; c < ncols; c++)
			{
				double		v = data.x[r * ncols + c];

				if (!isnan(v))
				{
					sum[c] += v;
					present[c]++;
				}
			}
		for (int c = 0; c < ncols; c++)
		{
			if (present[c] == 0)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("column \"%s\" has only NULL values", cols[c]),
						 errdetail("None of the %lld rows has a finite value in column \"%s\".",
								   (long long) data.nrows, cols[c])));
			if (opts.impute_mean)
			{
				double		mean = sum[c] / (double) present[c];

				for (int64 r = 0; r < data.nrows; r++)
					if (isnan(data.x[r * ncols + c]))
						data.x[r * ncols + c] = mean;
			}
		}
	}

	/* the rows to score: all of them, or those without a missing value */
	rowmap = MemoryContextAllocHuge(ctx, sizeof(int64) * Max(data.nrows, 1));
	compact = data.x;
	for (int64 r = 0; r < data.nrows; r++)
	{
		bool		complete = true;

		for (int c = 0; c < ncols; c++)
			if (isnan(data.x[r * ncols + c]))
				complete = false;
		if (!complete)
			continue;
		if (nscored != r)
			memmove(compact + nscored * ncols, data.x + r * ncols, sizeof(double) * ncols);
		rowmap[nscored++] = r;
	}

	/* fewer than two rows cannot be compared: no score, not an anomaly */
	if (nscored >= 2)
	{
		scores = MemoryContextAllocHuge(ctx, sizeof(double) * nscored);
		anomaly_score(&opts, compact, nscored, ncols, scores, ctx);
		cut = anomaly_cut(&opts, scores, nscored, &inclusive, ctx);
	}
	MemoryContextSwitchTo(oldctx);

	/* the result, in the data's order; the flagged rows are kept for the record */
	flags = MemoryContextAllocHuge(ctx, sizeof(AnomalyFlag) * Max(nscored, 1));
	next = 0;
	for (int64 r = 0; r < data.nrows; r++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int64GetDatum(r + 1);
		if (next < nscored && rowmap[next] == r)
		{
			if (scores != NULL)
			{
				double		s = scores[next];
				bool		flag = inclusive ? s >= cut : s > cut;

				values[1] = Float8GetDatum(s);
				values[2] = BoolGetDatum(flag);
				if (flag)
				{
					flags[nflagged].row = r;
					flags[nflagged].score = s;
					nflagged++;
				}
			}
			else
			{
				nulls[1] = true;
				values[2] = BoolGetDatum(false);
			}
			next++;
		}
		else
		{
			/* skipped for a missing value */
			nulls[1] = true;
			nulls[2] = true;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	/* the record lists at most max_flagged of them: the highest scores, in row order */
	nlisted = nflagged;
	if (nflagged > opts.max_flagged)
	{
		qsort(flags, nflagged, sizeof(AnomalyFlag), anomaly_cmp_flag_score);
		nlisted = opts.max_flagged;
		qsort(flags, nlisted, sizeof(AnomalyFlag), anomaly_cmp_flag_row);
	}
	initStringInfo(&flagged);
	appendStringInfoChar(&flagged, '[');
	for (int64 i = 0; i < nlisted; i++)
	{
		appendStringInfo(&flagged, "%s{\"row_number\": " INT64_FORMAT ", \"score\": ",
						 i > 0 ? ", " : "", flags[i].row + 1);
		anomaly_append_score(&flagged, flags[i].score);
		appendStringInfoChar(&flagged, '}');
	}
	appendStringInfoChar(&flagged, ']');

	anomaly_record(label, PointerGetDatum(columns_arr), anomaly_method_names[opts.method],
				   anomaly_options_json(&opts), scores != NULL ? nscored : 0, nflagged,
				   flagged.data, NULL);

	SPI_finish();
	MemoryContextDelete(ctx);
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * Run-history metrics
 * ------------------------------------------------------------------------
 */

typedef struct MetricDef
{
	const char *name;
	const char *expr;			/* over etl.pipeline_runs AS r; $3 is option "column" */
} MetricDef;

static const MetricDef metric_defs[] = {
	{"rows_read", "r.rows_read"},
	{"rows_written", "r.rows_written"},
	{"duration", "EXTRACT(EPOCH FROM r.ended_at OPERATOR(pg_catalog.-) r.started_at)"},
	{"quality_score", "r.quality_score"},
	{"rows_per_sec", "r.rows_per_sec"},
	{"null_rate",
		"(SELECT 100.0 OPERATOR(pg_catalog.*) c.failed_rows OPERATOR(pg_catalog./) "
		"NULLIF(c.total_rows, 0) FROM etl.completeness_checks AS c "
		"WHERE c.run_id OPERATOR(pg_catalog.=) r.run_id AND c.column_name OPERATOR(pg_catalog.=) $3 "
		"ORDER BY c.check_id DESC LIMIT 1)"},
};

typedef struct MetricOptions
{
	int			window;
	int			min_history;
	double		threshold;
	double		max_change_pct; /* 0 = no rate-of-change check */
	Datum		statuses;		/* text[] */
	char	   *statuses_json;
	char	   *column;
} MetricOptions;

static void
metric_parse_options(Jsonb *jb, const char *metric, MetricOptions *opts)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	static const char *const names[] = {"window", "min_history", "threshold", "max_change_pct",
	"statuses", "column"};
	Datum		deflt[2];
	bool		min_history_set = false;

	opts->window = 10;
	opts->min_history = 3;
	opts->threshold = 3.0;
	opts->max_change_pct = 50.0;
	opts->column = NULL;
	deflt[0] = CStringGetTextDatum("succeeded");
	deflt[1] = CStringGetTextDatum("quality_failed");
	opts->statuses = PointerGetDatum(construct_array(deflt, 2, TEXTOID, -1, false, TYPALIGN_INT));
	opts->statuses_json = "[\"succeeded\", \"quality_failed\"]";

	if (jb != NULL && !JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object"),
				 errhint("Pass options such as '{\"window\": 20, \"threshold\": 3}'.")));

	if (jb != NULL)
	{
		it = JsonbIteratorInit(&jb->root);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			char	   *key;

			if (tok != WJB_KEY)
				continue;
			key = pnstrdup(v.val.string.val, v.val.string.len);
			tok = JsonbIteratorNext(&it, &v, true);
			Assert(tok == WJB_VALUE);

			if (strcmp(key, "window") == 0)
			{
				if (v.type != jbvNull)
					opts->window = (int) anomaly_opt_int(key, &v, 2, 100000);
			}
			else if (strcmp(key, "min_history") == 0)
			{
				if (v.type != jbvNull)
				{
					opts->min_history = (int) anomaly_opt_int(key, &v, 2, 100000);
					min_history_set = true;
				}
			}
			else if (strcmp(key, "threshold") == 0)
			{
				if (v.type != jbvNull)
				{
					opts->threshold = anomaly_opt_number(key, &v);
					if (!(opts->threshold > 0.0) || isinf(opts->threshold))
						anomaly_bad_option(key, "Option \"threshold\" must be a positive number.");
				}
			}
			else if (strcmp(key, "max_change_pct") == 0)
			{
				/* null switches the rate-of-change check off */
				opts->max_change_pct = 0.0;
				if (v.type != jbvNull)
				{
					opts->max_change_pct = anomaly_opt_number(key, &v);
					if (!(opts->max_change_pct > 0.0) || isinf(opts->max_change_pct))
						anomaly_bad_option(key, "Option \"max_change_pct\" must be a positive number or null.");
				}
			}
			else if (strcmp(key, "statuses") == 0)
			{
				JsonbIterator *ait;
				JsonbValue	e;
				List	   *items = NIL;
				Datum	   *elems;
				int			i = 0;
				StringInfoData js;
				ListCell   *lc;

				if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
					anomaly_bad_option(key, "Option \"statuses\" must be an array of run statuses.");
				ait = JsonbIteratorInit(v.val.binary.data);
				while ((tok = JsonbIteratorNext(&ait, &e, true)) != WJB_DONE)
				{
					if (tok != WJB_ELEM)
						continue;
					items = lappend(items, anomaly_opt_string(key, &e));
				}
				if (items == NIL)
					anomaly_bad_option(key, "Option \"statuses\" must name at least one run status.");
				elems = palloc(sizeof(Datum) * list_length(items));
				initStringInfo(&js);
				appendStringInfoChar(&js, '[');
				foreach(lc, items)
				{
					if (i > 0)
						appendStringInfoString(&js, ", ");
					escape_json(&js, (char *) lfirst(lc));
					elems[i++] = CStringGetTextDatum((char *) lfirst(lc));
				}
				appendStringInfoChar(&js, ']');
				opts->statuses = PointerGetDatum(construct_array(elems, i, TEXTOID, -1, false, TYPALIGN_INT));
				opts->statuses_json = js.data;
			}
			else if (strcmp(key, "column") == 0)
			{
				if (v.type != jbvNull)
					opts->column = anomaly_opt_string(key, &v);
			}
			else
			{
				const char *suggestion = MetaetlNearest(key, names, lengthof(names), 3);

				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown option \"%s\"", key),
						 suggestion ? errdetail("Did you mean \"%s\"?", suggestion) : 0,
						 errhint("Options are window, min_history, threshold, max_change_pct, statuses and column.")));
			}
		}
	}

	if (!min_history_set && opts->min_history > opts->window)
		opts->min_history = opts->window;
	if (opts->min_history > opts->window)
		anomaly_bad_option("min_history", "Option \"min_history\" cannot exceed \"window\".");
	if (strcmp(metric, "null_rate") == 0 && opts->column == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metric null_rate needs option \"column\""),
				 errhint("Name the column whose completeness checks give the null rate, e.g. '{\"column\": \"email\"}'.")));
	if (strcmp(metric, "null_rate") != 0 && opts->column != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"column\" applies to metric null_rate only")));
}

/*
 * etl.detect_metric_anomalies(pipeline_id text, metric text, options jsonb)
 *		RETURNS TABLE(run_id bigint, value float8, score float8,
 *					  is_anomaly boolean, reason text)
 */
Datum
metaetl_detect_metric_anomalies(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *pipeline_id;
	char	   *metric;
	const MetricDef *def = NULL;
	MetricOptions opts;
	Oid			types[3] = {TEXTOID, TEXTARRAYOID, TEXTOID};
	Datum		args[3];
	char		argnulls[3] = {' ', ' ', ' '};
	char	   *sql;
	int			rc;
	int64		n = 0;
	int64	   *run_ids;
	double	   *values;
	int64		nflagged = 0;
	StringInfoData flagged;
	StringInfoData optjson;
	Datum		columns_datum;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("pipeline_id and metric must not be NULL")));
	pipeline_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	metric = text_to_cstring(PG_GETARG_TEXT_PP(1));
	for (int i = 0; i < (int) lengthof(metric_defs); i++)
		if (strcmp(metric, metric_defs[i].name) == 0)
			def = &metric_defs[i];
	if (def == NULL)
	{
		const char *names[lengthof(metric_defs)];
		const char *suggestion;

		for (int i = 0; i < (int) lengthof(metric_defs); i++)
			names[i] = metric_defs[i].name;
		suggestion = MetaetlNearest(metric, names, lengthof(metric_defs), 3);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown run metric \"%s\"", metric),
				 suggestion ? errdetail("Did you mean \"%s\"?", suggestion) : 0,
				 errhint("Metrics are rows_read, rows_written, duration, quality_score, rows_per_sec and null_rate.")));
	}
	metric_parse_options(PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2), metric, &opts);

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	args[0] = CStringGetTextDatum(pipeline_id);
	rc = SPI_execute_with_args("SELECT 1 FROM etl.pipelines WHERE pipeline_id OPERATOR(pg_catalog.=) $1",
							   1, types, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pipeline \"%s\" does not exist", pipeline_id),
				 errhint("Registered pipelines are listed in etl.pipelines.")));

	args[1] = opts.statuses;
	if (opts.column)
		args[2] = CStringGetTextDatum(opts.column);
	else
		argnulls[2] = 'n';
	sql = psprintf("SELECT r.run_id, (%s)::pg_catalog.float8 FROM etl.pipeline_runs AS r "
				   "WHERE r.pipeline_id OPERATOR(pg_catalog.=) $1 "
				   "AND r.status OPERATOR(pg_catalog.=) ANY ($2) "
				   "ORDER BY COALESCE(r.started_at, r.queued_at), r.run_id",
				   def->expr);
	rc = SPI_execute_with_args(sql, 3, types, args, argnulls, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));

	/* runs without a (finite) value of the metric are left out */
	run_ids = palloc(sizeof(int64) * Max(SPI_processed, 1));
	values = palloc(sizeof(double) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull_id;
		bool		isnull_v;
		Datum		id = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull_id);
		Datum		v = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull_v);

		if (isnull_v || !isfinite(DatumGetFloat8(v)))
			continue;
		run_ids[n] = DatumGetInt64(id);
		values[n] = DatumGetFloat8(v);
		n++;
	}

	initStringInfo(&flagged);
	appendStringInfoChar(&flagged, '[');
	for (int64 i = 0; i < n; i++)
	{
		Datum		out[5];
		bool		outnulls[5] = {false, false, false, false, false};
		int64		start = i > opts.window ? i - opts.window : 0;
		int64		nhist = i - start;
		bool		zflag = false;
		bool		rflag = false;
		double		z = 0.0;
		StringInfoData reason;

		initStringInfo(&reason);
		if (nhist >= opts.min_history)
		{
			double		mean;
			double		sd;

			StatsMeanStd(values + start, nhist, &mean, &sd);
			if (sd > 0.0)
				z = (values[i] - mean) / sd;
			else
				z = values[i] == mean ? 0.0 : copysign(INFINITY, values[i] - mean);
			zflag = fabs(z) > opts.threshold;
			if (zflag && isinf(z))
				appendStringInfo(&reason, "value %s differs from the previous %lld runs, which are all %s",
								 float8out_internal(values[i]), (long long) nhist, float8out_internal(mean));
			else if (zflag)
				appendStringInfo(&reason, "z-score %.2f over the previous %lld runs exceeds %s",
								 z, (long long) nhist, float8out_internal(opts.threshold));
			out[2] = Float8GetDatum(z);
		}
		else
			outnulls[2] = true;

		if (i > 0 && opts.max_change_pct > 0.0)
		{
			double		prev = values[i - 1];

			if (prev != 0.0)
			{
				double		pct = (values[i] - prev) / fabs(prev) * 100.0;

				rflag = fabs(pct) > opts.max_change_pct;
				if (rflag)
					appendStringInfo(&reason, "%schange of %+.1f%% from the previous run exceeds %s%%",
									 reason.len > 0 ? "; " : "", pct,
									 float8out_internal(opts.max_change_pct));
			}
			else if (values[i] != 0.0)
			{
				rflag = true;
				appendStringInfo(&reason, "%schange from 0 to %s since the previous run",
								 reason.len > 0 ? "; " : "", float8out_internal(values[i]));
			}
		}

		out[0] = Int64GetDatum(run_ids[i]);
		out[1] = Float8GetDatum(values[i]);
		out[3] = BoolGetDatum(zflag || rflag);
		if (reason.len > 0)
			out[4] = CStringGetTextDatum(reason.data);
		else
			outnulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnulls);

		if (zflag || rflag)
		{
			appendStringInfo(&flagged, "%s{\"row_number\": " INT64_FORMAT ", \"run_id\": " INT64_FORMAT
							 ", \"value\": %s, \"score\": ",
							 nflagged > 0 ? ", " : "", i + 1, run_ids[i], float8out_internal(values[i]));
			if (outnulls[2])
				appendStringInfoString(&flagged, "null");
			else
				anomaly_append_score(&flagged, z);
			appendStringInfoString(&flagged, ", \"reason\": ");
			escape_json(&flagged, reason.data);
			appendStringInfoChar(&flagged, '}');
			nflagged++;
		}
	}
	appendStringInfoChar(&flagged, ']');

	initStringInfo(&optjson);
	appendStringInfo(&optjson, "{\"metric\": ");
	escape_json(&optjson, metric);
	appendStringInfo(&optjson, ", \"window\": %d, \"min_history\": %d, \"threshold\": %s, \"max_change_pct\": ",
					 opts.window, opts.min_history, float8out_internal(opts.threshold));
	if (opts.max_change_pct > 0.0)
		appendStringInfoString(&optjson, float8out_internal(opts.max_change_pct));
	else
		appendStringInfoString(&optjson, "null");
	appendStringInfo(&optjson, ", \"statuses\": %s", opts.statuses_json);
	if (opts.column)
	{
		appendStringInfoString(&optjson, ", \"column\": ");
		escape_json(&optjson, opts.column);
	}
	appendStringInfoChar(&optjson, '}');

	{
		Datum		col = CStringGetTextDatum(metric);

		columns_datum = PointerGetDatum(construct_array(&col, 1, TEXTOID, -1, false, TYPALIGN_INT));
	}
	anomaly_record("etl.pipeline_runs", columns_datum, "zscore", optjson.data, n, nflagged,
				   flagged.data, pipeline_id);

	SPI_finish();
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * The outliers rule (src/quality/scan.c): the same options and scores
 * ------------------------------------------------------------------------
 */

/*
 * QualityOutlierOptionsProblem
 *		NULL when options are valid for method (as etl.detect_anomalies would
 *		take them), else the problem.  For the rule validator: the parser
 *		raises, so it runs in a subtransaction (once per rule, not per row).
 */
char *
QualityOutlierOptionsProblem(const char *method, Jsonb *options)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	char	   *volatile problem = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		AnomalyOptions opts;

		opts.method = anomaly_parse_method(method);
		anomaly_parse_options(options, &opts);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		problem = edata->detail ? psprintf("%s: %s", edata->message, edata->detail) : pstrdup(edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcontext);
	CurrentResourceOwner = oldowner;
	return problem;
}

/*
 * QualityCountOutliers
 *		Score n complete rows (row-major, ncols values each) as
 *		etl.detect_anomalies(method, options) would and return how many are
 *		flagged; *max_score is the highest score.  Fewer than two rows flag
 *		nothing.  Scratch memory comes from ctx.
 */
int64
QualityCountOutliers(const char *method, Jsonb *options, const double *x, int64 n, int ncols,
					 double *max_score, MemoryContext ctx)
{
	AnomalyOptions opts;
	double	   *scores;
	bool		inclusive;
	double		cut;
	int64		flagged = 0;

	opts.method = anomaly_parse_method(method);
	anomaly_parse_options(options, &opts);
	*max_score = 0.0;
	if (n < 2)
		return 0;
	scores = MemoryContextAllocHuge(ctx, sizeof(double) * n);
	anomaly_score(&opts, x, n, ncols, scores, ctx);
	cut = anomaly_cut(&opts, scores, n, &inclusive, ctx);
	for (int64 i = 0; i < n; i++)
	{
		if (inclusive ? scores[i] >= cut : scores[i] > cut)
			flagged++;
		if (scores[i] > *max_score)
			*max_score = scores[i];
	}
	return flagged;
}
