/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/xlsx_core.c
 *		The pure-C .xlsx reader: zip archive through libzip over a
 *		read_at callback, XML parts through libxml2's xmlTextReader.
 *
 * Parts read (SpreadsheetML, ECMA-376 part 1):
 *	_rels/.rels						which part is the workbook
 *	xl/workbook.xml					sheet names and their relationship ids,
 *									workbookPr date1904
 *	xl/_rels/workbook.xml.rels		relationship id -> sheet part; styles and
 *									shared strings parts
 *	xl/styles.xml					numFmts and cellXfs: which cell styles
 *									format numbers as dates or times
 *	xl/sharedStrings.xml			the string table (held in memory)
 *	xl/worksheets/sheetN.xml		streamed: <row r> <c r s t><v>/<is>
 *
 * An OLE2 compound file (magic D0 CF 11 E0) is an old binary .xls, or an
 * encrypted .xlsx (Office wraps those in OLE2 with an EncryptedPackage
 * stream, found in the first directory sector); both get their own error.
 *
 * The archive is read through a 1 MB window over read_at, so libzip's
 * small reads cost one call per window (one ranged GET on an object
 * store, not one per 8 kB).  No DTD is accepted and no entity is loaded
 * (XML_PARSE_NONET, no XML_PARSE_NOENT): parts never have one, and it
 * keeps entity expansion out.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlreader.h>
#include <zip.h>

#include "connectors/formats/xlsx_int.h"


static void
xlsx_silent(void *ctx, const char *msg,...)
{
	(void) ctx;
	(void) msg;
}

/*
 * Silence libxml2's generic error printer while the core parses (malformed
 * XML is reported through XlsxError, not printed to the server log);
 * xlsx_unquiet restores the previous handler.
 */
void
xlsx_quiet(XlsxQuiet *q)
{
	q->func = xmlGenericError;
	q->ctx = xmlGenericErrorContext;
	xmlSetGenericErrorFunc(NULL, xlsx_silent);
}

/* Restore the libxml2 error handler xlsx_quiet saved. */
void
xlsx_unquiet(XlsxQuiet *q)
{
	xmlSetGenericErrorFunc(q->ctx, q->func);
}

/*
 * The default limits: Excel's own (rows, columns, cell length) plus
 * bounds on parts, shared strings and metadata, so that a zip bomb or a
 * hostile workbook fails cleanly instead of exhausting memory.
 */
void
xlsx_default_limits(XlsxLimits *lim)
{
	lim->max_part = UINT64_C(4) * 1024 * 1024 * 1024;	/* 4 GB of sheet XML, streamed */
	lim->max_meta = 64 * 1024 * 1024;
	lim->max_strings = 512 * 1024 * 1024;
	lim->max_nstrings = 16 * 1024 * 1024;
	lim->max_cell = 32767 * 4;	/* Excel's 32,767 characters, in UTF-8 */
	lim->max_columns = 16384;
	lim->max_rows = 1048576;
}

/*
 * Record an error in err, keeping the first one: later errors are usually
 * consequences of it.
 */
void
xerr(XlsxError *err, XlsxErrKind kind, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL || err->kind != XLSX_OK)
		return;					/* keep the first error */
	err->kind = kind;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ zip source */


static int
zsrc_read(ZSrc *z, uint64_t off, unsigned char *buf, size_t len)
{
	while (len > 0)
	{
		size_t		n;

		if (off < z->win_off || off >= z->win_off + z->win_len)
		{
			uint64_t	want = z->io.size - off;

			if (want > XLSX_WINDOW)
				want = XLSX_WINDOW;
			z->win_len = 0;
			if (z->io.read_at(z->io.arg, off, z->win, (size_t) want) != 0)
			{
				z->io_failed = true;
				return -1;
			}
			z->win_off = off;
			z->win_len = (size_t) want;
		}
		n = (size_t) (z->win_off + z->win_len - off);
		if (n > len)
			n = len;
		memcpy(buf, z->win + (off - z->win_off), n);
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

static zip_int64_t
zsrc_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	ZSrc	   *z = ud;

	switch (cmd)
	{
		case ZIP_SOURCE_OPEN:
			z->pos = 0;
			return 0;
		case ZIP_SOURCE_READ:
			{
				uint64_t	n = z->pos < z->io.size ? z->io.size - z->pos : 0;

				if (n > len)
					n = len;
				if (n > 0 && zsrc_read(z, z->pos, data, (size_t) n) != 0)
				{
					zip_error_set(&z->error, ZIP_ER_READ, 5 /* EIO */ );
					return -1;
				}
				z->pos += n;
				return (zip_int64_t) n;
			}
		case ZIP_SOURCE_CLOSE:
			return 0;
		case ZIP_SOURCE_STAT:
			{
				zip_stat_t *st = data;

				if (len < sizeof(*st))
				{
					zip_error_set(&z->error, ZIP_ER_INVAL, 0);
					return -1;
				}
				zip_stat_init(st);
				st->size = z->io.size;
				st->valid |= ZIP_STAT_SIZE;
				return sizeof(*st);
			}
		case ZIP_SOURCE_ERROR:
			return zip_error_to_data(&z->error, data, len);
		case ZIP_SOURCE_FREE:
			return 0;
		case ZIP_SOURCE_SEEK:
			{
				zip_int64_t np = zip_source_seek_compute_offset(z->pos, z->io.size, data, len, &z->error);

				if (np < 0)
					return -1;
				z->pos = (uint64_t) np;
				return 0;
			}
		case ZIP_SOURCE_TELL:
			return (zip_int64_t) z->pos;
		case ZIP_SOURCE_SUPPORTS:
			return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
												  ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
												  ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL, ZIP_SOURCE_SUPPORTS, -1);
		default:
			zip_error_set(&z->error, ZIP_ER_OPNOTSUPP, 0);
			return -1;
	}
}

