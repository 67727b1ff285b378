/* log — see log.h. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <systemd/sd-daemon.h>

static int log_level = LOG_LVL_INFO;
static int log_syslog;
static FILE *log_file;		/* --logdir file, or NULL for stderr */
static int log_created;		/* ocspd created log_file itself (O_EXCL): it may give it away */
static char log_path[4096];	/* its name, for log_chown's messages */
static int log_journal;		/* stderr is journald's stream: "<N>" prefixes, no stamps */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_name[] = { "error", "warning", "info", "debug" };
static const int level_syslog[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
static const char *const level_journal[] = { SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG };

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER }, { "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

/*
 * True when stderr is the stream systemd connected to the journal: it sets
 * JOURNAL_STREAM to that stream's "st_dev:st_ino" in decimal. Comparing with
 * fstat keeps a variable inherited by a child whose stderr was redirected
 * from turning its lines into "<6>..." in a file.
 */
static int stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (v == NULL || sscanf(v, "%llu:%llu%n", &dev, &ino, &n) != 2 || v[n] != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/*
 * Opens the log file for appending: never through a symlink (whoever can
 * write into the log directory must not make root append to, or later chown,
 * another file), only a regular file with one link; *created says whether
 * this call made it. Close-on-exec: hooks do not inherit it. Opened anew on
 * every SIGHUP, so that a file logrotate moved away is followed by a new one.
 */
static FILE *open_log(const char *path, int *created, char **err)
{
	const int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct stat st;
	FILE *f;
	int fd;

	*created = 1;
	if ((fd = open(path, flags | O_CREAT | O_EXCL, 0666)) == -1 && errno == EEXIST) {
		*created = 0;
		fd = open(path, flags);
	}
	if (fd == -1 && errno == ELOOP) {
		err_set(err, "%s: the log file is a symbolic link; not opened (it must be a regular file)", path);
		return NULL;
	}
	if (fd == -1) {
		err_set(err, "%s: cannot open log file (%s)", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		err_set(err, "%s: the log file is not a regular file with a single link; not used", path);
		close(fd);
		return NULL;
	}
	/* Writes must wait for the disk, not fail with EAGAIN. */
	if (fcntl(fd, F_SETFL, O_APPEND) == -1 || (f = fdopen(fd, "a")) == NULL) {
		err_set(err, "%s: cannot open log file (%s)", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
}

int log_setup(int level, int use_syslog, const char *facility, const char *logdir, char **err)
{
	FILE *f = NULL;
	char path[4096];
	int fac = -1, created = 0;

	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (facility == NULL || strcmp(facility, facilities[i].name) == 0) {
			fac = facilities[i].facility;
			break;
		}
	if (fac == -1) {
		err_set(err, "syslog-facility: unknown facility \"%s\" (daemon, user, local0..local7)", facility);
		return -1;
	}
	if (logdir != NULL) {
		if (snprintf(path, sizeof(path), "%s/ocspd.log", logdir) >= (int)sizeof(path)) {
			err_set(err, "%s: log directory name too long", logdir);
			return -1;
		}
		if ((f = open_log(path, &created, err)) == NULL)
			return -1;
		setvbuf(f, NULL, _IOLBF, 0);
	}
	pthread_mutex_lock(&log_lock);
	log_close();
	log_level = level;
	log_syslog = use_syslog;
	log_file = f;
	log_created = created;
	snprintf(log_path, sizeof(log_path), "%s", f != NULL ? path : "");
	log_journal = f == NULL && !use_syslog && stderr_is_journal();
	if (use_syslog)
		openlog("ocspd", LOG_PID, fac);
	pthread_mutex_unlock(&log_lock);
	return 0;
}

int log_chown(uid_t uid, gid_t gid, char **err)
{
	struct stat st;
	int rc = 0, foreign = 0;

	pthread_mutex_lock(&log_lock);
	/* Only a file ocspd made now is given away; one already there keeps its owner. */
	if (log_file != NULL && !log_created) {
		foreign = fstat(fileno(log_file), &st) == 0 && st.st_uid != uid;
	} else if (log_file != NULL && fchown(fileno(log_file), uid, gid) == -1) {
		err_set(err, "%s: cannot give the log file to uid %u gid %u (%s)", log_path, (unsigned)uid,
		    (unsigned)gid, strerror(errno));
		rc = -1;
	}
	pthread_mutex_unlock(&log_lock);
	if (foreign)
		log_warn("%s: the log file was already there, owned by uid %u; its owner is left alone "
		    "(ocspd keeps writing to it, but cannot reopen it on SIGHUP as uid %u: "
		    "chown it or remove it)", log_path, (unsigned)st.st_uid, (unsigned)uid);
	return rc;
}

void log_close(void)
{
	if (log_file != NULL)
		fclose(log_file);
	log_file = NULL;
	if (log_syslog)
		closelog();
	log_syslog = 0;
}

int log_enabled(enum log_level lvl)
{
	return (int)lvl <= log_level;
}

size_t log_utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned long cp;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;	/* a continuation byte, an overlong lead (c0, c1) or beyond U+10FFFF */
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Whether the valid UTF-8 sequence at p (len bytes) must still be escaped:
 * the C1 controls U+0080..U+009F (U+009B is CSI to many terminals) and the
 * bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069),
 * which make a line read differently from what it holds.
 */
static int utf8_hidden(const unsigned char *p, size_t len)
{
	if (len == 2)
		return p[0] == 0xc2 && p[1] < 0xa0;
	if (len == 3 && p[0] == 0xe2)
		return (p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
		    (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9);
	return 0;
}

void log_escape(char *dst, size_t size, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)src;
	size_t n = strlen(src), o = 0, l;

	if (size == 0)
		return;
	while (n > 0) {
		l = log_utf8_len(p, n);
		if (l == 1 && (*p < 0x20 || *p == 0x7f))
			l = 0;
		else if (l > 1 && utf8_hidden(p, l))
			l = 0;
		if (l > 0) {
			if (o + l >= size)
				break;
			memcpy(dst + o, p, l);
			o += l;
			p += l;
			n -= l;
			continue;
		}
		/* One byte as \xNN; the rest of a broken or hidden sequence follows byte by byte. */
		if (o + 4 >= size)
			break;
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[*p >> 4];
		dst[o++] = hex[*p & 0xf];
		p++;
		n--;
	}
	dst[o] = '\0';
}

/*
 * The one place where a message becomes a line: formatted, then escaped, so
 * that no file name, responder text, HAProxy answer or curl error can split
 * one event into two lines or reach the operator's terminal as an escape
 * sequence. line must hold LOG_LINE_MAX * 4 + 1 bytes.
 */
#define LOG_LINE_MAX 2048	/* bytes of a message before escaping; longer ones are cut */

static void format_line(char *line, size_t size, const char *fmt, va_list ap)
{
	char raw[LOG_LINE_MAX];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_escape(line, size, raw);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	char line[LOG_LINE_MAX * 4 + 1], stamp[32];
	struct timespec ts;
	struct tm tm;
	FILE *out;

	if (!log_enabled(lvl))
		return;
	va_start(ap, fmt);
	format_line(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_syslog) {
		syslog(level_syslog[lvl], "%s: %s", level_name[lvl], line);
		return;
	}
	pthread_mutex_lock(&log_lock);
	if (log_journal) {
		/* journald stamps and tags each line itself, and reads the priority from "<N>". */
		fprintf(stderr, "%s%s: %s\n", level_journal[lvl], level_name[lvl], line);
		pthread_mutex_unlock(&log_lock);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	out = log_file != NULL ? log_file : stderr;
	fprintf(out, "%s.%03ldZ ocspd %s: %s\n", stamp, ts.tv_nsec / 1000000L,
	    level_name[lvl], line);
	pthread_mutex_unlock(&log_lock);
}

void log_fatal(const char *fmt, ...)
{
	va_list ap;
	char line[LOG_LINE_MAX * 4 + 1];

	va_start(ap, fmt);
	format_line(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%socspd: %s\n", stderr_is_journal() ? SD_ERR : "", line);
	if (log_file != NULL || log_syslog)
		log_msg(LOG_LVL_ERR, "%s", line);
}

static void err_vset(char **err, int ssl, const char *fmt, va_list ap)
{
	char buf[1024], sslbuf[256];
	unsigned long e;
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (ssl && (e = ERR_peek_last_error()) != 0) {
		ERR_error_string_n(e, sslbuf, sizeof(sslbuf));
		n = strlen(buf);
		snprintf(buf + n, sizeof(buf) - n, " [%s]", sslbuf);
	}
	if (ssl)
		ERR_clear_error();
	if (err == NULL)
		return;
	free(*err);
	*err = strdup(buf);
}

void err_set(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, 0, fmt, ap);
	va_end(ap);
}

void err_prefix(char **err, const char *name)
{
	char *e;

	if (err == NULL || *err == NULL)
		return;
	e = *err;
	*err = NULL;
	err_set(err, "%s: %s", name, e);
	free(e);
}

void err_set_ssl(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, 1, fmt, ap);
	va_end(ap);
}
