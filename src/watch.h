/*
 * watch — finds certificate files under the configured paths and reports
 * new, changed and deleted ones: inotify for instant pick-up, a rescan every
 * refresh-interval as the fallback. Change = inode, size, mtime or ctime differs
 * (ctime: a chmod or chown that makes an unreadable file readable counts).
 */
#ifndef OCSPD_WATCH_H
#define OCSPD_WATCH_H

#include <ev.h>

struct conf;
struct watch;

enum watch_event {
	WATCH_ADDED,	/* a certificate file appeared */
	WATCH_CHANGED,	/* it was rewritten or replaced */
	WATCH_REMOVED,	/* it is gone (deleted, renamed away, no longer matches) */
};

/* path is borrowed for the duration of the call. */
typedef void watch_fn(void *arg, const char *path, enum watch_event ev);

struct watch *watch_new(struct ev_loop *loop, const struct conf *c, watch_fn *fn,
    void *arg);
void watch_free(struct watch *w);

/* Looks at every path now (start, SIGHUP); reports differences. */
void watch_rescan(struct watch *w);

/* Files the last scan refused because of their names (logged at the first refusal). */
int watch_refused(const struct watch *w);

/* Applies a new configuration (SIGHUP): new paths, filters, interval. */
void watch_reconfigure(struct watch *w, const struct conf *c);

/*
 * Whether a file name counts as a certificate: its extension is one of exts,
 * it matches no ignore glob (tried on the base name and on the full path),
 * and it is not a staple or one of our temporary files. Pure; unit-tested.
 */
int watch_wanted(const char *path, const struct conf *c);

/*
 * Whether path can be passed on: no control byte (0x00-0x1f, 0x7f). A
 * certificate file whose path has one is refused with one error line (the
 * rest of the directory goes on), so that every path ocspd hands to a hook
 * (one per line on stdin and in OCSPD_CHANGED) or to HAProxy is one whole
 * line. Non-UTF-8 bytes are allowed. Pure.
 */
int watch_name_clean(const char *path);

#endif
