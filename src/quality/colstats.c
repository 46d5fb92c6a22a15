/*-------------------------------------------------------------------------
 *
 * src/quality/colstats.c
 *		etl._colstats(int4[], VARIADIC "any") → jsonb: the aggregate rules
 *		of one scope fused into ONE aggregate call per row.
 *
 * A gate with ten aggregate rules used to add ten aggregates to the one
 * scan, and PostgreSQL spends about 20-30 ns per aggregate per row on the
 * call alone (measured: nine count/min/sum aggregates of bigints cost 240 ms
 * on 10^6 rows, the work in them a fraction of it), so the aggregate rules
 * cost more than the twenty row rules together.  scan.c instead gives each
 * column the rules need one argument of this aggregate, with a flag word
 * saying what to compute (QCS_* in scan.h), and reads each rule's value off
 * the result, one object per argument:
 *
 *   {"n": non-NULL values, "min", "max", "sum", "mean", "stddev", "hll", "kll"}
 *
 * Each statistic is computed as the aggregate it replaces computes it, so a
 * rule's observed value does not change:
 *   - min/max of integers and numerics (numeric_cmp order: NaN above all);
 *   - sum/mean through PostgreSQL's own transition functions of
 *     avg(int8) and avg(numeric) (int8_avg_accum, numeric_avg_accum: exact,
 *     int128 or numeric arithmetic), called directly with this aggregate's
 *     context; sum(int4) gives the same number as a numeric; a numeric
 *     of at most 16 digits is added as an integer at the sum's scale
 *     (qcs_fast_sum), which gives numeric_sum's exact sum and scale without
 *     numeric arithmetic per row;
 *   - stddev in float8 with float8_accum's Youngs-Cramer update (the
 *     stddev_samp(x::float8) that scan.c used for numeric and bigint);
 *   - kll: the sketch of etl._kll (sketchagg.c) of the value as float8,
 *     numerics converted by QualityNumericToFloat8 once per row for every
 *     statistic that needs a double;
 *   - hll: the registers of etl._hll_distinct, hashed by the same
 *     QualityHllHash (aggs.c), so estimates agree;
 *   - exact quantiles: every non-NaN value as the same float8 (QCS_VALUES),
 *     and at the end the quantiles of etl._quantiles (QualityExactQuantiles,
 *     sketchagg.c), one list per requested set of fractions under "q" of
 *     the result: the exact median and quantile rules no longer add an
 *     aggregate call and a conversion per row each.
 * A numeric's conversion also screens min/max: rounding to double is
 * monotone, so a value whose double lies strictly between those of the
 * current min and max is neither, and only the rest are compared exactly.
 *
 * No input row (or none passing the FILTER) leaves the state NULL and the
 * result NULL; scan.c's references supply each statistic's empty value.
 * The aggregate has combine, serialise and deserialise functions, so the
 * scan stays parallel.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "quality/quality.h"
#include "quality/profstats.h"
#include "quality/scan.h"
#include "quality/sketch.h"
#include "quality/valtab.h"

PG_FUNCTION_INFO_V1(metaetl_colstats_sfunc);
PG_FUNCTION_INFO_V1(metaetl_colstats_final);
PG_FUNCTION_INFO_V1(metaetl_colstats_combine);
PG_FUNCTION_INFO_V1(metaetl_colstats_serial);
PG_FUNCTION_INFO_V1(metaetl_colstats_deserial);

/* the exact sum of small numerics (qcs_fast_sum): 128 bits where the compiler has them */
#ifdef HAVE_INT128
typedef int128 QcsAcc;
#define QCS_ACC_LIMIT (((QcsAcc) 1) << 124)
#else
typedef int64 QcsAcc;
#define QCS_ACC_LIMIT (((QcsAcc) 1) << 61)
#endif

/*
 * A text column's first QCS_SMALL distinct values of at most 16 bytes, and
 * how many more times each was seen (qcs_small_hit).  A column like
 * country or status has a handful of values: a row whose value is here
 * costs a 16-byte compare or a few instead of hashing it, the HyperLogLog
 * update (which the value's first row made already: adding it again
 * changes nothing) and the value-count probes; the counts go to the value
 * tables before the state is read (qcs_small_flush), so the results are
 * the same.  A column with more values turns it off.
 */
#define QCS_SMALL 8

typedef struct QcsSmall
{
	uint64		key[2];			/* the bytes, zero-padded */
	int32		len;
	int64		pending;		/* rows since, not yet in the value tables */
	Datum		value;			/* a copy, in the aggregate context */
} QcsSmall;

typedef struct QcsCol
{
	int32		flags;			/* QCS_* */
	char		kind;			/* 'i' int2/4/8, 'n' numeric, 'f' float4/8, 'o' other */
	Oid			type;			/* the argument's type */
	Oid			base;			/* its base type */
	Oid			collation;
	int64		n;				/* non-NULL values */
	bool		has_mm;
	int64		imin,
				imax;
	Datum		nmin,			/* numerics, in the aggregate context */
				nmax;
	double		dmin,			/* their doubles (the screen) */
				dmax;
	void	   *sum;			/* avg(int8)'s or avg(numeric)'s transition state */
	QcsAcc		facc;			/* numerics: the exact sum of the small ones (qcs_fast_sum) */
	int32		fscale;			/* its decimal scale, -1 before the first */
	int64		fn;				/* values in facc */
	int64		slow_n;			/* finite values in sum */
	double		N,				/* float8_accum's */
				Sx,
				Sxx;
	double	   *vals;			/* QCS_VALUES: the non-NaN values, as etl._quantiles keeps them */
	int64		nvals,
				capvals;
	QSketchAlloc alloc;
	QKll	   *kll;
	QHll	   *hll;
	bool		hasher_ready;
	QualityHllHasher hasher;
	bool		hashed;			/* this row's value has hash (bytes): for the value counts */
	uint64		hash;
	/* the few-values cache (qcs_small_hit) */
	char		small_state;	/* 0 not decided yet, 'y' in use, 'n' not */
	bool		small_hit;		/* this row's value was counted there */
	int			small_n;
	QcsSmall	small[QCS_SMALL];
} QcsCol;

/* an etl._freq of one column (valtab.c) */
typedef struct QcsFreq
{
	int32		col;			/* its column */
	int32		top_n;
	int32		refarg;			/* the argument holding the ref array, -1 none */
	QFreqState *st;
} QcsFreq;

/* exact quantiles of one column (etl._quantiles of its QCS_VALUES) */
typedef struct QcsQuant
{
	int32		col;
	int32		refarg;			/* the argument holding the float8[] of fractions */
	int			nq;
	double	   *q;
} QcsQuant;

