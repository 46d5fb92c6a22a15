/*-------------------------------------------------------------------------
 *
 * src/quality/aggs.c
 *		C aggregates used by the one-scan quality query.
 *
 * etl._hll_distinct(anyelement)  approximate distinct count (HyperLogLog,
 *                                 profstats.c) hashing with the type's extended
 *                                 hash function;
 * etl._moments(float8)           one-pass mean, sample variance/stddev,
 *                                 skewness and kurtosis as pandas computes them;
 * etl._failures(text[], int4, VARIADIC "any") with FILTER (WHERE <row fails>): counts the
 *                                 rows and keeps the first N values (sample
 *                                 failing rows) in bounded memory, so each
 *                                 rule's predicate is evaluated once per row;
 * etl._failures_nulls(bool, text[], int4, VARIADIC "any") the same and the
 *                                 rows whose value is NULL (a validity
 *                                 rule's denominator, without a count of
 *                                 its own);
 * etl._count_nonnull(VARIADIC "any") non-NULL counts of many columns, one
 *                                 call per row;
 * etl._is_json(text)             whether a text is valid JSON (format rules);
 * etl._num_float8(numeric)      numeric to float8 without printing the
 *                                 number (QualityNumericToFloat8);
 * etl._length_ok(text, int4, int4) min <= char_length(v) <= max (length
 *                                 rules), counting characters only when
 *                                 the byte length cannot decide.
 *
 * Transition states live in the aggregate's memory context.  Each aggregate
 * has combine, serialise and deserialise functions, so a parallel scan
 * aggregates in the workers (partial aggregation) as count(*) does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/jsonapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/datetime.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/pg_locale.h"
#include "utils/typcache.h"

#include "quality/quality.h"
#include "quality/profstats.h"

PG_FUNCTION_INFO_V1(metaetl_hll_sfunc);
PG_FUNCTION_INFO_V1(metaetl_hll_final);
PG_FUNCTION_INFO_V1(metaetl_moments_sfunc);
PG_FUNCTION_INFO_V1(metaetl_moments_final);
PG_FUNCTION_INFO_V1(metaetl_sample_sfunc);
PG_FUNCTION_INFO_V1(metaetl_sample_nulls_sfunc);
PG_FUNCTION_INFO_V1(metaetl_sample_final);
PG_FUNCTION_INFO_V1(metaetl_is_json);
PG_FUNCTION_INFO_V1(metaetl_length_ok);
PG_FUNCTION_INFO_V1(metaetl_num_float8);
PG_FUNCTION_INFO_V1(metaetl_hll_combine);
PG_FUNCTION_INFO_V1(metaetl_hll_serial);
PG_FUNCTION_INFO_V1(metaetl_hll_deserial);
PG_FUNCTION_INFO_V1(metaetl_moments_combine);
PG_FUNCTION_INFO_V1(metaetl_moments_serial);
PG_FUNCTION_INFO_V1(metaetl_moments_deserial);
PG_FUNCTION_INFO_V1(metaetl_sample_combine);
PG_FUNCTION_INFO_V1(metaetl_sample_serial);
PG_FUNCTION_INFO_V1(metaetl_sample_deserial);

typedef struct QHllState
{
	QualityHllHasher hasher;
	QHll		hll;
} QHllState;

static MemoryContext
qagg_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcontext;
}

/*
 * QualityHllHasherInit
 *		Prepare the 64-bit hashing of values of type argtype under
 *		collation for HyperLogLog (etl._hll_distinct and the fused
 *		column statistics of colstats.c, which must hash alike so their
 *		estimates agree): caches the type's extended hash function and
 *		picks a fast path for text under a deterministic collation and
 *		for int4/date that gives the same hashes without an fmgr call per
 *		row.  Types without an extended hash are refused here, at the
 *		start of the scan, with a hint to cast to text.
 */
void
QualityHllHasherInit(QualityHllHasher *h, Oid argtype, Oid collation, MemoryContext cxt)
{
	TypeCacheEntry *tce = lookup_type_cache(argtype, TYPECACHE_HASH_EXTENDED_PROC_FINFO);

	if (!OidIsValid(tce->hash_extended_proc_finfo.fn_oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify an extended hash function for type %s",
						format_type_be(argtype)),
				 errhint("Approximate distinct counts need a hashable type; cast the column to text.")));
	fmgr_info_copy(&h->hashfn, &tce->hash_extended_proc_finfo, cxt);
	h->collation = collation;
	h->fast = 0;
	/*
	 * The same hash values as hashtextextended (deterministic collation)
	 * and hashint4extended compute, without a call through fmgr per row:
	 * that call was most of the cost of an approximate distinct count.
	 */
	if ((argtype == TEXTOID || argtype == VARCHAROID) && OidIsValid(collation) &&
		get_collation_isdeterministic(collation))
		h->fast = 'b';
	else if (argtype == INT4OID || argtype == DATEOID)
		h->fast = 'i';
}

