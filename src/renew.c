/* renew — see renew.h. */
#include "renew.h"
#include "renew-t.h"
#include "bundle.h"
#include "conf.h"
#include "deliver.h"
#include "fetch.h"
#include "fleet.h"
#include "log.h"
#include "metrics.h"
#include "ocsp.h"
#include "sched.h"
#include "source-disk.h"
#include "source-http.h"
#include "staples.h"
#include "store.h"
#include "work.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>
#include <openssl/sha.h>

double renew_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double rnd(void)
{
	return (double)random() / ((double)RAND_MAX + 1.0);
}

/* The table's copy of s, one more user counted (release with unintern); NULL when out of memory. */
static const char *intern(struct renew *r, const char *s)
{
	struct istr *i;

	HASH_FIND_STR(r->strs, s, i);
	if (i == NULL) {
		if ((i = calloc(1, sizeof(*i))) == NULL || (i->s = strdup(s)) == NULL) {
			free(i);
			return NULL;
		}
		HASH_ADD_KEYPTR(hh, r->strs, i->s, strlen(i->s), i);
	}
	i->refs++;
	return i->s;
}

/* One user fewer of interned s; the last one frees it (certificates come and go for months). */
static void unintern(struct renew *r, const char *s)
{
	struct istr *i;

	HASH_FIND_STR(r->strs, s, i);
	if (i != NULL && --i->refs == 0) {
		HASH_DEL(r->strs, i);
		free(i->s);
		free(i);
	}
}

/*
 * The table's entry for issuer x (x itself is not kept, it gains a
 * reference), one more user counted; NULL when out of memory.
 */
static struct issuer *issuer_ref(struct renew *r, X509 *x)
{
	struct issuer *i;
	unsigned char fp[32];
	unsigned int n;

	if (!X509_digest(x, EVP_sha256(), fp, &n))
		return NULL;
	HASH_FIND(hh, r->issuers, fp, sizeof(fp), i);
	if (i == NULL) {
		if ((i = calloc(1, sizeof(*i))) == NULL)
			return NULL;
		memcpy(i->fp, fp, sizeof(fp));
		X509_up_ref(x);
		i->x = x;
		HASH_ADD(hh, r->issuers, fp, sizeof(i->fp), i);
	}
	i->refs++;
	return i;
}

/* One user fewer of issuer i (may be NULL); the last one frees it. */
static void issuer_unref(struct renew *r, struct issuer *i)
{
	if (i != NULL && --i->refs == 0) {
		HASH_DEL(r->issuers, i);
		X509_free(i->x);
		free(i);
	}
}

/*
 * The references a newly parsed bundle b needs (its issuer, its URLs) into
 * *iss and urls (BUNDLE_MAX_URLS entries). 0, or -1 when out of memory,
 * with none taken.
 */
static int refs_take(struct renew *r, const struct bundle *b, struct issuer **iss,
    const char **urls)
{
	int i;

	if ((*iss = issuer_ref(r, b->issuer)) == NULL)
		return -1;
	for (i = 0; i < b->n_urls; i++)
		if ((urls[i] = intern(r, b->urls[i])) == NULL)
			break;
	if (i == b->n_urls)
		return 0;
	while (i-- > 0)
		unintern(r, urls[i]);
	issuer_unref(r, *iss);
	*iss = NULL;
	return -1;
}

/* c lets go of its responder URLs and issuer (never while a job borrows them). */
static void cert_unref(struct cert *c)
{
	for (int i = 0; i < c->n_urls; i++)
		unintern(c->r, c->urls[i]);
	c->n_urls = 0;
	issuer_unref(c->r, c->iss);
	c->iss = NULL;
	c->issuer = NULL;
}

/* ---------------------------------------------------------------- lifecycle */

static void set_state(struct cert *c, enum cert_state st)
{
	if (c->state == CERT_IDLE && st != CERT_IDLE)
		c->r->busy++;
	else if (c->state != CERT_IDLE && st == CERT_IDLE)
		c->r->busy--;
	c->state = st;
}

/* Tells the observer that some certificate's standing may have changed. */
static void changed(struct renew *r)
{
	if (r->changed != NULL)
		r->changed(r->changed_arg);
}

/* outcome: 1 stapled, -1 failed, 0 first attempt not ended (counted in undecided). */
static void set_outcome(struct cert *c, int outcome)
{
	if (c->outcome == 0 && outcome != 0)
		c->r->undecided--;
	else if (c->outcome != 0 && outcome == 0)
		c->r->undecided++;
	c->outcome = outcome;
	changed(c->r);
}

/* c's CertID joins the index (a lost entry only hides c from lookups). */
static void index_add(struct cert *c)
{
	unsigned char key[STAPLES_KEY_MAX];
	size_t klen = c->id != NULL ? staples_key(c->id, key) : 0;

	if (klen > 0 && staples_add(c->r->staples, key, klen, c) == -1)
		log_warn("%s: out of memory; its staple cannot be looked up by CertID", c->path);
}

/* c's CertID leaves the index (before c->id is freed or replaced). */
static void index_drop(struct cert *c)
{
	unsigned char key[STAPLES_KEY_MAX];
	size_t klen = c->id != NULL ? staples_key(c->id, key) : 0;

	if (klen > 0)
		staples_remove(c->r->staples, key, klen, c);
}

/* A staples_get_fn: what c holds, as recorded. */
static int cert_staple(const void *holder, struct staple *out)
{
	const struct cert *c = holder;

	if (!c->has_staple)
		return 0;
	out->der = c->staple;
	out->len = c->staple_len;
	out->this_update = c->this_update;
	out->next_update = c->next_update;
	return 1;
}

static void fleet_forget(struct cert *c);
/* A staples_get_fn: the verified revoked answer c keeps for the local responder. */
static int cert_revocation(const void *holder, struct staple *out)
{
	const struct cert *c = holder;

	if (c->revocation.der == NULL)
		return 0;
	*out = c->revocation;
	return 1;
}

/* c is no longer known to be revoked (a good answer, a new certificate). */
static void forget_revocation(struct cert *c)
{
	free((unsigned char *)c->revocation.der);
	memset(&c->revocation, 0, sizeof(c->revocation));
}

static void cert_free(struct cert *c)
{
	if (c == NULL)
		return;
	index_drop(c);
	cert_unref(c);
	ev_timer_stop(c->r->loop, &c->timer);
	fleet_forget(c);
	ev_periodic_stop(c->r->loop, &c->expiry);
	if (c->state != CERT_IDLE)
		c->r->busy--;
	free(c->subject);
	free(c->serial);
	OCSP_CERTID_free(c->id);
	free(c->req);
	free(c->nonce_req);
	free(c->staple);
	forget_revocation(c);
	free(c->last_err);
	free(c->path);
	c->magic = 0;
	free(c);
}

static void start_parse(struct cert *c);
static void parse_done(void *arg);
static void revoked(struct cert *c, struct job *j, const char *who);
static void parse_run(void *arg);
static void parse_pump(struct renew *r);
static void start_fetch(struct cert *c);
static void ask_from(struct cert *c, int i, const char *why);
static void on_timer(struct ev_loop *loop, ev_timer *t, int revents);
static void fleet_after(struct cert *c, int stored);
static void on_fleet_wait(struct ev_loop *loop, ev_timer *t, int revents);

