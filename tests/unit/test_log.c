/* Unit tests for log: the escaping every log line goes through, and UTF-8 checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "log.h"

static void check(const char *in, const char *want)
{
	char out[256];

	log_escape(out, sizeof(out), in);
	if (strcmp(out, want) != 0)
		fail_msg("log_escape(\"%s\") = \"%s\", want \"%s\"", in, out, want);
}

/* Control bytes, ESC, DEL: \xNN; printable ASCII and backslash as they are. */
static void test_controls(void **state)
{
	(void)state;
	check("plain /a b/c.pem", "plain /a b/c.pem");
	check("evil\nforged.pem", "evil\\x0aforged.pem");
	check("cr\rtab\tdel\x7f", "cr\\x0dtab\\x09del\\x7f");
	check("esc\x1b[31mred\x1b[0m", "esc\\x1b[31mred\\x1b[0m");
	check("back\\slash", "back\\slash");
}

/* Valid UTF-8 stays; broken UTF-8, C1 controls and bidi overrides are escaped byte by byte. */
static void test_utf8(void **state)
{
	(void)state;
	check("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92");
	check("\xff\xfe-latin1", "\\xff\\xfe-latin1");
	check("cut \xe2\x82", "cut \\xe2\\x82");
	check("overlong \xc0\xaf \xe0\x80\xaf", "overlong \\xc0\\xaf \\xe0\\x80\\xaf");
	check("surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80");
	check("csi \xc2\x9b", "csi \\xc2\\x9b");
	check("rlo \xe2\x80\xae", "rlo \\xe2\\x80\\xae");
	check("nbsp \xc2\xa0", "nbsp \xc2\xa0");
}

/* Cut to fit, at a character boundary, always terminated. */
static void test_truncation(void **state)
{
	char out[8];

	(void)state;
	log_escape(out, sizeof(out), "abcdefghij");
	assert_string_equal(out, "abcdefg");
	log_escape(out, sizeof(out), "ab\ncdef");
	assert_string_equal(out, "ab\\x0ac");
	log_escape(out, sizeof(out), "abcdef\xc3\xa9");
	assert_string_equal(out, "abcdef");
}

static void test_utf8_len(void **state)
{
	(void)state;
	assert_int_equal(log_utf8_len((const unsigned char *)"a", 1), 1);
	assert_int_equal(log_utf8_len((const unsigned char *)"\xc3\xa9", 2), 2);
	assert_int_equal(log_utf8_len((const unsigned char *)"\xc3\xa9", 1), 0);
	assert_int_equal(log_utf8_len((const unsigned char *)"\xf4\x90\x80\x80", 4), 0);
	assert_int_equal(log_utf8_len((const unsigned char *)"\x80", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_utf8_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
