/*-------------------------------------------------------------------------
 *
 * src/security/store_http.c
 *		Secret stores reached over HTTP(S): HashiCorp Vault (KV v2, token
 *		auth), Azure Key Vault (OAuth2 client credentials) and AWS Secrets
 *		Manager (SigV4), with libcurl.
 *
 * Stores are added by etl_admin members only (their addresses are trusted
 * infrastructure, not user input), TLS is verified unless the store's
 * options name a ca_file, nothing follows redirects, bodies are capped at
 * 1 MB, and any text of a reply that reaches an error message is masked
 * with the store's own secret (MetaetlRedact).  No libcurl call longjmps:
 * errors are raised after the handle is cleaned up (PG_FINALLY).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "security/security.h"
#include "util/sigv4.h"

#define STORE_MAX_BODY (1024 * 1024)

typedef struct StoreReply
{
	long		status;
	long		as_status;		/* the HTTP status the error's SQLSTATE follows
								 * (0: status); AWS answers 400 for both */
	StringInfoData body;		/* the reply, at most STORE_MAX_BODY bytes */
	bool		too_big;
	char		error[CURL_ERROR_SIZE];
} StoreReply;

/* no palloc here (no longjmp inside curl): the buffer is allocated before */
static size_t
store_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	StoreReply *r = arg;
	size_t		n = size * nmemb;

	if ((size_t) r->body.len + n >= (size_t) r->body.maxlen)
	{
		r->too_big = true;
		return 0;
	}
	memcpy(r->body.data + r->body.len, ptr, n);
	r->body.len += n;
	r->body.data[r->body.len] = '\0';
	return n;
}

/* every option of a request, set before the transfer (nothing here can fail) */
static void
store_setup(CURL *h, const char *method, const char *url, struct curl_slist *hl, const char *body,
			const char *ca_file, StoreReply *r)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->error);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, store_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	if (ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
	if (strcmp(method, "POST") == 0)
	{
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	}
}

/* one request; method GET or POST (with body); headers "Name: value" */
static void
store_request(const char *method, const char *url, List *headers, const char *body,
			  const char *ca_file, StoreReply *r)
{
	CURL	   *volatile h = curl_easy_init();
	struct curl_slist *volatile hl = NULL;
	volatile CURLcode rc = CURLE_OK;
	ListCell   *lc;

	if (h == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not start libcurl")));
	r->body.data = palloc(STORE_MAX_BODY + 1);
	r->body.maxlen = STORE_MAX_BODY + 1;
	r->body.len = 0;
	r->body.cursor = 0;
	r->body.data[0] = '\0';
	r->error[0] = '\0';
	r->too_big = false;
	r->status = 0;
	r->as_status = 0;
	foreach(lc, headers)
		hl = curl_slist_append(hl, (const char *) lfirst(lc));
	store_setup(h, method, url, hl, body, ca_file, r);
	PG_TRY();
	{
		rc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		if (rc != CURLE_OK && r->error[0] == '\0')
			strlcpy(r->error, curl_easy_strerror(rc), sizeof(r->error));
	}
	PG_FINALLY();
	{
		curl_slist_free_all(hl);
		curl_easy_cleanup(h);
	}
	PG_END_TRY();
	if (rc != CURLE_OK && !r->too_big)
		r->status = 0;
}

/* raise the store's failure, its reply masked with its own secret */
static void
store_fail(const char *name, const char *what, StoreReply *r, Jsonb *secret)
{
	char	   *reply = r->body.len > 0 ? pnstrdup(r->body.data, Min(r->body.len, 300)) : NULL;
	long		st = r->as_status ? r->as_status : r->status;

	ereport(ERROR,
			(errcode(st == 403 || st == 401 ? ERRCODE_INSUFFICIENT_PRIVILEGE :
					 st == 404 ? ERRCODE_UNDEFINED_OBJECT : ERRCODE_CONNECTION_FAILURE),
			 errmsg("secret store \"%s\": %s failed: %s", name, what,
					r->too_big ? "reply larger than 1 MB" :
					r->status ? psprintf("HTTP %ld", r->status) : MetaetlRedact(r->error, secret)),
			 reply ? errdetail("The store replied: %s", MetaetlRedact(reply, secret)) : 0,
			 errhidestmt(true)));
}

/* the string at a path of keys in a JSON reply, or NULL */
static char *
reply_path(StoreReply *r, const char *const *keys, int nkeys, bool as_json)
{
	Jsonb	   *jb;
	JsonbContainer *c;
	JsonbValue *v = NULL;

	PG_TRY();
	{
		jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(r->body.data)));
	}
	PG_CATCH();
	{
		FlushErrorState();
		jb = NULL;
	}
	PG_END_TRY();
	if (jb == NULL)
		return NULL;
	c = &jb->root;
	for (int i = 0; i < nkeys; i++)
	{
		v = getKeyJsonValueFromContainer(c, keys[i], strlen(keys[i]), NULL);
		if (v == NULL)
			return NULL;
		if (i < nkeys - 1)
		{
			if (v->type != jbvBinary)
				return NULL;
			c = v->val.binary.data;
		}
	}
	if (as_json)
		return JsonbToCString(NULL, v->type == jbvBinary ? v->val.binary.data : &JsonbValueToJsonb(v)->root, 0);
	return v->type == jbvString ? pnstrdup(v->val.string.val, v->val.string.len) : NULL;
}