/*
 * Called when async work for c lands. Returns 1 if the result is to be used;
 * 0 if c was removed (and is now freed) or changed (and is being re-parsed).
 */
static int wanted_else_freed_or_reparsed(struct cert *c)
{
	/* A broken invariant, not a resource: a job outlived its certificate (a bug). */
	if (c->magic != CERT_MAGIC)
		abort();
	if (c->removed) {
		struct cert **pp = &c->r->removed;

		while (*pp != NULL && *pp != c)
			pp = &(*pp)->next_removed;
		if (*pp == c)
			*pp = c->next_removed;
		cert_free(c);
		return 0;
	}
	if (c->reparse) {
		c->reparse = 0;
		set_state(c, CERT_IDLE);
		start_parse(c);
		return 0;
	}
	return 1;
}

static void schedule(struct cert *c, double at)
{
	double delay = at - renew_now();
	char when[32];

	if (delay < 0)
		delay = 0;
	ev_timer_stop(c->r->loop, &c->timer);
	ev_timer_set(&c->timer, delay, 0.);
	ev_timer_start(c->r->loop, &c->timer);
	ocsp_fmt_time(at, when, sizeof(when));
	log_debug("%s: next attempt at %s", c->path, when);
}

/* Clears the error history after success, saying how often the last one repeated. */
static void errors_cleared(struct cert *c)
{
	if (c->err_repeats > 1)
		log_info("%s: recovered (the last error repeated %d times)", c->path, c->err_repeats);
	free(c->last_err);
	c->last_err = NULL;
	c->err_repeats = 0;
	c->failures = 0;
	c->expiry_alerted = 0;
}

/* nextUpdate, or for a response without one, thisUpdate + default-validity. */
static double valid_until(const struct renew *r, const struct ocsp_result *res)
{
	return res->next_update != 0 ? res->next_update : res->this_update + r->c->default_validity;
}

/*
 * When to ask again for c's current staple (see sched_renew_at): the
 * midpoint rules, the responder's HTTP freshness and maximum-interval.
 */
static double renew_time(const struct cert *c, double now, double fresh_until)
{
	const struct conf *cf = c->r->c;

	return sched_renew_at(now, c->this_update, c->next_update, cf->minimum_validity,
	    cf->maximum_interval, fresh_until, rnd());
}

static int staple_valid(const struct cert *c, double now)
{
	return c->staple_len > 0 && (c->next_update == 0 || c->next_update > now);
}

/*
 * Records where c stands: the one place that sets c->standing and
 * c->has_staple, called at each transition of the cycle. Every reader
 * (report.c: SIGUSR1, /status, /metrics, systemd STATUS=, ocspd status, the
 * end of a --one-off pass) reads what is recorded here and derives nothing.
 */
static void record(struct cert *c, enum renew_state st)
{
	struct renew *r = c->r;
	int has = staple_valid(c, renew_now());

	if (!c->removed) {	/* a removed certificate is no longer counted */
		r->n_standing[c->standing]--;
		r->n_standing[st]++;
		r->n_has_staple += has - c->has_staple;
	}
	c->standing = st;
	c->has_staple = has;
	changed(r);
}

/* c leaves the table: its standing no longer counts. */
static void uncount(struct cert *c)
{
	c->r->n_standing[c->standing]--;
	c->r->n_has_staple -= c->has_staple;
}

static void on_withdrawn(void *arg, const char *certpath, const char *err)
{
	(void)arg;
	if (err != NULL)
		log_err("%s: cannot empty the staple (%s)", certpath, err);
}

/* Removes the staple from memory and empties <cert>.ocsp (DESIGN.md section 6). */
static void withdraw(struct cert *c)
{
	ev_periodic_stop(c->r->loop, &c->expiry);
	free(c->staple);
	c->staple = NULL;
	c->staple_len = 0;
	c->this_update = c->next_update = 0;
	c->expiry_alerted = 0;
	c->pushed = 0;
	store_put(c->r->store, c->path, NULL, 0, on_withdrawn, NULL);
	/* Issue 15: the servers drop it too, once per withdrawal (a revoked retry repeats none). */
	if (!c->withdrawn && c->r->deliver != NULL)
		deliver_withdrawn(c->r->deliver, c->path, c->have_ident ? &c->ident : NULL);
	c->withdrawn = 1;
	/* An expired staple: stapled no more; what comes next (retry, revoked) records itself. */
	record(c, c->standing == RENEW_STAPLED ? RENEW_PENDING : c->standing);
}

/*
 * c's staple has passed its nextUpdate: the error line, the "expired"
 * alert, withdrawn (DESIGN.md: never an expired staple served). Returns 1
 * when it did so, 0 when c holds no expired staple.
 */
static int expire_if_due(struct cert *c, double now)
{
	const char *why = c->last_err != NULL ? c->last_err :
	    c->state != CERT_IDLE ? "no answer yet from the renewal in progress" : "";

	if (c->staple_len == 0 || c->next_update == 0 || c->next_update > now)
		return 0;
	log_err("%s: staple expired with no fresh response; emptied so that no server staples it%s",
	    c->path, c->state != CERT_IDLE ? " (a renewal is still in progress)" : "");
	if (c->r->deliver != NULL)
		deliver_alert(c->r->deliver, "expired", c->path, why);
	withdraw(c);
	return 1;
}

/*
 * c->expiry: the staple's nextUpdate has come. It fires whatever the cycle
 * is doing (a responder that hangs up to --timeout, then the retries, would
 * otherwise leave the expired staple served until the attempt ends), except
 * while a fresh staple is being stored: that one replaces it on disk, or
 * the failed store (attempt_failed) withdraws it; an empty file written now
 * would land after the fresh one.
 */
static void on_expiry(struct ev_loop *loop, ev_periodic *w, int revents)
{
	struct cert *c = w->data;

	(void)revents;
	if (c->state == CERT_STORING)
		return;
	if (!expire_if_due(c, renew_now()) && staple_valid(c, renew_now()))
		ev_periodic_start(loop, w);	/* woken early: wait on (at is still next_update) */
}

/*
 * An attempt failed for reason: log it (once per run of identical errors),
 * keep a valid staple (an expired one is withdrawn now, not at the retry),
 * and schedule a retry with backoff (not in --one-off).
 */
