/*-------------------------------------------------------------------------
 *
 * src/quality/sketch.h
 *		Pure-C mergeable quantile sketch (KLL) and the drift statistics that
 *		compare two distributions: Kolmogorov-Smirnov, chi-square, PSI.
 *
 * No PostgreSQL headers: unit-tested outside the server
 * (test/unit/test_quality_sketch.c).  Memory comes from the caller's
 * allocator (the aggregate's memory context in the server).
 *
 * The KLL sketch (Karnin, Lang and Liberty, "Optimal Quantile Approximation
 * in Streams", 2016) keeps levels of items: an item at level h stands for
 * 2^h values.  When the sketch outgrows its capacity, the lowest full level
 * is sorted and every other item (odd or even positions, by a coin) moves up
 * a level.  With k = 200 it holds about 600 values whatever the input size,
 * and its rank error stays below 1.7% with high probability (test
 * test_quality_sketch checks 2% on 10^6 values of several distributions);
 * below k values per level nothing is discarded and the sketch is exact.
 * Two sketches merge level by level, so parallel workers and stored
 * profiles combine.  The coin is a fixed-seed generator: one input order
 * gives one sketch.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_QUALITY_SKETCH_H
#define METAETL_QUALITY_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QKLL_DEFAULT_K 200
#define QKLL_MAX_LEVELS 60

typedef struct QSketchAlloc
{
	void	   *(*alloc) (size_t size, void *arg);	/* never returns NULL */
	void		(*release) (void *ptr, void *arg);	/* may be NULL (arena) */
	void	   *arg;
} QSketchAlloc;

typedef struct QKll
{
	int			k;
	int			nlevels;
	uint64_t	n;				/* values added */
	double		min;
	double		max;
	uint64_t	rng;
	int			len[QKLL_MAX_LEVELS];	/* items per level */
	int			cap[QKLL_MAX_LEVELS];	/* allocated per level */
	int			limit[QKLL_MAX_LEVELS]; /* capacity per level, for nlevels */
	int			total;			/* items held */
	int			total_limit;	/* sum of limit[] */
	int			limit_levels;	/* nlevels limit[] was computed for */
	double	   *items[QKLL_MAX_LEVELS];
	const QSketchAlloc *a;
} QKll;

/* in quality/sketch.c */
extern void QKllInit(QKll *s, int k, const QSketchAlloc *a);
extern void QKllAdd(QKll *s, double v);
extern void QKllAddWeighted(QKll *s, double v, int level);
extern void QKllMerge(QKll *s, const QKll *other);
extern int	QKllRetained(const QKll *s);
extern bool QKllExact(const QKll *s);
extern double QKllQuantile(const QKll *s, double q);
extern double QKllCdf(const QKll *s, double x);
extern double QKllRankError(const QKll *s);
extern void QKllFree(QKll *s);

/* drift statistics */
extern double QKsStatistic(const QKll *a, const QKll *b);
extern double QKsPValue(double d, double n1, double n2);
extern double QChi2PValue(double stat, double df);
extern double QChi2Homogeneity(const double *ref, const double *cur, int n, int *df);
extern double QPsi(const double *expected, const double *actual, int n);

#endif							/* METAETL_QUALITY_SKETCH_H */
