/*-------------------------------------------------------------------------
 *
 * src/connectors/objstore.h
 *		Object stores (S3, Azure Blob, Google Cloud Storage): what the
 *		family's files share.
 *
 * connectors/objstore.c is the connector (vocabulary, extract, load), the
 * client (connection, endpoint rules, requests with retries, errors), and
 * the object streams (ranged reads, part uploads).  A provider — s3.c,
 * gcs.c, azure.c — only knows its protocol: how to address an object, how to
 * sign a request, how to list, put and upload in parts.  GCS's XML API is
 * S3's protocol under other names, so gcs.c reuses s3.c's operations.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_OBJSTORE_H
#define METAETL_OBJSTORE_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "util/curl.h"

typedef struct ObjClient ObjClient;
typedef struct ObjProvider ObjProvider;

/* one request to the store, before addressing and signing */
typedef struct ObjReq
{
	const char *method;			/* GET, HEAD, PUT, POST, DELETE */
	const char *key;			/* the object's full key, or NULL: the bucket */
	const char *query;			/* encoded query string without '?', or NULL */
	List	   *headers;		/* "Name: value", sent and signed */
	const char *body;
	size_t		body_len;
	char	   *out;			/* ranged reads: bytes land here */
	size_t		out_cap;
	size_t		max_body;		/* listings: the largest reply kept */
} ObjReq;

/* an object in a listing */
typedef struct ObjEntry
{
	char	   *key;			/* full key */
	int64		size;
	char	   *etag;			/* as the store quotes it, or NULL */
} ObjEntry;

/* an upload in parts (S3/GCS multipart upload, Azure blocks) */
typedef struct ObjUpload
{
	ObjClient  *client;
	const char *key;
	char	   *upload_id;		/* S3/GCS; NULL before begin */
	List	   *parts;			/* char *: ETags (S3/GCS) or block ids (Azure) */
	bool		begun;
} ObjUpload;

struct ObjProvider
{
	const char *type;			/* s3, azure_blob, gcs: source, target and
								 * connection type */
	const char *scheme;			/* object names in messages: s3://bucket/key */
	const char *bucket_word;	/* "bucket", or Azure's "container" */
	size_t		min_part;		/* smallest part but the last */
	int			max_parts;

	/* read options and secret into the client; raise on bad ones */
	void		(*configure) (ObjClient *c, JsonbContainer *options);
	/* the request's URL (without a signature) */
	char	   *(*url) (ObjClient *c, const ObjReq *r);
	/* headers to send besides r->headers: authentication, dates, versions */
	List	   *(*sign) (ObjClient *c, const ObjReq *r, const char *url);
	/* every object whose key starts with prefix (ObjEntry *) */
	List	   *(*list) (ObjClient *c, const char *prefix);
	void		(*put) (ObjClient *c, const char *key, const char *data, size_t len);
	void		(*upload_begin) (ObjUpload *u);
	void		(*upload_part) (ObjUpload *u, int partno, const char *data, size_t len);
	void		(*upload_complete) (ObjUpload *u);
	void		(*upload_abort) (ObjUpload *u); /* best effort; never raises
												 * but for out-of-memory */
};

struct ObjClient
{
	const ObjProvider *p;
	MemoryContext cxt;			/* lives as long as the source's or target's work */
	MetaetlHttpSession *http;
	char	   *conn_name;
	char	   *for_what;		/* "source \"events\"", for messages */
	Jsonb	   *secret;			/* the credential's secret, for redaction; NULL
								 * for anonymous access */

	/* addressing */
	char	   *endpoint;		/* scheme://host[:port][/path], no trailing '/' */
	char	   *host;			/* host[:port] of the endpoint */
	bool		https;
	bool		path_style;		/* S3: bucket in the path, not the host */
	char	   *bucket;			/* S3/GCS bucket, Azure container */
	char	   *account;		/* Azure */
	char	   *region;
	char	   *prefix;			/* the connection's key prefix, or "" */
	bool		tls_verify;
	char	   *ca_file;
	size_t		part_size;
	int			list_page_size; /* objects per listing request; 0: the store's default */

	/* credentials (never in a message) */
	char	   *access_key_id;
	char	   *secret_key;
	char	   *session_token;
	unsigned char *account_key; /* Azure SharedKey, decoded */
	int			account_key_len;
	char	   *sas_token;		/* Azure SAS, without '?' */
};

/* in connectors/objstore.c */
extern char *ObjName(ObjClient *c, const char *key);
extern void ObjExec(ObjClient *c, const ObjReq *r, MetaetlHttpResponse *res);
extern void ObjCheck(ObjClient *c, const ObjReq *r, MetaetlHttpResponse *res, const char *doing);
extern char *ObjHeaderLine(const char *name, const char *fmt,...) pg_attribute_printf(2, 3);
extern char *ObjEncode(const char *s, bool keep_slash);
extern char *ObjRedact(ObjClient *c, const char *text);
extern char *ObjSecretField(ObjClient *c, const char *key, bool required, const char *needs);
extern List *ObjXmlElements(ObjClient *c, const char *xml, size_t len, const char *record,
							const char *const *fields, int nfields, char **next, const char *next_name,
							bool quiet);

/* in connectors/s3.c: S3, and the operations GCS shares */
extern const ObjProvider ObjS3;
extern List *ObjS3List(ObjClient *c, const char *prefix);
extern void ObjS3Put(ObjClient *c, const char *key, const char *data, size_t len);
extern void ObjS3UploadBegin(ObjUpload *u);
extern void ObjS3UploadPart(ObjUpload *u, int partno, const char *data, size_t len);
extern void ObjS3UploadComplete(ObjUpload *u);
extern void ObjS3UploadAbort(ObjUpload *u);
extern char *ObjS3Url(ObjClient *c, const ObjReq *r);
extern List *ObjS3SignGoog(ObjClient *c, const ObjReq *r, const char *url);

/* in connectors/gcs.c */
extern const ObjProvider ObjGcs;

/* in connectors/azure.c */
extern const ObjProvider ObjAzure;

#endif							/* METAETL_OBJSTORE_H */
