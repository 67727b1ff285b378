/* conf — see conf.h. */
#include "conf.h"
#include "log.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum opt_type {
	OPT_FLAG,		/* int, set to 1 (config: true/false) */
	OPT_COUNT,		/* int, incremented per use (config: a number) */
	OPT_INT,		/* int >= 1 */
	OPT_SECONDS,		/* double > 0 */
	OPT_STR,		/* char * */
	OPT_LIST,		/* struct strlist: repeatable, or comma-separated */
	OPT_SPECIAL,		/* handled by conf_load itself (-c, -h, -V) */
};

struct opt {
	const char *name;	/* long option and config key */
	int shortopt;		/* short option letter, or 0 */
	enum opt_type type;	/* how the value is parsed */
	size_t off;		/* offset of the field in struct conf */
	const char *arg;	/* argument name in --help, NULL for flags */
	const char *help;	/* one line of --help */
	int optional_arg;	/* the argument may be omitted (--logdir) */
};

#define F(x) offsetof(struct conf, x)

static const struct opt opts[] = {
	{ "cert-paths", 'p', OPT_LIST, F(cert_paths), "PATH", "certificate file or directory to watch (repeatable; also positional)", 0 },
	{ "recursive", 'R', OPT_FLAG, F(recursive), NULL, "descend into sub-directories", 0 },
	{ "ignore", 'i', OPT_LIST, F(ignore), "GLOB", "skip files whose name or path matches GLOB (repeatable)", 0 },
	{ "file-extensions", 0, OPT_LIST, F(extensions), "LIST", "extensions that count as certificates (default: crt,pem,cer)", 0 },
	{ "refresh-interval", 'r', OPT_SECONDS, F(refresh_interval), "S", "rescan the paths every S seconds as a fallback to inotify (default: 10)", 0 },
	{ "minimum-validity", 0, OPT_SECONDS, F(minimum_validity), "S", "renew at the latest S seconds before nextUpdate (default: 7200)", 0 },
	{ "maximum-interval", 0, OPT_SECONDS, F(maximum_interval), "S", "ask the responder again within S seconds whatever nextUpdate says, 10..31536000 (default: 86400)", 0 },
	{ "renewal-threads", 't', OPT_INT, F(threads), "N", "worker threads that parse and verify, 0 = none (default: 2)", 0 },
	{ "no-recycle", 0, OPT_FLAG, F(no_recycle), NULL, "fetch anew even when an existing staple is still good", 0 },
	{ "haproxy-sockets", 's', OPT_LIST, F(haproxy_sockets), "DIR=SOCKET", "push staples of certificates under DIR to this HAProxy admin socket (repeatable)", 0 },
	{ "haproxy-config", 0, OPT_LIST, F(haproxy_config), "FILE", "learn certificate directories and admin sockets from haproxy.cfg (repeatable)", 0 },
	{ "hook", 0, OPT_STR, F(hook), "CMD", "shell command run after staples change (paths on stdin and in OCSPD_CHANGED)", 0 },
	{ "alert-hook", 0, OPT_STR, F(alert_hook), "CMD", "shell command run when a certificate is revoked or its staple expires or nears expiry", 0 },
	{ "alert-before", 0, OPT_SECONDS, F(alert_before), "S", "alert when a staple expires within S seconds and renewal keeps failing (default: 3600)", 0 },
	{ "ca-file", 0, OPT_STR, F(ca_file), "FILE", "trust anchors for chain validation (default: system store)", 0 },
	{ "ca-path", 0, OPT_STR, F(ca_path), "DIR", "directory of hashed trust anchors (default: system store)", 0 },
	{ "connect-timeout", 0, OPT_SECONDS, F(connect_timeout), "S", "seconds to connect to a responder (default: 5)", 0 },
	{ "timeout", 0, OPT_SECONDS, F(timeout), "S", "seconds for a whole responder exchange (default: 15)", 0 },
	{ "default-validity", 0, OPT_SECONDS, F(default_validity), "S", "validity assumed for a response without nextUpdate (default: 3600)", 0 },
	{ "nonce", 0, OPT_FLAG, F(nonce), NULL, "send a nonce with every request and require it back (no request sharing)", 0 },
	{ "status-listen", 0, OPT_STR, F(status_listen), "ADDR:PORT", "serve /metrics and /status over HTTP here (a bare PORT means 127.0.0.1)", 0 },
	{ "user", 0, OPT_STR, F(user), "NAME", "after start-up, run as this user (needs root; refuses to go on as root)", 0 },
	{ "group", 0, OPT_STR, F(group), "NAME", "with --user: run as this group (default: the user's group)", 0 },
	{ "one-off", 0, OPT_FLAG, F(one_off), NULL, "one pass, then exit: 0 if every certificate has a valid staple, else 1", 0 },
	{ "config", 'c', OPT_SPECIAL, 0, "FILE", "config file (default: ~/.ocspd.conf, then /etc/ocspd/ocspd.conf)", 0 },
	{ "verbose", 'v', OPT_COUNT, F(verbose), NULL, "log every request, retry and timer (debug level)", 0 },
	{ "quiet", 'q', OPT_FLAG, F(quiet), NULL, "log errors only", 0 },
	{ "syslog", 0, OPT_FLAG, F(syslog), NULL, "log to syslog instead of stderr", 0 },
	{ "syslog-facility", 0, OPT_STR, F(syslog_facility), "NAME", "syslog facility: daemon, user or local0..local7 (default: daemon)", 0 },
	{ "logdir", 'l', OPT_STR, F(logdir), "DIR", "log to DIR/ocspd.log (DIR defaults to /var/log/ocspd)", 1 },
	{ "version", 'V', OPT_SPECIAL, 0, NULL, "print the version and exit", 0 },
	{ "help", 'h', OPT_SPECIAL, 0, NULL, "print this help and exit", 0 },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))
