/*-------------------------------------------------------------------------
 *
 * src/quality/stats.h
 *		Robust and classical outlier scores of one numeric column.
 *
 * Pure C, no PostgreSQL headers: unit-tested by test/unit/test_iforest.c and
 * called by src/quality/anomaly.c for the zscore, mad and iqr methods.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_STATS_H
#define METAETL_STATS_H

#include <stddef.h>

/* consistency constants of the modified z-score (Iglewicz and Hoaglin) */
#define STATS_MAD_FACTOR 0.6745
#define STATS_MEANAD_FACTOR 1.253314

/* in quality/stats.c */
extern void StatsMeanStd(const double *v, size_t n, double *mean, double *sd);
extern void StatsSort(double *v, size_t n);
extern double StatsQuantileSorted(const double *sorted, size_t n, double q);

/*
 * Each scorer reads n values (n >= 1, no NaN), writes n non-negative scores,
 * and uses "work" (n doubles) as scratch space.
 */
extern void StatsZScores(const double *v, size_t n, double *scores);
extern void StatsMadScores(const double *v, size_t n, double *scores, double *work);
extern void StatsIqrScores(const double *v, size_t n, double *scores, double *work);

#endif							/* METAETL_STATS_H */
