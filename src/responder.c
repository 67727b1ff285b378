/*
 * responder — see responder.h. Every request is answered in the access
 * handler on the loop thread: a GET or HEAD at its first call, a POST once
 * its body has arrived (collected into a struct upload, at most
 * RESPONDER_BODY_MAX bytes). Nothing is logged from a request but its
 * outcome (debug level): the bytes a client sent never reach a log.
 */
#include "responder.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "renew.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/sha.h>
#include <uthash.h>
#include "ocsp.h"
#include "staples.h"

#define RESPONDER_CONN_TIMEOUT	10	/* seconds a connection may make no progress */
#define RESPONDER_REQUEST_TIME	10	/* seconds to send one request whole, body included */
#define RESPONDER_CONN_LIMIT	1024	/* connections at once, all clients; more wait in the backlog */
#define RESPONDER_PER_IP_LIMIT	128	/* from one address (nginx and Apache workers all come from one) */
#define RESPONDER_CONN_MEMORY	(16U << 10) /* bytes per connection for request line and headers */
#define RESPONDER_BODY_MAX	(8U << 10) /* bytes of a POST body; one CertID needs about 100 */
#define RESPONDER_GET_TRIES	16	/* path prefixes tried per GET ('/' positions from the left) */
#define RESPONDER_ALT_MAX	4096	/* answers kept for other CertID hash algorithms (SHA-256) */

/* The unsigned error answers, built once (RFC 6960 section 4.2.1 has no body for them). */
enum {
	ERR_MALFORMED,
	ERR_TRY_LATER,
	ERR_UNAUTHORIZED,
	NERRS,
};

/*
 * The answer for a CertID of ours hashed with another algorithm (SHA-256):
 * renew holds staples for its SHA-1 CertIDs only, and a response names the
 * CertID it answers, so this one is fetched from the certificate's
 * responder with the client's CertID, verified and kept here.
 */
struct alt {
	unsigned char key[STAPLES_KEY_MAX]; /* staples_key() of the client's CertID; the hash key */
	size_t klen;			/* bytes used */
	struct staple st;		/* the verified answer (der owned), der NULL = none yet */
	int revoked;			/* it says revoked */
	struct fetch_ticket *fetching;	/* the request in flight, or NULL */
	UT_hash_handle hh;		/* by key */
};

/*
 * One request in flight for an alt (the waiter of renew_ask): it owns what
 * verification needs, so that the answer is checked whatever happened to
 * the certificate meanwhile. Orphaned (rs NULL) when the responder goes
 * first; the answer then only frees it.
 */
struct fetch_ticket {
	struct responder *rs;		/* NULL once orphaned */
	struct alt *alt;		/* whose answer it is */
	OCSP_CERTID *id;		/* the client's CertID (owned) */
	X509 *issuer;			/* a reference */
	char *url;			/* for messages (owned) */
	struct fetch_ticket *next;	/* in rs->tickets */
};

/* Tickets of freed responders whose answer has not landed yet (see responder_free_orphans). */
static struct fetch_ticket *orphans;

struct responder {
	struct ev_loop *loop;		/* the one event loop */
	struct renew *renew;		/* borrowed: the answers */
	struct httpd *httpd;		/* the HTTP server on the loop */
	struct MHD_Response *err[NERRS]; /* error answers (ours; MHD takes its own references) */
	unsigned char *err_der[NERRS];	/* their bytes (OPENSSL_malloc'd) */
	struct alt *alts;		/* by key */
	struct fetch_ticket *tickets;	/* requests in flight */
};

/* A POST body being received (MHD's per-request pointer). */
struct upload {
	unsigned char *body;		/* malloc'd, grows up to RESPONDER_BODY_MAX */
	size_t len, cap;		/* bytes received, allocated */
	int too_big;			/* more than RESPONDER_BODY_MAX came: 413 */
};

/* Seconds on a clock that never steps, for the answer latency. */
static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------
 * Answers
 */

/* An HTTP date (RFC 9110 IMF-fixdate) into buf (at least 30 bytes). */
static void http_date(double t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 GMT");
}

/* The pre-built error answer e, with its metrics result. */
static enum MHD_Result answer_error(struct responder *rs, struct MHD_Connection *conn, int e,
    double start)
{
	static const enum metrics_answer_result res[NERRS] = {
		METRICS_ANSWER_MALFORMED, METRICS_ANSWER_TRY_LATER, METRICS_ANSWER_UNAUTHORIZED,
	};
	enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, rs->err[e]);

	metrics_answer(res[e], mono() - start);
	return rc;
}

