/*
 * renew — the table of known certificates and each one's renewal cycle:
 *
 *   file event → parse (worker) → recycle? → fetch → verify (worker)
 *              → store → deliver → timer → fetch ...
 *
 * renew owns every struct cert and what it keeps per certificate: the path,
 * the CertID and request, the responder URLs, the current staple and its
 * times, and where it stands (enum renew_state, recorded at each transition
 * of the cycle; the readers below only read it). Parsed chains are dropped
 * once the CertID is built. Everything here runs on the event loop thread;
 * only the parse and verify jobs run on workers: parse on copies, verify
 * borrowing the certificate's CertID and issuer (never freed while a job is
 * out: a changed or removed certificate waits for its job to land).
 *
 * Files: renew.c is the cycle (the only writer of a certificate's state),
 * report.c the readers (counts, SIGUSR1 report, the /status view),
 * renew-t.h the types they share.
 */
#ifndef OCSPD_RENEW_H
#define OCSPD_RENEW_H

#include <ev.h>
#include <openssl/x509.h>
#include "deliver.h"
#include "source.h"
#include "staples.h"
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

/*
 * Fleet mode (fleet.h; may be NULL): a due certificate asks Redis before
 * its responders, takes the fleet's lease before fetching, and shares what
 * it fetched. Borrowed: it must outlive the renew.
 */
struct fleet;
void renew_set_fleet(struct renew *r, struct fleet *f);

/* A watch_fn: a certificate file appeared, changed or went away. */
void renew_file_event(void *r, const char *path, enum watch_event ev);

/* A deliver_foreach_fn: every certificate that has a staple now. */
void renew_foreach(void *r, deliver_each_fn *fn, void *fnarg);

/* New configuration and trust store after SIGHUP (borrowed). */
void renew_reconfigure(struct renew *r, const struct conf *c, X509_STORE *trust);

/* Certificates with work in flight (parse, fetch, verify, store). */
int renew_busy(const struct renew *r);

/*
 * Logs where every certificate stands (SIGUSR1): one summary line (the
 * counts of renew_summary and how many have work in flight), then one line
 * per certificate that is not stapled, starting with its state name; stapled
 * ones only at debug level (one with an attempt in flight says "in progress"
 * and gives no next attempt: none is planned until it ends), as is how many responder URLs and issuers are
 * held (shared between certificates, dropped with the last one using them).
 */
void renew_report(const struct renew *r);

/* How many certificates are known, and how many hold a valid staple now. */
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

/*
 * Where a certificate stands: one recorded value per certificate, read by
 * every report (SIGUSR1, /status, /metrics, systemd STATUS=, ocspd status,
 * the end of --one-off). Work in flight does not change it: a certificate
 * being renewed while it holds a good staple stays "stapled".
 */
enum renew_state {
	RENEW_PENDING = 0,	/* found or changed; the attempt since has not ended */
	RENEW_STAPLED,		/* a valid staple, the last attempt succeeded */
	RENEW_FAILING,		/* the last attempt failed (see has_staple) */
	RENEW_REVOKED,		/* a verified answer (responder or the file on disk) says revoked; no staple */
	RENEW_NO_URL,		/* the certificate names no OCSP responder */
	RENEW_NSTATES,
};

/* What a state means to a monitoring check (ocspd status's exit status). */
enum renew_severity {
	RENEW_SEV_OK = 0,	/* stapled, pending, no_ocsp_url */
	RENEW_SEV_WARNING,	/* failing while a valid staple is still served */
	RENEW_SEV_CRITICAL,	/* revoked, or failing without a staple */
};

/* "pending", "stapled", "failing", "revoked", "no_ocsp_url" ("?" out of range). */
const char *renew_state_name(enum renew_state st);

/* The state called name (renew_state_name's inverse): 0, or -1 for an unknown name. */
int renew_state_from_name(const char *name, enum renew_state *st);

/* Order among certificates without a staple, most urgent first: revoked, failing, pending, no_ocsp_url. */
int renew_state_rank(enum renew_state st);