/* ------------------------------------------------------------ the book */


void *
xmalloc(size_t n, XlsxError *err)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
		xerr(err, XLSX_E_NOMEM, "out of memory");
	return p;
}

/* realloc that records XLSX_E_NOMEM in err on failure (old stays valid). */
void *
xrealloc(void *old, size_t n, XlsxError *err)
{
	void	   *p = realloc(old, n ? n : 1);

	if (p == NULL)
		xerr(err, XLSX_E_NOMEM, "out of memory");
	return p;
}

/* strdup that records XLSX_E_NOMEM in err on failure. */
char *
xstrdup(const char *s, XlsxError *err)
{
	size_t		l = strlen(s);
	char	   *p = xmalloc(l + 1, err);

	if (p)
		memcpy(p, s, l + 1);
	return p;
}

/* ------------------------------------------------------------ XML parts */


static int
xin_read(void *ctx, char *buf, int len)
{
	XIn		   *x = ctx;
	zip_int64_t n = zip_fread(x->zf, buf, (zip_uint64_t) len);

	if (n < 0)
	{
		x->zip_failed = true;
		return -1;
	}
	x->read += (uint64_t) n;
	if (x->read > x->cap)
	{
		x->limit_hit = true;
		return -1;
	}
	return (int) n;
}

static int
xin_close(void *ctx)
{
	(void) ctx;
	return 0;					/* the zip file is closed by xin_end */
}

static void
xin_error(void *arg, xmlErrorPtr error)
{
	XIn		   *x = arg;

	if (x->xml_error[0] == '\0' && error && error->level >= XML_ERR_ERROR)
	{
		snprintf(x->xml_error, sizeof(x->xml_error), "line %d: %s", error->line,
				 error->message ? error->message : "XML error");
		/* libxml2's messages end with a newline */
		x->xml_error[strcspn(x->xml_error, "\n")] = '\0';
	}
}

/* zip entry index of part "name", or -1 */
static zip_int64_t
xlsx_locate(XlsxBook *b, const char *name)
{
	zip_int64_t i = zip_name_locate(b->za, name, 0);

	if (i < 0)
		i = zip_name_locate(b->za, name, ZIP_FL_NOCASE);
	return i;
}

/* open part "name" for XML reading (false with err set; missing_ok: false, no error) */
bool
xin_begin(XlsxBook *b, XIn *x, const char *name, uint64_t cap, bool missing_ok, XlsxError *err)
{
	zip_int64_t idx = xlsx_locate(b, name);
	zip_stat_t	st;

	memset(x, 0, sizeof(*x));
	x->b = b;
	x->part = name;
	x->cap = cap;
	if (idx < 0)
	{
		if (!missing_ok)
			xerr(err, XLSX_E_NOTXLSX, "the archive has no part \"%s\"", name);
		return false;
	}
	zip_stat_init(&st);
	if (zip_stat_index(b->za, (zip_uint64_t) idx, 0, &st) != 0)
	{
		xerr(err, b->zs.io_failed ? XLSX_E_IO : XLSX_E_CORRUPT, "cannot read the entry of \"%s\": %s",
			 name, zip_strerror(b->za));
		return false;
	}
	if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
	{
		xerr(err, XLSX_E_ENCRYPTED, "part \"%s\" is encrypted", name);
		return false;
	}
	if ((st.valid & ZIP_STAT_SIZE) && st.size > cap)
	{
		xerr(err, XLSX_E_LIMIT, "part \"%s\" is %llu bytes uncompressed, more than the limit of %llu",
			 name, (unsigned long long) st.size, (unsigned long long) cap);
		return false;
	}
	x->zf = zip_fopen_index(b->za, (zip_uint64_t) idx, 0);
	if (x->zf == NULL)
	{
		int			ze = zip_error_code_zip(zip_get_error(b->za));

		xerr(err, b->zs.io_failed ? XLSX_E_IO :
			 ze == ZIP_ER_NOPASSWD || ze == ZIP_ER_WRONGPASSWD || ze == ZIP_ER_ENCRNOTSUPP ? XLSX_E_ENCRYPTED :
			 XLSX_E_CORRUPT, "cannot open part \"%s\": %s", name, zip_strerror(b->za));
		return false;
	}
	x->r = xmlReaderForIO(xin_read, xin_close, x, name, NULL, XML_PARSE_NONET | XML_PARSE_NOWARNING);
	if (x->r == NULL)
	{
		zip_fclose(x->zf);
		x->zf = NULL;
		xerr(err, XLSX_E_NOMEM, "cannot start parsing \"%s\"", name);
		return false;
	}
	xmlTextReaderSetStructuredErrorHandler(x->r, xin_error, x);
	return true;
}

