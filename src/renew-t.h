/*
 * renew-t — the types renew keeps per certificate, shared by the modules
 * that make up the core: renew.c (the cycle, the only writer), report.c (the
 * readers: SIGUSR1, /status, counts) and staples.c (the CertID index).
 * Nothing outside those files includes this; everyone else uses renew.h.
 * Everything here lives on the event loop thread.
 */
#ifndef OCSPD_RENEW_T_H
#define OCSPD_RENEW_T_H

#include <ev.h>
#include <openssl/ocsp.h>
#include <uthash.h>
#include "bundle.h"
#include "deliver.h"
#include "ocsp.h"
#include "renew.h"

struct staples;

#define CERT_MAGIC 0x0c5bd001u	/* checks a struct cert coming back through a void * */
#define RENEW_PARSE_MAX 64	/* parse jobs out at once */
#define RENEW_FLEET_ROUNDS 3	/* leases lost (waited out) in one attempt before fetching anyway */

enum cert_state {
	CERT_IDLE,		/* waiting for its timer or for the file to change */
	CERT_PARSING,		/* parse job on a worker */
	CERT_FETCHING,		/* HTTP request in flight */
	CERT_VERIFYING,		/* verify job on a worker */
	CERT_STORING,		/* staple queued for the disk */
};

/* Interned strings (responder URLs): thousands of certificates share a few. */
struct istr {
	char *s;			/* owned */
	int refs;			/* certificates using it (freed at 0) */
	UT_hash_handle hh;		/* by s */
};

/* Issuers, shared by every certificate they issued (one X509 in memory each). */
struct issuer {
	unsigned char fp[32];		/* SHA-256 of the DER */
	X509 *x;			/* owned reference */
	int refs;			/* certificates using it (freed at 0) */
	UT_hash_handle hh;		/* by fp */
};

struct cert {
	unsigned magic;			/* CERT_MAGIC */
	char *path;			/* certificate file, owned; the hash key */
	struct renew *r;		/* owner */
	enum cert_state state;		/* what it is doing */
	int removed;			/* file gone while work was in flight: free when it lands */
	int reparse;			/* file changed while work was in flight */
	OCSP_CERTID *id;		/* what we ask about */
	unsigned char *req;		/* DER OCSP request */
	size_t req_len;			/* its length */
	unsigned char *nonce_req;	/* --nonce: the request of the current attempt */
	size_t nonce_req_len;		/* its length */
	X509 *issuer;			/* iss->x, borrowed from the issuer table */
	struct issuer *iss;		/* its entry there (one reference), or NULL */
	const char *urls[BUNDLE_MAX_URLS]; /* interned responder URLs */
	int n_urls;			/* entries used in urls[] */
	int url_idx;			/* URL of the current attempt */
	int src;			/* source asked now (index into renew.c's sources[]) */
	struct job *found;		/* the staple read from disk by the parse, until the disk source gives it */
	unsigned char *staple;		/* current staple (what is on disk), or NULL */
	size_t staple_len;		/* its length, 0 = none */
	double this_update, next_update; /* of the current staple */
	enum renew_state standing;	/* where it stands: set by set_standing() only */
	int has_staple;			/* a valid staple is held (staple_len > 0, not expired) */
	int revoked;			/* last verified answer said revoked */
	struct staple revocation;	/* that verified revoked answer (der owned), for the local
					 * responder only: never stored or delivered; der NULL = none */
	int no_url;			/* the certificate names no OCSP responder */
	int expiry_alerted;		/* "expiring" alert given for the current staple */
	int pushed;			/* the current staple was handed to deliver */
	int withdrawn;			/* servers told "no staple" since the last one (deliver_withdrawn) */
	struct deliver_ident ident;	/* the file as last parsed (deliver_withdrawn) */
	int have_ident;			/* ident is set */
	char *subject;			/* leaf subject (RFC 2253), owned, or NULL */
	char *serial;			/* leaf serial (hex), owned, or NULL */
	int failures;			/* consecutive failed attempts */
	char *last_err;			/* reason of the last failed attempt */
	int err_repeats;		/* how many times in a row */
	struct cert *next_removed;	/* in renew.removed while removed */
	struct cert *next_parse;	/* in renew's parse queue while waiting */
	int outcome;			/* --one-off: 1 stapled, -1 failed, 0 not yet */
	ev_timer timer;			/* next renewal or retry (stopped while work is in flight) */
	ev_periodic expiry;		/* at next_update (wall clock): withdraws the staple whatever the cycle is doing */
	int fleet_rounds;		/* fleet source: leases lost in this attempt (RENEW_FLEET_ROUNDS) */
	int fleet_lease;		/* this node holds the fleet lease of c's CertID */
	int fleet_waiting;		/* waiting for the fleet's announcement (fleet_watch) */
	int fleet_announced;		/* it came while the lease's answer was on its way */
	ev_timer fleet_wait;		/* or for the other node's lease to end */
	unsigned char fleet_seen[32];	/* SHA-256 of the value Redis gave in this attempt */
	char fleet_read[41];		/* its SHA-1 in hex ("" none), for the lease's check */
	unsigned char fleet_bad[32];	/* of the last one rejected (logged once per value) */
	UT_hash_handle hh;		/* by path */
};

