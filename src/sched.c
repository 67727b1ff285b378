/* sched — see sched.h. */
#include "sched.h"

double sched_renew_at(double now, double this_upd, double next_upd, double min_validity,
    double max_interval, double fresh_until, double rnd)
{
	double mid = this_upd + (next_upd - this_upd) / 2;
	double latest = next_upd - min_validity;	/* renew by then to keep min_validity */
	double at = mid;
	double floor_at = now + SCHED_FLOOR;
	int aged = 0;	/* the midpoint was past when the response came */

	/* A response shorter than min_validity can only be renewed at its midpoint. */
	if (latest > now && latest < mid)
		at = latest;
	if (at < floor_at) {
		/*
		 * The midpoint is past: the response was old when it came. Asking
		 * again at the floor would fetch the same pre-signed bytes every
		 * few seconds; halve the time that is left instead.
		 */
		double wait;

		aged = 1;
		if (latest > now) {
			wait = (latest - now) / 2;
			if (wait < SCHED_AGED_MIN)
				wait = latest - now < SCHED_AGED_MIN ? latest - now : SCHED_AGED_MIN;
		} else {
			wait = (next_upd - now) / 2;
		}
		at = now + wait;
	}
	if (at > now)
		at -= (at - now) * 0.1 * rnd;
	/*
	 * An aged answer: the responder said how long it stays fresh, and asking
	 * sooner gets the same bytes. A young one keeps its midpoint, and so
	 * half its validity as the margin for retries.
	 */
	if (aged && fresh_until > at && latest > now)
		at = fresh_until < latest ? fresh_until : latest;
	if (max_interval > 0 && at > now + max_interval)
		at = now + max_interval * (1 - 0.1 * rnd);
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
