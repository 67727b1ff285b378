/*
 * Unit tests for haproxy: answer classification, path mapping, haproxy.cfg
 * parsing, and the connection logic against a scripted fake admin socket
 * (pipelined answers, the set/commit fallback, abort after a failed commit,
 * reconnect + push again, --one-off giving up). The real HAProxy is in
 * tests/it/haproxy-*.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <ev.h>

#include "haproxy.h"
#include "haproxy-cfg.h"
#include "metrics.h"
#include "log.h"

static char tmpdir[] = "/tmp/test_haproxy.XXXXXX";

/* snprintf that must fit. */
#define FMT(buf, ...) assert_true(snprintf(buf, sizeof(buf), __VA_ARGS__) < (int)sizeof(buf))

/* ================================================================ pem_payload */

/*
 * The withdrawal payload: only PEM blocks, no blank line (it would end the
 * payload and make the rest of the file CLI commands), no control byte.
 */
static void test_pem_payload(void **state)
{
	const char *bundle =
	    "# a comment line: not sent\r\n"
	    "-----BEGIN CERTIFICATE-----\r\nAAAA\r\n\r\nBBBB\r\n-----END CERTIFICATE-----\r\n"
	    "\n"
	    "show info\n"
	    "-----BEGIN PRIVATE KEY-----\nCCCC\n-----END PRIVATE KEY-----";
	const char *want =
	    "-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\n"
	    "-----BEGIN PRIVATE KEY-----\nCCCC\n-----END PRIVATE KEY-----\n";
	const char *bad[] = {
	    "",						/* nothing */
	    "just text\n",				/* no block */
	    "-----BEGIN CERTIFICATE-----\nAAAA\n",	/* unterminated */
	    "-----BEGIN CERTIFICATE-----\nAA\001A\n-----END CERTIFICATE-----\n",
	    "-----BEGIN CERTIFICATE-----\nAA\tA\n-----END CERTIFICATE-----\n",
	    "-----BEGIN CERTIFICATE-----\nAA\xc3\xa9\n-----END CERTIFICATE-----\n",
	};
	char *out, *err = NULL;
	size_t len = 0;

	(void)state;
	out = haproxy_pem_payload(bundle, strlen(bundle), &len, &err);
	assert_non_null(out);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
	assert_null(memmem(out, len, "\n\n", 2));
	free(out);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = haproxy_pem_payload(bad[i], strlen(bad[i]), &len, &err);
		assert_null(out);
		assert_non_null(err);
		/* The reason never quotes the file (it may be a key). */
		assert_null(strstr(err, "AA"));
		free(err);
		err = NULL;
	}
}

/* ================================================================ quote_arg */

/*
 * The HAProxy 2.6 CLI's reading of one line, as src/cli.c does it: the
 * command ends at the first ';' not escaped by '\\' (returns 0 if any is
 * left over), a line ending in "<<" starts a payload (returns 0), words split
 * at unescaped blanks, one '\\' dropped before any byte. Fills w (at most
 * max words) and returns their number.
 */
static int cli_split(const char *line, char w[][1024], int max)
{
	size_t len = strlen(line), i;
	int n = 0;

	for (i = 0; i < len; i++) {
		if (line[i] == '\\')
			i++;
		else if (line[i] == ';')
			return 0;
	}
	if (len >= 2 && strcmp(line + len - 2, "<<") == 0)
		return 0;
	for (i = 0; i < len && n < max;) {
		size_t o = 0;

		while (line[i] == ' ' || line[i] == '\t')
			i++;
		if (line[i] == '\0')
			break;
		while (line[i] != '\0' && line[i] != ' ' && line[i] != '\t' && o + 1 < 1024) {
			if (line[i] == '\\' && line[i + 1] != '\0')
				i++;
			w[n][o++] = line[i++];
		}
		w[n++][o] = '\0';
	}
	return n;
}

