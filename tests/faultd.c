/*
 * faultd — a fault-injecting OCSP responder for the integration tests.
 *
 *   faultd serve -c ISSUER_CERT -k ISSUER_KEY [-s SIGNER_CERT -K SIGNER_KEY]
 *                [-p PORT] [-m MODE] [-P PORTFILE]
 *   faultd leaf ISSUER_CERT ISSUER_KEY LEAF_KEY OUT.pem URL...
 *   faultd modes
 *
 * serve answers on 127.0.0.1:PORT (0 = any free port, printed on stdout and
 * written to PORTFILE). The first path segment of each request picks the
 * fault, so one faultd serves every case: a leaf whose AIA OCSP URL is
 * http://127.0.0.1:PORT/revoked gets revoked answers, both for GET
 * (/revoked/<base64 request>) and POST (/revoked). -m MODE answers every
 * request in that mode whatever its path (to fetch good staples first; then
 * a path without a mode, "/<base64 request>", works too).
 *
 * The certificates a fault needs beyond the issuer (an unrelated CA, a
 * responder without the OCSPSigning EKU, an expired responder) are made in
 * memory at start. Good answers are signed by the delegated signer when one
 * is given, else by the issuer.
 *
 * leaf issues a test leaf (AIA OCSP = the URLs) and writes the bundle OUT.pem:
 * leaf certificate, issuer certificate, leaf key.
 *
 * One forked child per connection, one request per connection
 * (Connection: close). Every request is logged on stderr as
 * "faultd: MODE METHOD", which tests count. Children die with the parent.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MAX_HEAD	16384		/* request head cap */
#define MAX_BODY	65536		/* request body cap */
#define HUGE_SIZE	(10 * 1024 * 1024)	/* body of the "huge" fault */
#define DAY		86400L
#define AGED_MAX_AGE	43200		/* Cache-Control max-age of the "aged" answers (s) */
#define AGED_SLOTS	16		/* CertIDs whose "aged" answer is remembered */
#define AGED_MAX_DER	8192		/* bytes of one remembered answer */

/* ---------------------------------------------------------------- faults */

enum fault {
	F_GOOD,		/* baseline: good, signed by the delegated signer */
	F_GOOD_CA,	/* good, signed by the issuer itself */
	F_SHORT,	/* good, valid for 5 minutes */
	F_NONEXT,	/* good, no nextUpdate (acceptable) */
	F_NONEXT_OLD,	/* good, no nextUpdate, thisUpdate 2 hours ago */
	F_MULTI,	/* three SingleResponses, the last one matching (acceptable) */
	F_SKEW,		/* thisUpdate 2 minutes ahead (within the 5 min skew: acceptable) */
	F_HTTP500, F_HTTP404, F_REDIRECT, F_HTML, F_EMPTY, F_GARBAGE,
	F_TRUNCATED, F_HUGE, F_SLOW, F_HANG, F_RESET, F_CLOSE, F_CTYPE,
	F_TRYLATER, F_INTERNAL, F_UNAUTH, F_MALFORMED, F_SIGREQUIRED,
	F_UNRELATED,	/* signed by an unrelated CA */
	F_NOEKU,	/* signed by a cert of the issuer without OCSPSigning EKU */
	F_EXPIRED,	/* signed by an expired delegated responder */
	F_BADSIG,	/* signature does not verify */
	F_WRONGSERIAL,	/* CertID for another serial */
	F_WRONGISSUER,	/* CertID with another issuer key hash */
	F_REVOKED, F_UNKNOWN,
	F_FUTURE,	/* thisUpdate one day ahead */
	F_STALE,	/* nextUpdate in the past */
	F_NONCE,	/* good, echoes the request's nonce (acceptable) */
	F_NONCE_WRONG,	/* good, with a nonce other than the request's */
	F_AGED,		/* pre-signed: thisUpdate 5 days ago, nextUpdate in 2, same bytes each time, max-age */
	F_FOREVER,	/* good, nextUpdate 9999-12-31 */
	F_CONFLICT,	/* a good and a revoked SingleResponse for the requested CertID */
	F_REVOKED_MULTI, /* revoked for the requested CertID, good for two others */
	F_BIGHEAD,	/* a good response after 1 MB of response headers */
	F_COUNT
};

