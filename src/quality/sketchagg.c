/*-------------------------------------------------------------------------
 *
 * src/quality/sketchagg.c
 *		C aggregates of the one-scan query for distributions and order:
 *
 * etl._kll(float8) → jsonb          a KLL sketch (sketch.c) of the values, as
 *                                    stored in etl.profiling_stats for drift;
 * etl._quantiles(float8, float8[]) → float8[]
 *                                    exact quantiles (percentile_cont's linear
 *                                    interpolation) of the values: median and
 *                                    quantile rules.  Unlike percentile_cont it
 *                                    has a combine function, so the scan stays
 *                                    parallel; it keeps 8 bytes per value;
 * etl._outliers(text, jsonb, VARIADIC float8[]) → jsonb
 *                                    the outliers rule: rows collected, then
 *                                    scored by the detectors of anomaly.c;
 * etl._monotonic(anyelement, bool, bool ORDER BY ...) → jsonb
 *                                    consecutive values (in the ORDER BY's
 *                                    order) that break increasing/decreasing.
 *
 * States live in the aggregate's memory context; all but _monotonic (an
 * ordered aggregate, which PostgreSQL never runs in parallel) have combine,
 * serialise and deserialise functions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "quality/quality.h"
#include "quality/sketch.h"

PG_FUNCTION_INFO_V1(metaetl_kll_sfunc);
PG_FUNCTION_INFO_V1(metaetl_kll_final);
PG_FUNCTION_INFO_V1(metaetl_kll_combine);
PG_FUNCTION_INFO_V1(metaetl_kll_serial);
PG_FUNCTION_INFO_V1(metaetl_kll_deserial);
PG_FUNCTION_INFO_V1(metaetl_quantiles_sfunc);
PG_FUNCTION_INFO_V1(metaetl_quantiles_final);
PG_FUNCTION_INFO_V1(metaetl_quantiles_combine);
PG_FUNCTION_INFO_V1(metaetl_quantiles_serial);
PG_FUNCTION_INFO_V1(metaetl_quantiles_deserial);
PG_FUNCTION_INFO_V1(metaetl_outliers_sfunc);
PG_FUNCTION_INFO_V1(metaetl_outliers_final);
PG_FUNCTION_INFO_V1(metaetl_outliers_combine);
PG_FUNCTION_INFO_V1(metaetl_outliers_serial);
PG_FUNCTION_INFO_V1(metaetl_outliers_deserial);
PG_FUNCTION_INFO_V1(metaetl_monotonic_sfunc);
PG_FUNCTION_INFO_V1(metaetl_monotonic_final);

static MemoryContext
qsa_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcontext;
}

static void *
qsa_alloc(size_t size, void *arg)
{
	return MemoryContextAllocHuge((MemoryContext) arg, size);
}

static void
qsa_release(void *p, void *arg)
{
	pfree(p);
}

static bytea *
qsa_bytea(StringInfo buf)
{
	bytea	   *out = palloc(VARHDRSZ + buf->len);

	SET_VARSIZE(out, VARHDRSZ + buf->len);
	memcpy(VARDATA(out), buf->data, buf->len);
	return out;
}

static void
qsa_read(const char **p, const char *end, void *dst, size_t n)
{
	if (end - *p < (long) n)
		elog(ERROR, "invalid aggregate state");
	memcpy(dst, *p, n);
	*p += n;
}

/* ------------------------------------------------------------ KLL */

typedef struct QKllState
{
	QSketchAlloc alloc;
	QKll		kll;
} QKllState;

static QKllState *
qkll_state_new(MemoryContext cxt)
{
	QKllState  *st = MemoryContextAllocZero(cxt, sizeof(QKllState));

	st->alloc.alloc = qsa_alloc;
	st->alloc.release = qsa_release;
	st->alloc.arg = cxt;
	QKllInit(&st->kll, QKLL_DEFAULT_K, &st->alloc);
	return st;
}

/*
 * QualityKllJson
 *		A sketch as stored in etl.profiling_stats: {"k", "n", "min", "max",
 *		"levels": [[items of level 0], [level 1], ...]}; items at level h stand
 *		for 2^h values.
 */
void
QualityKllJson(StringInfo b, const QKll *s)
{
	appendStringInfo(b, "{\"k\": %d, \"n\": " UINT64_FORMAT, s->k, (uint64) s->n);
	if (s->n > 0)
		appendStringInfo(b, ", \"min\": %s, \"max\": %s", float8out_internal(s->min), float8out_internal(s->max));
	appendStringInfoString(b, ", \"levels\": [");
	for (int h = 0; h < s->nlevels; h++)
	{
		appendStringInfoString(b, h ? ", [" : "[");
		for (int i = 0; i < s->len[h]; i++)
			appendStringInfo(b, "%s%s", i ? ", " : "", float8out_internal(s->items[h][i]));
		appendStringInfoChar(b, ']');
	}
	appendStringInfoString(b, "]}");
}

