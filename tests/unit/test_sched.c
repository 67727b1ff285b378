/* Unit tests for sched: when to renew, when to retry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sched.h"

#define NOW	1700000000.0
#define HOUR	3600.0
#define DAY	86400.0
#define NONE	0.0	/* no HTTP freshness */

/* sched_renew_at without a maximum interval or HTTP freshness (the midpoint rules alone). */
static double renew_at(double now, double this_upd, double next_upd, double minv, double rnd)
{
	return sched_renew_at(now, this_upd, next_upd, minv, 1e9, NONE, rnd);
}

/* A one-day response fetched now, min-validity 2 h: renew at its midpoint. */
static void test_midpoint(void **state)
{
	(void)state;
	double at = renew_at(NOW, NOW, NOW + DAY, 2 * HOUR, 0.0);

	assert_true(at == NOW + DAY / 2);
}

/* A recycled staple half-way through its life keeps the same midpoint. */
static void test_midpoint_recycled(void **state)
{
	(void)state;
	double at = renew_at(NOW, NOW - 10 * HOUR, NOW + 14 * HOUR, 2 * HOUR, 0.0);

	assert_true(at == NOW + 2 * HOUR);
}

/* min-validity later than the midpoint's slack: renew at nextUpdate - min-validity. */
static void test_min_validity_cap(void **state)
{
	(void)state;
	double at = renew_at(NOW, NOW, NOW + DAY, 16 * HOUR, 0.0);

	assert_true(at == NOW + 8 * HOUR);
	/* With jitter it only moves earlier, never past the cap. */
	for (double rnd = 0; rnd < 1; rnd += 0.01)
		assert_true(renew_at(NOW, NOW, NOW + DAY, 16 * HOUR, rnd) <= NOW + 8 * HOUR);
}

/* A 5-minute response with min-validity 2 h is renewed at its midpoint, not now. */
static void test_short_response(void **state)
{
	(void)state;
	double at = renew_at(NOW, NOW, NOW + 300, 7200, 0.0);

	assert_true(at == NOW + 150);
	for (double rnd = 0; rnd < 1; rnd += 0.01) {
		at = renew_at(NOW, NOW, NOW + 300, 7200, rnd);
		assert_true(at >= NOW + SCHED_FLOOR);
		assert_true(at <= NOW + 150);
		assert_true(at < NOW + 300);
	}
}

/* Past the midpoint already (or expired): never sooner than the floor, never a tight loop. */
static void test_floor(void **state)
{
	(void)state;
	double at;

	at = renew_at(NOW, NOW - 299, NOW + 1, 7200, 0.0);
	assert_true(at >= NOW + SCHED_FLOOR);
	at = renew_at(NOW, NOW - 2 * DAY, NOW - DAY, 7200, 0.0);
	assert_true(at >= NOW + SCHED_FLOOR);
	/* A zero-length response must not renew in the same instant either. */
	at = renew_at(NOW, NOW, NOW, 0, 0.0);
	assert_true(at >= NOW + SCHED_FLOOR);
}

/*
 * A pre-signed response fetched after its midpoint (thisUpdate 5 days ago,
 * nextUpdate in 2 days): half-way to nextUpdate - min-validity, not at the
 * floor (the old rule fetched the same bytes every 10-20 s).
 */
static void test_aged(void **state)
{
	(void)state;
	double latest = NOW + 2 * DAY - 2 * HOUR;

	assert_true(renew_at(NOW, NOW - 5 * DAY, NOW + 2 * DAY, 2 * HOUR, 0.0) == NOW + (latest - NOW) / 2);
	for (double rnd = 0; rnd < 1; rnd += 0.01) {
		double at = renew_at(NOW, NOW - 5 * DAY, NOW + 2 * DAY, 2 * HOUR, rnd);

		assert_true(at >= NOW + 0.9 * (latest - NOW) / 2);
		assert_true(at <= latest);
	}
	/* 20 h old of 24 h, min-validity 2 h: an hour (half of the 2 h to the cap). */
	assert_true(renew_at(NOW, NOW - 20 * HOUR, NOW + 4 * HOUR, 2 * HOUR, 0.0) == NOW + HOUR);
	/* Close to the cap: at least SCHED_AGED_MIN, but never after the cap. */
	assert_true(renew_at(NOW, NOW - DAY, NOW + 2 * HOUR + 400, 2 * HOUR, 0.0) == NOW + SCHED_AGED_MIN);
	assert_true(renew_at(NOW, NOW - DAY, NOW + 2 * HOUR + 100, 2 * HOUR, 0.0) == NOW + 100);
	/* Below min-validity already: half of what is left, not below the floor. */
	assert_true(renew_at(NOW, NOW - DAY, NOW + HOUR, 2 * HOUR, 0.0) == NOW + HOUR / 2);
	assert_true(renew_at(NOW, NOW - DAY, NOW + 4, 2 * HOUR, 0.0) >= NOW + SCHED_FLOOR);
}

