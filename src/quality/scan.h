/*-------------------------------------------------------------------------
 *
 * src/quality/scan.h
 *		Internals of the one-scan quality compiler: scan.c compiles rules
 *		(and profile.c the profile) into ONE query over the dataset, checks.c
 *		turns its results into checks, record.c scores and records them,
 *		gate.c holds the SQL functions and the C entry points (quality.h).
 *
 * The query has this shape (scan.c, "How the single scan works" in
 * docs/quality.md):
 *
 *   WITH "metaetl.d" AS MATERIALIZED (SELECT * FROM <data>)     -- only for groups
 *      , "metaetl.u1" AS (SELECT k1, ..., count(*) AS n FROM "metaetl.d" ... GROUP BY ...)
 *   SELECT ARRAY[<final 1>, <final 2>, ...]::jsonb[]
 *     FROM (SELECT pg_catalog.count(*) AS a1, <aggregate> AS a2, ...
 *             FROM <data or "metaetl.d"> AS "metaetl.r") AS "metaetl.b"
 *
 * Every column reference is qualified ("metaetl.r".col, quote_identifier),
 * whole rows are "metaetl.r".*, and internal names live only where no user
 * column is in scope, so no column can capture an internal name (0.1.0's
 * aliases d and s could).  Values are SPI parameters ($1, $2, ...: text or
 * text[]), cast to the column's type in an uncorrelated sub-SELECT that the
 * executor evaluates once.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_QUALITY_SCAN_H
#define METAETL_QUALITY_SCAN_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "quality/rules.h"
#include "util/json.h"
#include "util/relation.h"

#define QS_ALIAS "\"metaetl.r\""	/* the dataset's rows */
#define QS_MAT "\"metaetl.d\""		/* the materialised dataset */
#define QS_BASE "\"metaetl.b\""		/* the aggregate row */

typedef struct QCol
{
	char	   *name;
	int			ord;			/* 1-based */
	Oid			typid;
	Oid			collation;		/* attcollation */
	char	   *typname;		/* format_type_with_typemod */
	char		category;
	bool		numeric;		/* int2/4/8, float4/8, numeric (base types) */
	bool		has_eq;			/* equality and hash */
	bool		has_order;
} QCol;

/*
 * What etl._colstats (colstats.c) computes of one of its arguments: the
 * aggregate rules of one scope share one call per row.
 */
#define QCS_MINMAX	0x01		/* min, max: integers and numerics */
#define QCS_SUM		0x02		/* sum, mean: exact, as avg(int8) / avg(numeric) */
#define QCS_VAR		0x04		/* stddev, as stddev_samp(x::float8) */
#define QCS_KLL		0x08		/* the KLL sketch of etl._kll */
#define QCS_HLL		0x10		/* HyperLogLog registers of etl._hll_distinct */
#define QCS_VALUES	0x20		/* every value as float8: exact quantiles, as etl._quantiles */

typedef struct QCheck
{
	JsonbContainer *r;			/* the normalised rule */
	const char *name;
	const char *type;
	const char *check;			/* validity check kind, column_pair check */
	const char *severity;
	double		threshold;
	const QualityRuleKind *kind;
	QCol	   *col;			/* the rule's single column */
	List	   *cols;			/* uniqueness, column_pair, outliers: QCol * */
	char	   *scope;			/* "(where\n)" or NULL */
	char	   *fail;			/* row-level: the failing-row predicate (quarantine) */
	int			s_total;		/* result slots, -1 when none */
	int			s_fail;
	int			s_a;
	int			s_b;
	bool		by_nulls;		/* s_fail is etl._failures_nulls: checked = in scope - NULLs */
	Jsonb	   *reference;		/* drift: the stored profile compared with */
	const char *ref_label;		/* referential, row_count_equal: the reference */
	/* results (checks.c) */
	bool		passed;
	int64		total;
	int64		failed;
	bool		has_pct;
	double		pct;
	char	   *observed;		/* JSON */
	char	   *samples;		/* JSON array */
	int64		distinct_values;	/* uniqueness; -1 */
	bool		quarantined;
	char	   *store;			/* drift: metrics to keep in etl.profiling_stats */
} QCheck;

