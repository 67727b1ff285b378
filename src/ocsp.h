/*
 * ocsp — builds OCSP requests and verifies responses (RFC 6960 3.2, RFC 5019).
 *
 * No state of its own: every function works on its arguments (ocsp_verify
 * also shares decoded responder certificates through certcache, and
 * ocsp_request_nonce draws from OpenSSL's random generator), so all are safe
 * on worker threads. Nothing here touches the network or the disk. Errors
 * are reasons; the caller names the certificate and responder (log.h).
 */
#ifndef OCSPD_OCSP_H
#define OCSPD_OCSP_H

#include <stddef.h>
#include <time.h>
#include <openssl/ocsp.h>

enum ocsp_status {
	OCSP_ST_GOOD = 0,	/* verified, certStatus good */
	OCSP_ST_REVOKED,	/* verified, certStatus revoked: never stored */
	OCSP_ST_UNKNOWN,	/* verified, certStatus unknown */
	OCSP_ST_INVALID,	/* failed a check: see the error string */
	OCSP_ST_RETRY,		/* responder said tryLater / internalError etc. */
};

struct ocsp_result {
	enum ocsp_status status;	/* outcome */
	double this_update;		/* seconds since the epoch */
	double next_update;		/* 0 when the response has none */
	double revoked_at;		/* revocationTime when revoked */
	int reason;			/* revocation reason, -1 if none */
};

/* Builds the SHA-1 CertID and the DER request for leaf/issuer (no nonce). Caller frees both. */
int ocsp_request(X509 *leaf, X509 *issuer, OCSP_CERTID **id, unsigned char **der,
    size_t *len, char **err);

/* A DER request for id carrying a fresh random nonce (--nonce). Caller frees *der. */
int ocsp_request_nonce(OCSP_CERTID *id, unsigned char **der, size_t *len, char **err);

/*
 * Verifies a DER OCSPResponse for certificate "id" issued by "issuer" at time
 * now (every check of DESIGN.md section 3 but the chain, which bundle does).
 * When req (the DER request sent) carries a nonce, the response must echo it.
 * Returns 0 with res->status GOOD/REVOKED/UNKNOWN when the response is
 * authentic, or -1 with res->status INVALID/RETRY and *err saying why.
 */
int ocsp_verify(const unsigned char *der, size_t len, OCSP_CERTID *id, X509 *issuer,
    const unsigned char *req, size_t req_len, double now, struct ocsp_result *res,
    char **err);

/* "2026-11-26 12:00:00Z" for logs. */
void ocsp_fmt_time(double t, char *buf, size_t len);

#endif