/* st (borrowed) as the answer, with RFC 5019 section 6 caching headers. */
static enum MHD_Result answer_staple(struct MHD_Connection *conn, const struct staple *st,
    enum metrics_answer_result result, double start)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA_DIGEST_LENGTH];
	char etag[2 * SHA_DIGEST_LENGTH + 3], modified[40], expires[40], cc[96];
	struct MHD_Response *resp;
	double left = st->next_update - ev_time();
	enum MHD_Result rc;

	SHA1(st->der, st->len, md);
	etag[0] = '"';
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++) {
		etag[1 + 2 * i] = hex[md[i] >> 4];
		etag[2 + 2 * i] = hex[md[i] & 0xf];
	}
	etag[2 * SHA_DIGEST_LENGTH + 1] = '"';
	etag[2 * SHA_DIGEST_LENGTH + 2] = '\0';
	http_date(st->this_update, modified, sizeof(modified));
	http_date(st->next_update, expires, sizeof(expires));
	snprintf(cc, sizeof(cc), "max-age=%.0f, public, no-transform, must-revalidate", left > 0 ? left : 0);
	/* Copied: the staple is borrowed only until the loop runs again, MHD sends it later. */
	if ((resp = MHD_create_response_from_buffer(st->len, (void *)st->der, MHD_RESPMEM_MUST_COPY)) == NULL)
		return MHD_NO;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/ocsp-response") != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, modified) != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_EXPIRES, expires) != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag) != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cc) != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	rc = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	metrics_answer(result, mono() - start);
	return rc;
}

OCSP_REQUEST *responder_request_from_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	OCSP_REQUEST *req;

	if (len == 0 || len > RESPONDER_BODY_MAX || (req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL)
		return NULL;
	if (p != der + len) {		/* trailing bytes: not what was meant */
		OCSP_REQUEST_free(req);
		return NULL;
	}
	return req;
}

static enum MHD_Result answer_other_hash(struct responder *rs, struct MHD_Connection *conn,
    const OCSP_CERTID *id, double start);

/* The answer to req (taken; NULL: it did not parse): always queues one (or returns MHD_NO). */
static enum MHD_Result answer_request(struct responder *rs, struct MHD_Connection *conn,
    OCSP_REQUEST *req, double start)
{
	struct staple st;
	enum MHD_Result rc;

	if (req == NULL || OCSP_request_onereq_count(req) != 1) {
		log_debug("serve-ocsp: malformedRequest (%s)", req == NULL ? "not an OCSP request" :
		    "not exactly one CertID");
		OCSP_REQUEST_free(req);
		return answer_error(rs, conn, ERR_MALFORMED, start);
	}
	switch (renew_answer_by_certid(rs->renew, OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0)),
	    ev_time(), &st)) {
	case RENEW_ANSWER_GOOD:
		rc = answer_staple(conn, &st, METRICS_ANSWER_GOOD, start);
		break;
	case RENEW_ANSWER_REVOKED:
		rc = answer_staple(conn, &st, METRICS_ANSWER_REVOKED, start);
		break;
	case RENEW_ANSWER_NONE:
		log_debug("serve-ocsp: tryLater (a certificate of ours without a valid answer yet)");
		rc = answer_error(rs, conn, ERR_TRY_LATER, start);
		break;
	default:
		rc = answer_other_hash(rs, conn, OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0)), start);
		break;
	}
	OCSP_REQUEST_free(req);
	return rc;
}

/* ------------------------------------------------------------------------
 * CertIDs of ours with another hash algorithm
 */

static void ticket_free(struct fetch_ticket *t)
{
	if (t == NULL)
		return;
	OCSP_CERTID_free(t->id);
	X509_free(t->issuer);
	free(t->url);
	free(t);
}

static void alt_forget(struct alt *a)
{
	free((unsigned char *)a->st.der);
	memset(&a->st, 0, sizeof(a->st));
}