typedef struct QcsState
{
	int			ncols;
	QcsCol	   *cols;
	int			nfreq;
	QcsFreq    *freq;
	int			nquant;
	QcsQuant   *quant;
} QcsState;

static MemoryContext
qcs_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext cxt;

	if (!AggCheckCallContext(fcinfo, &cxt))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return cxt;
}

static void *
qcs_alloc(size_t size, void *arg)
{
	return MemoryContextAllocHuge((MemoryContext) arg, size);
}

static void
qcs_release(void *p, void *arg)
{
	pfree(p);
}

/*
 * Call one of PostgreSQL's aggregate support functions (avg's transition,
 * combine, serialise, final) with this aggregate's call context, which they
 * check with AggCheckCallContext and allocate their state in.
 */
static Datum
qcs_call(PGFunction fn, FunctionCallInfo outer, int nargs, Datum a0, bool n0, Datum a1, bool n1, bool *isnull)
{
	LOCAL_FCINFO(fc, 2);
	Datum		r;

	InitFunctionCallInfoData(*fc, NULL, nargs, InvalidOid, outer->context, NULL);
	fc->args[0].value = a0;
	fc->args[0].isnull = n0;
	fc->args[1].value = a1;
	fc->args[1].isnull = n1;
	r = fn(fc);
	if (isnull)
		*isnull = fc->isnull;
	return r;
}

static char
qcs_kind(Oid type)
{
	Oid			base = getBaseType(type);

	if (base == INT2OID || base == INT4OID || base == INT8OID)
		return 'i';
	if (base == NUMERICOID)
		return 'n';
	if (base == FLOAT4OID || base == FLOAT8OID)
		return 'f';
	return 'o';
}

static void
qcs_col_init(QcsCol *c, int32 flags, char kind, Oid type, Oid collation, MemoryContext cxt)
{
	memset(c, 0, sizeof(*c));
	c->flags = flags;
	c->kind = kind;
	c->type = type;
	c->fscale = -1;
	c->base = getBaseType(type);
	c->collation = collation;
	if ((flags & (QCS_MINMAX | QCS_SUM | QCS_VAR | QCS_KLL | QCS_VALUES)) && kind == 'o')
		elog(ERROR, "etl._colstats: numeric statistics of a column of type %s", format_type_be(type));
	if ((flags & (QCS_MINMAX | QCS_SUM)) && kind == 'f')
		elog(ERROR, "etl._colstats: exact statistics of a float column");
	c->alloc.alloc = qcs_alloc;
	c->alloc.release = qcs_release;
	c->alloc.arg = cxt;
	if (flags & QCS_KLL)
	{
		c->kll = MemoryContextAlloc(cxt, sizeof(QKll));
		QKllInit(c->kll, QKLL_DEFAULT_K, &c->alloc);
	}
	if (flags & QCS_HLL)
	{
		c->hll = MemoryContextAlloc(cxt, sizeof(QHll));
		QHllInit(c->hll);
	}
}

static QcsState *
qcs_state_new(MemoryContext cxt, int ncols, int nfreq, int nquant)
{
	QcsState   *st = MemoryContextAllocZero(cxt, sizeof(QcsState));

	st->ncols = ncols;
	st->cols = MemoryContextAllocZero(cxt, sizeof(QcsCol) * Max(ncols, 1));
	st->nfreq = nfreq;
	st->freq = MemoryContextAllocZero(cxt, sizeof(QcsFreq) * Max(nfreq, 1));
	st->nquant = nquant;
	st->quant = MemoryContextAllocZero(cxt, sizeof(QcsQuant) * Max(nquant, 1));
	return st;
}

/* etl._quantiles' check of the fractions: each in [0, 1], NULL the median */
static void
qcs_quant_set(QcsQuant *qq, ArrayType *a, MemoryContext cxt)
{
	Datum	   *d;
	bool	   *nulls;
	int			n;

	deconstruct_array(a, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &d, &nulls, &n);
	qq->q = MemoryContextAlloc(cxt, sizeof(double) * Max(n, 1));
	qq->nq = n;
	for (int i = 0; i < n; i++)
	{
		qq->q[i] = nulls[i] ? 0.5 : DatumGetFloat8(d[i]);
		if (!(qq->q[i] >= 0 && qq->q[i] <= 1))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a quantile must be between 0 and 1, not %g", qq->q[i])));
	}
}

static void
qcs_vals_push(QcsCol *c, const double *v, int64 n, MemoryContext cxt)
{
	if (c->nvals + n > c->capvals)
	{
		int64		cap = Max(c->capvals * 2, 1024);
		double	   *grown;

		while (cap < c->nvals + n)
			cap *= 2;
		grown = MemoryContextAllocHuge(cxt, sizeof(double) * cap);
		if (c->nvals > 0)
			memcpy(grown, c->vals, sizeof(double) * c->nvals);
		if (c->vals)
			pfree(c->vals);
		c->vals = grown;
		c->capvals = cap;
	}
	memcpy(c->vals + c->nvals, v, sizeof(double) * n);
	c->nvals += n;
}

/* a state shaped like other (flags and types), empty */
static QcsState *
qcs_state_like(MemoryContext cxt, const QcsState *other)
{
	QcsState   *st = qcs_state_new(cxt, other->ncols, other->nfreq, other->nquant);

	for (int i = 0; i < other->ncols; i++)
		qcs_col_init(&st->cols[i], other->cols[i].flags, other->cols[i].kind, other->cols[i].type,
					 other->cols[i].collation, cxt);
	for (int j = 0; j < other->nfreq; j++)
	{
		st->freq[j] = other->freq[j];
		st->freq[j].st = NULL;	/* QualityFreqCombine copies the shape */
	}
	for (int j = 0; j < other->nquant; j++)
	{
		st->quant[j] = other->quant[j];
		st->quant[j].q = MemoryContextAlloc(cxt, sizeof(double) * Max(other->quant[j].nq, 1));
		memcpy(st->quant[j].q, other->quant[j].q, sizeof(double) * other->quant[j].nq);
	}
	return st;
}

static Datum
qcs_copy_numeric(Datum v, MemoryContext cxt)
{
	struct varlena *src = PG_DETOAST_DATUM_PACKED(v);
	Size		len = VARSIZE_ANY(src);
	char	   *dst = MemoryContextAlloc(cxt, len);

	memcpy(dst, src, len);
	return PointerGetDatum(dst);
}

static void
qcs_set_min(QcsCol *c, Datum v, double d, MemoryContext cxt)
{
	if (c->nmin)
		pfree(DatumGetPointer(c->nmin));
	c->nmin = qcs_copy_numeric(v, cxt);
	c->dmin = d;
}

