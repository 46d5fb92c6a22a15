/*-------------------------------------------------------------------------
 *
 * src/connectors/http_conn.c
 *		HTTP connections: their options read through the security manager,
 *		URLs built from base_url, and the allowed_hosts check.
 *
 * A connection's options are validated key by key by etl.add_connection
 * (the registry in http.c declares them); here they get their defaults and
 * the checks across keys.  allowed_hosts decides which hosts a URL may
 * name — the base URL, every next-page URL and every redirect target; a
 * connection without it may only name loopback hosts.  Which addresses a
 * socket may then connect to is the engine's socket check (http_fetch.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "catalog/pg_authid.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "connectors/http.h"
#include "connectors/http_net.h"
#include "security/security.h"

#define HTTP_DEFAULT_MAX_BYTES (100 * 1024 * 1024)

static double
conn_number(JsonbContainer *o, const char *key, double dflt, double min, double max,
			const char *what, const char *name)
{
	JsonbValue *v = MetaetlJGet(o, key);
	double		d;

	if (v == NULL)
		return dflt;
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: option %s of connection \"%s\" must be a number", what, key, name)));
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	if (d < min || d > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: option %s of connection \"%s\" must be between %g and %g", what, key,
						name, min, max)));
	return d;
}

/*
 * HttpHeaderList
 *		{Name: value} as "Name: value" strings appended to "into"; values
 *		rendered as templates (raw: a header is not a URL) when ctx is given.
 *		Names and values may not hold line breaks (no header injection).
 */
List *
HttpHeaderList(JsonbContainer *headers, Jsonb *ctx, List *into)
{
	char	  **k;
	JsonbValue **v;
	int			n = MetaetlJObjEntries(headers, &k, &v);

	for (int i = 0; i < n; i++)
	{
		char	   *val = MetaetlJValueText(v[i]);

		if (val == NULL)
			val = "";
		if (ctx)
			val = MetaetlRenderTemplateAs(val, ctx, METAETL_TPL_RAW);
		if (strpbrk(k[i], "\r\n:") || strpbrk(val, "\r\n") || k[i][0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("header \"%s\" is not a valid HTTP header", k[i]),
					 errdetail("Header names may not hold colons; names and values may not hold line breaks.")));
		into = lappend(into, psprintf("%s: %s", k[i], val));
	}
	return into;
}

/*
 * HttpConnLoad
 *		The connection a source or target names, with its defaults, its
 *		secret (for the run's role) and the source's own auth / headers.
 */
HttpConn *
HttpConnLoad(JsonbContainer *conf, bool is_source, const char *id, const char *what)
{
	HttpConn   *c = palloc0(sizeof(HttpConn));
	char	   *name = MetaetlJStr(conf, "connection");
	MetaetlConnection *mc;
	JsonbContainer *o;
	JsonbContainer *retry;
	JsonbValue *hosts;

	c->what = what;
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs a connection", what),
				 errhint("Create one with etl.add_connection(name, 'http', '{\"base_url\": ...}') and name it in connection.")));
	mc = MetaetlGetConnection(name, is_source, false, what);
	if (strcmp(mc->type, "http") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s: connection \"%s\" is a %s connection, not an http one", what, name, mc->type)));
	c->name = mc->name;
	o = &mc->options->root;

	c->base_url = MetaetlJStr(o, "base_url");
	if (c->base_url == NULL)
		c->base_url = "";
	hosts = MetaetlJGet(o, "allowed_hosts");
	if (hosts)
		c->allowed_hosts = MetaetlJStrList(o, "allowed_hosts", "allowed_hosts");
	c->allow_private = MetaetlJBool(o, "allow_private", false);
	c->headers = HttpHeaderList(MetaetlJObj(o, "headers"), NULL, NIL);
	c->auth = MetaetlJObj(o, "auth");
	c->rate_limit = conn_number(o, "rate_limit", 0, 0, 100000, what, name);
	c->max_parallel = (int) conn_number(o, "max_parallel", 4, 1, 64, what, name);
	c->timeout_ms = (long) (conn_number(o, "timeout_s", 30, 0.001, 86400, what, name) * 1000);
	c->max_bytes = (int64) conn_number(o, "max_bytes", HTTP_DEFAULT_MAX_BYTES, 1, 1e12, what, name);
	c->ca_file = MetaetlJStr(o, "ca_file");
	c->tls_verify = MetaetlJBool(o, "tls_verify", true);
	if (c->ca_file && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s: connection \"%s\" names a ca_file, which needs the pg_read_server_files role",
						what, name)));

	/* per request: 4 attempts, 0.5 s doubling to 30 s, jitter, 120 s in all */
	retry = MetaetlJObj(o, "retry");
	c->retry.max_attempts = (int) conn_number(retry, "max_attempts", 4, 1, 100, what, name);
	c->retry.initial_delay_s = conn_number(retry, "initial_delay_s", 0.5, 0, 3600, what, name);
	c->retry.backoff = conn_number(retry, "backoff", 2.0, 1, 100, what, name);
	c->retry.max_delay_s = conn_number(retry, "max_delay_s", 30, 0, 86400, what, name);
	c->retry.jitter = MetaetlJBool(retry, "jitter", true);
	c->retry_max_total_s = conn_number(retry, "max_total_s", 120, 0, 86400, what, name);

	/* the source's / target's own auth replaces the connection's; headers add */
	if (MetaetlJGet(conf, "auth"))
		c->auth = MetaetlJObj(conf, "auth");
	if (mc->credential)
		c->secret = MetaetlConnectionSecret(mc, GetUserId());
	if (c->base_url[0])
		HttpCheckUrl(c, c->base_url, "base_url");
	return c;
}

