/*
 * fuzz_ocsp — ocsp_verify() on arbitrary responder bytes, for a fixed
 * issuer and CertID (fixture.h, made with the corpus by mkcorpus.sh) at a
 * fixed "now" inside the corpus responses' validity, so mutations of real
 * responses reach the signature, signer, CertID and time checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "ocsp.h"
#include "fixture.h"
#define FUZZ_OWN_INIT	/* loads the fixture too */
#include "fuzz_common.h"

static X509 *issuer;
static OCSP_CERTID *id;

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (x == NULL)
		abort();
	return x;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	X509 *leaf;
	unsigned char *der = NULL;
	size_t len = 0;
	char *err = NULL;

	(void)argc;
	(void)argv;
	fuzz_log_setup();
	issuer = pem_cert(fixture_issuer);
	leaf = pem_cert(fixture_leaf);
	if (ocsp_request(leaf, issuer, &id, &der, &len, &err) == -1)
		abort();
	OPENSSL_free(der);
	X509_free(leaf);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ocsp_result res;
	char *err = NULL;
	int rc;

	rc = ocsp_verify(data, size, id, issuer, NULL, 0, FIXTURE_NOW, &res, &err);
	if (getenv("FUZZ_VERBOSE") != NULL)	/* to see what a seed reaches */
		fprintf(stderr, "ocsp_verify: %d, status %d (%s)\n", rc, (int)res.status,
		    err != NULL ? err : "verified");
	if (rc == 0 && res.status != OCSP_ST_GOOD && res.status != OCSP_ST_REVOKED &&
	    res.status != OCSP_ST_UNKNOWN)
		abort();
	if (rc == -1 && (err == NULL || (res.status != OCSP_ST_INVALID && res.status != OCSP_ST_RETRY)))
		abort();	/* every failure says why */
	if (rc == 0 && res.next_update != 0 && res.next_update <= FIXTURE_NOW)
		abort();	/* an expired response passed */
	free(err);
	ERR_clear_error();
	return 0;
}
