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
#include <signal.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

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

/* CONF_ERROR from the command line, with a message holding each of the words. */
static void expect_refused(const char *want1, const char *want2, const char *opt, const char *val)
{
	struct conf c;
	char *err = NULL;

	if (load(&c, &err, opt, val, "/certs", NULL) != CONF_ERROR)
		fail_msg("%s %s: accepted", opt, val);
	if (err == NULL || strstr(err, want1) == NULL || (want2 != NULL && strstr(err, want2) == NULL))
		fail_msg("%s %s: error \"%s\" lacks \"%s\" or \"%s\"", opt, val, err ? err : "(null)",
		    want1, want2 ? want2 : "");
	free(err);
	conf_free(&c);
}

static void expect_accepted(const char *opt, const char *val)
{
	struct conf c;
	char *err = NULL;

	if (load(&c, &err, opt, val, "/certs", NULL) != CONF_OK)
		fail_msg("%s %s: refused (%s)", opt, val, err ? err : "(null)");
	conf_free(&c);
}

/* Every numeric option has a range; its bounds are accepted, a step beyond is not. */
static void test_ranges(void **state)
{
	static const struct {
		const char *opt, *min, *max, *below, *above, *range;
	} r[] = {
		{ "--refresh-interval", "1", "86400", "0.999", "86400.5", "from 1 to 86400" },
		{ "--minimum-validity", "1", "2592000", "0.5", "2592001", "from 1 to 2592000" },
		{ "--renewal-threads", "0", "64", "-1", "65", "from 0 to 64" },
		{ "--alert-before", "1", "2592000", "0", "2592001", "from 1 to 2592000" },
		{ "--connect-timeout", "0.1", "300", "0.0999", "300.001", "from 0.1 to 300" },
		{ "--timeout", "0.1", "300", "0.0004", "301", "from 0.1 to 300" },
		{ "--default-validity", "60", "604800", "59", "604801", "from 60 to 604800" },
	};
	struct conf c;
	char *err;

	(void)state;
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		if (strcmp(r[i].opt, "--connect-timeout") == 0) {
			/* connect-timeout may not exceed timeout: give it room. */
			assert_int_equal(load(&c, &err, "--timeout", "300", "--connect-timeout", r[i].max, "/certs", NULL), CONF_OK);
			conf_free(&c);
		} else {
			expect_accepted(r[i].opt, r[i].max);
		}
		expect_accepted(r[i].opt, r[i].min);
		expect_refused(r[i].opt + 2, r[i].range, r[i].opt, r[i].below);
		expect_refused(r[i].opt + 2, r[i].range, r[i].opt, r[i].above);
	}
	/* What strtod would take but is no plain number of seconds. */
	static const char *junk[] = { "nan", "NaN", "inf", "-inf", "infinity", "1e3", "0x10", " 5", "5 ",
	    "+5", "-5", "", ".", "5.", "1,5", "10s", "1e999", "99999999999999999999999999999999" };
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		if (strcmp(junk[i], "5.") == 0) {
			expect_accepted("--refresh-interval", junk[i]);
			continue;
		}
		expect_refused("refresh-interval", "from 1 to 86400", "--refresh-interval", junk[i]);
	}
	/* Whole numbers only where a count is meant; huge ones do not wrap around. */
	expect_refused("renewal-threads", "whole number", "-t", "2.5");
	expect_refused("renewal-threads", "whole number", "-t", "4294967298");
	expect_refused("renewal-threads", "whole number", "-t", "99999999999999999999");
	/* The values that became "no limit" (issue 11). */
	expect_refused("timeout", "0.1", "--timeout", "0.0004");
	expect_refused("connect-timeout", "0.1", "--connect-timeout", "0.0001");
	expect_refused("refresh-interval", "1", "--refresh-interval", "0.000001");
	/* A fraction is kept as given. */
	assert_int_equal(load(&c, &err, "--connect-timeout", "0.25", "--timeout", "0.5", "/certs", NULL), CONF_OK);
	assert_true(c.connect_timeout == 0.25 && c.timeout == 0.5);
	conf_free(&c);
}

