/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/csv.c
 *		The csv and tsv formats: reading through PostgreSQL's own COPY
 *		parser, writing the way COPY TO writes.
 *
 * csv is COPY's CSV format (options header, delimiter, quote, escape,
 * null, encoding, skip_rows); tsv is COPY's text format — tab-separated,
 * \N for NULL, backslash escapes — which is what COPY TO and psql's \copy
 * write by default and the one tab-separated dialect that keeps tabs,
 * newlines and NULLs apart from data.
 *
 * Reading: BeginCopyFrom with a data_source_cb that reads the
 * MetaetlInStream (so a gzip stream, an S3 object or an HTTP body parses
 * exactly as COPY FROM a file would, encoding conversion and quoting
 * rules included), and NextCopyFromRawFields for each record's fields.
 * The fields go to the sink as text, whose input functions convert them
 * with an error naming the source, file, line and column; COPY's own
 * conversion (NextCopyFrom) would name only the stand-in relation below.
 * The header is read as an ordinary record, so its names are parsed and
 * transcoded like the data.
 *
 * BeginCopyFrom wants a Relation only for its TupleDesc (one input
 * function per column, and the initial size of the field array, which
 * grows as records need); raw fields never touch it, so a stand-in
 * relation with one text column is enough, and the staging table can be
 * created after the header told the columns.
 *
 * Lines are counted as COPY counts them: one per record, so a quoted
 * value spanning lines counts once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tupdesc.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "commands/defrem.h"
#include "mb/pg_wchar.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "connectors/formats/formats.h"

typedef struct CsvDialect
{
	bool		csv;			/* CSV, else COPY text (tsv) */
	bool		header;
	char		delim;
	char		quote;
	char		escape;
	char	   *null;
	char	   *encoding;		/* the file's (default: the database's) */
	int64		skip;			/* records before the header */
} CsvDialect;

static void
csv_dialect(JsonbContainer *conf, bool csv, const char *what, CsvDialect *d)
{
	char	   *null = MetaetlFmtOpt(conf, "null");

	d->csv = csv;
	d->header = MetaetlFmtOptBool(conf, "header", true);
	d->delim = MetaetlFmtOptChar(conf, "delimiter", csv ? ',' : '\t', what);
	d->quote = MetaetlFmtOptChar(conf, "quote", '"', what);
	d->escape = MetaetlFmtOptChar(conf, "escape", d->quote, what);
	d->null = null ? null : pstrdup(csv ? "" : "\\N");
	d->encoding = MetaetlFmtOpt(conf, "encoding");
	if (d->encoding)
		(void) MetaetlFmtOptEncoding(conf, -1, what);
	else
	{
		/*
		 * The database's encoding, not COPY's default of the client's: a run
		 * worker has no client, and a file must not read differently when a
		 * session with another client_encoding runs the same pipeline.
		 */
		d->encoding = pstrdup(GetDatabaseEncodingName());
	}
	d->skip = MetaetlFmtOptInt(conf, "skip_rows", 0, PG_INT32_MAX, what);
}

/* ------------------------------------------------------------ reading */

/* the stream COPY's data callback reads (the callback takes no argument) */
static MetaetlInStream *csv_in = NULL;

static int
csv_copy_source(void *outbuf, int minread, int maxread)
{
	size_t		got = 0;

	while (got < (size_t) minread)
	{
		size_t		n = MetaetlStreamRead(csv_in, (char *) outbuf + got, maxread - got);

		if (n == 0)
			break;
		got += n;
	}
	return (int) got;
}

static Relation
csv_stand_in(const char *id)
{
	Relation	rel = palloc0(sizeof(RelationData));
	TupleDesc	desc = CreateTemplateTupleDesc(1);

	TupleDescInitEntry(desc, 1, "value", TEXTOID, -1, 0);
	rel->rd_att = desc;
	rel->rd_id = InvalidOid;
	rel->rd_rel = palloc0(sizeof(FormData_pg_class));
	namestrcpy(&rel->rd_rel->relname, id);
	rel->rd_rel->relkind = RELKIND_RELATION;
	return rel;
}