static void test_quote_arg(void **state)
{
	const char *hostile[] = {
		"/x/x;shutdown frontend plain;y.pem", "/x/a b.pem", "/x/tab\\t.pem",
		"/x/back\\slash.pem", "/x/trail\\", "/x/lt<<.pem", "/x/end<<", "/x/<<",
		"/x/\\;shutdown frontend plain", "/x/\"quoted\" 'single'.pem", "/x/#hash.pem",
		"/x/caf\xc3\xa9.pem", "/x/$(id)`id`|&*?!.pem", "plain.pem",
	};
	char out[1024], line[1200], w[8][1024];
	char *err = NULL;
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		n = haproxy_quote_arg(hostile[i], out, sizeof(out), &err);
		assert_true(n > 0);
		assert_int_equal((size_t)n, strlen(out));
		FMT(line, "commit ssl cert %s", out);
		assert_int_equal(cli_split(line, w, 8), 4);
		assert_string_equal(w[3], hostile[i]);
		FMT(line, "set ssl cert %s.ocsp <<", out);
		/* The payload marker of this line is the last word, not part of the name. */
		assert_int_equal(cli_split(line, w, 8), 0);
		line[strlen(line) - 3] = '\0';
		assert_int_equal(cli_split(line, w, 8), 4);
		assert_non_null(strstr(w[3], ".ocsp"));
		assert_int_equal(strncmp(w[3], hostile[i], strlen(hostile[i])), 0);
	}
	assert_int_equal(haproxy_quote_arg("/x/a b;c\\d<e", out, sizeof(out), &err), 16);
	assert_string_equal(out, "/x/a\\ b\\;c\\\\d\\<e");
	assert_int_equal(haproxy_quote_arg("/srv/www-1/a_b.c+d=e,f:g@h%i~j.pem", out, sizeof(out), &err), 34);

	/* What the CLI cannot take: refused, with the reason. */
	const char *refused[] = { "/x/new\nline.pem", "/x/cr\r", "/x/esc\x1b[31m", "/x/del\x7f", "/x/\t", "" };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(haproxy_quote_arg(refused[i], out, sizeof(out), &err), -1);
		assert_non_null(err);
		free(err);
		err = NULL;
	}
	/* Too long once escaped: refused, never cut. */
	assert_int_equal(haproxy_quote_arg("a;b", out, 4, &err), -1);
	assert_non_null(strstr(err, "too long"));
	free(err);
	err = NULL;
	assert_int_equal(haproxy_quote_arg("a;b", out, 5, NULL), 4);
}

/* ================================================================ classify */

static void test_classify(void **state)
{
	(void)state;
#define C(s) haproxy_classify(s, strlen(s))
	assert_int_equal(C(""), HAPROXY_ANS_EMPTY);
	assert_int_equal(C("\n"), HAPROXY_ANS_EMPTY);
	assert_int_equal(C("OCSP Response updated!\n"), HAPROXY_ANS_UPDATED);
	assert_int_equal(C("OCSP single response: Certificate ID does not match any certificate or issuer.\n"),
	    HAPROXY_ANS_NOT_LOADED);
	assert_int_equal(C("+ + Transaction created for certificate /x/b.pem!\n"), HAPROXY_ANS_TRANSACTION);
	assert_int_equal(C("Committing /x/b.pem.\nSuccess!\n"), HAPROXY_ANS_COMMITTED);
	/* Real failures seen from HAProxy 2.6. */
	assert_int_equal(C("No ongoing transaction! !\nCan't commit /x/b.pem!\n"), HAPROXY_ANS_OTHER);
	assert_int_equal(C("+ + Transaction updated for certificate /x/a.pem!\n"), HAPROXY_ANS_OTHER);
	assert_int_equal(C("+ + Can't replace a certificate which is not referenced by the configuration!\n"
	    "Can't update /x/zz.pem.ocsp!\n"), HAPROXY_ANS_OTHER);
	assert_int_equal(C("Unable to parse OCSP response.\n"), HAPROXY_ANS_OTHER);
	assert_int_equal(C("Permission denied\n"), HAPROXY_ANS_OTHER);
	assert_int_equal(C("Unknown command. Please enter one of the following commands only :\n"),
	    HAPROXY_ANS_OTHER);
	/* Not NUL-terminated: only len bytes count. */
	assert_int_equal(haproxy_classify("OCSP Response updated!", 4), HAPROXY_ANS_OTHER);
	assert_int_equal(haproxy_classify("+ ", 2), HAPROXY_ANS_EMPTY);
#undef C
}

