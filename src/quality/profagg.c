/*-------------------------------------------------------------------------
 *
 * src/quality/profagg.c
 *		The approximate profile in one aggregate call per row:
 *		etl._profile_approx(VARIADIC "any") → jsonb.
 *
 * etl.profile with approximate (the default above 100,000 rows) computes
 * every column's profile in a single pass: one transition call per row
 * handles all the row's columns in C (PostgreSQL's aggregate machinery costs
 * about as much per aggregate as the work itself, so one call instead of
 * sixty is what keeps the scan near a columnar engine's speed).  Per column:
 *   count; distinct by HyperLogLog (2^14 registers, 0.81% standard error);
 *   min and max in the column's type (text by the call's collation);
 *   for numbers: moments (profstats.c), zeros, negatives, a KLL sketch
 *     (sketch.c) for quantiles and the histogram, finite bounds;
 *   for text: blanks and lengths, the first 10,000 values for the semantic
 *     type;
 *   top values: exact counts while a column has at most 4,096 distinct
 *     values (valtab.c), none beyond;
 * and per row a 64-bit hash of the whole row: duplicate rows are counted
 * exactly up to hash collisions (probability below n^2 / 2^65) for up to
 * 16M rows, and estimated with HyperLogLog beyond.
 * Partial aggregation (parallel scans) combines every part.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "quality/profstats.h"
#include "quality/quality.h"
#include "quality/rules.h"
#include "quality/sketch.h"
#include "quality/valtab.h"

PG_FUNCTION_INFO_V1(metaetl_profile_sfunc);
PG_FUNCTION_INFO_V1(metaetl_profile_final);
PG_FUNCTION_INFO_V1(metaetl_profile_combine);
PG_FUNCTION_INFO_V1(metaetl_profile_serial);
PG_FUNCTION_INFO_V1(metaetl_profile_deserial);

#define QP_TOP_ENTRIES 4096
#define QP_SAMPLE 10000
#define QP_ROWHASH_MAX ((int64) 16 * 1024 * 1024)

typedef enum QPKind
{
	QPK_NUMBER,
	QPK_TEXT,
	QPK_OTHER
} QPKind;

typedef struct QPCol
{
	Oid			typid;
	int16		typlen;
	bool		typbyval;
	QPKind		kind;
	bool		has_hash;
	bool		has_cmp;
	FmgrInfo	hashfn;
	FmgrInfo	cmpfn;
	Oid			outfn;			/* text form, to hash a type without a hash */
	int64		count;
	QHll		hll;
	bool		have_minmax;
	Datum		min;
	Datum		max;
	/* numbers */
	QMoments	mom;
	QKll		kll;
	int64		zeros;
	int64		negatives;
	/* text */
	int64		blanks;
	int64		len_sum;
	int32		len_min;
	int32		len_max;
	int			nsample;
	char	  **sample;
	/* top values */
	bool		track_top;
	QValTab		top;
} QPCol;

typedef struct QPState
{
	MemoryContext cxt;
	QSketchAlloc alloc;
	Oid			collation;
	int			ncols;
	QPCol	   *c;
	int64		rows;
	QHll		rowhll;
	int64		nrh;
	int64		caprh;
	uint64	   *rowhash;
	bool		rh_overflow;
} QPState;

static void *
qp_alloc(size_t size, void *arg)
{
	return MemoryContextAllocHuge((MemoryContext) arg, size);
}

static void
qp_release(void *p, void *arg)
{
	pfree(p);
}