static void
qcs_set_max(QcsCol *c, Datum v, double d, MemoryContext cxt)
{
	if (c->nmax)
		pfree(DatumGetPointer(c->nmax));
	c->nmax = qcs_copy_numeric(v, cxt);
	c->dmax = d;
}

/* float8_accum's update (PostgreSQL 15, utils/adt/float.c) */
static inline void
qcs_var_add(QcsCol *c, double x)
{
	double		N = c->N,
				Sx = c->Sx,
				Sxx = c->Sxx,
				tmp;

	N += 1.0;
	Sx += x;
	if (c->N > 0.0)
	{
		tmp = x * N - Sx;
		Sxx += tmp * tmp / (N * c->N);
		if (isinf(Sx) || isinf(Sxx))
		{
			if (!isinf(c->Sx) && !isinf(x))
				float_overflow_error();
			Sxx = get_float8_nan();
		}
	}
	else if (isnan(x) || isinf(x))
		Sxx = get_float8_nan();
	c->N = N;
	c->Sx = Sx;
	c->Sxx = Sxx;
}

/* QCS_ACC_LIMIT: |facc| beyond which it is not grown, far from the type's limit */

static const int64 qcs_pow10[] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	INT64CONST(10000000000), INT64CONST(100000000000), INT64CONST(1000000000000),
	INT64CONST(10000000000000), INT64CONST(100000000000000), INT64CONST(1000000000000000),
	INT64CONST(10000000000000000), INT64CONST(100000000000000000), INT64CONST(1000000000000000000)
};

static inline QcsAcc
qcs_abs(QcsAcc x)
{
	return x < 0 ? -x : x;
}

/* facc rescaled to scale ds (>= fscale); false when it could grow too large */
static bool
qcs_rescale(QcsCol *c, int ds)
{
	int			up = ds - c->fscale;

	if (up > 18 || qcs_abs(c->facc) > QCS_ACC_LIMIT / qcs_pow10[up])
		return false;
	c->facc *= qcs_pow10[up];
	c->fscale = ds;
	return true;
}

/*
 * The exact sum of a numeric column, without numeric arithmetic per row:
 * a value of at most four base-10000 digits and scale <= 18 is added to an
 * int128 at the largest scale seen (numeric addition's result scale), and
 * everything else (NaN, infinities, longer numbers, or a sum that would
 * grow too large) to avg(numeric)'s own state.  The final function adds the
 * two, so sum and mean are exactly numeric_sum's and numeric_avg's.
 */
static bool
qcs_fast_sum(QcsCol *c, Datum v)
{
	int64		m;
	int			e;
	int			ds;
	int			p;
	int64		x;

	if (!QualityNumericSmall(v, &m, &e, &ds) || ds > 18)
		return false;
	if (c->fscale < 0)
	{
		c->fscale = ds;
		c->facc = 0;
	}
	else if (ds > c->fscale && !qcs_rescale(c, ds))
		return false;
	p = 4 * e + c->fscale;
	if (p >= 0)
	{
		if (p > 18 || (m < 0 ? -m : m) > PG_INT64_MAX / qcs_pow10[p])
			return false;
		x = m * qcs_pow10[p];
	}
	else
	{
		/* trailing zeros of the last base-10000 digit below the scale */
		if (-p > 18 || m % qcs_pow10[-p] != 0)
			return false;
		x = m / qcs_pow10[-p];
	}
	if (qcs_abs(c->facc) > QCS_ACC_LIMIT)
		return false;
#ifndef HAVE_INT128
	/* 64 bits: a term may be as large as the limit itself */
	if ((x < 0 ? -x : x) > QCS_ACC_LIMIT)
		return false;
#endif
	c->facc += x;
	c->fn++;
	return true;
}

/* facc as a numeric of scale fscale */
static Datum
qcs_fast_numeric(const QcsCol *c)
{
	char		digits[64];
	char		out[96];
	int			n = 0;
	int			k = 0;
	QcsAcc		x = c->facc;
	bool		neg = x < 0;

	do
	{
		int			d = (int) (x % 10);

		digits[n++] = (char) ('0' + (d < 0 ? -d : d));
		x /= 10;
	} while (x != 0);
	while (n <= c->fscale)
		digits[n++] = '0';
	if (neg)
		out[k++] = '-';
	for (int i = n - 1; i >= 0; i--)
	{
		out[k++] = digits[i];
		if (i == c->fscale && i > 0)
			out[k++] = '.';
	}
	out[k] = '\0';
	return DirectFunctionCall3(numeric_in, CStringGetDatum(out), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}


/*
 * Add a non-NULL value to column c.  Returns true and sets *bytes_hash when
 * the HyperLogLog hashed v as hash_bytes_extended(bytes, 0), which the
 * column's value counts reuse.
 */
static bool
qcs_add(FunctionCallInfo fcinfo, QcsCol *c, Datum v, MemoryContext cxt, uint64 *bytes_hash)
{
	double		d = 0;
	bool		need_d = (c->flags & (QCS_VAR | QCS_KLL | QCS_VALUES)) != 0;

	c->n++;
	if (c->kind == 'i')
	{
		int64		x = c->base == INT2OID ? DatumGetInt16(v) : c->base == INT4OID ? DatumGetInt32(v) : DatumGetInt64(v);

		if (c->flags & QCS_MINMAX)
		{
			if (!c->has_mm)
			{
				c->imin = c->imax = x;
				c->has_mm = true;
			}
			else if (x < c->imin)
				c->imin = x;
			else if (x > c->imax)
				c->imax = x;
		}
		if (c->flags & QCS_SUM)
			c->sum = DatumGetPointer(qcs_call(int8_avg_accum, fcinfo, 2, PointerGetDatum(c->sum), c->sum == NULL,
											  Int64GetDatum(x), false, NULL));
		d = (double) x;
	}
	else if (c->kind == 'n')
	{
		if (need_d || (c->flags & QCS_MINMAX))
			d = QualityNumericToFloat8(v);
		if (c->flags & QCS_MINMAX)
		{
			if (!c->has_mm)
			{
				qcs_set_min(c, v, d, cxt);
				qcs_set_max(c, v, d, cxt);
				c->has_mm = true;
			}
			else if (!(d > c->dmin && d < c->dmax))
			{
				/* the double cannot decide: compare exactly */
				if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, v, c->nmin)) < 0)
					qcs_set_min(c, v, d, cxt);
				else if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, v, c->nmax)) > 0)
					qcs_set_max(c, v, d, cxt);
			}
		}
		if ((c->flags & QCS_SUM) && !qcs_fast_sum(c, v))
		{
			Numeric		num = DatumGetNumeric(v);

			if (!numeric_is_nan(num) && !numeric_is_inf(num))
				c->slow_n++;
			c->sum = DatumGetPointer(qcs_call(numeric_avg_accum, fcinfo, 2, PointerGetDatum(c->sum), c->sum == NULL,
											  v, false, NULL));
		}
	}
	else if (c->kind == 'f')
		d = c->base == FLOAT4OID ? (double) DatumGetFloat4(v) : DatumGetFloat8(v);
	if (c->flags & QCS_VAR)
		qcs_var_add(c, d);
	/* NULLs and non-finite values are not part of a sketch's distribution (etl._kll) */
	if ((c->flags & QCS_KLL) && isfinite(d))
		QKllAdd(c->kll, d);
	/* etl._quantiles keeps the infinities and drops NaN */
	if ((c->flags & QCS_VALUES) && !isnan(d))
	{
		if (likely(c->nvals < c->capvals))
			c->vals[c->nvals++] = d;
		else
			qcs_vals_push(c, &d, 1, cxt);
	}
	if (c->flags & QCS_HLL)
	{
		if (!c->hasher_ready)
		{
			QualityHllHasherInit(&c->hasher, c->type, c->collation, cxt);
			c->hasher_ready = true;
		}
		*bytes_hash = QualityHllHash(&c->hasher, v);
		QHllAdd(c->hll, *bytes_hash);
		return c->hasher.fast == 'b';
	}
	return false;
}

