/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/xlsx_sheet.c
 *		Streaming one sheet of an .xlsx workbook row by row, and Excel's
 *		date serials.  Pure C (see xlsx_core.h).
 *
 * A row is returned with the cells that have a value, each typed by its
 * t attribute (s: shared string, inlineStr, str: formula string, b, e,
 * d: ISO 8601, n or none: number) and, for numbers, by its style: a cell
 * whose number format shows a date or time (xlsx_format_parts) comes back
 * as ISO text computed from the serial in the workbook's date system.
 * Cells and rows without an r attribute follow the previous one, as the
 * format allows.  Texts live in one buffer per row, reused.
 *
 * Dates: the 1900 system counts serial 1 as 1900-01-01 and keeps Lotus'
 * fictitious 1900-02-29 as serial 60 (read here as the 28th); the 1904
 * system counts serial 0 as 1904-01-01.  The fraction is the time of day,
 * rounded to the millisecond (Excel's precision).
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/formats/xlsx_int.h"

/* ------------------------------------------------------------ dates */

/* days since 1970-01-01 -> civil date (proleptic Gregorian) */
static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t		era,
				doe,
				yoe,
				doy,
				mp;

	z += 719468;				/* shift the epoch to 0000-03-01 */
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;		/* day of the 400-year era */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;	/* month from March = 0 */
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = (int) (yoe + era * 400 + (*m <= 2));
}

/*
 * An Excel serial date/time as ISO text into buf (date, time or both by
 * parts).  Serial 60, Excel's 1900-02-29 that never was, reads as the 28th;
 * false for a serial that is negative, not finite or past 9999-12-31.
 */
bool
xlsx_serial_text(double serial, bool date1904, int parts, char *buf, size_t buflen)
{
	double		days;
	int64_t		ms,
				day,
				epoch,
				hours_total;
	int			y,
				mo,
				d,
				h,
				mi,
				s,
				frac;

	/* 9999-12-31 is serial 2958465 (1900 system) */
	if (!isfinite(serial) || serial < 0 || serial >= 2958466.0)
		return false;
	days = floor(serial);
	ms = (int64_t) llround((serial - days) * 86400000.0);	/* Excel keeps milliseconds */
	day = (int64_t) days;
	if (ms >= 86400000)
	{
		day++;
		ms -= 86400000;
	}
	hours_total = day * 24 + ms / 3600000;
	if (date1904)
		epoch = -24107;			/* 1904-01-01 is serial 0 */
	else if (day <= 60)
	{
		/* serial 1 is 1900-01-01; 60 is Excel's 1900-02-29, which never was: the 28th */
		if (day == 60)
			day = 59;
		epoch = -25568;			/* 1899-12-31 */
	}
	else
		epoch = -25569;			/* 1899-12-30: past the fictitious leap day */
	civil_from_days(epoch + day, &y, &mo, &d);
	h = (int) (ms / 3600000);
	mi = (int) (ms / 60000 % 60);
	s = (int) (ms / 1000 % 60);
	frac = (int) (ms % 1000);
	if (parts == XLSX_TIME_PART)
	{
		/* a time; an elapsed one ([h]:mm) may pass 24 hours */
		long long	hours = (long long) hours_total;

		if (frac)
			snprintf(buf, buflen, "%02lld:%02d:%02d.%03d", hours, mi, s, frac);
		else
			snprintf(buf, buflen, "%02lld:%02d:%02d", hours, mi, s);
	}
	else if (!(parts & XLSX_TIME_PART))
		snprintf(buf, buflen, "%04d-%02d-%02d", y, mo, d);
	else if (frac)
		snprintf(buf, buflen, "%04d-%02d-%02d %02d:%02d:%02d.%03d", y, mo, d, h, mi, s, frac);
	else
		snprintf(buf, buflen, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, s);
	return true;
}

/* ------------------------------------------------------------ sheets */

typedef struct CellAcc
{
	uint32_t	col;
	XlsxCellKind kind;
	int			date_parts;
	size_t		off;			/* text in the row buffer */
	size_t		len;
} CellAcc;

struct XlsxSheet
{
	XlsxBook   *b;
	XIn			x;
	bool		in_data;
	bool		done;
	uint32_t	last_row;
	/* the row being built */
	char	   *buf;
	size_t		len;
	size_t		cap;
	CellAcc    *acc;
	int			nacc;
	int			acap;
	XlsxCell   *cells;
	int			ccap;
	XlsxRow		row;
};

