/*-------------------------------------------------------------------------
 *
 * src/connectors/objstore.c
 *		Object-store sources and targets: s3, azure_blob and gcs.
 *
 * A source reads one object (key) or every object under a prefix whose
 * name, relative to the prefix, matches a glob (pattern), in name order,
 * through the format layer (MetaetlReadObjects); a target writes its rows
 * through a format's writer into one object (key).  The three stores differ
 * only in their protocol (s3.c, gcs.c, azure.c); this file holds what they
 * share:
 *
 *  - the client: the connection (security.h, as the run's role), its
 *    credential, the endpoint rules (https with certificate verification;
 *    plain http only to a loopback address or with allow_insecure: true),
 *    one HTTP session per source or target (connections are reused);
 *  - requests with retries: transport failures, 429, 500, 502, 503
 *    (SlowDown, ServerBusy) and 504 are retried with exponential backoff and
 *    jitter (Retry-After honoured), five attempts in all;
 *  - errors: a missing object (58P01), denied access (42501), refused
 *    credentials (28000), throttling that outlasts the retries (53000), an
 *    object that changed while being read (40001), an unreachable store
 *    (08006).  Each names the source or target and the object
 *    (s3://bucket/key), never the URL, a signature or a key; the store's own
 *    words (its error Code and Message, never the rest of its reply) pass
 *    through MetaetlRedact first;
 *  - streams: a sequential read is one GET from the position to the end,
 *    consumed through a 4 MiB buffer (curl pauses while it is full) and
 *    resumed where it broke off if the connection fails; read_at (Parquet
 *    footers and column chunks) is a ranged GET of what is asked, small
 *    reads through two 1 MiB windows; a reader that knows its next read
 *    (Parquet's next row groups) hints it, and that ranged GET then runs
 *    while the reader decodes (a libcurl fetch the reader pumps between
 *    batches), so download and decoding overlap.
 *    Every read carries If-Match with the ETag seen when listing, so a
 *    concurrent overwrite is an error rather than a mix of two versions.  A
 *    target is written in parts of part_size (8 MiB by default): a small
 *    object is one PUT at finish, a larger one a multipart upload (S3, GCS)
 *    or a block list (Azure) completed at finish; an error before then aborts
 *    the upload, and an object is never visible before it is complete.
 *    Memory per object is one read-ahead buffer (or the windows and one
 *    prefetched range of at most 64 MiB) or one part, whatever the object's
 *    size.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "catalog/pg_authid.h"
#include "common/pg_prng.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/wait_event.h"

#include "connectors/connector.h"
#include "connectors/format.h"
#include "connectors/objstore.h"
#include "security/security.h"
#include "util/sigv4.h"

#define OBJ_PART_SIZE		(8 * 1024 * 1024)
#define OBJ_WINDOW			(1024 * 1024)	/* read_at's window for small reads */
#define OBJ_WINDOWS			2
#define OBJ_PREFETCH_MAX	(64 * 1024 * 1024)	/* the largest range prefetched */
#define OBJ_ATTEMPTS		5
#define OBJ_BACKOFF_MS		100
#define OBJ_BACKOFF_MAX_MS	5000

/* ------------------------------------------------------------ vocabulary */

static const char *const obj_compressions[] = {"auto", "none", "gzip", "zstd", NULL};

/*
 * A source names one object (key) or a prefix with an optional glob
 * (pattern, matched against the name after the prefix; * and ? stay within
 * one path segment, ** crosses them).  format: a registered format (default:
 * the name's suffix); compression: auto (suffix and magic bytes), none,
 * gzip, zstd; file_column: a column holding each row's object key; columns
 * and options: as the format takes them.
 */
static const MetaetlConnKey obj_source_keys[] = {
	{"key", MCK_STRING, MCK_ONEOF},
	{"prefix", MCK_STRING, MCK_ONEOF},
	{"pattern", MCK_STRING},
	{"format", MCK_STRING},
	{"compression", MCK_ENUM, 0, obj_compressions},
	{"file_column", MCK_ID},
	{"columns", MCK_COLUMNS},
	{"options", MCK_OBJECT},
	MCK_END
};

static const MetaetlConnKey obj_target_keys[] = {
	{"key", MCK_STRING, MCK_REQUIRED},
	{"format", MCK_STRING},
	{"compression", MCK_ENUM, 0, obj_compressions},
	{"options", MCK_OBJECT},
	MCK_END
};

/* the keys of etl.add_connection(name, 's3' | 'azure_blob' | 'gcs', options) */
static const MetaetlConnKey s3_connection_keys[] = {
	{"bucket", MCK_STRING, MCK_REQUIRED},
	{"region", MCK_STRING},
	{"endpoint", MCK_STRING},
	{"path_style", MCK_BOOL},
	{"prefix", MCK_STRING},
	{"allow_insecure", MCK_BOOL},
	{"ca_file", MCK_STRING},
	{"part_size", MCK_INTEGER},
	{"list_page_size", MCK_INTEGER},
	MCK_END
};

static const MetaetlConnKey azure_connection_keys[] = {
	{"account", MCK_STRING, MCK_REQUIRED},
	{"container", MCK_STRING, MCK_REQUIRED},
	{"endpoint", MCK_STRING},
	{"prefix", MCK_STRING},
	{"allow_insecure", MCK_BOOL},
	{"ca_file", MCK_STRING},
	{"part_size", MCK_INTEGER},
	{"list_page_size", MCK_INTEGER},
	MCK_END
};

static const MetaetlConnKey gcs_connection_keys[] = {
	{"bucket", MCK_STRING, MCK_REQUIRED},
	{"endpoint", MCK_STRING},
	{"prefix", MCK_STRING},
	{"allow_insecure", MCK_BOOL},
	{"ca_file", MCK_STRING},
	{"part_size", MCK_INTEGER},
	{"list_page_size", MCK_INTEGER},
	MCK_END
};

static const char *const obj_modes[] = {"replace", NULL};

static const ObjProvider *
obj_provider(const char *type)
{
	if (strcmp(type, "s3") == 0)
		return &ObjS3;
	if (strcmp(type, "azure_blob") == 0)
		return &ObjAzure;
	if (strcmp(type, "gcs") == 0)
		return &ObjGcs;
	elog(ERROR, "unknown object store type \"%s\"", type);
	return NULL;
}

/* ------------------------------------------------------------ helpers */

/* "s3://bucket/key", "gs://bucket/key", "azure://account/container/key" */
char *
ObjName(ObjClient *c, const char *key)
{
	if (c->account)
		return psprintf("%s://%s/%s/%s", c->p->scheme, c->account, c->bucket, key ? key : "");
	return psprintf("%s://%s/%s", c->p->scheme, c->bucket, key ? key : "");
}