static char *
opt(Jsonb *options, const char *key, const char *dflt)
{
	char	   *v = MetaetlSecretField(options, key);

	return v ? v : (char *) dflt;
}

static char *
need_secret(const char *name, Jsonb *secret, const char *key)
{
	char	   *v = secret ? MetaetlSecretField(secret, key) : NULL;

	if (v == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("secret store \"%s\": its credential has no \"%s\"", name, key)));
	return v;
}

/* HashiCorp Vault KV v2: GET {address}/v1/{mount}/data/{path} */
static char *
fetch_vault(const char *name, Jsonb *options, Jsonb *secret, const char *path)
{
	StoreReply	r;
	List	   *headers = NIL;
	static const char *const keys[] = {"data", "data"};
	char	   *out;
	char	   *ns = MetaetlSecretField(options, "namespace");

	headers = lappend(headers, psprintf("X-Vault-Token: %s", need_secret(name, secret, "token")));
	if (ns)
		headers = lappend(headers, psprintf("X-Vault-Namespace: %s", ns));
	store_request("GET", psprintf("%s/v1/%s/data/%s", opt(options, "address", ""),
								  opt(options, "mount", "secret"), path),
				  headers, NULL, MetaetlSecretField(options, "ca_file"), &r);
	if (r.status != 200)
		store_fail(name, psprintf("reading %s", path), &r, secret);
	out = reply_path(&r, keys, 2, true);
	if (out == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("secret store \"%s\": the reply for %s is not a KV v2 secret", name, path)));
	return out;
}

