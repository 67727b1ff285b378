/* Unit tests for report: the state names, their order and severity, defined once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "renew.h"

/* Every state has a name that reads back as itself; unknown names are refused. */
static void test_names(void **state)
{
	static const char *const want[RENEW_NSTATES] = {
		[RENEW_PENDING] = "pending", [RENEW_STAPLED] = "stapled", [RENEW_FAILING] = "failing",
		[RENEW_REVOKED] = "revoked", [RENEW_NO_URL] = "no_ocsp_url",
	};
	enum renew_state st;

	(void)state;
	for (int i = 0; i < RENEW_NSTATES; i++) {
		assert_string_equal(renew_state_name(i), want[i]);
		assert_int_equal(renew_state_from_name(want[i], &st), 0);
		assert_int_equal(st, i);
	}
	assert_string_equal(renew_state_name(RENEW_NSTATES), "?");
	assert_int_equal(renew_state_from_name("in_progress", &st), -1);
	assert_int_equal(renew_state_from_name("", &st), -1);
}

/* ocspd status lists certificates without a staple most urgent first. */
static void test_rank(void **state)
{
	(void)state;
	assert_true(renew_state_rank(RENEW_REVOKED) < renew_state_rank(RENEW_FAILING));
	assert_true(renew_state_rank(RENEW_FAILING) < renew_state_rank(RENEW_PENDING));
	assert_true(renew_state_rank(RENEW_PENDING) < renew_state_rank(RENEW_NO_URL));
	assert_true(renew_state_rank(RENEW_NO_URL) < renew_state_rank(RENEW_NSTATES));
}

/* What makes ocspd status exit 1 (warning) or 2 (critical). */
static void test_severity(void **state)
{
	(void)state;
	assert_int_equal(renew_state_severity(RENEW_STAPLED, 1), RENEW_SEV_OK);
	assert_int_equal(renew_state_severity(RENEW_PENDING, 0), RENEW_SEV_OK);
	assert_int_equal(renew_state_severity(RENEW_PENDING, 1), RENEW_SEV_OK);
	assert_int_equal(renew_state_severity(RENEW_NO_URL, 0), RENEW_SEV_OK);
	assert_int_equal(renew_state_severity(RENEW_FAILING, 1), RENEW_SEV_WARNING);
	assert_int_equal(renew_state_severity(RENEW_FAILING, 0), RENEW_SEV_CRITICAL);
	assert_int_equal(renew_state_severity(RENEW_REVOKED, 0), RENEW_SEV_CRITICAL);
	assert_int_equal(renew_state_severity(RENEW_NSTATES, 0), RENEW_SEV_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_rank),
		cmocka_unit_test(test_severity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