/* "Name: value"; a value with a line break is refused (header injection) */
char *
ObjHeaderLine(const char *name, const char *fmt,...)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfo(&b, "%s: ", name);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&b, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&b, needed);
	}
	if (strpbrk(b.data, "\r\n") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a value sent in HTTP header %s contains a line break", name)));
	return b.data;
}

/* RFC 3986 percent-encoding (keys keep their slashes) */
char *
ObjEncode(const char *s, bool keep_slash)
{
	size_t		len = strlen(s);
	size_t		need = MetaetlUriEncode(s, len, keep_slash, NULL, 0);
	char	   *out = palloc(need + 1);

	MetaetlUriEncode(s, len, keep_slash, out, need + 1);
	return out;
}

/* a string field of the connection's secret; NULL or an error when absent */
char *
ObjSecretField(ObjClient *c, const char *key, bool required, const char *needs)
{
	char	   *v = c->secret ? MetaetlSecretField(c->secret, key) : NULL;

	if ((v == NULL || v[0] == '\0') && required)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("%s: the credential of connection \"%s\" has no %s", c->for_what, c->conn_name, key),
				 errhint("%s", needs)));
	return v && v[0] ? v : NULL;
}

/* the store's words, with every secret masked */
char *
ObjRedact(ObjClient *c, const char *text)
{
	if (text == NULL)
		return NULL;
	return c->secret ? MetaetlRedact(text, c->secret) : pstrdup(text);
}

/* ------------------------------------------------------------ XML */

static bool obj_xml_ready = false;

static const char *
obj_xml_name(xmlNodePtr n)
{
	return (const char *) n->name;
}

/* the text of the first descendant element of n named "name", or NULL */
static char *
obj_xml_find(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr ch = n->children; ch; ch = ch->next)
	{
		if (ch->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp(obj_xml_name(ch), name) == 0)
		{
			xmlChar    *t = xmlNodeGetContent(ch);
			char	   *r = pstrdup(t ? (char *) t : "");

			if (t)
				xmlFree(t);
			return r;
		}
		else
		{
			char	   *r = obj_xml_find(ch, name);

			if (r)
				return r;
		}
	}
	return NULL;
}

static void
obj_xml_records(xmlNodePtr n, const char *record, const char *const *fields, int nfields, List **out)
{
	for (xmlNodePtr ch = n->children; ch; ch = ch->next)
	{
		if (ch->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp(obj_xml_name(ch), record) == 0)
		{
			char	  **vals = palloc0(sizeof(char *) * nfields);

			for (int i = 0; i < nfields; i++)
				vals[i] = obj_xml_find(ch, fields[i]);
			*out = lappend(*out, vals);
		}
		else
			obj_xml_records(ch, record, fields, nfields, out);
	}
}

/*
 * ObjXmlElements
 *		Every element named "record" in the reply (at any depth) as an array
 *		of the texts of its descendants "fields" (NULL where absent), and the
 *		text of the first element "next_name" into *next (NULL if absent).
 *		The document is freed also when palloc fails midway.  Entities are not
 *		loaded and the network is never touched (XML_PARSE_NONET).  A reply
 *		that is not XML is an error, or NIL when quiet.
 */
List *
ObjXmlElements(ObjClient *c, const char *xml, size_t len, const char *record,
			   const char *const *fields, int nfields, char **next, const char *next_name,
			   bool quiet)
{
	xmlDocPtr volatile doc = NULL;
	List	   *volatile out = NIL;

	if (!obj_xml_ready)
	{
		xmlInitParser();
		obj_xml_ready = true;
	}
	if (next)
		*next = NULL;
	doc = xmlReadMemory(xml, (int) len, "reply.xml", NULL,
						XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || xmlDocGetRootElement(doc) == NULL)
	{
		if (doc)
			xmlFreeDoc(doc);
		if (quiet)
			return NIL;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_XML_DOCUMENT),
				 errmsg("%s: the store's reply is not XML", c->for_what),
				 errdetail("Connection \"%s\", %s.", c->conn_name, ObjName(c, NULL))));
	}
	PG_TRY();
	{
		List	   *recs = NIL;

		/* from the document node, so that the root element is a candidate too */
		obj_xml_records((xmlNodePtr) doc, record, fields, nfields, &recs);
		out = recs;
		if (next && next_name)
			*next = obj_xml_find((xmlNodePtr) doc, next_name);
	}
	PG_FINALLY();
	{
		xmlFreeDoc(doc);
	}
	PG_END_TRY();
	return out;
}

/* ------------------------------------------------------------ requests */

static bool
obj_retryable(const MetaetlHttpResponse *res)
{
	if (res->error && res->status == 0)
	{
		/* a certificate that does not verify will not verify next time */
		return strstr(res->error, "SSL") == NULL && strstr(res->error, "certificate") == NULL &&
			strstr(res->error, "URL") == NULL;
	}
	return res->status == 429 || res->status == 500 || res->status == 502 ||
		res->status == 503 || res->status == 504;
}