/* A source_answer_fn: the certificate's responder answered a's request; verified here. */
static void alt_fetched(void *waiter, const struct source_answer *sa)
{
	struct fetch_ticket *t = waiter, **pp;
	struct responder *rs = t->rs;
	struct ocsp_result res;
	unsigned char *copy;
	char *err = NULL;
	struct alt *a;

	for (pp = rs != NULL ? &rs->tickets : &orphans; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	if (rs == NULL) {
		ticket_free(t);
		return;
	}
	a = t->alt;
	a->fetching = NULL;
	/* On the loop thread: one verification per certificate and half-life, asked for by a client. */
	if (sa->err != NULL) {
		log_warn("serve-ocsp: %s: no answer for a client's CertID of another hash algorithm (%s)",
		    t->url, sa->err);
	} else if (ocsp_verify(sa->der, sa->len, t->id, t->issuer, NULL, 0, ev_time(), &res, &err) == -1 ||
	    (res.status != OCSP_ST_GOOD && res.status != OCSP_ST_REVOKED) || res.next_update == 0) {
		log_warn("serve-ocsp: %s: answer for a client's CertID of another hash algorithm not kept (%s)",
		    t->url, err != NULL ? err : res.status == OCSP_ST_UNKNOWN ? "status unknown" : "no nextUpdate");
	} else if ((copy = malloc(sa->len)) != NULL) {
		memcpy(copy, sa->der, sa->len);
		alt_forget(a);
		a->st.der = copy;
		a->st.len = sa->len;
		a->st.this_update = res.this_update;
		a->st.next_update = res.next_update;
		a->revoked = res.status == OCSP_ST_REVOKED;
		log_debug("serve-ocsp: %s: answer for a CertID of another hash algorithm kept", t->url);
	}
	free(err);
	ticket_free(t);
}

/* Asks the certificate's responder (url) for a's CertID id, unless a request is out already. */
static void alt_fetch(struct responder *rs, struct alt *a, const OCSP_CERTID *id, X509 *issuer,
    const char *url)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *dup = OCSP_CERTID_dup((OCSP_CERTID *)id);
	struct fetch_ticket *t = calloc(1, sizeof(*t));
	unsigned char *der = NULL;
	char *err = NULL;
	int len = -1;

	if (a->fetching != NULL)
		goto out;
	if (req != NULL && dup != NULL && OCSP_request_add0_id(req, dup) != NULL) {
		dup = NULL;	/* the request owns it */
		len = i2d_OCSP_REQUEST(req, &der);
	}
	if (t == NULL || len <= 0 || (t->id = OCSP_CERTID_dup((OCSP_CERTID *)id)) == NULL ||
	    (t->url = strdup(url)) == NULL || !X509_up_ref(issuer)) {
		log_warn("serve-ocsp: %s: out of memory; a client's CertID is not fetched", url);
		goto out;
	}
	t->issuer = issuer;
	t->rs = rs;
	t->alt = a;
	if (renew_ask(rs->renew, url, der, (size_t)len, alt_fetched, t, &err) == -1) {
		log_warn("serve-ocsp: %s: cannot ask for a client's CertID (%s)", url, err != NULL ? err : "?");
		free(err);
		goto out;
	}
	a->fetching = t;
	t->next = rs->tickets;
	rs->tickets = t;
	t = NULL;
out:
	ticket_free(t);
	OCSP_CERTID_free(dup);
	OCSP_REQUEST_free(req);
	OPENSSL_free(der);
}

/*
 * A CertID the index does not know: a certificate of ours hashed with
 * another algorithm gets the answer fetched for it (fetched first, with
 * tryLater meanwhile; fetched again in the background once past its
 * midpoint); anything else unauthorized.
 */
static enum MHD_Result answer_other_hash(struct responder *rs, struct MHD_Connection *conn,
    const OCSP_CERTID *id, double start)
{
	OCSP_CERTID *sha1 = NULL;
	X509 *issuer = NULL;
	const char *url = NULL;
	unsigned char key[STAPLES_KEY_MAX];
	size_t klen = staples_key(id, key);
	struct staple st;
	struct alt *a = NULL;
	double now = ev_time();
	int ours;

	ours = klen > 0 && renew_certid_ours(rs->renew, id, &sha1, &issuer, &url) == 0 &&
	    renew_answer_by_certid(rs->renew, sha1, now, &st) != RENEW_ANSWER_UNKNOWN;
	OCSP_CERTID_free(sha1);
	if (klen > 0)
		HASH_FIND(hh, rs->alts, key, klen, a);
	if (!ours) {
		if (a != NULL && a->fetching == NULL) {	/* the certificate went */
			HASH_DEL(rs->alts, a);
			alt_forget(a);
			free(a);
		}
		log_debug("serve-ocsp: unauthorized (a CertID none of our certificates has)");
		return answer_error(rs, conn, ERR_UNAUTHORIZED, start);
	}
	if (a == NULL && HASH_COUNT(rs->alts) < RESPONDER_ALT_MAX && (a = calloc(1, sizeof(*a))) != NULL) {
		memcpy(a->key, key, klen);
		a->klen = klen;
		HASH_ADD(hh, rs->alts, key[0], a->klen, a);
	}
	if (a == NULL)
		return answer_error(rs, conn, ERR_TRY_LATER, start);
	if (a->st.der != NULL && a->st.next_update > now) {
		/* Past its midpoint: fetched anew in the background, served meanwhile. */
		if (now > a->st.this_update + (a->st.next_update - a->st.this_update) / 2)
			alt_fetch(rs, a, id, issuer, url);
		return answer_staple(conn, &a->st, a->revoked ? METRICS_ANSWER_REVOKED : METRICS_ANSWER_GOOD,
		    start);
	}
	alt_fetch(rs, a, id, issuer, url);
	log_debug("serve-ocsp: tryLater (a CertID of ours with another hash algorithm: fetching its answer)");
	return answer_error(rs, conn, ERR_TRY_LATER, start);
}