static const struct {
	const char *name;	/* first path segment */
	const char *what;	/* for "faultd modes" */
} faults[F_COUNT] = {
	[F_GOOD] = { "good", "good, delegated signer, 7 days" },
	[F_GOOD_CA] = { "good-ca", "good, signed by the issuer" },
	[F_SHORT] = { "short", "good, valid 5 minutes" },
	[F_NONEXT] = { "nonext", "good, no nextUpdate" },
	[F_NONEXT_OLD] = { "nonext-old", "good, no nextUpdate, thisUpdate 2 hours ago" },
	[F_MULTI] = { "multi", "3 SingleResponses, last one matches" },
	[F_SKEW] = { "skew", "thisUpdate now+2min (within skew)" },
	[F_HTTP500] = { "http500", "HTTP 500" },
	[F_HTTP404] = { "http404", "HTTP 404" },
	[F_REDIRECT] = { "redirect", "302 to itself, forever" },
	[F_HTML] = { "html", "200 with an HTML page" },
	[F_EMPTY] = { "empty", "200 with an empty body" },
	[F_GARBAGE] = { "garbage", "200 with random bytes" },
	[F_TRUNCATED] = { "truncated", "200 with half a good response" },
	[F_HUGE] = { "huge", "200 with a 10 MB body" },
	[F_SLOW] = { "slow", "good response dripped at 1 byte/s" },
	[F_HANG] = { "hang", "reads the request, never answers" },
	[F_RESET] = { "reset", "reads the request, resets the connection" },
	[F_CLOSE] = { "close", "reads the request, closes without answer" },
	[F_CTYPE] = { "ctype", "good response labelled text/plain" },
	[F_TRYLATER] = { "trylater", "responseStatus tryLater" },
	[F_INTERNAL] = { "internalerror", "responseStatus internalError" },
	[F_UNAUTH] = { "unauthorized", "responseStatus unauthorized" },
	[F_MALFORMED] = { "malformed", "responseStatus malformedRequest" },
	[F_SIGREQUIRED] = { "sigrequired", "responseStatus sigRequired" },
	[F_UNRELATED] = { "unrelated", "signed by an unrelated CA" },
	[F_NOEKU] = { "noeku", "signer lacks the OCSPSigning EKU" },
	[F_EXPIRED] = { "expired", "signer certificate expired" },
	[F_BADSIG] = { "badsig", "signature does not verify" },
	[F_WRONGSERIAL] = { "wrongserial", "CertID for another serial" },
	[F_WRONGISSUER] = { "wrongissuer", "CertID for another issuer key" },
	[F_REVOKED] = { "revoked", "certStatus revoked (keyCompromise)" },
	[F_UNKNOWN] = { "unknown", "certStatus unknown" },
	[F_FUTURE] = { "future", "thisUpdate one day ahead" },
	[F_STALE] = { "stale", "nextUpdate one day ago" },
	[F_NONCE] = { "nonce", "good, echoes the request's nonce" },
	[F_NONCE_WRONG] = { "nonce-wrong", "good, with another nonce than the request's" },
	[F_AGED] = { "aged", "pre-signed 5 days ago, valid 2 more, same bytes, max-age" },
	[F_FOREVER] = { "forever", "good, nextUpdate in year 9999" },
	[F_CONFLICT] = { "conflict", "good and revoked SingleResponse for the CertID" },
	[F_REVOKED_MULTI] = { "revoked-multi", "revoked for the CertID, good for 2 others" },
	[F_BIGHEAD] = { "bighead", "good response after 1 MB of headers" },
};

struct signer {
	X509 *cert;		/* signs the response */
	EVP_PKEY *key;		/* its key */
};