/* wait ms, waking for interrupts */
static void
obj_sleep(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms,
					 PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* the HTTP request for r at url, with the provider's signature */
static void
obj_http_request(ObjClient *c, const ObjReq *r, const char *url, MetaetlHttpRequest *hr)
{
	memset(hr, 0, sizeof(*hr));
	hr->method = r->method;
	hr->url = url;
	hr->headers = list_concat(list_copy(r->headers), c->p->sign(c, r, url));
	hr->body = r->body;
	hr->body_len = r->body_len;
	hr->out = r->out;
	hr->out_cap = r->out_cap;
	hr->max_body = r->max_body;
	hr->tls_verify = c->tls_verify;
	hr->ca_file = c->ca_file;
}

/* exponential backoff with jitter before attempt + 1, or what the store asked for */
static void
obj_backoff(int attempt, const MetaetlHttpResponse *res)
{
	long		delay = Min((long) OBJ_BACKOFF_MS << (attempt - 1), OBJ_BACKOFF_MAX_MS);
	char	   *retry_after = res ? MetaetlHttpHeader(res, "Retry-After") : NULL;

	delay = delay / 2 + (long) (pg_prng_double(&pg_global_prng_state) * delay / 2);
	if (retry_after && strlen(retry_after) > 0 && strlen(retry_after) < 4 &&
		strspn(retry_after, "0123456789") == strlen(retry_after))
		delay = Min(atol(retry_after) * 1000L, 10000L);
	obj_sleep(delay);
}

/*
 * ObjExec
 *		Send one request, signed afresh for each attempt, retrying what a
 *		store asks to be retried.  *res is the last answer; nothing is raised
 *		for HTTP errors (ObjCheck does that).
 */
void
ObjExec(ObjClient *c, const ObjReq *r, MetaetlHttpResponse *res)
{
	char	   *url = c->p->url(c, r);

	for (int attempt = 1;; attempt++)
	{
		MetaetlHttpRequest hr;

		obj_http_request(c, r, url, &hr);
		MetaetlHttpExec(c->http, &hr, res);
		list_free(hr.headers);
		if (!obj_retryable(res) || attempt >= OBJ_ATTEMPTS)
			return;
		obj_backoff(attempt, res);
	}
}

/* the store's error code: Azure's x-ms-error-code header, or <Code> */
static void
obj_error_words(ObjClient *c, MetaetlHttpResponse *res, char **code, char **message)
{
	static const char *const fields[] = {"Code", "Message"};

	*code = MetaetlHttpHeader(res, "x-ms-error-code");
	*message = NULL;
	if (res->body && res->body_len > 0 && res->body[0] == '<')
	{
		/* an unreadable error reply: the status alone is reported */
		List	   *recs = ObjXmlElements(c, res->body, res->body_len, "Error", fields, 2, NULL, NULL, true);

		if (recs != NIL)
		{
			char	  **v = linitial(recs);

			if (*code == NULL)
				*code = v[0];
			*message = v[1];
		}
	}
	/* Azure appends "\nRequestId:...\nTime:..." lines: keep the sentence */
	if (*message && strchr(*message, '\n'))
		*strchr(*message, '\n') = '\0';
	*code = ObjRedact(c, *code);
	*message = ObjRedact(c, *message);
	if (*message && strlen(*message) > 300)
		(*message)[300] = '\0';
	/* the detail adds its own full stop */
	if (*message)
	{
		size_t		l = strlen(*message);

		while (l > 0 && ((*message)[l - 1] == '.' || (*message)[l - 1] == ' '))
			(*message)[--l] = '\0';
	}
}

static bool
obj_code_is(const char *code, const char *const *codes)
{
	for (; code && *codes; codes++)
		if (strcmp(code, *codes) == 0)
			return true;
	return false;
}

/*
 * ObjCheck
 *		Raise the error an unsuccessful answer means, naming the source or
 *		target, the object (r->key) and what was being done ("read", "list",
 *		"write").  Returns when the answer is a success.
 */
void
ObjCheck(ObjClient *c, const ObjReq *r, MetaetlHttpResponse *res, const char *doing)
{
	static const char *const bad_credentials[] = {"SignatureDoesNotMatch", "InvalidAccessKeyId",
		"AuthenticationFailed", "InvalidToken", "ExpiredToken", "InvalidSecurity",
	"InvalidAuthenticationInfo", "InvalidClientTokenId", NULL};
	static const char *const missing_bucket[] = {"NoSuchBucket", "ContainerNotFound", NULL};
	char	   *name = ObjName(c, r->key);
	char	   *code,
			   *message;
	char	   *words;

	if (res->error == NULL && res->status >= 200 && res->status <= 299)
	{
		if (res->truncated && r->out)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("%s: the store sent more of \"%s\" than was asked for", c->for_what, name),
					 errdetail("A ranged read of %zu bytes; the store ignored the range.", r->out_cap)));
		return;
	}
	if (res->status == 0)
	{
		char	   *err = ObjRedact(c, res->error ? res->error : "no answer");
		bool		tls = strstr(err, "SSL") || strstr(err, "certificate");

		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("%s: could not reach the store at %s", c->for_what, c->host),
				 errdetail("While trying to %s \"%s\": %s.", doing, name, err),
				 tls ? errhint("The endpoint's TLS certificate did not verify; give the connection a ca_file "
							   "holding the CA that signed it.") :
				 errhint("Check the endpoint of connection \"%s\"; the request was tried %d times.",
						 c->conn_name, OBJ_ATTEMPTS)));
	}
	obj_error_words(c, res, &code, &message);
	words = psprintf("the store answered %ld%s%s%s%s", res->status, code ? " " : "", code ? code : "",
					 message ? ": " : "", message ? message : "");

	if (res->status == 404)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 obj_code_is(code, missing_bucket) ?
				 errmsg("%s: %s \"%s\" of connection \"%s\" does not exist", c->for_what, c->p->bucket_word,
						c->bucket, c->conn_name) :
				 errmsg("%s: object \"%s\" does not exist", c->for_what, name),
				 errdetail("While trying to %s \"%s\", %s.", doing, name, words),
				 errhint("Check the key or prefix, and the %s of connection \"%s\".", c->p->bucket_word,
						 c->conn_name)));
	/*
	 * Azurite says AuthorizationFailure where the service says
	 * AuthenticationFailed for a bad signature; its message tells them apart
	 * from a real denial.
	 */
	if (res->status == 401 || obj_code_is(code, bad_credentials) ||
		(code && strcmp(code, "AuthorizationFailure") == 0 && message &&
		 strncmp(message, "Server failed to authenticate", 29) == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("%s: the store refused the credentials of connection \"%s\"", c->for_what,
						c->conn_name),
				 errdetail("While trying to %s \"%s\", %s.", doing, name, words),
				 c->p == &ObjS3 ? errhint("Check the keys of the connection's credential and its region.") :
				 errhint("Check the keys of the connection's credential.")));
	if (res->status == 403)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s: access denied to \"%s\"", c->for_what, name),
				 errdetail("While trying to %s it, %s.", doing, words),
				 errhint("The credential of connection \"%s\" may not %s this object.", c->conn_name, doing)));
	if (res->status == 412)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("%s: object \"%s\" changed while it was being read", c->for_what, name),
				 errdetail("%s.", words),
				 errhint("Run again once the object is no longer being rewritten.")));
	if (obj_retryable(res))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("%s: the store kept refusing to %s \"%s\"", c->for_what, doing, name),
				 errdetail("%d attempts with exponential backoff; the last: %s.", OBJ_ATTEMPTS, words),
				 errhint("The store is throttling or failing; the run may be retried later.")));
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("%s: could not %s \"%s\"", c->for_what, doing, name),
			 errdetail("%s.", words)));
}

/* ------------------------------------------------------------ the client */

