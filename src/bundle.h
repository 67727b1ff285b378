/*
 * bundle — reads a certificate bundle (PEM: leaf, intermediates, maybe a
 * private key, in any order) into what renewal needs.
 *
 * Private key blocks are skipped without being parsed; their bytes are wiped.
 * A struct bundle owns its X509 objects; bundle_free() releases them.
 */
#ifndef OCSPD_BUNDLE_H
#define OCSPD_BUNDLE_H

#include <stddef.h>
#include <openssl/x509.h>

#define BUNDLE_MAX_SIZE	(1024 * 1024)	/* a bigger file is not a certificate bundle */
#define BUNDLE_MAX_URLS	4		/* AIA OCSP URLs kept per certificate */
#define BUNDLE_NO_URL	(-2)		/* error return: the leaf names no OCSP responder */

struct bundle {
	X509 *leaf;			/* the end-entity certificate */
	X509 *issuer;			/* its issuer (from the bundle or <path>.issuer) */
	STACK_OF(X509) *chain;		/* every other certificate in the bundle */
	char *urls[BUNDLE_MAX_URLS];	/* AIA OCSP URLs, in certificate order */
	int n_urls;			/* entries used in urls[] */
};

/*
 * Parses a bundle held in memory. 0, or -1 with *err, or BUNDLE_NO_URL with
 * *err when the leaf has no OCSP responder URL. Errors are reasons: the
 * caller names the file (log.h).
 */
int bundle_parse(const unsigned char *pem, size_t len, struct bundle **out, char **err);

/*
 * Reads path (and <path>.issuer when the bundle has no issuer). As
 * bundle_parse: the caller names path; a problem with <path>.issuer names
 * that file in the reason.
 */
int bundle_load(const char *path, struct bundle **out, char **err);

/* Verifies leaf + chain against the trust store (purpose: any). 0, or -1 with *err (a reason). */
int bundle_verify_chain(const struct bundle *b, X509_STORE *store, char **err);

void bundle_free(struct bundle *b);


/*
 * Reads a whole regular file of at most max bytes (0 = no limit) into a
 * malloc'd buffer (caller frees). 0, or -1 with *err (the reason).
 * Below a configured directory it goes through real directories only, and a
 * symlinked file only when root or the target's owner made the link
 * (fsroot.h); <path>.issuer is never read through a symlink.
 */
int bundle_read_file(const char *path, size_t max, unsigned char **buf, size_t *len, char **err);

#endif
