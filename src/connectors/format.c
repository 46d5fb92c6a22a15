/*-------------------------------------------------------------------------
 *
 * src/connectors/format.c
 *		The format registry: csv, tsv, json, ndjson, parquet, xlsx.
 *
 * A format is added by defining its MetaetlFormat in
 * src/connectors/formats/, declaring it below and listing it in
 * all_formats.  Transports (file, s3, azure_blob, gcs, http) find formats
 * only here, so every transport reads every format.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "connectors/format.h"
#include "connectors/formats/formats.h"

/* in connectors/formats/parquet_pg.c */
extern const MetaetlFormat MetaetlParquetFormat;

static const MetaetlFormat *const all_formats[] = {
	&MetaetlCsvFormat,
	&MetaetlTsvFormat,
	&MetaetlJsonFormat,
	&MetaetlNdjsonFormat,
	&MetaetlParquetFormat,
	&MetaetlXlsxFormat,
};

/*
 * MetaetlLookupFormat
 *		The format named name ("csv", "parquet", ...), or NULL, without
 *		raising.  Config validation (file.c, objstore.c, http.c) uses it so
 *		that an unknown format becomes one reported problem among the others
 *		instead of an error that hides the rest; run time uses
 *		MetaetlFindFormat.
 */
const MetaetlFormat *
MetaetlLookupFormat(const char *name)
{
	for (int i = 0; name && i < (int) lengthof(all_formats); i++)
		if (all_formats[i] && strcmp(all_formats[i]->name, name) == 0)
			return all_formats[i];
	return NULL;
}

/*
 * MetaetlFormats
 *		Every registered format, in registry order, with the count in *n: the
 *		counterpart of MetaetlConnectors (connector.c), so that a listing walks
 *		all_formats itself instead of keeping its own copy.  Nothing in the
 *		tree calls it yet; format.h exports it for such listings.
 */
const MetaetlFormat *const *
MetaetlFormats(int *n)
{
	*n = (int) lengthof(all_formats);
	return all_formats;
}

/*
 * MetaetlFindFormat
 *		The format named name, or an error naming the source or target for_id
 *		and listing the known formats.  For run time (file, object-store and
 *		http sources and targets), where a wrong name must stop the run; the
 *		validators use MetaetlLookupFormat and report the name as a problem.
 */
const MetaetlFormat *
MetaetlFindFormat(const char *name, const char *for_id)
{
	const MetaetlFormat *f = MetaetlLookupFormat(name);

	if (f)
		return f;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("\"%s\": unknown format \"%s\"", for_id ? for_id : "?", name),
			 errhint("Formats: %s.", MetaetlFormatList(false))));
	return NULL;
}

/*
 * MetaetlFormatForName
 *		The format an object name's suffix says (".parquet", ".csv.gz"), or
 *		NULL; a compression suffix is looked through.
 */
const MetaetlFormat *
MetaetlFormatForName(const char *object_name)
{
	size_t		len = strlen(object_name);
	static const char *const compressed[] = {".gz", ".gzip", ".zst", ".zstd"};

	for (int i = 0; i < (int) lengthof(compressed); i++)
	{
		size_t		l = strlen(compressed[i]);

		if (len > l && pg_strcasecmp(object_name + len - l, compressed[i]) == 0)
		{
			len -= l;
			break;
		}
	}
	for (int i = 0; i < (int) lengthof(all_formats); i++)
	{
		if (all_formats[i] == NULL || all_formats[i]->suffixes == NULL)
			continue;
		for (const char *const *sfx = all_formats[i]->suffixes; *sfx; sfx++)
		{
			size_t		l = strlen(*sfx);

			if (len > l && pg_strncasecmp(object_name + len - l, *sfx, l) == 0)
				return all_formats[i];
		}
	}
	return NULL;
}

/* "csv, json, ..." (writable: only formats that can write) */
char *
MetaetlFormatList(bool writable)
{
	StringInfoData b;

	initStringInfo(&b);
	for (int i = 0; i < (int) lengthof(all_formats); i++)
		if (all_formats[i] && (!writable || all_formats[i]->write))
			appendStringInfo(&b, "%s%s", b.len ? ", " : "", all_formats[i]->name);
	return b.len ? b.data : pstrdup("(none)");
}

/* ------------------------------------------------------------ validation */

