/*-------------------------------------------------------------------------
 *
 * src/connectors/sink.h
 *		Bulk loading of extracted rows into a source's staging table, and
 *		reading a node's rows back out for targets that are not tables.
 *
 * A connector that produces rows in C (formats, HTTP, object stores) puts
 * them into a MetaetlSink: a temporary table (ON COMMIT DROP, created as the
 * run's role) filled with heap_multi_insert in batches, so extracting a
 * million rows costs about what COPY costs.  Rows come either as Datums of
 * the column types or as text fields converted by the types' input
 * functions.  Every conversion error names the source, the position the
 * connector set (file, page, record), the column and the value's type.
 *
 * A target that is not a table reads its input through a MetaetlRowReader:
 * a cursor over "with_prefix SELECT cols FROM ref" fetched in batches.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_SINK_H
#define METAETL_SINK_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

#include "transform/plan.h"

typedef struct MetaetlSink MetaetlSink;

/*
 * Create the staging table for src with these columns (MetaetlColumn *:
 * name and type text; typid filled in here) and open it for bulk insert.
 * The table is src->temp; extract returns "SELECT * FROM <table>".
 * Under plan->describe_only the table is created empty and puts are
 * ignored.
 */
extern MetaetlSink *MetaetlSinkBegin(MetaetlPlan *plan, MetaetlNode *src, List *cols);
/* the table's TupleDesc, to build Datums of the right types */
extern TupleDesc MetaetlSinkDesc(MetaetlSink *sink);
/* one row of Datums (copied; the caller may reuse its arrays) */
extern void MetaetlSinkPut(MetaetlSink *sink, Datum *values, bool *nulls);
/* one row of text fields (NULL pointer = SQL NULL), converted by input functions */
extern void MetaetlSinkPutText(MetaetlSink *sink, char **fields);
/* where the next rows come from, for error messages: "file a.csv, line 12" */
extern void MetaetlSinkPosition(MetaetlSink *sink, const char *fmt,...) pg_attribute_printf(2, 3);

/*
 * The same, rendered only when an error needs it: a reader that moves on
 * every row (a line counter) sets this once instead of formatting a
 * position per row.  fn appends the position to buf; NULL removes it.  It
 * takes precedence over MetaetlSinkPosition's text until the next
 * MetaetlSinkPosition call, which removes it.
 */
typedef void (*MetaetlSinkPositionFn) (void *arg, StringInfo buf);
extern void MetaetlSinkPositionCallback(MetaetlSink *sink, MetaetlSinkPositionFn fn, void *arg);
/* flush, close the table; returns the rows put (also stored in src->rows) */
extern int64 MetaetlSinkEnd(MetaetlSink *sink);

typedef struct MetaetlRowReader MetaetlRowReader;

/* rows of "with_prefix SELECT <cols> FROM ref", as the run's role */
extern MetaetlRowReader *MetaetlRowReaderOpen(MetaetlPlan *plan, const char *with_prefix,
											  const char *ref, List *cols);
extern TupleDesc MetaetlRowReaderDesc(MetaetlRowReader *r);
/* next row: false at the end; values/nulls stay valid until the next call */
extern bool MetaetlRowReaderNext(MetaetlRowReader *r, Datum **values, bool **nulls);
extern int64 MetaetlRowReaderClose(MetaetlRowReader *r);

#endif							/* METAETL_SINK_H */
