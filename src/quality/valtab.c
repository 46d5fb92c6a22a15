/*-------------------------------------------------------------------------
 *
 * src/quality/valtab.c
 *		The distinct-value table (valtab.h) and the aggregate built on it:
 *
 * etl._freq(value anyelement, top_n int4, ref anyarray) → jsonb
 *     {"n": non-NULL values, "distinct", "unique" (values seen once),
 *      "top": the top_n most frequent [{value, count}] (ties by value),
 *      "mode": every value with the highest count (at most 100), "mode_count",
 *      and, with ref (values of the column's type): "ref_counts" (the count
 *      of each ref value, in order), "ref_missing" (ref values not seen),
 *      "extra" (distinct values not in ref) and "extra_samples" (the five
 *      most frequent of them)}.
 * It evaluates the distinct_count, proportion_unique, most_common,
 * distinct_values and categorical drift rules in the one scan, with combine
 * functions so that a parallel scan aggregates in its workers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/mman.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/nodeAgg.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/pg_locale.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "quality/quality.h"
#include "quality/valtab.h"

PG_FUNCTION_INFO_V1(metaetl_freq_sfunc);
PG_FUNCTION_INFO_V1(metaetl_freq_final);
PG_FUNCTION_INFO_V1(metaetl_freq_combine);
PG_FUNCTION_INFO_V1(metaetl_freq_serial);
PG_FUNCTION_INFO_V1(metaetl_freq_deserial);

#define QVT_MIN_MEMORY ((Size) 64 * 1024 * 1024)

/* can a table hold this type? (an extended hash and an equality) */
bool
QValTabTypeOk(Oid typid)
{
	TypeCacheEntry *tce = lookup_type_cache(typid, TYPECACHE_HASH_EXTENDED_PROC | TYPECACHE_EQ_OPR);

	return OidIsValid(tce->hash_extended_proc) && OidIsValid(tce->eq_opr);
}

/*
 * QValTabInit
 *		Prepares an empty table for values of typid, allocated in cxt
 *		(the aggregate's context, so it lives as long as the
 *		transition state), with at most max_entries distinct values
 *		(0: bounded by memory only).
 *
 *		A type without extended hash or equality is refused here, with
 *		a hint to cast to text, before any row is read. The type's
 *		functions are looked up once; text under a deterministic
 *		collation and common by-value types get an in-place hash and
 *		comparison that agree with those functions, because an fmgr
 *		call per value dominated the cost of a distinct count.
 */
void
QValTabInit(QValTab *t, MemoryContext cxt, Oid typid, Oid collation, int max_entries)
{
	TypeCacheEntry *tce = lookup_type_cache(typid, TYPECACHE_HASH_EXTENDED_PROC_FINFO |
											TYPECACHE_EQ_OPR_FINFO | TYPECACHE_CMP_PROC_FINFO);

	memset(t, 0, sizeof(*t));
	if (!OidIsValid(tce->hash_extended_proc) || !OidIsValid(tce->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("type %s has no hash and equality functions", format_type_be(typid)),
				 errhint("Cast the column to text.")));
	t->cxt = cxt;
	t->typid = typid;
	t->collation = collation;
	t->typlen = tce->typlen;
	t->typbyval = tce->typbyval;
	fmgr_info_cxt(tce->hash_extended_proc, &t->hashfn, cxt);
	fmgr_info_cxt(tce->eq_opr_finfo.fn_oid, &t->eqfn, cxt);
	if (OidIsValid(tce->cmp_proc))
	{
		fmgr_info_cxt(tce->cmp_proc, &t->cmpfn, cxt);
		t->has_cmp = true;
	}
	/*
	 * Hash and compare in place what the type's functions would treat as
	 * bytes: text and varchar under a deterministic collation (texteq is
	 * then a byte comparison) and by-value integers and dates (equal when
	 * the datums are).  A call through fmgr per value is most of the cost of
	 * a distinct count otherwise.
	 */
	t->fast = QVT_FMGR;
	if ((typid == TEXTOID || typid == VARCHAROID) && OidIsValid(collation) &&
		get_collation_isdeterministic(collation))
		t->fast = QVT_BYTES;
	else if (tce->typbyval && (typid == INT2OID || typid == INT4OID || typid == INT8OID || typid == DATEOID ||
			 typid == TIMESTAMPOID || typid == TIMESTAMPTZOID || typid == BOOLOID || typid == OIDOID))
		t->fast = QVT_BYVAL;
	t->max_entries = max_entries;
	t->size = 64;
	t->e = MemoryContextAllocZero(cxt, sizeof(QValEntry) * t->size);
}