const MetaetlConnKey *
MetaetlFormatOptionKeys(const MetaetlFormat *fmt)
{
	MetaetlConnKey *all;
	int			n = 0,
				cap = 1;

	if (fmt)
		return fmt->option_keys;
	for (int i = 0; i < (int) lengthof(all_formats); i++)
		for (const MetaetlConnKey *k = all_formats[i]->option_keys; k && k->key; k++)
			cap++;
	all = palloc0(sizeof(MetaetlConnKey) * cap);
	for (int i = 0; i < (int) lengthof(all_formats); i++)
		for (const MetaetlConnKey *k = all_formats[i]->option_keys; k && k->key; k++)
		{
			int			j;

			for (j = 0; j < n; j++)
				if (strcmp(all[j].key, k->key) == 0)
					break;
			if (j == n)
				all[n++] = *k;
			else if (all[j].kind != k->kind || all[j].values != k->values)
			{
				/* formats disagree on the value (none do today): any scalar */
				all[j].kind = MCK_ANY;
				all[j].values = NULL;
			}
		}
	return all;
}

/*
 * MetaetlFormatCheckOptions
 *		Check a config's options object against the keys fmt declares (their
 *		names and value kinds), adding problems to chk rather than raising.
 *		With fmt NULL, when the format is "auto" or decided per object at run
 *		time, any format's key is accepted (MetaetlFormatOptionKeys).  Keeping
 *		this here means a transport never lists format options itself, so a
 *		format's new option is validated for every transport at once.
 */
void
MetaetlFormatCheckOptions(CfgCheck *chk, const MetaetlFormat *fmt)
{
	const MetaetlConnKey *keys = MetaetlFormatOptionKeys(fmt);
	StringInfoData what;

	initStringInfo(&what);
	appendStringInfo(&what, "%s options (", fmt ? fmt->name : "format");
	if (keys == NULL || keys->key == NULL)
		appendStringInfoString(&what, "it takes none");
	for (const MetaetlConnKey *k = keys; k && k->key; k++)
		appendStringInfo(&what, "%s%s", k == keys ? "valid: " : ", ", k->key);
	appendStringInfoChar(&what, ')');
	MetaetlCfgCheckKeys(chk, "options", keys, what.data);
}

/* ------------------------------------------------- reading a source's objects */

typedef struct ReadState
{
	MetaetlSink *sink;
	List	   *cols;			/* the first object's columns (with file_column) */
	const char *first_name;
	const char *name;			/* the object being read */
} ReadState;

/* the format knows an object's columns: create the table, or check they match */
static MetaetlSink *
read_begin(MetaetlFormatRead *rd, List *cols)
{
	ReadState  *st = rd->begin_arg;
	List	   *all = list_copy(cols);

	if (rd->file_column)
	{
		MetaetlColumn *fc = palloc0(sizeof(MetaetlColumn));

		fc->name = pstrdup(rd->file_column);
		fc->type = "text";
		all = lappend(all, fc);
	}
	if (st->sink == NULL)
	{
		st->sink = MetaetlSinkBegin(rd->plan, rd->src, all);
		st->cols = all;
		st->first_name = st->name;
		return st->sink;
	}
	if (list_length(all) != list_length(st->cols))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("source \"%s\": \"%s\" has %d column%s, \"%s\" had %d", rd->src->id, st->name,
						list_length(all), list_length(all) == 1 ? "" : "s", st->first_name, list_length(st->cols)),
				 errhint("Every object of a source must have the same columns; declare columns: to read a subset.")));
	for (int i = 0; i < list_length(all); i++)
	{
		MetaetlColumn *a = list_nth(all, i);
		MetaetlColumn *b = list_nth(st->cols, i);

		if (strcmp(a->name, b->name) != 0 || (a->type && b->type && strcmp(a->type, b->type) != 0))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("source \"%s\": column %d of \"%s\" is %s %s, in \"%s\" it was %s %s",
							rd->src->id, i + 1, st->name, quote_identifier(a->name),
							a->type ? a->type : "?", st->first_name, quote_identifier(b->name),
							b->type ? b->type : "?"),
					 errhint("Every object of a source must have the same columns; declare columns: to read a subset.")));
	}
	return st->sink;
}

typedef struct OpenContext
{
	const char *src;
	const char *name;
} OpenContext;

static void
read_open_errcontext(void *arg)
{
	OpenContext *oc = arg;

	errcontext("source \"%s\", opening \"%s\"", oc->src, oc->name);
}

/*
 * An error reading an object whose message does not say where — a value
 * that does not convert fails in its type's input function, a damaged
 * gzip stream in zlib, a missing file in open — gets the error context's
 * line naming the source and position ("source "s", file "a.csv", line 12,
 * column "id" (integer)") as its detail too: a run records an error's
 * message and detail, not its context.
 */
static void
read_rethrow_with_position(MemoryContext cxt)
{
	ErrorData  *ed;
	const char *line;

	MemoryContextSwitchTo(cxt);
	ed = CopyErrorData();
	line = ed->context ? strstr(ed->context, "source \"") : NULL;
	if (ed->detail == NULL && line && (line == ed->context || line[-1] == '\n') &&
		ed->message && strncmp(ed->message, "source \"", 8) != 0)
	{
		FlushErrorState();
		ed->detail = psprintf("In %.*s.", (int) strcspn(line, "\n"), line);
		ReThrowError(ed);
	}
	PG_RE_THROW();
}

