/*-------------------------------------------------------------------------
 *
 * src/security/redact.c
 *		Masking of secrets in text metaetl stores or shows: server replies,
 *		driver and curl errors, anything that may echo what was sent.
 *
 * A receiver rarely echoes a secret whole: it echoes the path of a webhook
 * URL (a Slack token), an Authorization header (base64 of user:password), a
 * percent-encoded query value.  So each secret value yields the fragments
 * to mask: the value; for a URL its user info, each path segment and query
 * value that looks like a token (8+ characters, not all lower-case
 * letters); every pair of a user/username field with a password field as
 * "user:password".  Each fragment is masked as written, percent-encoded,
 * JSON-escaped, and in base64 / base64url at each of the three alignments
 * it can have inside a longer encoded text (so a secret in the middle of a
 * base64 blob is found too).  Fragments shorter than 4 bytes are too short
 * to find without masking ordinary text, and are left alone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "security/security.h"

#define MIN_FRAGMENT 4

/* replace every occurrence of needle in s by *** (s returned when absent) */
static char *
mask(char *s, const char *needle)
{
	size_t		nlen = strlen(needle);
	StringInfoData out;
	const char *p = s;
	const char *hit;

	if (nlen < MIN_FRAGMENT || strstr(s, needle) == NULL)
		return s;
	initStringInfo(&out);
	while ((hit = strstr(p, needle)) != NULL)
	{
		appendBinaryStringInfo(&out, p, hit - p);
		appendStringInfoString(&out, "***");
		p = hit + nlen;
	}
	appendStringInfoString(&out, p);
	return out.data;
}

static char *
b64(const char *data, size_t len, bool url)
{
	char	   *out = palloc(pg_b64_enc_len(len) + 1);
	int			n = pg_b64_encode(data, len, out, pg_b64_enc_len(len));

	out[Max(n, 0)] = '\0';
	if (url)
	{
		for (char *c = out; *c; c++)
			*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
		for (int i = n - 1; i >= 0 && out[i] == '='; i--)
			out[i] = '\0';
	}
	return out;
}

/* the base64 of s that stays the same wherever s sits in a longer text */
static void
mask_b64_alignments(char **text, const char *s, bool url)
{
	size_t		len = strlen(s);

	/* the whole value encoded on its own (padding included), before its cores */
	*text = mask(*text, b64(s, len, url));
	for (int k = 0; k < 3; k++)
	{
		char	   *padded = palloc0(len + k + 1);
		char	   *enc;
		size_t		skip = k == 0 ? 0 : (size_t) ((k * 4 + 2) / 3);	/* chars touched by the pad */
		size_t		total = len + k;
		size_t		keep = (total / 3) * 4;	/* complete groups only */

		memcpy(padded + k, s, len);
		enc = b64(padded, total, url);
		if (keep > strlen(enc))
			keep = strlen(enc);
		if (keep > skip + MIN_FRAGMENT * 2)
		{
			char	   *core = pnstrdup(enc + skip, keep - skip);

			*text = mask(*text, core);
		}
	}
}

static char *
pct_encode(const char *s)
{
	StringInfoData b;

	initStringInfo(&b);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (isalnum(*p) || strchr("-._~", *p))
			appendStringInfoChar(&b, *p);
		else
			appendStringInfo(&b, "%%%02X", *p);
	}
	return b.data;
}

/* every form of one fragment */
static char *
mask_fragment(char *text, const char *frag)
{
	StringInfoData js;

	if (strlen(frag) < MIN_FRAGMENT)
		return text;
	text = mask(text, frag);
	text = mask(text, pct_encode(frag));
	initStringInfo(&js);
	escape_json(&js, frag);
	js.data[js.len - 1] = '\0';	/* without the quotes */
	text = mask(text, js.data + 1);
	mask_b64_alignments(&text, frag, false);
	mask_b64_alignments(&text, frag, true);
	return text;
}

/* a URL's secret-looking parts: user info, token-like path segments and query values */
static char *
mask_url_parts(char *text, const char *url)
{
	const char *p = strstr(url, "://");
	char	   *rest;
	char	   *path;
	char	   *seg;
	char	   *save;

	if (p == NULL)
		return text;
	rest = pstrdup(p + 3);
	path = strchr(rest, '/');
	{
		char	   *at = strchr(rest, '@');

		if (at && (path == NULL || at < path))
			text = mask_fragment(text, pnstrdup(rest, at - rest));
	}
	/* the host names a server, not a secret: only what follows it */
	if (path == NULL)
		return text;
	for (seg = strtok_r(path, "/?&=#", &save); seg; seg = strtok_r(NULL, "/?&=#", &save))
	{
		bool		all_lower = true;

		for (const char *c = seg; *c; c++)
			all_lower &= (*c >= 'a' && *c <= 'z') || *c == '.' || *c == '-';
		if (strlen(seg) >= 8 && !all_lower)
			text = mask_fragment(text, seg);
	}
	return text;
}

/*
 * text with every value of secret (and its common encodings) replaced by
 * a mask, for anything a remote system sends back: an error message may
 * echo a password or token, and it must reach neither logs nor rows.
 */
char *
MetaetlRedact(const char *text, Jsonb *secret)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *out;
	char	   *key = NULL;
	List	   *values = NIL;
	ListCell   *lc;

	if (text == NULL)
		return NULL;
	out = pstrdup(text);
	if (secret == NULL)
		return out;
	it = JsonbIteratorInit(&secret->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if ((tok == WJB_VALUE || tok == WJB_ELEM) && v.type == jbvString && v.val.string.len > 0)
		{
			/* a user name is an identifier, masked only together with its password */
			if (tok == WJB_VALUE && key && (strcmp(key, "user") == 0 || strcmp(key, "username") == 0 ||
											strcmp(key, "client_id") == 0))
				continue;
			values = lappend(values, pnstrdup(v.val.string.val, v.val.string.len));
		}
	}

	/*
	 * The pairs first: their base64 (an Authorization header) contains the
	 * password's, so masking the password alone first would break them up.
	 */
	{
		char	   *user = MetaetlSecretField(secret, "user");
		char	   *username = MetaetlSecretField(secret, "username");
		char	   *password = MetaetlSecretField(secret, "password");
		char	   *client_id = MetaetlSecretField(secret, "client_id");
		char	   *client_secret = MetaetlSecretField(secret, "client_secret");

		if (password && user)
			out = mask_fragment(out, psprintf("%s:%s", user, password));
		if (password && username)
			out = mask_fragment(out, psprintf("%s:%s", username, password));
		if (client_secret && client_id)
		{
			out = mask_fragment(out, psprintf("%s:%s", client_id, client_secret));
			/* OAuth2 basic client authentication encodes both parts first */
			out = mask_fragment(out, psprintf("%s:%s", pct_encode(client_id), pct_encode(client_secret)));
		}
	}
	foreach(lc, values)
	{
		char	   *s = lfirst(lc);

		out = mask_fragment(out, s);
		if (strstr(s, "://"))
			out = mask_url_parts(out, s);
	}
	return out;
}