static uint64
qvt_hash(QValTab *t, Datum v)
{
	if (t->fast == QVT_BYTES)
	{
		struct varlena *p = (struct varlena *) DatumGetPointer(v);

		if (VARATT_IS_EXTENDED(p) && !VARATT_IS_SHORT(p))
			p = pg_detoast_datum_packed(p);
		return hash_bytes_extended((const unsigned char *) VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p), 0);
	}
	if (t->fast == QVT_BYVAL)
		return hash_bytes_uint32_extended((uint32) (v ^ ((uint64) v >> 32)), (uint64) v >> 32);
	return DatumGetUInt64(FunctionCall2Coll(&t->hashfn, t->collation, v, UInt64GetDatum(0)));
}

static bool
qvt_equal(QValTab *t, Datum a, Datum b)
{
	if (t->fast == QVT_BYTES)
	{
		struct varlena *x = (struct varlena *) DatumGetPointer(a);
		struct varlena *y = (struct varlena *) DatumGetPointer(b);

		if (VARATT_IS_EXTENDED(x) && !VARATT_IS_SHORT(x))
			x = pg_detoast_datum_packed(x);
		if (VARATT_IS_EXTENDED(y) && !VARATT_IS_SHORT(y))
			y = pg_detoast_datum_packed(y);
		return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
			memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
	}
	if (t->fast == QVT_BYVAL)
		return a == b;
	return DatumGetBool(FunctionCall2Coll(&t->eqfn, t->collation, a, b));
}

/*
 * A text value's bytes as QValEntry's inline key: its length, or
 * QVT_NOT_INLINE when longer than QVT_INLINE, and the bytes zero-padded.
 */
static inline uint8
qvt_inline_key(Datum v, char *key)
{
	struct varlena *p = (struct varlena *) DatumGetPointer(v);
	Size		len;

	if (VARATT_IS_EXTENDED(p) && !VARATT_IS_SHORT(p))
		p = pg_detoast_datum_packed(p);
	len = VARSIZE_ANY_EXHDR(p);
	memset(key, 0, QVT_INLINE);
	if (len > QVT_INLINE)
		return QVT_NOT_INLINE;
	memcpy(key, VARDATA_ANY(p), len);
	return (uint8) len;
}

/*
 * The slot of v (found, or where it would go).  Text (QVT_BYTES) values of
 * at most QVT_INLINE bytes are compared with the entry's inline key: a
 * table of 10^5 distinct zip codes is larger than the caches, and reading
 * each entry's copied value as well was a second cache miss per probe
 * (most of an exact distinct count's time).
 */
static QValEntry *
qvt_slot(QValTab *t, Datum v, uint64 h)
{
	uint32		mask = t->size - 1;
	uint32		i = (uint32) (h ^ (h >> 32)) & mask;

	if (t->fast == QVT_BYTES)
	{
		char		key[QVT_INLINE];
		uint8		ilen = qvt_inline_key(v, key);

		for (;;)
		{
			QValEntry  *e = &t->e[i];

			if (!e->used)
				return e;
			if (e->hash == h && e->ilen == ilen &&
				(ilen != QVT_NOT_INLINE ? memcmp(e->ikey, key, QVT_INLINE) == 0 : qvt_equal(t, e->value, v)))
				return e;
			i = (i + 1) & mask;
		}
	}
	for (;;)
	{
		QValEntry  *e = &t->e[i];

		if (!e->used || (e->hash == h && qvt_equal(t, e->value, v)))
			return e;
		i = (i + 1) & mask;
	}
}

static QValEntry *qvt_add_hashed(QValTab *t, Datum v, uint64 h, int64 count);

/*
 * Ask for transparent huge pages under a large table (before it is first
 * touched): every probe of a table of 10^5 values lands on a random 4 kB
 * page, and with 4 MB and more of them the TLB misses cost as much as the
 * cache misses.  Advice only: nothing changes where the kernel ignores it.
 */