/* QualityHllHash: the hash of a non-NULL value (QualityHllHasherInit) */
uint64
QualityHllHash(QualityHllHasher *h, Datum value)
{
	if (h->fast == 'b')
	{
		text	   *t = (text *) PG_DETOAST_DATUM_PACKED(value);

		return hash_bytes_extended((const unsigned char *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), 0);
	}
	if (h->fast == 'i')
		return hash_bytes_uint32_extended((uint32) DatumGetInt32(value), 0);
	return (uint64) DatumGetInt64(FunctionCall2Coll(&h->hashfn, h->collation, value, Int64GetDatum(0)));
}

/*
 * metaetl_hll_sfunc
 *		Transition function of etl._hll_distinct(anyelement): hashes
 *		each non-NULL value into the HyperLogLog registers.
 *
 *		The state is created on the first call, when the argument type
 *		is known (QualityHllHasherInit).
 */
Datum
metaetl_hll_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = qagg_context(fcinfo, "metaetl_hll_sfunc");
	QHllState  *st = PG_ARGISNULL(0) ? NULL : (QHllState *) PG_GETARG_POINTER(0);

	if (st == NULL)
	{
		st = (QHllState *) MemoryContextAllocZero(aggcontext, sizeof(QHllState));
		QualityHllHasherInit(&st->hasher, get_fn_expr_argtype(fcinfo->flinfo, 1), PG_GET_COLLATION(), aggcontext);
		QHllInit(&st->hll);
	}
	if (!PG_ARGISNULL(1))
		QHllAdd(&st->hll, QualityHllHash(&st->hasher, PG_GETARG_DATUM(1)));
	PG_RETURN_POINTER(st);
}

/*
 * metaetl_hll_final
 *		Final function of etl._hll_distinct: the estimated distinct
 *		count, rounded to bigint. No row (NULL state) gives 0, as
 *		count(DISTINCT) does for an empty input.
 */
Datum
metaetl_hll_final(PG_FUNCTION_ARGS)
{
	QHllState  *st;

	if (PG_ARGISNULL(0))
		PG_RETURN_INT64(0);
	st = (QHllState *) PG_GETARG_POINTER(0);
	PG_RETURN_INT64((int64) llround(QHllEstimate(&st->hll)));
}

/*
 * metaetl_moments_sfunc
 *		Transition function of etl._moments(float8): feeds each value
 *		to the streaming moments (QMomentsAdd).
 *
 *		NULLs and NaNs are both skipped, because the profile's numbers
 *		must match pandas' describe()/skew()/kurt(), which ignore NaN
 *		like a missing value.
 */
Datum
metaetl_moments_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = qagg_context(fcinfo, "metaetl_moments_sfunc");
	QMoments   *st = PG_ARGISNULL(0) ? NULL : (QMoments *) PG_GETARG_POINTER(0);

	if (st == NULL)
	{
		st = (QMoments *) MemoryContextAllocZero(aggcontext, sizeof(QMoments));
		QMomentsInit(st);
	}
	if (!PG_ARGISNULL(1))
	{
		double		x = PG_GETARG_FLOAT8(1);

		if (!isnan(x))			/* pandas skips NaN like NULL */
			QMomentsAdd(st, x);
	}
	PG_RETURN_POINTER(st);
}

static void
qagg_json_number(StringInfo buf, const char *key, bool has, double v)
{
	appendStringInfo(buf, "%s\"%s\": ", buf->len > 1 ? ", " : "", key);
	if (has && isfinite(v))
		appendStringInfoString(buf, float8out_internal(v));
	else
		appendStringInfoString(buf, "null");
}

/*
 * metaetl_moments_final
 *		Final function of etl._moments: the pandas-compatible summary
 *		(mean, sample variance and stddev, skewness, kurtosis) as a
 *		jsonb object.
 *
 *		A statistic that is undefined for the count seen (or not
 *		finite) is JSON null rather than NaN, since jsonb has no NaN;
 *		an empty input summarises an empty QMoments, so the keys are
 *		always present for the profile reader.
 */
