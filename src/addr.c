/* addr — see addr.h. */
#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Splits "ADDR:PORT", "[ADDR]:PORT" or "PORT" into host (brackets removed;
 * "127.0.0.1" for a bare port, and for "localhost", which would otherwise
 * need a lookup) and port. 0, or -1 with *why (a static string).
 */
int addr_split(const char *addr, char host[ADDR_HOSTLEN], unsigned *port, const char **why)
{
	const char *p, *colon = strrchr(addr, ':');
	size_t hlen;
	char *end;
	unsigned long n;

	if (colon == NULL) {
		snprintf(host, ADDR_HOSTLEN, "127.0.0.1");
		p = addr;
	} else if (addr[0] == '[') {
		const char *rbracket = strchr(addr, ']');

		hlen = rbracket != NULL ? (size_t)(rbracket - addr - 1) : 0;
		if (rbracket == NULL || rbracket + 1 != colon || hlen == 0 || hlen >= ADDR_HOSTLEN) {
			*why = "expected [IPV6]:PORT";
			return -1;
		}
		memcpy(host, addr + 1, hlen);
		host[hlen] = '\0';
		p = colon + 1;
	} else {
		hlen = colon - addr;
		if (memchr(addr, ':', hlen) != NULL) {
			*why = "an IPv6 address goes in brackets: [ADDR]:PORT";
			return -1;
		}
		if (hlen == 0 || hlen >= ADDR_HOSTLEN) {
			*why = "expected ADDR:PORT or PORT";
			return -1;
		}
		memcpy(host, addr, hlen);
		host[hlen] = '\0';
		p = colon + 1;
	}
	if (strcmp(host, "localhost") == 0)
		snprintf(host, ADDR_HOSTLEN, "127.0.0.1");
	n = strtoul(p, &end, 10);
	if (*p < '0' || *p > '9' || *end != '\0' || n == 0 || n > 65535) {
		*why = "bad port (expected 1 to 65535)";
		return -1;
	}
	*port = (unsigned)n;
	return 0;
}

/*
 * The socket address to listen on for "ADDR:PORT", whether it is IPv6, and
 * its canonical spelling (name, for messages). Only numeric addresses (and
 * localhost): a name lookup could block. 0, or -1 with *why.
 */
int addr_listen(const char *addr, struct sockaddr_storage *ss, int *v6, unsigned *port,
    char *name, size_t namelen, const char **why)
{
	char host[ADDR_HOSTLEN];
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	if (addr_split(addr, host, port, why) == -1)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(*port);
		*v6 = 0;
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(*port);
		*v6 = 1;
	} else {
		*why = "not a numeric IPv4 or [IPv6] address";
		return -1;
	}
	snprintf(name, namelen, *v6 ? "[%s]:%u" : "%s:%u", host, *port);
	return 0;
}
