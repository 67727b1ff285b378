/*
 * sched — when to renew a staple and when to retry: pure arithmetic, no state.
 * Times are seconds since the epoch (double); rnd is uniform in [0, 1).
 */
#ifndef OCSPD_SCHED_H
#define OCSPD_SCHED_H

#define SCHED_FLOOR	10.0	/* never fetch one certificate twice within this (s) */
#define SCHED_AGED_MIN	300.0	/* past the midpoint: wait at least this while above minimum validity (s) */
#define SCHED_RETRY_MIN	30.0	/* first retry delay after a failure (s) */
#define SCHED_RETRY_MAX	3600.0	/* retry delays double up to this (s) */

/*
 * When to ask again for a staple valid from this_upd to next_upd, fetched
 * (or found) at now:
 *
 * - at the midpoint, but no later than next_upd - min_validity (unless the
 *   whole response is shorter than that, then the midpoint);
 * - when that is already past (a pre-signed response days old, as CDNs
 *   serve them): half-way to next_upd - min_validity, but not sooner than
 *   SCHED_AGED_MIN unless that is later than next_upd - min_validity; once
 *   below min_validity, half-way to next_upd;
 * - pulled earlier by up to 10 % of the wait for jitter;
 * - for such an aged response, not before fresh_until (the end of the
 *   responder's HTTP Cache-Control max-age or Expires, RFC 5019 6.2; 0 =
 *   none) unless that is later than next_upd - min_validity, then at that
 *   (a young response keeps its midpoint: half its validity to retry in);
 * - no later than now + max_interval (up to 10 % earlier), whatever
 *   next_upd says, so that a revocation is seen;
 * - never sooner than now + SCHED_FLOOR.
 */
double sched_renew_at(double now, double this_upd, double next_upd, double min_validity,
    double max_interval, double fresh_until, double rnd);

/* Delay before retry number "failures" (1 = first failure): doubling, capped, +-25 % jitter. */
double sched_retry_delay(int failures, double rnd);

#endif