static void attempt_failed(struct cert *c, const char *reason)
{
	struct renew *r = c->r;
	double now = renew_now(), at;
	int same = c->last_err != NULL && strcmp(c->last_err, reason) == 0;
	int kept;

	fleet_after(c, 0);
	c->failures++;
	set_state(c, CERT_IDLE);
	expire_if_due(c, now);
	kept = staple_valid(c, now);	/* the current staple stays in service */
	if (same) {
		c->err_repeats++;
	} else {
		if (c->err_repeats > 1)
			log_info("%s: the previous error repeated %d times", c->path, c->err_repeats);
		free(c->last_err);
		/* Out of memory: the failure still counts and is retried; only its reason goes unshown. */
		c->last_err = strdup(reason);
		c->err_repeats = 1;
	}
	set_outcome(c, kept ? 1 : -1);
	record(c, c->revoked ? RENEW_REVOKED : RENEW_FAILING);
	if (r->c->one_off) {
		if (kept)
			log_warn("%s: renewal failed (%s); keeping the current staple", c->path, reason);
		else
			log_err("%s: no staple (%s)", c->path, reason);
		return;
	}
	at = now + (c->revoked ? SCHED_RETRY_MAX : sched_retry_delay(c->failures, rnd()));
	if (kept && c->next_update != 0 && c->next_update < at)
		at = c->next_update;	/* wake up to withdraw it when it expires */
	if (kept) {
		char until[32];
		double alert_at = c->next_update - r->c->alert_before;

		ocsp_fmt_time(c->next_update, until, sizeof(until));
		if (!c->expiry_alerted && c->next_update != 0 && alert_at <= now) {
			log_err("%s: staple expires at %s and renewal keeps failing (%s)", c->path, until, reason);
			if (r->deliver != NULL)
				deliver_alert(r->deliver, "expiring", c->path, until);
			c->expiry_alerted = 1;
		} else if (!c->expiry_alerted && c->next_update != 0 && alert_at < at) {
			at = alert_at;	/* wake up in time to give the alert */
		}
		log_msg(same ? LOG_LVL_DEBUG : LOG_LVL_WARN,
		    "%s: renewal failed (%s); keeping the current staple (good until %s); retry in %.0fs",
		    c->path, reason, until, at - now);
	} else {
		log_msg(same ? LOG_LVL_DEBUG : LOG_LVL_WARN, "%s: no staple (%s); retry in %.0fs",
		    c->path, reason, at - now);
	}
	schedule(c, at);
}

/* ---------------------------------------------------------------- parse */

/* A job for c, linked into r->jobs until job_free. NULL when out of memory. */
static struct job *job_new(struct cert *c)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->r = c->r;
	j->c = c;
	j->next = j->r->jobs;
	if (j->next != NULL)
		j->next->prev = j;
	j->r->jobs = j;
	return j;
}

static void job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		j->r->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	free(j->path);
	X509_STORE_free(j->trust);
	bundle_free(j->b);
	OCSP_CERTID_free(j->id);
	free(j->req);
	free(j->disk);
	free(j->err);
	free(j->verr);
	free(j->subject);
	free(j->serial);
	free(j);
}

/* A subject in RFC 2253 form (malloc'd), or NULL. */
static char *name_text(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL, *data;
	long n;

	if (b != NULL && X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_get_mem_data(b, &data)) >= 0)
		s = strndup(data, n);
	BIO_free(b);
	return s;
}

/* A serial number in hex (malloc'd), or NULL. */
static char *serial_text(const ASN1_INTEGER *serial)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL, *s = hex != NULL ? strdup(hex) : NULL;

	OPENSSL_free(hex);
	BN_free(bn);
	return s;
}

/* Worker: read and check the bundle, build the request, look at the staple on disk. */
static void parse_run(void *arg)
{
	struct job *j = arg;
	char *serr = NULL, *oerr = NULL;
	struct stat st;
	int rc;

	/* Before the read: a change after it makes the watcher parse again anyway. */
	if (stat(j->path, &st) == 0) {
		j->ident.dev = st.st_dev;
		j->ident.ino = st.st_ino;
		j->ident.size = st.st_size;
		j->ident.mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		j->have_ident = 1;
	}
	if ((rc = bundle_load(j->path, &j->b, &j->err)) != 0) {
		j->no_url = rc == BUNDLE_NO_URL;
		return;
	}
	j->subject = name_text(X509_get_subject_name(j->b->leaf));
	j->serial = serial_text(X509_get0_serialNumber(j->b->leaf));
	if (bundle_verify_chain(j->b, j->trust, &j->err) == -1)
		return;
	if (ocsp_request(j->b->leaf, j->b->issuer, &j->id, &j->req, &j->req_len, &oerr) == -1) {
		err_set(&j->err, "cannot build the OCSP request (%s)", oerr != NULL ? oerr : "out of memory");
		free(oerr);
		return;
	}
	/*
	 * The first source (source-disk.c), read and verified here, off the loop
	 * thread. One that cannot be read (a symlink planted as the staple) is
	 * named, then replaced.
	 */
	if (source_disk_read(j->path, &j->disk, &j->disk_len, &serr) == -1) {
		log_warn("%s; a fetched staple will replace it", serr);
		free(serr);
	}
	if (j->disk_len == 0)
		return;
	j->verified = ocsp_verify(j->disk, j->disk_len, j->id, j->b->issuer, NULL, 0, j->now,
	    &j->res, &j->verr) == 0;
}

static void parse_done(void *arg)
{
	struct job *j = arg;
	struct cert *c = j->c;
	struct renew *r = j->r;
	double now = renew_now();
	struct issuer *iss = NULL;
	const char *urls[BUNDLE_MAX_URLS];

	r->parsing--;
	if (!wanted_else_freed_or_reparsed(c))
		goto out;
	free(c->subject);
	free(c->serial);
	c->subject = j->subject;
	c->serial = j->serial;
	j->subject = j->serial = NULL;
	c->no_url = j->no_url;
	/*
	 * Failed, with the reason in j->err (NULL only when even that found no
	 * memory), or the new certificate's references cannot be taken.
	 */
	if (j->err != NULL || j->id == NULL || refs_take(r, j->b, &iss, urls) == -1) {
		const char *why = j->err != NULL ? j->err : "out of memory";

		set_state(c, CERT_IDLE);
		if (c->last_err == NULL || strcmp(c->last_err, why) != 0)
			log_err("%s: %s", c->path, why);
		free(c->last_err);
		c->last_err = j->err;
		j->err = NULL;
		set_outcome(c, -1);
		record(c, c->revoked ? RENEW_REVOKED : c->no_url ? RENEW_NO_URL : RENEW_FAILING);
		/* Forget the old certificate: nothing is fetched for it again. */
		index_drop(c);
		OCSP_CERTID_free(c->id);
		free(c->req);
		c->id = NULL;
		c->req = NULL;
		cert_unref(c);
		/*
		 * Wait for the file to change. A staple of the certificate that was
		 * there stays until it expires (the server may still hold that
		 * certificate), then the timer empties it.
		 */
		if (c->staple_len > 0 && c->next_update > now)
			schedule(c, c->next_update);
		goto out;
	}
	index_drop(c);
	OCSP_CERTID_free(c->id);
	free(c->req);
	c->id = j->id;
	c->req = j->req;
	c->req_len = j->req_len;
	j->id = NULL;
	j->req = NULL;
	index_add(c);
	/* The new certificate's URLs and issuer were taken first: those it shares with the old one stay. */
	cert_unref(c);
	c->iss = iss;
	c->issuer = iss->x;
	c->n_urls = j->b->n_urls;
	memcpy(c->urls, urls, (size_t)c->n_urls * sizeof(urls[0]));
	c->ident = j->ident;
	c->have_ident = j->have_ident;
	c->withdrawn = 0;	/* a new file: a withdrawal refused for the old one is due again */
	c->revoked = 0;		/* a new parse may be a new certificate */
	forget_revocation(c);
	errors_cleared(c);
	c->url_idx = 0;
	ev_periodic_stop(r->loop, &c->expiry);
	free(c->staple);
	c->staple = NULL;
	c->staple_len = 0;
	c->pushed = 0;
	c->this_update = c->next_update = 0;
	set_state(c, CERT_IDLE);
	record(c, RENEW_PENDING);	/* errors and revocation were cleared: a new start */
	/* The sources in order: the staple just read from disk (if any), then the responders. */
	c->found = j->disk_len > 0 ? j : NULL;
	ask_from(c, 0, "no source answered");
	c->found = NULL;
out:
	job_free(j);
	parse_pump(r);
}