static bool
obj_is_loopback(const char *host)
{
	const char *colon;
	char	   *h;

	if (host[0] == '[')
		return strncmp(host, "[::1]", 5) == 0;
	colon = strchr(host, ':');
	h = colon ? pnstrdup(host, colon - host) : pstrdup(host);
	if (pg_strcasecmp(h, "localhost") == 0)
		return true;
	if (strlen(h) > 10 && pg_strcasecmp(h + strlen(h) - 10, ".localhost") == 0)
		return true;
	if (strncmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") == strlen(h))
		return true;
	return false;
}

/*
 * Parse the connection's endpoint into scheme, host and (Azure) path, and
 * apply the transport rules: https (certificates verified), or http only to
 * a loopback address or when the connection says allow_insecure: true.
 */
static void
obj_endpoint(ObjClient *c, const char *endpoint, bool allow_path, bool allow_insecure)
{
	const char *rest;
	const char *slash;
	size_t		len;

	if (strncmp(endpoint, "https://", 8) == 0)
	{
		c->https = true;
		rest = endpoint + 8;
	}
	else if (strncmp(endpoint, "http://", 7) == 0)
	{
		c->https = false;
		rest = endpoint + 7;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: endpoint of connection \"%s\" must be an http:// or https:// URL",
						c->for_what, c->conn_name)));
	len = strcspn(rest, "/?#");
	if (len == 0 || memchr(rest, '@', len) != NULL || rest[len] == '?' || rest[len] == '#')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: endpoint of connection \"%s\" must be scheme://host[:port]%s", c->for_what,
						c->conn_name, allow_path ? "[/path]" : ""),
				 errdetail("User information, queries and fragments are not allowed.")));
	c->host = pnstrdup(rest, len);
	slash = rest + len;
	if (*slash == '/' && slash[1] != '\0' && !allow_path)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: endpoint of connection \"%s\" must not have a path", c->for_what, c->conn_name),
				 errhint("Give scheme://host[:port]; the bucket goes in option bucket.")));
	c->endpoint = pstrdup(endpoint);
	len = strlen(c->endpoint);
	while (len > 0 && c->endpoint[len - 1] == '/')
		c->endpoint[--len] = '\0';
	if (!c->https && !allow_insecure && !obj_is_loopback(c->host))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s: connection \"%s\" uses plain http to %s", c->for_what, c->conn_name, c->host),
				 errdetail("Credentials and data would cross the network unencrypted."),
				 errhint("Use https, or set allow_insecure: true in the connection's options if the network is trusted.")));
	c->tls_verify = true;
}

/*
 * obj_client
 *		The client of a source's or target's connection, for the run's role:
 *		the connection must exist and be of the source's type; its secret is
 *		fetched as that role (security.h records the use and refuses a
 *		credential the role may not use).
 */
static ObjClient *
obj_client(const char *type, JsonbContainer *conf, bool is_source, const char *id)
{
	ObjClient  *c = palloc0(sizeof(ObjClient));
	char	   *conn_name = MetaetlJStr(conf, "connection");
	MetaetlConnection *conn;
	JsonbContainer *opts;
	JsonbValue *v;
	char	   *endpoint;
	char	   *ca;

	c->p = obj_provider(type);
	c->cxt = CurrentMemoryContext;
	c->for_what = psprintf("%s \"%s\"", is_source ? "source" : "target", id);
	if (conn_name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: an %s %s needs a connection", c->for_what, type, is_source ? "source" : "target"),
				 errhint("Create one with etl.add_connection(name, '%s', options, credential).", type)));
	c->conn_name = conn_name;
	conn = MetaetlGetConnection(conn_name, is_source, false, c->for_what);
	if (strcmp(conn->type, type) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s: connection \"%s\" is a %s connection, not %s", c->for_what, conn_name, conn->type,
						type)));
	opts = &conn->options->root;
	c->secret = MetaetlConnectionSecret(conn, GetUserId());

	c->prefix = MetaetlJStr(opts, "prefix");
	if (c->prefix == NULL)
		c->prefix = "";
	c->part_size = OBJ_PART_SIZE;
	if ((v = MetaetlJGet(opts, "part_size")) != NULL && v->type == jbvNumeric)
	{
		int64		ps = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric)));

		if (ps < (int64) c->p->min_part || ps > INT64CONST(1024) * 1024 * 1024)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: part_size of connection \"%s\" must be between %zu and 1073741824 bytes",
							c->for_what, conn_name, c->p->min_part)));
		c->part_size = (size_t) ps;
	}
	if ((v = MetaetlJGet(opts, "list_page_size")) != NULL && v->type == jbvNumeric)
	{
		int64		n = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric)));

		if (n < 1 || n > 5000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: list_page_size of connection \"%s\" must be between 1 and 5000",
							c->for_what, conn_name)));
		c->list_page_size = (int) n;
	}
	ca = MetaetlJStr(opts, "ca_file");
	if (ca)
	{
		/* a path on the database server: reading it is reading a server file */
		if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("%s: ca_file of connection \"%s\" is a server file, which needs the pg_read_server_files role",
							c->for_what, conn_name)));
		c->ca_file = ca;
	}
	c->p->configure(c, opts);
	endpoint = MetaetlJStr(opts, "endpoint");
	obj_endpoint(c, endpoint ? endpoint : c->endpoint, c->p == &ObjAzure,
				 MetaetlJBool(opts, "allow_insecure", false));
	c->http = MetaetlHttpSessionCreate(c->cxt);
	return c;
}

/* ------------------------------------------------------------ listing */

/*
 * Glob matching of an object's name after the prefix: * and ? do not cross
 * '/', ** does, [abc] / [a-z] / [!a] classes, \ escapes.
 */
static bool
obj_glob(const char *p, const char *s)
{
	while (*p)
	{
		if (p[0] == '*' && p[1] == '*')
		{
			while (*p == '*')
				p++;
			for (const char *t = s;; t++)
			{
				if (obj_glob(p, t))
					return true;
				if (*t == '\0')
					return false;
			}
		}
		if (*p == '*')
		{
			p++;
			for (const char *t = s;; t++)
			{
				if (obj_glob(p, t))
					return true;
				if (*t == '\0' || *t == '/')
					return false;
			}
		}
		if (*s == '\0')
			return false;
		if (*p == '?')
		{
			if (*s == '/')
				return false;
		}
		else if (*p == '[')
		{
			const char *q = p + 1;
			bool		neg = (*q == '!' || *q == '^');
			bool		hit = false;

			if (neg)
				q++;
			do
			{
				if (q[1] == '-' && q[2] && q[2] != ']')
				{
					hit |= (unsigned char) *s >= (unsigned char) q[0] && (unsigned char) *s <= (unsigned char) q[2];
					q += 3;
				}
				else
					hit |= *q++ == *s;
			} while (*q && *q != ']');
			if (*q != ']' || hit == neg || *s == '/')
				return false;
			p = q;
		}
		else
		{
			if (*p == '\\' && p[1])
				p++;
			if (*p != *s)
				return false;
		}
		p++;
		s++;
	}
	return *s == '\0';
}

