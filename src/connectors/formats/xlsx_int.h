/*-------------------------------------------------------------------------
 *
 * src/connectors/formats/xlsx_int.h
 *		Internals shared by xlsx_core.c (archive, workbook, styles, shared
 *		strings) and xlsx_sheet.c (streaming a sheet, dates).  Pure C.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_XLSX_INT_H
#define METAETL_XLSX_INT_H

#include <libxml/xmlreader.h>
#include <zip.h>

#include "connectors/formats/xlsx_core.h"

#define XLSX_WINDOW		(1024 * 1024)	/* bytes read from the file at a time */

typedef struct ZSrc
{
	XlsxIO		io;
	uint64_t	pos;
	zip_error_t error;
	unsigned char *win;
	uint64_t	win_off;
	size_t		win_len;
	bool		io_failed;
} ZSrc;

typedef struct NumFmt
{
	uint32_t	id;
	int			parts;
} NumFmt;

struct XlsxBook
{
	XlsxLimits	lim;
	ZSrc		zs;
	zip_t	   *za;
	char	   *workbook;		/* part names */
	char	   *styles;
	char	   *strings;
	int			nsheets;
	char	  **sheet_names;
	char	  **sheet_rids;
	char	  **sheet_parts;
	bool		date1904;
	/* shared strings: text and offsets into it */
	bool		ss_loaded;
	char	   *ss_buf;
	size_t		ss_len;
	size_t		ss_cap;
	size_t	   *ss_off;
	size_t		nss;
	size_t		ss_ncap;
	/* cell styles: the date parts of each cellXfs entry */
	unsigned char *xf_parts;
	size_t		nxf;
};

/* one XML part being read */
typedef struct XIn
{
	XlsxBook   *b;
	zip_file_t *zf;
	const char *part;
	uint64_t	read;
	uint64_t	cap;
	bool		limit_hit;
	bool		zip_failed;
	char		xml_error[256];
	xmlTextReaderPtr r;
} XIn;

/*
 * libxml2 reports some errors (input encoding conversion) through its
 * process-wide generic handler, which prints to stderr (the server log).
 * Every public entry point silences it while it runs and restores the
 * caller's handler on return (the core never longjmps).
 */
typedef struct XlsxQuiet
{
	xmlGenericErrorFunc func;
	void	   *ctx;
} XlsxQuiet;

/* in xlsx_core.c */
extern void xlsx_quiet(XlsxQuiet *q);
extern void xlsx_unquiet(XlsxQuiet *q);
extern void xerr(XlsxError *err, XlsxErrKind kind, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern void *xmalloc(size_t n, XlsxError *err);
extern void *xrealloc(void *old, size_t n, XlsxError *err);
extern char *xstrdup(const char *s, XlsxError *err);
extern bool xin_begin(XlsxBook *b, XIn *x, const char *name, uint64_t cap, bool missing_ok,
					  XlsxError *err);
extern void xin_end(XIn *x);
extern int	xin_next(XIn *x, XlsxError *err);
extern bool xin_is(XIn *x, int type, const char *local);
extern const char *xin_attr(XIn *x, const char *local);
extern bool xin_text_node(XIn *x);

#define xin_start(x, name)	xin_is(x, XML_READER_TYPE_ELEMENT, name)
#define xin_endtag(x, name)	xin_is(x, XML_READER_TYPE_END_ELEMENT, name)

/* in xlsx_sheet.c */
extern bool xlsx_strings_read(XlsxBook *b, XlsxError *err);

#endif							/* METAETL_XLSX_INT_H */