/* ================================================================ paths */

static void test_path_under(void **state)
{
	(void)state;
	assert_string_equal(haproxy_path_under("/a/b", "/a/b/c.pem"), "/c.pem");
	assert_string_equal(haproxy_path_under("/a/b/", "/a/b/c.pem"), "/c.pem");
	assert_string_equal(haproxy_path_under("/a/b//", "/a/b/s/c.pem"), "/s/c.pem");
	assert_string_equal(haproxy_path_under("/a/b.pem", "/a/b.pem"), "");
	assert_string_equal(haproxy_path_under("/", "/x.pem"), "/x.pem");
	assert_null(haproxy_path_under("/a/b", "/a/bc.pem"));
	assert_null(haproxy_path_under("/a/b.pem", "/a/b.pem.ocsp"));
	assert_null(haproxy_path_under("/a/b", "/a"));
	assert_null(haproxy_path_under("/a/b", "/c/a/b/x.pem"));
}

/* ================================================================ haproxy.cfg */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int has(const struct strlist *l, const char *s)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

static void test_cfg(void **state)
{
	char cfgpath[256], listpath[256], text[4096];
	struct haproxy_cfg cfg;
	struct strlist crts = { NULL, 0 }, cfgs = { NULL, 0 };
	char *err = NULL, *v[2];

	(void)state;
	snprintf(listpath, sizeof(listpath), "%s/list.txt", tmpdir);
	write_file(listpath,
	    "# comment line\n"
	    "\n"
	    "listed/one.pem [alpn h2] one.test\n"
	    "   /abs/two.pem   # trailing comment\n"
	    "\"quoted dir/three.pem\" !*.example\n");
	snprintf(cfgpath, sizeof(cfgpath), "%s/haproxy.cfg", tmpdir);
	snprintf(text, sizeof(text),
	    "# global settings\n"
	    "global\n"
	    "    crt-base /etc/ssl/base/\n"
	    "    stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners\n"
	    "    stats socket /run/haproxy/op.sock level operator\n"
	    "    stats socket /run/haproxy/default.sock\n"
	    "    stats socket ipv4@127.0.0.1:9999 level admin\n"
	    "    stats socket unix@/run/haproxy/prefixed.sock level admin\n"
	    "defaults\n"
	    "    mode http\n"
	    "    bind 1.2.3.4:1 ssl crt /not/in/a/frontend.pem\n"
	    "frontend fe\n"
	    "\tbind :443 ssl crt site/ crt /abs/file.pem alpn h2\n"
	    "\tbind :8443 ssl crt-list %s # comment\n"
	    "\tbind :80\n"
	    "backend be\n"
	    "    server s1 127.0.0.1:8080 ssl crt /client/cert.pem\n"
	    "listen li\n"
	    "    bind :9443 ssl crt \"/with space/dir\"\n",
	    listpath);
	write_file(cfgpath, text);

	assert_int_equal(haproxy_cfg_read(cfgpath, &cfg, &err), 0);
	assert_null(err);
	assert_int_equal(cfg.sockets.n, 2);
	assert_true(has(&cfg.sockets, "/run/haproxy/admin.sock"));
	assert_true(has(&cfg.sockets, "/run/haproxy/prefixed.sock"));
	assert_int_equal(cfg.other_sockets.n, 3);	/* operator, default level, TCP */
	assert_true(has(&cfg.crts, "/etc/ssl/base/site"));
	assert_true(has(&cfg.crts, "/abs/file.pem"));
	assert_true(has(&cfg.crts, "/etc/ssl/base/listed/one.pem"));
	assert_true(has(&cfg.crts, "/abs/two.pem"));
	assert_true(has(&cfg.crts, "/etc/ssl/base/quoted dir/three.pem"));
	assert_true(has(&cfg.crts, "/with space/dir"));
	assert_false(has(&cfg.crts, "/not/in/a/frontend.pem"));
	assert_false(has(&cfg.crts, "/client/cert.pem"));	/* a server line, not a bind */
	assert_int_equal(cfg.crts.n, 6);
	haproxy_cfg_free(&cfg);

	v[0] = cfgpath;
	v[1] = NULL;
	cfgs.v = v;
	cfgs.n = 1;
	assert_int_equal(haproxy_cfg_crts(&cfgs, &crts, &err), 0);
	assert_int_equal(crts.n, 6);
	for (int i = 0; i < crts.n; i++)
		free(crts.v[i]);
	free(crts.v);

	/*
	 * Missing crt-list and missing file: the reader names the crt-list it
	 * found, never the file it was given (log.h); haproxy_cfg_crts, its
	 * caller, puts that name first, once.
	 */
	write_file(cfgpath, "frontend fe\n bind :443 ssl crt-list /nonexistent/list\n");
	assert_int_equal(haproxy_cfg_read(cfgpath, &cfg, &err), -1);
	assert_non_null(strstr(err, "/nonexistent/list: cannot read crt-list"));
	assert_null(strstr(err, cfgpath));
	free(err);
	err = NULL;
	assert_int_equal(haproxy_cfg_read("/nonexistent/haproxy.cfg", &cfg, &err), -1);
	assert_string_equal(err, "cannot read HAProxy config (No such file or directory)");
	free(err);
	err = NULL;
	v[0] = "/nonexistent/haproxy.cfg";
	cfgs.v = v;
	cfgs.n = 1;
	crts.v = NULL;
	crts.n = 0;
	assert_int_equal(haproxy_cfg_crts(&cfgs, &crts, &err), -1);
	assert_int_equal(crts.n, 0);
	assert_string_equal(err, "/nonexistent/haproxy.cfg: cannot read HAProxy config (No such file or directory)");
	free(err);
}