static QPState *
qp_new(MemoryContext cxt, int ncols, const Oid *types, Oid collation)
{
	QPState    *st = MemoryContextAllocZero(cxt, sizeof(QPState));

	st->cxt = cxt;
	st->alloc.alloc = qp_alloc;
	st->alloc.release = qp_release;
	st->alloc.arg = cxt;
	st->collation = OidIsValid(collation) ? collation : DEFAULT_COLLATION_OID;
	st->ncols = ncols;
	st->c = MemoryContextAllocZero(cxt, sizeof(QPCol) * Max(ncols, 1));
	QHllInit(&st->rowhll);
	for (int i = 0; i < ncols; i++)
	{
		QPCol	   *c = &st->c[i];
		Oid			base = getBaseType(types[i]);
		TypeCacheEntry *tce = lookup_type_cache(types[i], TYPECACHE_HASH_EXTENDED_PROC | TYPECACHE_EQ_OPR |
												TYPECACHE_CMP_PROC);
		char		cat;
		bool		pref;
		bool		varlena;

		c->typid = types[i];
		c->typlen = tce->typlen;
		c->typbyval = tce->typbyval;
		get_type_category_preferred(base, &cat, &pref);
		c->kind = (base == INT2OID || base == INT4OID || base == INT8OID || base == FLOAT4OID ||
				   base == FLOAT8OID || base == NUMERICOID) ? QPK_NUMBER :
			cat == TYPCATEGORY_STRING ? QPK_TEXT : QPK_OTHER;
		c->has_hash = OidIsValid(tce->hash_extended_proc) && OidIsValid(tce->eq_opr);
		if (c->has_hash)
			fmgr_info_cxt(tce->hash_extended_proc, &c->hashfn, cxt);
		c->has_cmp = OidIsValid(tce->cmp_proc) && (c->kind != QPK_OTHER || cat == TYPCATEGORY_DATETIME ||
												   cat == TYPCATEGORY_TIMESPAN);
		if (c->has_cmp)
			fmgr_info_cxt(tce->cmp_proc, &c->cmpfn, cxt);
		getTypeOutputInfo(types[i], &c->outfn, &varlena);
		QHllInit(&c->hll);
		QMomentsInit(&c->mom);
		QKllInit(&c->kll, QKLL_DEFAULT_K, &st->alloc);
		c->len_min = PG_INT32_MAX;
		c->len_max = -1;
		c->track_top = c->has_hash;
		if (c->track_top)
			QValTabInit(&c->top, cxt, types[i], st->collation, QP_TOP_ENTRIES);
		if (c->kind == QPK_TEXT)
			c->sample = MemoryContextAllocZero(cxt, sizeof(char *) * QP_SAMPLE);
	}
	return st;
}

static double
qp_float(Oid base, Datum v)
{
	switch (base)
	{
		case INT2OID:
			return (double) DatumGetInt16(v);
		case INT4OID:
			return (double) DatumGetInt32(v);
		case INT8OID:
			return (double) DatumGetInt64(v);
		case FLOAT4OID:
			return (double) DatumGetFloat4(v);
		case FLOAT8OID:
			return DatumGetFloat8(v);
		default:
			return QualityNumericToFloat8(v);
	}
}

static void
qp_minmax(QPState *st, QPCol *c, Datum v)
{
	MemoryContext old;

	if (!c->has_cmp)
		return;
	if (c->have_minmax)
	{
		bool		lo = DatumGetInt32(FunctionCall2Coll(&c->cmpfn, st->collation, v, c->min)) < 0;
		bool		hi = !lo && DatumGetInt32(FunctionCall2Coll(&c->cmpfn, st->collation, v, c->max)) > 0;

		if (!lo && !hi)
			return;
		old = MemoryContextSwitchTo(st->cxt);
		if (lo)
		{
			if (!c->typbyval)
				pfree(DatumGetPointer(c->min));
			c->min = datumCopy(v, c->typbyval, c->typlen);
		}
		else
		{
			if (!c->typbyval)
				pfree(DatumGetPointer(c->max));
			c->max = datumCopy(v, c->typbyval, c->typlen);
		}
		MemoryContextSwitchTo(old);
		return;
	}
	old = MemoryContextSwitchTo(st->cxt);
	c->min = datumCopy(v, c->typbyval, c->typlen);
	c->max = datumCopy(v, c->typbyval, c->typlen);
	MemoryContextSwitchTo(old);
	c->have_minmax = true;
}

