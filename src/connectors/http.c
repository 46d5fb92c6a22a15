/*-------------------------------------------------------------------------
 *
 * src/connectors/http.c
 *		REST sources (type http, alias rest) and HTTP targets: vocabulary,
 *		validation, and the source's paging through an API.
 *
 * A source requests base_url + path with its params (templates rendered
 * and URL-encoded), then follows the pagination: page or offset numbers,
 * a cursor from the body, a Link rel="next" header, or a next URL from the
 * body.  Page and offset pagination with a known page count (total_path,
 * total_pages_path or max_pages) fetch pages concurrently (max_parallel at
 * a time, a window of 2 x max_parallel requested ahead) and still put the
 * rows in page order; the others fetch one page after the other, since
 * each page names the next.
 *
 * format json: each page is one jsonb; records (a jsonpath) selects the
 * record objects (http_json.c).  format ndjson / csv: each page's body is
 * streamed through the registered format (format.h) as it arrives, never
 * held whole.  Rows go to the source's staging table through a MetaetlSink,
 * so a failed page fails the extract before any target is written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/jsonpath.h"
#include "utils/memutils.h"

#include "connectors/format.h"
#include "connectors/http.h"

#define HTTP_MAX_PAGES_DEFAULT 100000

typedef enum PageKind
{
	PG_NONE,
	PG_PAGE,
	PG_OFFSET,
	PG_CURSOR,
	PG_LINK,
	PG_NEXT_URL
} PageKind;

/* one source's request and paging settings */
typedef struct HttpSource
{
	MetaetlPlan *plan;
	MetaetlNode *src;
	HttpConn   *conn;
	HttpClient *cli;
	const char *method;
	char	   *path;			/* rendered, URL-encoded templates */
	List	   *query;			/* "k=v" encoded, from params */
	List	   *headers;
	char	   *body;
	const char *format;
	const MetaetlFormat *fmt;	/* ndjson / csv */
	char	   *records;
	List	   *declared;		/* MetaetlColumn * */

	PageKind	kind;
	char	   *param;			/* page / offset / cursor parameter */
	char	   *size_param;		/* page: page size parameter; offset: limit parameter */
	int64		size;			/* page size / limit, 0 = not given */
	int64		start;
	char	   *cursor_path;
	char	   *next_url_path;
	char	   *total_path;		/* total records */
	char	   *total_pages_path;
	int64		max_pages;
	bool		max_pages_given;

	HttpJsonPlan *fast;			/* format json with plain key paths, or NULL */
	MemoryContext pagecxt;		/* one page's parse (format json) */

	/* state */
	MetaetlSink *sink;
	List	   *cols;
	int64		rows;
	int			pages;
} HttpSource;

/* ------------------------------------------------------------ requests */

static HttpReq *
src_request(HttpSource *s, const char *url, int page_no, List *extra_query)
{
	HttpReq    *r = palloc0(sizeof(HttpReq));
	List	   *q = list_concat(list_copy(s->query), extra_query);

	r->method = s->method;
	r->url = url ? (char *) url : HttpBuildUrl(s->conn, s->path, q);
	r->headers = s->headers;
	r->body = s->body;
	r->body_len = s->body ? strlen(s->body) : 0;
	r->stream = s->fmt != NULL;
	r->label = psprintf("page %d", page_no);
	return r;
}

/* the request for page number page_no (1-based) of page / offset paging */
static HttpReq *
src_numbered(HttpSource *s, int page_no)
{
	List	   *q = NIL;

	if (s->kind == PG_PAGE)
	{
		q = lappend(q, psprintf("%s=" INT64_FORMAT, HttpUrlEncode(s->param), s->start + page_no - 1));
		if (s->size_param && s->size > 0)
			q = lappend(q, psprintf("%s=" INT64_FORMAT, HttpUrlEncode(s->size_param), s->size));
	}
	else
	{
		q = lappend(q, psprintf("%s=" INT64_FORMAT, HttpUrlEncode(s->param),
								s->start + (int64) (page_no - 1) * s->size));
		q = lappend(q, psprintf("%s=" INT64_FORMAT, HttpUrlEncode(s->size_param), s->size));
	}
	return src_request(s, NULL, page_no, q);
}

