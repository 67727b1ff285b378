/*
 * test_ocsp — ocsp_verify() against the responses of fuzz/corpus/ocsp/ (made
 * by fuzz/mkcorpus.sh with faultd for the issuer and leaf of fuzz/fixture.h):
 * each fault gives its own outcome and message, and the good ones verify.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <time.h>

#include "bundle.h"
#include "certcache.h"
#include "ocsp.h"
#include "../../fuzz/fixture.h"
#include "testpki.h"

static X509 *issuer;
static OCSP_CERTID *id;

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	return x;
}

static int setup(void **state)
{
	X509 *leaf = pem_cert(fixture_leaf);
	unsigned char *der = NULL;
	size_t len;
	char *err = NULL;

	(void)state;
	issuer = pem_cert(fixture_issuer);
	assert_non_null(leaf);
	assert_non_null(issuer);
	assert_int_equal(ocsp_request(leaf, issuer, &id, &der, &len, &err), 0);
	OPENSSL_free(der);
	X509_free(leaf);
	return 0;
}

/* ---- responses built here, signed by a CA made here (conflicting SingleResponses) */

static EVP_PKEY *mem_key;	/* the CA's key */
static X509 *mem_ca;		/* self-signed CA, the issuer */
static OCSP_CERTID *mem_id;	/* CertID of a leaf it issued */

static X509 *mem_cert(const char *cn, EVP_PKEY *key, long serial, X509 *ca, EVP_PKEY *cakey)
{
	X509 *x = testpki_cert(cn, key, serial, ca);

	testpki_sign(x, cakey != NULL ? cakey : key);
	return x;
}

static void mem_pki(void)
{
	EVP_PKEY *lkey;
	X509 *leaf;

	if (mem_ca != NULL)
		return;
	assert_non_null(mem_key = EVP_EC_gen("P-256"));
	assert_non_null(lkey = EVP_EC_gen("P-256"));
	mem_ca = mem_cert("test ca", mem_key, 1, NULL, NULL);
	leaf = mem_cert("leaf.test", lkey, 4242, mem_ca, mem_key);
	assert_non_null(mem_id = OCSP_cert_to_id(EVP_sha1(), leaf, mem_ca));
	X509_free(leaf);
	EVP_PKEY_free(lkey);
}

/* mem_id with its serial moved by add (another certificate of the same CA). */
static OCSP_CERTID *mem_other(long add)
{
	OCSP_CERTID *o = OCSP_CERTID_dup(mem_id);
	ASN1_INTEGER *serial = NULL;

	assert_true(OCSP_id_get0_info(NULL, NULL, NULL, &serial, o));
	ASN1_INTEGER_set(serial, ASN1_INTEGER_get(serial) + add);
	return o;
}

/*
 * A signed response holding one SingleResponse per entry of st[] (a
 * V_OCSP_CERTSTATUS_*), for mem_id or, where other[k] is set, for another
 * serial; verified at now. Returns ocsp_verify's rc.
 */
static int mem_verify(int n, const int *st, const int *other, struct ocsp_result *res, char **err)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_RESPONSE *resp;
	ASN1_TIME *tu = X509_gmtime_adj(NULL, -60), *nu = X509_gmtime_adj(NULL, 86400);
	unsigned char *der;
	size_t len;
	int rc;

	mem_pki();
	for (int k = 0; k < n; k++) {
		OCSP_CERTID *o = other[k] ? mem_other(other[k]) : NULL;
		int revoked = st[k] == V_OCSP_CERTSTATUS_REVOKED;

		assert_non_null(OCSP_basic_add1_status(bs, o != NULL ? o : mem_id, st[k],
		    revoked ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0, revoked ? tu : NULL, tu, nu));
		OCSP_CERTID_free(o);
	}
	assert_true(OCSP_basic_sign(bs, mem_ca, mem_key, EVP_sha256(), NULL, OCSP_NOCERTS));
	assert_non_null(resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs));
	der = testpki_der(resp, &len);
	rc = ocsp_verify(der, len, mem_id, mem_ca, NULL, 0, (double)time(NULL), res, err);
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	return rc;
}

#define GOOD V_OCSP_CERTSTATUS_GOOD
#define REVOKED V_OCSP_CERTSTATUS_REVOKED

/* good and revoked for the same CertID, in either order: refused, with its own message. */
static void test_conflict(void **state)
{
	static const int st[][3] = { { GOOD, REVOKED }, { REVOKED, GOOD }, { GOOD, GOOD, REVOKED } };
	static const int n[] = { 2, 2, 3 }, none[3] = { 0 };

	(void)state;
	for (size_t k = 0; k < sizeof(n) / sizeof(n[0]); k++) {
		struct ocsp_result res;
		char *err = NULL;

		assert_int_equal(mem_verify(n[k], st[k], none, &res, &err), -1);
		assert_int_not_equal(res.status, OCSP_ST_GOOD);
		assert_non_null(err);
		if (strstr(err, "conflicting SingleResponses") == NULL)
			fail_msg("case %zu: %s", k, err);
		free(err);
	}
}

