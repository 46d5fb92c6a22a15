/*-------------------------------------------------------------------------
 *
 * src/quality/iforest.c
 *		Isolation forest: fit on random sub-samples, score by path length.
 *
 * The algorithm is the one of Liu, Ting and Zhou (ICDM 2008), with the
 * parameters the quality issue fixes: n_trees trees, each grown on a sample
 * of psi = min(sample_size, n) rows drawn without replacement, to a depth
 * limit of ceil(log2(psi)).  Each split picks a feature uniformly at random
 * among those not constant in the node (a constant feature cannot split; this
 * is also what scikit-learn does) and a threshold uniformly between the
 * feature's minimum and maximum in the node.  A point's path length is the
 * depth of the leaf it reaches plus c(size of that leaf), where
 *
 *     c(n) = 2 (ln(n - 1) + 0.5772156649) - 2 (n - 1) / n,  c(2) = 1, c(<=1) = 0
 *
 * and its anomaly score is 2^(-E[h(x)] / c(psi)): close to 1 for points
 * isolated quickly, below 0.5 for ordinary points.
 *
 * Everything is deterministic for a given seed: the PRNG is xoshiro256**
 * seeded through splitmix64, and the sample of each tree is a partial
 * Fisher-Yates shuffle of one permutation of the row indices.
 *
 * Pure C (no PostgreSQL headers); data is row-major doubles with no NaN.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "quality/iforest.h"

/* rows scored together: a block of rows stays in cache while each tree walks it */
#define IFOREST_SCORE_BLOCK 2048

static inline uint64_t
iforest_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/*
 * IForestRngSeed
 *		Seeds the xoshiro256** state from one 64-bit seed through
 *		splitmix64, as the generator's authors recommend: any seed (0
 *		included) gives a well-mixed, non-zero state. The forest's
 *		determinism for a given seed option rests on this.
 */
