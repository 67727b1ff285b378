/* Unit tests for conf: defaults, config file, command line precedence, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "conf.h"

static char tmpdir[] = "/tmp/ocspd-test-conf.XXXXXX";
static char cfgpath[sizeof(tmpdir) + 32];

/* Writes text to the test config file (HOME/.ocspd.conf is not used unless named). */
static const char *write_cfg(const char *text)
{
	FILE *f = fopen(cfgpath, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return cfgpath;
}

/* conf_load with a NULL-terminated list of arguments (argv[0] added). */
static enum conf_result load(struct conf *c, char **err, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;
	const char *a;

	argv[argc++] = strdup("ocspd");
	va_start(ap, err);
	while ((a = va_arg(ap, const char *)) != NULL && argc < 63)
		argv[argc++] = strdup(a);
	va_end(ap);
	argv[argc] = NULL;
	*err = NULL;
	enum conf_result r = conf_load(c, argc, argv, err);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return r;
}

static int has(const struct strlist *l, const char *s)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	/* Keep ~/.ocspd.conf of whoever runs the tests out of them. */
	assert_non_null(mkdtemp(tmpdir));
	snprintf(cfgpath, sizeof(cfgpath), "%s/test.conf", tmpdir);
	setenv("HOME", tmpdir, 1);
	return 0;
}

static int teardown(void **state)
{
	char home[sizeof(tmpdir) + 32];

	(void)state;
	unlink(cfgpath);
	snprintf(home, sizeof(home), "%s/.ocspd.conf", tmpdir);
	unlink(home);
	rmdir(tmpdir);
	return 0;
}

static void test_defaults(void **state)
{
	struct conf c;
	char *err;

	(void)state;
	assert_int_equal(load(&c, &err, "/certs", NULL), CONF_OK);
	assert_null(err);
	assert_int_equal(c.cert_paths.n, 1);
	assert_string_equal(c.cert_paths.v[0], "/certs");
	assert_int_equal(c.extensions.n, 3);
	assert_true(has(&c.extensions, "crt") && has(&c.extensions, "pem") && has(&c.extensions, "cer"));
	assert_int_equal(c.ignore.n, 0);
	assert_true(c.refresh_interval == 10);
	assert_true(c.minimum_validity == 7200);
	assert_int_equal(c.threads, 2);
	assert_true(c.connect_timeout == 5);
	assert_true(c.timeout == 15);
	assert_true(c.default_validity == 3600);
	assert_int_equal(c.recursive, 0);
	assert_int_equal(c.no_recycle, 0);
	assert_int_equal(c.one_off, 0);
	assert_int_equal(c.verbose, 0);
	assert_null(c.ca_file);
	assert_null(c.hook);
	assert_null(c.config);
	conf_free(&c);
}

static void test_no_paths(void **state)
{
	struct conf c;
	char *err;

	(void)state;
	assert_int_equal(load(&c, &err, "--one-off", NULL), CONF_ERROR);
	assert_non_null(err);
	assert_non_null(strstr(err, "path"));
	free(err);
	conf_free(&c);
}