Datum
metaetl_moments_final(PG_FUNCTION_ARGS)
{
	QMoments	empty;
	QMoments   *st;
	QMomentSummary s;
	StringInfoData buf;

	if (PG_ARGISNULL(0))
	{
		QMomentsInit(&empty);
		st = &empty;
	}
	else
		st = (QMoments *) PG_GETARG_POINTER(0);
	QMomentsSummarize(st, &s);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	qagg_json_number(&buf, "mean", s.has_mean, s.mean);
	qagg_json_number(&buf, "stddev", s.has_variance, s.stddev);
	qagg_json_number(&buf, "variance", s.has_variance, s.variance);
	qagg_json_number(&buf, "skewness", s.has_skewness, s.skewness);
	qagg_json_number(&buf, "kurtosis", s.has_kurtosis, s.kurtosis);
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/*
 * The failures aggregate: etl._failures(names text[], n int4, VARIADIC "any")
 * FILTER (WHERE <row fails>).  It counts the rows it sees and keeps the
 * first n as JSON objects {name: value, ...}.  The values arrive as plain
 * arguments (VARIADIC "any" builds no array), and are turned into JSON only
 * for the first n rows, so a rule failing on millions of rows costs a count.
 */
typedef struct QSampleState
{
	int			max;
	int			n;
	int64		seen;			/* every failing row the aggregate saw */
	int64		nulls;			/* etl._failures_nulls: rows with a NULL value */
	char	  **items;			/* JSON object texts */
} QSampleState;

static QSampleState *
qagg_sample_new(MemoryContext cxt, int max)
{
	QSampleState *st = (QSampleState *) MemoryContextAllocZero(cxt, sizeof(QSampleState));

	st->max = Max(0, Min(max, 10000));
	st->items = (char **) MemoryContextAllocZero(cxt, sizeof(char *) * Max(st->max, 1));
	return st;
}

/*
 * QualityValueJson
 *		One value as JSON, as samples and top values show it: numbers and
 *		booleans bare, json as is, dates and times in ISO 8601, the rest
 *		quoted.
 */
void
QualityValueJson(StringInfo buf, Oid type, Datum value, bool isnull)
{
	Oid			outfn;
	bool		varlena;
	char	   *txt;
	char		cat;
	bool		pref;

	if (isnull)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	if (type == DATEOID || type == TIMEOID || type == TIMETZOID ||
		type == TIMESTAMPOID || type == TIMESTAMPTZOID)
	{
		/* ISO 8601 whatever DateStyle says, as to_jsonb writes them */
		char		dt[MAXDATELEN + 1];

		escape_json(buf, JsonEncodeDateTime(dt, value, type, NULL));
		return;
	}
	getTypeOutputInfo(type, &outfn, &varlena);
	txt = OidOutputFunctionCall(outfn, value);
	get_type_category_preferred(getBaseType(type), &cat, &pref);
	if (type == JSONOID || type == JSONBOID)
		appendStringInfoString(buf, txt);
	else if (type == BOOLOID)
		appendStringInfoString(buf, strcmp(txt, "t") == 0 ? "true" : "false");
	else if (cat == TYPCATEGORY_NUMERIC && type != MONEYOID &&
			 strspn(txt, "0123456789+-.eE") == strlen(txt) && txt[0] != '\0')
		appendStringInfoString(buf, txt);
	else
		escape_json(buf, txt);
}

/*
 * qagg_sample_add
 *		One failing row: arguments from first on are names, n, then values.
 */
static QSampleState *
qagg_sample_add(FunctionCallInfo fcinfo, QSampleState *st, MemoryContext aggcontext, int first)
{
	if (st == NULL)
		st = qagg_sample_new(aggcontext, PG_ARGISNULL(first + 1) ? 0 : PG_GETARG_INT32(first + 1));
	st->seen++;
	if (st->n < st->max && !PG_ARGISNULL(first))
	{
		ArrayType  *names = PG_GETARG_ARRAYTYPE_P(first);
		Datum	   *nd;
		bool	   *nn;
		int			nnames;
		StringInfoData buf;
		MemoryContext old;

		deconstruct_array(names, TEXTOID, -1, false, TYPALIGN_INT, &nd, &nn, &nnames);
		initStringInfo(&buf);
		appendStringInfoChar(&buf, '{');
		for (int i = 0; i < nnames && first + 2 + i < PG_NARGS(); i++)
		{
			int			a = first + 2 + i;

			if (i > 0)
				appendStringInfoString(&buf, ", ");
			escape_json(&buf, nn[i] ? "" : TextDatumGetCString(nd[i]));
			appendStringInfoString(&buf, ": ");
			QualityValueJson(&buf, get_fn_expr_argtype(fcinfo->flinfo, a), PG_GETARG_DATUM(a), PG_ARGISNULL(a));
		}
		appendStringInfoChar(&buf, '}');
		old = MemoryContextSwitchTo(aggcontext);
		st->items[st->n++] = pstrdup(buf.data);
		MemoryContextSwitchTo(old);
	}
	return st;
}

/*
 * metaetl_sample_sfunc
 *		Transition function of etl._failures(names, n, VARIADIC
 *		values) FILTER (WHERE <row fails>): counts the failing rows
 *		and keeps the first N of them (qagg_sample_add).
 *
 *		The rule's predicate lives in the FILTER clause, so the one-
 *		scan quality query evaluates it once per row and this
 *		aggregate only sees failures.
 */
Datum
metaetl_sample_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = qagg_context(fcinfo, "metaetl_sample_sfunc");
	QSampleState *st = PG_ARGISNULL(0) ? NULL : (QSampleState *) PG_GETARG_POINTER(0);

	PG_RETURN_POINTER(qagg_sample_add(fcinfo, st, aggcontext, 1));
}