/* Close a part's XML reader and its zip entry; safe on a closed XIn. */
void
xin_end(XIn *x)
{
	if (x->r)
		xmlFreeTextReader(x->r);
	x->r = NULL;
	if (x->zf)
		zip_fclose(x->zf);
	x->zf = NULL;
}

/* next node: 1, 0 at the end, -1 with err set */
int
xin_next(XIn *x, XlsxError *err)
{
	int			rc = xmlTextReaderRead(x->r);

	if (rc == 1 && xmlTextReaderNodeType(x->r) == XML_READER_TYPE_DOCUMENT_TYPE)
	{
		xerr(err, XLSX_E_CORRUPT, "part \"%s\" has a DTD, which xlsx parts never have", x->part);
		return -1;
	}
	if (rc >= 0)
		return rc;
	if (x->b->zs.io_failed)
		xerr(err, XLSX_E_IO, "read failed");
	else if (x->limit_hit)
		xerr(err, XLSX_E_LIMIT, "part \"%s\" is larger than the limit of %llu bytes uncompressed",
			 x->part, (unsigned long long) x->cap);
	else if (x->zip_failed)
		xerr(err, XLSX_E_CORRUPT, "part \"%s\" is damaged: %s", x->part,
			 zip_file_strerror(x->zf));
	else
		xerr(err, XLSX_E_CORRUPT, "part \"%s\" is not well-formed XML (%s)", x->part,
			 x->xml_error[0] ? x->xml_error : "parse error");
	return -1;
}

/*
 * Whether the reader stands on a node of type with local name local
 * (namespace prefixes differ between writers).
 */
bool
xin_is(XIn *x, int type, const char *local)
{
	const xmlChar *n;

	if (xmlTextReaderNodeType(x->r) != type)
		return false;
	n = xmlTextReaderConstLocalName(x->r);
	return n && strcmp((const char *) n, local) == 0;
}


/* the current element's attribute by local name (not to be freed), or NULL */
const char *
xin_attr(XIn *x, const char *local)
{
	const char *v = NULL;

	if (xmlTextReaderMoveToFirstAttribute(x->r) == 1)
	{
		do
		{
			const xmlChar *n = xmlTextReaderConstLocalName(x->r);

			if (n && strcmp((const char *) n, local) == 0)
			{
				v = (const char *) xmlTextReaderConstValue(x->r);
				break;
			}
		} while (xmlTextReaderMoveToNextAttribute(x->r) == 1);
		xmlTextReaderMoveToElement(x->r);
	}
	return v;
}

/*
 * Whether the current node carries text (text, CDATA or whitespace, which
 * is significant inside a cell).
 */
bool
xin_text_node(XIn *x)
{
	int			t = xmlTextReaderNodeType(x->r);

	return t == XML_READER_TYPE_TEXT || t == XML_READER_TYPE_CDATA ||
		t == XML_READER_TYPE_WHITESPACE || t == XML_READER_TYPE_SIGNIFICANT_WHITESPACE;
}

/* ------------------------------------------------------------ small helpers */

/* "xl/" for "xl/workbook.xml" (malloc'd) */
static char *
part_dir(const char *part, XlsxError *err)
{
	const char *slash = strrchr(part, '/');
	size_t		l = slash ? (size_t) (slash - part + 1) : 0;
	char	   *d = xmalloc(l + 1, err);

	if (d)
	{
		memcpy(d, part, l);
		d[l] = '\0';
	}
	return d;
}

