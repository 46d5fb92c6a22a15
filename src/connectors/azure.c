/*-------------------------------------------------------------------------
 *
 * src/connectors/azure.c
 *		Azure Blob Storage: addressing, SharedKey and SAS authentication,
 *		List Blobs, Put Blob, and Put Block + Put Block List uploads.
 *
 * Addressing is endpoint/container/blob, the endpoint being
 * https://ACCOUNT.blob.core.windows.net by default; an emulator's endpoint
 * carries the account in its path (Azurite: http://127.0.0.1:10000/
 * devstoreaccount1), which SharedKey's canonicalized resource then repeats,
 * as the service expects.  The credential is {"account_key": base64} for
 * SharedKey, or {"sas_token": "sv=...&sig=..."} appended to every URL (the
 * URL is never shown: messages name azure://account/container/blob).
 *
 * A large target is uploaded as blocks of part_size and becomes visible
 * only with Put Block List at finish; blocks never committed are dropped by
 * the service, so an aborted upload needs no request.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/base64.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"

#include "connectors/objstore.h"
#include "transform/plan.h"

#define AZURE_VERSION "2021-08-06"
#define AZURE_LIST_MAX_BODY (32 * 1024 * 1024)

static void
azure_check_name(ObjClient *c, const char *what, const char *name, int min, int max, const char *allowed)
{
	size_t		len = strlen(name);

	if (len < (size_t) min || len > (size_t) max || strspn(name, allowed) != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: \"%s\" is not a valid Azure storage %s (connection \"%s\")", c->for_what, name,
						what, c->conn_name),
				 errhint("Accounts are 3 to 24 lower-case letters and digits; containers 3 to 63 lower-case "
						 "letters, digits and hyphens.")));
}

static void
azure_configure(ObjClient *c, JsonbContainer *opts)
{
	c->account = MetaetlJStr(opts, "account");
	c->bucket = MetaetlJStr(opts, "container");
	if (c->account == NULL || c->bucket == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: connection \"%s\" needs account and container", c->for_what, c->conn_name)));
	azure_check_name(c, "account", c->account, 3, 24, "abcdefghijklmnopqrstuvwxyz0123456789");
	azure_check_name(c, "container", c->bucket, 3, 63, "abcdefghijklmnopqrstuvwxyz0123456789-");
	c->endpoint = psprintf("https://%s.blob.core.windows.net", c->account);
	c->path_style = true;
	if (c->secret)
	{
		char	   *key = ObjSecretField(c, "account_key", false, NULL);
		char	   *sas = ObjSecretField(c, "sas_token", false, NULL);

		if ((key == NULL) == (sas == NULL))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("%s: the credential of connection \"%s\" needs exactly one of account_key and sas_token",
							c->for_what, c->conn_name),
					 errhint("An azure_blob credential holds {\"account_key\": \"<base64>\"} (SharedKey) or "
							 "{\"sas_token\": \"sv=...&sig=...\"}.")));
		if (key)
		{
			int			len = pg_b64_dec_len(strlen(key));

			c->account_key = MemoryContextAlloc(c->cxt, len + 1);
			c->account_key_len = pg_b64_decode(key, strlen(key), (char *) c->account_key, len);
			if (c->account_key_len <= 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
						 errmsg("%s: the account_key of connection \"%s\"'s credential is not base64",
								c->for_what, c->conn_name)));
		}
		else
		{
			while (*sas == '?')
				sas++;
			if (strpbrk(sas, "#\r\n ") != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
						 errmsg("%s: the sas_token of connection \"%s\"'s credential is not a query string",
								c->for_what, c->conn_name)));
			c->sas_token = sas;
		}
	}
}

static char *
azure_url(ObjClient *c, const ObjReq *r)
{
	StringInfoData b;
	bool		q = false;

	initStringInfo(&b);
	appendStringInfo(&b, "%s/%s", c->endpoint, c->bucket);
	if (r->key)
		appendStringInfo(&b, "/%s", ObjEncode(r->key, true));
	if (r->query)
	{
		appendStringInfo(&b, "?%s", r->query);
		q = true;
	}
	if (c->sas_token)
		appendStringInfo(&b, "%c%s", q ? '&' : '?', c->sas_token);
	return b.data;
}

/* RFC 1123 in GMT, with English names whatever the locale */
static char *
azure_date(void)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
	"Oct", "Nov", "Dec"};
	time_t		t = time(NULL);
	struct tm	tm;

	gmtime_r(&t, &tm);
	return psprintf("%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
					tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int
azure_hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static char *
azure_decode(const char *s, size_t len)
{
	char	   *out = palloc(len + 1);
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '%' && i + 2 < len && azure_hex(s[i + 1]) >= 0 && azure_hex(s[i + 2]) >= 0)
		{
			out[n++] = (char) (azure_hex(s[i + 1]) * 16 + azure_hex(s[i + 2]));
			i += 2;
		}
		else
			out[n++] = s[i];
	}
	out[n] = '\0';
	return out;
}

