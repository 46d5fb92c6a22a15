/*-------------------------------------------------------------------------
 *
 * src/quality/iforest.h
 *		Isolation forest (Liu, Ting and Zhou, 2008) and a seeded PRNG.
 *
 * Pure C, no PostgreSQL headers: unit-tested by test/unit/test_iforest.c and
 * called by src/quality/anomaly.c.  Memory comes from an allocator the caller
 * passes in (palloc in a dedicated memory context in the backend, malloc in
 * the unit tests), so nothing leaks when the backend raises an error.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_IFOREST_H
#define METAETL_IFOREST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Euler-Mascheroni constant as the issue (and the original paper) write it */
#define IFOREST_EULER_GAMMA 0.5772156649

/* xoshiro256** seeded through splitmix64: the same seed gives the same stream */
typedef struct IForestRng
{
	uint64_t	s[4];
} IForestRng;

/* where the forest's memory comes from; free may be NULL (memory contexts) */
typedef struct IForestAllocator
{
	void	   *(*alloc) (size_t size, void *arg);
	void		(*free) (void *ptr, void *arg);
	void	   *arg;
} IForestAllocator;

/*
 * One node of an isolation tree, trees stored in pre-order: the left child is
 * the next node, "right" is the index of the right child within the tree.
 * For a leaf (feature < 0) value is depth + c(size), the path length of every
 * point that ends there; for an inner node it is the split threshold (points
 * with x[feature] <= value go left).
 */
typedef struct IForestNode
{
	int32_t		feature;
	int32_t		right;
	double		value;
} IForestNode;

typedef struct IForest
{
	int			ncols;
	int			n_trees;
	int			sample_size;	/* psi = min(requested, n) */
	int			max_depth;		/* ceil(log2(psi)) */
	int			stride;			/* nodes reserved per tree: 2 psi - 1 */
	double		c_psi;			/* c(psi), the score's normaliser */
	IForestNode *nodes;			/* n_trees * stride */
	IForestAllocator allocator;
} IForest;

/* in quality/iforest.c */
extern void IForestRngSeed(IForestRng *rng, uint64_t seed);
extern uint64_t IForestRngNext(IForestRng *rng);
extern double IForestRngUniform(IForestRng *rng);
extern uint64_t IForestRngBelow(IForestRng *rng, uint64_t n);

extern double IForestAvgPathLength(double n);
extern int	IForestDepthLimit(int sample_size);

extern const char *IForestFit(IForest *forest, const double *x, size_t n, int ncols,
							  int n_trees, int sample_size, uint64_t seed,
							  const IForestAllocator *allocator);
extern double IForestPathLength(const IForest *forest, int tree, const double *row);
extern void IForestScore(const IForest *forest, const double *x, size_t n, double *scores);
extern void IForestRelease(IForest *forest);

#endif							/* METAETL_IFOREST_H */
