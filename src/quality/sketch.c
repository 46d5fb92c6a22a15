/*-------------------------------------------------------------------------
 *
 * src/quality/sketch.c
 *		KLL quantile sketch and drift statistics (see sketch.h).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "quality/sketch.h"

/* ------------------------------------------------------------ KLL */

static uint64_t
qkll_coin(QKll *s)
{
	/* xorshift64*: a fixed seed, so one input order gives one sketch */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (s->rng * 0x2545F4914F6CDD1DULL) >> 63;
}

/*
 * QKllInit
 *		An empty sketch of parameter k (at least 8, below which the
 *		level capacities degenerate) taking memory from a. The coin
 *		generator starts from a fixed seed so that one input order
 *		always gives one sketch, which keeps stored profiles and test
 *		results reproducible; min and max start at +/-infinity so the
 *		first value sets both.
 */
void
QKllInit(QKll *s, int k, const QSketchAlloc *a)
{
	memset(s, 0, sizeof(*s));
	s->k = k < 8 ? 8 : k;
	s->nlevels = 1;
	s->min = INFINITY;
	s->max = -INFINITY;
	s->rng = 0x9E3779B97F4A7C15ULL;
	s->a = a;
}

/* capacity of level h when the sketch has nlevels levels: k (2/3)^depth, at least 8 */
static void
qkll_limits(QKll *s)
{
	double		c = s->k;

	s->total_limit = 0;
	for (int h = s->nlevels - 1; h >= 0; h--)
	{
		s->limit[h] = c < 8 ? 8 : (int) c;
		s->total_limit += s->limit[h];
		c *= 2.0 / 3.0;
	}
	s->limit_levels = s->nlevels;
}

static void
qkll_reserve(QKll *s, int h, int need)
{
	double	   *grown;
	int			cap;

	if (need <= s->cap[h])
		return;
	cap = s->cap[h] ? s->cap[h] : 16;
	while (cap < need)
		cap *= 2;
	grown = s->a->alloc(sizeof(double) * cap, s->a->arg);
	if (s->len[h] > 0)
		memcpy(grown, s->items[h], sizeof(double) * s->len[h]);
	if (s->items[h] && s->a->release)
		s->a->release(s->items[h], s->a->arg);
	s->items[h] = grown;
	s->cap[h] = cap;
}

static int
qkll_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* insertion sort: stable (equal items keep their order) */
static inline void
qkll_isort(double *v, int n)
{
	for (int i = 1; i < n; i++)
	{
		double		x = v[i];
		int			j = i - 1;

		while (j >= 0 && v[j] > x)
		{
			v[j + 1] = v[j];
			j--;
		}
		v[j + 1] = x;
	}
}

#define QKLL_SORT_RUN 16
#define QKLL_SORT_STACK 2048

/*
 * Sort a level's items.  Low levels hold 8 to a few dozen items once the
 * sketch is deep, and are compacted every few values: insertion sort there.
 * Longer levels: a bottom-up merge sort with the comparisons inline (qsort's
 * call per comparison was a third of the cost of adding a value to two
 * sketches per row), in a stack buffer; qsort only beyond it (merges).
 * All of them are stable, so equal items (0 and -0) keep their order and
 * the sketch is the same whichever sort ran: items are never NaN.
 */
static void
qkll_sort(double *v, int n)
{
	double		buf[QKLL_SORT_STACK];
	double	   *src = v;
	double	   *dst = buf;

	if (n <= 32)
	{
		qkll_isort(v, n);
		return;
	}
	if (n > QKLL_SORT_STACK)
	{
		qsort(v, n, sizeof(double), qkll_cmp);
		return;
	}
	for (int i = 0; i < n; i += QKLL_SORT_RUN)
		qkll_isort(v + i, n - i < QKLL_SORT_RUN ? n - i : QKLL_SORT_RUN);
	for (int w = QKLL_SORT_RUN; w < n; w *= 2)
	{
		double	   *t;

		for (int lo = 0; lo < n; lo += 2 * w)
		{
			int			mid = lo + w < n ? lo + w : n;
			int			hi = lo + 2 * w < n ? lo + 2 * w : n;
			int			a = lo,
						b = mid,
						k = lo;

			/* the left run's item first when equal: stable */
			while (a < mid && b < hi)
				dst[k++] = src[b] < src[a] ? src[b++] : src[a++];
			while (a < mid)
				dst[k++] = src[a++];
			while (b < hi)
				dst[k++] = src[b++];
		}
		t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, sizeof(double) * n);
}

