/*
 * hook — runs the operator's shell commands: --hook after staples change
 * (e.g. "nginx -s reload"), --alert-hook on revocation or expiry.
 *
 * Owns: the set of certificates changed since the last run, the queue of
 * alerts not yet run, and at most one child process at a time (/bin/sh -c
 * CMD in its own process group). Changes are debounced: the hook runs
 * HOOK_DELAY s after the last change (at most HOOK_DELAY_MAX s after the
 * first), once per batch; changes during a run cause one more run after it.
 * The child's output is logged line by line, its exit status too; it is
 * sent SIGTERM after the timeout and SIGKILL HOOK_KILL_GRACE s later.
 * Needs the default libev loop (child watchers).
 */
#ifndef OCSPD_HOOK_H
#define OCSPD_HOOK_H

#include <ev.h>

#define HOOK_DELAY	1.0	/* quiet time after the last change (s) */
#define HOOK_DELAY_MAX	10.0	/* a steady stream of changes waits no longer (s) */
#define HOOK_TIMEOUT	30.0	/* default run time limit (s); env OCSPD_HOOK_TIMEOUT */
#define HOOK_KILL_GRACE	5.0	/* SIGTERM to SIGKILL (s) */

struct hook;

/* cmd and alert_cmd may be NULL (that hook is off). NULL on ENOMEM. */
struct hook *hook_new(struct ev_loop *loop, const char *cmd, const char *alert_cmd);

/*
 * SIGHUP: cmd and alert_cmd (copied; NULL or "" turns that hook off) are
 * used from the next run on. A run under way continues and is still waited
 * for; changes and alerts waiting for a run are kept, except those of a
 * hook turned off. 0, or -1 on ENOMEM with nothing changed.
 */
int hook_reconfigure(struct hook *k, const char *cmd, const char *alert_cmd);

/* Stops watching a running child (it is left to finish) and frees everything. */
void hook_free(struct hook *k);

/*
 * certpath has a new staple: run --hook soon (paths on stdin, one per line,
 * and in env OCSPD_CHANGED, newline-separated). A path with a control byte
 * (watch_name_clean) is refused with an error: it could not be one line.
 */
void hook_changed(struct hook *k, const char *certpath);

/* Run --alert-hook with OCSPD_EVENT, OCSPD_CERT, OCSPD_DETAIL. */
void hook_alert(struct hook *k, const char *event, const char *certpath,
    const char *detail);

/* 1 while a run is under way or due (changes waiting, alerts queued), else 0. */
int hook_busy(const struct hook *k);

#endif
