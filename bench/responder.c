/*
 * responder — a fast local OCSP responder for ocspd's benchmark.
 *
 *   responder [-a ADDR] [-p PORT] [-V SECONDS] [-B SECONDS] [-W] [-L] [-s FILE] PKIDIR
 *
 * Loads PKIDIR/{inter.pem,ocsp-signer.pem,ocsp-signer.key,index.txt} (as made
 * by bench/genpki) and answers OCSP requests over HTTP/1.1 with keep-alive and
 * pipelining: GET /<url-encoded base64 request> (RFC 5019) and POST with an
 * application/ocsp-request body, on any path. Answers are signed by the
 * delegated signer: good for serials in the index (V), revoked for R, unknown
 * otherwise; thisUpdate = now - B (default 0), nextUpdate = thisUpdate + V
 * (default 86400). A CertID from another issuer gets "unauthorized".
 *
 * -W (renewal storm): every answer signed during the first 0.4 V seconds
 * shares one window, thisUpdate = start - B, nextUpdate = that + V, so that
 * every staple fetched then falls due at the same instant; later answers get
 * windows from now as usual (and the earlier ones are signed again).
 *
 * So that the responder is never the bottleneck, the SHA-1 CertID answer of
 * every serial in the index is signed once at start-up (unless -L: lazily, on
 * first request) and cached by the CertID's DER; a cached answer older than
 * V/4 is signed again when next asked for. Requests with a nonce are signed
 * each time (the nonce is echoed).
 *
 * Prints "ready PORT" on stdout once listening (-p 0 picks a free port).
 * GET /stats answers "requests N first T last T" (T: epoch seconds, the first
 * and last OCSP request), GET /reset zeroes them. Nothing is logged per
 * request. SIGTERM/SIGINT print the count on stderr (and into -s FILE) and exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <uthash.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define MAX_REQUEST	(64 * 1024)	/* bigger HTTP requests close the connection */
#define READ_CHUNK	16384		/* bytes read per read(2) */

/* One serial of the index. */
struct serial {
	char *hex;			/* upper-case hex, the hash key (owned) */
	int status;			/* V_OCSP_CERTSTATUS_* */
	UT_hash_handle hh;
};

/* One cached, signed answer. */
struct answer {
	unsigned char *key;		/* DER of the CertID it answers (owned) */
	int keylen;			/* length of key */
	unsigned char *der;		/* DER OCSPResponse (owned) */
	int derlen;			/* length of der */
	double signed_at;		/* when it was signed (epoch s) */
	UT_hash_handle hh;
};

/* One client connection. */
struct conn {
	ev_io io;			/* first: the watcher is the connection */
	char *in;			/* bytes received, not yet parsed */
	size_t inlen, incap;		/* used / allocated */
	char *out;			/* bytes to send */
	size_t outoff, outlen, outcap;	/* sent / used / allocated */
	int closing;			/* close once out is sent */
};

static struct {
	X509 *issuer;			/* the intermediate CA */
	X509 *signer;			/* delegated OCSP signer */
	EVP_PKEY *key;			/* its key */
	STACK_OF(X509) *no_certs;	/* empty: only the signer goes in answers */
	struct serial *serials;		/* index, by hex serial */
	struct answer *answers;		/* cache, by CertID DER */
	double validity;		/* nextUpdate - thisUpdate (s) */
	double backdate;		/* now - thisUpdate (s) */
	double start;			/* when the responder started (epoch s) */
	double shared_until;		/* -W: answers share one window until then */
	unsigned long long requests;	/* OCSP requests answered */
	double first, last;		/* epoch of the first / last one */
	const char *statsfile;		/* -s FILE */
} R;

