/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/xlsx.c
 *		The xlsx format (read only): PostgreSQL glue over the pure-C reader
 *		in xlsx_core.c / xlsx_sheet.c.
 *
 * The workbook is read in place through the source's seekable stream (a
 * server file, or an object store's ranged reads), never copied whole.
 * The core's read callback runs inside libzip and libxml2, so it must not
 * longjmp through them: an error raised by the stream (a failed read, a
 * query cancel) is caught there, kept, and rethrown once the core has
 * returned.  The core's allocations are released by a memory context
 * callback, so an error anywhere leaks nothing.
 *
 * Options: sheet (a name, or a 1-based index in workbook order; default
 * the first), header (default true: the first non-empty row after
 * skip_rows names the columns), skip_rows (sheet rows before the header or
 * data), cell_errors (error, the default: a cell holding #N/A, #DIV/0!...
 * stops the read naming the cell; null: such cells read as NULL).
 *
 * Columns: the header's names from its first to its last non-empty cell,
 * typed by columns: {name: type} or inferred from the first
 * XLSX_INFER_ROWS data rows: numeric (numbers), boolean, date (cells whose
 * format shows only a date), timestamp (a date and a time), time (a time
 * of day; interval once one passes 24 hours), text otherwise or when
 * kinds mix.  columns: ["name type", ...] gives the columns in sheet order
 * from the first column (or the header's first).  Rows without any value
 * in those columns are skipped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "connectors/formats/formats.h"
#include "connectors/formats/xlsx_core.h"

#define XLSX_INFER_ROWS 100

typedef struct XlsxGlue
{
	MetaetlInStream *in;
	MemoryContext cxt;
	ErrorData  *error;			/* caught in the read callback, rethrown later */
	XlsxBook   *book;
	XlsxSheet  *sheet;
	MemoryContextCallback cb;
} XlsxGlue;

static int
glue_read_at(void *arg, uint64_t off, void *buf, size_t len)
{
	XlsxGlue   *g = arg;
	MemoryContext old = CurrentMemoryContext;
	volatile int rc = 0;

	if (g->error)
		return -1;
	PG_TRY();
	{
		MetaetlStreamReadAt(g->in, (int64) off, buf, len);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(g->cxt);
		g->error = CopyErrorData();
		FlushErrorState();
		MemoryContextSwitchTo(old);
		rc = -1;
	}
	PG_END_TRY();
	return rc;
}

static void
glue_free(void *arg)
{
	XlsxGlue   *g = arg;

	xlsx_sheet_close(g->sheet);
	g->sheet = NULL;
	xlsx_close(g->book);
	g->book = NULL;
}

static void
glue_raise(MetaetlFormatRead *rd, XlsxGlue *g, XlsxError *err)
{
	const char *id = rd->src->id;
	const char *name = rd->in->name;

	if (err->kind == XLSX_E_IO && g->error)
		ReThrowError(g->error);
	/* the core's messages are sentences without their capital and period */
	err->msg[0] = pg_toupper((unsigned char) err->msg[0]);
	switch (err->kind)
	{
		case XLSX_E_XLS:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("source \"%s\": \"%s\" is an old Excel .xls file, not .xlsx", id, name),
					 errhint("Save it as an Excel Workbook (.xlsx) or as CSV.")));
			break;
		case XLSX_E_ENCRYPTED:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("source \"%s\": \"%s\" is encrypted", id, name),
					 errdetail("%s.", err->msg),
					 errhint("Save it without a password, or export it as CSV.")));
			break;
		case XLSX_E_NOTZIP:
		case XLSX_E_NOTXLSX:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("source \"%s\": \"%s\" is not an .xlsx workbook", id, name),
					 errdetail("%s.", err->msg),
					 errhint("Format xlsx reads Excel 2007 and later workbooks (.xlsx); for other files give their format:.")));
			break;
		case XLSX_E_LIMIT:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("source \"%s\": \"%s\" exceeds a limit of the xlsx reader", id, name),
					 errdetail("%s.", err->msg)));
			break;
		case XLSX_E_NOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory reading \"%s\" for source \"%s\"", name, id)));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("source \"%s\": \"%s\" is a damaged .xlsx workbook", id, name),
					 errdetail("%s.", err->msg)));
	}
}

