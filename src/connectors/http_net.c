/*-------------------------------------------------------------------------
 *
 * src/connectors/http_net.c
 *		The SSRF guard's address classes, allowed_hosts patterns and the
 *		Retry-After / Link header parsers of the HTTP connectors.
 *
 * The HTTP engine (http_fetch.c) asks HttpClassifySockaddr about every
 * address libcurl is about to open a socket to (CURLOPT_OPENSOCKETFUNCTION),
 * so the check sees the address actually connected to, after DNS, for the
 * first request and for every redirect alike; DNS rebinding cannot slip a
 * private address past a check done on the name.  IPv6 forms that embed an
 * IPv4 address (::ffff:a.b.c.d, ::a.b.c.d, 64:ff9b::/96 NAT64, 2002::/16
 * 6to4) are classified by the embedded address, so 169.254.169.254 cannot
 * be reached as ::ffff:169.254.169.254.
 *
 * Pure C (no PostgreSQL headers): unit-tested by test/unit/test_http_net.c.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "connectors/http_net.h"

static HttpAddrClass
classify_v4(const unsigned char *a)
{
	if (a[0] == 169 && a[1] == 254 && a[2] == 169 && a[3] == 254)
		return HTTP_ADDR_METADATA;	/* AWS, GCP, Azure, OpenStack ... */
	if (a[0] == 100 && a[1] == 100 && a[2] == 100 && a[3] == 200)
		return HTTP_ADDR_METADATA;	/* Alibaba Cloud */
	if (a[0] == 169 && a[1] == 254)
		return HTTP_ADDR_LINK_LOCAL;
	if (a[0] == 127)
		return HTTP_ADDR_LOOPBACK;
	if (a[0] == 0 || a[0] >= 224)
		return HTTP_ADDR_RESERVED;	/* "this network", multicast, 240/4, broadcast */
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
		(a[0] == 100 && (a[1] & 0xc0) == 64))
		return HTTP_ADDR_PRIVATE;
	return HTTP_ADDR_PUBLIC;
}

static HttpAddrClass
classify_v6(const unsigned char *a)
{
	static const unsigned char metadata[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
	static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
	bool		zero80 = true;

	for (int i = 0; i < 10; i++)
		zero80 &= a[i] == 0;
	if (memcmp(a, metadata, 16) == 0)
		return HTTP_ADDR_METADATA;
	/* ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated) */
	if (zero80 && a[10] == 0xff && a[11] == 0xff)
		return classify_v4(a + 12);
	if (zero80 && a[10] == 0 && a[11] == 0)
	{
		bool		low = a[12] == 0 && a[13] == 0 && a[14] == 0;

		if (low && a[15] == 1)
			return HTTP_ADDR_LOOPBACK;	/* ::1 */
		if (low && a[15] == 0)
			return HTTP_ADDR_RESERVED;	/* :: */
		return classify_v4(a + 12);
	}
	if (memcmp(a, nat64, 12) == 0)
		return classify_v4(a + 12);
	if (a[0] == 0x20 && a[1] == 0x02)
		return classify_v4(a + 2);	/* 6to4 */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return HTTP_ADDR_LINK_LOCAL;
	if (a[0] == 0xff)
		return HTTP_ADDR_RESERVED;	/* multicast */
	if ((a[0] & 0xfe) == 0xfc)
		return HTTP_ADDR_PRIVATE;	/* unique local */
	return HTTP_ADDR_PUBLIC;
}

/*
 * HttpClassifySockaddr
 *		The SSRF class of the address libcurl is about to connect to, with its
 *		text form in text (for the refusal message) when text is given.  This
 *		is the check that matters: http_fetch.c's opensocket callback calls it
 *		on the resolved address of every connection, first request and
 *		redirects alike, so no DNS answer can bypass it.  Anything that is
 *		neither IPv4 nor IPv6 is RESERVED and thus always refused.
 */
HttpAddrClass
HttpClassifySockaddr(const struct sockaddr *sa, char *text, size_t textlen)
{
	if (text && textlen)
		text[0] = '\0';
	if (sa->sa_family == AF_INET)
	{
		const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

		if (text)
			inet_ntop(AF_INET, &in->sin_addr, text, textlen);
		return classify_v4((const unsigned char *) &in->sin_addr);
	}
	if (sa->sa_family == AF_INET6)
	{
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

		if (text)
			inet_ntop(AF_INET6, &in6->sin6_addr, text, textlen);
		return classify_v6((const unsigned char *) &in6->sin6_addr);
	}
	return HTTP_ADDR_RESERVED;	/* unix sockets and the like: never */
}

/*
 * HttpClassifyLiteral
 *		When host is an IPv4 or IPv6 literal (brackets allowed), its class in
 *		*cls and true; false for a name.  http_conn.c uses it to refuse a
 *		literal forbidden address when the URL is checked, with a clearer
 *		message than the socket-time refusal; names are left to
 *		HttpClassifySockaddr after DNS.
 */
bool
HttpClassifyLiteral(const char *host, HttpAddrClass *cls)
{
	char		buf[64];
	size_t		len = strlen(host);
	unsigned char a[16];

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
	{
		host++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, a) == 1)
	{
		*cls = classify_v4(a);
		return true;
	}
	if (inet_pton(AF_INET6, buf, a) == 1)
	{
		*cls = classify_v6(a);
		return true;
	}
	return false;
}