/* a relationship target, relative to dir unless absolute; "../" resolved */
static char *
resolve_target(const char *dir, const char *target, XlsxError *err)
{
	size_t		cap = strlen(dir) + strlen(target) + 1;
	char	   *out = xmalloc(cap, err);
	size_t		len = 0;
	const char *p;

	if (out == NULL)
		return NULL;
	if (target[0] == '/')
		target++;
	else
	{
		memcpy(out, dir, strlen(dir));
		len = strlen(dir);
	}
	out[len] = '\0';
	for (p = target; *p;)
	{
		const char *slash = strchr(p, '/');
		size_t		seg = slash ? (size_t) (slash - p) : strlen(p);

		if (seg == 2 && p[0] == '.' && p[1] == '.')
		{
			/* drop the last directory of out */
			if (len > 0)
				len--;
			while (len > 0 && out[len - 1] != '/')
				len--;
		}
		else if (!(seg == 1 && p[0] == '.') && seg > 0)
		{
			memcpy(out + len, p, seg);
			len += seg;
			if (slash)
				out[len++] = '/';
		}
		out[len] = '\0';
		p += seg + (slash ? 1 : 0);
	}
	return out;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t		l = strlen(s),
				k = strlen(suffix);

	return l >= k && strcmp(s + l - k, suffix) == 0;
}

/* ------------------------------------------------------------ relationships */

typedef struct Rel
{
	char	   *id;
	char	   *type;
	char	   *target;
} Rel;

static void
rels_free(Rel *rels, int n)
{
	for (int i = 0; i < n; i++)
	{
		free(rels[i].id);
		free(rels[i].type);
		free(rels[i].target);
	}
	free(rels);
}

/* the Relationship elements of part "name" (missing part: 0 rels, true) */
static bool
rels_read(XlsxBook *b, const char *name, Rel **out, int *nout, XlsxError *err)
{
	XIn			x;
	Rel		   *rels = NULL;
	int			n = 0,
				cap = 0,
				rc;

	*out = NULL;
	*nout = 0;
	if (!xin_begin(b, &x, name, b->lim.max_meta, true, err))
		return err->kind == XLSX_OK;
	while ((rc = xin_next(&x, err)) == 1)
	{
		const char *id,
				   *type,
				   *target;

		if (!xin_start(&x, "Relationship"))
			continue;
		id = xin_attr(&x, "Id");
		type = xin_attr(&x, "Type");
		target = xin_attr(&x, "Target");
		if (id == NULL || target == NULL)
			continue;
		if (n == cap)
		{
			Rel		   *nr;

			if (cap >= 100000)
			{
				xerr(err, XLSX_E_LIMIT, "part \"%s\" has more than %d relationships", name, cap);
				rc = -1;
				break;
			}
			cap = cap ? cap * 2 : 16;
			nr = xrealloc(rels, sizeof(Rel) * cap, err);
			if (nr == NULL)
			{
				rc = -1;
				break;
			}
			rels = nr;
		}
		rels[n].id = xstrdup(id, err);
		rels[n].type = xstrdup(type ? type : "", err);
		rels[n].target = xstrdup(target, err);
		n++;
		if (err->kind != XLSX_OK)
		{
			rc = -1;
			break;
		}
	}
	xin_end(&x);
	if (rc < 0)
	{
		rels_free(rels, n);
		return false;
	}
	*out = rels;
	*nout = n;
	return true;
}

static const Rel *
rels_by_type(const Rel *rels, int n, const char *type_suffix)
{
	for (int i = 0; i < n; i++)
		if (ends_with(rels[i].type, type_suffix))
			return &rels[i];
	return NULL;
}

/* ------------------------------------------------------------ workbook */

static bool
workbook_read(XlsxBook *b, XlsxError *err)
{
	XIn			x;
	int			rc,
				cap = 0;

	if (!xin_begin(b, &x, b->workbook, b->lim.max_meta, false, err))
		return false;
	while ((rc = xin_next(&x, err)) == 1)
	{
		if (xin_start(&x, "workbookPr"))
		{
			const char *d = xin_attr(&x, "date1904");

			b->date1904 = d && (strcmp(d, "1") == 0 || strcmp(d, "true") == 0);
		}
		else if (xin_start(&x, "sheet"))
		{
			const char *name = xin_attr(&x, "name");
			const char *rid = xin_attr(&x, "id");

			if (name == NULL || rid == NULL)
				continue;
			if (b->nsheets == cap)
			{
				char	  **nn,
						  **nr;

				if (cap >= 100000)
				{
					xerr(err, XLSX_E_LIMIT, "the workbook lists more than %d sheets", cap);
					rc = -1;
					break;
				}
				cap = cap ? cap * 2 : 8;
				nn = xrealloc(b->sheet_names, sizeof(char *) * cap, err);
				if (nn)
					b->sheet_names = nn;
				nr = nn ? xrealloc(b->sheet_rids, sizeof(char *) * cap, err) : NULL;
				if (nr)
					b->sheet_rids = nr;
				if (nn == NULL || nr == NULL)
				{
					rc = -1;
					break;
				}
			}
			b->sheet_names[b->nsheets] = xstrdup(name, err);
			b->sheet_rids[b->nsheets] = xstrdup(rid, err);
			b->nsheets++;
			if (err->kind != XLSX_OK)
			{
				rc = -1;
				break;
			}
		}
	}
	xin_end(&x);
	if (rc < 0)
		return false;
	if (b->nsheets == 0)
	{
		xerr(err, XLSX_E_NOTXLSX, "the workbook has no sheets");
		return false;
	}
	return true;
}

