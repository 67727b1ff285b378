/* Unit tests for strlist: the string lists of conf and the haproxy.cfg reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "strlist.h"

static void test_add(void **state)
{
	struct strlist l = { NULL, 0 };

	(void)state;
	assert_int_equal(strlist_add(&l, "abcdef", 3), 0);
	assert_int_equal(strlist_add(&l, "abc", 3), 0);	/* plain add keeps duplicates */
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "abc");
	assert_null(l.v[2]);
	assert_int_equal(strlist_add_unique(&l, "abc"), 0);
	assert_int_equal(strlist_add_unique(&l, "x"), 0);
	assert_int_equal(l.n, 3);
	assert_true(strlist_has(&l, "x"));
	assert_false(strlist_has(&l, "ab"));
	strlist_free(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
	strlist_free(&l);	/* twice, and NULL */
	strlist_free(NULL);
}

static void test_split(void **state)
{
	struct strlist l = { NULL, 0 };

	(void)state;
	assert_int_equal(strlist_add_split(&l, " crt,\tpem ,, cer ,"), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "crt");
	assert_string_equal(l.v[1], "pem");
	assert_string_equal(l.v[2], "cer");
	assert_int_equal(strlist_add_split(&l, ""), 0);
	assert_int_equal(l.n, 3);
	strlist_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