/*
 * HttpAddrAllowed
 *		The one policy for address classes, shared by the URL check and the
 *		socket check so they cannot disagree: public addresses always, private
 *		and loopback only with allow_private, link-local, cloud metadata and
 *		reserved ones never.
 */
bool
HttpAddrAllowed(HttpAddrClass cls, bool allow_private)
{
	switch (cls)
	{
		case HTTP_ADDR_PUBLIC:
			return true;
		case HTTP_ADDR_PRIVATE:
		case HTTP_ADDR_LOOPBACK:
			return allow_private;
		default:
			return false;
	}
}

/*
 * HttpAddrClassName
 *		"a private address" and so on, for the refusal messages of http_conn.c
 *		and http_fetch.c.
 */
const char *
HttpAddrClassName(HttpAddrClass cls)
{
	switch (cls)
	{
		case HTTP_ADDR_PUBLIC:
			return "a public address";
		case HTTP_ADDR_PRIVATE:
			return "a private address";
		case HTTP_ADDR_LOOPBACK:
			return "a loopback address";
		case HTTP_ADDR_LINK_LOCAL:
			return "a link-local address";
		case HTTP_ADDR_METADATA:
			return "a cloud metadata address";
		case HTTP_ADDR_RESERVED:
			return "a reserved address";
	}
	return "an address";
}

/* host without IPv6 brackets, lower-cased, into out */
static void
host_norm(const char *host, size_t len, char *out, size_t outlen)
{
	size_t		o = 0;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
	{
		host++;
		len -= 2;
	}
	while (len > 0 && host[len - 1] == '.')
		len--;					/* "example.com." is example.com */
	for (size_t i = 0; i < len && o + 1 < outlen; i++)
		out[o++] = (char) tolower((unsigned char) host[i]);
	out[o] = '\0';
}

/*
 * HttpHostMatches
 *		Whether host (at port) matches one allowed_hosts pattern: an exact
 *		host, "*.example.com" for strict subdomains only (not example.com
 *		itself), an IPv6 literal compared as an address so any spelling
 *		matches, and an optional ":port" that must then equal port.  Hosts are
 *		compared lower-cased without a trailing dot.  http_conn.c checks every
 *		URL, redirects included, against the connection's list with it.
 */
bool
HttpHostMatches(const char *host, int port, const char *pattern)
{
	char		h[256],
				p[256];
	const char *pp = pattern;
	size_t		plen = strlen(pattern);
	int			pport = 0;
	const char *colon;

	/* a port: "host:443" or "[v6]:443" (a bare v6 literal has several colons) */
	if (pattern[0] == '[')
	{
		const char *close = strchr(pattern, ']');

		if (close && close[1] == ':')
		{
			pport = atoi(close + 2);
			plen = (size_t) (close + 1 - pattern);
		}
	}
	else if ((colon = strchr(pattern, ':')) != NULL && strchr(colon + 1, ':') == NULL)
	{
		pport = atoi(colon + 1);
		plen = (size_t) (colon - pattern);
	}
	if (pport != 0 && pport != port)
		return false;
	host_norm(host, strlen(host), h, sizeof(h));
	host_norm(pp, plen, p, sizeof(p));
	if (h[0] == '\0' || p[0] == '\0')
		return false;
	if (p[0] == '*' && p[1] == '.')
	{
		size_t		hl = strlen(h),
					sl = strlen(p + 1);	/* ".example.com" */

		return hl > sl && strcmp(h + hl - sl, p + 1) == 0;
	}
	if (strchr(h, ':') && strchr(p, ':'))
	{
		unsigned char a[16],
					b[16];

		/* two spellings of one IPv6 address */
		if (inet_pton(AF_INET6, h, a) == 1 && inet_pton(AF_INET6, p, b) == 1)
			return memcmp(a, b, 16) == 0;
	}
	return strcmp(h, p) == 0;
}

