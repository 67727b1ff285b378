/* conf — see conf.h. */
#include "conf.h"
#include "log.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum opt_type {
	OPT_FLAG,		/* int, set to 1 (config: true/false) */
	OPT_COUNT,		/* int, incremented per use (config: a number in ranges[]) */
	OPT_INT,		/* int, a whole number in its row of ranges[] */
	OPT_SECONDS,		/* double, seconds in ranges[] */
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
	{ "maximum-interval", 0, OPT_SECONDS, F(maximum_interval), "S", "ask the responder again within S seconds whatever nextUpdate says (default: 86400)", 0 },
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
	{ "redis", 0, OPT_STR, F(redis), "URL", "fleet mode: share staples through Redis, redis://[user:password@]host[:port][/db] or unix:///path[?db=N]", 0 },
	{ "redis-prefix", 0, OPT_STR, F(redis_prefix), "TEXT", "fleet mode: prefix of every Redis key and of the channel (default: ocspd:)", 0 },
	{ "redis-node", 0, OPT_STR, F(redis_node), "NAME", "fleet mode: this node's name in the leases it takes (default: the host name)", 0 },
	{ "redis-lease", 0, OPT_SECONDS, F(redis_lease), "S", "fleet mode: how long one node may fetch a certificate before another takes over (default: 30)", 0 },
	{ "serve-ocsp", 0, OPT_STR, F(serve_ocsp), "ADDR:PORT", "answer OCSP requests (GET and POST) from the staples held, for nginx and Apache (a bare PORT means 127.0.0.1)", 0 },
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

/*
 * The allowed values of every numeric option (OPT_INT, OPT_COUNT in the file,
 * OPT_SECONDS), for the command line, the config file and SIGHUP alike; --help
 * prints them. The bounds keep a value from meaning "no limit" or "as often as
 * possible": curl takes a 0 ms timeout as none at all and a 0 ms connect
 * timeout as its 300 s default, and a rescan every microsecond burns a core.
 * A new numeric option needs a row here: conf_load refuses to run without one.
 */
struct range {
	const char *name;	/* the option's long name */
	double min;		/* smallest allowed value */
	double max;		/* largest allowed value */
};

static const struct range ranges[] = {
	{ "refresh-interval", 1, 86400 },
	{ "minimum-validity", 1, 30 * 86400 },
	{ "renewal-threads", 0, 64 },
	{ "alert-before", 1, 30 * 86400 },
	{ "connect-timeout", 0.1, 300 },
	{ "timeout", 0.1, 300 },
	{ "default-validity", 60, 7 * 86400 },
	/* Below the per-certificate floor it would mean nothing; above a year a revocation goes unseen. */
	{ "maximum-interval", 10, 365 * 86400 },
	{ "verbose", 0, 9 },
	/* Shorter than a responder exchange, and two nodes fetch; longer, and a dead node delays renewals. */
	{ "redis-lease", 1, 3600 },
};

#define NRANGES (sizeof(ranges) / sizeof(ranges[0]))

/* A config file is a few hundred bytes; a megabyte is a mistake (or /dev/zero). */
#define CONF_MAX_SIZE (1 << 20)

static const struct range *range_of(const char *name)
{
	for (size_t i = 0; i < NRANGES; i++)
		if (strcmp(ranges[i].name, name) == 0)
			return &ranges[i];
	return NULL;
}

static int is_numeric(const struct opt *o)
{
	return o->type == OPT_INT || o->type == OPT_COUNT || o->type == OPT_SECONDS;
}

/* 0, or -1 when out of memory (then c holds what conf_free releases). */
static int conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	if (strlist_add_split(&c->extensions, "crt,pem,cer") == -1)
		return -1;
	c->refresh_interval = 10;
	c->minimum_validity = 7200;
	c->maximum_interval = 86400;
	c->threads = 2;
	c->connect_timeout = 5;
	c->timeout = 15;
	c->default_validity = 3600;
	c->alert_before = 3600;
	c->redis_lease = 30;
	if ((c->redis_prefix = strdup("ocspd:")) == NULL)
		return -1;
	return 0;
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
 * A plain decimal number: digits, then (unless whole) an optional fraction.
 * strtod alone would also take a sign, blanks, hex, exponents, "nan" and "inf".
 */