static void test_file_parsing(void **state)
{
	struct conf c;
	char *err;

	(void)state;
	write_cfg("# comment\n"
	    "; other comment\n"
	    "cert-paths = /a, /b\n"
	    "recursive = true\n"
	    "ignore = *.bak, old-*\n"
	    "file-extensions = crt\n"
	    "refresh-interval = 5\n"
	    "minimum-validity = 600\n"
	    "renewal-threads = 4\n"
	    "no-recycle = yes\n"
	    "haproxy-sockets = /a=/run/haproxy.sock\n"
	    "hook = echo changed\n"
	    "ca-file = /x/root.pem\n"
	    "connect-timeout = 2.5\n"
	    "timeout = 30\n"
	    "default-validity = 60\n"
	    "one-off = true\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, NULL), CONF_OK);
	assert_null(err);
	assert_int_equal(c.cert_paths.n, 2);
	assert_string_equal(c.cert_paths.v[0], "/a");
	assert_string_equal(c.cert_paths.v[1], "/b");
	assert_int_equal(c.recursive, 1);
	assert_int_equal(c.ignore.n, 2);
	assert_true(has(&c.ignore, "*.bak") && has(&c.ignore, "old-*"));
	assert_int_equal(c.extensions.n, 1);
	assert_string_equal(c.extensions.v[0], "crt");
	assert_true(c.refresh_interval == 5);
	assert_true(c.minimum_validity == 600);
	assert_int_equal(c.threads, 4);
	assert_int_equal(c.no_recycle, 1);
	assert_int_equal(c.haproxy_sockets.n, 1);
	assert_string_equal(c.haproxy_sockets.v[0], "/a=/run/haproxy.sock");
	assert_string_equal(c.hook, "echo changed");
	assert_string_equal(c.ca_file, "/x/root.pem");
	assert_true(c.connect_timeout == 2.5);
	assert_true(c.timeout == 30);
	assert_true(c.default_validity == 60);
	assert_int_equal(c.one_off, 1);
	assert_non_null(c.config);
	assert_string_equal(c.config, cfgpath);
	conf_free(&c);
}

/* conf_read_file on its own, over a struct that already holds values. */
static void test_read_file_direct(void **state)
{
	struct conf c;
	char *err;

	(void)state;
	assert_int_equal(load(&c, &err, "/certs", NULL), CONF_OK);
	write_cfg("[ocspd]\nrefresh-interval = 3\nrecursive = false\n");
	c.recursive = 1;
	assert_int_equal(conf_read_file(&c, cfgpath, &err), 0);
	assert_null(err);
	assert_true(c.refresh_interval == 3);
	assert_int_equal(c.recursive, 0);
	assert_int_equal(c.cert_paths.n, 1);	/* untouched */
	conf_free(&c);
}

static void test_unknown_key(void **state)
{
	struct conf c;
	char *err = NULL;

	(void)state;
	write_cfg("refresh-interval = 5\n\nbogus-key = 1\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, "/certs", NULL), CONF_ERROR);
	assert_non_null(err);
	assert_non_null(strstr(err, "bogus-key"));
	assert_non_null(strstr(err, ":3"));
	assert_non_null(strstr(err, "unknown key"));
	assert_non_null(strstr(err, cfgpath));
	free(err);
	conf_free(&c);

	/* The same through conf_read_file. */
	err = NULL;
	assert_int_equal(load(&c, &err, "/certs", NULL), CONF_OK);
	assert_int_equal(conf_read_file(&c, cfgpath, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err, "bogus-key"));
	assert_non_null(strstr(err, ":3"));
	free(err);
	conf_free(&c);
}

static void test_command_line_wins(void **state)
{
	struct conf c;
	char *err;

	(void)state;
	write_cfg("cert-paths = /from-file\n"
	    "file-extensions = crt\n"
	    "refresh-interval = 5\n"
	    "minimum-validity = 600\n"
	    "ignore = *.bak\n"
	    "ca-file = /file/root.pem\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, "--file-extensions", "pem",
	    "-r", "7", "--ca-file", "/cli/root.pem", "-p", "/from-cli", NULL), CONF_OK);
	assert_null(err);
	assert_int_equal(c.extensions.n, 1);
	assert_string_equal(c.extensions.v[0], "pem");
	assert_true(c.refresh_interval == 7);
	assert_string_equal(c.ca_file, "/cli/root.pem");
	assert_int_equal(c.cert_paths.n, 1);
	assert_string_equal(c.cert_paths.v[0], "/from-cli");
	/* What the command line does not mention stays as the file says. */
	assert_true(c.minimum_validity == 600);
	assert_int_equal(c.ignore.n, 1);
	assert_string_equal(c.ignore.v[0], "*.bak");
	conf_free(&c);

	/* Options before and after -c: the command line still wins. */
	assert_int_equal(load(&c, &err, "-r", "9", "-c", cfgpath, NULL), CONF_OK);
	assert_true(c.refresh_interval == 9);
	assert_int_equal(c.cert_paths.n, 1);
	assert_string_equal(c.cert_paths.v[0], "/from-file");
	conf_free(&c);
}

/* Without -c, ~/.ocspd.conf is read. */
static void test_home_config(void **state)
{
	struct conf c;
	char *err, home[sizeof(tmpdir) + 32];
	FILE *f;

	(void)state;
	snprintf(home, sizeof(home), "%s/.ocspd.conf", tmpdir);
	f = fopen(home, "w");
	assert_non_null(f);
	fputs("minimum-validity = 1234\n", f);
	fclose(f);
	assert_int_equal(load(&c, &err, "/certs", NULL), CONF_OK);
	assert_true(c.minimum_validity == 1234);
	assert_non_null(c.config);
	assert_string_equal(c.config, home);
	conf_free(&c);
	unlink(home);
}

static void test_lists(void **state)
{
	struct conf c;
	char *err;

	(void)state;
	assert_int_equal(load(&c, &err, "-i", "*.bak", "--ignore", "old-*",
	    "--file-extensions", "crt, pem", "-s", "/a=/run/a.sock", "-s", "/b=/run/b.sock",
	    "-p", "/one", "/two", "-p", "/three", NULL), CONF_OK);
	assert_null(err);
	assert_int_equal(c.ignore.n, 2);
	assert_true(has(&c.ignore, "*.bak") && has(&c.ignore, "old-*"));
	assert_int_equal(c.extensions.n, 2);
	assert_true(has(&c.extensions, "crt") && has(&c.extensions, "pem"));
	assert_int_equal(c.haproxy_sockets.n, 2);
	assert_int_equal(c.cert_paths.n, 3);
	assert_true(has(&c.cert_paths, "/one") && has(&c.cert_paths, "/two") && has(&c.cert_paths, "/three"));
	conf_free(&c);
}

static void test_flags_and_counts(void **state)
{
	struct conf c;
	char *err;

	(void)state;
	assert_int_equal(load(&c, &err, "-v", "-v", "-R", "--no-recycle", "--one-off", "-q",
	    "/certs", NULL), CONF_OK);
	assert_int_equal(c.verbose, 2);
	assert_int_equal(c.recursive, 1);
	assert_int_equal(c.no_recycle, 1);
	assert_int_equal(c.one_off, 1);
	assert_int_equal(c.quiet, 1);
	conf_free(&c);
}

/* Each bad value is CONF_ERROR with a message naming the option. */
static void expect_error(const char *name, ...)
{
	struct conf c;
	char *argv[16], *err = NULL;
	int argc = 0;
	va_list ap;
	const char *a;

	argv[argc++] = strdup("ocspd");
	va_start(ap, name);
	while ((a = va_arg(ap, const char *)) != NULL && argc < 15)
		argv[argc++] = strdup(a);
	va_end(ap);
	argv[argc] = NULL;
	if (conf_load(&c, argc, argv, &err) != CONF_ERROR)
		fail_msg("%s %s: expected CONF_ERROR", argv[1], argc > 2 ? argv[2] : "");
	if (err == NULL || strstr(err, name) == NULL)
		fail_msg("%s: error \"%s\" does not name \"%s\"", argv[1], err ? err : "(null)", name);
	free(err);
	conf_free(&c);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_error("refresh-interval", "-r", "abc", "/certs", NULL);
	expect_error("refresh-interval", "--refresh-interval", "0", "/certs", NULL);
	expect_error("refresh-interval", "-r", "-5", "/certs", NULL);
	expect_error("minimum-validity", "--minimum-validity", "10x", "/certs", NULL);
	expect_error("renewal-threads", "-t", "-1", "/certs", NULL);
	expect_error("renewal-threads", "-t", "two", "/certs", NULL);
	expect_error("timeout", "--timeout", "", "/certs", NULL);
	expect_error("haproxy-sockets", "-s", "/run/haproxy.sock", "/certs", NULL);
	expect_error("bogus", "--bogus", "/certs", NULL);
	expect_error("-x", "-x", "/certs", NULL);
	expect_error("/nonexistent/ocspd.conf", "-c", "/nonexistent/ocspd.conf", "/certs", NULL);
}

static void test_bad_file_values(void **state)
{
	struct conf c;
	char *err = NULL;

	(void)state;
	write_cfg("recursive = maybe\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, "/certs", NULL), CONF_ERROR);
	assert_non_null(err);
	assert_non_null(strstr(err, "recursive"));
	assert_non_null(strstr(err, ":1"));
	free(err);
	conf_free(&c);

	write_cfg("refresh-interval = 5\nrenewal-threads = lots\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, "/certs", NULL), CONF_ERROR);
	assert_non_null(err);
	assert_non_null(strstr(err, "renewal-threads"));
	assert_non_null(strstr(err, ":2"));
	free(err);
	conf_free(&c);

	write_cfg("this line has no equals sign\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, "/certs", NULL), CONF_ERROR);
	assert_non_null(err);
	assert_non_null(strstr(err, ":1"));
	free(err);
	conf_free(&c);
}

static void test_help_version(void **state)
{
	struct conf c;
	char *err;

	int saved, devnull;

	(void)state;
	/* Keep the help text out of the test output. */
	fflush(stdout);
	saved = dup(1);
	devnull = open("/dev/null", O_WRONLY);
	assert_true(saved != -1 && devnull != -1);
	dup2(devnull, 1);
	enum conf_result v = load(&c, &err, "--version", NULL);
	conf_free(&c);
	enum conf_result h = load(&c, &err, "-h", NULL);
	conf_free(&c);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(devnull);
	assert_int_equal(v, CONF_EXIT_OK);
	assert_int_equal(h, CONF_EXIT_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_no_paths),
		cmocka_unit_test(test_file_parsing),
		cmocka_unit_test(test_read_file_direct),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_command_line_wins),
		cmocka_unit_test(test_home_config),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_flags_and_counts),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_file_values),
		cmocka_unit_test(test_help_version),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