/* Entries that agree are fine; entries for other certificates never decide ours. */
static void test_agreeing_and_others(void **state)
{
	struct ocsp_result res;
	char *err = NULL;

	(void)state;
	assert_int_equal(mem_verify(2, (const int[]){ GOOD, GOOD }, (const int[]){ 0, 0 }, &res, &err), 0);
	assert_int_equal(res.status, OCSP_ST_GOOD);
	/* Ours revoked, another certificate good (before or after it): revoked. */
	assert_int_equal(mem_verify(2, (const int[]){ GOOD, REVOKED }, (const int[]){ 1, 0 }, &res, &err), 0);
	assert_int_equal(res.status, OCSP_ST_REVOKED);
	assert_int_equal(mem_verify(2, (const int[]){ REVOKED, GOOD }, (const int[]){ 0, 1 }, &res, &err), 0);
	assert_int_equal(res.status, OCSP_ST_REVOKED);
	/* Another certificate revoked, ours good. */
	assert_int_equal(mem_verify(2, (const int[]){ REVOKED, GOOD }, (const int[]){ 1, 0 }, &res, &err), 0);
	assert_int_equal(res.status, OCSP_ST_GOOD);
	assert_null(err);
}

static int teardown(void **state)
{
	(void)state;
	OCSP_CERTID_free(id);
	X509_free(issuer);
	OCSP_CERTID_free(mem_id);
	X509_free(mem_ca);
	EVP_PKEY_free(mem_key);
	certcache_free();
	return 0;
}

/* Verifies corpus file NAME at the fixture's time; returns rc, fills res and err. */
static int verify(const char *name, struct ocsp_result *res, char **err)
{
	char path[256];
	unsigned char *der = NULL;
	size_t len = 0;
	int rc;

	snprintf(path, sizeof(path), "fuzz/corpus/ocsp/%s.der", name);
	assert_int_equal(bundle_read_file(path, 0, &der, &len, NULL), 0);
	rc = ocsp_verify(der, len, id, issuer, NULL, 0, FIXTURE_NOW, res, err);
	free(der);
	return rc;
}

static const struct {
	const char *name;		/* corpus file */
	int rc;				/* ocsp_verify's return */
	enum ocsp_status status;	/* res.status */
	const char *why;		/* part of the message, NULL when verified */
} cases[] = {
	{ "good", 0, OCSP_ST_GOOD, NULL },
	{ "good-ca", 0, OCSP_ST_GOOD, NULL },
	{ "multi", 0, OCSP_ST_GOOD, NULL },
	{ "nonext", 0, OCSP_ST_GOOD, NULL },
	{ "short", 0, OCSP_ST_GOOD, NULL },
	{ "skew", 0, OCSP_ST_GOOD, NULL },
	{ "revoked", 0, OCSP_ST_REVOKED, NULL },
	{ "unknown", 0, OCSP_ST_UNKNOWN, NULL },
	{ "trylater", -1, OCSP_ST_RETRY, "trylater" },
	{ "internalerror", -1, OCSP_ST_RETRY, "internalerror" },
	{ "unauthorized", -1, OCSP_ST_INVALID, "unauthorized" },
	{ "malformed", -1, OCSP_ST_INVALID, "malformedrequest" },
	{ "sigrequired", -1, OCSP_ST_INVALID, "sigrequired" },
	{ "badsig", -1, OCSP_ST_INVALID, "signature does not verify" },
	{ "unrelated", -1, OCSP_ST_INVALID, "did not issue" },
	{ "noeku", -1, OCSP_ST_INVALID, "OCSPSigning" },
	{ "expired", -1, OCSP_ST_INVALID, "not valid now" },
	{ "wrongserial", -1, OCSP_ST_INVALID, "CertID mismatch" },
	{ "wrongissuer", -1, OCSP_ST_INVALID, "CertID mismatch" },
	{ "future", -1, OCSP_ST_INVALID, "in the future" },
	{ "stale", -1, OCSP_ST_INVALID, "nextUpdate in the past" },
};

static void test_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ocsp_result res;
		char *err = NULL;
		int rc = verify(cases[i].name, &res, &err);

		if (rc != cases[i].rc || res.status != cases[i].status ||
		    (cases[i].why == NULL) != (err == NULL) ||
		    (err != NULL && strstr(err, cases[i].why) == NULL))
			fail_msg("%s: rc %d status %d err \"%s\"", cases[i].name, rc, (int)res.status,
			    err != NULL ? err : "");
		free(err);
	}
}

/* The delegated signer is taken from the cache the second time: same outcome. */
static void test_twice(void **state)
{
	struct ocsp_result a, b;
	char *err = NULL;

	(void)state;
	assert_int_equal(verify("good", &a, &err), 0);
	assert_int_equal(verify("good", &b, &err), 0);
	assert_null(err);
	assert_true(a.this_update == b.this_update && a.next_update == b.next_update);
	assert_int_equal(verify("noeku", &b, &err), -1);
	assert_non_null(strstr(err, "OCSPSigning"));
	free(err);
}

/* Truncations of a good response never verify, never crash. */
static void test_truncated(void **state)
{
	unsigned char *der = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(bundle_read_file("fuzz/corpus/ocsp/good.der", 0, &der, &len, NULL), 0);
	for (size_t n = 0; n < len; n++) {
		struct ocsp_result res;
		char *err = NULL;

		if (ocsp_verify(der, n, id, issuer, NULL, 0, FIXTURE_NOW, &res, &err) == 0)
			fail_msg("%zu of %zu bytes verified", n, len);
		assert_non_null(err);
		free(err);
	}
	free(der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_twice),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_conflict),
		cmocka_unit_test(test_agreeing_and_others),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