/*
 * etl._failures_nulls(is_null bool, names, n, VARIADIC values) FILTER
 * (WHERE (<row fails>) IS NOT FALSE): a validity rule's failures and its
 * column's NULLs (the rows it does not check) in one aggregate, so the
 * rule's denominator costs no aggregate of its own.
 */
Datum
metaetl_sample_nulls_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = qagg_context(fcinfo, "metaetl_sample_nulls_sfunc");
	QSampleState *st = PG_ARGISNULL(0) ? NULL : (QSampleState *) PG_GETARG_POINTER(0);

	if (!PG_ARGISNULL(1) && PG_GETARG_BOOL(1))
	{
		if (st == NULL)
			st = qagg_sample_new(aggcontext, PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3));
		st->nulls++;
		PG_RETURN_POINTER(st);
	}
	PG_RETURN_POINTER(qagg_sample_add(fcinfo, st, aggcontext, 2));
}

/*
 * metaetl_sample_final
 *		Final function of etl._failures and etl._failures_nulls: the
 *		jsonb {"n": failing rows, "nulls": NULL rows (when any),
 *		"samples": [...]} that the checks (checks.c) read for a rule's
 *		failure count and sample rows.
 *
 *		The samples are already JSON texts (built by QualityValueJson
 *		when they were kept), so they are concatenated, not re-
 *		encoded; a NULL state (no failure) still gives {"n": 0,
 *		"samples": []} so the reader needs no special case.
 */
Datum
metaetl_sample_final(PG_FUNCTION_ARGS)
{
	QSampleState *st = PG_ARGISNULL(0) ? NULL : (QSampleState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	/* {"n": rows seen, "samples": [the first N rows]} */
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"n\": " INT64_FORMAT ", ", st == NULL ? 0 : st->seen);
	if (st != NULL && st->nulls > 0)
		appendStringInfo(&buf, "\"nulls\": " INT64_FORMAT ", ", st->nulls);
	appendStringInfoString(&buf, "\"samples\": [");
	for (int i = 0; st != NULL && i < st->n; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, st->items[i]);
	}
	appendStringInfoString(&buf, "]}");
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/*
 * QualityNumericToFloat8
 *		A numeric as float8, as numeric_float8_no_overflow gives it, in a few
 *		nanoseconds: PostgreSQL 15 converts by printing the number and
 *		parsing the text (about 300 ns a value, which made numeric columns
 *		the slowest part of quantile, sketch and profile aggregates).
 *
 *		numeric.c's storage format (stable on disk: pg_upgrade keeps it) is a
 *		header word (short or long form), a weight and base-10000 digits.
 *		With at most three digits the value is an integer below 10^12 times
 *		a power of 10^4 of at most 10^20, both exact in a double, and one
 *		IEEE multiplication or division rounds correctly, as strtod does: the
 *		result is the same double.  Anything else (more digits, NaN,
 *		infinities, a compressed value) takes PostgreSQL's own path.
 */
#define QN_SIGN_MASK 0xC000
#define QN_NEG 0x4000
#define QN_SHORT 0x8000
#define QN_SPECIAL 0xC000
#define QN_SHORT_SIGN_MASK 0x2000
#define QN_SHORT_WEIGHT_SIGN_MASK 0x0040
#define QN_SHORT_WEIGHT_MASK 0x003F
#define QN_SHORT_DSCALE_MASK 0x1F80
#define QN_SHORT_DSCALE_SHIFT 7
#define QN_DSCALE_MASK 0x3FFF

/* a finite, uncompressed numeric's parts; false for anything else */
typedef struct QNumParts
{
	bool		neg;
	int			weight;
	int			dscale;
	int			ndigits;
	const char *digits;			/* ndigits int16 base-10000 digits, unaligned */
	const char *raw;			/* the whole stored value (header included) */
	int			rawlen;
} QNumParts;

static inline bool
qn_decode(Datum num, QNumParts *n)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(num);
	const char *p;
	int			len;
	uint16		header;

	if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v))
		return false;			/* compressed or external */
	p = VARDATA_ANY(v);
	len = VARSIZE_ANY_EXHDR(v);
	if (len < 2)
		return false;
	memcpy(&header, p, sizeof(header));
	if ((header & QN_SIGN_MASK) == QN_SPECIAL)
		return false;
	n->raw = p;
	n->rawlen = len;
	if ((header & QN_SIGN_MASK) == QN_SHORT)
	{
		n->neg = (header & QN_SHORT_SIGN_MASK) != 0;
		n->weight = (header & QN_SHORT_WEIGHT_SIGN_MASK ? ~QN_SHORT_WEIGHT_MASK : 0) | (header & QN_SHORT_WEIGHT_MASK);
		n->dscale = (header & QN_SHORT_DSCALE_MASK) >> QN_SHORT_DSCALE_SHIFT;
		n->digits = p + 2;
		n->ndigits = (len - 2) / 2;
	}
	else
	{
		int16		w;

		if (len < 4)
			return false;
		n->neg = (header & QN_SIGN_MASK) == QN_NEG;
		n->dscale = header & QN_DSCALE_MASK;
		memcpy(&w, p + 2, sizeof(w));
		n->weight = w;
		n->digits = p + 4;
		n->ndigits = (len - 4) / 2;
	}
	return true;
}