static bool
sheet_buf_append(XlsxSheet *s, const char *v, size_t l, XlsxError *err)
{
	if (s->len + l + 1 > s->cap)
	{
		size_t		ncap = s->cap ? s->cap : 4096;
		char	   *nb;

		while (ncap < s->len + l + 1)
			ncap *= 2;
		nb = xrealloc(s->buf, ncap, err);
		if (nb == NULL)
			return false;
		s->buf = nb;
		s->cap = ncap;
	}
	memcpy(s->buf + s->len, v, l);
	s->len += l;
	s->buf[s->len] = '\0';
	return true;
}

static XlsxSheet *sheet_open(XlsxBook *b, int index, XlsxError *err);
static int	sheet_next(XlsxSheet *s, XlsxRow **row, XlsxError *err);

/*
 * Open sheet index for streaming row by row (libxml2 quiet meanwhile); NULL
 * with err set.
 */
XlsxSheet *
xlsx_sheet_open(XlsxBook *b, int index, XlsxError *err)
{
	XlsxQuiet	q;
	XlsxSheet  *s;

	xlsx_quiet(&q);
	s = sheet_open(b, index, err);
	xlsx_unquiet(&q);
	return s;
}

/*
 * The next row of the sheet (1, *row valid until the next call), 0 at the
 * end, -1 with err set; libxml2 is quiet while it reads.
 */
int
xlsx_sheet_next(XlsxSheet *s, XlsxRow **row, XlsxError *err)
{
	XlsxQuiet	q;
	int			rc;

	xlsx_quiet(&q);
	rc = sheet_next(s, row, err);
	xlsx_unquiet(&q);
	return rc;
}

static XlsxSheet *
sheet_open(XlsxBook *b, int index, XlsxError *err)
{
	XlsxSheet  *s;

	err->kind = XLSX_OK;
	err->msg[0] = '\0';
	if (index < 0 || index >= b->nsheets)
	{
		xerr(err, XLSX_E_NOSHEET, "the workbook has %d sheets", b->nsheets);
		return NULL;
	}
	if (!b->ss_loaded && !xlsx_strings_read(b, err))
		return NULL;
	s = xmalloc(sizeof(XlsxSheet), err);
	if (s == NULL)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->b = b;
	if (!xin_begin(b, &s->x, b->sheet_parts[index], b->lim.max_part, false, err))
	{
		if (err->kind == XLSX_E_NOTXLSX)
		{
			err->kind = XLSX_E_CORRUPT;
			snprintf(err->msg, sizeof(err->msg), "sheet \"%s\" is missing from the archive (%s)",
					 b->sheet_names[index], b->sheet_parts[index]);
		}
		free(s);
		return NULL;
	}
	return s;
}

/* Close a sheet and free its buffers; NULL is allowed. */
void
xlsx_sheet_close(XlsxSheet *s)
{
	if (s == NULL)
		return;
	xin_end(&s->x);
	free(s->buf);
	free(s->acc);
	free(s->cells);
	free(s);
}

/* The column letters of 0-based col ("A", ..., "AB"), for error positions. */
void
xlsx_column_name(uint32_t col, char *buf)
{
	char		tmp[8];
	int			n = 0;

	col++;
	while (col > 0 && n < 7)
	{
		tmp[n++] = (char) ('A' + (col - 1) % 26);
		col = (col - 1) / 26;
	}
	for (int i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
}

/* "B12" -> col 1, row 12 (row may be absent: 0) */
static bool
parse_ref(const char *ref, uint32_t *col, uint32_t *row)
{
	uint64_t	c = 0,
				r = 0;
	const char *p = ref;

	if (!isalpha((unsigned char) *p))
		return false;
	while (isalpha((unsigned char) *p))
	{
		c = c * 26 + (uint64_t) (toupper((unsigned char) *p) - 'A' + 1);
		if (c > 1000000)
			return false;
		p++;
	}
	while (isdigit((unsigned char) *p))
	{
		r = r * 10 + (uint64_t) (*p - '0');
		if (r > 100000000)
			return false;
		p++;
	}
	if (*p != '\0')
		return false;
	*col = (uint32_t) (c - 1);
	*row = (uint32_t) r;
	return true;
}

static bool
parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;

	while (*s == ' ')
		s++;
	if (!isdigit((unsigned char) *s))
		return false;
	for (; isdigit((unsigned char) *s); s++)
	{
		v = v * 10 + (uint64_t) (*s - '0');
		if (v > max)
			return false;
	}
	while (*s == ' ')
		s++;
	*out = v;
	return *s == '\0';
}

