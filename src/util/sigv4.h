/*-------------------------------------------------------------------------
 *
 * src/util/sigv4.h
 *		AWS Signature Version 4 (and Google's GOOG4 variant) request signing,
 *		in pure C over OpenSSL.
 *
 * One call turns a request (method, URL, the headers to sign, the payload's
 * SHA-256) and a credential into the headers that authenticate it:
 * Authorization, the date header (x-amz-date / x-goog-date), the Host value
 * that was signed and, with a session token, x-amz-security-token.  The
 * caller sends those along with its own signed headers, unchanged.
 *
 * Used by the object-store connectors (S3; GCS through its XML API with
 * HMAC keys, which is the same algorithm under other names) and by the
 * AWS Secrets Manager secret store.  No PostgreSQL headers and no
 * allocation that outlives a call: unit-tested against AWS's published
 * test suite by test/unit/test_sigv4.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_SIGV4_H
#define METAETL_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

typedef enum MetaetlSigV4Algorithm
{
	METAETL_SIGV4_AWS,			/* AWS4-HMAC-SHA256, x-amz-date, "aws4_request" */
	METAETL_SIGV4_GOOG			/* GOOG4-HMAC-SHA256, x-goog-date, "goog4_request" */
} MetaetlSigV4Algorithm;

typedef struct MetaetlSigV4Header
{
	const char *name;			/* any case; trimmed and lower-cased to sign */
	const char *value;			/* trimmed, inner runs of spaces collapsed */
} MetaetlSigV4Header;

typedef struct MetaetlSigV4Request
{
	MetaetlSigV4Algorithm algorithm;
	const char *method;			/* GET, PUT, ... */

	/*
	 * scheme://host[:port]/path?query.  The path and query are signed in
	 * their canonical form (each part percent-decoded, then encoded with
	 * RFC 3986's unreserved set; query parameters sorted), so a URL that is
	 * already encoded that way is signed exactly as it is sent.
	 */
	const char *url;
	bool		normalize_path; /* resolve "." / ".." and "//" (not for S3) */
	const char *region;			/* us-east-1, or "auto" for GCS */
	const char *service;		/* s3, storage, secretsmanager ... */

	/* headers to sign besides host, the date and the session token */
	const MetaetlSigV4Header *headers;
	int			nheaders;

	const char *payload_hash;	/* lower-case hex SHA-256 of the body, or
								 * "UNSIGNED-PAYLOAD"; NULL: the empty body */
	const char *access_key_id;
	const char *secret_key;
	const char *session_token;	/* NULL, or signed as x-amz-security-token */
	const char *datetime;		/* YYYYMMDDTHHMMSSZ (UTC); NULL: now */
} MetaetlSigV4Request;

#define METAETL_SIGV4_AUTH_MAX 2048

typedef struct MetaetlSigV4Result
{
	char		authorization[METAETL_SIGV4_AUTH_MAX];	/* the header's value */
	const char *date_header;	/* "x-amz-date" or "x-goog-date" */
	char		datetime[17];	/* its value */
	char		host[512];		/* the Host header value that was signed */
	char		signature[65];	/* lower-case hex */
	char		canonical_hash[65]; /* SHA-256 of the canonical request (tests) */
} MetaetlSigV4Result;

/*
 * Sign "req" into "out".  Returns true, or false with a reason in errbuf
 * (a malformed URL or datetime, an over-long header list); the reason never
 * contains the secret.
 */
extern bool MetaetlSigV4Sign(const MetaetlSigV4Request *req, MetaetlSigV4Result *out,
							 char *errbuf, size_t errlen);

/*
 * The canonical request "req" signs, in a malloc'd string the caller frees
 * (NULL on a malformed request).  For tests and for debugging a
 * SignatureDoesNotMatch: it holds no secret.
 */
extern char *MetaetlSigV4CanonicalRequest(const MetaetlSigV4Request *req);

/* lower-case hex SHA-256 of len bytes, into out[65] */
extern void MetaetlSha256Hex(const void *data, size_t len, char *out);

/*
 * Percent-encode "in" with RFC 3986's unreserved set (A-Z a-z 0-9 - . _ ~),
 * keeping '/' when keep_slash.  Writes at most outsz bytes including the
 * terminator; returns the length the full encoding needs (like snprintf).
 */
extern size_t MetaetlUriEncode(const char *in, size_t inlen, bool keep_slash, char *out, size_t outsz);

/* the current UTC time as YYYYMMDDTHHMMSSZ, into out[17] */
extern void MetaetlSigV4Now(char *out);

#endif							/* METAETL_SIGV4_H */