static int is_decimal(const char *s, int whole)
{
	int digits = 0;

	for (; *s >= '0' && *s <= '9'; s++)
		digits++;
	if (!whole && *s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			digits++;
	return digits > 0 && *s == '\0';
}

/*
 * A numeric option from text, checked against its row in ranges[]. A value
 * too long for a double is out of range, never wrapped or rounded into it.
 * 0, or -1 with *err naming the option, the allowed range and the value.
 */
static int set_number(struct conf *c, const struct opt *o, const char *val, char **err)
{
	const struct range *r = range_of(o->name);
	int whole = o->type != OPT_SECONDS;
	double d;

	if (r == NULL) {
		err_set(err, "%s: numeric option without a row in ranges[] (a bug in conf.c)", o->name);
		return -1;
	}
	d = val != NULL && is_decimal(val, whole) ? strtod(val, NULL) : NAN;
	if (!(d >= r->min && d <= r->max)) {	/* also NaN */
		err_set(err, "%s: expected %s from %.10g to %.10g, got \"%s\"", o->name,
		    whole ? "a whole number" : "seconds", r->min, r->max, val != NULL ? val : "");
		return -1;
	}
	if (whole)
		*(int *)((char *)c + o->off) = (int)d;
	else
		*(double *)((char *)c + o->off) = d;
	return 0;
}

/* Where a value comes from: each has its own syntax for flags and lists. */
enum origin {
	FROM_ARGS,		/* the command line: a flag alone means on, a list item per use */
	FROM_FILE,		/* a key's first line in the file: true/false, a list replaces the default */
	FROM_FILE_AGAIN,	/* a list key's later lines: its items are added */
};

/*
 * Sets one option from text. Returns 0, or -1 with *err naming the option
 * and the reason.
 */
static int opt_set(struct conf *c, const struct opt *o, const char *val,
    enum origin from, char **err)
{
	void *field = (char *)c + o->off;

	switch (o->type) {
	case OPT_FLAG:
		if (from == FROM_ARGS || val == NULL) {
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
		if (from == FROM_ARGS) {
			(*(int *)field)++;
			return 0;
		}
		/* FALLTHROUGH */
	case OPT_INT:
	case OPT_SECONDS:
		return set_number(c, o, val, err);
	case OPT_STR:
		/* Only --logdir may be given without a value: it means the default directory. */
		if (val == NULL || (o->optional_arg && *val == '\0'))
			val = DEFAULT_LOGDIR;
		free(*(char **)field);
		if ((*(char **)field = strdup(val)) == NULL)
			goto nomem;
		return 0;
	case OPT_LIST:
		if (from == FROM_FILE)
			strlist_free(field);
		/* A file's value, and --file-extensions, are comma-separated lists. */
		if ((from != FROM_ARGS || o->off == F(extensions) ? strlist_add_split(field, val) :
		    strlist_add(field, val, strlen(val))) == -1)
			goto nomem;
		return 0;
	case OPT_SPECIAL:
		break;
	}
	err_set(err, "%s: cannot be set in a config file", o->name);
	return -1;
nomem:
	err_set(err, "%s: out of memory", o->name);
	return -1;
}

struct file_ctx {
	struct conf *c;		/* being filled */
	const char *next;	/* text not yet handed to inih */
	const char *end;	/* end of the file's text */
	int lineno;		/* the line inih is parsing (1 = first) */
	int line[NOPTS];	/* line of each key's first use, 0 = not in the file */
	char *err;		/* first error, owned */
	int err_line;		/* its line */
};

/* The kind of a file that is not a regular one, for messages. */
static const char *file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/*
 * Reads the whole config file into *text (*len bytes and a NUL, caller frees).
 * Only a regular file of at most CONF_MAX_SIZE bytes is read: a FIFO or a
 * device would block the event loop on SIGHUP or never end, a directory
 * would read as an empty config. It is checked by name before it is opened
 * (opening a FIFO or a device can itself wait or act), then again on the
 * descriptor, opened O_NONBLOCK in case it was swapped in between.
 * 0, or -1 with *err naming the file and the reason.
 */
static int read_text(const char *path, char **text, size_t *len, char **err)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	ssize_t k;
	int fd = -1, rc = -1;

	*text = NULL;
	if (stat(path, &st) == -1) {
		err_set(err, "%s: cannot read config file (%s)", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(err, "%s: cannot read config file (%s, not a regular file)", path, file_kind(st.st_mode));
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		err_set(err, "%s: cannot read config file (%s)", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(err, "%s: cannot read config file (%s, not a regular file)", path, file_kind(st.st_mode));
		goto out;
	}
	if (st.st_size > CONF_MAX_SIZE) {
		err_set(err, "%s: cannot read config file (%lld bytes, more than the %d allowed)", path,
		    (long long)st.st_size, CONF_MAX_SIZE);
		goto out;
	}
	/* One byte more than allowed tells a file that grew since fstat. */
	if ((buf = malloc((size_t)st.st_size + 2)) == NULL) {
		err_set(err, "%s: cannot read config file (out of memory)", path);
		goto out;
	}
	while (n < (size_t)st.st_size + 1) {
		k = read(fd, buf + n, (size_t)st.st_size + 1 - n);
		if (k == -1 && errno == EINTR)
			continue;
		if (k == -1) {
			err_set(err, "%s: cannot read config file (%s)", path, strerror(errno));
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > (size_t)st.st_size) {
		err_set(err, "%s: cannot read config file (it is being written; try again)", path);
		goto out;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(buf);
	return rc;
}

/* Records the first error and its line; inih is then told to stop. */
static void file_error(struct file_ctx *fc, char *e)
{
	if (fc->err == NULL) {
		fc->err = e;
		fc->err_line = fc->lineno;
	} else {
		free(e);
	}
}

/*
 * inih's fgets-like reader over the file's text: one line per call, so that
 * fc->lineno is the line of each key handed to on_ini_line. A line too long
 * for inih's buffer (which it would silently split in two) and a NUL byte
 * (which would silently cut the line) are errors.
 */
static char *next_line(char *str, int num, void *stream)
{
	struct file_ctx *fc = stream;
	const char *nl;
	size_t len, text;
	char *e = NULL;

	if (fc->err != NULL || fc->next >= fc->end)
		return NULL;
	nl = memchr(fc->next, '\n', (size_t)(fc->end - fc->next));
	len = (size_t)((nl != NULL ? nl + 1 : fc->end) - fc->next);
	fc->lineno++;
	for (text = len; text > 0 && (fc->next[text - 1] == '\n' || fc->next[text - 1] == '\r'); text--)
		;
	if (memchr(fc->next, '\0', len) != NULL) {
		err_set(&e, "a NUL byte (not a text file)");
		file_error(fc, e);
		return NULL;
	}
	/* The whole line and a NUL must fit str; inih wants room for "\r\n" too. */
	if (len + 1 > (size_t)num || text + 3 > (size_t)num) {
		err_set(&e, "line longer than %d characters", num - 3);
		file_error(fc, e);
		return NULL;
	}
	memcpy(str, fc->next, len);
	str[len] = '\0';
	fc->next += len;
	return str;
}

/*
 * inih callback. A key may appear once; a list key may appear on several
 * lines, each adding its items (like a repeated option on the command line).
 * Returns 0 on error (inih then reports that line; fc->err holds why).
 */
static int on_ini_line(void *user, const char *section, const char *name,
    const char *value)
{
	struct file_ctx *fc = user;
	const struct opt *o;
	char *e = NULL;
	size_t idx;

	if (fc->err != NULL)
		return 1;	/* only the first error is reported */
	if (section[0] != '\0' && strcmp(section, "ocspd") != 0) {
		err_set(&e, "unknown section [%s]", section);
		file_error(fc, e);
		return 0;
	}
	o = opt_by_name(name);
	if (o == NULL || o->type == OPT_SPECIAL) {
		err_set(&e, "unknown key \"%s\"", name);
		file_error(fc, e);
		return 0;
	}
	idx = (size_t)(o - opts);
	if (fc->line[idx] != 0 && o->type != OPT_LIST) {
		err_set(&e, "%s: given twice, on lines %d and %d (only list keys may repeat)",
		    name, fc->line[idx], fc->lineno);
		file_error(fc, e);
		return 0;
	}
	if (opt_set(fc->c, o, value, fc->line[idx] == 0 ? FROM_FILE : FROM_FILE_AGAIN, &e) == -1) {
		file_error(fc, e);
		return 0;
	}
	if (fc->line[idx] == 0)
		fc->line[idx] = fc->lineno;
	return 1;
}

/*
 * conf_read_file, also telling on which line each option was set (lines,
 * NOPTS entries, 0 = not in the file) when lines is not NULL.
 */
static int read_file(struct conf *c, const char *path, int *lines, char **err)
{
	struct file_ctx fc;
	char *text = NULL;
	size_t len = 0;
	int rc = -1, line;

	memset(&fc, 0, sizeof(fc));
	fc.c = c;
	if (read_text(path, &text, &len, err) == -1)
		goto out;
	fc.next = text;
	fc.end = text + len;
	/*
	 * An indented line would otherwise continue the previous key's value,
	 * replacing it ("hook = a" then "  timeout = 3" sets hook to
	 * "timeout = 3"), and " ;" would silently cut a value ("hook = a ; b"
	 * runs only a): every line stands on its own, whole.
	 */
	ini_allow_multiline = false;
	ini_allow_inline_comments = false;
	line = ini_parse_stream(next_line, &fc, on_ini_line, &fc);
	/* inih goes on after a syntax error; report whichever came first. */
	if (fc.err != NULL && (line == 0 || line >= fc.err_line)) {
		err_set(err, "%s:%d: %s", path, fc.err_line, fc.err);
		goto out;
	}
	if (line != 0) {
		err_set(err, "%s:%d: syntax error (expected key = value)", path, line);
		goto out;
	}
	if (lines != NULL)
		memcpy(lines, fc.line, sizeof(fc.line));
	rc = 0;
out:
	free(fc.err);
	free(text);
	return rc;
}

int conf_read_file(struct conf *c, const char *path, char **err)
{
	return read_file(c, path, NULL, err);
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
		const struct range *r;
		size_t len;
		int n = 0;

		if (o->shortopt)
			n = snprintf(left, sizeof(left), "  -%c, --%s", o->shortopt, o->name);
		else
			n = snprintf(left, sizeof(left), "      --%s", o->name);
		if (o->arg != NULL)
			snprintf(left + n, sizeof(left) - n, o->optional_arg ? " [%s]" : " %s", o->arg);
		r = o->type == OPT_INT || o->type == OPT_SECONDS ? range_of(o->name) : NULL;
		len = strlen(o->help);
		/* "... (default: 10)" becomes "... (default: 10, allowed 1..86400)". */
		if (r != NULL && len > 0 && o->help[len - 1] == ')')
			fprintf(out, "%-34s %.*s, allowed %.10g..%.10g)\n", left, (int)len - 1, o->help, r->min, r->max);
		else if (r != NULL)
			fprintf(out, "%-34s %s (allowed %.10g..%.10g)\n", left, o->help, r->min, r->max);
		else
			fprintf(out, "%-34s %s\n", left, o->help);
	}
	fprintf(out, "\nEvery long option is also a config file key: \"name = value\" (lists\n"
	    "comma-separated, a list key on several lines adds to the list, flags \"true\").\n"
	    "The command line wins over the file.\n"
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

/* Where option opts[idx] got its value, for messages: "FILE:LINE", "command line" or "default". */
static const char *origin(char *buf, size_t len, const char *cfg, const int *file_line,
    const unsigned char *seen, size_t idx)
{
	if (seen[idx])
		return "command line";
	if (file_line[idx] == 0)
		return "default";
	snprintf(buf, len, "%s:%d", cfg, file_line[idx]);
	return buf;
}

/*
 * curl counts the connect in the whole exchange's timeout, so a connect
 * timeout longer than it is a contradiction when both were set; the default
 * connect timeout just shrinks to a shorter timeout. 0, or -1 with *err.
 */
static int check_timeouts(struct conf *c, const char *cfg, const int *file_line,
    const unsigned char *seen, char **err)
{
	size_t ci = (size_t)(opt_by_name("connect-timeout") - opts);
	size_t ti = (size_t)(opt_by_name("timeout") - opts);
	char b1[4200], b2[4200];

	if (c->connect_timeout <= c->timeout)
		return 0;
	if (!seen[ci] && file_line[ci] == 0) {
		c->connect_timeout = c->timeout;
		return 0;
	}
	err_set(err, "connect-timeout: %.10g s (%s) is longer than timeout %.10g s (%s), which includes the connect",
	    c->connect_timeout, origin(b1, sizeof(b1), cfg, file_line, seen, ci),
	    c->timeout, origin(b2, sizeof(b2), cfg, file_line, seen, ti));
	return -1;
}

static enum conf_result load(struct conf *c, int argc, char **argv, char **err)
{
	struct option lo[NOPTS + 1];
	char so[2 * NOPTS + 2];
	const char *cfg = NULL;
	char homecfg[4096];
	int ch, explicit_cfg = 0;
	unsigned char seen[NOPTS];
	int file_line[NOPTS];

	if (conf_defaults(c) == -1) {
		err_set(err, "out of memory");
		return CONF_ERROR;
	}
	memset(seen, 0, sizeof(seen));
	memset(file_line, 0, sizeof(file_line));
	for (size_t i = 0; i < NOPTS; i++) {
		if (is_numeric(&opts[i]) && range_of(opts[i].name) == NULL) {
			err_set(err, "%s: numeric option without a row in ranges[] (a bug in conf.c)", opts[i].name);
			return CONF_ERROR;
		}
	}
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
		if (read_file(c, cfg, file_line, err) == -1)
			return CONF_ERROR;
		if ((c->config = strdup(cfg)) == NULL) {
			err_set(err, "%s: out of memory", cfg);
			return CONF_ERROR;
		}
	}

	/* Pass 2: the command line over the file; a list given here replaces the file's. */
	optind = 1;
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		const struct opt *o = opt_from_getopt(ch);
		size_t idx = o - opts;

		if (o->type == OPT_SPECIAL)
			continue;
		if (o->type == OPT_LIST && !seen[idx])
			strlist_free((struct strlist *)((char *)c + o->off));
		seen[idx] = 1;
		if (opt_set(c, o, optarg, FROM_ARGS, err) == -1)
			return CONF_ERROR;
	}
	if (optind < argc && !seen[0])
		strlist_free(&c->cert_paths);
	for (int i = optind; i < argc; i++) {
		if (strlist_add(&c->cert_paths, argv[i], strlen(argv[i])) == -1) {
			err_set(err, "%s: out of memory", argv[i]);
			return CONF_ERROR;
		}
	}

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
	if (c->extensions.n == 0) {
		err_set(err, "file-extensions: the list is empty");
		return CONF_ERROR;
	}
	if (check_timeouts(c, cfg, file_line, seen, err) == -1)
		return CONF_ERROR;
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
