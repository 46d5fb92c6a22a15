/*-------------------------------------------------------------------------
 *
 * src/quality/valtab.h
 *		A table of distinct values with their counts, for C aggregates of the
 *		one-scan query (etl._freq, the approximate profile's top values).
 *
 * Keys are datums of one type, hashed with the type's extended hash and
 * compared with its equality (so the counts are exact, not hash-based).
 * The table lives in the aggregate's memory context and is bounded: by a
 * number of entries (the profile stops tracking a column with too many
 * values) or by memory (hash_mem: work_mem x hash_mem_multiplier, at least
 * 64 MB), past which the caller raises a clear error.  It serialises with
 * datumSerialize for partial aggregation.
 *
 * Include after "postgres.h".
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_QUALITY_VALTAB_H
#define METAETL_QUALITY_VALTAB_H

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"

typedef struct QValEntry
{
	uint64		hash;
	int64		count;
	Datum		value;
	bool		used;
	uint8		ilen;			/* QVT_BYTES: the value's length if at most QVT_INLINE, else QVT_NOT_INLINE */
	char		ikey[6];		/* then its bytes, zero-padded (qvt_slot compares them, not value) */
} QValEntry;

/* QValEntry's ikey: text values this short are compared without reading value (fits the padding) */
#define QVT_INLINE 6
#define QVT_NOT_INLINE 0xFF

typedef struct QValTab
{
	MemoryContext cxt;
	Oid			typid;
	Oid			collation;
	int16		typlen;
	bool		typbyval;
	FmgrInfo	hashfn;			/* extended hash (value, seed) */
	FmgrInfo	eqfn;
	FmgrInfo	cmpfn;			/* btree order, when the type has one */
	bool		has_cmp;
	char		fast;			/* QVT_FMGR, QVT_BYTES (text, deterministic), QVT_BYVAL (integers, dates) */
	QValEntry  *e;
	int			size;			/* slots, a power of two */
	int			n;				/* entries */
	int			max_entries;	/* 0: bounded by memory only */
	bool		overflow;		/* max_entries was reached: counts incomplete */
	Size		mem;			/* bytes of copied values */
} QValTab;

#define QVT_FMGR 0
#define QVT_BYTES 1
#define QVT_BYVAL 2

/* in quality/valtab.c */
extern void QValTabInit(QValTab *t, MemoryContext cxt, Oid typid, Oid collation, int max_entries);
extern bool QValTabTypeOk(Oid typid);
extern QValEntry *QValTabAdd(QValTab *t, Datum v, int64 count);
extern QValEntry *QValTabFind(QValTab *t, Datum v);
extern bool QValTabBytesHash(const QValTab *t);
extern QValEntry *QValTabAddHashed(QValTab *t, Datum v, uint64 h, int64 count);
extern void QValTabPrefetch(const QValTab *t, uint64 h);
extern void QValTabMerge(QValTab *t, const QValTab *other);
extern void QValTabSerialize(const QValTab *t, StringInfo buf);
extern const char *QValTabDeserialize(QValTab *t, const char *p, const char *end);
extern QValEntry **QValTabSorted(QValTab *t, int *n);
typedef bool (*QValKeep) (const QValEntry *e, void *arg);
extern QValEntry **QValTabTop(QValTab *t, int k, QValKeep keep, void *arg, int *n);

/*
 * etl._freq's state (valtab.c): exact counts of the distinct values, the top
 * ones and counts of reference values; shared with colstats.c, whose fused
 * statistics must give etl._freq's jsonb.
 */
typedef struct QFreqState QFreqState;

/* etl._freq's result for no row */
#define QUALITY_FREQ_EMPTY "{\"n\": 0, \"distinct\": 0, \"unique\": 0, \"top\": [], \"mode\": [], \"mode_count\": 0}"

extern QFreqState *QualityFreqNew(MemoryContext cxt, Oid typid, Oid collation, int top_n, ArrayType *ref);
extern void QualityFreqAdd(QFreqState *st, Datum v);
extern void QualityFreqAddDeferred(QFreqState *st, Datum v);
extern void QualityFreqAddCount(QFreqState *st, Datum v, int64 count);
extern bool QualityFreqBytesHashed(const QFreqState *st);
extern bool QualityFreqAddBytesHashed(QFreqState *st, Datum v, uint64 h);
extern QFreqState *QualityFreqCombine(MemoryContext cxt, QFreqState *a, QFreqState *b);
extern void QualityFreqSerialize(QFreqState *st, StringInfo buf);
extern const char *QualityFreqDeserialize(const char *p, const char *end, QFreqState **out);
extern void QualityFreqJson(QFreqState *st, StringInfo out);

#endif							/* METAETL_QUALITY_VALTAB_H */