#define DEFAULT_LOGDIR "/var/log/ocspd"

static void strlist_free(struct strlist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void strlist_add(struct strlist *l, const char *s, size_t len)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (v == NULL || (v[l->n] = strndup(s, len)) == NULL)
		abort();
	l->v = v;
	l->n++;
}

/* Adds the comma-separated items of s, trimmed, empty ones dropped. */
static void strlist_add_split(struct strlist *l, const char *s)
{
	const char *end;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		end = strchr(s, ',');
		if (end == NULL)
			end = s + strlen(s);
		size_t len = end - s;
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len > 0)
			strlist_add(l, s, len);
		if (*end == '\0')
			break;
		s = end + 1;
	}
}

static void conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	strlist_add_split(&c->extensions, "crt,pem,cer");
	c->refresh_interval = 10;
	c->minimum_validity = 7200;
	c->maximum_interval = 86400;
	c->threads = 2;
	c->connect_timeout = 5;
	c->timeout = 15;
	c->default_validity = 3600;
	c->alert_before = 3600;
}

void conf_free(struct conf *c)
{
	for (size_t i = 0; i < NOPTS; i++) {
		void *field = (char *)c + opts[i].off;

		if (opts[i].type == OPT_LIST)
			strlist_free(field);
		else if (opts[i].type == OPT_STR) {
			free(*(char **)field);
			*(char **)field = NULL;
		}
	}
	free(c->config);
	c->config = NULL;
}

static const struct opt *opt_by_name(const char *name)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
}

/*
 * Sets one option from text. "from_file" selects the file's syntax for flags
 * (true/false) and lists (comma-separated, replacing the default). Returns 0,
 * or -1 with *err naming the option and the reason.
 */
static int opt_set(struct conf *c, const struct opt *o, const char *val,
    int from_file, char **err)
{
	void *field = (char *)c + o->off;
	char *end;
	double d;
	long n;

	switch (o->type) {
	case OPT_FLAG:
		if (!from_file || val == NULL) {
			*(int *)field = 1;
		} else if (!strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "1") || !strcmp(val, "on")) {
			*(int *)field = 1;
		} else if (!strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "0") || !strcmp(val, "off")) {
			*(int *)field = 0;
		} else {
			err_set(err, "%s: expected true or false, got \"%s\"", o->name, val);
			return -1;
		}
		return 0;
	case OPT_COUNT:
		if (!from_file) {
			(*(int *)field)++;
			return 0;
		}
		/* FALLTHROUGH */
	case OPT_INT:
		errno = 0;
		n = strtol(val, &end, 10);
		if (errno || end == val || *end != '\0' || n < 0 || n > 1024) {
			err_set(err, "%s: expected a whole number between 0 and 1024, got \"%s\"",
			    o->name, val);
			return -1;
		}
		*(int *)field = (int)n;
		return 0;
	case OPT_SECONDS:
		errno = 0;
		d = strtod(val, &end);
		if (errno || end == val || *end != '\0' || !isfinite(d) || d <= 0 || d > 1e9) {
			err_set(err, "%s: expected a positive number of seconds, got \"%s\"", o->name, val);
			return -1;
		}
		*(double *)field = d;
		return 0;
	case OPT_STR:
		/* Only --logdir may be given without a value: it means the default directory. */
		if (val == NULL || (o->optional_arg && *val == '\0'))
			val = DEFAULT_LOGDIR;
		free(*(char **)field);
		*(char **)field = strdup(val);
		return 0;
	case OPT_LIST:
		if (from_file) {
			strlist_free(field);
			strlist_add_split(field, val);
		} else if (o->off == F(extensions)) {
			strlist_add_split(field, val);
		} else {
			strlist_add(field, val, strlen(val));
		}
		return 0;
	case OPT_SPECIAL:
		break;
	}
	err_set(err, "%s: cannot be set in a config file", o->name);
	return -1;
}

