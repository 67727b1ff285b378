/*
 * httpd — libmicrohttpd on the event loop, shared by the HTTP front doors
 * (the status server, status.c, and the local OCSP responder, responder.c).
 *
 * MHD runs in its external-epoll mode: its epoll fd sits under an ev_io and
 * its next connection timeout under an ev_timer, and MHD_run() is called
 * from those watchers with a zero poll timeout. So every request is answered
 * on the loop thread (the caller's handler reads renew's table without
 * locks) and no client, however slow, can make the loop wait: a client only
 * ever costs its own connection slot and memory, both bounded by struct
 * httpd_limits. MHD's own timeout only closes a connection that makes no
 * progress at all; a client dripping one byte every few seconds is closed
 * by the request deadline here (its socket is shut down, MHD then closes it
 * without an answer).
 *
 * Owns the listening socket and the MHD daemon. The handler, its argument
 * and the tick callback are borrowed and must outlive the httpd.
 */
#ifndef OCSPD_HTTPD_H
#define OCSPD_HTTPD_H

#include <stddef.h>
#include <ev.h>
#include <microhttpd.h>

#include "addr.h"

/* What one front door allows its clients. */
struct httpd_limits {
	unsigned timeout;		/* seconds a connection may make no progress */
	unsigned request_time;		/* seconds to send one request whole (see httpd_request_read) */
	unsigned connections;		/* connections at once, all clients; more wait in the backlog */
	unsigned per_ip;		/* connections at once from one address; more are closed at once */
	size_t memory;			/* bytes MHD may use per connection (request line and headers) */
	int sndbuf;			/* kernel send buffer per connection (bytes; Linux doubles it), 0 = default */
};

/*
 * Called after every MHD_run (the loop saw activity or a timeout): the
 * caller's own housekeeping. Returns in how many seconds it wants to be
 * called again even when MHD has nothing to do, or < 0 for never.
 */
typedef double httpd_tick_fn(void *arg);

struct httpd;

/*
 * Binds listen ("ADDR:PORT", "[V6ADDR]:PORT" or a bare "PORT" meaning
 * 127.0.0.1; see addr.h) at once, so that a privileged port works before
 * privileges are dropped, and serves every request with handler(hcls, ...).
 * what names the option in messages ("status-listen"); flags are added to
 * MHD's (e.g. MHD_ALLOW_SUSPEND_RESUME); completed (may be NULL) is called
 * with hcls when a request ends, answered or not (MHD_OPTION_NOTIFY_COMPLETED).
 * NULL with *err naming the option, the address and the reason.
 */
struct httpd *httpd_new(struct ev_loop *loop, const char *what, const char *listen,
    const struct httpd_limits *lim, unsigned flags, MHD_AccessHandlerCallback handler,
    MHD_RequestCompletedCallback completed, void *hcls, char **err);
void httpd_free(struct httpd *h);

/* The caller's housekeeping after each run (may be NULL). */
void httpd_set_tick(struct httpd *h, httpd_tick_fn *tick, void *arg);

/* The address as bound, spelled for messages ("127.0.0.1:8080"). */
const char *httpd_name(const struct httpd *h);

/*
 * Runs MHD at the next loop iteration, not from inside the caller: after a
 * suspended connection was resumed (MHD sees nothing on its epoll fd for it).
 */
void httpd_wake(struct httpd *h);

/*
 * The handler has read conn's request whole (headers and body): it is no
 * longer held to request_time. The next request on the same connection is,
 * from the moment this one completes.
 */
void httpd_request_read(struct MHD_Connection *conn);

/*
 * Queues a short fixed text answer (text: a static string) with code and
 * "Cache-Control: no-store"; allow, if not NULL, becomes the Allow header.
 */
enum MHD_Result httpd_text(struct MHD_Connection *conn, unsigned code, const char *text,
    const char *allow);

#endif
