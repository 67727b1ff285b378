/*
 * fetch — OCSP requests over HTTP on the event loop (libcurl multi).
 *
 * GET (RFC 5019) when the encoded request fits in 255 bytes, POST otherwise,
 * and POST again when a GET fails. Many transfers in flight, keep-alive and a
 * per-responder connection cap. Proxies come from the usual environment.
 */
#ifndef OCSPD_FETCH_H
#define OCSPD_FETCH_H

#include <stddef.h>
#include <ev.h>

#define FETCH_MAX_BODY	(64 * 1024)	/* a bigger response body is refused */
#define FETCH_HOST_CONNS 16		/* connections per responder host */
#define FETCH_HOST_ACTIVE 64		/* transfers per responder handed to curl at once */

struct fetch;

#define FETCH_MAX_HEAD	(32 * 1024)	/* more response header bytes than this are refused */

/*
 * Called once per fetch_start() on the loop thread. On success err is NULL and
 * body/len hold the response (borrowed: copy what you keep); fresh_until is
 * when the responder's HTTP caching headers (Cache-Control max-age, else
 * Expires; RFC 5019 6.2) say the answer stops being fresh, seconds since the
 * epoch, 0 when they say nothing. On failure err says why, without the URL
 * (the caller adds it).
 */
typedef void fetch_done_fn(void *arg, const unsigned char *body, size_t len,
    double fresh_until, const char *err);

struct fetch *fetch_new(struct ev_loop *loop, double connect_timeout, double timeout);
void fetch_free(struct fetch *f);

/* Starts fetching; the request bytes are copied. 0, or -1 with *err. */
int fetch_start(struct fetch *f, const char *url, const unsigned char *req,
    size_t len, fetch_done_fn *done, void *arg, char **err);

/* New timeouts (SIGHUP), for transfers started from now on. */
void fetch_set_timeouts(struct fetch *f, double connect_timeout, double timeout);

/* Transfers started whose done() has not run yet. */
int fetch_pending(const struct fetch *f);

#endif
