/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/formats.h
 *		What the text formats (csv, tsv, json, ndjson) and xlsx share: option
 *		lookup, column lists from headers and declarations, the JSON
 *		representation of a value, and the formats' definitions for the
 *		registry (connectors/format.c).
 *
 * A format's options are read from the source's or target's "options:"
 * map first and then from the top level, so the keys the csv/json/ndjson
 * file types always took (header, delimiter, quote, escape, null,
 * encoding) keep working where they were written, and "type: file" configs
 * can group them under options: as the contract shows.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_FORMATS_H
#define METAETL_FORMATS_H

#include "connectors/format.h"

/* the registry's entries (listed in connectors/format.c) */
extern const MetaetlFormat MetaetlCsvFormat;
extern const MetaetlFormat MetaetlTsvFormat;
extern const MetaetlFormat MetaetlJsonFormat;
extern const MetaetlFormat MetaetlNdjsonFormat;
extern const MetaetlFormat MetaetlXlsxFormat;

/* in connectors/formats/common.c */

/* options.key, else key, as text (NULL when neither is given) */
extern char *MetaetlFmtOpt(JsonbContainer *conf, const char *key);
extern bool MetaetlFmtOptBool(JsonbContainer *conf, const char *key, bool dflt);
/* a non-negative integer option, at most max; "what" names the source or target */
extern int64 MetaetlFmtOptInt(JsonbContainer *conf, const char *key, int64 dflt, int64 max,
							  const char *what);
/* a single-byte option (delimiter, quote, escape) or dflt */
extern char MetaetlFmtOptChar(JsonbContainer *conf, const char *key, char dflt, const char *what);
/* the "encoding" option as a PostgreSQL encoding id, or dflt */
extern int	MetaetlFmtOptEncoding(JsonbContainer *conf, int dflt, const char *what);

/* columns: given as a list ["name type", ...] (file order) rather than a map */
extern bool MetaetlFmtDeclaredInOrder(MetaetlNode *src);

/*
 * The columns of an object whose first row names them (csv header, xlsx
 * header row): names in file order, typed by a declared {name: type} map
 * where given and "dflt_type" otherwise; a declared name missing from the
 * header is an error with a did-you-mean, and so are empty or repeated
 * header names.  types[i] (may be NULL) proposes a type per column when
 * nothing is declared (xlsx inference).
 */
extern List *MetaetlFmtHeaderColumns(MetaetlFormatRead *rd, char **names, int n,
									 const char **types, const char *dflt_type);

/*
 * Where a reader is, for error messages: 'file "x.csv", line 12'.  Kept by
 * the reader (pos.n moves per row; nothing is formatted until an error),
 * given to the sink with MetaetlSinkPositionCallback(sink,
 * MetaetlFmtPosRender, &pos) for conversion errors, and entered as an error
 * context around parsing (MetaetlFmtEnter / MetaetlFmtLeave, which cost two
 * pointer assignments) so parse errors name it too.
 */
typedef struct MetaetlFmtPos
{
	const char *source;			/* source id */
	const char *object;			/* stream name */
	const char *unit;			/* "line", "row", "object" */
	int64		n;				/* 1-based; 0: not yet in a row */
	const char *unit2;			/* a second counter ("object"), or NULL */
	int64		n2;
	const char *extra;			/* "sheet \"Prices\"", or NULL */
	ErrorContextCallback cb;
} MetaetlFmtPos;

extern void MetaetlFmtPosInit(MetaetlFmtPos *pos, MetaetlFormatRead *rd, const char *unit);
extern void MetaetlFmtPosRender(void *arg, StringInfo buf);
extern void MetaetlFmtEnter(MetaetlFmtPos *pos);
extern void MetaetlFmtLeave(MetaetlFmtPos *pos);

/*
 * JSON output of values the way to_jsonb() writes them: numbers bare
 * (NaN and infinities as strings), booleans, strings escaped, json/jsonb
 * embedded, date/time in ISO 8601, everything else (arrays, composites,
 * domains) through to_jsonb itself.
 */
typedef struct MetaetlJsonOut MetaetlJsonOut;
extern MetaetlJsonOut *MetaetlJsonOutBegin(TupleDesc desc);
/* one row as a JSON object, keys in the order jsonb keeps them */
extern void MetaetlJsonOutRow(MetaetlJsonOut *jo, StringInfo buf, Datum *values, bool *nulls);

/* output settings that read back anywhere (ISO dates...), until End */
extern int	MetaetlFmtOutputBegin(void);
extern void MetaetlFmtOutputEnd(int level);

/* write buf to out and empty it once it holds more than FMT_FLUSH bytes */
#define FMT_FLUSH (256 * 1024)
extern void MetaetlFmtFlush(MetaetlOutStream *out, StringInfo buf, bool force);

#endif							/* METAETL_FORMATS_H */
