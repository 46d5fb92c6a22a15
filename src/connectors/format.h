/*-------------------------------------------------------------------------
 *
 * src/connectors/format.h
 *		File formats (csv, tsv, json, ndjson, parquet, xlsx) over any stream.
 *
 * A format reads rows from a MetaetlInStream into a MetaetlSink and writes
 * rows from a MetaetlRowReader to a MetaetlOutStream.  Transports (server
 * files, S3 / Azure / GCS objects, HTTP bodies) open the streams; the
 * format never knows where the bytes come from.  A source over several
 * objects (prefix + pattern) reads each in turn into one sink: the first
 * object's columns (or the declared ones) fix the table, and an object whose
 * columns differ is an error naming it (the format calls begin, which
 * checks).
 *
 * Formats are found by name through MetaetlFindFormat; their option keys
 * (the source's / target's "options:" map, and format-level keys such as
 * "columns") are declared so that etl.validate_config checks them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_FORMAT_H
#define METAETL_FORMAT_H

#include "connectors/connector.h"
#include "connectors/sink.h"
#include "connectors/stream.h"

/* What a format's read gets: one object of a source. */
typedef struct MetaetlFormatRead
{
	MetaetlPlan *plan;
	MetaetlNode *src;			/* the source: id, conf (options, columns) */
	MetaetlInStream *in;
	List	   *declared;		/* MetaetlColumn * from "columns:", or NIL */
	List	   *wanted;			/* column names the pipeline uses, or NIL = all
								 * (formats that can skip columns, parquet) */
	const char *file_column;	/* add the object's name as this column, or NULL */
	int			object_no;		/* 0 for the first object of the source */

	/*
	 * Called once per object when the format knows its columns (the declared
	 * ones when given); returns the sink to put rows into.  The first call
	 * creates the staging table, later ones check the columns match.
	 */
	MetaetlSink *(*begin) (struct MetaetlFormatRead *rd, List *cols);
	void	   *begin_arg;
} MetaetlFormatRead;

typedef struct MetaetlFormat
{
	const char *name;			/* csv, tsv, json, ndjson, parquet, xlsx */
	const char *const *suffixes;	/* for "format: auto" / pattern defaults */
	const MetaetlConnKey *option_keys;	/* keys of "options:" */
	bool		needs_seek;		/* parquet, xlsx: read from a seekable stream
								 * (a transport spools to a temp file if not) */

	/* read the whole object; returns rows put */
	int64		(*read) (MetaetlFormatRead *rd);
	/* write every row of the reader; returns rows written (NULL: read-only) */
	int64		(*write) (MetaetlRowReader *rows, JsonbContainer *conf, MetaetlOutStream *out);
} MetaetlFormat;

/* in connectors/format.c */
extern char *MetaetlReadObjects(MetaetlPlan *plan, MetaetlNode *src, List *names,
								MetaetlInStream *(*open) (void *arg, const char *name), void *arg);
extern const MetaetlFormat *MetaetlFindFormat(const char *name, const char *for_id);
/* the format named "name", or NULL (validation: no error, no I/O) */
extern const MetaetlFormat *MetaetlLookupFormat(const char *name);
/* the registry, in order (validation of options: across every format) */
extern const MetaetlFormat *const *MetaetlFormats(int *n);
extern const MetaetlFormat *MetaetlFormatForName(const char *object_name);
extern char *MetaetlFormatList(bool writable);

/*
 * Validation of "options:" (etl.validate_config, through a connector's
 * check callback).  The keys are each format's own option_keys table, the
 * only list of them; with fmt NULL (the format is decided per object at
 * run time) the keys of every format.  MetaetlFormatCheckOptions reports
 * an unknown key at its path (sources[0].options.delimter) with a
 * did-you-mean and the valid keys, and a value of the wrong kind.
 */
extern const MetaetlConnKey *MetaetlFormatOptionKeys(const MetaetlFormat *fmt);
extern void MetaetlFormatCheckOptions(CfgCheck *chk, const MetaetlFormat *fmt);

#endif							/* METAETL_FORMAT_H */