struct file_ctx {
	struct conf *c;		/* being filled */
	const char *path;	/* for messages */
	char *err;		/* first error, owned */
};

/* inih callback; inih reports the line of the first failing call (returns 0). */
static int on_ini_line(void *user, const char *section, const char *name,
    const char *value)
{
	struct file_ctx *fc = user;
	const struct opt *o;
	char *e = NULL;

	if (fc->err != NULL)
		return 1;	/* only the first error is reported */
	if (section[0] != '\0' && strcmp(section, "ocspd") != 0) {
		err_set(&fc->err, "unknown section [%s]", section);
		return 0;
	}
	o = opt_by_name(name);
	if (o == NULL || o->type == OPT_SPECIAL) {
		err_set(&fc->err, "unknown key \"%s\"", name);
		return 0;
	}
	if (opt_set(fc->c, o, value, 1, &e) == -1) {
		free(fc->err);
		fc->err = e;
		return 0;
	}
	return 1;
}

int conf_read_file(struct conf *c, const char *path, char **err)
{
	struct file_ctx fc = { c, path, NULL };
	FILE *f;
	int rc;

	if ((f = fopen(path, "r")) == NULL) {
		err_set(err, "%s: cannot read config file (%s)", path, strerror(errno));
		return -1;
	}
	rc = ini_parse_file(f, on_ini_line, &fc);
	fclose(f);
	if (fc.err != NULL) {
		err_set(err, "%s:%d: %s", path, rc, fc.err);
		free(fc.err);
		return -1;
	}
	if (rc != 0) {
		err_set(err, "%s:%d: syntax error (expected key = value)", path, rc);
		return -1;
	}
	return 0;
}

void conf_usage(FILE *out)
{
	char left[64];

	fprintf(out, "usage: ocspd [options] [PATH...]\n"
	    "       ocspd status [-c FILE] [ADDR:PORT]\n\n"
	    "Keeps a verified OCSP staple next to every certificate in PATH as <certfile>.ocsp,\n"
	    "pushes it to HAProxy and renews it before it expires.\n\n");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		int n = 0;

		if (o->shortopt)
			n = snprintf(left, sizeof(left), "  -%c, --%s", o->shortopt, o->name);
		else
			n = snprintf(left, sizeof(left), "      --%s", o->name);
		if (o->arg != NULL)
			snprintf(left + n, sizeof(left) - n, o->optional_arg ? " [%s]" : " %s", o->arg);
		fprintf(out, "%-34s %s\n", left, o->help);
	}
	fprintf(out, "\nEvery long option is also a config file key: \"name = value\" (lists\n"
	    "comma-separated, flags \"true\"). The command line wins over the file.\n"
	    "Exit status: 0 ok; 1 a certificate has no valid staple (--one-off); 2 usage or config error.\n");
}

const char *conf_default_file(char *buf, size_t len)
{
	const char *home = getenv("HOME");

	if (home != NULL && snprintf(buf, len, "%s/.ocspd.conf", home) < (int)len && access(buf, F_OK) == 0)
		return buf;
	if (access("/etc/ocspd/ocspd.conf", F_OK) == 0)
		return "/etc/ocspd/ocspd.conf";
	return NULL;
}

/* Fills a getopt_long table and short option string from opts[]. */
static void build_getopt(struct option *lo, char *so)
{
	size_t k = 0;

	for (size_t i = 0; i < NOPTS; i++) {
		lo[i].name = opts[i].name;
		lo[i].has_arg = opts[i].arg == NULL ? no_argument :
		    opts[i].optional_arg ? optional_argument : required_argument;
		lo[i].flag = NULL;
		lo[i].val = 256 + (int)i;
		if (opts[i].shortopt) {
			so[k++] = (char)opts[i].shortopt;
			if (opts[i].arg != NULL)
				so[k++] = ':';
			if (opts[i].optional_arg)
				so[k++] = ':';
		}
	}
	memset(&lo[NOPTS], 0, sizeof(lo[0]));
	so[k] = '\0';
}