/*
 * metaetl_kll_sfunc
 *		Transition function of etl._kll(float8): adds each value to a
 *		KLL sketch of k = QKLL_DEFAULT_K held in the aggregate's
 *		memory context.
 *
 *		NULLs and infinities are left out: the sketch describes the
 *		finite distribution that drift rules compare, and an infinity
 *		would make min/max and the KS statistic meaningless.
 */
Datum
metaetl_kll_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = qsa_context(fcinfo, "metaetl_kll_sfunc");
	QKllState  *st = PG_ARGISNULL(0) ? qkll_state_new(cxt) : (QKllState *) PG_GETARG_POINTER(0);

	/* NULLs and non-finite values are not part of the distribution */
	if (!PG_ARGISNULL(1) && isfinite(PG_GETARG_FLOAT8(1)))
		QKllAdd(&st->kll, PG_GETARG_FLOAT8(1));
	PG_RETURN_POINTER(st);
}

/*
 * metaetl_kll_final
 *		Final function of etl._kll: the sketch as the jsonb stored in
 *		etl.profiling_stats (QualityKllJson). An empty input gives an
 *		empty sketch of the same shape, so a later drift check can
 *		merge or compare it without a special case.
 */
Datum
metaetl_kll_final(PG_FUNCTION_ARGS)
{
	QKllState  *st = PG_ARGISNULL(0) ? NULL : (QKllState *) PG_GETARG_POINTER(0);
	StringInfoData b;

	initStringInfo(&b);
	if (st == NULL)
		appendStringInfo(&b, "{\"k\": %d, \"n\": 0, \"levels\": [[]]}", QKLL_DEFAULT_K);
	else
		QualityKllJson(&b, &st->kll);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}

/*
 * metaetl_kll_combine
 *		Combine function of etl._kll: merges a worker's sketch into
 *		the leader's level by level (QKllMerge), which keeps the rank-
 *		error bound of one sketch over all the values, so parallel and
 *		serial scans give sketches of the same accuracy.
 */