typedef struct QScan
{
	MetaetlData *data;
	const char *dataset;		/* the name results are recorded under */
	List	   *cols;			/* QCol * */
	List	   *keys;			/* sample key columns: char * */
	int			nsamples;
	int64		run_id;			/* 0: none */
	const char *pipeline_id;
	Jsonb	   *nodes;			/* {"node id": "relation"}: refs to pipeline nodes */
	/* the query */
	StringInfoData aggs;
	int			naggs;
	List	   *agg_texts;		/* for deduplication, parallel to agg_slots */
	List	   *agg_slots;
	StringInfoData finals;
	int			nfinals;
	StringInfoData ctes;
	int			nctes;
	List	   *group_keys;		/* uniqueness groups shared: "cols|where|nulls" */
	List	   *group_slots;
	bool		need_mat;
	int			nparams;
	Oid		   *ptypes;
	Datum	   *pvalues;
	int			pcap;
	List	   *nncols;			/* char *: columns of the non-NULL counter */
	List	   *nn_slots;		/* int: its result slots, one per 90 columns */
	List	   *checks;			/* QCheck * */
	List	   *fused;			/* the etl._colstats aggregates (scan.c) */
	/* the profile (profile.c) */
	bool		profile;
	bool		approximate;
	int			top_n;
	void	   *prof;
	/* results */
	char	   *sql;
	Jsonb	  **res;
	int			nres;
	int64		rows;
	char	   *profile_json;	/* {row_count, duplicate_rows, columns} */
} QScan;

/* in quality/scan.c */
extern QScan *QualityScanCreate(const char *data, const char *dataset, int nsamples, Jsonb *key_columns);
extern QCol *QualityScanColumn(QScan *s, const char *name, const char *rule);
extern char *QualityScanRef(QCol *c);
extern char *QualityScanFloat8(QCol *c, const char *expr);
extern int	QualityScanParam(QScan *s, Oid type, Datum value);
extern int	QualityScanAgg(QScan *s, const char *expr);
extern int	QualityScanFinal(QScan *s, const char *expr);
extern char *QualityScanAggRef(QScan *s, int slot);
extern void QualityScanCompile(QScan *s, Jsonb *rules);
extern void QualityScanExecute(QScan *s);
extern Jsonb *QualityScanResult(QScan *s, int slot);
extern List *QualityExpressionColumns(const char *expr);

/* in quality/checks.c */
extern void QualityEvaluate(QScan *s);
extern char *QualityChecksJson(QScan *s, bool internal);

/* in quality/profile.c */
extern void QualityProfileCompile(QScan *s);
extern void QualityProfileResult(QScan *s);
extern bool QualityProfileApproximate(QScan *s, int option);

/* in quality/record.c */
typedef struct QScore
{
	double		score;
	bool		passed;
	int64		score_id;
	char	   *dimensions;		/* JSON object */
} QScore;

extern QScore QualityRecord(QScan *s, const char *profile_name, Jsonb *weights, int gate);
extern int64 QualityQuarantine(QScan *s, const char *table);
extern void QualityStoreProfile(QScan *s, const char *profile_json);
extern void QualityStoreDrift(QScan *s);
extern Jsonb *QualityDriftReference(QScan *s, const char *column);
extern int64 QualityPreviousRowCount(QScan *s, const char *rule);
extern Jsonb *QualityCheckWeights(Jsonb *weights);

/*
 * jsonb access: the lenient readers of util/json.h, under the short names
 * the quality files have always used (aliases, so that the call sites stay
 * as they are).
 */
#define QJGet		MetaetlJGetAny
#define QJStr		MetaetlJString
#define QJNum		MetaetlJNumber
#define QJNumText	MetaetlJNumberText
#define QJBool		MetaetlJBoolOr
#define QJStrList	MetaetlJStrings
#define QJObj		MetaetlJContainer
#define QJText		MetaetlJJsonText
#define QJTextArray MetaetlJTextArray

#endif							/* METAETL_QUALITY_SCAN_H */