/* level h is full: every other item (sorted) moves to level h + 1 */
static void
qkll_compact(QKll *s, int h)
{
	int			n = s->len[h];
	int			keep = n % 2;	/* an odd item stays behind */
	int			offset = (int) qkll_coin(s);
	double	   *v = s->items[h];

	if (h + 1 >= QKLL_MAX_LEVELS)
		return;					/* 2^60 values: not reached */
	if (h + 1 == s->nlevels)
		s->nlevels++;
	qkll_sort(v, n);
	qkll_reserve(s, h + 1, s->len[h + 1] + (n - keep) / 2);
	for (int i = keep + offset; i < n; i += 2)
		s->items[h + 1][s->len[h + 1]++] = v[i];
	s->total -= n - keep - (n - keep) / 2;
	s->len[h] = keep;			/* an odd level keeps its smallest item, v[0] */
}

/* while the sketch holds more than its capacity, compact the lowest full level */
static void
qkll_compress(QKll *s)
{
	for (;;)
	{
		int			h;

		if (s->limit_levels != s->nlevels)
			qkll_limits(s);
		if (s->total <= s->total_limit)
			return;
		for (h = 0; h < s->nlevels; h++)
			if (s->len[h] >= s->limit[h])
				break;
		if (h == s->nlevels)
			return;
		qkll_compact(s, h);
	}
}

/* add v with weight 2^level (restoring or merging a sketch) */
void
QKllAddWeighted(QKll *s, double v, int level)
{
	if (isnan(v) || level < 0 || level >= QKLL_MAX_LEVELS)
		return;
	while (s->nlevels <= level)
		s->nlevels++;
	if (s->len[level] == s->cap[level])
		qkll_reserve(s, level, s->len[level] + 1);
	s->items[level][s->len[level]++] = v;
	s->total++;
	if (v < s->min)
		s->min = v;
	if (v > s->max)
		s->max = v;
	if (s->limit_levels != s->nlevels || s->total > s->total_limit)
		qkll_compress(s);
}

/*
 * QKllAdd
 *		Adds one value at weight 1. NaN is ignored here, not only by
 *		the callers, because a NaN would break the sort and
 *		comparisons that compaction and rank queries rely on. n counts
 *		the values added, which quantile and rank-error computations
 *		need, separately from the items held.
 */
void
QKllAdd(QKll *s, double v)
{
	if (isnan(v))
		return;
	s->n++;
	QKllAddWeighted(s, v, 0);
}

/*
 * QKllMerge
 *		Merges other into s: every item of other is added at its own
 *		level, then the usual compaction brings s back within
 *		capacity, so the merged sketch has the error bound of one
 *		sketch over both inputs. n, min and max are set from both
 *		sketches afterwards, because the items no longer contain every
 *		value (the true extremes may have been compacted away). Used
 *		by parallel combine functions and to pool stored profiles.
 */
void
QKllMerge(QKll *s, const QKll *other)
{
	uint64_t	n = s->n + other->n;
	double		mn = fmin(s->min, other->min);
	double		mx = fmax(s->max, other->max);

	for (int h = 0; h < other->nlevels; h++)
		for (int i = 0; i < other->len[h]; i++)
			QKllAddWeighted(s, other->items[h][i], h);
	s->n = n;
	s->min = mn;
	s->max = mx;
}

/*
 * QKllRetained
 *		The number of items the sketch holds over all levels (not the
 *		number of values it stands for, which is n): the measure of
 *		its memory, bounded by about 3k whatever the input size.
 */
int
QKllRetained(const QKll *s)
{
	int			total = 0;

	for (int h = 0; h < s->nlevels; h++)
		total += s->len[h];
	return total;
}

/* no compaction happened: every value is held at weight 1 */
bool
QKllExact(const QKll *s)
{
	return s->nlevels <= 1;
}

/*
 * The rank error bound of a sketch: 0 when exact, else 2.3 / k^0.9723 (the
 * two-sided 99% bound published for KLL sketches: 1.33% at k = 200), which
 * test_quality_sketch checks with a margin.
 */
double
QKllRankError(const QKll *s)
{
	return QKllExact(s) ? 0.0 : 2.3 / pow((double) s->k, 0.9723);
}

typedef struct QKllItem
{
	double		v;
	double		w;
} QKllItem;

static int
qkll_item_cmp(const void *a, const void *b)
{
	double		x = ((const QKllItem *) a)->v;
	double		y = ((const QKllItem *) b)->v;

	return (x > y) - (x < y);
}