static List *
csv_copy_options(CsvDialect *d)
{
	List	   *o = NIL;

	o = lappend(o, makeDefElem("format", (Node *) makeString(d->csv ? "csv" : "text"), -1));
	o = lappend(o, makeDefElem("delimiter", (Node *) makeString(psprintf("%c", d->delim)), -1));
	o = lappend(o, makeDefElem("null", (Node *) makeString(d->null), -1));
	if (d->csv)
	{
		o = lappend(o, makeDefElem("quote", (Node *) makeString(psprintf("%c", d->quote)), -1));
		o = lappend(o, makeDefElem("escape", (Node *) makeString(psprintf("%c", d->escape)), -1));
	}
	if (d->encoding)
		o = lappend(o, makeDefElem("encoding", (Node *) makeString(d->encoding), -1));
	return o;
}

/* the next record's fields, with the position entered as error context */
static bool
csv_next(CopyFromState cstate, MetaetlFmtPos *pos, char ***fields, int *nfields)
{
	bool		got;

	pos->n++;
	MetaetlFmtEnter(pos);
	got = NextCopyFromRawFields(cstate, fields, nfields);
	MetaetlFmtLeave(pos);
	return got;
}

static int64
csv_read_copy(MetaetlFormatRead *rd, CsvDialect *d)
{
	MetaetlFmtPos pos;
	CopyFromState cstate;
	char	  **fields;
	int			nfields;
	List	   *cols;
	MetaetlSink *sink;
	int			ncols,
				natts;
	char	  **row;
	int64		rows = 0;

	MetaetlFmtPosInit(&pos, rd, "line");
	MetaetlFmtEnter(&pos);
	cstate = BeginCopyFrom(NULL, csv_stand_in(rd->src->id), NULL, NULL, false,
						   csv_copy_source, NIL, csv_copy_options(d));
	MetaetlFmtLeave(&pos);

	for (int64 i = 0; i < d->skip; i++)
		if (!csv_next(cstate, &pos, &fields, &nfields))
			break;

	if (MetaetlFmtDeclaredInOrder(rd->src))
	{
		/* columns: ["name type", ...] in file order; a header is skipped */
		if (d->header)
			(void) csv_next(cstate, &pos, &fields, &nfields);
		cols = rd->declared;
	}
	else if (!d->header)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\": a %s file without a header needs columns: [\"name type\", ...]",
						rd->src->id, d->csv ? "csv" : "tsv"),
				 errhint("List the columns in file order.")));
	else
	{
		if (!csv_next(cstate, &pos, &fields, &nfields))
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("source \"%s\": \"%s\" is empty: it has no header line",
							rd->src->id, rd->in->name),
					 errhint("Set header: false and declare columns: [\"name type\", ...] to read files without a header.")));
		cols = MetaetlFmtHeaderColumns(rd, fields, nfields, NULL, "text");
	}
	sink = rd->begin(rd, cols);
	if (rd->plan->describe_only)
	{
		EndCopyFrom(cstate);
		return 0;
	}

	ncols = list_length(cols);
	natts = MetaetlSinkDesc(sink)->natts;
	row = palloc0(sizeof(char *) * natts);
	if (rd->file_column)
		row[natts - 1] = (char *) rd->in->name;
	MetaetlSinkPositionCallback(sink, MetaetlFmtPosRender, &pos);
	while (csv_next(cstate, &pos, &fields, &nfields))
	{
		if (nfields != ncols)
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("source \"%s\": line " INT64_FORMAT " of \"%s\" has %d field%s, expected %d",
							rd->src->id, pos.n, rd->in->name, nfields, nfields == 1 ? "" : "s", ncols),
					 errhint("Every line must have as many fields as the header (or columns:) names.")));
		memcpy(row, fields, sizeof(char *) * ncols);
		MetaetlSinkPutText(sink, row);
		rows++;
	}
	MetaetlSinkPositionCallback(sink, NULL, NULL);
	EndCopyFrom(cstate);
	return rows;
}

static int64
csv_read_common(MetaetlFormatRead *rd, bool csv)
{
	CsvDialect	d;
	MetaetlInStream *volatile saved = csv_in;
	int64		rows = 0;

	csv_dialect(rd->src->conf, csv, psprintf("source \"%s\"", rd->src->id), &d);
	PG_TRY();
	{
		csv_in = rd->in;
		rows = csv_read_copy(rd, &d);
	}
	PG_FINALLY();
	{
		csv_in = saved;
	}
	PG_END_TRY();
	return rows;
}

