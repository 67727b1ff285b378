/*
 * certcache — decoded certificates by their DER bytes, shared by the worker
 * threads.
 *
 * Decoding a certificate (its public key above all) is the dearest step of
 * parsing with OpenSSL 3.0, and the same few certificates come back all the
 * time: the intermediate in every bundle of a CA, the delegated responder
 * certificate in every response it signs. The cache holds a few of them and
 * replaces entries round-robin. It owns one reference to each X509.
 */
#ifndef OCSPD_CERTCACHE_H
#define OCSPD_CERTCACHE_H

#include <openssl/x509.h>

#define CERTCACHE_SIZE 32	/* certificates kept */

/* Says whether a freshly decoded certificate is worth keeping. */
typedef int certcache_keep_fn(X509 *x);

/*
 * A new reference to the certificate with this DER (caller frees): from the
 * cache, or decoded and then cached when keep(x) says so (keep NULL: always).
 * NULL when the bytes are not exactly one DER certificate.
 */
X509 *certcache_decode(const unsigned char *der, long len, certcache_keep_fn *keep);

/* Drops every entry (at exit). */
void certcache_free(void);

#endif