static void
qp_rowhash(QPState *st, uint64 h)
{
	QHllAdd(&st->rowhll, h);
	if (st->rh_overflow)
		return;
	if (st->nrh >= QP_ROWHASH_MAX)
	{
		st->rh_overflow = true;
		return;
	}
	if (st->nrh == st->caprh)
	{
		int64		cap = Max(st->caprh * 2, 4096);
		uint64	   *grown = MemoryContextAllocHuge(st->cxt, sizeof(uint64) * cap);

		if (st->nrh > 0)
			memcpy(grown, st->rowhash, sizeof(uint64) * st->nrh);
		if (st->rowhash)
			pfree(st->rowhash);
		st->rowhash = grown;
		st->caprh = cap;
	}
	st->rowhash[st->nrh++] = h;
}

/*
 * metaetl_profile_sfunc
 *		Transition function of etl._profile_approx(VARIADIC "any"):
 *		updates every column's statistics from one row (see the file
 *		header for the list) and adds the row's hash for duplicate
 *		counting.
 *
 *		The state is built on the first call from the argument types,
 *		which fix each column's kind (number, text, other) and hash or
 *		output function. A NULL still enters the row hash (as a per-
 *		position constant), so rows that differ only in which column
 *		is NULL are not taken for duplicates. A column's top values
 *		stop being tracked for good once it exceeds QP_TOP_ENTRIES
 *		distinct values, which bounds the state's memory.
 */
Datum
metaetl_profile_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext cxt;
	QPState    *st = PG_ARGISNULL(0) ? NULL : (QPState *) PG_GETARG_POINTER(0);
	uint64		rowh = 0x84222325cbf29ce4ULL;

	if (!AggCheckCallContext(fcinfo, &cxt))
		elog(ERROR, "metaetl_profile_sfunc called in non-aggregate context");
	if (st == NULL)
	{
		int			n = PG_NARGS() - 1;
		Oid		   *types = palloc(sizeof(Oid) * Max(n, 1));

		for (int i = 0; i < n; i++)
			types[i] = get_fn_expr_argtype(fcinfo->flinfo, i + 1);
		st = qp_new(cxt, n, types, PG_GET_COLLATION());
	}
	st->rows++;
	for (int i = 0; i < st->ncols; i++)
	{
		QPCol	   *c = &st->c[i];
		Datum		v;
		uint64		h;

		if (PG_ARGISNULL(i + 1))
		{
			rowh = hash_combine64(rowh, 0x5bd1e995ULL + i);
			continue;
		}
		v = PG_GETARG_DATUM(i + 1);
		c->count++;
		if (c->has_hash)
			h = DatumGetUInt64(FunctionCall2Coll(&c->hashfn, st->collation, v, UInt64GetDatum(0)));
		else
		{
			char	   *s = OidOutputFunctionCall(c->outfn, v);

			h = hash_bytes_extended((const unsigned char *) s, strlen(s), 0);
			pfree(s);
		}
		QHllAdd(&c->hll, QHllMix(h));
		rowh = hash_combine64(rowh, h);
		qp_minmax(st, c, v);
		if (c->kind == QPK_NUMBER)
		{
			double		x = qp_float(getBaseType(c->typid), v);

			if (!isnan(x))
			{
				QMomentsAdd(&c->mom, x);
				if (isfinite(x))
					QKllAdd(&c->kll, x);
				if (x == 0)
					c->zeros++;
				else if (x < 0)
					c->negatives++;
			}
		}
		else if (c->kind == QPK_TEXT)
		{
			text	   *t = DatumGetTextPP(v);
			const char *p = VARDATA_ANY(t);
			int			bytes = VARSIZE_ANY_EXHDR(t);
			int			len = pg_mbstrlen_with_len(p, bytes);
			int			k = 0;

			while (k < bytes && (p[k] == ' ' || p[k] == '\t' || p[k] == '\n' || p[k] == '\r' ||
								 p[k] == '\f' || p[k] == '\v'))
				k++;
			if (k == bytes)
				c->blanks++;
			c->len_sum += len;
			if (len < c->len_min)
				c->len_min = len;
			if (len > c->len_max)
				c->len_max = len;
			if (c->nsample < QP_SAMPLE && k < bytes)
				c->sample[c->nsample++] = MemoryContextStrdup(cxt, text_to_cstring(t));
			if ((Pointer) t != DatumGetPointer(v))
				pfree(t);
		}
		if (c->track_top)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			if (QValTabAdd(&c->top, v, 1) == NULL)
				c->track_top = false;	/* too many distinct values: no top values */
			MemoryContextSwitchTo(old);
		}
	}
	qp_rowhash(st, rowh);
	PG_RETURN_POINTER(st);
}