/* A value out of range in the file names the file, the line and the range. */
static void test_ranges_in_file(void **state)
{
	struct conf c;
	char *err = NULL;

	(void)state;
	write_cfg("timeout = 10\nrefresh-interval = 0.000001\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, "/certs", NULL), CONF_ERROR);
	assert_non_null(err);
	assert_non_null(strstr(err, cfgpath));
	assert_non_null(strstr(err, ":2: refresh-interval"));
	assert_non_null(strstr(err, "from 1 to 86400"));
	free(err);
	conf_free(&c);

	write_cfg("verbose = 10\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, "/certs", NULL), CONF_ERROR);
	assert_non_null(strstr(err, ":1: verbose"));
	free(err);
	conf_free(&c);

	write_cfg("renewal-threads = 65\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, "/certs", NULL), CONF_ERROR);
	assert_non_null(strstr(err, ":1: renewal-threads"));
	assert_non_null(strstr(err, "from 0 to 64"));
	free(err);
	conf_free(&c);

	/* The command line does not rescue a bad file: the file is refused as a whole. */
	write_cfg("timeout = nan\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, "--timeout", "5", "/certs", NULL), CONF_ERROR);
	assert_non_null(strstr(err, ":1: timeout"));
	free(err);
	conf_free(&c);
}

/* connect-timeout is part of timeout. */
static void test_timeouts(void **state)
{
	struct conf c;
	char *err = NULL;

	(void)state;
	/* Only timeout given, shorter than the default connect timeout: the latter shrinks. */
	assert_int_equal(load(&c, &err, "--timeout", "3", "/certs", NULL), CONF_OK);
	assert_true(c.timeout == 3 && c.connect_timeout == 3);
	conf_free(&c);
	/* Both given, contradicting: refused, saying where each came from. */
	assert_int_equal(load(&c, &err, "--timeout", "3", "--connect-timeout", "4", "/certs", NULL), CONF_ERROR);
	assert_non_null(strstr(err, "connect-timeout"));
	assert_non_null(strstr(err, "command line"));
	free(err);
	conf_free(&c);
	write_cfg("# timeouts\nconnect-timeout = 20\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, "/certs", NULL), CONF_ERROR);
	assert_non_null(strstr(err, "connect-timeout: 20 s"));
	assert_non_null(strstr(err, ":2)"));
	assert_non_null(strstr(err, "timeout 15 s (default)"));
	free(err);
	conf_free(&c);
	/* Equal is fine. */
	assert_int_equal(load(&c, &err, "-c", cfgpath, "--timeout", "20", "/certs", NULL), CONF_OK);
	assert_true(c.timeout == 20 && c.connect_timeout == 20);
	conf_free(&c);
}

/* A key given twice in the file: an error naming both lines, unless it is a list. */
static void test_duplicate_keys(void **state)
{
	static const char *twice[] = {
		"timeout = 3\nhook = a\ntimeout = 4\n",
		"recursive = true\nrecursive = true\n",
		"hook = one\nhook = two\n",
		"verbose = 1\nverbose = 2\n",
		/* The optional section does not make it another key. */
		"logdir = /a\n[ocspd]\nlogdir = /b\n",
	};
	static const int lines[][2] = { { 1, 3 }, { 1, 2 }, { 1, 2 }, { 1, 2 }, { 1, 3 } };
	struct conf c;
	char *err = NULL, want[64];

	(void)state;
	for (size_t i = 0; i < sizeof(twice) / sizeof(twice[0]); i++) {
		write_cfg(twice[i]);
		assert_int_equal(load(&c, &err, "-c", cfgpath, "/certs", NULL), CONF_ERROR);
		assert_non_null(err);
		snprintf(want, sizeof(want), "lines %d and %d", lines[i][0], lines[i][1]);
		if (strstr(err, want) == NULL || strstr(err, "twice") == NULL || strstr(err, cfgpath) == NULL)
			fail_msg("\"%s\": error \"%s\" does not say \"%s\"", twice[i], err, want);
		free(err);
		err = NULL;
		conf_free(&c);
	}
	/* An indented line is a line of its own, not the previous value continued. */
	write_cfg("hook = a\n  timeout = 4\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, "/certs", NULL), CONF_OK);
	assert_string_equal(c.hook, "a");
	assert_true(c.timeout == 4);
	conf_free(&c);
	/* " ;" is part of the value, not a comment that cuts a shell command short. */
	write_cfg("hook = systemctl reload nginx ; logger done\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, "/certs", NULL), CONF_OK);
	assert_string_equal(c.hook, "systemctl reload nginx ; logger done");
	conf_free(&c);
	write_cfg("cert-paths = /a,\n  /b\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, NULL), CONF_ERROR);
	assert_non_null(strstr(err, ":2: syntax error"));
	free(err);
	conf_free(&c);
}

/* A list key given on several lines adds up; the command line still replaces it. */
static void test_list_keys_add(void **state)
{
	struct conf c;
	char *err = NULL;

	(void)state;
	write_cfg("cert-paths = /a, /b\n"
	    "ignore = *.bak\n"
	    "cert-paths = /c\n"
	    "file-extensions = crt\n"
	    "haproxy-sockets = /a=/run/a.sock\n"
	    "file-extensions = pem\n"
	    "ignore = old-*\n"
	    "haproxy-sockets = /c=/run/c.sock\n"
	    "haproxy-config = /etc/haproxy/a.cfg\n"
	    "haproxy-config = /etc/haproxy/b.cfg\n");
	assert_int_equal(load(&c, &err, "-c", cfgpath, NULL), CONF_OK);
	assert_null(err);
	assert_int_equal(c.cert_paths.n, 3);
	assert_true(has(&c.cert_paths, "/a") && has(&c.cert_paths, "/b") && has(&c.cert_paths, "/c"));
	assert_int_equal(c.ignore.n, 2);
	assert_true(has(&c.ignore, "*.bak") && has(&c.ignore, "old-*"));
	/* The first line replaces the default crt,pem,cer; the next adds. */
	assert_int_equal(c.extensions.n, 2);
	assert_true(has(&c.extensions, "crt") && has(&c.extensions, "pem"));
	assert_int_equal(c.haproxy_sockets.n, 2);
	assert_int_equal(c.haproxy_config.n, 2);
	conf_free(&c);

	/* A list on the command line replaces the file's whole list, both lines of it. */
	assert_int_equal(load(&c, &err, "-c", cfgpath, "-i", "*.tmp", "/cli", NULL), CONF_OK);
	assert_int_equal(c.ignore.n, 1);
	assert_string_equal(c.ignore.v[0], "*.tmp");
	assert_int_equal(c.cert_paths.n, 1);
	assert_string_equal(c.cert_paths.v[0], "/cli");
	assert_int_equal(c.haproxy_sockets.n, 2);	/* not on the command line: the file's */
	conf_free(&c);

	/* conf_read_file over values already held: the file's first line replaces them. */
	assert_int_equal(load(&c, &err, "-i", "*.x", "/certs", NULL), CONF_OK);
	write_cfg("ignore = *.y\nignore = *.z\n");
	assert_int_equal(conf_read_file(&c, cfgpath, &err), 0);
	assert_int_equal(c.ignore.n, 2);
	assert_true(has(&c.ignore, "*.y") && has(&c.ignore, "*.z"));
	conf_free(&c);
}

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("reading the config file blocked");
}

/* CONF_ERROR for -c path, promptly, with a message naming path and the words. */
static void expect_bad_file(const char *path, const char *want)
{
	struct conf c;
	char *err = NULL;

	alarm(10);
	if (load(&c, &err, "-c", path, "/certs", NULL) != CONF_ERROR)
		fail_msg("-c %s: accepted", path);
	alarm(0);
	if (err == NULL || strstr(err, path) == NULL || strstr(err, want) == NULL)
		fail_msg("-c %s: error \"%s\" lacks the path or \"%s\"", path, err ? err : "(null)", want);
	free(err);
	conf_free(&c);
}

/* Only a regular text file of bounded size is a config file. */
static void test_not_a_config_file(void **state)
{
	char fifo[sizeof(tmpdir) + 32], big[sizeof(tmpdir) + 32];
	FILE *f;

	(void)state;
	signal(SIGALRM, on_alarm);
	expect_bad_file(tmpdir, "a directory");
	expect_bad_file("/dev/zero", "a character device");
	expect_bad_file("/dev/null", "a character device");
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	expect_bad_file(fifo, "a FIFO");
	unlink(fifo);
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		assert_true(fd != -1);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/sock", tmpdir);
		assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
		expect_bad_file(sun.sun_path, "a socket");
		unlink(sun.sun_path);
		close(fd);
	}

	/* More than 1 MiB of comments. */
	snprintf(big, sizeof(big), "%s/big.conf", tmpdir);
	f = fopen(big, "w");
	assert_non_null(f);
	for (int i = 0; i < 20000; i++)
		fputs("# a comment line of some sixty bytes, repeated many times ...\n", f);
	fclose(f);
	expect_bad_file(big, "more than the 1048576 allowed");
	unlink(big);

	/* A NUL byte would cut the line silently. */
	f = fopen(cfgpath, "w");
	assert_non_null(f);
	fwrite("timeout = 3\nhook = a\0; rm -rf /\n", 1, 32, f);
	fclose(f);
	expect_bad_file(cfgpath, ":2: a NUL byte");

	/* A line longer than inih's buffer would be split into two lines. */
	f = fopen(cfgpath, "w");
	assert_non_null(f);
	fputs("timeout = 3\nhook = ", f);
	for (int i = 0; i < 300; i++)
		fputc('x', f);
	fputs(" timeout = 4\n", f);
	fclose(f);
	expect_bad_file(cfgpath, ":2: line longer than");

	/* Short text, but a long line all the same: 300 carriage returns (found by fuzz_conf). */
	f = fopen(cfgpath, "w");
	assert_non_null(f);
	fputs("verbose = 1\nrenewal-threads = 3", f);
	for (int i = 0; i < 300; i++)
		fputc('\r', f);
	fputs("\n", f);
	fclose(f);
	expect_bad_file(cfgpath, ":2: line longer than");
	signal(SIGALRM, SIG_DFL);
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
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_ranges_in_file),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_list_keys_add),
		cmocka_unit_test(test_not_a_config_file),
		cmocka_unit_test(test_help_version),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
