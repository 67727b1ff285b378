/*
 * deliver — hands stored staples to the servers that use them: HAProxy admin
 * sockets (haproxy.c) and operator hooks (hook.c).
 *
 * Called by the core only after a staple is safely on disk. Never blocks the
 * event loop; a server that is down never holds up fetching and storing.
 * Bytes passed in are copied if kept; the caller keeps ownership.
 */
#ifndef OCSPD_DELIVER_H
#define OCSPD_DELIVER_H

#include <stddef.h>
#include <sys/types.h>
#include <ev.h>

struct conf;
struct deliver;

/*
 * Which file a certificate path named when the core parsed it (stat(2) of
 * the file, symlinks followed, taken before it was read). A withdrawal
 * reads the bundle again to send it to HAProxy and refuses when any of
 * these differ: it would re-commit a certificate nobody has checked.
 */
struct deliver_ident {
	dev_t dev;			/* st_dev */
	ino_t ino;			/* st_ino */
	off_t size;			/* st_size */
	long long mtime_ns;		/* st_mtim in nanoseconds */
};

/* Calls fn once for every certificate that currently has a staple. */
typedef void deliver_each_fn(void *fnarg, const char *certpath,
    const unsigned char *der, size_t len);
typedef void deliver_foreach_fn(void *ctx, deliver_each_fn *fn, void *fnarg);

/*
 * Builds the delivery targets from c (haproxy-sockets, haproxy-config, hook,
 * alert-hook); c is read during the call only (copy what you keep).
 * foreach/ctx let deliver push every staple again after a lost HAProxy
 * socket comes back. Returns NULL with *err on bad configuration.
 */
struct deliver *deliver_new(struct ev_loop *loop, const struct conf *c,
    deliver_foreach_fn *foreach, void *ctx, char **err);
void deliver_free(struct deliver *d);

/*
 * SIGHUP: applies c (read during the call only) without starting over:
 * HAProxy connections whose socket stays mapped are kept (see
 * haproxy_reconfigure), a hook run under way finishes and pending changes
 * still run (with the new command). On a configuration error returns -1
 * with *err and nothing has changed (out of memory may leave the HAProxy
 * part applied and the hooks not).
 */
int deliver_reconfigure(struct deliver *d, const struct conf *c, char **err);

/* A new staple for certpath is on disk; push it everywhere it belongs. */
void deliver_staple(struct deliver *d, const char *certpath,
    const unsigned char *der, size_t len);

/*
 * A staple found on disk and reused (recycled) at start: HAProxy gets it (it
 * may have loaded an older or empty file), hooks do not run for it.
 */
void deliver_recycled(struct deliver *d, const char *certpath,
    const unsigned char *der, size_t len);

/*
 * certpath's staple was withdrawn (revoked, expired, or no longer for the
 * certificate in the file) and <certpath>.ocsp emptied: every HAProxy that
 * serves certpath re-loads the certificate without a staple (see
 * haproxy_withdraw), and --hook runs as for a new staple (the hook finds
 * the .ocsp empty). id: the file as parsed (NULL: never parsed, HAProxy is
 * left alone); read during the call only.
 */
void deliver_withdrawn(struct deliver *d, const char *certpath,
    const struct deliver_ident *id);

/* Something the operator must act on: event is "revoked", "expiring" or "expired". */
void deliver_alert(struct deliver *d, const char *event, const char *certpath,
    const char *detail);

/*
 * An observer of what the core hands over, for the unit tests of the renew
 * cycle (tests/unit/test_renew.c), which check it without HAProxy or hooks.
 * fn runs at the start of each deliver_staple, deliver_recycled,
 * deliver_withdrawn and deliver_alert call, with that call's arguments
 * (borrowed for the callback only); what is delivered does not change. The
 * daemon sets none. fn NULL removes it.
 */
enum deliver_kind {
	DELIVER_STAPLE,		/* deliver_staple: a new staple stored */
	DELIVER_RECYCLED,	/* deliver_recycled: a staple reused from disk */
	DELIVER_WITHDRAWN,	/* deliver_withdrawn: the staple emptied */
	DELIVER_ALERT,		/* deliver_alert: event and detail set */
};
struct deliver_event {
	enum deliver_kind kind;		/* which call */
	const char *certpath;		/* the certificate */
	const unsigned char *der;	/* the staple (STAPLE, RECYCLED), else NULL */
	size_t len;			/* its length */
	const char *event;		/* ALERT: "revoked", "expiring" or "expired", else NULL */
	const char *detail;		/* ALERT: its detail, else NULL */
};
typedef void deliver_observer_fn(void *arg, const struct deliver_event *ev);
void deliver_set_observer(struct deliver *d, deliver_observer_fn *fn, void *arg);

/* Work still under way (pushes not yet answered, hooks running): --one-off waits for 0. */
int deliver_busy(const struct deliver *d);

/* --one-off: HAProxy admin sockets given up after they connected (see haproxy_failed). */
int deliver_failed(const struct deliver *d);

#endif
