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

/*
 * Certificates whose first attempt since they were found (or changed) has
 * not ended yet: the pass is over when this is 0.
 */
int renew_undecided(const struct renew *r);

/*
 * Called on the loop thread whenever a certificate's standing may have
 * changed (stored, failed, revoked, withdrawn, found, gone). Keep it cheap:
 * it runs once per event; debounce there.
 */
typedef void renew_changed_fn(void *arg);
void renew_set_observer(struct renew *r, renew_changed_fn *fn, void *arg);

/* Where a certificate stands, for /status, /metrics and the systemd STATUS. */
enum renew_state {
	RENEW_PENDING = 0,	/* found; first attempt not ended */
	RENEW_STAPLED,		/* a valid staple, the last attempt succeeded */
	RENEW_FAILING,		/* the last attempt failed (see has_staple) */
	RENEW_REVOKED,		/* the responder says revoked; no staple */
	RENEW_NO_URL,		/* the certificate names no OCSP responder */
	RENEW_NSTATES,
};

/* "pending", "stapled", "failing", "revoked", "no_ocsp_url". */
const char *renew_state_name(enum renew_state st);

/* One certificate as the operator sees it. Strings borrowed for the callback only. */
struct renew_status {
	const char *path;		/* certificate file */
	const char *subject;		/* leaf subject (RFC 2253), NULL if never parsed */
	const char *serial;		/* leaf serial in hex, NULL if never parsed */
	const char *responder;		/* first OCSP URL, NULL if none */
	enum renew_state state;		/* see above */
	int has_staple;			/* a valid staple is on disk and served */
	double this_update;		/* of that staple, 0 = none */
	double next_update;		/* of that staple (expiry), 0 = none */
	double renew_at;		/* next attempt (renewal or retry), 0 = none planned */
	const char *last_error;		/* reason of the last failure, NULL = none */
	int error_count;		/* consecutive failed attempts */
};
typedef void renew_status_fn(void *arg, const struct renew_status *st);

/* Calls fn for every known certificate, in no particular order. */
void renew_foreach_status(const struct renew *r, renew_status_fn *fn, void *arg);

#endif
