/*-------------------------------------------------------------------------
 *
 * src/connectors/soap.c
 *		SOAP sources: an envelope POSTed over an http connection, records
 *		picked from the response by XPath with namespaces (libxml2).
 *
 * The envelope's templates ({{param.region}}, {{last_run}}) are rendered
 * XML-escaped, so a value cannot change the envelope's structure.  The
 * request carries SOAPAction (SOAP 1.1, the default) or the action
 * parameter of application/soap+xml (soap_version: "1.2").  The response is
 * parsed by libxml2 through PostgreSQL's own error handling (pg_xml_init,
 * as the xml type's xpath() does), without network access or DTD loading;
 * records_xpath selects the record nodes and each column's XPath is
 * evaluated relative to a record (its string value; no match is NULL).  A
 * SOAP Fault (HTTP 500 with an XML body) fails at once with its
 * faultstring, redacted, instead of being retried like other 500s.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "utils/builtins.h"
#include "utils/xml.h"

#include "connectors/http.h"
#include "security/security.h"

typedef struct SoapCol
{
	char	   *name;
	char	   *xpath;
	xmlXPathCompExprPtr comp;
} SoapCol;

/* the text between <...faultstring> / <...Text> and its end tag, or NULL */
static char *
soap_fault_text(const char *body)
{
	const char *tags[] = {"faultstring>", "Text ", "Text>"};

	for (int i = 0; i < (int) lengthof(tags); i++)
	{
		const char *p = strstr(body, tags[i]);
		const char *e;

		if (p == NULL)
			continue;
		p = strchr(p, '>');
		if (p == NULL)
			continue;
		e = strchr(p + 1, '<');
		if (e)
			return pnstrdup(p + 1, e - p - 1);
	}
	return NULL;
}

/* parse the response and put one row per record node */
static void
soap_put(HttpConn *conn, MetaetlSink *sink, HttpReq *req, const char *records_xpath,
		 JsonbContainer *namespaces, SoapCol *cols, int ncols)
{
	PgXmlErrorContext *xmlerrcxt;
	xmlParserCtxtPtr volatile ctxt = NULL;
	xmlDocPtr volatile doc = NULL;
	xmlXPathContextPtr volatile xpathctx = NULL;
	xmlXPathCompExprPtr volatile reccomp = NULL;
	xmlXPathObjectPtr volatile recs = NULL;
	MemoryContext cxt = CurrentMemoryContext;
	char	  **fields = palloc0(sizeof(char *) * ncols);

	xmlerrcxt = pg_xml_init(PG_XML_STRICTNESS_ALL);
	PG_TRY();
	{
		char	  **k;
		JsonbValue **v;
		int			n = MetaetlJObjEntries(namespaces, &k, &v);

		ctxt = xmlNewParserCtxt();
		if (ctxt == NULL || pg_xml_error_occurred(xmlerrcxt))
			xml_ereport(xmlerrcxt, ERROR, ERRCODE_OUT_OF_MEMORY, "could not allocate parser context");
		doc = xmlCtxtReadMemory(ctxt, req->data, (int) req->len, NULL, NULL,
								XML_PARSE_NONET | XML_PARSE_NOCDATA);
		if (doc == NULL || pg_xml_error_occurred(xmlerrcxt))
			xml_ereport(xmlerrcxt, ERROR, ERRCODE_INVALID_XML_DOCUMENT,
						"the SOAP response is not a well-formed XML document");
		xpathctx = xmlXPathNewContext(doc);
		if (xpathctx == NULL || pg_xml_error_occurred(xmlerrcxt))
			xml_ereport(xmlerrcxt, ERROR, ERRCODE_OUT_OF_MEMORY, "could not allocate XPath context");
		for (int i = 0; i < n; i++)
		{
			char	   *uri = MetaetlJValueText(v[i]);

			if (uri == NULL || xmlXPathRegisterNs(xpathctx, (const xmlChar *) k[i], (const xmlChar *) uri) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s: could not register namespace \"%s\"", conn->what, k[i])));
		}
		reccomp = xmlXPathCtxtCompile(xpathctx, (const xmlChar *) records_xpath);
		if (reccomp == NULL || pg_xml_error_occurred(xmlerrcxt))
			xml_ereport(xmlerrcxt, ERROR, ERRCODE_INVALID_PARAMETER_VALUE,
						psprintf("%s: records_xpath is not a valid XPath expression", conn->what));
		for (int c = 0; c < ncols; c++)
		{
			cols[c].comp = xmlXPathCtxtCompile(xpathctx, (const xmlChar *) cols[c].xpath);
			if (cols[c].comp == NULL || pg_xml_error_occurred(xmlerrcxt))
				xml_ereport(xmlerrcxt, ERROR, ERRCODE_INVALID_PARAMETER_VALUE,
							psprintf("%s: the XPath of column \"%s\" is not valid", conn->what, cols[c].name));
		}
		recs = xmlXPathCompiledEval(reccomp, xpathctx);
		if (recs == NULL || pg_xml_error_occurred(xmlerrcxt))
			xml_ereport(xmlerrcxt, ERROR, ERRCODE_INVALID_PARAMETER_VALUE,
						psprintf("%s: records_xpath could not be evaluated", conn->what));
		if (recs->type == XPATH_NODESET && recs->nodesetval)
		{
			for (int r = 0; r < recs->nodesetval->nodeNr; r++)
			{
				xmlNodePtr	node = recs->nodesetval->nodeTab[r];

				MetaetlSinkPosition(sink, "record %d", r + 1);
				for (int c = 0; c < ncols; c++)
				{
					xmlXPathObjectPtr val;

					xmlXPathSetContextNode(node, xpathctx);
					val = xmlXPathCompiledEval(cols[c].comp, xpathctx);
					fields[c] = NULL;
					if (val && !(val->type == XPATH_NODESET &&
								 (val->nodesetval == NULL || val->nodesetval->nodeNr == 0)))
					{
						xmlChar    *s = xmlXPathCastToString(val);

						fields[c] = pstrdup((char *) s);
						xmlFree(s);
					}
					if (val)
						xmlXPathFreeObject(val);
				}
				MetaetlSinkPutText(sink, fields);
				for (int c = 0; c < ncols; c++)
					if (fields[c])
						pfree(fields[c]);
			}
		}
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		if (recs)
			xmlXPathFreeObject(recs);
		for (int c = 0; c < ncols; c++)
			if (cols[c].comp)
				xmlXPathFreeCompExpr(cols[c].comp);
		if (reccomp)
			xmlXPathFreeCompExpr(reccomp);
		if (xpathctx)
			xmlXPathFreeContext(xpathctx);
		if (doc)
			xmlFreeDoc(doc);
		if (ctxt)
			xmlFreeParserCtxt(ctxt);
		pg_xml_done(xmlerrcxt, true);
		/* libxml2's words may quote the document: mask secrets in them */
		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		FlushErrorState();
		ed->message = MetaetlRedact(ed->message, conn->secret);
		if (ed->detail)
			ed->detail = MetaetlRedact(ed->detail, conn->secret);
		ReThrowError(ed);
	}
	PG_END_TRY();
	xmlXPathFreeObject(recs);
	for (int c = 0; c < ncols; c++)
		xmlXPathFreeCompExpr(cols[c].comp);
	xmlXPathFreeCompExpr(reccomp);
	xmlXPathFreeContext(xpathctx);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	pg_xml_done(xmlerrcxt, false);
}