/* Azure Key Vault: a token by client credentials, then GET {vault_url}/secrets/{path} */
static char *
fetch_azure(const char *name, Jsonb *options, Jsonb *secret, const char *path)
{
	StoreReply	r;
	static const char *const tok_keys[] = {"access_token"};
	static const char *const val_keys[] = {"value"};
	char	   *token;
	char	   *value;
	char	   *tenant = opt(options, "tenant", "common");
	char	   *token_url = opt(options, "token_url",
								psprintf("https://login.microsoftonline.com/%s/oauth2/v2.0/token", tenant));
	char	   *cid = need_secret(name, secret, "client_id");
	char	   *csec = need_secret(name, secret, "client_secret");
	CURL	   *esc = curl_easy_init();
	char	   *e1;
	char	   *e2;
	char	   *body;

	if (esc == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not start libcurl")));
	e1 = curl_easy_escape(esc, cid, 0);
	e2 = curl_easy_escape(esc, csec, 0);
	body = psprintf("grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s",
					e1 ? e1 : "", e2 ? e2 : "", "https%3A%2F%2Fvault.azure.net%2F.default");
	curl_free(e1);
	curl_free(e2);
	curl_easy_cleanup(esc);
	store_request("POST", token_url, list_make1(pstrdup("Content-Type: application/x-www-form-urlencoded")),
				  body, MetaetlSecretField(options, "ca_file"), &r);
	explicit_bzero(body, strlen(body));
	if (r.status != 200)
		store_fail(name, "getting a token", &r, secret);
	token = reply_path(&r, tok_keys, 1, false);
	if (token == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("secret store \"%s\": the token endpoint gave no access_token", name)));
	store_request("GET", psprintf("%s/secrets/%s?api-version=%s", opt(options, "vault_url", ""), path,
								  opt(options, "api_version", "7.4")),
				  list_make1(psprintf("Authorization: Bearer %s", token)), NULL,
				  MetaetlSecretField(options, "ca_file"), &r);
	explicit_bzero(token, strlen(token));
	if (r.status != 200)
		store_fail(name, psprintf("reading %s", path), &r, secret);
	value = reply_path(&r, val_keys, 1, false);
	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("secret store \"%s\": the reply for %s has no value", name, path)));
	return value;
}

/*
 * MetaetlSecretStoreCheckOptions
 *		The option keys each type takes; the ones it needs.
 */
void
MetaetlSecretStoreCheckOptions(const char *name, const char *type, Jsonb *options)
{
	static const char *const common[] = {"ttl_s", "allowed_roles", "path_prefix", NULL};
	const char *const *keys;
	const char *required = NULL;
	static const char *const vault[] = {"address", "mount", "namespace", "ca_file", NULL};
	static const char *const azure[] = {"vault_url", "tenant", "token_url", "api_version", "ca_file", NULL};
	static const char *const aws[] = {"region", "endpoint", "ca_file", NULL};
	static const char *const env[] = {"prefix", NULL};
	static const char *const file[] = {"directory", NULL};
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (strcmp(type, "hashicorp_vault") == 0)
		keys = vault, required = "address";
	else if (strcmp(type, "azure_key_vault") == 0)
		keys = azure, required = "vault_url";
	else if (strcmp(type, "aws_secrets_manager") == 0)
		keys = aws, required = "region";
	else if (strcmp(type, "env") == 0)
		keys = env;
	else
		keys = file, required = "directory";

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		ok = false;
		char	   *k;

		if (tok != WJB_KEY)
			continue;
		k = pnstrdup(v.val.string.val, v.val.string.len);
		for (const char *const *c = common; *c; c++)
			ok |= strcmp(*c, k) == 0;
		for (const char *const *c = keys; *c; c++)
			ok |= strcmp(*c, k) == 0;
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\" for %s secret store \"%s\"", k, type, name)));
	}
	if (required && MetaetlSecretField(options, required) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s secret store \"%s\" needs option %s", type, name, required)));
}

/*
 * The secret at path in an HTTP secret store (HashiCorp Vault, Azure Key
 * Vault, AWS Secrets Manager) as JSON text, dispatched by the store's type.
 */
char *
MetaetlSecretStoreFetchHttp(const char *name, const char *type, Jsonb *options,
							Jsonb *store_secret, const char *path)
{
	if (strcmp(type, "hashicorp_vault") == 0)
		return fetch_vault(name, options, store_secret, path);
	if (strcmp(type, "azure_key_vault") == 0)
		return fetch_azure(name, options, store_secret, path);
	return MetaetlSecretStoreFetchAws(name, options, store_secret, path);
}

/*
 * MetaetlSecretStoreFetchAws
 *		AWS Secrets Manager GetSecretValue, signed with SigV4.
 *
 * One POST of the JSON 1.1 protocol to the regional endpoint (or the store's
 * `endpoint`, for VPC endpoints and test servers); the reply's SecretString
 * is the value (a JSON object for key/value secrets, otherwise a string).
 * A binary secret (SecretBinary) is refused rather than guessed at.  The
 * signature covers the body's hash, the content type and the target, so a
 * proxy cannot turn the request into another action.
 */