static void fatal(const char *what)
{
	fprintf(stderr, "responder: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* OCSP                                                                */

static void load_index(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096];

	if (f == NULL)
		fatal(path);
	while (fgets(line, sizeof(line), f) != NULL) {
		/* status \t expiry \t revocation \t serial \t file \t DN */
		char *fields[6] = { 0 }, *p = line;
		int n = 0;
		struct serial *s;

		while (n < 6 && p != NULL) {
			fields[n++] = p;
			if ((p = strchr(p, '\t')) != NULL)
				*p++ = '\0';
		}
		if (n < 4 || fields[3][0] == '\0')
			continue;
		if ((s = calloc(1, sizeof(*s))) == NULL ||
		    (s->hex = strdup(fields[3])) == NULL)
			fatal("out of memory");
		for (char *c = s->hex; *c; c++)
			if (*c >= 'a' && *c <= 'f')
				*c -= 'a' - 'A';
		s->status = fields[0][0] == 'R' ? V_OCSP_CERTSTATUS_REVOKED :
		    V_OCSP_CERTSTATUS_GOOD;
		HASH_ADD_KEYPTR(hh, R.serials, s->hex, strlen(s->hex), s);
	}
	fclose(f);
}

/* Upper-case hex of serial, as the index spells it; caller frees. */
static char *serial_hex(const ASN1_INTEGER *serial)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	char *copy = NULL;
	size_t len;

	BN_free(bn);
	if (hex == NULL)
		return NULL;
	/* The index pads to an even number of digits. */
	len = strlen(hex);
	if ((copy = malloc(len + 2)) != NULL) {
		if (len % 2)
			snprintf(copy, len + 2, "0%s", hex);
		else
			memcpy(copy, hex, len + 1);
	}
	OPENSSL_free(hex);
	return copy;
}

/* Whether cid names our issuer, whatever hash it uses. */
static int ours(OCSP_CERTID *cid)
{
	ASN1_OBJECT *md_oid = NULL;
	ASN1_INTEGER *serial = NULL;
	const EVP_MD *md;
	OCSP_CERTID *mine;
	int ok;

	if (!OCSP_id_get0_info(NULL, &md_oid, NULL, &serial, cid))
		return 0;
	if ((md = EVP_get_digestbyobj(md_oid)) == NULL)
		return 0;
	mine = OCSP_cert_id_new(md, X509_get_subject_name(R.issuer),
	    X509_get0_pubkey_bitstr(R.issuer), serial);
	ok = mine != NULL && OCSP_id_cmp(mine, cid) == 0;
	OCSP_CERTID_free(mine);
	return ok;
}

/*
 * Signs an answer for req (NULL: for the single CertID cid). Returns the
 * DER in *der (caller frees) and its length, or -1.
 */
static int sign_answer(OCSP_REQUEST *req, OCSP_CERTID *cid, unsigned char **der)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *thisupd = NULL, *nextupd = NULL, *revtime = NULL;
	double when = now() < R.shared_until ? R.start : now();
	time_t t = (time_t)(when - R.backdate);
	int n = req ? OCSP_request_onereq_count(req) : 1;
	int len = -1;

	*der = NULL;
	thisupd = ASN1_TIME_set(NULL, t);
	nextupd = ASN1_TIME_set(NULL, t + (time_t)R.validity);
	revtime = ASN1_TIME_set(NULL, t - 86400);
	if (bs == NULL || thisupd == NULL || nextupd == NULL || revtime == NULL)
		goto out;
	for (int i = 0; i < n; i++) {
		OCSP_CERTID *id = req ?
		    OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i)) : cid;
		ASN1_INTEGER *serial = NULL;
		struct serial *s = NULL;
		char *hex;
		int status = V_OCSP_CERTSTATUS_UNKNOWN;

		if (!ours(id)) {
			resp = OCSP_response_create(
			    OCSP_RESPONSE_STATUS_UNAUTHORIZED, NULL);
			goto encode;
		}
		OCSP_id_get0_info(NULL, NULL, NULL, &serial, id);
		if ((hex = serial_hex(serial)) != NULL)
			HASH_FIND_STR(R.serials, hex, s);
		free(hex);
		if (s != NULL)
			status = s->status;
		if (!OCSP_basic_add1_status(bs, id, status,
		    OCSP_REVOKED_STATUS_UNSPECIFIED,
		    status == V_OCSP_CERTSTATUS_REVOKED ? revtime : NULL,
		    thisupd, nextupd))
			goto out;
	}
	if (req != NULL && !OCSP_copy_nonce(bs, req))
		goto out;
	if (!OCSP_basic_sign(bs, R.signer, R.key, EVP_sha256(), R.no_certs, 0))
		goto out;
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
encode:
	if (resp != NULL)
		len = i2d_OCSP_RESPONSE(resp, der);
out:
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(revtime);
	return len;
}

/* The cached answer for cid, signed now if missing or stale; NULL on error. */
static struct answer *answer_for(OCSP_CERTID *cid)
{
	unsigned char *key = NULL;
	int keylen = i2d_OCSP_CERTID(cid, &key);
	struct answer *a = NULL;
	double t = now();

