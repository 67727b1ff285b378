/* metrics — see metrics.h. */
#include "metrics.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/* Answers of one responder, by result. */
struct responder_count {
	char *url;				/* owned; the hash key */
	unsigned long n[METRICS_FETCH_NRESULTS]; /* attempts by result */
	UT_hash_handle hh;			/* by url */
};

/* A latency histogram: bucket counts non-cumulative, summed when written. */
struct histogram {
	const double *bounds;			/* le="..." bounds, ascending; +Inf implied */
	size_t n;				/* entries in bounds and buckets */
	unsigned long buckets[16];		/* observations per bucket */
	unsigned long count;			/* observations */
	double sum;				/* their seconds */
};

static const double fetch_bounds[] = METRICS_LATENCY_BUCKETS;
static const double answer_bounds[] = METRICS_ANSWER_BUCKETS;
#define NBOUNDS(a) (sizeof(a) / sizeof((a)[0]))

static struct responder_count *responders;	/* by URL */
static struct histogram fetch_latency = { fetch_bounds, NBOUNDS(fetch_bounds), { 0 }, 0, 0 };
static struct histogram answer_latency = { answer_bounds, NBOUNDS(answer_bounds), { 0 }, 0, 0 };
static unsigned long answers[METRICS_ANSWER_NRESULTS]; /* local responder answers by result */
static unsigned long pushes[METRICS_PUSH_NRESULTS]; /* HAProxy pushes by result */
static double pass_ok_at;			/* last pass with all stapled, 0 = none */
static unsigned long redis_events[METRICS_REDIS_NEVENTS]; /* fleet mode, by event */
static char *redis_state;			/* fleet connection state, NULL = no --redis */
static char *redis_url;				/* its URL, password hidden */

static const char *const fetch_result_name[METRICS_FETCH_NRESULTS] = {
	"good", "revoked", "unknown", "invalid", "error", "try_later",
};
static const char *const push_result_name[METRICS_PUSH_NRESULTS] = {
	"updated", "committed", "failed",
};
static const char *const answer_result_name[METRICS_ANSWER_NRESULTS] = {
	"good", "revoked", "trylater", "unauthorized", "malformed",
};

static void observe(struct histogram *h, double seconds)
{
	size_t i = 0;

	while (i < h->n && seconds > h->bounds[i])
		i++;
	if (i < h->n)
		h->buckets[i]++;
	h->count++;
	h->sum += seconds;
}

static void histogram_write(FILE *out, const struct histogram *h, const char *name, const char *help)
{
	unsigned long cum = 0;

	fprintf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < h->n; i++) {
		cum += h->buckets[i];
		fprintf(out, "%s_bucket{le=\"%g\"} %lu\n", name, h->bounds[i], cum);
	}
	fprintf(out, "%s_bucket{le=\"+Inf\"} %lu\n%s_sum %.6f\n%s_count %lu\n",
	    name, h->count, name, h->sum, name, h->count);
}

void metrics_fetch(const char *responder, enum metrics_fetch_result res)
{
	struct responder_count *rc;

	HASH_FIND_STR(responders, responder, rc);
	if (rc == NULL) {
		if ((rc = calloc(1, sizeof(*rc))) == NULL || (rc->url = strdup(responder)) == NULL) {
			free(rc);
			return;		/* a lost count is better than a lost daemon */
		}
		HASH_ADD_KEYPTR(hh, responders, rc->url, strlen(rc->url), rc);
	}
	rc->n[res]++;
}

void metrics_fetch_latency(double seconds)
{
	observe(&fetch_latency, seconds);
}

void metrics_answer(enum metrics_answer_result res, double seconds)
{
	answers[res]++;
	observe(&answer_latency, seconds);
}

void metrics_push(enum metrics_push_result res)
{
	pushes[res]++;
}

void metrics_redis(enum metrics_redis_event e)
{
	redis_events[e]++;
}

void metrics_redis_state(const char *state, const char *url)
{
	free(redis_state);
	free(redis_url);
	redis_state = redis_url = NULL;
	if (url == NULL)
		return;
	redis_state = strdup(state);
	redis_url = strdup(url);
	if (redis_state == NULL || redis_url == NULL) {	/* shown as "no --redis" rather than half */
		free(redis_state);
		free(redis_url);
		redis_state = redis_url = NULL;
	}
}

int metrics_redis_info(const char **state, const char **url)
{
	if (redis_state == NULL)
		return 0;
	*state = redis_state;
	*url = redis_url;
	return 1;
}