/* [-+]digits[.digits][e[-+]digits], as Excel writes numbers */
static bool
valid_number(const char *s)
{
	bool		digits = false;

	if (*s == '-' || *s == '+')
		s++;
	for (; isdigit((unsigned char) *s); s++)
		digits = true;
	if (*s == '.')
		for (s++; isdigit((unsigned char) *s); s++)
			digits = true;
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E')
	{
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!isdigit((unsigned char) *s))
			return false;
		while (isdigit((unsigned char) *s))
			s++;
	}
	return *s == '\0';
}

/* the cell being parsed */
typedef struct CellState
{
	bool		active;
	uint32_t	col;
	char		type[16];
	uint32_t	style;
	bool		have_v;
	size_t		v_off;			/* <v> text or <is> text, in the row buffer */
	bool		in_v;
	bool		in_is;
	bool		in_t;
	int			rph;
} CellState;

static bool
cell_finish(XlsxSheet *s, CellState *cs, XlsxError *err)
{
	XlsxBook   *b = s->b;
	CellAcc    *a;
	const char *v = s->buf + cs->v_off;
	char		ref[16];
	char		col[8];

	cs->active = false;
	xlsx_column_name(cs->col, col);
	snprintf(ref, sizeof(ref), "%s%u", col, s->row.rownum);
	if (!cs->have_v)
	{
		s->len = cs->v_off;
		return true;			/* no value: an empty cell */
	}
	if (s->len - cs->v_off > b->lim.max_cell)
	{
		xerr(err, XLSX_E_LIMIT, "cell %s is longer than %llu bytes", ref, (unsigned long long) b->lim.max_cell);
		return false;
	}
	if (s->nacc == s->acap)
	{
		CellAcc    *na;

		if ((uint32_t) s->acap >= b->lim.max_columns)
		{
			xerr(err, XLSX_E_CORRUPT, "row %u has more than %u cells", s->row.rownum, b->lim.max_columns);
			return false;
		}
		s->acap = s->acap ? s->acap * 2 : 64;
		na = xrealloc(s->acc, sizeof(CellAcc) * s->acap, err);
		if (na == NULL)
			return false;
		s->acc = na;
	}
	a = &s->acc[s->nacc];
	a->col = cs->col;
	a->date_parts = 0;
	a->off = cs->v_off;
	a->len = s->len - cs->v_off;

	if (strcmp(cs->type, "s") == 0)
	{
		uint64_t	idx;
		const char *str;

		if (!parse_uint(v, UINT32_MAX, &idx) || idx >= b->nss)
		{
			xerr(err, XLSX_E_CORRUPT, "cell %s refers to shared string \"%s\", but the workbook has %zu",
				 ref, v, b->nss);
			return false;
		}
		str = b->ss_buf + b->ss_off[idx];
		s->len = cs->v_off;
		if (!sheet_buf_append(s, str, strlen(str), err))
			return false;
		a->len = s->len - cs->v_off;
		a->kind = XLSX_STRING;
	}
	else if (strcmp(cs->type, "inlineStr") == 0 || strcmp(cs->type, "str") == 0)
		a->kind = XLSX_STRING;
	else if (strcmp(cs->type, "b") == 0)
	{
		bool		t = strcmp(v, "1") == 0 || strcmp(v, "true") == 0;

		if (!t && strcmp(v, "0") != 0 && strcmp(v, "false") != 0)
		{
			xerr(err, XLSX_E_CORRUPT, "cell %s: \"%s\" is not a boolean", ref, v);
			return false;
		}
		s->len = cs->v_off;
		if (!sheet_buf_append(s, t ? "true" : "false", t ? 4 : 5, err))
			return false;
		a->len = s->len - cs->v_off;
		a->kind = XLSX_BOOL;
	}
	else if (strcmp(cs->type, "e") == 0)
		a->kind = XLSX_ERROR;
	else if (strcmp(cs->type, "d") == 0)
	{
		/* an ISO 8601 date, time or both */
		a->kind = XLSX_DATE;
		a->date_parts = (strchr(v, '-') ? XLSX_DATE_PART : 0) | (strchr(v, ':') ? XLSX_TIME_PART : 0);
		if (a->date_parts == 0)
		{
			xerr(err, XLSX_E_CORRUPT, "cell %s: \"%s\" is not an ISO 8601 date", ref, v);
			return false;
		}
	}
	else if (cs->type[0] == '\0' || strcmp(cs->type, "n") == 0)
	{
		int			parts = cs->style < b->nxf ? b->xf_parts[cs->style] : 0;
		char		iso[64];

		/* trim what some writers leave around the number */
		while (*v == ' ')
		{
			v++;
			a->off++;
			a->len--;
		}
		while (a->len > 0 && s->buf[a->off + a->len - 1] == ' ')
			s->buf[a->off + --a->len] = '\0';
		if (a->len == 0)
		{
			s->len = cs->v_off;
			return true;		/* <v></v>: empty */
		}
		if (!valid_number(v))
		{
			xerr(err, XLSX_E_CORRUPT, "cell %s: \"%s\" is not a number", ref, v);
			return false;
		}
		a->kind = XLSX_NUMBER;
		if (parts && xlsx_serial_text(strtod(v, NULL), b->date1904, parts, iso, sizeof(iso)))
		{
			s->len = cs->v_off;
			if (!sheet_buf_append(s, iso, strlen(iso), err))
				return false;
			a->off = cs->v_off;
			a->len = s->len - cs->v_off;
			a->kind = XLSX_DATE;
			a->date_parts = parts;
		}
	}
	else
	{
		xerr(err, XLSX_E_CORRUPT, "cell %s has unknown type \"%s\"", ref, cs->type);
		return false;
	}
	/* each cell's text ends with a NUL in the row buffer */
	if (!sheet_buf_append(s, "", 0, err))
		return false;
	s->len++;
	s->nacc++;
	return true;
}