/* v's bytes as a QcsSmall key; false when longer than the key */
static inline bool
qcs_small_key(Datum v, uint64 *key, int32 *len)
{
	struct varlena *p = (struct varlena *) DatumGetPointer(v);
	const unsigned char *b;
	Size		n;

	if (VARATT_IS_EXTENDED(p) && !VARATT_IS_SHORT(p))
		return false;			/* compressed or external: the usual path */
	n = VARSIZE_ANY_EXHDR(p);
	if (n > 2 * sizeof(uint64))
		return false;
	b = (const unsigned char *) VARDATA_ANY(p);

	/*
	 * Overlapping loads that cover the n bytes (for one n, equal keys mean
	 * equal bytes), read in registers: copying the bytes into the key and
	 * loading it as words stalled on store forwarding.
	 */
	if (n >= 8)
	{
		memcpy(&key[0], b, 8);
		key[1] = 0;
		if (n > 8)
			memcpy(&key[1], b + n - 8, 8);
	}
	else if (n >= 4)
	{
		uint32		lo,
					hi;

		memcpy(&lo, b, 4);
		memcpy(&hi, b + n - 4, 4);
		key[0] = lo | ((uint64) hi << 32);
		key[1] = 0;
	}
	else
	{
		key[0] = n == 0 ? 0 : b[0] | ((uint64) b[n / 2] << 8) | ((uint64) b[n - 1] << 16);
		key[1] = 0;
	}
	*len = (int32) n;
	return true;
}

/*
 * Whether the few-values cache may stand for c's HyperLogLog and value
 * counts: text under a deterministic collation, where both hash and
 * compare the bytes (QualityHllHasherInit, QValTabBytesHash), so equal
 * bytes are one value for both.
 */
static char
qcs_small_decide(QcsState *st, int col)
{
	QcsCol	   *c = &st->cols[col];
	bool		any = (c->flags & QCS_HLL) != 0;

	if (c->kind != 'o' || c->flags & ~QCS_HLL)
		return 'n';
	if ((c->flags & QCS_HLL) && (!c->hasher_ready || c->hasher.fast != 'b'))
		return 'n';
	for (int j = 0; j < st->nfreq; j++)
		if (st->freq[j].col == col)
		{
			if (!QualityFreqBytesHashed(st->freq[j].st))
				return 'n';
			any = true;
		}
	return any ? 'y' : 'n';
}

/* counted in the few-values cache (the value's earlier row did the rest) */
static inline bool
qcs_small_hit(QcsCol *c, Datum v)
{
	uint64		key[2];
	int32		len;

	if (!qcs_small_key(v, key, &len))
		return false;
	for (int k = 0; k < c->small_n; k++)
	{
		QcsSmall   *e = &c->small[k];

		if (e->len == len && e->key[0] == key[0] && e->key[1] == key[1])
		{
			e->pending++;
			return true;
		}
	}
	return false;
}

/* v was added the usual way: remember it, or turn the cache off when full */
static void
qcs_small_remember(QcsCol *c, Datum v)
{
	QcsSmall   *e;

	if (c->small_n == QCS_SMALL)
	{
		c->small_state = 'n';	/* many values: the counts so far are flushed later */
		return;
	}
	e = &c->small[c->small_n];
	if (!qcs_small_key(v, e->key, &e->len))
		return;
	e->pending = 0;
	e->value = datumCopy(v, false, -1);
	c->small_n++;
}

/* the cache's counts into the value tables of their columns (before reading the state) */
static void
qcs_small_flush(QcsState *st)
{
	for (int i = 0; i < st->ncols; i++)
	{
		QcsCol	   *c = &st->cols[i];

		for (int k = 0; k < c->small_n; k++)
		{
			QcsSmall   *e = &c->small[k];

			if (e->pending == 0)
				continue;
			for (int j = 0; j < st->nfreq; j++)
				if (st->freq[j].col == i)
					QualityFreqAddCount(st->freq[j].st, e->value, e->pending);
			e->pending = 0;
		}
	}
}

/*
 * metaetl_colstats_sfunc
 *		Transition function of etl._colstats(spec int4[], VARIADIC "any").
 *		The arguments are the columns, then the ref arrays of the
 *		frequency tables; spec is
 *		  [ncols, flags of column 1 .. ncols (QCS_* of scan.h),
 *		   nfreq, (column, top_n, ref argument or -1) per frequency table,
 *		   optionally nquant, (column, argument of a float8[] of
 *		   fractions) per set of exact quantiles].
 *		The state is created on the first row from the spec and the
 *		argument types; each non-NULL column value is added to its
 *		column and to its frequency tables.
 */