/* ================================================================ fake admin socket */

/* A scripted HAProxy CLI: knows which certificates had a .ocsp at load time. */
struct fake {
	int lfd;			/* listening socket */
	int cfd;			/* the client, -1 when none */
	ev_io lio;			/* accept */
	ev_io cio;			/* client readable */
	char in[65536];			/* unparsed input */
	size_t inlen;			/* bytes in in */
	char payload_name[512];		/* set ssl cert <name> << in progress, or "" */
	char txn[512];			/* open transaction, or "" */
	char known[8][64];		/* base64 staples HAProxy accepts directly */
	int nknown;			/* entries in known */
	int accepts;			/* connections accepted */
	int ocsp, set, commit, aborts;	/* commands seen */
	int silent;			/* read everything, answer nothing */
	char wpayload[4096];		/* payload of "set ssl cert .../w.pem <<" (a withdrawal) */
	size_t wlen;			/* bytes in wpayload */
};

static void fake_send(struct fake *f, const char *s)
{
	size_t n = strlen(s);

	/* Two writes: the reader must cope with answers split anywhere. */
	assert_true(write(f->cfd, s, n / 2) == (ssize_t)(n / 2));
	assert_true(write(f->cfd, s + n / 2, n - n / 2) == (ssize_t)(n - n / 2));
}