static void
qvt_huge_pages(void *p, Size len)
{
#ifdef MADV_HUGEPAGE
	const uintptr_t huge = 2 * 1024 * 1024;
	uintptr_t	start = ((uintptr_t) p + huge - 1) & ~(huge - 1);
	uintptr_t	end = ((uintptr_t) p + len) & ~(huge - 1);

	if (end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
}

static void
qvt_grow(QValTab *t)
{
	QValEntry  *old = t->e;
	int			oldsize = t->size;

	t->size *= 2;
	t->e = MemoryContextAllocHuge(t->cxt, sizeof(QValEntry) * t->size);
	qvt_huge_pages(t->e, sizeof(QValEntry) * t->size);
	memset(t->e, 0, sizeof(QValEntry) * t->size);
	for (int i = 0; i < oldsize; i++)
		if (old[i].used)
		{
			uint32		mask = t->size - 1;
			uint32		j = (uint32) (old[i].hash ^ (old[i].hash >> 32)) & mask;

			while (t->e[j].used)
				j = (j + 1) & mask;
			t->e[j] = old[i];
		}
	pfree(old);
}

static void
qvt_check_memory(QValTab *t)
{
	Size		limit = Max(get_hash_memory_limit(), QVT_MIN_MEMORY);
	Size		used = t->mem + sizeof(QValEntry) * (Size) t->size;

	if (used > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct values to count in memory (%d values, %zu kB)",
						t->n, used / 1024),
				 errdetail("Distinct counts, most_common, distinct_values and chi2/psi drift rules keep every distinct value in memory, up to work_mem x hash_mem_multiplier (at least 64 MB)."),
				 errhint("Raise work_mem, use a uniqueness rule, or the approximate profile (etl.profile with {\"approximate\": true}).")));
}

/* count v (count times); returns its entry, or NULL when the table is full */
QValEntry *
QValTabAdd(QValTab *t, Datum v, int64 count)
{
	return qvt_add_hashed(t, v, qvt_hash(t, v), count);
}

/*
 * QValTabBytesHash
 *		Whether the table hashes values as hash_bytes_extended(bytes, 0)
 *		(text under a deterministic collation): a caller that has that
 *		hash already (HyperLogLog, colstats.c) passes it to
 *		QValTabAddHashed instead of hashing twice.
 */
bool
QValTabBytesHash(const QValTab *t)
{
	return t->fast == QVT_BYTES;
}

/* QValTabPrefetch: bring the slot a value of hash h probes first into the cache */
void
QValTabPrefetch(const QValTab *t, uint64 h)
{
#if defined(__GNUC__)
	__builtin_prefetch(&t->e[(uint32) (h ^ (h >> 32)) & (uint32) (t->size - 1)]);
#endif
}

/* QValTabAdd with v's hash computed by the caller, as qvt_hash would */
QValEntry *
QValTabAddHashed(QValTab *t, Datum v, uint64 h, int64 count)
{
	return qvt_add_hashed(t, v, h, count);
}

static QValEntry *
qvt_add_hashed(QValTab *t, Datum v, uint64 h, int64 count)
{
	QValEntry  *e = qvt_slot(t, v, h);

	if (e->used)
	{
		e->count += count;
		return e;
	}
	if (t->max_entries > 0 && t->n >= t->max_entries)
	{
		t->overflow = true;
		return NULL;
	}
	if ((t->n + 1) * 4 > t->size * 3)
	{
		qvt_grow(t);
		e = qvt_slot(t, v, h);
	}
	e->used = true;
	e->ilen = t->fast == QVT_BYTES ? qvt_inline_key(v, e->ikey) : QVT_NOT_INLINE;
	e->hash = h;
	e->count = count;
	e->value = datumCopy(v, t->typbyval, t->typlen);
	if (!t->typbyval)
		t->mem += datumGetSize(e->value, false, t->typlen);
	t->n++;
	if ((t->n & 4095) == 0)
		qvt_check_memory(t);
	return e;
}

/*
 * QValTabFind
 *		The entry of v, or NULL when v is not in the table; never
 *		inserts. Used by etl._freq's final function to look up the ref
 *		values and to test membership in the ref table.
 */
QValEntry *
QValTabFind(QValTab *t, Datum v)
{
	QValEntry  *e = qvt_slot(t, v, qvt_hash(t, v));

	return e->used ? e : NULL;
}

/*
 * QValTabMerge
 *		Adds every entry of other to t with its count, for combine
 *		functions. Counts stay exact because entries are matched by
 *		the type's equality, not by hash. The overflow flag is sticky:
 *		if either side stopped counting new values, so has the result,
 *		and a caller that needs complete counts (the profile's top
 *		values) drops them.
 */
void
QValTabMerge(QValTab *t, const QValTab *other)
{
	for (int i = 0; i < other->size; i++)
		if (other->e[i].used)
			QValTabAdd(t, other->e[i].value, other->e[i].count);
	t->overflow |= other->overflow;
}