Datum
metaetl_colstats_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = qcs_context(fcinfo, "metaetl_colstats_sfunc");
	QcsState   *st = PG_ARGISNULL(0) ? NULL : (QcsState *) PG_GETARG_POINTER(0);
	int			nargs = PG_NARGS() - 2;

	if (st == NULL)
	{
		Datum	   *sp;
		bool	   *snull;
		int			nsp;
		int			ncols;
		int			nfreq;
		int			nquant;
		int			qbase;

		if (PG_ARGISNULL(1))
			elog(ERROR, "etl._colstats: the spec is NULL");
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), INT4OID, 4, true, TYPALIGN_INT, &sp, &snull, &nsp);
		for (int i = 0; i < nsp; i++)
			if (snull[i])
				elog(ERROR, "etl._colstats: NULL in the spec");
		ncols = nsp > 0 ? DatumGetInt32(sp[0]) : -1;
		nfreq = ncols >= 0 && nsp > ncols + 1 ? DatumGetInt32(sp[ncols + 1]) : -1;
		/* then nquant and (column, argument of the fractions) per exact quantile set */
		qbase = ncols + 2 + 3 * Max(nfreq, 0);
		nquant = nfreq >= 0 && nsp > qbase ? DatumGetInt32(sp[qbase]) : 0;
		if (ncols < 0 || ncols > nargs || nfreq < 0 || nquant < 0 ||
			nsp != qbase + (nsp > qbase ? 1 + 2 * nquant : 0))
			elog(ERROR, "etl._colstats: invalid spec");
		st = qcs_state_new(cxt, ncols, nfreq, nquant);
		for (int i = 0; i < ncols; i++)
		{
			Oid			type = get_fn_expr_argtype(fcinfo->flinfo, i + 2);

			qcs_col_init(&st->cols[i], DatumGetInt32(sp[i + 1]), qcs_kind(type), type, PG_GET_COLLATION(), cxt);
		}
		for (int j = 0; j < nfreq; j++)
		{
			QcsFreq    *f = &st->freq[j];

			f->col = DatumGetInt32(sp[ncols + 2 + 3 * j]);
			f->top_n = DatumGetInt32(sp[ncols + 3 + 3 * j]);
			f->refarg = DatumGetInt32(sp[ncols + 4 + 3 * j]);
			if (f->col < 0 || f->col >= ncols || f->refarg < -1 || f->refarg >= nargs - ncols)
				elog(ERROR, "etl._colstats: invalid spec");
			/* the ref arrays follow the columns */
			f->st = QualityFreqNew(cxt, st->cols[f->col].type, PG_GET_COLLATION(), f->top_n,
								   f->refarg < 0 || PG_ARGISNULL(2 + ncols + f->refarg) ? NULL :
								   PG_GETARG_ARRAYTYPE_P(2 + ncols + f->refarg));
		}
		for (int j = 0; j < nquant; j++)
		{
			QcsQuant   *qq = &st->quant[j];

			qq->col = DatumGetInt32(sp[qbase + 1 + 2 * j]);
			qq->refarg = DatumGetInt32(sp[qbase + 2 + 2 * j]);
			if (qq->col < 0 || qq->col >= ncols || !(st->cols[qq->col].flags & QCS_VALUES) ||
				qq->refarg < 0 || qq->refarg >= nargs - ncols ||
				get_fn_expr_argtype(fcinfo->flinfo, 2 + ncols + qq->refarg) != FLOAT8ARRAYOID)
				elog(ERROR, "etl._colstats: invalid spec");
			if (PG_ARGISNULL(2 + ncols + qq->refarg))
				elog(ERROR, "etl._colstats: NULL quantile fractions");
			qcs_quant_set(qq, PG_GETARG_ARRAYTYPE_P(2 + ncols + qq->refarg), cxt);
		}
	}
	for (int i = 0; i < st->ncols; i++)
	{
		QcsCol	   *c = &st->cols[i];

		c->small_hit = false;
		if (PG_ARGISNULL(i + 2))
		{
			c->hashed = false;
			continue;
		}
		if (c->small_state == 'y' && qcs_small_hit(c, PG_GETARG_DATUM(i + 2)))
		{
			c->n++;
			c->small_hit = true;
			continue;
		}
		c->hashed = qcs_add(fcinfo, c, PG_GETARG_DATUM(i + 2), cxt, &c->hash);
	}
	for (int j = 0; j < st->nfreq; j++)
	{
		QcsFreq    *f = &st->freq[j];
		QcsCol	   *c = &st->cols[f->col];

		if (PG_ARGISNULL(f->col + 2) || c->small_hit)
			continue;
		/* a text value the HyperLogLog hashed is not hashed again */
		if (!c->hashed || !QualityFreqAddBytesHashed(f->st, PG_GETARG_DATUM(f->col + 2), c->hash))
			QualityFreqAddDeferred(f->st, PG_GETARG_DATUM(f->col + 2));
	}
	for (int i = 0; i < st->ncols; i++)
	{
		QcsCol	   *c = &st->cols[i];

		if (c->small_hit || PG_ARGISNULL(i + 2) || c->small_state == 'n')
			continue;
		if (c->small_state == 0)
			c->small_state = qcs_small_decide(st, i);
		if (c->small_state == 'y')
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			qcs_small_remember(c, PG_GETARG_DATUM(i + 2));
			MemoryContextSwitchTo(old);
		}
	}
	PG_RETURN_POINTER(st);
}

/* a numeric as a JSON value: a number, or a string for NaN and the infinities (as to_jsonb) */
static void
qcs_json_numeric(StringInfo b, Datum num)
{
	char	   *t = DatumGetCString(DirectFunctionCall1(numeric_out, num));

	if (t[0] == '-' ? isdigit((unsigned char) t[1]) : isdigit((unsigned char) t[0]))
		appendStringInfoString(b, t);
	else
		appendStringInfo(b, "\"%s\"", t);
}

/*
 * metaetl_colstats_final
 *		The result: {"c": [one object per column, with the keys its
 *		flags asked for], "f": [etl._freq's jsonb per frequency table]};
 *		NULL for no row.
 */