/* See enum renew_severity. */
enum renew_severity renew_state_severity(enum renew_state st, int has_staple);

/* Known certificates in each state. */
void renew_counts(const struct renew *r, int n[RENEW_NSTATES]);

/*
 * 1 when no certificate is failing, revoked or pending: every certificate
 * with an OCSP URL has a valid staple (the "last successful pass" rule).
 */
int renew_all_stapled(const struct renew *r);

/* "N stapled, N failing, N revoked, N without OCSP URL, N pending" (SIGUSR1, systemd STATUS=). */
void renew_summary(const struct renew *r, char *buf, size_t len);

/* One certificate as the operator sees it. Strings borrowed for the callback only. */
struct renew_status {
	const char *path;		/* certificate file */
	const char *subject;		/* leaf subject (RFC 2253), NULL if never parsed */
	const char *serial;		/* leaf serial in hex, NULL if never parsed */
	const char *responder;		/* first OCSP URL, NULL if none */
	enum renew_state state;		/* see above */
	int has_staple;			/* a valid staple is on disk and served */
	int busy;			/* work in flight (parse, fetch, verify, store) */
	double this_update;		/* of that staple, 0 = none */
	double next_update;		/* of that staple (expiry), 0 = none */
	double renew_at;		/* next attempt (renewal or retry), 0 = none planned: while busy, or until the file changes */
	const char *last_error;		/* reason of the last failure, NULL = none */
	int error_count;		/* consecutive failed attempts */
};
typedef void renew_status_fn(void *arg, const struct renew_status *st);

/* Calls fn for every known certificate, in no particular order. */
void renew_foreach_status(const struct renew *r, renew_status_fn *fn, void *arg);

/*
 * The verified staple held for CertID id (any hash algorithm the request
 * used, as long as one of our certificates has that CertID: ours are SHA-1),
 * the one valid longest when several files hold the certificate: 0 with *out
 * filled (borrowed: valid until the loop runs again), or -1 when no
 * certificate holds a valid staple for it. Loop thread only.
 */
int renew_staple_by_certid(const struct renew *r, const OCSP_CERTID *id, struct staple *out);

/* What the local responder (responder.c) can answer for a CertID. */
enum renew_answer {
	RENEW_ANSWER_GOOD,	/* *out: the verified good staple held (as renew_staple_by_certid) */
	RENEW_ANSWER_REVOKED,	/* *out: the verified revoked answer last received, not expired */
	RENEW_ANSWER_NONE,	/* a certificate has this CertID but holds no valid answer now */
	RENEW_ANSWER_UNKNOWN,	/* no certificate has this CertID */
};

/*
 * The answer held for CertID id at time now (seconds since the epoch):
 * a revoked answer wins over a good staple held by another file of the same
 * certificate. *out is borrowed (valid until the loop runs again). The
 * revoked answer is kept only for this: renew never stores or delivers it.
 * Loop thread only.
 */
enum renew_answer renew_answer_by_certid(const struct renew *r, const OCSP_CERTID *id,
    double now, struct staple *out);

/*
 * For a CertID hashed with another algorithm than ours (SHA-256): the
 * certificate of ours it names, found through the issuers renew holds
 * (their name and key hashed with that algorithm). 0 with *sha1 (our CertID
 * for it, caller frees), *issuer (borrowed: valid until the loop runs again;
 * take a reference to keep it) and *url (its first responder, borrowed
 * likewise), or -1 when no certificate of ours has it. Loop thread only.
 */
int renew_certid_ours(const struct renew *r, const OCSP_CERTID *id, OCSP_CERTID **sha1,
    X509 **issuer, const char **url);

/*
 * Asks url for the DER request req through renew's responders' source (see
 * source_http_ask): fn(waiter, answer) once, later, on the loop thread.
 * 0 or 1 when asked, -1 with *err when not (fn is not called then).
 */
int renew_ask(struct renew *r, const char *url, const unsigned char *req, size_t len,
    source_answer_fn *fn, void *waiter, char **err);

#endif
