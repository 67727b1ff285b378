/*
 * report — the readers of renew's recorded state (see renew.h): the state
 * names, their order and severity, the counts, the SIGUSR1 report and the
 * per-certificate view behind /status and /metrics. Nothing here derives a
 * standing from a certificate's fields: renew.c records it at each
 * transition (record()), and this file only reads it.
 */
#include "renew.h"
#include "renew-t.h"
#include "log.h"
#include "ocsp.h"

#include <stdio.h>
#include <string.h>
#include <uthash.h>

/*
 * Each state once: its name (in /status, /metrics, ocspd status), its rank
 * among certificates without a staple (most urgent first, for ocspd status's
 * table), and its severity (what makes ocspd status exit non-zero).
 */
static const struct {
	const char *name;
	int rank;
	enum renew_severity sev;	/* without a staple; with one, see renew_state_severity */
} states[RENEW_NSTATES] = {
	[RENEW_PENDING]  = { "pending",     2, RENEW_SEV_OK },
	[RENEW_STAPLED]  = { "stapled",     4, RENEW_SEV_OK },
	[RENEW_FAILING]  = { "failing",     1, RENEW_SEV_CRITICAL },
	[RENEW_REVOKED]  = { "revoked",     0, RENEW_SEV_CRITICAL },
	[RENEW_NO_URL]   = { "no_ocsp_url", 3, RENEW_SEV_OK },
};

const char *renew_state_name(enum renew_state st)
{
	return st < RENEW_NSTATES ? states[st].name : "?";
}

int renew_state_from_name(const char *name, enum renew_state *st)
{
	for (int i = 0; i < RENEW_NSTATES; i++)
		if (strcmp(name, states[i].name) == 0) {
			*st = i;
			return 0;
		}
	return -1;
}

int renew_state_rank(enum renew_state st)
{
	return st < RENEW_NSTATES ? states[st].rank : RENEW_NSTATES;
}

enum renew_severity renew_state_severity(enum renew_state st, int has_staple)
{
	if (st >= RENEW_NSTATES)
		return RENEW_SEV_OK;
	/* Failing while a valid staple is still served: a warning, not yet an outage. */
	if (st == RENEW_FAILING && has_staple)
		return RENEW_SEV_WARNING;
	return states[st].sev;
}

/* ---------------------------------------------------------------- counts */

int renew_busy(const struct renew *r)
{
	return r->busy;
}

int renew_undecided(const struct renew *r)
{
	return r->undecided;
}

void renew_count(const struct renew *r, int *known, int *stapled)
{
	*known = (int)HASH_COUNT(r->certs);
	*stapled = r->n_has_staple;
}

void renew_counts(const struct renew *r, int n[RENEW_NSTATES])
{
	memcpy(n, r->n_standing, sizeof(r->n_standing));
}

int renew_all_stapled(const struct renew *r)
{
	return r->n_standing[RENEW_FAILING] + r->n_standing[RENEW_REVOKED] +
	    r->n_standing[RENEW_PENDING] == 0;
}

void renew_summary(const struct renew *r, char *buf, size_t len)
{
	const int *n = r->n_standing;

	snprintf(buf, len, "%d stapled, %d failing, %d revoked, %d without OCSP URL, %d pending",
	    n[RENEW_STAPLED], n[RENEW_FAILING], n[RENEW_REVOKED], n[RENEW_NO_URL], n[RENEW_PENDING]);
}

/* ---------------------------------------------------------------- SIGUSR1 */

/*
 * When c's timer fires (next renewal or retry), 0 = none planned: also while
 * an attempt is in flight (the timer is stopped then; busy says so).
 */
static double next_attempt(const struct renew *r, const struct cert *c, double now)
{
	return ev_is_active(&c->timer) ? now + ev_timer_remaining(r->loop, (ev_timer *)&c->timer) : 0;
}

void renew_report(const struct renew *r)
{
	const struct cert *c, *tmp;
	double now = renew_now();
	int known = (int)HASH_COUNT(r->certs);
	char sum[160], t1[32], t2[48];

	renew_summary(r, sum, sizeof(sum));
	log_info("status: %d certificate%s: %s; %d in progress", known, known == 1 ? "" : "s", sum, r->busy);
	/* Shared by the certificates, freed with the last one: certificates come and go for months. */
	log_debug("status: in memory: %u distinct responder URL%s, %u distinct issuer%s",
	    HASH_COUNT(r->strs), HASH_COUNT(r->strs) == 1 ? "" : "s",
	    HASH_COUNT(r->issuers), HASH_COUNT(r->issuers) == 1 ? "" : "s");
	HASH_ITER(hh, r->certs, c, tmp) {
		double at = next_attempt(r, c, now);
		const char *name = renew_state_name(c->standing), *busy = c->state != CERT_IDLE ? "; in progress" : "";
		const char *why = c->last_err != NULL ? c->last_err : "not fetched yet";
		const char *sep = at != 0 ? ", " : "";	/* no attempt planned: no time (never 1970) */

		t2[0] = '\0';
		if (at != 0)
			ocsp_fmt_time(at, t2, sizeof(t2));
		ocsp_fmt_time(c->next_update, t1, sizeof(t1));
		if (c->standing == RENEW_STAPLED)
			log_debug("status: %s: %s (good until %s%s%s%s)%s", c->path, name, t1, sep,
			    at != 0 ? "renew at " : "", t2, busy);
		else if (c->standing == RENEW_REVOKED)
			log_info("status: %s: %s%s%s%s%s", c->path, name, sep, at != 0 ? "checked again at " : "", t2, busy);
		else if (c->has_staple)
			log_info("status: %s: %s (%s); keeping the staple (good until %s)%s%s%s%s",
			    c->path, name, why, t1, sep, at != 0 ? "next attempt at " : "", t2, busy);
		else
			log_info("status: %s: %s, no staple (%s)%s%s%s", c->path, name, why,
			    at != 0 ? ", next attempt at " : c->state != CERT_IDLE ? "" : ", waiting for the file to change",
			    t2, busy);
	}
}

/* ---------------------------------------------------------------- /status */

void renew_foreach_status(const struct renew *r, renew_status_fn *fn, void *arg)
{
	const struct cert *c, *tmp;
	struct renew_status st;
	double now = renew_now();

	HASH_ITER(hh, r->certs, c, tmp) {
		st.path = c->path;
		st.subject = c->subject;
		st.serial = c->serial;
		st.responder = c->n_urls > 0 ? c->urls[0] : NULL;
		st.state = c->standing;
		st.has_staple = c->has_staple;
		st.busy = c->state != CERT_IDLE;
		st.this_update = st.has_staple ? c->this_update : 0;
		st.next_update = st.has_staple ? c->next_update : 0;
		st.renew_at = next_attempt(r, c, now);
		st.last_error = c->last_err;
		st.error_count = c->failures > 0 ? c->failures : c->last_err != NULL;
		fn(arg, &st);
	}
}
