/*-------------------------------------------------------------------------
 *
 * src/connectors/sink.c
 *		Bulk insert of a connector's rows into its staging table, and a
 *		batched reader of a node's rows for non-table targets.
 *
 * The staging table is a temporary table the sink creates itself (no
 * indexes, triggers or constraints), so rows can go straight to
 * table_multi_insert in batches of SINK_BATCH, as COPY FROM does, with a
 * BulkInsertState.  Conversion from text uses each column type's input
 * function; an error in one names the source, the position the connector
 * last set, and the column (an error context callback, not string
 * matching).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/regproc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "connectors/sink.h"

#define SINK_BATCH 1000

struct MetaetlSink
{
	MetaetlPlan *plan;
	MetaetlNode *src;
	Relation	rel;			/* NULL under describe_only */
	TupleDesc	desc;
	FmgrInfo   *in_funcs;
	Oid		   *typioparams;
	int32	   *typmods;
	TupleTableSlot **slots;
	int			nslots;
	BulkInsertState bistate;
	CommandId	cid;
	MemoryContext batch_cxt;	/* the batch's tuples; reset after each flush */
	int64		rows;
	char	   *position;		/* "file a.csv, line 12", for errors */
	MetaetlSinkPositionFn position_fn;	/* or this renders it, at error time */
	void	   *position_arg;
	int			column;			/* converting this column (0-based), or -1 */
};

/* errors while converting or inserting name the source, position, column */
static void
sink_errcontext(void *arg)
{
	MetaetlSink *sink = arg;
	const char *position = sink->position;

	if (sink->position_fn)
	{
		StringInfoData b;

		initStringInfo(&b);
		sink->position_fn(sink->position_arg, &b);
		position = b.data;
	}
	if (sink->column >= 0)
		errcontext("source \"%s\"%s%s, column \"%s\" (%s)", sink->src->id,
				   position ? ", " : "", position ? position : "",
				   NameStr(TupleDescAttr(sink->desc, sink->column)->attname),
				   format_type_be(TupleDescAttr(sink->desc, sink->column)->atttypid));
	else
		errcontext("source \"%s\"%s%s", sink->src->id,
				   position ? ", " : "", position ? position : "");
}

/*
 * Start bulk loading rows of cols into src's staging table (created here,
 * temporary, with the declared types): rows go in by batched heap inserts,
 * not SQL per row, and the source's SELECT reads the table.
 */
MetaetlSink *
MetaetlSinkBegin(MetaetlPlan *plan, MetaetlNode *src, List *cols)
{
	MetaetlSink *sink = palloc0(sizeof(MetaetlSink));
	StringInfoData ddl;
	ListCell   *lc;
	Oid			relid;

	if (cols == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\" has no columns", src->id),
				 errhint("Declare columns: {name: type}.")));
	sink->plan = plan;
	sink->src = src;
	sink->column = -1;
	src->temp = MetaetlNewTemp(plan, "src");

	initStringInfo(&ddl);
	appendStringInfo(&ddl, "CREATE TEMP TABLE %s (", src->temp);
	foreach(lc, cols)
	{
		MetaetlColumn *c = lfirst(lc);

		appendStringInfo(&ddl, "%s%s %s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(c->name), c->type);
	}
	appendStringInfoString(&ddl, ") ON COMMIT DROP");
	MetaetlScript(plan, ddl.data);
	MetaetlExec(ddl.data, SPI_OK_UTILITY);
	CommandCounterIncrement();

	relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(src->temp)),
							 NoLock, false);
	sink->rel = table_open(relid, RowExclusiveLock);
	sink->desc = RelationGetDescr(sink->rel);
	foreach(lc, cols)
	{
		MetaetlColumn *c = lfirst(lc);

		c->typid = TupleDescAttr(sink->desc, foreach_current_index(lc))->atttypid;
	}
	if (plan->describe_only)
		return sink;

	sink->in_funcs = palloc(sizeof(FmgrInfo) * sink->desc->natts);
	sink->typioparams = palloc(sizeof(Oid) * sink->desc->natts);
	sink->typmods = palloc(sizeof(int32) * sink->desc->natts);
	for (int i = 0; i < sink->desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(sink->desc, i);
		Oid			func;

		getTypeInputInfo(a->atttypid, &func, &sink->typioparams[i]);
		fmgr_info(func, &sink->in_funcs[i]);
		sink->typmods[i] = a->atttypmod;
	}
	sink->slots = palloc(sizeof(TupleTableSlot *) * SINK_BATCH);
	for (int i = 0; i < SINK_BATCH; i++)
		sink->slots[i] = MakeSingleTupleTableSlot(sink->desc, &TTSOpsVirtual);
	sink->bistate = GetBulkInsertState();
	sink->cid = GetCurrentCommandId(true);
	sink->batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl sink batch",
											ALLOCSET_DEFAULT_SIZES);
	return sink;
}

