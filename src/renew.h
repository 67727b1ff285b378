/*
 * renew — the table of known certificates and each one's renewal cycle:
 *
 *   file event → parse (worker) → recycle? → fetch → verify (worker)
 *              → store → deliver → timer → fetch ...
 *
 * renew owns every struct cert and what it keeps per certificate: the path,
 * the CertID and request, the responder URLs, the current staple and its
 * times. Parsed chains are dropped once the CertID is built. Everything here
 * runs on the event loop thread; only the parse and verify jobs run on
 * workers, on copies.
 */
#ifndef OCSPD_RENEW_H
#define OCSPD_RENEW_H

#include <ev.h>
#include <openssl/x509.h>
#include "deliver.h"
#include "watch.h"

struct conf;
struct fetch;
struct store;
struct work;
struct renew;

/* Borrows every argument; they must outlive the renew. */
struct renew *renew_new(struct ev_loop *loop, const struct conf *c, X509_STORE *trust,
    struct fetch *f, struct store *s, struct work *w);
void renew_free(struct renew *r);

/* Where staples go after they are stored (may be NULL). */
void renew_set_deliver(struct renew *r, struct deliver *d);

/* A watch_fn: a certificate file appeared, changed or went away. */
void renew_file_event(void *r, const char *path, enum watch_event ev);

/* A deliver_foreach_fn: every certificate that has a staple now. */
void renew_foreach(void *r, deliver_each_fn *fn, void *fnarg);

/* New configuration and trust store after SIGHUP (borrowed). */
void renew_reconfigure(struct renew *r, const struct conf *c, X509_STORE *trust);

/* Certificates with work in flight (parse, fetch, verify, store). */
int renew_busy(const struct renew *r);

/*
 * Logs where every certificate stands (SIGUSR1): one summary line, then one
 * line per certificate without a valid staple (revoked, failing, in
 * progress); certificates with a staple only at debug level.
 */
void renew_report(const struct renew *r);

/* How many certificates are known, and how many have a valid staple now. */
void renew_count(const struct renew *r, int *known, int *stapled);

#endif
