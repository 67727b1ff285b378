/*
 * staples — the current verified staple of each certificate, looked up by
 * CertID: what a local OCSP responder (answering requests by CertID) or a
 * fleet store keyed by CertID reads, so that neither needs a second table.
 *
 * The index keeps no staple of its own: each entry lists the holders (renew's
 * certificates) of one CertID, and a lookup asks them through the get
 * function given to staples_new, so what it returns is always what renew
 * holds and serves. One CertID may have several holders (the same
 * certificate in several files); a lookup returns the staple valid longest.
 * Loop thread only (renew's thread); nothing here locks.
 */
#ifndef OCSPD_STAPLES_H
#define OCSPD_STAPLES_H

#include <stddef.h>
#include <openssl/ocsp.h>

/* Bytes of a key (SHA-256 of the CertID's fields; a fixed size keeps 10,000 entries small). */
#define STAPLES_KEY_MAX 32

/* A verified staple, borrowed from its holder: valid until the loop runs again. */
struct staple {
	const unsigned char *der;	/* DER OCSPResponse, as on disk and as served */
	size_t len;			/* its length */
	double this_update;		/* seconds since the epoch */
	double next_update;		/* expiry (nextUpdate, or thisUpdate + default-validity) */
};

/* Fills *out with holder's staple and returns 1, or returns 0 when it holds none. */
typedef int staples_get_fn(const void *holder, struct staple *out);

struct staples;

/* An empty index asking get for the holders' staples. NULL when out of memory. */
struct staples *staples_new(staples_get_fn *get);
void staples_free(struct staples *s);

/*
 * The index key of id into buf (STAPLES_KEY_MAX bytes): a digest of its hash
 * algorithm, issuer name hash, issuer key hash and serial number, so that a
 * request's CertID finds ours however its AlgorithmIdentifier parameters
 * were encoded (absent or NULL). Returns its length, or 0 for a CertID that
 * cannot be read or is too large to index (fields over 255 bytes).
 */
size_t staples_key(const OCSP_CERTID *id, unsigned char *buf);

/* holder (borrowed; must stay until staples_remove) holds the CertID with this key. 0, or -1 out of memory. */
int staples_add(struct staples *s, const unsigned char *key, size_t klen, const void *holder);

/* holder no longer holds that CertID (nothing happens if it was not listed). */
void staples_remove(struct staples *s, const unsigned char *key, size_t klen, const void *holder);

/* The staple of the CertID with this key valid longest among its holders: 0, or -1 when none holds one. */
int staples_lookup(const struct staples *s, const unsigned char *key, size_t klen, struct staple *out);

/*
 * As staples_lookup, asking each holder through get instead of the index's
 * own function (the local responder asks for a held revoked answer this way).
 */
int staples_lookup_by(const struct staples *s, const unsigned char *key, size_t klen,
    staples_get_fn *get, struct staple *out);

/* 1 when some holder holds the CertID with this key (whatever it holds now), else 0. */
int staples_has(const struct staples *s, const unsigned char *key, size_t klen);

/* A holder of the CertID with this key (borrowed), or NULL when none holds it. */
const void *staples_holder(const struct staples *s, const unsigned char *key, size_t klen);

/* CertIDs with at least one holder. */
size_t staples_count(const struct staples *s);

#endif
