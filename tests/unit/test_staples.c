/* Unit tests for staples: the CertID index of verified staples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "staples.h"

/* A holder as renew's certificates are, seen through the get function. */
struct holder {
	int has;			/* holds a valid staple */
	unsigned char der[4];		/* its bytes */
	double next_update;		/* its expiry */
};

static int get(const void *h, struct staple *out)
{
	const struct holder *x = h;

	if (!x->has)
		return 0;
	out->der = x->der;
	out->len = sizeof(x->der);
	out->this_update = 1;
	out->next_update = x->next_update;
	return 1;
}

/* A SHA-1 CertID for issuer "CN=<cn>" with a fixed key and serial. */
static OCSP_CERTID *certid(const char *cn, long serial)
{
	X509_NAME *name = X509_NAME_new();
	ASN1_BIT_STRING *key = ASN1_BIT_STRING_new();
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	static const unsigned char kb[] = { 4, 1, 2, 3, 4, 5, 6, 7, 8 };
	OCSP_CERTID *id;

	assert_non_null(name);
	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0));
	assert_true(ASN1_BIT_STRING_set(key, (unsigned char *)kb, sizeof(kb)));
	assert_true(ASN1_INTEGER_set(sn, serial));
	id = OCSP_cert_id_new(EVP_sha1(), name, key, sn);
	assert_non_null(id);
	X509_NAME_free(name);
	ASN1_BIT_STRING_free(key);
	ASN1_INTEGER_free(sn);
	return id;
}

/* The same CertID built twice, or read back from its DER (as a responder gets it), has one key. */
static void test_key(void **state)
{
	OCSP_CERTID *a = certid("Inter", 7), *b = certid("Inter", 7), *c = certid("Inter", 8),
	    *d = certid("Other", 7), *back;
	unsigned char ka[STAPLES_KEY_MAX], kb[STAPLES_KEY_MAX], kc[STAPLES_KEY_MAX], *der = NULL;
	const unsigned char *p;
	size_t la, lb, lc;
	int n;

	(void)state;
	la = staples_key(a, ka);
	lb = staples_key(b, kb);
	assert_true(la > 0);
	assert_true(la == lb && memcmp(ka, kb, la) == 0);
	lc = staples_key(c, kc);
	assert_false(lc == la && memcmp(ka, kc, la) == 0);	/* another serial */
	lc = staples_key(d, kc);
	assert_false(lc == la && memcmp(ka, kc, la) == 0);	/* another issuer */
	n = i2d_OCSP_CERTID(a, &der);
	assert_true(n > 0);
	p = der;
	back = d2i_OCSP_CERTID(NULL, &p, n);
	assert_non_null(back);
	lb = staples_key(back, kb);
	assert_true(la == lb && memcmp(ka, kb, la) == 0);
	OPENSSL_free(der);
	OCSP_CERTID_free(a);
	OCSP_CERTID_free(b);
	OCSP_CERTID_free(c);
	OCSP_CERTID_free(d);
	OCSP_CERTID_free(back);
}

/* Lookup finds what the holders hold now, the one valid longest; removal forgets. */
static void test_lookup(void **state)
{
	struct staples *s = staples_new(get);
	struct holder h1 = { 1, { 1, 1, 1, 1 }, 100 }, h2 = { 0, { 2, 2, 2, 2 }, 200 };
	OCSP_CERTID *a = certid("Inter", 7), *c = certid("Inter", 8);
	unsigned char ka[STAPLES_KEY_MAX], kc[STAPLES_KEY_MAX];
	size_t la = staples_key(a, ka), lc = staples_key(c, kc);
	struct staple st;

	(void)state;
	assert_non_null(s);
	assert_int_equal(staples_lookup(s, ka, la, &st), -1);	/* empty */
	assert_int_equal(staples_add(s, ka, la, &h1), 0);
	assert_int_equal(staples_add(s, ka, la, &h1), 0);	/* twice: listed once */
	assert_int_equal(staples_add(s, ka, la, &h2), 0);	/* same certificate in a second file */
	assert_int_equal(staples_count(s), 1);
	assert_int_equal(staples_lookup(s, ka, la, &st), 0);
	assert_true(st.der == h1.der && st.len == 4 && st.next_update == 100);
	h2.has = 1;		/* h2 got a staple valid longer: read through, no copy to refresh */
	assert_int_equal(staples_lookup(s, ka, la, &st), 0);
	assert_true(st.der == h2.der && st.next_update == 200);
	h1.has = h2.has = 0;	/* both withdrawn (revoked, expired) */
	assert_int_equal(staples_lookup(s, ka, la, &st), -1);
	assert_int_equal(staples_lookup(s, kc, lc, &st), -1);	/* another CertID */
	h1.has = 1;
	staples_remove(s, ka, la, &h2);
	staples_remove(s, ka, la, &h2);		/* not listed: nothing happens */
	staples_remove(s, kc, lc, &h1);		/* not listed under that key */
	assert_int_equal(staples_lookup(s, ka, la, &st), 0);
	assert_true(st.der == h1.der);
	staples_remove(s, ka, la, &h1);
	assert_int_equal(staples_lookup(s, ka, la, &st), -1);
	assert_int_equal(staples_count(s), 0);	/* an unused CertID is dropped */
	assert_int_equal(staples_add(s, ka, 0, &h1), -1);	/* no key */
	staples_free(s);
	staples_free(NULL);
	OCSP_CERTID_free(a);
	OCSP_CERTID_free(c);
}

/* A second view of the same holders (the responder's revoked answers), and who holds a key at all. */
static int get_other(const void *h, struct staple *out)
{
	const struct holder *x = h;

	if (x->has)
		return 0;	/* the opposite of get: holds "the other answer" when no staple */
	out->der = x->der;
	out->len = 1;
	out->this_update = 1;
	out->next_update = x->next_update;
	return 1;
}

static void test_lookup_by_and_holder(void **state)
{
	struct staples *s = staples_new(get);
	struct holder h1 = { 0, { 1, 1, 1, 1 }, 100 };
	OCSP_CERTID *a = certid("Inter", 7), *c = certid("Inter", 8);
	unsigned char ka[STAPLES_KEY_MAX], kc[STAPLES_KEY_MAX];
	size_t la = staples_key(a, ka), lc = staples_key(c, kc);
	struct staple st;

	(void)state;
	assert_false(staples_has(s, ka, la));
	assert_null(staples_holder(s, ka, la));
	assert_int_equal(staples_add(s, ka, la, &h1), 0);
	assert_true(staples_has(s, ka, la));		/* held, though without a staple */
	assert_ptr_equal(staples_holder(s, ka, la), &h1);
	assert_false(staples_has(s, kc, lc));
	assert_false(staples_has(s, ka, 0));
	assert_int_equal(staples_lookup(s, ka, la, &st), -1);
	assert_int_equal(staples_lookup_by(s, ka, la, get_other, &st), 0);
	assert_true(st.der == h1.der && st.len == 1);
	h1.has = 1;
	assert_int_equal(staples_lookup_by(s, ka, la, get_other, &st), -1);
	assert_int_equal(staples_lookup(s, ka, la, &st), 0);
	staples_remove(s, ka, la, &h1);
	assert_false(staples_has(s, ka, la));
	staples_free(s);
	OCSP_CERTID_free(a);
	OCSP_CERTID_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_lookup_by_and_holder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
