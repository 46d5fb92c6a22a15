/*
 * test/unit/test_xlsx.c
 *		Unit tests of the pure-C xlsx reader (src/connectors/formats/
 *		xlsx_core.c, xlsx_sheet.c): number formats that show dates, Excel
 *		serials in both date systems, column names, and workbooks built in
 *		memory — cell kinds, rows and cells without references, the limits
 *		(a zip bomb stops at max_part), DTDs refused, bad references, old
 *		.xls and encrypted files.
 *
 * unit-libs: -I/usr/include/libxml2 -lzip -lxml2
 */
#include "unit.h"
#include "../../src/connectors/formats/xlsx_core.c"
#include "../../src/connectors/formats/xlsx_sheet.c"
#include "zipmem.h"

static const char *ctypes =
"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>";
static const char *rels =
"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
"<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>"
"</Relationships>";
static const char *wbrels =
"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
"<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
"<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"/xl/worksheets/../worksheets/sheet2.xml\"/>"
"<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>"
"<Relationship Id=\"rId4\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"sharedStrings.xml\"/>"
"</Relationships>";
static const char *workbook =
"<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
"xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
"<workbookPr date1904=\"%s\"/><sheets><sheet name=\"First\" sheetId=\"1\" r:id=\"rId1\"/>"
"<sheet name=\"Zwei\" sheetId=\"2\" r:id=\"rId2\"/></sheets></workbook>";
static const char *styles =
"<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
"<numFmts count=\"2\"><numFmt numFmtId=\"164\" formatCode=\"yyyy\\-mm\\-dd\"/>"
"<numFmt numFmtId=\"165\" formatCode=\"&quot;Total &quot;0.00\"/></numFmts>"
"<cellStyleXfs count=\"1\"><xf numFmtId=\"14\"/></cellStyleXfs>"
"<cellXfs count=\"5\"><xf numFmtId=\"0\"/><xf numFmtId=\"164\"/><xf numFmtId=\"165\"/><xf numFmtId=\"21\"/>"
"<xf numFmtId=\"22\"/></cellXfs></styleSheet>";
static const char *strings =
"<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
"<si><t>name</t></si><si><r><t>ri</t></r><r><t xml:space=\"preserve\">ch </t></r><rPh><t>IGNORED</t></rPh></si>"
"<si/><si><t>a &amp; b</t></si></sst>";
static const char *sheet1 =
"<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>"
"<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"C1\" t=\"s\"><v>1</v></c></row>"
"<row r=\"3\"><c r=\"A3\"><v> 42 </v></c><c t=\"b\"><v>1</v></c><c t=\"e\"><v>#N/A</v></c>"
"<c s=\"1\"><v>45322.75</v></c><c s=\"2\"><v>1.5</v></c><c s=\"3\"><v>0.5</v></c><c s=\"4\"><v>61.25</v></c>"
"<c t=\"inlineStr\"><is><t>in</t><r><t>line</t></r></is></c><c t=\"str\"><f>X</f><v>calc</v></c>"
"<c t=\"s\"><v>2</v></c><c t=\"s\"><v>3</v></c><c t=\"d\"><v>2024-05-06T07:08:09</v></c><c/><c r=\"Q3\"><v></v></c></row>"
"<row/><row><c r=\"A5\"><v>1E-3</v></c></row></sheetData></worksheet>";
static const char *sheet2 =
"<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData/></worksheet>";

static unsigned char *
book_bytes(const char *date1904, const char *s1, size_t s1len, size_t *len)
{
	static char wb[2048];
	ZipPart		parts[8];

	snprintf(wb, sizeof(wb), workbook, date1904);
	parts[0] = (ZipPart) {"[Content_Types].xml", ctypes, strlen(ctypes)};
	parts[1] = (ZipPart) {"_rels/.rels", rels, strlen(rels)};
	parts[2] = (ZipPart) {"xl/workbook.xml", wb, strlen(wb)};
	parts[3] = (ZipPart) {"xl/_rels/workbook.xml.rels", wbrels, strlen(wbrels)};
	parts[4] = (ZipPart) {"xl/styles.xml", styles, strlen(styles)};
	parts[5] = (ZipPart) {"xl/sharedStrings.xml", strings, strlen(strings)};
	parts[6] = (ZipPart) {"xl/worksheets/sheet1.xml", s1, s1len};
	parts[7] = (ZipPart) {"xl/worksheets/sheet2.xml", sheet2, strlen(sheet2)};
	return zipmem_build(parts, 8, 1, len);
}

