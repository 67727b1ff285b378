/* sched — see sched.h. */
#include "sched.h"

double sched_renew_at(double now, double this_upd, double next_upd,
    double min_validity, double rnd)
{
	double mid = this_upd + (next_upd - this_upd) / 2;
	double at = mid;
	double floor_at = now + SCHED_FLOOR;

	/* A response shorter than min_validity can only be renewed at its midpoint. */
	if (next_upd - min_validity > now && next_upd - min_validity < mid)
		at = next_upd - min_validity;
	if (at > now)
		at -= (at - now) * 0.1 * rnd;
	if (at < floor_at)
		at = floor_at + SCHED_FLOOR * rnd;
	return at;
}

double sched_retry_delay(int failures, double rnd)
{
	double d = SCHED_RETRY_MIN;

	for (int i = 1; i < failures && d < SCHED_RETRY_MAX; i++)
		d *= 2;
	if (d > SCHED_RETRY_MAX)
		d = SCHED_RETRY_MAX;
	return d * (0.75 + 0.5 * rnd);
}