static int64
csv_read(MetaetlFormatRead *rd)
{
	return csv_read_common(rd, true);
}

static int64
tsv_read(MetaetlFormatRead *rd)
{
	return csv_read_common(rd, false);
}

/* ------------------------------------------------------------ writing */

typedef struct CsvOut
{
	CsvDialect	d;
	int			natts;
	int			encoding;		/* the file's */
	bool		transcode;
	bool		embeds_ascii;	/* multibyte chars may contain ASCII bytes */
	char	   *null_out;		/* the null string in the file's encoding */
} CsvOut;

/* one value (in the file's encoding) as COPY's CSV writer quotes it */
static void
csv_field(CsvOut *co, StringInfo buf, const char *s, bool is_null_text)
{
	bool		quote = is_null_text;
	const char *p;

	if (!quote && co->natts == 1 && strcmp(s, "\\.") == 0)
		quote = true;			/* would read as the end-of-data marker */
	for (p = s; !quote && *p; )
	{
		char		c = *p;

		if (c == co->d.delim || c == co->d.quote || c == '\n' || c == '\r')
			quote = true;
		else if (IS_HIGHBIT_SET(c) && co->embeds_ascii)
			p += pg_encoding_mblen(co->encoding, p);
		else
			p++;
	}
	if (!quote)
	{
		appendStringInfoString(buf, s);
		return;
	}
	appendStringInfoChar(buf, co->d.quote);
	for (p = s; *p; )
	{
		char		c = *p;

		if (c == co->d.quote || c == co->d.escape)
			appendStringInfoChar(buf, co->d.escape);
		if (IS_HIGHBIT_SET(c) && co->embeds_ascii)
		{
			int			l = pg_encoding_mblen(co->encoding, p);

			appendBinaryStringInfo(buf, p, l);
			p += l;
		}
		else
		{
			appendStringInfoChar(buf, c);
			p++;
		}
	}
	appendStringInfoChar(buf, co->d.quote);
}

/* one value as COPY's text writer escapes it */
static void
tsv_field(CsvOut *co, StringInfo buf, const char *s)
{
	for (const char *p = s; *p; )
	{
		char		c = *p;

		if ((unsigned char) c < 0x20)
		{
			char		e = 0;

			switch (c)
			{
				case '\b':
					e = 'b';
					break;
				case '\f':
					e = 'f';
					break;
				case '\n':
					e = 'n';
					break;
				case '\r':
					e = 'r';
					break;
				case '\t':
					e = 't';
					break;
				case '\v':
					e = 'v';
					break;
				default:
					if (c == co->d.delim)
						e = c;
					break;
			}
			if (e)
			{
				appendStringInfoChar(buf, '\\');
				appendStringInfoChar(buf, e);
			}
			else
				appendStringInfoChar(buf, c);
			p++;
		}
		else if (c == '\\' || c == co->d.delim)
		{
			appendStringInfoChar(buf, '\\');
			appendStringInfoChar(buf, c);
			p++;
		}
		else if (IS_HIGHBIT_SET(c) && co->embeds_ascii)
		{
			int			l = pg_encoding_mblen(co->encoding, p);

			appendBinaryStringInfo(buf, p, l);
			p += l;
		}
		else
		{
			appendStringInfoChar(buf, c);
			p++;
		}
	}
}

/* a server-encoding string in the file's encoding */
static const char *
csv_transcode(CsvOut *co, const char *s)
{
	return co->transcode ? pg_server_to_any(s, strlen(s), co->encoding) : s;
}

static void
csv_value(CsvOut *co, StringInfo buf, const char *s)
{
	bool		is_null_text = strcmp(s, co->d.null) == 0;

	s = csv_transcode(co, s);
	if (co->d.csv)
		csv_field(co, buf, s, is_null_text);
	else
		tsv_field(co, buf, s);
}