/* a CURLU for url, or an error naming it */
static CURLU *
url_parse(const char *url, const char *what)
{
	CURLU	   *u = curl_url();
	CURLUcode	rc;

	if (u == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK)
	{
		curl_url_cleanup(u);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: \"%s\" is not a valid URL", what, HttpUrlDisplay(url)),
				 errdetail("%s.", curl_url_strerror(rc))));
	}
	return u;
}

/* one part of a parsed URL, palloc'd, or NULL */
static char *
url_part(CURLU *u, CURLUPart part, unsigned int flags)
{
	char	   *v = NULL;
	char	   *r;

	if (curl_url_get(u, part, &v, flags) != CURLUE_OK || v == NULL)
		return NULL;
	r = pstrdup(v);
	curl_free(v);
	return r;
}

/*
 * HttpUrlDisplay
 *		url for messages: scheme, host, port and path; no user, password,
 *		query or fragment (a query may carry an api key).  Never raises.
 */
char *
HttpUrlDisplay(const char *url)
{
	const char *q = strpbrk(url, "?#");
	const char *at;
	const char *scheme = strstr(url, "://");
	size_t		len = q ? (size_t) (q - url) : strlen(url);
	char	   *r = pnstrdup(url, len);

	/* drop userinfo: scheme://user:pw@host */
	if (scheme && (at = strchr(r, '@')) != NULL)
	{
		const char *slash = strchr(r + (scheme - url) + 3, '/');

		if (slash == NULL || at < slash)
			r = psprintf("%.*s%s", (int) (scheme - url) + 3, r, at + 1);
	}
	return r;
}

/*
 * HttpCheckUrl
 *		Raise unless url is http(s), carries no user or password, and names a
 *		host the connection allows: one of allowed_hosts, or with none given,
 *		a loopback host.  A literal address that the socket check would
 *		refuse is refused here already, with the same words.
 */
void
HttpCheckUrl(HttpConn *conn, const char *url, const char *why)
{
	CURLU	   *u = url_parse(url, conn->what);
	char	   *scheme = url_part(u, CURLUPART_SCHEME, 0);
	char	   *host = url_part(u, CURLUPART_HOST, 0);
	char	   *portstr = url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
	char	   *user = url_part(u, CURLUPART_USER, 0);
	int			port = portstr ? atoi(portstr) : 0;
	bool		ok = false;
	ListCell   *lc;
	HttpAddrClass cls;

	curl_url_cleanup(u);
	if (scheme == NULL || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: \"%s\" is not an http or https URL", conn->what, HttpUrlDisplay(url))));
	if (user)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: URLs may not carry a user or password", conn->what),
				 errhint("Put the secret in the connection's credential and use auth: {type: basic}.")));
	if (host == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: \"%s\" has no host", conn->what, HttpUrlDisplay(url))));
	if (conn->allowed_hosts == NIL)
		ok = HttpHostIsLoopback(host);
	foreach(lc, conn->allowed_hosts)
		ok |= HttpHostMatches(host, port, lfirst(lc));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s: host \"%s\"%s%s is not allowed by connection \"%s\"", conn->what, host,
						why ? " in " : "", why ? why : "", conn->name ? conn->name : "?"),
				 conn->allowed_hosts == NIL ?
				 errdetail("The connection has no allowed_hosts, so only loopback hosts (localhost, 127.0.0.1, ::1) may be used.") :
				 errdetail("allowed_hosts does not list it."),
				 errhint("List the hosts the connection may reach in its allowed_hosts option.")));
	if (HttpClassifyLiteral(host, &cls) && !HttpAddrAllowed(cls, conn->allow_private))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s: refused to connect to %s%s%s, %s", conn->what, host,
						why ? " in " : "", why ? why : "", HttpAddrClassName(cls)),
				 errhint("Link-local, cloud metadata and reserved addresses are never allowed; "
						 "private and loopback ones need allow_private: true on the connection.")));
}