static void fake_line(struct fake *f, char *line)
{
	char buf[1024];

	if (f->silent)
		return;
	if (f->payload_name[0] != '\0') {
		size_t pl = strlen(f->payload_name);
		int withdrawal = pl >= 5 && strcmp(f->payload_name + pl - 5, "w.pem") == 0;

		if (line[0] != '\0') {
			/* payload line */
			if (withdrawal && f->wlen + strlen(line) + 1 < sizeof(f->wpayload)) {
				memcpy(f->wpayload + f->wlen, line, strlen(line));
				f->wlen += strlen(line);
				f->wpayload[f->wlen++] = '\n';
			}
			return;
		}
		if (withdrawal) {
			snprintf(f->txn, sizeof(f->txn), "%s", f->payload_name);
			snprintf(buf, sizeof(buf), "Transaction created for certificate %s!\n\n> ", f->txn);
			fake_send(f, buf);
		} else if (strstr(f->payload_name, "b.pem.ocsp") == NULL) {
			fake_send(f, "+ + Can't replace a certificate which is not referenced by the configuration!\n\n> ");
		} else {
			snprintf(f->txn, sizeof(f->txn), "%.*s", (int)(strlen(f->payload_name) - 5), f->payload_name);
			snprintf(buf, sizeof(buf), "+ + Transaction created for certificate %s!\n\n> ", f->txn);
			fake_send(f, buf);
		}
		f->payload_name[0] = '\0';
		return;
	}
	if (strcmp(line, "prompt") == 0 || strncmp(line, "set timeout cli ", 16) == 0) {
		fake_send(f, "\n> ");
	} else if (strcmp(line, "show info") == 0) {
		fake_send(f, "Name: HAProxy\nPid: 4242\nStopping: 0\n\n> ");
	} else if (strncmp(line, "set ssl ocsp-response ", 22) == 0) {
		int ok = 0;

		f->ocsp++;
		for (int i = 0; i < f->nknown; i++)
			ok |= strcmp(f->known[i], line + 22) == 0;
		fake_send(f, ok ? "OCSP Response updated!\n\n> " :
		    "OCSP single response: Certificate ID does not match any certificate or issuer.\n\n> ");
	} else if (strncmp(line, "set ssl cert ", 13) == 0) {
		char *sp = strchr(line + 13, ' ');

		f->set++;
		assert_non_null(sp);
		assert_string_equal(sp, " <<");
		snprintf(f->payload_name, sizeof(f->payload_name), "%.*s", (int)(sp - (line + 13)), line + 13);
	} else if (strncmp(line, "commit ssl cert ", 16) == 0) {
		f->commit++;
		if (f->txn[0] != '\0' && strcmp(f->txn, line + 16) == 0) {
			snprintf(buf, sizeof(buf), "Committing %s.\nSuccess!\n\n> ", f->txn);
			snprintf(f->known[f->nknown++], sizeof(f->known[0]), "%s", "QkJC");
			f->txn[0] = '\0';
		} else {
			snprintf(buf, sizeof(buf), "No ongoing transaction! !\nCan't commit %s!\n\n> ", line + 16);
		}
		fake_send(f, buf);
	} else if (strncmp(line, "abort ssl cert ", 15) == 0) {
		f->aborts++;
		fake_send(f, "No ongoing transaction!\n\n> ");
	} else {
		fake_send(f, "Unknown command.\n\n> ");
	}
}

static void fake_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fake *f = w->data;
	ssize_t r;
	char *nl;

	(void)revents;
	r = read(f->cfd, f->in + f->inlen, sizeof(f->in) - f->inlen - 1);
	if (r <= 0) {
		ev_io_stop(loop, &f->cio);
		close(f->cfd);
		f->cfd = -1;
		return;
	}
	f->inlen += (size_t)r;
	f->in[f->inlen] = '\0';
	while ((nl = memchr(f->in, '\n', f->inlen)) != NULL) {
		size_t n = (size_t)(nl - f->in) + 1;

		*nl = '\0';
		fake_line(f, f->in);
		memmove(f->in, f->in + n, f->inlen - n);
		f->inlen -= n;
	}
}

static void fake_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fake *f = w->data;

	(void)revents;
	f->cfd = accept(f->lfd, NULL, NULL);
	assert_true(f->cfd != -1);
	f->accepts++;
	f->inlen = 0;
	ev_io_init(&f->cio, fake_read, f->cfd, EV_READ);
	f->cio.data = f;
	ev_io_start(loop, &f->cio);
}

static void fake_listen(struct ev_loop *loop, struct fake *f, const char *path)
{
	struct sockaddr_un sun;

	memset(f, 0, sizeof(*f));
	f->cfd = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	FMT(sun.sun_path, "%s", path);
	unlink(path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd != -1);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	ev_io_init(&f->lio, fake_accept, f->lfd, EV_READ);
	f->lio.data = f;
	ev_io_start(loop, &f->lio);
}

static void fake_close(struct ev_loop *loop, struct fake *f)
{
	ev_io_stop(loop, &f->lio);
	ev_io_stop(loop, &f->cio);
	if (f->cfd != -1)
		close(f->cfd);
	close(f->lfd);
}

/* The staples "the core" holds, for the push-again after a reconnect. */
struct staple {
	char path[256];			/* certificate */
	const char *der;		/* bytes */
};
static struct staple staples[3];
static int nstaples;