/*
 * Base64 b64[0..n) into out (room for n / 4 * 3 + 3 bytes): its length, or
 * -1 when it is not base64. A '+' that came as a space (form encoding) is
 * taken back.
 */
static int unbase64(const char *b64, size_t n, unsigned char *out)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	char chunk[256];
	int len = 0, l, ok = ctx != NULL;

	if (ok)
		EVP_DecodeInit(ctx);
	while (ok && n > 0) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);

		for (size_t i = 0; i < k; i++)
			chunk[i] = b64[i] == ' ' ? '+' : b64[i];
		ok = EVP_DecodeUpdate(ctx, out + len, &l, (unsigned char *)chunk, (int)k) != -1;
		len += l;
		b64 += k;
		n -= k;
	}
	if (ok)
		ok = EVP_DecodeFinal(ctx, out + len, &l) == 1;
	EVP_ENCODE_CTX_free(ctx);
	return ok ? len + l : -1;
}

/*
 * GET {prefix}/{base64}: the suffixes after the first RESPONDER_GET_TRIES
 * slashes, from the left, until one is a whole OCSPRequest (MHD has already
 * undone the %XX escapes, so base64's '/' and the prefix's look alike).
 */
OCSP_REQUEST *responder_request_from_path(const char *url)
{
	size_t n = strlen(url);
	OCSP_REQUEST *req = NULL;
	unsigned char *der;
	int tries = 0, len;

	if (n > RESPONDER_CONN_MEMORY || (der = malloc(n / 4 * 3 + 3)) == NULL)
		return NULL;	/* MHD's memory limit keeps a path below the first */
	for (const char *p = url; req == NULL && (p = strchr(p, '/')) != NULL && tries < RESPONDER_GET_TRIES;
	    tries++) {
		p++;
		if ((len = unbase64(p, strlen(p), der)) > 0)
			req = responder_request_from_der(der, (size_t)len);
	}
	free(der);
	return req;
}

static enum MHD_Result answer_get(struct responder *rs, struct MHD_Connection *conn,
    const char *url, double start)
{
	OCSP_REQUEST *req = responder_request_from_path(url);

	if (req == NULL)
		log_debug("serve-ocsp: malformedRequest (GET path holds no base64 OCSP request)");
	return answer_request(rs, conn, req, start);
}

/* Appends a piece of a POST body; over RESPONDER_BODY_MAX the rest is only counted away. */
static void upload_add(struct upload *u, const char *data, size_t n)
{
	if (u->too_big || u->len + n > RESPONDER_BODY_MAX) {
		u->too_big = 1;
		return;
	}
	if (u->len + n > u->cap) {
		size_t cap = u->cap ? u->cap : 256;
		unsigned char *nb;

		while (cap < u->len + n)
			cap *= 2;
		if (cap > RESPONDER_BODY_MAX)
			cap = RESPONDER_BODY_MAX;
		if ((nb = realloc(u->body, cap)) == NULL) {
			u->too_big = 1;		/* answered 413 too: nothing better to say */
			return;
		}
		u->body = nb;
		u->cap = cap;
	}
	memcpy(u->body + u->len, data, n);
	u->len += n;
}

static void upload_free(struct upload *u)
{
	if (u == NULL)
		return;
	free(u->body);
	free(u);
}

/* HTTP 413 for a POST body over RESPONDER_BODY_MAX (counted as malformed). */
static enum MHD_Result too_big(struct MHD_Connection *conn)
{
	log_debug("serve-ocsp: request body over %u bytes refused (413)", RESPONDER_BODY_MAX);
	metrics_answer(METRICS_ANSWER_MALFORMED, 0);
	return httpd_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "an OCSP request has at most 8192 bytes\n", NULL);
}

