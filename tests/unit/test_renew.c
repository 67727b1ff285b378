/*
 * test_renew — the renew cycle (renew.c) driven step by step on a real
 * event loop, with the real modules around it: parse (bundle.c) of bundles
 * written to a temporary directory, store (store.c) into that directory,
 * fetch (fetch.c, curl) from a responder served in this process
 * (libmicrohttpd on 127.0.0.1, answering whatever DER the step set), verify
 * (ocsp.c), with parse and verify jobs run inline (work.h: 0 threads, done()
 * still from the loop), and deliver watched through deliver_set_observer
 * (no HAProxy, no hooks). The PKI and the responses are made here
 * (testpki.h).
 *
 * After each step: the recorded state (renew_foreach_status and
 * renew_counts agree), the .ocsp file (the very bytes served, or empty, or
 * absent), what deliver got, the staple index (renew_staple_by_certid), and
 * when the next attempt is planned (DESIGN.md section 2: the midpoint, the
 * retry backoff, the revocation interval, the expiry). A timer is fired by
 * invoking the certificate's own ev_timer (the test reaches it through
 * renew-t.h), so no step waits for a backoff to run out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/pem.h>

#include "certcache.h"
#include "conf.h"
#include "deliver.h"
#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "renew.h"
#include "renew-t.h"
#include "sched.h"
#include "store.h"
#include "work.h"
#include "testpki.h"

#define HALF_DAY	43200L	/* validity of the good answers (s): the midpoint comes before maximum-interval */
#define SETTLE_MAX	30.0	/* a step that has not settled after this long failed (s) */

/* ---------------------------------------------------------------- PKI */

static struct {
	EVP_PKEY *ca_key, *key;		/* the CA's, and every leaf's */
	X509 *ca;			/* issuer and trust anchor */
	X509 *leaf;			/* the certificate under test: AIA OCSP = the responder below */
	X509 *nourl;			/* a leaf naming no OCSP responder */
	OCSP_CERTID *id;		/* leaf's CertID (SHA-1, as renew builds it) */
	OCSP_CERTID *other_id;		/* CertID of another certificate of the same CA */
} pki;

static X509 *make_leaf(long serial, const char *url)
{
	X509 *x = testpki_cert("leaf.test", pki.key, serial, pki.ca);

	testpki_ext(x, pki.ca, NID_basic_constraints, "critical,CA:FALSE");
	if (url != NULL) {
		char aia[128];

		snprintf(aia, sizeof(aia), "OCSP;URI:%s", url);
		testpki_ext(x, pki.ca, NID_info_access, aia);
	}
	testpki_sign(x, pki.ca_key);
	return x;
}

static void make_pki(const char *url)
{
	X509 *other;

	assert_non_null(pki.ca_key = EVP_EC_gen("P-256"));
	assert_non_null(pki.key = EVP_EC_gen("P-256"));
	pki.ca = testpki_cert("cycle test CA", pki.ca_key, 1, NULL);
	testpki_ext(pki.ca, NULL, NID_basic_constraints, "critical,CA:TRUE");
	testpki_ext(pki.ca, NULL, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
	testpki_sign(pki.ca, pki.ca_key);
	pki.leaf = make_leaf(1001, url);
	pki.nourl = make_leaf(1003, NULL);
	other = make_leaf(1002, url);
	assert_non_null(pki.id = OCSP_cert_to_id(EVP_sha1(), pki.leaf, pki.ca));
	assert_non_null(pki.other_id = OCSP_cert_to_id(EVP_sha1(), other, pki.ca));
	X509_free(other);
}

/* A bundle file: leaf, then the issuer. */
static void write_bundle(const char *path, X509 *leaf)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(PEM_write_X509(f, leaf));
	assert_true(PEM_write_X509(f, pki.ca));
	assert_int_equal(fclose(f), 0);
}

/* A response as the test serves it (malloc'd DER). */
struct answer {
	unsigned char *der;		/* owned */
	size_t len;			/* its length */
	double this_update, next_update; /* as signed (0: not a BasicOCSPResponse) */
};

static void answer_free(struct answer *a)
{
	OPENSSL_free(a->der);
	a->der = NULL;
}

/* A response for id with this status, valid from now + this_off to now + next_off. */
static struct answer response(OCSP_CERTID *id, int status, long this_off, long next_off)
{
	struct answer a;
	double now = (double)time(NULL);

	a.der = testpki_response(id, status, this_off, next_off, pki.ca, pki.ca_key, &a.len);
	a.this_update = now + this_off;
	a.next_update = next_off != TESTPKI_NO_NEXT ? now + next_off : 0;
	return a;
}

static struct answer good(long this_off, long next_off)
{
	return response(pki.id, V_OCSP_CERTSTATUS_GOOD, this_off, next_off);
}

/* ---------------------------------------------------------------- responder */

#define HANG_MAX	30	/* a hanging responder answers after this anyway (s): a failed test ends */

/*
 * The responder: answers every request (GET or POST) with what serve() set
 * last, or, while hang(1), holds each request unanswered until hang(0).
 */
static struct {
	struct MHD_Daemon *mhd;		/* own polling thread */
	unsigned short port;		/* on 127.0.0.1 */
	pthread_mutex_t lock;		/* guards the rest (the server thread reads it) */
	pthread_cond_t released;	/* hanging turned off */
	unsigned code;			/* HTTP status */
	unsigned char *der;		/* body, owned */
	size_t len;			/* its length */
	int hanging;			/* hold requests unanswered */
	int held;			/* requests held right now */
	int requests;			/* answered so far */
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER, .released = PTHREAD_COND_INITIALIZER };