/*
 * A responder serving the same aged bytes for the staple's whole life: the
 * number of fetches stays small (the time left halves each time), and no two
 * are closer than the floor.
 */
static void test_aged_fetch_count(void **state)
{
	(void)state;
	double tu = NOW - 5 * DAY, nu = NOW + 2 * DAY, now = NOW, prev = 0;
	int n = 0;

	while (now < nu) {
		double at = renew_at(now, tu, nu, 2 * HOUR, 0.5);

		assert_true(at >= now + SCHED_FLOOR);
		assert_true(prev == 0 || now - prev >= SCHED_FLOOR);
		prev = now;
		now = at;
		n++;
	}
	assert_true(n < 40);
	/* The old rule: one fetch per 10-20 s for 2 days, about 11,000. */
}

/*
 * Cache-Control max-age / Expires delays the fetch of an aged response, but
 * never past nextUpdate - min-validity; a young response keeps its midpoint.
 */
static void test_http_freshness(void **state)
{
	(void)state;
	/* A fresh one-day response with max-age 20 h: still at the midpoint, 12 h of margin kept. */
	assert_true(sched_renew_at(NOW, NOW, NOW + DAY, 2 * HOUR, 1e9, NOW + 20 * HOUR, 0.0) == NOW + DAY / 2);
	assert_true(sched_renew_at(NOW, NOW, NOW + DAY, 2 * HOUR, 1e9, NOW + 30 * HOUR, 0.0) == NOW + DAY / 2);
	/* max-age shorter than the midpoint changes nothing (it only ever delays). */
	assert_true(sched_renew_at(NOW, NOW, NOW + DAY, 2 * HOUR, 1e9, NOW + HOUR, 0.0) == NOW + DAY / 2);
	/* An aged response with max-age 30 h: 30 h rather than the halving's 23 h. */
	assert_true(sched_renew_at(NOW, NOW - 5 * DAY, NOW + 2 * DAY, 2 * HOUR, 1e9, NOW + 30 * HOUR, 0.0) ==
	    NOW + 30 * HOUR);
	assert_true(sched_renew_at(NOW, NOW - 5 * DAY, NOW + 2 * DAY, 2 * HOUR, 1e9, NOW + 5 * DAY, 0.0) ==
	    NOW + 2 * DAY - 2 * HOUR);
	/* Below min-validity, max-age is not obeyed: the staple would expire. */
	assert_true(sched_renew_at(NOW, NOW - DAY, NOW + HOUR, 2 * HOUR, 1e9, NOW + DAY, 0.0) == NOW + HOUR / 2);
}

/* nextUpdate in year 9999: asked again within the maximum interval, jittered earlier only. */
static void test_max_interval(void **state)
{
	(void)state;
	double y9999 = 253402300799.0;	/* 9999-12-31 23:59:59Z */

	for (double rnd = 0; rnd < 1; rnd += 0.01) {
		double at = sched_renew_at(NOW, NOW, y9999, 2 * HOUR, DAY, NONE, rnd);

		assert_true(at <= NOW + DAY);
		assert_true(at >= NOW + 0.9 * DAY);
		/* Whatever max-age says, too. */
		assert_true(sched_renew_at(NOW, NOW, y9999, 2 * HOUR, DAY, NOW + 30 * DAY, rnd) <= NOW + DAY);
	}
	/* A small maximum interval still keeps the floor. */
	assert_true(sched_renew_at(NOW, NOW, y9999, 2 * HOUR, 1, NONE, 0.0) >= NOW + SCHED_FLOOR);
	assert_true(sched_renew_at(NOW, NOW, y9999, 2 * HOUR, 15, NONE, 0.0) == NOW + 15);
	/* Shorter responses are not affected. */
	assert_true(sched_renew_at(NOW, NOW, NOW + DAY, 2 * HOUR, DAY, NONE, 0.0) == NOW + DAY / 2);
}

