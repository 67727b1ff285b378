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

#include "bundle.h"
#include "certcache.h"
#include "ocsp.h"
#include "../../fuzz/fixture.h"

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

static int teardown(void **state)
{
	(void)state;
	OCSP_CERTID_free(id);
	X509_free(issuer);
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
	assert_int_equal(read_file(path, 0, &der, &len, NULL), 0);
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
	assert_int_equal(read_file("fuzz/corpus/ocsp/good.der", 0, &der, &len, NULL), 0);
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
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
