/*
 * Unit tests for fsroot: which paths below the configured ones are opened,
 * and what is said when one is refused. Works in a fresh directory under
 * /tmp: a configured root that is itself a symlink, a real sub-directory, a
 * sub-directory symlink, symlinked files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsroot.h"

static char top[64];		/* the test's directory */

/* top/rel in one of two buffers in turn: two calls may be one call's arguments. */
static const char *at(const char *rel)
{
	static char bufs[2][512];
	static int next;
	char *b = bufs[next++ % 2];

	snprintf(b, sizeof(bufs[0]), "%s/%s", top, rel);
	return b;
}

static void put(const char *rel, const char *text)
{
	FILE *f = fopen(at(rel), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	char root[512], link[512];

	(void)state;
	snprintf(top, sizeof(top), "/tmp/ocspd-unit-fsroot.XXXXXX");
	assert_non_null(mkdtemp(top));
	assert_int_equal(mkdir(at("real"), 0755), 0);
	assert_int_equal(mkdir(at("real/sub"), 0755), 0);
	assert_int_equal(mkdir(at("outside"), 0755), 0);
	put("real/sub/a.pem", "in the tree\n");
	put("outside/a.pem", "outside\n");
	put("outside/secret", "secret\n");
	assert_int_equal(symlink(at("outside"), at("real/swapped")), 0);
	assert_int_equal(symlink(at("outside/secret"), at("real/sub/a.pem.ocsp")), 0);
	/* The configured root itself is a symlink: the operator's choice. */
	snprintf(root, sizeof(root), "%s/real", top);
	snprintf(link, sizeof(link), "%s/root", top);
	assert_int_equal(symlink(root, link), 0);
	{
		char *roots[] = { link };

		assert_int_equal(fsroot_set(roots, 1), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	fsroot_set(NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_real_subdirectory(void **state)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	char *err = NULL;

	(void)state;
	assert_int_equal(fsroot_read(at("root/sub/a.pem"), FSROOT_NOFOLLOW, 0, &buf, &len, &err), 0);
	assert_int_equal(len, strlen("in the tree\n"));
	assert_memory_equal(buf, "in the tree\n", len);
	assert_null(err);
	free(buf);
}

static void test_swapped_directory_refused(void **state)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	char *err = NULL, want[600];
	const char *base;
	int configured;

	(void)state;
	assert_int_equal(fsroot_read(at("root/swapped/a.pem"), FSROOT_OWNED, 0, &buf, &len, &err), -1);
	assert_null(buf);
	snprintf(want, sizeof(want), "%s/root/swapped: a symbolic link below the configured directory %s/root; not followed",
	    top, top);
	assert_string_equal(err, want);
	free(err);
	err = NULL;
	assert_int_equal(fsroot_open_dir(at("root/swapped/new.ocsp"), &base, &configured, &err), -1);
	assert_string_equal(err, want);
	free(err);
}

static void test_symlinked_staple_refused(void **state)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	char *err = NULL, want[600];

	(void)state;
	assert_int_equal(fsroot_read(at("root/sub/a.pem.ocsp"), FSROOT_NOFOLLOW, 0, &buf, &len, &err), -1);
	/* The caller names the file; the reason says nothing about the link's target. */
	snprintf(want, sizeof(want), "a symbolic link; not followed (it must be a regular file)");
	assert_string_equal(err, want);
	free(err);
}

static void test_missing(void **state)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	char *err = NULL;

	(void)state;
	assert_int_equal(fsroot_read(at("root/sub/none.ocsp"), FSROOT_NOFOLLOW, 0, &buf, &len, &err),
	    FSROOT_MISSING);
	assert_non_null(strstr(err, "No such file"));
	free(err);
}

/* Root made the link (these tests run as root in make check, or as its owner). */
static void test_owned_link_followed(void **state)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	char *err = NULL;

	(void)state;
	assert_int_equal(fsroot_read(at("root/sub/a.pem.ocsp"), FSROOT_OWNED, 0, &buf, &len, &err), 0);
	assert_memory_equal(buf, "secret\n", len);
	free(buf);
}

static void test_dotdot_refused(void **state)
{
	const char *base;
	char *err = NULL;
	int configured;

	(void)state;
	assert_int_equal(fsroot_open_dir(at("root/sub/../../outside/a.pem"), &base, &configured, &err), -1);
	assert_non_null(strstr(err, "\"..\" below the configured directory"));
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_subdirectory),
		cmocka_unit_test(test_swapped_directory_refused),
		cmocka_unit_test(test_symlinked_staple_refused),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_owned_link_followed),
		cmocka_unit_test(test_dotdot_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