	if (keylen <= 0)
		return NULL;
	HASH_FIND(hh, R.answers, key, keylen, a);
	if (a != NULL && t - a->signed_at < R.validity / 4 &&
	    (a->signed_at >= R.shared_until || t < R.shared_until)) {
		OPENSSL_free(key);
		return a;
	}
	if (a == NULL) {
		if ((a = calloc(1, sizeof(*a))) == NULL)
			fatal("out of memory");
		a->key = key;
		a->keylen = keylen;
		HASH_ADD_KEYPTR(hh, R.answers, a->key, a->keylen, a);
	} else {
		OPENSSL_free(key);
		OPENSSL_free(a->der);
	}
	a->derlen = sign_answer(NULL, cid, &a->der);
	a->signed_at = t;
	if (a->derlen <= 0) {
		a->der = NULL;
		a->derlen = 0;
		return NULL;
	}
	return a;
}

static void presign(void)
{
	struct serial *s, *tmp;
	double t0 = now();
	int n = 0;

	HASH_ITER(hh, R.serials, s, tmp) {
		BIGNUM *bn = NULL;
		ASN1_INTEGER *ai;
		OCSP_CERTID *cid;

		if (!BN_hex2bn(&bn, s->hex) ||
		    (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
			fatal("bad serial in index");
		cid = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(R.issuer),
		    X509_get0_pubkey_bitstr(R.issuer), ai);
		if (cid == NULL || answer_for(cid) == NULL)
			fatal("signing failed");
		OCSP_CERTID_free(cid);
		ASN1_INTEGER_free(ai);
		BN_free(bn);
		n++;
	}
	fprintf(stderr, "responder: %d answers signed in %.2f s\n", n, now() - t0);
}

/*
 * The DER answer to the DER request (len bytes) in *out; *free_it set when
 * the caller must OPENSSL_free it. -1 when the request does not parse.
 */
static int ocsp_answer(const unsigned char *p, long len, unsigned char **out,
    int *free_it)
{
	OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, len);
	struct answer *a;
	int n = -1;

	*free_it = 0;
	if (req == NULL) {
		static const unsigned char malformed[] = { 0x30, 0x03, 0x0a, 0x01, 0x01 };

		ERR_clear_error();
		*out = (unsigned char *)malformed;
		return sizeof(malformed);
	}
	R.requests++;
	R.last = now();
	if (R.first == 0)
		R.first = R.last;
	if (OCSP_request_onereq_count(req) == 1 &&
	    OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1) < 0) {
		OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0));

		if (ours(cid) && (a = answer_for(cid)) != NULL) {
			*out = a->der;
			n = a->derlen;
			goto done;
		}
	}
	n = sign_answer(req, NULL, out);
	*free_it = 1;
done:
	OCSP_REQUEST_free(req);
	ERR_clear_error();
	return n;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */

static void out_append(struct conn *c, const void *p, size_t n)
{
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;

		while (cap < c->outlen + n)
			cap *= 2;
		if ((c->out = realloc(c->out, cap)) == NULL)
			fatal("out of memory");
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

static void reply(struct conn *c, int code, const char *type,
    const void *body, size_t len, int keep)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
	    code, code == 200 ? "OK" : code == 404 ? "Not Found" : "Bad Request",
	    type, len, keep ? "" : "Connection: close\r\n");

	out_append(c, head, n);
	out_append(c, body, len);
	if (!keep)
		c->closing = 1;
}

static int unhex(int ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

/* Decodes the GET path (url-encoded base64) into DER; length or -1. */
static long path_to_der(const char *path, size_t plen, unsigned char **der)
{
	char *b64 = malloc(plen + 4);
	size_t n = 0;
	int len, pad = 0;

	*der = NULL;
	if (b64 == NULL)
		return -1;
	for (size_t i = 0; i < plen; i++) {
		if (path[i] == '%' && i + 2 < plen &&
		    unhex(path[i + 1]) >= 0 && unhex(path[i + 2]) >= 0) {
			b64[n++] = (char)(unhex(path[i + 1]) * 16 + unhex(path[i + 2]));
			i += 2;
		} else if (path[i] == '-') {	/* base64url, just in case */
			b64[n++] = '+';
		} else if (path[i] == '_') {
			b64[n++] = '/';
		} else {
			b64[n++] = path[i];
		}
	}
	while (n % 4)
		b64[n++] = '=';
	for (size_t i = n; i > 0 && b64[i - 1] == '='; i--)
		pad++;
	if ((*der = malloc(n / 4 * 3 + 1)) == NULL) {
		free(b64);
		return -1;
	}
	len = EVP_DecodeBlock(*der, (unsigned char *)b64, (int)n);
	free(b64);
	if (len < 0) {
		free(*der);
		*der = NULL;
		return -1;
	}
	return len - pad;
}

static void stats_reply(struct conn *c, int keep)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "requests %llu first %.6f last %.6f\n",
	    R.requests, R.first, R.last);

	reply(c, 200, "text/plain", body, n, keep);
}