/* sheet parts, styles and shared strings from the workbook's relationships */
static bool
workbook_rels(XlsxBook *b, XlsxError *err)
{
	char	   *dir = part_dir(b->workbook, err);
	const char *base = strrchr(b->workbook, '/');
	char	   *relname;
	Rel		   *rels;
	int			n;
	const Rel  *r;
	bool		ok = true;

	if (dir == NULL)
		return false;
	base = base ? base + 1 : b->workbook;
	relname = xmalloc(strlen(dir) + strlen(base) + 16, err);
	if (relname == NULL)
	{
		free(dir);
		return false;
	}
	sprintf(relname, "%s_rels/%s.rels", dir, base);
	if (!rels_read(b, relname, &rels, &n, err))
	{
		free(relname);
		free(dir);
		return false;
	}
	free(relname);

	b->sheet_parts = xmalloc(sizeof(char *) * b->nsheets, err);
	if (b->sheet_parts == NULL)
		ok = false;
	else
		memset(b->sheet_parts, 0, sizeof(char *) * b->nsheets);
	for (int i = 0; ok && i < b->nsheets; i++)
	{
		const Rel  *sr = NULL;

		for (int j = 0; j < n; j++)
			if (strcmp(rels[j].id, b->sheet_rids[i]) == 0)
				sr = &rels[j];
		if (sr == NULL)
		{
			xerr(err, XLSX_E_CORRUPT, "sheet \"%s\" refers to relationship \"%s\", which the workbook does not have",
				 b->sheet_names[i], b->sheet_rids[i]);
			ok = false;
			break;
		}
		b->sheet_parts[i] = resolve_target(dir, sr->target, err);
		if (b->sheet_parts[i] == NULL)
			ok = false;
	}
	if (ok)
	{
		r = rels_by_type(rels, n, "/styles");
		b->styles = r ? resolve_target(dir, r->target, err) : xstrdup("xl/styles.xml", err);
		r = rels_by_type(rels, n, "/sharedStrings");
		b->strings = r ? resolve_target(dir, r->target, err) : xstrdup("xl/sharedStrings.xml", err);
		ok = b->styles && b->strings;
	}
	rels_free(rels, n);
	free(dir);
	return ok;
}

/* ------------------------------------------------------------ styles */

static int
builtin_date_parts(uint32_t id)
{
	if (id >= 14 && id <= 17)
		return XLSX_DATE_PART;
	if ((id >= 18 && id <= 21) || (id >= 45 && id <= 47))
		return XLSX_TIME_PART;
	if (id == 22)
		return XLSX_DATE_PART | XLSX_TIME_PART;
	if ((id >= 27 && id <= 36) || (id >= 50 && id <= 58))
		return XLSX_DATE_PART;	/* East Asian date formats */
	return 0;
}

/*
 * Whether an Excel number format code shows a date, a time or both
 * (XLSX_DATE_PART / XLSX_TIME_PART): cells store dates as numbers, and
 * only the format tells them apart; "m" after "h" is minutes.
 */
int
xlsx_format_parts(const char *code)
{
	int			parts = 0;
	char		last = 0;		/* the last of h, m(inute), M(onth), d, y, s seen */

	for (const char *p = code; *p;)
	{
		char		c = *p;
		char		lc = (char) tolower((unsigned char) c);

		if (c == ';')
			break;				/* only the first (positive numbers') section */
		if (c == '"')
		{
			const char *q = strchr(p + 1, '"');

			p = q ? q + 1 : p + strlen(p);
			continue;
		}
		if (c == '\\' || c == '_' || c == '*')
		{
			p += p[1] ? 2 : 1;
			continue;
		}
		if (c == '[')
		{
			const char *q = strchr(p, ']');
			bool		elapsed = q && q > p + 1;

			for (const char *r = p + 1; elapsed && r < q; r++)
				if (strchr("hHmMsS", *r) == NULL)
					elapsed = false;
			if (elapsed)
			{
				parts |= XLSX_TIME_PART;	/* [h]:mm:ss */
				last = 'h';
			}
			p = q ? q + 1 : p + strlen(p);
			continue;
		}
		if ((lc == 'a' && (strncasecmp(p, "am/pm", 5) == 0)) || strncasecmp(p, "a/p", 3) == 0)
		{
			parts |= XLSX_TIME_PART;
			p += lc == 'a' && strncasecmp(p, "am/pm", 5) == 0 ? 5 : 3;
			continue;
		}
		if (lc == 'y' || lc == 'd')
		{
			parts |= XLSX_DATE_PART;
			last = lc;
		}
		else if (lc == 'h' || lc == 's')
		{
			parts |= XLSX_TIME_PART;
			last = lc;
		}
		else if (lc == 'm')
		{
			/* minutes after an hour or before seconds; a month otherwise */
			const char *q = p;
			bool		minute = last == 'h';

			while (*q && tolower((unsigned char) *q) == 'm')
				q++;
			for (; !minute && *q && *q != ';'; q++)
			{
				char		k = (char) tolower((unsigned char) *q);

				if (k == 's')
					minute = true;
				if (k == 'y' || k == 'd' || k == 'h' || k == 'm')
					break;
			}
			parts |= minute ? XLSX_TIME_PART : XLSX_DATE_PART;
			last = minute ? 'm' : 'M';
			while (*p && tolower((unsigned char) *p) == 'm')
				p++;
			continue;
		}
		p++;
	}
	return parts;
}

