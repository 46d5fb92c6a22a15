/*
 * test/fuzz/fuzz_xlsx.c
 *		libFuzzer harness over the pure-C xlsx reader
 *		(src/connectors/formats/xlsx_core.c and xlsx_sheet.c).
 *
 * The first byte chooses what the rest is:
 *	even	a whole file, opened as a workbook (zip damage, OLE2 headers,
 *			archives without a workbook);
 *	odd		the XML parts of a workbook separated by NUL bytes — workbook,
 *			its relationships, styles, shared strings, sheet 1 — zipped here
 *			(stored, so mutations reach the XML parser instead of breaking
 *			the deflate stream), with valid defaults for parts not given.
 * Every sheet is read to the end.  Invariants: no crash, leak or hang
 * under ASan/UBSan; every cell's text is NUL-terminated with its length;
 * columns and rows stay within the limits.  Built and run by `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/connectors/formats/xlsx_core.c"
#include "../../src/connectors/formats/xlsx_sheet.c"
#include "../unit/zipmem.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *dflt[5] = {
	"<workbook xmlns:r=\"r\"><sheets><sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>",
	("<Relationships><Relationship Id=\"rId1\" Type=\"x/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
	 "<Relationship Id=\"rId2\" Type=\"x/styles\" Target=\"styles.xml\"/>"
	 "<Relationship Id=\"rId3\" Type=\"x/sharedStrings\" Target=\"sharedStrings.xml\"/></Relationships>"),
	("<styleSheet><numFmts><numFmt numFmtId=\"164\" formatCode=\"yyyy-mm-dd\"/></numFmts>"
	 "<cellXfs><xf numFmtId=\"0\"/><xf numFmtId=\"164\"/><xf numFmtId=\"21\"/></cellXfs></styleSheet>"),
	"<sst><si><t>a</t></si><si><r><t>b</t></r></si></sst>",
	"<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c s=\"1\"><v>45000.5</v></c></row></sheetData></worksheet>"
};
static const char *names[5] = {
	"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/sharedStrings.xml",
	"xl/worksheets/sheet1.xml"
};

static void
read_book(const unsigned char *file, size_t len)
{
	MemFile		m = {file, len, 0};
	XlsxIO		io = memfile_io(&m);
	XlsxLimits	lim;
	XlsxError	err;
	XlsxBook   *b;

	xlsx_default_limits(&lim);
	/* small limits keep each run quick and reach the limit paths */
	lim.max_part = 1024 * 1024;
	lim.max_meta = 256 * 1024;
	lim.max_strings = 256 * 1024;
	lim.max_nstrings = 10000;
	lim.max_cell = 4096;
	b = xlsx_open(&io, &lim, &err);
	if (b == NULL)
	{
		if (err.kind == XLSX_OK)
			abort();			/* a failure must say why */
		return;
	}
	for (int i = 0; i < xlsx_sheet_count(b) && i < 3; i++)
	{
		XlsxSheet  *s = xlsx_sheet_open(b, i, &err);
		XlsxRow    *row;
		int			rc;
		int			nrows = 0;

		if (xlsx_sheet_name(b, i) == NULL)
			abort();
		if (s == NULL)
			continue;
		while (nrows++ < 100000 && (rc = xlsx_sheet_next(s, &row, &err)) == 1)
		{
			if (row->rownum == 0 || row->rownum > lim.max_rows)
				abort();
			for (int c = 0; c < row->ncells; c++)
				if (row->cells[c].col >= lim.max_columns ||
					strlen(row->cells[c].text) != row->cells[c].len)
					abort();
		}
		xlsx_sheet_close(s);
	}
	xlsx_close(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0)
	{
		read_book(data + 1, size - 1);
		return 0;
	}
	{
		ZipPart		parts[7];
		const uint8_t *p = data + 1;
		const uint8_t *end = data + size;
		size_t		len;
		unsigned char *zip;
		int			n = 0;

		parts[n++] = (ZipPart) {"_rels/.rels",
			"<Relationships><Relationship Id=\"r\" Type=\"x/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>",
		strlen("<Relationships><Relationship Id=\"r\" Type=\"x/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>")};
		for (int i = 0; i < 5; i++)
		{
			const uint8_t *nul = p < end ? memchr(p, 0, (size_t) (end - p)) : NULL;

			if (p < end)
			{
				size_t		l = nul ? (size_t) (nul - p) : (size_t) (end - p);

				parts[n++] = (ZipPart) {names[i], p, l};
				p += l + (nul ? 1 : 0);
			}
			else
				parts[n++] = (ZipPart) {names[i], dflt[i], strlen(dflt[i])};
		}
		zip = zipmem_build(parts, n, 0, &len);
		if (zip)
		{
			read_book(zip, len);
			free(zip);
		}
	}
	return 0;
}