/*
 * Handles complete requests at the start of c->in. Returns bytes consumed,
 * 0 when more input is needed, -1 on a malformed request.
 */
static long handle_one(struct conn *c)
{
	char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	char *line_end, *sp1, *sp2, *h;
	size_t headlen, bodylen = 0;
	int keep = 1, http10;

	if (end == NULL)
		return c->inlen > MAX_REQUEST ? -1 : 0;
	headlen = end + 4 - c->in;
	*end = '\0';		/* headers are now a C string (body follows) */
	line_end = strstr(c->in, "\r\n");
	if (line_end == NULL)
		line_end = end;
	sp1 = memchr(c->in, ' ', line_end - c->in);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', line_end - sp1 - 1) : NULL;
	if (sp1 == NULL || sp2 == NULL)
		return -1;
	http10 = strncmp(sp2 + 1, "HTTP/1.0", 8) == 0;
	keep = !http10;
	for (h = line_end; h < end && (h = strstr(h, "\r\n")) != NULL && h < end; ) {
		h += 2;
		if (strncasecmp(h, "Content-Length:", 15) == 0)
			bodylen = strtoul(h + 15, NULL, 10);
		else if (strncasecmp(h, "Connection:", 11) == 0) {
			const char *v = h + 11;

			while (*v == ' ')
				v++;
			if (strncasecmp(v, "close", 5) == 0)
				keep = 0;
			else if (strncasecmp(v, "keep-alive", 10) == 0)
				keep = 1;
		}
	}
	if (bodylen > MAX_REQUEST)
		return -1;
	if (c->inlen < headlen + bodylen) {
		*end = '\r';	/* restore, wait for the body */
		return 0;
	}

	const char *path = sp1 + 1;
	size_t plen = sp2 - path;
	unsigned char *der = NULL, *ans = NULL;
	long derlen = -1;
	int anslen, free_it = 0;

	if (strncmp(c->in, "POST ", 5) == 0) {
		derlen = (long)bodylen;
		anslen = ocsp_answer((unsigned char *)c->in + headlen, derlen,
		    &ans, &free_it);
	} else if (strncmp(c->in, "GET ", 4) == 0) {
		while (plen > 0 && *path == '/')
			path++, plen--;
		if (plen == 5 && memcmp(path, "stats", 5) == 0) {
			stats_reply(c, keep);
			return headlen + bodylen;
		}
		if (plen == 5 && memcmp(path, "reset", 5) == 0) {
			R.requests = 0;
			R.first = R.last = 0;
			stats_reply(c, keep);
			return headlen + bodylen;
		}
		derlen = path_to_der(path, plen, &der);
		anslen = derlen > 0 ? ocsp_answer(der, derlen, &ans, &free_it) : -1;
		free(der);
	} else {
		reply(c, 400, "text/plain", "bad method\n", 11, 0);
		return headlen + bodylen;
	}
	if (anslen > 0)
		reply(c, 200, "application/ocsp-response", ans, anslen, keep);
	else
		reply(c, 400, "text/plain", "bad request\n", 12, keep);
	if (free_it)
		OPENSSL_free(ans);
	return headlen + bodylen;
}

static void conn_close(struct ev_loop *loop, struct conn *c)
{
	ev_io_stop(loop, &c->io);
	close(c->io.fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Sends what is pending; -1 when the connection is gone. */
static int conn_flush(struct ev_loop *loop, struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = write(c->io.fd, c->out + c->outoff, c->outlen - c->outoff);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -1;
		}
		c->outoff += n;
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		if (c->closing)
			return -1;
	}
	int want = EV_READ | (c->outlen ? EV_WRITE : 0);

	if ((c->io.events & (EV_READ | EV_WRITE)) != want) {
		ev_io_stop(loop, &c->io);
		ev_io_set(&c->io, c->io.fd, want);
		ev_io_start(loop, &c->io);
	}
	return 0;
}