struct pki {
	X509 *issuer;		/* issuer of the leaves */
	EVP_PKEY *issuer_key;	/* its key */
	struct signer good;	/* delegated signer, or the issuer */
	struct signer unrelated;	/* self-signed CA unrelated to the leaves */
	struct signer noeku;	/* issued by the issuer, no OCSPSigning EKU */
	struct signer expired;	/* issued by the issuer, OCSPSigning, expired */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("faultd: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* ---------------------------------------------------------------- certificates */

static X509 *load_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		die("%s: no certificate", path);
	return x;
}

static EVP_PKEY *load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		die("%s: no private key", path);
	return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	if (ext == NULL || !X509_add_ext(x, ext, -1))
		die("extension %s = %s", OBJ_nid2sn(nid), value);
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for key, signed by issuer/ikey (self-signed when issuer is
 * NULL), valid from now+nb to now+na seconds. kind: "ca", "ocsp", "plain",
 * "leaf". aia: OCSP URLs for leaves, comma-separated "OCSP;URI:..." list.
 */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    long nb, long na, const char *kind, const char *aia)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = BN_new();
	ASN1_INTEGER *serial;

	if (x == NULL || name == NULL || bn == NULL)
		die("out of memory");
	X509_set_version(x, 2);
	if (!BN_rand(bn, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		die("serial");
	X509_set_serialNumber(x, serial);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"faultd", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	X509_gmtime_adj(X509_getm_notBefore(x), nb);
	X509_gmtime_adj(X509_getm_notAfter(x), na);
	X509_set_pubkey(x, key);
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid");
	if (strcmp(kind, "ca") == 0) {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
	}
	if (strcmp(kind, "ocsp") == 0)
		add_ext(x, issuer, NID_ext_key_usage, "OCSPSigning");
	if (strcmp(kind, "leaf") == 0) {
		char san[300];

		add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
		snprintf(san, sizeof(san), "DNS:%s", cn);
		add_ext(x, issuer, NID_subject_alt_name, san);
		if (aia != NULL)
			add_ext(x, issuer, NID_info_access, aia);
	}
	if (!X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()))
		die("signing %s", cn);
	return x;
}

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	if (k == NULL)
		die("key generation");
	return k;
}

static void make_pki(struct pki *p)
{
	p->unrelated.key = new_key();
	p->unrelated.cert = make_cert("faultd unrelated CA", p->unrelated.key, NULL, NULL,
	    -DAY, 3650 * DAY, "ca", NULL);
	p->noeku.key = new_key();
	p->noeku.cert = make_cert("faultd responder without EKU", p->noeku.key, p->issuer,
	    p->issuer_key, -DAY, 365 * DAY, "plain", NULL);
	p->expired.key = new_key();
	p->expired.cert = make_cert("faultd expired responder", p->expired.key, p->issuer,
	    p->issuer_key, -30 * DAY, -DAY, "ocsp", NULL);
}

/* ---------------------------------------------------------------- responses */

/* DER of resp in a malloc'd buffer. */
static unsigned char *resp_der(OCSP_RESPONSE *resp, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_OCSP_RESPONSE(resp, &der);

	if (n <= 0)
		die("encoding the response");
	*len = (size_t)n;
	return der;
}

static unsigned char *status_only(int status, size_t *len)
{
	OCSP_RESPONSE *resp = OCSP_response_create(status, NULL);
	unsigned char *der = resp_der(resp, len);

	OCSP_RESPONSE_free(resp);
	return der;
}

/* A copy of id with its serial increased by add, or its key hash altered. */
static OCSP_CERTID *other_id(OCSP_CERTID *id, unsigned long add, int issuer)
{
	OCSP_CERTID *o = OCSP_CERTID_dup(id);
	ASN1_OCTET_STRING *keyhash = NULL;
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn;

	if (o == NULL || !OCSP_id_get0_info(NULL, NULL, &keyhash, &serial, o))
		die("CertID");
	if (issuer) {
		unsigned char h[64];
		int n = ASN1_STRING_length(keyhash);

		if (n <= 0 || n > (int)sizeof(h))
			die("key hash");
		memcpy(h, ASN1_STRING_get0_data(keyhash), (size_t)n);
		h[0] ^= 0xff;
		ASN1_OCTET_STRING_set(keyhash, h, n);
		return o;
	}
	bn = ASN1_INTEGER_to_BN(serial, NULL);
	if (bn == NULL || !BN_add_word(bn, add) || BN_to_ASN1_INTEGER(bn, serial) == NULL)
		die("serial");
	BN_free(bn);
	return o;
}

/*
 * The DER answer of fault f to request req (NULL when it did not parse: then
 * malformedRequest). Only faults that answer with an OCSPResponse come here.
 */