static bool
styles_read(XlsxBook *b, XlsxError *err)
{
	XIn			x;
	NumFmt	   *fmts = NULL;
	size_t		nfmts = 0,
				fcap = 0,
				xcap = 0;
	int			rc,
				in_xfs = 0;		/* depth of <cellXfs> + 1, or 0 */

	if (!xin_begin(b, &x, b->styles, b->lim.max_meta, true, err))
		return err->kind == XLSX_OK;	/* no styles: no dates */
	while ((rc = xin_next(&x, err)) == 1)
	{
		if (xin_start(&x, "numFmt"))
		{
			const char *id = xin_attr(&x, "numFmtId");
			const char *code = xin_attr(&x, "formatCode");

			if (id == NULL || code == NULL)
				continue;
			if (nfmts == fcap)
			{
				NumFmt	   *nf;

				if (fcap >= 65536)
				{
					xerr(err, XLSX_E_LIMIT, "the styles define more than %zu number formats", fcap);
					rc = -1;
					break;
				}
				fcap = fcap ? fcap * 2 : 16;
				nf = xrealloc(fmts, sizeof(NumFmt) * fcap, err);
				if (nf == NULL)
				{
					rc = -1;
					break;
				}
				fmts = nf;
			}
			fmts[nfmts].id = (uint32_t) strtoul(id, NULL, 10);
			fmts[nfmts].parts = xlsx_format_parts(code);
			nfmts++;
		}
		else if (xin_start(&x, "cellXfs") && !xmlTextReaderIsEmptyElement(x.r))
			in_xfs = xmlTextReaderDepth(x.r) + 1;
		else if (xin_endtag(&x, "cellXfs"))
			in_xfs = 0;
		else if (in_xfs && xin_start(&x, "xf") && xmlTextReaderDepth(x.r) == in_xfs)
		{
			const char *id = xin_attr(&x, "numFmtId");
			uint32_t	fid = id ? (uint32_t) strtoul(id, NULL, 10) : 0;
			int			parts = builtin_date_parts(fid);

			for (size_t i = 0; i < nfmts; i++)
				if (fmts[i].id == fid)
					parts = fmts[i].parts;
			if (b->nxf == xcap)
			{
				unsigned char *nx;

				if (xcap >= 1048576)
				{
					xerr(err, XLSX_E_LIMIT, "the styles define more than %zu cell formats", xcap);
					rc = -1;
					break;
				}
				xcap = xcap ? xcap * 2 : 64;
				nx = xrealloc(b->xf_parts, xcap, err);
				if (nx == NULL)
				{
					rc = -1;
					break;
				}
				b->xf_parts = nx;
			}
			b->xf_parts[b->nxf++] = (unsigned char) parts;
		}
	}
	xin_end(&x);
	free(fmts);
	return rc >= 0;
}

/* ------------------------------------------------------------ shared strings */

static bool
ss_append(XlsxBook *b, const char *s, size_t len, XlsxError *err)
{
	if (b->ss_len + len + 1 > b->lim.max_strings)
	{
		xerr(err, XLSX_E_LIMIT, "the shared strings are larger than the limit of %llu bytes",
			 (unsigned long long) b->lim.max_strings);
		return false;
	}
	if (b->ss_len + len + 1 > b->ss_cap)
	{
		size_t		ncap = b->ss_cap ? b->ss_cap : 65536;
		char	   *nb;

		while (ncap < b->ss_len + len + 1)
			ncap *= 2;
		nb = xrealloc(b->ss_buf, ncap, err);
		if (nb == NULL)
			return false;
		b->ss_buf = nb;
		b->ss_cap = ncap;
	}
	memcpy(b->ss_buf + b->ss_len, s, len);
	b->ss_len += len;
	b->ss_buf[b->ss_len] = '\0';
	return true;
}