/* Hands c's parse job to a worker. */
static void submit_parse(struct cert *c)
{
	struct job *j = job_new(c);

	if (j == NULL || (j->path = strdup(c->path)) == NULL) {
		job_free(j);
		log_err("%s: out of memory", c->path);
		set_state(c, CERT_IDLE);
		return;
	}
	j->trust = c->r->trust;
	X509_STORE_up_ref(j->trust);
	j->now = renew_now();
	c->r->parsing++;
	work_submit(c->r->work, parse_run, parse_done, j);
}

/*
 * Parses c on a worker, or queues it while RENEW_PARSE_MAX parses are out:
 * 10,000 files found at once must not become 10,000 parsed chains waiting in
 * memory for the loop thread.
 */
static void start_parse(struct cert *c)
{
	struct renew *r = c->r;

	ev_timer_stop(r->loop, &c->timer);
	set_state(c, CERT_PARSING);
	if (r->parsing < RENEW_PARSE_MAX) {
		submit_parse(c);
		return;
	}
	c->next_parse = NULL;
	if (r->parse_tail != NULL)
		r->parse_tail->next_parse = c;
	else
		r->parse_head = c;
	r->parse_tail = c;
}

/* After a parse lands: starts queued ones while there is room. */
static void parse_pump(struct renew *r)
{
	struct cert *c;

	while (r->parsing < RENEW_PARSE_MAX && (c = r->parse_head) != NULL) {
		r->parse_head = c->next_parse;
		if (r->parse_head == NULL)
			r->parse_tail = NULL;
		c->reparse = 0;		/* not parsed yet: nothing stale to redo */
		if (wanted_else_freed_or_reparsed(c))
			submit_parse(c);
	}
}

/* ---------------------------------------------------------------- answers */

/* c now holds the verified good staple of j (j->disk, j->res), withdrawn at its expiry. */
static void hold(struct cert *c, struct job *j)
{
	struct ev_loop *loop = c->r->loop;

	free(c->staple);
	c->staple = j->disk;
	c->staple_len = j->disk_len;
	j->disk = NULL;
	c->this_update = j->res.this_update;
	c->next_update = valid_until(c->r, &j->res);
	ev_periodic_stop(loop, &c->expiry);
	ev_periodic_set(&c->expiry, c->next_update, 0., NULL);
	ev_periodic_start(loop, &c->expiry);
}

static void on_stored(void *arg, const char *certpath, const char *err)
{
	struct job *j = arg;
	struct cert *c = j->c;
	struct renew *r = c->r;
	double now = renew_now(), when;
	char next[32], at[32];

	(void)certpath;
	if (!wanted_else_freed_or_reparsed(c))
		goto out;
	if (err != NULL) {
		attempt_failed(c, err);
		goto out;
	}
	hold(c, j);	/* the bytes now on disk */
	if (j->res.next_update == 0)
		log_info("%s: response has no nextUpdate; treating it as valid for %.0fs", c->path,
		    r->c->default_validity);
	c->revoked = 0;
	forget_revocation(c);
	errors_cleared(c);
	set_state(c, CERT_IDLE);
	when = renew_time(c, now, j->fresh_until);
	ocsp_fmt_time(c->next_update, next, sizeof(next));
	ocsp_fmt_time(when, at, sizeof(at));
	log_info("%s: staple stored (good, next update %s, renew at %s)", c->path, next, at);
	fleet_after(c, 1);
	set_outcome(c, 1);	/* the staple is on disk (the pass may end here) */
	record(c, RENEW_STAPLED);
	if (!r->c->one_off)
		schedule(c, when);
	if (r->deliver != NULL)
		deliver_staple(r->deliver, c->path, c->staple, c->staple_len);
	c->pushed = 1;
	c->withdrawn = 0;
out:
	job_free(j);
}

/*
 * The responder sent the very bytes of the staple held (a pre-signed
 * response, served again until the responder signs a new one). The file
 * already holds them: nothing is written, pushed or hooked (a hook that
 * reloads a server would run on every fetch); only the next attempt is
 * planned.
 */
static void same_staple(struct cert *c, double fresh_until)
{
	struct renew *r = c->r;
	double when = renew_time(c, renew_now(), fresh_until);
	char at[32];

	errors_cleared(c);
	set_state(c, CERT_IDLE);
	ocsp_fmt_time(when, at, sizeof(at));
	log_debug("%s: responder sent the staple already held; not rewritten (renew at %s)", c->path, at);
	fleet_after(c, 1);	/* the fleet may have lost it (flushed): share it again */
	set_outcome(c, 1);
	record(c, RENEW_STAPLED);
	if (!r->c->one_off)
		schedule(c, when);
	/* Read from disk but never handed over (--no-recycle): HAProxy gets it, hooks do not run. */
	if (!c->pushed && r->deliver != NULL)
		deliver_recycled(r->deliver, c->path, c->staple, c->staple_len);
	c->pushed = 1;
}

/*
 * A verified answer says c is revoked (who: the responder URL, or the staple
 * found on disk): whichever said it, the same error line (once per change),
 * the same --alert-hook run, the staple withdrawn, and a retry at the longest
 * interval (an authentic revocation is final; only a changed file starts over).
 */
static void revoked(struct cert *c, struct job *j, const char *who)
{
	struct renew *r = c->r;
	const struct ocsp_result *res = &j->res;
	char when[32];

	/* Kept for the local responder (the client decides); never written or pushed. */
	forget_revocation(c);
	c->revocation.der = j->disk;
	c->revocation.len = j->disk_len;
	c->revocation.this_update = res->this_update;
	c->revocation.next_update = valid_until(r, res);
	j->disk = NULL;

	ocsp_fmt_time(res->revoked_at, when, sizeof(when));
	if (!c->revoked) {
		log_err("%s: certificate revoked (at %s, reason %s, says %s); staple withdrawn",
		    c->path, when, res->reason >= 0 ? OCSP_crl_reason_str(res->reason) : "unspecified", who);
		if (r->deliver != NULL)
			deliver_alert(r->deliver, "revoked", c->path, when);
	}
	c->revoked = 1;
	withdraw(c);
	attempt_failed(c, "certificate revoked");
}

/* ---------------------------------------------------------------- sources */

/*
 * The sources a due certificate asks, in this order (see source.h).
 *   ask      1 when an answer is on its way to consider() (or already went
 *            there), 0 when the source has nothing for c now.
 *   refused  an answer of this source was not usable (reason): the source
 *            asks again (another URL) or calls source_done().
 *   who      who answered, for the revocation line.
 *   stored   its answers are the bytes already on disk: held as they are,
 *            never written again.
 *   share    its answers, once stored, are shared with the fleet (fleet mode):
 *            what the responders sent, not what came from disk or Redis.
 */