/* ------------------------------------------------------------ combine */

Datum
metaetl_profile_combine(PG_FUNCTION_ARGS)
{
	MemoryContext cxt;
	QPState    *a = PG_ARGISNULL(0) ? NULL : (QPState *) PG_GETARG_POINTER(0);
	QPState    *b = PG_ARGISNULL(1) ? NULL : (QPState *) PG_GETARG_POINTER(1);
	MemoryContext old;

	if (!AggCheckCallContext(fcinfo, &cxt))
		elog(ERROR, "metaetl_profile_combine called in non-aggregate context");
	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
	{
		Oid		   *types = palloc(sizeof(Oid) * Max(b->ncols, 1));

		for (int i = 0; i < b->ncols; i++)
			types[i] = b->c[i].typid;
		a = qp_new(cxt, b->ncols, types, b->collation);
	}
	old = MemoryContextSwitchTo(cxt);
	a->rows += b->rows;
	for (int r = 0; r < QHLL_M; r++)
		a->rowhll.reg[r] = Max(a->rowhll.reg[r], b->rowhll.reg[r]);
	for (int64 i = 0; i < b->nrh; i++)
		qp_rowhash(a, b->rowhash[i]);
	a->rh_overflow |= b->rh_overflow;
	for (int i = 0; i < a->ncols; i++)
	{
		QPCol	   *x = &a->c[i];
		QPCol	   *y = &b->c[i];

		x->count += y->count;
		for (int r = 0; r < QHLL_M; r++)
			x->hll.reg[r] = Max(x->hll.reg[r], y->hll.reg[r]);
		if (y->have_minmax)
		{
			qp_minmax(a, x, y->min);
			qp_minmax(a, x, y->max);
		}
		QMomentsCombine(&x->mom, &y->mom);
		QKllMerge(&x->kll, &y->kll);
		x->zeros += y->zeros;
		x->negatives += y->negatives;
		x->blanks += y->blanks;
		x->len_sum += y->len_sum;
		x->len_min = Min(x->len_min, y->len_min);
		x->len_max = Max(x->len_max, y->len_max);
		for (int k = 0; k < y->nsample && x->nsample < QP_SAMPLE; k++)
			x->sample[x->nsample++] = pstrdup(y->sample[k]);
		if (x->track_top && y->track_top)
		{
			QValTabMerge(&x->top, &y->top);
			if (x->top.overflow)
				x->track_top = false;
		}
		else
			x->track_top = false;
	}
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(a);
}

/* ------------------------------------------------------------ serialise */

static void
qp_put(StringInfo b, const void *p, size_t n)
{
	appendBinaryStringInfo(b, p, n);
}

static void
qp_get(const char **p, const char *end, void *dst, size_t n)
{
	if (end - *p < (long) n)
		elog(ERROR, "invalid profile state");
	memcpy(dst, *p, n);
	*p += n;
}