static unsigned char *ocsp_answer(const struct pki *p, enum fault f, OCSP_REQUEST *req,
    int validity, size_t *len)
{
	const struct signer *s = &p->good;
	OCSP_BASICRESP *bs = NULL;
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *thisupd = NULL, *nextupd = NULL, *revtime = NULL;
	STACK_OF(X509) *certs = NULL;
	unsigned long flags = 0;
	int status = V_OCSP_CERTSTATUS_GOOD, n;
	long tu = -60, nu = validity;
	unsigned char *der;

	switch (f) {
	case F_TRYLATER:
		return status_only(OCSP_RESPONSE_STATUS_TRYLATER, len);
	case F_INTERNAL:
		return status_only(OCSP_RESPONSE_STATUS_INTERNALERROR, len);
	case F_UNAUTH:
		return status_only(OCSP_RESPONSE_STATUS_UNAUTHORIZED, len);
	case F_MALFORMED:
		return status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, len);
	case F_SIGREQUIRED:
		return status_only(OCSP_RESPONSE_STATUS_SIGREQUIRED, len);
	default:
		break;
	}
	if (req == NULL || (n = OCSP_request_onereq_count(req)) <= 0)
		return status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, len);

	switch (f) {
	case F_GOOD_CA: s = NULL; break;
	case F_UNRELATED: s = &p->unrelated; break;
	case F_NOEKU: s = &p->noeku; break;
	case F_EXPIRED: s = &p->expired; break;
	case F_SHORT: nu = 300; break;
	case F_NONEXT: nu = 0; break;
	case F_NONEXT_OLD: tu = -7200; nu = 0; break;
	case F_SKEW: tu = 120; nu = 120 + validity; break;
	case F_FUTURE: tu = DAY; nu = 2 * DAY; break;
	case F_STALE: tu = -2 * DAY; nu = -DAY; break;
	case F_AGED: tu = -5 * DAY; nu = 2 * DAY; break;
	case F_REVOKED:
	case F_REVOKED_MULTI: status = V_OCSP_CERTSTATUS_REVOKED; break;
	case F_UNKNOWN: status = V_OCSP_CERTSTATUS_UNKNOWN; break;
	default: break;
	}
	if (s == NULL || s->cert == p->issuer) {
		s = NULL;
		flags = OCSP_NOCERTS;
	}

	if ((bs = OCSP_BASICRESP_new()) == NULL ||
	    (thisupd = X509_gmtime_adj(NULL, tu)) == NULL ||
	    (nu != 0 && (nextupd = X509_gmtime_adj(NULL, nu)) == NULL) ||
	    (f == F_FOREVER && !ASN1_TIME_set_string(nextupd, "99991231235959Z")) ||
	    (revtime = X509_gmtime_adj(NULL, -3600)) == NULL)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		OCSP_CERTID *id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
		OCSP_CERTID *use = NULL;

		if (f == F_CONFLICT && OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_GOOD, 0, NULL,
		    thisupd, nextupd) == NULL)
			die("adding a SingleResponse");
		if (f == F_CONFLICT)
			status = V_OCSP_CERTSTATUS_REVOKED;
		if (f == F_MULTI || f == F_REVOKED_MULTI) {
			for (unsigned long k = 1; k <= 2; k++) {
				OCSP_CERTID *o = other_id(id, k, 0);

				OCSP_basic_add1_status(bs, o, V_OCSP_CERTSTATUS_GOOD, 0, NULL,
				    thisupd, nextupd);
				OCSP_CERTID_free(o);
			}
		}
		if (f == F_WRONGSERIAL)
			use = other_id(id, 1, 0);
		else if (f == F_WRONGISSUER)
			use = other_id(id, 0, 1);
		if (OCSP_basic_add1_status(bs, use != NULL ? use : id, status,
		    status == V_OCSP_CERTSTATUS_REVOKED ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0,
		    status == V_OCSP_CERTSTATUS_REVOKED ? revtime : NULL, thisupd, nextupd) == NULL)
			die("adding a SingleResponse");
		OCSP_CERTID_free(use);
	}
	if ((f == F_NONCE && OCSP_copy_nonce(bs, req) <= 0) ||
	    (f == F_NONCE_WRONG && !OCSP_basic_add1_nonce(bs, NULL, 16)))
		die("adding a nonce");
	if (s == NULL) {
		if (!OCSP_basic_sign(bs, p->issuer, p->issuer_key, EVP_sha256(), NULL, flags))
			die("signing");
	} else {
		if (!OCSP_basic_sign(bs, s->cert, s->key, EVP_sha256(), certs, flags))
			die("signing");
	}
	if (f == F_BADSIG) {
		const ASN1_OCTET_STRING *sig = OCSP_resp_get0_signature(bs);
		unsigned char *b = (unsigned char *)ASN1_STRING_get0_data(sig);
		int sl = ASN1_STRING_length(sig);

		if (sl > 8)
			b[sl / 2] ^= 0x5a;
	}
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	if (resp == NULL)
		die("response");
	der = resp_der(resp, len);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(revtime);
	return der;
}