/*
 * QualityNumericToFloat8
 *		The fast conversion described above, exported for the
 *		quantile, sketch and profile aggregates, which convert every
 *		numeric value they see; falls back to
 *		numeric_float8_no_overflow for anything the fast path cannot
 *		decode exactly, so its result is always that function's
 *		result.
 */
double
QualityNumericToFloat8(Datum num)
{
	static const double pow10k[] = {1.0, 1e4, 1e8, 1e12, 1e16, 1e20};
	QNumParts	n;
	bool		neg;
	int			weight;
	int			ndigits;
	const char *digits;
	int64		acc = 0;
	int			e;
	double		r;

	if (!qn_decode(num, &n))
		goto slow;
	neg = n.neg;
	weight = n.weight;
	ndigits = n.ndigits;
	digits = n.digits;
	if (ndigits == 0)
		return 0.0;
	if (ndigits > 3)
		goto wide;
	for (int i = 0; i < ndigits; i++)
	{
		int16		d;

		memcpy(&d, digits + 2 * i, sizeof(d));
		acc = acc * 10000 + d;
	}
	e = weight - (ndigits - 1);
	if (e >= 0 && e < (int) lengthof(pow10k))
		r = (double) acc * pow10k[e];
	else if (e < 0 && -e < (int) lengthof(pow10k))
		r = (double) acc / pow10k[-e];
	else
		goto slow;
	return neg ? -r : r;

wide:
#if defined(__SIZEOF_INT128__) && LDBL_MANT_DIG >= 64
	/*
	 * Four to seven digits (a division stored as numeric has five or more):
	 * 80-bit long double arithmetic (at most four roundings of 2^-64 each,
	 * 10^(4|e|) exact for |e| <= 6) gives the value within 2^-62.  When
	 * every long double within 2^-60 of it rounds to the same double (all
	 * but about one value in 2^8), that double is the
	 * correctly rounded one, as strtod would give; otherwise (a value very
	 * close to half-way between two doubles) PostgreSQL's own path decides.
	 */
	if (ndigits <= 7)
	{
		static const long double pow10kl[] = {1.0L, 1e4L, 1e8L, 1e12L, 1e16L, 1e20L, 1e24L};

		/*
		 * The last value converted, by its bytes: two aggregates of one row
		 * over one column (stddev and a quantile sketch of score) convert
		 * it once.  Keyed by content, so a reused tuple buffer cannot fool it.
		 */
		static int	last_len = -1;
		static char last_bytes[2 + 2 + 2 * 7];
		static double last_value;
		long double x;
		long double eps;
		double		lo,
					hi;

		if (n.rawlen == last_len && memcmp(n.raw, last_bytes, n.rawlen) == 0)
			return last_value;
		e = weight - (ndigits - 1);
		if (e < -6 || e > 6)
			goto slow;
		/* four digits exactly (below 10^16), then x * 10^4 + d: at most one rounding each */
		acc = 0;
		for (int i = 0; i < 4; i++)
		{
			int16		d;

			memcpy(&d, digits + 2 * i, sizeof(d));
			acc = acc * 10000 + d;
		}
		x = (long double) acc;
		for (int i = 4; i < ndigits; i++)
		{
			int16		d;

			memcpy(&d, digits + 2 * i, sizeof(d));
			x = x * 10000 + d;
		}
		x = e >= 0 ? x * pow10kl[e] : x / pow10kl[-e];
		eps = x * 0x1p-60L;
		lo = (double) (x - eps);
		hi = (double) (x + eps);
		if (lo == hi && isfinite(lo))
		{
			if (n.rawlen <= (int) sizeof(last_bytes))
			{
				memcpy(last_bytes, n.raw, n.rawlen);
				last_len = n.rawlen;
				last_value = neg ? -lo : lo;
			}
			return neg ? -lo : lo;
		}
	}
#endif

slow:
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, num));
}

/*
 * QualityNumericSmall
 *		A finite numeric of at most four base-10000 digits (numeric.c's
 *		storage format, above) as value = *mant * 10000^*exp10k, with its
 *		display scale *dscale: exact sums (colstats.c) add such values as
 *		integers.  False for anything else (NaN, infinities, more digits,
 *		a compressed or external value), which the caller adds as a
 *		numeric.
 */