Datum
metaetl_kll_combine(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = qsa_context(fcinfo, "metaetl_kll_combine");
	QKllState  *a = PG_ARGISNULL(0) ? NULL : (QKllState *) PG_GETARG_POINTER(0);
	QKllState  *b = PG_ARGISNULL(1) ? NULL : (QKllState *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = qkll_state_new(cxt);
	QKllMerge(&a->kll, &b->kll);
	PG_RETURN_POINTER(a);
}

/* layout: int32 k, uint64 n, float8 min, max, int32 nlevels, per level int32 len + items */
void
QualitySerializeKll(StringInfo buf, const QKll *s)
{
	int32		k = s->k,
				nl = s->nlevels;

	appendBinaryStringInfo(buf, (char *) &k, sizeof(k));
	appendBinaryStringInfo(buf, (char *) &s->n, sizeof(s->n));
	appendBinaryStringInfo(buf, (char *) &s->min, sizeof(double));
	appendBinaryStringInfo(buf, (char *) &s->max, sizeof(double));
	appendBinaryStringInfo(buf, (char *) &nl, sizeof(nl));
	for (int h = 0; h < s->nlevels; h++)
	{
		int32		len = s->len[h];

		appendBinaryStringInfo(buf, (char *) &len, sizeof(len));
		appendBinaryStringInfo(buf, (char *) s->items[h], sizeof(double) * len);
	}
}

/*
 * QualityDeserializeKll
 *		Reads a sketch written by QualitySerializeKll from p (up to
 *		end) into s, which the caller has initialised with QKllInit,
 *		and returns the position after it.
 *
 *		Items are re-added with their level (QKllAddWeighted) rather
 *		than copied, so the sketch's own capacity bookkeeping stays
 *		consistent; n, min and max are then restored as they were.
 *		Shared with the profile aggregate (profagg.c), which embeds
 *		sketches in its serialised state; every length is checked
 *		against end, so a corrupt state is an error.
 */
const char *
QualityDeserializeKll(const char *p, const char *end, QKll *s)
{
	int32		k,
				nl;
	uint64		n;
	double		mn,
				mx;

	qsa_read(&p, end, &k, sizeof(k));
	qsa_read(&p, end, &n, sizeof(n));
	qsa_read(&p, end, &mn, sizeof(mn));
	qsa_read(&p, end, &mx, sizeof(mx));
	qsa_read(&p, end, &nl, sizeof(nl));
	if (nl < 0 || nl > QKLL_MAX_LEVELS)
		elog(ERROR, "invalid sketch state");
	for (int h = 0; h < nl; h++)
	{
		int32		len;

		qsa_read(&p, end, &len, sizeof(len));
		if (len < 0 || end - p < (long) (sizeof(double) * len))
			elog(ERROR, "invalid sketch state");
		for (int i = 0; i < len; i++)
		{
			double		v;

			memcpy(&v, p, sizeof(double));
			p += sizeof(double);
			QKllAddWeighted(s, v, h);
		}
	}
	s->n = n;
	s->min = mn;
	s->max = mx;
	return p;
}

/*
 * metaetl_kll_serial
 *		Serialisation function of etl._kll for partial aggregation, in
 *		QualitySerializeKll's binary layout (smaller and faster than
 *		the JSON form).
 */
Datum
metaetl_kll_serial(PG_FUNCTION_ARGS)
{
	QKllState  *st = (QKllState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	initStringInfo(&buf);
	QualitySerializeKll(&buf, &st->kll);
	PG_RETURN_BYTEA_P(qsa_bytea(&buf));
}

/*
 * metaetl_kll_deserial
 *		Deserialisation function of etl._kll: a fresh sketch in the
 *		current context filled by QualityDeserializeKll.
 */
Datum
metaetl_kll_deserial(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	QKllState  *st = qkll_state_new(CurrentMemoryContext);

	QualityDeserializeKll(VARDATA_ANY(in), VARDATA_ANY(in) + VARSIZE_ANY_EXHDR(in), &st->kll);
	PG_RETURN_POINTER(st);
}

/* ------------------------------------------------------------ exact quantiles */

typedef struct QValuesState
{
	int64		n;
	int64		cap;
	double	   *v;
	int			nq;
	double	   *q;
} QValuesState;

static QValuesState *
qvals_new(MemoryContext cxt)
{
	return MemoryContextAllocZero(cxt, sizeof(QValuesState));
}

static void
qvals_push(MemoryContext cxt, QValuesState *st, const double *v, int64 n)
{
	if (st->n + n > st->cap)
	{
		int64		cap = Max(st->cap * 2, 1024);
		double	   *grown;

		while (cap < st->n + n)
			cap *= 2;
		grown = MemoryContextAllocHuge(cxt, sizeof(double) * cap);
		if (st->n > 0)
			memcpy(grown, st->v, sizeof(double) * st->n);
		if (st->v)
			pfree(st->v);
		st->v = grown;
		st->cap = cap;
	}
	memcpy(st->v + st->n, v, sizeof(double) * n);
	st->n += n;
}

static void
qvals_set_q(MemoryContext cxt, QValuesState *st, const double *q, int nq)
{
	st->q = MemoryContextAlloc(cxt, sizeof(double) * Max(nq, 1));
	memcpy(st->q, q, sizeof(double) * nq);
	st->nq = nq;
}

/*
 * metaetl_quantiles_sfunc
 *		Transition function of etl._quantiles(float8, float8[]): keeps
 *		every non-NaN value (8 bytes each) for exact quantiles.
 *
 *		The requested fractions are read once, on the first call with
 *		them, and checked to lie in [0, 1] (a NULL fraction means the
 *		median), so a bad rule fails before the scan does any more
 *		work.
 */
Datum
metaetl_quantiles_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = qsa_context(fcinfo, "metaetl_quantiles_sfunc");
	QValuesState *st = PG_ARGISNULL(0) ? qvals_new(cxt) : (QValuesState *) PG_GETARG_POINTER(0);

	if (st->q == NULL && !PG_ARGISNULL(2))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(2);
		Datum	   *d;
		bool	   *nulls;
		int			n;
		double	   *q;

		deconstruct_array(a, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &d, &nulls, &n);
		q = palloc(sizeof(double) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			q[i] = nulls[i] ? 0.5 : DatumGetFloat8(d[i]);
			if (!(q[i] >= 0 && q[i] <= 1))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("a quantile must be between 0 and 1, not %g", q[i])));
		}
		qvals_set_q(cxt, st, q, n);
	}
	if (!PG_ARGISNULL(1) && !isnan(PG_GETARG_FLOAT8(1)))
	{
		double		v = PG_GETARG_FLOAT8(1);

		qvals_push(cxt, st, &v, 1);
	}
	PG_RETURN_POINTER(st);
}

static int
qvals_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * qvals_select
 *		Reorder v[lo..hi] so that v[k] is the value of rank k, smaller ones
 *		before it and larger ones after (quickselect, median-of-three pivots,
 *		a sort when it does not converge): expected linear time, where a sort
 *		of a million values costs several times more.
 */