/*
 * The "aged" answers, shared by every forked child: a pre-signing responder
 * (or a CDN in front of one) serves the same bytes to everyone until it signs
 * anew, so the first answer per CertID is kept and served again. A spin lock
 * in the shared page keeps two children from signing the same CertID.
 */
struct aged_slot {
	size_t klen;			/* bytes of key, 0 = unused */
	unsigned char key[256];		/* DER CertID */
	size_t len;			/* bytes of der */
	unsigned char der[AGED_MAX_DER];	/* the answer */
};

struct aged_cache {
	int lock;			/* spin lock */
	struct aged_slot slot[AGED_SLOTS];
};

static struct aged_cache *aged;	/* MAP_SHARED, set up before the first fork */

/* The remembered aged answer for req's first CertID, signed on first use (malloc'd). */
static unsigned char *aged_answer(const struct pki *p, OCSP_REQUEST *req, size_t *len)
{
	unsigned char key[256], *k = key, *der = NULL;
	OCSP_CERTID *id;
	int kl, i;

	if (req == NULL || OCSP_request_onereq_count(req) <= 0)
		return ocsp_answer(p, F_AGED, req, 0, len);
	id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0));
	if ((kl = i2d_OCSP_CERTID(id, NULL)) <= 0 || kl > (int)sizeof(key))
		die("CertID too long");
	i2d_OCSP_CERTID(id, &k);
	while (__atomic_test_and_set(&aged->lock, __ATOMIC_ACQUIRE))
		usleep(1000);
	for (i = 0; i < AGED_SLOTS && aged->slot[i].klen != 0; i++) {
		struct aged_slot *sl = &aged->slot[i];

		if (sl->klen == (size_t)kl && memcmp(sl->key, key, (size_t)kl) == 0) {
			if ((der = malloc(sl->len)) == NULL)
				die("out of memory");
			memcpy(der, sl->der, sl->len);
			*len = sl->len;
			break;
		}
	}
	if (der == NULL) {
		der = ocsp_answer(p, F_AGED, req, 0, len);
		if (i < AGED_SLOTS && *len <= AGED_MAX_DER) {
			memcpy(aged->slot[i].key, key, (size_t)kl);
			memcpy(aged->slot[i].der, der, *len);
			aged->slot[i].len = *len;
			aged->slot[i].klen = (size_t)kl;
		}
	}
	__atomic_clear(&aged->lock, __ATOMIC_RELEASE);
	return der;
}

/* ---------------------------------------------------------------- HTTP */

/* Writes all of buf; -1 when the peer went away. */
static int write_all(int fd, const void *buf, size_t len)
{
	const char *b = buf;

	while (len > 0) {
		ssize_t w = write(fd, b, len);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		len -= (size_t)w;
	}
	return 0;
}

static int send_head(int fd, int code, const char *reason, const char *ctype, size_t len,
    const char *extra)
{
	char head[1024];
	int n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
	    code, reason, ctype, len, extra != NULL ? extra : "");

	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	return write_all(fd, head, (size_t)n);
}

static int send_body(int fd, int code, const char *reason, const char *ctype,
    const void *body, size_t len)
{
	if (send_head(fd, code, reason, ctype, len, NULL) == -1)
		return -1;
	return write_all(fd, body, len);
}