bool
QualityNumericSmall(Datum num, int64 *mant, int *exp10k, int *dscale)
{
	QNumParts	n;
	int64		acc = 0;

	if (!qn_decode(num, &n) || n.ndigits > 4)
		return false;
	*dscale = n.dscale;
	for (int i = 0; i < n.ndigits; i++)
	{
		int16		d;

		memcpy(&d, n.digits + 2 * i, sizeof(d));
		acc = acc * 10000 + d;
	}
	*mant = n.neg ? -acc : acc;
	*exp10k = n.ndigits ? n.weight - (n.ndigits - 1) : 0;
	return true;
}

/*
 * metaetl_num_float8
 *		SQL wrapper etl._num_float8(numeric) around
 *		QualityNumericToFloat8, so generated SQL can convert numeric
 *		columns to float8 for the moments aggregate without PostgreSQL
 *		15's print-and-parse cast.
 */
Datum
metaetl_num_float8(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(QualityNumericToFloat8(PG_GETARG_DATUM(0)));
}

/*
 * etl._length_ok(v, min, max): the characters of v are within [min, max].
 * A value of b bytes has between ceil(b / the encoding's longest character)
 * and b characters; when that interval is inside [min, max] (or outside
 * it) the answer needs no count, so a typical value costs a comparison
 * rather than two walks over its characters (char_length(v) BETWEEN ...).
 */
Datum
metaetl_length_ok(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	int32		mn = PG_GETARG_INT32(1);
	int32		mx = PG_GETARG_INT32(2);
	int			bytes = VARSIZE_ANY_EXHDR(t);
	int			maxlen = pg_database_encoding_max_length();
	int			lo = (bytes + maxlen - 1) / maxlen;
	int			chars;

	if (lo >= mn && bytes <= mx)
		PG_RETURN_BOOL(true);
	if (bytes < mn || lo > mx)
		PG_RETURN_BOOL(false);
	chars = pg_mbstrlen_with_len(VARDATA_ANY(t), bytes);
	PG_RETURN_BOOL(chars >= mn && chars <= mx);
}

/*
 * metaetl_is_json
 *		etl._is_json(text): whether the text parses as JSON, for
 *		format rules.
 *
 *		Uses the JSON lexer with null semantic actions, so it
 *		validates without building a json or jsonb value (a cast to
 *		json would also raise an error on the first bad row instead of
 *		counting it as a failure).
 */
Datum
metaetl_is_json(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	JsonLexContext *lex;

	lex = makeJsonLexContextCstringLen(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t),
									   GetDatabaseEncoding(), false);
	PG_RETURN_BOOL(pg_parse_json(lex, &nullSemAction) == JSON_SUCCESS);
}

/* ---- parallel support: combine, serialise, deserialise -------------------- */

Datum
metaetl_hll_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = qagg_context(fcinfo, "metaetl_hll_combine");
	QHllState  *a = PG_ARGISNULL(0) ? NULL : (QHllState *) PG_GETARG_POINTER(0);
	QHllState  *b = PG_ARGISNULL(1) ? NULL : (QHllState *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
	{
		a = (QHllState *) MemoryContextAllocZero(aggcontext, sizeof(QHllState));
		memcpy(&a->hll, &b->hll, sizeof(QHll));
		PG_RETURN_POINTER(a);
	}
	for (int i = 0; i < QHLL_M; i++)
		if (b->hll.reg[i] > a->hll.reg[i])
			a->hll.reg[i] = b->hll.reg[i];
	PG_RETURN_POINTER(a);
}

/*
 * metaetl_hll_serial
 *		Serialisation function of etl._hll_distinct for partial
 *		aggregation: only the registers travel between workers; the
 *		cached hash function is backend-local and is not needed once
 *		the values have been hashed.
 */
Datum
metaetl_hll_serial(PG_FUNCTION_ARGS)
{
	QHllState  *st = (QHllState *) PG_GETARG_POINTER(0);
	bytea	   *out = (bytea *) palloc(VARHDRSZ + sizeof(QHll));

	SET_VARSIZE(out, VARHDRSZ + sizeof(QHll));
	memcpy(VARDATA(out), &st->hll, sizeof(QHll));
	PG_RETURN_BYTEA_P(out);
}

/* the deserialised state has registers only: it is combined, never fed */
Datum
metaetl_hll_deserial(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	QHllState  *st = (QHllState *) palloc0(sizeof(QHllState));

	if (VARSIZE_ANY_EXHDR(in) != sizeof(QHll))
		elog(ERROR, "invalid HyperLogLog state");
	memcpy(&st->hll, VARDATA_ANY(in), sizeof(QHll));
	PG_RETURN_POINTER(st);
}

/*
 * metaetl_moments_combine
 *		Combine function of etl._moments: merges a worker's moments
 *		into the leader's with QMomentsCombine (Chan et al.'s pairwise
 *		update), so a parallel scan gives the same statistics as a
 *		serial one, up to rounding. A NULL side (a worker that saw no
 *		row) is skipped.
 */