void metrics_pass_ok(double t)
{
	pass_ok_at = t;
}

/*
 * A label value: Prometheus escapes backslash, double quote and newline, and
 * wants UTF-8. A responder URL comes from a certificate anyone who can write
 * a watched directory chose: another control byte or a byte outside valid
 * UTF-8 is written as the text \xNN (backslash escaped: "\\xNN"), as log.c
 * writes it, so that one odd URL cannot break the whole scrape.
 */
static void put_label(FILE *out, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strlen(v), l;

	while (n > 0) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '"')
			fputs("\\\"", out);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p < 0x20 || *p == 0x7f || (l = log_utf8_len(p, n)) == 0)
			fprintf(out, "\\\\x%02x", *p);
		else {
			fwrite(p, 1, l, out);
			p += l;
			n -= l;
			continue;
		}
		p++;
		n--;
	}
}

int metrics_write(FILE *out)
{
	struct responder_count *rc, *tmp;

	fputs("# HELP ocspd_fetches_total Responder attempts per certificate, by responder URL and result.\n"
	    "# TYPE ocspd_fetches_total counter\n", out);
	HASH_ITER(hh, responders, rc, tmp) {
		for (int i = 0; i < METRICS_FETCH_NRESULTS; i++) {
			fputs("ocspd_fetches_total{responder=\"", out);
			put_label(out, rc->url);
			fprintf(out, "\",result=\"%s\"} %lu\n", fetch_result_name[i], rc->n[i]);
		}
	}
	histogram_write(out, &fetch_latency, "ocspd_fetch_duration_seconds",
	    "Time of one HTTP exchange with a responder.");
	fputs("# HELP ocspd_haproxy_pushes_total Staples pushed over HAProxy admin sockets, by result.\n"
	    "# TYPE ocspd_haproxy_pushes_total counter\n", out);
	for (int i = 0; i < METRICS_PUSH_NRESULTS; i++)
		fprintf(out, "ocspd_haproxy_pushes_total{result=\"%s\"} %lu\n", push_result_name[i], pushes[i]);
	if (redis_state != NULL) {
		static const char *const what[METRICS_REDIS_NEVENTS][2] = {
			{ "ocspd_redis_staples_total", "Verified staples taken from Redis instead of a responder." },
			{ "ocspd_redis_leases_won_total", "Fleet leases this node took (it then asked the responder)." },
			{ "ocspd_redis_leases_lost_total", "Fleet leases another node held (this node waited for its staple)." },
			{ "ocspd_redis_unavailable_fetches_total", "Attempts that went to the responders because Redis could not be asked." },
			{ "ocspd_redis_rejected_total", "Values read from Redis that failed verification (never stored or served)." },
		};

		fprintf(out, "# HELP ocspd_redis_up 1 when the fleet's Redis is connected and authenticated.\n"
		    "# TYPE ocspd_redis_up gauge\nocspd_redis_up %d\n", strcmp(redis_state, "up") == 0);
		for (int i = 0; i < METRICS_REDIS_NEVENTS; i++)
			fprintf(out, "# HELP %s %s\n# TYPE %s counter\n%s %lu\n", what[i][0], what[i][1],
			    what[i][0], what[i][0], redis_events[i]);
	}
	fputs("# HELP ocspd_ocsp_answers_total Answers of the local OCSP responder (--serve-ocsp), by result.\n"
	    "# TYPE ocspd_ocsp_answers_total counter\n", out);
	for (int i = 0; i < METRICS_ANSWER_NRESULTS; i++)
		fprintf(out, "ocspd_ocsp_answers_total{result=\"%s\"} %lu\n", answer_result_name[i], answers[i]);
	histogram_write(out, &answer_latency, "ocspd_ocsp_answer_duration_seconds",
	    "Time the local OCSP responder took from a whole request to its answer queued.");
	fprintf(out, "# HELP ocspd_last_successful_pass_timestamp_seconds Last time every certificate with an OCSP URL had a valid staple and no failing renewal; 0 = never.\n"
	    "# TYPE ocspd_last_successful_pass_timestamp_seconds gauge\n"
	    "ocspd_last_successful_pass_timestamp_seconds %.3f\n", pass_ok_at);
	return ferror(out) ? -1 : 0;
}

void metrics_free(void)
{
	struct responder_count *rc, *tmp;

	metrics_redis_state(NULL, NULL);
	HASH_ITER(hh, responders, rc, tmp) {
		HASH_DEL(responders, rc);
		free(rc->url);
		free(rc);
	}
}
