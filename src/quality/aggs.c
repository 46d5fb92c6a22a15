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
 * etl._failures(jsonb, int4)     used with FILTER (WHERE <row fails>): counts the
 *                                 rows and keeps the first N values (sample
 *                                 failing rows) in bounded memory, so each
 *                                 rule's predicate is evaluated once per row;
 * etl._is_json(text)             whether a text is valid JSON (format rules).
 *
 * Transition states live in the aggregate's memory context.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/typcache.h"

#include "quality/quality.h"
#include "quality/profstats.h"

PG_FUNCTION_INFO_V1(metaetl_hll_sfunc);
PG_FUNCTION_INFO_V1(metaetl_hll_final);
PG_FUNCTION_INFO_V1(metaetl_moments_sfunc);
PG_FUNCTION_INFO_V1(metaetl_moments_final);
PG_FUNCTION_INFO_V1(metaetl_sample_sfunc);
PG_FUNCTION_INFO_V1(metaetl_sample_final);
PG_FUNCTION_INFO_V1(metaetl_is_json);

typedef struct QHllState
{
	FmgrInfo	hashfn;			/* the type's extended (64-bit) hash */
	Oid			collation;
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

Datum
metaetl_hll_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = qagg_context(fcinfo, "metaetl_hll_sfunc");
	QHllState  *st = PG_ARGISNULL(0) ? NULL : (QHllState *) PG_GETARG_POINTER(0);

	if (st == NULL)
	{
		Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
		TypeCacheEntry *tce = lookup_type_cache(argtype, TYPECACHE_HASH_EXTENDED_PROC_FINFO);

		if (!OidIsValid(tce->hash_extended_proc_finfo.fn_oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("could not identify an extended hash function for type %s",
							format_type_be(argtype)),
					 errhint("Approximate distinct counts need a hashable type; cast the column to text.")));
		st = (QHllState *) MemoryContextAllocZero(aggcontext, sizeof(QHllState));
		fmgr_info_copy(&st->hashfn, &tce->hash_extended_proc_finfo, aggcontext);
		st->collation = PG_GET_COLLATION();
		QHllInit(&st->hll);
	}
	if (!PG_ARGISNULL(1))
	{
		Datum		h = FunctionCall2Coll(&st->hashfn, st->collation,
										  PG_GETARG_DATUM(1), Int64GetDatum(0));

		QHllAdd(&st->hll, (uint64) DatumGetInt64(h));
	}
	PG_RETURN_POINTER(st);
}

Datum
metaetl_hll_final(PG_FUNCTION_ARGS)
{
	QHllState  *st;

	if (PG_ARGISNULL(0))
		PG_RETURN_INT64(0);
	st = (QHllState *) PG_GETARG_POINTER(0);
	PG_RETURN_INT64((int64) llround(QHllEstimate(&st->hll)));
}

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

typedef struct QSampleState
{
	int			max;
	int			n;
	int64		seen;			/* every row the aggregate saw */
	Jsonb	  **items;
} QSampleState;

Datum
metaetl_sample_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = qagg_context(fcinfo, "metaetl_sample_sfunc");
	QSampleState *st = PG_ARGISNULL(0) ? NULL : (QSampleState *) PG_GETARG_POINTER(0);

	if (st == NULL)
	{
		int			max = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);

		st = (QSampleState *) MemoryContextAllocZero(aggcontext, sizeof(QSampleState));
		st->max = Max(0, Min(max, 10000));
		st->items = (Jsonb **) MemoryContextAllocZero(aggcontext,
													  sizeof(Jsonb *) * Max(st->max, 1));
	}
	st->seen++;
	if (st->n < st->max && !PG_ARGISNULL(1))
	{
		Jsonb	   *j = PG_GETARG_JSONB_P(1);
		Jsonb	   *copy = (Jsonb *) MemoryContextAlloc(aggcontext, VARSIZE(j));

		memcpy(copy, j, VARSIZE(j));
		st->items[st->n++] = copy;
	}
	PG_RETURN_POINTER(st);
}

Datum
metaetl_sample_final(PG_FUNCTION_ARGS)
{
	QSampleState *st = PG_ARGISNULL(0) ? NULL : (QSampleState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	/* {"n": rows seen, "samples": [the first N values]} */
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"n\": " INT64_FORMAT ", \"samples\": [", st == NULL ? 0 : st->seen);
	for (int i = 0; st != NULL && i < st->n; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		(void) JsonbToCString(&buf, &st->items[i]->root, VARSIZE(st->items[i]));
	}
	appendStringInfoString(&buf, "]}");
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

Datum
metaetl_is_json(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	JsonLexContext *lex;

	lex = makeJsonLexContextCstringLen(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t),
									   GetDatabaseEncoding(), false);
	PG_RETURN_BOOL(pg_parse_json(lex, &nullSemAction) == JSON_SUCCESS);
}
