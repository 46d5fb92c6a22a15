/*-------------------------------------------------------------------------
 *
 * src/quality/rules.h
 *		The quality-rule vocabulary: the one normaliser and validator of
 *		quality rules, and what the compiler needs to know of each kind.
 *
 * Every path that accepts rules goes through QualityCheckBlock():
 * etl.validate_config / register_pipeline (src/config/validate_rules.c,
 * with YAML line and column), and, through QualityNormalize(), the SQL
 * functions etl.define_quality_profile, etl.quality_gate,
 * etl.execute_dq_validation and the gate of a pipeline run.  So a rule that
 * validates is a rule that runs, and normalising a normalised rule set
 * gives it back unchanged.
 *
 * Include after "postgres.h".
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_QUALITY_RULES_H
#define METAETL_QUALITY_RULES_H

#include "utils/jsonb.h"

#include "config/yamltree.h"

struct VCtx;

/* how the compiler evaluates a kind */
typedef enum QualityEval
{
	QE_ROW,						/* a predicate per row: count, samples, quarantine */
	QE_GROUP,					/* uniqueness: one hash aggregate per column set */
	QE_AGG,						/* an aggregate of the scan compared with bounds */
	QE_SHAPE,					/* the dataset's columns: nothing is read */
	QE_QUERY					/* its own query (custom, row_count_equal) */
} QualityEval;

typedef struct QualityRuleKind
{
	const char *type;
	const char *dimension;		/* score dimension (docs/quality.md, "Score") */
	QualityEval eval;
	const char *table;			/* result table: completeness_checks, ... or dq_results */
} QualityRuleKind;

/* a normalised rule set, as the SQL functions receive it */
typedef struct QualityRuleSet
{
	Jsonb	   *rules;			/* normalised rules (a JSON array) */
	const char *gate;			/* from a quality block, or NULL */
	const char *quarantine;		/* from a quality block, or NULL */
	Jsonb	   *weights;		/* from a quality block, or NULL */
	Jsonb	   *options;		/* from a profile block, or NULL */
} QualityRuleSet;

/* in quality/rules.c */
extern const QualityRuleKind *QualityRuleKindLookup(const char *type);
extern const char *QualityRuleTypeName(int i);
extern struct CfgNode *QualityCheckBlock(struct VCtx *c, const CfgNode *q, const char *path);
extern QualityRuleSet *QualityNormalize(Jsonb *in, const char *const *block_keys, int nblock_keys);
extern bool QualityNumericDriftMethod(const char *method);
extern const char *QualityFormatPattern(const char *name);
extern const char *QualityTypeFormat(const char *data_type);
extern Datum metaetl_normalize_rules(PG_FUNCTION_ARGS);

#endif							/* METAETL_QUALITY_RULES_H */