static void
test_formats(void)
{
	UNIT_CHECK_INT(xlsx_format_parts("General"), 0, "General is not a date");
	UNIT_CHECK_INT(xlsx_format_parts("0.00%"), 0, "a percentage is not a date");
	UNIT_CHECK_INT(xlsx_format_parts("0.00E+00"), 0, "scientific notation is not a date");
	UNIT_CHECK_INT(xlsx_format_parts("yyyy-mm-dd"), XLSX_DATE_PART, "yyyy-mm-dd is a date");
	UNIT_CHECK_INT(xlsx_format_parts("d-mmm-yy"), XLSX_DATE_PART, "d-mmm-yy is a date");
	UNIT_CHECK_INT(xlsx_format_parts("mmm yyyy"), XLSX_DATE_PART, "m before y is a month");
	UNIT_CHECK_INT(xlsx_format_parts("h:mm:ss"), XLSX_TIME_PART, "h:mm:ss is a time");
	UNIT_CHECK_INT(xlsx_format_parts("mm:ss.0"), XLSX_TIME_PART, "m before s is a minute");
	UNIT_CHECK_INT(xlsx_format_parts("[h]:mm"), XLSX_TIME_PART, "[h] is an elapsed time");
	UNIT_CHECK_INT(xlsx_format_parts("h:mm AM/PM"), XLSX_TIME_PART, "AM/PM is a time");
	UNIT_CHECK_INT(xlsx_format_parts("yyyy-mm-dd hh:mm"), XLSX_DATE_PART | XLSX_TIME_PART, "a date-time");
	UNIT_CHECK_INT(xlsx_format_parts("[Red][<=100]0;[Blue]0"), 0, "colors and conditions are not dates");
	UNIT_CHECK_INT(xlsx_format_parts("\"day\" 0"), 0, "quoted text is not a date");
	UNIT_CHECK_INT(xlsx_format_parts("[$-409]d/m/yy"), XLSX_DATE_PART, "a locale prefix is skipped");
	UNIT_CHECK_INT(xlsx_format_parts("0;yyyy"), 0, "only the first section counts");
}