static void foreach(void *ctx, deliver_each_fn *fn, void *fnarg)
{
	(void)ctx;
	for (int i = 0; i < nstaples; i++)
		fn(fnarg, staples[i].path, (const unsigned char *)staples[i].der, strlen(staples[i].der));
}

/* Runs the loop until cond() holds; fails after 2000 iterations of at most 10 ms. */
static ev_timer tick;
static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

#define RUN_UNTIL(loop, cond) do { \
	int n_ = 0; \
	ev_timer_init(&tick, on_tick, 0.01, 0.01); \
	ev_timer_start(loop, &tick); \
	while (!(cond) && n_++ < 2000) \
		ev_run(loop, EVRUN_ONCE); \
	ev_timer_stop(loop, &tick); \
	assert_true(cond); \
} while (0)

/* The ocspd_haproxy_pushes_total sample for result, as /metrics shows it. */
static long pushes(const char *result)
{
	char *buf = NULL, key[96], *p;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	long n = -1;

	assert_non_null(f);
	assert_int_equal(metrics_write(f), 0);
	assert_int_equal(fclose(f), 0);
	snprintf(key, sizeof(key), "ocspd_haproxy_pushes_total{result=\"%s\"} ", result);
	if ((p = strstr(buf, key)) != NULL)
		n = strtol(p + strlen(key), NULL, 10);
	free(buf);
	return n;
}

static void test_connection(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct haproxy *h;
	struct fake f;
	char sock[256], site[256], other[256];
	char *err = NULL;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/admin.sock", tmpdir);
	snprintf(site, sizeof(site), "%s/site", tmpdir);
	snprintf(other, sizeof(other), "%s/other/x.pem", tmpdir);
	mkdir(site, 0700);
	fake_listen(loop, &f, sock);
	snprintf(f.known[f.nknown++], sizeof(f.known[0]), "QUFB");	/* "AAA": a.pem had a .ocsp */

	h = haproxy_new(loop, 0, foreach, NULL);
	assert_non_null(h);
	assert_int_equal(haproxy_map(h, site, sock, &err), 0);
	assert_int_equal(haproxy_map(h, site, sock, &err), 0);		/* twice: one map */
	assert_int_equal(haproxy_count(h), 1);
	haproxy_start(h);
	assert_int_equal(haproxy_busy(h), 1);				/* connecting */
	RUN_UNTIL(loop, f.accepts == 1 && haproxy_busy(h) == 0);

	FMT(staples[0].path, "%s/a.pem", site);
	staples[0].der = "AAA";
	FMT(staples[1].path, "%s/b.pem", site);
	staples[1].der = "BBB";
	nstaples = 2;
	/* Pipelined: three pushes written before any answer is read. */
	haproxy_push(h, staples[0].path, (const unsigned char *)"AAA", 3);
	haproxy_push(h, staples[1].path, (const unsigned char *)"BBB", 3);
	haproxy_push(h, other, (const unsigned char *)"CCC", 3);		/* not mapped */
	{
		char d[256];

		FMT(d, "%s/d.pem", site);
		haproxy_push(h, d, (const unsigned char *)"DDD", 3);	/* set ssl cert refused */
	}
	assert_int_equal(haproxy_busy(h), 3);
	RUN_UNTIL(loop, haproxy_busy(h) == 0 && f.aborts == 1);
	assert_int_equal(f.ocsp, 3);
	assert_int_equal(f.set, 2);		/* b and d */
	assert_int_equal(f.commit, 2);
	assert_int_equal(f.aborts, 1);		/* after d's failed commit */
	assert_int_equal(f.nknown, 2);		/* b committed */
	assert_int_equal(pushes("updated"), 1);	/* a */
	assert_int_equal(pushes("committed"), 1);	/* b, through set ssl cert + commit */
	assert_int_equal(pushes("failed"), 1);	/* d, once although two commands failed */

	/* HAProxy drops the connection: reconnect, push a and b again (both direct now). */
	ev_io_stop(loop, &f.cio);
	close(f.cfd);
	f.cfd = -1;
	RUN_UNTIL(loop, f.accepts == 2 && f.ocsp == 5 && haproxy_busy(h) == 0);
	assert_int_equal(f.set, 2);
	assert_int_equal(pushes("updated"), 3);	/* a and b again */
	assert_int_equal(pushes("failed"), 1);	/* the lost connection is not a failure */

	haproxy_free(h);
	haproxy_free(NULL);
	fake_close(loop, &f);
	unlink(sock);
	ev_loop_destroy(loop);
}

