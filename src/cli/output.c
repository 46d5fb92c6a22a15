/*-------------------------------------------------------------------------
 *
 * src/cli/output.c
 *		Queries and output of the metaetl client: aligned tables, records,
 *		JSON, and the server's errors.
 *
 * JSON is written from a result's column types, so a command needs one query
 * for both outputs: integers, floats and numerics are JSON numbers (NaN and
 * infinities strings), booleans true/false, json and jsonb columns are
 * copied as they are, NULL is null and everything else a string.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libpq-fe.h>

#include "cli.h"

/* type OIDs (catalog/pg_type_d.h is a server header) */
#define BOOLOID		16
#define INT8OID		20
#define INT2OID		21
#define INT4OID		23
#define OIDOID		26
#define JSONOID		114
#define FLOAT4OID	700
#define FLOAT8OID	701
#define NUMERICOID	1700
#define JSONBOID	3802

#define CLI_MAX_FILE_BYTES	(64 * 1024 * 1024)

/*
 * Runs one statement with text parameters.  On an error prints it (message,
 * detail, hint, like psql) and returns NULL.
 */
PGresult *
cli_exec(PGconn *conn, const char *sql, int nparams, const char *const *values)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	cli_print_error(res);
	if (res == NULL)
		fprintf(stderr, "%s: %s", cli_progname, PQerrorMessage(conn));
	PQclear(res);
	return NULL;
}

/*
 * Prints a failed result on stderr the way psql does: the primary message
 * with its SQLSTATE, then DETAIL and HINT lines.  The SQL API puts its
 * explanations (which key of a config is wrong, what to do about it) in
 * DETAIL and HINT, so they must reach the user, and the SQLSTATE lets
 * scripts tell errors apart.  A result without a primary message (libpq's
 * own errors, a lost connection) is printed as libpq formatted it.  Called by
 * cli_exec and by commands that run PQexecParams themselves to keep going
 * after an error (apply); a NULL result prints nothing, the caller reports
 * the connection's error.
 */
void
cli_print_error(const PGresult *res)
{
	const char *msg,
			   *detail,
			   *hint,
			   *state;

	if (res == NULL)
		return;
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (msg == NULL)
	{
		fprintf(stderr, "%s: %s", cli_progname, PQresultErrorMessage(res));
		return;
	}
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	fprintf(stderr, "%s: error: %s", cli_progname, msg);
	if (state)
		fprintf(stderr, " (SQLSTATE %s)", state);
	fputc('\n', stderr);
	if (detail)
		fprintf(stderr, "DETAIL:  %s\n", detail);
	if (hint)
		fprintf(stderr, "HINT:  %s\n", hint);
}

static int
column_of(const PGresult *res, const char *column)
{
	int			c = PQfnumber(res, column);

	if (c < 0)
	{
		/* a query of this program names a column it does not return */
		fprintf(stderr, "%s: internal error: no column \"%s\"\n", cli_progname, column);
		exit(CLI_EXIT_FAILED);
	}
	return c;
}

/*
 * Whether a column, named rather than numbered, is NULL.  cli_value gives ""
 * for NULL, so callers that print "none" or skip a line for a missing value
 * ask this first.  A name the query does not return exits (column_of): that
 * is a bug of this program, better caught at once than shown as blanks.
 */
bool
cli_is_null(const PGresult *res, int row, const char *column)
{
	return PQgetisnull(res, row, column_of(res, column));
}

/* the text of a column, "" for NULL */
const char *
cli_value(const PGresult *res, int row, const char *column)
{
	return PQgetvalue(res, row, column_of(res, column));
}

/* display width of UTF-8 text: one column per code point */
static size_t
text_width(const char *s)
{
	size_t		w = 0;

	for (; *s; s++)
		if (((unsigned char) *s & 0xC0) != 0x80)
			w++;
	return w;
}

/* a cell as shown in a table: newlines and tabs become spaces */
static void
print_cell(FILE *out, const char *s, size_t width, bool right)
{
	size_t		w = text_width(s);
	size_t		pad = width > w ? width - w : 0;
	const char *p;

	if (right)
		fprintf(out, "%*s", (int) pad, "");
	for (p = s; *p; p++)
		fputc(*p == '\n' || *p == '\t' || *p == '\r' ? ' ' : *p, out);
	if (!right)
		fprintf(out, "%*s", (int) pad, "");
}

static bool
is_numeric_type(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID || t == OIDOID ||
		t == FLOAT4OID || t == FLOAT8OID || t == NUMERICOID;
}

/* an aligned table, as psql prints one, with a row count */
void
cli_print_table(FILE *out, const PGresult *res)
{
	int			ncols = PQnfields(res);
	int			nrows = PQntuples(res);
	size_t	   *widths = calloc((size_t) ncols + 1, sizeof(size_t));
	int			r,
				c;

	if (widths == NULL)
		return;
	for (c = 0; c < ncols; c++)
	{
		widths[c] = text_width(PQfname(res, c));
		for (r = 0; r < nrows; r++)
		{
			size_t		w = text_width(PQgetvalue(res, r, c));

			if (w > widths[c])
				widths[c] = w;
		}
	}
	for (c = 0; c < ncols; c++)
	{
		if (c > 0)
			fputs("  ", out);
		print_cell(out, PQfname(res, c), c == ncols - 1 ? 0 : widths[c], false);
	}
	fputc('\n', out);
	for (c = 0; c < ncols; c++)
	{
		size_t		k;

		if (c > 0)
			fputs("  ", out);
		for (k = 0; k < widths[c]; k++)
			fputc('-', out);
	}
	fputc('\n', out);
	for (r = 0; r < nrows; r++)
	{
		for (c = 0; c < ncols; c++)
		{
			bool		right = is_numeric_type(PQftype(res, c));

			if (c > 0)
				fputs("  ", out);
			print_cell(out, PQgetvalue(res, r, c),
					   c == ncols - 1 && !right ? 0 : widths[c], right);
		}
		fputc('\n', out);
	}
	fprintf(out, "(%d %s)\n", nrows, nrows == 1 ? "row" : "rows");
	free(widths);
}