/* ------------------------------------------------------------ pages */

/* a streamed format calls this once per page with the page's columns */
static MetaetlSink *
src_begin(MetaetlFormatRead *rd, List *cols)
{
	HttpSource *s = rd->begin_arg;

	if (s->sink == NULL)
	{
		s->sink = MetaetlSinkBegin(s->plan, s->src, cols);
		s->cols = cols;
		return s->sink;
	}
	if (list_length(cols) != list_length(s->cols))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("source \"%s\": page %d has %d columns, the first page had %d", s->src->id,
						rd->object_no + 1, list_length(cols), list_length(s->cols)),
				 errhint("Every page must have the same columns; declare columns: to fix them.")));
	return s->sink;
}

typedef struct PageInfo
{
	int64		records;
	char	   *next;			/* cursor value or next URL, or NULL */
	int64		total_pages;	/* -1 = unknown */
} PageInfo;

/* put one finished page's rows into the sink; what it says about the next */
static void
src_page(HttpSource *s, HttpReq *r, int page_no, PageInfo *pi)
{
	HttpConn   *conn = s->conn;

	pi->records = 0;
	pi->next = NULL;
	pi->total_pages = -1;
	if (s->fmt)
	{
		MetaetlFormatRead rd;
		MetaetlInStream *in = HttpStreamOpen(s->cli, r);

		memset(&rd, 0, sizeof(rd));
		rd.plan = s->plan;
		rd.src = s->src;
		rd.in = in;
		rd.declared = s->declared;
		rd.object_no = page_no - 1;
		rd.begin = src_begin;
		rd.begin_arg = s;
		if (s->sink)
			MetaetlSinkPosition(s->sink, "page %d", page_no);
		pi->records = s->fmt->read(&rd);
		MetaetlStreamClose(in);
	}
	else
	{
		MemoryContext old;
		char	   *scalars[2] = {NULL, NULL};

		HttpWait(s->cli, r);
		if (r->error)
			HttpRaise(s->cli, r);
		if (s->sink == NULL && s->declared)
		{
			s->cols = s->declared;
			s->sink = MetaetlSinkBegin(s->plan, s->src, s->cols);
		}
		/* a page's parse is garbage once its rows are in the sink */
		old = MemoryContextSwitchTo(s->pagecxt);
		/* valid UTF-8, in the database's encoding, for either reader */
		HttpBodyToServer(conn, r);
		if (s->fast && s->sink &&
			HttpJsonPageFast(s->fast, s->sink, r, &pi->records, scalars))
		{
			int			i = 0;

			if (s->kind == PG_CURSOR || s->kind == PG_NEXT_URL)
				pi->next = scalars[i++];
			if (s->total_pages_path)
			{
				char	   *t = scalars[i++];

				pi->total_pages = t ? (int64) strtod(t, NULL) : -1;
			}
			else if (s->total_path && s->size > 0)
			{
				char	   *t = scalars[i++];

				if (t)
					pi->total_pages = (int64) ceil(strtod(t, NULL) / (double) s->size);
			}
		}
		else
		{
			Jsonb	   *doc = HttpParseJson(conn, r);
			Jsonb	   *recs = HttpJsonPath(conn, doc, s->records, "records", r->label);

			if (s->sink == NULL)
			{
				MemoryContextSwitchTo(old);
				s->cols = HttpInferColumns(s->src, recs);
				s->sink = MetaetlSinkBegin(s->plan, s->src, s->cols);
				MemoryContextSwitchTo(s->pagecxt);
			}
			pi->records = HttpPutRecords(s->sink, s->cols, recs, r->label);
			if (s->kind == PG_CURSOR)
				pi->next = HttpJsonPathText(conn, doc, s->cursor_path, "cursor_path", r->label);
			else if (s->kind == PG_NEXT_URL)
				pi->next = HttpJsonPathText(conn, doc, s->next_url_path, "next_url_path", r->label);
			if (s->total_pages_path)
			{
				char	   *t = HttpJsonPathText(conn, doc, s->total_pages_path, "total_pages_path", r->label);

				pi->total_pages = t ? (int64) strtod(t, NULL) : -1;
			}
			else if (s->total_path && s->size > 0)
			{
				char	   *t = HttpJsonPathText(conn, doc, s->total_path, "total_path", r->label);

				if (t)
					pi->total_pages = (int64) ceil(strtod(t, NULL) / (double) s->size);
			}
		}
		MemoryContextSwitchTo(old);
		if (pi->next)
			pi->next = pstrdup(pi->next);
		MemoryContextReset(s->pagecxt);
		pfree(r->data);
		r->data = NULL;
	}
	if (s->kind == PG_LINK)
		pi->next = r->link_next;
	s->rows += pi->records;
	s->pages++;
}

