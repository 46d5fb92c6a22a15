/*-------------------------------------------------------------------------
 *
 * src/util/sigv4.c
 *		AWS Signature Version 4 and GOOG4 request signing (pure C, OpenSSL).
 *
 * The algorithm, as AWS documents it:
 *	canonical request = METHOD \n canonical path \n canonical query \n
 *						canonical headers ("name:value\n" each, sorted) \n
 *						signed header names (";"-joined) \n payload hash
 *	string to sign	  = ALGORITHM \n datetime \n scope \n hex(sha256(creq))
 *	scope			  = date/region/service/aws4_request
 *	signing key		  = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region),
 *							 service), "aws4_request")
 *	signature		  = hex(HMAC(signing key, string to sign))
 * Google Cloud Storage's HMAC keys sign the same way with GOOG4 for AWS4,
 * goog4_request for aws4_request and x-goog-date for x-amz-date.
 *
 * Everything is built in malloc'd buffers released before returning, so the
 * backend can call this without a PG_TRY (nothing here raises) and the unit
 * test runs it under AddressSanitizer's leak checker.
 *
 *-------------------------------------------------------------------------
 */
#include "util/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

/* a growable byte buffer; "failed" sticks after an allocation failure */
typedef struct SvBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		failed;
} SvBuf;

static void
sv_reserve(SvBuf *b, size_t more)
{
	size_t		need = b->len + more + 1;
	char	   *n;

	if (b->failed || need <= b->cap)
		return;
	if (need < b->cap * 2)
		need = b->cap * 2;
	if (need < 256)
		need = 256;
	n = realloc(b->data, need);
	if (n == NULL)
	{
		b->failed = true;
		return;
	}
	b->data = n;
	b->cap = need;
}

static void
sv_append(SvBuf *b, const char *s, size_t n)
{
	sv_reserve(b, n);
	if (b->failed)
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
sv_puts(SvBuf *b, const char *s)
{
	sv_append(b, s, strlen(s));
}

static void
sv_putc(SvBuf *b, char c)
{
	sv_append(b, &c, 1);
}

static const char sv_hexdigits[] = "0123456789abcdef";

static void
sv_hex(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
	{
		out[2 * i] = sv_hexdigits[in[i] >> 4];
		out[2 * i + 1] = sv_hexdigits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* SHA-256 of data as 64 lower-case hex digits into out (65 bytes). */
void
MetaetlSha256Hex(const void *data, size_t len, char *out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *) data, len, md);
	sv_hex(md, sizeof(md), out);
}

static void
sv_hmac(const void *key, size_t keylen, const char *msg, size_t msglen, unsigned char *out)
{
	unsigned int outlen = SHA256_DIGEST_LENGTH;

	HMAC(EVP_sha256(), key, (int) keylen, (const unsigned char *) msg, msglen, out, &outlen);
}

static bool
sv_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * RFC 3986 encoding as SigV4 defines it (unreserved characters kept, "/"
 * kept when asked) into out, NUL-terminated and cut at outsz; returns the
 * length the whole encoding needs, so a caller can tell it was cut.
 */
size_t
MetaetlUriEncode(const char *in, size_t inlen, bool keep_slash, char *out, size_t outsz)
{
	size_t		n = 0;

	for (size_t i = 0; i < inlen; i++)
	{
		unsigned char c = (unsigned char) in[i];

		if (sv_unreserved(c) || (keep_slash && c == '/'))
		{
			if (n + 1 < outsz)
				out[n] = (char) c;
			n++;
		}
		else
		{
			if (n + 3 < outsz)
			{
				out[n] = '%';
				out[n + 1] = "0123456789ABCDEF"[c >> 4];
				out[n + 2] = "0123456789ABCDEF"[c & 15];
			}
			n += 3;
		}
	}
	if (outsz > 0)
		out[n < outsz ? n : outsz - 1] = '\0';
	return n;
}

static int
sv_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* append in[0..len) percent-decoded then re-encoded canonically */
static void
sv_recode(SvBuf *b, const char *in, size_t len, bool keep_slash)
{
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) in[i];
		char		enc[4];

		if (c == '%' && i + 2 < len && sv_hexval(in[i + 1]) >= 0 && sv_hexval(in[i + 2]) >= 0)
		{
			c = (unsigned char) (sv_hexval(in[i + 1]) * 16 + sv_hexval(in[i + 2]));
			i += 2;
		}
		MetaetlUriEncode((const char *) &c, 1, keep_slash, enc, sizeof(enc));
		sv_puts(b, enc);
	}
}