static void
qp_put_datum(StringInfo b, Datum v, bool byval, int16 len)
{
	Size		sz = datumEstimateSpace(v, false, byval, len);
	char	   *p;

	enlargeStringInfo(b, sz);
	p = b->data + b->len;
	datumSerialize(v, false, byval, len, &p);
	b->len += sz;
}

static Datum
qp_get_datum(const char **p)
{
	char	   *q = (char *) *p;
	bool		isnull;
	Datum		v = datumRestore(&q, &isnull);

	*p = q;
	return v;
}

/*
 * metaetl_profile_serial
 *		Serialisation function of etl._profile_approx: writes the
 *		whole state (row hashes, then per column the counters, HLL
 *		registers, min/max as datums, moments, KLL sketch, text sample
 *		and value table) for a parallel worker to hand to the leader.
 *		The field order must stay that of metaetl_profile_deserial.
 */
Datum
metaetl_profile_serial(PG_FUNCTION_ARGS)
{
	QPState    *st = (QPState *) PG_GETARG_POINTER(0);
	StringInfoData b;
	int32		n = st->ncols;
	bytea	   *out;

	initStringInfo(&b);
	qp_put(&b, &n, sizeof(n));
	qp_put(&b, &st->collation, sizeof(Oid));
	for (int i = 0; i < n; i++)
		qp_put(&b, &st->c[i].typid, sizeof(Oid));
	qp_put(&b, &st->rows, sizeof(int64));
	qp_put(&b, st->rowhll.reg, QHLL_M);
	qp_put(&b, &st->rh_overflow, sizeof(bool));
	qp_put(&b, &st->nrh, sizeof(int64));
	qp_put(&b, st->rowhash, sizeof(uint64) * st->nrh);
	for (int i = 0; i < n; i++)
	{
		QPCol	   *c = &st->c[i];
		int32		ns = c->nsample;

		qp_put(&b, &c->count, sizeof(int64));
		qp_put(&b, c->hll.reg, QHLL_M);
		qp_put(&b, &c->have_minmax, sizeof(bool));
		if (c->have_minmax)
		{
			qp_put_datum(&b, c->min, c->typbyval, c->typlen);
			qp_put_datum(&b, c->max, c->typbyval, c->typlen);
		}
		qp_put(&b, &c->mom, sizeof(QMoments));
		QualitySerializeKll(&b, &c->kll);
		qp_put(&b, &c->zeros, sizeof(int64));
		qp_put(&b, &c->negatives, sizeof(int64));
		qp_put(&b, &c->blanks, sizeof(int64));
		qp_put(&b, &c->len_sum, sizeof(int64));
		qp_put(&b, &c->len_min, sizeof(int32));
		qp_put(&b, &c->len_max, sizeof(int32));
		qp_put(&b, &ns, sizeof(ns));
		for (int k = 0; k < ns; k++)
			qp_put(&b, c->sample[k], strlen(c->sample[k]) + 1);
		qp_put(&b, &c->track_top, sizeof(bool));
		if (c->track_top)
			QValTabSerialize(&c->top, &b);
	}
	out = palloc(VARHDRSZ + b.len);
	SET_VARSIZE(out, VARHDRSZ + b.len);
	memcpy(VARDATA(out), b.data, b.len);
	PG_RETURN_BYTEA_P(out);
}

/*
 * metaetl_profile_deserial
 *		Deserialisation function of etl._profile_approx: rebuilds the
 *		state with qp_new from the serialised column types, then reads
 *		the fields in metaetl_profile_serial's order.
 *
 *		Row hashes go through qp_rowhash again, so the exact-duplicate
 *		limit and the overflow flag keep their meaning after the
 *		transfer; lengths and counts are checked against the end of
 *		the bytea so that a corrupt state is an error.
 */
