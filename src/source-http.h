/*
 * source-http — staples from OCSP responders over HTTP (see source.h),
 * through fetch.c (libcurl multi, GET then POST, timeouts, body cap).
 *
 * Owns the requests in flight: one per URL and request bytes, shared by
 * every waiter asking the same thing (the same certificate in several files
 * is fetched once). Loop thread only.
 */
#ifndef OCSPD_SOURCE_HTTP_H
#define OCSPD_SOURCE_HTTP_H

#include <stddef.h>
#include "source.h"

struct fetch;
struct source_http;

/* Borrows f (it must outlive the source). NULL when out of memory. */
struct source_http *source_http_new(struct fetch *f);

/*
 * Forgets every request in flight without answering its waiters: call it
 * after fetch_free, whose transfers no longer call back.
 */
void source_http_free(struct source_http *s);

/*
 * Asks url with the DER OCSP request req (copied). fn(waiter, answer) is
 * called once when the answer (or the error) is in. Returns 0 when a new
 * request was sent, 1 when the waiter joined one already in flight, or -1
 * with *err (caller frees) when nothing was sent (fn is not called then).
 */
int source_http_ask(struct source_http *s, const char *url, const unsigned char *req, size_t len,
    source_answer_fn *fn, void *waiter, char **err);

#endif