/* the parts of an absolute http(s) URL */
typedef struct SvUrl
{
	const char *host;			/* host[:port], not terminated */
	size_t		hostlen;
	const char *path;			/* from the first '/', or "" */
	size_t		pathlen;
	const char *query;			/* after '?', or "" */
	size_t		querylen;
} SvUrl;

static bool
sv_parse_url(const char *url, SvUrl *u, char *errbuf, size_t errlen)
{
	const char *p = strstr(url ? url : "", "://");
	const char *end;

	memset(u, 0, sizeof(*u));
	if (p == NULL)
	{
		snprintf(errbuf, errlen, "the URL has no scheme");
		return false;
	}
	p += 3;
	u->host = p;
	while (*p && *p != '/' && *p != '?' && *p != '#')
		p++;
	u->hostlen = p - u->host;
	if (u->hostlen == 0 || memchr(u->host, '@', u->hostlen) != NULL)
	{
		snprintf(errbuf, errlen, "the URL has no host, or has user information");
		return false;
	}
	end = p + strcspn(p, "#");
	u->path = p;
	u->pathlen = strcspn(p, "?#");
	if (p[u->pathlen] == '?')
	{
		u->query = p + u->pathlen + 1;
		u->querylen = end - u->query;
	}
	else
	{
		u->query = "";
		u->querylen = 0;
	}
	return true;
}

/* the canonical path: encoded once, and normalised when asked */
static void
sv_canonical_path(SvBuf *b, const SvUrl *u, bool normalize)
{
	const char *segs[256];
	size_t		lens[256];
	int			nseg = 0;
	size_t		i = 0;
	bool		trailing;

	if (u->pathlen == 0)
	{
		sv_putc(b, '/');
		return;
	}
	if (!normalize)
	{
		sv_recode(b, u->path, u->pathlen, true);
		return;
	}
	/* RFC 3986 dot-segment removal, collapsing empty segments */
	while (i < u->pathlen)
	{
		size_t		s = i;

		while (i < u->pathlen && u->path[i] != '/')
			i++;
		if (i - s == 0 || (i - s == 1 && u->path[s] == '.'))
			;
		else if (i - s == 2 && u->path[s] == '.' && u->path[s + 1] == '.')
		{
			if (nseg > 0)
				nseg--;
		}
		else if (nseg < 256)
		{
			segs[nseg] = u->path + s;
			lens[nseg++] = i - s;
		}
		if (i < u->pathlen)
			i++;
	}
	trailing = u->path[u->pathlen - 1] == '/' && nseg > 0;
	sv_putc(b, '/');
	for (int k = 0; k < nseg; k++)
	{
		if (k > 0)
			sv_putc(b, '/');
		sv_recode(b, segs[k], lens[k], false);
	}
	if (trailing)
		sv_putc(b, '/');
}

typedef struct SvPair
{
	char	   *a;				/* encoded name / lower-case header name */
	char	   *b;				/* encoded value / normalised header value */
	int			order;			/* position given (keeps duplicate headers in order) */
} SvPair;

static int
sv_cmp_query(const void *x, const void *y)
{
	const SvPair *p = x,
			   *q = y;
	int			c = strcmp(p->a, q->a);

	return c ? c : strcmp(p->b, q->b);
}

static int
sv_cmp_header(const void *x, const void *y)
{
	const SvPair *p = x,
			   *q = y;
	int			c = strcmp(p->a, q->a);

	return c ? c : p->order - q->order;
}

