/*
 * test/unit/test_quality_stats.c
 *		Unit tests of src/quality/profstats.c: HyperLogLog and pandas-style moments.
 */
#include <math.h>

#include "unit.h"
#include "../../src/quality/profstats.c"

static int
close_to(double a, double b, double tol)
{
	return fabs(a - b) <= tol;
}

int
main(void)
{
	static QHll h;
	QMoments	m;
	QMomentSummary s;
	const double data[] = {1, 2, 3, 4, 10};

	QHllInit(&h);
	UNIT_CHECK(QHllEstimate(&h) == 0.0, "an empty sketch estimates 0");
	for (uint64_t i = 0; i < 1000; i++)
		QHllAdd(&h, i);
	UNIT_CHECK(close_to(QHllEstimate(&h), 1000, 20), "1000 values estimate within 2%% (%.1f)", QHllEstimate(&h));
	for (uint64_t i = 0; i < 1000; i++)
		QHllAdd(&h, i);
	UNIT_CHECK(close_to(QHllEstimate(&h), 1000, 20), "repeated values do not grow the estimate");
	for (uint64_t i = 1000; i < 1000000; i++)
		QHllAdd(&h, i * 7919);
	UNIT_CHECK(close_to(QHllEstimate(&h), 1000000, 30000), "a million values estimate within 3%% (%.0f)", QHllEstimate(&h));

	QMomentsInit(&m);
	QMomentsSummarize(&m, &s);
	UNIT_CHECK(!s.has_mean && !s.has_variance, "no values: no mean, no variance");
	QMomentsAdd(&m, 5);
	QMomentsSummarize(&m, &s);
	UNIT_CHECK(s.has_mean && s.mean == 5 && !s.has_variance, "one value: mean, no sample variance");

	QMomentsInit(&m);
	for (int i = 0; i < 5; i++)
		QMomentsAdd(&m, data[i]);
	QMomentsSummarize(&m, &s);
	UNIT_CHECK(close_to(s.mean, 4.0, 1e-12), "mean of 1,2,3,4,10 is 4");
	UNIT_CHECK(close_to(s.variance, 12.5, 1e-12), "sample variance is 12.5");
	UNIT_CHECK(close_to(s.skewness, 1.6970562748477143, 1e-9), "skewness as pandas (%.12f)", s.skewness);
	UNIT_CHECK(close_to(s.kurtosis, 3.152, 1e-9), "excess kurtosis as pandas (%.12f)", s.kurtosis);

	QMomentsInit(&m);
	for (int i = 0; i < 10; i++)
		QMomentsAdd(&m, 1e9 + 7);
	QMomentsSummarize(&m, &s);
	UNIT_CHECK(s.variance == 0 && s.skewness == 0 && s.kurtosis == 0,
			   "constant column: zero variance, skew and kurtosis 0 (as pandas)");

	QMomentsInit(&m);
	for (int i = 0; i < 1000; i++)
		QMomentsAdd(&m, 1e9 + (i % 2));
	QMomentsSummarize(&m, &s);
	UNIT_CHECK(close_to(s.variance, 0.25025025025, 1e-6), "large mean stays accurate (%.9f)", s.variance);

	{
		QMoments	whole,
					left,
					right;
		QMomentSummary sw,
					sc;

		QMomentsInit(&whole);
		QMomentsInit(&left);
		QMomentsInit(&right);
		for (int i = 0; i < 1000; i++)
		{
			double		x = (i * 37) % 101 + (i % 7) * 0.5;

			QMomentsAdd(&whole, x);
			QMomentsAdd(i < 300 ? &left : &right, x);
		}
		QMomentsCombine(&left, &right);
		QMomentsSummarize(&whole, &sw);
		QMomentsSummarize(&left, &sc);
		UNIT_CHECK(left.n == 1000 && close_to(sc.mean, sw.mean, 1e-9) && close_to(sc.variance, sw.variance, 1e-7),
				   "combining partial moments gives the one-pass mean and variance");
		UNIT_CHECK(close_to(sc.skewness, sw.skewness, 1e-9) && close_to(sc.kurtosis, sw.kurtosis, 1e-9),
				   "combining partial moments gives the one-pass skewness and kurtosis");
		QMomentsInit(&right);
		QMomentsCombine(&left, &right);
		UNIT_CHECK(left.n == 1000, "combining with an empty state changes nothing");
	}

	return unit_done();
}