/* the sheet option: a name, or a 1-based index */
static int
xlsx_pick_sheet(MetaetlFormatRead *rd, XlsxBook *book)
{
	char	   *want = MetaetlFmtOpt(rd->src->conf, "sheet");
	int			n = xlsx_sheet_count(book);
	StringInfoData names;
	bool		digits;

	if (want == NULL)
		return 0;
	digits = want[0] != '\0' && strspn(want, "0123456789") == strlen(want);
	for (int i = 0; !digits && i < n; i++)
		if (strcmp(xlsx_sheet_name(book, i), want) == 0)
			return i;
	for (int i = 0; !digits && i < n; i++)
		if (pg_strcasecmp(xlsx_sheet_name(book, i), want) == 0)
			return i;
	if (digits && strlen(want) < 7 && atoi(want) >= 1 && atoi(want) <= n)
		return atoi(want) - 1;
	initStringInfo(&names);
	for (int i = 0; i < n; i++)
		appendStringInfo(&names, "%s\"%s\"", i ? ", " : "", xlsx_sheet_name(book, i));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("source \"%s\": \"%s\" has no sheet %s%s%s", rd->src->id, rd->in->name,
					digits ? "number " : "\"", want, digits ? "" : "\""),
			 errdetail("Its sheets are %s.", names.data),
			 errhint("Give sheet: a name or a number from 1 to %d.", n)));
	return 0;
}

/* a copy of a row's cells (rows kept while inferring) */
typedef struct KeptRow
{
	uint32_t	rownum;
	int			ncells;
	XlsxCell   *cells;
} KeptRow;

static KeptRow *
xlsx_keep_row(XlsxRow *row)
{
	KeptRow    *k = palloc(sizeof(KeptRow));

	k->rownum = row->rownum;
	k->ncells = row->ncells;
	k->cells = palloc(sizeof(XlsxCell) * Max(row->ncells, 1));
	for (int i = 0; i < row->ncells; i++)
	{
		k->cells[i] = row->cells[i];
		k->cells[i].text = pnstrdup(row->cells[i].text, row->cells[i].len);
	}
	return k;
}

#define KIND_STRING		0x01
#define KIND_NUMBER		0x02
#define KIND_BOOL		0x04
#define KIND_DATE		0x08
#define KIND_DATETIME	0x10
#define KIND_TIME		0x20
#define KIND_LONGTIME	0x40	/* a time past 24 hours */

static const char *
xlsx_type_of(int kinds)
{
	switch (kinds)
	{
		case 0:
			return "text";
		case KIND_NUMBER:
			return "numeric";
		case KIND_BOOL:
			return "boolean";
		case KIND_DATE:
			return "date";
		case KIND_DATETIME:
		case KIND_DATE | KIND_DATETIME:
			return "timestamp";
		case KIND_TIME:
			return "time";
		case KIND_LONGTIME:
		case KIND_TIME | KIND_LONGTIME:
			return "interval";
		default:
			return "text";
	}
}

static int
xlsx_cell_kind(XlsxCell *c)
{
	switch (c->kind)
	{
		case XLSX_STRING:
			return KIND_STRING;
		case XLSX_NUMBER:
			return KIND_NUMBER;
		case XLSX_BOOL:
			return KIND_BOOL;
		case XLSX_ERROR:
			return 0;
		case XLSX_DATE:
			if (c->date_parts == XLSX_TIME_PART)
				return c->len >= 3 && c->text[2] != ':' ? KIND_LONGTIME :
					atoi(c->text) >= 24 ? KIND_LONGTIME : KIND_TIME;
			return c->date_parts & XLSX_TIME_PART ? KIND_DATETIME : KIND_DATE;
	}
	return KIND_STRING;
}

typedef struct XlsxRead
{
	MetaetlFormatRead *rd;
	XlsxGlue   *g;
	MetaetlFmtPos pos;
	const char *sheet_name;
	bool		errors_null;
	uint32_t	first_col;
	int			ncols;
	MetaetlSink *sink;
	char	  **row;
	int64		rows;
} XlsxRead;