/* pages 2..last of numbered paging, max_parallel at a time, in page order */
static void
src_parallel(HttpSource *s, int64 last)
{
	int			window = 2 * s->conn->max_parallel;
	HttpReq   **reqs;
	int64		next_submit = 2;

	if (last < 2)
		return;
	reqs = palloc0(sizeof(HttpReq *) * (last + 1));
	for (int64 p = 2; p <= last; p++)
	{
		PageInfo	pi;

		while (next_submit <= last && next_submit < p + window)
		{
			reqs[next_submit] = src_numbered(s, (int) next_submit);
			HttpSubmit(s->cli, reqs[next_submit]);
			next_submit++;
		}
		src_page(s, reqs[p], (int) p, &pi);
		reqs[p] = NULL;
	}
}

static void
src_fetch(HttpSource *s)
{
	HttpReq    *r;
	PageInfo	pi;
	int			page_no = 1;
	char	   *prev = NULL;

	r = s->kind == PG_PAGE || s->kind == PG_OFFSET ? src_numbered(s, 1) : src_request(s, NULL, 1, NIL);
	HttpSubmit(s->cli, r);
	src_page(s, r, 1, &pi);
	if (s->plan->describe_only || s->kind == PG_NONE)
		return;

	if (s->kind == PG_PAGE || s->kind == PG_OFFSET)
	{
		int64		last = pi.total_pages >= 0 ? pi.total_pages : -1;

		if (last < 0 && s->max_pages_given)
			last = s->max_pages;
		if (last >= 0)
		{
			/* a known page count: fetch the rest concurrently */
			src_parallel(s, Min(last, s->max_pages));
			return;
		}
		/* unknown: one after the other until an empty (or short) page */
		while (pi.records > 0 && !(s->size > 0 && pi.records < s->size))
		{
			if (++page_no > s->max_pages)
				break;
			r = src_numbered(s, page_no);
			HttpSubmit(s->cli, r);
			src_page(s, r, page_no, &pi);
		}
		return;
	}

	/* cursor, link header, next URL: each page names the next */
	while (pi.next && pi.next[0])
	{
		List	   *q = NIL;
		char	   *url = NULL;

		if (s->kind == PG_CURSOR && (pi.records == 0 || (prev && strcmp(prev, pi.next) == 0)))
			break;				/* an empty page, or the same cursor again: the end */
		if (++page_no > s->max_pages)
		{
			if (s->max_pages_given)
				break;
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("source \"%s\": more than %lld pages", s->src->id, (long long) s->max_pages),
					 errhint("Set pagination.max_pages to read more (or fewer).")));
		}
		prev = pi.next;
		if (s->kind == PG_CURSOR)
			q = list_make1(psprintf("%s=%s", HttpUrlEncode(s->param), HttpUrlEncode(pi.next)));
		else
			url = HttpResolveUrl(r->final_url ? r->final_url : r->url, pi.next);	/* relative to its page */
		r = src_request(s, url, page_no, q);
		HttpSubmit(s->cli, r);
		src_page(s, r, page_no, &pi);
	}
}