static char *
sv_take(SvBuf *b)
{
	char	   *s;

	if (b->failed)
	{
		free(b->data);
		return NULL;
	}
	s = b->data ? b->data : strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

static void
sv_free_pairs(SvPair *p, int n)
{
	for (int i = 0; i < n; i++)
	{
		free(p[i].a);
		free(p[i].b);
	}
	free(p);
}

/* the canonical query string: parameters decoded, re-encoded, sorted */
static bool
sv_canonical_query(SvBuf *b, const SvUrl *u)
{
	SvPair	   *pairs;
	int			n = 0,
				cap = 1;
	size_t		i = 0;

	for (size_t k = 0; k < u->querylen; k++)
		if (u->query[k] == '&')
			cap++;
	pairs = calloc(cap, sizeof(SvPair));
	if (pairs == NULL)
		return false;
	while (i < u->querylen)
	{
		size_t		s = i,
					eq;
		SvBuf		name = {0},
					value = {0};

		while (i < u->querylen && u->query[i] != '&')
			i++;
		if (i > s)
		{
			for (eq = s; eq < i && u->query[eq] != '='; eq++)
				;
			sv_recode(&name, u->query + s, eq - s, false);
			if (eq < i)
				sv_recode(&value, u->query + eq + 1, i - eq - 1, false);
			pairs[n].a = sv_take(&name);
			pairs[n].b = sv_take(&value);
			n++;
			if (pairs[n - 1].a == NULL || pairs[n - 1].b == NULL)
			{
				sv_free_pairs(pairs, n);
				return false;
			}
		}
		i++;
	}
	qsort(pairs, n, sizeof(SvPair), sv_cmp_query);
	for (int k = 0; k < n; k++)
	{
		if (k > 0)
			sv_putc(b, '&');
		sv_puts(b, pairs[k].a);
		sv_putc(b, '=');
		sv_puts(b, pairs[k].b);
	}
	sv_free_pairs(pairs, n);
	return true;
}

/* a header value trimmed, with every run of whitespace made one space */
static char *
sv_header_value(const char *v)
{
	SvBuf		b = {0};
	bool		space = false;

	while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
		v++;
	for (; *v; v++)
	{
		if (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
			space = true;
		else
		{
			if (space)
				sv_putc(&b, ' ');
			space = false;
			sv_putc(&b, *v);
		}
	}
	return sv_take(&b);
}

static char *
sv_header_name(const char *n)
{
	SvBuf		b = {0};
	size_t		len;

	while (*n == ' ' || *n == '\t')
		n++;
	len = strlen(n);
	while (len > 0 && (n[len - 1] == ' ' || n[len - 1] == '\t'))
		len--;
	for (size_t i = 0; i < len; i++)
		sv_putc(&b, (char) tolower((unsigned char) n[i]));
	return sv_take(&b);
}

static const char *
sv_date_header(const MetaetlSigV4Request *req)
{
	return req->algorithm == METAETL_SIGV4_GOOG ? "x-goog-date" : "x-amz-date";
}

static bool
sv_valid_datetime(const char *d)
{
	if (d == NULL || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char) d[i]))
			return false;
	return true;
}

/*
 * Build the canonical request into *creq and the signed header list into
 * *signed_headers (both malloc'd); the host value into host.
 */