/* the items sorted by value with their weights; *total is their weight */
static QKllItem *
qkll_sorted(const QKll *s, int *count, double *total)
{
	int			n = QKllRetained(s);
	QKllItem   *it = s->a->alloc(sizeof(QKllItem) * (n > 0 ? n : 1), s->a->arg);
	int			j = 0;

	*total = 0;
	for (int h = 0; h < s->nlevels; h++)
		for (int i = 0; i < s->len[h]; i++)
		{
			it[j].v = s->items[h][i];
			it[j].w = ldexp(1.0, h);
			*total += it[j].w;
			j++;
		}
	qsort(it, n, sizeof(QKllItem), qkll_item_cmp);
	*count = n;
	return it;
}

/* the value at quantile q (0..1); NaN for an empty sketch */
double
QKllQuantile(const QKll *s, double q)
{
	QKllItem   *it;
	int			n;
	double		total;
	double		target;
	double		cum = 0;
	double		result;

	if (s->n == 0)
		return NAN;
	if (q <= 0)
		return s->min;
	if (q >= 1)
		return s->max;
	it = qkll_sorted(s, &n, &total);
	if (QKllExact(s))
	{
		/* exact: linear interpolation between closest ranks (percentile_cont) */
		double		pos = q * (n - 1);
		int			lo = (int) floor(pos);
		int			hi = lo + 1 < n ? lo + 1 : lo;

		result = it[lo].v + (pos - lo) * (it[hi].v - it[lo].v);
	}
	else
	{
		target = q * total;
		result = it[n - 1].v;
		for (int i = 0; i < n; i++)
		{
			cum += it[i].w;
			if (cum >= target)
			{
				result = it[i].v;
				break;
			}
		}
	}
	if (s->a->release)
		s->a->release(it, s->a->arg);
	return result;
}

/* share of values <= x */
double
QKllCdf(const QKll *s, double x)
{
	double		w = 0;
	double		total = 0;

	if (s->n == 0)
		return NAN;
	for (int h = 0; h < s->nlevels; h++)
		for (int i = 0; i < s->len[h]; i++)
		{
			double		wi = ldexp(1.0, h);

			total += wi;
			if (s->items[h][i] <= x)
				w += wi;
		}
	return total > 0 ? w / total : NAN;
}

/*
 * QKllFree
 *		Releases the level arrays through the allocator when it has a
 *		release function (with an arena, as in the server's aggregate
 *		memory context, nothing is freed one by one) and leaves the
 *		sketch empty of items. k, n, min and max are kept.
 */
void
QKllFree(QKll *s)
{
	if (s->a && s->a->release)
		for (int h = 0; h < QKLL_MAX_LEVELS; h++)
			if (s->items[h])
				s->a->release(s->items[h], s->a->arg);
	memset(s->items, 0, sizeof(s->items));
	memset(s->len, 0, sizeof(s->len));
	memset(s->cap, 0, sizeof(s->cap));
	s->total = 0;
}

/* ------------------------------------------------------------ drift */

/*
 * Two-sample Kolmogorov-Smirnov statistic: the largest distance between
 * the two empirical distribution functions, evaluated at every retained
 * item of both sketches.
 */
double
QKsStatistic(const QKll *a, const QKll *b)
{
	int			na;
	int			nb;
	double		ta;
	double		tb;
	QKllItem   *ia;
	QKllItem   *ib;
	double		ca = 0;
	double		cb = 0;
	double		d = 0;
	int			i = 0;
	int			j = 0;

	if (a->n == 0 || b->n == 0)
		return NAN;
	ia = qkll_sorted(a, &na, &ta);
	ib = qkll_sorted(b, &nb, &tb);
	while (i < na || j < nb)
	{
		double		x = (j >= nb || (i < na && ia[i].v <= ib[j].v)) ? ia[i].v : ib[j].v;

		while (i < na && ia[i].v <= x)
			ca += ia[i++].w;
		while (j < nb && ib[j].v <= x)
			cb += ib[j++].w;
		if (fabs(ca / ta - cb / tb) > d)
			d = fabs(ca / ta - cb / tb);
	}
	if (a->a->release)
		a->a->release(ia, a->a->arg);
	if (b->a->release)
		b->a->release(ib, b->a->arg);
	return d;
}

