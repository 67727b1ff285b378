/*
 * sched — when to renew a staple and when to retry: pure arithmetic, no state.
 * Times are seconds since the epoch (double); rnd is uniform in [0, 1).
 */
#ifndef OCSPD_SCHED_H
#define OCSPD_SCHED_H

#define SCHED_FLOOR	10.0	/* never fetch one certificate twice within this (s) */
#define SCHED_RETRY_MIN	30.0	/* first retry delay after a failure (s) */
#define SCHED_RETRY_MAX	3600.0	/* retry delays double up to this (s) */

/*
 * When to renew a staple valid from this_upd to next_upd: at the midpoint,
 * but no later than next_upd - min_validity (unless the whole response is
 * shorter than that, then the midpoint), pulled earlier by up to 10 % of the
 * wait for jitter, and never sooner than now + SCHED_FLOOR.
 */
double sched_renew_at(double now, double this_upd, double next_upd,
    double min_validity, double rnd);

/* Delay before retry number "failures" (1 = first failure): doubling, capped, +-25 % jitter. */
double sched_retry_delay(int failures, double rnd);

#endif