static bool
sv_build(const MetaetlSigV4Request *req, const char *datetime, char **creq, char **signed_headers,
		 char *host, size_t hostsz, char *errbuf, size_t errlen)
{
	SvUrl		u;
	SvBuf		b = {0},
				sh = {0};
	SvPair	   *hdrs;
	int			n = 0;

	*creq = *signed_headers = NULL;
	if (!sv_parse_url(req->url, &u, errbuf, errlen))
		return false;
	if (u.hostlen + 1 > hostsz)
	{
		snprintf(errbuf, errlen, "the URL's host is too long");
		return false;
	}
	for (size_t i = 0; i < u.hostlen; i++)
		host[i] = (char) tolower((unsigned char) u.host[i]);
	host[u.hostlen] = '\0';

	hdrs = calloc(req->nheaders + 3, sizeof(SvPair));
	if (hdrs == NULL)
		goto oom;
	hdrs[n].a = strdup("host");
	hdrs[n].b = strdup(host);
	hdrs[n].order = n;
	n++;
	hdrs[n].a = strdup(sv_date_header(req));
	hdrs[n].b = strdup(datetime);
	hdrs[n].order = n;
	n++;
	if (req->session_token)
	{
		hdrs[n].a = strdup("x-amz-security-token");
		hdrs[n].b = sv_header_value(req->session_token);
		hdrs[n].order = n;
		n++;
	}
	for (int i = 0; i < req->nheaders; i++)
	{
		hdrs[n].a = sv_header_name(req->headers[i].name);
		hdrs[n].b = sv_header_value(req->headers[i].value ? req->headers[i].value : "");
		hdrs[n].order = n;
		n++;
	}
	for (int i = 0; i < n; i++)
		if (hdrs[i].a == NULL || hdrs[i].b == NULL)
		{
			sv_free_pairs(hdrs, n);
			goto oom;
		}
	qsort(hdrs, n, sizeof(SvPair), sv_cmp_header);

	sv_puts(&b, req->method);
	sv_putc(&b, '\n');
	sv_canonical_path(&b, &u, req->normalize_path);
	sv_putc(&b, '\n');
	if (!sv_canonical_query(&b, &u))
	{
		sv_free_pairs(hdrs, n);
		goto oom;
	}
	sv_putc(&b, '\n');
	for (int i = 0; i < n; i++)
	{
		/* a repeated header is one line, its values joined by commas */
		if (i > 0 && strcmp(hdrs[i].a, hdrs[i - 1].a) == 0)
		{
			b.len--;			/* the previous line's newline */
			sv_putc(&b, ',');
		}
		else
		{
			sv_puts(&b, hdrs[i].a);
			sv_putc(&b, ':');
			if (sh.len > 0)
				sv_putc(&sh, ';');
			sv_puts(&sh, hdrs[i].a);
		}
		sv_puts(&b, hdrs[i].b);
		sv_putc(&b, '\n');
	}
	sv_free_pairs(hdrs, n);
	sv_putc(&b, '\n');
	sv_append(&b, sh.data ? sh.data : "", sh.len);
	sv_putc(&b, '\n');
	sv_puts(&b, req->payload_hash ? req->payload_hash :
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	*creq = sv_take(&b);
	*signed_headers = sv_take(&sh);
	if (*creq == NULL || *signed_headers == NULL)
	{
		free(*creq);
		free(*signed_headers);
		*creq = *signed_headers = NULL;
		goto oom;
	}
	return true;

oom:
	free(b.data);
	free(sh.data);
	snprintf(errbuf, errlen, "out of memory");
	return false;
}

/* The canonical request of req (exposed for tests against AWS's examples). */
char *
MetaetlSigV4CanonicalRequest(const MetaetlSigV4Request *req)
{
	char	   *creq,
			   *sh;
	char		host[512];
	char		err[128];
	char		now[17];
	const char *dt = req->datetime;

	if (dt == NULL)
	{
		MetaetlSigV4Now(now);
		dt = now;
	}
	if (!sv_build(req, dt, &creq, &sh, host, sizeof(host), err, sizeof(err)))
		return NULL;
	free(sh);
	return creq;
}

/*
 * The current UTC time as YYYYMMDDTHHMMSSZ (out: 17 bytes), the x-amz-date format.
 */
void
MetaetlSigV4Now(char *out)
{
	time_t		t = time(NULL);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/*
 * The signing key: HMAC chain over "AWS4" (or "GOOG4") + secret, then the
 * date, region, service and terminator.  Each step has its own buffer (no
 * HMAC writes over its own key); the secret's copy is wiped after use.
 */
static bool
sv_signing_key(const char *prefix, const char *secret, const char *date, const char *region,
			   const char *service, const char *terminator, unsigned char *out)
{
	size_t		klen = strlen(prefix) + strlen(secret);
	char	   *kbuf = malloc(klen + 1);
	unsigned char k1[SHA256_DIGEST_LENGTH],
				k2[SHA256_DIGEST_LENGTH],
				k3[SHA256_DIGEST_LENGTH];

	if (kbuf == NULL)
		return false;
	snprintf(kbuf, klen + 1, "%s%s", prefix, secret);
	sv_hmac(kbuf, klen, date, strlen(date), k1);
	memset(kbuf, 0, klen);
	free(kbuf);
	sv_hmac(k1, sizeof(k1), region, strlen(region), k2);
	sv_hmac(k2, sizeof(k2), service, strlen(service), k3);
	sv_hmac(k3, sizeof(k3), terminator, strlen(terminator), out);
	memset(k1, 0, sizeof(k1));
	memset(k2, 0, sizeof(k2));
	memset(k3, 0, sizeof(k3));
	return true;
}

/*
 * Sign req (AWS SigV4 or GOOG4) into out; false with errbuf on a request
 * that cannot be signed.  Pure C over OpenSSL, so it is unit-tested
 * without a server.
 */
bool
MetaetlSigV4Sign(const MetaetlSigV4Request *req, MetaetlSigV4Result *out, char *errbuf, size_t errlen)
{
	bool		goog = req->algorithm == METAETL_SIGV4_GOOG;
	const char *alg = goog ? "GOOG4-HMAC-SHA256" : "AWS4-HMAC-SHA256";
	const char *terminator = goog ? "goog4_request" : "aws4_request";
	char	   *creq,
			   *signed_headers;
	char		date[9];
	char		scope[256];
	char		sts[512];
	unsigned char key[SHA256_DIGEST_LENGTH];
	unsigned char sig[SHA256_DIGEST_LENGTH];
	int			n;

	memset(out, 0, sizeof(*out));
	if (req->datetime)
	{
		if (!sv_valid_datetime(req->datetime))
		{
			snprintf(errbuf, errlen, "the signing time is not of the form YYYYMMDDTHHMMSSZ");
			return false;
		}
		memcpy(out->datetime, req->datetime, 17);
	}
	else
		MetaetlSigV4Now(out->datetime);
	if (req->method == NULL || req->region == NULL || req->service == NULL ||
		req->access_key_id == NULL || req->secret_key == NULL)
	{
		snprintf(errbuf, errlen, "the method, region, service, access key id and secret are required");
		return false;
	}
	out->date_header = sv_date_header(req);
	memcpy(date, out->datetime, 8);
	date[8] = '\0';
	n = snprintf(scope, sizeof(scope), "%s/%s/%s/%s", date, req->region, req->service, terminator);
	if (n < 0 || n >= (int) sizeof(scope))
	{
		snprintf(errbuf, errlen, "the region or service name is too long");
		return false;
	}
	if (!sv_build(req, out->datetime, &creq, &signed_headers, out->host, sizeof(out->host),
				  errbuf, errlen))
		return false;
	MetaetlSha256Hex(creq, strlen(creq), out->canonical_hash);
	free(creq);
	snprintf(sts, sizeof(sts), "%s\n%s\n%s\n%s", alg, out->datetime, scope, out->canonical_hash);

	if (!sv_signing_key(goog ? "GOOG4" : "AWS4", req->secret_key, date, req->region, req->service,
						terminator, key))
	{
		free(signed_headers);
		snprintf(errbuf, errlen, "out of memory");
		return false;
	}
	sv_hmac(key, sizeof(key), sts, strlen(sts), sig);
	memset(key, 0, sizeof(key));
	sv_hex(sig, sizeof(sig), out->signature);

	n = snprintf(out->authorization, sizeof(out->authorization),
				 "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
				 alg, req->access_key_id, scope, signed_headers, out->signature);
	free(signed_headers);
	if (n < 0 || n >= (int) sizeof(out->authorization))
	{
		memset(out->authorization, 0, sizeof(out->authorization));
		snprintf(errbuf, errlen, "too many signed headers");
		return false;
	}
	return true;
}