void
IForestRngSeed(IForestRng *rng, uint64_t seed)
{
	uint64_t	z = seed;

	for (int i = 0; i < 4; i++)
	{
		uint64_t	v;

		z += UINT64_C(0x9e3779b97f4a7c15);
		v = z;
		v = (v ^ (v >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
		v = (v ^ (v >> 27)) * UINT64_C(0x94d049bb133111eb);
		rng->s[i] = v ^ (v >> 31);
	}
}

/*
 * IForestRngNext
 *		The next 64 random bits of xoshiro256**. A private generator
 *		rather than random(): the sequence is the same on every
 *		platform and is not disturbed by other users of the backend's
 *		PRNG, so scores are reproducible.
 */
uint64_t
IForestRngNext(IForestRng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = iforest_rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = iforest_rotl(s[3], 45);
	return result;
}

/* uniform in [0, 1), 53 random bits */
double
IForestRngUniform(IForestRng *rng)
{
	return (double) (IForestRngNext(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* uniform integer in [0, n), without modulo bias; n > 0 */
uint64_t
IForestRngBelow(IForestRng *rng, uint64_t n)
{
	uint64_t	threshold = (0 - n) % n;
	uint64_t	r;

	do
		r = IForestRngNext(rng);
	while (r < threshold);
	return r % n;
}

/*
 * IForestAvgPathLength
 *		c(n): the average path length of an unsuccessful search in a binary
 *		search tree of n points, used to normalise path lengths.
 */
double
IForestAvgPathLength(double n)
{
	if (n <= 1.0)
		return 0.0;
	if (n <= 2.0)
		return 1.0;
	return 2.0 * (log(n - 1.0) + IFOREST_EULER_GAMMA) - 2.0 * (n - 1.0) / n;
}

/* ceil(log2(sample_size)), 0 for sample_size <= 1 */
int
IForestDepthLimit(int sample_size)
{
	int			depth = 0;

	while (depth < 31 && (INT64_C(1) << depth) < (int64_t) sample_size)
		depth++;
	return depth;
}

/* state of growing one tree */
typedef struct IForestBuild
{
	const double *x;
	int			ncols;
	int			max_depth;
	uint32_t   *idx;			/* the tree's sample, partitioned in place */
	double	   *mins;
	double	   *maxs;
	int		   *candidates;
	IForestNode *nodes;			/* this tree's nodes */
	int			used;
	IForestRng *rng;
} IForestBuild;

static int
iforest_grow(IForestBuild *b, int lo, int hi, int depth)
{
	int			self = b->used++;
	IForestNode *node = &b->nodes[self];
	int			size = hi - lo;
	int			ncand = 0;
	int			feature;
	double		split;
	int			i;
	int			j;

	if (depth < b->max_depth && size > 1)
	{
		const double *first = b->x + (size_t) b->idx[lo] * b->ncols;

		for (int c = 0; c < b->ncols; c++)
			b->mins[c] = b->maxs[c] = first[c];
		for (i = lo + 1; i < hi; i++)
		{
			const double *row = b->x + (size_t) b->idx[i] * b->ncols;

			for (int c = 0; c < b->ncols; c++)
			{
				if (row[c] < b->mins[c])
					b->mins[c] = row[c];
				else if (row[c] > b->maxs[c])
					b->maxs[c] = row[c];
			}
		}
		for (int c = 0; c < b->ncols; c++)
			if (b->mins[c] < b->maxs[c])
				b->candidates[ncand++] = c;
	}

	if (ncand == 0)
	{
		/* depth limit reached, one point left, or all points equal: a leaf */
		node->feature = -1;
		node->right = -1;
		node->value = depth + IForestAvgPathLength((double) size);
		return self;
	}

	feature = b->candidates[ncand == 1 ? 0 : IForestRngBelow(b->rng, ncand)];
	split = b->mins[feature] + IForestRngUniform(b->rng) * (b->maxs[feature] - b->mins[feature]);
	if (!(split < b->maxs[feature]))
		split = b->mins[feature];	/* rounding reached max: keep both sides non-empty */

	/* partition: x <= split to the left, x > split to the right */
	i = lo;
	j = hi - 1;
	while (i <= j)
	{
		if (b->x[(size_t) b->idx[i] * b->ncols + feature] <= split)
			i++;
		else
		{
			uint32_t	t = b->idx[i];

			b->idx[i] = b->idx[j];
			b->idx[j] = t;
			j--;
		}
	}

	node->feature = feature;
	node->value = split;
	iforest_grow(b, lo, i, depth + 1);
	/* node may not move: nodes is a fixed array */
	node->right = iforest_grow(b, i, hi, depth + 1);
	return self;
}

/*
 * IForestFit
 *		Grow n_trees trees on x (n rows of ncols doubles, row-major, no NaN).
 *		Returns NULL on success, or a message naming the bad argument.
 */
const char *
IForestFit(IForest *forest, const double *x, size_t n, int ncols,
		   int n_trees, int sample_size, uint64_t seed,
		   const IForestAllocator *allocator)
{
	IForestRng	rng;
	IForestBuild b;
	uint32_t   *perm;
	int			psi;

	memset(forest, 0, sizeof(*forest));
	if (n < 2)
		return "at least 2 rows are needed";
	if (n > UINT32_MAX)
		return "too many rows";
	if (ncols < 1)
		return "at least one column is needed";
	if (n_trees < 1)
		return "n_trees must be at least 1";
	if (sample_size < 2)
		return "sample_size must be at least 2";

	psi = (size_t) sample_size < n ? sample_size : (int) n;
	forest->ncols = ncols;
	forest->n_trees = n_trees;
	forest->sample_size = psi;
	forest->max_depth = IForestDepthLimit(psi);
	forest->stride = 2 * psi - 1;
	forest->c_psi = IForestAvgPathLength((double) psi);
	forest->allocator = *allocator;
	forest->nodes = allocator->alloc(sizeof(IForestNode) * (size_t) n_trees * forest->stride,
									 allocator->arg);
	memset(forest->nodes, 0, sizeof(IForestNode) * (size_t) n_trees * forest->stride);

	perm = allocator->alloc(sizeof(uint32_t) * n, allocator->arg);
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t) i;

	b.x = x;
	b.ncols = ncols;
	b.max_depth = forest->max_depth;
	b.idx = allocator->alloc(sizeof(uint32_t) * psi, allocator->arg);
	b.mins = allocator->alloc(sizeof(double) * ncols, allocator->arg);
	b.maxs = allocator->alloc(sizeof(double) * ncols, allocator->arg);
	b.candidates = allocator->alloc(sizeof(int) * ncols, allocator->arg);
	b.rng = &rng;

	IForestRngSeed(&rng, seed);
	for (int t = 0; t < n_trees; t++)
	{
		/* partial Fisher-Yates: perm[0..psi) becomes a uniform random sample */
		if ((size_t) psi < n)
		{
			for (int i = 0; i < psi; i++)
			{
				size_t		j = i + (size_t) IForestRngBelow(&rng, n - i);
				uint32_t	tmp = perm[i];

				perm[i] = perm[j];
				perm[j] = tmp;
			}
		}
		memcpy(b.idx, perm, sizeof(uint32_t) * psi);
		b.nodes = forest->nodes + (size_t) t * forest->stride;
		b.used = 0;
		iforest_grow(&b, 0, psi, 0);
	}

	if (allocator->free)
	{
		allocator->free(perm, allocator->arg);
		allocator->free(b.idx, allocator->arg);
		allocator->free(b.mins, allocator->arg);
		allocator->free(b.maxs, allocator->arg);
		allocator->free(b.candidates, allocator->arg);
	}
	return NULL;
}

/* h(x) in one tree: depth of the leaf reached plus c(leaf size) */
double
IForestPathLength(const IForest *forest, int tree, const double *row)
{
	const IForestNode *nodes = forest->nodes + (size_t) tree * forest->stride;
	int			i = 0;

	while (nodes[i].feature >= 0)
		i = row[nodes[i].feature] <= nodes[i].value ? i + 1 : nodes[i].right;
	return nodes[i].value;
}

/*
 * IForestScore
 *		scores[i] = 2^(-E[h(x_i)] / c(psi)) for the n rows of x.  Rows are
 *		taken in blocks so that one tree (a few KB) and one block of rows stay
 *		in cache while the tree is walked for every row of the block.
 */
void
IForestScore(const IForest *forest, const double *x, size_t n, double *scores)
{
	int			ncols = forest->ncols;
	double		norm = -1.0 / ((double) forest->n_trees * forest->c_psi);

	for (size_t start = 0; start < n; start += IFOREST_SCORE_BLOCK)
	{
		size_t		end = start + IFOREST_SCORE_BLOCK < n ? start + IFOREST_SCORE_BLOCK : n;

		for (size_t r = start; r < end; r++)
			scores[r] = 0.0;
		for (int t = 0; t < forest->n_trees; t++)
		{
			const IForestNode *nodes = forest->nodes + (size_t) t * forest->stride;

			for (size_t r = start; r < end; r++)
			{
				const double *row = x + r * ncols;
				int			i = 0;

				while (nodes[i].feature >= 0)
					i = row[nodes[i].feature] <= nodes[i].value ? i + 1 : nodes[i].right;
				scores[r] += nodes[i].value;
			}
		}
		for (size_t r = start; r < end; r++)
			scores[r] = exp2(scores[r] * norm);
	}
}

/*
 * IForestRelease
 *		Frees the forest's node array through the allocator it was
 *		fitted with, when that allocator has a free function (an
 *		arena's memory is released with the arena), and clears the
 *		pointer so a second call is harmless.
 */
void
IForestRelease(IForest *forest)
{
	if (forest->nodes && forest->allocator.free)
		forest->allocator.free(forest->nodes, forest->allocator.arg);
	forest->nodes = NULL;
}
