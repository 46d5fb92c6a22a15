/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/xlsx_core.h
 *		Reading .xlsx workbooks in pure C (libzip + libxml2's streaming
 *		reader), independent of PostgreSQL.
 *
 * The core never includes postgres.h: it allocates with malloc, reports
 * errors by return value and an XlsxError, and reads the file through a
 * caller's read_at callback, so the same code runs in the backend (glue in
 * formats/xlsx.c: an in-stream over a server file or an S3 object, errors
 * turned into ereport) and in the libFuzzer harness (test/fuzz/fuzz_xlsx.c)
 * and the unit tests (test/unit/test_xlsx.c).
 *
 * Everything is bounded by an XlsxLimits: the uncompressed size of every
 * part (declared sizes are checked before reading, actual bytes while
 * reading, so a zip bomb stops at the limit), the bytes and count of shared
 * strings (the one part held in memory: cells refer to it by index), the
 * length of one cell, and the sheet's rows and columns (Excel's own
 * limits).  A sheet is streamed row by row.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_XLSX_CORE_H
#define METAETL_XLSX_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct XlsxLimits
{
	uint64_t	max_part;		/* uncompressed bytes of one sheet's XML */
	uint64_t	max_meta;		/* workbook, relationships, styles */
	uint64_t	max_strings;	/* shared strings: total bytes */
	uint64_t	max_nstrings;	/* shared strings: count */
	uint64_t	max_cell;		/* bytes of one cell's text */
	uint32_t	max_columns;	/* 16384 (XFD) */
	uint32_t	max_rows;		/* 1048576 */
} XlsxLimits;

extern void xlsx_default_limits(XlsxLimits *lim);

typedef enum XlsxErrKind
{
	XLSX_OK = 0,
	XLSX_E_IO,					/* the read_at callback failed (its error is the caller's) */
	XLSX_E_NOTZIP,				/* not a zip archive at all */
	XLSX_E_XLS,					/* an OLE2 compound file: old binary .xls */
	XLSX_E_ENCRYPTED,			/* password-protected (OLE2 EncryptedPackage, or zip encryption) */
	XLSX_E_NOTXLSX,				/* a zip, but no workbook (or .xlsb) */
	XLSX_E_CORRUPT,				/* damaged archive or XML, bad references */
	XLSX_E_LIMIT,				/* an XlsxLimits bound was reached */
	XLSX_E_NOMEM,
	XLSX_E_NOSHEET				/* no such sheet */
} XlsxErrKind;

typedef struct XlsxError
{
	XlsxErrKind kind;
	char		msg[512];
} XlsxError;

typedef struct XlsxIO
{
	void	   *arg;
	uint64_t	size;
	/* exactly len bytes at off into buf: 0, or -1 on failure */
	int			(*read_at) (void *arg, uint64_t off, void *buf, size_t len);
} XlsxIO;

typedef enum XlsxCellKind
{
	XLSX_STRING,				/* shared, inline or formula string */
	XLSX_NUMBER,				/* text as written: "42", "1.5E-3" */
	XLSX_BOOL,					/* "true" / "false" */
	XLSX_DATE,					/* a number with a date/time format, as ISO text */
	XLSX_ERROR					/* "#N/A", "#DIV/0!", ... */
} XlsxCellKind;

#define XLSX_DATE_PART	0x01	/* date cells: the format shows a date */
#define XLSX_TIME_PART	0x02	/* ... and/or a time of day */

typedef struct XlsxCell
{
	uint32_t	col;			/* 0-based: A = 0 */
	XlsxCellKind kind;
	int			date_parts;		/* XLSX_DATE: XLSX_DATE_PART | XLSX_TIME_PART */
	const char *text;			/* NUL-terminated UTF-8 */
	size_t		len;
} XlsxCell;

typedef struct XlsxRow
{
	uint32_t	rownum;			/* 1-based */
	int			ncells;			/* cells with a value, in document order */
	XlsxCell   *cells;
} XlsxRow;

typedef struct XlsxBook XlsxBook;
typedef struct XlsxSheet XlsxSheet;

/* NULL on failure (err says why); io must stay valid until xlsx_close */
extern XlsxBook *xlsx_open(const XlsxIO *io, const XlsxLimits *lim, XlsxError *err);
extern void xlsx_close(XlsxBook *b);
extern int	xlsx_sheet_count(const XlsxBook *b);
extern const char *xlsx_sheet_name(const XlsxBook *b, int i);
extern bool xlsx_date1904(const XlsxBook *b);

/* 0-based index in workbook order; NULL on failure */
extern XlsxSheet *xlsx_sheet_open(XlsxBook *b, int index, XlsxError *err);
/* 1: *row is the next row (valid until the next call), 0: no more, -1: error */
extern int	xlsx_sheet_next(XlsxSheet *s, XlsxRow **row, XlsxError *err);
extern void xlsx_sheet_close(XlsxSheet *s);

/* "A" for 0, "AB" for 27 (buf of 4 bytes at least) */
extern void xlsx_column_name(uint32_t col, char *buf);
/* XLSX_DATE_PART / XLSX_TIME_PART of an Excel number format code */
extern int	xlsx_format_parts(const char *code);
/*
 * Excel serial → ISO text: "YYYY-MM-DD", "HH:MM:SS[.mmm]" or both (parts);
 * false when the serial is outside 0000-01-01 .. 9999-12-31.
 */
extern bool xlsx_serial_text(double serial, bool date1904, int parts, char *buf, size_t buflen);

#endif							/* METAETL_XLSX_CORE_H */