static int64
csv_write_common(MetaetlRowReader *rows, JsonbContainer *conf, MetaetlOutStream *out, bool csv)
{
	TupleDesc	desc = MetaetlRowReaderDesc(rows);
	CsvOut		co;
	FmgrInfo   *outf;
	StringInfoData buf;
	MemoryContext rowcxt,
				old;
	Datum	   *values;
	bool	   *nulls;
	int64		n = 0;
	int			gucs = MetaetlFmtOutputBegin();
	int			dbenc = GetDatabaseEncoding();

	memset(&co, 0, sizeof(co));
	csv_dialect(conf, csv, psprintf("target writing \"%s\"", out->name), &co.d);
	co.natts = desc->natts;
	co.encoding = MetaetlFmtOptEncoding(conf, dbenc, psprintf("target writing \"%s\"", out->name));
	co.transcode = co.encoding != dbenc && co.encoding != PG_SQL_ASCII && dbenc != PG_SQL_ASCII;
	co.embeds_ascii = PG_ENCODING_IS_CLIENT_ONLY(co.encoding);
	co.null_out = (char *) csv_transcode(&co, co.d.null);
	if (co.d.csv && strchr(co.d.null, co.d.delim))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target writing \"%s\": the null string must not contain the delimiter", out->name)));

	outf = palloc(sizeof(FmgrInfo) * Max(desc->natts, 1));
	for (int i = 0; i < desc->natts; i++)
	{
		Oid			func;
		bool		varlena;

		getTypeOutputInfo(TupleDescAttr(desc, i)->atttypid, &func, &varlena);
		fmgr_info(func, &outf[i]);
	}
	initStringInfo(&buf);
	if (co.d.header)
	{
		for (int i = 0; i < desc->natts; i++)
		{
			if (i > 0)
				appendStringInfoChar(&buf, co.d.delim);
			csv_value(&co, &buf, NameStr(TupleDescAttr(desc, i)->attname));
		}
		appendStringInfoChar(&buf, '\n');
	}

	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl csv row", ALLOCSET_DEFAULT_SIZES);
	while (MetaetlRowReaderNext(rows, &values, &nulls))
	{
		old = MemoryContextSwitchTo(rowcxt);
		for (int i = 0; i < desc->natts; i++)
		{
			if (i > 0)
				appendStringInfoChar(&buf, co.d.delim);
			if (nulls[i])
				appendStringInfoString(&buf, co.null_out);
			else
				csv_value(&co, &buf, OutputFunctionCall(&outf[i], values[i]));
		}
		appendStringInfoChar(&buf, '\n');
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
		MetaetlFmtFlush(out, &buf, false);
		n++;
	}
	MetaetlFmtFlush(out, &buf, true);
	MemoryContextDelete(rowcxt);
	MetaetlFmtOutputEnd(gucs);
	return n;
}

static int64
csv_write(MetaetlRowReader *rows, JsonbContainer *conf, MetaetlOutStream *out)
{
	return csv_write_common(rows, conf, out, true);
}

static int64
tsv_write(MetaetlRowReader *rows, JsonbContainer *conf, MetaetlOutStream *out)
{
	return csv_write_common(rows, conf, out, false);
}

/* ------------------------------------------------------------ registry */

static const MetaetlConnKey csv_option_keys[] = {
	{"header", MCK_BOOL},
	{"delimiter", MCK_STRING},
	{"quote", MCK_STRING},
	{"escape", MCK_STRING},
	{"null", MCK_STRING},
	{"encoding", MCK_STRING},
	{"skip_rows", MCK_INTEGER},
	MCK_END
};

static const MetaetlConnKey tsv_option_keys[] = {
	{"header", MCK_BOOL},
	{"delimiter", MCK_STRING},
	{"null", MCK_STRING},
	{"encoding", MCK_STRING},
	{"skip_rows", MCK_INTEGER},
	MCK_END
};

static const char *const csv_suffixes[] = {".csv", NULL};
static const char *const tsv_suffixes[] = {".tsv", ".tab", NULL};

const MetaetlFormat MetaetlCsvFormat = {
	.name = "csv",
	.suffixes = csv_suffixes,
	.option_keys = csv_option_keys,
	.read = csv_read,
	.write = csv_write,
};

const MetaetlFormat MetaetlTsvFormat = {
	.name = "tsv",
	.suffixes = tsv_suffixes,
	.option_keys = tsv_option_keys,
	.read = tsv_read,
	.write = tsv_write,
};