static int
sheet_next(XlsxSheet *s, XlsxRow **row, XlsxError *err)
{
	XlsxBook   *b = s->b;
	CellState	cs;
	bool		in_row = false;
	uint32_t	next_col = 0;
	int			rc;

	err->kind = XLSX_OK;
	err->msg[0] = '\0';
	if (s->done)
		return 0;
	memset(&cs, 0, sizeof(cs));
	s->len = 0;
	s->nacc = 0;
	while ((rc = xin_next(&s->x, err)) == 1)
	{
		XIn		   *x = &s->x;

		if (!s->in_data)
		{
			if (xin_start(x, "sheetData") && !xmlTextReaderIsEmptyElement(x->r))
				s->in_data = true;
			continue;
		}
		if (xin_endtag(x, "sheetData"))
		{
			s->in_data = false;
			s->done = true;
			return 0;
		}
		if (!in_row)
		{
			if (xin_start(x, "row"))
			{
				const char *r = xin_attr(x, "r");
				uint64_t	rn;

				if (r)
				{
					if (!parse_uint(r, b->lim.max_rows, &rn) || rn == 0)
					{
						xerr(err, XLSX_E_CORRUPT, "row number \"%s\" is not valid (1 to %u)", r, b->lim.max_rows);
						return -1;
					}
				}
				else
					rn = (uint64_t) s->last_row + 1;
				if (rn > b->lim.max_rows)
				{
					xerr(err, XLSX_E_CORRUPT, "the sheet has more than %u rows", b->lim.max_rows);
					return -1;
				}
				s->last_row = (uint32_t) rn;
				s->row.rownum = (uint32_t) rn;
				next_col = 0;
				if (xmlTextReaderIsEmptyElement(x->r))
					break;		/* <row/>: no cells */
				in_row = true;
			}
			continue;
		}
		if (xin_endtag(x, "row"))
			break;
		if (!cs.active)
		{
			if (xin_start(x, "c"))
			{
				const char *r = xin_attr(x, "r");
				const char *t = xin_attr(x, "t");
				const char *st = xin_attr(x, "s");
				uint64_t	sv = 0;

				memset(&cs, 0, sizeof(cs));
				cs.active = true;
				cs.col = next_col;
				if (r)
				{
					uint32_t	c,
								rr;

					if (!parse_ref(r, &c, &rr) || c >= b->lim.max_columns ||
						(rr != 0 && rr != s->row.rownum))
					{
						xerr(err, XLSX_E_CORRUPT, "cell reference \"%s\" is not valid in row %u", r,
							 s->row.rownum);
						return -1;
					}
					cs.col = c;
				}
				if (cs.col >= b->lim.max_columns)
				{
					xerr(err, XLSX_E_CORRUPT, "row %u has more than %u columns", s->row.rownum,
						 b->lim.max_columns);
					return -1;
				}
				next_col = cs.col + 1;
				if (t)
				{
					if (strlen(t) >= sizeof(cs.type))
					{
						xerr(err, XLSX_E_CORRUPT, "a cell in row %u has unknown type \"%.20s\"", s->row.rownum, t);
						return -1;
					}
					strcpy(cs.type, t);
				}
				if (st && !parse_uint(st, UINT32_MAX, &sv))
				{
					xerr(err, XLSX_E_CORRUPT, "a cell in row %u has style \"%.20s\"", s->row.rownum, st);
					return -1;
				}
				cs.style = (uint32_t) sv;
				cs.v_off = s->len;
				if (xmlTextReaderIsEmptyElement(x->r))
					cs.active = false;	/* <c r="A1"/>: empty */
			}
			continue;
		}
		/* inside <c> */
		if (xin_endtag(x, "c"))
		{
			if (!cell_finish(s, &cs, err))
				return -1;
			continue;
		}
		if (xin_start(x, "v") && !xmlTextReaderIsEmptyElement(x->r))
		{
			cs.in_v = true;
			if (!cs.have_v)
			{
				cs.have_v = true;
				s->len = cs.v_off;	/* an <is> before <v> is replaced */
			}
		}
		else if (xin_endtag(x, "v"))
			cs.in_v = false;
		else if (xin_start(x, "v"))
			cs.have_v = true;	/* <v/>: an empty value */
		else if (xin_start(x, "is") && !xmlTextReaderIsEmptyElement(x->r))
		{
			cs.in_is = true;
			cs.have_v = true;
		}
		else if (xin_endtag(x, "is"))
			cs.in_is = false;
		else if (cs.in_is && xin_start(x, "rPh") && !xmlTextReaderIsEmptyElement(x->r))
			cs.rph++;
		else if (cs.in_is && xin_endtag(x, "rPh") && cs.rph > 0)
			cs.rph--;
		else if (cs.in_is && xin_start(x, "t") && !xmlTextReaderIsEmptyElement(x->r))
			cs.in_t = true;
		else if (cs.in_is && xin_endtag(x, "t"))
			cs.in_t = false;
		else if (xin_text_node(x) && (cs.in_v || (cs.in_is && cs.in_t && cs.rph == 0)))
		{
			const char *v = (const char *) xmlTextReaderConstValue(x->r);
			size_t		l = v ? strlen(v) : 0;

			if (s->len - cs.v_off + l > b->lim.max_cell + 64)
			{
				char		colname[8];

				xlsx_column_name(cs.col, colname);
				xerr(err, XLSX_E_LIMIT, "cell %s%u is longer than %llu bytes", colname, s->row.rownum,
					 (unsigned long long) b->lim.max_cell);
				return -1;
			}
			if (l && !sheet_buf_append(s, v, l, err))
				return -1;
		}
	}
	if (rc < 0)
		return -1;
	if (rc == 0 && !in_row && s->row.rownum == 0)
	{
		s->done = true;
		return 0;				/* no sheetData, or it ended without </sheetData> */
	}
	if (rc == 0 && in_row)
	{
		xerr(err, XLSX_E_CORRUPT, "the sheet ends inside row %u", s->row.rownum);
		return -1;
	}
	if (rc == 0)
	{
		s->done = true;
		return 0;
	}
	/* a complete row: point the cells at their text */
	if (s->nacc > s->ccap)
	{
		XlsxCell   *nc = xrealloc(s->cells, sizeof(XlsxCell) * s->nacc, err);

		if (nc == NULL)
			return -1;
		s->cells = nc;
		s->ccap = s->nacc;
	}
	for (int i = 0; i < s->nacc; i++)
	{
		s->cells[i].col = s->acc[i].col;
		s->cells[i].kind = s->acc[i].kind;
		s->cells[i].date_parts = s->acc[i].date_parts;
		s->cells[i].text = s->buf + s->acc[i].off;
		s->cells[i].len = s->acc[i].len;
	}
	s->row.ncells = s->nacc;
	s->row.cells = s->cells;
	*row = &s->row;
	return 1;
}
