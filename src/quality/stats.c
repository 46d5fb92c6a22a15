/*-------------------------------------------------------------------------
 *
 * src/quality/stats.c
 *		z-score, modified z-score (MAD) and IQR-distance scores of a column.
 *
 * zscore: |x - mean| / s with the sample standard deviation (n - 1, as
 *   pandas); a constant column scores 0 everywhere.
 * mad:    |0.6745 (x - median) / MAD|, MAD the median absolute deviation
 *   (Iglewicz and Hoaglin).  When MAD is 0 (more than half the values are
 *   equal) the mean absolute deviation takes its place with the factor
 *   1.253314: |x - median| / (1.253314 * MeanAD), MeanAD the mean absolute
 *   deviation from the median; both 0 means a constant
 *   column, which scores 0.
 * iqr:    how many IQRs a value lies outside the box [Q1, Q3]:
 *   max(0, (Q1 - x) / IQR, (x - Q3) / IQR), quartiles with linear
 *   interpolation (pandas, percentile_cont).  A value is an outlier for
 *   Tukey's fences with factor k exactly when its score exceeds k.  When
 *   IQR is 0, values outside [Q1, Q3] score +Infinity.
 *
 * Pure C (no PostgreSQL headers).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quality/stats.h"

/* mean and sample standard deviation (0 when n < 2), two passes */
void
StatsMeanStd(const double *v, size_t n, double *mean, double *sd)
{
	double		sum = 0.0;
	double		ss = 0.0;
	double		m;

	for (size_t i = 0; i < n; i++)
		sum += v[i];
	m = n > 0 ? sum / (double) n : 0.0;
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - m) * (v[i] - m);
	*mean = m;
	*sd = n > 1 ? sqrt(ss / (double) (n - 1)) : 0.0;
}

static int
stats_cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * StatsSort
 *		Sorts n doubles ascending in place (the input has no NaN, see
 *		stats.h), for StatsQuantileSorted and the robust scorers
 *		below.
 */
void
StatsSort(double *v, size_t n)
{
	qsort(v, n, sizeof(double), stats_cmp_double);
}

/* quantile q in [0, 1] of sorted values, linear interpolation between ranks */
double
StatsQuantileSorted(const double *sorted, size_t n, double q)
{
	double		h;
	size_t		lo;

	if (n == 0)
		return NAN;
	h = (double) (n - 1) * q;
	lo = (size_t) floor(h);
	if (lo + 1 >= n)
		return sorted[n - 1];
	return sorted[lo] + (h - (double) lo) * (sorted[lo + 1] - sorted[lo]);
}

/*
 * StatsZScores
 *		The classical score |v - mean| / sd (sample standard
 *		deviation) of the zscore outlier method. A constant column (sd
 *		= 0) scores 0 everywhere rather than dividing by zero: no
 *		value stands out of it.
 */
void
StatsZScores(const double *v, size_t n, double *scores)
{
	double		mean;
	double		sd;

	StatsMeanStd(v, n, &mean, &sd);
	for (size_t i = 0; i < n; i++)
		scores[i] = sd > 0.0 ? fabs(v[i] - mean) / sd : 0.0;
}

/*
 * StatsMadScores
 *		The modified z-score of Iglewicz and Hoaglin, |v - median| /
 *		(MAD / 0.6745), for the mad method: robust, because neither
 *		median nor MAD moves much when the outliers themselves are
 *		extreme.
 *
 *		When more than half the values are equal the MAD is 0; the
 *		mean absolute deviation (times 1.2533) takes its place, the
 *		standard fallback for a zero MAD, so the few values that
 *		differ still score above 0 instead of infinity.
 */
void
StatsMadScores(const double *v, size_t n, double *scores, double *work)
{
	double		median;
	double		mad;
	double		scale;

	memcpy(work, v, sizeof(double) * n);
	StatsSort(work, n);
	median = StatsQuantileSorted(work, n, 0.5);
	for (size_t i = 0; i < n; i++)
		work[i] = fabs(v[i] - median);
	StatsSort(work, n);
	mad = StatsQuantileSorted(work, n, 0.5);

	if (mad > 0.0)
		scale = mad / STATS_MAD_FACTOR;
	else
	{
		double		sum = 0.0;

		for (size_t i = 0; i < n; i++)
			sum += work[i];
		scale = STATS_MEANAD_FACTOR * (sum / (double) n);
	}
	for (size_t i = 0; i < n; i++)
		scores[i] = scale > 0.0 ? fabs(v[i] - median) / scale : 0.0;
}

/*
 * StatsIqrScores
 *		The iqr method's score: how far a value lies outside [Q1, Q3],
 *		in multiples of the interquartile range, 0 inside it; the
 *		rule's threshold (1.5 for Tukey's fences) then applies
 *		directly. With an IQR of 0 any value outside the quartiles
 *		scores infinity, since it differs from the bulk of identical
 *		values.
 */
void
StatsIqrScores(const double *v, size_t n, double *scores, double *work)
{
	double		q1;
	double		q3;
	double		iqr;

	memcpy(work, v, sizeof(double) * n);
	StatsSort(work, n);
	q1 = StatsQuantileSorted(work, n, 0.25);
	q3 = StatsQuantileSorted(work, n, 0.75);
	iqr = q3 - q1;
	for (size_t i = 0; i < n; i++)
	{
		double		below = q1 - v[i];
		double		above = v[i] - q3;
		double		out = below > above ? below : above;

		if (out <= 0.0)
			scores[i] = 0.0;
		else
			scores[i] = iqr > 0.0 ? out / iqr : INFINITY;
	}
}
