/*-------------------------------------------------------------------------
 *
 * src/quality/profstats.c
 *		HyperLogLog distinct counting and streaming moments for etl.profile.
 *
 * HyperLogLog (Flajolet et al. 2007) with 2^14 six-bit registers kept in
 * bytes, the small-range correction by linear counting, and a 64-bit hash so
 * no large-range correction is needed.  The caller hashes each value with the
 * type's extended hash function; QHllMix (the murmur3 finaliser) spreads
 * weak hashes (integers hash to themselves in places).
 *
 * Moments use Terriberry's one-pass update, numerically stable for large
 * means, and QMomentsSummarize reproduces pandas' var/std (ddof = 1),
 * skew() and kurt() formulas, including their NaN cases (too few values)
 * and their "zero variance gives 0" rule.
 *
 * Pure C: no PostgreSQL headers (test/unit/test_quality_stats.c).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "quality/profstats.h"

/*
 * QHllInit
 *		An empty sketch: every register 0, which QHllEstimate reads as
 *		no value (linear counting gives 0). Merging takes the
 *		register-wise maximum, so an empty sketch is the identity of a
 *		merge.
 */
void
QHllInit(QHll *h)
{
	memset(h->reg, 0, sizeof(h->reg));
}

/*
 * QHllMix
 *		The 64-bit finaliser of MurmurHash3 (fmix64): spreads the bits
 *		of a hash so that its top QHLL_P bits (the register) and the
 *		rest (the rank) are independent. QHllAdd applies it to every
 *		hash it is given, so the error bound does not depend on the
 *		quality of the caller's hash (a type's extended hash function,
 *		or hash_bytes_extended of an output string).
 */
uint64_t
QHllMix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

/*
 * QHllAdd
 *		Adds one hashed value: the top QHLL_P bits of the mixed hash
 *		choose the register, which keeps the largest rank (position of
 *		the first 1 bit) seen. A sentinel bit bounds the rank, so a
 *		hash whose remaining bits are all zero cannot overflow it.
 *		Adding the same value twice changes nothing, which is what
 *		makes the count a distinct count.
 */
void
QHllAdd(QHll *h, uint64_t hash)
{
	uint64_t	x = QHllMix(hash);
	uint32_t	idx = (uint32_t) (x >> (64 - QHLL_P));
	uint64_t	rest = (x << QHLL_P) | (UINT64_C(1) << (QHLL_P - 1));	/* sentinel bit */
	uint8_t		rank = 1;

#if defined(__GNUC__)
	rank = (uint8_t) (__builtin_clzll(rest) + 1);	/* rest is never 0: the sentinel */
#else
	while (!(rest & UINT64_C(0x8000000000000000)))
	{
		rank++;
		rest <<= 1;
	}
#endif
	if (rank > h->reg[idx])
		h->reg[idx] = rank;
}

/*
 * QHllEstimate
 *		The distinct count estimate: the harmonic-mean estimator of
 *		Flajolet et al., with linear counting over the empty registers
 *		while the estimate is below 2.5 m, where the raw estimator is
 *		biased. Standard error about 0.8% with 2^14 registers.
 */
double
QHllEstimate(const QHll *h)
{
	double		m = (double) QHLL_M;
	double		alpha = 0.7213 / (1.0 + 1.079 / m);
	double		sum = 0.0;
	int			zeros = 0;
	double		e;

	for (int i = 0; i < QHLL_M; i++)
	{
		sum += ldexp(1.0, -(int) h->reg[i]);
		if (h->reg[i] == 0)
			zeros++;
	}
	e = alpha * m * m / sum;
	if (e <= 2.5 * m && zeros > 0)
		e = m * log(m / (double) zeros);	/* linear counting */
	return e;
}

/*
 * QMomentsInit
 *		An empty accumulator (n = 0, all sums 0), which is also the
 *		identity of QMomentsCombine.
 */
void
QMomentsInit(QMoments *m)
{
	memset(m, 0, sizeof(*m));
}

/*
 * QMomentsAdd
 *		Adds one value with Terriberry's extension of Welford's
 *		update: the mean and the central sums M2..M4 are updated from
 *		the deviation of the new value, in one pass and without the
 *		cancellation that summing powers of x would cause on large or
 *		offset data. The update order (m4, then m3, then m2) matters:
 *		each uses the previous values of the lower sums.
 */
