/*-------------------------------------------------------------------------
 *
 * src/connectors/s3.c
 *		Amazon S3 (and S3-compatible stores): addressing, SigV4 signing,
 *		ListObjectsV2, PutObject and multipart uploads.
 *
 * Addressing is virtual-host style (https://bucket.s3.region.amazonaws.com/
 * key) by default and path style (endpoint/bucket/key) when path_style is
 * true, which is the default when an endpoint is given (MinIO, moto, Ceph
 * answer path style).  Every request is signed with util/sigv4.c over the
 * SHA-256 of its body (x-amz-content-sha256), so the store also checks the
 * bytes it received; a connection without a credential sends anonymous
 * requests (public buckets).  The Host header sent is the one signed.
 *
 * The operations GCS shares (its XML API is this protocol) are exported
 * through objstore.h; they address and sign through the client's provider.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"

#include "connectors/objstore.h"
#include "transform/plan.h"
#include "util/sigv4.h"

#define S3_LIST_MAX_BODY (32 * 1024 * 1024)

/* bucket names as S3 allows them: DNS labels, 3 to 63 bytes */
static void
s3_check_bucket(ObjClient *c)
{
	size_t		len = strlen(c->bucket);

	if (len < 3 || len > 63 || strspn(c->bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != len ||
		c->bucket[0] == '.' || c->bucket[0] == '-')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: \"%s\" is not a valid bucket name (connection \"%s\")", c->for_what, c->bucket,
						c->conn_name),
				 errhint("Bucket names are 3 to 63 lower-case letters, digits, dots and hyphens.")));
}

static void
s3_configure(ObjClient *c, JsonbContainer *opts)
{
	char	   *region = MetaetlJStr(opts, "region");
	JsonbValue *ps = MetaetlJGet(opts, "path_style");

	c->bucket = MetaetlJStr(opts, "bucket");
	if (c->bucket == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: connection \"%s\" has no bucket", c->for_what, c->conn_name)));
	s3_check_bucket(c);
	c->region = region ? region : "us-east-1";
	if (strspn(c->region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(c->region) || c->region[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: \"%s\" is not a valid region (connection \"%s\")", c->for_what, c->region,
						c->conn_name)));
	/* path style where an endpoint is given, unless the connection says otherwise */
	c->path_style = ps ? (ps->type == jbvBool && ps->val.boolean) : MetaetlJGet(opts, "endpoint") != NULL;
	c->endpoint = psprintf("https://s3.%s.amazonaws.com", c->region);

	if (c->secret)
	{
		const char *needs = "An s3 credential holds {\"access_key_id\": ..., \"secret_access_key\": ..., "
			"\"session_token\": ... (optional)}.";

		c->access_key_id = ObjSecretField(c, "access_key_id", true, needs);
		c->secret_key = ObjSecretField(c, "secret_access_key", true, needs);
		c->session_token = ObjSecretField(c, "session_token", false, needs);
	}
}

/*
 * ObjS3Url
 *		endpoint/bucket/key (path style) or scheme://bucket.host/key; keys
 *		percent-encoded once, slashes kept (what SigV4 signs for S3).
 */
char *
ObjS3Url(ObjClient *c, const ObjReq *r)
{
	StringInfoData b;

	initStringInfo(&b);
	if (c->path_style)
		appendStringInfo(&b, "%s/%s", c->endpoint, c->bucket);
	else
		appendStringInfo(&b, "%s://%s.%s", c->https ? "https" : "http", c->bucket, c->host);
	appendStringInfoChar(&b, '/');
	if (r->key)
		appendStringInfoString(&b, ObjEncode(r->key, true));
	if (r->query)
		appendStringInfo(&b, "?%s", r->query);
	return b.data;
}

/* the headers of "Name: value" lines as SigV4 takes them */
static MetaetlSigV4Header *
s3_sign_headers(List *lines, int extra, int *n)
{
	MetaetlSigV4Header *h = palloc0(sizeof(MetaetlSigV4Header) * (list_length(lines) + extra + 1));
	ListCell   *lc;

	*n = 0;
	foreach(lc, lines)
	{
		char	   *line = pstrdup(lfirst(lc));
		char	   *colon = strchr(line, ':');

		if (colon == NULL)
			continue;
		*colon = '\0';
		h[*n].name = line;
		h[*n].value = colon + 1;
		(*n)++;
	}
	return h;
}

/*
 * Sign with SigV4 (AWS) or GOOG4 (GCS): the request's own headers, the
 * payload hash header, the date and, with temporary credentials, the
 * session token.  Returns the headers to add.
 */
