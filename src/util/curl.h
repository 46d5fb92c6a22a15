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

#endif							/* METAETL_CURL_H */