struct source_ops {
	int (*ask)(struct cert *c);
	void (*refused)(struct cert *c, const char *reason);
	const char *(*who)(const struct cert *c);
	int stored;
	int share;
};

static int disk_ask(struct cert *c);
static void disk_refused(struct cert *c, const char *reason);
static const char *disk_who(const struct cert *c);
static int fleet_ask(struct cert *c);
static void fleet_refused(struct cert *c, const char *reason);
static const char *fleet_who(const struct cert *c);
static int http_ask(struct cert *c);
static void http_refused(struct cert *c, const char *reason);
static const char *http_who(const struct cert *c);

static const struct source_ops sources[] = {
	{ disk_ask, disk_refused, disk_who, 1, 0 },	/* source-disk.c: read by the parse */
	{ fleet_ask, fleet_refused, fleet_who, 0, 0 },	/* fleet.c: Redis, shared by the fleet */
	{ http_ask, http_refused, http_who, 0, 1 },	/* source-http.c: the responders */
};
#define NSOURCES ((int)(sizeof(sources) / sizeof(sources[0])))

/* Asks the sources from the i-th on; when none has anything, the attempt failed (why). */
static void ask_from(struct cert *c, int i, const char *why)
{
	for (; i < NSOURCES; i++) {
		c->src = i;
		if (sources[i].ask(c))
			return;
	}
	attempt_failed(c, why);
}

/* c's current source has nothing more to give (why, if it was the last). */
static void source_done(struct cert *c, const char *why)
{
	ask_from(c, c->src + 1, why);
}

/*
 * Every answer, whichever source gave it, after verification (j->verified,
 * j->res, j->err or j->verr; the bytes in j->disk): a revocation is a
 * revocation; an answer not usable goes back to its source; a good one
 * better than what is held is held (from disk) or stored, then delivered.
 * Returns 1 when j was handed on (to the store), 0 when the caller frees it.
 */
static int consider(struct cert *c, struct job *j)
{
	const struct source_ops *src = &sources[c->src];
	struct renew *r = c->r;
	const char *why = NULL;
	int held = staple_valid(c, j->now);

	if (j->verified && j->res.status == OCSP_ST_REVOKED) {
		revoked(c, j, src->who(c));
		return 0;
	}
	if (!j->verified)
		why = j->verr != NULL ? j->verr : j->err != NULL ? j->err : "response not verified";
	else if (j->res.status != OCSP_ST_GOOD)
		why = "responder says the certificate status is unknown";
	else if (valid_until(r, &j->res) <= j->now)
		why = "response has no nextUpdate and its thisUpdate is older than default-validity";
	else if (held && valid_until(r, &j->res) < c->next_update)
		why = "response expires earlier than the staple we have";	/* never replace by such */
	if (why != NULL) {
		src->refused(c, why);
		return 0;
	}
	if (held && j->disk_len == c->staple_len && memcmp(j->disk, c->staple, c->staple_len) == 0) {
		same_staple(c, j->fresh_until);
		return 0;
	}
	if (src->stored) {
		hold(c, j);
		/* Recycled unless --no-recycle or it is too close to its end: then the next source. */
		if (!r->c->no_recycle && c->next_update - renew_now() > r->c->minimum_validity) {
			double when = renew_time(c, renew_now(), 0);
			char until[32], at[32];

			set_state(c, CERT_IDLE);
			ocsp_fmt_time(c->next_update, until, sizeof(until));
			ocsp_fmt_time(when, at, sizeof(at));
			log_info("%s: staple recycled (good until %s, renew at %s)", c->path, until, at);
			set_outcome(c, 1);
			record(c, RENEW_STAPLED);
			/* A HAProxy that loaded an empty .ocsp gets it now (hooks are not run). */
			if (r->deliver != NULL)
				deliver_recycled(r->deliver, c->path, c->staple, c->staple_len);
			c->pushed = 1;
			c->withdrawn = 0;
			if (!r->c->one_off)
				schedule(c, when);
			return 0;
		}
		record(c, c->standing);		/* holds a staple now */
		source_done(c, "no responder answered");
		return 0;
	}
	set_state(c, CERT_STORING);
	store_put(r->store, c->path, j->disk, j->disk_len, on_stored, j);
	return 1;
}

/* ---------------------------------------------------------------- source: disk */

/* The staple read and verified by the parse job (c->found), only right after the parse. */
static int disk_ask(struct cert *c)
{
	struct job *j = c->found;

	if (j == NULL)
		return 0;
	c->found = NULL;	/* asked once: parse_done frees the job */
	consider(c, j);
	return 1;
}

/* Expired, or for another certificate: never leave it to be served. */
static void disk_refused(struct cert *c, const char *reason)
{
	log_warn("%s: existing staple not usable (%s); emptying it", c->path, reason);
	withdraw(c);
	source_done(c, reason);
}

static const char *disk_who(const struct cert *c)
{
	(void)c;
	return "the staple on disk";
}

/* ---------------------------------------------------------------- source: fleet */

/*
 * Fleet mode (fleet.h), between the disk and the responders. A staple in
 * Redis is verified on a worker like a fetched one and counts as found only
 * when it is newer than the one held and good for longer than
 * minimum-validity; else this node tries the CertID's lease: won, it asks
 * the responders (and shares the answer, fleet_after); lost, it waits for
 * the holder's announcement or the end of its lease and looks again, at
 * most RENEW_FLEET_ROUNDS times before fetching anyway. Redis unavailable
 * at any step: on to the responders, counted. Renewal times already carry
 * per-node random jitter (sched_renew_at), so the first node to wake
 * renews and the others find its staple.
 */

static void verify_run(void *arg);

/* c's key in the fleet (staples_key of its CertID): its length, 0 when it has none. */
static size_t fleet_key(const struct cert *c, unsigned char *key)
{
	return c->r->fleet != NULL && c->id != NULL ? staples_key(c->id, key) : 0;
}

/* Redis cannot answer now (why): the responders it is, counted. */
static void fleet_unavailable(struct cert *c, const char *why)
{
	metrics_redis(METRICS_REDIS_UNAVAILABLE);
	log_debug("%s: fleet: %s; asking the responders", c->path, why);
	source_done(c, why);
}

static void on_fleet_value(void *arg, const unsigned char *val, size_t len, const char *err);
static void fleet_refused(struct cert *c, const char *reason);

/* Reads the fleet's staple of c: 1 when asked, 0 when Redis cannot be asked now. */
static int fleet_look(struct cert *c)
{
	unsigned char key[STAPLES_KEY_MAX];
	size_t klen = fleet_key(c, key);

	if (klen == 0 || fleet_get(c->r->fleet, key, klen, on_fleet_value, c) == -1)
		return 0;
	ev_timer_stop(c->r->loop, &c->timer);
	set_state(c, CERT_FETCHING);
	return 1;
}

static int fleet_ask(struct cert *c)
{
	/* A nonce is this node's own question: only its responder can answer it. */
	if (c->r->fleet == NULL || c->r->c->nonce)
		return 0;
	c->fleet_rounds = 0;
	if (fleet_look(c))
		return 1;
	metrics_redis(METRICS_REDIS_UNAVAILABLE);
	return 0;
}

