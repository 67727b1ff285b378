/*
 * status — the operator's view of the daemon: the --status-listen HTTP
 * server ("ocspd status", which reads it, is status-cmd.c).
 *
 *   GET /metrics   Prometheus text: certificates by state, seconds to the
 *                  earliest staple expiry, and the counters of metrics.h
 *   GET /status    JSON: one object per certificate (renew_foreach_status)
 *
 * The server is libmicrohttpd driven by the event loop (httpd.c), so every
 * request is answered on the loop thread and reads renew's table directly,
 * without locks. Owns its httpd (the listening socket and the MHD daemon)
 * and the cached /status rendering.
 */
#ifndef OCSPD_STATUS_H
#define OCSPD_STATUS_H

#include <ev.h>

struct renew;
struct status;

/*
 * Binds listen ("ADDR:PORT", "[V6ADDR]:PORT" or a bare "PORT" meaning
 * 127.0.0.1; ADDR numeric or "localhost", never looked up) at once, so that
 * a privileged port works before privileges are dropped, and serves r
 * (borrowed; must outlive the server). NULL with *err naming the address
 * and the reason.
 */
struct status *status_new(struct ev_loop *loop, const char *listen,
    struct renew *r, char **err);
void status_free(struct status *s);

#endif