Datum
metaetl_colstats_final(PG_FUNCTION_ARGS)
{
	QcsState   *st = PG_ARGISNULL(0) ? NULL : (QcsState *) PG_GETARG_POINTER(0);
	StringInfoData b;

	if (st == NULL)
		PG_RETURN_NULL();
	qcs_small_flush(st);
	initStringInfo(&b);
	appendStringInfoString(&b, "{\"c\": [");
	for (int i = 0; i < st->ncols; i++)
	{
		QcsCol	   *c = &st->cols[i];

		appendStringInfo(&b, "%s{\"n\": " INT64_FORMAT, i ? ", " : "", c->n);
		if (c->flags & QCS_MINMAX)
		{
			appendStringInfoString(&b, ", \"min\": ");
			if (!c->has_mm)
				appendStringInfoString(&b, "null");
			else if (c->kind == 'i')
				appendStringInfo(&b, INT64_FORMAT, c->imin);
			else
				qcs_json_numeric(&b, c->nmin);
			appendStringInfoString(&b, ", \"max\": ");
			if (!c->has_mm)
				appendStringInfoString(&b, "null");
			else if (c->kind == 'i')
				appendStringInfo(&b, INT64_FORMAT, c->imax);
			else
				qcs_json_numeric(&b, c->nmax);
		}
		if ((c->flags & QCS_SUM) && c->kind == 'n')
		{
			/* numeric_sum and numeric_avg of the fast and the slow part together */
			bool		have = false;
			bool		isnull;
			Datum		total = 0;

			if (c->fn > 0)
			{
				total = qcs_fast_numeric(c);
				have = true;
			}
			if (c->sum)
			{
				Datum		s2 = qcs_call(numeric_sum, fcinfo, 1, PointerGetDatum(c->sum), false, 0, true, &isnull);

				if (!isnull)
				{
					total = have ? DirectFunctionCall2(numeric_add, total, s2) : s2;
					have = true;
				}
			}
			appendStringInfoString(&b, ", \"sum\": ");
			if (have)
				qcs_json_numeric(&b, total);
			else
				appendStringInfoString(&b, "null");
			appendStringInfoString(&b, ", \"mean\": ");
			if (!have)
				appendStringInfoString(&b, "null");
			else if (numeric_is_nan(DatumGetNumeric(total)) || numeric_is_inf(DatumGetNumeric(total)))
				qcs_json_numeric(&b, total);
			else
				qcs_json_numeric(&b, DirectFunctionCall2(numeric_div, total,
														 NumericGetDatum(int64_to_numeric(c->fn + c->slow_n))));
		}
		else if (c->flags & QCS_SUM)
		{
			bool		isnull = true;
			Datum		r = 0;

			if (c->sum)
				r = qcs_call(numeric_poly_sum, fcinfo, 1, PointerGetDatum(c->sum), false, 0, true, &isnull);
			appendStringInfoString(&b, ", \"sum\": ");
			if (isnull)
				appendStringInfoString(&b, "null");
			else
				qcs_json_numeric(&b, r);
			isnull = true;
			if (c->sum)
				r = qcs_call(numeric_poly_avg, fcinfo, 1, PointerGetDatum(c->sum), false, 0, true, &isnull);
			appendStringInfoString(&b, ", \"mean\": ");
			if (isnull)
				appendStringInfoString(&b, "null");
			else
				qcs_json_numeric(&b, r);
		}
		if (c->flags & QCS_VAR)
		{
			/* float8_stddev_samp, then ::numeric as the rule's bound check did */
			appendStringInfoString(&b, ", \"stddev\": ");
			if (c->N <= 1.0)
				appendStringInfoString(&b, "null");
			else
				qcs_json_numeric(&b, DirectFunctionCall1(float8_numeric,
														 Float8GetDatum(c->Sxx <= 0.0 ? 0.0 : sqrt(c->Sxx / (c->N - 1.0)))));
		}
		if (c->flags & QCS_HLL)
			appendStringInfo(&b, ", \"hll\": " INT64_FORMAT, (int64) llround(QHllEstimate(c->hll)));
		if (c->flags & QCS_KLL)
		{
			appendStringInfoString(&b, ", \"kll\": ");
			QualityKllJson(&b, c->kll);
		}
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoString(&b, "], \"f\": [");
	for (int j = 0; j < st->nfreq; j++)
	{
		if (j)
			appendStringInfoString(&b, ", ");
		QualityFreqJson(st->freq[j].st, &b);
	}
	/* exact quantiles, each as etl._quantiles(...)[i]::numeric; [] for no value */
	appendStringInfoChar(&b, ']');
	if (st->nquant > 0)
		appendStringInfoString(&b, ", \"q\": [");
	for (int j = 0; j < st->nquant; j++)
	{
		QcsQuant   *qq = &st->quant[j];
		QcsCol	   *c = &st->cols[qq->col];

		appendStringInfoString(&b, j ? ", [" : "[");
		if (c->nvals > 0 && qq->nq > 0)
		{
			double	   *r = palloc(sizeof(double) * qq->nq);

			QualityExactQuantiles(c->vals, c->nvals, qq->q, qq->nq, r);
			for (int i = 0; i < qq->nq; i++)
			{
				if (i)
					appendStringInfoString(&b, ", ");
				qcs_json_numeric(&b, DirectFunctionCall1(float8_numeric, Float8GetDatum(r[i])));
			}
		}
		appendStringInfoChar(&b, ']');
	}
	appendStringInfoString(&b, st->nquant > 0 ? "]}" : "}");
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}

/*
 * metaetl_colstats_combine
 *		Merge a worker's state into the leader's, column by column, each
 *		statistic as its own aggregate combines (float8_combine's update
 *		for the variance, QKllMerge, the larger HyperLogLog register).
 */
Datum
metaetl_colstats_combine(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = qcs_context(fcinfo, "metaetl_colstats_combine");
	QcsState   *a = PG_ARGISNULL(0) ? NULL : (QcsState *) PG_GETARG_POINTER(0);
	QcsState   *b = PG_ARGISNULL(1) ? NULL : (QcsState *) PG_GETARG_POINTER(1);

	if (a)
		qcs_small_flush(a);
	if (b == NULL)
		PG_RETURN_POINTER(a);
	qcs_small_flush(b);
	if (a == NULL)
		a = qcs_state_like(cxt, b);
	if (a->ncols != b->ncols || a->nfreq != b->nfreq || a->nquant != b->nquant)
		elog(ERROR, "etl._colstats: states of different shapes");
	for (int j = 0; j < a->nfreq; j++)
		a->freq[j].st = QualityFreqCombine(cxt, a->freq[j].st, b->freq[j].st);
	for (int i = 0; i < a->ncols; i++)
	{
		QcsCol	   *x = &a->cols[i];
		QcsCol	   *y = &b->cols[i];

		x->n += y->n;
		if ((x->flags & QCS_MINMAX) && y->has_mm)
		{
			if (!x->has_mm)
			{
				x->imin = y->imin;
				x->imax = y->imax;
				if (x->kind == 'n')
				{
					qcs_set_min(x, y->nmin, y->dmin, cxt);
					qcs_set_max(x, y->nmax, y->dmax, cxt);
				}
				x->has_mm = true;
			}
			else if (x->kind == 'i')
			{
				x->imin = Min(x->imin, y->imin);
				x->imax = Max(x->imax, y->imax);
			}
			else
			{
				if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, y->nmin, x->nmin)) < 0)
					qcs_set_min(x, y->nmin, y->dmin, cxt);
				if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, y->nmax, x->nmax)) > 0)
					qcs_set_max(x, y->nmax, y->dmax, cxt);
			}
		}
		if ((x->flags & QCS_SUM) && y->fn > 0)
		{
			/* the fast parts at the larger scale; a part that would grow too large joins the slow part */
			if (x->fn == 0)
			{
				x->facc = y->facc;
				x->fscale = y->fscale;
				x->fn = y->fn;
			}
			else
			{
				QcsCol		yy = *y;
				bool		ok = true;

				if (yy.fscale > x->fscale)
					ok = qcs_rescale(x, yy.fscale);
				else if (yy.fscale < x->fscale)
					ok = qcs_rescale(&yy, x->fscale);
				if (ok && qcs_abs(x->facc) <= QCS_ACC_LIMIT && qcs_abs(yy.facc) <= QCS_ACC_LIMIT)
				{
					x->facc += yy.facc;
					x->fn += yy.fn;
				}
				else
				{
					x->sum = DatumGetPointer(qcs_call(numeric_avg_accum, fcinfo, 2, PointerGetDatum(x->sum), x->sum == NULL,
													  qcs_fast_numeric(y), false, NULL));
					x->slow_n += y->fn;
				}
			}
		}
		x->slow_n += y->slow_n;
		if ((x->flags & QCS_SUM) && y->sum)
			x->sum = DatumGetPointer(qcs_call(x->kind == 'i' ? int8_avg_combine : numeric_avg_combine, fcinfo, 2,
											  PointerGetDatum(x->sum), x->sum == NULL,
											  PointerGetDatum(y->sum), false, NULL));
		if ((x->flags & QCS_VAR) && y->N > 0.0)
		{
			/* float8_combine (Chan et al.) */
			if (x->N == 0.0)
			{
				x->N = y->N;
				x->Sx = y->Sx;
				x->Sxx = y->Sxx;
			}
			else
			{
				double		N = x->N + y->N;
				double		Sx = float8_pl(x->Sx, y->Sx);
				double		tmp = x->Sx / x->N - y->Sx / y->N;
				double		Sxx = x->Sxx + y->Sxx + x->N * y->N * tmp * tmp / N;

				if (unlikely(isinf(Sxx)) && !isinf(x->Sxx) && !isinf(y->Sxx))
					float_overflow_error();
				x->N = N;
				x->Sx = Sx;
				x->Sxx = Sxx;
			}
		}
		if (x->flags & QCS_KLL)
			QKllMerge(x->kll, y->kll);
		/* every value kept: the quantiles are exact whatever the plan */
		if ((x->flags & QCS_VALUES) && y->nvals > 0)
			qcs_vals_push(x, y->vals, y->nvals, cxt);
		if (x->flags & QCS_HLL)
			for (int r = 0; r < QHLL_M; r++)
				if (y->hll->reg[r] > x->hll->reg[r])
					x->hll->reg[r] = y->hll->reg[r];
	}
	PG_RETURN_POINTER(a);
}