static void
test_serials(void)
{
	char		b[64];

	UNIT_CHECK(xlsx_serial_text(1, false, XLSX_DATE_PART, b, sizeof b) && strcmp(b, "1900-01-01") == 0,
			   "serial 1 is 1900-01-01 (%s)", b);
	UNIT_CHECK(xlsx_serial_text(59, false, XLSX_DATE_PART, b, sizeof b) && strcmp(b, "1900-02-28") == 0,
			   "serial 59 is 1900-02-28 (%s)", b);
	UNIT_CHECK(xlsx_serial_text(60, false, XLSX_DATE_PART, b, sizeof b) && strcmp(b, "1900-02-28") == 0,
			   "serial 60, Excel's 1900-02-29, reads as the 28th (%s)", b);
	UNIT_CHECK(xlsx_serial_text(61, false, XLSX_DATE_PART, b, sizeof b) && strcmp(b, "1900-03-01") == 0,
			   "serial 61 is 1900-03-01 (%s)", b);
	UNIT_CHECK(xlsx_serial_text(45322, false, XLSX_DATE_PART, b, sizeof b) && strcmp(b, "2024-01-31") == 0,
			   "serial 45322 is 2024-01-31 (%s)", b);
	UNIT_CHECK(xlsx_serial_text(2958465, false, XLSX_DATE_PART, b, sizeof b) && strcmp(b, "9999-12-31") == 0,
			   "serial 2958465 is 9999-12-31 (%s)", b);
	UNIT_CHECK(!xlsx_serial_text(2958466, false, XLSX_DATE_PART, b, sizeof b), "past 9999-12-31: no date");
	UNIT_CHECK(!xlsx_serial_text(-1, false, XLSX_DATE_PART, b, sizeof b), "negative serials: no date");
	UNIT_CHECK(xlsx_serial_text(0, true, XLSX_DATE_PART, b, sizeof b) && strcmp(b, "1904-01-01") == 0,
			   "1904 system: serial 0 is 1904-01-01 (%s)", b);
	UNIT_CHECK(xlsx_serial_text(43996, true, XLSX_DATE_PART, b, sizeof b) && strcmp(b, "2024-06-15") == 0,
			   "1904 system: serial 43996 is 2024-06-15 (%s)", b);
	UNIT_CHECK(xlsx_serial_text(45322.573266782408, false, XLSX_DATE_PART | XLSX_TIME_PART, b, sizeof b) &&
			   strcmp(b, "2024-01-31 13:45:30.250") == 0, "a date-time to the millisecond (%s)", b);
	UNIT_CHECK(xlsx_serial_text(1.9999999999, false, XLSX_DATE_PART | XLSX_TIME_PART, b, sizeof b) &&
			   strcmp(b, "1900-01-02 00:00:00") == 0, "rounding to the next day carries the date (%s)", b);
	UNIT_CHECK(xlsx_serial_text(0.5, false, XLSX_TIME_PART, b, sizeof b) && strcmp(b, "12:00:00") == 0,
			   "a time of day (%s)", b);
	UNIT_CHECK(xlsx_serial_text(1.5, false, XLSX_TIME_PART, b, sizeof b) && strcmp(b, "36:00:00") == 0,
			   "an elapsed time past a day (%s)", b);
}

static void
test_columns(void)
{
	char		b[8];

	xlsx_column_name(0, b);
	UNIT_CHECK_STR(b, "A", "column 0 is A");
	xlsx_column_name(25, b);
	UNIT_CHECK_STR(b, "Z", "column 25 is Z");
	xlsx_column_name(26, b);
	UNIT_CHECK_STR(b, "AA", "column 26 is AA");
	xlsx_column_name(16383, b);
	UNIT_CHECK_STR(b, "XFD", "column 16383 is XFD");
}

static const XlsxCell *
cell_at(XlsxRow *row, uint32_t col)
{
	for (int i = 0; i < row->ncells; i++)
		if (row->cells[i].col == col)
			return &row->cells[i];
	return NULL;
}