/* ------------------------------------------------------------ config */

static char *jsonpath_problem(const char *s);

/*
 * The one-pass reader (http_json.c) for format json when records and the
 * pagination paths src_page reads are plain key chains; invalid paths are
 * left to the jsonb path, whose error names the config key.
 */
static void
src_fast_plan(HttpSource *s)
{
	List	   *paths = NIL;
	ListCell   *lc;

	if (s->fmt)
		return;
	if (s->kind == PG_CURSOR)
		paths = lappend(paths, s->cursor_path);
	else if (s->kind == PG_NEXT_URL)
		paths = lappend(paths, s->next_url_path);
	if (s->total_pages_path)
		paths = lappend(paths, s->total_pages_path);
	else if (s->total_path && s->size > 0)
		paths = lappend(paths, s->total_path);
	if (jsonpath_problem(s->records))
		return;
	foreach(lc, paths)
		if (jsonpath_problem(lfirst(lc)))
			return;
	s->fast = HttpJsonPlanCompile(s->records, paths);
}

static PageKind
page_kind(const char *t, const char *id)
{
	if (t == NULL)
		return PG_NONE;
	if (strcmp(t, "page") == 0)
		return PG_PAGE;
	if (strcmp(t, "offset") == 0)
		return PG_OFFSET;
	if (strcmp(t, "cursor") == 0)
		return PG_CURSOR;
	if (strcmp(t, "link_header") == 0)
		return PG_LINK;
	if (strcmp(t, "next_url") == 0)
		return PG_NEXT_URL;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("source \"%s\": unknown pagination type \"%s\"", id, t),
			 errhint("Types: page, offset, cursor, link_header, next_url.")));
	return PG_NONE;
}

static int64
page_int(JsonbContainer *p, const char *key, int64 dflt)
{
	char	   *v = MetaetlJStr(p, key);

	return v ? strtoll(v, NULL, 10) : dflt;
}

