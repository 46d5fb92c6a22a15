/*-------------------------------------------------------------------------
 *
 * src/connectors/file.c
 *		Server-side files: csv, json (one array) and ndjson (one object per
 *		line) sources and targets, through COPY.
 *
 * A file source is copied into a temporary table first (COPY needs a
 * table), which the rest of the plan reads.  Reading needs the
 * pg_read_server_files role, writing pg_write_server_files; without them
 * the error says so before any file is touched.  Options: header (default
 * true), delimiter, quote, null, encoding; columns: {name: type} (default:
 * the header's names, or the first object's keys, as text / numeric /
 * boolean).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "connectors/connector.h"
#include "connectors/format.h"
#include "connectors/sink.h"
#include "connectors/stream.h"

/*
 * csv, json, ndjson: the 0.1 types, through COPY.  file: any format of the
 * format registry (format: parquet, ...), through a stream.
 */
static const char *const file_types[] = {"csv", "json", "ndjson", "file", NULL};

static void
file_require(const char *id, bool write)
{
	Oid			role = write ? ROLE_PG_WRITE_SERVER_FILES : ROLE_PG_READ_SERVER_FILES;

	if (!has_privs_of_role(GetUserId(), role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s \"%s\": %s server-side files needs the %s role", write ? "target" : "source",
						id, write ? "writing" : "reading",
						write ? "pg_write_server_files" : "pg_read_server_files"),
				 errhint("GRANT %s TO %s; or use a table instead.",
						 write ? "pg_write_server_files" : "pg_read_server_files",
						 GetUserNameFromId(GetUserId(), false))));
}

static char *
file_path(JsonbContainer *conf, const char *id)
{
	char	   *path = MetaetlJStr(conf, "path");

	if (path == NULL)
		path = MetaetlJStr(conf, "file");
	if (path == NULL || path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\": a file source or target needs path", id)));
	return path;
}

/* COPY options for csv: header, delimiter, quote, null, encoding (all literals) */
static char *
csv_options(JsonbContainer *conf)
{
	StringInfoData b;
	const char *keys[] = {"delimiter", "quote", "null", "encoding", "escape"};

	initStringInfo(&b);
	appendStringInfo(&b, "FORMAT csv, HEADER %s", MetaetlJBool(conf, "header", true) ? "true" : "false");
	for (int i = 0; i < (int) lengthof(keys); i++)
	{
		char	   *v = MetaetlJStr(conf, keys[i]);

		if (v)
			appendStringInfo(&b, ", %s %s", keys[i], quote_literal_cstr(v));
	}
	return b.data;
}

static char *csv_columns(MetaetlNode *src, const char *path);

static char *
declared_columns(MetaetlNode *src)
{
	JsonbContainer *decl = MetaetlJObj(src->conf, "columns");
	char	  **k;
	JsonbValue **v;
	int			n;
	StringInfoData b;

	if (decl && JsonContainerIsArray(decl))
		return csv_columns(src, NULL);	/* ["name type", ...] in order */
	n = MetaetlJObjEntries(decl, &k, &v);
	if (n == 0)
		return NULL;
	initStringInfo(&b);
	for (int i = 0; i < n; i++)
		appendStringInfo(&b, "%s%s %s", i ? ", " : "", quote_identifier(k[i]),
						 MetaetlTypeName(src, MetaetlJValueText(v[i])));
	return b.data;
}