/* Jitter pulls earlier by at most 10 % of the wait, never later, and it spreads. */
static void test_jitter_bounds(void **state)
{
	(void)state;
	double mid = NOW + DAY / 2, prev = mid + 1, lo = mid, hi = 0;

	for (double rnd = 0; rnd < 1; rnd += 0.001) {
		double at = renew_at(NOW, NOW, NOW + DAY, 2 * HOUR, rnd);

		assert_true(at <= mid);
		assert_true(at >= mid - 0.1 * (mid - NOW));
		assert_true(at <= prev);	/* monotonic in rnd */
		prev = at;
		if (at < lo)
			lo = at;
		if (at > hi)
			hi = at;
	}
	/* 10,000 certificates issued together get spread over more than an hour. */
	assert_true(hi - lo > HOUR);
}

/* Property: whatever the inputs, the answer is in the future, and not after
 * nextUpdate - min-validity when that is still ahead and before the midpoint. */
static void test_properties(void **state)
{
	(void)state;
	unsigned int seed = 12345;

	for (int i = 0; i < 100000; i++) {
		seed = seed * 1103515245u + 12345u;
		double len = (seed >> 8) % (7 * 86400) + 1;
		seed = seed * 1103515245u + 12345u;
		double age = ((seed >> 8) % 1000) / 1000.0 * len;
		seed = seed * 1103515245u + 12345u;
		double minv = (seed >> 8) % (3 * 86400);
		seed = seed * 1103515245u + 12345u;
		double rnd = ((seed >> 8) % 1000) / 1000.0;
		double this_upd = NOW - age, next_upd = this_upd + len;
		double at = renew_at(NOW, this_upd, next_upd, minv, rnd);

		assert_true(at >= NOW + SCHED_FLOOR);
		if (next_upd - minv > NOW + 2 * SCHED_FLOOR && next_upd - minv < this_upd + len / 2)
			assert_true(at <= next_upd - minv);
		if (this_upd + len / 2 > NOW + 2 * SCHED_FLOOR)
			assert_true(at <= this_upd + len / 2);
	}
}

static int near(double a, double b)
{
	return a - b < 1e-6 && b - a < 1e-6;
}

/* Retries double from 30 s to 1 h; rnd = 0.5 is the centre of the jitter. */
static void test_backoff_doubling(void **state)
{
	(void)state;
	assert_true(near(sched_retry_delay(1, 0.5), SCHED_RETRY_MIN));
	assert_true(near(sched_retry_delay(2, 0.5), 2 * SCHED_RETRY_MIN));
	assert_true(near(sched_retry_delay(3, 0.5), 4 * SCHED_RETRY_MIN));
	assert_true(near(sched_retry_delay(4, 0.5), 8 * SCHED_RETRY_MIN));
	for (int f = 1; f < 40; f++)
		assert_true(sched_retry_delay(f + 1, 0.5) >= sched_retry_delay(f, 0.5));
}

static void test_backoff_cap(void **state)
{
	(void)state;
	assert_true(near(sched_retry_delay(8, 0.5), SCHED_RETRY_MAX));
	assert_true(near(sched_retry_delay(50, 0.5), SCHED_RETRY_MAX));
	assert_true(near(sched_retry_delay(100000, 0.5), SCHED_RETRY_MAX));
	assert_true(sched_retry_delay(2147483647, 0.999) <= SCHED_RETRY_MAX * 1.25);
}

/* +-25 % jitter around every step, and some real spread. */
static void test_backoff_jitter(void **state)
{
	(void)state;
	for (int f = 1; f <= 12; f++) {
		double centre = sched_retry_delay(f, 0.5);

		for (double rnd = 0; rnd < 1; rnd += 0.01) {
			double d = sched_retry_delay(f, rnd);

			assert_true(d >= centre * 0.75 - 1e-9);
			assert_true(d <= centre * 1.25 + 1e-9);
			assert_true(d > 0);
		}
		assert_true(sched_retry_delay(f, 0.99) - sched_retry_delay(f, 0.0) > centre * 0.4);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_midpoint),
		cmocka_unit_test(test_midpoint_recycled),
		cmocka_unit_test(test_min_validity_cap),
		cmocka_unit_test(test_short_response),
		cmocka_unit_test(test_floor),
		cmocka_unit_test(test_aged),
		cmocka_unit_test(test_aged_fetch_count),
		cmocka_unit_test(test_http_freshness),
		cmocka_unit_test(test_max_interval),
		cmocka_unit_test(test_jitter_bounds),
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_backoff_doubling),
		cmocka_unit_test(test_backoff_cap),
		cmocka_unit_test(test_backoff_jitter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