static int
obj_entry_cmp(const ListCell *a, const ListCell *b)
{
	return strcmp(((ObjEntry *) lfirst(a))->key, ((ObjEntry *) lfirst(b))->key);
}

/* size and ETag of one object by HEAD; an error if it does not exist */
static ObjEntry *
obj_head(ObjClient *c, const char *key)
{
	ObjReq		r;
	MetaetlHttpResponse res;
	ObjEntry   *e = palloc0(sizeof(ObjEntry));
	char	   *len;

	memset(&r, 0, sizeof(r));
	r.method = "HEAD";
	r.key = key;
	ObjExec(c, &r, &res);
	if (res.status >= 400 && res.status < 500)
	{
		/*
		 * A HEAD reply has no body to say why (a missing bucket, a bad
		 * signature, a denial); a one-byte GET does, so ask again that way.
		 */
		ObjReq		g;
		MetaetlHttpResponse gres;

		memset(&g, 0, sizeof(g));
		g.method = "GET";
		g.key = key;
		g.headers = list_make1(ObjHeaderLine("Range", "bytes=0-0"));
		ObjExec(c, &g, &gres);
		if (gres.status == res.status)
			ObjCheck(c, &g, &gres, "read");
	}
	ObjCheck(c, &r, &res, "read");
	len = MetaetlHttpHeader(&res, "Content-Length");
	e->key = pstrdup(key);
	e->size = len ? strtoll(len, NULL, 10) : -1;
	e->etag = MetaetlHttpHeader(&res, "ETag");
	return e;
}

/* ------------------------------------------------------------ reading */

typedef struct ObjIn
{
	ObjClient  *c;
	ObjEntry   *e;
	MetaetlHttpStream *stream;	/* the sequential GET, or NULL */
	int64		stream_pos;		/* object offset of the stream's next byte */
	int			failures;		/* streams that broke off (resumed each time) */
	int64		pos;			/* sequential position */
	char	   *win[OBJ_WINDOWS];	/* read_at: the windows last fetched */
	int64		win_off[OBJ_WINDOWS];
	size_t		win_len[OBJ_WINDOWS];
	int			win_next;		/* the one to replace */
	/* prefetch: one ranged GET running while the reader decodes */
	MemoryContext pf_cxt;		/* the fetch and its buffer; deleted at close */
	MetaetlHttpFetch *fetch;	/* created on the first hint */
	bool		pf_busy;		/* started, not yet collected */
	int64		pf_off;
	size_t		pf_len;
	char	   *pf_buf;
	size_t		pf_cap;
} ObjIn;

/* the If-Match header pinning reads to the version listed or HEADed */
static List *
obj_read_headers(ObjIn *in, int64 off, int64 end)
{
	List	   *h = list_make1(ObjHeaderLine("Range", "bytes=" INT64_FORMAT "-" INT64_FORMAT, off, end));

	if (in->e->etag)
		h = lappend(h, ObjHeaderLine("If-Match", "%s", in->e->etag));
	return h;
}

/* exactly len bytes at off into dst, by one ranged GET (read_at) */
static void
obj_get_range(ObjIn *in, int64 off, char *dst, size_t len)
{
	ObjReq		r;
	MetaetlHttpResponse res;

	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.key = in->e->key;
	r.headers = obj_read_headers(in, off, off + (int64) len - 1);
	r.out = dst;
	r.out_cap = len;
	ObjExec(in->c, &r, &res);
	ObjCheck(in->c, &r, &res, "read");
	if (res.body_len != len)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("%s: object \"%s\" ended early", in->c->for_what, ObjName(in->c, in->e->key)),
				 errdetail("Asked for %zu bytes at offset " INT64_FORMAT ", got %zu.", len, off,
						   res.body_len)));
}

/*
 * One GET from the current position to the object's end, read as the format
 * consumes it (the transfer pauses while the format is busy); retried like
 * any request.
 */
static void
obj_stream_open(ObjIn *in)
{
	ObjClient  *c = in->c;
	ObjReq		r;
	char	   *url;

	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.key = in->e->key;
	r.headers = obj_read_headers(in, in->pos, in->e->size - 1);
	url = c->p->url(c, &r);
	for (int attempt = 1;; attempt++)
	{
		MetaetlHttpRequest hr;
		MetaetlHttpResponse res;

		obj_http_request(c, &r, url, &hr);
		in->stream = MetaetlHttpStreamOpen(&hr, &res, c->cxt);
		list_free(hr.headers);
		if (in->stream)
		{
			in->stream_pos = in->pos;
			return;
		}
		if (!obj_retryable(&res) || attempt >= OBJ_ATTEMPTS)
		{
			ObjCheck(c, &r, &res, "read");
			elog(ERROR, "a failed stream was not reported");
		}
		obj_backoff(attempt, &res);
	}
}

static size_t
obj_in_read(MetaetlInStream *s, void *buf, size_t len)
{
	ObjIn	   *in = s->state;
	int64		left = in->e->size - in->pos;

	if (left <= 0 || len == 0)
		return 0;
	len = (size_t) Min((int64) len, left);
	for (;;)
	{
		char	   *err;
		size_t		n;

		if (in->stream == NULL)
			obj_stream_open(in);
		n = MetaetlHttpStreamRead(in->stream, buf, len, &err);
		if (n > 0)
		{
			in->pos += n;
			in->stream_pos += n;
			return n;
		}
		MetaetlHttpStreamClose(in->stream);
		in->stream = NULL;

		/* the connection broke off: resume where it stopped, a few times */
		if (++in->failures >= OBJ_ATTEMPTS || err == NULL)
			ereport(ERROR,
					(errcode(err ? ERRCODE_CONNECTION_FAILURE : ERRCODE_DATA_CORRUPTED),
					 errmsg("%s: reading \"%s\" broke off at byte " INT64_FORMAT " of " INT64_FORMAT,
							in->c->for_what, s->name, in->pos, in->e->size),
					 err ? errdetail("%s (after %d attempts).", ObjRedact(in->c, err), in->failures) :
					 errdetail("The store ended the object early.")));
		obj_backoff(in->failures, NULL);
	}
}

