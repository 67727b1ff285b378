/*
 * source — where staples come from, the seam between "a certificate is due"
 * and "a staple is held".
 *
 * When a certificate is due, renew asks its sources in a fixed order (the
 * table `sources` in renew.c): today the staple found on disk when the
 * certificate was (re)read (source-disk.c), in fleet mode the staple shared
 * in Redis (fleet.c), then the OCSP responders named by the certificate,
 * over HTTP (source-http.c). A source answers with the
 * DER bytes of an OCSPResponse, or with why it has none. Whichever source
 * answered, renew treats the answer the same way: verify it (ocsp_verify,
 * DESIGN.md section 3), keep it only if it is better than what is held
 * (never one that expires earlier), store it (unless it came from the store
 * itself), deliver it. A revoked answer is a revocation wherever it came
 * from. The fleet store is one more source (and one more sink after
 * store: fleet_after in renew.c), not a new branch in the cycle.
 *
 * Sources never see a certificate's state; they are transports.
 */
#ifndef OCSPD_SOURCE_H
#define OCSPD_SOURCE_H

#include <stddef.h>

/* One answer of a source. Everything borrowed for the callback only. */
struct source_answer {
	const unsigned char *der;	/* DER OCSPResponse, unverified; NULL when err is set */
	size_t len;			/* its length */
	double fresh_until;		/* HTTP freshness (Cache-Control/Expires), 0 = none */
	const char *err;		/* no answer: why (connection, HTTP status...), else NULL */
};

/* Called once per question, on the loop thread, never from inside the asking call. */
typedef void source_answer_fn(void *waiter, const struct source_answer *a);

#endif
