/*
 * addr — the "ADDR:PORT" spelling of the addresses ocspd listens on
 * (--status-listen, and what "ocspd status" asks): "ADDR:PORT",
 * "[V6ADDR]:PORT", or a bare "PORT" meaning 127.0.0.1. Numeric addresses
 * and "localhost" only: a name lookup could block the event loop. Pure
 * functions on caller-owned buffers; nothing is allocated.
 */
#ifndef OCSPD_ADDR_H
#define OCSPD_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#define ADDR_HOSTLEN	256	/* longest ADDR of ADDR:PORT, brackets excluded */

/*
 * Splits addr into host (brackets removed; "127.0.0.1" for a bare port and
 * for "localhost") and port. 0, or -1 with *why (a static string).
 */
int addr_split(const char *addr, char host[ADDR_HOSTLEN], unsigned *port, const char **why);

/*
 * The socket address to listen on for addr, whether it is IPv6, its port
 * and its canonical spelling (name, for messages). 0, or -1 with *why.
 */
int addr_listen(const char *addr, struct sockaddr_storage *ss, int *v6, unsigned *port,
    char *name, size_t namelen, const char **why);

#endif