static List *
s3_sign_as(ObjClient *c, const ObjReq *r, const char *url, MetaetlSigV4Algorithm alg)
{
	MetaetlSigV4Request req;
	MetaetlSigV4Result *res = palloc(sizeof(MetaetlSigV4Result));
	char		hash[65];
	char		err[256];
	const char *hash_header = alg == METAETL_SIGV4_GOOG ? "x-goog-content-sha256" : "x-amz-content-sha256";
	int			n;
	MetaetlSigV4Header *h;
	List	   *out = NIL;

	if (c->access_key_id == NULL)
		return NIL;				/* anonymous */
	MetaetlSha256Hex(r->body ? r->body : "", r->body ? r->body_len : 0, hash);
	h = s3_sign_headers(r->headers, 1, &n);
	h[n].name = hash_header;
	h[n].value = hash;
	n++;

	memset(&req, 0, sizeof(req));
	req.algorithm = alg;
	req.method = r->method;
	req.url = url;
	req.region = alg == METAETL_SIGV4_GOOG ? "auto" : c->region;
	req.service = alg == METAETL_SIGV4_GOOG ? "storage" : "s3";
	req.headers = h;
	req.nheaders = n;
	req.payload_hash = hash;
	req.access_key_id = c->access_key_id;
	req.secret_key = c->secret_key;
	req.session_token = c->session_token;
	if (!MetaetlSigV4Sign(&req, res, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: could not sign a request to %s: %s", c->for_what, c->host, err)));
	out = lappend(out, ObjHeaderLine("Host", "%s", res->host));
	out = lappend(out, ObjHeaderLine(res->date_header, "%s", res->datetime));
	out = lappend(out, ObjHeaderLine(hash_header, "%s", hash));
	if (c->session_token)
		out = lappend(out, ObjHeaderLine("x-amz-security-token", "%s", c->session_token));
	out = lappend(out, ObjHeaderLine("Authorization", "%s", res->authorization));
	memset(res, 0, sizeof(*res));
	pfree(res);
	return out;
}

static List *
s3_sign(ObjClient *c, const ObjReq *r, const char *url)
{
	return s3_sign_as(c, r, url, METAETL_SIGV4_AWS);
}

/* GCS's XML API with HMAC keys: the same signature under GOOG4 names */
List *
ObjS3SignGoog(ObjClient *c, const ObjReq *r, const char *url)
{
	return s3_sign_as(c, r, url, METAETL_SIGV4_GOOG);
}

/* one request, raising unless it succeeded */
static void
s3_do(ObjClient *c, ObjReq *r, MetaetlHttpResponse *res, const char *doing)
{
	ObjExec(c, r, res);
	ObjCheck(c, r, res, doing);
}

/*
 * ObjS3List
 *		ListObjectsV2 under prefix, page by page (continuation tokens).
 */
List *
ObjS3List(ObjClient *c, const char *prefix)
{
	static const char *const fields[] = {"Key", "Size", "ETag"};
	List	   *out = NIL;
	char	   *token = NULL;

	do
	{
		ObjReq		r;
		MetaetlHttpResponse res;
		List	   *recs;
		ListCell   *lc;
		char	   *truncated = NULL;
		static const char *const trunc_field[] = {"IsTruncated"};
		List	   *t;

		memset(&r, 0, sizeof(r));
		r.method = "GET";
		r.query = psprintf("list-type=2%s&prefix=%s%s%s",
						   c->list_page_size ? psprintf("&max-keys=%d", c->list_page_size) : "",
						   ObjEncode(prefix, false), token ? "&continuation-token=" : "",
						   token ? ObjEncode(token, false) : "");
		r.max_body = S3_LIST_MAX_BODY;
		s3_do(c, &r, &res, "list");
		if (res.truncated)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s: a listing page of %s is larger than %d bytes", c->for_what,
							ObjName(c, prefix), S3_LIST_MAX_BODY)));
		recs = ObjXmlElements(c, res.body, res.body_len, "Contents", fields, 3, &token,
							  "NextContinuationToken", false);
		foreach(lc, recs)
		{
			char	  **v = lfirst(lc);
			ObjEntry   *e = palloc0(sizeof(ObjEntry));

			if (v[0] == NULL)
				continue;
			e->key = v[0];
			e->size = v[1] ? strtoll(v[1], NULL, 10) : -1;
			e->etag = v[2];
			out = lappend(out, e);
		}
		/* a page that is not truncated ends the listing, whatever token it carries */
		t = ObjXmlElements(c, res.body, res.body_len, "ListBucketResult", trunc_field, 1, NULL, NULL, false);
		if (t != NIL)
			truncated = ((char **) linitial(t))[0];
		if (truncated == NULL || strcmp(truncated, "true") != 0)
			token = NULL;
		CHECK_FOR_INTERRUPTS();
	} while (token && token[0]);
	return out;
}

/* Write data to key in one PUT (objects below the part size). */
void
ObjS3Put(ObjClient *c, const char *key, const char *data, size_t len)
{
	ObjReq		r;
	MetaetlHttpResponse res;

	memset(&r, 0, sizeof(r));
	r.method = "PUT";
	r.key = key;
	r.headers = list_make1(ObjHeaderLine("Content-Type", "application/octet-stream"));
	r.body = data;
	r.body_len = len;
	s3_do(c, &r, &res, "write");
}