static bool
ss_finish_one(XlsxBook *b, size_t start, XlsxError *err)
{
	if (b->nss == b->ss_ncap)
	{
		size_t	   *no;

		if (b->nss >= b->lim.max_nstrings)
		{
			xerr(err, XLSX_E_LIMIT, "the workbook has more than %llu shared strings",
				 (unsigned long long) b->lim.max_nstrings);
			return false;
		}
		b->ss_ncap = b->ss_ncap ? b->ss_ncap * 2 : 1024;
		no = xrealloc(b->ss_off, sizeof(size_t) * b->ss_ncap, err);
		if (no == NULL)
			return false;
		b->ss_off = no;
	}
	b->ss_off[b->nss++] = start;
	/* every string ends with a NUL in ss_buf */
	return ss_append(b, "", 0, err) && (b->ss_len++, true);
}

/*
 * Read the shared-strings part into b, within the limits (phonetic runs
 * skipped); false with err set.
 */
bool
xlsx_strings_read(XlsxBook *b, XlsxError *err)
{
	XIn			x;
	int			rc;
	bool		in_si = false,
				in_t = false;
	int			rph = 0;
	size_t		start = 0;

	b->ss_loaded = true;
	/* the part is streamed (its markup is not kept): bounded like a sheet */
	if (!xin_begin(b, &x, b->strings, b->lim.max_part, true, err))
		return err->kind == XLSX_OK;
	while ((rc = xin_next(&x, err)) == 1)
	{
		if (xin_start(&x, "si"))
		{
			in_si = true;
			in_t = false;
			rph = 0;
			start = b->ss_len;
			if (xmlTextReaderIsEmptyElement(x.r))
			{
				in_si = false;
				if (!ss_finish_one(b, start, err))
				{
					rc = -1;
					break;
				}
			}
		}
		else if (xin_endtag(&x, "si") && in_si)
		{
			in_si = false;
			if (!ss_finish_one(b, start, err))
			{
				rc = -1;
				break;
			}
		}
		else if (in_si && xin_start(&x, "rPh") && !xmlTextReaderIsEmptyElement(x.r))
			rph++;
		else if (in_si && xin_endtag(&x, "rPh") && rph > 0)
			rph--;
		else if (in_si && xin_start(&x, "t") && !xmlTextReaderIsEmptyElement(x.r))
			in_t = true;
		else if (in_si && xin_endtag(&x, "t"))
			in_t = false;
		else if (in_si && in_t && rph == 0 && xin_text_node(&x))
		{
			const char *v = (const char *) xmlTextReaderConstValue(x.r);

			if (v && !ss_append(b, v, strlen(v), err))
			{
				rc = -1;
				break;
			}
		}
	}
	xin_end(&x);
	return rc >= 0;
}

/* ------------------------------------------------------------ opening */

/* an OLE2 compound file: an encrypted package (true) or an old .xls */
static bool
ole2_is_encrypted(XlsxBook *b)
{
	unsigned char hdr[512];
	unsigned char dir[4096];
	uint32_t	shift,
				first_dir;
	uint64_t	ssize,
				off;
	size_t		len;

	if (b->zs.io.size < 512 || zsrc_read(&b->zs, 0, hdr, 512) != 0)
		return false;
	shift = hdr[30] | (hdr[31] << 8);
	if (shift != 9 && shift != 12)
		return false;
	ssize = UINT64_C(1) << shift;
	first_dir = (uint32_t) hdr[48] | ((uint32_t) hdr[49] << 8) | ((uint32_t) hdr[50] << 16) |
		((uint32_t) hdr[51] << 24);
	off = ((uint64_t) first_dir + 1) * ssize;
	if (off >= b->zs.io.size)
		return false;
	len = (size_t) (b->zs.io.size - off < ssize ? b->zs.io.size - off : ssize);
	if (zsrc_read(&b->zs, off, dir, len) != 0)
		return false;
	/* directory entries of 128 bytes: a UTF-16LE name, its byte length at 64 */
	for (size_t e = 0; e + 128 <= len; e += 128)
	{
		const char *want = "EncryptedPackage";
		size_t		nl = dir[e + 64] | (dir[e + 65] << 8);
		bool		match = nl == (strlen(want) + 1) * 2;

		for (size_t i = 0; match && i < strlen(want); i++)
			if (dir[e + 2 * i] != (unsigned char) want[i] || dir[e + 2 * i + 1] != 0)
				match = false;
		if (match)
			return true;
	}
	return false;
}

static XlsxBook *xlsx_open_quiet(const XlsxIO *io, const XlsxLimits *lim, XlsxError *err);

/*
 * Open a workbook through io: the zip directory, the workbook's sheets,
 * styles and shared strings; NULL with err set.  libxml2 is quiet while it
 * runs.
 */
XlsxBook *
xlsx_open(const XlsxIO *io, const XlsxLimits *lim, XlsxError *err)
{
	XlsxQuiet	q;
	XlsxBook   *b;

	xlsx_quiet(&q);
	b = xlsx_open_quiet(io, lim, err);
	xlsx_unquiet(&q);
	return b;
}

