/*
 * responder — the local OCSP responder (--serve-ocsp): a second front door
 * for servers that fetch their own staples (nginx's ssl_stapling_responder,
 * Apache's SSLStaplingForceURL), answered from the verified staples renew
 * holds, so that their first clients get a staple, a slow CA never blocks
 * their workers, and no reload is needed when a staple changes.
 *
 * Requests (RFC 6960 appendix A, RFC 5019):
 *   GET  /{url-encoded base64 DER OCSPRequest}, under any path prefix
 *        ("/ocsp/MEow..."): the first suffix after a '/' that decodes to a
 *        whole OCSPRequest is the request (base64's own '/' may come
 *        escaped or not); HEAD likewise.
 *   POST with the DER OCSPRequest as body (Content-Type is not checked;
 *        Apache sends application/ocsp-request), at most RESPONDER_BODY_MAX
 *        bytes: a larger body gets HTTP 413 and no OCSP answer.
 * A request must hold exactly one CertID (RFC 5019 section 2.1.1); no,
 * several or unparseable ones get malformedRequest. A nonce is ignored: the
 * answer is the cached one (RFC 5019 section 4).
 *
 * Answers (HTTP 200, application/ocsp-response):
 *   good / revoked  the very DER renew holds and verified (renew_answer_by_certid):
 *                   the staple served, or the verified revoked response
 *                   (the client decides; the truth is never hidden), with
 *                   RFC 5019 section 6 headers: Last-Modified = thisUpdate,
 *                   Expires = nextUpdate, ETag = "hex SHA-1 of the DER",
 *                   Cache-Control: max-age=<seconds to nextUpdate>, public,
 *                   no-transform, must-revalidate
 *   tryLater        a certificate ocspd manages, no valid answer held (yet)
 *   unauthorized    a CertID no certificate of ours has
 *   another hash    a CertID of ours hashed with another algorithm than
 *                   SHA-1 (SHA-256): renew indexes SHA-1 CertIDs only and a
 *                   response names the CertID it answers, so the first ask
 *                   gets tryLater while the certificate's responder is asked
 *                   with the client's CertID (through renew's source); the
 *                   verified good or revoked answer is then kept here (at
 *                   most RESPONDER_ALT_MAX, one per such CertID, dropped
 *                   when asked for once the certificate is gone), served
 *                   until its nextUpdate and fetched again in the background
 *                   when asked for past its midpoint. Verified on the loop
 *                   thread: one verification per certificate and half-life.
 *   malformedRequest see above
 * Error answers are unsigned OCSPResponses (RFC 6960 section 4.2.1) with
 * "Cache-Control: no-store" and no other caching header.
 *
 * Limits (httpd.c): RESPONDER_CONN_LIMIT connections in all,
 * RESPONDER_PER_IP_LIMIT from one address, RESPONDER_CONN_MEMORY bytes of
 * request line and headers (more: MHD answers 414/431), a request must
 * arrive whole within RESPONDER_REQUEST_TIME and a connection idle for
 * RESPONDER_CONN_TIMEOUT is closed. Every answer is built on the loop
 * thread from memory, so no client can delay renewals or other clients.
 *
 * Owns its httpd, the pre-built error answers and the answers for other
 * hash algorithms; reads renew (borrowed). A request still in flight when
 * the responder is freed (SIGHUP moving serve-ocsp) frees only its ticket
 * when it lands.
 */
#ifndef OCSPD_RESPONDER_H
#define OCSPD_RESPONDER_H

#include <stddef.h>
#include <ev.h>
#include <openssl/ocsp.h>

struct renew;
struct responder;

/*
 * Binds listen (see addr.h: "ADDR:PORT", a bare PORT meaning 127.0.0.1) at
 * once and answers from r (borrowed; must outlive the responder). NULL with
 * *err naming serve-ocsp, the address and the reason.
 */
struct responder *responder_new(struct ev_loop *loop, const char *listen, struct renew *r,
    char **err);
void responder_free(struct responder *rs);

/*
 * The request parsers (untrusted bytes; also fuzz/fuzz_responder.c): the
 * OCSPRequest that der[0..len) is exactly (at most RESPONDER_BODY_MAX
 * bytes, nothing after it), or that a GET path (as MHD gives it, %XX
 * undone) holds; NULL when there is none. Caller frees.
 */
OCSP_REQUEST *responder_request_from_der(const unsigned char *der, size_t len);
OCSP_REQUEST *responder_request_from_path(const char *url);

/*
 * Frees what freed responders still wait for (their requests to a CA's
 * responder): at exit, once fetch_free has dropped every transfer, so that
 * none of them can land any more.
 */
void responder_free_orphans(void);

#endif