/* one row as "name  value" lines */
void
cli_print_record(FILE *out, const PGresult *res, int row)
{
	int			ncols = PQnfields(res);
	size_t		width = 0;
	int			c;

	for (c = 0; c < ncols; c++)
		if (text_width(PQfname(res, c)) > width)
			width = text_width(PQfname(res, c));
	for (c = 0; c < ncols; c++)
	{
		if (PQgetisnull(res, row, c))
			continue;
		print_cell(out, PQfname(res, c), width, false);
		fputs("  ", out);
		fputs(PQgetvalue(res, row, c), out);
		fputc('\n', out);
	}
}

/*
 * Writes s as a JSON string literal: quotes, backslashes and every control
 * character escaped, other bytes (UTF-8 included) copied as they are.  Used for every string this program
 * writes as JSON, whether a column value (json_value), a column name or a
 * value of the command line (a file name, a --param), so --json output stays
 * valid whatever the text holds.
 */
void
cli_json_string(FILE *out, const char *s)
{
	const unsigned char *p;

	fputc('"', out);
	for (p = (const unsigned char *) s; *p; p++)
	{
		switch (*p)
		{
			case '"':
				fputs("\\\"", out);
				break;
			case '\\':
				fputs("\\\\", out);
				break;
			case '\n':
				fputs("\\n", out);
				break;
			case '\r':
				fputs("\\r", out);
				break;
			case '\t':
				fputs("\\t", out);
				break;
			default:
				if (*p < 0x20)
					fprintf(out, "\\u%04x", *p);
				else
					fputc(*p, out);
		}
	}
	fputc('"', out);
}

static void
json_value(FILE *out, const PGresult *res, int row, int col)
{
	const char *v = PQgetvalue(res, row, col);
	Oid			t = PQftype(res, col);

	if (PQgetisnull(res, row, col))
		fputs("null", out);
	else if (t == BOOLOID)
		fputs(v[0] == 't' ? "true" : "false", out);
	else if (t == JSONOID || t == JSONBOID)
		fputs(v, out);
	else if (is_numeric_type(t) && strcmp(v, "NaN") != 0 &&
			 strstr(v, "Infinity") == NULL)
		fputs(v, out);
	else
		cli_json_string(out, v);
}

/*
 * One row as a JSON object, its keys the column names, its values typed by
 * json_value (see the file header), with no newline after it.  The building
 * block of cli_print_json_rows, and used alone by commands whose --json
 * output is one object rather than an array (logs, cancel, schedule).
 */
void
cli_print_json_record(FILE *out, const PGresult *res, int row)
{
	int			ncols = PQnfields(res);
	int			c;

	fputc('{', out);
	for (c = 0; c < ncols; c++)
	{
		if (c > 0)
			fputs(", ", out);
		cli_json_string(out, PQfname(res, c));
		fputs(": ", out);
		json_value(out, res, row, c);
	}
	fputc('}', out);
}

/* every row as a JSON array of objects */
void
cli_print_json_rows(FILE *out, const PGresult *res)
{
	int			nrows = PQntuples(res);
	int			r;

	fputc('[', out);
	for (r = 0; r < nrows; r++)
	{
		fputs(r == 0 ? "\n  " : ",\n  ", out);
		cli_print_json_record(out, res, r);
	}
	fputs(nrows ? "\n]\n" : "]\n", out);
}

/*
 * A whole file (or standard input for "-") as a NUL-terminated string; NULL
 * with a message on stderr when it cannot be read.
 */
char *
cli_read_file(const char *path, size_t *len)
{
	FILE	   *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char	   *buf = NULL;
	size_t		size = 0,
				cap = 0;

	if (f == NULL)
	{
		fprintf(stderr, "%s: cannot read \"%s\": %s\n", cli_progname, path, strerror(errno));
		return NULL;
	}
	for (;;)
	{
		size_t		n;

		if (cap - size < 65536)
		{
			char	   *nb;

			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap + 1);
			if (nb == NULL)
			{
				fprintf(stderr, "%s: out of memory reading \"%s\"\n", cli_progname, path);
				goto fail;
			}
			buf = nb;
		}
		n = fread(buf + size, 1, cap - size, f);
		size += n;
		if (size > CLI_MAX_FILE_BYTES)
		{
			fprintf(stderr, "%s: \"%s\" is larger than %d MB\n", cli_progname, path,
					CLI_MAX_FILE_BYTES / (1024 * 1024));
			goto fail;
		}
		if (n == 0)
			break;
	}
	if (ferror(f))
	{
		fprintf(stderr, "%s: cannot read \"%s\": %s\n", cli_progname, path, strerror(errno));
		goto fail;
	}
	if (memchr(buf, '\0', size) != NULL)
	{
		fprintf(stderr, "%s: \"%s\" is not a text file (it contains a NUL byte)\n",
				cli_progname, path);
		goto fail;
	}
	buf[size] = '\0';
	if (f != stdin)
		fclose(f);
	if (len)
		*len = size;
	return buf;

fail:
	free(buf);
	if (f != stdin)
		fclose(f);
	return NULL;
}
