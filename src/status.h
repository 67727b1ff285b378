/*
 * status — the operator's view of the daemon: the --status-listen HTTP
 * server and the "ocspd status" command that reads it.
 *
 *   GET /metrics   Prometheus text: certificates by state, seconds to the
 *                  earliest staple expiry, and the counters of metrics.h
 *   GET /status    JSON: one object per certificate (renew_foreach_status)
 *
 * The server is libmicrohttpd driven by the event loop (its epoll fd under
 * an ev_io, its timeouts under an ev_timer), so every request is answered on
 * the loop thread and reads renew's table directly, without locks. Owns the
 * listening socket and the MHD daemon.
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

/*
 * "ocspd status [ADDR:PORT]": fetches /status and prints a table, soonest
 * expiry first. argv[0] is "status". Without ADDR:PORT, the status-listen of
 * the config file (-c FILE, or the default places) is used. Returns the exit
 * status, Nagios style: 0 every certificate stapled (or with no OCSP URL,
 * or not tried yet), 1 renewal failing but a valid staple still served,
 * 2 failing with no valid staple, or revoked; 3 the daemon could not be
 * asked (an "OCSPD UNKNOWN - why" line on stdout, where Nagios reads it;
 * usage errors on stderr).
 */
int status_command(int argc, char **argv);

#endif
