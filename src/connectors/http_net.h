/*-------------------------------------------------------------------------
 *
 * src/connectors/http_net.h
 *		Pure-C pieces of the HTTP connectors: which addresses a request may
 *		connect to, host patterns, and header parsing (Retry-After, Link).
 *
 * No PostgreSQL headers: test/unit/test_http_net.c includes http_net.c
 * directly.
 *
 *-------------------------------------------------------------------------
 */
#ifndef METAETL_HTTP_NET_H
#define METAETL_HTTP_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

/* what an address is, for the SSRF guard */
typedef enum HttpAddrClass
{
	HTTP_ADDR_PUBLIC,			/* anything not below */
	HTTP_ADDR_PRIVATE,			/* 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7 */
	HTTP_ADDR_LOOPBACK,			/* 127/8, ::1 */
	HTTP_ADDR_LINK_LOCAL,		/* 169.254/16, fe80::/10: always refused */
	HTTP_ADDR_METADATA,			/* 169.254.169.254, fd00:ec2::254, 100.100.100.200: always refused */
	HTTP_ADDR_RESERVED			/* 0/8, multicast, 240/4, broadcast, ::: always refused */
} HttpAddrClass;

/* class of a socket address; text gets its numeric form (may be NULL) */
extern HttpAddrClass HttpClassifySockaddr(const struct sockaddr *sa, char *text, size_t textlen);
/* class of an IP literal ("10.0.0.1", "::1", "[fd00:ec2::254]"); false if not one */
extern bool HttpClassifyLiteral(const char *host, HttpAddrClass *cls);
/* may a connection connect to an address of this class? */
extern bool HttpAddrAllowed(HttpAddrClass cls, bool allow_private);
/* "a link-local address", for messages */
extern const char *HttpAddrClassName(HttpAddrClass cls);

/*
 * Does host match allowed_hosts pattern?  Case-insensitive; "*.example.com"
 * matches every subdomain (not example.com itself); "[::1]" and "::1" are
 * the same.  A pattern with a port ("api.example.com:8443") matches only
 * that port (port 0 = the URL's scheme default, pass it resolved).
 */
extern bool HttpHostMatches(const char *host, int port, const char *pattern);
/* localhost, *.localhost, 127.x.y.z, ::1 */
extern bool HttpHostIsLoopback(const char *host);

/*
 * Retry-After: delta-seconds or an HTTP-date; seconds from "now", or -1 when
 * the value is neither.  A date in the past gives 0.
 */
extern double HttpParseRetryAfter(const char *value, time_t now);

/*
 * The target of the rel="next" link in a Link header value (RFC 8288), into
 * out; false when there is none (or it does not fit).
 */
extern bool HttpLinkNext(const char *link, char *out, size_t outlen);

#endif							/* METAETL_HTTP_NET_H */