static void
src_config(HttpSource *s)
{
	MetaetlNode *src = s->src;
	JsonbContainer *conf = src->conf;
	Jsonb	   *ctx = s->plan->render_ctx;
	JsonbContainer *pag = MetaetlJObj(conf, "pagination");
	JsonbContainer *params = MetaetlJObj(conf, "params");
	JsonbValue *body = MetaetlJGet(conf, "body");
	JsonbContainer *decl = MetaetlJObj(conf, "columns");
	char	  **k;
	JsonbValue **v;
	int			n;
	char	   *path = MetaetlJStr(conf, "path");

	s->method = MetaetlJStr(conf, "method") ? MetaetlJStr(conf, "method") : "GET";
	s->path = path ? MetaetlRenderTemplateAs(path, ctx, METAETL_TPL_URL) : "";
	n = MetaetlJObjEntries(params, &k, &v);
	for (int i = 0; i < n; i++)
	{
		char	   *val = MetaetlJValueText(v[i]);

		val = val ? MetaetlRenderTemplateAs(val, ctx, METAETL_TPL_RAW) : "";
		s->query = lappend(s->query, psprintf("%s=%s", HttpUrlEncode(k[i]), HttpUrlEncode(val)));
	}
	s->headers = HttpHeaderList(MetaetlJObj(conf, "headers"), ctx, NIL);
	if (body)
	{
		if (body->type == jbvBinary)
		{
			s->body = MetaetlRenderTemplateAs(JsonbToCString(NULL, body->val.binary.data, body->val.binary.len),
											  ctx, METAETL_TPL_JSON);
			s->headers = lappend(s->headers, "Content-Type: application/json");
		}
		else
			s->body = MetaetlRenderTemplateAs(MetaetlJValueText(body), ctx, METAETL_TPL_RAW);
	}
	s->format = MetaetlJStr(conf, "format") ? MetaetlJStr(conf, "format") : "json";
	if (strcmp(s->format, "json") != 0)
		s->fmt = MetaetlFindFormat(s->format, src->id);
	s->records = MetaetlJStr(conf, "records") ? MetaetlJStr(conf, "records") : "$[*]";
	if (strcmp(s->format, "json") == 0)
		s->headers = lappend(s->headers, "Accept: application/json");

	if (decl && JsonContainerIsObject(decl))
	{
		n = MetaetlJObjEntries(decl, &k, &v);
		for (int i = 0; i < n; i++)
		{
			MetaetlColumn *c = palloc0(sizeof(MetaetlColumn));

			c->name = k[i];
			c->type = MetaetlTypeName(src, MetaetlJValueText(v[i]));
			s->declared = lappend(s->declared, c);
		}
	}
	else if (decl)
	{
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
			s->declared = lappend(s->declared, c);
		}
	}

	s->kind = page_kind(pag ? MetaetlJStr(pag, "type") : NULL, src->id);
	s->max_pages_given = pag && MetaetlJGet(pag, "max_pages") != NULL;
	s->max_pages = pag ? page_int(pag, "max_pages", HTTP_MAX_PAGES_DEFAULT) : HTTP_MAX_PAGES_DEFAULT;
	if (pag == NULL)
	{
		src_fast_plan(s);
		return;
	}
	s->param = MetaetlJStr(pag, "param");
	s->total_path = MetaetlJStr(pag, "total_path");
	s->total_pages_path = MetaetlJStr(pag, "total_pages_path");
	switch (s->kind)
	{
		case PG_PAGE:
			if (s->param == NULL)
				s->param = "page";
			s->size_param = MetaetlJStr(pag, "size_param");
			s->size = page_int(pag, "size", 0);
			s->start = page_int(pag, "start", 1);
			break;
		case PG_OFFSET:
			if (s->param == NULL)
				s->param = "offset";
			s->size_param = MetaetlJStr(pag, "limit_param") ? MetaetlJStr(pag, "limit_param") : "limit";
			s->size = page_int(pag, "limit", 0);
			s->start = page_int(pag, "start", 0);
			if (s->size <= 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("source \"%s\": offset pagination needs limit (records per page)", src->id)));
			break;
		case PG_CURSOR:
			if (s->param == NULL)
				s->param = "cursor";
			s->cursor_path = MetaetlJStr(pag, "cursor_path");
			if (s->cursor_path == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("source \"%s\": cursor pagination needs cursor_path", src->id)));
			break;
		case PG_NEXT_URL:
			s->next_url_path = MetaetlJStr(pag, "next_url_path");
			if (s->next_url_path == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("source \"%s\": next_url pagination needs next_url_path", src->id)));
			break;
		default:
			break;
	}
	src_fast_plan(s);
}

static char *
http_extract(MetaetlPlan *plan, MetaetlNode *src)
{
	HttpSource	s;

	memset(&s, 0, sizeof(s));
	s.plan = plan;
	s.src = src;
	s.conn = HttpConnLoad(src->conf, true, src->id, psprintf("source \"%s\"", src->id));
	src_config(&s);
	s.pagecxt = AllocSetContextCreate(CurrentMemoryContext, "metaetl http page",
									  ALLOCSET_DEFAULT_SIZES);
	if (plan->describe_only && s.declared)
		s.sink = MetaetlSinkBegin(plan, src, s.declared);	/* no request needed */
	else
	{
		s.cli = HttpClientOpen(s.conn);
		src_fetch(&s);
		HttpClientClose(s.cli);
	}
	if (s.sink == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\": the first page has no columns", src->id),
				 errhint("Declare columns: {name: type}.")));
	MetaetlSinkEnd(s.sink);
	MemoryContextDelete(s.pagecxt);
	return psprintf("SELECT * FROM %s", src->temp);
}