/* layout: int32 n, bool overflow, then n x (int64 count, datumSerialize) */
void
QValTabSerialize(const QValTab *t, StringInfo buf)
{
	int32		n = t->n;

	appendBinaryStringInfo(buf, (char *) &n, sizeof(n));
	appendStringInfoChar(buf, t->overflow ? 1 : 0);
	for (int i = 0; i < t->size; i++)
		if (t->e[i].used)
		{
			Size		sz = datumEstimateSpace(t->e[i].value, false, t->typbyval, t->typlen);
			char	   *p;

			appendBinaryStringInfo(buf, (char *) &t->e[i].count, sizeof(int64));
			enlargeStringInfo(buf, sz);
			p = buf->data + buf->len;
			datumSerialize(t->e[i].value, false, t->typbyval, t->typlen, &p);
			buf->len += sz;
			buf->data[buf->len] = '\0';
		}
}

/* read what QValTabSerialize wrote into an initialised table; returns the end */
const char *
QValTabDeserialize(QValTab *t, const char *p, const char *end)
{
	int32		n;

	if (end - p < (long) sizeof(int32) + 1)
		elog(ERROR, "invalid value table state");
	memcpy(&n, p, sizeof(n));
	p += sizeof(n);
	t->overflow = *p++ != 0;
	for (int i = 0; i < n; i++)
	{
		int64		count;
		bool		isnull;
		Datum		v;
		char	   *q;

		if (end - p < (long) sizeof(int64))
			elog(ERROR, "invalid value table state");
		memcpy(&count, p, sizeof(count));
		p += sizeof(count);
		q = (char *) p;
		v = datumRestore(&q, &isnull);
		p = q;
		if (p > end)
			elog(ERROR, "invalid value table state");
		if (!isnull)
			QValTabAdd(t, v, count);
	}
	return p;
}

static QValTab *qvt_sort_tab;

/* count descending, then value ascending (btree order, or text) */
static int
qvt_entry_cmp(const void *a, const void *b)
{
	const QValEntry *x = *(const QValEntry *const *) a;
	const QValEntry *y = *(const QValEntry *const *) b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (qvt_sort_tab->has_cmp)
		return DatumGetInt32(FunctionCall2Coll(&qvt_sort_tab->cmpfn, qvt_sort_tab->collation,
											   x->value, y->value));
	return (x->hash > y->hash) - (x->hash < y->hash);
}

/* the entries by count, most frequent first (ties by value) */
QValEntry **
QValTabSorted(QValTab *t, int *n)
{
	QValEntry **out = palloc(sizeof(QValEntry *) * Max(t->n, 1));
	int			j = 0;

	for (int i = 0; i < t->size; i++)
		if (t->e[i].used)
			out[j++] = &t->e[i];
	qvt_sort_tab = t;
	qsort(out, j, sizeof(QValEntry *), qvt_entry_cmp);
	qvt_sort_tab = NULL;
	*n = j;
	return out;
}

/*
 * QValTabTop
 *		The k first entries in QValTabSorted's order among those keep accepts
 *		(keep NULL: all), with a bounded heap: O(n log k), and the value
 *		comparison (a collation's, for text) only between equal counts, so a
 *		table of a million values is not sorted to show ten.
 */
static void
qvt_heap_down(QValEntry **h, int m, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1;
		int			r = l + 1;
		int			w = i;
		QValEntry  *tmp;

		/* a max-heap in the sort order: the root ranks last */
		if (l < m && qvt_entry_cmp(&h[l], &h[w]) > 0)
			w = l;
		if (r < m && qvt_entry_cmp(&h[r], &h[w]) > 0)
			w = r;
		if (w == i)
			return;
		tmp = h[i];
		h[i] = h[w];
		h[w] = tmp;
		i = w;
	}
}

/*
 * QValTabTop
 *		The bounded-heap selection described above. The heap keeps the
 *		k best entries seen with the worst at its root, so each
 *		further entry costs one comparison with the root unless it
 *		displaces it; the k survivors are then sorted into
 *		QValTabSorted's order. Used for etl._freq's top values, modes
 *		and extra samples. Not reentrant: the comparison reads the
 *		table through a static pointer.
 */