static void
qvals_select(double *v, int64 lo, int64 hi, int64 k)
{
	int			rounds = 0;

	while (hi - lo > 16)
	{
		int64		mid = lo + (hi - lo) / 2;
		double		x = v[lo],
					y = v[mid],
					z = v[hi];
		double		pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
		int64		i = lo,
					j = hi;

		if (++rounds > 64)
			break;
		while (i <= j)
		{
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j)
			{
				double		tmp = v[i];

				v[i++] = v[j];
				v[j--] = tmp;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return;				/* j < k < i: v[k] is the pivot */
	}
	qsort(v + lo, hi - lo + 1, sizeof(double), qvals_cmp);
}

/*
 * metaetl_quantiles_final
 *		Final function of etl._quantiles: the requested quantiles, in
 *		the order asked, with percentile_cont's linear interpolation,
 *		so median and quantile rules agree with PostgreSQL's own
 *		aggregate.
 *
 *		The fractions are processed by increasing rank and each is
 *		selected (qvals_select) in the part right of the previous one,
 *		which costs expected linear time instead of a full sort; the
 *		upper neighbour for interpolation is the least value right of
 *		the selected rank. NULL when there is no value or no fraction.
 *		The state's array is reordered in place, which is harmless:
 *		the values themselves are unchanged, so a second call gives
 *		the same result.
 */
Datum
metaetl_quantiles_final(PG_FUNCTION_ARGS)
{
	QValuesState *st = PG_ARGISNULL(0) ? NULL : (QValuesState *) PG_GETARG_POINTER(0);
	Datum	   *out;
	double	   *r;

	if (st == NULL || st->n == 0 || st->nq == 0)
		PG_RETURN_NULL();
	r = palloc(sizeof(double) * st->nq);
	QualityExactQuantiles(st->v, st->n, st->q, st->nq, r);
	out = palloc(sizeof(Datum) * st->nq);
	for (int i = 0; i < st->nq; i++)
		out[i] = Float8GetDatum(r[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, st->nq, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * QualityExactQuantiles
 *		out[i]: the q[i] quantile of the n (> 0) values v, with
 *		percentile_cont's linear interpolation; v is reordered in place
 *		(its values unchanged).  etl._quantiles' final function, and
 *		the fused aggregate rules' (colstats.c).
 */
void
QualityExactQuantiles(double *v, int64 n, const double *q, int nq, double *out)
{
	int64	   *pos;
	int		   *order;

	pos = palloc(sizeof(int64) * Max(nq, 1));
	order = palloc(sizeof(int) * Max(nq, 1));
	for (int i = 0; i < nq; i++)
	{
		pos[i] = (int64) floor(q[i] * (n - 1));
		order[i] = i;
	}
	/* the quantiles by rank, each selected in what is right of the last */
	for (int i = 1; i < nq; i++)
		for (int j = i; j > 0 && pos[order[j]] < pos[order[j - 1]]; j--)
		{
			int			tmp = order[j];

			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}
	{
		int64		start = 0;

		for (int r = 0; r < nq; r++)
		{
			int			i = order[r];
			int64		lo = pos[i];
			int64		hi = Min(lo + 1, n - 1);
			double		a,
						b;
			double		p = q[i] * (n - 1);

			if (lo >= start)
				qvals_select(v, start, n - 1, lo);
			a = v[lo];
			/* percentile_cont: linear interpolation with the next rank, the least value right of lo */
			b = a;
			if (hi > lo)
			{
				b = v[lo + 1];
				for (int64 x = lo + 2; x < n; x++)
					if (v[x] < b)
						b = v[x];
			}
			out[i] = a + (p - lo) * (b - a);
			start = lo + 1;
		}
	}
	pfree(pos);
	pfree(order);
}

/*
 * metaetl_quantiles_combine
 *		Combine function of etl._quantiles: appends a worker's values
 *		to the leader's (and takes its fractions if the leader has
 *		none yet). The values are kept whole, so the result is exact
 *		whatever the parallel plan: this is why the rule does not use
 *		percentile_cont, which has no combine function and would make
 *		the whole scan serial.
 */
Datum
metaetl_quantiles_combine(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = qsa_context(fcinfo, "metaetl_quantiles_combine");
	QValuesState *a = PG_ARGISNULL(0) ? NULL : (QValuesState *) PG_GETARG_POINTER(0);
	QValuesState *b = PG_ARGISNULL(1) ? NULL : (QValuesState *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = qvals_new(cxt);
	if (a->q == NULL && b->q != NULL)
		qvals_set_q(cxt, a, b->q, b->nq);
	if (b->n > 0)
		qvals_push(cxt, a, b->v, b->n);
	PG_RETURN_POINTER(a);
}

/* layout: int32 nq, nq doubles, int64 n, n doubles */
Datum
metaetl_quantiles_serial(PG_FUNCTION_ARGS)
{
	QValuesState *st = (QValuesState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int32		nq = st->nq;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (char *) &nq, sizeof(nq));
	appendBinaryStringInfo(&buf, (char *) st->q, sizeof(double) * nq);
	appendBinaryStringInfo(&buf, (char *) &st->n, sizeof(int64));
	appendBinaryStringInfo(&buf, (char *) st->v, sizeof(double) * st->n);
	PG_RETURN_BYTEA_P(qsa_bytea(&buf));
}

/*
 * metaetl_quantiles_deserial
 *		Deserialisation function of etl._quantiles: reads the layout
 *		of metaetl_quantiles_serial, checking both lengths against the
 *		bytea.
 */
Datum
metaetl_quantiles_deserial(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(in);
	const char *end = p + VARSIZE_ANY_EXHDR(in);
	QValuesState *st = qvals_new(CurrentMemoryContext);
	int32		nq;
	int64		n;

	qsa_read(&p, end, &nq, sizeof(nq));
	if (nq < 0 || end - p < (long) (sizeof(double) * nq))
		elog(ERROR, "invalid quantiles state");
	if (nq > 0)
		qvals_set_q(CurrentMemoryContext, st, (const double *) p, nq);
	p += sizeof(double) * nq;
	qsa_read(&p, end, &n, sizeof(n));
	if (n < 0 || end - p < (long) (sizeof(double) * n))
		elog(ERROR, "invalid quantiles state");
	if (n > 0)
		qvals_push(CurrentMemoryContext, st, (const double *) p, n);
	PG_RETURN_POINTER(st);
}

/* ------------------------------------------------------------ outliers */

typedef struct QOutlierState
{
	int			ncols;
	int64		nrows;
	int64		cap;
	double	   *x;				/* row-major; NaN for NULL */
	char	   *method;
	char	   *options;		/* jsonb as text */
} QOutlierState;

static void
qout_push(MemoryContext cxt, QOutlierState *st, const double *row, int64 nrows)
{
	if (st->nrows + nrows > st->cap)
	{
		int64		cap = Max(st->cap * 2, 1024);
		double	   *grown;

		while (cap < st->nrows + nrows)
			cap *= 2;
		grown = MemoryContextAllocHuge(cxt, sizeof(double) * cap * st->ncols);
		if (st->nrows > 0)
			memcpy(grown, st->x, sizeof(double) * st->nrows * st->ncols);
		if (st->x)
			pfree(st->x);
		st->x = grown;
		st->cap = cap;
	}
	memcpy(st->x + st->nrows * st->ncols, row, sizeof(double) * nrows * st->ncols);
	st->nrows += nrows;
}

/*
 * metaetl_outliers_sfunc
 *		Transition function of etl._outliers(method, options, VARIADIC
 *		float8[]): collects each row's values (NaN for NULL or non-
 *		finite), for the detectors of anomaly.c that need all the rows
 *		at once.
 *
 *		Method and options are taken from the first row (they are
 *		constants of the rule); every later row must have the same
 *		width, as the matrix is stored row-major.
 */
Datum
metaetl_outliers_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = qsa_context(fcinfo, "metaetl_outliers_sfunc");
	QOutlierState *st = PG_ARGISNULL(0) ? NULL : (QOutlierState *) PG_GETARG_POINTER(0);
	ArrayType  *a;
	Datum	   *d;
	bool	   *nulls;
	int			n;
	double	   *row;

	if (PG_ARGISNULL(3))
		PG_RETURN_POINTER(st);
	a = PG_GETARG_ARRAYTYPE_P(3);
	deconstruct_array(a, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &d, &nulls, &n);
	if (st == NULL)
	{
		st = MemoryContextAllocZero(cxt, sizeof(QOutlierState));
		st->ncols = n;
		st->method = MemoryContextStrdup(cxt, PG_ARGISNULL(1) ? "zscore" : text_to_cstring(PG_GETARG_TEXT_PP(1)));
		st->options = MemoryContextStrdup(cxt, PG_ARGISNULL(2) ? "{}" :
										  JsonbToCString(NULL, &PG_GETARG_JSONB_P(2)->root, 64));
	}
	if (n != st->ncols)
		elog(ERROR, "etl._outliers: rows have different widths");
	row = palloc(sizeof(double) * n);
	for (int i = 0; i < n; i++)
		row[i] = nulls[i] || !isfinite(DatumGetFloat8(d[i])) ? NAN : DatumGetFloat8(d[i]);
	qout_push(cxt, st, row, 1);
	pfree(row);
	PG_RETURN_POINTER(st);
}

static int	qout_sort_ncols;

static int
qout_row_cmp(const void *a, const void *b)
{
	const double *x = a;
	const double *y = b;

	for (int i = 0; i < qout_sort_ncols; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

/*
 * metaetl_outliers_final
 *		Final function of etl._outliers: handles missing values (rows
 *		skipped, or the column mean with options nulls = impute_mean),
 *		sorts the complete rows and counts outliers with
 *		QualityCountOutliers, returning {"rows", "scored", "flagged",
 *		"max_score"}.
 *
 *		The sort makes the result independent of the order the rows
 *		arrived in (parallel workers combine in any order), since some
 *		detectors (isolation forest sampling) depend on row order.
 */
Datum
metaetl_outliers_final(PG_FUNCTION_ARGS)
{
	QOutlierState *st = PG_ARGISNULL(0) ? NULL : (QOutlierState *) PG_GETARG_POINTER(0);
	Jsonb	   *options;
	bool		impute;
	int64		complete = 0;
	int64		flagged;
	double		max_score = 0;
	StringInfoData b;

	if (st == NULL || st->nrows == 0)
		PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum("{\"rows\": 0, \"scored\": 0, \"flagged\": 0}")));
	options = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(st->options)));
	{
		JsonbValue	nv;

		impute = getKeyJsonValueFromContainer(&options->root, "nulls", 5, &nv) != NULL &&
			nv.type == jbvString && nv.val.string.len == 11 &&
			strncmp(nv.val.string.val, "impute_mean", 11) == 0;
	}

	/* rows with a missing value: skipped, or the column mean (option nulls) */
	if (impute)
	{
		for (int c = 0; c < st->ncols; c++)
		{
			double		sum = 0;
			int64		k = 0;

			for (int64 r = 0; r < st->nrows; r++)
				if (!isnan(st->x[r * st->ncols + c]))
				{
					sum += st->x[r * st->ncols + c];
					k++;
				}
			for (int64 r = 0; r < st->nrows && k > 0; r++)
				if (isnan(st->x[r * st->ncols + c]))
					st->x[r * st->ncols + c] = sum / k;
		}
	}
	for (int64 r = 0; r < st->nrows; r++)
	{
		bool		ok = true;

		for (int c = 0; c < st->ncols; c++)
			if (isnan(st->x[r * st->ncols + c]))
				ok = false;
		if (ok)
		{
			if (complete != r)
				memmove(st->x + complete * st->ncols, st->x + r * st->ncols, sizeof(double) * st->ncols);
			complete++;
		}
	}

	/* rows arrive in any order (parallel workers): sort them, for one result */
	qout_sort_ncols = st->ncols;
	qsort(st->x, complete, sizeof(double) * st->ncols, qout_row_cmp);
	flagged = QualityCountOutliers(st->method, options, st->x, complete, st->ncols, &max_score, CurrentMemoryContext);

	initStringInfo(&b);
	appendStringInfo(&b, "{\"rows\": " INT64_FORMAT ", \"scored\": " INT64_FORMAT ", \"flagged\": " INT64_FORMAT,
					 st->nrows, complete, flagged);
	if (complete >= 2 && isfinite(max_score))
		appendStringInfo(&b, ", \"max_score\": %s", float8out_internal(max_score));
	appendStringInfoChar(&b, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}

/*
 * metaetl_outliers_combine
 *		Combine function of etl._outliers: appends a worker's rows to
 *		the leader's matrix, copying method and options when the
 *		leader has no row yet. Scoring waits for the final function,
 *		which sees all the rows.
 */
Datum
metaetl_outliers_combine(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = qsa_context(fcinfo, "metaetl_outliers_combine");
	QOutlierState *a = PG_ARGISNULL(0) ? NULL : (QOutlierState *) PG_GETARG_POINTER(0);
	QOutlierState *b = PG_ARGISNULL(1) ? NULL : (QOutlierState *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
	{
		a = MemoryContextAllocZero(cxt, sizeof(QOutlierState));
		a->ncols = b->ncols;
		a->method = MemoryContextStrdup(cxt, b->method);
		a->options = MemoryContextStrdup(cxt, b->options);
	}
	if (b->nrows > 0)
		qout_push(cxt, a, b->x, b->nrows);
	PG_RETURN_POINTER(a);
}

/* layout: int32 ncols, method\0, options\0, int64 nrows, rows */
Datum
metaetl_outliers_serial(PG_FUNCTION_ARGS)
{
	QOutlierState *st = (QOutlierState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int32		nc = st->ncols;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (char *) &nc, sizeof(nc));
	appendBinaryStringInfo(&buf, st->method, strlen(st->method) + 1);
	appendBinaryStringInfo(&buf, st->options, strlen(st->options) + 1);
	appendBinaryStringInfo(&buf, (char *) &st->nrows, sizeof(int64));
	appendBinaryStringInfo(&buf, (char *) st->x, sizeof(double) * st->nrows * st->ncols);
	PG_RETURN_BYTEA_P(qsa_bytea(&buf));
}

/*
 * metaetl_outliers_deserial
 *		Deserialisation function of etl._outliers: reads the layout of
 *		metaetl_outliers_serial, bounding the column count and
 *		checking the row data's length, so a corrupt state cannot make
 *		it read past the bytea.
 */
Datum
metaetl_outliers_deserial(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(in);
	const char *end = p + VARSIZE_ANY_EXHDR(in);
	QOutlierState *st = palloc0(sizeof(QOutlierState));
	int32		nc;
	int64		n;

	qsa_read(&p, end, &nc, sizeof(nc));
	if (nc <= 0 || nc > 100)
		elog(ERROR, "invalid outliers state");
	st->ncols = nc;
	st->method = pstrdup(p);
	p += strnlen(p, end - p) + 1;
	st->options = pstrdup(p);
	p += strnlen(p, end - p) + 1;
	qsa_read(&p, end, &n, sizeof(n));
	if (n < 0 || end - p < (long) (sizeof(double) * n * nc))
		elog(ERROR, "invalid outliers state");
	if (n > 0)
		qout_push(CurrentMemoryContext, st, (const double *) p, n);
	PG_RETURN_POINTER(st);
}

/* ------------------------------------------------------------ monotonic */

typedef struct QMonoState
{
	FmgrInfo	cmp;
	Oid			collation;
	Oid			typid;
	int16		typlen;
	bool		typbyval;
	bool		have_prev;
	Datum		prev;
	int64		pairs;
	int64		violations;
	int			nsamples;
	StringInfoData samples;
} QMonoState;

/*
 * etl._monotonic(value anyelement, strict bool, decreasing bool ORDER BY key)
 * A pair of consecutive values breaks the rule when it goes the wrong way
 * (or, with strict, does not move).
 */
Datum
metaetl_monotonic_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = qsa_context(fcinfo, "metaetl_monotonic_sfunc");
	QMonoState *st = PG_ARGISNULL(0) ? NULL : (QMonoState *) PG_GETARG_POINTER(0);
	bool		strict = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	bool		decreasing = !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	Datum		v;
	MemoryContext old;

	if (st == NULL)
	{
		Oid			typid = get_fn_expr_argtype(fcinfo->flinfo, 1);
		TypeCacheEntry *tce = lookup_type_cache(typid, TYPECACHE_CMP_PROC_FINFO);

		if (!OidIsValid(tce->cmp_proc))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("type %s has no ordering, so a monotonic rule cannot compare its values",
							format_type_be(typid))));
		st = MemoryContextAllocZero(cxt, sizeof(QMonoState));
		fmgr_info_cxt(tce->cmp_proc, &st->cmp, cxt);
		st->collation = PG_GET_COLLATION();
		st->typid = typid;
		st->typlen = tce->typlen;
		st->typbyval = tce->typbyval;
		old = MemoryContextSwitchTo(cxt);
		initStringInfo(&st->samples);
		MemoryContextSwitchTo(old);
	}
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	v = PG_GETARG_DATUM(1);
	if (st->have_prev)
	{
		int			c = DatumGetInt32(FunctionCall2Coll(&st->cmp, st->collation, st->prev, v));
		bool		bad = decreasing ? (c < 0 || (strict && c == 0)) : (c > 0 || (strict && c == 0));

		st->pairs++;
		if (bad)
		{
			st->violations++;
			if (st->nsamples < 5)
			{
				old = MemoryContextSwitchTo(cxt);
				appendStringInfoString(&st->samples, st->nsamples ? ", {\"previous\": " : "{\"previous\": ");
				QualityValueJson(&st->samples, st->typid, st->prev, false);
				appendStringInfoString(&st->samples, ", \"value\": ");
				QualityValueJson(&st->samples, st->typid, v, false);
				appendStringInfoChar(&st->samples, '}');
				MemoryContextSwitchTo(old);
				st->nsamples++;
			}
		}
		if (!st->typbyval)
			pfree(DatumGetPointer(st->prev));
	}
	old = MemoryContextSwitchTo(cxt);
	st->prev = datumCopy(v, st->typbyval, st->typlen);
	MemoryContextSwitchTo(old);
	st->have_prev = true;
	PG_RETURN_POINTER(st);
}

/*
 * metaetl_monotonic_final
 *		Final function of etl._monotonic: {"pairs": consecutive pairs
 *		compared, "violations": pairs that broke the order, "samples":
 *		up to five such pairs}, which the monotonic rule turns into
 *		its failure count.
 */
Datum
metaetl_monotonic_final(PG_FUNCTION_ARGS)
{
	QMonoState *st = PG_ARGISNULL(0) ? NULL : (QMonoState *) PG_GETARG_POINTER(0);
	StringInfoData b;

	initStringInfo(&b);
	if (st == NULL)
		appendStringInfoString(&b, "{\"pairs\": 0, \"violations\": 0, \"samples\": []}");
	else
		appendStringInfo(&b, "{\"pairs\": " INT64_FORMAT ", \"violations\": " INT64_FORMAT ", \"samples\": [%s]}",
						 st->pairs, st->violations, st->samples.data);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}

/* ------------------------------------------------------------ weighted distribution */

/*
 * etl._numdist(v float8, n int8) → jsonb
 *		The exact profile's distribution of a numeric column from its table
 *		of distinct values and counts (the profile's per-column hash
 *		aggregate, profile.c): {"quantiles": [p05, p25, p50, p75, p95]
 *		(percentile_cont's interpolation), "histogram": {min, max, counts[10]}
 *		(equal-width bins over the finite range, the last closed, as numpy's),
 *		"sketch": a KLL sketch for drift rules}.  Memory grows with the
 *		distinct values, not the rows; no per-row sort as percentile_cont.
 *		Not parallel: it reads the value table of one column.
 */
typedef struct QDistPair
{
	double		v;
	int64		n;
} QDistPair;

typedef struct QDistState
{
	int64		len;
	int64		cap;
	QDistPair  *p;
} QDistState;

PG_FUNCTION_INFO_V1(metaetl_numdist_sfunc);
PG_FUNCTION_INFO_V1(metaetl_numdist_final);

/*
 * metaetl_numdist_sfunc
 *		Transition function of etl._numdist (described above): appends
 *		one (value, count) pair of the column's value table, ignoring
 *		NULLs, NaNs and non-positive counts.
 */
Datum
metaetl_numdist_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = qsa_context(fcinfo, "metaetl_numdist_sfunc");
	QDistState *st = PG_ARGISNULL(0) ? MemoryContextAllocZero(cxt, sizeof(QDistState)) : (QDistState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || isnan(PG_GETARG_FLOAT8(1)) || PG_GETARG_INT64(2) <= 0)
		PG_RETURN_POINTER(st);
	if (st->len == st->cap)
	{
		int64		cap = Max(st->cap * 2, 256);
		QDistPair  *grown = MemoryContextAllocHuge(cxt, sizeof(QDistPair) * cap);

		if (st->len > 0)
			memcpy(grown, st->p, sizeof(QDistPair) * st->len);
		if (st->p)
			pfree(st->p);
		st->p = grown;
		st->cap = cap;
	}
	st->p[st->len].v = PG_GETARG_FLOAT8(1);
	st->p[st->len].n = PG_GETARG_INT64(2);
	st->len++;
	PG_RETURN_POINTER(st);
}