/* Decodes %XX escapes in place. */
static void url_decode(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '%' && s[1] != '\0' && s[2] != '\0') {
			char hex[3] = { s[1], s[2], '\0' };

			*o++ = (char)strtol(hex, NULL, 16);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Parses a base64 OCSP request (NULL when it is not one). */
static OCSP_REQUEST *b64_request(const char *b64)
{
	size_t n = strlen(b64), pad = 0;
	unsigned char *der;
	const unsigned char *q;
	OCSP_REQUEST *req = NULL;
	int dl;

	if (n == 0 || n > MAX_BODY || (der = malloc(n)) == NULL)
		return NULL;
	dl = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n);
	while (n > 0 && b64[n - 1] == '=') {
		n--;
		pad++;
	}
	if (dl > (int)pad) {
		q = der;
		req = d2i_OCSP_REQUEST(NULL, &q, dl - (long)pad);
	}
	free(der);
	return req;
}

/*
 * Reads one request: method, path and body (POST). Returns 0, or -1 when the
 * client sent nothing usable.
 */
static int read_request(int fd, char *method, size_t mlen, char **path, unsigned char **body,
    size_t *blen)
{
	static char buf[MAX_HEAD + MAX_BODY + 1];
	size_t have = 0, head_len = 0, clen = 0;
	char *end, *p, *sp;

	for (;;) {
		ssize_t r = read(fd, buf + have, MAX_HEAD - have);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
			head_len = (size_t)(end - buf) + 4;
			break;
		}
		if (have == MAX_HEAD)
			return -1;
	}
	for (p = buf; (p = strchr(p, '\n')) != NULL && p < end; p++)
		if (strncasecmp(p + 1, "Content-Length:", 15) == 0)
			clen = strtoul(p + 16, NULL, 10);
	if (clen > MAX_BODY)
		return -1;
	while (have < head_len + clen) {
		ssize_t r = read(fd, buf + have, head_len + clen - have);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		have += (size_t)r;
	}
	*body = (unsigned char *)buf + head_len;
	*blen = clen;
	*end = '\0';
	if ((sp = strchr(buf, ' ')) == NULL)
		return -1;
	*sp = '\0';
	snprintf(method, mlen, "%.15s", buf);
	*path = sp + 1;
	if ((sp = strchr(*path, ' ')) != NULL)
		*sp = '\0';
	if ((sp = strstr(*path, "\r\n")) != NULL)
		*sp = '\0';
	return 0;
}

/* Waits until the client goes away (or forever). */
static void wait_for_close(int fd)
{
	char b[512];

	for (;;) {
		ssize_t r = read(fd, b, sizeof(b));

		if (r == 0 || (r == -1 && errno != EINTR))
			return;
	}
}