/*
 * The prefetched range, if it holds [off, off + len): waited for and copied
 * out.  A prefetch that failed in any way (an error status, a transport
 * failure, a short body) is dropped and false returned, so the read is made
 * again by obj_get_range, which retries and reports the error.
 */
static bool
obj_take_prefetch(ObjIn *in, int64 off, void *buf, size_t len)
{
	MetaetlHttpResponse res;
	bool		ok;

	if (!in->pf_busy || off < in->pf_off || off + (int64) len > in->pf_off + (int64) in->pf_len)
		return false;
	MetaetlHttpFetchWait(in->fetch, &res);
	in->pf_busy = false;
	ok = res.error == NULL && res.status == 206 && !res.truncated && res.body_len == in->pf_len;
	if (ok)
		memcpy(buf, in->pf_buf + (off - in->pf_off), len);
	return ok;
}

/*
 * A hint that read_at(off, len) comes soon (a Parquet reader's next row
 * group): start its ranged GET now, so that it downloads while the current
 * one is decoded.  One prefetch at a time, its buffer kept for the next:
 * memory is one range beside the reader's own.  A newer hint replaces an
 * older one not yet read; small ranges go through the window instead.
 */
static void
obj_in_prefetch(MetaetlInStream *s, int64 off, size_t len)
{
	ObjIn	   *in = s->state;
	ObjClient  *c = in->c;
	ObjReq		r;
	MetaetlHttpRequest hr;
	char	   *url;

	if (len < OBJ_WINDOW || len > OBJ_PREFETCH_MAX || off < 0 || off + (int64) len > in->e->size)
		return;
	if (in->pf_busy && in->pf_off == off && in->pf_len == len)
		return;
	if (in->pf_busy)
		MetaetlHttpFetchCancel(in->fetch);
	in->pf_busy = false;
	if (in->pf_cxt == NULL)
	{
		/* its own context: closing the object frees handles and buffer */
		in->pf_cxt = AllocSetContextCreate(c->cxt, "metaetl object prefetch", ALLOCSET_SMALL_SIZES);
		in->fetch = MetaetlHttpFetchCreate(in->pf_cxt);
	}
	if (in->pf_cap < len)
	{
		if (in->pf_buf)
			pfree(in->pf_buf);
		in->pf_buf = NULL;
		in->pf_cap = 0;
		in->pf_buf = MemoryContextAlloc(in->pf_cxt, len);
		in->pf_cap = len;
	}
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.key = in->e->key;
	r.headers = obj_read_headers(in, off, off + (int64) len - 1);
	r.out = in->pf_buf;
	r.out_cap = len;
	url = c->p->url(c, &r);
	obj_http_request(c, &r, url, &hr);
	MetaetlHttpFetchStart(in->fetch, &hr);
	list_free(hr.headers);
	in->pf_busy = true;
	in->pf_off = off;
	in->pf_len = len;
	MetaetlHttpFetchPump(in->fetch);
}

/* let the prefetch progress (the reader calls this between batches) */
static void
obj_in_pump(MetaetlInStream *s)
{
	ObjIn	   *in = s->state;

	if (in->pf_busy)
		MetaetlHttpFetchPump(in->fetch);
}

/*
 * Random access: a prefetched range is taken from the prefetch; a large
 * read is one ranged GET into the caller's buffer; a small one (a footer,
 * a zip directory entry, libzip's 8 kB reads) fetches a 1 MiB window from
 * its offset, which the reads after it usually fall in, so a format reading
 * in small steps costs a request per window, not per step.  A window that
 * would pass the object's end ends there instead, so reading a Parquet or
 * zip trailer (8 or 22 bytes) brings the footer or directory before it in
 * the same request; and two windows are kept, so a format that alternates
 * between the head and the tail (magic bytes, then the footer) does not
 * fetch either twice.  Against a store a request costs far more than a
 * megabyte (moto reads the whole object for each).
 */
static void
obj_in_read_at(MetaetlInStream *s, int64 off, void *buf, size_t len)
{
	ObjIn	   *in = s->state;
	int			w;
	int64		start;
	size_t		wlen;

	if (len == 0)
		return;
	for (w = 0; w < OBJ_WINDOWS; w++)
		if (in->win[w] && off >= in->win_off[w] &&
			off + (int64) len <= in->win_off[w] + (int64) in->win_len[w])
		{
			memcpy(buf, in->win[w] + (off - in->win_off[w]), len);
			return;
		}
	if (obj_take_prefetch(in, off, buf, len))
		return;
	if (len >= OBJ_WINDOW)
	{
		obj_get_range(in, off, buf, len);
		return;
	}
	w = in->win_next;
	in->win_next = (w + 1) % OBJ_WINDOWS;
	if (in->win[w] == NULL)
		in->win[w] = MemoryContextAlloc(in->c->cxt, OBJ_WINDOW);
	start = off;
	if (start > in->e->size - OBJ_WINDOW)
		start = Max(in->e->size - OBJ_WINDOW, 0);
	wlen = (size_t) Min((int64) OBJ_WINDOW, in->e->size - start);
	wlen = Max(wlen, (size_t) (off - start) + len);
	in->win_len[w] = 0;			/* valid again once filled */
	obj_get_range(in, start, in->win[w], wlen);
	in->win_off[w] = start;
	in->win_len[w] = wlen;
	memcpy(buf, in->win[w] + (off - start), len);
}

static void
obj_in_close(MetaetlInStream *s)
{
	ObjIn	   *in = s->state;

	if (in->stream)
		MetaetlHttpStreamClose(in->stream);
	in->stream = NULL;
	for (int w = 0; w < OBJ_WINDOWS; w++)
	{
		if (in->win[w])
			pfree(in->win[w]);
		in->win[w] = NULL;
	}
	in->pf_busy = false;
	if (in->pf_cxt)
		MemoryContextDelete(in->pf_cxt);	/* the fetch's callback frees curl's handles */
	in->pf_cxt = NULL;
	in->fetch = NULL;
	in->pf_buf = NULL;
	in->pf_cap = 0;
}

static MetaetlInStream *
obj_open_in(ObjClient *c, ObjEntry *e)
{
	MetaetlInStream *s = palloc0(sizeof(MetaetlInStream));
	ObjIn	   *in = palloc0(sizeof(ObjIn));

	in->c = c;
	in->e = e;
	if (e->size < 0)
		in->e = e = obj_head(c, e->key);
	s->name = ObjName(c, e->key);
	s->size = e->size;
	s->seekable = true;
	s->read = obj_in_read;
	s->read_at = obj_in_read_at;
	s->prefetch = obj_in_prefetch;
	s->pump = obj_in_pump;
	s->close = obj_in_close;
	s->state = in;
	return s;
}