static void
qcs_put_varlena(StringInfo buf, const struct varlena *v)
{
	int32		len = v ? VARSIZE_ANY_EXHDR(v) : -1;

	appendBinaryStringInfo(buf, (char *) &len, sizeof(len));
	if (v)
		appendBinaryStringInfo(buf, VARDATA_ANY(v), len);
}

static void
qcs_read(const char **p, const char *end, void *dst, size_t n)
{
	if (end - *p < (long) n)
		elog(ERROR, "invalid aggregate state");
	memcpy(dst, *p, n);
	*p += n;
}

/* a varlena written by qcs_put_varlena, palloc'd in cxt with a 4-byte header; NULL for none */
static struct varlena *
qcs_get_varlena(const char **p, const char *end, MemoryContext cxt)
{
	int32		len;
	struct varlena *v;

	qcs_read(p, end, &len, sizeof(len));
	if (len < 0)
		return NULL;
	if (end - *p < (long) len)
		elog(ERROR, "invalid aggregate state");
	v = MemoryContextAlloc(cxt, VARHDRSZ + len);
	SET_VARSIZE(v, VARHDRSZ + len);
	memcpy(VARDATA(v), *p, len);
	*p += len;
	return v;
}

/*
 * metaetl_colstats_serial
 *		Serialisation for partial aggregation: per column its shape and
 *		counters, the numerics' bytes, avg's state in avg's own
 *		serialised form, the sketch (QualitySerializeKll) and the
 *		HyperLogLog registers.
 */
Datum
metaetl_colstats_serial(PG_FUNCTION_ARGS)
{
	QcsState   *st = (QcsState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	bytea	   *out;

	qcs_small_flush(st);
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (char *) &st->ncols, sizeof(st->ncols));
	appendBinaryStringInfo(&buf, (char *) &st->nfreq, sizeof(st->nfreq));
	appendBinaryStringInfo(&buf, (char *) &st->nquant, sizeof(st->nquant));
	for (int j = 0; j < st->nquant; j++)
	{
		QcsQuant   *qq = &st->quant[j];

		appendBinaryStringInfo(&buf, (char *) &qq->col, sizeof(qq->col));
		appendBinaryStringInfo(&buf, (char *) &qq->refarg, sizeof(qq->refarg));
		appendBinaryStringInfo(&buf, (char *) &qq->nq, sizeof(qq->nq));
		appendBinaryStringInfo(&buf, (char *) qq->q, sizeof(double) * qq->nq);
	}
	for (int j = 0; j < st->nfreq; j++)
	{
		QcsFreq    *f = &st->freq[j];

		appendBinaryStringInfo(&buf, (char *) &f->col, sizeof(f->col));
		appendBinaryStringInfo(&buf, (char *) &f->top_n, sizeof(f->top_n));
		appendBinaryStringInfo(&buf, (char *) &f->refarg, sizeof(f->refarg));
		QualityFreqSerialize(f->st, &buf);
	}
	for (int i = 0; i < st->ncols; i++)
	{
		QcsCol	   *c = &st->cols[i];
		char		mm = c->has_mm;

		appendBinaryStringInfo(&buf, (char *) &c->flags, sizeof(c->flags));
		appendBinaryStringInfo(&buf, &c->kind, 1);
		appendBinaryStringInfo(&buf, (char *) &c->type, sizeof(c->type));
		appendBinaryStringInfo(&buf, (char *) &c->collation, sizeof(c->collation));
		appendBinaryStringInfo(&buf, (char *) &c->n, sizeof(c->n));
		appendBinaryStringInfo(&buf, &mm, 1);
		appendBinaryStringInfo(&buf, (char *) &c->imin, sizeof(c->imin));
		appendBinaryStringInfo(&buf, (char *) &c->imax, sizeof(c->imax));
		appendBinaryStringInfo(&buf, (char *) &c->dmin, sizeof(c->dmin));
		appendBinaryStringInfo(&buf, (char *) &c->dmax, sizeof(c->dmax));
		qcs_put_varlena(&buf, c->nmin ? (struct varlena *) DatumGetPointer(c->nmin) : NULL);
		qcs_put_varlena(&buf, c->nmax ? (struct varlena *) DatumGetPointer(c->nmax) : NULL);
		if (c->sum)
			qcs_put_varlena(&buf, (struct varlena *) DatumGetPointer(
								qcs_call(c->kind == 'i' ? int8_avg_serialize : numeric_avg_serialize, fcinfo, 1,
										 PointerGetDatum(c->sum), false, 0, true, NULL)));
		else
			qcs_put_varlena(&buf, NULL);
		appendBinaryStringInfo(&buf, (char *) &c->facc, sizeof(c->facc));
		appendBinaryStringInfo(&buf, (char *) &c->fscale, sizeof(c->fscale));
		appendBinaryStringInfo(&buf, (char *) &c->fn, sizeof(c->fn));
		appendBinaryStringInfo(&buf, (char *) &c->slow_n, sizeof(c->slow_n));
		appendBinaryStringInfo(&buf, (char *) &c->N, sizeof(c->N));
		appendBinaryStringInfo(&buf, (char *) &c->Sx, sizeof(c->Sx));
		appendBinaryStringInfo(&buf, (char *) &c->Sxx, sizeof(c->Sxx));
		if (c->flags & QCS_KLL)
			QualitySerializeKll(&buf, c->kll);
		if (c->flags & QCS_HLL)
			appendBinaryStringInfo(&buf, (char *) c->hll->reg, sizeof(c->hll->reg));
		if (c->flags & QCS_VALUES)
		{
			appendBinaryStringInfo(&buf, (char *) &c->nvals, sizeof(c->nvals));
			appendBinaryStringInfo(&buf, (char *) c->vals, sizeof(double) * c->nvals);
		}
	}
	out = palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(out, VARHDRSZ + buf.len);
	memcpy(VARDATA(out), buf.data, buf.len);
	PG_RETURN_BYTEA_P(out);
}