static void serve_one(int fd, const struct pki *p, int forced, int validity)
{
	char method[16], mode[64], *path = NULL, *rest;
	unsigned char *body = NULL, *der = NULL;
	size_t blen = 0, len = 0, mlen;
	OCSP_REQUEST *req = NULL;
	enum fault f;
	int i;

	if (read_request(fd, method, sizeof(method), &path, &body, &blen) == -1)
		return;
	/* "/mode/b64..." or "/mode" or "http://host/mode/..." (proxy form) */
	if (strncmp(path, "http://", 7) == 0 && (rest = strchr(path + 7, '/')) != NULL)
		path = rest;
	while (*path == '/')
		path++;
	mlen = strcspn(path, "/?");
	snprintf(mode, sizeof(mode), "%.*s", (int)(mlen < sizeof(mode) ? mlen : 0), path);
	rest = path + mlen;
	if (*rest == '/')
		rest++;
	for (i = 0; i < F_COUNT; i++)
		if (strcmp(mode, faults[i].name) == 0)
			break;
	if (forced >= 0) {
		f = (enum fault)forced;
		if (i == F_COUNT)
			rest = path;	/* no mode in the path: all of it is the request */
	} else {
		if (i == F_COUNT) {
			fprintf(stderr, "faultd: no such mode \"%s\" (%s)\n", mode, method);
			send_body(fd, 400, "Bad Request", "text/plain", "no such mode\n", 13);
			return;
		}
		f = (enum fault)i;
	}
	fprintf(stderr, "faultd: %s %s\n", faults[f].name, method);

	if (strcmp(method, "POST") == 0) {
		const unsigned char *q = body;

		req = d2i_OCSP_REQUEST(NULL, &q, (long)blen);
	} else {
		url_decode(rest);
		req = b64_request(rest);
	}

	switch (f) {
	case F_HTTP500:
		send_body(fd, 500, "Internal Server Error", "text/plain", "oops\n", 5);
		break;
	case F_HTTP404:
		send_body(fd, 404, "Not Found", "text/plain", "not here\n", 9);
		break;
	case F_REDIRECT: {
		char loc[2048];

		snprintf(loc, sizeof(loc), "Location: /%.2000s\r\n", path);
		send_head(fd, 302, "Found", "text/plain", 0, loc);
		break;
	}
	case F_HTML: {
		static const char page[] = "<html><head><title>Captive portal</title></head>"
		    "<body><h1>Please log in</h1></body></html>\n";

		send_body(fd, 200, "OK", "text/html", page, sizeof(page) - 1);
		break;
	}
	case F_EMPTY:
		send_body(fd, 200, "OK", "application/ocsp-response", "", 0);
		break;
	case F_GARBAGE: {
		unsigned char junk[777];

		RAND_bytes(junk, sizeof(junk));
		junk[0] = 0x30;		/* looks like a SEQUENCE, is not one */
		send_body(fd, 200, "OK", "application/ocsp-response", junk, sizeof(junk));
		break;
	}
	case F_HUGE: {
		static unsigned char chunk[65536];

		memset(chunk, 'A', sizeof(chunk));
		if (send_head(fd, 200, "OK", "application/ocsp-response", HUGE_SIZE, NULL) == -1)
			break;
		for (size_t sent = 0; sent < HUGE_SIZE; sent += sizeof(chunk))
			if (write_all(fd, chunk, sizeof(chunk)) == -1)
				break;
		break;
	}
	case F_HANG:
		wait_for_close(fd);
		break;
	case F_RESET: {
		struct linger l = { 1, 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		break;
	}
	case F_CLOSE:
		break;
	case F_TRUNCATED:
		der = ocsp_answer(p, F_GOOD, req, validity, &len);
		send_body(fd, 200, "OK", "application/ocsp-response", der, len / 2);
		break;
	case F_SLOW: {
		char head[256];
		int hn;

		der = ocsp_answer(p, F_GOOD, req, validity, &len);
		hn = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: "
		    "application/ocsp-response\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", len);
		for (i = 0; i < hn; i++) {
			if (write_all(fd, head + i, 1) == -1)
				goto done;
			sleep(1);
		}
		for (size_t k = 0; k < len; k++) {
			if (write_all(fd, der + k, 1) == -1)
				goto done;
			sleep(1);
		}
		break;
	}
	case F_CTYPE:
		der = ocsp_answer(p, F_GOOD, req, validity, &len);
		send_body(fd, 200, "OK", "text/plain", der, len);
		break;
	case F_BIGHEAD: {
		static const char line[] = "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
		static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\n";

		der = ocsp_answer(p, F_GOOD, req, validity, &len);
		if (write_all(fd, head, sizeof(head) - 1) == -1)
			break;
		for (i = 0; i < 1024 * 1024 / (int)(sizeof(line) - 1); i++)
			if (write_all(fd, line, sizeof(line) - 1) == -1)
				goto done;
		{
			char tail[128];
			int tn = snprintf(tail, sizeof(tail), "Content-Length: %zu\r\nConnection: close\r\n\r\n", len);

			if (write_all(fd, tail, (size_t)tn) == 0)
				write_all(fd, der, len);
		}
		break;
	}
	case F_AGED: {
		char cc[128];

		/* What a CDN in front of a pre-signing responder sends (RFC 5019 6.2). */
		der = aged_answer(p, req, &len);
		snprintf(cc, sizeof(cc), "Cache-Control: max-age=%d, public, no-transform, must-revalidate\r\n",
		    AGED_MAX_AGE);
		if (send_head(fd, 200, "OK", "application/ocsp-response", len, cc) == 0)
			write_all(fd, der, len);
		break;
	}
	default:
		der = ocsp_answer(p, f, req, validity, &len);
		send_body(fd, 200, "OK", "application/ocsp-response", der, len);
		break;
	}
done:
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
}

