/*-------------------------------------------------------------------------
 *
 * src/util/curl.h
 *		A small libcurl wrapper: one HTTP POST or one SMTP message per call.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_CURL_H
#define METAETL_CURL_H

#include "nodes/pg_list.h"

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

#endif							/* METAETL_CURL_H */