/*
 * A withdrawal: "set ssl cert <crt> <<" with the PEM blocks of the file as
 * it is when the command is written, then "commit"; refused without a
 * command when the file is no longer the one parsed.
 */
static void test_withdraw(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct haproxy *h;
	struct fake f;
	struct stat st;
	struct deliver_ident id;
	char sock[256], site[256], w[256];
	char *err = NULL;
	long committed, failed;
	const char *pem =
	    "junk before\n"
	    "-----BEGIN CERTIFICATE-----\nAAAA\n\nBBBB\n-----END CERTIFICATE-----\n"
	    "\nshow info\n"
	    "-----BEGIN PRIVATE KEY-----\nKEYKEY\n-----END PRIVATE KEY-----\n";
	const char *sent =
	    "-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\n"
	    "-----BEGIN PRIVATE KEY-----\nKEYKEY\n-----END PRIVATE KEY-----\n";

	(void)state;
	snprintf(sock, sizeof(sock), "%s/wadmin.sock", tmpdir);
	snprintf(site, sizeof(site), "%s/wsite", tmpdir);
	FMT(w, "%s/w.pem", site);
	mkdir(site, 0700);
	write_file(w, pem);
	assert_int_equal(stat(w, &st), 0);
	id.dev = st.st_dev;
	id.ino = st.st_ino;
	id.size = st.st_size;
	id.mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	fake_listen(loop, &f, sock);
	nstaples = 0;
	h = haproxy_new(loop, 0, foreach, NULL);
	assert_int_equal(haproxy_map(h, site, sock, &err), 0);
	haproxy_start(h);
	RUN_UNTIL(loop, f.accepts == 1 && haproxy_busy(h) == 0);
	committed = pushes("committed");
	failed = pushes("failed");

	haproxy_withdraw(h, w, &id);
	assert_int_equal(haproxy_busy(h), 2);		/* set + commit */
	RUN_UNTIL(loop, haproxy_busy(h) == 0);
	assert_int_equal(f.set, 1);
	assert_int_equal(f.commit, 1);
	assert_int_equal(f.wlen, strlen(sent));
	assert_memory_equal(f.wpayload, sent, f.wlen);	/* no blank line, no "show info" */
	assert_int_equal(pushes("committed"), committed + 1);

	/* The file changes after it was parsed: nothing is sent, a failure is counted. */
	write_file(w, pem);
	assert_int_equal(utimensat(AT_FDCWD, w, (const struct timespec[]){ { 0, 0 }, { 1, 0 } }, 0), 0);
	haproxy_withdraw(h, w, &id);
	RUN_UNTIL(loop, haproxy_busy(h) == 0);
	assert_int_equal(f.set, 1);
	assert_int_equal(f.commit, 1);
	assert_int_equal(pushes("failed"), failed + 1);
	/* The connection stays in step: the next withdrawal (new identity) goes through. */
	assert_int_equal(stat(w, &st), 0);
	id.mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	id.ino = st.st_ino;
	id.size = st.st_size;
	f.wlen = 0;
	haproxy_withdraw(h, w, &id);
	RUN_UNTIL(loop, haproxy_busy(h) == 0);
	assert_int_equal(f.set, 2);
	assert_int_equal(f.commit, 2);
	assert_int_equal(f.wlen, strlen(sent));
	assert_int_equal(pushes("committed"), committed + 2);

	haproxy_free(h);
	fake_close(loop, &f);
	unlink(sock);
	unlink(w);
	rmdir(site);
	ev_loop_destroy(loop);
}

