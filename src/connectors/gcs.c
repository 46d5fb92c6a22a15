/*-------------------------------------------------------------------------
 *
 * src/connectors/gcs.c
 *		Google Cloud Storage through its XML API with HMAC keys.
 *
 * The XML API speaks S3's protocol (ListObjectsV2 paging, PUT, multipart
 * uploads with the same requests and replies) and takes requests signed
 * like SigV4 with Google's names: GOOG4-HMAC-SHA256, x-goog-date,
 * x-goog-content-sha256, the scope date/auto/storage/goog4_request and a
 * key derived from "GOOG4" + the HMAC secret.  So this provider only
 * addresses (path style: endpoint/bucket/key, endpoint
 * https://storage.googleapis.com by default) and signs; the operations are
 * s3.c's.  The credential is an HMAC key: {"access_key_id": "GOOG1...",
 * "secret": "..."}.
 *
 * No GCS emulator speaks the XML API with HMAC signatures, so the tests run
 * against test/harness/gcs_fake.py, a loopback stand-in that verifies every
 * signature with its own implementation of the algorithm.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "connectors/objstore.h"
#include "transform/plan.h"

static void
gcs_configure(ObjClient *c, JsonbContainer *opts)
{
	c->bucket = MetaetlJStr(opts, "bucket");
	if (c->bucket == NULL || c->bucket[0] == '\0' || strpbrk(c->bucket, "/?#% ") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: connection \"%s\" needs a bucket name without /, ?, #, %% or spaces",
						c->for_what, c->conn_name)));
	c->region = "auto";
	c->path_style = true;
	c->endpoint = "https://storage.googleapis.com";
	if (c->secret)
	{
		const char *needs = "A gcs credential is an HMAC key: {\"access_key_id\": \"GOOG1...\", \"secret\": ...}.";

		c->access_key_id = ObjSecretField(c, "access_key_id", true, needs);
		c->secret_key = ObjSecretField(c, "secret", true, needs);
	}
}

const ObjProvider ObjGcs = {
	.type = "gcs",
	.bucket_word = "bucket",
	.scheme = "gs",
	.min_part = 5 * 1024 * 1024,
	.max_parts = 10000,
	.configure = gcs_configure,
	.url = ObjS3Url,
	.sign = ObjS3SignGoog,
	.list = ObjS3List,
	.put = ObjS3Put,
	.upload_begin = ObjS3UploadBegin,
	.upload_part = ObjS3UploadPart,
	.upload_complete = ObjS3UploadComplete,
	.upload_abort = ObjS3UploadAbort,
};