/* The staging table's tuple descriptor, for callers that build datums. */
TupleDesc
MetaetlSinkDesc(MetaetlSink *sink)
{
	return sink->desc;
}

static void
sink_flush(MetaetlSink *sink)
{
	ErrorContextCallback errcb;
	MemoryContext old;

	if (sink->nslots == 0)
		return;
	errcb.callback = sink_errcontext;
	errcb.arg = sink;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	/* the heap tuples multi_insert forms are the batch's too (as in COPY) */
	old = MemoryContextSwitchTo(sink->batch_cxt);
	table_multi_insert(sink->rel, sink->slots, sink->nslots, sink->cid, 0, sink->bistate);
	MemoryContextSwitchTo(old);
	error_context_stack = errcb.previous;
	for (int i = 0; i < sink->nslots; i++)
		ExecClearTuple(sink->slots[i]);
	sink->nslots = 0;
	MemoryContextReset(sink->batch_cxt);
}

/*
 * Add one row of datums (already of the columns' types); nothing is stored
 * when the plan only describes.
 */
void
MetaetlSinkPut(MetaetlSink *sink, Datum *values, bool *nulls)
{
	TupleTableSlot *slot;
	MemoryContext old;

	if (sink->plan->describe_only)
		return;
	slot = sink->slots[sink->nslots];
	ExecClearTuple(slot);
	old = MemoryContextSwitchTo(sink->batch_cxt);
	for (int i = 0; i < sink->desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(sink->desc, i);

		slot->tts_isnull[i] = nulls[i];
		slot->tts_values[i] = nulls[i] ? (Datum) 0 : datumCopy(values[i], a->attbyval, a->attlen);
	}
	MemoryContextSwitchTo(old);
	ExecStoreVirtualTuple(slot);
	sink->rows++;
	if (++sink->nslots == SINK_BATCH)
		sink_flush(sink);
}

/*
 * Add one row of text fields, each converted by its column's input
 * function; a value that does not convert is an error naming the source,
 * the column and the position (MetaetlSinkPosition) of the bad value.
 */
void
MetaetlSinkPutText(MetaetlSink *sink, char **fields)
{
	TupleTableSlot *slot;
	MemoryContext old;
	ErrorContextCallback errcb;

	if (sink->plan->describe_only)
		return;
	slot = sink->slots[sink->nslots];
	ExecClearTuple(slot);
	errcb.callback = sink_errcontext;
	errcb.arg = sink;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	old = MemoryContextSwitchTo(sink->batch_cxt);
	for (int i = 0; i < sink->desc->natts; i++)
	{
		sink->column = i;
		slot->tts_isnull[i] = fields[i] == NULL;
		slot->tts_values[i] = InputFunctionCall(&sink->in_funcs[i], fields[i],
												sink->typioparams[i], sink->typmods[i]);
	}
	sink->column = -1;
	MemoryContextSwitchTo(old);
	error_context_stack = errcb.previous;
	ExecStoreVirtualTuple(slot);
	sink->rows++;
	if (++sink->nslots == SINK_BATCH)
		sink_flush(sink);
}