QValEntry **
QValTabTop(QValTab *t, int k, QValKeep keep, void *arg, int *n)
{
	QValEntry **h = palloc(sizeof(QValEntry *) * Max(k, 1));
	int			m = 0;

	qvt_sort_tab = t;
	for (int i = 0; i < t->size && k > 0; i++)
	{
		QValEntry  *e = &t->e[i];

		if (!e->used || (keep && !keep(e, arg)))
			continue;
		if (m < k)
		{
			/* sift up */
			int			j = m++;

			h[j] = e;
			while (j > 0 && qvt_entry_cmp(&h[j], &h[(j - 1) / 2]) > 0)
			{
				QValEntry  *tmp = h[j];

				h[j] = h[(j - 1) / 2];
				h[(j - 1) / 2] = tmp;
				j = (j - 1) / 2;
			}
		}
		else if (e->count > h[0]->count || (e->count == h[0]->count && qvt_entry_cmp(&e, &h[0]) < 0))
		{
			h[0] = e;
			qvt_heap_down(h, m, 0);
		}
	}
	qsort(h, m, sizeof(QValEntry *), qvt_entry_cmp);
	qvt_sort_tab = NULL;
	*n = m;
	return h;
}

/* ------------------------------------------------------------ etl._freq */

/* the longest text QualityFreqAddDeferred holds back */
#define QFREQ_DEFER_MAX 32

struct QFreqState
{
	QValTab		tab;
	int			top_n;
	int64		nonnull;
	int			nref;
	Datum	   *ref;			/* the ref values, copied; NULL when none given */
	bool		have_ref;
	/* QualityFreqAddDeferred's value not counted yet (a short text, copied) */
	bool		pending;
	uint64		pending_hash;
	union
	{
		char		bytes[VARHDRSZ + QFREQ_DEFER_MAX];
		int32		align;
	}			pending_value;
};

static QFreqState *
qfreq_new(MemoryContext cxt, Oid typid, Oid collation, int top_n)
{
	QFreqState *st = MemoryContextAllocZero(cxt, sizeof(QFreqState));

	QValTabInit(&st->tab, cxt, typid, collation, 0);
	st->top_n = Max(0, Min(top_n, 1000));
	return st;
}

static void
qfreq_set_ref(QFreqState *st, ArrayType *arr)
{
	MemoryContext old = MemoryContextSwitchTo(st->tab.cxt);
	Datum	   *d;
	bool	   *nulls;
	int			n;
	int			j = 0;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(st->tab.typid, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, st->tab.typid, typlen, typbyval, typalign, &d, &nulls, &n);
	st->ref = palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			st->ref[j++] = datumCopy(d[i], st->tab.typbyval, st->tab.typlen);
	st->nref = j;
	st->have_ref = true;
	MemoryContextSwitchTo(old);
}

/*
 * metaetl_freq_sfunc
 *		Transition function of etl._freq(value, top_n, ref): counts
 *		each non-NULL value in the state's value table.
 *
 *		top_n (clamped to 0..1000) and the ref array are read on the
 *		first call only, as they are constants of the rule; the ref
 *		values are copied into the aggregate's context so they outlive
 *		the call's arguments.
 */
/*
 * QualityFreqNew
 *		A frequency state of values of typid under collation: top_n
 *		(clamped to 0..1000) most common values shown, and ref (NULL
 *		for none) the reference values whose counts are reported; the
 *		ref values are copied into cxt so they outlive the caller's
 *		array.  Shared by etl._freq and the fused statistics of
 *		colstats.c, which must give the same result.
 */
QFreqState *
QualityFreqNew(MemoryContext cxt, Oid typid, Oid collation, int top_n, ArrayType *ref)
{
	QFreqState *st = qfreq_new(cxt, typid, collation, top_n);

	if (ref)
		qfreq_set_ref(st, ref);
	return st;
}

/* count the value QualityFreqAddDeferred held back */
static void
qfreq_flush(QFreqState *st)
{
	MemoryContext old;

	if (!st->pending)
		return;
	st->pending = false;
	old = MemoryContextSwitchTo(st->tab.cxt);
	QValTabAddHashed(&st->tab, PointerGetDatum(st->pending_value.bytes), st->pending_hash, 1);
	st->nonnull++;
	MemoryContextSwitchTo(old);
}

/*
 * QualityFreqAddDeferred
 *		QualityFreqAdd, one value late: a short text's hash is computed and
 *		its slot prefetched now, and it is counted on the next call (or
 *		when the state is read), after the rest of a row's work, by when
 *		the slot is in the cache.  A table of 10^5 distinct values is
 *		larger than the caches, and the miss of probing it at once was
 *		most of an exact distinct count's time.  The counts and the table
 *		are those of QualityFreqAdd.
 */