static void conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = (struct conn *)w;

	if (revents & EV_READ) {
		for (;;) {
			ssize_t n;

			if (c->incap - c->inlen < READ_CHUNK) {
				c->incap = c->incap ? c->incap * 2 : 2 * READ_CHUNK;
				if ((c->in = realloc(c->in, c->incap + 1)) == NULL)
					fatal("out of memory");
			}
			n = read(w->fd, c->in + c->inlen, c->incap - c->inlen);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN)
				break;
			if (n <= 0) {
				conn_close(loop, c);
				return;
			}
			c->inlen += n;
			if ((size_t)n < READ_CHUNK)
				break;
		}
		while (c->inlen > 0 && !c->closing) {
			long used = handle_one(c);

			if (used == 0)
				break;
			if (used < 0) {
				reply(c, 400, "text/plain", "bad request\n", 12, 0);
				c->inlen = 0;
				break;
			}
			memmove(c->in, c->in + used, c->inlen - used);
			c->inlen -= used;
		}
	}
	if (conn_flush(loop, c) == -1)
		conn_close(loop, c);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int one = 1;
		struct conn *c;

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;	/* EAGAIN, or EMFILE: try again on the next event */
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((c = calloc(1, sizeof(*c))) == NULL)
			fatal("out of memory");
		ev_io_init(&c->io, conn_cb, fd, EV_READ);
		ev_io_start(loop, &c->io);
	}
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	fprintf(stderr, "responder: %llu requests\n", R.requests);
	if (R.statsfile != NULL) {
		FILE *f = fopen(R.statsfile, "w");

		if (f != NULL) {
			fprintf(f, "requests %llu first %.6f last %.6f\n",
			    R.requests, R.first, R.last);
			fclose(f);
		}
	}
	ev_break(loop, EVBREAK_ALL);
}

static void usage(void)
{
	fprintf(stderr, "usage: responder [-a ADDR] [-p PORT] [-V SECONDS] "
	    "[-B SECONDS] [-W] [-L] [-s FILE] PKIDIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1", *dir;
	int port = 0, lazy = 0, shared = 0, ch, fd, one = 1;
	char path[4096];
	FILE *f;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct ev_loop *loop = EV_DEFAULT;
	ev_io accept_w;
	ev_signal term_w, int_w;

	R.validity = 86400;
	R.start = now();
	while ((ch = getopt(argc, argv, "a:p:V:B:WLs:")) != -1) {
		switch (ch) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'V': R.validity = atof(optarg); break;
		case 'B': R.backdate = atof(optarg); break;
		case 'L': lazy = 1; break;
		case 'W': shared = 1; break;
		case 's': R.statsfile = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 1 || R.validity < 1)
		usage();
	if (shared)
		R.shared_until = R.start + 0.4 * R.validity;
	dir = argv[optind];
	signal(SIGPIPE, SIG_IGN);

	snprintf(path, sizeof(path), "%s/inter.pem", dir);
	if ((f = fopen(path, "r")) == NULL ||
	    (R.issuer = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		fatal(path);
	fclose(f);
	snprintf(path, sizeof(path), "%s/ocsp-signer.pem", dir);
	if ((f = fopen(path, "r")) == NULL ||
	    (R.signer = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		fatal(path);
	fclose(f);
	snprintf(path, sizeof(path), "%s/ocsp-signer.key", dir);
	if ((f = fopen(path, "r")) == NULL ||
	    (R.key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		fatal(path);
	fclose(f);
	if ((R.no_certs = sk_X509_new_null()) == NULL)
		fatal("out of memory");
	snprintf(path, sizeof(path), "%s/index.txt", dir);
	load_index(path);

	/* Listen before signing, so that the port is taken early. */
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		fatal("bad address");
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 1024) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen) == -1)
		fatal("cannot listen");
	if (!lazy)
		presign();

	ev_io_init(&accept_w, accept_cb, fd, EV_READ);
	ev_io_start(loop, &accept_w);
	ev_signal_init(&term_w, stop_cb, SIGTERM);
	ev_signal_start(loop, &term_w);
	ev_signal_init(&int_w, stop_cb, SIGINT);
	ev_signal_start(loop, &int_w);
	printf("ready %d\n", ntohs(sin.sin_port));
	fflush(stdout);
	ev_run(loop, 0);
	return 0;
}