Datum
metaetl_profile_deserial(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(in);
	const char *end = p + VARSIZE_ANY_EXHDR(in);
	int32		n;
	Oid			coll;
	Oid		   *types;
	QPState    *st;
	int64		nrh;

	qp_get(&p, end, &n, sizeof(n));
	if (n < 0 || n > 100)
		elog(ERROR, "invalid profile state");
	qp_get(&p, end, &coll, sizeof(Oid));
	types = palloc(sizeof(Oid) * Max(n, 1));
	for (int i = 0; i < n; i++)
		qp_get(&p, end, &types[i], sizeof(Oid));
	st = qp_new(CurrentMemoryContext, n, types, coll);
	qp_get(&p, end, &st->rows, sizeof(int64));
	qp_get(&p, end, st->rowhll.reg, QHLL_M);
	qp_get(&p, end, &st->rh_overflow, sizeof(bool));
	qp_get(&p, end, &nrh, sizeof(int64));
	if (nrh < 0 || end - p < (long) (sizeof(uint64) * nrh))
		elog(ERROR, "invalid profile state");
	for (int64 i = 0; i < nrh; i++)
	{
		uint64		h;

		memcpy(&h, p, sizeof(h));
		p += sizeof(h);
		qp_rowhash(st, h);
	}
	for (int i = 0; i < n; i++)
	{
		QPCol	   *c = &st->c[i];
		int32		ns;
		bool		track;

		qp_get(&p, end, &c->count, sizeof(int64));
		qp_get(&p, end, c->hll.reg, QHLL_M);
		qp_get(&p, end, &c->have_minmax, sizeof(bool));
		if (c->have_minmax)
		{
			c->min = qp_get_datum(&p);
			c->max = qp_get_datum(&p);
		}
		qp_get(&p, end, &c->mom, sizeof(QMoments));
		p = QualityDeserializeKll(p, end, &c->kll);
		qp_get(&p, end, &c->zeros, sizeof(int64));
		qp_get(&p, end, &c->negatives, sizeof(int64));
		qp_get(&p, end, &c->blanks, sizeof(int64));
		qp_get(&p, end, &c->len_sum, sizeof(int64));
		qp_get(&p, end, &c->len_min, sizeof(int32));
		qp_get(&p, end, &c->len_max, sizeof(int32));
		qp_get(&p, end, &ns, sizeof(ns));
		for (int k = 0; k < ns; k++)
		{
			size_t		len = strnlen(p, end - p);

			if (p + len >= end)
				elog(ERROR, "invalid profile state");
			if (c->sample && c->nsample < QP_SAMPLE)
				c->sample[c->nsample++] = pstrdup(p);
			p += len + 1;
		}
		qp_get(&p, end, &track, sizeof(bool));
		c->track_top = track;
		if (track)
			p = QValTabDeserialize(&c->top, p, end);
	}
	PG_RETURN_POINTER(st);
}

/* ------------------------------------------------------------ final */

static int
qp_u64_cmp(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return (x > y) - (x < y);
}

static void
qp_num(StringInfo b, const char *key, bool has, double v)
{
	appendStringInfo(b, ", \"%s\": ", key);
	if (has && isfinite(v))
		appendStringInfoString(b, float8out_internal(v));
	else
		appendStringInfoString(b, "null");
}