static void test_one_off_gives_up(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct haproxy *h;
	char sock[256], notsock[256];
	char *err = NULL;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/nobody.sock", tmpdir);
	snprintf(notsock, sizeof(notsock), "%s/plain", tmpdir);
	write_file(notsock, "");
	nstaples = 0;
	h = haproxy_new(loop, 1, foreach, NULL);
	assert_int_equal(haproxy_map(h, tmpdir, notsock, &err), -1);
	assert_non_null(strstr(err, "not a unix socket"));
	free(err);
	assert_int_equal(haproxy_map(h, tmpdir, sock, &err), 0);	/* absent: fine */
	haproxy_start(h);
	assert_int_equal(haproxy_busy(h), 1);
	RUN_UNTIL(loop, haproxy_busy(h) == 0);
	haproxy_push(h, sock, (const unsigned char *)"AAA", 3);		/* ignored, not queued */
	assert_int_equal(haproxy_busy(h), 0);
	haproxy_free(h);
	unlink(notsock);
	ev_loop_destroy(loop);
}

/*
 * Peers that break the protocol (issue 11): answers to no command, an
 * answer without end, no answer at all. Each closes the connection, and
 * nothing they send is taken as the answer to a later command.
 */
static void test_bad_peers(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct haproxy *h;
	struct fake f;
	char sock[256], site[256], big[70000];
	char *err = NULL;
	long failed;
	ev_tstamp t;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/bad.sock", tmpdir);
	snprintf(site, sizeof(site), "%s/site", tmpdir);
	mkdir(site, 0700);
	nstaples = 0;
	fake_listen(loop, &f, sock);
	h = haproxy_new(loop, 0, foreach, NULL);
	assert_int_equal(haproxy_map(h, site, sock, &err), 0);
	haproxy_start(h);
	RUN_UNTIL(loop, f.accepts == 1 && haproxy_busy(h) == 0);

	/* Two answers nobody asked for (once "show info" is answered too): out of step,
	 * closed, reconnected after a backoff. */
	t = ev_time();
	RUN_UNTIL(loop, ev_time() - t > 0.2);
	fake_send(&f, "\n> OCSP Response updated!\n\n> ");
	RUN_UNTIL(loop, f.cfd == -1);
	t = ev_time();
	RUN_UNTIL(loop, f.accepts == 2 && haproxy_busy(h) == 0);
	assert_true(ev_time() - t >= HAPROXY_BACKOFF_MIN - 0.05);

	/* An answer longer than HAPROXY_ANSWER_MAX without a prompt: cut off. */
	memset(big, 'x', sizeof(big));
	assert_true(write(f.cfd, big, sizeof(big)) == (ssize_t)sizeof(big));
	RUN_UNTIL(loop, f.cfd == -1);
	haproxy_free(h);
	fake_close(loop, &f);

	/* --one-off, a peer that never answers: given up after HAPROXY_ANSWER_TIMEOUT, push failed. */
	fake_listen(loop, &f, sock);
	f.silent = 1;
	failed = pushes("failed");
	h = haproxy_new(loop, 1, foreach, NULL);
	assert_int_equal(haproxy_map(h, site, sock, &err), 0);
	haproxy_start(h);
	RUN_UNTIL(loop, f.accepts == 1 && haproxy_busy(h) == 0);	/* connected: nothing to push yet */
	{
		char a[256];

		FMT(a, "%s/a.pem", site);
		haproxy_push(h, a, (const unsigned char *)"AAA", 3);
	}
	assert_int_equal(haproxy_busy(h), 1);
	t = ev_time();
	RUN_UNTIL(loop, haproxy_busy(h) == 0);
	assert_true(ev_time() - t >= HAPROXY_ANSWER_TIMEOUT - 1);
	assert_int_equal(haproxy_failed(h), 1);
	assert_int_equal(pushes("failed"), failed + 1);
	haproxy_free(h);
	fake_close(loop, &f);
	unlink(sock);
	ev_loop_destroy(loop);
}

static int setup(void **state)
{
	char *err = NULL;

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return log_setup(LOG_LVL_ERR, 0, NULL, NULL, &err) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_arg),
		cmocka_unit_test(test_pem_payload),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_path_under),
		cmocka_unit_test(test_cfg),
		cmocka_unit_test(test_connection),
		cmocka_unit_test(test_withdraw),
		cmocka_unit_test(test_one_off_gives_up),
		cmocka_unit_test(test_bad_peers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