typedef struct AzPair
{
	char	   *name;
	char	   *value;
} AzPair;

static int
azure_pair_cmp(const void *a, const void *b)
{
	const AzPair *x = a,
			   *y = b;
	int			c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/*
 * The value of header "name" among "Name: value" lines, or "" (what the
 * string to sign has for a header that is not sent).
 */
static const char *
azure_header(List *lines, const char *name)
{
	ListCell   *lc;
	size_t		n = strlen(name);

	foreach(lc, lines)
	{
		const char *l = lfirst(lc);

		if (pg_strncasecmp(l, name, n) == 0 && l[n] == ':')
		{
			l += n + 1;
			while (*l == ' ')
				l++;
			return l;
		}
	}
	return "";
}

/*
 * SharedKey: HMAC-SHA256 under the account key of
 *	VERB \n Content-Encoding \n Content-Language \n Content-Length (empty
 *	for 0) \n Content-MD5 \n Content-Type \n Date \n If-Modified-Since \n
 *	If-Match \n If-None-Match \n If-Unmodified-Since \n Range \n
 *	x-ms-* headers (lower-case, sorted, "name:value\n") +
 *	/account/path + "\nparam:value" per query parameter (lower-case names,
 *	decoded values, sorted).
 */
static List *
azure_sign(ObjClient *c, const ObjReq *r, const char *url)
{
	List	   *out = NIL;
	List	   *all;
	char	   *date = azure_date();
	StringInfoData sts;
	const char *path,
			   *query;
	AzPair	   *ms;
	int			nms = 0;
	ListCell   *lc;
	unsigned char mac[32];
	unsigned int maclen = sizeof(mac);
	char		sig[64];
	int			siglen;

	out = lappend(out, ObjHeaderLine("x-ms-date", "%s", date));
	out = lappend(out, ObjHeaderLine("x-ms-version", "%s", AZURE_VERSION));
	if (c->account_key == NULL)
		return out;				/* SAS in the URL, or anonymous */

	all = list_concat(list_copy(r->headers), out);
	initStringInfo(&sts);
	appendStringInfo(&sts, "%s\n%s\n%s\n", r->method, azure_header(all, "Content-Encoding"),
					 azure_header(all, "Content-Language"));
	if (r->body && r->body_len > 0)
		appendStringInfo(&sts, "%zu", r->body_len);
	appendStringInfo(&sts, "\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n", azure_header(all, "Content-MD5"),
					 azure_header(all, "Content-Type"), azure_header(all, "Date"),
					 azure_header(all, "If-Modified-Since"), azure_header(all, "If-Match"),
					 azure_header(all, "If-None-Match"), azure_header(all, "If-Unmodified-Since"),
					 azure_header(all, "Range"));

	/* canonicalized headers */
	ms = palloc0(sizeof(AzPair) * (list_length(all) + 1));
	foreach(lc, all)
	{
		const char *l = lfirst(lc);
		const char *colon = strchr(l, ':');
		const char *v;

		if (colon == NULL || pg_strncasecmp(l, "x-ms-", 5) != 0)
			continue;
		ms[nms].name = pnstrdup(l, colon - l);
		for (char *p = ms[nms].name; *p; p++)
			*p = pg_tolower((unsigned char) *p);
		v = colon + 1;
		while (*v == ' ')
			v++;
		ms[nms].value = pstrdup(v);
		nms++;
	}
	qsort(ms, nms, sizeof(AzPair), azure_pair_cmp);
	for (int i = 0; i < nms; i++)
		appendStringInfo(&sts, "%s:%s\n", ms[i].name, ms[i].value);

	/* canonicalized resource: /account + the URL's (encoded) path, then the query */
	path = strstr(url, "://") + 3;
	path += strcspn(path, "/?");
	appendStringInfo(&sts, "/%s%.*s", c->account, (int) strcspn(path, "?"), path);
	query = strchr(url, '?');
	if (query)
	{
		int			nq = 1;
		AzPair	   *qp;
		int			k = 0;

		for (const char *p = query + 1; *p; p++)
			nq += *p == '&';
		qp = palloc0(sizeof(AzPair) * nq);
		for (const char *p = query + 1; *p;)
		{
			size_t		len = strcspn(p, "&");
			const char *eq = memchr(p, '=', len);

			if (len > 0)
			{
				qp[k].name = azure_decode(p, eq ? (size_t) (eq - p) : len);
				for (char *x = qp[k].name; *x; x++)
					*x = pg_tolower((unsigned char) *x);
				qp[k].value = eq ? azure_decode(eq + 1, len - (eq - p) - 1) : pstrdup("");
				k++;
			}
			p += len;
			if (*p == '&')
				p++;
		}
		qsort(qp, k, sizeof(AzPair), azure_pair_cmp);
		for (int i = 0; i < k; i++)
		{
			if (i > 0 && strcmp(qp[i].name, qp[i - 1].name) == 0)
				appendStringInfo(&sts, ",%s", qp[i].value);
			else
				appendStringInfo(&sts, "\n%s:%s", qp[i].name, qp[i].value);
		}
	}

	HMAC(EVP_sha256(), c->account_key, c->account_key_len, (unsigned char *) sts.data, sts.len, mac, &maclen);
	siglen = pg_b64_encode((char *) mac, (int) maclen, sig, sizeof(sig) - 1);
	if (siglen < 0)
		elog(ERROR, "base64 encoding failed");
	sig[siglen] = '\0';
	out = lappend(out, ObjHeaderLine("Authorization", "SharedKey %s:%s", c->account, sig));
	list_free(all);
	return out;
}

static void
azure_do(ObjClient *c, ObjReq *r, MetaetlHttpResponse *res, const char *doing)
{
	ObjExec(c, r, res);
	ObjCheck(c, r, res, doing);
}

/* List Blobs under prefix, page by page (markers) */
static List *
azure_list(ObjClient *c, const char *prefix)
{
	static const char *const fields[] = {"Name", "Content-Length", "Etag"};
	List	   *out = NIL;
	char	   *marker = NULL;

	do
	{
		ObjReq		r;
		MetaetlHttpResponse res;
		List	   *recs;
		ListCell   *lc;

		memset(&r, 0, sizeof(r));
		r.method = "GET";
		r.query = psprintf("restype=container&comp=list%s&prefix=%s%s%s",
						   c->list_page_size ? psprintf("&maxresults=%d", c->list_page_size) : "",
						   ObjEncode(prefix, false), marker ? "&marker=" : "",
						   marker ? ObjEncode(marker, false) : "");
		r.max_body = AZURE_LIST_MAX_BODY;
		azure_do(c, &r, &res, "list");
		if (res.truncated)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s: a listing page of %s is larger than %d bytes", c->for_what,
							ObjName(c, prefix), AZURE_LIST_MAX_BODY)));
		recs = ObjXmlElements(c, res.body, res.body_len, "Blob", fields, 3, &marker, "NextMarker", false);
		foreach(lc, recs)
		{
			char	  **v = lfirst(lc);
			ObjEntry   *e = palloc0(sizeof(ObjEntry));

			if (v[0] == NULL)
				continue;
			e->key = v[0];
			e->size = v[1] ? strtoll(v[1], NULL, 10) : -1;
			/* listings may give the ETag unquoted; If-Match wants it quoted */
			e->etag = v[2] && v[2][0] && v[2][0] != '"' ? psprintf("\"%s\"", v[2]) : v[2];
			out = lappend(out, e);
		}
		CHECK_FOR_INTERRUPTS();
	} while (marker && marker[0]);
	return out;
}

