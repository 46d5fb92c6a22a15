/*-------------------------------------------------------------------------
 *
 * src/util/curl.h
 *		A small libcurl wrapper: one HTTP POST or one SMTP message per call
 *		(alert delivery), and HTTP sessions for transfers of any size
 *		(object stores).
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_CURL_H
#define METAETL_CURL_H

#include "nodes/pg_list.h"
#include "utils/palloc.h"

typedef enum MetaetlCurlUseSsl
{
	METAETL_SSL_NONE,			/* plain text (smtp:// without STARTTLS) */
	METAETL_SSL_TRY,			/* STARTTLS when the server offers it */
	METAETL_SSL_ALL				/* STARTTLS required */
} MetaetlCurlUseSsl;

typedef struct MetaetlCurlRequest
{
	const char *url;			/* http(s):// or smtp(s):// */
	const char *body;			/* POST body, or the whole RFC 5322 message */
	List	   *headers;		/* char *, "Name: value" (HTTP) */
	const char *username;		/* HTTP basic auth, or SMTP AUTH */
	const char *password;
	const char *bearer;			/* HTTP Authorization: Bearer */
	const char *mail_from;		/* SMTP envelope sender */
	List	   *rcpt;			/* char *, SMTP envelope recipients */
	MetaetlCurlUseSsl use_ssl;
	const char *ca_file;		/* CA bundle for TLS verification */
	bool		tls_verify;
	long		timeout_ms;
	long		connect_timeout_ms;
} MetaetlCurlRequest;

typedef struct MetaetlCurlResult
{
	bool		ok;				/* completed, and (HTTP) answered 2xx */
	long		status;			/* HTTP status or last SMTP reply code; 0 if none */
	char	   *reply;			/* last SMTP reply line, or NULL */
	char	   *response;		/* first bytes of the HTTP response body */
	char	   *error;			/* what went wrong, or NULL */
	double		latency_ms;
} MetaetlCurlResult;

/* in util/curl.c */
extern void MetaetlCurlPerform(const MetaetlCurlRequest *req, MetaetlCurlResult *res);

/*
 * For code that drives its own easy handles (connectors/http_fetch.c runs
 * them in a multi handle): libcurl's one-time global setup, and the options
 * every metaetl transfer carries — protocols limited to http/https, no
 * redirects followed by libcurl, no signals, connect and total timeouts,
 * abandoned on a pending cancel (the interrupt is serviced after libcurl
 * returns), no proxy from the environment, TLS verification unless turned
 * off, an optional CA bundle.  "h" is a CURL *.
 */
extern void MetaetlCurlGlobalInit(void);
extern void MetaetlCurlBaseOptions(void *h, long timeout_ms, long connect_timeout_ms,
								   const char *ca_file, bool tls_verify);

/*
 * HTTP sessions.  A session keeps one libcurl handle, so consecutive
 * requests to one host reuse its connection (TLS handshakes are not
 * repeated for every ranged read or uploaded part).  The handle is freed
 * when the memory context the session was created in is reset or deleted,
 * also on error.  A request body is sent from memory and a response body
 * lands in the caller's buffer, so nothing is allocated while curl runs.
 */
typedef struct MetaetlHttpSession MetaetlHttpSession;

typedef struct MetaetlHttpRequest
{
	const char *method;			/* GET, HEAD, PUT, POST, DELETE */
	const char *url;
	List	   *headers;		/* char *, "Name: value" */
	const char *body;			/* request body (binary), or NULL for none */
	size_t		body_len;
	char	   *out;			/* the response body goes here, at most out_cap
								 * bytes; NULL: into res->body */
	size_t		out_cap;
	size_t		max_body;		/* out == NULL: keep at most this many bytes
								 * (0: 64 kB); the rest is read and dropped */
	bool		tls_verify;
	const char *ca_file;		/* CA bundle for TLS verification, or NULL */
	long		timeout_ms;		/* whole request (0: 300 s) */
	long		connect_timeout_ms; /* 0: 10 s */
} MetaetlHttpRequest;

typedef struct MetaetlHttpResponse
{
	long		status;			/* HTTP status; 0 if no response came */
	char	   *body;			/* out == NULL: the body (NUL-terminated) */
	size_t		body_len;		/* bytes in body, or written to out */
	bool		truncated;		/* the body was longer than out_cap (the
								 * transfer was stopped) or max_body */
	char	   *headers;		/* the response's header lines */
	char	   *error;			/* why the transfer failed, or NULL */
	double		latency_ms;
} MetaetlHttpResponse;

extern MetaetlHttpSession *MetaetlHttpSessionCreate(MemoryContext cxt);
extern void MetaetlHttpExec(MetaetlHttpSession *s, const MetaetlHttpRequest *req,
							MetaetlHttpResponse *res);
/* the value of response header "name" (case-insensitive), or NULL */
extern char *MetaetlHttpHeader(const MetaetlHttpResponse *res, const char *name);

/*
 * Streamed GETs: the body is read as the caller consumes it, through one
 * 4 MiB buffer (the transfer pauses while it is full).  The handles are
 * freed when "cxt" is reset, or by MetaetlHttpStreamClose.
 */
typedef struct MetaetlHttpStream MetaetlHttpStream;

extern MetaetlHttpStream *MetaetlHttpStreamOpen(const MetaetlHttpRequest *req, MetaetlHttpResponse *res,
												MemoryContext cxt);
extern size_t MetaetlHttpStreamRead(MetaetlHttpStream *s, char *buf, size_t len, char **error);
extern void MetaetlHttpStreamClose(MetaetlHttpStream *s);

/*
 * Fetches: a GET into the caller's buffer (req->out, out_cap) that runs
 * while the caller works.  libcurl moves only in MetaetlHttpFetchPump (never
 * blocks: what has arrived is read) and MetaetlHttpFetchWait (blocks until
 * the reply is whole, then fills *res as MetaetlHttpExec does), so a caller
 * overlaps the transfer with its own work by pumping between steps of it.
 * A fetch is started again for the next GET and keeps its connection; its
 * handles are freed when "cxt" is reset.  Nothing is retried here.
 */
typedef struct MetaetlHttpFetch MetaetlHttpFetch;

extern MetaetlHttpFetch *MetaetlHttpFetchCreate(MemoryContext cxt);
extern void MetaetlHttpFetchStart(MetaetlHttpFetch *f, const MetaetlHttpRequest *req);
extern void MetaetlHttpFetchPump(MetaetlHttpFetch *f);
extern void MetaetlHttpFetchWait(MetaetlHttpFetch *f, MetaetlHttpResponse *res);
extern void MetaetlHttpFetchCancel(MetaetlHttpFetch *f);

#endif							/* METAETL_CURL_H */