/* Set the position that errors name (file, line, record), as text. */
void
MetaetlSinkPosition(MetaetlSink *sink, const char *fmt,...)
{
	StringInfoData b;

	if (sink->position)
		pfree(sink->position);
	sink->position_fn = NULL;	/* a text position replaces a callback */
	initStringInfo(&b);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&b, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&b, needed);
	}
	sink->position = b.data;
}

/*
 * Set a callback that formats the position only when an error needs it:
 * cheaper than formatting a position for every row.
 */
void
MetaetlSinkPositionCallback(MetaetlSink *sink, MetaetlSinkPositionFn fn, void *arg)
{
	sink->position_fn = fn;
	sink->position_arg = arg;
}

/*
 * Flush and close the sink; returns the rows loaded and makes them visible
 * to the run's later statements.
 */
int64
MetaetlSinkEnd(MetaetlSink *sink)
{
	if (!sink->plan->describe_only)
	{
		sink_flush(sink);
		FreeBulkInsertState(sink->bistate);
		for (int i = 0; i < SINK_BATCH; i++)
			ExecDropSingleTupleTableSlot(sink->slots[i]);
		MemoryContextDelete(sink->batch_cxt);
		sink->src->rows = sink->rows;
	}
	table_close(sink->rel, NoLock);
	/* later statements of the run see the rows */
	CommandCounterIncrement();
	return sink->rows;
}

/* ------------------------------------------------------------- row reader */

#define READER_BATCH 1000

struct MetaetlRowReader
{
	Portal		portal;
	SPITupleTable *batch;
	uint64		nbatch;
	uint64		pos;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
	int64		rows;
	bool		done;
};

/*
 * Read a node's rows (ref, with its CTEs) in batches through a cursor, for
 * targets that send rows elsewhere: memory stays bounded however many rows
 * the node has.
 */
MetaetlRowReader *
MetaetlRowReaderOpen(MetaetlPlan *plan, const char *with_prefix, const char *ref, List *cols)
{
	MetaetlRowReader *r = palloc0(sizeof(MetaetlRowReader));
	char	   *sql = psprintf("%sSELECT %s FROM %s", with_prefix ? with_prefix : "",
							   MetaetlColList(cols, NULL), ref);
	SPIPlanPtr	p;

	MetaetlScript(plan, sql);
	p = SPI_prepare(sql, 0, NULL);
	if (p == NULL)
		elog(ERROR, "SPI_prepare failed (%d): %s", SPI_result, sql);
	/*
	 * Not read-only: a read-only cursor would use the active snapshot, which
	 * does not see rows this run wrote earlier in the transaction (a
	 * materialised node feeding two targets).
	 */
	r->portal = SPI_cursor_open(NULL, p, NULL, NULL, false);
	r->desc = CreateTupleDescCopy(r->portal->tupDesc);
	r->values = palloc(sizeof(Datum) * r->desc->natts);
	r->nulls = palloc(sizeof(bool) * r->desc->natts);
	return r;
}

/* The descriptor of the rows the reader returns. */
TupleDesc
MetaetlRowReaderDesc(MetaetlRowReader *r)
{
	return r->desc;
}

/*
 * The next row (values/nulls valid until the next call), or false at the end.
 */
bool
MetaetlRowReaderNext(MetaetlRowReader *r, Datum **values, bool **nulls)
{
	if (r->pos >= r->nbatch)
	{
		if (r->batch)
			SPI_freetuptable(r->batch);
		r->batch = NULL;
		r->nbatch = r->pos = 0;
		if (r->done)
			return false;
		SPI_cursor_fetch(r->portal, true, READER_BATCH);
		r->batch = SPI_tuptable;
		r->nbatch = SPI_processed;
		if (r->nbatch < READER_BATCH)
			r->done = true;
		if (r->nbatch == 0)
			return false;
	}
	heap_deform_tuple(r->batch->vals[r->pos++], r->desc, r->values, r->nulls);
	r->rows++;
	*values = r->values;
	*nulls = r->nulls;
	return true;
}

/* Close the cursor; returns the rows read. */
int64
MetaetlRowReaderClose(MetaetlRowReader *r)
{
	if (r->batch)
		SPI_freetuptable(r->batch);
	SPI_cursor_close(r->portal);
	return r->rows;
}