static void
azure_put(ObjClient *c, const char *key, const char *data, size_t len)
{
	ObjReq		r;
	MetaetlHttpResponse res;

	memset(&r, 0, sizeof(r));
	r.method = "PUT";
	r.key = key;
	r.headers = list_make2(ObjHeaderLine("x-ms-blob-type", "BlockBlob"),
						   ObjHeaderLine("Content-Type", "application/octet-stream"));
	r.body = data;
	r.body_len = len;
	azure_do(c, &r, &res, "write");
}

static void
azure_upload_begin(ObjUpload *u)
{
	/* nothing to start: blocks are staged against the blob's name */
}

/* block ids: base64 of a fixed-width counter (all ids of a blob have one length) */
static char *
azure_block_id(int partno)
{
	char		raw[32];
	char		enc[64];
	int			n;

	snprintf(raw, sizeof(raw), "metaetl-%08d", partno);
	n = pg_b64_encode(raw, strlen(raw), enc, sizeof(enc) - 1);
	enc[n] = '\0';
	return pstrdup(enc);
}

static void
azure_upload_part(ObjUpload *u, int partno, const char *data, size_t len)
{
	ObjClient  *c = u->client;
	ObjReq		r;
	MetaetlHttpResponse res;
	char	   *id = azure_block_id(partno);

	memset(&r, 0, sizeof(r));
	r.method = "PUT";
	r.key = u->key;
	r.query = psprintf("comp=block&blockid=%s", ObjEncode(id, false));
	r.body = data;
	r.body_len = len;
	azure_do(c, &r, &res, "write");
	u->parts = lappend(u->parts, id);
}