static const struct opt *opt_from_getopt(int ch)
{
	if (ch >= 256 && ch < 256 + (int)NOPTS)
		return &opts[ch - 256];
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].shortopt == ch)
			return &opts[i];
	return NULL;
}

static enum conf_result load(struct conf *c, int argc, char **argv, char **err)
{
	struct option lo[NOPTS + 1];
	char so[2 * NOPTS + 2];
	const char *cfg = NULL;
	char homecfg[4096];
	int ch, explicit_cfg = 0;
	unsigned char seen[NOPTS];

	conf_defaults(c);
	build_getopt(lo, so);

	/* Pass 1: only -c, -h, -V and syntax errors; nothing else is applied yet. */
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		const struct opt *o = opt_from_getopt(ch);

		if (ch == '?' || ch == ':' || o == NULL) {
			if (optopt != 0 && optopt < 256)
				err_set(err, "option -%c: %s", optopt, strchr(so, optopt) ? "needs an argument" : "unknown option");
			else
				err_set(err, "%s: unknown option or missing argument", argv[optind - 1]);
			return CONF_ERROR;
		}
		if (!strcmp(o->name, "help")) {
			conf_usage(stdout);
			return CONF_EXIT_OK;
		}
		if (!strcmp(o->name, "version")) {
			printf("ocspd %s\n", OCSPD_VERSION);
			return CONF_EXIT_OK;
		}
		if (!strcmp(o->name, "config")) {
			cfg = optarg;
			explicit_cfg = 1;
		}
	}

	if (!explicit_cfg)
		cfg = conf_default_file(homecfg, sizeof(homecfg));
	if (cfg != NULL) {
		if (conf_read_file(c, cfg, err) == -1)
			return CONF_ERROR;
		c->config = strdup(cfg);
	}

	/* Pass 2: the command line over the file; a list given here replaces the file's. */
	memset(seen, 0, sizeof(seen));
	optind = 1;
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		const struct opt *o = opt_from_getopt(ch);
		size_t idx = o - opts;

		if (o->type == OPT_SPECIAL)
			continue;
		if (o->type == OPT_LIST && !seen[idx])
			strlist_free((struct strlist *)((char *)c + o->off));
		seen[idx] = 1;
		if (opt_set(c, o, optarg, 0, err) == -1)
			return CONF_ERROR;
	}
	if (optind < argc && !seen[0])
		strlist_free(&c->cert_paths);
	for (int i = optind; i < argc; i++)
		strlist_add(&c->cert_paths, argv[i], strlen(argv[i]));

	if (c->cert_paths.n == 0 && c->haproxy_config.n == 0) {
		err_set(err, "no certificate paths given (use -p PATH, a positional PATH or --haproxy-config; see --help)");
		return CONF_ERROR;
	}
	/* "dir/" and "dir" are one path: certificate names must not depend on it. */
	for (int i = 0; i < c->cert_paths.n; i++) {
		char *p = c->cert_paths.v[i];
		size_t n = strlen(p);

		while (n > 1 && p[n - 1] == '/')
			p[--n] = '\0';
	}
	/* Below the per-certificate floor it would mean nothing; above a year a revocation goes unseen. */
	if (c->maximum_interval < CONF_MAX_INTERVAL_MIN || c->maximum_interval > CONF_MAX_INTERVAL_MAX) {
		err_set(err, "maximum-interval: %.15g is out of range (%.0f to %.0f seconds)", c->maximum_interval,
		    CONF_MAX_INTERVAL_MIN, CONF_MAX_INTERVAL_MAX);
		return CONF_ERROR;
	}
	if (c->extensions.n == 0) {
		err_set(err, "file-extensions: the list is empty");
		return CONF_ERROR;
	}
	for (int i = 0; i < c->haproxy_sockets.n; i++) {
		const char *eq = strchr(c->haproxy_sockets.v[i], '=');

		if (eq == NULL || eq == c->haproxy_sockets.v[i] || eq[1] == '\0') {
			err_set(err, "haproxy-sockets: \"%s\" is not of the form DIR=SOCKET", c->haproxy_sockets.v[i]);
			return CONF_ERROR;
		}
	}
	return CONF_OK;
}

enum conf_result conf_load(struct conf *c, int argc, char **argv, char **err)
{
	enum conf_result r = load(c, argc, argv, err);

	if (r != CONF_OK)
		conf_free(c);
	return r;
}
