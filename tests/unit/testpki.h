/*
 * testpki — a test PKI and OCSP responses made in memory with the OpenSSL
 * API, for the unit tests (test_ocsp.c, test_renew.c). Everything here
 * asserts through cmocka instead of returning errors, and returns objects
 * the caller frees. Include after <cmocka.h>.
 */
#ifndef OCSPD_TESTPKI_H
#define OCSPD_TESTPKI_H

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* One X509v3 extension of x (ctx: issuer, subject), e.g. NID_basic_constraints, "CA:TRUE". */
static inline void testpki_ext(X509 *x, X509 *ca, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, ca != NULL ? ca : x, x, NULL, NULL, 0);
	assert_non_null(ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value));
	assert_true(X509_add_ext(x, ext, -1));
	X509_EXTENSION_free(ext);
}

/*
 * An unsigned certificate "CN=cn" for key, valid from a day ago to a day
 * from now, issued by ca (NULL: self-issued). The caller adds the
 * extensions it needs (testpki_ext), then signs it (testpki_sign).
 */
static inline X509 *testpki_cert(const char *cn, EVP_PKEY *key, long serial, X509 *ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	assert_non_null(x);
	assert_non_null(n);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, ca != NULL ? X509_get_subject_name(ca) : n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	return x;
}

static inline void testpki_sign(X509 *x, EVP_PKEY *signer)
{
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
}

/* The DER of resp (OPENSSL_free it). */
static inline unsigned char *testpki_der(OCSP_RESPONSE *resp, size_t *len)
{
	unsigned char *der = NULL;
	int n;

	assert_true((n = i2d_OCSP_RESPONSE(resp, &der)) > 0);
	*len = (size_t)n;
	return der;
}

#define TESTPKI_NO_NEXT	LONG_MIN	/* next_off: a response without nextUpdate */

/*
 * A BasicOCSPResponse with one SingleResponse for id: status (a
 * V_OCSP_CERTSTATUS_*), thisUpdate and nextUpdate at these offsets from now
 * in seconds (TESTPKI_NO_NEXT: none), signed by ca/key (the issuer itself,
 * no certificates included). Returned as DER (OPENSSL_free it).
 */
static inline unsigned char *testpki_response(OCSP_CERTID *id, int status, long this_off,
    long next_off, X509 *ca, EVP_PKEY *key, size_t *len)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_RESPONSE *resp;
	ASN1_TIME *tu = X509_gmtime_adj(NULL, this_off);
	ASN1_TIME *nu = next_off != TESTPKI_NO_NEXT ? X509_gmtime_adj(NULL, next_off) : NULL;
	int revoked = status == V_OCSP_CERTSTATUS_REVOKED;
	unsigned char *der;

	assert_non_null(bs);
	assert_non_null(OCSP_basic_add1_status(bs, id, status,
	    revoked ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0, revoked ? tu : NULL, tu, nu));
	assert_true(OCSP_basic_sign(bs, ca, key, EVP_sha256(), NULL, OCSP_NOCERTS));
	assert_non_null(resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs));
	der = testpki_der(resp, len);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	return der;
}

/* An OCSPResponse without a body: responseStatus only (tryLater, internalError...). */
static inline unsigned char *testpki_status_only(int status, size_t *len)
{
	OCSP_RESPONSE *resp = OCSP_response_create(status, NULL);
	unsigned char *der;

	assert_non_null(resp);
	der = testpki_der(resp, len);
	OCSP_RESPONSE_free(resp);
	return der;
}

#endif
