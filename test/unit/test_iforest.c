/*
 * test/unit/test_iforest.c
 *		Unit tests of src/quality/iforest.c (isolation forest, PRNG) and
 *		src/quality/stats.c (zscore, mad, iqr scores).
 */
#include <math.h>
#include <stdlib.h>

#include "unit.h"
#include "../../src/quality/iforest.c"
#include "../../src/quality/stats.c"

static void *
test_alloc(size_t size, void *arg)
{
	(void) arg;
	return malloc(size);
}

static void
test_free(void *ptr, void *arg)
{
	(void) arg;
	free(ptr);
}

static const IForestAllocator test_allocator = {test_alloc, test_free, NULL};

static int
near(double got, double want, double tol)
{
	if (fabs(got - want) <= tol)
		return 1;
	printf("#   got %.10g, want %.10g\n", got, want);
	return 0;
}

/* standard normal deviate (Box-Muller) */
static double
gauss(IForestRng *rng)
{
	double		u1 = IForestRngUniform(rng);
	double		u2 = IForestRngUniform(rng);

	return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

/* ROC AUC: share of (outlier, inlier) pairs ranked correctly, ties count 1/2 */
static double
auc(const double *scores, const int *label, size_t n)
{
	double		good = 0.0;
	double		pairs = 0.0;

	for (size_t i = 0; i < n; i++)
		if (label[i])
			for (size_t j = 0; j < n; j++)
				if (!label[j])
				{
					pairs += 1.0;
					good += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
				}
	return good / pairs;
}

static void
test_rng(void)
{
	IForestRng	a;
	IForestRng	b;
	int			same = 1;
	int			in_range = 1;
	int			differ = 0;

	IForestRngSeed(&a, 42);
	IForestRngSeed(&b, 42);
	for (int i = 0; i < 1000; i++)
		same &= IForestRngNext(&a) == IForestRngNext(&b);
	UNIT_CHECK(same, "the same seed gives the same stream");

	IForestRngSeed(&a, 1);
	IForestRngSeed(&b, 2);
	for (int i = 0; i < 10; i++)
		differ |= IForestRngNext(&a) != IForestRngNext(&b);
	UNIT_CHECK(differ, "different seeds give different streams");

	for (int i = 0; i < 10000; i++)
	{
		double		u = IForestRngUniform(&a);
		uint64_t	k = IForestRngBelow(&a, 7);

		in_range &= u >= 0.0 && u < 1.0 && k < 7;
	}
	UNIT_CHECK(in_range, "uniform draws lie in [0,1) and bounded draws below n");
	UNIT_CHECK_INT(IForestRngBelow(&a, 1), 0, "a draw below 1 is 0");
}

static void
test_c(void)
{
	UNIT_CHECK(IForestAvgPathLength(0) == 0.0, "c(0) = 0");
	UNIT_CHECK(IForestAvgPathLength(1) == 0.0, "c(1) = 0");
	UNIT_CHECK(IForestAvgPathLength(2) == 1.0, "c(2) = 1");
	UNIT_CHECK(near(IForestAvgPathLength(3), 2.0 * (log(2.0) + 0.5772156649) - 4.0 / 3.0, 1e-12),
			   "c(3) follows the formula");
	UNIT_CHECK(near(IForestAvgPathLength(256), 10.244770, 1e-5), "c(256) = 10.24477");
	UNIT_CHECK_INT(IForestDepthLimit(256), 8, "depth limit for 256 is 8");
	UNIT_CHECK_INT(IForestDepthLimit(257), 9, "depth limit for 257 is 9");
	UNIT_CHECK_INT(IForestDepthLimit(3), 2, "depth limit for 3 is 2");
	UNIT_CHECK_INT(IForestDepthLimit(2), 1, "depth limit for 2 is 1");
	UNIT_CHECK_INT(IForestDepthLimit(1), 0, "depth limit for 1 is 0");
}

static void
test_path_lengths(void)
{
	IForest		f;
	double		two[] = {0.0, 1.0};
	double		same[] = {3.0, 3.0, 3.0, 3.0};
	double		mixed[] = {1.0, 7.0, 2.0, 7.0, 3.0, 7.0, 4.0, 7.0};	/* column 2 constant */
	double		scores[4];
	const char *err;
	int			ok = 1;

	err = IForestFit(&f, two, 2, 1, 5, 256, 7, &test_allocator);
	UNIT_CHECK(err == NULL, "two points fit");
	UNIT_CHECK_INT(f.sample_size, 2, "sample size is min(256, n)");
	UNIT_CHECK_INT(f.max_depth, 1, "depth limit of a 2-point sample is 1");
	UNIT_CHECK(near(IForestPathLength(&f, 0, &two[0]), 1.0, 0.0), "each of two points is isolated at depth 1");
	IForestScore(&f, two, 2, scores);
	UNIT_CHECK(near(scores[0], 0.5, 1e-12) && near(scores[1], 0.5, 1e-12),
			   "two points both score 2^(-1/c(2)) = 0.5");
	IForestRelease(&f);

	err = IForestFit(&f, same, 4, 1, 3, 256, 7, &test_allocator);
	UNIT_CHECK(err == NULL, "identical points fit");
	UNIT_CHECK(near(IForestPathLength(&f, 2, &same[0]), IForestAvgPathLength(4), 1e-12),
			   "identical points end in the root leaf: path length c(4)");
	IForestScore(&f, same, 4, scores);
	UNIT_CHECK(near(scores[3], 0.5, 1e-12), "identical points score 0.5");
	IForestRelease(&f);

	err = IForestFit(&f, mixed, 4, 2, 20, 256, 9, &test_allocator);
	UNIT_CHECK(err == NULL, "a constant column beside a varying one fits");
	for (int t = 0; t < 20; t++)
	{
		const IForestNode *nodes = f.nodes + (size_t) t * f.stride;

		for (int i = 0; i < f.stride && i < 7; i++)
			if (nodes[i].feature == 1)
				ok = 0;
		for (int r = 0; r < 4; r++)
		{
			double		h = IForestPathLength(&f, t, &mixed[r * 2]);

			/* 4 points, depth limit 2: leaves at depth <= 2 with one or two points */
			if (!(h >= 1.0 && h <= 3.0))
				ok = 0;
		}
	}
	UNIT_CHECK(ok, "constant features are never split on; path lengths within [1, limit + c(2)]");
	IForestRelease(&f);

	err = IForestFit(&f, two, 1, 1, 5, 256, 7, &test_allocator);
	UNIT_CHECK(err != NULL, "one row is refused");
	err = IForestFit(&f, two, 2, 1, 0, 256, 7, &test_allocator);
	UNIT_CHECK(err != NULL, "zero trees are refused");
	err = IForestFit(&f, two, 2, 1, 5, 1, 7, &test_allocator);
	UNIT_CHECK(err != NULL, "sample size 1 is refused");
}

static void
test_forest(void)
{
	enum
	{
		N = 2000, D = 3, OUT = 20
	};
	double	   *x = malloc(sizeof(double) * N * D);
	double	   *s1 = malloc(sizeof(double) * N);
	double	   *s2 = malloc(sizeof(double) * N);
	double	   *s3 = malloc(sizeof(double) * N);
	int		   *label = calloc(N, sizeof(int));
	double		centre[D] = {0.0, 0.0, 0.0};
	double		centre_score;
	IForestRng	rng;
	IForest		f;
	int			identical = 1;
	int			differ = 0;
	int			outliers_high = 1;
	const char *err;
	double		area;

	IForestRngSeed(&rng, 2024);
	for (int i = 0; i < N; i++)
	{
		for (int c = 0; c < D; c++)
			x[i * D + c] = gauss(&rng);
		if (i % (N / OUT) == 0)
		{
			label[i] = 1;
			for (int c = 0; c < D; c++)
				x[i * D + c] = (IForestRngUniform(&rng) < 0.5 ? -1 : 1) * (5.0 + 3.0 * IForestRngUniform(&rng));
		}
	}

	err = IForestFit(&f, x, N, D, 100, 256, 42, &test_allocator);
	UNIT_CHECK(err == NULL, "2000 x 3 fits");
	UNIT_CHECK_INT(f.max_depth, 8, "depth limit 8 for a sample of 256");
	IForestScore(&f, x, N, s1);
	IForestScore(&f, centre, 1, &centre_score);
	IForestRelease(&f);
	IForestFit(&f, x, N, D, 100, 256, 42, &test_allocator);
	IForestScore(&f, x, N, s2);
	IForestRelease(&f);
	IForestFit(&f, x, N, D, 100, 256, 43, &test_allocator);
	IForestScore(&f, x, N, s3);
	IForestRelease(&f);

	for (int i = 0; i < N; i++)
	{
		identical &= s1[i] == s2[i];
		differ |= s1[i] != s3[i];
		if (label[i] && !(s1[i] > 0.6))
			outliers_high = 0;
	}
	UNIT_CHECK(identical, "the same seed gives identical scores");
	UNIT_CHECK(differ, "another seed gives other scores");
	UNIT_CHECK(outliers_high, "every planted outlier scores above 0.6");
	UNIT_CHECK(centre_score < 0.5, "the centre scores below 0.5 (%.3f)", centre_score);
	area = auc(s1, label, N);
	UNIT_CHECK(area >= 0.99, "ROC AUC of the planted outliers >= 0.99 (%.4f)", area);

	free(x);
	free(s1);
	free(s2);
	free(s3);
	free(label);
}

static void
test_stats(void)
{
	double		v[] = {1, 2, 3, 4, 5};
	double		w[] = {1, 2, 3, 4, 100};
	double		c[] = {5, 5, 5, 5, 9};
	double		k[] = {7, 7, 7};
	double		s[5];
	double		work[5];
	double		mean;
	double		sd;
	double		sorted[] = {1, 2, 3, 4};

	StatsMeanStd(v, 5, &mean, &sd);
	UNIT_CHECK(mean == 3.0 && near(sd, sqrt(2.5), 1e-12), "mean 3 and sample sd sqrt(2.5)");
	UNIT_CHECK(near(StatsQuantileSorted(sorted, 4, 0.5), 2.5, 1e-12), "median of 1..4 is 2.5");
	UNIT_CHECK(near(StatsQuantileSorted(sorted, 4, 0.25), 1.75, 1e-12), "Q1 of 1..4 is 1.75 (linear)");
	UNIT_CHECK(near(StatsQuantileSorted(sorted, 4, 1.0), 4.0, 0.0), "quantile 1 is the maximum");

	StatsZScores(v, 5, s);
	UNIT_CHECK(near(s[4], 2.0 / sqrt(2.5), 1e-12) && s[2] == 0.0, "z-score of 5 in 1..5 is 2/sqrt(2.5)");
	StatsZScores(k, 3, s);
	UNIT_CHECK(s[0] == 0.0 && s[2] == 0.0, "a constant column has z-score 0");

	StatsMadScores(w, 5, s, work);
	UNIT_CHECK(near(s[4], 0.6745 * 97.0, 1e-9), "modified z-score of 100 is 0.6745 * 97");
	UNIT_CHECK(near(s[0], 0.6745 * 2.0, 1e-9), "modified z-score of 1 is 0.6745 * 2");
	StatsMadScores(c, 5, s, work);
	UNIT_CHECK(near(s[4], 4.0 / (1.253314 * 0.8), 1e-9) && s[0] == 0.0,
			   "MAD 0 falls back to the mean absolute deviation");
	StatsMadScores(k, 3, s, work);
	UNIT_CHECK(s[1] == 0.0, "a constant column has modified z-score 0");

	StatsIqrScores(v, 5, s, work);
	UNIT_CHECK(near(s[4], 0.5, 1e-12) && near(s[0], 0.5, 1e-12) && s[2] == 0.0,
			   "IQR distance of 1 and 5 in 1..5 is 0.5");
	StatsIqrScores(w, 5, s, work);
	UNIT_CHECK(near(s[4], 48.0, 1e-12), "IQR distance of 100 is (100 - 4) / 2");
	StatsIqrScores(c, 5, s, work);
	UNIT_CHECK(isinf(s[4]) && s[0] == 0.0, "IQR 0: values outside the box score infinity");
}

int
main(void)
{
	test_rng();
	test_c();
	test_path_lengths();
	test_forest();
	test_stats();
	return unit_done();
}
