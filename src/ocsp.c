/* ocsp — see ocsp.h. */
#include "ocsp.h"
#include "certcache.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#define CLOCK_SKEW	300.0	/* accepted thisUpdate in the future (s) */

/* The DER request for id, with a fresh 16-byte nonce when asked. Caller frees *der. */
static int encode_request(OCSP_CERTID *id, int nonce, unsigned char **der, size_t *len,
    char **err)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *copy = OCSP_CERTID_dup(id);
	unsigned char *buf = NULL;
	int n, rc = -1;

	*der = NULL;
	if (req == NULL || copy == NULL || OCSP_request_add0_id(req, copy) == NULL) {
		err_set_ssl(err, "cannot build the OCSP request");
		goto out;
	}
	copy = NULL;	/* owned by req */
	if ((nonce && !OCSP_request_add1_nonce(req, NULL, 16)) || (n = i2d_OCSP_REQUEST(req, &buf)) <= 0) {
		err_set_ssl(err, "cannot encode the OCSP request");
		goto out;
	}
	*der = buf;
	*len = (size_t)n;
	rc = 0;
out:
	OCSP_CERTID_free(copy);
	OCSP_REQUEST_free(req);
	return rc;
}

int ocsp_request(X509 *leaf, X509 *issuer, OCSP_CERTID **idp, unsigned char **der,
    size_t *len, char **err)
{
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);

	*idp = NULL;
	*der = NULL;
	if (id == NULL) {
		err_set_ssl(err, "cannot build the OCSP CertID");
		return -1;
	}
	if (encode_request(id, 0, der, len, err) == -1) {
		OCSP_CERTID_free(id);
		return -1;
	}
	*idp = id;
	return 0;
}

static double asn1_to_epoch(const ASN1_GENERALIZEDTIME *t)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	return (double)timegm(&tm);
}