/* the names in the csv header line */
static List *
header_names(MetaetlNode *src, const char *path)
{
	Datum		args[1];
	Oid			types[1] = {TEXTOID};
	bool		isnull;
	char	   *txt,
			   *nl;
	char	   *delim = MetaetlJStr(src->conf, "delimiter");
	char		d = delim && delim[0] ? delim[0] : ',';
	StringInfoData name;
	List	   *names = NIL;
	bool		inq = false;

	args[0] = CStringGetTextDatum(path);
	if (SPI_execute_with_args("SELECT pg_catalog.pg_read_file($1, 0, 65536)", 1, types, args, NULL,
							  false, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_read_file failed");
	txt = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if ((nl = strchr(txt, '\n')) != NULL)
		*nl = '\0';
	if ((nl = strchr(txt, '\r')) != NULL)
		*nl = '\0';
	initStringInfo(&name);
	for (char *p = txt;; p++)
	{
		if (*p == '"')
		{
			if (inq && p[1] == '"')
			{
				appendStringInfoChar(&name, '"');
				p++;
			}
			else
				inq = !inq;
			continue;
		}
		if (*p == '\0' || (*p == d && !inq))
		{
			names = lappend(names, pstrdup(name.data));
			resetStringInfo(&name);
			if (*p == '\0')
				break;
			continue;
		}
		appendStringInfoChar(&name, *p);
	}
	return names;
}

/*
 * csv columns: with a header, the header's names in file order, typed by
 * columns: {name: type} where given (text otherwise); without a header,
 * columns: ["name type", ...] in file order.
 */
static char *
csv_columns(MetaetlNode *src, const char *path)
{
	JsonbValue *decl = MetaetlJGet(src->conf, "columns");
	StringInfoData b;
	ListCell   *lc;

	initStringInfo(&b);
	if (decl && decl->type == jbvBinary && JsonContainerIsArray(decl->val.binary.data))
	{
		for (int i = 0; i < MetaetlJArrayLen(decl->val.binary.data); i++)
		{
			char	   *e = MetaetlJValueText(MetaetlJArrayAt(decl->val.binary.data, i));
			char	   *sp = strpbrk(e, " \t");

			if (e == NULL || sp == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("source \"%s\": columns entries are \"name type\"", src->id)));
			*sp = '\0';
			appendStringInfo(&b, "%s%s %s", i ? ", " : "", quote_identifier(e),
							 MetaetlTypeName(src, sp + 1));
		}
		return b.data;
	}
	if (!MetaetlJBool(src->conf, "header", true))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\": a csv file without a header needs columns: [\"name type\", ...]", src->id),
				 errhint("List the columns in file order.")));
	{
		List	   *names = header_names(src, path);
		JsonbContainer *types = decl && decl->type == jbvBinary ? decl->val.binary.data : NULL;
		char	  **k;
		JsonbValue **v;
		int			n = MetaetlJObjEntries(types, &k, &v);
		List	   *cols = NIL;

		foreach(lc, names)
		{
			MetaetlColumn *c = palloc0(sizeof(MetaetlColumn));
			char	   *t = "text";

			c->name = lfirst(lc);
			cols = lappend(cols, c);
			for (int i = 0; i < n; i++)
				if (strcmp(k[i], c->name) == 0)
					t = MetaetlTypeName(src, MetaetlJValueText(v[i]));
			appendStringInfo(&b, "%s%s %s", b.len ? ", " : "", quote_identifier(c->name), t);
		}
		for (int i = 0; i < n; i++)
			MetaetlFindColumn(src, cols, k[i], "columns (the file's header)");
	}
	return b.data;
}

/* columns from the first object's keys, typed by its values */
static char *
object_columns(const char *first_object_sql)
{
	StringInfoData b;

	MetaetlExec(psprintf("SELECT k, CASE pg_catalog.jsonb_typeof(v) WHEN 'number' THEN 'numeric' "
						 "WHEN 'boolean' THEN 'boolean' ELSE 'text' END FROM (%s) o(j), "
						 "pg_catalog.jsonb_each(o.j) e(k, v)", first_object_sql), SPI_OK_SELECT);
	initStringInfo(&b);
	for (uint64 i = 0; i < SPI_processed; i++)
		appendStringInfo(&b, "%s%s %s", i ? ", " : "",
						 quote_identifier(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)),
						 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
	return b.data;
}

/* the format a "type: file" source or target names, or its path's suffix says */
static const MetaetlFormat *
file_format(JsonbContainer *conf, const char *path, const char *what, const char *id)
{
	char	   *name = MetaetlJStr(conf, "format");
	const MetaetlFormat *fmt;

	if (name && strcmp(name, "auto") != 0)
		return MetaetlFindFormat(name, id);
	fmt = MetaetlFormatForName(path);
	if (fmt == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\": cannot tell the format of \"%s\"", what, id, path),
				 errhint("Give format: one of %s.", MetaetlFormatList(false))));
	return fmt;
}

/* open a server file of a "type: file" source; a missing file names the source */
static MetaetlInStream *
file_open_in(void *arg, const char *path)
{
	MetaetlNode *src = arg;
	struct stat st;

	if (stat(path, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("source \"%s\": could not open file \"%s\": %m", src->id, path)));
	return MetaetlOpenFileIn(path);
}