typedef struct ObjOpenArg
{
	ObjClient  *c;
	List	   *entries;
	int			next;			/* MetaetlReadObjects opens in list order */
} ObjOpenArg;

static MetaetlInStream *
obj_open_named(void *arg, const char *name)
{
	ObjOpenArg *a = arg;
	ListCell   *lc;

	if (a->next < list_length(a->entries) &&
		strcmp(((ObjEntry *) list_nth(a->entries, a->next))->key, name) == 0)
		return obj_open_in(a->c, list_nth(a->entries, a->next++));
	foreach(lc, a->entries)
	{
		ObjEntry   *e = lfirst(lc);

		if (strcmp(e->key, name) == 0)
			return obj_open_in(a->c, e);
	}
	elog(ERROR, "object \"%s\" is not in the listing", name);
	return NULL;
}

/* ------------------------------------------------------------ writing */

typedef struct ObjOut
{
	ObjClient  *c;
	ObjUpload	up;
	char	   *buf;			/* the part being filled */
	size_t		cap;
	size_t		len;
	int			nparts;
	bool		done;			/* finished or aborted */
} ObjOut;

static void
obj_out_flush_part(ObjOut *o)
{
	const ObjProvider *p = o->c->p;

	if (!o->up.begun)
	{
		p->upload_begin(&o->up);
		o->up.begun = true;
	}
	if (o->nparts >= p->max_parts)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: object \"%s\" needs more than %d parts", o->c->for_what,
						ObjName(o->c, o->up.key), p->max_parts),
				 errhint("Raise the connection's part_size.")));
	p->upload_part(&o->up, ++o->nparts, o->buf, o->len);
	o->len = 0;

	/*
	 * Every 1000 parts the part size doubles (up to 1 GiB), so the store's
	 * part limit is reached only for objects of several terabytes.
	 */
	if (o->nparts % 1000 == 0 && o->cap < 1024 * 1024 * 1024)
	{
		pfree(o->buf);
		o->cap *= 2;
		o->buf = MemoryContextAlloc(o->c->cxt, o->cap);
	}
}

static void
obj_out_write(MetaetlOutStream *s, const void *data, size_t len)
{
	ObjOut	   *o = s->state;
	const char *p = data;

	while (len > 0)
	{
		size_t		n = Min(len, o->cap - o->len);

		memcpy(o->buf + o->len, p, n);
		o->len += n;
		p += n;
		len -= n;
		if (o->len == o->cap)
			obj_out_flush_part(o);
	}
}

static void
obj_out_finish(MetaetlOutStream *s)
{
	ObjOut	   *o = s->state;

	if (!o->up.begun)
		o->c->p->put(o->c, o->up.key, o->buf, o->len);
	else
	{
		if (o->len > 0 || o->nparts == 0)
			obj_out_flush_part(o);
		o->c->p->upload_complete(&o->up);
	}
	o->done = true;
	pfree(o->buf);
	o->buf = NULL;
}

static void
obj_out_abort(MetaetlOutStream *s)
{
	ObjOut	   *o = s->state;

	if (o->done)
		return;
	o->done = true;
	if (o->up.begun)
		o->c->p->upload_abort(&o->up);
}

static MetaetlOutStream *
obj_open_out(ObjClient *c, const char *key)
{
	MetaetlOutStream *s = palloc0(sizeof(MetaetlOutStream));
	ObjOut	   *o = palloc0(sizeof(ObjOut));

	o->c = c;
	o->up.client = c;
	o->up.key = pstrdup(key);
	o->cap = c->part_size;
	o->buf = MemoryContextAlloc(c->cxt, o->cap);
	s->name = ObjName(c, key);
	s->write = obj_out_write;
	s->finish = obj_out_finish;
	s->abort = obj_out_abort;
	s->state = o;
	return s;
}

/* ------------------------------------------------------------ the connector */

/* the full key: the connection's prefix, then the source's or target's */
static char *
obj_full_key(ObjClient *c, const char *k)
{
	char	   *full = psprintf("%s%s", c->prefix, k);

	if (strlen(full) > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("%s: object key is longer than 1024 bytes", c->for_what)));
	return full;
}

