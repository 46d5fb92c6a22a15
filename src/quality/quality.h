/*-------------------------------------------------------------------------
 *
 * src/quality/quality.h
 *		Declarations of metaetl's data quality engine (src/quality/).
 *
 * The engine generates one aggregate query per dataset (sql/install/
 * 70_quality.sql); the C side provides what C is for: the profiling
 * aggregates (HyperLogLog, moments, bounded samples), expression and query
 * checks through PostgreSQL's parser, and the resolution of a dataset
 * (relation or SELECT) into a safe FROM item.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_QUALITY_H
#define METAETL_QUALITY_H

#include "fmgr.h"
#include "utils/jsonb.h"

/* in quality/aggs.c */
extern Datum metaetl_hll_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_hll_final(PG_FUNCTION_ARGS);
extern Datum metaetl_moments_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_moments_final(PG_FUNCTION_ARGS);
extern Datum metaetl_sample_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_sample_final(PG_FUNCTION_ARGS);
extern Datum metaetl_is_json(PG_FUNCTION_ARGS);
extern Datum metaetl_hll_combine(PG_FUNCTION_ARGS);
extern Datum metaetl_hll_serial(PG_FUNCTION_ARGS);
extern Datum metaetl_hll_deserial(PG_FUNCTION_ARGS);
extern Datum metaetl_moments_combine(PG_FUNCTION_ARGS);
extern Datum metaetl_moments_serial(PG_FUNCTION_ARGS);
extern Datum metaetl_moments_deserial(PG_FUNCTION_ARGS);
extern Datum metaetl_sample_combine(PG_FUNCTION_ARGS);
extern Datum metaetl_sample_serial(PG_FUNCTION_ARGS);
extern Datum metaetl_sample_deserial(PG_FUNCTION_ARGS);
extern Datum metaetl_nonnull_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_nonnull_final(PG_FUNCTION_ARGS);
extern Datum metaetl_nonnull_combine(PG_FUNCTION_ARGS);
extern Datum metaetl_nonnull_serial(PG_FUNCTION_ARGS);
extern Datum metaetl_nonnull_deserial(PG_FUNCTION_ARGS);

/* in quality/regex.c */
extern Datum metaetl_re_match(PG_FUNCTION_ARGS);
extern char *QualityRegexProblem(const char *pattern);

/* in quality/formats.c */
extern Datum metaetl_parseable(PG_FUNCTION_ARGS);
extern Datum metaetl_date_format_ok(PG_FUNCTION_ARGS);
extern bool QualityParseable(text *v, int kind);
extern int	QualityParseKind(const char *name);
extern char *QualityDateFormatProblem(const char *fmt);

/* in quality/anomaly.c */
extern char *QualityOutlierOptionsProblem(const char *method, Jsonb *options);
extern int64 QualityCountOutliers(const char *method, Jsonb *options, const double *x, int64 n,
								  int ncols, double *max_score, MemoryContext ctx);

/* in quality/dataset.c */
extern Datum metaetl_check_expression(PG_FUNCTION_ARGS);
extern Datum metaetl_resolve_data(PG_FUNCTION_ARGS);
extern Datum metaetl_data_columns(PG_FUNCTION_ARGS);
extern Datum metaetl_expression_columns(PG_FUNCTION_ARGS);

#endif							/* METAETL_QUALITY_H */
