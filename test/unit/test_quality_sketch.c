/*
 * test/unit/test_quality_sketch.c
 *		Unit tests of src/quality/sketch.c: the KLL sketch's rank error against
 *		exact ranks, merging, exactness for small inputs, and the drift
 *		statistics (KS, chi-square, PSI) against hand-checked values.
 */
#include <math.h>
#include <stdlib.h>

#include "unit.h"
#include "../../src/quality/sketch.c"

static void *
t_alloc(size_t size, void *arg)
{
	(void) arg;
	return malloc(size);
}

static void
t_release(void *p, void *arg)
{
	(void) arg;
	free(p);
}

static const QSketchAlloc talloc = {t_alloc, t_release, NULL};

static uint64_t t_state = 12345;

static double
t_uniform(void)
{
	t_state = t_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double) (t_state >> 11) / 9007199254740992.0;
}

static double
t_normal(void)
{
	double		u = t_uniform();
	double		v = t_uniform();

	return sqrt(-2.0 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

static int
t_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* the largest |estimated rank - true rank| / n over 99 quantiles */
static double
t_max_rank_error(const QKll *s, const double *sorted, int n)
{
	double		worst = 0;

	for (int p = 1; p < 100; p++)
	{
		double		v = QKllQuantile(s, p / 100.0);
		/* true rank interval of v: [first index >= v, first index > v] */
		int			lo = 0,
					hi = n;

		while (lo < hi)
		{
			int			mid = (lo + hi) / 2;

			if (sorted[mid] < v)
				lo = mid + 1;
			else
				hi = mid;
		}
		{
			int			first = lo;
			int			last;
			double		target = p / 100.0 * n;
			double		err;

			lo = first;
			hi = n;
			while (lo < hi)
			{
				int			mid = (lo + hi) / 2;

				if (sorted[mid] <= v)
					lo = mid + 1;
				else
					hi = mid;
			}
			last = lo;
			err = target < first ? first - target : (target > last ? target - last : 0);
			if (err / n > worst)
				worst = err / n;
		}
	}
	return worst;
}

static void
t_distribution(const char *name, int kind, int n)
{
	double	   *v = malloc(sizeof(double) * n);
	QKll		s;
	QKll		a;
	QKll		b;
	double		err;

	QKllInit(&s, QKLL_DEFAULT_K, &talloc);
	QKllInit(&a, QKLL_DEFAULT_K, &talloc);
	QKllInit(&b, QKLL_DEFAULT_K, &talloc);
	for (int i = 0; i < n; i++)
	{
		switch (kind)
		{
			case 0:
				v[i] = t_uniform() * 1000;
				break;
			case 1:
				v[i] = t_normal();
				break;
			case 2:
				v[i] = exp(3 * t_normal());	/* heavy right tail */
				break;
			case 3:
				v[i] = i;		/* sorted input */
				break;
			default:
				v[i] = (double) (i % 7);	/* few distinct values */
				break;
		}
		QKllAdd(&s, v[i]);
		QKllAdd(i % 2 ? &a : &b, v[i]);
	}
	qsort(v, n, sizeof(double), t_cmp);
	err = t_max_rank_error(&s, v, n);
	UNIT_CHECK(err <= 0.02, "%s, %d values: rank error %.4f <= 0.02 (bound %.4f), %d items kept",
			   name, n, err, QKllRankError(&s), QKllRetained(&s));
	UNIT_CHECK(QKllRetained(&s) < 1000, "%s: the sketch stays small (%d items)", name, QKllRetained(&s));
	QKllMerge(&a, &b);
	err = t_max_rank_error(&a, v, n);
	UNIT_CHECK(a.n == (uint64_t) n && err <= 0.025, "%s: two merged halves, rank error %.4f <= 0.025", name, err);
	UNIT_CHECK(QKllQuantile(&s, 0) == v[0] && QKllQuantile(&s, 1) == v[n - 1], "%s: min and max are exact", name);
	QKllFree(&s);
	QKllFree(&a);
	QKllFree(&b);
	free(v);
}

int
main(void)
{
	QKll		s;
	QKll		t;
	double		d;
	int			df;

	/* small inputs are exact: percentile_cont's interpolation */
	QKllInit(&s, QKLL_DEFAULT_K, &talloc);
	UNIT_CHECK(isnan(QKllQuantile(&s, 0.5)), "an empty sketch has no median");
	for (int i = 1; i <= 10; i++)
		QKllAdd(&s, i);
	UNIT_CHECK(QKllExact(&s) && QKllRankError(&s) == 0, "10 values: exact");
	UNIT_CHECK(QKllQuantile(&s, 0.5) == 5.5, "median of 1..10 is 5.5 (%g)", QKllQuantile(&s, 0.5));
	UNIT_CHECK(fabs(QKllQuantile(&s, 0.9) - 9.1) < 1e-9, "p90 of 1..10 is 9.1 (%g)", QKllQuantile(&s, 0.9));
	UNIT_CHECK(QKllCdf(&s, 3) == 0.3, "cdf(3) of 1..10 is 0.3");
	QKllAdd(&s, NAN);
	UNIT_CHECK(s.n == 10, "NaN is not added");
	QKllFree(&s);

	t_distribution("uniform", 0, 500000);
	t_distribution("normal", 1, 500000);
	t_distribution("log-normal", 2, 500000);
	t_distribution("sorted", 3, 500000);
	t_distribution("seven values", 4, 200000);

	/* KS: the same distribution, a shifted one */
	QKllInit(&s, QKLL_DEFAULT_K, &talloc);
	QKllInit(&t, QKLL_DEFAULT_K, &talloc);
	for (int i = 0; i < 100000; i++)
	{
		QKllAdd(&s, t_normal());
		QKllAdd(&t, t_normal());
	}
	d = QKsStatistic(&s, &t);
	UNIT_CHECK(d < 0.03, "same distribution: KS statistic %.4f < 0.03", d);
	QKllFree(&t);
	QKllInit(&t, QKLL_DEFAULT_K, &talloc);
	for (int i = 0; i < 100000; i++)
		QKllAdd(&t, t_normal() + 0.5);
	d = QKsStatistic(&s, &t);
	/* Phi(0.25) - Phi(-0.25) = 0.1974 */
	UNIT_CHECK(fabs(d - 0.1974) < 0.03, "shift of 0.5 sd: KS statistic %.4f near 0.1974", d);
	UNIT_CHECK(QKsPValue(d, 100000, 100000) < 1e-6, "and its p-value is tiny");
	QKllFree(&s);
	QKllFree(&t);

	/* KS p-values (scipy.stats.kstwobign.sf(sqrt(ne) * d) for large n) */
	UNIT_CHECK(fabs(QKsPValue(0.05, 500, 500) - 0.5441) < 0.01, "p(D=0.05, 500, 500) = %.4f, near 0.544", QKsPValue(0.05, 500, 500));
	UNIT_CHECK(fabs(QKsPValue(0.1, 500, 500) - 0.0127) < 0.003, "p(D=0.1, 500, 500) = %.4f, near 0.0127", QKsPValue(0.1, 500, 500));
	UNIT_CHECK(QKsPValue(0, 10, 10) == 1.0, "D = 0: p = 1");

	/* chi-square p-values (scipy.stats.chi2.sf) */
	UNIT_CHECK(fabs(QChi2PValue(3.841459, 1) - 0.05) < 1e-5, "chi2 3.84 df 1: p = 0.05 (%.6f)", QChi2PValue(3.841459, 1));
	UNIT_CHECK(fabs(QChi2PValue(18.307, 10) - 0.05) < 1e-4, "chi2 18.31 df 10: p = 0.05 (%.6f)", QChi2PValue(18.307, 10));
	UNIT_CHECK(fabs(QChi2PValue(1.0, 4) - 0.909796) < 1e-5, "chi2 1 df 4: p = 0.9098 (%.6f)", QChi2PValue(1.0, 4));
	UNIT_CHECK(QChi2PValue(500, 3) < 1e-100, "a large statistic: p ~ 0");
	{
		double		ref[] = {50, 30, 20};
		double		same[] = {500, 300, 200};
		double		other[] = {20, 30, 50};

		d = QChi2Homogeneity(ref, same, 3, &df);
		UNIT_CHECK(fabs(d) < 1e-9 && df == 2, "proportional counts: statistic 0, df 2");
		d = QChi2Homogeneity(ref, other, 3, &df);
		/* scipy.stats.chi2_contingency([[50,30,20],[20,30,50]]): 25.714 */
		UNIT_CHECK(fabs(d - 25.714286) < 1e-4, "swapped shares: statistic %.4f = 25.7143", d);
	}

	/* PSI: identical 0; 10 bins vs a shifted distribution */
	{
		double		e[] = {10, 10, 10, 10, 10, 10, 10, 10, 10, 10};
		double		a[] = {5, 5, 10, 10, 10, 10, 10, 10, 15, 15};
		double		z[] = {0, 20, 10, 10, 10, 10, 10, 10, 10, 10};

		UNIT_CHECK(fabs(QPsi(e, e, 10)) < 1e-12, "identical distributions: PSI 0");
		/* 2 (0.05 - 0.1) ln 0.5 + 2 (0.15 - 0.1) ln 1.5 = 0.06931 + 0.04055 */
		UNIT_CHECK(fabs(QPsi(e, a, 10) - 0.109861) < 1e-5, "PSI %.6f = 0.109861", QPsi(e, a, 10));
		UNIT_CHECK(isfinite(QPsi(e, z, 10)) && QPsi(e, z, 10) > 0.5, "an empty bin counts, finite (%.3f)", QPsi(e, z, 10));
	}

	return unit_done();
}