static char *
http_describe(MetaetlPlan *plan, MetaetlNode *src)
{
	char	   *method = MetaetlJStr(src->conf, "method");
	char	   *path = MetaetlJStr(src->conf, "path");
	JsonbContainer *pag = MetaetlJObj(src->conf, "pagination");
	char	   *ptype = pag ? MetaetlJStr(pag, "type") : NULL;

	return psprintf("http %s %s via connection %s%s%s", method ? method : "GET", path ? path : "/",
					MetaetlJStr(src->conf, "connection") ? MetaetlJStr(src->conf, "connection") : "?",
					ptype ? ", pagination " : "", ptype ? ptype : "");
}

/* ------------------------------------------------------------ validation */

static const char *const page_keys[] = {"type", "param", "size_param", "size", "start", "limit",
"limit_param", "cursor_path", "next_url_path", "total_path", "total_pages_path", "max_pages", NULL};

/* is s a jsonpath PostgreSQL can parse?  NULL if so, else the parser's message */
static char *
jsonpath_problem(const char *s)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *volatile msg = NULL;

	PG_TRY();
	{
		(void) DirectFunctionCall1(jsonpath_in, CStringGetDatum(s));
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		FlushErrorState();
		msg = ed->message;
	}
	PG_END_TRY();
	return msg;
}

static void
check_path(CfgCheck *chk, const char *key, const char *path, const char *where)
{
	char	   *p = jsonpath_problem(path);

	if (p)
		MetaetlCfgProblem(chk, true, key, "%s%s is not a valid JSON path: %s", where ? where : "",
						  key, p);
}

static void
http_check(CfgCheck *chk, const char *type, bool is_source)
{
	const char *format = MetaetlCfgKeyString(chk, "format");
	const char *records = MetaetlCfgKeyString(chk, "records");
	const CfgNode *pag = MetaetlCfgKey(chk, "pagination");
	bool		json = format == NULL || strcmp(format, "json") == 0;

	if (MetaetlCfgKey(chk, "connection") == NULL)
		MetaetlCfgProblem(chk, true, NULL, "an http %s needs a connection (etl.add_connection(name, 'http', ...))",
						  is_source ? "source" : "target");
	if (!is_source)
		return;
	/* options: are the format's (json when none is given) */
	if (MetaetlLookupFormat(format ? format : "json"))
		MetaetlFormatCheckOptions(chk, MetaetlLookupFormat(format ? format : "json"));
	if (records)
	{
		if (!json)
			MetaetlCfgProblem(chk, true, "records", "records applies to format json only");
		else
			check_path(chk, "records", records, NULL);
	}
	if (pag && pag->kind == CFG_MAP)
	{
		const CfgNode *t = CfgMapGet(pag, "type");
		const char *pt = t && t->kind == CFG_STRING ? t->str : NULL;

		for (int i = 0; i < pag->n; i++)
		{
			const char *k = pag->pairs[i].key->str;
			const CfgNode *v = pag->pairs[i].value;
			bool		known = false;

			for (const char *const *pk = page_keys; *pk; pk++)
				known |= strcmp(*pk, k) == 0;
			if (!known)
				MetaetlCfgProblem(chk, true, "pagination", "unknown key \"%s\" in pagination", k);
			else if (strstr(k, "_path") && v->kind == CFG_STRING)
				check_path(chk, "pagination", v->str, psprintf("pagination.%s: ", k));
		}
		if (pt == NULL)
			MetaetlCfgProblem(chk, true, "pagination",
							  "pagination needs type: page, offset, cursor, link_header or next_url");
		else if (strcmp(pt, "page") && strcmp(pt, "offset") && strcmp(pt, "cursor") &&
				 strcmp(pt, "link_header") && strcmp(pt, "next_url"))
			MetaetlCfgProblem(chk, true, "pagination",
							  "unknown pagination type \"%s\" (valid: page, offset, cursor, link_header, next_url)", pt);
		else if (strcmp(pt, "cursor") == 0 && CfgMapGet(pag, "cursor_path") == NULL)
			MetaetlCfgProblem(chk, true, "pagination", "cursor pagination needs cursor_path");
		else if (strcmp(pt, "next_url") == 0 && CfgMapGet(pag, "next_url_path") == NULL)
			MetaetlCfgProblem(chk, true, "pagination", "next_url pagination needs next_url_path");
		else if (strcmp(pt, "offset") == 0 && CfgMapGet(pag, "limit") == NULL)
			MetaetlCfgProblem(chk, true, "pagination", "offset pagination needs limit (records per page)");
		if (pt && !json && (strcmp(pt, "cursor") == 0 || strcmp(pt, "next_url") == 0))
			MetaetlCfgProblem(chk, true, "pagination",
							  "%s pagination reads the body, so it needs format json", pt);
		if (!json && (CfgMapGet(pag, "total_path") || CfgMapGet(pag, "total_pages_path")))
			MetaetlCfgProblem(chk, true, "pagination", "total_path and total_pages_path need format json");
	}
}