/* the semantic type of a text column from its sample, as the exact profile decides */
static void
qp_semantic(StringInfo b, QPCol *c)
{
	static const char *const kinds[] = {"integer", "date", "timestamp", "uuid", "email", "url", "phone", "json"};
	int			total = c->nsample;

	if (total == 0)
	{
		appendStringInfoString(b, ", \"semantic_type\": null");
		return;
	}
	for (int k = 0; k < lengthof(kinds); k++)
	{
		int			hits = 0;

		if (strcmp(kinds[k], "json") == 0)
		{
			for (int i = 0; i < total; i++)
			{
				const char *s = c->sample[i];

				while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
					s++;
				if ((*s == '{' || *s == '[') &&
					QualityParseable(cstring_to_text(c->sample[i]), QualityParseKind("json")))
					hits++;
			}
		}
		else
		{
			QualityRegex *re = QualityRegexCompile(QualityFormatPattern(kinds[k]));

			for (int i = 0; i < total; i++)
				if (QualityRegexMatch(re, c->sample[i], strlen(c->sample[i])))
					hits++;
		}
		if (hits >= 0.95 * total)
		{
			appendStringInfo(b, ", \"semantic_type\": \"%s\", \"semantic_match_pct\": %.3f",
							 kinds[k], 100.0 * hits / total);
			return;
		}
	}
	appendStringInfoString(b, ", \"semantic_type\": \"text\"");
}

/*
 * The final value: {"rows", "duplicate_rows", "duplicate_rows_exact",
 * "columns": [per column: count, distinct (HyperLogLog), min, max, moments,
 * sum, zeros, negatives, quantiles, iqr, histogram, lengths, blanks,
 * top_values, semantic_type, sketch]}; scan.c adds names and types.
 */
