/* Unit tests for watch_wanted: which file names count as certificates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "conf.h"
#include "watch.h"

/* A struct conf built by hand: only the fields watch_wanted looks at. */
struct fixture {
	struct conf c;		/* zeroed, then extensions and ignore set */
	char *exts[8];		/* backing store of c.extensions */
	char *globs[8];		/* backing store of c.ignore */
};

static void set_list(struct strlist *l, char **store, const char *items[])
{
	int n = 0;

	while (items != NULL && items[n] != NULL) {
		store[n] = (char *)items[n];
		n++;
	}
	l->v = store;
	l->n = n;
}

static struct conf *make_conf(struct fixture *fx, const char *exts[], const char *globs[])
{
	memset(fx, 0, sizeof(*fx));
	set_list(&fx->c.extensions, fx->exts, exts);
	set_list(&fx->c.ignore, fx->globs, globs);
	fx->c.refresh_interval = 10;
	return &fx->c;
}

static const char *default_exts[] = { "crt", "pem", "cer", NULL };

#define WANTED(p, c)	assert_true(watch_wanted((p), (c)))
#define UNWANTED(p, c)	assert_false(watch_wanted((p), (c)))

static void test_extensions(void **state)
{
	struct fixture fx;
	struct conf *c = make_conf(&fx, default_exts, NULL);

	(void)state;
	WANTED("/etc/ssl/a.pem", c);
	WANTED("/etc/ssl/a.crt", c);
	WANTED("/etc/ssl/a.cer", c);
	WANTED("a.pem", c);
	WANTED("/etc/ssl/www.example.com.pem", c);
	WANTED("/etc/ssl/sub.dir/a.pem", c);
	UNWANTED("/etc/ssl/a.key", c);
	UNWANTED("/etc/ssl/a.der", c);
	UNWANTED("/etc/ssl/a", c);
	UNWANTED("/etc/ssl/pem", c);
	UNWANTED("/etc/ssl/apem", c);
	UNWANTED("/etc/ssl/a.xpem", c);
	UNWANTED("/etc/ssl/a.pem.bak", c);
	UNWANTED("/etc/ssl/a.pem~", c);
	UNWANTED("/etc/ssl/a.pem.issuer", c);
	UNWANTED("/etc/ssl/a.pem.key", c);
	UNWANTED("/etc/ssl/a.pem.sctl", c);
	UNWANTED("/etc/ssl/pem.d/a", c);
}

static void test_custom_extensions(void **state)
{
	struct fixture fx;
	const char *exts[] = { "crt", NULL };
	struct conf *c = make_conf(&fx, exts, NULL);

	(void)state;
	WANTED("/certs/a.crt", c);
	UNWANTED("/certs/a.pem", c);
	UNWANTED("/certs/a.cer", c);

	const char *exts2[] = { "bundle", "pem", NULL };
	c = make_conf(&fx, exts2, NULL);
	WANTED("/certs/a.bundle", c);
	WANTED("/certs/a.pem", c);
	UNWANTED("/certs/a.crt", c);
	UNWANTED("/certs/a.bundle.ocsp", c);
}

/* Staples and our temporary files are never certificates. */
static void test_staples_and_temp_files(void **state)
{
	struct fixture fx;
	struct conf *c = make_conf(&fx, default_exts, NULL);

	(void)state;
	UNWANTED("/certs/a.pem.ocsp", c);
	UNWANTED("/certs/a.crt.ocsp", c);
	UNWANTED("/certs/a.pem.ocsp.ocspd-tmp.Ab12Cd", c);
	UNWANTED("/certs/a.pem.ocspd-tmp.Ab12Cd", c);
	UNWANTED("/certs/.a.pem.ocspd-tmp.Ab12Cd", c);
	/* A temporary name that happens to end in a watched extension. */
	UNWANTED("/certs/a.pem.ocspd-tmp.x.pem", c);
	UNWANTED("/certs/.ocspd-tmp.a.pem", c);

	/* Even when someone lists "ocsp" as a certificate extension. */
	const char *exts[] = { "pem", "ocsp", NULL };
	c = make_conf(&fx, exts, NULL);
	UNWANTED("/certs/a.pem.ocsp", c);
	WANTED("/certs/a.pem", c);
}

/* Ignore globs are tried on the base name. */
static void test_ignore_base_name(void **state)
{
	struct fixture fx;
	const char *globs[] = { "*.bak.pem", "old-*", "test?.crt", NULL };
	struct conf *c = make_conf(&fx, default_exts, globs);

	(void)state;
	UNWANTED("/certs/x.bak.pem", c);
	UNWANTED("/certs/old-site.pem", c);
	UNWANTED("/certs/test1.crt", c);
	UNWANTED("old-site.pem", c);
	WANTED("/certs/x.pem", c);
	WANTED("/certs/site-old.pem", c);
	WANTED("/certs/test12.crt", c);
	WANTED("/certs/test1.pem", c);
	/* The glob is on the base name: a directory called old-* does not match it. */
	WANTED("/srv/old-certs/site.pem", c);
}

/* ... and on the full path. */
static void test_ignore_full_path(void **state)
{
	struct fixture fx;
	const char *globs[] = { "/certs/skip/*", "/srv/staging/*.crt", NULL };
	struct conf *c = make_conf(&fx, default_exts, globs);

	(void)state;
	UNWANTED("/certs/skip/a.pem", c);
	UNWANTED("/srv/staging/a.crt", c);
	WANTED("/srv/staging/a.pem", c);
	WANTED("/certs/keep/a.pem", c);
	WANTED("/certs/a.pem", c);
	WANTED("/other/skip/a.pem", c);
}

/* No ignore list and an exact name glob. */
static void test_ignore_exact(void **state)
{
	struct fixture fx;
	const char *globs[] = { "default.pem", NULL };
	struct conf *c = make_conf(&fx, default_exts, globs);

	(void)state;
	UNWANTED("/certs/default.pem", c);
	WANTED("/certs/default.crt", c);
	WANTED("/certs/notdefault.pem", c);
}

/* Names that could not be one line of a hook's input are refused; other bytes pass. */
static void test_name_clean(void **state)
{
	(void)state;
	assert_true(watch_name_clean("/etc/ssl/a b;$(x)-.pem"));
	assert_true(watch_name_clean("/etc/ssl/\xff\xfe-latin1.pem"));
	assert_true(watch_name_clean("/etc/ssl/caf\xc3\xa9.pem"));
	assert_false(watch_name_clean("/etc/ssl/evil\nforged.pem"));
	assert_false(watch_name_clean("/etc/ssl/esc\x1b[31m.pem"));
	assert_false(watch_name_clean("/etc/ssl/cr\r.pem"));
	assert_false(watch_name_clean("/etc/ssl/tab\t.pem"));
	assert_false(watch_name_clean("/etc/ssl/del\x7f.pem"));
	assert_false(watch_name_clean("/etc/ss\x01l/a.pem"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_custom_extensions),
		cmocka_unit_test(test_staples_and_temp_files),
		cmocka_unit_test(test_ignore_base_name),
		cmocka_unit_test(test_ignore_full_path),
		cmocka_unit_test(test_ignore_exact),
		cmocka_unit_test(test_name_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
