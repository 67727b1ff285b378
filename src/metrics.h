/*
 * metrics — the counters behind GET /metrics: responder answers by result,
 * responder latency, HAProxy pushes by result, the local OCSP responder's
 * answers by result and their latency, and the time of the last pass that
 * ended with every certificate stapled.
 *
 * Owns every counter (one process-wide set; the event loop thread is the only
 * writer and reader). Gauges that describe certificates (how many in each
 * state, the earliest expiry) are not kept here: status.c computes them from
 * renew at scrape time.
 */
#ifndef OCSPD_METRICS_H
#define OCSPD_METRICS_H

#include <stdio.h>

/* What one attempt at one responder came to, for one certificate. */
enum metrics_fetch_result {
	METRICS_FETCH_GOOD,		/* verified, status good */
	METRICS_FETCH_REVOKED,		/* verified, status revoked */
	METRICS_FETCH_UNKNOWN,		/* verified, status unknown */
	METRICS_FETCH_INVALID,		/* an answer that failed verification */
	METRICS_FETCH_ERROR,		/* no answer: connection, timeout, HTTP status */
	METRICS_FETCH_TRY_LATER,	/* responseStatus tryLater or internalError: ask again later */
	METRICS_FETCH_NRESULTS,
};

/* What HAProxy answered to one staple pushed over an admin socket. */
enum metrics_push_result {
	METRICS_PUSH_UPDATED,		/* "OCSP Response updated!" */
	METRICS_PUSH_COMMITTED,		/* "set ssl cert" + "commit" succeeded */
	METRICS_PUSH_FAILED,		/* any other answer, or the socket was lost */
	METRICS_PUSH_NRESULTS,
};

/* What fleet mode (--redis) did, counted per certificate attempt. */
enum metrics_redis_event {
	METRICS_REDIS_STAPLE,		/* a verified staple taken from Redis (no responder asked) */
	METRICS_REDIS_LEASE_WON,	/* this node took the lease and fetched */
	METRICS_REDIS_LEASE_LOST,	/* another node held it: waited for its staple */
	METRICS_REDIS_UNAVAILABLE,	/* fetched alone because Redis could not be asked */
	METRICS_REDIS_REJECTED,		/* a value in Redis failed verification */
	METRICS_REDIS_NEVENTS,
};

/* What the local OCSP responder (--serve-ocsp) answered to one request. */
enum metrics_answer_result {
	METRICS_ANSWER_GOOD,		/* the verified good staple held */
	METRICS_ANSWER_REVOKED,		/* the verified revoked answer held */
	METRICS_ANSWER_TRY_LATER,	/* a certificate we manage, no valid answer held yet */
	METRICS_ANSWER_UNAUTHORIZED,	/* a CertID no certificate of ours has */
	METRICS_ANSWER_MALFORMED,	/* not one parseable OCSP request */
	METRICS_ANSWER_NRESULTS,
};

/* Bucket bounds of the local responder's answer latency (seconds; answers from memory are fast). */
#define METRICS_ANSWER_BUCKETS { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1 }

/* Latency histogram bucket bounds in seconds (le="..."), ascending; +Inf is implied. */
#define METRICS_LATENCY_BUCKETS { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }

/* One attempt at responder (a URL; copied) ended with res. */
void metrics_fetch(const char *responder, enum metrics_fetch_result res);

/* One HTTP exchange with a responder took this long (success or not). */
void metrics_fetch_latency(double seconds);

/* The local responder answered one request with res, seconds after it was read whole. */
void metrics_answer(enum metrics_answer_result res, double seconds);

/* One staple push ended with res. */
void metrics_push(enum metrics_push_result res);

/* At time t every certificate with an OCSP URL had a valid staple, none failing. */
void metrics_pass_ok(double t);

/* One fleet event. */
void metrics_redis(enum metrics_redis_event e);

/*
 * The fleet's connection state ("up", "down"...) and URL without its
 * password (both copied), for /metrics and /status; url NULL = no --redis.
 */
void metrics_redis_state(const char *state, const char *url);

/* What metrics_redis_state last said: 1 with both set (borrowed until the next call), 0 without --redis. */
int metrics_redis_info(const char **state, const char **url);

/* Writes the counters in the Prometheus text format (version 0.0.4). 0, or -1 on a write error. */
int metrics_write(FILE *out);

/* Forgets every counter (at exit). */
void metrics_free(void);

#endif
