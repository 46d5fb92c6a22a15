/*-------------------------------------------------------------------------
 *
 * src/quality/profstats.h
 *		Pure-C statistics for profiling: HyperLogLog and streaming moments.
 *
 * No PostgreSQL headers: unit-tested outside the server
 * (test/unit/test_quality_stats.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_QUALITY_STATS_H
#define METAETL_QUALITY_STATS_H

#include <stdint.h>

/* HyperLogLog with 2^14 registers: standard error 1.04/sqrt(16384) = 0.8% */
#define QHLL_P 14
#define QHLL_M (1 << QHLL_P)

typedef struct QHll
{
	uint8_t		reg[QHLL_M];
} QHll;

/* Streaming central moments (Terriberry's update of Welford's method) */
typedef struct QMoments
{
	double		n;
	double		mean;
	double		m2;				/* sum of squared deviations */
	double		m3;
	double		m4;
} QMoments;

/* pandas-compatible summary of a QMoments; has_* false means NaN/NULL */
typedef struct QMomentSummary
{
	double		mean;
	double		variance;		/* sample (ddof = 1) */
	double		stddev;
	double		skewness;		/* adjusted Fisher-Pearson, as pandas' skew() */
	double		kurtosis;		/* excess, bias-corrected, as pandas' kurt() */
	int			has_mean;
	int			has_variance;
	int			has_skewness;
	int			has_kurtosis;
} QMomentSummary;

/* in quality/profstats.c */
extern void QHllInit(QHll *h);
extern void QHllAdd(QHll *h, uint64_t hash);
extern double QHllEstimate(const QHll *h);
extern uint64_t QHllMix(uint64_t x);
extern void QMomentsInit(QMoments *m);
extern void QMomentsAdd(QMoments *m, double x);
extern void QMomentsCombine(QMoments *a, const QMoments *b);
extern void QMomentsSummarize(const QMoments *m, QMomentSummary *s);

#endif							/* METAETL_QUALITY_STATS_H */