static XlsxBook *
xlsx_open_quiet(const XlsxIO *io, const XlsxLimits *lim, XlsxError *err)
{
	XlsxBook   *b;
	unsigned char magic[8];
	zip_source_t *src;
	zip_error_t ze;
	Rel		   *rels;
	int			nrels;

	err->kind = XLSX_OK;
	err->msg[0] = '\0';
	b = xmalloc(sizeof(XlsxBook), err);
	if (b == NULL)
		return NULL;
	memset(b, 0, sizeof(*b));
	b->lim = *lim;
	b->zs.io = *io;
	zip_error_init(&b->zs.error);
	/* the window: 1 MB, or the whole file when it is smaller */
	b->zs.win = xmalloc(io->size < XLSX_WINDOW ? (size_t) io->size + 1 : XLSX_WINDOW, err);
	if (b->zs.win == NULL)
		goto fail;

	if (io->size >= 8)
	{
		if (zsrc_read(&b->zs, 0, magic, 8) != 0)
		{
			xerr(err, XLSX_E_IO, "read failed");
			goto fail;
		}
		if (memcmp(magic, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) == 0)
		{
			if (ole2_is_encrypted(b))
				xerr(err, XLSX_E_ENCRYPTED, "the workbook is encrypted (password-protected)");
			else if (b->zs.io_failed)
				xerr(err, XLSX_E_IO, "read failed");
			else
				xerr(err, XLSX_E_XLS, "this is an Excel 97-2003 binary workbook (.xls), not .xlsx");
			goto fail;
		}
	}

	zip_error_init(&ze);
	src = zip_source_function_create(zsrc_cb, &b->zs, &ze);
	if (src == NULL)
	{
		zip_error_fini(&ze);
		xerr(err, XLSX_E_NOMEM, "cannot create a zip source");
		goto fail;
	}
	b->za = zip_open_from_source(src, ZIP_RDONLY, &ze);
	if (b->za == NULL)
	{
		int			code = zip_error_code_zip(&ze);

		zip_source_free(src);
		if (b->zs.io_failed)
			xerr(err, XLSX_E_IO, "read failed");
		else if (code == ZIP_ER_NOZIP)
			xerr(err, XLSX_E_NOTZIP, "it is not a zip archive (or it is truncated)");
		else
			xerr(err, XLSX_E_CORRUPT, "the zip archive is damaged: %s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		goto fail;
	}
	zip_error_fini(&ze);

	/* the workbook part: from the package relationships, or the usual name */
	if (!rels_read(b, "_rels/.rels", &rels, &nrels, err))
		goto fail;
	{
		const Rel  *r = rels_by_type(rels, nrels, "/officeDocument");

		b->workbook = r ? resolve_target("", r->target, err) : xstrdup("xl/workbook.xml", err);
		rels_free(rels, nrels);
		if (b->workbook == NULL)
			goto fail;
	}
	if (ends_with(b->workbook, ".bin") || (xlsx_locate(b, b->workbook) < 0 && xlsx_locate(b, "xl/workbook.bin") >= 0))
	{
		xerr(err, XLSX_E_NOTXLSX, "this is an Excel binary workbook (.xlsb), not .xlsx");
		goto fail;
	}
	if (xlsx_locate(b, b->workbook) < 0)
	{
		xerr(err, XLSX_E_NOTXLSX, "the zip archive has no workbook (%s), so it is not an .xlsx file",
			 b->workbook);
		goto fail;
	}
	if (!workbook_read(b, err) || !workbook_rels(b, err) || !styles_read(b, err))
		goto fail;
	return b;

fail:
	xlsx_close(b);
	return NULL;
}

/* Free a workbook and everything it holds; NULL is allowed. */
void
xlsx_close(XlsxBook *b)
{
	if (b == NULL)
		return;
	if (b->za)
		zip_discard(b->za);
	for (int i = 0; i < b->nsheets; i++)
	{
		free(b->sheet_names[i]);
		free(b->sheet_rids[i]);
		if (b->sheet_parts)
			free(b->sheet_parts[i]);
	}
	free(b->sheet_names);
	free(b->sheet_rids);
	free(b->sheet_parts);
	free(b->workbook);
	free(b->styles);
	free(b->strings);
	free(b->ss_buf);
	free(b->ss_off);
	free(b->xf_parts);
	free(b->zs.win);
	zip_error_fini(&b->zs.error);
	free(b);
}

/* The number of sheets in workbook order. */
int
xlsx_sheet_count(const XlsxBook *b)
{
	return b->nsheets;
}

/* The name of sheet i (0-based), or NULL out of range. */
const char *
xlsx_sheet_name(const XlsxBook *b, int i)
{
	return i >= 0 && i < b->nsheets ? b->sheet_names[i] : NULL;
}

/*
 * Whether the workbook counts dates from 1904 (old Mac Excel) rather than 1900.
 */
bool
xlsx_date1904(const XlsxBook *b)
{
	return b->date1904;
}

