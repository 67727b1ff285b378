/*
 * log — the one place where ocspd says things to the operator.
 *
 * One line per event: "path: what happened (why)". Lines go to stderr by
 * default, to syslog with --syslog, or to DIR/ocspd.log with --logdir. When
 * stderr is journald's stream (systemd sets JOURNAL_STREAM), lines carry a
 * "<N>" priority prefix instead of a timestamp. The file is never opened
 * through a symlink, and must be a regular file with a single link. The level filter and the
 * destination are set at start and again on SIGHUP (which reopens the file).
 *
 * Every line is escaped in one place (log_escape), whatever its source: a
 * control byte (0x00-0x1f, 0x7f), a byte that is not part of valid UTF-8, a
 * C1 control (U+0080-U+009F) or a bidirectional override becomes "\xNN" per
 * byte, so a line in the log is always one event, valid UTF-8, and shows no
 * terminal escape. Backslashes are kept as they are.
 */
#ifndef OCSPD_LOG_H
#define OCSPD_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

enum log_level {
	LOG_LVL_ERR = 0,	/* something failed that the operator must see */
	LOG_LVL_WARN,		/* something failed that ocspd will retry */
	LOG_LVL_INFO,		/* a staple changed, a file came or went */
	LOG_LVL_DEBUG,		/* every request, every timer */
};

/*
 * Where and how much to log; facility is a syslog facility name (NULL:
 * daemon). Returns 0, or -1 with *err set (caller frees); on -1 the
 * previous destination stays in use.
 */
int log_setup(int level, int use_syslog, const char *facility, const char *logdir,
    char **err);

/*
 * Gives the open --logdir file (if any) to uid/gid, so that the daemon can
 * still write and reopen it after dropping root; only when log_setup created
 * it (a file already there, perhaps a hard link to someone else's, is never
 * chowned: a warning says so when its owner is not uid). 0, or -1 with *err.
 */
int log_chown(uid_t uid, gid_t gid, char **err);
void log_close(void);

/* True when a line at this level would be written (to skip costly formatting). */
int log_enabled(enum log_level lvl);

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * src as one log-safe line into dst (size bytes, always NUL-terminated; cut
 * at a character boundary when it does not fit). Each escaped byte takes 4
 * bytes: dst needs 4 * strlen(src) + 1 to hold all of src.
 */
void log_escape(char *dst, size_t size, const char *src);

/*
 * The length (1-4) of the valid UTF-8 character at p (n bytes left), or 0
 * when p does not start one (stray continuation byte, overlong form,
 * surrogate, past U+10FFFF, cut short). For writers of other line formats
 * (JSON in status.c) that must make any bytes valid.
 */
size_t log_utf8_len(const unsigned char *p, size_t n);

/*
 * Why the daemon cannot start (main exits next): "ocspd: ..." on stderr,
 * where the operator who started it looks, with journald's error priority
 * when stderr is the journal; also to the log file or syslog once set up.
 */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_err(...)	log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	do { if (log_enabled(LOG_LVL_DEBUG)) log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

/*
 * Error strings: fallible functions return -1 and fill a "char **err" through
 * err_set(); the caller logs it and frees it with free(). err may be NULL.
 * Appends the OpenSSL error queue (and clears it) when ssl is non-zero.
 *
 * One rule for what an error says: the function that fails gives the
 * reason only ("no certificate found (not a PEM file)"); it never names the
 * file, URL or socket its caller passed it. The caller, who knows what the
 * operator calls that thing, puts "path: " before the reason (err_prefix,
 * or "%s: %s" in its log line), once. A function names only what its
 * caller cannot know: another file it found (<cert>.issuer, <cert>.ocsp
 * for store, which is given the certificate), or the path component it
 * refused (fsroot). So no reader ever has to strip a prefix off again.
 *
 * One rule for running out of memory:
 *  - at start-up (command line, config file, the first set-up in main) it is
 *    an error like any other: a message, then exit status 2 (conf) or 1;
 *  - in the running daemon (SIGHUP included) a failed allocation fails that
 *    one operation, with "out of memory" as its reason, and that operation
 *    is retried or reported like any other failure (a certificate's attempt
 *    fails and is retried with backoff; a reload is refused and the old
 *    configuration stays). Never a crash, never a value silently unset;
 *  - abort() only for a broken invariant (a programming error, not an
 *    input or a resource), with a comment saying which.
 * When even the error string cannot be allocated, *err is left NULL: a
 * caller that logs it writes "out of memory" then.
 */
void err_set(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_set_ssl(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The caller's half of the rule: *err becomes "name: " *err (nothing when *err is NULL). */
void err_prefix(char **err, const char *name);

#endif
