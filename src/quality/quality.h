/*-------------------------------------------------------------------------
 *
 * src/quality/quality.h
 *		The interface of metaetl's data quality engine (src/quality/).
 *
 * rules.h holds the rule vocabulary (its one normaliser), scan.h the
 * compiler's internals; this header is what the rest of metaetl and the
 * engine's own files call: the C entry points of a pipeline run's gate, the
 * SQL-callable functions, the C aggregates of the one scan, and helpers
 * (regular expressions, parse checks, value rendering, sketches).
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_QUALITY_H
#define METAETL_QUALITY_H

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "quality/sketch.h"

/* in quality/aggs.c */
extern Datum metaetl_hll_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_hll_final(PG_FUNCTION_ARGS);
extern Datum metaetl_moments_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_moments_final(PG_FUNCTION_ARGS);
extern Datum metaetl_sample_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_sample_final(PG_FUNCTION_ARGS);
extern Datum metaetl_is_json(PG_FUNCTION_ARGS);
extern double QualityNumericToFloat8(Datum num);
extern bool QualityNumericSmall(Datum num, int64 *mant, int *exp10k, int *dscale);
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
extern void QualityValueJson(StringInfo buf, Oid type, Datum value, bool isnull);

/* HyperLogLog hashing shared by etl._hll_distinct and colstats.c */
typedef struct QualityHllHasher
{
	FmgrInfo	hashfn;			/* the type's extended (64-bit) hash */
	Oid			collation;
	char		fast;			/* 'b': text hashed in place, 'i': int4 or date, 0: hashfn */
} QualityHllHasher;
extern void QualityHllHasherInit(QualityHllHasher *h, Oid argtype, Oid collation, MemoryContext cxt);
extern uint64 QualityHllHash(QualityHllHasher *h, Datum value);

/* in quality/sketchagg.c */
extern void QualityExactQuantiles(double *v, int64 n, const double *q, int nq, double *out);
extern void QualityKllJson(StringInfo b, const QKll *s);
extern void QualitySerializeKll(StringInfo buf, const QKll *s);
extern const char *QualityDeserializeKll(const char *p, const char *end, QKll *s);

/* in quality/regex.c */
extern Datum metaetl_re_match(PG_FUNCTION_ARGS);
extern char *QualityRegexProblem(const char *pattern);
typedef struct QualityRegex QualityRegex;
extern QualityRegex *QualityRegexCompile(const char *pattern);
extern bool QualityRegexMatch(QualityRegex *re, const char *s, size_t len);

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

/* in quality/formats.c, valtab.c, sketchagg.c, profagg.c: aggregates and row checks */
extern Datum metaetl_freq_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_freq_final(PG_FUNCTION_ARGS);
extern Datum metaetl_freq_combine(PG_FUNCTION_ARGS);
extern Datum metaetl_freq_serial(PG_FUNCTION_ARGS);
extern Datum metaetl_freq_deserial(PG_FUNCTION_ARGS);
extern Datum metaetl_kll_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_kll_final(PG_FUNCTION_ARGS);
extern Datum metaetl_kll_combine(PG_FUNCTION_ARGS);
extern Datum metaetl_kll_serial(PG_FUNCTION_ARGS);
extern Datum metaetl_kll_deserial(PG_FUNCTION_ARGS);
extern Datum metaetl_quantiles_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_quantiles_final(PG_FUNCTION_ARGS);
extern Datum metaetl_quantiles_combine(PG_FUNCTION_ARGS);
extern Datum metaetl_quantiles_serial(PG_FUNCTION_ARGS);
extern Datum metaetl_quantiles_deserial(PG_FUNCTION_ARGS);
extern Datum metaetl_outliers_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_outliers_final(PG_FUNCTION_ARGS);
extern Datum metaetl_outliers_combine(PG_FUNCTION_ARGS);
extern Datum metaetl_outliers_serial(PG_FUNCTION_ARGS);
extern Datum metaetl_outliers_deserial(PG_FUNCTION_ARGS);
extern Datum metaetl_monotonic_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_monotonic_final(PG_FUNCTION_ARGS);
extern Datum metaetl_numdist_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_numdist_final(PG_FUNCTION_ARGS);
extern Datum metaetl_profile_sfunc(PG_FUNCTION_ARGS);
extern Datum metaetl_profile_final(PG_FUNCTION_ARGS);
extern Datum metaetl_profile_combine(PG_FUNCTION_ARGS);
extern Datum metaetl_profile_serial(PG_FUNCTION_ARGS);
extern Datum metaetl_profile_deserial(PG_FUNCTION_ARGS);

/* in quality/gate.c: the SQL functions */
extern Datum metaetl_quality_gate(PG_FUNCTION_ARGS);
extern Datum metaetl_execute_dq_validation(PG_FUNCTION_ARGS);
extern Datum metaetl_profile(PG_FUNCTION_ARGS);
extern Datum metaetl_define_quality_profile(PG_FUNCTION_ARGS);
extern Datum metaetl_resolve_data(PG_FUNCTION_ARGS);

/*
 * in quality/gate.c: the interface of other subsystems (the orchestrator's
 * run body calls these instead of etl.quality_gate by name).
 *
 * MetaetlQualityGate      etl.quality_gate in C: one dataset, its rules;
 * MetaetlQualityRunGates  a run's gate: every node its quality block names,
 *                         with the node map {"node id": "relation"} that
 *                         also resolves ref: (referential, row_count_equal)
 *                         to another node of the pipeline;
 * MetaetlQualityNodes     the node ids to materialise for it (on: and ref:).
 * All run as the current role, in the current transaction.
 */
typedef struct MetaetlQualityOutcome
{
	bool		ran;			/* some node had rules */
	bool		passed;			/* every gate passed */
	double		score;			/* the lowest quality score (100 without rules) */
	char	   *gate;			/* error | warn | none */
	char	   *failed_rules;	/* names of failed rules, ", "-separated, or NULL */
} MetaetlQualityOutcome;

extern Jsonb *MetaetlQualityGate(const char *data, const char *dataset, Jsonb *rules, int64 run_id,
								 const char *pipeline_id, const char *gate, Jsonb *options, Jsonb *nodes);
extern Jsonb *MetaetlQualityRunGates(Jsonb *config, Jsonb *nodes, int64 run_id, const char *pipeline_id,
									 MetaetlQualityOutcome *out);
extern List *MetaetlQualityNodes(Jsonb *config);

#endif							/* METAETL_QUALITY_H */
