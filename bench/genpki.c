/*
 * genpki — make a large test PKI quickly for ocspd's benchmark.
 *
 *   genpki [-n LEAVES] [-K] [-d DAYS] DIR OCSP-URL
 *
 * Writes into DIR:
 *   root.pem root.key           self-signed root CA (trust anchor: --ca-file)
 *   inter.pem inter.key         intermediate CA, issues every leaf
 *   ocsp-signer.pem/.key        delegated OCSP signer (EKU OCSPSigning, issued
 *                               by the intermediate, with id-pkix-ocsp-nocheck)
 *   leaf.key                    the one EC P-256 key every leaf shares
 *   index.txt                   OpenSSL "ca" index (V/serial/subject), read by
 *                               bench/responder and by `openssl ocsp -index`
 *   certs/leafNNNNN.pem         bundle: leaf + intermediate (+ key unless -K)
 *
 * Every key is EC P-256 so that signing 10,000 leaves takes about a second.
 * Serials are distinct: 0x0B3C0000000000 + leaf number. Exit 0, or 1 with a
 * message on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define SERIAL_BASE	0x0B3C0000000000ULL	/* first leaf serial */
#define SIGNER_SERIAL	0x0B3B0000000001ULL	/* delegated OCSP signer */

static void die(const char *what)
{
	fprintf(stderr, "genpki: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	if (k == NULL)
		die("EC key generation failed");
	return k;
}

/* Adds extension nid=value to x, in the context of issuer (NULL = self). */
static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL || !X509_add_ext(x, ext, -1))
		die(value);
	X509_EXTENSION_free(ext);
}

/* A certificate skeleton: serial, subject CN, validity, public key. */
static X509 *new_cert(uint64_t serial, const char *cn, X509 *issuer,
    EVP_PKEY *pub, long days)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = BN_new();

	if (x == NULL || name == NULL || bn == NULL)
		die("out of memory");
	X509_set_version(x, X509_VERSION_3);
	BN_set_word(bn, serial);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"ocspd bench", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L);
	if (pub != NULL)
		X509_set_pubkey(x, pub);
	return x;
}

/*
 * Gives x the shared EC P-256 leaf key tmpl holds. X509_set_pubkey() costs
 * about 0.7 ms in OpenSSL 3.0 (it runs the provider encoder every time), ten
 * times the signature, so the encoded key bits are copied instead.
 */
static void set_ec_pubkey(X509 *x, const X509_PUBKEY *tmpl)
{
	const unsigned char *pk;
	unsigned char *copy;
	int pklen;

	if (!X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, tmpl))
		die("public key");
	if ((copy = OPENSSL_memdup(pk, pklen)) == NULL)
		die("out of memory");
	if (!X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x),
	    OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
	    OBJ_nid2obj(NID_X9_62_prime256v1), copy, pklen))
		die("public key");
}

static void sign(X509 *x, EVP_PKEY *key)
{
	if (!X509_sign(x, key, EVP_sha256()))
		die("signing failed");
}

static void write_pem(const char *dir, const char *file, X509 *x, EVP_PKEY *k)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((f = fopen(path, "w")) == NULL)
		die(path);
	if (x != NULL && !PEM_write_X509(f, x))
		die(path);
	if (k != NULL && !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL))
		die(path);
	if (fclose(f) != 0)
		die(path);
}