static char *
obj_extract(MetaetlPlan *plan, MetaetlNode *src)
{
	ObjClient  *c = obj_client(src->type, src->conf, true, src->id);
	char	   *key = MetaetlJStr(src->conf, "key");
	ObjOpenArg	arg;
	List	   *names = NIL;
	ListCell   *lc;

	memset(&arg, 0, sizeof(arg));
	arg.c = c;
	if (key)
	{
		if (key[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: key is empty", c->for_what)));
		arg.entries = list_make1(obj_head(c, obj_full_key(c, key)));
	}
	else
	{
		char	   *prefix = obj_full_key(c, MetaetlJStr(src->conf, "prefix") ? MetaetlJStr(src->conf, "prefix") : "");
		char	   *pattern = MetaetlJStr(src->conf, "pattern");
		List	   *all = c->p->list(c, prefix);

		foreach(lc, all)
		{
			ObjEntry   *e = lfirst(lc);
			const char *rel = e->key + strlen(prefix);
			size_t		l = strlen(e->key);

			/* "folder" markers that consoles create are not objects to read */
			if (l > 0 && e->key[l - 1] == '/' && e->size == 0)
				continue;
			if (pattern && !obj_glob(pattern, rel))
				continue;
			arg.entries = lappend(arg.entries, e);
		}
		list_sort(arg.entries, obj_entry_cmp);
		if (arg.entries == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("%s: no objects under \"%s\"%s%s%s", c->for_what, ObjName(c, prefix),
							pattern ? " match \"" : "", pattern ? pattern : "", pattern ? "\"" : ""),
					 errdetail_plural("%d object under the prefix.", "%d objects under the prefix.",
									  list_length(all), list_length(all)),
					 errhint("Check the prefix and pattern, and connection \"%s\".", c->conn_name)));
	}
	foreach(lc, arg.entries)
		names = lappend(names, ((ObjEntry *) lfirst(lc))->key);
	return MetaetlReadObjects(plan, src, names, obj_open_named, &arg);
}

static char *
obj_describe(MetaetlPlan *plan, MetaetlNode *src)
{
	char	   *key = MetaetlJStr(src->conf, "key");
	char	   *prefix = MetaetlJStr(src->conf, "prefix");
	char	   *pattern = MetaetlJStr(src->conf, "pattern");
	char	   *conn = MetaetlJStr(src->conf, "connection");

	if (key)
		return psprintf("%s object %s via connection %s", src->type, key, conn ? conn : "?");
	return psprintf("%s objects under \"%s\"%s%s%s via connection %s", src->type, prefix ? prefix : "",
					pattern ? " matching \"" : "", pattern ? pattern : "", pattern ? "\"" : "",
					conn ? conn : "?");
}

static int64
obj_load(MetaetlPlan *plan, MetaetlTarget *tgt, const char *with_prefix, const char *ref, List *cols)
{
	ObjClient  *c;
	char	   *key = MetaetlJStr(tgt->conf, "key");
	char	   *fmtname = MetaetlJStr(tgt->conf, "format");
	char	   *compression = MetaetlJStr(tgt->conf, "compression");
	const MetaetlFormat *fmt;
	MetaetlRowReader *rows;
	MetaetlOutStream *volatile out;
	int64		n = 0;

	if (strcmp(tgt->mode, "replace") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("target \"%s\": %s targets support mode replace only", tgt->id, tgt->type)));
	if (key == NULL || key[0] == '\0' || key[strlen(key) - 1] == '/')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target \"%s\": key must name an object, not be empty or end in /", tgt->id)));
	fmt = fmtname && strcmp(fmtname, "auto") != 0 ? MetaetlFindFormat(fmtname, tgt->id)
		: MetaetlFormatForName(key);
	if (fmt == NULL || fmt->write == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 fmt ? errmsg("target \"%s\": format %s cannot be written", tgt->id, fmt->name) :
				 errmsg("target \"%s\": cannot tell the format of \"%s\"", tgt->id, key),
				 errhint("Give format: one of %s.", MetaetlFormatList(true))));
	c = obj_client(tgt->type, tgt->conf, false, tgt->id);
	key = obj_full_key(c, key);
	tgt->table_display = ObjName(c, key);
	if (plan->describe_only)
		return 0;

	rows = MetaetlRowReaderOpen(plan, with_prefix, ref, cols);
	out = obj_open_out(c, key);
	PG_TRY();
	{
		MetaetlOutStream *w = MetaetlCompressOut(out, compression ? compression : "auto");

		n = fmt->write(rows, tgt->conf, w);
		MetaetlStreamFinish(w);
	}
	PG_CATCH();
	{
		/* no visible object: the parts uploaded so far are discarded */
		MemoryContext old = MemoryContextSwitchTo(c->cxt);

		HOLD_INTERRUPTS();
		MetaetlStreamAbort(out);
		RESUME_INTERRUPTS();
		MemoryContextSwitchTo(old);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MetaetlRowReaderClose(rows);
	return n;
}

/* is "name" in the ", "-separated list the format registry gives? */
static bool
obj_format_listed(const char *name, bool writable)
{
	char	   *list = MetaetlFormatList(writable);

	for (char *tok = strtok(list, ", "); tok; tok = strtok(NULL, ", "))
		if (strcmp(tok, name) == 0)
			return true;
	return false;
}

/* validation across keys (no I/O: the objects may not exist yet) */
static void
obj_check(CfgCheck *chk, const char *type, bool is_source)
{
	const char *key = MetaetlCfgKeyString(chk, "key");
	const char *format = MetaetlCfgKeyString(chk, "format");
	const char *what = is_source ? "source" : "target";

	if (MetaetlCfgKey(chk, "connection") == NULL)
		MetaetlCfgProblem(chk, true, NULL, "an %s %s needs connection: the name of an %s connection "
						  "(etl.add_connection)", type, what, type);
	if (is_source && MetaetlCfgKey(chk, "pattern") && MetaetlCfgKey(chk, "prefix") == NULL)
		MetaetlCfgProblem(chk, true, "pattern", "pattern applies to objects under a prefix; give prefix");
	if (key && key[0] == '\0')
		MetaetlCfgProblem(chk, true, "key", "key must not be empty");
	else if (key && !is_source && key[strlen(key) - 1] == '/')
		MetaetlCfgProblem(chk, true, "key", "a target's key must name an object, not end in /");
	if (format && strcmp(format, "auto") != 0 && !obj_format_listed(format, !is_source))
		MetaetlCfgProblem(chk, true, "format", "unknown %sformat \"%s\" (formats: %s)",
						  is_source ? "" : "writable ", format, MetaetlFormatList(!is_source));
	else if ((format == NULL || strcmp(format, "auto") == 0) && key && key[0] &&
			 MetaetlFormatForName(key) == NULL)
		MetaetlCfgProblem(chk, true, "format", "cannot tell the format of \"%s\" from its name; give format "
						  "(formats: %s)", key, MetaetlFormatList(!is_source));

	/* options: are the format's (the key's or pattern's suffix tells it, else any format's) */
	{
		const MetaetlFormat *fmt = NULL;
		const char *name = key ? key : MetaetlCfgKeyString(chk, "pattern");

		if (format && strcmp(format, "auto") != 0)
			fmt = MetaetlLookupFormat(format);
		else if (name && name[0])
			fmt = MetaetlFormatForName(name);
		if (fmt || format == NULL || strcmp(format, "auto") == 0)
			MetaetlFormatCheckOptions(chk, fmt);
	}
}

static const char *const s3_types[] = {"s3", NULL};
static const char *const azure_types[] = {"azure_blob", NULL};
static const char *const gcs_types[] = {"gcs", NULL};

const MetaetlConnector MetaetlS3Connector = {
	.name = "s3",
	.types = s3_types,
	.connection_types = s3_types,
	.source_keys = obj_source_keys,
	.target_keys = obj_target_keys,
	.connection_keys = s3_connection_keys,
	.target_modes = obj_modes,
	.check = obj_check,
	.describe = obj_describe,
	.extract = obj_extract,
	.load = obj_load,
};

const MetaetlConnector MetaetlAzureBlobConnector = {
	.name = "azure_blob",
	.types = azure_types,
	.connection_types = azure_types,
	.source_keys = obj_source_keys,
	.target_keys = obj_target_keys,
	.connection_keys = azure_connection_keys,
	.target_modes = obj_modes,
	.check = obj_check,
	.describe = obj_describe,
	.extract = obj_extract,
	.load = obj_load,
};

const MetaetlConnector MetaetlGcsConnector = {
	.name = "gcs",
	.types = gcs_types,
	.connection_types = gcs_types,
	.source_keys = obj_source_keys,
	.target_keys = obj_target_keys,
	.connection_keys = gcs_connection_keys,
	.target_modes = obj_modes,
	.check = obj_check,
	.describe = obj_describe,
	.extract = obj_extract,
	.load = obj_load,
};
