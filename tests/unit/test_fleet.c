/* Unit tests for fleet's --redis URL parser: the parts, defaults, errors, and the password never shown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fleet.h"

static void test_tcp_full(void **state)
{
	struct fleet_url u;
	char *err = NULL;

	(void)state;
	assert_int_equal(fleet_url_parse("redis://app:s%40cret@10.0.0.5:6380/3", &u, &err), 0);
	assert_string_equal(u.host, "10.0.0.5");
	assert_int_equal(u.port, 6380);
	assert_string_equal(u.user, "app");
	assert_string_equal(u.pass, "s@cret");
	assert_int_equal(u.db, 3);
	assert_null(u.path);
	assert_string_equal(u.shown, "redis://app:***@10.0.0.5:6380/3");
	fleet_url_free(&u);
}

static void test_tcp_defaults(void **state)
{
	struct fleet_url u;
	char *err = NULL;

	(void)state;
	assert_int_equal(fleet_url_parse("redis://localhost", &u, &err), 0);
	assert_string_equal(u.host, "localhost");
	assert_int_equal(u.port, 6379);
	assert_int_equal(u.db, 0);
	assert_null(u.user);
	assert_null(u.pass);
	assert_string_equal(u.shown, "redis://localhost:6379");
	fleet_url_free(&u);
	/* A password only; one with '@' and ':' in it (the last '@' ends it). */
	assert_int_equal(fleet_url_parse("redis://:p@ss:w@[::1]:7000/", &u, &err), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 7000);
	assert_null(u.user);
	assert_string_equal(u.pass, "p@ss:w");
	assert_string_equal(u.shown, "redis://:***@[::1]:7000");
	fleet_url_free(&u);
}

static void test_unix(void **state)
{
	struct fleet_url u;
	char *err = NULL;

	(void)state;
	assert_int_equal(fleet_url_parse("unix:///run/redis/redis.sock?db=2", &u, &err), 0);
	assert_string_equal(u.path, "/run/redis/redis.sock");
	assert_null(u.host);
	assert_int_equal(u.db, 2);
	assert_string_equal(u.shown, "unix:///run/redis/redis.sock?db=2");
	fleet_url_free(&u);
	assert_int_equal(fleet_url_parse("unix://:topsecret@/run/r.sock", &u, &err), 0);
	assert_string_equal(u.pass, "topsecret");
	assert_string_equal(u.path, "/run/r.sock");
	assert_string_equal(u.shown, "unix://:***@/run/r.sock");
	fleet_url_free(&u);
}

/* Every refusal names the problem and never repeats the password. */
static void test_errors(void **state)
{
	static const char *const bad[] = {
		"http://x", "redis://", "redis://:topsecret@", "redis://h:0", "redis://h:65536",
		"redis://h:12x", "redis://h/db", "redis://topsecret@h", "redis://:top%zzsecret@h",
		"redis://:top%00secret@h", "redis://[::1", "unix://", "unix://relative", "unix:///s?x=1",
		"unix://:topsecret/s", "redis://h:6379/1/2",
	};
	struct fleet_url u;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;

		if (fleet_url_parse(bad[i], &u, &err) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_non_null(err);
		assert_null(strstr(err, "topsecret"));
		assert_null(strstr(err, "secret"));
		free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_full),
		cmocka_unit_test(test_tcp_defaults),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