/* Stops waiting for the fleet (before c is freed, or when the wait ends). */
static void fleet_forget(struct cert *c)
{
	unsigned char key[STAPLES_KEY_MAX];
	size_t klen;

	ev_timer_stop(c->r->loop, &c->fleet_wait);
	if (c->fleet_waiting && (klen = fleet_key(c, key)) > 0)
		fleet_unwatch(c->r->fleet, key, klen, c);
	c->fleet_waiting = 0;
}

/* The holder announced a staple, or its lease ran out, or Redis went: look again. */
static void fleet_wake(struct cert *c)
{
	fleet_forget(c);
	if (!wanted_else_freed_or_reparsed(c))
		return;
	if (!fleet_look(c))
		fleet_unavailable(c, "Redis unavailable");
}

/*
 * The watch is set before the lease is asked for: an announcement that
 * comes while the lease's answer is on its way (the holder finished
 * between our read and our lease) is remembered, not lost.
 */
static void on_fleet_announced(void *arg)
{
	struct cert *c = arg;

	c->fleet_waiting = 0;	/* a watch is called once */
	if (ev_is_active(&c->fleet_wait))
		fleet_wake(c);
	else
		c->fleet_announced = 1;
}

static void on_fleet_wait(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	fleet_wake(t->data);
}

static void on_fleet_lease(void *arg, enum fleet_lease_result res, double wait, const char *err)
{
	struct cert *c = arg;
	struct renew *r = c->r;
	unsigned char key[STAPLES_KEY_MAX];
	size_t klen;

	if (!wanted_else_freed_or_reparsed(c))
		return;
	if (err != NULL) {
		fleet_forget(c);
		fleet_unavailable(c, err);
		return;
	}
	if (res == FLEET_LEASE_CHANGED) {	/* another node shared a staple since it was read */
		if (c->fleet_rounds++ < RENEW_FLEET_ROUNDS) {
			fleet_wake(c);
			return;
		}
		fleet_forget(c);
		source_done(c, "no responder answered");
		return;
	}
	if (res == FLEET_LEASE_WON) {
		fleet_forget(c);
		metrics_redis(METRICS_REDIS_LEASE_WON);
		c->fleet_lease = 1;
		log_debug("%s: fleet: lease taken; asking the responders", c->path);
		source_done(c, "no responder answered");
		return;
	}
	metrics_redis(METRICS_REDIS_LEASE_LOST);
	if (++c->fleet_rounds > RENEW_FLEET_ROUNDS || (klen = fleet_key(c, key)) == 0) {
		fleet_forget(c);
		log_info("%s: fleet: another node still fetching after %d waits; asking the responders",
		    c->path, RENEW_FLEET_ROUNDS);
		source_done(c, "no responder answered");
		return;
	}
	if (c->fleet_announced) {	/* the holder is done already */
		fleet_wake(c);
		return;
	}
	/* Without the announcement (no watch: out of memory), the lease's end wakes it. */
	if (wait <= 0 || wait > r->c->redis_lease)
		wait = r->c->redis_lease;
	log_debug("%s: fleet: another node is fetching; waiting up to %.1fs for its staple", c->path, wait);
	ev_timer_set(&c->fleet_wait, wait + 0.05, 0.);
	ev_timer_start(r->loop, &c->fleet_wait);
}

/* Nothing new in the fleet for c: take the lease to fetch, or wait for whoever has it. */
static void fleet_try_lease(struct cert *c)
{
	unsigned char key[STAPLES_KEY_MAX];
	size_t klen = fleet_key(c, key);

	if (klen == 0) {
		fleet_unavailable(c, "Redis unavailable");
		return;
	}
	c->fleet_announced = 0;
	c->fleet_waiting = fleet_watch(c->r->fleet, key, klen, on_fleet_announced, c) == 0;
	if (fleet_lease(c->r->fleet, key, klen, c->fleet_read, c->r->c->redis_lease, on_fleet_lease, c) == -1) {
		fleet_forget(c);
		fleet_unavailable(c, "Redis unavailable");
	}
}

/*
 * What Redis holds is new to c: newer than the staple held, and good for
 * longer than minimum-validity (else it is the one due for renewal).
 */
static int fleet_news(const struct cert *c, const struct job *j)
{
	double until = valid_until(c->r, &j->res);

	return until - j->now > c->r->c->minimum_validity &&
	    (!staple_valid(c, j->now) || until > c->next_update);
}

/* The fleet's staple, verified on a worker. */
static void fleet_verified(void *arg)
{
	struct job *j = arg;
	struct cert *c = j->c;

	j->disk = (unsigned char *)j->body;	/* job owns the copy from here on */
	j->disk_len = j->body_len;
	j->body = NULL;
	if (!wanted_else_freed_or_reparsed(c))
		goto out;
	if (j->verified && j->res.status == OCSP_ST_GOOD && !fleet_news(c, j)) {
		fleet_try_lease(c);
		goto out;
	}
	if (consider(c, j)) {
		metrics_redis(METRICS_REDIS_STAPLE);
		log_debug("%s: fleet: staple taken from Redis", c->path);
		return;
	}
out:
	job_free(j);
}

/* A fleet_get_fn: the fleet's staple of c (untrusted bytes), verified on a worker. */
static void on_fleet_value(void *arg, const unsigned char *val, size_t len, const char *err)
{
	struct cert *c = arg;
	struct job *j;
	unsigned char *copy;

	if (!wanted_else_freed_or_reparsed(c))
		return;
	if (err != NULL) {
		fleet_unavailable(c, err);
		return;
	}
	if (val == NULL) {
		c->fleet_read[0] = '\0';
		fleet_try_lease(c);
		return;
	}
	if (len > FETCH_MAX_BODY) {	/* the cap of a fetched body: no responder sends more */
		SHA256(val, len, c->fleet_seen);
		fleet_refused(c, "larger than 64 KiB, the most an OCSP response may be");
		return;
	}
	if ((j = job_new(c)) == NULL || (copy = malloc(len)) == NULL) {
		job_free(j);
		fleet_unavailable(c, "out of memory");
		return;
	}
	memcpy(copy, val, len);
	SHA256(copy, len, c->fleet_seen);
	{
		unsigned char sha1[SHA_DIGEST_LENGTH];

		SHA1(copy, len, sha1);
		for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
			snprintf(c->fleet_read + 2 * i, 3, "%02x", sha1[i]);
	}
	j->now = renew_now();
	j->body = copy;
	j->body_len = len;
	j->vid = c->id;
	j->vissuer = c->issuer;
	set_state(c, CERT_VERIFYING);
	work_submit(c->r->work, verify_run, fleet_verified, j);
}

/*
 * Redis held a staple that is not one (wrong signature, another
 * certificate's, expired, revoked-unknown...): logged once per value, never
 * stored or served; this node fetches for itself, and its staple replaces
 * the bad one in Redis.
 */
static void fleet_refused(struct cert *c, const char *reason)
{
	unsigned char key[STAPLES_KEY_MAX];
	size_t klen = fleet_key(c, key);
	char name[256];

	metrics_redis(METRICS_REDIS_REJECTED);
	if (memcmp(c->fleet_seen, c->fleet_bad, sizeof(c->fleet_bad)) != 0) {
		fleet_key_name(c->r->fleet, "staple", key, klen, name, sizeof(name));
		log_warn("%s: redis key %s: value rejected (%s); never stored or served, asking the responders",
		    c->path, name, reason);
		memcpy(c->fleet_bad, c->fleet_seen, sizeof(c->fleet_bad));
	}
	source_done(c, reason);
}