Datum
metaetl_moments_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = qagg_context(fcinfo, "metaetl_moments_combine");
	QMoments   *a = PG_ARGISNULL(0) ? NULL : (QMoments *) PG_GETARG_POINTER(0);
	QMoments   *b = PG_ARGISNULL(1) ? NULL : (QMoments *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
	{
		a = (QMoments *) MemoryContextAllocZero(aggcontext, sizeof(QMoments));
		*a = *b;
		PG_RETURN_POINTER(a);
	}
	QMomentsCombine(a, b);
	PG_RETURN_POINTER(a);
}

/*
 * metaetl_moments_serial
 *		Serialisation function of etl._moments: QMoments is a flat
 *		struct of doubles, so it is copied byte for byte (worker and
 *		leader are the same binary, hence the same layout).
 */
Datum
metaetl_moments_serial(PG_FUNCTION_ARGS)
{
	QMoments   *st = (QMoments *) PG_GETARG_POINTER(0);
	bytea	   *out = (bytea *) palloc(VARHDRSZ + sizeof(QMoments));

	SET_VARSIZE(out, VARHDRSZ + sizeof(QMoments));
	memcpy(VARDATA(out), st, sizeof(QMoments));
	PG_RETURN_BYTEA_P(out);
}

/*
 * metaetl_moments_deserial
 *		Deserialisation function of etl._moments: the inverse of
 *		metaetl_moments_serial, checking the length so that a bytea of
 *		another layout is an error rather than garbage statistics.
 */
Datum
metaetl_moments_deserial(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	QMoments   *st = (QMoments *) palloc(sizeof(QMoments));

	if (VARSIZE_ANY_EXHDR(in) != sizeof(QMoments))
		elog(ERROR, "invalid moments state");
	memcpy(st, VARDATA_ANY(in), sizeof(QMoments));
	PG_RETURN_POINTER(st);
}

/* b's samples are appended to a's up to a's limit; counts add up */
Datum
metaetl_sample_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = qagg_context(fcinfo, "metaetl_sample_combine");
	QSampleState *a = PG_ARGISNULL(0) ? NULL : (QSampleState *) PG_GETARG_POINTER(0);
	QSampleState *b = PG_ARGISNULL(1) ? NULL : (QSampleState *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = qagg_sample_new(aggcontext, b->max);
	a->seen += b->seen;
	a->nulls += b->nulls;
	for (int i = 0; i < b->n && a->n < a->max; i++)
		a->items[a->n++] = MemoryContextStrdup(aggcontext, b->items[i]);
	PG_RETURN_POINTER(a);
}

/* layout: int32 max, int32 n, int64 seen, int64 nulls, then n NUL-terminated JSON texts */
Datum
metaetl_sample_serial(PG_FUNCTION_ARGS)
{
	QSampleState *st = (QSampleState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int32		max = st->max,
				n = st->n;
	bytea	   *out;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (char *) &max, sizeof(max));
	appendBinaryStringInfo(&buf, (char *) &n, sizeof(n));
	appendBinaryStringInfo(&buf, (char *) &st->seen, sizeof(st->seen));
	appendBinaryStringInfo(&buf, (char *) &st->nulls, sizeof(st->nulls));
	for (int i = 0; i < n; i++)
		appendBinaryStringInfo(&buf, st->items[i], strlen(st->items[i]) + 1);
	out = (bytea *) palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(out, VARHDRSZ + buf.len);
	memcpy(VARDATA(out), buf.data, buf.len);
	PG_RETURN_BYTEA_P(out);
}

/*
 * metaetl_sample_deserial
 *		Deserialisation function of etl._failures: reads the layout
 *		written by metaetl_sample_serial, checking every length and
 *		that n <= max, so a truncated or foreign bytea raises an error
 *		instead of reading past its end.
 */
Datum
metaetl_sample_deserial(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	char	   *p = VARDATA_ANY(in);
	char	   *end = p + VARSIZE_ANY_EXHDR(in);
	QSampleState *st;
	int32		max,
				n;
	int64		seen,
				nulls;

	if (end - p < (long) (2 * sizeof(int32) + 2 * sizeof(int64)))
		elog(ERROR, "invalid sample state");
	memcpy(&max, p, sizeof(max));
	p += sizeof(max);
	memcpy(&n, p, sizeof(n));
	p += sizeof(n);
	memcpy(&seen, p, sizeof(seen));
	p += sizeof(seen);
	memcpy(&nulls, p, sizeof(nulls));
	p += sizeof(nulls);
	if (max < 0 || n < 0 || n > max)
		elog(ERROR, "invalid sample state");
	st = qagg_sample_new(CurrentMemoryContext, max);
	st->seen = seen;
	st->nulls = nulls;
	for (int i = 0; i < n; i++)
	{
		size_t		len = strnlen(p, end - p);

		if (p + len >= end)
			elog(ERROR, "invalid sample state");
		st->items[st->n++] = pstrdup(p);
		p += len + 1;
	}
	PG_RETURN_POINTER(st);
}