static int
qdist_cmp(const void *a, const void *b)
{
	double		x = ((const QDistPair *) a)->v;
	double		y = ((const QDistPair *) b)->v;

	return (x > y) - (x < y);
}

/* the value at 0-based rank r of the sorted weighted values */
static double
qdist_at(const QDistState *st, int64 r)
{
	int64		cum = 0;

	for (int64 i = 0; i < st->len; i++)
	{
		cum += st->p[i].n;
		if (cum > r)
			return st->p[i].v;
	}
	return st->p[st->len - 1].v;
}

/*
 * metaetl_numdist_final
 *		Final function of etl._numdist: sorts the pairs by value and
 *		builds the quantiles, the histogram and a KLL sketch from the
 *		weighted values.
 *
 *		A value seen n times enters the sketch as one item per set bit
 *		of n (at that bit's level), so the sketch weighs it correctly
 *		without adding it n times.
 */
Datum
metaetl_numdist_final(PG_FUNCTION_ARGS)
{
	QDistState *st = PG_ARGISNULL(0) ? NULL : (QDistState *) PG_GETARG_POINTER(0);
	StringInfoData b;
	int64		total = 0;
	double		lo = INFINITY,
				hi = -INFINITY;
	int64		finite = 0;
	QSketchAlloc alloc = {qsa_alloc, qsa_release, CurrentMemoryContext};
	QKll		kll;
	static const double qs[5] = {0.05, 0.25, 0.5, 0.75, 0.95};

	initStringInfo(&b);
	if (st == NULL || st->len == 0)
	{
		appendStringInfo(&b, "{\"quantiles\": null, \"histogram\": null, \"sketch\": {\"k\": %d, \"n\": 0, \"levels\": [[]]}}",
						 QKLL_DEFAULT_K);
		PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
	}
	qsort(st->p, st->len, sizeof(QDistPair), qdist_cmp);
	QKllInit(&kll, QKLL_DEFAULT_K, &alloc);
	for (int64 i = 0; i < st->len; i++)
	{
		total += st->p[i].n;
		if (isfinite(st->p[i].v))
		{
			lo = Min(lo, st->p[i].v);
			hi = Max(hi, st->p[i].v);
			finite += st->p[i].n;
			/* a value seen n times: one item at level h for every bit h of n */
			for (int h = 0; h < QKLL_MAX_LEVELS && (st->p[i].n >> h) != 0; h++)
				if ((st->p[i].n >> h) & 1)
					QKllAddWeighted(&kll, st->p[i].v, h);
		}
	}
	kll.n = (uint64) finite;

	appendStringInfoString(&b, "{\"quantiles\": [");
	for (int k = 0; k < 5; k++)
	{
		double		pos = qs[k] * (double) (total - 1);
		int64		r = (int64) floor(pos);
		double		a = qdist_at(st, r);
		double		c = r + 1 < total ? qdist_at(st, r + 1) : a;
		double		v = (pos == r) ? a : a + (pos - r) * (c - a);

		appendStringInfo(&b, "%s%s", k ? ", " : "", isfinite(v) ? float8out_internal(v) : (isnan(v) ? "null" : (v > 0 ? "\"Infinity\"" : "\"-Infinity\"")));
	}
	appendStringInfoString(&b, "], \"histogram\": ");
	if (finite == 0)
		appendStringInfoString(&b, "null");
	else
	{
		int64		counts[10] = {0};

		for (int64 i = 0; i < st->len; i++)
		{
			double		v = st->p[i].v;
			int			bin;

			if (!isfinite(v))
				continue;
			/* PostgreSQL's own width_bucket, so the bins are what SQL would say */
			bin = (hi == lo) ? 1 :
				DatumGetInt32(DirectFunctionCall4(width_bucket_float8, Float8GetDatum(v), Float8GetDatum(lo),
												  Float8GetDatum(hi), Int32GetDatum(10)));
			counts[Max(1, Min(bin, 10)) - 1] += st->p[i].n;
		}
		appendStringInfo(&b, "{\"min\": %s, \"max\": %s, \"counts\": [", float8out_internal(lo), float8out_internal(hi));
		for (int k = 0; k < 10; k++)
			appendStringInfo(&b, "%s" INT64_FORMAT, k ? ", " : "", counts[k]);
		appendStringInfoString(&b, "]}");
	}
	appendStringInfoString(&b, ", \"sketch\": ");
	QualityKllJson(&b, &kll);
	appendStringInfoChar(&b, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}