void
QMomentsAdd(QMoments *m, double x)
{
	double		n1 = m->n;
	double		n,
				delta,
				delta_n,
				delta_n2,
				term1;

	m->n += 1.0;
	n = m->n;
	delta = x - m->mean;
	delta_n = delta / n;
	delta_n2 = delta_n * delta_n;
	term1 = delta * delta_n * n1;
	m->mean += delta_n;
	m->m4 += term1 * delta_n2 * (n * n - 3.0 * n + 3.0) + 6.0 * delta_n2 * m->m2 - 4.0 * delta_n * m->m3;
	m->m3 += term1 * delta_n * (n - 2.0) - 3.0 * delta_n * m->m2;
	m->m2 += term1;
}

/*
 * QMomentsCombine
 *		Merge b into a (Chan, Golub and LeVeque; Pebay 2008 for M3, M4), so
 *		partial aggregates of a parallel scan give the one-pass result.
 */
void
QMomentsCombine(QMoments *a, const QMoments *b)
{
	double		na = a->n,
				nb = b->n,
				n,
				d,
				d2,
				d3,
				d4;
	QMoments	r;

	if (nb == 0)
		return;
	if (na == 0)
	{
		*a = *b;
		return;
	}
	n = na + nb;
	d = b->mean - a->mean;
	d2 = d * d;
	d3 = d2 * d;
	d4 = d2 * d2;
	r.n = n;
	r.mean = a->mean + d * nb / n;
	r.m2 = a->m2 + b->m2 + d2 * na * nb / n;
	r.m3 = a->m3 + b->m3 + d3 * na * nb * (na - nb) / (n * n)
		+ 3.0 * d * (na * b->m2 - nb * a->m2) / n;
	r.m4 = a->m4 + b->m4 + d4 * na * nb * (na * na - na * nb + nb * nb) / (n * n * n)
		+ 6.0 * d2 * (na * na * b->m2 + nb * nb * a->m2) / (n * n)
		+ 4.0 * d * (na * b->m3 - nb * a->m3) / n;
	*a = r;
}

/* pandas' _zero_out_fperr: treat floating-point noise as zero */
static double
qstats_zero_fperr(double x)
{
	return fabs(x) < 1e-14 ? 0.0 : x;
}

/*
 * QMomentsSummarize
 *		Turns the central sums into the statistics pandas reports:
 *		sample variance (ddof = 1), stddev, adjusted Fisher-Pearson
 *		skewness and bias-corrected excess kurtosis, each flagged as
 *		present only when n is large enough for it to be defined (1,
 *		2, 3, 4 values).
 *
 *		Floating-point noise in the sums is zeroed as pandas does, so
 *		a constant column gives skewness and kurtosis 0 rather than a
 *		huge ratio of tiny numbers; profile results compared with
 *		pandas depend on that.
 */
void
QMomentsSummarize(const QMoments *m, QMomentSummary *s)
{
	double		n = m->n;
	double		m2 = qstats_zero_fperr(m->m2);
	double		m3 = qstats_zero_fperr(m->m3);
	double		m4 = qstats_zero_fperr(m->m4);

	memset(s, 0, sizeof(*s));
	if (n >= 1)
	{
		s->has_mean = 1;
		s->mean = m->mean;
	}
	if (n >= 2)
	{
		s->has_variance = 1;
		s->variance = m->m2 / (n - 1.0);
		if (s->variance < 0)
			s->variance = 0;
		s->stddev = sqrt(s->variance);
	}
	if (n >= 3)
	{
		s->has_skewness = 1;
		s->skewness = (m2 == 0.0) ? 0.0
			: (n * sqrt(n - 1.0) / (n - 2.0)) * (m3 / pow(m2, 1.5));
	}
	if (n >= 4)
	{
		s->has_kurtosis = 1;
		if (m2 == 0.0)
			s->kurtosis = 0.0;
		else
		{
			double		adj = 3.0 * (n - 1.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0));
			double		numer = n * (n + 1.0) * (n - 1.0) * m4;
			double		denom = (n - 2.0) * (n - 3.0) * m2 * m2;

			s->kurtosis = numer / denom - adj;
		}
	}
}
