/* bundle — see bundle.h. */
#include "bundle.h"
#include "certcache.h"
#include "fsroot.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* The certificate itself: a symlink is followed as fsroot's FSROOT_OWNED says. */
int bundle_read_file(const char *path, size_t max, unsigned char **buf, size_t *len, char **err)
{
	return fsroot_read(path, FSROOT_OWNED, max, buf, len, err) == 0 ? 0 : -1;
}

void bundle_free(struct bundle *b)
{
	if (b == NULL)
		return;
	X509_free(b->leaf);
	X509_free(b->issuer);
	sk_X509_pop_free(b->chain, X509_free);
	for (int i = 0; i < b->n_urls; i++)
		free(b->urls[i]);
	free(b);
}

static int is_ca(X509 *x)
{
	return X509_check_ca(x) != 0;
}

/* Reads every CERTIFICATE block of pem into certs; other blocks are skipped and wiped. */
static int read_certs(const unsigned char *pem, size_t len,
    STACK_OF(X509) *certs, int *blocks, char **err)
{
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	int rc = -1;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		err_set_ssl(err, "out of memory");
		return -1;
	}
	*blocks = 0;
	for (;;) {
		if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1) {
			unsigned long e = ERR_peek_last_error();

			if (ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
				ERR_clear_error();
				break;
			}
			err_set_ssl(err, "malformed PEM block");
			goto out;
		}
		(*blocks)++;
		if (strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0) {
			/* The intermediate of every bundle of a CA is decoded once. */
			X509 *x = certcache_decode(data, dlen, is_ca);

			if (x == NULL) {
				err_set_ssl(err, "certificate %d is not valid DER", sk_X509_num(certs) + 1);
				goto out;
			}
			if (!sk_X509_push(certs, x)) {
				X509_free(x);
				err_set(err, "out of memory");
				goto out;
			}
		} else {
			/* A private key (or anything else): never parsed, never kept. */
			OPENSSL_cleanse(data, (size_t)dlen);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		name = header = NULL;
		data = NULL;
	}
	rc = 0;
out:
	if (data != NULL)
		OPENSSL_cleanse(data, (size_t)dlen);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return rc;
}

/*
 * True when issuer's name and key identifier match x's issuer. The signature
 * itself is checked once, by bundle_verify_chain.
 */
static int issued_by(X509 *x, X509 *issuer)
{
	return X509_check_issued(issuer, x) == X509_V_OK;
}

static int collect_urls(struct bundle *b, char **err)
{
	STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(b->leaf);

	for (int i = 0; i < sk_OPENSSL_STRING_num(urls) && b->n_urls < BUNDLE_MAX_URLS; i++) {
		const char *u = sk_OPENSSL_STRING_value(urls, i);

		if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
			continue;
		if ((b->urls[b->n_urls] = strdup(u)) == NULL)
			break;
		b->n_urls++;
	}
	X509_email_free(urls);
	if (b->n_urls == 0) {
		err_set(err, "certificate has no OCSP responder URL (no AIA OCSP entry)");
		return BUNDLE_NO_URL;
	}
	return 0;
}

int bundle_parse(const unsigned char *pem, size_t len, struct bundle **out, char **err)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	struct bundle *b = calloc(1, sizeof(*b));
	int blocks = 0, leaf_idx = -1, rc = -1;

	*out = NULL;
	if (certs == NULL || b == NULL || (b->chain = sk_X509_new_null()) == NULL) {
		err_set(err, "out of memory");
		goto fail;
	}
	if (len == 0) {
		err_set(err, "empty file");
		goto fail;
	}
	if (read_certs(pem, len, certs, &blocks, err) == -1)
		goto fail;
	if (sk_X509_num(certs) == 0) {
		err_set(err, "no certificate found (%s)",
		    blocks ? "only keys or other PEM blocks" : "not a PEM file");
		goto fail;
	}
	for (int i = 0; i < sk_X509_num(certs); i++)
		if (!is_ca(sk_X509_value(certs, i))) {
			leaf_idx = i;
			break;
		}
	if (leaf_idx == -1) {
		err_set(err, "no end-entity certificate (every certificate is a CA)");
		goto fail;
	}
	b->leaf = sk_X509_delete(certs, leaf_idx);
	while (sk_X509_num(certs) > 0) {
		X509 *x = sk_X509_shift(certs);

		if (b->issuer == NULL && issued_by(b->leaf, x)) {
			X509_up_ref(x);
			b->issuer = x;
		}
		sk_X509_push(b->chain, x);
	}
	if ((rc = collect_urls(b, err)) != 0)
		goto fail;
	sk_X509_free(certs);
	*out = b;
	return 0;
fail:
	sk_X509_pop_free(certs, X509_free);
	bundle_free(b);
	return rc;
}

/* Looks for the issuer in <path>.issuer (HAProxy's convention). */
static int load_issuer_file(struct bundle *b, const char *path, char **err)
{
	char ipath[4096];
	unsigned char *buf = NULL;
	size_t len = 0;
	STACK_OF(X509) *certs = NULL;
	int blocks, rc = -1;

	if (snprintf(ipath, sizeof(ipath), "%s.issuer", path) >= (int)sizeof(ipath)) {
		err_set(err, "path too long");
		return -1;
	}
	/* Beside the certificate and a regular file: never through a symlink. */
	if ((rc = fsroot_read(ipath, FSROOT_NOFOLLOW, BUNDLE_MAX_SIZE, &buf, &len, err)) != 0) {
		if (rc == FSROOT_MISSING)
			err_set(err, "issuer certificate not in the bundle and no %s", ipath);
		else
			err_prefix(err, ipath);
		return -1;
	}
	rc = -1;
	if ((certs = sk_X509_new_null()) == NULL) {
		err_set(err, "out of memory");
		goto out;
	}
	if (read_certs(buf, len, certs, &blocks, err) == -1) {
		err_prefix(err, ipath);	/* not the file our caller named */
		goto out;
	}
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (issued_by(b->leaf, x)) {
			X509_up_ref(x);
			b->issuer = x;
			X509_up_ref(x);
			sk_X509_push(b->chain, x);
			rc = 0;
			goto out;
		}
	}
	err_set(err, "%s does not hold the certificate's issuer", ipath);
out:
	sk_X509_pop_free(certs, X509_free);
	free(buf);
	return rc;
}

int bundle_load(const char *path, struct bundle **out, char **err)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc = -1;

	*out = NULL;
	if (bundle_read_file(path, BUNDLE_MAX_SIZE, &buf, &len, err) == -1)
		return -1;
	if ((rc = bundle_parse(buf, len, out, err)) != 0)
		goto out;
	rc = -1;
	if ((*out)->issuer == NULL && load_issuer_file(*out, path, err) == -1) {
		bundle_free(*out);
		*out = NULL;
		goto out;
	}
	rc = 0;
out:
	/* The buffer may have held a private key. */
	OPENSSL_clear_free(buf, len);
	return rc;
}

int bundle_verify_chain(const struct bundle *b, X509_STORE *store, char **err)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc = -1, e;

	if (ctx == NULL || !X509_STORE_CTX_init(ctx, store, b->leaf, b->chain)) {
		err_set_ssl(err, "cannot set up chain validation");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		e = X509_STORE_CTX_get_error(ctx);
		err_set(err, "certificate chain does not verify (%s, depth %d)",
		    X509_verify_cert_error_string(e), X509_STORE_CTX_get_error_depth(ctx));
		ERR_clear_error();
		goto out;
	}
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	return rc;
}