static const char *fleet_who(const struct cert *c)
{
	(void)c;
	return "the fleet's staple in Redis";
}

/*
 * The attempt ended (stored: c holds a staple on disk now): a staple from
 * the responders is shared with the fleet (which releases the lease), else
 * a lease held is given back so that another node need not wait it out.
 */
static void fleet_after(struct cert *c, int stored)
{
	unsigned char key[STAPLES_KEY_MAX];
	size_t klen = fleet_key(c, key);

	if (klen == 0)
		return;
	if (stored && sources[c->src].share && c->staple_len > 0)
		fleet_put(c->r->fleet, key, klen, c->staple, c->staple_len, c->next_update - renew_now());
	else if (c->fleet_lease)
		fleet_release(c->r->fleet, key, klen);
	c->fleet_lease = 0;
}

/* ---------------------------------------------------------------- source: http */

static int http_ask(struct cert *c)
{
	c->url_idx = 0;
	start_fetch(c);
	return 1;
}

static const char *http_who(const struct cert *c)
{
	return c->urls[c->url_idx];
}

/* Tries the next responder URL, or this source is done. */
static void http_refused(struct cert *c, const char *reason)
{
	char all[1024];

	if (c->failures == 0 || log_enabled(LOG_LVL_DEBUG))
		log_msg(c->failures == 0 ? LOG_LVL_WARN : LOG_LVL_DEBUG, "%s: %s: %s",
		    c->path, c->urls[c->url_idx], reason);
	if (++c->url_idx < c->n_urls) {
		set_state(c, CERT_IDLE);
		start_fetch(c);
		return;
	}
	snprintf(all, sizeof(all), "%s%s", reason, c->n_urls > 1 ? " and every other responder failed" : "");
	source_done(c, all);
}

static void verify_run(void *arg)
{
	struct job *j = arg;

	j->verified = ocsp_verify(j->body, j->body_len, j->vid, j->vissuer, j->req, j->req_len,
	    j->now, &j->res, &j->err) == 0;
}

/* A responder's answer, verified on a worker: counted, then considered. */
static void verify_done(void *arg)
{
	struct job *j = arg;
	struct cert *c = j->c;

	j->disk = (unsigned char *)j->body;	/* job owns the body copy from here on */
	j->disk_len = j->body_len;
	j->body = NULL;
	if (!wanted_else_freed_or_reparsed(c))
		goto out;
	/* "Ask again later" is the responder's answer, not a response that failed verification. */
	metrics_fetch(c->urls[c->url_idx], !j->verified ?
	    (j->res.status == OCSP_ST_RETRY ? METRICS_FETCH_TRY_LATER : METRICS_FETCH_INVALID) :
	    j->res.status == OCSP_ST_GOOD ? METRICS_FETCH_GOOD :
	    j->res.status == OCSP_ST_REVOKED ? METRICS_FETCH_REVOKED : METRICS_FETCH_UNKNOWN);
	if (consider(c, j))
		return;
out:
	job_free(j);
}

/* A source_answer_fn: what c's current URL answered; verified on a worker. */
static void on_fetched(void *arg, const struct source_answer *a)
{
	struct cert *c = arg;
	struct job *j;
	unsigned char *copy;

	if (!wanted_else_freed_or_reparsed(c))
		return;
	if (a->err != NULL) {
		metrics_fetch(c->urls[c->url_idx], METRICS_FETCH_ERROR);
		http_refused(c, a->err);
		return;
	}
	if ((j = job_new(c)) == NULL || (copy = malloc(a->len ? a->len : 1)) == NULL) {
		job_free(j);
		http_refused(c, "out of memory");
		return;
	}
	if (a->len > 0)
		memcpy(copy, a->der, a->len);
	j->now = renew_now();
	if (a->fresh_until > 0 && log_enabled(LOG_LVL_DEBUG)) {
		char until[32];

		ocsp_fmt_time(a->fresh_until, until, sizeof(until));
		log_debug("%s: %s: HTTP cache headers say fresh until %s", c->path, c->urls[c->url_idx], until);
	}
	if (c->nonce_req != NULL) {
		if ((j->req = malloc(c->nonce_req_len)) == NULL) {
			free(copy);
			job_free(j);
			http_refused(c, "out of memory");
			return;
		}
		memcpy(j->req, c->nonce_req, c->nonce_req_len);
		j->req_len = c->nonce_req_len;
	}
	j->body = copy;
	j->body_len = a->len;
	j->fresh_until = a->fresh_until;
	j->vid = c->id;
	j->vissuer = c->issuer;
	set_state(c, CERT_VERIFYING);
	work_submit(c->r->work, verify_run, verify_done, j);
}

/*
 * Asks c's current URL (a request already in flight for the same CertID is
 * joined: the same certificate in several files is fetched once).
 */
static void start_fetch(struct cert *c)
{
	struct renew *r = c->r;
	const char *url = c->urls[c->url_idx];
	const unsigned char *req = c->req;
	size_t req_len = c->req_len;
	char *err = NULL;
	int rc;

	ev_timer_stop(r->loop, &c->timer);
	set_state(c, CERT_FETCHING);
	if (r->c->nonce) {
		/* A fresh nonce per attempt: such requests are never shared. */
		free(c->nonce_req);
		c->nonce_req = NULL;
		if (ocsp_request_nonce(c->id, &c->nonce_req, &c->nonce_req_len, &err) == -1) {
			http_refused(c, err != NULL ? err : "out of memory");
			free(err);
			return;
		}
		req = c->nonce_req;
		req_len = c->nonce_req_len;
	}
	if ((rc = source_http_ask(r->http, url, req, req_len, on_fetched, c, &err)) == -1) {
		http_refused(c, err != NULL ? err : "out of memory");
		free(err);
		return;
	}
	log_debug(rc == 0 ? "%s: asking %s" : "%s: joining a request to %s already in flight", c->path, url);
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct cert *c = t->data;
	double now = renew_now();

	(void)loop;
	(void)revents;
	if (c->state != CERT_IDLE)
		return;
	expire_if_due(c, now);	/* c->expiry may not have run yet */
	if (c->id == NULL) {
		start_parse(c);
		return;
	}
	ask_from(c, 0, "no source answered");
}

/* ---------------------------------------------------------------- interface */