/* Base64 PEM text of x, for writing the same intermediate 10,000 times. */
static char *pem_text(X509 *x, EVP_PKEY *k, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *copy;
	long n;

	if (b == NULL)
		die("out of memory");
	if (x != NULL && !PEM_write_bio_X509(b, x))
		die("PEM");
	if (k != NULL && !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
		die("PEM");
	n = BIO_get_mem_data(b, &data);
	if ((copy = malloc(n)) == NULL)
		die("out of memory");
	memcpy(copy, data, n);
	*len = n;
	BIO_free(b);
	return copy;
}

static void usage(void)
{
	fprintf(stderr, "usage: genpki [-n LEAVES] [-K] [-d DAYS] DIR OCSP-URL\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long n = 10000, days = 90;
	int with_key = 1, ch;
	const char *dir, *url;
	char path[4096], cn[64], value[4200], notafter[32];
	EVP_PKEY *root_key, *inter_key, *signer_key, *leaf_key;
	X509 *root, *inter, *signer;
	char *inter_pem, *key_pem;
	size_t inter_len, key_len;
	FILE *index;
	X509 *tmpl;
	const X509_PUBKEY *leaf_pub;
	struct timespec t0, t1;

	while ((ch = getopt(argc, argv, "n:Kd:")) != -1) {
		switch (ch) {
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 'K': with_key = 0; break;
		case 'd': days = strtol(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || n < 0 || n > 999999 || days < 1)
		usage();
	dir = argv[optind];
	url = argv[optind + 1];
	clock_gettime(CLOCK_MONOTONIC, &t0);

	snprintf(path, sizeof(path), "%s/certs", dir);
	if ((mkdir(dir, 0755) == -1 && errno != EEXIST) ||
	    (mkdir(path, 0755) == -1 && errno != EEXIST))
		die(path);

	root_key = new_key();
	inter_key = new_key();
	signer_key = new_key();
	leaf_key = new_key();

	root = new_cert(1, "ocspd bench root CA", NULL, root_key, 3650);
	add_ext(root, NULL, NID_basic_constraints, "critical,CA:TRUE");
	add_ext(root, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
	add_ext(root, NULL, NID_subject_key_identifier, "hash");
	sign(root, root_key);

	inter = new_cert(2, "ocspd bench intermediate CA", root, inter_key, 3650);
	add_ext(inter, root, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
	add_ext(inter, root, NID_key_usage, "critical,keyCertSign,cRLSign");
	add_ext(inter, root, NID_subject_key_identifier, "hash");
	add_ext(inter, root, NID_authority_key_identifier, "keyid:always");
	sign(inter, root_key);

	signer = new_cert(SIGNER_SERIAL, "ocspd bench OCSP signer", inter,
	    signer_key, 3650);
	add_ext(signer, inter, NID_basic_constraints, "critical,CA:FALSE");
	add_ext(signer, inter, NID_key_usage, "critical,digitalSignature");
	add_ext(signer, inter, NID_ext_key_usage, "OCSPSigning");
	add_ext(signer, inter, NID_id_pkix_OCSP_noCheck, "ignored");
	add_ext(signer, inter, NID_subject_key_identifier, "hash");
	add_ext(signer, inter, NID_authority_key_identifier, "keyid:always");
	sign(signer, inter_key);

	write_pem(dir, "root.pem", root, NULL);
	write_pem(dir, "root.key", NULL, root_key);
	write_pem(dir, "inter.pem", inter, NULL);
	write_pem(dir, "inter.key", NULL, inter_key);
	write_pem(dir, "ocsp-signer.pem", signer, NULL);
	write_pem(dir, "ocsp-signer.key", NULL, signer_key);
	write_pem(dir, "leaf.key", NULL, leaf_key);

	tmpl = new_cert(3, "template", inter, leaf_key, 1);
	leaf_pub = X509_get_X509_PUBKEY(tmpl);

	inter_pem = pem_text(inter, NULL, &inter_len);
	key_pem = pem_text(NULL, leaf_key, &key_len);

	snprintf(path, sizeof(path), "%s/index.txt", dir);
	if ((index = fopen(path, "w")) == NULL)
		die(path);

	for (long i = 0; i < n; i++) {
		uint64_t serial = SERIAL_BASE + (uint64_t)i;
		X509 *leaf;
		BIO *out;
		ASN1_TIME *na;

		snprintf(cn, sizeof(cn), "leaf%05ld", i);
		leaf = new_cert(serial, cn, inter, NULL, days);
		set_ec_pubkey(leaf, leaf_pub);
		add_ext(leaf, inter, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(leaf, inter, NID_key_usage, "critical,digitalSignature");
		add_ext(leaf, inter, NID_ext_key_usage, "serverAuth");
		snprintf(value, sizeof(value), "DNS:%s.bench.test", cn);
		add_ext(leaf, inter, NID_subject_alt_name, value);
		snprintf(value, sizeof(value), "OCSP;URI:%s", url);
		add_ext(leaf, inter, NID_info_access, value);
		add_ext(leaf, inter, NID_authority_key_identifier, "keyid:always");
		sign(leaf, inter_key);

		snprintf(path, sizeof(path), "%s/certs/%s.pem", dir, cn);
		if ((out = BIO_new_file(path, "w")) == NULL)
			die(path);
		if (!PEM_write_bio_X509(out, leaf) ||
		    BIO_write(out, inter_pem, (int)inter_len) != (int)inter_len ||
		    (with_key && BIO_write(out, key_pem, (int)key_len) != (int)key_len))
			die(path);
		BIO_free(out);

		/* OpenSSL index: status, expiry (YYMMDDHHMMSSZ), revocation, serial, file, DN. */
		na = X509_getm_notAfter(leaf);
		snprintf(notafter, sizeof(notafter), "%.*s", na->length, na->data);
		fprintf(index, "V\t%s\t\t%014llX\tunknown\t/O=ocspd bench/CN=%s\n",
		    notafter, (unsigned long long)serial, cn);
		X509_free(leaf);
	}
	if (fclose(index) != 0)
		die("index.txt");

	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "genpki: %ld leaves in %s (%.2f s)\n", n, dir,
	    (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(inter_pem);
	free(key_pem);
	X509_free(root);
	X509_free(inter);
	X509_free(signer);
	X509_free(tmpl);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(inter_key);
	EVP_PKEY_free(signer_key);
	EVP_PKEY_free(leaf_key);
	return 0;
}