struct renew {
	struct ev_loop *loop;		/* the one event loop */
	const struct conf *c;		/* borrowed */
	X509_STORE *trust;		/* borrowed */
	struct fetch *fetch;		/* borrowed */
	struct store *store;		/* borrowed */
	struct work *work;		/* borrowed */
	struct deliver *deliver;	/* borrowed, may be NULL */
	struct cert *certs;		/* by path */
	struct staples *staples;	/* CertID -> certificates holding it (owned) */
	struct istr *strs;		/* interned URLs */
	struct issuer *issuers;		/* by fingerprint */
	struct cert *removed;		/* removed with work in flight */
	struct source_http *http;	/* the responders' source: requests in flight (owned) */
	struct fleet *fleet;		/* fleet mode's store (borrowed), or NULL */
	struct job *jobs;		/* jobs handed to workers or the store */
	struct cert *parse_head, *parse_tail; /* certificates waiting to be parsed */
	int parsing;			/* parse jobs out on workers */
	int busy;			/* certificates not CERT_IDLE */
	int undecided;			/* certificates with outcome 0 */
	int n_standing[RENEW_NSTATES];	/* known certificates in each standing */
	int n_has_staple;		/* known certificates holding a valid staple */
	renew_changed_fn *changed;	/* observer of standings, may be NULL */
	void *changed_arg;		/* its argument */
};

/* Work handed to a worker thread: inputs copied, outputs filled there. */
struct job {
	struct renew *r;		/* owner: frees jobs still out at exit */
	struct job *next, *prev;	/* in renew.jobs */
	struct cert *c;			/* back to the loop thread */
	char *path;			/* copy of c->path */
	X509_STORE *trust;		/* shared, thread-safe for verification */
	double now;			/* time of submission */
	/* parse outputs */
	struct bundle *b;		/* parsed bundle */
	OCSP_CERTID *id;		/* CertID for it */
	unsigned char *req;		/* its request */
	size_t req_len;			/* its length */
	unsigned char *disk;		/* existing staple on disk */
	size_t disk_len;		/* its length */
	/* verify inputs (also the staple on disk, at parse time) */
	const unsigned char *body;	/* response to verify */
	size_t body_len;		/* its length */
	double fresh_until;		/* HTTP freshness of the response (fetch_done_fn), 0 = none */
	OCSP_CERTID *vid;		/* borrowed CertID */
	X509 *vissuer;			/* borrowed issuer */
	struct ocsp_result res;		/* outcome */
	int verified;			/* ocsp_verify returned 0 */
	int no_url;			/* parse failed: no OCSP responder URL */
	char *subject;			/* leaf subject */
	char *serial;			/* leaf serial */
	char *err;			/* what went wrong */
	char *verr;			/* why the staple on disk did not verify */
	struct deliver_ident ident;	/* stat of the file before it was read */
	int have_ident;			/* ident is set */
};

/* Now, as the wall clock says (staple times are wall-clock times). */
double renew_now(void);

#endif