/*
 * MetaetlReadObjects
 *		Read every object in "names" (already filtered and sorted by the
 *		transport) into the source's staging table, opening each with
 *		"open" (transport-specific), decompressing per the source's
 *		"compression" key and parsing with its "format" (or the format the
 *		name's suffix says).  Returns the SELECT the compiler reads.
 */
char *
MetaetlReadObjects(MetaetlPlan *plan, MetaetlNode *src, List *names,
				   MetaetlInStream *(*open) (void *arg, const char *name), void *arg)
{
	ReadState	st;
	ListCell   *lc;
	char	   *fmtname = MetaetlJStr(src->conf, "format");
	char	   *compression = MetaetlJStr(src->conf, "compression");
	JsonbContainer *decl = MetaetlJObj(src->conf, "columns");
	List	   *declared = NIL;
	List	   *wanted = NIL;
	volatile int no = 0;
	MemoryContext cxt = CurrentMemoryContext;

	memset(&st, 0, sizeof(st));
	if (decl && JsonContainerIsObject(decl))
	{
		char	  **k;
		JsonbValue **v;
		int			n = MetaetlJObjEntries(decl, &k, &v);

		for (int i = 0; i < n; i++)
		{
			MetaetlColumn *c = palloc0(sizeof(MetaetlColumn));

			c->name = k[i];
			c->type = MetaetlTypeName(src, MetaetlJValueText(v[i]));
			declared = lappend(declared, c);
		}
	}
	else if (decl && JsonContainerIsArray(decl))
	{
		/* ["name type", ...]: the columns in the object's order */
		for (int i = 0; i < MetaetlJArrayLen(decl); i++)
		{
			char	   *e = MetaetlJValueText(MetaetlJArrayAt(decl, i));
			char	   *sp = e ? strpbrk(e, " \t") : NULL;
			MetaetlColumn *c = palloc0(sizeof(MetaetlColumn));

			if (sp == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("source \"%s\": columns entries are \"name type\"", src->id)));
			*sp = '\0';
			c->name = e;
			c->type = MetaetlTypeName(src, sp + 1);
			declared = lappend(declared, c);
		}
	}
	/*
	 * Without declared columns, formats that can skip columns decode only
	 * those the pipeline reads (transform/compile.c works them out).
	 */
	if (declared == NIL)
		wanted = MetaetlUsedColumns(plan, src);
	if (names == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("source \"%s\": no objects to read", src->id),
				 errhint("Check the source's path, prefix and pattern.")));
	PG_TRY();
	{
		foreach(lc, names)
		{
			const char *name = lfirst(lc);
			const MetaetlFormat *fmt = fmtname && strcmp(fmtname, "auto") != 0
				? MetaetlFindFormat(fmtname, src->id) : MetaetlFormatForName(name);
			MetaetlFormatRead rd;
			MetaetlInStream *in;

			if (fmt == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("source \"%s\": cannot tell the format of \"%s\"", src->id, name),
						 errhint("Give format: one of %s.", MetaetlFormatList(false))));
			st.name = name;
			{
				/* errors opening (a missing file, access denied) name the source */
				ErrorContextCallback errcb;
				OpenContext oc = {src->id, name};

				errcb.callback = read_open_errcontext;
				errcb.arg = &oc;
				errcb.previous = error_context_stack;
				error_context_stack = &errcb;
				in = open(arg, name);
				in = MetaetlDecompressIn(in, compression ? compression : "auto");
				error_context_stack = errcb.previous;
			}
			if (fmt->needs_seek && !in->seekable)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("source \"%s\": format %s needs random access, and \"%s\" is a sequential stream",
								src->id, fmt->name, name),
						 errhint("Store %s objects uncompressed.", fmt->name)));
			memset(&rd, 0, sizeof(rd));
			rd.plan = plan;
			rd.src = src;
			rd.in = in;
			rd.declared = declared;
			rd.wanted = wanted;
			rd.file_column = MetaetlJStr(src->conf, "file_column");
			rd.object_no = no++;
			rd.begin = read_begin;
			rd.begin_arg = &st;
			if (st.sink)
				MetaetlSinkPosition(st.sink, "object \"%s\"", name);
			fmt->read(&rd);
			MetaetlStreamClose(in);
			if (plan->describe_only)
				break;				/* the first object tells the columns */
		}
	}
	PG_CATCH();
	{
		read_rethrow_with_position(cxt);
	}
	PG_END_TRY();
	if (st.sink == NULL)
		elog(ERROR, "format of source \"%s\" read no columns", src->id);
	MetaetlSinkEnd(st.sink);
	return psprintf("SELECT * FROM %s", src->temp);
}