static int serve(int argc, char **argv)
{
	struct pki p;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	const char *icert = NULL, *ikey = NULL, *scert = NULL, *skey = NULL, *portfile = NULL;
	int port = 0, forced = -1, validity = 7 * DAY, ch, lfd, one = 1;

	memset(&p, 0, sizeof(p));
	while ((ch = getopt(argc, argv, "c:k:s:K:p:m:P:v:")) != -1) {
		switch (ch) {
		case 'c': icert = optarg; break;
		case 'k': ikey = optarg; break;
		case 's': scert = optarg; break;
		case 'K': skey = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'P': portfile = optarg; break;
		case 'v': validity = atoi(optarg); break;
		case 'm':
			for (forced = 0; forced < F_COUNT; forced++)
				if (strcmp(optarg, faults[forced].name) == 0)
					break;
			if (forced == F_COUNT)
				die("no such mode: %s", optarg);
			break;
		default:
			return 2;
		}
	}
	if (icert == NULL || ikey == NULL || (scert == NULL) != (skey == NULL) || validity <= 0)
		die("usage: faultd serve -c ISSUER_CERT -k ISSUER_KEY [-s SIGNER_CERT -K SIGNER_KEY] "
		    "[-p PORT] [-P PORTFILE] [-m MODE] [-v VALIDITY]");
	p.issuer = load_cert(icert);
	p.issuer_key = load_key(ikey);
	p.good.cert = scert != NULL ? load_cert(scert) : p.issuer;
	p.good.key = skey != NULL ? load_key(skey) : p.issuer_key;
	make_pki(&p);

	aged = mmap(NULL, sizeof(*aged), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (aged == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);	/* children are reaped by the kernel */
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		die("bind 127.0.0.1:%d: %s", port, strerror(errno));
	if (listen(lfd, 512) == -1 || getsockname(lfd, (struct sockaddr *)&sa, &sl) == -1)
		die("listen: %s", strerror(errno));
	port = ntohs(sa.sin_port);
	printf("%d\n", port);
	fflush(stdout);
	if (portfile != NULL) {
		FILE *f = fopen(portfile, "w");

		if (f == NULL)
			die("%s: %s", portfile, strerror(errno));
		fprintf(f, "%d\n", port);
		fclose(f);
	}
	fprintf(stderr, "faultd: listening on 127.0.0.1:%d%s%s\n", port,
	    forced >= 0 ? ", every answer " : "", forced >= 0 ? faults[forced].name : "");

	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		pid_t pid;

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			die("accept: %s", strerror(errno));
		}
		pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() == 1)
				_exit(0);
			close(lfd);
			serve_one(fd, &p, forced, validity);
			close(fd);
			_exit(0);
		}
		close(fd);
	}
}

/* ---------------------------------------------------------------- leaf */

static int leaf(int argc, char **argv)
{
	X509 *issuer, *x;
	EVP_PKEY *ikey, *key;
	char aia[4096] = "", cn[256];
	const char *base, *dot;
	FILE *f;
	size_t off = 0;

	if (argc < 6)
		die("usage: faultd leaf ISSUER_CERT ISSUER_KEY LEAF_KEY OUT.pem URL...");
	issuer = load_cert(argv[1]);
	ikey = load_key(argv[2]);
	key = load_key(argv[3]);
	for (int i = 5; i < argc; i++) {
		int n = snprintf(aia + off, sizeof(aia) - off, "%sOCSP;URI:%s",
		    off > 0 ? "," : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(aia) - off)
			die("too many URLs");
		off += (size_t)n;
	}
	base = strrchr(argv[4], '/');
	base = base != NULL ? base + 1 : argv[4];
	dot = strrchr(base, '.');
	snprintf(cn, sizeof(cn), "%.*s.test", (int)(dot != NULL ? dot - base : (long)strlen(base)), base);
	x = make_cert(cn, key, issuer, ikey, -DAY, 30 * DAY, "leaf", aia);
	if ((f = fopen(argv[4], "w")) == NULL)
		die("%s: %s", argv[4], strerror(errno));
	if (!PEM_write_X509(f, x) || !PEM_write_X509(f, issuer) ||
	    !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) || fclose(f) != 0)
		die("%s: write failed", argv[4]);
	X509_free(x);
	X509_free(issuer);
	EVP_PKEY_free(ikey);
	EVP_PKEY_free(key);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "leaf") == 0)
		return leaf(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "modes") == 0) {
		for (int i = 0; i < F_COUNT; i++)
			printf("%-14s %s\n", faults[i].name, faults[i].what);
		return 0;
	}
	fprintf(stderr, "usage: faultd serve|leaf|modes ...\n");
	return 2;
}