static char *
soap_extract(MetaetlPlan *plan, MetaetlNode *src)
{
	char	   *what = psprintf("source \"%s\"", src->id);
	HttpConn   *conn = HttpConnLoad(src->conf, true, src->id, what);
	JsonbContainer *conf = src->conf;
	char	   *envelope = MetaetlJStr(conf, "envelope");
	char	   *action = MetaetlJStr(conf, "action");
	char	   *records_xpath = MetaetlJStr(conf, "records_xpath");
	char	   *version = MetaetlJStr(conf, "soap_version");
	char	   *path = MetaetlJStr(conf, "path");
	JsonbContainer *colmap = MetaetlJObj(conf, "columns");
	JsonbContainer *types = MetaetlJObj(conf, "types");
	char	  **k;
	JsonbValue **v;
	int			ncols = MetaetlJObjEntries(colmap, &k, &v);
	SoapCol    *cols = palloc0(sizeof(SoapCol) * Max(ncols, 1));
	List	   *sinkcols = NIL;
	MetaetlSink *sink;
	HttpClient *cli;
	HttpReq    *req;
	bool		v12 = version && strcmp(version, "1.2") == 0;

	if (envelope == NULL || records_xpath == NULL || ncols == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: a soap source needs envelope, records_xpath and columns", what)));
	for (int i = 0; i < ncols; i++)
	{
		MetaetlColumn *c = palloc0(sizeof(MetaetlColumn));
		char	   *t = types ? MetaetlJStr(types, k[i]) : NULL;

		cols[i].name = k[i];
		cols[i].xpath = MetaetlJValueText(v[i]);
		c->name = k[i];
		c->type = t ? MetaetlTypeName(src, t) : "text";
		sinkcols = lappend(sinkcols, c);
	}
	sink = MetaetlSinkBegin(plan, src, sinkcols);
	if (plan->describe_only)
	{
		MetaetlSinkEnd(sink);
		return psprintf("SELECT * FROM %s", src->temp);
	}

	req = palloc0(sizeof(HttpReq));
	req->method = "POST";
	req->url = HttpBuildUrl(conn, path ? MetaetlRenderTemplateAs(path, plan->render_ctx, METAETL_TPL_URL) : "", NIL);
	req->body = MetaetlRenderTemplateAs(envelope, plan->render_ctx, METAETL_TPL_XML);
	req->body_len = strlen(req->body);
	req->label = action ? psprintf("SOAP action %s", action) : "SOAP call";
	req->final_500 = true;
	if (action && strpbrk(action, "\r\n\""))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: action may not hold quotes or line breaks", what)));
	if (v12)
		req->headers = list_make1(psprintf("Content-Type: application/soap+xml; charset=utf-8%s%s%s",
										   action ? "; action=\"" : "", action ? action : "",
										   action ? "\"" : ""));
	else
		req->headers = list_make2("Content-Type: text/xml; charset=utf-8",
								  psprintf("SOAPAction: \"%s\"", action ? action : ""));
	req->headers = HttpHeaderList(MetaetlJObj(conf, "headers"), plan->render_ctx, req->headers);

	cli = HttpClientOpen(conn);
	HttpSubmit(cli, req);
	HttpWait(cli, req);
	if (req->error && req->status == 500 && req->detail)
	{
		char	   *fault = soap_fault_text(req->detail);

		if (fault)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: SOAP fault from %s: %s", what, HttpUrlDisplay(req->url), fault),
					 errdetail("The server answered: %s", req->detail)));
	}
	if (req->error)
		HttpRaise(cli, req);
	soap_put(conn, sink, req, records_xpath, MetaetlJObj(conf, "namespaces"), cols, ncols);
	HttpClientClose(cli);
	MetaetlSinkEnd(sink);
	return psprintf("SELECT * FROM %s", src->temp);
}