/* ref (absolute, or relative to base as a browser resolves it) as an absolute URL */
char *
HttpResolveUrl(const char *base, const char *ref)
{
	CURLU	   *u = url_parse(base, "next page");
	CURLUcode	rc = curl_url_set(u, CURLUPART_URL, ref, 0);
	char	   *r;

	if (rc != CURLUE_OK)
	{
		curl_url_cleanup(u);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the next page's URL \"%s\" is not valid", HttpUrlDisplay(ref)),
				 errdetail("%s.", curl_url_strerror(rc))));
	}
	r = url_part(u, CURLUPART_URL, 0);
	curl_url_cleanup(u);
	return r;
}

/* same scheme, host and port (no raise: a bad URL is a different origin) */
bool
HttpSameOrigin(const char *a, const char *b)
{
	CURLU	   *ua,
			   *ub;
	bool		same = false;

	if (a == NULL || b == NULL || b[0] == '\0')
		return false;
	ua = curl_url();
	ub = curl_url();
	if (ua && ub && curl_url_set(ua, CURLUPART_URL, a, 0) == CURLUE_OK &&
		curl_url_set(ub, CURLUPART_URL, b, 0) == CURLUE_OK)
	{
		char	   *s1 = url_part(ua, CURLUPART_SCHEME, 0),
				   *s2 = url_part(ub, CURLUPART_SCHEME, 0),
				   *h1 = url_part(ua, CURLUPART_HOST, 0),
				   *h2 = url_part(ub, CURLUPART_HOST, 0),
				   *p1 = url_part(ua, CURLUPART_PORT, CURLU_DEFAULT_PORT),
				   *p2 = url_part(ub, CURLUPART_PORT, CURLU_DEFAULT_PORT);

		same = s1 && s2 && h1 && h2 && p1 && p2 && strcmp(s1, s2) == 0 &&
			pg_strcasecmp(h1, h2) == 0 && strcmp(p1, p2) == 0;
	}
	if (ua)
		curl_url_cleanup(ua);
	if (ub)
		curl_url_cleanup(ub);
	return same;
}

/* percent-encoding of s (RFC 3986 unreserved characters kept) */
char *
HttpUrlEncode(const char *s)
{
	StringInfoData b;

	initStringInfo(&b);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			*p == '-' || *p == '.' || *p == '_' || *p == '~')
			appendStringInfoChar(&b, (char) *p);
		else
			appendStringInfo(&b, "%%%02X", *p);
	}
	return b.data;
}

/*
 * HttpBuildUrl
 *		base_url + path (an absolute path URL is taken as it is), then the
 *		query items ("name=value", already encoded) after any the path has.
 */
char *
HttpBuildUrl(HttpConn *conn, const char *path, List *query)
{
	StringInfoData b;
	ListCell   *lc;

	initStringInfo(&b);
	if (path && strstr(path, "://"))
		appendStringInfoString(&b, path);
	else
	{
		size_t		bl = strlen(conn->base_url);

		if (bl == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: connection \"%s\" has no base_url and path is not a URL", conn->what,
							conn->name ? conn->name : "?")));
		while (bl > 0 && conn->base_url[bl - 1] == '/')
			bl--;
		appendBinaryStringInfo(&b, conn->base_url, (int) bl);
		if (path && path[0])
		{
			if (path[0] != '/' && path[0] != '?')
				appendStringInfoChar(&b, '/');
			appendStringInfoString(&b, path);
		}
	}
	foreach(lc, query)
	{
		appendStringInfoChar(&b, strchr(b.data, '?') ? '&' : '?');
		appendStringInfoString(&b, lfirst(lc));
	}
	return b.data;
}