/*
 * The asymptotic p-value of a two-sample KS statistic d with sample sizes
 * n1, n2: Q_KS(lambda) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 lambda^2) with
 * Stephens' small-sample correction lambda = (sqrt(ne) + 0.12 + 0.11 /
 * sqrt(ne)) d, ne = n1 n2 / (n1 + n2).
 */
double
QKsPValue(double d, double n1, double n2)
{
	double		ne;
	double		lambda;
	double		sum = 0;
	double		sign = 1;

	if (isnan(d) || n1 <= 0 || n2 <= 0)
		return NAN;
	if (d <= 0)
		return 1.0;
	ne = n1 * n2 / (n1 + n2);
	lambda = (sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * d;
	if (lambda < 0.2)
		return 1.0;				/* the series converges to 1 */
	for (int j = 1; j <= 100; j++)
	{
		double		term = sign * exp(-2.0 * j * j * lambda * lambda);

		sum += term;
		if (fabs(term) < 1e-12 * fabs(sum))
			break;
		sign = -sign;
	}
	sum *= 2.0;
	return sum < 0 ? 0 : (sum > 1 ? 1 : sum);
}

/* regularised lower incomplete gamma P(a, x), by its series (x < a + 1) */
static double
qgamma_series(double a, double x)
{
	double		sum = 1.0 / a;
	double		term = sum;

	for (int n = 1; n < 10000; n++)
	{
		term *= x / (a + n);
		sum += term;
		if (fabs(term) < fabs(sum) * 1e-15)
			break;
	}
	return sum * exp(-x + a * log(x) - lgamma(a));
}

/* regularised upper incomplete gamma Q(a, x), by Lentz's continued fraction (x >= a + 1) */
static double
qgamma_fraction(double a, double x)
{
	const double tiny = 1e-300;
	double		b = x + 1.0 - a;
	double		c = 1.0 / tiny;
	double		d = 1.0 / b;
	double		h = d;

	for (int i = 1; i < 10000; i++)
	{
		double		an = -i * (i - a);
		double		delta;

		b += 2.0;
		d = an * d + b;
		if (fabs(d) < tiny)
			d = tiny;
		c = b + an / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		delta = d * c;
		h *= delta;
		if (fabs(delta - 1.0) < 1e-15)
			break;
	}
	return exp(-x + a * log(x) - lgamma(a)) * h;
}

/* P(X >= stat) for a chi-square variable with df degrees of freedom */
double
QChi2PValue(double stat, double df)
{
	double		a = df / 2.0;
	double		x = stat / 2.0;

	if (isnan(stat) || df <= 0)
		return NAN;
	if (stat <= 0)
		return 1.0;
	if (x < a + 1.0)
		return 1.0 - qgamma_series(a, x);
	return qgamma_fraction(a, x);
}

/*
 * Chi-square test of homogeneity of two count vectors over the same n
 * categories (a 2 x n contingency table).  Categories empty in both are
 * left out; *df = (categories used - 1).  Returns the statistic.
 */
double
QChi2Homogeneity(const double *ref, const double *cur, int n, int *df)
{
	double		r = 0;
	double		c = 0;
	double		stat = 0;
	int			used = 0;

	for (int i = 0; i < n; i++)
	{
		r += ref[i];
		c += cur[i];
	}
	*df = 0;
	if (r <= 0 || c <= 0)
		return NAN;
	for (int i = 0; i < n; i++)
	{
		double		t = ref[i] + cur[i];
		double		er;
		double		ec;

		if (t <= 0)
			continue;
		used++;
		er = t * r / (r + c);
		ec = t * c / (r + c);
		stat += (ref[i] - er) * (ref[i] - er) / er + (cur[i] - ec) * (cur[i] - ec) / ec;
	}
	*df = used - 1;
	return stat;
}

/*
 * Population stability index of two distributions over the same bins
 * (shares or counts; each is normalised): sum (a - e) ln(a / e), with
 * empty bins floored at 0.0001 so that a bin seen on one side only counts
 * instead of dividing by zero.
 */
double
QPsi(const double *expected, const double *actual, int n)
{
	double		te = 0;
	double		ta = 0;
	double		psi = 0;

	for (int i = 0; i < n; i++)
	{
		te += expected[i];
		ta += actual[i];
	}
	if (te <= 0 || ta <= 0)
		return NAN;
	for (int i = 0; i < n; i++)
	{
		double		e = fmax(expected[i] / te, 1e-4);
		double		a = fmax(actual[i] / ta, 1e-4);

		psi += (a - e) * log(a / e);
	}
	return psi;
}