static char *
soap_describe(MetaetlPlan *plan, MetaetlNode *src)
{
	char	   *action = MetaetlJStr(src->conf, "action");

	return psprintf("soap %s via connection %s", action ? action : "(no action)",
					MetaetlJStr(src->conf, "connection") ? MetaetlJStr(src->conf, "connection") : "?");
}

static void
soap_check(CfgCheck *chk, const char *type, bool is_source)
{
	const CfgNode *cols = MetaetlCfgKey(chk, "columns");
	const CfgNode *types = MetaetlCfgKey(chk, "types");

	if (MetaetlCfgKey(chk, "connection") == NULL)
		MetaetlCfgProblem(chk, true, NULL, "a soap source needs a connection (etl.add_connection(name, 'http', ...))");
	if (cols && cols->kind != CFG_MAP)
		MetaetlCfgProblem(chk, true, "columns", "columns of a soap source map each column to an XPath");
	else if (cols)
		for (int i = 0; i < cols->n; i++)
			if (cols->pairs[i].value->kind != CFG_STRING)
				MetaetlCfgProblem(chk, true, "columns", "column \"%s\" needs an XPath (a string)",
								  cols->pairs[i].key->str);
	if (types && types->kind == CFG_MAP && cols && cols->kind == CFG_MAP)
		for (int i = 0; i < types->n; i++)
			if (CfgMapGet(cols, types->pairs[i].key->str) == NULL)
				MetaetlCfgProblem(chk, true, "types", "types names column \"%s\", which columns does not have",
								  types->pairs[i].key->str);
}

static const char *const soap_types[] = {"soap", NULL};
static const char *const soap_versions[] = {"1.1", "1.2", NULL};

/* envelope, records_xpath and columns (name: XPath) are needed; types optional */
static const MetaetlConnKey soap_source_keys[] = {
	{"envelope", MCK_STRING, MCK_REQUIRED | MCK_TEMPLATE},	/* rendered XML-escaped */
	{"records_xpath", MCK_STRING, MCK_REQUIRED},
	{"columns", MCK_OBJECT, MCK_REQUIRED},
	{"types", MCK_OBJECT},
	{"namespaces", MCK_OBJECT},
	{"action", MCK_STRING},
	{"path", MCK_STRING},
	{"soap_version", MCK_ENUM, 0, soap_versions},
	{"headers", MCK_OBJECT},
	{"auth", MCK_OBJECT},
	MCK_END
};

const MetaetlConnector MetaetlSoapConnector = {
	.name = "soap",
	.types = soap_types,
	.source_keys = soap_source_keys,
	.check = soap_check,
	.describe = soap_describe,
	.extract = soap_extract,
};