/*
 * HttpHostIsLoopback
 *		Whether host is localhost, a *.localhost name or a loopback literal.  A
 *		connection with no allowed_hosts may reach only these (http_conn.c), so
 *		local testing works without configuration while nothing remote is
 *		reachable by default.
 */
bool
HttpHostIsLoopback(const char *host)
{
	char		h[256];
	HttpAddrClass cls;
	size_t		len;

	host_norm(host, strlen(host), h, sizeof(h));
	len = strlen(h);
	if (strcmp(h, "localhost") == 0 || (len > 10 && strcmp(h + len - 10, ".localhost") == 0))
		return true;
	return HttpClassifyLiteral(h, &cls) && cls == HTTP_ADDR_LOOPBACK;
}

/* ------------------------------------------------------------ headers */

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* days since 1970-01-01 of a civil date (proleptic Gregorian) */
static long
days_from_civil(long y, int m, int d)
{
	long		era;
	unsigned	yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (unsigned) ((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long) doe - 719468;
}

/*
 * HttpParseRetryAfter
 *		The seconds to wait that a Retry-After value asks for, relative to now:
 *		delta-seconds or an IMF-fixdate (a date in the past is 0), or -1 when
 *		it is neither.  http_fetch.c waits at least this long before a retry
 *		(and gives up if it exceeds retry.max_total_s); -1 leaves the plain
 *		backoff.  The date is converted by hand, not with timegm or the locale,
 *		so the result does not depend on the server's TZ or LC_TIME.
 */
double
HttpParseRetryAfter(const char *value, time_t now)
{
	const char *p = value;
	char		mon[4];
	int			day,
				year,
				hh,
				mm,
				ss,
				n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char) *p))
	{
		char	   *end;
		double		secs = strtod(p, &end);

		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		return *end == '\0' && secs >= 0 ? secs : -1;
	}
	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (sscanf(p, "%*3s, %d %3s %d %d:%d:%d GMT%n", &day, mon, &year, &hh, &mm, &ss, &n) == 6 && n > 0)
	{
		for (int m = 0; m < 12; m++)
			if (strcmp(mon, months[m]) == 0)
			{
				double		t = (double) days_from_civil(year, m + 1, day) * 86400.0 +
					hh * 3600.0 + mm * 60.0 + ss;
				double		d = t - (double) now;

				return d > 0 ? d : 0;
			}
	}
	return -1;
}

/*
 * HttpLinkNext
 *		Copy the URL of the rel="next" entry of an RFC 8288 Link header into
 *		out and return true (false if there is none or it does not fit outlen).
 *		rel may list several types ("next last").  http_fetch.c stores it as
 *		the response's link_next for Link-header pagination; the URL may be
 *		relative, and http.c resolves it against the page's final URL.
 */
bool
HttpLinkNext(const char *link, char *out, size_t outlen)
{
	const char *p = link;

	/* link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param ) , ... */
	while ((p = strchr(p, '<')) != NULL)
	{
		const char *end = strchr(p, '>');
		const char *params,
				   *next;
		bool		is_next = false;

		if (end == NULL)
			return false;
		params = end + 1;
		next = strchr(params, '<');
		for (const char *q = params; *q && (next == NULL || q < next); q++)
		{
			if (strncasecmp(q, "rel", 3) == 0)
			{
				const char *v = q + 3;

				while (*v == ' ')
					v++;
				if (*v != '=')
					continue;
				v++;
				while (*v == ' ')
					v++;
				if (*v == '"')
					v++;
				/* rel may list several types: rel="next last" */
				while (*v && *v != '"' && *v != ';' && *v != ',')
				{
					while (*v == ' ')
						v++;
					if (strncasecmp(v, "next", 4) == 0 &&
						(v[4] == '"' || v[4] == ' ' || v[4] == ';' || v[4] == ',' || v[4] == '\0'))
						is_next = true;
					while (*v && *v != ' ' && *v != '"' && *v != ';' && *v != ',')
						v++;
				}
			}
		}
		if (is_next)
		{
			size_t		len = (size_t) (end - p - 1);

			if (len + 1 > outlen)
				return false;
			memcpy(out, p + 1, len);
			out[len] = '\0';
			return true;
		}
		p = end + 1;
	}
	return false;
}
