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

/* A one-day response fetched now, min-validity 2 h: renew at its midpoint. */
static void test_midpoint(void **state)
{
	(void)state;
	double at = sched_renew_at(NOW, NOW, NOW + DAY, 2 * HOUR, 0.0);

	assert_true(at == NOW + DAY / 2);
}

/* A recycled staple half-way through its life keeps the same midpoint. */
static void test_midpoint_recycled(void **state)
{
	(void)state;
	double at = sched_renew_at(NOW, NOW - 10 * HOUR, NOW + 14 * HOUR, 2 * HOUR, 0.0);

	assert_true(at == NOW + 2 * HOUR);
}

/* min-validity later than the midpoint's slack: renew at nextUpdate - min-validity. */
static void test_min_validity_cap(void **state)
{
	(void)state;
	double at = sched_renew_at(NOW, NOW, NOW + DAY, 16 * HOUR, 0.0);

	assert_true(at == NOW + 8 * HOUR);
	/* With jitter it only moves earlier, never past the cap. */
	for (double rnd = 0; rnd < 1; rnd += 0.01)
		assert_true(sched_renew_at(NOW, NOW, NOW + DAY, 16 * HOUR, rnd) <= NOW + 8 * HOUR);
}

/* A 5-minute response with min-validity 2 h is renewed at its midpoint, not now. */
static void test_short_response(void **state)
{
	(void)state;
	double at = sched_renew_at(NOW, NOW, NOW + 300, 7200, 0.0);

	assert_true(at == NOW + 150);
	for (double rnd = 0; rnd < 1; rnd += 0.01) {
		at = sched_renew_at(NOW, NOW, NOW + 300, 7200, rnd);
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

	at = sched_renew_at(NOW, NOW - 299, NOW + 1, 7200, 0.0);
	assert_true(at >= NOW + SCHED_FLOOR);
	at = sched_renew_at(NOW, NOW - 2 * DAY, NOW - DAY, 7200, 0.0);
	assert_true(at >= NOW + SCHED_FLOOR);
	for (double rnd = 0; rnd < 1; rnd += 0.01) {
		at = sched_renew_at(NOW, NOW - 20 * HOUR, NOW + 4 * HOUR, 2 * HOUR, rnd);
		assert_true(at >= NOW + SCHED_FLOOR);
		/* Spread, but still soon: within two floors. */
		assert_true(at <= NOW + 2 * SCHED_FLOOR);
	}
	/* A zero-length response must not renew in the same instant either. */
	at = sched_renew_at(NOW, NOW, NOW, 0, 0.0);
	assert_true(at >= NOW + SCHED_FLOOR);
}

/* Jitter pulls earlier by at most 10 % of the wait, never later, and it spreads. */
static void test_jitter_bounds(void **state)
{
	(void)state;
	double mid = NOW + DAY / 2, prev = mid + 1, lo = mid, hi = 0;

	for (double rnd = 0; rnd < 1; rnd += 0.001) {
		double at = sched_renew_at(NOW, NOW, NOW + DAY, 2 * HOUR, rnd);

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
		double at = sched_renew_at(NOW, this_upd, next_upd, minv, rnd);

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
		cmocka_unit_test(test_jitter_bounds),
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_backoff_doubling),
		cmocka_unit_test(test_backoff_cap),
		cmocka_unit_test(test_backoff_jitter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