void
QualityFreqAddDeferred(QFreqState *st, Datum v)
{
	struct varlena *p = (struct varlena *) DatumGetPointer(v);
	Size		len;
	uint64		h;

	if (!QValTabBytesHash(&st->tab) || (VARATT_IS_EXTENDED(p) && !VARATT_IS_SHORT(p)) ||
		(len = VARSIZE_ANY_EXHDR(p)) > QFREQ_DEFER_MAX)
	{
		QualityFreqAdd(st, v);
		return;
	}
	h = hash_bytes_extended((const unsigned char *) VARDATA_ANY(p), len, 0);
	QValTabPrefetch(&st->tab, h);

	qfreq_flush(st);
	SET_VARSIZE(st->pending_value.bytes, VARHDRSZ + len);
	memcpy(VARDATA(st->pending_value.bytes), VARDATA_ANY(p), len);
	st->pending_hash = h;
	st->pending = true;
}

/* QualityFreqAdd: count one non-NULL value */
void
QualityFreqAdd(QFreqState *st, Datum v)
{
	MemoryContext old;

	qfreq_flush(st);
	old = MemoryContextSwitchTo(st->tab.cxt);

	QValTabAdd(&st->tab, v, 1);
	st->nonnull++;
	MemoryContextSwitchTo(old);
}

/* QualityFreqBytesHashed: whether st compares and hashes values by their bytes (QValTabBytesHash) */
bool
QualityFreqBytesHashed(const QFreqState *st)
{
	return QValTabBytesHash(&st->tab);
}

/* QualityFreqAddCount: count one non-NULL value count times (colstats.c's deferred counts) */
void
QualityFreqAddCount(QFreqState *st, Datum v, int64 count)
{
	MemoryContext old;

	qfreq_flush(st);
	old = MemoryContextSwitchTo(st->tab.cxt);

	QValTabAdd(&st->tab, v, count);
	st->nonnull += count;
	MemoryContextSwitchTo(old);
}

/*
 * QualityFreqAddBytesHashed
 *		QualityFreqAdd for a caller that has hash_bytes_extended(v's
 *		bytes, 0) already; returns false (and counts nothing) when the
 *		table does not hash that way, and the caller uses QualityFreqAdd.
 */
bool
QualityFreqAddBytesHashed(QFreqState *st, Datum v, uint64 h)
{
	MemoryContext old;

	if (!QValTabBytesHash(&st->tab))
		return false;

	qfreq_flush(st);
	old = MemoryContextSwitchTo(st->tab.cxt);
	QValTabAddHashed(&st->tab, v, h, 1);
	st->nonnull++;
	MemoryContextSwitchTo(old);
	return true;
}

Datum
metaetl_freq_sfunc(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	QFreqState *st = PG_ARGISNULL(0) ? NULL : (QFreqState *) PG_GETARG_POINTER(0);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "metaetl_freq_sfunc called in non-aggregate context");
	if (st == NULL)
		st = QualityFreqNew(aggcxt, get_fn_expr_argtype(fcinfo->flinfo, 1), PG_GET_COLLATION(),
							PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2),
							PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3));
	if (!PG_ARGISNULL(1))
		QualityFreqAdd(st, PG_GETARG_DATUM(1));
	PG_RETURN_POINTER(st);
}

/*
 * metaetl_freq_combine
 *		Combine function of etl._freq: merges a worker's value table
 *		into the leader's (QValTabMerge) and adds the non-NULL counts;
 *		when the leader has no state yet it takes the worker's type,
 *		top_n and ref values, so the final function sees the same
 *		parameters as in a serial scan.
 */
/*
 * QualityFreqCombine
 *		b merged into a (a NULL: a new state in cxt with b's type, top_n
 *		and ref values); returns a.
 */
QFreqState *
QualityFreqCombine(MemoryContext cxt, QFreqState *a, QFreqState *b)
{
	MemoryContext old;

	if (a)
		qfreq_flush(a);
	if (b)
		qfreq_flush(b);

	if (b == NULL)
		return a;
	old = MemoryContextSwitchTo(cxt);
	if (a == NULL)
	{
		a = qfreq_new(cxt, b->tab.typid, b->tab.collation, b->top_n);
		if (b->have_ref)
		{
			a->ref = palloc(sizeof(Datum) * Max(b->nref, 1));
			for (int i = 0; i < b->nref; i++)
				a->ref[i] = datumCopy(b->ref[i], b->tab.typbyval, b->tab.typlen);
			a->nref = b->nref;
			a->have_ref = true;
		}
	}
	QValTabMerge(&a->tab, &b->tab);
	a->nonnull += b->nonnull;
	MemoryContextSwitchTo(old);
	return a;
}