/* the next row with a value (after skip_rows), or NULL at the end */
static XlsxRow *
xlsx_next(XlsxRead *xr, int64 skip)
{
	XlsxRow    *row;
	XlsxError	err;

	for (;;)
	{
		int			rc;

		CHECK_FOR_INTERRUPTS();
		rc = xlsx_sheet_next(xr->g->sheet, &row, &err);
		if (rc < 0)
		{
			MetaetlFmtEnter(&xr->pos);
			glue_raise(xr->rd, xr->g, &err);
		}
		if (rc == 0)
			return NULL;
		if (row->rownum <= skip || row->ncells == 0)
			continue;
		xr->pos.n = row->rownum;
		return row;
	}
}

/* the cell's text in the database encoding (may point into the core's row buffer) */
static char *
xlsx_utf8(XlsxCell *c)
{
	return pg_any_to_server(c->text, (int) c->len, PG_UTF8);
}

static void
xlsx_emit(XlsxRead *xr, uint32_t rownum, int ncells, XlsxCell *cells)
{
	bool		any = false;

	xr->pos.n = rownum;
	for (int i = 0; i < xr->ncols; i++)
		xr->row[i] = NULL;
	for (int i = 0; i < ncells; i++)
	{
		XlsxCell   *c = &cells[i];
		int64		idx = (int64) c->col - xr->first_col;

		if (idx < 0 || idx >= xr->ncols)
			continue;
		if (c->kind == XLSX_ERROR)
		{
			char		col[8];

			if (xr->errors_null)
				continue;
			xlsx_column_name(c->col, col);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("source \"%s\": cell %s%u of sheet \"%s\" in \"%s\" holds the error value %s",
							xr->rd->src->id, col, rownum, xr->sheet_name, xr->rd->in->name, c->text),
					 errhint("Fix the cell, or set options: {cell_errors: null} to read error cells as NULL.")));
		}
		xr->row[idx] = xlsx_utf8(c);
		any = true;
	}
	if (!any || xr->rd->plan->describe_only)
		return;
	MetaetlSinkPutText(xr->sink, xr->row);
	xr->rows++;
}

