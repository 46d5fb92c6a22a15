/*-------------------------------------------------------------------------
 *
 * src/monitor/channels.c
 *		Sending one rendered alert delivery: HTTP (slack, sms, webhook) or
 *		SMTP (email), webhook signatures, and redaction of secrets.
 *
 * What a delivery says is decided in SQL (etl._render_alert_delivery builds
 * the Slack blocks, the webhook JSON, the SMS form or JSON body and the
 * multipart e-mail); this file turns that description into one libcurl
 * transfer.  A webhook body is signed here, over the exact bytes sent:
 * X-Metaetl-Signature: sha256=<hex HMAC-SHA256 of the body with the channel
 * secret>.  Every text that may be stored or logged (curl's error, the
 * server's reply) goes through MetaetlRedact first, which masks each secret
 * value of the channel.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "monitor/monitor.h"
#include "security/security.h"
#include "util/curl.h"
#include "util/json.h"

PG_FUNCTION_INFO_V1(metaetl_hmac_sha256_hex);

/* the string (or boolean, as "true"/"false") under key, or NULL */
static char *
channel_jb_text(Jsonb *jb, const char *key)
{
	JsonbValue *v = MetaetlJGetAny(&jb->root, key);

	if (v == NULL || (v->type != jbvString && v->type != jbvBool))
		return NULL;
	return MetaetlJValueText(v);
}

/*
 * MetaetlHmacSha256Hex
 *		HMAC-SHA256 of data with key, as 64 lower-case hex digits.
 */
char *
MetaetlHmacSha256Hex(const char *key, size_t keylen, const char *data, size_t datalen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char	   *hex;
	unsigned int i;

	if (HMAC(EVP_sha256(), key, (int) keylen, (const unsigned char *) data, datalen,
			 mac, &maclen) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not compute HMAC-SHA256")));
	hex = palloc(maclen * 2 + 1);
	for (i = 0; i < maclen; i++)
		snprintf(hex + i * 2, 3, "%02x", mac[i]);
	hex[maclen * 2] = '\0';
	return hex;
}

/*
 * etl.hmac_sha256_hex(key text, data text) returns text
 */
Datum
metaetl_hmac_sha256_hex(PG_FUNCTION_ARGS)
{
	text	   *key = PG_GETARG_TEXT_PP(0);
	text	   *data = PG_GETARG_TEXT_PP(1);

	PG_RETURN_TEXT_P(cstring_to_text(MetaetlHmacSha256Hex(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
														   VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data))));
}

/*
 * MetaetlChannelSend
 *		Perform the transfer etl._render_alert_delivery described; the
 *		strings in *res (error, reply, response) come back redacted.
 */
void
MetaetlChannelSend(Jsonb *rendered, Jsonb *secrets, long timeout_ms, MetaetlCurlResult *res)
{
	MetaetlCurlRequest req;
	char	   *kind = channel_jb_text(rendered, "kind");
	char	   *hmac_secret;
	char	   *use_ssl;

	memset(&req, 0, sizeof(req));
	req.url = channel_jb_text(rendered, "url");
	req.body = channel_jb_text(rendered, "body");
	req.username = channel_jb_text(rendered, "username");
	req.password = channel_jb_text(rendered, "password");
	req.ca_file = channel_jb_text(rendered, "ca_file");
	req.tls_verify = MetaetlJBoolOr(&rendered->root, "tls_verify", true);
	req.timeout_ms = timeout_ms;
	req.connect_timeout_ms = Min(timeout_ms, 5000L);

	if (kind == NULL || req.url == NULL)
	{
		memset(res, 0, sizeof(*res));
		res->error = pstrdup("the channel's configuration has no URL");
		return;
	}

	if (strcmp(kind, "smtp") == 0)
	{
		req.mail_from = channel_jb_text(rendered, "mail_from");
		req.rcpt = MetaetlJStrings(&rendered->root, "rcpt");
		use_ssl = channel_jb_text(rendered, "use_ssl");
		req.use_ssl = (use_ssl && strcmp(use_ssl, "all") == 0) ? METAETL_SSL_ALL :
			(use_ssl && strcmp(use_ssl, "none") == 0) ? METAETL_SSL_NONE : METAETL_SSL_TRY;
		if (req.mail_from == NULL || req.rcpt == NIL)
		{
			memset(res, 0, sizeof(*res));
			res->error = pstrdup("the channel's configuration has no sender or recipient");
			return;
		}
	}
	else
	{
		req.headers = MetaetlJStrings(&rendered->root, "headers");
		req.bearer = channel_jb_text(rendered, "bearer");
		hmac_secret = channel_jb_text(rendered, "hmac_secret");
		if (hmac_secret != NULL && req.body != NULL)
			req.headers = lappend(req.headers,
								  psprintf("X-Metaetl-Signature: sha256=%s",
										   MetaetlHmacSha256Hex(hmac_secret, strlen(hmac_secret),
																req.body, strlen(req.body))));
	}

	MetaetlCurlPerform(&req, res);

	/*
	 * The user name is not a secret, but base64 of user:password (basic
	 * auth, echoed by a receiver) is: redact with the pair known.
	 */
	if (req.username && req.password && secrets)
	{
		JsonbValue	u;
		JsonbParseState *st = NULL;

		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		u.type = jbvString;
		u.val.string.val = "username";
		u.val.string.len = strlen("username");
		pushJsonbValue(&st, WJB_KEY, &u);
		u.val.string.val = unconstify(char *, req.username);
		u.val.string.len = strlen(req.username);
		pushJsonbValue(&st, WJB_VALUE, &u);
		u.val.string.val = "password";
		u.val.string.len = strlen("password");
		pushJsonbValue(&st, WJB_KEY, &u);
		u.val.string.val = unconstify(char *, req.password);
		u.val.string.len = strlen(req.password);
		pushJsonbValue(&st, WJB_VALUE, &u);
		secrets = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(secrets),
													 JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL)))));
	}
	res->error = MetaetlRedact(res->error, secrets);
	res->reply = MetaetlRedact(res->reply, secrets);
	res->response = MetaetlRedact(res->response, secrets);
}