Datum
metaetl_freq_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	QFreqState *a = PG_ARGISNULL(0) ? NULL : (QFreqState *) PG_GETARG_POINTER(0);
	QFreqState *b = PG_ARGISNULL(1) ? NULL : (QFreqState *) PG_GETARG_POINTER(1);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "metaetl_freq_combine called in non-aggregate context");
	PG_RETURN_POINTER(QualityFreqCombine(aggcxt, a, b));
}

/* layout: oid type, oid collation, int32 top_n, int64 nonnull, int32 nref (-1 none), refs, table */
void
QualityFreqSerialize(QFreqState *st, StringInfo buf)
{
	int32		top = st->top_n;
	int32		nref = st->have_ref ? st->nref : -1;

	qfreq_flush(st);

	appendBinaryStringInfo(buf, (char *) &st->tab.typid, sizeof(Oid));
	appendBinaryStringInfo(buf, (char *) &st->tab.collation, sizeof(Oid));
	appendBinaryStringInfo(buf, (char *) &top, sizeof(top));
	appendBinaryStringInfo(buf, (char *) &st->nonnull, sizeof(int64));
	appendBinaryStringInfo(buf, (char *) &nref, sizeof(nref));
	for (int i = 0; i < st->nref; i++)
	{
		Size		sz = datumEstimateSpace(st->ref[i], false, st->tab.typbyval, st->tab.typlen);
		char	   *p;

		enlargeStringInfo(buf, sz);
		p = buf->data + buf->len;
		datumSerialize(st->ref[i], false, st->tab.typbyval, st->tab.typlen, &p);
		buf->len += sz;
	}
	QValTabSerialize(&st->tab, buf);
}

Datum
metaetl_freq_serial(PG_FUNCTION_ARGS)
{
	QFreqState *st = (QFreqState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	bytea	   *out;

	initStringInfo(&buf);
	QualityFreqSerialize(st, &buf);
	out = palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(out, VARHDRSZ + buf.len);
	memcpy(VARDATA(out), buf.data, buf.len);
	PG_RETURN_BYTEA_P(out);
}

/*
 * metaetl_freq_deserial
 *		Deserialisation function of etl._freq: reads the layout of
 *		metaetl_freq_serial, with nref -1 meaning "no ref array"
 *		(distinct from an empty one, which still yields ref_counts and
 *		extra), then the value table through QValTabDeserialize.
 */
/* QualityFreqDeserialize: the state QualityFreqSerialize wrote at p, in the current context; returns the position after it */
const char *
QualityFreqDeserialize(const char *p, const char *end, QFreqState **out)
{
	Oid			typid;
	Oid			coll;
	int32		top;
	int32		nref;
	int64		nonnull;
	QFreqState *st;

	if (end - p < (long) (2 * sizeof(Oid) + 2 * sizeof(int32) + sizeof(int64)))
		elog(ERROR, "invalid frequency state");
	memcpy(&typid, p, sizeof(Oid));
	p += sizeof(Oid);
	memcpy(&coll, p, sizeof(Oid));
	p += sizeof(Oid);
	memcpy(&top, p, sizeof(top));
	p += sizeof(top);
	memcpy(&nonnull, p, sizeof(nonnull));
	p += sizeof(nonnull);
	memcpy(&nref, p, sizeof(nref));
	p += sizeof(nref);
	st = qfreq_new(CurrentMemoryContext, typid, coll, top);
	st->nonnull = nonnull;
	if (nref >= 0)
	{
		st->have_ref = true;
		st->ref = palloc(sizeof(Datum) * Max(nref, 1));
		for (int i = 0; i < nref; i++)
		{
			bool		isnull;
			char	   *q = (char *) p;

			st->ref[i] = datumRestore(&q, &isnull);
			p = q;
		}
		st->nref = nref;
	}
	*out = st;
	return QValTabDeserialize(&st->tab, p, end);
}

Datum
metaetl_freq_deserial(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);
	QFreqState *st;

	(void) QualityFreqDeserialize(VARDATA_ANY(in), VARDATA_ANY(in) + VARSIZE_ANY_EXHDR(in), &st);
	PG_RETURN_POINTER(st);
}

static void
qfreq_value(StringInfo b, QFreqState *st, Datum v)
{
	QualityValueJson(b, st->tab.typid, v, false);
}

static bool
qfreq_is_mode(const QValEntry *e, void *arg)
{
	return e->count == *(int64 *) arg;
}

static bool
qfreq_not_in(const QValEntry *e, void *arg)
{
	return QValTabFind((QValTab *) arg, e->value) == NULL;
}