static int64
xlsx_read(MetaetlFormatRead *rd)
{
	JsonbContainer *conf = rd->src->conf;
	const char *what = psprintf("source \"%s\"", rd->src->id);
	bool		header = MetaetlFmtOptBool(conf, "header", true);
	int64		skip = MetaetlFmtOptInt(conf, "skip_rows", 0, 1048576, what);
	char	   *cell_errors = MetaetlFmtOpt(conf, "cell_errors");
	XlsxGlue   *g = palloc0(sizeof(XlsxGlue));
	XlsxRead	xr;
	XlsxIO		io;
	XlsxLimits	lim;
	XlsxError	err;
	XlsxRow    *row;
	List	   *cols;
	List	   *kept = NIL;
	ListCell   *lc;
	int			natts;
	MemoryContext keepcxt,
				rowcxt,
				old;

	if (cell_errors && strcmp(cell_errors, "error") != 0 && strcmp(cell_errors, "null") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: option cell_errors must be error or null, not \"%s\"", what, cell_errors)));
	if (rd->in->size < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s: \"%s\" has no known size, which reading an xlsx workbook needs", what,
						rd->in->name)));

	memset(&xr, 0, sizeof(xr));
	xr.rd = rd;
	xr.g = g;
	xr.errors_null = cell_errors && strcmp(cell_errors, "null") == 0;
	MetaetlFmtPosInit(&xr.pos, rd, "row");

	g->in = rd->in;
	g->cxt = CurrentMemoryContext;
	io.arg = g;
	io.size = (uint64_t) rd->in->size;
	io.read_at = glue_read_at;
	xlsx_default_limits(&lim);
	g->book = xlsx_open(&io, &lim, &err);
	if (g->book == NULL)
		glue_raise(rd, g, &err);
	g->cb.func = glue_free;
	g->cb.arg = g;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &g->cb);

	{
		int			idx = xlsx_pick_sheet(rd, g->book);

		xr.sheet_name = pstrdup(xlsx_sheet_name(g->book, idx));
		xr.pos.extra = psprintf("sheet \"%s\"", xr.sheet_name);
		g->sheet = xlsx_sheet_open(g->book, idx, &err);
		if (g->sheet == NULL)
			glue_raise(rd, g, &err);
	}

	/* columns */
	if (MetaetlFmtDeclaredInOrder(rd->src))
	{
		if (header && (row = xlsx_next(&xr, skip)) != NULL)
			xr.first_col = row->cells[0].col;
		cols = rd->declared;
	}
	else if (!header)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: an xlsx sheet without a header row needs columns: [\"name type\", ...]", what),
				 errhint("List the columns in sheet order, from column A.")));
	else
	{
		uint32_t	last = 0;
		char	  **names;
		const char **types;
		int		   *kinds;

		if ((row = xlsx_next(&xr, skip)) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("%s: sheet \"%s\" of \"%s\" is empty: it has no header row", what,
							xr.sheet_name, rd->in->name),
					 errhint("Set header: false and declare columns: [\"name type\", ...] to read a sheet without one.")));
		xr.first_col = UINT32_MAX;
		for (int i = 0; i < row->ncells; i++)
		{
			xr.first_col = Min(xr.first_col, row->cells[i].col);
			last = Max(last, row->cells[i].col);
		}
		xr.ncols = (int) (last - xr.first_col + 1);
		names = palloc0(sizeof(char *) * xr.ncols);
		for (int i = 0; i < row->ncells; i++)
			names[row->cells[i].col - xr.first_col] = pstrdup(xlsx_utf8(&row->cells[i]));

		/* the first rows tell the types */
		kinds = palloc0(sizeof(int) * xr.ncols);
		keepcxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl xlsx inference",
										ALLOCSET_DEFAULT_SIZES);
		old = MemoryContextSwitchTo(keepcxt);
		while (list_length(kept) < XLSX_INFER_ROWS && (row = xlsx_next(&xr, skip)) != NULL)
		{
			kept = lappend(kept, xlsx_keep_row(row));
			for (int i = 0; i < row->ncells; i++)
			{
				int64		idx = (int64) row->cells[i].col - xr.first_col;

				if (idx >= 0 && idx < xr.ncols)
					kinds[idx] |= xlsx_cell_kind(&row->cells[i]);
			}
		}
		MemoryContextSwitchTo(old);
		types = palloc(sizeof(char *) * xr.ncols);
		for (int i = 0; i < xr.ncols; i++)
			types[i] = xlsx_type_of(kinds[i]);
		xr.pos.n = 0;
		cols = MetaetlFmtHeaderColumns(rd, names, xr.ncols, types, "text");
	}
	xr.ncols = list_length(cols);
	xr.sink = rd->begin(rd, cols);
	natts = MetaetlSinkDesc(xr.sink)->natts;
	xr.row = palloc0(sizeof(char *) * natts);
	if (rd->file_column)
		xr.row[natts - 1] = (char *) rd->in->name;
	if (rd->plan->describe_only)
		return 0;
	MetaetlSinkPositionCallback(xr.sink, MetaetlFmtPosRender, &xr.pos);

	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl xlsx row", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(rowcxt);
	foreach(lc, kept)
	{
		KeptRow    *k = lfirst(lc);

		xlsx_emit(&xr, k->rownum, k->ncells, k->cells);
		MemoryContextReset(rowcxt);
	}
	while ((row = xlsx_next(&xr, skip)) != NULL)
	{
		xlsx_emit(&xr, row->rownum, row->ncells, row->cells);
		MemoryContextReset(rowcxt);
	}
	MemoryContextSwitchTo(old);
	MetaetlSinkPositionCallback(xr.sink, NULL, NULL);

	/* done: release libzip's and libxml2's memory now */
	glue_free(g);
	return xr.rows;
}

static const MetaetlConnKey xlsx_option_keys[] = {
	{"sheet", MCK_ANY},
	{"header", MCK_BOOL},
	{"skip_rows", MCK_INTEGER},
	{"cell_errors", MCK_STRING},
	MCK_END
};

/* .xls: an old binary workbook then gets the xlsx reader's clear error */
static const char *const xlsx_suffixes[] = {".xlsx", ".xlsm", ".xls", NULL};

const MetaetlFormat MetaetlXlsxFormat = {
	.name = "xlsx",
	.suffixes = xlsx_suffixes,
	.option_keys = xlsx_option_keys,
	.needs_seek = true,
	.read = xlsx_read,
	.write = NULL,
};