static char *
file_extract(MetaetlPlan *plan, MetaetlNode *src)
{
	char	   *path = file_path(src->conf, src->id);
	char	   *tmp = MetaetlNewTemp(plan, "file");
	char	   *cols = strcmp(src->type, "csv") == 0 ? NULL : declared_columns(src);
	char	   *lit = quote_literal_cstr(path);
	char	   *sql;

	file_require(src->id, false);
	if (strcmp(src->type, "file") == 0)
	{
		(void) file_format(src->conf, path, "source", src->id);
		return MetaetlReadObjects(plan, src, list_make1(path), file_open_in, src);
	}
	if (strcmp(src->type, "csv") == 0)
	{
		cols = csv_columns(src, path);
		MetaetlExec(psprintf("CREATE TEMP TABLE %s (%s) ON COMMIT DROP", tmp, cols), SPI_OK_UTILITY);
		sql = psprintf("COPY %s FROM %s WITH (%s)", tmp, lit, csv_options(src->conf));
	}
	else
	{
		/* json / ndjson: raw text lines first, then one row per object */
		char	   *raw = MetaetlNewTemp(plan, "raw");
		char	   *enc = MetaetlJStr(src->conf, "encoding");

		MetaetlExec(psprintf("CREATE TEMP TABLE %s (line pg_catalog.text) ON COMMIT DROP", raw), SPI_OK_UTILITY);
		MetaetlExec(psprintf("COPY %s FROM %s WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'%s%s)",
							 raw, lit, enc ? ", ENCODING " : "", enc ? quote_literal_cstr(enc) : ""), 0);
		if (cols == NULL && strcmp(src->type, "json") == 0)
			cols = object_columns(psprintf("SELECT pg_catalog.string_agg(line, E'\\n')::pg_catalog.jsonb -> 0 FROM %s", raw));
		else if (cols == NULL)
			cols = object_columns(psprintf("SELECT line::pg_catalog.jsonb FROM %s WHERE line ~ '\\S' LIMIT 1", raw));
		if (cols[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("source \"%s\": no columns found in %s", src->id, path),
					 errhint("Declare columns: {name: type}.")));
		MetaetlExec(psprintf("CREATE TEMP TABLE %s (%s) ON COMMIT DROP", tmp, cols), SPI_OK_UTILITY);
		if (strcmp(src->type, "json") == 0)
			sql = psprintf("INSERT INTO %s SELECT r.* FROM (SELECT pg_catalog.string_agg(line, E'\\n')::pg_catalog.jsonb AS doc FROM %s) d, "
						   "pg_catalog.jsonb_array_elements(d.doc) e, pg_catalog.jsonb_to_record(e.value) AS r(%s)", tmp, raw, cols);
		else
			sql = psprintf("INSERT INTO %s SELECT r.* FROM %s l, pg_catalog.jsonb_to_record(l.line::pg_catalog.jsonb) AS r(%s) "
						   "WHERE l.line ~ '\\S'", tmp, raw, cols);
	}
	MetaetlScript(plan, sql);
	if (!plan->describe_only)
		src->rows = MetaetlExec(sql, 0);
	return psprintf("SELECT * FROM %s", tmp);
}

static char *
file_describe(MetaetlPlan *plan, MetaetlNode *src)
{
	char	   *path = file_path(src->conf, src->id);

	if (strcmp(src->type, "file") == 0)
		return psprintf("%s file %s", file_format(src->conf, path, "source", src->id)->name, path);
	return psprintf("%s file %s", src->type, path);
}

/*
 * A "type: file" target: the rows through the format's writer into a
 * stream that becomes the file only at finish, so an error leaves an
 * existing file as it was.
 */