static void
azure_upload_complete(ObjUpload *u)
{
	ObjClient  *c = u->client;
	ObjReq		r;
	MetaetlHttpResponse res;
	StringInfoData xml;
	ListCell   *lc;

	initStringInfo(&xml);
	appendStringInfoString(&xml, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	foreach(lc, u->parts)
		appendStringInfo(&xml, "<Latest>%s</Latest>", (char *) lfirst(lc));
	appendStringInfoString(&xml, "</BlockList>");

	memset(&r, 0, sizeof(r));
	r.method = "PUT";
	r.key = u->key;
	r.query = "comp=blocklist";
	r.headers = list_make2(ObjHeaderLine("Content-Type", "application/xml"),
						   ObjHeaderLine("x-ms-blob-content-type", "application/octet-stream"));
	r.body = xml.data;
	r.body_len = xml.len;
	azure_do(c, &r, &res, "write");
}

static void
azure_upload_abort(ObjUpload *u)
{
	/* uncommitted blocks are never visible and the service discards them */
}

const ObjProvider ObjAzure = {
	.type = "azure_blob",
	.bucket_word = "container",
	.scheme = "azure",
	.min_part = 64 * 1024,
	.max_parts = 50000,
	.configure = azure_configure,
	.url = azure_url,
	.sign = azure_sign,
	.list = azure_list,
	.put = azure_put,
	.upload_begin = azure_upload_begin,
	.upload_part = azure_upload_part,
	.upload_complete = azure_upload_complete,
	.upload_abort = azure_upload_abort,
};