/* ---- etl._count_nonnull(VARIADIC "any") → int8[] ----------------------------
 * count(col) for many columns in one transition call per row: the
 * denominators of validity rules and the profile's non-NULL counts.
 */
typedef struct QNonNullState
{
	int32		n;
	int64		cnt[FLEXIBLE_ARRAY_MEMBER];
} QNonNullState;

PG_FUNCTION_INFO_V1(metaetl_nonnull_sfunc);
PG_FUNCTION_INFO_V1(metaetl_nonnull_final);
PG_FUNCTION_INFO_V1(metaetl_nonnull_combine);
PG_FUNCTION_INFO_V1(metaetl_nonnull_serial);
PG_FUNCTION_INFO_V1(metaetl_nonnull_deserial);

static QNonNullState *
qagg_nonnull_new(MemoryContext cxt, int n)
{
	QNonNullState *st = (QNonNullState *) MemoryContextAllocZero(cxt,
																 offsetof(QNonNullState, cnt) + sizeof(int64) * Max(n, 1));

	st->n = n;
	return st;
}

/*
 * metaetl_nonnull_sfunc
 *		Transition function of etl._count_nonnull(VARIADIC "any"):
 *		adds one to the counter of every non-NULL argument.
 *
 *		One call per row for all the columns replaces one count(col)
 *		aggregate per column, which is what made the validity rules'
 *		denominators and the profile's non-NULL counts cheap. The
 *		number of counters is fixed by the first call's argument
 *		count.
 */
Datum
metaetl_nonnull_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = qagg_context(fcinfo, "metaetl_nonnull_sfunc");
	QNonNullState *st = PG_ARGISNULL(0) ? NULL : (QNonNullState *) PG_GETARG_POINTER(0);
	int			n = PG_NARGS() - 1;

	if (st == NULL)
		st = qagg_nonnull_new(aggcontext, n);
	for (int i = 0; i < n && i < st->n; i++)
		if (!PG_ARGISNULL(1 + i))
			st->cnt[i]++;
	PG_RETURN_POINTER(st);
}

/*
 * metaetl_nonnull_final
 *		Final function of etl._count_nonnull: the counters as a
 *		bigint[] in argument order (empty when there was no row),
 *		which the quality query reads by position.
 */
Datum
metaetl_nonnull_final(PG_FUNCTION_ARGS)
{
	QNonNullState *st = PG_ARGISNULL(0) ? NULL : (QNonNullState *) PG_GETARG_POINTER(0);
	int			n = st == NULL ? 0 : st->n;
	Datum	   *elems = (Datum *) palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = Int64GetDatum(st->cnt[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * metaetl_nonnull_combine
 *		Combine function of etl._count_nonnull: adds a worker's
 *		counters to the leader's, position by position.
 */
Datum
metaetl_nonnull_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = qagg_context(fcinfo, "metaetl_nonnull_combine");
	QNonNullState *a = PG_ARGISNULL(0) ? NULL : (QNonNullState *) PG_GETARG_POINTER(0);
	QNonNullState *b = PG_ARGISNULL(1) ? NULL : (QNonNullState *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = qagg_nonnull_new(aggcontext, b->n);
	for (int i = 0; i < a->n && i < b->n; i++)
		a->cnt[i] += b->cnt[i];
	PG_RETURN_POINTER(a);
}

/*
 * metaetl_nonnull_serial
 *		Serialisation function of etl._count_nonnull: the state is the
 *		count followed by its int64 counters, copied as they are.
 */
Datum
metaetl_nonnull_serial(PG_FUNCTION_ARGS)
{
	QNonNullState *st = (QNonNullState *) PG_GETARG_POINTER(0);
	Size		len = offsetof(QNonNullState, cnt) + sizeof(int64) * st->n;
	bytea	   *out = (bytea *) palloc(VARHDRSZ + len);

	SET_VARSIZE(out, VARHDRSZ + len);
	memcpy(VARDATA(out), st, len);
	PG_RETURN_BYTEA_P(out);
}

/*
 * metaetl_nonnull_deserial
 *		Deserialisation function of etl._count_nonnull: checks that
 *		the length agrees with the count it declares before copying,
 *		so a malformed state is an error.
 */
Datum
metaetl_nonnull_deserial(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	Size		len = VARSIZE_ANY_EXHDR(in);
	int32		n;
	QNonNullState *st;

	if (len < offsetof(QNonNullState, cnt))
		elog(ERROR, "invalid non-NULL count state");
	memcpy(&n, VARDATA_ANY(in), sizeof(int32));
	if (n < 0 || len != offsetof(QNonNullState, cnt) + sizeof(int64) * n)
		elog(ERROR, "invalid non-NULL count state");
	st = qagg_nonnull_new(CurrentMemoryContext, n);
	memcpy(st, VARDATA_ANY(in), len);
	PG_RETURN_POINTER(st);
}