static int64
file_load_format(MetaetlPlan *plan, MetaetlTarget *tgt, const char *prefix, const char *ref,
				 List *cols, const char *path)
{
	const MetaetlFormat *fmt = file_format(tgt->conf, path, "target", tgt->id);
	char	   *compression = MetaetlJStr(tgt->conf, "compression");
	MetaetlOutStream *out;
	MetaetlRowReader *rows;
	int64		n;

	if (fmt->write == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("target \"%s\": format %s cannot be written", tgt->id, fmt->name),
				 errhint("Writable formats: %s.", MetaetlFormatList(true))));
	MetaetlScript(plan, psprintf("-- write %s as %s", path, fmt->name));
	if (plan->describe_only)
		return 0;
	out = MetaetlOpenFileOut(path);
	out = MetaetlCompressOut(out, compression ? compression : "auto");
	rows = MetaetlRowReaderOpen(plan, prefix, ref, cols);
	n = fmt->write(rows, tgt->conf, out);
	MetaetlRowReaderClose(rows);
	MetaetlStreamFinish(out);
	return n;
}

static int64
file_load(MetaetlPlan *plan, MetaetlTarget *tgt, const char *prefix, const char *ref, List *cols)
{
	char	   *path = file_path(tgt->conf, tgt->id);
	char	   *lit = quote_literal_cstr(path);
	char	   *collist = MetaetlColList(cols, NULL);
	char	   *sql;

	file_require(tgt->id, true);
	tgt->table_display = path;
	if (strcmp(tgt->mode, "replace") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("target \"%s\": file targets support mode replace only", tgt->id)));
	if (strcmp(tgt->type, "file") == 0)
		return file_load_format(plan, tgt, prefix, ref, cols, path);
	if (strcmp(tgt->type, "csv") == 0)
		sql = psprintf("COPY (%sSELECT %s FROM %s) TO %s WITH (%s)", prefix, collist, ref, lit,
					   csv_options(tgt->conf));
	else if (strcmp(tgt->type, "ndjson") == 0)
		sql = psprintf("COPY (%sSELECT pg_catalog.to_jsonb(r)::pg_catalog.text FROM (SELECT %s FROM %s) r) TO %s "
					   "WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')", prefix, collist, ref, lit);
	else
		sql = psprintf("COPY (%sSELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r)), '[]')::pg_catalog.text "
					   "FROM (SELECT %s FROM %s) r) TO %s WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')",
					   prefix, collist, ref, lit);
	MetaetlScript(plan, sql);
	if (plan->describe_only)
		return 0;
	MetaetlExec(sql, 0);
	if (strcmp(tgt->type, "json") == 0)
	{
		bool		isnull;

		MetaetlExec(psprintf("%sSELECT pg_catalog.count(*) FROM %s", prefix, ref), SPI_OK_SELECT);
		return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	return (int64) SPI_processed;
}

/*
 * Vocabulary: the file's path (or file), COPY's csv options, and the
 * columns when the header (csv) or first object (json, ndjson) should not
 * decide them.
 */
static const char *const file_compressions[] = {"auto", "none", "gzip", "zstd", NULL};

static const MetaetlConnKey file_source_keys[] = {
	{"path", MCK_STRING, MCK_ONEOF},
	{"file", MCK_STRING, MCK_ONEOF},
	{"header", MCK_BOOL},
	{"delimiter", MCK_STRING},
	{"quote", MCK_STRING},
	{"escape", MCK_STRING},
	{"null", MCK_STRING},
	{"encoding", MCK_STRING},
	{"columns", MCK_COLUMNS},
	{"format", MCK_STRING},		/* type: file */
	{"compression", MCK_ENUM, 0, file_compressions},
	{"options", MCK_OBJECT},
	{"file_column", MCK_STRING},
	MCK_END
};

static const MetaetlConnKey file_target_keys[] = {
	{"path", MCK_STRING, MCK_ONEOF},
	{"file", MCK_STRING, MCK_ONEOF},
	{"header", MCK_BOOL},
	{"delimiter", MCK_STRING},
	{"quote", MCK_STRING},
	{"escape", MCK_STRING},
	{"null", MCK_STRING},
	{"encoding", MCK_STRING},
	{"format", MCK_STRING},		/* type: file */
	{"compression", MCK_ENUM, 0, file_compressions},
	{"options", MCK_OBJECT},
	MCK_END
};

static const char *const file_modes[] = {"replace", NULL};

const MetaetlConnector MetaetlFileConnector = {
	.name = "file",
	.types = file_types,
	.source_keys = file_source_keys,
	.target_keys = file_target_keys,
	.target_modes = file_modes,
	.describe = file_describe,
	.extract = file_extract,
	.load = file_load,
};