Datum
metaetl_profile_final(PG_FUNCTION_ARGS)
{
	QPState    *st = PG_ARGISNULL(0) ? NULL : (QPState *) PG_GETARG_POINTER(0);
	StringInfoData b;
	int64		dups = 0;

	if (st == NULL)
		PG_RETURN_NULL();
	initStringInfo(&b);
	if (!st->rh_overflow)
	{
		qsort(st->rowhash, st->nrh, sizeof(uint64), qp_u64_cmp);
		for (int64 i = 1; i < st->nrh; i++)
			if (st->rowhash[i] == st->rowhash[i - 1])
				dups++;
	}
	else
		dups = Max(0, st->rows - (int64) llround(QHllEstimate(&st->rowhll)));
	appendStringInfo(&b, "{\"rows\": " INT64_FORMAT ", \"duplicate_rows\": " INT64_FORMAT
					 ", \"duplicate_rows_exact\": %s, \"columns\": [",
					 st->rows, dups, st->rh_overflow ? "false" : "true");
	for (int i = 0; i < st->ncols; i++)
	{
		QPCol	   *c = &st->c[i];

		/* distinct: exact while the top-value table holds every value, else HyperLogLog */
		if (c->track_top)
			appendStringInfo(&b, "%s{\"count\": " INT64_FORMAT ", \"distinct\": %d, \"distinct_approx\": false",
							 i ? ", " : "", c->count, c->top.n);
		else
			appendStringInfo(&b, "%s{\"count\": " INT64_FORMAT ", \"distinct\": %.0f, \"distinct_approx\": true",
							 i ? ", " : "", c->count, c->count == 0 ? 0.0 :
							 Min((double) c->count, Max(1.0, round(QHllEstimate(&c->hll)))));
		if (c->has_cmp)
		{
			appendStringInfoString(&b, ", \"min\": ");
			QualityValueJson(&b, c->typid, c->min, !c->have_minmax);
			appendStringInfoString(&b, ", \"max\": ");
			QualityValueJson(&b, c->typid, c->max, !c->have_minmax);
		}
		if (c->kind == QPK_NUMBER)
		{
			QMomentSummary s;
			bool		any = c->kll.n > 0;

			QMomentsSummarize(&c->mom, &s);
			qp_num(&b, "mean", s.has_mean, s.mean);
			qp_num(&b, "stddev", s.has_variance, s.stddev);
			qp_num(&b, "variance", s.has_variance, s.variance);
			qp_num(&b, "skewness", s.has_skewness, s.skewness);
			qp_num(&b, "kurtosis", s.has_kurtosis, s.kurtosis);
			qp_num(&b, "sum", s.has_mean, s.mean * c->mom.n);
			appendStringInfo(&b, ", \"zeros\": " INT64_FORMAT ", \"negatives\": " INT64_FORMAT,
							 c->zeros, c->negatives);
			if (any)
			{
				double		q[5] = {0.05, 0.25, 0.5, 0.75, 0.95};
				double		v[5];
				double		lo = c->kll.min;
				double		hi = c->kll.max;

				for (int k = 0; k < 5; k++)
					v[k] = QKllQuantile(&c->kll, q[k]);
				appendStringInfo(&b, ", \"quantiles\": {\"p05\": %s, \"p25\": %s, \"p50\": %s, \"p75\": %s, \"p95\": %s}",
								 float8out_internal(v[0]), float8out_internal(v[1]), float8out_internal(v[2]),
								 float8out_internal(v[3]), float8out_internal(v[4]));
				qp_num(&b, "iqr", true, v[3] - v[1]);
				/* 10 equal-width bins over [min, max], the last closed, from the sketch */
				appendStringInfo(&b, ", \"histogram\": {\"min\": %s, \"max\": %s, \"counts\": [",
								 float8out_internal(lo), float8out_internal(hi));
				{
					double		prev = 0;
					int64		assigned = 0;

					for (int k = 1; k <= 10; k++)
					{
						double		edge = lo + (hi - lo) * k / 10.0;
						double		cdf = (k == 10 || hi == lo) ? 1.0 : QKllCdf(&c->kll, edge);
						int64		cnt = (k == 10) ? (int64) c->kll.n - assigned :
							(int64) llround((cdf - prev) * (double) c->kll.n);

						if (hi == lo)
							cnt = (k == 1) ? (int64) c->kll.n : 0;
						appendStringInfo(&b, "%s" INT64_FORMAT, k > 1 ? ", " : "", cnt);
						assigned += cnt;
						prev = cdf;
					}
				}
				appendStringInfoString(&b, "]}");
			}
			else
				appendStringInfoString(&b, ", \"quantiles\": null, \"iqr\": null, \"histogram\": null");
			appendStringInfoString(&b, ", \"sketch\": ");
			QualityKllJson(&b, &c->kll);
		}
		if (c->kind == QPK_TEXT)
		{
			appendStringInfo(&b, ", \"blanks\": " INT64_FORMAT, c->blanks);
			if (c->count > 0)
				appendStringInfo(&b, ", \"min_length\": %d, \"avg_length\": %.3f, \"max_length\": %d",
								 c->len_min, (double) c->len_sum / c->count, c->len_max);
			else
				appendStringInfoString(&b, ", \"min_length\": null, \"avg_length\": null, \"max_length\": null");
			qp_semantic(&b, c);
		}
		if (c->track_top)
		{
			int			n;
			QValEntry **top = QValTabSorted(&c->top, &n);

			appendStringInfoString(&b, ", \"top_values\": [");
			for (int k = 0; k < n && k < 10; k++)
			{
				appendStringInfoString(&b, k ? ", {\"value\": " : "{\"value\": ");
				QualityValueJson(&b, c->typid, top[k]->value, false);
				appendStringInfo(&b, ", \"count\": " INT64_FORMAT "}", top[k]->count);
			}
			/* for drift: categories by their text form (what the chi2 rule counts) */
			appendStringInfoString(&b, "], \"frequencies\": {\"values\": [");
			for (int k = 0; k < n && k < 100; k++)
			{
				if (k)
					appendStringInfoString(&b, ", ");
				escape_json(&b, OidOutputFunctionCall(c->outfn, top[k]->value));
			}
			appendStringInfoString(&b, "], \"counts\": [");
			for (int k = 0; k < n && k < 100; k++)
				appendStringInfo(&b, "%s" INT64_FORMAT, k ? ", " : "", top[k]->count);
			appendStringInfo(&b, "], \"total\": " INT64_FORMAT "}", c->count);
		}
		else
			appendStringInfoString(&b, ", \"top_values\": null");
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoString(&b, "]}");
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}