char *
MetaetlSecretStoreFetchAws(const char *name, Jsonb *options, Jsonb *secret, const char *path)
{
	StoreReply	r;
	static const char *const val_keys[] = {"SecretString"};
	static const char *const bin_keys[] = {"SecretBinary"};
	char	   *region = opt(options, "region", "us-east-1");
	char	   *endpoint = opt(options, "endpoint",
								psprintf("https://secretsmanager.%s.amazonaws.com", region));
	char	   *url;
	StringInfoData body;
	MetaetlSigV4Header signed_hdrs[2] = {
		{"content-type", "application/x-amz-json-1.1"},
		{"x-amz-target", "secretsmanager.GetSecretValue"},
	};
	MetaetlSigV4Request req;
	MetaetlSigV4Result *sig = palloc0(sizeof(MetaetlSigV4Result));
	char		body_hash[65];
	char		errbuf[256];
	List	   *headers = NIL;
	char	   *value;

	/* the service's root path, whether or not the option ends in a slash */
	url = psprintf("%s%s", endpoint, endpoint[0] && endpoint[strlen(endpoint) - 1] == '/' ? "" : "/");

	initStringInfo(&body);
	appendStringInfoString(&body, "{\"SecretId\": ");
	escape_json(&body, path);
	appendStringInfoChar(&body, '}');
	MetaetlSha256Hex(body.data, body.len, body_hash);

	memset(&req, 0, sizeof(req));
	req.algorithm = METAETL_SIGV4_AWS;
	req.method = "POST";
	req.url = url;
	req.normalize_path = true;
	req.region = region;
	req.service = "secretsmanager";
	req.headers = signed_hdrs;
	req.nheaders = lengthof(signed_hdrs);
	req.payload_hash = body_hash;
	req.access_key_id = need_secret(name, secret, "access_key_id");
	req.secret_key = need_secret(name, secret, "secret_access_key");
	req.session_token = MetaetlSecretField(secret, "session_token");
	if (!MetaetlSigV4Sign(&req, sig, errbuf, sizeof(errbuf)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("secret store \"%s\": cannot sign the request: %s", name, errbuf)));

	headers = lappend(headers, psprintf("Content-Type: %s", signed_hdrs[0].value));
	headers = lappend(headers, psprintf("X-Amz-Target: %s", signed_hdrs[1].value));
	headers = lappend(headers, psprintf("Host: %s", sig->host));
	headers = lappend(headers, psprintf("%s: %s", sig->date_header, sig->datetime));
	headers = lappend(headers, psprintf("Authorization: %s", sig->authorization));
	if (req.session_token)
		headers = lappend(headers, psprintf("X-Amz-Security-Token: %s", req.session_token));
	/* no "Expect: 100-continue" round trip for a small body */
	headers = lappend(headers, pstrdup("Expect:"));

	store_request("POST", url, headers, body.data, MetaetlSecretField(options, "ca_file"), &r);
	explicit_bzero(sig, sizeof(MetaetlSigV4Result));
	if (r.status != 200)
	{
		/* AWS says 400 ResourceNotFoundException, not 404 */
		if (r.status == 400 && strstr(r.body.data, "ResourceNotFoundException"))
			r.as_status = 404;
		else if (r.status == 400 && (strstr(r.body.data, "AccessDenied") ||
									 strstr(r.body.data, "UnrecognizedClient") ||
									 strstr(r.body.data, "InvalidSignature")))
			r.as_status = 403;
		store_fail(name, psprintf("reading %s", path), &r, secret);
	}
	value = reply_path(&r, val_keys, 1, false);
	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("secret store \"%s\": the reply for %s has no SecretString", name, path),
				 reply_path(&r, bin_keys, 1, false) ?
				 errdetail("The secret is binary (SecretBinary); only string secrets are read.") : 0));
	return value;
}
