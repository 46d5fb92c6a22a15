/*
 * test/unit/test_http_net.c
 *		Unit tests of src/connectors/http_net.c: the SSRF guard's address
 *		classes, allowed_hosts patterns, Retry-After and Link parsing.
 */
#include "unit.h"
#include "../../src/connectors/http_net.c"

static HttpAddrClass
lit(const char *s)
{
	HttpAddrClass c = HTTP_ADDR_PUBLIC;

	if (!HttpClassifyLiteral(s, &c))
		return (HttpAddrClass) -1;
	return c;
}

static HttpAddrClass
sock(const char *s)
{
	struct sockaddr_storage ss;
	char		text[64];

	memset(&ss, 0, sizeof(ss));
	if (strchr(s, ':'))
	{
		ss.ss_family = AF_INET6;
		inet_pton(AF_INET6, s, &((struct sockaddr_in6 *) &ss)->sin6_addr);
	}
	else
	{
		ss.ss_family = AF_INET;
		inet_pton(AF_INET, s, &((struct sockaddr_in *) &ss)->sin_addr);
	}
	return HttpClassifySockaddr((struct sockaddr *) &ss, text, sizeof(text));
}

int
main(void)
{
	char		out[256];

	UNIT_CHECK_INT(sock("169.254.169.254"), HTTP_ADDR_METADATA, "169.254.169.254 is a metadata address");
	UNIT_CHECK_INT(sock("fd00:ec2::254"), HTTP_ADDR_METADATA, "fd00:ec2::254 is a metadata address");
	UNIT_CHECK_INT(sock("::ffff:169.254.169.254"), HTTP_ADDR_METADATA, "IPv4-mapped metadata address");
	UNIT_CHECK_INT(sock("64:ff9b::a9fe:a9fe"), HTTP_ADDR_METADATA, "NAT64 form of 169.254.169.254");
	UNIT_CHECK_INT(sock("2002:a9fe:a9fe::1"), HTTP_ADDR_METADATA, "6to4 form of 169.254.169.254");
	UNIT_CHECK_INT(sock("100.100.100.200"), HTTP_ADDR_METADATA, "Alibaba metadata address");
	UNIT_CHECK_INT(sock("169.254.1.2"), HTTP_ADDR_LINK_LOCAL, "169.254/16 is link-local");
	UNIT_CHECK_INT(sock("fe80::1"), HTTP_ADDR_LINK_LOCAL, "fe80::/10 is link-local");
	UNIT_CHECK_INT(sock("febf::1"), HTTP_ADDR_LINK_LOCAL, "febf:: is still link-local");
	UNIT_CHECK_INT(sock("127.0.0.1"), HTTP_ADDR_LOOPBACK, "127.0.0.1 is loopback");
	UNIT_CHECK_INT(sock("127.9.8.7"), HTTP_ADDR_LOOPBACK, "127/8 is loopback");
	UNIT_CHECK_INT(sock("::1"), HTTP_ADDR_LOOPBACK, "::1 is loopback");
	UNIT_CHECK_INT(sock("::ffff:127.0.0.1"), HTTP_ADDR_LOOPBACK, "mapped loopback");
	UNIT_CHECK_INT(sock("10.1.2.3"), HTTP_ADDR_PRIVATE, "10/8 is private");
	UNIT_CHECK_INT(sock("172.16.0.1"), HTTP_ADDR_PRIVATE, "172.16/12 is private");
	UNIT_CHECK_INT(sock("172.31.255.255"), HTTP_ADDR_PRIVATE, "172.31 is private");
	UNIT_CHECK_INT(sock("172.32.0.1"), HTTP_ADDR_PUBLIC, "172.32 is public");
	UNIT_CHECK_INT(sock("192.168.1.1"), HTTP_ADDR_PRIVATE, "192.168/16 is private");
	UNIT_CHECK_INT(sock("100.64.0.1"), HTTP_ADDR_PRIVATE, "100.64/10 (CGNAT) is private");
	UNIT_CHECK_INT(sock("fd12:3456::1"), HTTP_ADDR_PRIVATE, "fc00::/7 is private");
	UNIT_CHECK_INT(sock("0.0.0.0"), HTTP_ADDR_RESERVED, "0.0.0.0 is reserved");
	UNIT_CHECK_INT(sock("::"), HTTP_ADDR_RESERVED, ":: is reserved");
	UNIT_CHECK_INT(sock("224.0.0.1"), HTTP_ADDR_RESERVED, "multicast is reserved");
	UNIT_CHECK_INT(sock("255.255.255.255"), HTTP_ADDR_RESERVED, "broadcast is reserved");
	UNIT_CHECK_INT(sock("ff02::1"), HTTP_ADDR_RESERVED, "IPv6 multicast is reserved");
	UNIT_CHECK_INT(sock("93.184.216.34"), HTTP_ADDR_PUBLIC, "a public IPv4 address");
	UNIT_CHECK_INT(sock("2606:4700::1111"), HTTP_ADDR_PUBLIC, "a public IPv6 address");

	UNIT_CHECK(!HttpAddrAllowed(HTTP_ADDR_METADATA, true), "metadata refused even with allow_private");
	UNIT_CHECK(!HttpAddrAllowed(HTTP_ADDR_LINK_LOCAL, true), "link-local refused even with allow_private");
	UNIT_CHECK(!HttpAddrAllowed(HTTP_ADDR_PRIVATE, false), "private refused without allow_private");
	UNIT_CHECK(!HttpAddrAllowed(HTTP_ADDR_LOOPBACK, false), "loopback refused without allow_private");
	UNIT_CHECK(HttpAddrAllowed(HTTP_ADDR_PRIVATE, true), "private allowed with allow_private");
	UNIT_CHECK(HttpAddrAllowed(HTTP_ADDR_PUBLIC, false), "public allowed");

	UNIT_CHECK_INT(lit("[fd00:ec2::254]"), HTTP_ADDR_METADATA, "bracketed literal");
	UNIT_CHECK_INT(lit("169.254.169.254"), HTTP_ADDR_METADATA, "IPv4 literal");
	UNIT_CHECK_INT((int) lit("example.com"), -1, "a name is no literal");

	UNIT_CHECK(HttpHostMatches("api.example.com", 443, "api.example.com"), "exact host");
	UNIT_CHECK(HttpHostMatches("API.Example.COM.", 443, "api.example.com"), "case and trailing dot");
	UNIT_CHECK(!HttpHostMatches("api.example.com.evil.net", 443, "api.example.com"), "no suffix match");
	UNIT_CHECK(HttpHostMatches("a.b.example.com", 443, "*.example.com"), "wildcard subdomain");
	UNIT_CHECK(!HttpHostMatches("example.com", 443, "*.example.com"), "wildcard excludes the apex");
	UNIT_CHECK(!HttpHostMatches("badexample.com", 443, "*.example.com"), "wildcard needs a dot");
	UNIT_CHECK(HttpHostMatches("api.example.com", 8443, "api.example.com:8443"), "host with port");
	UNIT_CHECK(!HttpHostMatches("api.example.com", 443, "api.example.com:8443"), "other port refused");
	UNIT_CHECK(HttpHostMatches("[::1]", 80, "::1"), "IPv6 with and without brackets");
	UNIT_CHECK(HttpHostMatches("0:0:0:0:0:0:0:1", 80, "[::1]:80"), "two spellings of ::1, with port");
	UNIT_CHECK(HttpHostIsLoopback("localhost"), "localhost is loopback");
	UNIT_CHECK(HttpHostIsLoopback("127.0.0.1"), "127.0.0.1 is loopback");
	UNIT_CHECK(HttpHostIsLoopback("[::1]"), "[::1] is loopback");
	UNIT_CHECK(!HttpHostIsLoopback("10.0.0.1"), "10.0.0.1 is not loopback");
	UNIT_CHECK(!HttpHostIsLoopback("localhost.example.com"), "localhost.example.com is not loopback");

	UNIT_CHECK(HttpParseRetryAfter("120", 0) == 120, "delta-seconds");
	UNIT_CHECK(HttpParseRetryAfter(" 2 \r\n", 0) == 2, "delta-seconds with spaces");
	UNIT_CHECK(HttpParseRetryAfter("-3", 0) == -1, "negative is invalid");
	UNIT_CHECK(HttpParseRetryAfter("soon", 0) == -1, "words are invalid");
	UNIT_CHECK(HttpParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111770) == 7, "IMF-fixdate");
	UNIT_CHECK(HttpParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111790) == 0, "a past date is 0");

	UNIT_CHECK(HttpLinkNext("<https://a/p?page=2>; rel=\"next\", <https://a/p?page=9>; rel=\"last\"", out, sizeof(out)) &&
			   strcmp(out, "https://a/p?page=2") == 0, "rel=next first");
	UNIT_CHECK(HttpLinkNext("<https://a/p?page=1>; rel=\"prev\", <https://a/p?page=3>; rel=next", out, sizeof(out)) &&
			   strcmp(out, "https://a/p?page=3") == 0, "rel=next unquoted, second");
	UNIT_CHECK(HttpLinkNext("</p?c=x>; title=\"a;b\"; rel=\"next last\"", out, sizeof(out)) &&
			   strcmp(out, "/p?c=x") == 0, "rel with several types");
	UNIT_CHECK(!HttpLinkNext("<https://a/p?page=1>; rel=\"prev\"", out, sizeof(out)), "no next");
	UNIT_CHECK(!HttpLinkNext("<https://a/p?page=1>; rel=\"nextish\"", out, sizeof(out)), "nextish is not next");
	UNIT_CHECK(!HttpLinkNext("", out, sizeof(out)), "empty header");
	return unit_done();
}