static void
test_book(void)
{
	size_t		len;
	unsigned char *data = book_bytes("0", sheet1, strlen(sheet1), &len);
	MemFile		m = {data, len, 0};
	XlsxIO		io = memfile_io(&m);
	XlsxLimits	lim;
	XlsxError	err;
	XlsxBook   *b;
	XlsxSheet  *s;
	XlsxRow    *row;
	const XlsxCell *c;

	xlsx_default_limits(&lim);
	UNIT_CHECK(data != NULL, "an archive was built");
	b = xlsx_open(&io, &lim, &err);
	UNIT_CHECK(b != NULL, "the workbook opens (%s)", err.msg);
	if (b == NULL)
		return;
	UNIT_CHECK_INT(xlsx_sheet_count(b), 2, "two sheets");
	UNIT_CHECK_STR(xlsx_sheet_name(b, 1), "Zwei", "the second sheet's name");
	UNIT_CHECK(!xlsx_date1904(b), "the 1900 date system");
	s = xlsx_sheet_open(b, 0, &err);
	UNIT_CHECK(s != NULL, "the first sheet opens (%s)", err.msg);
	if (s == NULL)
	{
		xlsx_close(b);
		return;
	}
	UNIT_CHECK_INT(xlsx_sheet_next(s, &row, &err), 1, "row 1");
	UNIT_CHECK_INT(row->rownum, 1, "row 1 is numbered 1");
	UNIT_CHECK_INT(row->ncells, 2, "row 1 has two cells");
	UNIT_CHECK_STR(cell_at(row, 0)->text, "name", "a shared string");
	UNIT_CHECK_STR(cell_at(row, 2)->text, "rich ", "rich text runs are joined, phonetic runs dropped");

	UNIT_CHECK_INT(xlsx_sheet_next(s, &row, &err), 1, "row 3");
	UNIT_CHECK_INT(row->rownum, 3, "row numbers come from r");
	c = cell_at(row, 0);
	UNIT_CHECK(c && c->kind == XLSX_NUMBER && strcmp(c->text, "42") == 0, "a number, trimmed");
	c = cell_at(row, 1);
	UNIT_CHECK(c && c->kind == XLSX_BOOL && strcmp(c->text, "true") == 0, "a cell without r follows the previous one: a boolean");
	c = cell_at(row, 2);
	UNIT_CHECK(c && c->kind == XLSX_ERROR && strcmp(c->text, "#N/A") == 0, "an error value");
	c = cell_at(row, 3);
	UNIT_CHECK(c && c->kind == XLSX_DATE && c->date_parts == XLSX_DATE_PART && strcmp(c->text, "2024-01-31") == 0,
			   "a custom date format shows the date only (%s)", c ? c->text : "");
	c = cell_at(row, 4);
	UNIT_CHECK(c && c->kind == XLSX_NUMBER && strcmp(c->text, "1.5") == 0, "a quoted \"Total \" format is no date");
	c = cell_at(row, 5);
	UNIT_CHECK(c && c->kind == XLSX_DATE && strcmp(c->text, "12:00:00") == 0, "built-in format 21 is a time");
	c = cell_at(row, 6);
	UNIT_CHECK(c && c->kind == XLSX_DATE && strcmp(c->text, "1900-03-01 06:00:00") == 0, "built-in format 22 is a date-time");
	c = cell_at(row, 7);
	UNIT_CHECK(c && c->kind == XLSX_STRING && strcmp(c->text, "inline") == 0, "an inline string with runs");
	c = cell_at(row, 8);
	UNIT_CHECK(c && c->kind == XLSX_STRING && strcmp(c->text, "calc") == 0, "a formula's cached string");
	c = cell_at(row, 9);
	UNIT_CHECK(c && c->kind == XLSX_STRING && c->len == 0, "an empty shared string is an empty string");
	c = cell_at(row, 10);
	UNIT_CHECK(c && strcmp(c->text, "a & b") == 0, "entities are decoded");
	c = cell_at(row, 11);
	UNIT_CHECK(c && c->kind == XLSX_DATE && c->date_parts == (XLSX_DATE_PART | XLSX_TIME_PART),
			   "t=\"d\": an ISO 8601 date-time");
	UNIT_CHECK(cell_at(row, 12) == NULL && cell_at(row, 16) == NULL, "cells without a value are left out");

	UNIT_CHECK_INT(xlsx_sheet_next(s, &row, &err), 1, "an empty <row/>");
	UNIT_CHECK_INT(row->ncells, 0, "has no cells");
	UNIT_CHECK_INT(row->rownum, 4, "and follows row 3");
	UNIT_CHECK_INT(xlsx_sheet_next(s, &row, &err), 1, "row 5");
	UNIT_CHECK(row->ncells == 1 && strcmp(row->cells[0].text, "1E-3") == 0, "scientific notation is kept as written");
	UNIT_CHECK_INT(xlsx_sheet_next(s, &row, &err), 0, "then the end");
	UNIT_CHECK_INT(xlsx_sheet_next(s, &row, &err), 0, "and it stays at the end");
	xlsx_sheet_close(s);

	s = xlsx_sheet_open(b, 1, &err);
	UNIT_CHECK(s != NULL && xlsx_sheet_next(s, &row, &err) == 0, "an empty sheet has no rows");
	xlsx_sheet_close(s);
	UNIT_CHECK(xlsx_sheet_open(b, 2, &err) == NULL && err.kind == XLSX_E_NOSHEET, "no third sheet");
	xlsx_close(b);
	UNIT_CHECK(m.reads < 10, "the archive is read in windows, not per small read (%d reads)", m.reads);
	free(data);

	data = book_bytes("1", sheet1, strlen(sheet1), &len);
	m = (MemFile) {data, len, 0};
	io = memfile_io(&m);
	b = xlsx_open(&io, &lim, &err);
	UNIT_CHECK(b && xlsx_date1904(b), "date1904=\"1\" is the 1904 system");
	xlsx_close(b);
	free(data);
}