/*
 * Start a multipart upload of u->key: nothing is visible under the key
 * until ObjS3UploadComplete, so a failed run never leaves half an object.
 */
void
ObjS3UploadBegin(ObjUpload *u)
{
	static const char *const fields[] = {"UploadId"};
	ObjClient  *c = u->client;
	ObjReq		r;
	MetaetlHttpResponse res;
	List	   *recs;

	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.key = u->key;
	r.query = "uploads";
	r.headers = list_make1(ObjHeaderLine("Content-Type", "application/octet-stream"));
	s3_do(c, &r, &res, "write");
	recs = ObjXmlElements(c, res.body, res.body_len, "InitiateMultipartUploadResult", fields, 1, NULL, NULL,
						  false);
	if (recs == NIL || ((char **) linitial(recs))[0] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("%s: the store started no upload of \"%s\"", c->for_what, ObjName(c, u->key))));
	u->upload_id = ((char **) linitial(recs))[0];
}

/* Upload part partno of u and keep its ETag for the completion. */
void
ObjS3UploadPart(ObjUpload *u, int partno, const char *data, size_t len)
{
	ObjClient  *c = u->client;
	ObjReq		r;
	MetaetlHttpResponse res;
	char	   *etag;

	memset(&r, 0, sizeof(r));
	r.method = "PUT";
	r.key = u->key;
	r.query = psprintf("partNumber=%d&uploadId=%s", partno, ObjEncode(u->upload_id, false));
	r.body = data;
	r.body_len = len;
	s3_do(c, &r, &res, "write");
	etag = MetaetlHttpHeader(&res, "ETag");
	if (etag == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("%s: the store gave no ETag for part %d of \"%s\"", c->for_what, partno,
						ObjName(c, u->key))));
	u->parts = lappend(u->parts, etag);
}

static void
s3_xml_text(StringInfo b, const char *s)
{
	for (; *s; s++)
	{
		if (*s == '&')
			appendStringInfoString(b, "&amp;");
		else if (*s == '<')
			appendStringInfoString(b, "&lt;");
		else if (*s == '>')
			appendStringInfoString(b, "&gt;");
		else
			appendStringInfoChar(b, *s);
	}
}

/*
 * Complete u's multipart upload from its parts; S3 can answer 200 with
 * an error in the body, which is checked too.
 */
void
ObjS3UploadComplete(ObjUpload *u)
{
	static const char *const fields[] = {"Code", "Message"};
	ObjClient  *c = u->client;
	ObjReq		r;
	MetaetlHttpResponse res;
	StringInfoData xml;
	ListCell   *lc;
	List	   *err;

	initStringInfo(&xml);
	appendStringInfoString(&xml, "<CompleteMultipartUpload>");
	foreach(lc, u->parts)
	{
		appendStringInfo(&xml, "<Part><PartNumber>%d</PartNumber><ETag>", foreach_current_index(lc) + 1);
		s3_xml_text(&xml, lfirst(lc));
		appendStringInfoString(&xml, "</ETag></Part>");
	}
	appendStringInfoString(&xml, "</CompleteMultipartUpload>");

	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.key = u->key;
	r.query = psprintf("uploadId=%s", ObjEncode(u->upload_id, false));
	r.headers = list_make1(ObjHeaderLine("Content-Type", "application/xml"));
	r.body = xml.data;
	r.body_len = xml.len;
	s3_do(c, &r, &res, "write");

	/* S3 may answer 200 and report the failure in the body */
	err = ObjXmlElements(c, res.body, res.body_len, "Error", fields, 2, NULL, NULL, true);
	if (err != NIL)
	{
		char	  **v = linitial(err);

		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("%s: the store did not complete the upload of \"%s\"", c->for_what,
						ObjName(c, u->key)),
				 errdetail("The store answered %s: %s.", v[0] ? ObjRedact(c, v[0]) : "?",
						   v[1] ? ObjRedact(c, v[1]) : "")));
	}
}

/*
 * Abort u's multipart upload (best effort), so that its parts stop
 * costing storage; an incomplete upload was never visible anyway.
 */
void
ObjS3UploadAbort(ObjUpload *u)
{
	ObjReq		r;
	MetaetlHttpResponse res;

	if (u->upload_id == NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.method = "DELETE";
	r.key = u->key;
	r.query = psprintf("uploadId=%s", ObjEncode(u->upload_id, false));
	ObjExec(u->client, &r, &res);	/* best effort: an incomplete upload is never visible */
}

const ObjProvider ObjS3 = {
	.type = "s3",
	.bucket_word = "bucket",
	.scheme = "s3",
	.min_part = 5 * 1024 * 1024,
	.max_parts = 10000,
	.configure = s3_configure,
	.url = ObjS3Url,
	.sign = s3_sign,
	.list = ObjS3List,
	.put = ObjS3Put,
	.upload_begin = ObjS3UploadBegin,
	.upload_part = ObjS3UploadPart,
	.upload_complete = ObjS3UploadComplete,
	.upload_abort = ObjS3UploadAbort,
};
