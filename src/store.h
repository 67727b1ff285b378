/*
 * store — staple files on disk: <certfile>.ocsp.
 *
 * Writes are atomic (temporary file in the same directory, flushed, renamed
 * over the target) and batched: every write queued in one event-loop
 * iteration shares one flush before the renames. A crash at any instant
 * leaves the old complete file or the new complete file.
 *
 * Every step (create the temporary file with O_EXCL | O_NOFOLLOW under a
 * random name, rename, flush the directory) is relative to the target's
 * directory opened through fsroot (real directories only below a configured
 * one), so a directory swapped for a symlink meanwhile makes an error naming
 * it, never a file elsewhere.
 */
#ifndef OCSPD_STORE_H
#define OCSPD_STORE_H

#include <stddef.h>
#include <ev.h>

/*
 * Temporary files are ".<file>.ocsp" STORE_TMP_MARK "<8 random characters>"
 * in the target's directory. store owns that name: others ask store_is_tmp
 * and leave the cleaning of such files to store_clean_stale.
 */
#define STORE_TMP_MARK	".ocspd-tmp."
#define STORE_STALE_AGE	60	/* a temporary file this old (s) was left by a crash, not a write in progress */

struct store;

/* err is NULL on success; certpath is the certificate, not the .ocsp file. */
typedef void store_done_fn(void *arg, const char *certpath, const char *err);

struct store *store_new(struct ev_loop *loop);
/* Commits what is queued, then frees. */
void store_free(struct store *s);

/*
 * Queues writing der/len (copied; len 0 empties the staple) to
 * <certpath>.ocsp; done() runs after the rename or the failure.
 */
void store_put(struct store *s, const char *certpath, const unsigned char *der,
    size_t len, store_done_fn *done, void *arg);

/* Commits every queued write now (SIGTERM, --one-off). */
void store_flush(struct store *s);

/* Writes queued or being committed. */
int store_pending(const struct store *s);

/*
 * Reads the staple on disk, <certpath>.ocsp, into a malloc'd buffer (caller
 * frees) when it is a regular file of at most max bytes: 0 (*len 0 when there
 * is none), or -1 with *err when it cannot be read (a symlink, a FIFO...;
 * nothing about a symlink's target is said). The error names the staple
 * file, "<certpath>.ocsp: reason": the caller passed the certificate.
 */
int store_read(const char *certpath, size_t max, unsigned char **buf, size_t *len,
    char **err);

/* 1 when name (a file name or a path) is one of store's temporary files, else 0. */
int store_is_tmp(const char *name);

/*
 * Called by whoever lists a directory (the watcher's scans): when name, an
 * entry of the directory open as dfd, is one of store's temporary files,
 * removes it if it is a regular file older than STORE_STALE_AGE (left by an
 * interrupted write) and logs path ("removed a temporary file left by an
 * interrupted write"). Returns 1 when name is a temporary file (removed or
 * not: the caller skips it), else 0.
 */
int store_clean_stale(int dfd, const char *name, const char *path);

/* "<certpath>.ocsp" into buf. 0, or -1 when it does not fit. */
int store_staple_path(const char *certpath, char *buf, size_t len);

#endif