/* open sheet 1 of a workbook whose first sheet is s1; the error of the first failure */
static XlsxErrKind
sheet_error(const char *s1, size_t s1len, XlsxLimits *lim, char *msg, size_t msglen)
{
	size_t		len;
	unsigned char *data = book_bytes("0", s1, s1len, &len);
	MemFile		m = {data, len, 0};
	XlsxIO		io = memfile_io(&m);
	XlsxError	err;
	XlsxBook   *b = xlsx_open(&io, lim, &err);
	XlsxSheet  *s = NULL;
	XlsxRow    *row;
	int			rc = 1;

	if (b)
		s = xlsx_sheet_open(b, 0, &err);
	while (s && (rc = xlsx_sheet_next(s, &row, &err)) == 1)
		;
	xlsx_sheet_close(s);
	xlsx_close(b);
	free(data);
	snprintf(msg, msglen, "%s", err.msg);
	return (b && s && rc == 0) ? XLSX_OK : err.kind;
}

static void
test_errors(void)
{
	XlsxLimits	lim;
	char		msg[512];
	size_t		big = 3 * 1024 * 1024;
	char	   *bomb = malloc(big + 200);
	XlsxError	err;
	unsigned char ole[1536];
	MemFile		m;
	XlsxIO		io;
	const char *junk = "id,name\n1,a\n";

	xlsx_default_limits(&lim);
	lim.max_part = 1024 * 1024;
	/* 3 MB of one repeated row compresses to a few kB: stopped at 1 MB */
	{
		const char *one = "<row><c><v>1</v></c></row>";
		size_t		l = (size_t) sprintf(bomb, "<worksheet><sheetData>");

		while (l < big)
		{
			memcpy(bomb + l, one, strlen(one));
			l += strlen(one);
		}
		strcpy(bomb + l, "</sheetData></worksheet>");
	}
	UNIT_CHECK_INT(sheet_error(bomb, strlen(bomb), &lim, msg, sizeof msg), XLSX_E_LIMIT,
				   "a sheet past max_part stops at the limit (%s)", msg);
	{
		/* the same with the sizes in the zip headers lowered to 100 bytes: never more than read */
		size_t		len;
		unsigned char *z = book_bytes("0", bomb, strlen(bomb), &len);
		XlsxBook   *bk;
		XlsxSheet  *sh = NULL;
		XlsxRow    *row;
		int			rc = 1;
		long		rows = 0;

		for (size_t i = 0; i + 46 < len; i++)
		{
			/* local header (PK\3\4: size at 22) and central directory (PK\1\2: size at 24) */
			size_t		at = 0;

			if (memcmp(z + i, "PK\3\4", 4) == 0 && memcmp(z + i + 30, "xl/worksheets/sheet1.xml", 24) == 0)
				at = i + 22;
			if (memcmp(z + i, "PK\1\2", 4) == 0 && memcmp(z + i + 46, "xl/worksheets/sheet1.xml", 24) == 0)
				at = i + 24;
			if (at)
			{
				z[at] = 100;
				z[at + 1] = z[at + 2] = z[at + 3] = 0;
			}
		}
		m = (MemFile) {z, len, 0};
		io = memfile_io(&m);
		bk = xlsx_open(&io, &lim, &err);
		if (bk)
			sh = xlsx_sheet_open(bk, 0, &err);
		while (sh && (rc = xlsx_sheet_next(sh, &row, &err)) == 1)
			rows++;
		UNIT_CHECK(bk && sh && rc < 0 && rows < 50000,
				   "lying zip sizes: an error after at most the limit (%ld rows, %s)", rows, err.msg);
		xlsx_sheet_close(sh);
		xlsx_close(bk);
		free(z);
	}
	free(bomb);
	xlsx_default_limits(&lim);

#define SHEET(x) "<worksheet><sheetData>" x "</sheetData></worksheet>"
	UNIT_CHECK_INT(sheet_error(SHEET("<row><c t=\"s\"><v>9</v></c></row>"), strlen(SHEET("<row><c t=\"s\"><v>9</v></c></row>")),
							   &lim, msg, sizeof msg), XLSX_E_CORRUPT, "a shared string index out of range (%s)", msg);
	{
		const char *dtd = "<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\">]><worksheet><sheetData/></worksheet>";

		UNIT_CHECK_INT(sheet_error(dtd, strlen(dtd), &lim, msg, sizeof msg), XLSX_E_CORRUPT,
					   "a DTD is refused (%s)", msg);
	}
	UNIT_CHECK_INT(sheet_error(SHEET("<row><c r=\"XFE1\"><v>1</v></c></row>"), strlen(SHEET("<row><c r=\"XFE1\"><v>1</v></c></row>")),
							   &lim, msg, sizeof msg), XLSX_E_CORRUPT, "a column past XFD (%s)", msg);
	UNIT_CHECK_INT(sheet_error(SHEET("<row r=\"1048577\"/>"), strlen(SHEET("<row r=\"1048577\"/>")),
							   &lim, msg, sizeof msg), XLSX_E_CORRUPT, "a row past 1048576 (%s)", msg);
	UNIT_CHECK_INT(sheet_error(SHEET("<row><c><v>12abc</v></c></row>"), strlen(SHEET("<row><c><v>12abc</v></c></row>")),
							   &lim, msg, sizeof msg), XLSX_E_CORRUPT, "a number that is not one (%s)", msg);
	UNIT_CHECK_INT(sheet_error("<worksheet><sheetData><row><c>", strlen("<worksheet><sheetData><row><c>"),
							   &lim, msg, sizeof msg), XLSX_E_CORRUPT, "truncated XML (%s)", msg);
	lim.max_cell = 8;
	UNIT_CHECK_INT(sheet_error(SHEET("<row><c t=\"inlineStr\"><is><t>0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789</t></is></c></row>"),
							   strlen(SHEET("<row><c t=\"inlineStr\"><is><t>0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789</t></is></c></row>")),
							   &lim, msg, sizeof msg), XLSX_E_LIMIT, "a cell longer than max_cell (%s)", msg);
	xlsx_default_limits(&lim);

	/* an OLE2 compound file: plain (.xls), and with an EncryptedPackage stream */
	memset(ole, 0, sizeof ole);
	memcpy(ole, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
	ole[30] = 9;				/* 512-byte sectors; the directory in sector 0 */
	m = (MemFile) {ole, sizeof ole, 0};
	io = memfile_io(&m);
	UNIT_CHECK(xlsx_open(&io, &lim, &err) == NULL && err.kind == XLSX_E_XLS, "an old .xls (%s)", err.msg);
	{
		const char *name = "EncryptedPackage";

		for (size_t i = 0; i < strlen(name); i++)
			ole[512 + 128 + 2 * i] = (unsigned char) name[i];
		ole[512 + 128 + 64] = (unsigned char) ((strlen(name) + 1) * 2);
	}
	UNIT_CHECK(xlsx_open(&io, &lim, &err) == NULL && err.kind == XLSX_E_ENCRYPTED, "an encrypted workbook (%s)", err.msg);
	m = (MemFile) {(const unsigned char *) junk, strlen(junk), 0};
	io = memfile_io(&m);
	UNIT_CHECK(xlsx_open(&io, &lim, &err) == NULL && err.kind == XLSX_E_NOTZIP, "not a zip (%s)", err.msg);
	{
		ZipPart		p = {"hello.txt", "hi", 2};
		size_t		len;
		unsigned char *z = zipmem_build(&p, 1, 0, &len);

		m = (MemFile) {z, len, 0};
		io = memfile_io(&m);
		UNIT_CHECK(xlsx_open(&io, &lim, &err) == NULL && err.kind == XLSX_E_NOTXLSX, "a zip without a workbook (%s)", err.msg);
		free(z);
	}
}

int
main(void)
{
	test_formats();
	test_serials();
	test_columns();
	test_book();
	test_errors();
	xmlCleanupParser();
	return unit_done();
}