/* metaetl_colstats_deserial: the state metaetl_colstats_serial wrote, every length checked */
Datum
metaetl_colstats_deserial(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(in);
	const char *end = p + VARSIZE_ANY_EXHDR(in);
	MemoryContext cxt = CurrentMemoryContext;
	QcsState   *st;
	int			ncols;
	int			nfreq;
	int			nquant;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "metaetl_colstats_deserial called in non-aggregate context");
	qcs_read(&p, end, &ncols, sizeof(ncols));
	qcs_read(&p, end, &nfreq, sizeof(nfreq));
	qcs_read(&p, end, &nquant, sizeof(nquant));
	if (ncols < 0 || ncols > FUNC_MAX_ARGS || nfreq < 0 || nfreq > 10 * FUNC_MAX_ARGS ||
		nquant < 0 || nquant > FUNC_MAX_ARGS)
		elog(ERROR, "invalid aggregate state");
	st = qcs_state_new(cxt, ncols, nfreq, nquant);
	for (int j = 0; j < nquant; j++)
	{
		QcsQuant   *qq = &st->quant[j];

		qcs_read(&p, end, &qq->col, sizeof(qq->col));
		qcs_read(&p, end, &qq->refarg, sizeof(qq->refarg));
		qcs_read(&p, end, &qq->nq, sizeof(qq->nq));
		if (qq->col < 0 || qq->col >= ncols || qq->nq < 0 || qq->nq > (end - p) / (long) sizeof(double))
			elog(ERROR, "invalid aggregate state");
		qq->q = MemoryContextAlloc(cxt, sizeof(double) * Max(qq->nq, 1));
		qcs_read(&p, end, qq->q, sizeof(double) * qq->nq);
	}
	for (int j = 0; j < nfreq; j++)
	{
		QcsFreq    *f = &st->freq[j];

		qcs_read(&p, end, &f->col, sizeof(f->col));
		qcs_read(&p, end, &f->top_n, sizeof(f->top_n));
		qcs_read(&p, end, &f->refarg, sizeof(f->refarg));
		p = QualityFreqDeserialize(p, end, &f->st);
	}
	for (int i = 0; i < ncols; i++)
	{
		QcsCol	   *c = &st->cols[i];
		int32		flags;
		char		kind;
		Oid			type;
		Oid			coll;
		char		mm;
		struct varlena *v;

		qcs_read(&p, end, &flags, sizeof(flags));
		qcs_read(&p, end, &kind, 1);
		qcs_read(&p, end, &type, sizeof(type));
		qcs_read(&p, end, &coll, sizeof(coll));
		qcs_col_init(c, flags, kind, type, coll, cxt);
		qcs_read(&p, end, &c->n, sizeof(c->n));
		qcs_read(&p, end, &mm, 1);
		c->has_mm = mm != 0;
		qcs_read(&p, end, &c->imin, sizeof(c->imin));
		qcs_read(&p, end, &c->imax, sizeof(c->imax));
		qcs_read(&p, end, &c->dmin, sizeof(c->dmin));
		qcs_read(&p, end, &c->dmax, sizeof(c->dmax));
		v = qcs_get_varlena(&p, end, cxt);
		c->nmin = v ? PointerGetDatum(v) : (Datum) 0;
		v = qcs_get_varlena(&p, end, cxt);
		c->nmax = v ? PointerGetDatum(v) : (Datum) 0;
		v = qcs_get_varlena(&p, end, cxt);
		if (v)
			c->sum = DatumGetPointer(qcs_call(c->kind == 'i' ? int8_avg_deserialize : numeric_avg_deserialize, fcinfo, 2,
											  PointerGetDatum(v), false, 0, true, NULL));
		qcs_read(&p, end, &c->facc, sizeof(c->facc));
		qcs_read(&p, end, &c->fscale, sizeof(c->fscale));
		qcs_read(&p, end, &c->fn, sizeof(c->fn));
		qcs_read(&p, end, &c->slow_n, sizeof(c->slow_n));
		if (c->fscale < -1 || c->fscale > 18 || c->fn < 0 || c->slow_n < 0)
			elog(ERROR, "invalid aggregate state");
		qcs_read(&p, end, &c->N, sizeof(c->N));
		qcs_read(&p, end, &c->Sx, sizeof(c->Sx));
		qcs_read(&p, end, &c->Sxx, sizeof(c->Sxx));
		if (flags & QCS_KLL)
			p = QualityDeserializeKll(p, end, c->kll);
		if (flags & QCS_HLL)
			qcs_read(&p, end, c->hll->reg, sizeof(c->hll->reg));
		if (flags & QCS_VALUES)
		{
			int64		n;

			qcs_read(&p, end, &n, sizeof(n));
			if (n < 0 || n > (end - p) / (long) sizeof(double))
				elog(ERROR, "invalid aggregate state");
			if (n > 0)
			{
				c->vals = MemoryContextAllocHuge(cxt, sizeof(double) * n);
				c->capvals = n;
				memcpy(c->vals, p, sizeof(double) * n);
				c->nvals = n;
				p += sizeof(double) * n;
			}
		}
	}
	PG_RETURN_POINTER(st);
}