/* ------------------------------------------------------------ vocabulary */

static const char *const http_types[] = {"http", "rest", NULL};
static const char *const http_connection_types[] = {"http", NULL};
static const char *const http_methods[] = {"GET", "POST", NULL};
static const char *const http_target_methods[] = {"POST", "PUT", "PATCH", NULL};
static const char *const http_formats[] = {"json", "ndjson", "csv", NULL};
static const char *const http_target_formats[] = {"json", "ndjson", NULL};
static const char *const http_modes[] = {"replace", "append", NULL};

/*
 * Sources: path, method, params, headers, body (POST), format, records
 * (format json), columns, pagination, auth (replaces the connection's),
 * options (the format's: csv delimiter, ...).
 */
static const MetaetlConnKey http_source_keys[] = {
	{"path", MCK_STRING},
	{"method", MCK_ENUM, 0, http_methods},
	{"params", MCK_OBJECT},
	{"headers", MCK_OBJECT},
	{"body", MCK_ANY},
	{"format", MCK_ENUM, 0, http_formats},
	{"records", MCK_STRING},
	{"columns", MCK_COLUMNS},
	{"pagination", MCK_OBJECT},
	{"auth", MCK_OBJECT},
	{"options", MCK_OBJECT},
	MCK_END
};

/* Targets: each batch of batch_size rows is one request with an Idempotency-Key. */
static const MetaetlConnKey http_target_keys[] = {
	{"path", MCK_STRING, MCK_REQUIRED},
	{"method", MCK_ENUM, 0, http_target_methods},
	{"batch_size", MCK_INTEGER},
	{"format", MCK_ENUM, 0, http_target_formats},
	{"headers", MCK_OBJECT},
	{"auth", MCK_OBJECT},
	{"idempotency_header", MCK_STRING},
	MCK_END
};

/*
 * Connections: where (base_url, allowed_hosts, allow_private), how
 * (headers, auth, tls_verify, ca_file) and how much (rate_limit in
 * requests per second, max_parallel, timeout_s per request, max_bytes per
 * response, retry per request).
 */
static const MetaetlConnKey http_connection_keys[] = {
	{"base_url", MCK_STRING},
	{"allowed_hosts", MCK_STRLIST},
	{"allow_private", MCK_BOOL},
	{"headers", MCK_OBJECT},
	{"auth", MCK_OBJECT},
	{"rate_limit", MCK_NUMBER},
	{"max_parallel", MCK_INTEGER},
	{"timeout_s", MCK_NUMBER},
	{"max_bytes", MCK_INTEGER},
	{"ca_file", MCK_STRING},
	{"tls_verify", MCK_BOOL},
	{"retry", MCK_OBJECT},
	MCK_END
};

const MetaetlConnector MetaetlHttpConnector = {
	.name = "http",
	.types = http_types,
	.connection_types = http_connection_types,
	.source_keys = http_source_keys,
	.target_keys = http_target_keys,
	.connection_keys = http_connection_keys,
	.target_modes = http_modes,
	.check = http_check,
	.describe = http_describe,
	.extract = http_extract,
	.load = HttpLoad,
};