static void serve_code(unsigned code, const unsigned char *der, size_t len)
{
	unsigned char *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, der, len);
	pthread_mutex_lock(&srv.lock);
	free(srv.der);
	srv.code = code;
	srv.der = copy;
	srv.len = len;
	pthread_mutex_unlock(&srv.lock);
}

static void serve(const struct answer *a)
{
	serve_code(200, a->der, a->len);
}

/* Requests are held unanswered (on), or answered again, the held ones first (off). */
static void hang(int on)
{
	pthread_mutex_lock(&srv.lock);
	srv.hanging = on;
	if (!on)
		pthread_cond_broadcast(&srv.released);
	pthread_mutex_unlock(&srv.lock);
}

/* Requests held unanswered right now. */
static int held(void)
{
	int n;

	pthread_mutex_lock(&srv.lock);
	n = srv.held;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static int requests(void)
{
	int n;

	pthread_mutex_lock(&srv.lock);
	n = srv.requests;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload, size_t *upload_len, void **ctx)
{
	static int started;
	struct MHD_Response *resp;
	unsigned char *body;
	unsigned code;
	size_t len;
	enum MHD_Result rc;

	(void)cls, (void)url, (void)method, (void)version, (void)upload;
	if (*ctx == NULL) {		/* headers in; the body (POST) comes next */
		*ctx = &started;
		return MHD_YES;
	}
	if (*upload_len > 0) {		/* the request itself is not looked at */
		*upload_len = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&srv.lock);
	if (srv.hanging) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += HANG_MAX;
		srv.held++;
		while (srv.hanging && pthread_cond_timedwait(&srv.released, &srv.lock, &until) == 0)
			;
		srv.held--;
	}
	code = srv.code;
	len = srv.len;
	if ((body = malloc(len ? len : 1)) != NULL)
		memcpy(body, srv.der, len);
	srv.requests++;
	pthread_mutex_unlock(&srv.lock);
	if (body == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/ocsp-response");
	rc = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return rc;
}

static void start_responder(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	const union MHD_DaemonInfo *info;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
	assert_non_null(srv.mhd);
	assert_non_null(info = MHD_get_daemon_info(srv.mhd, MHD_DAEMON_INFO_BIND_PORT));
	srv.port = info->port;
	assert_int_not_equal(srv.port, 0);
}

static int group_setup(void **state)
{
	char url[64];

	(void)state;
	start_responder();
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", srv.port);
	make_pki(url);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	MHD_stop_daemon(srv.mhd);
	free(srv.der);
	OCSP_CERTID_free(pki.id);
	OCSP_CERTID_free(pki.other_id);
	X509_free(pki.leaf);
	X509_free(pki.nourl);
	X509_free(pki.ca);
	EVP_PKEY_free(pki.key);
	EVP_PKEY_free(pki.ca_key);
	certcache_free();
	metrics_free();
	return 0;
}

/* ---------------------------------------------------------------- the daemon's parts */

#define MAX_GOT 16

/* What deliver was handed, in order. */
struct got {
	enum deliver_kind kind;		/* which call */
	char event[16];			/* DELIVER_ALERT: its event */
	unsigned char *der;		/* DELIVER_STAPLE / RECYCLED: a copy of the staple */
	size_t len;			/* its length */
};

struct fx {
	char dir[64];			/* temporary directory, the one cert-paths entry */
	char path[96];			/* dir/site.pem, the certificate file */
	char ocsp[112];			/* dir/site.pem.ocsp, its staple */
	struct conf conf;		/* the defaults, as conf_load makes them */
	struct ev_loop *loop;		/* the default loop */
	ev_timer tick;			/* wakes ev_run while a step settles */
	X509_STORE *trust;		/* the CA */
	struct fetch *fetch;
	struct store *store;
	struct work *work;		/* 0 threads: inline */
	struct renew *renew;
	struct deliver *deliver;	/* no HAProxy, no hooks; observed */
	struct got got[MAX_GOT];	/* what it was handed since the last forget() */
	int ngot;			/* entries used in got[] */
};

static void on_delivered(void *arg, const struct deliver_event *ev)
{
	struct fx *fx = arg;
	struct got *g;

	assert_string_equal(ev->certpath, fx->path);
	assert_true(fx->ngot < MAX_GOT);
	g = &fx->got[fx->ngot++];
	g->kind = ev->kind;
	snprintf(g->event, sizeof(g->event), "%s", ev->event != NULL ? ev->event : "");
	g->len = ev->len;
	g->der = NULL;
	if (ev->der != NULL) {
		assert_non_null(g->der = malloc(ev->len));
		memcpy(g->der, ev->der, ev->len);
	}
}

/* Forgets what deliver got so far. */
static void forget(struct fx *fx)
{
	for (int i = 0; i < fx->ngot; i++)
		free(fx->got[i].der);
	fx->ngot = 0;
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
}

/* Everything renew needs, as main.c wires it (minus watch, HAProxy and the status server). */
static void start_renew(struct fx *fx)
{
	char *err = NULL;

	assert_non_null(fx->trust = X509_STORE_new());
	assert_true(X509_STORE_add_cert(fx->trust, pki.ca));
	assert_non_null(fx->fetch = fetch_new(fx->loop, fx->conf.connect_timeout, fx->conf.timeout));
	assert_non_null(fx->store = store_new(fx->loop));
	assert_non_null(fx->work = work_new(fx->loop, 0));
	fx->renew = renew_new(fx->loop, &fx->conf, fx->trust, fx->fetch, fx->store, fx->work);
	assert_non_null(fx->renew);
	fx->deliver = deliver_new(fx->loop, &fx->conf, renew_foreach, fx->renew, &err);
	if (fx->deliver == NULL)
		fail_msg("deliver_new: %s", err);
	deliver_set_observer(fx->deliver, on_delivered, fx);
	renew_set_deliver(fx->renew, fx->deliver);
}

/* As main.c's daemon_free: a restart is stop_renew then start_renew. */
static void stop_renew(struct fx *fx)
{
	store_flush(fx->store);
	work_free(fx->work);
	fetch_free(fx->fetch);
	deliver_free(fx->deliver);
	store_free(fx->store);
	renew_free(fx->renew);
	X509_STORE_free(fx->trust);
	fx->renew = NULL;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char cfg[128], *argv[5], *err = NULL;
	FILE *f;

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_renew.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/site.pem", fx->dir);
	snprintf(fx->ocsp, sizeof(fx->ocsp), "%s.ocsp", fx->path);
	/* An empty config file: every setting at its default. */
	snprintf(cfg, sizeof(cfg), "%s/ocspd.conf", fx->dir);
	assert_non_null(f = fopen(cfg, "w"));
	fclose(f);
	argv[0] = "ocspd", argv[1] = "-c", argv[2] = cfg, argv[3] = fx->dir, argv[4] = NULL;
	if (conf_load(&fx->conf, 4, argv, &err) != CONF_OK)
		fail_msg("conf_load: %s", err);
	fx->loop = EV_DEFAULT;
	ev_timer_init(&fx->tick, on_tick, 0.01, 0.01);
	start_renew(fx);
	*state = fx;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	hang(0);	/* a test that failed while the responder hung lets it answer */
	stop_renew(fx);
	forget(fx);
	conf_free(&fx->conf);
	nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* ---------------------------------------------------------------- steps */

/* Runs the loop until no work is left in flight (parse, fetch, verify, store). */
static void settle(struct fx *fx)
{
	double until = renew_now() + SETTLE_MAX;

	ev_timer_start(fx->loop, &fx->tick);
	do
		ev_run(fx->loop, EVRUN_ONCE);
	while ((renew_busy(fx->renew) || fetch_pending(fx->fetch) || store_pending(fx->store) ||
	    work_pending(fx->work)) && renew_now() < until);
	ev_timer_stop(fx->loop, &fx->tick);
	assert_int_equal(renew_busy(fx->renew), 0);
	assert_int_equal(store_pending(fx->store), 0);
}

/* The watcher's event for the certificate file; nothing runs until settle(). */
static void file_event(struct fx *fx, enum watch_event ev)
{
	ev_now_update(fx->loop);
	renew_file_event(fx->renew, fx->path, ev);
}

/*
 * The certificate's timer fires now (the planned renewal or retry), then (in
 * fire, not fire_only) the step settles. The timer must be planned: a
 * certificate nothing wakes up again is a failure of the cycle.
 */
static void fire_only(struct fx *fx)
{
	struct cert *c;

	HASH_FIND_STR(fx->renew->certs, fx->path, c);
	assert_non_null(c);
	if (!ev_is_active(&c->timer))
		fail_msg("%s: no next attempt planned", fx->path);
	ev_now_update(fx->loop);
	ev_timer_stop(fx->loop, &c->timer);	/* as libev stops a one-shot timer that fires */
	ev_invoke(fx->loop, &c->timer, EV_TIMER);
}

static void fire(struct fx *fx)
{
	fire_only(fx);
	settle(fx);
}

/* Runs the loop until done(fx) or until (wall clock), whichever comes first: done(fx). */
static int run_until(struct fx *fx, int (*done)(struct fx *), double until)
{
	ev_timer_start(fx->loop, &fx->tick);
	while (!done(fx) && renew_now() < until)
		ev_run(fx->loop, EVRUN_ONCE);
	ev_timer_stop(fx->loop, &fx->tick);
	return done(fx);
}

/* The certificate as renew_foreach_status reports it. */
struct seen {
	int n;				/* certificates reported */
	struct renew_status st;		/* ours (strings not kept) */
	char last_error[512];		/* st.last_error, "" = none */
};

static void on_status(void *arg, const struct renew_status *st)
{
	struct seen *s = arg;

	s->n++;
	s->st = *st;
	snprintf(s->last_error, sizeof(s->last_error), "%s", st->last_error != NULL ? st->last_error : "");
	s->st.path = s->st.subject = s->st.serial = s->st.responder = s->st.last_error = NULL;
}

static struct seen look(struct fx *fx)
{
	struct seen s = { 0 };

	renew_foreach_status(fx->renew, on_status, &s);
	return s;
}

/*
 * The one certificate stands at st, with or without a staple, idle, with
 * errors consecutive failures (a reason recorded exactly when errors > 0,
 * containing why when given); renew_counts says the same.
 */
static struct seen expect_state(struct fx *fx, enum renew_state st, int has_staple, int errors,
    const char *why)
{
	struct seen s = look(fx);
	int n[RENEW_NSTATES];

	assert_int_equal(s.n, 1);
	if (s.st.state != st || s.st.has_staple != has_staple)
		fail_msg("state %s, staple %d; want %s, staple %d (last error \"%s\")",
		    renew_state_name(s.st.state), s.st.has_staple, renew_state_name(st), has_staple,
		    s.last_error);
	assert_int_equal(s.st.busy, 0);
	assert_int_equal(s.st.error_count, errors);
	assert_int_equal(s.last_error[0] != '\0', errors > 0);
	if (why != NULL && strstr(s.last_error, why) == NULL)
		fail_msg("last error \"%s\", want it to say \"%s\"", s.last_error, why);
	renew_counts(fx->renew, n);
	for (int i = 0; i < RENEW_NSTATES; i++)
		assert_int_equal(n[i], i == (int)st);
	assert_int_equal(renew_all_stapled(fx->renew), st == RENEW_STAPLED || st == RENEW_NO_URL);
	return s;
}

#define assert_within(v, lo, hi) do {							\
	double v_ = (v), lo_ = (lo), hi_ = (hi);					\
	if (v_ < lo_ || v_ > hi_)							\
		fail_msg("%s = now %+.1fs, want now %+.1fs .. %+.1fs", #v,		\
		    v_ - renew_now(), lo_ - renew_now(), hi_ - renew_now());		\
} while (0)

/*
 * The next attempt after a staple valid [tu, nu] was taken in [t0, t1]
 * (DESIGN.md section 2): at the midpoint (these tests keep it before
 * nu - minimum-validity and before maximum-interval), pulled earlier by up
 * to 10 % of the wait for jitter.
 */
static void expect_midpoint(const struct seen *s, double tu, double nu, double t0, double t1)
{
	double mid = tu + (nu - tu) / 2;

	assert_within(s->st.renew_at, t0 + 0.9 * (mid - t1) - 1, mid + 1);
}

/* The next attempt after failure number n in [t0, t1]: 30 s doubling to 1 h, +-25 % jitter. */
static void expect_backoff(const struct seen *s, int n, double t0, double t1)
{
	double d = SCHED_RETRY_MIN;

	for (int i = 1; i < n && d < SCHED_RETRY_MAX; i++)
		d *= 2;
	if (d > SCHED_RETRY_MAX)
		d = SCHED_RETRY_MAX;
	assert_within(s->st.renew_at, t0 + 0.75 * d - 1, t1 + 1.25 * d + 1);
}

/* The staple file: 0 with its bytes (caller frees), or -1 when there is none. */
static int read_staple(struct fx *fx, unsigned char **buf, size_t *len)
{
	FILE *f = fopen(fx->ocsp, "rb");
	long n;

	*buf = NULL;
	*len = 0;
	if (f == NULL)
		return -1;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	assert_true((n = ftell(f)) >= 0);
	rewind(f);
	assert_non_null(*buf = malloc(n > 0 ? (size_t)n : 1));
	assert_int_equal(fread(*buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return 0;
}

/* <cert>.ocsp holds exactly a's bytes. */
static void expect_file(struct fx *fx, const struct answer *a)
{
	unsigned char *buf;
	size_t len;

	if (read_staple(fx, &buf, &len) == -1)
		fail_msg("%s: missing", fx->ocsp);
	if (len != a->len || memcmp(buf, a->der, len) != 0)
		fail_msg("%s: %zu bytes, not the %zu bytes served", fx->ocsp, len, a->len);
	free(buf);
}

/* <cert>.ocsp is there and empty (withdrawn: DESIGN.md section 6). */
static void expect_emptied(struct fx *fx)
{
	unsigned char *buf;
	size_t len;

	if (read_staple(fx, &buf, &len) == -1)
		fail_msg("%s: missing, want it emptied", fx->ocsp);
	free(buf);
	if (len != 0)
		fail_msg("%s: %zu bytes, want it emptied", fx->ocsp, len);
}

/* No <cert>.ocsp at all: nothing was written. */
static void expect_no_file(struct fx *fx)
{
	struct stat st;

	if (stat(fx->ocsp, &st) == 0)
		fail_msg("%s: written (%lld bytes), want none", fx->ocsp, (long long)st.st_size);
}

static const char *kind_name(enum deliver_kind k)
{
	static const char *names[] = { "staple", "recycled", "withdrawn", "alert" };

	return k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/*
 * Deliver got exactly n calls since the last forget(), of the kinds given as
 * n (kind, alert event or NULL, answer whose bytes it got or NULL) triples;
 * then forgets them.
 */
static void expect_delivered(struct fx *fx, int n, ...)
{
	va_list ap;

	if (fx->ngot != n) {
		char list[256] = "";

		for (int i = 0; i < fx->ngot; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), " %s%s%s",
			    kind_name(fx->got[i].kind), fx->got[i].event[0] ? ":" : "", fx->got[i].event);
		fail_msg("deliver got %d calls (%s ), want %d", fx->ngot, list, n);
	}
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		enum deliver_kind kind = va_arg(ap, enum deliver_kind);
		const char *event = va_arg(ap, const char *);
		const struct answer *a = va_arg(ap, const struct answer *);
		const struct got *g = &fx->got[i];

		if (g->kind != kind)
			fail_msg("deliver call %d: %s, want %s", i, kind_name(g->kind), kind_name(kind));
		if (event != NULL)
			assert_string_equal(g->event, event);
		if (a != NULL && (g->len != a->len || memcmp(g->der, a->der, a->len) != 0))
			fail_msg("deliver call %d: %zu bytes, not the %zu bytes served", i, g->len, a->len);
	}
	va_end(ap);
	forget(fx);
}

/* The staple index gives a's bytes for the leaf's CertID (a NULL: none). */
static void expect_indexed(struct fx *fx, const struct answer *a)
{
	struct staple sp;
	int rc = renew_staple_by_certid(fx->renew, pki.id, &sp);

	if (a == NULL) {
		assert_int_equal(rc, -1);
		return;
	}
	assert_int_equal(rc, 0);
	assert_true(sp.len == a->len && memcmp(sp.der, a->der, a->len) == 0);
	assert_within(sp.next_update, a->next_update - 1, a->next_update + 1);
}

/* /metrics' ocspd_fetches_total for the responder and result ("good", "try_later"...). */
static unsigned long fetched(const char *result)
{
	char *text = NULL, want[160], *line;
	size_t size = 0;
	unsigned long n = 0;
	FILE *out = open_memstream(&text, &size);

	assert_non_null(out);
	assert_int_equal(metrics_write(out), 0);
	fclose(out);
	snprintf(want, sizeof(want), "ocspd_fetches_total{responder=\"http://127.0.0.1:%u/\",result=\"%s\"} ",
	    srv.port, result);
	if ((line = strstr(text, want)) != NULL)
		n = strtoul(line + strlen(want), NULL, 10);
	free(text);
	return n;
}

/* Writes the certificate file with an answer on disk beside it, as found at start. */
static void write_found(struct fx *fx, const struct answer *a)
{
	FILE *f;

	write_bundle(fx->path, pki.leaf);
	assert_non_null(f = fopen(fx->ocsp, "wb"));
	assert_int_equal(fwrite(a->der, 1, a->len, f), a->len);
	assert_int_equal(fclose(f), 0);
}

/*
 * The certificate written and added with g served: stapled, delivered once.
 * The start of the tests about what comes after a first good staple.
 */
static void stapled_first(struct fx *fx, const struct answer *g)
{
	write_bundle(fx->path, pki.leaf);
	serve(g);
	file_event(fx, WATCH_ADDED);
	settle(fx);
	expect_state(fx, RENEW_STAPLED, 1, 0, NULL);
	expect_delivered(fx, 1, DELIVER_STAPLE, NULL, g);
}

/* fire(), the clock read before (*t0) and after (*t1) for the schedule checks. */
static void fire_timed(struct fx *fx, double *t0, double *t1)
{
	*t0 = renew_now();
	fire(fx);
	*t1 = renew_now();
}

/* The certificate added and settled, the clock read before and after. */
static void added_timed(struct fx *fx, double *t0, double *t1)
{
	*t0 = renew_now();
	file_event(fx, WATCH_ADDED);
	settle(fx);
	*t1 = renew_now();
}

/* ---------------------------------------------------------------- tests */

/*
 * parse → fetch (good) → store → deliver → timer at the midpoint; then a
 * restart finds the staple on disk: recycled, nothing fetched, HAProxy
 * handed it again (hooks not run), the file left as it is.
 */
static void test_good_then_recycled(void **state)
{
	struct fx *fx = *state;
	struct answer g = good(-60, HALF_DAY);
	struct seen s;
	struct stat st1, st2;
	double t0, t1;
	int asked;

	write_bundle(fx->path, pki.leaf);
	serve(&g);
	t0 = renew_now();
	file_event(fx, WATCH_ADDED);
	s = look(fx);
	assert_int_equal(s.st.state, RENEW_PENDING);
	assert_int_equal(s.st.busy, 1);		/* the parse job's done() waits for the loop */
	assert_int_equal(renew_undecided(fx->renew), 1);
	settle(fx);
	t1 = renew_now();
	s = expect_state(fx, RENEW_STAPLED, 1, 0, NULL);
	assert_int_equal(renew_undecided(fx->renew), 0);
	assert_within(s.st.this_update, g.this_update - 1, g.this_update + 1);
	assert_within(s.st.next_update, g.next_update - 1, g.next_update + 1);
	expect_midpoint(&s, g.this_update, g.next_update, t0, t1);
	expect_file(fx, &g);
	expect_delivered(fx, 1, DELIVER_STAPLE, NULL, &g);
	expect_indexed(fx, &g);
	assert_true((asked = requests()) > 0);

	/* Restart: the staple on disk is the first source. */
	assert_int_equal(stat(fx->ocsp, &st1), 0);
	stop_renew(fx);
	start_renew(fx);
	added_timed(fx, &t0, &t1);
	s = expect_state(fx, RENEW_STAPLED, 1, 0, NULL);
	expect_midpoint(&s, g.this_update, g.next_update, t0, t1);
	assert_int_equal(requests(), asked);
	expect_delivered(fx, 1, DELIVER_RECYCLED, NULL, &g);
	expect_file(fx, &g);
	assert_int_equal(stat(fx->ocsp, &st2), 0);
	assert_true(st1.st_ino == st2.st_ino && st1.st_mtim.tv_sec == st2.st_mtim.tv_sec &&
	    st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);	/* not rewritten */
	expect_indexed(fx, &g);

	/* The renewal: the same bytes again are not rewritten, not delivered. */
	fire(fx);
	expect_state(fx, RENEW_STAPLED, 1, 0, NULL);
	assert_true(requests() > asked);
	expect_delivered(fx, 0);
	assert_int_equal(stat(fx->ocsp, &st2), 0);
	assert_true(st1.st_ino == st2.st_ino);
	answer_free(&g);
}

/*
 * Answers that must never be stored (expired, for another certificate, a
 * bad signature, status unknown, no nextUpdate and older than
 * default-validity, tryLater, an HTTP error): each is a failed attempt with its
 * own reason and /metrics result, nothing written or delivered, the retry
 * backing off (30 s doubling); then a good answer clears the errors and is stored.
 */
static void test_refused_answers_back_off(void **state)
{
	struct fx *fx = *state;
	struct answer expired = response(pki.id, V_OCSP_CERTSTATUS_GOOD, -2 * 86400L, -86400L);
	struct answer other = response(pki.other_id, V_OCSP_CERTSTATUS_GOOD, -60, HALF_DAY);
	struct answer badsig = good(-60, HALF_DAY);
	struct answer unknown = response(pki.id, V_OCSP_CERTSTATUS_UNKNOWN, -60, HALF_DAY);
	struct answer nonext_old = response(pki.id, V_OCSP_CERTSTATUS_GOOD, -7200, TESTPKI_NO_NEXT);
	struct answer trylater = { 0 }, g;
	struct answer err500 = { (unsigned char *)OPENSSL_strdup("oops"), 4, 0, 0 };
	const struct {
		const struct answer *a;	/* what the responder says */
		unsigned code;		/* with this HTTP status */
		const char *why;	/* part of the reason recorded */
		const char *counted;	/* the result /metrics counts it under */
	} steps[] = {
		{ &expired, 200, "nextUpdate in the past", "invalid" },
		{ &other, 200, "CertID mismatch", "invalid" },
		{ &badsig, 200, "signature does not verify", "invalid" },
		{ &unknown, 200, "status is unknown", "unknown" },
		{ &nonext_old, 200, "older than default-validity", "good" },	/* authentic, too old */
		{ &trylater, 200, "trylater", "try_later" },
		{ &err500, 500, "HTTP status 500", "error" },
	};
	struct seen s;
	double t0, t1;

	badsig.der[badsig.len - 1] ^= 0x01;	/* the signature's last byte */
	trylater.der = testpki_status_only(OCSP_RESPONSE_STATUS_TRYLATER, &trylater.len);
	write_bundle(fx->path, pki.leaf);
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		unsigned long counted = fetched(steps[k].counted);

		serve_code(steps[k].code, steps[k].a->der, steps[k].a->len);
		t0 = renew_now();
		if (k == 0) {
			file_event(fx, WATCH_ADDED);
			settle(fx);
		} else {
			fire(fx);
		}
		t1 = renew_now();
		s = expect_state(fx, RENEW_FAILING, 0, (int)k + 1, steps[k].why);
		assert_int_equal(renew_state_severity(s.st.state, s.st.has_staple), RENEW_SEV_CRITICAL);
		expect_backoff(&s, (int)k + 1, t0, t1);
		if (fetched(steps[k].counted) != counted + 1)
			fail_msg("/metrics: %s not counted as %s", steps[k].why, steps[k].counted);
		expect_no_file(fx);
		expect_delivered(fx, 0);
		expect_indexed(fx, NULL);
	}
	assert_int_equal(renew_undecided(fx->renew), 0);	/* a failed first attempt ends the pass too */

	g = good(-60, HALF_DAY);
	serve(&g);
	fire_timed(fx, &t0, &t1);
	s = expect_state(fx, RENEW_STAPLED, 1, 0, NULL);
	expect_midpoint(&s, g.this_update, g.next_update, t0, t1);
	expect_file(fx, &g);
	expect_delivered(fx, 1, DELIVER_STAPLE, NULL, &g);
	expect_indexed(fx, &g);
	answer_free(&expired);
	answer_free(&other);
	answer_free(&badsig);
	answer_free(&unknown);
	answer_free(&nonext_old);
	answer_free(&trylater);
	answer_free(&err500);
	answer_free(&g);
}

/*
 * A good staple, then the responder says revoked: the staple is withdrawn
 * (file emptied, servers told once), the alert given once, the certificate
 * revoked and asked again only at the longest interval; the same answer
 * again repeats none of it.
 */
static void test_revoked_withdraws(void **state)
{
	struct fx *fx = *state;
	struct answer g = good(-60, HALF_DAY);
	struct answer rev = response(pki.id, V_OCSP_CERTSTATUS_REVOKED, -60, HALF_DAY);
	struct seen s;
	double t0, t1;

	stapled_first(fx, &g);
	serve(&rev);
	fire_timed(fx, &t0, &t1);
	s = expect_state(fx, RENEW_REVOKED, 0, 1, "revoked");
	assert_int_equal(renew_state_severity(s.st.state, s.st.has_staple), RENEW_SEV_CRITICAL);
	assert_within(s.st.renew_at, t0 + SCHED_RETRY_MAX - 1, t1 + SCHED_RETRY_MAX + 1);
	expect_emptied(fx);
	expect_delivered(fx, 2, DELIVER_ALERT, "revoked", NULL, DELIVER_WITHDRAWN, NULL, NULL);
	expect_indexed(fx, NULL);

	fire(fx);
	s = expect_state(fx, RENEW_REVOKED, 0, 2, "revoked");
	assert_true(s.st.renew_at > renew_now() + SCHED_RETRY_MAX - 2);
	expect_emptied(fx);
	expect_delivered(fx, 0);
	answer_free(&g);
	answer_free(&rev);
}

/*
 * A staple is never replaced by one that expires earlier (DESIGN.md section
 * 1, store): such an answer is a failed attempt, the staple held stays on
 * disk and in service.
 */
static void test_never_earlier(void **state)
{
	struct fx *fx = *state;
	struct answer g = good(-60, HALF_DAY), earlier = good(-30, HALF_DAY - 3600);
	struct seen s;
	double t0, t1;

	stapled_first(fx, &g);
	serve(&earlier);
	fire_timed(fx, &t0, &t1);
	s = expect_state(fx, RENEW_FAILING, 1, 1, "expires earlier");
	expect_backoff(&s, 1, t0, t1);
	expect_file(fx, &g);
	expect_delivered(fx, 0);
	expect_indexed(fx, &g);
	answer_free(&g);
	answer_free(&earlier);
}

/*
 * A failing renewal keeps a valid staple in service (a warning, the
 * "expiring" alert when it is that close to its end) and wakes up when it
 * expires: then it is withdrawn (alert "expired", file emptied, servers
 * told) and the retries go on without a staple.
 */
static void test_kept_until_expiry(void **state)
{
	struct fx *fx = *state;
	struct answer g = good(-1, 5);	/* expires in 5 s: time enough to fail once before */
	static const unsigned char none[] = "down";
	struct seen s;
	double t0, t1, wait;

	write_bundle(fx->path, pki.leaf);
	serve(&g);
	file_event(fx, WATCH_ADDED);
	settle(fx);
	expect_state(fx, RENEW_STAPLED, 1, 0, NULL);
	expect_delivered(fx, 1, DELIVER_STAPLE, NULL, &g);

	serve_code(500, none, sizeof(none) - 1);
	fire(fx);
	s = expect_state(fx, RENEW_FAILING, 1, 1, "HTTP status 500");
	assert_int_equal(renew_state_severity(s.st.state, s.st.has_staple), RENEW_SEV_WARNING);
	assert_within(s.st.renew_at, g.next_update - 1, g.next_update + 1);	/* before the backoff ends */
	expect_file(fx, &g);
	expect_delivered(fx, 1, DELIVER_ALERT, "expiring", NULL);
	expect_indexed(fx, &g);

	/* Bounded wait for the staple's nextUpdate (whole seconds) to pass. */
	for (wait = 0; renew_now() <= g.next_update + 0.1 && wait < 10; wait += 0.1)
		usleep(100000);
	t0 = renew_now();
	fire(fx);
	t1 = renew_now();
	s = expect_state(fx, RENEW_FAILING, 0, 2, "HTTP status 500");
	assert_int_equal(renew_state_severity(s.st.state, s.st.has_staple), RENEW_SEV_CRITICAL);
	expect_backoff(&s, 2, t0, t1);
	expect_emptied(fx);
	expect_delivered(fx, 2, DELIVER_ALERT, "expired", NULL, DELIVER_WITHDRAWN, NULL, NULL);
	expect_indexed(fx, NULL);
	answer_free(&g);
}

/* Deliver has been handed two calls (the expiry's alert and withdrawal). */
static int two_delivered(struct fx *fx)
{
	return fx->ngot >= 2;
}

/* The responder holds a request. */
static int one_held(struct fx *fx)
{
	(void)fx;
	return held() > 0;
}

/*
 * The SIGUSR1 report's line for the certificate, logged at debug level into
 * the test directory: into line (size bytes).
 */
static void report_line(struct fx *fx, char *line, size_t size)
{
	char log[96], buf[1024], *err = NULL;
	FILE *f;

	snprintf(log, sizeof(log), "%s/ocspd.log", fx->dir);
	unlink(log);
	if (log_setup(LOG_LVL_DEBUG, 0, NULL, fx->dir, &err) == -1)
		fail_msg("log_setup: %s", err);
	renew_report(fx->renew);
	assert_int_equal(log_setup(LOG_LVL_ERR, 0, NULL, NULL, NULL), 0);
	assert_non_null(f = fopen(log, "r"));
	line[0] = '\0';
	while (fgets(buf, sizeof(buf), f) != NULL)
		if (strstr(buf, "status: ") != NULL && strstr(buf, fx->path) != NULL)
			snprintf(line, size, "%s", buf);
	fclose(f);
	if (line[0] == '\0')
		fail_msg("SIGUSR1 report: no line for %s", fx->path);
}

/*
 * The staple expires while its renewal hangs (a responder that never
 * answers, up to --timeout): withdrawn at its nextUpdate (alert "expired",
 * file emptied, servers told, gone from the index) with the request still
 * in flight, not when the attempt ends. Before that, the SIGUSR1 report
 * says the renewal is in progress (no "renew at" a time of 0) and /status
 * plans nothing (renew_at 0, busy). Answered at last, the fresh staple is
 * stored and delivered.
 */
static void test_expiry_in_flight(void **state)
{
	struct fx *fx = *state;
	struct answer g = good(-1, 5), fresh = good(-1, HALF_DAY);
	struct seen s;
	char line[1024];
	int answered;

	write_bundle(fx->path, pki.leaf);
	serve(&g);
	file_event(fx, WATCH_ADDED);
	settle(fx);
	expect_state(fx, RENEW_STAPLED, 1, 0, NULL);
	expect_delivered(fx, 1, DELIVER_STAPLE, NULL, &g);
	assert_true(fx->conf.timeout > 5 + 5);	/* the default --timeout outlasts the wait below */

	/* The renewal starts (its timer fires) and hangs. */
	hang(1);
	serve(&fresh);
	answered = requests();
	fire_only(fx);		/* not settled: the fetch stays in flight */
	if (!run_until(fx, one_held, renew_now() + SETTLE_MAX))
		fail_msg("the renewal never reached the responder");
	s = look(fx);
	assert_int_equal(s.st.busy, 1);
	assert_int_equal(s.st.state, RENEW_STAPLED);
	assert_int_equal(s.st.has_staple, 1);
	assert_true(s.st.renew_at == 0);	/* none planned: the attempt is in flight */
	report_line(fx, line, sizeof(line));
	if (strstr(line, "stapled") == NULL || strstr(line, "in progress") == NULL || strstr(line, "1970") != NULL)
		fail_msg("SIGUSR1 report for a renewal in progress: %s", line);

	/* Bounded wait: withdrawn at expiry (5 s), long before the 15 s timeout. */
	if (!run_until(fx, two_delivered, g.next_update + 5))
		fail_msg("not withdrawn %.1fs after its expiry, with the fetch in flight (deliver got %d calls)",
		    renew_now() - g.next_update, fx->ngot);
	assert_true(renew_now() >= g.next_update);
	assert_true(held() > 0);		/* the request is still unanswered */
	assert_int_equal(requests(), answered);
	s = look(fx);
	assert_int_equal(s.st.busy, 1);
	assert_int_equal(s.st.has_staple, 0);
	assert_true(s.st.next_update == 0);
	assert_int_not_equal(s.st.state, RENEW_STAPLED);
	expect_delivered(fx, 2, DELIVER_ALERT, "expired", NULL, DELIVER_WITHDRAWN, NULL, NULL);
	expect_indexed(fx, NULL);
	store_flush(fx->store);
	expect_emptied(fx);

	/* The responder answers at last: the fresh staple is stored and delivered. */
	hang(0);
	settle(fx);
	expect_state(fx, RENEW_STAPLED, 1, 0, NULL);
	expect_file(fx, &fresh);
	expect_delivered(fx, 1, DELIVER_STAPLE, NULL, &fresh);
	expect_indexed(fx, &fresh);
	answer_free(&g);
	answer_free(&fresh);
}

/*
 * A revoked staple found on disk at start is a revocation like the
 * responder's (issue 12): alert, withdrawn, revoked; nothing is fetched.
 */
static void test_found_revoked(void **state)
{
	struct fx *fx = *state;
	struct answer rev = response(pki.id, V_OCSP_CERTSTATUS_REVOKED, -60, HALF_DAY);
	struct seen s;
	int asked = requests();
	double t0, t1;

	write_found(fx, &rev);
	added_timed(fx, &t0, &t1);
	s = expect_state(fx, RENEW_REVOKED, 0, 1, "revoked");
	assert_within(s.st.renew_at, t0 + SCHED_RETRY_MAX - 1, t1 + SCHED_RETRY_MAX + 1);
	expect_emptied(fx);
	expect_delivered(fx, 2, DELIVER_ALERT, "revoked", NULL, DELIVER_WITHDRAWN, NULL, NULL);
	assert_int_equal(requests(), asked);
	answer_free(&rev);
}

/*
 * A staple on disk that is expired or for another certificate is emptied
 * (servers told, it may be what they loaded), then the responder's good
 * answer is stored and delivered.
 */
static void test_found_unusable(void **state)
{
	struct fx *fx = *state;
	struct answer found[2];

	found[0] = response(pki.id, V_OCSP_CERTSTATUS_GOOD, -2 * 86400L, -86400L);
	found[1] = response(pki.other_id, V_OCSP_CERTSTATUS_GOOD, -60, HALF_DAY);
	for (int k = 0; k < 2; k++) {
		struct answer g = good(-60, HALF_DAY);
		int asked = requests();

		if (k > 0) {	/* a fresh start for each */
			stop_renew(fx);
			start_renew(fx);
		}
		write_found(fx, &found[k]);
		serve(&g);
		file_event(fx, WATCH_ADDED);
		settle(fx);
		expect_state(fx, RENEW_STAPLED, 1, 0, NULL);
		assert_true(requests() > asked);
		expect_file(fx, &g);
		expect_delivered(fx, 2, DELIVER_WITHDRAWN, NULL, NULL, DELIVER_STAPLE, NULL, &g);
		expect_indexed(fx, &g);
		answer_free(&found[k]);
		answer_free(&g);
	}
}

/*
 * Parse outcomes: no OCSP URL (nothing fetched, nothing planned: it waits
 * for the file to change), not a certificate (failing, the reason names the
 * file); a change to a good bundle starts over and staples it.
 */
static void test_parse_outcomes(void **state)
{
	struct fx *fx = *state;
	struct answer g = good(-60, HALF_DAY);
	struct seen s;
	int asked = requests();
	FILE *f;

	write_bundle(fx->path, pki.nourl);
	file_event(fx, WATCH_ADDED);
	settle(fx);
	s = expect_state(fx, RENEW_NO_URL, 0, 1, NULL);
	assert_true(s.st.renew_at == 0);
	assert_int_equal(renew_state_severity(s.st.state, s.st.has_staple), RENEW_SEV_OK);
	assert_int_equal(requests(), asked);
	expect_no_file(fx);
	expect_delivered(fx, 0);

	assert_non_null(f = fopen(fx->path, "w"));
	fputs("not a certificate\n", f);
	fclose(f);
	file_event(fx, WATCH_CHANGED);
	settle(fx);
	s = expect_state(fx, RENEW_FAILING, 0, 1, "no certificate found");
	assert_true(s.st.renew_at == 0);
	assert_int_equal(requests(), asked);

	write_bundle(fx->path, pki.leaf);
	serve(&g);
	file_event(fx, WATCH_CHANGED);
	settle(fx);
	expect_state(fx, RENEW_STAPLED, 1, 0, NULL);
	expect_file(fx, &g);
	expect_delivered(fx, 1, DELIVER_STAPLE, NULL, &g);
	answer_free(&g);
}

/*
 * Events while a job is out: a file removed before its parse lands is
 * forgotten (nothing counted, fetched, written or delivered); one changed
 * before its parse lands is parsed again, then stapled once.
 */
static void test_events_in_flight(void **state)
{
	struct fx *fx = *state;
	struct answer g = good(-60, HALF_DAY);
	struct seen s;
	int n[RENEW_NSTATES], asked = requests();

	write_bundle(fx->path, pki.leaf);
	serve(&g);
	file_event(fx, WATCH_ADDED);
	file_event(fx, WATCH_REMOVED);
	settle(fx);
	s = look(fx);
	assert_int_equal(s.n, 0);
	renew_counts(fx->renew, n);
	for (int i = 0; i < RENEW_NSTATES; i++)
		assert_int_equal(n[i], 0);
	assert_int_equal(renew_undecided(fx->renew), 0);
	assert_int_equal(requests(), asked);
	expect_no_file(fx);
	expect_delivered(fx, 0);

	file_event(fx, WATCH_ADDED);
	file_event(fx, WATCH_CHANGED);
	settle(fx);
	expect_state(fx, RENEW_STAPLED, 1, 0, NULL);
	expect_file(fx, &g);
	expect_delivered(fx, 1, DELIVER_STAPLE, NULL, &g);
	answer_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_then_recycled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_answers_back_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked_withdraws, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_earlier, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_until_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_found_revoked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_found_unusable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_outcomes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_in_flight, setup, teardown),
	};

	/* Quiet unless something fails: errors only, on stderr. */
	if (log_setup(LOG_LVL_ERR, 0, NULL, NULL, NULL) == -1)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
