/*-------------------------------------------------------------------------
 *
 * src/connectors/http.h
 *		Internals of the HTTP connectors: REST sources (http, alias rest),
 *		SOAP sources (soap) and HTTP targets, over one libcurl multi engine.
 *
 * A connection (etl.add_connection(name, 'http', options, credential)) is
 * parsed into an HttpConn; an operation (one source's extract, one
 * target's load) opens an HttpClient on it: a libcurl multi handle whose
 * transfers share connections (keep-alive, HTTP/2 multiplexing), limited to
 * max_parallel at once and rate_limit starts per second, each retried on
 * 429 / 5xx / timeouts with the orchestrator's backoff (retry.h), redirects
 * followed by the engine itself so every hop passes the SSRF guard again.
 * Every socket is checked (http_net.c) before it is opened.  All libcurl
 * and malloc'd state is freed by a callback on the client's memory context,
 * so an error anywhere leaks nothing.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_HTTP_H
#define METAETL_HTTP_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "connectors/connector.h"
#include "connectors/sink.h"
#include "connectors/stream.h"
#include "orchestrator/retry.h"

/* the options of an http connection, checked and defaulted */
typedef struct HttpConn
{
	char	   *name;			/* connection name, or NULL (none given) */
	char	   *base_url;		/* "" when none */
	List	   *allowed_hosts;	/* char *; NIL = loopback names only */
	bool		allow_private;
	List	   *headers;		/* "Name: value" */
	JsonbContainer *auth;		/* {type: ...} or NULL */
	double		rate_limit;		/* request starts per second; 0 = unlimited */
	int			max_parallel;
	long		timeout_ms;
	int64		max_bytes;
	char	   *ca_file;
	bool		tls_verify;
	MetaetlRetryPolicy retry;	/* per request */
	double		retry_max_total_s;	/* bound on one request's attempts and waits */
	Jsonb	   *secret;			/* the credential's secret, or NULL */
	const char *what;			/* "source \"orders\"", for messages */
} HttpConn;

typedef struct HttpXfer HttpXfer;
typedef struct HttpClient HttpClient;

/* one request and, when done, its response */
typedef struct HttpReq
{
	/* set by the caller */
	const char *method;			/* GET, POST, PUT, PATCH */
	char	   *url;			/* absolute */
	List	   *headers;		/* "Name: value", besides the connection's */
	char	   *body;			/* request body, or NULL */
	size_t		body_len;
	bool		stream;			/* body read through HttpStreamOpen, not kept */
	bool		anonymous;		/* send no auth (the OAuth2 token request) */
	bool		final_500;		/* a 500 is an answer (a SOAP fault), not retried */
	char	   *label;			/* "page 3", "batch 2", for messages */

	/* results */
	bool		done;
	long		status;
	char	   *data;			/* whole body (not stream), NUL-terminated */
	size_t		len;
	bool		data_in_server_encoding;	/* HttpBodyToServer ran */
	char	   *content_type;
	char	   *link_next;		/* Link rel="next" target, or NULL */
	char	   *final_url;		/* after redirects */
	int			attempts;
	double		ms;				/* first start to done */
	char	   *error;			/* final failure: "HTTP status 500", or NULL */
	char	   *detail;			/* what the server said (redacted), or NULL */
	char	   *hint;
	int			sqlstate;		/* errcode for error */
	HttpXfer   *x;				/* engine state */
} HttpReq;

/* in connectors/http_json.c */
extern void HttpBodyToServer(HttpConn *conn, HttpReq *req);

/* in connectors/http_conn.c */
extern HttpConn *HttpConnLoad(JsonbContainer *conf, bool is_source, const char *id,
							  const char *what);
extern char *HttpBuildUrl(HttpConn *conn, const char *path, List *query);
extern char *HttpUrlDisplay(const char *url);
extern char *HttpResolveUrl(const char *base, const char *ref);
extern void HttpCheckUrl(HttpConn *conn, const char *url, const char *why);
extern bool HttpSameOrigin(const char *a, const char *b);
extern List *HttpHeaderList(JsonbContainer *headers, Jsonb *ctx, List *into);
extern char *HttpUrlEncode(const char *s);

/* in connectors/http_auth.c */
extern void HttpAuthApply(HttpClient *cli, HttpReq *req, List **headers, char **url,
						  char **user, char **password);
extern int	HttpAuthGeneration(HttpClient *cli);
extern void HttpAuthInvalidate(HttpClient *cli, int generation);
extern bool HttpAuthRefreshable(HttpClient *cli);
extern char *HttpRedact(HttpClient *cli, const char *text);

/* in connectors/http_fetch.c: the engine */
extern HttpClient *HttpClientOpen(HttpConn *conn);
extern HttpConn *HttpClientConn(HttpClient *cli);
extern void HttpSubmit(HttpClient *cli, HttpReq *req);
extern void HttpWait(HttpClient *cli, HttpReq *req);
extern void HttpRaise(HttpClient *cli, HttpReq *req);
extern void HttpPerform(HttpClient *cli, HttpReq *req);
extern MetaetlInStream *HttpStreamOpen(HttpClient *cli, HttpReq *req);
extern void HttpClientClose(HttpClient *cli);
extern void HttpClientStats(HttpClient *cli, int *requests, int *retries, int64 *bytes);
extern void HttpAuthSetToken(HttpClient *cli, char *token, double expires_in);
extern void *HttpClientAuthState(HttpClient *cli);
extern void HttpClientSetAuthState(HttpClient *cli, void *state);

/* in connectors/http_json.c */
typedef struct HttpJsonPage HttpJsonPage;
extern Jsonb *HttpParseJson(HttpConn *conn, HttpReq *req);
extern Jsonb *HttpJsonPath(HttpConn *conn, Jsonb *doc, const char *path, const char *key,
						   const char *label);
extern char *HttpJsonPathText(HttpConn *conn, Jsonb *doc, const char *path, const char *key,
							  const char *label);
extern List *HttpInferColumns(MetaetlNode *src, Jsonb *records);
extern int64 HttpPutRecords(MetaetlSink *sink, List *cols, Jsonb *records, const char *label);
typedef struct HttpJsonPlan HttpJsonPlan;
extern HttpJsonPlan *HttpJsonPlanCompile(const char *records, List *scalar_paths);
extern bool HttpJsonPageFast(HttpJsonPlan *plan, MetaetlSink *sink, HttpReq *req, int64 *records,
							 char **scalars);



/* in connectors/http_target.c */
extern int64 HttpLoad(MetaetlPlan *plan, MetaetlTarget *tgt, const char *with_prefix,
					  const char *ref, List *cols);

#endif							/* METAETL_HTTP_H */