/* MHD's access handler. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct responder *rs = cls;
	struct upload *u = *req_cls;

	(void)version;
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0) {
		httpd_request_read(conn);
		return answer_get(rs, conn, url, mono());
	}
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
		httpd_request_read(conn);
		return httpd_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET, HEAD and POST\n",
		    "GET, HEAD, POST");
	}
	if (u == NULL) {		/* headers only so far: the body comes in the next calls */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		/* Refused before a byte of it is read (MHD closes the connection after the answer). */
		if (cl != NULL && strtoull(cl, NULL, 10) > RESPONDER_BODY_MAX) {
			httpd_request_read(conn);
			return too_big(conn);
		}
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return MHD_NO;
		*req_cls = u;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		upload_add(u, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	httpd_request_read(conn);
	if (u->too_big)
		return too_big(conn);
	return answer_request(rs, conn, responder_request_from_der(u->body, u->len), mono());
}

/* The body is freed when its request ends, answered or not. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	upload_free(*req_cls);
	*req_cls = NULL;
}

/* The unsigned answer with this responseStatus, as an MHD response we keep. 0, or -1. */
static int error_answer(struct responder *rs, int e, int status)
{
	OCSP_RESPONSE *resp = OCSP_response_create(status, NULL);
	unsigned char *der = NULL;
	int len = resp != NULL ? i2d_OCSP_RESPONSE(resp, &der) : -1;

	OCSP_RESPONSE_free(resp);
	if (len <= 0)
		return -1;
	rs->err_der[e] = der;
	if ((rs->err[e] = MHD_create_response_from_buffer((size_t)len, der, MHD_RESPMEM_PERSISTENT)) == NULL ||
	    MHD_add_response_header(rs->err[e], MHD_HTTP_HEADER_CONTENT_TYPE, "application/ocsp-response") != MHD_YES ||
	    MHD_add_response_header(rs->err[e], MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES)
		return -1;
	return 0;
}

struct responder *responder_new(struct ev_loop *loop, const char *listen, struct renew *r,
    char **err)
{
	static const struct httpd_limits lim = {
		RESPONDER_CONN_TIMEOUT, RESPONDER_REQUEST_TIME, RESPONDER_CONN_LIMIT,
		RESPONDER_PER_IP_LIMIT, RESPONDER_CONN_MEMORY, 0,
	};
	struct responder *rs;

	if ((rs = calloc(1, sizeof(*rs))) == NULL) {
		err_set(err, "serve-ocsp %s: out of memory", listen);
		return NULL;
	}
	rs->loop = loop;
	rs->renew = r;
	if (error_answer(rs, ERR_MALFORMED, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST) == -1 ||
	    error_answer(rs, ERR_TRY_LATER, OCSP_RESPONSE_STATUS_TRYLATER) == -1 ||
	    error_answer(rs, ERR_UNAUTHORIZED, OCSP_RESPONSE_STATUS_UNAUTHORIZED) == -1) {
		err_set(err, "serve-ocsp %s: out of memory", listen);
		goto fail;
	}
	if ((rs->httpd = httpd_new(loop, "serve-ocsp", listen, &lim, 0, on_request, on_completed,
	    rs, err)) == NULL)
		goto fail;
	log_info("serve-ocsp: answering OCSP requests at http://%s/", httpd_name(rs->httpd));
	return rs;
fail:
	responder_free(rs);
	return NULL;
}

void responder_free(struct responder *rs)
{
	struct alt *a, *tmp;

	if (rs == NULL)
		return;
	httpd_free(rs->httpd);		/* before the answers it may still hold references to */
	/* Answers still to come only free their tickets (renew_ask cannot be called off). */
	while (rs->tickets != NULL) {
		struct fetch_ticket *t = rs->tickets;

		rs->tickets = t->next;
		t->rs = NULL;
		t->next = orphans;
		orphans = t;
	}
	HASH_ITER(hh, rs->alts, a, tmp) {
		HASH_DEL(rs->alts, a);
		alt_forget(a);
		free(a);
	}
	for (int e = 0; e < NERRS; e++) {
		if (rs->err[e] != NULL)
			MHD_destroy_response(rs->err[e]);
		OPENSSL_free(rs->err_der[e]);
	}
	free(rs);
}

void responder_free_orphans(void)
{
	while (orphans != NULL) {
		struct fetch_ticket *t = orphans;

		orphans = t->next;
		ticket_free(t);
	}
}