void renew_file_event(void *arg, const char *path, enum watch_event ev)
{
	struct renew *r = arg;
	struct cert *c;

	HASH_FIND_STR(r->certs, path, c);
	if (ev == WATCH_REMOVED) {
		if (c == NULL)
			return;
		log_info("%s: certificate gone; forgotten", path);
		HASH_DEL(r->certs, c);
		uncount(c);
		index_drop(c);	/* gone: no longer an answer for its CertID */
		ev_periodic_stop(r->loop, &c->expiry);	/* gone: its .ocsp is no longer ours to empty */
		set_outcome(c, -1);	/* no longer part of the pass */
		if (c->state == CERT_IDLE)
			cert_free(c);
		else {
			c->removed = 1;
			c->next_removed = r->removed;
			r->removed = c;
		}
		return;
	}
	if (c == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) == NULL) {
			free(c);
			log_err("%s: out of memory", path);
			return;
		}
		c->magic = CERT_MAGIC;
		c->r = r;
		r->undecided++;		/* outcome 0 */
		c->standing = RENEW_PENDING;
		r->n_standing[RENEW_PENDING]++;
		ev_timer_init(&c->timer, on_timer, 0., 0.);
		c->timer.data = c;
		ev_timer_init(&c->fleet_wait, on_fleet_wait, 0., 0.);
		c->fleet_wait.data = c;
		ev_periodic_init(&c->expiry, on_expiry, 0., 0., NULL);
		c->expiry.data = c;
		HASH_ADD_KEYPTR(hh, r->certs, c->path, strlen(c->path), c);
		log_debug("%s: new certificate", path);
	} else {
		log_info("%s: certificate changed; checking it again", path);
	}
	if (c->state != CERT_IDLE) {
		c->reparse = 1;
		return;
	}
	set_outcome(c, 0);
	record(c, RENEW_PENDING);
	start_parse(c);
}

void renew_foreach(void *arg, deliver_each_fn *fn, void *fnarg)
{
	struct renew *r = arg;
	struct cert *c, *tmp;

	HASH_ITER(hh, r->certs, c, tmp)
		if (c->staple_len > 0)
			fn(fnarg, c->path, c->staple, c->staple_len);
}

struct renew *renew_new(struct ev_loop *loop, const struct conf *c, X509_STORE *trust,
    struct fetch *f, struct store *s, struct work *w)
{
	struct renew *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->staples = staples_new(cert_staple)) == NULL ||
	    (r->http = source_http_new(f)) == NULL) {
		if (r != NULL)
			staples_free(r->staples);
		free(r);
		return NULL;
	}
	r->loop = loop;
	r->c = c;
	r->trust = trust;
	r->fetch = f;
	r->store = s;
	r->work = w;
	srandom((unsigned)(time(NULL) ^ getpid()));
	return r;
}

void renew_set_deliver(struct renew *r, struct deliver *d)
{
	r->deliver = d;
}

void renew_set_fleet(struct renew *r, struct fleet *f)
{
	r->fleet = f;
}

void renew_reconfigure(struct renew *r, const struct conf *c, X509_STORE *trust)
{
	r->c = c;
	r->trust = trust;
}

void renew_free(struct renew *r)
{
	struct cert *c, *ctmp;
	struct istr *i, *itmp;
	struct issuer *is, *istmp;

	if (r == NULL)
		return;
	/* In-flight work has been abandoned by the caller (fetch_free, work_free) first. */
	HASH_ITER(hh, r->certs, c, ctmp) {
		HASH_DEL(r->certs, c);
		cert_free(c);
	}
	while (r->jobs != NULL) {
		free((void *)r->jobs->body);	/* a verify job's response, not yet verified */
		r->jobs->body = NULL;
		job_free(r->jobs);
	}
	while ((c = r->removed) != NULL) {
		r->removed = c->next_removed;
		cert_free(c);
	}
	HASH_ITER(hh, r->strs, i, itmp) {
		HASH_DEL(r->strs, i);
		free(i->s);
		free(i);
	}
	HASH_ITER(hh, r->issuers, is, istmp) {
		HASH_DEL(r->issuers, is);
		X509_free(is->x);
		free(is);
	}
	source_http_free(r->http);
	staples_free(r->staples);
	free(r);
}

void renew_set_observer(struct renew *r, renew_changed_fn *fn, void *arg)
{
	r->changed = fn;
	r->changed_arg = arg;
}

int renew_staple_by_certid(const struct renew *r, const OCSP_CERTID *id, struct staple *out)
{
	unsigned char key[STAPLES_KEY_MAX];
	size_t klen = staples_key(id, key);

	return klen > 0 ? staples_lookup(r->staples, key, klen, out) : -1;
}

enum renew_answer renew_answer_by_certid(const struct renew *r, const OCSP_CERTID *id,
    double now, struct staple *out)
{
	unsigned char key[STAPLES_KEY_MAX];
	size_t klen = staples_key(id, key);

	if (klen == 0 || !staples_has(r->staples, key, klen))
		return RENEW_ANSWER_UNKNOWN;
	/* A revocation first: the truth is never hidden behind an older good staple. */
	if (staples_lookup_by(r->staples, key, klen, cert_revocation, out) == 0 && out->next_update > now)
		return RENEW_ANSWER_REVOKED;
	if (staples_lookup(r->staples, key, klen, out) == 0 && out->next_update > now)
		return RENEW_ANSWER_GOOD;
	return RENEW_ANSWER_NONE;
}

/* 1 when hash is md of the bytes data[0..n). */
static int hash_is(const ASN1_OCTET_STRING *hash, const EVP_MD *md, const unsigned char *data, size_t n)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	return EVP_Digest(data, n, d, &dlen, md, NULL) && (int)dlen == ASN1_STRING_length(hash) &&
	    memcmp(d, ASN1_STRING_get0_data(hash), dlen) == 0;
}

int renew_certid_ours(const struct renew *r, const OCSP_CERTID *id, OCSP_CERTID **sha1,
    X509 **issuer, const char **url)
{
	ASN1_OCTET_STRING *name_hash = NULL, *key_hash = NULL;
	ASN1_OBJECT *alg = NULL;
	ASN1_INTEGER *serial = NULL;
	const EVP_MD *md;
	struct issuer *i, *tmp;

	*sha1 = NULL;
	if (!OCSP_id_get0_info(&name_hash, &alg, &key_hash, &serial, (OCSP_CERTID *)id) ||
	    name_hash == NULL || key_hash == NULL || alg == NULL || serial == NULL ||
	    (md = EVP_get_digestbyobj(alg)) == NULL)
		return -1;
	/* A few issuers serve thousands of certificates: trying each is cheap. */
	HASH_ITER(hh, r->issuers, i, tmp) {
		const ASN1_BIT_STRING *key = X509_get0_pubkey_bitstr(i->x);
		unsigned char *name = NULL;
		int nlen = i2d_X509_NAME(X509_get_subject_name(i->x), &name), match;
		unsigned char k[STAPLES_KEY_MAX];
		size_t klen;
		const struct cert *c;

		match = nlen > 0 && key != NULL && hash_is(name_hash, md, name, (size_t)nlen) &&
		    hash_is(key_hash, md, ASN1_STRING_get0_data(key), (size_t)ASN1_STRING_length(key));
		OPENSSL_free(name);
		if (!match)
			continue;
		if ((*sha1 = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(i->x), key, serial)) == NULL)
			return -1;
		klen = staples_key(*sha1, k);
		if ((c = staples_holder(r->staples, k, klen)) == NULL || c->n_urls == 0)
			break;
		*issuer = i->x;
		*url = c->urls[0];
		return 0;
	}
	OCSP_CERTID_free(*sha1);
	*sha1 = NULL;
	return -1;
}

int renew_ask(struct renew *r, const char *url, const unsigned char *req, size_t len,
    source_answer_fn *fn, void *waiter, char **err)
{
	return source_http_ask(r->http, url, req, len, fn, waiter, err);
}