void ocsp_fmt_time(double t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* Finds the certificate that signed bs: the issuer itself or one of certs. */
static X509 *find_signer(OCSP_BASICRESP *bs, X509 *issuer, STACK_OF(X509) *certs)
{
	STACK_OF(X509) *extra = sk_X509_dup(certs);
	X509 *signer = NULL;

	if (extra != NULL && sk_X509_insert(extra, issuer, 0))
		if (OCSP_resp_get0_signer(bs, &signer, extra) != 1)
			signer = NULL;
	sk_X509_free(extra);
	ERR_clear_error();
	return signer;
}

/*
 * Steps over one DER element at *p (which must end by end) with this tag and
 * class; *val and *vlen are its contents. 0, or -1 when it is not there.
 */
static int der_next(const unsigned char **p, const unsigned char *end, int tag, int cls,
    const unsigned char **val, long *vlen)
{
	const unsigned char *q = *p;
	int t, c, r;

	if (*p >= end)
		return -1;
	r = ASN1_get_object(&q, vlen, &t, &c, end - *p);
	if ((r & 0x80) || (r & 0x01) || t != tag || c != cls) {
		ERR_clear_error();
		return -1;
	}
	*val = q;
	*p = q + *vlen;
	return 0;
}

/* DER contents of the OID id-pkix-ocsp-basic (1.3.6.1.5.5.7.48.1.1). */
static const unsigned char oid_ocsp_basic[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01 };

/*
 * The BasicOCSPResponse of a DER OCSPResponse, decoded without its
 * certificates, and those certificates (taken from the certificate cache:
 * a responder puts the same one in every response, and decoding it is the
 * dearest step). The signature covers only tbsResponseData, so leaving the
 * certs field out changes nothing that is verified; every candidate signer is
 * checked by check_signer. 0, or -1 with *err. Caller frees *bs and *certs.
 */
static int decode_basic(const unsigned char *der, size_t len, OCSP_BASICRESP **bs,
    STACK_OF(X509) **certs, char **err)
{
	const unsigned char *p = der, *end = der + len, *v, *first, *signed_end, *cv = NULL;
	unsigned char *bare = NULL, *w;
	const unsigned char *bp;
	long vlen, clen = 0;
	int n, rc = -1;

	*bs = NULL;
	if ((*certs = sk_X509_new_null()) == NULL) {
		err_set(err, "out of memory");
		return -1;
	}
	/* OCSPResponse ::= SEQUENCE { ENUMERATED, [0] EXPLICIT SEQUENCE { OID, OCTET STRING } } */
	if (der_next(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &v, &vlen) == -1 || p != end)
		goto malformed;
	p = v;
	end = v + vlen;
	if (der_next(&p, end, V_ASN1_ENUMERATED, V_ASN1_UNIVERSAL, &v, &vlen) == -1 ||
	    der_next(&p, end, 0, V_ASN1_CONTEXT_SPECIFIC, &v, &vlen) == -1 || p != end)
		goto malformed;
	p = v;
	end = v + vlen;
	if (der_next(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &v, &vlen) == -1 || p != end)
		goto malformed;
	p = v;
	end = v + vlen;
	if (der_next(&p, end, V_ASN1_OBJECT, V_ASN1_UNIVERSAL, &v, &vlen) == -1)
		goto malformed;
	if (vlen != (long)sizeof(oid_ocsp_basic) || memcmp(v, oid_ocsp_basic, sizeof(oid_ocsp_basic)) != 0) {
		err_set(err, "response is not a BasicOCSPResponse");
		goto out;
	}
	if (der_next(&p, end, V_ASN1_OCTET_STRING, V_ASN1_UNIVERSAL, &v, &vlen) == -1 || p != end)
		goto malformed;
	/* BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm, signature, [0] certs OPTIONAL } */
	p = v;
	end = v + vlen;
	if (der_next(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &v, &vlen) == -1 || p != end)
		goto malformed;
	p = first = v;
	end = v + vlen;
	if (der_next(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &v, &vlen) == -1 ||
	    der_next(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &v, &vlen) == -1 ||
	    der_next(&p, end, V_ASN1_BIT_STRING, V_ASN1_UNIVERSAL, &v, &vlen) == -1)
		goto malformed;
	signed_end = p;
	if (p < end) {
		const unsigned char *q;

		if (der_next(&p, end, 0, V_ASN1_CONTEXT_SPECIFIC, &v, &vlen) == -1 || p != end)
			goto malformed;
		q = v;
		if (der_next(&q, v + vlen, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &cv, &clen) == -1 || q != v + vlen)
			goto malformed;
	}
	/* The same SEQUENCE without the certs field. */
	n = ASN1_object_size(1, (int)(signed_end - first), V_ASN1_SEQUENCE);
	if (n <= 0 || (bare = malloc((size_t)n)) == NULL) {
		err_set(err, "out of memory");
		goto out;
	}
	w = bare;
	ASN1_put_object(&w, 1, (int)(signed_end - first), V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	memcpy(w, first, (size_t)(signed_end - first));
	bp = bare;
	if ((*bs = d2i_OCSP_BASICRESP(NULL, &bp, n)) == NULL || bp != bare + n)
		goto malformed;
	/* certs: SEQUENCE OF Certificate, each one whole DER element. */
	p = cv;
	end = cv != NULL ? cv + clen : cv;
	while (p != NULL && p < end) {
		const unsigned char *start = p;
		X509 *x;

		if (der_next(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &v, &vlen) == -1 ||
		    (x = certcache_decode(start, p - start, NULL)) == NULL)
			goto malformed;
		if (!sk_X509_push(*certs, x)) {
			X509_free(x);
			err_set(err, "out of memory");
			goto out;
		}
	}
	rc = 0;
	goto out;
malformed:
	ERR_clear_error();
	err_set(err, "response is not a well-formed BasicOCSPResponse");
out:
	free(bare);
	if (rc == -1) {
		OCSP_BASICRESP_free(*bs);
		*bs = NULL;
		sk_X509_pop_free(*certs, X509_free);
		*certs = NULL;
	}
	return rc;
}

/*
 * Checks that signer may sign for issuer's certificates: it is the issuer, or
 * it was issued by the issuer, carries id-kp-OCSPSigning and is valid at now.
 */
static int check_signer(X509 *signer, X509 *issuer, double now, char **err)
{
	time_t t = (time_t)now;

	/*
	 * The delegated signer's own signature is checked once per thread and
	 * remembered (by SHA-1 fingerprint): thousands of responses share it.
	 */
	static __thread unsigned char ok_pair[2 * SHA_DIGEST_LENGTH];
	unsigned char pair[2 * SHA_DIGEST_LENGTH] = { 0 };
	unsigned int n;
	int known;

	if (X509_cmp(signer, issuer) == 0)
		return 0;
	known = X509_digest(signer, EVP_sha1(), pair, &n) &&
	    X509_digest(issuer, EVP_sha1(), pair + SHA_DIGEST_LENGTH, &n) &&
	    memcmp(pair, ok_pair, sizeof(pair)) == 0;
	if (!known) {
		if (X509_check_issued(issuer, signer) != X509_V_OK ||
		    X509_verify(signer, X509_get0_pubkey(issuer)) != 1) {
			ERR_clear_error();
			err_set(err, "response signed by a certificate the issuing CA did not issue");
			return -1;
		}
	}
	if (!(X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN)) {
		err_set(err, "responder certificate lacks the OCSPSigning extended key usage");
		return -1;
	}
	if (X509_cmp_time(X509_get0_notBefore(signer), &t) >= 0 ||
	    X509_cmp_time(X509_get0_notAfter(signer), &t) <= 0) {
		err_set(err, "responder certificate is not valid now (expired or not yet valid)");
		return -1;
	}
	memcpy(ok_pair, pair, sizeof(pair));
	return 0;
}

/* The signature over the response data, with signer's key (found as find_signer does). */
static int verify_signature(OCSP_BASICRESP *bs, X509 *signer)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	int ok;

	/* NOVERIFY/NOCHECKS: chain and delegation are checked by check_signer. */
	ok = certs != NULL && sk_X509_push(certs, signer) &&
	    OCSP_basic_verify(bs, certs, NULL, OCSP_NOVERIFY | OCSP_NOCHECKS | OCSP_NOINTERN) == 1;
	sk_X509_free(certs);
	return ok;
}

int ocsp_request_nonce(OCSP_CERTID *id, unsigned char **der, size_t *len, char **err)
{
	return encode_request(id, 1, der, len, err);
}

/* 0 when the nonce of the DER request (if any) came back in bs; -1 with *err. */
static int check_nonce(const unsigned char *der, size_t len, OCSP_BASICRESP *bs, char **err)
{
	const unsigned char *p = der;
	OCSP_REQUEST *req;
	int r;

	if (der == NULL)
		return 0;
	if ((req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL) {
		err_set_ssl(err, "cannot decode our own request");
		return -1;
	}
	r = OCSP_check_nonce(req, bs);
	OCSP_REQUEST_free(req);
	if (r == -1)
		err_set(err, "response has no nonce (the responder ignores nonces; run without --nonce)");
	else if (r == 0)
		err_set(err, "response nonce does not match the request's");
	return r == 0 || r == -1 ? -1 : 0;
}

/*
 * The status of id in bs. OpenSSL's OCSP_resp_find_status stops at the first
 * SingleResponse for id; a responder (or someone replaying two of its
 * answers) may put more than one in a response, and if they disagree about
 * the certificate there is no telling which one is meant: such a response is
 * refused rather than taken for its first entry. Entries that agree are
 * fine; the first one's times are used. 0, or -1 with *err.
 */
static int find_status(OCSP_BASICRESP *bs, OCSP_CERTID *id, int *status, int *reason,
    ASN1_GENERALIZEDTIME **revtime, ASN1_GENERALIZEDTIME **thisupd,
    ASN1_GENERALIZEDTIME **nextupd, char **err)
{
	int i = OCSP_resp_find(bs, id, -1);

	if (i < 0) {
		err_set(err, "response does not cover this certificate (CertID mismatch)");
		return -1;
	}
	*status = OCSP_single_get0_status(OCSP_resp_get0(bs, i), reason, revtime, thisupd, nextupd);
	while ((i = OCSP_resp_find(bs, id, i)) >= 0) {
		int st2 = OCSP_single_get0_status(OCSP_resp_get0(bs, i), NULL, NULL, NULL, NULL);

		if (st2 != *status) {
			err_set(err, "conflicting SingleResponses for the certificate (%s and %s)",
			    OCSP_cert_status_str(*status), OCSP_cert_status_str(st2));
			return -1;
		}
	}
	return 0;
}

int ocsp_verify(const unsigned char *der, size_t len, OCSP_CERTID *id, X509 *issuer,
    const unsigned char *req, size_t req_len, double now, struct ocsp_result *res,
    char **err)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	STACK_OF(X509) *certs = NULL;
	ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL, *revtime = NULL;
	X509 *signer;
	int rstatus, status = -1, reason = -1, rc = -1;

	memset(res, 0, sizeof(*res));
	res->status = OCSP_ST_INVALID;
	res->reason = -1;
	if (len == 0) {
		err_set(err, "empty response body");
		goto out;
	}
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL || p != der + len) {
		ERR_clear_error();
		err_set(err, "response is not a DER OCSPResponse (%zu bytes)", len);
		goto out;
	}
	rstatus = OCSP_response_status(resp);
	if (rstatus != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		if (rstatus == OCSP_RESPONSE_STATUS_TRYLATER || rstatus == OCSP_RESPONSE_STATUS_INTERNALERROR)
			res->status = OCSP_ST_RETRY;
		err_set(err, "responder answered %s", OCSP_response_status_str(rstatus));
		goto out;
	}
	if (decode_basic(der, len, &bs, &certs, err) == -1)
		goto out;
	if ((signer = find_signer(bs, issuer, certs)) == NULL) {
		err_set(err, "response signer not found (neither the issuer nor an embedded certificate)");
		goto out;
	}
	if (!verify_signature(bs, signer)) {
		err_set_ssl(err, "response signature does not verify");
		goto out;
	}
	if (check_signer(signer, issuer, now, err) == -1)
		goto out;
	if (check_nonce(req, req_len, bs, err) == -1)
		goto out;
	if (find_status(bs, id, &status, &reason, &revtime, &thisupd, &nextupd, err) == -1)
		goto out;
	if (thisupd == NULL || (res->this_update = asn1_to_epoch(thisupd)) < 0) {
		err_set(err, "response has an unreadable thisUpdate");
		goto out;
	}
	if (res->this_update > now + CLOCK_SKEW) {
		err_set(err, "response thisUpdate is in the future");
		goto out;
	}
	if (nextupd != NULL) {
		if ((res->next_update = asn1_to_epoch(nextupd)) < 0) {
			err_set(err, "response has an unreadable nextUpdate");
			goto out;
		}
		if (res->next_update <= now) {
			err_set(err, "response is expired (nextUpdate in the past)");
			goto out;
		}
		if (res->next_update < res->this_update) {
			err_set(err, "response nextUpdate is before thisUpdate");
			goto out;
		}
	}
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		res->status = OCSP_ST_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		res->status = OCSP_ST_REVOKED;
		res->revoked_at = asn1_to_epoch(revtime);
		res->reason = reason;
		break;
	default:
		res->status = OCSP_ST_UNKNOWN;
		break;
	}
	rc = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return rc;
}