/*
 * metaetl_freq_final
 *		Final function of etl._freq: the jsonb described in the file
 *		header, from which the distinct_count, proportion_unique,
 *		most_common, distinct_values and categorical drift checks all
 *		read.
 *
 *		Counts are taken in one pass over the table; the values shown
 *		(top, mode, extra samples) are chosen with QValTabTop rather
 *		than sorting the whole table, since a column can have millions
 *		of distinct values and only a handful are printed. Ties are
 *		broken by value (by hash for a type without a btree order) so
 *		the output does not depend on hash order or on how a parallel
 *		scan split the rows.
 */
void
QualityFreqJson(QFreqState *st, StringInfo out)
{
	StringInfoData b;
	QValEntry **top;
	int			n = 0;
	int			ntop;
	int64		unique = 0;
	int64		max = 0;

	qfreq_flush(st);

	if (st == NULL)
	{
		appendStringInfoString(out, QUALITY_FREQ_EMPTY);
		return;
	}
	/* one pass for the counts; the entries shown are selected, not sorted */
	for (int i = 0; i < st->tab.size; i++)
		if (st->tab.e[i].used)
		{
			n++;
			if (st->tab.e[i].count == 1)
				unique++;
			max = Max(max, st->tab.e[i].count);
		}
	initStringInfo(&b);
	appendStringInfo(&b, "{\"n\": " INT64_FORMAT ", \"distinct\": %d, \"unique\": " INT64_FORMAT ", \"top\": [",
					 st->nonnull, n, unique);
	top = QValTabTop(&st->tab, st->top_n, NULL, NULL, &ntop);
	for (int i = 0; i < ntop; i++)
	{
		appendStringInfoString(&b, i ? ", {\"value\": " : "{\"value\": ");
		qfreq_value(&b, st, top[i]->value);
		appendStringInfo(&b, ", \"count\": " INT64_FORMAT "}", top[i]->count);
	}
	appendStringInfoString(&b, "], \"mode\": [");
	/* the most common values (at most 100, by value): with top_n only (most_common rules) */
	if (st->top_n > 0)
	{
		top = QValTabTop(&st->tab, 100, qfreq_is_mode, &max, &ntop);
		for (int i = 0; i < ntop; i++)
		{
			if (i)
				appendStringInfoString(&b, ", ");
			qfreq_value(&b, st, top[i]->value);
		}
	}
	appendStringInfo(&b, "], \"mode_count\": " INT64_FORMAT, max);
	if (st->have_ref)
	{
		int64		extra = 0;
		bool		first = true;
		QValTab		reftab;

		appendStringInfoString(&b, ", \"ref_counts\": [");
		for (int i = 0; i < st->nref; i++)
		{
			QValEntry  *e = QValTabFind(&st->tab, st->ref[i]);

			appendStringInfo(&b, "%s" INT64_FORMAT, i ? ", " : "", e ? e->count : 0);
		}
		appendStringInfoString(&b, "], \"ref_missing\": [");
		for (int i = 0; i < st->nref; i++)
			if (QValTabFind(&st->tab, st->ref[i]) == NULL)
			{
				if (!first)
					appendStringInfoString(&b, ", ");
				qfreq_value(&b, st, st->ref[i]);
				first = false;
			}
		QValTabInit(&reftab, CurrentMemoryContext, st->tab.typid, st->tab.collation, 0);
		for (int r = 0; r < st->nref; r++)
			QValTabAdd(&reftab, st->ref[r], 1);
		for (int i = 0; i < st->tab.size; i++)
			if (st->tab.e[i].used && QValTabFind(&reftab, st->tab.e[i].value) == NULL)
				extra++;
		appendStringInfoString(&b, "], \"extra_samples\": [");
		top = QValTabTop(&st->tab, 5, qfreq_not_in, &reftab, &ntop);
		for (int i = 0; i < ntop; i++)
		{
			appendStringInfoString(&b, i ? ", {\"value\": " : "{\"value\": ");
			qfreq_value(&b, st, top[i]->value);
			appendStringInfo(&b, ", \"count\": " INT64_FORMAT "}", top[i]->count);
		}
		appendStringInfo(&b, "], \"extra\": " INT64_FORMAT, extra);
	}
	appendStringInfoChar(&b, '}');
	appendBinaryStringInfo(out, b.data, b.len);
}

Datum
metaetl_freq_final(PG_FUNCTION_ARGS)
{
	QFreqState *st = PG_ARGISNULL(0) ? NULL : (QFreqState *) PG_GETARG_POINTER(0);
	StringInfoData b;

	initStringInfo(&b);
	QualityFreqJson(st, &b);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(b.data)));
}
